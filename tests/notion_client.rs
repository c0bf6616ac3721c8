//! The Notion SCIM client against a small stub server on a real socket.
//!
//! The stub (axum on `127.0.0.1:0`, under the `/scim/v2` prefix) records every request's method,
//! path, raw query and headers, serves Notion-shaped users and groups, and can misbehave the ways
//! real SCIM servers do: echo `count` in `itemsPerPage`, omit `totalResults`, serve page 1 again
//! past the end, send malformed JSON, answer slowly, or answer with errors. Its fallback route
//! names the unmatched request so a failing test explains itself.
//!
//! It does not use the crate's simulator (`src/sim`) on purpose: these tests pin the client's own
//! wire behaviour.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use baton_notion::notion::{
    Client, ClientConfig, Error, GroupId, NewUser, PatchOp, UserId, filter_eq,
};
use baton_notion::secret::Secret;
use futures::TryStreamExt;
use serde_json::{Value, json};

const TOKEN: &str = "secret_tok_SUPERSECRET123";

/// One request as the stub saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    raw_query: Option<String>,
    headers: HeaderMap,
    body: String,
}

/// How the stub's `GET /Users` and `GET /Groups` behave.
#[derive(Debug, Clone, Copy, Default)]
struct Behaviour {
    /// Report the requested `count` as `itemsPerPage` instead of what was returned.
    echo_count: bool,
    /// Leave out `totalResults`.
    omit_total: bool,
    /// Past the end, serve page 1 again instead of an empty page.
    repeat_first_page: bool,
    /// Serve broken JSON for this `startIndex`.
    malformed_at: Option<usize>,
    /// Omit `members` from group list pages.
    omit_members: bool,
    /// Answer every request after this delay.
    delay: Option<Duration>,
    /// Answer every request with this status, content type and body.
    canned: Option<(StatusCode, &'static str, &'static str)>,
}

struct Stub {
    users: Vec<Value>,
    groups: Vec<Value>,
    behaviour: Behaviour,
    seen: Mutex<Vec<Seen>>,
}

type Shared = Arc<Stub>;

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn list_page(stub: &Stub, all: &[Value], q: &HashMap<String, String>) -> Response {
    let start: usize = q
        .get("startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let count: usize = q
        .get("count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .min(100);
    let b = stub.behaviour;
    if b.malformed_at == Some(start) {
        return (
            StatusCode::OK,
            r#"{"totalResults": 3, "Resources": [{"id": "#,
        )
            .into_response();
    }
    let mut from = start.max(1) - 1;
    if from >= all.len() && b.repeat_first_page {
        from = 0;
    }
    let mut page: Vec<Value> = all.iter().skip(from).take(count).cloned().collect();
    if b.omit_members {
        for g in &mut page {
            if let Some(obj) = g.as_object_mut() {
                obj.remove("members");
            }
        }
    }
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "startIndex": start,
        "itemsPerPage": if b.echo_count { count } else { page.len() },
        "Resources": page,
    });
    if !b.omit_total {
        body["totalResults"] = json!(all.len());
    }
    axum::Json(body).into_response()
}

async fn list_users(
    State(stub): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(filter) = q.get("filter") {
        let matching: Vec<Value> = stub
            .users
            .iter()
            .filter(|u| filter == &filter_eq("userName", u["userName"].as_str().unwrap_or("")))
            .cloned()
            .collect();
        return list_page(&stub, &matching, &q);
    }
    list_page(&stub, &stub.users, &q)
}

async fn get_user(State(stub): State<Shared>, Path(id): Path<String>) -> Response {
    match stub.users.iter().find(|u| u["id"] == id.as_str()) {
        Some(u) => axum::Json(u.clone()).into_response(),
        None => scim_error(StatusCode::NOT_FOUND, None, &format!("User {id} not found")),
    }
}

async fn list_groups(
    State(stub): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list_page(&stub, &stub.groups, &q)
}

async fn get_group(State(stub): State<Shared>, Path(id): Path<String>) -> Response {
    match stub.groups.iter().find(|g| g["id"] == id.as_str()) {
        Some(g) => axum::Json(g.clone()).into_response(),
        None => scim_error(StatusCode::NOT_FOUND, None, "Group not found"),
    }
}

async fn create_user(State(stub): State<Shared>, body: String) -> Response {
    let new: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let user_name = new["userName"].as_str().unwrap_or("");
    if stub.users.iter().any(|u| u["userName"] == user_name) {
        return scim_error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            "User already exists in workspace",
        );
    }
    let mut created = new.clone();
    created["id"] = json!("0e7c1d2a-0000-4000-8000-00000000abcd");
    (StatusCode::CREATED, axum::Json(created)).into_response()
}

async fn patch_group() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn delete_user() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn service_provider_config() -> Response {
    axum::Json(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "filter": { "supported": true, "maxResults": 100 }
    }))
    .into_response()
}

async fn record(State(stub): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    stub.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        raw_query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    if let Some(delay) = stub.behaviour.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, content_type, body)) = stub.behaviour.canned {
        return (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

async fn fallback(req: Request) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("stub has no route for {} {}", req.method(), req.uri()),
    )
        .into_response()
}

/// Starts the stub; returns its base URL (with the `/scim/v2` prefix) and state.
async fn start(users: Vec<Value>, groups: Vec<Value>, behaviour: Behaviour) -> (String, Shared) {
    let stub = Arc::new(Stub {
        users,
        groups,
        behaviour,
        seen: Mutex::new(Vec::new()),
    });
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/{id}", get(get_user).delete(delete_user))
        .route("/Groups", get(list_groups))
        .route("/Groups/{id}", get(get_group).patch(patch_group));
    let app = Router::new()
        .nest("/scim/v2", scim)
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(stub.clone(), record))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/scim/v2/"), stub)
}

fn client(base: &str) -> Client {
    client_with_timeout(base, Duration::from_secs(10))
}

fn client_with_timeout(base: &str, timeout: Duration) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = ClientConfig::new(base, Secret::new(TOKEN));
    cfg.timeout = timeout;
    // These tests check what one attempt does; retries are covered in tests/resilience.rs.
    cfg.retry = baton_notion::notion::RetryConfig::disabled();
    Client::new(cfg).unwrap()
}

/// Asserts the token appears in neither rendering of `err`, and that `Display` is one line.
fn assert_clean(err: &Error) -> String {
    let display = err.to_string();
    let debug = format!("{err:?}");
    assert!(!display.contains("SUPERSECRET"), "{display}");
    assert!(!debug.contains("SUPERSECRET"), "{debug}");
    assert!(!display.contains('\n'), "{display}");
    display
}

/// A user as a live Notion tenant returns it.
fn notion_user(i: usize) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User"
        ],
        "id": format!("5f3d0a8e-2b1c-4e2a-9f7d-{i:012x}"),
        "userName": format!("user{i}@example.com"),
        "name": { "formatted": format!("User {i}"), "givenName": "User", "familyName": i.to_string() },
        "emails": [{ "value": format!("user{i}@example.com"), "primary": true, "type": "work" }],
        "active": !i.is_multiple_of(7),
        "photos": [{ "value": "https://s3-us-west-2.amazonaws.com/public.notion-static.com/x.png", "type": "photo" }],
        "title": if i.is_multiple_of(2) { json!("Engineer") } else { Value::Null },
        "meta": { "resourceType": "User", "created": "1712345678901", "lastModified": "1712345679999" },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "R&D" },
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": {
            "role": if i == 0 { "owner" } else { "member" }
        }
    })
}

fn users(n: usize) -> Vec<Value> {
    (0..n).map(notion_user).collect()
}

fn groups() -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "9a9a9a9a-0000-4000-8000-000000000001",
            "displayName": "Engineering",
            "members": [
                { "value": "5f3d0a8e-2b1c-4e2a-9f7d-000000000001", "display": "User 1", "type": "User" },
                { "value": "5f3d0a8e-2b1c-4e2a-9f7d-000000000002" },
                { "value": "9a9a9a9a-0000-4000-8000-000000000002", "type": "Group" }
            ],
            "meta": { "resourceType": "Group", "created": "1712345678901" }
        }),
        json!({
            "id": "9a9a9a9a-0000-4000-8000-000000000002",
            "displayName": "Empty",
            "members": []
        }),
    ]
}

#[tokio::test]
async fn sends_bearer_accept_and_user_agent_under_the_prefix() {
    let (base, stub) = start(users(1), groups(), Behaviour::default()).await;
    let client = client(&base);
    let config = client.service_provider_config().await.unwrap();
    assert_eq!(config["patch"]["supported"], json!(true));

    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/scim/v2/ServiceProviderConfig");
    assert_eq!(
        req.headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );
    assert_eq!(
        req.headers["accept"],
        "application/scim+json, application/json"
    );
    let ua = req.headers["user-agent"].to_str().unwrap();
    assert!(ua.starts_with("baton-notion/"), "{ua}");
    assert_eq!(client.request_counts()["GET /ServiceProviderConfig"], 1);
    assert!(!format!("{client:?}").contains("SUPERSECRET"));
}

#[tokio::test]
async fn lists_and_gets_realistic_notion_users() {
    let (base, stub) = start(users(3), groups(), Behaviour::default()).await;
    let client = client(&base);

    let page = client
        .users()
        .list()
        .start_index(1)
        .count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_results, Some(3));
    assert_eq!(page.items_per_page, Some(2));
    assert_eq!(page.resources.len(), 2);
    let owner = &page.resources[0];
    assert_eq!(owner.role.as_deref(), Some("owner"));
    assert_eq!(owner.display_name(), "User 0");
    assert_eq!(owner.primary_email(), Some("user0@example.com"));
    assert_eq!(owner.active, Some(false));
    assert_eq!(owner.title.as_deref(), Some("Engineer"));
    assert_eq!(
        owner.enterprise.as_ref().unwrap().department.as_deref(),
        Some("R&D")
    );
    assert_eq!(
        owner.meta.as_ref().unwrap().last_modified.as_deref(),
        Some("1712345679999")
    );
    assert_eq!(page.resources[1].title, None);

    let id = UserId::from("5f3d0a8e-2b1c-4e2a-9f7d-000000000002");
    let user = client.users().get(&id).await.unwrap();
    assert_eq!(user.id, id);
    assert_eq!(user.role.as_deref(), Some("member"));

    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(seen[0].raw_query.as_deref(), Some("startIndex=1&count=2"));
    assert_eq!(seen[1].path, format!("/scim/v2/Users/{id}"));
    let counts = client.request_counts();
    assert_eq!(counts["GET /Users"], 1);
    assert_eq!(counts["GET /Users/{id}"], 1);
    assert_eq!(counts["GET /Groups"], 0);

    let gone = client.users().get(&UserId::from("nope")).await.unwrap_err();
    assert!(gone.is_not_found());
    assert!(assert_clean(&gone).contains("User nope not found"));
}

#[tokio::test]
async fn filter_is_percent_encoded() {
    let (base, stub) = start(users(3), groups(), Behaviour::default()).await;
    let client = client(&base);
    let page = client
        .users()
        .list()
        .filter(filter_eq("userName", "user2@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.resources.len(), 1);
    assert_eq!(page.resources[0].user_name, "user2@example.com");
    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].raw_query.as_deref(),
        Some("filter=userName%20eq%20%22user2%40example.com%22")
    );
}

#[tokio::test]
async fn groups_with_members_with_and_without_type() {
    let (base, _stub) = start(users(3), groups(), Behaviour::default()).await;
    let client = client(&base);
    let page = client.groups().list().send().await.unwrap();
    assert_eq!(page.resources.len(), 2);
    let eng = &page.resources[0];
    assert_eq!(eng.display_name, "Engineering");
    let members = eng.members.as_ref().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members[0].is_user() && members[1].is_user() && !members[2].is_user());
    assert_eq!(members[1].type_, None);
    assert_eq!(
        eng.user_member_ids().collect::<Vec<_>>(),
        [
            "5f3d0a8e-2b1c-4e2a-9f7d-000000000001",
            "5f3d0a8e-2b1c-4e2a-9f7d-000000000002"
        ]
    );
    assert_eq!(page.resources[1].members, Some(vec![]));
}

#[tokio::test]
async fn group_pages_without_members_fall_back_to_get() {
    let behaviour = Behaviour {
        omit_members: true,
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(3), groups(), behaviour).await;
    let client = client(&base);
    let all: Vec<_> = client
        .groups()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|g| g.members.is_none()));
    let full = client
        .groups()
        .get(&GroupId::from("9a9a9a9a-0000-4000-8000-000000000001"))
        .await
        .unwrap();
    assert_eq!(full.members.map(|m| m.len()), Some(3));
    assert_eq!(client.request_counts()["GET /Groups/{id}"], 1);
}

#[tokio::test]
async fn streams_250_users_in_three_requests_even_when_items_per_page_lies() {
    let behaviour = Behaviour {
        echo_count: true,
        ..Behaviour::default()
    };
    let (base, stub) = start(users(250), groups(), behaviour).await;
    let client = client(&base);
    let all: Vec<_> = client
        .users()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let unique: std::collections::HashSet<_> = all.iter().map(|u| u.id.clone()).collect();
    assert_eq!(unique.len(), 250);

    let queries: Vec<_> = stub
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.raw_query.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        queries,
        [
            "startIndex=1&count=100",
            "startIndex=101&count=100",
            "startIndex=201&count=100"
        ]
    );
    assert_eq!(client.request_counts()["GET /Users"], 3);
}

#[tokio::test]
async fn stops_when_the_server_serves_page_one_again() {
    let behaviour = Behaviour {
        omit_total: true,
        repeat_first_page: true,
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(200), groups(), behaviour).await;
    let client = client(&base);
    let all: Vec<_> = client
        .users()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 200);
    let unique: std::collections::HashSet<_> = all.iter().map(|u| u.id.clone()).collect();
    assert_eq!(unique.len(), 200);
    assert_eq!(client.request_counts()["GET /Users"], 3);
}

#[tokio::test]
async fn unauthorized_is_a_scim_error_without_the_token() {
    let behaviour = Behaviour {
        canned: Some((
            StatusCode::UNAUTHORIZED,
            "application/scim+json",
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":401,"detail":"Invalid bearer token"}"#,
        )),
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(1), groups(), behaviour).await;
    let client = client(&base);
    let err = client.users().list().count(100).send().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(matches!(err, Error::Scim { status: 401, .. }));
    assert!(!err.is_retryable());
    let msg = assert_clean(&err);
    assert!(
        msg.starts_with("Notion answered 401 Unauthorized for GET /Users?count=100: Invalid bearer token — check the SCIM token (BATON_SCIM_TOKEN)"),
        "{msg}"
    );
}

#[tokio::test]
async fn html_from_a_proxy_is_a_short_retryable_error() {
    let behaviour = Behaviour {
        canned: Some((
            StatusCode::BAD_GATEWAY,
            "text/html",
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n</body>\n</html>\n",
        )),
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(1), groups(), behaviour).await;
    let client = client(&base);
    let err = client.groups().list().send().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
    let msg = assert_clean(&err);
    assert!(msg.contains("for GET /Groups: 502 Bad Gateway —"), "{msg}");
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_page() {
    let behaviour = Behaviour {
        malformed_at: Some(101),
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(150), groups(), behaviour).await;
    let client = client(&base);

    let err = client
        .users()
        .list()
        .start_index(101)
        .count(100)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let msg = assert_clean(&err);
    assert!(msg.contains("GET /Users?startIndex=101&count=100"), "{msg}");
    assert!(msg.contains("line 1 column"), "{msg}");

    // Through the stream: page 1 is fine, page 2 fails and says which page.
    let mut stream = client.users().list().into_stream();
    let mut ok = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => ok += 1,
            Ok(None) => panic!("stream ended without the decode error"),
            Err(err) => break err,
        }
    };
    assert_eq!(ok, 100);
    assert!(err.to_string().contains("startIndex=101"), "{err}");
}

#[tokio::test]
async fn timeout_is_reported_and_retryable() {
    let behaviour = Behaviour {
        delay: Some(Duration::from_secs(3)),
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(1), groups(), behaviour).await;
    let client = client_with_timeout(&base, Duration::from_millis(200));
    let err = client.service_provider_config().await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(assert_clean(&err).contains("GET /ServiceProviderConfig within 0.2s"));
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client(&format!("http://{addr}/scim/v2"));
    let err = client.users().list().send().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_connect() && err.is_retryable());
    let msg = assert_clean(&err);
    assert_eq!(
        msg,
        "could not reach Notion for GET /Users (connection failed)"
    );
    assert_eq!(client.request_counts()["GET /Users"], 1);
}

#[tokio::test]
async fn provisioning_calls_send_scim_json() {
    let (base, stub) = start(users(2), groups(), Behaviour::default()).await;
    let client = client(&base);

    let mut new = NewUser::new("new@example.com");
    new.role = Some("restricted_member".into());
    let created = client.users().create(&new).await.unwrap();
    assert_eq!(created.id.as_str(), "0e7c1d2a-0000-4000-8000-00000000abcd");
    assert_eq!(created.role.as_deref(), Some("restricted_member"));

    let dup = client
        .users()
        .create(&NewUser::new("user1@example.com"))
        .await
        .unwrap_err();
    assert_eq!(dup.status(), Some(409));
    assert_eq!(dup.scim_type(), Some("uniqueness"));
    assert!(assert_clean(&dup).contains("User already exists in workspace"));

    let patched = client
        .groups()
        .patch(
            &GroupId::from("9a9a9a9a-0000-4000-8000-000000000001"),
            &PatchOp::remove_member(&UserId::from("5f3d0a8e-2b1c-4e2a-9f7d-000000000001")),
        )
        .await
        .unwrap();
    assert_eq!(patched, None, "204 without a body");
    client
        .users()
        .delete(&UserId::from("5f3d0a8e-2b1c-4e2a-9f7d-000000000001"))
        .await
        .unwrap();

    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].headers["content-type"], "application/scim+json");
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body["urn:ietf:params:scim:schemas:extension:notion:2.0:User"]["role"],
        "restricted_member"
    );
    assert_eq!(seen[2].method, "PATCH");
    let patch: Value = serde_json::from_str(&seen[2].body).unwrap();
    assert_eq!(
        patch["Operations"][0]["path"],
        "members[value eq \"5f3d0a8e-2b1c-4e2a-9f7d-000000000001\"]"
    );
    assert_eq!(seen[3].method, "DELETE");
    assert!(!seen[3].headers.contains_key("content-type"));
    let counts = client.request_counts();
    assert_eq!(counts["POST /Users"], 2);
    assert_eq!(counts["PATCH /Groups/{id}"], 1);
    assert_eq!(counts["DELETE /Users/{id}"], 1);
}

/// A writer appending to a shared buffer, for capturing log output.
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

#[tokio::test]
async fn logs_requests_at_debug_without_the_token() {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = LogBuffer::default();
    let writer = logs.clone();
    // Global (and bridging the `log` crate), so the HTTP stack's own records are captured too;
    // other tests running meanwhile only add more lines that must not contain the token either.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .try_init();

    let behaviour = Behaviour {
        canned: Some((
            StatusCode::FORBIDDEN,
            "application/json",
            r#"{"detail":"nope"}"#,
        )),
        ..Behaviour::default()
    };
    let (base, _stub) = start(users(1), groups(), behaviour).await;
    let client = client(&base);
    let err = client
        .users()
        .list()
        .start_index(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_clean(&err);

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!text.contains("SUPERSECRET"), "token in logs:\n{text}");
    // When another test installed the global subscriber first, this buffer may stay empty.
    if !text.is_empty() {
        assert!(text.contains("SCIM request"), "{text}");
        assert!(text.contains("status=403"), "{text}");
        assert!(text.contains("/Users?startIndex=1"), "{text}");
    }
}
