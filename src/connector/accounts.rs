//! Creating accounts (the `user` type's `CreateAccount`): `POST /Users` with the email as
//! `userName`. A 409 (or a member who already exists) is looked up by `userName eq`, falling
//! back to `email eq` when Notion refuses that filter, and answered `already_exists` with the
//! member's resource. Input is validated before any request.

use super::lookup as roles;
use super::map_error;
use super::users::user_resource;
use crate::baton::resource::profile_str;
use crate::baton::{Code, ConnectorError};
use crate::notion::{self, Name, NewUser, User};
use crate::pb::v2;

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
