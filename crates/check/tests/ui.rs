//! The UI corpus: every `tests/check/ok/*.rlm` must compile, and its inferred
//! shapes are snapshotted; every `tests/check/err/*.rlm` must fail, and its
//! rendered diagnostics are snapshotted beside it (source and report in one
//! file, so each snapshot reads on its own). The bundled models in `models/`
//! and the spec's examples (where `../shared` exists) must compile.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The one place these tests touch the compiler's API.
fn check(path: &Path) -> (bool, String) {
    let source = std::fs::read_to_string(path).expect("test model is UTF-8");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (model, diagnostics) = rlc_check::compile(&source);
    let rendered = rlc_syntax::render(&diagnostics, &name, &source, false);
    let output = match &model {
        Some(model) => format!("{}{}", rlc_check::shapes_report(model, &source), rendered),
        None => rendered,
    };
    (model.is_some(), output)
}

fn snapshot(path: &Path, output: &str) {
    let source = std::fs::read_to_string(path).expect("test model is UTF-8");
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(path.parent().expect("file has a folder"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(path);
    settings.set_description(source);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(stem, output));
}

fn rlm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "rlm"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn accepted_programs_compile_and_their_shapes_match_snapshots() {
    let files = rlm_files(&workspace().join("tests/check/ok"));
    assert!(!files.is_empty());
    for path in files {
        let (ok, output) = check(&path);
        assert!(ok, "{} should compile:\n{output}", path.display());
        snapshot(&path, &output);
    }
}

#[test]
fn rejected_programs_fail_with_the_snapshotted_diagnostics() {
    let files = rlm_files(&workspace().join("tests/check/err"));
    assert!(!files.is_empty());
    for path in files {
        let (ok, output) = check(&path);
        assert!(!ok, "{} should fail to compile", path.display());
        snapshot(&path, &output);
    }
}

#[test]
fn bundled_models_compile() {
    let files = rlm_files(&workspace().join("models"));
    assert!(!files.is_empty());
    for path in files {
        let (ok, output) = check(&path);
        assert!(ok, "{} should compile:\n{output}", path.display());
    }
}

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared beside the repository")]
fn spec_examples_compile_as_written() {
    let dir = workspace().join("../shared/spec/examples");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    for path in rlm_files(&dir) {
        let (ok, output) = check(&path);
        let must_fail = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("shape_error"));
        assert_eq!(ok, !must_fail, "{}:\n{output}", path.display());
        if must_fail {
            assert!(
                output.contains("[T - 1, 2]")
                    && output.contains("[T - 1]")
                    && output.contains("keepdims=true"),
                "{output}"
            );
        }
    }
}
