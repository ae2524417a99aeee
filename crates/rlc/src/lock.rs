//! The lock file of an output: two runs writing into one folder (or one
//! recovery table) would mix and tear each other's files, so `rlc run` holds
//! `.rlc.lock` in its folder, and `rlc recover` `TABLE.lock` beside its table,
//! while it writes, and a second run is refused. The lock names its process
//! and host (`pid@host`): a lock left by a process of this host that no longer
//! exists (a run killed by SIGKILL) is taken over; one of another host (a
//! cluster's shared folder) cannot be checked and is respected.

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

/// This machine's name, as the lock records it.
fn host() -> String {
    #[cfg(unix)]
    {
        let mut name = [0u8; 256];
        // SAFETY: the buffer is valid for its length; the name is NUL-terminated
        // when it fits.
        if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0 {
            let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
            return String::from_utf8_lossy(&name[..end]).into_owned();
        }
    }
    String::new()
}

impl OutputLock {
    /// Takes the lock of the folder `dir` (which exists), or says which run holds it.
    pub fn acquire(dir: &Path) -> Result<OutputLock, Failure> {
        let what = format!("the output folder {}", dir.display());
        Self::acquire_at(dir.join(LOCK_FILE), &what, "--output-dir")
    }

    /// Takes the lock of the file `output` (`output.lock` beside it).
    pub fn acquire_for_file(output: &Path) -> Result<OutputLock, Failure> {
        let mut path = output.as_os_str().to_owned();
        path.push(".lock");
        let what = format!("the output file {}", output.display());
        Self::acquire_at(PathBuf::from(path), &what, "--output")
    }

    /// Takes the lock file `path` for the output described by `what`
    /// (`option` chooses another one).
    fn acquire_at(path: PathBuf, what: &str, option: &str) -> Result<OutputLock, Failure> {
        let failure = |e: std::io::Error| {
            Failure::new(
                ExitCode::OutputError,
                format!("error: cannot create the lock file {}: {e}", path.display()),
            )
        };
        let this_host = host();
        let in_use = |holder: &str| {
            Failure::new(
                ExitCode::OutputInUse,
                format!(
                    "error: {what} is in use by another run ({holder}); wait for it to end or choose another {option} (a lock left by a run of this machine that no longer exists is taken over; one of another machine is removed by hand: {})",
                    path.display()
                ),
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
                    write!(file, "{}@{this_host}", std::process::id()).map_err(failure)?;
                    return Ok(OutputLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let (pid, holder_host) = match text.trim().split_once('@') {
                        Some((pid, host)) => (pid, host),
                        // Written by an rlc that recorded no host.
                        None => (text.trim(), this_host.as_str()),
                    };
                    match pid.parse::<i32>() {
                        Ok(pid) if holder_host != this_host => {
                            return Err(in_use(&format!("process {pid} on {holder_host}")))
                        }
                        Ok(pid) if alive(pid) => return Err(in_use(&format!("process {pid}"))),
                        // A dead holder's lock is removed.
                        Ok(_) => {
                            let _ = std::fs::remove_file(&path);
                        }
                        // A lock being written this instant (no pid yet) is
                        // left to its writer.
                        Err(_) => {
                            return Err(in_use(&format!(
                                "its lock file {} names no process; remove it if no run is writing there",
                                path.display()
                            )))
                        }
                    }
                }
                Err(e) => return Err(failure(e)),
            }
        }
        Err(in_use(&format!(
            "its lock file {} came back",
            path.display()
        )))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
