//! The client: configuration, the shared HTTP connection pool, and the one function every request
//! goes through.
//!
//! [`Client`] is cheap to clone (an `Arc` inside) and shares one `reqwest::Client`, so clones reuse
//! connections. Every request — list, get, the validation call, writes — is funnelled through the
//! private `execute`, which:
//!
//! 1. counts the request under its endpoint template (`GET /Users/{id}`),
//! 2. joins the path under the base URL's prefix and percent-encodes the query,
//! 3. sends `Authorization: Bearer …` (a header value marked sensitive, built once),
//!    `Accept: application/scim+json, application/json`, and for bodies
//!    `Content-Type: application/scim+json`, under the configured per-request timeout,
//! 4. reads the body incrementally under a cap ([`ClientConfig::max_response_bytes`], default
//!    [`DEFAULT_MAX_RESPONSE_BYTES`]): a `Content-Length` over it is refused before anything is
//!    read, and reading stops as soon as the running total passes it ([`Error::TooLarge`]);
//!    error bodies are read only up to their first MiB, which is all a message needs,
//! 5. logs method, endpoint, status and elapsed time at `debug` (never headers), and
//! 6. turns a non-2xx answer into [`Error::Scim`] (with `Retry-After`; the server's text scrubbed
//!    of the token), a timeout into [`Error::Timeout`], and any other failure into
//!    [`Error::Transport`].
//!
//! A whole call — every attempt, the limiter's queue and the waits between retries — runs under
//! one overall deadline ([`ClientConfig::request_deadline`], default
//! [`DEFAULT_REQUEST_DEADLINE`]), so the per-request timeout times the retries cannot hold a
//! sync for half an hour: a retry whose wait would pass the deadline is not made, and an attempt
//! still running when it passes is dropped ([`Error::Deadline`]).
//!
//! Around each attempt, `execute` applies the client's pacing ([`super::pacing`]: the adaptive
//! rate and in-flight limit, told how each attempt ended) and the one retry policy
//! ([`super::retry`]: which failures repeat, how long to wait, when to give up). The request
//! counters count real HTTP attempts; [`Client::retries`] counts the repeats among them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use super::base_url::BaseUrl;
use super::error::Error;
use super::groups::Groups;
use super::models::{ListResponse, PageShape, decode_page};
use super::pacing::{LimitConfig, Limiter, PacingStats};
use super::request::{Body, read_capped, read_prefix};
pub(crate) use super::request::{Call, Endpoint};
use super::retry::{RetryConfig, may_retry};
pub(crate) use super::stream::stream_resources;
use super::users::Users;
use crate::secret::Secret;
use crate::text;

/// Notion's SCIM base URL (the tenant URL Notion and Entra give).
pub const DEFAULT_BASE_URL: &str = "https://www.notion.so/scim/v2";

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Default cap on one response body: 32 MiB, about 30 times a full page of 100 users.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Default overall deadline of one call, all attempts and waits included.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(600);

/// How much of an error body is read: enough for any error envelope or proxy page.
const MAX_ERROR_BODY: u64 = 1024 * 1024;

/// The longest time spent establishing a connection (capped by the request timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `Accept` header of every request.
const ACCEPT_SCIM: &str = "application/scim+json, application/json";

/// The `Content-Type` of request bodies.
const CONTENT_TYPE_SCIM: &str = "application/scim+json";

/// How to reach Notion.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// SCIM base URL, e.g. [`DEFAULT_BASE_URL`]; `http` only for loopback hosts.
    pub base_url: String,
    /// The SCIM bearer token (redacted in `Debug`).
    pub token: Secret,
    /// Per-request timeout, covering connect, send and reading the whole body.
    pub timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// The retry policy (default: [`RetryConfig::default`]).
    pub retry: RetryConfig,
    /// Rate and concurrency limits (default: [`LimitConfig::default`]).
    pub limits: LimitConfig,
    /// Largest response body accepted, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: u64,
    /// Overall deadline of one call: every attempt, the waits between them and the time queued
    /// in the limiter (default [`DEFAULT_REQUEST_DEADLINE`], 10 minutes).
    pub request_deadline: Duration,
}

impl ClientConfig {
    /// A configuration with the default timeout (300 s), response cap (32 MiB), request deadline
    /// (600 s) and user agent (`baton-notion/<version>`).
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("baton-notion/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryConfig::default(),
            limits: LimitConfig::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
        }
    }
}

/// A Notion SCIM client. Cheap to clone; clones share the connection pool and request counters.
///
/// ```no_run
/// # async fn demo() -> Result<(), baton_notion::notion::Error> {
/// use baton_notion::notion::{Client, ClientConfig, DEFAULT_BASE_URL};
/// use baton_notion::secret::Secret;
///
/// let client = Client::new(ClientConfig::new(DEFAULT_BASE_URL, Secret::new("secret_…")))?;
/// client.service_provider_config().await?;
/// let page = client.users().list().start_index(1).count(100).send().await?;
/// for user in &page.resources {
///     println!("{} {:?}", user.display_name(), user.role);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// State shared by all clones of a [`Client`].
struct Inner {
    /// The connection pool.
    http: reqwest::Client,
    /// Where requests go.
    base: BaseUrl,
    /// `Bearer <token>`, marked sensitive so no HTTP-layer `Debug` prints it.
    authorization: HeaderValue,
    /// Per-request timeout (also reported in [`Error::Timeout`]).
    timeout: Duration,
    /// `User-Agent`, for `Debug`.
    user_agent: String,
    /// Requests sent, indexed by [`Endpoint`].
    counts: [AtomicU64; Endpoint::ALL.len()],
    /// Attempts that repeated a failed one.
    retries: AtomicU64,
    /// The retry policy.
    retry: RetryConfig,
    /// The shared rate and concurrency limiter.
    limiter: Limiter,
    /// Largest response body accepted.
    max_response_bytes: u64,
    /// Overall deadline of one call.
    request_deadline: Duration,
    /// The token as sent, to scrub from anything a server says back.
    token: Secret,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("timeout", &self.inner.timeout)
            .field("user_agent", &self.inner.user_agent)
            .field("retry", &self.inner.retry)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("request_deadline", &self.inner.request_deadline)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client: validates the base URL (see [`BaseUrl`]) and the token (not blank, sendable
    /// as a header; surrounding whitespace such as a token file's final newline is ignored). No
    /// request is made.
    ///
    /// Installs rustls' `ring` crypto provider as the process default if none is installed yet
    /// (reqwest is built without one and would otherwise panic).
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        let base = BaseUrl::parse(&cfg.base_url)?;
        if cfg.token.is_blank() {
            return Err(Error::MissingToken);
        }
        let token = cfg.token.expose().trim().to_owned();
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidToken {
                reason: "it contains spaces, control characters or non-ASCII characters",
            });
        }
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| Error::InvalidToken {
                reason: "it cannot be sent as an HTTP header",
            })?;
        authorization.set_sensitive(true);

        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: some provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.as_str())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(CONNECT_TIMEOUT))
            // SCIM endpoints do not redirect; following one could send the token elsewhere or
            // turn a POST into a GET. A 3xx surfaces as an error that points at the base URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Setup { source })?;

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                authorization,
                timeout: cfg.timeout,
                user_agent: cfg.user_agent,
                counts: Default::default(),
                retries: AtomicU64::new(0),
                limiter: Limiter::new(&cfg.limits),
                retry: cfg.retry,
                max_response_bytes: cfg.max_response_bytes.max(1),
                request_deadline: cfg.request_deadline.max(Duration::from_millis(1)),
                token: Secret::new(token),
            }),
        })
    }

    /// Operations on `/Users`.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Operations on `/Groups`.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }

    /// `GET /ServiceProviderConfig` — a cheap authenticated call used to validate the token.
    pub async fn service_provider_config(&self) -> Result<serde_json::Value, Error> {
        self.fetch_json(&Call::new(
            Endpoint::ServiceProviderConfig,
            ["ServiceProviderConfig"],
        ))
        .await
    }

    /// Requests made so far by endpoint template, every known endpoint included (zero when unused),
    /// e.g. `{"GET /Groups": 1, "GET /Users": 3, "GET /Users/{id}": 0, …}`. Shared by clones.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        Endpoint::ALL
            .iter()
            .map(|e| {
                let n = self.inner.counts[*e as usize].load(Ordering::Relaxed);
                (e.template().to_owned(), n)
            })
            .collect()
    }

    /// Attempts so far that repeated a failed one (also counted in
    /// [`request_counts`](Self::request_counts)). Shared by clones.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// The current request rate in requests per second (adaptive, or the pinned rate, lower
    /// while recovering from 429s).
    pub fn current_rate(&self) -> f64 {
        self.inner.limiter.current_rate()
    }

    /// What pacing did so far: 429s, pauses, the current and highest rate. Shared by clones.
    pub fn pacing(&self) -> PacingStats {
        self.inner.limiter.stats()
    }

    /// How many requests may be in flight at once (`LimitConfig::max_concurrency`).
    pub fn max_concurrency(&self) -> usize {
        self.inner.limiter.max_concurrency()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The overall deadline of one call, retries included.
    pub fn request_deadline(&self) -> Duration {
        self.inner.request_deadline
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes
    }

    /// The secrets to scrub from server text: the token.
    fn secrets(&self) -> [&str; 1] {
        [self.inner.token.expose()]
    }

    /// Sends one request — retried under the policy, each attempt through the limiter — and
    /// returns the status and body of a 2xx answer. The single funnel for every request (see the
    /// module docs).
    pub(crate) async fn execute(&self, call: &Call) -> Result<(StatusCode, Vec<u8>), Error> {
        use backon::Retryable;

        let policy = &self.inner.retry;
        let deadline = self.inner.request_deadline;
        let started = Instant::now();
        let method = call.endpoint.method();
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let mut slept = Duration::ZERO;
        let retrying = (|| async {
            let n = attempt.fetch_add(1, Ordering::Relaxed) + 1;
            if n > 1 {
                self.inner.retries.fetch_add(1, Ordering::Relaxed);
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
                warn!(method = call.endpoint.method_name(), endpoint = %call.display(), attempts = n, status, deadline_s = deadline.as_secs(), "giving up on Notion request: its deadline would pass before the next attempt");
                return None;
            }
            match wait {
                Some(wait) => {
                    slept += wait;
                    let wait_ms = wait.as_millis() as u64;
                    if err.is_rate_limited() || status >= 500 {
                        warn!(method = call.endpoint.method_name(), endpoint = %call.display(), attempt = n, status, wait_ms, "retrying Notion request");
                    } else {
                        debug!(method = call.endpoint.method_name(), endpoint = %call.display(), attempt = n, status, wait_ms, error = %err, "retrying Notion request");
                    }
                }
                None => warn!(method = call.endpoint.method_name(), endpoint = %call.display(), attempts = n, status, "giving up on Notion request: retry budget spent"),
            }
            wait
        });
        match tokio::time::timeout(deadline, retrying).await {
            Ok(result) => result,
            Err(_) => {
                let attempts = attempt.load(Ordering::Relaxed);
                warn!(method = call.endpoint.method_name(), endpoint = %call.display(), attempts, deadline_s = deadline.as_secs(), "giving up on Notion request: its deadline passed");
                Err(Error::Deadline {
                    method: call.endpoint.method_name(),
                    endpoint: call.display(),
                    after: deadline,
                    attempts,
                })
            }
        }
    }

    /// One attempt: waits for the limiter, sends, reads the whole answer, and tells the limiter
    /// whether Notion rate-limited it.
    async fn attempt(&self, call: &Call) -> Result<(StatusCode, Vec<u8>), Error> {
        let method = call.endpoint.method();
        let method_name = call.endpoint.method_name();
        let endpoint = call.display();
        let permit = self.inner.limiter.acquire().await;
        self.inner.counts[call.endpoint as usize].fetch_add(1, Ordering::Relaxed);

        let url = self.inner.base.join(&call.segments, &call.query);
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.inner.authorization.clone())
            .header(ACCEPT, ACCEPT_SCIM)
            .timeout(self.inner.timeout);
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, CONTENT_TYPE_SCIM)
                .body(body.clone());
        }

        let started = Instant::now();
        let limit = self.inner.max_response_bytes;
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
                    "SCIM request failed"
                );
                Err(Error::transport(
                    method_name,
                    endpoint,
                    err,
                    self.inner.timeout,
                ))
            }
            Ok((status, _, Body::TooLarge { declared })) => {
                debug!(
                    method = method_name,
                    endpoint = %endpoint,
                    status = status.as_u16(),
                    elapsed_ms,
                    limit,
                    "SCIM answer over the size limit"
                );
                permit.succeeded(call.endpoint as usize);
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
                    "SCIM request"
                );
                if status.is_success() {
                    permit.succeeded(call.endpoint as usize);
                    Ok((status, body))
                } else {
                    let err = Error::from_response_scrubbed(
                        status.as_u16(),
                        method_name,
                        endpoint,
                        &body,
                        retry_after.as_deref(),
                        &self.secrets(),
                    );
                    if err.is_rate_limited() {
                        let pause = err
                            .retry_after()
                            .map(|d| d.min(self.inner.retry.max_retry_after));
                        permit.rate_limited(pause);
                    } else {
                        permit.succeeded(call.endpoint as usize);
                    }
                    Err(err)
                }
            }
        }
    }

    /// [`execute`](Self::execute), then parses the body as JSON.
    pub(crate) async fn fetch_json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, Error> {
        let (_, body) = self.execute(call).await?;
        self.decode(call, serde_json::from_slice(&body), &body)
    }

    /// [`execute`](Self::execute), then decodes a list page answering a request of `shape`:
    /// more resources than asked for, or no usable `Resources` where some are due, is an
    /// [`Error::Decode`] (see [`super::models`]).
    pub(crate) async fn fetch_page<T: DeserializeOwned>(
        &self,
        call: &Call,
        shape: PageShape,
    ) -> Result<ListResponse<T>, Error> {
        let (_, body) = self.execute(call).await?;
        self.decode(call, decode_page(&body, shape), &body)
    }

    /// A parse result, or an error that explains which request's body did not parse (bounded,
    /// and scrubbed of the token).
    fn decode<T>(
        &self,
        call: &Call,
        parsed: Result<T, serde_json::Error>,
        body: &[u8],
    ) -> Result<T, Error> {
        parsed.map_err(|err| {
            Error::decode(
                call.endpoint.method_name(),
                call.display(),
                &err,
                body,
                &self.secrets(),
            )
        })
    }

    /// Like [`fetch_json`](Self::fetch_json), but a 204 or an empty body is `None`.
    pub(crate) async fn fetch_optional_json<T: DeserializeOwned>(
        &self,
        call: &Call,
    ) -> Result<Option<T>, Error> {
        let (status, body) = self.execute(call).await?;
        if status == StatusCode::NO_CONTENT || body.trim_ascii().is_empty() {
            return Ok(None);
        }
        self.decode(call, serde_json::from_slice(&body), &body)
            .map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    fn config(base: &str, token: &str) -> ClientConfig {
        ClientConfig::new(base, Secret::new(token))
    }

    #[test]
    fn defaults() {
        let cfg = config(DEFAULT_BASE_URL, "secret_abc");
        assert_eq!(cfg.timeout, Duration::from_secs(300));
        assert_eq!(
            cfg.user_agent,
            format!("baton-notion/{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(!format!("{cfg:?}").contains("secret_abc"));
    }

    #[test]
    fn rejects_blank_and_malformed_tokens() {
        assert!(matches!(
            Client::new(config(DEFAULT_BASE_URL, " \n")),
            Err(Error::MissingToken)
        ));
        let err = Client::new(config(DEFAULT_BASE_URL, "secret with space")).unwrap_err();
        assert!(matches!(err, Error::InvalidToken { .. }));
        assert!(!err.to_string().contains("secret with space"));
        assert!(!format!("{err:?}").contains("with space"));
        // A token file's trailing newline is fine.
        Client::new(config(DEFAULT_BASE_URL, "secret_abc\n")).unwrap();
    }

    #[test]
    fn rejects_remote_http() {
        let err = Client::new(config("http://www.notion.so/scim/v2", "secret_abc")).unwrap_err();
        assert!(matches!(err, Error::InvalidBaseUrl { .. }));
        assert!(err.to_string().contains("use https"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::new(config("http://127.0.0.1:1/scim/v2", "secret_xyz789")).unwrap();
        let debug = format!("{client:?}");
        assert!(debug.contains("http://127.0.0.1:1/scim/v2"), "{debug}");
        assert!(!debug.contains("xyz789"), "{debug}");
        assert!(!format!("{:?}", client.inner.authorization).contains("xyz789"));
    }

    #[test]
    fn counts_start_at_zero_for_every_endpoint() {
        let client = Client::new(config("http://localhost:1", "t")).unwrap();
        let counts = client.request_counts();
        assert_eq!(counts.len(), Endpoint::ALL.len());
        assert_eq!(counts["GET /Users/{id}"], 0);
        assert_eq!(counts["GET /ServiceProviderConfig"], 0);
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
        }
        assert_eq!(Endpoint::PatchGroup.method(), Method::PATCH);
        assert_eq!(Endpoint::GetUser.method_name(), "GET");
    }

    /// Read-ahead spawns these on the runtime: they must be `Send`.
    #[test]
    fn request_futures_and_streams_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let client = Client::new(config("http://localhost:1", "t")).unwrap();
        let id = crate::notion::UserId::from("u");
        assert_send(&client.users().list().count(100).send());
        assert_send(&client.users().get(&id));
        assert_send(&client.groups().list().send());
        assert_send(&client.service_provider_config());
        assert_send(&client.users().list().into_stream());
        assert_send(&client.groups().list().into_stream());
        fn assert_shareable<T: Send + Sync + 'static>() {}
        assert_shareable::<Client>();
        assert_shareable::<Error>();
    }
}
