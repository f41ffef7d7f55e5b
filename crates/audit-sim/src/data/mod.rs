//! Deterministic data, generated on demand.
//!
//! Every record is a pure function of (tenant seed, record index): nothing is stored, so a
//! stream of a million records costs no memory, and any record can be rebuilt on its own.
//! Record times come from a [`Timeline`], which maps an index to a time (monotonic,
//! non-decreasing, with ties) and back in O(log n).

pub mod genesys;
pub mod json_text;
pub mod names;
pub mod prng;
pub mod zendesk;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use prng::Draw;

/// Maps record indices `0..n` to times in `[start, end]` (in some unit: seconds for Zendesk,
/// milliseconds for Genesys), monotonic non-decreasing in the index.
///
/// Records come in *bursts* of `burst` consecutive indices. Burst `b` starts at
/// `start + floor(b * span / bursts)`; within a burst each record adds 0 (a tie) or
/// `1..=max_step` units to the previous one, capped so that a burst never reaches the next
/// burst's start. A dense timeline (more bursts than units) therefore has many records per
/// unit, and a sparse one still has ties and near-ties inside bursts.
#[derive(Debug, Clone)]
pub struct Timeline {
    seed: u64,
    start: i64,
    span: i64,
    n: u64,
    burst: u64,
    bursts: u64,
    max_step: u64,
    cap: i64,
}

impl Timeline {
    /// A timeline of `n` records between `start` and `end` (inclusive, in units).
    pub fn new(seed: u64, start: i64, end: i64, n: u64, burst: u64, max_step: u64) -> Self {
        let span = (end - start).max(0);
        let burst = burst.max(1);
        let bursts = n.div_ceil(burst).max(1);
        let cap = span / bursts as i64;
        Timeline {
            seed,
            start,
            span,
            n,
            burst,
            bursts,
            max_step: max_step.max(1),
            cap,
        }
    }

    /// Number of records.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The first unit of the span.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The last unit of the span.
    pub fn end(&self) -> i64 {
        self.start + self.span
    }

    /// Records per burst.
    pub fn burst_len(&self) -> u64 {
        self.burst
    }

    fn burst_start(&self, b: u64) -> i64 {
        self.start + (u128::from(b) * self.span as u128 / u128::from(self.bursts)) as i64
    }

    /// The time of record `i` (`i < len()`).
    pub fn time_of(&self, i: u64) -> i64 {
        let b = i / self.burst;
        let j = i % self.burst;
        let mut off: i64 = 0;
        for k in 1..=j {
            let mut d = Draw::new(&[self.seed, 0x7157, b, k]);
            if !d.chance(0.35) {
                off += d.range(1, self.max_step) as i64;
            }
        }
        self.burst_start(b) + off.min(self.cap)
    }

    /// The first index whose time is `>= t` (`len()` when none).
    pub fn first_at_or_after(&self, t: i64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.time_of(mid) < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The first index whose time is `> t`: the number of records at or before `t`.
    pub fn first_after(&self, t: i64) -> u64 {
        self.first_at_or_after(t.saturating_add(1))
    }

    /// The burst (group) of record `i`, as an index range.
    pub fn burst_of(&self, i: u64) -> std::ops::Range<u64> {
        let b = i / self.burst;
        let lo = b * self.burst;
        lo..(lo + self.burst).min(self.n)
    }
}

/// Seconds since the epoch as a UTC time.
pub fn from_secs(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).single().unwrap_or_default()
}

/// Milliseconds since the epoch as a UTC time.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Zendesk's timestamp format: UTC, second precision, `Z`.
pub fn zendesk_time(s: i64) -> String {
    from_secs(s).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Genesys' timestamp format: UTC with milliseconds, which are left out when zero (as Java's
/// `Instant.toString` does).
pub fn genesys_time(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    write_genesys_time(&mut out, ms);
    String::from_utf8(out).expect("ASCII")
}

/// Writes [`genesys_time`]'s text, digit by digit (chrono's formatter is far slower).
pub fn write_genesys_time(out: &mut Vec<u8>, ms: i64) {
    let t = from_millis(ms);
    let with_millis = ms.rem_euclid(1000) != 0;
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // chrono signs and widens such years; leave them to it.
        let format = if with_millis {
            "%Y-%m-%dT%H:%M:%S%.3fZ"
        } else {
            "%Y-%m-%dT%H:%M:%SZ"
        };
        out.extend_from_slice(t.format(format).to_string().as_bytes());
        return;
    }
    let digits = |out: &mut Vec<u8>, n: u32, width: u32| {
        for k in (0..width).rev() {
            out.push(b'0' + (n / 10u32.pow(k) % 10) as u8);
        }
    };
    digits(out, year as u32, 4);
    out.push(b'-');
    digits(out, t.month(), 2);
    out.push(b'-');
    digits(out, t.day(), 2);
    out.push(b'T');
    digits(out, t.hour(), 2);
    out.push(b':');
    digits(out, t.minute(), 2);
    out.push(b':');
    digits(out, t.second(), 2);
    if with_millis {
        out.push(b'.');
        digits(out, t.timestamp_subsec_millis(), 3);
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(t: &Timeline) {
        let mut prev = i64::MIN;
        for i in 0..t.len() {
            let x = t.time_of(i);
            assert!(x >= prev, "not monotonic at {i}");
            assert!(x >= t.start() && x <= t.end(), "out of span at {i}");
            prev = x;
        }
        for probe in [
            t.start() - 1,
            t.start(),
            t.start() + 7,
            t.end(),
            t.end() + 1,
        ] {
            let f = t.first_at_or_after(probe);
            assert!(f == t.len() || t.time_of(f) >= probe);
            assert!(f == 0 || t.time_of(f - 1) < probe);
        }
    }

    #[test]
    fn dense_and_sparse_timelines_are_monotonic_and_invertible() {
        check(&Timeline::new(1, 1000, 1100, 5000, 4, 2));
        check(&Timeline::new(2, 0, 1_000_000, 500, 3, 400));
        check(&Timeline::new(3, 0, 10, 1, 3, 2));
        check(&Timeline::new(4, 0, 0, 50, 3, 2));
        let sparse = Timeline::new(5, 0, 1_000_000, 3000, 4, 2);
        let ties = (1..sparse.len())
            .filter(|&i| sparse.time_of(i) == sparse.time_of(i - 1))
            .count();
        assert!(ties > 100, "sparse timelines still have ties: {ties}");
    }

    #[test]
    fn genesys_time_writes_what_chrono_formats() {
        let chrono_text = |ms: i64| {
            let t = from_millis(ms);
            if ms.rem_euclid(1000) == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        };
        let mut d = Draw::new(&[42]);
        let mut probes = vec![
            0,
            1,
            -1,
            999,
            1000,
            -1000,
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
            253_402_300_800_000,
            1_704_067_199_999,
            1_704_067_200_000,
            i64::MAX,
            i64::MIN,
        ];
        probes.extend((0..20_000).map(|_| d.below(4_000_000_000_000) as i64 - 500_000_000_000));
        probes.extend((0..2_000).map(|_| d.next_u64() as i64 / 1000));
        for ms in probes {
            assert_eq!(genesys_time(ms), chrono_text(ms), "{ms}");
        }
    }
}
