//! Lenient decoding of Admin API answers, like the SCIM models: unknown fields are ignored,
//! optional fields tolerate null or a scalar of the wrong type, and only what an item cannot
//! be used without fails it — an `id` (an MCP client's `key`, a permission's principal), or an
//! id over [`MAX_ID_BYTES`] bytes. One bad item fails its page: a listing with holes would
//! become an artifact with missing access.
//!
//! Paging is read the same way for every style: `next_cursor` absent, null or `""` means the
//! last page; `has_more: true` without a cursor is a malformed page; `has_more: false` wins over
//! a stray cursor. A page with more items than were asked for is refused (a server ignoring
//! `page_size` would break the request-count guarantees). Error details name fields and
//! positions, never the values (which may be huge or hostile).

use serde_json::{Map, Value};

use super::endpoint::Style;
use super::models::*;
use crate::notion::models::MAX_ID_BYTES;

/// The longest cursor accepted, in bytes (it is sent back in a query string).
pub(crate) const MAX_CURSOR_BYTES: usize = 8 * 1024;

/// Why an answer could not be used (turned into [`Error::Decode`](crate::notion::Error::Decode)
/// naming the request).
pub(crate) type Problem = String;

/// A JSON object's field as a string (numbers and booleans rendered); `None` for null, arrays,
/// objects and blank strings.
fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A required id: a non-blank string (or a number) of at most [`MAX_ID_BYTES`].
fn id_of(value: Option<&Value>, what: &str) -> Result<String, Problem> {
    let id = match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => return Err(format!("{what} is missing")),
        Some(_) => return Err(format!("{what} is not a string")),
    };
    if id.trim().is_empty() {
        return Err(format!("{what} is blank"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(format!(
            "{what} is {} bytes long (at most {MAX_ID_BYTES} accepted)",
            id.len()
        ));
    }
    Ok(id)
}

/// An optional id: `None` when absent or not usable as text, an error only when too long.
fn opt_id(value: Option<&Value>, what: &str) -> Result<Option<String>, Problem> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => id_of(value, what).map(Some),
        Some(Value::Number(_)) => id_of(value, what).map(Some),
        _ => Ok(None),
    }
}

/// Epoch milliseconds from a number or a digit string; `None` otherwise.
fn millis(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean, also from `"true"`/`"false"` or `0`/`1`.
fn flag(obj: &Map<String, Value>, key: &str) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// A nested object, if the field is one.
fn object<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

/// The item as an object.
fn as_object(item: &Value) -> Result<&Map<String, Value>, Problem> {
    item.as_object()
        .ok_or_else(|| "it is not an object".to_owned())
}

/// One workspace.
pub(crate) fn space(item: &Value) -> Result<Space, Problem> {
    let obj = as_object(item)?;
    Ok(Space {
        id: id_of(obj.get("id"), "`id`")?,
        name: text(obj, "name"),
    })
}

/// One member or guest bot.
pub(crate) fn user(item: &Value) -> Result<AdminUser, Problem> {
    let obj = as_object(item)?;
    let id = id_of(obj.get("id"), "`id`")?;
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("person") => AdminUserKind::Person {
            email: object(obj, "person").and_then(|p| text(p, "email")),
        },
        Some("bot") => AdminUserKind::Bot,
        Some(other) => AdminUserKind::Other(other.to_owned()),
        None if object(obj, "person").is_some() => AdminUserKind::Person {
            email: object(obj, "person").and_then(|p| text(p, "email")),
        },
        None if obj.contains_key("bot") => AdminUserKind::Bot,
        None => AdminUserKind::Other(String::new()),
    };
    Ok(AdminUser {
        id,
        name: text(obj, "name"),
        kind,
    })
}

/// One personal access token.
pub(crate) fn personal_access_token(item: &Value) -> Result<PersonalAccessToken, Problem> {
    let obj = as_object(item)?;
    let id = id_of(obj.get("id"), "`id`")?;
    let creator = object(obj, "creator").ok_or_else(|| "`creator` is missing".to_owned())?;
    Ok(PersonalAccessToken {
        id,
        creator: PersonRef {
            id: id_of(creator.get("id"), "`creator.id`")?,
            name: text(creator, "name"),
            email: text(creator, "email"),
        },
        created_at: millis(obj, "created_at").unwrap_or(0),
        status: PatStatus::parse(&text(obj, "status").unwrap_or_default()),
        name: text(obj, "name"),
        expires_at: millis(obj, "expires_at"),
        last_used_at: millis(obj, "last_used_at"),
        revoked_at: millis(obj, "revoked_at"),
    })
}

/// One MCP client connection.
pub(crate) fn mcp_connection(item: &Value) -> Result<McpConnection, Problem> {
    let obj = as_object(item)?;
    let client = object(obj, "client").ok_or_else(|| "`client` is missing".to_owned())?;
    let key = id_of(client.get("key"), "`client.key`")?;
    let user_id = match object(obj, "user") {
        Some(user) => id_of(user.get("id"), "`user.id`")?,
        None => id_of(obj.get("user_id"), "`user.id`")?,
    };
    let mut workspace_ids = Vec::new();
    let listed = obj
        .get("workspaces")
        .or_else(|| obj.get("workspace_ids"))
        .and_then(Value::as_array);
    for (i, w) in listed.into_iter().flatten().enumerate() {
        let id = match w {
            Value::Object(o) => opt_id(o.get("id"), &format!("`workspaces[{i}].id`"))?,
            other => opt_id(Some(other), &format!("`workspaces[{i}]`"))?,
        };
        workspace_ids.extend(id);
    }
    Ok(McpConnection {
        client: McpClient {
            key,
            name: text(client, "name"),
            client_type: text(client, "type"),
        },
        user_id,
        workspace_ids,
        created_at: millis(obj, "created_at"),
        last_active_at: millis(obj, "last_active_at"),
        is_enterprise_managed: flag(obj, "is_enterprise_managed").unwrap_or(false),
        idp_issuer: text(obj, "idp_issuer"),
    })
}

/// One agent of `space` (the space listed, used when the item does not name its own).
pub(crate) fn agent(item: &Value, space: &str) -> Result<Agent, Problem> {
    let obj = as_object(item)?;
    let id = id_of(obj.get("id"), "`id`")?;
    let space_id = opt_id(obj.get("space_id"), "`space_id`")?.unwrap_or_else(|| space.to_owned());
    let status = text(obj, "status").unwrap_or_default();
    let alive = flag(obj, "alive").unwrap_or(status != "deleted");
    let name = text(obj, "name").or_else(|| object(obj, "metadata").and_then(|m| text(m, "name")));
    Ok(Agent {
        id,
        space_id,
        agent_type: text(obj, "type").unwrap_or_default(),
        alive,
        status,
        name,
    })
}

/// A principal in any of the forms the sources disagree on: `{type, id}`,
/// `{type, "user_id"|"group_id"|"workspace_id": …}`, nested under `principal` or flat; a
/// workspace principal with or without an id.
fn principal(obj: &Map<String, Value>) -> Result<Principal, Problem> {
    let p = object(obj, "principal").unwrap_or(obj);
    let kind = p
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| "`principal.type` is missing".to_owned())?;
    let keyed = |key: &str| p.get(key).or_else(|| p.get("id"));
    match kind {
        "user" | "person" => Ok(Principal::User(id_of(
            keyed("user_id"),
            "the user principal's id",
        )?)),
        "group" => Ok(Principal::Group(id_of(
            keyed("group_id"),
            "the group principal's id",
        )?)),
        "workspace" | "space" => {
            let id = p
                .get("workspace_id")
                .or_else(|| p.get("space_id"))
                .or_else(|| p.get("id"));
            Ok(Principal::Workspace(opt_id(
                id,
                "the workspace principal's id",
            )?))
        }
        _ => Err("`principal.type` is not user, group or workspace".to_owned()),
    }
}

/// One entry of an agent's permissions.
pub(crate) fn agent_permission(item: &Value) -> Result<AgentPermission, Problem> {
    let obj = as_object(item)?;
    let principal = principal(obj)?;
    let role = text(obj, "role").ok_or_else(|| "`role` is missing".to_owned())?;
    Ok(AgentPermission {
        principal,
        role: AgentRole::parse(&role),
        resolved_role: text(obj, "resolved_role").map(|r| AgentRole::parse(&r)),
    })
}

/// One permission group.
pub(crate) fn group(item: &Value) -> Result<PermissionGroup, Problem> {
    let obj = as_object(item)?;
    Ok(PermissionGroup {
        id: id_of(obj.get("id"), "`id`")?,
        name: text(obj, "name"),
    })
}

/// One membership of `group` (the group listed, used when the item does not name its own).
pub(crate) fn membership(item: &Value, group: &str) -> Result<GroupMembership, Problem> {
    let obj = as_object(item)?;
    let group_id = opt_id(obj.get("group_id"), "`group_id`")?.unwrap_or_else(|| group.to_owned());
    let user_id = match object(obj, "member") {
        Some(m) => id_of(m.get("user_id").or_else(|| m.get("id")), "`member.user_id`")?,
        None => id_of(obj.get("user_id"), "`member.user_id`")?,
    };
    Ok(GroupMembership {
        group_id,
        user_id,
        role: GroupRole::parse(&text(obj, "role").unwrap_or_default()),
    })
}

/// Decodes one page of `style` holding at most `max` items, each read by `item`.
pub(crate) fn page<T>(
    body: &[u8],
    style: Style,
    max: usize,
    item: impl Fn(&Value) -> Result<T, Problem>,
) -> Result<AdminPage<T>, Problem> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let (items, obj) = match &value {
        Value::Object(obj) => {
            let key = style.items_key();
            let items = match obj.get(key) {
                Some(Value::Array(items)) => items.as_slice(),
                Some(Value::Null) | None => {
                    return Err(format!("the page has no `{key}` array"));
                }
                Some(_) => return Err(format!("`{key}` is not an array")),
            };
            (items, Some(obj))
        }
        // The spaces envelope is undocumented: a bare array is read as the last page.
        Value::Array(items) if style == Style::Spaces => (items.as_slice(), None),
        _ => return Err("the answer is not a JSON object".to_owned()),
    };
    if items.len() > max {
        return Err(format!(
            "the page holds {} items, more than the {max} asked for",
            items.len()
        ));
    }
    let next_cursor = match obj {
        Some(obj) => cursor(obj)?,
        None => None,
    };
    let items = items
        .iter()
        .enumerate()
        .map(|(i, v)| item(v).map_err(|p| format!("item {i}: {p}")))
        .collect::<Result<Vec<T>, Problem>>()?;
    Ok(AdminPage { items, next_cursor })
}

/// The next cursor of a page (see the module docs).
fn cursor(obj: &Map<String, Value>) -> Result<Option<String>, Problem> {
    let has_more = flag(obj, "has_more");
    let next = match obj.get("next_cursor") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(_) | Value::Null) | None => None,
        Some(_) => return Err("`next_cursor` is not a string".to_owned()),
    };
    match (has_more, next) {
        (Some(false), _) => Ok(None),
        (Some(true), None) => Err("`has_more` is true but there is no `next_cursor`".to_owned()),
        (_, Some(c)) if c.len() > MAX_CURSOR_BYTES => Err(format!(
            "`next_cursor` is {} bytes long (at most {MAX_CURSOR_BYTES} accepted)",
            c.len()
        )),
        (_, next) => Ok(next),
    }
}
