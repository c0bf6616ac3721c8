//! Read-ahead paging: once the first page reveals `totalResults`, the next SCIM pages are
//! fetched before the sync engine asks for them — within `--max-concurrency`, without a single
//! extra request, in process and over gRPC alike.
//!
//! Overlap is measured by the simulator itself (the most requests it handled at once), so
//! these tests do not depend on timing: with 150 ms per request, a sequential client never has
//! two requests in flight, and a client that reads ahead always has.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_notion::baton::Local;
use baton_notion::baton::remote::Remote;
use baton_notion::baton::server::{ServeOptions, serve};
use baton_notion::baton::sync::{SyncOptions, sync_to_file};
use baton_notion::connector::NotionConnector;
use baton_notion::notion::{self, ClientConfig, LimitConfig};
use baton_notion::secret::Secret;
use baton_notion::sim::{Dataset, GenSpec, SimConfig, SimHandle};
use common::*;

const LATENCY: Duration = Duration::from_millis(150);

/// 1,000 users (10 pages) and 250 groups (3 pages).
fn workspace() -> Dataset {
    Dataset::generate(&GenSpec {
        users: 1_000,
        groups: 250,
        members_per_group: 5,
        ..GenSpec::default()
    })
}

/// A connector whose client may have `concurrency` requests in flight, at a rate that never
/// paces these tests.
fn connector_with(sim: &SimHandle, concurrency: usize) -> Arc<NotionConnector> {
    init();
    let mut cfg = ClientConfig::new(sim.base_url(), Secret::new(SimConfig::default().token));
    cfg.limits = LimitConfig::fixed(1000, concurrency);
    Arc::new(NotionConnector::new(
        notion::Client::new(cfg).expect("client builds"),
    ))
}

fn list_counts(sim: &SimHandle) -> (u64, u64, u64) {
    let c = sim.counters();
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    (
        get("GET /ServiceProviderConfig"),
        get("GET /Users"),
        get("GET /Groups"),
    )
}

async fn sync_with(sim: &SimHandle, concurrency: usize, out: &Path) {
    let local = Local::new(connector_with(sim, concurrency));
    sync_to_file(&local, out, SyncOptions::default())
        .await
        .expect("sync succeeds");
}

#[tokio::test]
async fn pages_are_fetched_ahead_within_the_concurrency_cap_and_without_extra_requests() {
    let config = SimConfig {
        latency: LATENCY,
        ..SimConfig::default()
    };
    let sim = start(workspace(), config).await;
    let dir = tempfile::tempdir().expect("tempdir");

    // One request at a time: the baseline, and proof that the overlap below is read-ahead's.
    let sequential = dir.path().join("sequential.c1z");
    sync_with(&sim, 1, &sequential).await;
    assert_eq!(sim.peak_in_flight(), 1, "a cap of 1 is never exceeded");
    assert_eq!(list_counts(&sim), (1, 10, 3));

    sim.reset_counters();
    let ahead = dir.path().join("ahead.c1z");
    sync_with(&sim, 4, &ahead).await;
    let peak = sim.peak_in_flight();
    assert!(
        (2..=4).contains(&peak),
        "pages overlap, within --max-concurrency 4 (peak {peak})"
    );
    assert_eq!(
        list_counts(&sim),
        (1, 10, 3),
        "read-ahead adds no request: 1 + ceil(1000/100) + ceil(250/100)"
    );
    assert_eq!(ids_of(&ahead), ids_of(&sequential));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_groups_first_page_is_on_its_way_before_the_users_listing_ends() {
    // Without priming, the groups' first page would go out only once the engine had the
    // users' last page: at least one latency after that page reached the simulator.
    let config = SimConfig {
        latency: LATENCY,
        ..SimConfig::default()
    };
    let sim = start(workspace(), config).await;
    let dir = tempfile::tempdir().expect("tempdir");
    sync_with(&sim, 4, &dir.path().join("primed.c1z")).await;
    let requests = sim.requests();
    let arrivals = |endpoint: &str, first_page: bool| {
        requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .filter(|r| {
                !first_page
                    || r.query
                        .as_deref()
                        .is_some_and(|q| q.split('&').any(|kv| kv == "startIndex=1"))
            })
            .map(|r| r.at)
            .collect::<Vec<_>>()
    };
    let last_users = *arrivals("GET /Users", false).iter().max().expect("users");
    let first_groups = arrivals("GET /Groups", true);
    assert_eq!(first_groups.len(), 1, "the first page is fetched once");
    assert!(
        first_groups[0] < last_users + LATENCY,
        "the groups' first page went out at {:?}, the users' last at {last_users:?}",
        first_groups[0]
    );
    assert_eq!(list_counts(&sim), (1, 10, 3), "priming adds no request");

    // A sync of the users alone leaves the groups alone.
    sim.reset_counters();
    let local = Local::new(connector_with(&sim, 4));
    let opts = SyncOptions {
        resource_types: Some(vec!["user".to_owned()]),
        ..SyncOptions::default()
    };
    sync_to_file(&local, &dir.path().join("users.c1z"), opts)
        .await
        .expect("sync succeeds");
    assert_eq!(list_counts(&sim), (1, 10, 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_server_that_serves_smaller_pages_costs_no_extra_requests() {
    // Notion may cap `count` below what was asked; read-ahead then steps by what it got.
    let config = SimConfig {
        max_page_size: 30,
        latency: Duration::from_millis(20),
        ..SimConfig::default()
    };
    let sim = start(
        Dataset::generate(&GenSpec {
            users: 300,
            groups: 31,
            members_per_group: 3,
            ..GenSpec::default()
        }),
        config,
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("capped.c1z");
    sync_with(&sim, 4, &out).await;
    assert_eq!(list_counts(&sim), (1, 10, 2));
    let ids = ids_of(&out);
    let users = ids
        .resources
        .iter()
        .filter(|r| r.starts_with("user:"))
        .count();
    assert_eq!(users, 300);
    sim.shutdown().await;
}

#[tokio::test]
async fn pages_are_fetched_ahead_behind_the_grpc_server_too() {
    let config = SimConfig {
        latency: LATENCY,
        ..SimConfig::default()
    };
    let sim = start(workspace(), config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        Arc::new(Local::new(connector_with(&sim, 4))),
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let remote = Remote::connect(&addr.to_string()).await.expect("connects");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("remote.c1z");
    sync_to_file(&remote, &out, SyncOptions::default())
        .await
        .expect("sync over gRPC succeeds");
    let peak = sim.peak_in_flight();
    assert!((2..=4).contains(&peak), "pages overlap (peak {peak})");
    assert_eq!(list_counts(&sim), (1, 10, 3));

    let _ = stop.send(());
    server
        .await
        .expect("server task")
        .expect("server ends cleanly");
    sim.shutdown().await;
}
