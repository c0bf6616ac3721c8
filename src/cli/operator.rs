//! Operator commands over `.c1z` files and the connector's schema: `inspect`, `diff`,
//! `capabilities`, `config`, `completion`. The work is in [`crate::ops`]; this is flags and output.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{Cli, EXIT_CHANGED, ExitStatus};

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// What to list (default: stats).
    #[arg(value_enum, default_value = "stats")]
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

pub(super) async fn inspect(file: &Path, args: InspectArgs) -> anyhow::Result<()> {
    let file = file.to_path_buf();
    let opts = crate::ops::inspect::Options {
        sync_id: args.sync_id,
        resource_type: args.resource_type,
        format: args.output,
    };
    let what = args.what;
    // Rows stream to stdout as they are formatted (ops::output).
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        crate::ops::inspect::inspect_to(&file, what, &opts, &mut out)
    })
    .await
    .context("the inspect task failed")??;
    Ok(())
}

pub(super) async fn diff(file: &Path, args: DiffArgs) -> anyhow::Result<()> {
    let file = file.to_path_buf();
    let against = args.against.clone();
    let format = args.output;
    let changed = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        let report = crate::ops::diff::diff(&file, against.as_deref())?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        report
            .render_to(format, &mut out)
            .context("writing to stdout")?;
        Ok(report.changed)
    })
    .await
    .context("the diff task failed")??;
    if args.fail_on_change && changed {
        return Err(ExitStatus(EXIT_CHANGED).into());
    }
    Ok(())
}

pub(super) fn completion(args: CompletionArgs) -> std::io::Result<()> {
    use clap_complete::Shell;
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Generated into memory: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "baton-notion", &mut script);
    crate::ops::output::print(&String::from_utf8_lossy(&script))
}

/// Writes protojson to stdout exactly as rendered (no trailing newline).
pub(super) fn print_json(
    json: Result<String, crate::baton::schema::SchemaError>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let json = json.context("rendering protojson")?;
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}
