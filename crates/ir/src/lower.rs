//! Lowering: from the checked model (AST plus the checker's side tables) to
//! the IR. This is the only module of the IR crate that reads the AST.
//!
//! The log density is threaded explicitly: every `~` and `target +=` adds
//! to the current region's accumulated target; a scan whose body observes
//! data carries its target as an extra real carry, a `for` loop returns the
//! sum of its iterations' targets, and an `if` returns its branch's target.
//! Parameters are read from `theta` on the unconstrained scale and mapped to
//! their constraint (Stan's transforms), with the log-Jacobian added.

mod generative;
mod lba;

pub use generative::{
    index_sources, target_statements, wiener_observations, Channel, GenerativeIr,
    GenerativeOptions, IndexSource, ObservedLayout, ParamSource,
};

use crate::ir::*;
use generative::{Analysis, Gen};
use rlc_check::builtins::{Distribution as D, Function as F};
use rlc_check::dim::broadcast;
use rlc_check::model::{AxisIndex, Bound, Callee, Model, SymbolId, SymbolKind};
use rlc_check::types::{ElemType, IntRange};
use rlc_check::ExprInfo;
use rlc_syntax::ast::{self, Block, Expr, ExprKind, IndexItem, Item, SequenceSource, Stmt};
use std::collections::{HashMap, HashSet};
use std::f64::consts::PI;
use std::fmt;

/// A model the lowering cannot handle yet (the checker accepted it).
#[derive(Debug, Clone, PartialEq)]
pub struct LowerError {
    pub message: String,
    pub span: ast::Span,
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

type Result<T> = std::result::Result<T, LowerError>;

fn unsupported(span: ast::Span, message: impl Into<String>) -> LowerError {
    LowerError {
        message: message.into(),
        span,
    }
}

/// Lowers a checked model to its log-density and generated-quantities
/// functions, optimized by [`crate::opt::optimize`]. The outs written in
/// loops are left out; [`lower_with_loop_outs`] writes them.
pub fn lower(model: &Model) -> Result<ModelIr> {
    lower_model(model, false)
}

/// As [`lower`], with the outs written in loops (`out pe[n, t] = …`) among
/// the generated quantities, after the other outs: computing them runs the
/// model's loops once more per draw, so they are written only when asked.
pub fn lower_with_loop_outs(model: &Model) -> Result<ModelIr> {
    lower_model(model, true)
}

fn lower_model(model: &Model, loop_outs: bool) -> Result<ModelIr> {
    let mut params = Vec::new();
    let mut offset = Dim::constant(0);
    for p in &model.params {
        let sym = model.symbol(p.symbol);
        let shape = sym.info.ty.shape.clone();
        let count =
            Dim::elements(&shape).ok_or_else(|| unsupported(sym.span, "too many parameters"))?;
        params.push(ParamLayout {
            name: sym.name.clone(),
            shape,
            offset: offset.clone(),
        });
        offset = offset
            .add(&count)
            .ok_or_else(|| unsupported(sym.span, "too many parameters"))?;
    }
    let written_in_loops = model.loop_outs.iter().filter(|_| loop_outs);
    let outs = model
        .outs
        .iter()
        .map(|id| (id, false))
        .chain(written_in_loops.map(|(id, _)| (id, true)))
        .map(|(id, in_loops)| {
            let sym = model.symbol(*id);
            OutLayout {
                name: sym.name.clone(),
                ty: tensor_type(&sym.info),
                in_loops,
            }
        })
        .collect();
    let mut log_density = Lowering::new(model, &params, true).run()?;
    let mut generated = Lowering::new(model, &params, false);
    generated.loop_outs = loop_outs;
    let mut generated = generated.run()?;
    crate::opt::optimize(&mut log_density);
    crate::opt::optimize(&mut generated);
    Ok(ModelIr {
        log_density,
        generated,
        params,
        outs,
        dim: offset,
    })
}

/// Lowers a checked model to a generative function (see `generative.rs`):
/// the model run forward with `options`, returning the parameters, the
/// `out` values and the channels of every observed data variable.
pub fn lower_generative(model: &Model, options: GenerativeOptions) -> Result<GenerativeIr> {
    let ir = lower(model)?;
    let lowering = Lowering::generative(model, &ir.params, options)?;
    let observed: Vec<ObservedLayout> = lowering
        .gen
        .as_ref()
        .map(|g| {
            g.analysis
                .observed
                .iter()
                .map(|s| {
                    let sym = model.symbol(*s);
                    ObservedLayout {
                        name: sym.name.clone(),
                        ty: tensor_type(&sym.info),
                        channels: options.channels(),
                        scored: !g.analysis.boundaries_only.contains(s),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut function = lowering.run()?;
    crate::opt::optimize(&mut function);
    Ok(GenerativeIr {
        function,
        options,
        outs: ir.outs,
        observed,
    })
}

fn elem_of(e: ElemType) -> Elem {
    match e {
        ElemType::Int => Elem::Int,
        ElemType::Real => Elem::Real,
        ElemType::Bool => Elem::Bool,
    }
}

fn tensor_type(info: &ExprInfo) -> TensorType {
    TensorType::new(elem_of(info.ty.elem), info.ty.shape.clone())
}

/// One region being built: its ops, which values it can see, and the outer
/// values it captures (outer value in the parent, argument here).
struct Frame {
    fixed_args: Vec<ValueId>,
    ops: Vec<Op>,
    defined: HashSet<ValueId>,
    captures: Vec<(ValueId, ValueId)>,
    capture_map: HashMap<ValueId, ValueId>,
    /// The log density accumulated in this region so far.
    target: Option<ValueId>,
}

impl Frame {
    fn new(fixed_args: Vec<ValueId>) -> Frame {
        Frame {
            defined: fixed_args.iter().copied().collect(),
            fixed_args,
            ops: Vec::new(),
            captures: Vec::new(),
            capture_map: HashMap::new(),
            target: None,
        }
    }
}

struct Lowering<'m> {
    model: &'m Model,
    params: &'m [ParamLayout],
    /// Whether `~`/`target +=` are lowered (the log density) or skipped
    /// (generated quantities).
    with_target: bool,
    func: Function,
    frames: Vec<Frame>,
    env: HashMap<SymbolId, ValueId>,
    /// The generative mode's state (`None` for the log density and the
    /// generated quantities).
    gen: Option<Gen<'m>>,
    /// `x` for each value lowered as `logistic(x)`, so that a probability
    /// bound with `let p = logistic(x)` is scored from its logit as the
    /// inline call is.
    logistic_of: HashMap<ValueId, ValueId>,
    /// `x` for each value lowered as `exp(x)`, and for each `1 + exp(x)`: so
    /// that `1 / (1 + exp(x))`, the two-option softmax as the field writes
    /// it, is lowered as `logistic(-x)`.
    exp_of: HashMap<ValueId, ValueId>,
    one_plus_exp_of: HashMap<ValueId, ValueId>,
    /// `p` for each value lowered as `1 - p` where `p` is a logistic: the
    /// pair `[p, 1 - p]` under `Categorical(p = …)` is scored from `p`'s logit.
    complement_of: HashMap<ValueId, ValueId>,
    /// The two items of each two-item array of scalars.
    pair_of: HashMap<ValueId, (ValueId, ValueId)>,
    /// Whether the outs written in loops are computed (the generated
    /// quantities, when asked). Inside a loop that writes one, the out's
    /// value in `env` is the current step's element (missing until written,
    /// carried through branches like the generative mode's arrays); the loop
    /// returns the elements as a per-step output, placed into the array of
    /// the level above when it ends ([`Self::enter_step`],
    /// [`Self::place_steps`]).
    loop_outs: bool,
}

impl<'m> Lowering<'m> {
    fn new(model: &'m Model, params: &'m [ParamLayout], with_target: bool) -> Lowering<'m> {
        let name = if with_target {
            "log_density"
        } else {
            "generated"
        };
        Lowering {
            model,
            params,
            with_target,
            func: Function::new(name),
            frames: Vec::new(),
            env: HashMap::new(),
            gen: None,
            logistic_of: HashMap::new(),
            exp_of: HashMap::new(),
            one_plus_exp_of: HashMap::new(),
            complement_of: HashMap::new(),
            pair_of: HashMap::new(),
            loop_outs: false,
        }
    }

    fn generative(
        model: &'m Model,
        params: &'m [ParamLayout],
        options: GenerativeOptions,
    ) -> Result<Lowering<'m>> {
        let mut lowering = Lowering::new(model, params, false);
        lowering.func.name = "generative".to_string();
        let analysis = Analysis::new(model, options.draw)?;
        let undrawn = if options.write_back {
            analysis.observed.iter().copied().collect()
        } else {
            HashSet::new()
        };
        lowering.gen = Some(Gen {
            options,
            analysis,
            channels: HashMap::new(),
            undrawn,
            aliases: HashSet::new(),
            exempt: 0,
            loop_draws: Vec::new(),
            bounding: None,
            drawn_dependent: HashSet::new(),
        });
        Ok(lowering)
    }

    // ---- Building blocks ---------------------------------------------------------

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("lowering always has a frame")
    }

    /// The value `v` as seen from the current region, capturing it through
    /// every enclosing region that does not define it.
    fn use_value(&mut self, v: ValueId) -> ValueId {
        let level = self.frames.len() - 1;
        self.resolve(v, level)
    }

    fn resolve(&mut self, v: ValueId, level: usize) -> ValueId {
        let frame = &self.frames[level];
        if frame.defined.contains(&v) {
            return v;
        }
        if let Some(local) = frame.capture_map.get(&v) {
            return *local;
        }
        if level == 0 {
            // A value defined in no enclosing region is a lowering bug; the
            // verifier reports it with the printed function.
            return v;
        }
        let outer = self.resolve(v, level - 1);
        let ty = self.func.ty(v).clone();
        let arg = self.func.new_value(ty);
        let frame = &mut self.frames[level];
        frame.captures.push((outer, arg));
        frame.capture_map.insert(v, arg);
        frame.defined.insert(arg);
        arg
    }

    fn emit(
        &mut self,
        kind: OpKind,
        args: &[ValueId],
        result_types: Vec<TensorType>,
    ) -> Vec<ValueId> {
        let given = args;
        let args: Vec<ValueId> = args.iter().map(|a| self.use_value(*a)).collect();
        // (After `use_value`, which may number new values for captures.)
        if let Some(g) = self.gen.as_mut() {
            let operands: Vec<ValueId> = given.iter().chain(&args).copied().collect();
            g.note_dependence(&kind, &operands, result_types.len(), self.func.values.len());
        }
        let results: Vec<ValueId> = result_types
            .into_iter()
            .map(|t| self.func.new_value(t))
            .collect();
        let frame = self.frame();
        frame.defined.extend(results.iter().copied());
        frame.ops.push(Op {
            kind,
            args,
            results: results.clone(),
        });
        results
    }

    fn emit1(&mut self, kind: OpKind, args: &[ValueId], ty: TensorType) -> ValueId {
        self.emit(kind, args, vec![ty])[0]
    }

    fn ty(&self, v: ValueId) -> TensorType {
        self.func.ty(v).clone()
    }

    fn real(&mut self, c: f64) -> ValueId {
        self.emit1(OpKind::Const(c), &[], TensorType::scalar(Elem::Real))
    }

    fn int(&mut self, c: i64) -> ValueId {
        self.emit1(OpKind::Const(c as f64), &[], TensorType::scalar(Elem::Int))
    }

    fn size_of(&mut self, d: &Dim) -> ValueId {
        match d.as_constant() {
            Some(c) => self.int(c),
            None => self.emit1(
                OpKind::SizeOf(d.clone()),
                &[],
                TensorType::scalar(Elem::Int),
            ),
        }
    }

    fn cast(&mut self, v: ValueId, elem: Elem) -> ValueId {
        let ty = self.ty(v);
        if ty.elem == elem {
            return v;
        }
        self.emit1(OpKind::Cast, &[v], TensorType::new(elem, ty.shape))
    }

    fn broadcast_to(&mut self, v: ValueId, shape: &[Dim]) -> ValueId {
        let ty = self.ty(v);
        if ty.shape == shape {
            return v;
        }
        self.emit1(
            OpKind::BroadcastTo,
            &[v],
            TensorType::new(ty.elem, shape.to_vec()),
        )
    }

    fn reshape(&mut self, v: ValueId, shape: Vec<Dim>) -> ValueId {
        let ty = self.ty(v);
        if ty.shape == shape {
            return v;
        }
        self.emit1(OpKind::Reshape, &[v], TensorType::new(ty.elem, shape))
    }

    fn unary(&mut self, op: UnaryOp, v: ValueId) -> ValueId {
        let ty = self.ty(v);
        let elem = match op {
            UnaryOp::Neg | UnaryOp::Abs => ty.elem,
            UnaryOp::Not => Elem::Bool,
            _ => Elem::Real,
        };
        let v = if elem == Elem::Real {
            self.cast(v, Elem::Real)
        } else {
            v
        };
        self.emit1(OpKind::Unary(op), &[v], TensorType::new(elem, ty.shape))
    }

    /// A binary op with NumPy broadcasting and numeric promotion.
    fn binary(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let shape = broadcast(&ta.shape, &tb.shape).unwrap_or_else(|| ta.shape.clone());
        let operand_elem = match op {
            BinaryOp::And | BinaryOp::Or => Elem::Bool,
            BinaryOp::Div | BinaryOp::Pow | BinaryOp::Atan2 => Elem::Real,
            _ if ta.elem == Elem::Real || tb.elem == Elem::Real => Elem::Real,
            _ if ta.elem == Elem::Bool && tb.elem == Elem::Bool => Elem::Bool,
            _ => Elem::Int,
        };
        let result_elem = match op {
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => Elem::Bool,
            _ => operand_elem,
        };
        let a = self.cast(a, operand_elem);
        let b = self.cast(b, operand_elem);
        let a = self.broadcast_to(a, &shape);
        let b = self.broadcast_to(b, &shape);
        self.emit1(
            OpKind::Binary(op),
            &[a, b],
            TensorType::new(result_elem, shape),
        )
    }

    fn add(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.binary(BinaryOp::Add, a, b)
    }
    fn sub(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.binary(BinaryOp::Sub, a, b)
    }
    fn mul(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.binary(BinaryOp::Mul, a, b)
    }
    fn div(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.binary(BinaryOp::Div, a, b)
    }

    fn reduce(&mut self, op: ReduceOp, v: ValueId, axis: Option<usize>) -> ValueId {
        let ty = self.ty(v);
        if axis.is_none() && ty.is_scalar() {
            return v;
        }
        let shape = match axis {
            None => Vec::new(),
            Some(a) => {
                let mut s = ty.shape.clone();
                s.remove(a);
                s
            }
        };
        self.emit1(
            OpKind::Reduce { op, axis },
            &[v],
            TensorType::new(ty.elem, shape),
        )
    }

    fn sum_all(&mut self, v: ValueId) -> ValueId {
        self.reduce(ReduceOp::Sum, v, None)
    }

    fn add_target(&mut self, term: ValueId) {
        let term = self.cast(term, Elem::Real);
        let term = self.sum_all(term);
        let next = match self.frame().target {
            None => term,
            Some(current) => self.add(current, term),
        };
        self.frame().target = Some(next);
    }

    /// Gives the values made since `first` that have no source span the
    /// span of the statement that made them (a term's internals: where a
    /// run-time problem in them is reported).
    fn locate_new_values(&mut self, first: usize, span: ast::Span) {
        for v in first..self.func.values.len() {
            self.func
                .spans
                .entry(ValueId(v as u32))
                .or_insert((span.start, span.end));
        }
    }

    fn push_frame(&mut self, fixed_args: Vec<ValueId>) {
        self.frames.push(Frame::new(fixed_args));
    }

    /// Closes the current region with `results`; returns it and the outer
    /// values of its captures (in its argument order after the fixed args).
    fn pop_frame(&mut self, results: Vec<ValueId>) -> (Region, Vec<ValueId>, Vec<ValueId>) {
        let results: Vec<ValueId> = results.iter().map(|r| self.use_value(*r)).collect();
        let frame = self.frames.pop().expect("pop matches push");
        let mut args = frame.fixed_args.clone();
        let mut outer = Vec::new();
        let mut inner = Vec::new();
        for (o, i) in &frame.captures {
            args.push(*i);
            outer.push(*o);
            inner.push(*i);
        }
        (
            Region {
                args,
                ops: frame.ops,
                results,
            },
            outer,
            inner,
        )
    }

    // ---- The model -------------------------------------------------------------

    fn run(mut self) -> Result<Function> {
        let theta_ty =
            TensorType::real(vec![self.params.iter().fold(Dim::constant(0), |acc, p| {
                let n = Dim::elements(&p.shape).unwrap_or_default();
                acc.add(&n).unwrap_or_default()
            })]);
        let theta = self.func.new_value(theta_ty);
        let mut fixed = vec![theta];
        self.func.inputs.push(Input::Theta);
        for d in &self.model.data {
            let sym = self.model.symbol(d.symbol);
            let v = self.func.new_value(tensor_type(&sym.info));
            self.func.inputs.push(Input::Data(sym.name.clone()));
            self.env.insert(d.symbol, v);
            fixed.push(v);
        }
        self.push_frame(fixed);
        let observed: Vec<SymbolId> = self
            .gen
            .as_ref()
            .map(|g| g.analysis.observed.clone())
            .unwrap_or_default();
        for x in &observed {
            let value = self.env[x];
            for ch in self.channel_list() {
                let init = self.initial_channel(ch, value);
                self.set_channel(*x, ch, init);
            }
        }
        if self.loop_outs {
            // Every element starts missing; the steps that write one fill it.
            for (id, _) in &self.model.loop_outs {
                let shape = tensor_type(&self.model.symbol(*id).info).shape;
                let missing = self.real(f64::NAN);
                let start = self.broadcast_to(missing, &shape);
                self.env.insert(*id, start);
            }
        }
        let mut param_index = 0;
        let mut results = Vec::new();
        for item in &self.model.program.items {
            match item {
                Item::Size(_) | Item::Data(_) => {}
                Item::Param(p) => {
                    let value = self.param(p, theta, param_index)?;
                    if !self.with_target {
                        results.push(value);
                    }
                    param_index += 1;
                }
                Item::Stmt(s) => self.stmt(s)?,
            }
        }
        if self.with_target {
            let lp = match self.frame().target {
                Some(t) => t,
                None => self.real(0.0),
            };
            results = vec![lp];
        } else {
            for id in &self.model.outs {
                let v = self.env.get(id).copied().ok_or_else(|| {
                    unsupported(
                        self.model.symbol(*id).span,
                        "an `out` value was not computed",
                    )
                })?;
                results.push(v);
            }
            if self.loop_outs {
                for (id, _) in &self.model.loop_outs {
                    results.push(self.env[id]);
                }
            }
            for x in &observed {
                for ch in self.channel_list() {
                    results.push(self.channel(*x, ch, self.model.symbol(*x).span)?);
                }
            }
        }
        let (region, _, _) = self.pop_frame(results);
        self.func.body = region;
        Ok(self.func)
    }

    fn param(&mut self, p: &'m ast::ParamDecl, theta: ValueId, index: usize) -> Result<ValueId> {
        let first_value = self.func.values.len();
        let layout = &self.params[index];
        let info = self.model.params[index].clone();
        let shape = layout.shape.clone();
        let ty = TensorType::real(shape.clone());
        let u = self.emit1(
            OpKind::ThetaSlice {
                offset: layout.offset.clone(),
            },
            &[theta],
            ty,
        );
        let bound = |me: &mut Self, b: &Option<Bound>| -> Result<Option<ValueId>> {
            Ok(match b {
                None => None,
                Some(Bound::Const(c)) if c.is_infinite() => None,
                Some(Bound::Const(c)) => Some(me.real(*c)),
                Some(Bound::Expr(id, span)) => {
                    let e = find_expr(&me.model.program, *id)
                        .ok_or_else(|| unsupported(*span, "bound expression not found"))?;
                    let v = me.expr(e)?;
                    Some(me.cast(v, Elem::Real))
                }
            })
        };
        if let Some(g) = self.gen.as_mut() {
            g.bounding = Some(info.symbol);
        }
        let lower = bound(self, &info.constraint.lower);
        let upper = bound(self, &info.constraint.upper);
        if let Some(g) = self.gen.as_mut() {
            g.bounding = None;
        }
        let (lower, upper) = (lower?, upper?);
        if self
            .gen
            .as_ref()
            .is_some_and(|g| g.options.params == ParamSource::Prior)
        {
            let x = self.draw_prior(p, &shape, lower, upper)?;
            self.env.insert(info.symbol, x);
            return Ok(x);
        }
        let (x, log_jacobian) = match (lower, upper) {
            (None, None) => (u, None),
            (Some(a), None) => {
                let e = self.unary(UnaryOp::Exp, u);
                (self.add(a, e), Some(u))
            }
            (None, Some(b)) => {
                let e = self.unary(UnaryOp::Exp, u);
                (self.sub(b, e), Some(u))
            }
            (Some(a), Some(b)) => {
                let width = self.sub(b, a);
                // Bounds computed from other values may be empty (hBayesDM's
                // `tau ~ Uniform(RTbound, minRT)` on a response faster than
                // RTbound): rejected by name, the width taken as 1 there so that
                // the rejection is the first value that is not finite.
                let constant_bounds = [&info.constraint.lower, &info.constraint.upper]
                    .iter()
                    .all(|b| matches!(b, Some(Bound::Const(_))));
                let nonempty = (!constant_bounds).then(|| self.binary(BinaryOp::Gt, b, a));
                let width = match nonempty {
                    Some(valid) => {
                        let one = self.broadcast_one(width);
                        self.select(valid, width, one, TensorType::real(self.ty(width).shape))
                    }
                    None => width,
                };
                let s = self.unary(UnaryOp::Logistic, u);
                let scaled = self.mul(width, s);
                let x = self.add(a, scaled);
                // log(b - a) + log σ(u) + log σ(-u) = log(b - a) - softplus(-u) - softplus(u)
                let neg_u = self.unary(UnaryOp::Neg, u);
                let sp_neg = self.unary(UnaryOp::Log1pExp, neg_u);
                let sp_pos = self.unary(UnaryOp::Log1pExp, u);
                let log_width = self.unary(UnaryOp::Log, width);
                let log_width = match nonempty {
                    Some(valid) => self.reject_unless(valid, log_width, Rejection::EmptyBounds),
                    None => log_width,
                };
                let lw = self.broadcast_to(log_width, &shape);
                let t = self.sub(lw, sp_neg);
                (x, Some(self.sub(t, sp_pos)))
            }
        };
        if self.with_target {
            if let Some(j) = log_jacobian {
                self.add_target(j);
            }
            if let Some(prior) = &p.prior {
                let first = self.func.values.len();
                // Declared bounds may reach outside the prior's support where
                // they depend on other values (`in (lo, inf) ~ Exponential(1)`
                // with a negative `lo`): there the prior is -inf, as for an
                // observation. Elsewhere the transform keeps the value inside
                // (the checker proved it), and the density needs no check.
                let outside =
                    (!info.within_prior_support).then_some(Rejection::PriorOutsideSupport);
                let lp = self.density(prior, x, outside, None)?;
                self.add_target(lp);
                self.locate_new_values(first, p.span);
            }
        }
        // The transform and its Jacobian belong to the declaration.
        self.locate_new_values(first_value, p.span);
        self.env.insert(info.symbol, x);
        Ok(x)
    }

    // ---- Statements ------------------------------------------------------------

    fn stmt(&mut self, s: &'m Stmt) -> Result<()> {
        match s {
            Stmt::Let {
                name,
                indices,
                value,
                ..
            } if !indices.is_empty() => {
                if self.loop_outs {
                    self.write_loop_out(name, value)?;
                }
            }
            Stmt::Let { name, value, .. } => {
                let sym = self.binding(name)?;
                if self.gen_alias(sym, value) {
                    return Ok(());
                }
                let v = self.expr(value)?;
                self.env.insert(sym, v);
            }
            Stmt::Tilde { lhs, dist, .. } if self.gen.is_some() => self.gen_tilde(lhs, dist)?,
            Stmt::For {
                var, lo, hi, body, ..
            } if self.gen.is_some() || !self.loop_outs_in(body).is_empty() => {
                self.gen_for(var, lo, hi, body)?
            }
            Stmt::Tilde { lhs, dist, span } => {
                if self.with_target {
                    let first = self.func.values.len();
                    let y = self.expr(lhs)?;
                    let range = self.info(lhs)?.range.clone();
                    let lp = self.observation(dist, y, range.as_ref())?;
                    self.add_target(lp);
                    self.locate_new_values(first, *span);
                }
            }
            Stmt::TargetAdd { value, span } => {
                if self.with_target {
                    let first = self.func.values.len();
                    let v = self.expr(value)?;
                    self.add_target(v);
                    self.locate_new_values(first, *span);
                }
            }
            Stmt::For {
                var, lo, hi, body, ..
            } => {
                if self.with_target && block_has_target(body) {
                    self.for_loop(var, lo, hi, body)?;
                }
            }
            Stmt::Expr(e) => self.effect(e)?,
            Stmt::Error(span) => return Err(unsupported(*span, "syntax error")),
        }
        Ok(())
    }

    /// An expression statement: only its effect on the target matters.
    fn effect(&mut self, e: &'m Expr) -> Result<()> {
        match &e.kind {
            ExprKind::Scan { .. } | ExprKind::If { .. }
                if ((self.with_target || self.gen.is_some()) && expr_has_target(e))
                    || !self.loop_outs_in_expr(e).is_empty() =>
            {
                self.expr_maybe_value(e, false)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn binding(&self, name: &ast::Ident) -> Result<SymbolId> {
        self.model
            .binding(name.span)
            .ok_or_else(|| unsupported(name.span, format!("`{}` has no symbol", name.name)))
    }

    /// `out name[i, j] = value` where the outs written in loops are computed: the
    /// out is this step's element there (see [`Self::enter_step`]), which becomes the
    /// value.
    fn write_loop_out(&mut self, name: &ast::Ident, value: &'m Expr) -> Result<()> {
        let sym = self.binding(name)?;
        let element =
            self.env.get(&sym).copied().ok_or_else(|| {
                unsupported(name.span, "an out written in loops has no element here")
            })?;
        let shape = self.ty(element).shape;
        let v = self.expr(value)?;
        let v = self.cast(v, Elem::Real);
        let v = self.broadcast_to(v, &shape);
        self.env.insert(sym, v);
        Ok(())
    }

    /// The outs written in loops that `block` writes, when they are computed.
    fn loop_outs_in(&self, block: &Block) -> Vec<SymbolId> {
        let mut found = Vec::new();
        if self.loop_outs {
            self.collect_loop_outs(block, &mut found);
        }
        found
    }

    /// As [`Self::loop_outs_in`], for an expression (a scan or `if` statement).
    fn loop_outs_in_expr(&self, e: &Expr) -> Vec<SymbolId> {
        let mut found = Vec::new();
        if self.loop_outs {
            self.collect_loop_outs_expr(e, &mut found);
        }
        found
    }

    fn collect_loop_outs(&self, block: &Block, found: &mut Vec<SymbolId>) {
        let mut names = Vec::new();
        loop_out_names(block, &mut names);
        self.add_loop_outs(names, found);
    }

    fn collect_loop_outs_expr(&self, e: &Expr, found: &mut Vec<SymbolId>) {
        let mut names = Vec::new();
        loop_out_names_in_expr(e, &mut names);
        self.add_loop_outs(names, found);
    }

    fn add_loop_outs(&self, names: Vec<ast::Span>, found: &mut Vec<SymbolId>) {
        for span in names {
            if let Some(sym) = self.model.binding(span) {
                if !found.contains(&sym) {
                    found.push(sym);
                }
            }
        }
    }

    fn block_stmts(&mut self, b: &'m Block) -> Result<()> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn for_loop(
        &mut self,
        var: &ast::Ident,
        lo: &'m Expr,
        hi: &'m Expr,
        body: &'m Block,
    ) -> Result<()> {
        let lo_v = self.expr(lo)?;
        let hi_v = self.expr(hi)?;
        let i = self.func.new_value(TensorType::scalar(Elem::Int));
        self.push_frame(vec![i]);
        let sym = self.binding(var)?;
        self.env.insert(sym, i);
        self.block_stmts(body)?;
        if let Some(v) = &body.value {
            self.effect(v)?;
        }
        let contribution = match self.frame().target {
            Some(t) => t,
            None => self.real(0.0),
        };
        let (region, outer, _) = self.pop_frame(vec![contribution]);
        let mut args = vec![lo_v, hi_v];
        args.extend(outer);
        let total = self.emit1(
            OpKind::For { body: region },
            &args,
            TensorType::scalar(Elem::Real),
        );
        self.add_target(total);
        Ok(())
    }

    // ---- Expressions -------------------------------------------------------------

    fn info(&self, e: &'m Expr) -> Result<&'m ExprInfo> {
        self.model
            .info(e.id)
            .ok_or_else(|| unsupported(e.span, "expression without a checked type"))
    }

    fn expr(&mut self, e: &'m Expr) -> Result<ValueId> {
        self.expr_maybe_value(e, true)?
            .ok_or_else(|| unsupported(e.span, "expression has no value"))
    }

    fn expr_maybe_value(&mut self, e: &'m Expr, want_value: bool) -> Result<Option<ValueId>> {
        let value = self.expr_value(e, want_value)?;
        if let Some(v) = value {
            self.func
                .spans
                .entry(v)
                .or_insert((e.span.start, e.span.end));
        }
        Ok(value)
    }

    fn expr_value(&mut self, e: &'m Expr, want_value: bool) -> Result<Option<ValueId>> {
        // Integer expressions of sizes and literals are constants once sizes are known.
        if let Ok(info) = self.info(e) {
            if let (Some(value), true) = (&info.value, info.ty.is_scalar()) {
                if !matches!(e.kind, ExprKind::Name(_)) || self.is_size(e) {
                    return Ok(Some(self.size_of(value)));
                }
            }
        }
        let v = match &e.kind {
            ExprKind::Int(v) => self.int(*v),
            ExprKind::Real(v) => self.real(*v),
            ExprKind::Bool(b) => self.emit1(
                OpKind::Const(f64::from(u8::from(*b))),
                &[],
                TensorType::scalar(Elem::Bool),
            ),
            ExprKind::Name(ident) => {
                let sym = self.model.names.get(&e.id).copied().ok_or_else(|| {
                    unsupported(ident.span, format!("unresolved name `{}`", ident.name))
                })?;
                if let Some(v) = self.check_drawn(sym, e)? {
                    return Ok(Some(v));
                }
                match self.env.get(&sym) {
                    Some(v) => *v,
                    None => {
                        return Err(unsupported(
                            ident.span,
                            format!("`{}` has no value here", ident.name),
                        ))
                    }
                }
            }
            ExprKind::Array(items) => self.array(e, items)?,
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand)?;
                match op {
                    ast::UnaryOp::Neg => self.unary(UnaryOp::Neg, v),
                    ast::UnaryOp::Not => self.unary(UnaryOp::Not, v),
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let a = self.expr(lhs)?;
                let logical = matches!(op, ast::BinaryOp::And | ast::BinaryOp::Or);
                let scalar = self.info(e).is_ok_and(|info| info.ty.is_scalar());
                if logical && scalar && self.may_fail(rhs) {
                    let a = self.cast(a, Elem::Bool);
                    let v = self.short_circuit(e.span, a, rhs, *op == ast::BinaryOp::And)?;
                    return Ok(Some(v));
                }
                let b = self.expr(rhs)?;
                // `1 - logistic(x)` is `logistic(-x)`, which keeps its digits where
                // the difference rounds to 0 (x past 37) and is scored from its logit
                // `-x` under `Bernoulli(p = …)` as `logistic` is.
                let is_one = |side: &Expr| {
                    matches!(side.kind, ExprKind::Int(1))
                        || matches!(side.kind, ExprKind::Real(r) if r == 1.0)
                };
                let one = is_one(lhs);
                if let (ast::BinaryOp::Sub, true, Some(&x)) = (op, one, self.logistic_of.get(&b)) {
                    let v = self.logistic_of_minus(x);
                    self.complement_of.insert(v, b);
                    return Ok(Some(v));
                }
                // `1 / (1 + exp(x))` is `logistic(-x)`, computed without the
                // overflow of `exp` and scored from its logit as `logistic` is.
                if let (ast::BinaryOp::Div, true, Some(&x)) =
                    (op, one, self.one_plus_exp_of.get(&b))
                {
                    return Ok(Some(self.logistic_of_minus(x)));
                }
                let exp_beside_one = match op {
                    ast::BinaryOp::Add if is_one(lhs) => self.exp_of.get(&b).copied(),
                    ast::BinaryOp::Add if is_one(rhs) => self.exp_of.get(&a).copied(),
                    _ => None,
                };
                let op = match op {
                    ast::BinaryOp::Add => BinaryOp::Add,
                    ast::BinaryOp::Sub => BinaryOp::Sub,
                    ast::BinaryOp::Mul => BinaryOp::Mul,
                    ast::BinaryOp::Div => BinaryOp::Div,
                    ast::BinaryOp::Pow => BinaryOp::Pow,
                    ast::BinaryOp::Eq => BinaryOp::Eq,
                    ast::BinaryOp::Ne => BinaryOp::Ne,
                    ast::BinaryOp::Lt => BinaryOp::Lt,
                    ast::BinaryOp::Le => BinaryOp::Le,
                    ast::BinaryOp::Gt => BinaryOp::Gt,
                    ast::BinaryOp::Ge => BinaryOp::Ge,
                    ast::BinaryOp::And => BinaryOp::And,
                    ast::BinaryOp::Or => BinaryOp::Or,
                };
                let v = self.binary(op, a, b);
                if let Some(x) = exp_beside_one {
                    self.one_plus_exp_of.insert(v, x);
                }
                v
            }
            ExprKind::Call { .. } => self.call(e)?,
            ExprKind::Index { base, indices } => self.index(e, base, indices)?,
            ExprKind::Scan {
                carry,
                init,
                sequences,
                body,
            } => self.scan(e, carry, init, sequences, body)?,
            ExprKind::If {
                cond,
                then_block,
                else_block,
            } => {
                return self.if_expr(e, cond, then_block, else_block.as_ref(), want_value);
            }
            ExprKind::Error => return Err(unsupported(e.span, "syntax error")),
        };
        Ok(Some(v))
    }

    fn is_size(&self, e: &'m Expr) -> bool {
        self.model
            .names
            .get(&e.id)
            .is_some_and(|id| matches!(self.model.symbol(*id).kind, SymbolKind::Size { .. }))
    }

    fn array(&mut self, e: &'m Expr, items: &'m [Expr]) -> Result<ValueId> {
        let ty = tensor_type(self.info(e)?);
        let mut values = Vec::new();
        let mut parts = Vec::new();
        for item in items {
            let v = self.expr(item)?;
            let v = self.cast(v, ty.elem);
            values.push(v);
            parts.push(self.with_leading_axis(v));
        }
        let scalars = ty.shape.len() == 1;
        let v = self.concat_items(&parts, ty);
        if let ([a, b], true) = (values.as_slice(), scalars) {
            self.pair_of.insert(v, (*a, *b));
        }
        Ok(v)
    }

    /// `v` with a leading axis of length 1: one item of an array literal.
    fn with_leading_axis(&mut self, v: ValueId) -> ValueId {
        let mut shape = vec![Dim::constant(1)];
        shape.extend(self.ty(v).shape);
        self.reshape(v, shape)
    }

    /// The array literal of type `ty` whose items are `parts` (each
    /// [`with_leading_axis`](Self::with_leading_axis)).
    fn concat_items(&mut self, parts: &[ValueId], ty: TensorType) -> ValueId {
        if let [only] = parts[..] {
            return only;
        }
        self.emit1(OpKind::Concat { axis: 0 }, parts, ty)
    }

    /// `logistic(-x)`, recorded as scored from its logit `-x`.
    fn logistic_of_minus(&mut self, x: ValueId) -> ValueId {
        let x = self.cast(x, Elem::Real);
        let minus_x = self.unary(UnaryOp::Neg, x);
        let v = self.unary(UnaryOp::Logistic, minus_x);
        self.logistic_of.insert(v, minus_x);
        v
    }

    fn call(&mut self, e: &'m Expr) -> Result<ValueId> {
        let call = self
            .model
            .calls
            .get(&e.id)
            .cloned()
            .ok_or_else(|| unsupported(e.span, "unresolved call"))?;
        let ExprKind::Call { args, .. } = &e.kind else {
            return Err(unsupported(e.span, "not a call"));
        };
        let arg_expr = |id: ast::ExprId| args.iter().map(|a| &a.value).find(|v| v.id == id);
        let result_ty = tensor_type(self.info(e)?);
        match call.callee {
            Callee::Present => {
                let arg = arg_expr(call.args[0]).ok_or_else(|| unsupported(e.span, "argument"))?;
                // Whether a cell exists is known before it is drawn.
                self.gen_exempt(1);
                let x = self.expr(arg);
                self.gen_exempt(-1);
                Ok(self.emit1(OpKind::IsPresent, &[x?], result_ty))
            }
            Callee::SetSubtensor | Callee::IncSubtensor => {
                let target =
                    arg_expr(call.args[0]).ok_or_else(|| unsupported(e.span, "argument"))?;
                let value_expr =
                    arg_expr(call.args[1]).ok_or_else(|| unsupported(e.span, "argument"))?;
                let ExprKind::Index { base, indices } = &target.kind else {
                    return Err(unsupported(
                        target.span,
                        "set_subtensor needs an indexed array",
                    ));
                };
                let part_ty = tensor_type(self.info(target)?);
                let base_v = self.expr(base)?;
                let (plan, index_args) = self.index_plan(target, indices)?;
                let value = self.expr(value_expr)?;
                let value = self.cast(value, result_ty.elem);
                let value = self.broadcast_to(value, &part_ty.shape);
                let mut op_args = vec![base_v, value];
                op_args.extend(index_args);
                let kind = if call.callee == Callee::SetSubtensor {
                    OpKind::IndexSet { plan }
                } else {
                    OpKind::IndexInc { plan }
                };
                Ok(self.emit1(kind, &op_args, result_ty))
            }
            Callee::Logp => {
                let dist = arg_expr(call.args[0]).ok_or_else(|| unsupported(e.span, "argument"))?;
                let value =
                    arg_expr(call.args[1]).ok_or_else(|| unsupported(e.span, "argument"))?;
                let y = self.expr(value)?;
                let range = self.info(value)?.range.clone();
                // The value takes the shape the distribution's arguments give
                // it (one value scored under several components).
                let y = self.broadcast_to(y, &result_ty.shape);
                self.density(
                    dist,
                    y,
                    Some(Rejection::ScoredOutsideSupport),
                    range.as_ref(),
                )
            }
            Callee::Distribution(_) => Err(unsupported(e.span, "a distribution used as a value")),
            Callee::Function(f) => {
                let mut values = Vec::new();
                for id in &call.args {
                    let a = arg_expr(*id).ok_or_else(|| unsupported(e.span, "argument"))?;
                    values.push(a);
                }
                self.function(e, f, &values, &call, result_ty)
            }
        }
    }

    fn function(
        &mut self,
        e: &'m Expr,
        f: F,
        arg_exprs: &[&'m Expr],
        call: &rlc_check::CallInfo,
        result_ty: TensorType,
    ) -> Result<ValueId> {
        // Constructors take sizes, not values.
        match f {
            F::Arange => return Ok(self.emit1(OpKind::Iota, &[], result_ty)),
            F::Zeros | F::Ones => {
                let c = self.real(if f == F::Zeros { 0.0 } else { 1.0 });
                return Ok(self.emit1(OpKind::Fill, &[c], result_ty));
            }
            F::Fill => {
                let v = self.expr(arg_exprs[0])?;
                let v = self.cast(v, result_ty.elem);
                return Ok(self.emit1(OpKind::Fill, &[v], result_ty));
            }
            _ => {}
        }
        let mut args = Vec::new();
        for a in arg_exprs {
            args.push(self.expr(a)?);
        }
        let x = args[0];
        let unary = |me: &mut Self, op| me.unary(op, x);
        let v = match f {
            F::Exp => {
                let v = unary(self, UnaryOp::Exp);
                let x = self.cast(x, Elem::Real);
                self.exp_of.insert(v, x);
                v
            }
            F::Log => unary(self, UnaryOp::Log),
            F::Log1p => unary(self, UnaryOp::Log1p),
            F::Expm1 => unary(self, UnaryOp::Expm1),
            F::Sqrt => unary(self, UnaryOp::Sqrt),
            F::Abs => unary(self, UnaryOp::Abs),
            F::Logistic => {
                let v = unary(self, UnaryOp::Logistic);
                self.logistic_of.insert(v, x);
                v
            }
            F::Lgamma => unary(self, UnaryOp::Lgamma),
            F::Phi => unary(self, UnaryOp::Phi),
            F::LogPhi => unary(self, UnaryOp::LogPhi),
            F::InvPhi => unary(self, UnaryOp::InvPhi),
            F::Sin => unary(self, UnaryOp::Sin),
            F::Cos => unary(self, UnaryOp::Cos),
            F::Tanh => unary(self, UnaryOp::Tanh),
            F::Logit => {
                let l = self.unary(UnaryOp::Log, x);
                let n = self.unary(UnaryOp::Neg, x);
                let l1 = self.unary(UnaryOp::Log1p, n);
                self.sub(l, l1)
            }
            F::PhiApprox => {
                // Stan's Phi_approx: logistic(0.07056 x^3 + 1.5976 x).
                let x = self.cast(x, Elem::Real);
                let x2 = self.mul(x, x);
                let x3 = self.mul(x2, x);
                let c3 = self.real(0.07056);
                let c1 = self.real(1.5976);
                let a = self.mul(c3, x3);
                let b = self.mul(c1, x);
                let s = self.add(a, b);
                // Scored from its logit under `Bernoulli(p = …)`, as `logistic`.
                let v = self.unary(UnaryOp::Logistic, s);
                self.logistic_of.insert(v, s);
                v
            }
            F::Pow => self.binary(BinaryOp::Pow, args[0], args[1]),
            F::Atan2 => {
                let y = self.cast(args[0], Elem::Real);
                let x = self.cast(args[1], Elem::Real);
                self.binary(BinaryOp::Atan2, y, x)
            }
            F::LogSumExp | F::Sum | F::Prod | F::Min | F::Max | F::Mean => {
                let x = if matches!(f, F::LogSumExp | F::Mean) {
                    self.cast(x, Elem::Real)
                } else {
                    x
                };
                let op = match f {
                    F::LogSumExp => ReduceOp::LogSumExp,
                    F::Prod => ReduceOp::Prod,
                    F::Min => ReduceOp::Min,
                    F::Max => ReduceOp::Max,
                    _ => ReduceOp::Sum,
                };
                let input_shape = self.ty(x).shape;
                let mut r = self.reduce(op, x, call.axis);
                if f == F::LogSumExp {
                    // A mixture's component of log density -inf (a Beta at 0)
                    // gets the weight 0: its slope is left out of the gradient.
                    self.func.chosen.insert(r);
                }
                if f == F::Mean {
                    let dims: Vec<Dim> = match call.axis {
                        Some(a) => vec![input_shape[a].clone()],
                        None => input_shape.clone(),
                    };
                    let mut count = self.real(1.0);
                    for d in &dims {
                        let n = self.size_of(d);
                        count = self.mul(count, n);
                    }
                    r = self.div(r, count);
                }
                if call.keepdims {
                    self.reshape(r, result_ty.shape.clone())
                } else {
                    r
                }
            }
            F::Softmax | F::LogSoftmax => {
                let x = self.cast(x, Elem::Real);
                let shape = self.ty(x).shape;
                let axis = call.axis.unwrap_or(shape.len().saturating_sub(1));
                let lse = self.reduce(ReduceOp::LogSumExp, x, Some(axis));
                let mut kept = shape.clone();
                kept[axis] = Dim::constant(1);
                let lse = self.reshape(lse, kept);
                let lse = self.broadcast_to(lse, &shape);
                let log_p = self.sub(x, lse);
                if f == F::Softmax {
                    self.unary(UnaryOp::Exp, log_p)
                } else {
                    log_p
                }
            }
            F::Dot => {
                let p = self.mul(args[0], args[1]);
                self.sum_all(p)
            }
            F::Matmul => {
                let a = self.cast(args[0], result_ty.elem);
                let b = self.cast(args[1], result_ty.elem);
                self.emit1(OpKind::Matmul, &[a, b], result_ty.clone())
            }
            F::Concat | F::Stack => {
                let axis = call.axis.unwrap_or(0);
                let mut parts = Vec::new();
                for a in &args {
                    let v = self.cast(*a, result_ty.elem);
                    let v = if f == F::Stack {
                        let mut shape = self.ty(v).shape;
                        shape.insert(axis, Dim::constant(1));
                        self.reshape(v, shape)
                    } else {
                        v
                    };
                    parts.push(v);
                }
                self.emit1(OpKind::Concat { axis }, &parts, result_ty.clone())
            }
            F::Where => {
                let shape = result_ty.shape.clone();
                let c = self.broadcast_to(args[0], &shape);
                let a = self.cast(args[1], result_ty.elem);
                let b = self.cast(args[2], result_ty.elem);
                let a = self.broadcast_to(a, &shape);
                let b = self.broadcast_to(b, &shape);
                let chosen = self.select(c, a, b, result_ty.clone());
                self.func.chosen.insert(chosen);
                chosen
            }
            F::Arange | F::Zeros | F::Ones | F::Fill => {
                return Err(unsupported(e.span, "constructor"))
            }
        };
        Ok(v)
    }

    /// The IR plan and dynamic index values of `x[indices]`.
    fn index_plan(
        &mut self,
        e: &'m Expr,
        indices: &'m [IndexItem],
    ) -> Result<(Vec<AxisIndex>, Vec<ValueId>)> {
        let info = self
            .model
            .indexes
            .get(&e.id)
            .cloned()
            .ok_or_else(|| unsupported(e.span, "unchecked index"))?;
        let has_gather = info
            .axes
            .iter()
            .any(|a| matches!(a, AxisIndex::Gather { .. }));
        let mut plan = Vec::new();
        let mut values = Vec::new();
        for (axis, item) in info.axes.iter().zip(indices) {
            match (axis, item) {
                (AxisIndex::Slice { .. }, _) => plan.push(axis.clone()),
                (
                    AxisIndex::Scalar {
                        constant,
                        needs_bounds_check,
                    },
                    IndexItem::Single(ix),
                ) => {
                    if has_gather {
                        let v = match constant {
                            Some(c) => self.size_of(c),
                            None => self.expr(ix)?,
                        };
                        values.push(v);
                        plan.push(AxisIndex::Gather {
                            needs_bounds_check: *needs_bounds_check,
                        });
                    } else if constant.is_some() {
                        plan.push(axis.clone());
                    } else {
                        values.push(self.expr(ix)?);
                        plan.push(axis.clone());
                    }
                }
                (AxisIndex::Gather { .. }, IndexItem::Single(ix)) => {
                    values.push(self.expr(ix)?);
                    plan.push(axis.clone());
                }
                _ => return Err(unsupported(e.span, "index plan does not match the indices")),
            }
        }
        if has_gather {
            let mut g: Vec<Dim> = Vec::new();
            for v in &values {
                let s = self.ty(*v).shape;
                g = broadcast(&g, &s)
                    .ok_or_else(|| unsupported(e.span, "index arrays do not broadcast"))?;
            }
            values = values
                .into_iter()
                .map(|v| self.broadcast_to(v, &g))
                .collect();
        }
        Ok((plan, values))
    }

    fn index(&mut self, e: &'m Expr, base: &'m Expr, indices: &'m [IndexItem]) -> Result<ValueId> {
        let ty = tensor_type(self.info(e)?);
        // `choice[t - 1]` in a loop that draws `choice[t]`: an element drawn before.
        let earlier = self.reads_an_earlier_draw(e);
        if earlier {
            self.gen_exempt(1);
        }
        let b = self.expr(base);
        if earlier {
            self.gen_exempt(-1);
        }
        let b = b?;
        let (plan, index_args) = self.index_plan(e, indices)?;
        let mut args = vec![b];
        args.extend(index_args);
        Ok(self.emit1(OpKind::Index { plan }, &args, ty))
    }

    fn scan(
        &mut self,
        e: &'m Expr,
        carry: &ast::Ident,
        init: &'m Expr,
        sequences: &'m [ast::Sequence],
        body: &'m Block,
    ) -> Result<ValueId> {
        let stacked_ty = tensor_type(self.info(e)?);
        let carry_ty = TensorType::new(stacked_ty.elem, stacked_ty.shape[1..].to_vec());
        let len = stacked_ty.shape[0].clone();
        let init_v = self.expr(init)?;
        let init_v = self.cast(init_v, carry_ty.elem);
        // Generative mode: the elements the body draws or scores (stacked
        // and written back after the loop), and the outer arrays it changes
        // (carried).
        let (drawn, outer_bases) = match self.gen() {
            Some(g) => {
                let drawn = g.analysis.drawn_elements(sequences, body);
                let mut outer = g.analysis.modified_bases(body);
                outer.retain(|b| !drawn.contains(b));
                (drawn, outer)
            }
            None => (Vec::new(), Vec::new()),
        };
        // The outs written in the body: one element per step, a per-step output.
        let loop_outs = self.loop_outs_in(body);
        let loop_out_offsets: Vec<Dim> = loop_outs
            .iter()
            .map(|out| self.scan_counter_start(*out, sequences, e.span))
            .collect::<Result<_>>()?;
        let mut seqs = Vec::new();
        for s in sequences {
            let exempt = self
                .model
                .binding(s.var.span)
                .is_some_and(|sym| drawn.contains(&sym));
            if exempt {
                self.gen_exempt(1);
            }
            let v = match &s.source {
                SequenceSource::Array(xs) => self.expr(xs),
                SequenceSource::Range { lo, .. } => {
                    let iota = self.emit1(
                        OpKind::Iota,
                        &[],
                        TensorType::new(Elem::Int, vec![len.clone()]),
                    );
                    self.expr(lo).map(|lo_v| self.add(iota, lo_v))
                }
            };
            if exempt {
                self.gen_exempt(-1);
            }
            seqs.push(v?);
        }
        let observes = self.with_target && block_has_target(body);
        let carry_arg = self.func.new_value(carry_ty.clone());
        let lp_arg = observes.then(|| self.func.new_value(TensorType::scalar(Elem::Real)));
        let outer_slots = self.slots(&outer_bases, e.span)?;
        let slot_args: Vec<ValueId> = outer_slots
            .iter()
            .map(|(_, v)| {
                let t = self.ty(*v);
                self.func.new_value(t)
            })
            .collect();
        let element_args: Vec<ValueId> = seqs
            .iter()
            .map(|s| {
                let t = self.ty(*s);
                self.func
                    .new_value(TensorType::new(t.elem, t.shape[1..].to_vec()))
            })
            .collect();
        let mut fixed = vec![carry_arg];
        fixed.extend(lp_arg);
        fixed.extend(slot_args.iter().copied());
        fixed.extend(element_args.iter().copied());
        self.push_frame(fixed);
        self.frame().target = lp_arg;
        let carry_sym = self.binding(carry)?;
        self.env.insert(carry_sym, carry_arg);
        for (s, arg) in sequences.iter().zip(&element_args) {
            let sym = self.binding(&s.var)?;
            self.env.insert(sym, *arg);
        }
        for (((base, channel), _), arg) in outer_slots.iter().zip(&slot_args) {
            self.set_channel(*base, *channel, *arg);
        }
        for element in &drawn {
            for channel in self.channel_list() {
                let value = self.env[element];
                let start = self.initial_channel(channel, value);
                self.set_channel(*element, channel, start);
            }
            if self.gen().is_some_and(|g| g.options.write_back) {
                self.gen_undrawn(*element);
            }
        }
        let loop_out_arrays = self.enter_step(&loop_outs);
        self.block_stmts(body)?;
        let value_expr = body
            .value
            .as_ref()
            .ok_or_else(|| unsupported(body.span, "scan body without a value"))?;
        let next = self.expr(value_expr)?;
        let next = self.cast(next, carry_ty.elem);
        let mut results = vec![next];
        if observes {
            let lp_out = self.frame().target.unwrap_or(carry_arg);
            results.push(lp_out);
        }
        for ((base, channel), _) in &outer_slots {
            results.push(self.channel(*base, *channel, e.span)?);
        }
        results.push(next);
        let element_slots = self.slots(&drawn, e.span)?;
        for (_, v) in &element_slots {
            results.push(*v);
        }
        for out in &loop_outs {
            results.push(self.env[out]);
        }
        let (region, outer, _) = self.pop_frame(results);
        let mut args = vec![init_v];
        if observes {
            args.push(self.real(0.0));
        }
        args.extend(outer_slots.iter().map(|(_, v)| *v));
        args.extend(seqs.iter().copied());
        args.extend(outer);
        let mut result_types = vec![carry_ty.clone()];
        if observes {
            result_types.push(TensorType::scalar(Elem::Real));
        }
        for (_, v) in &outer_slots {
            result_types.push(self.ty(*v));
        }
        result_types.push(stacked_ty);
        for (_, v) in &element_slots {
            let t = self.ty(*v);
            let mut shape = vec![len.clone()];
            shape.extend(t.shape);
            result_types.push(TensorType::new(t.elem, shape));
        }
        for (_, array) in &loop_out_arrays {
            let mut shape = vec![len.clone()];
            shape.extend(self.ty(*array).shape[1..].iter().cloned());
            result_types.push(TensorType::real(shape));
        }
        let carries = 1 + usize::from(observes) + outer_slots.len();
        let results = self.emit(
            OpKind::Scan {
                body: region,
                carries,
                sequences: seqs.len(),
                reverse: false,
            },
            &args,
            result_types,
        );
        if observes {
            self.add_target(results[1]);
        }
        let first_slot = 1 + usize::from(observes);
        for (k, ((base, channel), _)) in outer_slots.iter().enumerate() {
            self.set_channel(*base, *channel, results[first_slot + k]);
        }
        let stacked = results[carries];
        if !drawn.is_empty() {
            let element_values: Vec<(Channel, ValueId)> = element_slots
                .iter()
                .enumerate()
                .map(|(k, ((_, channel), _))| (*channel, results[carries + 1 + k]))
                .collect();
            self.write_back_elements(&drawn, &element_values, e.span)?;
        }
        let first_out = carries + 1 + element_slots.len();
        for (k, ((out, array), offset)) in loop_out_arrays.iter().zip(&loop_out_offsets).enumerate()
        {
            let placed = self.place_steps(*array, results[first_out + k], offset, &len);
            self.env.insert(*out, placed);
        }
        Ok(stacked)
    }

    /// Starts a step of a loop that writes the outs `loop_outs`: each one's current
    /// array (the loop's axis first) is returned, and inside the step the out is the
    /// step's element, missing until a statement writes it.
    fn enter_step(&mut self, loop_outs: &[SymbolId]) -> Vec<(SymbolId, ValueId)> {
        let mut arrays = Vec::new();
        for out in loop_outs {
            let array = self.env[out];
            let element_shape = self.ty(array).shape[1..].to_vec();
            let missing = self.real(f64::NAN);
            let element = self.broadcast_to(missing, &element_shape);
            self.env.insert(*out, element);
            arrays.push((*out, array));
        }
        arrays
    }

    /// The array `array` (the loop's axis first, all missing) with the loop's stacked
    /// per-step elements `steps` (of length `len`) from index `offset` on.
    fn place_steps(&mut self, array: ValueId, steps: ValueId, offset: &Dim, len: &Dim) -> ValueId {
        let ty = self.ty(array);
        if *offset == Dim::constant(0) && ty.shape[0] == *len {
            return steps;
        }
        let stop = offset.add(len).unwrap_or_else(|| ty.shape[0].clone());
        let plan = vec![AxisIndex::Slice {
            start: offset.clone(),
            stop,
        }];
        self.emit1(OpKind::IndexSet { plan }, &[array, steps], ty)
    }

    /// The first value of the range sequence of a scan that counts the steps of the
    /// out `out` (the checker made sure there is one).
    fn scan_counter_start(
        &self,
        out: SymbolId,
        sequences: &'m [ast::Sequence],
        span: ast::Span,
    ) -> Result<Dim> {
        let counters = self
            .model
            .loop_outs
            .iter()
            .find(|(id, _)| *id == out)
            .map(|(_, c)| c.as_slice())
            .unwrap_or_default();
        for seq in sequences {
            let SequenceSource::Range { lo, .. } = &seq.source else {
                continue;
            };
            let is_counter = self
                .model
                .binding(seq.var.span)
                .is_some_and(|sym| counters.contains(&sym));
            if is_counter {
                return self
                    .info(lo)?
                    .value
                    .clone()
                    .ok_or_else(|| unsupported(lo.span, "a scan range that is not a size"));
            }
        }
        Err(unsupported(
            span,
            "an out written in a scan without its counter",
        ))
    }

    /// A `for` loop in a generative function: a scan over its range that
    /// carries the arrays its body draws into or scores.
    fn gen_for(
        &mut self,
        var: &ast::Ident,
        lo: &'m Expr,
        hi: &'m Expr,
        body: &'m Block,
    ) -> Result<()> {
        let bases = match self.gen() {
            Some(g) => g.analysis.modified_bases(body),
            None => Vec::new(),
        };
        let loop_outs = self.loop_outs_in(body);
        if bases.is_empty() && loop_outs.is_empty() {
            return Ok(());
        }
        let span = lo.span.to(hi.span);
        let (lo_info, hi_info) = (self.info(lo)?, self.info(hi)?);
        // A bound given by data (`1..Tsubj[n]`) runs over the widest range
        // its declared range allows, each step guarded by the actual bounds:
        // the arrays the loop draws into have static shapes.
        let guarded = lo_info.value.is_none() || hi_info.value.is_none();
        let lowest = lo_info
            .value
            .clone()
            .or_else(|| lo_info.range.as_ref().map(|r| r.lo.clone()));
        let highest = hi_info
            .value
            .clone()
            .or_else(|| hi_info.range.as_ref().and_then(|r| r.hi.offset(-1)));
        let len = match (&lowest, &highest) {
            (Some(l), Some(h)) => h.sub(l),
            _ => None,
        }
        .ok_or_else(|| {
            unsupported(
                span,
                "a loop that observes data must run over sizes and constants, or over data whose range is declared, to be run forward: declare the bound's range (`data Tsubj: int[N] in 0..T + 1`), or loop over `0..T` and test `if t < Tsubj[n]`",
            )
        })?;
        let lo_v = match &lowest {
            Some(l) => self.size_of(l),
            None => self.expr(lo)?,
        };
        let iota = self.emit1(
            OpKind::Iota,
            &[],
            TensorType::new(Elem::Int, vec![len.clone()]),
        );
        let range = self.add(iota, lo_v);
        let slots = self.slots(&bases, span)?;
        let slot_args: Vec<ValueId> = slots
            .iter()
            .map(|(_, v)| {
                let t = self.ty(*v);
                self.func.new_value(t)
            })
            .collect();
        let i = self.func.new_value(TensorType::scalar(Elem::Int));
        let mut fixed = slot_args.clone();
        fixed.push(i);
        self.push_frame(fixed);
        let sym = self.binding(var)?;
        self.env.insert(sym, i);
        for (((base, channel), _), arg) in slots.iter().zip(&slot_args) {
            self.set_channel(*base, *channel, *arg);
        }
        let loop_out_arrays = self.enter_step(&loop_outs);
        self.gen_enter_loop(sym, body);
        if guarded {
            let (lo_now, hi_now) = (self.expr(lo)?, self.expr(hi)?);
            let above = self.binary(BinaryOp::Ge, i, lo_now);
            let below = self.binary(BinaryOp::Lt, i, hi_now);
            let inside = self.binary(BinaryOp::And, above, below);
            // The step's elements of the outs written in it go through the guard too.
            let mut carried = bases.clone();
            carried.extend(loop_outs.iter().copied());
            self.branches(body.span, inside, body, None, None, false, &carried)?;
        } else {
            self.block_stmts(body)?;
            if let Some(v) = &body.value {
                self.effect(v)?;
            }
        }
        self.gen_leave_loop();
        let mut results = Vec::new();
        for ((base, channel), _) in &slots {
            results.push(self.channel(*base, *channel, span)?);
        }
        for out in &loop_outs {
            results.push(self.env[out]);
        }
        let (region, outer, _) = self.pop_frame(results);
        let mut args: Vec<ValueId> = slots.iter().map(|(_, v)| *v).collect();
        args.push(range);
        args.extend(outer);
        let mut types: Vec<TensorType> = slots.iter().map(|(_, v)| self.ty(*v)).collect();
        for (_, array) in &loop_out_arrays {
            let mut shape = vec![len.clone()];
            shape.extend(self.ty(*array).shape[1..].iter().cloned());
            types.push(TensorType::real(shape));
        }
        let results = self.emit(
            OpKind::Scan {
                body: region,
                carries: slots.len(),
                sequences: 1,
                reverse: false,
            },
            &args,
            types,
        );
        for (((base, channel), _), r) in slots.iter().zip(&results) {
            self.set_channel(*base, *channel, *r);
        }
        // The steps run from the loop's lowest value on.
        let offset = lowest.unwrap_or_else(|| Dim::constant(0));
        for (k, (out, array)) in loop_out_arrays.iter().enumerate() {
            let placed = self.place_steps(*array, results[slots.len() + k], &offset, &len);
            self.env.insert(*out, placed);
        }
        Ok(())
    }

    /// Whether `block` draws `sym` on every path through it: a `~` whose
    /// left side is `sym`, or an `if` both of whose branches draw it.
    fn block_draws(&self, block: &Block, sym: SymbolId) -> bool {
        let if_draws = |e: &Expr| match &e.kind {
            ExprKind::If {
                then_block,
                else_block,
                ..
            } => {
                self.block_draws(then_block, sym)
                    && else_block
                        .as_ref()
                        .is_some_and(|b| self.block_draws(b, sym))
            }
            _ => false,
        };
        block.stmts.iter().any(|s| match s {
            Stmt::Tilde { lhs, .. } => {
                matches!(lhs.kind, ExprKind::Name(_)) && self.model.names.get(&lhs.id) == Some(&sym)
            }
            Stmt::Expr(e) => if_draws(e),
            _ => false,
        }) || block.value.as_deref().is_some_and(if_draws)
    }

    fn if_expr(
        &mut self,
        e: &'m Expr,
        cond: &'m Expr,
        then_block: &'m Block,
        else_block: Option<&'m Block>,
        want_value: bool,
    ) -> Result<Option<ValueId>> {
        let value_ty = if want_value {
            Some(tensor_type(self.info(e)?))
        } else {
            None
        };
        let observes = self.with_target
            && (block_has_target(then_block) || else_block.is_some_and(block_has_target));
        // Generative mode: the arrays either branch draws into or scores.
        let mut gen_bases = match self.gen() {
            Some(g) => {
                let mut bases = g.analysis.modified_bases(then_block);
                if let Some(b) = else_block {
                    for base in g.analysis.modified_bases(b) {
                        if !bases.contains(&base) {
                            bases.push(base);
                        }
                    }
                }
                bases
            }
            None => Vec::new(),
        };
        for block in std::iter::once(then_block).chain(else_block) {
            for out in self.loop_outs_in(block) {
                if !gen_bases.contains(&out) {
                    gen_bases.push(out);
                }
            }
        }
        if value_ty.is_none() && !observes && gen_bases.is_empty() {
            return Ok(None);
        }
        let c = self.expr(cond)?;
        self.branches(
            e.span, c, then_block, else_block, value_ty, observes, &gen_bases,
        )
    }

    /// The `If` op of lowered condition `c` over two blocks (no else block:
    /// nothing happens), with the arrays either draws into or scores
    /// (`gen_bases`) carried through it; its value when `value_ty` asks.
    #[allow(clippy::too_many_arguments)]
    fn branches(
        &mut self,
        span: ast::Span,
        c: ValueId,
        then_block: &'m Block,
        else_block: Option<&'m Block>,
        value_ty: Option<TensorType>,
        observes: bool,
        gen_bases: &[SymbolId],
    ) -> Result<Option<ValueId>> {
        let slots = self.slots(gen_bases, span)?;
        let before = self.gen_snapshot();
        // An alias (`let k = c - 1`) drawn by a `~` in a branch holds the draw
        // there; drawn in both branches, it holds the `if`'s result after it,
        // else its value from before (a value of one branch is no value
        // outside it).
        let aliases: Vec<SymbolId> = before
            .as_ref()
            .map(|(_, a)| {
                let mut a: Vec<SymbolId> = a.iter().copied().collect();
                a.sort_by_key(|s| s.0);
                a
            })
            .unwrap_or_default();
        let alias_values: Vec<Option<ValueId>> =
            aliases.iter().map(|s| self.env.get(s).copied()).collect();
        let drawn_in_both: Vec<SymbolId> = aliases
            .iter()
            .copied()
            .filter(|sym| {
                self.block_draws(then_block, *sym)
                    && else_block.is_some_and(|b| self.block_draws(b, *sym))
            })
            .collect();
        let mut after: Option<(HashSet<SymbolId>, HashSet<SymbolId>)> = None;
        let mut branches = Vec::new();
        for block in [Some(then_block), else_block] {
            self.push_frame(Vec::new());
            let mut results = Vec::new();
            if let Some(b) = block {
                self.block_stmts(b)?;
                if let Some(ty) = &value_ty {
                    let v = b
                        .value
                        .as_ref()
                        .ok_or_else(|| unsupported(b.span, "branch without a value"))?;
                    let v = self.expr(v)?;
                    results.push(self.cast(v, ty.elem));
                } else if let Some(v) = &b.value {
                    self.effect(v)?;
                }
            }
            if observes {
                let lp = match self.frame().target {
                    Some(t) => t,
                    None => self.real(0.0),
                };
                results.push(lp);
            }
            for ((base, channel), _) in &slots {
                results.push(self.channel(*base, *channel, span)?);
            }
            for sym in &drawn_in_both {
                let v = self
                    .env
                    .get(sym)
                    .copied()
                    .ok_or_else(|| unsupported(span, "a drawn value has no value"))?;
                results.push(v);
            }
            for (sym, v) in aliases.iter().zip(&alias_values) {
                match v {
                    Some(v) => self.env.insert(*sym, *v),
                    None => self.env.remove(sym),
                };
            }
            let (region, outer, inner) = self.pop_frame(results);
            branches.push((region, outer, inner));
            // The next branch starts from the state before the `if`; after
            // it, a value counts as drawn only if both branches drew it.
            for ((base, channel), v) in &slots {
                self.set_channel(*base, *channel, *v);
            }
            if let Some((undrawn, aliases)) = self.gen_snapshot() {
                after = Some(match after {
                    None => (undrawn, aliases),
                    Some((u, a)) => (&u | &undrawn, &a | &aliases),
                });
            }
            self.gen_restore(before.clone());
        }
        self.gen_restore(after);
        let mut result_types = Vec::new();
        if let Some(ty) = &value_ty {
            result_types.push(ty.clone());
        }
        if observes {
            result_types.push(TensorType::scalar(Elem::Real));
        }
        for (_, v) in &slots {
            result_types.push(self.ty(*v));
        }
        for sym in &drawn_in_both {
            let info = &self.model.symbol(*sym).info;
            result_types.push(tensor_type(info));
        }
        let results = self.emit_if(span, c, branches, result_types)?;
        let first_slot = usize::from(value_ty.is_some()) + usize::from(observes);
        if observes {
            self.add_target(results[first_slot - 1]);
        }
        for (k, ((base, channel), _)) in slots.iter().enumerate() {
            self.set_channel(*base, *channel, results[first_slot + k]);
        }
        let first_alias = first_slot + slots.len();
        for (k, sym) in drawn_in_both.iter().enumerate() {
            self.env.insert(*sym, results[first_alias + k]);
        }
        Ok(value_ty.map(|_| results[0]))
    }

    /// The `If` op on `c` over its two closed regions (then, else, as `pop_frame` returns
    /// them): both take the union of their captures, in one order.
    fn emit_if(
        &mut self,
        span: ast::Span,
        c: ValueId,
        branches: Vec<(Region, Vec<ValueId>, Vec<ValueId>)>,
        result_types: Vec<TensorType>,
    ) -> Result<Vec<ValueId>> {
        let mut union: Vec<ValueId> = Vec::new();
        for (_, outer, _) in &branches {
            for o in outer {
                if !union.contains(o) {
                    union.push(*o);
                }
            }
        }
        let mut regions = Vec::new();
        for (mut region, outer, inner) in branches {
            let mut args = Vec::new();
            for u in &union {
                match outer.iter().position(|o| o == u) {
                    Some(k) => args.push(inner[k]),
                    None => {
                        let ty = self.func.ty(*u).clone();
                        args.push(self.func.new_value(ty));
                    }
                }
            }
            region.args = args;
            regions.push(region);
        }
        let else_region = regions
            .pop()
            .ok_or_else(|| unsupported(span, "if without branches"))?;
        let then_region = regions
            .pop()
            .ok_or_else(|| unsupported(span, "if without branches"))?;
        let mut args = vec![c];
        args.extend(union);
        Ok(self.emit(
            OpKind::If {
                then_region,
                else_region,
            },
            &args,
            result_types,
        ))
    }

    /// `a && b` or `a || b` with a single bool value whose right side may fail at run time (it
    /// reads an index the checker could not prove in range): `b` is evaluated only where
    /// it decides the value, as in Stan and C, so `present(k) && q[k] > 0` never reads
    /// `q` at a missing `k`. Other right sides are evaluated eagerly: both are cheap, and
    /// a branch would cost more than it saves.
    fn short_circuit(
        &mut self,
        span: ast::Span,
        a: ValueId,
        rhs: &'m Expr,
        is_and: bool,
    ) -> Result<ValueId> {
        let mut branches = Vec::new();
        // The `then` region runs where `a` is true: `b` for `&&`, `true` for `||`.
        for evaluate in [is_and, !is_and] {
            self.push_frame(Vec::new());
            let v = if evaluate {
                self.expr(rhs)?
            } else {
                let constant = if is_and { 0.0 } else { 1.0 };
                self.emit1(OpKind::Const(constant), &[], TensorType::scalar(Elem::Bool))
            };
            let v = self.cast(v, Elem::Bool);
            branches.push(self.pop_frame(vec![v]));
        }
        let results = self.emit_if(span, a, branches, vec![TensorType::scalar(Elem::Bool)])?;
        Ok(results[0])
    }

    /// Whether evaluating `e` may stop with a run-time error: it indexes at a position
    /// the checker could not prove in range.
    fn may_fail(&self, e: &'m Expr) -> bool {
        let mut fails = false;
        ast::visit_expr(e, &mut |x| {
            if let Some(info) = self.model.indexes.get(&x.id) {
                fails |= info.axes.iter().any(|a| {
                    matches!(
                        a,
                        AxisIndex::Scalar {
                            needs_bounds_check: true,
                            ..
                        } | AxisIndex::Gather {
                            needs_bounds_check: true
                        }
                    )
                });
            }
        });
        fails
    }

    // ---- Distributions -----------------------------------------------------------

    /// A distribution call's family, whether it takes `logits`/`log_rate`,
    /// and its arguments lowered in the signature's order.
    fn distribution_args(&mut self, dist: &'m Expr) -> Result<(D, bool, Vec<ValueId>)> {
        let call = self
            .model
            .calls
            .get(&dist.id)
            .cloned()
            .ok_or_else(|| unsupported(dist.span, "unresolved distribution"))?;
        let Callee::Distribution(d) = call.callee else {
            return Err(unsupported(dist.span, "not a distribution"));
        };
        let ExprKind::Call { args, .. } = &dist.kind else {
            return Err(unsupported(dist.span, "not a call"));
        };
        let mut a = Vec::new();
        let mut logits = call.arg_names.contains(&"logits") || call.arg_names.contains(&"log_rate");
        for (k, id) in call.args.iter().enumerate() {
            // `Wiener`'s `upper` and `LBA`'s `response` are data, not arguments of
            // the time's density or draw (see `Lowering::density`, `Lowering::gen_tilde`).
            if d.response_argument()
                .is_some_and(|name| call.arg_names.get(k) == Some(&name))
            {
                continue;
            }
            let arg = args
                .iter()
                .map(|x| &x.value)
                .find(|v| v.id == *id)
                .ok_or_else(|| unsupported(dist.span, "argument"))?;
            let v = self.expr(arg)?;
            // `p = logistic(x)` (inline or through `let`) is scored as
            // `logits = x`: the probability rounds to 0 or 1 once |x| passes
            // about 37, the logit does not. The unused `logistic` is removed
            // as dead code.
            let p = matches!(d, D::Bernoulli | D::Binomial) && call.arg_names.get(k) == Some(&"p");
            // And `Categorical(p = [q, 1 - q])` with `q = logistic(x)` (or
            // `1 / (1 + exp(-x))`) as `logits = [x, 0]`, or `[0, x]` for
            // `[1 - q, q]`.
            let pair = (d == D::Categorical && call.arg_names.get(k) == Some(&"p"))
                .then(|| self.pair_of.get(&v).copied())
                .flatten();
            if let Some(logit_pair) = pair.and_then(|pair| self.logits_of_complements(pair)) {
                a.push(logit_pair);
                logits = true;
                continue;
            }
            match self.logistic_of.get(&v) {
                Some(x) if p => {
                    a.push(*x);
                    logits = true;
                }
                _ => a.push(v),
            }
        }
        if d == D::OrderedLogistic {
            // Scored, checked and drawn as the Categorical of its categories'
            // log-probabilities; the second argument says which rows'
            // cutpoints increase.
            let (log_p, valid) = self.ordered_log_probabilities(a[0], a[1], dist.span)?;
            return Ok((D::Categorical, true, vec![log_p, valid]));
        }
        Ok((d, logits, a))
    }

    /// The logits `[x, 0]` of the probabilities `[q, 1 - q]` where `q` is
    /// `logistic(x)`, or `[0, x]` of `[1 - q, q]`; `None` for another pair.
    fn logits_of_complements(&mut self, (first, second): (ValueId, ValueId)) -> Option<ValueId> {
        let (x, x_first) = if self.complement_of.get(&second) == Some(&first) {
            (*self.logistic_of.get(&first)?, true)
        } else if self.complement_of.get(&first) == Some(&second) {
            (*self.logistic_of.get(&second)?, false)
        } else {
            return None;
        };
        let x = self.cast(x, Elem::Real);
        let x = self.with_leading_axis(x);
        let zero = self.real(0.0);
        let zero = self.with_leading_axis(zero);
        let logits = if x_first { [x, zero] } else { [zero, x] };
        Some(self.concat_items(&logits, TensorType::real(vec![Dim::constant(2)])))
    }

    /// `Wiener`'s bias and drift for a response at `upper`'s boundary (1 the upper,
    /// 0 the lower): as they are at the upper, `1 - beta` and `-delta` at the lower.
    fn wiener_at_boundary(
        &mut self,
        upper: ValueId,
        beta: ValueId,
        delta: ValueId,
    ) -> (ValueId, ValueId) {
        let ty = self.ty(beta);
        let one = self.real(1.0);
        let one = self.broadcast_to(one, &ty.shape);
        let at_upper = self.binary(BinaryOp::Eq, upper, one);
        let mirrored_beta = self.sub(one, beta);
        let mirrored_delta = self.unary(UnaryOp::Neg, delta);
        (
            self.select(at_upper, beta, mirrored_beta, ty.clone()),
            self.select(at_upper, delta, mirrored_delta, ty),
        )
    }

    /// Points the values made since `first` that have no place of their own at `span`.
    fn locate_values_from(&mut self, first: u32, span: ast::Span) {
        for v in first..self.func.values.len() as u32 {
            self.func
                .spans
                .entry(ValueId(v))
                .or_insert((span.start, span.end));
        }
    }

    /// `then` where `condition` holds, else `otherwise` (elementwise).
    fn select(
        &mut self,
        condition: ValueId,
        then: ValueId,
        otherwise: ValueId,
        ty: TensorType,
    ) -> ValueId {
        self.emit1(OpKind::Select, &[condition, then, otherwise], ty)
    }

    /// `log C(n, y) = lgamma(n+1) - lgamma(y+1) - lgamma(n-y+1)`, and `n - y`.
    fn log_choose(&mut self, n: ValueId, y: ValueId) -> (ValueId, ValueId) {
        let one = self.real(1.0);
        let n1 = self.add(n, one);
        let y1 = self.add(y, one);
        let nmy = self.sub(n, y);
        let nmy1 = self.add(nmy, one);
        let g1 = self.unary(UnaryOp::Lgamma, n1);
        let g2 = self.unary(UnaryOp::Lgamma, y1);
        let g3 = self.unary(UnaryOp::Lgamma, nmy1);
        let c = self.sub(g1, g2);
        (self.sub(c, g3), nmy)
    }

    /// `lgamma(y + x) - lgamma(x)` for `y >= 0`: the difference of lgammas for
    /// `x` up to 1e3, and above it Stirling's series,
    /// `(x - 1/2) log1p(y/x) + y log(x + y) - y - y / (12 x (x + y))` and the
    /// next term, where the two lgammas are too large for their difference to
    /// keep its digits (a negative binomial's dispersion of 1e15, near its
    /// Poisson limit).
    fn lgamma_growth(&mut self, y: ValueId, x: ValueId, shape: &[Dim]) -> ValueId {
        let large = self.real(1e3);
        let large = self.broadcast_to(large, shape);
        let is_large = self.binary(BinaryOp::Gt, x, large);
        let yx = self.add(y, x);
        let g1 = self.unary(UnaryOp::Lgamma, yx);
        let g2 = self.unary(UnaryOp::Lgamma, x);
        let exact = self.sub(g1, g2);
        // The series at max(x, 1e3), so that it is finite where it is not chosen.
        let s = self.select(is_large, x, large, TensorType::real(shape.to_vec()));
        let half = self.real(0.5);
        let s_half = self.sub(s, half);
        let ys = self.binary(BinaryOp::Div, y, s);
        let l1 = self.unary(UnaryOp::Log1p, ys);
        let t1 = self.mul(s_half, l1);
        let sy = self.add(s, y);
        let l2 = self.unary(UnaryOp::Log, sy);
        let t2 = self.mul(y, l2);
        // 1/(12 (s+y)) - 1/(12 s) = -y / (12 s (s+y)), and the next term's
        // 1/(360 s³) - 1/(360 (s+y)³) = (1 - r³) / (360 s³) with r = s / (s+y)
        // (no cube of a huge s: its power -3 goes to 0 with its slope).
        let twelve = self.real(12.0);
        let d12 = self.mul(twelve, sy);
        let t3 = self.binary(BinaryOp::Div, ys, d12);
        let r = self.binary(BinaryOp::Div, s, sy);
        let three = self.real(3.0);
        let r3 = self.binary(BinaryOp::Pow, r, three);
        let one = self.real(1.0);
        let shortfall = self.sub(one, r3);
        let minus_three = self.real(-3.0);
        let inv_s3 = self.binary(BinaryOp::Pow, s, minus_three);
        let c360 = self.real(1.0 / 360.0);
        let t4 = self.mul(shortfall, inv_s3);
        let t4 = self.mul(t4, c360);
        let series = self.add(t1, t2);
        let series = self.sub(series, y);
        let series = self.sub(series, t3);
        let series = self.add(series, t4);
        let growth = self.select(is_large, series, exact, TensorType::real(shape.to_vec()));
        // No growth at y = 0, whatever x is: the exact difference's slope,
        // digamma(x) - digamma(x), is 0 only if nothing is added between its
        // two terms, and at x = 1e-300 (digamma -1e300) the other terms of
        // the density's slope in x were absorbed (a beta-binomial's slope of
        // -2.93 in a shape of 1e-300 came out 0).
        let zero = self.real(0.0);
        let zero = self.broadcast_to(zero, shape);
        let none = self.binary(BinaryOp::Eq, y, zero);
        self.select(none, zero, growth, TensorType::real(shape.to_vec()))
    }

    /// `OrderedLogistic(eta, c)` as the log-probabilities of its K = len(c) + 1
    /// categories along a new last axis, and whether each row's cutpoints
    /// increase strictly (a bool in the rows' shape). With
    /// `lo = η − c[k−1]`, `hi = η − c[k]` (c[−1] = −inf, c[K−1] = +inf),
    /// `log(σ(lo) − σ(hi)) = log(−expm1(c[k−1] − c[k])) − softplus(−lo) −
    /// softplus(hi)`: the gap is taken from the cutpoints themselves, so a
    /// rating far in a tail, or cutpoints 1e-12 apart, keep their digits. Where
    /// the cutpoints do not increase the gap is held finite, so that the row
    /// is rejected by name rather than by a NaN.
    fn ordered_log_probabilities(
        &mut self,
        eta: ValueId,
        cuts: ValueId,
        span: ast::Span,
    ) -> Result<(ValueId, ValueId)> {
        let eta = self.cast(eta, Elem::Real);
        let cuts = self.cast(cuts, Elem::Real);
        let mut column = self.ty(eta).shape;
        column.push(Dim::constant(1));
        let eta = self.reshape(eta, column);
        let shape = broadcast(&self.ty(eta).shape, &self.ty(cuts).shape)
            .ok_or_else(|| unsupported(span, "cutpoints that do not broadcast with eta"))?;
        let last = shape.len() - 1;
        let cuts = self.broadcast_to(cuts, &shape);
        let mut edge = shape.clone();
        edge[last] = Dim::constant(1);
        let mut full = shape.clone();
        full[last] = shape[last]
            .offset(1)
            .ok_or_else(|| unsupported(span, "the number of categories"))?;
        let inf = self.real(f64::INFINITY);
        let inf = self.broadcast_to(inf, &edge);
        let neg_inf = self.real(f64::NEG_INFINITY);
        let neg_inf = self.broadcast_to(neg_inf, &edge);
        let below = self.emit1(
            OpKind::Concat { axis: last },
            &[neg_inf, cuts],
            TensorType::real(full.clone()),
        );
        let above = self.emit1(
            OpKind::Concat { axis: last },
            &[cuts, inf],
            TensorType::real(full.clone()),
        );
        let inf_full = self.real(f64::INFINITY);
        let inf_full = self.broadcast_to(inf_full, &full);
        let neg_inf_full = self.real(f64::NEG_INFINITY);
        let neg_inf_full = self.broadcast_to(neg_inf_full, &full);
        // The gap c[k−1] − c[k]: -inf at both ends, below 0 between increasing cutpoints.
        let gap = self.sub(below, above);
        let zero = self.real(0.0);
        let zero = self.broadcast_to(zero, &full);
        let increasing = self.binary(BinaryOp::Lt, gap, zero);
        // Held inside [-1e300, -5e-324]: the ends' -inf gives log(1) = 0 as it
        // would, and a gap of 0 or more (a row rejected below) a finite value,
        // so that no NaN or infinity is made here to hide the rejection.
        let tiny = self.real(-f64::from_bits(1));
        let tiny = self.broadcast_to(tiny, &full);
        let huge = self.real(-1e300);
        let huge = self.broadcast_to(huge, &full);
        let gap = self.binary(BinaryOp::Min, gap, tiny);
        let gap = self.binary(BinaryOp::Max, gap, huge);
        let width = self.unary(UnaryOp::Expm1, gap);
        let width = self.unary(UnaryOp::Neg, width);
        let between = self.unary(UnaryOp::Log, width);
        let eta = self.broadcast_to(eta, &full);
        let lo = self.sub(eta, below);
        let hi = self.sub(eta, above);
        let neg_lo = self.unary(UnaryOp::Neg, lo);
        let below_lo = self.unary(UnaryOp::Log1pExp, neg_lo);
        let above_hi = self.unary(UnaryOp::Log1pExp, hi);
        // The end categories have no cutpoint below (above) them: their
        // softplus term is 0 whatever `eta` is (an infinite `eta` in data made
        // it inf - inf, NaN, where the limit is a certain category).
        let bottom = self.binary(BinaryOp::Eq, below, neg_inf_full);
        let top = self.binary(BinaryOp::Eq, above, inf_full);
        let below_lo = self.select(bottom, zero, below_lo, TensorType::real(full.clone()));
        let above_hi = self.select(top, zero, above_hi, TensorType::real(full.clone()));
        let t = self.sub(between, below_lo);
        let log_p = self.sub(t, above_hi);
        // A row is valid where every gap is below 0: the smallest of 1 − [gap >= 0].
        let one = self.real(1.0);
        let one = self.broadcast_to(one, &full);
        let fine = self.select(increasing, one, zero, TensorType::real(full));
        let smallest = self.reduce(ReduceOp::Min, fine, Some(last));
        let one = self.real(1.0);
        Ok((log_p, self.binary(BinaryOp::Eq, smallest, one)))
    }

    /// The elementwise log density of an observed `y`: `-inf` where `y` is
    /// outside the distribution's support (a Bernoulli outcome of 2, a
    /// negative count, a waiting time below 0), which the formulas alone
    /// would score as finite.
    fn observation(
        &mut self,
        dist: &'m Expr,
        y: ValueId,
        range: Option<&IntRange>,
    ) -> Result<ValueId> {
        self.density(dist, y, Some(Rejection::OutsideSupport), range)
    }

    /// The elementwise log density of `y` (already lowered) under `dist`,
    /// with full normalizing constants, in the shape of `y`; with
    /// `outside_support`, -inf (a rejection for that reason) where `y` is
    /// outside the distribution's support. `range` is the checker's range of
    /// an integer `y`, when it has one.
    fn density(
        &mut self,
        dist: &'m Expr,
        y: ValueId,
        outside_support: Option<Rejection>,
        range: Option<&IntRange>,
    ) -> Result<ValueId> {
        let (d, logits, a) = self.distribution_args(dist)?;
        let shape = self.ty(y).shape;
        if d == D::Categorical {
            let first = self.func.values.len() as u32;
            let mut lp = self.categorical(y, a[0], logits, &shape, range)?;
            if !logits {
                // log p[y] of a negative p (see below).
                lp = self.nan_to_minus_inf(lp, &shape);
            }
            if let Some(&valid) = a.get(1) {
                // OrderedLogistic's cutpoints must increase, as Stan requires.
                let valid = self.broadcast_to(valid, &shape);
                lp = self.reject_unless(valid, lp, Rejection::CutpointsOutOfOrder);
            }
            // The outcome indexes the categories: its errors point at the distribution.
            self.locate_values_from(first, dist.span);
            return Ok(lp);
        }
        if d == D::Lba {
            let response = generative::response_of(dist)
                .ok_or_else(|| unsupported(dist.span, "`LBA` without its `response`"))?;
            let response_range = self.info(response)?.range.clone();
            let response = self.expr(response)?;
            let first = self.func.values.len() as u32;
            let lp =
                self.lba_density(y, &a, response, &shape, response_range.as_ref(), dist.span)?;
            // The response indexes the accumulators: its errors point at the distribution.
            self.locate_values_from(first, dist.span);
            return Ok(lp);
        }
        // All other densities are elementwise in the broadcast shape of y.
        let a: Vec<ValueId> = a
            .into_iter()
            .enumerate()
            .map(|(k, v)| {
                let v = if d == D::Binomial && k == 0 && self.ty(v).elem == Elem::Int {
                    v
                } else {
                    self.cast(v, Elem::Real)
                };
                self.broadcast_to(v, &shape)
            })
            .collect();
        let yr = self.cast(y, Elem::Real);
        let constant = |me: &mut Self, c: f64| {
            let v = me.real(c);
            me.broadcast_to(v, &shape)
        };
        let inside = if outside_support.is_none() {
            None
        } else {
            use rlc_check::builtins::OutcomeRange as R;
            match d.outcome_range() {
                R::NonNegative => {
                    let zero = constant(self, 0.0);
                    Some(self.binary(BinaryOp::Ge, yr, zero))
                }
                R::Positive => {
                    let zero = constant(self, 0.0);
                    Some(self.binary(BinaryOp::Gt, yr, zero))
                }
                R::UnitClosed => {
                    let (zero, one) = (constant(self, 0.0), constant(self, 1.0));
                    let lo = self.binary(BinaryOp::Ge, yr, zero);
                    let hi = self.binary(BinaryOp::Le, yr, one);
                    Some(self.binary(BinaryOp::And, lo, hi))
                }
                R::Binary => {
                    let (zero, one) = (constant(self, 0.0), constant(self, 1.0));
                    let is0 = self.binary(BinaryOp::Eq, yr, zero);
                    let is1 = self.binary(BinaryOp::Eq, yr, one);
                    Some(self.binary(BinaryOp::Or, is0, is1))
                }
                R::UpToFirstArg => {
                    let zero = constant(self, 0.0);
                    let n = self.cast(a[0], Elem::Real);
                    let lo = self.binary(BinaryOp::Ge, yr, zero);
                    let hi = self.binary(BinaryOp::Le, yr, n);
                    Some(self.binary(BinaryOp::And, lo, hi))
                }
                R::BetweenArgs => {
                    let lo = self.binary(BinaryOp::Ge, yr, a[0]);
                    let hi = self.binary(BinaryOp::Le, yr, a[1]);
                    Some(self.binary(BinaryOp::And, lo, hi))
                }
                R::Unchecked => None,
            }
        };
        // Outside the support the density is -inf (the select below); the
        // terms are computed at a value inside it, so that no intermediate
        // (lgamma(y + 1) of y = -1, log of a negative y) is infinite or NaN
        // and the first non-finite value is that select: the explainer then
        // names the observation as outside the support.
        let safe = d.outcome_range().inside_value(d.is_discrete());
        let yr = match (inside, safe) {
            (Some(inside), Some(c)) => {
                let c = constant(self, c);
                self.select(inside, yr, c, TensorType::real(shape.clone()))
            }
            _ => yr,
        };
        // A probability outside [0, 1] (or NaN) is a rejection, as Stan's
        // error (the formula alone scores `y = 1` at `p = 1.5` as log 1.5);
        // the formula takes p = 1/2 there, so that the first non-finite value
        // is the rejection, which the explainer names.
        let mut a = a;
        let probability_valid = match d {
            D::Bernoulli | D::Binomial if !logits => {
                let k = if d == D::Bernoulli { 0 } else { 1 };
                let (zero, one) = (constant(self, 0.0), constant(self, 1.0));
                let above = self.binary(BinaryOp::Ge, a[k], zero);
                let below = self.binary(BinaryOp::Le, a[k], one);
                let valid = self.binary(BinaryOp::And, above, below);
                let half = constant(self, 0.5);
                a[k] = self.select(valid, a[k], half, TensorType::real(shape.clone()));
                Some(valid)
            }
            _ => None,
        };
        // Formulas that stay finite at an argument outside its domain (an even
        // function of `kappa`; no `log(sigma)` term) reject it by name; the
        // formula takes 1 there, so that the rejection is the first value that
        // is not finite, which the explainer names. Each is (argument, whether
        // 0 is inside): `VonMises`' `kappa = 0` is the uniform circle.
        let at_least_zero: &[(usize, bool)] = match d {
            D::VonMises => &[(1, true)],
            D::ExGaussian => &[(1, false), (2, false)],
            D::Wald => &[(0, false)],
            _ => &[],
        };
        let mut domain_valid = None;
        for &(k, zero_inside) in at_least_zero {
            let zero = constant(self, 0.0);
            let above = if zero_inside {
                BinaryOp::Ge
            } else {
                BinaryOp::Gt
            };
            let valid = self.binary(above, a[k], zero);
            let one = constant(self, 1.0);
            a[k] = self.select(valid, a[k], one, TensorType::real(shape.clone()));
            domain_valid = Some(match domain_valid {
                None => valid,
                Some(before) => self.binary(BinaryOp::And, before, valid),
            });
        }
        let half_log_2pi = 0.5 * (2.0 * PI).ln();
        let lp = match d {
            D::Normal => self.normal(yr, a[0], a[1], half_log_2pi, &shape),
            D::HalfNormal => {
                let zero = self.real(0.0);
                let zero = self.broadcast_to(zero, &shape);
                let n = self.normal(yr, zero, a[0], half_log_2pi, &shape);
                let ln2 = self.real(std::f64::consts::LN_2);
                self.add(n, ln2)
            }
            D::StudentT => {
                // lgamma((ν+1)/2) - lgamma(ν/2) - ½log(νπ) - log σ - (ν+1)/2 · log1p(z²/ν)
                let (nu, mu, sigma) = (a[0], a[1], a[2]);
                let z = self.standardized(yr, mu, sigma);
                let z2 = self.mul(z, z);
                let q = self.div(z2, nu);
                let l = self.unary(UnaryOp::Log1p, q);
                let one = self.real(1.0);
                let half = self.real(0.5);
                let nu1 = self.add(nu, one);
                let h1 = self.mul(nu1, half);
                let norm = self.student_t_norm(nu);
                let half_log_pi = self.real(0.5 * PI.ln());
                let ls = self.unary(UnaryOp::Log, sigma);
                let tail = self.mul(h1, l);
                let t = self.sub(norm, half_log_pi);
                let t = self.sub(t, ls);
                self.sub(t, tail)
            }
            D::Cauchy => self.cauchy(yr, a[0], a[1]),
            D::VonMises => {
                // κ cos(y - μ) - log 2π - log I0(κ), written as
                // -2κ sin²((y - μ)/2) - log 2π - log(I0(κ) e^-κ): no term
                // grows with κ, so a concentrated density keeps its digits.
                let (mu, kappa) = (a[0], a[1]);
                let d = self.sub(yr, mu);
                let half = self.real(0.5);
                let h = self.mul(half, d);
                let sn = self.unary(UnaryOp::Sin, h);
                let s2 = self.mul(sn, sn);
                let k2 = self.add(kappa, kappa);
                let t = self.mul(k2, s2);
                let li = self.unary(UnaryOp::LogBesselI0e, kappa);
                let c = self.real((2.0 * PI).ln());
                let t = self.add(t, li);
                let t = self.add(t, c);
                self.unary(UnaryOp::Neg, t)
            }
            D::ExGaussian => {
                // log λ + λ(μ - y) + (λσ)²/2 + log Φ((y - μ)/σ - λσ)
                let (mu, sigma, lambda) = (a[0], a[1], a[2]);
                let ll = self.unary(UnaryOp::Log, lambda);
                let d = self.sub(mu, yr);
                let t1 = self.mul(lambda, d);
                let ls = self.mul(lambda, sigma);
                let ls2 = self.mul(ls, ls);
                let half = self.real(0.5);
                let t2 = self.mul(half, ls2);
                let z = self.standardized(yr, mu, sigma);
                let u = self.sub(z, ls);
                let lphi = self.unary(UnaryOp::LogPhi, u);
                let t = self.add(ll, t1);
                let t = self.add(t, t2);
                self.add(t, lphi)
            }
            D::Wald => {
                // ½(log λ - log 2π - 3 log y) - λ (y - μ)² / (2 μ² y)
                let (mu, lambda) = (a[0], a[1]);
                let ll = self.unary(UnaryOp::Log, lambda);
                let ly = self.unary(UnaryOp::Log, yr);
                let three = self.real(3.0);
                let ly3 = self.mul(three, ly);
                let c = self.real((2.0 * PI).ln());
                let t = self.sub(ll, c);
                let t = self.sub(t, ly3);
                let half = self.real(0.5);
                let t = self.mul(half, t);
                // λ(y - μ)²/(2μ²y) as ½λ · (y - μ)/μ · (1/μ - 1/y): neither μ²
                // nor (y - μ)² is formed, so μ = 1e160 or y = 1e308 do not overflow.
                let d = self.sub(yr, mu);
                let r = self.div(d, mu);
                let one = self.real(1.0);
                let im = self.div(one, mu);
                let iy = self.div(one, yr);
                let s = self.sub(im, iy);
                let q = self.mul(r, s);
                let q = self.mul(lambda, q);
                let q = self.mul(half, q);
                self.sub(t, q)
            }
            D::Logistic => {
                // -z - log s - 2 log(1 + e^-z), z = (y - μ)/s
                let (mu, s) = (a[0], a[1]);
                let z = self.standardized(yr, mu, s);
                let nz = self.unary(UnaryOp::Neg, z);
                let sp = self.unary(UnaryOp::Log1pExp, nz);
                let two = self.real(2.0);
                let sp2 = self.mul(two, sp);
                let ls = self.unary(UnaryOp::Log, s);
                let t = self.sub(nz, ls);
                self.sub(t, sp2)
            }
            D::Laplace => {
                // -log 2b - |y - μ| / b, with |d| as d, -d or 0 by its sign, so
                // that its slope at y = μ is 0, as Stan's `double_exponential`
                // (`abs` has the slope 1 there, as Stan's `abs`).
                let (mu, b) = (a[0], a[1]);
                let d = self.sub(yr, mu);
                let zero = constant(self, 0.0);
                let pos = self.binary(BinaryOp::Gt, d, zero);
                let neg = self.binary(BinaryOp::Lt, d, zero);
                let nd = self.unary(UnaryOp::Neg, d);
                let ad = self.select(neg, nd, zero, TensorType::real(shape.clone()));
                let ad = self.select(pos, d, ad, TensorType::real(shape.clone()));
                let q = self.div(ad, b);
                let lb = self.unary(UnaryOp::Log, b);
                let ln2 = self.real(std::f64::consts::LN_2);
                let t = self.add(lb, ln2);
                let t = self.add(t, q);
                self.unary(UnaryOp::Neg, t)
            }
            // Written by hand from the observed value: the value itself.
            D::LogDensity => a[0],
            D::Gumbel => {
                // -log β - z - e^-z, z = (y - μ)/β
                let (mu, beta) = (a[0], a[1]);
                let z = self.standardized(yr, mu, beta);
                let nz = self.unary(UnaryOp::Neg, z);
                let e = self.unary(UnaryOp::Exp, nz);
                let lb = self.unary(UnaryOp::Log, beta);
                let t = self.sub(nz, lb);
                self.sub(t, e)
            }
            D::SkewNormal => {
                // log 2 + Normal(y | ξ, ω) + log Φ(α (y - ξ)/ω)
                let (xi, omega, alpha) = (a[0], a[1], a[2]);
                let n = self.normal(yr, xi, omega, half_log_2pi, &shape);
                let z = self.standardized(yr, xi, omega);
                let az = self.mul(alpha, z);
                let lphi = self.unary(UnaryOp::LogPhi, az);
                let ln2 = self.real(std::f64::consts::LN_2);
                let t = self.add(n, lphi);
                self.add(t, ln2)
            }
            D::HalfCauchy => {
                let zero = self.real(0.0);
                let zero = self.broadcast_to(zero, &shape);
                let c = self.cauchy(yr, zero, a[0]);
                let ln2 = self.real(std::f64::consts::LN_2);
                self.add(c, ln2)
            }
            D::LogNormal => {
                let ly = self.unary(UnaryOp::Log, yr);
                let n = self.normal(ly, a[0], a[1], half_log_2pi, &shape);
                self.sub(n, ly)
            }
            D::Exponential => {
                let lr = self.unary(UnaryOp::Log, a[0]);
                let ry = self.mul(a[0], yr);
                self.sub(lr, ry)
            }
            D::Gamma => {
                // α log β - lgamma(α) + (α-1) log y - β y
                let (al, be) = (a[0], a[1]);
                let lb = self.unary(UnaryOp::Log, be);
                let t1 = self.mul(al, lb);
                let g = self.unary(UnaryOp::Lgamma, al);
                let one = self.real(1.0);
                let am1 = self.sub(al, one);
                let ly = self.unary(UnaryOp::Log, yr);
                let t3 = self.mul(am1, ly);
                let t4 = self.mul(be, yr);
                let t = self.sub(t1, g);
                let t = self.add(t, t3);
                self.sub(t, t4)
            }
            D::Weibull => {
                // log α - log σ + (α-1)(log y - log σ) - (y/σ)^α
                let (al, si) = (a[0], a[1]);
                let la = self.unary(UnaryOp::Log, al);
                let ls = self.unary(UnaryOp::Log, si);
                let ly = self.unary(UnaryOp::Log, yr);
                let one = self.real(1.0);
                let am1 = self.sub(al, one);
                let lz = self.sub(ly, ls);
                let t3 = self.mul(am1, lz);
                let z = self.binary(BinaryOp::Div, yr, si);
                let t4 = self.binary(BinaryOp::Pow, z, al);
                let t = self.sub(la, ls);
                let t = self.add(t, t3);
                self.sub(t, t4)
            }
            D::InverseGamma => {
                // α log β - lgamma(α) - (α+1) log y - β / y
                let (al, be) = (a[0], a[1]);
                let lb = self.unary(UnaryOp::Log, be);
                let t1 = self.mul(al, lb);
                let g = self.unary(UnaryOp::Lgamma, al);
                let one = self.real(1.0);
                let ap1 = self.add(al, one);
                let ly = self.unary(UnaryOp::Log, yr);
                let t3 = self.mul(ap1, ly);
                let t4 = self.div(be, yr);
                let t = self.sub(t1, g);
                let t = self.sub(t, t3);
                self.sub(t, t4)
            }
            D::Beta => {
                // lgamma(α+β) - lgamma(α) - lgamma(β) + (α-1) log y + (β-1) log1p(-y)
                let (al, be) = (a[0], a[1]);
                let s = self.add(al, be);
                let gs = self.unary(UnaryOp::Lgamma, s);
                let ga = self.unary(UnaryOp::Lgamma, al);
                let gb = self.unary(UnaryOp::Lgamma, be);
                let one = self.real(1.0);
                let am1 = self.sub(al, one);
                let bm1 = self.sub(be, one);
                // 0 · log 0 = 0: Beta(1, 1) at a value that rounds to 0 or 1.
                let zero = self.real(0.0);
                let zero = self.broadcast_to(zero, &shape);
                let t1 = self.times_log(am1, yr, false, zero);
                let t2 = self.times_log(bm1, yr, true, zero);
                let t = self.sub(gs, ga);
                let t = self.sub(t, gb);
                let t = self.add(t, t1);
                self.add(t, t2)
            }
            D::Uniform => {
                let w = self.sub(a[1], a[0]);
                let lw = self.unary(UnaryOp::Log, w);
                let zero = self.real(0.0);
                let zero = self.broadcast_to(zero, &shape);
                self.sub(zero, lw)
            }
            D::Bernoulli => {
                let one = self.real(1.0);
                if logits {
                    // y·l - log(1 + e^l) = -log(1 + e^{(1-2y)·l}) for y in {0, 1}: the
                    // log of σ(l) or 1 - σ(l) without the cancellation of
                    // l - log(1 + e^l) (which rounds -4e-18 at l = 40 to 0) and with
                    // the limits 0 and -inf at l = ±inf.
                    let two = self.real(2.0);
                    let two_y = self.mul(two, yr);
                    let sign = self.sub(one, two_y);
                    let sl = self.mul(sign, a[0]);
                    let sp = self.unary(UnaryOp::Log1pExp, sl);
                    self.unary(UnaryOp::Neg, sp)
                } else {
                    // y log p + (1 - y) log1p(-p), with 0 · log 0 = 0: a certain
                    // outcome (p of exactly 0 or 1) scores 0, as in Stan.
                    let zero = self.real(0.0);
                    let zero = self.broadcast_to(zero, &shape);
                    let t1 = self.times_log(yr, a[0], false, zero);
                    let omy = self.sub(one, yr);
                    let t2 = self.times_log(omy, a[0], true, zero);
                    self.add(t1, t2)
                }
            }
            D::Binomial => {
                let n = self.cast(a[0], Elem::Real);
                let (choose, nmy) = self.log_choose(n, yr);
                let body = if logits {
                    // y·l - n log(1 + e^l) = -y log(1 + e^-l) - (n-y) log(1 + e^l):
                    // no cancellation at large |l| (as Bernoulli's), and a count of
                    // 0 contributes 0 whatever l (the limits at l = ±inf).
                    let zero = self.real(0.0);
                    let zero = self.broadcast_to(zero, &shape);
                    let neg_l = self.unary(UnaryOp::Neg, a[1]);
                    let successes = self.times_softplus(yr, neg_l, zero);
                    let failures = self.times_softplus(nmy, a[1], zero);
                    let t = self.add(successes, failures);
                    self.unary(UnaryOp::Neg, t)
                } else {
                    let zero = self.real(0.0);
                    let zero = self.broadcast_to(zero, &shape);
                    let t1 = self.times_log(yr, a[1], false, zero);
                    let t2 = self.times_log(nmy, a[1], true, zero);
                    self.add(t1, t2)
                };
                self.add(choose, body)
            }
            D::Poisson => {
                let one = self.real(1.0);
                let y1 = self.add(yr, one);
                let g = self.unary(UnaryOp::Lgamma, y1);
                let body = if logits {
                    // y·a - e^a
                    let ya = self.mul(yr, a[0]);
                    let ea = self.unary(UnaryOp::Exp, a[0]);
                    self.sub(ya, ea)
                } else {
                    // y log λ with 0 · log 0 = 0: no events at rate 0 are certain.
                    let zero = self.real(0.0);
                    let zero = self.broadcast_to(zero, &shape);
                    let ylr = self.times_log(yr, a[0], false, zero);
                    self.sub(ylr, a[0])
                };
                self.sub(body, g)
            }
            D::BetaBinomial => {
                // log C(n, y) + lbeta(y + α, n - y + β) - lbeta(α, β), as
                // lgamma growths (`lgamma_growth`): [lgamma(y + α) - lgamma(α)]
                // + [lgamma(n - y + β) - lgamma(β)] - [lgamma(n + α + β) - lgamma(α + β)],
                // which keep their digits for large α or β.
                let (n, al, be) = (self.cast(a[0], Elem::Real), a[1], a[2]);
                let (choose, nmy) = self.log_choose(n, yr);
                let successes = self.lgamma_growth(yr, al, &shape);
                let failures = self.lgamma_growth(nmy, be, &shape);
                let ab = self.add(al, be);
                let trials = self.lgamma_growth(n, ab, &shape);
                let t = self.add(choose, successes);
                let t = self.add(t, failures);
                self.sub(t, trials)
            }
            D::NegativeBinomial => {
                // lgamma(y + φ) - lgamma(φ) - lgamma(y + 1)
                //   + y (log μ - log(μ + φ)) - φ log1p(μ / φ)
                let (raw_mu, phi) = (a[0], a[1]);
                // A mean of 0 (a rate times an exposure of 0) is the point mass at 0,
                // as Poisson's: y = 0 scores -μ there (φ log1p(μ/φ) to first order,
                // with its slope -1 in μ and 0 in φ), any other count -inf. The
                // formula reads μ = 1 there, so that its logs stay finite.
                let real = TensorType::real(shape.clone());
                let zero = self.real(0.0);
                let zero = self.broadcast_to(zero, &shape);
                let zero_mean = self.binary(BinaryOp::Eq, raw_mu, zero);
                let one = self.broadcast_one(zero);
                let mu = self.select(zero_mean, one, raw_mu, real.clone());
                // Beyond φ = 1e50 the distribution is the Poisson to 50 digits: φ
                // is held there, so that the slopes' products (μ/φ², which
                // underflow) keep their digits.
                let cap = self.real(1e50);
                let cap = self.broadcast_to(cap, &shape);
                let beyond = self.binary(BinaryOp::Gt, phi, cap);
                let phi = self.select(beyond, cap, phi, real.clone());
                let y1 = self.add(yr, one);
                let growth = self.lgamma_growth(yr, phi, &shape);
                let g = self.unary(UnaryOp::Lgamma, y1);
                let c = self.sub(growth, g);
                let total = self.add(mu, phi);
                let lt = self.unary(UnaryOp::Log, total);
                let lmu = self.unary(UnaryOp::Log, mu);
                let mean_part = self.sub(lmu, lt);
                let t1 = self.mul(yr, mean_part);
                // φ log(1 + μ/φ) as log1p(μ/φ) where φ >= μ, and as
                // log1p(φ/μ) + log μ - log φ where φ < μ: the slope of μ/φ,
                // -μ/φ², overflows at a tiny φ (a NaN gradient at φ = 1e-300).
                // Each branch reads the other's argument where it is not
                // chosen, so that both stay finite.
                let wide = self.binary(BinaryOp::Ge, phi, mu);
                let hi = self.select(wide, phi, mu, real.clone());
                let lo = self.select(wide, mu, phi, real.clone());
                let ratio = self.binary(BinaryOp::Div, mu, hi);
                let near = self.unary(UnaryOp::Log1p, ratio);
                let inverse = self.binary(BinaryOp::Div, lo, mu);
                let far = self.unary(UnaryOp::Log1p, inverse);
                let llo = self.unary(UnaryOp::Log, lo);
                let far = self.add(far, lmu);
                let far = self.sub(far, llo);
                let l = self.select(wide, near, far, real.clone());
                let t2 = self.mul(phi, l);
                let t = self.add(c, t1);
                let lp = self.sub(t, t2);
                let no_events = self.binary(BinaryOp::Eq, yr, zero);
                let minus_mu = self.unary(UnaryOp::Neg, raw_mu);
                let impossible = self.real(f64::NEG_INFINITY);
                let impossible = self.broadcast_to(impossible, &shape);
                let point_mass = self.select(no_events, minus_mu, impossible, real.clone());
                self.select(zero_mean, point_mass, lp, real)
            }
            D::Wiener => {
                // With `upper`, the density of the (boundary, time) pair: at the
                // lower boundary, the upper one's with the bias and drift mirrored.
                let (beta, delta) = match generative::response_of(dist) {
                    Some(upper) => {
                        let upper = self.expr(upper)?;
                        let upper = self.cast(upper, Elem::Real);
                        let upper = self.broadcast_to(upper, &shape);
                        self.wiener_at_boundary(upper, a[2], a[3])
                    }
                    None => (a[2], a[3]),
                };
                let args = [yr, a[0], a[1], beta, delta];
                self.emit1(
                    OpKind::Special(SpecialFn::WienerLpdf),
                    &args,
                    TensorType::real(shape.clone()),
                )
            }
            D::Categorical | D::OrderedLogistic | D::Lba => {
                return Err(unsupported(dist.span, "categorical and LBA handled above"))
            }
        };
        // An argument outside the distribution's domain (a scale <= 0, a
        // probability above 1, Wiener's tau < 0) makes the formulas NaN (log of a
        // negative number); the density there is -inf, as Stan's error is a
        // rejection: a NaN never reaches the target. (The first non-finite value,
        // which the explainer names, is still the formula's NaN.) The formulas
        // with logits are NaN only for a NaN argument, and are left as they are
        // (they are the per-trial terms of most learning models). Nor are those of
        // an observed Bernoulli or Binomial with its `p` checked: at a `p` in [0, 1]
        // and an outcome in the support they are never NaN, and elsewhere the two
        // rejections below give -inf.
        let lp = match domain_valid {
            Some(valid) => self.reject_unless(valid, lp, Rejection::ArgumentOutsideDomain),
            None => lp,
        };
        let checked = probability_valid.is_some() && inside.is_some();
        let lp = if logits || checked {
            lp
        } else {
            self.nan_to_minus_inf(lp, &shape)
        };
        let lp = match probability_valid {
            Some(valid) => self.reject_unless(valid, lp, Rejection::ProbabilityOutsideUnit),
            None => lp,
        };
        Ok(match inside {
            None => lp,
            Some(inside) => self.reject_unless(
                inside,
                lp,
                outside_support.unwrap_or(Rejection::OutsideSupport),
            ),
        })
    }

    /// `lgamma((ν+1)/2) - lgamma(ν/2) - ½ log ν`, StudentT's normalization. The
    /// difference cancels as ν grows (to an error of 18 at ν = 1e16, where the value is
    /// -½ log 2 - 1/(4ν)), so above ν = 50 it is the asymptotic series of the log-gamma
    /// ratio, `-½ log 2 - 1/(4ν) + 1/(24ν³) - 1/(20ν⁵) + 17/(112ν⁷)`, within 5e-16
    /// there. Each form reads a ν inside its own range, so that the one not chosen
    /// stays finite (and so does its adjoint).
    fn student_t_norm(&mut self, nu: ValueId) -> ValueId {
        let ty = TensorType::real(self.ty(nu).shape);
        let constant = |me: &mut Self, c: f64| {
            let v = me.real(c);
            me.broadcast_to(v, &ty.shape)
        };
        let fifty = constant(self, 50.0);
        let large = self.binary(BinaryOp::Gt, nu, fifty);
        let nu_small = self.select(large, fifty, nu, ty.clone());
        let nu_large = self.select(large, nu, fifty, ty.clone());

        let one = constant(self, 1.0);
        let half = constant(self, 0.5);
        let nu1 = self.add(nu_small, one);
        let h1 = self.mul(nu1, half);
        let h0 = self.mul(nu_small, half);
        let g1 = self.unary(UnaryOp::Lgamma, h1);
        let g0 = self.unary(UnaryOp::Lgamma, h0);
        let log_nu = self.unary(UnaryOp::Log, nu_small);
        let half_log_nu = self.mul(half, log_nu);
        let exact = self.sub(g1, g0);
        let exact = self.sub(exact, half_log_nu);

        let r = self.div(one, nu_large);
        let r2 = self.mul(r, r);
        let mut poly = constant(self, 17.0 / 112.0);
        for c in [-1.0 / 20.0, 1.0 / 24.0, -0.25] {
            let p = self.mul(r2, poly);
            let c = constant(self, c);
            poly = self.add(p, c);
        }
        let series = self.mul(r, poly);
        let half_log_2 = constant(self, 0.5 * std::f64::consts::LN_2);
        let series = self.sub(series, half_log_2);
        self.select(large, series, exact, ty)
    }

    /// `lp` where `valid`, else -inf: a rejection the explainer names by `why`
    /// (`Function::rejections`).
    fn reject_unless(&mut self, valid: ValueId, lp: ValueId, why: Rejection) -> ValueId {
        let shape = self.ty(lp).shape;
        let rejected = self.real(f64::NEG_INFINITY);
        let rejected = self.broadcast_to(rejected, &shape);
        let lp = self.select(valid, lp, rejected, TensorType::real(shape));
        self.func.rejections.insert(lp, why);
        lp
    }

    /// `k · log p` (or `k · log1p(-p)` with `complement`), 0 where `k` is 0
    /// and the log is not finite (`0 · log 0 = 0`: a certain outcome, a Beta(1, β)
    /// at 0) — and with a gradient that is 0 there too: the log takes a safe
    /// argument in those cells, so that no `0 · inf` reaches the adjoint. Where
    /// `k` is 0 and the log finite, `k · log p` is computed, so that a `k` that
    /// depends on a parameter (Beta's `alpha - 1` at alpha = 1) keeps its
    /// derivative `log p`.
    fn times_log(&mut self, k: ValueId, p: ValueId, complement: bool, zero: ValueId) -> ValueId {
        let k_is_zero = self.binary(BinaryOp::Eq, k, zero);
        let one = self.broadcast_one(zero);
        // Where the log is finite: 0 < p < inf, or p < 1 for log1p(-p).
        let finite_log = if complement {
            self.binary(BinaryOp::Lt, p, one)
        } else {
            let inf = self.real(f64::INFINITY);
            let inf = self.broadcast_to(inf, &self.ty(p).shape);
            let positive = self.binary(BinaryOp::Gt, p, zero);
            let below_inf = self.binary(BinaryOp::Lt, p, inf);
            self.binary(BinaryOp::And, positive, below_inf)
        };
        let infinite_log = self.unary(UnaryOp::Not, finite_log);
        let k_is_zero = self.binary(BinaryOp::And, k_is_zero, infinite_log);
        let safe = if complement { zero } else { one };
        let p_safe = self.select(k_is_zero, safe, p, TensorType::real(self.ty(p).shape));
        let l = if complement {
            let np = self.unary(UnaryOp::Neg, p_safe);
            self.unary(UnaryOp::Log1p, np)
        } else {
            self.unary(UnaryOp::Log, p_safe)
        };
        let t = self.mul(k, l);
        self.select(k_is_zero, zero, t, TensorType::real(self.ty(t).shape))
    }

    /// `lp` with -inf where it is NaN.
    fn nan_to_minus_inf(&mut self, lp: ValueId, shape: &[Dim]) -> ValueId {
        let is_nan = self.binary(BinaryOp::Ne, lp, lp);
        let minus_inf = self.real(f64::NEG_INFINITY);
        let minus_inf = self.broadcast_to(minus_inf, shape);
        self.select(is_nan, minus_inf, lp, TensorType::real(shape.to_vec()))
    }

    /// `k · log(1 + e^x)`, 0 where `k` is 0 whatever `x` is (also `x = inf`),
    /// with no `0 · inf` in the adjoint.
    fn times_softplus(&mut self, k: ValueId, x: ValueId, zero: ValueId) -> ValueId {
        let k_is_zero = self.binary(BinaryOp::Eq, k, zero);
        let x_safe = self.select(k_is_zero, zero, x, TensorType::real(self.ty(x).shape));
        let sp = self.unary(UnaryOp::Log1pExp, x_safe);
        let t = self.mul(k, sp);
        self.select(k_is_zero, zero, t, TensorType::real(self.ty(t).shape))
    }

    /// Ones of the shape of `like`.
    fn broadcast_one(&mut self, like: ValueId) -> ValueId {
        let one = self.real(1.0);
        let shape = self.ty(like).shape;
        self.broadcast_to(one, &shape)
    }

    fn standardized(&mut self, y: ValueId, mu: ValueId, sigma: ValueId) -> ValueId {
        let d = self.sub(y, mu);
        self.div(d, sigma)
    }

    fn normal(
        &mut self,
        y: ValueId,
        mu: ValueId,
        sigma: ValueId,
        half_log_2pi: f64,
        shape: &[Dim],
    ) -> ValueId {
        // -½z² - log σ - ½log 2π
        let z = self.standardized(y, mu, sigma);
        let z2 = self.mul(z, z);
        let mhalf = self.real(-0.5);
        let t = self.mul(mhalf, z2);
        let ls = self.unary(UnaryOp::Log, sigma);
        let c = self.real(half_log_2pi);
        let c = self.broadcast_to(c, shape);
        let t = self.sub(t, ls);
        self.sub(t, c)
    }

    fn cauchy(&mut self, y: ValueId, mu: ValueId, sigma: ValueId) -> ValueId {
        // -log π - log σ - log1p(z²)
        let z = self.standardized(y, mu, sigma);
        let z2 = self.mul(z, z);
        let l = self.unary(UnaryOp::Log1p, z2);
        let ls = self.unary(UnaryOp::Log, sigma);
        let lpi = self.real(PI.ln());
        let t = self.add(ls, l);
        let t = self.add(t, lpi);
        self.unary(UnaryOp::Neg, t)
    }

    /// `y ~ Categorical(logits = L)`: `L[…, y] - logsumexp(L, axis=-1)`;
    /// with `p`, `log(p[…, y])`. An outcome the checker proved to lie among
    /// the categories (`range`: a choice declared `in 1..3`, less 1, against
    /// 2 categories) is taken without a bounds check.
    /// `values[..., index[...]]`: each batch cell's element at its own index along
    /// the last axis of `values` (shape `batch + [K]`; `index` of shape `batch`).
    fn take_along_last_axis(
        &mut self,
        values: ValueId,
        index: ValueId,
        batch: &[Dim],
        needs_bounds_check: bool,
    ) -> ValueId {
        if batch.is_empty() {
            return self.emit1(
                OpKind::Index {
                    plan: vec![AxisIndex::Scalar {
                        constant: None,
                        needs_bounds_check,
                    }],
                },
                &[values, index],
                TensorType::scalar(Elem::Real),
            );
        }
        // Take along the last axis: gather with an arange per batch axis.
        let mut index_args = Vec::new();
        for (axis, d) in batch.iter().enumerate() {
            let iota = self.emit1(
                OpKind::Iota,
                &[],
                TensorType::new(Elem::Int, vec![d.clone()]),
            );
            let mut shape = vec![Dim::constant(1); batch.len()];
            shape[axis] = d.clone();
            let iota = self.reshape(iota, shape);
            index_args.push(self.broadcast_to(iota, batch));
        }
        index_args.push(index);
        let mut args = vec![values];
        args.extend(index_args);
        // The arange per batch axis is in range by construction.
        let mut plan = vec![
            AxisIndex::Gather {
                needs_bounds_check: false
            };
            batch.len()
        ];
        plan.push(AxisIndex::Gather { needs_bounds_check });
        self.emit1(
            OpKind::Index { plan },
            &args,
            TensorType::real(batch.to_vec()),
        )
    }

    fn categorical(
        &mut self,
        y: ValueId,
        probs: ValueId,
        logits: bool,
        batch: &[Dim],
        range: Option<&IntRange>,
    ) -> Result<ValueId> {
        let probs = self.cast(probs, Elem::Real);
        let k =
            self.ty(probs).shape.last().cloned().ok_or_else(|| {
                unsupported(ast::Span::default(), "categorical without categories")
            })?;
        let needs_bounds_check = !range.is_some_and(|r| {
            r.lo.provably_nonnegative() && k.sub(&r.hi).is_some_and(|d| d.provably_nonnegative())
        });
        let mut full = batch.to_vec();
        full.push(k);
        // With `p`, each row must be a probability vector, as Stan requires and as a draw
        // from it does (non-negative, summing to 1 within `SIMPLEX_TOLERANCE`): a row that
        // is not makes the density -inf, which rejects the draw, rather than a log of an
        // unnormalized number. The check is on the rows as given, before they are
        // broadcast over the outcomes.
        let valid = (!logits).then(|| self.probability_rows(probs, batch));
        let probs = self.broadcast_to(probs, &full);
        let picked = self.take_along_last_axis(probs, y, batch, needs_bounds_check);
        match valid {
            None => {
                let lse = self.reduce(ReduceOp::LogSumExp, probs, Some(batch.len()));
                Ok(self.sub(picked, lse))
            }
            Some(valid) => {
                let lp = self.unary(UnaryOp::Log, picked);
                Ok(self.reject_unless(valid, lp, Rejection::NotProbabilityVector))
            }
        }
    }

    /// Whether each row (the last axis) of `probs` is a probability vector: no entry
    /// negative (or NaN), and a sum within `SIMPLEX_TOLERANCE` of 1; broadcast to `batch`.
    fn probability_rows(&mut self, probs: ValueId, batch: &[Dim]) -> ValueId {
        let axis = self.ty(probs).shape.len() - 1;
        let rows: Vec<Dim> = self.ty(probs).shape[..axis].to_vec();
        let total = self.reduce(ReduceOp::Sum, probs, Some(axis));
        let smallest = self.reduce(ReduceOp::Min, probs, Some(axis));
        let one = self.real(1.0);
        let one = self.broadcast_to(one, &rows);
        let excess = self.sub(total, one);
        let excess = self.unary(UnaryOp::Abs, excess);
        let tolerance = self.real(rlc_random::SIMPLEX_TOLERANCE);
        let tolerance = self.broadcast_to(tolerance, &rows);
        let sums_to_one = self.binary(BinaryOp::Le, excess, tolerance);
        let zero = self.real(0.0);
        let zero = self.broadcast_to(zero, &rows);
        let non_negative = self.binary(BinaryOp::Ge, smallest, zero);
        let valid = self.binary(BinaryOp::And, sums_to_one, non_negative);
        self.broadcast_to(valid, batch)
    }
}

/// Whether a block (or anything nested in it) adds to the log density.
/// The names of the outs written in loops (`out pe[n, t] = …`) anywhere in
/// `b`, as their spans.
fn loop_out_names(b: &Block, names: &mut Vec<ast::Span>) {
    for s in &b.stmts {
        match s {
            Stmt::Let { name, indices, .. } if !indices.is_empty() => names.push(name.span),
            Stmt::For { lo, hi, body, .. } => {
                loop_out_names_in_expr(lo, names);
                loop_out_names_in_expr(hi, names);
                loop_out_names(body, names);
            }
            Stmt::Let { value, .. } | Stmt::Expr(value) | Stmt::TargetAdd { value, .. } => {
                loop_out_names_in_expr(value, names)
            }
            Stmt::Tilde { lhs, dist, .. } => {
                loop_out_names_in_expr(lhs, names);
                loop_out_names_in_expr(dist, names);
            }
            Stmt::Error(_) => {}
        }
    }
    if let Some(v) = &b.value {
        loop_out_names_in_expr(v, names);
    }
}

/// As [`loop_out_names`], in the blocks of the scans and `if`s in `e`.
fn loop_out_names_in_expr(e: &Expr, names: &mut Vec<ast::Span>) {
    match &e.kind {
        ExprKind::Scan { init, body, .. } => {
            loop_out_names_in_expr(init, names);
            loop_out_names(body, names);
        }
        ExprKind::If {
            cond,
            then_block,
            else_block,
        } => {
            loop_out_names_in_expr(cond, names);
            loop_out_names(then_block, names);
            if let Some(b) = else_block {
                loop_out_names(b, names);
            }
        }
        _ => rlc_syntax::ast::for_each_child(e, &mut |c| loop_out_names_in_expr(c, names)),
    }
}

fn block_has_target(b: &Block) -> bool {
    b.stmts.iter().any(stmt_has_target) || b.value.as_ref().is_some_and(|v| expr_has_target(v))
}

fn stmt_has_target(s: &Stmt) -> bool {
    match s {
        Stmt::Tilde { .. } | Stmt::TargetAdd { .. } => true,
        Stmt::For { body, .. } => block_has_target(body),
        Stmt::Let { value, .. } | Stmt::Expr(value) => expr_has_target(value),
        Stmt::Error(_) => false,
    }
}

fn expr_has_target(e: &Expr) -> bool {
    let mut found = false;
    ast::visit_expr(e, &mut |x| match &x.kind {
        ExprKind::Scan { body, .. } => found |= body.stmts.iter().any(stmt_has_target),
        ExprKind::If {
            then_block,
            else_block,
            ..
        } => {
            found |= then_block.stmts.iter().any(stmt_has_target)
                || else_block
                    .as_ref()
                    .is_some_and(|b| b.stmts.iter().any(stmt_has_target));
        }
        _ => {}
    });
    found
}

/// The expression with id `id` among the parameters' bounds and priors
/// (the only places a constraint's expression can come from).
fn find_expr(program: &ast::Program, id: ast::ExprId) -> Option<&Expr> {
    find_in_items(&program.items, id)
}

fn find_in_items(items: &[Item], id: ast::ExprId) -> Option<&Expr> {
    for item in items {
        if let Item::Param(p) = item {
            if let Some(prior) = &p.prior {
                if let ExprKind::Call { args, .. } = &prior.kind {
                    for a in args {
                        if let Some(e) = find_in_expr(&a.value, id) {
                            return Some(e);
                        }
                    }
                }
            }
            if let Some(ast::Bounds::Interval { lo, hi, .. }) = &p.bounds {
                for e in [lo, hi] {
                    if let Some(found) = find_in_expr(e, id) {
                        return Some(found);
                    }
                }
            }
        }
    }
    None
}

fn find_in_expr(e: &Expr, id: ast::ExprId) -> Option<&Expr> {
    if e.id == id {
        return Some(e);
    }
    match &e.kind {
        ExprKind::Unary { operand, .. } => find_in_expr(operand, id),
        ExprKind::Binary { lhs, rhs, .. } => {
            find_in_expr(lhs, id).or_else(|| find_in_expr(rhs, id))
        }
        ExprKind::Call { args, .. } => args.iter().find_map(|a| find_in_expr(&a.value, id)),
        ExprKind::Array(items) => items.iter().find_map(|i| find_in_expr(i, id)),
        ExprKind::Index { base, .. } => find_in_expr(base, id),
        _ => None,
    }
}
