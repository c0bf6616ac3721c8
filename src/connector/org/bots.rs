//! Guest bots as `bot` resources: the user trait with account type SERVICE, so ConductorOne
//! shows them as non-human principals (of workspace grants). Nothing is granted on a bot, and a
//! bot is never routed to a SCIM call (SCIM does not know them): the syncer has no delete.

use std::sync::Arc;

use async_trait::async_trait;

use super::no_such;
use super::slices::slice_iter;
use super::snapshot::Snapshot;
use super::{bot_type, types};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, ProfileValue};
use crate::baton::{ConnectorError, Page, PageRequest, ResourceSyncer, ids};
use crate::pb::v2;

/// Lists guest bots.
pub struct BotSyncer {
    snapshot: Arc<Snapshot>,
}

impl BotSyncer {
    /// A syncer over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        BotSyncer { snapshot }
    }
}

/// The `bot` resource for bot `id` named `name`.
pub fn bot_resource(id: &str, name: Option<&str>) -> v2::Resource {
    let name = name.filter(|n| !n.is_empty());
    let mut fields: Vec<(&str, ProfileValue)> = vec![("bot_id", id.into())];
    if let Some(n) = name {
        fields.push(("name", n.into()));
    }
    let profile = resource::profile(fields);
    #[allow(deprecated)]
    let user_trait = v2::UserTrait {
        status: Some(v2::user_trait::Status {
            status: v2::user_trait::status::Status::Enabled as i32,
            details: String::new(),
        }),
        profile: Some(profile.clone()),
        account_type: v2::user_trait::AccountType::Service as i32,
        ..Default::default()
    };
    v2::Resource {
        id: Some(ids::resource_id(types::BOT, id)),
        display_name: name.unwrap_or(id).to_owned(),
        annotations: vec![pack(&user_trait)],
        profile: Some(profile),
        status: Some(v2::Status {
            status: v2::status::ResourceStatus::Enabled as i32,
            details: String::new(),
        }),
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for BotSyncer {
    fn resource_type(&self) -> v2::ResourceType {
        bot_type()
    }

    async fn list(
        &self,
        _parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>, ConnectorError> {
        let people = self.snapshot.people().await?;
        let (items, next) = slice_iter(
            people.bots.iter(),
            people.bots.len(),
            &page.token,
            page.size,
        )?;
        Ok(Page::more(
            items
                .into_iter()
                .map(|(id, name)| bot_resource(id, name.as_deref()))
                .collect(),
            next,
        ))
    }

    async fn get(
        &self,
        id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource, ConnectorError> {
        let people = self.snapshot.people().await?;
        people
            .bots
            .get(&id.resource)
            .map(|name| bot_resource(&id.resource, name.as_deref()))
            .ok_or_else(|| no_such("guest bot", &id.resource, " in any workspace"))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::find;

    #[test]
    fn bots_are_service_accounts() {
        let r = bot_resource("b1", Some("Zap"));
        let t: v2::UserTrait = find(&r.annotations).expect("user trait");
        assert_eq!(t.account_type, v2::user_trait::AccountType::Service as i32);
        assert_eq!(r.display_name, "Zap");
        assert_eq!(bot_resource("b2", Some("")).display_name, "b2");
    }
}
