//! The state file that makes `trail export --state` resume exactly once.
//!
//! For each stream it records the stream's checkpoint together with the output position that
//! checkpoint matches (bytes and records written). The file is replaced atomically — written to
//! a temporary file in the same directory, fsynced, renamed over the old one, and the directory
//! fsynced — so a crash leaves either the old state or the new one, never a mix.
//!
//! The exporter commits in this order: write the page to the output, fsync the output, then
//! write the state. A crash between the two leaves output beyond the recorded position, which
//! the next run truncates before resuming from the recorded checkpoint: every record lands
//! exactly once and no partial line survives.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state file's format version; a file with another version is refused.
pub const STATE_VERSION: u32 = 1;

/// Everything a state file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Per stream key (`<stream>@<tenant>`), where it stands.
    pub streams: BTreeMap<String, StreamState>,
}

/// Where one stream stands: the checkpoint to resume from and the output it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    /// The stream's checkpoint (an `audit_core` `Checkpoint`, kept as JSON).
    pub checkpoint: Value,
    /// The output the checkpoint matches.
    pub output: OutputPosition,
}

/// How much of an output file belongs to the committed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputPosition {
    /// The output path, or `-` for standard output.
    pub path: String,
    /// The output format (`ndjson` or `ocsf`); a resumed run must use the same.
    pub format: String,
    /// Bytes written up to the checkpoint.
    pub bytes: u64,
    /// Records written up to the checkpoint.
    pub records: u64,
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
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

/// A state file on disk, read once and rewritten atomically on every commit.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    state: State,
}

impl StateStore {
    /// Opens `path`; a missing file is an empty state (nothing exported yet).
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let state = match fs::read(path) {
            Ok(bytes) => {
                let state: State =
                    serde_json::from_slice(&bytes).map_err(|e| StateError::Invalid {
                        path: path.to_path_buf(),
                        detail: e.to_string(),
                    })?;
                if state.version != STATE_VERSION {
                    return Err(StateError::Invalid {
                        path: path.to_path_buf(),
                        detail: format!(
                            "version {} (this trail writes version {STATE_VERSION})",
                            state.version
                        ),
                    });
                }
                state
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State {
                version: STATE_VERSION,
                streams: BTreeMap::new(),
            },
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(StateStore {
            path: path.to_path_buf(),
            state,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the stream `key` stands, if it has been committed before.
    pub fn stream(&self, key: &str) -> Option<&StreamState> {
        self.state.streams.get(key)
    }

    /// Records `stream` for `key` and replaces the file atomically.
    pub fn commit(&mut self, key: &str, stream: StreamState) -> Result<(), StateError> {
        self.state.streams.insert(key.to_string(), stream);
        write_atomically(&self.path, &self.state)
    }
}

/// Writes `state` to a temporary file beside `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory, so that `path` always holds a complete state.
fn write_atomically(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |action: &'static str| {
        move |source| StateError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let temporary = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut bytes = serde_json::to_vec_pretty(state).expect("the state serialises");
    bytes.push(b'\n');
    let mut file = File::create(&temporary).map_err(io("write"))?;
    file.write_all(&bytes).map_err(io("write"))?;
    file.sync_all().map_err(io("sync"))?;
    drop(file);
    fs::rename(&temporary, path).map_err(io("replace"))?;
    // The rename is durable only once the directory entry is.
    File::open(&directory)
        .and_then(|d| d.sync_all())
        .map_err(io("sync the directory of"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(bytes: u64) -> StreamState {
        StreamState {
            checkpoint: serde_json::json!({"at": bytes}),
            output: OutputPosition {
                path: "out.ndjson".into(),
                format: "ndjson".into(),
                bytes,
                records: bytes / 10,
            },
        }
    }

    #[test]
    fn a_missing_file_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("state.json")).unwrap();
        assert!(store.stream("zendesk-audit-logs@acme").is_none());
    }

    #[test]
    fn commits_survive_reopening_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut store = StateStore::open(&path).unwrap();
        store.commit("a@t", position(100)).unwrap();
        store.commit("b@t", position(7)).unwrap();
        store.commit("a@t", position(250)).unwrap();

        let reopened = StateStore::open(&path).unwrap();
        assert_eq!(reopened.stream("a@t"), Some(&position(250)));
        assert_eq!(reopened.stream("b@t"), Some(&position(7)));
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_corrupt_file_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{\"version\": 1, \"streams\": {").unwrap();
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
