//! `disable_agent` / `enable_agent` on `agent`: the Admin API's
//! `PATCH /v1/spaces/{space_id}/agents/{agent_id}/status` with `{"admin_status":"disabled"}` /
//! `{"admin_status":"active"}`. Needs the organization bot token with `workflows:write` (and
//! `workflows:read` to find the agent).
//!
//! Arguments: `agent_id`, the agent resource (required), and `workspace_id`, its workspace
//! resource (optional). The endpoint needs the agent's workspace, and the SDK's resource id
//! argument carries no parent, so the workspace comes from `workspace_id` when given (the
//! agent's parent resource, as a sync emits it), else from the organization: the workspaces are
//! listed and each one's agents until the agent turns up. Either way the agent is read from its
//! workspace's live listing first (not from a sync's snapshot, which may be minutes old), so:
//! - an agent that is no live custom agent of the workspace fails the action (`NotFound`),
//!   nothing written;
//! - the actions are idempotent: `enable_agent` on an `active` agent and `disable_agent` on one
//!   whose status already starts with `disabled` answer `changed: false` and send nothing.
//!
//! Answer: `{"success", "changed", "status" (the agent's status afterwards: `active`, or the
//! status it was left in / Notion's `disabled`), "message"}`.

use prost_types::Struct;
use prost_types::value::Kind;

use crate::baton::ConnectorError;
use crate::baton::actions::{ActionDecl, ActionReply, Effect, fields};
use crate::connector::org::{admin_err, types};
use crate::notion::admin::{AdminClient, Agent, AgentStatus};
use crate::pb::v2;

/// The agent argument.
pub const AGENT_ID: &str = "agent_id";
/// The optional workspace argument.
pub const WORKSPACE_ID: &str = "workspace_id";

/// `disable_agent` (`enable == false`) or `enable_agent` (`enable == true`) over `admin`.
pub(super) fn set_status(admin: &AdminClient, enable: bool) -> ActionDecl {
    let (name, display, verb) = if enable {
        ("enable_agent", "Enable agent", "Re-enables")
    } else {
        ("disable_agent", "Disable agent", "Disables")
    };
    let schema = v2::BatonActionSchema {
        name: name.to_owned(),
        display_name: display.to_owned(),
        description: format!(
            "{verb} a custom agent through the Admin API (admin_status={}); its permissions \
             are kept. Idempotent. Needs the organization bot token's workflows:write scope.",
            if enable { "active" } else { "disabled" }
        ),
        arguments: vec![
            fields::required(fields::resource_id(
                AGENT_ID,
                "Agent",
                "The custom agent (an agent resource).",
                &[types::AGENT],
            )),
            fields::resource_id(
                WORKSPACE_ID,
                "Workspace",
                "The agent's workspace (its parent resource); looked up when absent.",
                &[types::WORKSPACE],
            ),
        ],
        return_types: vec![
            fields::boolean(
                "success",
                "Success",
                "Whether the agent is now in the asked state.",
            ),
            fields::boolean(
                "changed",
                "Changed",
                "False when it already was (nothing sent).",
            ),
            fields::string("status", "Status", "The agent's status afterwards."),
            fields::string("message", "Message", "What happened, for people."),
        ],
        ..Default::default()
    };
    let admin = admin.clone();
    ActionDecl::new(schema, Effect::ChangesState, move |args| {
        let admin = admin.clone();
        async move { apply(&admin, &args, enable).await }
    })
}

async fn apply(
    admin: &AdminClient,
    args: &Struct,
    enable: bool,
) -> Result<ActionReply, ConnectorError> {
    let (id, key) = super::resource_arg(args, AGENT_ID)?;
    let space = fields::get_resource_id(args, WORKSPACE_ID).map(|w| w.resource);
    let agent = find(admin, &id.resource, space.as_deref())
        .await?
        .ok_or_else(|| {
            ConnectorError::not_found(format!(
                "{key} is no live custom agent of {}",
                match &space {
                    Some(s) => format!("workspace {}", crate::text::one_line(s)),
                    None => "any workspace of the organization".to_owned(),
                }
            ))
        })?;
    let already = if enable {
        agent.status == "active"
    } else {
        agent.status.starts_with("disabled")
    };
    let state = if enable { "enabled" } else { "disabled" };
    if already {
        let status = crate::text::one_line(&agent.status);
        return Ok(reply(
            false,
            agent.status.clone(),
            format!("{key} was already {state} (status {status}); nothing changed"),
        ));
    }
    let to = if enable {
        AgentStatus::Active
    } else {
        AgentStatus::Disabled
    };
    admin
        .set_agent_status(&agent.space_id, &id.resource, to)
        .await
        .map_err(admin_err)?;
    Ok(reply(
        true,
        to.as_str().to_owned(),
        format!("{key} is now {state}"),
    ))
}

/// The live custom agent `agent` of workspace `space`, or of any workspace when `None`.
async fn find(
    admin: &AdminClient,
    agent: &str,
    space: Option<&str>,
) -> Result<Option<Found>, ConnectorError> {
    let spaces: Vec<String> = match space {
        Some(s) => vec![s.to_owned()],
        None => admin
            .collect(|c| async move { admin.spaces(c.as_deref()).await })
            .await
            .map_err(admin_err)?
            .into_iter()
            .map(|s| s.id)
            .collect(),
    };
    for sp in &spaces {
        let listed: Vec<Agent> = admin
            .collect(|c| async move { admin.agents(sp, c.as_deref()).await })
            .await
            .map_err(admin_err)?;
        if let Some(a) = listed
            .into_iter()
            .find(|a| a.id == agent && a.alive && a.agent_type == "custom")
        {
            return Ok(Some(Found {
                space_id: sp.clone(),
                status: a.status,
            }));
        }
    }
    Ok(None)
}

/// What [`find`] learned: the workspace the agent was listed in and its status.
struct Found {
    space_id: String,
    status: String,
}

fn reply(changed: bool, status: String, message: String) -> ActionReply {
    super::success([
        ("changed", Kind::BoolValue(changed)),
        ("status", Kind::StringValue(status)),
        ("message", Kind::StringValue(message)),
    ])
}
