//! What reaches a terminal: the real binary fed hostile text from a crafted `.c1z`, from the
//! simulator and from a gRPC peer, and a stdout that closes early.
//!
//! - **No injection**: ESC, BEL, CR, LF and BS in names and ids come out of `inspect` and
//!   `diff` tables, the sync summary and console logs (span fields included) as visible
//!   escapes; JSON keeps the exact text, escaped by JSON itself.
//! - **Bounded tables**: a 4 MB name does not pad every row to 4 MB, and a very large name is
//!   listed in memory that does not grow with copies of it (the child's peak RSS, from
//!   `wait4`).
//! - **Broken pipe**: every command that prints ends quietly with status 0 when its stdout
//!   closes early (`baton-notion inspect grants | head`).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use baton_notion::baton::c1z::{SyncType, Writer};
use baton_notion::pb::v2::{
    self, Entitlement, Grant, Resource, ResourceId, ResourceType, resource_type::Trait,
};
use baton_notion::sim::{Dataset, SimConfig};
use common::{run_binary, run_binary_async, start};

/// A display name that, printed raw, retitles the window, clears the screen, paints in red,
/// returns the carriage to fake the start of a log line, starts a new line and backspaces.
const HOSTILE: &str =
    "Mallory \x1b]0;pwned\x07\x1b[2J\x1b[31mred\rFAKE LOG LINE\nFAKE row\x08\x08 end";

/// The start of that text as a table shows it: escaped (and then cut to the column's width).
const HOSTILE_SHOWN: &str = "Mallory \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\rFAKE";

const BIN: &str = env!("CARGO_BIN_EXE_baton-notion");

// ---------------------------------------------------------------------------------------------
// Crafted artifacts.

fn rid(ty: &str, id: &str) -> ResourceId {
    ResourceId {
        resource_type: ty.into(),
        resource: id.into(),
        ..Default::default()
    }
}

fn resource(ty: &str, id: &str, name: &str) -> Resource {
    Resource {
        id: Some(rid(ty, id)),
        display_name: name.into(),
        ..Default::default()
    }
}

fn resource_types(user_type_name: &str) -> Vec<ResourceType> {
    [
        ("user", user_type_name, Trait::User),
        ("group", "Group", Trait::Group),
    ]
    .into_iter()
    .map(|(id, name, t)| ResourceType {
        id: id.into(),
        display_name: name.into(),
        traits: vec![t as i32],
        ..Default::default()
    })
    .collect()
}

/// One group, its member entitlement, and `users` as members (principals carry only their id,
/// so a huge name is stored once, in its resource row).
struct Sync {
    type_name: String,
    group: Resource,
    users: Vec<Resource>,
}

impl Sync {
    fn new(group_name: &str, users: Vec<Resource>) -> Sync {
        Sync {
            type_name: "User".into(),
            group: resource("group", "eng", group_name),
            users,
        }
    }

    fn write(&self, out: &Path) {
        let mut member = Entitlement {
            id: "group:eng:member".into(),
            resource: Some(Resource {
                id: self.group.id.clone(),
                ..Default::default()
            }),
            display_name: format!("{} member", self.group.display_name),
            slug: "member".into(),
            ..Default::default()
        };
        member.purpose = v2::entitlement::PurposeValue::Assignment as i32;
        let grants: Vec<Grant> = self
            .users
            .iter()
            .map(|u| {
                let id = u.id.clone().expect("user id");
                Grant {
                    id: format!("group:eng:member:user:{}", id.resource),
                    entitlement: Some(member.clone()),
                    principal: Some(Resource {
                        id: Some(id),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        let mut resources = self.users.clone();
        resources.push(self.group.clone());
        let mut w = Writer::open(out).expect("writer opens");
        w.start_sync(SyncType::Full).expect("sync starts");
        w.put_resource_types(&resource_types(&self.type_name))
            .expect("types");
        w.put_resources(&resources).expect("resources");
        w.put_entitlements(&[member]).expect("entitlements");
        w.put_grants(&grants).expect("grants");
        w.finish_sync().expect("sync finishes");
        w.save().expect("saved");
    }
}

fn users(n: usize) -> Vec<Resource> {
    (0..n)
        .map(|i| resource("user", &format!("u{i:04}"), &format!("User {i}")))
        .collect()
}

/// A `.c1z` whose names and ids are hostile everywhere a table shows them.
fn hostile_c1z(out: &Path) {
    let mut list = users(3);
    list.push(resource("user", "mallory", HOSTILE));
    list.push(resource("user", "id\x1b[2J\rFAKE", "Odd Id"));
    let mut sync = Sync::new(&format!("Eng {HOSTILE}"), list);
    sync.type_name = format!("User {HOSTILE}");
    sync.write(out);
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// Fails if `bytes` hold anything a terminal interprets: C0 controls but LF, DEL, C1 controls.
fn assert_display_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| c != '\n' && (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)))
    {
        let context: String = text[at..].chars().take(40).collect();
        panic!("{what}: control character {c:?} at byte {at}: {context:?}");
    }
    for line in text.lines() {
        assert!(
            !line.starts_with("FAKE"),
            "{what}: a name started a line of its own: {line:?}"
        );
    }
}

fn inspect(file: &Path, args: &[&str]) -> std::process::Output {
    let path = file.to_str().expect("utf-8 path");
    let mut all = vec!["inspect", "-f", path];
    all.extend_from_slice(args);
    run_binary(&all, &[])
}

fn ok_stdout(what: &str, out: &std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

// ---------------------------------------------------------------------------------------------
// 4. No terminal injection.

#[test]
fn inspect_tables_show_control_characters_as_escapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hostile.c1z");
    hostile_c1z(&file);
    for what in [
        "stats",
        "syncs",
        "resource-types",
        "resources",
        "entitlements",
        "grants",
    ] {
        let stdout = ok_stdout(what, &inspect(&file, &[what]));
        assert_display_safe(&format!("inspect {what}"), &stdout);
    }
    let resources = String::from_utf8(inspect(&file, &["resources"]).stdout).expect("utf-8");
    assert!(resources.contains(HOSTILE_SHOWN), "{resources}");
    assert!(resources.contains("id\\x1b[2J\\rFAKE"), "{resources}");
    // One line per resource, plus the heading and the header.
    assert_eq!(resources.lines().count(), 2 + 6, "{resources}");
    let grants = String::from_utf8(inspect(&file, &["grants"]).stdout).expect("utf-8");
    assert!(grants.contains(HOSTILE_SHOWN), "{grants}");
}

#[test]
fn json_keeps_hostile_names_exactly_and_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hostile.c1z");
    hostile_c1z(&file);
    let stdout = ok_stdout("json", &inspect(&file, &["resources", "-o", "json"]));
    assert_display_safe("inspect resources -o json", &stdout);
    let json: serde_json::Value = serde_json::from_slice(&stdout).expect("JSON");
    let names: Vec<&str> = json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["display_name"].as_str())
        .collect();
    assert!(names.contains(&HOSTILE), "{names:?}");
}

#[test]
fn diff_tables_show_control_characters_as_escapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("two.c1z");
    Sync::new(&format!("Eng {HOSTILE}"), users(2)).write(&file);
    let mut after = users(2);
    after.push(resource("user", "mallory", HOSTILE));
    Sync::new(&format!("Eng {HOSTILE}"), after).write(&file);
    let path = file.to_str().expect("utf-8 path");
    let out = run_binary(&["diff", "-f", path], &[]);
    let stdout = ok_stdout("diff", &out);
    assert_display_safe("diff", &stdout);
    let text = String::from_utf8(stdout).expect("utf-8");
    assert!(text.contains(HOSTILE_SHOWN), "{text}");
    let json = ok_stdout(
        "diff json",
        &run_binary(&["diff", "-f", path, "-o", "json"], &[]),
    );
    assert_display_safe("diff -o json", &json);
    let json: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(json["changes"][0]["user"]["name"], HOSTILE);
}

/// The simulator serves hostile display names; the sync's summary and logs, and the tables of
/// what it wrote, show them as escapes.
#[tokio::test]
async fn a_hostile_workspace_syncs_and_lists_safely() {
    let mut dataset = Dataset::reference();
    dataset.users[0].formatted = Some(HOSTILE.to_owned());
    dataset.groups[0].display_name = HOSTILE.to_owned();
    let sim = start(dataset, SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sync.c1z");
    let path = file.to_str().expect("utf-8 path").to_owned();
    let base = sim.base_url();
    let token = SimConfig::default().token;
    let out = run_binary_async(
        &["-f", &path, "--base-url", &base, "--log-level", "debug"],
        &[
            ("BATON_SCIM_TOKEN", &token),
            ("BATON_LOG_FORMAT", "console"),
            ("NO_COLOR", "1"),
        ],
    )
    .await;
    let stdout = ok_stdout("sync", &out);
    assert_display_safe("sync summary", &stdout);
    assert_display_safe("sync logs", &out.stderr);
    sim.shutdown().await;
    for what in ["resources", "entitlements", "grants"] {
        let stdout = ok_stdout(what, &inspect(&file, &[what]));
        assert_display_safe(&format!("inspect {what}"), &stdout);
        let text = String::from_utf8(stdout).expect("utf-8");
        assert!(text.contains("\\x1b]0;pwned\\x07"), "{what}: {text}");
    }
}

/// A gRPC peer sends a hostile resource type id: the `serve` console log lines (span fields
/// and event fields) show it escaped, and no line is faked.
#[tokio::test]
async fn serve_logs_show_hostile_request_fields_as_escapes() {
    use tokio::io::AsyncReadExt;
    use v2::resources_service_client::ResourcesServiceClient;
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let mut child = tokio::process::Command::new(BIN)
        .arg("--base-url")
        .arg(sim.base_url())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-level", "debug"])
        .env("BATON_SCIM_TOKEN", SimConfig::default().token)
        .env("BATON_LOG_FORMAT", "console")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let (channel, _lines) = common::connect_to_serve(&mut child).await;
    let mut client = ResourcesServiceClient::new(channel);
    let err = client
        .list_resources(v2::ResourcesServiceListResourcesRequest {
            resource_type_id: HOSTILE.into(),
            ..Default::default()
        })
        .await
        .expect_err("an unknown resource type");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let pid = child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("serve exits after SIGTERM")
        .expect("status");
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr).await;
    }
    let text = String::from_utf8_lossy(&stderr).into_owned();
    assert!(text.contains("call failed"), "{text}");
    assert!(text.contains("pwned"), "the field is logged: {text}");
    assert_display_safe("serve logs", &stderr);
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// 5. Bounded tables.

/// Longest line a table may print: a few capped columns.
const MAX_TABLE_LINE: usize = 600;

/// Fails unless every line of `stdout` is short and the whole is at most `rows` such lines;
/// with `cut`, a cell must show that it was cut.
fn assert_bounded(what: &str, stdout: &[u8], rows: usize, cut: bool) {
    let text = String::from_utf8_lossy(stdout);
    let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        longest <= MAX_TABLE_LINE,
        "{what}: a line of {longest} characters ({} bytes of output)",
        stdout.len()
    );
    assert!(
        stdout.len() <= rows * MAX_TABLE_LINE,
        "{what}: {} bytes",
        stdout.len()
    );
    assert!(!cut || text.contains('…'), "{what}: the cut is shown");
}

#[test]
fn a_4_mb_name_does_not_pad_every_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("wide.c1z");
    let huge = "W".repeat(4 << 20);
    let mut before = users(20);
    Sync::new("Engineering", before.clone()).write(&file);
    before.push(resource("user", "wide", &huge));
    Sync::new(&format!("Eng {huge}"), before).write(&file);
    for what in ["resource-types", "resources", "entitlements", "grants"] {
        let stdout = ok_stdout(what, &inspect(&file, &[what]));
        assert_bounded(
            &format!("inspect {what}"),
            &stdout,
            30,
            what != "resource-types",
        );
    }
    let path = file.to_str().expect("utf-8 path");
    let stdout = ok_stdout("diff", &run_binary(&["diff", "-f", path], &[]));
    assert_bounded("diff", &stdout, 30, true);
}

/// Runs the binary to completion with stdout and stderr in files; returns the exit code,
/// stdout, stderr and the child's peak resident set in bytes (`wait4`'s `ru_maxrss`, this
/// child alone, unlike `RUSAGE_CHILDREN`, which other tests' children would share).
fn run_measured(args: &[&str], dir: &Path) -> (i32, Vec<u8>, Vec<u8>, u64) {
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    // Reaped by wait4 below, which std cannot see.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("binary runs");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child (std::process::Child never waits on drop), and
    // both out-pointers are valid for the call.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 reaps the child");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let peak = u64::try_from(usage.ru_maxrss).expect("non-negative") * 1024;
    let read = |p: &Path| std::fs::read(p).expect("output readable");
    (code, read(&out_path), read(&err_path), peak)
}

/// A 32 MiB name is listed as one capped cell. Opening the artifact costs what the store
/// needs to unpack it (measured with `inspect syncs`, which lists no resource); listing the
/// resources or the grants must add less than one more copy of the name on top of that, where
/// a padded table holds every row padded to the name's width, then a copy of the whole table.
#[test]
fn a_very_large_name_is_listed_in_bounded_memory() {
    const NAME: u64 = 32 << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("huge.c1z");
    {
        let mut list = users(5);
        list.push(resource("user", "huge", &"H".repeat(NAME as usize)));
        // A parent fills the last column, so a padded NAME column is not trimmed away.
        for u in &mut list {
            u.parent_resource_id = Some(rid("group", "eng"));
        }
        Sync::new("Engineering", list).write(&file);
    }
    let path = file.to_str().expect("utf-8 path");
    let measure = |what: &str| {
        let (code, stdout, stderr, peak) = run_measured(&["inspect", "-f", path, what], dir.path());
        eprintln!("inspect {what}: peak RSS {} MiB", peak >> 20);
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
        (stdout, peak)
    };
    let (_, floor) = measure("syncs");
    for what in ["resources", "grants"] {
        let (stdout, peak) = measure(what);
        assert_bounded(&format!("inspect {what}"), &stdout, 12, true);
        assert!(
            peak < floor + NAME,
            "inspect {what}: peak RSS {} MiB, opening alone {} MiB, for a {} MiB name",
            peak >> 20,
            floor >> 20,
            NAME >> 20
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 11. Broken pipe.

/// Runs `args` with a stdout pipe whose reading end is closed before the child writes.
fn run_with_closed_stdout(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::ExitStatus, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("BATON_SCIM_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary runs");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr readable");
    (child.wait().expect("status"), stderr)
}

fn assert_quiet_exit(what: &str, (status, stderr): (std::process::ExitStatus, String)) {
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what}: stderr: {stderr}");
    assert_eq!(status.code(), Some(0), "{what}: {status:?}");
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("many.c1z");
    // More output than a pipe buffers (64 KiB), so even a late close is hit.
    Sync::new("Engineering", users(1500)).write(&file);
    Sync::new("Engineering", users(3000)).write(&file);
    let path = file.to_str().expect("utf-8 path");
    for args in [
        vec!["inspect", "-f", path, "grants"],
        vec!["inspect", "-f", path, "grants", "-o", "json"],
        vec!["inspect", "-f", path, "resources"],
        vec!["inspect", "-f", path, "stats"],
        vec!["inspect", "-f", path, "syncs"],
        vec!["diff", "-f", path],
        vec!["diff", "-f", path, "-o", "json"],
        vec!["capabilities"],
        vec!["config"],
        vec!["completion", "bash"],
        vec!["completion", "zsh"],
        vec!["--help"],
    ] {
        assert_quiet_exit(&args.join(" "), run_with_closed_stdout(&args, &[]));
    }
    let demo = dir.path().join("demo.c1z");
    let demo = demo.to_str().expect("utf-8 path");
    assert_quiet_exit(
        "demo",
        run_with_closed_stdout(&["demo", "-f", demo, "--log-level", "error"], &[]),
    );
}

#[tokio::test]
async fn a_closed_stdout_ends_a_sync_quietly_after_saving() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sync.c1z");
    let path = file.to_str().expect("utf-8 path").to_owned();
    let base = sim.base_url();
    let token = SimConfig::default().token;
    let result = tokio::task::spawn_blocking(move || {
        run_with_closed_stdout(
            &["-f", &path, "--base-url", &base, "--log-level", "error"],
            &[("BATON_SCIM_TOKEN", &token)],
        )
    })
    .await
    .expect("the binary's task");
    assert_quiet_exit("sync", result);
    assert!(file.exists(), "the artifact was saved before the summary");
    sim.shutdown().await;
}
