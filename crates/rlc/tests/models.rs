//! The model library (`models/`) end to end: every truth file
//! `models/data/<name>.truth.json`, written by `rlc simulate` beside the data set it
//! simulated (`models/data/simulate.sh`), names a model and a data set, which are fitted
//! with `rlc run`, with a short run (2 chains × 300 warmup + 300 draws; `WARMUP` lists
//! the data sets that need more). A truth file is
//! `{"model": "models/rl_single.rlm", "data": "rl_single_sim.csv", "seed": 7,
//! "stream": 0, "params": {...}, "outs": {...}}`, with `model` relative to the
//! repository root and `data` to the truth file's folder; every parameter and `out`
//! value in it is checked. `ALSO_FITTED` fits some data sets with a second model that
//! has the same parameters (rl_single_pytensor, which cannot simulate).
//!
//! The test checks that
//!
//! * the run succeeds and the data file loads without a note or a warning (apart from
//!   the note that lists columns no declaration reads);
//! * every true value appears in the summary table with a finite R-hat below 1.1 (a
//!   broken sampler or model would not mix);
//! * parameter recovery: the true value lies inside the 90% posterior interval
//!   [5%, 95%] for at least 75% of each fit's scalar values (all of them for a fit
//!   with fewer than four), and the true value is never further than 4 posterior
//!   standard deviations from the posterior mean;
//! * at least five models were checked, so that renaming the data files cannot make the
//!   test pass vacuously.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One summary row: mean, sd, 5%, 95%, R-hat.
#[derive(Debug, Clone, Copy)]
struct Row {
    mean: f64,
    sd: f64,
    q5: f64,
    q95: f64,
    rhat: f64,
}

/// The rows of rlc's summary table (12 columns: name Mean MCSE StdDev MAD 5% 50% 95%
/// ESS_bulk ESS_tail ESS_bulk/s R_hat), by column name.
fn parse_summary(stdout: &str) -> HashMap<String, Row> {
    let mut rows = HashMap::new();
    for line in stdout.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != 12 || cells[1] == "Mean" {
            continue;
        }
        let num = |i: usize| cells[i].parse::<f64>().unwrap_or(f64::NAN);
        rows.insert(
            cells[0].to_string(),
            Row {
                mean: num(1),
                sd: num(3),
                q5: num(5),
                q95: num(7),
                rhat: num(11),
            },
        );
    }
    rows
}

/// One fit to check: the model and data paths (relative to the workspace), the
/// warmup, and the true values.
struct Truth {
    /// The truth file's stem (joined by the second model's, for `ALSO_FITTED`), naming
    /// the check in messages.
    name: String,
    model: String,
    data: String,
    warmup: u64,
    values: Vec<(String, f64)>,
}

/// Data sets whose fit needs a longer warmup than 300: the hierarchical model adapts
/// slowly.
const WARMUP: &[(&str, u64)] = &[("rl_hier_sim", 500)];

/// Data sets also fitted with another model of the same parameters: (truth file stem,
/// model).
const ALSO_FITTED: &[(&str, &str)] = &[("rl_single_sim", "models/rl_single_pytensor.rlm")];

/// Reads `models/data/<name>.truth.json`.
fn read_truth(root: &Path, name: &str) -> Truth {
    let path = root.join(format!("models/data/{name}.truth.json"));
    let text = std::fs::read_to_string(&path).expect("truth file");
    let value: Value = serde_json::from_str(&text).expect("truth file is JSON");
    let object = value.as_object().expect("truth file is an object");
    let key = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}.truth.json: no \"{k}\" string"))
    };
    let mut values = truth_values(object.get("params").expect("params"));
    if let Some(outs) = object.get("outs") {
        values.extend(truth_values(outs));
    }
    Truth {
        name: name.to_string(),
        model: key("model").to_string(),
        data: format!("models/data/{}", key("data")),
        warmup: WARMUP
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(300, |(_, w)| *w),
        values,
    }
}

/// The true values by summary-table name: a scalar `beta` is `beta`, a vector `w` is
/// `w.1`, `w.2`, …, a matrix `v` is `v.1.1`, `v.1.2`, … (CmdStan's 1-based names).
fn truth_values(value: &Value) -> Vec<(String, f64)> {
    fn flatten(name: &str, value: &Value, out: &mut Vec<(String, f64)>) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    flatten(&format!("{name}.{}", i + 1), item, out);
                }
            }
            other => out.push((name.to_string(), other.as_f64().expect("number"))),
        }
    }
    let mut out = Vec::new();
    for (name, v) in value.as_object().expect("true values are an object") {
        flatten(name, v, &mut out);
    }
    out
}

/// Fits one model; returns a description of what went wrong, if anything.
fn check_model(truth: &Truth) -> Result<String, String> {
    let root = workspace();
    let stem = truth.name.as_str();
    for path in [&truth.model, &truth.data] {
        if !root.join(path).exists() {
            return Err(format!("{stem}: {path} does not exist"));
        }
    }
    let out_dir = std::env::temp_dir().join(format!("rlc-models-{stem}-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["run", &truth.model, "--data", &truth.data])
        .args(["--chains", "2", "--warmup"])
        .arg(truth.warmup.to_string())
        .args(["--draws", "300", "--seed", "1"])
        .arg("--quiet")
        .arg("--output-dir")
        .arg(&out_dir)
        .current_dir(&root)
        .output()
        .expect("rlc runs");
    let _ = std::fs::remove_dir_all(&out_dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{stem}: rlc run failed ({})\n{stdout}\n{stderr}",
            output.status
        ));
    }
    for line in stderr.lines() {
        let lower = line.to_lowercase();
        let unread_columns = lower.contains("no declaration reads");
        if (lower.starts_with("note:") || lower.contains("warning")) && !unread_columns {
            return Err(format!(
                "{stem}: the data did not load cleanly: {line}\n{stderr}"
            ));
        }
    }
    let table = parse_summary(&stdout);
    let truth = &truth.values;
    assert!(!truth.is_empty(), "{stem}: empty truth file");
    let mut inside = 0;
    let mut report = String::new();
    let mut problems = Vec::new();
    for (name, true_value) in truth {
        let Some(row) = table.get(name) else {
            return Err(format!("{stem}: {name} is not in the summary:\n{stdout}"));
        };
        let covered = row.q5 <= *true_value && *true_value <= row.q95;
        inside += usize::from(covered);
        report.push_str(&format!(
            "  {stem:20} {name:10} true {true_value:7.3}  90% [{:7.3}, {:7.3}]  mean {:7.3}  R-hat {:.3}{}\n",
            row.q5,
            row.q95,
            row.mean,
            row.rhat,
            if covered { "" } else { "  (outside)" }
        ));
        if !(row.rhat.is_finite() && row.rhat < 1.1) {
            problems.push(format!(
                "{name}: R-hat {} (the chains have not mixed)",
                row.rhat
            ));
        }
        // NaN (a broken summary) fails too.
        let within = (true_value - row.mean).abs() <= 4.0 * row.sd;
        if !within {
            problems.push(format!(
                "{name}: true value {true_value} is more than 4 sd from the posterior mean {} (sd {})",
                row.mean, row.sd
            ));
        }
    }
    let n = truth.len();
    let needed = if n < 4 { n } else { (3 * n).div_ceil(4) };
    if inside < needed {
        problems.push(format!(
            "only {inside} of {n} true values inside their 90% intervals (need {needed})"
        ));
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(format!(
            "{stem}:\n{report}  {}\n{stdout}",
            problems.join("\n  ")
        ))
    }
}

#[test]
fn every_model_recovers_its_true_parameters() {
    let root = workspace();
    let mut names: Vec<String> = std::fs::read_dir(root.join("models/data"))
        .expect("models/data/")
        .filter_map(|e| {
            let file = e.ok()?.file_name();
            file.to_str()?
                .strip_suffix(".truth.json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let mut truths: Vec<Truth> = names.iter().map(|name| read_truth(&root, name)).collect();
    for (name, model) in ALSO_FITTED {
        let mut truth = read_truth(&root, name);
        let stem = Path::new(model).file_stem().and_then(|s| s.to_str());
        truth.name = format!("{name}-{}", stem.expect("a model file"));
        truth.model = model.to_string();
        truths.push(truth);
    }
    let checked: Vec<&str> = truths.iter().map(|t| t.name.as_str()).collect();
    assert!(
        truths.len() >= 5,
        "expected at least five models with a truth file, found {checked:?}"
    );
    // The models are independent: fit them on parallel threads.
    let results: Vec<Result<String, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = truths
            .iter()
            .map(|truth| scope.spawn(move || check_model(truth)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(report) => eprint!("{report}"),
            Err(failure) => failures.push(failure),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `models/data/simulate.sh`, run on a copy of `models/` with this build, writes
/// the committed data sets and truth files again, byte for byte: the script works
/// (rlc refuses to write over a command's input, so it simulates from a copy of each
/// design), and every simulated file in the repository is what it says it is.
#[test]
fn the_simulation_script_reproduces_the_committed_data() {
    let root = workspace();
    let copy = tempfile::tempdir().expect("a temporary folder");
    let models = copy.path().join("models");
    let data = models.join("data");
    std::fs::create_dir_all(&data).expect("models/data in the copy");
    for entry in std::fs::read_dir(root.join("models")).expect("models/") {
        let path = entry.expect("an entry").path();
        if let (Some(name), true) = (
            path.file_name(),
            path.extension().is_some_and(|e| e == "rlm"),
        ) {
            std::fs::copy(&path, models.join(name)).expect("copies");
        }
    }
    for entry in std::fs::read_dir(root.join("models/data")).expect("models/data/") {
        let path = entry.expect("an entry").path();
        if let (Some(name), true) = (path.file_name(), path.is_file()) {
            std::fs::copy(&path, data.join(name)).expect("copies");
        }
    }
    let output = Command::new("sh")
        .arg("models/data/simulate.sh")
        .current_dir(copy.path())
        .env("RLC", env!("CARGO_BIN_EXE_rlc"))
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "simulate.sh failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut written = 0;
    for line in stdout.lines() {
        // "wrote models/data/X.csv (… simulated) and models/data/X.truth.json"
        for word in line.split_whitespace() {
            if let Some(file) = word.strip_prefix("models/data/") {
                let fresh = std::fs::read(data.join(file)).expect("written");
                let committed = std::fs::read(root.join("models/data").join(file))
                    .unwrap_or_else(|_| panic!("models/data/{file} is not committed"));
                assert!(
                    fresh == committed,
                    "models/data/{file} differs from what simulate.sh writes"
                );
                written += 1;
            }
        }
    }
    assert!(
        written >= 10,
        "simulate.sh wrote only {written} files:\n{stdout}"
    );
}
