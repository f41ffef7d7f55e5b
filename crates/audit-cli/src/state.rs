//! The state file that makes `trail export --state` resume exactly once.
//!
//! For each stream *and output* it records the stream's checkpoint together with the output
//! position that checkpoint matches (bytes and records written), and the window as the user
//! gave it. An entry's key is `<stream>@<tenant> -> <output>`, the output's resolved path, so
//! one stream exported to two files (an NDJSON archive and an OCSF copy) keeps two entries.
//!
//! The file may be shared by several `trail` processes (one per stream, say). Every change
//! holds an advisory lock on `<state>.lock` (beside the file) while it reads the file, changes
//! one entry, and writes the file back: nothing is ever written from a stale copy, so no
//! process loses another's entry. The file is replaced atomically — written to a temporary
//! file in the same directory, fsynced, renamed over the old one, and the directory fsynced —
//! so a crash leaves either the old state or the new one, never a mix. A temporary file that a
//! failed write or a dead process left behind is removed.
//!
//! The exporter commits in this order: write the page to the output, fsync the output, then
//! write the state. A crash between the two leaves output beyond the recorded position, which
//! the next run truncates before resuming from the recorded checkpoint: every record lands
//! exactly once and no partial line survives.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lock;

/// The state file's format version. Version 1 (keyed by stream only) is read and migrated;
/// any other version is refused.
pub const STATE_VERSION: u32 = 2;

/// Everything a state file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Per entry key ([`entry_key`]), where it stands.
    pub streams: BTreeMap<String, StreamState>,
}

/// The key of the entry of `stream` (`<stream>@<tenant>`) written to `output` (a resolved
/// path, or `-` for standard output).
///
/// ```
/// assert_eq!(
///     audit_cli::state::entry_key("zendesk-audit-logs@acme", "/srv/audit.ndjson"),
///     "zendesk-audit-logs@acme -> /srv/audit.ndjson"
/// );
/// ```
pub fn entry_key(stream: &str, output: &str) -> String {
    format!("{stream} -> {output}")
}

/// Where one stream stands in one output: the checkpoint to resume from and the output it
/// matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    /// The stream's checkpoint (an `audit_core` `Checkpoint`, kept as JSON); `null` while the
    /// output is claimed by a run that has committed nothing yet.
    #[serde(default)]
    pub checkpoint: Option<Value>,
    /// The output the checkpoint matches.
    pub output: OutputPosition,
    /// The window as the user gave it (absent in entries of version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<RecordedWindow>,
}

/// A window and mode as given on the command line (`--since 30d` stays `30d`), so that a run
/// given the same text again asks for the same window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedWindow {
    /// `--since` as given.
    pub since: String,
    /// `--until` as given; `None` for an open window.
    pub until: Option<String>,
    /// Whether the run followed new records.
    pub follow: bool,
    /// The filters that select the records (`--action create --action login` as
    /// `action=create,login`); `None` for every record. A resume must select the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// How much of an output file belongs to the committed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputPosition {
    /// The output's resolved path, or `-` for standard output.
    pub path: String,
    /// The output format (`ndjson` or `ocsf`); a resumed run must use the same.
    pub format: String,
    /// Bytes written up to the checkpoint.
    pub bytes: u64,
    /// Records written up to the checkpoint.
    pub records: u64,
    /// For a rotated output ([`crate::rotate`]): its sealed segments, and whether a seal
    /// follows this commit. `path` and `bytes` are then the live segment's, `records` counts
    /// the whole export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentPosition>,
    /// The length of the output's manifest ([`crate::evidence`]) at this commit; a resumed
    /// run cuts the manifest back to it. `None` for standard output, and for exports begun
    /// before trail kept evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<u64>,
}

/// Where a rotated output stands (see [`crate::rotate`] for how a seal survives a crash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPosition {
    /// Segments sealed so far; the next is numbered `sealed + 1`.
    pub sealed: u64,
    /// When the live segment got its first record (for `--rotate-interval`).
    pub live_since: chrono::DateTime<chrono::Utc>,
    /// Whether the live segment, committed at `bytes`, was being sealed as segment
    /// `sealed + 1` when this was recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealing: bool,
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, locking or writing failed.
    #[error("cannot {action} the state file {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a state file we understand.
    #[error(
        "the state file {path} is not valid ({detail}); if it is not a trail state file, \
         choose another --state path; to start the export over, delete it and the output"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// A state file on disk. It is not cached: each read or change locks the file and reads it
/// afresh, so processes sharing it see each other's entries.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl StateStore {
    /// Opens `path` (a missing file is an empty state: nothing exported yet) after checking
    /// that its directory exists and can be written, and removes the temporary files of
    /// writes that failed or whose process died.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let file_name = path
            .file_name()
            .ok_or_else(|| StateError::Invalid {
                path: path.to_path_buf(),
                detail: "it names no file".into(),
            })?
            .to_string_lossy()
            .into_owned();
        let store = StateStore {
            path: path.to_path_buf(),
            lock_path: path.with_file_name(format!("{file_name}.lock")),
        };
        {
            let _lock = store.lock()?;
            store.load()?;
            store.remove_stale_temporaries();
            // A write probe: the directory may exist and let us lock and read, yet refuse a
            // new file (read-only), which must be found out now, not after the export.
            let probe = store.temporary();
            File::create(&probe)
                .and_then(|_| fs::remove_file(&probe))
                .map_err(|source| StateError::Io {
                    action: "write beside",
                    path: store.path.clone(),
                    source,
                })?;
        }
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state as it is on disk now.
    pub fn read(&self) -> Result<State, StateError> {
        let _lock = self.lock()?;
        self.load()
    }

    /// Applies `change` to the state as it is on disk now, under the lock, and writes the
    /// result back (atomically) when `change` succeeds and changed something.
    pub fn update<T, E>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, E>,
    ) -> Result<Result<T, E>, StateError> {
        let _lock = self.lock()?;
        let before = self.load()?;
        let mut state = before.clone();
        let outcome = change(&mut state);
        if outcome.is_ok() && state != before {
            self.write_atomically(&state)?;
        }
        Ok(outcome)
    }

    /// Records `stream` for the entry `key`, leaving every other entry as it is on disk.
    pub fn commit(&self, key: &str, stream: StreamState) -> Result<(), StateError> {
        self.update(|state| {
            state.streams.insert(key.to_string(), stream);
            Ok::<_, std::convert::Infallible>(())
        })
        .map(|_| ())
    }

    /// Holds the lock until the returned guard is dropped. Creating the lock file is also the
    /// first sign that the directory is missing or not writable.
    fn lock(&self) -> Result<LockGuard<'_>, StateError> {
        let io = |action| {
            move |source| StateError::Io {
                action,
                path: self.path.clone(),
                source,
            }
        };
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&self.lock_path)
                .map_err(io("create the lock file of"))?;
            lock::lock(&file).map_err(io("lock"))?;
            // The lock file is removed along with an empty state (see `LockGuard`): a lock
            // taken on a file that is no longer at the path locks nothing; take it again.
            if lock::same_file(&file, &self.lock_path) {
                return Ok(LockGuard {
                    store: self,
                    _file: file,
                });
            }
        }
    }

    /// Reads the file (the caller holds the lock), migrating version 1.
    fn load(&self) -> Result<State, StateError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: STATE_VERSION,
                    streams: BTreeMap::new(),
                });
            }
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let invalid = |detail: String| StateError::Invalid {
            path: self.path.clone(),
            detail,
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        match state.version {
            STATE_VERSION => Ok(state),
            1 => Ok(migrate_v1(state)),
            other => Err(invalid(format!(
                "version {other} (this trail writes version {STATE_VERSION})"
            ))),
        }
    }

    /// This process's temporary file.
    fn temporary(&self) -> PathBuf {
        self.temporary_of(std::process::id())
    }

    fn temporary_of(&self, pid: u32) -> PathBuf {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        self.path.with_file_name(format!(".{name}.{pid}.tmp"))
    }

    /// Removes `.<state>.<pid>.tmp` files of processes that no longer run (the caller holds
    /// the lock, so no live writer of ours is between creating and renaming one).
    fn remove_stale_temporaries(&self) {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let prefix = format!(".{name}.");
        let directory = directory_of(&self.path);
        let Ok(entries) = fs::read_dir(&directory) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let pid = file_name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && (pid == std::process::id() || !lock::process_is_running(pid))
            {
                let _ = fs::remove_file(self.temporary_of(pid));
            }
        }
    }

    /// Writes `state` to a temporary file beside the state file, fsyncs it, renames it over
    /// the state file and fsyncs the directory, so that the file always holds a complete
    /// state. A failed write removes its temporary file.
    fn write_atomically(&self, state: &State) -> Result<(), StateError> {
        let io = |action: &'static str| {
            move |source| StateError::Io {
                action,
                path: self.path.clone(),
                source,
            }
        };
        if state.streams.is_empty() {
            // An empty state is no state file (and then no lock file, see `LockGuard`).
            return match fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove")(e)),
                _ => Ok(()),
            };
        }
        let temporary = self.temporary();
        let mut bytes = serde_json::to_vec_pretty(state).expect("the state serialises");
        bytes.push(b'\n');
        let written = File::create(&temporary)
            .map_err(io("write"))
            .and_then(|mut file| {
                file.write_all(&bytes).map_err(io("write"))?;
                file.sync_all().map_err(io("sync"))
            })
            .and_then(|()| fs::rename(&temporary, &self.path).map_err(io("replace")));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written?;
        // The rename is durable only once the directory entry is.
        File::open(directory_of(&self.path))
            .and_then(|d| d.sync_all())
            .map_err(io("sync the directory of"))
    }
}

/// The state lock, held while it lives. A directory holds a lock file only beside a state
/// file: when the state is (left) empty the guard removes the lock file before releasing it,
/// so a run that recorded nothing leaves nothing behind.
struct LockGuard<'a> {
    store: &'a StateStore,
    _file: File,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // `file` closes (releasing the lock) only after this: the removal happens locked.
        if !self.store.path.exists() {
            let _ = fs::remove_file(&self.store.lock_path);
        }
    }
}

/// The directory a file lives in (`.` for a bare name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Version 1 keyed entries by `<stream>@<tenant>` and kept the output path as given; version
/// 2 keys them by stream and resolved output path. Relative paths are resolved against the
/// current directory, where the run that wrote them was started in the usual case.
fn migrate_v1(old: State) -> State {
    let streams = old
        .streams
        .into_iter()
        .map(|(stream, mut entry)| {
            if entry.output.path != "-" {
                let given = Path::new(&entry.output.path);
                let resolved = crate::output::resolve_path(given)
                    .or_else(|_| std::path::absolute(given))
                    .unwrap_or_else(|_| given.to_path_buf());
                entry.output.path = resolved.display().to_string();
            }
            (entry_key(&stream, &entry.output.path), entry)
        })
        .collect();
    State {
        version: STATE_VERSION,
        streams,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(bytes: u64) -> StreamState {
        StreamState {
            checkpoint: Some(serde_json::json!({"at": bytes})),
            output: OutputPosition {
                path: "/out.ndjson".into(),
                format: "ndjson".into(),
                bytes,
                records: bytes / 10,
                segments: None,
                manifest: None,
            },
            window: None,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_missing_file_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("state.json")).unwrap();
        assert!(store.read().unwrap().streams.is_empty());
    }

    #[test]
    fn commits_survive_reopening_and_leave_only_the_file_and_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(&path).unwrap();
        store.commit("a@t", position(100)).unwrap();
        store.commit("b@t", position(7)).unwrap();
        store.commit("a@t", position(250)).unwrap();

        let reopened = StateStore::open(&path).unwrap().read().unwrap();
        assert_eq!(reopened.streams["a@t"], position(250));
        assert_eq!(reopened.streams["b@t"], position(7));
        assert_eq!(names(dir.path()), ["state.json", "state.json.lock"]);
    }

    #[test]
    fn an_empty_state_leaves_no_file_and_no_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(&path).unwrap();
        assert!(names(dir.path()).is_empty());
        store.commit("a@t", position(1)).unwrap();
        store
            .update(|state| {
                state.streams.clear();
                Ok::<_, ()>(())
            })
            .unwrap()
            .unwrap();
        assert!(names(dir.path()).is_empty());
        // And the next lock is a real one again.
        store.commit("b@t", position(2)).unwrap();
        assert_eq!(names(dir.path()), ["state.json", "state.json.lock"]);
    }

    #[test]
    fn two_stores_of_one_file_keep_each_others_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = StateStore::open(&path).unwrap();
        let second = StateStore::open(&path).unwrap();
        first.commit("a@t", position(1)).unwrap();
        second.commit("b@t", position(2)).unwrap();
        first.commit("a@t", position(3)).unwrap();
        let state = second.read().unwrap();
        assert_eq!(state.streams["a@t"], position(3));
        assert_eq!(state.streams["b@t"], position(2));
    }

    #[test]
    fn a_refused_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(&path).unwrap();
        let outcome = store
            .update(|state| {
                state.streams.insert("a@t".into(), position(1));
                Err::<(), _>("no")
            })
            .unwrap();
        assert_eq!(outcome, Err("no"));
        assert!(!path.exists());
    }

    #[test]
    fn version_1_entries_are_keyed_by_their_resolved_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let out = dir.path().join("out.ndjson");
        fs::write(&out, "{}\n").unwrap();
        let v1 = serde_json::json!({
            "version": 1,
            "streams": {"zendesk-audit-logs@acme": {
                "checkpoint": {"at": 1},
                "output": {"path": out.display().to_string(), "format": "ndjson", "bytes": 3, "records": 1}
            }}
        });
        fs::write(&path, v1.to_string()).unwrap();
        let state = StateStore::open(&path).unwrap().read().unwrap();
        let resolved = out.canonicalize().unwrap().display().to_string();
        let entry = &state.streams[&entry_key("zendesk-audit-logs@acme", &resolved)];
        assert_eq!(entry.output.path, resolved);
        assert_eq!(entry.checkpoint, Some(serde_json::json!({"at": 1})));
        assert_eq!(state.version, STATE_VERSION);
    }

    #[test]
    fn temporary_files_of_dead_processes_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".state.json.{dead}.tmp"));
        fs::write(&stale, "{").unwrap();
        // A live process's file is its write in progress: left alone.
        let live = dir.path().join(format!(
            ".state.json.{}.tmp",
            std::os::unix::process::parent_id()
        ));
        fs::write(&live, "{").unwrap();
        StateStore::open(&path).unwrap();
        assert!(!stale.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_missing_directory_is_refused_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let message = StateStore::open(&dir.path().join("nowhere/state.json"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("nowhere/state.json"), "{message}");
    }

    #[test]
    fn a_corrupt_file_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{\"version\": 2, \"streams\": {").unwrap();
        let message = StateStore::open(&path).unwrap_err().to_string();
        assert!(message.contains("is not valid"), "{message}");
        assert!(message.contains("delete it and the output"), "{message}");
    }

    #[test]
    fn a_state_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, r#"{"version": 9, "streams": {}}"#).unwrap();
        let message = StateStore::open(&path).unwrap_err().to_string();
        assert!(message.contains("version 9"), "{message}");
    }
}
