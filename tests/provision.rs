//! Provisioning against the simulator, through the protocol-shaped client (the path the gRPC
//! server and the one-shot commands share): create, deprovision, roles, group membership —
//! each idempotent, each checked against the simulator's state and a fresh sync.

mod common;

use baton_notion::baton::annotations::{find, has};
use baton_notion::baton::resource::{ProfileValue, grant, profile};
use baton_notion::baton::{Code, ConnectorClient, Local, ids};
use baton_notion::connector::NotionConnector;
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, SimConfig, SimHandle};
use common::*;

const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const DAVE: &str = "44444444-4444-4444-4444-444444444444";
const EVE: &str = "55555555-5555-5555-5555-555555555555";
const ENGINEERING: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";

async fn setup() -> (SimHandle, Local<NotionConnector>) {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let c = connector(&sim, &SimConfig::default().token);
    (sim, Local::new(c))
}

fn user(id: &str) -> v2::Resource {
    v2::Resource {
        id: Some(ids::resource_id("user", id)),
        ..Default::default()
    }
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

async fn grant_req(
    client: &Local<NotionConnector>,
    e: v2::Entitlement,
    principal: &str,
) -> Result<v2::GrantManagerServiceGrantResponse, baton_notion::baton::ConnectorError> {
    client
        .grant(v2::GrantManagerServiceGrantRequest {
            entitlement: Some(e),
            principal: Some(user(principal)),
            annotations: vec![],
        })
        .await
}

async fn revoke_req(
    client: &Local<NotionConnector>,
    resource_type: &str,
    id: &str,
    slug: &str,
    principal: &str,
) -> Result<v2::GrantManagerServiceRevokeResponse, baton_notion::baton::ConnectorError> {
    let g = grant(
        &ids::resource_id(resource_type, id),
        slug,
        &ids::resource_id("user", principal),
    );
    client
        .revoke(v2::GrantManagerServiceRevokeRequest {
            grant: Some(g),
            annotations: vec![],
        })
        .await
}

async fn synced_grants(sim: &SimHandle) -> std::collections::BTreeSet<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(sim, &out).await.expect("sync");
    ids_of(&out).grants
}

fn account(email: &str) -> v2::CreateAccountRequest {
    v2::CreateAccountRequest {
        account_info: Some(v2::AccountInfo {
            profile: Some(profile([("email", ProfileValue::from(email))])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_then_create_again_is_already_exists() {
    let (sim, client) = setup().await;
    use v2::create_account_response::Result as R;
    let first = client
        .create_account(account("ada.lovelace@example.com"))
        .await
        .expect("created");
    let Some(R::Success(ok)) = first.result else {
        panic!("expected success, got {first:?}")
    };
    let created = ok.resource.expect("resource");
    assert_eq!(created.display_name, "Ada Lovelace");

    let again = client
        .create_account(account("ada.lovelace@example.com"))
        .await
        .expect("idempotent");
    let Some(R::AlreadyExists(existing)) = again.result else {
        panic!("expected already_exists, got {again:?}")
    };
    assert_eq!(existing.resource.expect("resource").id, created.id);
    let state = sim.state();
    assert_eq!(
        state
            .users
            .iter()
            .filter(|u| u.user_name == "ada.lovelace@example.com")
            .count(),
        1
    );
    let grants = synced_grants(&sim).await;
    let uid = created.id.expect("id").resource;
    assert!(grants.contains(&format!("role:member:assigned:user:{uid}")));
    sim.shutdown().await;
}

/// Notion documents `email` as the filterable attribute; `userName` is tried first (Entra's
/// habit) and a 400 falls back to `email eq`, so an existing member is still found.
#[tokio::test]
async fn an_existing_member_is_found_when_user_name_filters_are_refused() {
    let config = SimConfig {
        refuse_user_filters: vec!["userName".to_owned()],
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let client = Local::new(connector(&sim, &SimConfig::default().token));
    let existing = sim.state().users[1].user_name.clone();
    let before = sim.state().users.len();
    let resp = client
        .create_account(account(&existing))
        .await
        .expect("idempotent");
    use v2::create_account_response::Result as R;
    let Some(R::AlreadyExists(found)) = resp.result else {
        panic!("expected already_exists, got {resp:?}")
    };
    assert_eq!(
        found.resource.expect("resource").id.expect("id").resource,
        sim.state().users[1].id
    );
    assert_eq!(sim.state().users.len(), before, "nothing created");
    let filters: Vec<(u16, String)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == "GET /Users")
        .map(|r| (r.status, r.query.unwrap_or_default()))
        .collect();
    assert_eq!(filters.len(), 2, "{filters:?}");
    assert_eq!(filters[0].0, 400);
    assert!(filters[0].1.contains("userName"), "{filters:?}");
    assert_eq!(filters[1].0, 200);
    assert!(filters[1].1.contains("email"), "{filters:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let (sim, client) = setup().await;
    let before = sim.total_requests();
    let err = client
        .create_account(account("not-an-email"))
        .await
        .expect_err("bad email");
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(err.message.contains("not a valid email"), "{err}");
    let err = grant_req(&client, entitlement("role", "superuser", "assigned"), DAVE)
        .await
        .expect_err("unknown role");
    assert_eq!(err.code, Code::InvalidArgument);
    assert_eq!(sim.total_requests(), before, "no request was sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn role_grant_and_revoke_are_idempotent() {
    let (sim, client) = setup().await;
    let role_of = |sim: &SimHandle, id: &str| {
        sim.state()
            .users
            .iter()
            .find(|u| u.id == id)
            .and_then(|u| u.role.clone())
    };
    // Dave is a member; make him a membership admin.
    let resp = grant_req(
        &client,
        entitlement("role", "membership_admin", "assigned"),
        DAVE,
    )
    .await
    .expect("granted");
    let replaced: v2::GrantReplaced = find(&resp.annotations).expect("GrantReplaced");
    assert_eq!(
        replaced.replaced_grant_id,
        format!("role:member:assigned:user:{DAVE}")
    );
    assert_eq!(role_of(&sim, DAVE).as_deref(), Some("membership_admin"));
    let grants = synced_grants(&sim).await;
    assert!(grants.contains(&format!("role:membership_admin:assigned:user:{DAVE}")));
    assert!(!grants.contains(&format!("role:member:assigned:user:{DAVE}")));

    let again = grant_req(
        &client,
        entitlement("role", "membership_admin", "assigned"),
        DAVE,
    )
    .await
    .expect("idempotent");
    assert!(has::<v2::GrantAlreadyExists>(&again.annotations));

    let revoked = revoke_req(&client, "role", "membership_admin", "assigned", DAVE)
        .await
        .expect("revoked");
    assert!(revoked.annotations.is_empty());
    assert_eq!(role_of(&sim, DAVE).as_deref(), Some("restricted_member"));
    let grants = synced_grants(&sim).await;
    assert!(grants.contains(&format!("role:restricted_member:assigned:user:{DAVE}")));

    let again = revoke_req(&client, "role", "membership_admin", "assigned", DAVE)
        .await
        .expect("idempotent");
    assert!(has::<v2::GrantAlreadyRevoked>(&again.annotations));

    let floor = revoke_req(&client, "role", "restricted_member", "assigned", DAVE)
        .await
        .expect_err("the floor cannot be revoked");
    assert_eq!(floor.code, Code::FailedPrecondition);
    assert!(floor.message.contains("deprovision"), "{floor}");
    assert_eq!(role_of(&sim, DAVE).as_deref(), Some("restricted_member"));
    sim.shutdown().await;
}

#[tokio::test]
async fn group_membership_add_and_remove_never_replace_the_list() {
    let (sim, client) = setup().await;
    let members = |sim: &SimHandle| {
        sim.state()
            .groups
            .iter()
            .find(|g| g.id == ENGINEERING)
            .expect("group")
            .members
            .clone()
    };
    let before = members(&sim);
    let ent = || entitlement("group", ENGINEERING, "member");
    let added = grant_req(&client, ent(), EVE).await.expect("added");
    assert!(added.annotations.is_empty());
    assert_eq!(
        added.grants[0].id,
        format!("group:{ENGINEERING}:member:user:{EVE}")
    );
    let again = grant_req(&client, ent(), EVE).await.expect("idempotent");
    assert!(has::<v2::GrantAlreadyExists>(&again.annotations));
    let after = members(&sim);
    assert_eq!(after.iter().filter(|m| *m == EVE).count(), 1, "one entry");
    assert_eq!(after.len(), before.len() + 1, "the others stay");
    assert!(
        synced_grants(&sim)
            .await
            .contains(&format!("group:{ENGINEERING}:member:user:{EVE}"))
    );

    let removed = revoke_req(&client, "group", ENGINEERING, "member", EVE)
        .await
        .expect("removed");
    assert!(removed.annotations.is_empty());
    assert_eq!(members(&sim), before);
    let again = revoke_req(&client, "group", ENGINEERING, "member", EVE)
        .await
        .expect("idempotent");
    assert!(has::<v2::GrantAlreadyRevoked>(&again.annotations));
    assert!(
        !synced_grants(&sim)
            .await
            .contains(&format!("group:{ENGINEERING}:member:user:{EVE}"))
    );
    // Membership writes are PATCHes of the group; never a PUT of the whole list.
    assert!(sim.requests().iter().all(|r| r.method != "PUT"));
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_is_idempotent_and_the_token_owner_is_protected() {
    let (sim, client) = setup().await;
    let delete = |id: &str| {
        client.delete_resource(v2::DeleteResourceV2Request {
            resource_id: Some(ids::resource_id("user", id)),
            parent_resource_id: None,
        })
    };
    let gone = delete(DAVE).await.expect("deleted");
    assert!(gone.annotations.is_empty());
    assert!(sim.state().users.iter().all(|u| u.id != DAVE));
    let again = delete(DAVE).await.expect("idempotent");
    assert!(has::<v2::ResourceDoesNotExist>(&again.annotations));
    let grants = synced_grants(&sim).await;
    assert!(
        grants.iter().all(|g| !g.ends_with(DAVE)),
        "no grant of Dave is left"
    );

    let owner = delete(ALICE).await.expect_err("the token's owner stays");
    assert_eq!(owner.code, Code::PermissionDenied);
    assert!(owner.message.contains("cannot be removed"), "{owner}");
    sim.shutdown().await;
}

/// Runs the binary against `sim` with the simulator's token.
async fn cli(sim: &SimHandle, args: &[&str]) -> std::process::Output {
    let base = sim.base_url();
    let mut all = vec!["--base-url", base.as_str()];
    all.extend_from_slice(args);
    run_binary_async(&all, &[("BATON_SCIM_TOKEN", "sim-token")]).await
}

#[tokio::test]
async fn provision_command_dry_run_create_and_repeat() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let before = sim.total_requests();
    let dry = cli(
        &sim,
        &[
            "provision",
            "--email",
            "grace.hopper@example.com",
            "--role",
            "member",
            "--dry-run",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("JSON");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/Users");
    assert_eq!(v["body"]["userName"], "grace.hopper@example.com");
    assert_eq!(v["body"]["name"]["givenName"], "Grace");
    assert_eq!(
        v["body"]["urn:ietf:params:scim:schemas:extension:notion:2.0:User"]["role"],
        "member"
    );
    assert_eq!(sim.total_requests(), before, "a dry run sends nothing");

    let made = cli(
        &sim,
        &[
            "provision",
            "--email",
            "grace.hopper@example.com",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&made.stdout).expect("JSON");
    assert_eq!(first["result"], "created");
    let again = cli(
        &sim,
        &[
            "provision",
            "--email",
            "grace.hopper@example.com",
            "-o",
            "json",
        ],
    )
    .await;
    let second: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(second["result"], "already_exists");
    assert_eq!(first["id"], second["id"]);

    let before = sim.total_requests();
    let bad = cli(
        &sim,
        &[
            "provision",
            "--email",
            "grace.hopper@example.com",
            "--role",
            "admin",
        ],
    )
    .await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown role is a usage error"
    );
    let bad = cli(&sim, &["provision", "--email", "not-an-email"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid email"));
    assert_eq!(sim.total_requests(), before, "invalid input sends nothing");
    sim.shutdown().await;
}

#[tokio::test]
async fn one_shot_flags_hydrate_from_the_artifact() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    sync_into(&sim, &out).await.expect("sync");
    let file = out.to_string_lossy().into_owned();
    let ent = format!("group:{ENGINEERING}:member");

    let granted = cli(
        &sim,
        &[
            "-f",
            &file,
            "--grant-entitlement",
            &ent,
            "--grant-principal",
            EVE,
            "--grant-principal-type",
            "user",
        ],
    )
    .await;
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert!(
        String::from_utf8_lossy(&granted.stdout).contains(&format!("granted {ent}:user:{EVE}"))
    );
    assert!(
        sim.state()
            .groups
            .iter()
            .any(|g| g.id == ENGINEERING && g.members.iter().any(|m| m == EVE))
    );

    // Revoking a grant that is in the file.
    let dave_grant = format!("{ent}:user:{DAVE}");
    let revoked = cli(&sim, &["-f", &file, "--revoke-grant", &dave_grant]).await;
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(
        sim.state()
            .groups
            .iter()
            .any(|g| g.id == ENGINEERING && g.members.iter().all(|m| m != DAVE))
    );

    // An id missing from the file is a clear error and sends nothing.
    let before = sim.total_requests();
    let missing = cli(
        &sim,
        &[
            "-f",
            &file,
            "--revoke-grant",
            "group:nope:member:user:nobody",
        ],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("is not in the latest sync"), "{err}");
    assert_eq!(sim.total_requests(), before);

    // Flags that do not belong together are refused before anything happens.
    let mixed = cli(
        &sim,
        &[
            "-f",
            &file,
            "--revoke-grant",
            &dave_grant,
            "--delete-resource",
            DAVE,
        ],
    )
    .await;
    assert_eq!(mixed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("mutually exclusive"));

    let deleted = cli(
        &sim,
        &["--delete-resource", DAVE, "--delete-resource-type", "user"],
    )
    .await;
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let again = cli(
        &sim,
        &["--delete-resource", DAVE, "--delete-resource-type", "user"],
    )
    .await;
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already gone"));
    sim.shutdown().await;
}

#[tokio::test]
async fn suspend_mode_keeps_the_member_listed_as_disabled() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let out = cli(
        &sim,
        &[
            "--delete-resource",
            DAVE,
            "--delete-resource-type",
            "user",
            "--deprovision-mode",
            "suspend",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dave = sim
        .state()
        .users
        .into_iter()
        .find(|u| u.id == DAVE)
        .expect("still listed");
    assert!(!dave.active);
    assert!(sim.requests().iter().any(|r| r.method == "PATCH"));
    assert!(sim.requests().iter().all(|r| r.method != "DELETE"));
    sim.shutdown().await;
}
