//! The four Notion workspace roles as `role` resources.
//!
//! Every member holds exactly one role, so the `assigned` entitlements form one exclusion group
//! ordered from least to most privileged, with `restricted_member` as the default/floor. Roles
//! are also seat tiers, hence the `LicenseProfileTrait`. The list is static: roles never need a
//! request. Their grants are emitted while listing users (each user record names its role), so
//! the role type is marked `SkipGrants`.
//!
//! Provisioning (`grant`/`revoke` on `assigned`): the current role is read first. Holding it
//! already → `GrantAlreadyExists`; otherwise the role is PATCHed (the no-path form keyed by the
//! extension URN, the path form only after a 400) and the answer names the replaced role's
//! grant (`GrantReplaced`). Revoking downgrades to `restricted_member`; revoking a role not held
//! (or of a member who is gone) → `GrantAlreadyRevoked`; revoking `restricted_member` itself is
//! refused: it is the floor every member holds (deprovision instead).

use std::sync::Arc;

use async_trait::async_trait;

use super::lookup::{current_role, grant_user, id_of, user_principal};
use super::seats::SeatTally;
use super::{role_type, types, user_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{Code, ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::notion;
use crate::notion::{PatchOp, UserId};
use crate::pb::v2;
use prost_types::Any;

pub use super::lookup::{DEFAULT_ROLE, IMPLIED_ROLE, ROLES, Role, role};

/// The exclusion group shared by the role entitlements.
pub const EXCLUSION_GROUP: &str = "notion-workspace-role";

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
        grant_role(&self.client, principal, entitlement).await
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<Any>, ConnectorError> {
        revoke_role(&self.client, grant).await
    }
}

/// PATCHes the role: the no-path form first, the path form only after a 400.
async fn set_role(client: &notion::Client, uid: &UserId, role: &str) -> Result<(), ConnectorError> {
    match client.users().patch(uid, &PatchOp::set_role(role)).await {
        Ok(_) => Ok(()),
        Err(e) if e.status() == Some(400) => client
            .users()
            .patch(uid, &PatchOp::set_role_by_path(role))
            .await
            .map(|_| ())
            .map_err(super::map_error),
        Err(e) => Err(super::map_error(e)),
    }
}

fn role_grant(role: &str, uid: &v2::ResourceId) -> v2::Grant {
    resource::grant(&ids::resource_id(types::ROLE, role), "assigned", uid)
}

/// Grants workspace role `entitlement` to `principal`.
pub async fn grant_role(
    client: &notion::Client,
    principal: &v2::Resource,
    entitlement: &v2::Entitlement,
) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
    let role_id = &id_of(entitlement.resource.as_ref(), "entitlement's resource")?.resource;
    let role = role(role_id).ok_or_else(|| {
        ConnectorError::invalid_argument(format!(
            "unknown workspace role \"{}\"",
            crate::text::one_line(role_id)
        ))
    })?;
    let uid = user_principal(principal)?;
    let pid = id_of(Some(principal), "principal")?;
    let grant = role_grant(role.id, pid);
    let held = current_role(client, &uid).await?.ok_or_else(|| {
        ConnectorError::not_found(format!(
            "no workspace member {}",
            crate::text::one_line(uid.as_str())
        ))
    })?;
    if held == role.id {
        return Ok((vec![grant], vec![pack(&v2::GrantAlreadyExists {})]));
    }
    set_role(client, &uid, role.id).await?;
    let replaced = v2::GrantReplaced {
        replaced_grant_id: role_grant(&held, pid).id,
    };
    Ok((vec![grant], vec![pack(&replaced)]))
}

/// Revokes a workspace role grant by downgrading to `restricted_member`.
pub async fn revoke_role(
    client: &notion::Client,
    grant: &v2::Grant,
) -> Result<Vec<Any>, ConnectorError> {
    let ent = grant.entitlement.as_ref();
    let role_id = &id_of(ent.and_then(|e| e.resource.as_ref()), "grant's entitlement")?.resource;
    if role_id == DEFAULT_ROLE {
        return Err(ConnectorError::new(
            Code::FailedPrecondition,
            "restricted_member is the floor every workspace member holds and cannot be revoked; \
             deprovision the user to remove their access",
        ));
    }
    role(role_id).ok_or_else(|| {
        ConnectorError::invalid_argument(format!(
            "unknown workspace role \"{}\"",
            crate::text::one_line(role_id)
        ))
    })?;
    let uid = grant_user(grant)?;
    match current_role(client, &uid).await? {
        Some(held) if &held == role_id => {
            set_role(client, &uid, DEFAULT_ROLE).await?;
            Ok(Vec::new())
        }
        _ => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
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
