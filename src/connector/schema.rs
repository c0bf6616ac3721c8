//! What the Notion connector advertises: its capabilities (for `GetMetadata` and the
//! `capabilities` command) and its configuration schema (the `config` command).
//!
//! Both are plain protobuf values; [`crate::baton::schema`] renders them as protojson. They
//! follow the Go connector's outputs (`go-baton-notion.{capabilities,config_schema}.json`) except
//! where this connector really does more — today: `PROVISION` on `group`, because it adds and
//! removes group members, and `TARGETED_SYNC` (per type) with `SERVICE_MODE_TARGETED_SYNC`,
//! because every type can be fetched by id (see "Differences from the Go connector" in the
//! README). Nothing here needs credentials or the network.

use crate::pb::c1::config::v1 as config;
use crate::pb::v2;

/// The capabilities of the SCIM-only connector: every type syncs, also by id (targeted sync,
/// in service mode too); roles and group memberships can be granted and revoked; users can be
/// created (no password: Notion accounts sign in by email or SSO) and deprovisioned. Group
/// PROVISION is more than the Go connector offers.
pub fn capabilities() -> v2::ConnectorCapabilities {
    capabilities_for(View::SCIM)
}

/// Which views a configuration enables: SCIM (a SCIM token), the organization (an admin
/// token), or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// A SCIM token is configured.
    pub scim: bool,
    /// An organization bot token is configured.
    pub admin: bool,
}

impl View {
    /// The SCIM view alone (the connector as the Go one is).
    pub const SCIM: View = View {
        scim: true,
        admin: false,
    };
}

/// The capabilities of the connector in `view`. SCIM-only, exactly [`capabilities`] as it has
/// always been; with the organization view, its types too, with what the Admin API writes
/// provision (`connector::org::provision`): deleting (revoking) a personal access token,
/// revoking an AI client's `connected` grant, granting and revoking agent roles and group
/// `member`/`owner`. Workspaces and bots are read only.
pub fn capabilities_for(view: View) -> v2::ConnectorCapabilities {
    use v2::Capability as C;
    let with = |resource_type: v2::ResourceType, caps: &[C]| v2::ResourceTypeCapability {
        resource_type: Some(resource_type),
        capabilities: caps.iter().map(|c| *c as i32).collect(),
        // The Go SDK always sets (empty) permissions; keep the same shape.
        permissions: Some(v2::CapabilityPermissions::default()),
        ..Default::default()
    };
    let no_password = v2::CapabilityDetailCredentialOption::NoPassword as i32;
    let read = [C::Sync, C::TargetedSync];
    let mut types = Vec::new();
    let mut connector = vec![C::Sync, C::TargetedSync, C::ServiceModeTargetedSync];
    if view.scim {
        types.push(with(
            super::user_type(),
            &[
                C::Sync,
                C::TargetedSync,
                C::AccountProvisioning,
                C::ResourceDelete,
            ],
        ));
        types.push(with(
            super::group_type(),
            &[C::Sync, C::TargetedSync, C::Provision],
        ));
        types.push(with(
            super::role_type(),
            &[C::Sync, C::TargetedSync, C::Provision],
        ));
        // As the Go SDK's builder: the per-type capabilities, plus SERVICE_MODE_TARGETED_SYNC
        // because some type can be synced by id.
        connector.extend([C::Provision, C::AccountProvisioning, C::ResourceDelete]);
    } else if view.admin {
        types.push(with(super::user_type(), &read));
        types.push(with(
            super::group_type(),
            &[C::Sync, C::TargetedSync, C::Provision],
        ));
    }
    if view.admin {
        use super::org;
        let provision = [C::Sync, C::TargetedSync, C::Provision];
        types.push(with(org::workspace_type(), &read));
        types.push(with(org::bot_type(), &read));
        types.push(with(
            org::pat_type(),
            &[C::Sync, C::TargetedSync, C::ResourceDelete],
        ));
        types.push(with(org::mcp_client_type(), &provision));
        types.push(with(org::agent_type(), &provision));
        connector.extend([C::Provision, C::ResourceDelete]);
    }
    crate::baton::schema::normalize_capabilities(v2::ConnectorCapabilities {
        resource_type_capabilities: types,
        connector_capabilities: connector.iter().map(|c| *c as i32).collect(),
        credential_details: view.scim.then_some(v2::CredentialDetails {
            capability_account_provisioning: Some(v2::CredentialDetailsAccountProvisioning {
                supported_credential_options: vec![no_password],
                preferred_credential_option: no_password,
            }),
            capability_credential_rotation: None,
        }),
    })
}

fn string(default: &str) -> config::field::Field {
    config::field::Field::StringField(config::StringField {
        default_value: default.to_owned(),
        ..Default::default()
    })
}

fn int(default: i64, rules: Option<config::Int64Rules>) -> config::field::Field {
    config::field::Field::IntField(config::IntField {
        default_value: default,
        rules,
        ..Default::default()
    })
}

fn boolean() -> config::field::Field {
    config::field::Field::BoolField(config::BoolField::default())
}

/// An operational field (the runtime's own settings, not the application's).
fn ops(name: &str, description: &str, field: config::field::Field) -> config::Field {
    config::Field {
        name: name.to_owned(),
        description: description.to_owned(),
        is_ops: true,
        field: Some(field),
        ..Default::default()
    }
}

/// The configuration schema: the runtime's operational fields, then the SCIM token (exactly
/// the Go connector's).
pub fn config_schema() -> config::Configuration {
    config_schema_for(View::SCIM)
}

/// The configuration schema when `view.admin`: the SCIM token becomes optional (either token
/// alone works) and the organization bot token (a secret) and the Admin API base URL follow.
pub fn config_schema_for(view: View) -> config::Configuration {
    const OTEL_CA: &str = "A PEM-encoded certificate to use as a CA for TLS connections to the \
                           OpenTelemetry collector";
    let fields = vec![
        ops(
            "log-level",
            "The log level: debug, info, warn, error",
            string("info"),
        ),
        ops(
            "log-level-debug-expires-at",
            "The timestamp indicating when debug-level logging should expire",
            string(""),
        ),
        ops(
            "session-store-maximum-size",
            "The maximum size of the local in-memory session store cache in bytes.",
            int(15 * 1024 * 1024, None),
        ),
        ops(
            "otel-collector-endpoint",
            "The endpoint of the OpenTelemetry collector to send observability data to (used \
             for both tracing and logging if specific endpoints are not provided)",
            string(""),
        ),
        ops(
            "otel-collector-endpoint-tls-cert-path",
            "Path to a file containing a PEM-encoded certificate to use as a CA for TLS \
             connections to the OpenTelemetry collector",
            string(""),
        ),
        ops("otel-collector-endpoint-tls-cert", OTEL_CA, string("")),
        ops(
            "otel-collector-endpoint-tls-insecure",
            "Allow insecure connections to the OpenTelemetry collector",
            boolean(),
        ),
        ops(
            "otel-tracing-disabled",
            "Disable OpenTelemetry tracing",
            boolean(),
        ),
        ops(
            "otel-logging-disabled",
            "Disable OpenTelemetry logging",
            boolean(),
        ),
        ops(
            "health-check",
            "Enable the HTTP health check endpoint",
            boolean(),
        ),
        ops(
            "health-check-port",
            "Port for the HTTP health check endpoint",
            int(8081, None),
        ),
        ops(
            "health-check-bind-address",
            "Bind address for health check server (127.0.0.1 for localhost-only)",
            string("127.0.0.1"),
        ),
        ops(
            "http-timeout-seconds",
            "HTTP client timeout in seconds (max 1800)",
            int(
                300,
                Some(config::Int64Rules {
                    lte: Some(1800),
                    gte: Some(1),
                    ..Default::default()
                }),
            ),
        ),
        config::Field {
            name: "scim-token".to_owned(),
            display_name: "Notion SCIM API token".to_owned(),
            description: "The Notion SCIM token used to connect to the Notion SCIM API.".to_owned(),
            is_required: !view.admin,
            is_secret: true,
            field: Some(config::field::Field::StringField(config::StringField {
                rules: Some(config::StringRules {
                    is_required: !view.admin,
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        },
    ];
    let mut fields = fields;
    if view.admin {
        fields.push(config::Field {
            name: "admin-token".to_owned(),
            display_name: "Notion organization bot token".to_owned(),
            description: "The organization bot token (Admin API) an organization owner creates \
                          in the organization console; adds workspaces, bots, personal access \
                          tokens, AI clients and agents."
                .to_owned(),
            is_secret: true,
            field: Some(config::field::Field::StringField(
                config::StringField::default(),
            )),
            ..Default::default()
        });
        fields.push(config::Field {
            name: "admin-base-url".to_owned(),
            display_name: "Notion Admin API base URL".to_owned(),
            description: "The Notion Admin API base URL.".to_owned(),
            field: Some(string(super::org::model::DEFAULT_ADMIN_BASE_URL)),
            ..Default::default()
        });
    }
    config::Configuration {
        fields,
        display_name: "Notion".to_owned(),
        help_url: "/docs/baton/notion".to_owned(),
        icon_url: "/static/app-icons/notion.svg".to_owned(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organization_view_advertises_its_writes_per_type() {
        use v2::Capability as C;
        let ints = |cs: &[C]| cs.iter().map(|c| *c as i32).collect::<Vec<_>>();
        for scim in [false, true] {
            let caps = capabilities_for(View { scim, admin: true });
            let of = |id: &str| -> Vec<i32> {
                caps.resource_type_capabilities
                    .iter()
                    .find(|r| r.resource_type.as_ref().is_some_and(|t| t.id == id))
                    .map(|r| r.capabilities.clone())
                    .unwrap_or_default()
            };
            let read = ints(&[C::Sync, C::TargetedSync]);
            let provision = ints(&[C::Sync, C::TargetedSync, C::Provision]);
            assert_eq!(of("workspace"), read);
            assert_eq!(of("bot"), read);
            assert_eq!(
                of("personal_access_token"),
                ints(&[C::Sync, C::TargetedSync, C::ResourceDelete])
            );
            assert_eq!(of("mcp_client"), provision);
            assert_eq!(of("agent"), provision);
            assert_eq!(of("group"), provision);
            assert!(caps.connector_capabilities.contains(&(C::Provision as i32)));
            assert!(
                caps.connector_capabilities
                    .contains(&(C::ResourceDelete as i32))
            );
        }
    }

    #[test]
    fn capabilities_match_what_is_implemented() {
        use v2::Capability as C;
        let caps = capabilities();
        let of = |id: &str| -> Vec<i32> {
            caps.resource_type_capabilities
                .iter()
                .find(|r| r.resource_type.as_ref().is_some_and(|t| t.id == id))
                .map(|r| r.capabilities.clone())
                .unwrap_or_default()
        };
        let ints = |cs: &[C]| cs.iter().map(|c| *c as i32).collect::<Vec<_>>();
        assert_eq!(
            of("user"),
            ints(&[
                C::Sync,
                C::TargetedSync,
                C::AccountProvisioning,
                C::ResourceDelete
            ])
        );
        assert_eq!(of("group"), ints(&[C::Sync, C::TargetedSync, C::Provision]));
        assert_eq!(of("role"), ints(&[C::Sync, C::TargetedSync, C::Provision]));
        // Connector-level capabilities sorted by enum number.
        assert_eq!(
            caps.connector_capabilities,
            ints(&[
                C::Provision,
                C::Sync,
                C::AccountProvisioning,
                C::ResourceDelete,
                C::TargetedSync,
                C::ServiceModeTargetedSync,
            ])
        );
        let details = caps.credential_details.expect("credential details");
        let acct = details
            .capability_account_provisioning
            .expect("account provisioning");
        assert_eq!(
            acct.preferred_credential_option,
            v2::CapabilityDetailCredentialOption::NoPassword as i32
        );
    }
}
