//! A walk's bounded memory of what it saw lately (record ids, page cursors), by hash.
//!
//! A walk remembers thousands of strings to tell a repeat from something new, and a sliced
//! export runs a walk per time slice, so what one remembered string costs is multiplied. Here
//! it costs 8 bytes: a 64-bit hash keyed at random per memory (so no input is built to
//! collide), in a ring that overwrites the oldest. A hash set beside a queue cost 24 bytes a
//! string and, by arithmetic on their growth (not measured), about 140 KB for 4,096 ids; the
//! ring is 32 KB, and a walk that sees fewer holds less.
//!
//! Looking up scans the ring. The callers look up rarely: a walk's edge only for a record
//! behind it (out of order, or read again), the paginator once a page.

use std::hash::{BuildHasher, Hash, RandomState};

/// The last `capacity` items remembered, as keyed 64-bit hashes. A new item is taken for one
/// of them when its hash matches: a chance of about `capacity` in 2^64 (2 in 10^16 for
/// 4,096), which callers must make fail loudly or err on the safe side.
#[derive(Debug, Clone)]
pub(crate) struct RecentHashes {
    key: RandomState,
    hashes: Vec<u64>,
    /// Where the next hash goes once the ring is full (the oldest's slot).
    next: usize,
    capacity: usize,
}

impl RecentHashes {
    pub(crate) fn new(capacity: usize) -> Self {
        RecentHashes {
            key: RandomState::new(),
            hashes: Vec::new(),
            next: 0,
            capacity: capacity.max(1),
        }
    }

    /// Whether `item` is one of the last `capacity` remembered.
    pub(crate) fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        let hash = self.key.hash_one(item);
        self.hashes.contains(&hash)
    }

    /// Remembers `item`, forgetting the oldest when full.
    pub(crate) fn insert<T: Hash + ?Sized>(&mut self, item: &T) {
        let hash = self.key.hash_one(item);
        if self.hashes.len() < self.capacity {
            self.hashes.push(hash);
        } else {
            self.hashes[self.next] = hash;
            self.next = (self.next + 1) % self.capacity;
        }
    }

    /// How many items it holds (at most `capacity`).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_items_and_forgets_the_oldest() {
        let mut recent = RecentHashes::new(3);
        for id in ["a", "b", "c", "d"] {
            recent.insert(id);
        }
        assert_eq!(recent.len(), 3);
        assert!(!recent.contains("a"), "the oldest is forgotten");
        assert!(["b", "c", "d"].iter().all(|id| recent.contains(*id)));
        assert!(!recent.contains("e"));
        recent.insert("e");
        assert!(!recent.contains("b") && recent.contains("e"));
    }

    #[test]
    fn holds_no_more_than_it_was_given() {
        let mut recent = RecentHashes::new(4096);
        (0..10).for_each(|i| recent.insert(&i));
        assert_eq!(recent.len(), 10);
        assert!(recent.hashes.capacity() < 4096);
    }
}
