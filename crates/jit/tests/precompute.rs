//! Costly work on the data alone is done once, when the data are bound
//! (`precompute`): checked without timing. The tables give the same bits as
//! computing inline, on every bundled and hBayesDM model, and the trial loop
//! of a model whose weights are functions of the data loses those calls.

mod support;

use rlc_ir::{BinaryOp, Function, OpKind, Region, UnaryOp};
use rlc_jit::{JitFunction, JitOptions};
use std::path::PathBuf;
use support::*;

fn all_models() -> Vec<PathBuf> {
    let mut paths = models();
    let dir = workspace().join("models/hbayesdm");
    let mut ported: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("models/hbayesdm")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rlm"))
        .collect();
    ported.sort();
    paths.extend(ported);
    paths
}

fn compile(
    f: &Function,
    sizes: &std::collections::HashMap<String, i64>,
    data: &Data,
    precompute: bool,
) -> JitFunction {
    let options = JitOptions {
        precompute,
        ..JitOptions::default()
    };
    JitFunction::compile_flat_with(f, sizes, &data_slices(f, data), options)
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

/// The costly calls (`log`, `exp`, `pow`, …) in `region`'s loops, at any depth.
fn calls_in_loops(region: &Region, in_loop: bool) -> usize {
    let mut n = 0;
    for op in &region.ops {
        let looping = in_loop || matches!(op.kind, OpKind::For { .. } | OpKind::Scan { .. });
        for r in op.kind.regions() {
            n += calls_in_loops(r, looping);
        }
        let costly = matches!(
            op.kind,
            OpKind::Unary(UnaryOp::Log | UnaryOp::Exp | UnaryOp::Log1p)
                | OpKind::Binary(BinaryOp::Pow)
        );
        if in_loop && costly {
            n += 1;
        }
    }
    n
}

fn attempt(f: &mut JitFunction, theta: &[f64]) -> Result<Vec<Vec<f64>>, String> {
    let mut outs: Vec<Vec<f64>> = f.result_lens().iter().map(|n| vec![0.0; *n]).collect();
    let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    f.call(theta, &mut refs).map_err(|e| e.to_string())?;
    Ok(outs)
}

#[test]
fn tables_give_the_same_bits_as_computing_inline_on_every_model() {
    let mut rng = Rng(20261204);
    let mut with_tables = Vec::new();
    for path in all_models() {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let source = std::fs::read_to_string(&path).expect("model file");
        let (model, ir, grad) = compile_model(&source);
        let (sizes, data) = generate_data(&model, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        for f in [&ir.log_density, &grad] {
            if rlc_jit::with_tables(f, &sizes, &data_slices(f, &data)).is_some()
                && f.name == grad.name
            {
                with_tables.push(name.clone());
            }
            let mut inline = compile(f, &sizes, &data, false);
            let mut tabled = compile(f, &sizes, &data, true);
            for _ in 0..3 {
                let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.5, 1.5)).collect();
                let what = format!("{name} ({})", f.name);
                let (a, b) = (attempt(&mut inline, &theta), attempt(&mut tabled, &theta));
                match (a, b) {
                    (Ok(a), Ok(b)) => assert_same_bits(&what, &a, &b),
                    (Err(a), Err(b)) => assert_eq!(a, b, "{what}: the same error"),
                    (a, b) => panic!("{what}: inline {a:?}, with tables {b:?}"),
                }
            }
        }
    }
    println!(
        "{} models read tables: {}",
        with_tables.len(),
        with_tables.join(", ")
    );
    for expected in ["dbdm_prob_weight", "ra_prospect", "igt_pvl_delta"] {
        assert!(
            with_tables.iter().any(|m| m == expected),
            "{expected} reads no table"
        );
    }
}

#[test]
fn the_probability_weights_of_a_gamble_are_computed_once() {
    let path = workspace().join("models/hbayesdm/dbdm_prob_weight.rlm");
    let source = std::fs::read_to_string(path).expect("model file");
    let (model, _, grad) = compile_model(&source);
    let (sizes, data) = generate_data(&model, &mut Rng(7));
    let (rewritten, tables) =
        rlc_jit::with_tables(&grad, &sizes, &data_slices(&grad, &data)).expect("tables");
    let before = calls_in_loops(&grad.body, false);
    let after = calls_in_loops(&rewritten.body, false);
    // Each trial's `log(p)`, `log(1 - p)` of both options, the `log(-log(p))`
    // that `pow(-log(p), tau)`'s derivative reads, and `log(|x|)` of the
    // four payoffs for `pow(|x|, rho)`'s.
    assert!(
        after + 12 <= before,
        "calls in loops: {before} before, {after} after, {} tables",
        tables.len()
    );
    let cells = (sizes["N"] * sizes["T"]) as usize;
    let per_cell = tables.iter().filter(|n| **n == cells).count();
    assert!(per_cell >= 12, "tables of one value per cell: {tables:?}");
}
