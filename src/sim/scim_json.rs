//! The SCIM JSON the simulator sends, shaped like Notion's (see `spec/notion-scim.md`).
//!
//! Everything here borrows from the store and serializes straight to bytes with `serde_json`:
//! a 100-user page costs one buffer and no per-field copies. The simulator deliberately does not
//! share types with `crate::notion` (the client under test): the two sides agree only on the wire.
//!
//! Shapes worth knowing:
//! - Errors use the RFC 7644 §3.12 envelope with `status` as a *string*, as Notion sends it, and
//!   `scimType` only when there is one.
//! - Users carry the Notion extension (`…:notion:2.0:User` → `{"role": …}`) and list its URN in
//!   `schemas` only when a role is served; absent `name` parts are left out (and `name` itself
//!   when all are absent); `meta.created`/`lastModified` are digit strings, not RFC 3339.
//! - Group members are `{"value","display","type":"User","$ref"}`; `display` follows Notion's
//!   fallback chain and is left out for ids that match no user.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::json;

use super::dataset::{SimGroup, SimUser};
use super::store::Store;

/// Schema URN of a SCIM error response.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Schema URN of a SCIM list response.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Core user schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Notion's user extension URN (carries `role`).
pub const NOTION_USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";
/// The enterprise user extension URN (advertised in `/ResourceTypes`, never served).
pub const ENTERPRISE_USER_EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// What every `meta.created` / `meta.lastModified` says: a digit string, like Notion's.
const TIMESTAMP: &str = "1700000000000";

/// Serializes a value the simulator built itself; these types cannot fail to serialize.
fn to_bytes(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("simulator JSON always serializes")
}

/// An RFC 7644 error body: `{"schemas":[Error],"status":"<code>","scimType"?,"detail"}`.
pub(crate) fn error_body(status: u16, scim_type: Option<&str>, detail: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct ErrorJson<'a> {
        schemas: [&'static str; 1],
        status: String,
        #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
        scim_type: Option<&'a str>,
        detail: &'a str,
    }
    to_bytes(&ErrorJson {
        schemas: [ERROR_SCHEMA],
        status: status.to_string(),
        scim_type,
        detail,
    })
}

/// A ListResponse around already-shaped resources.
pub(crate) fn list_response<T: Serialize>(
    total_results: usize,
    items_per_page: usize,
    start_index: usize,
    resources: &[T],
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ListJson<'a, T> {
        schemas: [&'static str; 1],
        total_results: usize,
        items_per_page: usize,
        start_index: usize,
        #[serde(rename = "Resources")]
        resources: &'a [T],
    }
    to_bytes(&ListJson {
        schemas: [LIST_RESPONSE_SCHEMA],
        total_results,
        items_per_page,
        start_index,
        resources,
    })
}

/// Serializes one resource on its own (`GET /Users/{id}`, `GET /Groups/{id}`).
pub(crate) fn resource(value: &impl Serialize) -> Vec<u8> {
    to_bytes(value)
}

/// `meta` of users and groups.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaJson {
    resource_type: &'static str,
    created: &'static str,
    last_modified: &'static str,
}

impl MetaJson {
    fn new(resource_type: &'static str) -> Self {
        MetaJson {
            resource_type,
            created: TIMESTAMP,
            last_modified: TIMESTAMP,
        }
    }
}

/// A user as Notion serves it, borrowing from a [`SimUser`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserJson<'a> {
    schemas: &'static [&'static str],
    id: &'a str,
    user_name: &'a str,
    #[serde(skip_serializing_if = "NameJson::is_empty")]
    name: NameJson<'a>,
    emails: [EmailJson<'a>; 1],
    active: bool,
    meta: MetaJson,
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:notion:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    notion: Option<RoleJson<'a>>,
}

/// `name` with only the parts that exist.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NameJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    formatted: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
}

impl NameJson<'_> {
    fn is_empty(&self) -> bool {
        self.formatted.is_none() && self.given_name.is_none() && self.family_name.is_none()
    }
}

/// The single primary work email (the userName).
#[derive(Serialize)]
struct EmailJson<'a> {
    value: &'a str,
    primary: bool,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// Body of the Notion extension.
#[derive(Serialize)]
struct RoleJson<'a> {
    role: &'a str,
}

impl<'a> UserJson<'a> {
    /// Shapes `user`; `with_role == false` leaves the Notion extension out even if a role is set.
    pub(crate) fn new(user: &'a SimUser, with_role: bool) -> Self {
        const WITH_EXTENSION: &[&str] = &[USER_SCHEMA, NOTION_USER_EXTENSION];
        const CORE_ONLY: &[&str] = &[USER_SCHEMA];
        let notion = user
            .role
            .as_deref()
            .filter(|_| with_role)
            .map(|role| RoleJson { role });
        UserJson {
            schemas: if notion.is_some() {
                WITH_EXTENSION
            } else {
                CORE_ONLY
            },
            id: &user.id,
            user_name: &user.user_name,
            name: NameJson {
                formatted: user.formatted.as_deref(),
                given_name: user.given_name.as_deref(),
                family_name: user.family_name.as_deref(),
            },
            emails: [EmailJson {
                value: &user.user_name,
                primary: true,
                kind: "work",
            }],
            active: user.active,
            meta: MetaJson::new("User"),
            notion,
        }
    }
}

/// A group as Notion serves it, borrowing from a [`SimGroup`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupJson<'a> {
    schemas: [&'static str; 1],
    id: &'a str,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<MemberJson<'a>>>,
    meta: MetaJson,
}

/// One entry of a group's `members`.
#[derive(Serialize)]
struct MemberJson<'a> {
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<Cow<'a, str>>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "$ref")]
    reference: UserRef<'a>,
}

/// `{base_url}/Users/{id}`, written without an intermediate `String`.
struct UserRef<'a> {
    base_url: &'a str,
    id: &'a str,
}

impl Serialize for UserRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for UserRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/Users/{}", self.base_url, self.id)
    }
}

impl<'a> GroupJson<'a> {
    /// Shapes `group`; members (with display names looked up in `store`) only if `with_members`.
    pub(crate) fn new(
        group: &'a SimGroup,
        store: &'a Store,
        base_url: &'a str,
        with_members: bool,
    ) -> Self {
        let members = with_members.then(|| {
            group
                .members
                .iter()
                .map(|id| MemberJson {
                    value: id,
                    display: store.user(id).map(SimUser::display_name),
                    kind: "User",
                    reference: UserRef { base_url, id },
                })
                .collect()
        });
        GroupJson {
            schemas: [GROUP_SCHEMA],
            id: &group.id,
            display_name: &group.display_name,
            members,
            meta: MetaJson::new("Group"),
        }
    }
}

/// `GET /ServiceProviderConfig` (RFC 7643 §5).
pub(crate) fn service_provider_config(base_url: &str, max_results: u32) -> Vec<u8> {
    to_bytes(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://www.notion.so/help/provision-users-and-groups-with-scim",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": max_results },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token standard",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    }))
}

/// `GET /ResourceTypes` (RFC 7643 §6), as a ListResponse of User and Group.
pub(crate) fn resource_types(base_url: &str) -> Vec<u8> {
    let resource_type = |id: &str, endpoint: &str, description: &str, schema: &str, extensions| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": id,
            "name": id,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "schemaExtensions": extensions,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{id}")
            }
        })
    };
    let types = [
        resource_type(
            "User",
            "/Users",
            "User Account",
            USER_SCHEMA,
            json!([
                { "schema": ENTERPRISE_USER_EXTENSION, "required": false },
                { "schema": NOTION_USER_EXTENSION, "required": false }
            ]),
        ),
        resource_type("Group", "/Groups", "Group", GROUP_SCHEMA, json!([])),
    ];
    list_response(types.len(), types.len(), 1, &types)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::sim::dataset::Dataset;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn error_status_is_a_string() {
        let body = parse(&error_body(400, Some("invalidFilter"), "bad"));
        assert_eq!(body["status"], "400");
        assert_eq!(body["scimType"], "invalidFilter");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        let body = parse(&error_body(401, None, "no"));
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn user_shape() {
        let data = Dataset::reference();
        let alice = parse(&resource(&UserJson::new(&data.users[0], true)));
        assert_eq!(alice["schemas"][1], NOTION_USER_EXTENSION);
        assert_eq!(alice["userName"], "owner@example.com");
        assert_eq!(alice["name"]["formatted"], "Alice Owner");
        assert_eq!(alice["name"]["givenName"], "Alice");
        assert_eq!(alice["emails"][0]["value"], "owner@example.com");
        assert_eq!(alice["emails"][0]["primary"], true);
        assert_eq!(alice["emails"][0]["type"], "work");
        assert_eq!(alice["active"], true);
        assert_eq!(alice["meta"]["created"], TIMESTAMP);
        assert_eq!(alice[NOTION_USER_EXTENSION]["role"], "owner");

        let no_role = parse(&resource(&UserJson::new(&data.users[0], false)));
        assert_eq!(no_role["schemas"].as_array().unwrap().len(), 1);
        assert!(no_role.get(NOTION_USER_EXTENSION).is_none());

        let mut bare = data.users[1].clone();
        bare.formatted = None;
        bare.given_name = None;
        bare.family_name = None;
        let bare = parse(&resource(&UserJson::new(&bare, true)));
        assert!(bare.get("name").is_none());
    }

    #[test]
    fn group_shape_with_and_without_members() {
        let mut data = Dataset::reference();
        data.groups[1].members.push("dangling".into());
        let store = Store::new(data.clone());
        let base = "http://sim/scim/v2";
        let group = parse(&resource(&GroupJson::new(
            &data.groups[1],
            &store,
            base,
            true,
        )));
        assert_eq!(group["displayName"], "Designers");
        let members = group["members"].as_array().unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[0]["value"], "22222222-2222-2222-2222-222222222222");
        assert_eq!(members[0]["display"], "Bob Admin");
        assert_eq!(members[0]["type"], "User");
        assert_eq!(
            members[0]["$ref"],
            "http://sim/scim/v2/Users/22222222-2222-2222-2222-222222222222"
        );
        assert!(members[2].get("display").is_none());
        let bare = parse(&resource(&GroupJson::new(
            &data.groups[1],
            &store,
            base,
            false,
        )));
        assert!(bare.get("members").is_none());
        assert_eq!(bare["meta"]["resourceType"], "Group");
    }

    #[test]
    fn discovery_documents_parse() {
        let config = parse(&service_provider_config("http://sim/scim/v2", 100));
        assert_eq!(config["filter"]["maxResults"], 100);
        let types = parse(&resource_types("http://sim/scim/v2"));
        assert_eq!(types["totalResults"], 2);
        assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    }
}
