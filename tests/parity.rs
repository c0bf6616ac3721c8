//! Baton parity (issue #13): what the Go SDK's syncer and task loop expect of a connector.
//!
//! 1. No dangling grants: a type selection leaves no grant pointing outside the artifact —
//!    the connector does not make role grants without roles, and the engine drops (and
//!    counts) what still points outside, e.g. after users churned between pages.
//! 2. Targeted sync: `--sync-resources` (ours and the SDK's `bid:` format) appends a `partial`
//!    sync with just those resources; `GetResource` answers `NotFound` for a deleted user.
//! 3. Rate-limit hints on the wire: a throttled call's status details carry a
//!    `RateLimitDescription` whose `reset_at` is Notion's `Retry-After`; `RateLimiterService`
//!    answers.
//! 4. `capabilities` lists the targeted-sync capabilities (see `tests/capabilities.rs` for the
//!    whole document).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use baton_notion::baton::c1z::Reader;
use baton_notion::baton::client::ConnectorClient;
use baton_notion::baton::remote::Remote;
use baton_notion::baton::server::{ServeOptions, serve};
use baton_notion::baton::sync::{SyncOptions, SyncReport, sync_to_file};
use baton_notion::baton::{Code, Local, annotations, ids};
use baton_notion::connector::NotionConnector;
use baton_notion::notion::{self, ClientConfig, RetryConfig, UserId};
use baton_notion::pb::c1::ratelimit::v1 as rl;
use baton_notion::pb::google::rpc;
use baton_notion::pb::v2;
use baton_notion::secret::Secret;
use baton_notion::sim::{Dataset, GenSpec, SimConfig};
use common::*;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const DAVE: &str = "44444444-4444-4444-4444-444444444444";

/// Every grant of `sync_id` names an entitlement, an entitlement resource and a principal that
/// the same sync holds. Returns the grant ids.
fn assert_no_dangling(path: &Path, sync_id: &str) -> BTreeSet<String> {
    let reader = Reader::open(path).expect("artifact opens");
    let key = |id: &v2::ResourceId| format!("{}:{}", id.resource_type, id.resource);
    let resources: BTreeSet<String> = reader
        .resources(sync_id, None)
        .expect("resources")
        .iter()
        .map(|r| key(r.id.as_ref().expect("id")))
        .collect();
    let entitlements: BTreeSet<String> = reader
        .entitlements(sync_id, None)
        .expect("entitlements")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut grants = BTreeSet::new();
    for g in reader.grants(sync_id, None).expect("grants") {
        let e = g.entitlement.as_ref().expect("entitlement");
        let owner = e
            .resource
            .as_ref()
            .and_then(|r| r.id.as_ref())
            .expect("owner");
        let principal = g
            .principal
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .expect("who");
        assert!(entitlements.contains(&e.id), "{} names {}", g.id, e.id);
        assert!(
            resources.contains(&key(owner)),
            "{} names {}",
            g.id,
            key(owner)
        );
        assert!(
            resources.contains(&key(principal)),
            "{} names {}",
            g.id,
            key(principal)
        );
        grants.insert(g.id);
    }
    grants
}

fn latest_sync_id(path: &Path) -> String {
    let reader = Reader::open(path).expect("opens");
    reader.latest_sync().expect("ok").expect("a sync").sync_id
}

async fn sync_types(client: &dyn ConnectorClient, out: &Path, types: &[&str]) -> SyncReport {
    let opts = SyncOptions {
        resource_types: Some(types.iter().map(|t| (*t).to_owned()).collect()),
        ..SyncOptions::default()
    };
    sync_to_file(client, out, opts).await.expect("sync")
}

/// Acceptance 1, the connector end: without `role`, no role grant is even made.
#[tokio::test]
async fn a_type_selection_leaves_no_grant_pointing_outside_the_artifact() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let local = Local::new(connector(&sim, &SimConfig::default().token));
    let dir = tempfile::tempdir().expect("tempdir");

    let users = dir.path().join("users.c1z");
    let report = sync_types(&local, &users, &["user"]).await;
    let grants = assert_no_dangling(&users, &latest_sync_id(&users));
    assert!(grants.is_empty(), "{grants:?}");
    assert_eq!(
        report.dropped.total(),
        0,
        "the connector made no role grants"
    );

    let both = dir.path().join("users-groups.c1z");
    let report = sync_types(&local, &both, &["user", "group"]).await;
    let grants = assert_no_dangling(&both, &latest_sync_id(&both));
    assert_eq!(grants.len(), 5, "the five group memberships: {grants:?}");
    assert!(grants.iter().all(|g| g.starts_with("group:")), "{grants:?}");
    assert_eq!(report.dropped.total(), 0);
    sim.shutdown().await;
}

/// Serves `connector` over gRPC on loopback; returns the address and the stop switch.
async fn serve_connector(connector: Arc<NotionConnector>) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        let client: Arc<dyn ConnectorClient> = Arc::new(Local::new(connector));
        serve(
            listener,
            client,
            ServeOptions::default(),
            signal.cancelled_owned(),
        )
        .await
        .expect("serves");
    });
    (addr, stop)
}

/// Acceptance 1, the engine end: over gRPC the connector cannot know the selection and
/// answers role grants; the engine drops and counts every one of them.
#[tokio::test]
async fn the_engine_drops_and_counts_grants_into_types_it_did_not_sync() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let (addr, stop) = serve_connector(connector(&sim, &SimConfig::default().token)).await;
    let remote = Remote::connect(&addr).await.expect("connects");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("users.c1z");
    let report = sync_types(&remote, &out, &["user"]).await;
    assert!(assert_no_dangling(&out, &latest_sync_id(&out)).is_empty());
    assert_eq!(
        report.dropped.missing_entitlement, 5,
        "one role grant per user"
    );
    assert_eq!(report.dropped.missing_principal, 0);
    assert_eq!(report.stats.grants, 0);
    assert!(
        report
            .dropped
            .examples
            .iter()
            .all(|g| g.starts_with("role:")),
        "{:?}",
        report.dropped.examples
    );
    stop.cancel();
    sim.shutdown().await;
}

/// Acceptance 1, churn: users removed between the user pages leave group memberships naming
/// users that were never stored; the sync drops them, and the summary says how many.
#[tokio::test]
async fn churn_between_pages_ends_with_no_dangling_principals_and_a_summary_line() {
    let dataset = Dataset::generate(&GenSpec {
        users: 450,
        groups: 6,
        members_per_group: 200,
        ..GenSpec::default()
    });
    let sim = start(
        dataset,
        SimConfig {
            churn_users_per_page: 25,
            fault_seed: 5,
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let (base, out_s) = (sim.base_url(), out.to_string_lossy().into_owned());
    let output = run_binary_async(
        &["--base-url", &base, "-f", &out_s, "--log-format", "json"],
        &[("BATON_SCIM_TOKEN", &SimConfig::default().token)],
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    let grants = assert_no_dangling(&out, &latest_sync_id(&out));
    assert!(!grants.is_empty());
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("dropped grants"))
        .unwrap_or_else(|| panic!("a summary line counts the dropped grants:\n{stdout}"));
    let count: u64 = line
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {line:?}"));
    assert!(count > 0, "{line}");
    assert!(line.contains("principal"), "{line}");
    assert!(
        stderr.contains("dropped grants whose entitlement or principal is not in this sync"),
        "logged too:\n{stderr}"
    );
    sim.shutdown().await;
}

/// Acceptance 2: `--sync-resources` appends a partial sync of exactly that user, its
/// entitlements (none: users offer none) and grants (its role), plus — as the SDK fetches
/// related resources — the role its grant points at. `inspect syncs` shows it.
#[tokio::test]
async fn sync_resources_appends_a_partial_sync_of_just_that_user() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("full sync");
    let full = latest_sync_id(&out);
    let token = SimConfig::default().token;
    let (base, out_s) = (sim.base_url(), out.to_string_lossy().into_owned());

    for (n, target) in [format!("user:{DAVE}"), format!("bid:r:user/{ALICE}")]
        .iter()
        .enumerate()
    {
        sim.reset_counters();
        let output = run_binary_async(
            &[
                "--base-url",
                &base,
                "-f",
                &out_s,
                "--sync-resources",
                target,
            ],
            &[("BATON_SCIM_TOKEN", &token)],
        )
        .await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let reader = Reader::open(&out).expect("opens");
        let syncs = reader.syncs().expect("syncs");
        assert_eq!(syncs.len(), n + 2, "appended: {syncs:?}");
        let partial = syncs
            .iter()
            // KSUIDs order by the second only; the start time is finer.
            .max_by(|a, b| a.started_at.cmp(&b.started_at))
            .expect("newest")
            .clone();
        assert_eq!(partial.sync_type, "partial");
        assert_eq!(partial.parent_sync_id, full, "parent: the latest full sync");
        assert!(partial.ended_at.is_some());
        // Readers still pick the full sync.
        assert_eq!(latest_sync_id(&out), full);

        let (uid, role) = if n == 0 {
            (DAVE, "member")
        } else {
            (ALICE, "owner")
        };
        let sid = partial.sync_id.as_str();
        let resources: BTreeSet<String> = reader
            .resources(sid, None)
            .expect("resources")
            .iter()
            .map(|r| ids::resource_key(r.id.as_ref().expect("id")))
            .collect();
        assert_eq!(
            resources,
            BTreeSet::from([format!("user:{uid}"), format!("role:{role}")])
        );
        assert!(reader.entitlements(sid, None).expect("ents").is_empty());
        let grants: Vec<String> = reader
            .grants(sid, None)
            .expect("grants")
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(grants, [format!("role:{role}:assigned:user:{uid}")]);
        let counters = sim.counters();
        assert_eq!(
            counters.get("GET /Users/{id}").copied(),
            Some(1),
            "{counters:?}"
        );
        assert_eq!(
            counters.get("GET /Users").copied(),
            None,
            "no listing: {counters:?}"
        );
    }

    let output =
        run_binary_async(&["inspect", "syncs", "-f", &out_s, "--output", "json"], &[]).await;
    let listed: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("inspect syncs prints JSON");
    let mut types: Vec<&str> = listed["syncs"]
        .as_array()
        .expect("syncs")
        .iter()
        .map(|s| s["sync_type"].as_str().expect("type"))
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["full", "partial", "partial"]);
    sim.shutdown().await;
}

/// Acceptance 2: a targeted group brings its member entitlement and membership grants.
#[tokio::test]
async fn a_targeted_group_brings_its_entitlement_and_memberships() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let local = Local::new(connector(&sim, &SimConfig::default().token));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("group.c1z");
    let group = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    let opts = SyncOptions {
        targeted: vec![v2::Resource {
            id: Some(ids::resource_id("group", group)),
            ..Default::default()
        }],
        ..SyncOptions::default()
    };
    let report = sync_to_file(&local, &out, opts)
        .await
        .expect("targeted sync");
    assert_eq!(report.stats.resources, 1);
    assert_eq!(report.stats.entitlements, 1);
    assert_eq!(report.stats.grants, 3, "Engineering has three members");
    let counters = sim.counters();
    assert_eq!(
        counters.get("GET /Groups/{id}").copied(),
        Some(1),
        "{counters:?}"
    );
    sim.shutdown().await;
}

/// Acceptance 2: a user deleted in Notion is `NotFound` over gRPC, and a targeted sync of it
/// skips it instead of failing.
#[tokio::test]
async fn get_resource_of_a_deleted_user_is_not_found() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let token = SimConfig::default().token;
    let (addr, stop) = serve_connector(connector(&sim, &token)).await;
    let remote = Remote::connect(&addr).await.expect("connects");
    let get = |id: &str| v2::ResourceGetterServiceGetResourceRequest {
        resource_id: Some(ids::resource_id("user", id)),
        ..Default::default()
    };
    let found = remote.get_resource(get(DAVE)).await.expect("Dave is there");
    assert_eq!(
        found.resource.expect("resource").display_name,
        "Dave Member"
    );
    let role = remote
        .get_resource(v2::ResourceGetterServiceGetResourceRequest {
            resource_id: Some(ids::resource_id("role", "owner")),
            ..Default::default()
        })
        .await
        .expect("roles are static");
    assert!(role.resource.is_some());

    let scim = notion::Client::new(ClientConfig::new(sim.base_url(), Secret::new(&token)))
        .expect("client");
    scim.users()
        .delete(&UserId::from(DAVE.to_owned()))
        .await
        .expect("deleted");
    let err = remote.get_resource(get(DAVE)).await.expect_err("gone");
    assert_eq!(err.code, Code::NotFound, "{err:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gone.c1z");
    let opts = SyncOptions {
        targeted: vec![v2::Resource {
            id: Some(ids::resource_id("user", DAVE)),
            ..Default::default()
        }],
        ..SyncOptions::default()
    };
    let report = sync_to_file(&remote, &out, opts)
        .await
        .expect("skips, not fails");
    assert_eq!(report.stats.resources, 0);
    stop.cancel();
    sim.shutdown().await;
}

/// Acceptance 3: 429 with `Retry-After: 7` on every call and no retries: the status is
/// `Unavailable` with a `RateLimitDescription` (OVERLIMIT, `reset_at` 7 s ahead) in its
/// details; `RateLimiterService.Do` answers, over limit until then.
#[tokio::test]
async fn a_throttled_call_carries_its_reset_time_and_the_limiter_answers() {
    let sim = start(
        Dataset::reference(),
        SimConfig {
            rate_limit_share: 1.0,
            retry_after_secs: 7,
            ..SimConfig::default()
        },
    )
    .await;
    let mut cfg = ClientConfig::new(sim.base_url(), Secret::new(SimConfig::default().token));
    cfg.retry = RetryConfig {
        max_attempts: 1,
        ..RetryConfig::default()
    };
    let connector = Arc::new(NotionConnector::new(
        notion::Client::new(cfg).expect("client"),
    ));
    let (addr, stop) = serve_connector(connector).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connects");
    let mut limiter =
        rl::rate_limiter_service_client::RateLimiterServiceClient::new(channel.clone());
    let ask = rl::DoRequest {
        request_token: "t-1".to_owned(),
        service: "connector".to_owned(),
        descriptors: None,
    };
    let before = limiter
        .r#do(ask.clone())
        .await
        .expect("Do answers")
        .into_inner();
    assert_eq!(before.request_token, "t-1");
    assert_eq!(
        before.description.expect("description").status,
        rl::rate_limit_description::Status::Empty as i32,
        "no limit known yet"
    );

    let mut resources = v2::resources_service_client::ResourcesServiceClient::new(channel);
    let status = resources
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("throttled");
    let asked_at = SystemTime::now();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let details = rpc::Status::decode(status.details()).expect("a google.rpc.Status in details");
    let description: v2::RateLimitDescription =
        annotations::find(&details.details).expect("a RateLimitDescription");
    assert_eq!(
        description.status,
        v2::rate_limit_description::Status::Overlimit as i32
    );
    let reset_at = SystemTime::try_from(description.reset_at.expect("reset_at")).expect("time");
    let ahead = reset_at.duration_since(asked_at).unwrap_or(Duration::ZERO);
    assert!(
        ahead >= Duration::from_secs(6) && ahead <= Duration::from_secs(8),
        "reset_at is {ahead:?} ahead, not 7 s"
    );

    let after = limiter.r#do(ask).await.expect("Do answers").into_inner();
    let d = after.description.expect("description");
    assert_eq!(
        d.status,
        rl::rate_limit_description::Status::Overlimit as i32
    );
    assert_eq!(
        d.reset_at, description.reset_at,
        "over limit until Notion's reset"
    );
    limiter
        .report(rl::ReportRequest::default())
        .await
        .expect("Report answers");
    stop.cancel();
    sim.shutdown().await;
}

/// Acceptance 4: the capabilities advertise targeted sync, per type and for service mode.
#[test]
fn capabilities_advertise_targeted_sync() {
    let out = run_binary(&["capabilities"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("\"CAPABILITY_TARGETED_SYNC\"").count(),
        4,
        "{text}"
    );
    assert!(
        text.contains("\"CAPABILITY_SERVICE_MODE_TARGETED_SYNC\""),
        "{text}"
    );
}
