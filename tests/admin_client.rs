//! The Admin API client against the simulator (issue 14, acceptance point 3): every paging
//! style followed to its end (P1 with a null `next_cursor`, P2 with an absent one and the
//! string `page_size`, P4 with `page_size=100`, spaces, agent permissions in every principal
//! form), both error families, a missing scope on one line naming it, a 429 honoured, the
//! writes of issue 15, and the token absent from debug logs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use baton_notion::notion::admin::{
    AdminClient, AdminConfig, AdminPage, AdminUserKind, AgentRole, AgentStatus, ErrorFamily,
    GroupRole, PatStatus, PermissionChange, Principal, Revoked,
};
use baton_notion::notion::{Error, RetryConfig};
use baton_notion::secret::Secret;
use baton_notion::sim::admin::{OrgSpec, Organization, reference_ids as ids};
use baton_notion::sim::{
    DEFAULT_ADMIN_TOKEN, Dataset, PrincipalForm, SimAdminToken, SimConfig, SimHandle, Simulator,
};

const ALICE: &str = "11111111-1111-1111-1111-111111111111";

fn reference_config() -> SimConfig {
    SimConfig {
        organization: Some(Organization::reference(&Dataset::reference())),
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    Simulator::start(Dataset::reference(), config, 0)
        .await
        .expect("simulator starts")
}

fn client_with(sim: &SimHandle, token: &str) -> AdminClient {
    let mut cfg = AdminConfig::new(sim.admin_base_url(), Secret::new(token));
    cfg.retry = RetryConfig::fast();
    AdminClient::new(cfg).expect("client")
}

fn client(sim: &SimHandle) -> AdminClient {
    client_with(sim, DEFAULT_ADMIN_TOKEN)
}

/// Every page of one listing.
async fn all<T, F, Fut>(admin: &AdminClient, fetch: F) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<AdminPage<T>, Error>>,
{
    admin.collect(fetch).await.expect("listing")
}

/// The client's non-zero request counts, keyed like the simulator's counters.
fn sent(admin: &AdminClient) -> BTreeMap<String, u64> {
    admin
        .request_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.replacen(' ', " /admin", 1), n))
        .collect()
}

#[tokio::test]
async fn reference_spaces_users_groups_and_members() {
    let sim = start(reference_config()).await;
    let admin = client(&sim);
    admin.validate().await.expect("validates");
    let spaces = all(&admin, |c| {
        let a = admin.clone();
        async move { a.spaces(c.as_deref()).await }
    })
    .await;
    let space_ids: Vec<&str> = spaces.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(space_ids, [ids::SCIM_SPACE, ids::OTHER_SPACE]);
    assert_eq!(spaces[1].name.as_deref(), Some("Acme Labs"));

    let scim = admin.space_users(ids::SCIM_SPACE, None).await.unwrap();
    assert_eq!(scim.next_cursor, None, "P1's null next_cursor ends it");
    assert_eq!(scim.items.len(), 6);
    assert_eq!(scim.items[0].id, ALICE);
    assert_eq!(
        scim.items[0].kind,
        AdminUserKind::Person {
            email: Some("owner@example.com".into())
        }
    );
    assert_eq!(scim.items[5].id, ids::BOT_SCIM);
    assert_eq!(scim.items[5].kind, AdminUserKind::Bot);
    let other = admin.space_users(ids::OTHER_SPACE, None).await.unwrap();
    let grace = other.items.iter().find(|u| u.id == ids::GRACE).unwrap();
    assert_eq!(grace.kind, AdminUserKind::Person { email: None });
    let nameless = other.items.iter().find(|u| u.id == ids::NAMELESS).unwrap();
    assert_eq!(nameless.name, None);

    let groups = admin.groups(ids::OTHER_SPACE, None).await.unwrap();
    assert!(groups.items.iter().any(|g| g.id == ids::GROUP_CONTRACTORS));
    let members = admin
        .group_members(ids::SCIM_SPACE, ids::GROUP_ENGINEERING, None)
        .await
        .unwrap();
    let alice = members.items.iter().find(|m| m.user_id == ALICE).unwrap();
    assert_eq!(alice.role, GroupRole::Owner);
    assert_eq!(alice.group_id, ids::GROUP_ENGINEERING);
    assert_eq!(
        sent(&admin),
        sim.counters(),
        "client and server count alike"
    );
    sim.shutdown().await;
}

/// P2: `status[]` repeated, the string `page_size` the simulator accepts only as a canonical
/// digit string, and a last page without `next_cursor`; revoked tokens are not asked for.
#[tokio::test]
async fn p2_tokens_and_mcp_connections_of_the_reference() {
    let sim = start(reference_config()).await;
    let admin = client(&sim);
    let statuses = [PatStatus::Active, PatStatus::Expired];
    let pats = admin
        .personal_access_tokens(ids::SCIM_SPACE, &statuses, None)
        .await
        .unwrap();
    assert_eq!(pats.next_cursor, None);
    let mut got: Vec<(&str, &PatStatus)> = pats
        .items
        .iter()
        .map(|p| (p.id.as_str(), &p.status))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (ids::PAT_ACTIVE, &PatStatus::Active),
            (ids::PAT_EXPIRED, &PatStatus::Expired)
        ]
    );
    let active = pats.items.iter().find(|p| p.id == ids::PAT_ACTIVE).unwrap();
    assert_eq!(active.creator.id, ALICE);
    assert!(active.expires_at.is_some() && active.last_used_at.is_some());
    let other = admin
        .personal_access_tokens(ids::OTHER_SPACE, &statuses, None)
        .await
        .unwrap();
    let no_expiry = other
        .items
        .iter()
        .find(|p| p.id == ids::PAT_NO_EXPIRY)
        .unwrap();
    assert_eq!(
        (no_expiry.name.as_ref(), no_expiry.expires_at),
        (None, None)
    );
    let query = sim
        .requests()
        .iter()
        .find(|r| r.path.ends_with("/personal_access_tokens"))
        .and_then(|r| r.query.clone())
        .unwrap();
    assert_eq!(
        query,
        "page_size=100&status%5B%5D=active&status%5B%5D=expired"
    );

    let mcp = admin.mcp_connections(None).await.unwrap();
    assert_eq!(mcp.next_cursor, None);
    let claude: Vec<&str> = mcp
        .items
        .iter()
        .filter(|c| c.client.key == ids::MCP_CLAUDE)
        .map(|c| c.user_id.as_str())
        .collect();
    assert_eq!(claude.len(), 2, "one client, two members");
    let cursor = mcp
        .items
        .iter()
        .find(|c| c.client.key == ids::MCP_CURSOR)
        .unwrap();
    assert_eq!(cursor.user_id, ids::FRANK);
    assert_eq!(cursor.workspace_ids, [ids::OTHER_SPACE]);
    sim.shutdown().await;
}

/// Agents (P4) and their permissions, in each principal form the simulator can send.
#[tokio::test]
async fn agents_and_permissions_in_every_principal_form() {
    for (form, flat) in [
        (PrincipalForm::TypedId, false),
        (PrincipalForm::TypedId, true),
        (PrincipalForm::Id, false),
        (PrincipalForm::Id, true),
    ] {
        let sim = start(SimConfig {
            admin_principal_form: form,
            admin_flat_permissions: flat,
            ..reference_config()
        })
        .await;
        let admin = client(&sim);
        let agents = admin.agents(ids::SCIM_SPACE, None).await.unwrap();
        let onboarding = agents
            .items
            .iter()
            .find(|a| a.id == ids::AGENT_ONBOARDING)
            .unwrap();
        assert!(onboarding.alive && onboarding.agent_type == "custom");
        let deleted = agents
            .items
            .iter()
            .find(|a| a.id == ids::AGENT_DELETED)
            .unwrap();
        assert!(!deleted.alive);
        let autofill = agents
            .items
            .iter()
            .find(|a| a.id == ids::AGENT_AUTOFILL)
            .unwrap();
        assert_eq!(autofill.agent_type, "database_autofill");
        let perms = admin
            .agent_permissions(ids::SCIM_SPACE, ids::AGENT_ONBOARDING, None)
            .await
            .unwrap();
        let kinds: Vec<&str> = perms
            .items
            .iter()
            .map(|p| match &p.principal {
                Principal::User(_) => "user",
                Principal::Group(_) => "group",
                Principal::Workspace(_) => "workspace",
            })
            .collect();
        for kind in ["user", "group", "workspace"] {
            assert!(kinds.contains(&kind), "{form:?} flat={flat}: {kinds:?}");
        }
        let query = sim
            .requests()
            .iter()
            .find(|r| r.path.ends_with("/agents"))
            .and_then(|r| r.query.clone());
        assert_eq!(query.as_deref(), Some("page_size=100"));
        sim.shutdown().await;
    }
}

/// Many pages in every style: exactly ⌈n/100⌉ requests each, nothing lost or repeated.
#[tokio::test]
async fn generated_organization_pages_every_style_to_the_end() {
    let dataset = Dataset::reference();
    let spec = OrgSpec {
        workspaces: 2,
        people: 330,
        bots: 5,
        pats: 330,
        mcp_connections: 150,
        agents: 260,
        ..OrgSpec::default()
    };
    let org = Organization::generate(&spec, &dataset);
    let counts = org.counts(&dataset);
    let config = SimConfig {
        organization: Some(org),
        ..SimConfig::default()
    };
    let sim = Simulator::start(dataset, config, 0).await.unwrap();
    let admin = client(&sim);
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    let spaces = admin.spaces(None).await.unwrap().items;
    assert_eq!(spaces.len(), 2);
    let statuses = [PatStatus::Active, PatStatus::Expired];
    let (mut users, mut pats, mut agents) = (Vec::new(), Vec::new(), Vec::new());
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for space in &spaces {
        let s = space.id.as_str();
        let u = all(&admin, |c| {
            let a = admin.clone();
            async move { a.space_users(s, c.as_deref()).await }
        })
        .await;
        let p = all(&admin, |c| {
            let a = admin.clone();
            let st = statuses.clone();
            async move { a.personal_access_tokens(s, &st, c.as_deref()).await }
        })
        .await;
        let g = all(&admin, |c| {
            let a = admin.clone();
            async move { a.agents(s, c.as_deref()).await }
        })
        .await;
        *want.entry("GET /v1/spaces/{space_id}/users").or_default() += pages(u.len());
        *want
            .entry("GET /v1/spaces/{space_id}/personal_access_tokens")
            .or_default() += pages(p.len());
        *want.entry("GET /v1/spaces/{space_id}/agents").or_default() += pages(g.len());
        users.extend(u);
        pats.extend(p);
        agents.extend(g);
    }
    let mcp = all(&admin, |c| {
        let a = admin.clone();
        async move { a.mcp_connections(c.as_deref()).await }
    })
    .await;
    want.insert("GET /v1/mcp_client_connections", pages(mcp.len()));
    want.insert("GET /v1/spaces", 1);
    assert_eq!(users.len(), counts.space_persons + counts.bots);
    assert_eq!(pats.len(), counts.pats_active + counts.pats_expired);
    assert_eq!(mcp.len(), counts.mcp_connections);
    assert_eq!(agents.len(), counts.agents);
    let mut ids: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), agents.len(), "no agent twice");
    let mut ids: Vec<&str> = pats.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), pats.len(), "no token twice");

    let counted: BTreeMap<String, u64> = admin
        .request_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    let want: BTreeMap<String, u64> = want.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
    assert_eq!(counted, want, "one request per page, pages of 100");
    // Every style spans more than one page somewhere (so cursors were followed).
    for (endpoint, n) in &want {
        let floor = if endpoint.contains("{space_id}") {
            2
        } else {
            1
        };
        if endpoint != "GET /v1/spaces" {
            assert!(*n > floor, "{endpoint}: {n} requests");
        }
    }
    assert_eq!(sent(&admin), sim.counters());
    sim.shutdown().await;
}

/// A token without a scope: family B (`restricted_resource`) and family A (`missing_scope`)
/// both give one line naming the scope; validation names `workspace:read`.
#[tokio::test]
async fn a_missing_scope_names_the_scope_in_either_family() {
    let limited = SimAdminToken {
        token: "adm_limited_token".into(),
        scopes: vec!["mcp-client-connection:read".into()],
    };
    let sim = start(SimConfig {
        admin_tokens: vec![limited],
        ..reference_config()
    })
    .await;
    let admin = client_with(&sim, "adm_limited_token");
    admin.mcp_connections(None).await.expect("the scope it has");
    let cases = [
        (
            admin.validate().await.unwrap_err(),
            "workspace:read",
            ErrorFamily::A,
        ),
        (
            admin.space_users(ids::SCIM_SPACE, None).await.unwrap_err(),
            "user:read",
            ErrorFamily::B,
        ),
        (
            admin
                .personal_access_tokens(ids::SCIM_SPACE, &[PatStatus::Active], None)
                .await
                .unwrap_err(),
            "personal-access-token:read",
            ErrorFamily::A,
        ),
        (
            admin.groups(ids::SCIM_SPACE, None).await.unwrap_err(),
            "permission-group:read",
            ErrorFamily::B,
        ),
    ];
    for (err, scope, family) in cases {
        let line = err.to_string();
        assert!(!line.contains('\n') && line.len() < 600, "{line}");
        assert!(
            line.contains(&format!("the organization bot token lacks `{scope}`")),
            "{line}"
        );
        assert!(!line.contains("adm_limited_token"), "{line}");
        let Error::Admin(detail) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (detail.status, detail.family),
            (403, Some(family)),
            "{line}"
        );
    }

    let wrong = client_with(&sim, "adm_wrong_token");
    let err = wrong.validate().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("BATON_ADMIN_TOKEN"), "{err}");
    sim.shutdown().await;
}

/// A 429 with `retry-after` (either family) is waited out and retried once.
#[tokio::test]
async fn a_429_is_honoured_and_retried() {
    let sim = start(SimConfig {
        rate_limit_first_tries: 1,
        retry_after_secs: 1,
        ..reference_config()
    })
    .await;
    let admin = client(&sim);
    admin
        .personal_access_tokens(ids::SCIM_SPACE, &[PatStatus::Active], None)
        .await
        .expect("family A 429, then served");
    admin
        .space_users(ids::SCIM_SPACE, None)
        .await
        .expect("family B 429, then served");
    assert_eq!(admin.retries(), 2);
    assert_eq!(admin.pacing().rate_limited, 2);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200, 429, 200]);

    let mut cfg = AdminConfig::new(sim.admin_base_url(), Secret::new(DEFAULT_ADMIN_TOKEN));
    cfg.retry = RetryConfig::disabled();
    let err = AdminClient::new(cfg)
        .unwrap()
        .groups(ids::SCIM_SPACE, None)
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(1)));
    sim.shutdown().await;
}

/// The writes of issue 15, and their effect on the reads.
#[tokio::test]
async fn writes_take_effect() {
    let sim = start(reference_config()).await;
    let admin = client(&sim);
    let s = ids::SCIM_SPACE;
    assert_eq!(
        admin
            .revoke_personal_access_token(s, ids::PAT_ACTIVE)
            .await
            .unwrap(),
        Revoked::Revoked
    );
    assert_eq!(
        admin
            .revoke_personal_access_token(s, ids::PAT_ACTIVE)
            .await
            .unwrap(),
        Revoked::AlreadyGone
    );
    let active = admin
        .personal_access_tokens(s, &[PatStatus::Active], None)
        .await
        .unwrap();
    assert!(active.items.iter().all(|p| p.id != ids::PAT_ACTIVE));

    admin.revoke_session(ALICE).await.expect("session revoked");
    let revoked = admin
        .revoke_mcp_connection(ids::MCP_CLAUDE, ALICE, s)
        .await
        .unwrap();
    assert!(revoked >= 1);

    let change = PermissionChange {
        set: vec![(Principal::User(ids::CAROL.into()), AgentRole::FullAccess)],
        remove: vec![Principal::Workspace(None)],
    };
    let after = admin
        .update_agent_permissions(s, ids::AGENT_ONBOARDING, &change)
        .await
        .unwrap();
    assert!(
        after
            .iter()
            .any(|p| p.principal == Principal::User(ids::CAROL.into())
                && p.role == AgentRole::FullAccess)
    );
    assert!(
        after
            .iter()
            .all(|p| !matches!(p.principal, Principal::Workspace(_)))
    );
    admin
        .set_agent_status(s, ids::AGENT_ONBOARDING, AgentStatus::Disabled)
        .await
        .unwrap();
    let agents = admin.agents(s, None).await.unwrap();
    let onboarding = agents
        .items
        .iter()
        .find(|a| a.id == ids::AGENT_ONBOARDING)
        .unwrap();
    assert_eq!(onboarding.status, "disabled_from_api");

    let g = ids::GROUP_DESIGNERS;
    let added = admin
        .add_group_member(s, g, ids::CAROL, &GroupRole::Member)
        .await
        .unwrap();
    assert_eq!(
        (added.user_id.as_str(), added.role),
        (ids::CAROL, GroupRole::Member)
    );
    let err = admin
        .add_group_member(s, g, ids::CAROL, &GroupRole::Member)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    let owner = admin
        .update_group_member(s, g, ids::CAROL, &GroupRole::Owner)
        .await
        .unwrap();
    assert_eq!(owner.role, GroupRole::Owner);
    admin.remove_group_member(s, g, ids::CAROL).await.unwrap();
    let members = admin.group_members(s, g, None).await.unwrap();
    assert!(members.items.iter().all(|m| m.user_id != ids::CAROL));
    sim.shutdown().await;
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Debug logs (the HTTP stack's included) name requests, never the token.
#[tokio::test]
async fn debug_logs_never_hold_the_admin_token() {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let installed = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .is_ok();
    let token = "adm_logged_n3ver_token";
    let sim = start(SimConfig {
        admin_tokens: vec![SimAdminToken::all_scopes(token)],
        ..reference_config()
    })
    .await;
    let admin = client_with(&sim, token);
    admin.validate().await.unwrap();
    let _ = client_with(&sim, "adm_other_token").validate().await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!text.contains(token), "token in logs:\n{text}");
    if installed {
        assert!(text.contains("Admin API request"), "{text}");
        assert!(text.contains("/v1/spaces?page_size=1"), "{text}");
        assert!(text.contains("status=401"), "{text}");
    }
    sim.shutdown().await;
}
