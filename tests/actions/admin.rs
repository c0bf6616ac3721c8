//! The Admin API actions (#15 acceptance 5 and 6): `revoke_sessions` on `user`,
//! `disable_agent` / `enable_agent` on `agent`, against the simulator's reference organization,
//! over gRPC, the one-shot flags and a service-mode task; the simulator's state is read after
//! each call (its record of revoked sessions, its agents listing).

use super::*;
use baton_notion::sim::admin::{ALL_SCOPES, Organization, reference_ids as org};
use baton_notion::sim::{DEFAULT_ADMIN_TOKEN, SimAdminToken};

/// A token with every scope but the two write scopes these actions need.
const READ_ONLY_TOKEN: &str = "adm_readonlyT0ken";

async fn org_sim() -> SimHandle {
    let dataset = Dataset::reference();
    let read_only: Vec<String> = ALL_SCOPES
        .iter()
        .filter(|s| !matches!(**s, "managed-user-session:write" | "workflows:write"))
        .map(|s| (*s).to_owned())
        .collect();
    let config = SimConfig {
        organization: Some(Organization::reference(&dataset)),
        admin_tokens: vec![
            SimAdminToken {
                token: DEFAULT_ADMIN_TOKEN.to_owned(),
                scopes: ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            },
            SimAdminToken {
                token: READ_ONLY_TOKEN.to_owned(),
                scopes: read_only,
            },
        ],
        ..SimConfig::default()
    };
    start(dataset, config).await
}

async fn serve_org(sim: &SimHandle, admin_token: &str, provisioning: bool) -> Channel {
    serve_in_process(both_views(sim, admin_token), provisioning)
        .await
        .1
}

fn agent_args(agent: &str, workspace: Option<&str>) -> Struct {
    let mut pairs = vec![(
        "agent_id",
        fields::resource_id_value(&baton_notion::baton::ids::resource_id("agent", agent)),
    )];
    if let Some(w) = workspace {
        pairs.push((
            "workspace_id",
            fields::resource_id_value(&baton_notion::baton::ids::resource_id("workspace", w)),
        ));
    }
    fields::object(pairs)
}

fn on(resource_type: &str, name: &str, args: Struct) -> v2::InvokeActionRequest {
    v2::InvokeActionRequest {
        resource_type_id: resource_type.to_owned(),
        ..invoke(name, args)
    }
}

fn revoked_sessions(sim: &SimHandle) -> Vec<String> {
    sim.organization().expect("organization").revoked_sessions
}

/// The agent's status as the simulator's Admin API lists it.
async fn agent_status(sim: &SimHandle, space: &str, agent: &str) -> String {
    let admin = admin_client(sim, DEFAULT_ADMIN_TOKEN);
    let page = admin.agents(space, None).await.expect("agents listed");
    assert!(page.next_cursor.is_none(), "one page in the reference");
    page.items
        .into_iter()
        .find(|a| a.id == agent)
        .expect("agent listed")
        .status
}

fn reply_str(resp: &Option<Struct>, key: &str) -> String {
    resp.as_ref()
        .and_then(|r| fields::get_str(r, key))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn admin_actions_are_listed_and_change_the_organization() {
    let sim = org_sim().await;
    let channel = serve_org(&sim, DEFAULT_ADMIN_TOKEN, true).await;
    let mut actions = ActionServiceClient::new(channel);
    let all = actions
        .list_action_schemas(v2::ListActionSchemasRequest::default())
        .await
        .expect("listed")
        .into_inner();
    let mut names: Vec<(&str, &str)> = all
        .schemas
        .iter()
        .map(|s| (s.resource_type_id.as_str(), s.name.as_str()))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            ("agent", "disable_agent"),
            ("agent", "enable_agent"),
            ("user", "disable_user"),
            ("user", "enable_user"),
            ("user", "revoke_sessions"),
        ]
    );
    let schema = actions
        .get_action_schema(v2::GetActionSchemaRequest {
            name: "disable_agent".into(),
            ..Default::default()
        })
        .await
        .expect("found")
        .into_inner()
        .schema
        .expect("schema");
    let args: Vec<(&str, bool)> = schema
        .arguments
        .iter()
        .map(|f| (f.name.as_str(), f.is_required))
        .collect();
    assert_eq!(args, [("agent_id", true), ("workspace_id", false)]);
    let returns: Vec<&str> = schema
        .return_types
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(returns, ["success", "changed", "status", "message"]);

    // revoke_sessions: the simulator records the sign-out.
    assert!(revoked_sessions(&sim).is_empty());
    let r = actions
        .invoke_action(invoke("revoke_sessions", user_args(CAROL)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Complete as i32, "{r:?}");
    assert_eq!(reply_bool(&r.response, "success"), Some(true));
    assert_eq!(revoked_sessions(&sim), [CAROL]);

    // disable_agent without its workspace: found in the organization's second workspace.
    let (space, triage) = (org::OTHER_SPACE, org::AGENT_TRIAGE);
    assert_eq!(agent_status(&sim, space, triage).await, "active");
    let r = actions
        .invoke_action(on("agent", "disable_agent", agent_args(triage, None)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Complete as i32, "{r:?}");
    assert_eq!(reply_bool(&r.response, "changed"), Some(true));
    assert_eq!(reply_str(&r.response, "status"), "disabled");
    assert_eq!(agent_status(&sim, space, triage).await, "disabled_from_api");

    // A repeat (with the workspace, as a sync's parent id gives it) writes nothing.
    let before = writes(&sim);
    let r = actions
        .invoke_action(on(
            "agent",
            "disable_agent",
            agent_args(triage, Some(space)),
        ))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Complete as i32, "{r:?}");
    assert_eq!(reply_bool(&r.response, "changed"), Some(false));
    assert!(reply_str(&r.response, "message").contains("already disabled"));
    assert_eq!(writes(&sim), before, "a repeat writes nothing");

    let r = actions
        .invoke_action(on("agent", "enable_agent", agent_args(triage, Some(space))))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(reply_bool(&r.response, "changed"), Some(true), "{r:?}");
    assert_eq!(agent_status(&sim, space, triage).await, "active");

    // An agent in the wrong workspace, or a deleted one: the action fails, nothing written.
    let before = writes(&sim);
    for args in [
        agent_args(triage, Some(org::SCIM_SPACE)),
        agent_args(org::AGENT_DELETED, None),
    ] {
        let r = actions
            .invoke_action(on("agent", "disable_agent", args))
            .await
            .expect("invoked")
            .into_inner();
        assert_eq!(r.status, v2::BatonActionStatus::Failed as i32, "{r:?}");
        assert!(reply_str(&r.response, "error").contains("no live custom agent"));
    }
    assert_eq!(writes(&sim), before);

    // The SCIM user actions still work beside them.
    let r = actions
        .invoke_action(invoke("disable_user", user_args(CAROL)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(reply_bool(&r.response, "changed"), Some(true), "{r:?}");
    assert!(!active(&sim, CAROL));
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_action_refusals_send_nothing() {
    let sim = org_sim().await;
    let channel = serve_org(&sim, DEFAULT_ADMIN_TOKEN, true).await;
    let mut actions = ActionServiceClient::new(channel);
    sim.reset_counters();
    let before = sim.organization();

    let unknown = actions
        .invoke_action(on(
            "agent",
            "delete_agent",
            agent_args(org::AGENT_TRIAGE, None),
        ))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let workspace = |id: &str| {
        fields::resource_id_value(&baton_notion::baton::ids::resource_id("workspace", id))
    };
    for (name, rt, bad) in [
        ("disable_agent", "agent", fields::object::<&str>([])),
        (
            "disable_agent",
            "agent",
            fields::object([("agent_id", workspace(org::AGENT_TRIAGE))]),
        ),
        (
            "enable_agent",
            "agent",
            fields::object([
                (
                    "agent_id",
                    fields::resource_id_value(&baton_notion::baton::ids::resource_id(
                        "agent",
                        org::AGENT_TRIAGE,
                    )),
                ),
                ("workspace_id", Kind::StringValue(org::OTHER_SPACE.into())),
            ]),
        ),
        ("revoke_sessions", "user", fields::object::<&str>([])),
        (
            "revoke_sessions",
            "user",
            fields::object([("user_id", Kind::StringValue(CAROL.into()))]),
        ),
        ("revoke_sessions", "user", {
            let mut a = user_args(CAROL);
            a.fields.insert(
                "everywhere".into(),
                prost_types::Value {
                    kind: Some(Kind::BoolValue(true)),
                },
            );
            a
        }),
    ] {
        let status = actions
            .invoke_action(on(rt, name, bad.clone()))
            .await
            .expect_err("bad arguments");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{name} {bad:?}"
        );
        assert!(status.message().contains(name), "{}", status.message());
    }
    assert!(sim.requests().is_empty(), "no request reached Notion");

    // Without provisioning: refused, nothing sent.
    let channel = serve_org(&sim, DEFAULT_ADMIN_TOKEN, false).await;
    let mut refused = ActionServiceClient::new(channel);
    for req in [
        invoke("revoke_sessions", user_args(CAROL)),
        on(
            "agent",
            "disable_agent",
            agent_args(org::AGENT_TRIAGE, None),
        ),
        on("agent", "enable_agent", agent_args(org::AGENT_TRIAGE, None)),
    ] {
        let status = refused.invoke_action(req).await.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(status.message(), PROVISIONING_DISABLED);
    }
    assert!(sim.requests().is_empty(), "no request reached Notion");
    assert_eq!(sim.organization(), before);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_token_lacking_the_write_scope_names_it_and_changes_nothing() {
    let sim = org_sim().await;
    let channel = serve_org(&sim, READ_ONLY_TOKEN, true).await;
    let mut actions = ActionServiceClient::new(channel);
    let before = sim.organization();
    for (req, scope) in [
        (
            invoke("revoke_sessions", user_args(CAROL)),
            "managed-user-session:write",
        ),
        (
            on(
                "agent",
                "disable_agent",
                agent_args(org::AGENT_TRIAGE, None),
            ),
            "workflows:write",
        ),
    ] {
        let r = actions
            .invoke_action(req)
            .await
            .expect("invoked")
            .into_inner();
        assert_eq!(r.status, v2::BatonActionStatus::Failed as i32, "{r:?}");
        let error = reply_str(&r.response, "error");
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains(&format!("`{scope}`")), "{error}");
        assert!(error.contains("403"), "{error}");
        assert!(!error.contains(READ_ONLY_TOKEN), "{error}");
    }
    assert_eq!(sim.organization(), before, "nothing changed");
    sim.shutdown().await;
}

fn org_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let mut env = binary_env(sim);
    env.push(("BATON_ADMIN_TOKEN", DEFAULT_ADMIN_TOKEN.to_owned()));
    env.push(("BATON_ADMIN_BASE_URL", sim.admin_base_url()));
    env
}

async fn run_org(sim: &SimHandle, args: &[&str]) -> std::process::Output {
    run_with_env(args, &org_env(sim)).await
}

#[tokio::test]
async fn the_one_shot_flags_run_the_admin_actions() {
    let sim = org_sim().await;
    let listed = run_org(&sim, &["--list-action-schemas"]).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let names: Vec<&str> = listed["schemas"]
        .as_array()
        .expect("schemas")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for n in ["revoke_sessions", "disable_agent", "enable_agent"] {
        assert!(names.contains(&n), "{names:?}");
    }

    let session_args =
        format!(r#"{{"user_id":{{"resource_type_id":"user","resource_id":"{CAROL}"}}}}"#);
    let refused = run_org(
        &sim,
        &[
            "--invoke-action",
            "revoke_sessions",
            "--invoke-action-resource-type",
            "user",
            "--invoke-action-args",
            &session_args,
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(PROVISIONING_DISABLED));
    assert!(revoked_sessions(&sim).is_empty());

    let out = run_org(
        &sim,
        &[
            "--invoke-action",
            "revoke_sessions",
            "--invoke-action-resource-type",
            "user",
            "--invoke-action-args",
            &session_args,
            "--provisioning",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(resp["status"], "BATON_ACTION_STATUS_COMPLETE", "{resp}");
    assert_eq!(revoked_sessions(&sim), [CAROL]);

    let agent_args = format!(
        r#"{{"agent_id":{{"resource_type_id":"agent","resource_id":"{}"}}}}"#,
        org::AGENT_ONBOARDING
    );
    let out = run_org(
        &sim,
        &[
            "--invoke-action",
            "disable_agent",
            "--invoke-action-resource-type",
            "agent",
            "--invoke-action-args",
            &agent_args,
            "--provisioning",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(resp["response"]["changed"], true, "{resp}");
    assert_eq!(
        agent_status(&sim, org::SCIM_SPACE, org::AGENT_ONBOARDING).await,
        "disabled_from_api"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_service_mode_task_disables_an_agent() {
    use common::fake_c1::FakeC1;
    use prost::Message as _;
    let sim = org_sim().await;
    let fake = FakeC1::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_service(
        &fake,
        dir.path(),
        &["--base-url", &sim.base_url()],
        &[
            ("BATON_SCIM_TOKEN", SimConfig::default().token),
            ("BATON_ADMIN_TOKEN", DEFAULT_ADMIN_TOKEN.to_owned()),
            ("BATON_ADMIN_BASE_URL", sim.admin_base_url()),
        ],
    );
    let task = |id: &str, t: api::task::TaskType| api::Task {
        id: id.to_owned(),
        task_type: Some(t),
        ..Default::default()
    };
    for (id, name, rt, args) in [
        (
            "agent-1",
            "disable_agent",
            "agent",
            agent_args(org::AGENT_TRIAGE, Some(org::OTHER_SPACE)),
        ),
        ("sessions-1", "revoke_sessions", "user", user_args(CAROL)),
    ] {
        fake.push(task(
            id,
            api::task::TaskType::ActionInvoke(api::task::ActionInvokeTask {
                name: name.into(),
                args: Some(args),
                resource_type_id: rt.into(),
                ..Default::default()
            }),
        ));
        let finish = fake.finished(id, Duration::from_secs(60)).await;
        let Some(api::baton_service_finish_task_request::FinalState::Success(ok)) =
            finish.final_state
        else {
            panic!("the task {id} failed: {:?}", finish.status);
        };
        let resp =
            v2::InvokeActionResponse::decode(ok.response.expect("a response").value.as_slice())
                .expect("an InvokeActionResponse");
        assert_eq!(
            resp.status,
            v2::BatonActionStatus::Complete as i32,
            "{resp:?}"
        );
    }
    assert_eq!(
        agent_status(&sim, org::OTHER_SPACE, org::AGENT_TRIAGE).await,
        "disabled_from_api"
    );
    assert_eq!(revoked_sessions(&sim), [CAROL]);
    let _ = child.kill().await;
    fake.stop().await;
    sim.shutdown().await;
}
