//! [`GrantKeys`]: lets a sync store its grants before their unique index exists.
//!
//! Grants are upserted on `(external_id, sync_id)`, and keeping that unique index while a sync
//! stores hundreds of thousands of grants was the largest single cost of storing them: each
//! group commit rewrote most of the index's leaves, because the keys of one batch land all
//! over it (measured on the large sync's 300,000 grants: 3.6 s of inserts with the index,
//! 1.9 s without it, and 0.65 s to build it afterwards by sorting).
//!
//! So a full or resources-only sync starts without the index, and the writer remembers a
//! keyed hash of every grant key it stored in the run. A grant whose hash is new cannot be in
//! the table (every stored key was hashed), so it is a plain insert. The first grant whose hash
//! was seen before — a repeated grant, or, very rarely, two keys with one hash — ends that
//! mode: the index is built (it succeeds, since every key stored so far was new), and that
//! grant and every later one are upserted as before. The result is the same table either way;
//! only the cost differs.
//!
//! Memory is 8 bytes per grant plus the set's slack; past [`MAX_KEYS`] grants the writer stops
//! remembering and builds the index, so a sync of any size stays bounded.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::record::GrantRow;

/// The most grant keys remembered in one run (about 32 MiB of hashes at most); beyond it the
/// unique index is built and grants are upserted.
pub(crate) const MAX_KEYS: usize = 2_000_000;

/// Whether the current run's grants still go in without their unique index (module docs).
#[derive(Debug, Default)]
pub(crate) struct GrantKeys {
    /// The hashes of the keys stored in this run while the index is deferred; `None` once the
    /// index exists (or was never dropped, as in a targeted sync).
    seen: Option<HashSet<u64>>,
    /// At most this many keys are remembered ([`MAX_KEYS`]; smaller in tests).
    limit: usize,
    /// The random key of the hashes: nobody outside can aim two grant ids at one hash.
    hasher: RandomState,
}

impl GrantKeys {
    /// A run whose grants table holds none of its grants and no unique index over them.
    pub(crate) fn deferring() -> GrantKeys {
        GrantKeys::deferring_at_most(MAX_KEYS)
    }

    /// [`GrantKeys::deferring`], remembering at most `limit` keys.
    pub(crate) fn deferring_at_most(limit: usize) -> GrantKeys {
        GrantKeys {
            seen: Some(HashSet::new()),
            limit,
            hasher: RandomState::new(),
        }
    }

    /// A run whose grants are upserted through the unique index from the first one.
    pub(crate) fn upserting() -> GrantKeys {
        GrantKeys::default()
    }

    /// Whether the unique index is deferred (grants may be plain inserts).
    pub(crate) fn deferred(&self) -> bool {
        self.seen.is_some()
    }

    /// How many of `rows`, from the first, are certainly new to this run, remembering them. The
    /// rest (from the first repeated hash on, or all of them once the index exists) must be
    /// upserted, after [`GrantKeys::index_built`].
    pub(crate) fn admit(&mut self, rows: &[GrantRow]) -> usize {
        let Some(seen) = &mut self.seen else {
            return 0;
        };
        for (i, row) in rows.iter().enumerate() {
            if seen.len() >= self.limit || !seen.insert(self.hasher.hash_one(&row.external_id)) {
                return i;
            }
        }
        rows.len()
    }

    /// How many keys are remembered.
    pub(crate) fn remembered(&self) -> usize {
        self.seen.as_ref().map_or(0, HashSet::len)
    }

    /// The unique index now exists: every later grant is upserted.
    pub(crate) fn index_built(&mut self) {
        self.seen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v2;

    fn row(external_id: &str) -> GrantRow {
        GrantRow::from(v2::Grant {
            id: external_id.to_owned(),
            ..Default::default()
        })
    }

    #[test]
    fn new_keys_are_admitted_until_the_first_repeat() {
        let mut keys = GrantKeys::deferring();
        assert_eq!(keys.admit(&[row("a"), row("b")]), 2);
        // `a` again, in the middle of a batch: the two before it are still new.
        assert_eq!(keys.admit(&[row("c"), row("d"), row("a"), row("e")]), 2);
        // A repeat inside one batch counts too.
        let mut keys = GrantKeys::deferring();
        assert_eq!(keys.admit(&[row("x"), row("y"), row("x")]), 2);
    }

    #[test]
    fn past_the_limit_nothing_more_is_admitted() {
        let mut keys = GrantKeys::deferring_at_most(3);
        assert_eq!(keys.admit(&[row("a"), row("b")]), 2);
        assert_eq!(keys.admit(&[row("c"), row("d"), row("e")]), 1);
    }

    #[test]
    fn nothing_is_admitted_once_the_index_exists() {
        let mut keys = GrantKeys::deferring();
        assert!(keys.deferred());
        keys.index_built();
        assert!(!keys.deferred());
        assert_eq!(keys.admit(&[row("a")]), 0);
        assert_eq!(GrantKeys::upserting().admit(&[row("a")]), 0);
    }

    #[test]
    fn the_hashes_are_keyed_per_run() {
        let (a, b) = (GrantKeys::deferring(), GrantKeys::deferring());
        assert_ne!(a.hasher.hash_one("g"), b.hasher.hash_one("g"));
    }
}
