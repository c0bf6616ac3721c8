//! `serve`: the connector behind the Baton gRPC services (`c1.connector.v2`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::health::{HealthArgs, join_health};
use super::sync::SyncArgs;
use crate::baton::Local;

/// Flags of the `serve` command.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --tls-cert and --tls-key.
    #[arg(
        long,
        env = "BATON_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: std::net::SocketAddr,
    /// Accept provisioning RPCs (otherwise they answer FailedPrecondition).
    #[arg(short = 'p', long, env = "BATON_PROVISIONING")]
    pub provisioning: bool,
    /// PEM certificate chain to serve gRPC over TLS (with --tls-key).
    #[arg(
        long,
        env = "BATON_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "BATON_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate that client certificates must chain to (mutual TLS).
    #[arg(
        long,
        env = "BATON_TLS_CLIENT_CA",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// HTTP health checks.
    #[command(flatten)]
    pub health: HealthArgs,
}

/// `serve`: the Notion connector behind the gRPC services until `cancel` fires.
pub(super) async fn serve_grpc(
    sync: &SyncArgs,
    args: ServeArgs,
    deprovision: crate::connector::provision::DeprovisionMode,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    use crate::baton::server::{ServeOptions, TlsFiles, check_listen_addr, serve};
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            client_ca_pem: args.tls_client_ca.as_ref().map(read).transpose()?,
        }),
        _ => None,
    };
    check_listen_addr(args.listen, tls.is_some())?;
    let connector = Arc::new(sync.connector(&sync.base_url, &sync.admin_base_url, deprovision)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    crate::ops::output::print(&format!("serving c1.connector.v2 on {addr}\n"))?;
    let opts = ServeOptions {
        provisioning: args.provisioning,
        tls,
        // Calls still running this long after SIGINT/SIGTERM are cut off.
        shutdown_grace: Some(Duration::from_secs(30)),
        ..ServeOptions::default()
    };
    let client: Arc<dyn crate::baton::ConnectorClient> = Arc::new(Local::new(connector));
    let health = args
        .health
        .start(opts.ready.clone(), cancel.clone())
        .await?;
    if health.is_some() {
        // Validate once at start, so readiness does not wait for a client's Validate call.
        let (client, ready) = (client.clone(), opts.ready.clone());
        tokio::spawn(async move {
            match client.validate().await {
                Ok(_) => ready.store(true, std::sync::atomic::Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "validation at start failed; not ready"),
            }
        });
    }
    serve(listener, client, opts, cancel.clone().cancelled_owned()).await?;
    join_health(health).await
}
