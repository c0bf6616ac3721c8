//! The default mode: sync the Notion workspace into `--file`; `demo` (the same against the
//! built-in simulator), the hidden `sync-remote` (the engine against any connector server), and
//! the summary they print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::baton::Local;
use crate::baton::sync::{SyncOptions, SyncReport, sync_to_file};
use crate::connector::NotionConnector;
use crate::connector::org::model::{AdminClient, AdminConfig};
use crate::notion::{self, ClientConfig};
use crate::secret::Secret;
use crate::sim::admin::Organization;
use crate::sim::{DEFAULT_ADMIN_TOKEN, Dataset, SimConfig, Simulator};

/// Flags of the sync (and the demo, which syncs too).
#[derive(Debug, Args, Clone)]
pub struct SyncArgs {
    /// Notion SCIM API token, created by an organization owner (Settings → Identity → SCIM).
    #[arg(
        long,
        env = "BATON_SCIM_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub scim_token: Option<String>,

    /// Notion SCIM base URL (https; plain http only for loopback hosts).
    #[arg(long, env = "BATON_BASE_URL", value_name = "URL", default_value = notion::DEFAULT_BASE_URL, global = true)]
    pub base_url: String,

    /// Notion organization bot token (Admin API), created by an organization owner in the
    /// organization console: adds workspaces, guest bots, personal access tokens, AI clients
    /// and custom agents. Either token alone works; with both, the views are merged.
    #[arg(
        long,
        env = "BATON_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,

    /// Notion Admin API base URL (https; plain http only for loopback hosts).
    #[arg(long, env = "BATON_ADMIN_BASE_URL", value_name = "URL",
          default_value = crate::connector::org::model::DEFAULT_ADMIN_BASE_URL, global = true)]
    pub admin_base_url: String,

    /// The .c1z artifact to write.
    #[arg(
        short = 'f',
        long = "file",
        env = "BATON_FILE",
        value_name = "PATH",
        default_value = "sync.c1z",
        global = true
    )]
    pub file: PathBuf,

    /// Only sync these resource types (comma separated: user, group, role; with an admin
    /// token also workspace, bot, personal_access_token, mcp_client, agent).
    #[arg(
        long,
        env = "BATON_SYNC_RESOURCE_TYPES",
        value_name = "TYPES",
        value_delimiter = ',',
        global = true
    )]
    pub sync_resource_types: Vec<String>,

    /// Sync resources only: no entitlements, no grants.
    #[arg(long, env = "BATON_SKIP_ENTITLEMENTS_AND_GRANTS", global = true)]
    pub skip_entitlements_and_grants: bool,

    /// HTTP timeout per request, in seconds (1-1800).
    #[arg(long, env = "BATON_HTTP_TIMEOUT_SECONDS", value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=1800),
        global = true
    )]
    pub http_timeout_seconds: u64,

    /// Overall deadline of one Notion request, every retry and wait included, in seconds
    /// (1-86400): the timeout times the retries can otherwise hold a sync for half an hour.
    #[arg(long, env = "BATON_REQUEST_DEADLINE_SECONDS", value_name = "SECONDS",
          default_value_t = notion::DEFAULT_REQUEST_DEADLINE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86400), global = true)]
    pub request_deadline_seconds: u64,

    /// Largest Notion response body accepted, in bytes (hidden: the 32 MiB default is about 30
    /// full pages of users).
    #[arg(long, env = "BATON_MAX_RESPONSE_BYTES", value_name = "BYTES", hide = true,
          default_value_t = notion::DEFAULT_MAX_RESPONSE_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=(1 << 32)), global = true)]
    pub max_response_bytes: u64,

    /// Pin the Notion request rate to N per second instead of finding Notion's limit (a 429
    /// still slows it down; it never goes above N).
    #[arg(long, env = "BATON_REQUESTS_PER_SECOND", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub requests_per_second: Option<u32>,

    /// Ceiling of adaptive pacing: the connector finds Notion's limit (slow start, back off on
    /// 429, one shared Retry-After pause) but never sends more than N requests per second.
    #[arg(long, env = "BATON_MAX_REQUESTS_PER_SECOND", value_name = "N",
          default_value_t = notion::DEFAULT_MAX_REQUESTS_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub max_requests_per_second: u32,

    /// Retries of a failed Notion request (429, 502/503/504/529, timeouts, connection errors),
    /// with jittered exponential backoff from 0.5 s and Retry-After honoured; 0 disables them.
    #[arg(long, env = "BATON_MAX_RETRIES", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(0..=20),
        global = true
    )]
    pub max_retries: u32,

    /// Most Notion requests in flight at once.
    #[arg(long, env = "BATON_MAX_CONCURRENCY", value_name = "N",
          default_value_t = notion::DEFAULT_MAX_CONCURRENCY as u32,
          value_parser = clap::value_parser!(u32).range(1..=64),
        global = true
    )]
    pub max_concurrency: u32,

    /// The Baton SDK's targeted-sync and skip flags.
    #[command(flatten)]
    pub sdk: super::sdk_flags::SdkSyncFlags,

    /// Baton SDK flags accepted and ignored on purpose.
    #[command(flatten)]
    pub ignored_sdk: super::sdk_flags::IgnoredSdkFlags,
}

impl SyncArgs {
    /// The SCIM token, or an error that says where one comes from.
    pub fn token(&self) -> anyhow::Result<Secret> {
        self.scim_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
            .context(
                "no SCIM token: pass --scim-token or set BATON_SCIM_TOKEN (an organization owner \
                 creates it under Settings → Identity → SCIM provisioning)",
            )
    }

    /// The organization bot token, when one is given (blank counts as none).
    pub fn admin_secret(&self) -> Option<Secret> {
        self.admin_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
    }

    /// Which views these flags configure: SCIM with a SCIM token, the organization with an
    /// admin token (with neither, SCIM: its error says where a token comes from).
    pub fn view(&self) -> crate::connector::schema::View {
        let scim = self
            .scim_token
            .as_ref()
            .is_some_and(|t| !t.trim().is_empty());
        let admin = self.admin_secret().is_some();
        crate::connector::schema::View {
            scim: scim || !admin,
            admin,
        }
    }

    /// The connector these flags describe: the SCIM view (SCIM token, at `base_url`), the
    /// organization view (admin token, at `admin_base_url`), or both merged. Every mode that
    /// syncs builds its connector here.
    pub fn connector(
        &self,
        base_url: &str,
        admin_base_url: &str,
        mode: crate::connector::provision::DeprovisionMode,
    ) -> anyhow::Result<NotionConnector> {
        let view = self.view();
        let admin = match self.admin_secret() {
            Some(token) => Some(self.admin_client(admin_base_url, token)?),
            None => None,
        };
        let connector = if view.scim {
            let scim = self.client(base_url, self.token()?)?;
            NotionConnector::with_deprovision_mode(scim, mode)
        } else {
            match admin {
                Some(a) => return Ok(NotionConnector::organization(a)),
                None => anyhow::bail!("no SCIM token and no admin token"),
            }
        };
        Ok(match admin {
            Some(a) => connector.with_organization(a),
            None => connector,
        })
    }

    /// The Admin API client these flags describe: the same timeout, retries and limits as
    /// the SCIM client, with a limiter (and pacing) of its own.
    pub fn admin_client(&self, base_url: &str, token: Secret) -> anyhow::Result<AdminClient> {
        let mut cfg = AdminConfig::new(base_url, token);
        cfg.timeout = Duration::from_secs(self.http_timeout_seconds);
        cfg.retry.max_attempts = self.max_retries + 1;
        cfg.request_deadline = Duration::from_secs(self.request_deadline_seconds);
        cfg.max_response_bytes = self.max_response_bytes;
        cfg.limits = self.limits();
        Ok(AdminClient::new(cfg)?)
    }

    fn limits(&self) -> notion::LimitConfig {
        let in_flight = self.max_concurrency as usize;
        match self.requests_per_second {
            Some(n) => notion::LimitConfig::fixed(n, in_flight),
            None => notion::LimitConfig::adaptive(self.max_requests_per_second, in_flight),
        }
    }

    /// The SCIM client these flags describe (timeout, retries, rate and concurrency limits),
    /// against `base_url`. Every mode that talks to Notion builds its client here.
    pub fn client(&self, base_url: &str, token: Secret) -> anyhow::Result<notion::Client> {
        let mut cfg = ClientConfig::new(base_url, token);
        cfg.timeout = Duration::from_secs(self.http_timeout_seconds);
        cfg.retry.max_attempts = self.max_retries + 1;
        cfg.request_deadline = Duration::from_secs(self.request_deadline_seconds);
        cfg.max_response_bytes = self.max_response_bytes;
        cfg.limits = self.limits();
        Ok(notion::Client::new(cfg)?)
    }
}

/// Syncs `connector` into `args.file` and returns the printable summary.
pub(super) async fn sync(
    args: &SyncArgs,
    connector: NotionConnector,
    cancel: CancellationToken,
) -> anyhow::Result<String> {
    let connector = Arc::new(connector);
    let local = Local::new(connector.clone());
    let mut opts = SyncOptions {
        resource_types: (!args.sync_resource_types.is_empty()).then(|| {
            args.sync_resource_types
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        skip_entitlements_and_grants: args.skip_entitlements_and_grants,
        page_size: 0,
        cancel: cancel.clone(),
        observer: crate::ops::progress::observer(),
        ..SyncOptions::default()
    };
    args.sdk.apply(&mut opts)?;
    args.ignored_sdk.log_given();
    // Not raced against `cancel`: the sync stops on it by itself and says truthfully whether
    // the artifact was replaced (a signal after the rename still ends in success).
    let report = sync_to_file(&local, &args.file, opts).await?;
    let scim_counts = connector
        .client()
        .map(|c| c.request_counts())
        .unwrap_or_default();
    let mut out = summary(&report, &args.file, &scim_counts, &[]);
    if let Some(scim) = connector.client() {
        // Retries go on their own line after the request counts (which already include them).
        let retries = scim.retries();
        if retries > 0 {
            let _ = writeln!(out, "  {:<16}{:>8}", "retries", retries);
        }
        let sent: u64 = scim_counts.values().sum();
        out.push_str(&pacing_lines(
            "pacing",
            &scim.pacing(),
            sent,
            report.duration,
        ));
    }
    if let Some(admin) = connector.admin_client() {
        let counts = admin.request_counts();
        out.push_str(&request_line("admin requests", &counts));
        let retries = admin.retries();
        if retries > 0 {
            let _ = writeln!(out, "  {:<16}{:>8}", "admin retries", retries);
        }
        let sent: u64 = counts.values().sum();
        out.push_str(&pacing_lines(
            "admin pacing",
            &admin.pacing(),
            sent,
            report.duration,
        ));
    }
    for w in connector.warnings() {
        let _ = writeln!(out, "warning: {}", crate::text::one_line(&w.to_string()));
    }
    Ok(out)
}

/// One summary line of requests by endpoint, `label` first.
fn request_line(label: &str, requests: &BTreeMap<String, u64>) -> String {
    let total: u64 = requests.values().sum();
    let by: Vec<String> = requests
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    format!("  {label:<16}{total:>8}  ({})\n", by.join(", "))
}

/// The summary's pacing lines of one client (`label`: `pacing` for SCIM, `admin pacing`):
/// 429s and pauses (when there were any), and the rates.
pub fn pacing_lines(label: &str, p: &notion::PacingStats, sent: u64, took: Duration) -> String {
    let limited = if label == "pacing" {
        "rate-limited".to_owned()
    } else {
        format!("{} rate-limited", label.trim_end_matches(" pacing"))
    };
    let mut out = String::new();
    if p.rate_limited > 0 {
        let _ = writeln!(
            out,
            "  {:<16}{:>8}  (429s; every request paused {:.1} s in all)",
            limited,
            p.rate_limited,
            p.paused.as_secs_f64()
        );
    }
    let achieved = sent as f64 / took.as_secs_f64().max(1e-3);
    let _ = writeln!(
        out,
        "  {:<16}{:>8}  {achieved:.1} requests/s achieved, last {:.1}, peak {:.1}, ceiling {:.0}",
        label,
        if p.adaptive { "adaptive" } else { "fixed" },
        p.rate,
        p.peak_rate,
        p.ceiling
    );
    out
}

/// The human summary of a finished sync; `requests` are the Notion requests by endpoint, empty
/// when this process made none itself.
pub fn summary(
    report: &SyncReport,
    file: &Path,
    requests: &BTreeMap<String, u64>,
    warnings: &[String],
) -> String {
    let s = &report.stats;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Synced into {} in {:.2} s (sync {}, {} bytes)",
        file.display(),
        report.duration.as_secs_f64(),
        report.sync_id,
        report.saved.bytes_written
    );
    let _ = writeln!(out, "  {:<16}{:>8}", "resource types", s.resource_types);
    // Resource type ids come from the connector, over gRPC from a peer: shown escaped, capped.
    for (t, n) in &s.resources_by_resource_type {
        let t = crate::text::cell(t, crate::ops::output::ID_WIDTH);
        // A name past the 16-column label (`personal_access_token`) takes room from the count,
        // so the counts still end in one column.
        let width = 24usize.saturating_sub(t.chars().count().max(16)).max(1);
        let _ = writeln!(out, "  {t:<16}{n:>width$}");
    }
    let _ = writeln!(out, "  {:<16}{:>8}", "entitlements", s.entitlements);
    let _ = writeln!(out, "  {:<16}{:>8}", "grants", s.grants);
    let d = &report.dropped;
    if d.total() > 0 {
        let _ = writeln!(
            out,
            "  {:<16}{:>8}  (not in this sync: {} entitlement, {} principal)",
            "dropped grants",
            d.total(),
            d.missing_entitlement,
            d.missing_principal
        );
    }
    // A sync over gRPC sees no Notion requests (the server makes them): say nothing then.
    if !requests.is_empty() {
        out.push_str(&request_line("requests", requests));
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {}", crate::text::one_line(w));
    }
    out
}

pub(super) async fn demo(args: &SyncArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let dataset = Dataset::reference();
    let config = SimConfig {
        organization: Some(Organization::reference(&dataset)),
        ..SimConfig::default()
    };
    let token = Secret::new(config.token.clone());
    let admin_token = Secret::new(DEFAULT_ADMIN_TOKEN);
    let sim = Simulator::start(dataset, config, 0)
        .await
        .context("starting the Notion simulator on 127.0.0.1")?;
    let announced = crate::ops::output::print(&format!(
        "Notion simulator serving the reference workspace at {} and its organization at {}\n",
        sim.base_url(),
        sim.admin_base_url()
    ));
    let connector = || -> anyhow::Result<NotionConnector> {
        let scim = args.client(&sim.base_url(), token)?;
        let admin = args.admin_client(&sim.admin_base_url(), admin_token)?;
        Ok(NotionConnector::new(scim).with_organization(admin))
    };
    let result = match announced
        .map_err(anyhow::Error::from)
        .and_then(|()| connector())
    {
        Ok(connector) => sync(args, connector, cancel).await,
        Err(e) => Err(e),
    };
    sim.shutdown().await;
    crate::ops::output::print(&result?)?;
    Ok(())
}

/// Flags of the hidden `sync-remote` command.
#[derive(Debug, Args)]
pub struct SyncRemoteArgs {
    /// The connector server to sync from, as HOST:PORT (or an http:// URL).
    #[arg(long, env = "BATON_CONNECTOR_ADDR", value_name = "HOST:PORT")]
    pub connector_addr: String,
    /// Connect over TLS, trusting this PEM CA certificate for the server.
    #[arg(long, env = "BATON_CONNECTOR_TLS_CA", value_name = "PATH")]
    pub connector_tls_ca: Option<PathBuf>,
}

/// `sync-remote`: the sync engine driving a connector server over gRPC.
pub(super) async fn sync_remote(
    sync: &SyncArgs,
    args: SyncRemoteArgs,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let tls = match &args.connector_tls_ca {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(pem)),
            )
        }
        None => None,
    };
    let remote = crate::baton::remote::Remote::connect_with(&args.connector_addr, tls).await?;
    let mut opts = SyncOptions {
        resource_types: (!sync.sync_resource_types.is_empty())
            .then(|| sync.sync_resource_types.clone()),
        skip_entitlements_and_grants: sync.skip_entitlements_and_grants,
        cancel: cancel.clone(),
        ..SyncOptions::default()
    };
    sync.sdk.apply(&mut opts)?;
    // Not raced against `cancel`: see `sync`.
    let report = sync_to_file(&remote, &sync.file, opts).await?;
    crate::ops::output::print(&summary(&report, &sync.file, &BTreeMap::new(), &[]))?;
    Ok(())
}
