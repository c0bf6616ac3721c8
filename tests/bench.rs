//! The benchmark command end to end: it starts the simulator and the sync as separate
//! processes and reports figures measured on the sync process alone.

use std::process::Command;

#[test]
fn bench_reports_figures_for_a_small_custom_workspace() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args([
            "bench",
            "--scenario",
            "custom",
            "--users",
            "150",
            "--groups",
            "2",
            "--members",
            "3",
            "--latency-ms",
            "0",
            "--json",
        ])
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let m: serde_json::Value = serde_json::from_str(json_line).expect("valid JSON");
    // 1 validation + 2 user pages + 1 group page.
    assert_eq!(m["request_total"], 4, "{m}");
    // 150 users + 2 groups + 4 roles; 6 entitlements; 150 role grants + 6 memberships.
    assert_eq!(m["rows"], 156 + 6 + 156, "{m}");
    assert!(m["peak_rss_mib"].as_f64().expect("number") > 1.0);
    assert!(m["artifact_bytes"].as_u64().expect("number") > 0);
    assert!(stdout.contains("GET /Users 2"), "{stdout}");
}
