//! The IR of rlc: a typed, shape-explicit SSA form of a model's log density
//! with structured loops (`scan` as a region with carries, `for` with
//! independent iterations, `if` with two regions) — see `ir.rs` for its
//! conventions. This crate owns the IR data structures, the lowering from a
//! checked model (`lower`, the only module that reads the AST), the text
//! form (`print`), the verifier (`verify`), the reference interpreter
//! (`interp`), the special functions both back ends call (`special`), and
//! rlc's own `exp` and `ln` (`elementary`, with their tables), which
//! the interpreter calls and the JIT emits inline, operation for operation.
//! It knows nothing of autodiff, Cranelift, files or sampling.
//! Tests: `tests/` (interpreter and verifier on hand-built functions, and the
//! lowered example models).

pub mod elementary;
#[rustfmt::skip]
mod elementary_tables;
pub mod interp;
pub mod ir;
pub mod lower;
pub mod opt;
pub mod print;
pub mod special;
pub mod verify;

pub use ir::*;
pub use lower::{
    lower, lower_generative, lower_with_loop_outs, Channel, GenerativeIr, GenerativeOptions,
    LowerError, ObservedLayout, ParamSource,
};
