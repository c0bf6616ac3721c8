//! A Notion SCIM 2.0 simulator: a real HTTP server (axum) that answers like Notion's
//! `/scim/v2` API, for tests, benchmarks and `baton-notion demo` — and, given an organization,
//! Notion's Admin API (`/admin/v1/…`, see [`admin`]) on the same port.
//!
//! It is faithful to `spec/notion-scim.md` — bearer auth, 1-based paging capped at 100, Notion's
//! filter names, the role extension, digit-string timestamps, string `status` in error
//! envelopes — and can be told to misbehave in the ways that spec warns about. It shares no code
//! with `crate::notion` (the client it tests): the two agree only on the wire.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use baton_notion::sim::{Dataset, SimConfig, Simulator};
//!
//! let sim = Simulator::start(Dataset::reference(), SimConfig::default(), 0).await?;
//! // point a client at sim.base_url() with `Authorization: Bearer sim-token` …
//! assert_eq!(sim.counters().get("GET /Users"), None);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The Admin API
//! Set [`SimConfig::organization`] (e.g. `Some(admin::Organization::reference(&dataset))` or
//! [`admin::Organization::generate`]) and keep calling [`Simulator::start`]: the organization is
//! moved into the live state, and its SCIM workspace *is* `dataset` (same user and group ids;
//! SCIM writes show in the Admin view). Clients use [`SimHandle::admin_base_url`]
//! (`http://<addr>/admin`), a token of [`SimConfig::admin_tokens`] (default
//! [`DEFAULT_ADMIN_TOKEN`] with every scope) and `Notion-Version: 2026-06-01`.
//! [`SimHandle::organization`] returns the organization as currently served. Without an
//! organization, `/admin/…` paths answer 404 like any unknown path. Admin requests are counted
//! under full templates such as `GET /admin/v1/spaces/{space_id}/users`; the rate limits and
//! faults of [`SimConfig`] apply to them too (each token has its own bucket).
//!
//! # Layout
//! - `admin`: the Admin API — organization data and generation, views, paging, JSON, handlers.
//! - `dataset`: [`Dataset`], [`SimUser`], [`SimGroup`]; the reference workspace and seeded
//!   generation ([`GenSpec`]).
//! - `config`: [`SimConfig`], the knobs (token, page size, latency, quirks, faults).
//! - `server`: [`Simulator`] and [`SimHandle`]; the listener, the front-door middleware (auth,
//!   latency, counting, `die_after_requests`) and graceful shutdown.
//! - `listener`: the TCP listener whose connections carry a kill switch (drops without a
//!   response).
//! - `handlers`: the endpoint table and the read endpoints; write endpoints slot in there.
//! - `filter`: the `attribute eq "value"` filters Notion supports.
//! - `scim_json`: the JSON shapes, serialized straight from borrowed data.
//! - `store`: the live workspace behind an `RwLock`, with lazily built id indexes.
//! - `faults`: deterministic, seeded fault injection (429s, 5xx, dropped connections, malformed
//!   bodies, latency jitter, `totalResults` drift, churn between pages, shuffled pages).
//! - `counters`: per-endpoint request counts and the recent-request log ([`RecordedRequest`]).
//! - `ratelimit`: enforced limits — a token bucket per token and a cap on requests in flight,
//!   answered with 429 and an honest `Retry-After` (or, for the cap, by queueing).
//!
//! # Endpoints
//! All under `/scim/v2`, all requiring `Authorization: Bearer <token>` (else 401):
//! `GET /ServiceProviderConfig`, `GET /ResourceTypes`, `GET /Users`, `GET /Users/{id}`,
//! `GET /Groups`, `GET /Groups/{id}`. Anything else gets a 404 SCIM envelope whose `detail`
//! names the request (`no simulator route for POST /scim/v2/Foo`) and is counted as
//! [`UNMATCHED`].
//!
//! # Invariants
//! - Lists are in dataset order, stable between requests; list handling is O(page) unless a
//!   filter is given.
//! - Every request is counted exactly once, before its response leaves the server.
//! - The simulator never logs the token it accepts or the one it was sent.

pub mod admin;
mod config;
mod counters;
mod dataset;
mod faults;
mod filter;
mod handlers;
mod listener;
mod ratelimit;
mod scim_json;
mod server;
mod store;
mod writes;

pub use config::{DEFAULT_ADMIN_TOKEN, PrincipalForm, SimAdminToken, SimConfig};
pub use counters::{MAX_RECORDED_REQUESTS, RecordedRequest, UNMATCHED};
pub use dataset::{
    Dataset, GenSpec, ROLE_MEMBER, ROLE_MEMBERSHIP_ADMIN, ROLE_OWNER, ROLE_RESTRICTED_MEMBER,
    SimGroup, SimUser,
};
pub use scim_json::{
    ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, NOTION_USER_EXTENSION, USER_SCHEMA,
};
pub use server::{SHUTDOWN_GRACE, SimHandle, Simulator};
