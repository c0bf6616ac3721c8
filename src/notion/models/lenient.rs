//! Forgiving deserializers: convert what can be converted, ignore what cannot, fail only on ids.
//!
//! Forgiving is not unbounded: an id longer than [`MAX_ID_BYTES`] is refused when it is read
//! (no id Notion issues comes near it, and a 10 MB id would otherwise travel into every error
//! line, log field and index downstream).

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

/// What one forgiving decoder makes of each JSON shape: a value, or `None` (the input is
/// ignored). A kind overrides only the shapes it accepts; null is always `None`, and an
/// ignored array or object is skipped to its end.
trait Lenient<'de> {
    /// What is decoded.
    type Out;
    /// For `expecting` (messages; these decoders never fail on their own).
    const EXPECTING: &'static str;

    fn from_str(_: &str) -> Option<Self::Out> {
        None
    }
    fn from_string(v: String) -> Option<Self::Out> {
        Self::from_str(&v)
    }
    fn from_bool(_: bool) -> Option<Self::Out> {
        None
    }
    fn from_i64(_: i64) -> Option<Self::Out> {
        None
    }
    fn from_u64(_: u64) -> Option<Self::Out> {
        None
    }
    fn from_f64(_: f64) -> Option<Self::Out> {
        None
    }
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self::Out>, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self::Out>, A::Error> {
        drain_map(map).map(|()| None)
    }
}

/// The visitor of a [`Lenient`] kind.
struct Forgiving<K>(PhantomData<K>);

impl<'de, K: Lenient<'de>> Visitor<'de> for Forgiving<K> {
    type Value = Option<K::Out>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(K::EXPECTING)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(K::from_str(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(K::from_string(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(K::from_bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(K::from_i64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(K::from_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(K::from_f64(v))
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
        K::from_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        K::from_map(map)
    }
}

/// Decodes with kind `K`.
fn forgiving<'de, K: Lenient<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<K::Out>, D::Error> {
    d.deserialize_any(Forgiving::<K>(PhantomData))
}

/// A scalar rendered as a string; `None` for null, arrays and objects.
struct StringLike;

impl Lenient<'_> for StringLike {
    type Out = String;
    const EXPECTING: &'static str = "a string";

    fn from_str(v: &str) -> Option<String> {
        Some(v.to_owned())
    }
    fn from_string(v: String) -> Option<String> {
        Some(v)
    }
    fn from_bool(v: bool) -> Option<String> {
        Some(v.to_string())
    }
    fn from_i64(v: i64) -> Option<String> {
        Some(v.to_string())
    }
    fn from_u64(v: u64) -> Option<String> {
        Some(v.to_string())
    }
    fn from_f64(v: f64) -> Option<String> {
        Some(v.to_string())
    }
}

/// A string, number or boolean as a string; anything else as `None`.
pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    forgiving::<StringLike, D>(d)
}

/// Like [`opt_string`], with `""` for anything that is not a scalar.
pub(super) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_string(d).map(Option::unwrap_or_default)
}

/// A boolean, also from `"true"`/`"false"` (any case) or `0`/`1`; anything else as `None`.
struct BoolLike;

impl Lenient<'_> for BoolLike {
    type Out = bool;
    const EXPECTING: &'static str = "a boolean";

    fn from_bool(v: bool) -> Option<bool> {
        Some(v)
    }
    fn from_str(v: &str) -> Option<bool> {
        let v = v.trim();
        if v.eq_ignore_ascii_case("true") {
            Some(true)
        } else if v.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }
    }
    fn from_i64(v: i64) -> Option<bool> {
        u64::try_from(v).ok().and_then(Self::from_u64)
    }
    fn from_u64(v: u64) -> Option<bool> {
        match v {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

/// See [`BoolLike`].
pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    forgiving::<BoolLike, D>(d)
}

/// A non-negative integer, also from a digit string; anything else as `None`.
struct CountLike;

impl Lenient<'_> for CountLike {
    type Out = u64;
    const EXPECTING: &'static str = "a non-negative integer";

    fn from_u64(v: u64) -> Option<u64> {
        Some(v)
    }
    fn from_i64(v: i64) -> Option<u64> {
        u64::try_from(v).ok()
    }
    fn from_f64(v: f64) -> Option<u64> {
        // `as` saturates; only exact, in-range integers are accepted.
        (v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64).then_some(v as u64)
    }
    fn from_str(v: &str) -> Option<u64> {
        v.trim().parse().ok()
    }
}

/// See [`CountLike`].
pub(super) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    forgiving::<CountLike, D>(d)
}

/// An object deserialized as `T`; `None` for null and for any non-object (ignored).
struct ObjectLike<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Lenient<'de> for ObjectLike<T> {
    type Out = T;
    const EXPECTING: &'static str = "an object";

    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
}

/// See [`ObjectLike`].
pub(super) fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    forgiving::<ObjectLike<T>, D>(d)
}

/// An array whose elements are deserialized as `T` (strictly); `None` for null and for any
/// non-array (ignored).
struct SeqLike<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Lenient<'de> for SeqLike<T> {
    type Out = Vec<T>;
    const EXPECTING: &'static str = "an array";

    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Vec<T>>, A::Error> {
        // Cap the hint: a lying size hint must not make us allocate a huge vector.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(Some(out))
    }
}

/// See [`SeqLike`].
pub(super) fn opt_seq<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    forgiving::<SeqLike<T>, D>(d)
}

/// Like [`opt_seq`], with an empty vector for null and non-arrays.
pub(super) fn seq_or_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    opt_seq(d).map(Option::unwrap_or_default)
}

/// The longest id accepted, in bytes. Notion's ids are 36-character UUIDs.
pub const MAX_ID_BYTES: usize = 1024;

/// A resource id: a non-empty string of at most [`MAX_ID_BYTES`], or a number rendered as one.
/// Anything else fails (the message never repeats the id).
struct IdLike;

impl<'de> Visitor<'de> for IdLike {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a non-empty id string of at most {MAX_ID_BYTES} bytes")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.len() > MAX_ID_BYTES {
            Err(E::invalid_length(v.len(), &self))
        } else if v.trim().is_empty() {
            Err(E::invalid_value(Unexpected::Other("a blank string"), &self))
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

/// A reference to a resource by id (a group member's `value`): like [`string_or_empty`], but an
/// id longer than [`MAX_ID_BYTES`] fails like [`id`].
pub(super) fn ref_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = string_or_empty(d)?;
    if value.len() > MAX_ID_BYTES {
        return Err(de::Error::invalid_length(value.len(), &IdLike));
    }
    Ok(value)
}
