//! The only unsafe code of the crate: owning JIT-compiled code and calling it.

use cranelift_jit::JITModule;

/// Compiled code: the module that owns its memory and the entry point, a
/// function `extern "C" fn(workspace: *mut f64) -> i64`.
pub(crate) struct Code {
    module: Option<JITModule>,
    entry: *const u8,
    /// How many `f64`s the code reads and writes from the workspace pointer.
    workspace_len: usize,
}

// SAFETY: after `finalize_definitions` the code memory is immutable and the
// module is never touched again except to free it on drop; the entry point is
// a plain function of its argument (no thread-local or shared state), so the
// code may be called from, and dropped on, any thread.
unsafe impl Send for Code {}
// SAFETY: see `Send`; `run` takes the workspace by unique reference, so two
// threads sharing a `Code` each need their own workspace.
unsafe impl Sync for Code {}

impl Code {
    /// `entry` must be the finalized address of a function of `module` with
    /// the signature above that accesses only `workspace[0..workspace_len]`.
    pub(crate) fn new(module: JITModule, entry: *const u8, workspace_len: usize) -> Code {
        Code {
            module: Some(module),
            entry,
            workspace_len,
        }
    }

    /// Runs the code on `workspace` and returns its status (0 on success).
    pub(crate) fn run(&self, workspace: &mut [f64]) -> i64 {
        assert!(
            workspace.len() >= self.workspace_len,
            "workspace shorter than the compiled code expects"
        );
        // SAFETY: `entry` was produced by Cranelift for a function of this
        // signature (see `new`) and its module is alive as long as `self`.
        // The generated code bounds-checks every data-dependent index and
        // otherwise addresses only constant offsets below `workspace_len`,
        // which the assertion above guarantees are inside `workspace`.
        unsafe {
            let f: extern "C" fn(*mut f64) -> i64 = std::mem::transmute(self.entry);
            f(workspace.as_mut_ptr())
        }
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `entry` is the only pointer into the module's memory and
            // it dies with `self`; no call can be running since `run` borrows
            // `self`.
            unsafe { module.free_memory() };
        }
    }
}
