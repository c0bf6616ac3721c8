//! Health check flags and server, shared by `serve` and service mode.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

/// Health check flags, shared by `serve` and service mode.
#[derive(Debug, Args, Clone)]
pub struct HealthArgs {
    /// Serve HTTP health checks (/live, /ready, /health); ready once Validate has succeeded
    /// (`serve`) or ConductorOne has acknowledged Hello (service mode).
    #[arg(long, env = "BATON_HEALTH_CHECK")]
    pub health_check: bool,
    /// Port of the health check server.
    #[arg(
        long,
        env = "BATON_HEALTH_CHECK_PORT",
        value_name = "PORT",
        default_value_t = 8081
    )]
    pub health_check_port: u16,
    /// Address the health check server binds to.
    #[arg(
        long,
        env = "BATON_HEALTH_CHECK_BIND_ADDRESS",
        value_name = "IP",
        default_value = "127.0.0.1"
    )]
    pub health_check_bind_address: std::net::IpAddr,
}

impl HealthArgs {
    /// Binds and starts the health check server when `--health-check` is on; it reports ready
    /// while `ready` is true and stops when `stop` fires.
    pub async fn start(
        &self,
        ready: Arc<AtomicBool>,
        stop: CancellationToken,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
        if !self.health_check {
            return Ok(None);
        }
        let addr =
            std::net::SocketAddr::new(self.health_check_bind_address, self.health_check_port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the health check server to {addr}"))?;
        Ok(Some(tokio::spawn(
            crate::baton::server::health::serve_health(listener, ready, stop.cancelled_owned()),
        )))
    }
}

/// Waits for a health check server started by [`HealthArgs::start`].
pub(super) async fn join_health(
    health: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
) -> anyhow::Result<()> {
    if let Some(health) = health {
        health
            .await
            .context("the health check server panicked")?
            .context("health check server")?;
    }
    Ok(())
}
