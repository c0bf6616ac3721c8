//! Decoding of every page style, both error families, every principal form, and hostile
//! values.

use serde_json::json;

use super::client::collect_pages;
use super::decode::{self, MAX_CURSOR_BYTES};
use super::endpoint::Style;
use super::error::{AdminError, ErrorFamily};
use super::models::*;
use crate::notion::Error;

fn bytes(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).expect("encodes")
}

fn users_page(v: serde_json::Value) -> Result<AdminPage<AdminUser>, String> {
    decode::page(&bytes(v), Style::P1, 100, decode::user)
}

#[test]
fn p1_users_page_with_persons_bots_and_a_null_cursor() {
    let page = users_page(json!({
        "object": "list", "type": "user", "has_more": false, "next_cursor": null,
        "results": [
            {"object": "user", "id": "u1", "name": "Ada", "avatar_url": null,
             "type": "person", "person": {"email": "ada@example.com"}},
            {"object": "user", "id": "u2", "name": null, "type": "person", "person": {}},
            {"object": "user", "id": "b1", "name": "Bot", "type": "bot", "bot": {}},
            {"object": "user", "id": 7, "type": "alien", "extra": [1, 2]}
        ]
    }))
    .expect("decodes");
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        page.items[0].kind,
        AdminUserKind::Person {
            email: Some("ada@example.com".into())
        }
    );
    assert_eq!(page.items[1].kind, AdminUserKind::Person { email: None });
    assert_eq!(page.items[1].name, None);
    assert_eq!(page.items[2].kind, AdminUserKind::Bot);
    assert_eq!(page.items[3].id, "7");
    assert_eq!(page.items[3].kind, AdminUserKind::Other("alien".into()));
}

#[test]
fn cursors_absent_null_empty_and_has_more() {
    let more = users_page(json!({"results": [], "has_more": true, "next_cursor": "c2"})).unwrap();
    assert_eq!(more.next_cursor.as_deref(), Some("c2"));
    // Absent, null and "" all end the listing when has_more is false or absent.
    for page in [
        json!({"results": [], "has_more": false}),
        json!({"results": [], "has_more": false, "next_cursor": ""}),
        json!({"results": []}),
        json!({"results": [], "next_cursor": null}),
        // has_more:false wins over a stray cursor.
        json!({"results": [], "has_more": false, "next_cursor": "stray"}),
    ] {
        assert_eq!(
            users_page(page.clone()).unwrap().next_cursor,
            None,
            "{page}"
        );
    }
    // P2/P4 may give a cursor without has_more.
    let p4 = decode::page(
        &bytes(json!({"results": [], "next_cursor": "c9"})),
        Style::P4,
        100,
        |v| decode::agent(v, "s"),
    )
    .unwrap();
    assert_eq!(p4.next_cursor.as_deref(), Some("c9"));
    let err = users_page(json!({"results": [], "has_more": true})).unwrap_err();
    assert!(err.contains("has_more"), "{err}");
    let err =
        users_page(json!({"results": [], "has_more": "true", "next_cursor": ""})).unwrap_err();
    assert!(err.contains("no `next_cursor`"), "{err}");
    let huge = "c".repeat(MAX_CURSOR_BYTES + 1);
    let err = users_page(json!({"results": [], "next_cursor": huge})).unwrap_err();
    assert!(err.contains("bytes long") && err.len() < 200, "{err}");
}

#[test]
fn malformed_pages_fail() {
    assert!(
        users_page(json!({"object": "list"}))
            .unwrap_err()
            .contains("no `results`")
    );
    assert!(
        users_page(json!({"results": {"id": "x"}}))
            .unwrap_err()
            .contains("not an array")
    );
    assert!(
        users_page(json!([{"id": "x"}]))
            .unwrap_err()
            .contains("not a JSON object")
    );
    let too_many: Vec<_> = (0..101).map(|i| json!({"id": format!("u{i}")})).collect();
    let err = users_page(json!({"results": too_many})).unwrap_err();
    assert!(err.contains("101 items, more than the 100"), "{err}");
    // One item without a usable id fails its page, naming the position, not the value.
    for bad in [
        json!({"name": "x"}),
        json!({"id": ""}),
        json!({"id": null}),
        json!({"id": {}}),
        json!("u"),
    ] {
        let err = users_page(json!({"results": [{"id": "ok"}, bad]})).unwrap_err();
        assert!(err.starts_with("item 1:"), "{err}");
    }
    let long = "i".repeat(1025);
    let err = users_page(json!({"results": [{"id": long}]})).unwrap_err();
    assert!(err.contains("1025 bytes long") && err.len() < 200, "{err}");
    assert!(decode::page(b"<html>", Style::P1, 100, decode::user).is_err());
}

#[test]
fn spaces_page_reads_an_object_or_a_bare_array() {
    let page = decode::page(
        &bytes(json!({"results": [{"id": "s1", "name": "Acme"}, {"id": "s2"}], "has_more": false})),
        Style::Spaces,
        100,
        decode::space,
    )
    .unwrap();
    assert_eq!(
        page.items[1],
        Space {
            id: "s2".into(),
            name: None
        }
    );
    let bare = decode::page(
        &bytes(json!([{"id": "s1"}])),
        Style::Spaces,
        100,
        decode::space,
    )
    .unwrap();
    assert_eq!(bare.items.len(), 1);
    assert_eq!(bare.next_cursor, None);
}

#[test]
fn p2_personal_access_tokens_lenient_fields() {
    let page = decode::page(
        &bytes(json!({"has_more": true, "next_cursor": "n", "results": [
            {"id": "p1", "creator": {"id": "u1", "name": "Ada", "email": "a@x"},
             "created_at": 1_700_000_000_000_i64, "status": "active", "name": "ci",
             "expires_at": "1800000000000", "last_used_at": null, "revoked_by": {"type": "user", "id": "u"}},
            {"id": "p2", "creator": {"id": "u2"}, "created_at": "soon", "status": "weird",
             "expires_at": true, "last_used_at": 1.7e12}
        ]})),
        Style::P2,
        100,
        decode::personal_access_token,
    )
    .unwrap();
    let a = &page.items[0];
    assert_eq!(a.status, PatStatus::Active);
    assert_eq!(a.creator.email.as_deref(), Some("a@x"));
    assert_eq!(a.expires_at, Some(1_800_000_000_000));
    assert_eq!(a.last_used_at, None);
    let b = &page.items[1];
    assert_eq!(b.created_at, 0);
    assert_eq!(b.status, PatStatus::Other("weird".into()));
    assert_eq!(b.expires_at, None);
    assert_eq!(b.last_used_at, Some(1_700_000_000_000));
    let err = decode::page(
        &bytes(json!({"results": [{"id": "p3", "status": "active"}]})),
        Style::P2,
        100,
        decode::personal_access_token,
    )
    .unwrap_err();
    assert!(err.contains("`creator` is missing"), "{err}");
    assert_eq!(PatStatus::parse("expired").as_str(), "expired");
}

#[test]
fn mcp_connections_need_a_client_key_and_a_user() {
    let item = json!({"client": {"key": "claude:ab/c", "name": "Claude", "type": "claude"},
        "user": {"id": "u1"}, "workspaces": [{"id": "s1"}, {"id": null}, "s2"],
        "created_at": 5, "is_enterprise_managed": "true", "idp_issuer": "https://idp"});
    let c = decode::mcp_connection(&item).unwrap();
    assert_eq!(c.client.key, "claude:ab/c");
    assert_eq!(c.client.client_type.as_deref(), Some("claude"));
    assert_eq!(c.workspace_ids, vec!["s1", "s2"]);
    assert!(c.is_enterprise_managed);
    assert_eq!(c.last_active_at, None);
    assert!(
        decode::mcp_connection(&json!({"client": {"name": "x"}, "user": {"id": "u"}}))
            .unwrap_err()
            .contains("client.key")
    );
    assert!(
        decode::mcp_connection(&json!({"client": {"key": "k"}}))
            .unwrap_err()
            .contains("user.id")
    );
}

#[test]
fn agents_default_their_space_and_read_metadata_names() {
    let a = decode::agent(
        &json!({"id": "a1", "type": "custom", "alive": true, "status": "active",
                "metadata": {"name": "Helper"}}),
        "s1",
    )
    .unwrap();
    assert_eq!(a.space_id, "s1");
    assert_eq!(a.name.as_deref(), Some("Helper"));
    let d = decode::agent(
        &json!({"id": "a2", "space_id": "s9", "status": "deleted"}),
        "s1",
    )
    .unwrap();
    assert_eq!(d.space_id, "s9");
    assert!(!d.alive);
}

#[test]
fn every_principal_form_is_read() {
    let cases = [
        (
            json!({"principal": {"type": "user", "id": "u1"}, "role": "edit"}),
            Principal::User("u1".into()),
        ),
        (
            json!({"principal": {"type": "user", "user_id": "u1"}, "role": "edit"}),
            Principal::User("u1".into()),
        ),
        (
            json!({"type": "user", "user_id": "u1", "role": "edit"}),
            Principal::User("u1".into()),
        ),
        (
            json!({"type": "user", "id": "u1", "role": "edit"}),
            Principal::User("u1".into()),
        ),
        (
            json!({"principal": {"type": "group", "group_id": "g 1"}, "role": "edit"}),
            Principal::Group("g 1".into()),
        ),
        (
            json!({"type": "group", "id": "g1", "role": "edit"}),
            Principal::Group("g1".into()),
        ),
        (
            json!({"principal": {"type": "workspace"}, "role": "edit"}),
            Principal::Workspace(None),
        ),
        (
            json!({"type": "workspace", "id": "s1", "role": "edit"}),
            Principal::Workspace(Some("s1".into())),
        ),
        (
            json!({"principal": {"type": "workspace", "workspace_id": "s1"}, "role": "edit"}),
            Principal::Workspace(Some("s1".into())),
        ),
    ];
    for (entry, want) in cases {
        let p = decode::agent_permission(&entry).unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert_eq!(p.principal, want, "{entry}");
        assert_eq!(p.role, AgentRole::Edit);
    }
    let p = decode::agent_permission(
        &json!({"type": "user", "id": "u", "role": "view_and_interact", "resolved_role": "full_access"}),
    )
    .unwrap();
    assert_eq!(p.resolved_role, Some(AgentRole::FullAccess));
    for bad in [
        json!({"role": "edit"}),
        json!({"type": "robot", "id": "x", "role": "edit"}),
        json!({"type": "user", "role": "edit"}),
        json!({"type": "group", "group_id": "", "role": "edit"}),
        json!({"type": "user", "id": "u"}),
    ] {
        assert!(decode::agent_permission(&bad).is_err(), "{bad}");
    }
    assert!(
        AgentRole::ViewAndInteract < AgentRole::Edit && AgentRole::Edit < AgentRole::FullAccess
    );
    // Up to 250 permissions a page.
    let many: Vec<_> = (0..250)
        .map(|i| json!({"type": "user", "id": format!("u{i}"), "role": "edit"}))
        .collect();
    let page = decode::page(
        &bytes(json!({"permissions": many})),
        Style::Permissions,
        250,
        decode::agent_permission,
    )
    .unwrap();
    assert_eq!(page.items.len(), 250);
}

#[test]
fn groups_and_memberships() {
    let g = decode::group(&json!({"object": "group", "id": " keep me ", "name": "Eng"})).unwrap();
    assert_eq!(g.id, " keep me ", "group ids are kept byte for byte");
    let m = decode::membership(
        &json!({"object": "group_membership", "member": {"type": "user", "user_id": "u1"}, "role": "owner"}),
        "g1",
    )
    .unwrap();
    assert_eq!(
        m,
        GroupMembership {
            group_id: "g1".into(),
            user_id: "u1".into(),
            role: GroupRole::Owner
        }
    );
    assert!(
        decode::membership(&json!({"member": {"type": "user"}, "role": "member"}), "g").is_err()
    );
}

fn admin_err(status: u16, body: &str, retry_after: Option<&str>) -> AdminError {
    AdminError::from_response(
        status,
        "GET",
        "/v1/spaces/s1/users?page_size=100",
        "user:read",
        body.as_bytes(),
        retry_after,
        &["adm_s3cret_token"],
    )
}

#[test]
fn both_error_families_and_non_json_bodies() {
    let a = admin_err(
        403,
        r#"{"type":"error","code":"missing_scope","status":403,"message":"Token lacks scope"}"#,
        None,
    );
    assert_eq!(a.family, Some(ErrorFamily::A));
    assert_eq!(a.code.as_deref(), Some("missing_scope"));
    assert_eq!(
        a.to_string(),
        "Notion Admin API GET /v1/spaces/s1/users?page_size=100: 403 missing_scope — the organization bot token lacks `user:read` (add the scope to the token in the organization console) (Token lacks scope)"
    );
    let b = admin_err(
        403,
        r#"{"object":"error","code":"restricted_resource","status":403,"message":"no","additional_data":{"k":["v"]}}"#,
        None,
    );
    assert_eq!(b.family, Some(ErrorFamily::B));
    assert!(b.to_string().contains("lacks `user:read`"));
    let forbidden = admin_err(
        403,
        r#"{"type":"error","code":"forbidden","status":403,"message":"no"}"#,
        None,
    );
    assert!(
        forbidden.to_string().contains("needs `user:read`"),
        "{forbidden}"
    );
    let html = admin_err(502, "<html><title>Bad Gateway</title></html>", None);
    assert_eq!(html.family, None);
    assert_eq!(html.message, "Bad Gateway");
    let empty = admin_err(401, "", None);
    assert!(empty.to_string().contains("BATON_ADMIN_TOKEN"), "{empty}");
    let limited = admin_err(
        429,
        r#"{"object":"error","code":"rate_limited","status":429,"message":"slow down"}"#,
        Some("3"),
    );
    assert_eq!(limited.retry_after, Some(std::time::Duration::from_secs(3)));
    let err = Error::Admin(Box::new(limited));
    assert!(err.is_rate_limited() && err.is_retryable());
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));
    assert!(
        err.to_string().ends_with("(Notion asked to wait 3s)"),
        "{err}"
    );
    assert!(!Error::Admin(Box::new(admin_err(500, "{}", None))).is_retryable());
}

#[test]
fn server_text_is_bounded_escaped_and_scrubbed() {
    let body = format!(
        r#"{{"type":"error","code":"unauthorized\nx","message":"Bearer adm_s3cret_token \u001b[2J {}"}}"#,
        "x".repeat(100_000)
    );
    let err = admin_err(401, &body, None);
    let line = err.to_string();
    assert!(!line.contains("adm_s3cret_token"), "{line}");
    assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
    assert!(line.len() < 1200, "{} bytes", line.len());
}

#[tokio::test]
async fn collect_follows_cursors_and_refuses_loops_and_endless_listings() {
    let pages = |cursor: Option<String>| async move {
        let n: u32 = cursor.as_deref().map_or(0, |c| c.parse().unwrap_or(0));
        Ok(AdminPage {
            items: vec![n],
            next_cursor: (n < 3).then(|| (n + 1).to_string()),
        })
    };
    assert_eq!(
        collect_pages("x", 100, pages).await.unwrap(),
        vec![0, 1, 2, 3]
    );

    let looping = |_cursor: Option<String>| async {
        Ok(AdminPage {
            items: vec![1],
            next_cursor: Some("same".to_owned()),
        })
    };
    let err = collect_pages("GET /v1/spaces", 100, looping)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::AdminListing { pages: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("already sent"), "{err}");

    let mut i = 0u64;
    let endless = move |_cursor: Option<String>| {
        i += 1;
        let next = i.to_string();
        async move {
            Ok(AdminPage::<u8> {
                items: vec![],
                next_cursor: Some(next),
            })
        }
    };
    let err = collect_pages("agents", 5, endless).await.unwrap_err();
    assert!(
        matches!(err, Error::AdminListing { pages: 5, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("endless"), "{err}");

    let failing = |_c: Option<String>| async { Err::<AdminPage<u8>, _>(Error::MissingAdminToken) };
    assert!(matches!(
        collect_pages("x", 5, failing).await,
        Err(Error::MissingAdminToken)
    ));
}
