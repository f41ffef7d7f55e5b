//! The health of a run, for service managers and probes: a status file (`--status-file`)
//! rewritten after each commit and each change of a stream's state, and `sd_notify` messages
//! (`READY=1`, `STATUS=…`, `WATCHDOG=1`) when systemd's `NOTIFY_SOCKET` is set.
//!
//! The status file is JSON, written to a temporary file beside it and renamed into place, so
//! a reader never sees half of it:
//!
//! ```json
//! {
//!   "written_at": "2026-12-06T07:00:00Z",
//!   "pid": 4242,
//!   "streams": {
//!     "zendesk-audit-logs@acme": {
//!       "output": "/var/lib/trail/acme.ndjson",
//!       "state": "waiting",
//!       "records_committed": 1200,
//!       "last_page_at": "2026-12-06T06:58:12Z",
//!       "last_error": "listAuditLogs: could not connect: …",
//!       "waiting_since": "2026-12-06T06:58:40Z",
//!       "next_attempt_at": "2026-12-06T07:00:21Z"
//!     }
//!   }
//! }
//! ```
//!
//! Errors are the messages `trail` prints, which never hold credentials.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// What a stream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamHealth {
    /// Reading and writing (or polling for new records).
    Running,
    /// Waiting out a transient failure (a vendor outage) before trying again.
    Waiting,
    /// Ended on an error.
    Failed,
    /// Finished its window.
    Done,
    /// Stopped by a signal after committing.
    Stopped,
}

/// One stream's entry in the status file.
#[derive(Debug, Clone, Serialize)]
struct StreamStatus {
    output: String,
    state: StreamHealth,
    records_committed: u64,
    #[serde(serialize_with = "time_or_null")]
    last_page_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    #[serde(serialize_with = "time_or_null")]
    waiting_since: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time_or_null")]
    next_attempt_at: Option<DateTime<Utc>>,
}

fn time_or_null<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&rfc3339(*time)),
        None => serializer.serialize_none(),
    }
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The health of every stream of a run, and where it is reported.
#[derive(Debug, Default)]
pub struct Health {
    file: Option<PathBuf>,
    notify: Option<Notifier>,
    streams: Mutex<BTreeMap<String, StreamStatus>>,
}

impl Health {
    /// Reports to `file` (if any) and to `NOTIFY_SOCKET` (if set in the environment).
    pub fn new(file: Option<PathBuf>, notify_socket: Option<String>) -> Self {
        Health {
            file,
            notify: notify_socket.map(Notifier),
            streams: Mutex::new(BTreeMap::new()),
        }
    }

    /// Reports nowhere.
    pub fn none() -> Self {
        Health::default()
    }

    /// Checks that the status file can be written (before any request): a usage error
    /// otherwise.
    pub fn check(&self) -> Result<(), String> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        write_atomically(file, b"{}\n").map_err(|e| {
            format!(
                "cannot write the status file {}: {e}; choose a --status-file path in an \
                 existing, writable directory",
                file.display()
            )
        })
    }

    /// A stream is no longer this run's (a worker handed it to another): its entry goes.
    pub fn forget(&self, key: &str) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if streams.remove(key).is_some() {
            self.publish(streams, true);
        }
    }

    /// A stream starts: `running`, with the records its output already holds.
    pub fn start(&self, key: &str, output: &str, records: u64) {
        self.change(key, |status| {
            *status = StreamStatus {
                output: output.to_string(),
                state: StreamHealth::Running,
                records_committed: records,
                last_page_at: None,
                last_error: None,
                waiting_since: None,
                next_attempt_at: None,
            }
        });
    }

    /// Every stream has started: tells the service manager the service is ready.
    pub fn ready(&self) {
        self.notify("READY=1");
    }

    /// A page was committed: the stream runs, with `records` in its output.
    pub fn committed(&self, key: &str, records: u64) {
        self.change(key, |status| {
            status.state = StreamHealth::Running;
            status.records_committed = records;
            status.last_page_at = Some(Utc::now());
            status.waiting_since = None;
            status.next_attempt_at = None;
        });
    }

    /// The stream waits out `error` since `since`, and tries again after `next`.
    pub fn waiting(&self, key: &str, error: &str, since: DateTime<Utc>, next: Duration) {
        let next = Utc::now() + chrono::TimeDelta::from_std(next).unwrap_or_default();
        self.change(key, |status| {
            status.state = StreamHealth::Waiting;
            status.last_error = Some(error.to_string());
            status.waiting_since = Some(since);
            status.next_attempt_at = Some(next);
        });
    }

    /// The stream ended: `done`, `stopped`, or `failed` with its error.
    pub fn ended(&self, key: &str, state: StreamHealth, error: Option<&str>) {
        self.change(key, |status| {
            status.state = state;
            status.next_attempt_at = None;
            if let Some(error) = error {
                status.last_error = Some(error.to_string());
            }
        });
    }

    /// Tells the watchdog the process is alive (`WATCHDOG=1`).
    pub fn heartbeat(&self) {
        self.notify("WATCHDOG=1");
    }

    fn change(&self, key: &str, change: impl FnOnce(&mut StreamStatus)) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let before = streams.get(key).map(|status| status.state);
        let status = streams.entry(key.to_string()).or_insert(StreamStatus {
            output: String::new(),
            state: StreamHealth::Running,
            records_committed: 0,
            last_page_at: None,
            last_error: None,
            waiting_since: None,
            next_attempt_at: None,
        });
        change(status);
        let changed = Some(status.state) != before;
        self.publish(streams, changed);
    }

    /// Rewrites the status file and tells systemd (`changed`: a stream changed state).
    fn publish(
        &self,
        streams: std::sync::MutexGuard<'_, BTreeMap<String, StreamStatus>>,
        changed: bool,
    ) {
        if let Some(file) = &self.file {
            let document = serde_json::json!({
                "written_at": rfc3339(Utc::now()),
                "pid": std::process::id(),
                "streams": &*streams,
            });
            let mut text = serde_json::to_vec_pretty(&document).expect("the status is JSON");
            text.push(b'\n');
            if let Err(error) = write_atomically(file, &text) {
                tracing::warn!(%error, file = %file.display(), "cannot write the status file");
            }
        }
        if self.notify.is_some() {
            let summary = summary(&streams);
            drop(streams);
            if changed {
                self.notify(&format!("STATUS={summary}"));
            }
            self.heartbeat();
        }
    }

    fn notify(&self, message: &str) {
        if let Some(notifier) = &self.notify
            && let Err(error) = notifier.send(message)
        {
            tracing::debug!(%error, "cannot notify the service manager");
        }
    }
}

/// `STATUS=` text: how many streams are in each state.
fn summary(streams: &BTreeMap<String, StreamStatus>) -> String {
    let count = |state| streams.values().filter(|s| s.state == state).count();
    let parts: Vec<String> = [
        (StreamHealth::Running, "running"),
        (StreamHealth::Waiting, "waiting out an outage"),
        (StreamHealth::Failed, "failed"),
        (StreamHealth::Done, "done"),
        (StreamHealth::Stopped, "stopped"),
    ]
    .into_iter()
    .filter_map(|(state, word)| match count(state) {
        0 => None,
        n => Some(format!("{n} {word}")),
    })
    .collect();
    format!("streams: {}", parts.join(", "))
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "status".into());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

/// systemd's notification socket (`NOTIFY_SOCKET`: a path, or `@name` for an abstract one).
#[derive(Debug)]
struct Notifier(String);

impl Notifier {
    fn send(&self, message: &str) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            use std::os::unix::net::{SocketAddr, UnixDatagram};
            let socket = UnixDatagram::unbound()?;
            let address = match self.0.strip_prefix('@') {
                Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
                None => SocketAddr::from_pathname(&self.0)?,
            };
            socket.send_to_addr(message.as_bytes(), &address)?;
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = message;
            Ok(())
        }
    }
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`), halved as it recommends.
pub fn watchdog_interval(watchdog_usec: Option<String>) -> Option<Duration> {
    let usec: u64 = watchdog_usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_file_holds_every_stream_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let health = Health::new(Some(path.clone()), None);
        health.check().unwrap();
        health.start("a@x", "a.ndjson", 5);
        health.start("b@x", "b.ndjson", 0);
        health.committed("a@x", 7);
        health.waiting(
            "b@x",
            "b: could not connect",
            Utc::now(),
            Duration::from_secs(30),
        );
        let status: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(status["streams"]["a@x"]["state"], "running");
        assert_eq!(status["streams"]["a@x"]["records_committed"], 7);
        assert!(status["streams"]["a@x"]["last_page_at"].is_string());
        assert_eq!(status["streams"]["b@x"]["state"], "waiting");
        assert_eq!(
            status["streams"]["b@x"]["last_error"],
            "b: could not connect"
        );
        assert!(status["streams"]["b@x"]["next_attempt_at"].is_string());
        assert_eq!(
            summary(&health.streams.lock().unwrap()),
            "streams: 1 running, 1 waiting out an outage"
        );
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "only the status file: {files:?}");
    }

    #[test]
    fn an_unwritable_status_file_is_refused_up_front() {
        let health = Health::new(Some("/nonexistent-dir/status.json".into()), None);
        let error = health.check().unwrap_err();
        assert!(error.contains("choose a --status-file path"), "{error}");
    }

    #[test]
    fn the_watchdog_is_pinged_at_half_its_interval() {
        assert_eq!(
            watchdog_interval(Some("30000000".into())),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval(Some("0".into())), None);
        assert_eq!(watchdog_interval(None), None);
    }
}
