//! How one protobuf becomes one row: key columns, `data` bytes, and timestamps.
//!
//! Invariants (spec: `shared/spec/c1z.md`, "Rows"):
//! - `data` is the prost binary encoding; the generated types use ordered maps, so identical
//!   input gives identical bytes.
//! - Ids are copied verbatim (they are an external contract; never escaped or reformatted).
//!   Missing messages read as empty strings, like the Go getters.
//! - A grant's `GrantExpandable` annotation never reaches `data`: it is stripped and, when it
//!   names at least one non-blank entitlement id, re-encoded into `expansion` with
//!   `needs_expansion = 1` (the SDK's `extractAndStripExpansion`).

use chrono::{Local, NaiveDateTime};
use prost::Message;

use super::schema::RESOURCES;
use super::{Error, Result};
use crate::pb;

/// The full protobuf name of the grant-expansion annotation.
pub(crate) const GRANT_EXPANDABLE: &str = "c1.connector.v2.GrantExpandable";

/// Formats a local wall-clock time as the SDK does (`2006-01-02 15:04:05.999999999`): nine
/// fractional digits with trailing zeros trimmed, and no `.` at all for whole seconds.
pub(crate) fn format_timestamp(t: NaiveDateTime) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S%.9f").to_string();
    let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
    s.truncate(trimmed);
    s
}

/// [`format_timestamp`] of the current local time.
pub(crate) fn now_timestamp() -> String {
    format_timestamp(Local::now().naive_local())
}

/// `"<type>:<id>"`, the key of a resource in `v1_resources.external_id`.
pub(crate) fn resource_key(id: Option<&pb::v2::ResourceId>) -> String {
    let (ty, id) = id_parts(id);
    format!("{ty}:{id}")
}

/// `(resource_type, resource)` of an optional id, empty when absent.
pub(crate) fn id_parts(id: Option<&pb::v2::ResourceId>) -> (&str, &str) {
    id.map_or(("", ""), |id| {
        (id.resource_type.as_str(), id.resource.as_str())
    })
}

/// Whether an `Any` holds a `GrantExpandable` (by the name after the last `/`, so both
/// `type.googleapis.com/…` and bare `/…` type URLs match, as Go's `MessageIs` does).
fn is_grant_expandable(any: &prost_types::Any) -> bool {
    any.type_url.rsplit('/').next() == Some(GRANT_EXPANDABLE)
}

/// A grant split into the `data` and `expansion` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantColumns {
    /// The grant without its `GrantExpandable` annotation, encoded.
    pub data: Vec<u8>,
    /// The encoded `GrantExpandable`, when it names an entitlement.
    pub expansion: Option<Vec<u8>>,
}

/// Splits a grant into its `data` and `expansion` columns.
pub(crate) fn grant_columns(grant: &pb::v2::Grant) -> GrantColumns {
    let Some(first) = grant.annotations.iter().find(|a| is_grant_expandable(a)) else {
        return GrantColumns {
            data: grant.encode_to_vec(),
            expansion: None,
        };
    };
    // Like the SDK: an annotation that does not decode is left alone.
    let Ok(expandable) = pb::v2::GrantExpandable::decode(first.value.as_slice()) else {
        return GrantColumns {
            data: grant.encode_to_vec(),
            expansion: None,
        };
    };
    let mut stripped = grant.clone();
    stripped.annotations.retain(|a| !is_grant_expandable(a));
    let has_target = expandable
        .entitlement_ids
        .iter()
        .any(|id| !id.trim().is_empty());
    GrantColumns {
        data: stripped.encode_to_vec(),
        expansion: has_target.then(|| expandable.encode_to_vec()),
    }
}

/// A grant ready for `v1_grants`: its key columns, and its `data` and `expansion` encoded.
///
/// Whoever produces grants builds these ([`GrantRow::from`]), so the encoding — and dropping
/// the decoded grant — happens on that thread, not on the store's, which is the busiest of a
/// large sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub(crate) resource_type_id: String,
    pub(crate) resource_id: String,
    pub(crate) entitlement_id: String,
    pub(crate) principal_resource_type_id: String,
    pub(crate) principal_resource_id: String,
    pub(crate) external_id: String,
    pub(crate) columns: GrantColumns,
}

impl From<pb::v2::Grant> for GrantRow {
    fn from(grant: pb::v2::Grant) -> GrantRow {
        let columns = grant_columns(&grant);
        let pb::v2::Grant {
            entitlement,
            principal,
            id,
            ..
        } = grant;
        let (entitlement_id, resource) = entitlement.map_or_else(Default::default, |e| {
            (e.id, e.resource.and_then(|r| r.id).unwrap_or_default())
        });
        let principal = principal.and_then(|p| p.id).unwrap_or_default();
        GrantRow {
            resource_type_id: resource.resource_type,
            resource_id: resource.resource,
            entitlement_id,
            principal_resource_type_id: principal.resource_type,
            principal_resource_id: principal.resource,
            external_id: id,
            columns,
        }
    }
}

/// A resource as stored: its rowid and its encoded `data`, decoded by whoever needs it
/// ([`StoredResource::decode`]) rather than on the store's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    /// The row's id in `v1_resources`.
    pub rowid: i64,
    pub(crate) data: Vec<u8>,
}

impl StoredResource {
    /// The resource; [`Error::Decode`] when the bytes are not one.
    pub fn decode(&self) -> Result<pb::v2::Resource> {
        pb::v2::Resource::decode(self.data.as_slice()).map_err(|source| Error::Decode {
            table: RESOURCES,
            rowid: self.rowid,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_nano_opt(3, 28, 40, nanos)
            .unwrap()
    }

    #[test]
    fn timestamps_trim_trailing_zeros() {
        assert_eq!(
            format_timestamp(at(705_866_000)),
            "2026-11-24 03:28:40.705866"
        );
        assert_eq!(
            format_timestamp(at(653_575_128)),
            "2026-11-24 03:28:40.653575128"
        );
        assert_eq!(format_timestamp(at(500_000_000)), "2026-11-24 03:28:40.5");
        assert_eq!(format_timestamp(at(0)), "2026-11-24 03:28:40");
        assert_eq!(format_timestamp(at(10)), "2026-11-24 03:28:40.00000001");
        let now = now_timestamp();
        assert!(
            NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S%.f").is_ok(),
            "{now}"
        );
        assert!(now.len() == 19 || !now.ends_with('0'), "{now}");
    }

    fn any(type_url: &str, value: Vec<u8>) -> prost_types::Any {
        prost_types::Any {
            type_url: type_url.into(),
            value,
        }
    }

    fn grant(annotations: Vec<prost_types::Any>) -> pb::v2::Grant {
        pb::v2::Grant {
            id: "group:g1:member:user:u1".into(),
            annotations,
            ..Default::default()
        }
    }

    #[test]
    fn grant_expandable_is_moved_to_expansion() {
        let exp = pb::v2::GrantExpandable {
            entitlement_ids: vec!["group:g2:member".into()],
            shallow: true,
            ..Default::default()
        };
        let other = any("type.googleapis.com/c1.connector.v2.GrantImmutable", vec![]);
        let g = grant(vec![
            other.clone(),
            any(
                "type.googleapis.com/c1.connector.v2.GrantExpandable",
                exp.encode_to_vec(),
            ),
        ]);
        let cols = grant_columns(&g);
        assert_eq!(cols.expansion, Some(exp.encode_to_vec()));
        let data = pb::v2::Grant::decode(cols.data.as_slice()).unwrap();
        assert_eq!(data, grant(vec![other]));
    }

    #[test]
    fn bare_type_urls_match_too() {
        let exp = pb::v2::GrantExpandable {
            entitlement_ids: vec!["role:r:assigned".into()],
            ..Default::default()
        };
        let cols = grant_columns(&grant(vec![any(
            "/c1.connector.v2.GrantExpandable",
            exp.encode_to_vec(),
        )]));
        assert!(cols.expansion.is_some());
    }

    #[test]
    fn blank_expandable_is_stripped_without_expansion() {
        let exp = pb::v2::GrantExpandable {
            entitlement_ids: vec!["  ".into()],
            ..Default::default()
        };
        let cols = grant_columns(&grant(vec![any(
            "type.googleapis.com/c1.connector.v2.GrantExpandable",
            exp.encode_to_vec(),
        )]));
        assert_eq!(cols.expansion, None);
        assert_eq!(cols.data, grant(vec![]).encode_to_vec());
    }

    #[test]
    fn plain_grants_are_encoded_as_is() {
        let g = grant(vec![any("type.googleapis.com/x.Y", vec![1, 2])]);
        let cols = grant_columns(&g);
        assert_eq!(cols.expansion, None);
        assert_eq!(cols.data, g.encode_to_vec());
        // Deterministic: same input, same bytes.
        assert_eq!(grant_columns(&g.clone()).data, cols.data);
    }

    #[test]
    fn grant_rows_take_their_columns_from_the_grant() {
        let id = |ty: &str, r: &str| pb::v2::ResourceId {
            resource_type: ty.into(),
            resource: r.into(),
            ..Default::default()
        };
        let mut g = grant(vec![]);
        g.entitlement = Some(pb::v2::Entitlement {
            id: "group:g1:member".into(),
            resource: Some(pb::v2::Resource {
                id: Some(id("group", "g1")),
                ..Default::default()
            }),
            ..Default::default()
        });
        g.principal = Some(pb::v2::Resource {
            id: Some(id("user", "u1")),
            ..Default::default()
        });
        let row = GrantRow::from(g.clone());
        assert_eq!(
            (
                row.resource_type_id.as_str(),
                row.resource_id.as_str(),
                row.entitlement_id.as_str(),
                row.principal_resource_type_id.as_str(),
                row.principal_resource_id.as_str(),
                row.external_id.as_str(),
            ),
            (
                "group",
                "g1",
                "group:g1:member",
                "user",
                "u1",
                "group:g1:member:user:u1"
            )
        );
        assert_eq!(row.columns, grant_columns(&g));
        // Missing messages read as empty strings, like the Go getters.
        let bare = GrantRow::from(grant(vec![]));
        assert_eq!(
            (
                bare.resource_type_id,
                bare.entitlement_id,
                bare.principal_resource_id
            ),
            (String::new(), String::new(), String::new())
        );
    }

    #[test]
    fn resource_keys() {
        let id = pb::v2::ResourceId {
            resource_type: "user".into(),
            resource: "1111".into(),
            ..Default::default()
        };
        assert_eq!(resource_key(Some(&id)), "user:1111");
        assert_eq!(resource_key(None), ":");
    }
}
