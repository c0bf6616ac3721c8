//! SCIM resources as Notion sends them: users, groups, list responses and the id newtypes.
//!
//! Deserialization is deliberately lenient, because live Notion responses vary (see
//! `spec/notion-scim.md`): every field except `id` may be absent or `null`; a scalar of an
//! unexpected type (a number where a string belongs, `"true"` for a boolean, digit strings for
//! `meta` dates) is converted or ignored rather than failing the whole page; unknown fields and
//! unknown extensions are ignored. What is *not* tolerated is a resource without a usable `id`:
//! nothing downstream can work without one, so that fails the page with a decode error that names
//! the endpoint.
//!
//! Notion's workspace role lives in the `urn:ietf:params:scim:schemas:extension:notion:2.0:User`
//! extension; [`User::role`] lifts it out and keeps it a free string (new roles appear without
//! notice).

use std::borrow::Borrow;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{ENTERPRISE_USER_EXTENSION, GROUP_SCHEMA, NOTION_USER_EXTENSION, USER_SCHEMA};

/// Defines a string newtype for a SCIM id.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as Notion spelled it.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// The SCIM id of a Notion user (a hyphenated UUID in practice; kept as Notion spelled it).
    UserId
);
id_type!(
    /// The SCIM id of a Notion group (a hyphenated UUID in practice; kept as Notion spelled it).
    GroupId
);

/// One page of a SCIM list (`urn:ietf:params:scim:api:messages:2.0:ListResponse`).
///
/// Only `resources` is used for paging decisions, together with `total_results`; `items_per_page`
/// is kept for diagnostics but never trusted (some servers echo the requested `count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>")
)]
pub struct ListResponse<T> {
    /// `totalResults`: how many resources match in all; absent on some servers.
    #[serde(
        default,
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_results: Option<u64>,
    /// `itemsPerPage` as the server reported it (not necessarily `resources.len()`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub items_per_page: Option<u64>,
    /// `startIndex` as the server reported it (1-based).
    #[serde(
        default,
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_index: Option<u64>,
    /// `Resources`; empty when the field is absent or `null`.
    #[serde(
        rename = "Resources",
        alias = "resources",
        default = "Vec::new",
        deserialize_with = "lenient::seq_or_empty"
    )]
    pub resources: Vec<T>,
}

/// A Notion workspace member, as `GET /Users` and `GET /Users/{id}` return it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "UserWire")]
pub struct User {
    /// The SCIM id.
    pub id: UserId,
    /// `userName`: the member's email address in Notion; empty when absent.
    pub user_name: String,
    /// `externalId`, if the identity provider set one.
    pub external_id: Option<String>,
    /// `name`; no sub-field is guaranteed.
    pub name: Option<Name>,
    /// `emails`; empty when absent.
    pub emails: Vec<Email>,
    /// `active`; `false` means deprovisioned (not deleted). `None` when absent.
    pub active: Option<bool>,
    /// `title`.
    pub title: Option<String>,
    /// The workspace role from Notion's user extension (`owner`, `membership_admin`, `member`,
    /// `restricted_member`, or something new). `None` when the extension or its `role` is absent
    /// or blank.
    pub role: Option<String>,
    /// The SCIM enterprise extension (department, manager, …), when present.
    pub enterprise: Option<EnterpriseUser>,
    /// `meta` (Notion's dates are digit strings, kept as given).
    pub meta: Option<Meta>,
}

impl User {
    /// The name to show for this user: `name.formatted`, else `givenName familyName` (either part
    /// may be missing), else `userName`, else the primary email, else the id. Never empty.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            if let Some(formatted) = non_blank(name.formatted.as_deref()) {
                return formatted.to_owned();
            }
            let parts: Vec<&str> = [name.given_name.as_deref(), name.family_name.as_deref()]
                .into_iter()
                .filter_map(non_blank)
                .collect();
            if !parts.is_empty() {
                return parts.join(" ");
            }
        }
        if let Some(user_name) = non_blank(Some(&self.user_name)) {
            return user_name.to_owned();
        }
        match self.primary_email() {
            Some(email) => email.to_owned(),
            None => self.id.to_string(),
        }
    }

    /// The user's email: the one marked primary, else the first non-blank one, else `userName`
    /// when it looks like an address (contains `@`).
    pub fn primary_email(&self) -> Option<&str> {
        let usable = || {
            self.emails
                .iter()
                .filter_map(|e| non_blank(Some(&e.value)).map(|v| (e, v)))
        };
        usable()
            .find(|(e, _)| e.primary == Some(true))
            .or_else(|| usable().next())
            .map(|(_, v)| v)
            .or_else(|| non_blank(Some(&self.user_name)).filter(|u| u.contains('@')))
    }

    /// True unless Notion says the user is deprovisioned (`active: false`).
    pub fn is_active(&self) -> bool {
        self.active != Some(false)
    }
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = UserBody {
            id: Some(self.id.as_str()),
            user_name: &self.user_name,
            external_id: self.external_id.as_deref(),
            name: self.name.as_ref(),
            emails: &self.emails,
            active: self.active,
            title: self.title.as_deref(),
            role: self.role.as_deref(),
            enterprise: self.enterprise.as_ref(),
            meta: self.meta.as_ref(),
        };
        body.serialize(serializer)
    }
}

/// `name` of a user. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// `formatted`: the full name as one string.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub formatted: Option<String>,
    /// `givenName`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub given_name: Option<String>,
    /// `familyName`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name: Option<String>,
}

/// One entry of a user's `emails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address; empty when absent.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub value: String,
    /// Whether this is the primary address.
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary: Option<bool>,
    /// `type` (`work`, `home`, …).
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_: Option<String>,
}

impl Email {
    /// A primary work address, as a create request would send it.
    pub fn primary_work(value: impl Into<String>) -> Self {
        Email {
            value: value.into(),
            primary: Some(true),
            type_: Some("work".to_owned()),
        }
    }
}

/// The SCIM enterprise user extension
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// `employeeNumber`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub employee_number: Option<String>,
    /// `costCenter`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cost_center: Option<String>,
    /// `organization`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<String>,
    /// `division`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub division: Option<String>,
    /// `department`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub department: Option<String>,
    /// `manager`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub manager: Option<Manager>,
}

/// `manager` in the enterprise extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    /// The manager's SCIM id.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<String>,
    /// `displayName`.
    #[serde(
        rename = "displayName",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
}

/// `meta` of a resource. Notion's `created`/`lastModified` are digit strings, not RFC 3339, and
/// carry no reliable meaning; they are kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `resourceType` (`User`, `Group`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_type: Option<String>,
    /// `created`, verbatim.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<String>,
    /// `lastModified`, verbatim.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
    /// `location`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// `version`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
}

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
    /// The member's SCIM id; empty when absent.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
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

/// The body of `POST /Users`: a member to add to the workspace.
///
/// If a Notion account with that email exists, Notion adds that account rather than creating one.
/// `role: "restricted_member"` is how a page guest becomes a restricted member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// `userName`: the email address (required by Notion).
    pub user_name: String,
    /// `name`.
    pub name: Option<Name>,
    /// `emails`.
    pub emails: Vec<Email>,
    /// `active`.
    pub active: Option<bool>,
    /// `title`.
    pub title: Option<String>,
    /// Workspace role, sent in Notion's user extension.
    pub role: Option<String>,
    /// `externalId`.
    pub external_id: Option<String>,
}

impl NewUser {
    /// A new member with this email as `userName` and primary work email.
    pub fn new(email: impl Into<String>) -> Self {
        let email = email.into();
        NewUser {
            emails: vec![Email::primary_work(email.clone())],
            user_name: email,
            ..NewUser::default()
        }
    }
}

impl Serialize for NewUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = UserBody {
            id: None,
            user_name: &self.user_name,
            external_id: self.external_id.as_deref(),
            name: self.name.as_ref(),
            emails: &self.emails,
            active: self.active,
            title: self.title.as_deref(),
            role: self.role.as_deref(),
            enterprise: None,
            meta: None,
        };
        body.serialize(serializer)
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

/// The SCIM JSON of a user, shared by [`User`] and [`NewUser`].
struct UserBody<'a> {
    id: Option<&'a str>,
    user_name: &'a str,
    external_id: Option<&'a str>,
    name: Option<&'a Name>,
    emails: &'a [Email],
    active: Option<bool>,
    title: Option<&'a str>,
    role: Option<&'a str>,
    enterprise: Option<&'a EnterpriseUser>,
    meta: Option<&'a Meta>,
}

impl Serialize for UserBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut schemas = vec![USER_SCHEMA];
        if self.enterprise.is_some() {
            schemas.push(ENTERPRISE_USER_EXTENSION);
        }
        if self.role.is_some() {
            schemas.push(NOTION_USER_EXTENSION);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &schemas)?;
        if let Some(id) = self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("userName", self.user_name)?;
        if let Some(external_id) = self.external_id {
            map.serialize_entry("externalId", external_id)?;
        }
        if let Some(name) = self.name {
            map.serialize_entry("name", name)?;
        }
        if !self.emails.is_empty() {
            map.serialize_entry("emails", self.emails)?;
        }
        if let Some(active) = self.active {
            map.serialize_entry("active", &active)?;
        }
        if let Some(title) = self.title {
            map.serialize_entry("title", title)?;
        }
        if let Some(enterprise) = self.enterprise {
            map.serialize_entry(ENTERPRISE_USER_EXTENSION, enterprise)?;
        }
        if let Some(role) = self.role {
            map.serialize_entry(
                NOTION_USER_EXTENSION,
                &NotionUserExtension {
                    role: Some(role.to_owned()),
                },
            )?;
        }
        if let Some(meta) = self.meta {
            map.serialize_entry("meta", meta)?;
        }
        map.end()
    }
}

/// How a user arrives on the wire; converted into [`User`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    #[serde(deserialize_with = "lenient::id")]
    id: UserId,
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    user_name: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    external_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    name: Option<Name>,
    #[serde(default, deserialize_with = "lenient::seq_or_empty")]
    emails: Vec<Email>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:notion:2.0:User",
        default,
        deserialize_with = "lenient::opt_object"
    )]
    notion: Option<NotionUserExtension>,
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        default,
        deserialize_with = "lenient::opt_object"
    )]
    enterprise: Option<EnterpriseUser>,
    #[serde(default, deserialize_with = "lenient::opt_object")]
    meta: Option<Meta>,
}

impl From<UserWire> for User {
    fn from(w: UserWire) -> Self {
        let role = w
            .notion
            .and_then(|ext| ext.role)
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        User {
            id: w.id,
            user_name: w.user_name,
            external_id: w.external_id,
            name: w.name,
            emails: w.emails,
            active: w.active,
            title: w.title,
            role,
            enterprise: w.enterprise,
            meta: w.meta,
        }
    }
}

/// Notion's user extension: `{ "role": "…" }`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct NotionUserExtension {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    role: Option<String>,
}

/// `value` trimmed, or `None` when it is absent or blank.
fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Forgiving deserializers: convert what can be converted, ignore what cannot, fail only on ids.
mod lenient {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::Deserialize;
    use serde::de::value::MapAccessDeserializer;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};

    /// Skips the rest of a sequence.
    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// Skips the rest of a map.
    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// A scalar rendered as a string; `None` for null, arrays and objects.
    struct StringLike;

    impl<'de> Visitor<'de> for StringLike {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map).map(|()| None)
        }
    }

    /// A string, number or boolean as a string; anything else as `None`.
    pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(StringLike)
    }

    /// Like [`opt_string`], with `""` for anything that is not a scalar.
    pub(super) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        opt_string(d).map(Option::unwrap_or_default)
    }

    /// A boolean, also from `"true"`/`"false"` (any case) or `0`/`1`; anything else as `None`.
    struct BoolLike;

    impl<'de> Visitor<'de> for BoolLike {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            Ok(if v.eq_ignore_ascii_case("true") {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            })
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map).map(|()| None)
        }
    }

    /// See [`BoolLike`].
    pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_any(BoolLike)
    }

    /// A non-negative integer, also from a digit string; anything else as `None`.
    struct CountLike;

    impl<'de> Visitor<'de> for CountLike {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // `as` saturates; only exact, in-range integers are accepted.
            Ok((v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64).then_some(v as u64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse().ok())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map).map(|()| None)
        }
    }

    /// See [`CountLike`].
    pub(super) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(CountLike)
    }

    /// An object deserialized as `T`; `None` for null and for any non-object (ignored).
    struct ObjectLike<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectLike<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }
    }

    /// See [`ObjectLike`].
    pub(super) fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(ObjectLike(PhantomData))
    }

    /// An array whose elements are deserialized as `T` (strictly); `None` for null and for any
    /// non-array (ignored).
    struct SeqLike<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqLike<T> {
        type Value = Option<Vec<T>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            // Cap the hint: a lying size hint must not make us allocate a huge vector.
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(Some(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map).map(|()| None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    /// See [`SeqLike`].
    pub(super) fn opt_seq<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(SeqLike(PhantomData))
    }

    /// Like [`opt_seq`], with an empty vector for null and non-arrays.
    pub(super) fn seq_or_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        opt_seq(d).map(Option::unwrap_or_default)
    }

    /// A resource id: a non-empty string, or a number rendered as one. Anything else fails.
    struct IdLike;

    impl<'de> Visitor<'de> for IdLike {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-empty id string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                Err(E::invalid_value(Unexpected::Str(v), &self))
            } else {
                Ok(v.to_owned())
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(v.to_string())
        }
    }

    /// See [`IdLike`]; produces any id newtype.
    pub(super) fn id<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: From<String>,
    {
        d.deserialize_any(IdLike).map(T::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A user as a live Notion tenant returns it (shape from third-party observations).
    fn notion_user() -> serde_json::Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:notion:2.0:User"
            ],
            "id": "5f3d0a8e-2b1c-4e2a-9f7d-1c2b3a4d5e6f",
            "userName": "ada@example.com",
            "name": { "formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "value": "ada@example.com", "primary": true, "type": "work" }],
            "active": true,
            "photos": [{ "value": "https://s3.example/ada.png", "type": "photo" }],
            "title": "Analyst",
            "meta": { "resourceType": "User", "created": "1712345678901", "lastModified": "1712345678901" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Engines",
                "manager": { "value": "0a0b0c0d-0000-4000-8000-000000000001", "displayName": "Charles" }
            },
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "membership_admin" }
        })
    }

    #[test]
    fn parses_a_realistic_notion_user() {
        let user: User = serde_json::from_value(notion_user()).unwrap();
        assert_eq!(user.id.as_str(), "5f3d0a8e-2b1c-4e2a-9f7d-1c2b3a4d5e6f");
        assert_eq!(user.user_name, "ada@example.com");
        assert_eq!(user.role.as_deref(), Some("membership_admin"));
        assert_eq!(user.title.as_deref(), Some("Analyst"));
        assert_eq!(user.active, Some(true));
        assert_eq!(user.display_name(), "Ada Lovelace");
        assert_eq!(user.primary_email(), Some("ada@example.com"));
        let meta = user.meta.as_ref().unwrap();
        assert_eq!(meta.created.as_deref(), Some("1712345678901"));
        let ent = user.enterprise.as_ref().unwrap();
        assert_eq!(ent.department.as_deref(), Some("Engines"));
        assert_eq!(
            ent.manager.as_ref().unwrap().display_name.as_deref(),
            Some("Charles")
        );
    }

    #[test]
    fn only_id_is_required() {
        let user: User = serde_json::from_value(json!({ "id": "u1" })).unwrap();
        assert_eq!(user.user_name, "");
        assert!(user.emails.is_empty());
        assert_eq!(user.role, None);
        assert_eq!(user.display_name(), "u1");
        assert_eq!(user.primary_email(), None);
        assert!(user.is_active());

        assert!(serde_json::from_value::<User>(json!({ "userName": "x" })).is_err());
        assert!(serde_json::from_value::<User>(json!({ "id": "" })).is_err());
        assert!(serde_json::from_value::<User>(json!({ "id": null })).is_err());
    }

    #[test]
    fn tolerates_nulls_and_odd_scalars() {
        let user: User = serde_json::from_value(json!({
            "id": 42,
            "userName": "bob@example.com",
            "name": null,
            "emails": null,
            "active": "False",
            "title": 7,
            "meta": { "created": 1712345678901u64 },
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User": null,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "n/a",
            "unknownField": { "deep": [1, 2, 3] }
        }))
        .unwrap();
        assert_eq!(user.id.as_str(), "42");
        assert_eq!(user.active, Some(false));
        assert!(!user.is_active());
        assert_eq!(user.title.as_deref(), Some("7"));
        assert_eq!(
            user.meta.as_ref().unwrap().created.as_deref(),
            Some("1712345678901")
        );
        assert_eq!(user.role, None);
        assert_eq!(user.enterprise, None);
        assert_eq!(user.display_name(), "bob@example.com");
        assert_eq!(user.primary_email(), Some("bob@example.com"));
    }

    #[test]
    fn role_absent_or_blank_is_none() {
        let user: User = serde_json::from_value(json!({
            "id": "u1",
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User": {}
        }))
        .unwrap();
        assert_eq!(user.role, None);
        let user: User = serde_json::from_value(json!({
            "id": "u1",
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "  " }
        }))
        .unwrap();
        assert_eq!(user.role, None);
        let user: User = serde_json::from_value(json!({
            "id": "u1",
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "brand_new_role" }
        }))
        .unwrap();
        assert_eq!(user.role.as_deref(), Some("brand_new_role"));
    }

    #[test]
    fn display_name_fallbacks() {
        let mut user: User = serde_json::from_value(json!({
            "id": "u1", "userName": "ada@example.com",
            "name": { "givenName": " Ada ", "familyName": "Lovelace" }
        }))
        .unwrap();
        assert_eq!(user.display_name(), "Ada Lovelace");
        user.name = Some(Name {
            family_name: Some("Lovelace".into()),
            ..Name::default()
        });
        assert_eq!(user.display_name(), "Lovelace");
        user.name = Some(Name {
            formatted: Some("   ".into()),
            given_name: Some("Ada".into()),
            family_name: None,
        });
        assert_eq!(user.display_name(), "Ada");
        user.name = Some(Name::default());
        assert_eq!(user.display_name(), "ada@example.com");
    }

    #[test]
    fn primary_email_preference() {
        let user: User = serde_json::from_value(json!({
            "id": "u1", "userName": "login-name",
            "emails": [
                { "value": "" },
                { "value": "home@example.com", "type": "home" },
                { "value": "work@example.com", "primary": true }
            ]
        }))
        .unwrap();
        assert_eq!(user.primary_email(), Some("work@example.com"));
        let user: User = serde_json::from_value(json!({
            "id": "u1", "userName": "login-name",
            "emails": [{ "value": "" }, { "value": "first@example.com" }, { "value": "second@example.com" }]
        }))
        .unwrap();
        assert_eq!(user.primary_email(), Some("first@example.com"));
        let user: User =
            serde_json::from_value(json!({ "id": "u1", "userName": "login-name" })).unwrap();
        assert_eq!(user.primary_email(), None);
    }

    #[test]
    fn group_members_absent_null_empty_and_typed() {
        let g: Group = serde_json::from_value(json!({ "id": "g1", "displayName": "Eng" })).unwrap();
        assert_eq!(g.members, None);
        let g: Group =
            serde_json::from_value(json!({ "id": "g1", "displayName": "Eng", "members": null }))
                .unwrap();
        assert_eq!(g.members, None);
        let g: Group =
            serde_json::from_value(json!({ "id": "g1", "displayName": "Eng", "members": [] }))
                .unwrap();
        assert_eq!(g.members, Some(vec![]));
        let g: Group = serde_json::from_value(json!({
            "id": "g1", "displayName": "Eng",
            "members": [
                { "value": "u1", "display": "Ada" },
                { "value": "u2", "type": "User", "$ref": "https://x/Users/u2" },
                { "value": "u3", "type": "user" },
                { "value": "g2", "type": "Group" }
            ]
        }))
        .unwrap();
        let ids: Vec<&str> = g.user_member_ids().collect();
        assert_eq!(ids, ["u1", "u2", "u3"]);
        let members = g.members.as_ref().unwrap();
        assert_eq!(members[0].display.as_deref(), Some("Ada"));
        assert!(!members[3].is_user());
    }

    #[test]
    fn list_response_resources_may_be_absent() {
        let page: ListResponse<User> = serde_json::from_value(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "itemsPerPage": 0, "startIndex": 1
        }))
        .unwrap();
        assert!(page.resources.is_empty());
        assert_eq!(page.total_results, Some(0));
        let page: ListResponse<Group> = serde_json::from_value(json!({
            "totalResults": "2", "Resources": [{ "id": "g1" }, { "id": "g2", "displayName": "B" }]
        }))
        .unwrap();
        assert_eq!(page.total_results, Some(2));
        assert_eq!(page.items_per_page, None);
        assert_eq!(page.resources.len(), 2);
        let page: ListResponse<Group> =
            serde_json::from_value(json!({ "Resources": null, "totalResults": null })).unwrap();
        assert!(page.resources.is_empty());
        assert_eq!(page.total_results, None);
    }

    #[test]
    fn ids_are_transparent_newtypes() {
        let id = UserId::from("abc".to_owned());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc\"");
        let back: GroupId = serde_json::from_str("\"g\"").unwrap();
        assert_eq!(back.as_str(), "g");
        assert_eq!(id.to_string(), "abc");
        let mut set = std::collections::HashSet::new();
        set.insert(id);
        assert!(set.contains("abc"));
    }

    #[test]
    fn user_round_trips_with_role_extension() {
        let user: User = serde_json::from_value(notion_user()).unwrap();
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(
            json[NOTION_USER_EXTENSION]["role"],
            json!("membership_admin")
        );
        let again: User = serde_json::from_value(json).unwrap();
        assert_eq!(again, user);
    }

    #[test]
    fn new_user_body() {
        let mut new = NewUser::new("ada@example.com");
        new.role = Some("restricted_member".into());
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(
            json,
            json!({
                "schemas": [USER_SCHEMA, NOTION_USER_EXTENSION],
                "userName": "ada@example.com",
                "emails": [{ "value": "ada@example.com", "primary": true, "type": "work" }],
                NOTION_USER_EXTENSION: { "role": "restricted_member" }
            })
        );
        let group = NewGroup::new("Eng");
        assert_eq!(
            serde_json::to_value(&group).unwrap(),
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "Eng" })
        );
    }
}
