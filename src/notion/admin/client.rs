//! [`AdminClient`] and [`AdminConfig`]: the Admin API's reads, over the transport shared with
//! the SCIM client.
//!
//! What is shared (through the private `transport` module): the bounded body reads, the per-call deadline, the
//! retry policy, the request counters, the debug logging without headers, the token in a
//! sensitive header and scrubbed from server text. What is the Admin API's own:
//! `Notion-Version: 2026-06-01` and `Accept: application/json` on every request, JSON bodies,
//! both error families with the endpoint's scope named on a 403, its own [`Limiter`] instance
//! (pacing state separate from SCIM's: Notion limits the two APIs separately), and the four
//! paging styles behind [`AdminPage`].
//!
//! [`Limiter`]: crate::notion::pacing

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::decode::{self, Problem};
use super::endpoint::{AdminCall, AdminEndpoint, MAX_PERMISSIONS_PAGE, PAGE_SIZE};
use super::models::*;
use crate::notion::Error;
use crate::notion::base_url::BaseUrl;
use crate::notion::client::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_DEADLINE, DEFAULT_TIMEOUT,
};
use crate::notion::pacing::{LimitConfig, PacingStats};
use crate::notion::paging::DEFAULT_MAX_PAGES;
use crate::notion::request::Template as _;
use crate::notion::retry::RetryConfig;
use crate::notion::transport::{TokenProblem, Transport, TransportConfig, Wire, bearer};
use crate::secret::Secret;

/// Notion's Admin API base URL; every path is `/v1/...` under it.
pub const DEFAULT_ADMIN_BASE_URL: &str = "https://api.notion.com/admin";

/// The only `Notion-Version` the Admin API accepts, sent on every request.
pub const NOTION_VERSION: &str = "2026-06-01";

/// The `Content-Type` of request bodies.
const CONTENT_TYPE_JSON: &str = "application/json";

/// How to reach the Admin API.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Base URL, e.g. [`DEFAULT_ADMIN_BASE_URL`]; `http` only for loopback hosts.
    pub base_url: String,
    /// The organization bot token (redacted in `Debug`).
    pub token: Secret,
    /// Per-request timeout, covering connect, send and reading the whole body.
    pub timeout: Duration,
    /// Overall deadline of one call: every attempt, the waits and the time queued in the limiter.
    pub request_deadline: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// The retry policy.
    pub retry: RetryConfig,
    /// Rate and concurrency limits (a limiter of its own is built from them).
    pub limits: LimitConfig,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Most pages one [`AdminClient::collect`] follows before failing (default
    /// [`DEFAULT_MAX_PAGES`]: 2 million items at 100 a page).
    pub max_pages: u32,
}

impl AdminConfig {
    /// A configuration with the SCIM client's defaults (300 s timeout, 600 s deadline, 32 MiB
    /// cap, default retry and pacing, `baton-notion/<version>`).
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        AdminConfig {
            base_url: base_url.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryConfig::default(),
            limits: LimitConfig::default(),
            user_agent: concat!("baton-notion/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}

/// A Notion Admin API client. Cheap to clone; clones share the connection pool, the counters
/// and the pacing state.
///
/// ```no_run
/// # async fn demo() -> Result<(), baton_notion::notion::Error> {
/// use baton_notion::notion::admin::{AdminClient, AdminConfig, DEFAULT_ADMIN_BASE_URL};
/// use baton_notion::secret::Secret;
///
/// let admin = AdminClient::new(AdminConfig::new(DEFAULT_ADMIN_BASE_URL, Secret::new("adm_…")))?;
/// admin.validate().await?;
/// let spaces = admin.collect(|cursor| {
///     let admin = admin.clone();
///     async move { admin.spaces(cursor.as_deref()).await }
/// }).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AdminClient {
    inner: Arc<Transport>,
    /// The page ceiling of `collect`.
    max_pages: u32,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("base_url", &self.inner.base().as_str())
            .field("timeout", &self.inner.timeout())
            .field("user_agent", &self.inner.user_agent)
            .field("retry", self.inner.retry())
            .field("max_response_bytes", &self.inner.max_response_bytes())
            .field("request_deadline", &self.inner.request_deadline())
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// Builds a client: validates the base URL (`https`, or `http` on loopback only) and the
    /// token (not blank, sendable as a header; surrounding whitespace ignored). No request is
    /// made.
    pub fn new(cfg: AdminConfig) -> Result<AdminClient, Error> {
        let base = BaseUrl::parse_for("Admin API", &cfg.base_url)?;
        let (authorization, token) = bearer(&cfg.token).map_err(|problem| match problem {
            TokenProblem::Blank => Error::MissingAdminToken,
            TokenProblem::Malformed(reason) => Error::InvalidAdminToken { reason },
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(CONTENT_TYPE_JSON));
        headers.insert(
            HeaderName::from_static("notion-version"),
            HeaderValue::from_static(NOTION_VERSION),
        );
        let transport = Transport::new(TransportConfig {
            api: "Admin API",
            base,
            authorization,
            token,
            headers,
            content_type: CONTENT_TYPE_JSON,
            timeout: cfg.timeout,
            user_agent: cfg.user_agent,
            retry: cfg.retry,
            limits: cfg.limits,
            max_response_bytes: cfg.max_response_bytes,
            request_deadline: cfg.request_deadline,
            endpoints: AdminEndpoint::ALL.len(),
        })?;
        Ok(AdminClient {
            inner: Arc::new(transport),
            max_pages: cfg.max_pages.max(1),
        })
    }

    /// Checks the token with one cheap call, `GET /v1/spaces?page_size=1`. A token without
    /// `workspace:read` fails with a 403 naming that scope.
    pub async fn validate(&self) -> Result<(), Error> {
        let call = AdminCall::new(AdminEndpoint::ListSpaces, ["spaces"]).page(1, None);
        self.fetch_page(&call, 1, decode::space).await.map(|_| ())
    }

    /// `GET /v1/spaces`: the organization's live workspaces, by id.
    pub async fn spaces(&self, cursor: Option<&str>) -> Result<AdminPage<Space>, Error> {
        let call = AdminCall::new(AdminEndpoint::ListSpaces, ["spaces"]).page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, decode::space).await
    }

    /// `GET /v1/spaces/{space_id}/users`: active members and guest bots of a workspace (P1).
    pub async fn space_users(
        &self,
        space: &str,
        cursor: Option<&str>,
    ) -> Result<AdminPage<AdminUser>, Error> {
        let call = AdminCall::new(AdminEndpoint::ListSpaceUsers, ["spaces", space, "users"])
            .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, decode::user).await
    }

    /// `GET /v1/spaces/{space_id}/personal_access_tokens` with the given statuses (P2).
    ///
    /// Statuses are sent in bracket encoding, one pair each: `status[]=active&status[]=expired`
    /// (the spec's "bracket encoding", its usual reading). An empty list sends none (which
    /// statuses come back then is undocumented: ask explicitly).
    pub async fn personal_access_tokens(
        &self,
        space: &str,
        statuses: &[PatStatus],
        cursor: Option<&str>,
    ) -> Result<AdminPage<PersonalAccessToken>, Error> {
        let mut call = AdminCall::new(
            AdminEndpoint::ListPersonalAccessTokens,
            ["spaces", space, "personal_access_tokens"],
        )
        .page(PAGE_SIZE, None);
        for status in statuses {
            call = call.param("status[]", status.as_str());
        }
        if let Some(cursor) = cursor {
            call = call.param("cursor", cursor);
        }
        self.fetch_page(&call, PAGE_SIZE, decode::personal_access_token)
            .await
    }

    /// `GET /v1/mcp_client_connections`: every AI client connection of the organization (P2).
    pub async fn mcp_connections(
        &self,
        cursor: Option<&str>,
    ) -> Result<AdminPage<McpConnection>, Error> {
        let call = AdminCall::new(
            AdminEndpoint::ListMcpConnections,
            ["mcp_client_connections"],
        )
        .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, decode::mcp_connection)
            .await
    }

    /// `GET /v1/spaces/{space_id}/agents` (P4; `page_size=100` always sent — the default 25
    /// would quadruple the requests).
    pub async fn agents(
        &self,
        space: &str,
        cursor: Option<&str>,
    ) -> Result<AdminPage<Agent>, Error> {
        let call = AdminCall::new(AdminEndpoint::ListAgents, ["spaces", space, "agents"])
            .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, |v| decode::agent(v, space))
            .await
    }

    /// `GET /v1/spaces/{space_id}/agents/{agent_id}/permissions` (`cursor`; up to 250 a page,
    /// no `page_size` sent).
    pub async fn agent_permissions(
        &self,
        space: &str,
        agent: &str,
        cursor: Option<&str>,
    ) -> Result<AdminPage<AgentPermission>, Error> {
        let call = AdminCall::new(
            AdminEndpoint::ListAgentPermissions,
            ["spaces", space, "agents", agent, "permissions"],
        )
        .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, MAX_PERMISSIONS_PAGE, decode::agent_permission)
            .await
    }

    /// `GET /v1/spaces/{space_id}/groups` (P1).
    pub async fn groups(
        &self,
        space: &str,
        cursor: Option<&str>,
    ) -> Result<AdminPage<PermissionGroup>, Error> {
        let call = AdminCall::new(AdminEndpoint::ListGroups, ["spaces", space, "groups"])
            .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, decode::group).await
    }

    /// `GET /v1/spaces/{space_id}/groups/{group_id}/members` (P1).
    pub async fn group_members(
        &self,
        space: &str,
        group: &str,
        cursor: Option<&str>,
    ) -> Result<AdminPage<GroupMembership>, Error> {
        let call = AdminCall::new(
            AdminEndpoint::ListGroupMembers,
            ["spaces", space, "groups", group, "members"],
        )
        .page(PAGE_SIZE, cursor);
        self.fetch_page(&call, PAGE_SIZE, |v| decode::membership(v, group))
            .await
    }

    /// Follows cursors to the end: `fetch(None)` first, then each page's `next_cursor`. Refuses
    /// a cursor the server already gave in this listing (it would loop) and stops with an error
    /// at [`AdminConfig::max_pages`] pages (a listing that never ends). Items are not deduplicated:
    /// the connector decides what a repeated id means.
    pub async fn collect<T, F, Fut>(&self, fetch: F) -> Result<Vec<T>, Error>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<AdminPage<T>, Error>>,
    {
        collect_pages("an Admin API listing", self.max_pages, fetch).await
    }

    /// [`collect`](Self::collect), naming `what` is listed in its errors.
    pub async fn collect_as<T, F, Fut>(&self, what: &str, fetch: F) -> Result<Vec<T>, Error>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<AdminPage<T>, Error>>,
    {
        collect_pages(what, self.max_pages, fetch).await
    }

    /// Requests made so far by endpoint template, every endpoint included (zero when unused),
    /// e.g. `{"GET /v1/spaces/{space_id}/users": 3, …}`. Shared by clones.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        AdminEndpoint::ALL
            .iter()
            .map(|e| (e.template().to_owned(), self.inner.count(*e as usize)))
            .collect()
    }

    /// Attempts so far that repeated a failed one. Shared by clones.
    pub fn retries(&self) -> u64 {
        self.inner.retries()
    }

    /// What this client's pacing did so far. Shared by clones.
    pub fn pacing(&self) -> PacingStats {
        self.inner.pacing()
    }

    /// How many requests may be in flight at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        self.inner.base()
    }

    /// Sends `call` and returns the status and body of a 2xx answer.
    pub(super) async fn execute(
        &self,
        call: &AdminCall,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), Error> {
        self.inner.execute(call).await
    }

    /// Sends `call` and decodes its answer as a page of at most `max` items.
    async fn fetch_page<T>(
        &self,
        call: &AdminCall,
        max: usize,
        item: impl Fn(&Value) -> Result<T, Problem>,
    ) -> Result<AdminPage<T>, Error> {
        let (_, body) = self.execute(call).await?;
        // Not JSON at all: the shared decode error, which shows how the body starts.
        let value: Value = self
            .inner
            .decode(call, serde_json::from_slice(&body), &body)?;
        let style = call.endpoint.style().unwrap_or(super::endpoint::Style::P1);
        decode::page_value(&value, style, max, item)
            .map_err(|problem| self.decode_error(call, &problem))
    }

    /// An [`Error::Decode`] naming `call`, its detail bounded and scrubbed of the token.
    pub(super) fn decode_error(&self, call: &AdminCall, problem: &str) -> Error {
        Error::Decode {
            method: call.method_name(),
            endpoint: call.display(),
            detail: crate::text::message(problem, &self.inner.secrets()),
        }
    }
}

/// The cursor-following loop of [`AdminClient::collect`], with its guards.
pub(crate) async fn collect_pages<T, F, Fut>(
    what: &str,
    max_pages: u32,
    mut fetch: F,
) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<AdminPage<T>, Error>>,
{
    // Hashes, not the cursors: 20,000 distinct 8 KiB cursors would otherwise hold 160 MB. The
    // hasher's keys are random per listing, so a server cannot aim for a collision.
    let hasher = RandomState::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut out = Vec::new();
    let mut pages: u32 = 0;
    loop {
        let page = fetch(cursor.take()).await?;
        pages += 1;
        out.extend(page.items);
        let Some(next) = page.next_cursor else {
            return Ok(out);
        };
        let fail = |reason: &str| Error::AdminListing {
            what: crate::text::one_line(what),
            pages,
            reason: reason.to_owned(),
        };
        if !seen.insert(hasher.hash_one(&next)) {
            return Err(fail(
                "the server sent a cursor it had already sent (the listing would loop)",
            ));
        }
        if pages >= max_pages {
            return Err(fail(&format!(
                "the server kept sending pages past the ceiling of {max_pages} — refusing an endless listing"
            )));
        }
        cursor = Some(next);
    }
}
