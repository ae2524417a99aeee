//! Termination signals. Ctrl-C (SIGINT), SIGTERM (what a cluster scheduler
//! sends at a time limit or on preemption) and SIGHUP (a closed terminal)
//! all stop a run the same way: the chains stop after their current
//! iteration, every file is completed and flushed, rlc says so and exits
//! with 128 + the signal's number (130, 143, 129). A second signal while
//! stopping ends the process at once; the files are still valid up to their
//! last whole row, since rows are written whole.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the first signal: the flag the sampler polls.
static STOP: AtomicBool = AtomicBool::new(false);
/// The number of the first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomics and `_exit` here: both are async-signal-safe. The signal
    // is recorded before the flag is set, so whoever sees the flag knows it.
    if SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // SAFETY: `_exit` is async-signal-safe and ends the process.
        unsafe { libc::_exit(128 + signal) };
    }
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handlers (once; later calls return the same flag) and
/// returns the stop flag they set.
pub fn install() -> &'static AtomicBool {
    #[cfg(unix)]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: a zeroed `sigaction` is a valid empty one; the
                // handler only touches atomics and calls `_exit`.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                    action.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut action.sa_mask);
                    libc::sigaction(signal, &action, std::ptr::null_mut());
                }
            }
        });
    }
    &STOP
}

/// The signal that stopped the run, if one did.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name and what sent it, for the message.
pub fn describe(signal: i32) -> &'static str {
    #[cfg(unix)]
    {
        if signal == libc::SIGTERM {
            return "SIGTERM (a termination request, as a scheduler sends at its time limit)";
        }
        if signal == libc::SIGHUP {
            return "SIGHUP (the terminal was closed)";
        }
    }
    "Ctrl-C"
}
