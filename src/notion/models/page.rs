//! One page of a SCIM list, decoded within the bounds the request set.
//!
//! A page is refused (a decode error naming the request) when it holds more resources than the
//! `count` asked for — counted while decoding, so a page of two million users costs no more
//! than the first 101 — or when it has no usable `Resources` array although `totalResults` says
//! the requested range holds some (missing, `null`, a string, an object): treating that as an
//! empty page would "succeed" with nothing and replace a good artifact.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::lenient;

/// One page of a SCIM list (`urn:ietf:params:scim:api:messages:2.0:ListResponse`).
///
/// Only `resources` is used for paging decisions, together with `total_results`; `items_per_page`
/// is kept for diagnostics but never trusted (some servers echo the requested `count`).
///
/// Deserializing it directly applies no `count` bound (use [`decode_page`] for a response to a
/// request); the `Resources` rule above applies either way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", bound(serialize = "T: Serialize"))]
pub struct ListResponse<T> {
    /// `totalResults`: how many resources match in all; absent on some servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
    /// `itemsPerPage` as the server reported it (not necessarily `resources.len()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// `startIndex` as the server reported it (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// `Resources`; empty when the field is absent or `null` and the page is not expected to
    /// hold any.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
}

/// What the request that a page answers allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageShape {
    /// Most resources the page may hold: the `count` asked for.
    pub(crate) max_items: usize,
    /// The `startIndex` asked for (1-based).
    pub(crate) start_index: u64,
}

impl PageShape {
    /// No bound on the number of resources; a page starting at 1.
    const UNBOUNDED: PageShape = PageShape {
        max_items: usize::MAX,
        start_index: 1,
    };
}

/// Decodes a list page answering a request of `shape` (see the module docs for what is refused).
pub(crate) fn decode_page<T: de::DeserializeOwned>(
    body: &[u8],
    shape: PageShape,
) -> Result<ListResponse<T>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let page = PageSeed::<T>::new(shape).deserialize(&mut de)?;
    de.end()?;
    Ok(page)
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PageSeed::new(PageShape::UNBOUNDED).deserialize(d)
    }
}

/// Decodes a [`ListResponse`] within a [`PageShape`].
struct PageSeed<T> {
    shape: PageShape,
    item: PhantomData<fn() -> T>,
}

impl<T> PageSeed<T> {
    fn new(shape: PageShape) -> Self {
        PageSeed {
            shape,
            item: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PageSeed<T> {
    type Value = ListResponse<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// The fields of a list response this client reads.
enum Field {
    TotalResults,
    ItemsPerPage,
    StartIndex,
    Resources,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldName;
        impl Visitor<'_> for FieldName {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "totalResults" => Field::TotalResults,
                    "itemsPerPage" => Field::ItemsPerPage,
                    "startIndex" => Field::StartIndex,
                    "Resources" | "resources" => Field::Resources,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(FieldName)
    }
}

/// A count, leniently (see [`lenient::opt_u64`]).
struct Count;

impl<'de> DeserializeSeed<'de> for Count {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        lenient::opt_u64(d)
    }
}

/// What `Resources` held.
enum Resources<T> {
    /// An array (within the bound).
    Array(Vec<T>),
    /// Absent or `null`.
    Missing,
    /// Something else: a string, an object, a number, a boolean.
    Unusable(&'static str),
}

/// Decodes `Resources`, refusing more than `max` items as soon as the next one starts.
struct ResourcesSeed<T> {
    max: usize,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ResourcesSeed<T> {
    type Value = Resources<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ResourcesSeed<T> {
    type Value = Resources<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of resources")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Cap the hint: a lying size hint must not make us allocate a huge vector.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max).min(1024));
        loop {
            if out.len() == self.max {
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(format_args!(
                        "the page holds more than the {} resources asked for",
                        self.max
                    )));
                }
                break;
            }
            match seq.next_element()? {
                Some(item) => out.push(item),
                None => break,
            }
        }
        Ok(Resources::Array(out))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Resources::Missing)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Resources::Missing)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Resources::Unusable("an object"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Resources::Unusable("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Resources::Unusable("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Resources::Unusable("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Resources::Unusable("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Resources::Unusable("a number"))
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PageSeed<T> {
    type Value = ListResponse<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SCIM ListResponse object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut total_results, mut items_per_page, mut start_index) = (None, None, None);
        let mut resources = Resources::Missing;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::TotalResults => total_results = map.next_value_seed(Count)?,
                Field::ItemsPerPage => items_per_page = map.next_value_seed(Count)?,
                Field::StartIndex => start_index = map.next_value_seed(Count)?,
                Field::Resources => {
                    resources = map.next_value_seed(ResourcesSeed {
                        max: self.shape.max_items,
                        item: PhantomData,
                    })?;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // The page should hold resources when the total says some exist at the start asked for.
        let expected = total_results.is_some_and(|t| t > 0 && self.shape.start_index <= t);
        let resources = match resources {
            Resources::Array(items) => items,
            Resources::Missing if !expected => Vec::new(),
            Resources::Unusable(_) if total_results == Some(0) => Vec::new(),
            Resources::Missing => {
                return Err(de::Error::custom(format_args!(
                    "the page has no Resources array although totalResults is {}",
                    total_results.unwrap_or_default()
                )));
            }
            Resources::Unusable(kind) => {
                return Err(de::Error::custom(format_args!(
                    "the page's Resources is {kind}, not an array"
                )));
            }
        };
        Ok(ListResponse {
            total_results,
            items_per_page,
            start_index,
            resources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::{Group, User};
    use serde_json::json;

    fn page<T: de::DeserializeOwned>(
        body: &serde_json::Value,
        max_items: usize,
        start_index: u64,
    ) -> Result<ListResponse<T>, String> {
        let bytes = serde_json::to_vec(body).expect("encodes");
        decode_page(
            &bytes,
            PageShape {
                max_items,
                start_index,
            },
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn more_resources_than_asked_for_is_refused() {
        let users: Vec<_> = (0..101).map(|i| json!({ "id": format!("u{i}") })).collect();
        let body = json!({ "totalResults": 1000, "Resources": users });
        let err = page::<User>(&body, 100, 1).unwrap_err();
        assert!(
            err.contains("more than the 100 resources asked for"),
            "{err}"
        );
        assert_eq!(page::<User>(&body, 101, 1).unwrap().resources.len(), 101);
    }

    #[test]
    fn resources_must_be_an_array_when_the_total_says_there_are_some() {
        for (resources, why) in [
            (None, "no Resources array although totalResults is 5"),
            (
                Some(json!(null)),
                "no Resources array although totalResults is 5",
            ),
            (Some(json!("oops")), "Resources is a string"),
            (Some(json!({ "id": "u1" })), "Resources is an object"),
        ] {
            let mut body = json!({ "totalResults": 5, "startIndex": 1 });
            if let Some(r) = resources {
                body["Resources"] = r;
            }
            let err = page::<Group>(&body, 100, 1).unwrap_err();
            assert!(err.contains(why), "{err}");
            // Direct deserializing applies the same rule.
            assert!(serde_json::from_value::<ListResponse<Group>>(body).is_err());
        }
        // Past the end, or with nothing to list, an absent array is an empty page.
        let past_end = json!({ "totalResults": 5 });
        assert!(
            page::<Group>(&past_end, 100, 6)
                .unwrap()
                .resources
                .is_empty()
        );
        let none = json!({ "totalResults": 0, "Resources": "n/a" });
        assert!(page::<Group>(&none, 100, 1).unwrap().resources.is_empty());
        let no_total = json!({});
        assert!(
            page::<Group>(&no_total, 100, 1)
                .unwrap()
                .resources
                .is_empty()
        );
    }
}
