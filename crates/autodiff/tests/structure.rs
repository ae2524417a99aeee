//! The shape of the gradient code where speed depends on it (measured by
//! `rlc bench`, guarded here without timing): the backward pass of a trial
//! loop calls no special function (the forward pass stacks the softmax it
//! needs, and the costly values its conditions are made of), and a model's
//! loop over subjects runs each subject forward once.

use rlc_ir::{Function, OpKind, Region, UnaryOp};
use std::path::PathBuf;

fn gradient_of(model: &str) -> Function {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../models/{model}.rlm"));
    let source = std::fs::read_to_string(&path).expect("model file");
    let (model, diagnostics) = rlc_check::compile(&source);
    let model = model.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let ir = rlc_ir::lower(&model).expect("lowers");
    let grad = rlc_autodiff::gradient(&ir.log_density).expect("differentiates");
    rlc_ir::verify::verify(&grad).expect("valid gradient IR");
    grad
}

/// Every op kind in a region and the regions nested in it.
fn kinds(region: &Region, out: &mut Vec<OpKind>) {
    for op in &region.ops {
        match &op.kind {
            OpKind::Scan { body, .. } | OpKind::For { body } => kinds(body, out),
            OpKind::If {
                then_region,
                else_region,
            } => {
                kinds(then_region, out);
                kinds(else_region, out);
            }
            _ => {}
        }
        out.push(op.kind.clone());
    }
}

fn calls_special_function(kind: &OpKind) -> bool {
    match kind {
        OpKind::Unary(u) => !matches!(u, UnaryOp::Neg | UnaryOp::Not | UnaryOp::Abs),
        OpKind::Reduce { op, .. } => *op == rlc_ir::ReduceOp::LogSumExp,
        _ => false,
    }
}

/// The scans of a region and its nested regions: (is it a reverse scan, body).
fn scans(region: &Region, out: &mut Vec<(bool, Region)>) {
    for op in &region.ops {
        match &op.kind {
            OpKind::Scan { body, reverse, .. } => {
                out.push((*reverse, body.clone()));
                scans(body, out);
            }
            OpKind::For { body } => scans(body, out),
            OpKind::If {
                then_region,
                else_region,
            } => {
                scans(then_region, out);
                scans(else_region, out);
            }
            _ => {}
        }
    }
}

fn count(region: &Region, what: &dyn Fn(&OpKind) -> bool) -> usize {
    let mut all = Vec::new();
    kinds(region, &mut all);
    all.iter().filter(|k| what(k)).count()
}

#[test]
fn backward_trial_loops_call_no_special_function() {
    // (rl_single_pytensor scores its choices after the loop, vectorized.)
    for (model, scored_in_loop) in [
        ("rl_single", true),
        ("rl_hier", true),
        ("rl_pos_neg", true),
        ("bandit4arm", true),
        ("prl_fictitious", true),
        ("choice_kernel", true),
        // `Categorical(p = …)`: the validity of `p` and the guard on the
        // log of `p[k]` are stacked, not recomputed from the softmax.
        ("hbayesdm/banditNarm_lapse", true),
        // `pow(x, alpha)` and its `log(x)` under `x >= 0` in an answered
        // trial: stacked from inside both `if`s.
        ("hbayesdm/igt_pvl_delta", true),
        ("rl_single_pytensor", false),
    ] {
        let grad = gradient_of(model);
        let mut all = Vec::new();
        scans(&grad.body, &mut all);
        let (backward, forward): (Vec<_>, Vec<_>) = all.iter().partition(|(reverse, _)| *reverse);
        assert_eq!((forward.len(), backward.len()), (1, 1), "{model}");
        let in_backward = count(&backward[0].1, &calls_special_function);
        assert_eq!(
            in_backward, 0,
            "{model}: the backward trial loop calls special functions"
        );
        let in_forward = count(&forward[0].1, &calls_special_function);
        assert_eq!(
            in_forward >= 2,
            scored_in_loop,
            "{model}: the forward loop makes the log-sum-exp and its softmax"
        );
    }
}

#[test]
fn the_loop_over_subjects_runs_once() {
    let grad = gradient_of("rl_hier");
    let loops = grad
        .body
        .ops
        .iter()
        .filter(|op| matches!(op.kind, OpKind::For { .. }))
        .count();
    assert_eq!(
        loops, 1,
        "the forward loop over subjects is fused into its adjoint"
    );
}

/// The special-function calls in the trial loop (`for t`) of a gradient: the innermost
/// `for` body, with its `if`s.
fn trial_loop_calls(grad: &Function) -> Vec<UnaryOp> {
    fn innermost_for(region: &Region) -> Option<Region> {
        region.ops.iter().find_map(|op| match &op.kind {
            OpKind::For { body } => innermost_for(body).or_else(|| Some(body.clone())),
            _ => None,
        })
    }
    let body = innermost_for(&grad.body).expect("a for loop");
    let mut all = Vec::new();
    kinds(&body, &mut all);
    all.into_iter()
        .filter_map(|k| match k {
            OpKind::Unary(u) if calls_special_function(&k) => Some(u),
            _ => None,
        })
        .collect()
}

#[test]
fn a_bernoulli_logit_trial_computes_its_exp_once() {
    // `c ~ Bernoulli(logits = l)` scores -log1p(exp(±l)); its derivative is the logistic
    // function of the same exp(-|l|). One `exp` and one `log1p` per trial, forward and
    // backward together, where the forward `log1p_exp` and the backward `logistic`
    // called an `exp` each.
    let grad = gradient_of("hbayesdm/dd_hyperbolic");
    let mut calls = trial_loop_calls(&grad);
    calls.sort_by_key(|u| format!("{u:?}"));
    assert_eq!(calls, [UnaryOp::Exp, UnaryOp::Log1p], "{calls:?}");
}

/// The values with an axis sized by `size` that a region and its nested regions compute.
fn arrays_computed(grad: &Function, region: &Region, size: &str) -> usize {
    let mut n = 0;
    for op in &region.ops {
        n += op
            .results
            .iter()
            .filter(|r| {
                let shape = &grad.values[r.0 as usize].shape;
                shape.iter().any(|d| d.sizes().contains(&size))
            })
            .count();
        for nested in op.kind.regions() {
            n += arrays_computed(grad, nested, size);
        }
    }
    n
}

#[test]
fn a_per_subject_parameter_is_read_once_per_subject_not_per_trial() {
    // `tau[n]` inside `for n { for t { if present(..) { .. } } }` does not change from one
    // trial to the next: read in the trial loop, its adjoint there is an [N]-sized array
    // (zero but for row n) added up every trial. Hoisted to the subject's loop, the trial
    // loop works on scalars only, forward and backward.
    let grad = gradient_of("hbayesdm/dbdm_prob_weight");
    fn loop_in(region: &Region) -> Option<&Region> {
        region.ops.iter().find_map(|op| match &op.kind {
            OpKind::For { body } => Some(body),
            _ => None,
        })
    }
    let subject_loop = loop_in(&grad.body).expect("a loop over subjects");
    let trial_loop = loop_in(subject_loop).expect("a loop over trials in it");
    // The subject's loop adds its parameters' adjoints into [N]-sized sums.
    assert!(arrays_computed(&grad, subject_loop, "N") > 0);
    assert_eq!(arrays_computed(&grad, trial_loop, "N"), 0);
}

/// A `for` over trials (no scan, so no residuals) whose branches compute
/// `pow` of the trial's payoffs: the adjoint branch takes each `pow` from the
/// forward branch on the same condition, so the gradient computes as many as
/// the log density does.
#[test]
fn a_branch_adjoint_takes_its_costly_values_from_the_branch() {
    for model in [
        "hbayesdm/ra_prospect",
        "hbayesdm/dbdm_prob_weight",
        "hbayesdm/cra_exp",
    ] {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../models/{model}.rlm"));
        let source = std::fs::read_to_string(&path).expect("model file");
        let (checked, _) = rlc_check::compile(&source);
        let ir = rlc_ir::lower(&checked.expect("compiles")).expect("lowers");
        let is_pow = |k: &OpKind| matches!(k, OpKind::Binary(rlc_ir::BinaryOp::Pow));
        let forward = count(&ir.log_density.body, &is_pow);
        let grad = gradient_of(model);
        assert!(forward > 0, "{model}: no pow");
        assert_eq!(
            count(&grad.body, &is_pow),
            forward,
            "{model}: pow computed again"
        );
    }
}
