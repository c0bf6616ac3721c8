//! The Admin API's writes (issue #15): revoke a personal access token, a user's sessions or an
//! MCP connection; change an agent's permissions or status; add, update or remove a group
//! member.
//!
//! Retries follow the one policy ([`crate::notion::retry`]): `POST`s (revoke session, revoke an
//! MCP connection, add a member) repeat only when the connection failed before anything was
//! sent; `PATCH` and `DELETE` are idempotent here (the same change applied twice ends in the
//! same state) and retry like reads. Answers are decoded leniently: what the call changed is
//! known from its arguments when the body says less.

use serde_json::{Value, json};

use super::client::AdminClient;
use super::decode;
use super::endpoint::{AdminCall, AdminEndpoint};
use super::models::*;
use crate::notion::Error;
use crate::notion::request::Template as _;

/// An agent's administrative status (`PATCH …/agents/{id}/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentStatus {
    /// May run.
    Active,
    /// Disabled by an administrator.
    Disabled,
}

impl AgentStatus {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Disabled => "disabled",
        }
    }
}

/// One `PATCH …/agents/{id}/permissions` body: roles to set and principals to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionChange {
    /// Principals to give a role (replacing their current one).
    pub set: Vec<(Principal, AgentRole)>,
    /// Principals to remove.
    pub remove: Vec<Principal>,
}

/// A principal in the form the endpoint's published sample sends:
/// `{"type":"user","user_id":…}`, `{"type":"group","group_id":…}`, `{"type":"workspace"}`
/// (with `workspace_id` when known).
pub(crate) fn principal_json(p: &Principal) -> Value {
    match p {
        Principal::User(id) => json!({"type": "user", "user_id": id}),
        Principal::Group(id) => json!({"type": "group", "group_id": id}),
        Principal::Workspace(Some(id)) => json!({"type": "workspace", "workspace_id": id}),
        Principal::Workspace(None) => json!({"type": "workspace"}),
    }
}

/// One Admin API write the connector provisions with, described before it is sent: a dry run
/// prints its [`AdminWrite::preview`], and the client sends exactly that request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminWrite {
    /// `DELETE /v1/spaces/{space_id}/personal_access_tokens/{bot_id}`.
    RevokePersonalAccessToken {
        /// The token's workspace.
        space: String,
        /// The token's id.
        pat: String,
    },
    /// `POST /v1/mcp_client_connections/revoke`.
    RevokeMcpConnection {
        /// The AI client's key.
        client_key: String,
        /// The member whose connection goes.
        user: String,
        /// The workspace it goes from.
        workspace: String,
    },
    /// `PATCH /v1/spaces/{space_id}/agents/{agent_id}/permissions`.
    UpdateAgentPermissions {
        /// The agent's workspace.
        space: String,
        /// The agent.
        agent: String,
        /// What to set and remove.
        change: PermissionChange,
    },
    /// `POST /v1/spaces/{space_id}/groups/{group_id}/members`.
    AddGroupMember {
        /// The group's workspace.
        space: String,
        /// The group.
        group: String,
        /// The user to add.
        user: String,
        /// With this role.
        role: GroupRole,
    },
    /// `PATCH /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}`.
    UpdateGroupMember {
        /// The group's workspace.
        space: String,
        /// The group.
        group: String,
        /// The member.
        user: String,
        /// The new role.
        role: GroupRole,
    },
    /// `DELETE /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}`.
    RemoveGroupMember {
        /// The group's workspace.
        space: String,
        /// The group.
        group: String,
        /// The member to remove.
        user: String,
    },
}

/// A write as it would go on the wire (no headers: the token never shows).
#[derive(Debug, Clone, PartialEq)]
pub struct WritePreview {
    /// `DELETE`, `POST`, `PATCH`.
    pub method: &'static str,
    /// The path under the Admin base URL, `/v1/...`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl AdminWrite {
    /// The request this write sends.
    pub(crate) fn call(&self) -> Result<AdminCall, Error> {
        Ok(match self {
            AdminWrite::RevokePersonalAccessToken { space, pat } => AdminCall::new(
                AdminEndpoint::RevokePersonalAccessToken,
                ["spaces", space, "personal_access_tokens", pat],
            ),
            AdminWrite::RevokeMcpConnection {
                client_key,
                user,
                workspace,
            } => AdminCall::new(
                AdminEndpoint::RevokeMcpConnection,
                ["mcp_client_connections", "revoke"],
            )
            .with_json(
                &json!({"client_key": client_key, "user_id": user, "workspace_id": workspace}),
            )?,
            AdminWrite::UpdateAgentPermissions {
                space,
                agent,
                change,
            } => {
                let mut body = serde_json::Map::new();
                if !change.set.is_empty() {
                    let set: Vec<Value> = change
                        .set
                        .iter()
                        .map(|(p, role)| {
                            json!({"principal": principal_json(p), "role": role.as_str()})
                        })
                        .collect();
                    body.insert("set".into(), Value::Array(set));
                }
                if !change.remove.is_empty() {
                    let remove: Vec<Value> = change.remove.iter().map(principal_json).collect();
                    body.insert("remove".into(), Value::Array(remove));
                }
                AdminCall::new(
                    AdminEndpoint::UpdateAgentPermissions,
                    ["spaces", space, "agents", agent, "permissions"],
                )
                .with_json(&Value::Object(body))?
            }
            AdminWrite::AddGroupMember {
                space,
                group,
                user,
                role,
            } => AdminCall::new(
                AdminEndpoint::AddGroupMember,
                ["spaces", space, "groups", group, "members"],
            )
            .with_json(
                &json!({"member": {"type": "user", "user_id": user}, "role": role.as_str()}),
            )?,
            AdminWrite::UpdateGroupMember {
                space,
                group,
                user,
                role,
            } => AdminCall::new(
                AdminEndpoint::UpdateGroupMember,
                ["spaces", space, "groups", group, "members", "users", user],
            )
            .with_json(&json!({"role": role.as_str()}))?,
            AdminWrite::RemoveGroupMember { space, group, user } => AdminCall::new(
                AdminEndpoint::RemoveGroupMember,
                ["spaces", space, "groups", group, "members", "users", user],
            ),
        })
    }

    /// The request as a dry run shows it: method, path (unencoded, on one line) and body.
    pub fn preview(&self) -> Result<WritePreview, Error> {
        let call = self.call()?;
        let body = call
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok());
        Ok(WritePreview {
            method: call.endpoint.method_name(),
            path: call.display(),
            body,
        })
    }
}

impl AdminClient {
    /// Sends `write`, ignoring the answer's body (the typed calls below decode it).
    pub async fn send(&self, write: &AdminWrite) -> Result<(), Error> {
        self.execute(&write.call()?).await.map(|_| ())
    }

    /// `DELETE /v1/spaces/{space_id}/personal_access_tokens/{bot_id}`. A 404 (a repeat revoke,
    /// or a token that never existed) is [`Revoked::AlreadyGone`].
    pub async fn revoke_personal_access_token(
        &self,
        space: &str,
        pat: &str,
    ) -> Result<Revoked, Error> {
        let call = AdminWrite::RevokePersonalAccessToken {
            space: space.to_owned(),
            pat: pat.to_owned(),
        }
        .call()?;
        match self.execute(&call).await {
            Ok(_) => Ok(Revoked::Revoked),
            Err(err) if err.is_not_found() => Ok(Revoked::AlreadyGone),
            Err(err) => Err(err),
        }
    }

    /// `POST /v1/managed_users/revoke_session` for a user id: signs the user out everywhere.
    pub async fn revoke_session(&self, user: &str) -> Result<(), Error> {
        let call = AdminCall::new(
            AdminEndpoint::RevokeSession,
            ["managed_users", "revoke_session"],
        )
        .with_json(&json!({"user": {"type": "id", "id": user}}))?;
        self.execute(&call).await.map(|_| ())
    }

    /// `POST /v1/mcp_client_connections/revoke`: the number of tokens revoked.
    pub async fn revoke_mcp_connection(
        &self,
        client_key: &str,
        user: &str,
        workspace: &str,
    ) -> Result<u64, Error> {
        let call = AdminWrite::RevokeMcpConnection {
            client_key: client_key.to_owned(),
            user: user.to_owned(),
            workspace: workspace.to_owned(),
        }
        .call()?;
        let (_, body) = self.execute(&call).await?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(value
            .get("revoked_token_count")
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    /// `PATCH /v1/spaces/{space_id}/agents/{agent_id}/permissions`: the permissions afterwards.
    pub async fn update_agent_permissions(
        &self,
        space: &str,
        agent: &str,
        change: &PermissionChange,
    ) -> Result<Vec<AgentPermission>, Error> {
        let call = AdminWrite::UpdateAgentPermissions {
            space: space.to_owned(),
            agent: agent.to_owned(),
            change: change.clone(),
        }
        .call()?;
        let (_, body) = self.execute(&call).await?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| self.decode_error(&call, &e.to_string()))?;
        let entries = value.get("permissions").and_then(Value::as_array);
        entries
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| {
                decode::agent_permission(v)
                    .map_err(|p| self.decode_error(&call, &format!("item {i}: {p}")))
            })
            .collect()
    }

    /// `PATCH /v1/spaces/{space_id}/agents/{agent_id}/status`.
    pub async fn set_agent_status(
        &self,
        space: &str,
        agent: &str,
        status: AgentStatus,
    ) -> Result<(), Error> {
        let call = AdminCall::new(
            AdminEndpoint::UpdateAgentStatus,
            ["spaces", space, "agents", agent, "status"],
        )
        .with_json(&json!({"admin_status": status.as_str()}))?;
        self.execute(&call).await.map(|_| ())
    }

    /// `POST /v1/spaces/{space_id}/groups/{group_id}/members`.
    pub async fn add_group_member(
        &self,
        space: &str,
        group: &str,
        user: &str,
        role: &GroupRole,
    ) -> Result<GroupMembership, Error> {
        self.membership_write([space, group, user], role, |[space, group, user]| {
            AdminWrite::AddGroupMember {
                space,
                group,
                user,
                role: role.clone(),
            }
        })
        .await
    }

    /// `PATCH /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}`.
    pub async fn update_group_member(
        &self,
        space: &str,
        group: &str,
        user: &str,
        role: &GroupRole,
    ) -> Result<GroupMembership, Error> {
        self.membership_write([space, group, user], role, |[space, group, user]| {
            AdminWrite::UpdateGroupMember {
                space,
                group,
                user,
                role: role.clone(),
            }
        })
        .await
    }

    /// `DELETE /v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}`: the removed
    /// membership.
    pub async fn remove_group_member(
        &self,
        space: &str,
        group: &str,
        user: &str,
    ) -> Result<GroupMembership, Error> {
        self.membership_write(
            [space, group, user],
            &GroupRole::Member,
            |[space, group, user]| AdminWrite::RemoveGroupMember { space, group, user },
        )
        .await
    }

    /// Sends the membership write `write` builds from `[space, group, user]`; the membership
    /// from the answer, or from the arguments (with `role`) when the answer does not hold one.
    async fn membership_write(
        &self,
        [space, group, user]: [&str; 3],
        role: &GroupRole,
        write: impl FnOnce([String; 3]) -> AdminWrite,
    ) -> Result<GroupMembership, Error> {
        let call = write([space, group, user].map(str::to_owned)).call()?;
        let (_, body) = self.execute(&call).await?;
        let decoded = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| decode::membership(&v, group).ok());
        Ok(decoded.unwrap_or_else(|| GroupMembership {
            group_id: group.to_owned(),
            user_id: user.to_owned(),
            role: role.clone(),
        }))
    }
}
