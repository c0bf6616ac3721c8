//! Unit tests of the SCIM models.

use super::*;
use crate::notion::GROUP_SCHEMA;
use serde_json::json;

/// A user as a live Notion tenant returns it (shape from third-party observations).
fn notion_user() -> serde_json::Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:notion:2.0:User"
        ],
        "id": "5f3d0a8e-2b1c-4e2a-9f7d-1c2b3a4d5e6f",
        "userName": "ada@example.com",
        "name": { "formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace" },
        "emails": [{ "value": "ada@example.com", "primary": true, "type": "work" }],
        "active": true,
        "photos": [{ "value": "https://s3.example/ada.png", "type": "photo" }],
        "title": "Analyst",
        "meta": { "resourceType": "User", "created": "1712345678901", "lastModified": "1712345678901" },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Engines",
            "manager": { "value": "0a0b0c0d-0000-4000-8000-000000000001", "displayName": "Charles" }
        },
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "membership_admin" }
    })
}

#[test]
fn parses_a_realistic_notion_user() {
    let user: User = serde_json::from_value(notion_user()).unwrap();
    assert_eq!(user.id.as_str(), "5f3d0a8e-2b1c-4e2a-9f7d-1c2b3a4d5e6f");
    assert_eq!(user.user_name, "ada@example.com");
    assert_eq!(user.role.as_deref(), Some("membership_admin"));
    assert_eq!(user.title.as_deref(), Some("Analyst"));
    assert_eq!(user.active, Some(true));
    assert_eq!(user.display_name(), "Ada Lovelace");
    assert_eq!(user.primary_email(), Some("ada@example.com"));
    let meta = user.meta.as_ref().unwrap();
    assert_eq!(meta.created.as_deref(), Some("1712345678901"));
    let ent = user.enterprise.as_ref().unwrap();
    assert_eq!(ent.department.as_deref(), Some("Engines"));
    assert_eq!(
        ent.manager.as_ref().unwrap().display_name.as_deref(),
        Some("Charles")
    );
}

#[test]
fn only_id_is_required() {
    let user: User = serde_json::from_value(json!({ "id": "u1" })).unwrap();
    assert_eq!(user.user_name, "");
    assert!(user.emails.is_empty());
    assert_eq!(user.role, None);
    assert_eq!(user.display_name(), "u1");
    assert_eq!(user.primary_email(), None);
    assert!(user.is_active());

    assert!(serde_json::from_value::<User>(json!({ "userName": "x" })).is_err());
    assert!(serde_json::from_value::<User>(json!({ "id": "" })).is_err());
    assert!(serde_json::from_value::<User>(json!({ "id": null })).is_err());
}

#[test]
fn tolerates_nulls_and_odd_scalars() {
    let user: User = serde_json::from_value(json!({
        "id": 42,
        "userName": "bob@example.com",
        "name": null,
        "emails": null,
        "active": "False",
        "title": 7,
        "meta": { "created": 1712345678901u64 },
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": null,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "n/a",
        "unknownField": { "deep": [1, 2, 3] }
    }))
    .unwrap();
    assert_eq!(user.id.as_str(), "42");
    assert_eq!(user.active, Some(false));
    assert!(!user.is_active());
    assert_eq!(user.title.as_deref(), Some("7"));
    assert_eq!(
        user.meta.as_ref().unwrap().created.as_deref(),
        Some("1712345678901")
    );
    assert_eq!(user.role, None);
    assert_eq!(user.enterprise, None);
    assert_eq!(user.display_name(), "bob@example.com");
    assert_eq!(user.primary_email(), Some("bob@example.com"));
}

#[test]
fn role_absent_or_blank_is_none() {
    let user: User = serde_json::from_value(json!({
        "id": "u1",
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": {}
    }))
    .unwrap();
    assert_eq!(user.role, None);
    let user: User = serde_json::from_value(json!({
        "id": "u1",
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "  " }
    }))
    .unwrap();
    assert_eq!(user.role, None);
    let user: User = serde_json::from_value(json!({
        "id": "u1",
        "urn:ietf:params:scim:schemas:extension:notion:2.0:User": { "role": "brand_new_role" }
    }))
    .unwrap();
    assert_eq!(user.role.as_deref(), Some("brand_new_role"));
}

#[test]
fn display_name_fallbacks() {
    let mut user: User = serde_json::from_value(json!({
        "id": "u1", "userName": "ada@example.com",
        "name": { "givenName": " Ada ", "familyName": "Lovelace" }
    }))
    .unwrap();
    assert_eq!(user.display_name(), "Ada Lovelace");
    user.name = Some(Name {
        family_name: Some("Lovelace".into()),
        ..Name::default()
    });
    assert_eq!(user.display_name(), "Lovelace");
    user.name = Some(Name {
        formatted: Some("   ".into()),
        given_name: Some("Ada".into()),
        family_name: None,
    });
    assert_eq!(user.display_name(), "Ada");
    user.name = Some(Name::default());
    assert_eq!(user.display_name(), "ada@example.com");
}

#[test]
fn primary_email_preference() {
    let user: User = serde_json::from_value(json!({
        "id": "u1", "userName": "login-name",
        "emails": [
            { "value": "" },
            { "value": "home@example.com", "type": "home" },
            { "value": "work@example.com", "primary": true }
        ]
    }))
    .unwrap();
    assert_eq!(user.primary_email(), Some("work@example.com"));
    let user: User = serde_json::from_value(json!({
        "id": "u1", "userName": "login-name",
        "emails": [{ "value": "" }, { "value": "first@example.com" }, { "value": "second@example.com" }]
    }))
    .unwrap();
    assert_eq!(user.primary_email(), Some("first@example.com"));
    let user: User =
        serde_json::from_value(json!({ "id": "u1", "userName": "login-name" })).unwrap();
    assert_eq!(user.primary_email(), None);
}

#[test]
fn group_members_absent_null_empty_and_typed() {
    let g: Group = serde_json::from_value(json!({ "id": "g1", "displayName": "Eng" })).unwrap();
    assert_eq!(g.members, None);
    let g: Group =
        serde_json::from_value(json!({ "id": "g1", "displayName": "Eng", "members": null }))
            .unwrap();
    assert_eq!(g.members, None);
    let g: Group =
        serde_json::from_value(json!({ "id": "g1", "displayName": "Eng", "members": [] })).unwrap();
    assert_eq!(g.members, Some(vec![]));
    let g: Group = serde_json::from_value(json!({
        "id": "g1", "displayName": "Eng",
        "members": [
            { "value": "u1", "display": "Ada" },
            { "value": "u2", "type": "User", "$ref": "https://x/Users/u2" },
            { "value": "u3", "type": "user" },
            { "value": "g2", "type": "Group" }
        ]
    }))
    .unwrap();
    let ids: Vec<&str> = g.user_member_ids().collect();
    assert_eq!(ids, ["u1", "u2", "u3"]);
    let members = g.members.as_ref().unwrap();
    assert_eq!(members[0].display.as_deref(), Some("Ada"));
    assert!(!members[3].is_user());
}

#[test]
fn list_response_resources_may_be_absent() {
    let page: ListResponse<User> = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "itemsPerPage": 0, "startIndex": 1
    }))
    .unwrap();
    assert!(page.resources.is_empty());
    assert_eq!(page.total_results, Some(0));
    let page: ListResponse<Group> = serde_json::from_value(json!({
        "totalResults": "2", "Resources": [{ "id": "g1" }, { "id": "g2", "displayName": "B" }]
    }))
    .unwrap();
    assert_eq!(page.total_results, Some(2));
    assert_eq!(page.items_per_page, None);
    assert_eq!(page.resources.len(), 2);
    let page: ListResponse<Group> =
        serde_json::from_value(json!({ "Resources": null, "totalResults": null })).unwrap();
    assert!(page.resources.is_empty());
    assert_eq!(page.total_results, None);
}

#[test]
fn ids_are_transparent_newtypes() {
    let id = UserId::from("abc".to_owned());
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc\"");
    let back: GroupId = serde_json::from_str("\"g\"").unwrap();
    assert_eq!(back.as_str(), "g");
    assert_eq!(id.to_string(), "abc");
    let mut set = std::collections::HashSet::new();
    set.insert(id);
    assert!(set.contains("abc"));
}

#[test]
fn user_round_trips_with_role_extension() {
    let user: User = serde_json::from_value(notion_user()).unwrap();
    let json = serde_json::to_value(&user).unwrap();
    assert_eq!(
        json[NOTION_USER_EXTENSION]["role"],
        json!("membership_admin")
    );
    let again: User = serde_json::from_value(json).unwrap();
    assert_eq!(again, user);
}

#[test]
fn new_user_body() {
    let mut new = NewUser::new("ada@example.com");
    new.role = Some("restricted_member".into());
    let json = serde_json::to_value(&new).unwrap();
    assert_eq!(
        json,
        json!({
            "schemas": [USER_SCHEMA, NOTION_USER_EXTENSION],
            "userName": "ada@example.com",
            "emails": [{ "value": "ada@example.com", "primary": true, "type": "work" }],
            NOTION_USER_EXTENSION: { "role": "restricted_member" }
        })
    );
    let group = NewGroup::new("Eng");
    assert_eq!(
        serde_json::to_value(&group).unwrap(),
        json!({ "schemas": [GROUP_SCHEMA], "displayName": "Eng" })
    );
}
