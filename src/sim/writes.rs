//! The simulator's write endpoints, with Notion's semantics (spec/notion-scim.md):
//!
//! - `POST /Users` adds a member. A `userName` already active in the workspace → 409
//!   `uniqueness`; one that was deprovisioned (`active: false`) is re-added (201). A missing
//!   role extension means `member`; an unknown role → 400 `invalidValue`.
//! - `PATCH /Users/{id}` applies a PatchOp: the role, in the no-path form keyed by the Notion
//!   extension URN or the path form `…:User:role`, and `active`. Answers 200 with the user.
//! - `DELETE /Users/{id}` removes the member from the workspace and its groups (204); 404 when
//!   gone; 403 for the token's owner, who cannot be removed. The token owner is the first user
//!   with the `owner` role (Alice in the reference workspace).
//! - `PATCH /Groups/{id}` with `add` on `members` and `remove` on `members[value eq "…"]`
//!   (and `replace` of the whole list, which Notion also accepts). Answers 204.
//!
//! Bodies are parsed leniently as JSON values: the simulator checks what Notion would check,
//! not more.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::dataset::SimUser;
use super::handlers::{scim_error, scim_response};
use super::scim_json::{self, NOTION_USER_EXTENSION, UserJson};
use super::server::Shared;

const ROLES: [&str; 4] = ["owner", "membership_admin", "member", "restricted_member"];
const ROLE_PATH: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User:role";

/// Why a write is refused; turned into a SCIM error envelope at the handler's edge.
struct Reject {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl Reject {
    fn into_response(self) -> Response {
        scim_error(self.status, self.scim_type, &self.detail)
    }
}

fn bad_request(scim_type: &'static str, detail: &str) -> Reject {
    Reject {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some(scim_type),
        detail: detail.to_owned(),
    }
}

fn not_found(detail: &str) -> Reject {
    Reject {
        status: StatusCode::NOT_FOUND,
        scim_type: None,
        detail: detail.to_owned(),
    }
}

fn respond(result: Result<Response, Reject>) -> Response {
    result.unwrap_or_else(Reject::into_response)
}

fn parse(body: &Bytes) -> Result<Value, Reject> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request("invalidSyntax", &format!("request body is not JSON: {e}")))
}

fn role_of(v: &Value) -> Result<Option<String>, Reject> {
    match v.get(NOTION_USER_EXTENSION).and_then(|e| e.get("role")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => Ok(Some(r.clone())),
        Some(other) => Err(bad_request(
            "invalidValue",
            &format!("unknown workspace role {other}"),
        )),
    }
}

fn check_role(r: &Value) -> Result<String, Reject> {
    match r.as_str() {
        Some(s) if ROLES.contains(&s) => Ok(s.to_owned()),
        _ => Err(bad_request(
            "invalidValue",
            &format!("unknown workspace role {r}"),
        )),
    }
}

/// `POST /Users`.
pub(crate) async fn create_user(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    respond(create(&shared, &body))
}

fn create(shared: &Shared, body: &Bytes) -> Result<Response, Reject> {
    let v = parse(body)?;
    let Some(user_name) = v
        .get("userName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Err(bad_request("invalidValue", "userName is required"));
    };
    let role = role_of(&v)?.unwrap_or_else(|| "member".to_owned());
    let name = v.get("name");
    let part = |k: &str| {
        name.and_then(|n| n.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut store = shared.write_store();
    let users = &mut store.dataset_mut().users;
    if let Some(existing) = users
        .iter_mut()
        .find(|u| u.user_name.eq_ignore_ascii_case(user_name))
    {
        if existing.active {
            return Err(Reject {
                status: StatusCode::CONFLICT,
                scim_type: Some("uniqueness"),
                detail: "User already exists in this workspace".to_owned(),
            });
        }
        // A deprovisioned member's account comes back into the workspace.
        existing.active = true;
        existing.role = Some(role);
        let user = existing.clone();
        drop(store);
        return Ok(scim_response(
            StatusCode::CREATED,
            scim_json::resource(&UserJson::new(&user, true)),
        ));
    }
    let user = SimUser {
        id: new_user_id(),
        user_name: user_name.to_owned(),
        given_name: part("givenName"),
        family_name: part("familyName"),
        formatted: part("formatted"),
        role: Some(role),
        active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
    };
    users.push(user.clone());
    drop(store);
    Ok(scim_response(
        StatusCode::CREATED,
        scim_json::resource(&UserJson::new(&user, true)),
    ))
}

/// A fresh version-4-shaped id for a new member.
fn new_user_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn operations(v: &Value) -> Result<&Vec<Value>, Reject> {
    v.get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_request("invalidSyntax", "a PatchOp needs Operations"))
}

/// `PATCH /Users/{id}`.
pub(crate) async fn patch_user(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(patch_one_user(&shared, &id, &body))
}

fn patch_one_user(shared: &Shared, id: &str, body: &Bytes) -> Result<Response, Reject> {
    let v = parse(body)?;
    let ops = operations(&v)?;
    // Validate everything before changing anything.
    let mut new_role = None;
    let mut new_active = None;
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        if kind != "replace" && kind != "add" {
            return Err(bad_request(
                "invalidValue",
                &format!("unsupported op {kind:?} on a user"),
            ));
        }
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match op.get("path").and_then(Value::as_str) {
            None => {
                if let Some(r) = role_of(&value)? {
                    new_role = Some(r);
                }
                if let Some(a) = value.get("active").and_then(Value::as_bool) {
                    new_active = Some(a);
                }
            }
            Some(p) if p == ROLE_PATH => new_role = Some(check_role(&value)?),
            Some("active") => match value.as_bool() {
                Some(a) => new_active = Some(a),
                None => return Err(bad_request("invalidValue", "active must be a boolean")),
            },
            Some(p) => {
                return Err(bad_request(
                    "invalidPath",
                    &format!("unsupported path {p:?}"),
                ));
            }
        }
    }
    let mut store = shared.write_store();
    let Some(user) = store.dataset_mut().users.iter_mut().find(|u| u.id == id) else {
        return Err(not_found("User not found"));
    };
    if let Some(r) = new_role {
        user.role = Some(r);
    }
    if let Some(a) = new_active {
        user.active = a;
    }
    let user = user.clone();
    drop(store);
    Ok(scim_response(
        StatusCode::OK,
        scim_json::resource(&UserJson::new(&user, true)),
    ))
}

/// `DELETE /Users/{id}`.
pub(crate) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let mut store = shared.write_store();
    let data = store.dataset_mut();
    let owner = data
        .users
        .iter()
        .find(|u| u.role.as_deref() == Some("owner"))
        .map(|u| u.id.clone());
    let Some(pos) = data.users.iter().position(|u| u.id == id) else {
        return scim_error(StatusCode::NOT_FOUND, None, "User not found");
    };
    if owner.as_deref() == Some(id.as_str()) {
        return scim_error(
            StatusCode::FORBIDDEN,
            None,
            "The owner who created this SCIM token cannot be removed from the workspace",
        );
    }
    data.users.remove(pos);
    for g in &mut data.groups {
        g.members.retain(|m| *m != id);
    }
    drop(store);
    empty(StatusCode::NO_CONTENT)
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = status;
    r
}

/// The user id in `members[value eq "…"]`.
fn member_filter(path: &str) -> Option<String> {
    let inner = path.strip_prefix("members[")?.strip_suffix(']')?.trim();
    let rest = inner.strip_prefix("value")?.trim_start();
    let rest = rest
        .strip_prefix("eq")
        .or_else(|| rest.strip_prefix("EQ"))?
        .trim();
    Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_owned())
}

fn member_values(value: &Value) -> Result<Vec<String>, Reject> {
    let list = value
        .as_array()
        .ok_or_else(|| bad_request("invalidValue", "members must be a list"))?;
    list.iter()
        .map(|m| {
            m.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad_request("invalidValue", "each member needs a value"))
        })
        .collect()
}

/// `PATCH /Groups/{id}`.
pub(crate) async fn patch_group(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond(patch_one_group(&shared, &id, &body))
}

fn patch_one_group(shared: &Shared, id: &str, body: &Bytes) -> Result<Response, Reject> {
    let v = parse(body)?;
    let ops = operations(&v)?;
    let mut store = shared.write_store();
    let data = store.dataset_mut();
    let known: std::collections::HashSet<&str> = data.users.iter().map(|u| u.id.as_str()).collect();
    let Some(gpos) = data.groups.iter().position(|g| g.id == id) else {
        return Err(not_found("Group not found"));
    };
    let mut members = data.groups[gpos].members.clone();
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match (kind.as_str(), path) {
            ("add", "members") => {
                for uid in member_values(&value)? {
                    if !known.contains(uid.as_str()) {
                        return Err(bad_request(
                            "invalidValue",
                            &format!("no workspace member {uid}"),
                        ));
                    }
                    if !members.contains(&uid) {
                        members.push(uid);
                    }
                }
            }
            ("remove", p) if p.starts_with("members[") => match member_filter(p) {
                Some(uid) => members.retain(|m| *m != uid),
                None => {
                    return Err(bad_request(
                        "invalidFilter",
                        &format!("unsupported path {p:?}"),
                    ));
                }
            },
            ("replace", "members") => members = member_values(&value)?,
            _ => {
                return Err(bad_request(
                    "invalidValue",
                    &format!("unsupported operation {kind:?} on {path:?}"),
                ));
            }
        }
    }
    data.groups[gpos].members = members;
    drop(store);
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_filters_parse() {
        assert_eq!(
            member_filter(r#"members[value eq "u-1"]"#).as_deref(),
            Some("u-1")
        );
        assert_eq!(member_filter("members").as_deref(), None);
        assert_eq!(member_filter(r#"members[display eq "x"]"#).as_deref(), None);
    }
}
