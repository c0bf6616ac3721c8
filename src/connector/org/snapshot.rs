//! The organization snapshot: what the Admin API says, loaded once per sync and shared by the
//! syncers of the organization view.
//!
//! The Admin API has no single-item lookups and no way to ask "the users of workspace X who
//! created a token", so every syncer would otherwise list the same collections again. Instead
//! each collection is listed once — one pass over its pages, 100 a page — into memory on first
//! use (lazily: a sync of `bot` only never lists tokens), and the syncers page over slices of it
//! with offset tokens ([`super::slices`]). Per-workspace listings run concurrently; the per-item listings the API
//! forces (members of each group, permissions of each custom agent) run concurrently too. All
//! of them go through the Admin client's limiter, so `--max-concurrency` and the pacing hold.
//!
//! A snapshot lives for one sync: the first page of the `workspace` listing (the first type the
//! engine visits) starts a new generation. Generations also expire after [`TTL`], a safety net
//! for a long-running `serve` or service mode whose caller never lists workspaces.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use tokio::sync::OnceCell;

use super::admin_err as map_error;
use super::model::{
    AdminClient, AdminPage, AdminUserKind, Agent, AgentPermission, GroupMembership, McpClient,
    PatStatus, PermissionGroup, PersonalAccessToken, Space,
};
use crate::baton::ConnectorError;
use crate::connector::lock;
use crate::notion;

/// How long a generation is used before it is listed again.
pub const TTL: Duration = Duration::from_secs(15 * 60);

/// A person of the organization as the Admin API lists them (first listing wins for the name;
/// the first email seen is kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// Display name, if Notion has one.
    pub name: Option<String>,
    /// Email, when the API gave one.
    pub email: Option<String>,
}

/// A listed member of a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The Notion user id.
    pub id: String,
    /// A guest bot (else a person).
    pub bot: bool,
}

/// Everyone the workspaces list.
#[derive(Debug, Default)]
pub struct People {
    /// Persons across all workspaces, by id.
    pub persons: BTreeMap<String, Person>,
    /// Guest bots across all workspaces, by id, with their name.
    pub bots: BTreeMap<String, Option<String>>,
    /// The members of each workspace, in listing order.
    pub members: BTreeMap<String, Vec<Member>>,
    /// Users of another kind than person or bot (a future Notion type), skipped; counted for a
    /// warning.
    pub skipped: usize,
}

/// A permission group with its memberships.
#[derive(Clone, Debug)]
pub struct GroupEntry {
    /// The workspace that lists it.
    pub space_id: String,
    /// The group.
    pub group: PermissionGroup,
    /// Its memberships.
    pub members: Vec<GroupMembership>,
}

/// A custom agent with its permissions.
#[derive(Clone, Debug)]
pub struct AgentEntry {
    /// The agent.
    pub agent: Agent,
    /// Who may use or edit it.
    pub permissions: Vec<AgentPermission>,
}

/// One AI client in one workspace, with everyone who connected it there.
#[derive(Clone, Debug)]
pub struct McpApp {
    /// The workspace.
    pub space_id: String,
    /// The client (name and type from its first connection).
    pub client: McpClient,
    /// The connections, one per member.
    pub connections: Vec<McpGrant>,
}

/// What a member's connection of an AI client says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpGrant {
    /// The member who connected it.
    pub user_id: String,
    /// Earliest connection, epoch ms.
    pub created_at: Option<i64>,
    /// Last activity, epoch ms.
    pub last_active_at: Option<i64>,
    /// Whether the organization manages the access.
    pub is_enterprise_managed: bool,
    /// The identity provider that issued it.
    pub idp_issuer: Option<String>,
}

/// One snapshot generation: each collection, loaded on first use.
#[derive(Default)]
pub struct Generation {
    started: Option<Instant>,
    spaces: OnceCell<Arc<Vec<Space>>>,
    people: OnceCell<Arc<People>>,
    groups: OnceCell<Arc<Vec<GroupEntry>>>,
    tokens: OnceCell<Arc<BTreeMap<String, Vec<PersonalAccessToken>>>>,
    agents: OnceCell<Arc<BTreeMap<String, Vec<AgentEntry>>>>,
    mcp: OnceCell<Arc<BTreeMap<String, Vec<McpApp>>>>,
}

/// The snapshot: the Admin client and the current generation.
pub struct Snapshot {
    admin: AdminClient,
    current: Mutex<Arc<Generation>>,
    /// User ids the SCIM listing of the current sync emitted (the users syncer skips them when
    /// it adds the people only the Admin API knows).
    scim_seen: Mutex<HashSet<String>>,
}

impl Snapshot {
    /// An empty snapshot over `admin`.
    pub fn new(admin: AdminClient) -> Self {
        Snapshot {
            admin,
            current: Mutex::new(Arc::new(Generation::fresh())),
            scim_seen: Mutex::new(HashSet::new()),
        }
    }

    /// The Admin client (counters, pacing).
    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    /// Starts a new generation: the next use of each collection lists it again.
    pub fn restart(&self) {
        *lock(&self.current) = Arc::new(Generation::fresh());
    }

    /// The current generation, replaced first when older than [`TTL`].
    pub fn generation(&self) -> Arc<Generation> {
        let mut current = lock(&self.current);
        if current.started.is_none_or(|t| t.elapsed() > TTL) {
            *current = Arc::new(Generation::fresh());
        }
        current.clone()
    }

    /// Forgets the SCIM ids recorded so far (a SCIM listing starts).
    pub fn clear_scim_seen(&self) {
        lock(&self.scim_seen).clear();
    }

    /// Records user ids the SCIM listing emitted.
    pub fn note_scim_ids<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut seen = lock(&self.scim_seen);
        seen.extend(ids.into_iter().map(str::to_owned));
    }

    /// Whether the SCIM listing emitted `id`.
    pub fn scim_saw(&self, id: &str) -> bool {
        lock(&self.scim_seen).contains(id)
    }

    /// The organization's live workspaces, by id.
    pub async fn spaces(&self) -> Result<Arc<Vec<Space>>, ConnectorError> {
        let g = self.generation();
        g.spaces
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let mut spaces = self
                    .collect(|c| async move { admin.spaces(c.as_deref()).await })
                    .await?;
                spaces.sort_by(|a, b| a.id.cmp(&b.id));
                spaces.dedup_by(|a, b| a.id == b.id);
                Ok(Arc::new(spaces))
            })
            .await
            .cloned()
    }

    /// Runs `load` on every item, at most the client's concurrency at a time, and collects the
    /// results in item order (the first error ends it).
    async fn bounded<I, T, C, F, Fut>(&self, items: Vec<I>, load: F) -> Result<C, ConnectorError>
    where
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
        C: Default + Extend<T>,
    {
        let width = self.admin.max_concurrency().max(1);
        // The futures are built before the stream runs: a lazily mapped iterator held across
        // awaits makes the future's lifetimes too general for `Send` (rust#100013).
        let loads: Vec<_> = items.into_iter().map(load).collect();
        futures::stream::iter(loads)
            .buffered(width)
            .try_collect()
            .await
    }

    /// Runs `load` for every workspace, concurrently (bounded by the client's limit), and
    /// returns the results by workspace id.
    async fn per_space<T, F, Fut>(&self, load: F) -> Result<BTreeMap<String, T>, ConnectorError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let spaces = self.spaces().await?;
        let ids: Vec<String> = spaces.iter().map(|s| s.id.clone()).collect();
        self.bounded(ids, |id| {
            let fut = load(id.clone());
            async move { fut.await.map(|v| (id, v)) }
        })
        .await
    }

    /// Every page of one per-workspace listing, for every workspace, by workspace id:
    /// `fetch(space_id, cursor)` asks for one page.
    async fn collect_per_space<T, F, Fut>(
        &self,
        fetch: F,
    ) -> Result<BTreeMap<String, Vec<T>>, ConnectorError>
    where
        F: Fn(String, Option<String>) -> Fut,
        Fut: Future<Output = Result<AdminPage<T>, notion::Error>>,
    {
        let fetch = &fetch;
        self.per_space(|space| async move { self.collect(|c| fetch(space.clone(), c)).await })
            .await
    }

    /// Every page of one listing (`fetch(cursor)` asks for one page), errors mapped for the
    /// engine.
    async fn collect<T, F, Fut>(&self, fetch: F) -> Result<Vec<T>, ConnectorError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<AdminPage<T>, notion::Error>>,
    {
        self.admin.collect(fetch).await.map_err(map_error)
    }

    /// Members and guest bots of every workspace.
    pub async fn people(&self) -> Result<Arc<People>, ConnectorError> {
        let g = self.generation();
        g.people
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let listed = self
                    .collect_per_space(|space, c| async move {
                        admin.space_users(&space, c.as_deref()).await
                    })
                    .await?;
                let mut people = People::default();
                for (space, users) in listed {
                    let mut members = Vec::with_capacity(users.len());
                    let mut seen = HashSet::new();
                    for u in users {
                        if !seen.insert(u.id.clone()) {
                            continue;
                        }
                        match u.kind {
                            AdminUserKind::Person { email } => {
                                let p = people.persons.entry(u.id.clone()).or_default();
                                if p.name.is_none() {
                                    p.name = u.name;
                                }
                                if p.email.is_none() {
                                    p.email = email;
                                }
                                members.push(Member {
                                    id: u.id,
                                    bot: false,
                                });
                            }
                            AdminUserKind::Bot => {
                                people.bots.entry(u.id.clone()).or_insert(u.name);
                                members.push(Member {
                                    id: u.id,
                                    bot: true,
                                });
                            }
                            AdminUserKind::Other(_) => people.skipped += 1,
                        }
                    }
                    people.members.insert(space, members);
                }
                Ok(Arc::new(people))
            })
            .await
            .cloned()
    }

    /// Permission groups of every workspace with their members (one group listed by two
    /// workspaces is kept once, from the first).
    pub async fn groups(&self) -> Result<Arc<Vec<GroupEntry>>, ConnectorError> {
        let g = self.generation();
        g.groups
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let listed = self
                    .collect_per_space(|space, c| async move {
                        admin.groups(&space, c.as_deref()).await
                    })
                    .await?;
                let mut seen = HashSet::new();
                let mut pending = Vec::new();
                for (space, groups) in listed {
                    for group in groups {
                        if seen.insert(group.id.clone()) {
                            pending.push((space.clone(), group));
                        }
                    }
                }
                let entries: Vec<GroupEntry> = self
                    .bounded(pending, |(space_id, group)| async move {
                        let (sp, gid) = (&space_id, &group.id);
                        let members = self
                            .collect(
                                |c| async move { admin.group_members(sp, gid, c.as_deref()).await },
                            )
                            .await?;
                        Ok(GroupEntry {
                            space_id,
                            group,
                            members,
                        })
                    })
                    .await?;
                Ok(Arc::new(entries))
            })
            .await
            .cloned()
    }

    /// Active and expired personal access tokens of every workspace (revoked ones are
    /// history), by workspace.
    pub async fn tokens(
        &self,
    ) -> Result<Arc<BTreeMap<String, Vec<PersonalAccessToken>>>, ConnectorError> {
        let g = self.generation();
        g.tokens
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let statuses = [PatStatus::Active, PatStatus::Expired];
                let statuses = &statuses;
                let mut listed = self
                    .collect_per_space(|space, c| async move {
                        admin
                            .personal_access_tokens(&space, statuses, c.as_deref())
                            .await
                    })
                    .await?;
                for tokens in listed.values_mut() {
                    // A server that ignores the filter must not put revoked tokens back.
                    tokens.retain(|t| matches!(t.status, PatStatus::Active | PatStatus::Expired));
                    let mut seen = HashSet::new();
                    tokens.retain(|t| seen.insert(t.id.clone()));
                }
                Ok(Arc::new(listed))
            })
            .await
            .cloned()
    }

    /// Custom, live agents of every workspace with their permissions, by workspace.
    pub async fn agents(&self) -> Result<Arc<BTreeMap<String, Vec<AgentEntry>>>, ConnectorError> {
        let g = self.generation();
        g.agents
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let listed = self
                    .collect_per_space(|space, c| async move {
                        admin.agents(&space, c.as_deref()).await
                    })
                    .await?;
                let mut pending = Vec::new();
                for (space, agents) in listed {
                    let mut seen = HashSet::new();
                    for agent in agents {
                        if agent.agent_type == "custom"
                            && agent.alive
                            && seen.insert(agent.id.clone())
                        {
                            pending.push((space.clone(), agent));
                        }
                    }
                }
                let loaded: Vec<(String, AgentEntry)> = self
                    .bounded(pending, |(space, agent)| async move {
                        let (sp, aid) = (&space, &agent.id);
                        let permissions = self
                            .collect(|c| async move {
                                admin.agent_permissions(sp, aid, c.as_deref()).await
                            })
                            .await?;
                        Ok((space, AgentEntry { agent, permissions }))
                    })
                    .await?;
                let mut by_space: BTreeMap<String, Vec<AgentEntry>> = BTreeMap::new();
                for (space, entry) in loaded {
                    by_space.entry(space).or_default().push(entry);
                }
                Ok(Arc::new(by_space))
            })
            .await
            .cloned()
    }

    /// AI clients connected over MCP, one per (workspace, client key), by workspace; one
    /// organization-wide listing. Workspaces the organization does not list are left out (their
    /// client would have no parent).
    pub async fn mcp(&self) -> Result<Arc<BTreeMap<String, Vec<McpApp>>>, ConnectorError> {
        let g = self.generation();
        g.mcp
            .get_or_try_init(|| async {
                let admin = &self.admin;
                let spaces: BTreeSet<String> =
                    self.spaces().await?.iter().map(|s| s.id.clone()).collect();
                let connections = self
                    .collect(|c| async move { admin.mcp_connections(c.as_deref()).await })
                    .await?;
                let mut apps: BTreeMap<(String, String), McpApp> = BTreeMap::new();
                for conn in connections {
                    let grant = McpGrant {
                        user_id: conn.user_id.clone(),
                        created_at: conn.created_at,
                        last_active_at: conn.last_active_at,
                        is_enterprise_managed: conn.is_enterprise_managed,
                        idp_issuer: conn.idp_issuer.clone(),
                    };
                    let mut reached: Vec<&String> = conn.workspace_ids.iter().collect();
                    reached.sort();
                    reached.dedup();
                    for space in reached {
                        if !spaces.contains(space) {
                            continue;
                        }
                        let app = apps
                            .entry((space.clone(), conn.client.key.clone()))
                            .or_insert_with(|| McpApp {
                                space_id: space.clone(),
                                client: conn.client.clone(),
                                connections: Vec::new(),
                            });
                        if app.client.name.is_none() {
                            app.client.name = conn.client.name.clone();
                        }
                        if app.client.client_type.is_none() {
                            app.client.client_type = conn.client.client_type.clone();
                        }
                        merge_connection(&mut app.connections, grant.clone());
                    }
                }
                let mut by_space: BTreeMap<String, Vec<McpApp>> = BTreeMap::new();
                for ((space, _), app) in apps {
                    by_space.entry(space).or_default().push(app);
                }
                Ok(Arc::new(by_space))
            })
            .await
            .cloned()
    }
}

/// Adds a member's connection; one member with two settings groups of the same client is one
/// grant (earliest creation, latest activity, managed if any is).
fn merge_connection(connections: &mut Vec<McpGrant>, grant: McpGrant) {
    match connections.iter_mut().find(|g| g.user_id == grant.user_id) {
        Some(g) => {
            g.created_at = match (g.created_at, grant.created_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            g.last_active_at = g.last_active_at.max(grant.last_active_at);
            g.is_enterprise_managed |= grant.is_enterprise_managed;
            if g.idp_issuer.is_none() {
                g.idp_issuer = grant.idp_issuer;
            }
        }
        None => connections.push(grant),
    }
}

impl Generation {
    fn fresh() -> Self {
        Generation {
            started: Some(Instant::now()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_connecting_twice_is_one_grant() {
        let g = |created, active, managed| McpGrant {
            user_id: "u".into(),
            created_at: created,
            last_active_at: active,
            is_enterprise_managed: managed,
            idp_issuer: None,
        };
        let mut list = vec![g(Some(5), Some(7), false)];
        merge_connection(&mut list, g(Some(3), Some(6), true));
        assert_eq!(list, vec![g(Some(3), Some(7), true)]);
    }
}
