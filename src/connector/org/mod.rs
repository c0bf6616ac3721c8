//! The organization view: what Notion's Admin API shows, mapped onto Baton's model.
//!
//! With an organization bot token (`--admin-token`) the connector adds, beside the SCIM view:
//! - `workspace` — each live workspace of the organization ([`workspaces`]), a set of members
//!   with a `member` entitlement granted to every person and guest bot it lists;
//! - `bot` — guest bots ([`bots`]), users of account type SERVICE;
//! - `personal_access_token` — active and expired tokens, children of their workspace
//!   ([`tokens`]), with the secret trait (created by and acting as their creator);
//! - `mcp_client` — AI clients connected over MCP, per workspace ([`mcp`]), with a `connected`
//!   entitlement granted to each member who connected one;
//! - `agent` — custom agents per workspace ([`agents`]), with `view_and_interact`, `edit` and
//!   `full_access` granted from their permissions (to users, groups and workspaces, the last
//!   two expandable through their `member` entitlement).
//!
//! It also changes two SCIM types: `user` gains the people only the Admin API lists
//! ([`users`]), and `group` lists the permission groups of every workspace with an `owner`
//! entitlement beside `member` ([`groups`]). Everything is read from one in-memory
//! [`snapshot::Snapshot`] per sync.
//!
//! Identity across the two APIs: a SCIM user and an Admin API person with the same id are the
//! same person (both are Notion's user UUID); SCIM's record wins for profile and status.

pub mod agents;
pub mod bots;
pub mod groups;
pub mod ids;
pub mod mcp;
pub mod model;
pub mod provision;
pub mod slices;
pub mod snapshot;
pub mod tokens;
pub mod users;
pub mod workspaces;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::baton::annotations::pack;
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, resource};
use crate::notion;
use crate::pb::v2;

use model::AdminClient;
use snapshot::Snapshot;

/// Resource type ids of the organization view (an external contract, like
/// [`super::types`]).
pub mod types {
    /// Workspaces of the organization.
    pub const WORKSPACE: &str = "workspace";
    /// Guest bots.
    pub const BOT: &str = "bot";
    /// Personal access tokens.
    pub const PAT: &str = "personal_access_token";
    /// AI clients connected over MCP.
    pub const MCP_CLIENT: &str = "mcp_client";
    /// Custom agents.
    pub const AGENT: &str = "agent";
}

/// Maps an Admin API error onto the protocol code, as [`super::map_error`] does for SCIM.
pub fn admin_err(err: impl Into<notion::Error>) -> ConnectorError {
    super::map_error(err.into())
}

/// The `workspace` resource type: a set of members, so GROUP.
pub fn workspace_type() -> v2::ResourceType {
    resource::resource_type(
        types::WORKSPACE,
        "Workspace",
        &[v2::resource_type::Trait::Group],
        vec![],
    )
}

/// The `bot` resource type: users of account type SERVICE, with nothing to grant.
pub fn bot_type() -> v2::ResourceType {
    resource::resource_type(
        types::BOT,
        "Bot",
        &[v2::resource_type::Trait::User],
        vec![pack(&v2::SkipEntitlementsAndGrants {})],
    )
}

/// The `personal_access_token` resource type: secrets, with nothing to grant.
pub fn pat_type() -> v2::ResourceType {
    resource::resource_type(
        types::PAT,
        "Personal Access Token",
        &[v2::resource_type::Trait::Secret],
        vec![pack(&v2::SkipEntitlementsAndGrants {})],
    )
}

/// The `mcp_client` resource type: apps.
pub fn mcp_client_type() -> v2::ResourceType {
    resource::resource_type(
        types::MCP_CLIENT,
        "AI Client (MCP)",
        &[v2::resource_type::Trait::App],
        vec![],
    )
}

/// The `agent` resource type.
pub fn agent_type() -> v2::ResourceType {
    resource::resource_type(
        types::AGENT,
        "Custom Agent",
        &[v2::resource_type::Trait::Agent],
        vec![],
    )
}

/// The organization view's syncers and their shared snapshot.
pub struct OrgView {
    snapshot: Arc<Snapshot>,
    workspaces: Arc<workspaces::WorkspaceSyncer>,
    users: Arc<users::OrgUserSyncer>,
    groups: Arc<groups::OrgGroupSyncer>,
    bots: Arc<bots::BotSyncer>,
    tokens: Arc<tokens::TokenSyncer>,
    mcp: Arc<mcp::McpSyncer>,
    agents: Arc<agents::AgentSyncer>,
}

impl OrgView {
    /// The view over `admin`; `scim` is the SCIM view's user and group syncers, when a SCIM
    /// token is configured too (SCIM users come first and win; SCIM provisions groups).
    pub fn new(admin: AdminClient, scim: Option<super::ScimSyncers>) -> Self {
        let snapshot = Arc::new(Snapshot::new(admin));
        // SCIM's group syncer is not needed: with an admin token, memberships are the
        // Admin API's to list and provision.
        let scim_users = scim.map(|s| s.users);
        OrgView {
            workspaces: Arc::new(workspaces::WorkspaceSyncer::new(snapshot.clone())),
            users: Arc::new(users::OrgUserSyncer::new(snapshot.clone(), scim_users)),
            groups: Arc::new(groups::OrgGroupSyncer::new(snapshot.clone())),
            bots: Arc::new(bots::BotSyncer::new(snapshot.clone())),
            tokens: Arc::new(tokens::TokenSyncer::new(snapshot.clone())),
            mcp: Arc::new(mcp::McpSyncer::new(snapshot.clone())),
            agents: Arc::new(agents::AgentSyncer::new(snapshot.clone())),
            snapshot,
        }
    }

    /// The Admin client (request counters and pacing, for the summary).
    pub fn admin(&self) -> &AdminClient {
        self.snapshot.admin()
    }

    /// The syncers, in the engine's order: workspace, user, group, then — after `role`, which
    /// `roles` is (SCIM only) — bot, personal_access_token, mcp_client, agent.
    pub fn syncers(&self, roles: Option<Arc<dyn ResourceSyncer>>) -> Vec<Arc<dyn ResourceSyncer>> {
        let mut out: Vec<Arc<dyn ResourceSyncer>> = vec![
            self.workspaces.clone(),
            self.users.clone(),
            self.groups.clone(),
        ];
        out.extend(roles);
        out.push(self.bots.clone());
        out.push(self.tokens.clone());
        out.push(self.mcp.clone());
        out.push(self.agents.clone());
        out
    }

    /// Warnings for the run summary.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = self.users.warnings();
        w.extend(self.agents.warnings());
        w
    }
}

/// The resource types of the organization view, as [`OrgView::syncers`] orders them
/// (`with_roles` when the SCIM view adds `role`).
pub fn resource_types(with_roles: bool) -> Vec<v2::ResourceType> {
    let mut out = vec![workspace_type(), super::user_type(), super::group_type()];
    if with_roles {
        out.push(super::role_type());
    }
    out.extend([bot_type(), pat_type(), mcp_client_type(), agent_type()]);
    out
}

/// Epoch milliseconds as a protobuf timestamp.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Epoch milliseconds as RFC 3339 text (UTC, milliseconds) for profiles and grant metadata;
/// `None` out of chrono's range.
pub fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// NotFound for `id`, "no {what} "{id}"{place}" (`place` with its leading space, or empty);
/// the id on one line, as it may come from outside.
pub(crate) fn no_such(what: &str, id: &str, place: &str) -> ConnectorError {
    ConnectorError::not_found(format!(
        "no {what} \"{}\"{place}",
        crate::text::one_line(id)
    ))
}

/// One page of the resources of the workspace `parent` for a type listed under its workspace:
/// `load` gives them by workspace (it runs only for a workspace parent: the top-level listing
/// has none), `build` makes each one's resource from its workspace id.
pub(crate) async fn list_in_space<T: Clone>(
    parent: Option<&v2::ResourceId>,
    page: &PageRequest,
    load: impl Future<Output = Result<Arc<BTreeMap<String, Vec<T>>>, ConnectorError>>,
    build: impl Fn(&str, &T) -> v2::Resource,
) -> Result<Page<v2::Resource>, ConnectorError> {
    let Some(space) = parent.filter(|p| p.resource_type == types::WORKSPACE) else {
        return Ok(Page::empty());
    };
    let by_space = load.await?;
    let list = by_space
        .get(&space.resource)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (items, next) = slices::slice_page(list, &page.token, page.size)?;
    Ok(Page::more(
        items.iter().map(|t| build(&space.resource, t)).collect(),
        next,
    ))
}

/// The id a resource (or, for the error, its type) carries.
pub(crate) fn id_of<'a>(
    resource: &'a v2::Resource,
    what: &str,
) -> Result<&'a v2::ResourceId, ConnectorError> {
    resource
        .id
        .as_ref()
        .ok_or_else(|| ConnectorError::invalid_argument(format!("the {what} resource has no id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_convert_exactly() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
        let t = timestamp(-1);
        assert_eq!((t.seconds, t.nanos), (-1, 999_000_000));
        assert_eq!(
            rfc3339(1_700_000_000_123).as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
    }
}
