//! The reference interpreter: runs an IR function on concrete tensors. It is
//! the semantics the JIT is compared against and the fallback backend, so
//! it favours clarity and checks over speed (while avoiding quadratic work).
//!
//! Values are `f64` tensors in row-major order; `int` and `bool` values are
//! stored as `f64` too (`bool` as 0.0/1.0) and a missing data cell is NaN.
//! Symbolic shapes are evaluated with the data's sizes, and every op's
//! result is checked against its declared type, so a lowering bug shows up
//! as a `ShapeMismatch` naming the op instead of as a wrong number.
//!
//! Semantic choices the IR leaves open:
//! * Dynamic indices must be integers in `0..len`: negative indices are
//!   errors, never wrapped (constant plan indices are already resolved),
//!   and a NaN or fractional index is `BadIndex`.
//! * `Max`/`Min` (binary and reductions) propagate NaN, as Cranelift's
//!   `fmax`/`fmin` do; `Max` of nothing is -inf and `Min` of nothing +inf;
//!   `LogSumExp` of nothing, or of only -inf, is -inf.
//! * `Cast` keeps the `f64` representation unchanged; `Select` and `If`
//!   treat any non-zero condition (NaN included) as true.
//! * `IndexSet` with repeated indices keeps the last write; `IndexInc`
//!   accumulates every one (as `np.add.at`).
//! * A `Scan` takes its length from its first sequence (a scan without
//!   sequences is malformed IR); a `For` over `lo..hi` with `hi <= lo` runs
//!   no iteration and yields zeros.
//! * `digamma` and `trigamma` use the reflection formula for negative
//!   arguments; at the poles (0, -1, -2, …) digamma is NaN and trigamma +inf.

use crate::elementary;
use crate::ir::*;
use crate::print::op_line;
use std::cell::RefCell;
use std::collections::HashMap;
use std::f64::consts::PI;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// A concrete tensor: its shape and its elements in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor { shape, data }
    }

    pub fn scalar(value: f64) -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: vec![value],
        }
    }

    pub fn vector(data: Vec<f64>) -> Tensor {
        Tensor {
            shape: vec![data.len()],
            data,
        }
    }

    pub fn zeros(shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor {
            shape,
            data: vec![0.0; n],
        }
    }
}

/// Why an evaluation failed: bad inputs, a run-time error of the model
/// (an index out of range), or IR that the verifier would reject.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// The number of input tensors is not the function's number of inputs.
    BadInputCount { expected: usize, found: usize },
    /// A tensor (an input, or an op's result) has a shape other than its
    /// declared type's.
    ShapeMismatch {
        what: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A shape mentions a size missing from the sizes map.
    UnknownSize(String),
    /// A dimension evaluates to a negative number.
    NegativeSize { dim: String, value: i64 },
    /// An index (or a slice bound, or a theta slice) outside `0..len`.
    IndexOutOfBounds { axis: usize, index: i64, len: usize },
    /// An index that is not an integer (e.g. a missing cell, NaN).
    BadIndex { axis: usize, value: f64 },
    /// IR that breaks the verifier's invariants.
    Malformed { op: String, message: String },
    /// A `Random` op ran without a random source (a function that draws
    /// must be evaluated with `eval_random`).
    NoRandomSource,
    /// A draw's arguments are invalid (`value` is the op's result, whose
    /// source span locates it in the model).
    Draw { value: ValueId, message: String },
    /// A truncated draw found no value inside its bounds.
    Truncation {
        value: ValueId,
        lower: f64,
        upper: f64,
    },
    /// A `joint` truncated draw fell outside its bounds: the caller runs the
    /// whole function again (see `OpKind::Random`).
    Rejected { value: ValueId },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::BadInputCount { expected, found } => {
                write!(f, "expected {expected} inputs, got {found}")
            }
            EvalError::ShapeMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what} has shape {found:?}, expected {expected:?}"),
            EvalError::UnknownSize(name) => write!(f, "the size `{name}` is not known"),
            EvalError::NegativeSize { dim, value } => {
                write!(f, "the dimension `{dim}` is negative ({value})")
            }
            EvalError::IndexOutOfBounds { axis, index, len } => write!(
                f,
                "index {index} is out of bounds for axis {axis} of length {len}"
            ),
            EvalError::BadIndex { axis, value } => {
                write!(f, "index {value} on axis {axis} is not an integer")
            }
            EvalError::Malformed { op, message } => {
                write!(f, "malformed IR: {message}\n    in `{op}`")
            }
            EvalError::NoRandomSource => {
                write!(f, "the function draws random values but was given no random source")
            }
            EvalError::Draw { message, .. } => write!(f, "cannot draw: {message}"),
            EvalError::Truncation { lower, upper, .. } => write!(
                f,
                "no draw of the prior fell inside the bounds ({lower}, {upper}) in {TRUNCATION_TRIES} tries"
            ),
            EvalError::Rejected { .. } => write!(
                f,
                "a draw of a prior fell outside its bounds, which depend on other parameters: the prior is drawn again"
            ),
        }
    }
}

impl std::error::Error for EvalError {}

type Result<T> = std::result::Result<T, EvalError>;

/// How many times a truncated draw is tried before giving up.
pub const TRUNCATION_TRIES: usize = 10_000;

/// Runs `f` on `inputs` (one per `f.inputs`, in order), with `sizes` giving
/// the value of every size its shapes mention; returns the body's results.
pub fn eval(f: &Function, sizes: &HashMap<String, i64>, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    eval_inner(f, sizes, inputs, None)
}

/// [`eval`] for a function with `Random` ops, drawing from `rng` in the
/// order the ops run (so a seed fixes every draw).
pub fn eval_random(
    f: &Function,
    sizes: &HashMap<String, i64>,
    inputs: &[Tensor],
    rng: &mut dyn rand::RngCore,
) -> Result<Vec<Tensor>> {
    eval_inner(f, sizes, inputs, Some(rng))
}

/// [`eval_random`] that also says which op failed, when one does
/// ([`Traced::failed`]): run again from a copy of the random source to locate
/// an error (an index out of range) in the model.
pub fn eval_random_traced(
    f: &Function,
    sizes: &HashMap<String, i64>,
    inputs: &[Tensor],
    rng: &mut dyn rand::RngCore,
) -> (Result<Vec<Tensor>>, Traced) {
    let trace = RefCell::new(Trace::default());
    let result = eval_with(f, sizes, inputs, Some(rng), Some(&trace));
    let t = trace.into_inner();
    (
        result,
        Traced {
            non_finite: t.first,
            failed: t.failed,
        },
    )
}

/// Where a non-finite value first appeared in an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The op's (first) result, whose source span says where in the model.
    pub value: ValueId,
    /// The op, as the IR prints it.
    pub op: String,
    /// Its first non-finite element.
    pub result: f64,
    /// For an elementwise op, the operation and its operands at that element
    /// (`log(-9)`, `sub(inf, inf)`): why the value is not finite.
    pub cause: Option<String>,
    /// The iteration of each enclosing loop (`for` index or scan step),
    /// outermost first.
    pub iterations: Vec<usize>,
}

/// [`eval`] that also finds the first op (in execution order) whose real
/// result is not finite although its real operands are: where a log density
/// that came out NaN or infinite went wrong.
/// When the evaluation fails, the origin also says which op failed and in
/// which iterations (`failed`).
pub fn eval_traced(
    f: &Function,
    sizes: &HashMap<String, i64>,
    inputs: &[Tensor],
) -> (Result<Vec<Tensor>>, Traced) {
    let trace = RefCell::new(Trace::default());
    let result = eval_with(f, sizes, inputs, None, Some(&trace));
    let t = trace.into_inner();
    (
        result,
        Traced {
            non_finite: t.first,
            failed: t.failed,
        },
    )
}

/// What [`eval_traced`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traced {
    /// The first op that made a non-finite value from finite operands.
    pub non_finite: Option<Origin>,
    /// The op whose error ended the evaluation.
    pub failed: Option<Origin>,
}

/// The tracing state of [`eval_traced`].
#[derive(Default)]
struct Trace {
    iterations: Vec<usize>,
    first: Option<Origin>,
    failed: Option<Origin>,
}

fn eval_inner<'a>(
    f: &'a Function,
    sizes: &'a HashMap<String, i64>,
    inputs: &'a [Tensor],
    rng: Option<&'a mut dyn rand::RngCore>,
) -> Result<Vec<Tensor>> {
    eval_with(f, sizes, inputs, rng, None)
}

fn eval_with<'a>(
    f: &'a Function,
    sizes: &'a HashMap<String, i64>,
    inputs: &'a [Tensor],
    rng: Option<&'a mut dyn rand::RngCore>,
    trace: Option<&'a RefCell<Trace>>,
) -> Result<Vec<Tensor>> {
    if inputs.len() != f.inputs.len() {
        return Err(EvalError::BadInputCount {
            expected: f.inputs.len(),
            found: inputs.len(),
        });
    }
    if f.body.args.len() != f.inputs.len() {
        return Err(EvalError::Malformed {
            op: format!("fn {}", f.name),
            message: format!(
                "{} body arguments for {} inputs",
                f.body.args.len(),
                f.inputs.len()
            ),
        });
    }
    let mut interp = Interp {
        f,
        sizes,
        shapes: f
            .values
            .iter()
            .map(|ty| eval_shape(&ty.shape, sizes).ok())
            .collect(),
        env: vec![None; f.values.len()],
        rng: rng.map(RefCell::new),
        trace,
    };
    for (i, (arg, input)) in f.body.args.iter().zip(inputs).enumerate() {
        let name = match &f.inputs[i] {
            Input::Theta => "theta".to_string(),
            Input::Data(name) => format!("`{name}`"),
        };
        let count: usize = input.shape.iter().product();
        if input.data.len() != count {
            return Err(EvalError::ShapeMismatch {
                what: format!("the data of input {i} ({name})"),
                expected: vec![count],
                found: vec![input.data.len()],
            });
        }
        let declared = interp.declared(*arg)?;
        if declared != input.shape {
            return Err(EvalError::ShapeMismatch {
                what: format!("input {i} ({name})"),
                expected: declared,
                found: input.shape.clone(),
            });
        }
        interp.bind(*arg, Val::Input(input))?;
    }
    interp.region(&f.body)?;
    let results = f
        .body
        .results
        .iter()
        .map(|v| interp.value(None, *v))
        .collect::<Result<Vec<Val>>>()?;
    // Free the environment so that results not shared with it move out.
    interp.env = Vec::new();
    Ok(results
        .into_iter()
        .map(|v| match v {
            Val::Input(t) => t.clone(),
            Val::Owned(rc) => Rc::try_unwrap(rc).unwrap_or_else(|rc| (*rc).clone()),
        })
        .collect())
}

/// A value in the environment: a borrowed input or a computed tensor.
#[derive(Clone)]
enum Val<'a> {
    Input(&'a Tensor),
    Owned(Rc<Tensor>),
}

impl Deref for Val<'_> {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        match self {
            Val::Input(t) => t,
            Val::Owned(t) => t,
        }
    }
}

impl From<Tensor> for Val<'_> {
    fn from(t: Tensor) -> Self {
        Val::Owned(Rc::new(t))
    }
}

struct Interp<'a> {
    f: &'a Function,
    sizes: &'a HashMap<String, i64>,
    /// Each value's declared shape, when its sizes are known and non-negative.
    shapes: Vec<Option<Vec<usize>>>,
    /// The current value of each `ValueId` (values in loop bodies are
    /// overwritten at each step).
    env: Vec<Option<Val<'a>>>,
    /// Where `Random` ops draw from (`None`: the function must not draw).
    rng: Option<RefCell<&'a mut dyn rand::RngCore>>,
    /// Set by [`eval_traced`].
    trace: Option<&'a RefCell<Trace>>,
}

fn eval_shape(shape: &[Dim], sizes: &HashMap<String, i64>) -> Result<Vec<usize>> {
    shape.iter().map(|d| eval_len(d, sizes)).collect()
}

fn eval_dim(d: &Dim, sizes: &HashMap<String, i64>) -> Result<i64> {
    d.eval(sizes).ok_or_else(|| {
        let missing = d
            .sizes()
            .into_iter()
            .find(|name| !sizes.contains_key(*name));
        match missing {
            Some(name) => EvalError::UnknownSize(name.to_string()),
            None => EvalError::UnknownSize(format!("{d} (overflows)")),
        }
    })
}

fn eval_len(d: &Dim, sizes: &HashMap<String, i64>) -> Result<usize> {
    let value = eval_dim(d, sizes)?;
    usize::try_from(value).map_err(|_| EvalError::NegativeSize {
        dim: d.to_string(),
        value,
    })
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    let mut s = 1;
    for (o, d) in out.iter_mut().zip(shape).rev() {
        *o = s;
        s *= d;
    }
    out
}

/// Calls `visit` with `Σ index[i] * strides[i]` for every multi-index of
/// `shape`, in row-major order.
fn for_each_offset(shape: &[usize], strides: &[usize], mut visit: impl FnMut(usize)) {
    if shape.contains(&0) {
        return;
    }
    let Some((&inner, outer)) = shape.split_last() else {
        visit(0);
        return;
    };
    let inner_stride = strides[outer.len()];
    let mut index = vec![0usize; outer.len()];
    let mut offset = 0usize;
    loop {
        for i in 0..inner {
            visit(offset + i * inner_stride);
        }
        // Advance the outer multi-index like an odometer.
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < outer[axis] {
                break;
            }
            offset -= strides[axis] * outer[axis];
            index[axis] = 0;
        }
    }
}

/// All offsets of `for_each_offset`, collected.
fn offsets(axes: &[(usize, usize)]) -> Vec<usize> {
    let shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
    let strides: Vec<usize> = axes.iter().map(|a| a.1).collect();
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, &strides, |o| out.push(o));
    out
}

fn to_index(axis: usize, value: f64, len: usize) -> Result<usize> {
    if !value.is_finite() || value.fract() != 0.0 {
        return Err(EvalError::BadIndex { axis, value });
    }
    check_index(axis, value as i64, len)
}

fn check_index(axis: usize, index: i64, len: usize) -> Result<usize> {
    match usize::try_from(index) {
        Ok(i) if i < len => Ok(i),
        _ => Err(EvalError::IndexOutOfBounds { axis, index, len }),
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn truth(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Where `base[plan]` reads: the flat offset into the base of each element
/// of the part, in the part's row-major order, and the part's shape.
struct IndexMap {
    shape: Vec<usize>,
    offsets: Vec<usize>,
}

impl<'a> Interp<'a> {
    fn malformed(&self, op: &Op, message: impl Into<String>) -> EvalError {
        EvalError::Malformed {
            op: op_line(self.f, op),
            message: message.into(),
        }
    }

    fn declared(&self, v: ValueId) -> Result<Vec<usize>> {
        match self.shapes.get(v.0 as usize) {
            Some(Some(shape)) => Ok(shape.clone()),
            Some(None) => eval_shape(&self.f.ty(v).shape, self.sizes),
            None => Err(EvalError::Malformed {
                op: format!("fn {}", self.f.name),
                message: format!("{v} does not exist"),
            }),
        }
    }

    fn bind(&mut self, v: ValueId, value: Val<'a>) -> Result<()> {
        match self.env.get_mut(v.0 as usize) {
            Some(slot) => {
                *slot = Some(value);
                Ok(())
            }
            None => Err(EvalError::Malformed {
                op: format!("fn {}", self.f.name),
                message: format!("{v} does not exist"),
            }),
        }
    }

    fn value(&self, op: Option<&Op>, v: ValueId) -> Result<Val<'a>> {
        match self.env.get(v.0 as usize) {
            Some(Some(val)) => Ok(val.clone()),
            _ => Err(EvalError::Malformed {
                op: match op {
                    Some(op) => op_line(self.f, op),
                    None => format!("fn {}", self.f.name),
                },
                message: format!("{v} has no value here"),
            }),
        }
    }

    fn arg(&self, op: &Op, i: usize) -> Result<Val<'a>> {
        match op.args.get(i) {
            Some(v) => self.value(Some(op), *v),
            None => Err(self.malformed(op, format!("missing operand {i}"))),
        }
    }

    fn region(&mut self, region: &Region) -> Result<()> {
        for op in &region.ops {
            self.op(op)?;
        }
        Ok(())
    }

    fn op(&mut self, op: &Op) -> Result<()> {
        let results: Vec<Tensor> = match &op.kind {
            OpKind::Scan {
                body,
                carries,
                sequences,
                reverse,
            } => self.scan(op, body, *carries, *sequences, *reverse)?,
            OpKind::For { body } => self.for_loop(op, body)?,
            OpKind::If {
                then_region,
                else_region,
            } => self.if_op(op, then_region, else_region)?,
            OpKind::Special(s) => {
                let results = self.special(op, *s)?;
                if let Some(first) = results.first() {
                    self.trace_op(op, first)?;
                }
                results
            }
            _ => {
                if op.results.len() != 1 {
                    return Err(self.malformed(op, "expected one result"));
                }
                let result = match self.simple(op) {
                    Ok(r) => r,
                    Err(e) => {
                        if let Some(t) = self.trace {
                            let mut t = t.borrow_mut();
                            if t.failed.is_none() {
                                t.failed = Some(Origin {
                                    value: op.results[0],
                                    op: op_line(self.f, op),
                                    result: f64::NAN,
                                    cause: None,
                                    iterations: t.iterations.clone(),
                                });
                            }
                        }
                        return Err(e);
                    }
                };
                self.trace_op(op, &result)?;
                vec![result]
            }
        };
        if results.len() != op.results.len() {
            return Err(self.malformed(
                op,
                format!("{} results, {} declared", results.len(), op.results.len()),
            ));
        }
        for (v, t) in op.results.iter().zip(results) {
            let expected = self.declared(*v)?;
            if t.shape != expected {
                return Err(EvalError::ShapeMismatch {
                    what: format!("{v}, the result of `{}`,", op_line(self.f, op)),
                    expected,
                    found: t.shape,
                });
            }
            self.bind(*v, t.into())?;
        }
        Ok(())
    }

    /// Records `op` as the origin of a non-finite value when it made one from
    /// finite operands and none was recorded before.
    fn trace_op(&self, op: &Op, result: &Tensor) -> Result<()> {
        let Some(trace) = self.trace else {
            return Ok(());
        };
        if trace.borrow().first.is_some() || self.f.ty(op.results[0]).elem != Elem::Real {
            return Ok(());
        }
        let Some(bad) = result.data.iter().find(|x| !x.is_finite()) else {
            return Ok(());
        };
        // A constant is meant (the `-inf` outside a support); a select that
        // picks it over a finite value is where the problem shows.
        if op.args.is_empty() {
            return Ok(());
        }
        if op.kind == OpKind::Select {
            let (c, t, e) = (self.arg(op, 0)?, self.arg(op, 1)?, self.arg(op, 2)?);
            let picked = (0..result.data.len()).any(|i| {
                let (chosen, other) = if c.data.get(i).copied().unwrap_or(0.0) != 0.0 {
                    (t.data.get(i), e.data.get(i))
                } else {
                    (e.data.get(i), t.data.get(i))
                };
                matches!((chosen, other), (Some(x), Some(y)) if !x.is_finite() && y.is_finite())
            });
            if picked {
                let mut tr = trace.borrow_mut();
                tr.first = Some(Origin {
                    value: op.results[0],
                    op: op_line(self.f, op),
                    result: *bad,
                    cause: None,
                    iterations: tr.iterations.clone(),
                });
            }
            return Ok(());
        }
        for (i, a) in op.args.iter().enumerate() {
            if self.f.ty(*a).elem == Elem::Real
                && self.arg(op, i)?.data.iter().any(|x| !x.is_finite())
            {
                return Ok(());
            }
        }
        let cause = self.cause(op, result)?;
        let mut t = trace.borrow_mut();
        t.first = Some(Origin {
            value: op.results[0],
            op: op_line(self.f, op),
            result: *bad,
            cause,
            iterations: t.iterations.clone(),
        });
        Ok(())
    }

    /// `name(operands)` at the first non-finite element of an elementwise
    /// op's `result` (an operand of one element is broadcast).
    fn cause(&self, op: &Op, result: &Tensor) -> Result<Option<String>> {
        let name = match &op.kind {
            OpKind::Unary(u) => crate::print::unary_name(*u).to_string(),
            OpKind::Binary(b) => crate::print::binary_name(*b).to_string(),
            OpKind::Special(s) => s.name().to_string(),
            _ => return Ok(None),
        };
        let Some(i) = result.data.iter().position(|x| !x.is_finite()) else {
            return Ok(None);
        };
        let mut operands = Vec::new();
        for k in 0..op.args.len() {
            let a = self.arg(op, k)?;
            let v = match a.data.len() {
                1 => a.data[0],
                n if n == result.data.len() => a.data[i],
                _ => return Ok(None),
            };
            operands.push(v);
        }
        let call = format!(
            "{name}({})",
            operands
                .iter()
                .map(|v| readable(*v))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let why = match &op.kind {
            OpKind::Special(s) => s.why_not_finite(&operands, readable),
            _ => None,
        };
        Ok(Some(match why {
            Some(why) => format!("{call}: {why}"),
            None => call,
        }))
    }

    fn enter_iteration(&self, i: usize) {
        if let Some(t) = self.trace {
            t.borrow_mut().iterations.push(i);
        }
    }

    fn leave_iteration(&self) {
        if let Some(t) = self.trace {
            t.borrow_mut().iterations.pop();
        }
    }

    /// A `Random` op: one draw per element of the result, row-major.
    fn random(&self, op: &Op, dist: RandomDist, truncated: bool, joint: bool) -> Result<Tensor> {
        let out = op.results[0];
        let shape = self.declared(out)?;
        let count: usize = shape.iter().product();
        let arity = dist.arity();
        let args = (0..arity + if truncated { 2 } else { 0 })
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<_>>>()?;
        let cell = self.rng.as_ref().ok_or(EvalError::NoRandomSource)?;
        let mut rng = cell.borrow_mut();
        let draw_error = |e: rlc_random::DrawError| EvalError::Draw {
            value: out,
            message: e.to_string(),
        };
        let mut data = Vec::with_capacity(count);
        match dist {
            RandomDist::Categorical { logits, ordered } => {
                let weights = &args[0];
                let k = weights.shape.last().copied().unwrap_or(0);
                if weights.data.len() != count * k {
                    return Err(self.malformed(op, "the categorical weights do not fit the result"));
                }
                let kind = if logits {
                    rlc_random::CategoricalArgs::Logits
                } else {
                    rlc_random::CategoricalArgs::Probabilities
                };
                for i in 0..count {
                    let w = &weights.data[i * k..(i + 1) * k];
                    let c = rlc_random::draw_categorical(w, kind, &mut **rng).map_err(|e| {
                        if ordered {
                            // Its logits are NaN exactly where the cutpoints fail.
                            EvalError::Draw {
                                value: out,
                                message: "OrderedLogistic's `cutpoints` must increase strictly \
                                          (and `eta` be a number) to draw from it"
                                    .to_string(),
                            }
                        } else {
                            draw_error(e)
                        }
                    })?;
                    data.push(c as f64);
                }
            }
            RandomDist::LbaFinishTimes => {
                if args.iter().any(|a| a.data.len() != count) {
                    return Err(self.malformed(op, "a draw's arguments do not have its shape"));
                }
                let k = shape.last().copied().unwrap_or(1).max(1);
                let mut accumulators = Vec::with_capacity(k);
                let mut times = vec![0.0; k];
                for row in 0..count / k {
                    accumulators.clear();
                    accumulators.extend((row * k..(row + 1) * k).map(|i| {
                        rlc_random::Accumulator {
                            d: args[0].data[i],
                            a: args[1].data[i],
                            v: args[2].data[i],
                            s: args[3].data[i],
                        }
                    }));
                    rlc_random::draw_lba_finish_times(&accumulators, &mut times, &mut **rng)
                        .map_err(draw_error)?;
                    data.extend_from_slice(&times);
                }
            }
            RandomDist::Scalar(family) => {
                if args.iter().any(|a| a.data.len() != count) {
                    return Err(self.malformed(op, "a draw's arguments do not have its shape"));
                }
                let mut params = vec![0.0; arity];
                for i in 0..count {
                    for (p, a) in params.iter_mut().zip(&args) {
                        *p = a.data[i];
                    }
                    let (lower, upper) = if truncated {
                        (args[arity].data[i], args[arity + 1].data[i])
                    } else {
                        (f64::NEG_INFINITY, f64::INFINITY)
                    };
                    let mut tries = 0;
                    let x = loop {
                        let x =
                            rlc_random::draw(family, &params, &mut **rng).map_err(draw_error)?;
                        if x > lower && x < upper {
                            break x;
                        }
                        if joint {
                            return Err(EvalError::Rejected { value: out });
                        }
                        tries += 1;
                        if tries >= TRUNCATION_TRIES {
                            return Err(EvalError::Truncation {
                                value: out,
                                lower,
                                upper,
                            });
                        }
                    };
                    data.push(x);
                }
            }
        }
        Ok(Tensor::new(shape, data))
    }

    /// An elementwise special function: one call per element.
    fn special(&self, op: &Op, s: SpecialFn) -> Result<Vec<Tensor>> {
        let args = (0..s.arity())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<_>>>()?;
        let shape = args
            .first()
            .map(|a| a.shape.clone())
            .ok_or_else(|| self.malformed(op, "no operands"))?;
        if args.iter().any(|a| a.shape != shape) || op.results.len() != s.results() {
            return Err(self.malformed(op, "operands of different shapes"));
        }
        let n: usize = shape.iter().product();
        let mut outs = vec![Vec::with_capacity(n); s.results()];
        let mut x = vec![0.0; s.arity()];
        let mut y = vec![0.0; s.results()];
        for i in 0..n {
            for (xj, a) in x.iter_mut().zip(&args) {
                *xj = a.data[i];
            }
            s.eval(&x, &mut y);
            for (out, yj) in outs.iter_mut().zip(&y) {
                out.push(*yj);
            }
        }
        Ok(outs
            .into_iter()
            .map(|data| Tensor::new(shape.clone(), data))
            .collect())
    }

    /// Ops without regions, which give one result.
    fn simple(&self, op: &Op) -> Result<Tensor> {
        let out = op.results[0];
        match &op.kind {
            OpKind::Const(c) => Ok(Tensor::scalar(*c)),
            OpKind::SizeOf(d) => Ok(Tensor::scalar(eval_dim(d, self.sizes)? as f64)),
            OpKind::Random {
                dist,
                truncated,
                joint,
            } => self.random(op, *dist, *truncated, *joint),
            OpKind::Iota => {
                let shape = self.declared(out)?;
                let n = shape.iter().product::<usize>();
                Ok(Tensor::new(shape, (0..n).map(|i| i as f64).collect()))
            }
            OpKind::Fill => {
                let x = self.arg(op, 0)?;
                let [value] = x.data[..] else {
                    return Err(self.malformed(op, "the fill value is not a scalar"));
                };
                let shape = self.declared(out)?;
                let n = shape.iter().product();
                Ok(Tensor::new(shape, vec![value; n]))
            }
            OpKind::BroadcastTo => {
                let x = self.arg(op, 0)?;
                let shape = self.declared(out)?;
                broadcast_to(&x, shape).map_err(|m| self.malformed(op, m))
            }
            OpKind::SumTo => {
                let x = self.arg(op, 0)?;
                let shape = self.declared(out)?;
                sum_to(&x, shape).map_err(|m| self.malformed(op, m))
            }
            OpKind::Reshape => {
                let x = self.arg(op, 0)?;
                let shape = self.declared(out)?;
                if shape.iter().product::<usize>() != x.data.len() {
                    return Err(EvalError::ShapeMismatch {
                        what: format!("the operand of `{}`", op_line(self.f, op)),
                        expected: shape,
                        found: x.shape.clone(),
                    });
                }
                Ok(Tensor::new(shape, x.data.clone()))
            }
            OpKind::Transpose => {
                let x = self.arg(op, 0)?;
                let [m, n] = x.shape[..] else {
                    return Err(self.malformed(op, "transposing a non-matrix"));
                };
                let mut data = Vec::with_capacity(m * n);
                for j in 0..n {
                    data.extend((0..m).map(|i| x.data[i * n + j]));
                }
                Ok(Tensor::new(vec![n, m], data))
            }
            OpKind::Concat { axis } => self.concat(op, *axis),
            OpKind::Unary(u) => {
                let x = self.arg(op, 0)?;
                let g = unary_fn(*u);
                Ok(Tensor::new(
                    x.shape.clone(),
                    x.data.iter().map(|v| g(*v)).collect(),
                ))
            }
            OpKind::Binary(b) => {
                let (x, y) = (self.arg(op, 0)?, self.arg(op, 1)?);
                if x.shape != y.shape {
                    return Err(self.malformed(
                        op,
                        format!("operands of shapes {:?} and {:?}", x.shape, y.shape),
                    ));
                }
                let g = binary_fn(*b);
                Ok(Tensor::new(
                    x.shape.clone(),
                    x.data.iter().zip(&y.data).map(|(a, b)| g(*a, *b)).collect(),
                ))
            }
            OpKind::Select => {
                let (c, a, b) = (self.arg(op, 0)?, self.arg(op, 1)?, self.arg(op, 2)?);
                if c.shape != a.shape || a.shape != b.shape {
                    return Err(self.malformed(op, "operands of different shapes"));
                }
                let data = c
                    .data
                    .iter()
                    .zip(a.data.iter().zip(&b.data))
                    .map(|(c, (a, b))| if *c != 0.0 { *a } else { *b })
                    .collect();
                Ok(Tensor::new(a.shape.clone(), data))
            }
            OpKind::Cast => Ok(Tensor::clone(&*self.arg(op, 0)?)),
            OpKind::IsPresent => {
                let x = self.arg(op, 0)?;
                Ok(Tensor::new(
                    x.shape.clone(),
                    x.data.iter().map(|v| truth(!v.is_nan())).collect(),
                ))
            }
            OpKind::Reduce { op: r, axis } => {
                let x = self.arg(op, 0)?;
                reduce(&x, *r, *axis).map_err(|m| self.malformed(op, m))
            }
            OpKind::Matmul => {
                let (a, b) = (self.arg(op, 0)?, self.arg(op, 1)?);
                matmul(&a, &b).map_err(|m| self.malformed(op, m))
            }
            OpKind::Index { plan } => {
                let base = self.arg(op, 0)?;
                let map = self.index_map(op, &base.shape, plan, 1)?;
                Ok(Tensor::new(
                    map.shape,
                    map.offsets.iter().map(|o| base.data[*o]).collect(),
                ))
            }
            OpKind::IndexSet { plan } | OpKind::IndexInc { plan } => {
                let (base, value) = (self.arg(op, 0)?, self.arg(op, 1)?);
                let map = self.index_map(op, &base.shape, plan, 2)?;
                if value.shape != map.shape {
                    return Err(EvalError::ShapeMismatch {
                        what: format!("the new value of `{}`", op_line(self.f, op)),
                        expected: map.shape,
                        found: value.shape.clone(),
                    });
                }
                let mut out = Tensor::clone(&*base);
                let set = matches!(op.kind, OpKind::IndexSet { .. });
                for (o, v) in map.offsets.iter().zip(&value.data) {
                    if set {
                        out.data[*o] = *v;
                    } else {
                        out.data[*o] += *v;
                    }
                }
                Ok(out)
            }
            OpKind::ThetaSlice { offset } => {
                let theta = self.arg(op, 0)?;
                let shape = self.declared(out)?;
                let n: usize = shape.iter().product();
                let start = eval_dim(offset, self.sizes)?;
                let len = theta.data.len();
                let first = check_index(0, start, len + 1)?;
                if first + n > len {
                    return Err(EvalError::IndexOutOfBounds {
                        axis: 0,
                        index: (first + n - 1) as i64,
                        len,
                    });
                }
                Ok(Tensor::new(shape, theta.data[first..first + n].to_vec()))
            }
            OpKind::Scan { .. } | OpKind::For { .. } | OpKind::If { .. } | OpKind::Special(_) => {
                Err(self.malformed(op, "a region op evaluated as a simple op"))
            }
        }
    }

    fn concat(&self, op: &Op, axis: usize) -> Result<Tensor> {
        let parts = (0..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<Val>>>()?;
        let Some(first) = parts.first() else {
            return Err(self.malformed(op, "nothing to concatenate"));
        };
        let rank = first.shape.len();
        if axis >= rank {
            return Err(self.malformed(op, format!("axis {axis} of rank {rank}")));
        }
        let mut shape = first.shape.clone();
        shape[axis] = 0;
        for p in &parts {
            let same_rank = p.shape.len() == rank;
            if !same_rank || (0..rank).any(|d| d != axis && p.shape[d] != first.shape[d]) {
                return Err(self.malformed(
                    op,
                    format!("operands of shapes {:?} and {:?}", first.shape, p.shape),
                ));
            }
            shape[axis] += p.shape[axis];
        }
        let outer: usize = first.shape[..axis].iter().product();
        let mut data = Vec::with_capacity(shape.iter().product());
        for o in 0..outer {
            for p in &parts {
                let chunk: usize = p.shape[axis..].iter().product();
                data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
            }
        }
        Ok(Tensor::new(shape, data))
    }

    /// The addressing of `base[plan]`, the dynamic indices starting at
    /// operand `first_index`.
    fn index_map(
        &self,
        op: &Op,
        base: &[usize],
        plan: &[AxisIndex],
        first_index: usize,
    ) -> Result<IndexMap> {
        if plan.len() > base.len() {
            return Err(self.malformed(op, "the plan is longer than the base's rank"));
        }
        let base_strides = strides(base);
        let gather_axes: Vec<usize> = (0..plan.len())
            .filter(|a| matches!(plan[*a], AxisIndex::Gather { .. }))
            .collect();
        let adjacent = gather_axes.windows(2).all(|w| w[1] == w[0] + 1);
        // Sliced and kept axes as (length, stride), before and after the
        // place of the gathered axes.
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut start = 0usize;
        let mut gathers: Vec<(usize, Val)> = Vec::new();
        let mut next = first_index;
        let mut dynamic = |me: &Self| -> Result<Val<'a>> {
            let v = me.arg(op, next);
            next += 1;
            v
        };
        for (axis, entry) in plan.iter().enumerate() {
            let (len, stride) = (base[axis], base_strides[axis]);
            match entry {
                AxisIndex::Scalar {
                    constant: Some(c), ..
                } => {
                    let i = check_index(axis, eval_dim(c, self.sizes)?, len)?;
                    start += i * stride;
                }
                AxisIndex::Scalar {
                    constant: None,
                    needs_bounds_check,
                } => {
                    let ix = dynamic(self)?;
                    let [value] = ix.data[..] else {
                        return Err(self.malformed(op, "a scalar index that is not a scalar"));
                    };
                    // An index the checker proved in range is outside it only
                    // where an op was hoisted out of the `if` that guarded it
                    // (`if present(k)`, `if t > 0`), whose result nothing then
                    // uses: NaN where missing, -1 at `t - 1` with `t = 0`. Any
                    // element will do there; the JIT's clamp takes the last.
                    let outside = value.is_nan() || value < 0.0 || value >= len as f64;
                    let value = if outside && !needs_bounds_check && len > 0 {
                        (len - 1) as f64
                    } else {
                        value
                    };
                    start += to_index(axis, value, len)? * stride;
                }
                AxisIndex::Slice {
                    start: lo,
                    stop: hi,
                } => {
                    let (lo, hi) = (eval_dim(lo, self.sizes)?, eval_dim(hi, self.sizes)?);
                    let lo_ok = check_index(axis, lo, len + 1)?;
                    let hi_ok = check_index(axis, hi, len + 1)?;
                    if hi_ok < lo_ok {
                        return Err(EvalError::IndexOutOfBounds {
                            axis,
                            index: hi,
                            len,
                        });
                    }
                    start += lo_ok * stride;
                    let gathered_before = gather_axes.first().is_some_and(|g| *g < axis);
                    if adjacent && !gathered_before {
                        before.push((hi_ok - lo_ok, stride));
                    } else {
                        after.push((hi_ok - lo_ok, stride));
                    }
                }
                AxisIndex::Gather { .. } => gathers.push((axis, dynamic(self)?)),
            }
        }
        for axis in plan.len()..base.len() {
            after.push((base[axis], base_strides[axis]));
        }
        let gather_shape: Vec<usize> = gathers
            .first()
            .map(|(_, g)| g.shape.clone())
            .unwrap_or_default();
        let mut gathered = vec![0usize; gather_shape.iter().product()];
        for (axis, g) in &gathers {
            if g.shape != gather_shape {
                return Err(EvalError::ShapeMismatch {
                    what: format!("an index array of `{}`", op_line(self.f, op)),
                    expected: gather_shape,
                    found: g.shape.clone(),
                });
            }
            for (o, value) in gathered.iter_mut().zip(&g.data) {
                *o += to_index(*axis, *value, base[*axis])? * base_strides[*axis];
            }
        }
        let mut shape: Vec<usize> = before.iter().map(|a| a.0).collect();
        shape.extend(&gather_shape);
        shape.extend(after.iter().map(|a| a.0));
        let (before, after) = (offsets(&before), offsets(&after));
        let mut all = Vec::with_capacity(before.len() * gathered.len() * after.len());
        for b in &before {
            for g in &gathered {
                all.extend(after.iter().map(|a| start + b + g + a));
            }
        }
        Ok(IndexMap {
            shape,
            offsets: all,
        })
    }

    /// Binds a region's arguments.
    fn bind_args(&mut self, args: &[ValueId], values: Vec<Val<'a>>) -> Result<()> {
        for (arg, value) in args.iter().zip(values) {
            self.bind(*arg, value)?;
        }
        Ok(())
    }

    fn region_results(&self, op: &Op, region: &Region) -> Result<Vec<Val<'a>>> {
        region
            .results
            .iter()
            .map(|v| self.value(Some(op), *v))
            .collect()
    }

    fn scan(
        &mut self,
        op: &Op,
        body: &Region,
        carries: usize,
        sequences: usize,
        reverse: bool,
    ) -> Result<Vec<Tensor>> {
        let args = (0..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<Val>>>()?;
        let fixed = carries + sequences;
        if args.len() < fixed || body.args.len() != args.len() {
            return Err(self.malformed(op, "the operands do not match the body's arguments"));
        }
        if body.results.len() < carries || op.results.len() != body.results.len() {
            return Err(self.malformed(op, "the body's results do not match the op's"));
        }
        let seqs = &args[carries..fixed];
        let Some(len) = seqs.first().and_then(|s| s.shape.first().copied()) else {
            return Err(self.malformed(op, "a scan needs a sequence with a leading axis"));
        };
        let mut element_sizes = Vec::new();
        for s in seqs {
            if s.shape.first() != Some(&len) {
                return Err(EvalError::ShapeMismatch {
                    what: format!("a sequence of `{}`", op_line(self.f, op)),
                    expected: vec![len],
                    found: s.shape.clone(),
                });
            }
            element_sizes.push(s.shape[1..].iter().product::<usize>());
        }
        self.bind_args(&body.args[fixed..], args[fixed..].to_vec())?;
        let mut carry: Vec<Val<'a>> = args[..carries].to_vec();
        let mut stacked = op.results[carries..]
            .iter()
            .map(|v| Ok(Tensor::zeros(self.declared(*v)?)))
            .collect::<Result<Vec<Tensor>>>()?;
        for step in 0..len {
            let t = if reverse { len - 1 - step } else { step };
            self.bind_args(&body.args[..carries], carry)?;
            for (k, s) in seqs.iter().enumerate() {
                let size = element_sizes[k];
                let element = Tensor::new(
                    s.shape[1..].to_vec(),
                    s.data[t * size..(t + 1) * size].to_vec(),
                );
                self.bind(body.args[carries + k], element.into())?;
            }
            self.enter_iteration(t);
            let ran = self.region(body);
            self.leave_iteration();
            ran?;
            let mut yielded = self.region_results(op, body)?;
            let outputs = yielded.split_off(carries);
            carry = yielded;
            for (output, (stack, result)) in outputs
                .iter()
                .zip(stacked.iter_mut().zip(&op.results[carries..]))
            {
                if stack.shape.first() != Some(&len) || stack.shape[1..] != output.shape[..] {
                    let mut expected = vec![len];
                    expected.extend(&output.shape);
                    return Err(EvalError::ShapeMismatch {
                        what: format!("the stacked output {result}"),
                        expected,
                        found: stack.shape.clone(),
                    });
                }
                let size = output.data.len();
                stack.data[t * size..(t + 1) * size].copy_from_slice(&output.data);
            }
        }
        let mut results: Vec<Tensor> = carry.iter().map(|c| Tensor::clone(c)).collect();
        results.extend(stacked);
        Ok(results)
    }

    fn for_loop(&mut self, op: &Op, body: &Region) -> Result<Vec<Tensor>> {
        let args = (0..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<Val>>>()?;
        if args.len() < 2 || body.args.len() != args.len() - 1 {
            return Err(self.malformed(op, "the operands do not match the body's arguments"));
        }
        if body.results.len() != op.results.len() {
            return Err(self.malformed(op, "the body's results do not match the op's"));
        }
        let bound = |t: &Tensor| -> Result<i64> {
            match t.data[..] {
                [v] if v.is_finite() && v.fract() == 0.0 => Ok(v as i64),
                _ => Err(self.malformed(op, "a loop bound that is not an integer scalar")),
            }
        };
        let (lo, hi) = (bound(&args[0])?, bound(&args[1])?);
        self.bind_args(&body.args[1..], args[2..].to_vec())?;
        let mut sums = op
            .results
            .iter()
            .map(|v| Ok(Tensor::zeros(self.declared(*v)?)))
            .collect::<Result<Vec<Tensor>>>()?;
        for i in lo..hi {
            self.bind(body.args[0], Tensor::scalar(i as f64).into())?;
            self.enter_iteration(usize::try_from(i).unwrap_or(0));
            let ran = self.region(body);
            self.leave_iteration();
            ran?;
            for (sum, v) in sums.iter_mut().zip(self.region_results(op, body)?) {
                if sum.shape != v.shape {
                    return Err(EvalError::ShapeMismatch {
                        what: format!("an iteration's result in `{}`", op_line(self.f, op)),
                        expected: sum.shape.clone(),
                        found: v.shape.clone(),
                    });
                }
                for (s, x) in sum.data.iter_mut().zip(&v.data) {
                    *s += x;
                }
            }
        }
        Ok(sums)
    }

    fn if_op(
        &mut self,
        op: &Op,
        then_region: &Region,
        else_region: &Region,
    ) -> Result<Vec<Tensor>> {
        let cond = self.arg(op, 0)?;
        let [c] = cond.data[..] else {
            return Err(self.malformed(op, "the condition is not a scalar"));
        };
        let region = if c != 0.0 { then_region } else { else_region };
        let captures = (1..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<Val>>>()?;
        if region.args.len() != captures.len() {
            return Err(self.malformed(op, "the captures do not match the region's arguments"));
        }
        self.bind_args(&region.args, captures)?;
        self.region(region)?;
        Ok(self
            .region_results(op, region)?
            .iter()
            .map(|v| Tensor::clone(v))
            .collect())
    }
}

/// `x` broadcast (NumPy rules) to `shape`.
fn broadcast_to(x: &Tensor, shape: Vec<usize>) -> std::result::Result<Tensor, String> {
    let fail = || format!("{:?} does not broadcast to {:?}", x.shape, shape);
    if x.shape.len() > shape.len() {
        return Err(fail());
    }
    let lead = shape.len() - x.shape.len();
    let source = strides(&x.shape);
    let mut read = vec![0; shape.len()];
    for (i, d) in x.shape.iter().enumerate() {
        if *d == shape[lead + i] {
            read[lead + i] = source[i];
        } else if *d != 1 {
            return Err(fail());
        }
    }
    let mut data = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, &read, |o| data.push(x.data[o]));
    Ok(Tensor::new(shape, data))
}

/// `x` summed over the axes that broadcasting to its shape from `shape`
/// would add (leading) or stretch (target length 1).
fn sum_to(x: &Tensor, shape: Vec<usize>) -> std::result::Result<Tensor, String> {
    let fail = || format!("{:?} cannot be summed to {:?}", x.shape, shape);
    if shape.len() > x.shape.len() {
        return Err(fail());
    }
    let lead = x.shape.len() - shape.len();
    let target = strides(&shape);
    let mut write = vec![0; x.shape.len()];
    for (i, d) in shape.iter().enumerate() {
        if *d == x.shape[lead + i] {
            write[lead + i] = target[i];
        } else if *d != 1 {
            return Err(fail());
        }
    }
    let mut out = Tensor::zeros(shape);
    let mut values = x.data.iter();
    for_each_offset(&x.shape, &write, |o| {
        if let Some(v) = values.next() {
            out.data[o] += v;
        }
    });
    Ok(out)
}

fn reduce_values(op: ReduceOp, values: impl Iterator<Item = f64> + Clone) -> f64 {
    match op {
        ReduceOp::Sum => values.sum(),
        ReduceOp::Prod => values.product(),
        ReduceOp::Max => values.fold(f64::NEG_INFINITY, nan_max),
        ReduceOp::Min => values.fold(f64::INFINITY, nan_min),
        ReduceOp::LogSumExp => {
            let max = values.clone().fold(f64::NEG_INFINITY, nan_max);
            if !max.is_finite() {
                // NaN, all -inf (or empty), or a +inf term.
                return max;
            }
            let sum = values.map(|v| elementary::exp(v - max)).sum::<f64>();
            max + elementary::ln(sum)
        }
    }
}

fn reduce(x: &Tensor, op: ReduceOp, axis: Option<usize>) -> std::result::Result<Tensor, String> {
    let Some(axis) = axis else {
        return Ok(Tensor::scalar(reduce_values(op, x.data.iter().copied())));
    };
    if axis >= x.shape.len() {
        return Err(format!("axis {axis} of shape {:?}", x.shape));
    }
    let outer: usize = x.shape[..axis].iter().product();
    let len = x.shape[axis];
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut shape = x.shape.clone();
    shape.remove(axis);
    let mut data = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let base = o * len * inner + i;
            let values = (0..len).map(|j| x.data[base + j * inner]);
            data.push(reduce_values(op, values));
        }
    }
    Ok(Tensor::new(shape, data))
}

/// NumPy's `@` for 1-D and 2-D operands.
fn matmul(a: &Tensor, b: &Tensor) -> std::result::Result<Tensor, String> {
    let fail = || format!("matmul of shapes {:?} and {:?}", a.shape, b.shape);
    let (m, k) = match a.shape[..] {
        [k] => (1, k),
        [m, k] => (m, k),
        _ => return Err(fail()),
    };
    let (k2, n) = match b.shape[..] {
        [k2] => (k2, 1),
        [k2, n] => (k2, n),
        _ => return Err(fail()),
    };
    if k != k2 {
        return Err(fail());
    }
    let mut data = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            let aip = a.data[i * k + p];
            let row = &b.data[p * n..(p + 1) * n];
            for (out, bpj) in data[i * n..(i + 1) * n].iter_mut().zip(row) {
                *out += aip * bpj;
            }
        }
    }
    let mut shape = Vec::new();
    if a.shape.len() == 2 {
        shape.push(m);
    }
    if b.shape.len() == 2 {
        shape.push(n);
    }
    Ok(Tensor::new(shape, data))
}

fn unary_fn(op: UnaryOp) -> fn(f64) -> f64 {
    match op {
        UnaryOp::Neg => |x| -x,
        UnaryOp::Not => |x| truth(x == 0.0),
        UnaryOp::Exp => elementary::exp,
        UnaryOp::Log => elementary::ln,
        UnaryOp::Log1p => f64::ln_1p,
        UnaryOp::Expm1 => f64::exp_m1,
        UnaryOp::Sqrt => f64::sqrt,
        UnaryOp::Abs => f64::abs,
        UnaryOp::Log1pExp => log1p_exp,
        UnaryOp::Logistic => logistic,
        UnaryOp::Lgamma => libm::lgamma,
        UnaryOp::Digamma => digamma,
        UnaryOp::Trigamma => trigamma,
        UnaryOp::Phi => phi,
        UnaryOp::Sin => f64::sin,
        UnaryOp::Cos => f64::cos,
        UnaryOp::Tanh => f64::tanh,
        UnaryOp::LogPhi => crate::special::log_phi,
        UnaryOp::LogPhiSlope => crate::special::log_phi_slope,
        UnaryOp::LogBesselI0e => crate::special::log_bessel_i0e,
        UnaryOp::LogBesselI0eSlope => crate::special::log_bessel_i0e_slope,
        UnaryOp::InvPhi => crate::special::inv_phi,
        UnaryOp::MillsRatio => crate::special::mills_ratio,
    }
}

fn binary_fn(op: BinaryOp) -> fn(f64, f64) -> f64 {
    match op {
        BinaryOp::Add => |a, b| a + b,
        BinaryOp::Sub => |a, b| a - b,
        BinaryOp::Mul => |a, b| a * b,
        BinaryOp::Div => |a, b| a / b,
        BinaryOp::Pow => f64::powf,
        BinaryOp::Atan2 => f64::atan2,
        BinaryOp::Max => nan_max,
        BinaryOp::Min => nan_min,
        BinaryOp::Lt => |a, b| truth(a < b),
        BinaryOp::Le => |a, b| truth(a <= b),
        BinaryOp::Gt => |a, b| truth(a > b),
        BinaryOp::Ge => |a, b| truth(a >= b),
        BinaryOp::Eq => |a, b| truth(a == b),
        BinaryOp::Ne => |a, b| truth(a != b),
        BinaryOp::And => |a, b| truth(a != 0.0 && b != 0.0),
        BinaryOp::Or => |a, b| truth(a != 0.0 || b != 0.0),
    }
}

/// `log(1 + exp(x))` without overflow.
pub fn log1p_exp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `1 / (1 + exp(-x))`, accurate for large `|x|`.
pub fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The standard normal CDF.
pub fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `x` as a message shows it: all its digits in ordinary notation, or in
/// scientific notation when that would be longer than a line (1e-300 has 300
/// zeros in `{}`).
pub fn readable(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-5..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// The digamma function ψ(x) = d/dx ln Γ(x): shifted by ψ(x) = ψ(x+1) - 1/x
/// to x >= 10, then the asymptotic series; reflection for x < 0.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        // ψ(1 - x) - ψ(x) = π cot(πx)
        return digamma(1.0 - x) - PI / (PI * x).tan();
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    // ψ(x) ~ ln x - 1/(2x) - Σ B_2k / (2k x^2k)
    let series = r
        * (1.0 / 12.0
            - r * (1.0 / 120.0
                - r * (1.0 / 252.0
                    - r * (1.0 / 240.0 - r * (1.0 / 132.0 - r * (691.0 / 32760.0 - r / 12.0))))));
    shift + x.ln() - 0.5 / x - series
}

/// The trigamma function ψ₁(x) = d/dx ψ(x): shifted by ψ₁(x) = ψ₁(x+1) + 1/x²
/// to x >= 10, then the asymptotic series; reflection for x < 0.
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::INFINITY;
        }
        // ψ₁(1 - x) + ψ₁(x) = π² / sin²(πx)
        let s = (PI * x).sin();
        return PI * PI / (s * s) - trigamma(1.0 - x);
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    // ψ₁(x) ~ 1/x + 1/(2x²) + Σ B_2k / x^(2k+1)
    let series = r
        * (1.0 / 6.0
            - r * (1.0 / 30.0
                - r * (1.0 / 42.0
                    - r * (1.0 / 30.0 - r * (5.0 / 66.0 - r * (691.0 / 2730.0 - r * 7.0 / 6.0))))));
    shift + 1.0 / x + 0.5 * r + series / x
}
