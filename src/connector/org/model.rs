//! The Admin API model the organization view reads: the client's types, named in one place so
//! the view's modules share one import path.

pub use crate::notion::admin::{
    AdminClient, AdminConfig, AdminPage, AdminUser, AdminUserKind, Agent, AgentPermission,
    AgentRole, DEFAULT_ADMIN_BASE_URL, GroupMembership, GroupRole, McpClient, McpConnection,
    PatStatus, PermissionGroup, PersonRef, PersonalAccessToken, Principal, Space,
};
