//! The Notion SCIM simulator over real loopback sockets, driven with `reqwest`.
//!
//! Every test starts its own simulator on an ephemeral port and talks to it as a client would:
//! bearer token, query strings, JSON bodies. These tests pin down the wire behaviour the client
//! and connector tests rely on — paging math, quirks, faults, filters, errors and counters.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use baton_notion::sim::{
    Dataset, GenSpec, NOTION_USER_EXTENSION, SimConfig, SimHandle, Simulator, UNMATCHED,
};
use serde_json::Value;

const TOKEN: &str = "sim-token";

/// A tiny SCIM client for the tests.
struct Scim {
    http: reqwest::Client,
    base: String,
}

impl Scim {
    fn new(sim: &SimHandle) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Scim {
            http: reqwest::Client::new(),
            base: sim.base_url(),
        }
    }

    /// GET `{base}{path_and_query}` with the right token: status and parsed JSON body.
    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path_and_query}", self.base)))
            .await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(TOKEN).send().await.expect("response");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        (status, body)
    }
}

async fn start(dataset: Dataset, config: SimConfig) -> SimHandle {
    Simulator::start(dataset, config, 0)
        .await
        .expect("simulator starts")
}

fn ids(page: &Value) -> Vec<String> {
    page["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// `path?k=v&…` with the pairs form-encoded (reqwest's `query` feature is not enabled).
fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

fn generated(users: usize) -> Dataset {
    Dataset::generate(&GenSpec {
        users,
        groups: 3,
        members_per_group: 10,
        seed: 99,
        inactive_share: 0.0,
    })
}

#[tokio::test]
async fn reference_users_list_and_get() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert!(sim.base_url().ends_with("/scim/v2"));

    let (status, page) = scim.get("/Users").await;
    assert_eq!(status, 200);
    assert_eq!(
        page["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["itemsPerPage"], 5);
    assert_eq!(page["startIndex"], 1);
    let alice = &page["Resources"][0];
    assert_eq!(alice["id"], "11111111-1111-1111-1111-111111111111");
    assert_eq!(alice["userName"], "owner@example.com");
    assert_eq!(alice["name"]["formatted"], "Alice Owner");
    assert_eq!(alice["name"]["givenName"], "Alice");
    assert_eq!(alice["name"]["familyName"], "Owner");
    assert_eq!(
        alice["emails"],
        serde_json::json!([{"value": "owner@example.com", "primary": true, "type": "work"}])
    );
    assert_eq!(alice["active"], true);
    assert_eq!(alice["meta"]["resourceType"], "User");
    assert!(
        alice["meta"]["created"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert_eq!(
        alice["schemas"],
        serde_json::json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            NOTION_USER_EXTENSION
        ])
    );
    let roles: Vec<_> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            u[NOTION_USER_EXTENSION]["role"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        roles,
        [
            "owner",
            "membership_admin",
            "member",
            "member",
            "restricted_member"
        ]
    );

    let (status, eve) = scim
        .get("/Users/55555555-5555-5555-5555-555555555555")
        .await;
    assert_eq!(status, 200);
    assert_eq!(eve["userName"], "eve.restricted@example.com");
    assert_eq!(eve[NOTION_USER_EXTENSION]["role"], "restricted_member");

    let (status, missing) = scim
        .get("/Users/99999999-9999-9999-9999-999999999999")
        .await;
    assert_eq!(status, 404);
    assert_eq!(missing["status"], "404");
    assert_eq!(missing["detail"], "User not found");
    assert_eq!(
        missing["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn reference_groups_list_and_get() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);

    let (status, page) = scim.get("/Groups").await;
    assert_eq!(status, 200);
    assert_eq!(page["totalResults"], 2);
    let engineering = &page["Resources"][0];
    assert_eq!(engineering["id"], "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
    assert_eq!(engineering["displayName"], "Engineering");
    assert_eq!(
        engineering["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    let members = engineering["members"].as_array().unwrap();
    let member_ids: Vec<_> = members
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        member_ids,
        [
            "11111111-1111-1111-1111-111111111111",
            "33333333-3333-3333-3333-333333333333",
            "44444444-4444-4444-4444-444444444444"
        ]
    );
    assert_eq!(members[0]["display"], "Alice Owner");
    assert_eq!(members[0]["type"], "User");
    assert_eq!(
        members[0]["$ref"],
        format!(
            "{}/Users/11111111-1111-1111-1111-111111111111",
            sim.base_url()
        )
    );

    let (status, designers) = scim
        .get("/Groups/bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")
        .await;
    assert_eq!(status, 200);
    assert_eq!(designers["displayName"], "Designers");
    assert_eq!(designers["members"].as_array().unwrap().len(), 2);

    let (status, missing) = scim.get("/Groups/nope").await;
    assert_eq!(status, 404);
    assert_eq!(missing["status"], "404");
    assert_eq!(missing["detail"], "Group not found");
    sim.shutdown().await;
}

#[tokio::test]
async fn discovery_endpoints() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let (status, config) = scim.get("/ServiceProviderConfig").await;
    assert_eq!(status, 200);
    assert_eq!(
        config["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let (status, types) = scim.get("/ResourceTypes").await;
    assert_eq!(status, 200);
    assert_eq!(types["totalResults"], 2);
    let names: Vec<_> = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_math_over_250_users() {
    let data = generated(250);
    let expected: Vec<String> = data.users.iter().map(|u| u.id.clone()).collect();
    let sim = start(data, SimConfig::default()).await;
    let scim = Scim::new(&sim);

    let mut seen = Vec::new();
    for (start_index, size) in [(1, 100), (101, 100), (201, 50)] {
        let (status, page) = scim
            .get(&format!("/Users?startIndex={start_index}&count=100"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(page["totalResults"], 250);
        assert_eq!(page["startIndex"], start_index);
        assert_eq!(page["itemsPerPage"], size);
        seen.extend(ids(&page));
    }
    assert_eq!(seen, expected, "pages are in stable insertion order");

    // Past the end: an empty page, not an error.
    let (status, page) = scim.get("/Users?startIndex=251&count=100").await;
    assert_eq!(status, 200);
    assert_eq!(page["totalResults"], 250);
    assert_eq!(page["itemsPerPage"], 0);
    assert!(ids(&page).is_empty());

    // startIndex is 1-based; 0 and missing mean 1; pages can start anywhere.
    let (_, zero) = scim.get("/Users?startIndex=0&count=3").await;
    assert_eq!(ids(&zero), expected[..3]);
    assert_eq!(zero["startIndex"], 1);
    let (_, odd) = scim.get("/Users?startIndex=100&count=2").await;
    assert_eq!(ids(&odd), expected[99..101]);
    assert_eq!(sim.counters()["GET /Users"], 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn count_is_clamped_to_the_page_cap() {
    let sim = start(generated(250), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let (_, page) = scim.get("/Users?count=500").await;
    assert_eq!(page["itemsPerPage"], 100);
    assert_eq!(ids(&page).len(), 100);
    let (_, page) = scim.get("/Users").await;
    assert_eq!(ids(&page).len(), 100);
    let (_, page) = scim.get("/Users?count=0").await;
    assert!(ids(&page).is_empty());
    assert_eq!(page["totalResults"], 250);
    let (status, error) = scim.get("/Users?count=ten").await;
    assert_eq!(status, 400);
    assert_eq!(error["scimType"], "invalidValue");
    sim.shutdown().await;

    let small = SimConfig {
        max_page_size: 7,
        ..SimConfig::default()
    };
    let sim = start(generated(20), small).await;
    let scim = Scim::new(&sim);
    let (_, page) = scim.get("/Users?count=100").await;
    assert_eq!(ids(&page).len(), 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn quirk_items_per_page_echoes_the_requested_count() {
    let config = SimConfig {
        echo_count_in_items_per_page: true,
        ..SimConfig::default()
    };
    let sim = start(generated(250), config).await;
    let scim = Scim::new(&sim);
    let (_, last) = scim.get("/Users?startIndex=201&count=100").await;
    assert_eq!(ids(&last).len(), 50);
    assert_eq!(
        last["itemsPerPage"], 100,
        "echoes count, not what was returned"
    );
    let (_, clamped) = scim.get("/Users?startIndex=241&count=500").await;
    assert_eq!(ids(&clamped).len(), 10);
    assert_eq!(clamped["itemsPerPage"], 100);
    sim.shutdown().await;
}

#[tokio::test]
async fn quirk_first_page_repeats_past_the_end() {
    let config = SimConfig {
        repeat_first_page_past_end: true,
        ..SimConfig::default()
    };
    let sim = start(generated(250), config).await;
    let scim = Scim::new(&sim);
    let (_, first) = scim.get("/Users?startIndex=1&count=100").await;
    let (_, last) = scim.get("/Users?startIndex=201&count=100").await;
    assert_eq!(ids(&last).len(), 50, "the last real page is unaffected");
    let (_, past) = scim.get("/Users?startIndex=251&count=100").await;
    assert_eq!(ids(&past), ids(&first));
    assert_eq!(past["startIndex"], 1);
    assert_eq!(past["totalResults"], 250);
    let (_, far) = scim.get("/Groups?startIndex=50").await;
    assert_eq!(far["Resources"].as_array().unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_filters() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let filtered = |filter: &str| scim.get_owned(with_query("/Users", &[("filter", filter)]));

    let (status, page) = filtered(r#"userName eq "Carol.Member@example.com""#).await;
    assert_eq!(status, 200);
    assert_eq!(page["totalResults"], 1);
    assert_eq!(ids(&page), ["33333333-3333-3333-3333-333333333333"]);

    let (_, page) = filtered(r#"email eq "EVE.Restricted@Example.com""#).await;
    assert_eq!(ids(&page), ["55555555-5555-5555-5555-555555555555"]);

    let (_, page) = filtered(r#"family_name eq "Member""#).await;
    assert_eq!(page["totalResults"], 2);
    let (_, page) = filtered(r#"family_name eq "member""#).await;
    assert_eq!(page["totalResults"], 0, "name filters are case-sensitive");
    let (_, page) = filtered(r#"given_name eq "Bob""#).await;
    assert_eq!(ids(&page), ["22222222-2222-2222-2222-222222222222"]);
    let (_, page) = filtered(r#"userName eq "nobody@example.com""#).await;
    assert_eq!(page["totalResults"], 0);
    assert_eq!(page["Resources"], serde_json::json!([]));

    for bad in [
        r#"userName co "owner""#,
        r#"title eq "x""#,
        r#"userName eq "a" and active eq true"#,
        "garbage",
    ] {
        let (status, error) = filtered(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error["status"], "400");
        assert_eq!(error["scimType"], "invalidFilter");
        assert!(error["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }

    let (_, groups) = scim
        .get(&with_query(
            "/Groups",
            &[("filter", r#"displayName eq "Designers""#)],
        ))
        .await;
    assert_eq!(ids(&groups), ["bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"]);
    let (status, error) = scim
        .get(&with_query("/Groups", &[("filter", r#"email eq "x""#)]))
        .await;
    assert_eq!(
        (status, &error["scimType"]),
        (400, &Value::from("invalidFilter"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn filtered_results_page_too() {
    let sim = start(generated(250), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let path = with_query(
        "/Users",
        &[
            ("filter", r#"userName eq "user7@example.com""#),
            ("startIndex", "2"),
        ],
    );
    let (_, page) = scim.get(&path).await;
    assert_eq!(page["totalResults"], 1);
    assert!(ids(&page).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_tokens_get_a_401_envelope_with_a_string_status() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let url = format!("{}/Users", sim.base_url());
    for request in [
        scim.http.get(&url),
        scim.http.get(&url).bearer_auth("wrong"),
        scim.http.get(&url).basic_auth("user", Some(TOKEN)),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], "application/scim+json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "401", "status is a string, like Notion's");
        assert_eq!(
            body["schemas"],
            serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert!(body.get("scimType").is_none());
        assert!(!body["detail"].as_str().unwrap().contains("wrong"));
    }
    assert_eq!(sim.counters()["GET /Users"], 3);
    assert!(sim.requests().iter().all(|r| r.status == 401));
    sim.shutdown().await;
}

#[tokio::test]
async fn unmatched_requests_are_named_and_counted() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let (status, body) = scim
        .send(scim.http.put(format!("{}/Groups", scim.base)).body("{}"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], "404");
    assert_eq!(body["detail"], "no simulator route for PUT /scim/v2/Groups");
    let (status, body) = scim.get("/Foo").await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"], "no simulator route for GET /scim/v2/Foo");
    // Outside the SCIM prefix, and paths that only look like templates.
    for (path, named) in [
        ("/v1/users", "GET /v1/users"),
        ("/scim/v2/Users/", "GET /scim/v2/Users/"),
        ("/scim/v2/Users/a/b", "GET /scim/v2/Users/a/b"),
    ] {
        let url = format!("http://{}{path}", sim.addr());
        let (status, body) = scim.send(scim.http.get(url)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["detail"], format!("no simulator route for {named}"));
    }
    assert_eq!(sim.counters()[UNMATCHED], 5);
    assert_eq!(sim.counters().len(), 1, "{:?}", sim.counters());
    let last = sim.requests().pop().unwrap();
    assert_eq!(last.endpoint, UNMATCHED);
    assert_eq!(last.path, "/scim/v2/Users/a/b");
    sim.shutdown().await;
}

#[tokio::test]
async fn endpoint_templates_agree_with_axum() {
    // Every served endpoint is counted under its own key, never as UNMATCHED.
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    for path in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/Users",
        "/Users/11111111-1111-1111-1111-111111111111",
        "/Users/not-there",
        "/Groups",
        "/Groups/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
    ] {
        scim.get(path).await;
    }
    let expected: BTreeMap<String, u64> = [
        ("GET /ServiceProviderConfig", 1),
        ("GET /ResourceTypes", 1),
        ("GET /Users", 1),
        ("GET /Users/{id}", 2),
        ("GET /Groups", 1),
        ("GET /Groups/{id}", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(sim.counters(), expected);
    assert_eq!(sim.total_requests(), 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn counters_and_request_log() {
    let sim = start(generated(250), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    for start_index in [1, 101, 201] {
        scim.get(&format!("/Users?startIndex={start_index}&count=100"))
            .await;
    }
    scim.get("/Groups").await;
    scim.get("/ServiceProviderConfig").await;
    scim.get("/Nope").await;
    let counters = sim.counters();
    assert_eq!(counters["GET /Users"], 3);
    assert_eq!(counters["GET /Groups"], 1);
    assert_eq!(counters["GET /ServiceProviderConfig"], 1);
    assert_eq!(counters[UNMATCHED], 1);
    assert!(!counters.contains_key("GET /Users/{id}"));
    assert_eq!(sim.total_requests(), 6);

    let log = sim.requests();
    assert_eq!(log.len(), 6);
    assert_eq!(log[1].method, "GET");
    assert_eq!(log[1].path, "/scim/v2/Users");
    assert_eq!(log[1].query.as_deref(), Some("startIndex=101&count=100"));
    assert_eq!(log[1].endpoint, "GET /Users");
    assert_eq!(log[1].status, 200);
    assert_eq!(log[3].query, None);
    assert_eq!(log[5].status, 404);

    sim.reset_counters();
    assert!(sim.counters().is_empty());
    assert!(sim.requests().is_empty());
    assert_eq!(sim.total_requests(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn group_members_can_be_left_out_of_list_pages() {
    let config = SimConfig {
        omit_group_members_in_list: true,
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let scim = Scim::new(&sim);
    let (_, page) = scim.get("/Groups").await;
    let groups = page["Resources"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert!(groups.iter().all(|g| g.get("members").is_none()));
    assert_eq!(groups[0]["displayName"], "Engineering");
    let (_, engineering) = scim
        .get("/Groups/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")
        .await;
    assert_eq!(engineering["members"].as_array().unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_role_extension_can_be_left_out() {
    let config = SimConfig {
        omit_role_for: vec!["33333333-3333-3333-3333-333333333333".to_owned()],
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let scim = Scim::new(&sim);
    let (_, carol) = scim
        .get("/Users/33333333-3333-3333-3333-333333333333")
        .await;
    assert!(carol.get(NOTION_USER_EXTENSION).is_none());
    assert_eq!(
        carol["schemas"],
        serde_json::json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    let (_, page) = scim.get("/Users").await;
    let without: Vec<_> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u.get(NOTION_USER_EXTENSION).is_none())
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(without, ["33333333-3333-3333-3333-333333333333"]);

    // A dataset role of None leaves the extension out too.
    let mut data = Dataset::reference();
    data.users[0].role = None;
    let sim2 = start(data, SimConfig::default()).await;
    let (_, alice) = Scim::new(&sim2)
        .get("/Users/11111111-1111-1111-1111-111111111111")
        .await;
    assert!(alice.get(NOTION_USER_EXTENSION).is_none());
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test]
async fn malformed_json_on_one_page() {
    let config = SimConfig {
        malformed_json_at: Some(("/Users".to_owned(), 101)),
        ..SimConfig::default()
    };
    let sim = start(generated(250), config).await;
    let scim = Scim::new(&sim);
    let (status, _) = scim.get("/Users?startIndex=1&count=100").await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let response = scim
            .http
            .get(format!("{}/Users?startIndex=101&count=100", scim.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(text.starts_with('{'));
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    let (status, page) = scim.get("/Users?startIndex=201&count=100").await;
    assert_eq!((status, ids(&page).len()), (200, 50));
    let (status, _) = scim.get("/Groups?startIndex=101").await;
    assert_eq!(status, 200, "only the named resource is affected");
    sim.shutdown().await;
}

#[tokio::test]
async fn dying_server_drops_connections_without_a_response() {
    let config = SimConfig {
        die_after_requests: Some(2),
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let scim = Scim::new(&sim);
    assert_eq!(scim.get("/Users").await.0, 200);
    assert_eq!(scim.get("/Groups").await.0, 200);

    // The third request rides the pooled keep-alive connection; the fourth needs a new one.
    for attempt in 0..2 {
        let client = if attempt == 0 {
            scim.http.clone()
        } else {
            reqwest::Client::new()
        };
        let result = client
            .get(format!("{}/Users", scim.base))
            .bearer_auth(TOKEN)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let error = result.expect_err("no HTTP response after the limit");
        assert!(!error.is_status(), "{error:?}");
        assert!(
            !error.is_timeout(),
            "connection must be dropped, not hung: {error:?}"
        );
        assert!(error.is_request() || error.is_connect(), "{error:?}");
    }
    assert_eq!(sim.total_requests(), 4);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 0, 0]);
    assert_eq!(sim.counters()["GET /Users"], 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn generated_workspaces_are_deterministic_over_the_wire() {
    let spec = GenSpec {
        users: 150,
        groups: 4,
        members_per_group: 30,
        seed: 2024,
        inactive_share: 0.1,
    };
    let a = start(Dataset::generate(&spec), SimConfig::default()).await;
    let b = start(Dataset::generate(&spec), SimConfig::default()).await;
    let (scim_a, scim_b) = (Scim::new(&a), Scim::new(&b));
    for page in ["/Users?startIndex=1", "/Users?startIndex=101", "/Groups"] {
        let (_, from_a) = scim_a.get(page).await;
        let (_, from_b) = scim_b.get(page).await;
        assert_eq!(ids(&from_a), ids(&from_b), "{page}");
    }
    let (_, users) = scim_a.get("/Users?count=100").await;
    let id = users["Resources"][0]["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
    assert_eq!(users["Resources"][0]["userName"], "user1@example.com");
    let inactive = users["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["active"] == false)
        .count();
    assert!(inactive > 0, "inactive users are listed");

    let (_, groups) = scim_a.get("/Groups").await;
    assert_eq!(groups["totalResults"], 4);
    let user_ids: HashSet<String> = a.state().users.into_iter().map(|u| u.id).collect();
    for group in groups["Resources"].as_array().unwrap() {
        let members: HashSet<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members.len(), 30);
        assert!(members.iter().all(|m| user_ids.contains(*m)));
    }

    let tiny = Dataset::generate(&GenSpec {
        users: 5,
        members_per_group: 50,
        ..spec
    });
    assert!(tiny.groups.iter().all(|g| g.members.len() == 5));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn state_snapshot_matches_the_dataset() {
    let data = generated(42);
    let sim = start(data.clone(), SimConfig::default()).await;
    assert_eq!(sim.state(), data);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let config = SimConfig {
        latency: Duration::from_millis(150),
        ..SimConfig::default()
    };
    let sim = start(Dataset::reference(), config).await;
    let scim = Scim::new(&sim);
    let started = Instant::now();
    assert_eq!(scim.get("/Users").await.0, 200);
    let response = scim
        .http
        .get(format!("{}/Users", scim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "latency applies to rejected requests too"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Shutdown cuts a pending latency sleep short.
    let slow = SimConfig {
        latency: Duration::from_secs(30),
        ..SimConfig::default()
    };
    let sim2 = start(Dataset::reference(), slow).await;
    let url = format!("{}/Users", sim2.base_url());
    let http = scim.http.clone();
    let pending = tokio::spawn(async move { http.get(url).bearer_auth(TOKEN).send().await });
    while sim2.total_requests() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    sim2.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let response = pending.await.unwrap().unwrap();
    assert_eq!(
        response.status(),
        200,
        "in-flight requests finish during shutdown"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_the_port_and_drop_stops_serving() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    assert_eq!(scim.get("/Users").await.0, 200);
    let url = format!("{}/Users", sim.base_url());
    sim.shutdown().await;
    let error = reqwest::Client::new()
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect_err("nothing listens after shutdown");
    assert!(error.is_connect(), "{error:?}");

    let dropped = start(Dataset::reference(), SimConfig::default()).await;
    let url = format!("{}/Users", dropped.base_url());
    drop(dropped);
    let mut refused = false;
    for _ in 0..100 {
        let result = reqwest::Client::new()
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await;
        if result.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "a dropped handle stops the server");
}

#[tokio::test]
async fn fixed_port_binding() {
    // Bind an ephemeral port, free it, and ask the simulator for that exact port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = Simulator::start(Dataset::reference(), SimConfig::default(), port)
        .await
        .unwrap();
    assert_eq!(sim.addr().port(), port);
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{port}/scim/v2"));
    assert!(
        Simulator::start(Dataset::reference(), SimConfig::default(), port)
            .await
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrent_clients_are_counted_exactly() {
    let sim = start(generated(1_000), SimConfig::default()).await;
    let scim = Scim::new(&sim);
    let pages = futures::future::join_all(
        (0..10).map(|i| scim.get_owned(format!("/Users?startIndex={}&count=100", i * 100 + 1))),
    )
    .await;
    let all: HashSet<String> = pages.iter().flat_map(|(_, p)| ids(p)).collect();
    assert_eq!(all.len(), 1_000);
    assert_eq!(sim.counters()["GET /Users"], 10);
    sim.shutdown().await;
}

impl Scim {
    /// [`Scim::get`] with an owned path, for building many futures at once.
    async fn get_owned(&self, path_and_query: String) -> (u16, Value) {
        self.get(&path_and_query).await
    }
}
