//! `baton-notion bench`: end-to-end sync benchmarks against the simulator.
//!
//! Each run starts the simulator and the sync as two separate child processes of this binary,
//! so the simulator's own memory and CPU never count against the connector. The sync's wall
//! time is measured around the child; its CPU time (user + system) and peak resident set come
//! from the kernel's accounting of the reaped child (`wait4`). Requests by endpoint come from
//! the sync's own summary; rows from the artifact's stats.
//!
//! With `--rate-limit`, the simulator enforces a token-bucket limit per token (burst: one
//! second's worth unless `--rate-limit-burst`), and each row also reports the rate achieved,
//! the 429s the sync met, and the ideal time (the minimum requests ÷ the limit) — the measure of
//! how well pacing finds a limit it is not told.
//!
//! Figures are printed as a table (and optionally JSON). Nothing here asserts a speed: the
//! targets live in BENCHMARKS.md, next to the measured table.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::baton::c1z::Reader;

/// Flags of the hidden `bench` command.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenarios, comma separated: small (1k users/50 groups/20 members), medium
    /// (10k/500/50), large (100k/2k/100), million (1M users, resources only), custom (from
    /// --users/--groups/--members), or all.
    #[arg(long, value_delimiter = ',', default_value = "small,medium")]
    pub scenario: Vec<String>,
    /// Simulated latency per request in milliseconds, comma separated; each scenario runs at
    /// each latency. The million-user scenario runs at the first latency only.
    #[arg(long, value_delimiter = ',', default_value = "0,20")]
    pub latency_ms: Vec<u64>,
    /// Users of the custom scenario.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Groups of the custom scenario.
    #[arg(long, default_value_t = 50)]
    pub groups: usize,
    /// Members per group of the custom scenario.
    #[arg(long, default_value_t = 20)]
    pub members: usize,
    /// Server limits to run each scenario under, in requests per second, comma separated; 0
    /// means no limit. Each scenario runs at each latency under each limit.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub rate_limit: Vec<u32>,
    /// Token-bucket size of the server limit (default: one second's worth).
    #[arg(long)]
    pub rate_limit_burst: Option<u32>,
    /// Requests in flight the sync may have (its --max-concurrency; default: the sync's).
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Pin the sync's rate (its --requests-per-second; default: adaptive pacing). Pass 10 to see
    /// the fixed pacing the connector shipped with before adaptive pacing.
    #[arg(long)]
    pub requests_per_second: Option<u32>,
    /// The ceiling of adaptive pacing (the sync's --max-requests-per-second; default: the
    /// sync's).
    #[arg(long)]
    pub max_requests_per_second: Option<u32>,
    /// Extra flags for the sync process (repeatable), e.g. --sync-arg=--max-retries=0.
    #[arg(long, allow_hyphen_values = true)]
    pub sync_arg: Vec<String>,
    /// Also print the results as JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// One workspace shape.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// Users.
    pub users: usize,
    /// Groups.
    pub groups: usize,
    /// Members per group.
    pub members: usize,
    /// Sync resources only.
    pub resources_only: bool,
    /// Also serve and sync a generated organization (Admin API) around the workspace: the
    /// `org` scenario's sizes ([`ORG`]).
    pub org: bool,
}

/// The `org` scenario's organization: workspaces, people (with overlap), bots, PATs, MCP
/// connection entries, agents.
pub const ORG: [usize; 6] = [10, 20_000, 500, 5_000, 2_000, 200];

/// What one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// The scenario.
    pub scenario: Scenario,
    /// Simulated latency per request, ms.
    pub latency_ms: u64,
    /// The server's limit, requests per second (`None`: unlimited).
    pub rate_limit: Option<u32>,
    /// How the sync paced: `adaptive` or `fixed N`.
    pub pacing: String,
    /// Wall time of the sync process, seconds.
    pub wall_s: f64,
    /// User + system CPU time of the sync process, seconds.
    pub cpu_s: f64,
    /// Peak resident set of the sync process, MiB.
    pub peak_rss_mib: f64,
    /// Requests by endpoint, as the sync reported them.
    pub requests: String,
    /// Total requests.
    pub request_total: u64,
    /// The fewest requests a full sync can make: `1 + ceil(U/100) + ceil(G/100)` (validation
    /// plus list pages; a listing of nothing still takes one request).
    pub request_minimum: u64,
    /// Artifact size in bytes.
    pub artifact_bytes: u64,
    /// Rows written (resources + entitlements + grants).
    pub rows: u64,
    /// Rows per second of wall time.
    pub rows_per_s: f64,
    /// Requests per second of wall time.
    pub achieved_rps: f64,
    /// 429 answers the sync met (from its summary).
    pub rate_limited: u64,
    /// The minimum requests ÷ the server limit, seconds (`None` without a limit).
    pub ideal_s: Option<f64>,
}

fn scenarios(args: &BenchArgs) -> anyhow::Result<Vec<Scenario>> {
    let mk = |name: &str, users, groups, members, resources_only| Scenario {
        name: name.to_owned(),
        users,
        groups,
        members,
        resources_only,
        org: false,
    };
    let mut out = Vec::new();
    for s in &args.scenario {
        match s.trim() {
            "small" => out.push(mk("small", 1_000, 50, 20, false)),
            "medium" => out.push(mk("medium", 10_000, 500, 50, false)),
            "large" => out.push(mk("large", 100_000, 2_000, 100, false)),
            "million" => out.push(mk("million", 1_000_000, 0, 0, true)),
            "org" => out.push(Scenario {
                org: true,
                ..mk("org", 5_000, 50, 20, false)
            }),
            "custom" => out.push(mk("custom", args.users, args.groups, args.members, false)),
            "all" => {
                out.push(mk("small", 1_000, 50, 20, false));
                out.push(mk("medium", 10_000, 500, 50, false));
                out.push(mk("large", 100_000, 2_000, 100, false));
                out.push(mk("million", 1_000_000, 0, 0, true));
            }
            other => bail!(
                "unknown scenario {other:?}: use small, medium, large, million, org, custom or all"
            ),
        }
    }
    Ok(out)
}

/// Runs the benchmarks and prints the table to stdout.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let latencies = if args.latency_ms.is_empty() {
        vec![0]
    } else {
        args.latency_ms.clone()
    };
    let mut results = Vec::new();
    for sc in scenarios(args)? {
        let lats: &[u64] = if sc.resources_only {
            &latencies[..1]
        } else {
            &latencies
        };
        let limits: Vec<Option<u32>> = if args.rate_limit.is_empty() {
            vec![None]
        } else {
            args.rate_limit
                .iter()
                .map(|&l| (l > 0).then_some(l))
                .collect()
        };
        for &limit in &limits {
            for &lat in lats {
                eprintln!(
                    "bench: {} ({} users, {} groups, {} members/group), {} ms latency, {} …",
                    sc.name,
                    sc.users,
                    sc.groups,
                    sc.members,
                    lat,
                    limit.map_or("no server limit".to_owned(), |l| format!(
                        "server limit {l}/s"
                    ))
                );
                let mut sync_args = Vec::new();
                if let Some(n) = args.max_concurrency {
                    sync_args.push(format!("--max-concurrency={n}"));
                }
                if let Some(n) = args.requests_per_second {
                    sync_args.push(format!("--requests-per-second={n}"));
                }
                if let Some(n) = args.max_requests_per_second {
                    sync_args.push(format!("--max-requests-per-second={n}"));
                }
                sync_args.extend(args.sync_arg.iter().cloned());
                let server = ServerLimit {
                    rate: limit,
                    burst: args.rate_limit_burst,
                };
                let mut m = run_one(&exe, &sc, lat, server, &sync_args)?;
                m.pacing = match args.requests_per_second {
                    Some(n) => format!("fixed {n}"),
                    None => "adaptive".to_owned(),
                };
                if args.json {
                    crate::ops::output::print(&format!("{}\n", serde_json::to_string(&m)?))?;
                }
                results.push(m);
            }
        }
    }
    crate::ops::output::print(&table(&results))?;
    Ok(())
}

/// Kills the simulator child when the run ends, however it ends.
struct SimChild(Child);

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The limit the simulator enforces in one run.
#[derive(Debug, Clone, Copy)]
struct ServerLimit {
    /// Requests per second per token, if limited.
    rate: Option<u32>,
    /// Its bucket size (default: one second's worth).
    burst: Option<u32>,
}

fn run_one(
    exe: &Path,
    sc: &Scenario,
    latency_ms: u64,
    server: ServerLimit,
    extra: &[String],
) -> anyhow::Result<Measurement> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let mut sim_cmd = Command::new(exe);
    sim_cmd
        .args(["sim", "--port", "0", "--seed", "1"])
        .args(["--users", &sc.users.to_string()])
        .args(["--groups", &sc.groups.to_string()])
        .args(["--members", &sc.members.to_string()])
        .args(["--latency-ms", &latency_ms.to_string()]);
    if sc.org {
        let [w, p, b, t, m, a] = ORG.map(|n| n.to_string());
        sim_cmd
            .args(["--org-workspaces", &w, "--org-people", &p, "--org-bots", &b])
            .args(["--org-pats", &t, "--org-mcp", &m, "--org-agents", &a]);
    }
    if let Some(rate) = server.rate {
        sim_cmd.arg(format!("--rate-limit={rate}"));
        if let Some(burst) = server.burst {
            sim_cmd.arg(format!("--rate-limit-burst={burst}"));
        }
    }
    let mut sim = SimChild(
        sim_cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the simulator")?,
    );
    let base_url = sim_url(&mut sim.0)?;

    let out = dir.path().join("bench.c1z");
    let stdout_path = dir.path().join("sync.out");
    let stderr_path = dir.path().join("sync.err");
    let mut cmd = Command::new(exe);
    cmd.args(["--base-url", &base_url, "-f"])
        .arg(&out)
        .args(["--log-level", "warn", "--log-format", "json"])
        .args(extra)
        .env("BATON_SCIM_TOKEN", "sim-token")
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path)?)
        .stderr(File::create(&stderr_path)?);
    if sc.resources_only {
        cmd.arg("--skip-entitlements-and-grants");
    }
    if sc.org {
        let admin = base_url.replace("/scim/v2", "/admin");
        cmd.args(["--admin-base-url", &admin])
            .env("BATON_ADMIN_TOKEN", crate::sim::DEFAULT_ADMIN_TOKEN);
    }
    let started = Instant::now();
    let child = cmd.spawn().context("starting the sync")?;
    let usage = wait_with_usage(child)?;
    let wall = started.elapsed();
    drop(sim);

    if !usage.success {
        let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        bail!(
            "the sync failed: {}",
            err.lines().last().unwrap_or("no output")
        );
    }
    let summary = std::fs::read_to_string(&stdout_path)?;
    // Every grant must point at something the sync holds; the summary says when some did not.
    if let Some(line) = summary
        .lines()
        .find(|l| l.trim_start().starts_with("dropped grants"))
    {
        bail!("the sync dropped dangling grants: {}", line.trim());
    }
    let (mut request_total, mut requests) = parse_requests(&summary);
    let rate_limited = parse_count(&summary, "rate-limited");
    let mut request_minimum = minimum_requests(sc.users, sc.groups);
    let reader = Reader::open(&out).context("reading the benchmark artifact")?;
    let sync = reader
        .latest_sync()?
        .context("the benchmark artifact holds no sync")?;
    let stats = reader.stats(&sync.sync_id)?;
    let rows = stats.resources + stats.entitlements + stats.grants;
    if sc.org {
        let (n, by) = parse_labelled(&summary, "admin requests");
        request_total += n;
        requests = format!("{requests}; admin: {by}");
        request_minimum = check_org(sc, &stats.resources_by_resource_type)?;
    }
    Ok(Measurement {
        scenario: sc.clone(),
        latency_ms,
        rate_limit: server.rate,
        pacing: String::new(),
        wall_s: wall.as_secs_f64(),
        cpu_s: usage.cpu.as_secs_f64(),
        peak_rss_mib: usage.max_rss_kib as f64 / 1024.0,
        requests,
        request_total,
        request_minimum,
        artifact_bytes: std::fs::metadata(&out)?.len(),
        rows,
        rows_per_s: rows as f64 / wall.as_secs_f64().max(1e-9),
        achieved_rps: request_total as f64 / wall.as_secs_f64().max(1e-9),
        rate_limited,
        ideal_s: server.rate.map(|l| request_minimum as f64 / f64::from(l)),
    })
}

/// Checks the `org` scenario's artifact against the generated organization's exact counts,
/// and returns the documented request minimum: SCIM validation and user pages (groups come
/// from the Admin API), then for the Admin API validation and every listing read once at
/// full pages ([`OrgCounts::list_requests`](crate::sim::admin::OrgCounts::list_requests):
/// per workspace its users, groups, each group's members, tokens, agents and each live custom
/// agent's permissions, plus the spaces and the MCP connections).
fn check_org(
    sc: &Scenario,
    by_type: &std::collections::BTreeMap<String, u64>,
) -> anyhow::Result<u64> {
    use crate::sim::admin::{OrgSpec, Organization};
    use crate::sim::{Dataset, GenSpec};
    let dataset = Dataset::generate(&GenSpec {
        users: sc.users,
        groups: sc.groups,
        members_per_group: sc.members,
        seed: 1,
        ..GenSpec::default()
    });
    let [w, p, b, t, m, a] = ORG;
    let spec = OrgSpec {
        workspaces: w,
        people: p,
        bots: b,
        pats: t,
        mcp_connections: m,
        agents: a,
        ..OrgSpec::default()
    };
    let c = Organization::generate(&spec, &dataset).counts(&dataset);
    let inactive = dataset.users.iter().filter(|u| !u.active).count();
    let want = [
        ("workspace", c.spaces),
        ("user", c.people + inactive),
        ("group", c.groups),
        ("bot", c.bots),
        ("personal_access_token", c.pats_active + c.pats_expired),
        ("mcp_client", c.mcp_clients),
        ("agent", c.custom_alive_agents),
    ];
    for (ty, n) in want {
        let got = by_type.get(ty).copied().unwrap_or(0);
        if got != n as u64 {
            bail!("org scenario: {got} {ty} resources synced, the organization has {n}");
        }
    }
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    let scim = 1 + pages(sc.users);
    // The Admin API's validation call, then every listing once at full pages.
    let admin = 1 + c.list_requests;
    Ok(scim + admin)
}

/// The count and the parenthesised list of a summary line labelled `label`.
fn parse_labelled(summary: &str, label: &str) -> (u64, String) {
    for line in summary.lines() {
        if let Some(rest) = line.trim_start().strip_prefix(label) {
            let rest = rest.trim_start();
            let (n, by) = rest.split_once(' ').unwrap_or((rest, ""));
            let by = by.trim().trim_start_matches('(').trim_end_matches(')');
            return (n.parse().unwrap_or(0), by.to_owned());
        }
    }
    (0, String::new())
}

/// `1 + ceil(users/100) + ceil(groups/100)`, at least one page per listing.
pub fn minimum_requests(users: usize, groups: usize) -> u64 {
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    1 + pages(users) + pages(groups)
}

/// Reads the simulator's first line of output for its base URL.
fn sim_url(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("the simulator has no stdout")?;
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader
        .read_line(&mut line)
        .context("reading the simulator's address")?;
    // The simulator prints more lines (the Admin API's address); closing the pipe before it
    // has would end it with a broken pipe, so the rest of its output is drained, not dropped.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    match line.trim().rsplit_once(" at ") {
        Some((_, url)) if url.starts_with("http://") => Ok(url.to_owned()),
        _ => bail!("the simulator did not print its address (got {line:?})"),
    }
}

/// `requests  N  (GET /Users 100, …)` from the sync summary.
fn parse_requests(summary: &str) -> (u64, String) {
    for line in summary.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("requests") {
            let rest = rest.trim_start();
            let (n, by) = rest.split_once(' ').unwrap_or((rest, ""));
            let by = by.trim().trim_start_matches('(').trim_end_matches(')');
            return (n.parse().unwrap_or(0), by.to_owned());
        }
    }
    (0, String::new())
}

/// The number that starts the summary line labelled `label` (0 when there is none).
fn parse_count(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(label))
        .filter_map(|rest| rest.split_whitespace().next())
        .find_map(|n| n.parse().ok())
        .unwrap_or(0)
}

struct Usage {
    success: bool,
    cpu: Duration,
    max_rss_kib: u64,
}

/// Waits for `child` and returns the kernel's resource accounting of it.
fn wait_with_usage(child: Child) -> anyhow::Result<Usage> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our own unreaped child, and
    // `child` is not waited on elsewhere (it is dropped without waiting, which does not reap).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    drop(child);
    if rc < 0 {
        bail!("waiting for the sync: {}", std::io::Error::last_os_error());
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    Ok(Usage {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
    })
}

/// The results as an aligned table.
pub fn table(results: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>9} {:>6} {:>6} {:<11} {:>8} {:>8} {:>8} {:>5} {:>6} {:>7} {:>13} {:>9} {:>10} {:>11}  requests by endpoint",
        "scenario",
        "users",
        "lat",
        "limit",
        "pacing",
        "wall s",
        "ideal s",
        "req/s",
        "429s",
        "cpu s",
        "rss MiB",
        "requests/min",
        "rows",
        "bytes",
        "rows/s"
    );
    for m in results {
        let _ = writeln!(
            out,
            "{:<8} {:>9} {:>4}ms {:>6} {:<11} {:>8.2} {:>8} {:>8.1} {:>5} {:>6.2} {:>7.1} {:>13} {:>9} {:>10} {:>11.0}  {}",
            m.scenario.name,
            m.scenario.users,
            m.latency_ms,
            m.rate_limit.map_or("-".to_owned(), |l| format!("{l}/s")),
            m.pacing,
            m.wall_s,
            m.ideal_s.map_or("-".to_owned(), |s| format!("{s:.2}")),
            m.achieved_rps,
            m.rate_limited,
            m.cpu_s,
            m.peak_rss_mib,
            format!("{}/{}", m.request_total, m.request_minimum),
            m.rows,
            m.artifact_bytes,
            m.rows_per_s,
            m.requests
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary_request_line() {
        let s = "Synced into x\n  grants        10\n  requests             3  (GET /Groups 1, GET /ServiceProviderConfig 1, GET /Users 1)\n";
        let (n, by) = parse_requests(s);
        assert_eq!(n, 3);
        assert_eq!(
            by,
            "GET /Groups 1, GET /ServiceProviderConfig 1, GET /Users 1"
        );
    }

    #[test]
    fn parses_the_summary_rate_limited_line() {
        let s = "  requests           110  (GET /Users 104)\n  rate-limited         4  (429; paused 4.0 s)\n";
        assert_eq!(parse_count(s, "rate-limited"), 4);
        assert_eq!(parse_count("  requests 3\n", "rate-limited"), 0);
    }

    #[test]
    fn the_request_minimum_counts_one_page_per_listing_at_least() {
        assert_eq!(minimum_requests(10_000, 500), 106);
        assert_eq!(minimum_requests(100_000, 2_000), 1_021);
        assert_eq!(minimum_requests(1_000_000, 0), 10_002);
        assert_eq!(minimum_requests(1_001, 1), 13);
    }

    #[test]
    fn scenario_names_are_checked() {
        let args = BenchArgs {
            scenario: vec!["small".into(), "nope".into()],
            latency_ms: vec![0],
            users: 1,
            groups: 1,
            members: 1,
            rate_limit: vec![0],
            rate_limit_burst: None,
            max_concurrency: None,
            requests_per_second: None,
            max_requests_per_second: None,
            sync_arg: vec![],
            json: false,
        };
        assert!(scenarios(&args).is_err());
    }
}
