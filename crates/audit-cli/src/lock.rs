//! Advisory locks (`flock`) between `trail` processes, and whether a process still runs.
//!
//! `flock` locks belong to an open file, not to a process: two opens of one file in the same
//! process exclude each other too, and the kernel drops a lock when its file is closed, a
//! killed process included — so a lock never outlives the run that took it.

use std::fs::File;
use std::io;

/// Waits until `file` is locked exclusively by this open file.
pub fn lock(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive)?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Locks `file` exclusively if no one else holds it; `false` when another open file does.
pub fn try_lock(file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(true)
    }
}

/// Whether `file` is (still) the file at `path`: a lock file may be removed and created anew
/// between opening it and locking it.
pub fn same_file(file: &File, path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Whether the process `pid` runs (it may belong to another user). Unknown means running:
/// the caller only uses `false` to remove what a dead process left behind.
pub fn process_is_running(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return true;
        };
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_file_cannot_take_a_held_lock_until_it_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = File::create(&path).unwrap();
        let second = File::open(&path).unwrap();
        assert!(try_lock(&first).unwrap());
        assert!(!try_lock(&second).unwrap());
        drop(first);
        assert!(try_lock(&second).unwrap());
    }

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        assert!(process_is_running(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_is_running(pid));
    }
}
