//! The one error type of the driver: what went wrong, in the categories the
//! front ends turn into exit codes (the CLI) or exception classes (Python),
//! with the message worded for the user exactly as the CLI prints it.

use rlc_syntax::Diagnostic;
use std::fmt;

/// The kind of failure; each front end maps it to an exit code or exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The model does not compile.
    Model,
    /// The data does not fit the model's declarations.
    Data,
    /// A bad setting or argument (`chains = 0`, a malformed `--at`, …).
    Usage,
    /// Sampling could not start or finish, or a density evaluation failed.
    Sampling,
    /// Stopped on request (Ctrl-C); what was drawn so far is kept.
    Interrupted,
    /// A bug in rlc.
    Internal,
}

/// A model's diagnostics, kept as data so that each front end renders them
/// (with or without color) or hands them on as structured items.
#[derive(Debug, Clone)]
pub struct ModelReport {
    /// The model's display name (its file name) and text, for rendering.
    pub name: String,
    pub source: String,
    /// Every error and warning, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ModelReport {
    /// The ariadne report of every diagnostic, as `rlc check` prints it.
    pub fn render(&self, color: bool) -> String {
        rlc_syntax::render(&self.diagnostics, &self.name, &self.source, color)
    }

    /// How many of the diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// A failure with its kind, its message and, where there is one, its
/// structured detail.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    /// The message as the command line prints it (may span several lines).
    pub message: String,
    pub detail: ErrorDetail,
}

/// What a front end may want beyond the message.
#[derive(Debug, Clone, Default)]
pub enum ErrorDetail {
    #[default]
    None,
    /// The diagnostics of a model that does not compile.
    Model(Box<ModelReport>),
    /// Every independent error of a data file, with its line and column.
    Data(Vec<rlc_data::DataError>),
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            detail: ErrorDetail::None,
        }
    }
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }
    pub fn data(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Data, message)
    }
    pub fn sampling(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Sampling, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// The model report, for a model error.
    pub fn model_report(&self) -> Option<&ModelReport> {
        match &self.detail {
            ErrorDetail::Model(report) => Some(report),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
