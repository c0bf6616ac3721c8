//! Workspaces of the organization as `workspace` resources: sets of members (GROUP trait) with a
//! `member` entitlement, granted to every person (`user`) and guest bot (`bot`) the workspace
//! lists. Each workspace is the parent of its tokens, AI clients and agents
//! (`ChildResourceType` annotations). Listing the first page starts a new snapshot generation:
//! `workspace` is the first type a sync visits.

use std::sync::Arc;

use async_trait::async_trait;

use super::no_such;
use super::slices::slice_page;
use super::snapshot::Snapshot;
use super::{bot_type, id_of, model::Space, types, workspace_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::connector::{types as scim_types, user_type};
use crate::pb::v2;

/// The entitlement every member holds.
pub const MEMBER: &str = "member";

/// Lists workspaces and their members.
pub struct WorkspaceSyncer {
    snapshot: Arc<Snapshot>,
}

impl WorkspaceSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        WorkspaceSyncer { snapshot }
    }
}

/// The `workspace` resource for `space`.
pub fn workspace_resource(space: &Space) -> v2::Resource {
    let name = space.name.clone().filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> = vec![("workspace_id", space.id.clone().into())];
    if let Some(n) = &name {
        fields.push(("workspace_name", n.clone().into()));
    }
    let mut r = resource::group_resource(
        types::WORKSPACE,
        &space.id,
        name.as_deref().unwrap_or(&space.id),
        resource::profile(fields),
    );
    for child in [types::PAT, types::MCP_CLIENT, types::AGENT] {
        r.annotations.push(pack(&v2::ChildResourceType {
            resource_type_id: child.to_owned(),
        }));
    }
    r
}

#[async_trait]
impl ResourceSyncer for WorkspaceSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        workspace_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        if page.token.is_empty() {
            self.snapshot.restart();
        }
        let spaces = self.snapshot.spaces().await?;
        let (items, next) = slice_page(&spaces, &page.token, page.size)?;
        Ok(Page::more(
            items.iter().map(workspace_resource).collect(),
            next,
        ))
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        let spaces = self.snapshot.spaces().await?;
        spaces
            .iter()
            .find(|s| s.id == id.resource)
            .map(workspace_resource)
            .ok_or_else(|| no_such("workspace", &id.resource, " in the organization"))
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        Ok(Page::done(vec![resource::assignment_entitlement(
            resource,
            MEMBER,
            format!("{name} workspace member"),
            format!("Member (person or guest bot) of the {name} workspace in Notion"),
            vec![user_type(), bot_type()],
            vec![],
        )]))
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let wid = id_of(resource, "workspace")?;
        let people = self.snapshot.people().await?;
        let members = people
            .members
            .get(&wid.resource)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (items, next) = slice_page(members, &page.token, page.size)?;
        let grants = items
            .iter()
            .map(|m| {
                let ty = if m.bot { types::BOT } else { scim_types::USER };
                resource::grant(wid, MEMBER, &ids::resource_id(ty, &m.id))
            })
            .collect();
        Ok(Page::more(grants, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::{find, has};

    #[test]
    fn a_workspace_is_a_group_parenting_three_types() {
        let r = workspace_resource(&Space {
            id: "s1".into(),
            name: None,
        });
        assert_eq!(r.display_name, "s1", "no name: the id");
        assert!(has::<v2::GroupTrait>(&r.annotations));
        let children: Vec<String> = r
            .annotations
            .iter()
            .filter(|a| crate::baton::annotations::is::<v2::ChildResourceType>(a))
            .filter_map(|a| find::<v2::ChildResourceType>(std::slice::from_ref(a)))
            .map(|c| c.resource_type_id)
            .collect();
        assert_eq!(children, ["personal_access_token", "mcp_client", "agent"]);
    }
}
