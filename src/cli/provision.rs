//! The provisioning side of the command line: the Baton one-shot flags
//! (`--grant-entitlement`, `--revoke-grant`, `--create-account-*`, `--delete-resource`) and
//! the friendlier `provision` subcommand for adding a Notion member.
//!
//! Input is validated before any request: a malformed email, an unknown role or an id missing
//! from the `.c1z` is a one-line error with nothing sent. `provision --dry-run` prints the exact
//! request and sends nothing; so does `--dry-run` with a one-shot flag on the organization
//! view's types (the Admin API writes of `connector::org::provision`, planned from the
//! `.c1z`).

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use super::sync::SyncArgs;
use crate::baton::provision::{self, Action};
use crate::baton::resource::{ProfileValue, profile};
use crate::baton::{ConnectorClient, Local};
use crate::connector::NotionConnector;
use crate::connector::provision::{DeprovisionMode, new_user, validate_account};
use crate::notion;
use crate::pb::v2;

/// The Baton one-shot flags (mutually exclusive; with none of them the program syncs).
#[derive(Debug, Args, Clone, Default)]
pub struct OneShotArgs {
    /// Grant this entitlement id (needs --grant-principal and --grant-principal-type).
    #[arg(long, env = "BATON_GRANT_ENTITLEMENT", value_name = "ENTITLEMENT_ID")]
    pub grant_entitlement: Option<String>,
    /// The resource id to grant the entitlement to.
    #[arg(long, env = "BATON_GRANT_PRINCIPAL", value_name = "ID")]
    pub grant_principal: Option<String>,
    /// The resource type of --grant-principal (e.g. user).
    #[arg(long, env = "BATON_GRANT_PRINCIPAL_TYPE", value_name = "TYPE")]
    pub grant_principal_type: Option<String>,
    /// Revoke this grant id (looked up in --file).
    #[arg(long, env = "BATON_REVOKE_GRANT", value_name = "GRANT_ID")]
    pub revoke_grant: Option<String>,
    /// Create an account with this login.
    #[arg(long, env = "BATON_CREATE_ACCOUNT_LOGIN", value_name = "LOGIN")]
    pub create_account_login: Option<String>,
    /// Create an account with this email.
    #[arg(long, env = "BATON_CREATE_ACCOUNT_EMAIL", value_name = "EMAIL")]
    pub create_account_email: Option<String>,
    /// Profile of the account to create, as a JSON object (e.g. {"given_name":"Ada","role":"member"}).
    #[arg(long, env = "BATON_CREATE_ACCOUNT_PROFILE", value_name = "JSON")]
    pub create_account_profile: Option<String>,
    /// Delete (deprovision) the resource with this id (needs --delete-resource-type).
    #[arg(long, env = "BATON_DELETE_RESOURCE", value_name = "ID")]
    pub delete_resource: Option<String>,
    /// The resource type of --delete-resource (e.g. user).
    #[arg(long, env = "BATON_DELETE_RESOURCE_TYPE", value_name = "TYPE")]
    pub delete_resource_type: Option<String>,
    /// How deleting a user deprovisions: delete (leave the workspace) or suspend (active=false).
    #[arg(
        long,
        env = "BATON_DEPROVISION_MODE",
        value_enum,
        default_value = "delete",
        global = true
    )]
    pub deprovision_mode: DeprovisionMode,
    /// With a one-shot flag on the organization view's types (personal_access_token,
    /// mcp_client, agent, group with an admin token): print the exact Admin API requests,
    /// planned from the latest sync in --file, and send nothing.
    #[arg(long = "dry-run", env = "BATON_DRY_RUN")]
    pub dry_run: bool,
}

impl OneShotArgs {
    /// The one-shot action the flags ask for, if any; an error for a partial or ambiguous set.
    pub fn action(&self) -> anyhow::Result<Option<Action>> {
        let grant = self.grant_entitlement.is_some()
            || self.grant_principal.is_some()
            || self.grant_principal_type.is_some();
        let revoke = self.revoke_grant.is_some();
        let create = self.create_account_login.is_some()
            || self.create_account_email.is_some()
            || self.create_account_profile.is_some();
        let delete = self.delete_resource.is_some() || self.delete_resource_type.is_some();
        if [grant, revoke, create, delete]
            .iter()
            .filter(|b| **b)
            .count()
            > 1
        {
            bail!(
                "--grant-*, --revoke-grant, --create-account-* and --delete-resource* are mutually exclusive"
            );
        }
        if grant {
            let (Some(e), Some(p), Some(t)) = (
                &self.grant_entitlement,
                &self.grant_principal,
                &self.grant_principal_type,
            ) else {
                bail!(
                    "--grant-entitlement needs --grant-principal and --grant-principal-type together"
                );
            };
            return Ok(Some(Action::Grant {
                entitlement: e.clone(),
                principal: p.clone(),
                principal_type: t.clone(),
            }));
        }
        if let Some(g) = &self.revoke_grant {
            return Ok(Some(Action::Revoke { grant: g.clone() }));
        }
        if create {
            let mut fields: Vec<(String, ProfileValue)> = Vec::new();
            if let Some(p) = &self.create_account_profile {
                let v: serde_json::Value = serde_json::from_str(p)
                    .context("--create-account-profile must be a JSON object")?;
                let serde_json::Value::Object(map) = v else {
                    bail!("--create-account-profile must be a JSON object");
                };
                for (k, v) in map {
                    let pv = match v {
                        serde_json::Value::String(s) => ProfileValue::Str(s),
                        serde_json::Value::Bool(b) => ProfileValue::Bool(b),
                        serde_json::Value::Number(n) => {
                            ProfileValue::Num(n.as_f64().unwrap_or(0.0))
                        }
                        other => bail!(
                            "--create-account-profile: {k:?} must be a string, number or boolean, not {other}"
                        ),
                    };
                    fields.push((k, pv));
                }
            }
            if let Some(e) = &self.create_account_email {
                fields.push(("email".to_owned(), e.clone().into()));
            }
            let info = v2::AccountInfo {
                login: self.create_account_login.clone().unwrap_or_default(),
                emails: self
                    .create_account_email
                    .iter()
                    .map(|e| v2::account_info::Email {
                        address: e.clone(),
                        is_primary: true,
                    })
                    .collect(),
                profile: Some(profile(fields)),
                ..Default::default()
            };
            return Ok(Some(Action::CreateAccount { info }));
        }
        if delete {
            let (Some(id), Some(t)) = (&self.delete_resource, &self.delete_resource_type) else {
                bail!("--delete-resource needs --delete-resource-type (e.g. user)");
            };
            return Ok(Some(Action::Delete {
                id: id.clone(),
                resource_type: t.clone(),
            }));
        }
        Ok(None)
    }
}

/// A workspace role, as the `provision` command accepts it.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum RoleArg {
    /// Full control of the workspace.
    Owner,
    /// Manages members and groups.
    MembershipAdmin,
    /// A regular member.
    Member,
    /// Sees only what is shared with them.
    RestrictedMember,
}

impl RoleArg {
    fn as_str(self) -> &'static str {
        match self {
            RoleArg::Owner => "owner",
            RoleArg::MembershipAdmin => "membership_admin",
            RoleArg::Member => "member",
            RoleArg::RestrictedMember => "restricted_member",
        }
    }
}

/// Output formats of `provision`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum Output {
    /// Lines for people.
    #[default]
    Table,
    /// One JSON object for scripts.
    Json,
}

/// Flags of `provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The new member's email (becomes their Notion login).
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
    /// Given name (derived from the email when absent).
    #[arg(long, value_name = "NAME")]
    pub given_name: Option<String>,
    /// Family name (derived from the email when absent).
    #[arg(long, value_name = "NAME")]
    pub family_name: Option<String>,
    /// Workspace role (Notion's default, member, when absent).
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Print the exact request and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: Output,
}

fn client_for(args: &SyncArgs) -> anyhow::Result<notion::Client> {
    args.client(&args.base_url, args.token()?)
}

/// Runs a one-shot action (or, with `--dry-run`, shows what it would send) and prints its
/// report. The connector is the one `sync` builds: SCIM, the organization view, or both.
pub async fn one_shot(sync: &SyncArgs, flags: &OneShotArgs, action: Action) -> anyhow::Result<()> {
    if flags.dry_run {
        use crate::connector::org::provision::dry_run;
        let plan = dry_run::plan(&sync.file, &action)?;
        crate::ops::output::print(&dry_run::report(&plan)?)?;
        return Ok(());
    }
    let connector = sync.connector(&sync.base_url, &sync.admin_base_url, flags.deprovision_mode)?;
    let client = Local::new(Arc::new(connector));
    let report = provision::run(&client, &sync.file, action).await?;
    crate::ops::output::print(&report)?;
    Ok(())
}

/// `provision`: adds a member, or shows what would be sent.
pub async fn provision_member(sync: &SyncArgs, args: &ProvisionArgs) -> anyhow::Result<()> {
    let mut fields: Vec<(&str, ProfileValue)> = vec![("email", args.email.clone().into())];
    if let Some(g) = &args.given_name {
        fields.push(("given_name", g.clone().into()));
    }
    if let Some(f) = &args.family_name {
        fields.push(("family_name", f.clone().into()));
    }
    if let Some(r) = args.role {
        fields.push(("role", r.as_str().into()));
    }
    let info = v2::AccountInfo {
        profile: Some(profile(fields)),
        ..Default::default()
    };
    let account = validate_account(&info, None)?;
    if args.dry_run {
        let body = serde_json::to_value(new_user(&account))?;
        let text = match args.output {
            Output::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(
                    &json!({"method": "POST", "path": "/Users", "body": body})
                )?
            ),
            Output::Table => format!(
                "dry run: would send\nPOST /Users\nContent-Type: application/scim+json\n\n{}\n",
                serde_json::to_string_pretty(&body)?
            ),
        };
        crate::ops::output::print(&text)?;
        return Ok(());
    }
    let client = Local::new(Arc::new(NotionConnector::new(client_for(sync)?)));
    let resp = client
        .create_account(v2::CreateAccountRequest {
            account_info: Some(info),
            ..Default::default()
        })
        .await?;
    use v2::create_account_response::Result as R;
    let (outcome, resource) = match resp.result {
        Some(R::Success(r)) => ("created", r.resource),
        Some(R::AlreadyExists(r)) => ("already_exists", r.resource),
        other => bail!("unexpected CreateAccount result: {other:?}"),
    };
    let resource = resource.context("CreateAccount returned no account")?;
    let id = resource.id.clone().map(|i| i.resource).unwrap_or_default();
    let prof = resource.profile.as_ref();
    let role = crate::baton::resource::profile_str(prof, "workspace_role").unwrap_or("");
    let email = crate::baton::resource::profile_str(prof, "email").unwrap_or(&account.email);
    let text = match args.output {
        Output::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                "result": outcome, "id": id, "email": email, "role": role,
                "display_name": resource.display_name,
            }))?
        ),
        // The server's text, escaped for the terminal.
        Output::Table => format!(
            "{}: {} <{}> id {} role {}\n",
            if outcome == "created" {
                "created"
            } else {
                "already existed"
            },
            crate::text::one_line(&resource.display_name),
            crate::text::one_line(email),
            crate::text::one_line(&id),
            crate::text::one_line(role)
        ),
    };
    crate::ops::output::print(&text)?;
    Ok(())
}
