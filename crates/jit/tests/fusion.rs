//! Fused elementwise loops: a chain of elementwise ops over a large array
//! that ends in an elementwise op or a reduction stores no array between its
//! links (the workspace holds the data, theta and results, not one array
//! per link), and computes what the interpreter computes — with operands of
//! every kind (data, parameters broadcast, results of other ops), selects
//! and comparisons, reductions along an axis, `sum_to`, chains inside scan
//! and `for` bodies, and chains whose values are also used elsewhere (which
//! must then be stored).

mod support;

use std::collections::HashMap;
use support::*;

const K: usize = 1000;

/// The model's log density and gradient on `x = 0.001 * i - 0.3` (and `y`,
/// an `[R, C]` = `[100, 10]` matrix of the same), checked against the interpreter at a
/// few points; returns the log density's workspace length.
fn fused(source: &str) -> usize {
    let (_, ir, grad) = compile_model(source);
    let sizes: HashMap<String, i64> = [("K", K), ("R", K / 10), ("C", 10)]
        .map(|(k, v)| (k.to_string(), v as i64))
        .into();
    let xs: Vec<f64> = (0..K).map(|i| 0.001 * i as f64 - 0.3).collect();
    let data: Data = [("x".to_string(), xs.clone()), ("y".to_string(), xs)].into();
    let dim = ir.dim.eval(&sizes).expect("dim") as usize;
    let mut lp_fn = jit(&ir.log_density, &sizes, &data);
    let mut grad_fn = jit(&grad, &sizes, &data);
    for theta in [vec![0.3; dim], vec![-1.1; dim], vec![2.5; dim]] {
        assert_matches_interpreter(
            source,
            &run(&mut lp_fn, &theta),
            &interpret(&ir.log_density, &sizes, &theta, &data),
        );
        assert_matches_interpreter(
            source,
            &run(&mut grad_fn, &theta),
            &interpret(&grad, &sizes, &theta, &data),
        );
    }
    lp_fn.workspace_len()
}

const HEAD: &str = "size K\nsize R\nsize C\ndata x: real[K]\ndata y: real[R, C]\nparam a ~ Normal(0, 1)\nparam b ~ Normal(0, 1)\n";

#[test]
fn a_chain_ending_in_a_sum_stores_no_array() {
    // mul, add, exp, log1p, select on a comparison: one loop into the sum.
    let ws = fused(&format!(
        "{HEAD}target += sum(log1p(exp(-abs(a * x + b)))) + sum(where(b * x > 0.1, x * x, -x))\n"
    ));
    // The data (x and y: 2K), theta and a few scalars; one stored
    // intermediate would add K.
    assert!(ws < 2 * K + 100, "workspace of {ws} slots");
}

#[test]
fn a_chain_into_a_reduction_along_an_axis_and_a_sum_to_stores_no_array() {
    let ws = fused(&format!(
        "{HEAD}let m = exp(a * y - b)\ntarget += sum(log(sum(m, axis=1))) - sum(max(a * y, axis=0))\n"
    ));
    // The row sums (K/10) and column maxima (10) are results, not links.
    assert!(ws < 2 * K + K / 10 + 100, "workspace of {ws} slots");
}

#[test]
fn values_used_twice_are_stored_and_still_agree() {
    // `z` feeds two reductions: it is stored once, the rest fuses.
    let ws = fused(&format!(
        "{HEAD}let z = logistic(a * x) * b\ntarget += sum(z * z) - max(z) + sum(exp(z - max(z)))\n"
    ));
    assert!(ws < 3 * K + 100, "workspace of {ws} slots");
}

#[test]
fn chains_inside_loops_and_scans_agree_with_the_interpreter() {
    fused(&format!(
        "{HEAD}for i in 0..3 {{\n  target += sum(log1p(exp(a * y[i] - b * i)))\n}}\nlet s = scan (acc = 0.0; r in y) {{\n  acc + sum(exp(a * r) * b)\n}}\ntarget += -0.001 * s[R - 1]\n"
    ));
}

#[test]
fn broadcasts_into_a_chain_are_read_in_place() {
    // `[R, 1]` → `[R, C]` (a kept-dims reduction) and `[C]` → `[R, C]` (a
    // row against every row): neither is stored.
    let ws = fused(&format!(
        "{HEAD}let m = a * y\ntarget += sum(exp(m - logsumexp(m, axis=1, keepdims=true)) * b) + sum(log1p(exp(b * y - y[1])))\n"
    ));
    // `m` is used twice (stored), the row log-sum-exps are R: nothing else.
    assert!(ws < 3 * K + K / 10 + 100, "workspace of {ws} slots");
}

#[test]
fn the_reverse_sweep_does_not_compute_the_softmax_denominators() {
    // Reverse mode divides the log-softmax's softmax by its row sums where
    // they are finite; the JIT's softmax from the row log-sum-exp's terms
    // needs no division, so the row sums and their guard are not computed at
    // all. Measured: 25 988 slots for 1000 trials, and 27 986 when they are
    // (two more `[T - 1]` arrays stored).
    let t = 1000;
    let slots = pytensor_gradient_workspace(t);
    assert!(
        slots < 26 * t + t / 2,
        "workspace of {slots} slots for {t} trials"
    );
}
