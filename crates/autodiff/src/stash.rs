//! Residuals: values the backward pass of a `scan` would recompute at a
//! cost (an `exp`, a `log`, …) that the forward scan computes and stacks
//! instead, one per step.
//!
//! The backward body re-runs each step from its stacked starting carries,
//! then applies the adjoint rules. Some of what the rules read depends only
//! on that step's forward values — the softmax `exp(a - logsumexp(a))` in
//! the adjoint of a log-sum-exp, say. Such a value (a *primal* value) whose
//! computation calls a special function is computed by the forward scan
//! too, stacked as a new per-step output, and read by the backward scan as
//! a new sequence. Values inside a branch of an `if` whose condition is
//! primal, at any depth (`pow(x, alpha)` under `x >= 0` under "the trial
//! was answered"), are computed by new `if`s on the same conditions in the
//! forward body (which `merge_branches` and
//! `eliminate_common_subexpressions` then fold into the original `if`s,
//! sharing the log-sum-exp); the other branch stacks zeros that nothing
//! reads. Where an adjoint reads a costly condition (`is_nan(log(p))`), the
//! reals it is made of are stacked. What the backward body no longer needs,
//! dead-code elimination removes.

use rlc_ir::*;
use std::collections::{HashMap, HashSet};

/// The most elements of a value of constant shape stacked per step.
const MAX_STACKED_ELEMENTS: i64 = 64;

/// Where things are in a backward scan body built by `scan_adjoint`.
pub(crate) struct BackwardLayout {
    /// The reverse scan's carries (the forward carries' adjoints and the
    /// captures' accumulators).
    pub carries: usize,
    /// Its sequences so far: the forward carries at each step's start, the
    /// forward sequences, then the stacked outputs' adjoints.
    pub sequences: usize,
    /// The forward scan's carries, sequences and captures.
    pub forward_carries: usize,
    pub forward_sequences: usize,
    pub forward_captures: usize,
}

/// Whether each axis of `shape` is a distinct axis of `carry` (in any order),
/// so that `shape` has at most as many elements as `carry` whenever `carry`'s
/// other axes are not empty.
fn axes_among(shape: &[Dim], carry: &[Dim]) -> bool {
    let mut unused: Vec<&Dim> = carry.iter().collect();
    shape
        .iter()
        .all(|axis| match unused.iter().position(|c| *c == axis) {
            Some(k) => {
                unused.swap_remove(k);
                true
            }
            None => false,
        })
}

/// Where a value to stack is in the backward body: the `if`s (op index,
/// which branch) leading from the body's top to its region, outermost first.
type Path = Vec<(usize, bool)>;

impl crate::Ad<'_> {
    /// Moves the costly primal values of `backward` (the body of the
    /// reverse scan) into `forward` (the forward scan op), returning the
    /// forward scan's new stacked outputs; `backward` gets one new sequence
    /// arg for each (after its other sequences).
    pub(crate) fn stash(
        &mut self,
        forward: &mut Op,
        backward: &mut Region,
        layout: &BackwardLayout,
    ) -> Vec<ValueId> {
        let OpKind::Scan { body: fbody, .. } = &mut forward.kind else {
            return Vec::new();
        };
        let Some(first_seq) = forward.args.get(layout.forward_carries) else {
            return Vec::new();
        };
        let steps = self.ty(*first_seq).shape[0].clone();
        // The backward body's primal args and the forward body's args they are.
        let (fc, fs, fk) = (
            layout.forward_carries,
            layout.forward_sequences,
            layout.forward_captures,
        );
        let mut to_forward: HashMap<ValueId, ValueId> = HashMap::new();
        for j in 0..fc {
            to_forward.insert(backward.args[layout.carries + j], fbody.args[j]);
        }
        for s in 0..fs {
            to_forward.insert(backward.args[layout.carries + fc + s], fbody.args[fc + s]);
        }
        let first_cap = layout.carries + layout.sequences;
        for k in 0..fk {
            to_forward.insert(backward.args[first_cap + k], fbody.args[fc + fs + k]);
        }
        // Only what the backward pass reads: not the re-run step's own results.
        rlc_ir::opt::eliminate_dead_code_in(backward);
        let primal_args: HashSet<ValueId> = to_forward.keys().copied().collect();
        // A stacked value costs memory (a number per element per step): no
        // more than a carry, whose values are stacked already, or a few. A
        // shape whose axes are some of a carry's (`[K]` of a `[2, K]` carry)
        // has no more elements than it.
        let carry_shapes: Vec<Vec<Dim>> = (0..fc).map(|j| self.ty(fbody.args[j]).shape).collect();
        let small = |shape: &[Dim]| {
            let constant: Option<i64> = shape.iter().map(Dim::as_constant).product();
            constant.is_some_and(|n| n <= MAX_STACKED_ELEMENTS)
                || carry_shapes.iter().any(|c| axes_among(shape, c))
        };
        let mut wanted: Vec<(Path, ValueId)> = Vec::new();
        self.find_wanted(backward, &primal_args, &mut Vec::new(), &small, &mut wanted);
        if wanted.is_empty() {
            return Vec::new();
        }

        // Forward side: compute each wanted value in the forward body, those
        // of a branch under `if`s on the same conditions.
        let mut memo = to_forward;
        let mut new_ops: Vec<Op> = Vec::new();
        let stacked_in_forward = self.compute_wanted(
            backward,
            &primal_args,
            &[],
            &wanted,
            &mut memo,
            &mut new_ops,
        );
        let OpKind::Scan { body: fbody, .. } = &mut forward.kind else {
            return Vec::new();
        };
        fbody.ops.extend(new_ops);
        fbody.results.extend(stacked_in_forward.iter().copied());
        let mut new_outputs = Vec::new();
        for v in &stacked_in_forward {
            let ty = self.ty(*v);
            let mut shape = vec![steps.clone()];
            shape.extend(ty.shape);
            let out = self.new_value(TensorType::new(ty.elem, shape));
            forward.results.push(out);
            new_outputs.push(out);
        }

        // Backward side: read them as new sequences, passed down through the
        // `if`s to the branch that uses each. Both lists follow `wanted`.
        let insert_at = layout.carries + layout.sequences;
        let mut new_args = Vec::new();
        for (path, v) in &wanted {
            let arg = self.fresh(*v);
            new_args.push(arg);
            self.pass_down(backward, path, *v, arg);
        }
        for (k, arg) in new_args.into_iter().enumerate() {
            backward.args.insert(insert_at + k, arg);
        }
        new_outputs
    }

    /// The values to stack in `region` (at `path` in the backward body;
    /// `args` its primal args), in the order `compute_wanted` makes them:
    /// the region's own, then each `if`'s (on a primal condition) branches'
    /// in turn, depth first.
    fn find_wanted(
        &self,
        region: &Region,
        args: &HashSet<ValueId>,
        path: &mut Path,
        small: &dyn Fn(&[Dim]) -> bool,
        out: &mut Vec<(Path, ValueId)>,
    ) {
        let p = primal_and_costly(region, args);
        for v in frontier(region, &p, &self.values, small) {
            out.push((path.clone(), v));
        }
        for (i, op) in region.ops.iter().enumerate() {
            let OpKind::If {
                then_region,
                else_region,
            } = &op.kind
            else {
                continue;
            };
            if !p.primal.contains(&op.args[0]) {
                continue;
            }
            for (then_branch, branch) in [(true, then_region), (false, else_region)] {
                let inner = primal_branch_args(branch, op, &p);
                path.push((i, then_branch));
                self.find_wanted(branch, &inner, path, small, out);
                path.pop();
            }
        }
    }

    /// Copies into `out` the computation of the values of `wanted` at or
    /// under `path` (the place of `region`, whose primal args are `args`
    /// and whose values `memo` maps to the forward body's): a value of a
    /// branch under a new `if` on the same condition, whose other branch
    /// gives zeros that nothing reads (`merge_branches` joins it with the
    /// forward body's own `if`). Returns the computed values, in the order
    /// of `wanted`.
    fn compute_wanted(
        &mut self,
        region: &Region,
        args: &HashSet<ValueId>,
        path: &[(usize, bool)],
        wanted: &[(Path, ValueId)],
        memo: &mut HashMap<ValueId, ValueId>,
        out: &mut Vec<Op>,
    ) -> Vec<ValueId> {
        let p = primal_and_costly(region, args);
        let defs = definitions(region);
        let depth = path.len();
        let mut results = Vec::new();
        let mut branches: Vec<(usize, bool)> = Vec::new();
        for (place, v) in wanted {
            if !place.starts_with(path) {
                continue;
            }
            if place.len() == depth {
                results.push(self.copy_cone(*v, &defs, memo, out));
            } else if !branches.contains(&place[depth]) {
                branches.push(place[depth]);
            }
        }
        for (i, then_branch) in branches {
            let if_op = &region.ops[i];
            let OpKind::If {
                then_region,
                else_region,
            } = &if_op.kind
            else {
                continue;
            };
            let branch = if then_branch {
                then_region
            } else {
                else_region
            };
            let cond = self.copy_cone(if_op.args[0], &defs, memo, out);
            // Captures: the branch's primal args.
            let mut caps = vec![cond];
            let inner_args = primal_branch_args(branch, if_op, &p);
            let mut inner_memo = HashMap::new();
            let (mut taken_args, mut other_args) = (Vec::new(), Vec::new());
            for (a, outer) in branch.args.iter().zip(&if_op.args[1..]) {
                if inner_args.contains(a) {
                    caps.push(self.copy_cone(*outer, &defs, memo, out));
                    let (na, nb) = (self.fresh(*a), self.fresh(*a));
                    inner_memo.insert(*a, na);
                    taken_args.push(na);
                    other_args.push(nb);
                }
            }
            let mut inner_path = path.to_vec();
            inner_path.push((i, then_branch));
            let mut ops = Vec::new();
            let computed = self.compute_wanted(
                branch,
                &inner_args,
                &inner_path,
                wanted,
                &mut inner_memo,
                &mut ops,
            );
            let mut zeros_ops = Vec::new();
            let zeros: Vec<ValueId> = computed
                .iter()
                .map(|r| self.zeros_like(*r, &mut zeros_ops))
                .collect();
            let outs: Vec<ValueId> = computed.iter().map(|r| self.fresh(*r)).collect();
            let computed = Region {
                args: taken_args,
                ops,
                results: computed,
            };
            let idle = Region {
                args: other_args,
                ops: zeros_ops,
                results: zeros,
            };
            let (then_region, else_region) = if then_branch {
                (computed, idle)
            } else {
                (idle, computed)
            };
            out.push(Op {
                kind: OpKind::If {
                    then_region,
                    else_region,
                },
                args: caps,
                results: outs.clone(),
            });
            results.extend(outs);
        }
        results
    }

    /// Makes the backward body's new arg `value` (the stacked `v`) reach
    /// the region at `path` under `region`, where it replaces `v`.
    fn pass_down(
        &mut self,
        region: &mut Region,
        path: &[(usize, bool)],
        v: ValueId,
        value: ValueId,
    ) {
        let Some(((i, then_branch), rest)) = path.split_first() else {
            region.rename_uses(&HashMap::from([(v, value)]));
            return;
        };
        let if_op = &mut region.ops[*i];
        if_op.args.push(value);
        let OpKind::If {
            then_region,
            else_region,
        } = &mut if_op.kind
        else {
            return;
        };
        let (inner_then, inner_else) = (self.fresh(v), self.fresh(v));
        then_region.args.push(inner_then);
        else_region.args.push(inner_else);
        let (branch, inner) = if *then_branch {
            (then_region, inner_then)
        } else {
            (else_region, inner_else)
        };
        self.pass_down(branch, rest, v, inner);
    }

    /// Copies the computation of `v` (defined in a region whose defining
    /// ops are `defs`) into `out`, reusing what `memo` already maps.
    fn copy_cone(
        &mut self,
        v: ValueId,
        defs: &HashMap<ValueId, &Op>,
        memo: &mut HashMap<ValueId, ValueId>,
        out: &mut Vec<Op>,
    ) -> ValueId {
        if let Some(m) = memo.get(&v) {
            return *m;
        }
        let Some(op) = defs.get(&v) else {
            return v;
        };
        let args: Vec<ValueId> = op
            .args
            .iter()
            .map(|a| self.copy_cone(*a, defs, memo, out))
            .collect();
        let results: Vec<ValueId> = op.results.iter().map(|r| self.fresh(*r)).collect();
        for (old, new) in op.results.iter().zip(&results) {
            memo.insert(*old, *new);
        }
        out.push(Op {
            kind: op.kind.clone(),
            args,
            results,
        });
        memo[&v]
    }

    fn zeros_like(&mut self, v: ValueId, out: &mut Vec<Op>) -> ValueId {
        let ty = self.ty(v);
        let zero = self.new_value(TensorType::scalar(ty.elem));
        out.push(Op {
            kind: OpKind::Const(0.0),
            args: vec![],
            results: vec![zero],
        });
        if ty.is_scalar() {
            return zero;
        }
        let filled = self.new_value(ty);
        out.push(Op {
            kind: OpKind::Fill,
            args: vec![zero],
            results: vec![filled],
        });
        filled
    }
}

/// The values of a region that only primal values flow into, and those of
/// them whose computation calls a special function.
struct Primal {
    primal: HashSet<ValueId>,
    costly: HashSet<ValueId>,
}

fn primal_and_costly(region: &Region, args: &HashSet<ValueId>) -> Primal {
    let mut primal = args.clone();
    let mut costly = HashSet::new();
    for op in &region.ops {
        if op.kind.has_regions() || !op.args.iter().all(|a| primal.contains(a)) {
            continue;
        }
        primal.extend(op.results.iter().copied());
        if is_costly(&op.kind) || op.args.iter().any(|a| costly.contains(a)) {
            costly.extend(op.results.iter().copied());
        }
    }
    Primal { primal, costly }
}

/// The args of `branch` (of the `if` op `op`) whose outer values are primal.
fn primal_branch_args(branch: &Region, op: &Op, p: &Primal) -> HashSet<ValueId> {
    branch
        .args
        .iter()
        .zip(&op.args[1..])
        .filter(|(_, outer)| p.primal.contains(outer))
        .map(|(a, _)| *a)
        .collect()
}

/// The costly primal real values that something not primal reads (the
/// adjoint rules, a nested region, the region's results), in op order.
fn frontier(
    region: &Region,
    p: &Primal,
    values: &[TensorType],
    small: &dyn Fn(&[Dim]) -> bool,
) -> Vec<ValueId> {
    let mut read_by_adjoint: HashSet<ValueId> = region.results.iter().copied().collect();
    for op in &region.ops {
        let op_is_primal = op.results.first().is_some_and(|r| p.primal.contains(r));
        if !op_is_primal {
            read_by_adjoint.extend(op.args.iter().copied());
        }
    }
    // Only reals are stacked: where the adjoint reads a costly condition or
    // integer (`is_nan(log(p))` choosing whether an adjoint flows), the
    // reals it is made from are stacked instead, and only the cheap
    // comparison is recomputed.
    for op in region.ops.iter().rev() {
        let reads_costly_non_real = op.results.iter().any(|r| {
            p.costly.contains(r)
                && read_by_adjoint.contains(r)
                && values[r.0 as usize].elem != Elem::Real
        });
        if reads_costly_non_real {
            read_by_adjoint.extend(op.args.iter().copied());
        }
    }
    let mut out = Vec::new();
    for op in &region.ops {
        for r in &op.results {
            let ty = &values[r.0 as usize];
            if p.costly.contains(r)
                && read_by_adjoint.contains(r)
                && ty.elem == Elem::Real
                && small(&ty.shape)
            {
                out.push(*r);
            }
        }
    }
    out
}

/// The op defining each value of `region` (not of its loops and branches).
fn definitions(region: &Region) -> HashMap<ValueId, &Op> {
    let mut defs = HashMap::new();
    for op in region.ops.iter().filter(|op| !op.kind.has_regions()) {
        for r in &op.results {
            defs.insert(*r, op);
        }
    }
    defs
}

/// Ops that call a special function (or several): worth a stored number.
fn is_costly(kind: &OpKind) -> bool {
    match kind {
        OpKind::Unary(u) => !matches!(
            u,
            UnaryOp::Neg | UnaryOp::Not | UnaryOp::Sqrt | UnaryOp::Abs
        ),
        OpKind::Binary(BinaryOp::Pow | BinaryOp::Atan2) | OpKind::Special(_) => true,
        OpKind::Reduce {
            op: ReduceOp::LogSumExp,
            ..
        } => true,
        _ => false,
    }
}
