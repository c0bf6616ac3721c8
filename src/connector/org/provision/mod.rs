//! Acting on the organization (issue #15): what `Grant`, `Revoke` and `DeleteResource` do on
//! the organization view's types, through the Admin API. One module per type:
//! - [`tokens`] — deleting a `personal_access_token` revokes it;
//! - [`mcp`] — revoking an `mcp_client:…:connected` grant revokes that member's connection;
//! - [`agents`] — granting and revoking an agent's roles edits its permissions;
//! - [`groups`] — granting and revoking a group's `member` and `owner` edits its memberships.
//!
//! Each module splits a write into a pure *plan* (what to send, given the current state) and
//! its execution (read the state fresh, plan, send; for agents and groups, the [`Edit`] they
//! implement, run by [`grant`] and [`revoke`]). A dry run plans from the state a `.c1z`
//! recorded and prints the [`AdminWrite`]s instead of sending them, so what it shows is
//! exactly what the real run would send for that state. Every write is idempotent: the state
//! is read first, and what is already so is answered with Baton's annotations
//! (`GrantAlreadyExists`, `GrantAlreadyRevoked`, `ResourceDoesNotExist`) and no write.

pub mod agents;
pub mod dry_run;
pub mod groups;
pub mod mcp;
pub mod tokens;

use std::future::Future;

use prost_types::Any;

use crate::baton::ConnectorError;
use crate::notion::admin::AdminWrite;
use crate::pb::v2;

use super::model::Principal;
use super::snapshot::Snapshot;
use super::types;
use crate::connector::types as scim_types;

/// What a write comes to: the requests to send, then the grants and annotations to answer.
#[derive(Debug, Default)]
pub struct Plan {
    /// The requests, in order (none when the state is already right).
    pub writes: Vec<AdminWrite>,
    /// The grants that exist afterwards (for `Grant`).
    pub grants: Vec<v2::Grant>,
    /// Annotations for the answer.
    pub annotations: Vec<Any>,
}

impl Plan {
    /// Nothing to send: the state is already right; `note` says so.
    pub fn already(note: Any, grants: Vec<v2::Grant>) -> Self {
        Plan {
            writes: Vec::new(),
            grants,
            annotations: vec![note],
        }
    }
}

/// The principal of an agent permission for a Baton principal: a user, a group or a
/// workspace.
pub fn principal_of(id: &v2::ResourceId) -> Result<Principal, ConnectorError> {
    match id.resource_type.as_str() {
        scim_types::USER => Ok(Principal::User(id.resource.clone())),
        scim_types::GROUP => Ok(Principal::Group(id.resource.clone())),
        types::WORKSPACE => Ok(Principal::Workspace(Some(id.resource.clone()))),
        other => Err(ConnectorError::invalid_argument(format!(
            "only a user, a group or a workspace can be given this; got a {:?}",
            crate::text::one_line(other)
        ))),
    }
}

/// A user principal's id (group memberships and MCP connections are per user).
pub fn user_of(id: &v2::ResourceId) -> Result<&str, ConnectorError> {
    if id.resource_type != scim_types::USER {
        return Err(ConnectorError::invalid_argument(format!(
            "only users can hold this; got a {:?}",
            crate::text::one_line(&id.resource_type)
        )));
    }
    Ok(&id.resource)
}

/// The resource id of an entitlement's resource.
pub fn entitlement_resource(
    e: Option<&v2::Entitlement>,
) -> Result<&v2::ResourceId, ConnectorError> {
    e.and_then(|e| e.resource.as_ref())
        .and_then(|r| r.id.as_ref())
        .ok_or_else(|| ConnectorError::invalid_argument("the entitlement names no resource"))
}

/// The slug of an entitlement: its `slug`, or the last part of its id.
pub fn slug_of(e: &v2::Entitlement) -> &str {
    if e.slug.is_empty() {
        e.id.rsplit(':').next().unwrap_or_default()
    } else {
        &e.slug
    }
}

/// A grant's principal id.
pub fn principal_id(grant: &v2::Grant) -> Result<&v2::ResourceId, ConnectorError> {
    grant
        .principal
        .as_ref()
        .and_then(|p| p.id.as_ref())
        .ok_or_else(|| ConnectorError::invalid_argument("the grant has no principal"))
}

/// A resource's workspace, when it names one as its parent.
pub fn parent_space(r: Option<&v2::Resource>) -> Option<&str> {
    r.and_then(|r| r.parent_resource_id.as_ref())
        .filter(|p| p.resource_type == types::WORKSPACE && !p.resource.is_empty())
        .map(|p| p.resource.as_str())
}

/// One kind of grant the organization view edits through the Admin API (agent roles, group
/// memberships): how its target is found, what the principal holds now (read fresh), and what
/// granting or revoking sends given that. [`grant`] and [`revoke`] run it.
pub trait Edit {
    /// What one grant names: the resource, its workspace, the principal, the entitlement.
    type Target: Sync;
    /// What the principal holds now.
    type Held: Send;

    /// The target of a grant of `entitlement` to `who`.
    fn resolve(
        snapshot: &Snapshot,
        entitlement: &v2::Entitlement,
        who: &v2::ResourceId,
    ) -> impl Future<Output = Result<Self::Target, ConnectorError>> + Send;

    /// What `t`'s principal holds now.
    fn read_held(
        snapshot: &Snapshot,
        t: &Self::Target,
    ) -> impl Future<Output = Result<Self::Held, ConnectorError>> + Send;

    /// What granting `t` sends when the principal holds `held`.
    fn plan_grant(t: &Self::Target, held: Self::Held) -> Plan;

    /// What revoking `t` sends when the principal holds `held`.
    fn plan_revoke(t: &Self::Target, held: Self::Held) -> Plan;
}

/// Grants `entitlement` to `principal`: resolve, read, plan, send; the plan's grants and
/// annotations.
pub async fn grant<E: Edit>(
    snapshot: &Snapshot,
    principal: &v2::Resource,
    entitlement: &v2::Entitlement,
) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
    let who = super::id_of(principal, "principal")?;
    let t = E::resolve(snapshot, entitlement, who).await?;
    let plan = E::plan_grant(&t, E::read_held(snapshot, &t).await?);
    send(snapshot, &plan).await?;
    Ok((plan.grants, plan.annotations))
}

/// Revokes `grant`: resolve, read, plan, send; the plan's annotations.
pub async fn revoke<E: Edit>(
    snapshot: &Snapshot,
    grant: &v2::Grant,
) -> Result<Vec<Any>, ConnectorError> {
    let entitlement = grant
        .entitlement
        .as_ref()
        .ok_or_else(|| ConnectorError::invalid_argument("the grant has no entitlement"))?;
    let t = E::resolve(snapshot, entitlement, principal_id(grant)?).await?;
    let plan = E::plan_revoke(&t, E::read_held(snapshot, &t).await?);
    send(snapshot, &plan).await?;
    Ok(plan.annotations)
}

/// Sends `plan`'s requests in order.
pub(crate) async fn send(snapshot: &Snapshot, plan: &Plan) -> Result<(), ConnectorError> {
    for w in &plan.writes {
        snapshot.admin().send(w).await.map_err(super::admin_err)?;
    }
    Ok(())
}

/// The requests of `plan` as a dry run prints them: method, path and body, blank line between.
pub fn describe(writes: &[AdminWrite]) -> Result<String, ConnectorError> {
    let mut out = String::new();
    for w in writes {
        let p = w.preview().map_err(super::admin_err)?;
        out.push_str(p.method);
        out.push(' ');
        out.push_str(&crate::text::one_line(&p.path));
        out.push('\n');
        if let Some(body) = &p.body {
            out.push_str("Content-Type: application/json\n\n");
            out.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
            out.push('\n');
        }
        out.push('\n');
    }
    Ok(out)
}
