//! The Admin API's JSON shapes (`spec/notion-admin.md` §3–4), built with `serde_json::json!`.
//!
//! Optional fields the spec marks optional are left out when the simulator has no value (never
//! sent as null), except `name` on users and spaces, which is "string or null" and always sent.

use serde_json::{Map, Value, json};

use super::org::{AgentRole, OrgAgent, OrgMcpConnection, OrgPat, Principal};
use super::paging::encode_cursor;
use super::view::{PersonView, UserEntry};
use crate::sim::config::PrincipalForm;

/// P1 (and spaces) envelope: every field present, `next_cursor` a string or null.
pub(crate) fn p1_list(kind: &str, results: Vec<Value>, scope: &str, next: Option<usize>) -> Value {
    json!({
        "object": "list",
        "type": kind,
        "results": results,
        "has_more": next.is_some(),
        "next_cursor": next.map(|n| encode_cursor(scope, n)),
    })
}

/// P2 / P4 envelope: `results`, `has_more`, and `next_cursor` only when there is more.
pub(crate) fn cursor_list(results: Vec<Value>, scope: &str, next: Option<usize>) -> Value {
    let mut body = Map::new();
    body.insert("results".into(), Value::Array(results));
    body.insert("has_more".into(), Value::Bool(next.is_some()));
    if let Some(n) = next {
        body.insert("next_cursor".into(), Value::String(encode_cursor(scope, n)));
    }
    Value::Object(body)
}

/// Agent permissions envelope: `{permissions, next_cursor?}` (no `has_more`).
pub(crate) fn permissions_list(permissions: Vec<Value>, scope: &str, next: Option<usize>) -> Value {
    let mut body = Map::new();
    body.insert("permissions".into(), Value::Array(permissions));
    if let Some(n) = next {
        body.insert("next_cursor".into(), Value::String(encode_cursor(scope, n)));
    }
    Value::Object(body)
}

/// A space: `{id, name}`.
pub(crate) fn space(id: &str, name: Option<&str>) -> Value {
    json!({"id": id, "name": name})
}

/// A workspace user: a person (`person: {email?}`) or a guest bot (`bot: {}`).
pub(crate) fn user(entry: &UserEntry<'_>) -> Value {
    match entry {
        UserEntry::Person(p) => {
            let mut person = Map::new();
            if let Some(email) = p.email {
                person.insert("email".into(), Value::String(email.to_owned()));
            }
            json!({
                "object": "user",
                "id": p.id,
                "name": p.name.as_deref(),
                "avatar_url": null,
                "type": "person",
                "person": person,
            })
        }
        UserEntry::Bot { id, name } => json!({
            "object": "user",
            "id": id,
            "name": name,
            "avatar_url": null,
            "type": "bot",
            "bot": {},
        }),
    }
}

/// A permission group: `{object:"group", id, name}`.
pub(crate) fn group(id: &str, name: &str) -> Value {
    json!({"object": "group", "id": id, "name": name})
}

/// A membership: `{object:"group_membership", group_id, member:{type:"user", user_id}, role}`.
pub(crate) fn membership(group_id: &str, user_id: &str, role: &str) -> Value {
    json!({
        "object": "group_membership",
        "group_id": group_id,
        "member": {"type": "user", "user_id": user_id},
        "role": role,
    })
}

/// A PAT; `creator` is the creator's profile (just the id when the organization has none).
pub(crate) fn pat(pat: &OrgPat, creator: Option<&PersonView<'_>>) -> Value {
    let mut c = Map::new();
    c.insert("id".into(), Value::String(pat.creator_id.clone()));
    if let Some(p) = creator {
        if let Some(name) = &p.name {
            c.insert("name".into(), Value::String(name.to_string()));
        }
        if let Some(email) = p.email {
            c.insert("email".into(), Value::String(email.to_owned()));
        }
    }
    let mut body = Map::new();
    body.insert("id".into(), Value::String(pat.id.clone()));
    body.insert("creator".into(), Value::Object(c));
    body.insert("created_at".into(), Value::from(pat.created_at));
    body.insert(
        "status".into(),
        Value::String(pat.status.as_str().to_owned()),
    );
    if let Some(name) = &pat.name {
        body.insert("name".into(), Value::String(name.clone()));
    }
    for (key, value) in [
        ("expires_at", pat.expires_at),
        ("last_used_at", pat.last_used_at),
        ("revoked_at", pat.revoked_at),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), Value::from(v));
        }
    }
    if let Some((kind, id)) = &pat.revoked_by {
        body.insert("revoked_by".into(), json!({"type": kind, "id": id}));
    }
    Value::Object(body)
}

/// An MCP client connection entry.
pub(crate) fn mcp(c: &OrgMcpConnection) -> Value {
    let mut body = Map::new();
    body.insert(
        "client".into(),
        json!({"key": c.client_key, "name": c.client_name, "type": c.client_type}),
    );
    body.insert("user".into(), json!({"id": c.user_id}));
    let workspaces: Vec<Value> = c.workspace_ids.iter().map(|id| json!({"id": id})).collect();
    body.insert("workspaces".into(), Value::Array(workspaces));
    body.insert("created_at".into(), Value::from(c.created_at));
    body.insert(
        "is_enterprise_managed".into(),
        Value::Bool(c.is_enterprise_managed),
    );
    if let Some(issuer) = &c.idp_issuer {
        body.insert("idp_issuer".into(), Value::String(issuer.clone()));
    }
    if let Some(at) = c.last_active_at {
        body.insert("last_active_at".into(), Value::from(at));
    }
    Value::Object(body)
}

/// An agent of `space_id`.
pub(crate) fn agent(space_id: &str, a: &OrgAgent) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), Value::String(a.id.clone()));
    body.insert("space_id".into(), Value::String(space_id.to_owned()));
    body.insert("type".into(), Value::String(a.agent_type.clone()));
    body.insert("alive".into(), Value::Bool(a.alive));
    body.insert("status".into(), Value::String(a.status.clone()));
    if let Some(name) = &a.name {
        body.insert("name".into(), Value::String(name.clone()));
    }
    Value::Object(body)
}

/// A principal in `form`: `{type, <type>_id}` (the request sample's form) or `{type, id}`.
/// The workspace principal carries the space id the same way.
pub(crate) fn principal(p: &Principal, space_id: &str, form: PrincipalForm) -> Value {
    let (kind, id) = match p {
        Principal::User(id) => ("user", id.as_str()),
        Principal::Group(id) => ("group", id.as_str()),
        Principal::Workspace => ("workspace", space_id),
    };
    let key = match form {
        PrincipalForm::TypedId => format!("{kind}_id"),
        PrincipalForm::Id => "id".to_owned(),
    };
    let mut body = Map::new();
    body.insert("type".into(), Value::String(kind.to_owned()));
    body.insert(key, Value::String(id.to_owned()));
    Value::Object(body)
}

/// A permission entry: nested `{principal, role, resolved_role}` or, with `flat`, the principal's
/// fields beside `role` and `resolved_role`.
pub(crate) fn permission(
    p: &Principal,
    role: AgentRole,
    resolved: AgentRole,
    space_id: &str,
    form: PrincipalForm,
    flat: bool,
) -> Value {
    let principal = principal(p, space_id, form);
    let mut body = if flat {
        match principal {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    } else {
        let mut m = Map::new();
        m.insert("principal".into(), principal);
        m
    };
    body.insert("role".into(), Value::String(role.as_str().to_owned()));
    body.insert(
        "resolved_role".into(),
        Value::String(resolved.as_str().to_owned()),
    );
    Value::Object(body)
}
