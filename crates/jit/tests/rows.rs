//! Row loops (`rlc_jit::row_loops`): a run of ops that work row by row on
//! arrays of short rows (the vectorized log-softmax of a choice model and its
//! adjoint) is compiled as one loop over the rows. Checked here: which ops
//! the loop takes (structure), that the rewritten IR is well formed, that it
//! computes what the interpreter computes (every form: elementwise ops,
//! broadcasts of a row, of a whole value and of a one-row value, reductions
//! along a row and over the rows, `sum_to`, per-row picks `x[arange(R), i]`,
//! `set_subtensor` and `inc_subtensor` of them, `x[:, j]`, rows of 2-D
//! blocks), on 3 threads, and that an index out of range inside the loop is
//! still reported with its place.

mod support;

use rlc_ir::{Function, OpKind, Region};
use std::collections::HashMap;
use support::*;

/// A choice model's vectorized log-softmax, its per-row pick, row maxima,
/// column slices, column sums, `where`, `set_subtensor`/`inc_subtensor` of
/// picks, and a `[3]` parameter broadcast against every row.
const CHOICES: &str = "size R\ndata z: real[R, 3]\ndata idx: int[R] in 0..3\n\
param beta ~ HalfNormal(5)\nparam w: real[3] ~ Normal(0, 1)\n\
let logits = beta * z + w\n\
let log_p = logits - logsumexp(logits, axis=1, keepdims=true)\n\
target += sum(log_p[arange(R), idx])\n\
target += -0.1 * sum(max(logits, axis=1)) + 0.01 * sum(logits[:, 0] * logits[:, 2])\n\
let m = where(z > 0.0, exp(logits), -logits)\n\
target += 0.001 * sum(sum(m, axis=0) * w)\n\
let q = set_subtensor(logits[arange(R), idx], 0.0)\n\
let u = inc_subtensor(q[arange(R), idx], beta)\n\
target += -0.01 * sum(u * u)\n";

/// Rows that are 2 × 2 blocks, picked by two indices per row.
const BLOCKS: &str = "size R\ndata z: real[R, 2, 2]\ndata k: int[R, 2] in 0..2\n\
param a ~ Normal(0, 1)\nparam c: real[2] ~ Normal(0, 1)\n\
let y = a * z + c\n\
target += -sum(log1p(exp(y))) - 0.1 * sum(sum(y, axis=2) ^ 2)\n\
target += sum(y[arange(R), k[:, 0], k[:, 1]]) + sum(sum(y, axis=1) * c)\n";

fn sizes(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The scans of `r`'s top level.
fn scans(r: &Region) -> Vec<&Region> {
    r.ops
        .iter()
        .filter_map(|op| match &op.kind {
            OpKind::Scan { body, .. } => Some(body),
            _ => None,
        })
        .collect()
}

/// The top-level ops (not loops) whose result is an array of `rows` rows of
/// more than one element each: what a row loop should have taken.
fn row_arrays_left(f: &Function, sizes: &HashMap<String, i64>, rows: i64) -> Vec<String> {
    f.body
        .ops
        .iter()
        .filter(|op| match &op.kind {
            OpKind::Scan { .. } | OpKind::For { .. } => false,
            // A slice of rows is read in place (a scan's sequence).
            OpKind::Index { plan } => {
                !matches!(plan.first(), Some(rlc_ir::AxisIndex::Slice { .. }))
            }
            _ => true,
        })
        .flat_map(|op| op.results.iter().map(move |v| (op, *v)))
        .filter(|(_, v)| {
            let shape: Vec<i64> = f
                .ty(*v)
                .shape
                .iter()
                .map(|d| d.eval(sizes).expect("size"))
                .collect();
            shape.len() >= 2 && shape[0] == rows
        })
        .map(|(op, v)| format!("{v} = {:?}", op.kind))
        .collect()
}

#[test]
fn the_vectorized_log_softmax_and_its_adjoint_are_one_loop_over_rows() {
    let source = std::fs::read_to_string(model_file("rl_single_pytensor.rlm")).expect("model");
    let (_, ir, grad) = compile_model(&source);
    let t = 50;
    let s = sizes(&[("T", t)]);
    for f in [&ir.log_density, &grad] {
        let fused = rlc_jit::row_loops(f, &s);
        rlc_ir::verify::verify(&fused).unwrap_or_else(|e| panic!("{}: {e:?}", f.name));
        // Before: the logits, the log-softmax, the softmax, the one-hot
        // adjoint of the pick and the rest are [T - 1, 2] arrays of the top level.
        assert!(!row_arrays_left(f, &s, t - 1).is_empty());
        assert_eq!(
            row_arrays_left(&fused, &s, t - 1),
            Vec::<String>::new(),
            "{}",
            f.name
        );
        // One more scan than the model's own (one forward, one backward in the gradient).
        assert_eq!(
            scans(&fused.body).len(),
            scans(&f.body).len() + 1,
            "{}",
            f.name
        );
        let lse_in_a_row_loop = scans(&fused.body).iter().any(|body| {
            body.ops.iter().any(|op| {
                matches!(
                    op.kind,
                    OpKind::Reduce {
                        op: rlc_ir::ReduceOp::LogSumExp,
                        ..
                    }
                )
            })
        });
        assert!(lse_in_a_row_loop, "{}", f.name);
    }
}

#[test]
fn the_pytensor_models_gradient_stores_only_what_its_scans_need() {
    // Per trial: the data (2), the forward scan's two stacked Q tables (4),
    // the adjoint of the Q table that the backward scan reads (2) and the row
    // loop's output it is made of (2). Before row loops: 26 per trial.
    let t = 1000;
    let slots = pytensor_gradient_workspace(t);
    assert!(slots < 11 * t, "workspace of {slots} slots for {t} trials");
}

#[test]
fn every_row_form_agrees_with_the_interpreter() {
    // Random sizes (R from 0 up, so also no rows and one row), data and
    // points: value and gradient against the interpreter and finite
    // differences, and the same bits on 3 threads.
    check_source("choices", CHOICES);
    check_source("blocks", BLOCKS);
    for (source, data_rows) in [(CHOICES, 9), (BLOCKS, 9)] {
        let (_, ir, grad) = compile_model(source);
        let s = sizes(&[("R", data_rows)]);
        for f in [&ir.log_density, &grad] {
            let fused = rlc_jit::row_loops(f, &s);
            rlc_ir::verify::verify(&fused).unwrap_or_else(|e| panic!("{}: {e:?}", f.name));
            assert_eq!(
                row_arrays_left(&fused, &s, data_rows),
                Vec::<String>::new(),
                "{}",
                f.name
            );
        }
    }
}

#[test]
fn long_rows_are_left_to_the_elementwise_fusion() {
    // Rows of 10 elements do not fit in registers: no row loop.
    let source = "size R\ndata z: real[R, 10]\nparam a ~ Normal(0, 1)\n\
                  let y = a * z\ntarget += sum(y - logsumexp(y, axis=1, keepdims=true))\n";
    let (_, ir, grad) = compile_model(source);
    let s = sizes(&[("R", 20)]);
    for f in [&ir.log_density, &grad] {
        assert_eq!(rlc_jit::row_loops(f, &s), *f);
    }
    check_source("long rows", source);
}

#[test]
fn an_index_out_of_range_in_a_row_loop_is_reported_with_its_place() {
    // Without the declared range, which the checker would prove the index
    // within (and the data's loading enforces), so the index is checked.
    let source = CHOICES.replace(" in 0..3", "");
    let (_, ir, _) = compile_model(&source);
    let rows = 6;
    let s = sizes(&[("R", rows)]);
    let z: Vec<f64> = (0..rows * 3).map(|i| 0.1 * i as f64 - 0.5).collect();
    let mut idx = vec![1.0; rows as usize];
    idx[4] = 5.0;
    let data: Data = [("z".to_string(), z), ("idx".to_string(), idx)].into();
    let f = &ir.log_density;
    assert!(scans(&rlc_jit::row_loops(f, &s).body).len() == 1);
    let mut jit_fn = jit(f, &s, &data);
    let mut lp = vec![0.0];
    let error = jit_fn
        .call(&[0.3, 0.1, 0.2, 0.3], &mut [&mut lp])
        .expect_err("the index is out of range");
    let message = error.to_string();
    assert!(message.contains("index 5"), "{message}");
    let interp = rlc_ir::interp::eval(f, &s, &interp_inputs(f, &s, &[0.3, 0.1, 0.2, 0.3], &data))
        .expect_err("the interpreter refuses it too");
    assert!(interp.to_string().contains('5'), "{interp}");
}

#[test]
fn arrays_already_in_registers_are_left_alone() {
    // choice_kernel's scan carries a 2 × 2 matrix: its 4 elements are
    // registers, and a loop over its 2 rows inside every trial would only
    // cost (measured: 16.6 → 21 µs per gradient before this rule).
    let source = std::fs::read_to_string(model_file("choice_kernel.rlm")).expect("model");
    let (_, ir, grad) = compile_model(&source);
    let s = sizes(&[("T", 50)]);
    for f in [&ir.log_density, &grad] {
        assert_eq!(rlc_jit::row_loops(f, &s), *f, "{}", f.name);
    }
}
