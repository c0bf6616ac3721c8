//! Personal access tokens as `personal_access_token` resources, children of their workspace.
//!
//! A token acts with its creator's permissions, so the secret trait names the creator both as
//! `created_by` and as the `identity` (a `user`). Expiry and last use go on the trait
//! (`last_used_at` is updated at most hourly by Notion); status, name and creator email in the
//! profile. Active and expired tokens are synced; revoked ones are history and left out. Token
//! values are never returned by Notion, so none can reach the artifact.

use std::sync::Arc;

use async_trait::async_trait;

use super::model::PersonalAccessToken;
use super::no_such;
use super::snapshot::Snapshot;
use super::{pat_type, rfc3339, timestamp, types};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::connector::types as scim_types;
use crate::pb::v2;

/// Lists personal access tokens per workspace.
pub struct TokenSyncer {
    snapshot: Arc<Snapshot>,
}

impl TokenSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        TokenSyncer { snapshot }
    }
}

/// The `personal_access_token` resource for `t`, listed by workspace `space`.
pub fn token_resource(space: &str, t: &PersonalAccessToken) -> v2::Resource {
    let creator = ids::resource_id(scim_types::USER, &t.creator.id);
    let name = t.name.clone().filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> = vec![
        ("token_id", t.id.clone().into()),
        ("status", t.status.as_str().into()),
        ("creator_id", t.creator.id.clone().into()),
        ("workspace_id", space.into()),
    ];
    if let Some(n) = &name {
        fields.push(("name", n.clone().into()));
    }
    if let Some(e) = t.creator.email.as_ref().filter(|e| !e.is_empty()) {
        fields.push(("creator_email", e.clone().into()));
    }
    if let Some(n) = t.creator.name.as_ref().filter(|n| !n.is_empty()) {
        fields.push(("creator_name", n.clone().into()));
    }
    for (key, at) in [
        ("created_at", Some(t.created_at)),
        ("expires_at", t.expires_at),
        ("last_used_at", t.last_used_at),
    ] {
        if let Some(text) = at.and_then(rfc3339) {
            fields.push((key, text.into()));
        }
    }
    let profile = resource::profile(fields);
    #[allow(deprecated)]
    let secret = v2::SecretTrait {
        profile: Some(profile.clone()),
        created_at: Some(timestamp(t.created_at)),
        expires_at: t.expires_at.map(timestamp),
        last_used_at: t.last_used_at.map(timestamp),
        created_by_id: Some(creator.clone()),
        identity_id: Some(creator),
        credential_type: v2::secret_trait::CredentialType::StaticSecret as i32,
        credential_detail: String::new(),
    };
    let status = if matches!(t.status, super::model::PatStatus::Active) {
        v2::status::ResourceStatus::Enabled
    } else {
        v2::status::ResourceStatus::Disabled
    };
    v2::Resource {
        id: Some(ids::resource_id(types::PAT, &t.id)),
        parent_resource_id: Some(ids::resource_id(types::WORKSPACE, space)),
        display_name: name.unwrap_or_else(|| format!("Personal access token {}", t.id)),
        annotations: vec![pack(&secret)],
        profile: Some(profile),
        status: Some(v2::Status {
            status: status as i32,
            details: t.status.as_str().to_owned(),
        }),
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for TokenSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        pat_type()
    }

    async fn list(
        &self,
        parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        super::list_in_space(parent, page, self.snapshot.tokens(), token_resource).await
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        let tokens = self.snapshot.tokens().await?;
        tokens
            .iter()
            .filter(|(space, _)| parent.is_none_or(|p| &p.resource == *space))
            .find_map(|(space, list)| {
                list.iter()
                    .find(|t| t.id == id.resource)
                    .map(|t| token_resource(space, t))
            })
            .ok_or_else(|| no_such("active or expired personal access token", &id.resource, ""))
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
        _resource: &v2::Resource,
        _page: &PageRequest,
    ) -> Result<Page<v2::Grant>, ConnectorError> {
        Ok(Page::empty())
    }

    async fn delete(&self, id: &v2::ResourceId) -> Result<Vec<prost_types::Any>, ConnectorError> {
        super::provision::tokens::delete(&self.snapshot, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::find;
    use crate::connector::org::model::{PatStatus, PersonRef};

    #[test]
    fn a_token_is_a_static_secret_acting_as_its_creator() {
        let t = PersonalAccessToken {
            id: "p1".into(),
            creator: PersonRef {
                id: "u1".into(),
                name: None,
                email: Some("a@x.test".into()),
            },
            created_at: 1_000,
            status: PatStatus::Expired,
            name: None,
            expires_at: Some(2_000),
            last_used_at: None,
            revoked_at: None,
        };
        let r = token_resource("s1", &t);
        let s: v2::SecretTrait = find(&r.annotations).expect("secret trait");
        assert_eq!(
            s.created_by_id.as_ref().map(|i| i.resource.as_str()),
            Some("u1")
        );
        assert_eq!(s.identity_id, s.created_by_id);
        assert_eq!(s.expires_at.map(|t| t.seconds), Some(2));
        assert_eq!(s.last_used_at, None);
        assert_eq!(
            s.credential_type,
            v2::secret_trait::CredentialType::StaticSecret as i32
        );
        assert_eq!(
            r.parent_resource_id.map(|p| p.resource),
            Some("s1".to_owned())
        );
        assert_eq!(
            resource::profile_str(r.profile.as_ref(), "status"),
            Some("expired")
        );
        assert_eq!(r.display_name, "Personal access token p1");
    }
}
