//! The simulator's Notion Admin API over real loopback sockets, driven with raw `reqwest`
//! (no `crate::notion`): pagination styles, error families, scopes, limits, writes and their
//! effect on reads, SCIM writes reflected in the Admin view, and the reference organization.

use baton_notion::sim::admin::{OrgSpec, Organization, reference_ids as ids};
use baton_notion::sim::{
    DEFAULT_ADMIN_TOKEN, Dataset, PrincipalForm, SimConfig, SimHandle, Simulator,
};
use serde_json::{Value, json};

#[path = "sim_admin/errors.rs"]
mod errors;
#[path = "sim_admin/writes.rs"]
mod writes;

const VERSION: &str = "2026-06-01";
const ALICE: &str = "11111111-1111-1111-1111-111111111111";

/// A tiny Admin API client for the tests.
struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
    version: Option<String>,
}

impl Admin {
    fn new(sim: &SimHandle) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Admin {
            http: reqwest::Client::new(),
            base: sim.admin_base_url(),
            token: DEFAULT_ADMIN_TOKEN.to_owned(),
            version: Some(VERSION.to_owned()),
        }
    }

    fn with_token(mut self, token: &str) -> Self {
        self.token = token.to_owned();
        self
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await.0
    }

    /// Sends a request; returns status, JSON body and the `retry-after` header.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> ((u16, Value), Option<String>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(v) = &self.version {
            request = request.header("Notion-Version", v);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        ((status, body), retry_after)
    }

    async fn write(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        self.send(method, path, Some(body)).await.0
    }
}

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

fn ids_of(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {page}"))
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn users_path(space: &str) -> String {
    format!("/v1/spaces/{space}/users")
}

#[tokio::test]
async fn reference_spaces_and_users() {
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let (status, spaces) = admin.get("/v1/spaces").await;
    assert_eq!(status, 200, "{spaces}");
    assert_eq!(spaces["object"], "list");
    assert_eq!(spaces["has_more"], false);
    assert!(spaces["next_cursor"].is_null());
    assert_eq!(
        ids_of(&spaces, "results"),
        [ids::SCIM_SPACE, ids::OTHER_SPACE]
    );
    assert_eq!(spaces["results"][1]["name"], "Acme Labs");

    let (status, users) = admin.get(&users_path(ids::SCIM_SPACE)).await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["type"], "user");
    let listed = ids_of(&users, "results");
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[0], ALICE);
    assert_eq!(listed[5], ids::BOT_SCIM);
    let alice = &users["results"][0];
    assert_eq!(alice["object"], "user");
    assert_eq!(alice["type"], "person");
    assert_eq!(alice["name"], "Alice Owner");
    assert_eq!(alice["person"]["email"], "owner@example.com");
    assert!(alice["avatar_url"].is_null());
    let bot = &users["results"][5];
    assert_eq!(
        (bot["type"].as_str(), &bot["bot"]),
        (Some("bot"), &json!({}))
    );

    let (_, other) = admin.get(&users_path(ids::OTHER_SPACE)).await;
    assert_eq!(
        ids_of(&other, "results"),
        [
            ids::CAROL,
            ids::FRANK,
            ids::GRACE,
            ids::NAMELESS,
            ids::BOT_OTHER
        ]
    );
    assert_eq!(
        other["results"][0]["name"], "Carol Member",
        "SCIM's profile wins"
    );
    assert_eq!(other["results"][2]["person"], json!({}), "no email");
    assert!(other["results"][3]["name"].is_null());
    assert!(other["results"][4]["name"].is_null());

    // A deleted workspace is not listed and answers 404 (family B here).
    let (status, body) = admin.get(&users_path(ids::DELETED_SPACE)).await;
    assert_eq!(status, 404);
    assert_eq!(
        (body["object"].as_str(), body["code"].as_str()),
        (Some("error"), Some("object_not_found"))
    );
    assert_eq!(body["status"], 404);

    let counts = sim.counters();
    assert_eq!(counts["GET /admin/v1/spaces"], 1);
    assert_eq!(counts["GET /admin/v1/spaces/{space_id}/users"], 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn p1_pages_carry_every_field_and_opaque_cursors() {
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let base = users_path(ids::SCIM_SPACE);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("{base}?page_size=4"),
            Some(c) => format!("{base}?page_size=4&start_cursor={c}"),
        };
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for key in ["object", "type", "results", "has_more", "next_cursor"] {
            assert!(page.get(key).is_some(), "{key} missing from {page}");
        }
        seen.extend(ids_of(&page, "results"));
        if page["has_more"] == false {
            assert!(page["next_cursor"].is_null(), "null, not absent: {page}");
            break;
        }
        let next = page["next_cursor"]
            .as_str()
            .expect("string cursor")
            .to_owned();
        assert!(!next.contains('4'), "opaque, not an offset: {next}");
        cursor = Some(next);
    }
    assert_eq!((pages, seen.len()), (2, 6));

    for bad in [
        format!("{base}?start_cursor=bm9wZQ"),
        format!("{base}?start_cursor="),
        format!("{base}?page_size=0"),
        format!("{base}?page_size=101"),
        format!("{base}?page_size=ten"),
    ] {
        let (status, body) = admin.get(&bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["object"], "error");
        assert_eq!(body["code"], "validation_error");
    }
    // A cursor of one workspace's listing is refused by another's.
    let (_, page) = admin.get(&format!("{base}?page_size=1")).await;
    let c = page["next_cursor"].as_str().unwrap();
    let (status, _) = admin
        .get(&format!(
            "{}?start_cursor={c}",
            users_path(ids::OTHER_SPACE)
        ))
        .await;
    assert_eq!(status, 400);
    sim.shutdown().await;
}

fn pats_path(space: &str, query: &str) -> String {
    format!("/v1/spaces/{space}/personal_access_tokens{query}")
}

#[tokio::test]
async fn p2_pats_string_page_size_absent_next_cursor_and_filters() {
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    // Without `status`: active only.
    let (status, page) = admin.get(&pats_path(ids::SCIM_SPACE, "")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids_of(&page, "results"), [ids::PAT_ACTIVE]);
    assert_eq!(page["has_more"], false);
    assert!(
        page.get("next_cursor").is_none(),
        "absent, not null: {page}"
    );
    assert!(page.get("object").is_none());
    let pat = &page["results"][0];
    assert_eq!(pat["creator"]["id"], ALICE);
    assert_eq!(pat["creator"]["email"], "owner@example.com");
    assert_eq!(pat["status"], "active");
    assert_eq!(pat["name"], "CI deploy");
    assert!(pat["expires_at"].is_i64() && pat["last_used_at"].is_i64());
    assert!(pat.get("revoked_at").is_none());

    let both = [ids::PAT_ACTIVE, ids::PAT_EXPIRED];
    for query in [
        "?status=active&status=expired",
        "?status[]=active&status[]=expired",
        "?status%5B%5D=active&status%5B%5D=expired",
        "?status=active,expired",
    ] {
        let (status, page) = admin.get(&pats_path(ids::SCIM_SPACE, query)).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(ids_of(&page, "results"), both, "{query}");
    }
    // String page_size "1": one per page; next_cursor present only while has_more.
    let (_, first) = admin
        .get(&pats_path(
            ids::SCIM_SPACE,
            "?status=active&status=expired&page_size=1",
        ))
        .await;
    assert_eq!(first["has_more"], true);
    let c = first["next_cursor"].as_str().expect("cursor");
    let (_, second) = admin
        .get(&pats_path(
            ids::SCIM_SPACE,
            &format!("?status=active&status=expired&page_size=1&cursor={c}"),
        ))
        .await;
    assert_eq!(ids_of(&second, "results"), [ids::PAT_EXPIRED]);
    assert_eq!(second["has_more"], false);
    assert!(second.get("next_cursor").is_none());

    let (_, revoked) = admin
        .get(&pats_path(ids::SCIM_SPACE, "?status=revoked"))
        .await;
    assert_eq!(
        revoked["results"][0]["revoked_by"]["type"],
        "organization_bot"
    );
    let (_, found) = admin
        .get(&pats_path(
            ids::SCIM_SPACE,
            "?status=active,expired,revoked&search=OLD",
        ))
        .await;
    assert_eq!(ids_of(&found, "results"), [ids::PAT_EXPIRED]);
    let (_, by) = admin
        .get(&pats_path(
            ids::SCIM_SPACE,
            &format!("?status=active,expired,revoked&creator_ids[]={ALICE}"),
        ))
        .await;
    assert_eq!(ids_of(&by, "results"), [ids::PAT_ACTIVE]);
    let (_, other) = admin.get(&pats_path(ids::OTHER_SPACE, "")).await;
    let unnamed = &other["results"][0];
    assert_eq!(unnamed["id"], ids::PAT_NO_EXPIRY);
    for absent in ["name", "expires_at", "last_used_at"] {
        assert!(unnamed.get(absent).is_none(), "{absent}: {unnamed}");
    }

    for bad in [
        "?page_size=007",
        "?page_size=101",
        "?page_size=%22100%22",
        "?status=gone",
        "?creator_ids=x",
    ] {
        let (status, body) = admin.get(&pats_path(ids::SCIM_SPACE, bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(
            (body["type"].as_str(), body["code"].as_str()),
            (Some("error"), Some("validation_error"))
        );
        assert!(body.get("object").is_none());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn p4_agents_default_to_25_a_page() {
    let dataset = Dataset::reference();
    let spec = OrgSpec {
        workspaces: 1,
        agents: 30,
        ..OrgSpec::default()
    };
    let org = Organization::generate(&spec, &dataset);
    let space = org.scim_space_id.clone();
    let config = SimConfig {
        organization: Some(org),
        ..SimConfig::default()
    };
    let sim = Simulator::start(dataset, config, 0).await.unwrap();
    let admin = Admin::new(&sim);
    let path = format!("/v1/spaces/{space}/agents");
    let (status, first) = admin.get(&path).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["results"].as_array().unwrap().len(), 25);
    assert_eq!(first["has_more"], true);
    let c = first["next_cursor"].as_str().unwrap();
    let (_, second) = admin.get(&format!("{path}?cursor={c}")).await;
    assert_eq!(second["results"].as_array().unwrap().len(), 5);
    assert!(second.get("next_cursor").is_none());
    let agent = &first["results"][0];
    assert_eq!(agent["space_id"], space.as_str());
    assert!(
        agent["alive"].is_boolean() && agent["type"].is_string() && agent["status"].is_string()
    );
    let (status, _) = admin.get(&format!("{path}?page_size=101")).await;
    assert_eq!(status, 400);
    let (_, all) = admin.get(&format!("{path}?page_size=100")).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 30);
    sim.shutdown().await;
}

#[tokio::test]
async fn reference_mcp_agents_and_groups() {
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let (status, mcp) = admin.get("/v1/mcp_client_connections").await;
    assert_eq!(status, 200, "{mcp}");
    let results = mcp["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]["client"],
        json!({"key": ids::MCP_CLAUDE, "name": "Claude", "type": "claude"})
    );
    assert_eq!(results[0]["is_enterprise_managed"], true);
    assert_eq!(results[0]["idp_issuer"], "https://idp.example.com");
    assert_eq!(
        results[1]["workspaces"],
        json!([{"id": ids::SCIM_SPACE}, {"id": ids::OTHER_SPACE}])
    );
    assert!(results[1].get("last_active_at").is_none());
    assert_eq!(results[2]["client"]["key"], ids::MCP_CURSOR);
    let (_, by_user) = admin
        .get(&format!(
            "/v1/mcp_client_connections?user_ids[]={}",
            ids::FRANK
        ))
        .await;
    assert_eq!(by_user["results"].as_array().unwrap().len(), 1);
    let (_, by_space) = admin
        .get(&format!(
            "/v1/mcp_client_connections?workspace_ids={}",
            ids::OTHER_SPACE
        ))
        .await;
    assert_eq!(by_space["results"].as_array().unwrap().len(), 2);

    let (_, agents) = admin
        .get(&format!("/v1/spaces/{}/agents", ids::SCIM_SPACE))
        .await;
    assert_eq!(
        ids_of(&agents, "results"),
        [
            ids::AGENT_ONBOARDING,
            ids::AGENT_AUTOFILL,
            ids::AGENT_DELETED
        ]
    );
    assert_eq!(agents["results"][2]["alive"], false);
    let perms = format!(
        "/v1/spaces/{}/agents/{}/permissions",
        ids::SCIM_SPACE,
        ids::AGENT_ONBOARDING
    );
    let (status, body) = admin.get(&perms).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("next_cursor").is_none());
    assert_eq!(
        body["permissions"],
        json!([
            {"principal": {"type": "user", "user_id": "22222222-2222-2222-2222-222222222222"}, "role": "full_access", "resolved_role": "full_access"},
            {"principal": {"type": "group", "group_id": ids::GROUP_ENGINEERING}, "role": "edit", "resolved_role": "edit"},
            {"principal": {"type": "workspace", "workspace_id": ids::SCIM_SPACE}, "role": "view_and_interact", "resolved_role": "view_and_interact"},
        ])
    );
    let (_, one) = admin.get(&format!("{perms}?page_size=2")).await;
    assert_eq!(one["permissions"].as_array().unwrap().len(), 2);
    let c = one["next_cursor"].as_str().unwrap();
    let (_, rest) = admin.get(&format!("{perms}?cursor={c}")).await;
    assert_eq!(rest["permissions"][0]["principal"]["type"], "workspace");

    let (_, groups) = admin
        .get(&format!("/v1/spaces/{}/groups", ids::SCIM_SPACE))
        .await;
    assert_eq!(groups["type"], "group");
    assert_eq!(
        ids_of(&groups, "results"),
        [ids::GROUP_ENGINEERING, ids::GROUP_DESIGNERS]
    );
    assert_eq!(groups["results"][0]["object"], "group");
    let (_, members) = admin
        .get(&format!(
            "/v1/spaces/{}/groups/{}/members",
            ids::SCIM_SPACE,
            ids::GROUP_ENGINEERING
        ))
        .await;
    assert_eq!(members["type"], "group_membership");
    assert!(members["next_cursor"].is_null());
    let roles: Vec<(String, String)> = members["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["group_id"], ids::GROUP_ENGINEERING);
            assert_eq!(m["member"]["type"], "user");
            (
                m["member"]["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (ALICE.to_owned(), "owner".to_owned()),
            (
                "33333333-3333-3333-3333-333333333333".to_owned(),
                "member".to_owned()
            ),
            (
                "44444444-4444-4444-4444-444444444444".to_owned(),
                "member".to_owned()
            ),
        ]
    );
    let (_, contractors) = admin
        .get(&format!(
            "/v1/spaces/{}/groups/{}/members",
            ids::OTHER_SPACE,
            ids::GROUP_CONTRACTORS
        ))
        .await;
    assert_eq!(contractors["results"][0]["role"], "owner");
    assert_eq!(contractors["results"].as_array().unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_principal_form_sent_is_a_switch() {
    let config = SimConfig {
        admin_principal_form: PrincipalForm::Id,
        admin_flat_permissions: true,
        ..reference_config()
    };
    let sim = start(config).await;
    let admin = Admin::new(&sim);
    let (_, body) = admin
        .get(&format!(
            "/v1/spaces/{}/agents/{}/permissions",
            ids::OTHER_SPACE,
            ids::AGENT_TRIAGE
        ))
        .await;
    assert_eq!(
        body["permissions"][1],
        json!({"type": "group", "id": ids::GROUP_CONTRACTORS, "role": "view_and_interact", "resolved_role": "view_and_interact"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn generated_organizations_serve_their_exact_counts() {
    let dataset = Dataset::generate(&baton_notion::sim::GenSpec {
        users: 150,
        groups: 4,
        members_per_group: 30,
        seed: 3,
        inactive_share: 0.1,
    });
    let spec = OrgSpec {
        workspaces: 4,
        people: 400,
        bots: 9,
        pats: 60,
        mcp_connections: 40,
        agents: 12,
        ..OrgSpec::default()
    };
    let org = Organization::generate(&spec, &dataset);
    let counts = org.counts(&dataset);
    let config = SimConfig {
        organization: Some(org),
        ..SimConfig::default()
    };
    let sim = Simulator::start(dataset, config, 0).await.unwrap();
    let admin = Admin::new(&sim);
    let (_, spaces) = admin.get("/v1/spaces?page_size=3").await;
    let mut space_ids = ids_of(&spaces, "results");
    let c = spaces["next_cursor"].as_str().unwrap();
    let (_, rest) = admin.get(&format!("/v1/spaces?start_cursor={c}")).await;
    space_ids.extend(ids_of(&rest, "results"));
    assert_eq!(space_ids.len(), counts.spaces);
    let mut sorted = space_ids.clone();
    sorted.sort();
    assert_eq!(space_ids, sorted, "ordered by id");

    let (mut persons, mut bots, mut pats, mut people) = (0, 0, 0, std::collections::HashSet::new());
    for space in &space_ids {
        let mut cursor = String::new();
        loop {
            let (status, page) = admin
                .get(&format!("{}?page_size=37{cursor}", users_path(space)))
                .await;
            assert_eq!(status, 200, "{page}");
            for user in page["results"].as_array().unwrap() {
                if user["type"] == "bot" {
                    bots += 1;
                } else {
                    persons += 1;
                    people.insert(user["id"].as_str().unwrap().to_owned());
                }
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&start_cursor={c}"),
                None => break,
            }
        }
        let mut cursor = String::new();
        loop {
            let (_, page) = admin
                .get(&pats_path(
                    space,
                    &format!("?status=active&status=expired&page_size=7{cursor}"),
                ))
                .await;
            pats += page["results"].as_array().unwrap().len();
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
    }
    assert_eq!((persons, bots), (counts.space_persons, counts.bots));
    assert_eq!(people.len(), counts.people);
    assert_eq!(
        counts.people, 400,
        "150 users, 15 inactive → 135 SCIM + 265 others"
    );
    assert!(counts.space_persons > counts.people, "overlap: {counts:?}");
    assert_eq!(pats, counts.pats_active + counts.pats_expired);
    assert_eq!(
        counts.pats_active + counts.pats_expired + counts.pats_revoked,
        60
    );
    assert_eq!(sim.counters()["GET /admin/v1/spaces"], 2);
    sim.shutdown().await;
}
