//! Rotated output: `--rotate-size` / `--rotate-interval` seal the output into numbered,
//! immutable segments that file shippers (Vector, Fluent Bit, Filebeat, the Splunk forwarder)
//! can pick up.
//!
//! For `--out exports/audit.ndjson`:
//!
//! | file | what it is |
//! |---|---|
//! | `exports/audit.ndjson.live` | the live segment, written and (on resume) truncated by trail |
//! | `exports/audit.000001.ndjson`, `audit.000002.ndjson`, … | sealed segments, in export order |
//!
//! The live segment ends in `.live` so that the globs shippers are configured with
//! (`*.ndjson`, `audit.*.ndjson`) skip it: it is the one file trail may still cut back (a
//! resumed run drops what a killed run wrote after its last commit), which a tailing shipper
//! would read twice or not at all. A sealed segment is whole lines up to a commit (every byte
//! of it is committed), fsynced, renamed into place (never over an existing file) and never
//! opened again; numbers are zero-padded to six digits, so lexical order is export order (up
//! to segment 999,999). Their concatenation, in order, followed by the live segment, is the
//! export exactly as an unrotated run writes it.
//!
//! Sealing happens only at a commit: when the live segment holds at least the size, or is at
//! least the interval old (measured from its first record, across runs: the state file
//! records it), and at the end of a run that completed its window. An empty segment is never
//! sealed. The quarantine file is not rotated: it stays `<out>.quarantine.ndjson`, and its
//! `record` numbers count the lines of the whole export.
//!
//! Resume needs only the state file and the live segment: sealed segments may be moved away
//! or deleted at any time.
//!
//! # Crash safety
//!
//! The state file records the number of sealed segments, the live segment's committed length
//! and whether a seal was under way ([`SegmentPosition`]). A seal goes:
//!
//! 1. commit: fsync the live segment at `B` bytes (`B > 0`), then write the state with
//!    `sealing: true` (sealed `n`, `B` bytes);
//! 2. rename `audit.ndjson.live` to `audit.<n+1>.ndjson` (refusing to replace a file), fsync
//!    the directory;
//! 3. create a new, empty live segment (locked), fsync the directory;
//! 4. write the state: sealed `n + 1`, `0` bytes, `sealing: false`.
//!
//! A SIGKILL (or a crash) at any point resolves exactly on the next run:
//! - before the state of step 1 is durable: the state is an earlier commit with no seal under
//!   way; the live segment holds at least its bytes and is cut back to them as always;
//! - after step 1, before the rename of step 2 is durable: the live segment still holds at
//!   least `B` bytes, so the seal did not happen; the run resumes the live segment at `B` (the
//!   next commit seals it, the trigger still holding);
//! - after the rename, before step 4: the live path is missing, or holds the new empty segment
//!   of step 3: fewer than `B` bytes, which (with `sealing: true`) means the segment was sealed
//!   as `n + 1`: the run resumes at sealed `n + 1`, `0` bytes, whether or not that segment is
//!   still there (a shipper may have taken it away already);
//! - after step 4: a normal resume at `0` bytes (a missing live segment is created).
//!
//! Without `sealing: true`, a live segment shorter than the state says was moved or truncated
//! by someone else: an error, as for an unrotated output.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::lock;
use crate::state::SegmentPosition;

/// When to seal the live segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationPolicy {
    /// Seal once the live segment holds at least this many bytes.
    pub size: Option<u64>,
    /// Seal once the live segment is at least this old.
    pub interval: Option<Duration>,
}

impl RotationPolicy {
    /// The policy of `--rotate-size` and `--rotate-interval`; `None` when neither is given.
    pub fn new(size: Option<u64>, interval: Option<Duration>) -> Option<Self> {
        (size.is_some() || interval.is_some()).then_some(RotationPolicy { size, interval })
    }
}

/// The live segment's path for the output `out`: `out` with `.live` appended.
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     audit_cli::rotate::live_path(Path::new("exports/audit.ndjson")),
///     Path::new("exports/audit.ndjson.live")
/// );
/// ```
pub fn live_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".live");
    PathBuf::from(name)
}

/// The path of sealed segment `number` (from 1) of the output `out`: the number, zero-padded
/// to six digits, before the last extension.
///
/// ```
/// use std::path::Path;
/// use audit_cli::rotate::sealed_path;
/// assert_eq!(
///     sealed_path(Path::new("exports/audit.ndjson"), 42),
///     Path::new("exports/audit.000042.ndjson")
/// );
/// assert_eq!(sealed_path(Path::new("audit"), 7), Path::new("audit.000007"));
/// ```
pub fn sealed_path(out: &Path, number: u64) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    let name = match out.extension() {
        Some(extension) => format!("{stem}.{number:06}.{}", extension.to_string_lossy()),
        None => format!("{stem}.{number:06}"),
    };
    out.with_file_name(name)
}

/// Parses a size: a number with an optional unit, `B`, `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (powers of 1024); `K`, `M`, `G` alone are powers of 1000 too.
///
/// ```
/// use audit_cli::rotate::parse_size;
/// assert_eq!(parse_size("100MB"), Ok(100_000_000));
/// assert_eq!(parse_size("1GiB"), Ok(1 << 30));
/// assert_eq!(parse_size("4096"), Ok(4096));
/// assert!(parse_size("0").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid =
        || format!("`{text}` is not a size: use a number of bytes with a unit, like 100MB or 1GiB");
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(invalid()),
    };
    match number.checked_mul(factor) {
        Some(0) => Err(format!(
            "`{text}`: a segment must be allowed at least one byte"
        )),
        Some(bytes) => Ok(bytes),
        None => Err(invalid()),
    }
}

/// The segments of one rotated output, as the writer keeps them.
#[derive(Debug)]
pub struct Segments {
    policy: RotationPolicy,
    /// The output as given (`--out`), which names the sealed segments.
    base: PathBuf,
    /// Segments sealed so far.
    sealed: u64,
    /// When the live segment got its first record.
    live_since: DateTime<Utc>,
}

impl Segments {
    /// The segments of `base` under `policy`, at `position` (`None`: a new export).
    pub fn new(policy: RotationPolicy, base: PathBuf, position: Option<&SegmentPosition>) -> Self {
        let (sealed, live_since) = match position {
            Some(position) => (position.sealed, position.live_since),
            None => (0, Utc::now()),
        };
        Segments {
            policy,
            base,
            sealed,
            live_since,
        }
    }

    /// The output as given, which names the quarantine file as for an unrotated output.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Whether a live segment of `bytes` committed bytes is sealed at a commit at `now`
    /// (`end`: the run completed its window).
    pub fn due(&self, bytes: u64, now: DateTime<Utc>, end: bool) -> bool {
        let full = self.policy.size.is_some_and(|size| bytes >= size);
        let old = self.policy.interval.is_some_and(|interval| {
            (now - self.live_since).to_std().unwrap_or_default() >= interval
        });
        bytes > 0 && (end || full || old)
    }

    /// The live segment gets its first record now: its age counts from here, so a segment
    /// that waited empty through a quiet night is not sealed at its first record.
    pub fn first_record(&mut self) {
        self.live_since = Utc::now();
    }

    /// Whether the live segment has reached its size (a commit is due now).
    pub fn full(&self, bytes: u64) -> bool {
        self.policy.size.is_some_and(|size| bytes >= size)
    }

    /// The position to record with a commit (`sealing`: a seal follows it).
    pub fn position(&self, sealing: bool) -> SegmentPosition {
        SegmentPosition {
            sealed: self.sealed,
            live_since: self.live_since,
            sealing,
        }
    }

    /// Seals the live segment at `live` (committed: fsynced, and recorded with `sealing`):
    /// renames it to the next segment's name, never over an existing file, and opens a new
    /// live segment in its place, locked. Returns the new live segment.
    pub fn seal(&mut self, live: &Path) -> io::Result<File> {
        let sealed = sealed_path(&self.base, self.sealed + 1);
        rename_no_replace(live, &sealed).map_err(|error| {
            if error.kind() == io::ErrorKind::AlreadyExists {
                io::Error::new(
                    error.kind(),
                    format!(
                        "{} already exists (a segment of another export?); segments are never \
                         replaced",
                        sealed.display()
                    ),
                )
            } else {
                error
            }
        })?;
        sync_directory(live)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(live)?;
        if !lock::try_lock(&file)? {
            return Err(io::Error::other(
                "another trail process took the new live segment",
            ));
        }
        sync_directory(live)?;
        self.sealed += 1;
        self.live_since = Utc::now();
        Ok(file)
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` rather than replacing `to`.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let from = CString::new(from.as_os_str().as_bytes())?;
        let to = CString::new(to.as_os_str().as_bytes())?;
        // SAFETY: both paths are valid NUL-terminated strings for the duration of the call.
        let result = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if result == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        // File systems without RENAME_NOREPLACE: check, then rename.
        if error.raw_os_error() != Some(libc::EINVAL) {
            return Err(error);
        }
    }
    if to.exists() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    std::fs::rename(from, to)
}

/// Fsyncs the directory holding `path`, so a rename or a new file in it is durable.
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1KB"), Ok(1_000));
        assert_eq!(parse_size("1KiB"), Ok(1_024));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert!(parse_size("1TB").unwrap_err().contains("not a size"));
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn an_interval_counts_from_the_first_record_and_an_empty_segment_is_never_due() {
        let hour = Duration::from_secs(3600);
        let policy = RotationPolicy::new(None, Some(hour)).unwrap();
        let position = SegmentPosition {
            sealed: 3,
            live_since: Utc::now() - chrono::Duration::hours(2),
            sealing: false,
        };
        let mut segments = Segments::new(policy, "audit.ndjson".into(), Some(&position));
        let now = Utc::now();
        assert!(segments.due(10, now, false), "two hours old");
        assert!(!segments.due(0, now, true), "nothing to seal");
        segments.first_record();
        assert!(!segments.due(10, Utc::now(), false), "a new segment");
        assert!(
            segments.due(10, Utc::now(), true),
            "the end of the window seals it"
        );
        assert_eq!(segments.position(true).sealed, 3);
    }

    #[test]
    fn a_seal_never_replaces_a_segment() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("audit.ndjson");
        let live = live_path(&base);
        std::fs::write(&live, "{}\n").unwrap();
        std::fs::write(sealed_path(&base, 1), "earlier\n").unwrap();
        let mut segments = Segments::new(RotationPolicy::default(), base.clone(), None);
        let error = segments.seal(&live).unwrap_err();
        assert!(error.to_string().contains("never replaced"), "{error}");
        assert_eq!(
            std::fs::read_to_string(sealed_path(&base, 1)).unwrap(),
            "earlier\n"
        );
        assert_eq!(std::fs::read_to_string(&live).unwrap(), "{}\n");
    }

    #[test]
    fn a_seal_renames_the_live_segment_and_starts_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("audit.ndjson");
        let live = live_path(&base);
        std::fs::write(&live, "{}\n").unwrap();
        let mut segments = Segments::new(RotationPolicy::default(), base.clone(), None);
        segments.seal(&live).unwrap();
        assert_eq!(
            std::fs::read_to_string(sealed_path(&base, 1)).unwrap(),
            "{}\n"
        );
        assert_eq!(std::fs::metadata(&live).unwrap().len(), 0);
        assert_eq!(segments.position(false).sealed, 1);
    }
}
