//! One output file belongs to one export: the rules that keep two exports (or a new export and
//! an old file) from writing over each other, checked before the first request.
//!
//! Paths are compared once resolved ([`resolve_path`]), so `dup.ndjson` and `./dup.ndjson`
//! are one file. An output is refused when
//! - it is the state file, or another output of the same run;
//! - another `trail` process is writing it (each run holds an advisory lock on its outputs);
//! - another entry of the state file records it (a second owner);
//! - it already holds data that no entry of the state file records — a new or mistyped
//!   `--state`, or no `--state` at all — unless `--overwrite` says to replace it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::errors::CliError;
use crate::lock;
use crate::output::resolve_path;
use crate::state::{State, StreamState};

/// An output this run may write: resolved, opened and locked (standard output needs none).
#[derive(Debug)]
pub struct OutputClaim {
    /// The path as given (`None`: standard output).
    pub given: Option<PathBuf>,
    /// The resolved path, as the state file records it (`-` for standard output).
    pub resolved: String,
    /// The open file, locked for as long as it is open.
    file: Option<File>,
    /// Its length when claimed.
    length: u64,
    /// Whether this run created it (a run that ends before writing removes it again).
    created: bool,
}

impl OutputClaim {
    /// The file's length when it was claimed.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The open, locked file (once: the writer takes it).
    pub fn take_file(&mut self) -> Option<File> {
        self.file.take()
    }

    /// Removes the file again if this run created it and nothing was written (a run that
    /// failed before its first page leaves the directory as it found it).
    pub fn release(&mut self) {
        if self.created
            && let Some(path) = &self.given
            && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
        {
            let _ = std::fs::remove_file(path);
        }
        self.file = None;
    }

    /// Checks that `key` may write this output given the entries of `state` (`None` without
    /// `--state`), and returns the entry to resume, if `key` has one.
    pub fn check_owner<'s>(
        &self,
        key: &str,
        state: Option<(&'s State, &Path)>,
        overwrite: bool,
    ) -> Result<Option<&'s StreamState>, CliError> {
        if self.given.is_none() {
            return Ok(state.and_then(|(state, _)| state.streams.get(key)));
        }
        let shown = self.shown();
        if let Some((state, state_path)) = state {
            if let Some(entry) = state.streams.get(key) {
                return Ok(Some(entry));
            }
            if let Some((owner, _)) = state
                .streams
                .iter()
                .find(|(_, entry)| entry.output.path == self.resolved)
            {
                let owner = owner.split(" -> ").next().unwrap_or(owner);
                return Err(CliError::usage(
                    format!(
                        "{shown} is the output of {owner} in the state file {}; one file holds \
                         one export",
                        state_path.display()
                    ),
                    Some("give this export its own --out".to_string()),
                ));
            }
        }
        if self.length > 0 && !overwrite {
            let recorded = match state {
                Some((_, state_path)) => {
                    format!(
                        "no entry of the state file {} records",
                        state_path.display()
                    )
                }
                None => "no --state records".to_string(),
            };
            return Err(CliError::usage(
                format!(
                    "{shown} already holds {} bytes that {recorded}: this run would replace them",
                    self.length
                ),
                Some(
                    "to continue the export that wrote it, pass the --state file it used; to \
                     replace it, add --overwrite; or choose another --out"
                        .to_string(),
                ),
            ));
        }
        Ok(None)
    }

    fn shown(&self) -> String {
        self.given
            .as_deref()
            .map_or_else(|| "-".to_string(), |p| p.display().to_string())
    }
}

/// Resolves, checks and locks the outputs of one run (`None`: standard output), before any
/// request. `state` is the state file, which no output may be.
pub fn claim_outputs(
    outputs: &[Option<&Path>],
    state: Option<&Path>,
) -> Result<Vec<OutputClaim>, CliError> {
    let state = state.and_then(|path| resolve_path(path).ok());
    let mut resolved: Vec<Option<PathBuf>> = Vec::new();
    for out in outputs {
        let Some(out) = out else {
            resolved.push(None);
            continue;
        };
        let path = resolve(out)?;
        if state.as_ref() == Some(&path) {
            return Err(CliError::usage(
                format!(
                    "--out {} is the state file: the export would overwrite its own state",
                    out.display()
                ),
                Some("give the output and the state file two different paths".to_string()),
            ));
        }
        if let Some(other) = resolved
            .iter()
            .position(|other| other.as_ref() == Some(&path))
        {
            return Err(CliError::usage(
                format!(
                    "[[export]] #{} and #{} both write to {} (as {} and {})",
                    other + 1,
                    resolved.len() + 1,
                    path.display(),
                    outputs[other].expect("a file output").display(),
                    out.display()
                ),
                Some("give each [[export]] its own `out` file".to_string()),
            ));
        }
        resolved.push(Some(path));
    }
    let mut claims = Vec::new();
    for (given, resolved) in outputs.iter().zip(resolved) {
        let claim = match (given, resolved) {
            (Some(given), Some(resolved)) => open_locked(given, resolved),
            _ => Ok(OutputClaim {
                given: None,
                resolved: "-".into(),
                file: None,
                length: 0,
                created: false,
            }),
        };
        match claim {
            Ok(claim) => claims.push(claim),
            Err(error) => {
                claims.iter_mut().for_each(OutputClaim::release);
                return Err(error);
            }
        }
    }
    Ok(claims)
}

fn unwritable(path: &Path, detail: impl std::fmt::Display) -> CliError {
    CliError::usage(
        format!("cannot write the output {}: {detail}", path.display()),
        Some("choose a --out path in an existing, writable directory".to_string()),
    )
}

fn resolve(path: &Path) -> Result<PathBuf, CliError> {
    let resolved = resolve_path(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            let directory = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            CliError::usage(
                format!(
                    "cannot write the output {}: the directory {} does not exist",
                    path.display(),
                    directory.display()
                ),
                Some(format!(
                    "create it first (mkdir -p {}), or choose an output in an existing directory",
                    directory.display()
                )),
            )
        } else {
            unwritable(path, error)
        }
    })?;
    if resolved.is_dir() {
        return Err(unwritable(path, "it is a directory"));
    }
    Ok(resolved)
}

/// Opens (creating, never truncating) and locks one output.
fn open_locked(given: &Path, resolved: PathBuf) -> Result<OutputClaim, CliError> {
    let existed = resolved.exists();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&resolved)
        .map_err(|e| unwritable(given, e))?;
    if !lock::try_lock(&file).map_err(|e| unwritable(given, e))? {
        return Err(CliError::usage(
            format!(
                "another trail process is writing {}; one file holds one export",
                given.display()
            ),
            Some("wait for that export to end, or give this one another --out".to_string()),
        ));
    }
    let length = file.metadata().map_err(|e| unwritable(given, e))?.len();
    Ok(OutputClaim {
        given: Some(given.to_path_buf()),
        resolved: resolved.display().to_string(),
        file: Some(file),
        length,
        created: !existed,
    })
}
