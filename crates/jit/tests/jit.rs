//! The JIT against the reference interpreter: every example model on small
//! generated data at random points (log density and gradient functions),
//! the reference data sets, and runtime index errors.

use rlc_check::model::{Model, SymbolKind};
use rlc_check::types::ElemType;
use rlc_ir::{Function, Input, ModelIr};
use rlc_jit::{JitFunction, RuntimeError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn models() -> Vec<PathBuf> {
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

type Data = HashMap<String, Vec<f64>>;

/// Random data that fits the declarations: sizes 3 or 4, ints in their
/// declared range (else 0..3), reals in (0.1, 0.9), a fifth of optional cells missing.
fn generate_data(model: &Model, rng: &mut Rng) -> (HashMap<String, i64>, Data) {
    let mut sizes = HashMap::new();
    for id in &model.sizes {
        let sym = model.symbol(*id);
        if let SymbolKind::Size { .. } = sym.kind {
            sizes.insert(sym.name.clone(), 3 + (rng.next() * 2.0) as i64);
        }
    }
    let mut data = HashMap::new();
    for d in &model.data {
        let sym = model.symbol(d.symbol);
        let count: i64 = sym
            .info
            .ty
            .shape
            .iter()
            .map(|dim| dim.eval(&sizes).expect("size"))
            .product();
        let values = (0..count)
            .map(|_| {
                if sym.info.ty.optional && rng.next() < 0.2 {
                    return f64::NAN;
                }
                match sym.info.ty.elem {
                    ElemType::Int => {
                        let (lo, hi) = d
                            .int_range
                            .as_ref()
                            .and_then(|r| Some((r.lo.eval(&sizes)?, r.hi.eval(&sizes)?)))
                            .unwrap_or((0, 3));
                        (lo as f64 + (rng.next() * (hi - lo) as f64).floor()).min(hi as f64 - 1.0)
                    }
                    ElemType::Real => rng.uniform(0.1, 0.9),
                    ElemType::Bool => f64::from(u8::from(rng.next() < 0.5)),
                }
            })
            .collect();
        data.insert(sym.name.clone(), values);
    }
    (sizes, data)
}

fn compile_model(source: &str) -> (Model, ModelIr, Function) {
    let (model, diagnostics) = rlc_check::compile(source);
    let model = model.unwrap_or_else(|| panic!("does not compile: {diagnostics:?}"));
    let ir = rlc_ir::lower(&model).unwrap_or_else(|e| panic!("lowering failed: {e}"));
    let grad = rlc_autodiff::gradient(&ir.log_density).unwrap_or_else(|e| panic!("autodiff: {e}"));
    (model, ir, grad)
}

fn data_slices<'a>(f: &Function, data: &'a Data) -> Vec<&'a [f64]> {
    f.inputs
        .iter()
        .map(|i| match i {
            Input::Theta => &[][..],
            Input::Data(name) => data[name].as_slice(),
        })
        .collect()
}

fn jit(f: &Function, sizes: &HashMap<String, i64>, data: &Data) -> JitFunction {
    JitFunction::compile_flat(f, sizes, &data_slices(f, data))
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

fn run(f: &mut JitFunction, theta: &[f64]) -> Vec<Vec<f64>> {
    let mut outs: Vec<Vec<f64>> = f.result_lens().iter().map(|n| vec![0.0; *n]).collect();
    let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    f.call(theta, &mut refs).unwrap_or_else(|e| panic!("{e}"));
    outs
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn check_model(path: &Path) {
    let source = std::fs::read_to_string(path).expect("UTF-8");
    let (model, ir, grad) = compile_model(&source);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ source.len() as u64);
    for trial in 0..3 {
        let (sizes, data) = generate_data(&model, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let mut lp_fn = jit(&ir.log_density, &sizes, &data);
        let mut grad_fn = jit(&grad, &sizes, &data);
        for _ in 0..3 {
            let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let lp = run(&mut lp_fn, &theta)[0][0];
            let g = run(&mut grad_fn, &theta);
            assert!(lp.is_finite(), "{}: lp {lp} (trial {trial})", path.display());
            assert!(close(g[0][0], lp, 1e-12), "{}: lp {lp} vs {}", path.display(), g[0][0]);
            for i in 0..dim {
                let h = 1e-6 * theta[i].abs().max(1.0);
                let mut plus = theta.clone();
                plus[i] += h;
                let mut minus = theta.clone();
                minus[i] -= h;
                let fd = (run(&mut lp_fn, &plus)[0][0] - run(&mut lp_fn, &minus)[0][0]) / (2.0 * h);
                let tolerance = 1e-6 * (1.0 + fd.abs().max(g[1][i].abs())) + 1e-7 * lp.abs();
                assert!(
                    (fd - g[1][i]).abs() <= tolerance,
                    "{}: coordinate {i}: jit gradient {} vs finite difference {fd}",
                    path.display(),
                    g[1][i]
                );
            }
        }
    }
}

#[test]
fn jit_gradients_match_finite_differences_on_every_model() {
    for path in models() {
        check_model(&path);
    }
}

#[test]
fn out_of_range_data_index_is_a_runtime_error() {
    let source = "size T\nsize K\ndata k: int[T]\nparam w: real[K] ~ Normal(0, 1)\ntarget += sum(w[k])\n";
    let (_, ir, grad) = compile_model(source);
    let sizes = HashMap::from([("T".to_string(), 4), ("K".to_string(), 3)]);
    let data = HashMap::from([("k".to_string(), vec![0.0, 2.0, 5.0, 1.0])]);
    for f in [&ir.log_density, &grad] {
        let mut j = jit(f, &sizes, &data);
        let mut outs: Vec<Vec<f64>> = j.result_lens().iter().map(|n| vec![0.0; *n]).collect();
        let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
        let err = j.call(&[0.1, 0.2, 0.3], &mut refs).expect_err("index 5 is out of range");
        match err {
            RuntimeError::IndexOutOfRange { index, len, .. } => {
                assert_eq!((index, len), (5.0, 3), "{err}");
            }
            e => panic!("unexpected error {e}"),
        }
    }
}
