//! The command line: flags and environment (Baton conventions), then the chosen mode.
//!
//! Parsing ([`Cli`]) does no I/O; [`run`] validates it into clients and runs one mode:
//! - default: sync the Notion workspace into `--file`;
//! - service mode (`--client-id` + `--client-secret`): a daemon that ConductorOne drives
//!   ([`crate::baton::service`]), syncing and provisioning on its behalf;
//! - `demo`: start the built-in simulator with the reference workspace and sync from it;
//! - `sim` (hidden): serve the simulator until interrupted, for manual use;
//! - `inspect`, `diff`: read `.c1z` files (see [`crate::ops`]); `completion`: shell scripts.
//!
//! Before parsing, `main` feeds `.baton.yaml` / `$BATON_CONFIG_PATH` into unset `BATON_*`
//! variables ([`config_file`]), so flags > environment > file > defaults.
//!
//! Logs go to stderr; the summary of a finished sync goes to stdout. Every failure ends as one
//! line on stderr and exit status 1 (usage errors: 2, from clap; `diff --fail-on-change` with
//! changes: 3, via [`ExitStatus`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::baton::Local;
use crate::baton::sync::{SyncOptions, SyncReport, sync_to_file};
use crate::connector::NotionConnector;
use crate::notion::{self, ClientConfig};
use crate::secret::Secret;
use crate::sim::{Dataset, GenSpec, SimConfig, Simulator};

const AFTER_HELP: &str = "\
Every flag can also be set from the environment as BATON_<FLAG> (e.g. BATON_SCIM_TOKEN).

Settings can also come from a YAML file, ./.baton.yaml or the file named by BATON_CONFIG_PATH,
keyed by flag name (e.g. `scim-token: ...`); precedence: flags > environment > file > defaults.

Exit status: 0 on success; 1 when the sync or command failed (the previous artifact is left
untouched); 2 for invalid flags; 3 when `diff --fail-on-change` found changes.";

/// Sync a Notion Enterprise workspace (members, groups, workspace roles) into a Baton `.c1z`.
#[derive(Debug, Parser)]
#[command(name = "baton-notion", version, about, after_help = AFTER_HELP, disable_version_flag = true)]
pub struct Cli {
    /// Print version information.
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,

    /// Logging flags, shared by every mode.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to sync and where to.
    #[command(flatten)]
    pub sync: SyncArgs,

    /// One-shot provisioning (instead of a sync).
    #[command(flatten)]
    pub one_shot: crate::provisioning::OneShotArgs,

    /// Service mode: run as a daemon that ConductorOne drives.
    #[command(flatten, next_help_heading = "Service mode")]
    pub service: ServiceArgs,

    /// A mode other than the default sync.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every mode shares.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Log level: debug, info, warn, error.
    #[arg(
        long,
        env = "BATON_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL",
        global = true
    )]
    pub log_level: LogLevel,

    /// Log format; console on a terminal, json otherwise.
    #[arg(long, env = "BATON_LOG_FORMAT", value_name = "FORMAT", global = true)]
    pub log_format: Option<LogFormat>,

    /// No progress bars (they are drawn only when stderr is a terminal and logs are not JSON).
    #[arg(long, env = "BATON_NO_PROGRESS", global = true)]
    pub no_progress: bool,
}

/// Flags of the sync (and the demo, which syncs too).
#[derive(Debug, Args, Clone)]
pub struct SyncArgs {
    /// Notion SCIM API token, created by an organization owner (Settings → Identity → SCIM).
    #[arg(
        long,
        env = "BATON_SCIM_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub scim_token: Option<String>,

    /// Notion SCIM base URL (https; plain http only for loopback hosts).
    #[arg(long, env = "BATON_BASE_URL", value_name = "URL", default_value = notion::DEFAULT_BASE_URL)]
    pub base_url: String,

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

    /// Only sync these resource types (comma separated: user, group, role).
    #[arg(
        long,
        env = "BATON_SYNC_RESOURCE_TYPES",
        value_name = "TYPES",
        value_delimiter = ','
    )]
    pub sync_resource_types: Vec<String>,

    /// Sync resources only: no entitlements, no grants.
    #[arg(long, env = "BATON_SKIP_ENTITLEMENTS_AND_GRANTS")]
    pub skip_entitlements_and_grants: bool,

    /// HTTP timeout per request, in seconds (1-1800).
    #[arg(long, env = "BATON_HTTP_TIMEOUT_SECONDS", value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=1800))]
    pub http_timeout_seconds: u64,

    /// Pin the Notion request rate to N per second instead of finding Notion's limit (a 429
    /// still slows it down; it never goes above N).
    #[arg(long, env = "BATON_REQUESTS_PER_SECOND", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub requests_per_second: Option<u32>,

    /// Ceiling of adaptive pacing: the connector finds Notion's limit (slow start, back off on
    /// 429, one shared Retry-After pause) but never sends more than N requests per second.
    #[arg(long, env = "BATON_MAX_REQUESTS_PER_SECOND", value_name = "N",
          default_value_t = notion::DEFAULT_MAX_REQUESTS_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_requests_per_second: u32,

    /// Retries of a failed Notion request (429, 502/503/504/529, timeouts, connection errors),
    /// with jittered exponential backoff from 0.5 s and Retry-After honoured; 0 disables them.
    #[arg(long, env = "BATON_MAX_RETRIES", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(0..=20))]
    pub max_retries: u32,

    /// Most Notion requests in flight at once.
    #[arg(long, env = "BATON_MAX_CONCURRENCY", value_name = "N",
          default_value_t = notion::DEFAULT_MAX_CONCURRENCY as u32,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_concurrency: u32,
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

    /// The SCIM client these flags describe (timeout, retries, rate and concurrency limits),
    /// against `base_url`. Every mode that talks to Notion builds its client here.
    pub fn client(&self, base_url: &str, token: Secret) -> anyhow::Result<notion::Client> {
        let mut cfg = ClientConfig::new(base_url, token);
        cfg.timeout = Duration::from_secs(self.http_timeout_seconds);
        cfg.retry.max_attempts = self.max_retries + 1;
        let in_flight = self.max_concurrency as usize;
        cfg.limits = match self.requests_per_second {
            Some(n) => notion::LimitConfig::fixed(n, in_flight),
            None => notion::LimitConfig::adaptive(self.max_requests_per_second, in_flight),
        };
        Ok(notion::Client::new(cfg)?)
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the built-in Notion simulator with a small reference workspace, sync it into
    /// --file and print the summary. Needs no token and no network.
    Demo,
    /// Add a Notion member (idempotent: an existing member is reported, not duplicated).
    Provision(crate::provisioning::ProvisionArgs),
    /// Benchmark end-to-end syncs against the simulator (see BENCHMARKS.md).
    #[command(hide = true)]
    Bench(crate::bench::BenchArgs),
    /// Serve the Notion SCIM simulator until interrupted (for manual testing).
    #[command(hide = true)]
    Sim(SimArgs),
    /// Print the connector's capabilities as protojson. Needs no credentials.
    Capabilities,
    /// Print the connector's configuration schema as protojson. Needs no credentials.
    Config,
    /// Serve the connector over gRPC (the c1.connector.v2 services) until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Sync from any Baton connector server over gRPC into --file.
    #[command(hide = true)]
    SyncRemote(SyncRemoteArgs),
    /// List what a .c1z holds: stats, syncs, resource types, resources, entitlements, grants.
    Inspect(InspectArgs),
    /// Show what changed between the two newest finished full syncs of --file (or against
    /// another .c1z): users added/removed/enabled/disabled, role changes, group memberships.
    Diff(DiffArgs),
    /// Print a shell completion script to stdout.
    Completion(CompletionArgs),
}

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
async fn join_health(
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
    /// Accept provisioning tasks (grant, revoke, create account, delete); without it they fail
    /// with FailedPrecondition and change nothing.
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

/// Flags of the hidden `sim` command.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Bearer token the simulator accepts.
    #[arg(long, default_value = "sim-token")]
    pub token: String,
    /// Generate this many users instead of serving the reference workspace.
    #[arg(long)]
    pub users: Option<usize>,
    /// Generated groups.
    #[arg(long, default_value_t = 0)]
    pub groups: usize,
    /// Members per generated group.
    #[arg(long, default_value_t = 0)]
    pub members: usize,
    /// Seed of the generated workspace.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra random latency per request, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Seed of the injected faults.
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Share of requests (0-1) answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub rate_limit_share: f64,
    /// Retry-After of injected 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Enforce a limit of N requests per second per token (token bucket); beyond it, 429 with
    /// an honest Retry-After.
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,
    /// Token-bucket size of --rate-limit (default: one second's worth).
    #[arg(long, value_name = "N")]
    pub rate_limit_burst: Option<u32>,
    /// Enforce at most N requests in flight; beyond it, 429 (or a wait, with
    /// --rate-limit-queue).
    #[arg(long, value_name = "N")]
    pub rate_limit_concurrency: Option<u32>,
    /// Requests beyond --rate-limit-concurrency wait (slow answers) instead of 429.
    #[arg(long)]
    pub rate_limit_queue: bool,
    /// Share of requests (0-1) answered 500, 502 or 503.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub server_error_share: f64,
    /// Share of requests (0-1) whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub drop_connection_share: f64,
    /// Share of successful answers (0-1) whose JSON body is cut in half.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub malformed_json_share: f64,
    /// Share of requests (0-1) handled but whose response is lost (connection dropped).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub lose_response_share: f64,
    /// Share of successful answers (0-1) whose body trickles out in 4 chunks.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub slow_body_share: f64,
    /// Pause before each chunk of a slow body, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub slow_body_delay_ms: u64,
    /// Added to totalResults on every list page after the first (may be negative).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub total_results_drift: i64,
    /// Users removed and added after each /Users list page.
    #[arg(long, default_value_t = 0)]
    pub churn_users_per_page: usize,
    /// Serve each list page's resources in a random order.
    #[arg(long)]
    pub shuffle_pages: bool,
}

/// Parses a share in `0.0..=1.0`.
fn parse_share(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("expected a share between 0 and 1, got {value:?}")),
    }
}

/// Log levels.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevel {
    /// Everything, including each HTTP request.
    Debug,
    /// Progress and summaries.
    Info,
    /// Problems worth a look.
    Warn,
    /// Failures only.
    Error,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Console,
    /// One JSON object per line.
    Json,
}

/// Sets up logging on stderr.
pub fn init_logging(global: &GlobalArgs) {
    let level = match global.log_level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    // Our own crate at the chosen level; chatty dependencies only from warn up.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("warn,baton_notion={level}"))
    });
    let format = global
        .log_format
        .unwrap_or(if std::io::stderr().is_terminal() {
            LogFormat::Console
        } else {
            LogFormat::Json
        });
    // Progress bars only for a person at a terminal reading console logs.
    crate::ops::progress::init(
        std::io::stderr().is_terminal() && format == LogFormat::Console && !global.no_progress,
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::ops::progress::LogWriter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Console => builder.with_target(false).try_init(),
    };
}

/// Runs the parsed command line until done or `cancel` fires.
pub async fn run(cli: Cli, cancel: CancellationToken) -> anyhow::Result<()> {
    match cli.command {
        None if cli.service.client_id.is_some() => service(&cli, cancel).await,
        None => match cli.one_shot.action()? {
            Some(action) => crate::provisioning::one_shot(&cli.sync, &cli.one_shot, action).await,
            None => {
                let token = cli.sync.token()?;
                let report = sync(&cli.sync, &cli.sync.base_url, token, cancel).await?;
                print!("{report}");
                Ok(())
            }
        },
        Some(Command::Demo) => demo(&cli.sync, cancel).await,
        Some(Command::Provision(args)) => {
            crate::provisioning::provision_member(&cli.sync, &args).await
        }
        Some(Command::Bench(args)) => {
            tokio::task::spawn_blocking(move || crate::bench::run(&args)).await?
        }
        Some(Command::Sim(args)) => serve_sim(args, cancel).await,
        Some(Command::Capabilities) => print_json(crate::baton::schema::capabilities_json(
            &crate::connector::schema::capabilities(),
        )),
        Some(Command::Config) => print_json(crate::baton::schema::to_json(
            &crate::connector::schema::config_schema(),
        )),
        Some(Command::Serve(args)) => {
            serve_grpc(&cli.sync, args, cli.one_shot.deprovision_mode, cancel).await
        }
        Some(Command::SyncRemote(args)) => sync_remote(&cli.sync, args, cancel).await,
        Some(Command::Inspect(args)) => inspect(&cli.sync.file, args).await,
        Some(Command::Diff(args)) => diff(&cli.sync.file, args).await,
        Some(Command::Completion(args)) => {
            completion(args);
            Ok(())
        }
    }
}

/// Syncs from `base_url` into `args.file` and returns the printable summary.
async fn sync(
    args: &SyncArgs,
    base_url: &str,
    token: Secret,
    cancel: CancellationToken,
) -> anyhow::Result<String> {
    let client = args.client(base_url, token)?;
    let connector = Arc::new(NotionConnector::new(client));
    let local = Local::new(connector.clone());
    let opts = SyncOptions {
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
    };
    let report = tokio::select! {
        r = sync_to_file(&local, &args.file, opts) => r?,
        () = cancel.cancelled() => bail!("sync interrupted; {} was left as it was", args.file.display()),
    };
    // Retries go on their own line after the request counts (which already include them).
    let mut out = summary(
        &report,
        &args.file,
        &connector.client().request_counts(),
        &[],
    );
    let retries = connector.client().retries();
    if retries > 0 {
        let _ = writeln!(out, "  {:<16}{:>8}", "retries", retries);
    }
    let sent: u64 = connector.client().request_counts().values().sum();
    out.push_str(&pacing_lines(
        &connector.client().pacing(),
        sent,
        report.duration,
    ));
    for w in connector.warnings() {
        let _ = writeln!(out, "warning: {w}");
    }
    Ok(out)
}

/// The summary's pacing lines: 429s and pauses (when there were any), and the rates.
pub fn pacing_lines(p: &notion::PacingStats, sent: u64, took: Duration) -> String {
    let mut out = String::new();
    if p.rate_limited > 0 {
        let _ = writeln!(
            out,
            "  {:<16}{:>8}  (429s; every request paused {:.1} s in all)",
            "rate-limited",
            p.rate_limited,
            p.paused.as_secs_f64()
        );
    }
    let achieved = sent as f64 / took.as_secs_f64().max(1e-3);
    let _ = writeln!(
        out,
        "  {:<16}{:>8}  {achieved:.1} requests/s achieved, last {:.1}, peak {:.1}, ceiling {:.0}",
        "pacing",
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
    for (t, n) in &s.resources_by_resource_type {
        let _ = writeln!(out, "  {:<16}{:>8}", t, n);
    }
    let _ = writeln!(out, "  {:<16}{:>8}", "entitlements", s.entitlements);
    let _ = writeln!(out, "  {:<16}{:>8}", "grants", s.grants);
    let total: u64 = requests.values().sum();
    let by: Vec<String> = requests
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    // A sync over gRPC sees no Notion requests (the server makes them): say nothing then.
    if !requests.is_empty() {
        let _ = writeln!(out, "  {:<16}{:>8}  ({})", "requests", total, by.join(", "));
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

async fn demo(args: &SyncArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let config = SimConfig::default();
    let token = Secret::new(config.token.clone());
    let sim = Simulator::start(Dataset::reference(), config, 0)
        .await
        .context("starting the Notion simulator on 127.0.0.1")?;
    println!(
        "Notion simulator serving the reference workspace at {}",
        sim.base_url()
    );
    let result = sync(args, &sim.base_url(), token, cancel).await;
    sim.shutdown().await;
    print!("{}", result?);
    Ok(())
}

/// Writes protojson to stdout exactly as rendered (no trailing newline).
fn print_json(json: Result<String, crate::baton::schema::SchemaError>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let json = json.context("rendering protojson")?;
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// `serve`: the Notion connector behind the gRPC services until `cancel` fires.
async fn serve_grpc(
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
    let client = sync.client(&sync.base_url, sync.token()?)?;
    let connector = Arc::new(NotionConnector::with_deprovision_mode(client, deprovision));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    println!("serving c1.connector.v2 on {addr}");
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

/// Service mode: the Notion connector as a daemon that ConductorOne drives, until `cancel`.
async fn service(cli: &Cli, cancel: CancellationToken) -> anyhow::Result<()> {
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
    let notion = cli.sync.client(&cli.sync.base_url, cli.sync.token()?)?;
    let connector = Arc::new(NotionConnector::with_deprovision_mode(
        notion,
        cli.one_shot.deprovision_mode,
    ));
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

/// `sync-remote`: the sync engine driving a connector server over gRPC.
async fn sync_remote(
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
    let opts = SyncOptions {
        resource_types: (!sync.sync_resource_types.is_empty())
            .then(|| sync.sync_resource_types.clone()),
        skip_entitlements_and_grants: sync.skip_entitlements_and_grants,
        cancel: cancel.clone(),
        ..SyncOptions::default()
    };
    let report = tokio::select! {
        r = sync_to_file(&remote, &sync.file, opts) => r?,
        () = cancel.cancelled() => bail!("sync interrupted; {} was left as it was", sync.file.display()),
    };
    print!("{}", summary(&report, &sync.file, &BTreeMap::new(), &[]));
    Ok(())
}

async fn serve_sim(args: SimArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let dataset = match args.users {
        None => Dataset::reference(),
        Some(users) => Dataset::generate(&GenSpec {
            users,
            groups: args.groups,
            members_per_group: args.members,
            seed: args.seed,
            ..GenSpec::default()
        }),
    };
    let config = SimConfig {
        token: args.token,
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        fault_seed: args.fault_seed,
        rate_limit_share: args.rate_limit_share,
        retry_after_secs: args.retry_after_secs,
        server_error_share: args.server_error_share,
        drop_connection_share: args.drop_connection_share,
        malformed_json_share: args.malformed_json_share,
        lose_response_share: args.lose_response_share,
        slow_body_share: args.slow_body_share,
        slow_body_delay: Duration::from_millis(args.slow_body_delay_ms),
        total_results_drift: args.total_results_drift,
        churn_users_per_page: args.churn_users_per_page,
        shuffle_pages: args.shuffle_pages,
        rate_limit: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        rate_limit_concurrency: args.rate_limit_concurrency,
        rate_limit_concurrency_queue: args.rate_limit_queue,
        ..SimConfig::default()
    };
    let (users, groups) = (dataset.users.len(), dataset.groups.len());
    let sim = Simulator::start(dataset, config, args.port)
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    println!(
        "Notion simulator: {users} users, {groups} groups at {}",
        sim.base_url()
    );
    cancel.cancelled().await;
    sim.shutdown().await;
    Ok(())
}

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: crate::ops::inspect::What,
    /// Only this resource type (resources, entitlements and grants).
    #[arg(short = 't', long = "resource-type", value_name = "TYPE")]
    pub resource_type: Option<String>,
    /// Show this sync run instead of the latest finished full sync.
    #[arg(long, value_name = "SYNC_ID")]
    pub sync_id: Option<String>,
    /// Output: an aligned table, or JSON for scripts (shapes documented in `ops::inspect`).
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "table",
        value_name = "FORMAT"
    )]
    pub output: crate::ops::Format,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare the newest finished full sync of --file with the newest of this older .c1z
    /// (the baseline), instead of the two newest syncs inside --file.
    #[arg(long, value_name = "PATH")]
    pub against: Option<PathBuf>,
    /// Output: an aligned table, or JSON for scripts (shape documented in `ops::diff`).
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "table",
        value_name = "FORMAT"
    )]
    pub output: crate::ops::Format,
    /// Exit with status 3 when anything changed (for alerting from cron).
    #[arg(long)]
    pub fail_on_change: bool,
}

/// Flags of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Shells `completion` supports.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// A run that ended with a documented non-zero status and nothing more to say
/// (`diff --fail-on-change` found changes: 3). `main` exits with the code without an error line.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitStatus(pub u8);

/// Exit status of `diff --fail-on-change` when something changed.
pub const EXIT_CHANGED: u8 = 3;

async fn inspect(file: &Path, args: InspectArgs) -> anyhow::Result<()> {
    let file = file.to_path_buf();
    let opts = crate::ops::inspect::Options {
        sync_id: args.sync_id,
        resource_type: args.resource_type,
        format: args.output,
    };
    let what = args.what;
    let out = tokio::task::spawn_blocking(move || crate::ops::inspect::inspect(&file, what, &opts))
        .await
        .context("the inspect task failed")??;
    print!("{out}");
    Ok(())
}

async fn diff(file: &Path, args: DiffArgs) -> anyhow::Result<()> {
    let file = file.to_path_buf();
    let against = args.against.clone();
    let report =
        tokio::task::spawn_blocking(move || crate::ops::diff::diff(&file, against.as_deref()))
            .await
            .context("the diff task failed")??;
    print!("{}", report.render(args.output));
    if args.fail_on_change && report.changed {
        return Err(ExitStatus(EXIT_CHANGED).into());
    }
    Ok(())
}

fn completion(args: CompletionArgs) {
    use clap_complete::Shell;
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "baton-notion", &mut std::io::stdout());
}

/// Reads the configuration file, if any: `$BATON_CONFIG_PATH`, else `./.baton.yaml` (see
/// [`crate::ops::config_file`]). The caller applies [`ConfigFile::values`] to the environment
/// before parsing, for variables that are unset, which yields flags > environment > file >
/// defaults.
///
/// [`ConfigFile::values`]: crate::ops::config_file::ConfigFile::values
pub fn config_file() -> anyhow::Result<Option<crate::ops::config_file::ConfigFile>> {
    use crate::ops::config_file::{CONFIG_PATH_ENV, locate, read};
    let env = std::env::var(CONFIG_PATH_ENV).ok();
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let Some(path) = locate(env.as_deref(), &cwd) else {
        return Ok(None);
    };
    let known = known_env_vars(&<Cli as clap::CommandFactory>::command());
    Ok(Some(read(&path, &known)?))
}

/// Every `BATON_*` variable any flag of `cmd` (or its subcommands) reads.
fn known_env_vars(cmd: &clap::Command) -> std::collections::BTreeSet<String> {
    let mut out: std::collections::BTreeSet<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    for sub in cmd.get_subcommands() {
        out.extend(known_env_vars(sub));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_baton_conventions() {
        let cli = Cli::try_parse_from(["baton-notion"]).expect("parses");
        assert_eq!(cli.sync.file, PathBuf::from("sync.c1z"));
        assert_eq!(cli.sync.base_url, notion::DEFAULT_BASE_URL);
        assert_eq!(cli.sync.http_timeout_seconds, 300);
        assert!(cli.command.is_none());
    }

    #[test]
    fn resource_types_are_a_comma_list() {
        let cli = Cli::try_parse_from(["baton-notion", "--sync-resource-types", "user,group"])
            .expect("parses");
        assert_eq!(cli.sync.sync_resource_types, vec!["user", "group"]);
    }

    #[test]
    fn timeout_is_range_checked() {
        assert!(Cli::try_parse_from(["baton-notion", "--http-timeout-seconds", "0"]).is_err());
        assert!(Cli::try_parse_from(["baton-notion", "--http-timeout-seconds", "1801"]).is_err());
        assert!(Cli::try_parse_from(["baton-notion", "--http-timeout-seconds", "1800"]).is_ok());
    }

    #[test]
    fn rate_limit_flags() {
        let cli = Cli::try_parse_from(["baton-notion"]).expect("parses");
        assert_eq!(cli.sync.requests_per_second, None, "adaptive by default");
        assert_eq!(cli.sync.max_requests_per_second, 150);
        assert_eq!(cli.sync.max_concurrency, 8);
        assert_eq!(
            cli.sync.max_retries + 1,
            notion::RetryConfig::default().max_attempts
        );
        let cli = Cli::try_parse_from([
            "baton-notion",
            "--requests-per-second",
            "3",
            "--max-concurrency",
            "1",
        ])
        .expect("parses");
        assert_eq!(
            (cli.sync.requests_per_second, cli.sync.max_concurrency),
            (Some(3), 1)
        );
        assert!(Cli::try_parse_from(["baton-notion", "--requests-per-second", "0"]).is_err());
        assert!(Cli::try_parse_from(["baton-notion", "--max-concurrency", "0"]).is_err());
    }

    #[test]
    fn sim_fault_flags() {
        let cli = Cli::try_parse_from([
            "baton-notion",
            "sim",
            "--rate-limit-share",
            "0.2",
            "--total-results-drift",
            "-3",
            "--shuffle-pages",
        ])
        .expect("parses");
        let Some(Command::Sim(args)) = cli.command else {
            panic!("sim command");
        };
        assert_eq!(args.rate_limit_share, 0.2);
        assert_eq!(args.total_results_drift, -3);
        assert!(args.shuffle_pages);
        assert!(
            Cli::try_parse_from(["baton-notion", "sim", "--server-error-share", "1.5"]).is_err()
        );
    }

    #[test]
    fn short_flags() {
        let cli = Cli::try_parse_from(["baton-notion", "-f", "out.c1z"]).expect("parses");
        assert_eq!(cli.sync.file, PathBuf::from("out.c1z"));
        let err = Cli::try_parse_from(["baton-notion", "-v"]).expect_err("version exits");
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn operator_subcommands_parse() {
        let cli = Cli::try_parse_from([
            "baton-notion",
            "inspect",
            "-f",
            "a.c1z",
            "grants",
            "-t",
            "role",
            "-o",
            "json",
        ])
        .expect("parses");
        assert_eq!(cli.sync.file, PathBuf::from("a.c1z"));
        let Some(Command::Inspect(args)) = cli.command else {
            panic!("inspect expected");
        };
        assert_eq!(args.what, crate::ops::inspect::What::Grants);
        assert_eq!(args.resource_type.as_deref(), Some("role"));
        assert_eq!(args.output, crate::ops::Format::Json);

        let cli = Cli::try_parse_from([
            "baton-notion",
            "diff",
            "--against",
            "old.c1z",
            "--fail-on-change",
        ])
        .expect("parses");
        let Some(Command::Diff(args)) = cli.command else {
            panic!("diff expected");
        };
        assert_eq!(args.against, Some(PathBuf::from("old.c1z")));
        assert!(args.fail_on_change);
        assert_eq!(args.output, crate::ops::Format::Table);

        assert!(Cli::try_parse_from(["baton-notion", "inspect", "everything"]).is_err());
        assert!(Cli::try_parse_from(["baton-notion", "completion", "bash"]).is_ok());
        let cli = Cli::try_parse_from(["baton-notion", "--no-progress"]).expect("parses");
        assert!(cli.global.no_progress);
    }

    #[test]
    fn service_mode_flags() {
        let cli = Cli::try_parse_from([
            "baton-notion",
            "--client-id",
            "conn@acme.conductor.one/pcc",
            "--client-secret",
            "aa:bb:v1:c2VjcmV0LWtleQ",
            "-p",
            "--task-concurrency",
            "5",
            "--health-check",
        ])
        .expect("parses");
        assert_eq!(
            cli.service.client_id.as_deref(),
            Some("conn@acme.conductor.one/pcc")
        );
        assert!(cli.service.provisioning);
        assert_eq!(cli.service.task_concurrency, 5);
        assert!(cli.service.health.health_check);
        assert!(
            !format!("{cli:?}").contains("c2VjcmV0LWtleQ"),
            "the secret is redacted"
        );
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("--client-secret") && help.contains("--task-concurrency"));
        assert!(
            !help.contains("--c1-ca-cert"),
            "test-only flags stay hidden"
        );

        let cli = Cli::try_parse_from(["baton-notion"]).expect("parses");
        assert_eq!(cli.service.task_concurrency, 3);
        assert!(!cli.service.provisioning);
        assert!(Cli::try_parse_from(["baton-notion", "--client-id", "a@b/c"]).is_err());
        assert!(Cli::try_parse_from(["baton-notion", "--task-concurrency", "0"]).is_err());
        let cli = Cli::try_parse_from(["baton-notion", "serve", "-p"]).expect("serve -p parses");
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve expected");
        };
        assert!(args.provisioning && !cli.service.provisioning);
    }

    #[test]
    fn the_token_is_not_echoed_in_debug_output() {
        let cli = Cli::try_parse_from(["baton-notion", "--scim-token", "secret_tok_123"])
            .expect("parses");
        // The Cli holds the raw flag only until `run` wraps it in a Secret; make sure the
        // help text does not show environment values.
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(!help.contains("secret_tok_123"));
        assert_eq!(cli.sync.scim_token.as_deref(), Some("secret_tok_123"));
    }
}
