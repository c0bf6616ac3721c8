//! `--dry-run` for the one-shot provisioning flags on the organization view's types: plans the
//! write from the state the latest sync in a `.c1z` recorded, with the same planning code the
//! real write uses, and prints the exact requests. Nothing is sent — not even the reads a real
//! write makes first — so the plan is as good as the file is fresh.

use std::path::Path;

use super::{Plan, agents, groups, mcp, tokens};
use crate::baton::annotations::is;
use crate::baton::c1z::Reader;
use crate::baton::provision::Action;
use crate::baton::{Code, ConnectorError, ids, resource};
use crate::connector::org::model::{AgentRole, GroupRole};
use crate::connector::org::{agents::ROLES, groups::OWNER, types};
use crate::connector::types as scim_types;
use crate::pb::v2;

/// The latest sync of a `.c1z`.
struct Recorded {
    reader: Reader,
    sync: String,
}

fn store(path: &Path, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        Code::FailedPrecondition,
        format!("cannot read {}: {e}", path.display()),
    )
}

impl Recorded {
    fn open(path: &Path) -> Result<Self, ConnectorError> {
        let reader = Reader::open(path).map_err(|e| store(path, e))?;
        let sync = reader
            .latest_sync()
            .map_err(|e| store(path, e))?
            .ok_or_else(|| store(path, "it holds no sync to plan from; run a sync first"))?
            .sync_id;
        Ok(Recorded { reader, sync })
    }

    fn err(&self, e: impl std::fmt::Display) -> ConnectorError {
        store(self.reader.path(), e)
    }

    fn missing(&self, what: &str, id: &str) -> ConnectorError {
        ConnectorError::not_found(format!(
            "{what} \"{}\" is not in the latest sync of {}; run a sync first or check the id",
            crate::text::one_line(id),
            self.reader.path().display()
        ))
    }

    fn resource(&self, id: &v2::ResourceId) -> Result<v2::Resource, ConnectorError> {
        self.reader
            .resource(&self.sync, id)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.missing("resource", &ids::resource_key(id)))
    }

    fn entitlement(&self, id: &str) -> Result<v2::Entitlement, ConnectorError> {
        self.reader
            .entitlements(&self.sync, None)
            .map_err(|e| self.err(e))?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| self.missing("entitlement", id))
    }

    fn grant(&self, id: &str) -> Result<v2::Grant, ConnectorError> {
        let entitlement_id = id.rsplitn(3, ':').nth(2).unwrap_or(id);
        self.reader
            .grants(&self.sync, Some(entitlement_id))
            .map_err(|e| self.err(e))?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| self.missing("grant", id))
    }

    /// Whether `who` holds entitlement `slug` of `on`.
    fn holds(
        &self,
        on: &v2::ResourceId,
        slug: &str,
        who: &v2::ResourceId,
    ) -> Result<bool, ConnectorError> {
        let id = resource::grant(on, slug, who).id;
        let eid = ids::entitlement_id(on, slug);
        Ok(self
            .reader
            .grants(&self.sync, Some(&eid))
            .map_err(|e| self.err(e))?
            .iter()
            .any(|g| g.id == id))
    }

    fn agent_target(
        &self,
        e: &v2::Entitlement,
        who: &v2::ResourceId,
    ) -> Result<(agents::Target, Option<AgentRole>), ConnectorError> {
        let agent = super::entitlement_resource(Some(e))?.clone();
        let recorded = self.resource(&agent)?;
        let space = super::parent_space(Some(&recorded)).map(str::to_owned);
        let t = agents::target(e, who, |_| space)?;
        let mut held = None;
        for (slug, _, _) in ROLES {
            if self.holds(&agent, slug, who)? {
                held = Some(agents::role_of(slug)?);
            }
        }
        Ok((t, held))
    }

    fn group_target(
        &self,
        e: &v2::Entitlement,
        who: &v2::ResourceId,
    ) -> Result<(groups::Target, Option<GroupRole>), ConnectorError> {
        let group = super::entitlement_resource(Some(e))?.clone();
        let recorded = self.resource(&group)?;
        let space =
            resource::profile_str(recorded.profile.as_ref(), "workspace_id").map(str::to_owned);
        let t = groups::target(e, who, space)?;
        let held = if self.holds(&group, OWNER, who)? {
            Some(GroupRole::Owner)
        } else if self.holds(&group, groups::MEMBER, who)? {
            Some(GroupRole::Member)
        } else {
            None
        };
        Ok((t, held))
    }
}

fn not_org(resource_type: &str) -> ConnectorError {
    ConnectorError::invalid_argument(format!(
        "--dry-run plans the organization view's writes (personal_access_token, mcp_client, \
         agent, group with an admin token); not {:?}",
        crate::text::one_line(resource_type)
    ))
}

/// The plan for `action`, from the latest sync of `file`.
pub fn plan(file: &Path, action: &Action) -> Result<Plan, ConnectorError> {
    let rec = Recorded::open(file)?;
    match action {
        Action::Delete { id, resource_type } if resource_type == types::PAT => {
            let rid = ids::resource_id(resource_type, id);
            let recorded = rec.resource(&rid)?;
            let space = super::parent_space(Some(&recorded))
                .ok_or_else(|| rec.missing("the workspace of token", id))?;
            Ok(Plan {
                writes: vec![tokens::plan_delete(space, id)],
                ..Plan::default()
            })
        }
        Action::Delete { resource_type, .. } => Err(not_org(resource_type)),
        Action::Revoke { grant } => {
            let g = rec.grant(grant)?;
            let e = g
                .entitlement
                .clone()
                .ok_or_else(|| ConnectorError::invalid_argument("the grant has no entitlement"))?;
            let on = super::entitlement_resource(Some(&e))?.clone();
            let who = super::principal_id(&g)?.clone();
            match on.resource_type.as_str() {
                types::MCP_CLIENT => Ok(Plan {
                    writes: vec![mcp::connection(&g)?.write()],
                    ..Plan::default()
                }),
                types::AGENT => {
                    let (t, held) = rec.agent_target(&e, &who)?;
                    Ok(agents::plan_revoke(&t, held))
                }
                scim_types::GROUP => {
                    let (t, held) = rec.group_target(&e, &who)?;
                    Ok(groups::plan_revoke(&t, held))
                }
                other => Err(not_org(other)),
            }
        }
        Action::Grant {
            entitlement,
            principal,
            principal_type,
        } => {
            let e = rec.entitlement(entitlement)?;
            let who = ids::resource_id(principal_type, principal);
            rec.resource(&who)?;
            let on = super::entitlement_resource(Some(&e))?.clone();
            match on.resource_type.as_str() {
                types::MCP_CLIENT => Err(mcp::refuse_grant()),
                types::AGENT => {
                    let (t, held) = rec.agent_target(&e, &who)?;
                    Ok(agents::plan_grant(&t, held))
                }
                scim_types::GROUP => {
                    let (t, held) = rec.group_target(&e, &who)?;
                    Ok(groups::plan_grant(&t, held))
                }
                other => Err(not_org(other)),
            }
        }
        Action::CreateAccount { .. } => Err(ConnectorError::invalid_argument(
            "for a dry run of a new member, use `provision --dry-run`",
        )),
    }
}

/// What a dry run prints for `plan`.
pub fn report(plan: &Plan) -> Result<String, ConnectorError> {
    if plan.writes.is_empty() {
        let why = if plan.annotations.iter().any(is::<v2::GrantAlreadyExists>) {
            "the grant already exists"
        } else {
            "the grant is already gone"
        };
        return Ok(format!("dry run: nothing to send ({why})\n"));
    }
    let mut out = String::from("dry run: would send\n");
    out.push_str(&super::describe(&plan.writes)?);
    for a in &plan.annotations {
        if let Some(r) =
            crate::baton::annotations::find::<v2::GrantReplaced>(std::slice::from_ref(a))
        {
            out.push_str(&format!(
                "note: replaces {}\n",
                crate::text::one_line(&r.replaced_grant_id)
            ));
        }
    }
    Ok(out)
}
