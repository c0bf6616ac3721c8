//! The action runtime against toy handlers: lookup, the provisioning gate, validation before
//! the handler, failures as statuses, running actions, the bounded status table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prost_types::value::Kind;

use super::fields::{self, object};
use super::*;
use crate::baton::{Code, ConnectorError};

fn schema(name: &str) -> v2::BatonActionSchema {
    v2::BatonActionSchema {
        name: name.to_owned(),
        arguments: vec![fields::required(fields::string("who", "Who", ""))],
        ..Default::default()
    }
}

/// A handler that counts its calls and echoes `who`, or fails when `who` is "fail".
fn echo(name: &str, effect: Effect, calls: &Arc<AtomicUsize>) -> ActionDecl {
    let calls = calls.clone();
    ActionDecl::new(schema(name), effect, move |args| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let who = fields::get_str(&args, "who").unwrap_or_default().to_owned();
            if who == "fail" {
                return Err(ConnectorError::not_found("no such person"));
            }
            Ok(ActionReply::new(object([(
                "hello",
                Kind::StringValue(who),
            )])))
        }
    })
}

fn invoke(name: &str, resource_type: &str, who: &str) -> v2::InvokeActionRequest {
    v2::InvokeActionRequest {
        name: name.to_owned(),
        args: Some(object([("who", Kind::StringValue(who.to_owned()))])),
        resource_type_id: resource_type.to_owned(),
        inline_wait: prost_types::Duration::try_from(Duration::from_secs(30)).ok(),
        ..Default::default()
    }
}

fn manager(calls: &Arc<AtomicUsize>) -> ActionManager {
    ActionManager::try_new(vec![
        echo("greet", Effect::ReadOnly, calls),
        echo("disable", Effect::ChangesState, calls).on_type("user"),
    ])
    .expect("unique")
}

#[tokio::test]
async fn lookups_are_scoped_as_in_the_sdk() {
    let calls = Arc::new(AtomicUsize::new(0));
    let m = manager(&calls);
    assert!(!m.is_empty());
    let all = m.list(&v2::ListActionSchemasRequest::default());
    let names: Vec<&str> = all.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["greet", "disable"]);
    let users = m.list(&v2::ListActionSchemasRequest {
        resource_type_id: "user".into(),
        ..Default::default()
    });
    assert_eq!(users.schemas.len(), 1);
    assert_eq!(users.schemas[0].resource_type_id, "user");
    let got = m
        .schema(&v2::GetActionSchemaRequest {
            name: "disable".into(),
            ..Default::default()
        })
        .expect("found by name");
    assert_eq!(got.schema.expect("schema").resource_type_id, "user");

    // A scoped action asked for without its type: NotFound, saying which type to pass.
    let err = m
        .invoke(invoke("disable", "", "ada"), true)
        .await
        .expect_err("needs the type");
    assert_eq!(err.code, Code::NotFound);
    assert!(
        err.message.contains("resource type \"user\""),
        "{}",
        err.message
    );
    let err = m
        .invoke(invoke("nope\x1b[2J", "user", "ada"), true)
        .await
        .expect_err("unknown");
    assert_eq!(err.code, Code::NotFound);
    assert!(!err.message.contains('\x1b'), "{:?}", err.message);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing ran");

    let dup = ActionManager::try_new(vec![
        echo("greet", Effect::ReadOnly, &calls),
        echo("greet", Effect::ReadOnly, &calls),
    ]);
    assert!(dup.is_err());
}

#[tokio::test]
async fn the_gate_and_validation_come_before_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let m = manager(&calls);
    let err = m
        .invoke(invoke("disable", "user", "ada"), false)
        .await
        .expect_err("refused");
    assert_eq!(err.code, Code::FailedPrecondition);
    assert_eq!(err.message, crate::baton::server::PROVISIONING_DISABLED);
    let mut bad = invoke("disable", "user", "ada");
    bad.args = Some(object([("who", Kind::NumberValue(1.0))]));
    let err = m.invoke(bad, true).await.expect_err("bad args");
    assert_eq!(err.code, Code::InvalidArgument);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no handler ran");

    // Read-only actions need no provisioning.
    let ok = m
        .invoke(invoke("greet", "", "ada"), false)
        .await
        .expect("runs");
    assert_eq!(ok.status, v2::BatonActionStatus::Complete as i32);
    let hello = ok
        .response
        .as_ref()
        .and_then(|r| fields::get_str(r, "hello"));
    assert_eq!(hello, Some("ada"));
    assert_eq!(ok.name, "greet");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_handler_is_a_failed_status_with_its_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let m = manager(&calls);
    let r = m
        .invoke(invoke("disable", "user", "fail"), true)
        .await
        .expect("the call itself works");
    assert_eq!(r.status, v2::BatonActionStatus::Failed as i32);
    let error = r
        .response
        .as_ref()
        .and_then(|s| fields::get_str(s, "error"));
    assert_eq!(error, Some("no such person"));
    let s = m
        .status(&v2::GetActionStatusRequest {
            id: r.id.clone(),
            ..Default::default()
        })
        .expect("known id");
    assert_eq!((s.status, s.name.as_str()), (r.status, "disable"));
    let err = m
        .status(&v2::GetActionStatusRequest {
            id: "2abc".into(),
            ..Default::default()
        })
        .expect_err("unknown id");
    assert_eq!(err.code, Code::NotFound);
}

#[tokio::test]
async fn a_slow_action_answers_running_and_its_status_follows() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let g = gate.clone();
    let slow = ActionDecl::new(schema("slow"), Effect::ReadOnly, move |_| {
        let g = g.clone();
        async move {
            let _permit = g
                .acquire()
                .await
                .map_err(|e| ConnectorError::internal(e.to_string()))?;
            Ok(ActionReply::default())
        }
    });
    let m = ActionManager::try_new(vec![slow]).expect("unique");
    let mut req = invoke("slow", "", "ada");
    req.inline_wait = Some(prost_types::Duration::default());
    let r = m.invoke(req, false).await.expect("started");
    assert_eq!(r.status, v2::BatonActionStatus::Running as i32);
    gate.add_permits(1);
    let status = |m: &ActionManager| {
        m.status(&v2::GetActionStatusRequest {
            id: r.id.clone(),
            ..Default::default()
        })
        .expect("known")
        .status
    };
    for _ in 0..2000 {
        if status(&m) != v2::BatonActionStatus::Running as i32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(status(&m), v2::BatonActionStatus::Complete as i32);
}

#[tokio::test]
async fn the_status_table_is_bounded_and_forgets_the_oldest() {
    let calls = Arc::new(AtomicUsize::new(0));
    let m = manager(&calls).with_capacity(2);
    let mut ids = Vec::new();
    for who in ["a", "b", "c"] {
        ids.push(
            m.invoke(invoke("greet", "", who), false)
                .await
                .expect("ran")
                .id,
        );
    }
    let known = |id: &str| {
        m.status(&v2::GetActionStatusRequest {
            id: id.to_owned(),
            ..Default::default()
        })
        .is_ok()
    };
    assert!(!known(&ids[0]), "the oldest was evicted");
    assert!(known(&ids[1]) && known(&ids[2]));
}

#[test]
fn capabilities_gain_actions_only_when_declared() {
    let caps = v2::ConnectorCapabilities {
        connector_capabilities: vec![v2::Capability::Provision as i32],
        ..Default::default()
    };
    assert_eq!(advertise(caps.clone(), false), caps);
    let with = advertise(caps, true);
    assert_eq!(
        with.connector_capabilities,
        [
            v2::Capability::Provision as i32,
            v2::Capability::Actions as i32
        ]
    );
    assert_eq!(advertise(with.clone(), true), with, "added once");
}
