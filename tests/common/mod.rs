//! Helpers shared by the integration tests: start the simulator, sync from it in-process, run
//! the real binary, read artifacts; serve the connector ([`grpc`]).
#![allow(dead_code)]

pub mod fake_c1;
pub mod grpc;

// Not every test binary serves the connector.
#[allow(unused_imports)]
pub use grpc::{run_with_env, serve_in_process, spawn_service};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use baton_notion::baton::Local;
use baton_notion::baton::c1z::Reader;
use baton_notion::baton::sync::{SyncError, SyncOptions, SyncReport, sync_to_file};
use baton_notion::connector::NotionConnector;
use baton_notion::notion::admin::{AdminClient, AdminConfig};
use baton_notion::notion::{self, ClientConfig};
use baton_notion::secret::Secret;
use baton_notion::sim::{Dataset, SimConfig, SimHandle, Simulator};

/// Installs the TLS provider reqwest needs (the binary does this in main).
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts the simulator on an ephemeral loopback port.
pub async fn start(dataset: Dataset, config: SimConfig) -> SimHandle {
    init();
    Simulator::start(dataset, config, 0)
        .await
        .expect("simulator starts")
}

/// A connector talking to `sim` with `token`.
pub fn connector(sim: &SimHandle, token: &str) -> Arc<NotionConnector> {
    init();
    let client = notion::Client::new(ClientConfig::new(sim.base_url(), Secret::new(token)))
        .expect("client builds");
    Arc::new(NotionConnector::new(client))
}

/// An Admin API client talking to `sim` with `token`.
pub fn admin_client(sim: &SimHandle, token: &str) -> AdminClient {
    init();
    AdminClient::new(AdminConfig::new(sim.admin_base_url(), Secret::new(token)))
        .expect("admin client builds")
}

/// Both views of `sim`: SCIM with the simulator's token, the organization's over `admin_token`.
pub fn both_views(sim: &SimHandle, admin_token: &str) -> Arc<NotionConnector> {
    init();
    let scim = notion::Client::new(ClientConfig::new(
        sim.base_url(),
        Secret::new(SimConfig::default().token),
    ))
    .expect("client builds");
    Arc::new(NotionConnector::new(scim).with_organization(admin_client(sim, admin_token)))
}

/// Syncs from `sim` into `out` in-process.
pub async fn sync_into(sim: &SimHandle, out: &Path) -> Result<SyncReport, SyncError> {
    let token = SimConfig::default().token;
    let c = connector(sim, &token);
    sync_to_file(&Local::new(c), out, SyncOptions::default()).await
}

/// Syncs both views of `sim` (the organization's over `admin_token`) into `out` in-process.
pub async fn sync_both_into(
    sim: &SimHandle,
    admin_token: &str,
    out: &Path,
) -> Result<SyncReport, SyncError> {
    let c = both_views(sim, admin_token);
    sync_to_file(&Local::new(c), out, SyncOptions::default()).await
}

/// Ids of everything in the latest sync of a `.c1z`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub resource_types: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub entitlements: BTreeSet<String>,
    pub grants: BTreeSet<String>,
}

pub fn ids_of(path: &Path) -> Ids {
    let reader = Reader::open(path).expect("artifact opens");
    let sync = reader
        .latest_sync()
        .expect("syncs readable")
        .expect("has a sync");
    let sid = sync.sync_id.to_string();
    Ids {
        resource_types: reader
            .resource_types(&sid)
            .expect("types")
            .into_iter()
            .map(|t| t.id)
            .collect(),
        resources: reader
            .resources(&sid, None)
            .expect("resources")
            .into_iter()
            .map(|r| {
                let id = r.id.expect("resource id");
                format!("{}:{}", id.resource_type, id.resource)
            })
            .collect(),
        entitlements: reader
            .entitlements(&sid, None)
            .expect("entitlements")
            .into_iter()
            .map(|e| e.id)
            .collect(),
        grants: reader
            .grants(&sid, None)
            .expect("grants")
            .into_iter()
            .map(|g| g.id)
            .collect(),
    }
}

/// The fixture directory of this repository.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs the built binary with `args` (blocking; call from `spawn_blocking` in async tests).
pub fn run_binary(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(args)
        .env_remove("BATON_SCIM_TOKEN")
        .env_remove("BATON_ADMIN_TOKEN")
        .env_remove("RUST_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

/// Files in `dir` (names only).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// [`run_binary`] off the async runtime, so a simulator on the same runtime keeps serving.
pub async fn run_binary_async(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_binary(&args, &envs)
    })
    .await
    .expect("the binary's task")
}

/// Reads the address a `baton-notion serve` child prints on its first stdout line ("serving
/// c1.connector.v2 on ADDR") and connects a gRPC channel to it. Returns the lines reader too,
/// so the caller keeps the pipe open.
pub async fn connect_to_serve(
    child: &mut tokio::process::Child,
) -> (
    tonic::transport::Channel,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("serve announces its address")
        .expect("stdout readable")
        .expect("a line");
    let addr = line.rsplit(' ').next().expect("address").to_owned();
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connects");
    (channel, lines)
}
