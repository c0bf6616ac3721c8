//! Progress bars for a sync on a terminal (indicatif), and the log writer that keeps them
//! from garbling log lines.
//!
//! [`init`] decides once, at start-up, whether bars are wanted (the caller's rule: stderr is a
//! terminal, logs are not JSON, no `--no-progress`). When they are not, [`observer`] returns
//! `None` and nothing here ever draws. When they are, [`observer`] returns a
//! [`SyncObserver`] that draws one line per phase and resource type — `resources  user  4,200
//! (1,250/s)`, `grants  group  12/20 [ETA 3s]` — and [`LogWriter`] writes every log line through
//! [`MultiProgress::suspend`], which clears the bars, writes the line and redraws them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::baton::sync::{SyncObserver, SyncPhase, SyncProgress};

/// The bars' container, set by [`init`] when progress is enabled.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Enables progress bars for this process when `enabled` (call once, before logging starts).
pub fn init(enabled: bool) {
    if enabled {
        let _ = BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    }
}

/// Whether [`init`] enabled progress bars.
pub fn enabled() -> bool {
    BARS.get().is_some()
}

/// A sync observer drawing bars, or `None` when progress is disabled.
pub fn observer() -> Option<Arc<dyn SyncObserver>> {
    let multi = BARS.get()?.clone();
    Some(Arc::new(Bars {
        multi,
        bars: Mutex::new(HashMap::new()),
    }))
}

/// Draws one bar per (phase, resource type).
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<(SyncPhase, String), ProgressBar>>,
}

impl std::fmt::Debug for Bars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bars").finish_non_exhaustive()
    }
}

fn phase_name(phase: SyncPhase) -> &'static str {
    match phase {
        SyncPhase::Resources => "resources",
        SyncPhase::Entitlements => "entitlements",
        SyncPhase::Grants => "grants",
    }
}

impl SyncObserver for Bars {
    fn progress(&self, p: SyncProgress<'_>) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let key = (p.phase, p.resource_type.to_owned());
        let bar = bars.entry(key).or_insert_with(|| {
            // A new line starts: the previous ones are done.
            let prefix = format!("{:<12} {}", phase_name(p.phase), p.resource_type);
            let bar = match p.total {
                Some(total) => {
                    let bar = ProgressBar::new(total);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:<24} {human_pos:>8}/{human_len} {wide_bar} {msg} ({per_sec}, ETA {eta})",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:<24} {human_pos:>8} {spinner} ({per_sec})")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar
                }
            };
            bar.set_prefix(prefix);
            self.multi.add(bar)
        });
        bar.set_position(p.done);
        if p.phase != SyncPhase::Resources {
            bar.set_message(format!("{} {}", p.items, phase_name(p.phase)));
        }
    }

    fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

/// A `tracing` writer for stderr that hides the progress bars while a line is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BARS.get() {
            Some(multi) => multi
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}
