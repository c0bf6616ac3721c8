//! The live workspace behind a running simulator: a [`Dataset`] plus lazily built id indexes.
//!
//! The store sits behind an `Arc<RwLock<Store>>` shared by every handler. Read endpoints take the
//! read lock, serialize straight from borrowed data and release it; they never hold it across an
//! `.await`. Write endpoints (POST/PATCH/DELETE, later) take the write lock and go through the
//! `&mut self` methods here, which keep the indexes honest by resetting them.
//!
//! # Indexes
//! `GET /Users/{id}`, `GET /Groups/{id}` and group member display names need lookups by id. An
//! index is only built on first use, so a list-only benchmark over a million users pays nothing
//! for it, and it stores 64-bit hashes rather than copies of the ids (about 16 bytes per entry).
//! Every hit is verified against the stored id; the rare hash collision goes to an overflow list
//! that is scanned linearly.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use super::admin::Organization;
use super::dataset::{Dataset, SimGroup, SimUser};

/// Dataset plus on-demand id indexes; see the module docs.
#[derive(Debug)]
pub(crate) struct Store {
    /// The workspace as served, in list order.
    dataset: Dataset,
    /// Position of each user by id, built on first lookup.
    user_index: OnceLock<IdIndex>,
    /// Position of each group by id, built on first lookup.
    group_index: OnceLock<IdIndex>,
    /// The organization the Admin API serves, if any (its SCIM workspace is `dataset`).
    org: Option<Organization>,
    /// Position of each organization person by id, built on first lookup.
    person_index: OnceLock<IdIndex>,
}

impl Store {
    /// Wraps a dataset; no index is built yet.
    #[cfg(test)]
    pub(crate) fn new(dataset: Dataset) -> Self {
        Self::with_org(dataset, None)
    }

    /// Wraps a dataset and the organization around it; no index is built yet.
    pub(crate) fn with_org(dataset: Dataset, org: Option<Organization>) -> Self {
        Store {
            dataset,
            user_index: OnceLock::new(),
            group_index: OnceLock::new(),
            org,
            person_index: OnceLock::new(),
        }
    }

    /// The organization, when the simulator serves the Admin API.
    pub(crate) fn org(&self) -> Option<&Organization> {
        self.org.as_ref()
    }

    /// The organization person profile with this id, if any.
    pub(crate) fn person(&self, id: &str) -> Option<&super::admin::OrgPerson> {
        let people = &self.org.as_ref()?.people;
        let index = self
            .person_index
            .get_or_init(|| IdIndex::build(people.iter().map(|p| p.id.as_str())));
        index
            .find(id, |i| people[i].id.as_str())
            .map(|i| &people[i])
    }

    /// Mutable access to the organization and the SCIM workspace together (Admin writes to the
    /// SCIM workspace's groups change both); drops every index.
    pub(crate) fn parts_mut(&mut self) -> (&mut Dataset, Option<&mut Organization>) {
        self.user_index = OnceLock::new();
        self.group_index = OnceLock::new();
        self.person_index = OnceLock::new();
        (&mut self.dataset, self.org.as_mut())
    }

    /// All users, in list order.
    pub(crate) fn users(&self) -> &[SimUser] {
        &self.dataset.users
    }

    /// All groups, in list order.
    pub(crate) fn groups(&self) -> &[SimGroup] {
        &self.dataset.groups
    }

    /// The user with this id, if any.
    pub(crate) fn user(&self, id: &str) -> Option<&SimUser> {
        let users = &self.dataset.users;
        let index = self
            .user_index
            .get_or_init(|| IdIndex::build(users.iter().map(|u| u.id.as_str())));
        index.find(id, |i| users[i].id.as_str()).map(|i| &users[i])
    }

    /// The group with this id, if any.
    pub(crate) fn group(&self, id: &str) -> Option<&SimGroup> {
        let groups = &self.dataset.groups;
        let index = self
            .group_index
            .get_or_init(|| IdIndex::build(groups.iter().map(|g| g.id.as_str())));
        index
            .find(id, |i| groups[i].id.as_str())
            .map(|i| &groups[i])
    }

    /// A copy of the current workspace.
    pub(crate) fn snapshot(&self) -> Dataset {
        self.dataset.clone()
    }

    /// Mutable access for write endpoints; drops the indexes because ids or positions may change.
    pub(crate) fn dataset_mut(&mut self) -> &mut Dataset {
        self.user_index = OnceLock::new();
        self.group_index = OnceLock::new();
        &mut self.dataset
    }
}

/// Maps id hashes to positions; collisions (and duplicate ids) go to `overflow`.
#[derive(Debug)]
struct IdIndex {
    /// Hasher for ids, fixed for the index's lifetime.
    hasher: RandomState,
    /// Hash of an id → position of the first item with that hash.
    primary: HashMap<u64, u32>,
    /// Positions whose hash was already taken; scanned when the primary hit is not a match.
    overflow: Vec<u32>,
}

impl IdIndex {
    /// Indexes `ids` by position.
    fn build<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let hasher = RandomState::new();
        let mut primary = HashMap::with_capacity(ids.len());
        let mut overflow = Vec::new();
        for (position, id) in ids.enumerate() {
            let position = u32::try_from(position).expect("fewer than 2^32 items");
            primary
                .entry(hasher.hash_one(id))
                .and_modify(|_| overflow.push(position))
                .or_insert(position);
        }
        IdIndex {
            hasher,
            primary,
            overflow,
        }
    }

    /// Position of `id`, verified through `id_at` (position → stored id).
    fn find<'a>(&self, id: &str, id_at: impl Fn(usize) -> &'a str) -> Option<usize> {
        if let Some(&position) = self.primary.get(&self.hasher.hash_one(id))
            && id_at(position as usize) == id
        {
            return Some(position as usize);
        }
        self.overflow
            .iter()
            .map(|&p| p as usize)
            .find(|&p| id_at(p) == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_users_and_groups_by_id() {
        let store = Store::new(Dataset::reference());
        let dave = store.user("44444444-4444-4444-4444-444444444444").unwrap();
        assert_eq!(dave.user_name, "dave.member@example.com");
        assert!(store.user("44444444-4444-4444-4444-44444444444").is_none());
        let designers = store.group("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb").unwrap();
        assert_eq!(designers.display_name, "Designers");
        assert!(store.group("nope").is_none());
    }

    #[test]
    fn overflow_entries_are_found() {
        let ids = ["a", "b", "c", "a"];
        let mut index = IdIndex::build(ids.iter().copied());
        // Force a "collision": move b's entry to the overflow list.
        let b = index.hasher.hash_one("b");
        index.primary.remove(&b);
        index.overflow.push(1);
        assert_eq!(index.find("b", |i| ids[i]), Some(1));
        assert_eq!(index.find("a", |i| ids[i]), Some(0));
        assert_eq!(index.find("z", |i| ids[i]), None);
    }

    #[test]
    fn mutation_resets_indexes() {
        let mut store = Store::new(Dataset::reference());
        assert!(store.user("11111111-1111-1111-1111-111111111111").is_some());
        store.dataset_mut().users.remove(0);
        assert!(store.user("11111111-1111-1111-1111-111111111111").is_none());
        assert!(store.user("22222222-2222-2222-2222-222222222222").is_some());
    }
}
