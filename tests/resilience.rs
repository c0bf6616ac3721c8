//! Resilience (issue 5): retries, rate limits, faults, interrupted runs and a workspace changing
//! while it is paged — through real sockets against the simulator, and the real binary where the
//! process boundary matters (exit status, signals, the artifact on disk).
//!
//! Backoff delays are milliseconds here (`RetryConfig::fast`); the only timed assertion is the
//! `Retry-After` wait, measured on the simulator's own request timestamps.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_notion::baton::Local;
use baton_notion::baton::c1z::Reader;
use baton_notion::baton::sync::{SyncOptions, SyncReport, sync_to_file};
use baton_notion::connector::NotionConnector;
use baton_notion::notion::{self, ClientConfig, LimitConfig, RetryConfig};
use baton_notion::secret::Secret;
use baton_notion::sim::{Dataset, GenSpec, SimConfig, SimHandle};
use common::*;

/// Several pages of users (4) and groups (3).
fn workspace() -> Dataset {
    Dataset::generate(&GenSpec {
        users: 350,
        groups: 250,
        members_per_group: 4,
        seed: 11,
        ..GenSpec::default()
    })
}

/// A connector with millisecond retries and a limiter that does not slow the test down.
fn fast_connector(sim: &SimHandle, retry: RetryConfig) -> Arc<NotionConnector> {
    init();
    let mut cfg = ClientConfig::new(sim.base_url(), Secret::new(SimConfig::default().token));
    cfg.retry = retry;
    cfg.limits = LimitConfig::fixed(1000, 4);
    Arc::new(NotionConnector::new(
        notion::Client::new(cfg).expect("client builds"),
    ))
}

async fn sync_with(connector: &Arc<NotionConnector>, out: &Path) -> SyncReport {
    sync_to_file(&Local::new(connector.clone()), out, SyncOptions::default())
        .await
        .expect("sync succeeds")
}

/// Syncs `dataset` from a simulator configured with `config`; returns the artifact's ids, the
/// connector (for warnings and counters) and the simulator's recorded statuses.
async fn faulty_sync(dataset: Dataset, config: SimConfig) -> (Ids, Arc<NotionConnector>, Vec<u16>) {
    let sim = start(dataset, config).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let connector = fast_connector(&sim, RetryConfig::fast());
    sync_with(&connector, &out).await;
    let statuses = sim.requests().iter().map(|r| r.status).collect();
    sim.shutdown().await;
    (ids_of(&out), connector, statuses)
}

/// Acceptance 1: 20% 429s and 5% 5xx change nothing in the result.
#[tokio::test]
async fn rate_limits_and_server_errors_give_the_fault_free_result() {
    let (clean, clean_connector, _) = faulty_sync(workspace(), SimConfig::default()).await;
    assert_eq!(clean_connector.client().expect("SCIM client").retries(), 0);
    assert_eq!(
        clean
            .resources
            .iter()
            .filter(|r| r.starts_with("user:"))
            .count(),
        350
    );

    let faults = SimConfig {
        rate_limit_share: 0.2,
        retry_after_secs: 0,
        server_error_share: 0.05,
        // 500 is deliberately not retried (a deterministic server failure); the retryable 5xx.
        server_error_statuses: vec![502, 503, 504],
        fault_seed: 3,
        ..SimConfig::default()
    };
    let (faulty, connector, statuses) = faulty_sync(workspace(), faults).await;
    assert_eq!(faulty, clean, "same resource, entitlement and grant ids");
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let errors = statuses.iter().filter(|s| **s >= 500).count();
    assert!(
        limited > 0 && errors > 0,
        "faults were injected: {statuses:?}"
    );
    let retries = connector.client().expect("SCIM client").retries();
    assert_eq!(
        retries as usize,
        limited + errors,
        "every fault was retried once"
    );
    // The client's counters count real HTTP attempts, retries included.
    let sent: u64 = connector
        .client()
        .expect("SCIM client")
        .request_counts()
        .values()
        .sum();
    assert_eq!(sent as usize, statuses.len());
}

/// Dropped connections, latency jitter, shuffled pages and a drifting `totalResults` are ridden
/// out too; the drift is reported.
#[tokio::test]
async fn dropped_connections_shuffles_and_drift_give_the_fault_free_result() {
    let (clean, _, _) = faulty_sync(workspace(), SimConfig::default()).await;
    let faults = SimConfig {
        drop_connection_share: 0.1,
        latency_jitter: Duration::from_millis(5),
        shuffle_pages: true,
        total_results_drift: 40,
        fault_seed: 3,
        ..SimConfig::default()
    };
    let (faulty, connector, statuses) = faulty_sync(workspace(), faults).await;
    assert_eq!(faulty, clean);
    assert!(
        statuses.contains(&0),
        "connections were dropped: {statuses:?}"
    );
    let warnings = connector.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("totalResults")),
        "drift reported: {warnings:?}"
    );
}

/// Bodies that trickle out slower than the client's timeout are timed out and retried.
#[tokio::test]
async fn slow_bodies_time_out_and_are_retried() {
    let (clean, _, _) = faulty_sync(workspace(), SimConfig::default()).await;
    let sim = start(
        workspace(),
        SimConfig {
            slow_body_share: 0.3,
            slow_body_delay: Duration::from_millis(80),
            fault_seed: 4,
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let mut cfg = ClientConfig::new(sim.base_url(), Secret::new(SimConfig::default().token));
    cfg.retry = RetryConfig::fast();
    // A slow body takes 4 × 80 ms: longer than this.
    cfg.timeout = Duration::from_millis(200);
    let connector = Arc::new(NotionConnector::new(
        notion::Client::new(cfg).expect("client builds"),
    ));
    sync_with(&connector, &out).await;
    assert_eq!(ids_of(&out), clean);
    assert!(
        connector.client().expect("SCIM client").retries() > 0,
        "some bodies were slow"
    );
    sim.shutdown().await;
}

/// Acceptance 2: `Retry-After: 2` holds the retry back at least 2 s (simulator's clock).
#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = start(
        Dataset::reference(),
        SimConfig {
            rate_limit_first_tries: 1,
            retry_after_secs: 2,
            ..SimConfig::default()
        },
    )
    .await;
    let connector = fast_connector(&sim, RetryConfig::fast());
    connector
        .client()
        .expect("SCIM client")
        .service_provider_config()
        .await
        .expect("succeeds after one 429");
    let seen = sim.requests();
    assert_eq!(
        seen.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= Duration::from_secs(2), "waited only {waited:?}");
    assert_eq!(connector.client().expect("SCIM client").retries(), 1);
    assert!(
        connector.client().expect("SCIM client").current_rate() < 1000.0,
        "the limiter slowed down"
    );
    sim.shutdown().await;
}

/// Non-retryable failures are not repeated, and a POST is not repeated after a 5xx (it may have
/// landed).
#[tokio::test]
async fn other_failures_are_not_retried() {
    let sim = start(
        Dataset::reference(),
        SimConfig {
            server_error_share: 1.0,
            server_error_statuses: vec![500],
            ..SimConfig::default()
        },
    )
    .await;
    let connector = fast_connector(&sim, RetryConfig::fast());
    let err = connector
        .client()
        .expect("SCIM client")
        .service_provider_config()
        .await
        .expect_err("500 fails");
    assert_eq!(err.status(), Some(500));
    assert_eq!(sim.requests().len(), 1, "500 is not retried");
    sim.shutdown().await;

    // Persistent 503: retried up to the attempt limit, then Notion's answer is reported.
    let sim = start(
        Dataset::reference(),
        SimConfig {
            server_error_share: 1.0,
            server_error_statuses: vec![503],
            ..SimConfig::default()
        },
    )
    .await;
    let connector = fast_connector(&sim, RetryConfig::fast());
    let err = connector
        .client()
        .expect("SCIM client")
        .service_provider_config()
        .await
        .expect_err("503 persists");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        sim.requests().len() as u32,
        RetryConfig::fast().max_attempts
    );
    sim.shutdown().await;
}

/// Runs the binary with `args` against a copy of the reference artifact; returns the output and
/// checks the artifact and directory are exactly as before.
async fn binary_fails_cleanly(sim: &SimHandle, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    std::fs::copy(fixture("go-baton-notion-reference.c1z"), &out).expect("copy fixture");
    let before = std::fs::read(&out).expect("read");
    let listing = files_in(dir.path());
    let mut args: Vec<String> = vec![
        "--base-url".into(),
        sim.base_url(),
        "-f".into(),
        out.to_string_lossy().into_owned(),
        "--log-format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run_binary_async(&args, &[("BATON_SCIM_TOKEN", "sim-token")]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read(&out).expect("read"),
        before,
        "artifact unchanged"
    );
    assert_eq!(files_in(dir.path()), listing, "no temp file left behind");
    output
}

/// Acceptance 3: persistent malformed JSON on one page fails the sync, naming the endpoint and
/// startIndex, without repeating the request; the previous artifact is unchanged.
#[tokio::test]
async fn persistent_malformed_json_fails_cleanly() {
    let sim = start(
        workspace(),
        SimConfig {
            malformed_json_at: Some(("/Users".to_owned(), 201)),
            ..SimConfig::default()
        },
    )
    .await;
    let output = binary_fails_cleanly(&sim, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().expect("a final line");
    assert!(last.starts_with("error: "), "{last}");
    assert!(
        last.contains("/Users") && last.contains("startIndex=201"),
        "{last}"
    );
    let page_requests = sim
        .requests()
        .iter()
        .filter(|r| {
            r.query
                .as_deref()
                .is_some_and(|q| q.contains("startIndex=201"))
        })
        .count();
    assert_eq!(page_requests, 1, "a malformed body is not retried");
    sim.shutdown().await;
}

/// Acceptance 4: SIGTERM mid-sync stops the binary within a second, non-zero, leaving the
/// previous artifact byte for byte and no temp files.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_mid_sync_stops_quickly_and_keeps_the_artifact() {
    let sim = start(
        Dataset::generate(&GenSpec {
            users: 2_000,
            groups: 5,
            members_per_group: 3,
            seed: 2,
            ..GenSpec::default()
        }),
        SimConfig {
            // 20 pages × 300 ms: several seconds of sync.
            latency: Duration::from_millis(300),
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    std::fs::copy(fixture("go-baton-notion-reference.c1z"), &out).expect("copy fixture");
    let before = std::fs::read(&out).expect("read");
    let listing = files_in(dir.path());

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args(["--base-url", &sim.base_url(), "-f"])
        .arg(&out)
        .args(["--log-format", "json"])
        .env("BATON_SCIM_TOKEN", "sim-token")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");

    // Wait until the sync is well under way (a few pages served).
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.counters().get("GET /Users").copied().unwrap_or(0) < 3 {
        assert!(Instant::now() < deadline, "the sync never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("waited");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(1), "stopped after {took:?}");
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        std::fs::read(&out).expect("read"),
        before,
        "artifact unchanged"
    );
    assert_eq!(files_in(dir.path()), listing, "no temp file left behind");
    assert!(
        files_in(dir.path()).iter().all(|f| !f.ends_with(".tmp")),
        "no *.tmp"
    );
    sim.shutdown().await;
}

/// Acceptance 6: users added and removed between pages — no duplicates, drift reported.
#[tokio::test]
async fn churn_between_pages_gives_no_duplicates_and_reports_drift() {
    let sim = start(
        workspace(),
        SimConfig {
            churn_users_per_page: 7,
            shuffle_pages: true,
            fault_seed: 9,
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let connector = fast_connector(&sim, RetryConfig::fast());
    let report = sync_with(&connector, &out).await;

    let reader = Reader::open(&out).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let users = reader.resources(sid.as_ref(), Some("user")).expect("users");
    let unique: BTreeSet<String> = users
        .iter()
        .map(|u| u.id.as_ref().expect("id").resource.clone())
        .collect();
    assert_eq!(unique.len(), users.len(), "no duplicate users");
    assert_eq!(
        report.stats.resources_by_resource_type.get("user").copied(),
        Some(users.len() as u64)
    );
    // Grants name each user once per role: no duplicate role grants either.
    let ids = ids_of(&out);
    let role_grants = ids.grants.iter().filter(|g| g.starts_with("role:")).count();
    assert_eq!(role_grants, users.len());

    // The warning says how far the collected count is from totalResults.
    let warnings = connector.warnings();
    let total = sim.state().users.len();
    let expected = match users.len().cmp(&total) {
        std::cmp::Ordering::Less => format!("({} fewer than reported)", total - users.len()),
        std::cmp::Ordering::Greater => format!("({} more than reported)", users.len() - total),
        std::cmp::Ordering::Equal => String::new(),
    };
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("totalResults") && w.contains(&expected)),
        "drift reported as {expected:?}: {warnings:?}"
    );
    sim.shutdown().await;
}

/// The summary of the binary reports the drift as a warning and the retries.
#[tokio::test]
async fn the_summary_warns_about_drift_and_counts_retries() {
    let sim = start(
        workspace(),
        SimConfig {
            churn_users_per_page: 5,
            rate_limit_first_tries: 1,
            retry_after_secs: 0,
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let base = sim.base_url();
    let out_s = out.to_string_lossy().into_owned();
    let output = run_binary_async(
        &[
            "--base-url",
            &base,
            "-f",
            &out_s,
            "--log-format",
            "json",
            "--requests-per-second",
            "1000",
        ],
        &[("BATON_SCIM_TOKEN", "sim-token")],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("warning: ") && l.contains("totalResults")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("retries")),
        "{stdout}"
    );
    sim.shutdown().await;
}

/// Acceptance 5: a POST whose response is lost is not repeated, so it cannot create a second
/// account; asking again meets Notion's 409 `uniqueness`, never a duplicate.
#[tokio::test]
async fn a_post_with_a_lost_response_creates_one_account() {
    let sim = start(
        Dataset::reference(),
        SimConfig {
            lose_response_share: 1.0,
            ..SimConfig::default()
        },
    )
    .await;
    let connector = fast_connector(&sim, RetryConfig::fast());
    let new = notion::NewUser::new("erin.new@example.com");
    let err = connector
        .client()
        .expect("SCIM client")
        .users()
        .create(&new)
        .await
        .expect_err("the response was lost");
    assert!(!err.is_connect(), "{err}");
    let posts: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, vec![0], "one POST, not retried");
    assert_eq!(connector.client().expect("SCIM client").retries(), 0);
    let created = |sim: &SimHandle| {
        sim.state()
            .users
            .iter()
            .filter(|u| u.user_name == "erin.new@example.com")
            .count()
    };
    assert_eq!(created(&sim), 1, "the account exists once");
    sim.shutdown().await;

    // The caller's second try (against a server answering again) gets 409, not a second account.
    let mut state = Dataset::reference();
    state.users.push(baton_notion::sim::SimUser {
        id: "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee".to_owned(),
        user_name: "erin.new@example.com".to_owned(),
        given_name: None,
        family_name: None,
        formatted: None,
        role: Some("member".to_owned()),
        active: true,
    });
    let sim = start(state, SimConfig::default()).await;
    let connector = fast_connector(&sim, RetryConfig::fast());
    let err = connector
        .client()
        .expect("SCIM client")
        .users()
        .create(&new)
        .await
        .expect_err("already a member");
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.scim_type(), Some("uniqueness"));
    assert_eq!(created(&sim), 1);
    sim.shutdown().await;
}

/// A POST is retried when the connection failed before anything was sent.
#[tokio::test]
async fn a_post_is_retried_when_nothing_was_sent() {
    init();
    // Bind and close a port: connecting to it is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut cfg = ClientConfig::new(
        format!("http://127.0.0.1:{port}/scim/v2"),
        Secret::new("sim-token"),
    );
    cfg.retry = RetryConfig::fast();
    let client = notion::Client::new(cfg).expect("client builds");
    let err = client
        .users()
        .create(&notion::NewUser::new("x@example.com"))
        .await
        .expect_err("nobody listens");
    assert!(err.is_connect(), "{err}");
    assert_eq!(
        client.retries(),
        u64::from(RetryConfig::fast().max_attempts - 1)
    );
    assert_eq!(
        client.request_counts()["POST /Users"],
        u64::from(RetryConfig::fast().max_attempts)
    );
}
