//! Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) on
//! the small models, driven by `rlc recover`: it draws the parameters from the prior,
//! simulates a data set by running the model forward on the model's bundled data file
//! as the design, fits it (one chain), and writes the rank of each true value among
//! thinned posterior draws. When the compiled log density, its gradient, the sampler
//! and the simulation are right, each parameter's ranks are uniform; a bias (a wrong
//! Jacobian, a transform, a prior constant that depends on a parameter, a sampler that
//! favours one region, a simulation that does not follow the model) shows as a sloped
//! or U-shaped histogram.
//!
//! With `u = (rank + 1/2) / (draws + 1)`, uniform in (0, 1) when all is right, the test
//! fails at p < 0.001 on any of: the mean of `u` (a bias: a sloped histogram), its
//! variance (posteriors too wide or too narrow: a dome or a U), and a chi-square test of
//! the 10-bin histogram (any other shape). The seeds are fixed, so the outcome is the
//! same on every run.

use std::path::PathBuf;
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// Runs `rlc recover` on `model` (a path from the workspace) with `design` and returns
/// each parameter's ranks.
fn recover_ranks(
    model: &str,
    design: &str,
    fits: usize,
    warmup: usize,
) -> Vec<(String, Vec<usize>)> {
    let name = model.replace(['/', '.'], "_");
    let out = std::env::temp_dir().join(format!("rlc-sbc-{name}-{}.csv", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["recover", model, "--data", design])
        .args(["--fits", &fits.to_string(), "--chains", "1"])
        .args([
            "--warmup",
            &warmup.to_string(),
            "--draws",
            &DRAWS.to_string(),
        ])
        .args(["--thin", &THIN.to_string(), "--seed", "20260530", "--quiet"])
        .arg("--output")
        .arg(&out)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("the recovery CSV");
    let _ = std::fs::remove_file(&out);
    let mut lines = text.lines();
    let header = csv_fields(lines.next().expect("header"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (name_col, kind_col, rank_col, ranked_col) =
        (col("name"), col("kind"), col("rank"), col("ranked_draws"));
    let mut by_name: Vec<(String, Vec<usize>)> = Vec::new();
    for line in lines {
        let cells = csv_fields(line);
        if cells[kind_col] != "param" {
            continue;
        }
        assert_eq!(cells[ranked_col], (RANKS).to_string(), "{line}");
        let rank: usize = cells[rank_col].parse().expect("a rank");
        let name = cells[name_col].to_string();
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, ranks)) => ranks.push(rank),
            None => by_name.push((name, vec![rank])),
        }
    }
    by_name
}

/// The fields of one CSV line, with quoted fields (an element's name, `"v[0, 1]"`)
/// kept whole and unquoted.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

fn calibrate(model: &str, design: &str, fits: usize, warmup: usize) {
    let all = recover_ranks(model, design, fits, warmup);
    assert!(
        !all.is_empty(),
        "{model}: no parameters in the recovery CSV"
    );
    let mut failures = Vec::new();
    for (name, ranks) in &all {
        assert_eq!(ranks.len(), fits, "{model} {name}: every fit must succeed");
        let expected = ranks.len() as f64 / 10.0;
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
            "{model} {name}: rank histogram {bins:?}, chi-square {chi2:.1}, \
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
        "{model}: ranks not uniform: {}",
        failures.join("; ")
    );
}

#[test]
fn rl_single_is_calibrated() {
    calibrate(
        "models/rl_single.rlm",
        "models/data/rl_single.csv",
        200,
        300,
    );
}

/// A diffusion model's choices and response times drawn together (`Wiener`'s `upper`),
/// each choice's reward from the chosen arm, and the next trial learning from both: the
/// simulation follows the model's density of the (choice, time) pair.
#[test]
fn a_reinforcement_learning_diffusion_model_is_calibrated() {
    calibrate(
        "tests/sbc/rlddm.rlm",
        "tests/sbc/rlddm_design.csv",
        200,
        300,
    );
}

/// A linear ballistic accumulator's choices and response times drawn together (`LBA`'s
/// `response`, the first of two accumulators to finish) in two conditions, 32 trials each.
#[test]
fn a_linear_ballistic_accumulator_is_calibrated() {
    calibrate("models/lba.rlm", "tests/sbc/lba_design.csv", 200, 300);
}

#[test]
fn logistic_regression_is_calibrated() {
    calibrate(
        "models/logistic_regression.rlm",
        "models/data/logistic_regression.json",
        200,
        300,
    );
}
