//! Reading a non-2xx body: Notion's SCIM error envelope, or whatever a proxy sent instead.
//!
//! The envelope (RFC 7644 §3.12) is undocumented for Notion, so parsing tolerates `status` as a
//! string or a number, a missing `scimType`, other common shapes (`message`,
//! `error_description`, `error`), and bodies that are not JSON at all (an HTML page from a
//! proxy: its `<title>`, else a tag-stripped excerpt). Everything kept is server text, so it
//! passes [`text::message`] — one line, controls escaped, bounded, secrets replaced — and only
//! the start of a non-JSON body is ever looked at.

use reqwest::StatusCode;

use crate::text;

/// Longest excerpt of a non-JSON error body kept in [`Error::Scim`]'s `detail`, in characters.
pub(crate) const MAX_EXCERPT: usize = 200;
/// Longest `scimType` kept, in characters.
const MAX_SCIM_TYPE: usize = 100;
/// How much of a non-JSON body is looked at for its title or excerpt, in bytes (plus the longest
/// secret, so a secret across the end is still found and replaced).
const MAX_SCAN: usize = 64 * 1024;

/// The length of the longest secret, in bytes.
pub(crate) fn longest(secrets: &[&str]) -> usize {
    secrets.iter().map(|s| s.len()).max().unwrap_or(0)
}

/// `(scimType, detail)` from an error body; `detail` is always one non-empty line, bounded and
/// scrubbed of `secrets`.
pub(crate) fn parse_envelope(
    status: u16,
    body: &[u8],
    secrets: &[&str],
) -> (Option<String>, String) {
    let reason = || {
        StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {status}"))
    };
    if body.trim_ascii().is_empty() {
        return (None, format!("{} (empty body)", reason()));
    }
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |key: &str| match obj.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let scim_type = text("scimType").map(|s| text::message_max(&s, MAX_SCIM_TYPE, secrets));
        let detail = text("detail")
            .or_else(|| text("message"))
            .or_else(|| text("error_description"))
            .or_else(|| text("error"))
            .map(|d| text::message(&d, secrets))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(reason);
        return (scim_type, detail);
    }
    // Not a JSON object: a proxy's HTML page, plain text, or a JSON scalar. Only its start is
    // looked at, with every secret replaced before tags are stripped or anything is cut.
    let scan = &body[..body.len().min(MAX_SCAN + longest(secrets))];
    let lossy = String::from_utf8_lossy(scan);
    let text = text::scrub(&lossy, secrets);
    if let Some(title) = html_title(&text) {
        return (None, text::message_max(&title, MAX_EXCERPT, &[]));
    }
    let detail = excerpt(&text, MAX_EXCERPT);
    if detail.is_empty() {
        (None, reason())
    } else {
        (None, detail)
    }
}

/// The `<title>` of an HTML page, if it has a non-empty one.
fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = text.get(start..end)?.trim();
    (!title.is_empty()).then(|| title.to_owned())
}

/// A single-line excerpt of a body's text: tags stripped when it looks like HTML, whitespace
/// collapsed, controls escaped, at most `max` characters.
fn excerpt(text: &str, max: usize) -> String {
    if text.trim_start().starts_with('<') {
        text::message_max(&strip_tags(text), max, &[])
    } else {
        text::message_max(text, max, &[])
    }
}

/// Drops everything between `<` and `>`.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
