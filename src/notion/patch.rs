//! RFC 7644 §3.5.2 PatchOp bodies, with constructors for the forms known to work on Notion.
//!
//! - Membership: `add` with `path: "members"` and `[{"value": id}]`; `remove` with
//!   `path: members[value eq "id"]`. Never replace the whole list to remove one person (racy, and
//!   refused when it would strand pages).
//! - Role: `replace` with no `path` and the value keyed by the Notion extension URN is the form
//!   known to work; the path form (`…:User:role`) is unverified and offered only as a fallback
//!   after a 400.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::NOTION_USER_EXTENSION;
use super::models::UserId;
use super::users::filter_eq;

/// The PatchOp message schema URN.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A PatchOp request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    /// Always `[PATCH_OP_SCHEMA]`.
    pub schemas: Vec<String>,
    /// `Operations`, applied in order.
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

/// One operation of a [`PatchOp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`.
    pub op: String,
    /// Attribute path; absent for value-keyed replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; absent for removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl PatchOp {
    /// A PatchOp with these operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Adds users to a group: `{"op":"add","path":"members","value":[{"value":id},…]}`.
    pub fn add_members(ids: &[UserId]) -> Self {
        let members: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
        PatchOp::new(vec![PatchOperation {
            op: "add".to_owned(),
            path: Some("members".to_owned()),
            value: Some(Value::Array(members)),
        }])
    }

    /// Removes one user from a group: `{"op":"remove","path":"members[value eq \"id\"]"}`.
    pub fn remove_member(id: &UserId) -> Self {
        PatchOp::new(vec![PatchOperation {
            op: "remove".to_owned(),
            path: Some(format!("members[{}]", filter_eq("value", id.as_str()))),
            value: None,
        }])
    }

    /// Sets a user's workspace role with the value keyed by the extension URN (no path): the form
    /// known to work on Notion.
    pub fn set_role(role: &str) -> Self {
        PatchOp::new(vec![PatchOperation {
            op: "replace".to_owned(),
            path: None,
            value: Some(json!({ NOTION_USER_EXTENSION: { "role": role } })),
        }])
    }

    /// Sets a user's workspace role with the path form (`…:User:role`). Unverified on Notion: use
    /// only as a fallback after [`PatchOp::set_role`] gets a 400.
    pub fn set_role_by_path(role: &str) -> Self {
        PatchOp::new(vec![PatchOperation {
            op: "replace".to_owned(),
            path: Some(format!("{NOTION_USER_EXTENSION}:role")),
            value: Some(Value::String(role.to_owned())),
        }])
    }

    /// Sets `active` (false deprovisions the user, like `DELETE`).
    pub fn set_active(active: bool) -> Self {
        PatchOp::new(vec![PatchOperation {
            op: "replace".to_owned(),
            path: Some("active".to_owned()),
            value: Some(Value::Bool(active)),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_bodies() {
        let add = PatchOp::add_members(&[UserId::from("u1"), UserId::from("u2")]);
        assert_eq!(
            serde_json::to_value(&add).unwrap(),
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "u1" }, { "value": "u2" }] }]
            })
        );
        let remove = PatchOp::remove_member(&UserId::from("u\"1"));
        assert_eq!(
            serde_json::to_value(&remove).unwrap(),
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{ "op": "remove", "path": "members[value eq \"u\\\"1\"]" }]
            })
        );
    }

    #[test]
    fn role_bodies() {
        assert_eq!(
            serde_json::to_value(PatchOp::set_role("member")).unwrap(),
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{ "op": "replace", "value": { NOTION_USER_EXTENSION: { "role": "member" } } }]
            })
        );
        let by_path = PatchOp::set_role_by_path("owner");
        assert_eq!(
            by_path.operations[0].path.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:notion:2.0:User:role")
        );
        assert_eq!(
            serde_json::to_value(PatchOp::set_active(false)).unwrap()["Operations"][0],
            json!({ "op": "replace", "path": "active", "value": false })
        );
    }
}
