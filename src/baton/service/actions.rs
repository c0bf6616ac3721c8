//! The four action task types of service mode, run through the same
//! [`ConnectorClient`](crate::baton::ConnectorClient) action calls the gRPC server uses:
//!
//! | Task | Call | Success response |
//! |---|---|---|
//! | `action_list_schemas` | `list_action_schemas` | `ListActionSchemasResponse` |
//! | `action_get_schema` | `get_action_schema` | `GetActionSchemaResponse` |
//! | `action_invoke` | `invoke_action` (with the daemon's `--provisioning`) | `InvokeActionResponse` |
//! | `action_status` | `get_action_status` | `GetActionStatusResponse` |
//!
//! An invocation waits up to [`INVOKE_WAIT`] for the action to finish; one still running then
//! is reported with status `RUNNING`, and ConductorOne asks again with an `action_status` task.
//! A refusal (unknown action, bad arguments, provisioning off) fails the task non-retryably
//! with the code the gRPC server would answer; an action that ran and failed is a successful
//! task whose response says `FAILED`, as in the Go SDK.

use std::time::Duration;

use super::Daemon;
use super::api::task::TaskType;
use super::tasks::Outcome;
use crate::baton::annotations::pack;
use crate::pb::v2;

/// How long an `action_invoke` task waits for the action before reporting it `RUNNING`.
pub const INVOKE_WAIT: Duration = Duration::from_secs(60);

impl Daemon {
    /// Runs `task` if it is an action task; `None` for any other type.
    pub(super) async fn action_task(&self, task: &TaskType) -> Option<Outcome> {
        let c = &self.client;
        let result = match task {
            TaskType::ActionListSchemas(t) => c
                .list_action_schemas(v2::ListActionSchemasRequest {
                    annotations: t.annotations.clone(),
                    resource_type_id: t.resource_type_id.clone(),
                })
                .await
                .map(|r| pack(&r)),
            TaskType::ActionGetSchema(t) => c
                .get_action_schema(v2::GetActionSchemaRequest {
                    name: t.name.clone(),
                    annotations: t.annotations.clone(),
                })
                .await
                .map(|r| pack(&r)),
            TaskType::ActionInvoke(t) => {
                let req = v2::InvokeActionRequest {
                    name: t.name.clone(),
                    args: t.args.clone(),
                    annotations: t.annotations.clone(),
                    resource_type_id: t.resource_type_id.clone(),
                    inline_wait: prost_types::Duration::try_from(INVOKE_WAIT).ok(),
                };
                c.invoke_action(req, self.provisioning)
                    .await
                    .map(|r| pack(&r))
            }
            TaskType::ActionStatus(t) => c
                .get_action_status(v2::GetActionStatusRequest {
                    #[allow(deprecated)]
                    name: t.name.clone(),
                    id: t.id.clone(),
                    annotations: t.annotations.clone(),
                })
                .await
                .map(|r| pack(&r)),
            _ => return None,
        };
        Some(match result {
            Ok(any) => Outcome::Success(Some(any)),
            Err(e) => Outcome::from_connector(e),
        })
    }
}
