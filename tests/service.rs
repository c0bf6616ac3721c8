//! Service mode against a fake ConductorOne (tests/common/fake_c1.rs) and the Notion simulator,
//! running the real binary as a daemon on loopback.
//!
//! The issue's acceptance points:
//! 1. the fake token endpoint verifies the client assertion (signature with the public half of
//!    the key in the secret, claims, grant parameters); malformed secrets and a wrong key are
//!    one-line startup errors with a non-zero exit;
//! 2. the daemon says Hello (host id, metadata), runs a full sync, uploads an artifact whose
//!    sha256 matches the eof checksum and whose ids equal a one-shot sync, and finishes the task;
//! 3. grant, revoke, create-account and delete tasks change the simulator and finish with the
//!    connector's responses; without `--provisioning` they fail non-retryably and change nothing;
//! 4. token 503s, GetTask UNAVAILABLEs and a dropped upload stream delay the task but do not
//!    kill the daemon.
//!
//! Besides: a heartbeat answered `cancelled` stops the task (reported retryable, nothing
//! uploaded) and the daemon goes on; SIGTERM cancels running tasks, reports them retryable and
//! exits 0.

mod common;

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use baton_notion::baton::resource::{ProfileValue, grant, profile};
use baton_notion::baton::{annotations, ids};
use baton_notion::pb::c1::connectorapi::baton::v1 as api;
use baton_notion::pb::v2;
use baton_notion::sim::{Dataset, SimConfig, SimHandle};
use common::fake_c1::{CLIENT_ID, FakeC1, free_port, new_secret};
use common::*;
use prost::{Message, Name};
use tempfile::TempDir;

use api::baton_service_finish_task_request::FinalState;
use api::task::TaskType;

const DAVE: &str = "44444444-4444-4444-4444-444444444444";
const EVE: &str = "55555555-5555-5555-5555-555555555555";
const ENGINEERING: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
/// How long a task may take end to end in these tests (debug build, shared machine).
const TASK_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary running in service mode.
struct Daemon {
    child: tokio::process::Child,
    dir: TempDir,
}

impl Daemon {
    /// Starts the daemon against `fake` and `sim` with the `secret`, plus `args`.
    async fn start(fake: &FakeC1, sim: &SimHandle, secret: &str, args: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), &fake.ca_pem).expect("ca written");
        std::fs::create_dir(dir.path().join("tmp")).expect("tmp dir");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
            .args(["--base-url", &sim.base_url(), "--log-format", "console"])
            .args(args)
            .env_remove("RUST_LOG")
            .env("BATON_SCIM_TOKEN", SimConfig::default().token)
            .env("BATON_CLIENT_ID", CLIENT_ID)
            .env("BATON_CLIENT_SECRET", secret)
            .env("BATON_C1_API_HOST", &fake.api_host)
            .env("BATON_C1_CA_CERT", dir.path().join("ca.pem"))
            .env("BATON_HOST_ID", "test-host")
            // Where the daemon's temporary artifacts go, so the test can see them deleted.
            .env("TMPDIR", dir.path().join("tmp"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("the daemon starts");
        Daemon { child, dir }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    fn tmp_files(&self) -> Vec<String> {
        files_in(&self.dir.path().join("tmp"))
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the daemon's first Hello; fails at once if the daemon exits instead.
    async fn hello(&mut self, fake: &FakeC1) -> api::BatonServiceHelloRequest {
        let deadline = tokio::time::Instant::now() + TASK_TIMEOUT;
        loop {
            if let Some(hello) = fake.shared.with(|s| s.hellos.first().cloned()) {
                return hello;
            }
            assert!(self.is_running(), "the daemon exited:\n{}", self.stderr());
            assert!(
                tokio::time::Instant::now() < deadline,
                "no Hello:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the daemon has sent a heartbeat for `task_id`.
    async fn heartbeating(&self, fake: &FakeC1, task_id: &str) {
        let beating = fake
            .wait_for(TASK_TIMEOUT, |s| {
                s.heartbeats.iter().any(|h| h == task_id).then_some(())
            })
            .await;
        assert!(
            beating.is_some(),
            "no heartbeat for {task_id}:\n{}",
            self.stderr()
        );
    }

    /// SIGTERM, then the exit status and everything logged.
    async fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().expect("still running") as libc::pid_t;
        // SAFETY: signalling a child process we own by its pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the daemon exits promptly after SIGTERM")
            .expect("wait");
        (status, self.stderr())
    }
}

/// Stops the daemon (it must exit 0), then the fake and the simulator.
async fn stop_all(daemon: Daemon, fake: FakeC1, sim: SimHandle) {
    let (status, stderr) = daemon.stop().await;
    assert!(status.success(), "{status:?}\n{stderr}");
    fake.stop().await;
    sim.shutdown().await;
}

fn task(id: &str, t: TaskType) -> api::Task {
    api::Task {
        id: id.to_owned(),
        task_type: Some(t),
        ..Default::default()
    }
}

fn user(id: &str) -> v2::Resource {
    v2::Resource {
        id: Some(ids::resource_id("user", id)),
        ..Default::default()
    }
}

fn engineering_member() -> v2::Entitlement {
    let rid = ids::resource_id("group", ENGINEERING);
    v2::Entitlement {
        id: ids::entitlement_id(&rid, "member"),
        resource: Some(v2::Resource {
            id: Some(rid),
            ..Default::default()
        }),
        slug: "member".to_owned(),
        ..Default::default()
    }
}

/// The four provisioning tasks, in an order that makes sense one after another.
fn provisioning_tasks() -> Vec<api::Task> {
    vec![
        task(
            "grant-1",
            TaskType::Grant(api::task::GrantTask {
                entitlement: Some(engineering_member()),
                principal: Some(user(EVE)),
                ..Default::default()
            }),
        ),
        task(
            "revoke-1",
            TaskType::Revoke(api::task::RevokeTask {
                grant: Some(grant(
                    &ids::resource_id("group", ENGINEERING),
                    "member",
                    &ids::resource_id("user", EVE),
                )),
                annotations: vec![],
            }),
        ),
        task(
            "create-1",
            TaskType::CreateAccount(api::task::CreateAccountTask {
                account_info: Some(v2::AccountInfo {
                    profile: Some(profile([(
                        "email",
                        ProfileValue::from("ada.lovelace@example.com"),
                    )])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ),
        task(
            "delete-1",
            TaskType::DeleteResource(api::task::DeleteResourceTask {
                resource_id: Some(ids::resource_id("user", DAVE)),
                parent_resource_id: None,
            }),
        ),
    ]
}

/// The success response of a finished task, decoded as `M`.
fn response<M: Message + Name + Default>(finish: &api::BatonServiceFinishTaskRequest) -> M {
    let Some(FinalState::Success(success)) = &finish.final_state else {
        panic!(
            "task {} did not succeed: {:?}",
            finish.task_id, finish.status
        );
    };
    let any = success.response.as_ref().expect("a response");
    assert_eq!(any.type_url, M::type_url());
    M::decode(any.value.as_slice()).expect("the response decodes")
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// Runs the binary once to completion with the fake's settings and `secret`.
async fn run_once(fake: &FakeC1, secret: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &fake.ca_pem).expect("ca written");
    let ca: PathBuf = ca;
    let ca = ca.to_string_lossy().into_owned();
    tokio::time::timeout(
        Duration::from_secs(30),
        run_binary_async(
            &["--log-format", "console"],
            &[
                ("BATON_SCIM_TOKEN", "sim-token"),
                ("BATON_CLIENT_ID", CLIENT_ID),
                ("BATON_CLIENT_SECRET", secret),
                ("BATON_C1_API_HOST", &fake.api_host),
                ("BATON_C1_CA_CERT", &ca),
            ],
        ),
    )
    .await
    .expect("the binary gives up at once")
}

#[tokio::test]
async fn the_token_endpoint_verifies_the_signed_assertion() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    let mut daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    daemon.hello(&fake).await;
    fake.shared.with(|s| {
        assert!(
            s.token_rejections.is_empty(),
            "the fake refused: {:?}",
            s.token_rejections
        );
        assert!(!s.tokens_issued.is_empty());
        assert_eq!(
            s.unauthenticated, 0,
            "every RPC carried a valid bearer token"
        );
    });
    assert!(daemon.is_running());
    let (status, stderr) = daemon.stop().await;
    assert!(
        status.success(),
        "exit 0 after SIGTERM: {status:?}\n{stderr}"
    );
    let secret_key = fake.secret.rsplit(':').next().expect("key part");
    assert!(!stderr.contains(secret_key), "the secret is never logged");
    for token in fake.shared.with(|s| s.tokens_issued.clone()) {
        assert!(!stderr.contains(&token), "tokens are never logged");
    }
    fake.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_secrets_and_a_wrong_key_fail_at_startup() {
    let fake = FakeC1::start().await;
    let jwk_without_d = {
        use base64::Engine as _;
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        format!(
            "a:b:v1:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jwk)
        )
    };
    for (secret, expected) in [
        ("not-a-secret", "four ':'-separated parts"),
        ("aa:bb:v2:Zm9v", "not v1"),
        ("aa:bb:v1:%%%notbase64", "not base64url"),
        (jwk_without_d.as_str(), "no private part"),
    ] {
        let out = run_once(&fake, secret).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{secret}: {stderr}");
        assert!(
            stderr.contains("invalid client secret") && stderr.contains(expected),
            "{secret}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        let key_part = secret.rsplit(':').next().unwrap_or(secret);
        assert!(
            !stderr.contains(key_part),
            "the secret is not echoed: {stderr}"
        );
    }
    fake.shared.with(|s| {
        assert!(
            s.tokens_issued.is_empty() && s.token_rejections.is_empty(),
            "nothing was sent for malformed secrets"
        );
    });

    // Well-formed, but not the key ConductorOne knows: the signature does not verify.
    let (wrong, _) = new_secret();
    let out = run_once(&fake, &wrong).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused the client credentials") && stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong.rsplit(':').next().unwrap_or(&wrong)));
    fake.shared.with(|s| {
        assert_eq!(s.token_rejections, vec!["bad signature".to_owned()]);
        assert!(s.tokens_issued.is_empty());
        assert!(s.hellos.is_empty());
    });
    fake.stop().await;
}

#[tokio::test]
async fn a_full_sync_task_uploads_the_same_artifact_as_a_one_shot_sync() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    let port = free_port();
    let port_arg = port.to_string();
    let mut daemon = Daemon::start(
        &fake,
        &sim,
        &fake.secret.clone(),
        &["--health-check", "--health-check-port", &port_arg],
    )
    .await;

    let hello = daemon.hello(&fake).await;
    assert_eq!(hello.host_id, "test-host");
    let metadata = hello.connector_metadata.expect("connector metadata");
    assert!(!metadata.display_name.is_empty());
    assert!(metadata.capabilities.is_some());
    let build = hello.build_info.expect("build info");
    assert_eq!(build.package, "baton-notion");
    assert!(hello.os_info.is_some_and(|os| !os.os.is_empty()));

    // Ready once Hello went through.
    let url = format!("http://127.0.0.1:{port}/ready");
    let mut ready = false;
    for _ in 0..100 {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "/ready answers 200 after Hello");

    fake.push(task(
        "sync-1",
        TaskType::SyncFull(api::task::SyncFullTask::default()),
    ));
    let finish = fake.finished("sync-1", TASK_TIMEOUT).await;
    assert!(
        matches!(finish.final_state, Some(FinalState::Success(_))),
        "{finish:?}\n{}",
        daemon.stderr()
    );
    assert_eq!(finish.host_id, "test-host");
    assert_eq!(finish.status.as_ref().map(|s| s.code), Some(0));

    let uploads = fake.shared.with(|s| s.uploads.clone());
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(
        (upload.host_id.as_str(), upload.task_id.as_str()),
        ("test-host", "sync-1")
    );
    assert_eq!(
        sha256(&upload.data),
        upload.checksum,
        "eof carries the sha256"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let uploaded = dir.path().join("uploaded.c1z");
    std::fs::write(&uploaded, &upload.data).expect("write");
    let one_shot = dir.path().join("one-shot.c1z");
    sync_into(&sim, &one_shot).await.expect("one-shot sync");
    let ids = ids_of(&uploaded);
    assert!(!ids.grants.is_empty());
    assert_eq!(ids, ids_of(&one_shot));
    assert_eq!(
        daemon.tmp_files(),
        Vec::<String>::new(),
        "the temp artifact is gone"
    );

    assert!(daemon.is_running());
    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn provisioning_tasks_change_the_workspace_and_answer_like_the_connector() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    let daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &["--provisioning"]).await;
    let members = |sim: &SimHandle| {
        sim.state()
            .groups
            .iter()
            .find(|g| g.id == ENGINEERING)
            .expect("group")
            .members
            .clone()
    };
    let before = members(&sim);
    let mut tasks = provisioning_tasks().into_iter();
    let mut next = |fake: &FakeC1| {
        let t = tasks.next().expect("task");
        let id = t.id.clone();
        fake.push(t);
        id
    };

    let id = next(&fake);
    let granted: v2::GrantManagerServiceGrantResponse =
        response(&fake.finished(&id, TASK_TIMEOUT).await);
    assert_eq!(
        granted.grants[0].id,
        format!("group:{ENGINEERING}:member:user:{EVE}")
    );
    assert!(members(&sim).contains(&EVE.to_owned()));

    let id = next(&fake);
    let revoked: v2::GrantManagerServiceRevokeResponse =
        response(&fake.finished(&id, TASK_TIMEOUT).await);
    assert!(revoked.annotations.is_empty());
    assert_eq!(members(&sim), before);

    let id = next(&fake);
    let created: v2::CreateAccountResponse = response(&fake.finished(&id, TASK_TIMEOUT).await);
    assert!(matches!(
        created.result,
        Some(v2::create_account_response::Result::Success(_))
    ));
    assert!(
        sim.state()
            .users
            .iter()
            .any(|u| u.user_name == "ada.lovelace@example.com")
    );

    let id = next(&fake);
    let deleted: v2::DeleteResourceResponse = response(&fake.finished(&id, TASK_TIMEOUT).await);
    assert!(!annotations::has::<v2::ResourceDoesNotExist>(
        &deleted.annotations
    ));
    assert!(sim.state().users.iter().all(|u| u.id != DAVE));

    // A task type this connector does not do: reported, not retried, and the daemon goes on.
    fake.push(task(
        "ticket-1",
        TaskType::CreateTicketTask(Default::default()),
    ));
    let finish = fake.finished("ticket-1", TASK_TIMEOUT).await;
    let Some(FinalState::Error(e)) = finish.final_state else {
        panic!("unsupported task succeeded");
    };
    assert!(e.non_retryable);
    assert_eq!(
        finish.status.map(|s| s.code),
        Some(tonic::Code::Unimplemented as i32)
    );

    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn provisioning_tasks_are_refused_without_provisioning() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    let daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    let before = sim.state();
    let tasks = provisioning_tasks();
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    for t in tasks {
        fake.push(t);
    }
    for id in &ids {
        let finish = fake.finished(id, TASK_TIMEOUT).await;
        let status = finish.status.expect("status");
        assert_eq!(
            status.code,
            tonic::Code::FailedPrecondition as i32,
            "{id}: {status:?}"
        );
        assert!(status.message.contains("provisioning is not enabled"));
        let Some(FinalState::Error(e)) = finish.final_state else {
            panic!("{id} succeeded without provisioning");
        };
        assert!(e.non_retryable, "{id}");
    }
    assert_eq!(sim.state(), before, "the workspace is unchanged");
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "nothing but reads reached Notion"
    );
    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn a_flaky_conductorone_delays_the_task_but_does_not_kill_the_daemon() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    fake.shared.with(|s| {
        s.token_failures_left = 3;
        s.get_task_failures_left = 3;
        s.upload_drops_left = 1;
    });
    fake.push(task(
        "sync-flaky",
        TaskType::SyncFull(api::task::SyncFullTask::default()),
    ));
    let mut daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    let finish = fake.finished("sync-flaky", TASK_TIMEOUT).await;
    assert!(
        matches!(finish.final_state, Some(FinalState::Success(_))),
        "{finish:?}\n{}",
        daemon.stderr()
    );
    fake.shared.with(|s| {
        assert_eq!(s.token_503s, 3, "the token endpoint failed three times");
        assert_eq!(s.get_task_unavailable, 3, "GetTask failed three times");
        assert_eq!(s.uploads_dropped, 1, "one upload stream was dropped");
        assert_eq!(s.uploads.len(), 1, "the retried upload completed");
        assert_eq!(sha256(&s.uploads[0].data), s.uploads[0].checksum);
    });
    let stderr = daemon.stderr();
    assert!(stderr.contains("retrying"), "retries are logged:\n{stderr}");
    assert!(daemon.is_running(), "the daemon is still up");
    stop_all(daemon, fake, sim).await;
}

/// A simulator slow enough that a full sync is still running when the test acts on it.
async fn slow_sim() -> SimHandle {
    start(
        Dataset::reference(),
        SimConfig {
            latency: Duration::from_millis(400),
            ..SimConfig::default()
        },
    )
    .await
}

/// Asserts `finish` is a retryable `Cancelled` error.
fn assert_cancelled(finish: &api::BatonServiceFinishTaskRequest) {
    assert_eq!(
        finish.status.as_ref().map(|s| s.code),
        Some(tonic::Code::Cancelled as i32),
        "{finish:?}"
    );
    let Some(FinalState::Error(e)) = &finish.final_state else {
        panic!("a cancelled task succeeded: {finish:?}");
    };
    assert!(!e.non_retryable, "a cancelled task may be retried");
}

#[tokio::test]
async fn a_task_cancelled_by_heartbeat_stops_and_the_daemon_goes_on() {
    let sim = slow_sim().await;
    let fake = FakeC1::start().await;
    let mut daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    fake.push(task(
        "sync-cancelled",
        TaskType::SyncFull(api::task::SyncFullTask::default()),
    ));
    daemon.heartbeating(&fake, "sync-cancelled").await;
    fake.shared
        .with(|s| s.cancel.insert("sync-cancelled".to_owned()));
    let finish = fake.finished("sync-cancelled", TASK_TIMEOUT).await;
    assert_cancelled(&finish);
    assert!(
        fake.shared.with(|s| s.uploads.is_empty()),
        "nothing uploaded"
    );

    // The daemon carries on with the next task.
    let next = provisioning_tasks().remove(0);
    let id = next.id.clone();
    fake.push(next);
    fake.finished(&id, TASK_TIMEOUT).await;
    assert!(daemon.is_running());
    assert_eq!(
        daemon.tmp_files(),
        Vec::<String>::new(),
        "the partial artifact is gone"
    );
    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn sigterm_cancels_running_tasks_reports_them_retryable_and_exits_0() {
    let sim = slow_sim().await;
    let fake = FakeC1::start().await;
    let daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    fake.push(task(
        "sync-interrupted",
        TaskType::SyncFull(api::task::SyncFullTask::default()),
    ));
    daemon.heartbeating(&fake, "sync-interrupted").await;
    let tmp = daemon.dir.path().join("tmp");
    let started = std::time::Instant::now();
    let (status, stderr) = daemon.stop().await;
    assert!(
        status.success(),
        "exit 0 after SIGTERM: {status:?}\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped within the grace period"
    );
    let finish = fake
        .wait_for(Duration::from_secs(1), |s| {
            s.finished
                .iter()
                .find(|f| f.task_id == "sync-interrupted")
                .cloned()
        })
        .await
        .unwrap_or_else(|| panic!("the interrupted task was reported:\n{stderr}"));
    assert_cancelled(&finish);
    assert!(
        fake.shared.with(|s| s.uploads.is_empty()),
        "nothing uploaded"
    );
    assert!(
        !tmp.exists() || files_in(&tmp).is_empty(),
        "the partial artifact is gone"
    );
    fake.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn tasks_run_concurrently_up_to_the_limit_with_the_sync_options_honoured() {
    let sim = slow_sim().await;
    let fake = FakeC1::start().await;
    let ids: Vec<String> = (0..3).map(|i| format!("users-only-{i}")).collect();
    for id in &ids {
        fake.push(task(
            id,
            TaskType::SyncFull(api::task::SyncFullTask {
                skip_entitlements_and_grants: true,
                sync_resource_type_ids: vec!["user".to_owned()],
                ..Default::default()
            }),
        ));
    }
    let daemon = Daemon::start(
        &fake,
        &sim,
        &fake.secret.clone(),
        &["--task-concurrency", "2"],
    )
    .await;
    for id in &ids {
        let finish = fake.finished(id, TASK_TIMEOUT).await;
        assert!(
            matches!(finish.final_state, Some(FinalState::Success(_))),
            "{finish:?}\n{}",
            daemon.stderr()
        );
    }
    assert_eq!(
        fake.shared.with(|s| s.max_in_flight),
        2,
        "two tasks at once, never three"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    for upload in fake.shared.with(|s| s.uploads.clone()) {
        let path = dir.path().join(format!("{}.c1z", upload.task_id));
        std::fs::write(&path, &upload.data).expect("write");
        let ids = ids_of(&path);
        assert!(!ids.resources.is_empty());
        assert!(
            ids.resources.iter().all(|r| r.starts_with("user:")),
            "{ids:?}"
        );
        assert!(
            ids.entitlements.is_empty() && ids.grants.is_empty(),
            "{ids:?}"
        );
    }
    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_replaced_when_revoked() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    fake.shared
        .with(|s| s.token_lifetime = Duration::from_secs(2));
    let mut daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    daemon.hello(&fake).await;
    // Polling every 100 ms for a few seconds outlives two-second tokens more than once.
    let refreshed = fake
        .wait_for(Duration::from_secs(15), |s| {
            (s.tokens_issued.len() >= 3).then_some(())
        })
        .await;
    assert!(
        refreshed.is_some(),
        "tokens were refreshed:\n{}",
        daemon.stderr()
    );
    assert_eq!(
        fake.shared.with(|s| s.unauthenticated),
        0,
        "no call went out with an expired token"
    );

    // Revoked behind the daemon's back: Unauthenticated, a new token, and on it goes.
    let issued = fake.shared.with(|s| {
        s.token_lifetime = Duration::from_secs(3600);
        s.tokens_issued.len()
    });
    fake.revoke_tokens();
    let next = provisioning_tasks().remove(0);
    let id = next.id.clone();
    fake.push(next);
    fake.finished(&id, TASK_TIMEOUT).await;
    fake.shared.with(|s| {
        assert!(s.unauthenticated >= 1);
        assert!(s.tokens_issued.len() > issued, "a new token was fetched");
    });
    assert!(daemon.is_running());
    stop_all(daemon, fake, sim).await;
}

#[tokio::test]
async fn ready_only_once_hello_went_through() {
    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    // The token endpoint is down until the test says otherwise.
    fake.shared.with(|s| s.token_failures_left = u32::MAX);
    let port = free_port();
    let port_arg = port.to_string();
    let mut daemon = Daemon::start(
        &fake,
        &sim,
        &fake.secret.clone(),
        &["--health-check", "--health-check-port", &port_arg],
    )
    .await;
    let status = |path: &'static str| {
        let url = format!("http://127.0.0.1:{port}{path}");
        async move { reqwest::get(&url).await.ok().map(|r| r.status().as_u16()) }
    };
    let mut live = None;
    for _ in 0..200 {
        live = status("/live").await;
        if live.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(live, Some(200), "/live answers while the daemon runs");
    let down = fake
        .wait_for(TASK_TIMEOUT, |s| (s.token_503s >= 2).then_some(()))
        .await;
    assert!(down.is_some());
    assert_eq!(status("/ready").await, Some(503), "not ready before Hello");
    assert!(
        daemon.is_running(),
        "an unreachable token endpoint is retried"
    );

    fake.shared.with(|s| s.token_failures_left = 0);
    daemon.hello(&fake).await;
    let mut ready = None;
    for _ in 0..100 {
        ready = status("/ready").await;
        if ready == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ready, Some(200), "ready after Hello");
    stop_all(daemon, fake, sim).await;
}

/// Issue #13: a full-sync task with `targeted_sync_resources` uploads a `partial` sync of just
/// that user (its role grant, and the role it points at); `sync_resource_type_ids: [user]`
/// uploads no grant pointing outside the artifact; `skip_grants` keeps entitlements only.
#[tokio::test]
async fn targeted_typed_and_grantless_sync_tasks_upload_what_was_asked() {
    use baton_notion::baton::c1z::Reader;

    let sim = start(Dataset::reference(), SimConfig::default()).await;
    let fake = FakeC1::start().await;
    fake.push(task(
        "targeted",
        TaskType::SyncFull(api::task::SyncFullTask {
            targeted_sync_resources: vec![user(DAVE)],
            ..Default::default()
        }),
    ));
    fake.push(task(
        "users",
        TaskType::SyncFull(api::task::SyncFullTask {
            sync_resource_type_ids: vec!["user".to_owned()],
            ..Default::default()
        }),
    ));
    fake.push(task(
        "no-grants",
        TaskType::SyncFull(api::task::SyncFullTask {
            skip_grants: true,
            ..Default::default()
        }),
    ));
    let daemon = Daemon::start(&fake, &sim, &fake.secret.clone(), &[]).await;
    for id in ["targeted", "users", "no-grants"] {
        let finish = fake.finished(id, TASK_TIMEOUT).await;
        assert!(
            matches!(finish.final_state, Some(FinalState::Success(_))),
            "{id}: {finish:?}\n{}",
            daemon.stderr()
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let uploaded = |task_id: &str| {
        let upload = fake
            .shared
            .with(|s| s.uploads.iter().find(|u| u.task_id == task_id).cloned())
            .unwrap_or_else(|| panic!("{task_id} uploaded"));
        let path = dir.path().join(format!("{task_id}.c1z"));
        std::fs::write(&path, &upload.data).expect("write");
        path
    };

    let targeted = uploaded("targeted");
    let reader = Reader::open(&targeted).expect("opens");
    let syncs = reader.syncs().expect("syncs");
    assert_eq!(syncs.len(), 1, "{syncs:?}");
    assert_eq!(syncs[0].sync_type, "partial");
    let sid = syncs[0].sync_id.as_str();
    let resources: Vec<String> = reader
        .resources(sid, None)
        .expect("resources")
        .iter()
        .map(|r| ids::resource_key(r.id.as_ref().expect("id")))
        .collect();
    assert_eq!(
        resources,
        [format!("user:{DAVE}"), "role:member".to_owned()]
    );
    let grants: Vec<String> = reader
        .grants(sid, None)
        .expect("grants")
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(grants, [format!("role:member:assigned:user:{DAVE}")]);

    let users = ids_of(&uploaded("users"));
    assert_eq!(users.resources.len(), 5, "{users:?}");
    assert!(
        users.grants.is_empty(),
        "no role grant without roles: {users:?}"
    );

    let no_grants = ids_of(&uploaded("no-grants"));
    assert!(!no_grants.entitlements.is_empty(), "{no_grants:?}");
    assert!(no_grants.grants.is_empty(), "{no_grants:?}");
    stop_all(daemon, fake, sim).await;
}
