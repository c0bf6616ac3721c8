//! Reading HTTP response bodies under a size cap.
//!
//! Every HTTP client in this crate (Notion's SCIM and Admin APIs, ConductorOne's token endpoint)
//! reads bodies through here, so a broken or hostile server cannot make the process buffer an
//! endless or gigantic answer: a `Content-Length` over the cap is refused before anything is
//! read, and reading stops as soon as the running total passes it. Error bodies only need their
//! start (a message, a proxy page), so [`read_prefix`] keeps the first bytes and drops the rest.
//!
//! This module knows no API: callers turn [`Body::TooLarge`] into their own error.

/// A response body as read under the cap.
#[derive(Debug, PartialEq, Eq)]
pub enum Body {
    /// All of it (or, from [`read_prefix`], its start).
    Whole(Vec<u8>),
    /// More than the cap; `declared` is the `Content-Length` when that alone said so.
    TooLarge {
        /// The announced length.
        declared: Option<u64>,
    },
}

/// Reads a body chunk by chunk, stopping as soon as it passes `limit` bytes (or before reading
/// anything when `Content-Length` already does).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Body, reqwest::Error> {
    let declared = response.content_length();
    if let Some(n) = declared.filter(|&n| n > limit) {
        return Ok(Body::TooLarge { declared: Some(n) });
    }
    let capacity = usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(Body::TooLarge { declared: None });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body))
}

/// Reads at most the first `limit` bytes of a body; the rest is never read.
pub async fn read_prefix(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Body, reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    Ok(Body::Whole(body))
}
