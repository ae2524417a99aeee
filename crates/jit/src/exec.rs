//! The only unsafe code of the crate: owning JIT-compiled code, calling it,
//! and running an outlined loop's chunks on several threads.

use cranelift_jit::JITModule;

/// The signature of the entry point: the workspace and the call's context.
type Entry = extern "C" fn(*mut f64, *mut CallContext<'_>) -> i64;
/// The signature of an outlined loop: a workspace and a range of iterations.
type Chunk = extern "C" fn(*mut f64, i64, i64) -> i64;

/// A `for` compiled as a function of a range of iterations (`codegen::outline`).
pub(crate) struct Task {
    /// The finalized address of an `extern "C" fn(workspace, lo, hi) -> i64`.
    pub entry: *const u8,
    /// `(offset, len)` of the captures computed by the entry function, copied
    /// into another thread's workspace before its chunk runs.
    pub copies: Vec<(usize, usize)>,
    /// `(offset, len)` of each iteration's row of results: iteration `i`
    /// writes `len` elements at `offset + (i - first) * len`.
    pub rows: (usize, usize),
    pub first: i64,
}

/// Compiled code: the module that owns its memory, the entry point (an
/// `extern "C" fn(workspace: *mut f64, context) -> i64`) and its outlined loops.
pub(crate) struct Code {
    module: Option<JITModule>,
    entry: *const u8,
    /// How many `f64`s the code reads and writes from the workspace pointer.
    workspace_len: usize,
    tasks: Vec<Task>,
    /// The chunks an outlined loop is split into.
    threads: usize,
}

// SAFETY: after `finalize_definitions` the code memory is immutable and the
// module is never touched again except to free it on drop; the entry point
// and the outlined loops are plain functions of their arguments (no shared
// state), so the code may be called from, and dropped on, any thread.
unsafe impl Send for Code {}
// SAFETY: see `Send`; `run` takes the workspaces by unique reference, so two
// threads sharing a `Code` each need their own.
unsafe impl Sync for Code {}

/// What an entry point hands `parallel_for`: the code (for its tasks) and
/// the workspaces of the call, the caller's and one per extra thread.
pub(crate) struct CallContext<'c> {
    code: &'c Code,
    main: *mut f64,
    spare: &'c mut [Vec<f64>],
}

/// A workspace pointer handed to another thread (see `parallel_for`).
struct Workspace(*mut f64);
// SAFETY: each chunk of an outlined loop is given its own workspace, which no
// other thread touches until the chunk is done.
unsafe impl Send for Workspace {}

impl Code {
    /// `entry` must be the finalized address of a function of `module` with
    /// the signature above that accesses only `workspace[0..workspace_len]`,
    /// and each task's the finalized address of an outlined loop of it.
    pub(crate) fn new(
        module: JITModule,
        entry: *const u8,
        workspace_len: usize,
        tasks: Vec<Task>,
        threads: usize,
    ) -> Code {
        Code {
            module: Some(module),
            entry,
            workspace_len,
            tasks,
            threads,
        }
    }

    /// How many workspaces besides the caller's a call needs: one per extra
    /// thread of an outlined loop, none without one.
    pub(crate) fn spare_workspaces(&self) -> usize {
        if self.tasks.is_empty() {
            0
        } else {
            self.threads - 1
        }
    }

    /// The number of outlined loops.
    pub(crate) fn threaded_loops(&self) -> usize {
        self.tasks.len()
    }

    /// Runs the code on `workspace` (with `spare` workspaces, each a copy of
    /// it made when the data were bound, for the extra threads) and returns
    /// its status (0 on success).
    pub(crate) fn run(&self, workspace: &mut [f64], spare: &mut [Vec<f64>]) -> i64 {
        assert!(
            workspace.len() >= self.workspace_len
                && spare.len() >= self.spare_workspaces()
                && spare.iter().all(|w| w.len() >= self.workspace_len),
            "workspace shorter than the compiled code expects"
        );
        let mut context = CallContext {
            code: self,
            main: workspace.as_mut_ptr(),
            spare,
        };
        // SAFETY: `entry` was produced by Cranelift for a function of this
        // signature (see `new`) and its module is alive as long as `self`.
        // The generated code bounds-checks every data-dependent index and
        // otherwise addresses only constant offsets below `workspace_len`,
        // which the assertion above guarantees are inside `workspace`; the
        // context outlives the call, during which only `parallel_for` uses it.
        unsafe {
            let f: Entry = std::mem::transmute(self.entry);
            f(context.main, &mut context)
        }
    }
}

/// The address of `parallel_for`, for the JIT's symbol table.
pub(crate) fn parallel_for_address() -> *const u8 {
    parallel_for as *const u8
}

/// Runs iterations `lo..hi` of the outlined loop `task` in chunks, one per
/// thread: chunk 0 on the calling thread in its workspace, chunk `j` on
/// rayon's pool in spare workspace `j - 1`, into which the loop's computed
/// captures are copied first and out of which its rows of results are copied
/// after. The partition does not change any result (the caller sums the rows
/// in order). Returns the first failing chunk's status, with its error slot.
extern "C" fn parallel_for(context: *mut CallContext<'_>, task: i64, lo: i64, hi: i64) -> i64 {
    // SAFETY: the generated entry function passes on the context `Code::run`
    // gave it, alive and not otherwise used during this call.
    let context = unsafe { &mut *context };
    let code = context.code;
    let Some(task) = usize::try_from(task).ok().and_then(|t| code.tasks.get(t)) else {
        return i64::MAX;
    };
    // SAFETY: `task.entry` is an outlined loop of this module (see `Code::new`).
    let chunk: Chunk = unsafe { std::mem::transmute(task.entry) };
    let count = usize::try_from(hi - lo).unwrap_or(0);
    let parts = code.threads.min(count).min(context.spare.len() + 1).max(1);
    if parts == 1 {
        return chunk(context.main, lo, hi);
    }
    let bounds: Vec<i64> = (0..=parts)
        .map(|j| lo + (count * j / parts) as i64)
        .collect();
    let len = code.workspace_len;
    // SAFETY: the entry function is suspended in this call and the chunks
    // have not started: nothing else reads or writes the caller's workspace,
    // of `len` elements (`Code::run` checked it).
    let main = unsafe { std::slice::from_raw_parts_mut(context.main, len) };
    let spare = &mut context.spare[..parts - 1];
    for workspace in spare.iter_mut() {
        for &(off, n) in &task.copies {
            workspace[off..off + n].copy_from_slice(&main[off..off + n]);
        }
    }
    let mut status = vec![0i64; parts];
    {
        let (first_status, other_status) = status.split_at_mut(1);
        let caller = Workspace(main.as_mut_ptr());
        rayon::in_place_scope(|scope| {
            for ((j, workspace), slot) in spare.iter_mut().enumerate().zip(other_status.iter_mut())
            {
                let (from, to) = (bounds[j + 1], bounds[j + 2]);
                let workspace = Workspace(workspace.as_mut_ptr());
                scope.spawn(move |_| {
                    let workspace = workspace;
                    *slot = chunk(workspace.0, from, to);
                });
            }
            let caller = caller;
            first_status[0] = chunk(caller.0, bounds[0], bounds[1]);
        });
    }
    let (rows, stride) = task.rows;
    for (j, workspace) in spare.iter().enumerate() {
        let from = rows + (bounds[j + 1] - task.first) as usize * stride;
        let to = rows + (bounds[j + 2] - task.first) as usize * stride;
        main[from..to].copy_from_slice(&workspace[from..to]);
    }
    match status.iter().position(|s| *s != 0) {
        None => 0,
        Some(j) => {
            if j > 0 {
                let slot = crate::codegen::ERROR_SLOT;
                main[slot] = spare[j - 1][slot];
            }
            status[j]
        }
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `entry` and the tasks' entries are the only pointers into
            // the module's memory and they die with `self`; no call can be
            // running since `run` borrows `self`.
            unsafe { module.free_memory() };
        }
    }
}
