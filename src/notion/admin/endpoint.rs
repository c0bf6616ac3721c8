//! The Admin API endpoints this client calls — each with its template (for counting and
//! logging), the scope it needs (named in 403 errors) and its paging style — and one request
//! ([`AdminCall`]) as the shared transport sends it.

use reqwest::Method;
use serde::Serialize;

use super::error::AdminError;
use crate::notion::Error;
use crate::notion::request::{Template, json_body, show};
use crate::notion::transport::Wire;

/// How an endpoint pages (`spec/notion-admin.md` §3). On the wire a query value is text either
/// way; the styles differ in parameter names and in what the answer's envelope holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `start_cursor`, `page_size` (integer 1–100); `next_cursor` always present (may be null).
    P1,
    /// `cursor`, `page_size` as a string (`"100"`); `next_cursor` only when `has_more`.
    P2,
    /// `cursor`, `page_size` (integer 1–100, default 25 — so it is always sent).
    P4,
    /// `start_cursor`, `page_size`; envelope undocumented (read like P1).
    Spaces,
    /// Agent permissions: `cursor`, no `page_size` (the server sends up to 250 a page);
    /// `{permissions, next_cursor?}`.
    Permissions,
}

impl Style {
    /// The query name of the cursor.
    pub(crate) fn cursor_param(self) -> &'static str {
        match self {
            Style::P1 | Style::Spaces => "start_cursor",
            Style::P2 | Style::P4 | Style::Permissions => "cursor",
        }
    }

    /// The array holding a page's items.
    pub(crate) fn items_key(self) -> &'static str {
        match self {
            Style::Permissions => "permissions",
            _ => "results",
        }
    }
}

/// The page size asked for everywhere it can be chosen: the documented maximum.
pub(crate) const PAGE_SIZE: usize = 100;
/// The most agent permissions one page may hold (documented: up to 250).
pub(crate) const MAX_PERMISSIONS_PAGE: usize = 250;

/// The Admin API endpoints this client calls, for counting and logging by template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminEndpoint {
    ListSpaces,
    ListSpaceUsers,
    ListPersonalAccessTokens,
    RevokePersonalAccessToken,
    RevokeSession,
    ListMcpConnections,
    RevokeMcpConnection,
    ListAgents,
    ListAgentPermissions,
    UpdateAgentPermissions,
    UpdateAgentStatus,
    ListGroups,
    ListGroupMembers,
    AddGroupMember,
    UpdateGroupMember,
    RemoveGroupMember,
}

impl AdminEndpoint {
    /// Every endpoint, in discriminant order (so `e as usize` indexes it).
    pub(crate) const ALL: [AdminEndpoint; 16] = [
        AdminEndpoint::ListSpaces,
        AdminEndpoint::ListSpaceUsers,
        AdminEndpoint::ListPersonalAccessTokens,
        AdminEndpoint::RevokePersonalAccessToken,
        AdminEndpoint::RevokeSession,
        AdminEndpoint::ListMcpConnections,
        AdminEndpoint::RevokeMcpConnection,
        AdminEndpoint::ListAgents,
        AdminEndpoint::ListAgentPermissions,
        AdminEndpoint::UpdateAgentPermissions,
        AdminEndpoint::UpdateAgentStatus,
        AdminEndpoint::ListGroups,
        AdminEndpoint::ListGroupMembers,
        AdminEndpoint::AddGroupMember,
        AdminEndpoint::UpdateGroupMember,
        AdminEndpoint::RemoveGroupMember,
    ];

    /// The scope the token needs for this endpoint (the OpenAPI document's `x-scopes`).
    pub(crate) fn scope(self) -> &'static str {
        use AdminEndpoint::*;
        match self {
            ListSpaces => "workspace:read",
            ListSpaceUsers => "user:read",
            ListPersonalAccessTokens => "personal-access-token:read",
            RevokePersonalAccessToken => "personal-access-token:write-high-impact",
            RevokeSession => "managed-user-session:write",
            ListMcpConnections => "mcp-client-connection:read",
            RevokeMcpConnection => "mcp-client-connection:write-high-impact",
            ListAgents | ListAgentPermissions => "workflows:read",
            UpdateAgentPermissions | UpdateAgentStatus => "workflows:write",
            ListGroups | ListGroupMembers => "permission-group:read",
            AddGroupMember | UpdateGroupMember | RemoveGroupMember => "permission-group:write",
        }
    }

    /// The paging style of a listing (`None` for writes).
    pub(crate) fn style(self) -> Option<Style> {
        use AdminEndpoint::*;
        match self {
            ListSpaces => Some(Style::Spaces),
            ListSpaceUsers | ListGroups | ListGroupMembers => Some(Style::P1),
            ListPersonalAccessTokens | ListMcpConnections => Some(Style::P2),
            ListAgents => Some(Style::P4),
            ListAgentPermissions => Some(Style::Permissions),
            _ => None,
        }
    }
}

impl Template for AdminEndpoint {
    /// `METHOD /v1/path/{param}`, relative to the base URL.
    fn template(self) -> &'static str {
        use AdminEndpoint::*;
        match self {
            ListSpaces => "GET /v1/spaces",
            ListSpaceUsers => "GET /v1/spaces/{space_id}/users",
            ListPersonalAccessTokens => "GET /v1/spaces/{space_id}/personal_access_tokens",
            RevokePersonalAccessToken => {
                "DELETE /v1/spaces/{space_id}/personal_access_tokens/{bot_id}"
            }
            RevokeSession => "POST /v1/managed_users/revoke_session",
            ListMcpConnections => "GET /v1/mcp_client_connections",
            RevokeMcpConnection => "POST /v1/mcp_client_connections/revoke",
            ListAgents => "GET /v1/spaces/{space_id}/agents",
            ListAgentPermissions => "GET /v1/spaces/{space_id}/agents/{agent_id}/permissions",
            UpdateAgentPermissions => "PATCH /v1/spaces/{space_id}/agents/{agent_id}/permissions",
            UpdateAgentStatus => "PATCH /v1/spaces/{space_id}/agents/{agent_id}/status",
            ListGroups => "GET /v1/spaces/{space_id}/groups",
            ListGroupMembers => "GET /v1/spaces/{space_id}/groups/{group_id}/members",
            AddGroupMember => "POST /v1/spaces/{space_id}/groups/{group_id}/members",
            UpdateGroupMember => {
                "PATCH /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}"
            }
            RemoveGroupMember => {
                "DELETE /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}"
            }
        }
    }
}

/// One Admin API request, before it is sent: what the retry layer replays.
#[derive(Debug, Clone)]
pub(crate) struct AdminCall {
    /// Which endpoint.
    pub(crate) endpoint: AdminEndpoint,
    /// Path segments under the base URL, unencoded (`["v1", "spaces", "<id>", "users"]`).
    pub(crate) segments: Vec<String>,
    /// Query pairs in order, unencoded.
    pub(crate) query: Vec<(String, String)>,
    /// JSON body, for writes.
    pub(crate) body: Option<Vec<u8>>,
}

impl AdminCall {
    /// A request to `endpoint` at `/v1/<segments…>`, without query or body.
    pub(crate) fn new<const N: usize>(endpoint: AdminEndpoint, segments: [&str; N]) -> AdminCall {
        let mut path = Vec::with_capacity(N + 1);
        path.push("v1".to_owned());
        path.extend(segments.iter().map(|s| (*s).to_owned()));
        AdminCall {
            endpoint,
            segments: path,
            query: Vec::new(),
            body: None,
        }
    }

    /// Adds one query pair.
    pub(crate) fn param(mut self, key: &str, value: impl Into<String>) -> AdminCall {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// The paging parameters of this endpoint's style: the page size (except for agent
    /// permissions) and the cursor, when there is one.
    pub(crate) fn page(mut self, page_size: usize, cursor: Option<&str>) -> AdminCall {
        if let Some(style) = self.endpoint.style() {
            if style != Style::Permissions {
                self = self.param("page_size", page_size.to_string());
            }
            if let Some(cursor) = cursor {
                self = self.param(style.cursor_param(), cursor);
            }
        }
        self
    }

    /// Adds a JSON body.
    pub(crate) fn with_json<B: Serialize>(mut self, body: &B) -> Result<AdminCall, Error> {
        let bytes = json_body(body, self.endpoint, || self.display())?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// `/v1/spaces/<id>/users?page_size=100` for messages (one line, bounded).
    pub(crate) fn display(&self) -> String {
        show(&self.segments, &self.query)
    }
}

impl Wire for AdminCall {
    fn method(&self) -> Method {
        self.endpoint.method()
    }
    fn method_name(&self) -> &'static str {
        self.endpoint.method_name()
    }
    fn kind(&self) -> usize {
        self.endpoint as usize
    }
    fn segments(&self) -> &[String] {
        &self.segments
    }
    fn query(&self) -> &[(String, String)] {
        &self.query
    }
    fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
    fn display(&self) -> String {
        AdminCall::display(self)
    }
    fn error(
        &self,
        status: u16,
        body: &[u8],
        retry_after: Option<&str>,
        secrets: &[&str],
    ) -> Error {
        Error::Admin(Box::new(AdminError::from_response(
            status,
            self.endpoint.method_name(),
            AdminCall::display(self),
            self.endpoint.scope(),
            body,
            retry_after,
            secrets,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_index_templates_and_scopes() {
        for (i, e) in AdminEndpoint::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
            assert!(e.template().contains(" /v1/"), "{e:?}");
            assert!(e.scope().contains(':'), "{e:?}");
        }
        assert_eq!(AdminEndpoint::RemoveGroupMember.method(), Method::DELETE);
        assert_eq!(AdminEndpoint::ListSpaceUsers.scope(), "user:read");
    }

    #[test]
    fn each_style_sends_its_own_paging_parameters() {
        let call = |e, cursor| {
            let c = AdminCall::new(e, ["x"]).page(PAGE_SIZE, cursor);
            c.display()
        };
        assert_eq!(
            call(AdminEndpoint::ListSpaceUsers, Some("c1")),
            "/v1/x?page_size=100&start_cursor=c1"
        );
        assert_eq!(
            call(AdminEndpoint::ListMcpConnections, Some("c2")),
            "/v1/x?page_size=100&cursor=c2"
        );
        assert_eq!(call(AdminEndpoint::ListAgents, None), "/v1/x?page_size=100");
        assert_eq!(
            call(AdminEndpoint::ListAgentPermissions, Some("c3")),
            "/v1/x?cursor=c3"
        );
        assert_eq!(call(AdminEndpoint::ListSpaces, None), "/v1/x?page_size=100");
    }
}
