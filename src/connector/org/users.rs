//! `user` resources with an admin token: one identity per Notion user id across SCIM and
//! every workspace.
//!
//! SCIM users come first, streamed exactly as without an admin token (their ids are noted);
//! then the persons only the Admin API lists — members of other workspaces — as enabled users
//! with the email the Admin API gives, display name name → email → id, and
//! `identity_source = admin_api` in the profile. SCIM's record wins for profile and status: a
//! person SCIM listed is not emitted again. Role grants stay SCIM's (the Admin API carries no
//! workspace role), so Admin-only persons have no grants.
//!
//! Page tokens: `s:<SCIM token>` while listing SCIM, `a:<offset>` for the Admin-only persons.
//!
//! While SCIM's users are paged, the Admin API's members of every workspace load in the
//! background: the two APIs have separate limits, and the Admin API pages by cursor, one round
//! trip after another, so waiting for SCIM first would put the two listings end to end.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use prost_types::Any;
use tokio_util::task::AbortOnDropHandle;

use super::no_such;
use super::slices::slice_iter;
use super::snapshot::{Person, Snapshot};
use crate::baton::resource::{self, ProfileValue, UserSpec};
use crate::baton::{Code, ConnectorError, Page, PageRequest, ResourceSyncer};
use crate::connector::users::UserSyncer;
use crate::connector::{lock, types as scim_types, user_type};
use crate::pb::v2;

/// Profile key marking a user only the Admin API lists.
pub const SOURCE_KEY: &str = "identity_source";
/// Its value.
pub const ADMIN_SOURCE: &str = "admin_api";

const SCIM_PHASE: &str = "s:";
const ADMIN_PHASE: &str = "a:";

/// Lists SCIM users, then the persons only the Admin API knows.
pub struct OrgUserSyncer {
    snapshot: Arc<Snapshot>,
    scim: Option<Arc<UserSyncer>>,
    /// The background load of the Admin API's members (see the module docs); dropping it stops
    /// it.
    warming: Mutex<Option<AbortOnDropHandle<()>>>,
}

impl OrgUserSyncer {
    /// A syncer over `snapshot`, after `scim`'s users when a SCIM token is configured.
    pub fn new(snapshot: Arc<Snapshot>, scim: Option<Arc<UserSyncer>>) -> Self {
        OrgUserSyncer {
            snapshot,
            scim,
            warming: Mutex::new(None),
        }
    }

    /// Starts loading the members of every workspace while SCIM's users are listed. What
    /// fails here is not kept: the Admin phase of the listing loads them again and reports the
    /// error. (Loading the groups with their members too, the next listing, measured no
    /// faster on the bench's organization.)
    fn warm_up(&self) {
        let snapshot = self.snapshot.clone();
        let task = tokio::spawn(async move {
            let _ = snapshot.people().await;
        });
        *lock(&self.warming) = Some(AbortOnDropHandle::new(task));
    }

    /// Warnings for the run summary (the SCIM syncer's).
    pub fn warnings(&self) -> Vec<String> {
        self.scim.as_ref().map(|s| s.warnings()).unwrap_or_default()
    }

    async fn admin_page(
        &self,
        token: &str,
        size: u32,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        let people = self.snapshot.people().await?;
        let only_admin = || {
            people
                .persons
                .iter()
                .filter(|(id, _)| !self.snapshot.scim_saw(id))
        };
        let len = only_admin().count();
        let (items, next) = slice_iter(only_admin(), len, token, size)?;
        let next = if next.is_empty() {
            next
        } else {
            format!("{ADMIN_PHASE}{next}")
        };
        Ok(Page::more(
            items
                .into_iter()
                .map(|(id, p)| admin_user_resource(id, p))
                .collect(),
            next,
        ))
    }
}

/// The `user` resource for a person only the Admin API lists.
pub fn admin_user_resource(id: &str, p: &Person) -> v2::Resource {
    let email = p.email.clone().filter(|e| !e.is_empty());
    let name = p.name.clone().filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> =
        vec![(SOURCE_KEY, ADMIN_SOURCE.into()), ("active", true.into())];
    if let Some(e) = &email {
        fields.push(("email", e.clone().into()));
    }
    if let Some(n) = &name {
        fields.push(("name", n.clone().into()));
    }
    resource::user_resource(
        scim_types::USER,
        UserSpec {
            id: id.to_owned(),
            display_name: name
                .or_else(|| email.clone())
                .unwrap_or_else(|| id.to_owned()),
            emails: email.iter().map(|e| (e.clone(), true)).collect(),
            login: email.unwrap_or_default(),
            enabled: true,
            given_name: None,
            family_name: None,
            profile: resource::profile(fields),
        },
    )
}

#[async_trait]
impl ResourceSyncer for OrgUserSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        user_type()
    }

    async fn list(
        &self,
        parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        let scim_token = if page.token.is_empty() {
            self.scim.is_some().then_some("")
        } else {
            page.token.strip_prefix(SCIM_PHASE)
        };
        let (Some(scim), Some(inner)) = (&self.scim, scim_token) else {
            let inner = page.token.strip_prefix(ADMIN_PHASE).unwrap_or(&page.token);
            return self.admin_page(inner, page.size).await;
        };
        if inner.is_empty() {
            self.snapshot.clear_scim_seen();
            self.warm_up();
        }
        let req = PageRequest {
            token: inner.to_owned(),
            ..page.clone()
        };
        let mut listed = scim.list(parent, &req).await?;
        self.snapshot.note_scim_ids(
            listed
                .items
                .iter()
                .filter_map(|r| r.id.as_ref().map(|i| i.resource.as_str())),
        );
        listed.next_token = if listed.next_token.is_empty() {
            ADMIN_PHASE.to_owned()
        } else {
            format!("{SCIM_PHASE}{}", listed.next_token)
        };
        Ok(listed)
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        if let Some(scim) = &self.scim {
            match scim.get(id, parent).await {
                Err(e) if e.code == Code::NotFound => {}
                other => return other,
            }
        }
        let people = self.snapshot.people().await?;
        people
            .persons
            .get(&id.resource)
            .map(|p| admin_user_resource(&id.resource, p))
            .ok_or_else(|| no_such("user", &id.resource, " in SCIM or any workspace"))
    }

    async fn entitlements(
        &self,
        _resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        Ok(Page::empty())
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let admin_only =
            resource::profile_str(resource.profile.as_ref(), SOURCE_KEY) == Some(ADMIN_SOURCE);
        match &self.scim {
            Some(scim) if !admin_only => scim.grants(resource, page).await,
            _ => Ok(Page::empty()),
        }
    }

    async fn delete(&self, id: &v2::ResourceId) -> Result<Vec<Any>, ConnectorError> {
        match &self.scim {
            Some(scim) => scim.delete(id).await,
            None => Err(ConnectorError::unimplemented(
                "deleting a user needs the SCIM token (the Admin API cannot remove members)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_only_people_are_enabled_with_their_email() {
        let r = admin_user_resource(
            "u9",
            &Person {
                name: None,
                email: Some("x@y.test".into()),
            },
        );
        assert_eq!(r.display_name, "x@y.test");
        assert_eq!(
            resource::profile_str(r.profile.as_ref(), SOURCE_KEY),
            Some(ADMIN_SOURCE)
        );
        assert_eq!(
            r.status.expect("status").status,
            v2::status::ResourceStatus::Enabled as i32
        );
        let r = admin_user_resource("u8", &Person::default());
        assert_eq!(r.display_name, "u8");
    }
}
