//! Acting on the organization (issue #15) against the simulator's reference organization:
//! revoking personal access tokens and MCP connections, agent roles, group owners and members
//! through the Admin API — over gRPC (`baton::server` in this process, provisioning on), the
//! one-shot flags (and their `--dry-run`) through the binary, and a service-mode task through
//! the fake ConductorOne. After each write the simulator's state is checked through its API,
//! then a fresh sync.

mod common;

use std::time::Duration;

use baton_notion::baton::annotations::{find, has};
use baton_notion::baton::ids;
use baton_notion::baton::resource::grant;
use baton_notion::pb::v2;
use baton_notion::sim::admin::{AgentRole, GroupRole, Organization, PatStatus, Principal};
use baton_notion::sim::{Dataset, SimConfig, SimHandle};
use common::*;
use tonic::Code;
use tonic::transport::Channel;

const S1: &str = "5c1a0000-0000-4000-8000-000000000001";
const S2: &str = "5c1a0000-0000-4000-8000-000000000002";
const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const CAROL: &str = "33333333-3333-3333-3333-333333333333";
const DAVE: &str = "44444444-4444-4444-4444-444444444444";
const FRANK: &str = "66666666-6666-4666-8666-666666666666";
const ENG: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const DESIGN: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const ONBOARDING: &str = "a9e70000-0000-4000-8000-000000000001";
const PAT_ACTIVE: &str = "7a700000-0000-4000-8000-000000000001";
const PAT_NO_EXPIRY: &str = "7a700000-0000-4000-8000-000000000004";
const PAT_EXPIRED: &str = "7a700000-0000-4000-8000-000000000002";
const ADMIN_TOKEN: &str = "sim-admin-token";
/// A token that may read everything and write nothing.
const READ_ONLY: &str = "adm_read_only";

async fn org_sim() -> SimHandle {
    let dataset = Dataset::reference();
    let all = SimConfig::default().admin_tokens;
    let mut read_only = all[0].clone();
    read_only.token = READ_ONLY.to_owned();
    read_only.scopes.retain(|s| s.ends_with(":read"));
    let mut tokens = all;
    tokens.push(read_only);
    let config = SimConfig {
        organization: Some(Organization::reference(&dataset)),
        admin_tokens: tokens,
        ..SimConfig::default()
    };
    start(dataset, config).await
}

/// The connector over gRPC on loopback, provisioning on.
async fn grpc(sim: &SimHandle, admin_token: &str) -> Channel {
    serve_in_process(both_views(sim, admin_token), true).await.1
}

fn org(sim: &SimHandle) -> Organization {
    sim.organization().expect("an organization")
}

fn pat_status(sim: &SimHandle, id: &str) -> PatStatus {
    org(sim)
        .spaces
        .iter()
        .flat_map(|s| s.pats.iter())
        .find(|p| p.id == id)
        .expect("the token exists")
        .status
}

fn agent_permissions(sim: &SimHandle, agent: &str) -> Vec<(Principal, AgentRole)> {
    org(sim)
        .spaces
        .iter()
        .flat_map(|s| s.agents.iter())
        .find(|a| a.id == agent)
        .expect("the agent exists")
        .permissions
        .iter()
        .map(|p| (p.principal.clone(), p.role))
        .collect()
}

/// A user's role in a group, as the simulator holds it: the SCIM workspace's groups keep
/// their members in the SCIM dataset and only the owners in the organization.
fn group_role(sim: &SimHandle, group: &str, user: &str) -> Option<GroupRole> {
    let org = org(sim);
    let listed = org
        .spaces
        .iter()
        .flat_map(|s| s.groups.iter())
        .find(|g| g.id == group)
        .and_then(|g| g.members.iter().find(|m| m.user_id == user))
        .map(|m| m.role);
    let scim_member = sim
        .state()
        .groups
        .iter()
        .any(|g| g.id == group && g.members.iter().any(|m| m == user));
    listed.or(scim_member.then_some(GroupRole::Member))
}

fn writes(sim: &SimHandle) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

/// A fresh sync (new connector, both tokens) into `dir`; its ids.
async fn fresh_sync(sim: &SimHandle, dir: &std::path::Path, name: &str) -> Ids {
    let out = dir.join(name);
    sync_both_into(sim, ADMIN_TOKEN, &out).await.expect("sync");
    ids_of(&out)
}

fn entitlement(resource_type: &str, id: &str, slug: &str) -> v2::Entitlement {
    let rid = ids::resource_id(resource_type, id);
    v2::Entitlement {
        id: ids::entitlement_id(&rid, slug),
        resource: Some(v2::Resource {
            id: Some(rid),
            ..Default::default()
        }),
        slug: slug.to_owned(),
        ..Default::default()
    }
}

fn resource(resource_type: &str, id: &str) -> v2::Resource {
    v2::Resource {
        id: Some(ids::resource_id(resource_type, id)),
        ..Default::default()
    }
}

async fn grant_on(
    ch: &Channel,
    on: (&str, &str, &str),
    who: (&str, &str),
) -> Result<v2::GrantManagerServiceGrantResponse, tonic::Status> {
    v2::grant_manager_service_client::GrantManagerServiceClient::new(ch.clone())
        .grant(v2::GrantManagerServiceGrantRequest {
            entitlement: Some(entitlement(on.0, on.1, on.2)),
            principal: Some(resource(who.0, who.1)),
            annotations: vec![],
        })
        .await
        .map(|r| r.into_inner())
}

async fn revoke_on(
    ch: &Channel,
    on: (&str, &str, &str),
    who: (&str, &str),
) -> Result<v2::GrantManagerServiceRevokeResponse, tonic::Status> {
    let g = grant(
        &ids::resource_id(on.0, on.1),
        on.2,
        &ids::resource_id(who.0, who.1),
    );
    v2::grant_manager_service_client::GrantManagerServiceClient::new(ch.clone())
        .revoke(v2::GrantManagerServiceRevokeRequest {
            grant: Some(g),
            annotations: vec![],
        })
        .await
        .map(|r| r.into_inner())
}

async fn delete_pat(ch: &Channel, id: &str) -> Result<Vec<prost_types::Any>, tonic::Status> {
    v2::resource_deleter_service_client::ResourceDeleterServiceClient::new(ch.clone())
        .delete_resource_v2(v2::DeleteResourceV2Request {
            resource_id: Some(ids::resource_id("personal_access_token", id)),
            parent_resource_id: None,
        })
        .await
        .map(|r| r.into_inner().annotations)
}

fn binary_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    vec![
        ("BATON_SCIM_TOKEN", SimConfig::default().token),
        ("BATON_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("BATON_BASE_URL", sim.base_url()),
        ("BATON_ADMIN_BASE_URL", sim.admin_base_url()),
    ]
}

async fn run(sim: &SimHandle, args: &[&str]) -> std::process::Output {
    run_with_env(args, &binary_env(sim)).await
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn pats_are_revoked_once_then_do_not_exist_and_a_dry_run_sends_nothing() {
    let sim = org_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ch = grpc(&sim, ADMIN_TOKEN).await;

    // gRPC: revoke, then again.
    let first = delete_pat(&ch, PAT_ACTIVE).await.expect("revoked");
    assert!(!has::<v2::ResourceDoesNotExist>(&first));
    assert_eq!(pat_status(&sim, PAT_ACTIVE), PatStatus::Revoked);
    let again = delete_pat(&ch, PAT_ACTIVE)
        .await
        .expect("a repeat succeeds");
    assert!(has::<v2::ResourceDoesNotExist>(&again));
    let gone = delete_pat(&ch, "7a700000-0000-4000-8000-00000000dead")
        .await
        .expect("an unknown token succeeds");
    assert!(has::<v2::ResourceDoesNotExist>(&gone));
    // An expired token had stopped working: revoked all the same, answered as already gone.
    let expired = delete_pat(&ch, PAT_EXPIRED).await.expect("expired");
    assert!(has::<v2::ResourceDoesNotExist>(&expired));
    assert_eq!(pat_status(&sim, PAT_EXPIRED), PatStatus::Revoked);

    // One-shot flags: the dry run prints the exact request and sends nothing.
    let synced = fresh_sync(&sim, dir.path(), "before.c1z").await;
    assert!(
        !synced
            .resources
            .contains(&format!("personal_access_token:{PAT_ACTIVE}"))
    );
    let file = dir.path().join("before.c1z");
    let file = file.to_string_lossy();
    let before = sim.total_requests();
    let dry = ok(&run(
        &sim,
        &[
            "-f",
            &file,
            "--delete-resource",
            PAT_NO_EXPIRY,
            "--delete-resource-type",
            "personal_access_token",
            "--dry-run",
        ],
    )
    .await);
    assert_eq!(sim.total_requests(), before, "the dry run sent nothing");
    let space = org(&sim)
        .spaces
        .iter()
        .find(|s| s.pats.iter().any(|p| p.id == PAT_NO_EXPIRY))
        .expect("the token's space")
        .id
        .clone();
    assert!(
        dry.contains(&format!(
            "DELETE /v1/spaces/{space}/personal_access_tokens/{PAT_NO_EXPIRY}"
        )),
        "{dry}"
    );
    assert_eq!(pat_status(&sim, PAT_NO_EXPIRY), PatStatus::Active);
    // An agent grant's dry run: the PATCH, and the role it would replace (from the file).
    let agent_ent = format!("agent:{ONBOARDING}:full_access");
    let dry = ok(&run(
        &sim,
        &[
            "-f",
            &file,
            "--grant-entitlement",
            &agent_ent,
            "--grant-principal",
            ENG,
            "--grant-principal-type",
            "group",
            "--dry-run",
        ],
    )
    .await);
    assert!(
        dry.contains(&format!(
            "PATCH /v1/spaces/{S1}/agents/{ONBOARDING}/permissions"
        )) && dry.contains("\"full_access\"")
            && dry.contains(&format!(
                "note: replaces agent:{ONBOARDING}:edit:group:{ENG}"
            )),
        "{dry}"
    );
    assert_eq!(sim.total_requests(), before, "the dry runs sent nothing");

    // The one-shot flags for real.
    let real = ok(&run(
        &sim,
        &[
            "-f",
            &file,
            "--delete-resource",
            PAT_NO_EXPIRY,
            "--delete-resource-type",
            "personal_access_token",
        ],
    )
    .await);
    assert!(real.contains("deleted"), "{real}");
    assert_eq!(pat_status(&sim, PAT_NO_EXPIRY), PatStatus::Revoked);
    let after = fresh_sync(&sim, dir.path(), "after.c1z").await;
    assert!(
        !after
            .resources
            .contains(&format!("personal_access_token:{PAT_NO_EXPIRY}"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_mcp_connection_is_revoked_once() {
    let sim = org_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ch = grpc(&sim, ADMIN_TOKEN).await;
    // The key holds ':' and '/': the id carries it escaped.
    let id = format!("{S2}/cursor%3Ateam%2Facme");
    let on = ("mcp_client", id.as_str(), "connected");
    let connected = |sim: &SimHandle| {
        org(sim).mcp_connections.iter().any(|c| {
            c.client_key == "cursor:team/acme"
                && c.user_id == FRANK
                && c.workspace_ids.iter().any(|w| w == S2)
        })
    };
    assert!(connected(&sim));
    let first = revoke_on(&ch, on, ("user", FRANK)).await.expect("revoked");
    assert!(!has::<v2::GrantAlreadyRevoked>(&first.annotations));
    assert!(!connected(&sim));
    let again = revoke_on(&ch, on, ("user", FRANK)).await.expect("a repeat");
    assert!(has::<v2::GrantAlreadyRevoked>(&again.annotations));
    // Carol's Claude in S1 only; her S2 connection stays.
    revoke_on(
        &ch,
        ("mcp_client", &format!("{S1}/claude-desktop"), "connected"),
        ("user", CAROL),
    )
    .await
    .expect("revoked");
    let granted = grant_on(&ch, on, ("user", FRANK)).await;
    assert_eq!(
        granted.expect_err("cannot connect").code(),
        Code::FailedPrecondition
    );

    let ids = fresh_sync(&sim, dir.path(), "after.c1z").await;
    assert!(
        !ids.grants
            .contains(&format!("mcp_client:{id}:connected:user:{FRANK}"))
    );
    assert!(!ids.grants.contains(&format!(
        "mcp_client:{S1}/claude-desktop:connected:user:{CAROL}"
    )));
    assert!(ids.grants.contains(&format!(
        "mcp_client:{S2}/claude-desktop:connected:user:{CAROL}"
    )));
    assert!(ids.grants.contains(&format!(
        "mcp_client:{S1}/claude-desktop:connected:user:{ALICE}"
    )));
    sim.shutdown().await;
}

#[tokio::test]
async fn agent_roles_are_granted_replaced_and_revoked_idempotently() {
    let sim = org_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ch = grpc(&sim, ADMIN_TOKEN).await;
    let carol = Principal::User(CAROL.to_owned());
    let edit = ("agent", ONBOARDING, "edit");
    let full = ("agent", ONBOARDING, "full_access");

    let g = grant_on(&ch, edit, ("user", CAROL)).await.expect("granted");
    assert!(g.annotations.is_empty(), "a new grant");
    assert!(agent_permissions(&sim, ONBOARDING).contains(&(carol.clone(), AgentRole::Edit)));

    let up = grant_on(&ch, full, ("user", CAROL))
        .await
        .expect("replaced");
    let replaced: v2::GrantReplaced = find(&up.annotations).expect("GrantReplaced");
    assert_eq!(
        replaced.replaced_grant_id,
        format!("agent:{ONBOARDING}:edit:user:{CAROL}")
    );
    let perms = agent_permissions(&sim, ONBOARDING);
    assert!(perms.contains(&(carol.clone(), AgentRole::FullAccess)));
    assert!(!perms.contains(&(carol.clone(), AgentRole::Edit)));

    let before = writes(&sim);
    let same = grant_on(&ch, full, ("user", CAROL)).await.expect("repeat");
    assert!(has::<v2::GrantAlreadyExists>(&same.annotations));
    // Revoking a role not held (edit) leaves the held one alone.
    let other = revoke_on(&ch, edit, ("user", CAROL))
        .await
        .expect("not held");
    assert!(has::<v2::GrantAlreadyRevoked>(&other.annotations));
    assert_eq!(writes(&sim), before, "repeats send no write");

    let r = revoke_on(&ch, full, ("user", CAROL))
        .await
        .expect("revoked");
    assert!(r.annotations.is_empty());
    assert!(
        !agent_permissions(&sim, ONBOARDING)
            .iter()
            .any(|(p, _)| *p == carol)
    );
    let again = revoke_on(&ch, full, ("user", CAROL)).await.expect("repeat");
    assert!(has::<v2::GrantAlreadyRevoked>(&again.annotations));

    // A group principal: Engineering holds edit; full_access replaces it.
    let eng = Principal::Group(ENG.to_owned());
    let up = grant_on(&ch, full, ("group", ENG)).await.expect("replaced");
    let replaced: v2::GrantReplaced = find(&up.annotations).expect("GrantReplaced");
    assert_eq!(
        replaced.replaced_grant_id,
        format!("agent:{ONBOARDING}:edit:group:{ENG}")
    );
    assert!(agent_permissions(&sim, ONBOARDING).contains(&(eng.clone(), AgentRole::FullAccess)));
    // The workspace principal's view_and_interact goes.
    revoke_on(
        &ch,
        ("agent", ONBOARDING, "view_and_interact"),
        ("workspace", S1),
    )
    .await
    .expect("revoked");
    assert!(
        !agent_permissions(&sim, ONBOARDING)
            .iter()
            .any(|(p, _)| *p == Principal::Workspace)
    );

    let ids = fresh_sync(&sim, dir.path(), "after.c1z").await;
    assert!(
        ids.grants
            .contains(&format!("agent:{ONBOARDING}:full_access:group:{ENG}"))
    );
    assert!(
        !ids.grants
            .contains(&format!("agent:{ONBOARDING}:edit:group:{ENG}"))
    );
    assert!(
        !ids.grants
            .iter()
            .any(|g| g.contains(&format!("user:{CAROL}")) && g.starts_with("agent:"))
    );
    assert!(!ids.grants.contains(&format!(
        "agent:{ONBOARDING}:view_and_interact:workspace:{S1}"
    )));
    sim.shutdown().await;
}

#[tokio::test]
async fn group_owners_and_members_go_through_the_admin_api() {
    let sim = org_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ch = grpc(&sim, ADMIN_TOKEN).await;
    let scim_before = sim
        .requests()
        .iter()
        .filter(|r| r.path.contains("/scim/") && r.method != "GET")
        .count();

    // A member promoted; a non-member added as owner.
    grant_on(&ch, ("group", ENG, "owner"), ("user", CAROL))
        .await
        .expect("promoted");
    assert_eq!(group_role(&sim, ENG, CAROL), Some(GroupRole::Owner));
    grant_on(&ch, ("group", DESIGN, "owner"), ("user", DAVE))
        .await
        .expect("added");
    assert_eq!(group_role(&sim, DESIGN, DAVE), Some(GroupRole::Owner));
    let again = grant_on(&ch, ("group", DESIGN, "owner"), ("user", DAVE))
        .await
        .expect("repeat");
    assert!(has::<v2::GrantAlreadyExists>(&again.annotations));
    let member = grant_on(&ch, ("group", DESIGN, "member"), ("user", DAVE))
        .await
        .expect("held");
    assert!(has::<v2::GrantAlreadyExists>(&member.annotations));

    // Revoking owner demotes; again is already revoked.
    revoke_on(&ch, ("group", ENG, "owner"), ("user", ALICE))
        .await
        .expect("demoted");
    assert_eq!(group_role(&sim, ENG, ALICE), Some(GroupRole::Member));
    let again = revoke_on(&ch, ("group", ENG, "owner"), ("user", ALICE))
        .await
        .expect("repeat");
    assert!(has::<v2::GrantAlreadyRevoked>(&again.annotations));
    // Revoking member removes.
    revoke_on(&ch, ("group", ENG, "member"), ("user", DAVE))
        .await
        .expect("removed");
    assert_eq!(group_role(&sim, ENG, DAVE), None);

    let scim_after = sim
        .requests()
        .iter()
        .filter(|r| r.path.contains("/scim/") && r.method != "GET")
        .count();
    assert_eq!(
        scim_after, scim_before,
        "no SCIM writes with an admin token"
    );

    let ids = fresh_sync(&sim, dir.path(), "after.c1z").await;
    for g in [
        format!("group:{ENG}:owner:user:{CAROL}"),
        format!("group:{DESIGN}:owner:user:{DAVE}"),
        format!("group:{DESIGN}:member:user:{DAVE}"),
        format!("group:{ENG}:member:user:{ALICE}"),
    ] {
        assert!(ids.grants.contains(&g), "{g}");
    }
    for g in [
        format!("group:{ENG}:owner:user:{ALICE}"),
        format!("group:{ENG}:member:user:{DAVE}"),
    ] {
        assert!(!ids.grants.contains(&g), "{g}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_token_without_the_write_scope_changes_nothing() {
    let sim = org_sim().await;
    let ch = grpc(&sim, READ_ONLY).await;
    let err = delete_pat(&ch, PAT_ACTIVE).await.expect_err("refused");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message()
            .contains("personal-access-token:write-high-impact"),
        "{}",
        err.message()
    );
    assert!(!err.message().contains('\n'), "one line: {}", err.message());
    assert!(!err.message().contains(READ_ONLY), "no token in errors");
    assert_eq!(pat_status(&sim, PAT_ACTIVE), PatStatus::Active);

    let err = grant_on(&ch, ("agent", ONBOARDING, "edit"), ("user", CAROL))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("workflows:write"),
        "{}",
        err.message()
    );
    assert!(
        !agent_permissions(&sim, ONBOARDING)
            .iter()
            .any(|(p, _)| *p == Principal::User(CAROL.to_owned()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_service_mode_revoke_task_revokes_the_connection() {
    use baton_notion::pb::c1::connectorapi::baton::v1 as api;
    use common::fake_c1::FakeC1;
    let sim = org_sim().await;
    let fake = FakeC1::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_service(&fake, dir.path(), &[], &binary_env(&sim));
    let g = grant(
        &ids::resource_id("mcp_client", &format!("{S1}/claude-desktop")),
        "connected",
        &ids::resource_id("user", ALICE),
    );
    fake.push(api::Task {
        id: "revoke-1".into(),
        task_type: Some(api::task::TaskType::Revoke(api::task::RevokeTask {
            grant: Some(g),
            annotations: vec![],
        })),
        ..Default::default()
    });
    let finish = fake.finished("revoke-1", Duration::from_secs(60)).await;
    assert!(
        matches!(
            finish.final_state,
            Some(api::baton_service_finish_task_request::FinalState::Success(
                _
            ))
        ),
        "{:?}",
        finish.status
    );
    assert!(!org(&sim).mcp_connections.iter().any(|c| {
        c.client_key == "claude-desktop"
            && c.user_id == ALICE
            && c.workspace_ids.iter().any(|w| w == S1)
    }));
    let _ = child.kill().await;
    fake.stop().await;
    let ids = fresh_sync(&sim, dir.path(), "after.c1z").await;
    assert!(!ids.grants.contains(&format!(
        "mcp_client:{S1}/claude-desktop:connected:user:{ALICE}"
    )));
    sim.shutdown().await;
}
