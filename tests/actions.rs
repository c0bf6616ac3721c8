//! Baton actions against the simulator: over gRPC (the `ActionService` of `baton::server`), the
//! SDK's one-shot flags through the binary, and a service-mode task through the fake
//! ConductorOne. The simulator's state is checked after each call.
//!
//! - ListActionSchemas / GetActionSchema show `disable_user` and `enable_user` on `user`, typed;
//!   GetMetadata advertises `CAPABILITY_ACTIONS`;
//! - InvokeAction `disable_user` suspends the member (SCIM `active=false`), a repeat is a
//!   success with `changed: false` and no write; `enable_user` brings them back;
//!   GetActionStatus answers for the ids;
//! - unknown action → `NotFound`; bad arguments → `InvalidArgument` with no request reaching
//!   the simulator; without provisioning → `FailedPrecondition`, nothing changed.
//!
//! The Admin API actions (`revoke_sessions`, `disable_agent`, `enable_agent`) are in
//! [`admin`] (`tests/actions/admin.rs`).

#[path = "actions/admin.rs"]
mod admin;
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use baton_notion::baton::actions::fields;
use baton_notion::baton::server::PROVISIONING_DISABLED;
use baton_notion::pb::c1::connectorapi::baton::v1 as api;
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, SimConfig, SimHandle};
use common::*;
use prost_types::Struct;
use prost_types::value::Kind;
use tonic::transport::Channel;

use v2::action_service_client::ActionServiceClient;

/// The reference workspace's `member` (active).
const CAROL: &str = "33333333-3333-3333-3333-333333333333";

fn user_args(id: &str) -> Struct {
    fields::object([(
        "user_id",
        fields::resource_id_value(&baton_notion::baton::ids::resource_id("user", id)),
    )])
}

fn invoke(name: &str, args: Struct) -> v2::InvokeActionRequest {
    v2::InvokeActionRequest {
        name: name.to_owned(),
        args: Some(args),
        resource_type_id: "user".to_owned(),
        // Long enough to see the result inline on a loaded machine.
        inline_wait: prost_types::Duration::try_from(Duration::from_secs(60)).ok(),
        ..Default::default()
    }
}

fn active(sim: &SimHandle, id: &str) -> bool {
    sim.state()
        .users
        .iter()
        .find(|u| u.id == id)
        .expect("user exists")
        .active
}

fn writes(sim: &SimHandle) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

fn reply_bool(resp: &Option<Struct>, key: &str) -> Option<bool> {
    match resp.as_ref().and_then(|r| fields::get(r, key)) {
        Some(Kind::BoolValue(b)) => Some(*b),
        _ => None,
    }
}

/// The connector over gRPC on loopback, in this process.
async fn serve_actions(sim: &SimHandle, provisioning: bool) -> (SocketAddr, Channel) {
    serve_in_process(connector(sim, &SimConfig::default().token), provisioning).await
}

#[tokio::test]
async fn schemas_are_listed_typed_and_advertised() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let (_, channel) = serve_actions(&sim, false).await;
    let mut actions = ActionServiceClient::new(channel.clone());
    let all = actions
        .list_action_schemas(v2::ListActionSchemasRequest::default())
        .await
        .expect("listed")
        .into_inner();
    let names: Vec<&str> = all.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["disable_user", "enable_user"]);
    let groups = actions
        .list_action_schemas(v2::ListActionSchemasRequest {
            resource_type_id: "group".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert!(groups.schemas.is_empty(), "no group actions");

    let schema = actions
        .get_action_schema(v2::GetActionSchemaRequest {
            name: "disable_user".into(),
            ..Default::default()
        })
        .await
        .expect("found")
        .into_inner()
        .schema
        .expect("schema");
    assert_eq!(schema.resource_type_id, "user");
    assert_eq!(schema.action_type, [v2::ActionType::AccountDisable as i32]);
    let arg = &schema.arguments[0];
    assert_eq!(arg.name, "user_id");
    assert!(arg.is_required);
    use baton_notion::pb::c1::config::v1::field::Field;
    let Some(Field::ResourceIdField(f)) = &arg.field else {
        panic!("user_id is a resource id field: {arg:?}");
    };
    assert_eq!(
        f.rules.as_ref().expect("rules").allowed_resource_type_ids,
        ["user"]
    );
    let returns: Vec<&str> = schema
        .return_types
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(returns, ["success", "changed", "active", "message"]);

    let status = actions
        .get_action_schema(v2::GetActionSchemaRequest {
            name: "no_such_action".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let metadata = v2::connector_service_client::ConnectorServiceClient::new(channel)
        .get_metadata(v2::ConnectorServiceGetMetadataRequest::default())
        .await
        .expect("metadata")
        .into_inner()
        .metadata
        .expect("metadata");
    assert!(
        metadata
            .capabilities
            .expect("capabilities")
            .connector_capabilities
            .contains(&(v2::Capability::Actions as i32))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn disable_and_enable_user_change_the_member_and_are_idempotent() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let (_, channel) = serve_actions(&sim, true).await;
    let mut actions = ActionServiceClient::new(channel);
    assert!(active(&sim, CAROL));

    let r = actions
        .invoke_action(invoke("disable_user", user_args(CAROL)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Complete as i32, "{r:?}");
    assert_eq!(r.name, "disable_user");
    assert_eq!(reply_bool(&r.response, "changed"), Some(true));
    assert_eq!(reply_bool(&r.response, "active"), Some(false));
    assert!(!active(&sim, CAROL), "suspended in the simulator");
    let first = r.id.clone();

    let writes_before = writes(&sim);
    let again = actions
        .invoke_action(invoke("disable_user", user_args(CAROL)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(again.status, v2::BatonActionStatus::Complete as i32);
    assert_eq!(reply_bool(&again.response, "success"), Some(true));
    assert_eq!(reply_bool(&again.response, "changed"), Some(false));
    let message = again
        .response
        .as_ref()
        .and_then(|r| fields::get_str(r, "message"))
        .unwrap_or_default();
    assert!(message.contains("already suspended"), "{message}");
    assert_eq!(writes(&sim), writes_before, "a repeat writes nothing");
    assert_ne!(again.id, first);

    let status = actions
        .get_action_status(v2::GetActionStatusRequest {
            id: first.clone(),
            ..Default::default()
        })
        .await
        .expect("known id")
        .into_inner();
    assert_eq!(status.status, v2::BatonActionStatus::Complete as i32);
    assert_eq!(
        (status.id.as_str(), status.name.as_str()),
        (first.as_str(), "disable_user")
    );
    assert_eq!(reply_bool(&status.response, "changed"), Some(true));

    let r = actions
        .invoke_action(invoke("enable_user", user_args(CAROL)))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Complete as i32);
    assert!(active(&sim, CAROL), "active again");

    // A member who does not exist: the action runs and fails, saying so.
    let r = actions
        .invoke_action(invoke(
            "disable_user",
            user_args("99999999-9999-9999-9999-999999999999"),
        ))
        .await
        .expect("invoked")
        .into_inner();
    assert_eq!(r.status, v2::BatonActionStatus::Failed as i32);
    assert!(
        r.response
            .as_ref()
            .and_then(|s| fields::get_str(s, "error"))
            .is_some()
    );

    let unknown = actions
        .get_action_status(v2::GetActionStatusRequest {
            id: "not-an-id".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown id");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_send_nothing() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let (_, channel) = serve_actions(&sim, true).await;
    let mut actions = ActionServiceClient::new(channel);
    sim.reset_counters();
    let before = sim.state();

    let unknown = actions
        .invoke_action(invoke("delete_everything", user_args(CAROL)))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    // Scoped to `user`: asking without the type is NotFound, naming the type.
    let mut unscoped = invoke("disable_user", user_args(CAROL));
    unscoped.resource_type_id.clear();
    let status = actions.invoke_action(unscoped).await.expect_err("unscoped");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(
        status.message().contains("\"user\""),
        "{}",
        status.message()
    );

    for bad in [
        fields::object::<&str>([]),
        fields::object([("user_id", Kind::StringValue(CAROL.into()))]),
        fields::object([(
            "user_id",
            fields::resource_id_value(&baton_notion::baton::ids::resource_id("group", CAROL)),
        )]),
        {
            let mut a = user_args(CAROL);
            a.fields.insert(
                "userid".into(),
                prost_types::Value {
                    kind: Some(Kind::StringValue(CAROL.into())),
                },
            );
            a
        },
    ] {
        let status = actions
            .invoke_action(invoke("disable_user", bad.clone()))
            .await
            .expect_err("bad arguments");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{bad:?}");
        assert!(
            status.message().contains("disable_user"),
            "{}",
            status.message()
        );
    }
    assert!(sim.requests().is_empty(), "no request reached Notion");
    assert_eq!(sim.state(), before);

    // Without provisioning: refused with the provisioning gate's words, nothing sent.
    let (_, channel) = serve_actions(&sim, false).await;
    let status = ActionServiceClient::new(channel)
        .invoke_action(invoke("disable_user", user_args(CAROL)))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), PROVISIONING_DISABLED);
    assert!(sim.requests().is_empty(), "no request reached Notion");
    assert!(active(&sim, CAROL));
    sim.shutdown().await;
}

fn binary_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    vec![
        ("BATON_SCIM_TOKEN", SimConfig::default().token),
        ("BATON_BASE_URL", sim.base_url()),
    ]
}

async fn run(sim: &SimHandle, args: &[&str]) -> std::process::Output {
    run_with_env(args, &binary_env(sim)).await
}

#[tokio::test]
async fn the_one_shot_flags_list_and_invoke() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let out = run(&sim, &["--list-action-schemas"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = listed["schemas"]
        .as_array()
        .expect("schemas")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["disable_user", "enable_user"]);

    let args = format!(r#"{{"user_id":{{"resource_type_id":"user","resource_id":"{CAROL}"}}}}"#);
    let invoke = |provisioning: bool| {
        let mut v = vec![
            "--invoke-action",
            "disable_user",
            "--invoke-action-resource-type",
            "user",
            "--invoke-action-args",
            &args,
        ];
        if provisioning {
            v.push("--provisioning");
        }
        v.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let refused = run(
        &sim,
        &invoke(false).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(PROVISIONING_DISABLED), "{stderr}");
    assert!(active(&sim, CAROL));

    let out = run(
        &sim,
        &invoke(true).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(resp["status"], "BATON_ACTION_STATUS_COMPLETE", "{resp}");
    assert_eq!(resp["response"]["changed"], true, "{resp}");
    assert!(!active(&sim, CAROL), "suspended");

    // Malformed arguments: exit 2, one line, nothing sent.
    sim.reset_counters();
    let bad = run(
        &sim,
        &[
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            "{\"user_id\":",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--invoke-action-args"), "{stderr}");
    // Unknown action: exit 1 with the NotFound line.
    let unknown = run(&sim, &["--invoke-action", "nope", "--provisioning"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no action \"nope\""));
    assert!(sim.requests().is_empty(), "nothing reached Notion");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_service_mode_action_task_runs_and_reports() {
    use common::fake_c1::FakeC1;
    use prost::Message as _;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_service(
        &fake,
        dir.path(),
        &["--base-url", &sim.base_url()],
        &[("BATON_SCIM_TOKEN", SimConfig::default().token)],
    );
    let task = |id: &str, t: api::task::TaskType| api::Task {
        id: id.to_owned(),
        task_type: Some(t),
        ..Default::default()
    };
    fake.push(task(
        "invoke-1",
        api::task::TaskType::ActionInvoke(api::task::ActionInvokeTask {
            name: "disable_user".into(),
            args: Some(user_args(CAROL)),
            resource_type_id: "user".into(),
            ..Default::default()
        }),
    ));
    let finish = fake.finished("invoke-1", Duration::from_secs(60)).await;
    let Some(api::baton_service_finish_task_request::FinalState::Success(ok)) = finish.final_state
    else {
        panic!("the task failed: {:?}", finish.status);
    };
    let resp = v2::InvokeActionResponse::decode(ok.response.expect("a response").value.as_slice())
        .expect("an InvokeActionResponse");
    assert_eq!(resp.status, v2::BatonActionStatus::Complete as i32);
    assert!(!active(&sim, CAROL), "suspended by the task");

    fake.push(task(
        "status-1",
        api::task::TaskType::ActionStatus(api::task::ActionStatusTask {
            id: resp.id.clone(),
            ..Default::default()
        }),
    ));
    let finish = fake.finished("status-1", Duration::from_secs(60)).await;
    let Some(api::baton_service_finish_task_request::FinalState::Success(ok)) = finish.final_state
    else {
        panic!("the status task failed: {:?}", finish.status);
    };
    let status =
        v2::GetActionStatusResponse::decode(ok.response.expect("a response").value.as_slice())
            .expect("a GetActionStatusResponse");
    assert_eq!(status.name, "disable_user");

    // Bad arguments: a non-retryable InvalidArgument, nothing written.
    let writes_before = writes(&sim);
    fake.push(task(
        "invoke-bad",
        api::task::TaskType::ActionInvoke(api::task::ActionInvokeTask {
            name: "enable_user".into(),
            args: Some(fields::object::<&str>([])),
            resource_type_id: "user".into(),
            ..Default::default()
        }),
    ));
    let finish = fake.finished("invoke-bad", Duration::from_secs(60)).await;
    assert_eq!(
        finish.status.map(|s| s.code),
        Some(tonic::Code::InvalidArgument as i32)
    );
    let Some(api::baton_service_finish_task_request::FinalState::Error(e)) = finish.final_state
    else {
        panic!("bad arguments succeeded");
    };
    assert!(e.non_retryable);
    assert_eq!(writes(&sim), writes_before);
    assert!(!active(&sim, CAROL));

    let _ = child.kill().await;
    fake.stop().await;
    sim.shutdown().await;
}
