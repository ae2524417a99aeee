//! The only unsafe code of the crate: owning JIT-compiled code, calling it,
//! and running an outlined loop's chunks on several threads (`Crew`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
    /// The threads an outlined loop runs on.
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
    crew: &'c Crew,
}

/// A workspace pointer handed to another thread (see `parallel_for`).
struct Workspace(*mut f64);
// SAFETY: each thread of an outlined loop is given its own workspace, which no
// other thread touches until the loop is done.
unsafe impl Send for Workspace {}
// SAFETY: shared only so that helper `i` can find workspace `i`, which no
// other thread uses (see `Send`).
unsafe impl Sync for Workspace {}

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
        if self.threads > 1 {
            self.tasks.len()
        } else {
            0
        }
    }

    /// Runs the code on `workspace` (with `spare` workspaces, each a copy of
    /// it made when the data were bound, for the extra threads) and returns
    /// its status (0 on success).
    pub(crate) fn run(&self, workspace: &mut [f64], spare: &mut [Vec<f64>], crew: &Crew) -> i64 {
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
            crew,
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

/// How many chunks each thread's share of an outlined loop is cut into. A
/// helper thread can start late (woken from sleep, or its core busy); the
/// threads claim chunks in order as they come free, so the caller's thread
/// goes on with the chunks a late thread has not reached. The partition and the order of the sums do
/// not depend on which thread runs a chunk.
const CHUNKS_PER_THREAD: usize = 4;

/// Runs iterations `lo..hi` of the outlined loop `task` in chunks: a fixed
/// partition of the range, whose chunks the calling thread (in its
/// workspace) and the `threads - 1` threads of the function's `Crew` (each
/// in a spare workspace, into which the loop's computed captures are copied
/// first; a helper that comes after the work is all claimed takes no part)
/// claim in order until none is left. The rows of results of a chunk run in
/// a spare workspace are copied back after. No result depends on which thread
/// ran which chunk (the caller sums the rows in order). Returns the status of
/// the first failing chunk, with its error slot: once a chunk fails no more
/// are claimed, and those claimed before it (all of a lower index) finish, so
/// the failure reported is the first iteration's to fail, as on one thread.
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
    let threads = code
        .threads
        .min(count)
        .min(context.spare.len() + 1)
        .min(context.crew.helpers() + 1)
        .max(1);
    if threads == 1 {
        return chunk(context.main, lo, hi);
    }
    let chunks = count.min(threads * CHUNKS_PER_THREAD);
    let bounds: Vec<i64> = (0..=chunks)
        .map(|j| lo + (count * j / chunks) as i64)
        .collect();
    let len = code.workspace_len;
    // SAFETY: the entry function is suspended in this call and the chunks
    // have not started: nothing else reads or writes the caller's workspace,
    // of `len` elements (`Code::run` checked it).
    let main = unsafe { std::slice::from_raw_parts_mut(context.main, len) };
    let spare = &mut context.spare[..threads - 1];
    for workspace in spare.iter_mut() {
        for &(off, n) in &task.copies {
            workspace[off..off + n].copy_from_slice(&main[off..off + n]);
        }
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // Per thread: the chunks it ran and, per failing chunk, its status and error slot.
    let mut caller_ran = Ran::default();
    let helper_ran: Vec<Mutex<Ran>> = (1..threads).map(|_| Mutex::new(Ran::default())).collect();
    let helper_workspaces: Vec<Workspace> = spare
        .iter_mut()
        .map(|w| Workspace(w.as_mut_ptr()))
        .collect();
    let claim = |workspace: &Workspace, ran: &mut Ran| {
        while !failed.load(Ordering::Acquire) {
            let j = next.fetch_add(1, Ordering::AcqRel);
            if j >= chunks {
                break;
            }
            let status = chunk(workspace.0, bounds[j], bounds[j + 1]);
            ran.chunks.push(j);
            if status != 0 {
                // SAFETY: the chunk is done; this thread alone uses the workspace.
                let error = unsafe { *workspace.0.add(crate::codegen::ERROR_SLOT) };
                ran.failures.push((j, status, error));
                failed.store(true, Ordering::Release);
            }
        }
    };
    let helper = |i: usize| {
        if let (Some(workspace), Some(ran)) = (helper_workspaces.get(i), helper_ran.get(i)) {
            claim(workspace, &mut lock(ran));
        }
    };
    let caller = Workspace(main.as_mut_ptr());
    if !context
        .crew
        .run(&helper, || claim(&caller, &mut caller_ran))
    {
        return i64::MAX;
    }
    let ran: Vec<Ran> = std::iter::once(caller_ran)
        .chain(
            helper_ran
                .into_iter()
                .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner())),
        )
        .collect();
    let (rows, stride) = task.rows;
    for (workspace, ran) in spare.iter().zip(&ran[1..]) {
        for &j in &ran.chunks {
            let from = rows + (bounds[j] - task.first) as usize * stride;
            let to = rows + (bounds[j + 1] - task.first) as usize * stride;
            main[from..to].copy_from_slice(&workspace[from..to]);
        }
    }
    match ran
        .iter()
        .flat_map(|r| r.failures.iter())
        .min_by_key(|f| f.0)
    {
        None => 0,
        Some(&(_, status, error)) => {
            main[crate::codegen::ERROR_SLOT] = error;
            status
        }
    }
}

/// What one thread did in `parallel_for`: the chunks it ran, and the
/// `(chunk, status, error slot)` of those that failed.
#[derive(Default)]
struct Ran {
    chunks: Vec<usize>,
    failures: Vec<(usize, i64, f64)>,
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

/// Locks `m`, whatever a panicking holder left (the data stay consistent:
/// every critical section here is a few assignments).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long an idle helper spins for the next job before it sleeps: a
/// chain's thread is busy for microseconds between two gradients, and waking
/// a sleeping thread costs tens of them.
const SPIN: Duration = Duration::from_micros(200);

/// The helper threads of one compiled function's calls (one `JitFunction`,
/// used by one chain): each runs its part of every outlined loop in its own
/// spare workspace. Unlike a pool's spawned tasks, a job is offered only
/// while the caller is working on it: a helper that comes late (its core
/// busy) finds it closed and does nothing, so the caller never waits for a
/// thread that has not started.
pub(crate) struct Crew {
    shared: Arc<CrewShared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

struct CrewShared {
    state: Mutex<CrewState>,
    /// Signalled when a job is offered or the crew stops.
    wake: Condvar,
    /// Signalled when the last active helper finishes.
    idle: Condvar,
    /// `state.generation`, read without the lock by spinning helpers.
    published: AtomicU64,
}

struct CrewState {
    /// Counts the jobs offered.
    generation: u64,
    /// The job on offer, while its caller works on it.
    job: Option<JobRef>,
    /// Helpers working on the job.
    active: usize,
    /// A helper's part panicked (a bug): its chunks may be undone.
    panicked: bool,
    stop: bool,
}

/// A job: `work(helper index)`, its lifetime erased (see `Crew::run`).
#[derive(Clone, Copy)]
struct JobRef(*const (dyn Fn(usize) + Sync + 'static));
// SAFETY: the pointee is `Sync` and `Crew::run` keeps it alive while any
// helper can reach it.
unsafe impl Send for JobRef {}

impl Crew {
    /// A crew of `helpers` threads (none: every call runs on the caller alone).
    pub(crate) fn new(helpers: usize) -> Crew {
        let shared = Arc::new(CrewShared {
            state: Mutex::new(CrewState {
                generation: 0,
                job: None,
                active: 0,
                panicked: false,
                stop: false,
            }),
            wake: Condvar::new(),
            idle: Condvar::new(),
            published: AtomicU64::new(0),
        });
        let threads = (0..helpers)
            .filter_map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("rlc-jit-helper-{i}"))
                    .spawn(move || helper_loop(&shared, i))
                    .ok()
            })
            .collect();
        Crew { shared, threads }
    }

    /// The helper threads (fewer than asked if the OS refused some).
    pub(crate) fn helpers(&self) -> usize {
        self.threads.len()
    }

    /// Offers `work` to the helpers (helper `i` calls `work(i)` at most
    /// once), runs `caller` on this thread, then withdraws the offer and
    /// waits for the helpers that took it. Returns false if a helper's part
    /// panicked.
    fn run(&self, work: &(dyn Fn(usize) + Sync), caller: impl FnOnce()) -> bool {
        if self.threads.is_empty() {
            caller();
            return true;
        }
        // SAFETY: only the lifetime is erased; the reference is withdrawn
        // below, and this function returns only once no helper uses it.
        let job: *const (dyn Fn(usize) + Sync + 'static) =
            unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), _>(work) };
        {
            let mut state = lock(&self.shared.state);
            state.generation += 1;
            state.job = Some(JobRef(job));
            self.shared
                .published
                .store(state.generation, Ordering::Release);
        }
        self.shared.wake.notify_all();
        caller();
        let mut state = lock(&self.shared.state);
        state.job = None;
        while state.active > 0 {
            state = self
                .shared
                .idle
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        !std::mem::take(&mut state.panicked)
    }
}

fn helper_loop(shared: &CrewShared, index: usize) {
    let mut seen = 0u64;
    loop {
        let spinning = Instant::now();
        let mut spins = 0u32;
        while shared.published.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && spinning.elapsed() > SPIN {
                break;
            }
        }
        let job = {
            let mut state = lock(&shared.state);
            loop {
                if state.stop {
                    return;
                }
                if state.generation != seen {
                    seen = state.generation;
                    if let Some(job) = state.job {
                        state.active += 1;
                        break job;
                    }
                    // Withdrawn before this helper came: nothing to do.
                    continue;
                }
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        // SAFETY: `Crew::run` keeps the job alive until `active` is 0 again.
        let work = unsafe { &*job.0 };
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(index)));
        let mut state = lock(&shared.state);
        state.panicked |= done.is_err();
        state.active -= 1;
        if state.active == 0 {
            shared.idle.notify_all();
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
