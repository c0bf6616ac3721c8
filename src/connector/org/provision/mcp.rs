//! Revoking an `mcp_client:<space>/<key>:connected` grant revokes that member's connection of
//! that AI client in that workspace (`POST /v1/mcp_client_connections/revoke`, every token the
//! connection holds). The workspace and the client key come from the resource id (the key
//! unescaped, see [`super::super::ids`]), the member from the grant's principal. A connection
//! already gone (404, or nothing revoked) is success with `GrantAlreadyRevoked`.
//!
//! Granting `connected` is refused: a member connects an AI client themselves, with an OAuth
//! consent in the client, so there is no connection an administrator could create.

use prost_types::Any;

use super::{entitlement_resource, principal_id, user_of};
use crate::baton::annotations::pack;
use crate::baton::{Code, ConnectorError};
use crate::connector::org::ids::parse_mcp_client_id;
use crate::connector::org::{admin_err, model::AdminClient, types};
use crate::notion::admin::AdminWrite;
use crate::pb::v2;

/// The connection a `connected` grant stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The AI client's key (unescaped).
    pub client_key: String,
    /// The member who connected it.
    pub user: String,
    /// The workspace.
    pub workspace: String,
}

impl Connection {
    /// The request that revokes it.
    pub fn write(&self) -> AdminWrite {
        AdminWrite::RevokeMcpConnection {
            client_key: self.client_key.clone(),
            user: self.user.clone(),
            workspace: self.workspace.clone(),
        }
    }
}

/// The connection `grant` stands for.
pub fn connection(grant: &v2::Grant) -> Result<Connection, ConnectorError> {
    let on = entitlement_resource(grant.entitlement.as_ref())?;
    if on.resource_type != types::MCP_CLIENT {
        return Err(ConnectorError::invalid_argument(
            "the grant is not on an mcp_client",
        ));
    }
    let (space, key) = parse_mcp_client_id(&on.resource).ok_or_else(|| {
        ConnectorError::invalid_argument(format!(
            "\"{}\" is not an AI client id (<workspace id>/<escaped client key>)",
            crate::text::one_line(&on.resource)
        ))
    })?;
    let user = user_of(principal_id(grant)?)?;
    Ok(Connection {
        client_key: key,
        user: user.to_owned(),
        workspace: space.to_owned(),
    })
}

/// Revokes `grant`'s connection.
pub async fn revoke(admin: &AdminClient, grant: &v2::Grant) -> Result<Vec<Any>, ConnectorError> {
    let c = connection(grant)?;
    match admin
        .revoke_mcp_connection(&c.client_key, &c.user, &c.workspace)
        .await
    {
        Ok(0) => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
        Ok(_) => Ok(Vec::new()),
        Err(e) if e.is_not_found() => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
        Err(e) => Err(admin_err(e)),
    }
}

/// Granting `connected` cannot be done (see the module docs).
pub fn refuse_grant() -> ConnectorError {
    ConnectorError::new(
        Code::FailedPrecondition,
        "an AI client is connected by the member themselves (OAuth consent in the client); \
         it can be revoked here, not granted",
    )
}
