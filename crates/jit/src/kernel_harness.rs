//! Test support for the inline kernels (`vmath`, `smath`): a kernel compiled
//! alone into a loop over an array, for a chosen set of CPU features, and a
//! reproducible generator of arguments.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Type, UserFuncName, Value};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};

type Entry = unsafe extern "C" fn(*const f64, *mut f64, usize);

/// Which CPU features the code is compiled for: this machine's, or the
/// x86-64 baseline (SSE2) with and without SSE4.1.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Native,
    Sse2,
    Sse41,
}

fn isa(target: Target) -> OwnedTargetIsa {
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").expect("opt_level");
    flags.set("is_pic", "false").expect("is_pic");
    let mut builder =
        cranelift_native::builder_with_options(matches!(target, Target::Native)).expect("host ISA");
    if let Target::Sse41 = target {
        for f in ["has_sse3", "has_ssse3", "has_sse41"] {
            builder.enable(f).expect("x86 flag");
        }
    }
    builder.finish(settings::Flags::new(flags)).expect("ISA")
}

/// A kernel compiled into a loop over `src` one value of type `ty` (`F64`
/// or `F64X2`) at a time (the module is leaked: the code must outlive the
/// test).
pub(crate) struct KernelJit {
    entry: Entry,
    lanes: usize,
}

impl KernelJit {
    pub(crate) fn new(
        kernel: fn(&mut FunctionBuilder, Value) -> Value,
        ty: Type,
        target: Target,
    ) -> KernelJit {
        let lanes = ty.lane_count() as usize;
        let isa = isa(target);
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let ptr = module.target_config().pointer_type();
        let mut ctx = module.make_context();
        ctx.func.signature.params = vec![AbiParam::new(ptr); 3];
        ctx.func.name = UserFuncName::user(0, 0);
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        let header = b.create_block();
        let body = b.create_block();
        let exit = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.append_block_param(header, I64);
        b.switch_to_block(entry);
        let (src, dst, n) = {
            let p = b.block_params(entry);
            (p[0], p[1], p[2])
        };
        let zero = b.ins().iconst(I64, 0);
        b.ins().jump(header, &[zero.into()]);
        b.switch_to_block(header);
        let i = b.block_params(header)[0];
        let more = b.ins().icmp(IntCC::UnsignedLessThan, i, n);
        b.ins().brif(more, body, &[], exit, &[]);
        b.switch_to_block(body);
        let off = b.ins().ishl_imm_u(i, 3);
        let ps = b.ins().iadd(src, off);
        let x = b.ins().load(ty, MemFlagsData::new(), ps, 0);
        let y = kernel(&mut b, x);
        let pd = b.ins().iadd(dst, off);
        b.ins().store(MemFlagsData::new(), y, pd, 0);
        let next = b.ins().iadd_imm_u(i, lanes as i64);
        b.ins().jump(header, &[next.into()]);
        b.switch_to_block(exit);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
        let id = module
            .declare_function("kernel", Linkage::Export, &ctx.func.signature)
            .expect("declare");
        module.define_function(id, &mut ctx).expect("define");
        module.finalize_definitions().expect("finalize");
        let code = module.get_finalized_function(id);
        std::mem::forget(module);
        // SAFETY: the function was built with this signature.
        let entry = unsafe { std::mem::transmute::<*const u8, Entry>(code) };
        KernelJit { entry, lanes }
    }

    /// The kernel of each element of `src` (whose length is a multiple of the lanes).
    pub(crate) fn run(&self, src: &[f64]) -> Vec<f64> {
        let mut dst = vec![0.0; src.len()];
        self.run_into(src, &mut dst);
        dst
    }

    pub(crate) fn run_into(&self, src: &[f64], dst: &mut [f64]) {
        assert!(src.len().is_multiple_of(self.lanes) && dst.len() == src.len());
        // SAFETY: the loop reads and writes `src.len()` elements, `lanes` at a time.
        unsafe { (self.entry)(src.as_ptr(), dst.as_mut_ptr(), src.len()) }
    }
}

/// splitmix64: a small, reproducible generator of test arguments.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}
