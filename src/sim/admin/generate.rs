//! Seeded, deterministic organizations of any size ([`Organization::generate`]); their exact
//! counts are in `counts.rs`.
//!
//! # Generation
//! Workspace 0 is the SCIM workspace: its persons are the dataset's active users. The other
//! `workspaces - 1` hold the extra people (`people` minus the SCIM actives), each with a home
//! workspace dealt round-robin; then every person joins one more random non-SCIM workspace with
//! probability `overlap_share` (SCIM users included, so they also appear elsewhere). With one
//! workspace there is nowhere to put extra people: the organization is the SCIM workspace.
//! Bots, PATs and agents are dealt round-robin over the workspaces (PATs skip workspaces without
//! persons); PAT creators and agent principals are persons of that workspace. Every choice that
//! is not round-robin comes from one seeded stream per collection, so changing one count does
//! not change the others' ids.
//!
//! Fixed patterns make every case appear: PAT status by index (`n % 5`: 0–2 active, 3 expired,
//! 4 revoked), every 11th without a name, every 7th active one without expiry, every 3rd never
//! used; every 10th MCP entry repeats the previous member and client with the other
//! `is_enterprise_managed` setting (a separate entry, as the API groups by settings); a twelfth
//! of the client keys hold `:`/`/`/`%`/spaces/controls/non-ASCII; every 10th agent is
//! `database_autofill`, every 8th deleted; statuses include `credit_limit` and
//! `disabled_from_api`.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::org::{
    AgentRole, GroupRole, OrgAgent, OrgAgentPermission, OrgBot, OrgGroup, OrgMcpConnection,
    OrgMembership, OrgPat, OrgPerson, OrgSpace, Organization, PatStatus, Principal,
};
use crate::sim::Dataset;
use crate::sim::dataset::{FAMILY_NAMES, GIVEN_NAMES, random_uuid};

/// Parameters of [`Organization::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSpec {
    /// Live workspaces, the SCIM one included (default 3; at least 1).
    pub workspaces: usize,
    /// Distinct people in the organization, the SCIM dataset's active users included (default
    /// 1,000; never fewer than those).
    pub people: usize,
    /// Share of people (0–1) who are also in one more workspace (default 0.2).
    pub overlap_share: f64,
    /// Guest bots (default 20).
    pub bots: usize,
    /// Personal access tokens, all statuses (default 200).
    pub pats: usize,
    /// MCP connection entries (default 100).
    pub mcp_connections: usize,
    /// Agents, custom and autofill, alive and deleted (default 20).
    pub agents: usize,
    /// Permission groups per non-SCIM workspace (default 5; the SCIM workspace has SCIM's).
    pub groups_per_workspace: usize,
    /// Members per generated group (default 20).
    pub members_per_group: usize,
    /// Seed of every random choice (default 7).
    pub seed: u64,
}

impl Default for OrgSpec {
    fn default() -> Self {
        OrgSpec {
            workspaces: 3,
            people: 1_000,
            overlap_share: 0.2,
            bots: 20,
            pats: 200,
            mcp_connections: 100,
            agents: 20,
            groups_per_workspace: 5,
            members_per_group: 20,
            seed: 7,
        }
    }
}

/// One random stream per collection.
mod stream {
    pub const SPACES: u64 = 0x7370_6163_6500_0001;
    pub const PEOPLE: u64 = 0x7065_6f70_6c00_0002;
    pub const BOTS: u64 = 0x626f_7473_0000_0003;
    pub const GROUPS: u64 = 0x6772_6f75_7000_0004;
    pub const PATS: u64 = 0x7061_7473_0000_0005;
    pub const MCP: u64 = 0x6d63_7000_0000_0006;
    pub const AGENTS: u64 = 0x6167_656e_7400_0007;
}

/// MCP clients `(key, name, type)`; some keys hold characters a resource id must escape.
const CLIENTS: &[(&str, &str, &str)] = &[
    ("claude-desktop", "Claude", "claude"),
    ("chatgpt", "ChatGPT", "chatgpt"),
    ("cursor:team/acme", "Cursor", "cursor"),
    ("vscode/ext:1.2", "VS Code", "vscode"),
    ("zapier%20live", "Zapier", "zapier"),
    ("linear", "Linear", "linear"),
    ("clé-ü", "Le Chat", "mistral"),
    ("tab\tkey", "Odd Client", "other"),
    ("perplexity", "Perplexity", "perplexity"),
    ("github copilot", "GitHub", "github"),
    ("slack:T123:U9", "Slack", "slack"),
    ("mcp://host/path?x=1", "Custom MCP", "other"),
];

/// 2025-01-01T00:00:00Z in epoch milliseconds: the zero of generated timestamps.
const BASE_MS: i64 = 1_735_689_600_000;
/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;

impl Organization {
    /// A deterministic organization around `dataset` (see the module docs). The same spec and
    /// dataset always give the same organization.
    pub fn generate(spec: &OrgSpec, dataset: &Dataset) -> Organization {
        let w_count = spec.workspaces.max(1);
        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::SPACES);
        let mut spaces: Vec<OrgSpace> = (0..w_count)
            .map(|w| OrgSpace {
                id: random_uuid(&mut rng),
                name: Some(if w == 0 {
                    "SCIM Workspace".to_owned()
                } else {
                    format!("Workspace {w}")
                }),
                alive: true,
                ..OrgSpace::default()
            })
            .collect();

        // People: SCIM actives (workspace 0), then extras with a home workspace.
        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::PEOPLE);
        let mut people: Vec<OrgPerson> = dataset
            .users
            .iter()
            .map(|u| OrgPerson {
                id: u.id.clone(),
                name: Some(u.display_name().into_owned()),
                email: Some(u.user_name.clone()),
            })
            .collect();
        let mut ids: Vec<String> = dataset
            .users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.clone())
            .collect();
        let scim_count = ids.len();
        let mut homes: Vec<usize> = vec![0; scim_count];
        let extras = if w_count > 1 {
            spec.people.saturating_sub(scim_count)
        } else {
            0
        };
        for n in 0..extras {
            let id = random_uuid(&mut rng);
            let given = GIVEN_NAMES[rng.random_range(0..GIVEN_NAMES.len())];
            let family = FAMILY_NAMES[rng.random_range(0..FAMILY_NAMES.len())];
            people.push(OrgPerson {
                id: id.clone(),
                name: (n % 50 != 49).then(|| format!("{given} {family}")),
                email: (n % 40 != 39).then(|| format!("person{n}@org.example.com")),
            });
            ids.push(id);
            homes.push(1 + n % (w_count - 1));
        }
        // person index → workspaces it is listed in.
        let mut person_spaces: Vec<Vec<usize>> = homes.iter().map(|h| vec![*h]).collect();
        let share = spec.overlap_share.clamp(0.0, 1.0);
        for (p, spaces_of) in person_spaces.iter_mut().enumerate() {
            if w_count < 2 || !rng.random_bool(share) {
                continue;
            }
            let home = homes[p];
            // Another non-SCIM workspace than the home one.
            let candidates = if home == 0 { w_count - 1 } else { w_count - 2 };
            if candidates == 0 {
                continue;
            }
            let mut other = 1 + rng.random_range(0..candidates);
            if home != 0 && other >= home {
                other += 1;
            }
            spaces_of.push(other);
        }
        let mut space_persons: Vec<Vec<usize>> = vec![Vec::new(); w_count];
        for (p, spaces_of) in person_spaces.iter().enumerate() {
            for &w in spaces_of {
                space_persons[w].push(p);
            }
        }
        for (w, persons) in space_persons.iter().enumerate().skip(1) {
            spaces[w].members = persons.iter().map(|&p| ids[p].clone()).collect();
        }

        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::BOTS);
        for n in 0..spec.bots {
            let id = random_uuid(&mut rng);
            spaces[n % w_count].bots.push(OrgBot {
                id,
                name: (n % 7 != 6).then(|| format!("Bot {n}")),
            });
        }

        // Groups: owners for SCIM's groups, whole groups elsewhere.
        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::GROUPS);
        let active: HashSet<&str> = ids[..scim_count].iter().map(String::as_str).collect();
        for g in &dataset.groups {
            if let Some(owner) = g.members.iter().find(|m| active.contains(m.as_str())) {
                spaces[0].groups.push(OrgGroup {
                    id: g.id.clone(),
                    name: g.display_name.clone(),
                    members: vec![OrgMembership {
                        user_id: owner.clone(),
                        role: GroupRole::Owner,
                    }],
                });
            }
        }
        for w in 1..w_count {
            let persons = &space_persons[w];
            for g in 0..spec.groups_per_workspace {
                let tag: u32 = rng.random();
                let take = spec.members_per_group.min(persons.len());
                let mut picked = rand::seq::index::sample(&mut rng, persons.len(), take).into_vec();
                picked.sort_unstable();
                let members = picked
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| OrgMembership {
                        user_id: ids[persons[k]].clone(),
                        role: if i == 0 {
                            GroupRole::Owner
                        } else {
                            GroupRole::Member
                        },
                    })
                    .collect();
                spaces[w].groups.push(OrgGroup {
                    id: format!("grp_{w}_{g}_{tag:08x}"),
                    name: format!("Workspace {w} Group {g}"),
                    members,
                });
            }
        }
        let group_ids: Vec<Vec<String>> = (0..w_count)
            .map(|w| {
                if w == 0 {
                    dataset.groups.iter().map(|g| g.id.clone()).collect()
                } else {
                    spaces[w].groups.iter().map(|g| g.id.clone()).collect()
                }
            })
            .collect();

        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::PATS);
        let with_persons: Vec<usize> = (0..w_count)
            .filter(|&w| !space_persons[w].is_empty())
            .collect();
        if !with_persons.is_empty() {
            for n in 0..spec.pats {
                let w = with_persons[n % with_persons.len()];
                let persons = &space_persons[w];
                let creator = ids[persons[rng.random_range(0..persons.len())]].clone();
                let id = random_uuid(&mut rng);
                let created_at = BASE_MS + rng.random_range(0..300) * DAY_MS;
                let status = match n % 5 {
                    3 => PatStatus::Expired,
                    4 => PatStatus::Revoked,
                    _ => PatStatus::Active,
                };
                let expires_at = match status {
                    PatStatus::Active if n % 7 == 6 => None,
                    PatStatus::Expired => Some(created_at + 30 * DAY_MS),
                    _ => Some(created_at + 365 * DAY_MS),
                };
                let revoked = status == PatStatus::Revoked;
                spaces[w].pats.push(OrgPat {
                    id,
                    creator_id: creator.clone(),
                    created_at,
                    status,
                    name: (n % 11 != 10).then(|| format!("Token {n}")),
                    expires_at,
                    last_used_at: (n % 3 != 2)
                        .then(|| created_at + rng.random_range(1..10) * DAY_MS),
                    revoked_at: revoked.then_some(created_at + 20 * DAY_MS),
                    revoked_by: revoked.then(|| {
                        if n.is_multiple_of(2) {
                            ("user".to_owned(), creator)
                        } else {
                            (
                                "organization_bot".to_owned(),
                                super::reference_ids::ORG_BOT.to_owned(),
                            )
                        }
                    }),
                });
            }
        }

        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::MCP);
        let mut mcp_connections: Vec<OrgMcpConnection> = Vec::with_capacity(spec.mcp_connections);
        if !ids.is_empty() {
            for n in 0..spec.mcp_connections {
                let created_at = BASE_MS + rng.random_range(0..300) * DAY_MS;
                if n % 10 == 9
                    && let Some(previous) = mcp_connections.last()
                {
                    let managed = !previous.is_enterprise_managed;
                    let entry = OrgMcpConnection {
                        created_at,
                        is_enterprise_managed: managed,
                        idp_issuer: managed.then(|| "https://idp.example.com".to_owned()),
                        ..previous.clone()
                    };
                    mcp_connections.push(entry);
                    continue;
                }
                let p = rng.random_range(0..ids.len());
                let (key, name, kind) = CLIENTS[rng.random_range(0..CLIENTS.len())];
                let managed = n.is_multiple_of(3);
                mcp_connections.push(OrgMcpConnection {
                    client_key: key.to_owned(),
                    client_name: Some(name.to_owned()),
                    client_type: kind.to_owned(),
                    user_id: ids[p].clone(),
                    workspace_ids: person_spaces[p]
                        .iter()
                        .map(|&w| spaces[w].id.clone())
                        .collect(),
                    created_at,
                    last_active_at: (n % 4 != 3)
                        .then(|| created_at + rng.random_range(1..30) * DAY_MS),
                    is_enterprise_managed: managed,
                    idp_issuer: managed.then(|| format!("https://idp{}.example.com", n % 3)),
                });
            }
        }

        let mut rng = StdRng::seed_from_u64(spec.seed ^ stream::AGENTS);
        for n in 0..spec.agents {
            let w = n % w_count;
            let id = random_uuid(&mut rng);
            let custom = n % 10 != 9;
            let alive = n % 8 != 7;
            let status = if !alive {
                "deleted"
            } else if n % 13 == 5 {
                "credit_limit"
            } else if n % 13 == 8 {
                "disabled_from_api"
            } else {
                "active"
            };
            let mut permissions = Vec::new();
            if custom {
                let role = |rng: &mut StdRng| AgentRole::ALL[rng.random_range(0..3)];
                let persons = &space_persons[w];
                let users = (1 + rng.random_range(0..3)).min(persons.len());
                for k in rand::seq::index::sample(&mut rng, persons.len(), users).into_vec() {
                    let r = role(&mut rng);
                    permissions.push(OrgAgentPermission {
                        principal: Principal::User(ids[persons[k]].clone()),
                        role: r,
                    });
                }
                if !group_ids[w].is_empty() && rng.random_bool(0.6) {
                    let g = group_ids[w][rng.random_range(0..group_ids[w].len())].clone();
                    let r = role(&mut rng);
                    permissions.push(OrgAgentPermission {
                        principal: Principal::Group(g),
                        role: r,
                    });
                }
                if n.is_multiple_of(3) {
                    let r = role(&mut rng);
                    permissions.push(OrgAgentPermission {
                        principal: Principal::Workspace,
                        role: r,
                    });
                }
            }
            spaces[w].agents.push(OrgAgent {
                id,
                agent_type: if custom {
                    "custom"
                } else {
                    "database_autofill"
                }
                .to_owned(),
                alive,
                status: status.to_owned(),
                name: (n % 9 != 4).then(|| format!("Agent {n}")),
                permissions,
            });
        }

        Organization {
            scim_space_id: spaces[0].id.clone(),
            spaces,
            people,
            mcp_connections,
            revoked_sessions: Vec::new(),
            denied_mcp_access: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sim::GenSpec;
    use crate::sim::admin::view;
    use crate::sim::store::Store;

    fn dataset(users: usize) -> Dataset {
        Dataset::generate(&GenSpec {
            users,
            groups: 5,
            members_per_group: 12,
            seed: 11,
            inactive_share: 0.1,
        })
    }

    #[test]
    fn generation_is_deterministic_and_seeded() {
        let data = dataset(200);
        let spec = OrgSpec::default();
        let a = Organization::generate(&spec, &data);
        assert_eq!(a, Organization::generate(&spec, &data));
        let b = Organization::generate(
            &OrgSpec {
                seed: 8,
                ..spec.clone()
            },
            &data,
        );
        assert_ne!(a.spaces[1].members, b.spaces[1].members);
        // One collection's count does not move another's ids.
        let c = Organization::generate(&OrgSpec { pats: 10, ..spec }, &data);
        assert_eq!(a.spaces[1].members, c.spaces[1].members);
        assert_eq!(a.mcp_connections, c.mcp_connections);
    }

    #[test]
    fn the_scim_workspace_is_the_datasets_active_users_and_people_overlap() {
        let data = dataset(300);
        let org = Organization::generate(&OrgSpec::default(), &data);
        let store = Store::with_org(data.clone(), Some(org.clone()));
        let scim = org.space(&org.scim_space_id).unwrap();
        let listed: Vec<&str> = (0..view::users_len(&store, scim))
            .filter_map(|i| match view::user_at(&store, scim, i) {
                Some(view::UserEntry::Person(p)) => Some(p.id),
                _ => None,
            })
            .collect();
        let active: Vec<&str> = data
            .users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(listed, active);
        assert_eq!(active.len(), 270);
        let scim_ids: HashSet<&str> = active.iter().copied().collect();
        let elsewhere: HashSet<&str> = org.spaces[1..]
            .iter()
            .flat_map(|s| s.members.iter().map(String::as_str))
            .collect();
        let overlap = scim_ids.intersection(&elsewhere).count();
        assert!(
            (20..=90).contains(&overlap),
            "SCIM users also elsewhere: {overlap}"
        );
        let counts = org.counts(&data);
        assert_eq!(counts.people, 1_000);
        assert!(counts.space_persons >= 1_100, "{counts:?}");
        // SCIM group ids are the SCIM workspace's permission groups, each with an owner.
        assert_eq!(counts.groups, 5 + 2 * 5);
        assert_eq!(counts.group_owners, counts.groups);
    }

    #[test]
    fn every_case_appears() {
        let data = dataset(100);
        let org = Organization::generate(&OrgSpec::default(), &data);
        let pats: Vec<&OrgPat> = org.spaces.iter().flat_map(|s| &s.pats).collect();
        assert_eq!(pats.len(), 200);
        for status in [PatStatus::Active, PatStatus::Expired, PatStatus::Revoked] {
            assert!(pats.iter().any(|p| p.status == status));
        }
        assert!(pats.iter().any(|p| p.name.is_none()));
        assert!(
            pats.iter()
                .any(|p| p.status == PatStatus::Active && p.expires_at.is_none())
        );
        assert!(pats.iter().any(|p| p.last_used_at.is_none()));
        let store = Store::with_org(data.clone(), Some(org.clone()));
        for space in &org.spaces {
            for p in &space.pats {
                assert!(
                    view::is_member(&store, space, &p.creator_id),
                    "creator of {}",
                    p.id
                );
            }
        }
        let mcp = &org.mcp_connections;
        assert_eq!(mcp.len(), 100);
        assert!(
            mcp.iter()
                .any(|m| m.client_key.contains(':') && m.client_key.contains('/'))
        );
        assert!(
            mcp.iter()
                .any(|m| m.client_key.chars().any(char::is_control))
        );
        assert!(mcp.iter().any(|m| !m.client_key.is_ascii()));
        assert!(mcp.iter().any(|m| m.workspace_ids.len() > 1));
        assert!(
            mcp.iter().any(|m| m.is_enterprise_managed)
                && mcp.iter().any(|m| !m.is_enterprise_managed)
        );
        let twins = mcp.windows(2).any(|w| {
            w[0].user_id == w[1].user_id
                && w[0].client_key == w[1].client_key
                && w[0].is_enterprise_managed != w[1].is_enterprise_managed
        });
        assert!(twins, "same member and client with other settings");
        let agents: Vec<&OrgAgent> = org.spaces.iter().flat_map(|s| &s.agents).collect();
        assert_eq!(agents.len(), 20);
        assert!(agents.iter().any(|a| a.agent_type == "database_autofill"));
        assert!(agents.iter().any(|a| !a.alive && a.status == "deleted"));
        assert!(agents.iter().any(|a| a.status == "credit_limit"));
        let perms: Vec<&Principal> = agents
            .iter()
            .flat_map(|a| a.permissions.iter().map(|p| &p.principal))
            .collect();
        assert!(perms.iter().any(|p| matches!(p, Principal::User(_))));
        assert!(perms.iter().any(|p| matches!(p, Principal::Group(_))));
        assert!(perms.iter().any(|p| matches!(p, Principal::Workspace)));
        assert_eq!(org.spaces.iter().map(|s| s.bots.len()).sum::<usize>(), 20);
    }

    #[test]
    fn the_bench_organization_has_exact_counts() {
        let data = dataset(5_000);
        let spec = OrgSpec {
            workspaces: 10,
            people: 20_000,
            bots: 500,
            pats: 5_000,
            mcp_connections: 2_000,
            agents: 200,
            ..OrgSpec::default()
        };
        let started = std::time::Instant::now();
        let org = Organization::generate(&spec, &data);
        eprintln!(
            "generated the bench organization in {:?} (debug build)",
            started.elapsed()
        );
        let c = org.counts(&data);
        assert_eq!((c.spaces, c.people, c.bots), (10, 20_000, 500));
        assert_eq!(c.pats_active + c.pats_expired + c.pats_revoked, 5_000);
        assert_eq!(
            (c.pats_active, c.pats_expired, c.pats_revoked),
            (3_000, 1_000, 1_000)
        );
        assert_eq!((c.mcp_connections, c.agents), (2_000, 200));
        // 180 custom (every 10th is autofill), 20 of them deleted (n % 8 == 7, not n % 10 == 9).
        assert_eq!(c.custom_alive_agents, 160);
    }

    #[test]
    fn one_workspace_is_just_the_scim_workspace() {
        let data = dataset(50);
        let org = Organization::generate(
            &OrgSpec {
                workspaces: 1,
                ..OrgSpec::default()
            },
            &data,
        );
        let c = org.counts(&data);
        assert_eq!((c.spaces, c.people), (1, 45));
    }
}
