//! The Admin API's write endpoints (decisions in `mod.rs`). Each validates against the store
//! under the write lock, then mutates; a request that fails validation changes nothing.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{Fail, Family};
use super::json;
use super::org::{
    AgentRole, GroupRole, OrgAgentPermission, OrgGroup, OrgMembership, PatStatus, Principal,
    reference_ids,
};
use super::reads::{answer, no_agent, render_permissions};
use super::view;
use crate::sim::server::Shared;
use crate::sim::store::Store;

/// Now, in epoch milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The request body as a JSON object, or 400.
fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Fail> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Fail::invalid("body should be a JSON object")),
        Err(e) => Err(Fail::invalid(format!("body failed to parse as JSON: {e}"))),
    }
}

/// A required string field of `obj`, or 400 naming it.
fn string_field<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Result<&'a str, Fail> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Fail::invalid(format!("body.{key} should be a non-empty string")))
}

/// Index of live space `id` in the organization, or 404.
fn space_index(store: &Store, id: &str) -> Result<usize, Fail> {
    let space = view::live_space(store, id)?;
    let org = view::org(store)?;
    Ok(org
        .spaces
        .iter()
        .position(|s| std::ptr::eq(s, space))
        .unwrap_or_default())
}

/// `DELETE /v1/spaces/{space_id}/personal_access_tokens/{bot_id}` → `{}`.
pub(crate) async fn revoke_pat(
    State(shared): State<Arc<Shared>>,
    Path((space_id, pat_id)): Path<(String, String)>,
) -> Response {
    let result = (|| {
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        let (_, org) = store.parts_mut();
        let org = org.ok_or_else(|| Fail::not_found("no organization"))?;
        let pat = org.spaces[si]
            .pats
            .iter_mut()
            .find(|p| p.id == pat_id && p.status != PatStatus::Revoked)
            .ok_or_else(|| {
                Fail::not_found(format!(
                    "Could not find an unrevoked personal access token with ID: {}.",
                    crate::text::one_line_max(&pat_id, 80)
                ))
            })?;
        pat.status = PatStatus::Revoked;
        pat.revoked_at = Some(now_ms());
        pat.revoked_by = Some((
            "organization_bot".to_owned(),
            reference_ids::ORG_BOT.to_owned(),
        ));
        Ok(json!({}))
    })();
    answer(Family::A, result)
}

/// `POST /v1/managed_users/revoke_session` → `{"status":"revoked"}`.
pub(crate) async fn revoke_session(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let user = body
            .get("user")
            .and_then(Value::as_object)
            .ok_or_else(|| Fail::invalid("body.user should be an object"))?;
        let mut store = shared.write_store();
        let id = match user.get("type").and_then(Value::as_str) {
            Some("id") => {
                let id = string_field(user, "id")?;
                view::person(&store, id).map(|p| p.id.to_owned())
            }
            Some("email") => {
                let email = string_field(user, "email")?;
                let scim = store
                    .users()
                    .iter()
                    .find(|u| u.user_name.eq_ignore_ascii_case(email))
                    .map(|u| u.id.clone());
                scim.or_else(|| {
                    view::org(&store).ok().and_then(|o| {
                        o.people
                            .iter()
                            .find(|p| {
                                p.email
                                    .as_deref()
                                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
                            })
                            .map(|p| p.id.clone())
                    })
                })
            }
            _ => return Err(Fail::invalid("body.user.type should be `id` or `email`")),
        };
        let id =
            id.ok_or_else(|| Fail::not_found("Could not find that user in the organization."))?;
        if let (_, Some(org)) = store.parts_mut() {
            org.revoked_sessions.push(id);
        }
        Ok(json!({"status": "revoked"}))
    })();
    answer(Family::A, result)
}

/// Sets (`Some`) or removes (`None`) `user`'s membership of `group_id` in space `si`; the group
/// exists (checked by the caller).
fn set_membership(
    store: &mut Store,
    si: usize,
    group_id: &str,
    user: &str,
    role: Option<GroupRole>,
) {
    let (dataset, Some(org)) = store.parts_mut() else {
        return;
    };
    let scim = org.spaces[si].id == org.scim_space_id;
    let space = &mut org.spaces[si];
    if scim {
        if let Some(g) = dataset.groups.iter_mut().find(|g| g.id == group_id) {
            let present = g.members.iter().any(|m| m == user);
            match role {
                Some(_) if !present => g.members.push(user.to_owned()),
                None => g.members.retain(|m| m != user),
                Some(_) => {}
            }
        }
        let entry = match space.groups.iter_mut().position(|g| g.id == group_id) {
            Some(i) => &mut space.groups[i],
            None => {
                space.groups.push(OrgGroup {
                    id: group_id.to_owned(),
                    name: String::new(),
                    members: Vec::new(),
                });
                let last = space.groups.len() - 1;
                &mut space.groups[last]
            }
        };
        entry.members.retain(|m| m.user_id != user);
        if role == Some(GroupRole::Owner) {
            entry.members.push(OrgMembership {
                user_id: user.to_owned(),
                role: GroupRole::Owner,
            });
        }
        return;
    }
    let Some(group) = space.groups.iter_mut().find(|g| g.id == group_id) else {
        return;
    };
    match (role, group.members.iter_mut().find(|m| m.user_id == user)) {
        (Some(role), Some(m)) => m.role = role,
        (Some(role), None) => group.members.push(OrgMembership {
            user_id: user.to_owned(),
            role,
        }),
        (None, _) => group.members.retain(|m| m.user_id != user),
    }
}

/// The current role of `user` in group `group_id` of space `space_id` (404s for unknown ids).
fn current_role(
    store: &Store,
    space_id: &str,
    group_id: &str,
    user: &str,
) -> Result<Option<GroupRole>, Fail> {
    let space = view::live_space(store, space_id)?;
    let all = view::memberships(store, space, group_id)?;
    Ok(all.iter().find(|(u, _)| *u == user).map(|(_, r)| *r))
}

/// Reads `role` from a body (default `member` when absent).
fn role_field(body: &serde_json::Map<String, Value>) -> Result<GroupRole, Fail> {
    match body.get("role") {
        None => Ok(GroupRole::Member),
        Some(v) => v
            .as_str()
            .and_then(GroupRole::parse)
            .ok_or_else(|| Fail::invalid("body.role should be `owner` or `member`")),
    }
}

/// `POST /v1/spaces/{space_id}/groups/{group_id}/members` → the membership.
pub(crate) async fn add_group_member(
    State(shared): State<Arc<Shared>>,
    Path((space_id, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let member = body
            .get("member")
            .and_then(Value::as_object)
            .ok_or_else(|| Fail::invalid("body.member should be an object"))?;
        if member.get("type").and_then(Value::as_str) != Some("user") {
            return Err(Fail::invalid("body.member.type should be `user`"));
        }
        let user = string_field(member, "user_id")?;
        let role = role_field(&body)?;
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        if current_role(&store, &space_id, &group_id, user)?.is_some() {
            return Err(Fail::conflict(
                "That user is already a member of the group.",
            ));
        }
        let space = view::live_space(&store, &space_id)?;
        if !view::is_member(&store, space, user) {
            return Err(Fail::invalid(
                "body.member.user_id is not a member of this workspace",
            ));
        }
        set_membership(&mut store, si, &group_id, user, Some(role));
        Ok(json::membership(&group_id, user, role.as_str()))
    })();
    answer(Family::B, result)
}

/// `PATCH …/groups/{group_id}/members/users/{user_id}` body `{role}` → the membership.
pub(crate) async fn update_group_member(
    State(shared): State<Arc<Shared>>,
    Path((space_id, group_id, user)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        if body.get("role").is_none() {
            return Err(Fail::invalid("body.role should be `owner` or `member`"));
        }
        let role = role_field(&body)?;
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        if current_role(&store, &space_id, &group_id, &user)?.is_none() {
            return Err(Fail::not_found("That user is not a member of the group."));
        }
        set_membership(&mut store, si, &group_id, &user, Some(role));
        Ok(json::membership(&group_id, &user, role.as_str()))
    })();
    answer(Family::B, result)
}

/// `DELETE …/groups/{group_id}/members/users/{user_id}` → the removed membership.
pub(crate) async fn remove_group_member(
    State(shared): State<Arc<Shared>>,
    Path((space_id, group_id, user)): Path<(String, String, String)>,
) -> Response {
    let result = (|| {
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        let role = current_role(&store, &space_id, &group_id, &user)?
            .ok_or_else(|| Fail::not_found("That user is not a member of the group."))?;
        set_membership(&mut store, si, &group_id, &user, None);
        Ok(json::membership(&group_id, &user, role.as_str()))
    })();
    answer(Family::B, result)
}

/// `POST /v1/mcp_client_connections/revoke` → `{revoked_token_count}`.
pub(crate) async fn revoke_mcp(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let key = string_field(&body, "client_key")?;
        let user = string_field(&body, "user_id")?;
        let workspace = string_field(&body, "workspace_id")?;
        let mut store = shared.write_store();
        let (_, org) = store.parts_mut();
        let org = org.ok_or_else(|| Fail::not_found("no organization"))?;
        let mut count = 0u64;
        for c in org.mcp_connections.iter_mut() {
            if c.client_key == key
                && c.user_id == user
                && c.workspace_ids.iter().any(|w| w == workspace)
            {
                c.workspace_ids.retain(|w| w != workspace);
                count += 1;
            }
        }
        if count == 0 {
            return Err(Fail::not_found(
                "No connection of that client by that user in that workspace.",
            ));
        }
        org.mcp_connections.retain(|c| !c.workspace_ids.is_empty());
        Ok(json!({"revoked_token_count": count}))
    })();
    answer(Family::A, result)
}

/// `PUT /v1/mcp_client_connections/enterprise_managed_access` → `{access, revoked_token_count}`.
pub(crate) async fn enterprise_managed_access(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let access = string_field(&body, "access")?;
        if access != "allowed" && access != "denied" {
            return Err(Fail::invalid("body.access should be `allowed` or `denied`"));
        }
        let user = string_field(&body, "user_id")?.to_owned();
        let workspace = string_field(&body, "workspace_id")?.to_owned();
        let mut store = shared.write_store();
        view::live_space(&store, &workspace)?;
        if view::person(&store, &user).is_none() {
            return Err(Fail::not_found(
                "Could not find that user in the organization.",
            ));
        }
        let (_, org) = store.parts_mut();
        let org = org.ok_or_else(|| Fail::not_found("no organization"))?;
        let pair = (user.clone(), workspace.clone());
        let mut count = 0u64;
        if access == "denied" {
            for c in org.mcp_connections.iter_mut() {
                if c.user_id == user
                    && c.is_enterprise_managed
                    && c.workspace_ids.contains(&workspace)
                {
                    c.workspace_ids.retain(|w| *w != workspace);
                    count += 1;
                }
            }
            org.mcp_connections.retain(|c| !c.workspace_ids.is_empty());
            if !org.denied_mcp_access.contains(&pair) {
                org.denied_mcp_access.push(pair);
            }
        } else {
            org.denied_mcp_access.retain(|p| *p != pair);
        }
        Ok(json!({"access": access, "revoked_token_count": count}))
    })();
    answer(Family::A, result)
}

/// Reads a principal in any accepted form (see `mod.rs`).
fn parse_principal(v: &Value, space_id: &str) -> Result<Principal, Fail> {
    let obj = v.get("principal").unwrap_or(v);
    let obj = obj
        .as_object()
        .ok_or_else(|| Fail::invalid("a principal should be an object"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Fail::invalid("principal.type should be `user`, `group` or `workspace`"))?;
    let id = |typed: &str| {
        obj.get(typed)
            .or_else(|| obj.get("id"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match kind {
        "user" => id("user_id")
            .map(|s| Principal::User(s.to_owned()))
            .ok_or_else(|| Fail::invalid("a user principal needs `user_id` (or `id`)")),
        "group" => id("group_id")
            .map(|s| Principal::Group(s.to_owned()))
            .ok_or_else(|| Fail::invalid("a group principal needs `group_id` (or `id`)")),
        "workspace" => match id("workspace_id") {
            Some(w) if w != space_id => Err(Fail::invalid(
                "a workspace principal must name the agent's workspace",
            )),
            _ => Ok(Principal::Workspace),
        },
        _ => Err(Fail::invalid(
            "principal.type should be `user`, `group` or `workspace`",
        )),
    }
}

/// `PATCH /v1/spaces/{space_id}/agents/{agent_id}/permissions` → `{permissions}` (≤ 250).
pub(crate) async fn update_agent_permissions(
    State(shared): State<Arc<Shared>>,
    Path((space_id, agent_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let mut set = Vec::new();
        if let Some(entries) = body.get("set") {
            let entries = entries
                .as_array()
                .ok_or_else(|| Fail::invalid("body.set should be an array"))?;
            for e in entries {
                let role = e
                    .get("role")
                    .and_then(Value::as_str)
                    .and_then(AgentRole::parse)
                    .ok_or_else(|| Fail::invalid("body.set[].role should be `view_and_interact`, `edit` or `full_access`"))?;
                set.push((parse_principal(e, &space_id)?, role));
            }
        }
        let mut remove = Vec::new();
        if let Some(entries) = body.get("remove") {
            let entries = entries
                .as_array()
                .ok_or_else(|| Fail::invalid("body.remove should be an array"))?;
            for e in entries {
                remove.push(parse_principal(e, &space_id)?);
            }
        }
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        {
            let space = view::live_space(&store, &space_id)?;
            if !space.agents.iter().any(|a| a.id == agent_id && a.alive) {
                return Err(no_agent(&agent_id));
            }
            for (p, _) in &set {
                match p {
                    Principal::User(u) if !view::is_member(&store, space, u) => {
                        return Err(Fail::invalid(
                            "a user principal is not a member of this workspace",
                        ));
                    }
                    Principal::Group(g) if !view::has_group(&store, space, g) => {
                        return Err(Fail::invalid(
                            "a group principal is not a group of this workspace",
                        ));
                    }
                    _ => {}
                }
            }
        }
        let (_, org) = store.parts_mut();
        let org = org.ok_or_else(|| Fail::not_found("no organization"))?;
        let agent = org.spaces[si]
            .agents
            .iter_mut()
            .find(|a| a.id == agent_id)
            .ok_or_else(|| no_agent(&agent_id))?;
        agent.permissions.retain(|p| !remove.contains(&p.principal));
        for (principal, role) in set {
            match agent
                .permissions
                .iter_mut()
                .find(|p| p.principal == principal)
            {
                Some(p) => p.role = role,
                None => agent
                    .permissions
                    .push(OrgAgentPermission { principal, role }),
            }
        }
        let agent = agent.clone();
        drop(store);
        let shown = agent.permissions.len().min(250);
        let items = render_permissions(&shared, &space_id, &agent, 0..shown);
        Ok(json!({"permissions": items}))
    })();
    answer(Family::A, result)
}

/// `PATCH /v1/spaces/{space_id}/agents/{agent_id}/status` → `{admin_status, run_status,
/// paused_reason?}`.
pub(crate) async fn update_agent_status(
    State(shared): State<Arc<Shared>>,
    Path((space_id, agent_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let body = body_object(&body)?;
        let admin_status = string_field(&body, "admin_status")?;
        let status = match admin_status {
            "active" => "active",
            "disabled" => "disabled_from_api",
            _ => {
                return Err(Fail::invalid(
                    "body.admin_status should be `active` or `disabled`",
                ));
            }
        };
        let mut store = shared.write_store();
        let si = space_index(&store, &space_id)?;
        let (_, org) = store.parts_mut();
        let org = org.ok_or_else(|| Fail::not_found("no organization"))?;
        let agent = org.spaces[si]
            .agents
            .iter_mut()
            .find(|a| a.id == agent_id && a.alive)
            .ok_or_else(|| no_agent(&agent_id))?;
        agent.status = status.to_owned();
        Ok(if status == "active" {
            json!({"admin_status": "active", "run_status": "active"})
        } else {
            json!({"admin_status": "disabled", "run_status": "paused", "paused_reason": status})
        })
    })();
    answer(Family::A, result)
}
