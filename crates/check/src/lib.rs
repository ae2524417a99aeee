//! The checker of `.rlm` programs: name resolution (with "did you mean"),
//! element types, symbolic shapes over the declared sizes with NumPy
//! broadcasting, integer ranges proved against array bounds, optionality
//! narrowed by `present(…)`, the shapes of built-in functions and
//! distributions (a table, `builtins`, which also gives the allowed values
//! of distribution arguments and the spellings of other languages' names),
//! scan rules, the rule that the left side of `~` is observed data, and the
//! rule that every parameter with a flat, unbounded prior is in the density.
//!
//! Checking never stops at the first error: [`check`] returns the [`Model`]
//! (the AST plus side tables of inferred facts, the input of IR lowering)
//! together with every error found. This crate knows nothing of the IR,
//! the data files or the terminal. Its tests: unit tests here, and the UI
//! corpus in the workspace's `tests/check/{ok,err}/` run by `tests/ui.rs`.

pub mod builtins;
mod checker;
mod constant;
pub mod dim;
pub mod error;
pub mod model;
mod report;
pub mod types;

pub use dim::Dim;
pub use error::CheckError;
pub use model::*;
pub use report::shapes_report;
pub use types::{ExprInfo, IntRange, Type};

use rlc_syntax::ast::{Program, Span};
use rlc_syntax::habit::Habit;
use rlc_syntax::{Diagnostic, SyntaxError};

/// Checks a parsed program.
pub fn check(program: Program) -> (Model, Vec<CheckError>) {
    let mut checker = checker::Checker::new(program.expr_count);
    checker.program(&program);
    checker.finish(program)
}

/// The front end in one call: parse and check `source`, returning the model
/// (when there are no errors) and all diagnostics (errors and warnings).
pub fn compile(source: &str) -> (Option<Model>, Vec<Diagnostic>) {
    let parsed = rlc_syntax::parse(source);
    let mut syntax_errors = parsed.errors;
    let (model, errors) = check(parsed.program);
    for error in &mut syntax_errors {
        // NumPy's `x.shape` is answered with the sizes `x` is declared with.
        if let SyntaxError::Habit {
            span,
            habit: Habit::Shape { array, dims },
        } = error
        {
            *dims = declared_shape(&model, array, *span);
        }
    }
    let mut diagnostics: Vec<Diagnostic> =
        syntax_errors.iter().map(|e| e.to_diagnostic()).collect();
    diagnostics.extend(errors.iter().map(|e| e.to_diagnostic()));
    let failed = diagnostics.iter().any(|d| d.is_error());
    if failed {
        // Data unused in a model that is still being written is noise.
        diagnostics.retain(|d| d.code != "W0103");
    }
    (if failed { None } else { Some(model) }, diagnostics)
}

/// The shape of the model-level name `array` declared before `span`, as
/// text, when it is known.
fn declared_shape(model: &Model, array: &str, span: Span) -> Option<Vec<String>> {
    let symbol = model
        .symbols
        .iter()
        .rev()
        .find(|s| s.top_level && s.name == array && s.span.start < span.start)?;
    Some(symbol.info.ty.shape.iter().map(|d| d.to_string()).collect())
}
