//! The native backend of rlc: compiles an IR `Function` (a log density, its
//! gradient function, or generated quantities) with Cranelift into machine
//! code specialized on the data's concrete sizes, with the data bound once.
//! This crate owns the code generator (`codegen`: value representations,
//! loops, bounds checks, and the lane code that runs two subjects side by
//! side in SIMD registers), the rewrite of row-by-row array ops into loops
//! over rows (`rows`), the tables of costly work on the data alone, computed
//! once when the data are bound (`precompute`), the special functions the code calls (`runtime`),
//! `exp` and `ln` inline (`smath`, `rlc_ir::elementary`'s operations,
//! so the interpreter's bits), the vector kernels for lane code (`vmath`) and the one unsafe module
//! that owns and calls the code (`exec`). With
//! `compile_threaded`, the top-level loop over subjects runs in chunks on
//! the function's own helper threads, giving the same bits as on one thread. It knows
//! nothing of the language's syntax, the checker, the sampler or files: its
//! input is the IR, sizes and flat `f64` data. Its tests (`tests/jit.rs`)
//! compare it with the reference interpreter on every example model; its
//! benchmark is `benches/jit.rs`.
//!
//! ```text
//! let mut f = JitFunction::compile(&grad_ir, &sizes, &data)?;
//! let (mut lp, mut grad) = ([0.0], vec![0.0; dim]);
//! f.call(&theta, &mut [&mut lp, &mut grad])?;
//! ```

mod codegen;
mod exec;
#[cfg(test)]
mod kernel_harness;
mod precompute;
mod rows;
mod runtime;
mod smath;
mod vmath;

use rlc_ir::interp::Tensor;
use rlc_ir::{Function, ValueId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// `f` as the JIT compiles it for `sizes`: each run of ops that work row by
/// row on arrays of short rows made one `scan` over the rows (see `rows`).
/// For structure tests.
#[doc(hidden)]
pub fn row_loops(f: &Function, sizes: &HashMap<String, i64>) -> Function {
    rows::fuse_rows(f, sizes)
}

/// `f` as the JIT compiles it for `sizes` and `data` (flat, one slice per
/// input): its costly data-only values read from tables, and the tables'
/// lengths (see `precompute`); `None` when nothing is precomputed. For
/// structure tests.
#[doc(hidden)]
pub fn with_tables(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &[&[f64]],
) -> Option<(Function, Vec<usize>)> {
    precompute::precompute(f, sizes, data).map(|(g, t)| (g, t.iter().map(Vec::len).collect()))
}

/// Why a function could not be compiled. The caller may fall back to the
/// interpreter.
#[derive(Debug, Clone, PartialEq)]
pub enum JitError {
    /// An op or op form the JIT does not implement.
    Unsupported(String),
    /// A size the function's shapes need is missing or negative.
    Size(String),
    /// The data do not match the function's inputs.
    Data(String),
    /// A constant index or slice is out of range for the given sizes.
    IndexOutOfRange(String),
    /// Cranelift rejected the generated code (a bug of this crate).
    Codegen(String),
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::Unsupported(m) => write!(f, "the JIT does not support {m}"),
            JitError::Size(m) | JitError::Data(m) | JitError::IndexOutOfRange(m) => f.write_str(m),
            JitError::Codegen(m) => write!(f, "code generation failed: {m}"),
        }
    }
}

impl std::error::Error for JitError {}

/// A run of compiled code that failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    /// A data-dependent index was out of range (or not a number).
    IndexOutOfRange {
        /// The indexing op: `index`, `set_subtensor` or `inc_subtensor`.
        op: &'static str,
        /// The value the op defines.
        result: ValueId,
        /// The indexed axis (for a gather, which index array).
        axis: usize,
        /// The index found.
        index: f64,
        /// The axis length.
        len: usize,
    },
    /// `theta` or an output has the wrong length, or the outputs are too few.
    Length {
        what: String,
        expected: usize,
        got: usize,
    },
    /// A bug in rlc: a helper thread of a loop over subjects failed, or the
    /// code reported an error it has no place for.
    Internal(String),
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::IndexOutOfRange {
                op,
                result,
                axis,
                index,
                len,
            } => write!(
                f,
                "index {index} out of range for axis {axis} of length {len} ({op} defining {result})"
            ),
            RuntimeError::Length {
                what,
                expected,
                got,
            } => write!(f, "{what} has length {got}, expected {expected}"),
            RuntimeError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// Where a runtime index check sits: reported with the index found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorSite {
    pub op: &'static str,
    pub result: ValueId,
    pub axis: usize,
    pub len: usize,
}

/// How `JitFunction::compile_with` compiles a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitOptions {
    /// Threads for the top-level loop over subjects (1: the calling thread).
    pub threads: usize,
    /// Subjects two at a time in SIMD lanes, where the loop's body has
    /// nothing lane code does not support. Off by default: on 128-bit
    /// vectors the lane code is not yet faster than the scalar code
    /// (docs/performance.md); its results agree with the scalar code's to
    /// the last bits of its vector `exp` and `log`, and are the same bits
    /// on any number of threads.
    pub lanes: bool,
    /// Costly ops on the data alone (`log` of a trial's probability, the
    /// `log(x)` of the gradient of `pow(x, rho)`) computed once when the
    /// data are bound and read from tables (`precompute`): the same
    /// results, fewer calls per evaluation. On by default; off to measure
    /// what it saves.
    pub precompute: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            threads: 1,
            lanes: false,
            precompute: true,
        }
    }
}

/// An IR function compiled to native code for fixed sizes and data. It owns
/// its workspace (every intermediate buffer, allocated once), so `call`
/// allocates nothing; clone-free sharing of the code is through an `Arc`.
pub struct JitFunction {
    compiled: Arc<codegen::Compiled>,
    workspace: Vec<f64>,
    /// One workspace per extra thread of an outlined loop, with the data bound.
    spare: Vec<Vec<f64>>,
    /// The extra threads, one per spare workspace.
    crew: exec::Crew,
}

impl JitFunction {
    /// Specializes `f` on concrete `sizes` and binds its non-theta inputs:
    /// `data` has one tensor per entry of `f.inputs` (row-major `f64`s, ints
    /// and bools as `f64`, missing cells NaN); the theta slot is ignored.
    pub fn compile(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[Tensor],
    ) -> Result<JitFunction, JitError> {
        Self::compile_threaded(f, sizes, data, 1)
    }

    /// `compile`, with each independent `for` over subjects whose body loops
    /// (and that is at the function's top level) split into `threads` chunks
    /// of iterations run on `threads - 1` helper threads of its own (spinning
    /// briefly between calls, then asleep) and the calling thread. Each iteration's results are kept apart and summed in order, so
    /// the results are the same bits for any `threads`.
    pub fn compile_threaded(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[Tensor],
        threads: usize,
    ) -> Result<JitFunction, JitError> {
        let options = JitOptions {
            threads,
            ..JitOptions::default()
        };
        Self::compile_with(f, sizes, data, options)
    }

    /// `compile` with the given options.
    pub fn compile_with(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[Tensor],
        options: JitOptions,
    ) -> Result<JitFunction, JitError> {
        let slices: Vec<&[f64]> = data.iter().map(|t| t.data.as_slice()).collect();
        let mut slices = slices;
        // The theta slot may be given as an empty tensor.
        for (i, input) in f.inputs.iter().enumerate() {
            if *input == rlc_ir::Input::Theta && i < slices.len() {
                slices[i] = &[];
            }
        }
        Self::compile_padded(f, sizes, &slices, 0, options)
    }

    /// `compile` with the data as flat slices (each checked only for length).
    pub fn compile_flat(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[&[f64]],
    ) -> Result<JitFunction, JitError> {
        Self::compile_flat_with(f, sizes, data, JitOptions::default())
    }

    /// `compile_flat` with the given options.
    pub fn compile_flat_with(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[&[f64]],
        options: JitOptions,
    ) -> Result<JitFunction, JitError> {
        let mut data = data.to_vec();
        for (i, input) in f.inputs.iter().enumerate() {
            if *input == rlc_ir::Input::Theta && i < data.len() {
                data[i] = &[];
            }
        }
        Self::compile_padded(f, sizes, &data, 0, options)
    }

    /// `compile_flat` with `padding` unused elements before the first
    /// buffer, so that every buffer sits past `8 · padding` bytes: the tests
    /// check with it that addresses past 2 GiB do not wrap (the padding is
    /// zeroed memory never touched, which the OS does not back).
    #[doc(hidden)]
    pub fn compile_padded(
        f: &Function,
        sizes: &HashMap<String, i64>,
        data: &[&[f64]],
        padding: usize,
        options: JitOptions,
    ) -> Result<JitFunction, JitError> {
        let threads = options.threads;
        let compiled = codegen::compile_padded(
            f,
            sizes,
            data,
            padding,
            threads,
            options.lanes,
            options.precompute,
        )?;
        Ok(Self::from_compiled(compiled))
    }

    /// The compiled code with its workspace (the data bound) and helpers.
    pub(crate) fn from_compiled(compiled: codegen::Compiled) -> JitFunction {
        let mut workspace = vec![0.0; compiled.workspace_len];
        for (off, values) in &compiled.data {
            workspace[*off..*off + values.len()].copy_from_slice(values);
        }
        let spare = vec![workspace.clone(); compiled.code.spare_workspaces()];
        let crew = exec::Crew::new(spare.len());
        JitFunction {
            compiled: Arc::new(compiled),
            workspace,
            spare,
            crew,
        }
    }

    /// The number of loops split across threads (the structure tests read it).
    pub fn threaded_loops(&self) -> usize {
        self.compiled.code.threaded_loops()
    }

    /// The number of loops over subjects that run two subjects at a time in
    /// SIMD lanes (the structure tests read it).
    pub fn lane_loops(&self) -> usize {
        self.compiled.lane_loops
    }

    /// The number of theta coordinates the function takes (0 if it has none).
    pub fn theta_len(&self) -> usize {
        self.compiled.theta.map_or(0, |(_, n)| n)
    }

    /// The number of `f64` slots of the compiled code's workspace: its
    /// inputs, results and every array it stores (the structure tests read
    /// it to see that a fused chain of array ops stores nothing between).
    pub fn workspace_len(&self) -> usize {
        self.compiled.workspace_len
    }

    /// The number of elements of each result.
    pub fn result_lens(&self) -> Vec<usize> {
        self.compiled.results.iter().map(|(_, n)| *n).collect()
    }

    /// Runs the function at `theta`; `outputs[i]` receives result `i`
    /// flattened row-major (a log density: length 1; a gradient: length dim).
    pub fn call(&mut self, theta: &[f64], outputs: &mut [&mut [f64]]) -> Result<(), RuntimeError> {
        let c = &*self.compiled;
        if let Some((off, n)) = c.theta {
            if theta.len() != n {
                return Err(RuntimeError::Length {
                    what: "theta".into(),
                    expected: n,
                    got: theta.len(),
                });
            }
            self.workspace[off..off + n].copy_from_slice(theta);
        }
        if outputs.len() < c.results.len() {
            return Err(RuntimeError::Length {
                what: "the outputs".into(),
                expected: c.results.len(),
                got: outputs.len(),
            });
        }
        for (i, ((_, n), out)) in c.results.iter().zip(outputs.iter()).enumerate() {
            if out.len() != *n {
                return Err(RuntimeError::Length {
                    what: format!("output {i}"),
                    expected: *n,
                    got: out.len(),
                });
            }
        }
        let status = c.code.run(&mut self.workspace, &mut self.spare, &self.crew);
        if status != 0 {
            let site = usize::try_from(status - 1)
                .ok()
                .and_then(|s| c.sites.get(s))
                .cloned()
                .ok_or_else(|| {
                    RuntimeError::Internal(if status == i64::MAX {
                        "a helper thread's part of a loop over subjects panicked".into()
                    } else {
                        format!("the compiled code reported an unknown error ({status})")
                    })
                })?;
            return Err(RuntimeError::IndexOutOfRange {
                op: site.op,
                result: site.result,
                axis: site.axis,
                index: self.workspace[codegen::ERROR_SLOT],
                len: site.len,
            });
        }
        for ((off, n), out) in c.results.iter().zip(outputs.iter_mut()) {
            out.copy_from_slice(&self.workspace[*off..*off + n]);
        }
        Ok(())
    }
}

impl Clone for JitFunction {
    /// Shares the code; the clone has its own workspace (for another thread).
    fn clone(&self) -> JitFunction {
        JitFunction {
            compiled: Arc::clone(&self.compiled),
            workspace: self.workspace.clone(),
            spare: self.spare.clone(),
            crew: exec::Crew::new(self.spare.len()),
        }
    }
}
