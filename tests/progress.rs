//! Progress bars: drawn only when stderr is a terminal, logs are console and `--no-progress` is
//! absent. A pipe must never see them; a pseudo-terminal (util-linux `script`, skipped when it
//! is not installed) must, unless `--no-progress` or `--log-format json` is given.

mod common;

use std::path::Path;
use std::process::Command;

use common::run_binary;

/// What a bar line starts with (see `ops::progress`).
const BAR: &str = "resources    user";

#[test]
fn a_pipe_never_sees_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let out = out.to_str().expect("utf-8");
    for format in ["console", "json"] {
        let o = run_binary(&["demo", "-f", out, "--log-format", format], &[]);
        assert!(o.status.success(), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains(BAR), "{err}");
        assert!(!err.contains("\u{1b}[2K"), "line clearing on a pipe: {err}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("Synced into"));
    }
}

/// Runs the binary under a pseudo-terminal; `None` when `script` is unavailable.
fn under_pty(dir: &Path, args: &str) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_baton-notion");
    let mut cmd = Command::new("script");
    cmd.current_dir(dir)
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_terminal_sees_progress_unless_told_not_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(shown) = under_pty(dir.path(), "demo -f a.c1z") else {
        eprintln!("`script` is not available: skipping the pseudo-terminal check");
        return;
    };
    assert!(shown.contains(BAR), "{shown}");
    assert!(shown.contains("grants       group"), "{shown}");
    assert!(shown.contains("Synced into"));

    let quiet = under_pty(dir.path(), "demo -f b.c1z --no-progress").expect("runs");
    assert!(!quiet.contains(BAR), "{quiet}");
    assert!(quiet.contains("Synced into"));

    let json = under_pty(dir.path(), "demo -f c.c1z --log-format json").expect("runs");
    assert!(!json.contains(BAR), "{json}");
}

/// The engine's hook: resources counted per page, entitlement and grant phases measured
/// against the resources stored earlier, and `finish` called once.
#[tokio::test]
async fn the_sync_observer_sees_counts_and_totals() {
    use std::sync::{Arc, Mutex};

    use baton_notion::baton::Local;
    use baton_notion::baton::sync::{
        SyncObserver, SyncOptions, SyncPhase, SyncProgress, sync_to_file,
    };
    use baton_notion::sim::{Dataset, SimConfig};

    /// The latest `(phase, type, done, total, items)` per phase and type.
    type Latest = Vec<(SyncPhase, String, u64, Option<u64>, u64)>;
    #[derive(Debug, Default)]
    struct Record {
        last: Mutex<Latest>,
        finished: Mutex<u32>,
    }
    impl SyncObserver for Record {
        fn progress(&self, p: SyncProgress<'_>) {
            let mut last = self.last.lock().expect("lock");
            last.retain(|(ph, ty, ..)| !(*ph == p.phase && ty == p.resource_type));
            last.push((
                p.phase,
                p.resource_type.to_owned(),
                p.done,
                p.total,
                p.items,
            ));
        }
        fn finish(&self) {
            *self.finished.lock().expect("lock") += 1;
        }
    }

    let sim = common::start(Dataset::reference(), SimConfig::default()).await;
    let connector = common::connector(&sim, &SimConfig::default().token);
    let record = Arc::new(Record::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SyncOptions {
        observer: Some(record.clone()),
        ..SyncOptions::default()
    };
    sync_to_file(&Local::new(connector), &dir.path().join("s.c1z"), opts)
        .await
        .expect("sync");
    sim.shutdown().await;

    let last = record.last.lock().expect("lock").clone();
    let find = |phase: SyncPhase, ty: &str| {
        last.iter()
            .find(|(p, t, ..)| *p == phase && t == ty)
            .map(|(_, _, done, total, items)| (*done, *total, *items))
    };
    assert_eq!(find(SyncPhase::Resources, "user"), Some((5, None, 5)));
    assert_eq!(find(SyncPhase::Resources, "role"), Some((4, None, 4)));
    assert_eq!(find(SyncPhase::Entitlements, "role"), Some((4, Some(4), 4)));
    // Grants of the reference workspace: 5 role assignments, 5 group memberships.
    let grants: u64 = last
        .iter()
        .filter(|(p, ..)| *p == SyncPhase::Grants)
        .map(|(.., items)| *items)
        .sum();
    assert_eq!(grants, 10);
    assert_eq!(*record.finished.lock().expect("lock"), 1);
}
