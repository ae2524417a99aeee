//! Small constructors the grammar's actions share.

use crate::ast::{BinaryOp, Expr, ExprKind, IdGen, Span, UnaryOp};

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
