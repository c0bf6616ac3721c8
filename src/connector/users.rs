//! Workspace members as `user` resources, and their workspace role as role grants.
//!
//! Mapping (one user record → one resource):
//! - login and primary email from `userName` (Notion's member email); other addresses are kept
//!   as secondary emails;
//! - status ENABLED unless `active` is false (deprovisioned members can still be listed);
//! - display name `name.formatted` → `givenName familyName` → `userName`;
//! - profile: `email`, `first_name`, `last_name`, `workspace_role`, `active`, and
//!   `role_source` = `scim` or `implied` (Notion left the role extension out, which means
//!   `member`).
//!
//! The role grant is emitted while listing the user's grants, from the role kept in the
//! profile: no extra request — and not at all when the calling sync does not store roles
//! ([`PageRequest::syncs`]), since its entitlement would be missing from the artifact. A role value this connector does not know is kept in the profile
//! and warned about once; it never fails a sync.
//!
//! Provisioning of the type: deprovisioning here ([`delete_user`]: `DELETE /Users/{id}`, or in
//! `suspend` mode `PATCH active=false`; a member already gone → success with
//! `ResourceDoesNotExist`; the token's owner → Notion's 403 as `PermissionDenied`); creating
//! accounts in [`super::accounts`].

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tracing::warn;

use super::lookup::{self as roles, IMPLIED_ROLE};
use super::paging::{self, Sessions};
use super::seats::{SeatTally, Seats};
use super::{lock, map_error, types, user_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue, UserSpec};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::notion::{self, PatchOp, User, UserId};
use crate::pb::v2;
use prost_types::Any;

/// Most distinct unknown roles warned about (a hostile server could send a new one per user).
const MAX_WARNED_ROLES: usize = 32;

/// Profile key holding the workspace role.
pub const ROLE_KEY: &str = "workspace_role";

/// Lists users through SCIM paging.
pub struct UserSyncer {
    client: notion::Client,
    sessions: Sessions<User>,
    warned_roles: Mutex<BTreeSet<String>>,
    drift: Mutex<Vec<String>>,
    deprovision: DeprovisionMode,
    seats: Arc<SeatTally>,
}

impl UserSyncer {
    /// A syncer over `client`.
    pub fn new(client: notion::Client, seats: Arc<SeatTally>) -> Self {
        // As many pages ahead as requests may be in flight: more could not go out sooner.
        let window = client.max_concurrency();
        UserSyncer {
            client,
            sessions: Sessions::with_window(window),
            warned_roles: Mutex::new(BTreeSet::new()),
            drift: Mutex::new(Vec::new()),
            deprovision: DeprovisionMode::default(),
            seats,
        }
    }

    /// Chooses how deleting a user deprovisions it.
    pub fn with_deprovision_mode(mut self, mode: DeprovisionMode) -> Self {
        self.deprovision = mode;
        self
    }

    /// Sets (or clears) the listing the engine asks for after the users, whose first page is
    /// fetched once the users' last page is on its way (see [`paging::NextListing`]).
    pub fn then_list(&self, next: Option<paging::NextListing>) {
        self.sessions.then(next);
    }

    /// Warnings for the run summary.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = lock(&self.warned_roles)
            .iter()
            .map(|r| {
                format!(
                    "unknown workspace role \"{r}\" kept in user profiles, no role grant emitted"
                )
            })
            .collect();
        out.extend(lock(&self.drift).iter().cloned());
        out
    }

    /// Warns once per unknown role. The role is server text: it is shown bounded and escaped,
    /// and at most [`MAX_WARNED_ROLES`] distinct ones are remembered.
    fn note_role(&self, role: &str) {
        if roles::role(role).is_some() {
            return;
        }
        let shown = crate::text::one_line(role);
        let mut warned = lock(&self.warned_roles);
        if warned.len() < MAX_WARNED_ROLES && warned.insert(shown.clone()) {
            warn!(
                role = %shown,
                "unknown Notion workspace role; kept in the user profile, no role grant"
            );
        }
    }
}

/// The `user` resource for a SCIM user.
pub fn user_resource(u: &User) -> v2::Resource {
    let (role, source) = match u.role.as_deref() {
        Some(r) if !r.is_empty() => (r.to_owned(), "scim"),
        _ => (IMPLIED_ROLE.to_owned(), "implied"),
    };
    let primary = if u.user_name.is_empty() {
        u.primary_email().unwrap_or_default().to_owned()
    } else {
        u.user_name.clone()
    };
    let mut emails: Vec<(String, bool)> = Vec::new();
    if !primary.is_empty() {
        emails.push((primary.clone(), true));
    }
    for e in &u.emails {
        if !e.value.is_empty() && !emails.iter().any(|(a, _)| a.eq_ignore_ascii_case(&e.value)) {
            emails.push((e.value.clone(), false));
        }
    }
    let name = u.name.as_ref();
    let given = name
        .and_then(|n| n.given_name.clone())
        .filter(|s| !s.is_empty());
    let family = name
        .and_then(|n| n.family_name.clone())
        .filter(|s| !s.is_empty());
    let active = u.active.unwrap_or(true);

    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("email", primary.clone().into()),
        (ROLE_KEY, role.into()),
        ("role_source", source.into()),
        ("active", active.into()),
        ("user_name", u.user_name.clone().into()),
    ];
    if let Some(g) = &given {
        fields.push(("first_name", g.clone().into()));
    }
    if let Some(f) = &family {
        fields.push(("last_name", f.clone().into()));
    }
    if let Some(t) = u.title.as_ref().filter(|t| !t.is_empty()) {
        fields.push(("title", t.clone().into()));
    }

    resource::user_resource(
        types::USER,
        UserSpec {
            id: u.id.to_string(),
            display_name: u.display_name(),
            emails,
            login: u.user_name.clone(),
            enabled: active,
            given_name: given,
            family_name: family,
            profile: resource::profile(fields),
        },
    )
}

#[async_trait]
impl ResourceSyncer for UserSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        user_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        let mut seats = Seats::default();
        let (listing, listed) = paging::scim_page(
            &self.sessions,
            page,
            "users",
            &self.drift,
            |req| {
                let client = self.client.clone();
                async move {
                    client
                        .users()
                        .list()
                        .start_index(req.start_index)
                        .count(req.count)
                        .send()
                        .await
                }
            },
            |u: &User| u.id.as_str(),
            |u| {
                if let Some(r) = u.role.as_deref() {
                    self.note_role(r);
                }
                let role = u.role.as_deref().filter(|r| !r.is_empty());
                seats.count(role.unwrap_or(IMPLIED_ROLE), u.active.unwrap_or(true));
                user_resource(u)
            },
        )
        .await?;
        self.seats.record(
            listing,
            page.token.is_empty(),
            seats,
            listed.next_token.is_empty(),
        );
        Ok(listed)
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        // `GET /Users/{id}`; a user that is gone answers 404, which maps to NotFound.
        let user = self
            .client
            .users()
            .get(&UserId::from(id.resource.clone()))
            .await
            .map_err(map_error)?;
        if let Some(r) = user.role.as_deref() {
            self.note_role(r);
        }
        Ok(user_resource(&user))
    }

    async fn entitlements(
        &self,
        _resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        // Users offer nothing to be granted (the type is marked SkipEntitlements).
        Ok(Page::empty())
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let Some(uid) = resource.id.as_ref() else {
            return Err(ConnectorError::invalid_argument(
                "the user resource has no id",
            ));
        };
        // A sync without roles would only drop the grant: do not make it.
        if !page.syncs(types::ROLE) {
            return Ok(Page::empty());
        }
        let role =
            resource::profile_str(resource.profile.as_ref(), ROLE_KEY).unwrap_or(IMPLIED_ROLE);
        let Some(r) = roles::role(role) else {
            self.note_role(role);
            return Ok(Page::empty());
        };
        let on = ids::resource_id(types::ROLE, r.id);
        Ok(Page::done(vec![resource::grant(&on, "assigned", uid)]))
    }

    async fn delete(&self, id: &v2::ResourceId) -> Result<Vec<Any>, ConnectorError> {
        delete_user(&self.client, id, self.deprovision).await
    }
}
/// How `DeleteResource` on a user deprovisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DeprovisionMode {
    /// `DELETE /Users/{id}`: the member leaves the workspace.
    #[default]
    Delete,
    /// `PATCH active=false`: the member is suspended and stays listed as disabled.
    Suspend,
}

/// Deprovisions a member.
pub async fn delete_user(
    client: &notion::Client,
    id: &v2::ResourceId,
    mode: DeprovisionMode,
) -> Result<Vec<Any>, ConnectorError> {
    let uid = UserId::from(id.resource.clone());
    let result = match mode {
        DeprovisionMode::Delete => client.users().delete(&uid).await,
        DeprovisionMode::Suspend => client
            .users()
            .patch(&uid, &PatchOp::set_active(false))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(Vec::new()),
        Err(e) if e.status() == Some(404) => Ok(vec![pack(&v2::ResourceDoesNotExist {})]),
        Err(e) => Err(map_error(e)),
    }
}
