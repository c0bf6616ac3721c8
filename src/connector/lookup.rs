//! Lookups the provisioning of every SCIM resource type shares: resource ids out of requests,
//! the principal as a SCIM user, a member's current role, a group's current members, and the
//! static table of workspace roles. It imports none of the syncers ([`super::users`],
//! [`super::roles`], [`super::groups`], [`super::accounts`]); they all import it, so their
//! provisioning code no longer imports each other.

use super::{map_error, types};
use crate::baton::ConnectorError;
use crate::notion::{self, GroupId, UserId};
use crate::pb::v2;

/// A workspace role as Notion names it in the SCIM role extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Role {
    /// The SCIM value and the resource id, e.g. `membership_admin`.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What the role may do.
    pub description: &'static str,
    /// Whether it administers the workspace.
    pub administrative: bool,
    /// Position in the exclusion group, 1 = least privileged.
    pub order: u32,
}

/// The roles, least privileged first.
pub const ROLES: [Role; 4] = [
    Role {
        id: "restricted_member",
        name: "Restricted Member",
        description: "Sees only the pages explicitly shared with them; the floor every member \
                      falls back to.",
        administrative: false,
        order: 1,
    },
    Role {
        id: "member",
        name: "Member",
        description: "Regular workspace member: works with all non-administrative workspace \
                      content.",
        administrative: false,
        order: 2,
    },
    Role {
        id: "membership_admin",
        name: "Membership Admin",
        description: "Manages members and groups; no access to billing or security settings.",
        administrative: true,
        order: 3,
    },
    Role {
        id: "owner",
        name: "Owner",
        description: "Full control of the workspace, including billing, security settings and \
                      SCIM tokens.",
        administrative: true,
        order: 4,
    },
];

/// The role Notion implies when a user record carries no role extension.
pub const IMPLIED_ROLE: &str = "member";
/// The default (floor) role.
pub const DEFAULT_ROLE: &str = "restricted_member";

/// Looks a role up by its SCIM value.
pub fn role(id: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.id == id)
}

/// The id of `r` (`what` names it in the error).
pub fn id_of<'a>(
    r: Option<&'a v2::Resource>,
    what: &str,
) -> Result<&'a v2::ResourceId, ConnectorError> {
    r.and_then(|r| r.id.as_ref())
        .ok_or_else(|| ConnectorError::invalid_argument(format!("the {what} has no id")))
}

/// The principal as a SCIM user id; any other principal type is `InvalidArgument`.
pub fn user_principal(principal: &v2::Resource) -> Result<UserId, ConnectorError> {
    let id = id_of(Some(principal), "principal")?;
    if id.resource_type != types::USER {
        return Err(ConnectorError::invalid_argument(format!(
            "only users can be granted this; got a {:?}",
            id.resource_type
        )));
    }
    Ok(UserId::from(id.resource.clone()))
}

/// The user a grant is held by, for revoking it: [`user_principal`] of its principal.
pub fn grant_user(grant: &v2::Grant) -> Result<UserId, ConnectorError> {
    let principal = grant
        .principal
        .as_ref()
        .ok_or_else(|| ConnectorError::invalid_argument("the grant has no principal"))?;
    user_principal(principal)
}

/// The role a member holds (a missing extension means `member`).
pub async fn current_role(
    client: &notion::Client,
    uid: &UserId,
) -> Result<Option<String>, ConnectorError> {
    match client.users().get(uid).await {
        Ok(u) => Ok(Some(
            u.role
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| IMPLIED_ROLE.to_owned()),
        )),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

/// The user ids in group `gid`, or `None` when the group is gone.
pub async fn group_members(
    client: &notion::Client,
    gid: &GroupId,
) -> Result<Option<Vec<String>>, ConnectorError> {
    match client.groups().get(gid).await {
        Ok(g) => Ok(Some(
            g.members
                .unwrap_or_default()
                .into_iter()
                .filter(|m| m.is_user())
                .map(|m| m.value)
                .collect(),
        )),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}
