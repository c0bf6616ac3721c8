//! Protojson output for the `capabilities` and `config` commands, built from the protobuf
//! descriptors of this crate ([`crate::pb::DESCRIPTOR_SET`]) through `prost-reflect`.
//!
//! # Why a walker of our own
//!
//! prost-reflect's serde support prints fields in field-*number* order, but Go's `protojson`
//! (what the Go SDK prints, and what the fixtures hold) prints them in *declaration* order:
//! `c1.config.v1.StringRules` declares `len = 19` right after `eq = 1`. So [`to_json`] walks each
//! message in declaration order itself and applies the protojson rules: lowerCamelCase names,
//! enum value names, fields at their default value left out (message fields that are set are
//! printed even when empty, as `{}`), 64-bit integers as strings, bytes as base64, map keys
//! sorted. `google.protobuf.Any` prints `"@type"` first, then the packed message's fields;
//! other well-known types (Struct, Timestamp, wrappers …) are left to prost-reflect, whose
//! output for them has no field order to get wrong.
//!
//! Layout: two-space indentation (serde_json's pretty printer) and no trailing newline.
//!
//! Also here: [`normalize_capabilities`], which puts a `ConnectorCapabilities` into the order the
//! Go SDK prints it (resource types by id, per-type capabilities in SYNC, PROVISION,
//! ACCOUNT_PROVISIONING, RESOURCE_DELETE order, connector capabilities by enum number).
//!
//! Nothing here knows about any particular connector.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::{Message, Name};
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::baton::annotations::pack;
use crate::pb;
use crate::pb::v2;

/// Why a message could not be rendered as protojson.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The embedded descriptor set does not decode (a build problem).
    #[error("the embedded protobuf descriptors are unreadable")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    /// The message type is not in the embedded descriptor set.
    #[error("message type {0} is not in the embedded protobuf descriptors")]
    UnknownMessage(String),
    /// The encoded message does not decode against its descriptor.
    #[error("message {name} does not decode against its descriptor")]
    Decode {
        /// Full message name.
        name: String,
        /// The decoder's complaint.
        source: prost::DecodeError,
    },
    /// JSON serialization failed (e.g. an `Any` naming an unknown type).
    #[error("protojson serialization failed")]
    Json(#[from] serde_json::Error),
}

/// The descriptor pool of every message this crate knows, decoded once.
pub fn pool() -> Result<&'static DescriptorPool, SchemaError> {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    if let Some(p) = POOL.get() {
        return Ok(p);
    }
    let p = DescriptorPool::decode(pb::DESCRIPTOR_SET)?;
    Ok(POOL.get_or_init(|| p))
}

/// `msg` as a reflective message over the crate's descriptors.
pub fn dynamic<M: Message + Name>(msg: &M) -> Result<DynamicMessage, SchemaError> {
    let name = M::full_name();
    let desc = pool()?
        .get_message_by_name(&name)
        .ok_or_else(|| SchemaError::UnknownMessage(name.clone()))?;
    DynamicMessage::decode(desc, msg.encode_to_vec().as_slice())
        .map_err(|source| SchemaError::Decode { name, source })
}

/// `msg` as protojson: declaration order, two-space indent, no trailing newline.
pub fn to_json<M: Message + Name>(msg: &M) -> Result<String, SchemaError> {
    let dynamic = dynamic(msg)?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    Ordered(&dynamic).serialize(&mut ser)?;
    // serde_json writes valid UTF-8 only.
    String::from_utf8(out).map_err(|e| SchemaError::Json(serde_json::Error::custom(e)))
}

/// `msg` packed into `google.protobuf.Any`, as protojson (`"@type"` first).
pub fn any_to_json<M: Message + Name>(msg: &M) -> Result<String, SchemaError> {
    to_json(&pack(msg))
}

/// The `capabilities` command's output: `caps` normalized and wrapped in `Any`.
pub fn capabilities_json(caps: &v2::ConnectorCapabilities) -> Result<String, SchemaError> {
    any_to_json(&normalize_capabilities(caps.clone()))
}

/// Puts capabilities into the Go SDK's order: resource types sorted by id; per-type
/// capabilities SYNC, TARGETED_SYNC, PROVISION, ACCOUNT_PROVISIONING, RESOURCE_DELETE (the order
/// the SDK's builder appends them in), then any others by
/// enum number; connector capabilities by enum number. Duplicates are dropped.
pub fn normalize_capabilities(mut caps: v2::ConnectorCapabilities) -> v2::ConnectorCapabilities {
    use v2::Capability as C;
    fn rank(c: i32) -> (usize, i32) {
        let fixed = [
            C::Sync as i32,
            C::TargetedSync as i32,
            C::Provision as i32,
            C::AccountProvisioning as i32,
            C::ResourceDelete as i32,
        ];
        match fixed.iter().position(|&f| f == c) {
            Some(i) => (i, 0),
            None => (fixed.len(), c),
        }
    }
    caps.resource_type_capabilities.sort_by(|a, b| {
        let id = |r: &v2::ResourceTypeCapability| {
            r.resource_type
                .as_ref()
                .map(|t| t.id.clone())
                .unwrap_or_default()
        };
        id(a).cmp(&id(b))
    });
    for rt in &mut caps.resource_type_capabilities {
        rt.capabilities.sort_by_key(|&c| rank(c));
        rt.capabilities.dedup();
    }
    caps.connector_capabilities.sort_unstable();
    caps.connector_capabilities.dedup();
    caps
}

/// Serializes a message in declaration order (see the module docs).
struct Ordered<'a>(&'a DynamicMessage);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let msg = self.0;
        let desc = msg.descriptor();
        match desc.full_name() {
            "google.protobuf.Any" => serialize_any(msg, serializer),
            name if name.starts_with("google.protobuf.") => {
                msg.serialize_with_options(serializer, &options())
            }
            _ => {
                let mut map = serializer.serialize_map(None)?;
                fields_in_declaration_order(&mut map, msg)?;
                map.end()
            }
        }
    }
}

fn options() -> SerializeOptions {
    SerializeOptions::new()
}

/// Writes the set fields of `msg`, in the order its `.proto` declares them.
fn fields_in_declaration_order<M: SerializeMap>(
    map: &mut M,
    msg: &DynamicMessage,
) -> Result<(), M::Error> {
    let desc = msg.descriptor();
    for proto in &desc.descriptor_proto().field {
        let Some(field) = desc.get_field_by_name(proto.name()) else {
            continue;
        };
        if !msg.has_field(&field) {
            continue;
        }
        let value = msg.get_field(&field);
        map.serialize_entry(
            field.json_name(),
            &Val {
                value: &value,
                kind: &field.kind(),
            },
        )?;
    }
    Ok(())
}

/// `{"@type": url, …fields of the packed message}`; a packed well-known type goes under
/// `"value"`, as protojson specifies.
fn serialize_any<S: Serializer>(msg: &DynamicMessage, serializer: S) -> Result<S::Ok, S::Error> {
    let raw: prost_types::Any = msg.transcode_to().map_err(S::Error::custom)?;
    let name = raw
        .type_url
        .rsplit_once('/')
        .map(|(_, n)| n)
        .unwrap_or(&raw.type_url);
    let desc: MessageDescriptor = msg
        .descriptor()
        .parent_pool()
        .get_message_by_name(name)
        .ok_or_else(|| S::Error::custom(format!("message type {name:?} is not known")))?;
    let inner = DynamicMessage::decode(desc, raw.value.as_slice()).map_err(S::Error::custom)?;
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("@type", &raw.type_url)?;
    if name.starts_with("google.protobuf.") {
        map.serialize_entry("value", &Ordered(&inner))?;
    } else {
        fields_in_declaration_order(&mut map, &inner)?;
    }
    map.end()
}

/// One field value with its kind (for enum names and message recursion).
struct Val<'a> {
    value: &'a Value,
    kind: &'a Kind,
}

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Bool(v) => serializer.serialize_bool(*v),
            Value::I32(v) => serializer.serialize_i32(*v),
            Value::U32(v) => serializer.serialize_u32(*v),
            Value::I64(v) => serializer.collect_str(v),
            Value::U64(v) => serializer.collect_str(v),
            Value::F32(v) => float(f64::from(*v), serializer),
            Value::F64(v) => float(*v, serializer),
            Value::String(v) => serializer.serialize_str(v),
            Value::Bytes(v) => serializer.serialize_str(&BASE64.encode(v)),
            Value::EnumNumber(n) => match self.kind {
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => serializer.serialize_str(v.name()),
                    None => serializer.serialize_i32(*n),
                },
                _ => serializer.serialize_i32(*n),
            },
            Value::Message(m) => Ordered(m).serialize(serializer),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Val {
                        value: item,
                        kind: self.kind,
                    })?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let Kind::Message(entry) = self.kind else {
                    return Err(S::Error::custom("a map field without an entry message"));
                };
                let value_kind = entry.map_entry_value_field().kind();
                let mut keyed: Vec<(String, &Value)> =
                    entries.iter().map(|(k, v)| (map_key(k), v)).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                let mut map = serializer.serialize_map(Some(keyed.len()))?;
                for (k, v) in keyed {
                    map.serialize_entry(
                        &k,
                        &Val {
                            value: v,
                            kind: &value_kind,
                        },
                    )?;
                }
                map.end()
            }
        }
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(v) => v.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
        MapKey::String(v) => v.clone(),
    }
}

fn float<S: Serializer>(v: f64, serializer: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        serializer.serialize_str("NaN")
    } else if v == f64::INFINITY {
        serializer.serialize_str("Infinity")
    } else if v == f64::NEG_INFINITY {
        serializer.serialize_str("-Infinity")
    } else {
        serializer.serialize_f64(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::c1::config::v1 as config;

    #[test]
    fn fields_print_in_declaration_order() {
        let rules = config::StringRules {
            eq: Some("a".into()),
            len: Some(3),
            min_len: Some(1),
            ..Default::default()
        };
        let json = to_json(&rules).expect("renders");
        assert_eq!(
            json,
            "{\n  \"eq\": \"a\",\n  \"len\": \"3\",\n  \"minLen\": \"1\"\n}"
        );
    }

    #[test]
    fn any_puts_the_type_first_and_empty_messages_print_braces() {
        let caps = v2::ConnectorCapabilities {
            resource_type_capabilities: vec![v2::ResourceTypeCapability {
                resource_type: Some(v2::ResourceType {
                    id: "t".into(),
                    annotations: vec![pack(&v2::SkipGrants {})],
                    ..Default::default()
                }),
                capabilities: vec![v2::Capability::Sync as i32],
                permissions: Some(Default::default()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = any_to_json(&caps).expect("renders");
        assert!(json.starts_with(
            "{\n  \"@type\": \"type.googleapis.com/c1.connector.v2.ConnectorCapabilities\","
        ));
        assert!(json.contains("\"capabilities\": [\n        \"CAPABILITY_SYNC\"\n      ]"));
        assert!(json.contains("\"permissions\": {}"));
        assert!(json.contains("{\n            \"@type\": \"type.googleapis.com/c1.connector.v2.SkipGrants\"\n          }"));
        assert!(!json.ends_with('\n'));
    }

    #[test]
    fn capabilities_are_normalized() {
        use v2::Capability as C;
        let rt = |id: &str, caps: &[C]| v2::ResourceTypeCapability {
            resource_type: Some(v2::ResourceType {
                id: id.into(),
                ..Default::default()
            }),
            capabilities: caps.iter().map(|&c| c as i32).collect(),
            ..Default::default()
        };
        let caps = normalize_capabilities(v2::ConnectorCapabilities {
            resource_type_capabilities: vec![
                rt(
                    "user",
                    &[C::ResourceDelete, C::AccountProvisioning, C::Sync],
                ),
                rt("group", &[C::Provision, C::Sync]),
            ],
            connector_capabilities: vec![
                C::ResourceDelete as i32,
                C::Sync as i32,
                C::Provision as i32,
                C::Sync as i32,
            ],
            credential_details: None,
        });
        let ids: Vec<_> = caps
            .resource_type_capabilities
            .iter()
            .map(|r| r.resource_type.as_ref().map(|t| t.id.as_str()))
            .collect();
        assert_eq!(ids, [Some("group"), Some("user")]);
        assert_eq!(
            caps.resource_type_capabilities[1].capabilities,
            [
                C::Sync as i32,
                C::AccountProvisioning as i32,
                C::ResourceDelete as i32
            ]
        );
        assert_eq!(
            caps.connector_capabilities,
            [
                C::Provision as i32,
                C::Sync as i32,
                C::ResourceDelete as i32
            ]
        );
    }
}
