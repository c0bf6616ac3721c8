//! `baton-notion diff`: what changed between two finished full syncs.
//!
//! By default it compares the two newest finished full syncs inside one `.c1z` (the store keeps
//! two); with `--against OTHER.c1z` it compares the newest finished full sync of `OTHER` (the
//! baseline, "before") with the newest of the file ("after").
//!
//! The comparison is generic over Baton data, recognised by resource-type traits:
//! - users are resources whose type has the user trait: added, removed, status changed
//!   (enabled ⇄ disabled/deleted);
//! - role changes are changes in grants on entitlements of resources whose type has the role
//!   trait, reported once per principal as the role set before and after;
//! - memberships are grants on entitlements of resources whose type has the group trait;
//! - any other grant that appears or disappears is reported as a plain grant change (agent
//!   permissions, AI client connections);
//! - resources of types with the secret, app or agent trait (personal access tokens, AI
//!   clients, agents) that appear or disappear are reported as resource changes.
//!
//! Grant changes of a user who was added or removed are not repeated: the user change implies
//! them. Both syncs are loaded into memory (ids and names only), which is fine for an operator
//! tool on workspaces of tens of thousands of members.
//!
//! # JSON shape (stable)
//! ```json
//! { "before": {"file", "sync_id", "started_at", "ended_at"} | null,
//!   "after":  {"file", "sync_id", "started_at", "ended_at"},
//!   "changed": true,
//!   "summary": {"users_added", "users_removed", "user_status_changes", "role_changes",
//!               "memberships_added", "memberships_removed", "grants_added", "grants_removed",
//!               "resources_added"?, "resources_removed"? (present when not 0)},
//!   "changes": [
//!     {"kind": "user_added" | "user_removed", "user": SUBJECT},
//!     {"kind": "user_status_changed", "user": SUBJECT, "from": "enabled", "to": "disabled"},
//!     {"kind": "role_changed", "principal": SUBJECT, "from": ["member"], "to": ["owner"]},
//!     {"kind": "membership_added" | "membership_removed", "group": SUBJECT,
//!      "principal": SUBJECT, "entitlement_id": "…"},
//!     {"kind": "grant_added" | "grant_removed", "entitlement_id": "…", "principal": SUBJECT},
//!     {"kind": "resource_added" | "resource_removed", "resource": SUBJECT} ] }
//! ```
//! where `SUBJECT` is `{"resource_type", "id", "name"}` and role lists hold role resource ids,
//! sorted. `before` is null when the file holds only one finished full sync (nothing to compare).
//!
//! # Table
//! For people: one row per change, streamed; names, ids and sync fields come from the files
//! and are shown through [`crate::text`] (escaped, capped: a name at [`NAME_WIDTH`]
//! characters, an id at [`ID_WIDTH`]). The JSON keeps them whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

mod render;

use super::inspect::user_info;
use super::{Error, Result, has_trait, open, read_err, resource_key};
use crate::baton::c1z::{Reader, SyncRun};
use crate::pb::v2::resource_type::Trait;

/// One side of a comparison.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyncRef {
    /// The artifact holding the sync.
    pub file: PathBuf,
    /// The sync run id.
    pub sync_id: String,
    /// When it started (as stored).
    pub started_at: String,
    /// When it ended (as stored).
    pub ended_at: Option<String>,
}

/// A resource named in a change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subject {
    /// Resource type id.
    pub resource_type: String,
    /// Resource id.
    pub id: String,
    /// Display name (from whichever sync has the resource; empty if neither does).
    pub name: String,
}

/// One change between the two syncs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// A user appeared.
    UserAdded {
        /// The user.
        user: Subject,
    },
    /// A user disappeared.
    UserRemoved {
        /// The user.
        user: Subject,
    },
    /// A user's status changed (e.g. enabled → disabled).
    UserStatusChanged {
        /// The user.
        user: Subject,
        /// Status before.
        from: String,
        /// Status after.
        to: String,
    },
    /// The roles granted to a principal changed.
    RoleChanged {
        /// Who.
        principal: Subject,
        /// Role resource ids before, sorted.
        from: Vec<String>,
        /// Role resource ids after, sorted.
        to: Vec<String>,
    },
    /// A principal joined a group.
    MembershipAdded {
        /// The group.
        group: Subject,
        /// The new member.
        principal: Subject,
        /// The entitlement granted.
        entitlement_id: String,
    },
    /// A principal left a group.
    MembershipRemoved {
        /// The group.
        group: Subject,
        /// The former member.
        principal: Subject,
        /// The entitlement revoked.
        entitlement_id: String,
    },
    /// Any other grant appeared.
    GrantAdded {
        /// The entitlement.
        entitlement_id: String,
        /// Who holds it now.
        principal: Subject,
    },
    /// Any other grant disappeared.
    GrantRemoved {
        /// The entitlement.
        entitlement_id: String,
        /// Who held it.
        principal: Subject,
    },
    /// A token, AI client or agent appeared.
    ResourceAdded {
        /// The resource.
        resource: Subject,
    },
    /// A token, AI client or agent disappeared.
    ResourceRemoved {
        /// The resource.
        resource: Subject,
    },
}

/// Counts per kind of change.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Users added.
    pub users_added: usize,
    /// Users removed.
    pub users_removed: usize,
    /// Users whose status changed.
    pub user_status_changes: usize,
    /// Principals whose roles changed.
    pub role_changes: usize,
    /// Group memberships added.
    pub memberships_added: usize,
    /// Group memberships removed.
    pub memberships_removed: usize,
    /// Other grants added.
    pub grants_added: usize,
    /// Other grants removed.
    pub grants_removed: usize,
    /// Tokens, AI clients and agents added (left out of the JSON when 0, so a SCIM-only diff
    /// keeps its shape).
    #[serde(skip_serializing_if = "is_zero")]
    pub resources_added: usize,
    /// Tokens, AI clients and agents removed (left out of the JSON when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub resources_removed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The result of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// The baseline; `None` when there was nothing to compare with.
    pub before: Option<SyncRef>,
    /// The newer sync.
    pub after: SyncRef,
    /// Whether anything changed.
    pub changed: bool,
    /// Counts per kind.
    pub summary: Summary,
    /// Every change, grouped by kind in the order of [`Summary`], then by id.
    pub changes: Vec<Change>,
}

/// Compares syncs of `path` (see the module docs for which ones).
pub fn diff(path: &Path, against: Option<&Path>) -> Result<DiffReport> {
    let reader = open(path)?;
    let mut finished = finished_full_syncs(&reader)?;
    let after_run = finished.pop().ok_or_else(|| Error::NoFinishedSync {
        path: path.to_path_buf(),
    })?;
    let after = Snapshot::load(&reader, after_run)?;
    let before = match against {
        Some(other) => {
            let other_reader = open(other)?;
            let run =
                finished_full_syncs(&other_reader)?
                    .pop()
                    .ok_or_else(|| Error::NoFinishedSync {
                        path: other.to_path_buf(),
                    })?;
            Some(Snapshot::load(&other_reader, run)?)
        }
        None => match finished.pop() {
            Some(run) => Some(Snapshot::load(&reader, run)?),
            None => None,
        },
    };
    Ok(compare(before.as_ref(), &after))
}

/// Finished full syncs, oldest first (by end time, then id).
fn finished_full_syncs(reader: &Reader) -> Result<Vec<SyncRun>> {
    let mut runs: Vec<SyncRun> = reader
        .syncs()
        .map_err(read_err(reader))?
        .into_iter()
        .filter(|r| r.ended_at.is_some() && r.sync_type == "full")
        .collect();
    runs.sort_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)));
    Ok(runs)
}

/// What kind of entitlement a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Role,
    Group,
    Other,
}

/// One grant, reduced to what the comparison needs.
#[derive(Debug, Clone)]
struct GrantRow {
    kind: Kind,
    /// `type:id` of the entitlement's resource.
    resource: String,
    /// `type:id` of the principal.
    principal: String,
}

/// The ids and names of one sync.
struct Snapshot {
    sync: SyncRef,
    /// `type:id` → display name, every resource.
    names: HashMap<String, String>,
    /// `type:id` → status, users only.
    users: BTreeMap<String, String>,
    /// `type:id` of the resources whose coming and going is reported (secret, app, agent).
    tracked: BTreeSet<String>,
    /// `(entitlement id, principal type:id)` → grant.
    grants: BTreeMap<(String, String), GrantRow>,
}

impl Snapshot {
    fn load(reader: &Reader, run: SyncRun) -> Result<Snapshot> {
        let err = read_err(reader);
        let sid = run.sync_id.clone();
        let types = reader.resource_types(&sid).map_err(&err)?;
        let user_types: BTreeSet<String> = types
            .iter()
            .filter(|t| has_trait(t, Trait::User))
            .map(|t| t.id.clone())
            .collect();
        let kind_of: HashMap<String, Kind> = types
            .iter()
            .map(|t| {
                let k = if has_trait(t, Trait::Role) {
                    Kind::Role
                } else if has_trait(t, Trait::Group) {
                    Kind::Group
                } else {
                    Kind::Other
                };
                (t.id.clone(), k)
            })
            .collect();
        let tracked_types: BTreeSet<String> = types
            .iter()
            .filter(|t| {
                [Trait::Secret, Trait::App, Trait::Agent]
                    .iter()
                    .any(|&k| has_trait(t, k))
            })
            .map(|t| t.id.clone())
            .collect();
        let mut names = HashMap::new();
        let mut users = BTreeMap::new();
        let mut tracked = BTreeSet::new();
        for r in reader.resources(&sid, None).map_err(&err)? {
            let key = resource_key(r.id.as_ref());
            let ty =
                r.id.as_ref()
                    .map(|i| i.resource_type.as_str())
                    .unwrap_or("");
            if user_types.contains(ty) {
                let status = user_info(&r).map(|(s, _)| s).unwrap_or("unspecified");
                users.insert(key.clone(), status.to_owned());
            }
            if tracked_types.contains(ty) {
                tracked.insert(key.clone());
            }
            names.insert(key, r.display_name);
        }
        let mut grants = BTreeMap::new();
        for g in reader.grants(&sid, None).map_err(&err)? {
            let ent = g.entitlement.unwrap_or_default();
            let rid = ent.resource.and_then(|r| r.id);
            let kind = rid
                .as_ref()
                .and_then(|r| kind_of.get(&r.resource_type).copied())
                .unwrap_or(Kind::Other);
            let principal = resource_key(g.principal.and_then(|p| p.id).as_ref());
            grants.insert(
                (ent.id, principal.clone()),
                GrantRow {
                    kind,
                    resource: resource_key(rid.as_ref()),
                    principal,
                },
            );
        }
        Ok(Snapshot {
            sync: SyncRef {
                file: reader.path().to_path_buf(),
                sync_id: run.sync_id,
                started_at: run.started_at,
                ended_at: run.ended_at,
            },
            names,
            users,
            tracked,
            grants,
        })
    }

    /// Roles held by `principal`: role resource ids, sorted.
    fn roles_of(&self, principal: &str) -> Vec<String> {
        let set: BTreeSet<String> = self
            .grants
            .values()
            .filter(|g| g.kind == Kind::Role && g.principal == principal)
            .map(|g| split_key(&g.resource).1.to_owned())
            .collect();
        set.into_iter().collect()
    }
}

fn split_key(key: &str) -> (&str, &str) {
    key.split_once(':').unwrap_or(("", key))
}

/// The changes from `before` to `after`.
fn compare(before: Option<&Snapshot>, after: &Snapshot) -> DiffReport {
    let Some(before) = before else {
        return DiffReport {
            before: None,
            after: after.sync.clone(),
            changed: false,
            summary: Summary::default(),
            changes: Vec::new(),
        };
    };
    let subject = |key: &str| {
        let (ty, id) = split_key(key);
        let name = after
            .names
            .get(key)
            .or_else(|| before.names.get(key))
            .cloned()
            .unwrap_or_default();
        Subject {
            resource_type: ty.to_owned(),
            id: id.to_owned(),
            name,
        }
    };
    let mut summary = Summary::default();
    let mut changes = Vec::new();

    let added: BTreeSet<&String> = after
        .users
        .keys()
        .filter(|k| !before.users.contains_key(*k))
        .collect();
    let removed: BTreeSet<&String> = before
        .users
        .keys()
        .filter(|k| !after.users.contains_key(*k))
        .collect();
    for k in &added {
        summary.users_added += 1;
        changes.push(Change::UserAdded { user: subject(k) });
    }
    for k in &removed {
        summary.users_removed += 1;
        changes.push(Change::UserRemoved { user: subject(k) });
    }
    for (k, status) in &after.users {
        if let Some(old) = before.users.get(k)
            && old != status
        {
            summary.user_status_changes += 1;
            changes.push(Change::UserStatusChanged {
                user: subject(k),
                from: old.clone(),
                to: status.clone(),
            });
        }
    }

    // Grant changes of users who came or went are implied by that change.
    let implied = |p: &String| added.contains(p) || removed.contains(p);
    let gained: Vec<(&(String, String), &GrantRow)> = after
        .grants
        .iter()
        .filter(|(k, g)| !before.grants.contains_key(*k) && !implied(&g.principal))
        .collect();
    let lost: Vec<(&(String, String), &GrantRow)> = before
        .grants
        .iter()
        .filter(|(k, g)| !after.grants.contains_key(*k) && !implied(&g.principal))
        .collect();

    let role_principals: BTreeSet<&String> = gained
        .iter()
        .chain(&lost)
        .filter(|(_, g)| g.kind == Kind::Role)
        .map(|(_, g)| &g.principal)
        .collect();
    for p in role_principals {
        let (from, to) = (before.roles_of(p), after.roles_of(p));
        if from != to {
            summary.role_changes += 1;
            changes.push(Change::RoleChanged {
                principal: subject(p),
                from,
                to,
            });
        }
    }
    for ((ent, _), g) in gained.iter().filter(|(_, g)| g.kind == Kind::Group) {
        summary.memberships_added += 1;
        changes.push(Change::MembershipAdded {
            group: subject(&g.resource),
            principal: subject(&g.principal),
            entitlement_id: ent.clone(),
        });
    }
    for ((ent, _), g) in lost.iter().filter(|(_, g)| g.kind == Kind::Group) {
        summary.memberships_removed += 1;
        changes.push(Change::MembershipRemoved {
            group: subject(&g.resource),
            principal: subject(&g.principal),
            entitlement_id: ent.clone(),
        });
    }
    for ((ent, _), g) in gained.iter().filter(|(_, g)| g.kind == Kind::Other) {
        summary.grants_added += 1;
        changes.push(Change::GrantAdded {
            entitlement_id: ent.clone(),
            principal: subject(&g.principal),
        });
    }
    for ((ent, _), g) in lost.iter().filter(|(_, g)| g.kind == Kind::Other) {
        summary.grants_removed += 1;
        changes.push(Change::GrantRemoved {
            entitlement_id: ent.clone(),
            principal: subject(&g.principal),
        });
    }

    for k in after.tracked.difference(&before.tracked) {
        summary.resources_added += 1;
        changes.push(Change::ResourceAdded {
            resource: subject(k),
        });
    }
    for k in before.tracked.difference(&after.tracked) {
        summary.resources_removed += 1;
        changes.push(Change::ResourceRemoved {
            resource: subject(k),
        });
    }

    DiffReport {
        before: Some(before.sync.clone()),
        after: after.sync.clone(),
        changed: !changes.is_empty(),
        summary,
        changes,
    }
}
