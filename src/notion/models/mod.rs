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

use super::{ENTERPRISE_USER_EXTENSION, NOTION_USER_EXTENSION, USER_SCHEMA};

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

mod group;
mod lenient;
mod page;
#[cfg(test)]
mod tests;

pub use group::{Group, Member, NewGroup};
pub use lenient::MAX_ID_BYTES;
pub use page::ListResponse;
pub(crate) use page::{PageShape, decode_page};
