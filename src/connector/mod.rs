//! The Notion connector: maps a Notion workspace, as its SCIM API shows it, onto Baton's model.
//!
//! Three resource types (see `spec/baton.md`):
//! - `user` — workspace members ([`users`]); their workspace role is emitted as a role grant
//!   while listing the user's grants, so one pass over the users yields every role grant.
//! - `group` — Notion groups ([`groups`]) with one `member` entitlement; grants come from the
//!   member lists on the group list pages (no per-group or per-member requests).
//! - `role` — the four workspace roles ([`roles`]), one exclusion group of `assigned`
//!   entitlements.
//!
//! This module joins [`crate::notion`] (HTTP, SCIM models) and [`crate::baton`] (the runtime);
//! neither of those knows the other.

pub mod actions;
pub mod groups;
pub mod paging;
pub mod provision;
pub mod roles;
pub mod schema;
pub mod seats;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use prost_types::Any;

use crate::baton::{Code, Connector, ConnectorError, ResourceSyncer, resource};
use crate::notion;
use crate::pb::v2;

/// Resource type ids, an external contract (ConductorOne keys configuration on them).
pub mod types {
    /// Workspace members.
    pub const USER: &str = "user";
    /// Notion groups.
    pub const GROUP: &str = "group";
    /// Workspace roles.
    pub const ROLE: &str = "role";
}

/// The connector: a SCIM client plus per-type syncers sharing it.
pub struct NotionConnector {
    client: notion::Client,
    users: Arc<users::UserSyncer>,
    groups: Arc<groups::GroupSyncer>,
    roles: Arc<roles::RoleSyncer>,
}

impl NotionConnector {
    /// A connector over `client`.
    pub fn new(client: notion::Client) -> Self {
        Self::with_deprovision_mode(client, provision::DeprovisionMode::default())
    }

    /// A connector whose user deletion deprovisions in `mode`.
    pub fn with_deprovision_mode(client: notion::Client, mode: provision::DeprovisionMode) -> Self {
        // Users count the seats that roles report.
        let seats = Arc::new(seats::SeatTally::default());
        NotionConnector {
            users: Arc::new(
                users::UserSyncer::new(client.clone(), seats.clone()).with_deprovision_mode(mode),
            ),
            groups: Arc::new(groups::GroupSyncer::new(client.clone())),
            roles: Arc::new(roles::RoleSyncer::new(client.clone(), seats)),
            client,
        }
    }

    /// The SCIM client (request counters, for the summary).
    pub fn client(&self) -> &notion::Client {
        &self.client
    }

    /// Warnings the users syncer collected (unknown roles, `totalResults` drift).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = self.users.warnings();
        w.extend(self.groups.warnings());
        w
    }
}

/// The `user` resource type.
pub fn user_type() -> v2::ResourceType {
    resource::resource_type(
        types::USER,
        "User",
        &[v2::resource_type::Trait::User],
        vec![crate::baton::annotations::pack(&v2::SkipEntitlements {})],
    )
}

/// The `group` resource type.
pub fn group_type() -> v2::ResourceType {
    resource::resource_type(
        types::GROUP,
        "Group",
        &[v2::resource_type::Trait::Group],
        vec![],
    )
}

/// The `role` resource type: roles are also seat tiers (license profiles).
pub fn role_type() -> v2::ResourceType {
    resource::resource_type(
        types::ROLE,
        "Role",
        &[
            v2::resource_type::Trait::Role,
            v2::resource_type::Trait::LicenseProfile,
        ],
        vec![crate::baton::annotations::pack(&v2::SkipGrants {})],
    )
}

#[async_trait]
impl Connector for NotionConnector {
    fn metadata(&self) -> v2::ConnectorMetadata {
        v2::ConnectorMetadata {
            display_name: "Notion".to_owned(),
            description: "Syncs the members, groups and workspace roles of a Notion Enterprise \
                          workspace through Notion's SCIM API."
                .to_owned(),
            capabilities: Some(schema::capabilities()),
            account_creation_schema: Some(provision::account_creation_schema()),
            ..Default::default()
        }
    }

    async fn validate(&self) -> Result<Vec<Any>, ConnectorError> {
        self.client
            .service_provider_config()
            .await
            .map_err(map_error)?;
        Ok(Vec::new())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![self.users.clone(), self.groups.clone(), self.roles.clone()]
    }

    async fn create_account(
        &self,
        info: &v2::AccountInfo,
        credentials: Option<&v2::CredentialOptions>,
    ) -> Result<v2::CreateAccountResponse, ConnectorError> {
        provision::create_account(&self.client, info, credentials).await
    }

    fn actions(&self) -> Vec<crate::baton::actions::ActionDecl> {
        actions::declare(&self.client)
    }
}

/// Locks `m`, carrying on after a panic elsewhere: every mutex here guards plain data (caches,
/// warnings, pager state) that stays consistent between statements.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Maps a SCIM client error to the protocol code the Go SDK would answer with, keeping
/// Notion's own words in the message.
pub fn map_error(err: notion::Error) -> ConnectorError {
    let code = match err.status() {
        Some(400) => Code::InvalidArgument,
        Some(401) => Code::Unauthenticated,
        Some(403) => Code::PermissionDenied,
        Some(404) => Code::NotFound,
        Some(409) => Code::AlreadyExists,
        Some(_) if err.is_retryable() => Code::Unavailable,
        Some(s) if s >= 500 => Code::Unavailable,
        Some(_) => Code::Internal,
        None if err.is_retryable() => Code::Unavailable,
        None => match err {
            notion::Error::InvalidBaseUrl { .. } | notion::Error::MissingToken => {
                Code::InvalidArgument
            }
            _ => Code::Internal,
        },
    };
    let reset_after = err.retry_after();
    let mapped = ConnectorError::new(code, err.to_string());
    // A throttled answer's `Retry-After` travels on, so a gRPC caller waits exactly that long.
    match reset_after {
        Some(after) if code == Code::Unavailable => mapped.with_reset_after(after),
        _ => mapped,
    }
}
