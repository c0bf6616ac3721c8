//! One-shot provisioning, as the Go SDK's `--grant-entitlement`, `--revoke-grant`,
//! `--create-account-*` and `--delete-resource` flags do it.
//!
//! Grant and revoke name things by id only; like the SDK, they hydrate the entitlement, the
//! principal and the grant from the latest sync in a `.c1z` (`-f`), so a typo is a clear
//! "not found in FILE" before anything is sent. The action then goes through the same
//! [`ConnectorClient`] calls the gRPC server uses.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost_types::Any;

use super::annotations::is;
use super::c1z::{self, Reader};
use super::client::ConnectorClient;
use super::error::ConnectorError;
use super::ids;
use crate::pb::v2;

/// A one-shot action.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Grant an entitlement to a principal.
    Grant {
        /// Entitlement id, e.g. `role:owner:assigned`.
        entitlement: String,
        /// Principal resource id.
        principal: String,
        /// Principal resource type.
        principal_type: String,
    },
    /// Revoke a grant by id.
    Revoke {
        /// Grant id.
        grant: String,
    },
    /// Create an account.
    CreateAccount {
        /// Account details.
        info: v2::AccountInfo,
    },
    /// Delete (deprovision) a resource.
    Delete {
        /// Resource id.
        id: String,
        /// Resource type.
        resource_type: String,
    },
}

/// Why a one-shot action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The `.c1z` could not be read.
    #[error("cannot read the artifact")]
    Store {
        /// The file.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: c1z::Error,
    },
    /// The file holds no sync to hydrate from.
    #[error("{path} holds no sync to look ids up in; run a sync first")]
    NoSync {
        /// The file.
        path: PathBuf,
    },
    /// An id is not in the file.
    #[error("{what} {id:?} is not in the latest sync of {path}; run a sync first or check the id")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The id.
        id: String,
        /// The file.
        path: PathBuf,
    },
    /// The connector refused or failed.
    #[error("{0}")]
    Connector(#[from] ConnectorError),
}

struct Hydrator<'a> {
    reader: Reader,
    sync_id: String,
    path: &'a Path,
}

impl<'a> Hydrator<'a> {
    fn open(path: &'a Path) -> Result<Self, ProvisionError> {
        let store = |source| ProvisionError::Store {
            path: path.to_owned(),
            source,
        };
        let reader = Reader::open(path).map_err(store)?;
        let sync = reader
            .latest_sync()
            .map_err(store)?
            .ok_or_else(|| ProvisionError::NoSync {
                path: path.to_owned(),
            })?;
        Ok(Hydrator {
            reader,
            sync_id: sync.sync_id,
            path,
        })
    }

    fn store_err(&self, source: c1z::Error) -> ProvisionError {
        ProvisionError::Store {
            path: self.path.to_owned(),
            source,
        }
    }

    fn not_found(&self, what: &'static str, id: &str) -> ProvisionError {
        ProvisionError::NotFound {
            what,
            id: id.to_owned(),
            path: self.path.to_owned(),
        }
    }

    fn resource(&self, resource_type: &str, id: &str) -> Result<v2::Resource, ProvisionError> {
        let rid = ids::resource_id(resource_type, id);
        self.reader
            .resource(&self.sync_id, &rid)
            .map_err(|e| self.store_err(e))?
            .ok_or_else(|| self.not_found("resource", &ids::resource_key(&rid)))
    }

    fn entitlement(&self, id: &str) -> Result<v2::Entitlement, ProvisionError> {
        self.reader
            .entitlements(&self.sync_id, None)
            .map_err(|e| self.store_err(e))?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| self.not_found("entitlement", id))
    }

    fn grant(&self, id: &str) -> Result<v2::Grant, ProvisionError> {
        // `<entitlement id>:<principal type>:<principal id>`; neither principal part holds ':'.
        let entitlement_id = id.rsplitn(3, ':').nth(2).unwrap_or(id);
        self.reader
            .grants(&self.sync_id, Some(entitlement_id))
            .map_err(|e| self.store_err(e))?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| self.not_found("grant", id))
    }
}

/// Runs `action` against `client`, hydrating ids from `file`. Returns a short report.
pub async fn run(
    client: &dyn ConnectorClient,
    file: &Path,
    action: Action,
) -> Result<String, ProvisionError> {
    match action {
        Action::Grant {
            entitlement,
            principal,
            principal_type,
        } => {
            let h = Hydrator::open(file)?;
            let ent = h.entitlement(&entitlement)?;
            let who = h.resource(&principal_type, &principal)?;
            let resp = client
                .grant(v2::GrantManagerServiceGrantRequest {
                    entitlement: Some(ent),
                    principal: Some(who),
                    annotations: vec![],
                })
                .await?;
            let mut out = String::new();
            for g in &resp.grants {
                let _ = writeln!(out, "granted {}", g.id);
            }
            let _ = write!(out, "{}", describe(&resp.annotations));
            Ok(out)
        }
        Action::Revoke { grant } => {
            let h = Hydrator::open(file)?;
            let g = h.grant(&grant)?;
            let resp = client
                .revoke(v2::GrantManagerServiceRevokeRequest {
                    grant: Some(g),
                    annotations: vec![],
                })
                .await?;
            Ok(format!("revoked {grant}\n{}", describe(&resp.annotations)))
        }
        Action::CreateAccount { info } => {
            let resp = client
                .create_account(v2::CreateAccountRequest {
                    account_info: Some(info),
                    ..Default::default()
                })
                .await?;
            Ok(describe_account(&resp))
        }
        Action::Delete { id, resource_type } => {
            let resp = client
                .delete_resource(v2::DeleteResourceV2Request {
                    resource_id: Some(ids::resource_id(&resource_type, &id)),
                    parent_resource_id: None,
                })
                .await?;
            Ok(format!(
                "deleted {resource_type}:{id}\n{}",
                describe(&resp.annotations)
            ))
        }
    }
}

/// One line per annotation a person should know about.
pub fn describe(annotations: &[Any]) -> String {
    let mut out = String::new();
    for a in annotations {
        if is::<v2::GrantAlreadyExists>(a) {
            out.push_str("note: the grant already existed; nothing changed\n");
        } else if is::<v2::GrantAlreadyRevoked>(a) {
            out.push_str("note: the grant was already gone; nothing changed\n");
        } else if is::<v2::ResourceDoesNotExist>(a) {
            out.push_str("note: the resource was already gone; nothing changed\n");
        } else if let Some(r) =
            super::annotations::find::<v2::GrantReplaced>(std::slice::from_ref(a))
        {
            let _ = writeln!(out, "note: replaced {}", r.replaced_grant_id);
        }
    }
    out
}

/// The outcome of a CreateAccount call, for people.
pub fn describe_account(resp: &v2::CreateAccountResponse) -> String {
    use v2::create_account_response::Result as R;
    let (what, resource) = match &resp.result {
        Some(R::Success(r)) => ("created", r.resource.as_ref()),
        Some(R::AlreadyExists(r)) => ("already exists", r.resource.as_ref()),
        Some(R::ActionRequired(r)) => ("action required", r.resource.as_ref()),
        Some(R::InProgress(r)) => ("in progress", r.resource.as_ref()),
        None => ("no result", None),
    };
    match resource.and_then(|r| r.id.as_ref().map(|id| (r, id))) {
        Some((r, id)) => format!(
            "account {what}: {} ({})\n",
            ids::resource_key(id),
            r.display_name
        ),
        None => format!("account {what}\n"),
    }
}
