//! Granting and revoking a group's `member` and `owner` with the organization bot token,
//! through the Admin API's membership calls (with only a SCIM token, the SCIM syncer's
//! `members` PATCHes do it, as before):
//! - grant `member`: a non-member is added with role `member`; a member (or owner) already
//!   holds it → `GrantAlreadyExists`;
//! - grant `owner`: a non-member is added with role `owner`, a member is promoted; an owner →
//!   `GrantAlreadyExists`;
//! - revoke `owner`: an owner is demoted to `member`; anyone else → `GrantAlreadyRevoked`;
//! - revoke `member`: the membership is removed (an owner's too: owners are members);
//!   a non-member → `GrantAlreadyRevoked`.
//!
//! The group's memberships are read first (fresh); its workspace comes from the snapshot
//! (or, in a dry run, the group's `workspace_id` profile field).

use super::{Plan, entitlement_resource, slug_of, user_of};
use crate::baton::annotations::pack;
use crate::baton::{ConnectorError, resource};
use crate::connector::org::admin_err;
use crate::connector::org::groups::OWNER;
use crate::connector::org::model::GroupRole;
use crate::connector::org::snapshot::Snapshot;
use crate::connector::types as scim_types;
use crate::notion::admin::AdminWrite;
use crate::pb::v2;

/// The `member` entitlement's slug.
pub const MEMBER: &str = "member";

/// One membership change: which group (and its workspace), which user, which entitlement.
#[derive(Debug, Clone)]
pub struct Target {
    /// The group's workspace.
    pub space: String,
    /// The group resource id.
    pub group: v2::ResourceId,
    /// The user resource id.
    pub who: v2::ResourceId,
    /// `owner` (else `member`).
    pub owner: bool,
}

impl Target {
    fn slug(&self) -> &'static str {
        if self.owner { OWNER } else { MEMBER }
    }

    fn grant(&self) -> v2::Grant {
        resource::grant(&self.group, self.slug(), &self.who)
    }

    fn add(&self, role: GroupRole) -> AdminWrite {
        AdminWrite::AddGroupMember {
            space: self.space.clone(),
            group: self.group.resource.clone(),
            user: self.who.resource.clone(),
            role,
        }
    }

    fn update(&self, role: GroupRole) -> AdminWrite {
        AdminWrite::UpdateGroupMember {
            space: self.space.clone(),
            group: self.group.resource.clone(),
            user: self.who.resource.clone(),
            role,
        }
    }
}

fn send_one(write: AdminWrite, grants: Vec<v2::Grant>) -> Plan {
    Plan {
        writes: vec![write],
        grants,
        annotations: Vec::new(),
    }
}

/// What granting `t` sends when the user's membership is `held` (`None`: not a member).
pub fn plan_grant(t: &Target, held: Option<GroupRole>) -> Plan {
    let grant = t.grant();
    let exists = || Plan::already(pack(&v2::GrantAlreadyExists {}), vec![t.grant()]);
    match (t.owner, held) {
        (false, Some(_)) | (true, Some(GroupRole::Owner)) => exists(),
        (false, None) => send_one(t.add(GroupRole::Member), vec![grant]),
        (true, None) => send_one(t.add(GroupRole::Owner), vec![grant]),
        (true, Some(_)) => send_one(t.update(GroupRole::Owner), vec![grant]),
    }
}

/// What revoking `t` sends when the user's membership is `held`.
pub fn plan_revoke(t: &Target, held: Option<GroupRole>) -> Plan {
    let gone = || Plan::already(pack(&v2::GrantAlreadyRevoked {}), Vec::new());
    match (t.owner, held) {
        (true, Some(GroupRole::Owner)) => send_one(t.update(GroupRole::Member), Vec::new()),
        (true, _) | (false, None) => gone(),
        (false, Some(_)) => send_one(
            AdminWrite::RemoveGroupMember {
                space: t.space.clone(),
                group: t.group.resource.clone(),
                user: t.who.resource.clone(),
            },
            Vec::new(),
        ),
    }
}

/// The target of `entitlement` for `who`, in workspace `space`.
pub fn target(
    entitlement: &v2::Entitlement,
    who: &v2::ResourceId,
    space: Option<String>,
) -> Result<Target, ConnectorError> {
    let group = entitlement_resource(Some(entitlement))?.clone();
    if group.resource_type != scim_types::GROUP {
        return Err(ConnectorError::invalid_argument(
            "the entitlement is not on a group",
        ));
    }
    let owner = match slug_of(entitlement) {
        OWNER => true,
        MEMBER => false,
        other => {
            return Err(ConnectorError::invalid_argument(format!(
                "unknown group entitlement \"{}\": use member or owner",
                crate::text::one_line(other)
            )));
        }
    };
    user_of(who)?;
    let space = space.ok_or_else(|| {
        ConnectorError::not_found(format!(
            "no permission group \"{}\" in any workspace",
            crate::text::one_line(&group.resource)
        ))
    })?;
    Ok(Target {
        space,
        group,
        who: who.clone(),
        owner,
    })
}

/// Group memberships (`member`, `owner`), as [`super::grant`] and [`super::revoke`] edit them.
pub struct Memberships;

impl super::Edit for Memberships {
    type Target = Target;
    type Held = Option<GroupRole>;

    async fn resolve(
        snapshot: &Snapshot,
        entitlement: &v2::Entitlement,
        who: &v2::ResourceId,
    ) -> Result<Target, ConnectorError> {
        let gid = &entitlement_resource(Some(entitlement))?.resource;
        let space = snapshot
            .groups()
            .await?
            .iter()
            .find(|g| &g.group.id == gid)
            .map(|g| g.space_id.clone());
        target(entitlement, who, space)
    }

    /// The user's membership now (`None`: not a member).
    async fn read_held(
        snapshot: &Snapshot,
        t: &Target,
    ) -> Result<Option<GroupRole>, ConnectorError> {
        let admin = snapshot.admin();
        let (space, group) = (&t.space, &t.group.resource);
        let members = admin
            .collect(|c| async move { admin.group_members(space, group, c.as_deref()).await })
            .await
            .map_err(admin_err)?;
        Ok(members
            .into_iter()
            .find(|m| m.user_id == t.who.resource)
            .map(|m| m.role))
    }

    fn plan_grant(t: &Target, held: Option<GroupRole>) -> Plan {
        plan_grant(t, held)
    }

    fn plan_revoke(t: &Target, held: Option<GroupRole>) -> Plan {
        plan_revoke(t, held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::has;
    use crate::baton::ids;

    fn t(owner: bool) -> Target {
        Target {
            space: "s1".into(),
            group: ids::resource_id("group", "g1"),
            who: ids::resource_id("user", "u1"),
            owner,
        }
    }

    fn sent(p: &Plan) -> Vec<String> {
        p.writes
            .iter()
            .map(|w| {
                let p = w.preview().expect("preview");
                format!("{} {} {}", p.method, p.path, p.body.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn owner_grants_add_or_promote_and_revokes_demote() {
        assert_eq!(
            sent(&plan_grant(&t(true), None)),
            [
                r#"POST /v1/spaces/s1/groups/g1/members {"member":{"type":"user","user_id":"u1"},"role":"owner"}"#
            ]
        );
        assert_eq!(
            sent(&plan_grant(&t(true), Some(GroupRole::Member))),
            [r#"PATCH /v1/spaces/s1/groups/g1/members/users/u1 {"role":"owner"}"#]
        );
        let held = plan_grant(&t(true), Some(GroupRole::Owner));
        assert!(held.writes.is_empty() && has::<v2::GrantAlreadyExists>(&held.annotations));
        assert_eq!(
            sent(&plan_revoke(&t(true), Some(GroupRole::Owner))),
            [r#"PATCH /v1/spaces/s1/groups/g1/members/users/u1 {"role":"member"}"#]
        );
        let member = plan_revoke(&t(true), Some(GroupRole::Member));
        assert!(member.writes.is_empty() && has::<v2::GrantAlreadyRevoked>(&member.annotations));
    }

    #[test]
    fn member_grants_add_and_revokes_remove() {
        assert_eq!(
            sent(&plan_grant(&t(false), None)),
            [
                r#"POST /v1/spaces/s1/groups/g1/members {"member":{"type":"user","user_id":"u1"},"role":"member"}"#
            ]
        );
        let owner = plan_grant(&t(false), Some(GroupRole::Owner));
        assert!(has::<v2::GrantAlreadyExists>(&owner.annotations));
        assert_eq!(
            sent(&plan_revoke(&t(false), Some(GroupRole::Owner))),
            ["DELETE /v1/spaces/s1/groups/g1/members/users/u1 null"]
        );
        assert!(has::<v2::GrantAlreadyRevoked>(
            &plan_revoke(&t(false), None).annotations
        ));
    }
}
