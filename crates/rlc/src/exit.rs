//! Exit codes and the one error type `main` turns into a message and a code.

use std::fmt;

/// The process exit codes, listed in `rlc --help` and `docs/cli.md`.
// The whole table is the documented contract (`rlc --help`); some codes
// belong to commands (`logp`, `run`) that return them as they land.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    ModelError = 1,
    UsageError = 2,
    DataError = 3,
    SamplingFailure = 4,
    /// Stopped by Ctrl-C; the files hold the draws made so far.
    Interrupted = 130,
    InternalError = 70,
}

/// A failure that ends the command: its message (already worded for the
/// user) and its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(ExitCode::UsageError, message)
    }
}

impl From<rlc_driver::Error> for Failure {
    fn from(error: rlc_driver::Error) -> Failure {
        use rlc_driver::ErrorKind as K;
        let code = match error.kind {
            K::Model => ExitCode::ModelError,
            K::Data => ExitCode::DataError,
            K::Usage => ExitCode::UsageError,
            K::Sampling => ExitCode::SamplingFailure,
            K::Interrupted => ExitCode::Interrupted,
            K::Internal => ExitCode::InternalError,
        };
        // A model error's diagnostics go with its message unless the caller
        // printed them already (`report` in main.rs takes them out first).
        let message = match error.model_report() {
            Some(report) if !report.diagnostics.is_empty() => {
                format!("{}{}", report.render(false), error.message)
            }
            _ => error.message,
        };
        Failure::new(code, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
