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

/// `size N` or `size N by subjID`.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeDecl {
    pub name: Ident,
    pub group_by: Option<Ident>,
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

/// `in LO..HI` (a half-open integer range) or `in (LO, HI)` (an open interval).
#[derive(Debug, Clone, PartialEq)]
pub enum Bounds {
    IntRange { lo: Expr, hi: Expr, span: Span },
    Interval { lo: Expr, hi: Expr, span: Span },
}

impl Bounds {
    pub fn span(&self) -> Span {
        match self {
            Bounds::IntRange { span, .. } | Bounds::Interval { span, .. } => *span,
        }
    }
}

/// `data x: TYPE [in BOUNDS]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub bounds: Option<Bounds>,
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
    /// `let x = e` or, with `is_out`, `out x = e`.
    Let {
        name: Ident,
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
    for item in &program.items {
        match item {
            Item::Size(_) => {}
            Item::Data(d) => {
                visit_type(&d.ty, f);
                if let Some(b) = &d.bounds {
                    visit_bounds(b, f);
                }
            }
            Item::Param(p) => {
                if let Some(t) = &p.ty {
                    visit_type(t, f);
                }
                if let Some(b) = &p.bounds {
                    visit_bounds(b, f);
                }
                if let Some(prior) = &p.prior {
                    visit_expr(prior, f);
                }
            }
            Item::Stmt(s) => visit_stmt(s, f),
        }
    }
}

fn visit_type(t: &TypeExpr, f: &mut dyn FnMut(&Expr)) {
    for d in &t.dims {
        visit_expr(d, f);
    }
}

fn visit_bounds(b: &Bounds, f: &mut dyn FnMut(&Expr)) {
    match b {
        Bounds::IntRange { lo, hi, .. } | Bounds::Interval { lo, hi, .. } => {
            visit_expr(lo, f);
            visit_expr(hi, f);
        }
    }
}

fn visit_stmt(s: &Stmt, f: &mut dyn FnMut(&Expr)) {
    match s {
        Stmt::Let { value, .. } | Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => {
            visit_expr(value, f)
        }
        Stmt::Tilde { lhs, dist, .. } => {
            visit_expr(lhs, f);
            visit_expr(dist, f);
        }
        Stmt::For { lo, hi, body, .. } => {
            visit_expr(lo, f);
            visit_expr(hi, f);
            visit_block(body, f);
        }
        Stmt::Error(_) => {}
    }
}

fn visit_block(b: &Block, f: &mut dyn FnMut(&Expr)) {
    for s in &b.stmts {
        visit_stmt(s, f);
    }
    if let Some(v) = &b.value {
        visit_expr(v, f);
    }
}

/// Calls `f` on `e` and every expression inside it.
pub fn visit_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Real(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
        ExprKind::Array(items) => items.iter().for_each(|i| visit_expr(i, f)),
        ExprKind::Unary { operand, .. } => visit_expr(operand, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            visit_expr(lhs, f);
            visit_expr(rhs, f);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| visit_expr(&a.value, f)),
        ExprKind::Index { base, indices } => {
            visit_expr(base, f);
            for index in indices {
                match index {
                    IndexItem::Single(i) => visit_expr(i, f),
                    IndexItem::Slice { start, stop, .. } => start
                        .iter()
                        .chain(stop.iter())
                        .for_each(|x| visit_expr(x, f)),
                }
            }
        }
        ExprKind::Scan {
            init,
            sequences,
            body,
            ..
        } => {
            visit_expr(init, f);
            for s in sequences {
                match &s.source {
                    SequenceSource::Array(x) => visit_expr(x, f),
                    SequenceSource::Range { lo, hi } => {
                        visit_expr(lo, f);
                        visit_expr(hi, f);
                    }
                }
            }
            visit_block(body, f);
        }
        ExprKind::If {
            cond,
            then_block,
            else_block,
        } => {
            visit_expr(cond, f);
            visit_block(then_block, f);
            if let Some(b) = else_block {
                visit_block(b, f);
            }
        }
    }
}
