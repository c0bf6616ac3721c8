//! What the Admin API returns, as plain typed values (decoded leniently by the private
//! `decode` module).
//!
//! Timestamps are epoch milliseconds, as the API sends them. Ids are kept byte for byte (group
//! ids are not UUIDs; MCP client keys are opaque).

/// One page of a listing; `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPage<T> {
    /// The page's items, in the server's order.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` = this was the last page.
    pub next_cursor: Option<String>,
}

/// A workspace of the organization (`GET /v1/spaces`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// The space UUID.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
}

/// A member or guest bot of a workspace (`GET /v1/spaces/{id}/users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    /// The Notion user UUID (the same id SCIM uses).
    pub id: String,
    /// The display name.
    pub name: Option<String>,
    /// Person or bot.
    pub kind: AdminUserKind,
}

/// The `type` of an [`AdminUser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminUserKind {
    /// A person (a member of the workspace).
    Person {
        /// `person.email`, when given.
        email: Option<String>,
    },
    /// A guest bot.
    Bot,
    /// A type this client does not know (kept as sent; empty when absent).
    Other(String),
}

/// A personal access token's `status`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatStatus {
    /// Usable.
    Active,
    /// Past `expires_at`.
    Expired,
    /// Revoked (history).
    Revoked,
    /// A status this client does not know.
    Other(String),
}

impl PatStatus {
    /// The status as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            PatStatus::Active => "active",
            PatStatus::Expired => "expired",
            PatStatus::Revoked => "revoked",
            PatStatus::Other(s) => s,
        }
    }

    /// From the API's spelling.
    pub fn parse(s: &str) -> PatStatus {
        match s {
            "active" => PatStatus::Active,
            "expired" => PatStatus::Expired,
            "revoked" => PatStatus::Revoked,
            other => PatStatus::Other(other.to_owned()),
        }
    }
}

/// A person referred to by another object (a PAT's creator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    /// The Notion user UUID.
    pub id: String,
    /// The name, when given.
    pub name: Option<String>,
    /// The email, when given.
    pub email: Option<String>,
}

/// A personal access token (the token value is never returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccessToken {
    /// The PAT UUID (the `{bot_id}` of the revoke call).
    pub id: String,
    /// The member who created it; it acts with their permissions.
    pub creator: PersonRef,
    /// Creation time, epoch ms (0 when the server sent none).
    pub created_at: i64,
    /// Active, expired or revoked.
    pub status: PatStatus,
    /// Its name.
    pub name: Option<String>,
    /// Expiry, epoch ms.
    pub expires_at: Option<i64>,
    /// Last use, epoch ms (updated at most hourly).
    pub last_used_at: Option<i64>,
    /// Revocation time, epoch ms.
    pub revoked_at: Option<i64>,
}

/// The AI client of an MCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpClient {
    /// Stable, opaque key (used to revoke); may hold `:` or `/`.
    pub key: String,
    /// Display name.
    pub name: Option<String>,
    /// `claude`, `chatgpt`, `cursor`, …
    pub client_type: Option<String>,
}

/// An AI client a member connected over MCP (grouped by member, client and settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpConnection {
    /// The client.
    pub client: McpClient,
    /// The member who connected it.
    pub user_id: String,
    /// The workspaces it reaches.
    pub workspace_ids: Vec<String>,
    /// Earliest connection, epoch ms.
    pub created_at: Option<i64>,
    /// Last activity, epoch ms.
    pub last_active_at: Option<i64>,
    /// Managed by the enterprise.
    pub is_enterprise_managed: bool,
    /// The identity provider's issuer, when given.
    pub idp_issuer: Option<String>,
}

/// An agent of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The agent UUID.
    pub id: String,
    /// Its workspace (the space listed, when the item does not say).
    pub space_id: String,
    /// `custom` or `database_autofill` (empty when absent).
    pub agent_type: String,
    /// False once deleted.
    pub alive: bool,
    /// `active`, `deleted`, `credit_limit`, … (empty when absent).
    pub status: String,
    /// Its name (`name`, or `metadata.name`).
    pub name: Option<String>,
}

/// Who an agent permission is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// A user, by id.
    User(String),
    /// A permission group, by id.
    Group(String),
    /// The workspace (its id, when the entry gives one).
    Workspace(Option<String>),
}

/// An agent role, ordered from least to most access.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentRole {
    /// May use the agent.
    ViewAndInteract,
    /// May edit it.
    Edit,
    /// May do anything with it.
    FullAccess,
    /// A role this client does not know.
    Other(String),
}

impl AgentRole {
    /// The role as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            AgentRole::ViewAndInteract => "view_and_interact",
            AgentRole::Edit => "edit",
            AgentRole::FullAccess => "full_access",
            AgentRole::Other(s) => s,
        }
    }

    /// From the API's spelling.
    pub fn parse(s: &str) -> AgentRole {
        match s {
            "view_and_interact" => AgentRole::ViewAndInteract,
            "edit" => AgentRole::Edit,
            "full_access" => AgentRole::FullAccess,
            other => AgentRole::Other(other.to_owned()),
        }
    }
}

/// One entry of an agent's permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPermission {
    /// Who.
    pub principal: Principal,
    /// The role granted.
    pub role: AgentRole,
    /// The effective role, when the server says.
    pub resolved_role: Option<AgentRole>,
}

/// A permission group of a workspace (the same id as SCIM's group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGroup {
    /// The group id, byte for byte (not a UUID).
    pub id: String,
    /// Its name.
    pub name: Option<String>,
}

/// A member's role in a permission group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupRole {
    /// Owns the group.
    Owner,
    /// A member.
    Member,
    /// A role this client does not know.
    Other(String),
}

impl GroupRole {
    /// The role as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            GroupRole::Owner => "owner",
            GroupRole::Member => "member",
            GroupRole::Other(s) => s,
        }
    }

    /// From the API's spelling.
    pub fn parse(s: &str) -> GroupRole {
        match s {
            "owner" => GroupRole::Owner,
            "member" => GroupRole::Member,
            other => GroupRole::Other(other.to_owned()),
        }
    }
}

/// A user's membership of a permission group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembership {
    /// The group (the group listed, when the item does not say).
    pub group_id: String,
    /// The member.
    pub user_id: String,
    /// Owner or member.
    pub role: GroupRole,
}

/// Outcome of revoking a personal access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now.
    Revoked,
    /// Notion answered 404: it was already revoked or never existed.
    AlreadyGone,
}
