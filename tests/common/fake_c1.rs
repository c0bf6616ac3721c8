//! A fake ConductorOne for service-mode tests: one TLS port (a test CA) serving the OAuth token
//! endpoint (`POST /auth/v1/token`) and `c1.connectorapi.baton.v1.BatonService`, like a tenant.
//!
//! The token endpoint checks what a real one would: the form's grant parameters, the client
//! assertion's EdDSA signature against the public half (`x`) of the key in the secret it handed
//! out, and the claims (`iss` = `sub` = client id, `aud` = tenant host, unexpired, short-lived,
//! with a nonce). `BatonService` accepts only tokens it issued, hands out scripted tasks, and
//! records Hello, Heartbeat, FinishTask and UploadAsset. Faults are scripted too: token
//! endpoint 503s, GetTask UNAVAILABLEs, and upload streams dropped mid-way.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_notion::pb::c1::connectorapi::baton::v1 as api;
use futures::StreamExt as _;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use api::baton_service_server::{BatonService, BatonServiceServer};

/// The tenant host in the client id (the assertion's audience).
pub const TENANT: &str = "acme.conductor.one";
/// The client id the fake accepts.
pub const CLIENT_ID: &str = "baton-test@acme.conductor.one/pcc";

/// A finished upload.
#[derive(Debug, Clone)]
pub struct Upload {
    pub host_id: String,
    pub task_id: String,
    pub data: Vec<u8>,
    pub checksum: Vec<u8>,
}

/// Everything the fake saw, and its script.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Token requests answered 200.
    pub tokens_issued: Vec<String>,
    /// When each issued token stops being accepted; a token missing here is revoked.
    pub token_expiry: HashMap<String, Instant>,
    /// `expires_in` of issued tokens.
    pub token_lifetime: Duration,
    /// Why token requests were refused (401), in order.
    pub token_rejections: Vec<String>,
    /// Token requests answered 503 by the script.
    pub token_503s: u32,
    /// Script: answer this many more token requests with 503.
    pub token_failures_left: u32,
    /// RPCs refused for a missing or unknown bearer token.
    pub unauthenticated: u32,
    pub hellos: Vec<api::BatonServiceHelloRequest>,
    pub get_task_calls: u32,
    /// Script: answer this many more GetTask calls with UNAVAILABLE.
    pub get_task_failures_left: u32,
    pub get_task_unavailable: u32,
    /// Tasks still to hand out, in order.
    pub queue: VecDeque<api::Task>,
    pub heartbeats: Vec<String>,
    /// Heartbeats for these task ids answer `cancelled`.
    pub cancel: HashSet<String>,
    pub finished: Vec<api::BatonServiceFinishTaskRequest>,
    pub uploads: Vec<Upload>,
    /// Script: drop this many more upload streams after their first data chunk.
    pub upload_drops_left: u32,
    pub uploads_dropped: u32,
    /// `next_poll` and `next_heartbeat` handed out.
    pub interval: Duration,
    /// Tasks handed out and not finished yet.
    pub in_flight: usize,
    /// The most tasks ever in flight at once.
    pub max_in_flight: usize,
}

/// Shared between the handlers and the test.
#[derive(Clone)]
pub struct Shared {
    state: Arc<Mutex<Recorded>>,
    /// The public half of the key in the secret the fake handed out.
    public_key: Arc<Vec<u8>>,
}

impl Shared {
    /// Runs `f` on the recorded state.
    pub fn with<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        let mut guard = self.state.lock().expect("fake state lock");
        f(&mut guard)
    }
}

/// A running fake ConductorOne.
pub struct FakeC1 {
    /// `localhost:<port>`, for `BATON_C1_API_HOST`.
    pub api_host: String,
    /// PEM of the CA that signed the fake's certificate.
    pub ca_pem: String,
    /// A client secret whose key the token endpoint accepts.
    pub secret: String,
    pub shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A random Ed25519 key as a client secret `<a>:<b>:v1:<base64url JWK>`, and its public key.
pub fn new_secret() -> (String, Vec<u8>) {
    let mut seed = [0u8; 32];
    SystemRandom::new().fill(&mut seed).expect("random seed");
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("key from seed");
    let x = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": URL_SAFE_NO_PAD.encode(seed),
        "x": URL_SAFE_NO_PAD.encode(&x),
    });
    (
        format!(
            "2fakeid:0000secret:v1:{}",
            URL_SAFE_NO_PAD.encode(jwk.to_string())
        ),
        x,
    )
}

impl FakeC1 {
    /// Starts the fake on an ephemeral loopback port.
    pub async fn start() -> FakeC1 {
        super::init();
        let (secret, public_key) = new_secret();
        let shared = Shared {
            state: Arc::new(Mutex::new(Recorded {
                interval: Duration::from_millis(100),
                token_lifetime: Duration::from_secs(3600),
                ..Recorded::default()
            })),
            public_key: Arc::new(public_key),
        };
        let (ca_pem, cert_pem, key_pem) = test_pki();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let port = listener.local_addr().expect("addr").port();
        let token_route = axum::Router::new()
            .route("/auth/v1/token", post(token))
            .with_state(shared.clone());
        let routes = tonic::service::Routes::from(token_route)
            .add_service(BatonServiceServer::new(Baton(shared.clone())));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            Server::builder()
                .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem)))
                .expect("tls config")
                .add_routes(routes)
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await
                .expect("fake ConductorOne serves");
        });
        FakeC1 {
            api_host: format!("localhost:{port}"),
            ca_pem,
            secret,
            shared,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Revokes every token issued so far: the next RPC with one is `Unauthenticated`.
    pub fn revoke_tokens(&self) {
        self.shared.with(|s| s.token_expiry.clear());
    }

    /// Queues a task for GetTask.
    pub fn push(&self, task: api::Task) {
        self.shared.with(|s| s.queue.push_back(task));
    }

    /// Waits until `task_id` was finished; returns its FinishTask request.
    pub async fn finished(
        &self,
        task_id: &str,
        within: Duration,
    ) -> api::BatonServiceFinishTaskRequest {
        let found = self
            .wait_for(within, |s| {
                s.finished.iter().find(|f| f.task_id == task_id).cloned()
            })
            .await;
        found.unwrap_or_else(|| panic!("task {task_id} was not finished within {within:?}"))
    }

    /// Polls `f` on the state every 20 ms until it returns something or `within` passes.
    pub async fn wait_for<T>(
        &self,
        within: Duration,
        mut f: impl FnMut(&mut Recorded) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(v) = self.shared.with(&mut f) {
                return Some(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// A CA and a `localhost` server certificate it signed (PEM: ca, cert, key).
fn test_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server params")
        .signed_by(&key, &issuer)
        .expect("server cert");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// `POST /auth/v1/token`.
async fn token(
    axum::extract::State(shared): axum::extract::State<Shared>,
    body: String,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let failing = shared.with(|s| {
        if s.token_failures_left > 0 {
            s.token_failures_left -= 1;
            s.token_503s += 1;
            true
        } else {
            false
        }
    });
    if failing {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": "temporarily_unavailable"})),
        );
    }
    match check_token_request(&body, &shared.public_key) {
        Ok(()) => {
            let mut raw = [0u8; 24];
            SystemRandom::new().fill(&mut raw).expect("random");
            let token = URL_SAFE_NO_PAD.encode(raw);
            let lifetime = shared.with(|s| {
                s.tokens_issued.push(token.clone());
                s.token_expiry
                    .insert(token.clone(), Instant::now() + s.token_lifetime);
                s.token_lifetime
            });
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({
                    "access_token": token, "token_type": "Bearer",
                    "expires_in": lifetime.as_secs(),
                })),
            )
        }
        Err(reason) => {
            shared.with(|s| s.token_rejections.push(reason.clone()));
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "invalid_client", "error_description": reason,
                })),
            )
        }
    }
}

/// Checks a token request the way an OAuth server with `private_key_jwt` would.
fn check_token_request(body: &str, public_key: &[u8]) -> Result<(), String> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return Err(format!("grant_type is {:?}", field("grant_type")));
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err("wrong client_assertion_type".into());
    }
    if field("client_id") != CLIENT_ID {
        return Err(format!("unknown client_id {:?}", field("client_id")));
    }
    let jwt = field("client_assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the assertion is not a JWT".into());
    };
    let decode = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| format!("base64: {e}"))
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|e| format!("header: {e}"))?;
    if header["alg"] != "EdDSA" || header["typ"] != "JWT" {
        return Err(format!("unexpected header {header}"));
    }
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(signed.as_bytes(), &decode(signature)?)
        .map_err(|_| "bad signature".to_owned())?;
    let claims: serde_json::Value =
        serde_json::from_slice(&decode(claims)?).map_err(|e| format!("claims: {e}"))?;
    if claims["iss"] != CLIENT_ID || claims["sub"] != CLIENT_ID {
        return Err(format!("iss/sub are {} / {}", claims["iss"], claims["sub"]));
    }
    if claims["aud"] != TENANT {
        return Err(format!("aud is {}", claims["aud"]));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let exp = claims["exp"].as_u64().ok_or("no exp")?;
    let iat = claims["iat"].as_u64().ok_or("no iat")?;
    let nbf = claims["nbf"].as_u64().ok_or("no nbf")?;
    if exp <= now || exp - iat > 300 || nbf > now + 5 || iat > now + 5 {
        return Err(format!(
            "bad times: iat {iat} nbf {nbf} exp {exp} now {now}"
        ));
    }
    if claims["nonce"].as_str().is_none_or(str::is_empty) {
        return Err("no nonce".into());
    }
    Ok(())
}

/// The fake `BatonService`.
struct Baton(Shared);

impl Baton {
    /// Refuses requests without a token the fake issued.
    fn authorize<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let token = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let known = self.0.with(|s| {
            let ok = token
                .as_ref()
                .and_then(|t| s.token_expiry.get(t))
                .is_some_and(|expiry| Instant::now() < *expiry);
            if !ok {
                s.unauthenticated += 1;
            }
            ok
        });
        if known {
            Ok(())
        } else {
            Err(Status::unauthenticated("missing or unknown bearer token"))
        }
    }

    fn interval(&self) -> prost_types::Duration {
        let d = self.0.with(|s| s.interval);
        prost_types::Duration::try_from(d).expect("duration")
    }
}

#[tonic::async_trait]
impl BatonService for Baton {
    async fn hello(
        &self,
        req: Request<api::BatonServiceHelloRequest>,
    ) -> Result<Response<api::BatonServiceHelloResponse>, Status> {
        self.authorize(&req)?;
        self.0.with(|s| s.hellos.push(req.into_inner()));
        Ok(Response::new(Default::default()))
    }

    async fn get_task(
        &self,
        req: Request<api::BatonServiceGetTaskRequest>,
    ) -> Result<Response<api::BatonServiceGetTaskResponse>, Status> {
        self.authorize(&req)?;
        let task = self.0.with(|s| {
            s.get_task_calls += 1;
            if s.get_task_failures_left > 0 {
                s.get_task_failures_left -= 1;
                s.get_task_unavailable += 1;
                return Err(Status::unavailable("ConductorOne is having a moment"));
            }
            let task = s.queue.pop_front();
            if task.is_some() {
                s.in_flight += 1;
                s.max_in_flight = s.max_in_flight.max(s.in_flight);
            }
            Ok(task)
        })?;
        let task = task.unwrap_or_else(|| api::Task {
            task_type: Some(api::task::TaskType::None(Default::default())),
            ..Default::default()
        });
        Ok(Response::new(api::BatonServiceGetTaskResponse {
            task: Some(task),
            next_poll: Some(self.interval()),
            next_heartbeat: Some(self.interval()),
            annotations: vec![],
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<api::BatonServiceHeartbeatRequest>,
    ) -> Result<Response<api::BatonServiceHeartbeatResponse>, Status> {
        self.authorize(&req)?;
        let req = req.into_inner();
        let cancelled = self.0.with(|s| {
            s.heartbeats.push(req.task_id.clone());
            s.cancel.contains(&req.task_id)
        });
        Ok(Response::new(api::BatonServiceHeartbeatResponse {
            next_heartbeat: Some(self.interval()),
            cancelled,
            ..Default::default()
        }))
    }

    async fn finish_task(
        &self,
        req: Request<api::BatonServiceFinishTaskRequest>,
    ) -> Result<Response<api::BatonServiceFinishTaskResponse>, Status> {
        self.authorize(&req)?;
        self.0.with(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.finished.push(req.into_inner());
        });
        Ok(Response::new(Default::default()))
    }

    async fn upload_asset(
        &self,
        req: Request<Streaming<api::BatonServiceUploadAssetRequest>>,
    ) -> Result<Response<api::BatonServiceUploadAssetResponse>, Status> {
        use api::baton_service_upload_asset_request::Msg;
        self.authorize(&req)?;
        let mut stream = req.into_inner();
        let mut upload = Upload {
            host_id: String::new(),
            task_id: String::new(),
            data: Vec::new(),
            checksum: Vec::new(),
        };
        let mut seen_eof = false;
        while let Some(msg) = stream.next().await {
            match msg?.msg {
                Some(Msg::Metadata(m)) => {
                    upload.host_id = m.host_id;
                    upload.task_id = m.task_id;
                }
                Some(Msg::Data(d)) => {
                    if d.data.len() > 512 * 1024 {
                        return Err(Status::invalid_argument("chunk larger than 512 KiB"));
                    }
                    upload.data.extend_from_slice(&d.data);
                    let drop_now = self.0.with(|s| {
                        if s.upload_drops_left > 0 {
                            s.upload_drops_left -= 1;
                            s.uploads_dropped += 1;
                            true
                        } else {
                            false
                        }
                    });
                    if drop_now {
                        return Err(Status::unavailable("upload stream dropped"));
                    }
                }
                Some(Msg::Eof(e)) => {
                    upload.checksum = e.sha256_checksum;
                    seen_eof = true;
                }
                None => return Err(Status::invalid_argument("empty upload message")),
            }
        }
        if !seen_eof || upload.task_id.is_empty() {
            return Err(Status::invalid_argument("upload without metadata or eof"));
        }
        self.0.with(|s| s.uploads.push(upload));
        Ok(Response::new(Default::default()))
    }
}

/// Binds an ephemeral port and frees it, for a server the binary binds later.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("addr").port()
}
