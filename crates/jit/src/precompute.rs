//! Work on the data alone, done once when the data are bound.
//!
//! A model's trial loop often applies a costly function to data: the
//! probability weight of a gamble reads `log(p)` and `log(-log(p))` of the
//! trial's probabilities, the gradient of a utility `pow(x, rho)` in `rho`
//! reads `log(x)` of the trial's payoff. Those values are the same at every
//! point the sampler visits, yet the compiled gradient would compute them at
//! every evaluation. Stan users move them into `transformed data` by hand;
//! here the JIT does it for any function:
//!
//! * every costly elementwise op (`exp`, `log`, `pow`, `lgamma`, `Phi`, the
//!   Wiener density, ...) whose operands depend on the data only, in a region
//!   reached through `for` loops with bounds known when compiling, `scan`s
//!   over sequences and `if`s, becomes a *table*: a new data input holding
//!   its value at every iteration of the loops around it, read by the loop's
//!   index (a `for`) or stepped as a new sequence (a `scan`);
//! * the tables are computed by a second function (the data-only slice of
//!   the first, each `for` a `scan` over its indices so that the values
//!   stack, each `if` run both ways), compiled and called once.
//!
//! The same code computes a table's values as computed them inline, so the
//! results are the same bits. The slice runs the ops under an `if` whatever
//! the condition (they are pure); if that reads out of range (an index the
//! condition guarded), or the tables would be large, the function is
//! compiled as it was. An IR-to-IR rewrite like `rows`: the interpreter
//! never sees it, so the JIT-against-interpreter tests check it.

use rlc_ir::opt::{
    check_every_index, drop_unused_captures, eliminate_dead_code, forget_index_checks, is_costly,
};
use rlc_ir::{
    AxisIndex, BinaryOp, Dim, Elem, Function, Input, Op, OpKind, Region, TensorType, ValueId,
};
use std::collections::{HashMap, HashSet};

/// The most table elements bound for a function, past its data's own size:
/// tables are worth their memory only while they stay near the data's size.
const MAX_EXTRA_ELEMENTS: usize = 1 << 22;

/// Where a value sits: for each region entered from the top, the index of
/// the op that owns it and which of the op's regions (an `if`'s 0 or 1).
type Path = Vec<(usize, usize)>;

/// The function with its costly data-only values read from tables, and the
/// tables (one data input each, appended to `f`'s inputs); `None` when
/// nothing is worth precomputing or the tables cannot be computed.
pub(crate) fn precompute(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &[&[f64]],
) -> Option<(Function, Vec<Vec<f64>>)> {
    let facts = Facts::of(f, sizes);
    let mut found = Found::new(f, &facts);
    found.region(&f.body, &mut Vec::new());
    if found.order.is_empty() {
        return None;
    }

    // The rewritten function: each table a new input, threaded down to
    // where its value was computed.
    let mut rewritten = f.clone();
    let mut tops = Vec::new();
    for (k, v) in found.order.iter().enumerate() {
        let ty = TensorType::new(
            f.ty(*v).elem,
            found.loop_dims[v]
                .iter()
                .chain(&f.ty(*v).shape)
                .cloned()
                .collect(),
        );
        let t = rewritten.new_value(ty);
        rewritten
            .inputs
            .push(Input::Data(format!("(precomputed {k})")));
        rewritten.body.args.push(t);
        tops.push((*v, t));
    }
    let mut body = std::mem::replace(&mut rewritten.body, empty_region());
    thread(&mut rewritten, &mut body, tops.clone(), &found, &facts, 0);
    rewritten.body = body;
    eliminate_dead_code(&mut rewritten);
    drop_unused_captures(&mut rewritten);

    // Keep the tables the rewritten function still reads.
    let used: HashSet<ValueId> = rewritten
        .body
        .ops
        .iter()
        .flat_map(|op| op.args.iter().copied())
        .chain(rewritten.body.results.iter().copied())
        .collect();
    let first = f.inputs.len();
    let keep: Vec<bool> = tops.iter().map(|(_, t)| used.contains(t)).collect();
    if !keep.contains(&true) {
        return None;
    }
    let mut k = 0;
    rewritten.inputs.retain(|_| {
        k += 1;
        k <= first || keep[k - 1 - first]
    });
    let mut k = 0;
    rewritten.body.args.retain(|_| {
        k += 1;
        k <= first || keep[k - 1 - first]
    });
    let kept: Vec<ValueId> = found
        .order
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect();

    let mut tables_fn = slice(f, &found, &facts, &kept);
    forget_index_checks(&mut tables_fn.body);
    eliminate_dead_code(&mut tables_fn);
    drop_unused_captures(&mut tables_fn);
    // The slice runs its ops whatever the conditions: an index they guarded
    // may be out of range there, and must fail (the function is then
    // compiled as it was), not be trusted.
    check_every_index(&mut tables_fn.body);
    debug_assert!(
        rlc_ir::verify::verify(&tables_fn).is_ok(),
        "precompute slice"
    );
    debug_assert!(
        rlc_ir::verify::verify(&rewritten).is_ok(),
        "precompute rewrite"
    );

    let data_elements: usize = data.iter().map(|d| d.len()).sum();
    let mut table_elements = 0usize;
    for v in &tables_fn.body.results {
        let n = tables_fn.ty(*v).shape.iter().try_fold(1usize, |n, d| {
            n.checked_mul(usize::try_from(d.eval(sizes)?).ok()?)
        })?;
        table_elements = table_elements.checked_add(n)?;
    }
    if table_elements > data_elements.saturating_add(MAX_EXTRA_ELEMENTS) {
        return None;
    }

    let compiled = crate::codegen::compile_plain(&tables_fn, sizes, data).ok()?;
    let mut run = crate::JitFunction::from_compiled(compiled);
    let mut tables: Vec<Vec<f64>> = run
        .result_lens()
        .into_iter()
        .map(|n| vec![0.0; n])
        .collect();
    let theta = vec![0.0; run.theta_len()];
    {
        let mut outputs: Vec<&mut [f64]> = tables.iter_mut().map(|t| t.as_mut_slice()).collect();
        run.call(&theta, &mut outputs).ok()?;
    }
    Some((rewritten, tables))
}

fn empty_region() -> Region {
    Region {
        args: Vec::new(),
        ops: Vec::new(),
        results: Vec::new(),
    }
}

/// What is known of each value before the data's values are: whether it
/// depends on the data alone (no parameter, no loop carry), and the integers
/// known from the sizes (loop bounds).
#[derive(Default)]
struct Facts {
    data_only: HashSet<ValueId>,
    ints: HashMap<ValueId, i64>,
}

impl Facts {
    fn of(f: &Function, sizes: &HashMap<String, i64>) -> Facts {
        let mut facts = Facts::default();
        for (arg, input) in f.body.args.iter().zip(&f.inputs) {
            if matches!(input, Input::Data(_)) {
                facts.data_only.insert(*arg);
            }
        }
        facts.region(f, &f.body, sizes);
        facts
    }

    fn is_data(&self, v: &ValueId) -> bool {
        self.data_only.contains(v)
    }

    /// A region argument that receives `outer`.
    fn pass(&mut self, outer: ValueId, inner: ValueId) {
        if self.data_only.contains(&outer) {
            self.data_only.insert(inner);
        }
        if let Some(n) = self.ints.get(&outer).copied() {
            self.ints.insert(inner, n);
        }
    }

    fn region(&mut self, f: &Function, r: &Region, sizes: &HashMap<String, i64>) {
        for op in &r.ops {
            match &op.kind {
                OpKind::For { body } => {
                    if op.args[..2].iter().all(|a| self.is_data(a)) {
                        self.data_only.insert(body.args[0]);
                    }
                    for (a, b) in op.args[2..].iter().zip(&body.args[1..]) {
                        self.pass(*a, *b);
                    }
                    self.region(f, body, sizes);
                }
                OpKind::Scan {
                    body,
                    carries,
                    sequences,
                    ..
                } => {
                    for (j, (a, b)) in op.args.iter().zip(&body.args).enumerate() {
                        if j >= *carries + *sequences {
                            self.pass(*a, *b);
                        } else if j >= *carries && self.is_data(a) {
                            self.data_only.insert(*b);
                        }
                    }
                    self.region(f, body, sizes);
                }
                OpKind::If {
                    then_region,
                    else_region,
                } => {
                    for branch in [then_region, else_region] {
                        for (a, b) in op.args[1..].iter().zip(&branch.args) {
                            self.pass(*a, *b);
                        }
                        self.region(f, branch, sizes);
                    }
                }
                OpKind::Random { .. } | OpKind::ThetaSlice { .. } => {}
                kind => {
                    if op.args.iter().all(|a| self.is_data(a)) {
                        self.data_only.extend(op.results.iter().copied());
                    }
                    let [result] = op.results[..] else { continue };
                    if f.ty(result).elem != Elem::Int || !f.ty(result).is_scalar() {
                        continue;
                    }
                    let int = |i: usize| op.args.get(i).and_then(|a| self.ints.get(a)).copied();
                    let known = match kind {
                        OpKind::Const(c) if c.fract() == 0.0 && c.abs() < 1e15 => Some(*c as i64),
                        OpKind::SizeOf(d) => d.eval(sizes),
                        OpKind::Binary(BinaryOp::Add) => int(0).zip(int(1)).map(|(a, b)| a + b),
                        OpKind::Binary(BinaryOp::Sub) => int(0).zip(int(1)).map(|(a, b)| a - b),
                        OpKind::Binary(BinaryOp::Mul) => int(0).zip(int(1)).map(|(a, b)| a * b),
                        OpKind::Binary(BinaryOp::Max) => int(0).zip(int(1)).map(|(a, b)| a.max(b)),
                        OpKind::Binary(BinaryOp::Min) => int(0).zip(int(1)).map(|(a, b)| a.min(b)),
                        _ => None,
                    };
                    if let Some(n) = known {
                        self.ints.insert(result, n);
                    }
                }
            }
        }
    }
}

/// The values to read from tables, in the order their tables are inputs,
/// with where each sits and the lengths of the loops around it.
struct Found<'a> {
    f: &'a Function,
    facts: &'a Facts,
    order: Vec<ValueId>,
    paths: HashMap<ValueId, Path>,
    loop_dims: HashMap<ValueId, Vec<Dim>>,
    /// The lengths of the loops entered on the current path.
    dims: Vec<Dim>,
}

impl<'a> Found<'a> {
    fn new(f: &'a Function, facts: &'a Facts) -> Found<'a> {
        Found {
            f,
            facts,
            order: Vec::new(),
            paths: HashMap::new(),
            loop_dims: HashMap::new(),
            dims: Vec::new(),
        }
    }

    fn region(&mut self, r: &Region, path: &mut Path) {
        for (i, op) in r.ops.iter().enumerate() {
            match &op.kind {
                OpKind::For { body } => {
                    let ints = &self.facts.ints;
                    let (Some(lo), Some(hi)) = (ints.get(&op.args[0]), ints.get(&op.args[1]))
                    else {
                        continue;
                    };
                    if hi > lo {
                        self.enter((i, 0), Dim::constant(hi - lo), body, path);
                    }
                }
                OpKind::Scan {
                    body,
                    carries,
                    sequences,
                    ..
                } => {
                    if *sequences > 0 {
                        let len = self.f.ty(op.args[*carries]).shape[0].clone();
                        self.enter((i, 0), len, body, path);
                    }
                }
                OpKind::If {
                    then_region,
                    else_region,
                } => {
                    for (k, branch) in [then_region, else_region].into_iter().enumerate() {
                        path.push((i, k));
                        self.region(branch, path);
                        path.pop();
                    }
                }
                kind => {
                    let real = op.results.iter().all(|v| self.f.ty(*v).elem == Elem::Real);
                    if is_costly(kind) && real && op.results.iter().all(|v| self.facts.is_data(v)) {
                        for v in &op.results {
                            self.order.push(*v);
                            self.paths.insert(*v, path.clone());
                            self.loop_dims.insert(*v, self.dims.clone());
                        }
                    }
                }
            }
        }
    }

    fn enter(&mut self, at: (usize, usize), len: Dim, body: &Region, path: &mut Path) {
        path.push(at);
        self.dims.push(len);
        self.region(body, path);
        self.dims.pop();
        path.pop();
    }
}

/// The type of a value with its first axis taken off (a table's row).
fn row_type(f: &Function, v: ValueId) -> TensorType {
    let ty = f.ty(v);
    TensorType::new(ty.elem, ty.shape[1..].to_vec())
}

/// Threads the tables `avail` (each with the loop axes between this region
/// and its value's own) into `r`, at depth `depth` of their paths: a value
/// of this region is replaced by its table, the others are handed to the
/// loop or branch on their path.
fn thread(
    f: &mut Function,
    r: &mut Region,
    avail: Vec<(ValueId, ValueId)>,
    found: &Found,
    facts: &Facts,
    depth: usize,
) {
    let mut here = HashMap::new();
    let mut below: HashMap<usize, Vec<(ValueId, ValueId)>> = HashMap::new();
    for (v, t) in avail {
        let path = &found.paths[&v];
        if path.len() == depth {
            here.insert(v, t);
        } else {
            below.entry(path[depth].0).or_default().push((v, t));
        }
    }
    for (i, op) in r.ops.iter_mut().enumerate() {
        let Some(down) = below.remove(&i) else {
            continue;
        };
        match &mut op.kind {
            OpKind::For { body } => {
                let lo = facts.ints[&op.args[0]];
                let mut rows = Vec::new();
                let mut reads = Vec::new();
                let index = if lo == 0 {
                    body.args[0]
                } else {
                    let c = f.new_value(TensorType::scalar(Elem::Int));
                    let k = f.new_value(TensorType::scalar(Elem::Int));
                    reads.push(Op {
                        kind: OpKind::Const(lo as f64),
                        args: Vec::new(),
                        results: vec![c],
                    });
                    reads.push(Op {
                        kind: OpKind::Binary(BinaryOp::Sub),
                        args: vec![body.args[0], c],
                        results: vec![k],
                    });
                    k
                };
                for (v, t) in down {
                    let arg = f.new_value(f.ty(t).clone());
                    let row = f.new_value(row_type(f, t));
                    op.args.push(t);
                    body.args.push(arg);
                    reads.push(Op {
                        kind: OpKind::Index {
                            plan: vec![AxisIndex::Scalar {
                                constant: None,
                                needs_bounds_check: false,
                            }],
                        },
                        args: vec![arg, index],
                        results: vec![row],
                    });
                    rows.push((v, row));
                }
                thread(f, body, rows, found, facts, depth + 1);
                body.ops.splice(0..0, reads);
            }
            OpKind::Scan {
                body,
                carries,
                sequences,
                ..
            } => {
                let mut rows = Vec::new();
                for (v, t) in down {
                    let at = *carries + *sequences;
                    let row = f.new_value(row_type(f, t));
                    op.args.insert(at, t);
                    body.args.insert(at, row);
                    *sequences += 1;
                    rows.push((v, row));
                }
                thread(f, body, rows, found, facts, depth + 1);
            }
            OpKind::If {
                then_region,
                else_region,
            } => {
                for (k, branch) in [then_region, else_region].into_iter().enumerate() {
                    let mut mine = Vec::new();
                    for (v, t) in &down {
                        let arg = f.new_value(f.ty(*t).clone());
                        branch.args.push(arg);
                        if found.paths[v][depth].1 == k {
                            mine.push((*v, arg));
                        }
                    }
                    thread(f, branch, mine, found, facts, depth + 1);
                }
                op.args.extend(down.iter().map(|(_, t)| *t));
            }
            _ => unreachable!("a path goes through loops and branches only"),
        }
    }
    if !here.is_empty() {
        r.ops
            .retain(|op| op.results.is_empty() || !op.results.iter().all(|v| here.contains_key(v)));
        r.rename_uses(&here);
    }
}

/// The function that computes the tables of `kept` (its results, in that
/// order): the data-only ops of `f`, each loop on the way to a kept value a
/// `scan` that stacks it (a `for` steps over its indices), each `if` on the
/// way run both ways.
fn slice(f: &Function, found: &Found, facts: &Facts, kept: &[ValueId]) -> Function {
    let wanted: HashSet<ValueId> = kept.iter().copied().collect();
    let mut out = Function::new(format!("{} tables", f.name));
    out.values = f.values.clone();
    out.inputs = f.inputs.clone();
    out.body.args = f.body.args.clone();
    let mut s = Slicer {
        out,
        found,
        facts,
        wanted: &wanted,
    };
    let mut ops = Vec::new();
    let tables = s.region(&f.body, &HashMap::new(), &mut ops, &[]);
    let mut out = s.out;
    out.body.ops = ops;
    out.body.results = kept.iter().map(|v| tables[v]).collect();
    out
}

struct Slicer<'a> {
    out: Function,
    found: &'a Found<'a>,
    facts: &'a Facts,
    wanted: &'a HashSet<ValueId>,
}

impl Slicer<'_> {
    /// Copies into `ops` the data-only ops of `r` (its args renamed by
    /// `rename`), and the loops and branches on the way to a wanted value
    /// at `prefix`; returns each wanted value's table in this region.
    fn region(
        &mut self,
        r: &Region,
        rename: &HashMap<ValueId, ValueId>,
        ops: &mut Vec<Op>,
        prefix: &[(usize, usize)],
    ) -> HashMap<ValueId, ValueId> {
        let depth = prefix.len();
        let renamed = |v: &ValueId| *rename.get(v).unwrap_or(v);
        let mut tables = HashMap::new();
        for (i, op) in r.ops.iter().enumerate() {
            let (wanted, found) = (self.wanted, self.found);
            let inside = |k: usize| {
                wanted.iter().any(|v| {
                    let p = &found.paths[v];
                    p.len() > depth && p[..depth] == *prefix && p[depth] == (i, k)
                })
            };
            match &op.kind {
                OpKind::For { body } if inside(0) => {
                    let lo = self.facts.ints[&op.args[0]];
                    let hi = self.facts.ints[&op.args[1]];
                    let n = Dim::constant(hi - lo);
                    let iota = self.indices(&n, ops);
                    let mut inner = Vec::new();
                    let step = if lo == 0 {
                        body.args[0]
                    } else {
                        let k = self.out.new_value(TensorType::scalar(Elem::Int));
                        let c = self.out.new_value(TensorType::scalar(Elem::Int));
                        inner.push(Op {
                            kind: OpKind::Const(lo as f64),
                            args: Vec::new(),
                            results: vec![c],
                        });
                        inner.push(Op {
                            kind: OpKind::Binary(BinaryOp::Add),
                            args: vec![k, c],
                            results: vec![body.args[0]],
                        });
                        k
                    };
                    let mut args = vec![iota];
                    let mut body_args = vec![step];
                    for (a, b) in op.args[2..].iter().zip(&body.args[1..]) {
                        if self.facts.is_data(a) {
                            args.push(renamed(a));
                            body_args.push(*b);
                        }
                    }
                    let at = [prefix, &[(i, 0)]].concat();
                    self.stack(body, (args, body_args, 1), inner, n, ops, &mut tables, &at);
                }
                OpKind::Scan {
                    body,
                    carries,
                    sequences,
                    ..
                } if inside(0) => {
                    let n = self.out.ty(op.args[*carries]).shape[0].clone();
                    let mut args = Vec::new();
                    let mut body_args = Vec::new();
                    let seqs = *carries..*carries + *sequences;
                    for j in seqs.clone() {
                        if self.facts.is_data(&op.args[j]) {
                            args.push(renamed(&op.args[j]));
                            body_args.push(body.args[j]);
                        }
                    }
                    if args.is_empty() {
                        // No data-only sequence: step over the indices for the length.
                        let iota = self.indices(&n, ops);
                        args.push(iota);
                        body_args.push(self.out.new_value(TensorType::scalar(Elem::Int)));
                    }
                    let count = args.len();
                    for j in seqs.end..op.args.len() {
                        if self.facts.is_data(&op.args[j]) {
                            args.push(renamed(&op.args[j]));
                            body_args.push(body.args[j]);
                        }
                    }
                    let at = [prefix, &[(i, 0)]].concat();
                    self.stack(
                        body,
                        (args, body_args, count),
                        Vec::new(),
                        n,
                        ops,
                        &mut tables,
                        &at,
                    );
                }
                OpKind::If {
                    then_region,
                    else_region,
                } => {
                    for (k, branch) in [then_region, else_region].into_iter().enumerate() {
                        if !inside(k) {
                            continue;
                        }
                        let mut inner_rename = rename.clone();
                        for (a, b) in op.args[1..].iter().zip(&branch.args) {
                            inner_rename.insert(*b, renamed(a));
                        }
                        let mut prefix = prefix.to_vec();
                        prefix.push((i, k));
                        let found = self.region(branch, &inner_rename, ops, &prefix);
                        tables.extend(found);
                    }
                }
                OpKind::For { .. } | OpKind::Scan { .. } | OpKind::Random { .. } => {}
                _ => {
                    if op.results.iter().all(|v| self.facts.is_data(v)) {
                        let mut copy = op.clone();
                        copy.args.iter_mut().for_each(|a| *a = renamed(a));
                        ops.push(copy);
                        for v in &op.results {
                            if self.wanted.contains(v) {
                                tables.insert(*v, *v);
                            }
                        }
                    }
                }
            }
        }
        tables
    }

    /// `0, 1, …, n-1`, computed by a new op at the end of `ops`.
    fn indices(&mut self, n: &Dim, ops: &mut Vec<Op>) -> ValueId {
        let iota = self
            .out
            .new_value(TensorType::new(Elem::Int, vec![n.clone()]));
        ops.push(Op {
            kind: OpKind::Iota,
            args: Vec::new(),
            results: vec![iota],
        });
        iota
    }

    /// A `scan` with no carries over `args` (`sequences` of them, then
    /// captures; `body_args` receive them) whose steps run `body`'s slice
    /// after `inner` and stack the wanted values below it (at `path`).
    #[allow(clippy::too_many_arguments)]
    fn stack(
        &mut self,
        body: &Region,
        (args, body_args, sequences): (Vec<ValueId>, Vec<ValueId>, usize),
        mut inner: Vec<Op>,
        n: Dim,
        ops: &mut Vec<Op>,
        tables: &mut HashMap<ValueId, ValueId>,
        path: &[(usize, usize)],
    ) {
        let found = self.region(body, &HashMap::new(), &mut inner, path);
        let mut found: Vec<(ValueId, ValueId)> = found.into_iter().collect();
        found.sort();
        let mut results = Vec::new();
        let mut stacked = Vec::new();
        for (v, t) in found {
            let ty = self.out.ty(t).clone();
            let s = self.out.new_value(TensorType::new(
                ty.elem,
                std::iter::once(n.clone()).chain(ty.shape).collect(),
            ));
            results.push(t);
            stacked.push(s);
            tables.insert(v, s);
        }
        ops.push(Op {
            kind: OpKind::Scan {
                body: Region {
                    args: body_args,
                    ops: inner,
                    results,
                },
                carries: 0,
                sequences,
                reverse: false,
            },
            args,
            results: stacked,
        });
    }
}
