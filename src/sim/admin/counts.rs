//! Exact counts of what an organization serves ([`Organization::counts`]): computed through the
//! same view the handlers use, so tests and benchmarks can demand exactness.

use std::collections::HashSet;

use super::org::{GroupRole, Organization, PatStatus};
use super::view;
use crate::sim::Dataset;
use crate::sim::store::Store;

/// Exact counts of what an organization serves (through the same view the handlers use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgCounts {
    /// Live workspaces.
    pub spaces: usize,
    /// Distinct persons listed by the live workspaces.
    pub people: usize,
    /// Person entries summed over the live workspaces' user lists.
    pub space_persons: usize,
    /// Guest bots of live workspaces.
    pub bots: usize,
    /// Permission groups of live workspaces.
    pub groups: usize,
    /// Group memberships served (owners included).
    pub group_memberships: usize,
    /// Memberships with role `owner`.
    pub group_owners: usize,
    /// Active PATs of live workspaces.
    pub pats_active: usize,
    /// Expired PATs of live workspaces.
    pub pats_expired: usize,
    /// Revoked PATs of live workspaces.
    pub pats_revoked: usize,
    /// MCP connection entries (org-wide).
    pub mcp_connections: usize,
    /// Distinct `(live workspace, client key)` pairs.
    pub mcp_clients: usize,
    /// Distinct `(live workspace, client key, user)` triples.
    pub mcp_grants: usize,
    /// Agents of live workspaces (all types and states).
    pub agents: usize,
    /// Alive `custom` agents of live workspaces.
    pub custom_alive_agents: usize,
    /// Permission entries of alive custom agents.
    pub agent_permissions: usize,
    /// The fewest list requests that read all of the above at the largest page sizes (100;
    /// 250 for agent permissions), an empty listing costing one request: the spaces, then per
    /// live workspace its users, groups, each group's members, its active and expired PATs, its
    /// agents and each alive custom agent's permissions, and the organization's MCP
    /// connections.
    pub list_requests: u64,
}

/// Requests to list `n` items at `per_page` a page: an empty listing still costs one.
fn pages(n: usize, per_page: usize) -> u64 {
    n.div_ceil(per_page).max(1) as u64
}

impl Organization {
    /// Exact counts of what this organization serves over `dataset` (the SCIM workspace), through
    /// the same view the handlers use.
    pub fn counts(&self, dataset: &Dataset) -> OrgCounts {
        let store = Store::with_org(dataset.clone(), Some(self.clone()));
        let mut c = OrgCounts::default();
        let mut people: HashSet<&str> = HashSet::new();
        let mut clients: HashSet<(&str, &str)> = HashSet::new();
        let mut grants: HashSet<(&str, &str, &str)> = HashSet::new();
        let Some(org) = store.org() else {
            return c;
        };
        for space in org.spaces.iter().filter(|s| s.alive) {
            c.spaces += 1;
            c.list_requests += pages(view::users_len(&store, space), 100);
            c.list_requests += pages(view::groups_len(&store, space), 100);
            c.list_requests += pages(
                space
                    .pats
                    .iter()
                    .filter(|p| p.status != PatStatus::Revoked)
                    .count(),
                100,
            );
            c.list_requests += pages(space.agents.len(), 100);
            for i in 0..view::users_len(&store, space) {
                match view::user_at(&store, space, i) {
                    Some(view::UserEntry::Person(p)) => {
                        c.space_persons += 1;
                        people.insert(p.id);
                    }
                    Some(view::UserEntry::Bot { .. }) => c.bots += 1,
                    None => {}
                }
            }
            for i in 0..view::groups_len(&store, space) {
                if let Some((id, _)) = view::group_at(&store, space, i) {
                    c.groups += 1;
                    for (_, role) in view::memberships(&store, space, id).unwrap_or_default() {
                        c.group_memberships += 1;
                        c.group_owners += usize::from(role == GroupRole::Owner);
                    }
                    let members = view::memberships(&store, space, id).map_or(0, |m| m.len());
                    c.list_requests += pages(members, 100);
                }
            }
            for pat in &space.pats {
                match pat.status {
                    PatStatus::Active => c.pats_active += 1,
                    PatStatus::Expired => c.pats_expired += 1,
                    PatStatus::Revoked => c.pats_revoked += 1,
                }
            }
            for agent in &space.agents {
                c.agents += 1;
                if agent.alive && agent.agent_type == "custom" {
                    c.custom_alive_agents += 1;
                    c.agent_permissions += agent.permissions.len();
                    c.list_requests += pages(agent.permissions.len(), 250);
                }
            }
        }
        let live: HashSet<&str> = org
            .spaces
            .iter()
            .filter(|s| s.alive)
            .map(|s| s.id.as_str())
            .collect();
        for m in &org.mcp_connections {
            c.mcp_connections += 1;
            for w in m.workspace_ids.iter().filter(|w| live.contains(w.as_str())) {
                clients.insert((w, &m.client_key));
                grants.insert((w, &m.client_key, &m.user_id));
            }
        }
        c.list_requests += pages(c.spaces, 100) + pages(c.mcp_connections, 100);
        c.people = people.len();
        c.mcp_clients = clients.len();
        c.mcp_grants = grants.len();
        c
    }
}
