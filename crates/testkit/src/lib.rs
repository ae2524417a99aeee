//! Test support shared by the crates' tests and benchmarks (a dev-dependency
//! only): where the bundled models are, and random data that fits a model's
//! declarations, from a small deterministic generator so failures reproduce.
//! It knows the checked `Model` (to read the declarations) and nothing of the
//! IR, the autodiff or the JIT, whose tests shape the data as they need.

use rlc_check::model::{Model, SymbolKind};
use rlc_check::types::ElemType;
use std::collections::HashMap;
use std::path::PathBuf;

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// The repository's root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every bundled model (`models/`) and accepted UI-test model (`tests/check/ok/`).
pub fn models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["models", "tests/check/ok"] {
        for entry in std::fs::read_dir(workspace().join(dir)).expect("folder exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rlm") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One data variable: its shape and its values, row-major (NaN for a missing cell).
pub struct Variable {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// Random data that fits the declarations: sizes 3 or 4, ints in their declared range
/// (else 0..3), reals in (0.1, 0.9), a fifth of optional cells missing.
pub fn generate_data(
    model: &Model,
    rng: &mut Rng,
) -> (HashMap<String, i64>, HashMap<String, Variable>) {
    let mut sizes = HashMap::new();
    for id in &model.sizes {
        let sym = model.symbol(*id);
        if let SymbolKind::Size { .. } = sym.kind {
            sizes.insert(sym.name.clone(), 3 + (rng.unit() * 2.0) as i64);
        }
    }
    let mut data = HashMap::new();
    for d in &model.data {
        let sym = model.symbol(d.symbol);
        let shape: Vec<usize> = sym
            .info
            .ty
            .shape
            .iter()
            .map(|dim| dim.eval(&sizes).expect("size") as usize)
            .collect();
        let count: usize = shape.iter().product();
        let values = (0..count)
            .map(|_| {
                if sym.info.ty.optional && rng.unit() < 0.2 {
                    return f64::NAN;
                }
                match sym.info.ty.elem {
                    ElemType::Int => {
                        let (lo, hi) = d
                            .int_range
                            .as_ref()
                            .and_then(|r| Some((r.lo.eval(&sizes)?, r.hi.eval(&sizes)?)))
                            .unwrap_or((0, 3));
                        (lo as f64 + (rng.unit() * (hi - lo) as f64).floor()).min(hi as f64 - 1.0)
                    }
                    ElemType::Real => rng.uniform(0.1, 0.9),
                    ElemType::Bool => f64::from(u8::from(rng.unit() < 0.5)),
                }
            })
            .collect();
        data.insert(sym.name.clone(), Variable { shape, values });
    }
    (sizes, data)
}

/// Checks a gradient against central finite differences of `log_density` at `theta`
/// (step `1e-6` relative), to `1e-6` relative plus `1e-7 |lp|` absolute; returns the
/// first coordinate that disagrees, with both values.
pub fn finite_difference_mismatch(
    log_density: &mut dyn FnMut(&[f64]) -> f64,
    theta: &[f64],
    gradient: &[f64],
) -> Option<(usize, f64, f64)> {
    let lp = log_density(theta);
    for (i, g) in gradient.iter().enumerate() {
        let h = 1e-6 * theta[i].abs().max(1.0);
        let mut plus = theta.to_vec();
        plus[i] += h;
        let mut minus = theta.to_vec();
        minus[i] -= h;
        let fd = (log_density(&plus) - log_density(&minus)) / (2.0 * h);
        let tolerance = 1e-6 * (1.0 + fd.abs().max(g.abs())) + 1e-7 * lp.abs();
        if (fd - g).abs() > tolerance {
            return Some((i, *g, fd));
        }
    }
    None
}
