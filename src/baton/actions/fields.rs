//! Schema fields for action arguments and return values, and typed reads of an argument
//! `Struct` inside a handler (after [`super::validate`] has checked it).
//!
//! A resource id argument travels as the SDK's `ResourceIdField` value does: an object
//! `{"resource_type_id": "user", "resource_id": "…"}` (the SDK's reader also takes
//! `resource_type` / `resource`, and so do we).

use std::collections::BTreeMap;

use prost_types::value::Kind;
use prost_types::{Struct, Value};

use crate::pb::c1::config::v1 as config;
use crate::pb::v2;

fn field(
    name: &str,
    display: &str,
    description: &str,
    kind: config::field::Field,
) -> config::Field {
    config::Field {
        name: name.to_owned(),
        display_name: display.to_owned(),
        description: description.to_owned(),
        field: Some(kind),
        ..Default::default()
    }
}

/// A string field.
pub fn string(name: &str, display: &str, description: &str) -> config::Field {
    field(
        name,
        display,
        description,
        config::field::Field::StringField(config::StringField::default()),
    )
}

/// A boolean field.
pub fn boolean(name: &str, display: &str, description: &str) -> config::Field {
    field(
        name,
        display,
        description,
        config::field::Field::BoolField(config::BoolField::default()),
    )
}

/// A resource id field accepting only resources of `allowed_types` (any type when empty).
pub fn resource_id(
    name: &str,
    display: &str,
    description: &str,
    allowed_types: &[&str],
) -> config::Field {
    let rules = (!allowed_types.is_empty()).then(|| config::ResourceIdRules {
        allowed_resource_type_ids: allowed_types.iter().map(|t| (*t).to_owned()).collect(),
    });
    field(
        name,
        display,
        description,
        config::field::Field::ResourceIdField(config::ResourceIdField {
            default_value: None,
            rules,
        }),
    )
}

/// The same field, required.
pub fn required(mut f: config::Field) -> config::Field {
    f.is_required = true;
    f
}

/// The value of `key` in `args`, unless absent or `null`.
pub fn get<'a>(args: &'a Struct, key: &str) -> Option<&'a Kind> {
    match args.fields.get(key).and_then(|v| v.kind.as_ref()) {
        None | Some(Kind::NullValue(_)) => None,
        Some(kind) => Some(kind),
    }
}

/// The string argument `key`.
pub fn get_str<'a>(args: &'a Struct, key: &str) -> Option<&'a str> {
    match get(args, key) {
        Some(Kind::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// A resource id out of an object value (see the module docs for its shape); `None` unless
/// both parts are non-empty strings.
pub fn as_resource_id(value: &Kind) -> Option<v2::ResourceId> {
    let Kind::StructValue(obj) = value else {
        return None;
    };
    let part = |a: &str, b: &str| {
        get_str(obj, a)
            .or_else(|| get_str(obj, b))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(v2::ResourceId {
        resource_type: part("resource_type_id", "resource_type")?,
        resource: part("resource_id", "resource")?,
        baton_resource: false,
    })
}

/// The resource id argument `key`.
pub fn get_resource_id(args: &Struct, key: &str) -> Option<v2::ResourceId> {
    get(args, key).and_then(as_resource_id)
}

/// A `Struct` from `(key, value)` pairs, for replies.
pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Kind)>) -> Struct {
    Struct {
        fields: pairs
            .into_iter()
            .map(|(k, kind)| (k.into(), Value { kind: Some(kind) }))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A resource id as an argument value (the inverse of [`as_resource_id`]).
pub fn resource_id_value(id: &v2::ResourceId) -> Kind {
    Kind::StructValue(object([
        (
            "resource_type_id",
            Kind::StringValue(id.resource_type.clone()),
        ),
        ("resource_id", Kind::StringValue(id.resource.clone())),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_round_trip_and_take_the_sdk_alternate_keys() {
        let id = crate::baton::ids::resource_id("user", "u1");
        let args = object([("user", resource_id_value(&id))]);
        assert_eq!(get_resource_id(&args, "user"), Some(id.clone()));
        let alt = object([(
            "user",
            Kind::StructValue(object([
                ("resource_type", Kind::StringValue("user".into())),
                ("resource", Kind::StringValue("u1".into())),
            ])),
        )]);
        assert_eq!(get_resource_id(&alt, "user"), Some(id));
        let empty = object([(
            "user",
            Kind::StructValue(object([
                ("resource_type_id", Kind::StringValue("user".into())),
                ("resource_id", Kind::StringValue(String::new())),
            ])),
        )]);
        assert_eq!(get_resource_id(&empty, "user"), None);
        let null = object([("user", Kind::NullValue(0))]);
        assert!(get(&null, "user").is_none());
    }
}
