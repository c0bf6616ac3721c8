//! Serving the connector to a test: over gRPC in this process, as a service-mode daemon
//! against the fake ConductorOne, or as the one-shot binary with an environment.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use baton_notion::baton::Local;
use baton_notion::baton::server::{ServeOptions, serve};
use baton_notion::connector::NotionConnector;
use tonic::transport::Channel;

use super::fake_c1::{CLIENT_ID, FakeC1};
use super::run_binary_async;

/// `connector` over gRPC on a loopback port, served in this process until the test ends
/// (provisioning as asked); the address and a connected channel.
pub async fn serve_in_process(
    connector: Arc<NotionConnector>,
    provisioning: bool,
) -> (SocketAddr, Channel) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let opts = ServeOptions {
        provisioning,
        ..ServeOptions::default()
    };
    tokio::spawn(serve(
        listener,
        Arc::new(Local::new(connector)),
        opts,
        std::future::pending(),
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connects");
    (addr, channel)
}

/// The binary as a service-mode daemon with `--provisioning` and `args`, polling `fake` for
/// tasks (its CA written into `dir`), with `env` on top; output dropped, killed on drop.
pub fn spawn_service(
    fake: &FakeC1,
    dir: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> tokio::process::Child {
    std::fs::write(dir.join("ca.pem"), &fake.ca_pem).expect("ca written");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(args)
        .arg("--provisioning")
        .env_remove("RUST_LOG")
        .env("BATON_CLIENT_ID", CLIENT_ID)
        .env("BATON_CLIENT_SECRET", &fake.secret)
        .env("BATON_C1_API_HOST", &fake.api_host)
        .env("BATON_C1_CA_CERT", dir.join("ca.pem"))
        .env("BATON_HOST_ID", "test-host")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("the daemon starts")
}

/// [`run_binary_async`] with owned environment values.
pub async fn run_with_env(args: &[&str], env: &[(&str, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_binary_async(args, &env).await
}
