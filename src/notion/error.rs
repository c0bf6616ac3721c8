//! Errors of the Notion SCIM client, keeping what a user can act on.
//!
//! A non-2xx answer becomes [`Error::Scim`] with Notion's own `detail` and `scimType` parsed from
//! the RFC 7644 §3.12 envelope. The envelope is undocumented for Notion, so parsing tolerates
//! `status` as a string or a number, a missing `scimType`, other common error shapes
//! (`message`, `error_description`), and bodies that are not JSON at all (an HTML page from a
//! proxy): those yield a short single-line excerpt, or the HTTP reason phrase.
//!
//! Every `Display` is one line, names the request (`GET /Users?startIndex=101&count=100`), and for
//! SCIM errors ends with a hint for the status class. Nothing here ever holds the token: errors
//! carry the method, the path relative to the base URL, and the query — never headers.
//!
//! [`Error::is_retryable`] is the one classification function the retry layer uses.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

/// Longest excerpt of a non-JSON error body kept in [`Error::Scim`]'s `detail`.
const MAX_EXCERPT: usize = 200;
/// Longest `detail` kept from a JSON error envelope.
const MAX_DETAIL: usize = 1000;

/// What went wrong talking to Notion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Notion (or a proxy in front of it) answered with a non-2xx status.
    #[error("{}", ScimMessage { status: *status, scim_type: scim_type.as_deref(), detail, method, endpoint, retry_after: *retry_after })]
    Scim {
        /// The HTTP status.
        status: u16,
        /// `scimType` from the error envelope (`uniqueness`, `invalidFilter`, …), if any.
        scim_type: Option<String>,
        /// `detail` from the envelope; else an excerpt of the body; else the reason phrase.
        /// Always a single line.
        detail: String,
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query: `/Users?startIndex=101&count=100`.
        endpoint: String,
        /// How long Notion asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },
    /// A 2xx answer whose body is not the JSON we expected.
    #[error("Notion's answer to {method} {endpoint} could not be read: {detail}")]
    Decode {
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query.
        endpoint: String,
        /// The JSON error with line and column (and how the body starts, when it is not JSON).
        detail: String,
    },
    /// The request could not be sent or the answer could not be received: connection refused,
    /// DNS failure, TLS failure, connection reset, body read failure.
    #[error(
        "could not reach Notion for {method} {endpoint} ({})",
        transport_kind(source)
    )]
    Transport {
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query.
        endpoint: String,
        /// The underlying error (its chain says what failed).
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the configured per-request timeout.
    #[error(
        "Notion did not answer {method} {endpoint} within {}s — Notion may be slow or unreachable; retry later or raise the timeout",
        after.as_secs_f64()
    )]
    Timeout {
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query.
        endpoint: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The configured base URL is unusable.
    #[error("invalid Notion SCIM base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (any user info removed).
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// No token was configured, or it is blank.
    #[error(
        "no SCIM token: create one in Notion (Settings → Identity → SCIM provisioning) and set BATON_SCIM_TOKEN"
    )]
    MissingToken,
    /// The token contains characters that cannot be sent in an HTTP header.
    #[error("the SCIM token (BATON_SCIM_TOKEN) is malformed: {reason}")]
    InvalidToken {
        /// What is wrong with it (never the token itself).
        reason: &'static str,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("could not set up the HTTP client")]
    Setup {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The HTTP status Notion answered with, for [`Error::Scim`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Scim { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `scimType` of a SCIM error, if Notion sent one.
    pub fn scim_type(&self) -> Option<&str> {
        match self {
            Error::Scim { scim_type, .. } => scim_type.as_deref(),
            _ => None,
        }
    }

    /// The wait Notion asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Scim { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when trying the same request again later may succeed: 429, 502, 503, 504, 529,
    /// timeouts and transport failures (connect, reset, body read; not request-building errors).
    ///
    /// 500 is deliberately not retryable (the spec's list omits it): a SCIM 500 is usually a
    /// deterministic server-side failure on this input, and repeating a write that failed with 500
    /// risks applying it twice. Non-idempotent requests (POST) should be retried only when
    /// [`Error::is_connect`] is true (nothing was sent); that is the retry layer's decision.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Scim { status, .. } => matches!(status, 429 | 502 | 503 | 504 | 529),
            Error::Timeout { .. } => true,
            Error::Transport { source, .. } => !source.is_builder(),
            _ => false,
        }
    }

    /// True for a failure to connect (the request never reached Notion).
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Transport { source, .. } if source.is_connect())
    }

    /// True for 404: the resource is gone (or the base URL is wrong).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for 429: rate limited.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// Builds [`Error::Scim`] from a non-2xx answer: parses the SCIM error envelope out of `body`
    /// (see the module docs for the shapes accepted). `endpoint` is the path and query relative to
    /// the base URL; `retry_after` the raw `Retry-After` header value.
    pub fn from_response(
        status: u16,
        method: &'static str,
        endpoint: impl Into<String>,
        body: &[u8],
        retry_after: Option<&str>,
    ) -> Error {
        let (scim_type, detail) = parse_envelope(status, body);
        Error::Scim {
            status,
            scim_type,
            detail,
            method,
            endpoint: endpoint.into(),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        }
    }

    /// Builds [`Error::Decode`] for a 2xx body that did not parse.
    pub(crate) fn decode(
        method: &'static str,
        endpoint: impl Into<String>,
        err: &serde_json::Error,
        body: &[u8],
    ) -> Error {
        let mut detail = err.to_string();
        let trimmed = body.trim_ascii_start();
        if trimmed.is_empty() {
            detail.push_str(" (the body is empty)");
        } else if !matches!(trimmed.first(), Some(b'{' | b'[')) {
            let start = &trimmed[..trimmed.len().min(240)];
            let start = one_line(&String::from_utf8_lossy(start), 60);
            detail.push_str(&format!(" (the body starts with {start:?})"));
        }
        Error::Decode {
            method,
            endpoint: endpoint.into(),
            detail,
        }
    }

    /// Builds [`Error::Timeout`] or [`Error::Transport`] from a reqwest error.
    pub(crate) fn transport(
        method: &'static str,
        endpoint: impl Into<String>,
        source: reqwest::Error,
        timeout: Duration,
    ) -> Error {
        if source.is_timeout() {
            Error::Timeout {
                method,
                endpoint: endpoint.into(),
                after: timeout,
            }
        } else {
            Error::Transport {
                method,
                endpoint: endpoint.into(),
                source,
            }
        }
    }
}

/// A short description of a transport failure for the one-line message (details are in the
/// source chain).
fn transport_kind(err: &reqwest::Error) -> &'static str {
    if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the response body could not be read"
    } else if err.is_request() {
        "the request failed"
    } else {
        "transport error"
    }
}

/// Parses `Retry-After`: delay seconds (`"30"`), or an HTTP-date relative to `now` (a date in the
/// past means "now"). `None` when unparseable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(at.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `(scimType, detail)` from an error body; `detail` is always one non-empty line.
fn parse_envelope(status: u16, body: &[u8]) -> (Option<String>, String) {
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
        let scim_type = text("scimType").map(|s| one_line(&s, 100));
        let detail = text("detail")
            .or_else(|| text("message"))
            .or_else(|| text("error_description"))
            .or_else(|| text("error"))
            .map(|d| one_line(&d, MAX_DETAIL))
            .unwrap_or_else(reason);
        return (scim_type, detail);
    }
    // Not a JSON object: a proxy's HTML page, plain text, or a JSON scalar.
    let text = String::from_utf8_lossy(body);
    if let Some(title) = html_title(&text) {
        return (None, one_line(&title, MAX_EXCERPT));
    }
    let detail = excerpt(body, MAX_EXCERPT);
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

/// A single-line excerpt of a body: tags stripped when it looks like HTML, whitespace collapsed,
/// at most `max` characters.
fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = if text.trim_start().starts_with('<') {
        strip_tags(&text)
    } else {
        text.into_owned()
    };
    one_line(&text, max)
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

/// Collapses all whitespace and control characters to single spaces, trims, and cuts to `max`
/// characters (adding `…`).
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if chars + usize::from(pending_space) + 1 > max {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// Renders [`Error::Scim`] on one line.
struct ScimMessage<'a> {
    status: u16,
    scim_type: Option<&'a str>,
    detail: &'a str,
    method: &'a str,
    endpoint: &'a str,
    retry_after: Option<Duration>,
}

impl fmt::Display for ScimMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notion answered {}", self.status)?;
        if let Some(reason) = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        if let Some(scim_type) = self.scim_type {
            write!(f, " ({scim_type})")?;
        }
        write!(f, " for {} {}: {}", self.method, self.endpoint, self.detail)?;
        write!(f, " — {}", hint(self.status))?;
        if let Some(wait) = self.retry_after {
            write!(f, " (Notion asked to wait {}s)", wait.as_secs())?;
        }
        Ok(())
    }
}

/// What the user can do about a status class.
fn hint(status: u16) -> &'static str {
    match status {
        300..=399 => {
            "Notion answered with a redirect, which is not followed: check the base URL (expected https://www.notion.so/scim/v2)"
        }
        400 => "Notion rejected the request as malformed (check the filter or the values sent)",
        401 => {
            "check the SCIM token (BATON_SCIM_TOKEN): it is invalid or was revoked (a token dies when the owner who created it leaves or loses the role)"
        }
        403 => {
            "the token is not allowed to do this (e.g. removing the token's own owner), or the workspace is not on the Enterprise plan"
        }
        404 => {
            "not found: the resource no longer exists, or the base URL is wrong (expected https://www.notion.so/scim/v2)"
        }
        409 => "conflict: it already exists or was changed at the same time",
        429 => "rate limited by Notion; retry later or lower the request rate",
        500..=599 => "a problem on Notion's side; retry later",
        _ => "Notion refused the request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim(status: u16, body: &str) -> Error {
        Error::from_response(status, "POST", "/Users", body.as_bytes(), None)
    }

    fn assert_one_line(err: &Error) -> String {
        let msg = err.to_string();
        assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
        msg
    }

    #[test]
    fn envelope_with_string_status() {
        let err = scim(
            409,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"User already exists"}"#,
        );
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.scim_type(), Some("uniqueness"));
        let msg = assert_one_line(&err);
        assert_eq!(
            msg,
            "Notion answered 409 Conflict (uniqueness) for POST /Users: User already exists — conflict: it already exists or was changed at the same time"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn envelope_with_number_status_and_no_scim_type() {
        let err = scim(409, r#"{"status":409,"detail":"Duplicate\nentry"}"#);
        match &err {
            Error::Scim {
                status,
                scim_type,
                detail,
                ..
            } => {
                assert_eq!(*status, 409);
                assert_eq!(*scim_type, None);
                assert_eq!(detail, "Duplicate entry");
            }
            other => panic!("{other:?}"),
        }
        assert!(assert_one_line(&err).contains("Duplicate entry"));
    }

    #[test]
    fn html_body_gives_its_title_or_an_excerpt() {
        let err = scim(
            502,
            "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center>\n<hr><center>cloudflare</center></body></html>",
        );
        assert!(err.is_retryable());
        let msg = assert_one_line(&err);
        assert!(msg.contains(": 502 Bad Gateway —"), "{msg}");
        assert!(msg.contains("Notion's side"), "{msg}");

        let long = format!("<div>{}</div>", "oops ".repeat(200));
        let err = scim(503, &long);
        let Error::Scim { detail, .. } = &err else {
            panic!()
        };
        assert!(detail.starts_with("oops oops"));
        assert!(detail.chars().count() <= MAX_EXCERPT + 1, "{detail}");
        assert_one_line(&err);
    }

    #[test]
    fn empty_and_non_object_bodies() {
        let err = scim(401, "");
        let Error::Scim { detail, .. } = &err else {
            panic!()
        };
        assert_eq!(detail, "Unauthorized (empty body)");
        let msg = assert_one_line(&err);
        assert!(msg.starts_with("Notion answered 401 Unauthorized for POST /Users:"));
        assert!(msg.contains("BATON_SCIM_TOKEN"));

        let err = scim(429, "   \n ");
        assert!(err.is_retryable() && err.is_rate_limited());
        let err = scim(500, "\"just a string\"");
        assert!(!err.is_retryable());
        assert!(assert_one_line(&err).contains("just a string"));
        let err = scim(529, "{}");
        assert!(err.is_retryable());
        assert!(assert_one_line(&err).contains(": HTTP 529 —"));
        let err = scim(404, r#"{"message":"Could not find user"}"#);
        assert!(err.is_not_found());
        assert!(assert_one_line(&err).contains("Could not find user"));
    }

    #[test]
    fn retryable_classification() {
        for status in [429, 502, 503, 504, 529] {
            assert!(scim(status, "").is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 500, 501] {
            assert!(!scim(status, "").is_retryable(), "{status}");
        }
        let timeout = Error::Timeout {
            method: "GET",
            endpoint: "/Users".into(),
            after: Duration::from_secs(5),
        };
        assert!(timeout.is_retryable());
        assert!(!Error::MissingToken.is_retryable());
        assert_eq!(
            timeout.to_string(),
            "Notion did not answer GET /Users within 5s — Notion may be slow or unreachable; retry later or raise the timeout"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 2015-10-21T07:28:00Z is 1445412480: ten seconds after `now`.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);

        let err = Error::from_response(429, "GET", "/Users", b"", Some("7"));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.to_string().ends_with("(Notion asked to wait 7s)"));
    }

    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(one_line("  a \n\t b\r\n", 10), "a b");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("", 3), "");
    }

    #[test]
    fn decode_error_mentions_body_start_when_not_json() {
        let body = b"<!DOCTYPE html><html>login</html>";
        let err = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        let e = Error::decode("GET", "/Users?startIndex=101&count=100", &err, body);
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "Notion's answer to GET /Users?startIndex=101&count=100 could not be read: expected value at line 1 column 1"
            ),
            "{msg}"
        );
        assert!(msg.contains("DOCTYPE"), "{msg}");
    }
}
