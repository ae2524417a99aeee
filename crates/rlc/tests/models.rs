//! The model library (`models/`) end to end: every `models/<stem>.rlm` that has a
//! `models/data/<stem>.truth.json` (the parameters `crates/simulate` simulated its data
//! with) is fitted with `rlc run` to `models/data/<stem>.csv` (or `.json`), with a short
//! run (2 chains × 300 warmup + 300 draws). The test checks that
//!
//! * the run succeeds and the data file loads without a note or a warning (apart from
//!   the note that lists columns no declaration reads);
//! * every parameter in the truth file appears in the summary table with a finite R-hat
//!   below 1.1 (a broken sampler or model would not mix);
//! * parameter recovery: the true value lies inside the 90% posterior interval
//!   [5%, 95%] for at least 75% of each model's scalar parameters (all of them for a
//!   model with fewer than four), and the true value is never further than 4 posterior
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

/// The true values by summary-table name: a scalar `beta` is `beta`, a vector `w` is
/// `w.1`, `w.2`, … (CmdStan's 1-based names).
fn truth(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).expect("truth file");
    let value: Value = serde_json::from_str(&text).expect("truth file is JSON");
    let mut out = Vec::new();
    for (name, v) in value.as_object().expect("truth file is an object") {
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    out.push((format!("{name}.{}", i + 1), item.as_f64().expect("number")));
                }
            }
            other => out.push((name.clone(), other.as_f64().expect("number"))),
        }
    }
    out
}

/// Fits one model; returns a description of what went wrong, if anything.
fn check_model(stem: &str) -> Result<String, String> {
    let root = workspace();
    let data = ["csv", "json"]
        .iter()
        .map(|ext| format!("models/data/{stem}.{ext}"))
        .find(|p| root.join(p).exists())
        .ok_or_else(|| format!("{stem}: no models/data/{stem}.csv or .json"))?;
    let out_dir = std::env::temp_dir().join(format!("rlc-models-{stem}-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["run", &format!("models/{stem}.rlm"), "--data", &data])
        .args([
            "--chains", "2", "--warmup", "300", "--draws", "300", "--seed", "1",
        ])
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
    let truth = truth(&root.join(format!("models/data/{stem}.truth.json")));
    assert!(!truth.is_empty(), "{stem}: empty truth file");
    let mut inside = 0;
    let mut report = String::new();
    let mut problems = Vec::new();
    for (name, true_value) in &truth {
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
    let mut stems: Vec<String> = std::fs::read_dir(root.join("models"))
        .expect("models/")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rlm").then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .filter(|stem| root.join(format!("models/data/{stem}.truth.json")).exists())
        .collect();
    stems.sort();
    assert!(
        stems.len() >= 5,
        "expected at least five models with a truth file, found {stems:?}"
    );
    // The models are independent: fit them on parallel threads.
    let results: Vec<Result<String, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stems
            .iter()
            .map(|stem| scope.spawn(move || check_model(stem)))
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
