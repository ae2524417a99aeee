//! The diagnostics against values ArviZ computed for fixed draw sets.
//!
//! `tests/data/reference.json` holds the draws and ArviZ's results (made once by
//! `tests/data/make_reference.py`; see the README there). `check_set` is the one place the
//! tests touch the API; every value must agree to 1e-6 relative.
//!
//! PSIS-LOO and model comparison are tested in the `loo` module (`tests/loo/mod.rs`),
//! against ArviZ's values for the matrices in `tests/data/loo/`.

mod loo;

use rlc_diagnostics as diag;
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn reference() -> Value {
    let text = include_str!("data/reference.json");
    serde_json::from_str(text).expect("reference.json is valid JSON")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn assert_close(name: &str, what: &str, actual: f64, expected: f64) {
    let scale = expected.abs().max(1e-12);
    assert!(
        ((actual - expected) / scale).abs() < TOLERANCE,
        "{name}: {what} = {actual}, ArviZ says {expected}"
    );
}

fn draws(set: &Value) -> Vec<Vec<f64>> {
    set["draws"]
        .as_array()
        .expect("draws is an array of chains")
        .iter()
        .map(|chain| {
            chain
                .as_array()
                .expect("a chain is an array")
                .iter()
                .map(|v| v.as_f64().expect("a draw is a number"))
                .collect()
        })
        .collect()
}

fn check_set(set: &Value) {
    let name = set["name"].as_str().expect("sets are named");
    let chains = draws(set);
    let summary = diag::summarize(&chains);

    match set["rhat"].as_f64() {
        Some(rhat) => assert_close(name, "rhat", summary.rhat, rhat),
        None => assert_close(
            name,
            "rhat (one chain, split)",
            summary.rhat,
            number(set, "rhat_one_chain_split"),
        ),
    }
    assert_close(name, "ess_bulk", summary.ess_bulk, number(set, "ess_bulk"));
    assert_close(name, "ess_tail", summary.ess_tail, number(set, "ess_tail"));
    assert_close(
        name,
        "ess_mean",
        diag::ess_mean(&chains),
        number(set, "ess_mean"),
    );
    assert_close(
        name,
        "mcse_mean",
        summary.mcse_mean,
        number(set, "mcse_mean"),
    );
    assert_close(
        name,
        "mcse_sd",
        diag::mcse_sd(&chains),
        number(set, "mcse_sd"),
    );
    assert_close(name, "mean", summary.mean, number(set, "mean"));
    assert_close(name, "sd", summary.sd, number(set, "sd"));
    assert_close(name, "q5", summary.q5, number(set, "q5"));
    assert_close(name, "q50", summary.q50, number(set, "q50"));
    assert_close(name, "q95", summary.q95, number(set, "q95"));
    assert_close(name, "mad", summary.mad, number(set, "mad"));

    let bfmi = set["e_bfmi"].as_array().expect("one E-BFMI per chain");
    for (chain, expected) in chains.iter().zip(bfmi) {
        let expected = expected.as_f64().expect("E-BFMI is a number");
        assert_close(name, "e_bfmi", diag::e_bfmi(chain), expected);
    }
}

#[test]
fn agrees_with_arviz_on_every_reference_set() {
    let reference = reference();
    let sets = reference["sets"].as_array().expect("sets");
    assert!(sets.len() >= 8);
    for set in sets {
        check_set(set);
    }
}

#[test]
fn normal_quantiles_agree_with_scipy() {
    let reference = reference();
    for pair in reference["normal_quantiles"].as_array().expect("pairs") {
        let p = pair[0].as_f64().expect("p");
        let z = pair[1].as_f64().expect("z");
        let ours = diag::inverse_normal_cdf(p);
        assert!(
            ((ours - z) / z.abs().max(1e-300)).abs() < 1e-14 || (ours - z).abs() < 1e-15,
            "Phi^-1({p}) = {ours}, scipy says {z}"
        );
    }
    assert_eq!(diag::inverse_normal_cdf(0.0), f64::NEG_INFINITY);
    assert_eq!(diag::inverse_normal_cdf(1.0), f64::INFINITY);
    assert!(diag::inverse_normal_cdf(1.5).is_nan());
}

#[test]
fn degenerate_inputs_give_nan_not_panics() {
    let empty: Vec<Vec<f64>> = Vec::new();
    assert!(diag::rhat(&empty).is_nan());
    assert!(diag::ess_bulk(&[vec![1.0, 2.0, 3.0]]).is_nan());
    assert!(diag::ess_tail(&[vec![1.0, f64::NAN, 3.0, 4.0, 5.0]]).is_nan());
    let summary = diag::summarize(&[Vec::<f64>::new()]);
    assert!(summary.mean.is_nan() && summary.q50.is_nan());
    // A constant quantity: ArviZ reports the full sample size.
    let constant = vec![vec![2.0; 100]; 4];
    assert_eq!(diag::ess_bulk(&constant), 400.0);
    // Chains of unequal length (an interrupted run) are cut to the shortest.
    let ragged = [vec![0.1, 0.5, -0.3, 0.9, 1.2], vec![0.2, -0.4, 0.8, 0.3]];
    let cut = [vec![0.1, 0.5, -0.3, 0.9], vec![0.2, -0.4, 0.8, 0.3]];
    assert_eq!(diag::summarize(&ragged), diag::summarize(&cut));
}

#[test]
fn sampler_checks() {
    assert_eq!(diag::divergences(&[true, false, true]), 2);
    assert_eq!(diag::max_tree_depth_hits(&[3, 10, 10, 9], 10), 2);
    // White noise has E-BFMI near 2; a slow random walk far below 0.3.
    let walk: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.1).collect();
    assert!(diag::e_bfmi(&walk) < 0.3);
}

/// A quantity that is the same infinity in every draw (`max` of no data, `log(0)`) is a
/// constant like any other: no R-hat, no warning, its value as every quantile.
#[test]
fn a_quantity_infinite_in_every_draw_is_a_constant() {
    for value in [f64::NEG_INFINITY, f64::INFINITY, 2.5] {
        let s = diag::summarize(&vec![vec![value; 200]; 4]);
        assert_eq!(s.mean, value);
        assert_eq!(
            (s.sd, s.mad, s.mcse_mean),
            (0.0, 0.0, 0.0),
            "{value}: {s:?}"
        );
        assert_eq!(
            (s.q5, s.q50, s.q95),
            (value, value, value),
            "{value}: {s:?}"
        );
        assert!(s.rhat.is_nan(), "{value}: R-hat {}", s.rhat);
        assert_eq!((s.ess_bulk, s.ess_tail), (800.0, 800.0), "{value}: {s:?}");
    }
}

/// `summarize` sorts once and shares its ranks; each field must still be exactly what the
/// field's own function returns, on draws with ties, odd chain lengths, NaN and constants.
#[test]
fn summarize_equals_the_separate_functions_bit_for_bit() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut sets: Vec<Vec<Vec<f64>>> = Vec::new();
    for (chains, draws) in [(4, 1000), (4, 999), (1, 7), (3, 4), (2, 5), (1, 3), (2, 0)] {
        // continuous, heavy-tailed, rounded to few values (ties, some at the median),
        // and a random walk (autocorrelated)
        let continuous: Vec<Vec<f64>> = (0..chains)
            .map(|_| (0..draws).map(|_| uniform() - 0.5).collect())
            .collect();
        let heavy = continuous
            .iter()
            .map(|c| c.iter().map(|u| (std::f64::consts::PI * u).tan()).collect())
            .collect();
        let ties = continuous
            .iter()
            .map(|c| c.iter().map(|u| (u * 6.0).round()).collect())
            .collect();
        let walk = continuous
            .iter()
            .map(|c| {
                c.iter()
                    .scan(0.0, |x, u| {
                        *x = 0.95 * *x + u;
                        Some(*x)
                    })
                    .collect()
            })
            .collect();
        sets.extend([continuous, heavy, ties, walk]);
    }
    sets.push(vec![vec![2.5; 100]; 4]);
    sets.push(vec![vec![f64::NEG_INFINITY; 100]; 4]);
    sets.push(vec![
        vec![
            f64::INFINITY,
            1.0,
            2.0,
            3.0,
            f64::NEG_INFINITY,
            0.5
        ];
        2
    ]);
    sets.push(vec![vec![0.0, -0.0, 1.0, -1.0, 0.0, 2.0]; 2]);
    let mut with_nan = vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; 2];
    with_nan[1][3] = f64::NAN;
    sets.push(with_nan);
    for (i, chains) in sets.iter().enumerate() {
        let s = diag::summarize(chains);
        let all: Vec<f64> = {
            let n = chains.iter().map(Vec::len).min().unwrap_or(0);
            chains.iter().flat_map(|c| c[..n].iter().copied()).collect()
        };
        let same = |what: &str, a: f64, b: f64| {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "set {i}: summarize's {what} is {a}, its function's {b}"
            )
        };
        same("mcse", s.mcse_mean, diag::mcse_mean(chains));
        same("mad", s.mad, diag::mad(&all));
        same("q5", s.q5, diag::quantile(&all, 0.05));
        same("q50", s.q50, diag::quantile(&all, 0.5));
        same("q95", s.q95, diag::quantile(&all, 0.95));
        same("ess_bulk", s.ess_bulk, diag::ess_bulk(chains));
        same("ess_tail", s.ess_tail, diag::ess_tail(chains));
        same("rhat", s.rhat, diag::rhat(chains));
    }
}

/// `chains` chains of `draws` autocorrelated normal draws (AR(1), coefficient 0.8) with
/// standard deviation `sd` around `centers[c]`, from a fixed seed.
fn lp_chains(centers: &[f64], draws: usize, sd: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut state = seed | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut normal = move || {
        let (u, v) = (uniform().max(1e-300), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let rho: f64 = 0.8;
    centers
        .iter()
        .map(|&center| {
            let mut x = normal();
            (0..draws)
                .map(|_| {
                    x = rho * x + (1.0 - rho * rho).sqrt() * normal();
                    center + sd * x
                })
                .collect()
        })
        .collect()
}

/// Chains sampling one distribution are never judged apart, at any seed; a chain in a
/// mode 280 log units down (`pstRT_rlddm6`'s second mode) is, and so is one only six
/// standard deviations down, whichever chain it is and whether the rest agree or not.
#[test]
fn chains_below_finds_a_chain_in_a_lower_mode_and_only_that() {
    for seed in 1..200 {
        let same = lp_chains(&[-1184.0; 4], 1000, 4.0, seed);
        assert_eq!(diag::chains_below(&same), None, "seed {seed}");
        // Short chains of one distribution spread more, still not apart.
        let short = lp_chains(&[-50.0; 4], 100, 2.0, seed);
        assert_eq!(diag::chains_below(&short), None, "seed {seed} (100 draws)");
    }
    let stuck = lp_chains(&[-1184.0, -1465.0, -1184.0, -1465.5], 1000, 4.0, 7);
    let apart = diag::chains_below(&stuck).expect("two chains in the lower mode");
    assert_eq!(apart.below, vec![1, 3]);
    // The highest is whichever of the two upper chains has the higher median.
    assert!(apart.highest == 0 || apart.highest == 2, "{apart:?}");
    let near = lp_chains(&[-100.0, -100.0, -124.0, -100.0], 1000, 4.0, 3);
    assert_eq!(diag::chains_below(&near).map(|b| b.below), Some(vec![2]));
    // One chain above three: the three are below it.
    let above = lp_chains(&[-90.0, -130.0, -130.0, -130.0], 1000, 4.0, 5);
    assert_eq!(
        diag::chains_below(&above),
        Some(diag::ChainsBelow {
            highest: 0,
            below: vec![1, 2, 3]
        })
    );
}

/// Too few draws, one chain, or non-finite values are no evidence: nothing is reported, and
/// a chain with fewer than 10 finite values is left out of the judgement.
#[test]
fn chains_below_judges_only_chains_with_enough_finite_draws() {
    assert_eq!(diag::chains_below::<Vec<f64>>(&[]), None);
    assert_eq!(diag::chains_below(&[vec![1.0; 50]]), None);
    assert_eq!(diag::chains_below(&[vec![1.0; 9], vec![-100.0; 9]]), None);
    let mut chains = lp_chains(&[-10.0, -10.0, -60.0], 500, 1.0, 11);
    chains.push(vec![f64::NEG_INFINITY; 500]);
    chains.push(vec![f64::NAN; 500]);
    assert_eq!(
        diag::chains_below(&chains).map(|b| b.below),
        Some(vec![2]),
        "non-finite chains are not judged"
    );
    // Chains stuck at single points, apart from one another, are apart.
    let points = [vec![-5.0; 100], vec![-9.0; 100]];
    assert_eq!(
        diag::chains_below(&points),
        Some(diag::ChainsBelow {
            highest: 0,
            below: vec![1]
        })
    );
}

/// A chain whose step size is far below the others' is reported, whichever it is; chains
/// of one posterior (step sizes within a few times of each other) and runs with fewer than
/// two usable step sizes are not.
#[test]
fn collapsed_step_sizes_finds_a_chain_far_below_the_others() {
    // The step sizes of healthy runs (bandit4arm2_kalman_filter, hgf_ibrb_single at seed 2).
    for healthy in [
        [0.032, 0.07, 0.0424, 0.0743],
        [0.0177, 0.0312, 0.0471, 0.0299],
        [0.0131, 0.0118, 0.0279, 0.0266],
    ] {
        assert_eq!(diag::collapsed_step_sizes(&healthy), vec![]);
    }
    // hgf_ibrb_single at seed 20261201: chain 4 (index 3) stuck at 1.31e-3.
    let stuck = diag::collapsed_step_sizes(&[0.0073, 0.08, 0.137, 0.00131]);
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].chain, 3);
    assert_eq!(stuck[0].step_size, 0.00131);
    assert_eq!(stuck[0].others, 0.08);
    // Two chains: the smaller is judged against the other; the larger never is.
    let two = diag::collapsed_step_sizes(&[0.1, 0.001]);
    assert_eq!(two.iter().map(|c| c.chain).collect::<Vec<_>>(), vec![1]);
    assert_eq!(diag::collapsed_step_sizes(&[0.1, 0.006]), vec![]);
    // Not judged: one chain, or step sizes that are not finite and positive.
    assert_eq!(diag::collapsed_step_sizes(&[1e-9]), vec![]);
    assert_eq!(diag::collapsed_step_sizes(&[]), vec![]);
    assert_eq!(
        diag::collapsed_step_sizes(&[0.1, f64::NAN, 0.0, -1.0, f64::INFINITY]),
        vec![]
    );
    let with_bad = diag::collapsed_step_sizes(&[0.1, f64::NAN, 0.002, 0.12]);
    assert_eq!(
        with_bad.iter().map(|c| c.chain).collect::<Vec<_>>(),
        vec![2]
    );
}
