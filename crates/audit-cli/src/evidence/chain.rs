//! The SHA-256 hash chain over an output's lines.
//!
//! Each line, its newline included, is hashed on its own (`d = SHA-256(line)`), and the chain
//! head moves from `head` to `SHA-256(head ‖ d)`, starting from 32 zero bytes. The head after
//! line `n` depends only on the first `n` lines, so it is the same however the export was cut
//! into commits, runs and segments. The first 4 bytes of each `d` (the line's fingerprint) let
//! `trail verify` name the first line that differs and say how; the head is what proves it.
//!
//! The same chain in a few lines of Python:
//!
//! ```text
//! import hashlib
//! head = bytes(32)
//! for line in open("audit.ndjson", "rb"):
//!     head = hashlib.sha256(head + hashlib.sha256(line).digest()).digest()
//! print(head.hex())
//! ```

use aws_lc_rs::digest::{Context, SHA256, digest};

/// The bytes of a line's fingerprint.
pub const FINGERPRINT: usize = 4;

/// A line's fingerprint: the first [`FINGERPRINT`] bytes of its SHA-256.
pub type Fingerprint = [u8; FINGERPRINT];

/// A chain head, a SHA-256.
pub type Head = [u8; 32];

/// The chain over the lines of an output so far (the default: no line, 32 zero bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain {
    /// The head after the last line.
    pub head: Head,
    /// Lines chained.
    pub lines: u64,
    /// Bytes chained (the byte offset the head covers).
    pub bytes: u64,
}

impl Chain {
    /// Chains one whole line (its newline included); returns its fingerprint.
    ///
    /// ```
    /// use audit_cli::evidence::chain::Chain;
    /// let mut chain = Chain::default();
    /// chain.push(b"{\"id\":1}\n");
    /// assert_eq!((chain.lines, chain.bytes), (1, 9));
    /// assert_ne!(chain.head, Chain::default().head);
    /// ```
    pub fn push(&mut self, line: &[u8]) -> Fingerprint {
        let line_digest = digest(&SHA256, line);
        self.push_digest(line_digest.as_ref(), line.len() as u64)
    }

    /// Chains a line of `length` bytes whose SHA-256 is `line_digest`.
    pub fn push_digest(&mut self, line_digest: &[u8], length: u64) -> Fingerprint {
        let mut context = Context::new(&SHA256);
        context.update(&self.head);
        context.update(line_digest);
        self.head.copy_from_slice(context.finish().as_ref());
        self.lines += 1;
        self.bytes += length;
        let mut fingerprint = [0; FINGERPRINT];
        fingerprint.copy_from_slice(&line_digest[..FINGERPRINT]);
        fingerprint
    }
}

/// Lowercase hexadecimal.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

/// Parses lowercase or uppercase hexadecimal.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The SHA-256 of `bytes`, in hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(digest(&SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_depends_on_every_line_and_their_order() {
        let chain = |lines: &[&[u8]]| {
            let mut chain = Chain::default();
            lines.iter().for_each(|line| {
                chain.push(line);
            });
            chain.head
        };
        let ab = chain(&[b"a\n", b"b\n"]);
        assert_ne!(ab, chain(&[b"b\n", b"a\n"]));
        assert_ne!(ab, chain(&[b"a\n", b"c\n"]));
        assert_eq!(ab, chain(&[b"a\n", b"b\n"]));
    }

    #[test]
    fn the_chain_is_the_documented_one() {
        // head = sha256(zeros ‖ sha256("x\n")), as the module's Python computes it.
        let mut chain = Chain::default();
        chain.push(b"x\n");
        let line = digest(&SHA256, b"x\n");
        let mut input = vec![0u8; 32];
        input.extend_from_slice(line.as_ref());
        assert_eq!(to_hex(&chain.head), sha256_hex(&input));
        assert_eq!(from_hex(&to_hex(&chain.head)).unwrap(), chain.head);
    }
}
