//! Subjects two at a time in SIMD lanes (`JitOptions::lanes`): which loops
//! get lane code, and that it agrees with the scalar code (to the last bits
//! its vector `exp` and `log` leave), and gives the same bits on any number
//! of threads, with an odd
//! number of subjects, ragged subjects, subjects with no trials, missing
//! trials (an `if` whose lanes go different ways) and index errors in
//! either lane. (Every bundled and random model is also compared with its
//! scalar code by `support::check_source`.)

mod support;

use rlc_jit::{JitFunction, JitOptions, RuntimeError};
use support::*;

fn source(name: &str) -> String {
    std::fs::read_to_string(model_file(name)).expect("model file")
}

fn lanes(f: &rlc_ir::Function, sizes: &Sizes, data: &Data) -> JitFunction {
    jit_lanes(f, sizes, data, 1)
}

type Sizes = std::collections::HashMap<String, i64>;

/// A subject, a trial and the index written there.
type BadCell = (usize, usize, f64);

/// rl_hier's data for `n` subjects of up to `t` trials: subject `s` has
/// `t - s % 3` trials, every fifth trial is a missed response, and subject
/// `empty` (if any) has none.
fn hier_data(n: usize, t: usize, empty: Option<usize>, rng: &mut Rng) -> (Sizes, Data) {
    let mut choice = Vec::new();
    let mut outcome = Vec::new();
    for s in 0..n {
        let trials = if empty == Some(s) { 0 } else { t - s % 3 };
        for k in 0..t {
            let missed = (k + s) % 5 == 4;
            if k < trials && !missed {
                choice.push(1.0 + (rng.unit() < 0.5) as i32 as f64);
                outcome.push(if rng.unit() < 0.6 { 1.0 } else { -1.0 });
            } else {
                choice.push(f64::NAN);
                outcome.push(f64::NAN);
            }
        }
    }
    let sizes = [("N".to_string(), n as i64), ("T".to_string(), t as i64)].into();
    let data = [
        ("choice".to_string(), choice),
        ("outcome".to_string(), outcome),
    ]
    .into();
    (sizes, data)
}

#[test]
fn the_loop_over_subjects_runs_in_lanes() {
    let (_, ir, grad) = compile_model(&source("rl_hier.rlm"));
    let mut rng = Rng(3);
    let (sizes, data) = hier_data(5, 8, None, &mut rng);
    assert_eq!(lanes(&grad, &sizes, &data).lane_loops(), 1);
    assert_eq!(lanes(&ir.log_density, &sizes, &data).lane_loops(), 1);
    assert_eq!(jit_lanes(&grad, &sizes, &data, 2).lane_loops(), 1);
    // Off (the default), or without a loop over subjects: none.
    assert_eq!(jit(&grad, &sizes, &data).lane_loops(), 0);
    assert_eq!(jit_threads(&grad, &sizes, &data, 2).lane_loops(), 0);
    let (single_model, _, single) = compile_model(&source("rl_single.rlm"));
    let (s_sizes, s_data) = generate_data(&single_model, &mut rng);
    assert_eq!(lanes(&single, &s_sizes, &s_data).lane_loops(), 0);
}

#[test]
fn lanes_agree_with_the_scalar_code_and_give_the_same_bits_on_any_threads() {
    let (_, ir, grad) = compile_model(&source("rl_hier.rlm"));
    let mut rng = Rng(17);
    for (n, empty) in [
        (1, None),
        (2, Some(1)),
        (3, None),
        (7, Some(0)),
        (12, Some(11)),
    ] {
        let (sizes, data) = hier_data(n, 11, empty, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let mut scalar = jit(&grad, &sizes, &data);
        let mut scalar_lp = jit(&ir.log_density, &sizes, &data);
        let mut lane = lanes(&grad, &sizes, &data);
        let mut lane_lp = lanes(&ir.log_density, &sizes, &data);
        let mut lane_threads = jit_lanes(&grad, &sizes, &data, 3);
        // (One subject is no loop worth outlining.)
        assert_eq!(lane.lane_loops(), usize::from(n >= 2));
        for _ in 0..4 {
            let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let what = format!("{n} subjects in lanes");
            let expected = run(&mut scalar, &theta);
            let in_lanes = run(&mut lane, &theta);
            assert_lanes_agree(&what, &in_lanes, &expected);
            assert_same_bits(&what, &run(&mut lane_threads, &theta), &in_lanes);
            assert_lanes_agree(
                &what,
                &run(&mut lane_lp, &theta),
                &run(&mut scalar_lp, &theta),
            );
            assert_matches_interpreter(&what, &in_lanes, &interpret(&grad, &sizes, &theta, &data));
        }
    }
}

fn call(f: &mut JitFunction, theta: &[f64]) -> Result<Vec<Vec<f64>>, RuntimeError> {
    let mut outs: Vec<Vec<f64>> = f.result_lens().iter().map(|n| vec![0.0; *n]).collect();
    let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    f.call(theta, &mut refs)?;
    Ok(outs)
}

#[test]
fn an_index_error_in_either_lane_is_reported_as_without_lanes() {
    // A Q table indexed by the data, in a branch taken where the trial is
    // present: an index out of range is an error only where it is taken.
    let src = "size N\nsize T\ndata k: int?[N, T]\nparam mu ~ Normal(0, 1)\n\
               param a: real[N] ~ Normal(mu, 1)\n\
               for n in 0..N {\n  scan (q = [0.0, 0.0]; j in k[n]) {\n    \
               if present(j) {\n      target += -(q[j] - a[n]) ^ 2\n      \
               set_subtensor(q[j], q[j] + a[n])\n    } else {\n      q\n    }\n  }\n}\n";
    let (model, diagnostics) = rlc_check::compile(src);
    assert!(model.is_some(), "{diagnostics:?}");
    let (_, ir, grad) = compile_model(src);
    let (n, t) = (5, 4);
    let sizes: Sizes = [("N".to_string(), n as i64), ("T".to_string(), t as i64)].into();
    let theta = vec![0.3; 1 + n];
    // (what, [(subject, trial, bad index)])
    let cases: Vec<(&str, Vec<BadCell>)> = vec![
        ("in lane 1 of the first pair", vec![(1, 2, 5.0)]),
        ("in lane 0 of the second pair", vec![(2, 1, -1.0)]),
        ("in the odd last subject", vec![(4, 3, 0.5)]),
        // Two subjects of a pair: the first subject's error, at its later trial.
        ("in both lanes", vec![(2, 3, 7.0), (3, 0, 9.0)]),
        // Not an error: a missing trial's branch is not taken.
        ("nowhere", vec![]),
    ];
    for (what, bad) in cases {
        let mut k = vec![1.0; n * t];
        for (s, trial, x) in &bad {
            k[s * t + trial] = *x;
        }
        // Missing trials beside the bad ones (other lanes skip the branch).
        k[t + 3] = f64::NAN;
        k[3 * t + 1] = f64::NAN;
        let data: Data = [("k".to_string(), k)].into();
        for f in [&ir.log_density, &grad] {
            let mut scalar = jit(f, &sizes, &data);
            let mut lane = lanes(f, &sizes, &data);
            assert_eq!(lane.lane_loops(), 1, "{what}");
            let expected = call(&mut scalar, &theta);
            assert_eq!(expected.is_err(), !bad.is_empty(), "{what}: {expected:?}");
            match (call(&mut lane, &theta), expected) {
                (Ok(a), Ok(b)) => assert_lanes_agree(what, &a, &b),
                (a, b) => assert_eq!(a, b, "{what}"),
            }
            // The function is still usable after an error.
            let _ = call(&mut lane, &theta);
        }
    }
}

#[test]
fn lanes_are_off_by_default() {
    assert!(!JitOptions::default().lanes);
}
