//! The Baton SDK's sync flags this connector takes (`pkg/field/defaults.go`, v0.25): the ones
//! with a meaning here, and the ones accepted and ignored on purpose so that a
//! ConductorOne-managed deployment passing them does not fail at startup.
//!
//! SDK flags that ask for an operation this connector does not have (tickets, event feeds,
//! credential rotation, diff/compact of syncs, external resources) are *not* accepted: clap
//! refuses them as unknown, which beats silently syncing instead. The README lists all three
//! groups and why. The SDK's action flags (`--list-action-schemas`, `--invoke-action*`) are
//! accepted with their SDK meaning, in [`super::actions`].

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use tracing::debug;

use crate::baton::bid;
use crate::baton::sync::SyncOptions;

/// SDK sync flags with their SDK meaning.
#[derive(Debug, Args, Clone, Default)]
pub struct SdkSyncFlags {
    /// Targeted sync: only these resources, each with its entitlements and grants, appended to
    /// --file as a `partial` sync. `<type>:<id>` or the SDK's `bid:r:<type>/<id>`
    /// (`bid:r:<parent type>/<parent id>/<type>/<id>` under a parent); comma-separated.
    #[arg(
        long,
        env = "BATON_SYNC_RESOURCES",
        value_name = "RESOURCE",
        value_delimiter = ',',
        conflicts_with_all = ["skip_full_sync", "skip_entitlements_and_grants"]
    )]
    pub sync_resources: Vec<String>,

    /// Sync entitlements but no grants (hidden in the SDK too).
    #[arg(long, env = "BATON_SKIP_GRANTS", hide = true)]
    pub skip_grants: bool,

    /// Validate the token, then record an empty full sync instead of syncing.
    #[arg(long, env = "BATON_SKIP_FULL_SYNC")]
    pub skip_full_sync: bool,
}

impl SdkSyncFlags {
    /// Puts these flags into `opts`; a malformed `--sync-resources` value is an error that
    /// says how to write one.
    pub fn apply(&self, opts: &mut SyncOptions) -> anyhow::Result<()> {
        opts.targeted = self
            .sync_resources
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| bid::parse_resource(s).context("--sync-resources"))
            .collect::<anyhow::Result<_>>()?;
        opts.skip_grants = self.skip_grants;
        opts.skip_full_sync = self.skip_full_sync;
        Ok(())
    }
}

/// SDK flags accepted and ignored on purpose (see the module docs and the README).
#[derive(Debug, Args, Clone, Default)]
pub struct IgnoredSdkFlags {
    /// Ignored: this connector logs at --log-level until told otherwise.
    #[arg(
        long,
        env = "BATON_LOG_LEVEL_DEBUG_EXPIRES_AT",
        hide = true,
        value_name = "TIME"
    )]
    log_level_debug_expires_at: Option<String>,
    /// Ignored: this connector keeps no session store.
    #[arg(
        long,
        env = "BATON_SESSION_STORE_MAXIMUM_SIZE",
        hide = true,
        value_name = "BYTES"
    )]
    session_store_maximum_size: Option<String>,
    /// Ignored: this connector exports no OpenTelemetry.
    #[arg(
        long,
        env = "BATON_OTEL_COLLECTOR_ENDPOINT",
        hide = true,
        value_name = "URL"
    )]
    otel_collector_endpoint: Option<String>,
    /// Ignored (OpenTelemetry).
    #[arg(
        long,
        env = "BATON_OTEL_COLLECTOR_ENDPOINT_TLS_CERT_PATH",
        hide = true,
        value_name = "PATH"
    )]
    otel_collector_endpoint_tls_cert_path: Option<PathBuf>,
    /// Ignored (OpenTelemetry).
    #[arg(
        long,
        env = "BATON_OTEL_COLLECTOR_ENDPOINT_TLS_CERT",
        hide = true,
        value_name = "PEM"
    )]
    otel_collector_endpoint_tls_cert: Option<String>,
    /// Ignored (OpenTelemetry).
    #[arg(long, env = "BATON_OTEL_COLLECTOR_ENDPOINT_TLS_INSECURE", hide = true)]
    otel_collector_endpoint_tls_insecure: bool,
    /// Ignored (OpenTelemetry).
    #[arg(long, env = "BATON_OTEL_TRACING_DISABLED", hide = true)]
    otel_tracing_disabled: bool,
    /// Ignored (OpenTelemetry).
    #[arg(long, env = "BATON_OTEL_LOGGING_DISABLED", hide = true)]
    otel_logging_disabled: bool,
    /// Ignored: temporary files go beside --file, so the final rename stays atomic.
    #[arg(long, env = "BATON_C1Z_TEMP_DIR", hide = true, value_name = "DIR")]
    c1z_temp_dir: Option<PathBuf>,
    /// Ignored: Notion's SCIM API has one authentication method, the bearer token.
    #[arg(long, env = "BATON_AUTH_METHOD", hide = true, value_name = "METHOD")]
    auth_method: Option<String>,
    /// Ignored: this connector has no ticketing to enable.
    #[arg(long, env = "BATON_TICKETING", hide = true)]
    ticketing: bool,
}

impl IgnoredSdkFlags {
    /// The names of the ignored flags that were given.
    pub fn given(&self) -> Vec<&'static str> {
        let flags = [
            (
                "log-level-debug-expires-at",
                self.log_level_debug_expires_at.is_some(),
            ),
            (
                "session-store-maximum-size",
                self.session_store_maximum_size.is_some(),
            ),
            (
                "otel-collector-endpoint",
                self.otel_collector_endpoint.is_some(),
            ),
            (
                "otel-collector-endpoint-tls-cert-path",
                self.otel_collector_endpoint_tls_cert_path.is_some(),
            ),
            (
                "otel-collector-endpoint-tls-cert",
                self.otel_collector_endpoint_tls_cert.is_some(),
            ),
            (
                "otel-collector-endpoint-tls-insecure",
                self.otel_collector_endpoint_tls_insecure,
            ),
            ("otel-tracing-disabled", self.otel_tracing_disabled),
            ("otel-logging-disabled", self.otel_logging_disabled),
            ("c1z-temp-dir", self.c1z_temp_dir.is_some()),
            ("auth-method", self.auth_method.is_some()),
            ("ticketing", self.ticketing),
        ];
        flags
            .into_iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| name)
            .collect()
    }

    /// Says at debug which ignored flags were given (values are never logged: the TLS
    /// certificate or endpoint may be sensitive).
    pub fn log_given(&self) {
        let given = self.given();
        if !given.is_empty() {
            debug!(flags = ?given, "ignoring Baton SDK flags this connector does not use");
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::Cli;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("baton-notion").chain(args.iter().copied()))
    }

    #[test]
    fn sync_resources_take_both_formats_and_skip_grants_is_hidden_but_accepted() {
        let cli = parse(&[
            "--sync-resources",
            "user:u1,bid:r:group/g1",
            "--sync-resources",
            "role:owner",
            "--skip-grants",
        ])
        .expect("parses");
        let mut opts = SyncOptions::default();
        cli.sync.sdk.apply(&mut opts).expect("valid");
        let keys: Vec<String> = opts
            .targeted
            .iter()
            .map(|r| crate::baton::ids::resource_key(r.id.as_ref().expect("id")))
            .collect();
        assert_eq!(keys, ["user:u1", "group:g1", "role:owner"]);
        assert!(opts.skip_grants && !opts.skip_full_sync);

        let cli = parse(&["--sync-resources", "nonsense"]).expect("parses");
        let err = cli.sync.sdk.apply(&mut opts).expect_err("bad value");
        assert!(format!("{err:#}").contains("bid:r:<type>/<id>"), "{err:#}");

        assert!(parse(&["--sync-resources", "user:u1", "--skip-full-sync"]).is_err());
    }

    #[test]
    fn ops_flags_of_the_sdk_are_accepted_and_operations_it_lacks_are_refused() {
        let cli = parse(&[
            "--otel-collector-endpoint",
            "https://otel.example",
            "--otel-tracing-disabled",
            "--session-store-maximum-size",
            "1024",
            "--log-level-debug-expires-at",
            "2030-01-01T00:00:00Z",
            "--c1z-temp-dir",
            "/tmp",
        ])
        .expect("accepted");
        assert_eq!(
            cli.sync.ignored_sdk.given(),
            [
                "log-level-debug-expires-at",
                "session-store-maximum-size",
                "otel-collector-endpoint",
                "otel-tracing-disabled",
                "c1z-temp-dir"
            ]
        );
        // The action flags are the SDK's, with its meaning.
        let cli = parse(&[
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            "{}",
            "--invoke-action-resource-type",
            "user",
        ])
        .expect("accepted");
        assert_eq!(cli.actions.invoke_action.as_deref(), Some("disable_user"));
        assert!(cli.actions.requested());
        let cli = parse(&["--list-action-schemas"]).expect("accepted");
        assert!(cli.actions.list_action_schemas);
        assert!(parse(&["--list-action-schemas", "--invoke-action", "x"]).is_err());
        for refused in [
            "--create-ticket",
            "--event-feed",
            "--compact-syncs",
            "--diff-syncs",
        ] {
            assert!(parse(&[refused]).is_err(), "{refused} is refused");
        }
    }
}
