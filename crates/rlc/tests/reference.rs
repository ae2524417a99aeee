//! `rlc logp` against Stan's log density and gradient at the reference
//! points (`tests/data/reference/*/logp_points.json`, copied from the
//! shared reference runs): differences `logp(x_i) - logp(x_0)` (Stan drops
//! constants) and gradients agree to 1e-8 relative.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn logp(model: &str, data: &PathBuf, x: &[f64]) -> (f64, Vec<f64>) {
    let point: Vec<String> = x.iter().map(|v| format!("{v:?}")).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["logp", model, "--json", "--data"])
        .arg(data)
        .arg(format!("--unconstrained={}", point.join(",")))
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let grad = v["gradient"]
        .as_array()
        .expect("gradient")
        .iter()
        .map(|g| g.as_f64().expect("number"))
        .collect();
    (v["logp"].as_f64().expect("logp"), grad)
}

fn check(dataset: &str, model: &str) {
    let dir = workspace().join("tests/data/reference").join(dataset);
    let text = std::fs::read_to_string(dir.join("logp_points.json")).expect("reference points");
    let reference: Value = serde_json::from_str(&text).expect("JSON");
    let points = reference["points"].as_array().expect("points");
    let data = dir.join("rlc.json");
    let mut base: Option<(f64, f64)> = None;
    for p in points {
        let x: Vec<f64> = p["x"]
            .as_array()
            .expect("x")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let stan_lp = p["logp"].as_f64().expect("logp");
        let stan_grad: Vec<f64> = p["grad"]
            .as_array()
            .expect("grad")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let (lp, grad) = logp(model, &data, &x);
        assert_eq!(grad.len(), stan_grad.len(), "{dataset}: dimension");
        for (i, (g, s)) in grad.iter().zip(&stan_grad).enumerate() {
            assert!(
                (g - s).abs() <= 1e-8 * s.abs().max(1.0),
                "{dataset}: gradient {i}: {g} vs Stan's {s}"
            );
        }
        match base {
            None => base = Some((lp, stan_lp)),
            Some((lp0, stan0)) => {
                let (ours, theirs) = (lp - lp0, stan_lp - stan0);
                assert!(
                    (ours - theirs).abs() <= 1e-8 * theirs.abs().max(1.0),
                    "{dataset}: logp difference {ours} vs Stan's {theirs}"
                );
            }
        }
    }
}

#[test]
fn rl_single_matches_stan() {
    check("rl_single_150", "models/rl_single.rlm");
}

#[test]
fn eight_schools_matches_stan() {
    check("eight_schools_noncentered", "models/eight_schools.rlm");
}

#[test]
fn rl_hier_matches_stan() {
    check("rl_hier_20x100", "models/rl_hier.rlm");
}
