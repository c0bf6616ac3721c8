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
//! Text that came from the server (`detail`, `scimType`, body excerpts, parse errors quoting the
//! body) is a hostile input: it goes through [`text::message`](crate::text::message) before it is
//! kept — squashed to one line, control characters escaped, cut to
//! [`MAX_LINE`](crate::text::MAX_LINE) characters with a marker, and with every secret the client
//! holds (the token a server might echo back) replaced by `[redacted]`.
//!
//! [`Error::is_retryable`] is the one classification function the retry layer uses.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

use super::admin::AdminError;
use super::envelope::{longest, parse_envelope};
use crate::text;

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
    /// The answer was larger than the client accepts
    /// ([`ClientConfig::max_response_bytes`](super::ClientConfig::max_response_bytes)); reading
    /// stopped at the limit.
    #[error(
        "Notion's answer to {method} {endpoint} is larger than the {} limit{} — a Notion API answer is far smaller: check the base URL, or raise --max-response-bytes",
        human_bytes(*limit),
        declared.map(|n| format!(" (it announced {})", human_bytes(n))).unwrap_or_default()
    )]
    TooLarge {
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query.
        endpoint: String,
        /// The limit, in bytes.
        limit: u64,
        /// The `Content-Length` the server announced, when it did and it was over the limit.
        declared: Option<u64>,
    },
    /// One request, all its attempts and the waits between them included, took longer than the
    /// overall deadline ([`ClientConfig::request_deadline`](super::ClientConfig::request_deadline)).
    #[error(
        "Notion did not complete {method} {endpoint} within the {}s request deadline ({attempts} attempt{}, retries and waits included) — Notion may be slow or unreachable; retry later or raise --request-deadline-seconds",
        after.as_secs_f64(),
        if *attempts == 1 { "" } else { "s" }
    )]
    Deadline {
        /// The HTTP method.
        method: &'static str,
        /// Path relative to the base URL, with the query.
        endpoint: String,
        /// The deadline that expired.
        after: Duration,
        /// Attempts started before it expired.
        attempts: u32,
    },
    /// A listing went on past its page budget (sized from `totalResults`, bounded by an absolute
    /// ceiling; see [`Pager`](super::Pager)): the server keeps sending pages. Failing keeps a
    /// truncated listing from replacing a good artifact.
    #[error(
        "stopped listing {what} after {pages} pages ({received} received{}): Notion kept sending pages past what it announced — refusing an endless listing",
        total.map(|t| format!(", totalResults {t}")).unwrap_or_else(|| ", no totalResults".to_owned())
    )]
    EndlessListing {
        /// What was listed (`users`, `groups`).
        what: String,
        /// Pages accepted.
        pages: u32,
        /// Resources received.
        received: u64,
        /// The first `totalResults` the server announced, if any.
        total: Option<u64>,
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
    /// The Admin API answered with a non-2xx status (either error family; see
    /// [`AdminError`]). Boxed: it is the largest variant.
    #[error("{0}")]
    Admin(Box<AdminError>),
    /// An Admin API listing could not be trusted: the server repeated a cursor, or kept sending
    /// pages past the ceiling. Failing keeps a truncated listing from replacing a good artifact.
    #[error("stopped listing {what} after {pages} pages: {reason}")]
    AdminListing {
        /// What was listed (an endpoint template).
        what: String,
        /// Pages accepted.
        pages: u32,
        /// What the server did wrong.
        reason: String,
    },
    /// The configured base URL is unusable.
    #[error("invalid Notion {api} base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// Which API's base URL (`SCIM`, `Admin API`).
        api: &'static str,
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
    /// No organization bot token was configured, or it is blank.
    #[error(
        "no Admin API token: create an organization bot token in Notion's organization console and set BATON_ADMIN_TOKEN"
    )]
    MissingAdminToken,
    /// The organization bot token contains characters that cannot be sent in an HTTP header.
    #[error("the Admin API token (BATON_ADMIN_TOKEN) is malformed: {reason}")]
    InvalidAdminToken {
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
    /// The HTTP status Notion answered with, for [`Error::Scim`] and [`Error::Admin`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Scim { status, .. } => Some(*status),
            Error::Admin(err) => Some(err.status),
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
            Error::Admin(err) => err.retry_after,
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
            Error::Admin(err) => matches!(err.status, 429 | 502 | 503 | 504 | 529),
            Error::Timeout { .. } | Error::Deadline { .. } => true,
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
        Error::from_response_scrubbed(status, method, endpoint, body, retry_after, &[])
    }

    /// [`Error::from_response`], replacing each of `secrets` wherever the server's text repeats
    /// it (a server or proxy that echoes the `Authorization` header).
    pub fn from_response_scrubbed(
        status: u16,
        method: &'static str,
        endpoint: impl Into<String>,
        body: &[u8],
        retry_after: Option<&str>,
        secrets: &[&str],
    ) -> Error {
        let (scim_type, detail) = parse_envelope(status, body, secrets);
        Error::Scim {
            status,
            scim_type,
            detail,
            method,
            endpoint: endpoint.into(),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        }
    }

    /// Builds [`Error::Decode`] for a 2xx body that did not parse. The parser's message may
    /// quote the body, so it is bounded and scrubbed of `secrets` like any server text.
    pub(crate) fn decode(
        method: &'static str,
        endpoint: impl Into<String>,
        err: &serde_json::Error,
        body: &[u8],
        secrets: &[&str],
    ) -> Error {
        let mut detail = text::message(&err.to_string(), secrets);
        let trimmed = body.trim_ascii_start();
        if trimmed.is_empty() {
            detail.push_str(" (the body is empty)");
        } else if !matches!(trimmed.first(), Some(b'{' | b'[')) {
            let start = &trimmed[..trimmed.len().min(240 + longest(secrets))];
            let start = text::message_max(&String::from_utf8_lossy(start), 60, secrets);
            detail.push_str(&format!(" (the body starts with \"{start}\")"));
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
                // The URL repeats the path (a hostile id can make it huge) and is already in
                // `endpoint`.
                source: source.without_url(),
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

/// `1.5 MiB`-style sizes for messages.
fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
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
#[path = "error_tests.rs"]
mod tests;
