//! Shared by the integration tests and the benchmark: the example models,
//! a data generator, the pipeline from source to IR, JSON data, and running
//! compiled functions.
#![allow(dead_code)]

use rlc_check::model::Model;
use rlc_ir::{Function, Input, ModelIr};
use rlc_jit::{JitFunction, JitOptions};
use std::collections::HashMap;
use std::path::PathBuf;

#[allow(unused_imports)] // not every test file uses every item
pub use rlc_testkit::{models, workspace, Rng};

pub type Data = HashMap<String, Vec<f64>>;

/// Random data for `model` (see `rlc_testkit::generate_data`), flat.
pub fn generate_data(model: &Model, rng: &mut Rng) -> (HashMap<String, i64>, Data) {
    let (sizes, data) = rlc_testkit::generate_data(model, rng);
    let flat = data.into_iter().map(|(name, v)| (name, v.values)).collect();
    (sizes, flat)
}

pub fn compile_model(source: &str) -> (Model, ModelIr, Function) {
    let (model, diagnostics) = rlc_check::compile(source);
    let model = model.unwrap_or_else(|| panic!("does not compile: {diagnostics:?}"));
    let ir = rlc_ir::lower(&model).unwrap_or_else(|e| panic!("lowering failed: {e}"));
    let grad = rlc_autodiff::gradient(&ir.log_density).unwrap_or_else(|e| panic!("autodiff: {e}"));
    (model, ir, grad)
}

pub fn data_slices<'a>(f: &Function, data: &'a Data) -> Vec<&'a [f64]> {
    f.inputs
        .iter()
        .map(|i| match i {
            Input::Theta => &[][..],
            Input::Data(name) => data[name].as_slice(),
        })
        .collect()
}

/// The JIT's scalar code: one thread, no SIMD lanes (the reference the
/// other forms must equal bit for bit).
pub fn jit(f: &Function, sizes: &HashMap<String, i64>, data: &Data) -> JitFunction {
    let scalar = JitOptions {
        threads: 1,
        lanes: false,
        ..JitOptions::default()
    };
    jit_with(f, sizes, data, scalar)
}

pub fn jit_with(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &Data,
    options: JitOptions,
) -> JitFunction {
    JitFunction::compile_padded(f, sizes, &data_slices(f, data), 0, options)
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

/// `jit` with the independent loops over subjects split into `threads` chunks.
pub fn jit_threads(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &Data,
    threads: usize,
) -> JitFunction {
    let lanes = false;
    jit_with(
        f,
        sizes,
        data,
        JitOptions {
            threads,
            lanes,
            ..JitOptions::default()
        },
    )
}

/// `jit_threads` with subjects two at a time in SIMD lanes where the loop allows.
pub fn jit_lanes(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &Data,
    threads: usize,
) -> JitFunction {
    let lanes = true;
    jit_with(
        f,
        sizes,
        data,
        JitOptions {
            threads,
            lanes,
            ..JitOptions::default()
        },
    )
}

/// The same bits (NaNs equal), as any number of threads must give.
pub fn assert_same_bits(what: &str, a: &[Vec<f64>], b: &[Vec<f64>]) {
    assert_eq!(a.len(), b.len(), "{what}: number of results");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let bits = |v: &[f64]| -> Vec<u64> {
            v.iter()
                .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
                .collect()
        };
        assert_eq!(bits(x), bits(y), "{what}: result {k}: {x:?} vs {y:?}");
    }
}

pub fn run(f: &mut JitFunction, theta: &[f64]) -> Vec<Vec<f64>> {
    let mut outs: Vec<Vec<f64>> = f.result_lens().iter().map(|n| vec![0.0; *n]).collect();
    let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    f.call(theta, &mut refs).unwrap_or_else(|e| panic!("{e}"));
    outs
}

pub fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

/// Sizes and data from a Stan-format JSON file: integer top-level numbers
/// are sizes, arrays (nested row-major, `null` missing) are data.
pub fn load_json(path: &std::path::Path) -> (HashMap<String, i64>, Data) {
    let text = std::fs::read_to_string(path).expect("data file");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut sizes = HashMap::new();
    let mut data = HashMap::new();
    fn flatten(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
            serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
            _ => out.push(f64::NAN),
        }
    }
    for (key, v) in value.as_object().expect("an object") {
        match v {
            serde_json::Value::Number(n) if n.is_i64() => {
                sizes.insert(key.clone(), n.as_i64().unwrap_or(0));
                data.insert(key.clone(), vec![n.as_f64().unwrap_or(0.0)]);
            }
            _ => {
                let mut out = Vec::new();
                flatten(v, &mut out);
                data.insert(key.clone(), out);
            }
        }
    }
    (sizes, data)
}

pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn model_file(name: &str) -> PathBuf {
    workspace().join("models").join(name)
}

/// The interpreter's inputs for `f`: theta and the data, shaped by `f`'s argument types.
pub fn interp_inputs(
    f: &Function,
    sizes: &HashMap<String, i64>,
    theta: &[f64],
    data: &Data,
) -> Vec<rlc_ir::interp::Tensor> {
    f.inputs
        .iter()
        .zip(&f.body.args)
        .map(|(input, arg)| {
            let shape: Vec<usize> = f
                .ty(*arg)
                .shape
                .iter()
                .map(|d| d.eval(sizes).expect("size") as usize)
                .collect();
            let values = match input {
                Input::Theta => theta.to_vec(),
                Input::Data(name) => data[name].clone(),
            };
            rlc_ir::interp::Tensor::new(shape, values)
        })
        .collect()
}

/// The interpreter's results of `f`, flattened.
pub fn interpret(
    f: &Function,
    sizes: &HashMap<String, i64>,
    theta: &[f64],
    data: &Data,
) -> Vec<Vec<f64>> {
    rlc_ir::interp::eval(f, sizes, &interp_inputs(f, sizes, theta, data))
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
        .into_iter()
        .map(|t| t.data)
        .collect()
}

/// `f`'s JIT result at `theta`, after checking it against the interpreter's.
pub fn run_checked(
    what: &str,
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &Data,
    theta: &[f64],
) -> Vec<Vec<f64>> {
    let got = run(&mut jit(f, sizes, data), theta);
    assert_matches_interpreter(what, &got, &interpret(f, sizes, theta, data));
    got
}

/// On random small data and random points: the JIT's log density and gradient
/// equal the interpreter's, the gradient function's log density equals the
/// log density function's, and the gradient matches central finite differences.
pub fn check_source(name: &str, source: &str) {
    let (model, ir, grad) = compile_model(source);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ source.len() as u64);
    let mut finite = 0;
    for trial in 0..20 {
        if finite >= 9 {
            break;
        }
        let (sizes, data) = generate_data(&model, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let mut lp_fn = jit(&ir.log_density, &sizes, &data);
        let mut grad_fn = jit(&grad, &sizes, &data);
        // Three threads: more than some loops have iterations, and not a
        // divisor of the others.
        let mut lp_threads = jit_threads(&ir.log_density, &sizes, &data, 3);
        let mut grad_threads = jit_threads(&grad, &sizes, &data, 3);
        let mut lp_lanes = jit_lanes(&ir.log_density, &sizes, &data, 1);
        let mut grad_lanes = jit_lanes(&grad, &sizes, &data, 1);
        let mut grad_lanes_threads = jit_lanes(&grad, &sizes, &data, 3);
        for _ in 0..3 {
            let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let lp = run(&mut lp_fn, &theta)[0][0];
            let g = run(&mut grad_fn, &theta);
            let threaded = format!("{name} (on 3 threads)");
            assert_same_bits(&threaded, &run(&mut lp_threads, &theta), &[vec![lp]]);
            assert_same_bits(&threaded, &run(&mut grad_threads, &theta), &g);
            let lanes = format!("{name} (subjects in SIMD lanes)");
            let g_in_lanes = run(&mut grad_lanes, &theta);
            assert_lanes_agree(&lanes, &run(&mut lp_lanes, &theta), &[vec![lp]]);
            assert_lanes_agree(&lanes, &g_in_lanes, &g);
            let both = format!("{name} (in SIMD lanes on 3 threads)");
            assert_same_bits(&both, &run(&mut grad_lanes_threads, &theta), &g_in_lanes);
            if lp == f64::NEG_INFINITY {
                // Outside a support that depends on the parameters (a random
                // response time below a Wiener's random `tau`): another point.
                continue;
            }
            assert!(lp.is_finite(), "{}: lp {lp} (trial {trial})", name);
            finite += 1;
            assert_matches_interpreter(
                name,
                &[vec![lp]],
                &interpret(&ir.log_density, &sizes, &theta, &data),
            );
            assert_matches_interpreter(name, &g, &interpret(&grad, &sizes, &theta, &data));
            assert!(
                close(g[0][0], lp, 1e-12),
                "{}: lp {lp} vs {}",
                name,
                g[0][0]
            );
            let mut f = |t: &[f64]| run(&mut lp_fn, t)[0][0];
            if let Some((i, g, fd)) = rlc_testkit::finite_difference_mismatch(&mut f, &theta, &g[1])
            {
                panic!("{name}: coordinate {i}: jit gradient {g} vs finite difference {fd}");
            }
        }
    }
    assert!(
        finite >= 9,
        "{name}: log density -inf at all but {finite} of the random points"
    );
}

/// Lane code's results agree with the scalar code's: its `exp`, `log` and
/// `log1p` are the vector kernels, within 1 ulp of the library's, so a sum
/// of many terms may differ in its last bits (relative to the largest
/// result, as a gradient's coordinates near 0 are sums that cancel).
pub fn assert_lanes_agree(what: &str, lanes: &[Vec<f64>], scalar: &[Vec<f64>]) {
    assert_eq!(lanes.len(), scalar.len(), "{what}: number of results");
    for (k, (a, b)) in lanes.iter().zip(scalar).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: result {k} length");
        let scale = b.iter().fold(
            1.0f64,
            |m, x| if x.is_finite() { m.max(x.abs()) } else { m },
        );
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let agree = x == y
                || (x.is_nan() && y.is_nan())
                || (x - y).abs() <= 1e-11 * x.abs().max(y.abs()) + 1e-13 * scale;
            assert!(agree, "{what}: result {k}[{i}]: lanes {x} vs scalar {y}");
        }
    }
}

/// The JIT's results equal the interpreter's to 1e-12 relative. They agree
/// bit for bit except where the JIT legitimately orders the operations
/// differently: the softmax `exp(a - logsumexp(a))` of a vector of up to 8
/// values is computed from the log-sum-exp's own terms `exp(a[i] - max)` as
/// `exp(a[i] - max) / sum` (for two values, `1 / (1 + e)` and `e / (1 + e)`),
/// which is more accurate than the interpreter's form (off by about |lse|
/// ulps); otherwise the same operations in the same order, the
/// interpreter's own special functions, the 2-term log-sum-exp skipping
/// only an exact `exp(0)`.
pub fn assert_matches_interpreter(what: &str, jit: &[Vec<f64>], interp: &[Vec<f64>]) {
    assert_eq!(jit.len(), interp.len(), "{what}: number of results");
    for (k, (a, b)) in jit.iter().zip(interp).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: result {k} length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                close(*x, *y, 1e-12) || (x.is_nan() && y.is_nan()),
                "{what}: result {k}[{i}]: jit {x} vs interpreter {y}"
            );
        }
    }
}

/// The gradient's workspace length (checked against the interpreter at two points) for `rl_single_pytensor` on `t` trials.
pub fn pytensor_gradient_workspace(t: usize) -> usize {
    let source = std::fs::read_to_string(model_file("rl_single_pytensor.rlm")).expect("model");
    let (_, _, grad) = compile_model(&source);
    let sizes: HashMap<String, i64> = [("T".to_string(), t as i64)].into();
    let action: Vec<f64> = (0..t).map(|i| ((i * 7) % 3 % 2) as f64).collect();
    let reward: Vec<f64> = (0..t).map(|i| ((i * 5) % 4 % 2) as f64).collect();
    let data: Data = [
        ("action".to_string(), action),
        ("reward".to_string(), reward),
    ]
    .into();
    let mut grad_fn = jit(&grad, &sizes, &data);
    for theta in [vec![0.3, 0.5], vec![-1.1, 2.0]] {
        assert_matches_interpreter(
            "rl_single_pytensor",
            &run(&mut grad_fn, &theta),
            &interpret(&grad, &sizes, &theta, &data),
        );
    }
    grad_fn.workspace_len()
}
