//! The targeted sync: a `partial` sync of the resources named in [`SyncOptions::targeted`],
//! as the SDK's syncer runs one (`--sync-resources`, or a service-mode full-sync task carrying
//! `targeted_sync_resources`).
//!
//! For each named resource, in order and once each (resource id plus parent id):
//! 1. skipped when a type selection is given and leaves its type out (the SDK does the same);
//! 2. `GetResource`; `NotFound` (gone) or `Unimplemented` (the type cannot be fetched by id) skip
//!    it with a warning, any other error fails the sync;
//! 3. stored, then its entitlements and grants, honouring the same skip annotations and options
//!    as a full sync;
//! 4. the resources its grants' entitlements belong to are fetched with `GetResource` and
//!    stored when this sync does not hold them yet (the SDK's "related resources"), so a user's
//!    role grant arrives with its role.
//!
//! A partial sync is applied on top of a full one by its reader, so grants whose principal is
//! not in it are kept (the integrity pass is for full syncs). Tested end to end in
//! `tests/parity.rs`.
//!
//! [`SyncOptions::targeted`]: super::SyncOptions::targeted

use std::collections::HashSet;

use tracing::{info, warn};

use super::{Buffer, Engine, Rows, SyncError, SyncPhase, connector_err};
use crate::baton::annotations::has;
use crate::baton::error::Code;
use crate::baton::ids::resource_key;
use crate::pb::v2;

impl Engine<'_> {
    /// Runs the targeted sync over `types` (already stored).
    pub(super) async fn targeted(&mut self, types: &[v2::ResourceType]) -> Result<(), SyncError> {
        self.store.phase("targeted-resources").await?;
        let wanted: Vec<v2::Resource> = std::mem::take(&mut self.opts.targeted);
        let mut seen: HashSet<(String, String)> = HashSet::new();
        // Keys of the resources this sync holds: the targets and their related resources.
        let mut stored: HashSet<String> = HashSet::new();
        let mut synced = 0u64;
        for target in &wanted {
            self.check_cancel()?;
            let Some(id) = target.id.as_ref() else {
                continue;
            };
            let Some(rt) = types.iter().find(|t| t.id == id.resource_type) else {
                // Not among the selected types (or unknown to the connector).
                info!(
                    resource = %crate::text::one_line(&resource_key(id)),
                    "skipping a targeted resource whose type is not synced"
                );
                continue;
            };
            let parent = target.parent_resource_id.as_ref();
            let key = (
                resource_key(id),
                parent.map(resource_key).unwrap_or_default(),
            );
            if !seen.insert(key) {
                continue;
            }
            let Some(resource) = self.get_resource(id, parent).await? else {
                continue;
            };
            stored.insert(resource_key(id));
            self.store
                .put(Rows::Resources(vec![resource.clone()]))
                .await?;
            synced += 1;
            self.report(SyncPhase::Resources, &rt.id, synced, None, synced);

            let mut found = Buffer::default();
            let skip_all = self.opts.skip_entitlements_and_grants
                || has::<v2::SkipEntitlementsAndGrants>(&rt.annotations)
                || has::<v2::SkipEntitlementsAndGrants>(&resource.annotations);
            if !skip_all
                && !has::<v2::SkipEntitlements>(&rt.annotations)
                && !has::<v2::SkipEntitlements>(&resource.annotations)
            {
                self.entitlements_of(&resource, &mut found).await?;
            }
            if !skip_all
                && !self.opts.skip_grants
                && !has::<v2::SkipGrants>(&rt.annotations)
                && !has::<v2::SkipGrants>(&resource.annotations)
            {
                self.grants_of(&resource, &mut found).await?;
            }
            self.related_resources(&found, types, &mut stored).await?;
            self.flush(&mut found).await?;
        }
        info!(
            asked = wanted.len(),
            synced, "targeted sync collected its resources"
        );
        Ok(())
    }

    /// Fetches and stores the resources `found`'s grants' entitlements belong to, when this
    /// sync does not hold them and their type is synced.
    async fn related_resources(
        &self,
        found: &Buffer,
        types: &[v2::ResourceType],
        stored: &mut HashSet<String>,
    ) -> Result<(), SyncError> {
        for grant in &found.grants {
            let Some(owner) = grant.entitlement.as_ref().and_then(|e| e.resource.as_ref()) else {
                continue;
            };
            let Some(id) = owner.id.as_ref() else {
                continue;
            };
            if !types.iter().any(|t| t.id == id.resource_type) || !stored.insert(resource_key(id)) {
                continue;
            }
            if let Some(resource) = self
                .get_resource(id, owner.parent_resource_id.as_ref())
                .await?
            {
                self.store.put(Rows::Resources(vec![resource])).await?;
            }
        }
        Ok(())
    }

    /// `GetResource`, with `NotFound` and `Unimplemented` as `None` (logged), as the SDK does.
    async fn get_resource(
        &self,
        id: &v2::ResourceId,
        parent: Option<&v2::ResourceId>,
    ) -> Result<Option<v2::Resource>, SyncError> {
        let req = v2::ResourceGetterServiceGetResourceRequest {
            resource_id: Some(id.clone()),
            parent_resource_id: parent.cloned(),
            ..Default::default()
        };
        let shown = crate::text::one_line(&resource_key(id));
        match self.client.get_resource(req).await {
            Ok(resp) => match resp.resource {
                Some(r) if r.id.is_some() => Ok(Some(r)),
                _ => Err(connector_err(
                    format!("getting {shown}"),
                    crate::baton::ConnectorError::internal(
                        "GetResource answered without a resource",
                    ),
                )),
            },
            Err(e) if e.code == Code::NotFound => {
                warn!(resource = %shown, error = %crate::text::one_line(&e.message), "skipping a targeted resource that was not found");
                Ok(None)
            }
            Err(e) if e.code == Code::Unimplemented => {
                warn!(resource = %shown, "skipping a targeted resource: the connector cannot get it by id");
                Ok(None)
            }
            Err(e) => Err(connector_err(format!("getting {shown}"), e)),
        }
    }
}
