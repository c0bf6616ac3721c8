//! `baton-notion diff`: two syncs of the simulator into one file — the second after one user
//! was removed, one promoted to owner and one added to a group — report exactly those three
//! changes, as a table and as JSON; `--fail-on-change` turns them into exit status 3.

mod common;

use std::path::Path;
use std::process::Output;

use baton_notion::sim::{Dataset, ROLE_OWNER, SimConfig};
use common::{run_binary_async, start, sync_into};
use serde_json::{Value, json};

const CAROL: &str = "33333333-3333-3333-3333-333333333333";
const DAVE: &str = "44444444-4444-4444-4444-444444444444";
const EVE: &str = "55555555-5555-5555-5555-555555555555";
const ENGINEERING: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";

/// The reference workspace after: Dave left, Carol became owner, Eve joined Engineering.
fn changed() -> Dataset {
    let mut d = Dataset::reference();
    d.users.retain(|u| u.id != DAVE);
    for g in &mut d.groups {
        g.members.retain(|m| m != DAVE);
    }
    let carol = d.users.iter_mut().find(|u| u.id == CAROL).expect("carol");
    carol.role = Some(ROLE_OWNER.to_owned());
    let eng = d
        .groups
        .iter_mut()
        .find(|g| g.id == ENGINEERING)
        .expect("engineering");
    eng.members.push(EVE.to_owned());
    d
}

async fn sync_dataset(dataset: Dataset, out: &Path) {
    let sim = start(dataset, SimConfig::default()).await;
    sync_into(&sim, out).await.expect("sync succeeds");
    sim.shutdown().await;
}

async fn run(args: Vec<String>) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_binary_async(&args, &[]).await
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn expected_changes() -> Value {
    json!([
        {"kind": "user_removed",
         "user": {"resource_type": "user", "id": DAVE, "name": "Dave Member"}},
        {"kind": "role_changed",
         "principal": {"resource_type": "user", "id": CAROL, "name": "Carol Member"},
         "from": ["member"], "to": ["owner"]},
        {"kind": "membership_added",
         "group": {"resource_type": "group", "id": ENGINEERING, "name": "Engineering"},
         "principal": {"resource_type": "user", "id": EVE, "name": "Eve Restricted"},
         "entitlement_id": format!("group:{ENGINEERING}:member")},
    ])
}

#[tokio::test]
async fn two_syncs_in_one_file_report_exactly_the_three_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sync.c1z");
    let f = file.to_str().expect("utf-8").to_owned();

    // One sync only: nothing to compare yet, exit 0 even with --fail-on-change.
    sync_dataset(Dataset::reference(), &file).await;
    let out = run(args(&["diff", "-f", &f, "--fail-on-change"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to compare"));

    sync_dataset(changed(), &file).await;

    let out = run(args(&["diff", "-f", &f, "-o", "json"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["changes"], expected_changes(), "{report:#}");
    assert_eq!(report["changed"], true);
    assert_eq!(
        report["summary"],
        json!({"users_added": 0, "users_removed": 1, "user_status_changes": 0,
               "role_changes": 1, "memberships_added": 1, "memberships_removed": 0,
               "grants_added": 0, "grants_removed": 0})
    );
    assert_ne!(report["before"]["sync_id"], report["after"]["sync_id"]);

    let out = run(args(&["diff", "-f", &f])).await;
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("CHANGE"))
        .skip(1)
        .take_while(|l| !l.ends_with("changes."))
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].starts_with("user removed") && rows[0].contains("Dave Member"));
    assert!(rows[1].starts_with("role changed") && rows[1].contains("member → owner"));
    assert!(rows[2].starts_with("joined group") && rows[2].contains("Engineering"));
    assert!(table.ends_with("3 changes.\n"), "{table}");

    let out = run(args(&["diff", "-f", &f, "--fail-on-change"])).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[tokio::test]
async fn against_compares_two_files_and_no_change_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = dir.path().join("before.c1z");
    let after = dir.path().join("after.c1z");
    sync_dataset(Dataset::reference(), &before).await;
    sync_dataset(changed(), &after).await;
    let (b, a) = (
        before.to_str().expect("utf-8").to_owned(),
        after.to_str().expect("utf-8").to_owned(),
    );

    let out = run(args(&["diff", "-f", &a, "--against", &b, "-o", "json"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["changes"], expected_changes());

    // Syncing the same workspace again changes nothing.
    sync_dataset(Dataset::reference(), &before).await;
    let out = run(args(&["diff", "-f", &b, "--fail-on-change"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes."));

    // Unreadable input is the only failure.
    let out = run(args(&["diff", "-f", &a, "--against", "/nonexistent.c1z"])).await;
    assert_eq!(out.status.code(), Some(1));
}
