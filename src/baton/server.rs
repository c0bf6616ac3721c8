//! The `c1.connector.v2` gRPC services over any [`ConnectorClient`] — what `baton-notion serve`
//! runs, and what ConductorOne's runners and the `baton` tools talk to.
//!
//! # What is served
//!
//! Every service the Go SDK registers is registered here, so no client ever waits on a missing
//! route: `ConnectorService`, `ResourceTypesService`, `ResourcesService`, `EntitlementsService`,
//! `GrantsService`, `GrantManagerService`, `ResourceManagerService`, `ResourceDeleterService`,
//! `AccountManagerService`, `ResourceGetterService`, `AssetService`, `EventService`,
//! `TicketsService`, `ActionService` and `CredentialManagerService`.
//!
//! - The sync RPCs (GetMetadata, Validate, Cleanup, ListResourceTypes, ListResources,
//!   ListStaticEntitlements, ListEntitlements, ListGrants) are answered by the wrapped client,
//!   which for an in-process connector ([`super::Local`]) routes by resource type, validates
//!   request limits and refuses looping page tokens.
//! - The provisioning RPCs (Grant, Revoke, CreateAccount, DeleteResource, DeleteResourceV2)
//!   answer `FailedPrecondition "provisioning is not enabled"` unless the server was started
//!   with provisioning on; when it is on they go to the wrapped client (whose default answer is
//!   `Unimplemented`). `DeleteResource` behaves exactly as `DeleteResourceV2`.
//! - `ActionService` (ListActionSchemas, GetActionSchema, InvokeAction, GetActionStatus) goes
//!   to the wrapped client, with the provisioning switch: a state-changing action answers the
//!   same `FailedPrecondition` without it (see [`super::actions`]).
//! - `ResourceGetterService.GetResource` (targeted syncs) goes to the wrapped client;
//!   `NotFound` for a resource that is gone.
//! - `c1.ratelimit.v1.RateLimiterService`, which the Go SDK's connector wrapper calls before
//!   every call when its rate-limit interceptor is on, answers from the reset times the
//!   connector's own errors carried ([`super::ratelimit::Limiter`]).
//! - Everything else answers `Unimplemented` through the generated default stubs.
//!
//! Connector errors become `tonic::Status` in exactly one place, [`status`]; an error carrying
//! a reset time ([`ConnectorError::reset_at`]: the application throttled us) gets a
//! `RateLimitDescription` in its status details, so the caller knows how long to wait.
//!
//! Request fields recorded in spans and the messages of failed calls are a peer's text: they
//! go through [`crate::text::one_line`] (escaped, bounded) before they reach a log.
//!
//! # Shape and shutdown
//!
//! [`serve`] takes a bound listener and a shutdown future (mini-redis's shape), so tests bind
//! `127.0.0.1:0` and stop the server with their own future. When the future completes, the
//! server stops accepting connections, lets in-flight calls finish (within
//! [`ServeOptions::shutdown_grace`], when set), and returns.
//!
//! [`health`] serves the optional HTTP health checks, whose readiness follows `Validate`.
//!
//! # Where it may listen
//!
//! Plain-text gRPC is only allowed on loopback addresses. Anything else needs TLS
//! ([`TlsFiles`]: a certificate chain and key, and optionally a client CA for mutual TLS);
//! [`check_listen_addr`] refuses a non-loopback address without it.

pub mod health;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use tracing::{info, instrument, warn};

use super::client::ConnectorClient;
use super::error::{Code, ConnectorError};
use super::ratelimit::{Limiter, status_details};
use crate::pb::c1::ratelimit::v1 as rl;
use crate::pb::v2;

/// The largest message the server accepts or sends (a page of 250 rich resources fits easily).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The message provisioning RPCs answer when the server was started without provisioning.
pub const PROVISIONING_DISABLED: &str = "provisioning is not enabled";

/// How the server behaves.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Accept provisioning RPCs (`--provisioning`). Without it they answer `FailedPrecondition`.
    pub provisioning: bool,
    /// Set once a `Validate` call has succeeded (readiness for health checks); shared with
    /// whoever reports readiness.
    pub ready: Arc<AtomicBool>,
    /// Serve over TLS with these credentials; required off loopback.
    pub tls: Option<TlsFiles>,
    /// After shutdown starts, how long [`serve`] waits for in-flight calls before returning
    /// anyway (their connection tasks then end with the runtime, i.e. when the process exits);
    /// `None` waits for all of them.
    pub shutdown_grace: Option<Duration>,
}

/// PEM-encoded TLS material for the server.
#[derive(Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert_pem: Vec<u8>,
    /// The server's private key.
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    // The key is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"[redacted]")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish()
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listen address is not loopback and there is no TLS.
    #[error(
        "refusing to serve plain-text gRPC on {0}: only loopback addresses (127.0.0.1, ::1) may \
         be served without TLS; pass --tls-cert and --tls-key (and --tls-client-ca for mutual \
         TLS), or listen on 127.0.0.1"
    )]
    NotLoopback(SocketAddr),
    /// The listener's address could not be read.
    #[error("reading the listener's address")]
    Io(#[from] std::io::Error),
    /// The gRPC transport failed.
    #[error("gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// Refuses a non-loopback listen address unless the server uses TLS (plain text only goes to
/// this machine).
pub fn check_listen_addr(addr: SocketAddr, tls: bool) -> Result<(), ServeError> {
    if tls || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(ServeError::NotLoopback(addr))
    }
}

/// Serves every `c1.connector.v2` service over `client` on `listener` until `shutdown`
/// completes, then finishes in-flight calls (bounded by [`ServeOptions::shutdown_grace`]) and
/// returns.
///
/// Without TLS the listener must be bound to a loopback address ([`check_listen_addr`]).
pub async fn serve(
    listener: TcpListener,
    client: Arc<dyn ConnectorClient>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    check_listen_addr(addr, opts.tls.is_some())?;
    let mut builder = Server::builder();
    if let Some(tls) = &opts.tls {
        // tonic builds its rustls config from the process-wide provider; make sure one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
        if let Some(ca) = &tls.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(config)?;
    }
    let limiter = Arc::new(Limiter::default());
    let svc = Arc::new(Services {
        client,
        provisioning: opts.provisioning,
        ready: opts.ready,
        limiter: limiter.clone(),
    });
    info!(
        %addr,
        provisioning = svc.provisioning,
        tls = opts.tls.is_some(),
        mutual_tls = opts.tls.as_ref().is_some_and(|t| t.client_ca_pem.is_some()),
        "serving c1.connector.v2 over gRPC"
    );
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // Requests stay at tonic's default decoding limit (they are small); responses may be large.
    macro_rules! service {
        ($module:ident :: $server:ident) => {
            v2::$module::$server::from_arc(svc.clone()).max_encoding_message_size(MAX_MESSAGE_BYTES)
        };
    }
    // Remember when shutdown starts, to bound the wait for in-flight calls.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        info!("shutting down: no new connections; finishing in-flight calls");
        let _ = started_tx.send(());
    };
    let server = builder
        .add_service(service!(connector_service_server::ConnectorServiceServer))
        .add_service(service!(
            resource_types_service_server::ResourceTypesServiceServer
        ))
        .add_service(service!(resources_service_server::ResourcesServiceServer))
        .add_service(service!(
            entitlements_service_server::EntitlementsServiceServer
        ))
        .add_service(service!(grants_service_server::GrantsServiceServer))
        .add_service(service!(
            grant_manager_service_server::GrantManagerServiceServer
        ))
        .add_service(service!(
            resource_manager_service_server::ResourceManagerServiceServer
        ))
        .add_service(service!(
            resource_deleter_service_server::ResourceDeleterServiceServer
        ))
        .add_service(service!(
            account_manager_service_server::AccountManagerServiceServer
        ))
        .add_service(service!(
            resource_getter_service_server::ResourceGetterServiceServer
        ))
        .add_service(service!(asset_service_server::AssetServiceServer))
        .add_service(service!(event_service_server::EventServiceServer))
        .add_service(service!(tickets_service_server::TicketsServiceServer))
        .add_service(service!(action_service_server::ActionServiceServer))
        .add_service(service!(
            credential_manager_service_server::CredentialManagerServiceServer
        ))
        .add_service(rl::rate_limiter_service_server::RateLimiterServiceServer::from_arc(limiter))
        .serve_with_incoming_shutdown(incoming, signal);
    let grace = opts.shutdown_grace;
    let deadline = async move {
        match (started_rx.await, grace) {
            (Ok(()), Some(grace)) => tokio::time::sleep(grace).await,
            // No bound, or the server ended before shutdown started.
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result?,
        () = deadline => {
            warn!(%addr, ?grace, "in-flight calls did not finish in time; stopping anyway");
        }
    }
    info!(%addr, "gRPC server stopped");
    Ok(())
}

/// The one place a [`ConnectorError`] becomes a gRPC status; the message is kept as is, and a
/// reset time becomes a `RateLimitDescription` in the details.
pub fn status(err: ConnectorError) -> Status {
    let code = match err.code {
        Code::InvalidArgument => tonic::Code::InvalidArgument,
        Code::NotFound => tonic::Code::NotFound,
        Code::AlreadyExists => tonic::Code::AlreadyExists,
        Code::PermissionDenied => tonic::Code::PermissionDenied,
        Code::Unauthenticated => tonic::Code::Unauthenticated,
        Code::FailedPrecondition => tonic::Code::FailedPrecondition,
        Code::Unavailable => tonic::Code::Unavailable,
        Code::Unimplemented => tonic::Code::Unimplemented,
        Code::Cancelled => tonic::Code::Cancelled,
        Code::Internal => tonic::Code::Internal,
    };
    match status_details(code, &err) {
        Some(details) => Status::with_details(code, err.message, details.into()),
        None => Status::new(code, err.message),
    }
}

/// The state behind every service: the client answering, and the server's switches.
struct Services {
    /// Answers the sync RPCs.
    client: Arc<dyn ConnectorClient>,
    /// Whether provisioning RPCs are accepted.
    provisioning: bool,
    /// Set after a successful `Validate`.
    ready: Arc<AtomicBool>,
    /// Learns reset times from failed calls; answers `RateLimiterService`.
    limiter: Arc<Limiter>,
}

impl Services {
    /// Refuses a provisioning RPC unless provisioning is enabled.
    fn check_provisioning(&self) -> Result<(), Status> {
        if self.provisioning {
            Ok(())
        } else {
            Err(Status::failed_precondition(PROVISIONING_DISABLED))
        }
    }

    /// Logs a failed call at warn, tells the limiter its reset time, and turns it into a
    /// status.
    ///
    /// The message may quote outside text (a peer's request field, a Notion error line): it is
    /// logged through [`crate::text::one_line`], escaped and bounded, like every request field
    /// this module records.
    fn reply<T>(
        &self,
        rpc: &str,
        result: Result<T, ConnectorError>,
    ) -> Result<Response<T>, Status> {
        match result {
            Ok(v) => Ok(Response::new(v)),
            Err(err) => {
                let error = crate::text::one_line(&err.message);
                warn!(rpc, code = %err.code, %error, "call failed");
                self.limiter.observe(&err);
                Err(status(err))
            }
        }
    }
}

#[tonic::async_trait]
impl v2::connector_service_server::ConnectorService for Services {
    #[instrument(skip_all)]
    async fn get_metadata(
        &self,
        _request: Request<v2::ConnectorServiceGetMetadataRequest>,
    ) -> Result<Response<v2::ConnectorServiceGetMetadataResponse>, Status> {
        let result = self.client.get_metadata().await.map(|metadata| {
            v2::ConnectorServiceGetMetadataResponse {
                metadata: Some(metadata),
            }
        });
        self.reply("GetMetadata", result)
    }

    #[instrument(skip_all)]
    async fn validate(
        &self,
        _request: Request<v2::ConnectorServiceValidateRequest>,
    ) -> Result<Response<v2::ConnectorServiceValidateResponse>, Status> {
        let result = self.client.validate().await;
        self.ready.store(result.is_ok(), Ordering::Relaxed);
        self.reply("Validate", result)
    }

    async fn cleanup(
        &self,
        _request: Request<v2::ConnectorServiceCleanupRequest>,
    ) -> Result<Response<v2::ConnectorServiceCleanupResponse>, Status> {
        Ok(Response::new(v2::ConnectorServiceCleanupResponse::default()))
    }
}

#[tonic::async_trait]
impl v2::resource_types_service_server::ResourceTypesService for Services {
    #[instrument(skip_all)]
    async fn list_resource_types(
        &self,
        request: Request<v2::ResourceTypesServiceListResourceTypesRequest>,
    ) -> Result<Response<v2::ResourceTypesServiceListResourceTypesResponse>, Status> {
        let result = self.client.list_resource_types(request.into_inner()).await;
        self.reply("ListResourceTypes", result)
    }
}

#[tonic::async_trait]
impl v2::resources_service_server::ResourcesService for Services {
    // The id is the peer's text: escaped and bounded before it becomes a span field.
    #[instrument(
        skip_all,
        fields(resource_type = %crate::text::one_line(&request.get_ref().resource_type_id))
    )]
    async fn list_resources(
        &self,
        request: Request<v2::ResourcesServiceListResourcesRequest>,
    ) -> Result<Response<v2::ResourcesServiceListResourcesResponse>, Status> {
        let result = self.client.list_resources(request.into_inner()).await;
        self.reply("ListResources", result)
    }
}

#[tonic::async_trait]
impl v2::entitlements_service_server::EntitlementsService for Services {
    #[instrument(skip_all)]
    async fn list_entitlements(
        &self,
        request: Request<v2::EntitlementsServiceListEntitlementsRequest>,
    ) -> Result<Response<v2::EntitlementsServiceListEntitlementsResponse>, Status> {
        let result = self.client.list_entitlements(request.into_inner()).await;
        self.reply("ListEntitlements", result)
    }

    #[instrument(skip_all)]
    async fn list_static_entitlements(
        &self,
        request: Request<v2::EntitlementsServiceListStaticEntitlementsRequest>,
    ) -> Result<Response<v2::EntitlementsServiceListStaticEntitlementsResponse>, Status> {
        let result = self
            .client
            .list_static_entitlements(request.into_inner())
            .await;
        self.reply("ListStaticEntitlements", result)
    }
}

#[tonic::async_trait]
impl v2::grants_service_server::GrantsService for Services {
    #[instrument(skip_all)]
    async fn list_grants(
        &self,
        request: Request<v2::GrantsServiceListGrantsRequest>,
    ) -> Result<Response<v2::GrantsServiceListGrantsResponse>, Status> {
        let result = self.client.list_grants(request.into_inner()).await;
        self.reply("ListGrants", result)
    }
}

#[tonic::async_trait]
impl v2::grant_manager_service_server::GrantManagerService for Services {
    #[instrument(skip_all)]
    async fn grant(
        &self,
        request: Request<v2::GrantManagerServiceGrantRequest>,
    ) -> Result<Response<v2::GrantManagerServiceGrantResponse>, Status> {
        self.check_provisioning()?;
        self.reply("Grant", self.client.grant(request.into_inner()).await)
    }

    #[instrument(skip_all)]
    async fn revoke(
        &self,
        request: Request<v2::GrantManagerServiceRevokeRequest>,
    ) -> Result<Response<v2::GrantManagerServiceRevokeResponse>, Status> {
        self.check_provisioning()?;
        self.reply("Revoke", self.client.revoke(request.into_inner()).await)
    }
}

#[tonic::async_trait]
impl v2::account_manager_service_server::AccountManagerService for Services {
    #[instrument(skip_all)]
    async fn create_account(
        &self,
        request: Request<v2::CreateAccountRequest>,
    ) -> Result<Response<v2::CreateAccountResponse>, Status> {
        self.check_provisioning()?;
        let result = self.client.create_account(request.into_inner()).await;
        self.reply("CreateAccount", result)
    }
}

#[tonic::async_trait]
impl v2::resource_manager_service_server::ResourceManagerService for Services {
    #[instrument(skip_all)]
    async fn delete_resource(
        &self,
        request: Request<v2::DeleteResourceRequest>,
    ) -> Result<Response<v2::DeleteResourceResponse>, Status> {
        self.check_provisioning()?;
        let req = request.into_inner();
        let result = self
            .client
            .delete_resource(v2::DeleteResourceV2Request {
                resource_id: req.resource_id,
                parent_resource_id: req.parent_resource_id,
            })
            .await
            .map(|r| v2::DeleteResourceResponse {
                annotations: r.annotations,
            });
        self.reply("DeleteResource", result)
    }
}

#[tonic::async_trait]
impl v2::resource_deleter_service_server::ResourceDeleterService for Services {
    #[instrument(skip_all)]
    async fn delete_resource_v2(
        &self,
        request: Request<v2::DeleteResourceV2Request>,
    ) -> Result<Response<v2::DeleteResourceV2Response>, Status> {
        self.check_provisioning()?;
        let result = self.client.delete_resource(request.into_inner()).await;
        self.reply("DeleteResourceV2", result)
    }
}

#[tonic::async_trait]
impl v2::resource_getter_service_server::ResourceGetterService for Services {
    #[instrument(skip_all)]
    async fn get_resource(
        &self,
        request: Request<v2::ResourceGetterServiceGetResourceRequest>,
    ) -> Result<Response<v2::ResourceGetterServiceGetResourceResponse>, Status> {
        let result = self.client.get_resource(request.into_inner()).await;
        self.reply("GetResource", result)
    }
}

#[tonic::async_trait]
impl v2::action_service_server::ActionService for Services {
    #[instrument(skip_all)]
    async fn list_action_schemas(
        &self,
        request: Request<v2::ListActionSchemasRequest>,
    ) -> Result<Response<v2::ListActionSchemasResponse>, Status> {
        let result = self.client.list_action_schemas(request.into_inner()).await;
        self.reply("ListActionSchemas", result)
    }

    #[instrument(skip_all, fields(action = %crate::text::one_line(&request.get_ref().name)))]
    async fn get_action_schema(
        &self,
        request: Request<v2::GetActionSchemaRequest>,
    ) -> Result<Response<v2::GetActionSchemaResponse>, Status> {
        let result = self.client.get_action_schema(request.into_inner()).await;
        self.reply("GetActionSchema", result)
    }

    // State-changing actions are refused without provisioning by the client, which knows
    // each action's effect; read-only ones run either way.
    #[instrument(skip_all, fields(action = %crate::text::one_line(&request.get_ref().name)))]
    async fn invoke_action(
        &self,
        request: Request<v2::InvokeActionRequest>,
    ) -> Result<Response<v2::InvokeActionResponse>, Status> {
        let result = self
            .client
            .invoke_action(request.into_inner(), self.provisioning)
            .await;
        self.reply("InvokeAction", result)
    }

    #[instrument(skip_all)]
    async fn get_action_status(
        &self,
        request: Request<v2::GetActionStatusRequest>,
    ) -> Result<Response<v2::GetActionStatusResponse>, Status> {
        let result = self.client.get_action_status(request.into_inner()).await;
        self.reply("GetActionStatus", result)
    }
}

// Registered so that clients get a prompt `Unimplemented` (the generated default stubs)
// rather than an unknown-service error.
#[tonic::async_trait]
impl v2::asset_service_server::AssetService for Services {}
#[tonic::async_trait]
impl v2::event_service_server::EventService for Services {}
#[tonic::async_trait]
impl v2::tickets_service_server::TicketsService for Services {}
#[tonic::async_trait]
impl v2::credential_manager_service_server::CredentialManagerService for Services {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_one_to_one() {
        let cases = [
            (Code::InvalidArgument, tonic::Code::InvalidArgument),
            (Code::NotFound, tonic::Code::NotFound),
            (Code::AlreadyExists, tonic::Code::AlreadyExists),
            (Code::PermissionDenied, tonic::Code::PermissionDenied),
            (Code::Unauthenticated, tonic::Code::Unauthenticated),
            (Code::FailedPrecondition, tonic::Code::FailedPrecondition),
            (Code::Unavailable, tonic::Code::Unavailable),
            (Code::Unimplemented, tonic::Code::Unimplemented),
            (Code::Cancelled, tonic::Code::Cancelled),
            (Code::Internal, tonic::Code::Internal),
        ];
        for (ours, theirs) in cases {
            let s = status(ConnectorError::new(ours, "the service's words"));
            assert_eq!(s.code(), theirs, "{ours}");
            assert_eq!(s.message(), "the service's words");
        }
    }

    #[test]
    fn only_loopback_is_allowed() {
        let addr = |s: &str| -> SocketAddr { s.parse().expect("addr") };
        assert!(check_listen_addr(addr("127.0.0.1:50051"), false).is_ok());
        assert!(check_listen_addr(addr("[::1]:50051"), false).is_ok());
        let err = check_listen_addr(addr("0.0.0.0:50051"), false).expect_err("refused");
        assert!(err.to_string().contains("0.0.0.0:50051"), "{err}");
        assert!(err.to_string().contains("--tls-cert"), "{err}");
        assert!(check_listen_addr(addr("10.1.2.3:1"), false).is_err());
        assert!(check_listen_addr(addr("0.0.0.0:50051"), true).is_ok());
    }
}
