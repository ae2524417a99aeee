//! Lowering of one IR function, specialized on concrete sizes, to one
//! Cranelift function `extern "C" fn(workspace: *mut f64) -> i64`.
//!
//! Every IR element (real, int or bool) is an `f64` (bools are 0.0 / 1.0).
//! An IR value is represented (`Repr`) as
//! * `Regs`: up to `SMALL` SSA values, one per element (row-major), fully
//!   unrolled elementwise;
//! * `Splat`: one SSA value that every element equals (`Fill`, broadcast
//!   scalars), never materialized unless a consumer needs memory;
//! * `Buf`: a run of the workspace (a `Vec<f64>` allocated once per compiled
//!   function) at an element offset that may be dynamic (a row of a matrix
//!   selected by a data index, a step's slice of a scan sequence);
//! * `Lazy`: an elementwise op of a large array whose one consumer (an
//!   elementwise op or a reduction in the same region) computes its elements
//!   in its own loop: chains of elementwise ops are fused into one loop.
//!
//! Any value may be in any representation; ops read elements through `load`
//! and write through a `Dest`. Loops over more than `SMALL` elements are real
//! loops (the innermost axes whose product is at most `SMALL` are unrolled).
//! Buffers are never reused, so a value's buffer holds it until the function
//! returns (values inside loop bodies are overwritten each iteration, which
//! SSA makes safe).
//!
//! Every data-dependent index is checked in the generated code: an index out
//! of range stores the index into workspace slot `ERROR_SLOT` and returns
//! `1 + site`, where `site` indexes `Compiled::sites`.
//!
//! Lane code (`Gen::lanes`, for an outlined loop over subjects when
//! `JitOptions::lanes` is on) is the same generator with every element
//! value an `f64x2` holding two subjects' numbers: arrays of the lanes' own
//! are `Repr::Lanes` (two slots per element), indices that differ by lane
//! `Ix::L`, conditions `i64x2` masks, an `if` both branches and a select
//! (`branch_lanes`), `exp`/`log`/`log1p` the vector kernels of `vmath`;
//! a failed index check reruns the pair in the scalar code (`Rerun`).

use crate::exec::{Code, Task};
use crate::runtime;
use crate::smath;
use crate::vmath;
use crate::{ErrorSite, JitError};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, F64X2, I64, I64X2};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, Endianness, FuncRef, InstBuilder, MemFlagsData, Signature, Type,
    UserFuncName, Value,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};
use rlc_ir::{
    AxisIndex, BinaryOp, Dim, Function, Input, Op, OpKind, ReduceOp, Region, SpecialFn, UnaryOp,
    ValueId,
};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Values of at most this many elements live in registers; loops of at most
/// this many iterations are unrolled.
pub(crate) const SMALL: usize = 8;

/// The workspace slot receiving the offending index of a runtime error.
pub(crate) const ERROR_SLOT: usize = 0;

type Result<T> = std::result::Result<T, JitError>;

/// The byte offset of element `k` as a load's or store's 32-bit immediate,
/// if it fits (the workspace's elements past 2^28 are addressed otherwise).
fn immediate_offset(k: i64) -> Option<i32> {
    k.checked_mul(8).and_then(|bytes| i32::try_from(bytes).ok())
}

/// A flat element index or offset: known at compile time or computed (i64),
/// or, in lane code, one per lane (`L`, an `i64x2`: the lanes' subjects'
/// data rows, an index read from their data).
#[derive(Clone, Copy, Debug)]
enum Ix {
    C(i64),
    V(Value),
    L(Value),
}

#[derive(Clone, Debug)]
enum Repr {
    Regs(Vec<Value>),
    Splat(Value),
    /// Memory every lane shares (in lane code: the data and the captures,
    /// written before the loop), one `f64` per element.
    Buf(Ix),
    /// In lane code, an array of the lanes' own: element `e` of lane `l` at
    /// `f64` slot `2 (base + e) + l` (`alloc` counts such a buffer's base in
    /// pairs of slots), so one vector load reads an element of every lane.
    Lanes(Ix),
    /// An elementwise op not computed yet (see `Lazy`).
    Lazy(Rc<Lazy>),
}

/// An elementwise op whose elements are computed where its one consumer
/// reads them (`load`), inside that consumer's loop: a chain of elementwise
/// ops ending in an elementwise op or a reduction is one loop, with no array
/// written and read back between its links (`fusable_values` says which
/// values may wait so).
#[derive(Debug)]
struct Lazy {
    op: LazyOp,
    args: Vec<Repr>,
    /// The longest chain of lazy ops below and including this one (bounded
    /// by `MAX_FUSED`, so that reading an element never recurses deeply).
    depth: usize,
}

#[derive(Clone, Debug)]
enum LazyOp {
    /// An op of the operands' elements at the same index.
    Map(MapOp),
    /// A broadcast: element `flat` of the result is element
    /// `Σ (flat / stride % len) * source_stride` of the operand, over the
    /// axes the operand does not repeat (`stride`, `len`, `source_stride`).
    Broadcast(Vec<(usize, usize, usize)>),
}

#[derive(Clone, Copy, Debug)]
enum MapOp {
    Unary(UnaryOp),
    Binary(BinaryOp),
    Select,
}

/// The longest chain of elementwise ops fused into one loop.
const MAX_FUSED: usize = 24;

/// `2^52`: an integer-valued double below it, added to it, is held in the
/// low bits of the sum.
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// Where an op writes its result's elements.
enum Dest {
    Regs(Vec<Value>),
    Buf(Ix),
}

/// The compiled function and where its inputs and results live in the workspace.
pub(crate) struct Compiled {
    pub code: Code,
    pub workspace_len: usize,
    /// `(offset, len)` of the theta input, if the function has one.
    pub theta: Option<(usize, usize)>,
    /// `(offset, values)` of each data input, copied in once.
    pub data: Vec<(usize, Vec<f64>)>,
    /// `(offset, len)` of each result.
    pub results: Vec<(usize, usize)>,
    pub sites: Vec<ErrorSite>,
    /// The outlined loops that run in SIMD lanes.
    pub lane_loops: usize,
}

/// The runtime functions generated code calls, declared once in the module;
/// each generated function imports them (`Imports::refs`).
struct Imports {
    unary: Vec<(UnaryOp, FuncId)>,
    pow: FuncId,
    atan2: FuncId,
    special: Vec<((SpecialFn, usize), FuncId)>,
    parallel_for: FuncId,
}

/// An import's reference in one generated function.
struct Refs {
    unary: HashMap<UnaryOp, FuncRef>,
    pow: FuncRef,
    atan2: FuncRef,
    special: HashMap<(SpecialFn, usize), FuncRef>,
    parallel_for: FuncRef,
}

impl Imports {
    fn declare(module: &mut JITModule) -> Result<Imports> {
        let codegen = |e: &dyn std::fmt::Display| JitError::Codegen(e.to_string());
        let ptr = module.target_config().pointer_type();
        let mut unary_sig = module.make_signature();
        unary_sig.params.push(AbiParam::new(F64));
        unary_sig.returns.push(AbiParam::new(F64));
        let mut pow_sig = unary_sig.clone();
        pow_sig.params.push(AbiParam::new(F64));
        let mut five_sig = module.make_signature();
        five_sig.params.extend([AbiParam::new(F64); 5]);
        five_sig.returns.push(AbiParam::new(F64));
        let mut parallel_sig = module.make_signature();
        parallel_sig.params.extend([
            AbiParam::new(ptr),
            AbiParam::new(I64),
            AbiParam::new(I64),
            AbiParam::new(I64),
        ]);
        parallel_sig.returns.push(AbiParam::new(I64));
        let mut unary = Vec::new();
        for op in runtime::CALLED_UNARY {
            if let Some((name, _)) = runtime::unary_symbol(op) {
                let id = module
                    .declare_function(name, Linkage::Import, &unary_sig)
                    .map_err(|e| codegen(&e))?;
                unary.push((op, id));
            }
        }
        let pow = module
            .declare_function(runtime::POW_SYMBOL, Linkage::Import, &pow_sig)
            .map_err(|e| codegen(&e))?;
        let atan2 = module
            .declare_function(runtime::ATAN2_SYMBOL, Linkage::Import, &pow_sig)
            .map_err(|e| codegen(&e))?;
        let mut special = Vec::new();
        for (s, k, name, _) in runtime::special_symbols() {
            let id = module
                .declare_function(name, Linkage::Import, &five_sig)
                .map_err(|e| codegen(&e))?;
            special.push(((s, k), id));
        }
        let parallel_for = module
            .declare_function(PARALLEL_FOR_SYMBOL, Linkage::Import, &parallel_sig)
            .map_err(|e| codegen(&e))?;
        Ok(Imports {
            unary,
            pow,
            atan2,
            special,
            parallel_for,
        })
    }

    fn refs(&self, module: &mut JITModule, func: &mut cranelift_codegen::ir::Function) -> Refs {
        Refs {
            unary: self
                .unary
                .iter()
                .map(|(op, id)| (*op, module.declare_func_in_func(*id, func)))
                .collect(),
            pow: module.declare_func_in_func(self.pow, func),
            atan2: module.declare_func_in_func(self.atan2, func),
            special: self
                .special
                .iter()
                .map(|(k, id)| (*k, module.declare_func_in_func(*id, func)))
                .collect(),
            parallel_for: module.declare_func_in_func(self.parallel_for, func),
        }
    }
}

/// The most options a trusted index may pick among for the code after it to
/// be emitted once per option (`Gen::split_on_index`), and the most copies
/// of a region nested splits may make.
const MAX_SPLIT_LEN: usize = 4;
const MAX_SPLIT_WIDTH: usize = 8;

/// The most ops (nested ones counted) the rest of a region may have to be
/// emitted once per value of an index.
const MAX_SPLIT_OPS: usize = 100;

/// The ops of `ops`, nested ones included, and how many are `if`s.
fn count_ops(ops: &[Op]) -> (usize, usize) {
    let mut count = (0, 0);
    for op in ops {
        count.0 += 1;
        if matches!(op.kind, OpKind::If { .. }) {
            count.1 += 1;
        }
        for r in op.kind.regions() {
            let (n, ifs) = count_ops(&r.ops);
            count.0 += n;
            count.1 += ifs;
        }
    }
    count
}

/// Whether `op` is a loop or holds one.
fn runs_a_loop(op: &Op) -> bool {
    match &op.kind {
        OpKind::Scan { .. } | OpKind::For { .. } => true,
        kind => kind.regions().iter().any(|r| r.ops.iter().any(runs_a_loop)),
    }
}

/// A block where branches join (`Gen::merge_block`): each result of
/// length `lens[k]` is in registers, the block's `params`, or (`outs[k]`) in
/// a buffer.
struct Merge {
    block: Block,
    outs: Vec<Option<Ix>>,
    lens: Vec<usize>,
    params: Vec<Value>,
}

/// The symbol of `exec::parallel_for`, which runs an outlined loop's chunks.
const PARALLEL_FOR_SYMBOL: &str = "rlc_parallel_for";

/// Compiles `f` for `sizes` and `data`, with `padding` unused elements
/// before the first buffer (0 but in the tests, which place every buffer
/// past 2 GiB this way to check that no address wraps). With `threads`
/// above 1, each independent `for` of the function's top level whose body
/// loops is outlined into a function of a range of iterations, which the
/// runtime splits into `threads` chunks run side by side (`exec`).
pub(crate) fn compile_padded(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &[&[f64]],
    padding: usize,
    threads: usize,
    lanes: bool,
    precompute: bool,
) -> Result<Compiled> {
    if precompute {
        if let Some((rewritten, tables)) = crate::precompute::precompute(f, sizes, data) {
            let data: Vec<&[f64]> = data
                .iter()
                .copied()
                .chain(tables.iter().map(Vec::as_slice))
                .collect();
            return compile_padded(&rewritten, sizes, &data, padding, threads, lanes, false);
        }
    }
    let fused = crate::rows::fuse_rows(f, sizes);
    let f = &fused;
    match compile_attempt(f, sizes, data, padding, threads, lanes, true) {
        Err(JitError::Codegen(m)) if m == MISPREDICTED => {
            compile_attempt(f, sizes, data, padding, threads, lanes, false)
        }
        done => done,
    }
}

/// `f` compiled as it is: one thread, no lanes, no tables of data-only
/// work (for computing those tables).
pub(crate) fn compile_plain(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &[&[f64]],
) -> Result<Compiled> {
    compile_padded(f, sizes, data, 0, 1, false, false)
}

/// The address space reserved for one module's code and data: far more
/// than the largest model needs, and within the 2 GiB that a PC-relative
/// call reaches.
const CODE_ARENA_BYTES: usize = 1 << 30;

/// `compile_padded`, with or without `predicted_normalizations`.
fn compile_attempt(
    f: &Function,
    sizes: &HashMap<String, i64>,
    data: &[&[f64]],
    padding: usize,
    threads: usize,
    lanes: bool,
    predict: bool,
) -> Result<Compiled> {
    let codegen = |e: &dyn std::fmt::Display| JitError::Codegen(e.to_string());
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| codegen(&e))?;
    flags.set("is_pic", "false").map_err(|e| codegen(&e))?;
    let isa = cranelift_native::builder()
        .map_err(|e| codegen(&e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| codegen(&e))?;
    let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
    for op in runtime::CALLED_UNARY {
        if let Some((name, addr)) = runtime::unary_symbol(op) {
            jb.symbol(name, addr);
        }
    }
    jb.symbol(runtime::POW_SYMBOL, runtime::pow_address());
    jb.symbol(runtime::ATAN2_SYMBOL, runtime::atan2_address());
    for (_, _, name, addr) in runtime::special_symbols() {
        jb.symbol(name, addr);
    }
    jb.symbol(PARALLEL_FOR_SYMBOL, crate::exec::parallel_for_address());
    // The module's functions call each other with 32-bit PC-relative
    // offsets: their code must lie within 2 GiB of each other. Pages taken
    // one allocation at a time (the default provider) can land farther apart
    // in a process that has mapped much else, and the relocation then panics
    // inside cranelift-jit. One reserved region (address space only, no
    // memory until used) keeps them together; where it cannot be reserved
    // (a `ulimit -v`), the default provider is the fallback.
    if let Ok(arena) = cranelift_jit::ArenaMemoryProvider::new_with_size(CODE_ARENA_BYTES) {
        jb.memory_provider(Box::new(arena));
    }
    let mut module = OwnedModule(std::mem::ManuallyDrop::new(JITModule::new(jb)));
    let imports = Imports::declare(&mut module)?;
    let ptr = module.target_config().pointer_type();
    let mut outer = Outer {
        module,
        imports,
        outlined: HashSet::new(),
        tasks: Vec::new(),
        data_ranges: Vec::new(),
        one_hot: HashMap::new(),
        one_hot_ops: HashSet::new(),
        skipped: if predict {
            predicted_normalizations(f, sizes)?
        } else {
            HashSet::new()
        },
        lanes,
        lane_loops: 0,
    };
    (outer.one_hot, outer.one_hot_ops) = one_hot_results(f, sizes);
    if threads > 1 || lanes {
        outer.outlined = outlined_loops(f, sizes);
    }

    let module = &mut outer.module;
    let mut ctx = module.make_context();
    let mut sig = Signature::new(module.isa().default_call_conv());
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.returns.push(AbiParam::new(I64));
    ctx.func.signature = sig.clone();
    ctx.func.name = UserFuncName::user(0, 0);
    let refs = outer.imports.refs(&mut outer.module, &mut ctx.func);

    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let ws = b.block_params(entry)[0];
    let call_context = b.block_params(entry)[1];
    let mut g = Gen {
        f,
        sizes,
        b,
        ws,
        reprs: vec![None; f.values.len()],
        workspace_len: ERROR_SLOT + 1 + padding,
        sites: Vec::new(),
        unary_refs: refs.unary,
        pow_ref: refs.pow,
        atan2_ref: refs.atan2,
        special_refs: refs.special,
        cse: vec![HashMap::new()],
        conditions: HashMap::new(),
        fresh: HashSet::new(),
        owner: HashMap::new(),
        dying: HashSet::new(),
        dead: HashSet::new(),
        defs: HashMap::new(),
        last_lse: None,
        lse: HashMap::new(),
        row_lse_wanted: HashSet::new(),
        row_lse: HashMap::new(),
        softmaxes: HashMap::new(),
        fusable: HashSet::new(),
        parallel_for_ref: refs.parallel_for,
        call_context: Some(call_context),
        outer: &mut outer,
        lanes: false,
        active: None,
        rerun: None,
        pinned: HashMap::new(),
        split_width: 1,
    };
    mark_dead(&f.body, None, &g.outer.skipped, &mut g.dead);
    collect_defs(&f.body, &mut g.defs);
    g.row_lse_wanted = row_lse_with_softmax(f, sizes, &g.dead, &g.defs)?;
    g.fusable = fusable_values(f, sizes)?;
    let (theta, data_slots, results) = g.function(data)?;
    g.b.seal_all_blocks();
    let workspace_len = g.workspace_len;
    let sites = std::mem::take(&mut g.sites);
    let frontend_config = g.outer.module.target_config();
    g.b.finalize(frontend_config);
    let Outer {
        mut module,
        tasks,
        lane_loops,
        ..
    } = outer;

    let id = module
        .declare_function(&f.name, Linkage::Export, &sig)
        .map_err(|e| codegen(&e))?;
    module
        .define_function(id, &mut ctx)
        .map_err(|e| JitError::Codegen(format!("{e:?}")))?;
    module.clear_context(&mut ctx);
    module.finalize_definitions().map_err(|e| codegen(&e))?;
    let entry_ptr = module.get_finalized_function(id);
    let tasks = tasks
        .into_iter()
        .map(|t| Task {
            entry: module.get_finalized_function(t.id),
            copies: t.copies,
            rows: t.rows,
            first: t.first,
        })
        .collect();
    Ok(Compiled {
        code: Code::new(
            module.release(),
            entry_ptr,
            workspace_len,
            tasks,
            threads.max(1),
        ),
        workspace_len,
        theta,
        data: data_slots,
        results,
        sites,
        lane_loops,
    })
}

/// The results of each `for` that an iteration makes as `inc_subtensor` of
/// zeros at its own index along the first axis, and nothing else reads: the
/// adjoints of per-subject parameters (`zeros[n] += bar`). Summing such an
/// `[N, …]` array per iteration costs `N` per subject; adding its part to
/// row `n` alone costs the part (and gives the same bits: the other rows only
/// ever add +0.0). Needs bounds known when compiling within the first axis
/// (so the row needs no check) and a result stored in memory (over `SMALL`).
fn one_hot_results(
    f: &Function,
    sizes: &HashMap<String, i64>,
) -> (HashMap<*const Op, Vec<bool>>, HashSet<*const Op>) {
    fn walk<'a>(r: &'a Region, loops: &mut Vec<(&'a Op, &'a Region, &'a Region)>) {
        for op in &r.ops {
            if let OpKind::For { body } = &op.kind {
                loops.push((op, body, r));
            }
            for nested in op.kind.regions() {
                walk(nested, loops);
            }
        }
    }
    let mut defs = HashMap::new();
    collect_defs(&f.body, &mut defs);
    let mut loops = Vec::new();
    walk(&f.body, &mut loops);
    let mut results = HashMap::new();
    let mut ops = HashSet::new();
    for (op, body, _) in loops {
        let bound = |i: usize| {
            op.args
                .get(i)
                .and_then(|v| defs.get(v))
                .and_then(|d| constant_int(d, sizes))
        };
        let (Some(lo), Some(hi)) = (bound(0), bound(1)) else {
            continue;
        };
        let Some(&index) = body.args.first() else {
            continue;
        };
        let mut uses: HashMap<ValueId, usize> = HashMap::new();
        fn count(r: &Region, uses: &mut HashMap<ValueId, usize>) {
            for op in &r.ops {
                for a in &op.args {
                    *uses.entry(*a).or_default() += 1;
                }
                for nested in op.kind.regions() {
                    count(nested, uses);
                    for v in &nested.results {
                        *uses.entry(*v).or_default() += 1;
                    }
                }
            }
        }
        count(body, &mut uses);
        for v in &body.results {
            *uses.entry(*v).or_default() += 1;
        }
        let flags: Vec<bool> = body
            .results
            .iter()
            .map(|v| {
                let Some(def) = body.ops.iter().find(|o| o.results.contains(v)) else {
                    return false;
                };
                let OpKind::IndexInc { plan } = &def.kind else {
                    return false;
                };
                let zeros = def.args.first().and_then(|z| defs.get(z)).is_some_and(|z| {
                    z.kind == OpKind::Fill
                        && z.args.first().and_then(|c| defs.get(c)).is_some_and(|c| {
                            matches!(c.kind, OpKind::Const(x) if x == 0.0 && x.is_sign_positive())
                        })
                });
                let shape = concrete_shape(f, sizes, *v).unwrap_or_default();
                let fits = shape.first().is_some_and(|&n| 0 <= lo && hi <= n as i64);
                zeros
                    && fits
                    && matches!(plan.as_slice(), [AxisIndex::Scalar { constant: None, .. }])
                    && def.args.get(2) == Some(&index)
                    && uses.get(v) == Some(&1)
                    && product(&shape) > SMALL
            })
            .collect();
        if flags.iter().any(|x| *x) {
            for (v, one_hot) in body.results.iter().zip(&flags) {
                if let Some(def) = body.ops.iter().find(|o| o.results.contains(v)) {
                    if *one_hot {
                        ops.insert(def as *const Op);
                    }
                }
            }
            results.insert(op as *const Op, flags);
        }
    }
    (results, ops)
}

/// The `for` ops of the function's top level worth running on several
/// threads: a body that loops (a subject's trials), bounds known when
/// compiling (a row of results per iteration is set aside), and at least
/// two iterations.
fn outlined_loops(f: &Function, sizes: &HashMap<String, i64>) -> HashSet<*const Op> {
    fn loops(r: &Region) -> bool {
        r.ops.iter().any(|op| {
            matches!(op.kind, OpKind::Scan { .. } | OpKind::For { .. })
                || op.kind.regions().into_iter().any(loops)
        })
    }
    let mut defs = HashMap::new();
    for op in &f.body.ops {
        for v in &op.results {
            defs.insert(*v, op);
        }
    }
    let bound = |v: &ValueId| -> Option<i64> { constant_int(defs.get(v)?, sizes) };
    f.body
        .ops
        .iter()
        .filter(|op| match &op.kind {
            OpKind::For { body } => {
                let range = op
                    .args
                    .first()
                    .and_then(bound)
                    .zip(op.args.get(1).and_then(bound));
                matches!(range, Some((lo, hi)) if hi - lo >= 2) && loops(body)
            }
            _ => false,
        })
        .map(|op| op as *const Op)
        .collect()
}

/// The value of an integer scalar known when compiling: a constant or a size.
fn constant_int(op: &Op, sizes: &HashMap<String, i64>) -> Option<i64> {
    match &op.kind {
        OpKind::Const(c) if c.fract() == 0.0 && c.abs() < 1e15 => Some(*c as i64),
        OpKind::SizeOf(d) => d.eval(sizes),
        _ => None,
    }
}

/// What a scope of the generated code has computed already.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Known {
    /// The result of a special function of a value.
    Call(UnaryOp, Value),
    /// An index value checked against a length: its i64.
    CheckedIndex(Value, usize),
}

/// Whether an op may report a runtime error (a data-dependent index, which
/// the generated code checks), itself or in its regions.
fn has_effect(op: &Op) -> bool {
    rlc_ir::opt::contains_op(op, &|o| match &o.kind {
        OpKind::Index { .. } => o.args.len() > 1,
        OpKind::IndexSet { .. } | OpKind::IndexInc { .. } => o.args.len() > 2,
        _ => false,
    })
}

/// Dead-code elimination: adds to `dead` the ops of `r` (and its nested
/// regions) whose results nothing needs and that have no effect. `needed`
/// says which of the region's results are used (all when `None`; loop
/// bodies keep all theirs, since carries feed back).
fn mark_dead(
    r: &Region,
    needed: Option<&[bool]>,
    skipped: &HashSet<*const Op>,
    dead: &mut HashSet<*const Op>,
) {
    let mut used: HashSet<ValueId> = r
        .results
        .iter()
        .enumerate()
        .filter(|(i, _)| needed.is_none_or(|n| n.get(*i).copied().unwrap_or(true)))
        .map(|(_, v)| *v)
        .collect();
    for op in r.ops.iter().rev() {
        let live = op.results.iter().any(|v| used.contains(v)) || has_effect(op);
        if !live {
            dead.insert(op as *const Op);
            continue;
        }
        match &op.kind {
            OpKind::Scan { body, .. } | OpKind::For { body } => {
                mark_dead(body, None, skipped, dead)
            }
            OpKind::If {
                then_region,
                else_region,
            } => {
                let n: Vec<bool> = op.results.iter().map(|v| used.contains(v)).collect();
                mark_dead(then_region, Some(&n), skipped, dead);
                mark_dead(else_region, Some(&n), skipped, dead);
            }
            _ => {}
        }
        if skipped.contains(&(op as *const Op)) {
            // A division `normalized_softmax` skips reads its numerator alone.
            used.extend(op.args.first().copied());
        } else {
            used.extend(op.args.iter().copied());
        }
    }
}

/// The message of the error that makes `compile_padded` compile again
/// without predictions: a division predicted skippable was not skipped.
const MISPREDICTED: &str = "a softmax normalization predicted to be skipped was not";

/// The divisions `w / broadcast(guard(sum(w)))` that `normalized_softmax`
/// will skip, predicted from the IR alone, so that `mark_dead` drops the
/// sums and guards they would divide by (reverse mode's normalization of a
/// log-sum-exp's adjoint): `w` is `exp(a - logsumexp(a))` of a short vector,
/// or row by row of short rows, the forms `softmax_from_lse` and
/// `row_softmax_from_lse` compute from the log-sum-exp's terms. Emitting
/// such a division unskipped is an error (`MISPREDICTED`) that is never
/// seen: the function is then compiled again without predictions.
fn predicted_normalizations(
    f: &Function,
    sizes: &HashMap<String, i64>,
) -> Result<HashSet<*const Op>> {
    let mut defs = HashMap::new();
    collect_defs(&f.body, &mut defs);
    let shape = |v: ValueId| concrete_shape(f, sizes, v);
    let mut out = HashSet::new();
    for op in defs.values() {
        if op.kind != OpKind::Binary(BinaryOp::Div) || op.args.len() != 2 {
            continue;
        }
        let (w, mut total) = (op.args[0], op.args[1]);
        let Some(w_def) = defs.get(&w).copied() else {
            continue;
        };
        let vector = softmax_operands(w_def, &defs, &shape)?.is_some_and(|(a, l)| {
            defs.get(&l).is_some_and(|d| {
                matches!(
                    d.kind,
                    OpKind::Reduce {
                        op: ReduceOp::LogSumExp,
                        axis: None | Some(0)
                    }
                ) && d.args.first() == Some(&a)
            })
        }) && shape(w)?.len() == 1;
        let rows = row_softmax_operands(w_def, &defs, &shape)?.is_some();
        let axis = match (vector, rows) {
            (true, _) => None,
            (false, true) => Some(1),
            (false, false) => continue,
        };
        while let Some(d) = defs.get(&total) {
            if matches!(d.kind, OpKind::BroadcastTo | OpKind::Reshape) {
                total = d.args[0];
            } else {
                break;
            }
        }
        if let Some(t) = finite_or_one(total, &defs) {
            total = t;
        }
        let sums_w = defs.get(&total).is_some_and(|d| {
            d.args.first() == Some(&w)
                && match d.kind {
                    OpKind::Reduce {
                        op: ReduceOp::Sum,
                        axis: a,
                    } => a == axis || (axis.is_none() && a == Some(0)),
                    _ => false,
                }
        });
        if sums_w
            && op
                .results
                .first()
                .is_some_and(|r| shape(*r).ok() == shape(w).ok())
        {
            out.insert(*op as *const Op);
        }
    }
    Ok(out)
}

/// A log-sum-exp of a short vector (`len <= SMALL`), `m + log(total)`:
/// `m` the maximum, `terms[i] = exp(a[i] - m)` (for two values, one of them
/// is exactly 1 and only the other is an `exp`), `total` their sum, and
/// `finite` whether `m` is finite (in scalar code, for two values: whether
/// both are, which gives the same softmax: `[0, 1]` either way when one is
/// `-inf`).
#[derive(Clone, Debug)]
struct Lse {
    terms: Vec<Value>,
    total: Value,
    finite: Value,
}

/// A vector of 2 to `SMALL` elements: its log-sum-exp is kept in registers.
fn is_short_vector(shape: &[usize]) -> bool {
    shape.len() == 1 && (2..=SMALL).contains(&shape[0])
}

/// For `select(t - t == 0, t, 1)` (`t` where it is finite, else 1): `t`.
fn finite_or_one(v: ValueId, defs: &HashMap<ValueId, &Op>) -> Option<ValueId> {
    let select = defs.get(&v).filter(|d| d.kind == OpKind::Select)?;
    let (cond, t, other) = (select.args[0], select.args[1], select.args[2]);
    let is_const = |v: ValueId, c: f64| {
        defs.get(&v).is_some_and(|d| {
            d.kind == OpKind::Const(c)
                || (d.kind == OpKind::Fill
                    && defs
                        .get(&d.args[0])
                        .is_some_and(|s| s.kind == OpKind::Const(c)))
        })
    };
    let eq = defs
        .get(&cond)
        .filter(|d| d.kind == OpKind::Binary(BinaryOp::Eq))?;
    let spread = defs
        .get(&eq.args[0])
        .filter(|d| d.kind == OpKind::Binary(BinaryOp::Sub))?;
    (spread.args[0] == t
        && spread.args[1] == t
        && is_const(eq.args[1], 0.0)
        && is_const(other, 1.0))
    .then_some(t)
}

/// For `exp(a - broadcast(l))` of a short vector (`op` the `exp`): `a` and
/// the scalar `l`, seen through the broadcast (and reshapes) of `l`.
fn softmax_operands(
    op: &Op,
    defs: &HashMap<ValueId, &Op>,
    shape: &dyn Fn(ValueId) -> Result<Vec<usize>>,
) -> Result<Option<(ValueId, ValueId)>> {
    if op.kind != OpKind::Unary(UnaryOp::Exp) {
        return Ok(None);
    }
    let x = op.args[0];
    let Some(sub) = defs.get(&x).copied() else {
        return Ok(None);
    };
    if sub.kind != OpKind::Binary(BinaryOp::Sub) || !is_short_vector(&shape(x)?) {
        return Ok(None);
    }
    let (a, mut l) = (sub.args[0], sub.args[1]);
    while let Some(d) = defs.get(&l) {
        if matches!(d.kind, OpKind::BroadcastTo | OpKind::Reshape | OpKind::Fill)
            && product(&shape(d.args[0])?) == 1
        {
            l = d.args[0];
        } else {
            break;
        }
    }
    Ok(Some((a, l)))
}

/// The concrete shape of `v` for these sizes.
fn concrete_shape(f: &Function, sizes: &HashMap<String, i64>, v: ValueId) -> Result<Vec<usize>> {
    f.ty(v)
        .shape
        .iter()
        .map(|d| {
            d.eval(sizes)
                .map(|n| n.max(0) as usize)
                .ok_or_else(|| JitError::Size(format!("the size `{d}` is not given")))
        })
        .collect()
}

/// For `exp(a - broadcast(l))` of a matrix `a` of short rows (`op` the
/// `exp`), where `l` is the row-wise log-sum-exp of `a`: `a` and `l`.
fn row_softmax_operands(
    op: &Op,
    defs: &HashMap<ValueId, &Op>,
    shape: &dyn Fn(ValueId) -> Result<Vec<usize>>,
) -> Result<Option<(ValueId, ValueId)>> {
    if op.kind != OpKind::Unary(UnaryOp::Exp) {
        return Ok(None);
    }
    let x = op.args[0];
    let Some(sub) = defs.get(&x).copied() else {
        return Ok(None);
    };
    let xs = shape(x)?;
    if sub.kind != OpKind::Binary(BinaryOp::Sub) || xs.len() != 2 || !is_short_vector(&xs[1..]) {
        return Ok(None);
    }
    let (a, mut l) = (sub.args[0], sub.args[1]);
    while let Some(d) = defs.get(&l) {
        if matches!(d.kind, OpKind::BroadcastTo | OpKind::Reshape | OpKind::Fill)
            && product(&shape(d.args[0])?) == xs[0]
            && shape(l)? != [xs[0]]
        {
            l = d.args[0];
        } else {
            break;
        }
    }
    let is_row_lse = defs.get(&l).is_some_and(|d| {
        d.kind
            == OpKind::Reduce {
                op: ReduceOp::LogSumExp,
                axis: Some(1),
            }
            && d.args[0] == a
    });
    Ok((is_row_lse && shape(l)? == [xs[0]]).then_some((a, l)))
}

/// The row-wise log-sum-exps of short rows whose softmax is taken (by a live
/// `exp`): their terms are kept in a buffer for `row_softmax_from_lse`.
fn row_lse_with_softmax(
    f: &Function,
    sizes: &HashMap<String, i64>,
    dead: &HashSet<*const Op>,
    defs: &HashMap<ValueId, &Op>,
) -> Result<HashSet<ValueId>> {
    let shape = |v: ValueId| concrete_shape(f, sizes, v);
    let mut out = HashSet::new();
    for op in defs.values() {
        if dead.contains(&(*op as *const Op)) {
            continue;
        }
        if let Some((_, l)) = row_softmax_operands(op, defs, &shape)? {
            out.insert(l);
        }
    }
    Ok(out)
}

/// The results of elementwise ops (unary, binary, select) of more than
/// `SMALL` elements that are used exactly once in the whole function, by an
/// op of the same region that reads each of their elements once: an
/// elementwise op, a sum, product, maximum or minimum, or a `sum_to` that
/// sums. Such a value need not be stored: its one consumer computes each
/// element where it reads it (`Repr::Lazy`). (A use in a nested region, by
/// a region's results or by any other op keeps the value stored; so does a
/// second use, so nothing is computed twice.)
fn fusable_values(f: &Function, sizes: &HashMap<String, i64>) -> Result<HashSet<ValueId>> {
    fn walk(
        r: &Region,
        region: usize,
        next_region: &mut usize,
        uses: &mut HashMap<ValueId, usize>,
        consumed_in: &mut HashMap<ValueId, usize>,
        candidates: &mut Vec<(ValueId, usize)>,
        reads_once: &dyn Fn(&Op) -> Result<bool>,
    ) -> Result<()> {
        for op in &r.ops {
            let once = reads_once(op)?;
            for a in &op.args {
                *uses.entry(*a).or_default() += 1;
                if once {
                    consumed_in.insert(*a, region);
                }
            }
            if matches!(
                op.kind,
                OpKind::Unary(_) | OpKind::Binary(_) | OpKind::Select | OpKind::BroadcastTo
            ) {
                candidates.extend(op.results.iter().map(|v| (*v, region)));
            }
            for nested in op.kind.regions() {
                *next_region += 1;
                let id = *next_region;
                walk(
                    nested,
                    id,
                    next_region,
                    uses,
                    consumed_in,
                    candidates,
                    reads_once,
                )?;
            }
        }
        for v in &r.results {
            *uses.entry(*v).or_default() += 1;
        }
        Ok(())
    }
    let shape = |v: ValueId| concrete_shape(f, sizes, v);
    let reads_once = |op: &Op| -> Result<bool> {
        Ok(match &op.kind {
            OpKind::Unary(_) | OpKind::Binary(_) | OpKind::Select => true,
            OpKind::Reduce { op: rop, .. } => {
                matches!(
                    rop,
                    ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Max | ReduceOp::Min
                )
            }
            OpKind::SumTo => match (op.args.first(), op.results.first()) {
                (Some(a), Some(r)) => shape(*a)? != shape(*r)?,
                _ => false,
            },
            _ => false,
        })
    };
    let (mut uses, mut consumed_in, mut candidates) = (HashMap::new(), HashMap::new(), Vec::new());
    let mut next_region = 0;
    walk(
        &f.body,
        0,
        &mut next_region,
        &mut uses,
        &mut consumed_in,
        &mut candidates,
        &reads_once,
    )?;
    let mut out = HashSet::new();
    for (v, region) in candidates {
        if uses.get(&v) == Some(&1)
            && consumed_in.get(&v) == Some(&region)
            && product(&shape(v)?) > SMALL
        {
            out.insert(v);
        }
    }
    Ok(out)
}

fn collect_defs<'a>(r: &'a Region, defs: &mut HashMap<ValueId, &'a Op>) {
    for op in &r.ops {
        for v in &op.results {
            defs.insert(*v, op);
        }
        for nested in op.kind.regions() {
            collect_defs(nested, defs);
        }
    }
}

struct Gen<'a, 'b> {
    f: &'a Function,
    sizes: &'a HashMap<String, i64>,
    b: FunctionBuilder<'b>,
    ws: Value,
    reprs: Vec<Option<Repr>>,
    workspace_len: usize,
    sites: Vec<ErrorSite>,
    unary_refs: HashMap<UnaryOp, FuncRef>,
    pow_ref: FuncRef,
    atan2_ref: FuncRef,
    /// Each result of each special function: a call of five floats.
    special_refs: HashMap<(SpecialFn, usize), FuncRef>,
    /// Calls already made and indices already checked, per enclosing
    /// region (a stack of scopes whose entries dominate everything emitted
    /// while they are on the stack).
    cse: Vec<HashMap<Known, Value>>,
    /// The conditions behind bools held as 0.0/1.0.
    conditions: HashMap<Value, Value>,
    /// Buffers allocated for a result and not yet claimed by a value.
    fresh: HashSet<i64>,
    /// The value that alone refers to each buffer (no view of it exists):
    /// at its last use, an op may overwrite it in place.
    owner: HashMap<i64, ValueId>,
    /// The operands whose last use is the op being emitted.
    dying: HashSet<ValueId>,
    /// Ops whose results nothing needs and that check no index: not emitted.
    dead: HashSet<*const Op>,
    /// The defining op of every value defined by an op (in any region).
    defs: HashMap<ValueId, &'a Op>,
    /// The pieces of the last 2-term log-sum-exp emitted by `reduce_run`.
    last_lse: Option<Lse>,
    /// The pieces of each emitted whole-vector 2-term log-sum-exp, by the
    /// value it defines (valid where that value is: like `reprs`).
    lse: HashMap<ValueId, (ValueId, Lse)>,
    /// Row-wise log-sum-exps whose softmax is taken (`row_lse_with_softmax`),
    /// and, once emitted, where their terms are.
    row_lse_wanted: HashSet<ValueId>,
    row_lse: HashMap<ValueId, RowLse>,
    /// The softmaxes made from a log-sum-exp's terms (already normalized,
    /// `terms / total`), with the axis they are normalized along.
    softmaxes: HashMap<ValueId, Option<usize>>,
    /// The values that may be `Lazy` (`fusable_values`).
    fusable: HashSet<ValueId>,
    /// `exec::parallel_for` in the function being generated.
    parallel_for_ref: FuncRef,
    /// The entry function's second argument (`None` in an outlined loop,
    /// which outlines nothing).
    call_context: Option<Value>,
    /// What the functions of one module share.
    outer: &'b mut Outer,
    /// Lane code: two subjects of an outlined loop side by side, every
    /// element value an `f64x2` (lane `l` is subject `first + l`), indices
    /// that differ by lane `Ix::L`, each `if` both branches and a select.
    lanes: bool,
    /// In lane code, the lanes whose values count in the region being
    /// emitted (an `i64x2` mask; `None`: both): an `if`'s branch runs for
    /// both lanes, and an index check fails only for a lane that takes it.
    active: Option<Value>,
    /// In lane code, where a failed index check goes: the scalar code of the
    /// same loop, rerun from the pair's first subject, which reports the
    /// error exactly as it would have without lanes.
    rerun: Option<Rerun>,
    /// Trusted indices whose value the code being emitted knows (a copy of
    /// the rest of a region for each value: `split_on_index`).
    pinned: HashMap<ValueId, i64>,
    /// How many copies of the code being emitted those splits made.
    split_width: usize,
}

/// The scalar code of an outlined loop and the pair's bounds, for a lane
/// code's failed index check (`Gen::rerun`).
#[derive(Clone, Copy)]
struct Rerun {
    scalar: FuncRef,
    first: Value,
    hi: Value,
}

/// The state of the whole module, passed from the entry function's
/// generator to the generator of each outlined loop and back.
/// A module being compiled: if the compilation fails, its memory (the
/// functions already defined, the reserved region) is freed, where
/// `JITModule`'s own drop would leak it. [`OwnedModule::release`] hands it
/// over when the compiled code takes it.
struct OwnedModule(std::mem::ManuallyDrop<JITModule>);

impl OwnedModule {
    fn release(self) -> JITModule {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the module is taken once.
        unsafe { std::mem::ManuallyDrop::take(&mut this.0) }
    }
}

impl Drop for OwnedModule {
    fn drop(&mut self) {
        // SAFETY: dropped once; a failed compilation handed out no pointer
        // into the module's memory.
        unsafe { std::mem::ManuallyDrop::take(&mut self.0).free_memory() };
    }
}

impl std::ops::Deref for OwnedModule {
    type Target = JITModule;
    fn deref(&self) -> &JITModule {
        &self.0
    }
}

impl std::ops::DerefMut for OwnedModule {
    fn deref_mut(&mut self) -> &mut JITModule {
        &mut self.0
    }
}

struct Outer {
    module: OwnedModule,
    imports: Imports,
    /// The loops to outline (`outlined_loops`).
    outlined: HashSet<*const Op>,
    tasks: Vec<TaskPlan>,
    /// `(offset, len)` of each data input: bound once in every workspace,
    /// never copied for a loop.
    data_ranges: Vec<(usize, usize)>,
    /// Per `for`, which results are one-hot along their first axis at the
    /// iteration's index (`one_hot_results`), and the `index_inc` ops that
    /// make them, not emitted: the iteration yields the part alone, added
    /// to its own row of the sum.
    one_hot: HashMap<*const Op, Vec<bool>>,
    one_hot_ops: HashSet<*const Op>,
    /// The divisions predicted to be skipped (`predicted_normalizations`).
    skipped: HashSet<*const Op>,
    /// Whether outlined loops get lane code (`outline`), and how many did.
    lanes: bool,
    lane_loops: usize,
}

/// An outlined loop before the module is finalized.
struct TaskPlan {
    id: FuncId,
    copies: Vec<(usize, usize)>,
    rows: (usize, usize),
    first: i64,
}

/// The terms of a row-wise log-sum-exp of the matrix `src` (`rows` rows of
/// `len`), kept in the workspace: `terms[i * len + j] = exp(src[i, j] -
/// max_i)`, `totals[i]` their sum, `finite[i]` 1 where `max_i` is finite.
#[derive(Clone, Copy, Debug)]
struct RowLse {
    src: ValueId,
    rows: usize,
    len: usize,
    terms: i64,
    totals: i64,
    finite: i64,
}

type Taken = (
    Option<(usize, usize)>,
    Vec<(usize, Vec<f64>)>,
    Vec<(usize, usize)>,
);

/// The element offsets of an indexing op's part: a fixed offset plus, per
/// axis of the part, either a stride or (for gathers) an index array.
struct Access {
    base: Ix,
    /// The part's shape.
    shape: Vec<usize>,
    /// Per part axis, the source stride (for the non-gather axes).
    strides: Vec<usize>,
    /// Gathers: the index arrays, the source axis lengths and strides, and
    /// the number of leading part axes that the gather shape spans.
    gathers: Vec<(Repr, usize, usize)>,
    gather_rank: usize,
    op: &'static str,
    result: ValueId,
}

/// The representations of values held either in a buffer (`Some(offset)`,
/// allocated by the function: in lane code the lanes' own) or, for `None`,
/// as their `lens[k]` next values of `regs`, in order.
fn unpack(slots: &[Option<Ix>], lens: &[usize], regs: &[Value], lanes: bool) -> Vec<Repr> {
    let mut p = 0;
    slots
        .iter()
        .zip(lens)
        .map(|(slot, n)| match slot {
            None => {
                let r = Repr::Regs(regs[p..p + n].to_vec());
                p += n;
                r
            }
            Some(off) if lanes => Repr::Lanes(*off),
            Some(off) => Repr::Buf(*off),
        })
        .collect()
}

fn product(dims: &[usize]) -> usize {
    dims.iter().product()
}

fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for a in (0..dims.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * dims[a + 1];
    }
    s
}

fn unsupported(what: impl Into<String>) -> JitError {
    JitError::Unsupported(what.into())
}

/// A loop body: the index, the carried values in, the next ones out.
type LoopBody<'f, 'a, 'b> =
    dyn FnMut(&mut Gen<'a, 'b>, Value, Vec<Value>) -> Result<Vec<Value>> + 'f;
/// A fold step: the multi-index, the accumulators in, the next ones out.
type FoldBody<'f, 'a, 'b> =
    dyn FnMut(&mut Gen<'a, 'b>, &[Ix], Vec<Value>) -> Result<Vec<Value>> + 'f;

impl<'a, 'b> Gen<'a, 'b> {
    // ---- Shapes and workspace -------------------------------------------------

    fn dim(&self, d: &Dim) -> Result<usize> {
        let v = d
            .eval(self.sizes)
            .ok_or_else(|| JitError::Size(format!("the size `{d}` is not given")))?;
        usize::try_from(v).map_err(|_| JitError::Size(format!("the size `{d}` is {v}")))
    }

    fn shape(&self, v: ValueId) -> Result<Vec<usize>> {
        self.f.ty(v).shape.iter().map(|d| self.dim(d)).collect()
    }

    fn len(&self, v: ValueId) -> Result<usize> {
        Ok(product(&self.shape(v)?))
    }

    /// A new buffer of `n` elements: its first slot, or in lane code the
    /// base of a `Repr::Lanes` (two slots per element, counted in pairs).
    fn alloc(&mut self, n: usize) -> usize {
        if self.lanes {
            let start = self.workspace_len.div_ceil(2);
            self.workspace_len = 2 * (start + n);
            return start;
        }
        let off = self.workspace_len;
        self.workspace_len += n;
        off
    }

    /// The array in a buffer this function allocated at `base`.
    fn buffer(&self, base: Ix) -> Repr {
        if self.lanes {
            Repr::Lanes(base)
        } else {
            Repr::Buf(base)
        }
    }

    /// The offset of the buffer `r` is, if ops may write it in place (in
    /// lane code only the lanes' own buffers are ever written).
    fn writable_offset(&self, r: &Repr) -> Option<i64> {
        match (r, self.lanes) {
            (Repr::Buf(Ix::C(off)), false) | (Repr::Lanes(Ix::C(off)), true) => Some(*off),
            _ => None,
        }
    }

    fn get(&self, v: ValueId) -> Result<Repr> {
        self.reprs[v.0 as usize]
            .clone()
            .ok_or_else(|| JitError::Codegen(format!("{v} used before its definition")))
    }

    fn set(&mut self, v: ValueId, r: Repr) {
        if let Some(off) = self.writable_offset(&r) {
            if self.fresh.remove(&off) {
                self.owner.insert(off, v);
            } else {
                // A second value on a buffer: nobody owns it any more.
                self.owner.remove(&off);
            }
        }
        self.reprs[v.0 as usize] = Some(r);
    }

    /// Gives up in-place updates of `v`'s buffer (a view of it exists).
    fn disown(&mut self, v: ValueId) {
        if let Some(off) = self.reprs[v.0 as usize]
            .as_ref()
            .and_then(|r| self.writable_offset(r))
        {
            self.owner.remove(&off);
        }
    }

    /// The buffer of `op.args[i]` if the op may overwrite it: the value owns
    /// it, dies at this op and is not another operand too.
    fn reusable(&self, op: &Op, i: usize) -> Option<Ix> {
        let v = *op.args.get(i)?;
        if !self.dying.contains(&v) || op.args.iter().filter(|a| **a == v).count() != 1 {
            return None;
        }
        let off = self.writable_offset(self.reprs[v.0 as usize].as_ref()?)?;
        (self.owner.get(&off) == Some(&v)).then_some(Ix::C(off))
    }

    // ---- Scalars and indices --------------------------------------------------

    /// The type of an element value: `f64`, or in lane code `f64x2`.
    fn fty(&self) -> Type {
        if self.lanes {
            F64X2
        } else {
            F64
        }
    }

    fn fconst(&mut self, x: f64) -> Value {
        let c = self.b.ins().f64const(x);
        if self.lanes {
            self.b.ins().splat(F64X2, c)
        } else {
            c
        }
    }

    /// A scalar as an element value (splat to every lane in lane code).
    fn uniform(&mut self, x: Value) -> Value {
        if self.lanes {
            self.b.ins().splat(F64X2, x)
        } else {
            x
        }
    }

    /// The vector of type `ty` whose lanes are `xs`.
    fn vector_of(&mut self, ty: Type, xs: [Value; 2]) -> Value {
        let v = self.b.ins().scalar_to_vector(ty, xs[0]);
        self.b.ins().insertlane(v, xs[1], 1)
    }

    /// `f` of each lane of the vector `v` (of type `ty`), as a vector.
    fn each_lane(
        &mut self,
        ty: Type,
        v: Value,
        f: &mut dyn FnMut(&mut Self, Value) -> Value,
    ) -> Value {
        let a = self.b.ins().extractlane(v, 0);
        let a = f(self, a);
        let b = self.b.ins().extractlane(v, 1);
        let b = f(self, b);
        self.vector_of(ty, [a, b])
    }

    /// `x` where the condition `c` holds, else `y`: a condition is an `i8`,
    /// or in lane code an `i64x2` mask choosing per lane.
    fn sel(&mut self, c: Value, x: Value, y: Value) -> Value {
        if self.b.func.dfg.value_type(c).is_vector() {
            let ty = self.b.func.dfg.value_type(x);
            let flags = MemFlagsData::new().with_endianness(Endianness::Little);
            let m = self.b.ins().bitcast(ty, flags, c);
            self.b.ins().bitselect(m, x, y)
        } else {
            self.b.ins().select(c, x, y)
        }
    }

    /// The `i64` of a uniform index (a loop's count, an address). A lane
    /// index has none: lane code loops only over counts known when compiling
    /// and addresses lane offsets lane by lane, so `L` never reaches here;
    /// were it to, its `i64x2` fails Cranelift's verifier and `outline` keeps
    /// the scalar code.
    fn ix_value(&mut self, i: Ix) -> Value {
        match i {
            Ix::C(c) => self.b.ins().iconst(I64, c),
            Ix::V(v) | Ix::L(v) => v,
        }
    }

    fn ix_add(&mut self, a: Ix, b: Ix) -> Ix {
        match (a, b) {
            (Ix::C(x), Ix::C(y)) => Ix::C(x + y),
            (Ix::C(0), y) | (y, Ix::C(0)) => y,
            (Ix::V(v), Ix::C(c)) | (Ix::C(c), Ix::V(v)) => Ix::V(self.b.ins().iadd_imm_s(v, c)),
            (Ix::V(x), Ix::V(y)) => Ix::V(self.b.ins().iadd(x, y)),
            (Ix::L(v), Ix::C(c)) | (Ix::C(c), Ix::L(v)) => {
                let c = self.b.ins().iconst(I64, c);
                let c = self.b.ins().splat(I64X2, c);
                Ix::L(self.b.ins().iadd(v, c))
            }
            (Ix::L(v), Ix::V(x)) | (Ix::V(x), Ix::L(v)) => {
                let x = self.b.ins().splat(I64X2, x);
                Ix::L(self.b.ins().iadd(v, x))
            }
            (Ix::L(x), Ix::L(y)) => Ix::L(self.b.ins().iadd(x, y)),
        }
    }

    fn ix_mul(&mut self, a: Ix, c: usize) -> Ix {
        match a {
            Ix::C(x) => Ix::C(x * c as i64),
            Ix::V(_) | Ix::L(_) if c == 0 => Ix::C(0),
            Ix::V(_) | Ix::L(_) if c == 1 => a,
            Ix::V(v) => Ix::V(self.b.ins().imul_imm_s(v, c as i64)),
            Ix::L(v) if c.is_power_of_two() => {
                Ix::L(self.b.ins().ishl_imm_s(v, c.trailing_zeros() as i64))
            }
            // (SSE has no 64-bit lane multiply.)
            Ix::L(v) => {
                Ix::L(self.each_lane(I64X2, v, &mut |g, x| g.b.ins().imul_imm_s(x, c as i64)))
            }
        }
    }

    /// `i / stride % len` (an index is never negative).
    fn ix_div_rem(&mut self, i: Ix, stride: usize, len: usize) -> Ix {
        let scalar = |g: &mut Self, v: Value| {
            let q = if stride == 1 {
                v
            } else {
                g.b.ins().udiv_imm_u(v, stride as i64)
            };
            g.b.ins().urem_imm_u(q, len as i64)
        };
        match i {
            Ix::C(c) => Ix::C(c / stride as i64 % len as i64),
            Ix::V(v) => Ix::V(scalar(self, v)),
            Ix::L(v) => Ix::L(self.each_lane(I64X2, v, &mut |g, x| scalar(g, x))),
        }
    }

    /// `Σ idx[a] * strides[a]`.
    fn linear(&mut self, idx: &[Ix], strides: &[usize]) -> Ix {
        let mut acc = Ix::C(0);
        for (i, s) in idx.iter().zip(strides) {
            let t = self.ix_mul(*i, *s);
            acc = self.ix_add(acc, t);
        }
        acc
    }

    fn ix_to_f64(&mut self, i: Ix) -> Value {
        match i {
            Ix::C(c) => self.fconst(c as f64),
            Ix::V(v) => {
                let x = self.b.ins().fcvt_from_sint(F64, v);
                self.uniform(x)
            }
            Ix::L(v) => {
                let a = self.b.ins().extractlane(v, 0);
                let b = self.b.ins().extractlane(v, 1);
                let a = self.b.ins().fcvt_from_sint(F64, a);
                let b = self.b.ins().fcvt_from_sint(F64, b);
                self.vector_of(F64X2, [a, b])
            }
        }
    }

    fn known(&self, what: Known) -> Option<Value> {
        self.cse
            .iter()
            .rev()
            .find_map(|scope| scope.get(&what).copied())
    }

    fn remember(&mut self, what: Known, v: Value) {
        if let Some(scope) = self.cse.last_mut() {
            scope.insert(what, v);
        }
    }

    fn bool_to_f64(&mut self, c: Value) -> Value {
        let one = self.fconst(1.0);
        let zero = self.fconst(0.0);
        let x = self.sel(c, one, zero);
        self.conditions.insert(x, c);
        x
    }

    /// The condition `x != 0`: for a bool made here, the condition it came
    /// from (an SSA value dominates its uses, so it is at hand wherever `x` is).
    fn truthy(&mut self, x: Value) -> Value {
        if let Some(c) = self.conditions.get(&x) {
            return *c;
        }
        let zero = self.fconst(0.0);
        self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
    }

    /// The i64 index `x` (an f64), checked to be an integer in `0..len`;
    /// otherwise (NaN, fractional, out of range) the function exits with the
    /// error of `site`.
    fn checked_index(&mut self, x: Value, len: usize, site: ErrorSite) -> Ix {
        if self.lanes {
            return self.checked_lane_index(x, len);
        }
        if let Some(i) = self.known(Known::CheckedIndex(x, len)) {
            return Ix::V(i);
        }
        // As in lane code: 0 <= x < len and x == (x + 2^52) - 2^52 (NaN
        // fails every comparison), then x is the bits of x + 2^52 less those
        // of 2^52: fewer instructions than a saturating conversion and back.
        let (ok, shifted) = self.integral_in_range(x, len);
        let cont = self.b.create_block();
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(ok, cont, &[], fail, &[]);
        self.b.switch_to_block(fail);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), x, self.ws, (ERROR_SLOT * 8) as i32);
        self.sites.push(site);
        let code = self.b.ins().iconst(I64, self.sites.len() as i64);
        self.b.ins().return_(&[code]);
        self.b.switch_to_block(cont);
        let i = self.integer_of_shifted(shifted);
        self.remember(Known::CheckedIndex(x, len), i);
        Ix::V(i)
    }

    /// The i64 index `x` (an f64) that needs no check: the checker proved it
    /// an integer in `0..len` (`len > 0`) from the data's declared ranges,
    /// or it repeats an index checked before (reverse mode's re-reads).
    /// Converted as `checked_index` does, and clamped into `0..len`, so that
    /// a value outside the proof (in an op hoisted past the condition that
    /// guarded it, which never uses the result: a missed trial's NaN past
    /// `if present(k)`, -1 past `if t > 0`) still addresses the array.
    fn trusted_index(&mut self, x: Value, len: usize) -> Ix {
        if let Some(i) = self.known(Known::CheckedIndex(x, len)) {
            return Ix::V(i);
        }
        let magic = self.fconst(TWO_52);
        let shifted = self.b.ins().fadd(x, magic);
        let i = self.integer_of_shifted(shifted);
        let last = self.b.ins().iconst(I64, len as i64 - 1);
        Ix::V(self.b.ins().umin(i, last))
    }

    /// The integer `x` from `x + 2^52` (for `x` an integer in `0..2^52`):
    /// its bits less those of `2^52`.
    fn integer_of_shifted(&mut self, shifted: Value) -> Value {
        let flags = MemFlagsData::new().with_endianness(Endianness::Little);
        let bits = self.b.ins().bitcast(I64, flags, shifted);
        self.b.ins().iadd_imm_s(bits, -(TWO_52.to_bits() as i64))
    }

    /// Whether `x` is an integer in `0..len` (false for NaN), and `x + 2^52`,
    /// whose bits less those of `2^52` are then `x` as an integer.
    fn integral_in_range(&mut self, x: Value, len: usize) -> (Value, Value) {
        let zero = self.fconst(0.0);
        let top = self.fconst(len as f64);
        let magic = self.fconst(TWO_52);
        let above = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, zero);
        let below = self.b.ins().fcmp(FloatCC::LessThan, x, top);
        let shifted = self.b.ins().fadd(x, magic);
        let back = self.b.ins().fsub(shifted, magic);
        let integral = self.b.ins().fcmp(FloatCC::Equal, back, x);
        let in_range = self.b.ins().band(above, below);
        (self.b.ins().band(in_range, integral), shifted)
    }

    /// `checked_index` in lane code: each active lane's index is checked;
    /// if one fails, the pair is run again by the scalar code (`Rerun`),
    /// which reports it. An inactive lane's index (in a branch its subject
    /// does not take) is not checked but replaced by 0 when out of range, so
    /// that its loads and stores stay within its arrays.
    fn checked_lane_index(&mut self, x: Value, len: usize) -> Ix {
        if let Some(i) = self.known(Known::CheckedIndex(x, len)) {
            return Ix::L(i);
        }
        let (ok, shifted) = self.integral_in_range(x, len);
        let bad = match self.active {
            Some(taken) => self.b.ins().band_not(taken, ok),
            None => self.b.ins().bnot(ok),
        };
        let any_bad = self.b.ins().vany_true(bad);
        let cont = self.b.create_block();
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(any_bad, fail, &[], cont, &[]);
        self.b.switch_to_block(fail);
        self.rerun_scalar();
        self.b.switch_to_block(cont);
        let flags = MemFlagsData::new().with_endianness(Endianness::Little);
        let bits = self.b.ins().bitcast(I64X2, flags, shifted);
        let offset = self.b.ins().iconst(I64, TWO_52.to_bits() as i64);
        let offset = self.b.ins().splat(I64X2, offset);
        let i = self.b.ins().isub(bits, offset);
        let i = self.b.ins().band(i, ok);
        self.remember(Known::CheckedIndex(x, len), i);
        Ix::L(i)
    }

    /// Ends lane code's failing path: the scalar code runs the loop on from
    /// the pair's first subject and its status is returned.
    fn rerun_scalar(&mut self) {
        let status = match self.rerun {
            Some(r) => {
                let call = self.b.ins().call(r.scalar, &[self.ws, r.first, r.hi]);
                self.b.inst_results(call)[0]
            }
            // (Lane code is made only with its rerun: `outline`.)
            None => self.b.ins().iconst(I64, i64::MAX),
        };
        self.b.ins().return_(&[status]);
    }

    // ---- Element access -------------------------------------------------------

    /// The address of element `base + flat` of the workspace, as a pointer
    /// and an immediate byte offset. Every computation is 64-bit: a constant
    /// offset that does not fit the instruction's 32-bit immediate (a
    /// workspace over 2 GiB) is added to the pointer instead.
    fn address(&mut self, base: Ix, flat: Ix) -> (Value, i32) {
        match self.ix_add(base, flat) {
            Ix::C(k) => match immediate_offset(k) {
                Some(off) => (self.ws, off),
                None => {
                    let p = self.b.ins().iadd_imm_s(self.ws, k * 8);
                    (p, 0)
                }
            },
            Ix::V(v) => {
                let bytes = self.b.ins().ishl_imm_s(v, 3);
                (self.b.ins().iadd(self.ws, bytes), 0)
            }
            Ix::L(_) => unreachable!("lane offsets are addressed lane by lane"),
        }
    }

    /// Element `flat` of memory the lanes share at `base` (in lane code,
    /// splat, or for a base or index that differs by lane, one load each).
    fn load_shared(&mut self, base: Ix, flat: Ix) -> Value {
        match self.ix_add(base, flat) {
            Ix::L(at) => {
                let xs = [0u8, 1].map(|l| {
                    let k = self.b.ins().extractlane(at, l);
                    let bytes = self.b.ins().ishl_imm_s(k, 3);
                    let p = self.b.ins().iadd(self.ws, bytes);
                    self.b.ins().load(F64, MemFlagsData::trusted(), p, 0)
                });
                self.vector_of(F64X2, xs)
            }
            at => {
                let (p, off) = self.address(at, Ix::C(0));
                let x = self.b.ins().load(F64, MemFlagsData::trusted(), p, off);
                self.uniform(x)
            }
        }
    }

    /// The address of element `at` of a lanes' buffer (`Repr::Lanes`) for a
    /// vector access, as a pointer and an immediate byte offset.
    fn lanes_address(&mut self, at: Ix) -> (Value, i32) {
        match at {
            Ix::C(k) => match k.checked_mul(16).and_then(|b| i32::try_from(b).ok()) {
                Some(off) => (self.ws, off),
                None => (self.b.ins().iadd_imm_s(self.ws, k * 16), 0),
            },
            Ix::V(v) | Ix::L(v) => {
                let bytes = self.b.ins().ishl_imm_s(v, 4);
                (self.b.ins().iadd(self.ws, bytes), 0)
            }
        }
    }

    /// The address of lane `l`'s part of element `at` (an `i64`) of a
    /// lanes' buffer.
    fn lane_address(&mut self, at: Value, l: u8) -> Value {
        let bytes = self.b.ins().ishl_imm_s(at, 4);
        let p = self.b.ins().iadd(self.ws, bytes);
        self.b.ins().iadd_imm_s(p, 8 * i64::from(l))
    }

    /// Element `flat` of the lanes' buffer at `base`.
    fn load_lanes(&mut self, base: Ix, flat: Ix) -> Value {
        // (Unaligned: the workspace is only 8-byte aligned.)
        let flags = MemFlagsData::new().with_notrap();
        match self.ix_add(base, flat) {
            Ix::L(at) => {
                let xs = [0u8, 1].map(|l| {
                    let k = self.b.ins().extractlane(at, l);
                    let p = self.lane_address(k, l);
                    self.b.ins().load(F64, MemFlagsData::trusted(), p, 0)
                });
                self.vector_of(F64X2, xs)
            }
            at => {
                let (p, off) = self.lanes_address(at);
                self.b.ins().load(F64X2, flags, p, off)
            }
        }
    }

    /// Stores `x` as element `flat` of the lanes' buffer at `base`.
    fn store_lanes(&mut self, base: Ix, flat: Ix, x: Value) {
        let flags = MemFlagsData::new().with_notrap();
        match self.ix_add(base, flat) {
            Ix::L(at) => {
                for l in 0..2u8 {
                    let k = self.b.ins().extractlane(at, l);
                    let p = self.lane_address(k, l);
                    let xl = self.b.ins().extractlane(x, l);
                    self.b.ins().store(MemFlagsData::trusted(), xl, p, 0);
                }
            }
            at => {
                let (p, off) = self.lanes_address(at);
                self.b.ins().store(flags, x, p, off);
            }
        }
    }

    /// The mask of the lanes whose index `i` (an `i64x2`) is `j`.
    fn lanes_equal(&mut self, i: Value, j: usize) -> Value {
        let j = self.b.ins().iconst(I64, j as i64);
        let j = self.b.ins().splat(I64X2, j);
        self.b.ins().icmp(IntCC::Equal, i, j)
    }

    /// A select chain picking `elems[i]`; `i` is known to be in range.
    fn pick(&mut self, elems: &[Value], i: Value) -> Value {
        // An empty value (an axis of length 0) has no element: its index
        // check always fails, so this code never runs; any value will do.
        let Some(&first) = elems.first() else {
            return self.fconst(0.0);
        };
        let lanes = self.b.func.dfg.value_type(i).is_vector();
        let mut r = first;
        for (j, e) in elems.iter().enumerate().skip(1) {
            let c = if lanes {
                self.lanes_equal(i, j)
            } else {
                self.b.ins().icmp_imm_s(IntCC::Equal, i, j as i64)
            };
            r = self.sel(c, *e, r);
        }
        r
    }

    fn load(&mut self, r: &Repr, flat: Ix) -> Value {
        match r {
            Repr::Regs(v) => match flat {
                // Out of range only in code that never runs (see `pick`).
                Ix::C(i) => match usize::try_from(i).ok().and_then(|i| v.get(i)) {
                    Some(x) => *x,
                    None => self.fconst(0.0),
                },
                Ix::V(i) | Ix::L(i) => self.pick(v, i),
            },
            Repr::Splat(x) => *x,
            Repr::Buf(base) if self.lanes => self.load_shared(*base, flat),
            Repr::Buf(base) => {
                let (p, off) = self.address(*base, flat);
                self.b.ins().load(F64, MemFlagsData::trusted(), p, off)
            }
            Repr::Lanes(base) => self.load_lanes(*base, flat),
            Repr::Lazy(l) => match &l.op {
                LazyOp::Broadcast(axes) => {
                    let mut from = Ix::C(0);
                    for &(stride, len, source_stride) in axes {
                        let k = self.ix_div_rem(flat, stride, len);
                        let t = self.ix_mul(k, source_stride);
                        from = self.ix_add(from, t);
                    }
                    self.load(&l.args[0], from)
                }
                LazyOp::Map(op) => {
                    let xs: Vec<Value> = l.args.iter().map(|a| self.load(a, flat)).collect();
                    match *op {
                        // (`defer` made only ops that `unary` supports lazy.)
                        MapOp::Unary(u) => match self.unary(u, xs[0]) {
                            Ok(y) => y,
                            Err(_) => self.fconst(f64::NAN),
                        },
                        MapOp::Binary(op) => self.binary(op, xs[0], xs[1]),
                        MapOp::Select => {
                            let c = self.truthy(xs[0]);
                            self.sel(c, xs[1], xs[2])
                        }
                    }
                }
            },
        }
    }

    /// Stores element `flat` of a buffer this function allocated at `base`.
    fn store_buf(&mut self, base: Ix, flat: Ix, x: Value) {
        if self.lanes {
            return self.store_lanes(base, flat, x);
        }
        let (p, off) = self.address(base, flat);
        self.b.ins().store(MemFlagsData::trusted(), x, p, off);
    }

    fn regs(&mut self, r: &Repr, n: usize) -> Vec<Value> {
        match r {
            Repr::Regs(v) => v.clone(),
            Repr::Splat(x) => vec![*x; n],
            Repr::Buf(_) | Repr::Lanes(_) | Repr::Lazy(_) => {
                (0..n).map(|i| self.load(r, Ix::C(i as i64))).collect()
            }
        }
    }

    fn splat(x: Value, n: usize) -> Repr {
        if n == 1 {
            Repr::Regs(vec![x])
        } else {
            Repr::Splat(x)
        }
    }

    /// A destination for `n` elements: registers if `regs_ok` (every write
    /// happens in unrolled code) and `n` is small, else a fresh buffer.
    fn dest(&mut self, n: usize, regs_ok: bool) -> Dest {
        if regs_ok && n <= SMALL {
            let zero = self.fconst(0.0);
            Dest::Regs(vec![zero; n])
        } else {
            let off = self.alloc(n) as i64;
            self.fresh.insert(off);
            Dest::Buf(Ix::C(off))
        }
    }

    fn dest_store(&mut self, d: &mut Dest, flat: Ix, x: Value) {
        match d {
            Dest::Regs(v) => match flat {
                Ix::C(i) => {
                    if let Some(e) = usize::try_from(i).ok().and_then(|i| v.get_mut(i)) {
                        *e = x;
                    }
                }
                Ix::V(i) => {
                    for (j, e) in v.iter_mut().enumerate() {
                        let c = self.b.ins().icmp_imm_s(IntCC::Equal, i, j as i64);
                        *e = self.b.ins().select(c, x, *e);
                    }
                }
                Ix::L(i) => {
                    for (j, e) in v.iter_mut().enumerate() {
                        let c = self.lanes_equal(i, j);
                        *e = self.sel(c, x, *e);
                    }
                }
            },
            Dest::Buf(base) => self.store_buf(*base, flat, x),
        }
    }

    fn dest_load(&mut self, d: &Dest, flat: Ix) -> Value {
        match d {
            Dest::Regs(v) => self.load(&Repr::Regs(v.clone()), flat),
            Dest::Buf(base) => {
                let r = self.buffer(*base);
                self.load(&r, flat)
            }
        }
    }

    fn finish(&self, d: Dest) -> Repr {
        match d {
            Dest::Regs(v) => Repr::Regs(v),
            Dest::Buf(b) => self.buffer(b),
        }
    }

    /// Copies `n` elements of `src` into the buffer at `base`.
    fn copy_into(&mut self, src: &Repr, base: Ix, n: usize) -> Result<()> {
        self.for_each(&[n], &mut |g, idx| {
            let x = g.load(src, idx[0]);
            g.store_buf(base, idx[0], x);
            Ok(())
        })
    }

    // ---- Loops ----------------------------------------------------------------

    /// A counted loop over `0..n` (or `n-1` down to 0 when `reverse`) with
    /// `carried` f64 values as block parameters; `body` gets the index and
    /// the carried values and returns the next ones. Returns the final ones.
    fn emit_loop(
        &mut self,
        n: Ix,
        reverse: bool,
        carried: Vec<Value>,
        body: &mut LoopBody<'_, 'a, 'b>,
    ) -> Result<Vec<Value>> {
        let header = self.b.create_block();
        let body_block = self.b.create_block();
        let exit = self.b.create_block();
        let k = self.b.append_block_param(header, I64);
        let ty = self.fty();
        let params: Vec<Value> = carried
            .iter()
            .map(|_| self.b.append_block_param(header, ty))
            .collect();
        let outs: Vec<Value> = carried
            .iter()
            .map(|_| self.b.append_block_param(exit, ty))
            .collect();
        let zero = self.b.ins().iconst(I64, 0);
        let mut args = vec![BlockArg::Value(zero)];
        args.extend(carried.iter().map(|v| BlockArg::Value(*v)));
        self.b.ins().jump(header, &args);

        self.b.switch_to_block(header);
        let n_value = self.ix_value(n);
        let go = self.b.ins().icmp(IntCC::SignedLessThan, k, n_value);
        let exit_args: Vec<BlockArg> = params.iter().map(|v| BlockArg::Value(*v)).collect();
        self.b.ins().brif(go, body_block, &[], exit, &exit_args);

        self.b.switch_to_block(body_block);
        let i = if reverse {
            let last = self.b.ins().iadd_imm_s(n_value, -1);
            self.b.ins().isub(last, k)
        } else {
            k
        };
        self.cse.push(HashMap::new());
        let next = body(self, i, params);
        self.cse.pop();
        let next = next?;
        let k1 = self.b.ins().iadd_imm_s(k, 1);
        let mut args = vec![BlockArg::Value(k1)];
        args.extend(next.iter().map(|v| BlockArg::Value(*v)));
        self.b.ins().jump(header, &args);

        self.b.switch_to_block(exit);
        Ok(outs)
    }

    /// Visits every multi-index of `dims` in row-major order, threading the
    /// accumulators `acc`. The innermost axes (product at most `SMALL`) are
    /// unrolled, the others are loops.
    fn fold(
        &mut self,
        dims: &[usize],
        acc: Vec<Value>,
        f: &mut FoldBody<'_, 'a, 'b>,
    ) -> Result<Vec<Value>> {
        let mut k = dims.len();
        let mut inner = 1;
        while k > 0 && inner * dims[k - 1] <= SMALL {
            inner *= dims[k - 1];
            k -= 1;
        }
        let mut idx = Vec::with_capacity(dims.len());
        self.fold_from(dims, 0, k, &mut idx, acc, f)
    }

    fn fold_from(
        &mut self,
        dims: &[usize],
        axis: usize,
        looped: usize,
        idx: &mut Vec<Ix>,
        acc: Vec<Value>,
        f: &mut FoldBody<'_, 'a, 'b>,
    ) -> Result<Vec<Value>> {
        if axis < looped {
            return self.emit_loop(Ix::C(dims[axis] as i64), false, acc, &mut |g, i, acc| {
                idx.push(Ix::V(i));
                let r = g.fold_from(dims, axis + 1, looped, idx, acc, f);
                idx.pop();
                r
            });
        }
        let inner = &dims[looped..];
        let mut acc = acc;
        let count = product(inner);
        let st = strides(inner);
        for flat in 0..count {
            let depth = idx.len();
            for (a, s) in st.iter().enumerate() {
                idx.push(Ix::C(((flat / s) % inner[a]) as i64));
            }
            acc = f(self, idx, acc)?;
            idx.truncate(depth);
        }
        Ok(acc)
    }

    fn for_each(
        &mut self,
        dims: &[usize],
        f: &mut dyn FnMut(&mut Self, &[Ix]) -> Result<()>,
    ) -> Result<()> {
        self.fold(dims, Vec::new(), &mut |g, idx, acc| {
            f(g, idx)?;
            Ok(acc)
        })?;
        Ok(())
    }

    /// Whether `for_each` over `n` elements is fully unrolled.
    fn unrolled(n: usize) -> bool {
        n <= SMALL
    }

    // ---- Elementwise helpers --------------------------------------------------

    fn call_unary(&mut self, op: UnaryOp, x: Value) -> Result<Value> {
        if let Some(v) = self.known(Known::Call(op, x)) {
            return Ok(v);
        }
        let r = match self.lane_kernel(op, x) {
            Some(r) => r,
            // Inline, as the interpreter's `rlc_ir::elementary`.
            None if op == UnaryOp::Exp => smath::exp_f64(&mut self.b, x),
            None if op == UnaryOp::Log => smath::ln_f64(&mut self.b, x),
            None => {
                let fref = *self
                    .unary_refs
                    .get(&op)
                    .ok_or_else(|| unsupported(format!("{op:?}")))?;
                self.call_f64(fref, &[x])
            }
        };
        self.remember(Known::Call(op, x), r);
        Ok(r)
    }

    /// In lane code, `op` of both lanes at once by the vector kernels
    /// (`vmath`, within 1 ulp of the library's functions), for the special
    /// functions a trial of a learning model calls: `exp`, `log`, `log1p`,
    /// and `log1p_exp` and `logistic` in the interpreter's forms.
    fn lane_kernel(&mut self, op: UnaryOp, x: Value) -> Option<Value> {
        if !self.lanes {
            return None;
        }
        Some(match op {
            UnaryOp::Exp => vmath::exp_f64x2(&mut self.b, x),
            UnaryOp::Log => vmath::ln_f64x2(&mut self.b, x),
            UnaryOp::Log1p => vmath::log1p_f64x2(&mut self.b, x),
            UnaryOp::Log1pExp | UnaryOp::Logistic => {
                // e = exp(-|x|): exp(x) for x <= 0, exp(-x) above.
                let magnitude = self.b.ins().fabs(x);
                let minus = self.b.ins().fneg(magnitude);
                let e = vmath::exp_f64x2(&mut self.b, minus);
                let zero = self.fconst(0.0);
                if op == UnaryOp::Log1pExp {
                    // x + log1p(exp(-x)) for x > 0, else log1p(exp(x)).
                    let l = vmath::log1p_f64x2(&mut self.b, e);
                    let shifted = self.b.ins().fadd(x, l);
                    let positive = self.b.ins().fcmp(FloatCC::GreaterThan, x, zero);
                    self.sel(positive, shifted, l)
                } else {
                    // 1 / (1 + exp(-x)) for x >= 0, else exp(x) / (1 + exp(x)).
                    let one = self.fconst(1.0);
                    let total = self.b.ins().fadd(one, e);
                    let non_negative = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, zero);
                    let top = self.sel(non_negative, one, e);
                    self.b.ins().fdiv(top, total)
                }
            }
            _ => return None,
        })
    }

    /// A call of a runtime function of `f64`s returning one `f64`; in lane
    /// code one call per lane.
    fn call_f64(&mut self, fref: FuncRef, args: &[Value]) -> Value {
        if !self.lanes {
            let call = self.b.ins().call(fref, args);
            return self.b.inst_results(call)[0];
        }
        let ys = [0u8, 1].map(|l| {
            let xs: Vec<Value> = args
                .iter()
                .map(|a| self.b.ins().extractlane(*a, l))
                .collect();
            let call = self.b.ins().call(fref, &xs);
            self.b.inst_results(call)[0]
        });
        self.vector_of(F64X2, ys)
    }

    fn unary(&mut self, op: UnaryOp, x: Value) -> Result<Value> {
        Ok(match op {
            UnaryOp::Neg => self.b.ins().fneg(x),
            UnaryOp::Not => {
                let zero = self.fconst(0.0);
                let c = self.b.ins().fcmp(FloatCC::Equal, x, zero);
                self.bool_to_f64(c)
            }
            UnaryOp::Sqrt => self.b.ins().sqrt(x),
            UnaryOp::Abs => self.b.ins().fabs(x),
            _ => self.call_unary(op, x)?,
        })
    }

    /// The larger operand, NaN if either is NaN (the interpreter's `Max`).
    fn max(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmax(a, b)
    }

    /// The smaller operand, NaN if either is NaN (the interpreter's `Min`).
    fn min(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmin(a, b)
    }

    fn binary(&mut self, op: BinaryOp, a: Value, b: Value) -> Value {
        let cmp = |cc| Some(cc);
        let cc = match op {
            BinaryOp::Lt => cmp(FloatCC::LessThan),
            BinaryOp::Le => cmp(FloatCC::LessThanOrEqual),
            BinaryOp::Gt => cmp(FloatCC::GreaterThan),
            BinaryOp::Ge => cmp(FloatCC::GreaterThanOrEqual),
            BinaryOp::Eq => cmp(FloatCC::Equal),
            BinaryOp::Ne => cmp(FloatCC::NotEqual),
            _ => None,
        };
        if let Some(cc) = cc {
            let c = self.b.ins().fcmp(cc, a, b);
            return self.bool_to_f64(c);
        }
        match op {
            BinaryOp::Add => self.b.ins().fadd(a, b),
            BinaryOp::Sub => self.b.ins().fsub(a, b),
            BinaryOp::Mul => self.b.ins().fmul(a, b),
            BinaryOp::Div => self.b.ins().fdiv(a, b),
            BinaryOp::Pow => self.call_f64(self.pow_ref, &[a, b]),
            BinaryOp::Atan2 => self.call_f64(self.atan2_ref, &[a, b]),
            BinaryOp::Max => self.max(a, b),
            BinaryOp::Min => self.min(a, b),
            BinaryOp::And | BinaryOp::Or => {
                let x = self.truthy(a);
                let y = self.truthy(b);
                let c = if op == BinaryOp::And {
                    self.b.ins().band(x, y)
                } else {
                    self.b.ins().bor(x, y)
                };
                self.bool_to_f64(c)
            }
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne => unreachable!("comparisons are handled above"),
        }
    }

    /// An elementwise op of `args` (all of `n` elements).
    fn elementwise(
        &mut self,
        args: &[Repr],
        reuse: Option<Ix>,
        n: usize,
        f: &mut dyn FnMut(&mut Self, &[Value]) -> Result<Value>,
    ) -> Result<Repr> {
        if args.iter().all(|a| matches!(a, Repr::Splat(_))) {
            let xs: Vec<Value> = args.iter().map(|a| self.load(a, Ix::C(0))).collect();
            return Ok(Self::splat(f(self, &xs)?, n));
        }
        // Each element is read before it is written, so the first operand's
        // buffer can take the result when that operand dies here.
        let mut d = match reuse {
            Some(base) if n > SMALL => Dest::Buf(base),
            _ => self.dest(n, Self::unrolled(n)),
        };
        self.for_each(&[n], &mut |g, idx| {
            let xs: Vec<Value> = args.iter().map(|a| g.load(a, idx[0])).collect();
            let y = f(g, &xs)?;
            g.dest_store(&mut d, idx[0], y);
            Ok(())
        })?;
        Ok(self.finish(d))
    }

    // ---- Functions and regions ------------------------------------------------

    fn function(&mut self, data: &[&[f64]]) -> Result<Taken> {
        let f = self.f;
        if f.inputs.len() != f.body.args.len() {
            return Err(JitError::Codegen(
                "the function's inputs and arguments differ in number".into(),
            ));
        }
        if data.len() != f.inputs.len() {
            return Err(JitError::Data(format!(
                "{} data tensors given for {} inputs",
                data.len(),
                f.inputs.len()
            )));
        }
        let mut theta = None;
        let mut data_slots = Vec::new();
        let mut args = Vec::new();
        for ((input, arg), values) in f.inputs.iter().zip(&f.body.args).zip(data) {
            let n = self.len(*arg)?;
            let off = self.alloc(n);
            match input {
                Input::Theta => theta = Some((off, n)),
                Input::Data(name) => {
                    if values.len() != n {
                        return Err(JitError::Data(format!(
                            "`{name}` has {} values, its shape needs {n}",
                            values.len()
                        )));
                    }
                    data_slots.push((off, values.to_vec()));
                    self.outer.data_ranges.push((off, n));
                }
            }
            let buf = Repr::Buf(Ix::C(off as i64));
            args.push(if n <= SMALL {
                Repr::Regs(self.regs(&buf, n))
            } else {
                buf
            });
        }
        let results = self.region(&f.body, args)?;
        let mut slots = Vec::new();
        for (v, r) in f.body.results.iter().zip(&results) {
            let n = self.len(*v)?;
            let off = self.alloc(n);
            self.copy_into(r, Ix::C(off as i64), n)?;
            slots.push((off, n));
        }
        let ok = self.b.ins().iconst(I64, 0);
        self.b.ins().return_(&[ok]);
        Ok((theta, data_slots, slots))
    }

    fn region(&mut self, r: &Region, args: Vec<Repr>) -> Result<Vec<Repr>> {
        for (a, rep) in r.args.iter().zip(args) {
            self.set(*a, rep);
        }
        let mut last_use = HashMap::new();
        for (j, op) in r.ops.iter().enumerate() {
            for a in &op.args {
                last_use.insert(*a, j);
            }
        }
        for v in &r.results {
            last_use.insert(*v, r.ops.len());
        }
        let outer_dying = std::mem::take(&mut self.dying);
        let results = self.region_from(r, 0, &last_use);
        self.dying = outer_dying;
        results
    }

    /// Emits the ops of `r` from the `from`-th on, and gives its results.
    fn region_from(
        &mut self,
        r: &Region,
        from: usize,
        last_use: &HashMap<ValueId, usize>,
    ) -> Result<Vec<Repr>> {
        for (j, op) in r.ops.iter().enumerate().skip(from) {
            self.dying = op
                .args
                .iter()
                .filter(|a| last_use.get(*a) == Some(&j))
                .copied()
                .collect();
            if self.dead.contains(&(op as *const Op)) {
                continue;
            }
            if let Some((index, len)) = self.split_index(r, j)? {
                return self.split_on_index(r, j, last_use, index, len);
            }
            self.op(op)?;
        }
        self.region_results(r)
    }

    /// The results of region `r`, its ops emitted.
    fn region_results(&mut self, r: &Region) -> Result<Vec<Repr>> {
        // A result no one needs (its op was not emitted) is any value: zero.
        let unneeded: HashSet<ValueId> = r
            .ops
            .iter()
            .filter(|op| self.dead.contains(&(*op as *const Op)))
            .flat_map(|op| op.results.iter().copied())
            .collect();
        r.results
            .iter()
            .map(|v| {
                if unneeded.contains(v) {
                    let zero = self.fconst(0.0);
                    Ok(Self::splat(zero, self.len(*v)?))
                } else {
                    self.get(*v)
                }
            })
            .collect()
    }

    /// Whether to emit the rest of region `r`, from its `j`-th op on, once
    /// for each value of a trusted index that op takes (`split_on_index`):
    /// the op picks or writes an element of a short array held in
    /// registers, by an index the checker proved in range (a trial's choice
    /// among 2 to 4 options), and the rest of the region uses the index
    /// again and is short and straight (no loop, no branch).
    fn split_index(&mut self, r: &Region, j: usize) -> Result<Option<(ValueId, usize)>> {
        let op = &r.ops[j];
        if self.lanes || self.split_width >= MAX_SPLIT_WIDTH {
            return Ok(None);
        }
        let (plan, first_dynamic) = match &op.kind {
            OpKind::Index { plan } => (plan, 1),
            OpKind::IndexSet { plan } => (plan, 2),
            OpKind::IndexInc { plan } if !self.outer.one_hot_ops.contains(&(op as *const Op)) => {
                (plan, 2)
            }
            _ => return Ok(None),
        };
        let Some(&base) = op.args.first() else {
            return Ok(None);
        };
        if !matches!(self.get(base)?, Repr::Regs(_)) {
            return Ok(None);
        }
        let shape = self.shape(base)?;
        let mut next = first_dynamic;
        let mut found = None;
        for (a, axis) in plan.iter().enumerate() {
            match axis {
                AxisIndex::Scalar {
                    constant: None,
                    needs_bounds_check,
                } => {
                    let Some(&v) = op.args.get(next) else {
                        return Ok(None);
                    };
                    next += 1;
                    let len = shape.get(a).copied().unwrap_or(0);
                    if !*needs_bounds_check
                        && (2..=MAX_SPLIT_LEN).contains(&len)
                        && !self.pinned.contains_key(&v)
                        && self.split_width * len <= MAX_SPLIT_WIDTH
                    {
                        found = Some((v, len));
                        break;
                    }
                }
                AxisIndex::Gather { .. } => next += 1,
                _ => {}
            }
        }
        let Some((index, _)) = found else {
            return Ok(None);
        };
        // Worth it where the index picks or writes at least twice more and
        // the copies stay small and straight: measured, a split lost 11-22%
        // on hBayesDM ports whose rest used the index once (`ts_par4`'s
        // second-stage choice), ran 230 ops (`choiceRT_lba`) or held
        // branches (`igt_orl`), where it gained 9-47% on the bandit models.
        let rest = &r.ops[j..];
        let uses = rest
            .iter()
            .filter(|o| {
                let first = match o.kind {
                    OpKind::Index { .. } => 1,
                    OpKind::IndexSet { .. } | OpKind::IndexInc { .. } => 2,
                    _ => return false,
                };
                o.args.iter().skip(first).any(|a| *a == index)
            })
            .count();
        let (ops, branches) = count_ops(rest);
        if uses < 2 || ops > MAX_SPLIT_OPS || branches > 0 || rest.iter().any(runs_a_loop) {
            return Ok(None);
        }
        Ok(found)
    }

    /// Emits the rest of region `r` (from its `j`-th op) once for each value
    /// `0..len` of the trusted index `index`, behind one branch on it, each
    /// copy with the index a constant: its picks and writes of register
    /// arrays are then plain moves, where one index known only at run time
    /// costs a compare and a branch per element at each of them (about a
    /// fifth of a two-option trial's instructions). The branch is as
    /// predictable as the choices; the selects were no better.
    fn split_on_index(
        &mut self,
        r: &Region,
        j: usize,
        last_use: &HashMap<ValueId, usize>,
        index: ValueId,
        len: usize,
    ) -> Result<Vec<Repr>> {
        let op = &r.ops[j];
        let at = op.args.iter().position(|a| *a == index).unwrap_or(0);
        let x = self.scalar(op, at)?;
        let Ix::V(i) = self.trusted_index(x, len) else {
            return Err(JitError::Codegen("a split on a constant index".into()));
        };
        let lens = r
            .results
            .iter()
            .map(|v| self.len(*v))
            .collect::<Result<Vec<_>>>()?;
        let merge = self.merge_block(&lens);
        let blocks: Vec<_> = (0..len).map(|_| self.b.create_block()).collect();
        for (k, block) in blocks.iter().enumerate().take(len - 1) {
            let is_k = self.b.ins().icmp_imm_s(IntCC::Equal, i, k as i64);
            if k + 2 == len {
                self.b.ins().brif(is_k, *block, &[], blocks[len - 1], &[]);
            } else {
                let next = self.b.create_block();
                self.b.ins().brif(is_k, *block, &[], next, &[]);
                self.b.switch_to_block(next);
            }
        }
        self.split_width *= len;
        let emitted = self.emit_copies(r, j, last_use, index, &blocks, &merge);
        self.split_width /= len;
        emitted?;
        self.b.switch_to_block(merge.block);
        Ok(unpack(&merge.outs, &lens, &merge.params, false))
    }

    /// The copies of `split_on_index`, the `k`-th in `blocks[k]` with the
    /// index pinned to `k`, each from the state at the split.
    fn emit_copies(
        &mut self,
        r: &Region,
        j: usize,
        last_use: &HashMap<ValueId, usize>,
        index: ValueId,
        blocks: &[Block],
        merge: &Merge,
    ) -> Result<()> {
        let saved = (
            self.reprs.clone(),
            self.lse.clone(),
            self.softmaxes.clone(),
            self.fresh.clone(),
            self.owner.clone(),
        );
        for (k, block) in blocks.iter().enumerate() {
            self.b.switch_to_block(*block);
            (self.reprs, self.lse, self.softmaxes, self.fresh, self.owner) = saved.clone();
            self.last_lse = None;
            self.cse.push(HashMap::new());
            self.pinned.insert(index, k as i64);
            let results = self.region_from(r, j, last_use);
            self.pinned.remove(&index);
            self.cse.pop();
            self.jump_to_merge(merge, &results?)?;
        }
        Ok(())
    }

    /// A block joining branches that each give results of lengths `lens`:
    /// short ones as its parameters, long ones in buffers each branch
    /// writes.
    fn merge_block(&mut self, lens: &[usize]) -> Merge {
        let outs: Vec<Option<Ix>> = lens
            .iter()
            .map(|&n| (n > SMALL).then(|| Ix::C(self.alloc(n) as i64)))
            .collect();
        let block = self.b.create_block();
        let mut params = Vec::new();
        for (o, n) in outs.iter().zip(lens) {
            if o.is_none() {
                for _ in 0..*n {
                    params.push(self.b.append_block_param(block, F64));
                }
            }
        }
        Merge {
            block,
            outs,
            lens: lens.to_vec(),
            params,
        }
    }

    /// Ends a branch of `merge` with its `results`.
    fn jump_to_merge(&mut self, merge: &Merge, results: &[Repr]) -> Result<()> {
        let mut args = Vec::new();
        for ((o, n), r) in merge.outs.iter().zip(&merge.lens).zip(results) {
            match o {
                None => args.extend(self.regs(r, *n).into_iter().map(BlockArg::Value)),
                Some(off) => self.copy_into(r, *off, *n)?,
            }
        }
        self.b.ins().jump(merge.block, &args);
        Ok(())
    }

    fn arg(&self, op: &Op, i: usize) -> Result<Repr> {
        let v = op
            .args
            .get(i)
            .ok_or_else(|| JitError::Codegen(format!("{:?} lacks operand {i}", op.kind)))?;
        self.get(*v)
    }

    fn result(op: &Op, i: usize) -> Result<ValueId> {
        op.results
            .get(i)
            .copied()
            .ok_or_else(|| JitError::Codegen(format!("{:?} lacks result {i}", op.kind)))
    }

    fn scalar(&mut self, op: &Op, i: usize) -> Result<Value> {
        let r = self.arg(op, i)?;
        Ok(self.load(&r, Ix::C(0)))
    }

    fn op(&mut self, op: &Op) -> Result<()> {
        let res = Self::result(op, 0);
        match &op.kind {
            // Simulation runs on the interpreter, which owns the random source.
            OpKind::Random { .. } => return Err(unsupported("random draws")),
            OpKind::Const(c) => {
                let res = res?;
                let n = self.len(res)?;
                let x = self.fconst(*c);
                self.set(res, Self::splat(x, n));
            }
            OpKind::SizeOf(d) => {
                let res = res?;
                let v = d
                    .eval(self.sizes)
                    .ok_or_else(|| JitError::Size(format!("the size `{d}` is not given")))?;
                let x = self.fconst(v as f64);
                self.set(res, Repr::Regs(vec![x]));
            }
            OpKind::Iota => {
                let res = res?;
                let n = self.len(res)?;
                let mut d = self.dest(n, Self::unrolled(n));
                self.for_each(&[n], &mut |g, idx| {
                    let x = g.ix_to_f64(idx[0]);
                    g.dest_store(&mut d, idx[0], x);
                    Ok(())
                })?;
                self.set(res, self.finish(d));
            }
            OpKind::Fill => {
                let res = res?;
                let n = self.len(res)?;
                let x = self.scalar(op, 0)?;
                self.set(res, Self::splat(x, n));
            }
            OpKind::BroadcastTo if self.defer(op)? => {}
            OpKind::BroadcastTo => self.broadcast(op)?,
            OpKind::SumTo => self.sum_to(op)?,
            OpKind::Reshape | OpKind::Cast => {
                let src = self.arg(op, 0)?;
                self.disown(op.args[0]);
                self.set(res?, src);
            }
            OpKind::Transpose => {
                let res = res?;
                let src = self.arg(op, 0)?;
                let s = self.shape(op.args[0])?;
                if s.len() != 2 {
                    return Err(unsupported("transpose of a non-matrix"));
                }
                let n = s[0] * s[1];
                let mut d = self.dest(n, Self::unrolled(n));
                let cols = s[1];
                let rows = s[0];
                self.for_each(&[cols, rows], &mut |g, idx| {
                    let from = g.linear(&[idx[1], idx[0]], &[cols, 1]);
                    let x = g.load(&src, from);
                    let to = g.linear(idx, &[rows, 1]);
                    g.dest_store(&mut d, to, x);
                    Ok(())
                })?;
                self.set(res, self.finish(d));
            }
            OpKind::Concat { axis } => self.concat(op, *axis)?,
            OpKind::Unary(UnaryOp::Exp) if self.softmax_from_lse(op)? => {}
            OpKind::Unary(UnaryOp::Exp) if self.row_softmax_from_lse(op)? => {}
            OpKind::Binary(BinaryOp::Div) if self.normalized_softmax(op)? => {}
            OpKind::Binary(BinaryOp::Div) if self.outer.skipped.contains(&(op as *const Op)) => {
                return Err(JitError::Codegen(MISPREDICTED.into()));
            }
            OpKind::Unary(_) | OpKind::Binary(_) | OpKind::Select if self.defer(op)? => {}
            OpKind::Unary(u) => {
                let res = res?;
                let n = self.len(res)?;
                let a = self.arg(op, 0)?;
                let u = *u;
                let reuse = self.reusable(op, 0);
                let r = self.elementwise(&[a], reuse, n, &mut |g, xs| g.unary(u, xs[0]))?;
                self.set(res, r);
            }
            OpKind::Binary(bop) => {
                let res = res?;
                let n = self.len(res)?;
                let a = self.arg(op, 0)?;
                let b = self.arg(op, 1)?;
                let bop = *bop;
                let reuse = self.reusable(op, 0).or_else(|| self.reusable(op, 1));
                let r = self.elementwise(&[a, b], reuse, n, &mut |g, xs| {
                    Ok(g.binary(bop, xs[0], xs[1]))
                })?;
                self.set(res, r);
            }
            OpKind::Select => {
                let res = res?;
                let n = self.len(res)?;
                let args = vec![self.arg(op, 0)?, self.arg(op, 1)?, self.arg(op, 2)?];
                let r = self.elementwise(&args, None, n, &mut |g, xs| {
                    let c = g.truthy(xs[0]);
                    Ok(g.sel(c, xs[1], xs[2]))
                })?;
                self.set(res, r);
            }
            OpKind::Special(s) => self.special(op, *s)?,
            OpKind::IsPresent => {
                let res = res?;
                let n = self.len(res)?;
                let a = self.arg(op, 0)?;
                let r = self.elementwise(&[a], None, n, &mut |g, xs| {
                    let c = g.b.ins().fcmp(FloatCC::Ordered, xs[0], xs[0]);
                    Ok(g.bool_to_f64(c))
                })?;
                self.set(res, r);
            }
            OpKind::Reduce { op: rop, axis } => self.reduce(op, *rop, *axis)?,
            OpKind::Matmul => self.matmul(op)?,
            OpKind::Index { plan } => self.index(op, plan)?,
            OpKind::IndexSet { plan } => self.index_update(op, plan, false)?,
            OpKind::IndexInc { .. } if self.outer.one_hot_ops.contains(&(op as *const Op)) => {
                // The loop adds the part to the iteration's own row.
                let part = self.arg(op, 1)?;
                self.set(res?, part);
            }
            OpKind::IndexInc { plan } => self.index_update(op, plan, true)?,
            OpKind::ThetaSlice { offset } => {
                let res = res?;
                let n = self.len(res)?;
                let off = self.dim(offset)?;
                let theta_len = self.len(op.args[0])?;
                if off + n > theta_len {
                    return Err(JitError::Codegen(format!(
                        "theta slice {off}..{} beyond theta's {theta_len} coordinates",
                        off + n
                    )));
                }
                let theta = self.arg(op, 0)?;
                let r = match theta {
                    Repr::Buf(base) if n > SMALL => Repr::Buf(self.ix_add(base, Ix::C(off as i64))),
                    t => Repr::Regs(
                        (0..n)
                            .map(|i| self.load(&t, Ix::C((off + i) as i64)))
                            .collect(),
                    ),
                };
                self.set(res, r);
            }
            OpKind::Scan {
                body,
                carries,
                sequences,
                reverse,
            } => self.scan(op, body, *carries, *sequences, *reverse)?,
            OpKind::For { body } if self.outer.outlined.contains(&(op as *const Op)) => {
                self.parallel_for(op, body)?
            }
            OpKind::For { body } => self.for_loop(op, body)?,
            OpKind::If {
                then_region,
                else_region,
            } => self.branch(op, then_region, else_region)?,
        }
        Ok(())
    }

    /// Makes an elementwise op's result `Lazy` when `fusable_values` allows it
    /// and some operand is an array (an op of splats is one scalar op).
    /// Returns whether it did.
    fn defer(&mut self, op: &Op) -> Result<bool> {
        let res = Self::result(op, 0)?;
        if !self.fusable.contains(&res) {
            return Ok(false);
        }
        let lazy_op = match op.kind {
            OpKind::Unary(u) => {
                let supported = matches!(
                    u,
                    UnaryOp::Neg | UnaryOp::Not | UnaryOp::Sqrt | UnaryOp::Abs
                ) || self.unary_refs.contains_key(&u);
                if !supported {
                    return Ok(false);
                }
                LazyOp::Map(MapOp::Unary(u))
            }
            OpKind::Binary(b) => LazyOp::Map(MapOp::Binary(b)),
            OpKind::Select => LazyOp::Map(MapOp::Select),
            OpKind::BroadcastTo => {
                let s = self.shape(op.args[0])?;
                let r = self.shape(res)?;
                if s == r || product(&s) == 1 || s.len() > r.len() {
                    return Ok(false);
                }
                let (lead, ss, rs) = (r.len() - s.len(), strides(&s), strides(&r));
                LazyOp::Broadcast(
                    (0..s.len())
                        .filter(|a| s[*a] != 1)
                        .map(|a| (rs[lead + a], r[lead + a], ss[a]))
                        .collect(),
                )
            }
            _ => return Ok(false),
        };
        let args = (0..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<Repr>>>()?;
        if args.iter().all(|a| matches!(a, Repr::Splat(_))) {
            return Ok(false);
        }
        let depth = 1 + args
            .iter()
            .map(|a| match a {
                Repr::Lazy(l) => l.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_FUSED {
            return Ok(false);
        }
        // The operands are read later, where the consumer runs: no op in
        // between may overwrite their buffers in place.
        for a in &op.args {
            self.disown(*a);
        }
        self.set(
            res,
            Repr::Lazy(Rc::new(Lazy {
                op: lazy_op,
                args,
                depth,
            })),
        );
        Ok(true)
    }

    // ---- Shape ops ------------------------------------------------------------

    fn broadcast(&mut self, op: &Op) -> Result<()> {
        let res = Self::result(op, 0)?;
        let src = self.arg(op, 0)?;
        let s = self.shape(op.args[0])?;
        let r = self.shape(res)?;
        let n = product(&r);
        if s == r {
            self.disown(op.args[0]);
            self.set(res, src);
            return Ok(());
        }
        if product(&s) == 1 || matches!(src, Repr::Splat(_)) {
            let x = self.load(&src, Ix::C(0));
            self.set(res, Self::splat(x, n));
            return Ok(());
        }
        if s.len() > r.len() {
            return Err(JitError::Codegen("broadcast to a lower rank".into()));
        }
        let lead = r.len() - s.len();
        let ss = strides(&s);
        let mut d = self.dest(n, Self::unrolled(n));
        let rs = strides(&r);
        self.for_each(&r, &mut |g, idx| {
            let mut from = Ix::C(0);
            for a in 0..s.len() {
                if s[a] != 1 {
                    let t = g.ix_mul(idx[lead + a], ss[a]);
                    from = g.ix_add(from, t);
                }
            }
            let x = g.load(&src, from);
            let to = g.linear(idx, &rs);
            g.dest_store(&mut d, to, x);
            Ok(())
        })?;
        self.set(res, self.finish(d));
        Ok(())
    }

    fn sum_to(&mut self, op: &Op) -> Result<()> {
        let res = Self::result(op, 0)?;
        let src = self.arg(op, 0)?;
        let s = self.shape(op.args[0])?;
        let r = self.shape(res)?;
        if s == r {
            self.disown(op.args[0]);
            self.set(res, src);
            return Ok(());
        }
        if r.len() > s.len() {
            return Err(JitError::Codegen("sum_to a higher rank".into()));
        }
        let lead = s.len() - r.len();
        let ss = strides(&s);
        // Source axes summed over, and the source axis of each result axis
        // (None where the result's axis has length 1 and is summed).
        let mut summed = Vec::new();
        let mut kept = Vec::new();
        for a in 0..s.len() {
            if a < lead || (r[a - lead] == 1 && s[a] != 1) {
                summed.push(a);
                if a >= lead {
                    kept.push(None);
                }
            } else {
                kept.push(Some(a));
            }
        }
        let sum_dims: Vec<usize> = summed.iter().map(|a| s[*a]).collect();
        let n = product(&r);
        let mut d = self.dest(n, Self::unrolled(n));
        let rs = strides(&r);
        self.for_each(&r, &mut |g, idx| {
            let mut base = Ix::C(0);
            for (ra, k) in kept.iter().enumerate() {
                if let Some(a) = k {
                    let t = g.ix_mul(idx[ra], ss[*a]);
                    base = g.ix_add(base, t);
                }
            }
            let zero = g.fconst(0.0);
            let total = g.fold(&sum_dims, vec![zero], &mut |g, sidx, acc| {
                let mut from = base;
                for (j, a) in summed.iter().enumerate() {
                    let t = g.ix_mul(sidx[j], ss[*a]);
                    from = g.ix_add(from, t);
                }
                let x = g.load(&src, from);
                Ok(vec![g.b.ins().fadd(acc[0], x)])
            })?;
            let to = g.linear(idx, &rs);
            g.dest_store(&mut d, to, total[0]);
            Ok(())
        })?;
        self.set(res, self.finish(d));
        Ok(())
    }

    /// An elementwise special function: per element, one call per result
    /// (the runtime computes the element once for all of them).
    fn special(&mut self, op: &Op, s: SpecialFn) -> Result<()> {
        let first = Self::result(op, 0)?;
        let n = self.len(first)?;
        let args = (0..s.arity())
            .map(|i| self.arg(op, i))
            .collect::<Result<Vec<_>>>()?;
        let refs = (0..s.results())
            .map(|k| {
                self.special_refs
                    .get(&(s, k))
                    .copied()
                    .ok_or_else(|| unsupported(format!("{s:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut dests: Vec<Dest> = (0..s.results())
            .map(|_| self.dest(n, Self::unrolled(n)))
            .collect();
        self.for_each(&[n], &mut |g, idx| {
            let xs: Vec<Value> = args.iter().map(|a| g.load(a, idx[0])).collect();
            for (d, fref) in dests.iter_mut().zip(&refs) {
                let y = g.call_f64(*fref, &xs);
                g.dest_store(d, idx[0], y);
            }
            Ok(())
        })?;
        for (k, d) in dests.into_iter().enumerate() {
            let res = Self::result(op, k)?;
            self.set(res, self.finish(d));
        }
        Ok(())
    }

    fn concat(&mut self, op: &Op, axis: usize) -> Result<()> {
        let res = Self::result(op, 0)?;
        let r = self.shape(res)?;
        let n = product(&r);
        let rs = strides(&r);
        let mut d = self.dest(n, Self::unrolled(n));
        let mut offset = 0;
        for (i, v) in op.args.iter().enumerate() {
            let s = self.shape(*v)?;
            let src = self.arg(op, i)?;
            let ss = strides(&s);
            let off = offset;
            self.for_each(&s, &mut |g, idx| {
                let from = g.linear(idx, &ss);
                let x = g.load(&src, from);
                let mut to_idx = idx.to_vec();
                to_idx[axis] = g.ix_add(idx[axis], Ix::C(off as i64));
                let to = g.linear(&to_idx, &rs);
                g.dest_store(&mut d, to, x);
                Ok(())
            })?;
            offset += s.get(axis).copied().unwrap_or(0);
        }
        self.set(res, self.finish(d));
        Ok(())
    }

    /// The softmax of a short vector from its log-sum-exp's pieces: where the
    /// maximum is `finite`, each `term / total` (`fast` gives them); else the
    /// general `exp(x_i)` of `a - lse` (`slow` loads the `x_i`, in a cold block).
    fn softmax_or_exp(
        &mut self,
        n: usize,
        finite: Value,
        fast: &mut dyn FnMut(&mut Self) -> (Vec<Value>, Value),
        slow: &mut dyn FnMut(&mut Self) -> Vec<Value>,
    ) -> Vec<Value> {
        if self.lanes {
            return self.softmax_or_exp_lanes(n, finite, fast, slow);
        }
        let fast_block = self.b.create_block();
        let slow_block = self.b.create_block();
        let join = self.b.create_block();
        let results = (0..n)
            .map(|_| self.b.append_block_param(join, F64))
            .collect();
        self.b.set_cold_block(slow_block);
        self.b.ins().brif(finite, fast_block, &[], slow_block, &[]);

        self.b.switch_to_block(slow_block);
        let xs = slow(self);
        let args: Vec<BlockArg> = xs
            .into_iter()
            .map(|x| {
                let call = self.b.ins().call(self.unary_refs[&UnaryOp::Exp], &[x]);
                BlockArg::Value(self.b.inst_results(call)[0])
            })
            .collect();
        self.b.ins().jump(join, &args);

        self.b.switch_to_block(fast_block);
        let (terms, total) = fast(self);
        let args: Vec<BlockArg> = terms
            .iter()
            .map(|t| BlockArg::Value(self.b.ins().fdiv(*t, total)))
            .collect();
        self.b.ins().jump(join, &args);

        self.b.switch_to_block(join);
        results
    }

    /// `softmax_or_exp` in lane code: the fast results, and where a lane's
    /// maximum is not finite (in a cold block) that lane's general ones.
    fn softmax_or_exp_lanes(
        &mut self,
        n: usize,
        finite: Value,
        fast: &mut dyn FnMut(&mut Self) -> (Vec<Value>, Value),
        slow: &mut dyn FnMut(&mut Self) -> Vec<Value>,
    ) -> Vec<Value> {
        let (terms, total) = fast(self);
        let quick: Vec<Value> = terms.iter().map(|t| self.b.ins().fdiv(*t, total)).collect();
        let slow_block = self.b.create_block();
        let join = self.b.create_block();
        let results = (0..n)
            .map(|_| self.b.append_block_param(join, F64X2))
            .collect();
        self.b.set_cold_block(slow_block);
        let all_finite = self.b.ins().vall_true(finite);
        let args: Vec<BlockArg> = quick.iter().map(|x| BlockArg::Value(*x)).collect();
        self.b.ins().brif(all_finite, join, &args, slow_block, &[]);

        self.b.switch_to_block(slow_block);
        let xs = slow(self);
        let mut args = Vec::new();
        for (x, q) in xs.into_iter().zip(&quick) {
            let e = self
                .call_unary(UnaryOp::Exp, x)
                .unwrap_or_else(|_| self.fconst(f64::NAN));
            args.push(BlockArg::Value(self.sel(finite, *q, e)));
        }
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(join);
        results
    }

    /// `exp(a - broadcast(logsumexp(a)))` of a short vector `a` (the softmax
    /// that reverse mode makes of a log-sum-exp) from the log-sum-exp's own
    /// terms: `exp(a[i] - m) / total`, no `exp` (for two values,
    /// `1 / (1 + e)` and `e / (1 + e)`). The results differ from the
    /// interpreter's `exp(a[i] - lse)` by a few ulps. Non-finite maxima take
    /// the general path. Returns whether it applied.
    fn softmax_from_lse(&mut self, op: &Op) -> Result<bool> {
        let res = Self::result(op, 0)?;
        let x = op.args[0];
        let Some((a, l)) = softmax_operands(op, &self.defs, &|v| self.shape(v))? else {
            return Ok(false);
        };
        let lse = match self.lse.get(&l) {
            Some((src, lse)) if *src == a && self.len(l)? == 1 => lse.clone(),
            _ => return Ok(false),
        };
        let n = lse.terms.len();
        if self.len(x)? != n {
            return Ok(false);
        }
        let xs = self.get(x)?;
        let results = self.softmax_or_exp(
            n,
            lse.finite,
            &mut |_| (lse.terms.clone(), lse.total),
            &mut |g| (0..n).map(|i| g.load(&xs, Ix::C(i as i64))).collect(),
        );
        self.set(res, Repr::Regs(results));
        self.softmaxes.insert(res, None);
        Ok(true)
    }

    /// `w / broadcast(sum(w))` where `w` is a softmax made from a
    /// log-sum-exp's terms (reverse mode's normalization of the log-sum-exp's
    /// adjoint): `w` already sums to 1 (to a few ulps), so the division is
    /// skipped. Returns whether it applied.
    fn normalized_softmax(&mut self, op: &Op) -> Result<bool> {
        let (w, mut total) = (op.args[0], op.args[1]);
        let Some(&axis) = self.softmaxes.get(&w) else {
            return Ok(false);
        };
        while let Some(d) = self.defs.get(&total) {
            if matches!(d.kind, OpKind::BroadcastTo | OpKind::Reshape) {
                total = d.args[0];
            } else {
                break;
            }
        }
        // Reverse mode divides only by a finite sum, `select(t - t == 0, t, 1)`:
        // the sum of `terms / total` is finite (about 1) exactly when the
        // log-sum-exp is, and otherwise this softmax is the unnormalized
        // `exp(a - l)`, which the guard leaves undivided too.
        if let Some(t) = finite_or_one(total, &self.defs) {
            total = t;
        }
        let sums_w = self.defs.get(&total).is_some_and(|d| {
            d.args.first() == Some(&w)
                && match d.kind {
                    OpKind::Reduce {
                        op: ReduceOp::Sum,
                        axis: a,
                    } => a == axis || (axis.is_none() && a == Some(0)),
                    _ => false,
                }
        });
        if !sums_w || self.shape(op.args[0])? != self.shape(Self::result(op, 0)?)? {
            return Ok(false);
        }
        let r = self.get(w)?;
        self.set(Self::result(op, 0)?, r);
        Ok(true)
    }

    /// `exp(a - broadcast(logsumexp(a, axis=1)))` of a matrix of short rows,
    /// row by row from the terms the log-sum-exp kept (`RowLse`): as
    /// `softmax_from_lse` does for one vector. Returns whether it applied.
    fn row_softmax_from_lse(&mut self, op: &Op) -> Result<bool> {
        let res = Self::result(op, 0)?;
        let x = op.args[0];
        let Some((a, l)) = row_softmax_operands(op, &self.defs, &|v| self.shape(v))? else {
            return Ok(false);
        };
        let rows = match self.row_lse.get(&l) {
            Some(r) if r.src == a && self.shape(x)? == [r.rows, r.len] => *r,
            _ => return Ok(false),
        };
        let xs = self.get(x)?;
        let len = rows.len;
        let mut d = self.dest(rows.rows * len, false);
        self.for_each(&[rows.rows], &mut |g, idx| {
            let base = g.ix_mul(idx[0], len);
            let at = |g: &mut Self, j: usize| g.ix_add(base, Ix::C(j as i64));
            let finite = g.load(&g.buffer(Ix::C(rows.finite)), idx[0]);
            let finite = g.truthy(finite);
            let results = g.softmax_or_exp(
                len,
                finite,
                &mut |g| {
                    let terms = (0..len)
                        .map(|j| {
                            let k = at(g, j);
                            g.load(&g.buffer(Ix::C(rows.terms)), k)
                        })
                        .collect();
                    (terms, g.load(&g.buffer(Ix::C(rows.totals)), idx[0]))
                },
                &mut |g| {
                    (0..len)
                        .map(|j| {
                            let k = at(g, j);
                            g.load(&xs, k)
                        })
                        .collect()
                },
            );
            for (j, r) in results.iter().enumerate() {
                let at = g.ix_add(base, Ix::C(j as i64));
                g.dest_store(&mut d, at, *r);
            }
            Ok(())
        })?;
        self.set(res, self.finish(d));
        self.softmaxes.insert(res, Some(1));
        Ok(true)
    }

    fn reduce(&mut self, op: &Op, rop: ReduceOp, axis: Option<usize>) -> Result<()> {
        let res = Self::result(op, 0)?;
        let src = self.arg(op, 0)?;
        let s = self.shape(op.args[0])?;
        let ss = strides(&s);
        let (outer, along, stride): (Vec<usize>, usize, usize) = match axis {
            None => (Vec::new(), product(&s), 1),
            Some(a) if a < s.len() => {
                let mut o = s.clone();
                o.remove(a);
                (o, s[a], ss[a])
            }
            Some(a) => return Err(JitError::Codegen(format!("reduce over axis {a}"))),
        };
        // Source strides of the kept axes.
        let outer_strides: Vec<usize> = match axis {
            None => Vec::new(),
            Some(a) => ss
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != a)
                .map(|(_, s)| *s)
                .collect(),
        };
        let n = product(&outer);
        let os = strides(&outer);
        let mut d = self.dest(n, Self::unrolled(n));
        self.last_lse = None;
        let keep_rows = (self.row_lse_wanted.contains(&res)
            && rop == ReduceOp::LogSumExp
            && axis == Some(1)
            && s.len() == 2
            && (2..=SMALL).contains(&along))
        .then(|| RowLse {
            src: op.args[0],
            rows: n,
            len: along,
            terms: self.alloc(n * along) as i64,
            totals: self.alloc(n) as i64,
            finite: self.alloc(n) as i64,
        });
        self.for_each(&outer, &mut |g, idx| {
            let base = g.linear(idx, &outer_strides);
            let y = g.reduce_run(&src, base, along, stride, rop)?;
            let to = g.linear(idx, &os);
            g.dest_store(&mut d, to, y);
            // (Only then: a single vector's log-sum-exp keeps its terms in
            // `last_lse` for `softmax_from_lse`.)
            if let Some(rows) = &keep_rows {
                if let Some(lse) = g.last_lse.take() {
                    for (j, t) in lse.terms.iter().enumerate() {
                        let at = g.ix_add(base, Ix::C(j as i64));
                        g.store_buf(Ix::C(rows.terms), at, *t);
                    }
                    g.store_buf(Ix::C(rows.totals), to, lse.total);
                    let finite = g.bool_to_f64(lse.finite);
                    g.store_buf(Ix::C(rows.finite), to, finite);
                }
            }
            Ok(())
        })?;
        self.set(res, self.finish(d));
        if let Some(rows) = keep_rows {
            self.row_lse.insert(res, rows);
        }
        if let Some(lse) = self.last_lse.take() {
            if rop == ReduceOp::LogSumExp && n == 1 && stride == 1 {
                self.lse.insert(res, (op.args[0], lse));
            }
        }
        Ok(())
    }

    /// Reduces the `len` elements of `src` at `base + k * stride`.
    fn reduce_run(
        &mut self,
        src: &Repr,
        base: Ix,
        len: usize,
        stride: usize,
        rop: ReduceOp,
    ) -> Result<Value> {
        let element = |g: &mut Self, k: Ix| {
            let t = g.ix_mul(k, stride);
            let at = g.ix_add(base, t);
            g.load(src, at)
        };
        let simple = |g: &mut Self, init: f64, rop: ReduceOp| -> Result<Value> {
            // A maximum or minimum starts from the first element: `fmax(-inf,
            // x)` is `x` (NaN included), and Cranelift's NaN-exact `fmax` is
            // a dozen instructions on x86.
            let (init, first) = match rop {
                ReduceOp::Max | ReduceOp::Min if len > 0 => (element(g, Ix::C(0)), 1),
                _ => (g.fconst(init), 0),
            };
            let r = g.fold(&[len - first], vec![init], &mut |g, idx, acc| {
                let at = g.ix_add(idx[0], Ix::C(first as i64));
                let x = element(g, at);
                Ok(vec![match rop {
                    ReduceOp::Sum => g.b.ins().fadd(acc[0], x),
                    ReduceOp::Prod => g.b.ins().fmul(acc[0], x),
                    ReduceOp::Max => g.max(acc[0], x),
                    _ => g.min(acc[0], x),
                }])
            })?;
            Ok(r[0])
        };
        match rop {
            ReduceOp::Sum => simple(self, 0.0, rop),
            ReduceOp::Prod => simple(self, 1.0, rop),
            ReduceOp::Max => simple(self, f64::NEG_INFINITY, rop),
            ReduceOp::Min => simple(self, f64::INFINITY, rop),
            ReduceOp::LogSumExp if len == 2 && !self.lanes => {
                let a = element(self, Ix::C(0));
                let b = element(self, Ix::C(1));
                let lse = smath::log_sum_exp_2(&mut self.b, a, b);
                let one = self.fconst(1.0);
                // a1 is the maximum when a0 < a1 (on a tie both terms are 1).
                let terms = vec![
                    self.sel(lse.first_low, lse.smaller, one),
                    self.sel(lse.first_low, one, lse.smaller),
                ];
                self.last_lse = Some(Lse {
                    terms,
                    total: lse.total,
                    finite: lse.finite,
                });
                Ok(lse.value)
            }
            ReduceOp::LogSumExp => {
                let m = simple(self, f64::NEG_INFINITY, ReduceOp::Max)?;
                // NaN, ±inf (and an empty run's -inf) are their own log-sum-exp.
                let d = self.b.ins().fsub(m, m);
                let zero = self.fconst(0.0);
                let finite = self.b.ins().fcmp(FloatCC::Equal, d, zero);
                let mut terms = Vec::new();
                let total = if len == 2 {
                    // One of the two terms is exp(0) = 1 exactly, so this is
                    // the interpreter's sum with one `exp` fewer.
                    let a = element(self, Ix::C(0));
                    let b = element(self, Ix::C(1));
                    // min(a, b) - max(a, b), the same bits (round to nearest
                    // is symmetric; a zero's sign does not reach `exp`).
                    let gap = self.b.ins().fsub(a, b);
                    let gap = self.b.ins().fabs(gap);
                    let shifted = self.b.ins().fneg(gap);
                    let e = self.call_unary(UnaryOp::Exp, shifted)?;
                    let one = self.fconst(1.0);
                    // a1 is the maximum when a0 < a1 (on a tie both terms are 1).
                    let first_low = self.b.ins().fcmp(FloatCC::LessThan, a, b);
                    terms.push(self.sel(first_low, e, one));
                    terms.push(self.sel(first_low, one, e));
                    self.b.ins().fadd(one, e)
                } else {
                    let zero = self.fconst(0.0);
                    self.fold(&[len], vec![zero], &mut |g, idx, acc| {
                        let x = element(g, idx[0]);
                        let shifted = g.b.ins().fsub(x, m);
                        let e = g.call_unary(UnaryOp::Exp, shifted)?;
                        if len <= SMALL {
                            terms.push(e);
                        }
                        Ok(vec![g.b.ins().fadd(acc[0], e)])
                    })?[0]
                };
                let short = terms.len() == len && len >= 2;
                self.last_lse = short.then_some(Lse {
                    terms,
                    total,
                    finite,
                });
                let l = self.call_unary(UnaryOp::Log, total)?;
                let y = self.b.ins().fadd(m, l);
                Ok(self.sel(finite, y, m))
            }
        }
    }

    fn matmul(&mut self, op: &Op) -> Result<()> {
        let res = Self::result(op, 0)?;
        let a = self.arg(op, 0)?;
        let b = self.arg(op, 1)?;
        let sa = self.shape(op.args[0])?;
        let sb = self.shape(op.args[1])?;
        // (rows, inner) of a and (inner, cols) of b, vectors as 1-row / 1-column.
        let (rows, k) = match sa.as_slice() {
            [k] => (1, *k),
            [m, k] => (*m, *k),
            _ => return Err(unsupported("matmul of rank > 2")),
        };
        let cols = match sb.as_slice() {
            [_] => 1,
            [_, c] => *c,
            _ => return Err(unsupported("matmul of rank > 2")),
        };
        let n = rows * cols;
        let mut d = self.dest(n, Self::unrolled(n));
        self.for_each(&[rows, cols], &mut |g, idx| {
            let zero = g.fconst(0.0);
            let (i, j) = (idx[0], idx[1]);
            let s = g.fold(&[k], vec![zero], &mut |g, kk, acc| {
                let ai = g.linear(&[i, kk[0]], &[k, 1]);
                let bi = g.linear(&[kk[0], j], &[cols, 1]);
                let x = g.load(&a, ai);
                let y = g.load(&b, bi);
                let p = g.b.ins().fmul(x, y);
                Ok(vec![g.b.ins().fadd(acc[0], p)])
            })?;
            let to = g.linear(&[i, j], &[cols, 1]);
            g.dest_store(&mut d, to, s[0]);
            Ok(())
        })?;
        self.set(res, self.finish(d));
        Ok(())
    }

    // ---- Indexing -------------------------------------------------------------

    /// How `op`'s plan addresses its source (`args[0]`); the dynamic indices
    /// start at `args[first_dynamic]`. Scalar indices are checked here.
    fn access(
        &mut self,
        op: &Op,
        plan: &[AxisIndex],
        first_dynamic: usize,
        name: &'static str,
    ) -> Result<Access> {
        let result = Self::result(op, 0)?;
        let s = self.shape(op.args[0])?;
        if plan.len() > s.len() {
            return Err(JitError::Codegen(format!(
                "{name} with more indices than axes"
            )));
        }
        let ss = strides(&s);
        let mut base = Ix::C(0);
        let mut shape = Vec::new();
        let mut part_strides = Vec::new();
        let mut gathers = Vec::new();
        let mut gather_shape: Option<Vec<usize>> = None;
        let mut next = first_dynamic;
        for (a, ix) in plan.iter().enumerate() {
            match ix {
                AxisIndex::Scalar {
                    constant,
                    needs_bounds_check,
                } => {
                    let k = match constant {
                        Some(d) => {
                            let c = d.eval(self.sizes).ok_or_else(|| {
                                JitError::Size(format!("the size `{d}` is not given"))
                            })?;
                            if c < 0 || c as usize >= s[a] {
                                // Out of range for these sizes: an error
                                // when (if) it runs, as in the interpreter
                                // (it may sit in a branch never taken).
                                let x = self.fconst(c as f64);
                                let site = ErrorSite {
                                    op: name,
                                    result,
                                    axis: a,
                                    len: s[a],
                                };
                                self.checked_index(x, s[a], site)
                            } else {
                                Ix::C(c)
                            }
                        }
                        None if !*needs_bounds_check
                            && self.pinned.contains_key(&op.args[next]) =>
                        {
                            next += 1;
                            Ix::C(self.pinned[&op.args[next - 1]])
                        }
                        None => {
                            let x = self.scalar(op, next)?;
                            next += 1;
                            let site = ErrorSite {
                                op: name,
                                result,
                                axis: a,
                                len: s[a],
                            };
                            if *needs_bounds_check || self.lanes || s[a] == 0 {
                                self.checked_index(x, s[a], site)
                            } else {
                                self.trusted_index(x, s[a])
                            }
                        }
                    };
                    let t = self.ix_mul(k, ss[a]);
                    base = self.ix_add(base, t);
                }
                AxisIndex::Slice { start, stop } => {
                    let (lo, hi) = (self.dim(start)?, self.dim(stop)?);
                    if lo > hi || hi > s[a] {
                        return Err(JitError::IndexOutOfRange(format!(
                            "slice {lo}..{hi} out of range for axis {a} of length {} ({name} defining {result})",
                            s[a]
                        )));
                    }
                    base = self.ix_add(base, Ix::C((lo * ss[a]) as i64));
                    shape.push(hi - lo);
                    part_strides.push(ss[a]);
                }
                AxisIndex::Gather { .. } => {
                    let v = *op.args.get(next).ok_or_else(|| {
                        JitError::Codegen(format!("{name} lacks an index operand"))
                    })?;
                    next += 1;
                    let gs = self.shape(v)?;
                    if gather_shape.as_ref().is_some_and(|g| *g != gs) {
                        return Err(JitError::Codegen(format!(
                            "{name} with index arrays of different shapes"
                        )));
                    }
                    gather_shape = Some(gs);
                    gathers.push((self.get(v)?, a));
                }
            }
        }
        let mut gather_rank = 0;
        let mut gather_list = Vec::new();
        if let Some(gs) = gather_shape {
            if gathers.len() != plan.len() {
                return Err(unsupported(format!(
                    "{name} mixing gathers with other indices"
                )));
            }
            gather_rank = gs.len();
            let mut full = gs;
            full.extend(shape);
            shape = full;
            let mut st = vec![0; gather_rank];
            st.extend(part_strides);
            part_strides = st;
            gather_list = gathers.into_iter().map(|(r, a)| (r, s[a], ss[a])).collect();
        }
        for a in plan.len()..s.len() {
            shape.push(s[a]);
            part_strides.push(ss[a]);
        }
        Ok(Access {
            base,
            shape,
            strides: part_strides,
            gathers: gather_list,
            gather_rank,
            op: name,
            result,
        })
    }

    /// The source offset of the part element at `idx`.
    fn access_at(&mut self, acc: &Access, idx: &[Ix]) -> Ix {
        let mut at = acc.base;
        if !acc.gathers.is_empty() {
            let gs = strides(&acc.shape[..acc.gather_rank]);
            let gflat = self.linear(&idx[..acc.gather_rank], &gs);
            for (axis, (r, len, stride)) in acc.gathers.iter().enumerate() {
                let x = self.load(r, gflat);
                let site = ErrorSite {
                    op: acc.op,
                    result: acc.result,
                    axis,
                    len: *len,
                };
                let k = self.checked_index(x, *len, site);
                let t = self.ix_mul(k, *stride);
                at = self.ix_add(at, t);
            }
        }
        for (i, s) in idx.iter().zip(&acc.strides).skip(acc.gather_rank) {
            let t = self.ix_mul(*i, *s);
            at = self.ix_add(at, t);
        }
        at
    }

    fn index(&mut self, op: &Op, plan: &[AxisIndex]) -> Result<()> {
        let res = Self::result(op, 0)?;
        let src = self.arg(op, 0)?;
        let acc = self.access(op, plan, 1, "index")?;
        let n = product(&acc.shape);
        // A contiguous part of a buffer is a view of it.
        let contiguous = acc.gathers.is_empty() && {
            let mut expect = 1;
            let mut ok = true;
            for (d, s) in acc.shape.iter().zip(&acc.strides).rev() {
                if *d != 1 && *s != expect {
                    ok = false;
                }
                expect *= d;
            }
            ok
        };
        if contiguous {
            match &src {
                Repr::Buf(b) if n > SMALL => {
                    self.disown(op.args[0]);
                    let view = self.ix_add(*b, acc.base);
                    self.set(res, Repr::Buf(view));
                    return Ok(());
                }
                Repr::Lanes(b) if n > SMALL => {
                    self.disown(op.args[0]);
                    let view = self.ix_add(*b, acc.base);
                    self.set(res, Repr::Lanes(view));
                    return Ok(());
                }
                Repr::Splat(x) => {
                    self.set(res, Self::splat(*x, n));
                    return Ok(());
                }
                _ => {}
            }
        }
        let ps = strides(&acc.shape);
        let mut d = self.dest(n, Self::unrolled(n));
        let shape = acc.shape.clone();
        self.for_each(&shape, &mut |g, idx| {
            let from = g.access_at(&acc, idx);
            let x = g.load(&src, from);
            let to = g.linear(idx, &ps);
            g.dest_store(&mut d, to, x);
            Ok(())
        })?;
        self.set(res, self.finish(d));
        Ok(())
    }

    fn index_update(&mut self, op: &Op, plan: &[AxisIndex], inc: bool) -> Result<()> {
        let name = if inc {
            "inc_subtensor"
        } else {
            "set_subtensor"
        };
        let res = Self::result(op, 0)?;
        let src = self.arg(op, 0)?;
        let part = self.arg(op, 1)?;
        let n = self.len(op.args[0])?;
        let acc = self.access(op, plan, 2, name)?;
        let part_n = product(&acc.shape);
        if part_n != self.len(op.args[1])? {
            return Err(JitError::Codegen(format!(
                "{name} with a part of the wrong shape"
            )));
        }
        let reuse = self.reusable(op, 0).filter(|_| n > SMALL);
        let mut d = match reuse {
            Some(base) => Dest::Buf(base),
            None => self.dest(n, Self::unrolled(n) && Self::unrolled(part_n)),
        };
        match &mut d {
            Dest::Regs(v) => *v = self.regs(&src, n),
            Dest::Buf(_) if reuse.is_some() => {}
            Dest::Buf(b) => {
                let b = *b;
                self.copy_into(&src, b, n)?;
            }
        }
        let ps = strides(&acc.shape);
        let shape = acc.shape.clone();
        self.for_each(&shape, &mut |g, idx| {
            let to = g.access_at(&acc, idx);
            let from = g.linear(idx, &ps);
            let mut x = g.load(&part, from);
            if inc {
                let old = g.dest_load(&d, to);
                x = g.b.ins().fadd(old, x);
            }
            g.dest_store(&mut d, to, x);
            Ok(())
        })?;
        self.set(res, self.finish(d));
        Ok(())
    }

    // ---- Control flow ---------------------------------------------------------

    fn scan(
        &mut self,
        op: &Op,
        body: &Region,
        carries: usize,
        sequences: usize,
        reverse: bool,
    ) -> Result<()> {
        if sequences == 0 {
            return Err(unsupported("a scan without sequences"));
        }
        let seq_len = self
            .shape(op.args[carries])?
            .first()
            .copied()
            .ok_or_else(|| JitError::Codegen("a scan sequence without a leading axis".into()))?;
        // Carries: registers (loop block parameters) when small, else a fixed buffer.
        let mut carry_reprs = Vec::new(); // None: registers
        let mut carried = Vec::new();
        let mut carry_lens = Vec::new();
        for i in 0..carries {
            let n = self.len(op.args[i])?;
            let init = self.arg(op, i)?;
            carry_lens.push(n);
            if n <= SMALL {
                carried.extend(self.regs(&init, n));
                carry_reprs.push(None);
            } else {
                let off = Ix::C(self.alloc(n) as i64);
                self.copy_into(&init, off, n)?;
                carry_reprs.push(Some(off));
            }
        }
        // Sequences: in memory (stepping needs addresses).
        let mut seqs = Vec::new();
        for i in carries..carries + sequences {
            let n = self.len(op.args[i])?;
            let r = match self.arg(op, i)? {
                r @ (Repr::Regs(_) | Repr::Lazy(_)) => {
                    let off = Ix::C(self.alloc(n) as i64);
                    self.copy_into(&r, off, n)?;
                    self.buffer(off)
                }
                r => r,
            };
            let shape = self.shape(op.args[i])?;
            let len0 = shape.first().copied().unwrap_or(0);
            if len0 != seq_len {
                return Err(JitError::Codegen(
                    "scan sequences of different lengths".into(),
                ));
            }
            // One step's elements, from the shape: with no steps (a
            // sequence of length 0) `n / seq_len` would say 0.
            let _ = n;
            seqs.push((r, product(shape.get(1..).unwrap_or(&[]))));
        }
        let captures: Vec<Repr> = (carries + sequences..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<_>>()?;
        // Stacked outputs: buffers of seq_len steps.
        let mut stacked = Vec::new();
        for (k, v) in body.results.iter().enumerate().skip(carries) {
            let n = self.len(*v)?;
            let off = Ix::C(self.alloc(n * seq_len) as i64);
            stacked.push((off, n));
            let _ = k;
        }
        let finals = self.emit_loop(
            Ix::C(seq_len as i64),
            reverse,
            carried,
            &mut |g, i, params| {
                let mut args = Vec::new();
                args.extend(unpack(&carry_reprs, &carry_lens, &params, g.lanes));
                for (arg, c) in body.args.iter().zip(&carry_reprs) {
                    if let Some(Ix::C(off)) = c {
                        g.owner.insert(*off, *arg);
                    }
                }
                for (r, m) in &seqs {
                    let start = g.ix_mul(Ix::V(i), *m);
                    args.push(match r {
                        Repr::Splat(x) => Self::splat(*x, *m),
                        Repr::Buf(b) | Repr::Lanes(b) => {
                            let view = g.ix_add(*b, start);
                            let v = match r {
                                Repr::Lanes(_) => Repr::Lanes(view),
                                _ => Repr::Buf(view),
                            };
                            if *m <= SMALL {
                                Repr::Regs(g.regs(&v, *m))
                            } else {
                                v
                            }
                        }
                        Repr::Regs(_) | Repr::Lazy(_) => {
                            unreachable!("register and lazy sequences were spilled")
                        }
                    });
                }
                args.extend(captures.iter().cloned());
                let results = g.region(body, args)?;
                for ((off, n), r) in stacked.iter().zip(&results[carries..]) {
                    let start = g.ix_mul(Ix::V(i), *n);
                    let at = g.ix_add(*off, start);
                    g.copy_into(r, at, *n)?;
                }
                // Buffer carries: copy the next values in, through registers
                // first so that a result aliasing another carry is read before
                // that carry is overwritten.
                // Next carries: registers are read first; results in memory that
                // may alias a carry buffer are staged before any carry buffer is
                // overwritten.
                let mut next = Vec::new();
                for ((c, n), r) in carry_reprs.iter().zip(&carry_lens).zip(&results) {
                    if c.is_none() {
                        next.extend(g.regs(r, *n));
                    }
                }
                let mut staged = Vec::new();
                let mut direct = Vec::new();
                for ((c, n), r) in carry_reprs.iter().zip(&carry_lens).zip(&results) {
                    let Some(off) = c else { continue };
                    let own = g.writable_offset(r);
                    if matches!((own, off), (Some(a), Ix::C(b)) if a == *b) {
                        continue;
                    }
                    let separate = match (r, own) {
                        (_, Some(a)) => carry_reprs.iter().zip(&carry_lens).all(|(c, m)| match c {
                            Some(Ix::C(b)) => a + *n as i64 <= *b || b + *m as i64 <= a,
                            _ => true,
                        }),
                        (Repr::Regs(_) | Repr::Splat(_), _) => true,
                        // (A lazy result may read a carry, a view may be of
                        // one: staged.)
                        _ => false,
                    };
                    if separate {
                        direct.push((r.clone(), *off, *n));
                    } else {
                        let tmp = Ix::C(g.alloc(*n) as i64);
                        g.copy_into(r, tmp, *n)?;
                        staged.push((g.buffer(tmp), *off, *n));
                    }
                }
                for (r, off, n) in direct.into_iter().chain(staged) {
                    g.copy_into(&r, off, n)?;
                }
                Ok(next)
            },
        )?;
        for (k, r) in unpack(&carry_reprs, &carry_lens, &finals, self.lanes)
            .into_iter()
            .enumerate()
        {
            self.set(Self::result(op, k)?, r);
        }
        for (k, (off, _)) in stacked.iter().enumerate() {
            let r = self.buffer(*off);
            self.set(Self::result(op, carries + k)?, r);
        }
        Ok(())
    }

    /// The bounds of a `for` when they are known when compiling (constants
    /// or sizes).
    fn constant_bounds(&self, op: &Op) -> Option<(i64, i64)> {
        let bound = |i: usize| constant_int(self.defs.get(op.args.get(i)?)?, self.sizes);
        Some((bound(0)?, bound(1)?))
    }

    fn for_loop(&mut self, op: &Op, body: &Region) -> Result<()> {
        // (A loop in lane code runs the same iterations in every lane.)
        let (count, first) = match self.constant_bounds(op) {
            Some((lo, hi)) if self.lanes => (Ix::C((hi - lo).max(0)), Ix::C(lo)),
            _ if self.lanes => {
                return Err(unsupported("lanes for a loop whose bounds vary by subject"))
            }
            _ => {
                let lo = self.scalar(op, 0)?;
                let hi = self.scalar(op, 1)?;
                let lo_i = self.b.ins().fcvt_to_sint_sat(I64, lo);
                let hi_i = self.b.ins().fcvt_to_sint_sat(I64, hi);
                (Ix::V(self.b.ins().isub(hi_i, lo_i)), Ix::V(lo_i))
            }
        };
        let captures: Vec<Repr> = (2..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<_>>()?;
        self.sum_iterations(op, count, first, &mut |g, k| {
            let i = g.ix_add(Ix::V(k), first);
            let iv = g.ix_to_f64(i);
            let mut args = vec![Repr::Regs(vec![iv])];
            args.extend(captures.iter().cloned());
            g.region(body, args)
        })
    }

    /// The results of a `for`: the sum over `count` iterations, in order,
    /// of what `iteration` yields for each (given its position from 0).
    /// The one summation of every `for`, inlined or outlined, so that both
    /// give the same bits.
    fn sum_iterations(
        &mut self,
        op: &Op,
        count: Ix,
        first: Ix,
        iteration: &mut dyn FnMut(&mut Self, Value) -> Result<Vec<Repr>>,
    ) -> Result<()> {
        let one_hot = self.one_hot_flags(op);
        let parts = self.iteration_lens(op)?;
        // Accumulators: registers when small, else zeroed buffers.
        let mut accs = Vec::new(); // None: registers
        let mut lens = Vec::new();
        let mut carried = Vec::new();
        for v in &op.results {
            let n = self.len(*v)?;
            lens.push(n);
            if n <= SMALL {
                let zero = self.fconst(0.0);
                carried.extend(std::iter::repeat_n(zero, n));
                accs.push(None);
            } else {
                let off = Ix::C(self.alloc(n) as i64);
                let zero = self.fconst(0.0);
                self.copy_into(&Repr::Splat(zero), off, n)?;
                accs.push(Some(off));
            }
        }
        let finals = self.emit_loop(count, false, carried, &mut |g, k, params| {
            let results = iteration(g, k)?;
            let mut next = Vec::new();
            let mut p = 0;
            for (j, ((a, n), r)) in accs.iter().zip(&lens).zip(&results).enumerate() {
                match a {
                    Some(off) if one_hot[j] => {
                        // Only the iteration's own row changes.
                        let m = parts[j];
                        let i = g.ix_add(Ix::V(k), first);
                        let row = g.ix_mul(i, m);
                        let base = g.ix_add(*off, row);
                        let r = r.clone();
                        g.for_each(&[m], &mut |g, idx| {
                            let acc = g.load(&g.buffer(base), idx[0]);
                            let x = g.load(&r, idx[0]);
                            let y = g.b.ins().fadd(acc, x);
                            g.store_buf(base, idx[0], y);
                            Ok(())
                        })?;
                    }
                    None => {
                        for j in 0..*n {
                            let x = g.load(r, Ix::C(j as i64));
                            next.push(g.b.ins().fadd(params[p + j], x));
                        }
                        p += n;
                    }
                    Some(off) => {
                        let (off, r) = (*off, r.clone());
                        g.for_each(&[*n], &mut |g, idx| {
                            let acc = g.load(&g.buffer(off), idx[0]);
                            let x = g.load(&r, idx[0]);
                            let y = g.b.ins().fadd(acc, x);
                            g.store_buf(off, idx[0], y);
                            Ok(())
                        })?;
                    }
                }
            }
            Ok(next)
        })?;
        for (k, r) in unpack(&accs, &lens, &finals, self.lanes)
            .into_iter()
            .enumerate()
        {
            self.set(Self::result(op, k)?, r);
        }
        Ok(())
    }

    /// Which results of a `for` are one-hot (`one_hot_results`).
    fn one_hot_flags(&self, op: &Op) -> Vec<bool> {
        self.outer
            .one_hot
            .get(&(op as *const Op))
            .cloned()
            .unwrap_or_else(|| vec![false; op.results.len()])
    }

    /// The number of elements an iteration of a `for` yields per result:
    /// the result's, or for a one-hot result its part, one row.
    fn iteration_lens(&self, op: &Op) -> Result<Vec<usize>> {
        let one_hot = self.one_hot_flags(op);
        op.results
            .iter()
            .zip(one_hot)
            .map(|(v, one_hot)| {
                let shape = self.shape(*v)?;
                Ok(match (one_hot, shape.first()) {
                    (true, Some(&rows)) if rows > 0 => product(&shape) / rows,
                    _ => product(&shape),
                })
            })
            .collect()
    }

    /// A `for` run by `exec::parallel_for` in chunks of iterations on
    /// several threads (`outlined_loops` chose it): its body becomes a
    /// function of a range of iterations, each iteration writes its results
    /// to its own row of the workspace, and the rows are then summed here in
    /// iteration order, as `for_loop` sums, so that any number of threads
    /// gives the same bits.
    fn parallel_for(&mut self, op: &Op, body: &Region) -> Result<()> {
        let (first, last) = self.constant_bounds(op).ok_or_else(|| {
            JitError::Codegen("an outlined loop's bounds are not constants".into())
        })?;
        let count = usize::try_from(last - first).unwrap_or(0);
        // The captures in memory at fixed offsets, the same in every thread's
        // workspace; all but the data are copied there before each run.
        let mut captures = Vec::new();
        let mut copies = Vec::new();
        for i in 2..op.args.len() {
            let n = self.len(op.args[i])?;
            let r = self.arg(op, i)?;
            let off = match r {
                Repr::Buf(Ix::C(off)) => off as usize,
                _ => {
                    let off = self.alloc(n);
                    self.copy_into(&r, Ix::C(off as i64), n)?;
                    off
                }
            };
            let is_data = self
                .outer
                .data_ranges
                .iter()
                .any(|&(d, m)| off >= d && off + n <= d + m);
            if !is_data && n > 0 {
                copies.push((off, n));
            }
            captures.push((off, n));
        }
        let lens = self.iteration_lens(op)?;
        let stride: usize = lens.iter().sum();
        let rows = self.alloc(count * stride);
        let id = self.outline(body, &captures, &lens, rows, first)?;
        let task = self.outer.tasks.len();
        self.outer.tasks.push(TaskPlan {
            id,
            copies,
            rows: (rows, stride),
            first,
        });
        let context = self
            .call_context
            .ok_or_else(|| JitError::Codegen("a loop outlined inside an outlined loop".into()))?;
        let args = [
            context,
            self.b.ins().iconst(I64, task as i64),
            self.b.ins().iconst(I64, first),
            self.b.ins().iconst(I64, last),
        ];
        let call = self.b.ins().call(self.parallel_for_ref, &args);
        let status = self.b.inst_results(call)[0];
        let cont = self.b.create_block();
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(status, fail, &[], cont, &[]);
        self.b.switch_to_block(fail);
        self.b.ins().return_(&[status]);
        self.b.switch_to_block(cont);
        self.sum_iterations(op, Ix::C(count as i64), Ix::C(first), &mut |g, k| {
            let row = g.ix_mul(Ix::V(k), stride);
            let mut at = rows;
            let mut results = Vec::new();
            for n in &lens {
                results.push(Repr::Buf(g.ix_add(row, Ix::C(at as i64))));
                at += n;
            }
            Ok(results)
        })
    }

    /// Generates the function `extern "C" fn(workspace, lo, hi) -> i64` that
    /// runs iterations `lo..hi` of a `for` whose body is `body`, with its
    /// captures at `captures` (offset, length), writing iteration `i`'s
    /// results (of `lens`) to the row `i - first` at `rows`.
    ///
    /// With lanes on, a second function runs the iterations two at a time
    /// in SIMD lanes (`chunk_lanes`), falling back on this one for a pair
    /// whose index check fails; it is the task's entry unless its body uses
    /// what lane code does not support.
    fn outline(
        &mut self,
        body: &Region,
        captures: &[(usize, usize)],
        lens: &[usize],
        rows: usize,
        first: i64,
    ) -> Result<FuncId> {
        let scalar = self.outline_with(body, captures, lens, rows, first, None)?;
        if !self.outer.lanes {
            return Ok(scalar);
        }
        let (workspace_len, sites) = (self.workspace_len, self.sites.len());
        match self.outline_with(body, captures, lens, rows, first, Some(scalar)) {
            Ok(id) => {
                self.outer.lane_loops += 1;
                Ok(id)
            }
            Err(JitError::Unsupported(_) | JitError::Codegen(_)) => {
                self.workspace_len = workspace_len;
                self.sites.truncate(sites);
                Ok(scalar)
            }
            Err(e) => Err(e),
        }
    }

    /// The function of `outline`: scalar, or with `lanes_of` (the scalar
    /// one) in lane code.
    fn outline_with(
        &mut self,
        body: &Region,
        captures: &[(usize, usize)],
        lens: &[usize],
        rows: usize,
        first: i64,
        lanes_of: Option<FuncId>,
    ) -> Result<FuncId> {
        let codegen = |e: &dyn std::fmt::Display| JitError::Codegen(e.to_string());
        let module = &mut self.outer.module;
        let ptr = module.target_config().pointer_type();
        let mut ctx = module.make_context();
        let mut sig = Signature::new(module.isa().default_call_conv());
        sig.params
            .extend([AbiParam::new(ptr), AbiParam::new(I64), AbiParam::new(I64)]);
        sig.returns.push(AbiParam::new(I64));
        ctx.func.signature = sig.clone();
        let task = self.outer.tasks.len();
        let lanes = lanes_of.is_some();
        ctx.func.name = UserFuncName::user(if lanes { 2 } else { 1 }, task as u32);
        let refs = self
            .outer
            .imports
            .refs(&mut self.outer.module, &mut ctx.func);
        let scalar_ref =
            lanes_of.map(|id| self.outer.module.declare_func_in_func(id, &mut ctx.func));
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (ws, lo, hi) = (
            b.block_params(entry)[0],
            b.block_params(entry)[1],
            b.block_params(entry)[2],
        );
        let mut sub = Gen {
            f: self.f,
            sizes: self.sizes,
            b,
            ws,
            reprs: vec![None; self.f.values.len()],
            workspace_len: self.workspace_len,
            sites: std::mem::take(&mut self.sites),
            unary_refs: refs.unary,
            pow_ref: refs.pow,
            atan2_ref: refs.atan2,
            special_refs: refs.special,
            cse: vec![HashMap::new()],
            conditions: HashMap::new(),
            fresh: HashSet::new(),
            owner: HashMap::new(),
            dying: HashSet::new(),
            dead: std::mem::take(&mut self.dead),
            defs: std::mem::take(&mut self.defs),
            last_lse: None,
            lse: HashMap::new(),
            row_lse_wanted: std::mem::take(&mut self.row_lse_wanted),
            row_lse: HashMap::new(),
            softmaxes: HashMap::new(),
            fusable: std::mem::take(&mut self.fusable),
            parallel_for_ref: refs.parallel_for,
            call_context: None,
            outer: &mut *self.outer,
            lanes,
            active: None,
            rerun: None,
            pinned: HashMap::new(),
            split_width: 1,
        };
        let done = match scalar_ref {
            Some(scalar) => sub.chunk_lanes(body, captures, lens, rows, first, (lo, hi), scalar),
            None => sub.chunk(body, captures, lens, rows, first, (lo, hi)),
        };
        sub.b.seal_all_blocks();
        self.workspace_len = sub.workspace_len;
        self.sites = std::mem::take(&mut sub.sites);
        self.dead = std::mem::take(&mut sub.dead);
        self.defs = std::mem::take(&mut sub.defs);
        self.row_lse_wanted = std::mem::take(&mut sub.row_lse_wanted);
        self.fusable = std::mem::take(&mut sub.fusable);
        let frontend_config = sub.outer.module.target_config();
        sub.b.finalize(frontend_config);
        done?;
        let module = &mut self.outer.module;
        let name = format!(
            "{}.for{task}{}",
            self.f.name,
            if lanes { ".lanes" } else { "" }
        );
        let id = module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| codegen(&e))?;
        module
            .define_function(id, &mut ctx)
            .map_err(|e| JitError::Codegen(format!("{e:?}")))?;
        module.clear_context(&mut ctx);
        Ok(id)
    }

    /// An outlined loop's captures, at their offsets in the workspace: small
    /// ones loaded into registers (in lane code, splat).
    fn captured(&mut self, captures: &[(usize, usize)]) -> Vec<Repr> {
        captures
            .iter()
            .map(|&(off, n)| {
                let buf = Repr::Buf(Ix::C(off as i64));
                if n <= SMALL {
                    Repr::Regs(self.regs(&buf, n))
                } else {
                    buf
                }
            })
            .collect()
    }

    /// The body of an outlined loop (see `outline`).
    fn chunk(
        &mut self,
        body: &Region,
        captures: &[(usize, usize)],
        lens: &[usize],
        rows: usize,
        first: i64,
        (lo, hi): (Value, Value),
    ) -> Result<()> {
        let captures = self.captured(captures);
        let stride: usize = lens.iter().sum();
        let count = self.b.ins().isub(hi, lo);
        self.emit_loop(Ix::V(count), false, Vec::new(), &mut |g, k, _| {
            let i = g.b.ins().iadd(k, lo);
            let iv = g.b.ins().fcvt_from_sint(F64, i);
            let mut args = vec![Repr::Regs(vec![iv])];
            args.extend(captures.iter().cloned());
            let results = g.region(body, args)?;
            let position = g.b.ins().iadd_imm_s(i, -first);
            let row = g.ix_mul(Ix::V(position), stride);
            let mut at = rows;
            for (r, n) in results.iter().zip(lens) {
                let base = g.ix_add(row, Ix::C(at as i64));
                g.copy_into(r, base, *n)?;
                at += n;
            }
            Ok(Vec::new())
        })?;
        let ok = self.b.ins().iconst(I64, 0);
        self.b.ins().return_(&[ok]);
        Ok(())
    }

    /// The body of an outlined loop in lane code (see `outline`): the
    /// iterations two at a time, lane `l` of a pair running iteration
    /// `i + l` (an odd last iteration runs in both lanes, with the same
    /// bits), each lane's results written to its iteration's row.
    #[allow(clippy::too_many_arguments)]
    fn chunk_lanes(
        &mut self,
        body: &Region,
        captures: &[(usize, usize)],
        lens: &[usize],
        rows: usize,
        first: i64,
        (lo, hi): (Value, Value),
        scalar: FuncRef,
    ) -> Result<()> {
        let captures = self.captured(captures);
        let stride: usize = lens.iter().sum();
        let count = self.b.ins().isub(hi, lo);
        let rounded_up = self.b.ins().iadd_imm_s(count, 1);
        let pairs = self.b.ins().sshr_imm_s(rounded_up, 1);
        let last = self.b.ins().iadd_imm_s(hi, -1);
        self.emit_loop(Ix::V(pairs), false, Vec::new(), &mut |g, k, _| {
            let twice = g.b.ins().ishl_imm_s(k, 1);
            let i0 = g.b.ins().iadd(twice, lo);
            let next = g.b.ins().iadd_imm_s(i0, 1);
            let i1 = g.b.ins().smin(next, last);
            g.rerun = Some(Rerun {
                scalar,
                first: i0,
                hi,
            });
            let f0 = g.b.ins().fcvt_from_sint(F64, i0);
            let f1 = g.b.ins().fcvt_from_sint(F64, i1);
            let iv = g.vector_of(F64X2, [f0, f1]);
            let mut args = vec![Repr::Regs(vec![iv])];
            args.extend(captures.iter().cloned());
            let results = g.region(body, args)?;
            let mut bases = Vec::new();
            for i in [i0, i1] {
                let position = g.b.ins().iadd_imm_s(i, -first);
                bases.push(g.ix_mul(Ix::V(position), stride));
            }
            let mut at = rows;
            for (r, n) in results.iter().zip(lens) {
                let here = Ix::C(at as i64);
                g.for_each(&[*n], &mut |g, idx| {
                    let x = g.load(r, idx[0]);
                    for (l, row) in bases.iter().enumerate() {
                        let xl = g.b.ins().extractlane(x, l as u8);
                        let base = g.ix_add(*row, here);
                        let (p, off) = g.address(base, idx[0]);
                        g.b.ins().store(MemFlagsData::trusted(), xl, p, off);
                    }
                    Ok(())
                })?;
                at += n;
            }
            Ok(Vec::new())
        })?;
        let ok = self.b.ins().iconst(I64, 0);
        self.b.ins().return_(&[ok]);
        Ok(())
    }

    /// An `if` in lane code: its lanes may take different branches, so
    /// both run, each with the lanes that take it active (`Gen::active`),
    /// and each lane's results are selected from the branch it takes.
    fn branch_lanes(&mut self, op: &Op, then_region: &Region, else_region: &Region) -> Result<()> {
        let c = self.scalar(op, 0)?;
        let cond = self.truthy(c);
        let captures: Vec<Repr> = (1..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<_>>()?;
        let outer_active = self.active;
        let not_cond = self.b.ins().bnot(cond);
        let mut branches = Vec::new();
        for (region, taken) in [(then_region, cond), (else_region, not_cond)] {
            self.active = Some(match outer_active {
                Some(a) => self.b.ins().band(a, taken),
                None => taken,
            });
            self.cse.push(HashMap::new());
            let results = self.region(region, captures.clone());
            self.cse.pop();
            self.active = outer_active;
            branches.push(results?);
        }
        for (k, v) in op.results.iter().enumerate() {
            let n = self.len(*v)?;
            let (then_r, else_r) = (&branches[0][k], &branches[1][k]);
            let mut d = self.dest(n, Self::unrolled(n));
            self.for_each(&[n], &mut |g, idx| {
                let x = g.load(then_r, idx[0]);
                let y = g.load(else_r, idx[0]);
                let z = g.sel(cond, x, y);
                g.dest_store(&mut d, idx[0], z);
                Ok(())
            })?;
            let r = self.finish(d);
            self.set(*v, r);
        }
        Ok(())
    }

    fn branch(&mut self, op: &Op, then_region: &Region, else_region: &Region) -> Result<()> {
        if self.lanes {
            return self.branch_lanes(op, then_region, else_region);
        }
        let c = self.scalar(op, 0)?;
        let cond = self.truthy(c);
        let captures: Vec<Repr> = (1..op.args.len())
            .map(|i| self.arg(op, i))
            .collect::<Result<_>>()?;
        let lens = op
            .results
            .iter()
            .map(|v| self.len(*v))
            .collect::<Result<Vec<_>>>()?;
        let then_block = self.b.create_block();
        let else_block = self.b.create_block();
        let merge = self.merge_block(&lens);
        self.b.ins().brif(cond, then_block, &[], else_block, &[]);
        for (block, region) in [(then_block, then_region), (else_block, else_region)] {
            self.b.switch_to_block(block);
            self.cse.push(HashMap::new());
            let results = self.region(region, captures.clone());
            self.cse.pop();
            self.jump_to_merge(&merge, &results?)?;
        }
        self.b.switch_to_block(merge.block);
        for (k, r) in unpack(&merge.outs, &lens, &merge.params, false)
            .into_iter()
            .enumerate()
        {
            self.set(Self::result(op, k)?, r);
        }
        Ok(())
    }
}
