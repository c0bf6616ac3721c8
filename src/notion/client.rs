//! The SCIM client: configuration and the typed calls' common helpers.
//!
//! [`Client`] is cheap to clone (an `Arc` inside) and shares one `reqwest::Client`, so clones reuse
//! connections. Every request — list, get, the validation call, writes — goes through the
//! private `execute`, which hands it to the transport (private module `transport`) shared with the
//! Admin API client. For SCIM that means:
//!
//! 1. counting the request under its endpoint template (`GET /Users/{id}`),
//! 2. joining the path under the base URL's prefix and percent-encoding the query,
//! 3. sending `Authorization: Bearer …` (a header value marked sensitive, built once),
//!    `Accept: application/scim+json, application/json`, and for bodies
//!    `Content-Type: application/scim+json`, under the configured per-request timeout,
//! 4. reading the body incrementally under a cap ([`ClientConfig::max_response_bytes`], default
//!    [`DEFAULT_MAX_RESPONSE_BYTES`]): a `Content-Length` over it is refused before anything is
//!    read, and reading stops as soon as the running total passes it ([`Error::TooLarge`]);
//!    error bodies are read only up to their first MiB, which is all a message needs,
//! 5. logging method, endpoint, status and elapsed time at `debug` (never headers), and
//! 6. turning a non-2xx answer into [`Error::Scim`] (with `Retry-After`; the server's text
//!    scrubbed of the token), a timeout into [`Error::Timeout`], and any other failure into
//!    [`Error::Transport`].
//!
//! A whole call — every attempt, the limiter's queue and the waits between retries — runs under
//! one overall deadline ([`ClientConfig::request_deadline`], default
//! [`DEFAULT_REQUEST_DEADLINE`]), so the per-request timeout times the retries cannot hold a
//! sync for half an hour: a retry whose wait would pass the deadline is not made, and an attempt
//! still running when it passes is dropped ([`Error::Deadline`]).
//!
//! Around each attempt the transport applies the client's pacing ([`super::pacing`]: the
//! adaptive rate and in-flight limit, told how each attempt ended) and the one retry policy
//! ([`super::retry`]: which failures repeat, how long to wait, when to give up). The request
//! counters count real HTTP attempts; [`Client::retries`] counts the repeats among them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;

use super::base_url::BaseUrl;
use super::error::Error;
use super::groups::Groups;
use super::models::{ListResponse, PageShape, decode_page};
use super::pacing::{LimitConfig, PacingStats};
use super::request::Template;
pub(crate) use super::request::{Call, Endpoint};
use super::retry::RetryConfig;
pub(crate) use super::stream::stream_resources;
use super::transport::{TokenProblem, Transport, TransportConfig, bearer};
use super::users::Users;
use crate::secret::Secret;

/// Notion's SCIM base URL (the tenant URL Notion and Entra give).
pub const DEFAULT_BASE_URL: &str = "https://www.notion.so/scim/v2";

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Default cap on one response body: 32 MiB, about 30 times a full page of 100 users.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Default overall deadline of one call, all attempts and waits included.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(600);

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
    inner: Arc<Transport>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base().as_str())
            .field("timeout", &self.inner.timeout())
            .field("user_agent", &self.inner.user_agent)
            .field("retry", self.inner.retry())
            .field("max_response_bytes", &self.inner.max_response_bytes())
            .field("request_deadline", &self.inner.request_deadline())
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
        let (authorization, token) = bearer(&cfg.token).map_err(|problem| match problem {
            TokenProblem::Blank => Error::MissingToken,
            TokenProblem::Malformed(reason) => Error::InvalidToken { reason },
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_SCIM));
        let transport = Transport::new(TransportConfig {
            api: "SCIM",
            base,
            authorization,
            token,
            headers,
            content_type: CONTENT_TYPE_SCIM,
            timeout: cfg.timeout,
            user_agent: cfg.user_agent,
            retry: cfg.retry,
            limits: cfg.limits,
            max_response_bytes: cfg.max_response_bytes,
            request_deadline: cfg.request_deadline,
            endpoints: Endpoint::ALL.len(),
        })?;
        Ok(Client {
            inner: Arc::new(transport),
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
                let n = self.inner.count(*e as usize);
                (e.template().to_owned(), n)
            })
            .collect()
    }

    /// Attempts so far that repeated a failed one (also counted in
    /// [`request_counts`](Self::request_counts)). Shared by clones.
    pub fn retries(&self) -> u64 {
        self.inner.retries()
    }

    /// The current request rate in requests per second (adaptive, or the pinned rate, lower
    /// while recovering from 429s).
    pub fn current_rate(&self) -> f64 {
        self.inner.current_rate()
    }

    /// What pacing did so far: 429s, pauses, the current and highest rate. Shared by clones.
    pub fn pacing(&self) -> PacingStats {
        self.inner.pacing()
    }

    /// How many requests may be in flight at once (`LimitConfig::max_concurrency`).
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        self.inner.base()
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout()
    }

    /// The overall deadline of one call, retries included.
    pub fn request_deadline(&self) -> Duration {
        self.inner.request_deadline()
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes()
    }

    /// Sends one request through the shared [`Transport`] (retries, pacing, deadline, size
    /// cap; see the module docs) and returns the status and body of a 2xx answer.
    pub(crate) async fn execute(&self, call: &Call) -> Result<(StatusCode, Vec<u8>), Error> {
        self.inner.execute(call).await
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

    /// A parse result, or an error that explains which request's body did not parse.
    fn decode<T>(
        &self,
        call: &Call,
        parsed: Result<T, serde_json::Error>,
        body: &[u8],
    ) -> Result<T, Error> {
        self.inner.decode(call, parsed, body)
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
