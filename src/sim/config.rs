//! How a simulator behaves: the accepted token, page size, latency, and the quirks and faults it
//! injects.
//!
//! Every knob defaults to "a well-behaved Notion": token `sim-token`, 100-item pages, no latency,
//! no quirks, no faults. Each quirk reproduces a behaviour listed in `spec/notion-scim.md` (or a
//! failure seen in other SCIM servers) that a robust client must survive.

use std::time::Duration;

use super::admin::{ALL_SCOPES, Organization};

/// Bearer token the Admin API accepts by default.
pub const DEFAULT_ADMIN_TOKEN: &str = "sim-admin-token";

/// An organization bot token the simulator's Admin API accepts, with its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAdminToken {
    /// The bearer token (compared exactly; never logged).
    pub token: String,
    /// Scopes (`resource:capability`); an endpoint whose scope is missing answers 403.
    pub scopes: Vec<String>,
}

impl SimAdminToken {
    /// A token holding every scope the spec names.
    pub fn all_scopes(token: &str) -> SimAdminToken {
        SimAdminToken {
            token: token.to_owned(),
            scopes: ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// How agent permission principals are *sent* (every form is accepted in requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalForm {
    /// The endpoint's request sample: `{"type":"group","group_id":…}` (`user_id`,
    /// `workspace_id`).
    #[default]
    TypedId,
    /// The OpenAPI summary's reading: `{"type":"group","id":…}`.
    Id,
}

/// Behaviour of a [`Simulator`](super::Simulator); see each field. `Default` is well-behaved.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Bearer token the simulator accepts (`Authorization: Bearer <token>`); default `"sim-token"`.
    pub token: String,
    /// Largest page served (Notion's cap is 100). A larger `count` is clamped; no `count` → this.
    pub max_page_size: u32,
    /// Quirk: `itemsPerPage` echoes the effective requested `count` instead of the number of
    /// resources actually returned.
    pub echo_count_in_items_per_page: bool,
    /// Quirk: a `startIndex` past the end returns the first page again (reporting `startIndex` 1)
    /// instead of an empty page.
    pub repeat_first_page_past_end: bool,
    /// Quirk: `/Groups` list pages leave out `members`; clients must `GET /Groups/{id}` for them.
    pub omit_group_members_in_list: bool,
    /// Delay added to every request before it is handled (cut short by shutdown).
    pub latency: Duration,
    /// Fault: the list page at (`"/Users"` or `"/Groups"`, `startIndex`) answers 200 with
    /// truncated JSON, every time it is asked for.
    pub malformed_json_at: Option<(String, u32)>,
    /// Fault: after serving this many requests, every later request has its connection dropped
    /// without any HTTP response (the client sees a connection error, never a status).
    pub die_after_requests: Option<u64>,
    /// User ids served without the Notion role extension (clients should treat them as members).
    pub omit_role_for: Vec<String>,
    /// Seed of every fault decision (see `faults.rs`: a request's fate depends only on the seed,
    /// the request and how often it was seen). Default 1.
    pub fault_seed: u64,
    /// Fault: share of requests (0.0–1.0) answered 429 with `Retry-After`.
    pub rate_limit_share: f64,
    /// Fault: the first this-many tries of every distinct request (same method, path and query)
    /// are answered 429 with `Retry-After`; later tries are served. Default 0.
    pub rate_limit_first_tries: u64,
    /// The `Retry-After` of injected 429s, in whole seconds (default 1).
    pub retry_after_secs: u64,
    /// Fault: share of requests (0.0–1.0) answered with a 5xx from `server_error_statuses`.
    pub server_error_share: f64,
    /// Statuses injected by `server_error_share` (default 500, 502, 503; note that clients do not
    /// retry 500).
    pub server_error_statuses: Vec<u16>,
    /// Fault: share of requests (0.0–1.0) whose connection is dropped without a response.
    pub drop_connection_share: f64,
    /// Fault: share of requests (0.0–1.0) that are handled (a write takes effect) but whose
    /// response is lost: the connection is dropped instead of answering.
    pub lose_response_share: f64,
    /// Fault: share of 2xx answers (0.0–1.0) whose JSON body is cut in half.
    pub malformed_json_share: f64,
    /// Fault: share of 2xx answers (0.0–1.0) whose body trickles out in 4 chunks,
    /// `slow_body_delay` apart (headers go out at once).
    pub slow_body_share: f64,
    /// Pause before each chunk of a slow body (default 100 ms).
    pub slow_body_delay: Duration,
    /// Extra latency per request, uniform in `0..=latency_jitter`, on top of `latency`.
    pub latency_jitter: Duration,
    /// Fault: added to `totalResults` on every list page after the first (may be negative).
    pub total_results_drift: i64,
    /// Fault: after each unfiltered `/Users` list page, this many users are removed and as many
    /// new members inserted, at random positions (groups lose removed members).
    pub churn_users_per_page: usize,
    /// Fault: the resources of each list page come in a random order (new per request).
    pub shuffle_pages: bool,
    /// Quirk: `/Users` filter attributes answered with 400 `invalidFilter`, compared
    /// case-insensitively (e.g. `userName`, which Notion does not document as filterable).
    pub refuse_user_filters: Vec<String>,
    /// Limit: requests per second per bearer token (a token bucket, see `ratelimit.rs`);
    /// beyond it, 429 with an honest `Retry-After`. `None`: no limit.
    pub rate_limit: Option<f64>,
    /// Limit: the token bucket's size, the requests that may go back to back (default: one
    /// second's worth of `rate_limit`).
    pub rate_limit_burst: Option<u32>,
    /// Limit: requests in flight at once; beyond it, 429 with `Retry-After: 1` (or a wait,
    /// with `rate_limit_concurrency_queue`). `None`: no limit.
    pub rate_limit_concurrency: Option<u32>,
    /// Requests beyond `rate_limit_concurrency` wait for a slot (slow answers) instead of 429.
    pub rate_limit_concurrency_queue: bool,
    /// The organization the Admin API (`/admin/v1/…`) serves; `None`: no Admin API (its paths
    /// answer 404 like any unknown path). Moved into the live state when the simulator starts
    /// ([`SimHandle::organization`](super::SimHandle::organization) shows it), so
    /// [`SimHandle::config`](super::SimHandle::config) reports `None` here.
    pub organization: Option<Organization>,
    /// Organization bot tokens the Admin API accepts (default: `sim-admin-token` with every
    /// scope). Each token has its own rate-limit bucket; the SCIM `token` is not one of them.
    pub admin_tokens: Vec<SimAdminToken>,
    /// How agent permission principals are sent (default: the request sample's `<type>_id`).
    pub admin_principal_form: PrincipalForm,
    /// Agent permission entries are sent flat (`{type, user_id, role, resolved_role}`) instead
    /// of nested under `principal` (default: nested).
    pub admin_flat_permissions: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            token: "sim-token".to_owned(),
            max_page_size: 100,
            echo_count_in_items_per_page: false,
            repeat_first_page_past_end: false,
            omit_group_members_in_list: false,
            latency: Duration::ZERO,
            malformed_json_at: None,
            die_after_requests: None,
            omit_role_for: Vec::new(),
            fault_seed: 1,
            rate_limit_share: 0.0,
            rate_limit_first_tries: 0,
            retry_after_secs: 1,
            server_error_share: 0.0,
            server_error_statuses: vec![500, 502, 503],
            drop_connection_share: 0.0,
            lose_response_share: 0.0,
            malformed_json_share: 0.0,
            slow_body_share: 0.0,
            slow_body_delay: Duration::from_millis(100),
            latency_jitter: Duration::ZERO,
            total_results_drift: 0,
            churn_users_per_page: 0,
            shuffle_pages: false,
            refuse_user_filters: Vec::new(),
            rate_limit: None,
            rate_limit_burst: None,
            rate_limit_concurrency: None,
            rate_limit_concurrency_queue: false,
            organization: None,
            admin_tokens: vec![SimAdminToken::all_scopes(DEFAULT_ADMIN_TOKEN)],
            admin_principal_form: PrincipalForm::TypedId,
            admin_flat_permissions: false,
        }
    }
}
