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

fn count_ops(region: &Region, what: &dyn Fn(&OpKind) -> bool) -> usize {
    region.ops.iter().filter(|o| what(&o.kind)).count()
}

/// `f(theta: real[1])`: `x = theta[0]`, `exp(x)` twice, and the scalar
/// `1.0` filled into a `real[2]` and a `real[3]` (equal kinds and operands,
/// different types: both stay).
#[test]
fn repeated_pure_ops_are_computed_once() {
    let mut f = Function::new("f");
    let theta = f.new_value(TensorType::real(vec![Dim::constant(1)]));
    let (x, e1, e2, s, one) = (
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
    );
    let two = f.new_value(TensorType::real(vec![Dim::constant(2)]));
    let three = f.new_value(TensorType::real(vec![Dim::constant(3)]));
    f.inputs = vec![Input::Theta];
    f.body = Region {
        args: vec![theta],
        ops: vec![
            op(
                OpKind::ThetaSlice {
                    offset: Dim::constant(0),
                },
                vec![theta],
                vec![x],
            ),
            op(OpKind::Unary(UnaryOp::Exp), vec![x], vec![e1]),
            op(OpKind::Unary(UnaryOp::Exp), vec![x], vec![e2]),
            op(OpKind::Binary(BinaryOp::Sub), vec![e1, e2], vec![s]),
            op(OpKind::Const(1.0), vec![], vec![one]),
            op(OpKind::Fill, vec![one], vec![two]),
            op(OpKind::Fill, vec![one], vec![three]),
        ],
        results: vec![s, e2, two, three],
    };
    let mut after = f.clone();
    opt::eliminate_common_subexpressions(&mut after);
    verify::verify(&after).expect("valid after");
    let exp = |k: &OpKind| *k == OpKind::Unary(UnaryOp::Exp);
    assert_eq!(count_ops(&after.body, &exp), 1);
    assert_eq!(count_ops(&after.body, &|k| *k == OpKind::Fill), 2);
    let theta = [Tensor::vector(vec![0.7])];
    let sizes = HashMap::new();
    assert_eq!(
        eval(&f, &sizes, &theta).map_err(|e| e.to_string()),
        eval(&after, &sizes, &theta).map_err(|e| e.to_string())
    );
}

/// `f(theta: real[1])` with two `if`s on `theta[0] > 0`: the second one's
/// operands are known before the first, so they join (the value passed to
/// both is passed once); a third `if`, reading the first's result, stays.
#[test]
fn ifs_on_one_condition_join() {
    let mut f = Function::new("f");
    let theta = f.new_value(TensorType::real(vec![Dim::constant(1)]));
    let (x, zero, cond) = (
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(TensorType::scalar(Elem::Bool)),
    );
    let branch = |f: &mut Function, kind: OpKind| -> (Region, Region, ValueId) {
        let (a, b, r1, r2) = (
            f.new_value(real()),
            f.new_value(real()),
            f.new_value(real()),
            f.new_value(real()),
        );
        let then_r = Region {
            args: vec![a],
            ops: vec![op(kind, vec![a], vec![r1])],
            results: vec![r1],
        };
        let else_r = Region {
            args: vec![b],
            ops: vec![op(OpKind::Unary(UnaryOp::Neg), vec![b], vec![r2])],
            results: vec![r2],
        };
        (then_r, else_r, f.new_value(real()))
    };
    let (t1, e1, y1) = branch(&mut f, OpKind::Unary(UnaryOp::Exp));
    let (t2, e2, y2) = branch(&mut f, OpKind::Unary(UnaryOp::Log1pExp));
    let (t3, e3, y3) = branch(&mut f, OpKind::Unary(UnaryOp::Exp));
    let (s, total) = (f.new_value(real()), f.new_value(real()));
    let if_op = |t, e, args, y| Op {
        kind: OpKind::If {
            then_region: t,
            else_region: e,
        },
        args,
        results: vec![y],
    };
    f.inputs = vec![Input::Theta];
    f.body = Region {
        args: vec![theta],
        ops: vec![
            op(
                OpKind::ThetaSlice {
                    offset: Dim::constant(0),
                },
                vec![theta],
                vec![x],
            ),
            op(OpKind::Const(0.0), vec![], vec![zero]),
            op(OpKind::Binary(BinaryOp::Gt), vec![x, zero], vec![cond]),
            if_op(t1, e1, vec![cond, x], y1),
            if_op(t2, e2, vec![cond, x], y2),
            if_op(t3, e3, vec![cond, y1], y3),
            op(OpKind::Binary(BinaryOp::Add), vec![y1, y2], vec![s]),
            op(OpKind::Binary(BinaryOp::Add), vec![s, y3], vec![total]),
        ],
        results: vec![total],
    };
    verify::verify(&f).expect("valid before");
    let mut after = f.clone();
    opt::merge_branches(&mut after);
    verify::verify(&after).expect("valid after");
    let ifs: Vec<&Op> = after
        .body
        .ops
        .iter()
        .filter(|o| matches!(o.kind, OpKind::If { .. }))
        .collect();
    assert_eq!(ifs.len(), 2, "the first two join, the third stays");
    assert_eq!(ifs[0].args, vec![cond, x], "x is passed once");
    assert_eq!(ifs[0].results, vec![y1, y2]);
    let sizes = HashMap::new();
    for t in [0.4, -0.4] {
        let theta = [Tensor::vector(vec![t])];
        assert_eq!(
            eval(&f, &sizes, &theta).map_err(|e| e.to_string()),
            eval(&after, &sizes, &theta).map_err(|e| e.to_string())
        );
    }
}

#[test]
fn a_loop_kept_only_for_its_index_check_still_checks() {
    let mut f = scan_with_dead_parts();
    let zero = f.body.ops[0].results[0];
    f.body.results = vec![zero];
    opt::eliminate_dead_code(&mut f);
    verify::verify(&f).expect("valid after");
    let scan = f
        .body
        .ops
        .iter()
        .find(|o| matches!(o.kind, OpKind::Scan { .. }))
        .expect("the scan stays for its index check");
    assert!(scan.results.is_empty(), "nothing reads its results");
    assert!(run(&f, vec![0.0, 1.0, 1.0]).is_ok());
    assert!(run(&f, vec![0.0, 5.0, 1.0]).is_err());
}

#[test]
fn a_region_whose_index_checks_are_forgotten_drops_its_unread_index() {
    // As the backward body of a scan does: the forward scan checked the
    // index, so the re-run's copy need not stay only for its check.
    let mut f = scan_with_dead_parts();
    let scan = f
        .body
        .ops
        .iter_mut()
        .find(|o| matches!(o.kind, OpKind::Scan { .. }))
        .expect("a scan");
    let OpKind::Scan { body, .. } = &mut scan.kind else {
        unreachable!()
    };
    opt::forget_index_checks(body);
    let good = vec![0.0, 1.0, 1.0];
    let before = run(&f, good.clone());
    opt::eliminate_dead_code(&mut f);
    verify::verify(&f).expect("valid after");
    let indexes = |k: &OpKind| matches!(k, OpKind::Index { .. });
    let scan = f
        .body
        .ops
        .iter()
        .find(|o| matches!(o.kind, OpKind::Scan { .. }))
        .expect("the scan stays: its final carry is read");
    assert_eq!(count_ops(scan.kind.regions()[0], &indexes), 0);
    assert_eq!(run(&f, good), before);
}

/// `f(theta: real[1], k: int[1])`: `w[k[0]]` of a `real[2]` `w`, first as
/// an index that need not be checked, then as one that must: one op stays,
/// and it checks.
#[test]
fn an_index_repeated_with_and_without_its_check_is_one_checked_index() {
    let mut f = Function::new("f");
    let theta = f.new_value(TensorType::real(vec![Dim::constant(1)]));
    let k = f.new_value(TensorType::new(Elem::Int, vec![Dim::constant(1)]));
    let (zero, k0, a, b, s) = (
        f.new_value(real()),
        f.new_value(TensorType::scalar(Elem::Int)),
        f.new_value(real()),
        f.new_value(real()),
        f.new_value(real()),
    );
    let w = f.new_value(TensorType::real(vec![Dim::constant(2)]));
    let index = |checked: bool| OpKind::Index {
        plan: vec![AxisIndex::Scalar {
            constant: None,
            needs_bounds_check: checked,
        }],
    };
    f.inputs = vec![Input::Theta, Input::Data("k".into())];
    f.body = Region {
        args: vec![theta, k],
        ops: vec![
            op(OpKind::Const(0.5), vec![], vec![zero]),
            op(OpKind::Fill, vec![zero], vec![w]),
            op(
                OpKind::Index {
                    plan: vec![AxisIndex::Scalar {
                        constant: Some(Dim::constant(0)),
                        needs_bounds_check: false,
                    }],
                },
                vec![k],
                vec![k0],
            ),
            op(index(false), vec![w, k0], vec![a]),
            op(index(true), vec![w, k0], vec![b]),
            op(OpKind::Binary(BinaryOp::Add), vec![a, b], vec![s]),
        ],
        results: vec![s],
    };
    verify::verify(&f).expect("valid before");
    let mut after = f.clone();
    opt::eliminate_common_subexpressions(&mut after);
    verify::verify(&after).expect("valid after");
    let indexes: Vec<&Op> = after
        .body
        .ops
        .iter()
        .filter(|o| matches!(o.kind, OpKind::Index { .. }) && o.args.len() == 2)
        .collect();
    assert_eq!(indexes.len(), 1, "computed once");
    assert!(opt::checks_an_index(indexes[0]), "and still checked");
    let sizes = HashMap::new();
    let at = |k: f64| {
        let inputs = [Tensor::vector(vec![0.0]), Tensor::vector(vec![k])];
        (
            eval(&f, &sizes, &inputs).map_err(|e| e.to_string()),
            eval(&after, &sizes, &inputs).map_err(|e| e.to_string()),
        )
    };
    let (before, now) = at(1.0);
    assert_eq!(before, now);
    let (before, now) = at(7.0);
    assert!(before.is_err() && now.is_err(), "{before:?} {now:?}");
}
