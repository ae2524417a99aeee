//! PSIS-LOO and model comparison against ArviZ, and PSIS on inputs with known answers.
//!
//! `tests/data/loo/` holds log-likelihood matrices and posterior draws (single-precision
//! values, stored exactly as little-endian f32) and ArviZ's results for them in
//! `reference.json`; its README says how they were made. `check_loo` is the one place the
//! ArviZ comparisons touch the API.

use rlc_diagnostics as diag;
use rlc_diagnostics::{LooError, RelativeEfficiency, TailFit};
use serde_json::Value;

/// Relative tolerance on elpd, p_loo and their standard errors; absolute on k̂.
const TOLERANCE: f64 = 1e-6;

fn reference() -> Value {
    let text = include_str!("../data/loo/reference.json");
    serde_json::from_str(text).expect("reference.json is valid JSON")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn numbers(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn count(v: &Value, key: &str) -> usize {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count")) as usize
}

fn set<'a>(reference: &'a Value, name: &str) -> &'a Value {
    reference["sets"]
        .as_array()
        .expect("sets")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no set {name}"))
}

/// A little-endian f32 file as rows of `width` f64 values.
fn read_rows(file: &str, width: usize) -> Vec<Vec<f64>> {
    let path = format!("{}/tests/data/loo/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let values: Vec<f64> = bytes
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    assert_eq!(values.len() % width, 0, "{path} is not a whole matrix");
    values.chunks(width).map(<[f64]>::to_vec).collect()
}

fn log_lik(set: &Value) -> Vec<Vec<f64>> {
    let name = set["name"].as_str().expect("sets are named");
    let rows = read_rows(&format!("{name}.log_lik.f32"), count(set, "observations"));
    assert_eq!(
        rows.len(),
        count(set, "chains") * count(set, "draws_per_chain")
    );
    rows
}

fn assert_relative(what: &str, actual: f64, expected: f64) {
    let scale = expected.abs().max(1e-12);
    assert!(
        ((actual - expected) / scale).abs() < TOLERANCE,
        "{what} = {actual}, ArviZ says {expected}"
    );
}

fn assert_k(what: &str, actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < TOLERANCE,
        "{what}: k = {actual}, ArviZ says {expected}"
    );
}

/// Our LOO against one `az.loo(..., pointwise=True)` result.
fn check_loo(what: &str, ours: &diag::LooResult, arviz: &Value) {
    assert_relative(
        &format!("{what} elpd_loo"),
        ours.elpd_loo,
        number(arviz, "elpd_loo"),
    );
    assert_relative(&format!("{what} se"), ours.se_elpd_loo, number(arviz, "se"));
    assert_relative(&format!("{what} p_loo"), ours.p_loo, number(arviz, "p_loo"));
    assert_relative(
        &format!("{what} looic"),
        ours.looic,
        -2.0 * number(arviz, "elpd_loo"),
    );
    assert_relative(
        &format!("{what} k threshold"),
        ours.k_threshold,
        number(arviz, "good_k"),
    );
    let loo_i = numbers(arviz, "loo_i");
    let pareto_k = numbers(arviz, "pareto_k");
    assert_eq!(ours.elpd_loo_i.len(), loo_i.len());
    assert_eq!(ours.pareto_k.len(), pareto_k.len());
    for (i, (actual, expected)) in ours.elpd_loo_i.iter().zip(&loo_i).enumerate() {
        assert_relative(&format!("{what} elpd_loo_{i}"), *actual, *expected);
    }
    for (i, (actual, expected)) in ours.pareto_k.iter().zip(&pareto_k).enumerate() {
        assert_k(&format!("{what} observation {i}"), *actual, *expected);
    }
    assert_eq!(
        ours.warning().is_some(),
        arviz["warning"].as_bool().expect("warning is a bool"),
        "{what}: warning"
    );
}

const SETS: [&str; 4] = [
    "linear",
    "outliers_normal",
    "outliers_student_t",
    "small_logistic",
];

#[test]
fn loo_agrees_with_arviz_for_independent_draws() {
    let reference = reference();
    for name in SETS {
        let set = set(&reference, name);
        let ours = diag::loo(&log_lik(set), &RelativeEfficiency::Independent).expect("loo");
        check_loo(&format!("{name} (r_eff = 1)"), &ours, &set["loo_reff_1"]);
    }
}

/// `az.loo` without `reff` uses the mean over parameters of their ESS for the mean, divided
/// by the number of draws; reproduced here from the posterior draws.
#[test]
fn loo_agrees_with_arviz_default_relative_efficiency() {
    let reference = reference();
    for name in SETS {
        let set = set(&reference, name);
        let chains = count(set, "chains");
        let per_chain = count(set, "draws_per_chain");
        let parameters = set["parameters"].as_array().expect("parameters").len();
        let posterior = read_rows(&format!("{name}.posterior.f32"), parameters);
        let draws = posterior.len();
        let ess: Vec<f64> = (0..parameters)
            .map(|j| {
                let column: Vec<f64> = posterior.iter().map(|row| row[j]).collect();
                let by_chain: Vec<&[f64]> = column.chunks(per_chain).collect();
                assert_eq!(by_chain.len(), chains);
                diag::ess_mean(&by_chain)
            })
            .collect();
        let r_eff = ess.iter().sum::<f64>() / parameters as f64 / draws as f64;
        assert_relative(
            &format!("{name} r_eff"),
            r_eff,
            number(set, "arviz_default_reff"),
        );
        let ours = diag::loo(&log_lik(set), &RelativeEfficiency::Common(r_eff)).expect("loo");
        check_loo(
            &format!("{name} (ArviZ's r_eff)"),
            &ours,
            &set["loo_reff_default"],
        );
        // The efficiency sets the tail length: these sets' chains are slow, so the tails
        // are longer than for independent draws.
        assert!(diag::psis_tail_length(draws, r_eff) > diag::psis_tail_length(draws, 1.0));
    }
}

/// `loo::relative_eff`, then ArviZ's `psislw` observation by observation with that r_eff.
#[test]
fn per_observation_relative_efficiency_agrees_with_arviz() {
    let reference = reference();
    for name in SETS {
        let set = set(&reference, name);
        let expected = &set["per_observation_reff"];
        let log_lik = log_lik(set);
        let r_eff = diag::relative_efficiency(&log_lik, count(set, "chains")).expect("r_eff");
        for (i, (actual, expected)) in r_eff.iter().zip(numbers(expected, "r_eff")).enumerate() {
            assert_relative(&format!("{name} r_eff_{i}"), *actual, expected);
        }
        let ours = diag::loo(&log_lik, &RelativeEfficiency::PerObservation(r_eff)).expect("loo");
        let elpd = numbers(expected, "elpd_loo_i");
        let pareto_k = numbers(expected, "pareto_k");
        for i in 0..ours.observations {
            assert_relative(&format!("{name} elpd_loo_{i}"), ours.elpd_loo_i[i], elpd[i]);
            assert_k(
                &format!("{name} observation {i}"),
                ours.pareto_k[i],
                pareto_k[i],
            );
        }
    }
}

#[test]
fn influential_outliers_are_flagged() {
    let reference = reference();
    let set = set(&reference, "outliers_normal");
    let ours = diag::loo(&log_lik(set), &RelativeEfficiency::Independent).expect("loo");
    // The last four of the 41 values are the outliers; two of them have k above 0.7, one
    // above 1.
    let high = ours.high_k_observations();
    assert!(!high.is_empty());
    assert!(high.iter().all(|&i| i >= 37), "high k at {high:?}");
    assert!(ours.pareto_k.iter().any(|&k| k > 0.7));
    assert_eq!(ours.k_counts.bad, 1);
    assert_eq!(ours.k_counts.very_bad, 1);
    assert_eq!(ours.k_counts.good, 39);
    assert!(ours.tail_fit.iter().all(|t| *t == TailFit::Smoothed));
    let warning = ours.warning().expect("a warning");
    for phrase in [
        "2 of 41 observations",
        "K-fold",
        "moment matching",
        "leave-one-subject-out",
    ] {
        assert!(warning.contains(phrase), "{phrase:?} not in: {warning}");
    }
    // The robust model of the same data has no high k and no warning.
    let robust = set_loo(&reference, "outliers_student_t");
    assert_eq!(robust.k_counts.good, 41);
    assert!(robust.warning().is_none());
}

fn set_loo(reference: &Value, name: &str) -> diag::LooResult {
    diag::loo(
        &log_lik(set(reference, name)),
        &RelativeEfficiency::Independent,
    )
    .expect("loo")
}

#[test]
fn compare_agrees_with_arviz() {
    let reference = reference();
    let normal = set_loo(&reference, "outliers_normal");
    let student_t = set_loo(&reference, "outliers_student_t");
    let rows = diag::compare(&[("normal", &normal), ("student_t", &student_t)]).expect("compare");
    let expected = reference["compare_outliers_reff_1"]
        .as_array()
        .expect("rows");
    assert_eq!(rows.len(), expected.len());
    for (row, arviz) in rows.iter().zip(expected) {
        let name = arviz["name"].as_str().expect("named");
        assert_eq!(row.name, name, "models are ranked as ArviZ ranks them");
        assert_relative(
            &format!("{name} elpd_loo"),
            row.elpd_loo,
            number(arviz, "elpd_loo"),
        );
        assert_relative(&format!("{name} p_loo"), row.p_loo, number(arviz, "p_loo"));
        assert_relative(&format!("{name} se"), row.se_elpd_loo, number(arviz, "se"));
        // ArviZ's elpd_diff is best minus this model; loo_compare's is the reverse.
        let diff = number(arviz, "elpd_diff");
        let dse = number(arviz, "dse");
        if diff == 0.0 {
            assert_eq!((row.elpd_diff, row.se_diff), (0.0, 0.0));
        } else {
            assert_relative(&format!("{name} elpd_diff"), row.elpd_diff, -diff);
            assert_relative(&format!("{name} se_diff"), row.se_diff, dse);
        }
    }
    // Another data set has another number of observations.
    let linear = set_loo(&reference, "linear");
    assert_eq!(
        diag::compare(&[("normal", &normal), ("linear", &linear)]),
        Err(LooError::ObservationCountMismatch {
            model: "linear".into(),
            expected: 41,
            found: 80
        })
    );
}

#[test]
fn compare_from_pointwise_values_is_compare() {
    let reference = reference();
    let normal = set_loo(&reference, "outliers_normal");
    let student_t = set_loo(&reference, "outliers_student_t");
    let rows = diag::compare(&[("normal", &normal), ("student_t", &student_t)]).expect("compare");
    let pointwise = diag::compare_pointwise(&[
        (
            "normal",
            normal.elpd_loo_i.as_slice(),
            normal.p_loo_i.as_slice(),
        ),
        (
            "student_t",
            student_t.elpd_loo_i.as_slice(),
            student_t.p_loo_i.as_slice(),
        ),
    ])
    .expect("compare_pointwise");
    assert_eq!(rows, pointwise);
    // Two data sets' pointwise values concatenated: the totals add up.
    let twice = |r: &diag::LooResult| [r.elpd_loo_i.clone(), r.elpd_loo_i.clone()].concat();
    let twice_p = |r: &diag::LooResult| [r.p_loo_i.clone(), r.p_loo_i.clone()].concat();
    let (n2, t2) = (twice(&normal), twice(&student_t));
    let (np2, tp2) = (twice_p(&normal), twice_p(&student_t));
    let joint = diag::compare_pointwise(&[
        ("normal", &n2[..], &np2[..]),
        ("student_t", &t2[..], &tp2[..]),
    ])
    .expect("joint");
    assert_eq!(joint[0].name, "student_t");
    assert!((joint[0].elpd_loo - 2.0 * student_t.elpd_loo).abs() < 1e-9);
    assert!((joint[1].elpd_diff - 2.0 * rows[1].elpd_diff).abs() < 1e-9);
    assert_eq!(
        diag::compare_pointwise(&[
            ("a", &n2[..], &np2[..]),
            ("b", &normal.elpd_loo_i[..], &normal.p_loo_i[..])
        ]),
        Err(LooError::ObservationCountMismatch {
            model: "b".into(),
            expected: 82,
            found: 41
        })
    );
}

#[test]
fn stacking_weights_maximize_the_log_score() {
    // Model a predicts 30 observations with density 0.6 (b: 0.2) and 10 with 0.1 (b:
    // 0.5). The score 30 log(0.2 + 0.4 w) + 10 log(0.5 - 0.4 w) is highest at w = 0.8125.
    let a: Vec<f64> = [vec![0.6f64.ln(); 30], vec![0.1f64.ln(); 10]].concat();
    let b: Vec<f64> = [vec![0.2f64.ln(); 30], vec![0.5f64.ln(); 10]].concat();
    let w = diag::stacking_weights(&[&a, &b]).expect("weights");
    assert!((w[0] - 0.8125).abs() < 1e-6, "{w:?}");
    assert!((w[0] + w[1] - 1.0).abs() < 1e-12);
    // Adding a constant to every elpd changes nothing.
    let shifted: Vec<Vec<f64>> = [&a, &b]
        .iter()
        .map(|v| v.iter().map(|x| x - 700.0).collect())
        .collect();
    let w2 = diag::stacking_weights(&[&shifted[0], &shifted[1]]).expect("weights");
    assert!((w2[0] - w[0]).abs() < 1e-9);
    // A model no better than another anywhere gets no weight; identical models share it.
    assert!(diag::stacking_weights(&[&a, &a])
        .expect("weights")
        .iter()
        .all(|w| (w - 0.5).abs() < 1e-12));
    // ArviZ 0.23.4's az.compare(method="stacking") on these two sets' loo (reff = 1):
    // student_t 1.0, normal 0.0.
    let reference = reference();
    let normal = set_loo(&reference, "outliers_normal");
    let student_t = set_loo(&reference, "outliers_student_t");
    let w = diag::stacking_weights(&[&normal.elpd_loo_i, &student_t.elpd_loo_i]).expect("weights");
    assert!(w[0] < 1e-6 && w[1] > 1.0 - 1e-6, "{w:?}");
    assert_eq!(diag::stacking_weights(&[&a]).expect("one model"), vec![1.0]);
    assert!(diag::stacking_weights(&[]).expect("none").is_empty());
    assert!(matches!(
        diag::stacking_weights(&[&a, &normal.elpd_loo_i]),
        Err(LooError::ObservationCountMismatch { .. })
    ));
}

/// A deterministic "sample" of `draws` values: quantiles at evenly spaced probabilities.
fn pareto_log_ratios(draws: usize, k: f64) -> Vec<f64> {
    // Ratios r = u^(-k) follow a Pareto distribution with tail index 1/k, whose excesses
    // over any threshold are exactly generalized Pareto with shape k. Shuffled by a fixed
    // stride so that the input order is not sorted.
    (0..draws)
        .map(|i| (i * 7919) % draws)
        .map(|j| -k * ((j as f64 + 0.5) / draws as f64).ln())
        .collect()
}

#[test]
fn psis_recovers_the_shape_of_an_exact_pareto_tail() {
    for k in [0.2, 0.5, 0.8, 1.2] {
        let ratios = pareto_log_ratios(10_000, k);
        let smoothed = diag::psis(&ratios, 1.0).expect("psis");
        assert_eq!(smoothed.tail_fit, TailFit::Smoothed);
        assert_eq!(smoothed.tail_length, 300);
        // The prior pulls k̂ toward 0.5 by the weight of 10 out of 300 tail draws.
        let expected = (300.0 * k + 10.0 * 0.5) / 310.0;
        assert!(
            (smoothed.pareto_k - expected).abs() < 0.02,
            "k = {k}: k̂ = {}",
            smoothed.pareto_k
        );
    }
}

#[test]
fn psis_weights_are_normalized_and_truncated() {
    for (draws, k) in [(1000, 0.3), (4000, 0.9), (25, 0.7), (8, 0.5)] {
        let ratios = pareto_log_ratios(draws, k);
        let smoothed = diag::psis(&ratios, 0.8).expect("psis");
        let total: f64 = smoothed.log_weights.iter().map(|w| w.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12, "weights sum to {total}");
        // The body keeps its raw ratios, so the smallest draw tells the normalizing
        // constant; on that scale no smoothed weight may exceed the largest raw ratio.
        let raw_largest = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let smallest = (0..draws)
            .min_by(|&a, &b| ratios[a].total_cmp(&ratios[b]))
            .expect("draws");
        let log_total = ratios[smallest] - raw_largest - smoothed.log_weights[smallest];
        for w in &smoothed.log_weights {
            assert!(
                w + log_total <= 1e-12,
                "a weight above the largest raw ratio"
            );
        }
        // The ordering of the draws is kept: a larger ratio never gets a smaller weight.
        let mut order: Vec<usize> = (0..draws).collect();
        order.sort_by(|&a, &b| ratios[a].total_cmp(&ratios[b]));
        for pair in order.windows(2) {
            assert!(smoothed.log_weights[pair[0]] <= smoothed.log_weights[pair[1]] + 1e-12);
        }
    }
}

#[test]
fn psis_of_equal_ratios_is_uniform() {
    let smoothed = diag::psis(&[0.3; 1000], 0.5).expect("psis");
    assert_eq!(smoothed.tail_fit, TailFit::ConstantTail);
    assert_eq!(smoothed.pareto_k, f64::INFINITY);
    for w in &smoothed.log_weights {
        assert!((w + 1000f64.ln()).abs() < 1e-12);
    }
    // r_eff / Σ w² = 0.5 · 1000.
    assert!((smoothed.effective_sample_size - 500.0).abs() < 1e-9);
}

#[test]
fn psis_gives_zero_ratios_zero_weight() {
    let mut ratios = pareto_log_ratios(500, 0.4);
    ratios[3] = f64::NEG_INFINITY;
    ratios[77] = f64::NEG_INFINITY;
    let smoothed = diag::psis(&ratios, 1.0).expect("psis");
    assert_eq!(smoothed.log_weights[3], f64::NEG_INFINITY);
    assert_eq!(smoothed.log_weights[77], f64::NEG_INFINITY);
    assert_eq!(smoothed.tail_fit, TailFit::Smoothed);
    assert_eq!(
        diag::psis(&[f64::NEG_INFINITY; 10], 1.0),
        Err(LooError::NoPositiveRatio)
    );
    assert_eq!(
        diag::psis(&[0.0, f64::INFINITY], 1.0),
        Err(LooError::NonFiniteLogRatio {
            draw: 1,
            value: f64::INFINITY
        })
    );
    assert!(matches!(
        diag::psis(&[0.0, f64::NAN], 1.0),
        Err(LooError::NonFiniteLogRatio { draw: 1, .. })
    ));
    assert_eq!(diag::psis(&[], 1.0), Err(LooError::NoDraws));
    assert!(matches!(
        diag::psis(&[0.0; 100], 0.0),
        Err(LooError::InvalidRelativeEfficiency {
            observation: None,
            ..
        })
    ));
}

#[test]
fn loo_of_degenerate_input_is_an_error_or_an_explained_infinite_k() {
    // Every draw gives every observation the same log-likelihood: the leave-one-out
    // estimate is exact, but k cannot be estimated.
    let constant = vec![vec![-1.5, -0.2]; 400];
    let result = diag::loo(&constant, &RelativeEfficiency::Independent).expect("loo");
    assert_eq!(result.pareto_k, vec![f64::INFINITY; 2]);
    assert_eq!(result.tail_fit, vec![TailFit::ConstantTail; 2]);
    assert!((result.elpd_loo - (-1.7)).abs() < 1e-12);
    assert!(result.p_loo.abs() < 1e-12);
    assert_eq!(result.k_counts.very_bad, 2);
    let warning = result.warning().expect("a warning");
    assert!(warning.contains("could not be estimated"), "{warning}");
    assert!(warning.contains("can be ignored"), "{warning}");

    // Fewer than 10 draws: the tail is too short to fit, so nothing is smoothed.
    let few: Vec<Vec<f64>> = (0..7)
        .map(|s| vec![-0.1 * f64::from(s), -2.0 + 0.3 * f64::from(s)])
        .collect();
    let result = diag::loo(&few, &RelativeEfficiency::Independent).expect("loo");
    assert!(result.pareto_k.iter().all(|k| *k == f64::INFINITY));
    assert_eq!(
        result.tail_fit,
        vec![TailFit::TooFewTailDraws { tail_draws: 0 }; 2]
    );
    assert!(result.elpd_loo.is_finite());
    assert!(result
        .warning()
        .expect("a warning")
        .contains("run more draws"));
    // A single draw: the leave-one-out estimate is the draw's log-likelihood.
    let one = diag::loo(&[vec![-0.5, -3.0]], &RelativeEfficiency::Independent).expect("loo");
    assert_eq!(one.elpd_loo, -3.5);
    assert_eq!(one.p_loo, 0.0);

    // A column of -inf (an observation impossible under every draw) is an error.
    let impossible: Vec<Vec<f64>> = (0..100).map(|_| vec![-1.0, f64::NEG_INFINITY]).collect();
    assert_eq!(
        diag::loo(&impossible, &RelativeEfficiency::Independent),
        Err(LooError::NonFiniteLogLikelihood {
            draw: 0,
            observation: 1,
            value: f64::NEG_INFINITY
        })
    );
    let with_nan = vec![vec![-1.0, -2.0], vec![-1.0, f64::NAN]];
    assert!(matches!(
        diag::loo(&with_nan, &RelativeEfficiency::Independent),
        Err(LooError::NonFiniteLogLikelihood {
            draw: 1,
            observation: 1,
            ..
        })
    ));
    let empty: Vec<Vec<f64>> = Vec::new();
    assert_eq!(
        diag::loo(&empty, &RelativeEfficiency::Independent),
        Err(LooError::NoDraws)
    );
    assert_eq!(
        diag::loo(&[Vec::<f64>::new()], &RelativeEfficiency::Independent),
        Err(LooError::NoObservations)
    );
    assert_eq!(
        diag::loo(
            &[vec![1.0, 2.0], vec![1.0]],
            &RelativeEfficiency::Independent
        ),
        Err(LooError::RaggedDraws {
            draw: 1,
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        diag::loo(&constant, &RelativeEfficiency::PerObservation(vec![1.0])),
        Err(LooError::RelativeEfficiencyCount {
            expected: 2,
            found: 1
        })
    );
    assert!(matches!(
        diag::loo(
            &constant,
            &RelativeEfficiency::PerObservation(vec![1.0, f64::NAN])
        ),
        Err(LooError::InvalidRelativeEfficiency {
            observation: Some(1),
            ..
        })
    ));
    assert_eq!(
        diag::relative_efficiency(&constant, 3),
        Err(LooError::UnevenChains {
            draws: 400,
            chains: 3
        })
    );
    assert_eq!(
        diag::relative_efficiency(&few, 7),
        Err(LooError::TooFewDrawsPerChain { draws_per_chain: 1 })
    );
    // A constant likelihood has the full sample size, as ArviZ's ESS says.
    assert_eq!(
        diag::relative_efficiency(&constant, 4).expect("r_eff"),
        vec![1.0; 2]
    );
    assert!(diag::compare::<&str>(&[]).expect("compare").is_empty());
}

#[test]
fn the_k_threshold_depends_on_the_sample_size() {
    assert!((diag::pareto_k_threshold(100) - 0.5).abs() < 1e-12);
    assert!((diag::pareto_k_threshold(1000) - (1.0 - 1.0 / 3.0)).abs() < 1e-12);
    assert_eq!(diag::pareto_k_threshold(4000), 0.7);
    assert_eq!(diag::psis_tail_length(4000, 1.0), 190);
    assert_eq!(diag::psis_tail_length(100, 1.0), 20);
    assert_eq!(diag::psis_tail_length(4000, 0.01), 800);
}
