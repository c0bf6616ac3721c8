//! Admin API error answers: both body families, kept with what a user can act on.
//!
//! Family A (admin-native) is `{"type":"error","code":C,"status":N,"message":M}`; family B
//! (public-style) is `{"object":"error","code":C,"status":N,"message":M,"additional_data"?}`
//! (`spec/notion-admin.md` §2). Which family a body is, is read from the body itself (not
//! assumed from the endpoint), and a body that is neither — a proxy's HTML page, plain text —
//! still gives a short excerpt through the same envelope reader as SCIM's. Every piece of server
//! text passes [`text::message`](crate::text::message): one line, controls escaped, bounded,
//! every secret the client holds replaced by `[redacted]`.
//!
//! A 403 names the scope the endpoint needs (each endpoint carries its scope from the spec), so
//! the line reads: ``Notion Admin API GET /v1/spaces/…/users?page_size=100: 403 missing_scope —
//! the organization bot token lacks `user:read` (…server message…)``.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::notion::envelope::parse_envelope;
use crate::notion::error::parse_retry_after;
use crate::text;

/// Longest `code` kept, in characters.
const MAX_CODE: usize = 100;

/// Which body shape an error came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFamily {
    /// `{"type":"error", …}` (PATs, sessions, MCP connections, agents).
    A,
    /// `{"object":"error", …}` (list-users, permission groups).
    B,
}

/// A non-2xx answer of the Admin API (inside [`Error::Admin`](crate::notion::Error::Admin)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// The HTTP status.
    pub status: u16,
    /// The body's family, when it was either error shape.
    pub family: Option<ErrorFamily>,
    /// The body's `code` (`missing_scope`, `object_not_found`, …), if any; one line, bounded.
    pub code: Option<String>,
    /// The server's `message`; else an excerpt of the body; else the reason phrase. One line,
    /// bounded, scrubbed of the token.
    pub message: String,
    /// The HTTP method.
    pub method: &'static str,
    /// Path relative to the base URL, with the query: `/v1/spaces/<id>/users?page_size=100`.
    pub endpoint: String,
    /// How long Notion asked us to wait (`retry-after`), when it said.
    pub retry_after: Option<Duration>,
    /// The scope the endpoint needs (named in a 403's message).
    pub scope: &'static str,
}

impl AdminError {
    /// Reads a non-2xx answer: `body` is at most its first MiB, `retry_after` the raw header.
    pub fn from_response(
        status: u16,
        method: &'static str,
        endpoint: impl Into<String>,
        scope: &'static str,
        body: &[u8],
        retry_after: Option<&str>,
        secrets: &[&str],
    ) -> AdminError {
        let (_, message) = parse_envelope(status, body, secrets);
        let (family, code) = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(obj)) => {
                let is = |key: &str| obj.get(key).and_then(|v| v.as_str()) == Some("error");
                let family = if is("type") {
                    Some(ErrorFamily::A)
                } else if is("object") {
                    Some(ErrorFamily::B)
                } else {
                    None
                };
                let code = obj
                    .get("code")
                    .and_then(|v| v.as_str())
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| text::message_max(c, MAX_CODE, secrets));
                (family, code)
            }
            _ => (None, None),
        };
        AdminError {
            status,
            family,
            code,
            message,
            method,
            endpoint: endpoint.into(),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
            scope,
        }
    }

    /// True for a 403 that says the token lacks this endpoint's scope (`missing_scope`,
    /// `restricted_resource`, or no code at all).
    pub fn is_missing_scope(&self) -> bool {
        self.status == 403
            && matches!(
                self.code.as_deref(),
                None | Some("missing_scope" | "restricted_resource")
            )
    }

    /// What the user can do about it.
    fn hint(&self) -> String {
        match self.status {
            300..=399 => "Notion answered with a redirect, which is not followed: check the Admin API base URL (expected https://api.notion.com/admin)".to_owned(),
            400 => "Notion rejected the request as invalid (check the Admin API base URL; this client speaks Notion-Version 2026-06-01)".to_owned(),
            401 => "check the organization bot token (BATON_ADMIN_TOKEN): it is invalid or was revoked".to_owned(),
            403 if self.is_missing_scope() => format!(
                "the organization bot token lacks `{}` (add the scope to the token in the organization console)",
                self.scope
            ),
            403 => format!(
                "the organization bot token may not do this (this call needs `{}`; the organization must be on the Enterprise plan)",
                self.scope
            ),
            404 => "not found: it no longer exists, or the Admin API base URL is wrong (expected https://api.notion.com/admin)".to_owned(),
            409 => "conflict: it was changed at the same time".to_owned(),
            429 => "rate limited by Notion; retry later or lower the request rate".to_owned(),
            500..=599 => "a problem on Notion's side; retry later".to_owned(),
            _ => "Notion refused the request".to_owned(),
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Notion Admin API {} {}: {}",
            self.method, self.endpoint, self.status
        )?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, " — {} ({})", self.hint(), self.message)?;
        if let Some(wait) = self.retry_after {
            write!(f, " (Notion asked to wait {}s)", wait.as_secs())?;
        }
        Ok(())
    }
}
