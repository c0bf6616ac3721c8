//! The hidden `sim` command: serve the Notion simulator until interrupted, for manual testing.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::sim::admin::{ALL_SCOPES, OrgSpec, Organization};
use crate::sim::{Dataset, GenSpec, PrincipalForm, SimAdminToken, SimConfig, Simulator};

/// Flags of the hidden `sim` command.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Bearer token the simulator accepts.
    #[arg(long, default_value = "sim-token")]
    pub token: String,
    /// Generate this many users instead of serving the reference workspace.
    #[arg(long)]
    pub users: Option<usize>,
    /// Generated groups.
    #[arg(long, default_value_t = 0)]
    pub groups: usize,
    /// Members per generated group.
    #[arg(long, default_value_t = 0)]
    pub members: usize,
    /// Seed of the generated workspace.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra random latency per request, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Seed of the injected faults.
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Share of requests (0-1) answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub rate_limit_share: f64,
    /// Retry-After of injected 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Enforce a limit of N requests per second per token (token bucket); beyond it, 429 with
    /// an honest Retry-After.
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,
    /// Token-bucket size of --rate-limit (default: one second's worth).
    #[arg(long, value_name = "N")]
    pub rate_limit_burst: Option<u32>,
    /// Enforce at most N requests in flight; beyond it, 429 (or a wait, with
    /// --rate-limit-queue).
    #[arg(long, value_name = "N")]
    pub rate_limit_concurrency: Option<u32>,
    /// Requests beyond --rate-limit-concurrency wait (slow answers) instead of 429.
    #[arg(long)]
    pub rate_limit_queue: bool,
    /// Share of requests (0-1) answered 500, 502 or 503.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub server_error_share: f64,
    /// Share of requests (0-1) whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub drop_connection_share: f64,
    /// Share of successful answers (0-1) whose JSON body is cut in half.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub malformed_json_share: f64,
    /// Share of requests (0-1) handled but whose response is lost (connection dropped).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub lose_response_share: f64,
    /// Share of successful answers (0-1) whose body trickles out in 4 chunks.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub slow_body_share: f64,
    /// Pause before each chunk of a slow body, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub slow_body_delay_ms: u64,
    /// Added to totalResults on every list page after the first (may be negative).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub total_results_drift: i64,
    /// Users removed and added after each /Users list page.
    #[arg(long, default_value_t = 0)]
    pub churn_users_per_page: usize,
    /// Serve each list page's resources in a random order.
    #[arg(long)]
    pub shuffle_pages: bool,
    /// Also serve the Admin API (/admin/v1) for an organization around the SCIM workspace: the
    /// reference organization over the reference workspace, or a generated one with --users or
    /// any --org-* size flag.
    #[arg(long)]
    pub org: bool,
    /// Generated organization: live workspaces, the SCIM one included (implies --org).
    #[arg(long, value_name = "N")]
    pub org_workspaces: Option<usize>,
    /// Generated organization: distinct people, the SCIM workspace's active users included.
    #[arg(long, value_name = "N")]
    pub org_people: Option<usize>,
    /// Generated organization: guest bots.
    #[arg(long, value_name = "N")]
    pub org_bots: Option<usize>,
    /// Generated organization: personal access tokens (all statuses).
    #[arg(long, value_name = "N")]
    pub org_pats: Option<usize>,
    /// Generated organization: MCP connection entries.
    #[arg(long, value_name = "N")]
    pub org_mcp: Option<usize>,
    /// Generated organization: agents.
    #[arg(long, value_name = "N")]
    pub org_agents: Option<usize>,
    /// Seed of the generated organization.
    #[arg(long, default_value_t = 7)]
    pub org_seed: u64,
    /// Organization bot token the Admin API accepts.
    #[arg(long, default_value = crate::sim::DEFAULT_ADMIN_TOKEN)]
    pub admin_token: String,
    /// Scopes of --admin-token, comma-separated (default: every scope).
    #[arg(long, value_delimiter = ',', value_name = "SCOPES")]
    pub admin_scopes: Option<Vec<String>>,
    /// Send agent permission principals as `{type, id}` instead of `{type, <type>_id}`.
    #[arg(long)]
    pub admin_principal_id: bool,
    /// Send agent permission entries flat instead of nested under `principal`.
    #[arg(long)]
    pub admin_flat_permissions: bool,
}

impl SimArgs {
    /// Whether any --org-* size flag was given (a generated organization).
    fn org_sizes_given(&self) -> bool {
        [
            self.org_workspaces,
            self.org_people,
            self.org_bots,
            self.org_pats,
            self.org_mcp,
            self.org_agents,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// The organization to serve, if any (see `--org`).
    fn organization(&self, dataset: &Dataset) -> Option<Organization> {
        if !self.org && !self.org_sizes_given() {
            return None;
        }
        if self.users.is_none() && !self.org_sizes_given() {
            return Some(Organization::reference(dataset));
        }
        let d = OrgSpec::default();
        let spec = OrgSpec {
            workspaces: self.org_workspaces.unwrap_or(d.workspaces),
            people: self.org_people.unwrap_or(d.people),
            bots: self.org_bots.unwrap_or(d.bots),
            pats: self.org_pats.unwrap_or(d.pats),
            mcp_connections: self.org_mcp.unwrap_or(d.mcp_connections),
            agents: self.org_agents.unwrap_or(d.agents),
            seed: self.org_seed,
            ..d
        };
        Some(Organization::generate(&spec, dataset))
    }
}

/// Parses a share in `0.0..=1.0`.
fn parse_share(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("expected a share between 0 and 1, got {value:?}")),
    }
}

pub(super) async fn serve_sim(args: SimArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let dataset = match args.users {
        None => Dataset::reference(),
        Some(users) => Dataset::generate(&GenSpec {
            users,
            groups: args.groups,
            members_per_group: args.members,
            seed: args.seed,
            ..GenSpec::default()
        }),
    };
    let organization = args.organization(&dataset);
    let admin_summary = organization.as_ref().map(|org| {
        let counts = org.counts(&dataset);
        format!(
            "{} workspaces, {} people, {} bots",
            counts.spaces, counts.people, counts.bots
        )
    });
    let scopes = args
        .admin_scopes
        .clone()
        .unwrap_or_else(|| ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    let config = SimConfig {
        organization,
        admin_tokens: vec![SimAdminToken {
            token: args.admin_token.clone(),
            scopes,
        }],
        admin_principal_form: if args.admin_principal_id {
            PrincipalForm::Id
        } else {
            PrincipalForm::TypedId
        },
        admin_flat_permissions: args.admin_flat_permissions,
        token: args.token,
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        fault_seed: args.fault_seed,
        rate_limit_share: args.rate_limit_share,
        retry_after_secs: args.retry_after_secs,
        server_error_share: args.server_error_share,
        drop_connection_share: args.drop_connection_share,
        malformed_json_share: args.malformed_json_share,
        lose_response_share: args.lose_response_share,
        slow_body_share: args.slow_body_share,
        slow_body_delay: Duration::from_millis(args.slow_body_delay_ms),
        total_results_drift: args.total_results_drift,
        churn_users_per_page: args.churn_users_per_page,
        shuffle_pages: args.shuffle_pages,
        rate_limit: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        rate_limit_concurrency: args.rate_limit_concurrency,
        rate_limit_concurrency_queue: args.rate_limit_queue,
        ..SimConfig::default()
    };
    let (users, groups) = (dataset.users.len(), dataset.groups.len());
    let sim = Simulator::start(dataset, config, args.port)
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    crate::ops::output::print(&format!(
        "Notion simulator: {users} users, {groups} groups at {}\n",
        sim.base_url()
    ))?;
    if let Some(summary) = admin_summary {
        crate::ops::output::print(&format!(
            "Notion Admin API: {summary} at {} (Notion-Version {})\n",
            sim.admin_base_url(),
            crate::sim::admin::NOTION_VERSION
        ))?;
    }
    cancel.cancelled().await;
    sim.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A wrapper to parse `SimArgs` alone.
    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(flags: &[&str]) -> SimArgs {
        let mut argv = vec!["sim"];
        argv.extend_from_slice(flags);
        Cmd::try_parse_from(argv).expect("flags parse").args
    }

    #[test]
    fn org_flags_choose_reference_generated_or_none() {
        let data = Dataset::reference();
        assert!(parse(&[]).organization(&data).is_none());
        let reference = parse(&["--org"]).organization(&data).unwrap();
        assert_eq!(reference, Organization::reference(&data));
        let generated = parse(&["--org-workspaces", "4", "--org-people", "30"])
            .organization(&data)
            .unwrap();
        let counts = generated.counts(&data);
        assert_eq!((counts.spaces, counts.people), (4, 30));
        let args = parse(&["--org", "--admin-scopes", "workspace:read,user:read"]);
        assert_eq!(
            args.admin_scopes.as_deref(),
            Some(&["workspace:read".to_owned(), "user:read".to_owned()][..])
        );
        assert_eq!(args.admin_token, crate::sim::DEFAULT_ADMIN_TOKEN);
    }
}
