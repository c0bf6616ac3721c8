//! The command line: flags and environment (Baton conventions), then the chosen mode.
//!
//! Parsing ([`Cli`]) does no I/O; [`Cli::check`] then rejects flag values that parse but cannot
//! work (an unknown resource type) before anything is sent anywhere; [`run`] builds the clients
//! and runs one mode. One file per mode, its flags beside it (as ripgrep keeps `flags/` apart
//! from the search itself):
//! - [`sync`]: the default mode, sync the Notion workspace into `--file`; also `demo` and the
//!   hidden `sync-remote`, and the printed summary;
//! - [`service`]: service mode (`--client-id` + `--client-secret`), a daemon that ConductorOne
//!   drives ([`crate::baton::service`]), syncing and provisioning on its behalf;
//! - [`serve`]: the connector over gRPC; [`health`]: the health check flags both daemons share;
//! - [`provision`]: the Baton one-shot provisioning flags and the `provision` command;
//!   [`actions`]: the one-shot action flags (`--list-action-schemas`, `--invoke-action`);
//! - [`operator`]: `inspect`, `diff`, `capabilities`, `config`, `completion`;
//! - [`sim`] (hidden): serve the simulator until interrupted, for manual use;
//! - [`logging`]: the flags every mode shares, and the logger they set up.
//!
//! Flags of the default mode are global: `baton-notion serve --base-url …` and
//! `baton-notion --base-url … serve` mean the same.
//!
//! Before parsing, `main` feeds `.baton.yaml` / `$BATON_CONFIG_PATH` into unset `BATON_*`
//! variables ([`config_file`]), so flags > environment > file > defaults.
//!
//! Logs go to stderr; the summary of a finished sync goes to stdout. Every failure ends as one
//! line on stderr and exit status 1 (usage errors: 2, from clap; `diff --fail-on-change` with
//! changes: 3, via [`ExitStatus`]).

pub mod actions;
pub mod health;
pub mod logging;
pub mod operator;
pub mod provision;
pub mod serve;
pub mod service;
pub mod sim;
pub mod sync;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

pub use logging::{GlobalArgs, LogFormat, LogLevel, init_logging};
pub use sync::{SyncArgs, summary};

pub mod sdk_flags;

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
    pub one_shot: provision::OneShotArgs,

    /// One-shot actions: list their schemas or invoke one (instead of a sync).
    #[command(flatten)]
    pub actions: actions::ActionArgs,

    /// Service mode: run as a daemon that ConductorOne drives.
    #[command(flatten, next_help_heading = "Service mode")]
    pub service: service::ServiceArgs,

    /// A mode other than the default sync.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the built-in Notion simulator with a small reference workspace, sync it into
    /// --file and print the summary. Needs no token and no network.
    Demo,
    /// Add a Notion member (idempotent: an existing member is reported, not duplicated).
    Provision(provision::ProvisionArgs),
    /// Benchmark end-to-end syncs against the simulator (see BENCHMARKS.md).
    #[command(hide = true)]
    Bench(crate::bench::BenchArgs),
    /// Serve the Notion SCIM simulator until interrupted (for manual testing).
    #[command(hide = true)]
    Sim(sim::SimArgs),
    /// Print the connector's capabilities as protojson. Needs no credentials.
    Capabilities,
    /// Print the connector's configuration schema as protojson. Needs no credentials.
    Config,
    /// Serve the connector over gRPC (the c1.connector.v2 services) until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Sync from any Baton connector server over gRPC into --file.
    #[command(hide = true)]
    SyncRemote(sync::SyncRemoteArgs),
    /// List what a .c1z holds: stats, syncs, resource types, resources, entitlements, grants.
    Inspect(operator::InspectArgs),
    /// Show what changed between the two newest finished full syncs of --file (or against
    /// another .c1z): users added/removed/enabled/disabled, role changes, group memberships.
    Diff(operator::DiffArgs),
    /// Print a shell completion script to stdout.
    Completion(operator::CompletionArgs),
}

/// A run that ended with a documented non-zero status and nothing more to say
/// (`diff --fail-on-change` found changes: 3). `main` exits with the code without an error line.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitStatus(pub u8);

/// Exit status of `diff --fail-on-change` when something changed.
pub const EXIT_CHANGED: u8 = 3;

impl Cli {
    /// Rejects flag values that parse but cannot work, before anything is sent anywhere; the
    /// error is clap's own (`error.exit()` prints it with the usage line and exits 2).
    ///
    /// Today that is `--sync-resource-types`: its names are the connector's resource types,
    /// known without any request. `sync-remote` is left alone: it syncs another connector,
    /// whose types only its server knows.
    pub fn check(&self) -> Result<(), clap::Error> {
        if matches!(self.command, Some(Command::SyncRemote(_))) {
            return Ok(());
        }
        let known: Vec<String> = crate::connector::schema::capabilities_for(self.sync.view())
            .resource_type_capabilities
            .into_iter()
            .filter_map(|c| c.resource_type.map(|t| t.id))
            .collect();
        for wanted in &self.sync.sync_resource_types {
            let wanted = wanted.trim();
            if !wanted.is_empty() && !known.iter().any(|k| k == wanted) {
                return Err(<Cli as clap::CommandFactory>::command().error(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "unknown resource type {} in --sync-resource-types (known: {})",
                        crate::text::one_line(&format!("{wanted:?}")),
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Runs the parsed command line until done or `cancel` fires.
pub async fn run(cli: Cli, cancel: CancellationToken) -> anyhow::Result<()> {
    match cli.command {
        None if cli.service.client_id.is_some() => service::service(&cli, cancel).await,
        None if cli.actions.requested() => actions::run(&cli, cancel).await,
        None => match cli.one_shot.action()? {
            Some(action) => provision::one_shot(&cli.sync, &cli.one_shot, action).await,
            None => {
                let connector = cli.sync.connector(
                    &cli.sync.base_url,
                    &cli.sync.admin_base_url,
                    cli.one_shot.deprovision_mode,
                )?;
                let report = sync::sync(&cli.sync, connector, cancel).await?;
                crate::ops::output::print(&report)?;
                Ok(())
            }
        },
        Some(Command::Demo) => sync::demo(&cli.sync, cancel).await,
        Some(Command::Provision(args)) => provision::provision_member(&cli.sync, &args).await,
        Some(Command::Bench(args)) => {
            tokio::task::spawn_blocking(move || crate::bench::run(&args)).await?
        }
        Some(Command::Sim(args)) => sim::serve_sim(args, cancel).await,
        Some(Command::Capabilities) => {
            operator::print_json(crate::baton::schema::capabilities_json(
                &crate::connector::actions::capabilities(cli.sync.view()),
            ))
        }
        Some(Command::Config) => operator::print_json(crate::baton::schema::to_json(
            &crate::connector::schema::config_schema_for(cli.sync.view()),
        )),
        Some(Command::Serve(args)) => {
            serve::serve_grpc(&cli.sync, args, cli.one_shot.deprovision_mode, cancel).await
        }
        Some(Command::SyncRemote(args)) => sync::sync_remote(&cli.sync, args, cancel).await,
        Some(Command::Inspect(args)) => operator::inspect(&cli.sync.file, args).await,
        Some(Command::Diff(args)) => operator::diff(&cli.sync.file, args).await,
        Some(Command::Completion(args)) => Ok(operator::completion(args)?),
    }
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
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::baton::sync::SyncReport;
    use crate::notion;

    #[test]
    fn the_summary_shows_outside_text_escaped() {
        let hostile = "user\x1b]0;pwned\x07\r\nFAKE";
        let mut stats = crate::baton::c1z::SyncStats::default();
        stats
            .resources_by_resource_type
            .insert(hostile.to_owned(), 2);
        let report = SyncReport {
            sync_id: crate::baton::c1z::SyncId::generate(),
            stats,
            saved: crate::baton::c1z::SaveReport {
                path: PathBuf::from("sync.c1z"),
                bytes_written: 1,
                db_bytes: 1,
            },
            duration: Duration::from_secs(1),
            dropped: Default::default(),
        };
        let text = summary(
            &report,
            Path::new("sync.c1z"),
            &BTreeMap::new(),
            &[format!("server said {hostile}")],
        );
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert!(!text.lines().any(|l| l.starts_with("FAKE")), "{text}");
        assert!(text.contains("user\\x1b]0;pwned\\x07\\r\\nFAKE"), "{text}");
    }

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
        assert_eq!(cli.sync.max_requests_per_second, 200);
        assert_eq!(cli.sync.max_concurrency, 12);
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

    #[test]
    fn flags_work_before_and_after_the_subcommand() {
        for args in [
            vec![
                "baton-notion",
                "serve",
                "--base-url",
                "http://127.0.0.1:1/scim/v2",
            ],
            vec![
                "baton-notion",
                "--base-url",
                "http://127.0.0.1:1/scim/v2",
                "serve",
            ],
        ] {
            let cli = Cli::try_parse_from(&args).expect("parses");
            assert_eq!(cli.sync.base_url, "http://127.0.0.1:1/scim/v2", "{args:?}");
            assert!(matches!(cli.command, Some(Command::Serve(_))));
        }
        let cli = Cli::try_parse_from([
            "baton-notion",
            "provision",
            "--email",
            "x@example.com",
            "--base-url",
            "http://127.0.0.1:2/scim/v2",
            "--scim-token",
            "tok",
            "--max-retries",
            "0",
        ])
        .expect("parses");
        assert_eq!(cli.sync.base_url, "http://127.0.0.1:2/scim/v2");
        assert_eq!(cli.sync.scim_token.as_deref(), Some("tok"));
        assert_eq!(cli.sync.max_retries, 0);
        let cli = Cli::try_parse_from(["baton-notion", "serve", "--deprovision-mode", "suspend"])
            .expect("parses");
        assert_eq!(
            cli.one_shot.deprovision_mode,
            crate::connector::provision::DeprovisionMode::Suspend
        );
    }

    #[test]
    fn inspect_defaults_to_stats() {
        let cli = Cli::try_parse_from(["baton-notion", "inspect"]).expect("parses");
        let Some(Command::Inspect(args)) = cli.command else {
            panic!("inspect expected");
        };
        assert_eq!(args.what, crate::ops::inspect::What::Stats);
    }

    #[test]
    fn unknown_resource_types_are_refused_before_any_request() {
        let cli = Cli::try_parse_from(["baton-notion", "--sync-resource-types", "user,foo"])
            .expect("parses");
        let err = cli.check().expect_err("foo is not a resource type");
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        let text = err.to_string();
        assert!(
            text.contains("\"foo\"") && text.contains("group, role, user"),
            "{text}"
        );
        let cli = Cli::try_parse_from(["baton-notion", "--sync-resource-types", " user, role"])
            .expect("parses");
        assert!(cli.check().is_ok());
        // A remote connector's types are its own.
        let cli = Cli::try_parse_from([
            "baton-notion",
            "sync-remote",
            "--connector-addr",
            "127.0.0.1:1",
            "--sync-resource-types",
            "repository",
        ])
        .expect("parses");
        assert!(cli.check().is_ok());
    }
}
