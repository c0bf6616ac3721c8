//! Notion clients — SCIM 2.0 and the Admin API: typed calls, defensive paging and errors a user
//! can act on.
//!
//! This module is the only place that speaks HTTP to Notion. It knows SCIM (RFC 7643/7644),
//! Notion's quirks (`spec/notion-scim.md`) and the Admin API (`spec/notion-admin.md`), and
//! nothing about Baton: no protobufs, no resource types, no page tokens of the connector. The connector maps what it returns.
//!
//! # Layout
//! - [`client`] — [`Client`] and [`ClientConfig`]: the SCIM client (connection pool, bearer
//!   token, timeouts, counters), whose every request goes through the private `transport`.
//! - `transport` — the one request path both clients share: bounded body reads, the per-call
//!   deadline, pacing (each client its own limiter), the retry policy, counting by endpoint,
//!   debug logging without headers; each request type says how its error bodies read.
//! - [`admin`] — the Admin API client ([`admin::AdminClient`]): the organization view's reads
//!   and writes, both error families, the four paging styles.
//! - [`base_url`] — validation of the base URL (`https`, or `http` on loopback only) and joining
//!   paths under its prefix.
//! - [`users`], [`groups`] — handlers in the octocrab style: `client.users().list().count(100)
//!   .send()`, `client.groups().get(&id)`; list builders serialize themselves as the query string.
//! - [`paging`] — [`Pager`], a SCIM paging state machine with no HTTP in it: it advances by
//!   resources received, dedupes ids in a compact set and knows when to stop.
//! - [`models`] — [`User`], [`Group`], [`ListResponse`] and the id newtypes, deserialized
//!   leniently (live Notion responses omit or vary many fields).
//! - [`patch`] — RFC 7644 PatchOp bodies for the provisioning calls.
//! - [`error`] — [`Error`], keeping Notion's status, `scimType` and `detail` (parsed by the
//!   private `envelope` module, bounded and scrubbed of the token).
//! - [`retry`] — [`RetryConfig`] and the retry decisions (backon, jittered exponential backoff,
//!   `Retry-After`, safe writes).
//! - [`pacing`] — [`LimitConfig`]: adaptive (or pinned) request rate and in-flight limit, one
//!   state per client; the policy itself, on a fake clock, in [`pacing::policy`].
//!
//! # Invariants
//! - The token never appears in any `Debug`/`Display` output, error or log line. It lives in a
//!   [`Secret`](crate::secret::Secret) and is exposed once, to build the `Authorization` header
//!   (marked sensitive).
//! - Every request is counted by endpoint template ([`Client::request_counts`]) and logged at
//!   `debug` with method, endpoint, status and elapsed time — never headers.
//! - Every request passes its client's pacing ([`pacing`]) and the one retry policy ([`retry`]);
//!   [`Error::is_retryable`] is the classification both rely on.
#![deny(missing_docs)]

pub mod admin;
pub mod base_url;
pub mod client;
mod envelope;
pub mod error;
pub mod groups;
pub mod models;
pub mod pacing;
pub mod paging;
pub mod patch;
mod request;
pub mod retry;
mod stream;
mod transport;
pub mod users;

pub use base_url::BaseUrl;
pub use client::{
    Client, ClientConfig, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_DEADLINE,
    DEFAULT_TIMEOUT,
};
pub use error::{Error, parse_retry_after};
pub use groups::{Groups, ListGroups};
pub use models::{
    Email, EnterpriseUser, Group, GroupId, ListResponse, Manager, Member, Meta, Name, NewGroup,
    NewUser, User, UserId,
};
pub use pacing::{
    DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_REQUESTS_PER_SECOND, LimitConfig, Pacing, PacingStats,
};
pub use paging::{DEFAULT_MAX_PAGES, MAX_PAGE_SIZE, PageRequest, Pager, StopReason, TotalDrift};
pub use patch::{PATCH_OP_SCHEMA, PatchOp, PatchOperation};
pub use retry::RetryConfig;
pub use users::{ListUsers, Users, filter_eq};

/// The URN of Notion's user extension, whose `role` holds the workspace role.
pub const NOTION_USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";
/// The URN of the SCIM enterprise user extension (manager, department, …).
pub const ENTERPRISE_USER_EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The URN of the SCIM core user schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The URN of the SCIM core group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
