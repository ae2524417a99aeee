//! The abstract syntax tree of a `.rlm` program. Every node keeps its byte
//! span; every expression has an [`ExprId`], dense from 0, so that later
//! stages attach facts (types, shapes, resolutions) in side tables.

use std::cell::Cell;
use std::fmt;

/// A byte range in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// The index of an expression in its program, dense from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

/// Hands out expression ids while parsing.
#[derive(Debug, Default)]
pub struct IdGen {
    next: Cell<u32>,
}

impl IdGen {
    pub fn next(&self) -> ExprId {
        let id = self.next.get();
        self.next.set(id + 1);
        ExprId(id)
    }
    pub fn count(&self) -> usize {
        self.next.get() as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub items: Vec<Item>,
    /// How many expressions the program has (ids are `0..expr_count`).
    pub expr_count: usize,
}

/// A top-level item: a declaration or a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Size(SizeDecl),
    Data(DataDecl),
    Param(ParamDecl),
    Stmt(Stmt),
}

/// `size N`, `size N by subjID` or `size K = max(choice)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeDecl {
    pub name: Ident,
    pub group_by: Option<Ident>,
    pub largest_of: Option<LargestOf>,
    /// `size L = 3`: the value where the data do not give one (a setting).
    pub default: Option<i64>,
    pub span: Span,
}

/// `= max(choice)` or `= max(choice) + 1` in a size declaration: the size is
/// the largest value of a data variable (plus a constant), found when the data
/// are loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LargestOf {
    /// The function written, `max` (the checker refuses any other).
    pub function: Ident,
    /// The data variable, `choice`.
    pub data: Ident,
    /// The constant added, `0` when none is written.
    pub plus: i64,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemType {
    Int,
    Real,
    Bool,
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElemType::Int => "int",
            ElemType::Real => "real",
            ElemType::Bool => "bool",
        })
    }
}

/// A written type such as `int?[N, T]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub elem: ElemType,
    pub optional: bool,
    pub dims: Vec<Expr>,
    pub span: Span,
}

/// `in LO..HI` (a half-open integer range) or an interval of reals: `in (LO, HI)`
/// (open), `in [LO, HI]` (closed), `in [LO, HI)` or `in (LO, HI]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bounds {
    IntRange {
        lo: Expr,
        hi: Expr,
        span: Span,
    },
    Interval {
        lo: Expr,
        hi: Expr,
        /// `[`: the lower end itself is allowed.
        lo_closed: bool,
        /// `]`: the upper end itself is allowed.
        hi_closed: bool,
        span: Span,
    },
}

impl Bounds {
    pub fn span(&self) -> Span {
        match self {
            Bounds::IntRange { span, .. } | Bounds::Interval { span, .. } => *span,
        }
    }
}

/// `data x: TYPE [in BOUNDS] [= DEFAULT]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub bounds: Option<Bounds>,
    /// The value of a scalar the data file leaves out (`data RTbound: real = 0.1`).
    pub default: Option<Expr>,
    pub span: Span,
}

/// `param x [: TYPE] [in BOUNDS] [~ PRIOR]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub bounds: Option<Bounds>,
    pub prior: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `let x = e` or, with `is_out`, `out x = e`; with `indices`, an out
    /// written in loops, `out x[n, t] = e`: one element per step, indexed by
    /// the enclosing loops' variables.
    Let {
        name: Ident,
        indices: Vec<Ident>,
        value: Expr,
        is_out: bool,
        span: Span,
    },
    /// `e ~ Dist(args)`.
    Tilde { lhs: Expr, dist: Expr, span: Span },
    /// `target += e`.
    TargetAdd { value: Expr, span: Span },
    /// `for i in lo..hi { … }`.
    For {
        var: Ident,
        lo: Expr,
        hi: Expr,
        body: Block,
        span: Span,
    },
    /// An expression whose value is the block's value when it comes last.
    Expr(Expr),
    /// Where the parser recovered from a syntax error.
    Error(Span),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Let { span, .. }
            | Stmt::Tilde { span, .. }
            | Stmt::TargetAdd { span, .. }
            | Stmt::For { span, .. }
            | Stmt::Error(span) => *span,
            Stmt::Expr(e) => e.span,
        }
    }
}

/// `{ statements; value }`: the value is the trailing expression, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub value: Option<Box<Expr>>,
    pub span: Span,
}

impl Block {
    /// Splits a trailing expression statement off as the block's value.
    pub fn new(mut stmts: Vec<Stmt>, span: Span) -> Block {
        let value = match stmts.last() {
            Some(Stmt::Expr(_)) => match stmts.pop() {
                Some(Stmt::Expr(e)) => Some(Box::new(e)),
                _ => None,
            },
            _ => None,
        };
        Block { stmts, value, span }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

/// A call argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

/// One position inside `x[…]`.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexItem {
    /// `x[i]` or a gather `x[idx_array]`.
    Single(Expr),
    /// `x[a:b]`, `x[a:]`, `x[:b]`, `x[:]`.
    Slice {
        start: Option<Expr>,
        stop: Option<Expr>,
        span: Span,
    },
}

/// `name in xs` or `name in lo..hi` in a scan header.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub var: Ident,
    pub source: SequenceSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SequenceSource {
    Array(Expr),
    Range { lo: Expr, hi: Expr },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Real(f64),
    Bool(bool),
    Name(Ident),
    Array(Vec<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        callee: Ident,
        args: Vec<Arg>,
    },
    Index {
        base: Box<Expr>,
        indices: Vec<IndexItem>,
    },
    Scan {
        carry: Ident,
        init: Box<Expr>,
        sequences: Vec<Sequence>,
        body: Block,
    },
    If {
        cond: Box<Expr>,
        then_block: Block,
        else_block: Option<Block>,
    },
    /// Where the parser recovered from a syntax error.
    Error,
}

/// Calls `f` on every expression of the program, parents before children.
pub fn visit_exprs(program: &Program, f: &mut dyn FnMut(&Expr)) {
    visit_top_level_exprs(program, &mut |e| visit_expr(e, &mut *f));
}

/// Calls `f` on each outermost expression of the program (those not inside
/// another expression), in source order.
pub fn visit_top_level_exprs<'a>(program: &'a Program, f: &mut dyn FnMut(&'a Expr)) {
    fn stmt<'a>(s: &'a Stmt, f: &mut dyn FnMut(&'a Expr)) {
        match s {
            Stmt::Let { value, .. } | Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => f(value),
            Stmt::Tilde { lhs, dist, .. } => {
                f(lhs);
                f(dist);
            }
            Stmt::For { lo, hi, body, .. } => {
                f(lo);
                f(hi);
                for s in &body.stmts {
                    stmt(s, f);
                }
                if let Some(v) = &body.value {
                    f(v);
                }
            }
            Stmt::Error(_) => {}
        }
    }
    for item in &program.items {
        match item {
            Item::Size(_) => {}
            Item::Data(d) => {
                d.ty.dims.iter().for_each(&mut *f);
                if let Some(Bounds::IntRange { lo, hi, .. } | Bounds::Interval { lo, hi, .. }) =
                    &d.bounds
                {
                    f(lo);
                    f(hi);
                }
            }
            Item::Param(p) => {
                if let Some(t) = &p.ty {
                    t.dims.iter().for_each(&mut *f);
                }
                if let Some(Bounds::IntRange { lo, hi, .. } | Bounds::Interval { lo, hi, .. }) =
                    &p.bounds
                {
                    f(lo);
                    f(hi);
                }
                if let Some(prior) = &p.prior {
                    f(prior);
                }
            }
            Item::Stmt(s) => stmt(s, f),
        }
    }
}

/// Calls `f` on each direct sub-expression of `e` (statements inside
/// blocks included), without recursing further.
pub fn for_each_child<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    fn block<'a>(b: &'a Block, f: &mut dyn FnMut(&'a Expr)) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, .. } | Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => {
                    f(value)
                }
                Stmt::Tilde { lhs, dist, .. } => {
                    f(lhs);
                    f(dist);
                }
                Stmt::For { lo, hi, body, .. } => {
                    f(lo);
                    f(hi);
                    block(body, f);
                }
                Stmt::Error(_) => {}
            }
        }
        if let Some(v) = &b.value {
            f(v);
        }
    }
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Real(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
        ExprKind::Array(items) => items.iter().for_each(&mut *f),
        ExprKind::Unary { operand, .. } => f(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| f(&a.value)),
        ExprKind::Index { base, indices } => {
            f(base);
            for index in indices {
                match index {
                    IndexItem::Single(i) => f(i),
                    IndexItem::Slice { start, stop, .. } => {
                        start.iter().chain(stop.iter()).for_each(&mut *f)
                    }
                }
            }
        }
        ExprKind::Scan {
            init,
            sequences,
            body,
            ..
        } => {
            f(init);
            for s in sequences {
                match &s.source {
                    SequenceSource::Array(x) => f(x),
                    SequenceSource::Range { lo, hi } => {
                        f(lo);
                        f(hi);
                    }
                }
            }
            block(body, f);
        }
        ExprKind::If {
            cond,
            then_block,
            else_block,
        } => {
            f(cond);
            block(then_block, f);
            if let Some(b) = else_block {
                block(b, f);
            }
        }
    }
}

/// Calls `f` on `e` and every expression inside it, parents first.
pub fn visit_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    for_each_child(e, &mut |c| visit_expr(c, &mut *f));
}

/// The text of a small expression as it would be written (`choice[n, t]`,
/// `T - 1`, `-0.5`), for hints that show the user's own code rewritten;
/// `None` for anything else (blocks, long or nested calls).
pub fn simple_text(e: &Expr) -> Option<String> {
    fn go(e: &Expr, depth: usize) -> Option<String> {
        if depth > 4 {
            return None;
        }
        let sub = |x: &Expr| go(x, depth + 1);
        // An operand that is itself an operation is parenthesized: no
        // precedence to get wrong.
        let operand = |x: &Expr| match x.kind {
            ExprKind::Binary { .. } => Some(format!("({})", go(x, depth + 1)?)),
            _ => go(x, depth + 1),
        };
        Some(match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Real(v) if v.is_infinite() => {
                if *v > 0.0 { "inf" } else { "-inf" }.to_string()
            }
            ExprKind::Real(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.1}"),
            ExprKind::Real(v) => v.to_string(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Name(n) => n.name.clone(),
            ExprKind::Unary {
                op,
                operand: operand_expr,
            } => {
                let symbol = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                };
                format!("{symbol}{}", operand(operand_expr)?)
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                format!("{} {} {}", operand(lhs)?, op.symbol(), operand(rhs)?)
            }
            ExprKind::Index { base, indices } => {
                let parts = indices
                    .iter()
                    .map(|i| match i {
                        IndexItem::Single(x) => sub(x),
                        IndexItem::Slice { start, stop, .. } => Some(format!(
                            "{}:{}",
                            match start {
                                Some(s) => sub(s)?,
                                None => String::new(),
                            },
                            match stop {
                                Some(s) => sub(s)?,
                                None => String::new(),
                            }
                        )),
                    })
                    .collect::<Option<Vec<_>>>()?;
                format!("{}[{}]", sub(base)?, parts.join(", "))
            }
            ExprKind::Call { callee, args } if args.len() <= 3 => {
                let parts = args
                    .iter()
                    .map(|a| {
                        let value = sub(&a.value)?;
                        Some(match &a.name {
                            Some(n) => format!("{} = {value}", n.name),
                            None => value,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                format!("{}({})", callee.name, parts.join(", "))
            }
            _ => return None,
        })
    }
    go(e, 0)
}
