//! Resource references as the Baton SDK's `--sync-resources` takes them.
//!
//! The SDK parses each value as a *Baton id* (`pkg/bid`): `bid:r:<type>/<id>`, or
//! `bid:r:<parent type>/<parent id>/<type>/<id>` for a resource under a parent, where `\`
//! escapes a literal `:`, `/` or `\` inside a part. For people typing ids by hand this crate
//! also takes `<type>:<id>` (the resource key a `.c1z` uses), split at the first `:`.
//!
//! Parsing does no I/O and never echoes more than a bounded excerpt of a bad value.

use crate::pb::v2;

/// Why a `--sync-resources` value is not a resource reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a resource reference ({reason}); use <type>:<id> or the SDK's \
     bid:r:<type>/<id> (bid:r:<parent type>/<parent id>/<type>/<id> under a parent)"
)]
pub struct BidError {
    /// The value (bounded, one line).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn error(value: &str, reason: &'static str) -> BidError {
    BidError {
        value: crate::text::one_line(value),
        reason,
    }
}

/// Parses one `--sync-resources` value into a resource with its id (and parent id).
pub fn parse_resource(value: &str) -> Result<v2::Resource, BidError> {
    let value = value.trim();
    let Some(rest) = value.strip_prefix("bid:") else {
        let (ty, id) = value
            .split_once(':')
            .ok_or_else(|| error(value, "no ':' between type and id"))?;
        if ty.is_empty() || id.is_empty() {
            return Err(error(value, "empty type or id"));
        }
        return Ok(resource(None, ty, id));
    };
    let rest = rest
        .strip_prefix("r:")
        .ok_or_else(|| error(value, "a Baton id of a resource starts with bid:r:"))?;
    let parts = split_escaped(rest).ok_or_else(|| error(value, "a bad escape or ':'"))?;
    if parts.iter().any(String::is_empty) {
        return Err(error(value, "an empty part"));
    }
    match parts.as_slice() {
        [ty, id] => Ok(resource(None, ty, id)),
        [pty, pid, ty, id] => Ok(resource(Some((pty, pid)), ty, id)),
        _ => Err(error(value, "expected 2 or 4 '/'-separated parts")),
    }
}

/// Splits at unescaped `/`, undoing `\:`, `\/` and `\\`; `None` on a bad escape or an
/// unescaped `:` (which would end the resource part of a Baton id).
fn split_escaped(s: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (':' | '/' | '\\')) => parts.last_mut()?.push(e),
                _ => return None,
            },
            '/' => parts.push(String::new()),
            ':' => return None,
            c => parts.last_mut()?.push(c),
        }
    }
    Some(parts)
}

fn resource(parent: Option<(&String, &String)>, ty: &str, id: &str) -> v2::Resource {
    v2::Resource {
        id: Some(super::ids::resource_id(ty, id)),
        parent_resource_id: parent.map(|(t, i)| super::ids::resource_id(t, i)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(r: &v2::Resource) -> (String, Option<String>) {
        let k = |i: &v2::ResourceId| format!("{}:{}", i.resource_type, i.resource);
        (
            k(r.id.as_ref().expect("id")),
            r.parent_resource_id.as_ref().map(k),
        )
    }

    #[test]
    fn takes_the_sdk_format_and_the_resource_key() {
        let uid = "44444444-4444-4444-4444-444444444444";
        let want = (format!("user:{uid}"), None);
        assert_eq!(
            key(&parse_resource(&format!("user:{uid}")).expect("key")),
            want
        );
        assert_eq!(
            key(&parse_resource(&format!("bid:r:user/{uid}")).expect("bid")),
            want
        );
        assert_eq!(
            key(&parse_resource("bid:r:group/sales/user/george").expect("parent")),
            ("user:george".to_owned(), Some("group:sales".to_owned()))
        );
        assert_eq!(
            key(&parse_resource(r"bid:r:app/a\/b\:c\\d").expect("escapes")),
            (r"app:a/b:c\d".to_owned(), None)
        );
        // The key form splits at the first ':' only.
        assert_eq!(
            key(&parse_resource("team:a:b").expect("colon in id")),
            ("team:a:b".to_owned(), None)
        );
    }

    #[test]
    fn refuses_what_the_sdk_refuses_and_says_how_to_write_it() {
        for bad in [
            "user",
            ":x",
            "user:",
            "bid:e:group/sales:member",
            "bid:r:user",
            "bid:r:user/",
            "bid:r:a/b/c",
            r"bid:r:user/a\x",
            "bid:r:user/a:b",
        ] {
            let err = parse_resource(bad).expect_err(bad);
            assert!(err.to_string().contains("bid:r:<type>/<id>"), "{err}");
        }
        let long = "x".repeat(10_000);
        assert!(parse_resource(&long).expect_err("long").to_string().len() < 1_000);
    }
}
