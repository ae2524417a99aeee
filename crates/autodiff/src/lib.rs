//! Reverse-mode automatic differentiation as an IR→IR transformation: from
//! `log_density(theta, data…) -> (lp)` it builds
//! `log_density_grad(theta, data…) -> (lp, d lp / d theta)`, a new IR
//! function that the interpreter and the JIT run like any other. There is
//! no runtime tape.
//!
//! A region is differentiated by copying its operations (with fresh value
//! ids) and then emitting, in reverse order, each operation's adjoint rule,
//! accumulating the adjoints ("bars") of the values it used. Only *active*
//! values — real values that depend on `theta` — get adjoints.
//!
//! Loops and branches: the forward copy of a `scan` also stacks the carries
//! each step started from; the backward pass is a reverse `scan` whose body
//! is the derivative of the forward body (recomputing that step's forward
//! values from its stored carries), with the carries' adjoints as its loop
//! state and the adjoints of captured values (parameters such as `alpha`)
//! accumulated as extra carries. The forward scan also stacks the costly
//! values (an `exp`, a `log`) that the backward body would otherwise
//! recompute (`stash`). A `for` loop's adjoint is a `for` loop of the body's
//! derivative whose summed results are the captures' adjoints; it also sums
//! the body's results, and replaces the forward loop where it can run in
//! its place (`fuse_loop_twins`), so each iteration runs forward once. An
//! `if` differentiates the branch that ran. The result is cleaned by the IR
//! passes of `rlc_ir::opt` (common subexpressions, joined `if`s, dead code).
//!
//! Branches not taken: `where(c, a, b)` gives `a` the adjoint 0 where `b` was
//! chosen (and `logsumexp` a term of -inf the weight 0), but an op that made
//! `a` may have a non-finite derivative there (`log(a * x)` at `x = 0`), and
//! 0 · inf is NaN. Every value whose adjoint may pass through such a mask (the
//! values a model's `where` chooses from or its `logsumexp` adds up, and those
//! they are made from: `Function::chosen`) is *masked*: its op's adjoint
//! contributions are 0 wherever its own adjoint is 0, so a branch not taken
//! adds nothing, as if it had not been computed (JAX users write this "double
//! where" by hand). Models without `where` or `logsumexp` are unchanged (the
//! `select`s the lowering writes for its own formulas choose between finite
//! values).
//!
//! Ties: `max` and `min` (of two values, or reduced over an axis) are not
//! differentiable where several operands equal the extremum. There the
//! adjoint is split equally among the k tied operands (1/k each), a
//! subgradient whose parts sum to the adjoint: `max(a, a)` and
//! `max([a, a])` have the derivative 1 in `a`, as `a` does.
//!
//! The adjoint rules are one exhaustive `match` over the op kinds (no `_`
//! arm): an op cannot be added to the IR without its derivative. This crate
//! knows nothing of the language, the JIT or the sampler. Its tests
//! (`tests/`) check gradients against finite differences.

mod softplus;
mod stash;

use rlc_ir::*;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// An op the derivative of which is not defined (e.g. the derivative of a
/// derivative of `lgamma` beyond the second order).
#[derive(Debug, Clone, PartialEq)]
pub struct AdError {
    pub message: String,
}

impl fmt::Display for AdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

type Result<T> = std::result::Result<T, AdError>;

/// The gradient function of a log-density function whose first input is
/// `theta` and whose only result is the real scalar log density.
pub fn gradient(f: &Function) -> Result<Function> {
    let mut f = f.clone();
    softplus::expand(&mut f);
    let f = &f;
    let theta_index = f
        .inputs
        .iter()
        .position(|i| *i == Input::Theta)
        .ok_or_else(|| AdError {
            message: "the function has no theta input".into(),
        })?;
    if f.body.results.len() != 1 {
        return Err(AdError {
            message: "a log-density function returns exactly one value".into(),
        });
    }
    let mut ad = Ad {
        values: f.values.clone(),
        ops: vec![Vec::new()],
        spans: f.spans.clone(),
        rejections: f.rejections.clone(),
        chosen: &f.chosen,
        loop_twins: Vec::new(),
        zero_guard: None,
        results_masked: false,
        region_args_masked: false,
    };
    let args: Vec<ValueId> = f.body.args.iter().map(|a| ad.fresh(*a)).collect();
    let active: Vec<bool> = (0..args.len()).map(|i| i == theta_index).collect();
    let one = ad.constant(1.0, &TensorType::scalar(Elem::Real));
    let (results, arg_bars) = ad.differentiate(&f.body, &args, &active, &[Some(one)])?;
    let theta = args[theta_index];
    let grad = match arg_bars[theta_index] {
        Some(g) => g,
        None => ad.zeros(theta),
    };
    let ops = ad.ops.pop().unwrap_or_default();
    let mut grad = Function {
        name: format!("{}_grad", f.name),
        values: std::mem::take(&mut ad.values),
        inputs: f.inputs.clone(),
        body: Region {
            args,
            ops,
            results: vec![results[0], grad],
        },
        spans: std::mem::take(&mut ad.spans),
        rejections: std::mem::take(&mut ad.rejections),
        chosen: HashSet::new(),
    };
    fuse_loop_twins(&mut grad.body, &ad.loop_twins);
    // Residuals come as a second `if` on a step's condition, computing
    // again what the step's own `if` computes: join, then share.
    rlc_ir::opt::eliminate_common_subexpressions(&mut grad);
    rlc_ir::opt::merge_branches(&mut grad);
    rlc_ir::opt::eliminate_common_subexpressions(&mut grad);
    // Joined, the outer `if`s hold pairs of inner ones on conditions now
    // shared (a residual under `x >= 0` in an answered trial): once more.
    rlc_ir::opt::merge_branches(&mut grad);
    rlc_ir::opt::eliminate_common_subexpressions(&mut grad);
    // A branch's adjoint that could not join it (it reads the adjoints
    // computed after the branch) takes the branch's costly values from it.
    rlc_ir::opt::share_between_branches(&mut grad);
    // The forward copies inside backward loops compute more than the
    // backward pass reads (a re-run step's log-density term, say).
    rlc_ir::opt::eliminate_dead_code(&mut grad);
    rlc_ir::opt::drop_unused_captures(&mut grad);
    Ok(grad)
}

struct Ad<'f> {
    values: Vec<TensorType>,
    /// The model's own `where`s and `logsumexp`s (`Function::chosen`).
    chosen: &'f HashSet<ValueId>,
    /// `for` loops whose adjoint loop also computes their results.
    loop_twins: Vec<LoopTwin>,
    /// The op lists being built, innermost region last.
    ops: Vec<Vec<Op>>,
    /// Source spans: copies of a value, and the adjoint ops of the op that
    /// defines it, point where the value does.
    spans: HashMap<ValueId, (usize, usize)>,
    /// Why a value rejects a point (`Function::rejections`), for its copies too.
    rejections: HashMap<ValueId, rlc_ir::Rejection>,
    /// While an op's adjoint rule runs: the adjoint of its result when that
    /// result is masked (see "Branches not taken"), so `accumulate` zeroes
    /// the contributions where it is 0.
    zero_guard: Option<ValueId>,
    /// While a region op's adjoint rule runs: whether its results are masked
    /// (its regions' results are then), and whether a region's args came out
    /// masked (the op's args are then).
    results_masked: bool,
    region_args_masked: bool,
}

/// A `for` loop (by its results) and the adjoint loop that re-runs its
/// body and returns its sums as well (`sums`, the adjoint loop's last results).
struct LoopTwin {
    forward: Vec<ValueId>,
    sums: Vec<ValueId>,
}

/// Replaces each `for` loop by its adjoint twin where the twin can run in
/// its place (its operands, the adjoints of the loop's results among them,
/// are known there: as when the loop adds to the log density). A model's
/// loop over subjects then runs each subject's trials forward once, not
/// twice. Where it cannot, dead-code elimination drops the twin's sums.
fn fuse_loop_twins(region: &mut Region, twins: &[LoopTwin]) {
    for op in &mut region.ops {
        for nested in op.kind.regions_mut() {
            fuse_loop_twins(nested, twins);
        }
    }
    for twin in twins {
        let Some(i) = region.ops.iter().position(|o| o.results == twin.forward) else {
            continue;
        };
        let Some(j) = region
            .ops
            .iter()
            .position(|o| o.results.ends_with(&twin.sums))
        else {
            continue;
        };
        if j <= i {
            continue;
        }
        let between: HashSet<ValueId> = region.ops[i..j]
            .iter()
            .flat_map(|o| o.results.iter().copied())
            .collect();
        if region.ops[j].args.iter().any(|a| between.contains(a)) {
            continue;
        }
        let adjoint = region.ops.remove(j);
        region.ops[i] = adjoint;
        // (Only ops after `i` can read the forward loop's results.)
        let renamed: HashMap<ValueId, ValueId> = twin
            .forward
            .iter()
            .copied()
            .zip(twin.sums.iter().copied())
            .collect();
        region.rename_uses(&renamed);
    }
}

/// Where a forward value's renamed copy and its adjoint live.
struct Scope {
    renamed: HashMap<ValueId, ValueId>,
    active: HashSet<ValueId>,
    bars: HashMap<ValueId, ValueId>,
    /// Values whose adjoint may be a mask's 0 (see "Branches not taken").
    masked: HashSet<ValueId>,
}

impl Scope {
    fn renamed(&self, old: ValueId) -> ValueId {
        self.renamed.get(&old).copied().unwrap_or(old)
    }
}

impl Ad<'_> {
    // ---- Emission ------------------------------------------------------------

    fn ty(&self, v: ValueId) -> TensorType {
        self.values[v.0 as usize].clone()
    }

    fn new_value(&mut self, ty: TensorType) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ty);
        id
    }

    /// A fresh value with the type (and source span) of `old`.
    fn fresh(&mut self, old: ValueId) -> ValueId {
        let ty = self.ty(old);
        let new = self.new_value(ty);
        if let Some(span) = self.spans.get(&old).copied() {
            self.spans.insert(new, span);
        }
        if let Some(why) = self.rejections.get(&old).copied() {
            self.rejections.insert(new, why);
        }
        new
    }

    fn emit(&mut self, kind: OpKind, args: Vec<ValueId>, types: Vec<TensorType>) -> Vec<ValueId> {
        let results: Vec<ValueId> = types.into_iter().map(|t| self.new_value(t)).collect();
        self.ops.last_mut().expect("an op list is open").push(Op {
            kind,
            args,
            results: results.clone(),
        });
        results
    }

    fn emit1(&mut self, kind: OpKind, args: Vec<ValueId>, ty: TensorType) -> ValueId {
        self.emit(kind, args, vec![ty])[0]
    }

    fn constant(&mut self, c: f64, like: &TensorType) -> ValueId {
        let scalar = self.emit1(OpKind::Const(c), vec![], TensorType::scalar(Elem::Real));
        if like.is_scalar() {
            scalar
        } else {
            self.emit1(
                OpKind::Fill,
                vec![scalar],
                TensorType::real(like.shape.clone()),
            )
        }
    }

    fn zeros(&mut self, like: ValueId) -> ValueId {
        let ty = self.ty(like);
        self.constant(0.0, &ty)
    }

    fn unary(&mut self, op: UnaryOp, x: ValueId) -> ValueId {
        let ty = self.ty(x);
        self.emit1(OpKind::Unary(op), vec![x], ty)
    }

    fn binary(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.ty(a);
        let ty = match op {
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => TensorType::new(Elem::Bool, ty.shape),
            _ => ty,
        };
        self.emit1(OpKind::Binary(op), vec![a, b], ty)
    }

    fn mul(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.binary(BinaryOp::Mul, a, b)
    }

    fn select(&mut self, c: ValueId, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.ty(a);
        self.emit1(OpKind::Select, vec![c, a, b], ty)
    }

    fn broadcast_to(&mut self, v: ValueId, shape: &[Dim]) -> ValueId {
        let ty = self.ty(v);
        if ty.shape == shape {
            return v;
        }
        self.emit1(
            OpKind::BroadcastTo,
            vec![v],
            TensorType::new(ty.elem, shape.to_vec()),
        )
    }

    fn reshape(&mut self, v: ValueId, shape: Vec<Dim>) -> ValueId {
        let ty = self.ty(v);
        if ty.shape == shape {
            return v;
        }
        self.emit1(OpKind::Reshape, vec![v], TensorType::new(ty.elem, shape))
    }

    /// The adjoint of `set_subtensor`'s value when an index array may repeat
    /// a position (`q[[0, 0, 2]] = v`): only the element whose write the
    /// result keeps (the last, as the forward op does) gets the result's
    /// adjoint; the overwritten ones get 0. Which write survives is found by
    /// the forward op itself, writing each element's number into an array of
    /// the result's shape and reading it back.
    fn last_writes_only(
        &mut self,
        part_bar: ValueId,
        result: ValueId,
        indices: &[ValueId],
        plan: &[AxisIndex],
    ) -> Result<ValueId> {
        let part_shape = self.ty(part_bar).shape;
        let n = Dim::elements(&part_shape).ok_or_else(|| AdError {
            message: "index sizes overflow".into(),
        })?;
        let numbers = self.emit1(OpKind::Iota, vec![], TensorType::new(Elem::Int, vec![n]));
        let numbers = self.reshape(numbers, part_shape.clone());
        let none = self.emit1(OpKind::Const(-1.0), vec![], TensorType::scalar(Elem::Int));
        let result_shape = self.ty(result).shape;
        let none = self.emit1(
            OpKind::Fill,
            vec![none],
            TensorType::new(Elem::Int, result_shape.clone()),
        );
        let mut args = vec![none, numbers];
        args.extend(indices.iter().copied());
        let kept = self.emit1(
            OpKind::IndexSet {
                plan: plan.to_vec(),
            },
            args,
            TensorType::new(Elem::Int, result_shape),
        );
        let mut args = vec![kept];
        args.extend(indices.iter().copied());
        let kept = self.emit1(
            OpKind::Index {
                plan: plan.to_vec(),
            },
            args,
            TensorType::new(Elem::Int, part_shape),
        );
        let survives = self.binary(BinaryOp::Eq, kept, numbers);
        let zero = self.zeros(part_bar);
        Ok(self.select(survives, part_bar, zero))
    }

    /// Adds `bar` to the adjoint of `old` (if `old` is active); 0 where the
    /// adjoint of a masked op's result is 0 (`zero_guard`).
    fn accumulate(&mut self, scope: &mut Scope, old: ValueId, bar: ValueId) {
        if !scope.active.contains(&old) {
            return;
        }
        let bar = match self.zero_guard {
            Some(yb) if yb != bar && self.ty(yb).shape == self.ty(bar).shape => {
                let zero = self.zeros(bar);
                let unused = self.binary(BinaryOp::Eq, yb, zero);
                self.select(unused, zero, bar)
            }
            _ => bar,
        };
        let next = match scope.bars.get(&old) {
            Some(existing) => self.binary(BinaryOp::Add, *existing, bar),
            None => bar,
        };
        scope.bars.insert(old, next);
    }

    // ---- Regions -----------------------------------------------------------------

    /// Emits the forward copy of `region` (its args bound to `args`) and then
    /// its backward pass seeded with `result_bars`. Returns the forward
    /// results and the adjoints of the args (`None` where inactive or zero).
    fn differentiate(
        &mut self,
        region: &Region,
        args: &[ValueId],
        active_args: &[bool],
        result_bars: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let mut scope = Scope {
            renamed: HashMap::new(),
            active: HashSet::new(),
            bars: HashMap::new(),
            masked: HashSet::new(),
        };
        if self.results_masked {
            scope.masked.extend(region.results.iter().copied());
        }
        for ((old, new), active) in region.args.iter().zip(args).zip(active_args) {
            scope.renamed.insert(*old, *new);
            if *active && self.ty(*old).elem == Elem::Real {
                scope.active.insert(*old);
            }
        }
        // Forward: copy every op with fresh results, remembering which are active.
        let mut forward: Vec<Op> = Vec::with_capacity(region.ops.len());
        for op in &region.ops {
            let copied = self.forward_op(op, &mut scope)?;
            forward.push(copied);
        }
        // Seed the adjoints of the results.
        for (result, bar) in region.results.iter().zip(result_bars) {
            if let Some(bar) = bar {
                self.accumulate(&mut scope, *result, *bar);
            }
        }
        // Backward: adjoint rules in reverse order.
        for (op, copied) in region.ops.iter().zip(&forward).rev() {
            if op.results.iter().any(|r| scope.bars.contains_key(r)) {
                self.adjoint(op, copied, &mut scope)?;
            }
        }
        self.region_args_masked |= region.args.iter().any(|a| scope.masked.contains(a));
        let results = region.results.iter().map(|r| scope.renamed(*r)).collect();
        let bars = region
            .args
            .iter()
            .map(|a| scope.bars.get(a).copied())
            .collect();
        Ok((results, bars))
    }

    /// Copies `op` into the current op list with fresh ids (and, for a
    /// scan, the extra stacked outputs the backward pass needs), and marks
    /// its results active when they depend on active values.
    fn forward_op(&mut self, op: &Op, scope: &mut Scope) -> Result<Op> {
        let args: Vec<ValueId> = op.args.iter().map(|a| scope.renamed(*a)).collect();
        let any_active = op.args.iter().any(|a| scope.active.contains(a));
        let mut results: Vec<ValueId> = op.results.iter().map(|r| self.fresh(*r)).collect();
        let kind = match &op.kind {
            OpKind::Scan {
                body,
                carries,
                sequences,
                reverse,
            } => {
                // Stack each step's starting carries for the backward pass.
                let (body, renamed) = self.clone_region(body);
                let mut body = body;
                body.results.extend(body.args[..*carries].iter().copied());
                for init in &op.args[..*carries] {
                    let ty = self.ty(*init);
                    let len = op
                        .args
                        .get(*carries)
                        .map(|s| self.ty(*s).shape[0].clone())
                        .unwrap_or_else(|| Dim::constant(0));
                    let mut shape = vec![len];
                    shape.extend(ty.shape);
                    results.push(self.new_value(TensorType::new(ty.elem, shape)));
                }
                let _ = renamed;
                OpKind::Scan {
                    body,
                    carries: *carries,
                    sequences: *sequences,
                    reverse: *reverse,
                }
            }
            other => self.clone_kind(other),
        };
        let copied = Op {
            kind,
            args,
            results: results.clone(),
        };
        self.ops
            .last_mut()
            .expect("an op list is open")
            .push(copied.clone());
        for (old, new) in op.results.iter().zip(&results) {
            scope.renamed.insert(*old, *new);
        }
        // Activity: a real result is active when an active value flows into it.
        let active_results: Vec<bool> = match &op.kind {
            OpKind::Scan { body, carries, .. } => self.scan_activity(op, body, *carries, scope),
            _ => vec![any_active; op.results.len()],
        };
        for (r, active) in op.results.iter().zip(active_results) {
            if active && self.ty(*r).elem == Elem::Real {
                scope.active.insert(*r);
            }
        }
        Ok(copied)
    }

    /// Which results of a scan are active: carries reach a fixed point
    /// (a carry becomes active when its next value depends on active values).
    fn scan_activity(&self, op: &Op, body: &Region, carries: usize, scope: &Scope) -> Vec<bool> {
        let mut active_args: Vec<bool> = op.args.iter().map(|a| scope.active.contains(a)).collect();
        loop {
            let active_results = region_activity(body, &active_args, &self.values);
            let mut changed = false;
            for (j, a) in active_args.iter_mut().enumerate().take(carries) {
                if active_results[j]
                    && !*a
                    && self.values[body.args[j].0 as usize].elem == Elem::Real
                {
                    *a = true;
                    changed = true;
                }
            }
            if !changed {
                let ys = &active_results[carries..];
                let mut out: Vec<bool> = active_args[..carries].to_vec();
                out.extend_from_slice(ys);
                return out;
            }
        }
    }

    fn clone_kind(&mut self, kind: &OpKind) -> OpKind {
        match kind {
            OpKind::Scan {
                body,
                carries,
                sequences,
                reverse,
            } => OpKind::Scan {
                body: self.clone_region(body).0,
                carries: *carries,
                sequences: *sequences,
                reverse: *reverse,
            },
            OpKind::For { body } => OpKind::For {
                body: self.clone_region(body).0,
            },
            OpKind::If {
                then_region,
                else_region,
            } => OpKind::If {
                then_region: self.clone_region(then_region).0,
                else_region: self.clone_region(else_region).0,
            },
            other => other.clone(),
        }
    }

    /// A deep copy of `region` with fresh ids for every value it defines.
    fn clone_region(&mut self, region: &Region) -> (Region, HashMap<ValueId, ValueId>) {
        let mut map = HashMap::new();
        let args = region
            .args
            .iter()
            .map(|a| {
                let n = self.fresh(*a);
                map.insert(*a, n);
                n
            })
            .collect();
        let ops = region
            .ops
            .iter()
            .map(|op| {
                let args = op
                    .args
                    .iter()
                    .map(|a| map.get(a).copied().unwrap_or(*a))
                    .collect();
                let kind = self.clone_kind(&op.kind);
                let results = op
                    .results
                    .iter()
                    .map(|r| {
                        let n = self.fresh(*r);
                        map.insert(*r, n);
                        n
                    })
                    .collect();
                Op {
                    kind,
                    args,
                    results,
                }
            })
            .collect();
        let results = region
            .results
            .iter()
            .map(|r| map.get(r).copied().unwrap_or(*r))
            .collect();
        (Region { args, ops, results }, map)
    }

    /// Builds a region: `build` emits its ops given fresh args of `arg_types`
    /// and returns its results.
    fn region<F>(&mut self, arg_types: Vec<TensorType>, build: F) -> Result<Region>
    where
        F: FnOnce(&mut Ad, &[ValueId]) -> Result<Vec<ValueId>>,
    {
        let args: Vec<ValueId> = arg_types.into_iter().map(|t| self.new_value(t)).collect();
        self.ops.push(Vec::new());
        let results = build(self, &args);
        let ops = self.ops.pop().unwrap_or_default();
        Ok(Region {
            args,
            ops,
            results: results?,
        })
    }

    // ---- Adjoint rules --------------------------------------------------------------

    /// Emits the adjoint of `op` (whose forward copy is `fwd`), adding to the
    /// adjoints of its active arguments.
    fn adjoint(&mut self, op: &Op, fwd: &Op, scope: &mut Scope) -> Result<()> {
        let first_new = self.values.len() as u32;
        let masked = op.results.iter().any(|r| scope.masked.contains(r));
        if self.chosen.contains(&op.results[0]) {
            // A `where`'s branches (not its condition), a `logsumexp`'s terms.
            let chosen_from = if matches!(op.kind, OpKind::Select) {
                1
            } else {
                0
            };
            scope.masked.extend(&op.args[chosen_from..]);
        }
        // Only products with a derivative can make 0 · inf; moving, adding
        // and choosing values keep a 0 adjoint 0.
        let multiplies = matches!(
            op.kind,
            OpKind::Unary(_)
                | OpKind::Binary(BinaryOp::Mul | BinaryOp::Div | BinaryOp::Pow)
                | OpKind::Special(_)
                | OpKind::Reduce { .. }
        );
        let guard = match (masked, multiplies) {
            (true, true) => op.results.first().and_then(|r| scope.bars.get(r)).copied(),
            _ => None,
        };
        let saved = (
            std::mem::replace(&mut self.zero_guard, guard),
            std::mem::replace(&mut self.results_masked, masked),
            std::mem::take(&mut self.region_args_masked),
        );
        let rule = self.adjoint_rule(op, fwd, scope);
        let region_args_masked = self.region_args_masked;
        (
            self.zero_guard,
            self.results_masked,
            self.region_args_masked,
        ) = saved;
        rule?;
        if masked || region_args_masked {
            scope.masked.extend(op.args.iter().copied());
        }
        if let Some(span) = op.results.first().and_then(|r| self.spans.get(r)).copied() {
            for v in first_new..self.values.len() as u32 {
                self.spans.entry(ValueId(v)).or_insert(span);
            }
        }
        Ok(())
    }

    fn adjoint_rule(&mut self, op: &Op, fwd: &Op, scope: &mut Scope) -> Result<()> {
        let bar = |i: usize, scope: &Scope| scope.bars.get(&op.results[i]).copied();
        let x = |i: usize| fwd.args[i];
        let y = fwd.results[0];
        let active = |i: usize, scope: &Scope| scope.active.contains(&op.args[i]);
        match &op.kind {
            OpKind::Random { .. } => {
                return Err(AdError {
                    message: "a random draw has no derivative (a log density never draws)".into(),
                })
            }
            OpKind::Const(_)
            | OpKind::SizeOf(_)
            | OpKind::Iota
            | OpKind::IsPresent
            | OpKind::Cast => {}
            OpKind::Fill => {
                if let Some(yb) = bar(0, scope) {
                    let s = self.emit1(
                        OpKind::Reduce {
                            op: ReduceOp::Sum,
                            axis: None,
                        },
                        vec![yb],
                        TensorType::scalar(Elem::Real),
                    );
                    self.accumulate(scope, op.args[0], s);
                }
            }
            OpKind::BroadcastTo => {
                if let Some(yb) = bar(0, scope) {
                    let ty = self.ty(x(0));
                    let b = self.emit1(OpKind::SumTo, vec![yb], TensorType::real(ty.shape));
                    self.accumulate(scope, op.args[0], b);
                }
            }
            OpKind::SumTo => {
                if let Some(yb) = bar(0, scope) {
                    let shape = self.ty(x(0)).shape;
                    let b = self.broadcast_to(yb, &shape);
                    self.accumulate(scope, op.args[0], b);
                }
            }
            OpKind::Reshape => {
                if let Some(yb) = bar(0, scope) {
                    let shape = self.ty(x(0)).shape;
                    let b = self.reshape(yb, shape);
                    self.accumulate(scope, op.args[0], b);
                }
            }
            OpKind::Transpose => {
                if let Some(yb) = bar(0, scope) {
                    let ty = self.ty(x(0));
                    let b = self.emit1(OpKind::Transpose, vec![yb], ty);
                    self.accumulate(scope, op.args[0], b);
                }
            }
            OpKind::Concat { axis } => {
                if let Some(yb) = bar(0, scope) {
                    let mut offset = Dim::constant(0);
                    for (i, a) in op.args.iter().enumerate() {
                        let ty = self.ty(x(i));
                        let len = ty.shape[*axis].clone();
                        let stop = offset.add(&len).ok_or_else(|| AdError {
                            message: "concat offsets overflow".into(),
                        })?;
                        if scope.active.contains(a) {
                            let yshape = self.ty(yb).shape;
                            let mut plan = Vec::new();
                            for (k, d) in yshape.iter().enumerate().take(*axis + 1) {
                                plan.push(if k == *axis {
                                    AxisIndex::Slice {
                                        start: offset.clone(),
                                        stop: stop.clone(),
                                    }
                                } else {
                                    AxisIndex::Slice {
                                        start: Dim::constant(0),
                                        stop: d.clone(),
                                    }
                                });
                            }
                            let part = self.emit1(
                                OpKind::Index { plan },
                                vec![yb],
                                TensorType::real(ty.shape),
                            );
                            self.accumulate(scope, *a, part);
                        }
                        offset = stop;
                    }
                }
            }
            OpKind::Unary(u) => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let xv = x(0);
                let d = match u {
                    UnaryOp::Not => return Ok(()),
                    UnaryOp::Neg => self.unary(UnaryOp::Neg, yb),
                    UnaryOp::Exp => self.mul(yb, y),
                    UnaryOp::Log => self.binary(BinaryOp::Div, yb, xv),
                    UnaryOp::Log1p => {
                        let one = self.constant(1.0, &self.ty(xv));
                        let d = self.binary(BinaryOp::Add, one, xv);
                        self.binary(BinaryOp::Div, yb, d)
                    }
                    UnaryOp::Expm1 => {
                        let one = self.constant(1.0, &self.ty(xv));
                        let e = self.binary(BinaryOp::Add, y, one);
                        self.mul(yb, e)
                    }
                    UnaryOp::Sqrt => {
                        // 1 / (2 sqrt x), taken as 0 at x = 0 where it is infinite,
                        // as Stan does and for the reason `pow` does (below).
                        let half = self.constant(0.5, &self.ty(xv));
                        let h = self.binary(BinaryOp::Div, half, y);
                        let zero = self.zeros(h);
                        let at_zero = self.binary(BinaryOp::Eq, y, zero);
                        let h = self.select(at_zero, zero, h);
                        self.mul(yb, h)
                    }
                    UnaryOp::Abs => {
                        // The slope 1 at 0, as Stan's `abs` (its edge table).
                        let zero = self.constant(0.0, &self.ty(xv));
                        let neg = self.binary(BinaryOp::Lt, xv, zero);
                        let nyb = self.unary(UnaryOp::Neg, yb);
                        self.select(neg, nyb, yb)
                    }
                    UnaryOp::Log1pExp => {
                        let s = self.unary(UnaryOp::Logistic, xv);
                        self.mul(yb, s)
                    }
                    UnaryOp::Logistic => {
                        let one = self.constant(1.0, &self.ty(xv));
                        let omy = self.binary(BinaryOp::Sub, one, y);
                        let s = self.mul(y, omy);
                        self.mul(yb, s)
                    }
                    UnaryOp::Lgamma => {
                        let g = self.unary(UnaryOp::Digamma, xv);
                        self.mul(yb, g)
                    }
                    UnaryOp::Digamma => {
                        let g = self.unary(UnaryOp::Trigamma, xv);
                        self.mul(yb, g)
                    }
                    UnaryOp::Trigamma => {
                        return Err(AdError {
                            message: "the derivative of trigamma is not implemented".into(),
                        })
                    }
                    UnaryOp::Phi => {
                        // φ(x) = exp(-x²/2) / √(2π)
                        let ty = self.ty(xv);
                        let x2 = self.mul(xv, xv);
                        let mh = self.constant(-0.5, &ty);
                        let e = self.mul(mh, x2);
                        let e = self.unary(UnaryOp::Exp, e);
                        let c = self.constant(1.0 / (2.0 * std::f64::consts::PI).sqrt(), &ty);
                        let pdf = self.mul(e, c);
                        self.mul(yb, pdf)
                    }
                    UnaryOp::Sin => {
                        let c = self.unary(UnaryOp::Cos, xv);
                        self.mul(yb, c)
                    }
                    UnaryOp::Cos => {
                        let s = self.unary(UnaryOp::Sin, xv);
                        let s = self.unary(UnaryOp::Neg, s);
                        self.mul(yb, s)
                    }
                    UnaryOp::Tanh => {
                        // 1 - tanh² = 4e / (1 + e)², e = exp(-2|x|): keeps its digits
                        // where tanh rounds to ±1 (1 - y² would be 0 from |x| = 19).
                        let ty = self.ty(xv);
                        let a = self.unary(UnaryOp::Abs, xv);
                        let m2 = self.constant(-2.0, &ty);
                        let e = self.mul(m2, a);
                        let e = self.unary(UnaryOp::Exp, e);
                        let one = self.constant(1.0, &ty);
                        let d = self.binary(BinaryOp::Add, one, e);
                        let d = self.mul(d, d);
                        let four = self.constant(4.0, &ty);
                        let n = self.mul(four, e);
                        let s = self.binary(BinaryOp::Div, n, d);
                        self.mul(yb, s)
                    }
                    UnaryOp::LogPhi => {
                        let s = self.unary(UnaryOp::LogPhiSlope, xv);
                        self.mul(yb, s)
                    }
                    UnaryOp::InvPhi => {
                        // 1 / φ(y) = √(2π) exp(y²/2), y = Φ⁻¹(x)
                        let ty = self.ty(xv);
                        let y2 = self.mul(y, y);
                        let half = self.constant(0.5, &ty);
                        let e = self.mul(half, y2);
                        let c = self.constant(0.5 * (2.0 * std::f64::consts::PI).ln(), &ty);
                        let e = self.binary(BinaryOp::Add, e, c);
                        let d = self.unary(UnaryOp::Exp, e);
                        self.mul(yb, d)
                    }
                    UnaryOp::MillsRatio => {
                        // R'(x) = x R(x) - 1
                        let ty = self.ty(xv);
                        let xr = self.mul(xv, y);
                        let one = self.constant(1.0, &ty);
                        let d = self.binary(BinaryOp::Sub, xr, one);
                        self.mul(yb, d)
                    }
                    UnaryOp::LogBesselI0e => {
                        let s = self.unary(UnaryOp::LogBesselI0eSlope, xv);
                        self.mul(yb, s)
                    }
                    // Only gradients compute these, and gradients are not differentiated.
                    UnaryOp::LogPhiSlope | UnaryOp::LogBesselI0eSlope => {
                        return Err(AdError {
                            message: format!("the derivative of {u:?} is not implemented"),
                        })
                    }
                };
                self.accumulate(scope, op.args[0], d);
            }
            OpKind::Binary(b) => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let (a, bv) = (x(0), x(1));
                match b {
                    BinaryOp::Add => {
                        self.accumulate(scope, op.args[0], yb);
                        self.accumulate(scope, op.args[1], yb);
                    }
                    BinaryOp::Sub => {
                        self.accumulate(scope, op.args[0], yb);
                        if active(1, scope) {
                            let n = self.unary(UnaryOp::Neg, yb);
                            self.accumulate(scope, op.args[1], n);
                        }
                    }
                    BinaryOp::Mul => {
                        if active(0, scope) {
                            let d = self.mul(yb, bv);
                            self.accumulate(scope, op.args[0], d);
                        }
                        if active(1, scope) {
                            let d = self.mul(yb, a);
                            self.accumulate(scope, op.args[1], d);
                        }
                    }
                    BinaryOp::Div => {
                        if active(0, scope) {
                            let d = self.binary(BinaryOp::Div, yb, bv);
                            self.accumulate(scope, op.args[0], d);
                        }
                        if active(1, scope) {
                            // d(a/b)/db = -y/b
                            let q = self.binary(BinaryOp::Div, y, bv);
                            let d = self.mul(yb, q);
                            let d = self.unary(UnaryOp::Neg, d);
                            self.accumulate(scope, op.args[1], d);
                        }
                    }
                    BinaryOp::Pow => {
                        // Where the power is inf neither operand gets a slope:
                        // where the density is finite, such a power is used where
                        // it has none (`exp(-pow(x, tau))`, Prelec's weight of a
                        // probability of 0), and its inf · 0 would make it NaN.
                        // (A test of the power, known in the forward pass, rather
                        // than of its adjoint: that one costs a tenth of a
                        // prospect-theory trial.)
                        let zero = self.zeros(y);
                        let inf = self.constant(f64::INFINITY, &self.ty(y));
                        let unused = self.binary(BinaryOp::Eq, y, inf);
                        if active(0, scope) {
                            // b · a^(b-1), which is 0 where b is (a^0 = 1 has no
                            // slope, also at a = 0, where 0 · 0^-1 would be NaN)
                            // and, as in Stan's `pow`, at a zero base where it is
                            // infinite (b < 1): such a base is mostly a product
                            // with a datum of 0 (`pow(r * delay, s)` at a delay
                            // of 0), which does not depend on r at all, where
                            // inf · 0 would make r's gradient NaN.
                            let one = self.constant(1.0, &self.ty(bv));
                            let bm1 = self.binary(BinaryOp::Sub, bv, one);
                            let p = self.binary(BinaryOp::Pow, a, bm1);
                            let d = self.mul(bv, p);
                            let b_is_zero = self.binary(BinaryOp::Eq, bv, zero);
                            let a_is_zero = self.binary(BinaryOp::Eq, a, zero);
                            let steep = self.binary(BinaryOp::Lt, bv, one);
                            let infinite = self.binary(BinaryOp::And, a_is_zero, steep);
                            let no_slope = self.binary(BinaryOp::Or, b_is_zero, infinite);
                            let no_slope = self.binary(BinaryOp::Or, no_slope, unused);
                            let d = self.select(no_slope, zero, d);
                            let d = self.mul(yb, d);
                            self.accumulate(scope, op.args[0], d);
                        }
                        if active(1, scope) {
                            // y · log a, which is 0 where y is (a zero base with
                            // a positive exponent: 0 · log 0 has the limit 0, as
                            // the utility of a zero outcome has no slope in its
                            // exponent). (At b = 0 it is the right limit, -inf, where
                            // Stan's is 0: one more test on a trial's hot path for
                            // an exponent that is exactly 0 at a zero base.)
                            let l = self.unary(UnaryOp::Log, a);
                            let d = self.mul(y, l);
                            let y_is_zero = self.binary(BinaryOp::Eq, y, zero);
                            let no_slope = self.binary(BinaryOp::Or, y_is_zero, unused);
                            let d = self.select(no_slope, zero, d);
                            let d = self.mul(yb, d);
                            self.accumulate(scope, op.args[1], d);
                        }
                    }
                    BinaryOp::Atan2 => {
                        // atan2(a, b) with a the y and b the x coordinate:
                        // d/da = b / r², d/db = -a / r², r² = a² + b².
                        let a2 = self.mul(a, a);
                        let b2 = self.mul(bv, bv);
                        let r2 = self.binary(BinaryOp::Add, a2, b2);
                        let w = self.binary(BinaryOp::Div, yb, r2);
                        if active(0, scope) {
                            let d = self.mul(w, bv);
                            self.accumulate(scope, op.args[0], d);
                        }
                        if active(1, scope) {
                            let d = self.mul(w, a);
                            let d = self.unary(UnaryOp::Neg, d);
                            self.accumulate(scope, op.args[1], d);
                        }
                    }
                    BinaryOp::Max | BinaryOp::Min => {
                        // The adjoint goes to the chosen operand; on a tie it is
                        // split equally (half each), so the gradients of the
                        // two operands still sum to the adjoint and
                        // `max(a, a)` has the derivative 1 in `a`, the
                        // derivative of `a` (see "Ties" in the crate doc).
                        let cmp = if *b == BinaryOp::Max {
                            BinaryOp::Gt
                        } else {
                            BinaryOp::Lt
                        };
                        let first = self.binary(cmp, a, bv);
                        let tie = self.binary(BinaryOp::Eq, a, bv);
                        let zero = self.zeros(yb);
                        let half = self.constant(0.5, &self.ty(yb));
                        let half = self.mul(yb, half);
                        if active(0, scope) {
                            let d = self.select(tie, half, zero);
                            let d = self.select(first, yb, d);
                            self.accumulate(scope, op.args[0], d);
                        }
                        if active(1, scope) {
                            let d = self.select(tie, half, yb);
                            let d = self.select(first, zero, d);
                            self.accumulate(scope, op.args[1], d);
                        }
                    }
                    BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge
                    | BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::And
                    | BinaryOp::Or => {}
                }
            }
            OpKind::Special(SpecialFn::WienerLpdf) => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                if !(0..op.args.len()).any(|i| active(i, scope)) {
                    return Ok(());
                }
                // One call gives all five partial derivatives.
                let ty = self.ty(y);
                let partials = self.emit(
                    OpKind::Special(SpecialFn::WienerGradient),
                    fwd.args.clone(),
                    vec![ty; 5],
                );
                for (i, partial) in partials.into_iter().enumerate() {
                    if active(i, scope) {
                        let d = self.mul(yb, partial);
                        self.accumulate(scope, op.args[i], d);
                    }
                }
            }
            OpKind::Special(SpecialFn::WienerGradient) => {
                return Err(AdError {
                    message: "the second derivatives of the Wiener log density are not implemented"
                        .into(),
                })
            }
            OpKind::Select => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let zero = self.zeros(yb);
                if active(1, scope) {
                    let d = self.select(x(0), yb, zero);
                    self.accumulate(scope, op.args[1], d);
                }
                if active(2, scope) {
                    let d = self.select(x(0), zero, yb);
                    self.accumulate(scope, op.args[2], d);
                }
            }
            OpKind::Reduce { op: reduce, axis } => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let xv = x(0);
                let shape = self.ty(xv).shape;
                // The result and its adjoint broadcast back over the reduced axis.
                let kept = match axis {
                    None => vec![Dim::constant(1); shape.len()],
                    Some(a) => {
                        let mut s = shape.clone();
                        s[*a] = Dim::constant(1);
                        s
                    }
                };
                let ybb = self.reshape(yb, kept.clone());
                let ybb = self.broadcast_to(ybb, &shape);
                let d = match reduce {
                    ReduceOp::Sum => ybb,
                    ReduceOp::Prod => {
                        // The product of the other factors, without dividing by
                        // a zero: with no zero factor it is y / x_i; with one,
                        // the product of the non-zero factors at the zero and 0
                        // elsewhere; with two or more, 0 everywhere.
                        let xty = self.ty(xv);
                        let zero = self.constant(0.0, &xty);
                        let one = self.constant(1.0, &xty);
                        let is_zero = self.binary(BinaryOp::Eq, xv, zero);
                        let nonzero = self.select(is_zero, one, xv);
                        let zero_flags = self.select(is_zero, one, zero);
                        let reduced = self.ty(y);
                        let product = self.emit1(
                            OpKind::Reduce {
                                op: ReduceOp::Prod,
                                axis: *axis,
                            },
                            vec![nonzero],
                            reduced.clone(),
                        );
                        let zeros = self.emit1(
                            OpKind::Reduce {
                                op: ReduceOp::Sum,
                                axis: *axis,
                            },
                            vec![zero_flags],
                            reduced,
                        );
                        let product = self.reshape(product, kept.clone());
                        let product = self.broadcast_to(product, &shape);
                        let zeros = self.reshape(zeros, kept);
                        let zeros = self.broadcast_to(zeros, &shape);
                        let others = self.binary(BinaryOp::Div, product, nonzero);
                        let none = self.binary(BinaryOp::Eq, zeros, zero);
                        let only_this = self.binary(BinaryOp::Eq, zeros, one);
                        let only_this = self.binary(BinaryOp::And, only_this, is_zero);
                        let at_zero = self.select(only_this, product, zero);
                        let q = self.select(none, others, at_zero);
                        self.mul(ybb, q)
                    }
                    ReduceOp::Max | ReduceOp::Min => {
                        // The adjoint is split equally among the k elements
                        // equal to the extremum (1/k each), so it sums to the
                        // adjoint whatever the ties.
                        let yy = self.reshape(y, kept.clone());
                        let yy = self.broadcast_to(yy, &shape);
                        let hit = self.binary(BinaryOp::Eq, xv, yy);
                        let zero = self.zeros(xv);
                        let xty = self.ty(xv);
                        let one = self.constant(1.0, &xty);
                        let flags = self.select(hit, one, zero);
                        let ties = self.emit1(
                            OpKind::Reduce {
                                op: ReduceOp::Sum,
                                axis: *axis,
                            },
                            vec![flags],
                            TensorType::real(self.ty(y).shape),
                        );
                        let ties = self.reshape(ties, kept);
                        let ties = self.broadcast_to(ties, &shape);
                        // Where no element hits (a NaN extremum), 1 keeps the
                        // division finite; those elements get 0 anyway.
                        let ties = self.select(hit, ties, one);
                        let share = self.binary(BinaryOp::Div, ybb, ties);
                        self.select(hit, share, zero)
                    }
                    ReduceOp::LogSumExp => {
                        // The softmax exp(x - y), divided by its own sum: where
                        // the logits are so large that y rounds to their
                        // maximum (|x| past ~1e16), the weights of tied
                        // maxima are each 1 and would sum to k, not 1. (The
                        // sum is at least 1/k, as x - y <= 0 and the maximum's
                        // weight is exp(-log k) or more.) Only a finite sum
                        // divides: where y is ±inf or NaN the sum is NaN, and
                        // dividing by it would spread that NaN to every
                        // weight, where the unnormalized weights keep the
                        // finite ones (as the JIT's softmax does).
                        let yy = self.reshape(y, kept.clone());
                        let yy = self.broadcast_to(yy, &shape);
                        let diff = self.binary(BinaryOp::Sub, xv, yy);
                        let w = self.unary(UnaryOp::Exp, diff);
                        let total = self.emit1(
                            OpKind::Reduce {
                                op: ReduceOp::Sum,
                                axis: *axis,
                            },
                            vec![w],
                            TensorType::real(self.ty(y).shape),
                        );
                        let spread = self.binary(BinaryOp::Sub, total, total);
                        let no_spread = self.zeros(spread);
                        let finite = self.binary(BinaryOp::Eq, spread, no_spread);
                        let total_ty = self.ty(total);
                        let one = self.constant(1.0, &total_ty);
                        let total = self.select(finite, total, one);
                        let total = self.reshape(total, kept);
                        let total = self.broadcast_to(total, &shape);
                        let w = self.binary(BinaryOp::Div, w, total);
                        self.mul(ybb, w)
                    }
                };
                self.accumulate(scope, op.args[0], d);
            }
            OpKind::Matmul => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let (a, b) = (x(0), x(1));
                let (ta, tb) = (self.ty(a), self.ty(b));
                let (ra, rb) = (ta.shape.len(), tb.shape.len());
                let transpose = |me: &mut Ad, v: ValueId| {
                    let t = me.ty(v);
                    let shape = vec![t.shape[1].clone(), t.shape[0].clone()];
                    me.emit1(OpKind::Transpose, vec![v], TensorType::real(shape))
                };
                let matmul = |me: &mut Ad, p: ValueId, q: ValueId, shape: Vec<Dim>| {
                    me.emit1(OpKind::Matmul, vec![p, q], TensorType::real(shape))
                };
                let (da, db) = match (ra, rb) {
                    (2, 2) => {
                        let bt = transpose(self, b);
                        let at = transpose(self, a);
                        (
                            matmul(self, yb, bt, ta.shape.clone()),
                            matmul(self, at, yb, tb.shape.clone()),
                        )
                    }
                    (2, 1) => {
                        // y[m] = A[m,k] b[k]: Ā = ȳ bᵀ, b̄ = Aᵀ ȳ
                        let m = ta.shape[0].clone();
                        let k = ta.shape[1].clone();
                        let col = self.reshape(yb, vec![m, Dim::constant(1)]);
                        let row = self.reshape(b, vec![Dim::constant(1), k]);
                        let at = transpose(self, a);
                        (
                            matmul(self, col, row, ta.shape.clone()),
                            matmul(self, at, yb, tb.shape.clone()),
                        )
                    }
                    (1, 2) => {
                        // y[n] = a[k] B[k,n]: ā = B ȳ, B̄ = a ȳᵀ
                        let k = tb.shape[0].clone();
                        let n = tb.shape[1].clone();
                        let col = self.reshape(a, vec![k, Dim::constant(1)]);
                        let row = self.reshape(yb, vec![Dim::constant(1), n]);
                        (
                            matmul(self, b, yb, ta.shape.clone()),
                            matmul(self, col, row, tb.shape.clone()),
                        )
                    }
                    _ => {
                        let ya = self.broadcast_to(yb, &ta.shape);
                        (self.mul(ya, b), self.mul(ya, a))
                    }
                };
                self.accumulate(scope, op.args[0], da);
                self.accumulate(scope, op.args[1], db);
            }
            OpKind::Index { .. } => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let OpKind::Index { plan } = &fwd.kind else {
                    return Ok(());
                };
                let base = op.args[0];
                if !scope.active.contains(&base) {
                    return Ok(());
                }
                let start = match scope.bars.get(&base) {
                    Some(existing) => *existing,
                    None => self.zeros(x(0)),
                };
                let mut args = vec![start, yb];
                args.extend(fwd.args[1..].iter().copied());
                let ty = self.ty(x(0));
                let d = self.emit1(OpKind::IndexInc { plan: plan.clone() }, args, ty);
                scope.bars.insert(base, d);
            }
            OpKind::IndexSet { plan } | OpKind::IndexInc { plan } => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let indices: Vec<ValueId> = fwd.args[2..].to_vec();
                let part_ty = self.ty(x(1));
                if active(1, scope) {
                    let mut args = vec![yb];
                    args.extend(indices.iter().copied());
                    let mut d = self.emit1(
                        OpKind::Index { plan: plan.clone() },
                        args,
                        TensorType::real(part_ty.shape.clone()),
                    );
                    let repeats = plan.iter().any(|a| matches!(a, AxisIndex::Gather { .. }));
                    if repeats && matches!(op.kind, OpKind::IndexSet { .. }) {
                        d = self.last_writes_only(d, y, &indices, plan)?;
                    }
                    self.accumulate(scope, op.args[1], d);
                }
                if active(0, scope) {
                    let d = if matches!(op.kind, OpKind::IndexSet { .. }) {
                        // The replaced part's adjoint does not reach the base.
                        let zero = self.constant(0.0, &part_ty);
                        let mut args = vec![yb, zero];
                        args.extend(indices.iter().copied());
                        let ty = self.ty(yb);
                        self.emit1(OpKind::IndexSet { plan: plan.clone() }, args, ty)
                    } else {
                        yb
                    };
                    self.accumulate(scope, op.args[0], d);
                }
            }
            OpKind::ThetaSlice { offset } => {
                let Some(yb) = bar(0, scope) else {
                    return Ok(());
                };
                let theta = op.args[0];
                let n = Dim::elements(&self.ty(y).shape).ok_or_else(|| AdError {
                    message: "parameter sizes overflow".into(),
                })?;
                let stop = offset.add(&n).ok_or_else(|| AdError {
                    message: "parameter offsets overflow".into(),
                })?;
                let flat = self.reshape(yb, vec![n]);
                let start = match scope.bars.get(&theta) {
                    Some(existing) => *existing,
                    None => self.zeros(x(0)),
                };
                let ty = self.ty(x(0));
                let plan = vec![AxisIndex::Slice {
                    start: offset.clone(),
                    stop,
                }];
                let d = self.emit1(OpKind::IndexInc { plan }, vec![start, flat], ty);
                if scope.active.contains(&theta) {
                    scope.bars.insert(theta, d);
                }
            }
            OpKind::Scan {
                body,
                carries,
                sequences,
                ..
            } => self.scan_adjoint(op, fwd, body, *carries, *sequences, scope)?,
            OpKind::For { body } => self.for_adjoint(op, fwd, body, scope)?,
            OpKind::If {
                then_region,
                else_region,
            } => self.if_adjoint(op, fwd, then_region, else_region, scope)?,
        }
        Ok(())
    }

    fn scan_adjoint(
        &mut self,
        op: &Op,
        fwd: &Op,
        body: &Region,
        carries: usize,
        sequences: usize,
        scope: &mut Scope,
    ) -> Result<()> {
        let OpKind::Scan { reverse, .. } = &fwd.kind else {
            return Ok(());
        };
        let reverse = *reverse;
        let n_ys = body.results.len() - carries;
        let captures = op.args.len() - carries - sequences;
        // Which carries, sequences and captures have adjoints.
        let active_carries: Vec<usize> = (0..carries)
            .filter(|j| scope.active.contains(&op.results[*j]))
            .collect();
        let active_seqs = active_positions(&op.args[carries..carries + sequences], scope);
        let active_caps = active_positions(&op.args[carries + sequences..], scope);
        let ys_with_bars: Vec<usize> = (0..n_ys)
            .filter(|y| scope.bars.contains_key(&op.results[carries + y]))
            .collect();
        // Initial reverse carries: final carries' adjoints (or zeros), and zero accumulators.
        let mut init = Vec::new();
        for &j in &active_carries {
            let v = match scope.bars.get(&op.results[j]) {
                Some(b) => *b,
                None => self.zeros(fwd.results[j]),
            };
            init.push(v);
        }
        for &k in &active_caps {
            init.push(self.zeros(fwd.args[carries + sequences + k]));
        }
        // Sequences: the stacked starting carries, the forward sequences, the ys' adjoints.
        let stacked_carries: Vec<ValueId> = (0..carries)
            .map(|j| fwd.results[carries + n_ys + j])
            .collect();
        let mut seqs: Vec<ValueId> = stacked_carries.clone();
        seqs.extend(fwd.args[carries..carries + sequences].iter().copied());
        for &yi in &ys_with_bars {
            seqs.push(scope.bars[&op.results[carries + yi]]);
        }
        let caps: Vec<ValueId> = fwd.args[carries + sequences..].to_vec();
        let element = |me: &Ad, v: ValueId| {
            let t = me.ty(v);
            TensorType::new(t.elem, t.shape[1..].to_vec())
        };
        let mut arg_types: Vec<TensorType> = init.iter().map(|v| self.ty(*v)).collect();
        arg_types.extend(seqs.iter().map(|s| element(self, *s)));
        arg_types.extend(caps.iter().map(|c| self.ty(*c)));
        let n_init = init.len();
        let n_seq = seqs.len();
        let carry_active: Vec<bool> = (0..carries).map(|j| active_carries.contains(&j)).collect();
        let seq_active: Vec<bool> = (0..sequences).map(|s| active_seqs.contains(&s)).collect();
        let cap_active: Vec<bool> = (0..captures).map(|k| active_caps.contains(&k)).collect();
        let region = self.region(arg_types, |me, args| {
            let carry_bars = &args[..active_carries.len()];
            let accumulators = &args[active_carries.len()..n_init];
            let starts = &args[n_init..n_init + carries];
            let xs = &args[n_init + carries..n_init + carries + sequences];
            let y_bars = &args[n_init + carries + sequences..n_init + n_seq];
            let cap_vals = &args[n_init + n_seq..];
            let mut body_args: Vec<ValueId> = starts.to_vec();
            body_args.extend(xs.iter().copied());
            body_args.extend(cap_vals.iter().copied());
            let mut active_flags = carry_active.clone();
            active_flags.extend(seq_active.iter().copied());
            active_flags.extend(cap_active.iter().copied());
            let mut result_bars: Vec<Option<ValueId>> = vec![None; carries + n_ys];
            for (i, j) in active_carries.iter().enumerate() {
                result_bars[*j] = Some(carry_bars[i]);
            }
            for (i, yi) in ys_with_bars.iter().enumerate() {
                result_bars[carries + yi] = Some(y_bars[i]);
            }
            let (_, arg_bars) = me.differentiate(body, &body_args, &active_flags, &result_bars)?;
            let mut results = Vec::new();
            for &j in &active_carries {
                results.push(match arg_bars[j] {
                    Some(b) => b,
                    None => me.zeros(starts[j]),
                });
            }
            for (i, &k) in active_caps.iter().enumerate() {
                results.push(match arg_bars[carries + sequences + k] {
                    Some(b) => me.binary(BinaryOp::Add, accumulators[i], b),
                    None => accumulators[i],
                });
            }
            for &s in &active_seqs {
                results.push(match arg_bars[carries + s] {
                    Some(b) => b,
                    None => me.zeros(xs[s]),
                });
            }
            Ok(results)
        })?;
        let mut region = region;
        // The forward scan has checked every index this body's re-run of a
        // step repeats: what only a check read is dead here.
        rlc_ir::opt::forget_index_checks(&mut region);
        let residuals = self.stash_residuals(fwd, &mut region, n_init, n_seq, sequences);
        let n_seq = n_seq + residuals.len();
        let mut args = init;
        args.extend(seqs);
        args.extend(residuals);
        args.extend(caps);
        let mut result_types: Vec<TensorType> =
            args[..n_init].iter().map(|v| self.ty(*v)).collect();
        for &s in &active_seqs {
            result_types.push(self.ty(fwd.args[carries + s]));
        }
        let results = self.emit(
            OpKind::Scan {
                body: region,
                carries: n_init,
                sequences: n_seq,
                reverse: !reverse,
            },
            args,
            result_types,
        );
        for (i, &j) in active_carries.iter().enumerate() {
            self.accumulate(scope, op.args[j], results[i]);
        }
        for (i, &k) in active_caps.iter().enumerate() {
            self.accumulate(
                scope,
                op.args[carries + sequences + k],
                results[active_carries.len() + i],
            );
        }
        for (i, &s) in active_seqs.iter().enumerate() {
            self.accumulate(scope, op.args[carries + s], results[n_init + i]);
        }
        Ok(())
    }

    /// Lets the forward scan `fwd` (already emitted) stack the costly
    /// values that the backward body `backward` would recompute (see
    /// `stash`); returns them, as the backward scan's new sequences.
    fn stash_residuals(
        &mut self,
        fwd: &Op,
        backward: &mut Region,
        carries: usize,
        sequences: usize,
        forward_sequences: usize,
    ) -> Vec<ValueId> {
        let OpKind::Scan {
            carries: forward_carries,
            ..
        } = &fwd.kind
        else {
            return Vec::new();
        };
        let layout = stash::BackwardLayout {
            carries,
            sequences,
            forward_carries: *forward_carries,
            forward_sequences,
            forward_captures: fwd.args.len() - forward_carries - forward_sequences,
        };
        // Taken out of its op list while `stash` makes values.
        let Some(list) = self.ops.last_mut() else {
            return Vec::new();
        };
        let Some(at) = list.iter().position(|o| o.results == fwd.results) else {
            return Vec::new();
        };
        let mut forward = std::mem::replace(&mut list[at], fwd.clone());
        let residuals = self.stash(&mut forward, backward, &layout);
        if let Some(list) = self.ops.last_mut() {
            list[at] = forward;
        }
        residuals
    }

    /// The adjoint of each result of `op` (zeros where it has none), for
    /// an adjoint loop or branch that takes them all as captures.
    fn result_bars_or_zeros(&mut self, op: &Op, fwd: &Op, scope: &Scope) -> Vec<ValueId> {
        (0..op.results.len())
            .map(|i| match scope.bars.get(&op.results[i]) {
                Some(b) => *b,
                None => self.zeros(fwd.results[i]),
            })
            .collect()
    }

    fn for_adjoint(&mut self, op: &Op, fwd: &Op, body: &Region, scope: &mut Scope) -> Result<()> {
        let captures = &op.args[2..];
        let active_caps = active_positions(captures, scope);
        if active_caps.is_empty() {
            return Ok(());
        }
        let result_bars = self.result_bars_or_zeros(op, fwd, scope);
        let caps: Vec<ValueId> = fwd.args[2..].to_vec();
        let mut arg_types = vec![TensorType::scalar(Elem::Int)];
        arg_types.extend(caps.iter().map(|c| self.ty(*c)));
        arg_types.extend(result_bars.iter().map(|b| self.ty(*b)));
        let n_caps = caps.len();
        let cap_flags: Vec<bool> = (0..n_caps).map(|k| active_caps.contains(&k)).collect();
        let region = self.region(arg_types, |me, args| {
            let mut body_args = vec![args[0]];
            body_args.extend(args[1..1 + n_caps].iter().copied());
            let mut flags = vec![false];
            flags.extend(cap_flags.iter().copied());
            let bars: Vec<Option<ValueId>> = args[1 + n_caps..].iter().map(|b| Some(*b)).collect();
            let (forward_results, arg_bars) = me.differentiate(body, &body_args, &flags, &bars)?;
            let mut results = Vec::new();
            for &k in &active_caps {
                results.push(match arg_bars[1 + k] {
                    Some(b) => b,
                    None => me.zeros(args[1 + k]),
                });
            }
            // The forward sums too, for `fuse_loop_twins`.
            results.extend(forward_results);
            Ok(results)
        })?;
        let mut args = vec![fwd.args[0], fwd.args[1]];
        args.extend(caps.iter().copied());
        args.extend(result_bars);
        let mut types: Vec<TensorType> = active_caps.iter().map(|k| self.ty(caps[*k])).collect();
        types.extend(fwd.results.iter().map(|r| self.ty(*r)));
        let results = self.emit(OpKind::For { body: region }, args, types);
        for (i, &k) in active_caps.iter().enumerate() {
            self.accumulate(scope, captures[k], results[i]);
        }
        if !fwd.results.is_empty() {
            self.loop_twins.push(LoopTwin {
                forward: fwd.results.clone(),
                sums: results[active_caps.len()..].to_vec(),
            });
        }
        Ok(())
    }

    fn if_adjoint(
        &mut self,
        op: &Op,
        fwd: &Op,
        then_region: &Region,
        else_region: &Region,
        scope: &mut Scope,
    ) -> Result<()> {
        let captures = &op.args[1..];
        let active_caps = active_positions(captures, scope);
        if active_caps.is_empty() {
            return Ok(());
        }
        let result_bars = self.result_bars_or_zeros(op, fwd, scope);
        let caps: Vec<ValueId> = fwd.args[1..].to_vec();
        let n_caps = caps.len();
        let flags: Vec<bool> = (0..n_caps).map(|k| active_caps.contains(&k)).collect();
        let mut regions = Vec::new();
        for branch in [then_region, else_region] {
            let mut arg_types: Vec<TensorType> = caps.iter().map(|c| self.ty(*c)).collect();
            arg_types.extend(result_bars.iter().map(|b| self.ty(*b)));
            let region = self.region(arg_types, |me, args| {
                let bars: Vec<Option<ValueId>> = args[n_caps..].iter().map(|b| Some(*b)).collect();
                let (_, arg_bars) = me.differentiate(branch, &args[..n_caps], &flags, &bars)?;
                let mut results = Vec::new();
                for &k in &active_caps {
                    results.push(match arg_bars[k] {
                        Some(b) => b,
                        None => me.zeros(args[k]),
                    });
                }
                Ok(results)
            })?;
            regions.push(region);
        }
        let else_r = regions.pop().ok_or_else(|| AdError {
            message: "if".into(),
        })?;
        let then_r = regions.pop().ok_or_else(|| AdError {
            message: "if".into(),
        })?;
        let mut args = vec![fwd.args[0]];
        args.extend(caps.iter().copied());
        args.extend(result_bars);
        let types: Vec<TensorType> = active_caps.iter().map(|k| self.ty(caps[*k])).collect();
        let results = self.emit(
            OpKind::If {
                then_region: then_r,
                else_region: else_r,
            },
            args,
            types,
        );
        for (i, &k) in active_caps.iter().enumerate() {
            self.accumulate(scope, captures[k], results[i]);
        }
        Ok(())
    }
}

/// The positions in `values` of the active ones.
fn active_positions(values: &[ValueId], scope: &Scope) -> Vec<usize> {
    (0..values.len())
        .filter(|k| scope.active.contains(&values[*k]))
        .collect()
}

/// Which results of `region` are active given which args are.
fn region_activity(region: &Region, active_args: &[bool], values: &[TensorType]) -> Vec<bool> {
    let is_real = |v: &ValueId| values[v.0 as usize].elem == Elem::Real;
    let mut active: HashSet<ValueId> = region
        .args
        .iter()
        .zip(active_args)
        .filter(|(a, act)| **act && is_real(a))
        .map(|(a, _)| *a)
        .collect();
    for op in &region.ops {
        let results_active: Vec<bool> = match &op.kind {
            OpKind::Scan { body, carries, .. } => {
                let mut flags: Vec<bool> = op.args.iter().map(|a| active.contains(a)).collect();
                loop {
                    let r = region_activity(body, &flags, values);
                    let mut changed = false;
                    for j in 0..*carries {
                        if r[j] && !flags[j] && is_real(&body.args[j]) {
                            flags[j] = true;
                            changed = true;
                        }
                    }
                    if !changed {
                        let mut out = flags[..*carries].to_vec();
                        out.extend_from_slice(&r[*carries..]);
                        break out;
                    }
                }
            }
            _ => {
                let any = op.args.iter().any(|a| active.contains(a));
                vec![any; op.results.len()]
            }
        };
        for (r, a) in op.results.iter().zip(results_active) {
            if a && is_real(r) {
                active.insert(*r);
            }
        }
    }
    region.results.iter().map(|r| active.contains(r)).collect()
}
