//! Resource ids of the organization view, and the escaping that keeps them parseable.
//!
//! Notion's ids are UUIDs (spaces, users, tokens, agents) or plain strings (groups), kept byte
//! for byte. An MCP client has no id of its own: it is known by an opaque `key` with no
//! documented character set, and one client connected in several workspaces is one resource
//! per workspace. Its resource id is `<space uuid>/<escaped key>`, where the key is
//! percent-escaped for `%`, `/`, `:`, control characters and every non-ASCII byte — so the id
//! splits back at its first `/`, and Baton's `type:id:slug` entitlement and grant ids stay
//! unambiguous.

use std::fmt::Write as _;

/// The escaped form of an MCP client key (see the module docs).
pub fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if b == b'%' || b == b'/' || b == b':' || b.is_ascii_control() || !b.is_ascii() {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The key an [`escape_key`] output came from; `None` when it is not one (a bad escape, or
/// bytes that are not UTF-8).
pub fn unescape_key(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The resource id of MCP client `key` in workspace `space`.
pub fn mcp_client_id(space: &str, key: &str) -> String {
    format!("{space}/{}", escape_key(key))
}

/// The workspace and key of an [`mcp_client_id`].
pub fn parse_mcp_client_id(id: &str) -> Option<(&str, String)> {
    let (space, key) = id.split_once('/')?;
    Some((space, unescape_key(key)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_separators_controls_and_unicode_round_trip() {
        for key in [
            "claude",
            "a:b/c",
            "100%",
            "tab\there\nnew",
            "ключ✓",
            "",
            "%2F",
        ] {
            let id = mcp_client_id("space-1", key);
            let escaped = &id["space-1/".len()..];
            assert!(
                !escaped.contains([':', '/']) && escaped.is_ascii(),
                "{key:?} -> {id:?}"
            );
            assert!(!escaped.chars().any(|c| c.is_control()), "{id:?}");
            assert_eq!(parse_mcp_client_id(&id), Some(("space-1", key.to_owned())));
        }
        assert_eq!(escape_key("a:b/c%"), "a%3Ab%2Fc%25");
        assert_eq!(escape_key("é"), "%C3%A9");
    }

    #[test]
    fn malformed_escapes_are_refused() {
        assert_eq!(unescape_key("%"), None);
        assert_eq!(unescape_key("%G0"), None);
        assert_eq!(unescape_key("%FF"), None, "not UTF-8");
        assert_eq!(parse_mcp_client_id("no-slash"), None);
    }
}
