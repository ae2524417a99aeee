//! The model run forward: the lowering of its generative functions.
//!
//! Every data variable that is the left side of a `~` (directly, through an
//! element of a scan over it, through a `let` of it, or plus or minus a
//! constant) is *observed*. In a generative function each `~` on observed
//! data, in program order, may
//! * **draw** its left side (a `Random` op) and either write the draw back
//!   into the observed variable, so that later statements see it (the agent
//!   plays the task: simulation, whole-session predictive draws), or into a
//!   replica of it that nothing reads (one-step-ahead predictive draws, each
//!   trial given the observed history);
//! * **score** the observed value: its elementwise log density goes into a
//!   log-likelihood array of the observed variable's shape, beside a mask of
//!   the cells that were scored (the pointwise log-likelihood for LOO).
//!
//! A function that only scores also takes a left side computed from data (a
//! rank computed from a stake): its score goes to the data element it is
//! computed from, its *anchor*, which is then observed too.
//!
//! Those arrays ("channels") are state threaded through the program: a `for`
//! loop that observes becomes a scan carrying them, a scan carries the
//! outer ones and stacks the ones of its own elements (written back into
//! the scanned array after the loop), an `if` returns them from both
//! branches. When drawn values are written back, reading an observed value
//! before the `~` that draws it is an error, except inside `present(…)`
//! (whether a cell exists is known from the design) and as the array a scan
//! steps over when its body draws the element.

use super::{unsupported, Lowering, Result};
use crate::ir::*;
use rlc_check::builtins::Distribution as D;
use rlc_check::model::{Model, SymbolId, SymbolKind};
use rlc_syntax::ast::{self, Block, Expr, ExprKind, IndexItem, Item, SequenceSource, Stmt};
use std::collections::{HashMap, HashSet};

/// Where a generative function's parameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    /// From `theta` on the unconstrained scale, as in the log density.
    Theta,
    /// Drawn from their priors, in declaration order.
    Prior,
}

/// What a generative function does at each `~` on observed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerativeOptions {
    pub params: ParamSource,
    /// Draw the left side.
    pub draw: bool,
    /// Write draws back into the observed variables (later statements see
    /// them) rather than into replicas.
    pub write_back: bool,
    /// Score the observed values: pointwise log-likelihood and mask. With
    /// `draw` and `write_back`, score the drawn values instead, so that the
    /// mask marks the cells a simulation drew.
    pub log_lik: bool,
}

/// One array a generative function keeps per observed variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The variable itself, with draws written back.
    Value,
    /// A replica holding the draws (NaN where nothing was drawn).
    Replica,
    /// The log density of each scored cell (0 elsewhere).
    LogLik,
    /// How many `~` scored each cell: 1, 0 where none did (2 or more, a
    /// value observed twice, cannot be run forward).
    Mask,
}

impl GenerativeOptions {
    /// The channels each observed variable has, in output order.
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if self.draw {
            out.push(if self.write_back {
                Channel::Value
            } else {
                Channel::Replica
            });
        }
        if self.log_lik {
            out.push(Channel::LogLik);
            out.push(Channel::Mask);
        }
        out
    }
}

/// An observed data variable and the channels the function returns for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLayout {
    pub name: String,
    /// The declared type (the `Value` channel's); other channels are real.
    pub ty: TensorType,
    pub channels: Vec<Channel>,
    /// Whether a `~` scores it. A response's boundary given as a `Wiener`'s `upper`
    /// and observed nowhere else is drawn with the response time and scored in the
    /// time's log-likelihood (the density of the pair): its `Mask` marks the cells
    /// drawn, and no cell is scored.
    pub scored: bool,
}

/// A model's generative function: `theta, data… -> (params…, outs…, then
/// for each observed variable its channels)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerativeIr {
    pub function: Function,
    pub options: GenerativeOptions,
    /// The `out` values the function returns after the parameters (never the
    /// outs written in loops).
    pub outs: Vec<OutLayout>,
    pub observed: Vec<ObservedLayout>,
}

/// Where a `~`'s left side lives: an element of `base` (an observed data
/// variable or the element variable of a scan over one), optionally
/// indexed, plus a constant: `left side = base[indices] + offset`.
#[derive(Clone, Copy)]
pub(super) struct Place<'m> {
    pub base: SymbolId,
    pub index: Option<(&'m Expr, &'m [IndexItem])>,
    pub offset: f64,
}

/// The static facts the generative lowering needs about the program.
pub(super) struct Analysis<'m> {
    model: &'m Model,
    /// The value expression of each `let` / `out`.
    lets: HashMap<SymbolId, &'m Expr>,
    /// The array each scan element variable steps over.
    elements: HashMap<SymbolId, &'m Expr>,
    /// The observed data variables, in declaration order.
    pub observed: Vec<SymbolId>,
    /// Those observed only as a `Wiener`'s `upper` (see [`ObservedLayout::scored`]).
    pub boundaries_only: HashSet<SymbolId>,
    /// Every `~` statement's left side and distribution.
    tildes: Vec<(&'m Expr, &'m Expr)>,
    /// Whether a left side computed from data is scored at the data element
    /// it is computed from (see [`Analysis::anchor_of`]): when nothing is
    /// drawn, only scored.
    anchors: bool,
}

fn literal(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Int(v) => Some(*v as f64),
        ExprKind::Real(v) => Some(*v),
        ExprKind::Unary {
            op: ast::UnaryOp::Neg,
            operand,
        } => literal(operand).map(|v| -v),
        _ => None,
    }
}

impl<'m> Analysis<'m> {
    /// The analysis for a generative function that draws (`draw`: each
    /// left side of `~` on data must be a place a draw can be put back into)
    /// or only scores (a left side computed from data is scored at its anchor).
    pub fn new(model: &'m Model, draw: bool) -> Result<Analysis<'m>> {
        let mut a = Analysis {
            model,
            lets: HashMap::new(),
            elements: HashMap::new(),
            observed: Vec::new(),
            boundaries_only: HashSet::new(),
            tildes: Vec::new(),
            anchors: !draw,
        };
        for item in &model.program.items {
            if let Item::Stmt(s) = item {
                a.collect_stmt(s);
            }
        }
        let mut observed = HashSet::new();
        let mut scored = HashSet::new();
        for (lhs, dist) in a.tildes.clone() {
            match a.observed_place(lhs) {
                Some(p) => {
                    if let Some(root) = a.root(p.base) {
                        observed.insert(root);
                        scored.insert(root);
                    }
                }
                None if a.reads_data(lhs) => {
                    return Err(unsupported(
                        lhs.span,
                        if draw {
                            "this model cannot be run forward: the left side of this `~` is not a data variable, an element of one (indexed, or stepped over by a scan), or one plus or minus a constant, so a draw cannot be put back into the data"
                        } else {
                            "the left side of this `~` is computed from data, but from no single data element of its own shape to score it at (`sum(y) ~ …` scores all of `y` at once); observe the elements instead"
                        },
                    ))
                }
                None => {}
            }
            // A response (a boundary, an accumulator) is drawn into its place; scored,
            // it goes with the time.
            let Some(response) = response_of(dist) else {
                continue;
            };
            match a.place_of(response) {
                Some(p) => observed.extend(a.root(p.base)),
                None if draw && a.reads_data(response) => {
                    return Err(unsupported(
                        response.span,
                        if is_lba(dist) {
                            "this model cannot be run forward: this `response` of `LBA` is not a data variable, an element of one, or one plus or minus a constant, so a drawn response cannot be put back into the data (write `response = choice - 1` for choices coded 1, 2, …)"
                        } else {
                            "this model cannot be run forward: this `upper` of `Wiener` is not a data variable, an element of one, or one plus or minus a constant, so a drawn boundary cannot be put back into the data (write `upper = choice - 1` for choices coded 1 and 2)"
                        },
                    ))
                }
                None if draw && is_lba(dist) => {
                    return Err(unsupported(
                        response.span,
                        "this model cannot be run forward: an `LBA` draws its response with the time, and this `response` is a constant, not data to draw it into (write `response = choice - 1` with `choice` data)",
                    ))
                }
                None => {}
            }
        }
        a.observed = model
            .data
            .iter()
            .map(|d| d.symbol)
            .filter(|s| observed.contains(s))
            .collect();
        a.boundaries_only = observed.difference(&scored).copied().collect();
        Ok(a)
    }

    fn collect_block(&mut self, b: &'m Block) {
        for s in &b.stmts {
            self.collect_stmt(s);
        }
        if let Some(v) = &b.value {
            self.collect_expr(v);
        }
    }

    fn collect_stmt(&mut self, s: &'m Stmt) {
        match s {
            Stmt::Let { name, value, .. } => {
                if let Some(sym) = self.model.binding(name.span) {
                    self.lets.insert(sym, value);
                }
                self.collect_expr(value);
            }
            Stmt::Tilde { lhs, dist, .. } => {
                self.tildes.push((lhs, dist));
                self.collect_expr(lhs);
                self.collect_expr(dist);
            }
            Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => self.collect_expr(value),
            Stmt::For { lo, hi, body, .. } => {
                self.collect_expr(lo);
                self.collect_expr(hi);
                self.collect_block(body);
            }
            Stmt::Error(_) => {}
        }
    }

    fn collect_expr(&mut self, e: &'m Expr) {
        match &e.kind {
            ExprKind::Scan {
                init,
                sequences,
                body,
                ..
            } => {
                self.collect_expr(init);
                for s in sequences {
                    match &s.source {
                        SequenceSource::Array(xs) => {
                            if let Some(sym) = self.model.binding(s.var.span) {
                                self.elements.insert(sym, xs);
                            }
                            self.collect_expr(xs);
                        }
                        SequenceSource::Range { lo, hi } => {
                            self.collect_expr(lo);
                            self.collect_expr(hi);
                        }
                    }
                }
                self.collect_block(body);
            }
            ExprKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.collect_expr(cond);
                self.collect_block(then_block);
                if let Some(b) = else_block {
                    self.collect_block(b);
                }
            }
            _ => ast::for_each_child(e, &mut |c| self.collect_expr(c)),
        }
    }

    fn symbol_of(&self, e: &Expr) -> Option<SymbolId> {
        self.model.names.get(&e.id).copied()
    }

    /// Whether `e` reads any data variable.
    fn reads_data(&self, e: &Expr) -> bool {
        let mut found = false;
        ast::visit_expr(e, &mut |x| {
            if let Some(sym) = self.symbol_of(x) {
                let kind = &self.model.symbol(sym).kind;
                found |= matches!(kind, SymbolKind::Data | SymbolKind::ScanElement)
                    || (matches!(kind, SymbolKind::Let | SymbolKind::Out)
                        && self.lets.get(&sym).is_some_and(|v| self.reads_data(v)));
            }
        });
        found
    }

    /// Where the value of `e` lives, if it is a view of observable data.
    pub fn place_of(&self, e: &'m Expr) -> Option<Place<'m>> {
        match &e.kind {
            ExprKind::Name(_) => {
                let sym = self.symbol_of(e)?;
                match self.model.symbol(sym).kind {
                    SymbolKind::Data => Some(Place {
                        base: sym,
                        index: None,
                        offset: 0.0,
                    }),
                    SymbolKind::ScanElement if self.elements.contains_key(&sym) => Some(Place {
                        base: sym,
                        index: None,
                        offset: 0.0,
                    }),
                    SymbolKind::Let | SymbolKind::Out => self.place_of(self.lets.get(&sym)?),
                    _ => None,
                }
            }
            ExprKind::Index { base, indices } => {
                let p = self.place_of(base)?;
                (p.index.is_none() && p.offset == 0.0).then_some(Place {
                    base: p.base,
                    index: Some((e, indices.as_slice())),
                    offset: 0.0,
                })
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let sign = match op {
                    ast::BinaryOp::Add => 1.0,
                    ast::BinaryOp::Sub => -1.0,
                    _ => return None,
                };
                if let Some(c) = literal(rhs) {
                    let p = self.place_of(lhs)?;
                    return Some(Place {
                        offset: p.offset + sign * c,
                        ..p
                    });
                }
                if let (Some(c), ast::BinaryOp::Add) = (literal(lhs), op) {
                    let p = self.place_of(rhs)?;
                    return Some(Place {
                        offset: p.offset + c,
                        ..p
                    });
                }
                None
            }
            _ => None,
        }
    }

    /// Where the log density of `lhs ~ …` goes: the place of its left side,
    /// or, when only scoring, its anchor.
    pub fn observed_place(&self, lhs: &'m Expr) -> Option<Place<'m>> {
        self.place_of(lhs)
            .or_else(|| self.anchors.then(|| self.anchor_of(lhs)).flatten())
    }

    /// The data element a left side computed from data is scored at: the
    /// first view of data in it (through `let`s) with the left side's shape,
    /// looking at the values an `if` chooses between before its condition
    /// (`let k = if g == 1 { rank } else { 4 - rank }` is scored at the data
    /// `rank` is made of, not at `g`). A draw could not be put back there,
    /// but a score can: hBayesDM's bet ranks (`cgt_cm`) and its pumps, each
    /// a run of `~` on `l <= pumps` (`bart_*`), are scored per trial.
    fn anchor_of(&self, lhs: &'m Expr) -> Option<Place<'m>> {
        let shape = &self.model.info(lhs.id)?.ty.shape;
        let mut seen = HashSet::new();
        self.find_anchor(lhs, shape, &mut seen)
            .map(|p| Place { offset: 0.0, ..p })
    }

    fn find_anchor(
        &self,
        e: &'m Expr,
        shape: &[rlc_check::dim::Dim],
        seen: &mut HashSet<SymbolId>,
    ) -> Option<Place<'m>> {
        if let Some(p) = self.place_of(e) {
            if self.model.info(e.id).is_some_and(|i| i.ty.shape == shape) {
                return Some(p);
            }
        }
        match &e.kind {
            ExprKind::Name(_) => {
                let sym = self.symbol_of(e)?;
                if !seen.insert(sym) {
                    return None;
                }
                self.find_anchor(self.lets.get(&sym)?, shape, seen)
            }
            ExprKind::If {
                cond,
                then_block,
                else_block,
            } => {
                // A branch with statements may index with its own `let`s,
                // which the `~` cannot see: only bare values are looked into.
                let values = [Some(then_block), else_block.as_ref()];
                values
                    .into_iter()
                    .flatten()
                    .filter(|b| b.stmts.is_empty())
                    .filter_map(|b| b.value.as_ref())
                    .find_map(|v| self.find_anchor(v, shape, seen))
                    .or_else(|| self.find_anchor(cond, shape, seen))
            }
            // A scan's elements and carries are its own, out of the `~`'s sight.
            ExprKind::Scan { .. } => None,
            _ => {
                let mut found = None;
                ast::for_each_child(e, &mut |c| {
                    if found.is_none() {
                        found = self.find_anchor(c, shape, seen);
                    }
                });
                found
            }
        }
    }

    /// The analysis for [`index_sources`]: places only (a model whose `~`
    /// cannot be run forward still has places for its indices).
    fn new_for_places(model: &'m Model) -> Result<Analysis<'m>> {
        let mut a = Analysis {
            model,
            lets: HashMap::new(),
            elements: HashMap::new(),
            observed: Vec::new(),
            boundaries_only: HashSet::new(),
            tildes: Vec::new(),
            anchors: false,
        };
        for item in &model.program.items {
            if let Item::Stmt(s) = item {
                a.collect_stmt(s);
            }
        }
        Ok(a)
    }

    /// The place a scan element variable's array lives at.
    pub fn source_place(&self, element: SymbolId) -> Option<Place<'m>> {
        self.place_of(self.elements.get(&element)?)
    }

    /// The observed data variable a base ultimately belongs to.
    pub fn root(&self, base: SymbolId) -> Option<SymbolId> {
        let mut b = base;
        for _ in 0..64 {
            match self.model.symbol(b).kind {
                SymbolKind::Data => return Some(b),
                SymbolKind::ScanElement => b = self.source_place(b)?.base,
                _ => return None,
            }
        }
        None
    }

    /// The places the `~`s of `block` draw into, in it and in its `for` loops and
    /// `if`s (not in scans, whose elements are drawn another way).
    pub fn drawn_places(&self, block: &'m Block, out: &mut Vec<Place<'m>>) {
        for s in &block.stmts {
            match s {
                Stmt::Tilde { lhs, dist, .. } => {
                    out.extend(self.place_of(lhs));
                    out.extend(response_of(dist).and_then(|u| self.place_of(u)));
                }
                Stmt::For { body, .. } => self.drawn_places(body, out),
                Stmt::Let { value, .. } | Stmt::Expr(value) => self.drawn_places_in(value, out),
                Stmt::TargetAdd { .. } | Stmt::Error(_) => {}
            }
        }
        if let Some(v) = &block.value {
            self.drawn_places_in(v, out);
        }
    }

    fn drawn_places_in(&self, e: &'m Expr, out: &mut Vec<Place<'m>>) {
        if let ExprKind::If {
            then_block,
            else_block,
            ..
        } = &e.kind
        {
            self.drawn_places(then_block, out);
            if let Some(b) = else_block {
                self.drawn_places(b, out);
            }
        }
    }

    /// Whether the indices `read` are `drawn` with `var` lowered by a constant of at
    /// least 1 in one or more positions where `drawn` has `var`, and the same name or
    /// number everywhere else.
    pub fn earlier_index(&self, read: &[IndexItem], drawn: &[IndexItem], var: SymbolId) -> bool {
        if read.len() != drawn.len() {
            return false;
        }
        let mut shifted = false;
        for (r, d) in read.iter().zip(drawn) {
            let (IndexItem::Single(r), IndexItem::Single(d)) = (r, d) else {
                return false;
            };
            if let ExprKind::Binary {
                op: ast::BinaryOp::Sub,
                lhs,
                rhs,
                ..
            } = &r.kind
            {
                let steps_back = matches!(rhs.kind, ExprKind::Int(c) if c >= 1);
                if steps_back && self.symbol_of(lhs) == Some(var) && self.symbol_of(d) == Some(var)
                {
                    shifted = true;
                    continue;
                }
            }
            let same = match (&r.kind, &d.kind) {
                (ExprKind::Name(_), ExprKind::Name(_)) => {
                    self.symbol_of(r).is_some() && self.symbol_of(r) == self.symbol_of(d)
                }
                (ExprKind::Int(a), ExprKind::Int(b)) => a == b,
                _ => false,
            };
            if !same {
                return false;
            }
        }
        shifted
    }

    /// The bases a block draws into or scores (its `~` places and the
    /// arrays its scans write back), without the element variables of the
    /// scans inside it.
    pub fn modified_bases(&self, block: &'m Block) -> Vec<SymbolId> {
        let mut bases = Vec::new();
        let mut local = HashSet::new();
        self.walk_block(block, &mut bases, &mut local);
        let mut out: Vec<SymbolId> = Vec::new();
        for b in bases {
            // A base of a scan inside the block stands for the array it steps over.
            let mut b = b;
            while local.contains(&b) {
                match self.source_place(b) {
                    Some(p) => b = p.base,
                    None => break,
                }
            }
            if !local.contains(&b) && !out.contains(&b) {
                out.push(b);
            }
        }
        out
    }

    /// The element variables of a scan's own sequences that its body draws
    /// into or scores.
    pub fn drawn_elements(&self, sequences: &'m [ast::Sequence], body: &'m Block) -> Vec<SymbolId> {
        let bases = self.modified_bases(body);
        sequences
            .iter()
            .filter_map(|s| self.model.binding(s.var.span))
            .filter(|sym| bases.contains(sym))
            .collect()
    }

    fn walk_block(&self, b: &'m Block, bases: &mut Vec<SymbolId>, local: &mut HashSet<SymbolId>) {
        for s in &b.stmts {
            match s {
                Stmt::Tilde { lhs, dist, .. } => {
                    if let Some(p) = self.observed_place(lhs) {
                        bases.push(p.base);
                    }
                    self.walk_expr(lhs, bases, local);
                    if let Some(upper) = response_of(dist) {
                        bases.extend(self.place_of(upper).map(|p| p.base));
                        self.walk_expr(upper, bases, local);
                    }
                }
                Stmt::Let { value, .. } | Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => {
                    self.walk_expr(value, bases, local)
                }
                Stmt::For { body, .. } => self.walk_block(body, bases, local),
                Stmt::Error(_) => {}
            }
        }
        if let Some(v) = &b.value {
            self.walk_expr(v, bases, local);
        }
    }

    fn walk_expr(&self, e: &'m Expr, bases: &mut Vec<SymbolId>, local: &mut HashSet<SymbolId>) {
        match &e.kind {
            ExprKind::Scan {
                sequences, body, ..
            } => {
                for s in sequences {
                    if let Some(sym) = self.model.binding(s.var.span) {
                        local.insert(sym);
                    }
                }
                self.walk_block(body, bases, local);
            }
            ExprKind::If {
                then_block,
                else_block,
                ..
            } => {
                self.walk_block(then_block, bases, local);
                if let Some(b) = else_block {
                    self.walk_block(b, bases, local);
                }
            }
            _ => ast::for_each_child(e, &mut |c| self.walk_expr(c, bases, local)),
        }
    }
}

/// The data behind an index that went out of range: the index on `axis` of
/// the expression at a source span is `data[cell] + offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSource {
    pub axis: usize,
    /// The data variable.
    pub data: String,
    pub offset: f64,
}

/// Which data variables feed the indices of the expression at `span` (an
/// index `x[i, j]`, a `~ Categorical(…)` whose outcome indexes its
/// categories, an `LBA(…)` whose `response` indexes its accumulators), for
/// explaining an index out of range by the data's rows.
pub fn index_sources(model: &Model, span: (usize, usize)) -> Vec<IndexSource> {
    let Ok(analysis) = Analysis::new_for_places(model) else {
        return Vec::new();
    };
    let source = |axis: usize, e: &'_ Expr| -> Option<IndexSource> {
        let p = analysis.place_of(e)?;
        let root = analysis.root(p.base)?;
        Some(IndexSource {
            axis,
            data: model.symbol(root).name.clone(),
            offset: p.offset,
        })
    };
    let mut out = Vec::new();
    ast::visit_exprs(&model.program, &mut |e| {
        if (e.span.start, e.span.end) != span {
            return;
        }
        if let ExprKind::Index { indices, .. } = &e.kind {
            for (axis, item) in indices.iter().enumerate() {
                if let IndexItem::Single(ix) = item {
                    out.extend(source(axis, ix));
                }
            }
        }
    });
    for (lhs, dist) in &analysis.tildes {
        if (dist.span.start, dist.span.end) == span {
            // A Categorical's outcome indexes its categories; an LBA's `response`, its
            // accumulators.
            let index = if is_lba(dist) {
                response_of(dist)
            } else {
                Some(*lhs)
            };
            out.extend(index.and_then(|e| source(usize::MAX, e)));
        }
    }
    out
}

/// Calls `f` on every statement of the program, in blocks at any depth (`for`
/// bodies, `if` branches, `scan` bodies); a statement may be seen twice.
fn each_statement(model: &Model, f: &mut dyn FnMut(&Stmt)) {
    // A block's statements, and those of its `for` loops; the `if`s and `scan`s in
    // their expressions are found by `visit_expr`, which walks every nested block.
    fn statements(b: &Block, f: &mut dyn FnMut(&Stmt)) {
        for s in &b.stmts {
            f(s);
            if let Stmt::For { body, .. } = s {
                statements(body, f);
            }
        }
    }
    fn expressions(s: &Stmt, g: &mut dyn FnMut(&Expr)) {
        match s {
            Stmt::Let { value, .. } | Stmt::Expr(value) | Stmt::TargetAdd { value, .. } => {
                ast::visit_expr(value, g)
            }
            Stmt::Tilde { lhs, dist, .. } => {
                ast::visit_expr(lhs, g);
                ast::visit_expr(dist, g);
            }
            Stmt::For { lo, hi, body, .. } => {
                ast::visit_expr(lo, g);
                ast::visit_expr(hi, g);
                for s in &body.stmts {
                    expressions(s, g);
                }
                if let Some(v) = &body.value {
                    ast::visit_expr(v, g);
                }
            }
            Stmt::Error(_) => {}
        }
    }
    for item in &model.program.items {
        if let Item::Stmt(s) = item {
            f(s);
            if let Stmt::For { body, .. } = s {
                statements(body, f);
            }
            expressions(s, &mut |x| match &x.kind {
                ExprKind::Scan { body, .. } => statements(body, f),
                ExprKind::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    statements(then_block, f);
                    if let Some(b) = else_block {
                        statements(b, f);
                    }
                }
                _ => {}
            });
        }
    }
}

/// The `target +=` statements of a model: they add to the log density but
/// say nothing of how data arise, so running the model forward ignores them
/// (a prior written as `target +=` is not drawn from).
pub fn target_statements(model: &Model) -> Vec<ast::Span> {
    let mut out = Vec::new();
    each_statement(model, &mut |s| {
        if let Stmt::TargetAdd { span, .. } = s {
            out.push(*span);
        }
    });
    out.sort_by_key(|s| s.start);
    out.dedup();
    out
}

/// The argument of a (response, time) distribution that says which response an
/// observation is of (`Wiener`'s `upper`, `LBA`'s `response`:
/// `Distribution::response_argument`), when `dist` gives it, by name or in its place.
pub(super) fn response_of(dist: &Expr) -> Option<&Expr> {
    let ExprKind::Call { callee, args } = &dist.kind else {
        return None;
    };
    let sig = rlc_check::builtins::distribution(&callee.name)?;
    let name = sig.distribution.response_argument()?;
    if let Some(named) = args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.name == name))
    {
        return Some(&named.value);
    }
    let position = sig
        .parameterizations
        .iter()
        .find_map(|p| p.iter().position(|n| *n == name))?;
    args.iter()
        .filter(|a| a.name.is_none())
        .nth(position)
        .map(|a| &a.value)
}

fn is_lba(dist: &Expr) -> bool {
    matches!(&dist.kind, ExprKind::Call { callee, .. } if callee.name == "LBA")
}

/// The `~ Wiener(…)` statements of a model without `upper`. Run forward, each
/// draws a response time given the upper boundary, whichever boundary the
/// design's choice names: the choices are the design's, not drawn.
pub fn wiener_observations(model: &Model) -> Vec<ast::Span> {
    let mut out = Vec::new();
    each_statement(model, &mut |s| {
        if let Stmt::Tilde { dist, span, .. } = s {
            let wiener =
                matches!(&dist.kind, ExprKind::Call { callee, .. } if callee.name == "Wiener");
            if wiener && response_of(dist).is_none() {
                out.push(*span);
            }
        }
    });
    out.sort_by_key(|s| s.start);
    out.dedup();
    out
}

/// The generative lowering's state beside the ordinary environment.
pub(super) struct Gen<'m> {
    pub options: GenerativeOptions,
    pub analysis: Analysis<'m>,
    /// The current value of each non-`Value` channel of each base (the
    /// `Value` channel is the ordinary environment's binding).
    pub channels: HashMap<(SymbolId, Channel), ValueId>,
    /// Bases whose values are not drawn yet (write-back mode).
    pub undrawn: HashSet<SymbolId>,
    /// `let`s of undrawn values: evaluated only once drawn, or inside `present`.
    pub aliases: HashSet<SymbolId>,
    /// Inside `present(…)` or a scan's array: undrawn values may be read.
    pub exempt: usize,
    /// The `for` loops being lowered, outermost first: each one's variable and the
    /// places its body draws.
    pub loop_draws: Vec<(SymbolId, Vec<Place<'m>>)>,
    /// The parameter whose bounds are being lowered: they cannot read
    /// observed data, which is drawn after the parameters.
    pub bounding: Option<SymbolId>,
    /// The values that depend on a draw (over-approximated: every result of an
    /// op with regions once anything is drawn), so that a prior truncated by
    /// bounds, or with arguments, that depend on other parameters is drawn
    /// jointly (`OpKind::Random`'s `joint`).
    pub drawn_dependent: HashSet<ValueId>,
}

impl Gen<'_> {
    /// Notes whether the results of an op about to be emitted (`count` of them,
    /// numbered from `first`) depend on a draw.
    pub(super) fn note_dependence(
        &mut self,
        kind: &OpKind,
        args: &[ValueId],
        count: usize,
        first: usize,
    ) {
        let depends = matches!(kind, OpKind::Random { .. })
            || args.iter().any(|a| self.drawn_dependent.contains(a))
            || (kind.has_regions() && !self.drawn_dependent.is_empty());
        if depends {
            self.drawn_dependent
                .extend((first..first + count).map(|i| ValueId(i as u32)));
        }
    }
}

/// The family of a draw from distribution `d` (with `logits`/`log_rate` when
/// `logits`); an error at `span` for a density written by hand (`LogDensity`),
/// which has nothing to draw from.
fn random_dist(d: D, logits: bool, span: ast::Span) -> Result<RandomDist> {
    use rlc_random::Family as Fa;
    Ok(RandomDist::Scalar(match d {
        D::Normal => Fa::Normal,
        D::HalfNormal => Fa::HalfNormal,
        D::StudentT => Fa::StudentT,
        D::Cauchy => Fa::Cauchy,
        D::HalfCauchy => Fa::HalfCauchy,
        D::LogNormal => Fa::LogNormal,
        D::Exponential => Fa::Exponential,
        D::Gamma => Fa::Gamma,
        D::Weibull => Fa::Weibull,
        D::VonMises => Fa::VonMises,
        D::ExGaussian => Fa::ExGaussian,
        D::SkewNormal => Fa::SkewNormal,
        D::Wald => Fa::Wald,
        D::Logistic => Fa::Logistic,
        D::Laplace => Fa::Laplace,
        D::Gumbel => Fa::Gumbel,
        D::NegativeBinomial => Fa::NegativeBinomial,
        D::BetaBinomial => Fa::BetaBinomial,
        D::InverseGamma => Fa::InverseGamma,
        D::Beta => Fa::Beta,
        D::Uniform => Fa::Uniform,
        D::Bernoulli if logits => Fa::BernoulliLogits,
        D::Bernoulli => Fa::BernoulliP,
        D::Binomial if logits => Fa::BinomialLogits,
        D::Binomial => Fa::BinomialP,
        D::Poisson if logits => Fa::PoissonLogRate,
        D::Poisson => Fa::PoissonRate,
        // (`distribution_args` gives OrderedLogistic as a Categorical, with
        // its rows' validity as a second argument; the caller marks it `ordered`.)
        D::Categorical | D::OrderedLogistic => {
            return Ok(RandomDist::Categorical {
                logits,
                ordered: false,
            })
        }
        D::Wiener => Fa::Wiener,
        D::Lba => return Ok(RandomDist::LbaFinishTimes),
        D::LogDensity => return Err(no_draws_from_log_density(span)),
    }))
}

/// Why a `~ LogDensity(…)` at `span` cannot run forward.
fn no_draws_from_log_density(span: ast::Span) -> super::LowerError {
    unsupported(
        span,
        "this model cannot be run forward: `LogDensity` scores a value with a log density written by hand, which rlc cannot draw from (write the value's `~` with a built-in distribution to simulate it; its log-likelihood is still scored, for `--log-lik` and LOO)",
    )
}

impl<'m> Lowering<'m> {
    pub(super) fn gen(&self) -> Option<&Gen<'m>> {
        self.gen.as_ref()
    }

    fn gen_mut(&mut self) -> &mut Gen<'m> {
        self.gen.as_mut().expect("called in generative mode")
    }

    /// The channels of the current mode.
    pub(super) fn channel_list(&self) -> Vec<Channel> {
        self.gen().map_or_else(Vec::new, |g| g.options.channels())
    }

    /// The current value of `base`'s `channel`.
    pub(super) fn channel(
        &self,
        base: SymbolId,
        channel: Channel,
        span: ast::Span,
    ) -> Result<ValueId> {
        let v = match channel {
            Channel::Value => self.env.get(&base).copied(),
            _ => self
                .gen()
                .and_then(|g| g.channels.get(&(base, channel)).copied()),
        };
        v.ok_or_else(|| unsupported(span, "an observed value has no current state here"))
    }

    pub(super) fn set_channel(&mut self, base: SymbolId, channel: Channel, v: ValueId) {
        match channel {
            Channel::Value => {
                self.env.insert(base, v);
            }
            _ => {
                self.gen_mut().channels.insert((base, channel), v);
            }
        }
    }

    /// The starting value of a channel of an array of type `ty` whose values
    /// are `value`.
    pub(super) fn initial_channel(&mut self, channel: Channel, value: ValueId) -> ValueId {
        let shape = self.ty(value).shape;
        let fill = match channel {
            Channel::Value => return value,
            Channel::Replica => f64::NAN,
            Channel::LogLik | Channel::Mask => 0.0,
        };
        let c = self.real(fill);
        self.broadcast_to(c, &shape)
    }

    /// Every channel of every base in `bases`, with its current value.
    pub(super) fn slots(
        &self,
        bases: &[SymbolId],
        span: ast::Span,
    ) -> Result<Vec<((SymbolId, Channel), ValueId)>> {
        let mut out = Vec::new();
        for b in bases {
            // An out written in loops is one array, carried as it is.
            let channels = if self.model.symbol(*b).kind == SymbolKind::LoopOut {
                vec![Channel::Value]
            } else {
                self.channel_list()
            };
            for ch in channels {
                out.push(((*b, ch), self.channel(*b, ch, span)?));
            }
        }
        Ok(out)
    }

    /// A read of symbol `sym` at `e`: an error when it is not drawn yet.
    pub(super) fn check_drawn(&mut self, sym: SymbolId, e: &Expr) -> Result<Option<ValueId>> {
        let Some(g) = self.gen() else { return Ok(None) };
        if g.exempt > 0 {
            if g.aliases.contains(&sym) {
                // `present(k)` of an alias `let k = c - 1`: its placeholder value.
                let value = g.analysis.lets.get(&sym).copied();
                if let Some(value) = value {
                    return Ok(Some(self.expr(value)?));
                }
            }
            return Ok(None);
        }
        if !(g.undrawn.contains(&sym) || g.aliases.contains(&sym)) {
            return Ok(None);
        }
        let name = &self.model.symbol(sym).name;
        let why = match g.bounding {
            Some(param) => format!(
                "the bounds of parameter `{}` read `{name}`, which is drawn from the parameters; declare the bound as data given in the design (`data min_{name}: real`, as hBayesDM's `minRT`) or write it as a number",
                self.model.symbol(param).name
            ),
            None => format!(
                "`{name}` is used here before the `~` that draws it; rlc simulates the statements in order, so each observed value must be drawn (its `~`) before it is used (a vectorized model that scores every trial at once cannot be simulated: write the trials as a `scan` whose body draws each choice)"
            ),
        };
        Err(unsupported(
            e.span,
            format!("this model cannot be run forward: {why}"),
        ))
    }

    /// A `let` in write-back mode: a view of an undrawn value is not
    /// evaluated (`let k = c - 1` before `k ~ …`).
    pub(super) fn gen_alias(&mut self, sym: SymbolId, value: &'m Expr) -> bool {
        let Some(g) = self.gen() else { return false };
        if !g.options.write_back {
            return false;
        }
        let Some(place) = g.analysis.place_of(value) else {
            return false;
        };
        if g.undrawn.contains(&place.base) && !self.reads_an_earlier_draw(value) {
            self.gen_mut().aliases.insert(sym);
            return true;
        }
        false
    }

    /// Writes `v` at `place` of `base`'s `channel` (`inc`: adds instead).
    fn write_place(
        &mut self,
        place: &Place<'m>,
        channel: Channel,
        v: ValueId,
        inc: bool,
        span: ast::Span,
    ) -> Result<()> {
        let current = self.channel(place.base, channel, span)?;
        let ty = self.ty(current);
        let v = self.cast(v, ty.elem);
        let next = match place.index {
            None => {
                let v = self.broadcast_to(v, &ty.shape);
                if inc {
                    self.add(current, v)
                } else {
                    v
                }
            }
            Some((index_expr, indices)) => {
                let part = super::tensor_type(self.info(index_expr)?);
                let v = self.broadcast_to(v, &part.shape);
                let (plan, index_args) = self.index_plan(index_expr, indices)?;
                let mut args = vec![current, v];
                args.extend(index_args);
                let kind = if inc {
                    OpKind::IndexInc { plan }
                } else {
                    OpKind::IndexSet { plan }
                };
                self.emit1(kind, &args, ty)
            }
        };
        self.set_channel(place.base, channel, next);
        Ok(())
    }

    /// `lhs ~ dist` in a generative function.
    pub(super) fn gen_tilde(&mut self, lhs: &'m Expr, dist: &'m Expr) -> Result<()> {
        let g = self.gen().expect("generative mode");
        let options = g.options;
        let Some(place) = g.analysis.observed_place(lhs) else {
            // A `~` on a constant (a soft constraint) observes no data.
            return Ok(());
        };
        let lhs_ty = super::tensor_type(self.info(lhs)?);
        // A simulation that scores scores its own draws (the observed values
        // are not drawn yet), after drawing them.
        let score_draws = options.draw && options.write_back;
        if options.log_lik && !score_draws {
            let y = self.expr(lhs)?;
            self.score(&place, dist, y, lhs.span)?;
        }
        if options.draw {
            // A density written by hand reads the value it scores: say so before
            // its argument is found to read a value not drawn yet.
            if let Some(rlc_check::model::Callee::Distribution(D::LogDensity)) =
                self.model.calls.get(&dist.id).map(|c| c.callee)
            {
                return Err(no_draws_from_log_density(dist.span));
            }
            let (d, logits, args) = self.distribution_args(dist)?;
            let shape = lhs_ty.shape.clone();
            let drawn = if d == D::Lba {
                self.draw_lba(dist, &args, &shape)?
            } else {
                self.draw_one(dist, d, logits, args, &shape)?
            };
            self.func
                .spans
                .insert(drawn, (dist.span.start, dist.span.end));
            // The left side is `base + offset`: the base gets `draw - offset`.
            let stored = if place.offset != 0.0 {
                let off = self.real(place.offset);
                self.sub(drawn, off)
            } else {
                drawn
            };
            if options.write_back {
                self.write_place(&place, Channel::Value, stored, false, lhs.span)?;
                // The left side's own name (an alias such as `k`) now holds the draw.
                self.bind_drawn_name(lhs, place.base, |_| drawn)?;
                self.gen_mut().undrawn.remove(&place.base);
                if options.log_lik {
                    let y = self.cast(drawn, lhs_ty.elem);
                    self.score(&place, dist, y, lhs.span)?;
                }
            } else {
                let r = self.cast(stored, Elem::Real);
                self.write_place(&place, Channel::Replica, r, false, lhs.span)?;
            }
        }
        Ok(())
    }

    /// A draw of `lhs ~ dist` (with its arguments `args` lowered, of family `d`) of
    /// one value per cell: for `Wiener` with `upper`, the boundary first (into its
    /// place), then the time.
    fn draw_one(
        &mut self,
        dist: &'m Expr,
        d: D,
        logits: bool,
        args: Vec<ValueId>,
        shape: &[Dim],
    ) -> Result<ValueId> {
        let analysis = &self.gen().expect("generative mode").analysis;
        let boundary = response_of(dist).map(|upper| (upper, analysis.place_of(upper)));
        let family = match random_dist(d, logits, dist.span)? {
            RandomDist::Categorical { logits, .. } => RandomDist::Categorical {
                logits,
                ordered: args.len() > 1,
            },
            scalar => scalar,
        };
        let mut args: Vec<ValueId> = match family {
            RandomDist::Categorical { .. } => {
                let mut w = self.cast(args[0], Elem::Real);
                if let Some(&valid) = args.get(1) {
                    // OrderedLogistic's rows whose cutpoints do not increase
                    // cannot be drawn from: NaN there, which the draw refuses.
                    let shape = self.ty(w).shape;
                    let mut column = self.ty(valid).shape;
                    column.push(Dim::constant(1));
                    let valid = self.reshape(valid, column);
                    let valid = self.broadcast_to(valid, &shape);
                    let nan = self.real(f64::NAN);
                    let nan = self.broadcast_to(nan, &shape);
                    w = self.emit1(OpKind::Select, &[valid, w, nan], TensorType::real(shape));
                }
                let mut full = shape.to_vec();
                full.push(self.ty(w).shape.last().cloned().unwrap_or_default());
                vec![self.broadcast_to(w, &full)]
            }
            RandomDist::LbaFinishTimes => {
                return Err(unsupported(dist.span, "`LBA` is drawn by `draw_lba`"))
            }
            RandomDist::Scalar(_) => args
                .into_iter()
                .map(|a| {
                    let a = self.cast(a, Elem::Real);
                    self.broadcast_to(a, shape)
                })
                .collect(),
        };
        if let Some((upper, upper_place)) = boundary {
            let given = [args[0], args[2], args[3]];
            let mirrored = match upper_place {
                // The (boundary, time) pair: the boundary first, then the time given it.
                Some(place) => self.draw_boundary(upper, &place, given, dist.span)?,
                // A constant boundary (the analysis refuses data that is no place):
                // the time given it.
                None => {
                    let at = self.expr(upper)?;
                    let at = self.cast(at, Elem::Real);
                    let at = self.broadcast_to(at, shape);
                    let (beta, delta) = self.wiener_at_boundary(at, args[2], args[3]);
                    [beta, delta]
                }
            };
            args[2..].copy_from_slice(&mirrored);
        }
        let elem = if family.is_discrete() {
            Elem::Int
        } else {
            Elem::Real
        };
        let drawn = self.emit1(
            OpKind::Random {
                dist: family,
                truncated: false,
                joint: false,
            },
            &args,
            TensorType::new(elem, shape.to_vec()),
        );
        Ok(drawn)
    }

    /// Draws the boundary a diffusion of `Wiener(alpha, …, beta, delta)` ends at (1 the
    /// upper, 0 the lower) into `upper`'s place, and returns the bias and drift of the
    /// time's draw given it (mirrored at the lower boundary).
    fn draw_boundary(
        &mut self,
        upper: &'m Expr,
        place: &Place<'m>,
        [alpha, beta, delta]: [ValueId; 3],
        span: ast::Span,
    ) -> Result<[ValueId; 2]> {
        let shape = self.ty(alpha).shape;
        let drawn = self.emit1(
            OpKind::Random {
                dist: RandomDist::Scalar(rlc_random::Family::WienerBoundary),
                truncated: false,
                joint: false,
            },
            &[alpha, beta, delta],
            TensorType::new(Elem::Int, shape),
        );
        self.func.spans.insert(drawn, (span.start, span.end));
        let at = self.cast(drawn, Elem::Real);
        let (beta, delta) = self.wiener_at_boundary(at, beta, delta);
        self.store_drawn_response(upper, place, at)?;
        Ok([beta, delta])
    }

    /// Draws each response time of `LBA(d, A, v, s, tau, response = …)` (shape `batch`)
    /// with its response, which goes into the `response`'s place: every accumulator's
    /// finishing time at once, the first to finish the response.
    fn draw_lba(&mut self, dist: &'m Expr, args: &[ValueId], batch: &[Dim]) -> Result<ValueId> {
        let response = response_of(dist)
            .ok_or_else(|| unsupported(dist.span, "`LBA` without its `response`"))?;
        let analysis = &self.gen().expect("generative mode").analysis;
        let place = analysis.place_of(response).ok_or_else(|| {
            unsupported(
                response.span,
                "this model cannot be run forward: an `LBA` draws its response with the time, and this `response` is not data to draw it into (write `response = choice - 1` with `choice` data)",
            )
        })?;
        let (v, k) = self.lba_drifts(args[2], dist.span)?;
        let mut full = batch.to_vec();
        full.push(k.clone());
        let mut column = batch.to_vec();
        column.push(Dim::constant(1));
        let [d, a, s] = [args[0], args[1], args[3]].map(|x| {
            let x = self.cast(x, Elem::Real);
            let x = self.broadcast_to(x, batch);
            let x = self.reshape(x, column.clone());
            self.broadcast_to(x, &full)
        });
        let v = self.broadcast_to(v, &full);
        let times = self.emit1(
            OpKind::Random {
                dist: RandomDist::LbaFinishTimes,
                truncated: false,
                joint: false,
            },
            &[d, a, v, s],
            TensorType::real(full.clone()),
        );
        self.func
            .spans
            .insert(times, (dist.span.start, dist.span.end));
        let axis = Some(batch.len());
        let first = self.reduce(ReduceOp::Min, times, axis);
        // The response: the (first) accumulator whose time is the smallest.
        let index = self.emit1(
            OpKind::Iota,
            &[],
            TensorType::new(Elem::Int, vec![k.clone()]),
        );
        let index = self.cast(index, Elem::Real);
        let index = self.broadcast_to(index, &full);
        let first_column = self.reshape(first, column);
        let is_first = self.binary(BinaryOp::Eq, times, first_column);
        let past_the_end = self.size_of(&k);
        let past_the_end = self.cast(past_the_end, Elem::Real);
        let past_the_end = self.broadcast_to(past_the_end, &full);
        let candidates = self.emit1(
            OpKind::Select,
            &[is_first, index, past_the_end],
            TensorType::real(full),
        );
        let winner = self.reduce(ReduceOp::Min, candidates, axis);
        self.store_drawn_response(response, &place, winner)?;
        let tau = self.cast(args[4], Elem::Real);
        let tau = self.broadcast_to(tau, batch);
        Ok(self.add(tau, first))
    }

    /// Stores a drawn response `at` (real, the place's shape: a boundary, an
    /// accumulator) given by the distribution's argument `response` into its `place`.
    fn store_drawn_response(
        &mut self,
        upper: &'m Expr,
        place: &Place<'m>,
        at: ValueId,
    ) -> Result<()> {
        // The place is `base + offset`: the base gets `draw - offset`.
        let offset = self.real(place.offset);
        let stored = self.sub(at, offset);
        let options = self.gen().expect("generative mode").options;
        if !options.write_back {
            self.write_place(place, Channel::Replica, stored, false, upper.span)?;
            return Ok(());
        }
        self.write_place(place, Channel::Value, stored, false, upper.span)?;
        if options.log_lik {
            // Drawn here, scored with the time: the mask marks it drawn.
            let one = self.real(1.0);
            self.write_place(place, Channel::Mask, one, true, upper.span)?;
        }
        // A name in the argument (`c` in `upper = c - 1`, a `let` of the choice) now
        // holds its part of the draw.
        let mut inner = upper;
        while let ExprKind::Binary {
            op: ast::BinaryOp::Add | ast::BinaryOp::Sub,
            lhs,
            rhs,
            ..
        } = &inner.kind
        {
            inner = if literal(rhs).is_some() { lhs } else { rhs };
        }
        let g = self.gen().expect("generative mode");
        if let Some(inner_place) = g.analysis.place_of(inner) {
            self.bind_drawn_name(inner, place.base, |me| {
                let shift = me.real(inner_place.offset);
                me.add(stored, shift)
            })?;
        }
        self.gen_mut().undrawn.remove(&place.base);
        Ok(())
    }

    /// After a draw into `base`: when `name` is a name other than `base` (a `let` of
    /// the drawn element), it holds `value` (made only then), and is drawn.
    fn bind_drawn_name(
        &mut self,
        name: &'m Expr,
        base: SymbolId,
        value: impl FnOnce(&mut Self) -> ValueId,
    ) -> Result<()> {
        let ExprKind::Name(_) = &name.kind else {
            return Ok(());
        };
        let Some(sym) = self.model.names.get(&name.id).copied() else {
            return Ok(());
        };
        if sym != base {
            let value = value(self);
            let elem = super::tensor_type(self.info(name)?).elem;
            let value = self.cast(value, elem);
            self.env.insert(sym, value);
        }
        let g = self.gen_mut();
        g.aliases.remove(&sym);
        g.undrawn.remove(&sym);
        Ok(())
    }

    /// Adds the log density of `y` under `dist` to `place`'s log-likelihood
    /// and counts it scored (a count, so that a cell two `~` observe shows).
    fn score(
        &mut self,
        place: &Place<'m>,
        dist: &'m Expr,
        y: ValueId,
        span: ast::Span,
    ) -> Result<()> {
        let lp = self.observation(dist, y, None)?;
        self.write_place(place, Channel::LogLik, lp, true, span)?;
        let one = self.real(1.0);
        self.write_place(place, Channel::Mask, one, true, span)
    }

    /// After a scan: each drawn element's stacked channel goes back into the
    /// array the scan stepped over.
    pub(super) fn write_back_elements(
        &mut self,
        elements: &[SymbolId],
        stacked: &[(Channel, ValueId)],
        span: ast::Span,
    ) -> Result<()> {
        let per_element = self.channel_list().len();
        for (k, element) in elements.iter().enumerate() {
            let g = self.gen().expect("generative mode");
            let Some(place) = g.analysis.source_place(*element) else {
                return Err(unsupported(span, "a scan over an array that is not data"));
            };
            for (channel, value) in &stacked[k * per_element..(k + 1) * per_element] {
                let v = match channel {
                    Channel::Value | Channel::Replica if place.offset != 0.0 => {
                        let off = self.real(place.offset);
                        let v = self.cast(*value, Elem::Real);
                        self.sub(v, off)
                    }
                    _ => *value,
                };
                self.write_place(&place, *channel, v, false, span)?;
            }
            if self.gen().is_some_and(|g| g.options.write_back) {
                self.gen_mut().undrawn.remove(&place.base);
            }
        }
        Ok(())
    }

    /// A prior draw of a parameter of `shape`, inside `(lower, upper)`.
    pub(super) fn draw_prior(
        &mut self,
        p: &'m ast::ParamDecl,
        shape: &[Dim],
        lower: Option<ValueId>,
        upper: Option<ValueId>,
    ) -> Result<ValueId> {
        let Some(prior) = &p.prior else {
            return Err(unsupported(
                p.name.span,
                format!(
                    "parameter `{}` has no prior to draw from (a flat prior); give its value instead of drawing it from the prior",
                    p.name.name
                ),
            ));
        };
        let (d, logits, args) = self.distribution_args(prior)?;
        let family = random_dist(d, logits, prior.span)?;
        if matches!(family, RandomDist::Categorical { .. }) || family.is_discrete() {
            return Err(unsupported(
                prior.span,
                "a parameter's prior must be continuous",
            ));
        }
        let mut args: Vec<ValueId> = args
            .into_iter()
            .map(|a| {
                let a = self.cast(a, Elem::Real);
                self.broadcast_to(a, shape)
            })
            .collect();
        let truncated = lower.is_some() || upper.is_some();
        // The model's prior is its density: the product of the priors, each cut
        // to its bounds and not renormalized. Where the mass inside the bounds
        // depends on other parameters (bounds, or prior arguments, made of them)
        // that is not the product of truncated priors drawn one by one: the whole
        // prior is drawn again until every draw falls inside (exact rejection).
        let dependent = |v: &ValueId| self.gen().is_some_and(|g| g.drawn_dependent.contains(v));
        let joint = truncated
            && (args
                .iter()
                .chain(lower.iter())
                .chain(upper.iter())
                .any(dependent));
        if truncated {
            for (bound, default) in [(lower, f64::NEG_INFINITY), (upper, f64::INFINITY)] {
                let b = match bound {
                    Some(b) => b,
                    None => self.real(default),
                };
                args.push(self.broadcast_to(b, shape));
            }
        }
        let drawn = self.emit1(
            OpKind::Random {
                dist: family,
                truncated,
                joint,
            },
            &args,
            TensorType::real(shape.to_vec()),
        );
        self.func
            .spans
            .insert(drawn, (prior.span.start, prior.span.end));
        Ok(drawn)
    }

    /// Enters the body of `for var in …`, which draws the places `body` draws.
    pub(super) fn gen_enter_loop(&mut self, var: SymbolId, body: &'m Block) {
        if let Some(g) = self.gen.as_mut() {
            let mut places = Vec::new();
            g.analysis.drawn_places(body, &mut places);
            g.loop_draws.push((var, places));
        }
    }

    pub(super) fn gen_leave_loop(&mut self) {
        if let Some(g) = self.gen.as_mut() {
            g.loop_draws.pop();
        }
    }

    /// Whether `read` is an element some enclosing `for t` loop drew at an earlier
    /// iteration, when the loop draws `x[…, t, …]` and `read` is `x[…, t - c, …]` (a
    /// constant `c >= 1`, the other indices the same names or numbers): that element
    /// was drawn `c` iterations before, or lies before the loop's first iteration and
    /// keeps the value the design gives it (`choice[0]` in `for t in 1..T`), as the
    /// loop's first trial is conditioned on in the log density.
    pub(super) fn reads_an_earlier_draw(&self, read: &'m Expr) -> bool {
        let Some(g) = self.gen() else { return false };
        if !g.options.write_back || g.loop_draws.is_empty() {
            return false;
        }
        let Some(Place {
            base,
            index: Some((_, read_indices)),
            offset,
        }) = g.analysis.place_of(read)
        else {
            return false;
        };
        if offset != 0.0 || !g.undrawn.contains(&base) {
            return false;
        }
        g.loop_draws.iter().any(|(var, places)| {
            places.iter().any(|drawn| {
                let Some((_, drawn_indices)) = drawn.index else {
                    return false;
                };
                drawn.base == base
                    && drawn.offset == 0.0
                    && g.analysis.earlier_index(read_indices, drawn_indices, *var)
            })
        })
    }

    /// Enters (`1`) or leaves (`-1`) a place where undrawn values may be read.
    pub(super) fn gen_exempt(&mut self, delta: isize) {
        if let Some(g) = self.gen.as_mut() {
            g.exempt = g.exempt.saturating_add_signed(delta);
        }
    }

    /// Marks `sym` as not drawn yet.
    pub(super) fn gen_undrawn(&mut self, sym: SymbolId) {
        if let Some(g) = self.gen.as_mut() {
            g.undrawn.insert(sym);
        }
    }

    /// The undrawn and alias sets, to restore between an `if`'s branches.
    pub(super) fn gen_snapshot(&self) -> Option<(HashSet<SymbolId>, HashSet<SymbolId>)> {
        self.gen().map(|g| (g.undrawn.clone(), g.aliases.clone()))
    }

    /// Sets the undrawn and alias sets (after an `if`: what either branch left).
    pub(super) fn gen_restore(&mut self, state: Option<(HashSet<SymbolId>, HashSet<SymbolId>)>) {
        if let (Some(g), Some((undrawn, aliases))) = (self.gen.as_mut(), state) {
            g.undrawn = undrawn;
            g.aliases = aliases;
        }
    }
}
