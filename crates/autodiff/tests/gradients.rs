//! Gradients against central finite differences, on every model in
//! `models/` and every accepted UI-test model, at several random points on
//! small generated data; and the lowered log density of the verifier-clean
//! IR agrees between the plain and the differentiated function.

use rlc_check::model::Model;
use rlc_ir::interp::{eval, Tensor};
use rlc_ir::{Function, Input};
use rlc_testkit::{models, workspace, Rng};
use std::collections::HashMap;
use std::path::Path;

/// Random data for `model` (see `rlc_testkit::generate_data`), as tensors.
fn generate_data(model: &Model, rng: &mut Rng) -> (HashMap<String, i64>, HashMap<String, Tensor>) {
    let (sizes, data) = rlc_testkit::generate_data(model, rng);
    let tensors = data
        .into_iter()
        .map(|(name, v)| (name, Tensor::new(v.shape, v.values)))
        .collect();
    (sizes, tensors)
}

fn inputs(f: &Function, theta: &[f64], data: &HashMap<String, Tensor>) -> Vec<Tensor> {
    f.inputs
        .iter()
        .map(|i| match i {
            Input::Theta => Tensor {
                shape: vec![theta.len()],
                data: theta.to_vec(),
            },
            Input::Data(name) => data[name].clone(),
        })
        .collect()
}

fn check_model(path: &Path) -> usize {
    let mut checked = 0;
    let source = std::fs::read_to_string(path).expect("UTF-8");
    let (model, diagnostics) = rlc_check::compile(&source);
    let model =
        model.unwrap_or_else(|| panic!("{} does not compile: {diagnostics:?}", path.display()));
    let ir = rlc_ir::lower(&model)
        .unwrap_or_else(|e| panic!("{}: lowering failed: {e}", path.display()));
    let grad_fn = rlc_autodiff::gradient(&ir.log_density)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for f in [&ir.log_density, &ir.generated, &grad_fn] {
        if let Err(errors) = rlc_ir::verify::verify(f) {
            panic!(
                "{}: invalid IR: {errors:?}\n{}",
                path.display(),
                rlc_ir::print::print_function(f)
            );
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ source.len() as u64);
    let (mut trial, mut attempts) = (0, 0);
    while trial < 3 {
        attempts += 1;
        assert!(
            attempts <= 60,
            "{}: log density -inf at 60 random data sets and points",
            path.display()
        );
        let (sizes, data) = generate_data(&model, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let lp = eval(
            &ir.log_density,
            &sizes,
            &inputs(&ir.log_density, &theta, &data),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))[0]
            .data[0];
        let out = eval(&grad_fn, &sizes, &inputs(&grad_fn, &theta, &data))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if lp == f64::NEG_INFINITY {
            // A support that depends on the parameters: a random response time
            // below a Wiener's random `tau`. Another data set and point.
            continue;
        }
        assert!(
            lp.is_finite(),
            "{}: log density {lp} at trial {trial}",
            path.display()
        );
        assert!(
            (out[0].data[0] - lp).abs() <= 1e-12 * lp.abs().max(1.0),
            "{}: lp differs",
            path.display()
        );
        let grad = &out[1].data;
        let mut f = |t: &[f64]| {
            eval(&ir.log_density, &sizes, &inputs(&ir.log_density, t, &data)).expect("eval")[0].data
                [0]
        };
        if let Some((i, g, fd)) = rlc_testkit::finite_difference_mismatch(&mut f, &theta, grad) {
            panic!(
                "{}: coordinate {i}: autodiff {g} vs finite difference {fd} (trial {trial})",
                path.display()
            );
        }
        checked += dim;
        trial += 1;
    }
    checked
}

#[test]
fn gradients_match_finite_differences_on_every_model() {
    let all = models();
    assert!(!all.is_empty());
    let mut checked = 0;
    for path in &all {
        let n = check_model(path);
        println!("{}: {n} gradient coordinates checked", path.display());
        checked += n;
    }
    assert!(checked > 100, "only {checked} coordinates checked");
}

/// The lowered and the differentiated IR of the spec's example models, as
/// text: a change in lowering or autodiff shows up as a reviewable diff.
#[test]
fn example_models_ir_snapshots() {
    for name in ["rl_single", "eight_schools", "rl_hier"] {
        let path = workspace().join("models").join(format!("{name}.rlm"));
        let source = std::fs::read_to_string(&path).expect("model");
        let (model, _) = rlc_check::compile(&source);
        let ir = rlc_ir::lower(&model.expect("compiles")).expect("lowers");
        let grad = rlc_autodiff::gradient(&ir.log_density).expect("differentiates");
        insta::assert_snapshot!(
            format!("{name}_lowered"),
            rlc_ir::print::print_function(&ir.log_density)
        );
        insta::assert_snapshot!(
            format!("{name}_gradient"),
            rlc_ir::print::print_function(&grad)
        );
    }
}
