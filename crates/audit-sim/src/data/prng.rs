//! A small, hash-based pseudo-random source: every value is a pure function of its inputs.
//!
//! The generator never keeps random state: a record's fields are drawn from
//! `splitmix64(seed, stream, index, field)`, so any record can be produced on its own, in any
//! order, and a run repeats exactly for the same seed.

/// One round of splitmix64's finaliser.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hashes a sequence of words into one.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for &p in parts {
        h = splitmix64(h ^ p);
    }
    h
}

/// A stable 64-bit hash of a string (FNV-1a, then mixed).
pub fn hash_str(s: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h)
}

/// A stable 64-bit hash of bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h)
}

/// A uniform number in `[0, 1)` from a hash.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Draws values for one record: `Draw::new(seed, stream, index)` then `.next()` per field.
#[derive(Debug, Clone)]
pub struct Draw {
    state: u64,
}

impl Draw {
    /// A source keyed by the given words.
    pub fn new(parts: &[u64]) -> Self {
        Draw { state: mix(parts) }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = splitmix64(self.state);
        self.state
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        unit(self.next_u64()) < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One element of a slice of `(weight, item)`, drawn by weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(u32, T)]) -> &'a T {
        let total: u64 = items.iter().map(|(w, _)| u64::from(*w)).sum();
        let mut r = self.below(total);
        for (w, item) in items {
            if r < u64::from(*w) {
                return item;
            }
            r -= u64::from(*w);
        }
        &items[items.len() - 1].1
    }

    /// A lower-case hex string of `n` digits.
    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }

    /// A random-looking version-4 UUID.
    pub fn uuid(&mut self) -> String {
        uuid_from(self.next_u64(), self.next_u64())
    }

    /// [`Draw::uuid`]'s text, without allocating.
    pub fn uuid_text(&mut self) -> [u8; 36] {
        uuid_text_from(self.next_u64(), self.next_u64())
    }
}

/// Formats 128 bits as a version-4, variant-1 UUID.
pub fn uuid_from(hi: u64, lo: u64) -> String {
    uuid_string(uuid_text_from(hi, lo))
}

/// [`uuid_from`]'s text, without allocating.
pub fn uuid_text_from(hi: u64, lo: u64) -> [u8; 36] {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    uuid_text(hi, lo)
}

/// The 32 lower-case hex digits of `hi` then `lo`, dashed 8-4-4-4-12 as UUIDs are written.
pub fn uuid_text(hi: u64, lo: u64) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Where `hi`'s digits go, then `lo`'s (dashes at 8, 13, 18 and 23).
    const AT: [usize; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, //
        19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    ];
    let mut out = [b'-'; 36];
    for k in 0..16 {
        let shift = 60 - 4 * k;
        out[AT[k]] = HEX[((hi >> shift) & 0xF) as usize];
        out[AT[16 + k]] = HEX[((lo >> shift) & 0xF) as usize];
    }
    out
}

/// A UUID's text as a `String`.
pub fn uuid_string(text: [u8; 36]) -> String {
    String::from_utf8(text.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_repeat_and_differ() {
        let a: Vec<u64> = (0..4).map(|_| Draw::new(&[1, 2, 3]).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Draw::new(&[1, 2, 3]).next_u64(),
            Draw::new(&[1, 2, 4]).next_u64()
        );
        let mut d = Draw::new(&[9]);
        for _ in 0..1000 {
            assert!(d.below(7) < 7);
            let r = d.range(3, 5);
            assert!((3..=5).contains(&r));
        }
        let u = Draw::new(&[5]).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn uuid_text_is_the_dashed_hex_of_its_bits() {
        let mut d = Draw::new(&[11]);
        for _ in 0..2000 {
            let (hi, lo) = (d.next_u64(), d.next_u64());
            let want = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                hi >> 32,
                (hi >> 16) & 0xFFFF,
                hi & 0xFFFF,
                lo >> 48,
                lo & 0xFFFF_FFFF_FFFF
            );
            assert_eq!(uuid_string(uuid_text(hi, lo)), want);
        }
    }
}
