//! Writing to standard output and standard error without panicking.
//!
//! `println!` panics when the write fails (a full disk behind a redirection,
//! `/dev/full`). Every line rlc prints goes through `outln!`/`out!` (standard
//! output) or `errln!`/`err!` (standard error) instead: a failed write is
//! remembered, the command goes on (the files it writes matter more than its
//! terminal output), and `main` ends with exit code 74 and a message
//! (`finish`). A closed pipe (`rlc … | head`) still ends the program quietly
//! by SIGPIPE, as with other command-line tools.

use std::io::Write;
use std::sync::Mutex;

/// The first failed write: which stream and the error.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

fn remember(stream: &str, error: std::io::Error) {
    if let Ok(mut failure) = FAILURE.lock() {
        failure.get_or_insert_with(|| format!("cannot write to {stream}: {error}"));
    }
}

/// Writes to standard output, remembering a failure.
pub fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        remember("standard output", e);
    }
}

/// Writes to standard error, remembering a failure.
pub fn err(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stderr().lock().write_fmt(args) {
        remember("standard error", e);
    }
}

/// Flushes standard output; the first write that failed, if any.
pub fn finish() -> Option<String> {
    if let Err(e) = std::io::stdout().lock().flush() {
        remember("standard output", e);
    }
    FAILURE.lock().ok().and_then(|f| f.clone())
}

/// `println!` that does not panic (see the module doc).
macro_rules! outln {
    () => {
        $crate::console::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that does not panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!($($arg)*))
    };
}

/// `eprintln!` that does not panic.
macro_rules! errln {
    () => {
        $crate::console::err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that does not panic.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::console::err(format_args!($($arg)*))
    };
}

/// Pads `text` with spaces to `width` characters (left-aligned): the
/// formatting machinery's `{:width$}` panics for widths past 65,535, which
/// a long parameter name reaches.
pub fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    let mut s = String::with_capacity(text.len() + width.saturating_sub(n));
    s.push_str(text);
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    s
}
