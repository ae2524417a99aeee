//! Softplus by its parts, before differentiation: `log1p_exp(x)` (the
//! Bernoulli and binomial log-likelihoods on the logit scale, `log_logistic`)
//! becomes `select(x > 0, x + log1p(e), log1p(e))` with `e = exp(-|x|)`
//! (`-|x|` as `select(x > 0, -x, x)`).
//!
//! Why: its derivative is the logistic function, which needs `exp(-|x|)`
//! again. As one call each, the forward value and the derivative cost an
//! `exp` apiece; by its parts the adjoint rules reach `e` through the chain
//! rule (`d log1p(e) = de / (1 + e)`), and the gradient function computes
//! `e` once per element where the forward value is at hand (a `for` loop's
//! body, which runs forward and backward in one pass). The value is the same
//! bit for bit (`log1p_exp` computes exactly these terms); the derivative,
//! `1 - e / (1 + e)` or `e / (1 + e)`, is within an ulp or two of the
//! logistic function's.

use rlc_ir::*;

/// Rewrites every `log1p_exp` of `f`, in every region, by its parts.
pub(crate) fn expand(f: &mut Function) {
    let mut body = std::mem::take(&mut f.body.ops);
    expand_ops(&mut body, f);
    f.body.ops = body;
}

fn expand_ops(ops: &mut Vec<Op>, f: &mut Function) {
    let mut out = Vec::with_capacity(ops.len());
    for mut op in std::mem::take(ops) {
        for region in op.kind.regions_mut() {
            expand_ops(&mut region.ops, f);
        }
        if op.kind != OpKind::Unary(UnaryOp::Log1pExp) {
            out.push(op);
            continue;
        }
        let (x, result) = (op.args[0], op.results[0]);
        let ty = f.values[result.0 as usize].clone();
        let span = f.spans.get(&result).copied();
        let mut emit = |kind: OpKind, args: Vec<ValueId>, ty: TensorType| {
            let value = f.new_value(ty);
            if let Some(span) = span {
                f.spans.insert(value, span);
            }
            out.push(Op {
                kind,
                args,
                results: vec![value],
            });
            value
        };
        let mut zero = emit(OpKind::Const(0.0), vec![], TensorType::scalar(Elem::Real));
        if !ty.is_scalar() {
            zero = emit(OpKind::Fill, vec![zero], ty.clone());
        }
        let positive = emit(
            OpKind::Binary(BinaryOp::Gt),
            vec![x, zero],
            TensorType::new(Elem::Bool, ty.shape.clone()),
        );
        // -|x|, chosen by the same test as the result, so that at x = 0 the derivative
        // is that of the branch taken, log1p(exp(x)): 1/2 (through `abs`, whose
        // derivative at 0 is +1, it came out -1/2).
        let minus_x = emit(OpKind::Unary(UnaryOp::Neg), vec![x], ty.clone());
        let minus_abs = emit(OpKind::Select, vec![positive, minus_x, x], ty.clone());
        let e = emit(OpKind::Unary(UnaryOp::Exp), vec![minus_abs], ty.clone());
        let log1p_e = emit(OpKind::Unary(UnaryOp::Log1p), vec![e], ty.clone());
        let shifted = emit(OpKind::Binary(BinaryOp::Add), vec![x, log1p_e], ty);
        // The last op defines the original result, so no use needs renaming.
        out.push(Op {
            kind: OpKind::Select,
            args: vec![positive, shifted, log1p_e],
            results: vec![result],
        });
    }
    *ops = out;
}
