//! Evidence an auditor can check: a manifest beside each file output, a SHA-256 chain over
//! its lines, optional Ed25519 signatures, and `trail verify`. The format, the guarantees and
//! their limits are in `docs/evidence.md`; in short:
//!
//! - `<out>.manifest.jsonl` gets one JSON line per commit ([`manifest::Entry`]): stream,
//!   account, window, how far the completed passes read (`covered_through`, and `pass_end`
//!   with the vendor's end signal when the commit ends a pass), records and bytes (added and
//!   in total), the first and last record, the chain head ([`chain`]) after the commit's last
//!   line, each line's fingerprint, and with `--sign-key` the signer and a signature.
//! - Each entry holds the SHA-256 of the line before it (`prev`), so an entry cannot be
//!   changed, removed or moved without the next one saying so (and, signed, without the
//!   signature failing).
//! - Commit order: output fsynced, then the entry appended and fsynced, then the state file
//!   (which records the manifest's length). A kill before the state moves leaves an entry
//!   the state does not know: a resumed run cuts the manifest back to the recorded length,
//!   as it cuts the output, and continues the chain from the entry it ends on.
//! - Rotated outputs keep one manifest (`<out>.manifest.jsonl`) and one chain across their
//!   segments (concatenated in order they are the export); each entry names its segment.
//! - Standard output has no manifest: what leaves trail through a pipe is the reader's to
//!   keep, and a resumed run writes again what followed the last commit.

pub mod chain;
pub mod keys;
pub mod manifest;
pub mod retention;
pub mod verify;
mod witness;

pub use manifest::manifest_path;
pub use witness::{Evidence, EvidenceResume, EvidenceSettings, end_signal};
