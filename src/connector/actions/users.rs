//! `disable_user` / `enable_user`: SCIM `PATCH /Users/{id}` `active=false|true`.
//!
//! Both take `user_id`, a resource id of type `user` (`{"resource_type_id": "user",
//! "resource_id": "<SCIM id>"}`, as the SDK passes resource-scoped arguments), and answer
//! `{"success": bool, "changed": bool, "active": bool, "message": string}`. They are
//! idempotent: the user is read first, and one already in the asked state is a success with
//! `changed: false` and nothing written.

use prost_types::Struct;
use prost_types::value::Kind;

use crate::baton::ConnectorError;
use crate::baton::actions::{ActionDecl, ActionReply, Effect, fields};
use crate::notion::{self, PatchOp, UserId};
use crate::pb::v2;

use crate::connector::{map_error, types};

/// The name of the resource id argument of the user actions.
pub const USER_ID: &str = "user_id";

/// `disable_user` (`active == false`) or `enable_user` (`active == true`).
pub(super) fn set_active(client: &notion::Client, active: bool) -> ActionDecl {
    let (name, display, verb, action_type) = if active {
        (
            "enable_user",
            "Enable user",
            "Reactivates",
            v2::ActionType::AccountEnable,
        )
    } else {
        (
            "disable_user",
            "Disable user",
            "Suspends",
            v2::ActionType::AccountDisable,
        )
    };
    let schema = v2::BatonActionSchema {
        name: name.to_owned(),
        display_name: display.to_owned(),
        description: format!(
            "{verb} a workspace member through SCIM (active={active}); membership, groups and \
             role are kept. Idempotent."
        ),
        arguments: vec![fields::required(fields::resource_id(
            USER_ID,
            "User",
            "The member (a user resource).",
            &[types::USER],
        ))],
        return_types: vec![
            fields::boolean(
                "success",
                "Success",
                "Whether the user is now in the asked state.",
            ),
            fields::boolean(
                "changed",
                "Changed",
                "False when it already was (nothing sent).",
            ),
            fields::boolean(
                "active",
                "Active",
                "The user's SCIM active flag afterwards.",
            ),
            fields::string("message", "Message", "What happened, for people."),
        ],
        action_type: vec![action_type as i32],
        ..Default::default()
    };
    let client = client.clone();
    ActionDecl::new(schema, Effect::ChangesState, move |args| {
        let client = client.clone();
        async move { apply_active(&client, &args, active).await }
    })
}

async fn apply_active(
    client: &notion::Client,
    args: &Struct,
    active: bool,
) -> Result<ActionReply, ConnectorError> {
    // Validated by the runtime against the schema: present, a `user` resource id.
    let (id, key) = super::resource_arg(args, USER_ID)?;
    let uid = UserId::from(id.resource.clone());
    let user = client.users().get(&uid).await.map_err(map_error)?;
    let state = if active { "active" } else { "suspended" };
    // SCIM's default for a missing `active` is true.
    if user.active.unwrap_or(true) == active {
        return Ok(reply(
            false,
            active,
            format!("{key} was already {state}; nothing changed"),
        ));
    }
    client
        .users()
        .patch(&uid, &PatchOp::set_active(active))
        .await
        .map_err(map_error)?;
    Ok(reply(true, active, format!("{key} is now {state}")))
}

fn reply(changed: bool, active: bool, message: String) -> ActionReply {
    super::success([
        ("changed", Kind::BoolValue(changed)),
        ("active", Kind::BoolValue(active)),
        ("message", Kind::StringValue(message)),
    ])
}
