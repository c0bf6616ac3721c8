//! The four Notion workspace roles as `role` resources.
//!
//! Every member holds exactly one role, so the `assigned` entitlements form one exclusion group
//! ordered from least to most privileged, with `restricted_member` as the default/floor. Roles
//! are also seat tiers, hence the `LicenseProfileTrait`. The list is static: roles never need a
//! request. Their grants are emitted while listing users (each user record names its role), so
//! the role type is marked `SkipGrants`.

use std::sync::Arc;

use async_trait::async_trait;

use super::provision;
use super::seats::SeatTally;
use super::{role_type, types, user_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::notion;
use crate::pb::v2;
use prost_types::Any;

/// The exclusion group shared by the role entitlements.
pub const EXCLUSION_GROUP: &str = "notion-workspace-role";

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

/// The role resource for `r`; `consumed_seats` is the number of active users holding it, when
/// known (see [`super::seats`]).
pub fn role_resource(r: &Role, consumed_seats: Option<i64>) -> v2::Resource {
    let ent = ids::entitlement_id(&ids::resource_id(types::ROLE, r.id), "assigned");
    let license = v2::LicenseProfileTrait {
        license_name: r.name.to_owned(),
        entitlement_ids: vec![ent],
        consumed_seats: consumed_seats.unwrap_or_default(),
        ..Default::default()
    };
    let prof = resource::profile([
        ("role_id", ProfileValue::from(r.id)),
        ("description", r.description.into()),
        ("is_administrative", r.administrative.into()),
    ]);
    resource::role_resource(types::ROLE, r.id, r.name, prof, vec![pack(&license)])
}

/// The `assigned` entitlement of a role resource.
pub fn assigned_entitlement(resource: &v2::Resource, r: &Role) -> v2::Entitlement {
    let group = v2::EntitlementExclusionGroup {
        exclusion_group_id: EXCLUSION_GROUP.to_owned(),
        order: r.order,
        is_default: r.id == DEFAULT_ROLE,
        scope_to_resource: false,
    };
    resource::assignment_entitlement(
        resource,
        "assigned",
        format!("{} role assigned", r.name),
        r.description.to_owned(),
        vec![user_type()],
        vec![pack(&group)],
    )
}

/// Lists the static roles and their entitlements; grants and revokes roles.
pub struct RoleSyncer {
    client: notion::Client,
    seats: Arc<SeatTally>,
}

impl RoleSyncer {
    /// A syncer over `client` (listing needs no request; provisioning does), reporting the
    /// seats counted in `seats`.
    pub fn new(client: notion::Client, seats: Arc<SeatTally>) -> Self {
        RoleSyncer { client, seats }
    }
}

#[async_trait]
impl ResourceSyncer for RoleSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        role_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        _page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        // Most privileged first, as the Go connector lists them.
        Ok(Page::done(
            ROLES
                .iter()
                .rev()
                .map(|r| role_resource(r, self.seats.seats(r.id)))
                .collect(),
        ))
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        // Static: no request.
        let r = role(&id.resource).ok_or_else(|| {
            ConnectorError::not_found(format!("no workspace role {:?}", id.resource))
        })?;
        Ok(role_resource(r, self.seats.seats(r.id)))
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        let id = resource
            .id
            .as_ref()
            .map(|i| i.resource.as_str())
            .unwrap_or("");
        let r = role(id).ok_or_else(|| {
            ConnectorError::not_found(format!(
                "no workspace role \"{}\"",
                crate::text::one_line(id)
            ))
        })?;
        Ok(Page::done(vec![assigned_entitlement(resource, r)]))
    }

    async fn grants(
        &self,
        _resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        // Role grants come from the user records (see the users syncer).
        Ok(Page::empty())
    }

    async fn grant(
        &self,
        principal: &v2::Resource,
        entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
        provision::grant_role(&self.client, principal, entitlement).await
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<Any>, ConnectorError> {
        provision::revoke_role(&self.client, grant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::find;

    #[test]
    fn exactly_one_default_and_a_strict_order() {
        assert_eq!(ROLES.iter().filter(|r| r.id == DEFAULT_ROLE).count(), 1);
        for (i, r) in ROLES.iter().enumerate() {
            assert_eq!(r.order as usize, i + 1);
        }
    }

    #[test]
    fn entitlements_carry_the_exclusion_group() {
        let r = role("restricted_member").expect("known");
        let res = role_resource(r, Some(3));
        let e = assigned_entitlement(&res, r);
        assert_eq!(e.id, "role:restricted_member:assigned");
        let g: v2::EntitlementExclusionGroup = find(&e.annotations).expect("group");
        assert!(g.is_default);
        assert_eq!(g.exclusion_group_id, EXCLUSION_GROUP);
        let lic: v2::LicenseProfileTrait = find(&res.annotations).expect("license");
        assert_eq!(
            lic.entitlement_ids,
            vec!["role:restricted_member:assigned".to_owned()]
        );
        assert_eq!(lic.consumed_seats, 3);
    }
}
