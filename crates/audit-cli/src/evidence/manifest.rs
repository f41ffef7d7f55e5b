//! The manifest file: one JSON line per commit, appended and fsynced before the state file
//! moves (see [`crate::evidence`] for the format and the crash orderings).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chain::{Chain, from_hex, sha256_hex};
use super::keys::Signer;

/// The manifest format's version (`v` of each entry).
pub const MANIFEST_VERSION: u32 = 1;

/// Where the manifest of the output `out` goes: `<out>.manifest.jsonl` (for a rotated output,
/// `out` is the path as given, not the live segment).
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     audit_cli::evidence::manifest_path(Path::new("exports/audit.ndjson")),
///     Path::new("exports/audit.ndjson.manifest.jsonl")
/// );
/// ```
pub fn manifest_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".manifest.jsonl");
    PathBuf::from(name)
}

/// One record, as an entry names the first and last of its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMark {
    /// The record's `occurred_at`.
    pub occurred_at: DateTime<Utc>,
    /// The record's `id`.
    pub id: String,
}

/// The window a stream was asked for, as resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryWindow {
    /// Start, inclusive.
    pub since: DateTime<Utc>,
    /// End, inclusive; `None`: open (now less the settle lag, pass by pass).
    pub until: Option<DateTime<Utc>>,
}

/// The end of a pass: everything from the window's start to `through` has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassEnd {
    /// The pass's end, inclusive.
    pub through: DateTime<Utc>,
    /// The vendor's end signal the walk ended on.
    pub signal: String,
}

/// Where a commit leaves a rotated output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMark {
    /// The segment the lines went to: the live segment, sealed later under this number.
    pub number: u64,
    /// The segment's length after this commit.
    pub offset: u64,
}

/// What one commit added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// Lines (records).
    pub records: u64,
    /// Bytes.
    pub bytes: u64,
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// [`MANIFEST_VERSION`].
    pub v: u32,
    /// The entry's number, from 0.
    pub seq: u64,
    /// SHA-256 (hex) of the previous manifest line as written (its signature included);
    /// 64 zeros for the first.
    pub prev: String,
    /// The stream.
    pub stream: String,
    /// The account (Zendesk subdomain, Genesys organisation) as in event ids.
    pub account: String,
    /// `ndjson` or `ocsf`.
    pub format: String,
    /// When the commit was made.
    pub committed_at: DateTime<Utc>,
    /// The window the stream reads.
    pub window: EntryWindow,
    /// Covered so far: from the window's start through the end of the last completed pass
    /// (`None` until a pass completes).
    pub covered_through: Option<DateTime<Utc>>,
    /// Set when this commit ends a pass.
    pub pass_end: Option<PassEnd>,
    /// Lines of the output (all segments) after this commit.
    pub records: u64,
    /// Bytes of the output (all segments) after this commit: the offset `head` covers.
    pub bytes: u64,
    /// What this commit added.
    pub added: Added,
    /// The first record of this commit.
    pub first: Option<RecordMark>,
    /// The last record of this commit.
    pub last: Option<RecordMark>,
    /// For a rotated output, the segment written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentMark>,
    /// The chain head after the last line (hex).
    pub head: String,
    /// The fingerprints of this commit's lines (4 bytes per line), written in base64.
    pub lines: Fingerprints,
    /// The signing public key (hex), when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// The line fingerprints of an entry: 4 bytes per line, written in base64 as they are
/// serialised (no base64 copy of them is made: they are most of an entry, and each copy was
/// a peak of memory at every commit of a fast export).
///
/// Text that is not base64 reads as no fingerprints: what [`super::verify`] then reports as
/// fingerprints that do not match the lines the entry adds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprints(pub Vec<u8>);

impl Serialize for Fingerprints {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for Fingerprints {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(Fingerprints(STANDARD.decode(&*text).unwrap_or_default()))
    }
}

/// The signature suffix of a signed line: `,"sig":"<base64>"}`.
const SIG_KEY: &str = ",\"sig\":\"";

impl Entry {
    /// The line to append (without its newline): the entry, signed by `signer` when given.
    /// The signature covers the line as it would be without it: the bytes before
    /// `,"sig":"…"` followed by `}`.
    pub fn to_line(&self, signer: Option<&Signer>) -> Vec<u8> {
        // Room for the whole entry at once: its fingerprints are most of it, and growing
        // by doubling would hold up to twice them (the peak of memory at a commit).
        let base64 = base64::encoded_len(self.lines.0.len(), true).unwrap_or(0);
        let mut line = Vec::with_capacity(base64 + 1024);
        serde_json::to_writer(&mut line, self).expect("entries serialise");
        if let Some(signer) = signer {
            let signature = signer.sign(&line);
            line.pop();
            line.extend_from_slice(SIG_KEY.as_bytes());
            line.extend_from_slice(signature.as_bytes());
            line.extend_from_slice(b"\"}");
        }
        line
    }

    /// The chain the entry ends on.
    pub fn chain(&self) -> Option<Chain> {
        let head = from_hex(&self.head)?;
        Some(Chain {
            head: head.try_into().ok()?,
            lines: self.records,
            bytes: self.bytes,
        })
    }
}

/// A manifest line split into what is signed and the signature.
pub struct SignedLine<'a> {
    /// The bytes the signature covers (the line without its signature).
    pub message: std::borrow::Cow<'a, [u8]>,
    /// The signature (base64), if the line has one.
    pub signature: Option<&'a str>,
}

/// Splits a manifest line into what is signed and its signature.
pub fn split_signature(line: &[u8]) -> SignedLine<'_> {
    let text = std::str::from_utf8(line).unwrap_or("");
    if let Some(at) = text.rfind(SIG_KEY)
        && text.ends_with("\"}")
    {
        let signature = &text[at + SIG_KEY.len()..text.len() - 2];
        if !signature.contains('"') {
            let mut message = line[..at].to_vec();
            message.push(b'}');
            return SignedLine {
                message: message.into(),
                signature: Some(signature),
            };
        }
    }
    SignedLine {
        message: line.into(),
        signature: None,
    }
}

/// The hash of the previous line that the first entry names.
pub fn genesis_prev() -> String {
    "0".repeat(64)
}

/// The manifest of one output, open for appending.
pub struct ManifestFile {
    path: PathBuf,
    file: File,
    /// Length after the last append.
    bytes: u64,
}

impl ManifestFile {
    /// A new manifest at `path` (an old one is emptied).
    pub fn create(path: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        Ok(ManifestFile {
            path,
            file,
            bytes: 0,
        })
    }

    /// The manifest at `path`, cut back to the `bytes` the state file recorded (what a killed
    /// run appended after its last recorded commit goes); returns it with its last entry and
    /// that entry's line hash. A manifest shorter than `bytes`, or whose last line is not an
    /// entry, is refused.
    pub fn resume(path: PathBuf, bytes: u64) -> Result<(Self, Option<(Entry, String)>), String> {
        let shown = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|error| format!("cannot open the manifest {shown}: {error}"))?;
        let length = file
            .metadata()
            .map_err(|error| format!("cannot inspect the manifest {shown}: {error}"))?
            .len();
        if length < bytes {
            return Err(format!(
                "the manifest {shown} holds {length} bytes but the state file says {bytes} were \
                 committed: it was truncated or replaced since the last run"
            ));
        }
        file.set_len(bytes)
            .map_err(|error| format!("cannot truncate the manifest {shown}: {error}"))?;
        let last = last_line(&file, bytes)
            .map_err(|error| format!("cannot read the manifest {shown}: {error}"))?;
        let last = match last {
            None => None,
            Some(line) => {
                let entry: Entry = serde_json::from_slice(&line).map_err(|error| {
                    format!(
                        "the last committed line of the manifest {shown} is not an entry: {error}"
                    )
                })?;
                Some((entry, sha256_hex(&line)))
            }
        };
        Ok((ManifestFile { path, file, bytes }, last))
    }

    /// Appends `line` and a newline, and fsyncs: durable before the state file is written.
    /// The newline is written from `line` itself (and taken off again): an entry holds 4
    /// bytes of base64 per record, and a copy of it was a peak of memory at each commit.
    pub fn append(&mut self, line: &mut Vec<u8>) -> io::Result<()> {
        line.push(b'\n');
        let written = self
            .file
            .seek(SeekFrom::Start(self.bytes))
            .and_then(|_| self.file.write_all(line))
            .and_then(|()| self.file.sync_data());
        line.pop();
        written?;
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }

    /// Its length after the last append (what the state file records).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The last line (without its newline) of the first `length` bytes of `file`.
fn last_line(file: &File, length: u64) -> io::Result<Option<Vec<u8>>> {
    if length == 0 {
        return Ok(None);
    }
    // Entries hold 4 bytes of fingerprint per line: read backwards in growing blocks.
    let mut block = 64 * 1024u64;
    loop {
        let start = length.saturating_sub(block);
        let mut reader = file;
        reader.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::with_capacity((length - start) as usize);
        reader.take(length - start).read_to_end(&mut tail)?;
        let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
        match memchr_last(body) {
            Some(at) => return Ok(Some(body[at + 1..].to_vec())),
            None if start == 0 => return Ok(Some(body.to_vec())),
            None => block *= 4,
        }
    }
}

fn memchr_last(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

/// Reads every line of the manifest at `path` (without newlines).
pub fn read_lines(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(lines);
        }
        if line.ends_with(b"\n") {
            line.pop();
        }
        lines.push(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprints are written as the base64 text entries always held (so older
    /// manifests and older `trail verify`s read them), and read back from it.
    #[test]
    fn fingerprints_are_written_and_read_as_base64() {
        let bytes: Vec<u8> = (0..=255).chain([0, 1, 2]).collect();
        let written = serde_json::to_string(&Fingerprints(bytes.clone())).unwrap();
        assert_eq!(written, format!("\"{}\"", STANDARD.encode(&bytes)));
        let read: Fingerprints = serde_json::from_str(&written).unwrap();
        assert_eq!(read.0, bytes);
        // An escaped `/` is still base64 once read.
        let read: Fingerprints = serde_json::from_str(r#""AAE\/""#).unwrap();
        assert_eq!(read.0, [0, 1, 63]);
        assert_eq!(
            serde_json::to_string(&Fingerprints(Vec::new())).unwrap(),
            "\"\""
        );
    }

    /// Text that is not base64 reads as no fingerprints (which verify reports as fingerprints
    /// that do not count the lines the entry adds), not as an entry that does not read.
    #[test]
    fn fingerprints_that_are_not_base64_read_as_none() {
        let read: Fingerprints = serde_json::from_str(r#""not base64!""#).unwrap();
        assert!(read.0.is_empty());
        assert!(serde_json::from_str::<Fingerprints>("7").is_err());
    }
}
