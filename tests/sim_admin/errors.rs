//! Admin API errors over the wire: both families, `Notion-Version`, tokens and scopes, 404s,
//! 429s (injected and enforced), injected 5xx, and request counting per template.

use baton_notion::sim::admin::reference_ids as ids;
use baton_notion::sim::{DEFAULT_ADMIN_TOKEN, SimAdminToken, SimConfig, UNMATCHED};
use serde_json::{Value, json};

use super::{ALICE, Admin, pats_path, reference_config, start, users_path};

#[tokio::test]
async fn both_error_families_version_header_tokens_and_scopes() {
    let config = SimConfig {
        admin_tokens: vec![
            SimAdminToken::all_scopes(DEFAULT_ADMIN_TOKEN),
            SimAdminToken {
                token: "adm_narrow".to_owned(),
                scopes: vec!["workspace:read".to_owned()],
            },
        ],
        ..reference_config()
    };
    let sim = start(config).await;
    let admin = Admin::new(&sim);
    let pats = pats_path(ids::SCIM_SPACE, "");
    let users = users_path(ids::SCIM_SPACE);

    // Missing and wrong Notion-Version: 400 validation_error in each family.
    for version in [None, Some("2022-06-28")] {
        let mut client = Admin::new(&sim);
        client.version = version.map(str::to_owned);
        let (status, a) = client.get(&pats).await;
        assert_eq!(status, 400);
        assert_eq!(
            (a["type"].as_str(), a["code"].as_str()),
            (Some("error"), Some("validation_error"))
        );
        assert!(a["message"].as_str().unwrap().contains("Notion-Version"));
        let (status, b) = client.get(&users).await;
        assert_eq!(status, 400);
        assert_eq!(
            (b["object"].as_str(), b["code"].as_str()),
            (Some("error"), Some("validation_error"))
        );
    }

    // Wrong or missing token: 401 unauthorized; the SCIM token is not an admin token.
    for token in ["nope", "sim-token"] {
        let client = Admin::new(&sim).with_token(token);
        let (status, a) = client.get(&pats).await;
        assert_eq!(
            (status, a["code"].as_str(), a["type"].as_str()),
            (401, Some("unauthorized"), Some("error"))
        );
        let (status, b) = client.get(&users).await;
        assert_eq!((status, b["object"].as_str()), (401, Some("error")));
        assert!(!b.to_string().contains(token), "token echoed: {b}");
    }

    // A token without the scope: 403 naming it, per family.
    let narrow = Admin::new(&sim).with_token("adm_narrow");
    let (status, _) = narrow.get("/v1/spaces").await;
    assert_eq!(status, 200);
    let (status, a) = narrow.get(&pats).await;
    assert_eq!((status, a["code"].as_str()), (403, Some("missing_scope")));
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("personal-access-token:read"),
        "{a}"
    );
    let (status, b) = narrow.get(&users).await;
    assert_eq!(
        (status, b["code"].as_str(), b["object"].as_str()),
        (403, Some("restricted_resource"), Some("error"))
    );
    assert!(b["message"].as_str().unwrap().contains("user:read"), "{b}");

    // Unknown ids: 404 per family; unknown Admin paths: family A 404, counted as unmatched.
    let (status, a) = admin
        .get(&pats_path("5c1a0000-0000-4000-8000-00000000dead", ""))
        .await;
    assert_eq!((status, a["code"].as_str()), (404, Some("not_found")));
    let (status, a) = admin
        .get(&format!(
            "/v1/spaces/{}/agents/nope/permissions",
            ids::SCIM_SPACE
        ))
        .await;
    assert_eq!((status, a["code"].as_str()), (404, Some("not_found")));
    let (status, b) = admin
        .get(&format!(
            "/v1/spaces/{}/groups/nope/members",
            ids::SCIM_SPACE
        ))
        .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (404, Some("object_not_found"))
    );
    let (status, a) = admin.get("/v1/legal_holds").await;
    assert_eq!(
        (status, a["type"].as_str(), a["code"].as_str()),
        (404, Some("error"), Some("not_found"))
    );
    assert_eq!(sim.counters()[UNMATCHED], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn without_an_organization_admin_paths_are_unknown() {
    let sim = start(SimConfig::default()).await;
    let (status, body) = Admin::new(&sim).get("/v1/spaces").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert_eq!(sim.counters()[UNMATCHED], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_in_the_family() {
    let config = SimConfig {
        rate_limit_first_tries: 1,
        retry_after_secs: 3,
        ..reference_config()
    };
    let sim = start(config).await;
    let admin = Admin::new(&sim);
    let ((status, a), retry) = admin
        .send(reqwest::Method::GET, &pats_path(ids::SCIM_SPACE, ""), None)
        .await;
    assert_eq!(
        (status, a["code"].as_str(), a["type"].as_str()),
        (429, Some("rate_limited"), Some("error"))
    );
    assert_eq!(retry.as_deref(), Some("3"));
    let ((status, b), retry) = admin
        .send(reqwest::Method::GET, &users_path(ids::SCIM_SPACE), None)
        .await;
    assert_eq!(
        (status, b["object"].as_str(), b["code"].as_str()),
        (429, Some("error"), Some("rate_limited"))
    );
    assert_eq!(retry.as_deref(), Some("3"));
    let (status, _) = admin.get(&pats_path(ids::SCIM_SPACE, "")).await;
    assert_eq!(status, 200, "a retry is served");
    sim.shutdown().await;

    // Enforced limit: the admin token has its own bucket, apart from the SCIM token's.
    let config = SimConfig {
        rate_limit: Some(0.5),
        rate_limit_burst: Some(1),
        ..reference_config()
    };
    let sim = start(config).await;
    let admin = Admin::new(&sim);
    let scim = reqwest::Client::new()
        .get(format!("{}/Users", sim.base_url()))
        .bearer_auth("sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status().as_u16(), 200);
    let (status, _) = admin.get("/v1/spaces").await;
    assert_eq!(status, 200, "own bucket");
    let ((status, a), retry) = admin.send(reqwest::Method::GET, "/v1/spaces", None).await;
    assert_eq!((status, a["code"].as_str()), (429, Some("rate_limited")));
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(sim.rate_limited(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_admin_endpoint_is_counted_under_its_template() {
    use reqwest::Method;
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let s = ids::SCIM_SPACE;
    let g = ids::GROUP_ENGINEERING;
    let a = ids::AGENT_ONBOARDING;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1/spaces".into(), None),
        (Method::GET, format!("/v1/spaces/{s}/users"), None),
        (
            Method::GET,
            format!("/v1/spaces/{s}/personal_access_tokens"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/spaces/{s}/personal_access_tokens/{}", ids::PAT_ACTIVE),
            None,
        ),
        (
            Method::POST,
            "/v1/managed_users/revoke_session".into(),
            Some(json!({"user": {"type": "id", "id": ALICE}})),
        ),
        (Method::GET, format!("/v1/spaces/{s}/groups"), None),
        (
            Method::GET,
            format!("/v1/spaces/{s}/groups/{g}/members"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/spaces/{s}/groups/{g}/members"),
            Some(
                json!({"member": {"type": "user", "user_id": "22222222-2222-2222-2222-222222222222"}, "role": "member"}),
            ),
        ),
        (
            Method::PATCH,
            format!("/v1/spaces/{s}/groups/{g}/members/users/{ALICE}"),
            Some(json!({"role": "member"})),
        ),
        (
            Method::DELETE,
            format!("/v1/spaces/{s}/groups/{g}/members/users/{ALICE}"),
            None,
        ),
        (Method::GET, "/v1/mcp_client_connections".into(), None),
        (
            Method::POST,
            "/v1/mcp_client_connections/revoke".into(),
            Some(json!({"client_key": ids::MCP_CLAUDE, "user_id": ALICE, "workspace_id": s})),
        ),
        (
            Method::PUT,
            "/v1/mcp_client_connections/enterprise_managed_access".into(),
            Some(json!({"access": "allowed", "user_id": ALICE, "workspace_id": s})),
        ),
        (Method::GET, format!("/v1/spaces/{s}/agents"), None),
        (
            Method::GET,
            format!("/v1/spaces/{s}/agents/{a}/permissions"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/spaces/{s}/agents/{a}/permissions"),
            Some(json!({"set": []})),
        ),
        (
            Method::PATCH,
            format!("/v1/spaces/{s}/agents/{a}/status"),
            Some(json!({"admin_status": "active"})),
        ),
    ];
    for (method, path, body) in &calls {
        let ((status, reply), _) = admin.send(method.clone(), path, body.clone()).await;
        assert_eq!(status, 200, "{method} {path}: {reply}");
    }
    let counts = sim.counters();
    assert_eq!(counts.len(), calls.len(), "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(counts.contains_key(
        "PATCH /admin/v1/spaces/{space_id}/groups/{group_id}/members/users/{user_id}"
    ));
    assert!(!counts.contains_key(UNMATCHED));
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_reach_the_admin_api_in_its_families() {
    let config = SimConfig {
        server_error_share: 1.0,
        server_error_statuses: vec![503],
        ..reference_config()
    };
    let sim = start(config).await;
    let admin = Admin::new(&sim);
    let (status, b) = admin.get(&users_path(ids::SCIM_SPACE)).await;
    assert_eq!(
        (status, b["object"].as_str(), b["code"].as_str()),
        (503, Some("error"), Some("service_unavailable"))
    );
    let (status, a) = admin.get(&pats_path(ids::SCIM_SPACE, "")).await;
    assert_eq!(
        (status, a["type"].as_str(), a["code"].as_str()),
        (503, Some("error"), Some("internal_server_error"))
    );
    sim.shutdown().await;
}
