//! Service mode: with `--client-id` and `--client-secret`, a daemon that ConductorOne drives.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::Cli;
use super::health::{HealthArgs, join_health};
use crate::baton::Local;
use crate::secret::Secret;

/// Flags of service mode: with `--client-id` and `--client-secret` the binary runs as a
/// long-lived daemon that ConductorOne drives (see [`crate::baton::service`]).
#[derive(Debug, Args, Clone)]
pub struct ServiceArgs {
    /// ConductorOne client id (NAME@TENANT-HOST/SUFFIX). With --client-secret, run as a
    /// daemon that ConductorOne drives: it polls for sync and provisioning tasks.
    #[arg(
        long,
        env = "BATON_CLIENT_ID",
        value_name = "ID",
        requires = "client_secret"
    )]
    pub client_id: Option<String>,
    /// ConductorOne client secret (A:B:v1:KEY), shown once when the credential is created.
    #[arg(
        long,
        env = "BATON_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        requires = "client_id"
    )]
    pub client_secret: Option<Secret>,
    /// Accept provisioning tasks (grant, revoke, create account, delete) and actions that
    /// change state (also --invoke-action); without it they fail with FailedPrecondition and
    /// change nothing.
    #[arg(short = 'p', long, env = "BATON_PROVISIONING")]
    pub provisioning: bool,
    /// Most tasks run at once.
    #[arg(long, env = "BATON_TASK_CONCURRENCY", value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub task_concurrency: u32,
    /// This host's id as ConductorOne shows it (default: the host name).
    #[arg(long, env = "BATON_HOST_ID", value_name = "ID")]
    pub host_id: Option<String>,
    /// Reach ConductorOne (token endpoint and BatonService) at this HOST:PORT instead of the
    /// tenant host (testing).
    #[arg(long, env = "BATON_C1_API_HOST", value_name = "HOST:PORT", hide = true)]
    pub c1_api_host: Option<String>,
    /// Also trust this PEM CA certificate for ConductorOne (testing, TLS-inspecting proxies).
    #[arg(long, env = "BATON_C1_CA_CERT", value_name = "PATH", hide = true)]
    pub c1_ca_cert: Option<PathBuf>,
    /// HTTP health checks.
    #[command(flatten)]
    pub health: HealthArgs,
}

/// Service mode: the Notion connector as a daemon that ConductorOne drives, until `cancel`.
pub(super) async fn service(cli: &Cli, cancel: CancellationToken) -> anyhow::Result<()> {
    use crate::baton::service::{ClientId, ServiceConfig, SigningKey, hostname, run};
    let args = &cli.service;
    if cli.one_shot.action()?.is_some() {
        bail!("service mode (--client-id/--client-secret) cannot be combined with one-shot flags");
    }
    // Credentials first: no I/O happens before they are known to be well-formed.
    let client_id = ClientId::parse(args.client_id.as_deref().unwrap_or_default())?;
    let secret = args
        .client_secret
        .as_ref()
        .context("--client-id needs --client-secret (or BATON_CLIENT_SECRET)")?;
    let key = SigningKey::from_client_secret(secret.expose())?;
    let extra_ca_pem = args
        .c1_ca_cert
        .as_ref()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let connector = Arc::new(cli.sync.connector(
        &cli.sync.base_url,
        &cli.sync.admin_base_url,
        cli.one_shot.deprovision_mode,
    )?);
    let client: Arc<dyn crate::baton::ConnectorClient> = Arc::new(Local::new(connector));
    let ready = Arc::new(AtomicBool::new(false));
    // The health server outlives the daemon's own shutdown only until we stop it below.
    let stop_health = cancel.child_token();
    let health = args
        .health
        .start(ready.clone(), stop_health.clone())
        .await?;
    let config = ServiceConfig {
        client_id,
        key,
        api_host: args.c1_api_host.clone().filter(|h| !h.trim().is_empty()),
        extra_ca_pem,
        host_id: args
            .host_id
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(hostname),
        provisioning: args.provisioning,
        task_concurrency: args.task_concurrency as usize,
        package: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ready,
        // Running tasks get this long to report after SIGTERM (Kubernetes allows 30 s).
        shutdown_grace: Duration::from_secs(10),
    };
    let outcome = run(config, client, cancel).await;
    stop_health.cancel();
    join_health(health).await?;
    Ok(outcome?)
}
