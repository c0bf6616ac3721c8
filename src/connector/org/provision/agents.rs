//! Granting and revoking an agent's `view_and_interact`, `edit` and `full_access` to a user, a
//! group or a workspace: `PATCH /v1/spaces/{space_id}/agents/{agent_id}/permissions` with `set`
//! (the principal gets that role, replacing the one it held) or `remove`.
//!
//! The agent's permissions are read first (fresh, not from the snapshot), so:
//! - granting the role held already → `GrantAlreadyExists`, nothing sent;
//! - granting while another role is held → `set`, answered `GrantReplaced` naming the grant
//!   of the role replaced (a principal holds one role on an agent: the roles are one
//!   exclusion group);
//! - revoking a role not held (another role, or none) → `GrantAlreadyRevoked`, nothing sent
//!   (removing the principal would take the other role away).
//!
//! A workspace principal without an id (`{"type":"workspace"}`) is the agent's own workspace.

use super::{Plan, entitlement_resource, parent_space, principal_of, slug_of};
use crate::baton::annotations::pack;
use crate::baton::{ConnectorError, resource};
use crate::connector::org::agents::ROLES;
use crate::connector::org::model::{AgentPermission, AgentRole, Principal};
use crate::connector::org::snapshot::Snapshot;
use crate::connector::org::{admin_err, types};
use crate::notion::admin::{AdminWrite, PermissionChange};
use crate::pb::v2;

/// The role an entitlement slug names.
pub fn role_of(slug: &str) -> Result<AgentRole, ConnectorError> {
    match slug {
        "view_and_interact" => Ok(AgentRole::ViewAndInteract),
        "edit" => Ok(AgentRole::Edit),
        "full_access" => Ok(AgentRole::FullAccess),
        other => Err(ConnectorError::invalid_argument(format!(
            "unknown agent role \"{}\": use {}",
            crate::text::one_line(other),
            ROLES.map(|r| r.0).join(", ")
        ))),
    }
}

/// `p` with a workspace principal's missing id filled in with `space`.
fn normalized(p: &Principal, space: &str) -> Principal {
    match p {
        Principal::Workspace(None) => Principal::Workspace(Some(space.to_owned())),
        other => other.clone(),
    }
}

/// The role `who` holds among `permissions` of an agent in `space`.
pub fn held(permissions: &[AgentPermission], who: &Principal, space: &str) -> Option<AgentRole> {
    let who = normalized(who, space);
    permissions
        .iter()
        .find(|p| normalized(&p.principal, space) == who)
        .map(|p| p.role.clone())
}

/// One agent role change: which agent (and its workspace), whom, which role.
#[derive(Debug, Clone)]
pub struct Target {
    /// The agent's workspace.
    pub space: String,
    /// The agent resource id.
    pub agent: v2::ResourceId,
    /// The principal resource id.
    pub who: v2::ResourceId,
    /// The principal as the Admin API names it.
    pub principal: Principal,
    /// The role.
    pub role: AgentRole,
}

impl Target {
    fn grant(&self, role: &AgentRole) -> v2::Grant {
        resource::grant(&self.agent, role.as_str(), &self.who)
    }

    fn write(&self, change: PermissionChange) -> AdminWrite {
        AdminWrite::UpdateAgentPermissions {
            space: self.space.clone(),
            agent: self.agent.resource.clone(),
            change,
        }
    }
}

/// What granting `t` sends when the principal holds `held`.
pub fn plan_grant(t: &Target, held: Option<AgentRole>) -> Plan {
    let grant = t.grant(&t.role);
    match held {
        Some(h) if h == t.role => Plan::already(pack(&v2::GrantAlreadyExists {}), vec![grant]),
        held => Plan {
            writes: vec![t.write(PermissionChange {
                set: vec![(t.principal.clone(), t.role.clone())],
                remove: Vec::new(),
            })],
            grants: vec![grant],
            annotations: held
                .map(|h| {
                    pack(&v2::GrantReplaced {
                        replaced_grant_id: t.grant(&h).id,
                    })
                })
                .into_iter()
                .collect(),
        },
    }
}

/// What revoking `t` sends when the principal holds `held`.
pub fn plan_revoke(t: &Target, held: Option<AgentRole>) -> Plan {
    match held {
        Some(h) if h == t.role => Plan {
            writes: vec![t.write(PermissionChange {
                set: Vec::new(),
                remove: vec![t.principal.clone()],
            })],
            ..Plan::default()
        },
        _ => Plan::already(pack(&v2::GrantAlreadyRevoked {}), Vec::new()),
    }
}

/// The target of a grant of `entitlement` to `who`; the agent's workspace from the
/// entitlement's resource, else from `space_of`.
pub fn target(
    entitlement: &v2::Entitlement,
    who: &v2::ResourceId,
    space_of: impl FnOnce(&str) -> Option<String>,
) -> Result<Target, ConnectorError> {
    let agent = entitlement_resource(Some(entitlement))?.clone();
    if agent.resource_type != types::AGENT {
        return Err(ConnectorError::invalid_argument(
            "the entitlement is not on an agent",
        ));
    }
    let role = role_of(slug_of(entitlement))?;
    let principal = principal_of(who)?;
    let space = parent_space(entitlement.resource.as_ref())
        .map(str::to_owned)
        .or_else(|| space_of(&agent.resource))
        .ok_or_else(|| {
            ConnectorError::not_found(format!(
                "no live custom agent \"{}\"",
                crate::text::one_line(&agent.resource)
            ))
        })?;
    Ok(Target {
        space,
        agent,
        who: who.clone(),
        principal,
        role,
    })
}

/// The workspace of agent `id` in the snapshot.
async fn space_in(snapshot: &Snapshot, id: &str) -> Result<Option<String>, ConnectorError> {
    Ok(snapshot
        .agents()
        .await?
        .iter()
        .find(|(_, list)| list.iter().any(|e| e.agent.id == id))
        .map(|(space, _)| space.clone()))
}

/// Agent roles, as [`super::grant`] and [`super::revoke`] edit them.
pub struct Roles;

impl super::Edit for Roles {
    type Target = Target;
    type Held = Option<AgentRole>;

    async fn resolve(
        snapshot: &Snapshot,
        entitlement: &v2::Entitlement,
        who: &v2::ResourceId,
    ) -> Result<Target, ConnectorError> {
        let agent = entitlement_resource(Some(entitlement))?;
        let space = if parent_space(entitlement.resource.as_ref()).is_some() {
            None
        } else {
            space_in(snapshot, &agent.resource).await?
        };
        target(entitlement, who, |_| space)
    }

    /// The role `t`'s principal holds now.
    async fn read_held(
        snapshot: &Snapshot,
        t: &Target,
    ) -> Result<Option<AgentRole>, ConnectorError> {
        let admin = snapshot.admin();
        let (space, agent) = (&t.space, &t.agent.resource);
        let permissions = admin
            .collect(|c| async move { admin.agent_permissions(space, agent, c.as_deref()).await })
            .await
            .map_err(admin_err)?;
        Ok(held(&permissions, &t.principal, &t.space))
    }

    fn plan_grant(t: &Target, held: Option<AgentRole>) -> Plan {
        plan_grant(t, held)
    }

    fn plan_revoke(t: &Target, held: Option<AgentRole>) -> Plan {
        plan_revoke(t, held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::{find, has};
    use crate::baton::ids;

    fn t(role: AgentRole) -> Target {
        Target {
            space: "s1".into(),
            agent: ids::resource_id(types::AGENT, "a1"),
            who: ids::resource_id("group", "g1"),
            principal: Principal::Group("g1".into()),
            role,
        }
    }

    #[test]
    fn a_different_role_is_replaced_and_the_same_one_is_left_alone() {
        let p = plan_grant(&t(AgentRole::FullAccess), Some(AgentRole::Edit));
        let r: v2::GrantReplaced = find(&p.annotations).expect("GrantReplaced");
        assert_eq!(r.replaced_grant_id, "agent:a1:edit:group:g1");
        assert_eq!(p.grants[0].id, "agent:a1:full_access:group:g1");
        let preview = p.writes[0].preview().expect("preview");
        assert_eq!(
            (preview.method, preview.path.as_str()),
            ("PATCH", "/v1/spaces/s1/agents/a1/permissions")
        );
        assert_eq!(
            preview.body,
            Some(
                serde_json::json!({"set": [{"principal": {"type": "group", "group_id": "g1"},
                                             "role": "full_access"}]})
            )
        );
        let same = plan_grant(&t(AgentRole::Edit), Some(AgentRole::Edit));
        assert!(same.writes.is_empty() && has::<v2::GrantAlreadyExists>(&same.annotations));
        assert!(plan_grant(&t(AgentRole::Edit), None).annotations.is_empty());
    }

    #[test]
    fn revoking_a_role_not_held_sends_nothing() {
        let other = plan_revoke(&t(AgentRole::Edit), Some(AgentRole::FullAccess));
        assert!(other.writes.is_empty() && has::<v2::GrantAlreadyRevoked>(&other.annotations));
        let held = plan_revoke(&t(AgentRole::Edit), Some(AgentRole::Edit));
        let body = held.writes[0].preview().expect("preview").body;
        assert_eq!(
            body,
            Some(serde_json::json!({"remove": [{"type": "group", "group_id": "g1"}]}))
        );
    }

    #[test]
    fn a_workspace_principal_without_an_id_is_the_agents_own() {
        let perms = vec![AgentPermission {
            principal: Principal::Workspace(None),
            role: AgentRole::ViewAndInteract,
            resolved_role: None,
        }];
        let ws = Principal::Workspace(Some("s1".into()));
        assert_eq!(held(&perms, &ws, "s1"), Some(AgentRole::ViewAndInteract));
        assert_eq!(
            held(&perms, &Principal::Workspace(Some("s2".into())), "s1"),
            None
        );
    }
}
