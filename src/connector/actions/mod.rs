//! The Notion connector's actions (Baton `ActionService`), declared to the generic runtime in
//! [`crate::baton::actions`], which validates arguments against these schemas and applies the
//! provisioning gate before any handler runs. One module per family:
//!
//! | action | on | needs | action type | what it does | module |
//! |---|---|---|---|---|---|
//! | `disable_user` | `user` | SCIM token | `ACCOUNT_DISABLE` | SCIM `PATCH /Users/{id}` `active=false` | [`users`] |
//! | `enable_user` | `user` | SCIM token | `ACCOUNT_ENABLE` | SCIM `PATCH /Users/{id}` `active=true` | [`users`] |
//! | `revoke_sessions` | `user` | admin token | – | Admin `POST /v1/managed_users/revoke_session` | [`sessions`] |
//! | `disable_agent` | `agent` | admin token | – | Admin `PATCH …/agents/{id}/status` `disabled` | [`agents`] |
//! | `enable_agent` | `agent` | admin token | – | Admin `PATCH …/agents/{id}/status` `active` | [`agents`] |
//!
//! Every one changes state, so every one needs `--provisioning`. An action is declared only
//! when the client it needs is configured: with SCIM alone the connector offers exactly the two
//! user actions it always did, with the admin token alone the three Admin API actions.

pub mod agents;
pub mod sessions;
pub mod users;

use prost_types::Struct;
use prost_types::value::Kind;

use crate::baton::actions::{ActionDecl, ActionReply, fields};
use crate::baton::{ConnectorError, ids};
use crate::notion;
use crate::notion::admin::AdminClient;
use crate::pb::v2;

use super::types;

pub use users::USER_ID;

/// Every action the connector offers: the user actions over the SCIM client `scim`, the
/// session and agent actions over the Admin API client `admin`.
pub fn declare(scim: Option<&notion::Client>, admin: Option<&AdminClient>) -> Vec<ActionDecl> {
    let mut out = Vec::new();
    if let Some(client) = scim {
        out.push(users::set_active(client, false).on_type(types::USER));
        out.push(users::set_active(client, true).on_type(types::USER));
    }
    if let Some(admin) = admin {
        out.push(sessions::revoke_sessions(admin).on_type(types::USER));
        out.push(agents::set_status(admin, false).on_type(super::org::types::AGENT));
        out.push(agents::set_status(admin, true).on_type(super::org::types::AGENT));
    }
    out
}

/// The connector's capabilities in `view`, with `CAPABILITY_ACTIONS` exactly when
/// [`declare`] would declare some action in that view (either token brings actions), for the
/// `capabilities` command, which runs without a client.
pub fn capabilities(view: super::schema::View) -> v2::ConnectorCapabilities {
    crate::baton::actions::advertise(
        super::schema::capabilities_for(view),
        view.scim || view.admin,
    )
}

/// The resource id argument `key` (the runtime has checked it is present and of an allowed
/// type) and its key quoted for messages.
fn resource_arg(args: &Struct, key: &str) -> Result<(v2::ResourceId, String), ConnectorError> {
    let id = fields::get_resource_id(args, key)
        .ok_or_else(|| ConnectorError::invalid_argument(format!("{key} is required")))?;
    let shown = crate::text::one_line(&ids::resource_key(&id));
    Ok((id, shown))
}

/// A reply from `(name, value)` pairs with `success: true` first.
fn success(pairs: impl IntoIterator<Item = (&'static str, Kind)>) -> ActionReply {
    let mut all = vec![("success", Kind::BoolValue(true))];
    all.extend(pairs);
    ActionReply::new(fields::object(all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::actions::Effect;
    use crate::connector::schema::View;
    use crate::secret::Secret;

    fn scim() -> notion::Client {
        notion::Client::new(notion::ClientConfig::new(
            "http://127.0.0.1:1/scim/v2",
            Secret::new("t"),
        ))
        .expect("client")
    }

    fn admin() -> AdminClient {
        AdminClient::new(crate::notion::admin::AdminConfig::new(
            "http://127.0.0.1:1/admin",
            Secret::new("t"),
        ))
        .expect("admin client")
    }

    fn names(decls: &[ActionDecl]) -> Vec<(&str, &str)> {
        decls
            .iter()
            .map(|d| (d.schema.resource_type_id.as_str(), d.schema.name.as_str()))
            .collect()
    }

    #[test]
    fn each_token_declares_its_own_actions() {
        let (scim, admin) = (scim(), admin());
        assert_eq!(
            names(&declare(Some(&scim), None)),
            [("user", "disable_user"), ("user", "enable_user")]
        );
        assert_eq!(
            names(&declare(None, Some(&admin))),
            [
                ("user", "revoke_sessions"),
                ("agent", "disable_agent"),
                ("agent", "enable_agent")
            ]
        );
        let both = declare(Some(&scim), Some(&admin));
        assert_eq!(both.len(), 5);
        crate::baton::actions::ActionManager::try_new(both.clone()).expect("no duplicates");
        for d in &both {
            assert_eq!(d.effect, Effect::ChangesState, "{}", d.schema.name);
            assert!(d.schema.arguments[0].is_required, "{}", d.schema.name);
            assert!(!d.schema.return_types.is_empty(), "{}", d.schema.name);
        }
        assert!(declare(None, None).is_empty());
    }

    #[test]
    fn actions_are_advertised_exactly_when_declared() {
        let has_actions = |view| {
            capabilities(view)
                .connector_capabilities
                .contains(&(v2::Capability::Actions as i32))
        };
        assert!(has_actions(View::SCIM));
        assert!(has_actions(View {
            scim: false,
            admin: true
        }));
        assert!(has_actions(View {
            scim: true,
            admin: true
        }));
        assert!(!has_actions(View {
            scim: false,
            admin: false
        }));
    }
}
