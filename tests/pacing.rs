//! Adaptive pacing against a simulator that enforces limits: a sync finds a limit it is not
//! told and completes with exact results and few 429s (counted by the simulator); a pinned rate
//! is never exceeded; the in-flight limit stops growing when the server queues.
//!
//! Nothing here asserts a speed: the limits are upper bounds a slow machine cannot break, and the
//! 429 counts come from the simulator's own accounting.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_notion::baton::Local;
use baton_notion::baton::sync::{SyncOptions, sync_to_file};
use baton_notion::connector::NotionConnector;
use baton_notion::notion::{self, ClientConfig, LimitConfig};
use baton_notion::secret::Secret;
use baton_notion::sim::{Dataset, GenSpec, SimConfig, SimHandle};
use common::*;

fn workspace(users: usize, groups: usize) -> Dataset {
    Dataset::generate(&GenSpec {
        users,
        groups,
        members_per_group: 5,
        seed: 16,
        ..GenSpec::default()
    })
}

fn connector_with(sim: &SimHandle, limits: LimitConfig) -> Arc<NotionConnector> {
    init();
    let mut cfg = ClientConfig::new(sim.base_url(), Secret::new(SimConfig::default().token));
    cfg.limits = limits;
    Arc::new(NotionConnector::new(
        notion::Client::new(cfg).expect("client builds"),
    ))
}

async fn sync_with(connector: &Arc<NotionConnector>, out: &Path) {
    sync_to_file(&Local::new(connector.clone()), out, SyncOptions::default())
        .await
        .expect("sync succeeds");
}

/// The acceptance test: a server limited to 4 requests per second (burst 4), below the rate the
/// client starts at; the default (adaptive) client is not told. The sync's result is the
/// unlimited sync's, and 429s stay a small share of the requests.
#[tokio::test]
async fn a_sync_finds_an_unknown_limit_with_exact_results_and_few_429s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = workspace(2_500, 300);

    let free = start(data.clone(), SimConfig::default()).await;
    let clean = dir.path().join("clean.c1z");
    sync_with(&connector_with(&free, LimitConfig::default()), &clean).await;
    free.shutdown().await;

    let limited = start(
        data,
        SimConfig {
            rate_limit: Some(4.0),
            rate_limit_burst: Some(4),
            latency: Duration::from_millis(20),
            ..SimConfig::default()
        },
    )
    .await;
    let out = dir.path().join("limited.c1z");
    let connector = connector_with(&limited, LimitConfig::default());
    sync_with(&connector, &out).await;
    assert_eq!(ids_of(&out), ids_of(&clean), "exact results");

    let total = limited.total_requests();
    let rejected = limited.rate_limited();
    // 1 validation + 25 user pages + 3 group pages, plus a retry per 429.
    assert_eq!(total, 29 + rejected);
    assert!(
        rejected <= 3,
        "{rejected} of {total} requests were 429s: the limit was not found"
    );
    let pacing = connector.client().expect("SCIM client").pacing();
    assert_eq!(pacing.rate_limited, rejected, "the client saw every 429");
    assert!(pacing.cuts >= 1 && pacing.rate < 6.0, "{pacing:?}");
    limited.shutdown().await;
}

/// `--requests-per-second N` pins the rate: the server never sees more than N requests in any
/// second (one more allowed for arrival jitter), however much the sync could send.
#[tokio::test]
async fn a_pinned_rate_is_never_exceeded() {
    let sim = start(workspace(1_200, 200), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let connector = connector_with(&sim, LimitConfig::fixed(5, 8));
    sync_with(&connector, &dir.path().join("pinned.c1z")).await;
    let at: Vec<Duration> = sim.requests().iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 1 + 12 + 2);
    for (i, start) in at.iter().enumerate() {
        let within = at[i..]
            .iter()
            .take_while(|t| **t < *start + Duration::from_secs(1))
            .count();
        assert!(within <= 6, "{within} requests within 1 s of {start:?}");
    }
    assert_eq!(
        connector
            .client()
            .expect("SCIM client")
            .pacing()
            .rate_limited,
        0
    );
    sim.shutdown().await;
}

/// The in-flight limit grows while latency is flat, and comes back down when the server
/// queues every request beyond one in flight (latency rises while the rate stays flat).
#[tokio::test]
async fn the_in_flight_limit_stops_growing_when_the_server_queues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut seen = Vec::new();
    for queue_beyond in [None, Some(1)] {
        let sim = start(
            workspace(6_000, 100),
            SimConfig {
                latency: Duration::from_millis(60),
                rate_limit_concurrency: queue_beyond,
                rate_limit_concurrency_queue: true,
                ..SimConfig::default()
            },
        )
        .await;
        let connector = connector_with(&sim, LimitConfig::adaptive(1000, 8));
        sync_with(&connector, &dir.path().join("queue.c1z")).await;
        assert_eq!(sim.rate_limited(), 0, "queueing, not refusing");
        let pacing = connector.client().expect("SCIM client").pacing();
        seen.push((pacing.peak_concurrency, pacing.concurrency));
        sim.shutdown().await;
    }
    let start = notion::pacing::policy::START_CONCURRENCY;
    let ((flat_peak, _), (queued_peak, queued_end)) = (seen[0], seen[1]);
    assert!(flat_peak > start, "flat latency: the limit grew ({seen:?})");
    // A server that serves one at a time and queues the rest: a second request in flight
    // waits one service time (latency ratio 1.5, still "flat"), a third two (2.0, the queueing
    // line), so the limit settles at two or three — below where it started, and it never grew
    // the way it did against the flat server.
    assert!(
        queued_peak < flat_peak,
        "a queueing server: the limit stopped growing ({seen:?})"
    );
    assert!(
        queued_end < start && queued_end <= 3,
        "a queueing server: the limit came back down ({seen:?})"
    );
}
