//! End-to-end tests of the `rlc` binary: exit codes, messages, output.

use std::path::PathBuf;
use std::process::Command;

fn rlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rlc"))
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn check_accepts_every_bundled_model() {
    for entry in std::fs::read_dir(workspace().join("models")).expect("models/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "rlm") {
            let out = rlc().arg("check").arg(&path).output().expect("rlc runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn check_rejects_the_seed_bug_with_exit_code_1_and_a_keepdims_hint() {
    let path = workspace().join("tests/check/err/shape_error_seed.rlm");
    let out = rlc()
        .args(["check", "--color", "never"])
        .arg(&path)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[T - 1, 2]") && stderr.contains("[T - 1]"),
        "{stderr}"
    );
    assert!(stderr.contains("keepdims=true"), "{stderr}");
    assert!(stderr.contains("has 1 error"), "{stderr}");
}

#[test]
fn emit_shapes_prints_the_inferred_types() {
    let path = workspace().join("models/rl_single_pytensor.rlm");
    let out = rlc()
        .args(["check", "--emit", "shapes"])
        .arg(&path)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("let   logits: real[T - 1, 2]"), "{stdout}");
    assert!(stdout.contains("param alpha: real in (0, 1)"), "{stdout}");
}

#[test]
fn unreadable_and_non_utf8_files_are_usage_errors_not_panics() {
    let missing = rlc()
        .args(["check", "no/such/model.rlm"])
        .output()
        .expect("rlc runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the model file"));

    let dir = std::env::temp_dir().join(format!("rlc-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let binary = dir.join("binary.rlm");
    std::fs::write(&binary, [0x73, 0x69, 0xff, 0xfe, 0x0a]).expect("write");
    let out = rlc().arg("check").arg(&binary).output().expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let out = rlc().arg("--help").output().expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("check"));
    assert!(
        stdout.contains("Exit codes")
            && stdout.contains("model error")
            && stdout.contains("data error")
    );
}
