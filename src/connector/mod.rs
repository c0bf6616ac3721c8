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
//! With an organization bot token the organization view ([`org`]) adds the Admin API's
//! workspaces, bots, personal access tokens, AI clients and agents, and widens `user` and
//! `group` to the whole organization; either token alone works.
//!
//! This module joins [`crate::notion`] (HTTP, SCIM models) and [`crate::baton`] (the runtime);
//! neither of those knows the other.

pub mod accounts;
pub mod actions;
pub mod groups;
pub mod lookup;
pub mod org;
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

/// The connector: the SCIM view, the organization view, or both, each a client plus per-type
/// syncers sharing it.
pub struct NotionConnector {
    scim: Option<ScimView>,
    org: Option<org::OrgView>,
}

/// The SCIM view: the SCIM client and its syncers.
struct ScimView {
    client: notion::Client,
    users: Arc<users::UserSyncer>,
    groups: Arc<groups::GroupSyncer>,
    roles: Arc<roles::RoleSyncer>,
}

/// The SCIM syncers the organization view builds on (SCIM users first; SCIM provisioning).
pub struct ScimSyncers {
    /// The SCIM user syncer.
    pub users: Arc<users::UserSyncer>,
    /// The SCIM group syncer.
    pub groups: Arc<groups::GroupSyncer>,
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
        let users = Arc::new(
            users::UserSyncer::new(client.clone(), seats.clone()).with_deprovision_mode(mode),
        );
        let groups = Arc::new(groups::GroupSyncer::new(client.clone()));
        // The engine lists the groups right after the users (the order of `syncers`).
        let primer: Arc<dyn paging::Prime> = groups.clone();
        users.then_list(Some(paging::NextListing::new(
            types::GROUP,
            Arc::downgrade(&primer),
        )));
        NotionConnector {
            scim: Some(ScimView {
                users,
                groups,
                roles: Arc::new(roles::RoleSyncer::new(client.clone(), seats)),
                client,
            }),
            org: None,
        }
    }

    /// The organization view alone: an admin token and no SCIM token (no roles, no
    /// provisioning).
    pub fn organization(admin: org::model::AdminClient) -> Self {
        NotionConnector {
            scim: None,
            org: Some(org::OrgView::new(admin, None)),
        }
    }

    /// This connector with the organization view over `admin` merged in.
    pub fn with_organization(mut self, admin: org::model::AdminClient) -> Self {
        // The organization view lists its own groups after the users: SCIM's are not next.
        if let Some(s) = &self.scim {
            s.users.then_list(None);
        }
        let scim = self.scim.as_ref().map(|s| ScimSyncers {
            users: s.users.clone(),
            groups: s.groups.clone(),
        });
        self.org = Some(org::OrgView::new(admin, scim));
        self
    }

    /// The SCIM client (request counters, for the summary), when a SCIM token is configured.
    pub fn client(&self) -> Option<&notion::Client> {
        self.scim.as_ref().map(|s| &s.client)
    }

    /// The Admin API client, when an admin token is configured.
    pub fn admin_client(&self) -> Option<&org::model::AdminClient> {
        self.org.as_ref().map(|o| o.admin())
    }

    /// Which views are configured.
    pub fn view(&self) -> schema::View {
        schema::View {
            scim: self.scim.is_some(),
            admin: self.org.is_some(),
        }
    }

    /// Warnings the syncers collected (unknown roles, `totalResults` drift).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(s) = &self.scim {
            w.extend(s.users.warnings());
            w.extend(s.groups.warnings());
        }
        if let Some(o) = &self.org {
            w.extend(o.warnings());
        }
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
        let description = if self.org.is_some() {
            "Syncs a Notion Enterprise organization through Notion's Admin API — workspaces, \
             members, guest bots, groups, personal access tokens, AI clients connected over \
             MCP and custom agents — with the members, groups and workspace roles SCIM shows."
        } else {
            "Syncs the members, groups and workspace roles of a Notion Enterprise \
             workspace through Notion's SCIM API."
        };
        v2::ConnectorMetadata {
            display_name: "Notion".to_owned(),
            description: description.to_owned(),
            capabilities: Some(schema::capabilities_for(self.view())),
            account_creation_schema: self.scim.is_some().then(provision::account_creation_schema),
            ..Default::default()
        }
    }

    async fn validate(&self) -> Result<Vec<Any>, ConnectorError> {
        if let Some(s) = &self.scim {
            s.client
                .service_provider_config()
                .await
                .map_err(map_error)?;
        }
        if let Some(admin) = self.admin_client() {
            admin.validate().await.map_err(org::admin_err)?;
        }
        Ok(Vec::new())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let roles = self
            .scim
            .as_ref()
            .map(|s| s.roles.clone() as Arc<dyn ResourceSyncer>);
        match (&self.scim, &self.org) {
            (_, Some(o)) => o.syncers(roles),
            (Some(s), None) => vec![s.users.clone(), s.groups.clone(), s.roles.clone()],
            (None, None) => Vec::new(),
        }
    }

    async fn create_account(
        &self,
        info: &v2::AccountInfo,
        credentials: Option<&v2::CredentialOptions>,
    ) -> Result<v2::CreateAccountResponse, ConnectorError> {
        match &self.scim {
            Some(s) => provision::create_account(&s.client, info, credentials).await,
            None => Err(ConnectorError::unimplemented(
                "creating accounts needs the SCIM token (the Admin API cannot add members)",
            )),
        }
    }

    fn actions(&self) -> Vec<crate::baton::actions::ActionDecl> {
        // Each action is declared only when the client it needs is configured.
        actions::declare(self.client(), self.admin_client())
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
            notion::Error::InvalidBaseUrl { .. }
            | notion::Error::MissingToken
            | notion::Error::MissingAdminToken
            | notion::Error::InvalidAdminToken { .. } => Code::InvalidArgument,
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
