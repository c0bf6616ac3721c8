//! Notion groups as `group` resources with a `member` entitlement.
//!
//! Group list pages carry each group's members, so the grants of a group come from the page
//! that listed it: the member ids are parked in memory when the page arrives and handed out
//! (and forgotten) when the group's grants are asked for. Only when a page leaves `members`
//! out, or grants are asked for a group this process did not list, does the syncer fall back
//! to `GET /Groups/{id}`. Members whose `type` says they are not users (nested groups) are
//! skipped; a member without `type` is a user.
//!
//! Provisioning (`grant`/`revoke` on `member`; the Go connector cannot do this): `add` on
//! `members` and `remove` on `members[value eq "…"]` — never a replace of the whole list, which
//! races with other writers and is refused when it would strand pages. Already a member →
//! `GrantAlreadyExists`; not a member (or the group is gone) → `GrantAlreadyRevoked`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::future::BoxFuture;

use super::lookup::{grant_user, group_members, id_of, user_principal};
use super::paging::{self, Prime, Sessions};
use super::{group_type, lock, map_error, types, user_type};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::notion::{self, Group, GroupId, ListResponse, Member, PatchOp};
use crate::pb::v2;
use prost_types::Any;

/// Lists groups and their memberships.
pub struct GroupSyncer {
    client: notion::Client,
    sessions: Sessions<Group>,
    /// User ids of each listed group's members, until its grants are taken.
    members: Mutex<HashMap<String, Parked>>,
    drift: Mutex<Vec<String>>,
}

impl GroupSyncer {
    /// A syncer over `client`.
    pub fn new(client: notion::Client) -> Self {
        // As many pages ahead as requests may be in flight: more could not go out sooner.
        let window = client.max_concurrency();
        GroupSyncer {
            client,
            sessions: Sessions::with_window(window),
            members: Mutex::new(HashMap::new()),
            drift: Mutex::new(Vec::new()),
        }
    }

    /// Warnings for the run summary.
    pub fn warnings(&self) -> Vec<String> {
        lock(&self.drift).clone()
    }

    /// What fetches one page of groups (their members included): for listing, reading ahead
    /// and priming alike.
    fn fetch(
        &self,
    ) -> impl Fn(
        notion::PageRequest,
    ) -> BoxFuture<'static, Result<ListResponse<Group>, notion::Error>>
    + use<> {
        let client = self.client.clone();
        move |req| {
            let client = client.clone();
            Box::pin(async move {
                client
                    .groups()
                    .list()
                    .start_index(req.start_index)
                    .count(req.count)
                    .send()
                    .await
            })
        }
    }
}

impl Prime for GroupSyncer {
    fn prime(&self, page_size: u32) {
        self.sessions.prime(page_size, self.fetch());
    }
}

fn user_members(members: &[Member]) -> Vec<String> {
    let mut ids: Vec<String> = members
        .iter()
        .filter(|m| m.is_user() && !m.value.is_empty())
        .map(|m| m.value.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A group's user member ids while they wait for the grants phase: canonical UUIDs (Notion's
/// ids) take 16 bytes each instead of a 60-byte string, so a workspace's memberships cost
/// little memory between listing and grants. Any other id is kept as it is.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parked {
    uuids: Vec<u128>,
    other: Vec<Box<str>>,
}

impl Parked {
    fn new(ids: Vec<String>) -> Parked {
        let mut parked = Parked::default();
        for id in ids {
            match canonical_uuid(&id) {
                Some(u) => parked.uuids.push(u),
                None => parked.other.push(id.into_boxed_str()),
            }
        }
        parked.uuids.shrink_to_fit();
        parked.other.shrink_to_fit();
        parked
    }

    /// The ids as they were given (UUIDs first; each part keeps its sorted order, since a
    /// canonical UUID's number sorts like its text).
    fn into_ids(self) -> impl Iterator<Item = String> {
        let uuids = self
            .uuids
            .into_iter()
            .map(|u| uuid::Uuid::from_u128(u).hyphenated().to_string());
        uuids.chain(self.other.into_iter().map(String::from))
    }
}

/// The number of a UUID written canonically (36 characters, lower case, hyphenated), which
/// formats back to exactly the same text; `None` for any other id.
fn canonical_uuid(id: &str) -> Option<u128> {
    if id.len() != 36 || id.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    uuid::Uuid::try_parse(id).ok().map(|u| u.as_u128())
}

/// The `group` resource for a SCIM group; `members` are its user members when the record
/// carried them (see [`user_members`]).
pub fn group_resource(g: &Group, members: Option<&[String]>) -> v2::Resource {
    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("group_id", g.id.to_string().into()),
        ("group_name", g.display_name.clone().into()),
    ];
    if let Some(m) = members {
        fields.push(("member_count", ProfileValue::Num(m.len() as f64)));
    }
    resource::group_resource(
        types::GROUP,
        g.id.as_str(),
        &g.display_name,
        resource::profile(fields),
    )
}

#[async_trait]
impl ResourceSyncer for GroupSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        group_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        paging::scim_page(
            &self.sessions,
            page,
            "groups",
            &self.drift,
            self.fetch(),
            |g: &Group| g.id.as_str(),
            |g| {
                let members = g.members.as_deref().map(user_members);
                let resource = group_resource(g, members.as_deref());
                if let Some(m) = members {
                    lock(&self.members).insert(g.id.to_string(), Parked::new(m));
                }
                resource
            },
        )
        .await
        .map(|(_, page)| page)
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        // `GET /Groups/{id}`; a group that is gone answers 404 (NotFound). Its members are
        // parked like a list page's, so the grants that follow need no second request.
        let g = self
            .client
            .groups()
            .get(&GroupId::from(id.resource.clone()))
            .await
            .map_err(map_error)?;
        let members = g.members.as_deref().map(user_members);
        let resource = group_resource(&g, members.as_deref());
        if let Some(m) = members {
            lock(&self.members).insert(g.id.to_string(), Parked::new(m));
        }
        Ok(resource)
    }

    async fn entitlements(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        Ok(Page::done(vec![resource::assignment_entitlement(
            resource,
            "member",
            format!("{name} Group member"),
            format!("Member of the {name} group in Notion"),
            vec![user_type()],
            vec![],
        )]))
    }

    async fn grants(
        &self,
        resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        let Some(gid) = resource.id.as_ref() else {
            return Err(ConnectorError::invalid_argument(
                "the group resource has no id",
            ));
        };
        let parked = lock(&self.members).remove(&gid.resource);
        let members: Vec<String> = match parked {
            Some(m) => m.into_ids().collect(),
            None => {
                let g = self
                    .client
                    .groups()
                    .get(&GroupId::from(gid.resource.clone()))
                    .await
                    .map_err(map_error)?;
                user_members(g.members.as_deref().unwrap_or_default())
            }
        };
        let grants = members
            .iter()
            .map(|uid| resource::grant(gid, "member", &ids::resource_id(types::USER, uid)))
            .collect();
        Ok(Page::done(grants))
    }

    async fn grant(
        &self,
        principal: &v2::Resource,
        entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
        grant_membership(&self.client, principal, entitlement).await
    }

    async fn revoke(&self, grant: &v2::Grant) -> Result<Vec<Any>, ConnectorError> {
        revoke_membership(&self.client, grant).await
    }
}

/// Adds `principal` to the group of `entitlement`.
pub async fn grant_membership(
    client: &notion::Client,
    principal: &v2::Resource,
    entitlement: &v2::Entitlement,
) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
    let gres = id_of(entitlement.resource.as_ref(), "entitlement's resource")?;
    let uid = user_principal(principal)?;
    let pid = id_of(Some(principal), "principal")?;
    let grant = resource::grant(gres, "member", pid);
    let gid = GroupId::from(gres.resource.clone());
    let members = group_members(client, &gid).await?.ok_or_else(|| {
        ConnectorError::not_found(format!(
            "no Notion group {}",
            crate::text::one_line(gid.as_str())
        ))
    })?;
    if members.iter().any(|m| m == uid.as_str()) {
        return Ok((vec![grant], vec![pack(&v2::GrantAlreadyExists {})]));
    }
    client
        .groups()
        .patch(&gid, &PatchOp::add_members(std::slice::from_ref(&uid)))
        .await
        .map_err(map_error)?;
    Ok((vec![grant], Vec::new()))
}

/// Removes the grant's principal from its group.
pub async fn revoke_membership(
    client: &notion::Client,
    grant: &v2::Grant,
) -> Result<Vec<Any>, ConnectorError> {
    let gres = id_of(
        grant.entitlement.as_ref().and_then(|e| e.resource.as_ref()),
        "grant's entitlement",
    )?;
    let uid = grant_user(grant)?;
    let gid = GroupId::from(gres.resource.clone());
    match group_members(client, &gid).await? {
        Some(m) if m.iter().any(|m| m == uid.as_str()) => {
            client
                .groups()
                .patch(&gid, &PatchOp::remove_member(&uid))
                .await
                .map_err(map_error)?;
            Ok(Vec::new())
        }
        _ => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_members_come_back_exactly_as_given() {
        let ids: Vec<String> = [
            "0a1b2c3d-0000-4000-8000-00000000000f",
            "ffffffff-ffff-4fff-bfff-ffffffffffff",
            "ABCDEF01-0000-4000-8000-000000000000",
            "not-a-uuid",
            "0a1b2c3d00004000800000000000000f",
        ]
        .map(str::to_owned)
        .to_vec();
        let parked = Parked::new(ids.clone());
        assert_eq!(parked.uuids.len(), 2, "only canonical spellings are packed");
        let mut back: Vec<String> = parked.into_ids().collect();
        back.sort();
        let mut want = ids;
        want.sort();
        assert_eq!(back, want);
    }

    #[test]
    fn packed_uuids_keep_the_text_order() {
        let a = "0a1b2c3d-0000-4000-8000-00000000000f";
        let b = "a0000000-0000-4000-8000-000000000000";
        assert!(a < b);
        assert!(canonical_uuid(a) < canonical_uuid(b));
    }
}
