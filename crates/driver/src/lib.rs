//! The rlc compiler and sampler as a library, data in and data out: compile a
//! model's source ([`compile`]), load data for it ([`data::load`] from a
//! file's bytes: the Python package serializes DataFrames and dicts to CSV or
//! JSON so they load exactly as files do), bind the two
//! into a log density on the JIT or the interpreter ([`Density`]), sample it
//! with NUTS ([`sample::sample`], progress and draws reported to an
//! [`sample::Observer`], the whole fit returned in memory), and summarize the
//! draws ([`summary`]); lay a run out as the groups of an ArviZ `DataTree`
//! ([`tree`]), the one layout the Python package and the CLI's Zarr output share.
//!
//! It owns the order of the compiler stages, the adaptation of a compiled
//! model to the sampler's `LogDensity` trait and of the checker's
//! declarations to the data loader's `DataSpec`, and the names of the output
//! columns. It does no file IO and never talks to the terminal: diagnostics
//! are returned as data ([`ModelReport`]) and rendered by the caller, notes
//! are returned rather than printed, and errors are one [`Error`] type whose
//! [`ErrorKind`] the front ends map to exit codes (the `rlc` CLI) or
//! exception classes (the Python package). It knows nothing of command-line
//! flags, exit codes, Python or file formats for output.
//!
//! Its behaviour is tested through the front ends: `crates/rlc/tests` (the
//! CLI) and `python/tests` (the package); `tests/driver.rs` checks the
//! library's own contract (errors as data, in-memory fits, same draws as the
//! CLI).

pub mod compile;
pub mod data;
pub mod density;
mod error;
pub mod generate;
pub mod labels;
pub mod memory;
pub mod point;
pub mod predictive;
pub mod recover;
pub mod sample;
pub mod summary;
pub mod tree;

pub use compile::{compile, Compiled};
pub use data::Data;
pub use density::{threads_per_chain, Backend, Density};
pub use error::{Error, ErrorDetail, ErrorKind, ModelReport};
