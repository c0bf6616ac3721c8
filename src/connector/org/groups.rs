//! With an admin token, `group` resources come from the Admin API: the permission groups of
//! every workspace (the SCIM workspace's are the same groups with the same ids), each with a
//! `member` entitlement held by every member and an `owner` entitlement held by the owners
//! (owners are members too). Granting and revoking both goes through the Admin API's
//! membership calls ([`super::provision::groups`]); with only a SCIM token the SCIM group
//! syncer provisions memberships instead, as before.

use std::sync::Arc;

use async_trait::async_trait;
use prost_types::Any;

use super::id_of;
use super::model::GroupRole;
use super::no_such;
use super::provision::{self, groups::Memberships};
use super::slices::slice_iter;
use super::snapshot::{GroupEntry, Snapshot};
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::connector::{group_type, types as scim_types, user_type};
use crate::pb::v2;

/// The entitlement of the group's owners.
pub const OWNER: &str = "owner";

/// Lists permission groups across the organization.
pub struct OrgGroupSyncer {
    snapshot: Arc<Snapshot>,
}

impl OrgGroupSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        OrgGroupSyncer { snapshot }
    }

    async fn find(&self, id: &str) -> Result<GroupEntry, ConnectorError> {
        let groups = self.snapshot.groups().await?;
        groups
            .iter()
            .find(|g| g.group.id == id)
            .cloned()
            .ok_or_else(|| no_such("permission group", id, " in any workspace"))
    }
}

/// The `group` resource for a permission group.
pub fn org_group_resource(e: &GroupEntry) -> v2::Resource {
    let name = e.group.name.clone().filter(|n| !n.is_empty());
    let owners = e
        .members
        .iter()
        .filter(|m| m.role == GroupRole::Owner)
        .count();
    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("group_id", e.group.id.clone().into()),
        ("workspace_id", e.space_id.clone().into()),
        ("member_count", ProfileValue::Num(e.members.len() as f64)),
        ("owner_count", ProfileValue::Num(owners as f64)),
    ];
    if let Some(n) = &name {
        fields.push(("group_name", n.clone().into()));
    }
    resource::group_resource(
        scim_types::GROUP,
        &e.group.id,
        name.as_deref().unwrap_or(&e.group.id),
        resource::profile(fields),
    )
}

/// The grants of a group's memberships: `member` for each, `owner` also for owners.
pub fn membership_grants(on: &v2::ResourceId, e: &GroupEntry) -> Vec<v2::Grant> {
    let mut out = Vec::with_capacity(e.members.len());
    for m in &e.members {
        let who = ids::resource_id(scim_types::USER, &m.user_id);
        out.push(resource::grant(on, "member", &who));
        if m.role == GroupRole::Owner {
            out.push(resource::grant(on, OWNER, &who));
        }
    }
    out
}

#[async_trait]
impl ResourceSyncer for OrgGroupSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        group_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        let groups = self.snapshot.groups().await?;
        let (items, next) = slice_iter(groups.iter(), groups.len(), &page.token, page.size)?;
        Ok(Page::more(
            items.into_iter().map(org_group_resource).collect(),
            next,
        ))
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        Ok(org_group_resource(&self.find(&id.resource).await?))
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        Ok(Page::done(vec![
            resource::assignment_entitlement(
                resource,
                "member",
                format!("{name} Group member"),
                format!("Member of the {name} group in Notion"),
                vec![user_type()],
                vec![],
            ),
            resource::assignment_entitlement(
                resource,
                OWNER,
                format!("{name} Group owner"),
                format!("Owner of the {name} group in Notion (manages its members)"),
                vec![user_type()],
                vec![],
            ),
        ]))
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let gid = id_of(resource, "group")?;
        let entry = self.find(&gid.resource).await?;
        let all = membership_grants(gid, &entry);
        let (items, next) = slice_iter(all.iter().cloned(), all.len(), &page.token, page.size)?;
        Ok(Page::more(items, next))
    }

    async fn grant(
        &self,
        principal: &v2::Resource,
        entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
        provision::grant::<Memberships>(&self.snapshot, principal, entitlement).await
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<Any>, ConnectorError> {
        provision::revoke::<Memberships>(&self.snapshot, grant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::org::model::{GroupMembership, PermissionGroup};

    #[test]
    fn owners_hold_member_and_owner() {
        let e = GroupEntry {
            space_id: "s1".into(),
            group: PermissionGroup {
                id: "g1".into(),
                name: Some("Eng".into()),
            },
            members: vec![
                GroupMembership {
                    group_id: "g1".into(),
                    user_id: "u1".into(),
                    role: GroupRole::Owner,
                },
                GroupMembership {
                    group_id: "g1".into(),
                    user_id: "u2".into(),
                    role: GroupRole::Member,
                },
            ],
        };
        let r = org_group_resource(&e);
        let ids: Vec<String> = membership_grants(r.id.as_ref().expect("id"), &e)
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(
            ids,
            [
                "group:g1:member:user:u1",
                "group:g1:owner:user:u1",
                "group:g1:member:user:u2"
            ]
        );
    }
}
