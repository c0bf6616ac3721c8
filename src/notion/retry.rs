//! The one retry policy every Notion call goes through.
//!
//! The shared transport's `execute` (both clients, SCIM and Admin API) wraps each attempt in a
//! [`backon`] retry built by
//! [`RetryConfig::backoff`]; the decisions themselves are plain functions here so they are tested
//! without a network:
//!
//! - **What retries** ([`may_retry`]): [`Error::is_retryable`] — 429, 502, 503, 504, 529, timeouts
//!   and transport failures. Every other status (400, 401, 403, 404, 409, 500, …) and a 2xx body
//!   that does not parse fail at once: repeating a deterministic failure only delays the message.
//! - **Writes**: `POST` is not idempotent (a lost response may hide a created account), so it
//!   retries only when the connection failed before anything was sent ([`Error::is_connect`]).
//!   `PATCH` and `DELETE` are idempotent in SCIM terms (the same PatchOp or delete applied twice
//!   ends in the same state) and retry like `GET`s.
//! - **How long to wait** ([`RetryConfig::wait`]): a jittered exponential backoff (backon's
//!   [`ExponentialBuilder`] with jitter *on*: each wait is `d + random(0, d)` with `d` doubling from
//!   [`min_delay`](RetryConfig::min_delay) up to [`max_delay`](RetryConfig::max_delay)). A
//!   `Retry-After` header (seconds or HTTP-date) wins over the backoff, bounded by
//!   [`max_retry_after`](RetryConfig::max_retry_after).
//! - **When to stop**: after [`max_attempts`](RetryConfig::max_attempts) attempts in all, or when
//!   the next wait would take the delays slept for this call past
//!   [`max_total_delay`](RetryConfig::max_total_delay). The last error is returned as is, so the
//!   user sees Notion's status and detail.
//!
//! Each decision is logged (attempt, status, wait) at `warn` for rate limits and server errors
//! and `debug` otherwise — never headers, never the token.

use std::time::Duration;

use backon::{ExponentialBackoff, ExponentialBuilder};
use reqwest::Method;

use super::error::Error;

/// The retry policy of a [`Client`](super::Client); part of
/// [`ClientConfig`](super::ClientConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per call in all, the first included (`1` disables retries). Default 5.
    pub max_attempts: u32,
    /// First backoff delay (before jitter). Default 500 ms.
    pub min_delay: Duration,
    /// Largest backoff delay (before jitter). Default 30 s.
    pub max_delay: Duration,
    /// Cap on the sum of the waits of one call; a retry that would exceed it is not made.
    /// Default 180 s.
    pub max_total_delay: Duration,
    /// Longest `Retry-After` honoured; longer requests are shortened to this. Default 120 s.
    pub max_retry_after: Duration,
    /// Randomize each backoff delay (up to twice its value), so clients do not retry in lockstep.
    /// Default on.
    pub jitter: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_delay: Duration::from_secs(180),
            max_retry_after: Duration::from_secs(120),
            jitter: true,
        }
    }
}

impl RetryConfig {
    /// No retries at all: every call is attempted once.
    pub fn disabled() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        }
    }

    /// Millisecond delays for tests: same attempts, waits of 1–10 ms, `Retry-After` honoured up
    /// to 5 s.
    pub fn fast() -> Self {
        RetryConfig {
            max_attempts: 5,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            max_total_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(5),
            jitter: true,
        }
    }

    /// The backoff delays of one call: `max_attempts - 1` jittered exponential delays.
    pub(crate) fn backoff(&self) -> ExponentialBackoff {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay.max(self.min_delay))
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        if self.jitter {
            builder = builder.with_jitter();
        }
        backon::BackoffBuilder::build(builder)
    }

    /// The wait before the next attempt after `err`, given the backoff's proposal (`None` when
    /// the backoff is exhausted) and the delay already slept for this call; `None` means stop.
    pub(crate) fn wait(
        &self,
        err: &Error,
        backoff: Option<Duration>,
        slept: Duration,
    ) -> Option<Duration> {
        let backoff = backoff?;
        let wait = match err.retry_after() {
            Some(asked) => asked.min(self.max_retry_after),
            None => backoff,
        };
        (slept.saturating_add(wait) <= self.max_total_delay).then_some(wait)
    }
}

/// Whether a failed attempt of a `method` request may be repeated (see the module docs).
pub(crate) fn may_retry(method: &Method, err: &Error) -> bool {
    if !err.is_retryable() {
        return false;
    }
    if method == Method::POST {
        return err.is_connect();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim(status: u16, retry_after: Option<&str>) -> Error {
        Error::from_response(status, "GET", "/Users", b"{}", retry_after)
    }

    #[test]
    fn classification() {
        for status in [429, 502, 503, 504, 529] {
            assert!(may_retry(&Method::GET, &scim(status, None)), "{status}");
            assert!(may_retry(&Method::PATCH, &scim(status, None)), "{status}");
            assert!(may_retry(&Method::DELETE, &scim(status, None)), "{status}");
            assert!(!may_retry(&Method::POST, &scim(status, None)), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 500] {
            assert!(!may_retry(&Method::GET, &scim(status, None)), "{status}");
        }
        let timeout = Error::Timeout {
            method: "GET",
            endpoint: "/Users".into(),
            after: Duration::from_secs(1),
        };
        assert!(may_retry(&Method::GET, &timeout));
        assert!(
            !may_retry(&Method::POST, &timeout),
            "a POST may have landed"
        );
        let decode = Error::Decode {
            method: "GET",
            endpoint: "/Users".into(),
            detail: "EOF".into(),
        };
        assert!(!may_retry(&Method::GET, &decode));
    }

    #[tokio::test]
    async fn a_post_retries_only_when_the_connection_failed() {
        // Port 1 on loopback refuses connections: a connect error, nothing sent.
        let http = reqwest::Client::new();
        let err = http
            .post("http://127.0.0.1:1/")
            .send()
            .await
            .expect_err("refused");
        let err = Error::transport("POST", "/Users", err, Duration::from_secs(1));
        assert!(err.is_connect());
        assert!(may_retry(&Method::POST, &err));
    }

    #[test]
    fn retry_after_wins_and_is_bounded() {
        let cfg = RetryConfig::default();
        let backoff = Some(Duration::from_millis(700));
        let zero = Duration::ZERO;
        assert_eq!(cfg.wait(&scim(503, None), backoff, zero), backoff);
        assert_eq!(
            cfg.wait(&scim(429, Some("2")), backoff, zero),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            cfg.wait(&scim(429, Some("0")), backoff, zero),
            Some(Duration::ZERO),
            "Retry-After wins even when shorter"
        );
        assert_eq!(
            cfg.wait(&scim(429, Some("86400")), backoff, zero),
            Some(Duration::from_secs(120))
        );
        let date = httpdate_in(Duration::from_secs(30));
        let wait = cfg
            .wait(&scim(429, Some(&date)), backoff, zero)
            .expect("retries");
        assert!(wait > Duration::from_secs(27) && wait <= Duration::from_secs(30));
        // An exhausted backoff stops, Retry-After or not.
        assert_eq!(cfg.wait(&scim(429, Some("1")), None, zero), None);
    }

    #[test]
    fn total_delay_is_capped() {
        let cfg = RetryConfig {
            max_total_delay: Duration::from_secs(10),
            ..RetryConfig::default()
        };
        let err = scim(429, Some("4"));
        let backoff = Some(Duration::from_secs(1));
        assert!(cfg.wait(&err, backoff, Duration::from_secs(6)).is_some());
        assert_eq!(cfg.wait(&err, backoff, Duration::from_secs(7)), None);
    }

    #[test]
    fn backoff_is_exponential_jittered_and_bounded() {
        let cfg = RetryConfig {
            max_attempts: 6,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            ..RetryConfig::default()
        };
        let delays: Vec<Duration> = cfg.backoff().collect();
        assert_eq!(delays.len(), 5, "max_attempts counts the first attempt");
        let floors = [100, 200, 400, 400, 400];
        for (d, floor) in delays.iter().zip(floors) {
            let floor = Duration::from_millis(floor);
            assert!(*d >= floor && *d <= floor * 2, "{d:?} vs {floor:?}");
        }
        assert_eq!(RetryConfig::disabled().backoff().count(), 0);
    }

    fn httpdate_in(d: Duration) -> String {
        let at = chrono::Utc::now() + chrono::Duration::from_std(d).expect("small");
        at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }
}
