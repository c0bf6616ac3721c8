//! Deleting a `personal_access_token` revokes it: `DELETE
//! /v1/spaces/{space_id}/personal_access_tokens/{id}`.
//!
//! The endpoint needs the token's workspace, and the runtime's `delete` hands the syncer the
//! resource id alone (`DeleteResource` carries a `parent_resource_id`, but the connector
//! trait passes only the id on). So the workspace comes from the organization snapshot; a
//! token the snapshot does not hold (created since it was listed, or already revoked) is
//! revoked in each live workspace in turn until one knows it. A token already revoked or gone
//! answers 404: success with `ResourceDoesNotExist`. An expired token is revoked too (so it
//! leaves the next sync) and also answered `ResourceDoesNotExist`: it had stopped working.

use prost_types::Any;

use super::super::snapshot::Snapshot;
use crate::baton::ConnectorError;
use crate::baton::annotations::pack;
use crate::notion::admin::{AdminWrite, PatStatus, Revoked};
use crate::pb::v2;

/// The request that revokes token `pat` of workspace `space`.
pub fn plan_delete(space: &str, pat: &str) -> AdminWrite {
    AdminWrite::RevokePersonalAccessToken {
        space: space.to_owned(),
        pat: pat.to_owned(),
    }
}

/// Revokes personal access token `id`.
pub async fn delete(snapshot: &Snapshot, id: &v2::ResourceId) -> Result<Vec<Any>, ConnectorError> {
    let admin = snapshot.admin();
    let known = snapshot.tokens().await?.iter().find_map(|(space, list)| {
        list.iter()
            .find(|t| t.id == id.resource)
            .map(|t| (space.clone(), t.status == PatStatus::Expired))
    });
    // An expired token no longer works: it is revoked all the same (so it leaves the next
    // sync), but the answer says it was already gone, as for a revoked one.
    let expired = known.as_ref().is_some_and(|(_, expired)| *expired);
    let spaces: Vec<String> = match known {
        Some((space, _)) => vec![space],
        None => snapshot
            .spaces()
            .await?
            .iter()
            .map(|s| s.id.clone())
            .collect(),
    };
    for space in spaces {
        match admin
            .revoke_personal_access_token(&space, &id.resource)
            .await
            .map_err(super::super::admin_err)?
        {
            Revoked::Revoked if expired => return Ok(vec![pack(&v2::ResourceDoesNotExist {})]),
            Revoked::Revoked => return Ok(Vec::new()),
            Revoked::AlreadyGone => continue,
        }
    }
    Ok(vec![pack(&v2::ResourceDoesNotExist {})])
}
