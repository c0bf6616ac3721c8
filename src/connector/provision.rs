//! Provisioning a Notion workspace: accounts, deprovisioning, workspace roles, group
//! membership. Every operation is idempotent and validates its input before any request.
//!
//! - **Create account**: `POST /Users` with the email as `userName`. A 409 (or a member who
//!   already exists) is looked up by `userName eq`, falling back to `email eq` when Notion
//!   refuses that filter, and answered `already_exists` with the member's resource.
//! - **Deprovision**: `DELETE /Users/{id}` (or, in `suspend` mode, `PATCH active=false`).
//!   A member already gone → success with `ResourceDoesNotExist`; the token's owner → Notion's
//!   403, as `PermissionDenied` with Notion's message.
//! - **Roles**: the current role is read first. Holding it already → `GrantAlreadyExists`;
//!   otherwise the role is PATCHed (the no-path form keyed by the extension URN, the path
//!   form only after a 400) and the answer names the replaced role's grant (`GrantReplaced`).
//!   Revoking downgrades to `restricted_member`; revoking a role not held (or of a member who
//!   is gone) → `GrantAlreadyRevoked`; revoking `restricted_member` itself is refused: it is
//!   the floor every member holds (deprovision instead).
//! - **Group membership** (the Go connector cannot do this): `add` on `members` and `remove`
//!   on `members[value eq "…"]` — never a replace of the whole list, which races with other
//!   writers and is refused when it would strand pages.

use prost_types::Any;

use super::roles::{self, DEFAULT_ROLE};
use super::users::user_resource;
use super::{map_error, types};
use crate::baton::annotations::pack;
use crate::baton::resource::{self, profile_str};
use crate::baton::{Code, ConnectorError, ids};
use crate::notion::{self, GroupId, Name, NewUser, PatchOp, User, UserId};
use crate::pb::v2;

/// How `DeleteResource` on a user deprovisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DeprovisionMode {
    /// `DELETE /Users/{id}`: the member leaves the workspace.
    #[default]
    Delete,
    /// `PATCH active=false`: the member is suspended and stays listed as disabled.
    Suspend,
}

fn id_of<'a>(
    r: Option<&'a v2::Resource>,
    what: &str,
) -> Result<&'a v2::ResourceId, ConnectorError> {
    r.and_then(|r| r.id.as_ref())
        .ok_or_else(|| ConnectorError::invalid_argument(format!("the {what} has no id")))
}

fn user_principal(principal: &v2::Resource) -> Result<UserId, ConnectorError> {
    let id = id_of(Some(principal), "principal")?;
    if id.resource_type != types::USER {
        return Err(ConnectorError::invalid_argument(format!(
            "only users can be granted this; got a {:?}",
            id.resource_type
        )));
    }
    Ok(UserId::from(id.resource.clone()))
}

/// The role a member holds (a missing extension means `member`).
async fn current_role(
    client: &notion::Client,
    uid: &UserId,
) -> Result<Option<String>, ConnectorError> {
    match client.users().get(uid).await {
        Ok(u) => Ok(Some(
            u.role
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| roles::IMPLIED_ROLE.to_owned()),
        )),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

/// PATCHes the role: the no-path form first, the path form only after a 400.
async fn set_role(client: &notion::Client, uid: &UserId, role: &str) -> Result<(), ConnectorError> {
    match client.users().patch(uid, &PatchOp::set_role(role)).await {
        Ok(_) => Ok(()),
        Err(e) if e.status() == Some(400) => client
            .users()
            .patch(uid, &PatchOp::set_role_by_path(role))
            .await
            .map(|_| ())
            .map_err(map_error),
        Err(e) => Err(map_error(e)),
    }
}

fn role_grant(role: &str, uid: &v2::ResourceId) -> v2::Grant {
    resource::grant(&ids::resource_id(types::ROLE, role), "assigned", uid)
}

/// Grants workspace role `entitlement` to `principal`.
pub async fn grant_role(
    client: &notion::Client,
    principal: &v2::Resource,
    entitlement: &v2::Entitlement,
) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
    let role_id = &id_of(entitlement.resource.as_ref(), "entitlement's resource")?.resource;
    let role = roles::role(role_id).ok_or_else(|| {
        ConnectorError::invalid_argument(format!(
            "unknown workspace role \"{}\"",
            crate::text::one_line(role_id)
        ))
    })?;
    let uid = user_principal(principal)?;
    let pid = id_of(Some(principal), "principal")?;
    let grant = role_grant(role.id, pid);
    let held = current_role(client, &uid).await?.ok_or_else(|| {
        ConnectorError::not_found(format!(
            "no workspace member {}",
            crate::text::one_line(uid.as_str())
        ))
    })?;
    if held == role.id {
        return Ok((vec![grant], vec![pack(&v2::GrantAlreadyExists {})]));
    }
    set_role(client, &uid, role.id).await?;
    let replaced = v2::GrantReplaced {
        replaced_grant_id: role_grant(&held, pid).id,
    };
    Ok((vec![grant], vec![pack(&replaced)]))
}

/// Revokes a workspace role grant by downgrading to `restricted_member`.
pub async fn revoke_role(
    client: &notion::Client,
    grant: &v2::Grant,
) -> Result<Vec<Any>, ConnectorError> {
    let ent = grant.entitlement.as_ref();
    let role_id = &id_of(ent.and_then(|e| e.resource.as_ref()), "grant's entitlement")?.resource;
    if role_id == DEFAULT_ROLE {
        return Err(ConnectorError::new(
            Code::FailedPrecondition,
            "restricted_member is the floor every workspace member holds and cannot be revoked; \
             deprovision the user to remove their access",
        ));
    }
    roles::role(role_id).ok_or_else(|| {
        ConnectorError::invalid_argument(format!(
            "unknown workspace role \"{}\"",
            crate::text::one_line(role_id)
        ))
    })?;
    let uid = user_principal(
        grant
            .principal
            .as_ref()
            .ok_or_else(|| ConnectorError::invalid_argument("the grant has no principal"))?,
    )?;
    match current_role(client, &uid).await? {
        Some(held) if &held == role_id => {
            set_role(client, &uid, DEFAULT_ROLE).await?;
            Ok(Vec::new())
        }
        _ => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
    }
}

/// The user ids in group `gid`, or `None` when the group is gone.
async fn group_members(
    client: &notion::Client,
    gid: &GroupId,
) -> Result<Option<Vec<String>>, ConnectorError> {
    match client.groups().get(gid).await {
        Ok(g) => Ok(Some(
            g.members
                .unwrap_or_default()
                .into_iter()
                .filter(|m| m.is_user())
                .map(|m| m.value)
                .collect(),
        )),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

/// Adds `principal` to the group of `entitlement`.
pub async fn grant_membership(
    client: &notion::Client,
    principal: &v2::Resource,
    entitlement: &v2::Entitlement,
) -> Result<(Vec<v2::Grant>, Vec<Any>), ConnectorError> {
    let gres = id_of(entitlement.resource.as_ref(), "entitlement's resource")?;
    let uid = user_principal(principal)?;
    let pid = id_of(Some(principal), "principal")?;
    let grant = resource::grant(gres, "member", pid);
    let gid = GroupId::from(gres.resource.clone());
    let members = group_members(client, &gid).await?.ok_or_else(|| {
        ConnectorError::not_found(format!(
            "no Notion group {}",
            crate::text::one_line(gid.as_str())
        ))
    })?;
    if members.iter().any(|m| m == uid.as_str()) {
        return Ok((vec![grant], vec![pack(&v2::GrantAlreadyExists {})]));
    }
    client
        .groups()
        .patch(&gid, &PatchOp::add_members(std::slice::from_ref(&uid)))
        .await
        .map_err(map_error)?;
    Ok((vec![grant], Vec::new()))
}

/// Removes the grant's principal from its group.
pub async fn revoke_membership(
    client: &notion::Client,
    grant: &v2::Grant,
) -> Result<Vec<Any>, ConnectorError> {
    let gres = id_of(
        grant.entitlement.as_ref().and_then(|e| e.resource.as_ref()),
        "grant's entitlement",
    )?;
    let uid = user_principal(
        grant
            .principal
            .as_ref()
            .ok_or_else(|| ConnectorError::invalid_argument("the grant has no principal"))?,
    )?;
    let gid = GroupId::from(gres.resource.clone());
    match group_members(client, &gid).await? {
        Some(m) if m.iter().any(|m| m == uid.as_str()) => {
            client
                .groups()
                .patch(&gid, &PatchOp::remove_member(&uid))
                .await
                .map_err(map_error)?;
            Ok(Vec::new())
        }
        _ => Ok(vec![pack(&v2::GrantAlreadyRevoked {})]),
    }
}

/// Deprovisions a member.
pub async fn delete_user(
    client: &notion::Client,
    id: &v2::ResourceId,
    mode: DeprovisionMode,
) -> Result<Vec<Any>, ConnectorError> {
    let uid = UserId::from(id.resource.clone());
    let result = match mode {
        DeprovisionMode::Delete => client.users().delete(&uid).await,
        DeprovisionMode::Suspend => client
            .users()
            .patch(&uid, &PatchOp::set_active(false))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(Vec::new()),
        Err(e) if e.status() == Some(404) => Ok(vec![pack(&v2::ResourceDoesNotExist {})]),
        Err(e) => Err(map_error(e)),
    }
}

/// What an account to create looks like, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    /// The member's email (also `userName`).
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Workspace role, if one was asked for.
    pub role: Option<String>,
}

/// True for a plausible email address: one `@`, a non-empty local part, a dotted domain, no
/// spaces. Notion checks the rest.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Names from an email's local part: `ada.lovelace@…` → (`Ada`, `Lovelace`).
pub fn names_from_email(email: &str) -> (String, String) {
    let local = email.split('@').next().unwrap_or_default();
    let mut parts = local
        .split(['.', '_', '-', '+'])
        .filter(|p| !p.is_empty())
        .map(capitalize);
    let given = parts.next().unwrap_or_else(|| local.to_owned());
    let family = parts.collect::<Vec<_>>().join(" ");
    (given, family)
}

/// Validates an account request: `email` required and well-formed (from the profile, the
/// primary email or the login), names optional (derived from the email), role optional but
/// known, and no credential but "no password".
pub fn validate_account(
    info: &v2::AccountInfo,
    credentials: Option<&v2::CredentialOptions>,
) -> Result<NewAccount, ConnectorError> {
    use v2::credential_options::Options;
    if let Some(opts) = credentials.and_then(|c| c.options.as_ref())
        && !matches!(opts, Options::NoPassword(_))
    {
        return Err(ConnectorError::invalid_argument(
            "Notion accounts have no password: only the NO_PASSWORD credential option is supported",
        ));
    }
    let profile = info.profile.as_ref();
    let email = profile_str(profile, "email")
        .map(str::to_owned)
        .or_else(|| {
            info.emails
                .iter()
                .find(|e| e.is_primary)
                .or(info.emails.first())
                .map(|e| e.address.clone())
        })
        .or_else(|| (!info.login.is_empty()).then(|| info.login.clone()))
        .map(|e| e.trim().to_owned())
        .ok_or_else(|| {
            ConnectorError::invalid_argument(
                "an email address is required to create a Notion member",
            )
        })?;
    if !is_email(&email) {
        return Err(ConnectorError::invalid_argument(format!(
            "{email:?} is not a valid email address"
        )));
    }
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| profile_str(profile, k))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (derived_given, derived_family) = names_from_email(&email);
    let role = pick(&["role", "workspace_role"]);
    if let Some(r) = &role
        && roles::role(r).is_none()
    {
        return Err(ConnectorError::invalid_argument(format!(
            "unknown workspace role {r:?}: use owner, membership_admin, member or restricted_member"
        )));
    }
    Ok(NewAccount {
        given_name: pick(&["given_name", "first_name"]).unwrap_or(derived_given),
        family_name: pick(&["family_name", "last_name"]).unwrap_or(derived_family),
        email,
        role,
    })
}

/// The SCIM body for an account.
pub fn new_user(a: &NewAccount) -> NewUser {
    let mut u = NewUser::new(a.email.clone());
    let formatted = format!("{} {}", a.given_name, a.family_name)
        .trim()
        .to_owned();
    u.name = Some(Name {
        formatted: Some(formatted),
        given_name: Some(a.given_name.clone()),
        family_name: (!a.family_name.is_empty()).then(|| a.family_name.clone()),
    });
    u.active = Some(true);
    u.role = a.role.clone();
    u
}

/// Finds a member by email: `userName eq` first, `email eq` when Notion refuses that filter.
pub async fn find_member(
    client: &notion::Client,
    email: &str,
) -> Result<Option<User>, ConnectorError> {
    let by = |attr: &'static str| {
        client
            .users()
            .list()
            .filter(notion::filter_eq(attr, email))
            .count(2)
            .send()
    };
    let found = match by("userName").await {
        Ok(r) => r,
        Err(e) if e.status() == Some(400) => by("email").await.map_err(map_error)?,
        Err(e) => return Err(map_error(e)),
    };
    Ok(found.resources.into_iter().find(|u| {
        u.user_name.eq_ignore_ascii_case(email)
            || u.primary_email()
                .is_some_and(|p| p.eq_ignore_ascii_case(email))
    }))
}

/// Creates (or finds) a member.
pub async fn create_account(
    client: &notion::Client,
    info: &v2::AccountInfo,
    credentials: Option<&v2::CredentialOptions>,
) -> Result<v2::CreateAccountResponse, ConnectorError> {
    use v2::create_account_response::{AlreadyExistsResult, Result as Outcome, SuccessResult};
    let account = validate_account(info, credentials)?;
    let existing = match client.users().create(&new_user(&account)).await {
        Ok(user) => {
            return Ok(v2::CreateAccountResponse {
                result: Some(Outcome::Success(SuccessResult {
                    resource: Some(user_resource(&user)),
                    is_create_account_result: true,
                    invitation_expires_at: None,
                })),
                ..Default::default()
            });
        }
        Err(e) if e.status() == Some(409) => find_member(client, &account.email).await?,
        Err(e) => return Err(map_error(e)),
    };
    let user = existing.ok_or_else(|| {
        ConnectorError::new(
            Code::AlreadyExists,
            format!(
                "Notion reports {} exists but no member with that email can be found",
                account.email
            ),
        )
    })?;
    Ok(v2::CreateAccountResponse {
        result: Some(Outcome::AlreadyExists(AlreadyExistsResult {
            resource: Some(user_resource(&user)),
            is_create_account_result: true,
        })),
        ..Default::default()
    })
}

/// The profile fields `CreateAccount` accepts, for `GetMetadata`.
pub fn account_creation_schema() -> v2::ConnectorAccountCreationSchema {
    use v2::connector_account_creation_schema::{Field, StringField, field};
    let text =
        |order: i32, name: &str, required: bool, description: &str, placeholder: &str| Field {
            display_name: name.to_owned(),
            required,
            description: description.to_owned(),
            placeholder: placeholder.to_owned(),
            order,
            deprecated: false,
            field: Some(field::Field::StringField(StringField::default())),
        };
    let field_map = [
        ("email", text(1, "Email", true, "The member's email; it becomes their Notion login.", "ada@example.com")),
        ("given_name", text(2, "Given name", false, "Derived from the email when empty.", "Ada")),
        ("family_name", text(3, "Family name", false, "Derived from the email when empty.", "Lovelace")),
        (
            "role",
            text(
                4,
                "Workspace role",
                false,
                "owner, membership_admin, member or restricted_member; Notion's default (member) when empty.",
                "member",
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    v2::ConnectorAccountCreationSchema { field_map }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::resource::{ProfileValue, profile};

    #[test]
    fn emails_are_checked() {
        for ok in ["ada@example.com", "a.b+c@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
            "ada@.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn names_come_from_the_email_when_absent() {
        assert_eq!(
            names_from_email("ada.lovelace@example.com"),
            ("Ada".into(), "Lovelace".into())
        );
        assert_eq!(
            names_from_email("grace@example.com"),
            ("Grace".into(), String::new())
        );
    }

    #[test]
    fn accounts_are_validated_before_any_request() {
        let info = |pairs: Vec<(&str, ProfileValue)>| v2::AccountInfo {
            profile: Some(profile(pairs)),
            ..Default::default()
        };
        let a = validate_account(
            &info(vec![("email", "ada.lovelace@example.com".into())]),
            None,
        )
        .expect("valid");
        assert_eq!(
            (a.given_name.as_str(), a.family_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert!(validate_account(&info(vec![("email", "nope".into())]), None).is_err());
        assert!(validate_account(&info(vec![]), None).is_err());
        let bad_role = info(vec![
            ("email", "a@example.com".into()),
            ("role", "admin".into()),
        ]);
        assert_eq!(
            validate_account(&bad_role, None).expect_err("role").code,
            Code::InvalidArgument
        );
        let pw = v2::CredentialOptions {
            options: Some(v2::credential_options::Options::RandomPassword(
                Default::default(),
            )),
            ..Default::default()
        };
        assert!(
            validate_account(&info(vec![("email", "a@example.com".into())]), Some(&pw)).is_err()
        );
    }
}
