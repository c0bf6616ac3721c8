//! Running a simulator: binding, the front door every request passes, fault injection, shutdown.
//!
//! # Request path
//! ```text
//! SimListener (TCP_NODELAY, one kill switch per connection)
//!   └─ axum::serve ── Router built from handlers::endpoints() + named 404 fallback
//!        └─ front_door: number → draw fault → rate limits (token bucket, in-flight cap)
//!                       → latency (+ jitter) → die_after_requests? / drop?
//!                       → bearer auth → limit 429? → 429 / 5xx? → handler
//!                       → lose response? / truncate? → record
//! ```
//! [`front_door`] wraps every route and the fallback, so every request — matched or not,
//! authorized or not — is counted exactly once under its endpoint key.
//!
//! # Dropping connections without a response
//! `die_after_requests` must look like a server that died: no status line, just a closed
//! connection. axum has no "drop this connection" response, so each accepted socket is wrapped in
//! a [`KillableStream`] whose kill switch (a [`CancellationToken`]) reaches the handler through
//! axum's `ConnectInfo`. A doomed request flips its connection's switch and returns a placeholder
//! response; hyper's attempt to write it fails, and the connection is closed with nothing sent.
//! The handler never runs for such a request, so future write endpoints will not mutate state for
//! requests the client never sees answered.
//!
//! # Shutdown (decide, tell, wait)
//! One [`CancellationToken`] per simulator. [`SimHandle::shutdown`] (or dropping the handle)
//! cancels it; axum's graceful shutdown stops accepting, lets in-flight requests finish (latency
//! sleeps are cut short by the same token) and closes idle keep-alive connections;
//! `shutdown` then waits for the serving task, giving up after [`SHUTDOWN_GRACE`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::admin::{self, ADMIN_PREFIX, AdminRoute, Family, Organization};
use super::config::SimConfig;
use super::counters::{Counters, RecordedRequest, UNMATCHED};
use super::dataset::{Dataset, SimUser};
use super::faults::{self, Fault, Faults};
use super::handlers::{self, SCIM_PREFIX};
use super::listener::{Connection, SimListener};
use super::ratelimit::{Admission, RateLimits};
use super::store::Store;

/// How long [`SimHandle::shutdown`] waits for in-flight requests before abandoning them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Entry point: starts simulators. See [`Simulator::start`].
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Binds `127.0.0.1:<port>` (`0` = an ephemeral port) and serves `dataset` with `config` in a
    /// background task until the returned handle is shut down or dropped.
    ///
    /// Must be called inside a Tokio runtime (multi-threaded or current-thread).
    pub async fn start(dataset: Dataset, config: SimConfig, port: u16) -> io::Result<SimHandle> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        Self::start_on(listener, dataset, config).await
    }

    /// Like [`Simulator::start`], on a listener the caller bound (any address, e.g. for the demo).
    pub async fn start_on(
        listener: TcpListener,
        dataset: Dataset,
        mut config: SimConfig,
    ) -> io::Result<SimHandle> {
        let addr = listener.local_addr()?;
        let base_url = format!("http://{}{SCIM_PREFIX}", reachable(addr));
        let admin_base_url = format!("http://{}{ADMIN_PREFIX}", reachable(addr));
        let shutdown = CancellationToken::new();
        let endpoints = handlers::endpoints();
        let organization = config.organization.take();
        let admin_endpoints = if organization.is_some() {
            admin::endpoints()
        } else {
            Vec::new()
        };
        let limits = RateLimits::new(&config);
        let shared = Arc::new(Shared {
            store: RwLock::new(Store::with_org(dataset, organization)),
            admin_routes: admin_endpoints.iter().map(|(r, _)| r.clone()).collect(),
            omit_role_for: config.omit_role_for.iter().cloned().collect(),
            config,
            base_url: base_url.clone(),
            counters: Counters::default(),
            known_endpoints: endpoints
                .iter()
                .map(|e| (e.method.clone(), e.template))
                .collect(),
            shutdown: shutdown.clone(),
            faults: Faults::default(),
            limits,
            started: Instant::now(),
        });

        let mut router = Router::new();
        for endpoint in endpoints {
            router = router.route(
                &format!("{SCIM_PREFIX}{}", endpoint.template),
                endpoint.handler,
            );
        }
        for (route, handler) in admin_endpoints {
            router = router.route(route.template, handler);
        }
        let app = router
            .fallback(handlers::unmatched)
            .method_not_allowed_fallback(handlers::unmatched)
            .layer(middleware::from_fn_with_state(shared.clone(), front_door))
            .with_state(shared.clone());

        let serve = axum::serve(
            SimListener { inner: listener },
            app.into_make_service_with_connect_info::<Connection>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let task = tokio::spawn(async move {
            if let Err(error) = serve.await {
                warn!(%error, "simulator stopped with an error");
            }
            debug!(%addr, "simulator stopped");
        });
        debug!(%addr, "simulator listening");

        Ok(SimHandle {
            addr,
            base_url,
            admin_base_url,
            shared,
            shutdown,
            task: Some(task),
        })
    }
}

/// The address clients should use: an unspecified bind address becomes loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// A running simulator. Dropping it starts a graceful shutdown in the background; call
/// [`SimHandle::shutdown`] to wait for it.
pub struct SimHandle {
    /// Where the simulator listens.
    addr: SocketAddr,
    /// `http://<addr>/scim/v2`.
    base_url: String,
    /// `http://<addr>/admin`.
    admin_base_url: String,
    /// State shared with the handlers.
    shared: Arc<Shared>,
    /// Cancelled to stop the server.
    shutdown: CancellationToken,
    /// The serving task; taken by `shutdown`.
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .field("total_requests", &self.total_requests())
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The socket address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SCIM base URL for clients: `http://127.0.0.1:PORT/scim/v2` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Admin API base URL for clients: `http://127.0.0.1:PORT/admin` (clients append `/v1/…`,
    /// as with Notion's `https://api.notion.com/admin`). Served only with an organization.
    pub fn admin_base_url(&self) -> String {
        self.admin_base_url.clone()
    }

    /// A snapshot of the organization as currently served (Admin writes applied), if any.
    /// Its SCIM workspace's persons and groups are in [`state`](Self::state).
    pub fn organization(&self) -> Option<Organization> {
        self.shared.read_store().org().cloned()
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Requests per endpoint template (`"GET /Users"`, `"GET /Users/{id}"`, …); requests that
    /// matched no route are under `"UNMATCHED"`. Endpoints never called are absent.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.shared.counters.by_endpoint()
    }

    /// Every request that has reached the server, including rejected and dropped ones.
    pub fn total_requests(&self) -> u64 {
        self.shared.counters.total()
    }

    /// The most recent requests (at most 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.counters.recent()
    }

    /// Requests answered 429 by the enforced limits (`rate_limit`, `rate_limit_concurrency`;
    /// injected 429 faults are not counted here).
    pub fn rate_limited(&self) -> u64 {
        self.shared.limits.rejected()
    }

    /// The most requests the simulator has handled at once (since the last
    /// [`reset_counters`](Self::reset_counters)).
    pub fn peak_in_flight(&self) -> u64 {
        self.shared.counters.peak_in_flight()
    }

    /// Clears [`counters`](Self::counters) and [`requests`](Self::requests) (e.g. between
    /// benchmark phases). [`total_requests`](Self::total_requests) keeps counting.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// A snapshot of the workspace as currently served.
    pub fn state(&self) -> Dataset {
        self.shared.read_store().snapshot()
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server task
    /// (at most [`SHUTDOWN_GRACE`]).
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            warn!(addr = %self.addr, "simulator did not stop in time; abandoning it");
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// State every handler shares (behind an `Arc`).
pub(crate) struct Shared {
    /// The workspace; read endpoints take the read lock, write endpoints the write lock.
    store: RwLock<Store>,
    /// Behaviour knobs.
    pub(crate) config: SimConfig,
    /// `config.omit_role_for` as a set.
    omit_role_for: HashSet<String>,
    /// `http://<addr>/scim/v2`, for `$ref` and `meta.location`.
    pub(crate) base_url: String,
    /// Request accounting.
    counters: Counters,
    /// Method and template of every [`handlers::endpoints`] row, for counter keys.
    known_endpoints: Vec<(Method, &'static str)>,
    /// Every Admin endpoint (empty without an organization), for counter keys and the gate.
    admin_routes: Vec<AdminRoute>,
    /// Cancelled when the simulator shuts down.
    shutdown: CancellationToken,
    /// Fault-injection state.
    pub(crate) faults: Faults,
    /// Enforced rate limits.
    limits: RateLimits,
    /// When the simulator started: the zero of [`RecordedRequest::at`].
    started: Instant,
}

impl Shared {
    /// Whether the configuration refuses `filter`'s attribute (`refuse_user_filters`).
    pub(crate) fn refuses_user_filter(&self, filter: &super::filter::UserFilter) -> bool {
        self.config
            .refuse_user_filters
            .iter()
            .any(|a| a.eq_ignore_ascii_case(filter.attribute()))
    }

    /// The store for reading (survives a poisoned lock: state is only replaced wholesale).
    pub(crate) fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store for writing (for write endpoints).
    pub(crate) fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `user`'s role extension is served (not listed in `omit_role_for`).
    pub(crate) fn serves_role_of(&self, user: &SimUser) -> bool {
        self.omit_role_for.is_empty() || !self.omit_role_for.contains(&user.id)
    }

    /// Counter key of a request: `"GET /Users/{id}"` if it hits an endpoint, else `UNMATCHED`.
    ///
    /// axum's `MatchedPath` needs a feature this crate does not enable, so the (literal or
    /// single-segment `{param}`) templates are matched here; `endpoint_templates_agree_with_axum`
    /// in `tests/sim.rs` keeps this in step with the router.
    fn endpoint_of(&self, method: &Method, path: &str) -> (String, Api) {
        if path == ADMIN_PREFIX || path.starts_with("/admin/") {
            return match self
                .admin_routes
                .iter()
                .find(|r| r.method == method && handlers::template_matches(r.template, path))
            {
                Some(route) => (
                    handlers::endpoint_key(method, route.template),
                    Api::Admin(Some(route.clone())),
                ),
                None => (UNMATCHED.to_owned(), Api::Admin(None)),
            };
        }
        let key = path
            .strip_prefix(SCIM_PREFIX)
            .and_then(|rest| {
                self.known_endpoints
                    .iter()
                    .find(|(m, template)| m == method && handlers::template_matches(template, rest))
            })
            .map(|(m, template)| handlers::endpoint_key(m, template))
            .unwrap_or_else(|| UNMATCHED.to_owned());
        (key, Api::Scim)
    }
}

/// Which API a request is for, and for the Admin API which endpoint (`None`: unmatched).
#[derive(Debug, Clone)]
enum Api {
    /// `/scim/v2/…` and anything outside `/admin`.
    Scim,
    /// `/admin/…`.
    Admin(Option<AdminRoute>),
}

impl Api {
    /// An error response in this API's shape (SCIM envelope, or the endpoint's Admin family;
    /// unmatched Admin paths use family A).
    fn error(&self, status: StatusCode, message: &str) -> Response {
        match self {
            Api::Scim => handlers::scim_error(status, None, message),
            Api::Admin(route) => admin::error_response(
                route.as_ref().map_or(Family::A, |r| r.family),
                status,
                message,
            ),
        }
    }
}

/// Middleware around every route and the fallback: numbering, latency, `die_after_requests`,
/// bearer auth, injected faults, accounting and a debug log line.
async fn front_door(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = started.duration_since(shared.started);
    let sequence = shared.counters.arrive();
    let _in_flight = shared.counters.enter();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let (endpoint, api) = shared.endpoint_of(&method, &path);
    let (fault, seed) = if endpoint == UNMATCHED {
        (Fault::None, 0)
    } else {
        shared
            .faults
            .draw(&shared.config, method.as_str(), &path, query.as_deref())
    };

    // The SCIM token for SCIM paths; an organization bot token (with scopes) for `/admin`.
    let mut admin_token = None;
    let authorized = match &api {
        Api::Scim => check_bearer(request.headers(), &shared.config.token),
        Api::Admin(_) => admin::check_token(request.headers(), &shared.config.admin_tokens)
            .map(|token| admin_token = Some(token)),
    };
    // Version header and scope, for matched Admin endpoints with a valid token.
    let gate = match (&api, admin_token) {
        (Api::Admin(Some(route)), Some(token)) => admin::gate(request.headers(), token, route),
        _ => None,
    };
    // Limits are checked on arrival, per token; an unauthorized request spends nothing.
    let admission = match (&authorized, request.headers().get(header::AUTHORIZATION)) {
        (Ok(()), Some(credentials)) if endpoint != UNMATCHED => {
            let credentials = credentials.to_str().unwrap_or_default();
            shared
                .limits
                .admit(&shared.config, credentials, Instant::now())
                .await
        }
        _ => Admission::Admitted(None),
    };

    let latency = shared.config.latency + faults::jitter(shared.config.latency_jitter, seed);
    if !latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            () = shared.shutdown.cancelled() => {}
        }
    }

    let doomed = shared
        .config
        .die_after_requests
        .is_some_and(|limit| sequence > limit);
    let kill = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|ConnectInfo(connection)| connection.kill.clone());
    let (response, status) = if doomed || (authorized.is_ok() && fault == Fault::Drop) {
        kill_connection(kill.as_ref())
    } else if let Err(detail) = authorized {
        let mut response = api.error(StatusCode::UNAUTHORIZED, detail);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        (response, 401)
    } else if let Some(response) = gate {
        let status = response.status().as_u16();
        (response, status)
    } else if let Admission::Rejected(retry_after) = admission {
        let mut response = api.error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded for this token: slow down",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        (response, 429)
    } else {
        match fault {
            Fault::RateLimit => {
                let mut response = api.error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "simulated rate limit: slow down",
                );
                let retry_after = HeaderValue::from(shared.config.retry_after_secs);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry_after);
                (response, 429)
            }
            Fault::ServerError(code) => {
                let code = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let response = api.error(code, "simulated server error");
                (response, code.as_u16())
            }
            Fault::Malformed => {
                let response = malformed(next.run(request).await).await;
                let status = response.status().as_u16();
                (response, status)
            }
            Fault::SlowBody => {
                let response =
                    slow_body(next.run(request).await, shared.config.slow_body_delay).await;
                let status = response.status().as_u16();
                (response, status)
            }
            Fault::LoseResponse => {
                let handled = next.run(request).await;
                let status = handled.status().as_u16();
                debug!(status, "simulator dropping a handled request's response");
                kill_connection(kill.as_ref())
            }
            Fault::None | Fault::Drop => {
                let response = next.run(request).await;
                let status = response.status().as_u16();
                (response, status)
            }
        }
    };

    debug!(
        %method,
        path,
        query = query.as_deref().unwrap_or(""),
        endpoint,
        status,
        sequence,
        elapsed_us = started.elapsed().as_micros() as u64,
        "simulator request"
    );
    shared.counters.record(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        endpoint,
        status,
        at,
    });
    response
}

/// Flips a connection's kill switch: the response returned here never reaches the client (the
/// connection fails the write and closes). Status `0` records "no response".
fn kill_connection(kill: Option<&CancellationToken>) -> (Response, u16) {
    match kill {
        Some(kill) => {
            kill.cancel();
            (Response::new(axum::body::Body::empty()), 0)
        }
        None => {
            let response = handlers::scim_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "simulated server death needs the simulator's own listener",
            );
            (response, 500)
        }
    }
}

/// Sends a 2xx body in 4 chunks, each after `delay`; other answers pass.
async fn slow_body(response: Response, delay: Duration) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let step = bytes.len().div_ceil(4).max(1);
    let chunks: Vec<_> = (0..bytes.len())
        .step_by(step)
        .map(|from| bytes.slice(from..(from + step).min(bytes.len())))
        .collect();
    let stream = futures::stream::iter(chunks).then(move |chunk| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, std::convert::Infallible>(chunk)
    });
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}

/// Cuts a 2xx body in half (a JSON document cut in half never parses); other answers pass.
async fn malformed(response: Response) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, axum::body::Body::from(half))
}

/// Checks `Authorization: Bearer <token>`; the error is the 401 `detail`. Never echoes tokens.
fn check_bearer(headers: &HeaderMap, token: &str) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("missing Authorization header: send `Authorization: Bearer <token>`")?;
    let value = value
        .to_str()
        .map_err(|_| "Authorization header is not valid text")?;
    match value.trim().split_once(' ') {
        Some((scheme, credentials)) if scheme.eq_ignore_ascii_case("bearer") => {
            if credentials.trim() == token {
                Ok(())
            } else {
                Err("invalid or revoked bearer token")
            }
        }
        _ => Err("Authorization header must use the Bearer scheme"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check() {
        let mut headers = HeaderMap::new();
        assert!(check_bearer(&headers, "t").is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dDp0"),
        );
        assert!(check_bearer(&headers, "t").is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer nope"),
        );
        assert_eq!(
            check_bearer(&headers, "t"),
            Err("invalid or revoked bearer token")
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer t"));
        assert_eq!(check_bearer(&headers, "t"), Ok(()));
    }

    #[test]
    fn unspecified_addresses_become_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(reachable(any).to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:9".parse().unwrap();
        assert_eq!(reachable(v6).to_string(), "[::1]:9");
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(reachable(lo), lo);
    }
}
