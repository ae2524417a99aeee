//! Every built-in function and distribution at the edges of its domain
//! (0, 1, tiny and huge arguments, probabilities that round to 0 or 1, a
//! certain outcome, ±inf limits), against Stan's value and gradient
//! (`tests/edges/stan_edges.json`, made by `tests/edges/stan_edges.py`), on
//! both backends. Where Stan gives a number, rlc gives the same number and
//! gradient; where Stan gives ±inf, the same infinity; where Stan throws
//! (an argument outside its domain), rlc gives -inf or a clean error, never
//! NaN and never a panic. Where Stan's own value is off (its rounding at an
//! extreme) a case carries the exact `math` value, which is used instead.

use rlc_driver::{Backend, Density};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Relative tolerance of values and gradients: rounding in a few operations.
const TOLERANCE: f64 = 1e-8;

/// What a backend made of a case.
#[derive(Debug)]
enum Outcome {
    /// The log density and gradient.
    Evaluated(f64, Vec<f64>),
    /// A compile, data or evaluation error: a clean refusal.
    Refused(String),
}

fn run_rlc(source: &str, data: &str, theta: &[f64], backend: Backend) -> Outcome {
    let compiled = match rlc_driver::compile(source, "edge.rlm") {
        Ok(c) => c,
        Err(e) => return Outcome::Refused(e.message),
    };
    let data = match rlc_driver::data::load(&compiled.model, "edge.json", data.as_bytes(), None) {
        Ok(d) => d,
        Err(e) => return Outcome::Refused(e.message),
    };
    let mut density = match Density::new(&compiled, &data, backend) {
        Ok(d) => d,
        Err(e) => return Outcome::Refused(e.message),
    };
    let mut grad = vec![0.0; density.dim];
    match density.logp_grad(theta, &mut grad) {
        Ok(lp) => Outcome::Evaluated(lp, grad),
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// Below this, numbers are subnormal or nearly so and carry no relative
/// precision (Stan's softmax of [1000, 0, -1000] has 5.6e-309 where the exact
/// value, 5e-435, rounds to 0).
const FLOOR: f64 = 1e-300;

/// `a` equals `b` to `TOLERANCE` relative to `scale`, or both are below `FLOOR`.
fn close(a: f64, b: f64, scale: f64) -> bool {
    a == b || (a - b).abs() <= TOLERANCE * scale || (a.abs() <= FLOOR && b.abs() <= FLOOR)
}

/// Why rlc's `outcome` does not match the `expected` value and gradient, if it does not.
fn mismatch(expected: &Value, outcome: &Outcome) -> Option<String> {
    let value = &expected["value"];
    match (value.as_str(), outcome) {
        (Some("refused"), Outcome::Refused(_)) => None,
        (Some("refused"), Outcome::Evaluated(lp, _)) => {
            Some(format!("rlc gives {lp}, expected a clean refusal"))
        }
        (Some("error"), Outcome::Refused(_)) => None,
        (Some("error"), Outcome::Evaluated(lp, _)) => {
            (*lp != f64::NEG_INFINITY).then(|| format!("Stan throws; rlc gives {lp}, not -inf"))
        }
        // The mathematical value is undefined (log(-1)): anything but a number.
        (Some("nan"), Outcome::Evaluated(lp, _)) => {
            lp.is_finite().then(|| format!("Stan gives NaN; rlc {lp}"))
        }
        (Some("nan"), Outcome::Refused(_)) => None,
        (Some(_), Outcome::Refused(why)) | (None, Outcome::Refused(why)) => {
            Some(format!("rlc refuses ({why}); expected {value}"))
        }
        (Some(infinity), Outcome::Evaluated(lp, _)) => {
            let want = if infinity == "inf" {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            (*lp != want).then(|| format!("rlc gives {lp}, expected {want}"))
        }
        (None, Outcome::Evaluated(lp, grad)) => {
            let want = value.as_f64().expect("a number");
            if !close(*lp, want, want.abs()) {
                return Some(format!("value {lp:e}, expected {want:e}"));
            }
            // No gradient to compare (a documented value only).
            let gradient = expected["gradient"].as_array()?;
            let scale = gradient
                .iter()
                .filter_map(Value::as_f64)
                .fold(0.0f64, |m, g| m.max(g.abs()));
            for (i, (g, want)) in grad.iter().zip(gradient).enumerate() {
                match want.as_f64() {
                    Some(w) if !close(*g, w, scale) => {
                        return Some(format!("gradient[{i}] {g:e}, expected {w:e} ({grad:?})"))
                    }
                    Some(_) => {}
                    // Stan's gradient overflows ("nonfinite"): so must rlc's.
                    None if g.is_finite() => {
                        return Some(format!("gradient[{i}] {g:e}, expected non-finite"))
                    }
                    None => {}
                }
            }
            (grad.len() != gradient.len())
                .then(|| format!("gradient {grad:?}, expected {gradient:?}"))
        }
    }
}

#[test]
fn every_function_and_distribution_matches_stan_at_its_edges() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/edges/stan_edges.json");
    let text = std::fs::read_to_string(&path).expect("tests/edges/stan_edges.json");
    let reference: Value = serde_json::from_str(&text).expect("JSON");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(cases.len() > 400, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let label = case["label"].as_str().expect("label");
        let source = case["source"].as_str().expect("source");
        let data = case["data"].to_string();
        let theta: Vec<f64> = case["theta"]
            .as_array()
            .expect("theta")
            .iter()
            .map(|t| t.as_f64().expect("a number"))
            .collect();
        // rlc's documented behaviour where it is known to differ, else the exact
        // value where Stan's is off, else Stan's.
        let expected = ["rlc_known", "math", "stan"]
            .iter()
            .find_map(|key| case.get(*key))
            .expect("a reference");
        for backend in [Backend::Jit, Backend::Interp] {
            // Where the backends differ (documented): each one's value, no gradient.
            let per_backend = expected
                .get("per_backend")
                .map(|per| serde_json::json!({"value": per[format!("{backend:?}")]}));
            let expected = per_backend.as_ref().unwrap_or(expected);
            let outcome =
                catch_unwind(AssertUnwindSafe(|| run_rlc(source, &data, &theta, backend)));
            let problem = match outcome {
                Err(_) => Some("panics".to_string()),
                Ok(outcome) => {
                    mismatch(expected, &outcome).map(|p| format!("{p}; rlc: {outcome:?}"))
                }
            };
            if let Some(problem) = problem {
                failures.push(format!("{label} ({backend:?}): {problem}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases x 2 backends disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
