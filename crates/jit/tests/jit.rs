//! The JIT against the reference interpreter: every example model on small
//! generated data at random points (log density and gradient functions),
//! the reference data sets, and runtime index errors.

mod support;

use rlc_jit::RuntimeError;
use std::collections::HashMap;
use std::path::Path;
use support::*;

fn check_model(path: &Path) {
    let source = std::fs::read_to_string(path).expect("UTF-8");
    check_source(&path.display().to_string(), &source);
}

/// A model on reference data: the JIT equals the interpreter at several
/// points, and its gradient equals Stan's at Stan's points.
fn check_reference(model: &str, data: &str, stan_points: &str) {
    let source = std::fs::read_to_string(model_file(model)).expect("model");
    let (_, ir, grad) = compile_model(&source);
    let (sizes, data) = load_json(&data_file(data));
    let dim = ir.dim.eval(&sizes).expect("dim") as usize;
    let mut lp_fn = jit(&ir.log_density, &sizes, &data);
    let mut grad_fn = jit(&grad, &sizes, &data);
    let mut rng = Rng(42);
    for _ in 0..3 {
        let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let lp = run(&mut lp_fn, &theta);
        assert_matches_interpreter(
            model,
            &lp,
            &interpret(&ir.log_density, &sizes, &theta, &data),
        );
        let g = run(&mut grad_fn, &theta);
        assert_matches_interpreter(model, &g, &interpret(&grad, &sizes, &theta, &data));
    }
    let text = std::fs::read_to_string(data_file(stan_points)).expect("points");
    let points: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    };
    for p in points["points"].as_array().expect("points") {
        let theta = floats(&p["x"]);
        let g = run(&mut grad_fn, &theta);
        for (i, (ours, stan)) in g[1].iter().zip(floats(&p["grad"])).enumerate() {
            assert!(
                (ours - stan).abs() <= 1e-8 * (1.0 + stan.abs()),
                "{model}: coordinate {i} at {theta:?}: {ours} vs Stan's {stan}"
            );
        }
    }
}

#[test]
fn rl_single_on_reference_data() {
    check_reference(
        "rl_single.rlm",
        "rl_single_150.json",
        "rl_single_150_stan_points.json",
    );
}

#[test]
fn rl_hier_on_reference_data() {
    check_reference(
        "rl_hier.rlm",
        "rl_hier_20x100.json",
        "rl_hier_20x100_stan_points.json",
    );
}

#[test]
fn jit_matches_interpreter_and_finite_differences_on_every_model() {
    for path in models() {
        check_model(&path);
    }
}

#[test]
fn out_of_range_data_index_is_a_runtime_error() {
    let source =
        "size T\nsize K\ndata k: int[T]\nparam w: real[K] ~ Normal(0, 1)\ntarget += sum(w[k])\n";
    let (_, ir, grad) = compile_model(source);
    let sizes = HashMap::from([("T".to_string(), 4), ("K".to_string(), 3)]);
    let data = HashMap::from([("k".to_string(), vec![0.0, 2.0, 5.0, 1.0])]);
    for f in [&ir.log_density, &grad] {
        let mut j = jit(f, &sizes, &data);
        let mut outs: Vec<Vec<f64>> = j.result_lens().iter().map(|n| vec![0.0; *n]).collect();
        let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
        let err = j
            .call(&[0.1, 0.2, 0.3], &mut refs)
            .expect_err("index 5 is out of range");
        match err {
            RuntimeError::IndexOutOfRange { index, len, .. } => {
                assert_eq!((index, len), (5.0, 3), "{err}");
            }
            e => panic!("unexpected error {e}"),
        }
    }
}

/// `exp(a - broadcast(logsumexp(a, axis = last)))` of `a = theta` reshaped to
/// `shape` (a vector, or a matrix of rows), returning the softmax and, if
/// `with_lse`, the log-sum-exp too: the JIT makes the softmax from the
/// log-sum-exp's own `exp`s (row by row for a matrix), whether or not the
/// log-sum-exp itself is used. Both agree with the interpreter, non-finite
/// logits included.
fn softmax_function(shape: &[i64], with_lse: bool) -> rlc_ir::Function {
    use rlc_ir::*;
    let mut f = Function::new("softmax");
    let dims: Vec<Dim> = shape.iter().map(|n| Dim::constant(*n)).collect();
    let lse_dims = dims[..dims.len() - 1].to_vec();
    let mut kept = lse_dims.clone();
    kept.push(Dim::constant(1));
    let theta = f.new_value(TensorType::real(vec![Dim::constant(
        shape.iter().product(),
    )]));
    let a = f.new_value(TensorType::real(dims.clone()));
    let lse = f.new_value(TensorType::real(lse_dims));
    let lse1 = f.new_value(TensorType::real(kept));
    let wide = f.new_value(TensorType::real(dims.clone()));
    let shifted = f.new_value(TensorType::real(dims.clone()));
    let p = f.new_value(TensorType::real(dims));
    let op = |kind, args, results| Op {
        kind,
        args,
        results,
    };
    f.inputs = vec![Input::Theta];
    f.body = Region {
        args: vec![theta],
        ops: vec![
            op(
                OpKind::ThetaSlice {
                    offset: Dim::constant(0),
                },
                vec![theta],
                vec![a],
            ),
            op(
                OpKind::Reduce {
                    op: ReduceOp::LogSumExp,
                    axis: Some(shape.len() - 1),
                },
                vec![a],
                vec![lse],
            ),
            op(OpKind::Reshape, vec![lse], vec![lse1]),
            op(OpKind::BroadcastTo, vec![lse1], vec![wide]),
            op(OpKind::Binary(BinaryOp::Sub), vec![a, wide], vec![shifted]),
            op(OpKind::Unary(UnaryOp::Exp), vec![shifted], vec![p]),
        ],
        results: if with_lse { vec![p, lse] } else { vec![p] },
    };
    f
}

#[test]
fn short_softmax_matches_interpreter_with_or_without_its_log_sum_exp() {
    let pairs = [
        [0.3, -1.2],
        [-700.0, 40.0],
        [5.0, 5.0],
        [f64::INFINITY, 0.0],
        [f64::NEG_INFINITY, f64::NEG_INFINITY],
        [f64::NAN, 1.0],
        [1e308, -1e308],
    ];
    let mut points: Vec<Vec<f64>> = pairs.iter().map(|p| p.to_vec()).collect();
    // (Not 1e308 twice in one vector: lse = 1e308 + log 2 rounds to 1e308,
    // and the interpreter's exp(a - lse) gives 1 twice; the JIT, 1/2.)
    for p in pairs.iter().filter(|p| p[0] != 1e308) {
        points.push(vec![p[0], 0.25, p[1], -3.0]);
        points.push(vec![p[1], p[0], 2.0, 2.0, -1.0, 0.5, p[0], 7.0]);
    }
    for (n, with_lse) in [2, 4, 8].into_iter().flat_map(|n| [(n, false), (n, true)]) {
        let f = softmax_function(&[n], with_lse);
        rlc_ir::verify::verify(&f).expect("valid IR");
        let sizes = HashMap::new();
        let mut j = jit(&f, &sizes, &HashMap::new());
        for theta in points.iter().filter(|p| p.len() == n as usize) {
            let got = run(&mut j, theta);
            let want = interpret(&f, &sizes, theta, &HashMap::new());
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!(
                    // The interpreter's `exp(a - lse)` is off by about
                    // |lse| ulps (the rounding of lse, magnified); the
                    // JIT's quotient is within a few.
                    (g.is_nan() && w.is_nan()) || close(*g, *w, 1e-13),
                    "theta {theta:?} (log-sum-exp returned: {with_lse}): JIT {got:?}, interpreter {want:?}"
                );
            }
        }
    }
}

/// A scan with no results, kept (by dead-code elimination) only because
/// its body checks a data index: the JIT runs it and reports a bad index.
#[test]
fn a_loop_without_results_still_checks_its_indices() {
    use rlc_ir::*;
    let mut f = Function::new("checks");
    let theta = f.new_value(TensorType::real(vec![Dim::constant(1)]));
    let k = f.new_value(TensorType::new(Elem::Int, vec![Dim::constant(3)]));
    let zero = f.new_value(TensorType::scalar(Elem::Real));
    let w = f.new_value(TensorType::real(vec![Dim::constant(2)]));
    let (ki, wc, picked) = (
        f.new_value(TensorType::scalar(Elem::Int)),
        f.new_value(TensorType::real(vec![Dim::constant(2)])),
        f.new_value(TensorType::scalar(Elem::Real)),
    );
    let op = |kind, args, results| Op {
        kind,
        args,
        results,
    };
    let body = Region {
        args: vec![ki, wc],
        ops: vec![op(
            OpKind::Index {
                plan: vec![AxisIndex::Scalar {
                    constant: None,
                    needs_bounds_check: true,
                }],
            },
            vec![wc, ki],
            vec![picked],
        )],
        results: vec![],
    };
    f.inputs = vec![Input::Theta, Input::Data("k".into())];
    f.body = Region {
        args: vec![theta, k],
        ops: vec![
            op(OpKind::Const(0.0), vec![], vec![zero]),
            op(OpKind::Fill, vec![zero], vec![w]),
            op(
                OpKind::Scan {
                    body,
                    carries: 0,
                    sequences: 1,
                    reverse: false,
                },
                vec![k, w],
                vec![],
            ),
        ],
        results: vec![zero],
    };
    rlc_ir::verify::verify(&f).expect("valid IR");
    let sizes = HashMap::new();
    for (k, ok) in [(vec![0.0, 1.0, 1.0], true), (vec![0.0, 2.0, 1.0], false)] {
        let data = HashMap::from([("k".to_string(), k)]);
        let mut j = jit(&f, &sizes, &data);
        let mut out = [0.0];
        let result = j.call(&[0.5], &mut [&mut out]);
        assert_eq!(result.is_ok(), ok, "{result:?}");
    }
}

#[test]
fn row_softmax_matches_interpreter() {
    let rows = [
        [0.3, -1.2, 2.0, 0.0],
        [-700.0, 40.0, 1.0, 1.0],
        [f64::INFINITY, 0.0, 1.0, 2.0],
        [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        [f64::NAN, 1.0, 0.5, 0.25],
        [5.0, 5.0, 5.0, 5.0],
    ];
    for k in [2usize, 3, 4] {
        // Two matrices of three rows each, so that every row kind is met.
        for chunk in rows.chunks(3) {
            let theta: Vec<f64> = chunk.iter().flat_map(|r| r[..k].to_vec()).collect();
            let f = softmax_function(&[3, k as i64], true);
            rlc_ir::verify::verify(&f).expect("valid IR");
            let sizes = HashMap::new();
            let mut j = jit(&f, &sizes, &HashMap::new());
            let got = run(&mut j, &theta);
            let want = interpret(&f, &sizes, &theta, &HashMap::new());
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!(
                    (g.is_nan() && w.is_nan()) || close(*g, *w, 1e-13),
                    "k = {k}, theta {theta:?}: JIT {got:?}, interpreter {want:?}"
                );
            }
        }
    }
}

/// Every buffer past 2 GiB of workspace (the 8.6-million-trial
/// `rl_single_pytensor` needed that much): no address computation wraps.
/// The padding before the buffers is never touched, so it costs no memory.
#[test]
fn addresses_past_two_gib_do_not_wrap() {
    let source = std::fs::read_to_string(model_file("rl_single_pytensor.rlm")).expect("model");
    let (_, ir, grad) = compile_model(&source);
    let (sizes, data) = load_json(&data_file("rl_single_150.json"));
    let dim = ir.dim.eval(&sizes).expect("dim") as usize;
    let padding = (1usize << 31) / 8 + 12_345;
    for f in [&ir.log_density, &grad] {
        let slices = data_slices(f, &data);
        let mut far =
            rlc_jit::JitFunction::compile_padded(f, &sizes, &slices, padding, Default::default())
                .expect("compiles");
        let mut rng = Rng(3);
        let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let got = run(&mut far, &theta);
        assert_matches_interpreter(
            "rl_single_pytensor past 2 GiB",
            &got,
            &interpret(f, &sizes, &theta, &data),
        );
    }
}

/// Subject 0 scores no trial and has `x[0] = 0`; subject 1 scores y = 1 and y = 2 with
/// `x[1] = 2`, under `y ~ Normal(log(exp(b) * x[n]), 1)` and `b ~ Normal(0, 1)`. `log(exp(b)
/// * x[n])` is invariant in the trial loop, and `log`'s derivative is infinite at subject
/// 0's value: evaluated there, its zero adjoint times that derivative would make the
/// gradient NaN. Checks the log density and gradient at `b = 0.3`.
fn check_log_of_a_subject_without_trials(
    source: &str,
    sizes: &[(&str, i64)],
    data: &[(&str, Vec<f64>)],
) {
    let (_, ir, grad) = compile_model(source);
    let sizes: HashMap<String, i64> = sizes.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let data: HashMap<String, Vec<f64>> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let b = 0.3_f64;
    let mean = b + 2.0_f64.ln();
    let expected = -b + (1.0 - mean) + (2.0 - mean);
    let out = run(&mut jit(&grad, &sizes, &data), &[b]);
    assert!(out[0][0].is_finite(), "{out:?}");
    assert!(
        close(out[1][0], expected, 1e-12),
        "{out:?} against {expected}"
    );
    assert!(run(&mut jit(&ir.log_density, &sizes, &data), &[b])[0][0].is_finite());
}

#[test]
fn a_value_hoisted_out_of_a_branch_not_taken_keeps_the_gradient_finite() {
    // Subject 0's trials all have `c == 0`: the branch never runs for it.
    check_log_of_a_subject_without_trials(
        "size N\nsize T\ndata x: real[N]\ndata c: int[N, T]\ndata y: real[N, T]\n\
         param b: real ~ Normal(0, 1)\n\
         for n in 0..N {\n  for t in 0..T {\n    if c[n, t] == 1 {\n      \
         y[n, t] ~ Normal(log(exp(b) * x[n]), 1)\n    }\n  }\n}\n",
        &[("N", 2), ("T", 3)],
        &[
            ("x", vec![0.0, 2.0]),
            ("c", vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
            ("y", vec![5.0, 5.0, 5.0, 1.0, 2.0, 9.0]),
        ],
    );
}

#[test]
fn a_value_hoisted_out_of_a_loop_without_iterations_keeps_the_gradient_finite() {
    // Subject 0's trial loop, `0..T[0]`, is empty.
    check_log_of_a_subject_without_trials(
        "size N\nsize K\ndata T: int[N] in 0..4\ndata x: real[N]\ndata y: real[N, K]\n\
         param b: real ~ Normal(0, 1)\n\
         for n in 0..N {\n  for t in 0..T[n] {\n    \
         y[n, t] ~ Normal(log(exp(b) * x[n]), 1)\n  }\n}\n",
        &[("N", 2), ("K", 3)],
        &[
            ("T", vec![0.0, 2.0]),
            ("x", vec![0.0, 2.0]),
            ("y", vec![5.0, 5.0, 5.0, 1.0, 2.0, 9.0]),
        ],
    );
}

/// Counts the indexing ops of `region` (at any depth) whose scalar index
/// the checker proved in range (no bounds check) and those it did not.
fn scalar_index_checks(region: &rlc_ir::Region) -> (usize, usize) {
    let (mut trusted, mut checked) = (0, 0);
    for op in &region.ops {
        if let rlc_ir::OpKind::Index { plan } = &op.kind {
            for axis in plan {
                if let rlc_ir::AxisIndex::Scalar {
                    constant: None,
                    needs_bounds_check,
                } = axis
                {
                    if *needs_bounds_check {
                        checked += 1;
                    } else {
                        trusted += 1;
                    }
                }
            }
        }
        for nested in op.kind.regions() {
            let (t, c) = scalar_index_checks(nested);
            trusted += t;
            checked += c;
        }
    }
    (trusted, checked)
}

#[test]
fn a_choice_declared_among_the_options_is_taken_without_a_check() {
    // `choice in 1..3`, less 1, indexes 2 logits: the checker proves it in
    // range (the data's loading enforces the declaration), so the
    // Categorical's pick is not checked at every trial; without the
    // declared range it is.
    let model = |range: &str| {
        format!(
            "size T\ndata choice: int[T]{range}\nparam beta ~ HalfNormal(5)\n\
             scan (q = [0.0, 0.0]; c in choice) {{\n\
               let k = c - 1\n\
               k ~ Categorical(logits = beta * q)\n\
               set_subtensor(q[k], q[k] + 0.5 * (1.0 - q[k]))\n\
             }}\n"
        )
    };
    let (_, ir, _) = compile_model(&model(" in 1..3"));
    assert_eq!(scalar_index_checks(&ir.log_density.body).1, 0);
    let (_, ir, _) = compile_model(&model(""));
    assert!(scalar_index_checks(&ir.log_density.body).1 > 0);
    check_source("declared choice", &model(" in 1..3"));
}

#[test]
fn an_index_hoisted_past_its_presence_test_is_harmless_when_missing() {
    // `mu[k]` is invariant in the scan, so it leaves both the scan and the
    // `if present(k)` around it; where `k` is missing it runs on NaN, and
    // nothing uses it. That must not fail as an index out of range (it did,
    // in the JIT and the interpreter alike, before proven indices were
    // trusted), and must not read outside `mu`.
    let source = "size T\ndata first: int?[1] in 0..2\ndata y: real[T]\n\
                  param mu: real[2] ~ Normal(0, 1)\nlet k = first[0]\n\
                  scan (acc = 0.0; yt in y) {\n\
                    if present(k) {\n      yt ~ Normal(mu[k], 1)\n      acc\n\
                    } else {\n      acc\n    }\n}\n";
    let (_, _, grad) = compile_model(source);
    let hoisted = grad.body.ops.iter().any(|op| {
        matches!(&op.kind, rlc_ir::OpKind::Index { plan } if plan.iter().any(|a| matches!(
            a,
            rlc_ir::AxisIndex::Scalar { constant: None, needs_bounds_check: false }
        )))
    });
    assert!(
        hoisted,
        "mu[k] is no longer hoisted: this test tests nothing"
    );
    let sizes: HashMap<String, i64> = [("T".to_string(), 3)].into();
    let theta = [0.1, -0.4];
    for (first, want) in [(f64::NAN, None), (1.0, Some(1usize))] {
        let data: Data = [
            ("first".to_string(), vec![first]),
            ("y".to_string(), vec![0.5, 1.5, -0.25]),
        ]
        .into();
        let got = run(&mut jit(&grad, &sizes, &data), &theta);
        let interp = interpret(&grad, &sizes, &theta, &data);
        assert_matches_interpreter("hoisted index", &got, &interp);
        // The prior's gradient is -mu; observed through mu[k], sum(y - mu[k]).
        let mut expected = vec![-theta[0], -theta[1]];
        if let Some(k) = want {
            expected[k] += 0.5 + 1.5 - 0.25 - 3.0 * theta[k];
        }
        let gradient = got.last().expect("gradient");
        for (g, e) in gradient.iter().zip(&expected) {
            assert!(
                close(*g, *e, 1e-12),
                "first {first}: {gradient:?} against {expected:?}"
            );
        }
    }
}

#[test]
fn a_trial_split_on_its_choices_matches_the_interpreter() {
    // A two-stage trial: the state (2 values) and the choice (3 options)
    // index a Q table held in registers; the rest of the trial is emitted
    // once per state and, inside, once per choice (6 copies), and a 4-option
    // trial once per option. Missed trials take the other branch.
    let source = "size T\n\
        data state: int?[T] in 0..2\ndata choice: int?[T] in 0..3\ndata pick: int[T] in 0..4\n\
        data reward: real[T]\n\
        param alpha ~ Beta(2, 2)\nparam beta ~ HalfNormal(3)\n\
        scan (q = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]; s in state, c in choice, r in reward) {\n\
          if present(s) && present(c) {\n\
            c ~ Categorical(logits = beta * q[s])\n\
            set_subtensor(q[s, c], q[s, c] + alpha * (r - q[s, c]))\n\
          } else {\n\
            q\n\
          }\n\
        }\n\
        scan (w = [0.0, 0.0, 0.0, 0.0]; p in pick, r in reward) {\n\
          p ~ Categorical(logits = beta * w)\n\
          set_subtensor(w[p], w[p] + alpha * (r - w[p]))\n\
        }\n";
    check_source("split trial", source);
}

#[test]
fn an_element_tested_where_it_is_used_is_the_element_bound_to_a_name() {
    // `if present(choice[n, t]) { choice[n, t] ~ … }` (the element narrowed
    // where it is used) and `let c = choice[n, t]; if present(c) { c ~ … }`
    // are one model: the same log density and gradient, bit for bit, on
    // data with missing cells.
    let model = |direct: bool| {
        let (bind, c, r) = if direct {
            ("", "choice[n, t]", "rt[n, t]")
        } else {
            (
                "      let c = choice[n, t]\n      let r = rt[n, t]\n",
                "c",
                "r",
            )
        };
        format!(
            "size N\nsize T\ndata choice: int?[N, T] in 0..2\ndata rt: real?[N, T] in (0, inf)\n\
             param mu: real[2] ~ Normal(0, 1)\nparam sigma ~ HalfNormal(1)\n\
             for n in 0..N {{\n  for t in 0..T {{\n{bind}\
                   if present({c}) && present({r}) && {r} > 0.1 {{\n\
                     {c} ~ Bernoulli(logistic(mu[0]))\n\
                     {r} ~ LogNormal(mu[{c}], sigma)\n\
                   }}\n  }}\n}}\n"
        )
    };
    let (direct_model, direct_ir, direct_grad) = compile_model(&model(true));
    let (_, bound_ir, bound_grad) = compile_model(&model(false));
    let mut rng = Rng(17);
    for _ in 0..3 {
        let (sizes, data) = generate_data(&direct_model, &mut rng);
        assert!(
            data["choice"].iter().any(|v| v.is_nan()),
            "the data have no missing cell: this test tests less than it says"
        );
        let dim = direct_ir.dim.eval(&sizes).expect("dim") as usize;
        assert_eq!(dim, bound_ir.dim.eval(&sizes).expect("dim") as usize);
        let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let direct = run(&mut jit(&direct_grad, &sizes, &data), &theta);
        let bound = run(&mut jit(&bound_grad, &sizes, &data), &theta);
        assert_same_bits("element tested where used", &direct, &bound);
    }
    check_source("element tested where used", &model(true));
}

#[test]
fn the_right_side_of_and_or_is_read_only_where_it_decides() {
    // `k` has no declared range, so `q[k]` is checked; where `k` is missing
    // the right sides of `present(kt) && …` and `!present(kt) || …` must not
    // be read (they used to be, and failed with "index NaN is out of
    // range"). A present index out of range still fails.
    let source = |range: &str| {
        format!(
            "size T\ndata k: int?[T]{range}\ndata y: real[T]\n\
             param q: real[2] ~ Normal(0, 1)\n\
             for t in 0..T {{\n  let kt = k[t]\n\
               if present(kt) && q[kt] > -5 {{\n    y[t] ~ Normal(q[kt], 1)\n  }}\n\
               if !present(kt) || q[kt] > 5 {{\n    y[t] ~ Normal(0, 1)\n  }} else {{\n\
                 y[t] ~ Normal(q[kt], 2)\n  }}\n}}\n"
        )
    };
    let (_, ir, grad) = compile_model(&source(""));
    let (_, ranged_ir, ranged_grad) = compile_model(&source(" in 0..2"));
    let sizes: HashMap<String, i64> = [("T".to_string(), 4)].into();
    let data: Data = [
        ("k".to_string(), vec![0.0, f64::NAN, 1.0, f64::NAN]),
        ("y".to_string(), vec![1.0, 0.5, -0.3, 2.0]),
    ]
    .into();
    let theta = [0.25, -0.5];
    for (f, ranged) in [
        (&ir.log_density, &ranged_ir.log_density),
        (&grad, &ranged_grad),
    ] {
        let got = run_checked("short circuit", f, &sizes, &data, &theta);
        // The same model with the range declared evaluates both sides.
        let eager = run(&mut jit(ranged, &sizes, &data), &theta);
        for (a, b) in got.iter().flatten().zip(eager.iter().flatten()) {
            assert!(close(*a, *b, 1e-14), "{got:?} against {eager:?}");
        }
    }
    // Threads and SIMD lanes agree; the gradient matches finite differences.
    let g = run(&mut jit(&grad, &sizes, &data), &theta);
    assert_same_bits(
        "short circuit",
        &run(&mut jit_threads(&grad, &sizes, &data, 3), &theta),
        &g,
    );
    assert_lanes_agree(
        "short circuit",
        &run(&mut jit_lanes(&grad, &sizes, &data, 1), &theta),
        &g,
    );
    let mut lp_fn = jit(&ir.log_density, &sizes, &data);
    let mut f = |t: &[f64]| run(&mut lp_fn, t)[0][0];
    if let Some((i, g, fd)) = rlc_testkit::finite_difference_mismatch(&mut f, &theta, &g[1]) {
        panic!("coordinate {i}: jit gradient {g} vs finite difference {fd}");
    }
    let mut bad = data.clone();
    bad.insert("k".to_string(), vec![0.0, f64::NAN, 2.0, 1.0]);
    let mut j = jit(&grad, &sizes, &bad);
    let mut outs: Vec<Vec<f64>> = j.result_lens().iter().map(|n| vec![0.0; *n]).collect();
    let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    match j.call(&theta, &mut refs) {
        Err(RuntimeError::IndexOutOfRange { index, len, .. }) => assert_eq!((index, len), (2.0, 2)),
        other => panic!("expected index 2 out of range, got {other:?}"),
    }
}

#[test]
fn an_elementwise_and_whose_right_side_is_checked_stays_elementwise() {
    // `present(kt) && q[j] > -1` is a bool array (the scalar broadcasts):
    // it is evaluated on both sides, elementwise, not as a branch (which
    // would have one result where the array has two; Cranelift rejected it).
    let source = "size T\ndata k: int?[T]\ndata j: int[2]\n\
                  param q: real[2] ~ Normal(0, 1)\n\
                  for t in 0..T {\n  let kt = k[t]\n  let m = present(kt) && q[j] > -1\n\
                    target += sum(where(m, -0.5 * q ^ 2, 0.0))\n}\n";
    let (_, ir, grad) = compile_model(source);
    let sizes: HashMap<String, i64> = [("T".to_string(), 4)].into();
    let data: Data = [
        ("k".to_string(), vec![0.0, f64::NAN, 1.0, f64::NAN]),
        ("j".to_string(), vec![1.0, 0.0]),
    ]
    .into();
    let theta = [0.25, -1.5];
    for f in [&ir.log_density, &grad] {
        run_checked("elementwise and", f, &sizes, &data, &theta);
    }
    // Two present trials; q[j] = [-1.5, 0.25] passes `> -1` in its second
    // element only, which adds -0.5 q[1]^2 = -1.125 per trial to the prior.
    let lp = run(&mut jit(&ir.log_density, &sizes, &data), &theta)[0][0];
    let (_, prior_ir, _) = compile_model("param q: real[2] ~ Normal(0, 1)\n");
    let no_data = HashMap::new();
    let prior = run(
        &mut jit(&prior_ir.log_density, &no_data, &Data::new()),
        &theta,
    )[0][0];
    assert!(close(lp - prior, -2.25, 1e-12), "lp {lp}, prior {prior}");
}

#[test]
fn an_index_proven_by_a_comparison_matches_the_interpreter_and_is_not_checked() {
    // `if t > 0 { choice[t - 1] }`: the checker narrows `t` to `1..T` there,
    // so the previous trial's choice needs no check; likewise `c0 - 1` under
    // `if c0 > 0`, which is loop-invariant and may be hoisted out of its
    // `if` and then run at `c0 = 0` (-1: any element, its result unused).
    let source = "size T\ndata first: int[1] in 0..3\ndata choice: int[T] in 0..2\n\
                  data reward: real[T]\n\
                  param alpha ~ Beta(2, 2)\nparam beta ~ HalfNormal(3)\nparam kappa ~ Normal(0, 1)\n\
                  param q0: real[2] ~ Normal(0, 1)\nlet c0 = first[0]\n\
                  for t in 0..T {\n  if c0 > 0 {\n    reward[t] ~ Normal(q0[c0 - 1], 1)\n  }\n}\n\
                  scan (q = [0.0, 0.0]; c in choice, r in reward, t in 0..T) {\n\
                    let prev = if t > 0 { choice[t - 1] } else { -1 }\n\
                    let stay = if 0 < t && choice[t - 1] == c { 1.0 } else { 0.0 }\n\
                    let before = if t == 0 { 0.0 } else { reward[t - 1] }\n\
                    let bonus = where(arange(2) == prev, kappa, 0.0)\n\
                    c ~ Categorical(logits = beta * q + bonus + 0.1 * stay + 0.2 * before)\n\
                    set_subtensor(q[c], q[c] + alpha * (r - q[c]))\n}\n";
    let (_, ir, grad) = compile_model(source);
    assert_eq!(
        scalar_index_checks(&ir.log_density.body).1,
        0,
        "an index is still checked"
    );
    check_source("comparison-proven index", source);
    let sizes: HashMap<String, i64> = [("T".to_string(), 5)].into();
    let theta = [0.3, -0.2, 0.4, 0.1, -0.6];
    for first in [0.0, 1.0, 2.0] {
        let data: Data = [
            ("first".to_string(), vec![first]),
            ("choice".to_string(), vec![0.0, 1.0, 1.0, 0.0, 1.0]),
            ("reward".to_string(), vec![1.0, 0.0, 1.0, 1.0, 0.0]),
        ]
        .into();
        for f in [&ir.log_density, &grad] {
            run_checked("comparison-proven index", f, &sizes, &data, &theta);
        }
    }
}

/// The generated quantities with the outs written in loops (`out pe[n, t] = …`,
/// carried through a scan, a `for` with a data bound and an `if`): the JIT equals
/// the interpreter, missing elements included, on random data and points.
#[test]
fn loop_outs_match_interpreter() {
    let path = workspace().join("tests/check/ok/loop_outs.rlm");
    let source = std::fs::read_to_string(&path).expect("UTF-8");
    let (model, diagnostics) = rlc_check::compile(&source);
    let model = model.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let ir = rlc_ir::lower_with_loop_outs(&model).expect("lowers");
    assert_eq!(ir.outs.iter().filter(|o| o.in_loops).count(), 3);
    let mut rng = Rng(7);
    let mut missing = 0;
    for _ in 0..5 {
        let (sizes, data) = generate_data(&model, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let got = run_checked("loop_outs", &ir.generated, &sizes, &data, &theta);
        missing += got.iter().flatten().filter(|x| x.is_nan()).count();
    }
    assert!(missing > 0, "the random data left no element unwritten");
}
