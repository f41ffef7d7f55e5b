//! The quarantine file: the records whose bytes were not UTF-8 text, kept as received.
//!
//! Such a record is exported from a lossy copy (each invalid byte sequence replaced by U+FFFD)
//! and marked with `decode_issue`; its original bytes go to `<out>.quarantine.ndjson`
//! (`trail.quarantine.ndjson` in the working directory when the output is standard output),
//! one JSON object per record:
//!
//! ```json
//! {"stream":"zendesk-audit-logs","record":41,"id":"zendesk:acme:audit-log:7","page":"/api/v2/audit_logs?page%5Bsize%5D=100","position":3,"bytes_base64":"eyJpZCI6..."}
//! ```
//!
//! `record` is the line of the output (from 0) that holds the record's lossy copy, `page` the
//! request (path and query) that read it, `position` its place in that page's list. The file
//! is committed with the output (fsynced after it, before the state file), and a resumed run
//! drops the lines of records after the committed position, as it truncates the output.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use audit_core::AuditEvent;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// One line of the quarantine file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineLine {
    /// The stream (`zendesk-audit-logs`, …).
    pub stream: String,
    /// The output line (from 0) holding the record's lossy copy.
    pub record: u64,
    /// The event's id.
    pub id: String,
    /// The page's request: path and query.
    pub page: String,
    /// The record's position in the page's list, from 0.
    pub position: usize,
    /// The record's bytes as received, in base64.
    pub bytes_base64: String,
}

/// The quarantine file of an output, created when the first record is quarantined.
pub struct Quarantine {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    /// Whether the first record empties the file rather than appending to it.
    replace: bool,
    count: u64,
}

impl Quarantine {
    /// Where the quarantine of the output `out` (standard output when `None`) goes.
    pub fn path_for(out: Option<&Path>) -> PathBuf {
        match out {
            Some(out) => {
                let mut name = out.as_os_str().to_owned();
                name.push(".quarantine.ndjson");
                PathBuf::from(name)
            }
            None => PathBuf::from("trail.quarantine.ndjson"),
        }
    }

    /// The quarantine at `path`. A new export (`resumed_records` = `None`) removes a file left
    /// by an earlier one, as the output is emptied; a resumed one keeps the lines of the
    /// `resumed_records` records already committed and drops the rest (a partial line too).
    pub fn open(path: PathBuf, resumed_records: Option<u64>) -> io::Result<Self> {
        match resumed_records {
            None => match std::fs::remove_file(&path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            },
            Some(records) => truncate_after(&path, records)?,
        }
        Ok(Quarantine {
            path,
            file: None,
            replace: false,
            count: 0,
        })
    }

    /// The quarantine of an export to standard output: `trail.quarantine.ndjson` in the
    /// working directory, replaced when the first record is quarantined (and left alone by
    /// an export that quarantines none).
    pub fn for_stdout() -> Self {
        Quarantine {
            path: Self::path_for(None),
            file: None,
            replace: true,
            count: 0,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records quarantined by this run.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Quarantines `event`'s original bytes, if it has any; `record` is its output line.
    pub fn write(&mut self, record: u64, event: &AuditEvent) -> io::Result<()> {
        let Some(quarantined) = &event.quarantined else {
            return Ok(());
        };
        let line = QuarantineLine {
            stream: event.source.stream.to_string(),
            record,
            id: event.id.clone(),
            page: quarantined.page.clone(),
            position: quarantined.position,
            bytes_base64: base64::engine::general_purpose::STANDARD.encode(&quarantined.bytes),
        };
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(!self.replace)
                .truncate(self.replace)
                .open(&self.path)?;
            self.file = Some(BufWriter::new(file));
        }
        let file = self.file.as_mut().expect("opened above");
        serde_json::to_writer(&mut *file, &line)?;
        file.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// Makes the lines written so far durable (flushed and fsynced).
    pub fn commit(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush().and_then(|()| file.get_ref().sync_data()),
            None => Ok(()),
        }
    }
}

/// Cuts the file at `path` (if any) before its first line that is partial, unreadable, or of a
/// record at or after `records`.
fn truncate_after(path: &Path, records: u64) -> io::Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let mut keep = 0u64;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        let committed = read > 0
            && line.ends_with(b"\n")
            && serde_json::from_slice::<QuarantineLine>(&line).is_ok_and(|l| l.record < records);
        if !committed {
            break;
        }
        keep += read as u64;
    }
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(keep)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use audit_core::event::{RecordKind, Source, StreamKind};
    use audit_core::{AuditEvent, Quarantined};

    use super::*;

    fn event(n: u64, bytes: Option<&[u8]>) -> AuditEvent {
        let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
        let mut event = AuditEvent::new(
            source,
            RecordKind::ZendeskAuditLog,
            n.to_string(),
            chrono::DateTime::UNIX_EPOCH,
            "update",
            serde_json::json!({"id": n}),
        );
        event.quarantined = bytes.map(|bytes| {
            Box::new(Quarantined {
                page: "/api/v2/audit_logs?x=1".into(),
                position: n as usize,
                bytes: bytes.to_vec(),
            })
        });
        event
    }

    fn lines(path: &Path) -> Vec<QuarantineLine> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn only_quarantined_events_are_written_with_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = Quarantine::path_for(Some(&dir.path().join("out.ndjson")));
        assert!(path.ends_with("out.ndjson.quarantine.ndjson"));
        let mut quarantine = Quarantine::open(path.clone(), None).unwrap();
        quarantine.write(0, &event(0, None)).unwrap();
        quarantine.commit().unwrap();
        assert!(!path.exists(), "created by the first quarantined record");
        quarantine
            .write(1, &event(1, Some(b"{\"a\":\"\xff\"}")))
            .unwrap();
        quarantine.commit().unwrap();
        let written = lines(&path);
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].record, 1);
        assert_eq!(written[0].id, "zendesk:acme:audit-log:1");
        assert_eq!(written[0].page, "/api/v2/audit_logs?x=1");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&written[0].bytes_base64)
            .unwrap();
        assert_eq!(bytes, b"{\"a\":\"\xff\"}");
        assert_eq!(quarantine.count(), 1);
    }

    #[test]
    fn resuming_keeps_the_committed_records_lines_and_a_new_export_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.ndjson");
        let mut quarantine = Quarantine::open(path.clone(), None).unwrap();
        for n in [2, 5, 9] {
            quarantine.write(n, &event(n, Some(b"\xfe"))).unwrap();
        }
        quarantine.commit().unwrap();
        drop(quarantine);
        // A killed run's partial line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"stream\":").unwrap();
        drop(file);
        Quarantine::open(path.clone(), Some(6)).unwrap();
        let kept: Vec<u64> = lines(&path).iter().map(|l| l.record).collect();
        assert_eq!(kept, [2, 5]);
        Quarantine::open(path.clone(), None).unwrap();
        assert!(!path.exists());
    }
}
