//! The organization view (issue #14) end to end: the simulator's reference organization → the
//! Admin (and SCIM) client → the connector → the sync engine → a `.c1z`.
//!
//! The expected lists below are spelled out by hand from `Organization::reference` (see
//! `src/sim/admin/org.rs`), not produced by running the code.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use baton_notion::baton::Local;
use baton_notion::baton::annotations::{find, has};
use baton_notion::baton::c1z::Reader;
use baton_notion::baton::sync::{SyncOptions, sync_to_file};
use baton_notion::connector::NotionConnector;
use baton_notion::pb::v2;
use baton_notion::sim::admin::Organization;
use baton_notion::sim::{Dataset, SimAdminToken, SimConfig, SimHandle};
use common::*;

const S1: &str = "5c1a0000-0000-4000-8000-000000000001";
const S2: &str = "5c1a0000-0000-4000-8000-000000000002";
const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const BOB: &str = "22222222-2222-2222-2222-222222222222";
const CAROL: &str = "33333333-3333-3333-3333-333333333333";
const DAVE: &str = "44444444-4444-4444-4444-444444444444";
const EVE: &str = "55555555-5555-5555-5555-555555555555";
const FRANK: &str = "66666666-6666-4666-8666-666666666666";
const GRACE: &str = "77777777-7777-4777-8777-777777777777";
const NAMELESS: &str = "88888888-8888-4888-8888-888888888888";
const BOT1: &str = "b0700000-0000-4000-8000-000000000001";
const BOT2: &str = "b0700000-0000-4000-8000-000000000002";
const ENG: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const DESIGN: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const CONTRACTORS: &str = "grp_3f9a1c";
const ONBOARDING: &str = "a9e70000-0000-4000-8000-000000000001";
const TRIAGE: &str = "a9e70000-0000-4000-8000-000000000002";

/// An admin token no other text could contain.
const ADMIN_TOKEN: &str = "adm_Zq8s3cr3tOrgB0tT0ken";

async fn org_sim(tokens: Vec<SimAdminToken>) -> SimHandle {
    let dataset = Dataset::reference();
    let config = SimConfig {
        organization: Some(Organization::reference(&dataset)),
        admin_tokens: tokens,
        ..SimConfig::default()
    };
    start(dataset, config).await
}

fn s(v: &[String]) -> std::collections::BTreeSet<String> {
    v.iter().cloned().collect()
}

fn user(id: &str) -> String {
    format!("user:{id}")
}

/// The hand-spelled fixture of the reference organization with both tokens; `roles`: the
/// SCIM view's role type, its resources and grants are included.
fn expected(roles: bool) -> Ids {
    let mut types = vec![
        "workspace",
        "user",
        "group",
        "bot",
        "personal_access_token",
        "mcp_client",
        "agent",
    ];
    let mut resources: Vec<String> = vec![
        format!("workspace:{S1}"),
        format!("workspace:{S2}"),
        user(ALICE),
        user(BOB),
        user(CAROL),
        user(DAVE),
        user(EVE),
        user(FRANK),
        user(GRACE),
        user(NAMELESS),
        format!("group:{ENG}"),
        format!("group:{DESIGN}"),
        format!("group:{CONTRACTORS}"),
        format!("bot:{BOT1}"),
        format!("bot:{BOT2}"),
        // Active and expired tokens; the revoked one (…0003) is history.
        "personal_access_token:7a700000-0000-4000-8000-000000000001".into(),
        "personal_access_token:7a700000-0000-4000-8000-000000000002".into(),
        "personal_access_token:7a700000-0000-4000-8000-000000000004".into(),
        // Claude in both workspaces (Carol connected it in both), Cursor's key escaped.
        format!("mcp_client:{S1}/claude-desktop"),
        format!("mcp_client:{S2}/claude-desktop"),
        format!("mcp_client:{S2}/cursor%3Ateam%2Facme"),
        // Custom and alive only: no autofill, no deleted agent.
        format!("agent:{ONBOARDING}"),
        format!("agent:{TRIAGE}"),
    ];
    let mut entitlements: Vec<String> = vec![
        format!("workspace:{S1}:member"),
        format!("workspace:{S2}:member"),
        format!("group:{ENG}:member"),
        format!("group:{ENG}:owner"),
        format!("group:{DESIGN}:member"),
        format!("group:{DESIGN}:owner"),
        format!("group:{CONTRACTORS}:member"),
        format!("group:{CONTRACTORS}:owner"),
        format!("mcp_client:{S1}/claude-desktop:connected"),
        format!("mcp_client:{S2}/claude-desktop:connected"),
        format!("mcp_client:{S2}/cursor%3Ateam%2Facme:connected"),
    ];
    for a in [ONBOARDING, TRIAGE] {
        for r in ["view_and_interact", "edit", "full_access"] {
            entitlements.push(format!("agent:{a}:{r}"));
        }
    }
    let mut grants: Vec<String> = Vec::new();
    for m in [ALICE, BOB, CAROL, DAVE, EVE] {
        grants.push(format!("workspace:{S1}:member:user:{m}"));
    }
    grants.push(format!("workspace:{S1}:member:bot:{BOT1}"));
    for m in [CAROL, FRANK, GRACE, NAMELESS] {
        grants.push(format!("workspace:{S2}:member:user:{m}"));
    }
    grants.push(format!("workspace:{S2}:member:bot:{BOT2}"));
    for m in [ALICE, CAROL, DAVE] {
        grants.push(format!("group:{ENG}:member:user:{m}"));
    }
    grants.push(format!("group:{ENG}:owner:user:{ALICE}"));
    for m in [BOB, EVE] {
        grants.push(format!("group:{DESIGN}:member:user:{m}"));
    }
    for m in [FRANK, GRACE, CAROL] {
        grants.push(format!("group:{CONTRACTORS}:member:user:{m}"));
    }
    grants.push(format!("group:{CONTRACTORS}:owner:user:{FRANK}"));
    grants.push(format!(
        "mcp_client:{S1}/claude-desktop:connected:user:{ALICE}"
    ));
    grants.push(format!(
        "mcp_client:{S1}/claude-desktop:connected:user:{CAROL}"
    ));
    grants.push(format!(
        "mcp_client:{S2}/claude-desktop:connected:user:{CAROL}"
    ));
    grants.push(format!(
        "mcp_client:{S2}/cursor%3Ateam%2Facme:connected:user:{FRANK}"
    ));
    grants.push(format!("agent:{ONBOARDING}:full_access:user:{BOB}"));
    grants.push(format!("agent:{ONBOARDING}:edit:group:{ENG}"));
    grants.push(format!(
        "agent:{ONBOARDING}:view_and_interact:workspace:{S1}"
    ));
    grants.push(format!("agent:{TRIAGE}:edit:user:{FRANK}"));
    grants.push(format!(
        "agent:{TRIAGE}:view_and_interact:group:{CONTRACTORS}"
    ));
    if roles {
        types.push("role");
        for r in ["owner", "membership_admin", "member", "restricted_member"] {
            resources.push(format!("role:{r}"));
            entitlements.push(format!("role:{r}:assigned"));
        }
        for (u, r) in [
            (ALICE, "owner"),
            (BOB, "membership_admin"),
            (CAROL, "member"),
            (DAVE, "member"),
            (EVE, "restricted_member"),
        ] {
            grants.push(format!("role:{r}:assigned:user:{u}"));
        }
    }
    Ids {
        resource_types: types.into_iter().map(str::to_owned).collect(),
        resources: s(&resources),
        entitlements: s(&entitlements),
        grants: s(&grants),
    }
}

/// Every resource of the latest sync carries its type's trait; child types have a parent.
fn assert_traits_and_parents(path: &Path) {
    let reader = Reader::open(path).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let resources = reader.resources(sid.as_ref(), None).expect("resources");
    assert!(!resources.is_empty());
    for r in resources {
        let id = r.id.clone().expect("id");
        let ok = match id.resource_type.as_str() {
            "user" | "bot" => has::<v2::UserTrait>(&r.annotations),
            "group" | "workspace" => has::<v2::GroupTrait>(&r.annotations),
            "role" => has::<v2::RoleTrait>(&r.annotations),
            "personal_access_token" => has::<v2::SecretTrait>(&r.annotations),
            "mcp_client" => has::<v2::AppTrait>(&r.annotations),
            "agent" => has::<v2::AgentTrait>(&r.annotations),
            other => panic!("unexpected type {other}"),
        };
        assert!(ok, "{id:?} lacks its trait");
        if matches!(
            id.resource_type.as_str(),
            "personal_access_token" | "mcp_client" | "agent"
        ) {
            let parent = r
                .parent_resource_id
                .clone()
                .expect("a child has its workspace");
            assert_eq!(parent.resource_type, "workspace");
            assert!([S1, S2].contains(&parent.resource.as_str()), "{parent:?}");
        }
        if id.resource_type == "bot" {
            let t: v2::UserTrait = find(&r.annotations).expect("trait");
            assert_eq!(t.account_type, v2::user_trait::AccountType::Service as i32);
        }
    }
}

#[tokio::test]
async fn both_tokens_yield_exactly_the_hand_spelled_fixture() {
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("org.c1z");
    let connector = both_views(&sim, ADMIN_TOKEN);
    let report = sync_to_file(&Local::new(connector.clone()), &out, SyncOptions::default())
        .await
        .expect("sync succeeds");
    let ours = ids_of(&out);
    let want = expected(true);
    assert_eq!(ours.resource_types, want.resource_types);
    assert_eq!(ours.resources, want.resources);
    assert_eq!(ours.entitlements, want.entitlements);
    assert_eq!(ours.grants, want.grants);
    assert_eq!(report.dropped.total(), 0, "no dangling grant");
    assert_traits_and_parents(&out);

    // Details the ids do not show.
    let reader = Reader::open(&out).expect("opens");
    let sid = reader.latest_sync().expect("ok").expect("sync").sync_id;
    let resources = reader.resources(sid.as_ref(), None).expect("resources");
    let by_id: BTreeMap<String, v2::Resource> = resources
        .into_iter()
        .map(|r| {
            let id = r.id.clone().expect("id");
            (format!("{}:{}", id.resource_type, id.resource), r)
        })
        .collect();
    // SCIM's record wins: Carol keeps her SCIM profile (workspace role); Admin-only people
    // are enabled, named name → email → id.
    let carol = &by_id[&user(CAROL)];
    assert!(
        carol
            .profile
            .as_ref()
            .expect("profile")
            .fields
            .contains_key("workspace_role")
    );
    assert_eq!(by_id[&user(FRANK)].display_name, "Frank Other");
    assert_eq!(by_id[&user(NAMELESS)].display_name, "nameless@example.com");
    assert_eq!(by_id[&user(GRACE)].display_name, "Grace Noemail");
    let frank: v2::UserTrait = find(&by_id[&user(FRANK)].annotations).expect("trait");
    assert_eq!(frank.emails[0].address, "frank.other@example.com");
    // The active token acts as Alice.
    let pat = &by_id["personal_access_token:7a700000-0000-4000-8000-000000000001"];
    assert_eq!(pat.display_name, "CI deploy");
    let secret: v2::SecretTrait = find(&pat.annotations).expect("secret trait");
    assert_eq!(secret.identity_id.expect("identity").resource, ALICE);
    assert!(secret.expires_at.is_some() && secret.last_used_at.is_some());
    // The MCP grant keeps the connection's facts.
    let grants = reader.grants(sid.as_ref(), None).expect("grants");
    let alice_claude = grants
        .iter()
        .find(|g| g.id == format!("mcp_client:{S1}/claude-desktop:connected:user:{ALICE}"))
        .expect("grant");
    let meta: v2::GrantMetadata = find(&alice_claude.annotations).expect("metadata");
    let m = meta.metadata.expect("struct");
    assert!(m.fields.contains_key("last_active_at"));
    assert!(m.fields.contains_key("idp_issuer"));

    // Minimal requests, exactly: one listing pass per collection, per-item only for group
    // members (3 groups) and agent permissions (2 custom live agents); spaces twice
    // (validation + listing).
    let c = sim.counters();
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    for (endpoint, n) in [
        ("GET /admin/v1/spaces", 2),
        ("GET /admin/v1/spaces/{space_id}/users", 2),
        ("GET /admin/v1/spaces/{space_id}/groups", 2),
        (
            "GET /admin/v1/spaces/{space_id}/groups/{group_id}/members",
            3,
        ),
        ("GET /admin/v1/spaces/{space_id}/personal_access_tokens", 2),
        ("GET /admin/v1/spaces/{space_id}/agents", 2),
        (
            "GET /admin/v1/spaces/{space_id}/agents/{agent_id}/permissions",
            2,
        ),
        ("GET /admin/v1/mcp_client_connections", 1),
        ("GET /Users", 1),
        ("GET /Groups", 0),
    ] {
        assert_eq!(get(endpoint), n, "{endpoint}: {c:?}");
    }
    let admin = connector.admin_client().expect("admin client");
    assert_eq!(admin.request_counts().values().sum::<u64>(), 16);
    // The simulator's own count of the fewest list requests (what the bench's minimum uses)
    // agrees: everything but the validation call.
    let dataset = Dataset::reference();
    let counts = Organization::reference(&dataset).counts(&dataset);
    assert_eq!(1 + counts.list_requests, 16, "{counts:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn scim_only_still_equals_the_go_connector_ids() {
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("scim.c1z");
    sync_into(&sim, &out).await.expect("sync succeeds");
    assert_eq!(
        ids_of(&out),
        ids_of(&fixture("go-baton-notion-reference.c1z"))
    );
    assert!(
        sim.counters().keys().all(|k| !k.starts_with("GET /admin")),
        "no Admin API request without an admin token"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_admin_token_alone_syncs_the_organization_without_roles() {
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("admin.c1z");
    let connector = Arc::new(NotionConnector::organization(admin_client(
        &sim,
        ADMIN_TOKEN,
    )));
    let report = sync_to_file(&Local::new(connector), &out, SyncOptions::default())
        .await
        .expect("sync succeeds");
    assert_eq!(ids_of(&out), expected(false));
    assert_eq!(report.dropped.total(), 0);
    assert_traits_and_parents(&out);
    assert!(
        sim.counters().keys().all(|k| k.starts_with("GET /admin")),
        "no SCIM request without a SCIM token: {:?}",
        sim.counters()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_sync_over_grpc_equals_the_in_process_one() {
    use baton_notion::baton::remote::Remote;
    use baton_notion::baton::server::{ServeOptions, serve};
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local.c1z");
    sync_both_into(&sim, ADMIN_TOKEN, &local)
        .await
        .expect("in-process sync");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        Arc::new(Local::new(both_views(&sim, ADMIN_TOKEN))),
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let remote = Remote::connect(&addr.to_string()).await.expect("connects");
    let over = dir.path().join("remote.c1z");
    sync_to_file(&remote, &over, SyncOptions::default())
        .await
        .expect("sync over gRPC");
    let _ = stop.send(());
    let _ = task.await;
    assert_eq!(ids_of(&over), ids_of(&local));
    assert_eq!(ids_of(&over), expected(true));
    assert_traits_and_parents(&over);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_scope_is_one_line_naming_it_and_keeps_the_artifact() {
    let scopes: Vec<String> = baton_notion::sim::admin::ALL_SCOPES
        .iter()
        .filter(|s| **s != "user:read")
        .map(|s| (*s).to_owned())
        .collect();
    let sim = org_sim(vec![SimAdminToken {
        token: ADMIN_TOKEN.to_owned(),
        scopes,
    }])
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("a SCIM-only sync first");
    let before = std::fs::read(&out).expect("artifact");
    let err = sync_both_into(&sim, ADMIN_TOKEN, &out)
        .await
        .expect_err("the users listing is refused");
    let text = format!("{:#}", anyhow::Error::from(err));
    assert!(text.contains("user:read"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains(ADMIN_TOKEN));
    assert_eq!(
        std::fs::read(&out).expect("artifact"),
        before,
        "left as it was"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_admin_token_is_never_printed_logged_or_stored() {
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bin.c1z");
    let out_s = out.to_str().expect("utf-8 path");
    let (base, admin_base) = (sim.base_url(), sim.admin_base_url());
    let run = run_binary_async(
        &[
            "--base-url",
            &base,
            "--admin-base-url",
            &admin_base,
            "-f",
            out_s,
            "--log-level",
            "debug",
            "--no-progress",
        ],
        &[
            ("BATON_SCIM_TOKEN", SimConfig::default().token.as_str()),
            ("BATON_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stdout.contains("admin requests"), "{stdout}");
    assert!(
        stderr.contains("DEBUG") || stderr.contains("debug"),
        "debug logs on"
    );
    assert!(!stdout.contains(ADMIN_TOKEN) && !stderr.contains(ADMIN_TOKEN));
    // The artifact, decompressed (magic, then one zstd frame of SQLite).
    let bytes = std::fs::read(&out).expect("artifact");
    let db = zstd::stream::decode_all(&bytes[5..]).expect("zstd");
    let needle = ADMIN_TOKEN.as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle));
    assert_eq!(ids_of(&out), expected(true));

    // `capabilities` and `config` show the organization view only when it is configured.
    let caps = run_binary_async(&["capabilities"], &[("BATON_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let caps = String::from_utf8_lossy(&caps.stdout).into_owned();
    assert!(caps.contains("\"mcp_client\"") && !caps.contains(ADMIN_TOKEN));
    let config = run_binary_async(&["config"], &[("BATON_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let config = String::from_utf8_lossy(&config.stdout).into_owned();
    assert!(config.contains("\"admin-token\"") && !config.contains(ADMIN_TOKEN));
    let plain = run_binary_async(&["capabilities"], &[]).await;
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("mcp_client"));
    sim.shutdown().await;
}

#[tokio::test]
async fn diff_shows_revoked_tokens_and_ai_connections() {
    use baton_notion::ops::diff::{Change, diff};
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("org.c1z");
    sync_both_into(&sim, ADMIN_TOKEN, &out)
        .await
        .expect("first sync");
    let admin = admin_client(&sim, ADMIN_TOKEN);
    admin
        .revoke_personal_access_token(S1, "7a700000-0000-4000-8000-000000000001")
        .await
        .expect("revokes the token");
    admin
        .revoke_mcp_connection("cursor:team/acme", FRANK, S2)
        .await
        .expect("revokes the connection");
    sync_both_into(&sim, ADMIN_TOKEN, &out)
        .await
        .expect("second sync");
    let report = diff(&out, None).expect("diff");
    let cursor = format!("{S2}/cursor%3Ateam%2Facme");
    let removed: Vec<(String, String)> = report
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::ResourceRemoved { resource } => {
                Some((resource.resource_type.clone(), resource.id.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        removed,
        [
            ("mcp_client".to_owned(), cursor.clone()),
            (
                "personal_access_token".to_owned(),
                "7a700000-0000-4000-8000-000000000001".to_owned()
            ),
        ]
    );
    assert!(report.changes.iter().any(|c| matches!(c,
        Change::GrantRemoved { entitlement_id, principal }
            if *entitlement_id == format!("mcp_client:{cursor}:connected") && principal.id == FRANK)));
    assert_eq!(report.summary.resources_added, 0);
    let table = report.render(baton_notion::ops::Format::Table);
    assert!(
        table.contains("token removed") && table.contains("AI client removed"),
        "{table}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn with_both_tokens_scim_groups_are_not_fetched_ahead() {
    // With an admin token the organization view lists the groups, so SCIM's group listing is
    // not the one after the users and its first page must not be fetched ahead. Pages of one
    // user make the SCIM users' listing long enough to read ahead (and so to prime).
    let sim = org_sim(vec![SimAdminToken::all_scopes(ADMIN_TOKEN)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("org.c1z");
    let connector = both_views(&sim, ADMIN_TOKEN);
    let opts = SyncOptions {
        page_size: 1,
        ..SyncOptions::default()
    };
    sync_to_file(&Local::new(connector), &out, opts)
        .await
        .expect("sync succeeds");
    let c = sim.counters();
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    assert!(
        get("GET /Users") > 2,
        "the users come in several pages: {c:?}"
    );
    assert_eq!(get("GET /Groups"), 0, "{c:?}");
    assert_eq!(ids_of(&out).resources, expected(true).resources);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_members_load_while_scim_users_are_listed() {
    // The Admin API's members (cursor-paged, one round trip after another) and SCIM's users
    // have separate limits: the former must not wait for the latter. Without the background
    // load, the first Admin members request would go out only once the engine had SCIM's last
    // page, at least one latency after that page reached the simulator.
    let latency = std::time::Duration::from_millis(100);
    let dataset = Dataset::reference();
    let config = SimConfig {
        organization: Some(Organization::reference(&dataset)),
        admin_tokens: vec![SimAdminToken::all_scopes(ADMIN_TOKEN)],
        latency,
        ..SimConfig::default()
    };
    let sim = start(dataset, config).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("org.c1z");
    let opts = SyncOptions {
        page_size: 1,
        ..SyncOptions::default()
    };
    sync_to_file(&Local::new(both_views(&sim, ADMIN_TOKEN)), &out, opts)
        .await
        .expect("sync succeeds");
    let requests = sim.requests();
    let arrivals = |endpoint: &str| {
        requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .map(|r| r.at)
            .collect::<Vec<_>>()
    };
    let scim = arrivals("GET /Users");
    let admin = arrivals("GET /admin/v1/spaces/{space_id}/users");
    assert!(scim.len() > 2, "SCIM's users come in several pages");
    let (last_scim, first_admin) = (scim.iter().max(), admin.iter().min());
    let (Some(&last_scim), Some(&first_admin)) = (last_scim, first_admin) else {
        panic!("both listings ran: {requests:?}");
    };
    assert!(
        first_admin < last_scim + latency,
        "the Admin members went out at {first_admin:?}, SCIM's last page at {last_scim:?}"
    );
    // The same requests as ever, and the same artifact.
    let c = sim.counters();
    assert_eq!(c.get("GET /admin/v1/spaces/{space_id}/users"), Some(&2));
    assert_eq!(
        c.get("GET /admin/v1/spaces/{space_id}/groups/{group_id}/members"),
        Some(&3)
    );
    assert_eq!(ids_of(&out).grants, expected(true).grants);
    sim.shutdown().await;
}
