//! The Admin API's read endpoints. Each runs after the front door (token, `Notion-Version`,
//! scope, limits, faults) and answers in its endpoint's error family.
//!
//! Listing rules (decisions where `spec/notion-admin.md` is silent, see `mod.rs`):
//! - spaces: live workspaces sorted by id.
//! - users: persons in workspace order (the SCIM workspace: SCIM list order, active users only),
//!   then guest bots.
//! - PATs: without `status`, only `active` tokens (ask for `expired` explicitly); `status`,
//!   `creator_ids` (array parameters, see `paging.rs`) and `search` (case-insensitive substring of
//!   the name; unnamed tokens never match) combine with AND. Unknown status values and
//!   `creator_ids` that are not UUIDs are 400.
//! - MCP connections: org-wide, filtered by `user_ids` and `workspace_ids` (an entry matches when
//!   one of its workspaces is listed).
//! - agents: every agent of the workspace, deleted and autofill ones included.
//! - agent permissions: `resolved_role` is the higher of the entry's role and the workspace
//!   entry's role (the workspace entry resolves to its own role).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::errors::{Fail, Family, json_response};
use super::json;
use super::org::{AgentRole, OrgAgent, PatStatus, Principal};
use super::paging::{PageRequest, Query, Style, cut};
use super::view;
use crate::sim::server::Shared;

/// A 200 with `body`, or the failure in `family`.
pub(crate) fn answer(family: Family, result: Result<Value, Fail>) -> Response {
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(fail) => fail.into_response(family),
    }
}

/// `GET /v1/spaces` (family A, spaces paging).
pub(crate) async fn list_spaces(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::Spaces, "spaces")?;
        let store = shared.read_store();
        let org = view::org(&store)?;
        let mut live: Vec<_> = org.spaces.iter().filter(|s| s.alive).collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        let c = cut(live.len(), page, |i| {
            Some(json::space(&live[i].id, live[i].name.as_deref()))
        });
        Ok(json::p1_list("space", c.items, "spaces", c.next))
    })();
    answer(Family::A, result)
}

/// `GET /v1/spaces/{space_id}/users` (family B, P1).
pub(crate) async fn list_users(
    State(shared): State<Arc<Shared>>,
    Path(space_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let scope = format!("users:{space_id}");
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::P1, &scope)?;
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let c = cut(view::users_len(&store, space), page, |i| {
            view::user_at(&store, space, i).map(|u| json::user(&u))
        });
        Ok(json::p1_list("user", c.items, &scope, c.next))
    })();
    answer(Family::B, result)
}

/// `GET /v1/spaces/{space_id}/groups` (family B, P1).
pub(crate) async fn list_groups(
    State(shared): State<Arc<Shared>>,
    Path(space_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let scope = format!("groups:{space_id}");
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::P1, &scope)?;
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let c = cut(view::groups_len(&store, space), page, |i| {
            view::group_at(&store, space, i).map(|(id, name)| json::group(id, name))
        });
        Ok(json::p1_list("group", c.items, &scope, c.next))
    })();
    answer(Family::B, result)
}

/// `GET /v1/spaces/{space_id}/groups/{group_id}/members` (family B, P1).
pub(crate) async fn list_group_members(
    State(shared): State<Arc<Shared>>,
    Path((space_id, group_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let scope = format!("members:{space_id}:{group_id}");
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::P1, &scope)?;
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let all = view::memberships(&store, space, &group_id)?;
        let c = cut(all.len(), page, |i| {
            let (user, role) = all[i];
            Some(json::membership(&group_id, user, role.as_str()))
        });
        Ok(json::p1_list("group_membership", c.items, &scope, c.next))
    })();
    answer(Family::B, result)
}

/// Whether `s` is a hyphenated UUID (any version, any case).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `GET /v1/spaces/{space_id}/personal_access_tokens` (family A, P2).
pub(crate) async fn list_pats(
    State(shared): State<Arc<Shared>>,
    Path(space_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let query = Query::parse(q.as_deref());
        let scope = format!("pats:{space_id}");
        let page = PageRequest::parse(&query, Style::P2, &scope)?;
        let statuses: Vec<PatStatus> = match query.list("status") {
            None => vec![PatStatus::Active],
            Some(values) => values
                .iter()
                .map(|v| {
                    PatStatus::parse(v).ok_or_else(|| {
                        Fail::invalid(format!(
                            "status should be one of `active`, `expired`, `revoked`, instead was `{}`",
                            crate::text::one_line_max(v, 40)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let creators = query.list("creator_ids");
        if let Some(bad) = creators.iter().flatten().find(|c| !is_uuid(c)) {
            return Err(Fail::invalid(format!(
                "creator_ids should hold UUIDs, instead held `{}`",
                crate::text::one_line_max(bad, 40)
            )));
        }
        let search = query
            .get("search")
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let c = cut(space.pats.len(), page, |i| {
            let pat = &space.pats[i];
            let wanted = (statuses.is_empty() || statuses.contains(&pat.status))
                && creators
                    .as_ref()
                    .is_none_or(|c| c.is_empty() || c.contains(&pat.creator_id))
                && search.as_ref().is_none_or(|s| {
                    pat.name
                        .as_ref()
                        .is_some_and(|n| n.to_lowercase().contains(s.as_str()))
                });
            wanted.then(|| json::pat(pat, view::person(&store, &pat.creator_id).as_ref()))
        });
        Ok(json::cursor_list(c.items, &scope, c.next))
    })();
    answer(Family::A, result)
}

/// `GET /v1/mcp_client_connections` (family A, P2).
pub(crate) async fn list_mcp(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let result = (|| {
        let query = Query::parse(q.as_deref());
        let page = PageRequest::parse(&query, Style::P2, "mcp")?;
        let users = query.list("user_ids").filter(|v| !v.is_empty());
        let spaces = query.list("workspace_ids").filter(|v| !v.is_empty());
        let store = shared.read_store();
        let org = view::org(&store)?;
        let all = &org.mcp_connections;
        let c = cut(all.len(), page, |i| {
            let m = &all[i];
            let wanted = users.as_ref().is_none_or(|u| u.contains(&m.user_id))
                && spaces
                    .as_ref()
                    .is_none_or(|s| m.workspace_ids.iter().any(|w| s.contains(w)));
            wanted.then(|| json::mcp(m))
        });
        Ok(json::cursor_list(c.items, "mcp", c.next))
    })();
    answer(Family::A, result)
}

/// `GET /v1/spaces/{space_id}/agents` (family A, P4).
pub(crate) async fn list_agents(
    State(shared): State<Arc<Shared>>,
    Path(space_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let scope = format!("agents:{space_id}");
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::P4, &scope)?;
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let c = cut(space.agents.len(), page, |i| {
            Some(json::agent(&space.id, &space.agents[i]))
        });
        Ok(json::cursor_list(c.items, &scope, c.next))
    })();
    answer(Family::A, result)
}

/// The 404 for an unknown agent.
pub(crate) fn no_agent(agent_id: &str) -> Fail {
    Fail::not_found(format!(
        "Could not find agent with ID: {}.",
        crate::text::one_line_max(agent_id, 80)
    ))
}

/// `resolved_role` of every entry of `agent` (see the module docs).
pub(crate) fn resolved_roles(agent: &OrgAgent) -> Vec<AgentRole> {
    let workspace = agent
        .permissions
        .iter()
        .find(|p| p.principal == Principal::Workspace)
        .map(|p| p.role);
    agent
        .permissions
        .iter()
        .map(|p| workspace.map_or(p.role, |w| p.role.max(w)))
        .collect()
}

/// Renders `agent`'s permission entries at `positions` in the configured form.
pub(crate) fn render_permissions(
    shared: &Shared,
    space_id: &str,
    agent: &OrgAgent,
    positions: impl Iterator<Item = usize>,
) -> Vec<Value> {
    let resolved = resolved_roles(agent);
    positions
        .map(|i| {
            let p = &agent.permissions[i];
            json::permission(
                &p.principal,
                p.role,
                resolved[i],
                space_id,
                shared.config.admin_principal_form,
                shared.config.admin_flat_permissions,
            )
        })
        .collect()
}

/// `GET /v1/spaces/{space_id}/agents/{agent_id}/permissions` (family A, ≤ 250 a page).
pub(crate) async fn list_agent_permissions(
    State(shared): State<Arc<Shared>>,
    Path((space_id, agent_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let result = (|| {
        let scope = format!("permissions:{agent_id}");
        let page = PageRequest::parse(&Query::parse(q.as_deref()), Style::Permissions, &scope)?;
        let store = shared.read_store();
        let space = view::live_space(&store, &space_id)?;
        let agent = space
            .agents
            .iter()
            .find(|a| a.id == agent_id)
            .ok_or_else(|| no_agent(&agent_id))?;
        let c = cut(agent.permissions.len(), page, Some);
        let items = render_permissions(&shared, &space.id, agent, c.items.into_iter());
        Ok(json::permissions_list(items, &scope, c.next))
    })();
    answer(Family::A, result)
}
