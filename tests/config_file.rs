//! The configuration file: `./.baton.yaml` or `$BATON_CONFIG_PATH`, keys = flag names, with
//! the precedence flags > environment > file > defaults. Runs the real binary in a temp
//! working directory.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use baton_notion::sim::{Dataset, SimConfig};
use common::{fixture, start};

/// Runs the binary in `cwd` with a clean `BATON_*` environment plus `envs`.
fn run_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.current_dir(cwd).args(args).env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write config");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// `file:` from the file, overridden by BATON_FILE, overridden by `-f`; BATON_CONFIG_PATH
/// replaces ./.baton.yaml.
#[test]
fn file_then_environment_then_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = fixture("go-baton-notion-reference.c1z");
    let reference = reference.to_str().expect("utf-8");
    let missing = dir.path().join("missing.c1z");
    let missing = missing.to_str().expect("utf-8");
    let stats = ["inspect", "stats", "-o", "json"];

    // Defaults alone: ./sync.c1z does not exist.
    let out = run_in(dir.path(), &stats, &[]);
    assert_eq!(out.status.code(), Some(1));

    // The file supplies --file.
    write_private(
        &dir.path().join(".baton.yaml"),
        &format!("file: {reference}\n"),
    );
    let out = run_in(dir.path(), &stats, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("\"grants\": 10"));

    // The environment beats the file.
    let out = run_in(dir.path(), &stats, &[("BATON_FILE", missing)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // A flag beats the environment.
    let mut with_flag = stats.to_vec();
    with_flag.extend(["-f", reference]);
    let out = run_in(dir.path(), &with_flag, &[("BATON_FILE", missing)]);
    assert!(out.status.success(), "{out:?}");

    // BATON_CONFIG_PATH names another file, used instead of ./.baton.yaml.
    let other = dir.path().join("other.yaml");
    write_private(&other, &format!("file: {missing}\n"));
    let out = run_in(
        dir.path(),
        &stats,
        &[("BATON_CONFIG_PATH", other.to_str().expect("utf-8"))],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.c1z"));

    // A BATON_CONFIG_PATH that does not exist is an error, not silently ignored.
    let out = run_in(dir.path(), &stats, &[("BATON_CONFIG_PATH", missing)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration file"));
}

/// A full sync configured by the file alone (token, base URL, output), with base-url precedence
/// checked against the simulator; a readable file holding the token warns without echoing it.
#[tokio::test]
async fn a_sync_configured_from_the_file() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let token = SimConfig::default().token;
    let good = sim.base_url();
    let bad = "http://127.0.0.1:9/scim/v2".to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().to_path_buf();
    let yaml = |base: &str| {
        format!(
            "scim-token: {token}\nbase-url: {base}\nfile: from-file.c1z\nhttp-timeout-seconds: 5\nmax-retries: 0\n"
        )
    };

    let run = |args: Vec<String>, envs: Vec<(String, String)>| {
        let cwd = cwd.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let envs: Vec<(&str, &str)> =
                envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            run_in(&cwd, &args, &envs)
        })
    };

    // The file alone.
    write_private(&cwd.join(".baton.yaml"), &yaml(&good));
    let out = run(vec![], vec![]).await.expect("task");
    assert!(out.status.success(), "{out:?}");
    assert!(cwd.join("from-file.c1z").is_file());

    // A bad base URL in the file loses to a good one in the environment…
    write_private(&cwd.join(".baton.yaml"), &yaml(&bad));
    let out = run(vec![], vec![("BATON_BASE_URL".into(), good.clone())])
        .await
        .expect("task");
    assert!(out.status.success(), "{out:?}");
    // …and a bad one in the environment loses to the flag.
    let out = run(
        vec!["--base-url".into(), good.clone()],
        vec![("BATON_BASE_URL".into(), bad.clone())],
    )
    .await
    .expect("task");
    assert!(out.status.success(), "{out:?}");
    // With only the file's bad URL, the sync fails.
    let out = run(vec![], vec![]).await.expect("task");
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // A group/world-readable file holding the token: a warning, never the token.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = cwd.join(".baton.yaml");
        std::fs::write(&p, yaml(&good)).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let out = run(vec!["--log-level".into(), "debug".into()], vec![])
            .await
            .expect("task");
        assert!(out.status.success(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains(&token), "token echoed: {err}");
        assert!(!stdout(&out).contains(&token));
    }
    sim.shutdown().await;
}

#[test]
fn invalid_yaml_fails_without_echoing_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_private(
        &dir.path().join(".baton.yaml"),
        "scim-token: [secret_tok_123: {\n",
    );
    let out = run_in(dir.path(), &["inspect", "syncs"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid YAML"), "{err}");
    assert!(!err.contains("secret_tok_123"), "{err}");
}
