//! AI clients connected over MCP as `mcp_client` resources, one per client and workspace
//! (children of the workspace), with the app trait and a `connected` entitlement granted to
//! each member who connected the client there. The grant keeps what Notion says of the
//! connection as `GrantMetadata`: `created_at`, `last_active_at` (RFC 3339),
//! `is_enterprise_managed`, `idp_issuer`. The resource id escapes the client key (see
//! [`super::ids`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::ids::{mcp_client_id, parse_mcp_client_id};
use super::no_such;
use super::slices::slice_page;
use super::snapshot::{McpApp, McpGrant, Snapshot};
use super::{id_of, mcp_client_type, rfc3339, types};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::connector::{types as scim_types, user_type};
use crate::pb::v2;

/// The entitlement a member holds on a client they connected.
pub const CONNECTED: &str = "connected";

/// Lists connected AI clients per workspace.
pub struct McpSyncer {
    snapshot: Arc<Snapshot>,
}

impl McpSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        McpSyncer { snapshot }
    }

    async fn find(&self, id: &str) -> Result<McpApp, ConnectorError> {
        let not_found = || no_such("AI client", id, " connected in the organization");
        let (space, key) = parse_mcp_client_id(id).ok_or_else(not_found)?;
        let apps = self.snapshot.mcp().await?;
        apps.get(space)
            .and_then(|list| list.iter().find(|a| a.client.key == key))
            .cloned()
            .ok_or_else(not_found)
    }
}

/// The `mcp_client` resource for `app`.
pub fn mcp_resource(app: &McpApp) -> v2::Resource {
    let c = &app.client;
    let name = c.name.clone().filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("client_key", c.key.clone().into()),
        ("workspace_id", app.space_id.clone().into()),
        (
            "connection_count",
            ProfileValue::Num(app.connections.len() as f64),
        ),
    ];
    if let Some(n) = &name {
        fields.push(("client_name", n.clone().into()));
    }
    if let Some(t) = c.client_type.as_ref().filter(|t| !t.is_empty()) {
        fields.push(("client_type", t.clone().into()));
    }
    let profile = resource::profile(fields);
    #[allow(deprecated)]
    let app_trait = v2::AppTrait {
        profile: Some(profile.clone()),
        ..Default::default()
    };
    v2::Resource {
        id: Some(ids::resource_id(
            types::MCP_CLIENT,
            &mcp_client_id(&app.space_id, &c.key),
        )),
        parent_resource_id: Some(ids::resource_id(types::WORKSPACE, &app.space_id)),
        display_name: name.unwrap_or_else(|| c.key.clone()),
        annotations: vec![pack(&app_trait)],
        profile: Some(profile),
        ..Default::default()
    }
}

/// The `connected` grant on `on` for one member's connection.
pub fn connected_grant(on: &v2::ResourceId, g: &McpGrant) -> v2::Grant {
    let mut grant = resource::grant(
        on,
        CONNECTED,
        &ids::resource_id(scim_types::USER, &g.user_id),
    );
    let mut fields: Vec<(&str, ProfileValue)> =
        vec![("is_enterprise_managed", g.is_enterprise_managed.into())];
    for (key, at) in [
        ("created_at", g.created_at),
        ("last_active_at", g.last_active_at),
    ] {
        if let Some(text) = at.and_then(rfc3339) {
            fields.push((key, text.into()));
        }
    }
    if let Some(i) = g.idp_issuer.as_ref().filter(|i| !i.is_empty()) {
        fields.push(("idp_issuer", i.clone().into()));
    }
    grant.annotations.push(pack(&v2::GrantMetadata {
        metadata: Some(resource::profile(fields)),
    }));
    grant
}

#[async_trait]
impl ResourceSyncer for McpSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        mcp_client_type()
    }

    async fn list(
        &self,
        parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        super::list_in_space(parent, page, self.snapshot.mcp(), |_, a| mcp_resource(a)).await
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        Ok(mcp_resource(&self.find(&id.resource).await?))
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        Ok(Page::done(vec![resource::assignment_entitlement(
            resource,
            CONNECTED,
            format!("{name} connected"),
            format!("Connected the AI client {name} to Notion over MCP"),
            vec![user_type()],
            vec![],
        )]))
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let rid = id_of(resource, "mcp_client")?;
        let app = self.find(&rid.resource).await?;
        let (items, next) = slice_page(&app.connections, &page.token, page.size)?;
        Ok(Page::more(
            items.iter().map(|g| connected_grant(rid, g)).collect(),
            next,
        ))
    }

    async fn grant(
        &self,
        _principal: &v2::Resource,
        _entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<prost_types::Any>), ConnectorError> {
        Err(super::provision::mcp::refuse_grant())
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<prost_types::Any>, ConnectorError> {
        super::provision::mcp::revoke(self.snapshot.admin(), grant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::find;
    use crate::connector::org::model::McpClient;

    #[test]
    fn clients_are_apps_and_grants_keep_the_connection() {
        let app = McpApp {
            space_id: "s1".into(),
            client: McpClient {
                key: "cl:a/b".into(),
                name: Some("Claude".into()),
                client_type: Some("claude".into()),
            },
            connections: vec![McpGrant {
                user_id: "u1".into(),
                created_at: Some(0),
                last_active_at: None,
                is_enterprise_managed: true,
                idp_issuer: Some("https://idp".into()),
            }],
        };
        let r = mcp_resource(&app);
        let id = r.id.clone().expect("id");
        assert_eq!(id.resource, "s1/cl%3Aa%2Fb");
        assert!(find::<v2::AppTrait>(&r.annotations).is_some());
        let g = connected_grant(&id, &app.connections[0]);
        assert_eq!(g.id, "mcp_client:s1/cl%3Aa%2Fb:connected:user:u1");
        let meta: v2::GrantMetadata = find(&g.annotations).expect("metadata");
        let m = meta.metadata.expect("struct");
        assert_eq!(
            resource::profile_str(Some(&m), "created_at"),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert!(!m.fields.contains_key("last_active_at"));
        assert_eq!(
            resource::profile_str(Some(&m), "idp_issuer"),
            Some("https://idp")
        );
    }
}
