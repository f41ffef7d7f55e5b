//! Measuring a child process the way the OS sees it: wall time, CPU time (user + system) and
//! peak RSS from `wait4`, and `VmRSS` sampled from `/proc/<pid>/status` while it runs.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// What one process cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Wall time from spawn to exit, seconds.
    pub wall_s: f64,
    /// User CPU seconds.
    pub user_s: f64,
    /// System CPU seconds.
    pub sys_s: f64,
    /// Peak resident set size, KiB: the largest `VmHWM` (the kernel's high-water mark of the
    /// process's own memory since its exec) read from `/proc/<pid>/status` every 20 ms.
    /// (`ru_maxrss` from `wait4` is not used: on Linux it starts from the *parent's*
    /// high-water mark at fork, so it would report the harness's memory, not the child's.)
    pub max_rss_kib: u64,
    /// `ru_maxrss` from `wait4`, KiB, for the record (see above).
    pub ru_maxrss_kib: u64,
    /// Exit code (or 128 + signal).
    pub exit_code: i32,
    /// `(seconds since spawn, VmRSS KiB)`, when sampling was asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rss_samples: Vec<(f64, u64)>,
}

impl Usage {
    /// User + system CPU seconds.
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    /// Peak RSS in MiB.
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// Spawns `command` with stdout and stderr into files and measures it until it exits.
pub fn run(command: &mut Command, stdout: &Path, stderr: &Path) -> Result<Usage> {
    let child = spawn(command, stdout, stderr)?;
    wait(child, None, |_, _| false)
}

/// Spawns `command` with stdout and stderr into files.
pub fn spawn(command: &mut Command, stdout: &Path, stderr: &Path) -> Result<(Child, Instant)> {
    let out = std::fs::File::create(stdout).with_context(|| stdout.display().to_string())?;
    let err = std::fs::File::create(stderr).with_context(|| stderr.display().to_string())?;
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    Ok((child, started))
}

/// Waits for a spawned child with `wait4`, sampling its `VmRSS` every `sample` (if given).
/// `poll` is called with the elapsed time and the latest `VmRSS` sample about every 200 ms; when it returns true the child
/// gets SIGINT (once).
pub fn wait(
    (child, started): (Child, Instant),
    sample: Option<Duration>,
    mut poll: impl FnMut(Duration, Option<u64>) -> bool + Send + 'static,
) -> Result<Usage> {
    let pid = child.id() as libc::pid_t;
    // The child is reaped below by wait4; `Child` is only dropped (it neither waits nor kills).
    drop(child);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        thread::spawn(move || {
            let mut samples = Vec::new();
            let mut hwm = 0;
            let mut next_sample = Duration::ZERO;
            let mut signalled = false;
            let mut next_poll = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                let elapsed = started.elapsed();
                if let Some(kib) = status_field(pid as u32, "VmHWM:") {
                    hwm = hwm.max(kib);
                }
                if let Some(every) = sample
                    && elapsed >= next_sample
                {
                    if let Some(kib) = vm_rss_kib(pid as u32) {
                        samples.push((elapsed.as_secs_f64(), kib));
                    }
                    next_sample += every;
                }
                if !signalled
                    && elapsed >= next_poll
                    && poll(elapsed, samples.last().map(|(_, kib)| *kib))
                {
                    signalled = true;
                    // SAFETY: kill(2) on our own, not yet reaped child.
                    unsafe { libc::kill(pid, libc::SIGINT) };
                }
                if elapsed >= next_poll {
                    next_poll = elapsed + Duration::from_millis(200);
                }
                thread::sleep(Duration::from_millis(20));
            }
            (samples, hwm)
        })
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = loop {
        // SAFETY: valid pointers to locals; pid is our child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (rss_samples, hwm) = watcher.join().unwrap_or_default();
    if reaped != pid {
        bail!("wait4({pid}) failed: {}", std::io::Error::last_os_error());
    }
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        wall_s: wall.as_secs_f64(),
        user_s: secs(usage.ru_utime),
        sys_s: secs(usage.ru_stime),
        max_rss_kib: hwm,
        ru_maxrss_kib: usage.ru_maxrss as u64,
        exit_code,
        rss_samples,
    })
}

/// `VmRSS` of a process, KiB.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// User + system CPU seconds a running process has used so far (`/proc/<pid>/stat`).
pub fn cpu_seconds_of(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Processes of others that would disturb a measurement: `rustc` or `cargo` (other than our
/// own ancestors), or anything else that used more than 5% of a core over a 2-second look
/// (an idle leftover server does not count).
pub fn busy_processes() -> Vec<String> {
    let mut ours = vec![std::process::id()];
    while let Some(parent) = parent_of(*ours.last().expect("not empty")) {
        if parent <= 1 || ours.contains(&parent) {
            break;
        }
        ours.push(parent);
    }
    let before = all_cpu_seconds();
    thread::sleep(Duration::from_secs(2));
    let after = all_cpu_seconds();
    let mut found = Vec::new();
    for (pid, (comm, cpu)) in &after {
        if ours.contains(pid) {
            continue;
        }
        let used = cpu - before.get(pid).map_or(0.0, |(_, c)| *c);
        if ["rustc", "cargo"].contains(&comm.as_str()) || used > 0.1 {
            found.push(format!("{pid} {comm} ({:.0}% CPU)", used / 2.0 * 100.0));
        }
    }
    found
}

fn all_cpu_seconds() -> std::collections::HashMap<u32, (String, f64)> {
    let mut all = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if let Some(cpu) = cpu_seconds_of(pid) {
            all.insert(pid, (comm.trim().to_string(), cpu));
        }
    }
    all
}

fn parent_of(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}
