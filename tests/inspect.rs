//! `baton-notion inspect`, run as the real binary against the fixtures: the numbers equal the
//! `baton` CLI's, the reference grants are all listed, and the SDK-written files (one of them an
//! unfinished sync) list without error in both formats.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use common::{fixture, run_binary};
use serde_json::Value;

const REFERENCE: &str = "go-baton-notion-reference.c1z";
const WHATS: [&str; 6] = [
    "stats",
    "syncs",
    "resource-types",
    "resources",
    "entitlements",
    "grants",
];

fn inspect(file: &str, args: &[&str]) -> Output {
    let path = fixture(file);
    let path = path.to_str().expect("utf-8 path");
    let mut all = vec!["inspect", "-f", path];
    all.extend_from_slice(args);
    run_binary(&all, &[])
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

#[test]
fn stats_json_equals_the_baton_cli() {
    let ours = stdout_json(&inspect(REFERENCE, &["stats", "-o", "json"]));
    assert_eq!(ours, fixture_json("baton-cli.stats.json"));
}

#[test]
fn grants_json_lists_all_ten_reference_grants() {
    let ours = stdout_json(&inspect(REFERENCE, &["grants", "-o", "json"]));
    let ids: BTreeSet<String> = ours["grants"]
        .as_array()
        .expect("grants array")
        .iter()
        .map(|g| g["id"].as_str().expect("grant id").to_owned())
        .collect();
    let expected: BTreeSet<String> = fixture_json("baton-cli.grants.json")["grants"]
        .as_array()
        .expect("baton grants array")
        .iter()
        .map(|g| {
            g["grant"]["id"]
                .as_str()
                .expect("baton grant id")
                .to_owned()
        })
        .collect();
    assert_eq!(expected.len(), 10);
    assert_eq!(ids, expected);
    assert_eq!(ours["sync_id"], "3MXJLCeAzdyH5Fv3yoo5pkvwYmm");
}

#[test]
fn the_type_filter_narrows_grants_and_resources() {
    let roles = stdout_json(&inspect(REFERENCE, &["grants", "-t", "role", "-o", "json"]));
    assert_eq!(roles["grants"].as_array().map(Vec::len), Some(5));
    let users = stdout_json(&inspect(
        REFERENCE,
        &["resources", "-t", "user", "-o", "json"],
    ));
    let users = users["resources"].as_array().expect("resources").clone();
    assert_eq!(users.len(), 5);
    assert!(users.iter().all(|u| u["status"] == "enabled"));
}

#[test]
fn tables_are_aligned_for_people() {
    let out = inspect(REFERENCE, &["stats"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("grants          10\n"), "{text}");
    let out = inspect(REFERENCE, &["grants"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().skip(1).collect(); // the heading names the sync
    assert_eq!(lines.len(), 11, "{text}");
    // Every row's second column starts where the header's does.
    let col = lines[0].find("PRINCIPAL").expect("header");
    for l in &lines[1..] {
        assert_eq!(l.find("user:"), Some(col), "{l}");
    }
}

#[test]
fn sdk_fixtures_list_without_error() {
    for file in ["sdk-full-sync-unexpanded.c1z", "sdk-sync-in-progress.c1z"] {
        for what in WHATS {
            let json = stdout_json(&inspect(file, &[what, "-o", "json"]));
            assert!(json.is_object(), "{file} {what}");
            let table = inspect(file, &[what]);
            assert!(table.status.success(), "{file} {what} table");
            assert!(!table.stdout.is_empty(), "{file} {what} table");
        }
    }
    // The finished SDK sync's counts.
    let stats = stdout_json(&inspect(
        "sdk-full-sync-unexpanded.c1z",
        &["stats", "-o", "json"],
    ));
    assert_eq!(stats["user"], 1000);
    assert_eq!(stats["grants"], 2909);
}

#[test]
fn an_unreadable_file_fails_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.c1z");
    std::fs::write(&bogus, b"not a c1z").expect("write");
    let out = run_binary(
        &["inspect", "-f", bogus.to_str().expect("utf-8"), "stats"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
}

/// `completion` (another operator command without a tests file of its own) prints a script for
/// each supported shell.
#[test]
fn completion_scripts_generate() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef baton-notion"),
        ("fish", "complete -c baton-notion"),
    ] {
        let out = run_binary(&["completion", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("inspect"), "{shell}");
    }
    assert_eq!(
        run_binary(&["completion", "tcsh"], &[]).status.code(),
        Some(2)
    );
}
