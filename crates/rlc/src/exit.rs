//! Exit codes and the one error type `main` turns into a message and a code.

use std::fmt;

/// The process exit codes, listed in `rlc --help` and `docs/cli.md`.
// The whole table is the documented contract (`rlc --help`); some codes
// belong to commands (`logp`, `run`) that return them as they land.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    ModelError,
    UsageError,
    DataError,
    SamplingFailure,
    /// A write failed (a full disk, a closed file system): an output file
    /// or the terminal output is incomplete. (`EX_IOERR` of sysexits.h.)
    OutputError,
    /// The output folder is in use by another run (its lock file).
    /// (`EX_TEMPFAIL`: try again when that run ends.)
    OutputInUse,
    /// Stopped by a signal: Ctrl-C (SIGINT, 130), SIGTERM (143, as a
    /// scheduler at a time limit sends), SIGHUP (129); the files hold the
    /// draws made so far. The code is 128 + the signal's number.
    Interrupted(i32),
    InternalError,
}

impl ExitCode {
    /// The process's exit status.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::ModelError => 1,
            ExitCode::UsageError => 2,
            ExitCode::DataError => 3,
            ExitCode::SamplingFailure => 4,
            ExitCode::InternalError => 70,
            ExitCode::OutputError => 74,
            ExitCode::OutputInUse => 75,
            ExitCode::Interrupted(signal) => 128 + signal,
        }
    }
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
            K::Interrupted => ExitCode::Interrupted(crate::signals::received().unwrap_or(2)),
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
        // Say which signal stopped the run.
        let message = match (code, crate::signals::received()) {
            (ExitCode::Interrupted(_), Some(signal)) => match message.strip_prefix("interrupted") {
                Some(rest) => format!("interrupted by {}{rest}", crate::signals::describe(signal)),
                None => message,
            },
            _ => message,
        };
        Failure::new(code, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
