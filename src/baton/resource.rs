//! Builders for resources, entitlements and grants, as the Go SDK's `resource`,
//! `entitlement` and `grant` helper packages build them.
//!
//! The invariant that matters: a resource of a USER/GROUP/ROLE type carries the matching trait
//! annotation (the Go syncer rejects a sync otherwise), and the resource-level `profile` and
//! `status` mirror the trait's, because readers look at either.

use prost_types::{Any, Struct, Value, value::Kind};

use super::annotations::pack;
use super::ids;
use crate::pb::v2;

/// A value for a resource profile (`google.protobuf.Struct`).
#[derive(Clone, Debug, PartialEq)]
pub enum ProfileValue {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A number (protobuf `Struct` numbers are doubles).
    Num(f64),
}

impl From<&str> for ProfileValue {
    fn from(s: &str) -> Self {
        ProfileValue::Str(s.to_owned())
    }
}

impl From<String> for ProfileValue {
    fn from(s: String) -> Self {
        ProfileValue::Str(s)
    }
}

impl From<bool> for ProfileValue {
    fn from(b: bool) -> Self {
        ProfileValue::Bool(b)
    }
}

/// Builds a `Struct` from key/value pairs (keys are kept sorted by the map type).
pub fn profile<K: Into<String>>(pairs: impl IntoIterator<Item = (K, ProfileValue)>) -> Struct {
    let fields = pairs
        .into_iter()
        .map(|(k, v)| {
            let kind = match v {
                ProfileValue::Str(s) => Kind::StringValue(s),
                ProfileValue::Bool(b) => Kind::BoolValue(b),
                ProfileValue::Num(n) => Kind::NumberValue(n),
            };
            (k.into(), Value { kind: Some(kind) })
        })
        .collect();
    Struct { fields }
}

/// A string field of a profile, if present and a string.
pub fn profile_str<'a>(profile: Option<&'a Struct>, key: &str) -> Option<&'a str> {
    match profile?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

/// A resource type with traits and annotations.
pub fn resource_type(
    id: &str,
    display_name: &str,
    traits: &[v2::resource_type::Trait],
    annotations: Vec<Any>,
) -> v2::ResourceType {
    v2::ResourceType {
        id: id.to_owned(),
        display_name: display_name.to_owned(),
        traits: traits.iter().map(|t| *t as i32).collect(),
        annotations,
        description: String::new(),
        sourced_externally: false,
    }
}

/// What a user resource is made of.
#[derive(Clone, Debug, Default)]
pub struct UserSpec {
    /// The application's id for the user.
    pub id: String,
    /// The name people see.
    pub display_name: String,
    /// Email addresses; the first flagged primary is the primary one.
    pub emails: Vec<(String, bool)>,
    /// The login (usually the primary email).
    pub login: String,
    /// Enabled or disabled.
    pub enabled: bool,
    /// Given name, if known.
    pub given_name: Option<String>,
    /// Family name, if known.
    pub family_name: Option<String>,
    /// Raw useful fields kept on the resource.
    pub profile: Struct,
}

/// A `user` resource with its `UserTrait` (human account), profile and status.
pub fn user_resource(resource_type: &str, spec: UserSpec) -> v2::Resource {
    use v2::user_trait::status::Status as UserStatus;
    let status = if spec.enabled {
        UserStatus::Enabled
    } else {
        UserStatus::Disabled
    };
    let structured_name = (spec.given_name.is_some() || spec.family_name.is_some()).then(|| {
        v2::user_trait::StructuredName {
            given_name: spec.given_name.clone().unwrap_or_default(),
            family_name: spec.family_name.clone().unwrap_or_default(),
            ..Default::default()
        }
    });
    #[allow(deprecated)]
    let user_trait = v2::UserTrait {
        emails: spec
            .emails
            .iter()
            .map(|(address, is_primary)| v2::user_trait::Email {
                address: address.clone(),
                is_primary: *is_primary,
            })
            .collect(),
        status: Some(v2::user_trait::Status {
            status: status as i32,
            details: String::new(),
        }),
        profile: Some(spec.profile.clone()),
        account_type: v2::user_trait::AccountType::Human as i32,
        login: spec.login,
        structured_name,
        ..Default::default()
    };
    let resource_status = if spec.enabled {
        v2::status::ResourceStatus::Enabled
    } else {
        v2::status::ResourceStatus::Disabled
    };
    v2::Resource {
        id: Some(ids::resource_id(resource_type, &spec.id)),
        display_name: spec.display_name,
        annotations: vec![pack(&user_trait)],
        profile: Some(spec.profile),
        status: Some(v2::Status {
            status: resource_status as i32,
            details: String::new(),
        }),
        ..Default::default()
    }
}

/// A group resource with its `GroupTrait` and profile.
pub fn group_resource(
    resource_type: &str,
    id: &str,
    display_name: &str,
    prof: Struct,
) -> v2::Resource {
    #[allow(deprecated)]
    let group_trait = v2::GroupTrait {
        profile: Some(prof.clone()),
        ..Default::default()
    };
    v2::Resource {
        id: Some(ids::resource_id(resource_type, id)),
        display_name: display_name.to_owned(),
        annotations: vec![pack(&group_trait)],
        profile: Some(prof),
        ..Default::default()
    }
}

/// A role resource with its `RoleTrait` and profile; `extra` annotations (e.g. a
/// `LicenseProfileTrait`) come first, as the Go connector orders them.
pub fn role_resource(
    resource_type: &str,
    id: &str,
    display_name: &str,
    prof: Struct,
    extra: Vec<Any>,
) -> v2::Resource {
    #[allow(deprecated)]
    let role_trait = v2::RoleTrait {
        profile: Some(prof.clone()),
        ..Default::default()
    };
    let mut annotations = extra;
    annotations.push(pack(&role_trait));
    v2::Resource {
        id: Some(ids::resource_id(resource_type, id)),
        display_name: display_name.to_owned(),
        annotations,
        profile: Some(prof),
        ..Default::default()
    }
}

/// An ASSIGNMENT entitlement `slug` on `resource`, grantable to `grantable_to`.
pub fn assignment_entitlement(
    resource: &v2::Resource,
    slug: &str,
    display_name: String,
    description: String,
    grantable_to: Vec<v2::ResourceType>,
    annotations: Vec<Any>,
) -> v2::Entitlement {
    let rid = resource.id.clone().unwrap_or_default();
    v2::Entitlement {
        resource: Some(resource.clone()),
        id: ids::entitlement_id(&rid, slug),
        display_name,
        description,
        grantable_to,
        annotations,
        purpose: v2::entitlement::PurposeValue::Assignment as i32,
        slug: slug.to_owned(),
    }
}

/// A grant of entitlement `slug` on resource `on` to `principal`. Like the Go SDK, the
/// embedded entitlement and principal carry ids only: readers hydrate them from the store.
pub fn grant(on: &v2::ResourceId, slug: &str, principal: &v2::ResourceId) -> v2::Grant {
    let entitlement_id = ids::entitlement_id(on, slug);
    let id = ids::grant_id(&entitlement_id, principal);
    v2::Grant {
        entitlement: Some(v2::Entitlement {
            resource: Some(v2::Resource {
                id: Some(on.clone()),
                ..Default::default()
            }),
            id: entitlement_id,
            ..Default::default()
        }),
        principal: Some(v2::Resource {
            id: Some(principal.clone()),
            ..Default::default()
        }),
        id,
        sources: None,
        annotations: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::annotations::{find, has};

    #[test]
    fn user_resources_carry_trait_profile_and_status() {
        let r = user_resource(
            "user",
            UserSpec {
                id: "u1".into(),
                display_name: "Ada".into(),
                emails: vec![("ada@example.com".into(), true)],
                login: "ada@example.com".into(),
                enabled: false,
                given_name: Some("Ada".into()),
                family_name: None,
                profile: profile([("email", "ada@example.com".into())]),
            },
        );
        let t: v2::UserTrait = find(&r.annotations).expect("user trait");
        assert_eq!(t.login, "ada@example.com");
        assert_eq!(
            t.structured_name.expect("name").given_name,
            "Ada".to_owned()
        );
        assert_eq!(
            r.status.expect("status").status,
            v2::status::ResourceStatus::Disabled as i32
        );
        assert_eq!(
            profile_str(r.profile.as_ref(), "email"),
            Some("ada@example.com")
        );
    }

    #[test]
    fn grants_reference_ids_only() {
        let g = grant(
            &ids::resource_id("group", "g1"),
            "member",
            &ids::resource_id("user", "u1"),
        );
        assert_eq!(g.id, "group:g1:member:user:u1");
        let e = g.entitlement.expect("entitlement");
        assert_eq!(e.id, "group:g1:member");
        assert!(e.display_name.is_empty());
        let r = role_resource("role", "owner", "Owner", Struct::default(), vec![]);
        assert!(has::<v2::RoleTrait>(&r.annotations));
    }
}
