//! Custom agents as `agent` resources (children of their workspace) with the agent trait and
//! three entitlements, least privileged first — `view_and_interact`, `edit`, `full_access` —
//! forming one exclusion group per agent (a principal holds one role on an agent).
//!
//! Grants come from the agent's permission entries: to a user; to a group (expandable through
//! `group:<id>:member`, so ConductorOne sees every member); to the workspace (expandable
//! through `workspace:<id>:member`). The entry's own `role` is granted (`resolved_role`, what
//! it adds up to with other entries, is kept out: it is derived). A role this connector does
//! not know is skipped and warned about once. Only `custom` agents that are alive are listed
//! (`database_autofill` agents belong to a database, deleted ones are history).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tracing::warn;

use super::model::{Agent, AgentPermission, AgentRole, Principal};
use super::no_such;
use super::provision::{self, agents::Roles};
use super::slices::slice_page;
use super::snapshot::{AgentEntry, Snapshot};
use super::{agent_type, id_of, types, workspace_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::connector::{group_type, lock, types as scim_types, user_type};
use crate::pb::v2;

/// The agent roles, least privileged first: (slug, display name, description).
pub const ROLES: [(&str, &str, &str); 3] = [
    (
        "view_and_interact",
        "View and interact",
        "May use the agent and see what it does",
    ),
    (
        "edit",
        "Edit",
        "May change the agent's instructions and settings",
    ),
    (
        "full_access",
        "Full access",
        "May edit the agent and manage who has access to it",
    ),
];

/// The exclusion group of the agent roles (scoped to each agent).
pub const EXCLUSION_GROUP: &str = "notion-agent-access";

/// Most distinct unknown roles remembered for warnings.
const MAX_WARNED: usize = 32;

/// Lists custom agents and their permissions.
pub struct AgentSyncer {
    snapshot: Arc<Snapshot>,
    warned: Mutex<BTreeSet<String>>,
}

impl AgentSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        AgentSyncer {
            snapshot,
            warned: Mutex::new(BTreeSet::new()),
        }
    }

    /// Warnings for the run summary.
    pub fn warnings(&self) -> Vec<String> {
        lock(&self.warned)
            .iter()
            .map(|r| format!("unknown agent role \"{r}\" in an agent permission, no grant emitted"))
            .collect()
    }

    fn note_unknown(&self, role: &str) {
        let shown = crate::text::one_line(role);
        let mut warned = lock(&self.warned);
        if warned.len() < MAX_WARNED && warned.insert(shown.clone()) {
            warn!(role = %shown, "unknown Notion agent role; no grant emitted");
        }
    }

    async fn find(&self, id: &str) -> Result<AgentEntry, ConnectorError> {
        let agents = self.snapshot.agents().await?;
        agents
            .values()
            .flatten()
            .find(|e| e.agent.id == id)
            .cloned()
            .ok_or_else(|| no_such("live custom agent", id, ""))
    }
}

/// The agent trait status for Notion's `status`.
pub fn agent_status(status: &str) -> v2::agent_trait::AgentStatus {
    use v2::agent_trait::AgentStatus as S;
    match status {
        "active" => S::Ready,
        "deleted" => S::Deleted,
        _ => S::Disabled,
    }
}

/// The `agent` resource for `a`.
pub fn agent_resource(a: &Agent) -> v2::Resource {
    let name = a.name.clone().filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("agent_id", a.id.clone().into()),
        ("agent_type", a.agent_type.clone().into()),
        ("status", a.status.clone().into()),
        ("workspace_id", a.space_id.clone().into()),
    ];
    if let Some(n) = &name {
        fields.push(("name", n.clone().into()));
    }
    let profile = resource::profile(fields);
    let status = agent_status(&a.status);
    #[allow(deprecated)]
    let agent_trait = v2::AgentTrait {
        status: status as i32,
        identity_resource_id: None,
        profile: Some(profile.clone()),
    };
    let resource_status = match status {
        v2::agent_trait::AgentStatus::Ready => v2::status::ResourceStatus::Enabled,
        v2::agent_trait::AgentStatus::Deleted => v2::status::ResourceStatus::Deleted,
        _ => v2::status::ResourceStatus::Disabled,
    };
    v2::Resource {
        id: Some(ids::resource_id(types::AGENT, &a.id)),
        parent_resource_id: Some(ids::resource_id(types::WORKSPACE, &a.space_id)),
        display_name: name.unwrap_or_else(|| a.id.clone()),
        annotations: vec![pack(&agent_trait)],
        profile: Some(profile),
        status: Some(v2::Status {
            status: resource_status as i32,
            details: a.status.clone(),
        }),
        ..Default::default()
    }
}

/// The three role entitlements of an agent resource.
pub fn agent_entitlements(resource: &v2::Resource) -> Vec<v2::Entitlement> {
    let name = &resource.display_name;
    ROLES
        .iter()
        .enumerate()
        .map(|(i, (slug, title, description))| {
            let group = v2::EntitlementExclusionGroup {
                exclusion_group_id: EXCLUSION_GROUP.to_owned(),
                order: i as u32 + 1,
                is_default: false,
                scope_to_resource: true,
            };
            resource::assignment_entitlement(
                resource,
                slug,
                format!("{name} agent: {title}"),
                format!("{description} ({name})"),
                vec![user_type(), group_type(), workspace_type()],
                vec![pack(&group)],
            )
        })
        .collect()
}

/// The grant of one permission entry on agent `on` (of workspace `space`); `None` for a role
/// this connector does not know.
pub fn permission_grant(
    on: &v2::ResourceId,
    space: &str,
    p: &AgentPermission,
) -> Option<v2::Grant> {
    let slug = match p.role {
        AgentRole::ViewAndInteract | AgentRole::Edit | AgentRole::FullAccess => p.role.as_str(),
        AgentRole::Other(_) => return None,
    };
    let (principal, expands) = match &p.principal {
        Principal::User(id) => (ids::resource_id(scim_types::USER, id), None),
        Principal::Group(id) => {
            let g = ids::resource_id(scim_types::GROUP, id);
            let e = ids::entitlement_id(&g, "member");
            (g, Some(e))
        }
        Principal::Workspace(id) => {
            let w = ids::resource_id(types::WORKSPACE, id.as_deref().unwrap_or(space));
            let e = ids::entitlement_id(&w, super::workspaces::MEMBER);
            (w, Some(e))
        }
    };
    let mut grant = resource::grant(on, slug, &principal);
    if let Some(e) = expands {
        grant.annotations.push(pack(&v2::GrantExpandable {
            entitlement_ids: vec![e],
            shallow: false,
            resource_type_ids: Vec::new(),
        }));
    }
    Some(grant)
}

#[async_trait]
impl ResourceSyncer for AgentSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        agent_type()
    }

    async fn list(
        &self,
        parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        super::list_in_space(parent, page, self.snapshot.agents(), |_, e| {
            agent_resource(&e.agent)
        })
        .await
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        Ok(agent_resource(&self.find(&id.resource).await?.agent))
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        Ok(Page::done(agent_entitlements(resource)))
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let rid = id_of(resource, "agent")?;
        let entry = self.find(&rid.resource).await?;
        let (items, next) = slice_page(&entry.permissions, &page.token, page.size)?;
        let mut grants = Vec::with_capacity(items.len());
        for p in &items {
            match permission_grant(rid, &entry.agent.space_id, p) {
                Some(g) => grants.push(g),
                None => self.note_unknown(p.role.as_str()),
            }
        }
        Ok(Page::more(grants, next))
    }

    async fn grant(
        &self,
        principal: &v2::Resource,
        entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<prost_types::Any>), ConnectorError> {
        provision::grant::<Roles>(&self.snapshot, principal, entitlement).await
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<prost_types::Any>, ConnectorError> {
        provision::revoke::<Roles>(&self.snapshot, grant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::find;

    fn agent() -> Agent {
        Agent {
            id: "a1".into(),
            space_id: "s1".into(),
            agent_type: "custom".into(),
            alive: true,
            status: "credit_limit".into(),
            name: Some("Helper".into()),
        }
    }

    #[test]
    fn entitlements_form_one_ordered_group() {
        let r = agent_resource(&agent());
        let t: v2::AgentTrait = find(&r.annotations).expect("agent trait");
        #[allow(deprecated)]
        let status = t.status;
        assert_eq!(status, v2::agent_trait::AgentStatus::Disabled as i32);
        let es = agent_entitlements(&r);
        let slugs: Vec<&str> = es.iter().map(|e| e.slug.as_str()).collect();
        assert_eq!(slugs, ["view_and_interact", "edit", "full_access"]);
        for (i, e) in es.iter().enumerate() {
            let g: v2::EntitlementExclusionGroup = find(&e.annotations).expect("group");
            assert_eq!(g.order as usize, i + 1);
            assert!(g.scope_to_resource);
        }
    }

    #[test]
    fn group_and_workspace_grants_expand_through_member() {
        let on = ids::resource_id(types::AGENT, "a1");
        let perm = |principal, role| AgentPermission {
            principal,
            role,
            resolved_role: None,
        };
        let g = permission_grant(
            &on,
            "s1",
            &perm(Principal::Group("g:1".into()), AgentRole::Edit),
        )
        .expect("grant");
        assert_eq!(g.id, "agent:a1:edit:group:g:1");
        let x: v2::GrantExpandable = find(&g.annotations).expect("expandable");
        assert_eq!(x.entitlement_ids, ["group:g:1:member"]);
        let w = permission_grant(
            &on,
            "s1",
            &perm(Principal::Workspace(None), AgentRole::ViewAndInteract),
        )
        .expect("grant");
        assert_eq!(w.id, "agent:a1:view_and_interact:workspace:s1");
        let x: v2::GrantExpandable = find(&w.annotations).expect("expandable");
        assert_eq!(x.entitlement_ids, ["workspace:s1:member"]);
        let u = permission_grant(
            &on,
            "s1",
            &perm(Principal::User("u1".into()), AgentRole::FullAccess),
        )
        .expect("grant");
        assert!(u.annotations.is_empty());
        assert!(
            permission_grant(
                &on,
                "s1",
                &perm(Principal::User("u1".into()), AgentRole::Other("x".into()))
            )
            .is_none()
        );
    }
}
