//! The command line: flags and environment (Baton conventions), then the chosen mode.
//!
//! Parsing ([`Cli`]) does no I/O; [`run`] validates it into clients and runs one mode:
//! - default: sync the Notion workspace into `--file`;
//! - `demo`: start the built-in simulator with the reference workspace and sync from it;
//! - `sim` (hidden): serve the simulator until interrupted, for manual use.
//!
//! Logs go to stderr; the summary of a finished sync goes to stdout. Every failure ends as one
//! line on stderr and exit status 1 (usage errors: 2, from clap).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

Exit status: 0 on success; 1 when the sync or command failed (the previous artifact is left
untouched); 2 for invalid flags.";

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
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the built-in Notion simulator with a small reference workspace, sync it into
    /// --file and print the summary. Needs no token and no network.
    Demo,
    /// Serve the Notion SCIM simulator until interrupted (for manual testing).
    #[command(hide = true)]
    Sim(SimArgs),
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Console => builder.with_target(false).try_init(),
    };
}

/// Runs the parsed command line until done or `cancel` fires.
pub async fn run(cli: Cli, cancel: CancellationToken) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let token = cli
                .sync
                .scim_token
                .clone()
                .filter(|t| !t.trim().is_empty())
                .context("no SCIM token: pass --scim-token or set BATON_SCIM_TOKEN (an organization owner creates it under Settings → Identity → SCIM provisioning)")?;
            let report = sync(&cli.sync, &cli.sync.base_url, Secret::new(token), cancel).await?;
            print!("{report}");
            Ok(())
        }
        Some(Command::Demo) => demo(&cli.sync, cancel).await,
        Some(Command::Sim(args)) => serve_sim(args, cancel).await,
    }
}

/// Syncs from `base_url` into `args.file` and returns the printable summary.
async fn sync(
    args: &SyncArgs,
    base_url: &str,
    token: Secret,
    cancel: CancellationToken,
) -> anyhow::Result<String> {
    let mut cfg = ClientConfig::new(base_url, token);
    cfg.timeout = Duration::from_secs(args.http_timeout_seconds);
    let client = notion::Client::new(cfg)?;
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
    };
    let report = tokio::select! {
        r = sync_to_file(&local, &args.file, opts) => r?,
        () = cancel.cancelled() => bail!("sync interrupted; {} was left as it was", args.file.display()),
    };
    Ok(summary(
        &report,
        &args.file,
        &connector.client().request_counts(),
        &connector.warnings(),
    ))
}

/// The human summary of a finished sync.
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
    let _ = writeln!(out, "  {:<16}{:>8}  ({})", "requests", total, by.join(", "));
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
    fn short_flags() {
        let cli = Cli::try_parse_from(["baton-notion", "-f", "out.c1z"]).expect("parses");
        assert_eq!(cli.sync.file, PathBuf::from("out.c1z"));
        let err = Cli::try_parse_from(["baton-notion", "-v"]).expect_err("version exits");
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
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
