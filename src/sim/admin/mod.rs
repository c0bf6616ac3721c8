//! The simulator's Notion **Admin API** (`/admin/v1/…`, `spec/notion-admin.md`), served beside
//! SCIM on the same port when [`SimConfig::organization`](crate::sim::SimConfig::organization)
//! is set.
//!
//! # Layout
//! - `org`: [`Organization`] and its parts (plain data), [`Organization::reference`] and the
//!   [`reference_ids`] a fixture test can name.
//! - `generate`: [`OrgSpec`] and [`Organization::generate`] (seeded, deterministic).
//! - `counts`: the exact [`OrgCounts`] of an organization ([`Organization::counts`]).
//! - `view`: the live view over the store (the SCIM workspace is read from the SCIM dataset).
//! - `paging`: query strings, array parameters, the four pagination styles, opaque cursors.
//! - `json`: the response shapes. `errors`: the two error families and the scopes.
//! - `reads`, `writes`: the handlers. The endpoint table is `endpoints()` below.
//!
//! # Front door (in `server.rs`, for every `/admin/…` request)
//! Count → faults drawn → bearer token checked against
//! [`SimConfig::admin_tokens`](crate::sim::SimConfig::admin_tokens) (401 `unauthorized`) →
//! `Notion-Version` must be exactly [`NOTION_VERSION`] (400 `validation_error`) → the token must
//! hold the endpoint's scope (403: family A `missing_scope`, family B `restricted_resource`;
//! the message names the scope) → rate limits (429 `rate_limited` + `retry-after`, per token:
//! an admin token has its own bucket) → injected faults (same knobs as SCIM) → handler. Errors
//! use the endpoint's family; unknown `/admin` paths answer 404 in family A.
//!
//! # Decisions where the spec is silent
//! - `GET /v1/spaces` uses family A and P1's envelope (`object:"list"`, `type:"space"`,
//!   `results` of `{id, name}`, `has_more`, `next_cursor` string or null); `page_size` 1–100,
//!   default 100.
//! - `page_size`: see `paging.rs` (P2 accepts only canonical digit strings; out of range → 400).
//! - PAT list without `status` → only active tokens. Array parameters: `status=a&status=b`,
//!   `status[]=a&status[]=b`, `status[0]=a` and `status=a,b` are all accepted.
//! - A repeat PAT revoke (or revoking an unknown id) → 404 `not_found`; revoking an expired token
//!   works (it becomes revoked). Revoke sets `revoked_at` (now) and `revoked_by`
//!   (`organization_bot`).
//! - `revoke_session` for an id or email that is no person of the organization → 404
//!   `not_found`; repeat calls succeed again (each is recorded in
//!   [`Organization::revoked_sessions`]).
//! - Group member writes: POST of an existing membership → 409 `conflict_error`; a user who is no
//!   person of the workspace → 400; PATCH/DELETE of a non-member → 404 `object_not_found`. In the
//!   SCIM workspace they change the SCIM group too (POST/PATCH add the SCIM member, DELETE removes
//!   it; `owner` is kept as an organization entry).
//! - MCP revoke removes the workspace from every matching entry (same client key and user) and
//!   drops entries left with no workspace; `revoked_token_count` is the number of entries
//!   touched; nothing matching → 404 `not_found`. `enterprise_managed_access` `denied` revokes the
//!   user's enterprise-managed entries in that workspace (counted the same way) and records the
//!   denial; `allowed` lifts it (count 0). Unknown user or workspace → 404.
//! - Agent permission PATCH accepts every principal form (`{type, id}`, `{type, <type>_id}`,
//!   nested under `principal` or flat in the entry; the workspace principal needs no id, and a
//!   given id must be the agent's workspace). `set` replaces or adds, `remove` deletes (absent
//!   principals are ignored); a user who is no person of the workspace or an unknown group → 400.
//!   Deleted agents → 404. What is *sent* follows
//!   [`SimConfig::admin_principal_form`](crate::sim::SimConfig::admin_principal_form) and
//!   [`SimConfig::admin_flat_permissions`](crate::sim::SimConfig::admin_flat_permissions).
//! - Agent status PATCH: `disabled` sets status `disabled_from_api`; `active` sets `active`.
//!   `run_status` is `paused` (with `paused_reason` = the status) unless the status is `active`.

mod counts;
mod errors;
mod generate;
mod json;
mod org;
mod paging;
mod reads;
mod view;
mod writes;

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

pub use counts::OrgCounts;
pub use errors::ALL_SCOPES;
pub(crate) use errors::{Family, error_response, missing_scope_message};
pub use generate::OrgSpec;
pub use org::{
    AgentRole, GroupRole, OrgAgent, OrgAgentPermission, OrgBot, OrgGroup, OrgMcpConnection,
    OrgMembership, OrgPat, OrgPerson, OrgSpace, Organization, PatStatus, Principal, reference_ids,
};

use super::config::SimAdminToken;
use super::server::Shared;

/// The only `Notion-Version` the Admin API accepts.
pub const NOTION_VERSION: &str = "2026-06-01";

/// Path prefix of the Admin API (clients append `/v1/…`).
pub(crate) const ADMIN_PREFIX: &str = "/admin";

/// Method, full template, family and scope of an Admin endpoint (what the front door needs).
#[derive(Debug, Clone)]
pub(crate) struct AdminRoute {
    /// HTTP method.
    pub(crate) method: Method,
    /// Full path template, e.g. `/admin/v1/spaces/{space_id}/users` (also the counter key).
    pub(crate) template: &'static str,
    /// Error family.
    pub(crate) family: Family,
    /// Required scope.
    pub(crate) scope: &'static str,
}

/// Every Admin endpoint with its handler.
pub(crate) fn endpoints() -> Vec<(AdminRoute, MethodRouter<Arc<Shared>>)> {
    use Family::{A, B};
    let row = |method, template, family, scope, handler| {
        (
            AdminRoute {
                method,
                template,
                family,
                scope,
            },
            handler,
        )
    };
    vec![
        row(
            Method::GET,
            "/admin/v1/spaces",
            A,
            "workspace:read",
            get(reads::list_spaces),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/users",
            B,
            "user:read",
            get(reads::list_users),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/personal_access_tokens",
            A,
            "personal-access-token:read",
            get(reads::list_pats),
        ),
        row(
            Method::DELETE,
            "/admin/v1/spaces/{space_id}/personal_access_tokens/{bot_id}",
            A,
            "personal-access-token:write-high-impact",
            delete(writes::revoke_pat),
        ),
        row(
            Method::POST,
            "/admin/v1/managed_users/revoke_session",
            A,
            "managed-user-session:write",
            post(writes::revoke_session),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/groups",
            B,
            "permission-group:read",
            get(reads::list_groups),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/groups/{group_id}/members",
            B,
            "permission-group:read",
            get(reads::list_group_members),
        ),
        row(
            Method::POST,
            "/admin/v1/spaces/{space_id}/groups/{group_id}/members",
            B,
            "permission-group:write",
            post(writes::add_group_member),
        ),
        row(
            Method::PATCH,
            "/admin/v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}",
            B,
            "permission-group:write",
            patch(writes::update_group_member),
        ),
        row(
            Method::DELETE,
            "/admin/v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}",
            B,
            "permission-group:write",
            delete(writes::remove_group_member),
        ),
        row(
            Method::GET,
            "/admin/v1/mcp_client_connections",
            A,
            "mcp-client-connection:read",
            get(reads::list_mcp),
        ),
        row(
            Method::POST,
            "/admin/v1/mcp_client_connections/revoke",
            A,
            "mcp-client-connection:write-high-impact",
            post(writes::revoke_mcp),
        ),
        row(
            Method::PUT,
            "/admin/v1/mcp_client_connections/enterprise_managed_access",
            A,
            "mcp-client-connection:write-high-impact",
            put(writes::enterprise_managed_access),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/agents",
            A,
            "workflows:read",
            get(reads::list_agents),
        ),
        row(
            Method::GET,
            "/admin/v1/spaces/{space_id}/agents/{agent_id}/permissions",
            A,
            "workflows:read",
            get(reads::list_agent_permissions),
        ),
        row(
            Method::PATCH,
            "/admin/v1/spaces/{space_id}/agents/{agent_id}/permissions",
            A,
            "workflows:write",
            patch(writes::update_agent_permissions),
        ),
        row(
            Method::PATCH,
            "/admin/v1/spaces/{space_id}/agents/{agent_id}/status",
            A,
            "workflows:write",
            patch(writes::update_agent_status),
        ),
    ]
}

/// Checks `Authorization: Bearer <token>` against the admin tokens; the error is the 401
/// message. Never echoes tokens.
pub(crate) fn check_token<'a>(
    headers: &HeaderMap,
    tokens: &'a [SimAdminToken],
) -> Result<&'a SimAdminToken, &'static str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or("API token is invalid.")?
        .to_str()
        .map_err(|_| "API token is invalid.")?;
    let credentials = match value.trim().split_once(' ') {
        Some((scheme, credentials)) if scheme.eq_ignore_ascii_case("bearer") => credentials.trim(),
        _ => return Err("API token is invalid."),
    };
    tokens
        .iter()
        .find(|t| t.token == credentials)
        .ok_or("API token is invalid.")
}

/// The version and scope checks of an authorized request: `Some` is the error response.
pub(crate) fn gate(
    headers: &HeaderMap,
    token: &SimAdminToken,
    route: &AdminRoute,
) -> Option<Response> {
    let version = headers
        .get("notion-version")
        .map(|v| v.to_str().unwrap_or("?"));
    match version {
        Some(NOTION_VERSION) => {}
        None => {
            return Some(error_response(
                route.family,
                StatusCode::BAD_REQUEST,
                "Notion-Version header is required: send `Notion-Version: 2026-06-01`.",
            ));
        }
        Some(other) => {
            return Some(error_response(
                route.family,
                StatusCode::BAD_REQUEST,
                &format!(
                    "Notion-Version `{}` is not supported: send `Notion-Version: 2026-06-01`.",
                    crate::text::one_line_max(other, 40)
                ),
            ));
        }
    }
    if !token.scopes.iter().any(|s| s == route.scope) {
        return Some(error_response(
            route.family,
            StatusCode::FORBIDDEN,
            &missing_scope_message(route.scope),
        ));
    }
    None
}
