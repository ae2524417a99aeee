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
//! primal are computed by a new `if` on the same condition in the forward
//! body (which `merge_branches` and `eliminate_common_subexpressions` then
//! fold into the original `if`, sharing the log-sum-exp); the other branch
//! stacks zeros that nothing reads. What the backward body no longer needs,
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

/// A value to stack: where it is in the backward body (at the top, or in a
/// branch of the `if` at an op index) and the value.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Top,
    Branch { op: usize, then_branch: bool },
}

impl crate::Ad {
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
        let top = primal_and_costly(backward, &primal_args);
        // A stacked value costs memory (a number per element per step): no
        // more than a carry, whose values are stacked already, or a few.
        let carry_shapes: Vec<Vec<Dim>> = (0..fc).map(|j| self.ty(fbody.args[j]).shape).collect();
        let small = |shape: &[Dim]| {
            let constant: Option<i64> = shape.iter().map(Dim::as_constant).product();
            constant.is_some_and(|n| n <= MAX_STACKED_ELEMENTS)
                || carry_shapes.iter().any(|c| c.as_slice() == shape)
        };
        let mut wanted: Vec<(Place, ValueId)> = frontier(backward, &top, &self.values, &small)
            .into_iter()
            .map(|v| (Place::Top, v))
            .collect();
        for (i, op) in backward.ops.iter().enumerate() {
            let OpKind::If {
                then_region,
                else_region,
            } = &op.kind
            else {
                continue;
            };
            if !top.primal.contains(&op.args[0]) {
                continue;
            }
            for (then_branch, branch) in [(true, then_region), (false, else_region)] {
                let args: HashSet<ValueId> = branch
                    .args
                    .iter()
                    .zip(&op.args[1..])
                    .filter(|(_, outer)| top.primal.contains(outer))
                    .map(|(a, _)| *a)
                    .collect();
                let inner = primal_and_costly(branch, &args);
                for v in frontier(branch, &inner, &self.values, &small) {
                    wanted.push((Place::Branch { op: i, then_branch }, v));
                }
            }
        }
        if wanted.is_empty() {
            return Vec::new();
        }

        // Forward side: compute each wanted value in the forward body.
        let mut memo = to_forward;
        let mut new_ops: Vec<Op> = Vec::new();
        let mut stacked_in_forward: Vec<ValueId> = Vec::new();
        let top_defs = definitions(backward);
        for (place, v) in &wanted {
            if *place == Place::Top {
                let fv = self.copy_cone(*v, &top_defs, &mut memo, &mut new_ops);
                stacked_in_forward.push(fv);
            }
        }
        let mut places: Vec<Place> = wanted.iter().map(|(p, _)| *p).collect();
        places.dedup();
        let mut branch_results: HashMap<(usize, bool), Vec<ValueId>> = HashMap::new();
        for place in places {
            let Place::Branch { op, then_branch } = place else {
                continue;
            };
            if branch_results.contains_key(&(op, then_branch)) {
                continue;
            }
            let if_op = &backward.ops[op];
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
            let cond = self.copy_cone(if_op.args[0], &top_defs, &mut memo, &mut new_ops);
            // Captures: the branch's primal args.
            let mut caps = vec![cond];
            let mut inner_memo = HashMap::new();
            let (mut taken_args, mut other_args) = (Vec::new(), Vec::new());
            for (a, outer) in branch.args.iter().zip(&if_op.args[1..]) {
                if top.primal.contains(outer) {
                    caps.push(self.copy_cone(*outer, &top_defs, &mut memo, &mut new_ops));
                    let (na, nb) = (self.fresh(*a), self.fresh(*a));
                    inner_memo.insert(*a, na);
                    taken_args.push(na);
                    other_args.push(nb);
                }
            }
            let branch_defs = definitions(branch);
            let mut ops = Vec::new();
            let mut results = Vec::new();
            for (p, v) in &wanted {
                if *p == place {
                    results.push(self.copy_cone(*v, &branch_defs, &mut inner_memo, &mut ops));
                }
            }
            let mut zeros_ops = Vec::new();
            let zeros: Vec<ValueId> = results
                .iter()
                .map(|r| self.zeros_like(*r, &mut zeros_ops))
                .collect();
            let computed = Region {
                args: taken_args,
                ops,
                results: results.clone(),
            };
            let idle = Region {
                args: other_args,
                ops: zeros_ops,
                results: zeros,
            };
            let (then_r, else_r) = if then_branch {
                (computed, idle)
            } else {
                (idle, computed)
            };
            let outs: Vec<ValueId> = results.iter().map(|r| self.fresh(*r)).collect();
            new_ops.push(Op {
                kind: OpKind::If {
                    then_region: then_r,
                    else_region: else_r,
                },
                args: caps,
                results: outs.clone(),
            });
            stacked_in_forward.extend(outs.iter().copied());
            branch_results.insert((op, then_branch), outs);
        }
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

        // Backward side: read them as new sequences.
        let insert_at = layout.carries + layout.sequences;
        let mut top_renamed: HashMap<ValueId, ValueId> = HashMap::new();
        let mut new_args = Vec::new();
        for (place, v) in &wanted {
            let arg = self.fresh(*v);
            new_args.push(arg);
            match place {
                Place::Top => {
                    top_renamed.insert(*v, arg);
                }
                Place::Branch { op, then_branch } => {
                    let if_op = &mut backward.ops[*op];
                    if_op.args.push(arg);
                    let OpKind::If {
                        then_region,
                        else_region,
                    } = &mut if_op.kind
                    else {
                        continue;
                    };
                    let inner_then = self.fresh(*v);
                    let inner_else = self.fresh(*v);
                    then_region.args.push(inner_then);
                    else_region.args.push(inner_else);
                    let (branch, inner) = if *then_branch {
                        (then_region, inner_then)
                    } else {
                        (else_region, inner_else)
                    };
                    branch.rename_uses(&HashMap::from([(*v, inner)]));
                }
            }
        }
        backward.rename_uses(&top_renamed);
        for (k, arg) in new_args.into_iter().enumerate() {
            backward.args.insert(insert_at + k, arg);
        }
        // Both lists follow `wanted`: its top values come first, then each
        // branch's values together.
        new_outputs
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
        OpKind::Binary(BinaryOp::Pow) | OpKind::Special(_) => true,
        OpKind::Reduce {
            op: ReduceOp::LogSumExp,
            ..
        } => true,
        _ => false,
    }
}
