//! A compiled model bound to its data: the log density and its gradient on
//! the unconstrained scale, and the constrained parameters and `out` values
//! of a draw. Evaluated by native code (the Cranelift JIT, the default) or
//! by the reference interpreter (`--backend interp`).

use crate::compile::Compiled;
use crate::data::{self, Data};
use crate::error::Error;
use rlc_check::model::Bound;
use rlc_ir::interp::{eval, eval_random, EvalError, Tensor};
use rlc_ir::{Function, Input, Rejection, ValueId};
use std::collections::HashMap;

/// Parameter values by name as a user gives them (`--at`, `--init FILE`, a truth file).
pub type GivenValues = HashMap<String, rlc_data::GivenValue>;

/// Which engine evaluates the compiled functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    #[default]
    /// Native code compiled with Cranelift, specialized on the data's sizes.
    Jit,
    /// The reference interpreter (slow; for checking).
    Interp,
}

/// Why an evaluation failed, and where in the model, when known.
#[derive(Debug)]
pub enum EvalFailure {
    Interp(EvalError),
    Jit {
        error: rlc_jit::RuntimeError,
        location: Option<String>,
    },
}

impl std::fmt::Display for EvalFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalFailure::Interp(e) => write!(f, "{e}"),
            EvalFailure::Jit {
                error: rlc_jit::RuntimeError::IndexOutOfRange { index, axis, len, .. },
                location: Some(at),
            } => write!(
                f,
                "at {at}: index {index} is out of range for axis {axis} of length {len} (check the data's values against the model's indexing)"
            ),
            EvalFailure::Jit { error, .. } => write!(f, "{error}"),
        }
    }
}

impl EvalFailure {
    /// An index out of range (or a missing cell used as one): a fault of the model or
    /// its data wherever it happens, never a region the density excludes, since
    /// indices are integers computed from data alone. The sampler stops on it.
    pub fn is_index_error(&self) -> bool {
        matches!(
            self,
            EvalFailure::Jit {
                error: rlc_jit::RuntimeError::IndexOutOfRange { .. },
                ..
            } | EvalFailure::Interp(
                EvalError::IndexOutOfBounds { .. } | EvalError::BadIndex { .. }
            )
        )
    }
}

/// A compiled function bound to its data, on one backend.
#[derive(Clone)]
pub(crate) enum Evaluator {
    Jit {
        function: rlc_jit::JitFunction,
        outputs: Vec<Vec<f64>>,
        /// Where each value comes from in the model, for run-time errors.
        locations: HashMap<ValueId, String>,
    },
    Interp(Box<BoundFunction>),
}

impl Evaluator {
    pub(crate) fn new(
        compiled: &Compiled,
        function: &Function,
        data: &Data,
        dim: usize,
        backend: Backend,
        threads: usize,
        notes: &mut Vec<String>,
    ) -> Result<Evaluator, Error> {
        // Random draws run on the interpreter, which holds the random source.
        if backend == Backend::Jit && !has_random(&function.body) {
            let tensors = data::inputs(function, data, dim)?;
            match rlc_jit::JitFunction::compile_threaded(function, &data.sizes, &tensors, threads) {
                Ok(jit) => {
                    let outputs = jit
                        .result_lens()
                        .into_iter()
                        .map(|n| vec![0.0; n])
                        .collect();
                    let locations = function
                        .spans
                        .iter()
                        .map(|(v, span)| (*v, compiled.locate(*span)))
                        .collect();
                    return Ok(Evaluator::Jit {
                        function: jit,
                        outputs,
                        locations,
                    });
                }
                Err(rlc_jit::JitError::Unsupported(what)) => {
                    notes.push(format!(
                        "the JIT does not support {what}; using the interpreter"
                    ));
                }
                Err(e) => return Err(Error::data(format!("error: {e}"))),
            }
        }
        Ok(Evaluator::Interp(Box::new(BoundFunction::new(
            function, data, dim,
        )?)))
    }

    /// The results of a function that draws, at `theta`, drawing from `rng`.
    pub(crate) fn call_random(
        &mut self,
        theta: &[f64],
        rng: &mut dyn rand::RngCore,
    ) -> Result<Vec<&[f64]>, EvalFailure> {
        match self {
            Evaluator::Interp(bound) => {
                bound.inputs[bound.theta_index].data.copy_from_slice(theta);
                let results = eval_random(&bound.function, &bound.sizes, &bound.inputs, rng)
                    .map_err(EvalFailure::Interp)?;
                bound.last = results;
                Ok(bound.last.iter().map(|t| t.data.as_slice()).collect())
            }
            Evaluator::Jit { .. } => self.call(theta),
        }
    }

    /// The value of the op whose error ends [`Evaluator::call_random`] at
    /// `theta` with `rng` (a copy of the one that failed), where the
    /// interpreter runs it: an index out of range, located in the model.
    pub(crate) fn failing_value_random(
        &self,
        theta: &[f64],
        rng: &mut dyn rand::RngCore,
    ) -> Option<rlc_ir::ValueId> {
        match self {
            Evaluator::Interp(bound) => {
                let mut inputs = bound.inputs.clone();
                inputs[bound.theta_index].data.copy_from_slice(theta);
                let (_, traced) =
                    rlc_ir::interp::eval_random_traced(&bound.function, &bound.sizes, &inputs, rng);
                traced.failed.map(|origin| origin.value)
            }
            Evaluator::Jit { .. } => None,
        }
    }

    /// The results of the last call that succeeded, each flattened.
    pub(crate) fn last_results(&self) -> Vec<&[f64]> {
        match self {
            Evaluator::Interp(bound) => bound.last.iter().map(|t| t.data.as_slice()).collect(),
            Evaluator::Jit { outputs, .. } => outputs.iter().map(|o| o.as_slice()).collect(),
        }
    }

    /// The function's results at `theta`, each flattened.
    pub(crate) fn call(&mut self, theta: &[f64]) -> Result<Vec<&[f64]>, EvalFailure> {
        match self {
            Evaluator::Jit {
                function,
                outputs,
                locations,
            } => {
                let mut slices: Vec<&mut [f64]> =
                    outputs.iter_mut().map(|o| o.as_mut_slice()).collect();
                function.call(theta, &mut slices).map_err(|error| {
                    let location = match &error {
                        rlc_jit::RuntimeError::IndexOutOfRange { result, .. } => {
                            locations.get(result).cloned()
                        }
                        rlc_jit::RuntimeError::Length { .. }
                        | rlc_jit::RuntimeError::Internal(_) => None,
                    };
                    EvalFailure::Jit { error, location }
                })?;
                Ok(outputs.iter().map(|o| o.as_slice()).collect())
            }
            Evaluator::Interp(bound) => {
                let results = bound.call(theta).map_err(EvalFailure::Interp)?;
                bound.last = results;
                Ok(bound.last.iter().map(|t| t.data.as_slice()).collect())
            }
        }
    }
}

/// Whether a region (or one nested in it) draws random values.
fn has_random(region: &rlc_ir::Region) -> bool {
    region.ops.iter().any(|op| {
        matches!(op.kind, rlc_ir::OpKind::Random { .. })
            || op.kind.regions().into_iter().any(has_random)
    })
}

/// One compiled function with its inputs filled in, except theta.
#[derive(Clone)]
pub struct BoundFunction {
    last: Vec<Tensor>,
    function: Function,
    sizes: HashMap<String, i64>,
    inputs: Vec<Tensor>,
    theta_index: usize,
}

impl BoundFunction {
    fn new(function: &Function, data: &Data, dim: usize) -> Result<BoundFunction, Error> {
        let theta_index = function
            .inputs
            .iter()
            .position(|i| *i == Input::Theta)
            .ok_or_else(|| Error::internal("internal error: no theta input"))?;
        let inputs = data::inputs(function, data, dim)?;
        Ok(BoundFunction {
            last: Vec::new(),
            function: function.clone(),
            sizes: data.sizes.clone(),
            inputs,
            theta_index,
        })
    }

    fn call(&mut self, theta: &[f64]) -> Result<Vec<Tensor>, EvalError> {
        self.inputs[self.theta_index].data.copy_from_slice(theta);
        eval(&self.function, &self.sizes, &self.inputs)
    }
}

/// A parameter's name and concrete shape, and its bounds when they are
/// constants (`None` where a bound is an expression of other values).
#[derive(Clone)]
pub struct ParamShape {
    pub name: String,
    pub shape: Vec<usize>,
    pub bounds: Option<(Option<f64>, Option<f64>)>,
    /// Whether it has a lower and an upper bound, constant or not.
    pub ends: (bool, bool),
}

/// One element's (lower, upper) bounds, `None` where unbounded.
pub type ElementBounds = (Option<f64>, Option<f64>);

/// The model's density and generated quantities on one data set.
/// Cloning shares the compiled code and copies the work buffers, so each
/// chain gets its own without compiling again.
#[derive(Clone)]
pub struct Density {
    gradient: Evaluator,
    generated: Evaluator,
    pub dim: usize,
    /// The unconstrained coordinates' names (`alpha`, `A_pr.1`, …), 1-based.
    pub coordinates: Vec<String>,
    /// Each parameter's name, concrete shape and constant bounds.
    pub params: Vec<ParamShape>,
    /// Each `out` value's name and concrete shape.
    /// The `out` values: name, shape, and whether written in loops.
    pub outs: Vec<(String, Vec<usize>, bool)>,
    /// What the user may want to know (the JIT fell back to the interpreter, …).
    pub notes: Vec<String>,
    /// The parameters given `(-pi, pi)` by a `VonMises` prior (directions),
    /// whose draws the run's warnings check against the interval's ends.
    pub circular: Vec<String>,
    explainer: Explainer,
}

/// The 0-based index along each axis of element `flat` of an array of
/// `shape`, row-major.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (k, d) in shape.iter().enumerate().rev() {
        index[k] = flat % d.max(&1);
        flat /= d.max(&1);
    }
    index
}

/// Names `name.i.j` (1-based) of the elements of an array of `shape`, row-major: the
/// data loader's, which names an array setting's CSV columns so.
pub use rlc_data::element_names;

/// The number of unconstrained coordinates of a model on its data.
pub fn dimension(compiled: &Compiled, data: &Data) -> Result<usize, Error> {
    compiled
        .ir
        .dim
        .eval(&data.sizes)
        .filter(|d| *d >= 0)
        .map(|d| d as usize)
        .ok_or_else(|| Error::data("error: the data's sizes give no valid parameter count"))
}

/// Each parameter's name, concrete shape and constant bounds on a data set.
pub fn param_shapes(compiled: &Compiled, data: &Data) -> Vec<ParamShape> {
    let mut params = Vec::new();
    for (layout, info) in compiled.ir.params.iter().zip(&compiled.model.params) {
        let shape: Vec<usize> = layout
            .shape
            .iter()
            .map(|d| d.eval(&data.sizes).unwrap_or(0).max(0) as usize)
            .collect();
        let constant = |b: &Option<Bound>| match b {
            None => Some(None),
            Some(Bound::Const(c)) if c.is_infinite() => Some(None),
            Some(Bound::Const(c)) => Some(Some(*c)),
            Some(Bound::Expr(..)) => None,
        };
        let c = &info.constraint;
        let constant_bounds = constant(&c.lower).zip(constant(&c.upper));
        let finite = |b: &Option<Bound>| match b {
            None => false,
            Some(Bound::Const(c)) => c.is_finite(),
            Some(Bound::Expr(..)) => true,
        };
        params.push(ParamShape {
            name: layout.name.clone(),
            shape,
            bounds: constant_bounds,
            ends: (finite(&c.lower), finite(&c.upper)),
        });
    }
    params
}

/// Maps constrained parameter values to the unconstrained coordinates
/// (Stan's inverse transforms). `values` gives each parameter's elements.
pub fn unconstrain(
    params: &[ParamShape],
    values: &GivenValues,
    bounds_at: &BoundsAt<'_>,
) -> Result<Vec<f64>, String> {
    let given = unconstrain_given(params, values, bounds_at)?;
    if let Some(missing) = params.iter().find(|p| !values.contains_key(&p.name)) {
        return Err(format!("no value given for parameter `{}`", missing.name));
    }
    Ok(given.into_iter().map(|u| u.unwrap_or(0.0)).collect())
}

/// Each element's bounds of parameter `index` at the unconstrained point
/// `theta` (whose coordinates before that parameter's are the ones its bounds
/// may depend on): for bounds that are expressions of other values.
pub type BoundsAt<'a> = dyn Fn(usize, &[f64]) -> Result<Vec<ElementBounds>, String> + 'a;

/// [`unconstrain`] for the parameters `values` names: each coordinate of those is
/// `Some`, the others `None` (initial values that give some parameters, as CmdStan's
/// `init` file may). A parameter whose bounds depend on other values
/// (`in (c1, inf)`) needs the parameters declared before it given too; its
/// bounds are then found with `bounds_at`.
pub fn unconstrain_given(
    params: &[ParamShape],
    values: &GivenValues,
    bounds_at: &BoundsAt<'_>,
) -> Result<Vec<Option<f64>>, String> {
    if let Some(unknown) = values
        .keys()
        .find(|k| !params.iter().any(|p| &p.name == *k))
    {
        if params.is_empty() {
            return Err(format!(
                "the model has no parameters, so none can be given (`{unknown}`)"
            ));
        }
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "the model has no parameter `{unknown}` (its parameters: {})",
            names.join(", ")
        ));
    }
    let mut theta: Vec<Option<f64>> = Vec::new();
    for (index, param) in params.iter().enumerate() {
        let ParamShape {
            name,
            shape,
            bounds,
            ..
        } = param;
        let count: usize = shape.iter().product();
        let Some(given) = values.get(name) else {
            theta.extend(std::iter::repeat_n(None, count));
            continue;
        };
        given
            .fits(shape)
            .map_err(|why| format!("parameter `{name}` {why}"))?;
        let v: Vec<f64> = if given.elements.len() == 1 && count > 1 {
            // One value for every element, as a scalar broadcasts.
            vec![given.elements[0]; count]
        } else {
            given.elements.clone()
        };
        let element_bounds: Vec<ElementBounds> = match bounds {
            Some(b) => vec![*b; count],
            None => {
                let before: Option<Vec<f64>> = theta.iter().copied().collect();
                let Some(mut at) = before else {
                    let given: Vec<&str> = params[..index]
                        .iter()
                        .filter(|p| !values.contains_key(&p.name))
                        .map(|p| p.name.as_str())
                        .collect();
                    return Err(format!(
                        "parameter `{name}` has bounds that depend on other values: give the parameters declared before it as well (not given: {})",
                        given.join(", ")
                    ));
                };
                at.resize(at.len() + count, 0.0);
                bounds_at(index, &at)?
            }
        };
        for (flat, (x, (lower, upper))) in v.iter().zip(element_bounds).enumerate() {
            if !x.is_finite() {
                // A NaN passes no bound test and an infinity is no point of a density:
                // said here, not as a log density that is not finite.
                let element = if shape.is_empty() {
                    format!("`{name}`")
                } else {
                    let index: Vec<String> =
                        unravel(flat, shape).iter().map(usize::to_string).collect();
                    format!("`{name}[{}]`", index.join(", "))
                };
                return Err(format!(
                    "parameter {element} = {x} is not a finite number: a parameter's value is a finite number inside its support"
                ));
            }
            let u = match (lower, upper) {
                (None, None) => *x,
                (Some(a), None) if *x > a => (x - a).ln(),
                (None, Some(b)) if *x < b => (b - x).ln(),
                (Some(a), Some(b)) if *x > a && *x < b => {
                    let p = (x - a) / (b - a);
                    (p / (1.0 - p)).ln()
                }
                _ => {
                    let lo = lower.map_or("-inf".to_string(), |a| a.to_string());
                    let hi = upper.map_or("inf".to_string(), |b| b.to_string());
                    return Err(format!(
                        "parameter `{name}` = {x} is outside its support ({lo}, {hi})"
                    ));
                }
            };
            theta.push(Some(u));
        }
    }
    Ok(theta)
}

/// The threads one chain's log density uses when told 0 ("the cores left
/// over"): the machine's cores shared among the chains running at once, at
/// least one; a number asked for is cut to the machine's cores, as more threads
/// than cores only wait on each other (1000 on 2 cores ran 400 times slower). The
/// draws do not depend on it.
pub fn threads_per_chain(requested: usize, chains: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        0 => (cores / chains.max(1)).max(1),
        n => n.min(cores),
    }
}

impl Density {
    pub fn new(compiled: &Compiled, data: &Data, backend: Backend) -> Result<Density, Error> {
        Density::with_threads(compiled, data, backend, 1)
    }

    /// `new`, with the log density's independent loop over subjects (if it
    /// has one whose body loops) split across `threads` threads on the JIT
    /// (see `rlc_jit::JitFunction::compile_threaded`): the same bits on any
    /// number of threads, faster when cores are free.
    pub fn with_threads(
        compiled: &Compiled,
        data: &Data,
        backend: Backend,
        threads: usize,
    ) -> Result<Density, Error> {
        let (limit, source) = crate::memory::limit();
        let jit_threads = if backend == Backend::Jit { threads } else { 1 };
        crate::memory::check_threads(compiled, data, limit, &source, jit_threads)?;
        let dim = dimension(compiled, data)?;
        let params = param_shapes(compiled, data);
        let mut coordinates = Vec::new();
        for p in &params {
            coordinates.extend(element_names(&p.name, &p.shape));
        }
        let outs = compiled
            .ir
            .outs
            .iter()
            .map(|o| {
                let shape =
                    o.ty.shape
                        .iter()
                        .map(|d| d.eval(&data.sizes).unwrap_or(0).max(0) as usize)
                        .collect();
                (o.name.clone(), shape, o.in_loops)
            })
            .collect();
        let mut notes = angle_notes(compiled, data);
        let gradient = Evaluator::new(
            compiled,
            &compiled.gradient,
            data,
            dim,
            backend,
            threads,
            &mut notes,
        )?;
        // Generated quantities run once per draw: not worth the threads.
        let generated = Evaluator::new(
            compiled,
            &compiled.ir.generated,
            data,
            dim,
            backend,
            1,
            &mut notes,
        )?;
        let mut density = Density {
            outs,
            gradient,
            generated,
            dim,
            coordinates,
            params,
            notes,
            circular: circular_parameters(compiled),
            explainer: Explainer::new(compiled, data, dim)?,
        };
        // An index out of range does not depend on the parameters: it is a
        // data error, found before sampling and explained by the data's rows.
        let zeros = vec![0.0; dim];
        let mut grad = vec![0.0; dim];
        match density.logp_grad(&zeros, &mut grad) {
            Err(e) => {
                let message = density
                    .explainer
                    .index_error(&zeros)
                    .unwrap_or_else(|| format!("error: evaluating the log density: {e}"));
                return Err(Error::data(message));
            }
            // Data outside a distribution's support is wrong whatever the
            // parameters: a data error before sampling.
            Ok(lp) if !lp.is_finite() => {
                // (Only observed data: a parameter's value, or a value `logp`
                // scores, may be outside a support at this point only.)
                if let Some((why, Some(Rejection::OutsideSupport))) =
                    density.explainer.non_finite_why(&zeros)
                {
                    return Err(Error::data(format!("error: {}: {why}", data.name)));
                }
            }
            Ok(_) => {}
        }
        Ok(density)
    }

    /// The log density (log-Jacobian included) and its gradient at `theta`.
    pub fn logp_grad(&mut self, theta: &[f64], grad: &mut [f64]) -> Result<f64, EvalFailure> {
        let results = self.gradient.call(theta)?;
        let lp = results
            .first()
            .and_then(|t| t.first().copied())
            .unwrap_or(f64::NAN);
        if let Some(g) = results.get(1) {
            grad.copy_from_slice(g);
        }
        Ok(lp)
    }

    /// Why the log density or its gradient is not finite (or fails) at
    /// `theta`: the first term that is not, where, and the parameter values.
    pub fn explain(&self, theta: &[f64]) -> Option<String> {
        self.explainer.non_finite(theta)
    }

    /// The constrained parameters, then the `out` values, all flattened
    /// row-major into one vector.
    pub fn generated(&mut self, theta: &[f64]) -> Result<Vec<f64>, EvalFailure> {
        Ok(self.generated.call(theta)?.concat())
    }

    /// Maps constrained parameter values to the unconstrained coordinates
    /// (Stan's inverse transforms). `values` gives each parameter's elements.
    pub fn unconstrain(&self, values: &GivenValues) -> Result<Vec<f64>, String> {
        unconstrain(&self.params, values, &|index, theta| {
            self.bounds_at(index, theta)
        })
    }

    /// [`unconstrain_given`]: the coordinates of the parameters `values` names.
    pub fn unconstrain_given(&self, values: &GivenValues) -> Result<Vec<Option<f64>>, String> {
        unconstrain_given(&self.params, values, &|index, theta| {
            self.bounds_at(index, theta)
        })
    }

    /// The bounds of each element of parameter `index` at `theta` (its own
    /// coordinates 0), read from the transform itself: the constrained value
    /// at the coordinates 0 and 1 is `a + 1` (lower bound `a`), `b - 1`
    /// (upper `b`), or `a + w/2` and `a + w logistic(1)` (width `w`), so the
    /// bounds are those of the program's own expressions at the other
    /// parameters' values.
    fn bounds_at(&self, index: usize, theta: &[f64]) -> Result<Vec<ElementBounds>, String> {
        let param = &self.params[index];
        let offset: usize = self.params[..index]
            .iter()
            .map(|p| p.shape.iter().product::<usize>())
            .sum();
        let count: usize = param.shape.iter().product();
        let at = |u: f64| -> Result<Vec<f64>, String> {
            let mut point = theta.to_vec();
            point.resize(self.dim, 0.0);
            point[offset..offset + count].fill(u);
            let values = self.explainer.generated_at(&point).ok_or_else(|| {
                format!(
                    "the bounds of parameter `{}` cannot be computed at the values given before it",
                    param.name
                )
            })?;
            Ok(values[offset..offset + count].to_vec())
        };
        let at_zero = at(0.0)?;
        let bounds = match param.ends {
            (true, false) => at_zero.iter().map(|x| (Some(x - 1.0), None)).collect(),
            (false, true) => at_zero.iter().map(|x| (None, Some(x + 1.0))).collect(),
            (true, true) => {
                let half_above = 1.0 / (1.0 + (-1.0_f64).exp()) - 0.5;
                at(1.0)?
                    .iter()
                    .zip(&at_zero)
                    .map(|(x1, x0)| {
                        let width = (x1 - x0) / half_above;
                        let lower = x0 - width / 2.0;
                        (Some(lower), Some(lower + width))
                    })
                    .collect()
            }
            (false, false) => vec![(None, None); count],
        };
        let finite =
            |b: &ElementBounds| b.0.is_none_or(f64::is_finite) && b.1.is_none_or(f64::is_finite);
        if bounds.iter().all(finite) {
            Ok(bounds)
        } else {
            Err(format!(
                "the bounds of parameter `{}` are not finite at the values given before it",
                param.name
            ))
        }
    }
}

/// What explaining a failed or non-finite evaluation needs: the log
/// density's and gradient's IR with their inputs (run on the interpreter,
/// traced), where each value comes from in the model, and the data's rows.
#[derive(Clone)]
pub(crate) struct Explainer(std::sync::Arc<ExplainerData>);

struct ExplainerData {
    log_density: BoundFunction,
    gradient: BoundFunction,
    generated: BoundFunction,
    model: rlc_check::Model,
    name: String,
    source: String,
    lines: crate::compile::LineIndex,
    data: Data,
    params: Vec<ParamShape>,
}

impl Explainer {
    pub(crate) fn new(compiled: &Compiled, data: &Data, dim: usize) -> Result<Explainer, Error> {
        Ok(Explainer(std::sync::Arc::new(ExplainerData {
            log_density: BoundFunction::new(&compiled.ir.log_density, data, dim)?,
            gradient: BoundFunction::new(&compiled.gradient, data, dim)?,
            generated: BoundFunction::new(&compiled.ir.generated, data, dim)?,
            model: compiled.model.clone(),
            name: compiled.name.clone(),
            source: compiled.source.clone(),
            lines: compiled.lines().clone(),
            data: data.clone(),
            params: param_shapes(compiled, data),
        })))
    }

    /// `file:line:column (`text`)` of a value of `function`.
    fn locate(&self, function: &Function, value: ValueId) -> Option<(String, (usize, usize))> {
        let span = *function.spans.get(&value)?;
        let d = &self.0;
        Some((d.lines.locate(&d.name, &d.source, span), span))
    }

    /// The constrained parameter values at `theta`, as `alpha = 0.3, w = [0.1, …]`.
    fn point(&self, theta: &[f64]) -> String {
        let d = &self.0;
        let mut generated = BoundFunction {
            last: Vec::new(),
            ..d.generated.clone()
        };
        let Ok(values) = generated.call(theta) else {
            return String::new();
        };
        let show = |x: f64| {
            if x == 0.0 || !x.is_finite() || (1e-4..1e9).contains(&x.abs()) {
                format!("{x:.4}")
            } else {
                format!("{x:.4e}")
            }
        };
        d.params
            .iter()
            .zip(values)
            .map(|(p, t)| {
                if p.shape.is_empty() {
                    format!(
                        "{} = {}",
                        p.name,
                        t.data.first().map_or("?".into(), |x| show(*x))
                    )
                } else {
                    let items: Vec<String> = t.data.iter().take(4).map(|x| show(*x)).collect();
                    let more = if t.data.len() > 4 { ", …" } else { "" };
                    format!("{} = [{}{more}]", p.name, items.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The generated quantities (constrained parameters, then `out`
    /// values, flattened) at `theta`, on the interpreter; `None` when they
    /// cannot be computed there.
    pub(crate) fn generated_at(&self, theta: &[f64]) -> Option<Vec<f64>> {
        let bound = &self.0.generated;
        let mut inputs = bound.inputs.clone();
        inputs[bound.theta_index].data.copy_from_slice(theta);
        let result = eval(&bound.function, &bound.sizes, &inputs).ok()?;
        Some(result.into_iter().flat_map(|t| t.data).collect())
    }

    /// Why the log density or its gradient is not finite at `theta`: the
    /// first term that is not, where in the model, and the parameter values.
    pub(crate) fn non_finite(&self, theta: &[f64]) -> Option<String> {
        self.non_finite_why(theta).map(|(message, _)| message)
    }

    /// [`Explainer::non_finite`], with the rejection the lowering wrote where
    /// the first value that is not finite is one (an observation outside its
    /// support, a prior outside its support, …).
    pub(crate) fn non_finite_why(&self, theta: &[f64]) -> Option<(String, Option<Rejection>)> {
        let d = &self.0;
        for (function, bound, what) in [
            (&d.log_density.function, &d.log_density, "log density"),
            (&d.gradient.function, &d.gradient, "gradient"),
        ] {
            let mut inputs = bound.inputs.clone();
            inputs[bound.theta_index].data.copy_from_slice(theta);
            let (result, traced) = rlc_ir::interp::eval_traced(function, &d.data.sizes, &inputs);
            let finite = match &result {
                Ok(r) => r.iter().all(|t| t.data.iter().all(|x| x.is_finite())),
                Err(_) => false,
            };
            if finite {
                continue;
            }
            let value = match (&result, &traced.failed) {
                (Err(e), Some(origin)) => {
                    let at = self
                        .locate(function, origin.value)
                        .map_or_else(String::new, |(at, _)| format!(" at {at}"));
                    return Some((format!("evaluating the {what} failed{at}: {e}"), None));
                }
                (Ok(r), _) => r
                    .first()
                    .and_then(|t| t.data.first())
                    .copied()
                    .unwrap_or(f64::NAN),
                (Err(e), None) => {
                    return Some((format!("evaluating the {what} failed: {e}"), None))
                }
            };
            let head = if what == "log density" {
                format!("the log density is {value}")
            } else {
                "the gradient is not finite".to_string()
            };
            let Some(origin) = traced.non_finite else {
                // No op made the first non-finite value from finite
                // operands: it came in with the data (an `inf` in a column),
                // or else from an infinity the model writes (`target += -inf`,
                // `mu * inf`), a constant as the lowering's own `-inf`s are.
                let message = match self.non_finite_data() {
                    Some(cells) => format!(
                        "{head} at {}: the data hold a value that is not finite, {cells}, and the model computes with it",
                        self.point(theta)
                    ),
                    None => format!(
                        "{head} at {}: no term computed from finite values made it, so it comes from an infinity the model writes (`inf` or `-inf` in a term, e.g. `target += -inf`)",
                        self.point(theta)
                    ),
                };
                return Some((message, None));
            };
            let located = self.locate(function, origin.value);
            let span = located.as_ref().map(|(_, span)| *span);
            let at = located.map_or_else(|| "an unlocated term".to_string(), |(at, _)| at);
            let iterations = if origin.iterations.is_empty() {
                String::new()
            } else {
                let i: Vec<String> = origin.iterations.iter().map(|i| i.to_string()).collect();
                format!(" in loop iteration {} (outermost first)", i.join(", "))
            };
            // A rejection the lowering wrote (as Stan's errors reject): say which.
            let rejection = function.rejections.get(&origin.value).copied();
            let point = self.point(theta);
            let message = match rejection {
                Some(Rejection::NotProbabilityVector) => format!(
                    "{head} at {point}: the probabilities `p` of {at}{iterations} are not a probability vector (an entry is negative, or they sum to more than {:e} away from 1; `Categorical(logits = …)` or `softmax` normalizes)",
                    rlc_random::SIMPLEX_TOLERANCE,
                ),
                Some(Rejection::ArgumentOutsideDomain) => format!(
                    "{head} at {point}: an argument of {at}{iterations} is outside the values it may take (`VonMises`'s `kappa` must be >= 0, `ExGaussian`'s `sigma` and `lambda` and `Wald`'s `mu` > 0; give such a parameter `in (0, inf)` or a positive prior)"
                ),
                Some(Rejection::ProbabilityOutsideUnit) => format!(
                    "{head} at {point}: the probability `p` of {at}{iterations} is outside [0, 1] (`logits = …`, or `logistic` or `Phi_approx` of any real, stays inside)"
                ),
                Some(Rejection::OutsideSupport) => {
                    match span.and_then(|span| self.outside_support_cells(span)) {
                        Some(cells) => format!(
                            "{head}: an observed value is outside the support of {at}{iterations}: {cells}"
                        ),
                        None => format!(
                            "{head}: an observed value is outside the support of {at}{iterations} (a negative value under a positive distribution, an outcome other than 0 or 1 under Bernoulli, a count above `n`, a value outside Uniform's bounds)"
                        ),
                    }
                }
                Some(Rejection::CutpointsOutOfOrder) => format!(
                    "{head} at {point}: the cutpoints of {at}{iterations} do not increase strictly, as `OrderedLogistic` needs (build them from a first cutpoint and positive gaps: language.md, Distributions)"
                ),
                Some(Rejection::ScoredOutsideSupport) => format!(
                    "{head} at {point}: the value `logp` scores in {at}{iterations} is outside its distribution's support (a response time less a non-decision time below 0, a negative count)"
                ),
                Some(Rejection::BeforeNonDecisionTime) => format!(
                    "{head} at {point}: a response time in {at}{iterations} is at or below the non-decision time `tau`, where `LBA`'s density is 0 (bound `tau` below each subject's fastest response, as hBayesDM's `tau ~ Uniform(RTbound, minRT)`)"
                ),
                Some(Rejection::EmptyBounds) => format!(
                    "{head} at {point}: the bounds of {at}{iterations} are empty: they are computed from other values and the upper end is not above the lower one (hBayesDM's `tau ~ Uniform(RTbound, minRT)` with a response faster than RTbound); check the data the bounds read, or write the bounds so they cannot cross"
                ),
                Some(Rejection::PriorOutsideSupport) => format!(
                    "{head} at {point}: the parameter's value is outside the support of its prior in {at}{iterations}: its declared bounds depend on other values and reach beyond the prior's support (an `Exponential` below 0, a `Uniform` outside its ends); declare bounds inside the support, or a prior whose support the bounds are"
                ),
                None => {
                    let cause = origin
                        .cause
                        .map_or_else(String::new, |c| format!(", from {c}"));
                    format!(
                        "{head} at {point}: the first value that is not finite is {}{cause} in {at}{iterations}",
                        origin.result
                    )
                }
            };
            return Some((message, rejection));
        }
        None
    }

    /// The first data variable holding a value that is neither finite nor
    /// missing, as "`x` holds inf at line 3 (and 2 more rows)".
    fn non_finite_data(&self) -> Option<String> {
        self.0.data.loaded.values.iter().find_map(|(name, array)| {
            let bad: Vec<usize> = (0..array.values.len())
                .filter(|k| !array.is_missing(*k) && !array.values[*k].is_finite())
                .collect();
            let first = array.values[*bad.first()?];
            Some(format!(
                "`{name}` holds {first} {}",
                self.cells_in_file(name, &bad)
            ))
        })
    }

    /// The cells of the data observed by the `~` at `span` that lie outside its
    /// distribution's support, as "`rt` holds -0.2 at line 4 (and 2 more
    /// rows)", for the distributions whose support needs none of their
    /// arguments (`None` for the others, and where no cell is outside).
    fn outside_support_cells(&self, span: (usize, usize)) -> Option<String> {
        let d = &self.0;
        let observation = d
            .model
            .observations
            .iter()
            .find(|o| o.statement.start <= span.0 && span.1 <= o.statement.end)?;
        let name = &d.model.symbol(observation.data).name;
        let array = d.data.loaded.value(name)?;
        let range = observation.distribution.outcome_range();
        let bad: Vec<usize> = (0..array.values.len())
            .filter(|&k| !array.is_missing(k) && range.excludes(array.values[k]) == Some(true))
            .collect();
        let first = array.values[*bad.first()?];
        Some(format!(
            "`{name}` holds {} {}, outside the support of `{:?}`",
            rlc_ir::interp::readable(first),
            self.cells_in_file(name, &bad),
            observation.distribution
        ))
    }

    /// An index out of range, explained by the data rows that hold the bad
    /// values when the index comes from the data.
    pub(crate) fn index_error(&self, theta: &[f64]) -> Option<String> {
        let d = &self.0;
        let bound = &d.log_density;
        let mut inputs = bound.inputs.clone();
        inputs[bound.theta_index].data.copy_from_slice(theta);
        let (result, traced) = rlc_ir::interp::eval_traced(&bound.function, &d.data.sizes, &inputs);
        let (Err(EvalError::IndexOutOfBounds { axis, index, len }), Some(origin)) =
            (&result, &traced.failed)
        else {
            return None;
        };
        let (at, span) = self.locate(&bound.function, origin.value)?;
        let mut message = format!(
            "error: at {at}: index {index} is out of range for axis {axis} of length {len}"
        );
        for source in rlc_ir::lower::index_sources(&d.model, span) {
            if source.axis != *axis && source.axis != usize::MAX {
                continue;
            }
            let Some(array) = d.data.loaded.value(&source.data) else {
                continue;
            };
            let (lo, hi) = (0.0 - source.offset + 0.0, *len as f64 - source.offset);
            let bad: Vec<usize> = (0..array.len())
                .filter(|k| !array.is_missing(*k))
                .filter(|k| {
                    let v = array.values[*k];
                    v.is_finite() && (v < lo || v >= hi)
                })
                .collect();
            if bad.is_empty() {
                continue;
            }
            let places = self.cells_in_file(&source.data, &bad);
            let first = array.values[bad[0]];
            message = format!(
                "error: {}: `{}` holds {first} {places}, but the model uses it as an index at {at}, which needs its values in {lo}..{hi}",
                d.data.name, source.data
            );
            if lo == 0.0 && (first - hi).abs() < 0.5 {
                message.push_str(&format!(
                    "\nhelp: the values look 1-based (as in hBayesDM's files): declare the range, e.g. `data {}: int[…] in 1..{}`, and index with `{} - 1`",
                    source.data,
                    hi as i64 + 1,
                    source.data
                ));
            }
            break;
        }
        Some(message)
    }

    /// Where cells of a data variable are in its file: `at line 5 (and 3 more
    /// rows)` for CSV (or the row as the front end names it:
    /// [`Data::row_names`]), `at choice[3][17] (and 3 more cells)` for JSON.
    fn cells_in_file(&self, variable: &str, cells: &[usize]) -> String {
        let loaded = &self.0.data.loaded;
        let row_names = self.0.data.row_names.as_ref();
        // `what` is the singular; one more is "1 more row".
        let more = |n: usize, what: &str| match n {
            0 | 1 => String::new(),
            2 => format!(" (and 1 more {what})"),
            _ => format!(" (and {} more {what}s)", n - 1),
        };
        if let Some((_, rows)) = loaded.row_cells.iter().find(|(n, _)| n == variable) {
            let wanted: std::collections::HashSet<usize> = cells.iter().copied().collect();
            let lines: Vec<usize> = rows
                .iter()
                .enumerate()
                .filter(|(_, c)| wanted.contains(c))
                .filter_map(|(r, _)| loaded.row_lines.get(r).copied())
                .collect();
            if let Some(first) = lines.first() {
                let place = row_names
                    .and_then(|names| names.get(first.checked_sub(2)?))
                    .cloned()
                    .unwrap_or_else(|| format!("line {first}"));
                return format!("at {place}{}", more(lines.len(), "row"));
            }
        }
        let Some(array) = loaded.value(variable) else {
            return String::new();
        };
        let mut index = Vec::new();
        let mut flat = cells[0];
        for d in array.shape.iter().rev() {
            index.push(flat % d.max(&1));
            flat /= d.max(&1);
        }
        index.reverse();
        let path: String = index.iter().map(|i| format!("[{i}]")).collect();
        format!("at {variable}{path}{}", more(cells.len(), "cell"))
    }
}

/// Notes for data observed under `VonMises` whose values do not look like
/// radians (beyond ±2π: degrees, most likely), which would fit silently.
fn angle_notes(compiled: &Compiled, data: &Data) -> Vec<String> {
    let mut named = std::collections::HashSet::new();
    let mut notes = Vec::new();
    let angles = compiled
        .model
        .observations
        .iter()
        .filter(|o| o.distribution.is_circular());
    for observation in angles {
        let (symbol, span) = (&observation.data, &observation.lhs);
        let name = &compiled.model.symbol(*symbol).name;
        if !named.insert(name.clone()) {
            continue;
        }
        let Some((_, array)) = data.loaded.values.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let largest = (0..array.values.len())
            .filter(|&k| !array.is_missing(k))
            .map(|k| array.values[k].abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        if largest > 2.0 * std::f64::consts::PI {
            notes.push(format!(
                "`{name}` holds values up to {largest} in absolute value, observed under `VonMises` at {}, which takes angles in radians: angles in degrees need `* pi / 180` in the data",
                compiled.locate((span.start, span.end))
            ));
        }
    }
    notes
}

/// The parameters whose constraint is a circular prior's `(-pi, pi)`
/// (`VonMises`): their interval is a circle cut at ±π.
fn circular_parameters(compiled: &Compiled) -> Vec<String> {
    use rlc_check::model::Callee;
    let model = &compiled.model;
    model
        .params
        .iter()
        .filter(|p| {
            p.prior
                .and_then(|prior| model.calls.get(&prior))
                .is_some_and(
                    |call| matches!(call.callee, Callee::Distribution(d) if d.is_circular()),
                )
                && p.constraint.lower.is_some()
        })
        .map(|p| model.symbol(p.symbol).name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::threads_per_chain;

    #[test]
    fn threads_are_at_most_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads_per_chain(1000, 4), cores);
        assert_eq!(threads_per_chain(1, 4), 1);
        assert_eq!(threads_per_chain(0, 1), cores);
        assert_eq!(threads_per_chain(0, cores * 2), 1);
    }
}
