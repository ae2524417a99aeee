//! The reference interpreter, the verifier and the printer on hand-built
//! functions: every function a test runs is verified first, so the
//! interpreter tests double as the verifier's "accepts" cases.

use rlc_ir::interp::{eval, EvalError, Tensor};
use rlc_ir::print::print_function;
use rlc_ir::verify::verify;
use rlc_ir::*;
use std::collections::HashMap;

// ---- A tiny builder ------------------------------------------------------------

/// Builds a function op by op; nested regions are built by closures.
struct Builder {
    f: Function,
    /// The ops of the regions being built, innermost last.
    ops: Vec<Vec<Op>>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            f: Function::new("test"),
            ops: vec![Vec::new()],
        }
    }

    fn input(&mut self, input: Input, ty: TensorType) -> ValueId {
        let v = self.f.new_value(ty);
        self.f.inputs.push(input);
        self.f.body.args.push(v);
        v
    }

    fn data(&mut self, name: &str, ty: TensorType) -> ValueId {
        self.input(Input::Data(name.to_string()), ty)
    }

    fn op(&mut self, kind: OpKind, args: &[ValueId], types: Vec<TensorType>) -> Vec<ValueId> {
        let results: Vec<ValueId> = types.into_iter().map(|t| self.f.new_value(t)).collect();
        let op = Op {
            kind,
            args: args.to_vec(),
            results: results.clone(),
        };
        self.ops.last_mut().expect("a region is open").push(op);
        results
    }

    fn op1(&mut self, kind: OpKind, args: &[ValueId], ty: TensorType) -> ValueId {
        self.op(kind, args, vec![ty])[0]
    }

    fn konst(&mut self, c: f64) -> ValueId {
        self.op1(OpKind::Const(c), &[], real(&[]))
    }

    fn int_const(&mut self, c: i64) -> ValueId {
        self.op1(OpKind::Const(c as f64), &[], int(&[]))
    }

    fn binary(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let mut ty = self.f.ty(a).clone();
        if matches!(
            op,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
        ) {
            ty.elem = Elem::Bool;
        }
        self.op1(OpKind::Binary(op), &[a, b], ty)
    }

    fn unary(&mut self, op: UnaryOp, a: ValueId) -> ValueId {
        let ty = self.f.ty(a).clone();
        self.op1(OpKind::Unary(op), &[a], ty)
    }

    /// A region with arguments of `types`, whose ops `build` emits and whose
    /// results it returns.
    fn region(
        &mut self,
        types: Vec<TensorType>,
        build: impl FnOnce(&mut Builder, &[ValueId]) -> Vec<ValueId>,
    ) -> Region {
        let args: Vec<ValueId> = types.into_iter().map(|t| self.f.new_value(t)).collect();
        self.ops.push(Vec::new());
        let results = build(self, &args);
        let ops = self.ops.pop().expect("the region is open");
        Region { args, ops, results }
    }

    fn finish(mut self, results: &[ValueId]) -> Function {
        self.f.body.ops = self.ops.pop().expect("the body is open");
        self.f.body.results = results.to_vec();
        self.f
    }
}

fn dims(shape: &[i64]) -> Vec<Dim> {
    shape.iter().map(|d| Dim::constant(*d)).collect()
}

fn real(shape: &[i64]) -> TensorType {
    TensorType::real(dims(shape))
}

fn int(shape: &[i64]) -> TensorType {
    TensorType::new(Elem::Int, dims(shape))
}

fn boolean(shape: &[i64]) -> TensorType {
    TensorType::new(Elem::Bool, dims(shape))
}

fn t(shape: &[usize], data: &[f64]) -> Tensor {
    Tensor::new(shape.to_vec(), data.to_vec())
}

fn s(x: f64) -> Tensor {
    Tensor::scalar(x)
}

fn range(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new(shape.to_vec(), (0..n).map(|i| i as f64).collect())
}

fn sizes(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Verifies `f`, then runs it.
fn try_run(
    f: &Function,
    sizes: &HashMap<String, i64>,
    inputs: &[Tensor],
) -> Result<Vec<Tensor>, EvalError> {
    if let Err(errors) = verify(f) {
        let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        panic!(
            "invalid IR:\n{}\n{}",
            messages.join("\n"),
            print_function(f)
        );
    }
    eval(f, sizes, inputs)
}

fn run(f: &Function, inputs: &[Tensor]) -> Vec<Tensor> {
    try_run(f, &HashMap::new(), inputs).unwrap_or_else(|e| panic!("{e}\n{}", print_function(f)))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * (1.0 + b.abs())
}

#[track_caller]
fn assert_close(found: f64, expected: f64) {
    assert!(close(found, expected, 1e-13), "{found} != {expected}");
}

// ---- Elementwise ops, broadcasting, reductions ------------------------------------

#[test]
fn elementwise_broadcast_and_sum_to() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[2, 3]));
    let y = b.data("y", real(&[3]));
    let yb = b.op1(OpKind::BroadcastTo, &[y], real(&[2, 3]));
    let z = b.binary(BinaryOp::Add, x, yb);
    let cols = b.op1(OpKind::SumTo, &[z], real(&[3]));
    let rows = b.op1(OpKind::SumTo, &[z], real(&[2, 1]));
    let all = b.op1(OpKind::SumTo, &[z], real(&[]));
    let half = b.konst(0.5);
    let halves = b.op1(OpKind::Fill, &[half], real(&[2]));
    let f = b.finish(&[z, cols, rows, all, halves]);
    let out = run(&f, &[range(&[2, 3]), t(&[3], &[10.0, 20.0, 30.0])]);
    assert_eq!(out[0], t(&[2, 3], &[10.0, 21.0, 32.0, 13.0, 24.0, 35.0]));
    assert_eq!(out[1], t(&[3], &[23.0, 45.0, 67.0]));
    assert_eq!(out[2], t(&[2, 1], &[63.0, 72.0]));
    assert_eq!(out[3], s(135.0));
    assert_eq!(out[4], t(&[2], &[0.5, 0.5]));
}

#[test]
fn comparisons_logic_select_cast_and_missing_cells() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[3]));
    let y = b.data("y", real(&[3]));
    let lt = b.binary(BinaryOp::Lt, x, y);
    let present = b.op1(OpKind::IsPresent, &[x], boolean(&[3]));
    let both = b.binary(BinaryOp::And, lt, present);
    let neither = b.unary(UnaryOp::Not, both);
    let picked = b.op1(OpKind::Select, &[both, x, y], real(&[3]));
    let as_real = b.op1(OpKind::Cast, &[neither], real(&[3]));
    let f = b.finish(&[picked, as_real]);
    let out = run(
        &f,
        &[t(&[3], &[1.0, f64::NAN, 5.0]), t(&[3], &[2.0, 2.0, 4.0])],
    );
    assert_eq!(out[0], t(&[3], &[1.0, 2.0, 4.0]));
    assert_eq!(out[1], t(&[3], &[0.0, 1.0, 1.0]));
}

#[test]
fn reductions_over_an_axis_and_over_everything() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[2, 3]));
    let mut results = Vec::new();
    for (op, axis, shape) in [
        (ReduceOp::Sum, Some(0), vec![3]),
        (ReduceOp::Sum, Some(1), vec![2]),
        (ReduceOp::Prod, Some(1), vec![2]),
        (ReduceOp::Max, Some(0), vec![3]),
        (ReduceOp::Min, None, vec![]),
        (ReduceOp::Sum, None, vec![]),
    ] {
        results.push(b.op1(OpKind::Reduce { op, axis }, &[x], real(&shape)));
    }
    let f = b.finish(&results);
    let out = run(&f, &[t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, -5.0, 6.0])]);
    assert_eq!(out[0], t(&[3], &[5.0, -3.0, 9.0]));
    assert_eq!(out[1], t(&[2], &[6.0, 5.0]));
    assert_eq!(out[2], t(&[2], &[6.0, -120.0]));
    assert_eq!(out[3], t(&[3], &[4.0, 2.0, 6.0]));
    assert_eq!(out[4], s(-5.0));
    assert_eq!(out[5], s(11.0));
}

#[test]
fn logsumexp_is_stable_and_empty_reductions_have_identities() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[2]));
    let e = b.data("e", real(&[0]));
    let lse = b.op1(
        OpKind::Reduce {
            op: ReduceOp::LogSumExp,
            axis: None,
        },
        &[x],
        real(&[]),
    );
    let mut results = vec![lse];
    for op in [
        ReduceOp::LogSumExp,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Sum,
    ] {
        results.push(b.op1(OpKind::Reduce { op, axis: None }, &[e], real(&[])));
    }
    let f = b.finish(&results);
    let out = run(&f, &[t(&[2], &[1000.0, 1000.0]), t(&[0], &[])]);
    assert_close(out[0].data[0], 1000.0 + 2f64.ln());
    assert_eq!(out[1].data[0], f64::NEG_INFINITY);
    assert_eq!(out[2].data[0], f64::NEG_INFINITY);
    assert_eq!(out[3].data[0], f64::INFINITY);
    assert_eq!(out[4].data[0], 0.0);
    let out = run(&f, &[t(&[2], &[f64::NEG_INFINITY; 2]), t(&[0], &[])]);
    assert_eq!(out[0].data[0], f64::NEG_INFINITY);
}

#[test]
fn special_functions_match_known_values() {
    let cases: [(UnaryOp, f64, f64); 18] = [
        (UnaryOp::Lgamma, 0.5, std::f64::consts::PI.sqrt().ln()),
        (UnaryOp::Digamma, 1.0, -0.5772156649015329),
        (UnaryOp::Digamma, 0.5, -1.9635100260214235),
        (UnaryOp::Digamma, 12.5, 2.4851956512749123),
        (UnaryOp::Digamma, 3.3, 1.0348224890596217),
        (UnaryOp::Trigamma, 3.3, 0.353_501_541_841_061_8),
        (UnaryOp::Trigamma, 25.0, 0.04081066325722558),
        (UnaryOp::Trigamma, -2.5, 9.539246644989124),
        (UnaryOp::Digamma, -0.5, 0.03648997397857652),
        (
            UnaryOp::Trigamma,
            1.0,
            std::f64::consts::PI * std::f64::consts::PI / 6.0,
        ),
        (
            UnaryOp::Trigamma,
            0.5,
            std::f64::consts::PI * std::f64::consts::PI / 2.0,
        ),
        (UnaryOp::Phi, 1.96, 0.9750021048517795),
        (UnaryOp::Phi, 0.0, 0.5),
        (UnaryOp::Log1pExp, 800.0, 800.0),
        (UnaryOp::Log1pExp, -800.0, 0.0),
        (UnaryOp::Log1pExp, 0.0, std::f64::consts::LN_2),
        (UnaryOp::Logistic, -800.0, 0.0),
        (UnaryOp::Logistic, 0.0, 0.5),
    ];
    for (op, x, expected) in cases {
        let mut b = Builder::new();
        let xv = b.data("x", real(&[]));
        let y = b.unary(op, xv);
        let f = b.finish(&[y]);
        let found = run(&f, &[s(x)])[0].data[0];
        assert!(
            close(found, expected, 1e-12),
            "{op:?}({x}) = {found}, expected {expected}"
        );
    }
}

#[test]
fn matmul_follows_numpy_for_vectors_and_matrices() {
    let cases: [(&[i64], &[i64], &[i64]); 4] = [
        (&[2, 3], &[3, 2], &[2, 2]),
        (&[3], &[3, 2], &[2]),
        (&[2, 3], &[3], &[2]),
        (&[3], &[3], &[]),
    ];
    let expected: [&[f64]; 4] = [
        &[10.0, 13.0, 28.0, 40.0],
        &[10.0, 13.0],
        &[5.0, 14.0],
        &[5.0],
    ];
    for ((a, bs, r), want) in cases.into_iter().zip(expected) {
        let mut b = Builder::new();
        let x = b.data("a", real(a));
        let y = b.data("b", real(bs));
        let z = b.op1(OpKind::Matmul, &[x, y], real(r));
        let f = b.finish(&[z]);
        let shape = |d: &[i64]| -> Vec<usize> { d.iter().map(|v| *v as usize).collect() };
        let out = run(&f, &[range(&shape(a)), range(&shape(bs))]);
        assert_eq!(
            out[0],
            Tensor::new(shape(r), want.to_vec()),
            "{a:?} @ {bs:?}"
        );
    }
}

#[test]
fn reshape_transpose_concat_iota_and_symbolic_sizes() {
    let mut b = Builder::new();
    let n = Dim::size("N");
    let x = b.data("x", TensorType::real(vec![Dim::constant(2), n.clone()]));
    let xt = b.op1(
        OpKind::Transpose,
        &[x],
        TensorType::real(vec![n.clone(), Dim::constant(2)]),
    );
    let flat = b.op1(
        OpKind::Reshape,
        &[x],
        TensorType::real(vec![n.scale(2).expect("small")]),
    );
    let joined = b.op1(
        OpKind::Concat { axis: 1 },
        &[x, x],
        TensorType::real(vec![Dim::constant(2), n.scale(2).expect("small")]),
    );
    let iota = b.op1(
        OpKind::Iota,
        &[],
        TensorType::new(Elem::Int, vec![n.offset(-1).expect("small")]),
    );
    let size = b.op1(OpKind::SizeOf(n.offset(-1).expect("small")), &[], int(&[]));
    let f = b.finish(&[xt, flat, joined, iota, size]);
    let out = try_run(&f, &sizes(&[("N", 3)]), &[range(&[2, 3])]).expect("runs");
    assert_eq!(out[0], t(&[3, 2], &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]));
    assert_eq!(out[1], range(&[6]));
    assert_eq!(
        out[2],
        t(
            &[2, 6],
            &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0]
        )
    );
    assert_eq!(out[3], range(&[2]));
    assert_eq!(out[4], s(2.0));
    // Inputs are checked against the declared shapes, and sizes must be known.
    let err = try_run(&f, &sizes(&[("N", 4)]), &[range(&[2, 3])]).expect_err("wrong shape");
    assert!(matches!(err, EvalError::ShapeMismatch { .. }), "{err}");
    let err = try_run(&f, &HashMap::new(), &[range(&[2, 3])]).expect_err("no sizes");
    assert_eq!(err, EvalError::UnknownSize("N".into()));
    let err = try_run(&f, &sizes(&[("N", 3)]), &[]).expect_err("no inputs");
    assert_eq!(
        err,
        EvalError::BadInputCount {
            expected: 1,
            found: 0
        }
    );
}

#[test]
fn theta_slices_are_reshaped_row_major() {
    let mut b = Builder::new();
    let theta = b.input(Input::Theta, real(&[7]));
    let m = b.op1(
        OpKind::ThetaSlice {
            offset: Dim::constant(1),
        },
        &[theta],
        real(&[2, 3]),
    );
    let f = b.finish(&[m]);
    let out = run(&f, &[range(&[7])]);
    assert_eq!(out[0], t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
}

// ---- Indexing -----------------------------------------------------------------------

fn scalar_ix(constant: Option<i64>) -> AxisIndex {
    AxisIndex::Scalar {
        constant: constant.map(Dim::constant),
        needs_bounds_check: true,
    }
}

fn slice(start: i64, stop: i64) -> AxisIndex {
    AxisIndex::Slice {
        start: Dim::constant(start),
        stop: Dim::constant(stop),
    }
}

fn gather() -> AxisIndex {
    AxisIndex::Gather {
        needs_bounds_check: true,
    }
}

/// `base[plan]` with the given dynamic indices (as int tensors).
fn index(
    base: Tensor,
    plan: Vec<AxisIndex>,
    indices: &[Tensor],
    result: &[i64],
) -> Result<Vec<Tensor>, EvalError> {
    let mut b = Builder::new();
    let base_shape: Vec<i64> = base.shape.iter().map(|d| *d as i64).collect();
    let x = b.data("x", real(&base_shape));
    let mut args = vec![x];
    for (i, ix) in indices.iter().enumerate() {
        let shape: Vec<i64> = ix.shape.iter().map(|d| *d as i64).collect();
        args.push(b.data(&format!("i{i}"), int(&shape)));
    }
    let y = b.op1(OpKind::Index { plan }, &args, real(result));
    let f = b.finish(&[y]);
    let mut inputs = vec![base];
    inputs.extend(indices.iter().cloned());
    try_run(&f, &HashMap::new(), &inputs)
}

#[test]
fn index_with_scalars_slices_and_resolved_negative_constants() {
    let x = range(&[3, 4]);
    let row = index(x.clone(), vec![scalar_ix(None)], &[s(2.0)], &[4]).expect("ok");
    assert_eq!(row[0], t(&[4], &[8.0, 9.0, 10.0, 11.0]));
    // `x[-1]` arrives with the constant already resolved to 2.
    let last = index(x.clone(), vec![scalar_ix(Some(2))], &[], &[4]).expect("ok");
    assert_eq!(last[0], row[0]);
    let cols = index(x.clone(), vec![slice(0, 3), slice(1, 3)], &[], &[3, 2]).expect("ok");
    assert_eq!(cols[0], t(&[3, 2], &[1.0, 2.0, 5.0, 6.0, 9.0, 10.0]));
    let cell = index(x, vec![scalar_ix(Some(1)), scalar_ix(None)], &[s(3.0)], &[]).expect("ok");
    assert_eq!(cell[0], s(7.0));
}

#[test]
fn gathers_are_placed_as_numpy_places_them() {
    let x = range(&[3, 4]);
    let rows = index(x, vec![gather()], &[t(&[2], &[2.0, 0.0])], &[2, 4]).expect("ok");
    assert_eq!(
        rows[0],
        t(&[2, 4], &[8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0])
    );
    let cube = range(&[2, 3, 4]);
    // Gathers separated by a slice: the gathered axis goes first.
    let apart = index(
        cube.clone(),
        vec![gather(), slice(0, 3), gather()],
        &[t(&[2], &[1.0, 0.0]), t(&[2], &[3.0, 1.0])],
        &[2, 3],
    )
    .expect("ok");
    assert_eq!(apart[0], t(&[2, 3], &[15.0, 19.0, 23.0, 1.0, 5.0, 9.0]));
    // Adjacent gathers after a slice: the gathered axis stays in place.
    let adjacent = index(
        cube,
        vec![slice(0, 2), gather(), gather()],
        &[t(&[3], &[2.0, 0.0, 1.0]), t(&[3], &[0.0, 3.0, 3.0])],
        &[2, 3],
    )
    .expect("ok");
    assert_eq!(adjacent[0], t(&[2, 3], &[8.0, 3.0, 7.0, 20.0, 15.0, 19.0]));
    // A matrix of indices keeps its shape.
    let x = range(&[3, 2]);
    let grid = index(
        x,
        vec![gather()],
        &[t(&[2, 2], &[0.0, 2.0, 1.0, 1.0])],
        &[2, 2, 2],
    )
    .expect("ok");
    assert_eq!(
        grid[0],
        t(&[2, 2, 2], &[0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 2.0, 3.0])
    );
}

#[test]
fn indices_out_of_range_are_errors() {
    let x = range(&[3]);
    let err = index(x.clone(), vec![scalar_ix(None)], &[s(3.0)], &[]).expect_err("too big");
    assert_eq!(
        err,
        EvalError::IndexOutOfBounds {
            axis: 0,
            index: 3,
            len: 3
        }
    );
    let err = index(x.clone(), vec![scalar_ix(None)], &[s(-1.0)], &[]).expect_err("negative");
    assert_eq!(
        err,
        EvalError::IndexOutOfBounds {
            axis: 0,
            index: -1,
            len: 3
        }
    );
    let err = index(x.clone(), vec![gather()], &[t(&[2], &[0.0, 7.0])], &[2]).expect_err("gather");
    assert!(matches!(err, EvalError::IndexOutOfBounds { index: 7, .. }));
    let err = index(x, vec![scalar_ix(None)], &[s(f64::NAN)], &[]).expect_err("missing");
    assert!(matches!(err, EvalError::BadIndex { axis: 0, .. }));
    assert!(err.to_string().contains("not an integer"));
}

#[test]
fn index_set_keeps_the_last_write_and_index_inc_accumulates() {
    for (set, expected) in [(true, [0.0, 2.0, 0.0, 3.0]), (false, [0.0, 3.0, 0.0, 3.0])] {
        let mut b = Builder::new();
        let base = b.data("base", real(&[4]));
        let values = b.data("values", real(&[3]));
        let ix = b.data("ix", int(&[3]));
        let plan = vec![gather()];
        let kind = if set {
            OpKind::IndexSet { plan }
        } else {
            OpKind::IndexInc { plan }
        };
        let y = b.op1(kind, &[base, values, ix], real(&[4]));
        let f = b.finish(&[y]);
        let out = run(
            &f,
            &[
                Tensor::zeros(vec![4]),
                t(&[3], &[1.0, 2.0, 3.0]),
                t(&[3], &[1.0, 1.0, 3.0]),
            ],
        );
        assert_eq!(out[0], t(&[4], &expected), "set: {set}");
    }
    // A slice of a matrix column.
    let mut b = Builder::new();
    let base = b.data("base", real(&[3, 2]));
    let col = b.data("col", real(&[2]));
    let y = b.op1(
        OpKind::IndexInc {
            plan: vec![slice(1, 3), scalar_ix(Some(1))],
        },
        &[base, col],
        real(&[3, 2]),
    );
    let f = b.finish(&[y]);
    let out = run(&f, &[range(&[3, 2]), t(&[2], &[10.0, 20.0])]);
    assert_eq!(out[0], t(&[3, 2], &[0.0, 1.0, 2.0, 13.0, 4.0, 25.0]));
}

// ---- Loops and branches --------------------------------------------------------------

/// `scan` of a running sum over `xs: real[T]`: the final sum and the
/// stacked partial sums.
fn running_sum(reverse: bool) -> Function {
    let mut b = Builder::new();
    let t_dim = Dim::size("T");
    let xs = b.data("xs", TensorType::real(vec![t_dim.clone()]));
    let zero = b.konst(0.0);
    let body = b.region(vec![real(&[]), real(&[])], |b, args| {
        let next = b.binary(BinaryOp::Add, args[0], args[1]);
        vec![next, next]
    });
    let results = b.op(
        OpKind::Scan {
            body,
            carries: 1,
            sequences: 1,
            reverse,
        },
        &[zero, xs],
        vec![real(&[]), TensorType::real(vec![t_dim])],
    );
    b.finish(&results)
}

#[test]
fn scan_runs_forward_and_backward_and_stacks_by_element() {
    let xs = t(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let forward = try_run(
        &running_sum(false),
        &sizes(&[("T", 4)]),
        std::slice::from_ref(&xs),
    )
    .expect("ok");
    assert_eq!(forward[0], s(10.0));
    assert_eq!(forward[1], t(&[4], &[1.0, 3.0, 6.0, 10.0]));
    let backward = try_run(&running_sum(true), &sizes(&[("T", 4)]), &[xs]).expect("ok");
    assert_eq!(backward[0], s(10.0));
    assert_eq!(backward[1], t(&[4], &[10.0, 9.0, 7.0, 4.0]));
    let empty = try_run(&running_sum(false), &sizes(&[("T", 0)]), &[t(&[0], &[])]).expect("ok");
    assert_eq!(empty[0], s(0.0));
    assert_eq!(empty[1], t(&[0], &[]));
}

#[test]
fn scan_passes_vector_elements_and_captures() {
    // carry c: real[2]; xs: real[3, 2]; capture w: real[2]; c' = c * w + x.
    let mut b = Builder::new();
    let xs = b.data("xs", real(&[3, 2]));
    let w = b.data("w", real(&[2]));
    let one = b.konst(1.0);
    let init = b.op1(OpKind::Fill, &[one], real(&[2]));
    let body = b.region(vec![real(&[2]), real(&[2]), real(&[2])], |b, args| {
        let scaled = b.binary(BinaryOp::Mul, args[0], args[2]);
        let next = b.binary(BinaryOp::Add, scaled, args[1]);
        let total = b.op1(
            OpKind::Reduce {
                op: ReduceOp::Sum,
                axis: None,
            },
            &[next],
            real(&[]),
        );
        vec![next, total]
    });
    let results = b.op(
        OpKind::Scan {
            body,
            carries: 1,
            sequences: 1,
            reverse: false,
        },
        &[init, xs, w],
        vec![real(&[2]), real(&[3])],
    );
    let f = b.finish(&results);
    let out = run(&f, &[range(&[3, 2]), t(&[2], &[2.0, 0.5])]);
    // c: [1,1] -> [2,1.5] -> [6,3.75] -> [16,6.875]
    assert_eq!(out[0], t(&[2], &[16.0, 6.875]));
    assert_eq!(out[1], t(&[3], &[3.5, 9.75, 22.875]));
}

/// `for i in lo..hi: sum of xs[i] * c`.
fn indexed_sum() -> Function {
    let mut b = Builder::new();
    let xs = b.data("xs", real(&[5]));
    let lo = b.data("lo", int(&[]));
    let hi = b.data("hi", int(&[]));
    let c = b.konst(2.0);
    let body = b.region(vec![int(&[]), real(&[5]), real(&[])], |b, args| {
        let x = b.op1(
            OpKind::Index {
                plan: vec![scalar_ix(None)],
            },
            &[args[1], args[0]],
            real(&[]),
        );
        vec![b.binary(BinaryOp::Mul, x, args[2])]
    });
    let total = b.op1(OpKind::For { body }, &[lo, hi, xs, c], real(&[]));
    b.finish(&[total])
}

#[test]
fn for_sums_its_iterations_and_is_zero_when_empty() {
    let f = indexed_sum();
    let xs = range(&[5]);
    assert_eq!(run(&f, &[xs.clone(), s(1.0), s(4.0)])[0], s(12.0));
    assert_eq!(run(&f, &[xs.clone(), s(3.0), s(3.0)])[0], s(0.0));
    assert_eq!(run(&f, &[xs.clone(), s(4.0), s(1.0)])[0], s(0.0));
    let err = try_run(&f, &HashMap::new(), &[xs, s(0.0), s(6.0)]).expect_err("out of range");
    assert!(matches!(err, EvalError::IndexOutOfBounds { index: 5, .. }));
}

fn branch() -> Function {
    let mut b = Builder::new();
    let cond = b.data("cond", boolean(&[]));
    let x = b.data("x", real(&[2]));
    let then_region = b.region(vec![real(&[2])], |b, args| {
        vec![b.binary(BinaryOp::Mul, args[0], args[0])]
    });
    let else_region = b.region(vec![real(&[2])], |b, args| {
        vec![b.unary(UnaryOp::Neg, args[0])]
    });
    let y = b.op1(
        OpKind::If {
            then_region,
            else_region,
        },
        &[cond, x],
        real(&[2]),
    );
    b.finish(&[y])
}

#[test]
fn if_runs_the_selected_branch() {
    let f = branch();
    let x = t(&[2], &[3.0, -2.0]);
    assert_eq!(run(&f, &[s(1.0), x.clone()])[0], t(&[2], &[9.0, 4.0]));
    assert_eq!(run(&f, &[s(0.0), x])[0], t(&[2], &[-3.0, 2.0]));
}

// ---- The verifier ---------------------------------------------------------------------

#[track_caller]
fn assert_rejected(f: &Function, fragment: &str) {
    let errors = verify(f).expect_err("the verifier rejects it");
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains(fragment), "expected `{fragment}` in:\n{text}");
}

#[test]
fn verifier_rejects_an_undefined_value() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[]));
    let later = b.f.new_value(real(&[]));
    let y = b.binary(BinaryOp::Add, x, later);
    let mut f = b.finish(&[y]);
    assert_rejected(&f, "is used before it is defined");
    f.body.ops[0].args[1] = ValueId(99);
    assert_rejected(&f, "does not exist");
}

#[test]
fn verifier_rejects_implicit_captures() {
    let mut b = Builder::new();
    let xs = b.data("xs", real(&[3]));
    let outer = b.konst(2.0);
    let zero = b.konst(0.0);
    let body = b.region(vec![real(&[]), real(&[])], |b, args| {
        let next = b.binary(BinaryOp::Mul, args[1], outer);
        vec![next, args[0]]
    });
    let results = b.op(
        OpKind::Scan {
            body,
            carries: 1,
            sequences: 1,
            reverse: false,
        },
        &[zero, xs],
        vec![real(&[]), real(&[3])],
    );
    let f = b.finish(&results);
    assert_rejected(&f, "is defined in another region");
}

#[test]
fn verifier_rejects_mismatched_shapes_and_types() {
    let mut b = Builder::new();
    let x = b.data("x", real(&[2]));
    let y = b.data("y", real(&[3]));
    let z = b.op1(OpKind::Binary(BinaryOp::Add), &[x, y], real(&[2]));
    let f = b.finish(&[z]);
    assert_rejected(&f, "operands of different types: real[2] and real[3]");
    assert_rejected(&f, "in `%2: real[2] = add %0, %1`");

    let mut b = Builder::new();
    let x = b.data("x", real(&[2]));
    let y = b.data("y", real(&[2]));
    let z = b.op1(OpKind::Binary(BinaryOp::Lt), &[x, y], real(&[2]));
    let w = b.op1(OpKind::BroadcastTo, &[x], real(&[2, 3]));
    let r = b.op1(
        OpKind::Reduce {
            op: ReduceOp::Sum,
            axis: Some(0),
        },
        &[w],
        real(&[2]),
    );
    let f = b.finish(&[z, w, r]);
    assert_rejected(&f, "expected bool elements");
    assert_rejected(&f, "[2] does not broadcast to [2, 3]");
    assert_rejected(&f, "the result is real[2], expected real[3]");
}

#[test]
fn verifier_rejects_wrong_scan_arity_and_bad_index_plans() {
    let mut f = running_sum(false);
    let OpKind::Scan { body, .. } = &mut f.body.ops[1].kind else {
        panic!("the second op is the scan");
    };
    body.results.pop();
    assert_rejected(&f, "2 results but the body yields 1 values");

    let mut f = running_sum(false);
    let OpKind::Scan { body, .. } = &mut f.body.ops[1].kind else {
        panic!("the second op is the scan");
    };
    body.args.pop();
    assert_rejected(&f, "the body takes 1 arguments, expected 2");

    let mut b = Builder::new();
    let x = b.data("x", real(&[3, 4]));
    let i = b.int_const(1);
    let wrong = b.op1(
        OpKind::Index {
            plan: vec![scalar_ix(None)],
        },
        &[x, i],
        real(&[3]),
    );
    let missing = b.op1(
        OpKind::Index {
            plan: vec![scalar_ix(None)],
        },
        &[x],
        real(&[4]),
    );
    let f = b.finish(&[wrong, missing]);
    assert_rejected(&f, "the result is real[3], expected real[4]");
    assert_rejected(&f, "the plan needs 1 index operands but there are 0");
}

#[test]
fn verifier_checks_that_theta_slices_read_theta() {
    let mut b = Builder::new();
    let theta = b.input(Input::Theta, real(&[3]));
    let other = b.data("other", real(&[3]));
    let good = b.op1(
        OpKind::ThetaSlice {
            offset: Dim::constant(1),
        },
        &[theta],
        real(&[2]),
    );
    let bad = b.op1(
        OpKind::ThetaSlice {
            offset: Dim::constant(0),
        },
        &[other],
        real(&[2]),
    );
    let f = b.finish(&[good, bad]);
    assert_rejected(&f, "the operand %1 is not the theta input");
}

// ---- The printer ----------------------------------------------------------------------

#[test]
fn printer_snapshot() {
    let mut b = Builder::new();
    let theta = b.input(Input::Theta, real(&[2]));
    let t_dim = Dim::size("T");
    let rewards = b.data("reward", TensorType::real(vec![t_dim.clone()]));
    let actions = b.data("action", TensorType::new(Elem::Int, vec![t_dim.clone()]));
    let q0 = b.op1(
        OpKind::ThetaSlice {
            offset: Dim::constant(0),
        },
        &[theta],
        real(&[2]),
    );
    let alpha = b.konst(0.5);
    let body = b.region(
        vec![real(&[2]), int(&[]), real(&[]), real(&[])],
        |b, args| {
            let (q, a, r, alpha) = (args[0], args[1], args[2], args[3]);
            let qa = b.op1(
                OpKind::Index {
                    plan: vec![scalar_ix(None)],
                },
                &[q, a],
                real(&[]),
            );
            let delta = b.binary(BinaryOp::Sub, r, qa);
            let step = b.binary(BinaryOp::Mul, alpha, delta);
            let next = b.op1(
                OpKind::IndexInc {
                    plan: vec![scalar_ix(None)],
                },
                &[q, step, a],
                real(&[2]),
            );
            vec![next, next]
        },
    );
    let scan = b.op(
        OpKind::Scan {
            body,
            carries: 1,
            sequences: 2,
            reverse: false,
        },
        &[q0, actions, rewards, alpha],
        vec![
            real(&[2]),
            TensorType::real(vec![t_dim.clone(), Dim::constant(2)]),
        ],
    );
    let t1 = t_dim.offset(-1).expect("small");
    let tail = b.op1(
        OpKind::Index {
            plan: vec![
                AxisIndex::Slice {
                    start: Dim::constant(1),
                    stop: t_dim.clone(),
                },
                scalar_ix(Some(0)),
            ],
        },
        &[scan[1]],
        TensorType::real(vec![t1]),
    );
    let lse = b.op1(
        OpKind::Reduce {
            op: ReduceOp::LogSumExp,
            axis: None,
        },
        &[tail],
        real(&[]),
    );
    let positive = b.konst(0.0);
    let cond = b.binary(BinaryOp::Gt, lse, positive);
    let then_region = b.region(vec![real(&[])], |b, args| {
        vec![b.unary(UnaryOp::Log1pExp, args[0])]
    });
    let else_region = b.region(vec![real(&[])], |_, args| vec![args[0]]);
    let lp = b.op1(
        OpKind::If {
            then_region,
            else_region,
        },
        &[cond, lse],
        real(&[]),
    );
    let f = b.finish(&[lp]);
    assert_eq!(verify(&f), Ok(()));
    let text = print_function(&f);
    assert_eq!(text, f.to_string());
    insta::assert_snapshot!(text);
}

#[test]
fn printer_shows_every_attribute() {
    let mut b = Builder::new();
    let n = Dim::size("N");
    let x = b.data("x", TensorType::real(vec![n.clone(), Dim::constant(2)]));
    let ix = b.data("ix", int(&[3]));
    let size = b.op1(OpKind::SizeOf(n.offset(-1).expect("small")), &[], int(&[]));
    let iota = b.op1(OpKind::Iota, &[], int(&[3]));
    let yes = b.op1(OpKind::Const(1.0), &[], boolean(&[]));
    let mask = b.op1(OpKind::Fill, &[yes], boolean(&[3]));
    let one = b.int_const(1);
    let ones = b.op1(OpKind::BroadcastTo, &[one], int(&[3]));
    let shifted = b.binary(BinaryOp::Add, iota, ones);
    let picked = b.op1(OpKind::Select, &[mask, shifted, ix], int(&[3]));
    let rows = b.op1(
        OpKind::Index {
            plan: vec![AxisIndex::Gather {
                needs_bounds_check: false,
            }],
        },
        &[x, picked],
        real(&[3, 2]),
    );
    let xt = b.op1(OpKind::Transpose, &[rows], real(&[2, 3]));
    let flat = b.op1(OpKind::Reshape, &[xt], real(&[6]));
    let both = b.op1(OpKind::Concat { axis: 0 }, &[flat, flat], real(&[12]));
    let present = b.op1(OpKind::IsPresent, &[both], boolean(&[12]));
    let as_real = b.op1(OpKind::Cast, &[present], real(&[12]));
    let gram = b.op1(OpKind::Matmul, &[xt, rows], real(&[2, 2]));
    let col = b.op1(OpKind::SumTo, &[gram], real(&[1, 2]));
    let top = b.op1(
        OpKind::Reduce {
            op: ReduceOp::Max,
            axis: Some(0),
        },
        &[col],
        real(&[2]),
    );
    let zeros = b.op1(OpKind::Fill, &[one], int(&[3]));
    let set = b.op1(
        OpKind::IndexSet {
            plan: vec![AxisIndex::Slice {
                start: Dim::constant(0),
                stop: Dim::constant(3),
            }],
        },
        &[zeros, ix],
        int(&[3]),
    );
    let lo = b.int_const(0);
    let body = b.region(vec![int(&[]), real(&[12])], |b, args| {
        let v = b.op1(
            OpKind::Index {
                plan: vec![scalar_ix(None)],
            },
            &[args[1], args[0]],
            real(&[]),
        );
        vec![v]
    });
    let total = b.op1(OpKind::For { body }, &[lo, size, as_real], real(&[]));
    let zero = b.konst(0.0);
    let body = b.region(vec![real(&[]), real(&[])], |b, args| {
        let next = b.binary(BinaryOp::Max, args[0], args[1]);
        vec![next]
    });
    let suffix_max = b.op(
        OpKind::Scan {
            body,
            carries: 1,
            sequences: 1,
            reverse: true,
        },
        &[zero, top],
        vec![real(&[])],
    );
    let f = b.finish(&[total, suffix_max[0], set]);
    assert_eq!(verify(&f), Ok(()));
    insta::assert_snapshot!(print_function(&f));
}

/// Numbers in messages: every digit in ordinary notation, scientific notation
/// where that would run to hundreds of characters (1e-300 printed 300 zeros).
#[test]
fn numbers_in_messages_stay_short() {
    use rlc_ir::interp::readable;
    assert_eq!(readable(0.25), "0.25");
    assert_eq!(readable(-1234.5), "-1234.5");
    assert_eq!(readable(0.0), "0");
    assert_eq!(readable(f64::INFINITY), "inf");
    assert_eq!(readable(1e-300), "1e-300");
    assert_eq!(readable(-2.5e20), "-2.5e20");
    for x in [1e-300, 1e300, 5e-324, f64::MAX, 123.456, 1e-5, 1e15] {
        assert!(readable(x).len() <= 24, "{x:e}: {}", readable(x));
    }
}
