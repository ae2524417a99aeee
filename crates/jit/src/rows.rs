//! Row loops: a run of ops that each work row by row on arrays of `R` short
//! rows (the vectorized form of a choice model: `logits - logsumexp(logits,
//! axis=1, keepdims=true)` over `[T-1, K]`, the pick of each row's chosen
//! element, and their adjoints) becomes one `scan` over the rows, whose body
//! does one row's work with the row's values in registers. Without it each op
//! is a pass over its arrays, storing an array that the next ones read.
//!
//! An IR-to-IR rewrite on the function the JIT is given, for its sizes; the
//! interpreter never sees it, so the JIT-against-interpreter tests check it.
//! The rows' sums (`sum` over rows, `sum_to` a row) become the scan's
//! carries, summed row after row: the same terms in the same order as the
//! flat sum, grouped by row (a few ulps apart).

use crate::codegen::SMALL;
use rlc_ir::{
    AxisIndex, BinaryOp, Elem, Function, Op, OpKind, ReduceOp, Region, TensorType, ValueId,
};
use std::collections::{HashMap, HashSet};

/// The rewritten copy of `f` (`f` itself when no run of row ops is found).
pub(crate) fn fuse_rows(f: &Function, sizes: &HashMap<String, i64>) -> Function {
    let mut out = f.clone();
    let mut body = std::mem::replace(
        &mut out.body,
        Region {
            args: Vec::new(),
            ops: Vec::new(),
            results: Vec::new(),
        },
    );
    fuse_region(&mut out, &mut body, sizes);
    out.body = body;
    out
}

fn fuse_region(f: &mut Function, r: &mut Region, sizes: &HashMap<String, i64>) {
    for op in &mut r.ops {
        match &mut op.kind {
            OpKind::Scan { body, .. } | OpKind::For { body } => fuse_region(f, body, sizes),
            OpKind::If {
                then_region,
                else_region,
            } => {
                fuse_region(f, then_region, sizes);
                fuse_region(f, else_region, sizes);
            }
            _ => {}
        }
    }
    // Each run found moves its ops into a scan body, so this ends; the bound
    // is a guard.
    for _ in 0..16 {
        let mut counts: Vec<i64> = Vec::new();
        for op in &r.ops {
            if has_region(op) {
                continue;
            }
            for v in &op.results {
                if let Some(d) = dims(f, sizes, *v) {
                    if d.len() >= 2 && d[0] >= 2 && !counts.contains(&d[0]) {
                        counts.push(d[0]);
                    }
                }
            }
        }
        let Some(ops) = counts
            .into_iter()
            .find_map(|rows| row_loop(f, r, rows, sizes))
        else {
            return;
        };
        r.ops = ops;
    }
}

fn has_region(op: &Op) -> bool {
    matches!(
        op.kind,
        OpKind::Scan { .. } | OpKind::For { .. } | OpKind::If { .. }
    )
}

/// The concrete shape of `v`.
fn dims(f: &Function, sizes: &HashMap<String, i64>, v: ValueId) -> Option<Vec<i64>> {
    f.ty(v).shape.iter().map(|d| d.eval(sizes)).collect()
}

/// What an operand of a row op is to one row.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// Its row (an array of `R` rows).
    Row,
    /// All of it, the same for every row.
    Whole,
    /// Not needed: the `arange(R)` that picks each row itself.
    RowIndex,
}

/// How one row of an op is computed.
#[derive(Clone, PartialEq)]
enum Form {
    /// The same op on the rows of its operands.
    Same,
    /// The row is its (one) operand's row or whole value, as it is.
    Identity,
    /// The op with another kind on the rows (the result is a row).
    Kind(OpKind),
    /// `base + values` on the rows (`inc_subtensor` of a whole row).
    AddRows,
    /// A whole value of one row (`[1, …]`) reshaped to a row and broadcast
    /// to the result's row (`Some`) or not.
    OneRow(Option<OpKind>),
    /// A sum over the rows: each row's part is its operand's row as it is or
    /// made by the op `part` (with the result type `part_shape`), added to a
    /// carry of shape `part_shape`; `reshape` when the result has a leading 1.
    Sum {
        part: Option<OpKind>,
        part_shape: Vec<rlc_ir::Dim>,
        reshape: bool,
    },
}

/// The op's row form for arrays of `rows` rows, with its operands' roles.
fn row_form(
    f: &Function,
    sizes: &HashMap<String, i64>,
    defs: &HashMap<ValueId, &Op>,
    op: &Op,
    rows: i64,
) -> Option<(Form, Vec<Role>)> {
    let d = |v: ValueId| dims(f, sizes, v);
    let res = d(*op.results.first()?)?;
    let leads = |s: &[i64]| !s.is_empty() && s[0] == rows;
    let is_row_index = |v: ValueId| {
        defs.get(&v)
            .is_some_and(|o| o.kind == OpKind::Iota && d(v).as_deref() == Some(&[rows][..]))
    };
    let row_shape = |v: ValueId| f.ty(v).shape[1..].to_vec();
    // One row's indexing plan and the roles of the index operands, for a
    // whole first axis `x[:, …]` (the rest without gathers; its dynamic
    // indices read whole) or per-row picks `x[arange(R), i, …]` (every index a
    // gather of `R`, the first the row itself).
    let row_plan =
        |plan: &[AxisIndex], indices: &[ValueId]| -> Option<(Vec<AxisIndex>, Vec<Role>)> {
            match plan.first()? {
                AxisIndex::Slice { start, stop } => {
                    let whole = start.eval(sizes) == Some(0) && stop.eval(sizes) == Some(rows);
                    let rest_gathers = plan[1..]
                        .iter()
                        .any(|a| matches!(a, AxisIndex::Gather { .. }));
                    (whole && !rest_gathers)
                        .then(|| (plan[1..].to_vec(), vec![Role::Whole; indices.len()]))
                }
                AxisIndex::Gather { .. } => {
                    let picks = plan.iter().all(|a| matches!(a, AxisIndex::Gather { .. }))
                        && indices.len() == plan.len()
                        && is_row_index(indices[0])
                        && indices
                            .iter()
                            .all(|g| d(*g).as_deref() == Some(&[rows][..]));
                    let mut roles = vec![Role::RowIndex];
                    roles.extend(std::iter::repeat_n(
                        Role::Row,
                        indices.len().saturating_sub(1),
                    ));
                    picks.then(|| (scalars(&plan[1..]), roles))
                }
                AxisIndex::Scalar { .. } => None,
            }
        };
    let all_rows = || vec![Role::Row; op.args.len()];
    match &op.kind {
        OpKind::Unary(_)
        | OpKind::Binary(_)
        | OpKind::Select
        | OpKind::Special(_)
        | OpKind::Cast
        | OpKind::IsPresent => {
            let same = op.args.iter().all(|a| d(*a).as_ref() == Some(&res))
                && op.results.iter().all(|v| d(*v).as_ref() == Some(&res));
            (leads(&res) && same).then(|| (Form::Same, all_rows()))
        }
        OpKind::BroadcastTo => {
            let a = d(op.args[0])?;
            if !leads(&res) {
                return None;
            }
            if a.len() == res.len() && a[0] == rows {
                let form = same_or(a == res, OpKind::BroadcastTo);
                Some((form, vec![Role::Row]))
            } else if a.len() == res.len() && a[0] == 1 {
                let broadcast = (a[1..] != res[1..]).then_some(OpKind::BroadcastTo);
                Some((Form::OneRow(broadcast), vec![Role::Whole]))
            } else if a.len() < res.len() {
                let form = same_or(a[..] == res[1..], OpKind::BroadcastTo);
                Some((form, vec![Role::Whole]))
            } else {
                None
            }
        }
        OpKind::Reduce { op: rop, axis } => {
            let a = d(op.args[0])?;
            if !leads(&a) {
                return None;
            }
            match axis {
                Some(ax) if *ax >= 1 => Some((
                    Form::Kind(OpKind::Reduce {
                        op: *rop,
                        axis: Some(ax - 1),
                    }),
                    vec![Role::Row],
                )),
                _ if *rop == ReduceOp::Sum && f.ty(op.args[0]).elem == Elem::Real => {
                    let over_all = axis.is_none() && a.len() > 1;
                    Some((
                        Form::Sum {
                            part: over_all.then_some(OpKind::Reduce {
                                op: ReduceOp::Sum,
                                axis: None,
                            }),
                            part_shape: f.ty(op.results[0]).shape.clone(),
                            reshape: false,
                        },
                        vec![Role::Row],
                    ))
                }
                _ => None,
            }
        }
        OpKind::Reshape => {
            let a = d(op.args[0])?;
            if !(leads(&a) && leads(&res)) {
                return None;
            }
            let form = same_or(a == res, OpKind::Reshape);
            Some((form, vec![Role::Row]))
        }
        OpKind::SumTo => {
            let a = d(op.args[0])?;
            if !leads(&a) || f.ty(op.args[0]).elem != Elem::Real {
                return None;
            }
            if res.len() == a.len() && res[0] == rows {
                let form = same_or(a == res, OpKind::SumTo);
                Some((form, vec![Role::Row]))
            } else if res.len() < a.len() || (res.len() == a.len() && res[0] == 1) {
                let reshape = res.len() == a.len();
                let part_shape = if reshape {
                    f.ty(op.results[0]).shape[1..].to_vec()
                } else {
                    f.ty(op.results[0]).shape.clone()
                };
                let part_dims: Vec<i64> = if reshape {
                    res[1..].to_vec()
                } else {
                    res.clone()
                };
                let part = (a[1..] != part_dims[..]).then_some(OpKind::SumTo);
                Some((
                    Form::Sum {
                        part,
                        part_shape,
                        reshape,
                    },
                    vec![Role::Row],
                ))
            } else {
                None
            }
        }
        OpKind::Fill => {
            let form = if res.len() == 1 {
                Form::Identity
            } else {
                Form::Kind(OpKind::Fill)
            };
            leads(&res).then_some((form, vec![Role::Whole]))
        }
        OpKind::Index { plan } => {
            let (src, (rest, index_roles)) = (d(op.args[0])?, row_plan(plan, &op.args[1..])?);
            if !leads(&src) || !leads(&res) {
                return None;
            }
            let form = if rest.is_empty() {
                Form::Identity
            } else {
                Form::Kind(OpKind::Index { plan: rest })
            };
            let roles = std::iter::once(Role::Row).chain(index_roles).collect();
            Some((form, roles))
        }
        OpKind::IndexInc { plan } | OpKind::IndexSet { plan } => {
            let inc = matches!(op.kind, OpKind::IndexInc { .. });
            let (base, values) = (d(op.args[0])?, d(op.args[1])?);
            let (rest, index_roles) = row_plan(plan, &op.args[2..])?;
            if !leads(&base) || !leads(&values) {
                return None;
            }
            let form = match (rest.is_empty(), inc) {
                // A whole row updated: `base + values`, or `values` (operand 1).
                (true, true) => {
                    (row_shape(op.args[0]) == row_shape(op.args[1])).then_some(Form::AddRows)?
                }
                (true, false) => Form::Identity,
                (false, true) => Form::Kind(OpKind::IndexInc { plan: rest }),
                (false, false) => Form::Kind(OpKind::IndexSet { plan: rest }),
            };
            let roles = [Role::Row, Role::Row]
                .into_iter()
                .chain(index_roles)
                .collect();
            Some((form, roles))
        }
        _ => None,
    }
}

/// `Identity` when a row already has the result's shape, else `kind` on the row.
fn same_or(same: bool, kind: OpKind) -> Form {
    if same {
        Form::Identity
    } else {
        Form::Kind(kind)
    }
}

/// Gathers of one row: each picks one element, with the same bounds check.
fn scalars(plan: &[AxisIndex]) -> Vec<AxisIndex> {
    plan.iter()
        .map(|a| AxisIndex::Scalar {
            constant: None,
            needs_bounds_check: match a {
                AxisIndex::Gather { needs_bounds_check } => *needs_bounds_check,
                _ => true,
            },
        })
        .collect()
}

/// The elements of one row of `v`, if concrete.
fn row_len(f: &Function, sizes: &HashMap<String, i64>, v: ValueId) -> Option<i64> {
    dims(f, sizes, v).map(|d| d.iter().skip(1).product())
}

/// The region's ops with one run of row ops over `rows` rows made a scan, if
/// a run worth it is found: ops that depend on none of the run stay before
/// it, ops that depend on it move after it (pure ops, or ops whose effect is
/// an index check: only which of two bad indices is reported first can
/// change).
fn row_loop(
    f: &mut Function,
    r: &Region,
    rows: i64,
    sizes: &HashMap<String, i64>,
) -> Option<Vec<Op>> {
    let mut defs: HashMap<ValueId, &Op> = HashMap::new();
    for op in &r.ops {
        for v in &op.results {
            defs.insert(*v, op);
        }
    }
    // Classes of the values defined in this region after the run starts.
    let mut in_run: HashSet<ValueId> = HashSet::new(); // rows the run makes
    let mut summed: HashSet<ValueId> = HashSet::new(); // sums over rows (after the scan)
    let mut after: HashSet<ValueId> = HashSet::new();
    let mut run: Vec<(usize, Form, Vec<Role>)> = Vec::new();
    let mut before_ops = Vec::new();
    let mut after_ops = Vec::new();
    for (k, op) in r.ops.iter().enumerate() {
        let late = |v: &ValueId| summed.contains(v) || after.contains(v);
        let joined = (!has_region(op))
            .then(|| row_form(f, sizes, &defs, op, rows))
            .flatten()
            .filter(|(_, roles)| {
                op.args.iter().zip(roles).all(|(a, role)| match role {
                    Role::Row => {
                        in_run.contains(a)
                            || (!late(a)
                                && dims(f, sizes, *a).is_some_and(|d| d.first() == Some(&rows))
                                && row_len(f, sizes, *a).is_some_and(|n| n as usize <= SMALL))
                    }
                    Role::Whole | Role::RowIndex => !late(a) && !in_run.contains(a),
                })
            })
            .filter(|_| {
                op.results.iter().all(|v| {
                    row_len(f, sizes, *v).is_some_and(|n| n as usize <= SMALL)
                        || f.ty(*v).shape.len() < 2
                })
            });
        if let Some((form, roles)) = joined {
            let target = if matches!(form, Form::Sum { .. }) {
                &mut summed
            } else {
                &mut in_run
            };
            target.extend(op.results.iter().copied());
            run.push((k, form, roles));
        } else if op.args.iter().any(|a| in_run.contains(a) || late(a)) {
            after.extend(op.results.iter().copied());
            after_ops.push(k);
        } else {
            before_ops.push(k);
        }
    }
    // Arrays of at most `SMALL` elements are registers already (unrolled).
    let wide = run.iter().any(|(k, _, _)| {
        r.ops[*k].results.iter().any(|v| {
            f.ty(*v).shape.len() >= 2
                && dims(f, sizes, *v).is_some_and(|d| d.iter().product::<i64>() as usize > SMALL)
        })
    });
    // Reshapes, broadcasts and fills cost nothing as they are (the JIT reads
    // them in place); a run pays when it holds work.
    let work = run
        .iter()
        .filter(|(_, form, _)| match form {
            Form::Same | Form::AddRows | Form::Sum { .. } => true,
            Form::Kind(kind) => matches!(
                kind,
                OpKind::Reduce { .. }
                    | OpKind::SumTo
                    | OpKind::Index { .. }
                    | OpKind::IndexInc { .. }
                    | OpKind::IndexSet { .. }
            ),
            _ => false,
        })
        .count();
    if work < 2 || !wide {
        return None;
    }

    // Values of the run read after it: its stacked outputs.
    let run_ops: HashSet<usize> = run.iter().map(|(k, _, _)| *k).collect();
    let mut read_after: Vec<ValueId> = Vec::new();
    let note = |v: ValueId, read_after: &mut Vec<ValueId>| {
        if in_run.contains(&v) && !read_after.contains(&v) {
            read_after.push(v);
        }
    };
    for (k, op) in r.ops.iter().enumerate() {
        if !run_ops.contains(&k) {
            op.args.iter().for_each(|a| note(*a, &mut read_after));
        }
    }
    r.results.iter().for_each(|a| note(*a, &mut read_after));

    // The scan's body.
    let row_type = |f: &Function, v: ValueId| {
        let t = f.ty(v);
        TensorType::new(t.elem, t.shape[1..].to_vec())
    };
    let mut body_of: HashMap<ValueId, ValueId> = HashMap::new();
    let mut sequences: Vec<(ValueId, ValueId)> = Vec::new(); // (outer, body arg)
    let mut captures: Vec<(ValueId, ValueId)> = Vec::new();
    // (outer result, carry arg, next, init ops' result, reshape into the outer result)
    struct Carry {
        outer: ValueId,
        arg: ValueId,
        next: ValueId,
        init: ValueId,
        reshaped: Option<ValueId>,
    }
    let mut carries: Vec<Carry> = Vec::new();
    let mut init_ops: Vec<Op> = Vec::new();
    let mut body_ops: Vec<Op> = Vec::new();
    let mut spans: Vec<(ValueId, (usize, usize))> = Vec::new();
    let mut constants: HashMap<ValueId, ValueId> = HashMap::new();
    for (k, form, roles) in &run {
        let op = &r.ops[*k];
        let mut args = Vec::new();
        for (a, role) in op.args.iter().zip(roles) {
            match role {
                Role::RowIndex => {}
                Role::Row => {
                    let v = if let Some(b) = body_of.get(a) {
                        *b
                    } else if let Some((_, b)) = sequences.iter().find(|(o, _)| o == a) {
                        *b
                    } else {
                        let b = f.new_value(row_type(f, *a));
                        sequences.push((*a, b));
                        b
                    };
                    args.push(v);
                }
                Role::Whole => {
                    let v = if let Some(b) = constants.get(a) {
                        *b
                    } else if let Some((_, b)) = captures.iter().find(|(o, _)| o == a) {
                        *b
                    } else if let Some(OpKind::Const(c)) = defs.get(a).map(|d| &d.kind) {
                        // A constant is made again in the body: the JIT's
                        // patterns (a softmax's normalization) see it there.
                        let b = f.new_value(f.ty(*a).clone());
                        body_ops.push(Op {
                            kind: OpKind::Const(*c),
                            args: vec![],
                            results: vec![b],
                        });
                        constants.insert(*a, b);
                        b
                    } else {
                        let b = f.new_value(f.ty(*a).clone());
                        captures.push((*a, b));
                        b
                    };
                    args.push(v);
                }
            }
        }
        let span = op.results.first().and_then(|v| f.spans.get(v).copied());
        match form {
            Form::Identity => {
                // A set's row is its values' row (operand 1); any other's its operand 0.
                let from = if matches!(op.kind, OpKind::IndexSet { .. }) {
                    args[1]
                } else {
                    args[0]
                };
                body_of.insert(op.results[0], from);
            }
            Form::OneRow(broadcast) => {
                let t = f.ty(op.args[0]).clone();
                let row = f.new_value(TensorType::new(t.elem, t.shape[1..].to_vec()));
                body_ops.push(Op {
                    kind: OpKind::Reshape,
                    args: vec![args[0]],
                    results: vec![row],
                });
                let result = match broadcast {
                    None => row,
                    Some(kind) => {
                        let b = f.new_value(row_type(f, op.results[0]));
                        body_ops.push(Op {
                            kind: kind.clone(),
                            args: vec![row],
                            results: vec![b],
                        });
                        b
                    }
                };
                body_of.insert(op.results[0], result);
            }
            Form::Same | Form::Kind(_) | Form::AddRows => {
                let kind = match form {
                    Form::Same => op.kind.clone(),
                    Form::Kind(kind) => kind.clone(),
                    _ => OpKind::Binary(BinaryOp::Add),
                };
                let results: Vec<ValueId> = op
                    .results
                    .iter()
                    .map(|v| {
                        let t = row_type(f, *v);
                        let b = f.new_value(t);
                        body_of.insert(*v, b);
                        b
                    })
                    .collect();
                if let Some(s) = span {
                    spans.extend(results.iter().map(|b| (*b, s)));
                }
                body_ops.push(Op {
                    kind,
                    args,
                    results,
                });
            }
            Form::Sum {
                part,
                part_shape,
                reshape,
            } => {
                let carry_type = TensorType::real(part_shape.clone());
                let part_value = match part {
                    None => args[0],
                    Some(kind) => {
                        let b = f.new_value(carry_type.clone());
                        body_ops.push(Op {
                            kind: kind.clone(),
                            args: args.clone(),
                            results: vec![b],
                        });
                        b
                    }
                };
                let arg = f.new_value(carry_type.clone());
                let next = f.new_value(carry_type.clone());
                body_ops.push(Op {
                    kind: OpKind::Binary(BinaryOp::Add),
                    args: vec![arg, part_value],
                    results: vec![next],
                });
                let zero = f.new_value(TensorType::scalar(Elem::Real));
                init_ops.push(Op {
                    kind: OpKind::Const(0.0),
                    args: vec![],
                    results: vec![zero],
                });
                let init = if part_shape.is_empty() {
                    zero
                } else {
                    let filled = f.new_value(carry_type.clone());
                    init_ops.push(Op {
                        kind: OpKind::Fill,
                        args: vec![zero],
                        results: vec![filled],
                    });
                    filled
                };
                let outer = op.results[0];
                let (result, reshaped) = if *reshape {
                    (f.new_value(carry_type), Some(outer))
                } else {
                    (outer, None)
                };
                carries.push(Carry {
                    outer: result,
                    arg,
                    next,
                    init,
                    reshaped,
                });
            }
        }
    }
    if sequences.is_empty() {
        return None;
    }
    for (v, s) in spans {
        f.spans.insert(v, s);
    }
    let mut body_args: Vec<ValueId> = carries.iter().map(|c| c.arg).collect();
    body_args.extend(sequences.iter().map(|(_, b)| *b));
    body_args.extend(captures.iter().map(|(_, b)| *b));
    let mut body_results: Vec<ValueId> = carries.iter().map(|c| c.next).collect();
    body_results.extend(read_after.iter().map(|v| body_of[v]));
    let mut scan_args: Vec<ValueId> = carries.iter().map(|c| c.init).collect();
    scan_args.extend(sequences.iter().map(|(o, _)| *o));
    scan_args.extend(captures.iter().map(|(o, _)| *o));
    let mut scan_results: Vec<ValueId> = carries.iter().map(|c| c.outer).collect();
    scan_results.extend(read_after.iter().copied());
    let scan = Op {
        kind: OpKind::Scan {
            body: Region {
                args: body_args,
                ops: body_ops,
                results: body_results,
            },
            carries: carries.len(),
            sequences: sequences.len(),
            reverse: false,
        },
        args: scan_args,
        results: scan_results,
    };
    let mut ops: Vec<Op> = before_ops.iter().map(|k| r.ops[*k].clone()).collect();
    ops.extend(init_ops);
    ops.push(scan);
    for c in &carries {
        if let Some(outer) = c.reshaped {
            ops.push(Op {
                kind: OpKind::Reshape,
                args: vec![c.outer],
                results: vec![outer],
            });
        }
    }
    ops.extend(after_ops.iter().map(|k| r.ops[*k].clone()));
    Some(ops)
}
