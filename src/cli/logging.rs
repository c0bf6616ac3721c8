//! The flags every mode shares (log level and format, progress bars) and the logger they set up.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

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
        // Every message and field escaped and bounded (ops::log_fields); JSON escapes itself.
        LogFormat::Console => builder
            .with_target(false)
            .fmt_fields(crate::ops::log_fields::SafeFields)
            .try_init(),
    };
}
