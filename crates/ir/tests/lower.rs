//! Every bundled model and accepted UI-test model lowers to IR that passes
//! the verifier; the lowered example models' text form is snapshotted.

use rlc_testkit::models;

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
