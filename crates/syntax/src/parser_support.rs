//! Small constructors the grammar's actions share, and the readings of
//! habits from other languages (`np.exp`, `range(T)`, `real<lower=0>`),
//! which record an error and go on with rlc's spelling.

use crate::ast::{
    simple_text, Arg, BinaryOp, Block, Bounds, ElemType, Expr, ExprKind, IdGen, Ident, Span, Stmt,
    TypeExpr, UnaryOp,
};
use crate::error::SyntaxError;
use crate::habit::{self, Habit};
use crate::token::Tok;
use lalrpop_util::{ErrorRecovery, ParseError};

#[allow(clippy::too_many_arguments)]
pub(crate) fn binary(
    ids: &IdGen,
    op: BinaryOp,
    l: usize,
    op_l: usize,
    op_r: usize,
    r: usize,
    lhs: Expr,
    rhs: Expr,
) -> Expr {
    Expr {
        id: ids.next(),
        kind: ExprKind::Binary {
            op,
            op_span: Span::new(op_l, op_r),
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span: Span::new(l, r),
    }
}

pub(crate) fn unary(ids: &IdGen, op: UnaryOp, l: usize, r: usize, operand: Expr) -> Expr {
    Expr {
        id: ids.next(),
        kind: ExprKind::Unary {
            op,
            operand: Box::new(operand),
        },
        span: Span::new(l, r),
    }
}

/// The errors the grammar's actions record while going on parsing.
pub(crate) type Recovered<'s> = Vec<ErrorRecovery<usize, Tok<'s>, SyntaxError>>;

/// Records a habit from another language; parsing goes on.
pub(crate) fn habit(errors: &mut Recovered<'_>, span: Span, habit: Habit) {
    errors.push(ErrorRecovery {
        error: ParseError::User {
            error: SyntaxError::Habit { span, habit },
        },
        dropped_tokens: Vec::new(),
    });
}

fn error_expr(ids: &IdGen, span: Span) -> Expr {
    Expr {
        id: ids.next(),
        kind: ExprKind::Error,
        span,
    }
}

/// `a.b.c` or `a.b.c(args)`: a module prefix (`np.exp(x)` is parsed as
/// `exp(x)`), a module constant (`np.inf` as `inf`), a method call
/// (`x.sum(axis=1)` as `sum(x, axis=1)`) or an attribute (`x.shape`, an
/// error node). Each is reported as a habit.
pub(crate) fn dotted(
    ids: &IdGen,
    errors: &mut Recovered<'_>,
    path: Vec<Ident>,
    args: Option<Vec<Arg>>,
    span: Span,
) -> Expr {
    let Some((last, prefix)) = path.split_last() else {
        return error_expr(ids, span);
    };
    let names: Vec<&str> = path.iter().map(|p| p.name.as_str()).collect();
    let written = names.join(".");
    let Some(first) = prefix.first() else {
        return error_expr(ids, span);
    };
    if prefix.iter().all(|p| habit::is_module(&p.name)) {
        let prefix_text = format!("{}.", names[..prefix.len()].join("."));
        let prefix_span = Span::new(first.span.start, last.span.start);
        if let Some(args) = args {
            habit(
                errors,
                prefix_span,
                Habit::ModulePrefix {
                    prefix: prefix_text,
                    name: last.name.clone(),
                },
            );
            return Expr {
                id: ids.next(),
                kind: ExprKind::Call {
                    callee: last.clone(),
                    args,
                },
                span,
            };
        }
        habit(errors, span, Habit::ModuleConstant { written });
        let value = match last.name.as_str() {
            "inf" | "Inf" | "infty" => f64::INFINITY,
            "pi" => std::f64::consts::PI,
            "e" => std::f64::consts::E,
            _ => return error_expr(ids, span),
        };
        return Expr {
            id: ids.next(),
            kind: ExprKind::Real(value),
            span,
        };
    }
    match (prefix, args) {
        ([receiver], Some(mut args)) => {
            habit(
                errors,
                span,
                Habit::Method {
                    receiver: receiver.name.clone(),
                    method: last.name.clone(),
                },
            );
            let value = Expr {
                id: ids.next(),
                kind: ExprKind::Name(receiver.clone()),
                span: receiver.span,
            };
            args.insert(0, Arg { name: None, value });
            Expr {
                id: ids.next(),
                kind: ExprKind::Call {
                    callee: last.clone(),
                    args,
                },
                span,
            }
        }
        ([receiver], None) if last.name == "shape" => {
            habit(
                errors,
                span,
                Habit::Shape {
                    array: receiver.name.clone(),
                    dims: None,
                },
            );
            error_expr(ids, span)
        }
        _ => {
            habit(errors, span, Habit::Attribute { written });
            error_expr(ids, span)
        }
    }
}

/// `range(hi)` or `range(lo, hi)` as a loop range, reported as a habit.
pub(crate) fn python_range(
    ids: &IdGen,
    errors: &mut Recovered<'_>,
    e: &Expr,
) -> Option<(Expr, Expr)> {
    let ExprKind::Call { callee, args } = &e.kind else {
        return None;
    };
    if callee.name != "range" || args.iter().any(|a| a.name.is_some()) {
        return None;
    }
    let (lo, hi) = match args.as_slice() {
        [hi] => (
            Expr {
                id: ids.next(),
                kind: ExprKind::Int(0),
                span: callee.span,
            },
            hi.value.clone(),
        ),
        [lo, hi] => (lo.value.clone(), hi.value.clone()),
        _ => return None,
    };
    let text = |x: &Expr| simple_text(x).unwrap_or_else(|| "…".to_string());
    habit(
        errors,
        e.span,
        Habit::Range {
            written: simple_text(e).unwrap_or_else(|| "range(…)".to_string()),
            rewrite: format!("{}..{}", text(&lo), text(&hi)),
        },
    );
    Some((lo, hi))
}

/// `for v in EXPR { … }` without `..`: Python's `range(…)`, parsed as the
/// range, or a loop over an array, which is an error.
pub(crate) fn for_over(
    ids: &IdGen,
    errors: &mut Recovered<'_>,
    var: Ident,
    iter: Expr,
    body: Block,
    span: Span,
) -> Stmt {
    match python_range(ids, errors, &iter) {
        Some((lo, hi)) => Stmt::For {
            var,
            lo,
            hi,
            body,
            span,
        },
        None => {
            habit(errors, iter.span, Habit::ForOverArray);
            Stmt::Error(span)
        }
    }
}

/// `lower = 0`, `upper = 1` in Stan's `real<lower=0, upper=1>`.
pub(crate) type StanBound = (Ident, Expr);

/// rlc's `in …` for Stan's bounds on a type of element `elem`.
fn bounds_text(elem: ElemType, bounds: &[StanBound]) -> Option<String> {
    let find = |name: &str| {
        bounds
            .iter()
            .find(|(n, _)| n.name == name)
            .map(|(_, e)| simple_text(e).unwrap_or_else(|| "…".to_string()))
    };
    let (lower, upper) = (find("lower"), find("upper"));
    if lower.is_none() && upper.is_none() {
        return None;
    }
    Some(match elem {
        // rlc's integer ranges are half-open: Stan's `upper=1` is `..2`.
        ElemType::Int => {
            let upper = bounds
                .iter()
                .find(|(n, _)| n.name == "upper")
                .map(|(_, e)| match e.kind {
                    ExprKind::Int(v) => v
                        .checked_add(1)
                        .map_or_else(|| "…".to_string(), |v| v.to_string()),
                    _ => format!("{} + 1", simple_text(e).unwrap_or_else(|| "…".into())),
                });
            format!(
                " in {}..{}",
                lower.unwrap_or_else(|| "LO".into()),
                upper.unwrap_or_else(|| "HI".into())
            )
        }
        _ => format!(
            " in ({}, {})",
            lower.unwrap_or_else(|| "-inf".into()),
            upper.unwrap_or_else(|| "inf".into())
        ),
    })
}

fn dims_text(dims: &[Expr]) -> String {
    if dims.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = dims
        .iter()
        .map(|d| simple_text(d).unwrap_or_else(|| "…".to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `[LO, HI]` or `[LO, HI)`, parsed as an array literal's items: an interval
/// closed at its lower end; other than two items are reported, and read as
/// an interval of error expressions.
pub(crate) fn closed_interval(
    ids: &IdGen,
    errors: &mut Recovered<'_>,
    items: Vec<Expr>,
    hi_closed: bool,
    span: Span,
) -> Bounds {
    let count = items.len();
    let mut items = items.into_iter();
    let (lo, hi) = match (items.next(), items.next(), items.next()) {
        (Some(lo), Some(hi), None) => (lo, hi),
        _ => {
            errors.push(ErrorRecovery {
                error: ParseError::User {
                    error: SyntaxError::IntervalEnds { span, count },
                },
                dropped_tokens: Vec::new(),
            });
            (error_expr(ids, span), error_expr(ids, span))
        }
    };
    Bounds::Interval {
        lo,
        hi,
        lo_closed: true,
        hi_closed,
        span,
    }
}

/// Stan's bounds on *data* include their ends (`real<lower=0>` allows 0), so
/// the rewrite a data declaration's Stan-style type was given (`real in (0,
/// inf)`, a parameter's open interval) closes each end Stan names: `real in
/// [0, inf)`.
pub(crate) fn close_stan_data_bounds(errors: &mut Recovered<'_>, ty: &TypeExpr) {
    for recovery in errors.iter_mut().rev() {
        let ParseError::User {
            error: SyntaxError::Habit { span, habit },
        } = &mut recovery.error
        else {
            continue;
        };
        if span.start < ty.span.start || span.end > ty.span.end {
            continue;
        }
        if let Habit::StanBounds { rewrite, .. } | Habit::ForeignType { rewrite, .. } = habit {
            if let Some((before, interval)) = rewrite.split_once(" in (") {
                if let Some((lo, hi)) = interval.strip_suffix(')').and_then(|i| i.split_once(", "))
                {
                    let open = if lo == "-inf" { '(' } else { '[' };
                    let close = if hi == "inf" { ')' } else { ']' };
                    *rewrite = format!("{before} in {open}{lo}, {hi}{close}");
                }
            }
        }
    }
}

/// Stan's `real<lower=0>[N]`: the type without its bounds, reported with
/// rlc's spelling, `real[N] in (0, inf)`.
pub(crate) fn stan_bounds(
    errors: &mut Recovered<'_>,
    elem: ElemType,
    bounds: Vec<StanBound>,
    dims: Vec<Expr>,
    span: Span,
) -> TypeExpr {
    let written = format!("{elem}<{}>", stan_bounds_text(&bounds));
    let rewrite = format!(
        "{elem}{}{}",
        dims_text(&dims),
        bounds_text(elem, &bounds).unwrap_or_default()
    );
    habit(errors, span, Habit::StanBounds { written, rewrite });
    TypeExpr {
        elem,
        optional: false,
        dims,
        span,
    }
}

/// Stan's bounds as written: `lower=0, upper=1`.
fn stan_bounds_text(bounds: &[StanBound]) -> String {
    let parts: Vec<String> = bounds
        .iter()
        .map(|(n, e)| {
            format!(
                "{}={}",
                n.name,
                simple_text(e).unwrap_or_else(|| "…".to_string())
            )
        })
        .collect();
    parts.join(", ")
}

/// A type written with a name that is not rlc's (`vector[N]`, `float`,
/// Stan's `array[N] int`): the rlc type it stands for, reported. An unknown
/// name is reported as the unexpected token it is, and read as `real`.
pub(crate) fn foreign_type(
    errors: &mut Recovered<'_>,
    name: Ident,
    array_dims: Vec<Expr>,
    elem: Option<ElemType>,
    bounds: Vec<StanBound>,
    dims: Vec<Expr>,
    span: Span,
) -> TypeExpr {
    let elem = match (elem, habit::foreign_type(&name.name)) {
        (Some(elem), _) if name.name == "array" => elem,
        (None, Some(rlc)) => match rlc {
            "int" => ElemType::Int,
            "bool" => ElemType::Bool,
            _ => ElemType::Real,
        },
        _ => {
            errors.push(ErrorRecovery {
                error: ParseError::User {
                    error: SyntaxError::UnexpectedToken {
                        span: name.span,
                        found: format!("name `{}`", name.name),
                        expected: vec!["`bool`".into(), "`int`".into(), "`real`".into()],
                        habit_hint: None,
                        unclosed: None,
                    },
                },
                dropped_tokens: Vec::new(),
            });
            ElemType::Real
        }
    };
    let mut all_dims = array_dims;
    all_dims.extend(dims);
    if habit::foreign_type(&name.name).is_some() || (name.name == "array" && !all_dims.is_empty()) {
        let rewrite = format!(
            "{elem}{}{}",
            dims_text(&all_dims),
            bounds_text(elem, &bounds).unwrap_or_default()
        );
        let written = if name.name == "array" {
            format!("array[…] {elem}")
        } else {
            name.name.clone()
        };
        habit(errors, span, Habit::ForeignType { written, rewrite });
    }
    TypeExpr {
        elem,
        optional: false,
        dims: all_dims,
        span,
    }
}
