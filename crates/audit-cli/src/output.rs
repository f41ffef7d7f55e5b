//! Where exported events go: a file or standard output, one JSON document per line.
//!
//! A file output knows how many bytes and records it holds. Resuming truncates the file to the
//! position the state file recorded, dropping whatever a killed run wrote after its last
//! commit (including a partial line), before appending again. A run whose write fails (a full
//! disk) [rolls back](Output::roll_back) to its last commit itself. Records that did not decode
//! as sent carry their original bytes into a quarantine file beside the output
//! ([`Quarantine`]), committed with it. A rotated output ([`Segments`]) is a live segment
//! that is sealed into numbered files at commits.
//!
//! Standard output cannot be cut back: a resumed export to it replays what the killed run
//! wrote after its last commit (at least once). When its reader goes away (`trail export |
//! head -n 2`), writing fails with [`OutputError::Closed`], which ends the export quietly.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use audit_core::AuditEvent;

use crate::ocsf::to_ocsf;
use crate::quarantine::Quarantine;
use crate::rotate::Segments;
use crate::state::SegmentPosition;

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One `AuditEvent` JSON object per line.
    #[default]
    Ndjson,
    /// One OCSF event JSON object per line.
    Ocsf,
}

impl Format {
    /// Appends `event` to `line` as one JSON object in this format (no newline).
    pub fn encode(self, event: &AuditEvent, line: &mut Vec<u8>) {
        match self {
            Format::Ndjson => event.write_json(line),
            Format::Ocsf => serde_json::to_writer(line, &to_ocsf(event)),
        }
        .expect("events serialise to JSON");
    }
}

/// Why an output could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file could not be opened, written or synced.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The output.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The file is shorter than the state says: it was replaced or edited since.
    #[error(
        "{path} holds {actual} bytes but the state file says {expected} were written: the output \
         was changed since the last run. Restore it, or delete both it and the state file to \
         export again from the start"
    )]
    Shrunk {
        /// The output.
        path: String,
        /// Bytes the state file recorded.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// The reader of standard output closed it (`| head`): nobody wants more.
    #[error("the reader of standard output closed it")]
    Closed,
}

enum Target {
    File {
        file: BufWriter<File>,
        path: PathBuf,
    },
    Stdout(BufWriter<io::Stdout>),
}

/// An open output with its position.
pub struct Output {
    target: Target,
    format: Format,
    bytes: u64,
    records: u64,
    /// Bytes made durable by the last [`Output::commit`].
    committed: u64,
    line: Vec<u8>,
    quarantine: Quarantine,
    /// Records of this run written with a `decode_issue`.
    marked: u64,
    /// The sealed segments of a rotated output (whose `target` is the live segment).
    segments: Option<Segments>,
}

/// The path `path` names once symbolic links, `.` and `..` are resolved, whether or not the
/// file exists yet (its directory must): `dup.ndjson` and `./dup.ndjson` are one file.
pub fn resolve_path(path: &Path) -> io::Result<PathBuf> {
    match path.canonicalize() {
        Ok(resolved) => return Ok(resolved),
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it names no file"))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok(directory.canonicalize()?.join(name))
}

/// The offset of the first line after byte `from` of the output at `path` that trail did not
/// write in `format`, if any. What may follow the last commit is what an interrupted run
/// wrote: whole lines that are events of the format (a JSON object with `id` and `source`, or
/// for OCSF `class_uid` and `metadata`) and at most one unfinished line that starts like one
/// (`{"`, or its first byte). A line appended by hand is not, and resuming must not cut it silently.
pub fn foreign_line(path: &Path, from: u64, format: Format) -> io::Result<Option<u64>> {
    use std::io::{BufRead, BufReader};
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut offset = from;
    let keys = match format {
        Format::Ndjson => ["id", "source"],
        Format::Ocsf => ["class_uid", "metadata"],
    };
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        let ours = if line.ends_with(b"\n") {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&line)
                .is_ok_and(|object| keys.iter().all(|key| object.contains_key(*key)))
        } else {
            // An unfinished line is a prefix of an event line: `{"…`, or just `{`.
            line.starts_with(b"{\"") || b"{\"".starts_with(&line)
        };
        if !ours {
            return Ok(Some(offset));
        }
        offset += read as u64;
    }
}

impl Output {
    /// Opens `path` (standard output when `None`). With `resume` = `(bytes, records)` the file
    /// is truncated to `bytes` and appended to; without, it is created or emptied.
    pub fn open(
        path: Option<&Path>,
        format: Format,
        resume: Option<(u64, u64)>,
    ) -> Result<Self, OutputError> {
        let Some(path) = path else {
            let (bytes, records) = resume.unwrap_or((0, 0));
            return Ok(Output::new(
                Target::Stdout(BufWriter::new(io::stdout())),
                format,
                (bytes, records),
                Quarantine::for_stdout(),
            ));
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| OutputError::Io {
                action: "open",
                path: path.display().to_string(),
                source,
            })?;
        Output::from_file(file, path, format, resume, None)
    }

    /// Writes to `file`, already open for writing at `path` (and perhaps locked): with
    /// `resume` = `(bytes, records)` it is truncated to `bytes` and appended to; without, it
    /// is emptied. With `segments`, `path` is the live segment of a rotated output.
    pub fn from_file(
        mut file: File,
        path: &Path,
        format: Format,
        resume: Option<(u64, u64)>,
        segments: Option<Segments>,
    ) -> Result<Self, OutputError> {
        let (bytes, records) = resume.unwrap_or((0, 0));
        let shown = path.display().to_string();
        let io = |action: &'static str| {
            let shown = shown.clone();
            move |source| OutputError::Io {
                action,
                path: shown,
                source,
            }
        };
        let actual = file.metadata().map_err(io("inspect"))?.len();
        if actual < bytes {
            return Err(OutputError::Shrunk {
                path: shown,
                expected: bytes,
                actual,
            });
        }
        file.set_len(bytes).map_err(io("truncate"))?;
        file.seek(SeekFrom::Start(bytes)).map_err(io("seek in"))?;
        let quarantine_path =
            Quarantine::path_for(Some(segments.as_ref().map_or(path, Segments::base)));
        let quarantine =
            Quarantine::open(quarantine_path.clone(), resume.map(|(_, records)| records)).map_err(
                |source| OutputError::Io {
                    action: "prepare the quarantine file",
                    path: quarantine_path.display().to_string(),
                    source,
                },
            )?;
        let target = Target::File {
            file: BufWriter::with_capacity(256 * 1024, file),
            path: path.to_path_buf(),
        };
        let mut output = Output::new(target, format, (bytes, records), quarantine);
        output.segments = segments;
        Ok(output)
    }

    fn new(
        target: Target,
        format: Format,
        (bytes, records): (u64, u64),
        quarantine: Quarantine,
    ) -> Self {
        Output {
            target,
            format,
            bytes,
            records,
            committed: bytes,
            line: Vec::with_capacity(4096),
            quarantine,
            marked: 0,
            segments: None,
        }
    }

    /// Drops everything written since the last commit (what is buffered, and whatever part
    /// of it reached the file: a full disk can leave half a line), so the file ends at the
    /// position the state file records.
    pub fn roll_back(self) -> Result<(), OutputError> {
        let name = self.name();
        let Target::File { file, .. } = self.target else {
            return Ok(());
        };
        let (file, _unwritten) = file.into_parts();
        file.set_len(self.committed)
            .and_then(|()| file.sync_data())
            .map_err(|source| OutputError::Io {
                action: "truncate",
                path: name,
                source,
            })
    }

    /// `-` for standard output, else the path.
    pub fn name(&self) -> String {
        match &self.target {
            Target::File { path, .. } => path.display().to_string(),
            Target::Stdout(_) => "-".into(),
        }
    }

    /// The format's name, as the state file records it.
    pub fn format_name(&self) -> &'static str {
        Self::format_label(self.format)
    }

    /// The name of `format`: `ndjson` or `ocsf`.
    pub fn format_label(format: Format) -> &'static str {
        match format {
            Format::Ndjson => "ndjson",
            Format::Ocsf => "ocsf",
        }
    }

    /// Bytes written so far (including buffered ones).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Records written by this run that did not decode as sent (`decode_issue`).
    pub fn marked(&self) -> u64 {
        self.marked
    }

    /// Records of this run whose original bytes went to the quarantine file.
    pub fn quarantined(&self) -> u64 {
        self.quarantine.count()
    }

    /// The quarantine file's path.
    pub fn quarantine_path(&self) -> &Path {
        self.quarantine.path()
    }

    /// Writes one event as one line (and its original bytes to the quarantine file, when it
    /// has any).
    pub fn write_event(&mut self, event: &AuditEvent) -> Result<(), OutputError> {
        if event.decode_issue.is_some() {
            self.marked += 1;
            let record = self.records;
            self.quarantine
                .write(record, event)
                .map_err(|source| OutputError::Io {
                    action: "write to",
                    path: self.quarantine.path().display().to_string(),
                    source,
                })?;
        }
        self.line.clear();
        self.format.encode(event, &mut self.line);
        self.line.push(b'\n');
        if self.bytes == 0
            && let Some(segments) = &mut self.segments
        {
            segments.first_record();
        }
        let line = std::mem::take(&mut self.line);
        let result = self.writer().write_all(&line);
        self.line = line;
        let result = self.closed_pipe(result);
        result.map_err(|source| self.io_error("write to", source))?;
        self.bytes += self.line.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// The line the last [`Output::write_event`] wrote, its newline included.
    pub fn last_line(&self) -> &[u8] {
        &self.line
    }

    /// Makes everything written so far durable: flushed, and for files fsynced, then the
    /// quarantine file likewise. Returns the position (bytes, records) the caller may now
    /// record in the state file.
    pub fn commit(&mut self) -> Result<(u64, u64), OutputError> {
        let result = match &mut self.target {
            Target::File { file, .. } => file.flush().and_then(|()| file.get_ref().sync_data()),
            Target::Stdout(out) => out.flush(),
        };
        let result = self.closed_pipe(result);
        result.map_err(|source| self.io_error("sync", source))?;
        self.quarantine.commit().map_err(|source| OutputError::Io {
            action: "sync",
            path: self.quarantine.path().display().to_string(),
            source,
        })?;
        self.committed = self.bytes;
        Ok((self.bytes, self.records))
    }

    /// Whether the live segment of a rotated output is sealed at a commit now (`end`: the run
    /// completed its window). Always `false` for an output that is not rotated.
    pub fn seal_due(&self, end: bool) -> bool {
        self.segments
            .as_ref()
            .is_some_and(|segments| segments.due(self.committed, chrono::Utc::now(), end))
    }

    /// Whether the live segment has reached its rotation size, so a commit (and a seal) is
    /// due without waiting for the commit interval.
    pub fn segment_full(&self) -> bool {
        self.segments
            .as_ref()
            .is_some_and(|segments| segments.full(self.bytes))
    }

    /// The rotated output's position to record with a commit (`sealing`: a seal follows).
    pub fn segment_position(&self, sealing: bool) -> Option<SegmentPosition> {
        self.segments
            .as_ref()
            .map(|segments| segments.position(sealing))
    }

    /// Seals the committed live segment (see [`crate::rotate`]) and continues in a new, empty
    /// one. Call only right after [`Output::commit`], once its position is recorded with
    /// `sealing: true`.
    pub fn seal(&mut self) -> Result<(), OutputError> {
        let name = self.name();
        let (Some(segments), Target::File { file, path }) = (&mut self.segments, &mut self.target)
        else {
            return Ok(());
        };
        debug_assert_eq!(self.bytes, self.committed, "sealed right after a commit");
        let live = segments.seal(path).map_err(|source| OutputError::Io {
            action: "seal the segment",
            path: name,
            source,
        })?;
        *file = BufWriter::with_capacity(256 * 1024, live);
        self.bytes = 0;
        self.committed = 0;
        Ok(())
    }

    /// `Closed` for a write to standard output whose reader is gone, else `result`.
    fn closed_pipe(&self, result: io::Result<()>) -> io::Result<()> {
        match result {
            Err(error)
                if error.kind() == io::ErrorKind::BrokenPipe
                    && matches!(self.target, Target::Stdout(_)) =>
            {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, ClosedPipe))
            }
            other => other,
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.target {
            Target::File { file, .. } => file,
            Target::Stdout(out) => out,
        }
    }

    fn io_error(&self, action: &'static str, source: io::Error) -> OutputError {
        if source
            .get_ref()
            .is_some_and(|inner| inner.is::<ClosedPipe>())
        {
            return OutputError::Closed;
        }
        OutputError::Io {
            action,
            path: self.name(),
            source,
        }
    }
}

/// Marks a broken pipe on standard output (as opposed to one on a file, a FIFO say).
#[derive(Debug, thiserror::Error)]
#[error("the reader closed standard output")]
struct ClosedPipe;

#[cfg(test)]
mod tests {
    use audit_core::event::{RecordKind, Source, StreamKind};
    use chrono::{TimeZone, Utc};

    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent::new(
            Source::new(StreamKind::ZendeskAuditLogs, "acme"),
            RecordKind::ZendeskAuditLog,
            n.to_string(),
            Utc.timestamp_opt(1_700_000_000 + n as i64, 0).unwrap(),
            "update",
            serde_json::json!({"id": n}),
        )
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn events_are_written_one_per_line_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut out = Output::open(Some(&path), Format::Ndjson, None).unwrap();
        out.write_event(&event(1)).unwrap();
        out.write_event(&event(2)).unwrap();
        let (bytes, records) = out.commit().unwrap();
        assert_eq!(records, 2);
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let written = lines(&path);
        assert_eq!(written[1]["native_id"], "2");
    }

    #[test]
    fn resuming_drops_what_was_written_after_the_commit_including_a_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut out = Output::open(Some(&path), Format::Ndjson, None).unwrap();
        out.write_event(&event(1)).unwrap();
        let committed = out.commit().unwrap();
        out.write_event(&event(2)).unwrap();
        out.commit().unwrap();
        drop(out);
        // A killed run leaves half a line behind.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"id\":\"zendesk:acme:audit-log:3\",\"sou")
            .unwrap();
        drop(file);

        let mut out = Output::open(Some(&path), Format::Ndjson, Some(committed)).unwrap();
        assert_eq!((out.bytes(), out.records()), committed);
        out.write_event(&event(2)).unwrap();
        out.commit().unwrap();
        let ids: Vec<String> = lines(&path)
            .iter()
            .map(|l| l["native_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["1", "2"]);
    }

    #[test]
    fn rolling_back_cuts_the_file_to_the_last_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut out = Output::open(Some(&path), Format::Ndjson, None).unwrap();
        out.write_event(&event(1)).unwrap();
        out.write_event(&event(2)).unwrap();
        let (committed, _) = out.commit().unwrap();
        // Buffered, and half a line that reached the file (a write cut short by a full disk).
        out.write_event(&event(3)).unwrap();
        let Target::File { file, .. } = &mut out.target else {
            unreachable!("a file output")
        };
        file.get_mut().write_all(b"{\"half\":").unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > committed);

        out.roll_back().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), committed);
        let ids: Vec<String> = lines(&path)
            .iter()
            .map(|l| l["native_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["1", "2"]);
    }

    #[test]
    fn resuming_refuses_a_file_shorter_than_the_state_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        std::fs::write(&path, "{}\n").unwrap();
        let error = Output::open(Some(&path), Format::Ndjson, Some((500, 3)))
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("holds 3 bytes but the state file says 500"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{}\n",
            "nothing touched"
        );
    }

    #[test]
    fn after_the_commit_only_what_trail_writes_may_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut out = Output::open(Some(&path), Format::Ndjson, None).unwrap();
        out.write_event(&event(1)).unwrap();
        let (committed, _) = out.commit().unwrap();
        out.write_event(&event(2)).unwrap();
        out.commit().unwrap();
        drop(out);
        let whole = std::fs::read(&path).unwrap();
        assert_eq!(
            foreign_line(&path, committed, Format::Ndjson).unwrap(),
            None
        );
        // A kill can cut the last line anywhere, even after its first byte.
        for cut in [committed as usize + 1, whole.len() - 5] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert_eq!(
                foreign_line(&path, committed, Format::Ndjson).unwrap(),
                None
            );
        }
        let mut edited = whole.clone();
        edited.extend_from_slice(b"{\"note\":\"by hand\"}\n");
        std::fs::write(&path, &edited).unwrap();
        let offset = whole.len() as u64;
        assert_eq!(
            foreign_line(&path, committed, Format::Ndjson).unwrap(),
            Some(offset)
        );
        assert_eq!(
            foreign_line(&path, committed, Format::Ocsf).unwrap(),
            Some(committed)
        );
    }

    #[test]
    fn ocsf_lines_are_ocsf_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ocsf.ndjson");
        let mut out = Output::open(Some(&path), Format::Ocsf, None).unwrap();
        out.write_event(&event(1)).unwrap();
        out.commit().unwrap();
        let written = lines(&path);
        assert_eq!(written[0]["class_uid"], 3004);
        assert_eq!(written[0]["metadata"]["original_event_uid"], "1");
    }
}
