//! The organization a simulator's Admin API serves: plain data, and the small reference
//! organization.
//!
//! An [`Organization`] sits next to the SCIM [`Dataset`](crate::sim::Dataset) and is tied to it:
//! the workspace named by [`Organization::scim_space_id`] *is* the SCIM workspace. Its persons are
//! not stored here — they are the SCIM dataset's **active** users, read live on every request (same
//! UUIDs), so a SCIM deactivation or delete shows in the Admin view at once. Its permission groups
//! are the SCIM groups, also read live (same ids; members come from SCIM with role `member`); the
//! [`OrgSpace::groups`] entries of the SCIM workspace only *add* memberships, typically owners
//! (a listed SCIM member with an `owner` entry here is served with role `owner`). Every other
//! workspace is stored whole here.
//!
//! People are identified org-wide by their Notion user UUID: [`Organization::people`] holds the
//! profile (name, email) of every person the organization knows, SCIM users included (a snapshot);
//! when a SCIM user with that id exists, its live record wins.

use crate::sim::Dataset;

/// Ids of the reference organization ([`Organization::reference`]), for fixture tests.
pub mod reference_ids {
    /// The SCIM workspace (serves the SCIM reference dataset's users and groups).
    pub const SCIM_SPACE: &str = "5c1a0000-0000-4000-8000-000000000001";
    /// The second live workspace.
    pub const OTHER_SPACE: &str = "5c1a0000-0000-4000-8000-000000000002";
    /// A deleted workspace: never listed by `GET /v1/spaces`, its id answers 404.
    pub const DELETED_SPACE: &str = "5c1a0000-0000-4000-8000-000000000003";
    /// Frank Other: a person only in the other workspace (an Admin-only identity).
    pub const FRANK: &str = "66666666-6666-4666-8666-666666666666";
    /// Grace: a person of the other workspace without an email (`person: {}`).
    pub const GRACE: &str = "77777777-7777-4777-8777-777777777777";
    /// A person of the other workspace whose `name` is null.
    pub const NAMELESS: &str = "88888888-8888-4888-8888-888888888888";
    /// Carol (a SCIM user): the person listed in both workspaces.
    pub const CAROL: &str = "33333333-3333-3333-3333-333333333333";
    /// Guest bot of the SCIM workspace ("Zapier Bot").
    pub const BOT_SCIM: &str = "b0700000-0000-4000-8000-000000000001";
    /// Guest bot of the other workspace (name null).
    pub const BOT_OTHER: &str = "b0700000-0000-4000-8000-000000000002";
    /// Active PAT "CI deploy" of Alice (SCIM workspace), with expiry and last use.
    pub const PAT_ACTIVE: &str = "7a700000-0000-4000-8000-000000000001";
    /// Expired PAT "Old script" of Carol (SCIM workspace), never used.
    pub const PAT_EXPIRED: &str = "7a700000-0000-4000-8000-000000000002";
    /// Revoked PAT "Leaked token" of Dave (SCIM workspace).
    pub const PAT_REVOKED: &str = "7a700000-0000-4000-8000-000000000003";
    /// Active PAT without name, expiry or last use, of Frank (other workspace).
    pub const PAT_NO_EXPIRY: &str = "7a700000-0000-4000-8000-000000000004";
    /// MCP client key connected by Alice (SCIM workspace) and Carol (both workspaces).
    pub const MCP_CLAUDE: &str = "claude-desktop";
    /// MCP client key with `:` and `/`, connected by Frank in the other workspace.
    pub const MCP_CURSOR: &str = "cursor:team/acme";
    /// Custom agent of the SCIM workspace with user, group and workspace permissions.
    pub const AGENT_ONBOARDING: &str = "a9e70000-0000-4000-8000-000000000001";
    /// Custom agent of the other workspace (user and group permissions).
    pub const AGENT_TRIAGE: &str = "a9e70000-0000-4000-8000-000000000002";
    /// A `database_autofill` agent of the SCIM workspace.
    pub const AGENT_AUTOFILL: &str = "a9e70000-0000-4000-8000-000000000003";
    /// A deleted custom agent of the SCIM workspace (`alive: false`, status `deleted`).
    pub const AGENT_DELETED: &str = "a9e70000-0000-4000-8000-000000000004";
    /// The SCIM group "Engineering" (owner: Alice).
    pub const GROUP_ENGINEERING: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    /// The SCIM group "Designers" (no owner).
    pub const GROUP_DESIGNERS: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
    /// The other workspace's group "Contractors" (a plain-string id; owner: Frank).
    pub const GROUP_CONTRACTORS: &str = "grp_3f9a1c";
    /// The organization bot that revoked [`PAT_REVOKED`].
    pub const ORG_BOT: &str = "0b070000-0000-4000-8000-0000000000ff";
}

/// A whole organization: workspaces, people, MCP connections (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// Id of the workspace that is the SCIM workspace (its persons and groups come from SCIM).
    pub scim_space_id: String,
    /// Every workspace, deleted ones included (`GET /v1/spaces` sorts the live ones by id).
    pub spaces: Vec<OrgSpace>,
    /// Profiles of every person of the organization, by Notion user UUID.
    pub people: Vec<OrgPerson>,
    /// MCP client connections, org-wide, in list order.
    pub mcp_connections: Vec<OrgMcpConnection>,
    /// Users whose sessions `POST /v1/managed_users/revoke_session` revoked, in call order.
    pub revoked_sessions: Vec<String>,
    /// `(user_id, workspace_id)` pairs denied enterprise-managed MCP access.
    pub denied_mcp_access: Vec<(String, String)>,
}

/// A person's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPerson {
    /// Notion user UUID (= the SCIM id for SCIM users).
    pub id: String,
    /// `name` (served as null when `None`).
    pub name: Option<String>,
    /// `person.email` (left out when `None`).
    pub email: Option<String>,
}

/// One workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSpace {
    /// Space UUID.
    pub id: String,
    /// Workspace name (null when `None`).
    pub name: Option<String>,
    /// `false`: deleted — not listed, and its id answers 404.
    pub alive: bool,
    /// Person ids listed by `GET /v1/spaces/{id}/users` (ignored for the SCIM workspace, whose
    /// persons are the SCIM dataset's active users).
    pub members: Vec<String>,
    /// Guest bots, listed after the persons.
    pub bots: Vec<OrgBot>,
    /// Permission groups (for the SCIM workspace: extra memberships of the SCIM groups).
    pub groups: Vec<OrgGroup>,
    /// Personal access tokens members created here.
    pub pats: Vec<OrgPat>,
    /// Agents (custom and database autofill, deleted ones included).
    pub agents: Vec<OrgAgent>,
}

/// A guest bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgBot {
    /// Bot user UUID.
    pub id: String,
    /// `name` (null when `None`).
    pub name: Option<String>,
}

/// A permission group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgGroup {
    /// Group id: a plain string, kept byte for byte.
    pub id: String,
    /// Group name (1–200 characters).
    pub name: String,
    /// Memberships in list order.
    pub members: Vec<OrgMembership>,
}

/// One group membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMembership {
    /// The member's user UUID.
    pub user_id: String,
    /// `owner` or `member`.
    pub role: GroupRole,
}

/// Role in a permission group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupRole {
    /// `member`.
    Member,
    /// `owner`.
    Owner,
}

impl GroupRole {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Owner => "owner",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<GroupRole> {
        match value {
            "member" => Some(GroupRole::Member),
            "owner" => Some(GroupRole::Owner),
            _ => None,
        }
    }
}

/// A personal access token (its value is never served).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPat {
    /// PAT UUID (the `{bot_id}` of the revoke call).
    pub id: String,
    /// The creating member's user UUID.
    pub creator_id: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Status.
    pub status: PatStatus,
    /// Optional name.
    pub name: Option<String>,
    /// Optional expiry, epoch ms.
    pub expires_at: Option<i64>,
    /// Optional last use, epoch ms.
    pub last_used_at: Option<i64>,
    /// Optional revocation time, epoch ms.
    pub revoked_at: Option<i64>,
    /// Who revoked it: `(type, id)` with type `bot`, `organization_bot` or `user`.
    pub revoked_by: Option<(String, String)>,
}

/// Status of a PAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatStatus {
    /// `active`.
    Active,
    /// `expired`.
    Expired,
    /// `revoked`.
    Revoked,
}

impl PatStatus {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            PatStatus::Active => "active",
            PatStatus::Expired => "expired",
            PatStatus::Revoked => "revoked",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<PatStatus> {
        match value {
            "active" => Some(PatStatus::Active),
            "expired" => Some(PatStatus::Expired),
            "revoked" => Some(PatStatus::Revoked),
            _ => None,
        }
    }
}

/// One MCP client connection entry (grouped by member, client and settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMcpConnection {
    /// `client.key`: opaque, may hold `:` or `/`.
    pub client_key: String,
    /// `client.name`.
    pub client_name: Option<String>,
    /// `client.type` (`claude`, `chatgpt`, `cursor`, …, `other`).
    pub client_type: String,
    /// `user.id`: the member who connected.
    pub user_id: String,
    /// `workspaces[].id`.
    pub workspace_ids: Vec<String>,
    /// Epoch ms of the earliest connection.
    pub created_at: i64,
    /// Optional epoch ms.
    pub last_active_at: Option<i64>,
    /// `is_enterprise_managed`.
    pub is_enterprise_managed: bool,
    /// Optional `idp_issuer`.
    pub idp_issuer: Option<String>,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAgent {
    /// Agent UUID.
    pub id: String,
    /// `custom` or `database_autofill`.
    pub agent_type: String,
    /// `false` once deleted.
    pub alive: bool,
    /// `active`, `deleted`, `credit_limit`, `disabled_from_api`, …
    pub status: String,
    /// Optional name.
    pub name: Option<String>,
    /// Permission entries, one per principal.
    pub permissions: Vec<OrgAgentPermission>,
}

/// One permission entry of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAgentPermission {
    /// Who.
    pub principal: Principal,
    /// Granted role (`resolved_role` is computed when served: the higher of this and the
    /// workspace entry's role).
    pub role: AgentRole,
}

/// The principal of an agent permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A user UUID.
    User(String),
    /// A permission group id.
    Group(String),
    /// The agent's workspace.
    Workspace,
}

/// Role on an agent, ordered from least to most access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentRole {
    /// `view_and_interact`.
    ViewAndInteract,
    /// `edit`.
    Edit,
    /// `full_access`.
    FullAccess,
}

impl AgentRole {
    /// Every role, least access first.
    pub const ALL: [AgentRole; 3] = [
        AgentRole::ViewAndInteract,
        AgentRole::Edit,
        AgentRole::FullAccess,
    ];

    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::ViewAndInteract => "view_and_interact",
            AgentRole::Edit => "edit",
            AgentRole::FullAccess => "full_access",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<AgentRole> {
        AgentRole::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

impl Organization {
    /// The small reference organization over [`Dataset::reference`] (ids in [`reference_ids`]).
    ///
    /// - Workspaces: the SCIM workspace "Acme" (the five SCIM users, guest bot "Zapier Bot"),
    ///   "Acme Labs" (Carol — the overlap — plus Frank, Grace without email, a person with a
    ///   null name, and a guest bot with a null name), and a deleted one (never listed).
    /// - Groups: SCIM's Engineering (owner Alice, added here) and Designers; Labs' Contractors
    ///   (`grp_3f9a1c`: Frank owner, Grace and Carol members).
    /// - PATs: active (Alice), expired (Carol), revoked (Dave) in Acme; active without name or
    ///   expiry (Frank) in Labs.
    /// - MCP: `claude-desktop` by Alice (Acme, enterprise-managed, with IdP and last activity) and
    ///   by Carol (Acme + Labs); `cursor:team/acme` by Frank (Labs).
    /// - Agents: Onboarding Helper (Acme; Bob full_access, Engineering edit, workspace
    ///   view_and_interact), Triage (Labs; Frank edit, Contractors view_and_interact), an
    ///   autofill agent and a deleted custom agent (Acme).
    ///
    /// `dataset` provides the SCIM people's profile snapshot; the live SCIM store still wins.
    pub fn reference(dataset: &Dataset) -> Organization {
        use reference_ids as ids;
        let s = |v: &str| v.to_owned();
        let mut people: Vec<OrgPerson> = dataset
            .users
            .iter()
            .map(|u| OrgPerson {
                id: u.id.clone(),
                name: Some(u.display_name().into_owned()),
                email: Some(u.user_name.clone()),
            })
            .collect();
        people.extend([
            OrgPerson {
                id: s(ids::FRANK),
                name: Some(s("Frank Other")),
                email: Some(s("frank.other@example.com")),
            },
            OrgPerson {
                id: s(ids::GRACE),
                name: Some(s("Grace Noemail")),
                email: None,
            },
            OrgPerson {
                id: s(ids::NAMELESS),
                name: None,
                email: Some(s("nameless@example.com")),
            },
        ]);
        const JAN_2026: i64 = 1_767_225_600_000;
        const DAY: i64 = 86_400_000;
        let pat = |id: &str, creator: &str, status, name: Option<&str>| OrgPat {
            id: s(id),
            creator_id: s(creator),
            created_at: JAN_2026,
            status,
            name: name.map(s),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        let scim_space = OrgSpace {
            id: s(ids::SCIM_SPACE),
            name: Some(s("Acme")),
            alive: true,
            members: Vec::new(),
            bots: vec![OrgBot {
                id: s(ids::BOT_SCIM),
                name: Some(s("Zapier Bot")),
            }],
            groups: vec![OrgGroup {
                id: s(ids::GROUP_ENGINEERING),
                name: s("Engineering"),
                members: vec![OrgMembership {
                    user_id: "11111111-1111-1111-1111-111111111111".to_owned(),
                    role: GroupRole::Owner,
                }],
            }],
            pats: vec![
                OrgPat {
                    expires_at: Some(JAN_2026 + 365 * DAY),
                    last_used_at: Some(JAN_2026 + 30 * DAY),
                    ..pat(
                        ids::PAT_ACTIVE,
                        "11111111-1111-1111-1111-111111111111",
                        PatStatus::Active,
                        Some("CI deploy"),
                    )
                },
                OrgPat {
                    expires_at: Some(JAN_2026 + 59 * DAY),
                    ..pat(
                        ids::PAT_EXPIRED,
                        ids::CAROL,
                        PatStatus::Expired,
                        Some("Old script"),
                    )
                },
                OrgPat {
                    expires_at: Some(JAN_2026 + 365 * DAY),
                    last_used_at: Some(JAN_2026 + 10 * DAY),
                    revoked_at: Some(JAN_2026 + 11 * DAY),
                    revoked_by: Some((s("organization_bot"), s(ids::ORG_BOT))),
                    ..pat(
                        ids::PAT_REVOKED,
                        "44444444-4444-4444-4444-444444444444",
                        PatStatus::Revoked,
                        Some("Leaked token"),
                    )
                },
            ],
            agents: vec![
                OrgAgent {
                    id: s(ids::AGENT_ONBOARDING),
                    agent_type: s("custom"),
                    alive: true,
                    status: s("active"),
                    name: Some(s("Onboarding Helper")),
                    permissions: vec![
                        OrgAgentPermission {
                            principal: Principal::User(s("22222222-2222-2222-2222-222222222222")),
                            role: AgentRole::FullAccess,
                        },
                        OrgAgentPermission {
                            principal: Principal::Group(s(ids::GROUP_ENGINEERING)),
                            role: AgentRole::Edit,
                        },
                        OrgAgentPermission {
                            principal: Principal::Workspace,
                            role: AgentRole::ViewAndInteract,
                        },
                    ],
                },
                OrgAgent {
                    id: s(ids::AGENT_AUTOFILL),
                    agent_type: s("database_autofill"),
                    alive: true,
                    status: s("active"),
                    name: Some(s("Autofill: Tasks")),
                    permissions: Vec::new(),
                },
                OrgAgent {
                    id: s(ids::AGENT_DELETED),
                    agent_type: s("custom"),
                    alive: false,
                    status: s("deleted"),
                    name: Some(s("Retired Agent")),
                    permissions: vec![OrgAgentPermission {
                        principal: Principal::User(s(ids::CAROL)),
                        role: AgentRole::Edit,
                    }],
                },
            ],
        };
        let other_space = OrgSpace {
            id: s(ids::OTHER_SPACE),
            name: Some(s("Acme Labs")),
            alive: true,
            members: vec![
                s(ids::CAROL),
                s(ids::FRANK),
                s(ids::GRACE),
                s(ids::NAMELESS),
            ],
            bots: vec![OrgBot {
                id: s(ids::BOT_OTHER),
                name: None,
            }],
            groups: vec![OrgGroup {
                id: s(ids::GROUP_CONTRACTORS),
                name: s("Contractors"),
                members: vec![
                    OrgMembership {
                        user_id: s(ids::FRANK),
                        role: GroupRole::Owner,
                    },
                    OrgMembership {
                        user_id: s(ids::GRACE),
                        role: GroupRole::Member,
                    },
                    OrgMembership {
                        user_id: s(ids::CAROL),
                        role: GroupRole::Member,
                    },
                ],
            }],
            pats: vec![pat(ids::PAT_NO_EXPIRY, ids::FRANK, PatStatus::Active, None)],
            agents: vec![OrgAgent {
                id: s(ids::AGENT_TRIAGE),
                agent_type: s("custom"),
                alive: true,
                status: s("active"),
                name: Some(s("Triage")),
                permissions: vec![
                    OrgAgentPermission {
                        principal: Principal::User(s(ids::FRANK)),
                        role: AgentRole::Edit,
                    },
                    OrgAgentPermission {
                        principal: Principal::Group(s(ids::GROUP_CONTRACTORS)),
                        role: AgentRole::ViewAndInteract,
                    },
                ],
            }],
        };
        let deleted_space = OrgSpace {
            id: s(ids::DELETED_SPACE),
            name: Some(s("Acme Archive")),
            alive: false,
            members: vec![s(ids::FRANK)],
            ..OrgSpace::default()
        };
        let mcp =
            |key: &str, name: &str, kind: &str, user: &str, spaces: &[&str]| OrgMcpConnection {
                client_key: s(key),
                client_name: Some(s(name)),
                client_type: s(kind),
                user_id: s(user),
                workspace_ids: spaces.iter().map(|v| s(v)).collect(),
                created_at: JAN_2026 + 5 * DAY,
                last_active_at: None,
                is_enterprise_managed: false,
                idp_issuer: None,
            };
        let mcp_connections = vec![
            OrgMcpConnection {
                last_active_at: Some(JAN_2026 + 40 * DAY),
                is_enterprise_managed: true,
                idp_issuer: Some(s("https://idp.example.com")),
                ..mcp(
                    ids::MCP_CLAUDE,
                    "Claude",
                    "claude",
                    "11111111-1111-1111-1111-111111111111",
                    &[ids::SCIM_SPACE],
                )
            },
            mcp(
                ids::MCP_CLAUDE,
                "Claude",
                "claude",
                ids::CAROL,
                &[ids::SCIM_SPACE, ids::OTHER_SPACE],
            ),
            OrgMcpConnection {
                last_active_at: Some(JAN_2026 + 41 * DAY),
                ..mcp(
                    ids::MCP_CURSOR,
                    "Cursor",
                    "cursor",
                    ids::FRANK,
                    &[ids::OTHER_SPACE],
                )
            },
        ];
        Organization {
            scim_space_id: s(ids::SCIM_SPACE),
            spaces: vec![scim_space, other_space, deleted_space],
            people,
            mcp_connections,
            revoked_sessions: Vec::new(),
            denied_mcp_access: Vec::new(),
        }
    }

    /// The workspace with this id (live or deleted).
    pub fn space(&self, id: &str) -> Option<&OrgSpace> {
        self.spaces.iter().find(|s| s.id == id)
    }

    /// The profile of this person, if the organization has one.
    pub fn person(&self, id: &str) -> Option<&OrgPerson> {
        self.people.iter().find(|p| p.id == id)
    }
}
