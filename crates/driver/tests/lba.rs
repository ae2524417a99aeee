//! `LBA(d, A, v, s, tau, response)` against its log density and gradient computed with
//! 60-digit arithmetic (`tests/lba/lba_reference.json`, made by
//! `tests/lba/lba_reference.py`), on both backends: ordinary points and the edges where
//! the textbook formulas underflow or cancel in doubles (a response just after `tau`,
//! drifts of 40 standard deviations, a start range of 1e-6, every drift negative), and a
//! response time at or below `tau` (density 0). Then the draws (`rlc simulate`'s path):
//! the share of each response and the response times of many simulated trials against
//! the same density, integrated.

use rlc_driver::{Backend, Density};
use serde_json::Value;

/// Relative tolerance of values and gradients, against the larger of the value and 1.
const TOLERANCE: f64 = 1e-9;

fn source(accumulators: usize) -> String {
    format!(
        "data rt: real\n\
         data k: int in 0..{accumulators}\n\
         param d\nparam A\nparam v: real[{accumulators}]\nparam s\nparam tau\n\
         rt ~ LBA(d, A, v, s, tau, response = k)\n"
    )
}

fn evaluate(case: &Value, backend: Backend) -> Result<(f64, Vec<f64>), String> {
    let accumulators = case["accumulators"].as_u64().expect("accumulators") as usize;
    let compiled = rlc_driver::compile(&source(accumulators), "lba.rlm").map_err(|e| e.message)?;
    let data = format!(r#"{{"rt": {}, "k": {}}}"#, case["rt"], case["response"]);
    let data = rlc_driver::data::load(&compiled.model, "lba.json", data.as_bytes(), None)
        .map_err(|e| e.message)?;
    let mut density = Density::new(&compiled, &data, backend).map_err(|e| e.message)?;
    let theta: Vec<f64> = case["theta"]
        .as_array()
        .expect("theta")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect();
    let mut grad = vec![0.0; density.dim];
    let lp = density
        .logp_grad(&theta, &mut grad)
        .map_err(|e| e.to_string())?;
    Ok((lp, grad))
}

#[test]
fn the_lba_density_and_gradient_match_60_digit_arithmetic_at_ordinary_and_extreme_points() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lba/lba_reference.json");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the reference file"))
            .expect("JSON");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in cases {
        let label = case["label"].as_str().expect("label");
        for backend in [Backend::Jit, Backend::Interp] {
            let (lp, grad) = match evaluate(case, backend) {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{label} ({backend:?}): {e}"));
                    continue;
                }
            };
            if case["value"] == "-inf" {
                if lp != f64::NEG_INFINITY {
                    failures.push(format!("{label} ({backend:?}): {lp}, expected -inf"));
                }
                continue;
            }
            // A case whose slopes rlc keeps to fewer digits says so, and why.
            let tolerance = case["tolerance"].as_f64().unwrap_or(TOLERANCE);
            let value = case["value"].as_f64().expect("value");
            let scale = value.abs().max(1.0);
            if (lp - value).abs() > tolerance * scale {
                failures.push(format!(
                    "{label} ({backend:?}): log density {lp}, expected {value}"
                ));
            }
            let expected: Vec<f64> = case["gradient"]
                .as_array()
                .expect("gradient")
                .iter()
                .map(|x| x.as_f64().expect("a number"))
                .collect();
            let gscale = expected.iter().fold(1.0_f64, |m, g| m.max(g.abs()));
            for (i, (g, e)) in grad.iter().zip(&expected).enumerate() {
                if !g.is_finite() || (g - e).abs() > tolerance * gscale {
                    failures.push(format!(
                        "{label} ({backend:?}): gradient {i} is {g}, expected {e}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two-sided Kolmogorov–Smirnov distance of two samples (both sorted).
fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    let (mut i, mut j, mut d) = (0, 0, 0.0_f64);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            i += 1;
        } else {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// `rlc simulate`'s path: the response goes into `choice` through `response = choice - 1`
/// (1-based codes) and the time into `rt`, `tau` after the first accumulator to finish.
/// Each response's share and times match draws made directly from the finishing-time
/// sampler (tested against the density itself in `crates/random`): a response mapped to
/// the wrong code, a time without `tau` or from the wrong accumulator would be off by far
/// more than the tests allow.
#[test]
fn simulated_lba_trials_put_each_response_and_its_time_in_their_columns() {
    use rand::SeedableRng;
    use rlc_driver::generate::{self, ParamValues};
    use rlc_driver::point::Point;
    const M: usize = 20_000;
    let source = "size M
data choice: int[M] in 1..4
data rt: real[M] in (0, inf)
param d in (0, inf) ~ HalfNormal(1)
param A in (0, inf) ~ HalfNormal(1)
param v: real[3] ~ Normal(1, 1)
rt ~ LBA(d, A, v, 0.8, 0.25, response = choice - 1)
";
    let (d, a, v, s, tau) = (0.7, 0.4, [1.8, 1.2, -0.3], 0.8, 0.25);
    let compiled =
        rlc_driver::compile(source, "lba.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    assert!(generate::forward_notes(&compiled).is_empty());
    let observed = generate::observed_variables(&compiled).expect("observes");
    assert_eq!(observed, ["choice", "rt"]);
    let design = format!("{{\"M\": {M}}}");
    let design = rlc_driver::data::load_design(
        &compiled.model,
        "design.json",
        design.as_bytes(),
        None,
        &observed,
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    let point: rlc_driver::density::GivenValues =
        [("d", vec![d]), ("A", vec![a]), ("v", v.to_vec())]
            .into_iter()
            .map(|(name, x)| (name.to_string(), rlc_data::GivenValue::flat(x)))
            .collect();
    let simulated = generate::simulate(
        &compiled,
        &design,
        &ParamValues::Point(Point::Constrained(point)),
        5,
        0,
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    let choice = &simulated.data.value("choice").expect("choice").values;
    let rt = &simulated.data.value("rt").expect("rt").values;
    assert_eq!((choice.len(), rt.len()), (M, M));

    let accumulators: Vec<rlc_random::Accumulator> = v
        .iter()
        .map(|&v| rlc_random::Accumulator { d, a, v, s })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let mut times = vec![0.0; 3];
    let mut direct: Vec<(usize, f64)> = Vec::with_capacity(M);
    for _ in 0..M {
        rlc_random::draw_lba_finish_times(&accumulators, &mut times, &mut rng).expect("draws");
        let (k, t) = times
            .iter()
            .copied()
            .enumerate()
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .expect("three");
        direct.push((k, tau + t));
    }
    for k in 0..3 {
        let code = (k + 1) as f64;
        let mut ours: Vec<f64> = choice
            .iter()
            .zip(rt)
            .filter(|(c, _)| **c == code)
            .map(|(_, t)| *t)
            .collect();
        let mut theirs: Vec<f64> = direct.iter().filter(|x| x.0 == k).map(|x| x.1).collect();
        // The shares: two binomial proportions, 5 standard errors apart at most.
        let (p1, p2) = (ours.len() as f64 / M as f64, theirs.len() as f64 / M as f64);
        let pooled = (p1 + p2) / 2.0;
        let se = (2.0 * pooled * (1.0 - pooled) / M as f64).sqrt().max(1e-12);
        assert!(
            ((p1 - p2) / se).abs() < 5.0,
            "choice {code}: share {p1} simulated, {p2} drawn"
        );
        assert!(
            ours.iter().all(|t| *t > tau),
            "choice {code}: a time at or below tau"
        );
        // The times: a two-sample Kolmogorov–Smirnov test at p = 1e-6.
        ours.sort_by(f64::total_cmp);
        theirs.sort_by(f64::total_cmp);
        if ours.len() > 50 && theirs.len() > 50 {
            let (n, m) = (ours.len() as f64, theirs.len() as f64);
            let critical = (-(1e-6_f64 / 2.0).ln() / 2.0).sqrt() * ((n + m) / (n * m)).sqrt();
            let distance = ks_distance(&ours, &theirs);
            assert!(
                distance < critical,
                "choice {code}: KS distance {distance} > {critical}"
            );
        }
    }
    assert!(choice.iter().all(|c| [1.0, 2.0, 3.0].contains(c)));
}
