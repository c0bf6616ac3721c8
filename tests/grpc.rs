//! The connector over gRPC: the simulator → the Notion connector → `baton::server` on a real
//! loopback socket → `baton::remote::Remote` (the `sync-remote` code path) → the sync engine.
//!
//! Shows the acceptance points: a sync over gRPC yields the same ids as the in-process
//! sync (reference workspace and one with several pages of users and groups); provisioning is
//! refused unless enabled; unknown types are `NotFound`; bad page tokens and oversized pages are
//! `InvalidArgument`; unregistered features answer `Unimplemented` at once; plain text off
//! loopback is refused; shutdown lets in-flight calls finish, and SIGTERM ends `serve` with 0.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use baton_notion::baton::Local;
use baton_notion::baton::remote::Remote;
use baton_notion::baton::server::{PROVISIONING_DISABLED, ServeError, ServeOptions, serve};
use baton_notion::baton::sync::{SyncOptions, sync_to_file};
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, GenSpec, SimConfig, SimHandle};
use common::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// A gRPC server over the simulator's workspace, in this process.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start(sim: &SimHandle, provisioning: bool) -> Server {
        let opts = ServeOptions {
            provisioning,
            ..ServeOptions::default()
        };
        Server::start_with(sim, opts).await
    }

    async fn start_with(sim: &SimHandle, opts: ServeOptions) -> Server {
        let connector = connector(sim, &SimConfig::default().token);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            Arc::new(Local::new(connector)),
            opts,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("url")
            .connect()
            .await
            .expect("connects")
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops promptly")
            .expect("the server task does not panic")
            .expect("the server ends without error");
    }
}

/// Syncs `dataset` in-process and over gRPC; returns both artifacts' ids and the SCIM list
/// requests (users, groups) the sync over gRPC made.
async fn both_ways(dataset: Dataset) -> (Ids, Ids, (u64, u64)) {
    let sim = start(dataset, SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let local_out = dir.path().join("local.c1z");
    sync_into(&sim, &local_out)
        .await
        .expect("in-process sync succeeds");

    let lists = |sim: &SimHandle| {
        let c = sim.counters();
        let get = |k: &str| c.get(k).copied().unwrap_or(0);
        (get("GET /Users"), get("GET /Groups"))
    };
    let before = lists(&sim);
    let server = Server::start(&sim, false).await;
    let remote = Remote::connect(&server.addr.to_string())
        .await
        .expect("connects");
    let remote_out = dir.path().join("remote.c1z");
    sync_to_file(&remote, &remote_out, SyncOptions::default())
        .await
        .expect("sync over gRPC succeeds");
    let after = lists(&sim);
    server.stop().await;
    sim.shutdown().await;
    (
        ids_of(&local_out),
        ids_of(&remote_out),
        (after.0 - before.0, after.1 - before.1),
    )
}

#[tokio::test]
async fn sync_over_grpc_equals_in_process_sync_for_the_reference_workspace() {
    let (local, remote, _) = both_ways(Dataset::reference()).await;
    assert_eq!(remote, local);
    assert_eq!(remote, ids_of(&fixture("go-baton-notion-reference.c1z")));
}

#[tokio::test]
async fn sync_over_grpc_equals_in_process_sync_across_many_pages() {
    let dataset = Dataset::generate(&GenSpec {
        users: 250,
        groups: 250,
        members_per_group: 3,
        seed: 11,
        ..GenSpec::default()
    });
    let (local, remote, requests) = both_ways(dataset).await;
    assert_eq!(
        requests,
        (3, 3),
        "three SCIM pages each of users and groups"
    );
    let users = remote
        .resources
        .iter()
        .filter(|r| r.starts_with("user:"))
        .count();
    let groups = remote
        .resources
        .iter()
        .filter(|r| r.starts_with("group:"))
        .count();
    assert_eq!((users, groups), (250, 250), "more than two pages of each");
    assert!(remote.grants.len() >= 250 + 250 * 3);
    assert_eq!(remote, local);
}

fn a_user() -> v2::Resource {
    v2::Resource {
        id: Some(v2::ResourceId {
            resource_type: "user".into(),
            resource: "11111111-1111-1111-1111-111111111111".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Calls every provisioning RPC and returns their status codes.
async fn provisioning_codes(channel: Channel) -> Vec<(&'static str, tonic::Code, String)> {
    use v2::account_manager_service_client::AccountManagerServiceClient;
    use v2::grant_manager_service_client::GrantManagerServiceClient;
    use v2::resource_deleter_service_client::ResourceDeleterServiceClient;
    use v2::resource_manager_service_client::ResourceManagerServiceClient;
    fn code<T>(r: Result<T, tonic::Status>) -> (tonic::Code, String) {
        match r {
            Ok(_) => (tonic::Code::Ok, String::new()),
            Err(s) => (s.code(), s.message().to_owned()),
        }
    }
    let mut grants = GrantManagerServiceClient::new(channel.clone());
    let mut accounts = AccountManagerServiceClient::new(channel.clone());
    let mut manager = ResourceManagerServiceClient::new(channel.clone());
    let mut deleter = ResourceDeleterServiceClient::new(channel);
    let mut out = Vec::new();
    let (c, m) = code(
        grants
            .grant(v2::GrantManagerServiceGrantRequest::default())
            .await,
    );
    out.push(("Grant", c, m));
    let (c, m) = code(
        grants
            .revoke(v2::GrantManagerServiceRevokeRequest::default())
            .await,
    );
    out.push(("Revoke", c, m));
    let (c, m) = code(
        accounts
            .create_account(v2::CreateAccountRequest::default())
            .await,
    );
    out.push(("CreateAccount", c, m));
    let (c, m) = code(
        manager
            .delete_resource(v2::DeleteResourceRequest {
                resource_id: a_user().id,
                ..Default::default()
            })
            .await,
    );
    out.push(("DeleteResource", c, m));
    let (c, m) = code(
        deleter
            .delete_resource_v2(v2::DeleteResourceV2Request {
                resource_id: a_user().id,
                ..Default::default()
            })
            .await,
    );
    out.push(("DeleteResourceV2", c, m));
    out
}

#[tokio::test]
async fn provisioning_rpcs_are_refused_without_the_flag() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let server = Server::start(&sim, false).await;
    for (rpc, code, message) in provisioning_codes(server.channel().await).await {
        assert_eq!(code, tonic::Code::FailedPrecondition, "{rpc}");
        assert_eq!(message, PROVISIONING_DISABLED, "{rpc}");
    }

    // The remote client keeps the code and the server's message.
    {
        use baton_notion::baton::{Code, ConnectorClient};
        let remote = Remote::connect(&server.addr.to_string())
            .await
            .expect("connects");
        let err = remote
            .grant(v2::GrantManagerServiceGrantRequest::default())
            .await
            .expect_err("refused");
        assert_eq!(
            (err.code, err.message.as_str()),
            (Code::FailedPrecondition, PROVISIONING_DISABLED)
        );
    }
    server.stop().await;

    // With the flag they reach the connector, which judges these (empty) requests itself.
    let server = Server::start(&sim, true).await;
    for (rpc, code, message) in provisioning_codes(server.channel().await).await {
        assert_ne!(code, tonic::Code::FailedPrecondition, "{rpc}: {message}");
        assert_ne!(
            code,
            tonic::Code::Ok,
            "{rpc}: an empty request is not carried out"
        );
    }
    server.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_the_protocol_codes() {
    use v2::entitlements_service_client::EntitlementsServiceClient;
    use v2::grants_service_client::GrantsServiceClient;
    use v2::resources_service_client::ResourcesServiceClient;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let server = Server::start(&sim, false).await;
    let channel = server.channel().await;
    let mut resources = ResourcesServiceClient::new(channel.clone());

    let unknown = resources
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "workspace".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown type");
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    assert!(unknown.message().contains("workspace"), "{unknown:?}");

    let mut static_ents = EntitlementsServiceClient::new(channel.clone());
    let unknown = static_ents
        .list_static_entitlements(v2::EntitlementsServiceListStaticEntitlementsRequest {
            resource_type_id: "workspace".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown type");
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    for token in ["garbage", "%%%not-base64%%%", "eyJ4IjoxfQ"] {
        let bad = resources
            .list_resources(v2::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: token.into(),
                ..Default::default()
            })
            .await
            .expect_err("garbage token");
        assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{token}: {bad:?}");
    }

    let too_big = resources
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            page_size: 251,
            ..Default::default()
        })
        .await
        .expect_err("page too large");
    assert_eq!(too_big.code(), tonic::Code::InvalidArgument);

    let long_id = resources
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "u".repeat(1025),
            ..Default::default()
        })
        .await
        .expect_err("id too long");
    assert_eq!(long_id.code(), tonic::Code::InvalidArgument);

    let mut grants = GrantsServiceClient::new(channel.clone());
    let no_resource = grants
        .list_grants(v2::GrantsServiceListGrantsRequest::default())
        .await
        .expect_err("no resource");
    assert_eq!(no_resource.code(), tonic::Code::InvalidArgument);

    let first = resources
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            ..Default::default()
        })
        .await
        .expect("a good request works on the same connection")
        .into_inner();
    assert_eq!(first.list.len(), 5);
    server.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn unsupported_services_answer_unimplemented_at_once() {
    use v2::asset_service_client::AssetServiceClient;
    use v2::connector_service_client::ConnectorServiceClient;
    use v2::event_service_client::EventServiceClient;
    use v2::resource_getter_service_client::ResourceGetterServiceClient;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let server = Server::start(&sim, false).await;
    let channel = server.channel().await;
    let limit = Duration::from_secs(5);

    // GetResource is served (targeted syncs, tests/parity.rs): a request naming no resource
    // is refused at once.
    let getter = tokio::time::timeout(
        limit,
        ResourceGetterServiceClient::new(channel.clone())
            .get_resource(v2::ResourceGetterServiceGetResourceRequest::default()),
    )
    .await
    .expect("no hang")
    .expect_err("names no resource");
    assert_eq!(getter.code(), tonic::Code::InvalidArgument);

    let asset = tokio::time::timeout(
        limit,
        AssetServiceClient::new(channel.clone())
            .get_asset(v2::AssetServiceGetAssetRequest::default()),
    )
    .await
    .expect("no hang")
    .expect_err("unimplemented");
    assert_eq!(asset.code(), tonic::Code::Unimplemented);

    let events = tokio::time::timeout(
        limit,
        EventServiceClient::new(channel.clone()).list_events(v2::ListEventsRequest::default()),
    )
    .await
    .expect("no hang")
    .expect_err("unimplemented");
    assert_eq!(events.code(), tonic::Code::Unimplemented);

    // The connector service itself answers; metadata carries the capabilities.
    let mut conn = ConnectorServiceClient::new(channel);
    let meta = conn
        .get_metadata(v2::ConnectorServiceGetMetadataRequest::default())
        .await
        .expect("metadata")
        .into_inner()
        .metadata
        .expect("set");
    assert_eq!(meta.display_name, "Notion");
    assert_eq!(
        meta.capabilities,
        Some(baton_notion::connector::actions::capabilities(
            baton_notion::connector::schema::View::SCIM
        ))
    );
    let validated = conn
        .validate(v2::ConnectorServiceValidateRequest::default())
        .await
        .expect("validates")
        .into_inner();
    assert!(!validated.sdk_version.is_empty());
    conn.cleanup(v2::ConnectorServiceCleanupRequest::default())
        .await
        .expect("cleanup");
    server.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn plain_text_off_loopback_is_refused() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("binds");
    let err = serve(
        listener,
        Arc::new(Local::new(connector(&sim, "sim-token"))),
        ServeOptions::default(),
        std::future::pending(),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, ServeError::NotLoopback(_)), "{err:?}");
    sim.shutdown().await;

    // The binary refuses before binding or asking for a token, with a line saying why.
    let out = tokio::task::spawn_blocking(|| {
        run_binary(
            &["serve", "--listen", "0.0.0.0:50999"],
            &[("BATON_SCIM_TOKEN", "x")],
        )
    })
    .await
    .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish() {
    use v2::resources_service_client::ResourcesServiceClient;
    // Every SCIM request takes a while, so the call is in flight when shutdown starts.
    let sim = start(
        Dataset::reference(),
        SimConfig {
            latency: Duration::from_millis(500),
            ..SimConfig::default()
        },
    )
    .await;
    let mut server = Server::start(&sim, false).await;
    let mut client = ResourcesServiceClient::new(server.channel().await);
    let call = tokio::spawn(async move {
        client
            .list_resources(v2::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    let page = call
        .await
        .expect("no panic")
        .expect("the in-flight call completes")
        .into_inner();
    assert_eq!(page.list.len(), 5);
    server.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sync_remote_command_syncs_from_a_server() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let server = Server::start(&sim, false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("remote.c1z");
    let (addr, path) = (server.addr.to_string(), out.clone());
    let run = tokio::task::spawn_blocking(move || {
        let path = path.to_string_lossy().into_owned();
        run_binary(
            &["sync-remote", "--connector-addr", &addr, "-f", &path],
            &[],
        )
    })
    .await
    .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        ids_of(&out),
        ids_of(&fixture("go-baton-notion-reference.c1z"))
    );
    server.stop().await;
    sim.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_during_a_listing_ends_serve_cleanly() {
    use v2::resources_service_client::ResourcesServiceClient;
    let sim = start(
        Dataset::reference(),
        SimConfig {
            latency: Duration::from_millis(500),
            ..SimConfig::default()
        },
    )
    .await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .arg("--base-url")
        .arg(sim.base_url())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("BATON_SCIM_TOKEN", SimConfig::default().token)
        .env("BATON_LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let pid = child.id().expect("running");
    let (channel, _lines) = common::connect_to_serve(&mut child).await;
    let mut client = ResourcesServiceClient::new(channel);
    let first = client
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.next_page_token.is_empty(), "more pages follow");
    let token = first.next_page_token.clone();
    let call = tokio::spawn(async move {
        client
            .list_resources(v2::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !call.is_finished(),
        "the page is still in flight at SIGTERM"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let second = call.await.expect("no panic");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("serve exits after SIGTERM")
        .expect("status");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = e.read_to_string(&mut stderr).await;
    }
    assert!(
        status.success(),
        "exit 0 after SIGTERM: {status:?}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let second = second.expect("the in-flight page completes").into_inner();
    assert!(!second.list.is_empty());
    sim.shutdown().await;
}

/// A throwaway CA, a server certificate for `localhost` and a client certificate, as PEM.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("client key");
    let client = CertificateParams::new(vec!["sync-client".to_owned()])
        .expect("client params")
        .signed_by(&client_key, &issuer)
        .expect("client cert");
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// Serves `sim` over TLS on all interfaces; returns the loopback address to dial and a stopper.
async fn tls_server(
    sim: &SimHandle,
    pki: &Pki,
    mutual: bool,
) -> (
    String,
    oneshot::Sender<()>,
    JoinHandle<Result<(), ServeError>>,
) {
    use baton_notion::baton::server::TlsFiles;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = oneshot::channel::<()>();
    let opts = ServeOptions {
        tls: Some(TlsFiles {
            cert_pem: pki.server_cert.clone().into_bytes(),
            key_pem: pki.server_key.clone().into_bytes(),
            client_ca_pem: mutual.then(|| pki.ca.clone().into_bytes()),
        }),
        ..ServeOptions::default()
    };
    let task = tokio::spawn(serve(
        listener,
        Arc::new(Local::new(connector(sim, &SimConfig::default().token))),
        opts,
        async {
            let _ = stopped.await;
        },
    ));
    (format!("https://localhost:{port}"), stop, task)
}

fn client_tls(pki: &Pki, with_identity: bool) -> tonic::transport::ClientTlsConfig {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    if with_identity {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    tls
}

#[tokio::test]
async fn tls_allows_serving_off_loopback_and_syncs() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let pki = pki();
    let (url, stop, task) = tls_server(&sim, &pki, false).await;

    let remote = Remote::connect_with(&url, Some(client_tls(&pki, false)))
        .await
        .expect("connects over TLS");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("tls.c1z");
    sync_to_file(&remote, &out, SyncOptions::default())
        .await
        .expect("sync over TLS succeeds");
    assert_eq!(
        ids_of(&out),
        ids_of(&fixture("go-baton-notion-reference.c1z"))
    );

    // A plain-text client gets nowhere.
    let plain = url.replace("https://", "http://");
    let refused = match Remote::connect(&plain).await {
        Err(_) => true,
        Ok(r) => {
            use baton_notion::baton::ConnectorClient;
            r.get_metadata().await.is_err()
        }
    };
    assert!(refused, "plain text is not served on a TLS port");

    let _ = stop.send(());
    task.await.expect("no panic").expect("stops cleanly");
    sim.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    use baton_notion::baton::ConnectorClient;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let pki = pki();
    let (url, stop, task) = tls_server(&sim, &pki, true).await;

    let anonymous = match Remote::connect_with(&url, Some(client_tls(&pki, false))).await {
        Err(_) => true,
        Ok(r) => r.get_metadata().await.is_err(),
    };
    assert!(anonymous, "a client without a certificate is refused");

    let remote = Remote::connect_with(&url, Some(client_tls(&pki, true)))
        .await
        .expect("connects with a client certificate");
    let meta = remote.get_metadata().await.expect("metadata over mTLS");
    assert_eq!(meta.display_name, "Notion");

    let _ = stop.send(());
    task.await.expect("no panic").expect("stops cleanly");
    sim.shutdown().await;
}

async fn http_get(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.expect("health server answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn health_checks_follow_validate() {
    use baton_notion::baton::server::health::serve_health;
    use v2::connector_service_client::ConnectorServiceClient;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let opts = ServeOptions::default();
    let ready = opts.ready.clone();
    let server = Server::start_with(&sim, opts).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let health = tokio::spawn(serve_health(listener, ready, async {
        let _ = stopped.await;
    }));

    assert_eq!(http_get(&format!("{base}/live")).await.0, 200);
    let (code, body) = http_get(&format!("{base}/ready")).await;
    assert_eq!((code, body["status"].as_str()), (503, Some("not ready")));
    assert_eq!(http_get(&format!("{base}/health")).await.0, 503);

    ConnectorServiceClient::new(server.channel().await)
        .validate(v2::ConnectorServiceValidateRequest::default())
        .await
        .expect("validates");
    let (code, body) = http_get(&format!("{base}/ready")).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("ready")));
    let (code, body) = http_get(&format!("{base}/health")).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("healthy")));

    let _ = stop.send(());
    health
        .await
        .expect("no panic")
        .expect("health server stops cleanly");
    server.stop().await;
    sim.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn serve_with_health_check_becomes_ready_after_validating_at_start() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr").port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .arg("--base-url")
        .arg(sim.base_url())
        .args(["serve", "--listen", "127.0.0.1:0", "--health-check"])
        .args(["--health-check-port", &port.to_string()])
        .env("BATON_SCIM_TOKEN", SimConfig::default().token)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let url = format!("http://127.0.0.1:{port}/ready");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(resp) = reqwest::get(&url).await
            && resp.status().as_u16() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/ready turns 200 after the start-up Validate");
    let pid = child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(status.success(), "{status:?}");
    sim.shutdown().await;
}

#[test]
fn serve_flags_parse_with_baton_defaults() {
    use baton_notion::cli::{Cli, Command};
    use clap::Parser;
    let cli = Cli::try_parse_from(["baton-notion", "serve"]).expect("parses");
    let Some(Command::Serve(args)) = cli.command else {
        panic!("serve expected");
    };
    assert_eq!(args.listen.to_string(), "127.0.0.1:50051");
    assert!(!args.provisioning && !args.health.health_check);
    assert_eq!(args.health.health_check_port, 8081);
    assert_eq!(
        args.health.health_check_bind_address.to_string(),
        "127.0.0.1"
    );
    assert!(args.tls_cert.is_none());

    let cli = Cli::try_parse_from(["baton-notion", "serve", "-p", "--listen", "[::1]:9000"])
        .expect("parses");
    let Some(Command::Serve(args)) = cli.command else {
        panic!("serve expected");
    };
    assert!(args.provisioning);
    assert_eq!(args.listen.to_string(), "[::1]:9000");

    // A certificate without its key (or the reverse) is a usage error.
    assert!(Cli::try_parse_from(["baton-notion", "serve", "--tls-cert", "c.pem"]).is_err());
    assert!(Cli::try_parse_from(["baton-notion", "serve", "--tls-key", "k.pem"]).is_err());
    assert!(Cli::try_parse_from(["baton-notion", "serve", "--listen", "not-an-addr"]).is_err());

    let cli = Cli::try_parse_from([
        "baton-notion",
        "sync-remote",
        "--connector-addr",
        "127.0.0.1:50051",
        "-f",
        "out.c1z",
    ])
    .expect("parses");
    let Some(Command::SyncRemote(args)) = cli.command else {
        panic!("sync-remote expected");
    };
    assert_eq!(args.connector_addr, "127.0.0.1:50051");
    assert_eq!(cli.sync.file, std::path::PathBuf::from("out.c1z"));
}

#[tokio::test]
async fn shutdown_does_not_wait_past_the_grace_period() {
    use v2::resources_service_client::ResourcesServiceClient;
    // Every SCIM request takes far longer than the grace period.
    let sim = start(
        Dataset::reference(),
        SimConfig {
            latency: Duration::from_secs(3),
            ..SimConfig::default()
        },
    )
    .await;
    let mut server = Server::start_with(
        &sim,
        ServeOptions {
            shutdown_grace: Some(Duration::from_millis(200)),
            ..ServeOptions::default()
        },
    )
    .await;
    let mut client = ResourcesServiceClient::new(server.channel().await);
    let call = tokio::spawn(async move {
        client
            .list_resources(v2::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let begun = std::time::Instant::now();
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    server.stop().await;
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        begun.elapsed()
    );
    // (The connection task of the call itself ends with the process, or with the call.)
    call.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn provisioning_over_grpc_changes_the_workspace() {
    use baton_notion::baton::annotations::{find, has};
    use baton_notion::baton::resource::{ProfileValue, grant, profile};
    use baton_notion::baton::{ConnectorClient, ids};
    const DAVE: &str = "44444444-4444-4444-4444-444444444444";
    const EVE: &str = "55555555-5555-5555-5555-555555555555";
    const ENGINEERING: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let server = Server::start(&sim, true).await;
    let remote = Remote::connect(&server.addr.to_string())
        .await
        .expect("connects");
    let entitlement = |t: &str, id: &str, slug: &str| v2::Entitlement {
        id: ids::entitlement_id(&ids::resource_id(t, id), slug),
        resource: Some(v2::Resource {
            id: Some(ids::resource_id(t, id)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let user = |id: &str| v2::Resource {
        id: Some(ids::resource_id("user", id)),
        ..Default::default()
    };

    // Group membership, twice: the second is GrantAlreadyExists.
    for round in 0..2 {
        let resp = remote
            .grant(v2::GrantManagerServiceGrantRequest {
                entitlement: Some(entitlement("group", ENGINEERING, "member")),
                principal: Some(user(EVE)),
                annotations: vec![],
            })
            .await
            .expect("granted");
        assert_eq!(round == 1, has::<v2::GrantAlreadyExists>(&resp.annotations));
    }
    assert!(
        sim.state()
            .groups
            .iter()
            .any(|g| g.id == ENGINEERING && g.members.iter().any(|m| m == EVE))
    );

    // A role change names the replaced grant.
    let resp = remote
        .grant(v2::GrantManagerServiceGrantRequest {
            entitlement: Some(entitlement("role", "owner", "assigned")),
            principal: Some(user(DAVE)),
            annotations: vec![],
        })
        .await
        .expect("granted");
    let replaced: v2::GrantReplaced = find(&resp.annotations).expect("GrantReplaced");
    assert_eq!(
        replaced.replaced_grant_id,
        format!("role:member:assigned:user:{DAVE}")
    );

    // Revoke the membership again, then delete Dave.
    let g = grant(
        &ids::resource_id("group", ENGINEERING),
        "member",
        &ids::resource_id("user", EVE),
    );
    remote
        .revoke(v2::GrantManagerServiceRevokeRequest {
            grant: Some(g),
            annotations: vec![],
        })
        .await
        .expect("revoked");
    let gone = remote
        .delete_resource(v2::DeleteResourceV2Request {
            resource_id: Some(ids::resource_id("user", DAVE)),
            parent_resource_id: None,
        })
        .await
        .expect("deleted");
    assert!(gone.annotations.is_empty());
    assert!(sim.state().users.iter().all(|u| u.id != DAVE));

    // Account creation.
    let created = remote
        .create_account(v2::CreateAccountRequest {
            account_info: Some(v2::AccountInfo {
                profile: Some(profile([("email", ProfileValue::from("ada@example.com"))])),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("created");
    assert!(matches!(
        created.result,
        Some(v2::create_account_response::Result::Success(_))
    ));
    assert!(
        sim.state()
            .users
            .iter()
            .any(|u| u.user_name == "ada@example.com")
    );
    server.stop().await;
    sim.shutdown().await;
}
