//! Groups as Notion sends them, and the body that creates one.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::lenient;
use super::{GroupId, Meta, UserId};
use crate::notion::GROUP_SCHEMA;

/// A Notion group (a "teamspace group" in the UI), as `GET /Groups` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The SCIM id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: GroupId,
    /// `displayName`; empty when absent.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub display_name: String,
    /// `members`. `None` when the field is absent or `null`: the page did not say, so the caller
    /// must `GET /Groups/{id}`. `Some(vec![])` means the group is known to be empty.
    #[serde(default, deserialize_with = "lenient::opt_seq")]
    pub members: Option<Vec<Member>>,
    /// `externalId`, if the identity provider set one.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
    /// `meta`.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub meta: Option<Meta>,
}

impl Group {
    /// Ids of the members that are users (see [`Member::is_user`]), in the order listed.
    pub fn user_member_ids(&self) -> impl Iterator<Item = &str> {
        self.members
            .iter()
            .flatten()
            .filter(|m| m.is_user() && !m.value.is_empty())
            .map(|m| m.value.as_str())
    }
}

impl Serialize for Group {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &[GROUP_SCHEMA])?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("displayName", &self.display_name)?;
        if let Some(members) = &self.members {
            map.serialize_entry("members", members)?;
        }
        if let Some(external_id) = &self.external_id {
            map.serialize_entry("externalId", external_id)?;
        }
        if let Some(meta) = &self.meta {
            map.serialize_entry("meta", meta)?;
        }
        map.end()
    }
}

/// One entry of a group's `members`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's SCIM id; empty when absent. Longer than
    /// [`MAX_ID_BYTES`](super::MAX_ID_BYTES) fails the page.
    #[serde(default, deserialize_with = "lenient::ref_id")]
    pub value: String,
    /// `display`: the member's name, when the server includes it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub display: Option<String>,
    /// `type`: `User` or `Group`; may be absent.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_: Option<String>,
}

impl Member {
    /// A member reference by user id, as membership writes send it.
    pub fn user(id: &UserId) -> Self {
        Member {
            value: id.to_string(),
            display: None,
            type_: None,
        }
    }

    /// True when the member is a user: `type` absent or `User` (any case).
    pub fn is_user(&self) -> bool {
        self.type_
            .as_deref()
            .is_none_or(|t| t.trim().eq_ignore_ascii_case("user"))
    }
}

/// The body of `POST /Groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// `displayName`.
    pub display_name: String,
    /// Initial `members` (only `value` is needed).
    pub members: Vec<Member>,
    /// `externalId`.
    pub external_id: Option<String>,
}

impl NewGroup {
    /// A new, empty group with this name.
    pub fn new(display_name: impl Into<String>) -> Self {
        NewGroup {
            display_name: display_name.into(),
            ..NewGroup::default()
        }
    }
}

impl Serialize for NewGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &[GROUP_SCHEMA])?;
        map.serialize_entry("displayName", &self.display_name)?;
        if !self.members.is_empty() {
            map.serialize_entry("members", &self.members)?;
        }
        if let Some(external_id) = &self.external_id {
            map.serialize_entry("externalId", external_id)?;
        }
        map.end()
    }
}
