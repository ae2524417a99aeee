//! One case through the pipeline, in-process: compile (check → lower →
//! autodiff), load the data, bind on the JIT and on the interpreter,
//! evaluate the log density and gradient at a few points on both, run the
//! generated quantities and, where the density is finite, explain nothing;
//! where it is not, ask for the explanation (the explainer runs too). Any
//! panic is caught and reported with the input.

use crate::{Case, Rng};
use rlc_driver::{Backend, Density};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How far a case got, or how it failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The model does not compile (a clear model error).
    ModelError,
    /// The data does not fit (a clear data error).
    DataError,
    /// Binding refused it (a size requirement, the memory limit, …).
    BindError,
    /// Both backends evaluated the density at every point, and agreed.
    Evaluated,
    /// A stage panicked: the message.
    Panic(String),
    /// The backends disagree: what differed.
    Mismatch(String),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Panic(_) | Outcome::Mismatch(_))
    }
}

/// The memory the fuzzer lets one case use for its arrays: sizes mutated
/// to 10^9 must be refused, not allocated.
pub const MEMORY_LIMIT: u64 = 256 << 20;

/// Runs `case` (see the module doc); `seed` chooses the points.
pub fn run_case(case: &Case, seed: u64) -> Outcome {
    rlc_driver::memory::set_limit(MEMORY_LIMIT, "the fuzzer's limit");
    match catch_unwind(AssertUnwindSafe(|| pipeline(case, seed))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Outcome::Panic(message)
        }
    }
}

/// Whether two results of the backends agree: equal up to rounding, or
/// both not finite.
fn agree(a: f64, b: f64, scale: f64, rel: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return !a.is_finite() && !b.is_finite();
    }
    (a - b).abs() <= rel * (a.abs().max(b.abs())) + rel * 1e-2 * scale.max(1.0)
}

fn pipeline(case: &Case, seed: u64) -> Outcome {
    let Ok(compiled) = rlc_driver::compile(&case.source, "fuzz.rlm") else {
        return Outcome::ModelError;
    };
    let Ok(data) = rlc_driver::data::load(&compiled.model, &case.data_name, &case.data, None)
    else {
        return Outcome::DataError;
    };
    // Half the cases split their loops over subjects across 3 threads.
    let threads = if seed % 2 == 1 { 3 } else { 1 };
    let jit = Density::with_threads(&compiled, &data, Backend::Jit, threads);
    let interp = Density::new(&compiled, &data, Backend::Interp);
    let (mut jit, mut interp) = match (jit, interp) {
        (Ok(j), Ok(i)) => (j, i),
        (Err(_), Err(_)) => return Outcome::BindError,
        (Ok(_), Err(e)) => {
            return Outcome::Mismatch(format!(
                "the interpreter refused to bind ({}) but the JIT bound",
                e.message
            ))
        }
        (Err(e), Ok(_)) => {
            return Outcome::Mismatch(format!(
                "the JIT refused to bind ({}) but the interpreter bound",
                e.message
            ))
        }
    };
    let mut rng = Rng::new(seed ^ 0x5eed);
    let dim = jit.dim;
    for point in 0..3 {
        // At ±30 on the unconstrained scale a positive parameter is e^30 ≈
        // 1e13, whose rounding unit is 0.002: a log-softmax of such values
        // is only good to about 1e-4 on either backend, computed in a
        // different order (the JIT fuses it). Found by the campaign; not a bug.
        let rel = if point == 2 { 1e-3 } else { 1e-7 };
        let theta: Vec<f64> = (0..dim)
            .map(|_| match point {
                0 => rng.unit() * 4.0 - 2.0,
                1 => 0.0,
                _ => *rng.pick(&[-30.0, -5.0, 0.0, 5.0, 30.0]),
            })
            .collect();
        let mut g_jit = vec![0.0; dim];
        let mut g_interp = vec![0.0; dim];
        let lp_jit = jit.logp_grad(&theta, &mut g_jit);
        let lp_interp = interp.logp_grad(&theta, &mut g_interp);
        match (lp_jit, lp_interp) {
            (Ok(a), Ok(b)) => {
                if !agree(a, b, 1.0, rel) {
                    return Outcome::Mismatch(format!(
                        "log density at {theta:?}: JIT {a}, interpreter {b}"
                    ));
                }
                let scale = a.abs().max(1.0);
                for (k, (x, y)) in g_jit.iter().zip(&g_interp).enumerate() {
                    if !agree(*x, *y, scale, rel) {
                        return Outcome::Mismatch(format!(
                            "gradient coordinate {k} at {theta:?}: JIT {x}, interpreter {y} (log density {a})"
                        ));
                    }
                }
                if !a.is_finite() || g_jit.iter().any(|g| !g.is_finite()) {
                    // The explainer runs where a user would see it.
                    let _ = jit.explain(&theta);
                }
            }
            (Err(_), Err(_)) => {
                let _ = jit.explain(&theta);
            }
            (Ok(a), Err(e)) => {
                return Outcome::Mismatch(format!(
                    "at {theta:?} the JIT gave {a} but the interpreter failed: {e}"
                ))
            }
            (Err(e), Ok(b)) => {
                return Outcome::Mismatch(format!(
                    "at {theta:?} the interpreter gave {b} but the JIT failed: {e}"
                ))
            }
        }
        let _ = jit.generated(&theta);
        let _ = interp.generated(&theta);
    }
    Outcome::Evaluated
}
