//! The workspace a simulator serves: users, groups and how to make them.
//!
//! A [`Dataset`] is plain data — no indexes, no locks — so tests can build one by hand, compare
//! snapshots with `==`, and hand it to [`Simulator::start`](super::Simulator::start). Two ready-made
//! workspaces exist:
//!
//! - [`Dataset::reference`]: the five-user, two-group workspace of `fixtures/README.md`, the parity
//!   target for the Go connector's `.c1z`.
//! - [`Dataset::generate`]: a seeded, deterministic workspace of any size for scale tests and
//!   benchmarks. The same [`GenSpec`] always yields the same ids, names, roles and memberships.
//!
//! # Generation design
//! Users, roles, activity and groups each draw from their own seeded random stream, so changing
//! the number of groups does not change any user id, and changing `inactive_share` does not change
//! roles. Role counts are exact (not sampled per user): `max(1, round(1%))` owners,
//! `round(2%)` membership admins, `round(20%)` restricted members, the rest members; a seeded
//! permutation decides who gets which. Inactive users are taken from the end of that permutation,
//! so an owner is never generated inactive. Generation is O(users + groups × members_per_group) and
//! makes six small allocations per user: 1,000,000 users take about a second in a release build
//! on a small, busy machine, and the resulting dataset holds roughly 350 bytes per user.

use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Role value of a workspace owner (the Notion extension's `role`).
pub const ROLE_OWNER: &str = "owner";
/// Role value of a membership admin.
pub const ROLE_MEMBERSHIP_ADMIN: &str = "membership_admin";
/// Role value of a regular member.
pub const ROLE_MEMBER: &str = "member";
/// Role value of a restricted member.
pub const ROLE_RESTRICTED_MEMBER: &str = "restricted_member";

/// One workspace member as the simulator stores it.
///
/// Fields map one-to-one onto the SCIM user the simulator serves; absent optional parts are
/// left out of the JSON (Notion guarantees no sub-field of `name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    /// SCIM `id` (a hyphenated UUID in both built-in datasets).
    pub id: String,
    /// SCIM `userName`: the email address; also served as the single primary work email.
    pub user_name: String,
    /// `name.givenName`, omitted when `None`.
    pub given_name: Option<String>,
    /// `name.familyName`, omitted when `None`.
    pub family_name: Option<String>,
    /// `name.formatted`, omitted when `None`.
    pub formatted: Option<String>,
    /// Workspace role in the Notion extension; `None` leaves the extension out entirely.
    pub role: Option<String>,
    /// SCIM `active`; `false` users are deprovisioned but still listed.
    pub active: bool,
}

impl SimUser {
    /// Display name with Notion's fallback chain: `formatted` → `givenName familyName` → `userName`.
    pub fn display_name(&self) -> Cow<'_, str> {
        if let Some(formatted) = self.formatted.as_deref().filter(|f| !f.is_empty()) {
            return Cow::Borrowed(formatted);
        }
        match (self.given_name.as_deref(), self.family_name.as_deref()) {
            (Some(given), Some(family)) => Cow::Owned(format!("{given} {family}")),
            (Some(only), None) | (None, Some(only)) => Cow::Borrowed(only),
            (None, None) => Cow::Borrowed(&self.user_name),
        }
    }
}

/// One group as the simulator stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimGroup {
    /// SCIM `id` (a hyphenated UUID in both built-in datasets).
    pub id: String,
    /// SCIM `displayName`.
    pub display_name: String,
    /// Member user ids, in the order they are served.
    pub members: Vec<String>,
}

/// A whole workspace: users and groups in stable insertion order (the order list pages use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    /// Workspace members, in list order.
    pub users: Vec<SimUser>,
    /// Groups, in list order.
    pub groups: Vec<SimGroup>,
}

/// Parameters of [`Dataset::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenSpec {
    /// Number of users (default 1,000).
    pub users: usize,
    /// Number of groups (default 20).
    pub groups: usize,
    /// Distinct members per group, capped at `users` (default 25).
    pub members_per_group: usize,
    /// Seed of every random choice (default 42).
    pub seed: u64,
    /// Share of users generated with `active: false`, in `0.0..=1.0` (default 0). Owners are never
    /// made inactive.
    pub inactive_share: f64,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            users: 1_000,
            groups: 20,
            members_per_group: 25,
            seed: 42,
            inactive_share: 0.0,
        }
    }
}

/// Given names used by [`Dataset::generate`].
pub(crate) const GIVEN_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Brian",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Guido",
    "Hedy",
    "Ivan",
    "Jean",
    "John",
    "Ken",
    "Katherine",
    "Leslie",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Rob",
    "Shafi",
    "Sophie",
    "Tim",
    "Vint",
    "Whitfield",
    "Xavier",
    "Yukihiro",
    "Zoe",
];

/// Family names used by [`Dataset::generate`].
pub(crate) const FAMILY_NAMES: &[&str] = &[
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldwasser",
    "Hopper",
    "Iverson",
    "Johnson",
    "Kernighan",
    "Lamport",
    "Liskov",
    "Lovelace",
    "Matsumoto",
    "McCarthy",
    "Nygaard",
    "Perlman",
    "Pike",
    "Ritchie",
    "Rossum",
    "Shannon",
    "Sutherland",
    "Thompson",
    "Torvalds",
    "Turing",
    "Wilson",
    "Wirth",
    "Yao",
    "Zuse",
];

/// Independent random streams, so one knob never perturbs what another produces.
mod stream {
    pub const USERS: u64 = 0x7573_6572_7300_0001;
    pub const ROLES: u64 = 0x726f_6c65_7300_0002;
    pub const GROUPS: u64 = 0x6772_6f75_7073_0003;
}

impl Dataset {
    /// The reference workspace of `fixtures/README.md`.
    ///
    /// Five active users (ids `11111111-…` to `55555555-…`, roles owner, membership_admin, member,
    /// member, restricted_member) and two groups: `aaaaaaaa-…` "Engineering" = {1111, 3333, 4444}
    /// and `bbbbbbbb-…` "Designers" = {2222, 5555}.
    pub fn reference() -> Dataset {
        let user = |digit: char, email: &str, given: &str, family: &str, role: &str| SimUser {
            id: repeated_uuid(digit),
            user_name: email.to_owned(),
            given_name: Some(given.to_owned()),
            family_name: Some(family.to_owned()),
            formatted: Some(format!("{given} {family}")),
            role: Some(role.to_owned()),
            active: true,
        };
        let users = vec![
            user('1', "owner@example.com", "Alice", "Owner", ROLE_OWNER),
            user(
                '2',
                "admin@example.com",
                "Bob",
                "Admin",
                ROLE_MEMBERSHIP_ADMIN,
            ),
            user(
                '3',
                "carol.member@example.com",
                "Carol",
                "Member",
                ROLE_MEMBER,
            ),
            user(
                '4',
                "dave.member@example.com",
                "Dave",
                "Member",
                ROLE_MEMBER,
            ),
            user(
                '5',
                "eve.restricted@example.com",
                "Eve",
                "Restricted",
                ROLE_RESTRICTED_MEMBER,
            ),
        ];
        let groups = vec![
            SimGroup {
                id: repeated_uuid('a'),
                display_name: "Engineering".to_owned(),
                members: vec![repeated_uuid('1'), repeated_uuid('3'), repeated_uuid('4')],
            },
            SimGroup {
                id: repeated_uuid('b'),
                display_name: "Designers".to_owned(),
                members: vec![repeated_uuid('2'), repeated_uuid('5')],
            },
        ];
        Dataset { users, groups }
    }

    /// A deterministic generated workspace (see the module docs for the exact role mix).
    ///
    /// User `n` (1-based, in list order) has userName `user{n}@example.com`; ids are random
    /// version-4-shaped hyphenated UUIDs drawn from `spec.seed`. Groups are named `Group {n}` and
    /// hold `min(members_per_group, users)` distinct members, listed in user order.
    pub fn generate(spec: &GenSpec) -> Dataset {
        let n = spec.users;
        let mut user_rng = StdRng::seed_from_u64(spec.seed ^ stream::USERS);
        let mut users: Vec<SimUser> = (1..=n)
            .map(|number| {
                let id = random_uuid(&mut user_rng);
                let given = GIVEN_NAMES[user_rng.random_range(0..GIVEN_NAMES.len())];
                let family = FAMILY_NAMES[user_rng.random_range(0..FAMILY_NAMES.len())];
                let mut formatted = String::with_capacity(given.len() + 1 + family.len());
                formatted.push_str(given);
                formatted.push(' ');
                formatted.push_str(family);
                SimUser {
                    id,
                    user_name: format!("user{number}@example.com"),
                    given_name: Some(given.to_owned()),
                    family_name: Some(family.to_owned()),
                    formatted: Some(formatted),
                    role: None,
                    active: true,
                }
            })
            .collect();

        if n > 0 {
            // A seeded permutation hands out exact role counts; inactive users come from its tail.
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.shuffle(&mut StdRng::seed_from_u64(spec.seed ^ stream::ROLES));
            let share = |percent: f64| ((n as f64) * percent / 100.0).round() as usize;
            let owners = share(1.0).max(1);
            let admins = share(2.0).min(n - owners);
            let restricted = share(20.0).min(n - owners - admins);
            for (rank, &index) in order.iter().enumerate() {
                let role = if rank < owners {
                    ROLE_OWNER
                } else if rank < owners + admins {
                    ROLE_MEMBERSHIP_ADMIN
                } else if rank < owners + admins + restricted {
                    ROLE_RESTRICTED_MEMBER
                } else {
                    ROLE_MEMBER
                };
                users[index as usize].role = Some(role.to_owned());
            }
            let inactive = ((n as f64) * spec.inactive_share.clamp(0.0, 1.0)).round() as usize;
            for &index in order.iter().rev().take(inactive.min(n - owners)) {
                users[index as usize].active = false;
            }
        }

        let mut group_rng = StdRng::seed_from_u64(spec.seed ^ stream::GROUPS);
        let per_group = spec.members_per_group.min(n);
        let groups = (1..=spec.groups)
            .map(|number| {
                let id = random_uuid(&mut group_rng);
                let mut picked = rand::seq::index::sample(&mut group_rng, n, per_group).into_vec();
                picked.sort_unstable();
                SimGroup {
                    id,
                    display_name: format!("Group {number}"),
                    members: picked.into_iter().map(|i| users[i].id.clone()).collect(),
                }
            })
            .collect();

        Dataset { users, groups }
    }

    /// The user with this id (linear scan; meant for tests and small datasets).
    pub fn user(&self, id: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The group with this id (linear scan; meant for tests and small datasets).
    pub fn group(&self, id: &str) -> Option<&SimGroup> {
        self.groups.iter().find(|g| g.id == id)
    }
}

/// `dddddddd-dddd-dddd-dddd-dddddddddddd` for one hex digit `d` (the reference dataset's ids).
fn repeated_uuid(digit: char) -> String {
    let run = |len: usize| digit.to_string().repeat(len);
    format!("{}-{}-{}-{}-{}", run(8), run(4), run(4), run(4), run(12))
}

/// A version-4-shaped UUID from the seeded stream (the `uuid` crate's `v4` feature is not needed).
pub(crate) fn random_uuid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    // `encode_lower` skips the formatting machinery `to_string` would go through.
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_matches_the_fixture_readme() {
        let data = Dataset::reference();
        assert_eq!(data.users.len(), 5);
        assert_eq!(data.users[0].id, "11111111-1111-1111-1111-111111111111");
        assert_eq!(data.users[0].formatted.as_deref(), Some("Alice Owner"));
        assert_eq!(data.users[4].role.as_deref(), Some(ROLE_RESTRICTED_MEMBER));
        assert!(data.users.iter().all(|u| u.active));
        let engineering = data.group("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa").unwrap();
        assert_eq!(engineering.display_name, "Engineering");
        assert_eq!(engineering.members.len(), 3);
        assert_eq!(
            data.groups[1].members[1],
            "55555555-5555-5555-5555-555555555555"
        );
    }

    #[test]
    fn generation_is_deterministic_and_independent_of_group_settings() {
        let spec = GenSpec {
            users: 300,
            groups: 4,
            members_per_group: 40,
            seed: 7,
            inactive_share: 0.1,
        };
        let a = Dataset::generate(&spec);
        assert_eq!(a, Dataset::generate(&spec));
        let more_groups = Dataset::generate(&GenSpec {
            groups: 9,
            ..spec.clone()
        });
        assert_eq!(a.users, more_groups.users);
        let other_seed = Dataset::generate(&GenSpec { seed: 8, ..spec });
        assert_ne!(a.users[0].id, other_seed.users[0].id);
    }

    #[test]
    fn generated_roles_activity_and_members() {
        let data = Dataset::generate(&GenSpec {
            users: 1_000,
            groups: 3,
            members_per_group: 50,
            seed: 1,
            inactive_share: 0.05,
        });
        let count = |role: &str| {
            data.users
                .iter()
                .filter(|u| u.role.as_deref() == Some(role))
                .count()
        };
        assert_eq!(count(ROLE_OWNER), 10);
        assert_eq!(count(ROLE_MEMBERSHIP_ADMIN), 20);
        assert_eq!(count(ROLE_RESTRICTED_MEMBER), 200);
        assert_eq!(count(ROLE_MEMBER), 770);
        assert_eq!(data.users.iter().filter(|u| !u.active).count(), 50);
        assert!(
            data.users
                .iter()
                .filter(|u| u.role.as_deref() == Some(ROLE_OWNER))
                .all(|u| u.active)
        );
        assert_eq!(data.users[41].user_name, "user42@example.com");
        let id = &data.users[0].id;
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        for group in &data.groups {
            let mut members = group.members.clone();
            members.sort();
            members.dedup();
            assert_eq!(members.len(), 50);
        }
    }

    #[test]
    fn tiny_workspaces_still_have_an_owner_and_capped_groups() {
        let data = Dataset::generate(&GenSpec {
            users: 3,
            groups: 2,
            members_per_group: 10,
            ..GenSpec::default()
        });
        assert_eq!(
            data.users
                .iter()
                .filter(|u| u.role.as_deref() == Some(ROLE_OWNER))
                .count(),
            1
        );
        assert!(data.groups.iter().all(|g| g.members.len() == 3));
        let empty = Dataset::generate(&GenSpec {
            users: 0,
            groups: 2,
            ..GenSpec::default()
        });
        assert!(empty.users.is_empty());
        assert!(empty.groups.iter().all(|g| g.members.is_empty()));
    }

    #[test]
    fn display_name_fallbacks() {
        let mut user = Dataset::reference().users.remove(0);
        assert_eq!(user.display_name(), "Alice Owner");
        user.formatted = None;
        assert_eq!(user.display_name(), "Alice Owner");
        user.family_name = None;
        assert_eq!(user.display_name(), "Alice");
        user.given_name = None;
        assert_eq!(user.display_name(), "owner@example.com");
    }
}
