//! Optimization passes, each a function from IR to IR (in place).
//!
//! * [`hoist_loop_invariants`] moves computations that do not change from
//!   one step of a `scan` or iteration of a `for` to the next out of its
//!   body, and out of the `if`s in it (`tau[n]` inside a subject's trial
//!   loop), so the body, and its derivative, work on a
//!   captured scalar instead of indexing a captured array every step. This
//!   matters most for the gradient: the adjoint of a captured array is an
//!   array-sized accumulator carried through the reverse loop, the adjoint
//!   of a captured scalar is one number.
//! * [`eliminate_dead_code`] removes operations nothing needs, and the
//!   results of loops and branches nothing reads: a scan's carry goes when
//!   neither its final value nor any needed step reads it, with what
//!   computed it (the reverse-mode copy of a forward loop that the
//!   backward pass re-runs only for its stacked carries keeps no
//!   log-density sum). Operations that check an index stay: they report
//!   bad data.
//! * [`drop_unused_captures`] removes loop and branch captures their
//!   regions no longer use.
//! * [`forget_index_checks`] (for reverse mode) lets dead-code elimination
//!   drop indexing that repeats indexing already checked (the JIT then
//!   converts such an index without a check; [`check_every_index`] undoes
//!   it), and
//!   [`eliminate_common_subexpressions`] treats an index and its unchecked
//!   repeat as one op, which keeps the check.
//! * [`share_between_branches`] hands a costly value (`pow`, `exp`, …) from
//!   an `if` to a later `if` on the same condition that would compute it
//!   again (a branch and its adjoint, which cannot be joined).
//!
//! A hoisted operation runs once even when the loop runs zero times, and
//! whether or not the condition of an `if` it came out of holds. So out of
//! an `if`, and out of a `for` (whose bounds may leave it empty: a subject
//! without trials), go only pure operations with finite derivatives wherever
//! their values are finite (reads, arithmetic, `exp`, …; see
//! `may_run_unasked`): a `log(x[n])` left in a subject's trial loop must not
//! make the gradient NaN for a subject without trials where `x[n] = 0`, nor
//! an index the checker could not prove in range fail where the loop's
//! bounds or the condition kept it in range. A `scan` steps along a size of
//! the data: any pure operation leaves its body, and an index out of range
//! is reported even for an empty scan (the data would be wrong anyway).

use crate::ir::*;
use std::collections::{HashMap, HashSet};

/// All passes, in order.
pub fn optimize(f: &mut Function) {
    hoist_loop_invariants(f);
    eliminate_dead_code(f);
    drop_unused_captures(f);
}

/// Removes the operations, and the results of loops and branches, that the
/// function's results do not need (see the module documentation).
pub fn eliminate_dead_code(f: &mut Function) {
    eliminate_dead_code_in(&mut f.body);
}

/// Dead-code elimination in one region, all of whose results are needed.
pub fn eliminate_dead_code_in(region: &mut Region) {
    let needed = vec![true; region.results.len()];
    prune_region(region, &needed);
}

/// Whether an op may report a run-time error (an index whose range the
/// checker could not prove), itself or in its regions: it must run even
/// when nothing reads its results.
pub fn checks_an_index(op: &Op) -> bool {
    let checked = |plan: &[AxisIndex]| {
        plan.iter().any(|a| match a {
            AxisIndex::Scalar {
                constant: None,
                needs_bounds_check,
            }
            | AxisIndex::Gather { needs_bounds_check } => *needs_bounds_check,
            _ => false,
        })
    };
    contains_op(op, &|o| match &o.kind {
        OpKind::Index { plan } | OpKind::IndexSet { plan } | OpKind::IndexInc { plan } => {
            checked(plan)
        }
        _ => false,
    })
}

/// Marks every index in `region` (at any depth) as one that needs no
/// check of its own, so that dead-code elimination may drop it when nothing
/// reads it. For a region that repeats indexing already checked on the same
/// values: the backward body of a scan re-runs each forward step from its
/// stored carries, after the forward scan checked each index; keeping the
/// re-run's checks would keep alive what they read (a step's whole softmax,
/// for `p[k]`). The JIT converts such an index without a check, clamped
/// into its axis (the forward scan has checked the same value).
pub fn forget_index_checks(region: &mut Region) {
    set_index_checks(region, false);
}

/// Marks every index in `region` as needing its bounds check: for a function
/// that runs ops whatever the conditions that guarded them (the JIT's data
/// tables), where an index out of range must be found, not trusted.
pub fn check_every_index(region: &mut Region) {
    set_index_checks(region, true);
}

fn set_index_checks(region: &mut Region, needed: bool) {
    for op in &mut region.ops {
        for flag in index_check_flags(&mut op.kind) {
            *flag = needed;
        }
        for nested in op.kind.regions_mut() {
            set_index_checks(nested, needed);
        }
    }
}

/// The flags of an indexing op's axes that say whether the axis's index
/// must be checked (none for other ops).
fn index_check_flags(kind: &mut OpKind) -> Vec<&mut bool> {
    let (OpKind::Index { plan } | OpKind::IndexSet { plan } | OpKind::IndexInc { plan }) = kind
    else {
        return Vec::new();
    };
    plan.iter_mut()
        .filter_map(|axis| match axis {
            AxisIndex::Scalar {
                needs_bounds_check, ..
            }
            | AxisIndex::Gather { needs_bounds_check } => Some(needs_bounds_check),
            _ => None,
        })
        .collect()
}

/// Whether `op` or an op in its regions (at any depth) satisfies `test`.
pub fn contains_op(op: &Op, test: &dyn Fn(&Op) -> bool) -> bool {
    test(op)
        || op
            .kind
            .regions()
            .iter()
            .any(|r| r.ops.iter().any(|o| contains_op(o, test)))
}

/// Removes the ops of `region` that neither its `needed` results nor an
/// index check need, shrinking the loops and branches it keeps to their
/// needed results. The unneeded results stay in `region.results` (the
/// caller removes them). Returns the values the kept ops and results use.
fn prune_region(region: &mut Region, needed: &[bool]) -> HashSet<ValueId> {
    let mut used: HashSet<ValueId> = region
        .results
        .iter()
        .zip(needed)
        .filter(|(_, n)| **n)
        .map(|(r, _)| *r)
        .collect();
    let mut kept = Vec::with_capacity(region.ops.len());
    for mut op in std::mem::take(&mut region.ops).into_iter().rev() {
        let wanted: Vec<bool> = op.results.iter().map(|r| used.contains(r)).collect();
        if !wanted.iter().any(|w| *w) && !checks_an_index(&op) {
            continue;
        }
        prune_op(&mut op, &wanted);
        used.extend(op.args.iter().copied());
        kept.push(op);
    }
    kept.reverse();
    region.ops = kept;
    used
}

/// Shrinks a kept op with regions to its `wanted` results.
fn prune_op(op: &mut Op, wanted: &[bool]) {
    match &mut op.kind {
        OpKind::Scan {
            body,
            carries,
            sequences,
            ..
        } => {
            let n = *carries;
            // A carry is needed when its final value is, or when a needed
            // step result reads it (through the previous step): a fixpoint.
            let mut keep = wanted.to_vec();
            loop {
                let used = prune_region(&mut body.clone(), &keep);
                let mut changed = false;
                for (kept, arg) in keep.iter_mut().zip(&body.args).take(n) {
                    if !*kept && used.contains(arg) {
                        *kept = true;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            prune_region(body, &keep);
            let keep_carries = &keep[..n];
            retain_by(&mut op.args, keep_carries);
            retain_by(&mut body.args, keep_carries);
            retain_by(&mut body.results, &keep);
            retain_by(&mut op.results, &keep);
            *carries = keep_carries.iter().filter(|k| **k).count();
            // Sequences no step reads, but one: it gives the number of steps.
            let first = *carries;
            let reads = uses(body);
            let mut keep_args = vec![true; op.args.len()];
            let mut left = *sequences;
            let steps = keep_args.iter_mut().zip(&body.args);
            for (kept, arg) in steps.skip(first).take(*sequences) {
                if left > 1 && !reads.contains(arg) {
                    *kept = false;
                    left -= 1;
                }
            }
            retain_by(&mut op.args, &keep_args);
            retain_by(&mut body.args, &keep_args);
            *sequences = left;
        }
        OpKind::For { body } => {
            prune_region(body, wanted);
            retain_by(&mut body.results, wanted);
            retain_by(&mut op.results, wanted);
        }
        OpKind::If {
            then_region,
            else_region,
        } => {
            for branch in [then_region, else_region] {
                prune_region(branch, wanted);
                retain_by(&mut branch.results, wanted);
            }
            retain_by(&mut op.results, wanted);
        }
        _ => {}
    }
}

/// Moves loop-invariant operations out of `scan` and `for` bodies (and out
/// of the `if`s within them, at any depth), innermost loop first.
pub fn hoist_loop_invariants(f: &mut Function) {
    let mut values = std::mem::take(&mut f.values);
    let mut nonzero = HashSet::new();
    find_nonzero(&f.body, &mut nonzero);
    hoist_in_region(&mut f.body, &mut values, &nonzero);
    f.values = values;
}

/// The values known to be nonzero whatever the data: nonzero constants, sizes (a size
/// that divides is taken to be at least 1), their casts, and the captures of these.
fn find_nonzero(region: &Region, nonzero: &mut HashSet<ValueId>) {
    for op in &region.ops {
        let known = match &op.kind {
            OpKind::Const(c) => *c != 0.0,
            OpKind::SizeOf(_) => true,
            OpKind::Cast => nonzero.contains(&op.args[0]),
            _ => false,
        };
        if known {
            nonzero.extend(op.results.iter().copied());
        }
        // Each region arg and the op arg it receives, where it is a capture.
        let captures = Captures::of(&op.kind);
        for nested in op.kind.regions() {
            for (k, arg) in nested.args.iter().enumerate().skip(captures.first) {
                if op
                    .args
                    .get(k + captures.shift)
                    .is_some_and(|a| nonzero.contains(a))
                {
                    nonzero.insert(*arg);
                }
            }
            find_nonzero(nested, nonzero);
        }
    }
}

fn hoist_in_region(region: &mut Region, values: &mut Vec<TensorType>, nonzero: &HashSet<ValueId>) {
    let ops = std::mem::take(&mut region.ops);
    let mut out = Vec::with_capacity(ops.len());
    for mut op in ops {
        for nested in op.kind.regions_mut() {
            hoist_in_region(nested, values, nonzero);
        }
        let captures = Captures::of(&op.kind);
        let loop_body = match &mut op.kind {
            OpKind::Scan { body, .. } => Some((body, false)),
            OpKind::For { body } => Some((body, true)),
            _ => None,
        };
        if let Some((body, may_be_empty)) = loop_body {
            let hoisted =
                hoist_from_body(body, captures, may_be_empty, &mut op.args, values, nonzero);
            out.extend(hoisted);
        }
        out.push(op);
    }
    region.ops = out;
}

/// Where a region's captures begin among its args (`first`), and how far the
/// op's args for them are shifted (`shift`: a `for`'s args begin with its two
/// bounds, its body's with the index; an `if`'s with its condition).
struct Captures {
    first: usize,
    shift: usize,
}

impl Captures {
    fn of(kind: &OpKind) -> Captures {
        let (first, shift) = match kind {
            OpKind::Scan {
                carries, sequences, ..
            } => (carries + sequences, 0),
            OpKind::For { .. } => (1, 1),
            _ => (0, 1),
        };
        Captures { first, shift }
    }
}

/// Takes the invariant ops out of a loop's `body`, whose args from
/// `captures.first` on are captures of `outer_args[k + captures.shift]`,
/// including those in the branches of the `if`s in the body, returning them
/// for the parent region; their results are captured instead. A loop that
/// `may_be_empty` (a `for` over a subject's trials, `0..T[n]`) gives up only
/// what `may_run_unasked`; a `scan` steps along a size of the data, and runs.
fn hoist_from_body(
    body: &mut Region,
    captures: Captures,
    may_be_empty: bool,
    outer_args: &mut Vec<ValueId>,
    values: &mut Vec<TensorType>,
    nonzero: &HashSet<ValueId>,
) -> Vec<Op> {
    // A loop-invariant value inside, and the value it stands for outside.
    let mut outside: HashMap<ValueId, ValueId> = HashMap::new();
    for (k, arg) in body.args.iter().enumerate().skip(captures.first) {
        outside.insert(*arg, outer_args[k + captures.shift]);
    }
    let mut hoisted = Vec::new();
    let mut kept = Vec::with_capacity(body.ops.len());
    for mut op in std::mem::take(&mut body.ops) {
        if is_movable(&op, &outside) && (!may_be_empty || may_run_unasked(&op, &outside, nonzero)) {
            hoisted.push(take_out(op, &mut outside));
            continue;
        }
        if matches!(op.kind, OpKind::If { .. }) {
            hoist_from_branches(&mut op, &outside, &mut hoisted, nonzero);
        }
        kept.push(op);
    }
    body.ops = kept;
    // The body captures each moved value it (or an `if` in it) still uses.
    let moved: Vec<ValueId> = hoisted
        .iter()
        .flat_map(|op| op.results.iter().copied())
        .collect();
    for r in moved {
        if !uses_deep(body, r) {
            continue;
        }
        let local = fresh_like(r, values);
        body.args.push(local);
        outer_args.push(r);
        thread_capture(body, r, local, values);
    }
    hoisted
}

/// Moves the invariant ops of the branches of the `if` op `branching` (and
/// of the `if`s nested in them) to `hoisted`, with operands renamed to the
/// loop's outer values. `outside` maps the loop body's invariant values.
/// Only ops `may_run_unasked` leave a branch.
fn hoist_from_branches(
    branching: &mut Op,
    outside: &HashMap<ValueId, ValueId>,
    hoisted: &mut Vec<Op>,
    nonzero: &HashSet<ValueId>,
) {
    let captured: Vec<ValueId> = branching.args[1..].to_vec();
    for branch in branching.kind.regions_mut() {
        // A branch arg is invariant when the capture it receives is.
        let mut branch_outside: HashMap<ValueId, ValueId> = HashMap::new();
        for (k, arg) in branch.args.iter().enumerate() {
            if let Some(o) = captured.get(k).and_then(|a| outside.get(a)) {
                branch_outside.insert(*arg, *o);
            }
        }
        let mut branch_kept = Vec::with_capacity(branch.ops.len());
        for mut inner in std::mem::take(&mut branch.ops) {
            if is_movable(&inner, &branch_outside)
                && may_run_unasked(&inner, &branch_outside, nonzero)
            {
                hoisted.push(take_out(inner, &mut branch_outside));
                continue;
            }
            if matches!(inner.kind, OpKind::If { .. }) {
                hoist_from_branches(&mut inner, &branch_outside, hoisted, nonzero);
            }
            branch_kept.push(inner);
        }
        branch.ops = branch_kept;
    }
}

/// Whether an invariant op of a loop body or branch (its operands, `outside`, renamed to
/// the loop's outer values) may run where the body or branch would not have: it reports no
/// error and its derivatives are finite wherever its value is. Hoisted, an op runs also
/// for a loop of no iterations (a subject without trials) and where a condition is false,
/// and its zero adjoint there meets its derivative: `log(0)` in a branch not taken would
/// make the gradient `0 · ∞ = NaN`. Reads, arithmetic, division by
/// a constant or a size, and the functions with bounded slopes (`exp`'s overflows only
/// with its value) qualify: what a trial loop computes from a subject's parameters
/// (`tau[n]`, `xi[n] / K`, `exp(-k[n])`).
fn may_run_unasked(
    op: &Op,
    outside: &HashMap<ValueId, ValueId>,
    nonzero: &HashSet<ValueId>,
) -> bool {
    match &op.kind {
        OpKind::Index { .. } => !checks_an_index(op),
        OpKind::Unary(u) => matches!(
            u,
            UnaryOp::Neg
                | UnaryOp::Not
                | UnaryOp::Abs
                | UnaryOp::Exp
                | UnaryOp::Expm1
                | UnaryOp::Log1pExp
                | UnaryOp::Logistic
                | UnaryOp::Phi
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Tanh
                | UnaryOp::LogPhi
                | UnaryOp::LogPhiSlope
                | UnaryOp::LogBesselI0e
                | UnaryOp::MillsRatio
        ),
        OpKind::Binary(BinaryOp::Div) => nonzero.contains(&outside[&op.args[1]]),
        OpKind::Binary(b) => !matches!(b, BinaryOp::Pow | BinaryOp::Atan2),
        OpKind::Reduce { op: r, .. } => !matches!(r, ReduceOp::LogSumExp | ReduceOp::Prod),
        OpKind::Fill
        | OpKind::BroadcastTo
        | OpKind::SumTo
        | OpKind::Reshape
        | OpKind::Transpose
        | OpKind::Concat { .. }
        | OpKind::Select
        | OpKind::Cast
        | OpKind::IsPresent
        | OpKind::SizeOf(_)
        | OpKind::Matmul => true,
        _ => false,
    }
}

/// Whether `region`, or a region nested in it, uses `v` directly.
fn uses_deep(region: &Region, v: ValueId) -> bool {
    region.results.contains(&v)
        || region
            .ops
            .iter()
            .any(|op| op.args.contains(&v) || op.kind.regions().iter().any(|r| uses_deep(r, v)))
}

/// Replaces the uses of the hoisted value `v` in `region` by `local` (a
/// capture of it), passing it on as a new capture to each `if` whose
/// branches use it.
fn thread_capture(region: &mut Region, v: ValueId, local: ValueId, values: &mut Vec<TensorType>) {
    let rename =
        |ids: &mut Vec<ValueId>| ids.iter_mut().filter(|a| **a == v).for_each(|a| *a = local);
    rename(&mut region.results);
    for op in &mut region.ops {
        rename(&mut op.args);
        if !matches!(op.kind, OpKind::If { .. }) {
            continue;
        }
        if !op.kind.regions().iter().any(|r| uses_deep(r, v)) {
            continue;
        }
        op.args.push(local);
        for branch in op.kind.regions_mut() {
            let arg = fresh_like(v, values);
            branch.args.push(arg);
            thread_capture(branch, v, arg, values);
        }
    }
}

/// A new value of `v`'s type.
fn fresh_like(v: ValueId, values: &mut Vec<TensorType>) -> ValueId {
    let id = ValueId(values.len() as u32);
    values.push(values[v.0 as usize].clone());
    id
}

/// A pure op without regions whose operands are all loop-invariant. (A
/// constant stays where it is used; a size moves, so that what is computed
/// from it, `xi[n] / K`, can follow.)
fn is_movable(op: &Op, outside: &HashMap<ValueId, ValueId>) -> bool {
    // A draw inside a loop is a new draw at every step, whatever its arguments.
    (!op.args.is_empty() || matches!(op.kind, OpKind::SizeOf(_)))
        && !op.kind.has_regions()
        && !matches!(op.kind, OpKind::Random { .. })
        && op.args.iter().all(|a| outside.contains_key(a))
}

/// The op with its operands renamed to the outer values; its results keep
/// their ids and become invariant themselves.
fn take_out(op: Op, outside: &mut HashMap<ValueId, ValueId>) -> Op {
    let args = op.args.iter().map(|a| outside[a]).collect();
    for r in &op.results {
        outside.insert(*r, *r);
    }
    Op {
        kind: op.kind,
        args,
        results: op.results,
    }
}

/// The values a region's own ops and results use (not its nested regions').
fn uses(region: &Region) -> HashSet<ValueId> {
    let mut used: HashSet<ValueId> = region.results.iter().copied().collect();
    for op in &region.ops {
        used.extend(op.args.iter().copied());
    }
    used
}

/// Replaces each pure op that repeats an earlier op of its region (same
/// kind, operands and result types) by that op's results. Regions are
/// handled separately (their values are their own: captures are explicit).
pub fn eliminate_common_subexpressions(f: &mut Function) {
    let values = std::mem::take(&mut f.values);
    common_in_region(&mut f.body, &values);
    f.values = values;
}

fn common_in_region(region: &mut Region, values: &[TensorType]) {
    // Each key's earlier results, and where that op is in `kept`.
    let mut seen: HashMap<String, (Vec<ValueId>, usize)> = HashMap::new();
    let mut renamed: HashMap<ValueId, ValueId> = HashMap::new();
    let mut kept: Vec<Op> = Vec::with_capacity(region.ops.len());
    for mut op in std::mem::take(&mut region.ops) {
        for a in &mut op.args {
            if let Some(n) = renamed.get(a) {
                *a = *n;
            }
        }
        for nested in op.kind.regions_mut() {
            common_in_region(nested, values);
        }
        // Two draws with the same arguments are two different values.
        if !op.kind.has_regions() && !matches!(op.kind, OpKind::Random { .. }) {
            let types: Vec<&TensorType> =
                op.results.iter().map(|r| &values[r.0 as usize]).collect();
            // An index that must report a bad value and one that need not
            // (the same index, re-run where it was checked already) are the
            // same value: the op kept checks if either did.
            let mut unchecked = op.kind.clone();
            for flag in index_check_flags(&mut unchecked) {
                *flag = false;
            }
            let key = format!("{:?} {:?} {:?}", unchecked, op.args, types);
            if let Some((earlier, at)) = seen.get(&key) {
                for (r, e) in op.results.iter().zip(earlier) {
                    renamed.insert(*r, *e);
                }
                let checks = index_check_flags(&mut op.kind);
                for (kept_flag, flag) in index_check_flags(&mut kept[*at].kind)
                    .into_iter()
                    .zip(checks)
                {
                    *kept_flag |= *flag;
                }
                continue;
            }
            seen.insert(key, (op.results.clone(), kept.len()));
        }
        kept.push(op);
    }
    region.ops = kept;
    for r in &mut region.results {
        if let Some(n) = renamed.get(r) {
            *r = *n;
        }
    }
}

/// Joins the `if`s of a region that test the same condition into the
/// first of them, when the later one's operands are known there; then
/// passes each outer value to a branch once. (The residuals that reverse
/// mode adds to a forward loop body come as a second `if` on the
/// condition the step's own `if` tests; once joined, the two share work.)
pub fn merge_branches(f: &mut Function) {
    merge_in_region(&mut f.body);
}

fn merge_in_region(region: &mut Region) {
    for op in &mut region.ops {
        for nested in op.kind.regions_mut() {
            merge_in_region(nested);
        }
    }
    while let Some((i, j)) = mergeable_pair(region) {
        let later = region.ops.remove(j);
        let first = &mut region.ops[i];
        let (
            OpKind::If {
                then_region: t1,
                else_region: e1,
            },
            OpKind::If {
                then_region: t2,
                else_region: e2,
            },
        ) = (&mut first.kind, later.kind)
        else {
            unreachable!("mergeable_pair returns two ifs");
        };
        for (into, from) in [(t1, t2), (e1, e2)] {
            into.args.extend(from.args);
            into.ops.extend(from.ops);
            into.results.extend(from.results);
        }
        first.args.extend(later.args[1..].iter().copied());
        first.results.extend(later.results);
    }
    for op in &mut region.ops {
        pass_captures_once(op);
    }
}

/// Two `if`s at `i < j` on one condition, all of whose operands at `j`
/// are defined before `i`.
fn mergeable_pair(region: &Region) -> Option<(usize, usize)> {
    for (i, a) in region.ops.iter().enumerate() {
        if !matches!(a.kind, OpKind::If { .. }) {
            continue;
        }
        let mut defined_since: HashSet<ValueId> = HashSet::new();
        for (j, b) in region.ops.iter().enumerate().skip(i) {
            if j > i
                && matches!(b.kind, OpKind::If { .. })
                && b.args[0] == a.args[0]
                && !b.args.iter().any(|x| defined_since.contains(x))
            {
                return Some((i, j));
            }
            defined_since.extend(b.results.iter().copied());
        }
    }
    None
}

/// An `if` that passes one outer value twice keeps the first branch arg.
fn pass_captures_once(op: &mut Op) {
    let OpKind::If {
        then_region,
        else_region,
    } = &mut op.kind
    else {
        return;
    };
    let mut first_at: HashMap<ValueId, usize> = HashMap::new();
    let mut keep = vec![true; then_region.args.len()];
    let (mut then_renamed, mut else_renamed) = (HashMap::new(), HashMap::new());
    for (k, outer) in op.args[1..].iter().enumerate() {
        match first_at.get(outer) {
            Some(&f) => {
                keep[k] = false;
                then_renamed.insert(then_region.args[k], then_region.args[f]);
                else_renamed.insert(else_region.args[k], else_region.args[f]);
            }
            None => {
                first_at.insert(*outer, k);
            }
        }
    }
    if then_renamed.is_empty() {
        return;
    }
    for (branch, renamed) in [(then_region, then_renamed), (else_region, else_renamed)] {
        branch.rename_uses(&renamed);
        retain_by(&mut branch.args, &keep);
    }
    let mut keep_op = vec![true];
    keep_op.extend(keep);
    retain_by(&mut op.args, &keep_op);
}

/// Removes captures that a loop's or branch's regions do not use.
pub fn drop_unused_captures(f: &mut Function) {
    drop_in_region(&mut f.body);
}

fn drop_in_region(region: &mut Region) {
    for op in &mut region.ops {
        for nested in op.kind.regions_mut() {
            drop_in_region(nested);
        }
        match &mut op.kind {
            OpKind::Scan {
                body,
                carries,
                sequences,
                ..
            } => {
                let first = *carries + *sequences;
                let used = uses(body);
                let keep: Vec<bool> = (0..body.args.len())
                    .map(|k| k < first || used.contains(&body.args[k]))
                    .collect();
                retain_by(&mut body.args, &keep);
                retain_by(&mut op.args, &keep);
            }
            OpKind::For { body } => {
                // args: lo, hi, captures; body args: index, captures.
                let used = uses(body);
                let keep_body: Vec<bool> = (0..body.args.len())
                    .map(|k| k == 0 || used.contains(&body.args[k]))
                    .collect();
                let mut keep_op = vec![true, true];
                keep_op.extend(keep_body[1..].iter().copied());
                retain_by(&mut body.args, &keep_body);
                retain_by(&mut op.args, &keep_op);
            }
            OpKind::If {
                then_region,
                else_region,
            } => {
                let (a, b) = (uses(then_region), uses(else_region));
                let keep: Vec<bool> = (0..then_region.args.len())
                    .map(|k| a.contains(&then_region.args[k]) || b.contains(&else_region.args[k]))
                    .collect();
                retain_by(&mut then_region.args, &keep);
                retain_by(&mut else_region.args, &keep);
                let mut keep_op = vec![true];
                keep_op.extend(keep);
                retain_by(&mut op.args, &keep_op);
            }
            _ => {}
        }
    }
}

fn retain_by<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut k = 0;
    items.retain(|_| {
        let keep_it = keep.get(k).copied().unwrap_or(true);
        k += 1;
        keep_it
    });
}

/// Whether an op costs a call or a long instruction sequence (`exp`, `log`,
/// `pow`, `lgamma`, `Phi`, the Wiener density, …): worth keeping rather
/// than computing again.
pub fn is_costly(kind: &OpKind) -> bool {
    match kind {
        OpKind::Unary(u) => matches!(
            u,
            UnaryOp::Exp
                | UnaryOp::Log
                | UnaryOp::Log1p
                | UnaryOp::Expm1
                | UnaryOp::Log1pExp
                | UnaryOp::Logistic
                | UnaryOp::Lgamma
                | UnaryOp::Digamma
                | UnaryOp::Trigamma
                | UnaryOp::Phi
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Tanh
                | UnaryOp::LogPhi
                | UnaryOp::LogPhiSlope
                | UnaryOp::LogBesselI0e
                | UnaryOp::LogBesselI0eSlope
                | UnaryOp::InvPhi
                | UnaryOp::MillsRatio
        ),
        OpKind::Binary(BinaryOp::Pow | BinaryOp::Atan2) | OpKind::Special(_) => true,
        _ => false,
    }
}

/// Hands costly scalar values from an `if` to a later `if` on the same
/// condition that computes them again, where the two cannot be joined
/// because the later one reads what was computed between them. In a
/// gradient this is a branch's forward work and its adjoint: the adjoint of
/// `if x > 0 { pow(x, rho) }` needs `pow(x, rho)` again after the
/// log-density term built from it has been differentiated. The earlier `if`
/// yields the value (its other branch a placeholder 0 nobody reads), the
/// later one captures it. The same op on the same values: the same bits.
pub fn share_between_branches(f: &mut Function) {
    let mut values = std::mem::take(&mut f.values);
    share_in_region(&mut f.body, &mut values);
    f.values = values;
}

fn share_in_region(region: &mut Region, values: &mut Vec<TensorType>) {
    for op in &mut region.ops {
        for nested in op.kind.regions_mut() {
            share_in_region(nested, values);
        }
    }
    for j in 0..region.ops.len() {
        if !matches!(region.ops[j].kind, OpKind::If { .. }) {
            continue;
        }
        for i in 0..j {
            let same_condition = matches!(region.ops[i].kind, OpKind::If { .. })
                && region.ops[i].args[0] == region.ops[j].args[0];
            if same_condition {
                let (before, after) = region.ops.split_at_mut(j);
                share_pair(&mut before[i], &mut after[0], values);
            }
        }
    }
}

/// The `if` ops' regions, then first.
fn branches_mut(op: &mut Op) -> [&mut Region; 2] {
    match &mut op.kind {
        OpKind::If {
            then_region,
            else_region,
        } => [then_region, else_region],
        _ => unreachable!("an if"),
    }
}

/// Names for the values of a branch's top level that are equal when they
/// are the same op on equal values: a branch arg is the outer value it
/// receives, an op result the interned key of its op.
struct Canon<'a> {
    keys: &'a mut HashMap<String, usize>,
    names: HashMap<ValueId, String>,
}

impl Canon<'_> {
    fn branch(&mut self, outer: &[ValueId], branch: &Region, values: &[TensorType]) {
        for (arg, o) in branch.args.iter().zip(outer) {
            self.names.insert(*arg, format!("o{}", o.0));
        }
        for (n, op) in branch.ops.iter().enumerate() {
            let fresh = op.kind.has_regions() || matches!(op.kind, OpKind::Random { .. });
            let key = if fresh {
                // Never equal to anything: unique to this op.
                format!("op {n} {:p}", op)
            } else {
                let mut kind = op.kind.clone();
                for flag in index_check_flags(&mut kind) {
                    *flag = false;
                }
                let args: Vec<&str> = op
                    .args
                    .iter()
                    .map(|a| self.names.get(a).map_or("?", String::as_str))
                    .collect();
                let types: Vec<&TensorType> =
                    op.results.iter().map(|r| &values[r.0 as usize]).collect();
                format!("{kind:?} {args:?} {types:?}")
            };
            let next = self.keys.len();
            let id = *self.keys.entry(key).or_insert(next);
            for (k, r) in op.results.iter().enumerate() {
                self.names.insert(*r, format!("v{id}.{k}"));
            }
        }
    }
}

fn share_pair(first: &mut Op, later: &mut Op, values: &mut Vec<TensorType>) {
    let (first_outer, later_outer) = (first.args[1..].to_vec(), later.args[1..].to_vec());
    for k in 0..2 {
        let mut keys = HashMap::new();
        let mut a = Canon {
            keys: &mut keys,
            names: HashMap::new(),
        };
        a.branch(&first_outer, branches_mut(first)[k], values);
        let a_names = std::mem::take(&mut a.names);
        let mut b = Canon {
            keys: &mut keys,
            names: HashMap::new(),
        };
        b.branch(&later_outer, branches_mut(later)[k], values);
        let b_names = b.names;
        let provided: HashMap<&String, ValueId> = branches_mut(first)[k]
            .ops
            .iter()
            .filter(|op| is_costly(&op.kind))
            .flat_map(|op| op.results.iter())
            .filter(|r| values[r.0 as usize].is_scalar() && values[r.0 as usize].elem == Elem::Real)
            .map(|r| (&a_names[r], *r))
            .collect();
        let shared: Vec<(ValueId, ValueId)> = branches_mut(later)[k]
            .ops
            .iter()
            .filter(|op| is_costly(&op.kind))
            .flat_map(|op| op.results.iter())
            .filter_map(|r| provided.get(&b_names[r]).map(|p| (*r, *p)))
            .collect();
        if shared.is_empty() {
            continue;
        }
        let mut renamed = HashMap::new();
        for (computed_again, provider) in shared {
            let ty = values[provider.0 as usize].clone();
            let yielded = new_value(values, ty.clone());
            let placeholder = new_value(values, ty.clone());
            let [then_region, else_region] = branches_mut(first);
            let (giving, other) = if k == 0 {
                (then_region, else_region)
            } else {
                (else_region, then_region)
            };
            giving.results.push(provider);
            other.ops.push(Op {
                kind: OpKind::Const(0.0),
                args: Vec::new(),
                results: vec![placeholder],
            });
            other.results.push(placeholder);
            first.results.push(yielded);
            later.args.push(yielded);
            for (n, branch) in branches_mut(later).into_iter().enumerate() {
                let arg = new_value(values, ty.clone());
                branch.args.push(arg);
                if n == k {
                    renamed.insert(computed_again, arg);
                }
            }
        }
        branches_mut(later)[k].rename_uses(&renamed);
    }
}

fn new_value(values: &mut Vec<TensorType>, ty: TensorType) -> ValueId {
    values.push(ty);
    ValueId(values.len() as u32 - 1)
}
