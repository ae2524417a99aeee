//! Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) on
//! the small models: draw the parameters from the prior, simulate a data set from the
//! model's generative story, fit it with `rlc run` (one chain), and take the rank of
//! each true value among thinned posterior draws. When the compiled log density, its
//! gradient and the sampler are right, each parameter's ranks are uniform; a bias (a
//! wrong Jacobian, a transform, a prior constant that depends on a parameter, a
//! sampler that favours one region) shows as a sloped or U-shaped histogram.
//!
//! With `u = (rank + 1/2) / (draws + 1)`, uniform in (0, 1) when all is right, the test
//! fails at p < 0.001 on any of: the mean of `u` (a bias: a sloped histogram), its
//! variance (posteriors too wide or too narrow: a dome or a U), and a chi-square test of
//! the 10-bin histogram (any other shape). The seeds are fixed, so the outcome is the
//! same on every run. (A prior scale of 6 in the simulation against the model's 10
//! fails the mean test; it passes the chi-square test alone.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// splitmix64: enough randomness for simulating test data, with no dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

/// A simulated data set (its file name and text) and the true parameter values,
/// by the column names of rlc's output.
struct Simulated {
    file: &'static str,
    text: String,
    truth: Vec<(&'static str, f64)>,
}

/// rl_single's generative story on 60 trials of a two-armed bandit paying 1 with
/// probabilities 0.7 and 0.3: alpha ~ Beta(1, 1), beta ~ HalfNormal(10).
fn rl_single(rng: &mut Rng) -> Simulated {
    let alpha = rng.uniform();
    let beta = (10.0 * rng.normal()).abs();
    let mut q = [0.5, 0.5];
    let mut text = String::from("action,reward\n");
    for _ in 0..60 {
        // P(action 1) = softmax(beta * q)[1] = logistic(beta * (q1 - q0)).
        let p1 = 1.0 / (1.0 + (-beta * (q[1] - q[0])).exp());
        let a = usize::from(rng.bernoulli(p1));
        let r = f64::from(u8::from(rng.bernoulli([0.7, 0.3][a])));
        q[a] += alpha * (r - q[a]);
        text.push_str(&format!("{a},{r}\n"));
    }
    Simulated {
        file: "data.csv",
        text,
        truth: vec![("alpha", alpha), ("beta", beta)],
    }
}

/// logistic_regression's generative story with 40 observations of 3 standard-normal
/// covariates: alpha, w[k] ~ Normal(0, 2.5), y ~ Bernoulli(logit = alpha + X w).
fn logistic_regression(rng: &mut Rng) -> Simulated {
    let alpha = 2.5 * rng.normal();
    let w: Vec<f64> = (0..3).map(|_| 2.5 * rng.normal()).collect();
    let (mut rows, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let x: Vec<f64> = (0..3).map(|_| rng.normal()).collect();
        let eta = alpha + x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        ys.push(u8::from(rng.bernoulli(1.0 / (1.0 + (-eta).exp()))).to_string());
        let cells: Vec<String> = x.iter().map(|v| format!("{v:?}")).collect();
        rows.push(format!("[{}]", cells.join(", ")));
    }
    let text = format!(
        "{{\"N\": 40, \"K\": 3, \"X\": [{}], \"y\": [{}]}}",
        rows.join(", "),
        ys.join(", ")
    );
    Simulated {
        file: "data.json",
        text,
        truth: vec![
            ("alpha", alpha),
            ("w.1", w[0]),
            ("w.2", w[1]),
            ("w.3", w[2]),
        ],
    }
}

/// Post-warmup draws kept, and the thinning that makes them nearly independent.
const DRAWS: usize = 297;
const THIN: usize = 3;
/// Ranks run over 0..=RANKS (DRAWS / THIN draws), in 10 bins of 10.
const RANKS: usize = DRAWS / THIN;
/// The chi-square quantile for p = 0.001 with 9 degrees of freedom.
const CHI2_9_P001: f64 = 27.877;
/// The two-sided normal quantile for p = 0.001.
const Z_P001: f64 = 3.29;

/// A running fit: the process, its folder, the true values.
type Fit = (Child, PathBuf, Vec<(&'static str, f64)>);

fn start_fit(model: &str, dir: &Path, seed: u64, warmup: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args([
            "run",
            model,
            "--chains",
            "1",
            "--warmup",
            &warmup.to_string(),
        ])
        .args(["--draws", &DRAWS.to_string(), "--seed", &seed.to_string()])
        .arg("--data")
        .arg(dir.join(if dir.join("data.csv").exists() {
            "data.csv"
        } else {
            "data.json"
        }))
        .arg("--quiet")
        .arg("--output-dir")
        .arg(dir.join("out"))
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlc starts")
}

/// Each true value's rank among the thinned draws of the chain in `dir/out`.
fn ranks(dir: &Path, stem: &str, truth: &[(&str, f64)]) -> Vec<usize> {
    let path = dir.join("out").join(format!("{stem}_1.csv"));
    let text = std::fs::read_to_string(&path).expect("the chain's CSV");
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|c| c.parse().expect("a number")).collect())
        .collect();
    assert_eq!(rows.len(), DRAWS, "{}", path.display());
    truth
        .iter()
        .map(|(name, value)| {
            let col = header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no column {name}"));
            rows.iter()
                .step_by(THIN)
                .filter(|r| r[col] < *value)
                .count()
        })
        .collect()
}

fn calibrate(stem: &str, replications: usize, warmup: usize, simulate: fn(&mut Rng) -> Simulated) {
    let model = format!("models/{stem}.rlm");
    let root = std::env::temp_dir().join(format!("rlc-sbc-{stem}-{}", std::process::id()));
    let mut rng = Rng(0x5bc0_2026 ^ stem.len() as u64);
    let mut names = Vec::new();
    let mut all_ranks: Vec<Vec<usize>> = Vec::new();
    // Two fits at a time (the CI machines have two cores).
    let mut pending: Vec<Fit> = Vec::new();
    let mut finish = |(mut child, dir, truth): Fit| {
        let status = child.wait().expect("rlc runs");
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        assert!(status.success(), "{}: {stderr}", dir.display());
        if names.is_empty() {
            names = truth.iter().map(|(n, _)| n.to_string()).collect();
            all_ranks = vec![Vec::new(); truth.len()];
        }
        for (k, r) in ranks(&dir, stem, &truth).into_iter().enumerate() {
            all_ranks[k].push(r);
        }
        let _ = std::fs::remove_dir_all(&dir);
    };
    for i in 0..replications {
        let sim = simulate(&mut rng);
        let dir = root.join(format!("rep{i}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join(sim.file), &sim.text).expect("write data");
        pending.push((
            start_fit(&model, &dir, 1000 + i as u64, warmup),
            dir,
            sim.truth,
        ));
        if pending.len() == 2 {
            for job in pending.drain(..) {
                finish(job);
            }
        }
    }
    for job in pending.drain(..) {
        finish(job);
    }
    let _ = std::fs::remove_dir_all(&root);
    let expected = replications as f64 / 10.0;
    let mut failures = Vec::new();
    for (name, ranks) in names.iter().zip(&all_ranks) {
        let mut bins = [0usize; 10];
        for r in ranks {
            bins[(r * 10 / (RANKS + 1)).min(9)] += 1;
        }
        let chi2: f64 = bins
            .iter()
            .map(|b| (*b as f64 - expected).powi(2) / expected)
            .sum();
        // Uniform (0, 1): mean 1/2, variance 1/12, fourth central moment 1/80.
        let n = ranks.len() as f64;
        let u: Vec<f64> = ranks
            .iter()
            .map(|r| (*r as f64 + 0.5) / (RANKS + 1) as f64)
            .collect();
        let mean = u.iter().sum::<f64>() / n;
        let var = u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let z_mean = (mean - 0.5) / (1.0 / 12.0 / n).sqrt();
        let z_var = (var - 1.0 / 12.0) / ((1.0 / 80.0 - 1.0 / 144.0) / n).sqrt();
        println!(
            "{stem} {name}: rank histogram {bins:?}, chi-square {chi2:.1}, \
             z of the mean {z_mean:.2}, z of the variance {z_var:.2}"
        );
        if chi2 > CHI2_9_P001 || z_mean.abs() > Z_P001 || z_var.abs() > Z_P001 {
            failures.push(format!(
                "{name}: {bins:?} (chi-square {chi2:.1}, z mean {z_mean:.2}, z variance {z_var:.2})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{stem}: ranks not uniform: {}",
        failures.join("; ")
    );
}

#[test]
fn rl_single_is_calibrated() {
    calibrate("rl_single", 200, 300, rl_single);
}

#[test]
fn logistic_regression_is_calibrated() {
    calibrate("logistic_regression", 200, 300, logistic_regression);
}
