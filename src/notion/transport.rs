//! The one request path both Notion clients (SCIM and the Admin API) send through.
//!
//! A [`Transport`] owns what every request shares: the connection pool, the base URL, the
//! bearer token (a header value marked sensitive, built once), the headers of that API, the
//! per-request timeout, the overall per-call deadline, the retry policy, the client's own
//! [`Limiter`] (each client has its own pacing state: Notion limits each API separately), the
//! request counters and the response-size cap. What differs between the APIs is carried by the
//! request itself through [`Wire`]: its method, endpoint index (for counting and for the
//! limiter's per-kind latency baseline), path, query, body, how it is shown in messages, and how
//! a non-2xx answer becomes an [`Error`] (SCIM's envelope, or the Admin API's two families).
//!
//! [`Transport::execute`]:
//! 1. counts the request under its endpoint,
//! 2. joins the path under the base URL's prefix and percent-encodes the query,
//! 3. sends `Authorization: Bearer …`, the API's headers, and for bodies its `Content-Type`,
//!    under the per-request timeout,
//! 4. reads the body under the cap: a `Content-Length` over it is refused before anything is
//!    read, reading stops as soon as the running total passes it ([`Error::TooLarge`]), and an
//!    error body is read only up to its first MiB,
//! 5. logs method, endpoint, status and elapsed time at `debug` (never headers), and
//! 6. turns a non-2xx answer into the request's error ([`Wire::error`], with the raw
//!    `Retry-After` and the token to scrub), a timeout into [`Error::Timeout`], anything else
//!    into [`Error::Transport`].
//!
//! Around each attempt it applies pacing and the one retry policy ([`super::retry`]), all under
//! the call's overall deadline ([`Error::Deadline`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tracing::{debug, warn};

use super::base_url::BaseUrl;
use super::error::Error;
use super::pacing::{LimitConfig, Limiter, PacingStats};
use super::request::{Body, read_capped, read_prefix};
use super::retry::{RetryConfig, may_retry};
use crate::secret::Secret;
use crate::text;

/// How much of an error body is read: enough for any error envelope or proxy page.
const MAX_ERROR_BODY: u64 = 1024 * 1024;

/// The longest time spent establishing a connection (capped by the request timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One request as the transport sees it (implemented by each client's call type).
pub(crate) trait Wire: Sync {
    /// The HTTP method.
    fn method(&self) -> Method;
    /// The method's name, for messages.
    fn method_name(&self) -> &'static str;
    /// The endpoint's index: its request counter and its pacing latency baseline.
    fn kind(&self) -> usize;
    /// Path segments under the base URL, unencoded.
    fn segments(&self) -> &[String];
    /// Query pairs in order, unencoded.
    fn query(&self) -> &[(String, String)];
    /// The body, for writes.
    fn body(&self) -> Option<&[u8]>;
    /// The request as shown in messages (one line, bounded).
    fn display(&self) -> String;
    /// The error for a non-2xx answer: `body` is at most the first MiB, `retry_after` the raw
    /// header, `secrets` what to scrub from anything the server says.
    fn error(&self, status: u16, body: &[u8], retry_after: Option<&str>, secrets: &[&str])
    -> Error;
}

/// Why a token cannot be used (each client words its own error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Empty or whitespace only.
    Blank,
    /// Unusable as a header value; the reason never repeats the token.
    Malformed(&'static str),
}

/// `Bearer <token>` as a sensitive header value, and the trimmed token (to scrub from server
/// text). Surrounding whitespace, such as a token file's final newline, is ignored.
pub(crate) fn bearer(token: &Secret) -> Result<(HeaderValue, Secret), TokenProblem> {
    if token.is_blank() {
        return Err(TokenProblem::Blank);
    }
    let token = token.expose().trim();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenProblem::Malformed(
            "it contains spaces, control characters or non-ASCII characters",
        ));
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| TokenProblem::Malformed("it cannot be sent as an HTTP header"))?;
    value.set_sensitive(true);
    Ok((value, Secret::new(token)))
}

/// Everything a [`Transport`] is built from.
pub(crate) struct TransportConfig {
    /// The API's name in log messages (`SCIM`, `Admin API`).
    pub(crate) api: &'static str,
    /// Where requests go.
    pub(crate) base: BaseUrl,
    /// From [`bearer`].
    pub(crate) authorization: HeaderValue,
    /// The token as sent, to scrub from server text.
    pub(crate) token: Secret,
    /// Headers of every request (`Accept`, `Notion-Version`, …).
    pub(crate) headers: HeaderMap,
    /// The `Content-Type` of request bodies.
    pub(crate) content_type: &'static str,
    /// Per-request timeout.
    pub(crate) timeout: Duration,
    /// `User-Agent`.
    pub(crate) user_agent: String,
    /// The retry policy.
    pub(crate) retry: RetryConfig,
    /// Pacing limits (a new limiter is built from them).
    pub(crate) limits: LimitConfig,
    /// Largest response body accepted.
    pub(crate) max_response_bytes: u64,
    /// Overall deadline of one call.
    pub(crate) request_deadline: Duration,
    /// How many endpoints the client has (one counter each).
    pub(crate) endpoints: usize,
}

/// The shared request path (see the module docs). One per client; clones of a client share it
/// through an `Arc`.
pub(crate) struct Transport {
    /// The API's name in log messages.
    api: &'static str,
    /// The connection pool.
    http: reqwest::Client,
    /// Where requests go.
    base: BaseUrl,
    /// `Bearer <token>`, marked sensitive so no HTTP-layer `Debug` prints it.
    pub(crate) authorization: HeaderValue,
    /// Headers of every request.
    headers: HeaderMap,
    /// The `Content-Type` of request bodies.
    content_type: &'static str,
    /// Per-request timeout (also reported in [`Error::Timeout`]).
    timeout: Duration,
    /// `User-Agent`, for `Debug`.
    pub(crate) user_agent: String,
    /// Requests sent, indexed by [`Wire::kind`].
    counts: Box<[AtomicU64]>,
    /// Attempts that repeated a failed one.
    retries: AtomicU64,
    /// The retry policy.
    retry: RetryConfig,
    /// This client's rate and concurrency limiter.
    limiter: Limiter,
    /// Largest response body accepted.
    max_response_bytes: u64,
    /// Overall deadline of one call.
    request_deadline: Duration,
    /// The token as sent, to scrub from anything a server says back.
    token: Secret,
}

impl Transport {
    /// Builds the HTTP client (no request is made). Installs rustls' `ring` crypto provider as
    /// the process default if none is installed yet (reqwest is built without one and would
    /// otherwise panic).
    pub(crate) fn new(cfg: TransportConfig) -> Result<Transport, Error> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: some provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.as_str())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(CONNECT_TIMEOUT))
            // Notion's endpoints do not redirect; following one could send the token elsewhere
            // or turn a POST into a GET. A 3xx surfaces as an error that points at the base URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Setup { source })?;
        Ok(Transport {
            api: cfg.api,
            http,
            base: cfg.base,
            authorization: cfg.authorization,
            headers: cfg.headers,
            content_type: cfg.content_type,
            timeout: cfg.timeout,
            user_agent: cfg.user_agent,
            counts: (0..cfg.endpoints).map(|_| AtomicU64::new(0)).collect(),
            retries: AtomicU64::new(0),
            retry: cfg.retry,
            limiter: Limiter::new(&cfg.limits),
            max_response_bytes: cfg.max_response_bytes.max(1),
            request_deadline: cfg.request_deadline.max(Duration::from_millis(1)),
            token: cfg.token,
        })
    }

    /// Requests sent to endpoint `kind` so far.
    pub(crate) fn count(&self, kind: usize) -> u64 {
        self.counts
            .get(kind)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Attempts so far that repeated a failed one.
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// The limiter's current rate.
    pub(crate) fn current_rate(&self) -> f64 {
        self.limiter.current_rate()
    }

    /// What pacing did so far.
    pub(crate) fn pacing(&self) -> PacingStats {
        self.limiter.stats()
    }

    /// `--max-concurrency`.
    pub(crate) fn max_concurrency(&self) -> usize {
        self.limiter.max_concurrency()
    }

    /// The base URL.
    pub(crate) fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The per-request timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub(crate) fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// The overall deadline of one call.
    pub(crate) fn request_deadline(&self) -> Duration {
        self.request_deadline
    }

    /// The response-size cap.
    pub(crate) fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// The secrets to scrub from server text: the token.
    pub(crate) fn secrets(&self) -> [&str; 1] {
        [self.token.expose()]
    }

    /// Sends one request — retried under the policy, each attempt through the limiter — and
    /// returns the status and body of a 2xx answer. The single funnel for every request of a
    /// client (see the module docs).
    pub(crate) async fn execute<W: Wire>(&self, call: &W) -> Result<(StatusCode, Vec<u8>), Error> {
        use backon::Retryable;

        let api = self.api;
        let policy = &self.retry;
        let deadline = self.request_deadline;
        let started = Instant::now();
        let method = call.method();
        let method_name = call.method_name();
        let attempt = AtomicU32::new(0);
        let mut slept = Duration::ZERO;
        let retrying = (|| async {
            let n = attempt.fetch_add(1, Ordering::Relaxed) + 1;
            if n > 1 {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            self.attempt(call).await
        })
        .retry(policy.backoff())
        .sleep(tokio::time::sleep)
        .when(|err: &Error| may_retry(&method, err))
        .adjust(|err: &Error, backoff| {
            let n = attempt.load(Ordering::Relaxed);
            let status = err.status().unwrap_or(0);
            let wait = policy.wait(err, backoff, slept);
            // A retry that could not start before the deadline would only turn Notion's answer
            // into a vaguer one: stop now with the last error.
            if wait.is_some_and(|w| started.elapsed() + w >= deadline) {
                warn!(api, method = method_name, endpoint = %call.display(), attempts = n, status, deadline_s = deadline.as_secs(), "giving up on Notion request: its deadline would pass before the next attempt");
                return None;
            }
            match wait {
                Some(wait) => {
                    slept += wait;
                    let wait_ms = wait.as_millis() as u64;
                    if err.is_rate_limited() || status >= 500 {
                        warn!(api, method = method_name, endpoint = %call.display(), attempt = n, status, wait_ms, "retrying Notion request");
                    } else {
                        debug!(api, method = method_name, endpoint = %call.display(), attempt = n, status, wait_ms, error = %err, "retrying Notion request");
                    }
                }
                None => warn!(api, method = method_name, endpoint = %call.display(), attempts = n, status, "giving up on Notion request: retry budget spent"),
            }
            wait
        });
        match tokio::time::timeout(deadline, retrying).await {
            Ok(result) => result,
            Err(_) => {
                let attempts = attempt.load(Ordering::Relaxed);
                warn!(api, method = method_name, endpoint = %call.display(), attempts, deadline_s = deadline.as_secs(), "giving up on Notion request: its deadline passed");
                Err(Error::Deadline {
                    method: method_name,
                    endpoint: call.display(),
                    after: deadline,
                    attempts,
                })
            }
        }
    }

    /// One attempt: waits for the limiter, sends, reads the whole answer, and tells the limiter
    /// whether Notion rate-limited it.
    async fn attempt<W: Wire>(&self, call: &W) -> Result<(StatusCode, Vec<u8>), Error> {
        let api = self.api;
        let method_name = call.method_name();
        let endpoint = call.display();
        let kind = call.kind();
        let permit = self.limiter.acquire().await;
        if let Some(counter) = self.counts.get(kind) {
            counter.fetch_add(1, Ordering::Relaxed);
        }

        let url = self.base.join(call.segments(), call.query());
        let mut request = self
            .http
            .request(call.method(), url)
            .header(AUTHORIZATION, self.authorization.clone())
            .headers(self.headers.clone())
            .timeout(self.timeout);
        if let Some(body) = call.body() {
            request = request
                .header(CONTENT_TYPE, self.content_type)
                .body(body.to_vec());
        }

        let started = Instant::now();
        let limit = self.max_response_bytes;
        let outcome = async {
            let response = request.send().await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = if status.is_success() {
                read_capped(response, limit).await?
            } else {
                // Only the start of an error body is worth reading; the rest is dropped with
                // the connection.
                read_prefix(response, MAX_ERROR_BODY.min(limit)).await?
            };
            Ok::<_, reqwest::Error>((status, retry_after, body))
        }
        .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;

        match outcome {
            Err(err) => {
                debug!(
                    method = method_name,
                    endpoint = %endpoint,
                    elapsed_ms,
                    error = %error_chain(&err, &self.secrets()),
                    "{api} request failed"
                );
                Err(Error::transport(method_name, endpoint, err, self.timeout))
            }
            Ok((status, _, Body::TooLarge { declared })) => {
                debug!(
                    method = method_name,
                    endpoint = %endpoint,
                    status = status.as_u16(),
                    elapsed_ms,
                    limit,
                    "{api} answer over the size limit"
                );
                permit.succeeded(kind);
                Err(Error::TooLarge {
                    method: method_name,
                    endpoint,
                    limit,
                    declared,
                })
            }
            Ok((status, retry_after, Body::Whole(body))) => {
                debug!(
                    method = method_name,
                    endpoint = %endpoint,
                    status = status.as_u16(),
                    elapsed_ms,
                    bytes = body.len(),
                    "{api} request"
                );
                if status.is_success() {
                    permit.succeeded(kind);
                    Ok((status, body))
                } else {
                    let err = call.error(
                        status.as_u16(),
                        &body,
                        retry_after.as_deref(),
                        &self.secrets(),
                    );
                    if err.is_rate_limited() {
                        let pause = err.retry_after().map(|d| d.min(self.retry.max_retry_after));
                        permit.rate_limited(pause);
                    } else {
                        permit.succeeded(kind);
                    }
                    Err(err)
                }
            }
        }
    }

    /// A parse result, or an error that explains which request's body did not parse (bounded,
    /// and scrubbed of the token).
    pub(crate) fn decode<W: Wire, T>(
        &self,
        call: &W,
        parsed: Result<T, serde_json::Error>,
        body: &[u8],
    ) -> Result<T, Error> {
        parsed.map_err(|err| {
            Error::decode(
                call.method_name(),
                call.display(),
                &err,
                body,
                &self.secrets(),
            )
        })
    }
}

/// An error and its sources on one line, for log fields: bounded, and scrubbed of `secrets`.
fn error_chain(err: &dyn std::error::Error, secrets: &[&str]) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text::message(&text, secrets)
}
