//! The live Admin view over the store: workspaces, their users, groups and memberships, with the
//! SCIM workspace read from the SCIM dataset (see `org.rs` for the rules).
//!
//! Everything here borrows from a [`Store`] held under its read (or write) lock; nothing is
//! copied except what a response needs.

use std::borrow::Cow;

use super::errors::Fail;
use super::org::{GroupRole, OrgGroup, OrgSpace, Organization};
use crate::sim::store::Store;

/// The organization, or a 404 (a simulator without one serves no Admin API).
pub(crate) fn org(store: &Store) -> Result<&Organization, Fail> {
    store
        .org()
        .ok_or_else(|| Fail::not_found("this simulator serves no organization"))
}

/// The live workspace `id`, or 404 (deleted workspaces and unknown ids alike).
pub(crate) fn live_space<'a>(store: &'a Store, id: &str) -> Result<&'a OrgSpace, Fail> {
    org(store)?
        .spaces
        .iter()
        .find(|s| s.id == id && s.alive)
        .ok_or_else(|| {
            Fail::not_found(format!(
                "Could not find space with ID: {}.",
                crate::text::one_line_max(id, 80)
            ))
        })
}

/// Whether `space` is the SCIM workspace.
pub(crate) fn is_scim(store: &Store, space: &OrgSpace) -> bool {
    store.org().is_some_and(|o| o.scim_space_id == space.id)
}

/// A person as the Admin API shows them.
#[derive(Debug, Clone)]
pub(crate) struct PersonView<'a> {
    /// User UUID.
    pub(crate) id: &'a str,
    /// Name (null when `None`).
    pub(crate) name: Option<Cow<'a, str>>,
    /// Email (left out when `None`).
    pub(crate) email: Option<&'a str>,
}

/// The profile of person `id`: the live SCIM user when there is one (SCIM wins), else the
/// organization's profile.
pub(crate) fn person<'a>(store: &'a Store, id: &'a str) -> Option<PersonView<'a>> {
    if let Some(user) = store.user(id) {
        return Some(PersonView {
            id: &user.id,
            name: Some(user.display_name()),
            email: Some(&user.user_name),
        });
    }
    store.person(id).map(|p| PersonView {
        id: &p.id,
        name: p.name.as_deref().map(Cow::Borrowed),
        email: p.email.as_deref(),
    })
}

/// One entry of `GET /v1/spaces/{id}/users`.
#[derive(Debug, Clone)]
pub(crate) enum UserEntry<'a> {
    /// A member.
    Person(PersonView<'a>),
    /// A guest bot.
    Bot {
        /// Bot UUID.
        id: &'a str,
        /// Name.
        name: Option<&'a str>,
    },
}

/// Length of the backing sequence of a workspace's user listing (persons, then bots).
pub(crate) fn users_len(store: &Store, space: &OrgSpace) -> usize {
    persons_len(store, space) + space.bots.len()
}

/// Raw length of the persons part.
fn persons_len(store: &Store, space: &OrgSpace) -> usize {
    if is_scim(store, space) {
        store.users().len()
    } else {
        space.members.len()
    }
}

/// The user entry at raw position `at`, if that position lists one (inactive SCIM users do not).
pub(crate) fn user_at<'a>(
    store: &'a Store,
    space: &'a OrgSpace,
    at: usize,
) -> Option<UserEntry<'a>> {
    let persons = persons_len(store, space);
    if at >= persons {
        let bot = space.bots.get(at - persons)?;
        return Some(UserEntry::Bot {
            id: &bot.id,
            name: bot.name.as_deref(),
        });
    }
    if is_scim(store, space) {
        let user = &store.users()[at];
        return user.active.then(|| {
            UserEntry::Person(PersonView {
                id: &user.id,
                name: Some(user.display_name()),
                email: Some(&user.user_name),
            })
        });
    }
    let id = &space.members[at];
    Some(UserEntry::Person(person(store, id).unwrap_or(PersonView {
        id,
        name: None,
        email: None,
    })))
}

/// Whether `user_id` is a person listed by `space`.
pub(crate) fn is_member(store: &Store, space: &OrgSpace, user_id: &str) -> bool {
    if is_scim(store, space) {
        store.user(user_id).is_some_and(|u| u.active)
    } else {
        space.members.iter().any(|m| m == user_id)
    }
}

/// Length of a workspace's group listing.
pub(crate) fn groups_len(store: &Store, space: &OrgSpace) -> usize {
    if is_scim(store, space) {
        store.groups().len()
    } else {
        space.groups.len()
    }
}

/// `(id, name)` of the group at raw position `at`.
pub(crate) fn group_at<'a>(
    store: &'a Store,
    space: &'a OrgSpace,
    at: usize,
) -> Option<(&'a str, &'a str)> {
    if is_scim(store, space) {
        let g = store.groups().get(at)?;
        Some((&g.id, &g.display_name))
    } else {
        let g = space.groups.get(at)?;
        Some((&g.id, &g.name))
    }
}

/// Whether `space` has a group `group_id`.
pub(crate) fn has_group(store: &Store, space: &OrgSpace, group_id: &str) -> bool {
    if is_scim(store, space) {
        store.group(group_id).is_some()
    } else {
        space.groups.iter().any(|g| g.id == group_id)
    }
}

/// The 404 for an unknown group.
pub(crate) fn no_group(group_id: &str) -> Fail {
    Fail::not_found(format!(
        "Could not find group with ID: {}.",
        crate::text::one_line_max(group_id, 80)
    ))
}

/// Every membership of group `group_id` of `space`, in list order; 404 for an unknown group.
///
/// For the SCIM workspace: the SCIM members who are active (role `owner` when the organization
/// adds an owner entry for them, else `member`), then the organization's extra memberships of
/// people active in the workspace who are not SCIM members.
pub(crate) fn memberships<'a>(
    store: &'a Store,
    space: &'a OrgSpace,
    group_id: &str,
) -> Result<Vec<(&'a str, GroupRole)>, Fail> {
    let extra: Option<&OrgGroup> = space.groups.iter().find(|g| g.id == group_id);
    if !is_scim(store, space) {
        let group = extra.ok_or_else(|| no_group(group_id))?;
        return Ok(group
            .members
            .iter()
            .map(|m| (m.user_id.as_str(), m.role))
            .collect());
    }
    let scim = store.group(group_id).ok_or_else(|| no_group(group_id))?;
    let extra = extra.map(|g| g.members.as_slice()).unwrap_or_default();
    let active = |id: &str| store.user(id).is_some_and(|u| u.active);
    let mut out: Vec<(&str, GroupRole)> = scim
        .members
        .iter()
        .filter(|m| active(m))
        .map(|m| {
            let owner = extra
                .iter()
                .any(|e| e.user_id == *m && e.role == GroupRole::Owner);
            (
                m.as_str(),
                if owner {
                    GroupRole::Owner
                } else {
                    GroupRole::Member
                },
            )
        })
        .collect();
    for e in extra {
        if active(&e.user_id) && !scim.members.contains(&e.user_id) {
            out.push((e.user_id.as_str(), e.role));
        }
    }
    Ok(out)
}
