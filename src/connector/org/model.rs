//! The Admin API model the organization view reads: a stand-in with the client contract's
//! names (`DESIGN` #14), replaced by a re-export of `crate::notion::admin` once that lands.

#![allow(missing_docs, dead_code)]

use std::collections::BTreeMap;
use std::future::Future;

use crate::notion::Error;

pub const DEFAULT_ADMIN_BASE_URL: &str = "https://api.notion.com/admin";

#[derive(Clone, Debug)]
pub struct AdminClient;

pub struct AdminPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

fn stub<T>() -> Result<T, Error> {
    Err(Error::MissingToken)
}

impl AdminClient {
    pub async fn validate(&self) -> Result<(), Error> {
        stub()
    }
    pub async fn spaces(&self, _c: Option<&str>) -> Result<AdminPage<Space>, Error> {
        stub()
    }
    pub async fn space_users(
        &self,
        _s: &str,
        _c: Option<&str>,
    ) -> Result<AdminPage<AdminUser>, Error> {
        stub()
    }
    pub async fn personal_access_tokens(
        &self,
        _s: &str,
        _st: &[PatStatus],
        _c: Option<&str>,
    ) -> Result<AdminPage<PersonalAccessToken>, Error> {
        stub()
    }
    pub async fn mcp_connections(
        &self,
        _c: Option<&str>,
    ) -> Result<AdminPage<McpConnection>, Error> {
        stub()
    }
    pub async fn agents(&self, _s: &str, _c: Option<&str>) -> Result<AdminPage<Agent>, Error> {
        stub()
    }
    pub async fn agent_permissions(
        &self,
        _s: &str,
        _a: &str,
        _c: Option<&str>,
    ) -> Result<AdminPage<AgentPermission>, Error> {
        stub()
    }
    pub async fn groups(
        &self,
        _s: &str,
        _c: Option<&str>,
    ) -> Result<AdminPage<PermissionGroup>, Error> {
        stub()
    }
    pub async fn group_members(
        &self,
        _s: &str,
        _g: &str,
        _c: Option<&str>,
    ) -> Result<AdminPage<GroupMembership>, Error> {
        stub()
    }
    pub async fn collect<T, F, Fut>(&self, mut fetch: F) -> Result<Vec<T>, Error>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<AdminPage<T>, Error>>,
    {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = fetch(cursor.take()).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
    pub fn retries(&self) -> u64 {
        0
    }
    pub fn max_concurrency(&self) -> usize {
        8
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub id: String,
    pub name: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminUser {
    pub id: String,
    pub name: Option<String>,
    pub kind: AdminUserKind,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminUserKind {
    Person { email: Option<String> },
    Bot,
    Other(String),
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatStatus {
    Active,
    Expired,
    Revoked,
    Other(String),
}
impl PatStatus {
    pub fn as_str(&self) -> &str {
        match self {
            PatStatus::Active => "active",
            PatStatus::Expired => "expired",
            PatStatus::Revoked => "revoked",
            PatStatus::Other(s) => s,
        }
    }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRef {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalAccessToken {
    pub id: String,
    pub creator: PersonRef,
    pub created_at: i64,
    pub status: PatStatus,
    pub name: Option<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpClient {
    pub key: String,
    pub name: Option<String>,
    pub client_type: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpConnection {
    pub client: McpClient,
    pub user_id: String,
    pub workspace_ids: Vec<String>,
    pub created_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub is_enterprise_managed: bool,
    pub idp_issuer: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub space_id: String,
    pub agent_type: String,
    pub alive: bool,
    pub status: String,
    pub name: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Group(String),
    Workspace(Option<String>),
}
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgentRole {
    ViewAndInteract,
    Edit,
    FullAccess,
    Other(String),
}
impl AgentRole {
    pub fn as_str(&self) -> &str {
        match self {
            AgentRole::ViewAndInteract => "view_and_interact",
            AgentRole::Edit => "edit",
            AgentRole::FullAccess => "full_access",
            AgentRole::Other(s) => s,
        }
    }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPermission {
    pub principal: Principal,
    pub role: AgentRole,
    pub resolved_role: Option<AgentRole>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionGroup {
    pub id: String,
    pub name: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRole {
    Owner,
    Member,
    Other(String),
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMembership {
    pub group_id: String,
    pub user_id: String,
    pub role: GroupRole,
}

pub struct AdminConfig {
    pub base_url: String,
    pub token: crate::secret::Secret,
    pub timeout: std::time::Duration,
    pub request_deadline: std::time::Duration,
    pub max_response_bytes: u64,
    pub retry: crate::notion::RetryConfig,
    pub limits: crate::notion::LimitConfig,
    pub user_agent: String,
}

impl AdminConfig {
    pub fn new(base_url: impl Into<String>, token: crate::secret::Secret) -> Self {
        AdminConfig {
            base_url: base_url.into(),
            token,
            timeout: std::time::Duration::from_secs(300),
            request_deadline: std::time::Duration::from_secs(600),
            max_response_bytes: 1 << 25,
            retry: crate::notion::RetryConfig::default(),
            limits: crate::notion::LimitConfig::default(),
            user_agent: String::new(),
        }
    }
}

impl AdminClient {
    pub fn new(_cfg: AdminConfig) -> Result<AdminClient, Error> {
        Ok(AdminClient)
    }
    pub fn pacing(&self) -> crate::notion::PacingStats {
        crate::notion::PacingStats {
            adaptive: true,
            ceiling: 0.0,
            rate: 0.0,
            peak_rate: 0.0,
            concurrency: 0,
            peak_concurrency: 0,
            rate_limited: 0,
            cuts: 0,
            paused: std::time::Duration::ZERO,
        }
    }
}
