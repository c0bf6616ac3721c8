//! Service mode: the connector as a long-lived daemon that ConductorOne drives
//! (`c1.connectorapi.baton.v1.BatonService`), as the Go SDK runs it with `--client-id` and
//! `--client-secret`.
//!
//! # What it does
//!
//! 1. Parses the client credentials ([`credentials`]) — before any I/O, so a malformed secret is
//!    a one-line startup error.
//! 2. Obtains an access token ([`token`]); ConductorOne refusing the credentials at this point
//!    is fatal ([`ServiceError::Token`]), anything transient is retried.
//! 3. Says `Hello` (host id, build and OS info, the connector's metadata) until it succeeds;
//!    only then does [`ServiceConfig::ready`] turn true (the health check's readiness).
//! 4. Polls `GetTask`, waiting `next_poll` between polls, and runs each task it gets on its own
//!    Tokio task, at most [`ServiceConfig::task_concurrency`] at once (a semaphore: no poll
//!    happens while all slots are busy). A running task sends `Heartbeat`s every
//!    `next_heartbeat`; a heartbeat answered `cancelled` cancels the task. Every task ends with
//!    `FinishTask`: success with the response packed in an `Any`, or an error with a
//!    `google.rpc.Status` and whether retrying makes sense. The private `tasks` module documents each task type.
//!
//! # Robustness
//!
//! Every call to ConductorOne (token endpoint included) that fails transiently — unreachable,
//! 5xx, `UNAVAILABLE`, a dropped stream — is retried with capped, jittered exponential backoff
//! and logged; the daemon never exits because ConductorOne is away. A task that fails is
//! reported and the daemon goes on. When `shutdown` fires (SIGINT/SIGTERM), polling stops,
//! running tasks are cancelled and finish as retryable errors, and [`run`] returns once they
//! are done or [`ServiceConfig::shutdown_grace`] has passed.
//!
//! # Boundaries
//!
//! This module knows nothing of any particular connector: it drives a
//! [`ConnectorClient`] through the same code paths as the one-shot and gRPC modes
//! ([`crate::baton::sync::sync_to_file`] and the provisioning calls). Tokens and secrets never
//! reach a log line or an error message.

mod actions;
pub mod credentials;
mod tasks;
pub mod token;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tracing::{debug, error, info, warn};

use super::client::ConnectorClient;
use crate::pb::c1::connectorapi::baton::v1 as api;
use api::baton_service_client::BatonServiceClient;
pub use credentials::{ClientId, CredentialError, SigningKey};
pub use token::{TokenError, TokenSource};

/// Poll interval when ConductorOne does not say (`next_poll` absent or zero).
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// Heartbeat interval when ConductorOne does not say.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// Shortest poll or heartbeat interval honoured, so a bad answer cannot make us spin.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Longest poll or heartbeat interval honoured, so a bad answer cannot put us to sleep.
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);
/// First retry delay after a failed call to ConductorOne (doubled per failure, jittered).
const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Time limit of each unary call (Hello, GetTask, Heartbeat, FinishTask).
const UNARY_TIMEOUT: Duration = Duration::from_secs(30);
/// Time limit of a TCP + TLS connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit of a token request.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest message accepted from or sent to ConductorOne.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Everything the daemon needs, validated (no I/O has happened yet).
#[derive(Debug)]
pub struct ServiceConfig {
    /// Who we are; its tenant host is where ConductorOne is reached by default.
    pub client_id: ClientId,
    /// Signs the client assertions.
    pub key: SigningKey,
    /// `host[:port]` to reach instead of the tenant host (`BATON_C1_API_HOST`), for tests and
    /// private deployments. The assertion's audience stays the tenant host.
    pub api_host: Option<String>,
    /// An extra PEM CA certificate trusted for ConductorOne, besides the platform's roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// This host's id in `Hello`, `GetTask`, … (`BATON_HOST_ID`, else the host name).
    pub host_id: String,
    /// Accept provisioning tasks (grant, revoke, create account, delete resource).
    pub provisioning: bool,
    /// Most tasks running at once (at least 1).
    pub task_concurrency: usize,
    /// The connector's package name, for `Hello`'s build info and the HTTP user agent.
    pub package: String,
    /// The connector's version, likewise.
    pub version: String,
    /// Set once `Hello` has succeeded; shared with the health checks.
    pub ready: Arc<AtomicBool>,
    /// After shutdown starts, how long running tasks get to finish before [`run`] returns.
    pub shutdown_grace: Duration,
}

/// Why the daemon could not start. Once it runs, nothing ConductorOne does ends it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// `BATON_C1_API_HOST` (or the tenant host) is not a usable `host[:port]`.
    #[error("invalid ConductorOne API host {host:?}: {reason}")]
    ApiHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The extra CA certificate is not PEM.
    #[error("the ConductorOne CA certificate is not a usable PEM certificate: {detail}")]
    CaCert {
        /// The parser's complaint.
        detail: String,
    },
    /// The HTTP client for the token endpoint could not be built.
    #[error("setting up the HTTP client for ConductorOne")]
    Http(#[source] reqwest::Error),
    /// The gRPC channel could not be configured.
    #[error("setting up the gRPC channel to {url}")]
    Channel {
        /// The endpoint.
        url: String,
        /// tonic's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The token endpoint refused the credentials at startup.
    #[error(transparent)]
    Token(TokenError),
}

/// Where ConductorOne is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoints {
    /// `https://<host[:port]>/auth/v1/token`.
    token_url: String,
    /// `https://<host[:port]>` for gRPC.
    grpc_url: String,
    /// The TLS server name to expect.
    domain: String,
}

impl Endpoints {
    fn new(host: &str) -> Result<Endpoints, ServiceError> {
        let bad = |reason: &str| ServiceError::ApiHost {
            host: host.to_owned(),
            reason: reason.to_owned(),
        };
        if host.is_empty() {
            return Err(bad("it is empty"));
        }
        if host.contains("://") || host.contains('/') {
            return Err(bad("give host[:port] only, without a scheme or path"));
        }
        let url = url::Url::parse(&format!("https://{host}"))
            .map_err(|e| bad(&format!("not a host[:port] ({e})")))?;
        let domain = url
            .host_str()
            .ok_or_else(|| bad("it names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Endpoints {
            token_url: format!("https://{host}/auth/v1/token"),
            grpc_url: format!("https://{host}"),
            domain,
        })
    }
}

/// A failed call to ConductorOne.
#[derive(Debug, thiserror::Error)]
enum CallError {
    /// No token could be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The RPC failed.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// Something on our side (reading the artifact, …).
    #[error("{0}")]
    Local(String),
}

impl CallError {
    /// Worth retrying: transport trouble, overload, a dropped stream, an expired token.
    fn is_transient(&self) -> bool {
        use tonic::Code as C;
        match self {
            CallError::Token(t) => t.is_transient(),
            CallError::Status(s) => matches!(
                s.code(),
                C::Unavailable
                    | C::DeadlineExceeded
                    | C::ResourceExhausted
                    | C::Aborted
                    | C::Unknown
                    | C::Internal
                    | C::Cancelled
                    | C::Unauthenticated
            ),
            CallError::Local(_) => false,
        }
    }
}

/// How long a retrying call may keep trying.
#[derive(Clone)]
struct Until {
    /// Stop retrying when this fires.
    cancel: CancellationToken,
    /// Stop retrying after this instant.
    deadline: Option<Instant>,
    /// Stop after this many attempts.
    max_attempts: Option<u32>,
    /// Retry errors that are not transient too (Hello must get through eventually).
    everything: bool,
}

impl Until {
    /// Until `cancel` fires, transient errors only.
    fn cancelled(cancel: &CancellationToken) -> Until {
        Until {
            cancel: cancel.clone(),
            deadline: None,
            max_attempts: None,
            everything: false,
        }
    }
}

/// Capped, jittered exponential delays between retries, forever.
fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(BACKOFF_MIN)
        .with_max_delay(BACKOFF_MAX)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

/// `d` from ConductorOne, clamped to sane bounds; `default` when absent or zero.
fn interval(d: Option<&prost_types::Duration>, default: Duration) -> Duration {
    match d.and_then(|d| Duration::try_from(*d).ok()) {
        Some(d) if !d.is_zero() => d.clamp(MIN_INTERVAL, MAX_INTERVAL),
        _ => default,
    }
}

/// The daemon's shared state.
struct Daemon {
    /// The connector, as the other modes drive it.
    client: Arc<dyn ConnectorClient>,
    /// Access tokens.
    tokens: TokenSource,
    /// `BatonService` over one TLS channel (cheap to clone).
    grpc: BatonServiceClient<Channel>,
    /// Our host id.
    host_id: String,
    /// Whether provisioning tasks are accepted.
    provisioning: bool,
    /// Fired on SIGINT/SIGTERM; every task's token is a child of it.
    shutdown: CancellationToken,
    /// The connector's package name and version, for `Hello`.
    package: String,
    /// See `package`.
    version: String,
}

/// Runs the daemon until `shutdown` fires. Returns an error only when it cannot start
/// (unusable settings, or credentials refused by ConductorOne).
pub async fn run(
    config: ServiceConfig,
    client: Arc<dyn ConnectorClient>,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let host = config
        .api_host
        .clone()
        .unwrap_or_else(|| config.client_id.tenant_host().to_owned());
    let endpoints = Endpoints::new(&host)?;
    let http = http_client(&config)?;
    let channel = grpc_endpoint(&config, &endpoints)?
        // Lazy: an unreachable ConductorOne is retried per call, not a startup failure.
        .connect_lazy();
    let grpc = BatonServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let daemon = Arc::new(Daemon {
        client,
        tokens: TokenSource::new(
            http,
            endpoints.token_url.clone(),
            config.client_id.clone(),
            config.key,
        ),
        grpc,
        host_id: config.host_id.clone(),
        provisioning: config.provisioning,
        shutdown: shutdown.clone(),
        package: config.package.clone(),
        version: config.version.clone(),
    });
    info!(
        host = %host,
        host_id = %config.host_id,
        client_id = %config.client_id.as_str(),
        provisioning = config.provisioning,
        task_concurrency = config.task_concurrency,
        "starting service mode"
    );

    // Credentials first: a refusal now means they are wrong, and saying so beats retrying.
    let first = daemon
        .retrying("token", Until::cancelled(&shutdown), || async {
            daemon.tokens.get().await.map_err(CallError::from)
        })
        .await;
    match first {
        Ok(_) => {}
        Err(CallError::Token(e)) if !e.is_transient() => return Err(ServiceError::Token(e)),
        Err(_) => return Ok(()), // shutdown while waiting
    }

    if !daemon.hello("", &shutdown).await {
        return Ok(());
    }
    config.ready.store(true, Ordering::Relaxed);
    info!("ConductorOne acknowledged Hello; polling for tasks");

    let slots = Arc::new(Semaphore::new(config.task_concurrency.max(1)));
    let tracker = TaskTracker::new();
    let mut failures = backoff();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let answer = tokio::select! {
            r = daemon.get_task() => r,
            () = shutdown.cancelled() => break,
        };
        let wait = match answer {
            Ok(answer) => {
                failures = backoff();
                let wait = interval(answer.next_poll.as_ref(), DEFAULT_POLL);
                let heartbeat = interval(answer.next_heartbeat.as_ref(), DEFAULT_HEARTBEAT);
                match answer.task {
                    Some(task) if tasks::is_work(&task) => {
                        let daemon = daemon.clone();
                        tracker.spawn(async move {
                            let _permit = permit;
                            daemon.run_task(task, heartbeat).await;
                        });
                    }
                    _ => debug!(next_poll_ms = wait.as_millis() as u64, "no task"),
                }
                wait
            }
            Err(e) => {
                let delay = failures.next().unwrap_or(BACKOFF_MAX);
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "GetTask failed");
                daemon.forget_token_if_refused(&e).await;
                delay
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => break,
        }
    }

    tracker.close();
    if !tracker.is_empty() {
        info!(
            running = tracker.len(),
            grace_s = config.shutdown_grace.as_secs(),
            "stopping: cancelling running tasks"
        );
    }
    if tokio::time::timeout(config.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        warn!("tasks still running after the shutdown grace period were abandoned");
    }
    info!("service mode stopped");
    Ok(())
}

impl Daemon {
    /// Drops the cached token when ConductorOne refused it (expired or revoked early), so the
    /// next call fetches a new one.
    async fn forget_token_if_refused(&self, err: &CallError) {
        if matches!(err, CallError::Status(s) if s.code() == tonic::Code::Unauthenticated) {
            self.tokens.invalidate().await;
        }
    }

    /// `message` as a request carrying the bearer token (fetched or refreshed as needed).
    async fn authorized<T>(&self, message: T) -> Result<Request<T>, CallError> {
        let token = self.tokens.get().await?;
        let mut value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
            CallError::Token(TokenError::Malformed {
                url: "token endpoint".into(),
                detail: "the access token cannot be sent as a header".into(),
            })
        })?;
        value.set_sensitive(true);
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// Runs `call` until it succeeds, fails for good, or `until` says stop; logs each retry.
    async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        until: Until,
        mut call: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut delays = backoff();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            self.forget_token_if_refused(&err).await;
            let delay = delays.next().unwrap_or(BACKOFF_MAX);
            let out_of_time = until.deadline.is_some_and(|d| Instant::now() + delay > d);
            let out_of_attempts = until.max_attempts.is_some_and(|m| attempts >= m);
            if !(err.is_transient() || until.everything)
                || out_of_time
                || out_of_attempts
                || until.cancel.is_cancelled()
            {
                return Err(err);
            }
            warn!(call = what, attempt = attempts, error = %err,
                  retry_in_ms = delay.as_millis() as u64, "call to ConductorOne failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = until.cancel.cancelled() => return Err(err),
            }
        }
    }

    /// Says `Hello` (for `task_id`, empty at startup) until ConductorOne answers; false when
    /// `stop` fired first.
    async fn hello(&self, task_id: &str, stop: &CancellationToken) -> bool {
        let metadata = loop {
            match self.client.get_metadata().await {
                Ok(m) => break m,
                Err(e) => {
                    error!(error = %e, "the connector's metadata is unavailable; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(BACKOFF_MAX) => {}
                        () = stop.cancelled() => return false,
                    }
                }
            }
        };
        let request = api::BatonServiceHelloRequest {
            host_id: self.host_id.clone(),
            task_id: task_id.to_owned(),
            build_info: Some(api::baton_service_hello_request::BuildInfo {
                lang_version: "rust".into(),
                package: self.package.clone(),
                package_version: self.version.clone(),
            }),
            os_info: Some(os_info()),
            connector_metadata: Some(metadata),
            annotations: vec![],
        };
        let until = Until {
            everything: true,
            ..Until::cancelled(stop)
        };
        let result = self
            .retrying("Hello", until, || async {
                let mut req = self.authorized(request.clone()).await?;
                req.set_timeout(UNARY_TIMEOUT);
                Ok(self.grpc.clone().hello(req).await?)
            })
            .await;
        result.is_ok()
    }

    /// One `GetTask` (retries are the poll loop's business).
    async fn get_task(&self) -> Result<api::BatonServiceGetTaskResponse, CallError> {
        let mut req = self
            .authorized(api::BatonServiceGetTaskRequest {
                host_id: self.host_id.clone(),
            })
            .await?;
        req.set_timeout(UNARY_TIMEOUT);
        Ok(self.grpc.clone().get_task(req).await?.into_inner())
    }
}

/// The HTTP client for the token endpoint: the platform's roots plus the optional extra CA.
fn http_client(config: &ServiceConfig) -> Result<reqwest::Client, ServiceError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: some provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut http = reqwest::Client::builder()
        .user_agent(format!("{}/{}", config.package, config.version))
        .timeout(TOKEN_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        // The token endpoint does not redirect; following one could send the assertion elsewhere.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &config.extra_ca_pem {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|e| ServiceError::CaCert {
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(ServiceError::CaCert {
                detail: "no certificate found".into(),
            });
        }
        http = http.tls_certs_merge(certs);
    }
    http.build().map_err(ServiceError::Http)
}

/// The gRPC endpoint of `BatonService` over TLS: the platform's roots plus the optional extra
/// CA (the extra CA alone when the platform has no CA bundle, as in minimal containers).
fn grpc_endpoint(config: &ServiceConfig, endpoints: &Endpoints) -> Result<Endpoint, ServiceError> {
    let channel_error = |source| ServiceError::Channel {
        url: endpoints.grpc_url.clone(),
        source,
    };
    let base = ClientTlsConfig::new().domain_name(endpoints.domain.clone());
    let with_extra_ca = |tls: ClientTlsConfig| match &config.extra_ca_pem {
        Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
        None => tls,
    };
    let endpoint = Endpoint::from_shared(endpoints.grpc_url.clone()).map_err(channel_error)?;
    let endpoint = match endpoint
        .clone()
        .tls_config(with_extra_ca(base.clone().with_native_roots()))
    {
        Ok(endpoint) => endpoint,
        Err(e) if config.extra_ca_pem.is_some() => {
            debug!(error = %e, "no usable platform roots; trusting only the extra CA");
            endpoint
                .tls_config(with_extra_ca(base))
                .map_err(channel_error)?
        }
        Err(e) => return Err(channel_error(e)),
    };
    endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(format!("{}/{}", config.package, config.version))
        .map_err(channel_error)
}

/// This host's name, for the default host id and `Hello`'s OS info.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its whole length; gethostname writes at most that
        // many bytes and we read only up to the first NUL within it.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown-host".into())
}

/// What `Hello` says about the machine.
fn os_info() -> api::baton_service_hello_request::OsInfo {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    api::baton_service_hello_request::OsInfo {
        hostname: hostname(),
        os: std::env::consts::OS.into(),
        platform: std::env::consts::OS.into(),
        platform_family: std::env::consts::FAMILY.into(),
        kernel_version: kernel,
        kernel_arch: std::env::consts::ARCH.into(),
        ..Default::default()
    }
}

/// An error and its causes on one line (reqwest and the SQLite store keep the interesting part
/// in `source`).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_host() {
        let e = Endpoints::new("acme.conductor.one").expect("valid");
        assert_eq!(e.token_url, "https://acme.conductor.one/auth/v1/token");
        assert_eq!(e.grpc_url, "https://acme.conductor.one");
        assert_eq!(e.domain, "acme.conductor.one");
        let e = Endpoints::new("localhost:8443").expect("valid");
        assert_eq!(e.token_url, "https://localhost:8443/auth/v1/token");
        assert_eq!(e.domain, "localhost");
        for bad in ["", "https://x", "x/y", "x:notaport"] {
            assert!(Endpoints::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intervals_are_clamped() {
        let d = |s: i64, n: i32| prost_types::Duration {
            seconds: s,
            nanos: n,
        };
        assert_eq!(interval(None, DEFAULT_POLL), DEFAULT_POLL);
        assert_eq!(interval(Some(&d(0, 0)), DEFAULT_POLL), DEFAULT_POLL);
        assert_eq!(interval(Some(&d(-5, 0)), DEFAULT_POLL), DEFAULT_POLL);
        assert_eq!(interval(Some(&d(0, 1_000)), DEFAULT_POLL), MIN_INTERVAL);
        assert_eq!(interval(Some(&d(86_400, 0)), DEFAULT_POLL), MAX_INTERVAL);
        assert_eq!(
            interval(Some(&d(2, 0)), DEFAULT_POLL),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn transient_failures_are_retried_and_refusals_are_not() {
        assert!(CallError::Status(tonic::Status::unavailable("down")).is_transient());
        assert!(CallError::Status(tonic::Status::unauthenticated("expired")).is_transient());
        assert!(!CallError::Status(tonic::Status::invalid_argument("bad")).is_transient());
        assert!(!CallError::Local("disk".into()).is_transient());
    }
}
