//! The Admin API client against a raw hostile server on loopback
//! (`common/hostile.rs`) for the hostile cases — huge bodies, endless and repeated cursors, an
//! echoed token, a missing scope, 429 with `retry-after` — and the request shape of every
//! paging style.

#[path = "common/hostile.rs"]
mod hostile;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use baton_notion::notion::admin::{
    AdminClient, AdminConfig, AdminPage, AdminUserKind, ErrorFamily, NOTION_VERSION, PatStatus,
    Principal,
};
use baton_notion::notion::{Error, RetryConfig};
use baton_notion::secret::Secret;
use hostile::{Hostile, Reply, Request};
use serde_json::json;

/// The organization bot token the hostile server is called with.
const ADMIN_TOKEN: &str = "adm_hostile_admin_t0ken";

/// Longest acceptable error line (the house limit for outside text plus our own words).
const MAX_LINE: usize = 1200;

fn config(server: &Hostile) -> AdminConfig {
    let mut cfg = AdminConfig::new(server.admin_base_url(), Secret::new(ADMIN_TOKEN));
    cfg.retry = RetryConfig::fast();
    cfg
}

fn client(server: &Hostile) -> AdminClient {
    AdminClient::new(config(server)).expect("client")
}

/// One line, short, without the token (in `Display` or `Debug`).
fn assert_clean(err: &Error) -> String {
    let line = err.to_string();
    assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
    assert!(line.len() < MAX_LINE, "{} bytes: {line}", line.len());
    assert!(!line.contains(ADMIN_TOKEN), "{line}");
    assert!(!format!("{err:?}").contains(ADMIN_TOKEN));
    line
}

/// Follows every page of a listing.
async fn all<T, F, Fut>(admin: &AdminClient, fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<AdminPage<T>, Error>>,
{
    admin.collect(fetch).await
}

#[tokio::test]
async fn every_request_carries_the_version_accept_and_bearer_headers() {
    let server = Hostile::start(|_| Reply::json(&json!({"results": [], "has_more": false}))).await;
    client(&server).validate().await.expect("validates");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.path, "/admin/v1/spaces");
    assert_eq!(req.query, vec![("page_size".to_owned(), "1".to_owned())]);
    assert_eq!(req.header("notion-version"), Some(NOTION_VERSION));
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Bearer {ADMIN_TOKEN}").as_str())
    );
}

/// P1 (`start_cursor`, integer `page_size`): pages followed to a null `next_cursor`; a person
/// without an email and a bot come through.
#[tokio::test]
async fn p1_users_follow_start_cursor_to_the_end() {
    let server = Hostile::start(|req: &Request| {
        let cursor = req.all("start_cursor").first().map(|c| c.to_string());
        let (results, next) = match cursor.as_deref() {
            None => (
                json!([{"object":"user","id":"u1","name":"Ada","type":"person","person":{"email":"ada@example.com"}}]),
                json!("c2"),
            ),
            Some("c2") => (
                json!([{"object":"user","id":"b1","name":"Bot","type":"bot","bot":{}},
                       {"object":"user","id":"u2","name":null,"type":"person","person":{}}]),
                json!(null),
            ),
            Some(_) => return Reply::status_json(400, &json!({"object":"error"})),
        };
        Reply::json(&json!({"object":"list","type":"user","results":results,
            "has_more": !next.is_null(),"next_cursor":next}))
    })
    .await;
    let admin = client(&server);
    let users = all(&admin, |c| {
        let admin = admin.clone();
        async move { admin.space_users("s1", c.as_deref()).await }
    })
    .await
    .expect("lists");
    assert_eq!(users.len(), 3);
    assert_eq!(users[1].kind, AdminUserKind::Bot);
    assert_eq!(users[2].kind, AdminUserKind::Person { email: None });
    let seen = server.requests();
    assert_eq!(seen[0].path, "/admin/v1/spaces/s1/users");
    assert_eq!(seen[0].all("page_size"), vec!["100"]);
    assert_eq!(seen[1].all("start_cursor"), vec!["c2"]);
    assert_eq!(admin.request_counts()["GET /v1/spaces/{space_id}/users"], 2);
}

/// P2 (`cursor`, `page_size` "100", repeated bracket-encoded `status`): the last page has no
/// `next_cursor` at all.
#[tokio::test]
async fn p2_tokens_send_statuses_and_stop_at_an_absent_cursor() {
    let server = Hostile::start(|req: &Request| {
        if req.all("cursor").is_empty() {
            Reply::json(&json!({"results":[{"id":"p1","creator":{"id":"u1"},"created_at":1,"status":"active"}],
                "has_more":true,"next_cursor":"n2"}))
        } else {
            Reply::json(&json!({"results":[{"id":"p2","creator":{"id":"u2"},"created_at":2,"status":"expired"}],
                "has_more":false}))
        }
    })
    .await;
    let admin = client(&server);
    let statuses = [PatStatus::Active, PatStatus::Expired];
    let pats = all(&admin, |c| {
        let admin = admin.clone();
        let statuses = statuses.clone();
        async move {
            admin
                .personal_access_tokens("s1", &statuses, c.as_deref())
                .await
        }
    })
    .await
    .expect("lists");
    assert_eq!(pats.len(), 2);
    assert_eq!(pats[1].status, PatStatus::Expired);
    let seen = server.requests();
    // The raw server does not percent-decode: `status[]` arrives as `status%5B%5D`.
    assert_eq!(seen[0].all("status%5B%5D"), vec!["active", "expired"]);
    assert_eq!(seen[0].all("page_size"), vec!["100"]);
    assert_eq!(seen[1].all("cursor"), vec!["n2"]);
}

/// P4 (agents: `cursor`, `page_size=100` because the default is 25) and agent permissions
/// (no `page_size`, every principal form).
#[tokio::test]
async fn p4_agents_and_their_permissions() {
    let server = Hostile::start(|req: &Request| {
        if req.is("/permissions") {
            Reply::json(&json!({"permissions":[
                {"principal":{"type":"user","user_id":"u1"},"role":"edit"},
                {"type":"group","id":"g1","role":"view_and_interact"},
                {"principal":{"type":"workspace"},"role":"full_access","resolved_role":"full_access"}]}))
        } else {
            Reply::json(&json!({"results":[{"id":"a1","space_id":"s1","type":"custom","alive":true,"status":"active"}],
                "has_more":false}))
        }
    })
    .await;
    let admin = client(&server);
    let agents = admin.agents("s1", None).await.expect("agents");
    assert_eq!(agents.items[0].agent_type, "custom");
    assert_eq!(agents.next_cursor, None);
    let perms = admin
        .agent_permissions("s1", "a1", None)
        .await
        .expect("permissions");
    assert_eq!(perms.items[0].principal, Principal::User("u1".into()));
    assert_eq!(perms.items[1].principal, Principal::Group("g1".into()));
    assert_eq!(perms.items[2].principal, Principal::Workspace(None));
    let seen = server.requests();
    assert_eq!(seen[0].all("page_size"), vec!["100"]);
    assert!(seen[1].all("page_size").is_empty(), "{:?}", seen[1].query);
}

/// A 403 of either family names the scope the endpoint needs, on one line.
#[tokio::test]
async fn a_missing_scope_is_one_line_naming_the_scope() {
    let server = Hostile::start(|req: &Request| {
        if req.is("/users") {
            Reply::status_json(
                403,
                &json!({"object":"error","status":403,"code":"restricted_resource",
                "message":"Insufficient permissions for this endpoint."}),
            )
        } else {
            Reply::status_json(
                403,
                &json!({"type":"error","status":403,"code":"missing_scope",
                "message":"Missing required scope: personal-access-token:read"}),
            )
        }
    })
    .await;
    let admin = client(&server);
    let err = admin.space_users("s1", None).await.unwrap_err();
    let line = assert_clean(&err);
    assert!(line.contains("lacks `user:read`"), "{line}");
    assert!(
        line.contains("GET /v1/spaces/s1/users?page_size=100"),
        "{line}"
    );
    assert_eq!(err.status(), Some(403));
    assert!(!err.is_retryable());
    let Error::Admin(detail) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(detail.family, Some(ErrorFamily::B));
    let err = admin
        .personal_access_tokens("s1", &[PatStatus::Active], None)
        .await
        .unwrap_err();
    let line = assert_clean(&err);
    assert!(
        line.contains("lacks `personal-access-token:read`"),
        "{line}"
    );
    assert!(line.contains("Missing required scope"), "{line}");
    assert_eq!(server.requests().len(), 2, "a 403 is not retried");
}

/// A 429's `retry-after` is honoured and counted; the retry succeeds.
#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let server = Hostile::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Body(
                429,
                vec![("retry-after".into(), "0".into())],
                br#"{"type":"error","status":429,"code":"rate_limited","message":"slow down"}"#
                    .to_vec(),
            )
        } else {
            Reply::json(&json!({"results":[],"has_more":false}))
        }
    })
    .await;
    let admin = client(&server);
    admin.mcp_connections(None).await.expect("second attempt");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(admin.retries(), 1);
    assert_eq!(admin.pacing().rate_limited, 1);
    assert_eq!(admin.request_counts()["GET /v1/mcp_client_connections"], 2);

    // Without retries the error keeps the wait Notion asked for.
    let server = Hostile::start(|_| {
        Reply::Body(
            429,
            vec![("Retry-After".into(), "7".into())],
            br#"{"object":"error","status":429,"code":"rate_limited","message":"slow down"}"#
                .to_vec(),
        )
    })
    .await;
    let mut cfg = config(&server);
    cfg.retry = RetryConfig::disabled();
    let err = AdminClient::new(cfg)
        .unwrap()
        .groups("s1", None)
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert!(err.is_rate_limited());
    assert!(assert_clean(&err).contains("asked to wait 7s"));
}

/// A 401 that echoes the token never shows it.
#[tokio::test]
async fn an_echoed_token_is_scrubbed() {
    let server = Hostile::start(|req: &Request| {
        let auth = req.authorization.clone().unwrap_or_default();
        Reply::status_json(
            401,
            &json!({"type":"error","status":401,"code":"unauthorized",
            "message": format!("bad token {auth}\n\u{1b}[31m")}),
        )
    })
    .await;
    let err = client(&server).validate().await.unwrap_err();
    let line = assert_clean(&err);
    assert!(line.contains("[redacted]"), "{line}");
    assert!(line.contains("BATON_ADMIN_TOKEN"), "{line}");
    assert!(!line.contains('\u{1b}'), "{line}");
}

/// A 100 MiB body is refused while streaming; an announced one before reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_refused() {
    let server = Hostile::start(|_| {
        Reply::repeat(r#"{"results":[{"id":""#, b'a', 100 * 1024 * 1024, r#""}]}"#)
    })
    .await;
    let err = client(&server).spaces(None).await.unwrap_err();
    let line = assert_clean(&err);
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(line.contains("GET /v1/spaces?page_size=100"), "{line}");

    let server = Hostile::start(|_| Reply::Stream {
        status: 200,
        content_length: Some(5 << 30),
        chunks: Box::new(std::iter::once(b"{".to_vec())),
    })
    .await;
    let err = client(&server).spaces(None).await.unwrap_err();
    assert!(assert_clean(&err).contains("announced 5120 MiB"), "{err}");
}

/// A server repeating a cursor, or sending fresh cursors forever, is stopped.
#[tokio::test]
async fn endless_and_repeated_cursors_are_refused() {
    let server = Hostile::start(|_| {
        Reply::json(&json!({"results":[{"object":"group","id":"g","name":"G"}],
            "has_more":true,"next_cursor":"again"}))
    })
    .await;
    let admin = client(&server);
    let err = all(&admin, |c| {
        let admin = admin.clone();
        async move { admin.groups("s1", c.as_deref()).await }
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::AdminListing { pages: 2, .. }),
        "{err:?}"
    );
    assert_clean(&err);
    assert_eq!(server.requests().len(), 2);

    let n = Arc::new(AtomicU64::new(0));
    let server = Hostile::start(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        Reply::json(&json!({"results":[],"has_more":true,"next_cursor":format!("c{i}")}))
    })
    .await;
    let mut cfg = config(&server);
    cfg.max_pages = 10;
    let admin = AdminClient::new(cfg).unwrap();
    let err = admin
        .collect_as("GET /v1/spaces/{space_id}/agents", |c| {
            let admin = admin.clone();
            async move { admin.agents("s1", c.as_deref()).await }
        })
        .await
        .unwrap_err();
    let line = assert_clean(&err);
    assert!(
        matches!(err, Error::AdminListing { pages: 10, .. }),
        "{err:?}"
    );
    assert!(line.contains("endless"), "{line}");
    assert_eq!(server.requests().len(), 10);
}

/// Malformed pages fail naming the request: `has_more` without a cursor, more items than
/// asked for, an item without an id.
#[tokio::test]
async fn malformed_pages_name_the_request() {
    let server = Hostile::start(|req: &Request| {
        if req.is("/users") {
            Reply::json(&json!({"object":"list","results":[],"has_more":true,"next_cursor":null}))
        } else if req.is("/groups") {
            let many: Vec<_> = (0..101).map(|i| json!({"id": format!("g{i}")})).collect();
            Reply::json(&json!({"results": many, "has_more": false}))
        } else {
            Reply::json(&json!({"results":[{"client":{"name":"no key"},"user":{"id":"u"}}]}))
        }
    })
    .await;
    let admin = client(&server);
    let err = admin.space_users("s1", None).await.unwrap_err();
    let line = assert_clean(&err);
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        line.contains("/v1/spaces/s1/users") && line.contains("has_more"),
        "{line}"
    );
    let line = assert_clean(&admin.groups("s1", None).await.unwrap_err());
    assert!(line.contains("more than the 100"), "{line}");
    let line = assert_clean(&admin.mcp_connections(None).await.unwrap_err());
    assert!(line.contains("client.key"), "{line}");
}

#[test]
fn configuration_errors_name_the_admin_api() {
    let err = AdminClient::new(AdminConfig::new(
        "http://api.notion.com/admin",
        Secret::new(ADMIN_TOKEN),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("Admin API base URL"), "{err}");
    let err = AdminClient::new(AdminConfig::new(
        "https://api.notion.com/admin",
        Secret::new(" \n"),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::MissingAdminToken), "{err:?}");
    let admin = AdminClient::new(AdminConfig::new(
        "https://api.notion.com/admin/",
        Secret::new(format!("{ADMIN_TOKEN}\n")),
    ))
    .unwrap();
    assert_eq!(admin.base_url().as_str(), "https://api.notion.com/admin");
    assert!(!format!("{admin:?}").contains(ADMIN_TOKEN));
}
