//! The IR's in-memory form: functions made of regions of SSA operations on
//! typed tensors with symbolic shapes.
//!
//! Conventions every pass relies on (checked by `verify`):
//! * Every value has one definition: a region argument or an op result.
//!   Its type (element type and symbolic shape) is in `Function::values`.
//! * A region uses only its own arguments and values defined earlier in
//!   itself. Nothing is captured implicitly: loops and branches receive the
//!   outer values they need as explicit *captures*, so a region's free
//!   variables are exactly its arguments.
//! * Elementwise ops take operands of identical shape; broadcasting is an
//!   explicit `BroadcastTo` (whose adjoint is `SumTo`).
//! * Integers and booleans are carried as `Int`/`Bool` values; a missing
//!   data cell is NaN, tested by `IsPresent`.

pub use rlc_check::model::AxisIndex;
pub use rlc_check::Dim;
use std::collections::{HashMap, HashSet};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Elem {
    Real,
    Int,
    Bool,
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Elem::Real => "real",
            Elem::Int => "int",
            Elem::Bool => "bool",
        })
    }
}

/// The type of a value: element type and symbolic shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub elem: Elem,
    pub shape: Vec<Dim>,
}

impl TensorType {
    pub fn scalar(elem: Elem) -> TensorType {
        TensorType {
            elem,
            shape: Vec::new(),
        }
    }
    pub fn new(elem: Elem, shape: Vec<Dim>) -> TensorType {
        TensorType { elem, shape }
    }
    pub fn real(shape: Vec<Dim>) -> TensorType {
        TensorType::new(Elem::Real, shape)
    }
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.elem)?;
        if !self.shape.is_empty() {
            let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
            write!(f, "[{}]", dims.join(", "))?;
        }
        Ok(())
    }
}

/// A value: an index into `Function::values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Elementwise operations of one operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    /// Boolean negation.
    Not,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Abs,
    /// `log(1 + exp(x))`, computed without overflow (softplus).
    Log1pExp,
    /// `1 / (1 + exp(-x))`.
    Logistic,
    Lgamma,
    /// The derivative of `Lgamma`.
    Digamma,
    /// The derivative of `Digamma`.
    Trigamma,
    /// The standard normal CDF.
    Phi,
    Sin,
    Cos,
    Tanh,
    /// `ln Phi(x)`, finite for every finite `x` (`special::log_phi`).
    LogPhi,
    /// The derivative of `LogPhi`: `phi(x) / Phi(x)`.
    LogPhiSlope,
    /// `ln(I0(x) e^-|x|)`, the log of the scaled modified Bessel function
    /// of order 0 (`special::log_bessel_i0e`): the von Mises normalizer.
    LogBesselI0e,
    /// The derivative of `LogBesselI0e`.
    LogBesselI0eSlope,
    /// The standard normal quantile, `Phi^-1` (`special::inv_phi`).
    InvPhi,
    /// Mills' ratio `Phi(-x) / phi(x)` (`special::mills_ratio`), finite where both
    /// underflow; its derivative is `x R(x) - 1`.
    MillsRatio,
}

/// Elementwise operations of two operands of one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `atan2(y, x)`: the angle of the point `(x, y)`, in `[-pi, pi]`.
    Atan2,
    Max,
    Min,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    /// `log(sum(exp(x)))`, stabilized by the maximum.
    LogSumExp,
}

/// Elementwise functions of several operands (all real, of one shape) that are
/// calls to Rust functions, with one result or several of that shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialFn {
    /// Stan's `wiener_lpdf(y | alpha, tau, beta, delta)` (`rlc_random::wiener`):
    /// operands `y, alpha, tau, beta, delta`; one result.
    WienerLpdf,
    /// The partial derivatives of `WienerLpdf` in its five operands, in their
    /// order: five results.
    WienerGradient,
}

impl SpecialFn {
    /// The number of operands.
    pub fn arity(self) -> usize {
        match self {
            SpecialFn::WienerLpdf | SpecialFn::WienerGradient => 5,
        }
    }
    /// The number of results.
    pub fn results(self) -> usize {
        match self {
            SpecialFn::WienerLpdf => 1,
            SpecialFn::WienerGradient => 5,
        }
    }
    /// The name in the IR's text form.
    pub fn name(self) -> &'static str {
        match self {
            SpecialFn::WienerLpdf => "wiener_lpdf",
            SpecialFn::WienerGradient => "wiener_lpdf_gradient",
        }
    }
    /// Why a result for the operands `args` is not finite where the numbers alone do
    /// not say (the Wiener density is 0 at a time at or below `tau`, or at a bias of
    /// exactly 0 or 1); `readable` prints a number.
    pub fn why_not_finite(self, args: &[f64], readable: impl Fn(f64) -> String) -> Option<String> {
        let SpecialFn::WienerLpdf = self else {
            return None;
        };
        let &[y, _, tau, beta, _] = args else {
            return None;
        };
        if y <= tau {
            Some(format!(
                "the response time {} is not above the non-decision time tau = {}, where the Wiener density is 0 (tau must stay below the fastest response: bound it by it, as hBayesDM's `tau = Phi_approx(…) * (minRT - RTbound) + RTbound`, or start the chains below it with `--init`)",
                readable(y),
                readable(tau)
            ))
        } else if beta <= 0.0 || beta >= 1.0 {
            Some(format!(
                "the bias beta = {} is not strictly between 0 and 1, where the Wiener density is 0",
                readable(beta)
            ))
        } else {
            None
        }
    }
    /// Computes the results for one element: `args` has `arity()` numbers,
    /// `out` has `results()` slots. This is the function the JIT calls too.
    pub fn eval(self, args: &[f64], out: &mut [f64]) {
        let (y, alpha, tau, beta, delta) = (args[0], args[1], args[2], args[3], args[4]);
        match self {
            SpecialFn::WienerLpdf => out[0] = rlc_random::wiener::lpdf(y, alpha, tau, beta, delta),
            SpecialFn::WienerGradient => {
                let g = rlc_random::wiener::lpdf_gradient(y, alpha, tau, beta, delta);
                out[..5].copy_from_slice(&g.partials);
            }
        }
    }
}

/// The distribution a `Random` op draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RandomDist {
    /// A family of scalar draws (Normal, Bernoulli with `p`, …).
    Scalar(rlc_random::Family),
    /// A 0-based category from probabilities or logits along the last axis.
    /// `ordered`: the logits are an `OrderedLogistic`'s categories (NaN where its
    /// cutpoints do not increase), which a failed draw's message names.
    Categorical { logits: bool, ordered: bool },
    /// Each accumulator's finishing time of a linear ballistic accumulator
    /// (`rlc_random::draw_lba_finish_times`), `+inf` for a negative drift, the
    /// accumulators along the last axis, given that one finishes: arguments `d, A,
    /// v, s`, each of the result's shape.
    LbaFinishTimes,
}

impl RandomDist {
    /// The number of distribution arguments (before any truncation bounds).
    pub fn arity(self) -> usize {
        match self {
            RandomDist::Scalar(f) => f.arity(),
            RandomDist::Categorical { .. } => 1,
            RandomDist::LbaFinishTimes => 4,
        }
    }
    /// Whether the draws are integers.
    pub fn is_discrete(self) -> bool {
        match self {
            RandomDist::Scalar(f) => f.is_discrete(),
            RandomDist::Categorical { .. } => true,
            RandomDist::LbaFinishTimes => false,
        }
    }
}

/// A sequence of operations with arguments and results.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub args: Vec<ValueId>,
    pub ops: Vec<Op>,
    pub results: Vec<ValueId>,
}

/// One operation: its kind, operands and result values.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    pub args: Vec<ValueId>,
    pub results: Vec<ValueId>,
}

impl Region {
    /// Renames the uses of values in this region's own ops and results (its
    /// nested regions see outer values only through captures, which are
    /// their op's operands here).
    pub fn rename_uses(&mut self, renamed: &HashMap<ValueId, ValueId>) {
        if renamed.is_empty() {
            return;
        }
        let rename = |v: &mut ValueId| {
            if let Some(n) = renamed.get(v) {
                *v = *n;
            }
        };
        for op in &mut self.ops {
            op.args.iter_mut().for_each(rename);
        }
        self.results.iter_mut().for_each(rename);
    }
}

impl OpKind {
    /// The regions of a loop or branch (none for other ops).
    pub fn regions(&self) -> Vec<&Region> {
        match self {
            OpKind::Scan { body, .. } | OpKind::For { body } => vec![body],
            OpKind::If {
                then_region,
                else_region,
            } => vec![then_region, else_region],
            _ => Vec::new(),
        }
    }

    pub fn regions_mut(&mut self) -> Vec<&mut Region> {
        match self {
            OpKind::Scan { body, .. } | OpKind::For { body } => vec![body],
            OpKind::If {
                then_region,
                else_region,
            } => vec![then_region, else_region],
            _ => Vec::new(),
        }
    }

    /// Whether the op is a loop or a branch.
    pub fn has_regions(&self) -> bool {
        matches!(
            self,
            OpKind::Scan { .. } | OpKind::For { .. } | OpKind::If { .. }
        )
    }
}

/// What an operation computes. Result types are in `Function::values`; the
/// comment on each kind gives its operands (`args`) and results.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// A scalar constant of the result's element type. No args.
    Const(f64),
    /// The integer value of a size expression such as `T - 1` (an `int`
    /// scalar), known when the data's sizes are. No args.
    SizeOf(Dim),
    /// `arange`: the result `int[n]` holds `0, 1, …, n-1`. No args.
    Iota,
    /// The result shape filled with the scalar `args[0]`.
    Fill,
    /// `args[0]` broadcast (NumPy rules) to the result shape.
    BroadcastTo,
    /// The adjoint of `BroadcastTo`: `args[0]` summed over the axes that
    /// broadcasting would add or stretch, giving the (smaller) result shape.
    SumTo,
    /// `args[0]` with the result's shape and the same elements in row-major order.
    Reshape,
    /// Swaps the two axes of a matrix `args[0]`.
    Transpose,
    /// Joins `args` along `axis`.
    Concat { axis: usize },
    /// Elementwise on `args[0]`.
    Unary(UnaryOp),
    /// Elementwise on `args[0]`, `args[1]` of one shape.
    Binary(BinaryOp),
    /// Elementwise `args[0] ? args[1] : args[2]`, all of one shape.
    Select,
    /// Elementwise special function of `args` (real, of one shape); results
    /// of that shape (see `SpecialFn`).
    Special(SpecialFn),
    /// `args[0]` converted to the result's element type (int/bool to real).
    Cast,
    /// Elementwise: `args[0]` is not a missing (NaN) cell.
    IsPresent,
    /// Reduces `args[0]` over `axis` (removing it), or over all axes to a scalar.
    Reduce { op: ReduceOp, axis: Option<usize> },
    /// Matrix product of `args[0]` and `args[1]` (1-D or 2-D, as NumPy's `@`).
    Matmul,
    /// `args[0][plan]`: one `AxisIndex` per leading axis; the dynamic
    /// indices (scalar indices without a constant, and gathers) follow in
    /// `args[1..]` in plan order. When the plan has gathers, every index is a
    /// gather and all index arrays have one shape (the lowering broadcasts
    /// them); the result places that shape as NumPy does.
    Index { plan: Vec<AxisIndex> },
    /// `set_subtensor(args[0][plan], args[1])`: a copy of `args[0]` with the
    /// indexed part replaced by `args[1]` (already of the part's shape);
    /// dynamic indices follow in `args[2..]`.
    IndexSet { plan: Vec<AxisIndex> },
    /// `inc_subtensor(args[0][plan], args[1])`: a copy of `args[0]` with
    /// `args[1]` added to the indexed part; repeated indices accumulate.
    IndexInc { plan: Vec<AxisIndex> },
    /// The parameters' unconstrained coordinates `theta[offset ..]`, as many
    /// as the result has elements, reshaped row-major. `args[0]` is `theta`.
    ThetaSlice { offset: Dim },
    /// Random draws of the result's shape, from the caller's random source.
    /// For a scalar family `args` are its arguments, each of the result's
    /// shape; for `Categorical` the one argument has the result's shape plus
    /// a last axis of categories. With `truncated`, two more args (real, of
    /// the result's shape) are lower and upper bounds, and a draw outside
    /// them is drawn again (a bounded parameter's prior). With `joint` as
    /// well, a draw outside is not drawn again: the whole function is
    /// ([`EvalError::Rejected`](crate::interp::EvalError)), as the prior a
    /// truncation whose mass depends on other parameters defines is drawn.
    /// A draw is not a pure value: passes never merge, hoist or differentiate it.
    Random {
        dist: RandomDist,
        truncated: bool,
        joint: bool,
    },
    /// A loop carrying values across steps. `args` = carry inits, then
    /// sequences (stepped along their leading axis, all of one length), then
    /// captures. The body's args are the carries, one element of each
    /// sequence, and the captures; its results are the next carries, then
    /// per-step outputs. The op's results are the final carries, then each
    /// per-step output stacked along a new leading axis. With `reverse` the
    /// steps run from the last element to the first (outputs still stacked
    /// by element index).
    Scan {
        body: Region,
        carries: usize,
        sequences: usize,
        reverse: bool,
    },
    /// A loop with independent iterations over `args[0]..args[1]` (ints).
    /// The body's args are the iteration index and the captures `args[2..]`;
    /// its results are real tensors (of the op's result types), summed over
    /// the iterations into the op's results (zeros when there are none).
    /// Iterations may run in any order or in parallel.
    For { body: Region },
    /// Runs `then_region` if the bool scalar `args[0]` is true, else
    /// `else_region`; both take the captures `args[1..]` and yield the results.
    If {
        then_region: Region,
        else_region: Region,
    },
}

/// What a function argument is bound to when the function is called.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The unconstrained parameter vector (`real[dim]`).
    Theta,
    /// A data variable, by its declared name.
    Data(String),
}

/// A function: its body's arguments are bound to `inputs` in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub values: Vec<TensorType>,
    pub inputs: Vec<Input>,
    pub body: Region,
    /// The source byte range of the model expression that defines a value,
    /// where known: run-time errors (an index out of range) point there.
    pub spans: HashMap<ValueId, (usize, usize)>,
    /// The values that are -inf on purpose where a point is rejected (a
    /// `select` the lowering wrote, as Stan's errors reject), and why: the
    /// explainer of a non-finite density reads the reason here.
    pub rejections: HashMap<ValueId, Rejection>,
    /// The results of the model's own `where`s and `logsumexp`s (not the
    /// `select`s and log-sum-exps the lowering writes for its formulas): the
    /// gradient leaves out their branches not taken and terms of weight 0,
    /// also where those are not finite.
    pub chosen: HashSet<ValueId>,
}

/// Why the lowering rejects a point (makes a term -inf) where the formula
/// alone would score it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// An observation outside the distribution's support (a Bernoulli
    /// outcome of 2, a negative count, a waiting time below 0).
    OutsideSupport,
    /// A parameter whose declared bounds depend on other values (`in (lo,
    /// inf)`) outside its prior's support (`Exponential` below 0).
    PriorOutsideSupport,
    /// A value `logp` scores outside its distribution's support (it may
    /// depend on parameters: a response time less a non-decision time).
    ScoredOutsideSupport,
    /// `OrderedLogistic`'s cutpoints that do not increase strictly.
    CutpointsOutOfOrder,
    /// `Categorical(p = …)` whose `p` is not a probability vector.
    NotProbabilityVector,
    /// A `Bernoulli` or `Binomial` probability `p` outside [0, 1].
    ProbabilityOutsideUnit,
    /// An argument whose formula stays finite outside its domain (`VonMises`'s
    /// `kappa`, `ExGaussian`'s `sigma` at 0 or below), rejected as Stan does.
    ArgumentOutsideDomain,
    /// A parameter's bounds computed from other values (`in (lo, hi)`, a
    /// `Uniform(0.1, minRT)` prior's ends) whose upper end is not above the lower.
    EmptyBounds,
    /// A response time at or below the non-decision time `tau`, where `LBA`'s
    /// density is 0.
    BeforeNonDecisionTime,
}

impl Function {
    pub fn new(name: impl Into<String>) -> Function {
        Function {
            name: name.into(),
            values: Vec::new(),
            inputs: Vec::new(),
            body: Region {
                args: Vec::new(),
                ops: Vec::new(),
                results: Vec::new(),
            },
            spans: HashMap::new(),
            rejections: HashMap::new(),
            chosen: HashSet::new(),
        }
    }

    /// A fresh value of type `ty`.
    pub fn new_value(&mut self, ty: TensorType) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ty);
        id
    }

    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.values[v.0 as usize]
    }
}

/// The compiled forms of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIr {
    /// `theta, data… -> (lp)`: the log density on the unconstrained scale,
    /// log-Jacobians included.
    pub log_density: Function,
    /// `theta, data… -> (params…, outs…)`: the constrained parameters and the
    /// `out` values, for writing draws.
    pub generated: Function,
    /// The parameters in declaration order with their shapes and their
    /// offsets in `theta` (row-major).
    pub params: Vec<ParamLayout>,
    /// The `out` values in declaration order.
    pub outs: Vec<OutLayout>,
    /// The number of unconstrained coordinates.
    pub dim: Dim,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamLayout {
    pub name: String,
    pub shape: Vec<Dim>,
    pub offset: Dim,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutLayout {
    pub name: String,
    pub ty: TensorType,
    /// Written in loops (`out pe[n, t] = …`): an element no step wrote is NaN,
    /// a missing value.
    pub in_loops: bool,
}
