//! The lock file of an output folder: two runs writing into one folder would
//! mix and tear each other's files, so `rlc run` holds `.rlc.lock` (its
//! process id) while it writes there, and a second run is refused. A lock
//! left by a process that no longer exists (a run killed by SIGKILL) is
//! taken over.

use crate::exit::{ExitCode, Failure};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = ".rlc.lock";

/// The held lock; dropping it removes the file.
pub struct OutputLock {
    path: PathBuf,
}

/// Whether the process `pid` exists (a process of another user counts).
fn alive(pid: i32) -> bool {
    #[cfg(unix)]
    {
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 checks existence and permission only.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

impl OutputLock {
    /// Takes the lock of `dir` (which exists), or says which run holds it.
    pub fn acquire(dir: &Path) -> Result<OutputLock, Failure> {
        let path = dir.join(LOCK_FILE);
        let failure = |e: std::io::Error| {
            Failure::new(
                ExitCode::OutputError,
                format!("error: cannot create the lock file {}: {e}", path.display()),
            )
        };
        // Two tries: the second after removing a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    write!(file, "{}", std::process::id()).map_err(failure)?;
                    return Ok(OutputLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<i32>().ok());
                    match holder {
                        Some(pid) if alive(pid) => {
                            return Err(Failure::new(
                                ExitCode::OutputInUse,
                                format!(
                                    "error: the output folder {} is in use by another run (process {pid}); wait for it to end or choose another --output-dir (a lock left by a run that no longer exists is taken over: {})",
                                    dir.display(),
                                    path.display()
                                ),
                            ))
                        }
                        // A dead holder, or a lock being written this instant
                        // (no pid yet): a dead holder's lock is removed; an
                        // empty one is left to its writer.
                        Some(_) => {
                            let _ = std::fs::remove_file(&path);
                        }
                        None => {
                            return Err(Failure::new(
                                ExitCode::OutputInUse,
                                format!(
                                    "error: the output folder {} is in use by another run (its lock file {} names no process; remove it if no run is writing there)",
                                    dir.display(),
                                    path.display()
                                ),
                            ))
                        }
                    }
                }
                Err(e) => return Err(failure(e)),
            }
        }
        Err(Failure::new(
            ExitCode::OutputInUse,
            format!(
                "error: the output folder {} is in use by another run (its lock file {} came back)",
                dir.display(),
                path.display()
            ),
        ))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
