//! The checker: one pass over the program in source order (declarations
//! must come before use), resolving names, inferring each expression's
//! [`ExprInfo`], and collecting every error instead of stopping at the first.
//! An expression whose check failed has no info (`None`), and nothing is
//! reported about its uses, so one mistake gives one error.

use crate::builtins::{
    self, ArgRange, Distribution, DistributionSig, FunctionSig, ShapeRule, Support,
};
use crate::constant::Constant;
use crate::dim::{broadcast, shape_to_string, Dim};
use crate::error::{CheckError, MissingValueFix, Operand};
use crate::model::*;
use crate::types::{ElemType, ExprInfo, IntRange, ShapeOrigin, Type};
use rlc_syntax::ast::*;
use std::collections::{BTreeSet, HashMap, HashSet};

pub(crate) struct Checker {
    infos: Vec<Option<ExprInfo>>,
    symbols: Vec<Symbol>,
    names: HashMap<ExprId, SymbolId>,
    bindings: HashMap<usize, SymbolId>,
    calls: HashMap<ExprId, CallInfo>,
    indexes: HashMap<ExprId, IndexInfo>,
    sizes: Vec<SymbolId>,
    /// The sizes written `= max(x)`, checked once every data declaration is known.
    sizes_from_data: Vec<(SymbolId, rlc_syntax::ast::LargestOf)>,
    data: Vec<DataInfo>,
    params: Vec<ParamInfo>,
    outs: Vec<SymbolId>,
    /// The outs written in loops (`out pe[n, t] = …`), in program order, each
    /// with the loop variables that index it.
    loop_outs: Vec<(SymbolId, Vec<SymbolId>)>,
    requirements: Vec<SizeRequirement>,
    observations: Vec<crate::model::Observation>,
    scopes: Vec<HashMap<String, SymbolId>>,
    /// What the conditions around here prove: one frame per branch or right side of
    /// `&&`/`||` (see [`Narrowing`]).
    narrowed: Vec<Narrowing>,
    /// Names whose definition failed to check: their uses report nothing more.
    poisoned: HashSet<SymbolId>,
    /// `let` names bound to values known when compiling.
    constants: HashMap<SymbolId, Constant>,
    /// The parameters that some term of the log density depends on (a `~`
    /// statement's sides, a `target +=`, another parameter's prior).
    density_params: BTreeSet<SymbolId>,
    /// The parameters of the enclosing `if` conditions: a term inside a
    /// branch depends on them too.
    conditions: Vec<BTreeSet<SymbolId>>,
    /// Where each name is first used.
    first_use: HashMap<SymbolId, Span>,
    /// The name whose elements a scan element or a `let` is (`c` in
    /// `c in choice`, `let c = choice[t]`), to trace an index's range back to
    /// a data declaration.
    element_of: HashMap<SymbolId, SymbolId>,
    /// Whether the parser left an error node: the program is incomplete.
    incomplete: bool,
    /// Name expressions written where a size is expected (a dimension, a
    /// range end, `zeros(…)`'s arguments): an unknown one is a missing `size`.
    size_positions: HashSet<ExprId>,
    /// Uses of names that are not declared, reported together at the end:
    /// one error per name, however often it is used.
    unknown_uses: Vec<UnknownUse>,
    /// Optional values used without `present`, reported together at the
    /// end: one error per variable and loop.
    optional_uses: Vec<OptionalUse>,
    /// The enclosing loops (`for` bodies and scan bodies), innermost last.
    loops: Vec<LoopContext>,
    /// How many loops have been entered, to give each its own id.
    loop_count: u32,
    /// What each scan's carry was widened to (a real element, parameters)
    /// when its body was last checked. A scan inside another scan's body is
    /// checked again when the outer one is; starting from what was learnt
    /// keeps that from doubling the work at every level of nesting.
    scan_widening: HashMap<ExprId, (bool, BTreeSet<SymbolId>)>,
    pub(crate) errors: Vec<CheckError>,
}

/// One use of a name that is not declared.
struct UnknownUse {
    name: String,
    span: Span,
    /// Written where a size is expected.
    as_size: bool,
    suggestion: Option<String>,
}

/// One use of a possibly-missing value where a present one is needed.
struct OptionalUse {
    span: Span,
    /// The name, when the value is one.
    name: Option<String>,
    /// The variable the value is, or is an element of (`choice[t]`).
    variable: Option<SymbolId>,
    found: Type,
    /// Where the variable is declared optional.
    declared: Option<Span>,
    /// The innermost enclosing loop (0 at the model level).
    loop_id: u32,
    /// The carry of the innermost enclosing loop, when it is a scan.
    carry: Option<String>,
    /// For an element of an optional array: its text (`choice[t]`) and a
    /// name to bind it to.
    element: Option<(String, String)>,
}

/// A `for` or scan body being checked.
#[derive(Clone)]
struct LoopContext {
    id: u32,
    /// The carry's name, for a scan.
    carry: Option<String>,
    /// The variables that count the loop's steps (a `for`'s, a scan's range
    /// sequences'), which index the outs written in it.
    counters: Vec<LoopCounter>,
}

/// A variable that counts a loop's steps: what an out written in the loop
/// may be indexed by.
#[derive(Clone)]
struct LoopCounter {
    symbol: SymbolId,
    /// Its smallest value, when a size expression bounds it.
    lowest: Option<Dim>,
    /// One past its largest value, when a size expression bounds it: the
    /// length of the out's axis it indexes.
    end: Option<Dim>,
}

/// How far checking had got, to undo a pass over a scan body that is
/// checked again (with a widened carry).
struct Mark {
    errors: usize,
    unknown_uses: usize,
    optional_uses: usize,
}

/// Result of binding call arguments to a signature's parameter names.
struct BoundArgs<'a> {
    /// In signature order; variadic extras appended.
    args: Vec<&'a Expr>,
    names: Vec<&'static str>,
    axis: Option<&'a Expr>,
    keepdims: Option<&'a Expr>,
}

fn join_elem(a: ElemType, b: ElemType) -> Option<ElemType> {
    match (a, b) {
        (ElemType::Int, ElemType::Int) => Some(ElemType::Int),
        (ElemType::Bool, ElemType::Bool) => Some(ElemType::Bool),
        (ElemType::Real, ElemType::Real | ElemType::Int) | (ElemType::Int, ElemType::Real) => {
            Some(ElemType::Real)
        }
        _ => None,
    }
}

/// The edit distance with adjacent transpositions counted as one edit
/// (`alpah` is one edit from `alpha`), for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    // Any one-letter name is one edit from any other: `T` (a size) and `q` (a
    // carry) are not typos of each other.
    if name.chars().count() < 2 {
        return None;
    }
    let limit = name.chars().count().div_ceil(3);
    candidates
        .filter(|c| *c != name)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                edit_distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

/// An integer literal, possibly negated: the form `axis=` takes.
fn int_literal(e: &Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Int(v) => Some(*v),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => int_literal(operand).map(|v| -v),
        _ => None,
    }
}

/// The `i`-th argument (in the signature's order) of the distribution call
/// `prior` as a parameter's bound: a constant when it is a literal.
fn bound_of(prior: &Expr, call: &CallInfo, i: usize) -> Option<Bound> {
    let ExprKind::Call { args, .. } = &prior.kind else {
        return None;
    };
    let id = call.args.get(i)?;
    let arg = args.iter().find(|a| a.value.id == *id)?;
    Some(match real_literal(&arg.value) {
        Some(c) => Bound::Const(c),
        None => Bound::Expr(*id, arg.value.span),
    })
}

/// Names a model's exported values cannot take: the results' own axes.
const RESERVED_NAMES: &[&str] = &["chain", "draw"];

/// A numeric literal (possibly negated, `inf` included): bounds take it.
fn real_literal(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Int(v) => Some(*v as f64),
        ExprKind::Real(v) => Some(*v),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => real_literal(operand).map(|v| -v),
        _ => None,
    }
}

fn normalize_axis(axis: i64, ndim: usize) -> Option<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    (0..n).contains(&a).then_some(a as usize)
}

impl Checker {
    pub(crate) fn new(expr_count: usize) -> Checker {
        Checker {
            infos: vec![None; expr_count],
            symbols: Vec::new(),
            names: HashMap::new(),
            bindings: HashMap::new(),
            calls: HashMap::new(),
            indexes: HashMap::new(),
            sizes: Vec::new(),
            sizes_from_data: Vec::new(),
            data: Vec::new(),
            params: Vec::new(),
            outs: Vec::new(),
            loop_outs: Vec::new(),
            requirements: Vec::new(),
            observations: Vec::new(),
            scopes: vec![HashMap::new()],
            narrowed: Vec::new(),
            poisoned: HashSet::new(),
            constants: HashMap::new(),
            density_params: BTreeSet::new(),
            conditions: Vec::new(),
            element_of: HashMap::new(),
            first_use: HashMap::new(),
            incomplete: false,
            size_positions: HashSet::new(),
            unknown_uses: Vec::new(),
            optional_uses: Vec::new(),
            loops: Vec::new(),
            loop_count: 0,
            scan_widening: HashMap::new(),
            errors: Vec::new(),
        }
    }

    pub(crate) fn finish(mut self, program: Program) -> (Model, Vec<CheckError>) {
        self.check_sizes_from_data();
        self.report_unknown_names();
        self.report_optional_uses();
        self.check_posterior_is_proper();
        self.report_unused_data();
        self.merge_repeated_index_errors();
        self.requirements
            .dedup_by(|a, b| a.nonnegative == b.nonnegative && a.span == b.span);
        let model = Model {
            program,
            exprs: self.infos,
            symbols: self.symbols,
            names: self.names,
            bindings: self.bindings,
            calls: self.calls,
            indexes: self.indexes,
            sizes: self.sizes,
            data: self.data,
            params: self.params,
            outs: self.outs,
            loop_outs: self.loop_outs,
            size_requirements: self.requirements,
            observations: self.observations,
        };
        (model, self.errors)
    }

    /// The data variable `e` is, or is an element or slice of.
    fn data_root(&self, e: &Expr) -> Option<SymbolId> {
        match &e.kind {
            ExprKind::Name(_) => self
                .names
                .get(&e.id)
                .copied()
                .filter(|id| self.symbols[id.0 as usize].kind == SymbolKind::Data),
            ExprKind::Index { base, .. } => self.data_root(base),
            _ => None,
        }
    }

    fn error(&mut self, e: CheckError) {
        self.errors.push(e);
    }

    /// W0103 for each data declaration no expression reads (a model cut short,
    /// an observation forgotten): its samples would ignore that column silently.
    fn report_unused_data(&mut self) {
        // (`compile` drops these where the model has errors.)
        if self.incomplete {
            return;
        }
        let unused: Vec<CheckError> = self
            .symbols
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                s.kind == SymbolKind::Data && !self.first_use.contains_key(&SymbolId(*i as u32))
            })
            .map(|(_, s)| CheckError::UnusedData {
                span: s.span,
                name: s.name.clone(),
            })
            .collect();
        self.errors.extend(unused);
    }

    fn mark(&self) -> Mark {
        Mark {
            errors: self.errors.len(),
            unknown_uses: self.unknown_uses.len(),
            optional_uses: self.optional_uses.len(),
        }
    }

    fn rollback(&mut self, mark: &Mark) {
        self.errors.truncate(mark.errors);
        self.unknown_uses.truncate(mark.unknown_uses);
        self.optional_uses.truncate(mark.optional_uses);
    }

    /// Enters a `for` body (no carry) or a scan body.
    fn enter_loop(&mut self, carry: Option<&Ident>, counters: Vec<LoopCounter>) {
        self.loop_count += 1;
        self.loops.push(LoopContext {
            id: self.loop_count,
            carry: carry.map(|c| c.name.clone()),
            counters,
        });
    }

    fn leave_loop(&mut self) {
        self.loops.pop();
    }

    /// Marks the names of a size expression (`T`, `T - 1`, `2*N`) as written
    /// where a size is expected, before it is checked.
    fn size_position(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Name(_) => {
                self.size_positions.insert(e.id);
            }
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => self.size_position(operand),
            ExprKind::Binary {
                op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul,
                lhs,
                rhs,
                ..
            } => {
                self.size_position(lhs);
                self.size_position(rhs);
            }
            _ => {}
        }
    }

    /// One error per unknown name, at its first use, with the other uses as
    /// secondary labels. A name used as a size anywhere is a missing `size`
    /// declaration.
    fn report_unknown_names(&mut self) {
        let mut names: Vec<&str> = Vec::new();
        for u in &self.unknown_uses {
            if !names.contains(&u.name.as_str()) {
                names.push(&u.name);
            }
        }
        let mut errors = Vec::new();
        for name in names {
            let uses: Vec<&UnknownUse> = self
                .unknown_uses
                .iter()
                .filter(|u| u.name == name)
                .collect();
            let Some(first) = uses.iter().find(|u| u.as_size).or(uses.first()) else {
                continue;
            };
            let mut other_uses: Vec<Span> = uses
                .iter()
                .map(|u| u.span)
                .filter(|s| *s != first.span)
                .collect();
            other_uses.dedup();
            // Declarations are read in order: one below its first use is too late.
            let declared_later = self
                .symbols
                .iter()
                .find(|s| s.top_level && s.name == name && s.span.start > first.span.start)
                .map(|s| s.span);
            errors.push(if first.as_size {
                CheckError::UndeclaredSize {
                    span: first.span,
                    name: name.to_string(),
                    other_uses,
                    suggestion: first.suggestion.clone(),
                    declared_later,
                }
            } else {
                CheckError::UnknownName {
                    span: first.span,
                    name: name.to_string(),
                    suggestion: first.suggestion.clone(),
                    foreign: builtins::foreign_name(name),
                    other_uses,
                    declared_later,
                }
            });
        }
        self.errors.extend(errors);
    }

    /// Records the parameters that `terms` (parts of one term of the log
    /// density) and the enclosing `if` conditions depend on.
    fn density_term<'e>(&mut self, terms: impl IntoIterator<Item = &'e Expr>) {
        for e in terms {
            if let Some(Some(info)) = self.infos.get(e.id.0 as usize) {
                self.density_params.extend(info.params.iter().copied());
            }
        }
        for condition in &self.conditions {
            self.density_params.extend(condition.iter().copied());
        }
    }

    /// A parameter with a flat prior on an unbounded support (no `~` prior,
    /// no bounds or an infinite one) makes the posterior improper unless a
    /// term of the log density depends on it. Checked only on a complete
    /// program without errors: a term that failed to check has unknown
    /// dependencies, and a false alarm would bury the real error.
    fn check_posterior_is_proper(&mut self) {
        if self.incomplete || self.errors.iter().any(|e| e.to_diagnostic().is_error()) {
            return;
        }
        let mut improper = Vec::new();
        for param in &self.params {
            let unbounded = |b: &Option<Bound>, infinity: f64| match b {
                None => true,
                Some(Bound::Const(c)) => *c == infinity,
                Some(Bound::Expr(..)) => false,
            };
            let c = &param.constraint;
            let flat_and_unbounded = param.prior.is_none()
                && (unbounded(&c.lower, f64::NEG_INFINITY) || unbounded(&c.upper, f64::INFINITY));
            if !flat_and_unbounded || self.density_params.contains(&param.symbol) {
                continue;
            }
            let sym = &self.symbols[param.symbol.0 as usize];
            let end = |b: &Option<Bound>, infinity: &str| match b {
                None => infinity.to_string(),
                Some(Bound::Const(c)) => format!("{c}"),
                Some(Bound::Expr(..)) => "…".to_string(),
            };
            let support = match (&c.lower, &c.upper) {
                (None, None) => "the real line".to_string(),
                (lower, upper) => format!("({}, {})", end(lower, "-inf"), end(upper, "inf")),
            };
            improper.push(CheckError::ImproperPosterior {
                span: sym.span,
                name: sym.name.clone(),
                support,
                used: self.first_use.get(&param.symbol).copied(),
                example_prior: match (&c.lower, &c.upper) {
                    (Some(Bound::Const(l)), None) if *l == 0.0 => "HalfNormal(1)",
                    (Some(Bound::Const(l)), Some(Bound::Const(h)))
                        if *l == 0.0 && h.is_infinite() =>
                    {
                        "HalfNormal(1)"
                    }
                    _ => "Normal(0, 1)",
                },
            });
        }
        self.errors.extend(improper);
    }

    // ---- Scopes -----------------------------------------------------------

    /// Refuses a name the results' axes have (`chain`, `draw`) for a size, parameter or
    /// `out` value, which the results name their variables by.
    fn refuse_reserved(&mut self, name: &Ident) {
        if RESERVED_NAMES.contains(&name.name.as_str()) {
            self.error(CheckError::NotAllowedHere {
                span: name.span,
                what: format!("the name `{}`", name.name),
                hint: Some(format!(
                    "`chain` and `draw` name the axes of the draws in the results (ArviZ's InferenceData), so a size, parameter or `out` value cannot be called so: rename it (`{}_`)",
                    name.name
                )),
            });
        }
    }

    fn define(
        &mut self,
        name: &Ident,
        kind: SymbolKind,
        info: ExprInfo,
        shape_span: Span,
    ) -> SymbolId {
        let innermost = self.scopes.len() - 1;
        self.define_in(innermost, name, kind, info, shape_span)
    }

    /// Reports `name` defined again in the scope `scope` (redefinition in one scope is
    /// an error); whether it was.
    fn report_duplicate(&mut self, scope: usize, name: &Ident) -> bool {
        let Some(previous) = self.scopes.get(scope).and_then(|s| s.get(&name.name)) else {
            return false;
        };
        let previous = self.symbols[previous.0 as usize].span;
        self.error(CheckError::Duplicate {
            span: name.span,
            name: name.name.clone(),
            previous,
        });
        true
    }

    /// [`Self::define`] in the scope `scope` (0: the model level) rather than the
    /// innermost one.
    fn define_in(
        &mut self,
        scope: usize,
        name: &Ident,
        kind: SymbolKind,
        info: ExprInfo,
        shape_span: Span,
    ) -> SymbolId {
        let id = SymbolId(self.symbols.len() as u32);
        // A data variable may be called so (a card game's `draw` column): it is
        // only in `observed_data` or `constant_data`, which have no such axes.
        let exported = matches!(
            kind,
            SymbolKind::Size { .. } | SymbolKind::Param | SymbolKind::Out | SymbolKind::LoopOut
        );
        if exported {
            self.refuse_reserved(name);
        }
        self.report_duplicate(scope, name);
        // A name in an inner scope may shadow an outer one, as Rust's `let` does.
        self.symbols.push(Symbol {
            name: name.name.clone(),
            kind,
            info,
            span: name.span,
            shape_span,
            top_level: scope == 0,
        });
        self.bindings.insert(name.span.start, id);
        if let Some(scope) = self.scopes.get_mut(scope) {
            scope.insert(name.name.clone(), id);
        }
        id
    }

    fn lookup(&self, name: &str) -> Option<SymbolId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn visible_names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|s| s.keys().cloned()).collect()
    }

    fn is_narrowed(&self, key: &str) -> bool {
        self.narrowed.iter().any(|n| n.present.contains(key))
    }

    /// The key of a name in [`Narrowing::present`]: its binding.
    fn name_key(id: SymbolId) -> String {
        format!("#{}", id.0)
    }

    /// Names the value `e` reads so that two reads of the same value get the same key: a
    /// name (by its binding, so a shadowing `let` is another key), or an element of one at
    /// single indices built from names, integer literals and arithmetic. Bindings never
    /// change, so inside `if present(y[t])` every `y[t]` reads the value tested. `None`
    /// for anything else (a call, a slice), which `present` then narrows nothing of.
    fn place_key(&self, e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Name(n) => self.lookup(&n.name).map(Self::name_key),
            ExprKind::Int(v) => Some(v.to_string()),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => Some(format!("(-{})", self.place_key(operand)?)),
            ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => Some(format!(
                    "({}{}{})",
                    self.place_key(lhs)?,
                    op.symbol(),
                    self.place_key(rhs)?
                )),
                _ => None,
            },
            ExprKind::Index { base, indices } => {
                let mut key = self.place_key(base)?;
                key.push('[');
                for item in indices {
                    let IndexItem::Single(i) = item else {
                        return None;
                    };
                    key.push_str(&self.place_key(i)?);
                    key.push(',');
                }
                key.push(']');
                Some(key)
            }
            _ => None,
        }
    }

    fn record(&mut self, e: &Expr, info: Option<ExprInfo>) -> Option<ExprInfo> {
        if let Some(slot) = self.infos.get_mut(e.id.0 as usize) {
            slot.clone_from(&info);
        }
        info
    }

    fn require(&mut self, nonnegative: Dim, span: Span, why: String) -> bool {
        if nonnegative.provably_nonnegative() {
            return true;
        }
        if nonnegative.provably_negative() {
            return false;
        }
        self.requirements.push(SizeRequirement {
            nonnegative,
            span,
            why,
        });
        true
    }

    // ---- Items and statements ----------------------------------------------

    pub(crate) fn program(&mut self, program: &Program) {
        for item in &program.items {
            match item {
                Item::Size(s) => self.size_decl(s),
                Item::Data(d) => self.data_decl(d),
                Item::Param(p) => self.param_decl(p),
                Item::Stmt(s) => self.stmt(s, true),
            }
        }
    }

    fn size_decl(&mut self, s: &SizeDecl) {
        let value = Dim::size(&s.name.name);
        let info = ExprInfo {
            range: IntRange::single(&value),
            value: Some(value),
            ..ExprInfo::of(Type::scalar(ElemType::Int))
        };
        let kind = SymbolKind::Size {
            group_by: s.group_by.as_ref().map(|g| g.name.clone()),
            largest_of: s.largest_of.as_ref().map(|l| crate::model::LargestOf {
                data: l.data.name.clone(),
                plus: l.plus,
            }),
            default: s.default,
        };
        let id = self.define(&s.name, kind, info, s.span);
        self.sizes.push(id);
        if let Some(l) = &s.largest_of {
            self.sizes_from_data.push((id, l.clone()));
        }
    }

    /// `size K = max(x)`: `x` must be int data declared in the model, whose
    /// shape does not depend on `K` (its values decide `K`). The data loader
    /// relies on this.
    fn check_sizes_from_data(&mut self) {
        for (size, written) in std::mem::take(&mut self.sizes_from_data) {
            let size_name = self.symbols[size.0 as usize].name.clone();
            let x = &written.data.name;
            if written.function.name != "max" {
                let example = format!("size {size_name} = max(choice)");
                self.error(CheckError::SizeFromData {
                    span: written.function.span,
                    message: format!("a size can be taken from the data only as the largest value of a variable, not with `{}`", written.function.name),
                    label: "not `max`".into(),
                    hint: format!("write `{example}` (or `{example} + 1` for values counted from 0), or give the size a constant value with `let`"),
                });
                continue;
            }
            let source = self.symbols.iter().enumerate().find(|(_, sym)| {
                sym.top_level && &sym.name == x && sym.kind != SymbolKind::LoopVar
            });
            // What is wrong with `x`: the end of the message, the label, the hint.
            let problem = match source {
                None => Some((
                    "which is not declared".to_string(),
                    "no such data variable",
                    format!("declare it, e.g. `data {x}: int[N, T]`"),
                )),
                Some((_, sym)) if sym.kind != SymbolKind::Data => Some((
                    "which is not data".to_string(),
                    "not a `data` variable",
                    "a size is known before the model runs, so it can only be taken from the data's values".to_string(),
                )),
                Some((_, sym)) if sym.info.ty.elem != ElemType::Int => Some((
                    format!("which is {} data, not int", if sym.info.ty.elem == ElemType::Real { "real" } else { "bool" }),
                    "not int data",
                    format!("a size counts things (options, conditions): take it from an int variable, such as `data choice: int[N, T] in 1..{size_name} + 1`"),
                )),
                Some((_, sym)) if sym.info.ty.shape.iter().any(|dim| dim.sizes().contains(&size_name.as_str())) => Some((
                    format!("whose shape depends on `{size_name}`"),
                    "its shape needs this size",
                    "the values decide the size, so the shape must be given by other sizes".to_string(),
                )),
                Some(_) => None,
            };
            match (problem, source) {
                (Some((which, label, hint)), _) => self.error(CheckError::SizeFromData {
                    span: written.data.span,
                    message: format!("`{size_name}` is the largest value of `{x}`, {which}"),
                    label: label.into(),
                    hint,
                }),
                (None, Some((index, _))) => {
                    self.first_use
                        .entry(SymbolId(index as u32))
                        .or_insert(written.data.span);
                }
                (None, None) => {}
            }
        }
    }

    /// The shape written in a type, as size expressions.
    fn written_shape(&mut self, ty: &TypeExpr) -> Option<Vec<Dim>> {
        let mut shape = Vec::new();
        let mut ok = true;
        for dim in &ty.dims {
            self.size_position(dim);
            match self.expr(dim) {
                Some(info) if info.ty.elem == ElemType::Int && info.value.is_some() => {
                    let value = info.value.unwrap_or_default();
                    if !self.require(
                        value.clone(),
                        dim.span,
                        format!("the dimension `{value}` must not be negative"),
                    ) {
                        self.error(CheckError::NotASizeExpression {
                            span: dim.span,
                            context: "a dimension (it is negative here)".into(),
                        });
                        ok = false;
                    }
                    shape.push(value);
                }
                Some(_) => {
                    self.error(CheckError::NotASizeExpression {
                        span: dim.span,
                        context: "a dimension".into(),
                    });
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(shape)
    }

    fn data_decl(&mut self, d: &DataDecl) {
        let shape = self.written_shape(&d.ty);
        let ty = Type {
            elem: d.ty.elem,
            optional: d.ty.optional,
            shape: shape.clone().unwrap_or_default(),
        };
        let mut int_range = None;
        let mut interval = None;
        match &d.bounds {
            None => {}
            Some(Bounds::IntRange { lo, hi, span }) => {
                self.size_position(lo);
                self.size_position(hi);
                let lo_info = self.expr(lo);
                let hi_info = self.expr(hi);
                if d.ty.elem != ElemType::Int {
                    self.error(CheckError::TypeMismatch {
                        span: *span,
                        context: "an integer range `LO..HI`".into(),
                        expected: "`int` data".into(),
                        found: ty.clone(),
                        hint: Some("bound real data with an interval: `in (0, 1)`".into()),
                    });
                } else {
                    match (lo_info.and_then(|i| i.value), hi_info.and_then(|i| i.value)) {
                        (Some(lo), Some(hi)) => int_range = Some(IntRange { lo, hi }),
                        _ => self.error(CheckError::NotASizeExpression {
                            span: *span,
                            context: "a data range".into(),
                        }),
                    }
                }
            }
            Some(Bounds::Interval {
                lo,
                hi,
                lo_closed,
                hi_closed,
                span,
            }) => {
                self.expr(lo);
                self.expr(hi);
                // `[1, 1]` is one value; any other interval needs LO < HI.
                let ordered = |l: f64, h: f64| l < h || (l == h && *lo_closed && *hi_closed);
                let unparsed = |e: &Expr| matches!(e.kind, ExprKind::Error);
                match (real_literal(lo), real_literal(hi)) {
                    // The parser has reported these ends.
                    _ if unparsed(lo) || unparsed(hi) => {}
                    _ if d.ty.elem != ElemType::Real => self.error(CheckError::TypeMismatch {
                        span: *span,
                        context: "an interval of reals".into(),
                        expected: "`real` data".into(),
                        found: ty.clone(),
                        hint: Some(match d.ty.elem {
                            ElemType::Int => {
                                "bound int data with a range: `in 0..10` (0 to 9)".into()
                            }
                            _ => "a bool is true or false: it takes no bounds".into(),
                        }),
                    }),
                    (Some(l), Some(h)) if (*lo_closed && l.is_infinite()) || (*hi_closed && h.is_infinite()) => {
                        self.error(CheckError::NotAllowedHere {
                            span: *span,
                            what: "a closed end at `inf` or `-inf`".into(),
                            hint: Some(format!(
                                "a value is never infinite, so an infinite end is excluded: write `{}{}, {}{}`",
                                if *lo_closed && l.is_finite() { '[' } else { '(' },
                                l,
                                h,
                                if *hi_closed && h.is_finite() { ']' } else { ')' },
                            )),
                        })
                    }
                    (Some(l), Some(h)) if ordered(l, h) => {
                        interval = Some(DataInterval {
                            lo: l,
                            hi: h,
                            lo_closed: *lo_closed,
                            hi_closed: *hi_closed,
                        })
                    }
                    (Some(_), Some(_)) => self.error(CheckError::NotAllowedHere {
                        span: *span,
                        what: "an empty interval".into(),
                        hint: Some(if *lo_closed && *hi_closed {
                            "the lower end comes first: `[LO, HI]` with LO <= HI".into()
                        } else {
                            "the lower end comes first, below the upper: `(LO, HI)` with LO < HI".into()
                        }),
                    }),
                    _ => self.error(CheckError::NotAllowedHere {
                        span: *span,
                        what: "an end that is not a number".into(),
                        hint: Some("the ends of a data interval are number literals, `inf` or `-inf`: `in [0, 1]`".into()),
                    }),
                }
            }
        }
        let (default, default_shape) = d
            .default
            .as_ref()
            .and_then(|value| {
                self.data_default(d, value, shape.as_deref(), int_range.as_ref(), interval)
            })
            .map_or((None, Vec::new()), |(cells, lengths)| {
                (Some(cells), lengths)
            });
        let info = ExprInfo {
            range: int_range.clone(),
            ..ExprInfo::of(ty)
        };
        let id = self.define(&d.name, SymbolKind::Data, info, d.ty.span);
        if shape.is_none() {
            // Its shape is unknown: uses of it report nothing more.
            self.poisoned.insert(id);
        }
        self.data.push(DataInfo {
            symbol: id,
            int_range,
            interval,
            default,
            default_shape,
        });
    }

    /// The value of `data x: TYPE = value`, a setting that the data file may leave out:
    /// a literal of the declared type within its bounds, or for an array of constant
    /// dimensions a nested array literal of such literals (`data mu0: real[2] = [0.5,
    /// 1.0]`; `real[L - 1]` with `size L = 3`, at the sizes' defaults). Its cells in
    /// row-major order and the lengths of its axes; `None` after an error.
    fn data_default(
        &mut self,
        d: &DataDecl,
        value: &Expr,
        shape: Option<&[Dim]>,
        int_range: Option<&IntRange>,
        interval: Option<DataInterval>,
    ) -> Option<(Vec<f64>, Vec<usize>)> {
        let shape = shape?;
        // The dimensions at the sizes' defaults (`L - 1` is 2 with `size L = 3`): a
        // size the data give has no value before they load.
        let defaults: HashMap<String, i64> = self
            .sizes
            .iter()
            .filter_map(|id| {
                let sym = &self.symbols[id.0 as usize];
                match sym.kind {
                    SymbolKind::Size {
                        default: Some(value),
                        ..
                    } => Some((sym.name.clone(), value)),
                    _ => None,
                }
            })
            .collect();
        let Some(lengths) = shape
            .iter()
            .map(|dim| dim.eval(&defaults).and_then(|n| usize::try_from(n).ok()))
            .collect::<Option<Vec<usize>>>()
        else {
            self.error(CheckError::NotAllowedHere {
                span: value.span,
                what: "a default for an array sized by the data".into(),
                hint: Some(format!(
                    "a default fixes every cell, so its dimensions are numbers (`data {}: {}[2] = [0.5, 1.0]`) or sizes with a default (`size L = 3` and `{}[L - 1]`); an array sized by the data comes from the file",
                    d.name.name, d.ty.elem, d.ty.elem
                )),
            });
            return None;
        };
        let mut cells = Vec::with_capacity(lengths.iter().product());
        self.default_cells(d, value, &lengths, int_range, interval, &mut cells)?;
        Some((cells, lengths))
    }

    /// Appends the cells of `value`, a default of the dimensions `lengths`, to `cells`.
    fn default_cells(
        &mut self,
        d: &DataDecl,
        value: &Expr,
        lengths: &[usize],
        int_range: Option<&IntRange>,
        interval: Option<DataInterval>,
        cells: &mut Vec<f64>,
    ) -> Option<()> {
        let mut not_allowed = |span: Span, what: String, hint: String| {
            self.error(CheckError::NotAllowedHere {
                span,
                what,
                hint: Some(hint),
            });
            None
        };
        if let Some((&length, inner)) = lengths.split_first() {
            let ExprKind::Array(items) = &value.kind else {
                if matches!(value.kind, ExprKind::Error) {
                    return None;
                }
                return not_allowed(
                    value.span,
                    "a default for an array that is not an array literal".into(),
                    format!(
                        "write its {length} values in brackets, one per element of this axis: `[{}]`",
                        vec!["…"; length].join(", ")
                    ),
                );
            };
            if items.len() != length {
                // An axis a size gives has its length at the sizes' defaults.
                let axis = d.ty.dims.len().saturating_sub(lengths.len());
                let sized =
                    d.ty.dims
                        .get(axis)
                        .is_some_and(|dim| !matches!(dim.kind, ExprKind::Int(_)));
                let at_defaults = if sized { " at the sizes' defaults" } else { "" };
                return not_allowed(
                    value.span,
                    format!(
                        "a default of {} values for an axis of length {length}",
                        items.len()
                    ),
                    format!(
                        "this axis of `{}` has {length} elements{at_defaults}: give one value for each",
                        d.name.name
                    ),
                );
            }
            for item in items {
                self.default_cells(d, item, inner, int_range, interval, cells)?;
            }
            return Some(());
        }
        let number = match (&value.kind, d.ty.elem) {
            (ExprKind::Error, _) => return None,
            (ExprKind::Bool(b), ElemType::Bool) => f64::from(u8::from(*b)),
            (_, ElemType::Bool) => {
                return not_allowed(
                    value.span,
                    "a default for `bool` data that is not `true` or `false`".into(),
                    "write `= true` or `= false`".into(),
                )
            }
            _ => match real_literal(value) {
                Some(v) => v,
                None => {
                    return not_allowed(
                        value.span,
                        "a default that is not a number".into(),
                        "a default is a number literal, `= 0.1`, `= -1`, `= 100`: the data file, not the model, computes".into(),
                    )
                }
            },
        };
        if !number.is_finite() {
            return not_allowed(
                value.span,
                "an infinite default".into(),
                "a data value is never infinite: write a finite number".into(),
            );
        }
        if d.ty.elem == ElemType::Int && number.fract() != 0.0 {
            return not_allowed(
                value.span,
                "a fractional default for `int` data".into(),
                format!("{number} is not a whole number: an int's default is one, `= 4`"),
            );
        }
        let outside = match (int_range, interval) {
            (Some(range), _) => match (range.lo.as_constant(), range.hi.as_constant()) {
                (Some(lo), Some(hi)) if number < lo as f64 || number >= hi as f64 => {
                    Some(range.to_string())
                }
                _ => None,
            },
            (None, Some(i)) => (!i.contains(number)).then(|| i.to_string()),
            (None, None) => None,
        };
        if let Some(bounds) = outside {
            return not_allowed(
                value.span,
                format!("a default outside `{}`'s bounds, `{bounds}`", d.name.name),
                format!(
                    "{number} is not in `{bounds}`: a default must be a value the file could hold"
                ),
            );
        }
        cells.push(number);
        Some(())
    }

    fn param_decl(&mut self, p: &ParamDecl) {
        let mut shape_failed = false;
        let mut ty = Type::scalar(ElemType::Real);
        let mut shape_span = p.name.span;
        if let Some(t) = &p.ty {
            shape_span = t.span;
            if t.elem != ElemType::Real || t.optional {
                self.error(CheckError::TypeMismatch {
                    span: t.span,
                    context: "a parameter's type".into(),
                    expected: "`real` (parameters are continuous and never missing)".into(),
                    found: Type {
                        elem: t.elem,
                        optional: t.optional,
                        shape: Vec::new(),
                    },
                    hint: None,
                });
            }
            match self.written_shape(t) {
                Some(shape) => ty.shape = shape,
                None => shape_failed = true,
            }
        }
        let mut constraint = Constraint::default();
        let mut explicit = None;
        if let Some(bounds) = &p.bounds {
            match bounds {
                Bounds::Interval {
                    lo,
                    hi,
                    lo_closed,
                    hi_closed,
                    span,
                } => {
                    if *lo_closed || *hi_closed {
                        self.error(CheckError::NotAllowedHere {
                            span: *span,
                            what: "a closed end (`[` or `]`) in a parameter's bounds".into(),
                            hint: Some(
                                "a parameter never takes the value at its bound (its transform keeps it inside): write `(` and `)`; closed ends `[`, `]` are for data"
                                    .into(),
                            ),
                        });
                    }
                    let lo_bound = self.bound(lo);
                    let hi_bound = self.bound(hi);
                    if let (Some(Bound::Const(l)), Some(Bound::Const(h))) = (&lo_bound, &hi_bound) {
                        if l >= h {
                            self.error(CheckError::TypeMismatch {
                                span: *span,
                                context: "a parameter's bounds".into(),
                                expected: "`(LO, HI)` with LO < HI".into(),
                                found: Type::scalar(ElemType::Real),
                                hint: None,
                            });
                        }
                        explicit = Some((*l, *h, *span));
                    }
                    constraint.lower = lo_bound;
                    constraint.upper = hi_bound;
                }
                Bounds::IntRange { span, .. } => self.error(CheckError::TypeMismatch {
                    span: *span,
                    context: "a parameter's bounds".into(),
                    expected: "an open interval `(LO, HI)`".into(),
                    found: Type::scalar(ElemType::Int),
                    hint: Some("parameters are real: write `in (0, 1)`".into()),
                }),
            }
        }
        let mut prior_id = None;
        let mut within_prior_support = true;
        if let (true, Some(prior)) = (shape_failed, &p.prior) {
            // Against an unknown shape only the prior's own arguments are checked.
            for arg in call_args(prior) {
                self.expr(arg);
            }
        } else if let Some(prior) = &p.prior {
            let target = ExprInfo::of(ty.clone());
            let checked = self
                .distribution(prior, &target, p.name.span, Role::Prior)
                .map(|(sig, call, _)| (sig, call));
            self.density_term(call_args(prior));
            if let Some((sig, call)) = checked {
                prior_id = Some(prior.id);
                let support_bounds = match sig.support {
                    Support::Positive => Some((Some(Bound::Const(0.0)), None)),
                    Support::UnitInterval => {
                        Some((Some(Bound::Const(0.0)), Some(Bound::Const(1.0))))
                    }
                    Support::BetweenArgs => {
                        Some((bound_of(prior, &call, 0), bound_of(prior, &call, 1)))
                    }
                    Support::AboveSecondArg => Some((bound_of(prior, &call, 1), None)),
                    // The density repeats every 2π: one turn makes it proper.
                    Support::Circle => Some((
                        Some(Bound::Const(-std::f64::consts::PI)),
                        Some(Bound::Const(std::f64::consts::PI)),
                    )),
                    _ => None,
                };
                match (explicit, &support_bounds) {
                    (None, Some((lower, upper))) if p.bounds.is_none() => {
                        constraint.lower = lower.clone();
                        constraint.upper = upper.clone();
                    }
                    // Declared bounds that depend on other values.
                    (None, Some(_)) => within_prior_support = false,
                    (Some((l, h, span)), Some((lower, upper))) => {
                        let lower_c = match lower {
                            Some(Bound::Const(c)) => *c,
                            _ => f64::NEG_INFINITY,
                        };
                        let upper_c = match upper {
                            Some(Bound::Const(c)) => *c,
                            _ => f64::INFINITY,
                        };
                        let known = !matches!(lower, Some(Bound::Expr(..)))
                            && !matches!(upper, Some(Bound::Expr(..)));
                        within_prior_support = known;
                        if known && (l < lower_c || h > upper_c) {
                            self.error(CheckError::BoundsOutsideSupport {
                                span,
                                bounds: format!("({l}, {h})"),
                                distribution: sig.name.to_string(),
                                support: format!("({lower_c}, {upper_c})"),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        let id = self.define(&p.name, SymbolKind::Param, ExprInfo::of(ty), shape_span);
        // A parameter depends on itself.
        self.symbols[id.0 as usize].info.params.insert(id);
        if shape_failed {
            self.poisoned.insert(id);
        }
        self.params.push(ParamInfo {
            symbol: id,
            constraint,
            prior: prior_id,
            within_prior_support,
        });
    }

    fn bound(&mut self, e: &Expr) -> Option<Bound> {
        let info = self.expr(e)?;
        if !info.ty.is_scalar() || !info.ty.is_numeric() || info.ty.optional {
            self.error(CheckError::TypeMismatch {
                span: e.span,
                context: "a parameter's bound".into(),
                expected: "a real scalar".into(),
                found: info.ty,
                hint: None,
            });
            return None;
        }
        Some(match real_literal(e) {
            Some(c) => Bound::Const(c),
            None => Bound::Expr(e.id, e.span),
        })
    }

    fn stmt(&mut self, s: &Stmt, top_level: bool) {
        match s {
            Stmt::Let {
                name,
                indices,
                value,
                is_out,
                span,
            } => {
                if !indices.is_empty() {
                    self.loop_out(name, indices, value);
                    return;
                }
                if *is_out && !top_level {
                    let hint = if self.loops.is_empty() {
                        "compute the value with `if` as an expression and write `out x = …` at the top level".to_string()
                    } else {
                        format!(
                            "write one element per step, indexed by the loops' variables (`out {}[{}] = …`, written with `--loop-outs`), or compute the value with `scan` and write `out x = …` at the top level",
                            name.name,
                            self.loop_counter_names().join(", ")
                        )
                    };
                    self.error(CheckError::NotAllowedHere {
                        span: *span,
                        what: "`out` inside a loop or branch".into(),
                        hint: Some(hint),
                    });
                }
                let Some(mut info) = self.expr(value) else {
                    let kind = if *is_out {
                        SymbolKind::Out
                    } else {
                        SymbolKind::Let
                    };
                    let placeholder = ExprInfo::of(Type::scalar(ElemType::Real));
                    let id = self.define(name, kind, placeholder, value.span);
                    self.poisoned.insert(id);
                    return;
                };
                if *is_out && info.ty.optional {
                    self.optional_used(value, &info);
                }
                // Values bound to names keep their shape's origin as the name's.
                info.origin = None;
                let kind = if *is_out {
                    SymbolKind::Out
                } else {
                    SymbolKind::Let
                };
                let constant = self.constant(value);
                let source = self.root_symbol(value);
                let id = self.define(name, kind, info, value.span);
                if let Some(source) = source {
                    self.element_of.insert(id, source);
                }
                if let Some(c) = constant {
                    self.constants.insert(id, c);
                }
                if *is_out && top_level {
                    self.outs.push(id);
                }
            }
            Stmt::Tilde { lhs, dist, span } => {
                let Some(info) = self.expr(lhs) else {
                    // Still check the distribution's own arguments.
                    for arg in call_args(dist) {
                        let info = self.expr(arg);
                        self.report_optional(&[(arg, info.as_ref())]);
                    }
                    return;
                };
                if info.ty.optional {
                    self.optional_used(lhs, &info);
                }
                if info.depends_on_param() {
                    let params = self.params_in(lhs);
                    let is_declared_param = match &lhs.kind {
                        ExprKind::Name(n) => self
                            .names
                            .get(&lhs.id)
                            .filter(|id| self.symbols[id.0 as usize].kind == SymbolKind::Param)
                            .map(|_| n.name.clone()),
                        _ => None,
                    };
                    self.error(CheckError::ObservedDependsOnParam {
                        span: lhs.span,
                        params,
                        is_declared_param,
                    });
                }
                self.distribution(dist, &info, lhs.span, Role::Observed);
                self.density_term(std::iter::once(lhs).chain(call_args(dist)));
                let distribution = match &dist.kind {
                    ExprKind::Call { callee, .. } => crate::builtins::distribution(&callee.name),
                    _ => None,
                };
                if let (Some(data), Some(sig)) = (self.data_root(lhs), distribution) {
                    self.observations.push(crate::model::Observation {
                        data,
                        distribution: sig.distribution,
                        statement: *span,
                        lhs: lhs.span,
                    });
                }
            }
            Stmt::TargetAdd { value, .. } => {
                let Some(info) = self.expr(value) else {
                    return;
                };
                self.density_term([value]);
                if !self.numeric(value, &info, "`target +=`") {
                    return;
                }
                if !info.ty.is_scalar() {
                    self.error(CheckError::ShapeMismatch {
                        span: value.span,
                        context: "`target +=` adds one number".into(),
                        expected: Vec::new(),
                        found: info.ty.shape,
                        expected_from: None,
                        hint: Some("sum the terms: `target += sum(…)`".into()),
                    });
                }
            }
            Stmt::For {
                var, lo, hi, body, ..
            } => {
                let (range, lowest, end) = self.loop_bounds(lo, hi);
                self.scopes.push(HashMap::new());
                let info = ExprInfo {
                    range,
                    ..ExprInfo::of(Type::scalar(ElemType::Int))
                };
                let symbol = self.define(var, SymbolKind::LoopVar, info, var.span);
                self.enter_loop(
                    None,
                    vec![LoopCounter {
                        symbol,
                        lowest,
                        end,
                    }],
                );
                self.block_stmts(body);
                if let Some(v) = &body.value {
                    self.expr_stmt(v);
                }
                self.leave_loop();
                self.scopes.pop();
                if !block_observes(body) {
                    let head = Span {
                        start: s.span().start,
                        end: hi.span.end,
                    };
                    self.error(CheckError::NoEffect { span: head });
                }
            }
            Stmt::Expr(e) => self.expr_stmt(e),
            Stmt::Error(_) => self.incomplete = true,
        }
    }

    /// An expression whose value is not used: `scan` and `if` run for their
    /// `~` statements (a `scan` without any is a warning); anything else is
    /// probably a mistake.
    fn expr_stmt(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Scan { body, .. } => {
                if self.expr(e).is_some() && !block_observes(body) {
                    // The `scan` keyword.
                    let head = Span {
                        start: e.span.start,
                        end: e.span.start + "scan".len(),
                    };
                    self.error(CheckError::NoEffect { span: head });
                }
            }
            ExprKind::If { .. } => {
                self.if_expr(e, false);
            }
            ExprKind::Error => {}
            _ => {
                if self.expr(e).is_some() {
                    self.error(CheckError::UnusedValue { span: e.span });
                }
            }
        }
    }

    /// The names that index an out written here, outermost loop first (`t` for a
    /// scan that has no range sequence to count its steps).
    fn loop_counter_names(&self) -> Vec<String> {
        self.loops
            .iter()
            .map(|l| match l.counters.first() {
                Some(c) => self.symbols[c.symbol.0 as usize].name.clone(),
                None => "t".to_string(),
            })
            .collect()
    }

    /// `out name[i, j] = value` inside loops: one element per step of the loops
    /// around it, indexed by their counting variables, outermost first. Its shape
    /// is the loops' ranges, then the value's; an element no step writes (a branch
    /// not taken, a step past a subject's last trial) is missing.
    fn loop_out(&mut self, name: &Ident, indices: &[Ident], value: &Expr) {
        let info = self.expr(value);
        let index_span = indices[0].span.to(indices[indices.len() - 1].span);
        if self.loops.is_empty() {
            self.error(CheckError::NotAllowedHere {
                span: index_span,
                what: "an indexed `out` outside loops".into(),
                hint: Some(format!(
                    "write `out {} = …` at the top level; an out indexed by loop variables (`out pe[n, t] = …`) is written inside the loops, one element per step",
                    name.name
                )),
            });
            return;
        }
        let expected = self.loop_counter_names();
        let mut ends = Vec::new();
        let mut fits = indices.len() == self.loops.len();
        if fits {
            for (index, context) in indices.iter().zip(self.loops.clone()) {
                let symbol = self.lookup(&index.name);
                match context.counters.iter().find(|c| Some(c.symbol) == symbol) {
                    Some(counter) => ends.push((index, counter.clone())),
                    None => fits = false,
                }
            }
        }
        if !fits {
            let scan_without_counter = self.loops.iter().any(|l| l.counters.is_empty());
            let mut hint = format!(
                "an out written in loops takes one index per loop around it, each loop's variable, outermost first: `out {}[{}] = …`",
                name.name,
                expected.join(", ")
            );
            if scan_without_counter {
                hint.push_str(
                    "; a scan counts its steps with a range sequence: add `t in 0..T` to its sequences",
                );
            }
            self.error(CheckError::NotAllowedHere {
                span: index_span,
                what: format!(
                    "indexing the out `{}` by `[{}]`",
                    name.name,
                    indices
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint: Some(hint),
            });
            return;
        }
        let mut shape = Vec::new();
        for (index, counter) in &ends {
            let (Some(lowest), Some(end)) = (&counter.lowest, &counter.end) else {
                // The axis's length is the variable's largest value, and an index must be
                // known not to be negative.
                let (which, hint) = if counter.end.is_none() {
                    (
                        "largest",
                        format!(
                            "the length of `{}`'s axis is the largest value `{}` can take: declare the loop bound's range (`data Tsubj: int[N] in 0..T + 1`), or loop over `0..T` and test `if t < Tsubj[n]`",
                            name.name, index.name
                        ),
                    )
                } else {
                    (
                        "smallest",
                        format!(
                            "`{}` must be known not to be negative to index `{}`: declare the loop bound's range (`data first: int[N] in 0..T`)",
                            index.name, name.name
                        ),
                    )
                };
                self.error(CheckError::NotAllowedHere {
                    span: index.span,
                    what: format!(
                        "an out indexed by `{}`, whose loop has no {which} value known when compiling,",
                        index.name
                    ),
                    hint: Some(hint),
                });
                return;
            };
            let why = format!(
                "`{}`, which indexes the out `{}`, must not be negative",
                index.name, name.name
            );
            if !self.require(lowest.clone(), index.span, why) {
                self.error(CheckError::NotAllowedHere {
                    span: index.span,
                    what: format!(
                        "an out indexed by `{}`, which starts at {lowest},",
                        index.name
                    ),
                    hint: Some(
                        "an out's elements are indexed from 0: run the loop from 0 and shift the other indices instead"
                            .into(),
                    ),
                });
                return;
            }
            shape.push(end.clone());
        }
        let Some(info) = info else { return };
        if info.ty.optional {
            self.optional_used(value, &info);
            return;
        }
        if info.ty.elem == ElemType::Bool {
            self.error(CheckError::TypeMismatch {
                span: value.span,
                context: format!("the out `{}`", name.name),
                expected: "a number".into(),
                found: info.ty,
                hint: Some("write `if cond { 1.0 } else { 0.0 }`".into()),
            });
            return;
        }
        shape.extend(info.ty.shape.iter().cloned());
        let mut out_info = ExprInfo::of(Type {
            elem: ElemType::Real,
            shape,
            optional: false,
        });
        out_info.params = info.params.clone();
        let counters = ends.iter().map(|(_, c)| c.symbol).collect();
        self.define_loop_out(name, out_info, counters);
    }

    /// Defines the out `name` written in loops at the model level, where its name
    /// must be its own. A scan body checked twice (its carry widened) defines it
    /// once.
    fn define_loop_out(&mut self, name: &Ident, info: ExprInfo, counters: Vec<SymbolId>) {
        if let Some(&id) = self.bindings.get(&name.span.start) {
            self.symbols[id.0 as usize].info = info;
            if let Some(entry) = self.loop_outs.iter_mut().find(|(out, _)| *out == id) {
                entry.1 = counters;
            }
            return;
        }
        // Left undefined, so that a scan body checked again reports it again.
        if self.report_duplicate(0, name) {
            return;
        }
        let id = self.define_in(0, name, SymbolKind::LoopOut, info, name.span);
        self.loop_outs.push((id, counters));
    }

    fn block_stmts(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s, false);
        }
    }

    /// `lo..hi` of a loop: the loop variable's range when both are known.
    fn loop_range(&mut self, lo: &Expr, hi: &Expr) -> Option<IntRange> {
        self.loop_bounds(lo, hi).0
    }

    /// `lo..hi` of a loop: the loop variable's range when both ends are known, and
    /// the variable's smallest value and one past its largest where size expressions
    /// bound them (`1..Tsubj[n]` with `Tsubj` declared `in 0..T + 1`: 1 and `T`).
    fn loop_bounds(
        &mut self,
        lo: &Expr,
        hi: &Expr,
    ) -> (Option<IntRange>, Option<Dim>, Option<Dim>) {
        self.size_position(lo);
        self.size_position(hi);
        let l = self.expr(lo);
        let h = self.expr(hi);
        let lowest = l.as_ref().and_then(|i| {
            i.value
                .clone()
                .or_else(|| i.range.as_ref().map(|r| r.lo.clone()))
        });
        let end = h.as_ref().and_then(|i| {
            i.value
                .clone()
                .or_else(|| i.range.as_ref().and_then(|r| r.hi.offset(-1)))
        });
        // Both ends are checked, so that each reports its own mistake.
        let mut values = Vec::new();
        for (e, info) in [(lo, l), (hi, h)] {
            let Some(info) = info else {
                values.push(None);
                continue;
            };
            if info.ty.optional {
                self.optional_used(e, &info);
                values.push(None);
            } else if info.ty.elem != ElemType::Int || !info.ty.is_scalar() {
                self.error(CheckError::TypeMismatch {
                    span: e.span,
                    context: "a loop bound".into(),
                    expected: "an integer".into(),
                    found: info.ty,
                    hint: None,
                });
                values.push(None);
            } else {
                values.push(info.value);
            }
        }
        let range = match (
            values.first().cloned().flatten(),
            values.get(1).cloned().flatten(),
        ) {
            (Some(lo), Some(hi)) => Some(IntRange { lo, hi }),
            _ => None,
        };
        (range, lowest, end)
    }

    fn params_in(&self, e: &Expr) -> Vec<(String, Span, bool)> {
        let mut out: Vec<(String, Span, bool)> = Vec::new();
        visit_expr(e, &mut |x| {
            if let Some(id) = self.names.get(&x.id) {
                let sym = &self.symbols[id.0 as usize];
                if sym.info.depends_on_param() && !out.iter().any(|(n, _, _)| n == &sym.name) {
                    out.push((sym.name.clone(), sym.span, sym.kind == SymbolKind::Param));
                }
            }
        });
        out
    }

    // ---- Common requirements -------------------------------------------------

    /// Records a possibly-missing value used where a present one is needed;
    /// the uses are reported together at the end.
    fn optional_used(&mut self, e: &Expr, info: &ExprInfo) {
        let variable = root_name(e).and_then(|root| self.names.get(&root.id).copied());
        let name = match &e.kind {
            ExprKind::Name(n) => Some(n.name.clone()),
            _ => None,
        };
        let element = match (&e.kind, variable) {
            (ExprKind::Index { indices, .. }, Some(id)) => simple_text(e).map(|text| {
                let root = &self.symbols[id.0 as usize].name;
                let index_names: String = indices
                    .iter()
                    .filter_map(|i| match i {
                        IndexItem::Single(Expr {
                            kind: ExprKind::Name(n),
                            ..
                        }) => Some(n.name.as_str()),
                        _ => None,
                    })
                    .collect();
                (text, self.fresh_name(root, &index_names))
            }),
            _ => None,
        };
        let (loop_id, carry) = self
            .loops
            .last()
            .map_or((0, None), |l| (l.id, l.carry.clone()));
        self.optional_uses.push(OptionalUse {
            span: e.span,
            name,
            variable,
            found: info.ty.clone(),
            declared: variable.map(|id| self.symbols[id.0 as usize].shape_span),
            loop_id,
            carry,
            element,
        });
    }

    /// A short name, not yet visible, for an element of `array` (indexed
    /// by the names `index_names`, joined) in a hint: `c` for `choice[t]`,
    /// `yt` for `y[t]` when `y` is taken.
    fn fresh_name(&self, array: &str, index_names: &str) -> String {
        let initial: String = array.chars().take(1).collect();
        [initial.clone(), format!("{initial}{index_names}")]
            .into_iter()
            .find(|n| !n.is_empty() && self.lookup(n).is_none())
            .unwrap_or_else(|| format!("{array}_value"))
    }

    /// Reports the optional values among `operands` (those that checked),
    /// for an operation that gives up because another operand failed: every
    /// missing-value mistake of a statement is reported in one run.
    fn report_optional(&mut self, operands: &[(&Expr, Option<&ExprInfo>)]) {
        for (e, info) in operands {
            if let Some(info) = info.filter(|i| i.ty.optional) {
                self.optional_used(e, info);
            }
        }
    }

    /// One E0150 per variable and loop: the first use is the primary label,
    /// the others secondary ones, and the hint names every optional value
    /// of that loop, so that one fix handles them all.
    fn report_optional_uses(&mut self) {
        let mut groups: Vec<Vec<&OptionalUse>> = Vec::new();
        for u in &self.optional_uses {
            let same = |g: &&mut Vec<&OptionalUse>| {
                g.first().is_some_and(|f| {
                    u.variable.is_some() && f.variable == u.variable && f.loop_id == u.loop_id
                })
            };
            match groups.iter_mut().find(same) {
                Some(group) => group.push(u),
                None => groups.push(vec![u]),
            }
        }
        let mut errors = Vec::new();
        for group in &groups {
            let Some(first) = group.first() else { continue };
            // The optional scalars of this loop that are tested by name.
            let mut names: Vec<String> = Vec::new();
            for u in &self.optional_uses {
                if u.loop_id == first.loop_id && u.found.is_scalar() {
                    if let Some(n) = &u.name {
                        if !names.contains(n) {
                            names.push(n.clone());
                        }
                    }
                }
            }
            let fix = match (&first.name, &first.element) {
                (Some(name), _) if !first.found.is_scalar() => MissingValueFix::Array {
                    name: name.clone(),
                    length: first
                        .found
                        .shape
                        .first()
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                },
                (Some(_), _) => MissingValueFix::Test {
                    names,
                    carry: first.carry.clone(),
                },
                (None, Some((text, binding))) if first.found.is_scalar() => MissingValueFix::Bind {
                    text: text.clone(),
                    binding: binding.clone(),
                    carry: first.carry.clone(),
                },
                _ => MissingValueFix::Unnamed,
            };
            let mut other_uses: Vec<Span> = group.iter().skip(1).map(|u| u.span).collect();
            other_uses.dedup();
            errors.push(CheckError::OptionalUsed {
                span: first.span,
                name: first
                    .name
                    .clone()
                    .or_else(|| first.element.as_ref().map(|(text, _)| text.clone())),
                found: first.found.clone(),
                declared: first.declared,
                other_uses,
                fix,
            });
        }
        self.errors.extend(errors);
    }

    /// Requires a present (non-optional) number; reports and returns false otherwise.
    fn numeric(&mut self, e: &Expr, info: &ExprInfo, context: &str) -> bool {
        if info.ty.optional {
            self.optional_used(e, info);
            return false;
        }
        if !info.ty.is_numeric() {
            self.error(CheckError::TypeMismatch {
                span: e.span,
                context: context.to_string(),
                expected: "a number".into(),
                found: info.ty.clone(),
                hint: Some(
                    "`bool` values are not numbers; use `if`/`where` to choose between numbers"
                        .into(),
                ),
            });
            return false;
        }
        true
    }

    fn boolean(&mut self, e: &Expr, info: &ExprInfo, context: &str) -> bool {
        if info.ty.optional {
            self.optional_used(e, info);
            return false;
        }
        if info.ty.elem != ElemType::Bool {
            self.error(CheckError::TypeMismatch {
                span: e.span,
                context: context.to_string(),
                expected: "a `bool`".into(),
                found: info.ty.clone(),
                hint: Some("compare it: `x > 0`".into()),
            });
            return false;
        }
        true
    }

    fn broadcast_or_report(
        &mut self,
        span: Span,
        operation: &str,
        left: (&Expr, &ExprInfo),
        right: (&Expr, &ExprInfo),
    ) -> Option<Vec<Dim>> {
        if let Some(shape) = broadcast(&left.1.ty.shape, &right.1.ty.shape) {
            return Some(shape);
        }
        let hint = [left, right].iter().find_map(|(_, info)| {
            let axis = info.reduced_axis?;
            let mut kept = info.ty.shape.clone();
            kept.insert(axis.min(kept.len()), Dim::constant(1));
            let other = if std::ptr::eq(*info, left.1) { right.1 } else { left.1 };
            broadcast(&kept, &other.ty.shape).map(|_| {
                format!(
                    "the reduction removed axis {axis}; pass `keepdims=true` to keep it with length 1, so that {} broadcasts against {}",
                    shape_to_string(&kept),
                    shape_to_string(&other.ty.shape)
                )
            })
        });
        self.error(CheckError::BroadcastMismatch {
            span,
            operation: operation.to_string(),
            left: Operand {
                span: left.0.span,
                shape: left.1.ty.shape.clone(),
                origin: left.1.origin.clone(),
            },
            right: Operand {
                span: right.0.span,
                shape: right.1.ty.shape.clone(),
                origin: right.1.origin.clone(),
            },
            hint,
        });
        None
    }

    // ---- Expressions -------------------------------------------------------------

    pub(crate) fn expr(&mut self, e: &Expr) -> Option<ExprInfo> {
        let info = self.expr_inner(e);
        self.record(e, info)
    }

    fn expr_inner(&mut self, e: &Expr) -> Option<ExprInfo> {
        match &e.kind {
            ExprKind::Int(v) => {
                let value = Dim::constant(*v);
                Some(ExprInfo {
                    range: IntRange::single(&value),
                    value: Some(value),
                    ..ExprInfo::of(Type::scalar(ElemType::Int))
                })
            }
            ExprKind::Real(_) => Some(ExprInfo::of(Type::scalar(ElemType::Real))),
            ExprKind::Bool(_) => Some(ExprInfo::of(Type::scalar(ElemType::Bool))),
            ExprKind::Name(ident) => self.name(e, ident),
            ExprKind::Array(items) => self.array(e, items),
            ExprKind::Unary { op, operand } => self.unary(*op, operand),
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(*op, *op_span, lhs, rhs),
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Index { base, indices } => self.index(e, base, indices),
            ExprKind::Scan {
                carry,
                init,
                sequences,
                body,
            } => self.scan(e, carry, init, sequences, body),
            ExprKind::If { .. } => self.if_expr(e, true),
            ExprKind::Error => {
                self.incomplete = true;
                None
            }
        }
    }

    fn name(&mut self, e: &Expr, ident: &Ident) -> Option<ExprInfo> {
        let Some(id) = self.lookup(&ident.name) else {
            let as_size = self.size_positions.contains(&e.id);
            // Where a size is expected only sizes are suggested: `T` is not a typo of `q`.
            let candidates: Vec<String> = if as_size {
                self.sizes
                    .iter()
                    .map(|id| self.symbols[id.0 as usize].name.clone())
                    .collect()
            } else {
                self.visible_names()
            };
            let suggestion = if !as_size && builtins::function(&ident.name).is_some() {
                Some(format!("{}(…)", ident.name))
            } else {
                suggest(&ident.name, candidates.iter().map(|s| s.as_str()))
            };
            self.unknown_uses.push(UnknownUse {
                name: ident.name.clone(),
                span: ident.span,
                as_size,
                suggestion,
            });
            return None;
        };
        self.names.insert(e.id, id);
        self.first_use.entry(id).or_insert(ident.span);
        if self.poisoned.contains(&id) {
            return None;
        }
        if self.symbols[id.0 as usize].kind == SymbolKind::LoopOut {
            self.error(CheckError::NotAllowedHere {
                span: ident.span,
                what: format!("reading `{}`, an out written in loops,", ident.name),
                hint: Some(
                    "its elements go to the draws' files only; bind the value with `let` where it is computed, or compute it with `scan`, to use it".into(),
                ),
            });
            return None;
        }
        let narrowed = self.is_narrowed(&Self::name_key(id));
        let range = self.current_range(id);
        let sym = &self.symbols[id.0 as usize];
        let mut info = sym.info.clone();
        if narrowed {
            info.ty.optional = false;
        }
        info.range = range;
        if !info.ty.is_scalar() {
            info.origin = Some(ShapeOrigin {
                span: sym.shape_span,
                note: format!(
                    "`{}` gets shape {} here",
                    sym.name,
                    shape_to_string(&info.ty.shape)
                ),
            });
        }
        info.reduced_axis = None;
        Some(info)
    }

    fn array(&mut self, e: &Expr, items: &[Expr]) -> Option<ExprInfo> {
        let infos: Vec<Option<ExprInfo>> = items.iter().map(|i| self.expr(i)).collect();
        if items.is_empty() {
            self.error(CheckError::MissingValue {
                span: e.span,
                context: "an empty array literal".into(),
                hint: Some("use `zeros(n)` for an empty or zero-filled array".into()),
            });
            return None;
        }
        if infos
            .iter()
            .any(|i| i.as_ref().is_none_or(|i| i.ty.optional))
        {
            let operands: Vec<(&Expr, Option<&ExprInfo>)> =
                items.iter().zip(infos.iter().map(|i| i.as_ref())).collect();
            self.report_optional(&operands);
            return None;
        }
        let infos: Vec<ExprInfo> = infos.into_iter().collect::<Option<_>>()?;
        let first = &infos[0];
        let mut elem = first.ty.elem;
        let mut params = BTreeSet::new();
        let mut range = first.range.clone();
        for (item, info) in items.iter().zip(&infos) {
            if info.ty.shape != first.ty.shape {
                self.error(CheckError::ShapeMismatch {
                    span: item.span,
                    context: "the elements of an array literal must have one shape".into(),
                    expected: first.ty.shape.clone(),
                    found: info.ty.shape.clone(),
                    expected_from: Some(ShapeOrigin {
                        span: items[0].span,
                        note: format!(
                            "the first element has shape {}",
                            shape_to_string(&first.ty.shape)
                        ),
                    }),
                    hint: None,
                });
                return None;
            }
            let Some(joined) = join_elem(elem, info.ty.elem) else {
                self.error(CheckError::TypeMismatch {
                    span: item.span,
                    context: "the elements of an array literal".into(),
                    expected: format!("{elem}"),
                    found: info.ty.clone(),
                    hint: None,
                });
                return None;
            };
            elem = joined;
            params.extend(info.params.iter().copied());
            range = match (range, &info.range) {
                (Some(a), Some(b)) => union_range(&a, b),
                _ => None,
            };
        }
        let mut shape = vec![Dim::constant(items.len() as i64)];
        shape.extend(first.ty.shape.iter().cloned());
        Some(ExprInfo {
            params,
            range: if elem == ElemType::Int { range } else { None },
            ..ExprInfo::of(Type::array(elem, shape))
        })
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr) -> Option<ExprInfo> {
        let info = self.expr(operand)?;
        match op {
            UnaryOp::Neg => {
                if !self.numeric(operand, &info, "negation") {
                    return None;
                }
                let value = info.value.as_ref().and_then(|v| v.scale(-1));
                let range = info.range.as_ref().and_then(|r| {
                    Some(IntRange {
                        lo: r.hi.offset(-1)?.scale(-1)?,
                        hi: r.lo.scale(-1)?.offset(1)?,
                    })
                });
                Some(ExprInfo {
                    value,
                    range,
                    origin: None,
                    reduced_axis: None,
                    ..info
                })
            }
            UnaryOp::Not => {
                if !self.boolean(operand, &info, "`!`") {
                    return None;
                }
                Some(ExprInfo {
                    origin: None,
                    reduced_axis: None,
                    ..info
                })
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, op_span: Span, lhs: &Expr, rhs: &Expr) -> Option<ExprInfo> {
        let l = self.expr(lhs);
        let r = if matches!(op, BinaryOp::And | BinaryOp::Or) {
            // `present(x) && x > 0` and `!present(x) || x > 0`: the right side, evaluated
            // only when the left side is true (`&&`) or false (`||`), sees `x` as present.
            let narrowed = self.narrowing(lhs, op == BinaryOp::And);
            self.narrowed.push(narrowed);
            let r = self.expr(rhs);
            self.narrowed.pop();
            r
        } else {
            self.expr(rhs)
        };
        let (l, r) = match (l, r) {
            (Some(l), Some(r)) => (l, r),
            (l, r) => {
                self.report_optional(&[(lhs, l.as_ref()), (rhs, r.as_ref())]);
                return None;
            }
        };
        let operation = format!("`{}`", op.symbol());
        let (elem, operands_ok) = match op {
            BinaryOp::And | BinaryOp::Or => {
                let ok = self.boolean(lhs, &l, &operation) & self.boolean(rhs, &r, &operation);
                (ElemType::Bool, ok)
            }
            BinaryOp::Eq | BinaryOp::Ne
                if l.ty.elem == ElemType::Bool && r.ty.elem == ElemType::Bool =>
            {
                let ok = self.boolean(lhs, &l, &operation) & self.boolean(rhs, &r, &operation);
                (ElemType::Bool, ok)
            }
            _ => {
                let ok = self.numeric(lhs, &l, &operation) & self.numeric(rhs, &r, &operation);
                let elem = match op {
                    BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge => ElemType::Bool,
                    BinaryOp::Div | BinaryOp::Pow => ElemType::Real,
                    _ => join_elem(l.ty.elem, r.ty.elem).unwrap_or(ElemType::Real),
                };
                (elem, ok)
            }
        };
        if !operands_ok {
            return None;
        }
        let shape = self.broadcast_or_report(op_span, &operation, (lhs, &l), (rhs, &r))?;
        let mut info = ExprInfo {
            params: l.params.union(&r.params).copied().collect(),
            ..ExprInfo::of(Type::array(elem, shape))
        };
        if elem == ElemType::Int {
            info.value = match (op, &l.value, &r.value) {
                (BinaryOp::Add, Some(a), Some(b)) => a.add(b),
                (BinaryOp::Sub, Some(a), Some(b)) => a.sub(b),
                (BinaryOp::Mul, Some(a), Some(b)) => a.mul(b),
                _ => None,
            };
            info.range = match (op, &l.range, &r.range) {
                (BinaryOp::Add, Some(a), Some(b)) => (|| {
                    Some(IntRange {
                        lo: a.lo.add(&b.lo)?,
                        hi: a.hi.add(&b.hi)?.offset(-1)?,
                    })
                })(),
                (BinaryOp::Sub, Some(a), Some(b)) => (|| {
                    Some(IntRange {
                        lo: a.lo.sub(&b.hi)?.offset(1)?,
                        hi: a.hi.sub(&b.lo)?,
                    })
                })(),
                (BinaryOp::Mul, Some(a), Some(b)) => {
                    let factor = |x: &IntRange| {
                        x.hi.sub(&x.lo)?
                            .as_constant()
                            .filter(|w| *w == 1)
                            .and(x.lo.as_constant())
                    };
                    match (factor(a), factor(b)) {
                        (Some(k), _) if k > 0 => (|| {
                            Some(IntRange {
                                lo: b.lo.scale(k)?,
                                hi: b.hi.offset(-1)?.scale(k)?.offset(1)?,
                            })
                        })(),
                        (_, Some(k)) if k > 0 => (|| {
                            Some(IntRange {
                                lo: a.lo.scale(k)?,
                                hi: a.hi.offset(-1)?.scale(k)?.offset(1)?,
                            })
                        })(),
                        _ => None,
                    }
                }
                _ => None,
            };
        }
        Some(info)
    }

    /// What `cond` proves when its value is `when`: `present(x) && t > 0` proves `x`
    /// present and `t` in `1..` when true, `!present(x) || t < 1` the same when false,
    /// and `!` swaps the two.
    fn narrowing(&self, cond: &Expr, when: bool) -> Narrowing {
        match &cond.kind {
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => self.narrowing(operand, !when),
            ExprKind::Binary { op, lhs, rhs, .. }
                if (*op == BinaryOp::And && when) || (*op == BinaryOp::Or && !when) =>
            {
                let mut out = self.narrowing(lhs, when);
                out.join(self.narrowing(rhs, when));
                out
            }
            ExprKind::Call { callee, args } if callee.name == "present" && when => {
                let mut out = Narrowing::default();
                if let [Arg { name: None, value }] = args.as_slice() {
                    out.present.extend(self.place_key(value));
                }
                out
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let mut out = Narrowing::default();
                out.ranges.extend(self.compared_range(*op, lhs, rhs, when));
                out
            }
            _ => Narrowing::default(),
        }
    }

    /// The range of an integer name compared with a value known when compiling (a
    /// literal, a size expression), `name OP bound` or `bound OP name`, where the
    /// comparison is `when`: `t > 0` puts `t` in `1..` (so `x[t - 1]` is in range), and
    /// `t < T - 1` in `..T - 1`. Each end is the tighter of the name's range and the
    /// comparison's, where provably tighter.
    fn compared_range(
        &self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        when: bool,
    ) -> Option<(SymbolId, IntRange)> {
        let (name, bound, op) = match (self.int_name(lhs), self.int_name(rhs)) {
            (Some(id), _) => (id, rhs, op),
            (None, Some(id)) => (id, lhs, mirrored(op)?),
            _ => return None,
        };
        let bound = self.static_value(bound)?;
        let current = self.current_range(name)?;
        // The comparison as `lo <= name < hi` where it is `when`.
        let (lo, hi) = match (op, when) {
            (BinaryOp::Gt, true) | (BinaryOp::Le, false) => (bound.offset(1), None),
            (BinaryOp::Ge, true) | (BinaryOp::Lt, false) => (Some(bound), None),
            (BinaryOp::Lt, true) | (BinaryOp::Ge, false) => (None, Some(bound)),
            (BinaryOp::Le, true) | (BinaryOp::Gt, false) => (None, bound.offset(1)),
            (BinaryOp::Eq, true) | (BinaryOp::Ne, false) => (Some(bound.clone()), bound.offset(1)),
            // `t != 0` (or the `else` of `t == 0`) at an end of the range moves that end:
            // `t` in `1..T`.
            (BinaryOp::Ne, true) | (BinaryOp::Eq, false) => {
                let is = |a: &Dim, b: &Dim| a.sub(b).and_then(|d| d.as_constant()) == Some(0);
                if is(&bound, &current.lo) {
                    (bound.offset(1), None)
                } else if current.hi.offset(-1).is_some_and(|last| is(&bound, &last)) {
                    (None, Some(bound))
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        let range = IntRange {
            lo: lo.map_or(current.lo.clone(), |lo| tighter(&current.lo, &lo, true)),
            hi: hi.map_or(current.hi.clone(), |hi| tighter(&current.hi, &hi, false)),
        };
        Some((name, range))
    }

    /// The symbol of `e` when it is a name of one `int` (not an array: an elementwise
    /// `&&` evaluates its right side at every element).
    fn int_name(&self, e: &Expr) -> Option<SymbolId> {
        let ExprKind::Name(n) = &e.kind else {
            return None;
        };
        let id = self.lookup(&n.name)?;
        let ty = &self.symbols[id.0 as usize].info.ty;
        (ty.elem == ElemType::Int && ty.is_scalar()).then_some(id)
    }

    /// The value of `e` known when compiling (a literal or a size expression), from its
    /// checked info.
    fn static_value(&self, e: &Expr) -> Option<Dim> {
        let info = self.infos.get(e.id.0 as usize)?.as_ref()?;
        if !info.ty.is_scalar() || info.ty.elem != ElemType::Int {
            return None;
        }
        info.value.clone()
    }

    /// The range of an integer name here: its narrowed range, else its own.
    fn current_range(&self, id: SymbolId) -> Option<IntRange> {
        self.narrowed
            .iter()
            .rev()
            .find_map(|n| n.ranges.get(&id))
            .cloned()
            .or_else(|| self.symbols[id.0 as usize].info.range.clone())
    }

    fn if_expr(&mut self, e: &Expr, want_value: bool) -> Option<ExprInfo> {
        let ExprKind::If {
            cond,
            then_block,
            else_block,
        } = &e.kind
        else {
            return None;
        };
        let cond_info = self.expr(cond);
        let cond_ok = match &cond_info {
            Some(info) => {
                let ok = self.boolean(cond, info, "an `if` condition");
                if ok && !info.ty.is_scalar() {
                    self.error(CheckError::ShapeMismatch {
                        span: cond.span,
                        context: "an `if` condition is one `bool`".into(),
                        expected: Vec::new(),
                        found: info.ty.shape.clone(),
                        expected_from: None,
                        hint: Some("for an elementwise choice use `where(cond, a, b)`".into()),
                    });
                    false
                } else {
                    ok
                }
            }
            None => false,
        };
        let narrowed = self.narrowing(cond, true);
        self.narrowed.push(narrowed);
        let condition_params = cond_info.as_ref().map(|c| c.params.clone());
        self.conditions.push(condition_params.unwrap_or_default());
        let then_info = self.block(then_block, want_value);
        self.narrowed.pop();
        // `if !present(x) { … } else { x … }`: the `else` branch runs where `cond` is false.
        let narrowed = self.narrowing(cond, false);
        self.narrowed.push(narrowed);
        let else_info = else_block.as_ref().map(|b| self.block(b, want_value));
        self.narrowed.pop();
        self.conditions.pop();
        let info = if want_value {
            let Some(else_info) = else_info else {
                self.error(CheckError::MissingValue {
                    span: e.span,
                    context: "an `if` without `else`".into(),
                    hint: Some("add an `else { … }` branch with a value of the same shape".into()),
                });
                return None;
            };
            let (t, f) = (then_info?, else_info?);
            if t.ty.shape != f.ty.shape {
                let else_span = else_block
                    .as_ref()
                    .and_then(|b| b.value.as_ref())
                    .map_or(e.span, |v| v.span);
                let then_span = then_block
                    .value
                    .as_ref()
                    .map_or(then_block.span, |v| v.span);
                self.error(CheckError::ShapeMismatch {
                    span: else_span,
                    context: "the branches of `if` must have one shape".into(),
                    expected: t.ty.shape.clone(),
                    found: f.ty.shape.clone(),
                    expected_from: Some(ShapeOrigin {
                        span: then_span,
                        note: format!(
                            "the `then` branch has shape {}",
                            shape_to_string(&t.ty.shape)
                        ),
                    }),
                    hint: None,
                });
                return None;
            }
            let Some(elem) = join_elem(t.ty.elem, f.ty.elem) else {
                self.error(CheckError::TypeMismatch {
                    span: e.span,
                    context: "the branches of `if`".into(),
                    expected: format!("{}", t.ty),
                    found: f.ty,
                    hint: None,
                });
                return None;
            };
            let mut params: BTreeSet<SymbolId> = t.params.union(&f.params).copied().collect();
            if let Some(c) = &cond_info {
                params.extend(c.params.iter().copied());
            }
            Some(ExprInfo {
                params,
                ..ExprInfo::of(Type {
                    elem,
                    optional: t.ty.optional || f.ty.optional,
                    shape: t.ty.shape,
                })
            })
        } else {
            None
        };
        if !cond_ok {
            return None;
        }
        info
    }

    fn block(&mut self, b: &Block, want_value: bool) -> Option<ExprInfo> {
        self.scopes.push(HashMap::new());
        self.block_stmts(b);
        let value = match (&b.value, want_value) {
            (Some(v), true) => self.expr(v),
            (Some(v), false) => {
                self.expr_stmt(v);
                None
            }
            (None, true) => {
                self.error(CheckError::MissingValue {
                    span: b.span,
                    context: "this block".into(),
                    hint: Some("end the block with the value it produces".into()),
                });
                None
            }
            (None, false) => None,
        };
        self.scopes.pop();
        value
    }

    // ---- Scan ----------------------------------------------------------------------

    fn scan(
        &mut self,
        e: &Expr,
        carry: &Ident,
        init: &Expr,
        sequences: &[Sequence],
        body: &Block,
    ) -> Option<ExprInfo> {
        let init_info = self.expr(init);
        let mut elements = Vec::new();
        let mut lengths: Vec<(Span, String, Dim)> = Vec::new();
        // Sequences that failed to check: their elements exist in the body
        // but report nothing more.
        let mut failed: Vec<&Sequence> = Vec::new();
        let mut ok = true;
        for seq in sequences {
            match &seq.source {
                SequenceSource::Array(xs) => match self.expr(xs) {
                    None => {
                        failed.push(seq);
                        ok = false;
                    }
                    Some(info) if !info.ty.is_scalar() => {
                        let mut element = info.clone();
                        element.ty.shape.remove(0);
                        element.origin = None;
                        element.value = None;
                        lengths.push((xs.span, seq.var.name.clone(), info.ty.shape[0].clone()));
                        elements.push((seq, element));
                    }
                    Some(info) => {
                        self.error(CheckError::ShapeMismatch {
                            span: xs.span,
                            context: "a scan sequence must be an array".into(),
                            expected: vec![Dim::size("n")],
                            found: info.ty.shape,
                            expected_from: None,
                            hint: Some("to loop over numbers write `t in 0..T`".into()),
                        });
                        failed.push(seq);
                        ok = false;
                    }
                },
                SequenceSource::Range { lo, hi } => {
                    let range = self.loop_range(lo, hi);
                    match &range {
                        Some(r) => match r.hi.sub(&r.lo) {
                            Some(len) => {
                                let span = lo.span.to(hi.span);
                                if self.require(
                                    len.clone(),
                                    span,
                                    format!("the range {r} must not run backwards"),
                                ) {
                                    lengths.push((span, seq.var.name.clone(), len));
                                } else {
                                    self.error(CheckError::BackwardsRange {
                                        span,
                                        range: r.clone(),
                                    });
                                    ok = false;
                                }
                            }
                            None => ok = false,
                        },
                        None => {
                            self.error(CheckError::NotASizeExpression {
                                span: lo.span.to(hi.span),
                                context: "the range of a scan sequence".into(),
                            });
                            ok = false;
                        }
                    }
                    let element = ExprInfo {
                        range,
                        ..ExprInfo::of(Type::scalar(ElemType::Int))
                    };
                    elements.push((seq, element));
                }
            }
        }
        if sequences.is_empty() {
            self.error(CheckError::MissingValue {
                span: e.span,
                context: "a scan without sequences".into(),
                hint: Some("give it something to loop over, e.g. `t in 0..T`".into()),
            });
            ok = false;
        }
        if let Some((_, _, first)) = lengths.first() {
            if lengths.iter().any(|(_, _, len)| len != first) {
                let header = sequences.first().map_or(e.span, |s| {
                    s.var.span.to(lengths.last().map_or(s.var.span, |l| l.0))
                });
                self.error(CheckError::ScanLengthMismatch {
                    span: header,
                    sequences: lengths.clone(),
                });
                ok = false;
            }
        }
        let init_info = match init_info {
            Some(info) if info.ty.optional => {
                self.optional_used(init, &info);
                None
            }
            other => other,
        };
        let mut carry_info = ExprInfo {
            range: None,
            value: None,
            origin: None,
            reduced_axis: None,
            ..init_info.clone()?
        };
        // What an earlier check of this scan learnt about its carry (the
        // widening only grows, so starting from it is sound).
        if let Some((real, params)) = self.scan_widening.get(&e.id) {
            if *real && carry_info.ty.elem == ElemType::Int {
                carry_info.ty.elem = ElemType::Real;
            }
            carry_info.params.extend(params.iter().copied());
        }
        // Check the body once with the carry as initialized; if the body turns
        // an integer carry into a real one, or makes it depend on a parameter,
        // check again with the widened carry (discarding the first pass's errors).
        let mut body_info;
        let mut pass = 0;
        loop {
            let mark = self.mark();
            self.scopes.push(HashMap::new());
            self.define(carry, SymbolKind::ScanCarry, carry_info.clone(), init.span);
            let mut counters = Vec::new();
            for (seq, element) in &elements {
                let id = self.define(
                    &seq.var,
                    SymbolKind::ScanElement,
                    element.clone(),
                    seq.var.span,
                );
                match &seq.source {
                    SequenceSource::Array(xs) => {
                        if let Some(source) = self.root_symbol(xs) {
                            self.element_of.insert(id, source);
                        }
                    }
                    SequenceSource::Range { .. } => counters.push(LoopCounter {
                        symbol: id,
                        lowest: element.range.as_ref().map(|r| r.lo.clone()),
                        end: element.range.as_ref().map(|r| r.hi.clone()),
                    }),
                }
            }
            for seq in &failed {
                let placeholder = ExprInfo::of(Type::scalar(ElemType::Real));
                let id = self.define(&seq.var, SymbolKind::ScanElement, placeholder, seq.var.span);
                self.poisoned.insert(id);
            }
            self.enter_loop(Some(carry), counters);
            body_info = self.block(body, true);
            self.leave_loop();
            self.scopes.pop();
            pass += 1;
            let Some(b) = &body_info else { break };
            let widen_elem = carry_info.ty.elem == ElemType::Int && b.ty.elem == ElemType::Real;
            let widen_dep = !b.params.is_subset(&carry_info.params);
            if pass >= 2 || !(widen_elem || widen_dep) {
                break;
            }
            self.rollback(&mark);
            if widen_elem {
                carry_info.ty.elem = ElemType::Real;
            }
            carry_info.params.extend(b.params.iter().copied());
        }
        self.scan_widening.insert(
            e.id,
            (
                carry_info.ty.elem == ElemType::Real,
                carry_info.params.clone(),
            ),
        );
        let body_info = body_info?;
        let body_span = body.value.as_ref().map_or(body.span, |v| v.span);
        let same_elem = body_info.ty.elem == carry_info.ty.elem
            || (carry_info.ty.elem == ElemType::Real && body_info.ty.elem == ElemType::Int);
        if !same_elem || body_info.ty.shape != carry_info.ty.shape || body_info.ty.optional {
            let hint = if body_info.ty.optional {
                Some("the next carry must never be missing: handle the missing case with `if present(…)`".to_string())
            } else if body.value.as_deref().is_some_and(updates_a_chained_index) {
                Some("`set_subtensor(Q[s][c], …)` is a copy of `Q[s]`, the part the first brackets pick, not of `Q`: index every axis in one bracket, `set_subtensor(Q[s, c], …)`, to update `Q` itself".to_string())
            } else if body_info.ty.shape.len() + 1 == carry_info.ty.shape.len() {
                Some("a reduction dropped an axis; `keepdims=true` keeps it".to_string())
            } else {
                None
            };
            self.error(CheckError::ScanCarryChanged {
                span: body_span,
                init_span: init.span,
                carry: carry_info.ty.clone(),
                body: body_info.ty.clone(),
                hint,
            });
            return None;
        }
        if !ok {
            return None;
        }
        let len = lengths.first().map(|(_, _, l)| l.clone())?;
        let mut shape = vec![len];
        shape.extend(carry_info.ty.shape.iter().cloned());
        Some(ExprInfo {
            params: carry_info
                .params
                .union(&body_info.params)
                .copied()
                .collect(),
            ..ExprInfo::of(Type::array(carry_info.ty.elem, shape))
        })
    }

    // ---- Indexing ----------------------------------------------------------------------

    fn index(&mut self, e: &Expr, base: &Expr, indices: &[IndexItem]) -> Option<ExprInfo> {
        let base_info = self.expr(base);
        let mut index_infos = Vec::new();
        for item in indices {
            match item {
                IndexItem::Single(i) => index_infos.push(self.expr(i)),
                IndexItem::Slice { start, stop, .. } => {
                    // Check both bounds even when the first fails, to report both.
                    let checked: Vec<bool> = [start, stop]
                        .into_iter()
                        .flatten()
                        .map(|x| {
                            self.size_position(x);
                            self.expr(x).is_some()
                        })
                        .collect();
                    let bounds_ok = checked.iter().all(|ok| *ok);
                    index_infos.push(bounds_ok.then(|| ExprInfo::of(Type::scalar(ElemType::Int))));
                }
            }
        }
        let Some(base_info) = base_info else {
            let operands: Vec<(&Expr, Option<&ExprInfo>)> = indices
                .iter()
                .zip(&index_infos)
                .filter_map(|(item, info)| match item {
                    IndexItem::Single(i) => Some((i, info.as_ref())),
                    IndexItem::Slice { .. } => None,
                })
                .collect();
            self.report_optional(&operands);
            return None;
        };
        let shape = &base_info.ty.shape;
        if indices.len() > shape.len() {
            self.error(CheckError::TooManyIndices {
                span: e.span,
                base_span: base.span,
                base_type: base_info.ty.clone(),
                count: indices.len(),
            });
            return None;
        }
        // The output is built from parts: kept axes, and the broadcast shape
        // of the advanced (array and, alongside arrays, scalar) indices.
        enum Part {
            Kept(Dim),
            Advanced,
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut axes = Vec::new();
        let mut advanced_shape: Vec<Dim> = Vec::new();
        let mut advanced_positions = Vec::new();
        let mut has_gather = false;
        let mut params = base_info.params.clone();
        let mut ok = true;
        for (axis, (item, info)) in indices.iter().zip(index_infos).enumerate() {
            let len = &shape[axis];
            match item {
                IndexItem::Single(ix) => {
                    let Some(info) = info else {
                        ok = false;
                        continue;
                    };
                    if info.ty.optional {
                        self.optional_used(ix, &info);
                        ok = false;
                        continue;
                    }
                    if info.ty.elem != ElemType::Int {
                        self.error(CheckError::NonIntegerIndex {
                            span: ix.span,
                            found: info.ty.clone(),
                        });
                        ok = false;
                        continue;
                    }
                    params.extend(info.params.iter().copied());
                    // A negative literal counts from the end, as in NumPy.
                    let constant = match info.value.as_ref().and_then(|v| v.as_constant()) {
                        Some(c) if c < 0 => len.offset(c),
                        _ => info.value.clone(),
                    };
                    let range = match &constant {
                        Some(c) => IntRange::single(c),
                        None => info.range.clone(),
                    };
                    let needs_check =
                        match self.check_bounds(ix, range, len, axis, base, &base_info) {
                            Some(n) => n,
                            None => {
                                ok = false;
                                continue;
                            }
                        };
                    if info.ty.is_scalar() {
                        axes.push(AxisIndex::Scalar {
                            constant,
                            needs_bounds_check: needs_check,
                        });
                    } else {
                        has_gather = true;
                        axes.push(AxisIndex::Gather {
                            needs_bounds_check: needs_check,
                        });
                    }
                    match broadcast(&advanced_shape, &info.ty.shape) {
                        Some(s) => advanced_shape = s,
                        None => {
                            self.error(CheckError::ShapeMismatch {
                                span: ix.span,
                                context: "index arrays must broadcast together".into(),
                                expected: advanced_shape.clone(),
                                found: info.ty.shape.clone(),
                                expected_from: None,
                                hint: None,
                            });
                            ok = false;
                        }
                    }
                    advanced_positions.push(parts.len());
                    parts.push(Part::Advanced);
                }
                IndexItem::Slice { start, stop, span } => {
                    if info.is_none() {
                        ok = false;
                        continue;
                    }
                    let bound = |x: &Option<Expr>, default: Dim, me: &Self| -> Option<Dim> {
                        match x {
                            None => Some(default),
                            Some(x) => {
                                let info = me.infos.get(x.id.0 as usize)?.as_ref()?;
                                let v = info.value.clone()?;
                                match v.as_constant() {
                                    Some(c) if c < 0 => len.offset(c),
                                    _ => Some(v),
                                }
                            }
                        }
                    };
                    let (Some(lo), Some(hi)) = (
                        bound(start, Dim::constant(0), self),
                        bound(stop, len.clone(), self),
                    ) else {
                        self.error(CheckError::NonStaticSlice { span: *span });
                        ok = false;
                        continue;
                    };
                    let checks = [
                        (
                            lo.clone(),
                            format!("the slice start {lo} must not be negative"),
                        ),
                        (
                            hi.sub(&lo).unwrap_or_default(),
                            format!("the slice {lo}:{hi} must not end before it starts"),
                        ),
                        (
                            len.sub(&hi).unwrap_or_default(),
                            format!("the slice end {hi} must not pass the axis length {len}"),
                        ),
                    ];
                    for (requirement, why) in checks {
                        if !self.require(requirement, *span, why) {
                            self.error(CheckError::IndexOutOfRange {
                                span: *span,
                                range: IntRange {
                                    lo: lo.clone(),
                                    hi: hi.clone(),
                                },
                                axis,
                                axis_len: len.clone(),
                                base_span: base.span,
                                base_type: base_info.ty.clone(),
                                hint: None,
                                declared: None,
                                repeats: 0,
                            });
                            ok = false;
                            break;
                        }
                    }
                    let Some(new_len) = hi.sub(&lo) else {
                        ok = false;
                        continue;
                    };
                    axes.push(AxisIndex::Slice {
                        start: lo,
                        stop: hi,
                    });
                    parts.push(Part::Kept(new_len));
                }
            }
        }
        if !ok {
            return None;
        }
        let mut out_shape = Vec::new();
        let contiguous = advanced_positions.windows(2).all(|w| w[1] == w[0] + 1);
        if has_gather && !contiguous {
            out_shape.extend(advanced_shape.iter().cloned());
        }
        for (i, part) in parts.iter().enumerate() {
            match part {
                Part::Kept(d) => out_shape.push(d.clone()),
                Part::Advanced
                    if has_gather && contiguous && advanced_positions.first() == Some(&i) =>
                {
                    out_shape.extend(advanced_shape.iter().cloned())
                }
                Part::Advanced => {}
            }
        }
        out_shape.extend(shape[indices.len()..].iter().cloned());
        self.indexes.insert(e.id, IndexInfo { axes });
        let optional =
            base_info.ty.optional && !self.place_key(e).is_some_and(|key| self.is_narrowed(&key));
        Some(ExprInfo {
            params,
            range: base_info.range.clone(),
            ..ExprInfo::of(Type {
                elem: base_info.ty.elem,
                optional,
                shape: out_shape,
            })
        })
    }

    /// Proves `range` within `0..len` (returns `Some(false)`: no check
    /// needed), leaves it to run time (`Some(true)`), or reports an index
    /// that is provably out of range (`None`).
    fn check_bounds(
        &mut self,
        index: &Expr,
        range: Option<IntRange>,
        len: &Dim,
        axis: usize,
        base: &Expr,
        base_info: &ExprInfo,
    ) -> Option<bool> {
        let Some(range) = range else {
            return Some(true);
        };
        let lo_ok = range.lo.provably_nonnegative();
        let hi_slack = len.sub(&range.hi);
        let hi_ok = hi_slack.as_ref().is_some_and(|d| d.provably_nonnegative());
        if lo_ok && hi_ok {
            return Some(false);
        }
        let lo_bad = range.lo.provably_negative();
        let hi_bad = hi_slack.as_ref().is_some_and(|d| d.provably_negative());
        if lo_bad || hi_bad {
            let declared = self.declared_range_source(index, &range);
            let hint = self.out_of_range_hint(index, &range, len).or_else(|| {
                let data = declared?;
                let symbol = &self.symbols[data.0 as usize];
                let (name, lo) = (&symbol.name, &range.lo);
                Some(format!(
                    "`{name}` is declared `in {range}`, which runs past this axis of length \
                     {len}: declare it `in {lo}..{}` if its values index this axis, or make the \
                     axis longer",
                    lo.add(len)?
                ))
            });
            self.error(CheckError::IndexOutOfRange {
                span: index.span,
                range,
                axis,
                axis_len: len.clone(),
                base_span: base.span,
                base_type: base_info.ty.clone(),
                hint,
                declared,
                repeats: 0,
            });
            return None;
        }
        Some(true)
    }

    /// The symbol a name expression, or the array an index expression
    /// takes elements of, refers to.
    fn root_symbol(&self, e: &Expr) -> Option<SymbolId> {
        root_name(e).and_then(|root| self.names.get(&root.id).copied())
    }

    /// The data variable whose declared range an index's range is: `c` in
    /// `q[c]`, where `c in choice` and `data choice: int[T] in 0..3`.
    fn declared_range_source(&self, index: &Expr, range: &IntRange) -> Option<SymbolId> {
        let mut symbol = self.root_symbol(index)?;
        // Each step goes to an earlier definition, so this ends; the bound
        // only guards against a cycle from a bug.
        for _ in 0..self.symbols.len() {
            let info = &self.symbols.get(symbol.0 as usize)?;
            if info.kind == SymbolKind::Data {
                return (info.info.range.as_ref() == Some(range)).then_some(symbol);
            }
            symbol = *self.element_of.get(&symbol)?;
        }
        None
    }

    /// One error for the indices that run past the same axis length because
    /// of one data declaration's range (`q[c]` written three times): the
    /// first, counting the others.
    fn merge_repeated_index_errors(&mut self) {
        let mut first: HashMap<(SymbolId, String), usize> = HashMap::new();
        let mut repeats: Vec<usize> = vec![0; self.errors.len()];
        let mut keep = vec![true; self.errors.len()];
        for (i, error) in self.errors.iter().enumerate() {
            if let CheckError::IndexOutOfRange {
                declared: Some(data),
                axis_len,
                ..
            } = error
            {
                match first.entry((*data, axis_len.to_string())) {
                    std::collections::hash_map::Entry::Occupied(at) => {
                        repeats[*at.get()] += 1;
                        keep[i] = false;
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(i);
                    }
                }
            }
        }
        let mut index = 0;
        self.errors.retain_mut(|error| {
            let i = index;
            index += 1;
            if let CheckError::IndexOutOfRange { repeats: n, .. } = error {
                *n = repeats[i];
            }
            keep[i]
        });
    }

    /// What to do about an index whose values run one past the end: a
    /// shifted loop index (`t + 1` over `0..T`) or 1-based codes.
    fn out_of_range_hint(&self, index: &Expr, range: &IntRange, len: &Dim) -> Option<String> {
        let past_by = |k: i64| len.offset(k).as_ref() == Some(&range.hi);
        if let ExprKind::Binary {
            op: BinaryOp::Add,
            lhs,
            rhs,
            ..
        } = &index.kind
        {
            if let (ExprKind::Name(name), ExprKind::Int(k)) = (&lhs.kind, &rhs.kind) {
                if *k <= 0 || !past_by(*k) {
                    return None;
                }
                let (start, stop) = (range.lo.offset(-k)?, len.offset(-k)?);
                let last = if *k == 1 {
                    "value".to_string()
                } else {
                    format!("{k} values")
                };
                return Some(format!(
                    "`{n} + {k}` is past the end at the last {last} of `{n}`: loop `{n}` over \
                     `{start}..{stop}`",
                    n = name.name,
                ));
            }
        }
        (past_by(1) && range.lo.as_constant() == Some(1)).then(|| {
            "the values are 1-based but indices start at 0: subtract 1 (`c - 1`)".to_string()
        })
    }

    // ---- Calls -----------------------------------------------------------------------------

    fn call(&mut self, e: &Expr, callee: &Ident, args: &[Arg]) -> Option<ExprInfo> {
        match callee.name.as_str() {
            "present" => return self.present(e, callee, args),
            "set_subtensor" | "inc_subtensor" => return self.set_subtensor(e, callee, args),
            "logp" => return self.logp(e, callee, args),
            _ => {}
        }
        let Some(sig) = builtins::function(&callee.name) else {
            let infos: Vec<Option<ExprInfo>> = args.iter().map(|a| self.expr(&a.value)).collect();
            let is_distribution = builtins::distribution(&callee.name).is_some();
            let names = builtins::FUNCTIONS
                .iter()
                .map(|f| f.name)
                .chain(builtins::SPECIAL_FORMS.iter().copied());
            // Python's `len(x)` is the size `x` is declared with, which is known here.
            let length = match (callee.name.as_str(), args, infos.first()) {
                ("len", [arg], Some(Some(info))) => info.ty.shape.first().map(|len| {
                    let what = simple_text(&arg.value).unwrap_or_else(|| "it".to_string());
                    format!("the length of `{what}` is the size it is declared with: write `{len}`")
                }),
                _ => None,
            };
            self.error(CheckError::UnknownFunction {
                span: callee.span,
                name: callee.name.clone(),
                suggestion: suggest(&callee.name, names),
                foreign: length.or_else(|| builtins::foreign_name(&callee.name)),
                is_distribution,
            });
            return None;
        };
        // The dimensions given to `arange`, `zeros`, `ones` and `fill` are sizes.
        let first_size = match sig.rule {
            ShapeRule::Arange | ShapeRule::Constant => Some(0),
            ShapeRule::Fill => Some(1),
            _ => None,
        };
        for (i, a) in args.iter().enumerate() {
            if a.name.is_none() && first_size.is_some_and(|first| i >= first) {
                self.size_position(&a.value);
            }
        }
        let infos: Vec<Option<ExprInfo>> = args.iter().map(|a| self.expr(&a.value)).collect();
        let bound = self.bind_function_args(e, sig, args);
        if bound.is_none() || infos.iter().any(|i| i.is_none()) {
            let operands: Vec<(&Expr, Option<&ExprInfo>)> = args
                .iter()
                .map(|a| &a.value)
                .zip(infos.iter().map(|i| i.as_ref()))
                .collect();
            self.report_optional(&operands);
            return None;
        }
        let bound = bound?;
        let info_of = |x: &Expr| -> Option<ExprInfo> {
            args.iter()
                .position(|a| std::ptr::eq(&a.value, x))
                .and_then(|i| infos[i].clone())
        };
        let arg_infos: Vec<ExprInfo> = bound
            .args
            .iter()
            .map(|x| info_of(x))
            .collect::<Option<_>>()?;
        let axis_raw = match bound.axis {
            Some(a) => match int_literal(a) {
                Some(v) => Some((v, a.span)),
                None => {
                    self.error(CheckError::BadOption {
                        span: a.span,
                        option: "axis",
                        reason: "must be an integer literal such as `1` or `-1`".into(),
                    });
                    return None;
                }
            },
            None => None,
        };
        let keepdims = match bound.keepdims {
            Some(k) => match &k.kind {
                ExprKind::Bool(b) => *b,
                _ => {
                    self.error(CheckError::BadOption {
                        span: k.span,
                        option: "keepdims",
                        reason: "must be `true` or `false`".into(),
                    });
                    return None;
                }
            },
            None => false,
        };
        let (info, axis) = self.apply_rule(e, sig, &bound.args, &arg_infos, axis_raw, keepdims)?;
        self.calls.insert(
            e.id,
            CallInfo {
                callee: Callee::Function(sig.function),
                args: bound.args.iter().map(|a| a.id).collect(),
                parameterization: 0,
                arg_names: bound.names,
                axis,
                keepdims,
            },
        );
        Some(info)
    }

    fn bind_function_args<'a>(
        &mut self,
        e: &Expr,
        sig: &FunctionSig,
        args: &'a [Arg],
    ) -> Option<BoundArgs<'a>> {
        let mut bound = BoundArgs {
            args: Vec::new(),
            names: Vec::new(),
            axis: None,
            keepdims: None,
        };
        let mut named: Vec<(&'static str, &'a Expr)> = Vec::new();
        let mut positional = Vec::new();
        let mut ok = true;
        for a in args {
            match &a.name {
                None => positional.push(&a.value),
                Some(n) if n.name == "axis" && sig.takes_axis => bound.axis = Some(&a.value),
                Some(n) if n.name == "keepdims" && sig.takes_keepdims => {
                    bound.keepdims = Some(&a.value)
                }
                Some(n) => match sig
                    .params
                    .iter()
                    .find(|p| **p == n.name)
                    .filter(|_| !sig.variadic)
                {
                    Some(p) => named.push((p, &a.value)),
                    None => {
                        let mut accepted: Vec<String> =
                            sig.params.iter().map(|p| p.to_string()).collect();
                        if sig.takes_axis {
                            accepted.push("axis".into());
                        }
                        if sig.takes_keepdims {
                            accepted.push("keepdims".into());
                        }
                        self.error(CheckError::UnknownArgument {
                            span: n.span,
                            callee: sig.name.to_string(),
                            argument: n.name.clone(),
                            suggestion: suggest(&n.name, accepted.iter().map(|s| s.as_str())),
                            accepted,
                            foreign: None,
                        });
                        ok = false;
                    }
                },
            }
        }
        if !ok {
            return None;
        }
        let expected = if sig.variadic {
            format!(
                "at least {} argument{}",
                sig.params.len(),
                if sig.params.len() == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "{} argument{}",
                sig.params.len(),
                if sig.params.len() == 1 { "" } else { "s" }
            )
        };
        if sig.variadic {
            if positional.len() < sig.params.len() {
                self.error(CheckError::WrongArity {
                    span: e.span,
                    callee: sig.name.to_string(),
                    expected,
                    found: positional.len(),
                });
                return None;
            }
            for (i, p) in positional.into_iter().enumerate() {
                bound.names.push(sig.params[i.min(sig.params.len() - 1)]);
                bound.args.push(p);
            }
            return Some(bound);
        }
        if positional.len() > sig.params.len() {
            self.error(CheckError::WrongArity {
                span: e.span,
                callee: sig.name.to_string(),
                expected,
                found: positional.len() + named.len(),
            });
            return None;
        }
        for (i, p) in sig.params.iter().enumerate() {
            let value = positional
                .get(i)
                .copied()
                .or_else(|| named.iter().find(|(n, _)| n == p).map(|(_, v)| *v));
            match value {
                Some(v) => {
                    bound.args.push(v);
                    bound.names.push(p);
                }
                None => {
                    self.error(CheckError::MissingArgument {
                        span: e.span,
                        callee: sig.name.to_string(),
                        argument: p.to_string(),
                    });
                    return None;
                }
            }
        }
        Some(bound)
    }

    /// Applies a function's shape rule. Returns the result and the axis the
    /// function works along (normalized), if it takes one.
    fn apply_rule(
        &mut self,
        e: &Expr,
        sig: &FunctionSig,
        args: &[&Expr],
        infos: &[ExprInfo],
        axis: Option<(i64, Span)>,
        keepdims: bool,
    ) -> Option<(ExprInfo, Option<usize>)> {
        let params: BTreeSet<SymbolId> = infos
            .iter()
            .flat_map(|i| i.params.iter().copied())
            .collect();
        let context = format!("`{}`", sig.name);
        let numeric_args = |me: &mut Self, which: &[usize]| -> bool {
            which
                .iter()
                .fold(true, |ok, &i| ok & me.numeric(args[i], &infos[i], &context))
        };
        let axis_of =
            |me: &mut Self, ndim: usize, default: Option<i64>| -> Result<Option<usize>, ()> {
                match axis.map(|(a, _)| a).or(default) {
                    None => Ok(None),
                    Some(a) => match normalize_axis(a, ndim) {
                        Some(n) => Ok(Some(n)),
                        None => {
                            me.error(CheckError::BadOption {
                                span: axis.map_or(e.span, |(_, s)| s),
                                option: "axis",
                                reason: format!(
                                    "axis {a} does not exist in a value with {ndim} dimensions"
                                ),
                            });
                            Err(())
                        }
                    },
                }
            };
        let result = |ty: Type| ExprInfo {
            params: params.clone(),
            ..ExprInfo::of(ty)
        };
        let size_value = |me: &mut Self, i: usize| -> Option<Dim> {
            let info = &infos[i];
            match (&info.value, info.ty.elem, info.ty.is_scalar()) {
                (Some(v), ElemType::Int, true) => {
                    if !me.require(
                        v.clone(),
                        args[i].span,
                        format!("the length `{v}` must not be negative"),
                    ) {
                        me.error(CheckError::NotASizeExpression {
                            span: args[i].span,
                            context: "a length (it is negative here)".into(),
                        });
                        return None;
                    }
                    Some(v.clone())
                }
                _ => {
                    me.error(CheckError::NotASizeExpression {
                        span: args[i].span,
                        context: format!("the length passed to `{}`", sig.name),
                    });
                    None
                }
            }
        };
        match sig.rule {
            ShapeRule::UnaryReal | ShapeRule::UnaryKeep => {
                if !numeric_args(self, &[0]) {
                    return None;
                }
                let elem = if sig.rule == ShapeRule::UnaryReal {
                    ElemType::Real
                } else {
                    infos[0].ty.elem
                };
                Some((result(Type::array(elem, infos[0].ty.shape.clone())), None))
            }
            ShapeRule::BinaryReal => {
                if !numeric_args(self, &[0, 1]) {
                    return None;
                }
                let shape = self.broadcast_or_report(
                    e.span,
                    &context,
                    (args[0], &infos[0]),
                    (args[1], &infos[1]),
                )?;
                Some((result(Type::array(ElemType::Real, shape)), None))
            }
            ShapeRule::AlongAxis => {
                if !numeric_args(self, &[0]) {
                    return None;
                }
                let shape = infos[0].ty.shape.clone();
                if shape.is_empty() {
                    self.error(CheckError::ShapeMismatch {
                        span: args[0].span,
                        context: format!("`{}` needs an array", sig.name),
                        // (A name that reads as what it is, not a size of the model.)
                        expected: vec![Dim::size("length")],
                        found: shape,
                        expected_from: None,
                        hint: None,
                    });
                    return None;
                }
                let a = axis_of(self, shape.len(), Some(-1)).ok()?;
                Some((result(Type::array(ElemType::Real, shape)), a))
            }
            ShapeRule::Reduce { real_result } => {
                if !numeric_args(self, &[0]) {
                    return None;
                }
                let input = &infos[0].ty.shape;
                if let (true, Some((_, span))) = (input.is_empty(), axis) {
                    self.error(CheckError::AxisOfScalar {
                        span,
                        argument: args[0].span,
                        function: sig.name.to_string(),
                    });
                    return None;
                }
                let a = axis_of(self, input.len(), None).ok()?;
                let elem = if real_result {
                    ElemType::Real
                } else {
                    infos[0].ty.elem
                };
                let mut info = match a {
                    None if keepdims => {
                        result(Type::array(elem, vec![Dim::constant(1); input.len()]))
                    }
                    None => result(Type::scalar(elem)),
                    Some(ax) => {
                        let mut shape = input.clone();
                        if keepdims {
                            shape[ax] = Dim::constant(1);
                            result(Type::array(elem, shape))
                        } else {
                            shape.remove(ax);
                            let mut info = result(Type::array(elem, shape.clone()));
                            info.reduced_axis = Some(ax);
                            info.origin = Some(ShapeOrigin {
                                span: e.span,
                                note: format!(
                                    "`{}` over axis {ax} removes that axis: {} becomes {}",
                                    sig.name,
                                    shape_to_string(input),
                                    shape_to_string(&shape)
                                ),
                            });
                            info
                        }
                    }
                };
                if !real_result
                    && elem == ElemType::Int
                    && matches!(
                        sig.function,
                        builtins::Function::Min | builtins::Function::Max
                    )
                {
                    info.range = infos[0].range.clone();
                }
                Some((info, a))
            }
            ShapeRule::Dot => {
                if !numeric_args(self, &[0, 1]) {
                    return None;
                }
                let (a, b) = (&infos[0].ty.shape, &infos[1].ty.shape);
                if a.len() != 1 || b.len() != 1 || a != b {
                    self.error(CheckError::ShapeMismatch {
                        span: args[1].span,
                        context: "`dot` takes two vectors of one length".into(),
                        expected: a.clone(),
                        found: b.clone(),
                        expected_from: Some(ShapeOrigin {
                            span: args[0].span,
                            note: format!("this has shape {}", shape_to_string(a)),
                        }),
                        hint: Some("for matrices use `matmul`".into()),
                    });
                    return None;
                }
                let elem = join_elem(infos[0].ty.elem, infos[1].ty.elem).unwrap_or(ElemType::Real);
                Some((result(Type::scalar(elem)), None))
            }
            ShapeRule::Matmul => {
                if !numeric_args(self, &[0, 1]) {
                    return None;
                }
                let (a, b) = (&infos[0].ty.shape, &infos[1].ty.shape);
                let inner_a = a.last();
                let inner_b = match b.len() {
                    1 => b.first(),
                    2 => b.first(),
                    _ => None,
                };
                let shape = match (a.len(), b.len()) {
                    (1 | 2, 1 | 2) if inner_a == inner_b => {
                        let mut s: Vec<Dim> = a[..a.len() - 1].to_vec();
                        s.extend(b[1..].iter().cloned());
                        Some(s)
                    }
                    _ => None,
                };
                let Some(shape) = shape else {
                    self.error(CheckError::ShapeMismatch {
                        span: args[1].span,
                        context: "`matmul` needs the last axis of `a` to match the first of `b`"
                            .into(),
                        expected: inner_a.cloned().into_iter().collect(),
                        found: b.clone(),
                        expected_from: Some(ShapeOrigin {
                            span: args[0].span,
                            note: format!("this has shape {}", shape_to_string(a)),
                        }),
                        hint: None,
                    });
                    return None;
                };
                let elem = join_elem(infos[0].ty.elem, infos[1].ty.elem).unwrap_or(ElemType::Real);
                Some((result(Type::array(elem, shape)), None))
            }
            ShapeRule::Concat | ShapeRule::Stack => {
                let all: Vec<usize> = (0..args.len()).collect();
                if !numeric_args(self, &all) {
                    return None;
                }
                let first = infos[0].ty.shape.clone();
                let mut elem = infos[0].ty.elem;
                let stack = sig.rule == ShapeRule::Stack;
                let ndim = if stack { first.len() + 1 } else { first.len() };
                if !stack && first.is_empty() {
                    self.error(CheckError::ShapeMismatch {
                        span: args[0].span,
                        context: "`concat` joins arrays".into(),
                        expected: vec![Dim::size("n")],
                        found: first,
                        expected_from: None,
                        hint: Some("to build an array from numbers use `[a, b]` or `stack`".into()),
                    });
                    return None;
                }
                let ax = axis_of(self, ndim, Some(0)).ok()?.unwrap_or(0);
                let mut total = Some(Dim::constant(0));
                for (i, info) in infos.iter().enumerate() {
                    elem = join_elem(elem, info.ty.elem).unwrap_or(ElemType::Real);
                    let s = &info.ty.shape;
                    let fits = if stack {
                        *s == first
                    } else {
                        s.len() == first.len()
                            && s.iter()
                                .zip(&first)
                                .enumerate()
                                .all(|(k, (x, y))| k == ax || x == y)
                    };
                    if !fits {
                        self.error(CheckError::ShapeMismatch {
                            span: args[i].span,
                            context: format!("`{}` needs compatible shapes", sig.name),
                            expected: first.clone(),
                            found: s.clone(),
                            expected_from: Some(ShapeOrigin {
                                span: args[0].span,
                                note: format!(
                                    "the first array has shape {}",
                                    shape_to_string(&first)
                                ),
                            }),
                            hint: None,
                        });
                        return None;
                    }
                    if !stack {
                        total = total.and_then(|t| t.add(&s[ax]));
                    }
                }
                let mut shape = first.clone();
                if stack {
                    shape.insert(ax, Dim::constant(args.len() as i64));
                } else {
                    shape[ax] = total?;
                }
                Some((result(Type::array(elem, shape)), Some(ax)))
            }
            ShapeRule::Where => {
                let cond_ok = self.boolean(args[0], &infos[0], "the condition of `where`");
                let values_ok = numeric_args(self, &[1, 2]);
                if !(cond_ok && values_ok) {
                    return None;
                }
                let xy = self.broadcast_or_report(
                    e.span,
                    &context,
                    (args[1], &infos[1]),
                    (args[2], &infos[2]),
                )?;
                let xy_info = ExprInfo::of(Type::array(ElemType::Real, xy));
                let shape = self.broadcast_or_report(
                    e.span,
                    &context,
                    (args[0], &infos[0]),
                    (args[1], &xy_info),
                )?;
                let elem = join_elem(infos[1].ty.elem, infos[2].ty.elem).unwrap_or(ElemType::Real);
                let mut info = result(Type::array(elem, shape));
                // Integers from two ranges stay in their union, as an `if`'s do, so that
                // `where(c, 0, 2)` used as an index is checked when compiling.
                if elem == ElemType::Int {
                    if let (Some(a), Some(b)) = (&infos[1].range, &infos[2].range) {
                        info.range = union_range(a, b);
                    }
                }
                Some((info, None))
            }
            ShapeRule::Arange => {
                let n = size_value(self, 0)?;
                let mut info = result(Type::array(ElemType::Int, vec![n.clone()]));
                info.range = Some(IntRange {
                    lo: Dim::constant(0),
                    hi: n,
                });
                Some((info, None))
            }
            ShapeRule::Constant => {
                let dims: Vec<Dim> = (0..args.len())
                    .map(|i| size_value(self, i))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Option<_>>()?;
                Some((result(Type::array(ElemType::Real, dims)), None))
            }
            ShapeRule::Fill => {
                if !numeric_args(self, &[0]) {
                    return None;
                }
                if !infos[0].ty.is_scalar() {
                    self.error(CheckError::ShapeMismatch {
                        span: args[0].span,
                        context: "`fill` takes one number to repeat".into(),
                        expected: Vec::new(),
                        found: infos[0].ty.shape.clone(),
                        expected_from: None,
                        hint: None,
                    });
                    return None;
                }
                let dims: Vec<Dim> = (1..args.len())
                    .map(|i| size_value(self, i))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Option<_>>()?;
                let mut info = result(Type::array(infos[0].ty.elem, dims));
                info.range = infos[0].range.clone();
                Some((info, None))
            }
        }
    }

    fn present(&mut self, e: &Expr, callee: &Ident, args: &[Arg]) -> Option<ExprInfo> {
        let infos: Vec<Option<ExprInfo>> = args.iter().map(|a| self.expr(&a.value)).collect();
        let [Arg { name: None, value }] = args else {
            self.error(CheckError::WrongArity {
                span: e.span,
                callee: callee.name.clone(),
                expected: "1 argument".into(),
                found: args.len(),
            });
            return None;
        };
        let info = infos.into_iter().next().flatten()?;
        self.calls.insert(
            e.id,
            CallInfo {
                callee: Callee::Present,
                args: vec![value.id],
                parameterization: 0,
                arg_names: vec!["x"],
                axis: None,
                keepdims: false,
            },
        );
        Some(ExprInfo {
            params: info.params,
            ..ExprInfo::of(Type::array(ElemType::Bool, info.ty.shape))
        })
    }

    fn set_subtensor(&mut self, e: &Expr, callee: &Ident, args: &[Arg]) -> Option<ExprInfo> {
        let infos: Vec<Option<ExprInfo>> = args.iter().map(|a| self.expr(&a.value)).collect();
        let (target, value) = match args {
            [Arg {
                name: None,
                value: t,
            }, Arg {
                name: None,
                value: v,
            }] => (t, v),
            _ => {
                self.error(CheckError::WrongArity {
                    span: e.span,
                    callee: callee.name.clone(),
                    expected: "2 arguments (`x[…]` and the new value)".into(),
                    found: args.len(),
                });
                return None;
            }
        };
        let ExprKind::Index { base, .. } = &target.kind else {
            self.error(CheckError::TypeMismatch {
                span: target.span,
                context: format!("the first argument of `{}`", callee.name),
                expected: "an indexed array such as `q[a]`".into(),
                found: infos[0]
                    .clone()
                    .map_or(Type::scalar(ElemType::Real), |i| i.ty),
                hint: Some(format!("write `{}(q[a], value)`", callee.name)),
            });
            return None;
        };
        let part = infos[0].clone()?;
        let new_value = infos[1].clone()?;
        let base_info = self.infos.get(base.id.0 as usize).cloned().flatten()?;
        if base_info.ty.optional {
            self.optional_used(base, &base_info);
            return None;
        }
        if !self.numeric(
            value,
            &new_value,
            &format!("the value of `{}`", callee.name),
        ) {
            return None;
        }
        if base_info.ty.elem == ElemType::Int && new_value.ty.elem == ElemType::Real {
            self.error(CheckError::TypeMismatch {
                span: value.span,
                context: format!("`{}` into an `int` array", callee.name),
                expected: "an `int` value".into(),
                found: new_value.ty.clone(),
                hint: Some("start from a real array, e.g. `[0.0, 0.0]`".into()),
            });
            return None;
        }
        if broadcast(&part.ty.shape, &new_value.ty.shape).as_ref() != Some(&part.ty.shape) {
            self.error(CheckError::ShapeMismatch {
                span: value.span,
                context: "the new value must fit the indexed part".into(),
                expected: part.ty.shape.clone(),
                found: new_value.ty.shape.clone(),
                expected_from: Some(ShapeOrigin {
                    span: target.span,
                    note: format!(
                        "the indexed part has shape {}",
                        shape_to_string(&part.ty.shape)
                    ),
                }),
                hint: None,
            });
            return None;
        }
        let callee_kind = if callee.name == "set_subtensor" {
            Callee::SetSubtensor
        } else {
            Callee::IncSubtensor
        };
        self.calls.insert(
            e.id,
            CallInfo {
                callee: callee_kind,
                args: vec![target.id, value.id],
                parameterization: 0,
                arg_names: vec!["x", "value"],
                axis: None,
                keepdims: false,
            },
        );
        Some(ExprInfo {
            params: part.params.union(&new_value.params).copied().collect(),
            ..ExprInfo::of(base_info.ty)
        })
    }

    // ---- Distributions ---------------------------------------------------------------------

    /// `logp(Normal(mu, sigma), y)`: the log density of `y` under the
    /// distribution, elementwise in the broadcast shape of `y` and the
    /// distribution's arguments.
    fn logp(&mut self, e: &Expr, callee: &Ident, args: &[Arg]) -> Option<ExprInfo> {
        let [Arg {
            name: None,
            value: dist,
        }, Arg {
            name: None,
            value: y,
        }] = args
        else {
            let expected = if args.len() == 2 {
                // Two, but one by name.
                "2 arguments by position, without names"
            } else {
                "2 arguments"
            };
            self.error(CheckError::WrongArity {
                span: e.span,
                callee: callee.name.clone(),
                expected: format!(
                    "{expected} (a distribution and a value: `logp(Normal(mu, sigma), y)`)"
                ),
                found: args.len(),
            });
            return None;
        };
        let is_distribution = match &dist.kind {
            ExprKind::Call { callee, .. } => {
                builtins::distribution(&callee.name).is_some()
                    || builtins::function(&callee.name).is_none()
            }
            _ => false,
        };
        if !is_distribution {
            let found = self
                .expr(dist)
                .map_or(Type::scalar(ElemType::Real), |i| i.ty);
            self.error(CheckError::TypeMismatch {
                span: dist.span,
                context: "the first argument of `logp`".into(),
                expected: "a distribution".into(),
                found,
                hint: Some(
                    "write `logp(Normal(mu, sigma), y)`: the distribution, then the value".into(),
                ),
            });
            return None;
        }
        let info = self.expr(y)?;
        if info.ty.optional {
            self.optional_used(y, &info);
            return None;
        }
        let (_, _, shape) = self.distribution(dist, &info, y.span, Role::Scored)?;
        let mut params = info.params.clone();
        for arg in call_args(dist) {
            if let Some(Some(arg_info)) = self.infos.get(arg.id.0 as usize) {
                params.extend(arg_info.params.iter().copied());
            }
        }
        self.calls.insert(
            e.id,
            CallInfo {
                callee: Callee::Logp,
                args: vec![dist.id, y.id],
                parameterization: 0,
                arg_names: vec!["dist", "value"],
                axis: None,
                keepdims: false,
            },
        );
        Some(ExprInfo {
            params,
            ..ExprInfo::of(Type::array(ElemType::Real, shape))
        })
    }

    /// Checks `dist` as the distribution of a value of type `target` (the
    /// observed left side of `~`, a parameter for a prior, or the value
    /// `logp` scores). Returns the signature, the resolved call and the
    /// shape of the log density (the target's; for `logp`, the target's and
    /// the arguments' broadcast).
    fn distribution(
        &mut self,
        dist: &Expr,
        target: &ExprInfo,
        target_span: Span,
        role: Role,
    ) -> Option<(&'static DistributionSig, CallInfo, Vec<Dim>)> {
        let is_prior = role == Role::Prior;
        let ExprKind::Call { callee, args } = &dist.kind else {
            return None;
        };
        let infos: Vec<Option<ExprInfo>> = args.iter().map(|a| self.expr(&a.value)).collect();
        let Some((sig, choice, order)) = self.bind_distribution_args(dist, callee, args) else {
            // The arguments are not checked against the distribution; their
            // missing values are still reported.
            let operands: Vec<(&Expr, Option<&ExprInfo>)> = args
                .iter()
                .map(|a| &a.value)
                .zip(infos.iter().map(|i| i.as_ref()))
                .collect();
            self.report_optional(&operands);
            return None;
        };
        let names = sig.parameterizations[choice];
        let values: Vec<&Expr> = order.iter().map(|k| &args[*k].value).collect();
        self.check_argument_ranges(sig, names, &values);
        let mut arg_infos = Vec::new();
        let mut ok = true;
        for (k, name) in order.iter().zip(names) {
            let Some(info) = infos[*k].clone() else {
                ok = false;
                continue;
            };
            let value = &args[*k].value;
            // A boundary is 0 or 1, an integer or a `bool` (`upper = correct`).
            if sig.range(name) == Some(ArgRange::Boundary) {
                if self.boundary(value, &info, role) {
                    arg_infos.push((value, info, *name));
                } else {
                    ok = false;
                }
                continue;
            }
            if sig.range(name) == Some(ArgRange::Accumulator) {
                if self.accumulator_index(value, &info, role) {
                    arg_infos.push((value, info, *name));
                } else {
                    ok = false;
                }
                continue;
            }
            if !self.numeric(value, &info, &format!("the `{name}` of `{}`", sig.name)) {
                ok = false;
                continue;
            }
            if sig.int_params.contains(name) && info.ty.elem != ElemType::Int {
                self.error(CheckError::TypeMismatch {
                    span: value.span,
                    context: format!("the `{name}` of `{}`", sig.name),
                    expected: "an integer".into(),
                    found: info.ty.clone(),
                    hint: None,
                });
                ok = false;
                continue;
            }
            arg_infos.push((value, info, *name));
        }
        if !ok {
            return None;
        }
        // The batch shape of the arguments, and for Categorical the number of
        // categories (OrderedLogistic's: one more than its cutpoints).
        let mut categories = None;
        let mut batch: Vec<Dim> = Vec::new();
        let mut batch_from: Option<(&Expr, ExprInfo)> = None;
        for (value, info, name) in &arg_infos {
            let mut shape = info.ty.shape.clone();
            if sig.distribution == Distribution::Lba && *name == "v" {
                // The drifts: one per accumulator along the last axis.
                if shape.pop().is_none() {
                    self.error(CheckError::ShapeMismatch {
                        span: value.span,
                        context: "`LBA` needs its mean drifts `v` along the last axis, one per accumulator (response option)".into(),
                        expected: vec![Dim::size("accumulators")],
                        found: Vec::new(),
                        expected_from: None,
                        hint: None,
                    });
                    return None;
                }
                categories = info.ty.shape.last().cloned();
            }
            let ordered = sig.distribution == Distribution::OrderedLogistic;
            if sig.support == Support::Categories && (!ordered || *name == "cutpoints") {
                match shape.pop() {
                    Some(k) if ordered => categories = k.offset(1),
                    Some(k) => categories = Some(k),
                    None => {
                        let what = if ordered {
                            "cutpoints"
                        } else {
                            "probabilities"
                        };
                        self.error(CheckError::ShapeMismatch {
                            span: value.span,
                            context: format!("`{}` needs its {what} along the last axis", sig.name),
                            expected: vec![Dim::size(if ordered {
                                "cutpoints"
                            } else {
                                "categories"
                            })],
                            found: Vec::new(),
                            expected_from: None,
                            hint: None,
                        });
                        return None;
                    }
                }
            }
            let as_info = ExprInfo {
                ty: Type::array(ElemType::Real, shape.clone()),
                ..(*info).clone()
            };
            batch = match &batch_from {
                None => shape,
                Some((prev_expr, prev_info)) => {
                    let prev_info = prev_info.clone();
                    self.broadcast_or_report(
                        dist.span,
                        &format!("the arguments of `{}`", sig.name),
                        (prev_expr, &prev_info),
                        (value, &as_info),
                    )?
                }
            };
            batch_from = Some((
                value,
                ExprInfo {
                    ty: Type::array(ElemType::Real, batch.clone()),
                    ..as_info
                },
            ));
        }
        // The arguments must not expand the observed value (or parameter);
        // `logp` takes the broadcast shape of both.
        let joint = broadcast(&target.ty.shape, &batch);
        let fits = match &joint {
            Some(shape) => role == Role::Scored || *shape == target.ty.shape,
            None => false,
        };
        if !fits {
            let (what, relation) = match role {
                Role::Prior => ("the parameter", "to the shape of"),
                Role::Observed => ("the observed value", "to the shape of"),
                Role::Scored => ("the value `logp` scores", "with"),
            };
            self.error(CheckError::ShapeMismatch {
                span: dist.span,
                context: format!(
                    "the arguments of `{}` must broadcast {relation} {what}",
                    sig.name
                ),
                expected: target.ty.shape.clone(),
                found: batch,
                expected_from: Some(ShapeOrigin {
                    span: target_span,
                    note: format!("{what} has shape {}", shape_to_string(&target.ty.shape)),
                }),
                hint: is_prior
                    .then(|| "declare the parameter's shape: `param x: real[J] ~ …`".to_string()),
            });
            return None;
        }
        if is_prior && sig.distribution == Distribution::LogDensity {
            self.error(CheckError::NotAllowedHere {
                span: dist.span,
                what: "`LogDensity` in a prior".into(),
                hint: Some(
                    "a prior written by hand is `target += …` (rlc cannot draw from it); `LogDensity` scores observed data, as `y ~ LogDensity(lp)`".into(),
                ),
            });
            return None;
        }
        if is_prior && sig.support.is_discrete() {
            self.error(CheckError::DiscretePrior {
                span: dist.span,
                distribution: sig.name.to_string(),
            });
            return None;
        }
        if !is_prior && sig.distribution == Distribution::Lba {
            let response = arg_infos.iter().find(|(_, _, name)| *name == "response");
            if let (Some((value, info, _)), Some(k)) = (response, &categories) {
                self.check_accumulator_range(value.span, info, k)?;
            }
        } else if !is_prior {
            self.check_observed_support(sig, target, target_span, categories.as_ref())?;
        }
        let call = CallInfo {
            callee: Callee::Distribution(sig.distribution),
            args: order.iter().map(|k| args[*k].value.id).collect(),
            parameterization: choice,
            arg_names: names.to_vec(),
            axis: None,
            keepdims: false,
        };
        self.calls.insert(dist.id, call.clone());
        Some((sig, call, joint?))
    }

    /// Whether `value`, given as `Wiener`'s `upper`, is a `bool` or an integer known to
    /// be 0 or 1 (a constant, or data whose declared codes make it so) in an
    /// observation; reports it otherwise. A runtime check would name the wrong thing:
    /// the response time, not the choice.
    fn boundary(&mut self, value: &Expr, info: &ExprInfo, role: Role) -> bool {
        let usage = "`rt ~ Wiener(alpha, tau, beta, delta, upper = choice - 1)` for choices coded 1 (the lower boundary) and 2 (the upper), declared `data choice: int[N, T] in 1..3`, or `upper = correct` for a `bool`";
        let says = format!("`upper` says which boundary an observed response reached: {usage}");
        if !self.observed_response(value, info, role, "upper", says) {
            return false;
        }
        if self.constant(value).is_some() || info.ty.elem == ElemType::Bool {
            // A constant is checked against ArgRange::Boundary with the others.
            return true;
        }
        if info.ty.elem != ElemType::Int {
            self.error(CheckError::TypeMismatch {
                span: value.span,
                context: "the `upper` of `Wiener`".into(),
                expected: "an integer (0 or 1) or a `bool`".into(),
                found: info.ty.clone(),
                hint: Some(usage.to_string()),
            });
            return false;
        }
        match &info.range {
            Some(r)
                if r.lo.as_constant().is_some_and(|lo| lo >= 0)
                    && r.hi.as_constant().is_some_and(|hi| hi <= 2) =>
            {
                true
            }
            Some(range) => {
                let hint = (range.lo.as_constant() == Some(1)).then(|| {
                    format!("1-based codes (as in hBayesDM's data) become `choice - 1`: {usage}")
                });
                self.error(CheckError::OutcomeOutsideSupport {
                    span: value.span,
                    range: range.clone(),
                    support: "0..2 (`Wiener`'s `upper`: 1 the upper boundary, 0 the lower)".into(),
                    hint,
                });
                false
            }
            None => {
                self.error(CheckError::TypeMismatch {
                    span: value.span,
                    context: "the `upper` of `Wiener`".into(),
                    expected: "an integer known to be 0 or 1 (or a `bool`)".into(),
                    found: info.ty.clone(),
                    hint: Some(format!("declare the data's codes: {usage}")),
                });
                false
            }
        }
    }

    /// Whether `value`, given as the argument `name` that says which response an
    /// observation is of (`Distribution::response_argument`), is present data in an
    /// observation; reports a missing value, or the argument in a prior (with `says`).
    fn observed_response(
        &mut self,
        value: &Expr,
        info: &ExprInfo,
        role: Role,
        name: &str,
        says: String,
    ) -> bool {
        if info.ty.optional {
            self.optional_used(value, info);
            return false;
        }
        if role == Role::Prior {
            self.error(CheckError::NotAllowedHere {
                span: value.span,
                what: format!("`{name}` in a prior"),
                hint: Some(says),
            });
            return false;
        }
        true
    }

    /// Whether `value`, given as `LBA`'s `response`, is an integer (or a constant) in an
    /// observation; reports it otherwise. Its range is checked against the number of
    /// accumulators once the drifts' shape is known (`check_accumulator_range`).
    fn accumulator_index(&mut self, value: &Expr, info: &ExprInfo, role: Role) -> bool {
        let says = format!(
            "`response` says which accumulator an observed response came from: {LBA_USAGE}"
        );
        if !self.observed_response(value, info, role, "response", says) {
            return false;
        }
        if info.ty.elem != ElemType::Int {
            self.error(CheckError::TypeMismatch {
                span: value.span,
                context: "the `response` of `LBA`".into(),
                expected: "an integer, the 0-based index of an accumulator".into(),
                found: info.ty.clone(),
                hint: Some(LBA_USAGE.to_string()),
            });
            return false;
        }
        true
    }

    /// Reports an `LBA` `response` whose declared range reaches outside `0..K`, `K`
    /// the number of accumulators (1-based codes, most often). Where the range is not
    /// known the log density checks each index when it runs.
    fn check_accumulator_range(&mut self, span: Span, info: &ExprInfo, k: &Dim) -> Option<()> {
        let Some(range) = info.range.clone() else {
            return Some(());
        };
        let hi_bad = k.sub(&range.hi).is_some_and(|d| d.provably_negative());
        if !range.lo.provably_negative() && !hi_bad {
            return Some(());
        }
        let hint = (range.lo.as_constant() == Some(1)).then(|| {
            format!("1-based codes (as in hBayesDM's data) become `choice - 1`: {LBA_USAGE}")
        });
        self.error(CheckError::OutcomeOutsideSupport {
            span,
            range,
            support: format!("0..{k} (`LBA`'s `response`: an accumulator of `v`'s last axis)"),
            hint,
        });
        None
    }

    /// Resolves a distribution call: its signature, the parameterization its
    /// keywords choose, and for each argument name of it the index of the
    /// argument that gives it. Reports unknown names and wrong arities.
    fn bind_distribution_args(
        &mut self,
        dist: &Expr,
        callee: &Ident,
        args: &[Arg],
    ) -> Option<(&'static DistributionSig, usize, Vec<usize>)> {
        let Some(sig) = builtins::distribution(&callee.name) else {
            let names = builtins::DISTRIBUTIONS.iter().map(|d| d.name);
            self.error(CheckError::UnknownDistribution {
                span: callee.span,
                name: callee.name.clone(),
                suggestion: suggest(&callee.name, names),
                foreign: builtins::foreign_name(&callee.name),
                is_function: builtins::function(&callee.name).is_some(),
            });
            return None;
        };
        // Keyword arguments choose the parameterization; positional ones fill it in order.
        let keywords: Vec<&Ident> = args.iter().filter_map(|a| a.name.as_ref()).collect();
        let choice = sig
            .parameterizations
            .iter()
            .position(|names| keywords.iter().all(|k| names.contains(&k.name.as_str())));
        let Some(choice) = choice else {
            let accepted: Vec<String> = sig
                .parameterizations
                .iter()
                .flat_map(|p| p.iter())
                .map(|s| s.to_string())
                .collect::<Vec<_>>();
            let mut accepted_unique = accepted.clone();
            accepted_unique.dedup();
            let bad = keywords
                .iter()
                .find(|k| !accepted.iter().any(|a| a == &k.name))
                .or(keywords.last())
                .copied();
            if let Some(bad) = bad {
                self.error(CheckError::UnknownArgument {
                    span: bad.span,
                    callee: sig.name.to_string(),
                    argument: bad.name.clone(),
                    suggestion: suggest(&bad.name, accepted.iter().map(|s| s.as_str())),
                    foreign: crate::builtins::foreign_argument(sig.name, &bad.name),
                    accepted: sig
                        .parameterizations
                        .iter()
                        .map(|p| format!("({})", p.join(", ")))
                        .collect(),
                });
            }
            return None;
        };
        let names = sig.parameterizations[choice];
        let positional: Vec<usize> = (0..args.len())
            .filter(|i| args[*i].name.is_none())
            .collect();
        if positional.len() > names.len() {
            self.error(CheckError::WrongArity {
                span: dist.span,
                callee: sig.name.to_string(),
                expected: format!(
                    "{} argument{} ({})",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                found: args.len(),
            });
            return None;
        }
        let mut order = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let index = positional.get(i).copied().or_else(|| {
                args.iter()
                    .position(|a| a.name.as_ref().is_some_and(|n| n.name == *name))
            });
            match index {
                Some(k) => order.push(k),
                None => {
                    self.error(CheckError::MissingArgument {
                        span: dist.span,
                        callee: sig.name.to_string(),
                        argument: name.to_string(),
                    });
                    return None;
                }
            }
        }
        Some((sig, choice, order))
    }

    /// The value of `e` when it is known when compiling.
    fn constant(&self, e: &Expr) -> Option<Constant> {
        Constant::of(e, &|name: &Expr| {
            let id = self.names.get(&name.id)?;
            self.constants.get(id).cloned()
        })
    }

    /// Reports the arguments whose value is known and outside what the
    /// distribution allows (`sigma > 0`, `p` in `[0, 1]`, …), as the table
    /// in `builtins` gives it. `names` and `values` are in signature order.
    fn check_argument_ranges(
        &mut self,
        sig: &'static DistributionSig,
        names: &'static [&'static str],
        values: &[&Expr],
    ) {
        let constants: Vec<Option<Constant>> = values.iter().map(|v| self.constant(v)).collect();
        for (i, name) in names.iter().enumerate() {
            let (Some(range), Some(Some(value))) = (sig.range(name), constants.get(i)) else {
                continue;
            };
            let other = match range {
                ArgRange::Above(other) => names.iter().position(|n| *n == other),
                _ => None,
            };
            let other_value = other.and_then(|j| constants.get(j)?.as_ref());
            let Some(violation) = value.violation(range, other_value) else {
                continue;
            };
            self.error(CheckError::ArgumentOutsideRange {
                span: values[i].span,
                distribution: sig.name,
                parameterization: names,
                argument: name,
                requirement: violation.requirement,
                found: violation.found,
                other: other.map(|j| (values[j].span, names[j])),
            });
        }
    }

    fn check_observed_support(
        &mut self,
        sig: &DistributionSig,
        target: &ExprInfo,
        span: Span,
        categories: Option<&Dim>,
    ) -> Option<()> {
        let elem = target.ty.elem;
        let ok_elem = match sig.support {
            Support::Binary => matches!(elem, ElemType::Int | ElemType::Bool),
            s if s.is_discrete() => elem == ElemType::Int,
            _ => matches!(elem, ElemType::Int | ElemType::Real),
        };
        if !ok_elem {
            self.error(CheckError::TypeMismatch {
                span,
                context: format!("a value observed with `{}`", sig.name),
                expected: if sig.support.is_discrete() {
                    "integers".into()
                } else {
                    "numbers".into()
                },
                found: target.ty.clone(),
                hint: None,
            });
            return None;
        }
        let Some(range) = target.range.clone() else {
            return Some(());
        };
        let upper = match sig.support {
            Support::Binary => Some(Dim::constant(2)),
            Support::Categories => categories.cloned(),
            _ => None,
        };
        let lo_bad = matches!(
            sig.support,
            Support::Binary | Support::Categories | Support::Counts | Support::UpToFirstArg
        ) && range.lo.provably_negative();
        let hi_bad = upper
            .as_ref()
            .and_then(|u| u.sub(&range.hi))
            .is_some_and(|d| d.provably_negative());
        if lo_bad || hi_bad {
            let support = match (&sig.support, &upper) {
                (_, Some(u)) => format!("0..{u}"),
                _ => "0, 1, 2, …".to_string(),
            };
            let hint = (range.lo.as_constant() == Some(1)).then(|| {
                format!("`{}` outcomes are 0-based; 1-based codes (as in hBayesDM's data) become `c - 1`", sig.name)
            });
            self.error(CheckError::OutcomeOutsideSupport {
                span,
                range,
                support,
                hint,
            });
            return None;
        }
        Some(())
    }
}

/// How `LBA` is written, for its errors' hints.
const LBA_USAGE: &str = "`rt ~ LBA(d, A, v, s, tau, response = choice - 1)` for choices coded 1, 2, …, declared `data choice: int[N, T] in 1..K + 1`, with `v` a `real[K]` of mean drifts";

/// The name an expression is, or is an element of: `choice` in `choice[n, t]`.
fn root_name(e: &Expr) -> Option<&Expr> {
    match &e.kind {
        ExprKind::Name(_) => Some(e),
        ExprKind::Index { base, .. } => root_name(base),
        _ => None,
    }
}

/// The argument values of a call (a distribution), in source order.
fn call_args(call: &Expr) -> impl Iterator<Item = &Expr> {
    let args = match &call.kind {
        ExprKind::Call { args, .. } => args.as_slice(),
        _ => &[],
    };
    args.iter().map(|a| &a.value)
}

/// The smallest range holding both, when the comparison is provable.
fn union_range(a: &IntRange, b: &IntRange) -> Option<IntRange> {
    let pick = |x: &Dim, y: &Dim, smaller: bool| -> Option<Dim> {
        let d = x.sub(y)?;
        if d.provably_nonnegative() {
            Some(if smaller { y.clone() } else { x.clone() })
        } else if d.provably_negative() {
            Some(if smaller { x.clone() } else { y.clone() })
        } else {
            None
        }
    };
    Some(IntRange {
        lo: pick(&a.lo, &b.lo, true)?,
        hi: pick(&a.hi, &b.hi, false)?,
    })
}

/// Whether a block observes anything (`~` or `target +=`) at any depth.
/// Code that did not parse, and an `out` (an error inside a loop), count
/// as observing: no warning on top of errors.
fn block_observes(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Tilde { .. } | Stmt::TargetAdd { .. } | Stmt::Error(_) => true,
        Stmt::Let { is_out: true, .. } => true,
        Stmt::For { body, .. } => block_observes(body),
        Stmt::Let { value, .. } | Stmt::Expr(value) => expr_observes(value),
    }) || b.value.as_deref().is_some_and(expr_observes)
}

fn expr_observes(e: &Expr) -> bool {
    let mut found = false;
    visit_expr(e, &mut |x| match &x.kind {
        ExprKind::Scan { body, .. } => found |= block_observes(body),
        ExprKind::If {
            then_block,
            else_block,
            ..
        } => found |= block_observes(then_block) || else_block.as_ref().is_some_and(block_observes),
        ExprKind::Error => found = true,
        _ => {}
    });
    found
}

/// Whether `e` (a scan body's value, through the branches of an `if`) is
/// `set_subtensor(x[i][j], …)` or `inc_subtensor(…)` of such a chained
/// index: a copy of `x[i]`, which a carry `x` was most likely meant to be.
fn updates_a_chained_index(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { callee, args }
            if callee.name == "set_subtensor" || callee.name == "inc_subtensor" =>
        {
            args.first().is_some_and(|a| match &a.value.kind {
                ExprKind::Index { base, .. } => matches!(base.kind, ExprKind::Index { .. }),
                _ => false,
            })
        }
        ExprKind::If {
            then_block,
            else_block,
            ..
        } => [Some(then_block), else_block.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|b| b.value.as_deref())
            .any(updates_a_chained_index),
        _ => false,
    }
}

/// What a distribution is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The left side of `~`: the arguments must not expand it.
    Observed,
    /// A parameter's prior.
    Prior,
    /// The value `logp` scores: the result takes the broadcast shape.
    Scored,
}

/// What a condition proves where it is known to hold (or to fail): the optional values
/// present there, by [`place_key`](Checker::place_key), and the integer names in a
/// narrower range.
#[derive(Default)]
struct Narrowing {
    present: HashSet<String>,
    ranges: HashMap<SymbolId, IntRange>,
}

impl Narrowing {
    /// Both facts hold (`a && b` true): the union, each name in the tighter range.
    fn join(&mut self, other: Narrowing) {
        self.present.extend(other.present);
        for (id, range) in other.ranges {
            let joined = match self.ranges.get(&id) {
                Some(r) => IntRange {
                    lo: tighter(&r.lo, &range.lo, true),
                    hi: tighter(&r.hi, &range.hi, false),
                },
                None => range,
            };
            self.ranges.insert(id, joined);
        }
    }
}

/// `a OP b` written as `b OP' a`: `0 < t` is `t > 0`.
fn mirrored(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        BinaryOp::Eq => BinaryOp::Eq,
        BinaryOp::Ne => BinaryOp::Ne,
        _ => return None,
    })
}

/// The tighter of two bounds of one range (the larger lower bound, `lower`, or the smaller
/// upper one) where their difference is provably signed; else `current`, which holds
/// anyway.
fn tighter(current: &Dim, new: &Dim, lower: bool) -> Dim {
    let (big, small) = if lower {
        (new, current)
    } else {
        (current, new)
    };
    match big.sub(small) {
        Some(d) if d.provably_nonnegative() => new.clone(),
        _ => current.clone(),
    }
}
