//! The checked model: the AST together with side tables of everything the
//! checker inferred. This is the input of IR lowering, which therefore never
//! re-derives a type, a shape or a name resolution.

use crate::builtins::{Distribution, Function};
use crate::dim::Dim;
use crate::types::{ExprInfo, IntRange};
use rlc_syntax::ast::{ExprId, Program, Span};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolId(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub enum SymbolKind {
    Size {
        group_by: Option<String>,
        largest_of: Option<LargestOf>,
        /// `size L = 3`: the value where the data do not give one.
        default: Option<i64>,
    },
    Data,
    Param,
    Let,
    Out,
    /// An out written in loops, `out pe[n, t] = …`: the model cannot read it.
    LoopOut,
    LoopVar,
    ScanCarry,
    ScanElement,
}

/// A size taken from the data's values, `size K = max(choice) + 1`: the
/// largest present value of the int data variable `data`, plus `plus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargestOf {
    pub data: String,
    pub plus: i64,
}

/// A named value and what is known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    pub info: ExprInfo,
    /// The name at its definition.
    pub span: Span,
    /// Where its shape was decided (the declared type or the bound value).
    pub shape_span: Span,
    /// Declared at the model level (not inside a loop, scan or branch).
    pub top_level: bool,
}

/// What a call resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    Function(Function),
    Distribution(Distribution),
    Present,
    SetSubtensor,
    IncSubtensor,
    /// `logp(dist, y)`: its arguments are the distribution call and the value.
    Logp,
}

/// A resolved call: arguments in the signature's order (keyword arguments
/// placed at their position), and the options as constants.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    pub callee: Callee,
    pub args: Vec<ExprId>,
    /// For distributions, which parameterization (`p` or `logits`, …).
    pub parameterization: usize,
    /// The parameter names of the chosen parameterization, in `args` order.
    pub arg_names: Vec<&'static str>,
    /// `axis=`, normalized to be non-negative.
    pub axis: Option<usize>,
    pub keepdims: bool,
}

/// How one position of `x[…]` indexes its axis, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisIndex {
    /// One element; `constant` is set for a literal index, with negative
    /// literals already counted from the end.
    Scalar {
        constant: Option<Dim>,
        needs_bounds_check: bool,
    },
    /// A slice with static bounds, negative bounds already resolved.
    Slice { start: Dim, stop: Dim },
    /// An integer array of indices.
    Gather { needs_bounds_check: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexInfo {
    pub axes: Vec<AxisIndex>,
}

/// One end of a parameter's constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Const(f64),
    /// An expression (e.g. `Uniform(a, b)`'s arguments), with its span.
    Expr(ExprId, Span),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraint {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub symbol: SymbolId,
    pub constraint: Constraint,
    /// The prior's call expression (resolved in `calls`).
    pub prior: Option<ExprId>,
    /// Whether the transform keeps the parameter inside its prior's support:
    /// no declared bounds (the transform is the support's), constant bounds
    /// checked against a constant support (E0162), or a prior on the whole
    /// line. False where declared bounds or the support depend on other
    /// values (`in (lo, inf) ~ Exponential(1)`): the log density then checks
    /// the support itself.
    pub within_prior_support: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataInfo {
    pub symbol: SymbolId,
    pub int_range: Option<IntRange>,
    pub interval: Option<DataInterval>,
    /// `data RTbound: real = 0.1`, `data mu0: real[2] = [0.5, 1.0]`: the cells
    /// (row-major; one for a scalar) when the data file leaves the variable out.
    pub default: Option<Vec<f64>>,
    /// The lengths of the default's axes (`[2]` for `data mu0: real[L - 1] =
    /// [0.5, 1.0]`): its dimensions at the sizes' defaults.
    pub default_shape: Vec<usize>,
}

/// A real data variable's declared interval: `in [0, inf)` is
/// `lo: 0, lo_closed: true, hi: inf, hi_closed: false`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataInterval {
    pub lo: f64,
    pub hi: f64,
    pub lo_closed: bool,
    pub hi_closed: bool,
}

impl DataInterval {
    /// Whether `value` lies in the interval.
    pub fn contains(&self, value: f64) -> bool {
        let above = if self.lo_closed {
            value >= self.lo
        } else {
            value > self.lo
        };
        let below = if self.hi_closed {
            value <= self.hi
        } else {
            value < self.hi
        };
        above && below
    }
}

/// `(0, inf)`, `[0, 1]`, as written in a model.
impl std::fmt::Display for DataInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}, {}{}",
            if self.lo_closed { '[' } else { '(' },
            self.lo,
            self.hi,
            if self.hi_closed { ']' } else { ')' }
        )
    }
}

/// A fact about the sizes that the compiler could not prove and the data
/// loader must check: `expr >= 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeRequirement {
    pub nonnegative: Dim,
    pub span: Span,
    pub why: String,
}

/// A checked program.
#[derive(Debug, Clone)]
pub struct Model {
    pub program: Program,
    /// Indexed by `ExprId`; `None` where checking failed.
    pub exprs: Vec<Option<ExprInfo>>,
    pub symbols: Vec<Symbol>,
    /// The symbol each name expression refers to.
    pub names: HashMap<ExprId, SymbolId>,
    /// The symbol each definition introduces, keyed by its name's start offset.
    pub bindings: HashMap<usize, SymbolId>,
    pub calls: HashMap<ExprId, CallInfo>,
    pub indexes: HashMap<ExprId, IndexInfo>,
    pub sizes: Vec<SymbolId>,
    pub data: Vec<DataInfo>,
    pub params: Vec<ParamInfo>,
    pub outs: Vec<SymbolId>,
    /// The outs written in loops (`out pe[n, t] = …`), in program order, each
    /// with the loop variables that index it, outermost first: real arrays
    /// whose elements no step writes are missing.
    pub loop_outs: Vec<(SymbolId, Vec<SymbolId>)>,
    pub size_requirements: Vec<SizeRequirement>,
    /// Each `~` on data (a data variable, an element or a slice of one), in
    /// program order: the explainer names the rows of an observation outside
    /// its distribution's support, and angles under `VonMises` are checked to
    /// look like radians.
    pub observations: Vec<Observation>,
}

/// A `~` whose left side is a data variable, or an element or slice of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub data: SymbolId,
    pub distribution: crate::builtins::Distribution,
    /// The whole statement, and its left side.
    pub statement: Span,
    pub lhs: Span,
}

impl Model {
    pub fn symbol(&self, id: SymbolId) -> &Symbol {
        &self.symbols[id.0 as usize]
    }
    pub fn info(&self, id: ExprId) -> Option<&ExprInfo> {
        self.exprs.get(id.0 as usize).and_then(|i| i.as_ref())
    }
    pub fn binding(&self, name_span: Span) -> Option<SymbolId> {
        self.bindings.get(&name_span.start).copied()
    }
}
