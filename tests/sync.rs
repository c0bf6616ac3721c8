//! End-to-end sync: the simulator over loopback → the Notion connector → the sync engine →
//! a `.c1z`, read back with the store's reader. Covers the foundation issue's acceptance
//! points: parity with the Go connector's artifact, paging, failures that keep the previous
//! artifact, and token secrecy.

mod common;

use std::time::Duration;

use baton_notion::baton::annotations::has;
use baton_notion::baton::c1z::Reader;
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, GenSpec, SimConfig};
use common::*;

#[tokio::test]
async fn reference_workspace_matches_the_go_connector_ids() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let report = sync_into(&sim, &out).await.expect("sync succeeds");

    let ours = ids_of(&out);
    let go = ids_of(&fixture("go-baton-notion-reference.c1z"));
    assert_eq!(
        ours, go,
        "resource, entitlement and grant ids equal the Go connector's"
    );
    assert_eq!(ours.resource_types.len(), 3);
    assert_eq!(ours.resources.len(), 11);
    assert_eq!(ours.entitlements.len(), 6);
    assert_eq!(ours.grants.len(), 10);
    assert_eq!(report.stats.resources, 11);
    assert_eq!(report.stats.grants, 10);

    // Every resource carries the trait of its type.
    let reader = Reader::open(&out).expect("opens");
    let sync = reader.latest_sync().expect("readable").expect("a sync");
    assert!(sync.ended_at.is_some(), "the sync run is finished");
    assert!(sync.supports_diff);
    for r in reader
        .resources(sync.sync_id.as_ref(), None)
        .expect("resources")
    {
        let t = r.id.as_ref().expect("id").resource_type.clone();
        let ok = match t.as_str() {
            "user" => has::<v2::UserTrait>(&r.annotations),
            "group" => has::<v2::GroupTrait>(&r.annotations),
            "role" => has::<v2::RoleTrait>(&r.annotations),
            other => panic!("unexpected type {other}"),
        };
        assert!(ok, "{t} resource {:?} lacks its trait", r.display_name);
    }

    // Minimal requests: validation + one page of users + one page of groups.
    let counts = sim.counters();
    assert_eq!(counts.get("GET /Users").copied(), Some(1));
    assert_eq!(counts.get("GET /Groups").copied(), Some(1));
    assert_eq!(counts.get("GET /Groups/{id}").copied().unwrap_or(0), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_profiles_keep_role_and_names() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    let reader = Reader::open(&out).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let users = reader.resources(sid.as_ref(), Some("user")).expect("users");
    let alice = users
        .iter()
        .find(|u| u.display_name == "Alice Owner")
        .expect("Alice is synced");
    let trait_: v2::UserTrait =
        baton_notion::baton::annotations::find(&alice.annotations).expect("user trait");
    assert_eq!(trait_.login, "owner@example.com");
    assert_eq!(trait_.emails[0].address, "owner@example.com");
    assert!(trait_.emails[0].is_primary);
    let name = trait_.structured_name.expect("structured name");
    assert_eq!(
        (name.given_name.as_str(), name.family_name.as_str()),
        ("Alice", "Owner")
    );
    let profile = alice.profile.as_ref().expect("profile");
    let role = baton_notion::baton::resource::profile_str(Some(profile), "workspace_role");
    assert_eq!(role, Some("owner"));
    sim.shutdown().await;
}

/// Each role's license trait carries the active users holding it, counted while users were
/// listed (several pages, some users inactive, some without the role extension), with no
/// request beyond the minimum.
#[tokio::test]
async fn role_licenses_carry_consumed_seats() {
    let dataset = Dataset::generate(&GenSpec {
        users: 450,
        groups: 3,
        members_per_group: 2,
        inactive_share: 0.1,
        ..GenSpec::default()
    });
    let mut expected = std::collections::BTreeMap::<String, i64>::new();
    for u in dataset.users.iter().filter(|u| u.active) {
        let role = u.role.clone().unwrap_or_else(|| "member".to_owned());
        *expected.entry(role).or_default() += 1;
    }
    assert!(expected.len() >= 3 && dataset.users.iter().any(|u| !u.active));
    let sim = start(dataset, SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    assert_eq!(sim.counters().get("GET /Users"), Some(&5));

    let reader = Reader::open(&out).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let roles = reader.resources(sid.as_ref(), Some("role")).expect("roles");
    assert_eq!(roles.len(), 4);
    for role in roles {
        let id = role.id.as_ref().expect("id").resource.clone();
        let license: v2::LicenseProfileTrait =
            baton_notion::baton::annotations::find(&role.annotations).expect("license trait");
        assert_eq!(
            license.consumed_seats,
            expected.get(&id).copied().unwrap_or(0),
            "consumed seats of {id}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_role_extension_means_member() {
    let carol = "33333333-3333-3333-3333-333333333333";
    let config = SimConfig {
        omit_role_for: vec![carol.to_owned()],
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    let ids = ids_of(&out);
    assert!(
        ids.grants
            .contains(&format!("role:member:assigned:user:{carol}"))
    );
    sim.shutdown().await;
}

async fn paged_sync(config: SimConfig) -> (Ids, std::collections::BTreeMap<String, u64>) {
    let dataset = Dataset::generate(&GenSpec {
        users: 250,
        groups: 3,
        members_per_group: 5,
        seed: 7,
        ..GenSpec::default()
    });
    let sim = start(dataset, config).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    let counts = sim.counters();
    sim.shutdown().await;
    (ids_of(&out), counts)
}

fn users_in(ids: &Ids) -> usize {
    ids.resources
        .iter()
        .filter(|r| r.starts_with("user:"))
        .count()
}

#[tokio::test]
async fn pages_by_resources_received() {
    let (ids, counts) = paged_sync(SimConfig::default()).await;
    assert_eq!(users_in(&ids), 250);
    assert_eq!(counts.get("GET /Users").copied(), Some(3), "{counts:?}");
    // Each user has exactly one role grant.
    let role_grants = ids.grants.iter().filter(|g| g.starts_with("role:")).count();
    assert_eq!(role_grants, 250);
}

#[tokio::test]
async fn survives_a_server_echoing_count_in_items_per_page() {
    let (ids, counts) = paged_sync(SimConfig {
        echo_count_in_items_per_page: true,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(users_in(&ids), 250);
    assert_eq!(counts.get("GET /Users").copied(), Some(3), "{counts:?}");
}

#[tokio::test]
async fn survives_a_server_repeating_page_one_past_the_end() {
    let (ids, counts) = paged_sync(SimConfig {
        repeat_first_page_past_end: true,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(users_in(&ids), 250);
    assert!(
        counts.get("GET /Users").copied().unwrap_or(0) <= 4,
        "{counts:?}"
    );
}

#[tokio::test]
async fn group_pages_without_members_fall_back_to_get() {
    let sim = start(
        Dataset::reference(),
        SimConfig {
            omit_group_members_in_list: true,
            ..SimConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    assert_eq!(
        ids_of(&out),
        ids_of(&fixture("go-baton-notion-reference.c1z"))
    );
    assert_eq!(sim.counters().get("GET /Groups/{id}").copied(), Some(2));
    sim.shutdown().await;
}

/// Runs the binary against `config`'s simulator with an existing artifact in place and checks
/// that it fails with one line and leaves the artifact and directory exactly as they were.
async fn fails_cleanly(config: SimConfig, token: &str, expect_in_message: &str) {
    let sim = start(
        Dataset::generate(&GenSpec {
            users: 300,
            groups: 2,
            members_per_group: 3,
            seed: 3,
            ..GenSpec::default()
        }),
        config,
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    std::fs::copy(fixture("go-baton-notion-reference.c1z"), &out).expect("copy fixture");
    let before = std::fs::read(&out).expect("read");
    let listing = files_in(dir.path());

    let base = sim.base_url();
    let out_s = out.to_string_lossy().into_owned();
    let token = token.to_owned();
    let output = run_binary_async(
        &["--base-url", &base, "-f", &out_s, "--log-format", "json"],
        // One retry: enough to show retries do not hide a dead server, without
        // waiting through the whole default backoff.
        &[("BATON_SCIM_TOKEN", &token), ("BATON_MAX_RETRIES", "1")],
    )
    .await;
    assert!(!output.status.success(), "the binary must fail");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().expect("a final line");
    assert!(last.starts_with("error: "), "final line: {last}");
    // The cause chain is printed once: no part of the message repeats.
    let parts: Vec<&str> = last.split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "repeated {p:?} in {last:?}");
    }
    assert!(
        last.contains(expect_in_message),
        "final line {last:?} should mention {expect_in_message:?}"
    );
    assert_eq!(
        std::fs::read(&out).expect("read"),
        before,
        "artifact unchanged"
    );
    assert_eq!(files_in(dir.path()), listing, "no temp file left behind");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_fails_cleanly() {
    fails_cleanly(SimConfig::default(), "not-the-token", "401").await;
}

#[tokio::test]
async fn a_server_dying_mid_sync_fails_cleanly() {
    fails_cleanly(
        SimConfig {
            die_after_requests: Some(2),
            ..SimConfig::default()
        },
        &SimConfig::default().token,
        "/Users",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_page_fails_cleanly() {
    fails_cleanly(
        SimConfig {
            malformed_json_at: Some(("/Users".to_owned(), 101)),
            ..SimConfig::default()
        },
        &SimConfig::default().token,
        "startIndex=101",
    )
    .await;
}

#[tokio::test]
async fn the_token_never_appears_in_output_logs_or_artifact() {
    let token = "secret_SCIM_tok_e2e_7f3a9c";
    let sim = start(
        Dataset::reference(),
        SimConfig {
            token: token.to_owned(),
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
            "--log-level",
            "debug",
            "--log-format",
            "json",
        ],
        &[("BATON_SCIM_TOKEN", token)],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("grants"), "summary printed: {stdout}");
    assert!(
        stderr.contains("debug") || stderr.contains("DEBUG"),
        "debug logs on: {stderr}"
    );
    assert!(!stdout.contains(token) && !stderr.contains(token));

    // Neither the compressed file nor the database inside it holds the token.
    let raw = std::fs::read(&out).expect("read");
    assert!(!contains(&raw, token.as_bytes()));
    let db = zstd::decode_all(&raw[5..]).expect("one zstd frame");
    assert!(!contains(&db, token.as_bytes()));
    sim.shutdown().await;
}

#[tokio::test]
async fn syncing_twice_appends_and_keeps_both() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let first = sync_into(&sim, &out).await.expect("first");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = sync_into(&sim, &out).await.expect("second");
    let reader = Reader::open(&out).expect("opens");
    let runs = reader.syncs().expect("syncs");
    assert_eq!(runs.len(), 2);
    assert_ne!(first.sync_id.to_string(), second.sync_id.to_string());
    assert_eq!(
        reader
            .latest_sync()
            .expect("ok")
            .expect("sync")
            .sync_id
            .to_string(),
        second.sync_id.to_string()
    );
    sim.shutdown().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn an_unknown_role_is_kept_warned_once_and_never_fatal() {
    let mut dataset = Dataset::reference();
    for u in dataset.users.iter_mut().take(2) {
        u.role = Some("workspace_auditor".to_owned());
    }
    let sim = start(dataset, SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let c = connector(&sim, &SimConfig::default().token);
    let local = baton_notion::baton::Local::new(c.clone());
    let report = baton_notion::baton::sync::sync_to_file(&local, &out, Default::default())
        .await
        .expect("an unknown role does not fail the sync");
    assert_eq!(report.stats.resources, 11);
    // The two users with the unknown role get no role grant; everyone else keeps theirs.
    assert_eq!(report.stats.grants, 10 - 2);
    let warnings = c.warnings();
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("workspace_auditor"))
            .count(),
        1,
        "warned once: {warnings:?}"
    );
    let reader = Reader::open(&out).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let kept = reader
        .resources(sid.as_ref(), Some("user"))
        .expect("users")
        .iter()
        .filter(|u| {
            baton_notion::baton::resource::profile_str(u.profile.as_ref(), "workspace_role")
                == Some("workspace_auditor")
        })
        .count();
    assert_eq!(kept, 2, "the unknown role stays in the profile");
    sim.shutdown().await;
}

#[tokio::test]
async fn resource_type_selection_and_resources_only() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let base = sim.base_url();
    let out_s = out.to_string_lossy().into_owned();
    let token = SimConfig::default().token;
    let output = run_binary_async(
        &[
            "--base-url",
            &base,
            "-f",
            &out_s,
            "--sync-resource-types",
            "user,role",
            "--skip-entitlements-and-grants",
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
    let sync = reader.latest_sync().expect("ok").expect("sync");
    assert_eq!(sync.sync_type, "resources_only");
    let ids = ids_of(&out);
    assert_eq!(ids.resource_types.len(), 2);
    assert_eq!(ids.resources.len(), 9);
    assert!(ids.entitlements.is_empty() && ids.grants.is_empty());
    assert_eq!(sim.counters().get("GET /Groups").copied().unwrap_or(0), 0);

    // An unknown type is a clear error, before anything is written.
    let base = sim.base_url();
    let out_s = out.to_string_lossy().into_owned();
    let token = SimConfig::default().token;
    let output = run_binary_async(
        &[
            "--base-url",
            &base,
            "-f",
            &out_s,
            "--sync-resource-types",
            "users",
        ],
        &[("BATON_SCIM_TOKEN", &token)],
    )
    .await;
    // A usage error, found before any request (tests/cli.rs checks that nothing is sent).
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown resource type \"users\""),
        "{stderr}"
    );
    sim.shutdown().await;
}
