//! The Notion connector's actions (Baton `ActionService`), declared to the generic runtime in
//! [`crate::baton::actions`], which validates arguments against these schemas and applies the
//! provisioning gate before any handler runs.
//!
//! | action | on | action type | what it does |
//! |---|---|---|---|
//! | `disable_user` | `user` | `ACCOUNT_DISABLE` | SCIM `PATCH /Users/{id}` `active=false` |
//! | `enable_user` | `user` | `ACCOUNT_ENABLE` | SCIM `PATCH /Users/{id}` `active=true` |
//!
//! Both take `user_id`, a resource id of type `user` (`{"resource_type_id": "user",
//! "resource_id": "<SCIM id>"}`, as the SDK passes resource-scoped arguments), and answer
//! `{"success": bool, "changed": bool, "active": bool, "message": string}`. They are
//! idempotent: the user is read first, and one already in the asked state is a success with
//! `changed: false` and nothing written.
//!
//! Adding an action (e.g. the Admin API's `revoke_sessions`) is one entry in [`declare`]: a
//! schema and a handler over the client it needs.

use prost_types::Struct;
use prost_types::value::Kind;

use crate::baton::actions::{ActionDecl, ActionReply, Effect, fields};
use crate::baton::{ConnectorError, ids};
use crate::notion::{self, PatchOp, UserId};
use crate::pb::v2;

use super::{map_error, types};

/// The name of the resource id argument of the user actions.
pub const USER_ID: &str = "user_id";

/// Every action the connector offers over `client`.
pub fn declare(client: &notion::Client) -> Vec<ActionDecl> {
    vec![
        set_active(client, false).on_type(types::USER),
        set_active(client, true).on_type(types::USER),
    ]
}

/// The connector's capabilities in `view`, with `CAPABILITY_ACTIONS` when it declares actions
/// (the user actions need the SCIM client), for the `capabilities` command, which runs
/// without a client.
pub fn capabilities(view: super::schema::View) -> v2::ConnectorCapabilities {
    crate::baton::actions::advertise(super::schema::capabilities_for(view), view.scim)
}

/// `disable_user` (`active == false`) or `enable_user` (`active == true`).
fn set_active(client: &notion::Client, active: bool) -> ActionDecl {
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
    let id = fields::get_resource_id(args, USER_ID)
        .ok_or_else(|| ConnectorError::invalid_argument("user_id is required"))?;
    let key = crate::text::one_line(&ids::resource_key(&id));
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
    ActionReply::new(fields::object([
        ("success", Kind::BoolValue(true)),
        ("changed", Kind::BoolValue(changed)),
        ("active", Kind::BoolValue(active)),
        ("message", Kind::StringValue(message)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn client() -> notion::Client {
        notion::Client::new(notion::ClientConfig::new(
            "http://127.0.0.1:1/scim/v2",
            Secret::new("t"),
        ))
        .expect("client")
    }

    #[test]
    fn declarations_are_unique_user_scoped_and_typed() {
        let decls = declare(&client());
        crate::baton::actions::ActionManager::try_new(decls.clone()).expect("no duplicates");
        let names: Vec<&str> = decls.iter().map(|d| d.schema.name.as_str()).collect();
        assert_eq!(names, ["disable_user", "enable_user"]);
        for d in &decls {
            assert_eq!(d.schema.resource_type_id, types::USER);
            assert_eq!(d.effect, Effect::ChangesState);
            assert!(d.schema.arguments[0].is_required);
        }
        assert_eq!(
            decls[0].schema.action_type,
            [v2::ActionType::AccountDisable as i32]
        );
        assert_eq!(
            decls[1].schema.action_type,
            [v2::ActionType::AccountEnable as i32]
        );
        use crate::connector::schema::View;
        let has_actions = |view| {
            capabilities(view)
                .connector_capabilities
                .contains(&(v2::Capability::Actions as i32))
        };
        assert!(has_actions(View::SCIM));
        assert!(
            !has_actions(View {
                scim: false,
                admin: true
            }),
            "the user actions need SCIM"
        );
    }
}
