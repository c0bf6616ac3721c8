//! Admin API writes and their effect on reads (and on SCIM), and SCIM writes in the Admin view.

use baton_notion::sim::admin::reference_ids as ids;
use serde_json::{Value, json};

use super::{ALICE, Admin, ids_of, pats_path, reference_config, start, users_path};

#[tokio::test]
async fn pat_revoke_and_session_revoke() {
    use reqwest::Method;
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let revoke = format!("{}/{}", pats_path(ids::SCIM_SPACE, ""), ids::PAT_ACTIVE);
    let ((status, body), _) = admin.send(Method::DELETE, &revoke, None).await;
    assert_eq!((status, &body), (200, &json!({})));
    let (_, active) = admin.get(&pats_path(ids::SCIM_SPACE, "")).await;
    assert!(ids_of(&active, "results").is_empty());
    let (_, revoked) = admin
        .get(&pats_path(ids::SCIM_SPACE, "?status=revoked"))
        .await;
    let listed = ids_of(&revoked, "results");
    assert_eq!(listed, [ids::PAT_ACTIVE, ids::PAT_REVOKED]);
    assert!(revoked["results"][0]["revoked_at"].is_i64());
    assert_eq!(
        revoked["results"][0]["revoked_by"]["type"],
        "organization_bot"
    );
    // A repeat revoke (and an unknown id) is 404 not_found.
    let ((status, body), _) = admin.send(Method::DELETE, &revoke, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // Wrong workspace for the token: 404 too.
    let elsewhere = format!("{}/{}", pats_path(ids::OTHER_SPACE, ""), ids::PAT_EXPIRED);
    let ((status, _), _) = admin.send(Method::DELETE, &elsewhere, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        sim.counters()["DELETE /admin/v1/spaces/{space_id}/personal_access_tokens/{bot_id}"],
        3
    );

    let session = "/v1/managed_users/revoke_session";
    for user in [
        json!({"type": "id", "id": ALICE}),
        json!({"type": "email", "email": "FRANK.other@example.com"}),
    ] {
        let (status, body) = admin
            .write(Method::POST, session, json!({ "user": user }))
            .await;
        assert_eq!((status, &body), (200, &json!({"status": "revoked"})));
    }
    let (status, body) = admin
        .write(
            Method::POST,
            session,
            json!({"user": {"type": "email", "email": "nobody@example.com"}}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = admin
        .write(Method::POST, session, json!({"user": {"type": "phone"}}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_error"))
    );
    let org = sim.organization().unwrap();
    assert_eq!(org.revoked_sessions, [ALICE, ids::FRANK]);
    sim.shutdown().await;
}

#[tokio::test]
async fn group_member_writes_show_in_reads_and_in_scim() {
    use reqwest::Method;
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let members = |space: &str, group: &str| format!("/v1/spaces/{space}/groups/{group}/members");
    let roles = |page: &Value| -> Vec<(String, String)> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["member"]["user_id"].as_str().unwrap().to_owned(),
                    m["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    // Another workspace: add, conflict, promote, remove.
    let path = members(ids::OTHER_SPACE, ids::GROUP_CONTRACTORS);
    let add = json!({"member": {"type": "user", "user_id": ids::NAMELESS}, "role": "member"});
    let (status, body) = admin.write(Method::POST, &path, add.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "group_membership");
    assert_eq!(body["member"]["user_id"], ids::NAMELESS);
    let (status, body) = admin.write(Method::POST, &path, add).await;
    assert_eq!(
        (status, body["code"].as_str(), body["object"].as_str()),
        (409, Some("conflict_error"), Some("error"))
    );
    let stranger = json!({"member": {"type": "user", "user_id": ALICE}, "role": "member"});
    let (status, body) = admin.write(Method::POST, &path, stranger).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_error"))
    );
    let user_path = format!("{path}/users/{}", ids::NAMELESS);
    let (status, body) = admin
        .write(Method::PATCH, &user_path, json!({"role": "owner"}))
        .await;
    assert_eq!((status, body["role"].as_str()), (200, Some("owner")));
    let (_, page) = admin.get(&path).await;
    assert_eq!(
        roles(&page).last().unwrap(),
        &(ids::NAMELESS.to_owned(), "owner".to_owned())
    );
    let ((status, body), _) = admin.send(Method::DELETE, &user_path, None).await;
    assert_eq!((status, body["role"].as_str()), (200, Some("owner")));
    let ((status, body), _) = admin.send(Method::DELETE, &user_path, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("object_not_found"))
    );
    let (_, page) = admin.get(&path).await;
    assert_eq!(roles(&page).len(), 3);

    // The SCIM workspace: the SCIM group changes too.
    let path = members(ids::SCIM_SPACE, ids::GROUP_DESIGNERS);
    let eve_and_bob = 2;
    let add = json!({"member": {"type": "user", "user_id": ALICE}, "role": "owner"});
    let (status, _) = admin.write(Method::POST, &path, add).await;
    assert_eq!(status, 200);
    let designers = sim
        .state()
        .group(ids::GROUP_DESIGNERS)
        .unwrap()
        .members
        .clone();
    assert!(designers.contains(&ALICE.to_owned()), "{designers:?}");
    let (_, page) = admin.get(&path).await;
    assert_eq!(roles(&page).len(), eve_and_bob + 1);
    assert_eq!(
        roles(&page)[eve_and_bob],
        (ALICE.to_owned(), "owner".to_owned())
    );
    let user_path = format!("{path}/users/{ALICE}");
    let (_, body) = admin
        .write(Method::PATCH, &user_path, json!({"role": "member"}))
        .await;
    assert_eq!(body["role"], "member");
    let (_, page) = admin.get(&path).await;
    assert_eq!(roles(&page)[eve_and_bob].1, "member");
    admin.send(Method::DELETE, &user_path, None).await;
    let designers = sim
        .state()
        .group(ids::GROUP_DESIGNERS)
        .unwrap()
        .members
        .clone();
    assert!(!designers.contains(&ALICE.to_owned()));
    let (status, body) = admin
        .write(Method::PATCH, &user_path, json!({"role": "boss"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_error"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn mcp_revoke_and_enterprise_managed_access() {
    use reqwest::Method;
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let revoke = "/v1/mcp_client_connections/revoke";
    let carol_in_labs = json!({"client_key": ids::MCP_CLAUDE, "user_id": ids::CAROL, "workspace_id": ids::OTHER_SPACE});
    let (status, body) = admin
        .write(Method::POST, revoke, carol_in_labs.clone())
        .await;
    assert_eq!((status, &body), (200, &json!({"revoked_token_count": 1})));
    let (_, page) = admin.get("/v1/mcp_client_connections").await;
    assert_eq!(
        page["results"][1]["workspaces"],
        json!([{"id": ids::SCIM_SPACE}])
    );
    let (status, body) = admin.write(Method::POST, revoke, carol_in_labs).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = admin
        .write(Method::POST, revoke, json!({"client_key": ids::MCP_CURSOR}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_error"))
    );
    // Revoking the last workspace drops the entry.
    let frank = json!({"client_key": ids::MCP_CURSOR, "user_id": ids::FRANK, "workspace_id": ids::OTHER_SPACE});
    let (status, _) = admin.write(Method::POST, revoke, frank).await;
    assert_eq!(status, 200);
    let (_, page) = admin.get("/v1/mcp_client_connections").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 2);

    let access = "/v1/mcp_client_connections/enterprise_managed_access";
    let deny = json!({"access": "denied", "user_id": ALICE, "workspace_id": ids::SCIM_SPACE});
    let (status, body) = admin.write(Method::PUT, access, deny).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"access": "denied", "revoked_token_count": 1}))
    );
    let (_, page) = admin
        .get(&format!("/v1/mcp_client_connections?user_ids={ALICE}"))
        .await;
    assert!(page["results"].as_array().unwrap().is_empty());
    assert_eq!(sim.organization().unwrap().denied_mcp_access.len(), 1);
    let allow = json!({"access": "allowed", "user_id": ALICE, "workspace_id": ids::SCIM_SPACE});
    let (_, body) = admin.write(Method::PUT, access, allow).await;
    assert_eq!(body, json!({"access": "allowed", "revoked_token_count": 0}));
    assert!(sim.organization().unwrap().denied_mcp_access.is_empty());
    let bad = json!({"access": "maybe", "user_id": ALICE, "workspace_id": ids::SCIM_SPACE});
    assert_eq!(admin.write(Method::PUT, access, bad).await.0, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn agent_permission_and_status_writes_accept_every_principal_form() {
    use reqwest::Method;
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let path = format!(
        "/v1/spaces/{}/agents/{}/permissions",
        ids::SCIM_SPACE,
        ids::AGENT_ONBOARDING
    );
    let body = json!({
        "set": [
            {"principal": {"type": "user", "user_id": ALICE}, "role": "edit"},
            {"type": "user", "id": "55555555-5555-5555-5555-555555555555", "role": "view_and_interact"},
            {"principal": {"type": "workspace"}, "role": "edit"},
        ],
        "remove": [
            {"type": "group", "group_id": ids::GROUP_ENGINEERING},
            {"principal": {"type": "user", "id": "22222222-2222-2222-2222-222222222222"}},
        ],
    });
    let (status, reply) = admin.write(Method::PATCH, &path, body).await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.get("next_cursor").is_none());
    let expected = json!([
        {"principal": {"type": "workspace", "workspace_id": ids::SCIM_SPACE}, "role": "edit", "resolved_role": "edit"},
        {"principal": {"type": "user", "user_id": ALICE}, "role": "edit", "resolved_role": "edit"},
        {"principal": {"type": "user", "user_id": "55555555-5555-5555-5555-555555555555"}, "role": "view_and_interact", "resolved_role": "edit"},
    ]);
    assert_eq!(reply["permissions"], expected);
    let (_, listed) = admin.get(&path).await;
    assert_eq!(listed["permissions"], expected);

    for bad in [
        json!({"set": [{"principal": {"type": "user", "user_id": ids::FRANK}, "role": "edit"}]}),
        json!({"set": [{"principal": {"type": "group", "id": ids::GROUP_CONTRACTORS}, "role": "edit"}]}),
        json!({"set": [{"principal": {"type": "user", "user_id": ALICE}, "role": "owner"}]}),
        json!({"set": [{"principal": {"type": "workspace", "id": ids::OTHER_SPACE}, "role": "edit"}]}),
        json!({"remove": [{"type": "bot", "id": ALICE}]}),
    ] {
        let (status, reply) = admin.write(Method::PATCH, &path, bad.clone()).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (400, Some("validation_error")),
            "{bad}"
        );
    }
    let deleted = format!(
        "/v1/spaces/{}/agents/{}/permissions",
        ids::SCIM_SPACE,
        ids::AGENT_DELETED
    );
    assert_eq!(
        admin
            .write(Method::PATCH, &deleted, json!({"set": []}))
            .await
            .0,
        404
    );

    let status_path = format!(
        "/v1/spaces/{}/agents/{}/status",
        ids::SCIM_SPACE,
        ids::AGENT_ONBOARDING
    );
    let (status, reply) = admin
        .write(
            Method::PATCH,
            &status_path,
            json!({"admin_status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!({"admin_status": "disabled", "run_status": "paused", "paused_reason": "disabled_from_api"})
    );
    let (_, agents) = admin
        .get(&format!("/v1/spaces/{}/agents", ids::SCIM_SPACE))
        .await;
    assert_eq!(agents["results"][0]["status"], "disabled_from_api");
    let (_, reply) = admin
        .write(
            Method::PATCH,
            &status_path,
            json!({"admin_status": "active"}),
        )
        .await;
    assert_eq!(
        reply,
        json!({"admin_status": "active", "run_status": "active"})
    );
    assert_eq!(
        admin
            .write(Method::PATCH, &status_path, json!({"admin_status": "gone"}))
            .await
            .0,
        400
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn scim_writes_show_in_the_admin_view() {
    let sim = start(reference_config()).await;
    let admin = Admin::new(&sim);
    let scim = reqwest::Client::new();
    let dave = "44444444-4444-4444-4444-444444444444";
    let eve = "55555555-5555-5555-5555-555555555555";
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    });
    let response = scim
        .patch(format!("{}/Users/{dave}", sim.base_url()))
        .bearer_auth("sim-token")
        .header("content-type", "application/scim+json")
        .body(deactivate.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = scim
        .delete(format!("{}/Users/{eve}", sim.base_url()))
        .bearer_auth("sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let (_, users) = admin.get(&users_path(ids::SCIM_SPACE)).await;
    let listed = ids_of(&users, "results");
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(!listed.contains(&dave.to_owned()) && !listed.contains(&eve.to_owned()));
    let (_, members) = admin
        .get(&format!(
            "/v1/spaces/{}/groups/{}/members",
            ids::SCIM_SPACE,
            ids::GROUP_ENGINEERING
        ))
        .await;
    let in_group: Vec<_> = members["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member"]["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        in_group,
        [ALICE, ids::CAROL],
        "the inactive member is not served"
    );
    let (_, designers) = admin
        .get(&format!(
            "/v1/spaces/{}/groups/{}/members",
            ids::SCIM_SPACE,
            ids::GROUP_DESIGNERS
        ))
        .await;
    assert_eq!(
        designers["results"].as_array().unwrap().len(),
        1,
        "the deleted member is gone"
    );
    sim.shutdown().await;
}
