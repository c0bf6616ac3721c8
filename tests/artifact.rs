//! The artifact under concurrency, interruption and crashes (issue #12, points 6–8): one writer
//! per `.c1z`, a SIGTERM during the save that tells the truth, cancellation of a large save, and
//! no temporary files left behind by a killed sync.
//!
//! The binary runs against the simulator on 127.0.0.1; latency holds a sync in its listing
//! phase, and the test-only hook `BATON_C1Z_TEST_PAUSE_BEFORE_RENAME` holds one right before the
//! rename.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton_notion::baton::c1z::{self, Writer};
use baton_notion::pb::v2::{Resource, ResourceId};
use baton_notion::sim::{Dataset, GenSpec, SimConfig, SimHandle};
use common::*;

/// `baton_notion::baton::c1z::writer::TEST_PAUSE_BEFORE_RENAME_ENV` (spelled out so this file's
/// binary tests also run against builds without the hook).
const PAUSE_ENV: &str = "BATON_C1Z_TEST_PAUSE_BEFORE_RENAME";

/// How long a test waits for a child to reach a state before it gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// Starts the binary syncing from `sim` into `out`, with extra environment.
fn spawn_sync(sim: &SimHandle, out: &Path, envs: &[(&str, &Path)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(["--base-url", &sim.base_url(), "-f"])
        .arg(out)
        .args(["--log-format", "json"])
        .env("BATON_SCIM_TOKEN", SimConfig::default().token)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().expect("the binary starts")
}

/// Waits (without blocking the simulator's runtime) until `ready` holds; panics after
/// [`PATIENCE`] or when `child` exits first.
async fn wait_until(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the sync exited ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Collects a child's output without blocking the runtime.
async fn output_of(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("the wait task")
        .expect("child output")
}

/// Entries of `dir` that are temporary work of a writer of `name`: this version's
/// `.<name>.tmp-<pid>`, or the older `.<name>.XXXXXX.tmp` / `<name>.XXXXXX.tmp`.
fn temp_work(dir: &Path, name: &str) -> Vec<String> {
    files_in(dir)
        .into_iter()
        .filter(|f| {
            f.starts_with(&format!(".{name}."))
                || (f.starts_with(&format!("{name}.")) && f.ends_with(".tmp"))
        })
        .collect()
}

fn sigterm(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill only sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
}

fn slow_sim_config(latency_ms: u64) -> SimConfig {
    SimConfig {
        latency: Duration::from_millis(latency_ms),
        ..SimConfig::default()
    }
}

/// Point 6: a second sync into a file that is being written fails at once — before it sends a
/// single request — naming the first one's pid; the first one's work is not disturbed and it
/// completes.
#[tokio::test]
async fn a_second_sync_into_the_same_file_fails_at_once_naming_the_first() {
    // Each request takes 1.5 s: the first sync is still listing while the second one runs.
    let sim = start(Dataset::reference(), slow_sim_config(1500)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let mut first = spawn_sync(&sim, &out, &[]);
    wait_until(
        &mut first,
        "the first sync creates its work directory",
        || !temp_work(dir.path(), "sync.c1z").is_empty(),
    )
    .await;
    let work = temp_work(dir.path(), "sync.c1z");

    let out_s = out.to_string_lossy().into_owned();
    let second = run_binary_async(
        &["--base-url", &sim.base_url(), "-f", &out_s],
        &[("BATON_SCIM_TOKEN", &SimConfig::default().token)],
    )
    .await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(
        second.status.code(),
        Some(1),
        "the second sync fails: {stderr}"
    );
    assert!(
        stderr.contains(&format!("process {}", first.id())),
        "names the first sync's pid: {stderr}"
    );
    assert!(stderr.contains("another sync"), "{stderr}");
    assert!(
        first.try_wait().expect("status").is_none(),
        "the first sync was still running"
    );
    for w in &work {
        assert!(
            dir.path().join(w).exists(),
            "the live sync's {w} was not swept"
        );
    }

    let first = output_of(first).await;
    assert!(
        first.status.success(),
        "the first sync completes: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        !ids_of(&out).resources.is_empty(),
        "the first sync's artifact"
    );
    assert_eq!(
        files_in(dir.path()),
        ["sync.c1z"],
        "nothing left beside the artifact"
    );

    // The second sync sent no request at all: the two runs together made exactly as many
    // requests as one sync does on its own.
    let both = sim.total_requests();
    let alone = run_binary_async(
        &["--base-url", &sim.base_url(), "-f", &out_s],
        &[("BATON_SCIM_TOKEN", &SimConfig::default().token)],
    )
    .await;
    assert!(alone.status.success());
    assert_eq!(
        both,
        sim.total_requests() - both,
        "the refused sync made no requests"
    );
    sim.shutdown().await;
}

/// Point 7: SIGTERM while the new artifact is complete but not yet renamed. Either it is not
/// renamed (exit 1, "left as it was", byte-for-byte the old file) or it is and the run says so
/// (exit 0 and the summary). Today's code renamed it and still said "left as it was".
#[tokio::test]
async fn sigterm_during_the_save_tells_the_truth() {
    // Big enough that compressing takes a while, so even without the hook (older binaries)
    // the poll below catches the save in progress.
    let dataset = Dataset::generate(&GenSpec {
        users: 10_000,
        groups: 200,
        members_per_group: 50,
        seed: 12,
        ..GenSpec::default()
    });
    let sim = start(dataset, SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hooks = tempfile::tempdir().expect("tempdir");
    let marker = hooks.path().join("paused");
    let out = dir.path().join("sync.c1z");
    std::fs::copy(fixture("go-baton-notion-reference.c1z"), &out).expect("copy fixture");
    let before = std::fs::read(&out).expect("read");

    let mut child = spawn_sync(&sim, &out, &[(PAUSE_ENV, &marker)]);
    let saving = |dir: &Path| {
        // The hook's marker, or (older layout) the compressed temp file beside the artifact.
        marker.exists()
            || files_in(dir)
                .iter()
                .any(|f| f.starts_with("sync.c1z.") && f.ends_with(".tmp"))
    };
    wait_until(&mut child, "the save is under way", || saving(dir.path())).await;
    sigterm(&child);
    let output = output_of(child).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let after = std::fs::read(&out).expect("read");
    if after == before {
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("left as it was"), "{stderr}");
    } else {
        assert!(
            output.status.success(),
            "the artifact was replaced, so the run must succeed; stderr: {stderr}"
        );
        assert!(stdout.contains("Synced into"), "{stdout}");
        assert!(!stderr.contains("left as it was"), "{stderr}");
    }
    // With the hook the signal lands before the rename, every time.
    assert_eq!(after, before, "cancelled before the rename");
    assert_eq!(files_in(dir.path()), ["sync.c1z"], "no temp files left");
    sim.shutdown().await;
}

/// Point 8: `kill -9` mid-sync leaves the work directory (and lock file) behind; the next sync
/// into the same file removes them and succeeds.
#[tokio::test]
async fn a_killed_sync_leaves_work_that_the_next_sync_sweeps() {
    let sim = start(Dataset::reference(), slow_sim_config(300)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    std::fs::copy(fixture("go-baton-notion-reference.c1z"), &out).expect("copy fixture");
    let before = std::fs::read(&out).expect("read");

    let mut child = spawn_sync(&sim, &out, &[]);
    // The existing artifact is unpacked into the work directory right away.
    wait_until(&mut child, "the sync creates its work directory", || {
        !temp_work(dir.path(), "sync.c1z").is_empty()
    })
    .await;
    child.kill().expect("SIGKILL");
    let _ = output_of(child).await;
    assert_eq!(
        std::fs::read(&out).expect("read"),
        before,
        "artifact unchanged"
    );
    let litter = temp_work(dir.path(), "sync.c1z");
    assert!(!litter.is_empty(), "a killed sync cannot clean up");

    let out_s = out.to_string_lossy().into_owned();
    let next = run_binary_async(
        &["--base-url", &sim.base_url(), "-f", &out_s],
        &[("BATON_SCIM_TOKEN", &SimConfig::default().token)],
    )
    .await;
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(
        files_in(dir.path()),
        ["sync.c1z"],
        "the next sync removed {litter:?}"
    );
    sim.shutdown().await;
}

/// Point 6, in-process: a second writer of the same file — even in the same process — is
/// refused while the first is open, and admitted once it is gone.
#[test]
fn one_writer_per_artifact_in_process() {
    assert_eq!(PAUSE_ENV, c1z::writer::TEST_PAUSE_BEFORE_RENAME_ENV);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("a.c1z");
    let first = Writer::open(&out).expect("first writer");
    let err = Writer::open(&out).expect_err("second writer refused");
    assert!(
        matches!(err, c1z::Error::Locked { holder: Some(pid), .. } if pid == std::process::id()),
        "{err}"
    );
    drop(first);
    let again = Writer::open(&out).expect("writer after the first is gone");
    again.save().expect("save");
    assert_eq!(files_in(dir.path()), ["a.c1z"]);
}

/// A resource with a kilobyte of poorly compressible text, so the database is big.
fn bulky(i: usize) -> Resource {
    let mut name = String::with_capacity(1024);
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while name.len() < 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        name.push_str(&format!("{x:016x}"));
    }
    Resource {
        id: Some(ResourceId {
            resource_type: "user".into(),
            resource: format!("u{i}"),
            ..Default::default()
        }),
        display_name: name,
        ..Default::default()
    }
}

/// A writer holding a finished sync of about 200 MiB of database.
fn big_writer(out: &Path) -> Writer {
    let mut w = Writer::open(out).expect("writer");
    w.start_sync(c1z::SyncType::Full).expect("start");
    for batch in 0..200 {
        let items: Vec<Resource> = (batch * 1000..(batch + 1) * 1000).map(bulky).collect();
        w.put_resources(&items).expect("put");
    }
    w.finish_sync().expect("finish");
    w
}

/// Cancels a save of a big database as soon as `phase_file` appears in the writer's work
/// directory; returns how long the save took to stop after being asked, and checks that it
/// stopped cleanly. With `append`, the big sync is appended to an existing (empty) artifact:
/// only such a database is compacted (`final.db`); a fresh one is compressed as it is.
fn cancel_big_save_once(phase_file: &str, append: bool) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("big.c1z");
    if append {
        Writer::open(&out).expect("writer").save().expect("save");
    }
    let before = std::fs::read(&out).ok();
    let w = big_writer(&out);
    let work: PathBuf = dir
        .path()
        .join(format!(".big.c1z.tmp-{}", std::process::id()));
    let cancel = Arc::new(AtomicBool::new(false));
    let asked_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let watcher = {
        let (cancel, asked_at, target) = (cancel.clone(), asked_at.clone(), work.join(phase_file));
        std::thread::spawn(move || {
            let deadline = Instant::now() + PATIENCE;
            while !target.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            *asked_at.lock().expect("lock") = Some(Instant::now());
            cancel.store(true, Ordering::SeqCst);
        })
    };
    let result = w.save_unless(&|| cancel.load(Ordering::SeqCst));
    let stopped = Instant::now();
    watcher.join().expect("watcher");
    let err = result.expect_err("the save was cancelled");
    assert!(matches!(err, c1z::Error::Cancelled { .. }), "{err}");
    assert!(err.to_string().contains("left as it was"), "{err}");
    assert_eq!(
        std::fs::read(&out).ok(),
        before,
        "the artifact was left as it was"
    );
    let mut left = files_in(dir.path());
    left.retain(|f| !(append && f == "big.c1z"));
    assert_eq!(left, Vec::<String>::new(), "the temporary database is gone");
    let asked = asked_at
        .lock()
        .expect("lock")
        .expect("cancel was asked for");
    stopped.saturating_duration_since(asked)
}

/// Point 7: a save of a big database stops within a second of cancellation, both while SQLite
/// compacts it (the statement is interrupted) and while it is compressed (checked between
/// chunks), and leaves no temporary database behind.
#[test]
fn a_big_save_stops_within_a_second_of_cancellation() {
    for (phase, append) in [("final.db", true), ("new.c1z", false)] {
        let took = cancel_big_save_once(phase, append);
        eprintln!("cancelled during {phase}: stopped {took:?} after being asked");
        assert!(took < Duration::from_secs(1), "{phase}: {took:?}");
    }
}

/// A reader killed before it could remove its unpacked copy (`inspect` under `kill -9`) leaves
/// `.c1z-reader.<pid>-*` in the temp dir; the next reader removes those of dead processes and
/// keeps everything else.
#[test]
fn readers_sweep_what_dead_readers_left_in_the_temp_dir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // No process has pid 999999999 (above any pid_max), so its directory is litter.
    let dead = tmp.path().join(".c1z-reader.999999999-abc123");
    std::fs::create_dir(&dead).expect("mkdir");
    std::fs::write(dead.join("sync.db"), b"gigabytes, in real life").expect("write");
    let live = tmp
        .path()
        .join(format!(".c1z-reader.{}-keep", std::process::id()));
    std::fs::create_dir(&live).expect("mkdir");
    let other = tmp.path().join("unrelated-999999999-x");
    std::fs::create_dir(&other).expect("mkdir");

    let artifact = fixture("go-baton-notion-reference.c1z");
    let tmp_s = tmp.path().to_string_lossy().into_owned();
    let out = run_binary(
        &["inspect", "-f", &artifact.to_string_lossy()],
        &[("TMPDIR", &tmp_s)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dead.exists(), "the dead reader's copy was removed");
    assert!(live.exists(), "a live process's directory stays");
    assert!(other.exists(), "unrelated directories stay");
    assert_eq!(
        files_in(tmp.path()).len(),
        2,
        "the reader removed its own copy on exit: {:?}",
        files_in(tmp.path())
    );
}
