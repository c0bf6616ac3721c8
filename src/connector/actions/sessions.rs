//! `revoke_sessions` on `user`: the Admin API's `POST /v1/managed_users/revoke_session`
//! (`{"user":{"type":"id","id":…}}`, answered `{"status":"revoked"}`) signs the member out of
//! every device and browser. Needs the organization bot token with `managed-user-session:write`.
//!
//! Not idempotent in the `changed: false` sense: Notion does not say whether a member had
//! sessions, so every call sends the request and answers `{"success": true, "message": …}`.
//! A user the organization does not know fails the action with Notion's `not_found` words.

use prost_types::Struct;
use prost_types::value::Kind;

use crate::baton::ConnectorError;
use crate::baton::actions::{ActionDecl, ActionReply, Effect, fields};
use crate::connector::org::admin_err;
use crate::connector::types;
use crate::notion::admin::AdminClient;
use crate::pb::v2;

use super::USER_ID;

/// The `revoke_sessions` declaration over `admin`.
pub(super) fn revoke_sessions(admin: &AdminClient) -> ActionDecl {
    let schema = v2::BatonActionSchema {
        name: "revoke_sessions".to_owned(),
        display_name: "Revoke sessions".to_owned(),
        description: "Signs a member out of Notion everywhere (Admin API \
                      managed_users/revoke_session); they can sign in again. Needs the \
                      organization bot token's managed-user-session:write scope."
            .to_owned(),
        arguments: vec![fields::required(fields::resource_id(
            USER_ID,
            "User",
            "The member to sign out (a user resource).",
            &[types::USER],
        ))],
        return_types: vec![
            fields::boolean("success", "Success", "Whether Notion revoked the sessions."),
            fields::string("message", "Message", "What happened, for people."),
        ],
        ..Default::default()
    };
    let admin = admin.clone();
    ActionDecl::new(schema, Effect::ChangesState, move |args| {
        let admin = admin.clone();
        async move { apply(&admin, &args).await }
    })
}

async fn apply(admin: &AdminClient, args: &Struct) -> Result<ActionReply, ConnectorError> {
    let (id, key) = super::resource_arg(args, USER_ID)?;
    admin
        .revoke_session(&id.resource)
        .await
        .map_err(admin_err)?;
    Ok(super::success([(
        "message",
        Kind::StringValue(format!("{key}: every session was revoked")),
    )]))
}
