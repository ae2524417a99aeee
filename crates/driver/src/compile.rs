//! The compiler pipeline: source → checked model → IR → gradient IR, each
//! stage verified, with diagnostics returned as data.

use crate::error::{Error, ErrorDetail, ErrorKind, ModelReport};
use rlc_check::Model;
use rlc_ir::{Function, ModelIr};
use rlc_syntax::Diagnostic;
use std::time::{Duration, Instant};

/// A model compiled down to its gradient function.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The model's display name (file name) and text, for locating run-time errors.
    pub name: String,
    pub source: String,
    pub model: Model,
    pub ir: ModelIr,
    pub gradient: Function,
    /// The warnings of a model that compiles (errors make [`compile`] fail).
    pub warnings: Vec<Diagnostic>,
    /// Time spent in the front end, lowering and autodiff.
    pub front_end: Duration,
    pub lowering: Duration,
    pub autodiff: Duration,
    /// Where each line of `source` starts, for [`Compiled::locate`].
    lines: LineIndex,
}

/// Where each line of a model's text starts: locating a span is a binary
/// search, not a scan of the text before it (a model has a span for every
/// value, so that would be quadratic).
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    /// The byte offset at which each line starts.
    starts: Vec<usize>,
    /// Whether each line is ASCII, where a column is a byte offset (a long
    /// array literal on one line would otherwise make locating quadratic).
    ascii: Vec<bool>,
}

impl LineIndex {
    pub(crate) fn new(source: &str) -> LineIndex {
        LineIndex {
            ascii: source.split('\n').map(|l| l.is_ascii()).collect(),
            starts: std::iter::once(0)
                .chain(source.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    /// `name:line:column (`source text`)` for a byte range of `source` (the
    /// text this index was made from).
    pub(crate) fn locate(&self, name: &str, source: &str, span: (usize, usize)) -> String {
        let start = span.0.min(source.len());
        // The number of lines starting at or before `start` (starts[0] = 0).
        let line = self.starts.partition_point(|&s| s <= start).max(1);
        let line_start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = if self.ascii.get(line - 1).copied().unwrap_or(false) {
            start - line_start
        } else {
            source
                .get(line_start..start)
                .map_or(0, |l| l.chars().count())
        } + 1;
        let text = source.get(span.0..span.1).unwrap_or("").trim();
        let text: String = text.chars().take(60).collect();
        format!("{name}:{line}:{column} (`{text}`)")
    }
}

/// A checked model and its warnings.
#[derive(Debug, Clone)]
pub struct Checked {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

fn model_error(name: &str, source: &str, diagnostics: Vec<Diagnostic>, message: String) -> Error {
    Error {
        kind: ErrorKind::Model,
        message,
        detail: ErrorDetail::Model(Box::new(ModelReport {
            name: name.to_string(),
            source: source.to_string(),
            diagnostics,
        })),
    }
}

/// Parses and checks `source` (displayed as `name` in diagnostics): the
/// checked model and its warnings, or a model error holding every diagnostic.
pub fn check(source: &str, name: &str) -> Result<Checked, Error> {
    let (model, diagnostics) = rlc_check::compile(source);
    match model {
        Some(model) => Ok(Checked {
            model,
            warnings: diagnostics,
        }),
        None => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let message = format!(
                "error: {name} has {errors} error{}",
                if errors == 1 { "" } else { "s" }
            );
            Err(model_error(name, source, diagnostics, message))
        }
    }
}

/// The whole compiler: front end, lowering, autodiff, each verified.
pub fn compile(source: &str, name: &str) -> Result<Compiled, Error> {
    let start = Instant::now();
    let Checked { model, warnings } = check(source, name)?;
    let front_end = start.elapsed();
    let start = Instant::now();
    let ir = rlc_ir::lower(&model).map_err(|e| {
        let diagnostic = Diagnostic::error(
            "E0190",
            format!("this model cannot be compiled yet: {}", e.message),
        )
        .with_label(rlc_syntax::Label::primary(e.span, "not supported"));
        let mut diagnostics = warnings.clone();
        diagnostics.push(diagnostic);
        model_error(
            name,
            source,
            diagnostics,
            format!("error: {name} uses a feature the compiler does not support yet"),
        )
    })?;
    let lowering = start.elapsed();
    let start = Instant::now();
    let gradient = rlc_autodiff::gradient(&ir.log_density)
        .map_err(|e| Error::internal(format!("internal error: differentiating {name}: {e}")))?;
    let autodiff = start.elapsed();
    if cfg!(debug_assertions) {
        for f in [&ir.log_density, &ir.generated, &gradient] {
            if let Err(errors) = rlc_ir::verify::verify(f) {
                let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Err(Error::internal(format!(
                    "internal error: the IR of {name} is invalid:\n{}",
                    list.join("\n")
                )));
            }
        }
    }
    Ok(Compiled {
        name: name.to_string(),
        source: source.to_string(),
        model,
        ir,
        gradient,
        warnings,
        front_end,
        lowering,
        autodiff,
        lines: LineIndex::new(source),
    })
}

impl Compiled {
    /// The names of the outs written in loops (`out pe[n, t] = …`), which the
    /// draws hold only after [`Compiled::with_loop_outs`].
    pub fn loop_out_names(&self) -> Vec<String> {
        self.model
            .loop_outs
            .iter()
            .map(|(id, _)| self.model.symbol(*id).name.clone())
            .collect()
    }

    /// The model with its outs written in loops among the generated quantities
    /// (after the other outs): every draw then runs the model's loops once more
    /// to compute them. The log density and its gradient are unchanged.
    pub fn with_loop_outs(mut self) -> Result<Compiled, Error> {
        if self.model.loop_outs.is_empty() || self.ir.outs.iter().any(|o| o.in_loops) {
            return Ok(self);
        }
        let ir = rlc_ir::lower_with_loop_outs(&self.model).map_err(|e| {
            Error::internal(format!(
                "internal error: lowering the outs written in loops of {}: {}",
                self.name, e.message
            ))
        })?;
        self.ir.generated = ir.generated;
        self.ir.outs = ir.outs;
        Ok(self)
    }

    /// The data the model declares: the names of its `data` variables and of
    /// its sizes, each in declaration order (empty for a model of its
    /// parameters alone, which needs no data file).
    pub fn declared_data(&self) -> (Vec<String>, Vec<String>) {
        let name = |id| self.model.symbol(id).name.clone();
        (
            self.model.data.iter().map(|d| name(d.symbol)).collect(),
            self.model.sizes.iter().map(|&id| name(id)).collect(),
        )
    }

    /// `file:line:column (`source text`)` for a byte range of the model.
    pub fn locate(&self, span: (usize, usize)) -> String {
        self.lines.locate(&self.name, &self.source, span)
    }

    /// The line index of the model's text, for a density that outlives it.
    pub(crate) fn lines(&self) -> &LineIndex {
        &self.lines
    }

    /// The model's warnings, rendered as `rlc check` prints them (empty when none).
    pub fn render_warnings(&self, color: bool) -> String {
        if self.warnings.is_empty() {
            String::new()
        } else {
            rlc_syntax::render(&self.warnings, &self.name, &self.source, color)
        }
    }
}
