//! Simulates the data sets of the bundled learning models, with fixed true parameters
//! and a fixed seed, so that the files in `models/data/` can be regenerated exactly:
//!
//! ```sh
//! cargo run -p rlc-simulate -- models/data
//! ```
//!
//! For each model `models/<name>.rlm` it writes the data (`<name>.csv`, or `<name>.json`
//! when a variable is a matrix) and `<name>.truth.json`, the parameter values the data
//! were simulated with. A model whose data file of its own stem is not simulated (the
//! example data sets `rl_single.csv` and `rl_hier.csv`) gets `<name>_sim.csv` and a
//! `<name>_sim.truth.json` that names the model and the data file. Each data set draws
//! from its own random stream, so adding one leaves the others unchanged.
//! `crates/rlc/tests/models.rs` fits each model to its data and
//! checks that the posterior recovers those values. The simulators follow the models'
//! generative stories line by line; each model's header comment gives the paper.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The seed every data set is simulated with (each data set gets its own stream).
const SEED: u64 = 20_240_607;

/// A parameter's true value: a scalar or a vector.
enum Value {
    Scalar(f64),
    Vector(Vec<f64>),
}

/// One simulated data set: the file's name and text, and the true parameters.
struct DataSet {
    /// The truth file's stem (`<model>.truth.json`); also the model's stem unless
    /// `fit` names the model.
    model: &'static str,
    file: String,
    text: String,
    truth: Vec<(&'static str, Value)>,
    /// For a data set of a model that already has a `<stem>` data file: the model file
    /// (`rl_single.rlm`), recorded in the truth file with the data file's name, and
    /// what the recovery test needs to know about the fit.
    fit: Option<Fit>,
}

/// The extra keys of a truth file that names its model and data.
struct Fit {
    model: &'static str,
    /// Warmup iterations the recovery test should use instead of its default.
    warmup: Option<u32>,
    /// True values recorded for reference but not checked by the recovery test.
    unchecked: Vec<(&'static str, Value)>,
}

fn rng_for(stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    rng.set_stream(stream);
    rng
}

/// Draws a 0-based category from softmax(logits).
fn categorical(rng: &mut ChaCha8Rng, logits: &[f64]) -> usize {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (k, w) in weights.iter().enumerate() {
        if u < *w {
            return k;
        }
        u -= w;
    }
    weights.len() - 1
}

fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A CSV text from a header and rows of already formatted cells.
fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// Two-armed bandit with separate learning rates for positive and negative prediction
/// errors (models/rl_pos_neg.rlm).
fn rl_pos_neg() -> DataSet {
    let (alpha_pos, alpha_neg, beta) = (0.4, 0.15, 5.0);
    let trials = 300;
    let p_reward = [0.25, 0.75];
    let mut rng = rng_for(1);
    let mut q = [0.5, 0.5];
    let mut rows = Vec::new();
    for _ in 0..trials {
        let a = categorical(&mut rng, &[beta * q[0], beta * q[1]]);
        let r = if bernoulli(&mut rng, p_reward[a]) {
            1.0
        } else {
            0.0
        };
        let delta = r - q[a];
        q[a] += if delta > 0.0 { alpha_pos } else { alpha_neg } * delta;
        rows.push(vec![a.to_string(), format!("{r}")]);
    }
    DataSet {
        fit: None,
        model: "rl_pos_neg",
        file: "rl_pos_neg.csv".into(),
        text: csv(&["action", "reward"], &rows),
        truth: vec![
            ("alpha_pos", Value::Scalar(alpha_pos)),
            ("alpha_neg", Value::Scalar(alpha_neg)),
            ("beta", Value::Scalar(beta)),
        ],
    }
}

/// Four-armed bandit with reward and punishment learning rates and sensitivities
/// (models/bandit4arm.rlm). The probabilities of a gain and of a loss on each arm drift
/// as Gaussian random walks (sd 0.05) reflected into [0.1, 0.9], as in Seymour et al.
fn bandit4arm() -> DataSet {
    let (arew, apun, r_sens, p_sens) = (0.3, 0.2, 5.0, 3.0);
    let trials = 300;
    let mut rng = rng_for(2);
    let mut p_gain: [f64; 4] = [0.8, 0.6, 0.4, 0.2];
    let mut p_loss: [f64; 4] = [0.2, 0.6, 0.3, 0.7];
    let mut qr = [0.0; 4];
    let mut qp = [0.0; 4];
    let mut rows = Vec::new();
    for _ in 0..trials {
        let logits: Vec<f64> = (0..4).map(|k| qr[k] + qp[k]).collect();
        let c = categorical(&mut rng, &logits);
        let gain = if bernoulli(&mut rng, p_gain[c]) {
            1.0
        } else {
            0.0
        };
        let loss = if bernoulli(&mut rng, p_loss[c]) {
            -1.0
        } else {
            0.0
        };
        let (old_r, old_p) = (qr[c], qp[c]);
        for k in 0..4 {
            qr[k] *= 1.0 - arew;
            qp[k] *= 1.0 - apun;
        }
        qr[c] = old_r + arew * (r_sens * gain - old_r);
        qp[c] = old_p + apun * (p_sens * loss - old_p);
        rows.push(vec![c.to_string(), format!("{gain}"), format!("{loss}")]);
        for p in p_gain.iter_mut().chain(p_loss.iter_mut()) {
            let step: f64 = rng.sample(StandardNormal);
            let mut next = *p + 0.05 * step;
            if next > 0.9 {
                next = 1.8 - next;
            }
            if next < 0.1 {
                next = 0.2 - next;
            }
            *p = next;
        }
    }
    DataSet {
        fit: None,
        model: "bandit4arm",
        file: "bandit4arm.csv".into(),
        text: csv(&["choice", "gain", "loss"], &rows),
        truth: vec![
            ("Arew", Value::Scalar(arew)),
            ("Apun", Value::Scalar(apun)),
            ("R", Value::Scalar(r_sens)),
            ("P", Value::Scalar(p_sens)),
        ],
    }
}

/// Probabilistic reversal learning with a fictitious update (models/prl_fictitious.rlm):
/// the better option pays +1 with probability 0.8, the other with 0.2 (else -1), and
/// they swap every 40 trials.
fn prl_fictitious() -> DataSet {
    let (eta, beta) = (0.35, 3.0);
    let trials = 200;
    let mut rng = rng_for(3);
    let mut ev = [0.0, 0.0];
    let mut rows = Vec::new();
    for t in 0..trials {
        let better = (t / 40) % 2;
        let c = categorical(&mut rng, &[beta * ev[0], beta * ev[1]]);
        let p_win = if c == better { 0.8 } else { 0.2 };
        let o: f64 = if bernoulli(&mut rng, p_win) {
            1.0
        } else {
            -1.0
        };
        let u = 1 - c;
        ev[c] += eta * (o - ev[c]);
        ev[u] += eta * (-o - ev[u]);
        rows.push(vec![c.to_string(), format!("{o}")]);
    }
    DataSet {
        fit: None,
        model: "prl_fictitious",
        file: "prl_fictitious.csv".into(),
        text: csv(&["choice", "outcome"], &rows),
        truth: vec![("eta", Value::Scalar(eta)), ("beta", Value::Scalar(beta))],
    }
}

/// Rescorla-Wagner plus a choice kernel (models/choice_kernel.rlm), Wilson & Collins'
/// Model 5, on a two-armed bandit whose reward probabilities (0.25 and 0.75) swap every
/// 100 trials.
fn choice_kernel() -> DataSet {
    let (alpha, beta, alpha_c, beta_c) = (0.3, 3.0, 0.25, 1.5);
    let trials = 500;
    let mut rng = rng_for(4);
    let mut q = [0.5, 0.5];
    let mut k = [0.0, 0.0];
    let mut rows = Vec::new();
    for t in 0..trials {
        let p_reward = if (t / 100) % 2 == 0 {
            [0.25, 0.75]
        } else {
            [0.75, 0.25]
        };
        let logits = [beta * q[0] + beta_c * k[0], beta * q[1] + beta_c * k[1]];
        let a = categorical(&mut rng, &logits);
        let r = if bernoulli(&mut rng, p_reward[a]) {
            1.0
        } else {
            0.0
        };
        q[a] += alpha * (r - q[a]);
        for kernel in k.iter_mut() {
            *kernel *= 1.0 - alpha_c;
        }
        k[a] += alpha_c;
        rows.push(vec![a.to_string(), format!("{r}")]);
    }
    DataSet {
        fit: None,
        model: "choice_kernel",
        file: "choice_kernel.csv".into(),
        text: csv(&["action", "reward"], &rows),
        truth: vec![
            ("alpha", Value::Scalar(alpha)),
            ("beta", Value::Scalar(beta)),
            ("alpha_c", Value::Scalar(alpha_c)),
            ("beta_c", Value::Scalar(beta_c)),
        ],
    }
}

/// The learner of the PyMC reinforcement-learning notebook, for docs/tutorial.md: plain
/// Q-learning (models/rl_single.rlm) with alpha = 0.5 and beta = 5 on 150 trials of a
/// two-armed bandit that pays 1 with probabilities 0.4 and 0.6.
fn tutorial() -> DataSet {
    let (alpha, beta) = (0.5, 5.0);
    let trials = 150;
    let p_reward = [0.4, 0.6];
    let mut rng = rng_for(6);
    let mut q = [0.5, 0.5];
    let mut rows = Vec::new();
    for t in 0..trials {
        let a = categorical(&mut rng, &[beta * q[0], beta * q[1]]);
        let r = if bernoulli(&mut rng, p_reward[a]) {
            1.0
        } else {
            0.0
        };
        q[a] += alpha * (r - q[a]);
        rows.push(vec![(t + 1).to_string(), a.to_string(), format!("{r}")]);
    }
    DataSet {
        fit: None,
        model: "tutorial",
        file: "tutorial.csv".into(),
        text: csv(&["trial", "action", "reward"], &rows),
        truth: vec![
            ("alpha", Value::Scalar(alpha)),
            ("beta", Value::Scalar(beta)),
        ],
    }
}

/// Plain Q-learning (models/rl_single.rlm) with alpha = 0.35 and beta = 4 on 200 trials
/// of a two-armed bandit that pays 1 with probabilities 0.2 and 0.8, swapped every 50
/// trials. `rl_single.csv` is the PyMC notebook's data set, without known true
/// values, so these data are `rl_single_sim.csv`.
fn rl_single_sim() -> DataSet {
    let (alpha, beta) = (0.35, 4.0);
    let trials = 200;
    let mut rng = rng_for(7);
    let mut q = [0.5, 0.5];
    let mut rows = Vec::new();
    for t in 0..trials {
        let p_reward = if (t / 50) % 2 == 0 {
            [0.2, 0.8]
        } else {
            [0.8, 0.2]
        };
        let a = categorical(&mut rng, &[beta * q[0], beta * q[1]]);
        let r = if bernoulli(&mut rng, p_reward[a]) {
            1.0
        } else {
            0.0
        };
        q[a] += alpha * (r - q[a]);
        rows.push(vec![(t + 1).to_string(), a.to_string(), format!("{r}")]);
    }
    DataSet {
        model: "rl_single_sim",
        file: "rl_single_sim.csv".into(),
        text: csv(&["trial", "action", "reward"], &rows),
        truth: vec![
            ("alpha", Value::Scalar(alpha)),
            ("beta", Value::Scalar(beta)),
        ],
        fit: Some(Fit {
            model: "rl_single.rlm",
            warmup: None,
            unchecked: Vec::new(),
        }),
    }
}

/// Stan's `Phi_approx`: the logistic approximation of the normal CDF.
fn phi_approx(x: f64) -> f64 {
    1.0 / (1.0 + (-(0.07056 * x * x * x + 1.5976 * x)).exp())
}

/// Hierarchical Q-learning on a two-armed bandit (models/rl_hier.rlm, hBayesDM's
/// bandit2arm_delta) in long format: 8 subjects × 80 trials, except subject 5 with 50
/// (ragged groups); about 4% of the responses are missed (empty choice and outcome
/// cells). Arm 1 pays +1 with probability 0.7 (else -1), arm 2 with 0.3. The subjects'
/// learning rates A and inverse temperatures tau follow the model's non-centred
/// parameterisation from the group-level mu_pr and sigma. `rl_hier.csv` is the
/// hBayesDM example data set, without known true values, so these data are
/// `rl_hier_sim.csv`.
fn rl_hier_sim() -> DataSet {
    let mu_pr = [-0.3, -0.5];
    let sigma = [0.2, 0.2];
    let subjects = 8;
    let p_win = [0.7, 0.3];
    let mut rng = rng_for(8);
    let (mut a_true, mut tau_true) = (Vec::new(), Vec::new());
    let mut rows = Vec::new();
    for s in 0..subjects {
        let a_pr: f64 = rng.sample(StandardNormal);
        let tau_pr: f64 = rng.sample(StandardNormal);
        let a_s = phi_approx(mu_pr[0] + sigma[0] * a_pr);
        let tau_s = phi_approx(mu_pr[1] + sigma[1] * tau_pr) * 5.0;
        // Rounded so that the truth file is readable; the data follow the rounded values.
        let a_s = (a_s * 1000.0).round() / 1000.0;
        let tau_s = (tau_s * 1000.0).round() / 1000.0;
        a_true.push(a_s);
        tau_true.push(tau_s);
        let trials = if s == 4 { 50 } else { 80 };
        let mut ev = [0.0, 0.0];
        for t in 0..trials {
            let missed = bernoulli(&mut rng, 0.04);
            let k = categorical(&mut rng, &[tau_s * ev[0], tau_s * ev[1]]);
            let o: f64 = if bernoulli(&mut rng, p_win[k]) {
                1.0
            } else {
                -1.0
            };
            let (choice, outcome) = if missed {
                (String::new(), String::new())
            } else {
                ev[k] += a_s * (o - ev[k]);
                ((k + 1).to_string(), format!("{o:?}"))
            };
            rows.push(vec![
                (s + 1).to_string(),
                (t + 1).to_string(),
                choice,
                outcome,
            ]);
        }
    }
    DataSet {
        model: "rl_hier_sim",
        file: "rl_hier_sim.csv".into(),
        text: csv(&["subjID", "trial", "choice", "outcome"], &rows),
        truth: vec![
            ("mu_pr", Value::Vector(mu_pr.to_vec())),
            ("A", Value::Vector(a_true)),
            ("tau", Value::Vector(tau_true)),
        ],
        // With 8 subjects the group sds are weakly identified (their posterior is
        // mostly the HalfNormal(0.2) prior), so the test does not check them.
        fit: Some(Fit {
            model: "rl_hier.rlm",
            warmup: Some(500),
            unchecked: vec![("sigma", Value::Vector(sigma.to_vec()))],
        }),
    }
}

/// Logistic regression (models/logistic_regression.rlm): standard normal covariates.
fn logistic_regression() -> DataSet {
    let alpha = -0.5;
    let w = [1.0, -0.7, 0.3];
    let n = 300;
    let mut rng = rng_for(5);
    let mut x_rows = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let x: Vec<f64> = (0..w.len())
            .map(|_| {
                let z: f64 = rng.sample(StandardNormal);
                (z * 1000.0).round() / 1000.0
            })
            .collect();
        let eta = alpha + x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        let p = 1.0 / (1.0 + (-eta).exp());
        y.push(u8::from(bernoulli(&mut rng, p)));
        x_rows.push(x);
    }
    let mut text = String::new();
    let _ = writeln!(text, "{{\n  \"N\": {n},\n  \"K\": {},\n  \"X\": [", w.len());
    for (i, row) in x_rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        let comma = if i + 1 < x_rows.len() { "," } else { "" };
        let _ = writeln!(text, "    [{}]{comma}", cells.join(", "));
    }
    let ys: Vec<String> = y.iter().map(|v| v.to_string()).collect();
    let _ = writeln!(text, "  ],\n  \"y\": [{}]\n}}", ys.join(", "));
    DataSet {
        fit: None,
        model: "logistic_regression",
        file: "logistic_regression.json".into(),
        text,
        truth: vec![
            ("alpha", Value::Scalar(alpha)),
            ("w", Value::Vector(w.to_vec())),
        ],
    }
}

/// A JSON object of true values, its entries indented by `indent` spaces.
fn values_json(truth: &[(&str, Value)], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let entries: Vec<String> = truth
        .iter()
        .map(|(name, value)| match value {
            Value::Scalar(v) => format!("{pad}  \"{name}\": {v:?}"),
            Value::Vector(vs) => {
                let cells: Vec<String> = vs.iter().map(|v| format!("{v:?}")).collect();
                format!("{pad}  \"{name}\": [{}]", cells.join(", "))
            }
        })
        .collect();
    format!("{{\n{}\n{pad}}}", entries.join(",\n"))
}

/// The truth file: the true values alone (for `models/<model>.rlm` fitted to the data
/// file of the same stem), or, when the data set names its model, an object with the
/// model, the data file, the checked values (`params`), the unchecked ones and the
/// warmup override.
fn truth_json(set: &DataSet) -> String {
    let Some(fit) = &set.fit else {
        return format!("{}\n", values_json(&set.truth, 0));
    };
    let mut entries = vec![
        format!("  \"model\": \"{}\"", fit.model),
        format!("  \"data\": \"{}\"", set.file),
    ];
    if let Some(warmup) = fit.warmup {
        entries.push(format!("  \"warmup\": {warmup}"));
    }
    entries.push(format!("  \"params\": {}", values_json(&set.truth, 2)));
    if !fit.unchecked.is_empty() {
        entries.push(format!(
            "  \"unchecked\": {}",
            values_json(&fit.unchecked, 2)
        ));
    }
    format!("{{\n{}\n}}\n", entries.join(",\n"))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "models/data".into()),
    );
    let result = (|| -> Result<(), String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for set in [
            rl_pos_neg(),
            bandit4arm(),
            prl_fictitious(),
            choice_kernel(),
            logistic_regression(),
            tutorial(),
            rl_single_sim(),
            rl_hier_sim(),
        ] {
            write(&dir, &set.file, &set.text)?;
            write(
                &dir,
                &format!("{}.truth.json", set.model),
                &truth_json(&set),
            )?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
