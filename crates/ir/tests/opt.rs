//! Dead-code elimination: what it removes from loops, what it must keep,
//! and that the function computes the same results afterwards.

use rlc_ir::interp::{eval, Tensor};
use rlc_ir::*;
use std::collections::HashMap;

fn real() -> TensorType {
    TensorType::scalar(Elem::Real)
}

fn op(kind: OpKind, args: Vec<ValueId>, results: Vec<ValueId>) -> Op {
    Op {
        kind,
        args,
        results,
    }
}

/// `f(theta: real[1], x: real[3], k: int[3])`: a scan with carries `a`
/// (summing `x`) and `b` (`exp` of itself, never read), stacking `a` and
/// `w[k]` (a checked index of a captured vector `w`); the function returns
/// only the final `a`.
fn scan_with_dead_parts() -> Function {
    let mut f = Function::new("f");
    let three = Dim::constant(3);
    let theta = f.new_value(TensorType::real(vec![Dim::constant(1)]));
    let x = f.new_value(TensorType::real(vec![three.clone()]));
    let k = f.new_value(TensorType::new(Elem::Int, vec![three.clone()]));
    let zero = f.new_value(real());
    let w = f.new_value(TensorType::real(vec![Dim::constant(2)]));
    let (a, b, xi, ki, wc) = (
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(TensorType::scalar(Elem::Int)),
        f.new_value(TensorType::real(vec![Dim::constant(2)])),
    );
    let (a2, b2, picked) = (
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
    );
    let body = Region {
        args: vec![a, b, xi, ki, wc],
        ops: vec![
            op(OpKind::Binary(BinaryOp::Add), vec![a, xi], vec![a2]),
            op(OpKind::Unary(UnaryOp::Exp), vec![b], vec![b2]),
            op(
                OpKind::Index {
                    plan: vec![AxisIndex::Scalar {
                        constant: None,
                        needs_bounds_check: true,
                    }],
                },
                vec![wc, ki],
                vec![picked],
            ),
        ],
        results: vec![a2, b2, a2, picked],
    };
    let (fa, fb, sa, sp) = (
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(TensorType::real(vec![three.clone()])),
        f.new_value(TensorType::real(vec![three])),
    );
    f.inputs = vec![
        Input::Theta,
        Input::Data("x".into()),
        Input::Data("k".into()),
    ];
    f.body = Region {
        args: vec![theta, x, k],
        ops: vec![
            op(OpKind::Const(0.0), vec![], vec![zero]),
            op(OpKind::Fill, vec![zero], vec![w]),
            op(
                OpKind::Scan {
                    body,
                    carries: 2,
                    sequences: 2,
                    reverse: false,
                },
                vec![zero, zero, x, k, w],
                vec![fa, fb, sa, sp],
            ),
        ],
        results: vec![fa],
    };
    f
}

fn run(f: &Function, k: Vec<f64>) -> Result<Vec<Tensor>, String> {
    let inputs = [
        Tensor::vector(vec![0.0]),
        Tensor::vector(vec![1.0, 2.0, 3.5]),
        Tensor::vector(k),
    ];
    eval(f, &HashMap::new(), &inputs).map_err(|e| e.to_string())
}

#[test]
fn unread_carries_and_outputs_go_index_checks_stay() {
    let before = scan_with_dead_parts();
    verify::verify(&before).expect("valid before");
    let mut after = before.clone();
    opt::eliminate_dead_code(&mut after);
    verify::verify(&after).expect("valid after");

    let scan = after
        .body
        .ops
        .iter()
        .find(|o| matches!(o.kind, OpKind::Scan { .. }))
        .expect("the scan stays");
    let OpKind::Scan { body, carries, .. } = &scan.kind else {
        unreachable!()
    };
    assert_eq!(*carries, 1, "the carry `b` nothing reads is gone");
    assert_eq!(scan.results.len(), 1, "no stacked output is read");
    assert!(
        !body
            .ops
            .iter()
            .any(|o| o.kind == OpKind::Unary(UnaryOp::Exp)),
        "what computed `b` is gone"
    );
    assert!(
        body.ops
            .iter()
            .any(|o| matches!(o.kind, OpKind::Index { .. })),
        "a checked index stays: it reports bad data"
    );

    let good = vec![0.0, 1.0, 1.0];
    assert_eq!(run(&before, good.clone()), run(&after, good));
    let bad = vec![0.0, 5.0, 1.0];
    let (e1, e2) = (run(&before, bad.clone()), run(&after, bad));
    assert!(e1.is_err(), "{e1:?}");
    assert_eq!(e1, e2, "the index error survives");
}
