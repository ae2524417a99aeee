//! Outs written in loops (`out pe[n, t] = …`): the generated quantities carry
//! their arrays through the loops and branches that write them, and elements
//! no step writes are missing (NaN). Checked with the reference interpreter
//! against the same recursion computed by hand.

use rlc_ir::interp::{eval, Tensor};
use rlc_ir::{Input, ModelIr};
use std::collections::HashMap;

fn tensor(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
    Tensor { shape, data }
}

/// The generated quantities' results at `theta`.
fn generated(
    ir: &ModelIr,
    sizes: &HashMap<String, i64>,
    data: &HashMap<&str, Tensor>,
    theta: &[f64],
) -> Vec<Tensor> {
    let f = &ir.generated;
    let inputs: Vec<Tensor> = f
        .inputs
        .iter()
        .map(|i| match i {
            Input::Theta => tensor(vec![theta.len()], theta.to_vec()),
            Input::Data(name) => data[name.as_str()].clone(),
        })
        .collect();
    eval(f, sizes, &inputs).expect("evaluates")
}

fn compile(source: &str) -> rlc_check::Model {
    let (model, diagnostics) = rlc_check::compile(source);
    model.unwrap_or_else(|| panic!("{source}\n{diagnostics:?}"))
}

const BANDIT: &str = "
size N
size T
data Tsubj: int[N] in 0..T + 1
data choice: int[N, T] in 0..2
data reward: real[N, T]
param alpha in (0, 1)
param beta in (0, 10)
out twice_beta = 2 * beta
for n in 0..N {
  scan (q = [0.0, 0.0]; c in choice[n], r in reward[n], t in 0..T) {
    if t < Tsubj[n] {
      c ~ Categorical(logits = beta * q)
      out pe[n, t] = r - q[c]
      out qs[n, t] = q
      set_subtensor(q[c], q[c] + alpha * (r - q[c]))
    } else {
      q
    }
  }
}
";

#[test]
fn a_scan_writes_one_element_per_step_and_skipped_steps_stay_missing() {
    let model = compile(BANDIT);
    let (n, t) = (2usize, 4usize);
    let sizes = HashMap::from([("N".to_string(), n as i64), ("T".to_string(), t as i64)]);
    let tsubj = [4.0, 2.0];
    let choice = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let reward = [1.0, 0.0, 1.0, 1.0, -1.0, 0.5, 0.0, 0.0];
    let data = HashMap::from([
        ("Tsubj", tensor(vec![n], tsubj.to_vec())),
        ("choice", tensor(vec![n, t], choice.to_vec())),
        ("reward", tensor(vec![n, t], reward.to_vec())),
    ]);
    let theta = [0.3, -0.2];

    // Without asking, the generated quantities have no loop outs.
    let plain = rlc_ir::lower(&model).expect("lowers");
    assert_eq!(plain.outs.len(), 1);
    assert_eq!(generated(&plain, &sizes, &data, &theta).len(), 3);

    let ir = rlc_ir::lower_with_loop_outs(&model).expect("lowers");
    let names: Vec<(&str, bool)> = ir
        .outs
        .iter()
        .map(|o| (o.name.as_str(), o.in_loops))
        .collect();
    assert_eq!(names, [("twice_beta", false), ("pe", true), ("qs", true)]);
    let results = generated(&ir, &sizes, &data, &theta);
    let (alpha, beta) = (results[0].data[0], results[1].data[0]);
    assert!((results[2].data[0] - 2.0 * beta).abs() < 1e-12);
    let (pe, qs) = (&results[3], &results[4]);
    assert_eq!(pe.shape, [n, t]);
    assert_eq!(qs.shape, [n, t, 2]);
    for (s, last) in tsubj.iter().enumerate() {
        let mut q = [0.0, 0.0];
        for step in 0..t {
            let cell = s * t + step;
            if step as f64 >= *last {
                assert!(
                    pe.data[cell].is_nan(),
                    "subject {s} step {step}: {}",
                    pe.data[cell]
                );
                assert!(qs.data[2 * cell].is_nan() && qs.data[2 * cell + 1].is_nan());
                continue;
            }
            let c = choice[cell] as usize;
            let delta = reward[cell] - q[c];
            assert!(
                (pe.data[cell] - delta).abs() < 1e-12,
                "subject {s} step {step}"
            );
            assert_eq!(&qs.data[2 * cell..2 * cell + 2], &q);
            q[c] += alpha * delta;
        }
    }
}

#[test]
fn nested_for_loops_with_a_data_bound_write_their_cells() {
    let model = compile(
        "
size N
size T
data Tsubj: int[N] in 0..T + 1
data y: real[N, T]
param mu: real[N] ~ Normal(0, 1)
param sigma ~ HalfNormal(1)
for n in 0..N {
  for t in 1..Tsubj[n] {
    y[n, t] ~ Normal(mu[n] + 0.5 * y[n, t - 1], sigma)
    out resid[n, t] = y[n, t] - mu[n] - 0.5 * y[n, t - 1]
  }
  out centre[n] = [mu[n], 2 * mu[n]]
}
",
    );
    let (n, t) = (3usize, 3usize);
    let sizes = HashMap::from([("N".to_string(), n as i64), ("T".to_string(), t as i64)]);
    let tsubj = [3.0, 0.0, 2.0];
    let y: Vec<f64> = (0..n * t).map(|i| (i as f64 * 0.7).sin()).collect();
    let data = HashMap::from([
        ("Tsubj", tensor(vec![n], tsubj.to_vec())),
        ("y", tensor(vec![n, t], y.clone())),
    ]);
    let theta = [0.4, -1.1, 0.25, 0.0];
    let ir = rlc_ir::lower_with_loop_outs(&model).expect("lowers");
    let results = generated(&ir, &sizes, &data, &theta);
    let mu = &results[0].data;
    let (resid, centre) = (&results[2], &results[3]);
    assert_eq!(resid.shape, [n, t]);
    assert_eq!(centre.shape, [n, 2]);
    for s in 0..n {
        assert_eq!(centre.data[2 * s..2 * s + 2], [mu[s], 2.0 * mu[s]]);
        for step in 0..t {
            let value = resid.data[s * t + step];
            if step >= 1 && (step as f64) < tsubj[s] {
                let expected = y[s * t + step] - mu[s] - 0.5 * y[s * t + step - 1];
                assert!((value - expected).abs() < 1e-12, "{s} {step}");
            } else {
                assert!(value.is_nan(), "{s} {step}: {value}");
            }
        }
    }
    // The log density does not change for them.
    let plain = rlc_ir::lower(&model).expect("lowers");
    assert_eq!(plain.log_density, ir.log_density);
}
