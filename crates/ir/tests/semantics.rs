//! What the lowered IR computes, checked with the reference interpreter:
//! every distribution's log density against values from SciPy (full
//! normalizing constants), and missing trials in the hierarchical bandit
//! model contributing nothing.

use rlc_ir::interp::{eval, Tensor};
use rlc_ir::{Function, Input};
use std::collections::HashMap;

fn log_density(
    source: &str,
    sizes: &HashMap<String, i64>,
    data: &HashMap<&str, Tensor>,
    theta: &[f64],
) -> f64 {
    let (model, diagnostics) = rlc_check::compile(source);
    let model = model.unwrap_or_else(|| panic!("{source}\n{diagnostics:?}"));
    let ir = rlc_ir::lower(&model).expect("lowers");
    let f: &Function = &ir.log_density;
    let inputs: Vec<Tensor> = f
        .inputs
        .iter()
        .map(|i| match i {
            Input::Theta => Tensor {
                shape: vec![theta.len()],
                data: theta.to_vec(),
            },
            Input::Data(name) => data[name.as_str()].clone(),
        })
        .collect();
    eval(f, sizes, &inputs).expect("evaluates")[0].data[0]
}

fn scalar(x: f64) -> Tensor {
    Tensor {
        shape: vec![],
        data: vec![x],
    }
}

/// Values from `scipy.stats` 1.17 (`logpdf`/`logpmf`), with Stan's parameterizations.
const CASES: &[(&str, &str, f64, f64)] = &[
    ("Normal(0.3, 1.7)", "real", 1.2, -1.5897051925713415),
    ("HalfNormal(2.5)", "real", 1.2, -1.2572820845188826),
    ("StudentT(3.5, 0.3, 1.7)", "real", 1.2, -1.6934289506360485),
    ("Cauchy(0.3, 1.7)", "real", 1.2, -1.9224344544374086),
    ("HalfCauchy(1.7)", "real", 1.2, -1.386521996241683),
    ("LogNormal(0.3, 0.7)", "real", 1.2, -0.7587159787082607),
    ("Exponential(2.5)", "real", 1.2, -2.0837092681258444),
    ("Gamma(2.5, 1.5)", "real", 1.2, -0.7975377650115762),
    ("InverseGamma(2.5, 1.5)", "real", 1.2, -1.1591455489813491),
    ("Beta(2.5, 1.5)", "real", 0.3, -0.3564378420678893),
    ("Uniform(-1, 2)", "real", 0.3, -1.0986122886681098),
    ("Bernoulli(p = 0.3)", "int", 1.0, -1.2039728043259361),
    ("Bernoulli(logits = -0.4)", "int", 0.0, -0.5130152523999526),
    ("Binomial(7, 0.3)", "int", 2.0, -1.146797890622111),
    (
        "Binomial(n = 7, logits = 0.5)",
        "int",
        5.0,
        -1.2740164515373233,
    ),
    ("Poisson(3.5)", "int", 2.0, -1.6876212435692093),
    ("Poisson(log_rate = 1.2)", "int", 4.0, -1.6981707530844932),
    (
        "Categorical(p = [0.2, 0.5, 0.3])",
        "int",
        1.0,
        -std::f64::consts::LN_2,
    ),
    (
        "Categorical(logits = [0.1, -0.4, 1.3])",
        "int",
        2.0,
        -0.39465875318730825,
    ),
];

#[test]
fn distributions_match_closed_forms() {
    for (dist, ty, y, expected) in CASES {
        let source = format!("data y: {ty}\ny ~ {dist}\n");
        let data = HashMap::from([("y", scalar(*y))]);
        let lp = log_density(&source, &HashMap::new(), &data, &[]);
        assert!(
            (lp - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{dist} at {y}: {lp} (expected {expected})"
        );
    }
}

#[test]
fn vectorized_observations_sum_elementwise_densities() {
    let source = "size N\ndata y: real[N]\ndata s: real[N]\ny ~ Normal(0.3, s)\n";
    let sizes = HashMap::from([("N".to_string(), 2)]);
    let data = HashMap::from([
        (
            "y",
            Tensor {
                shape: vec![2],
                data: vec![1.2, 1.2],
            },
        ),
        (
            "s",
            Tensor {
                shape: vec![2],
                data: vec![1.7, 1.7],
            },
        ),
    ]);
    let lp = log_density(source, &sizes, &data, &[]);
    assert!((lp - 2.0 * -1.5897051925713415_f64).abs() < 1e-12);
}

const RL_HIER: &str = include_str!("../../../models/rl_hier.rlm");

/// A deterministic stream of numbers in [0, 1).
fn stream(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn missing_trials_contribute_nothing() {
    let (n, t) = (3usize, 8usize);
    let sizes = HashMap::from([("N".to_string(), n as i64), ("T".to_string(), t as i64)]);
    for seed in 1..6u64 {
        let mut u = stream(seed);
        let mut choice: Vec<f64> = (0..n * t)
            .map(|_| if u() < 0.5 { 1.0 } else { 2.0 })
            .collect();
        let outcome: Vec<f64> = (0..n * t)
            .map(|_| if u() < 0.5 { -1.0 } else { 1.0 })
            .collect();
        for c in choice.iter_mut() {
            if u() < 0.3 {
                *c = f64::NAN;
            }
        }
        // The same trials with the missed ones removed: each subject's
        // remaining trials moved to the front, the rest padded as missing.
        let mut compact_choice = vec![f64::NAN; n * t];
        let mut compact_outcome = vec![f64::NAN; n * t];
        for s in 0..n {
            let mut k = 0;
            for j in 0..t {
                if !choice[s * t + j].is_nan() {
                    compact_choice[s * t + k] = choice[s * t + j];
                    compact_outcome[s * t + k] = outcome[s * t + j];
                    k += 1;
                }
            }
        }
        let theta: Vec<f64> = (0..4 + 2 * n).map(|_| u() * 2.0 - 1.0).collect();
        let tensor = |v: &Vec<f64>| Tensor {
            shape: vec![n, t],
            data: v.clone(),
        };
        let with_missing =
            HashMap::from([("choice", tensor(&choice)), ("outcome", tensor(&outcome))]);
        let removed = HashMap::from([
            ("choice", tensor(&compact_choice)),
            ("outcome", tensor(&compact_outcome)),
        ]);
        let a = log_density(RL_HIER, &sizes, &with_missing, &theta);
        let b = log_density(RL_HIER, &sizes, &removed, &theta);
        assert!(a.is_finite());
        assert!((a - b).abs() <= 1e-12 * a.abs(), "seed {seed}: {a} vs {b}");
    }
}
