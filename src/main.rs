//! The `baton-notion` binary: parse, set up logging and signals, run, map the outcome to an
//! exit status. Everything else lives in the library (see `cli`).
//!
//! A closed stdout (`baton-notion inspect grants | head`) is not a failure: the reader has
//! what it wanted. Output is written through `io::Write` results, never `print!` (which
//! panics), and an [`io::ErrorKind::BrokenPipe`] anywhere in the error chain ends the process
//! quietly with status 0, as ripgrep does.

use std::io;
use std::process::ExitCode;

use baton_notion::cli::{self, Cli};
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the system allocator: a sync allocates and frees millions of small
/// objects (JSON values, protobuf messages, their strings and maps), and glibc's malloc and
/// free were a quarter of the engine's time while it walked 100,000 users (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The configuration file feeds the parser through BATON_* variables that are still unset,
    // so flags > environment > file > defaults (see ops::config_file).
    let config = match cli::config_file() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    for (var, value) in config.iter().flat_map(|c| &c.values) {
        if std::env::var_os(var).is_none() {
            // SAFETY: still single-threaded: no runtime, logger or other thread exists yet, so
            // nothing can read the environment concurrently.
            unsafe { std::env::set_var(var, value) };
        }
    }
    let cli = Cli::parse();
    if let Err(e) = cli.check() {
        e.exit();
    }
    cli::init_logging(&cli.global);
    if let Some(config) = &config {
        tracing::debug!(path = %config.path.display(), "configuration file read");
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
    }
    // reqwest is built without a default TLS provider (see DESIGN.md): install ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let cancel = CancellationToken::new();
        tokio::spawn(cancel_on_signal(cancel.clone()));
        cli::run(cli, cancel).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // A documented status with nothing more to say (e.g. `diff --fail-on-change`).
        Err(e) if e.downcast_ref::<cli::ExitStatus>().is_some() => {
            ExitCode::from(e.downcast_ref::<cli::ExitStatus>().map_or(1, |s| s.0))
        }
        Err(e) => {
            // One line: the whole cause chain, joined.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` was caused by writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Fires `cancel` on SIGINT or SIGTERM.
async fn cancel_on_signal(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::warn!("interrupted; stopping");
    cancel.cancel();
}
