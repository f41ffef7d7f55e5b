//! Ordered selections of records and the opaque cursors that point into them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::data::prng::mix;

/// The records of a list, as *positions* `lo..hi` (record indices, or a ticket's audit
/// numbers) in ascending or descending order, optionally filtered.
pub struct Selection<'a> {
    /// First position.
    pub lo: u64,
    /// One past the last position.
    pub hi: u64,
    /// Newest first.
    pub desc: bool,
    /// Keeps only the positions it accepts.
    pub pred: Option<&'a dyn Fn(u64) -> bool>,
}

struct Walk<'s, 'a> {
    sel: &'s Selection<'a>,
    next: i128,
    step: i128,
}

impl Iterator for Walk<'_, '_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            if self.next < i128::from(self.sel.lo) || self.next >= i128::from(self.sel.hi) {
                return None;
            }
            let p = self.next as u64;
            self.next += self.step;
            if self.sel.accepts(p) {
                return Some(p);
            }
        }
    }
}

impl<'a> Selection<'a> {
    /// Whether position `p` is selected (bounds aside).
    pub fn accepts(&self, p: u64) -> bool {
        self.pred.is_none_or(|f| f(p))
    }

    fn forward_step(&self) -> i128 {
        if self.desc { -1 } else { 1 }
    }

    /// Walks in list order, starting after `after` (or at the beginning).
    fn walk_forward(&self, after: Option<u64>) -> Walk<'_, 'a> {
        let step = self.forward_step();
        let first = if self.desc {
            i128::from(self.hi) - 1
        } else {
            i128::from(self.lo)
        };
        let next = match after {
            None => first,
            Some(p) => {
                let n = i128::from(p) + step;
                if self.desc {
                    n.min(first)
                } else {
                    n.max(first)
                }
            }
        };
        Walk {
            sel: self,
            next,
            step,
        }
    }

    /// Walks against list order, starting before `before`.
    fn walk_backward(&self, before: u64) -> Walk<'_, 'a> {
        let step = -self.forward_step();
        let next = i128::from(before) + step;
        let next = if self.desc {
            next.max(i128::from(self.lo))
        } else {
            next.min(i128::from(self.hi) - 1)
        };
        Walk {
            sel: self,
            next,
            step,
        }
    }

    /// Up to `limit` positions in list order after `after` (from the start when `None`), and
    /// whether more follow.
    pub fn forward(&self, after: Option<u64>, limit: usize) -> (Vec<u64>, bool) {
        if self.pred.is_none() {
            // Arithmetic, no scan.
            let all: Vec<u64> = self.walk_forward(after).take(limit + 1).collect();
            let more = all.len() > limit;
            return (all.into_iter().take(limit).collect(), more);
        }
        let mut w = self.walk_forward(after);
        let items: Vec<u64> = w.by_ref().take(limit).collect();
        let more = items.len() == limit && w.next().is_some();
        (items, more)
    }

    /// The `limit` positions just before `before` in list order (returned in list order), and
    /// whether more lie before them.
    pub fn backward(&self, before: u64, limit: usize) -> (Vec<u64>, bool) {
        let mut w = self.walk_backward(before);
        let mut items: Vec<u64> = w.by_ref().take(limit).collect();
        let more = items.len() == limit && w.next().is_some();
        items.reverse();
        (items, more)
    }

    /// The position just before `p` in list order.
    pub fn previous(&self, p: u64) -> Option<u64> {
        self.walk_backward(p).next()
    }

    /// Whether anything lies after `p` in list order.
    pub fn any_after(&self, p: u64) -> bool {
        self.walk_forward(Some(p)).next().is_some()
    }

    /// Number of selected positions.
    pub fn count(&self) -> u64 {
        match self.pred {
            None => self.hi.saturating_sub(self.lo),
            Some(_) => self.walk_forward(None).count() as u64,
        }
    }

    /// Skips `skip` positions in list order and takes `take`.
    pub fn skip_take(&self, skip: u64, take: usize) -> Vec<u64> {
        match self.pred {
            None => {
                let n = self.hi.saturating_sub(self.lo);
                if skip >= n {
                    return vec![];
                }
                let count = (n - skip).min(take as u64);
                (0..count)
                    .map(|k| {
                        if self.desc {
                            self.hi - 1 - skip - k
                        } else {
                            self.lo + skip + k
                        }
                    })
                    .collect()
            }
            Some(_) => self
                .walk_forward(None)
                .skip(skip as usize)
                .take(take)
                .collect(),
        }
    }
}

const MAGIC: [u8; 3] = [0xfb, 0xff, 0xbf];

/// Encodes words as an opaque cursor: base64 (standard alphabet, padded) of a magic prefix,
/// the words and a check. Every cursor contains `+`, `/` and `=`, which need URL encoding.
pub fn encode_cursor(words: &[u64]) -> String {
    let mut bytes = MAGIC.to_vec();
    for w in words {
        bytes.extend_from_slice(&w.to_be_bytes());
    }
    bytes.extend_from_slice(&mix(words).to_be_bytes()[..2]);
    if bytes.len().is_multiple_of(3) {
        bytes.push(0);
    }
    STANDARD.encode(bytes)
}

/// Decodes a cursor of `n` words made by [`encode_cursor`].
pub fn decode_cursor(text: &str, n: usize) -> Option<Vec<u64>> {
    // A `+` sent unencoded arrives as a space.
    let text = text.replace(' ', "+");
    let text = text.trim();
    let bytes = STANDARD.decode(text).ok()?;
    if bytes.len() < 3 + 8 * n + 2 || bytes[..3] != MAGIC {
        return None;
    }
    let words: Vec<u64> = (0..n)
        .map(|k| u64::from_be_bytes(bytes[3 + 8 * k..11 + 8 * k].try_into().expect("8 bytes")))
        .collect();
    let check = &bytes[3 + 8 * n..5 + 8 * n];
    (check == &mix(&words).to_be_bytes()[..2]).then_some(words)
}

/// Decodes a cursor of `n` words, or of `n` words and a nonce (a `fresh_cursor`: a new
/// cursor text to the same position); returns the `n` words.
pub fn decode_cursor_nonced(text: &str, n: usize) -> Option<Vec<u64>> {
    decode_cursor(text, n + 1)
        .map(|mut w| {
            w.truncate(n);
            w
        })
        .or_else(|| decode_cursor(text, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_need_encoding() {
        for words in [vec![1u64, 2, 3, 4], vec![7, 0, u64::MAX, 9], vec![0, 0, 0]] {
            let c = encode_cursor(&words);
            assert!(c.contains('+') && c.contains('/') && c.contains('='), "{c}");
            assert_eq!(decode_cursor(&c, words.len()), Some(words.clone()));
            assert_eq!(
                decode_cursor(&c.replace('+', " "), words.len()),
                Some(words)
            );
        }
        assert_eq!(decode_cursor("bm9wZQ==", 4), None);
        let fresh = encode_cursor(&[1, 2, 3, 4, 99]);
        assert_eq!(decode_cursor_nonced(&fresh, 4), Some(vec![1, 2, 3, 4]));
        let plain = encode_cursor(&[1, 2, 3, 4]);
        assert_eq!(decode_cursor_nonced(&plain, 4), Some(vec![1, 2, 3, 4]));
    }

    #[test]
    fn selections_page_both_ways() {
        let even = |p: u64| p.is_multiple_of(2);
        for desc in [false, true] {
            for pred in [None, Some(&even as &dyn Fn(u64) -> bool)] {
                let s = Selection {
                    lo: 3,
                    hi: 40,
                    desc,
                    pred,
                };
                let mut all: Vec<u64> = vec![];
                let mut after = None;
                loop {
                    let (items, more) = s.forward(after, 4);
                    all.extend(&items);
                    if !more {
                        break;
                    }
                    after = items.last().copied();
                }
                let mut expected: Vec<u64> =
                    (3..40).filter(|p| pred.is_none_or(|f| f(*p))).collect();
                if desc {
                    expected.reverse();
                }
                assert_eq!(all, expected);
                assert_eq!(s.count() as usize, expected.len());
                assert_eq!(s.skip_take(2, 3), expected[2..5].to_vec());
                let (back, more) = s.backward(expected[6], 3);
                assert_eq!(back, expected[3..6].to_vec());
                assert!(more);
                assert_eq!(s.previous(expected[6]), Some(expected[5]));
            }
        }
    }
}
