//! The sync engine asks about several resources' grants at once (over gRPC each is a round
//! trip), never more than its limit, and the artifact does not depend on the order in which the
//! answers arrive.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use baton_notion::baton::sync::{SyncOptions, sync_to_file};
use baton_notion::baton::{ConnectorClient, ConnectorError, Local};
use baton_notion::connector::NotionConnector;
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, GenSpec, SimConfig};
use common::*;

type Result<T> = std::result::Result<T, ConnectorError>;

/// A client that answers like `inner` but makes each `ListGrants` slow — slower for some
/// resources than others, so answers come back out of order — and records how many were in
/// flight at once.
struct SlowGrants {
    inner: Local<NotionConnector>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl ConnectorClient for SlowGrants {
    async fn get_metadata(&self) -> Result<v2::ConnectorMetadata> {
        self.inner.get_metadata().await
    }
    async fn validate(&self) -> Result<v2::ConnectorServiceValidateResponse> {
        self.inner.validate().await
    }
    async fn list_resource_types(
        &self,
        req: v2::ResourceTypesServiceListResourceTypesRequest,
    ) -> Result<v2::ResourceTypesServiceListResourceTypesResponse> {
        self.inner.list_resource_types(req).await
    }
    async fn list_resources(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
    ) -> Result<v2::ResourcesServiceListResourcesResponse> {
        self.inner.list_resources(req).await
    }
    async fn list_entitlements(
        &self,
        req: v2::EntitlementsServiceListEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListEntitlementsResponse> {
        self.inner.list_entitlements(req).await
    }
    async fn list_static_entitlements(
        &self,
        req: v2::EntitlementsServiceListStaticEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListStaticEntitlementsResponse> {
        self.inner.list_static_entitlements(req).await
    }
    async fn list_grants(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
    ) -> Result<v2::GrantsServiceListGrantsResponse> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let id_len = req
            .resource
            .as_ref()
            .and_then(|r| r.id.as_ref())
            .map_or(0, |id| id.resource.len());
        let first_byte = req
            .resource
            .as_ref()
            .and_then(|r| r.id.as_ref())
            .and_then(|id| id.resource.bytes().next())
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(
            2 + u64::from(first_byte % 7) + id_len as u64 % 3,
        ))
        .await;
        let out = self.inner.list_grants(req).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

#[tokio::test]
async fn grants_of_several_resources_are_asked_at_once_within_the_limit() {
    let sim = start(
        Dataset::generate(&GenSpec {
            users: 120,
            groups: 12,
            members_per_group: 10,
            ..GenSpec::default()
        }),
        SimConfig::default(),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");

    let plain = dir.path().join("plain.c1z");
    sync_into(&sim, &plain).await.expect("sync succeeds");

    let slow = SlowGrants {
        inner: Local::new(connector(&sim, &SimConfig::default().token)),
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    };
    let out = dir.path().join("slow.c1z");
    let report = sync_to_file(&slow, &out, SyncOptions::default())
        .await
        .expect("sync succeeds");
    let peak = slow.peak.load(Ordering::SeqCst);
    assert!(
        (2..=8).contains(&peak),
        "several ListGrants at once, at most 8 (peak {peak})"
    );
    assert_eq!(ids_of(&out), ids_of(&plain));
    assert_eq!(report.stats.grants, 120 + 12 * 10);
    sim.shutdown().await;
}
