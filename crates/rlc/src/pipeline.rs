//! The compiler pipeline as the commands use it: source → checked model →
//! IR → gradient IR, with diagnostics rendered for the terminal.

use crate::exit::{ExitCode, Failure};
use rlc_check::Model;
use rlc_ir::{Function, ModelIr};
use std::path::Path;
use std::time::{Duration, Instant};

/// A model compiled down to its gradient function.
pub struct Compiled {
    /// The model's file name and text, for locating run-time errors.
    pub name: String,
    pub source: String,
    pub model: Model,
    pub ir: ModelIr,
    pub gradient: Function,
    /// Time spent in the front end, lowering and autodiff.
    pub front_end: Duration,
    pub lowering: Duration,
    pub autodiff: Duration,
}

/// Reads a model file, with a readable error for a missing or non-UTF-8 file.
pub fn read_model(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "error: cannot read the model file {}: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::usage(format!(
            "error: the model file {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Checks `source`, printing its diagnostics; fails with a model error.
pub fn check(source: &str, name: &str, color: bool) -> Result<Model, Failure> {
    let (model, diagnostics) = rlc_check::compile(source);
    if !diagnostics.is_empty() {
        eprint!("{}", rlc_syntax::render(&diagnostics, name, source, color));
    }
    model.ok_or_else(|| {
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        Failure::new(
            ExitCode::ModelError,
            format!(
                "error: {name} has {errors} error{}",
                if errors == 1 { "" } else { "s" }
            ),
        )
    })
}

/// The whole compiler: front end, lowering, autodiff, each verified.
pub fn compile(source: &str, name: &str, color: bool) -> Result<Compiled, Failure> {
    let start = Instant::now();
    let model = check(source, name, color)?;
    let front_end = start.elapsed();
    let start = Instant::now();
    let ir = rlc_ir::lower(&model).map_err(|e| {
        let diagnostic = rlc_syntax::Diagnostic::error(
            "E0190",
            format!("this model cannot be compiled yet: {}", e.message),
        )
        .with_label(rlc_syntax::Label::primary(e.span, "not supported"));
        eprint!("{}", rlc_syntax::render(&[diagnostic], name, source, color));
        Failure::new(
            ExitCode::ModelError,
            format!("error: {name} uses a feature the compiler does not support yet"),
        )
    })?;
    let lowering = start.elapsed();
    let start = Instant::now();
    let gradient = rlc_autodiff::gradient(&ir.log_density).map_err(|e| {
        Failure::new(
            ExitCode::InternalError,
            format!("internal error: differentiating {name}: {e}"),
        )
    })?;
    let autodiff = start.elapsed();
    if cfg!(debug_assertions) {
        for f in [&ir.log_density, &ir.generated, &gradient] {
            if let Err(errors) = rlc_ir::verify::verify(f) {
                let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Err(Failure::new(
                    ExitCode::InternalError,
                    format!(
                        "internal error: the IR of {name} is invalid:\n{}",
                        list.join("\n")
                    ),
                ));
            }
        }
    }
    Ok(Compiled {
        name: name.to_string(),
        source: source.to_string(),
        model,
        ir,
        gradient,
        front_end,
        lowering,
        autodiff,
    })
}

impl Compiled {
    /// `file:line:column (`source text`)` for a byte range of the model.
    pub fn locate(&self, span: (usize, usize)) -> String {
        let start = span.0.min(self.source.len());
        let before = self.source.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let text = self.source.get(span.0..span.1).unwrap_or("").trim();
        let text: String = text.chars().take(60).collect();
        format!("{}:{line}:{column} (`{text}`)", self.name)
    }
}
