//! Notion Admin API client: typed reads (and the writes of issue #15) over the transport the
//! SCIM client uses.
//!
//! The Admin API (`spec/notion-admin.md`) sees a whole Enterprise organization with one
//! organization bot token: its workspaces, members and guest bots, personal access tokens,
//! AI clients connected over MCP, custom agents with their permissions, and permission groups.
//! Like the rest of [`crate::notion`], this module knows nothing of Baton.
//!
//! # Layout
//! - [`client`] — [`AdminClient`], [`AdminConfig`] and the reads; `collect` follows cursors with
//!   the hostile-input guards.
//! - `endpoint` — every endpoint with its template (request counting), required scope and
//!   paging style, and the request type the shared transport sends.
//! - `decode` — lenient decoding of items and pages (all four paging styles).
//! - [`models`] — the typed values.
//! - [`error`] — [`AdminError`]: both error families, the scope named on a 403.
//! - `writes` — revoke PAT/session/MCP connection, agent permissions and status, group members.
//!
//! # Decisions (where the spec leaves it open)
//! - PAT statuses are sent in bracket encoding: `status[]=active&status[]=expired`.
//! - `page_size=100` is sent on every listing that takes it (the P2 "string" `page_size` and the
//!   integers of P1/P4 look the same in a query string); agent permissions take none (the server
//!   pages them by up to 250).
//! - Agent-permission writes send the endpoint sample's principal form,
//!   `{"type":"user","user_id":…}` / `{"type":"group","group_id":…}` / `{"type":"workspace"}`;
//!   reads accept every form (flat or nested under `principal`, `id` or `<type>_id`).
//! - A repeat PAT revoke answered 404 is [`Revoked::AlreadyGone`], not an error.
#![deny(missing_docs)]

pub mod client;
mod decode;
mod endpoint;
pub mod error;
pub mod models;
#[cfg(test)]
mod tests;
mod writes;

pub use client::{AdminClient, AdminConfig, DEFAULT_ADMIN_BASE_URL, NOTION_VERSION};
pub use error::{AdminError, ErrorFamily};
pub use models::{
    AdminPage, AdminUser, AdminUserKind, Agent, AgentPermission, AgentRole, GroupMembership,
    GroupRole, McpClient, McpConnection, PatStatus, PermissionGroup, PersonRef,
    PersonalAccessToken, Principal, Revoked, Space,
};
pub use writes::{AdminWrite, AgentStatus, PermissionChange, WritePreview};
