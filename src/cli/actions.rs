//! The Baton SDK's one-shot action flags: `--list-action-schemas` (optionally
//! `--list-action-schemas-resource-type`), and `--invoke-action NAME` with
//! `--invoke-action-args JSON` and, for a resource-scoped action,
//! `--invoke-action-resource-type TYPE`. Each reads `BATON_<FLAG>` from the environment.
//!
//! Output is protojson on stdout (`ListActionSchemasResponse`, or the `InvokeActionResponse`
//! with the final status and response). Exit status: 0 when the action completed; 1 when it was
//! refused (unknown action, bad arguments, state-changing without `--provisioning`) or ran and
//! failed (its response is still printed); 2 when `--invoke-action-args` is not a JSON object
//! (nothing is built or sent).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use tokio_util::sync::CancellationToken;

use super::{Cli, ExitStatus};
use crate::baton::actions::manager::MAX_INLINE_WAIT;
use crate::baton::{ConnectorClient, Local};
use crate::pb::v2;

/// How often a still-running action is asked about again (the SDK's 1 s).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The action flags (exclusive with each other and with the other one-shot flags).
#[derive(Debug, Args, Clone, Default)]
pub struct ActionArgs {
    /// List the connector's actions and their argument schemas (protojson on stdout).
    #[arg(
        long,
        env = "BATON_LIST_ACTION_SCHEMAS",
        conflicts_with = "invoke_action"
    )]
    pub list_action_schemas: bool,
    /// With --list-action-schemas: only the actions of this resource type (e.g. user).
    #[arg(
        long,
        env = "BATON_LIST_ACTION_SCHEMAS_RESOURCE_TYPE",
        value_name = "TYPE"
    )]
    pub list_action_schemas_resource_type: Option<String>,
    /// Invoke this action (state-changing ones need --provisioning).
    #[arg(long, env = "BATON_INVOKE_ACTION", value_name = "NAME")]
    pub invoke_action: Option<String>,
    /// The action's arguments, a JSON object, e.g.
    /// '{"user_id":{"resource_type_id":"user","resource_id":"<id>"}}'.
    #[arg(long, env = "BATON_INVOKE_ACTION_ARGS", value_name = "JSON")]
    pub invoke_action_args: Option<String>,
    /// The resource type of a resource-scoped action (e.g. user).
    #[arg(long, env = "BATON_INVOKE_ACTION_RESOURCE_TYPE", value_name = "TYPE")]
    pub invoke_action_resource_type: Option<String>,
}

impl ActionArgs {
    /// Whether an action flag asks for something.
    pub fn requested(&self) -> bool {
        self.list_action_schemas || self.invoke_action.is_some()
    }
}

/// `--invoke-action-args` as a `Struct`; an error saying why it is not a JSON object.
pub fn parse_args(text: Option<&str>) -> Result<Struct, String> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("{}");
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(Struct {
            fields: map.into_iter().map(|(k, v)| (k, to_value(v))).collect(),
        }),
        Ok(other) => Err(format!(
            "must be a JSON object, not {}",
            match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn to_value(v: serde_json::Value) -> Value {
    use serde_json::Value as J;
    let kind = match v {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Kind::StringValue(s),
        J::Array(a) => Kind::ListValue(ListValue {
            values: a.into_iter().map(to_value).collect(),
        }),
        J::Object(o) => Kind::StructValue(Struct {
            fields: o.into_iter().map(|(k, v)| (k, to_value(v))).collect(),
        }),
    };
    Value { kind: Some(kind) }
}

fn print_json<M: prost::Message + prost::Name>(msg: &M) -> anyhow::Result<()> {
    let json = crate::baton::schema::to_json(msg).context("rendering protojson")?;
    crate::ops::output::print(&format!("{json}\n")).context("writing to stdout")?;
    Ok(())
}

/// Runs the action flags of `cli`.
pub async fn run(cli: &Cli, cancel: CancellationToken) -> anyhow::Result<()> {
    let flags = &cli.actions;
    // Arguments first: a malformed object is a usage error, with nothing built or sent.
    let args = match parse_args(flags.invoke_action_args.as_deref()) {
        Ok(args) => args,
        Err(why) => {
            let why = crate::text::one_line(&why);
            eprintln!("error: --invoke-action-args {why}");
            return Err(ExitStatus(2).into());
        }
    };
    if cli.one_shot.action()?.is_some() {
        bail!(
            "--list-action-schemas and --invoke-action cannot be combined with --grant-*, \
             --revoke-grant, --create-account-* or --delete-resource*"
        );
    }
    let sync = &cli.sync;
    // Both views when both tokens are given: each brings its own actions.
    let connector = sync.connector(
        &sync.base_url,
        &sync.admin_base_url,
        cli.one_shot.deprovision_mode,
    )?;
    let client = Local::new(Arc::new(connector));
    let Some(name) = &flags.invoke_action else {
        let resp = client
            .list_action_schemas(v2::ListActionSchemasRequest {
                resource_type_id: flags
                    .list_action_schemas_resource_type
                    .clone()
                    .unwrap_or_default(),
                ..Default::default()
            })
            .await?;
        return print_json(&resp);
    };
    let req = v2::InvokeActionRequest {
        name: name.clone(),
        args: Some(args),
        resource_type_id: flags
            .invoke_action_resource_type
            .clone()
            .unwrap_or_default(),
        inline_wait: prost_types::Duration::try_from(MAX_INLINE_WAIT).ok(),
        ..Default::default()
    };
    let mut resp = client
        .invoke_action(req, cli.service.provisioning)
        .await
        .map_err(|e| match e.code {
            crate::baton::Code::FailedPrecondition => anyhow::anyhow!(
                "{}: pass --provisioning (-p) to run actions that change state",
                e.message
            ),
            _ => e.into(),
        })?;
    while matches!(
        v2::BatonActionStatus::try_from(resp.status),
        Ok(v2::BatonActionStatus::Pending | v2::BatonActionStatus::Running)
    ) {
        tokio::select! {
            () = tokio::time::sleep(POLL_EVERY) => {}
            () = cancel.cancelled() => bail!("interrupted while action {} was running", resp.id),
        }
        let status = client
            .get_action_status(v2::GetActionStatusRequest {
                id: resp.id.clone(),
                ..Default::default()
            })
            .await?;
        resp.status = status.status;
        resp.response = status.response;
        resp.annotations = status.annotations;
    }
    print_json(&resp)?;
    if resp.status != v2::BatonActionStatus::Complete as i32 {
        let error = resp
            .response
            .as_ref()
            .and_then(|r| crate::baton::actions::fields::get_str(r, "error"))
            .unwrap_or("no error message");
        bail!(
            "action {} failed: {}",
            crate::text::one_line(name),
            crate::text::one_line(error)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_must_be_a_json_object() {
        let args = parse_args(Some(
            r#"{"user_id":{"resource_type_id":"user","resource_id":"u1"},"n":2,"l":[true,null]}"#,
        ))
        .expect("object");
        let id = crate::baton::actions::fields::get_resource_id(&args, "user_id").expect("id");
        assert_eq!(id.resource, "u1");
        assert_eq!(parse_args(None).expect("default").fields.len(), 0);
        assert_eq!(parse_args(Some("  ")).expect("blank").fields.len(), 0);
        assert!(
            parse_args(Some("[1]"))
                .expect_err("array")
                .contains("an array")
        );
        assert!(
            parse_args(Some("{"))
                .expect_err("bad")
                .starts_with("not valid JSON")
        );
    }
}
