//! The command line as a user meets it: flags in any position, values checked before any
//! request, `inspect` without an argument, and configuration files built to hurt (a FIFO,
//! `/dev/zero`, 100,000 keys). Runs the real binary.

mod common;

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use baton_notion::sim::{Dataset, SimConfig};
use common::{fixture, run_binary_async, start};

/// Runs the binary in `cwd` with no `BATON_*` variables but `envs`; kills it after `limit` (a
/// hang is a failure, reported as such rather than stalling the suite).
fn run_bounded(cwd: &Path, args: &[&str], envs: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton-notion {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let Some(mut s) = child.stdout.take() {
        s.read_to_end(&mut stdout).expect("stdout");
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_end(&mut stderr).expect("stderr");
    }
    Output {
        status: child.wait().expect("status"),
        stdout,
        stderr,
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Sync flags after the subcommand mean what they mean before it.
#[tokio::test]
async fn sync_flags_after_the_subcommand() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let token = SimConfig::default().token;
    let base = sim.base_url();
    let out = run_binary_async(
        &[
            "provision",
            "--email",
            "anywhere@example.com",
            "--base-url",
            &base,
            "--scim-token",
            &token,
            "--max-retries",
            "0",
            "-o",
            "json",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"created\""), "{text}");
    assert!(text.contains("anywhere@example.com"), "{text}");
    sim.shutdown().await;
}

/// An unknown resource type is a usage error (exit 2) before anything is sent: the listener
/// the base URL points at never sees a connection.
#[test]
fn unknown_resource_type_fails_before_the_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}/scim/v2", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_bounded(
        dir.path(),
        &[
            "--scim-token",
            "secret_tok",
            "--base-url",
            &base,
            "--sync-resource-types",
            "user,foo",
        ],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("unknown resource type \"foo\""), "{err}");
    assert!(
        listener.accept().is_err(),
        "the sync connected to Notion before checking its flags"
    );
    assert!(!dir.path().join("sync.c1z").exists());
}

/// `inspect` alone shows the stats.
#[test]
fn inspect_without_an_argument_shows_stats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = fixture("go-baton-notion-reference.c1z");
    let reference = reference.to_str().expect("utf-8");
    let alone = run_bounded(
        dir.path(),
        &["inspect", "-f", reference, "-o", "json"],
        &[],
        Duration::from_secs(20),
    );
    let stats = run_bounded(
        dir.path(),
        &["inspect", "stats", "-f", reference, "-o", "json"],
        &[],
        Duration::from_secs(20),
    );
    assert!(alone.status.success(), "{alone:?}");
    assert_eq!(alone.stdout, stats.stdout);
    assert!(String::from_utf8_lossy(&alone.stdout).contains("\"grants\": 10"));
}

/// A configuration path that is a FIFO or a device fails at once instead of blocking or
/// reading forever.
#[cfg(unix)]
#[test]
fn config_file_that_is_not_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo.yaml");
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("c string");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    for path in [fifo.to_str().expect("utf-8"), "/dev/zero"] {
        let out = run_bounded(
            dir.path(),
            &["inspect", "syncs"],
            &[("BATON_CONFIG_PATH", path)],
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(1), "{path}: {out:?}");
        let err = stderr(&out);
        assert!(err.contains("is not a regular file"), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// 100,000 unknown keys (just under the size cap): the command runs, with one short warning
/// instead of 100,000 lines; a file over the cap is refused by name.
#[test]
fn config_file_with_a_hundred_thousand_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = fixture("go-baton-notion-reference.c1z");
    let mut yaml = format!("file: {}\n", reference.display());
    for i in 0..100_000 {
        yaml.push_str(&format!("k{i}: 1\n"));
    }
    assert!(yaml.len() < 1024 * 1024);
    std::fs::write(dir.path().join(".baton.yaml"), &yaml).expect("write");
    let out = run_bounded(
        dir.path(),
        &["inspect", "stats", "-o", "json", "--log-format", "json"],
        &[],
        Duration::from_secs(25),
    );
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one warning: {err}");
    assert!(err.contains("100000 keys") && err.len() < 600, "{err}");

    yaml.push_str(&"#".repeat(200_000));
    std::fs::write(dir.path().join(".baton.yaml"), &yaml).expect("write");
    let out = run_bounded(
        dir.path(),
        &["inspect", "stats"],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("larger than 1024 KiB"), "{out:?}");
}

/// The summary's counts end in one column, also after a resource type whose name is longer than
/// the label column (`personal_access_token`, from the organization view the demo serves).
#[test]
fn the_summary_counts_end_in_one_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sync.c1z");
    let o = common::run_binary(&["demo", "-f", out.to_str().expect("utf-8")], &[]);
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Synced into"))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("requests"))
        .collect();
    assert!(
        rows.iter().any(|l| l.contains("personal_access_token")),
        "{stdout}"
    );
    for row in &rows {
        let end = row.trim_end().len();
        assert_eq!(end, 26, "{row:?} in\n{stdout}");
        assert!(
            row.trim_end().ends_with(|c: char| c.is_ascii_digit()),
            "{row:?}"
        );
    }
}
