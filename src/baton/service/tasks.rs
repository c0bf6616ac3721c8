//! Running one task from ConductorOne: the work itself, heartbeats while it runs, and the
//! `FinishTask` that reports how it ended.
//!
//! | Task | What runs | Success response |
//! |---|---|---|
//! | `sync_full` | [`sync_to_file`] into a temporary file, streamed with `UploadAsset`, then deleted | none |
//! | `grant` | [`ConnectorClient::grant`] | `GrantManagerServiceGrantResponse` |
//! | `revoke` | [`ConnectorClient::revoke`] | `GrantManagerServiceRevokeResponse` |
//! | `create_account` | [`ConnectorClient::create_account`] | `CreateAccountResponse` |
//! | `delete_resource` | [`ConnectorClient::delete_resource`] | `DeleteResourceResponse` |
//! | `hello` | another `Hello`, tagged with the task id | none |
//! | `action_*` (four types) | the action calls, see [`super::actions`] | the RPC's response |
//! | anything else | nothing | error `Unimplemented`, not retryable |
//!
//! A full sync honours `sync_resource_type_ids`, `skip_entitlements_and_grants` and
//! `skip_grants`; with `targeted_sync_resources` it is a targeted (`partial`) sync of just
//! those resources, uploaded the same way. `skip_expand_grants` and `storage_engine` are
//! ignored (this runtime never expands grants and writes SQLite only).
//!
//! Provisioning tasks are refused with a non-retryable `FailedPrecondition` (the gRPC server's
//! words) unless provisioning is enabled, and then touch nothing. A connector error is retryable
//! when its code is `Unavailable` (the upstream service was struggling); a task cancelled by a
//! heartbeat or by shutdown ends as a retryable `Cancelled`.
//!
//! # Uploads
//!
//! `UploadAsset` is one client stream: `metadata {host_id, task_id}`, the artifact in
//! [`CHUNK_BYTES`] `data` messages, and `eof {sha256_checksum}` of the whole file. A failed or
//! dropped stream is retried from the start (the file is re-read), a bounded number of times.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use prost_types::Any;
use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::{CallError, Daemon, UNARY_TIMEOUT, Until, api, interval};
use crate::baton::annotations::pack;
use crate::baton::error::{Code, ConnectorError};
use crate::baton::server::{PROVISIONING_DISABLED, status};
use crate::baton::sync::{SyncOptions, sync_to_file};
use crate::pb::google::rpc;
use crate::pb::v2;
use api::task::TaskType;

/// Size of each `data` message of an upload.
pub const CHUNK_BYTES: usize = 512 * 1024;
/// Name prefix of a sync task's temporary directory (followed by the daemon's pid).
const SYNC_DIR_PREFIX: &str = "baton-sync-";
/// Upload attempts before the task is reported as failed (retryable).
const UPLOAD_ATTEMPTS: u32 = 8;
/// How long a `FinishTask` is retried before the outcome is given up on (ConductorOne then
/// times the task out and hands it out again).
const FINISH_PATIENCE: Duration = Duration::from_secs(300);

/// True when `task` asks for work (not a `NoneTask`, not empty).
pub(super) fn is_work(task: &api::Task) -> bool {
    !matches!(task.task_type, None | Some(TaskType::None(_)))
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    /// Done; the response, if the task type has one.
    Success(Option<Any>),
    /// Failed with a gRPC code and a message for the operator.
    Failed {
        code: tonic::Code,
        message: String,
        retryable: bool,
    },
}

impl Outcome {
    fn failed(code: tonic::Code, message: impl Into<String>, retryable: bool) -> Outcome {
        Outcome::Failed {
            code,
            message: message.into(),
            retryable,
        }
    }

    /// A connector's error, with the code the gRPC server would have answered.
    pub(super) fn from_connector(err: ConnectorError) -> Outcome {
        let retryable = matches!(err.code, Code::Unavailable | Code::Cancelled);
        let s = status(err);
        Outcome::failed(s.code(), s.message(), retryable)
    }

    fn cancelled() -> Outcome {
        Outcome::failed(tonic::Code::Cancelled, "the task was cancelled", true)
    }

    /// The `FinishTask` request reporting this outcome.
    fn finish_request(self, host_id: &str, task_id: &str) -> api::BatonServiceFinishTaskRequest {
        use api::baton_service_finish_task_request::{Error, FinalState, Success};
        let (status, state) = match self {
            Outcome::Success(response) => (
                rpc::Status {
                    code: tonic::Code::Ok as i32,
                    ..Default::default()
                },
                FinalState::Success(Success {
                    annotations: vec![],
                    response,
                }),
            ),
            Outcome::Failed {
                code,
                message,
                retryable,
            } => (
                rpc::Status {
                    code: code as i32,
                    message,
                    details: vec![],
                },
                FinalState::Error(Error {
                    non_retryable: !retryable,
                    annotations: vec![],
                    response: None,
                }),
            ),
        };
        api::BatonServiceFinishTaskRequest {
            host_id: host_id.to_owned(),
            task_id: task_id.to_owned(),
            status: Some(status),
            final_state: Some(state),
        }
    }
}

impl Daemon {
    /// Runs `task` with heartbeats every `heartbeat` (until ConductorOne says otherwise), then
    /// reports the outcome.
    #[instrument(skip_all, fields(task_id = %task.id))]
    pub(super) async fn run_task(self: Arc<Self>, task: api::Task, heartbeat: Duration) {
        let started = Instant::now();
        let kind = task_kind(&task);
        info!(kind, "task started");
        let cancel = self.shutdown.child_token();
        let done = CancellationToken::new();
        let beats = tokio::spawn(self.clone().heartbeats(
            task.id.clone(),
            heartbeat,
            cancel.clone(),
            done.clone(),
        ));
        let outcome = self.execute(&task, &cancel).await;
        done.cancel();
        let _ = beats.await;
        match &outcome {
            Outcome::Success(_) => info!(
                kind,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "task succeeded"
            ),
            Outcome::Failed {
                code,
                message,
                retryable,
            } => warn!(kind, ?code, %message, retryable, "task failed"),
        }
        self.finish(&task.id, outcome).await;
    }

    /// Sends heartbeats until `done` fires; cancels `cancel` when ConductorOne says so.
    async fn heartbeats(
        self: Arc<Self>,
        task_id: String,
        mut every: Duration,
        cancel: CancellationToken,
        done: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = done.cancelled() => return,
            }
            let request = api::BatonServiceHeartbeatRequest {
                host_id: self.host_id.clone(),
                task_id: task_id.clone(),
                ..Default::default()
            };
            let answer = async {
                let mut req = self.authorized(request).await?;
                req.set_timeout(UNARY_TIMEOUT);
                Ok::<_, CallError>(self.grpc.clone().heartbeat(req).await?.into_inner())
            };
            // A slow heartbeat must not hold up the task's FinishTask.
            let answer = tokio::select! {
                a = answer => a,
                () = done.cancelled() => return,
            };
            match answer {
                Ok(answer) => {
                    every = interval(answer.next_heartbeat.as_ref(), every);
                    if answer.cancelled || answer.cancelled_task_ids.contains(&task_id) {
                        info!("ConductorOne cancelled the task");
                        cancel.cancel();
                    }
                }
                // A missed heartbeat is not fatal: the next one may get through.
                Err(e) => {
                    self.forget_token_if_refused(&e).await;
                    warn!(error = %e, "heartbeat failed");
                }
            }
        }
    }

    /// Reports `outcome`, retrying transient failures for a while.
    async fn finish(&self, task_id: &str, outcome: Outcome) {
        let request = outcome.finish_request(&self.host_id, task_id);
        let until = Until {
            deadline: Some(Instant::now() + FINISH_PATIENCE),
            ..Until::cancelled(&CancellationToken::new())
        };
        let result = self
            .retrying("FinishTask", until, || async {
                let mut req = self.authorized(request.clone()).await?;
                req.set_timeout(UNARY_TIMEOUT);
                Ok(self.grpc.clone().finish_task(req).await?)
            })
            .await;
        if let Err(e) = result {
            warn!(error = %e, "could not report the task's outcome; ConductorOne will retry it");
        }
    }

    /// Does the work of `task`.
    async fn execute(&self, task: &api::Task, cancel: &CancellationToken) -> Outcome {
        let provisioning = |name: &str| {
            if self.provisioning {
                None
            } else {
                warn!(
                    task = name,
                    "provisioning is not enabled (--provisioning); refusing"
                );
                Some(Outcome::failed(
                    tonic::Code::FailedPrecondition,
                    PROVISIONING_DISABLED,
                    false,
                ))
            }
        };
        let packed = |r: Result<Any, ConnectorError>| match r {
            Ok(any) => Outcome::Success(Some(any)),
            Err(e) => Outcome::from_connector(e),
        };
        if let Some(t) = &task.task_type
            && let Some(outcome) = self.action_task(t).await
        {
            return outcome;
        }
        match &task.task_type {
            Some(TaskType::SyncFull(t)) => self.full_sync(&task.id, t, cancel).await,
            Some(TaskType::Hello(_)) => {
                if self.hello(&task.id, cancel).await {
                    Outcome::Success(None)
                } else {
                    Outcome::cancelled()
                }
            }
            Some(TaskType::Grant(t)) => {
                if let Some(refused) = provisioning("grant") {
                    return refused;
                }
                let req = v2::GrantManagerServiceGrantRequest {
                    entitlement: t.entitlement.clone(),
                    principal: t.principal.clone(),
                    annotations: t.annotations.clone(),
                };
                packed(self.client.grant(req).await.map(|r| pack(&r)))
            }
            Some(TaskType::Revoke(t)) => {
                if let Some(refused) = provisioning("revoke") {
                    return refused;
                }
                let req = v2::GrantManagerServiceRevokeRequest {
                    grant: t.grant.clone(),
                    annotations: t.annotations.clone(),
                };
                packed(self.client.revoke(req).await.map(|r| pack(&r)))
            }
            Some(TaskType::CreateAccount(t)) => {
                if let Some(refused) = provisioning("create_account") {
                    return refused;
                }
                let req = v2::CreateAccountRequest {
                    account_info: t.account_info.clone(),
                    credential_options: t.credential_options.clone(),
                    encryption_configs: t.encryption_configs.clone(),
                    resource_type_id: t.resource_type_id.clone(),
                };
                packed(self.client.create_account(req).await.map(|r| pack(&r)))
            }
            Some(TaskType::DeleteResource(t)) => {
                if let Some(refused) = provisioning("delete_resource") {
                    return refused;
                }
                let req = v2::DeleteResourceV2Request {
                    resource_id: t.resource_id.clone(),
                    parent_resource_id: t.parent_resource_id.clone(),
                };
                // The task is the original DeleteResource; answer with its response type.
                packed(self.client.delete_resource(req).await.map(|r| {
                    pack(&v2::DeleteResourceResponse {
                        annotations: r.annotations,
                    })
                }))
            }
            _ => Outcome::failed(
                tonic::Code::Unimplemented,
                format!("this connector does not support {} tasks", task_kind(task)),
                false,
            ),
        }
    }

    /// A full sync into a temporary file, uploaded and then deleted.
    async fn full_sync(
        &self,
        task_id: &str,
        task: &api::task::SyncFullTask,
        cancel: &CancellationToken,
    ) -> Outcome {
        // Dropped (and deleted with its contents) on every way out of this function. Named
        // with our pid, so that after a crash a later daemon sweeps it (and we sweep theirs).
        crate::baton::c1z::lock::sweep_dead_owner_dirs(&std::env::temp_dir(), SYNC_DIR_PREFIX);
        let prefix = crate::baton::c1z::lock::owned_dir_prefix(SYNC_DIR_PREFIX);
        let dir = match tempfile::Builder::new().prefix(&prefix).tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                return Outcome::failed(
                    tonic::Code::Internal,
                    format!("cannot create a temporary directory for the artifact: {e}"),
                    true,
                );
            }
        };
        let path = dir.path().join("sync.c1z");
        let types: Vec<String> = task
            .sync_resource_type_ids
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let opts = SyncOptions {
            resource_types: (!types.is_empty()).then_some(types),
            skip_entitlements_and_grants: task.skip_entitlements_and_grants,
            skip_grants: task.skip_grants,
            targeted: task.targeted_sync_resources.clone(),
            cancel: cancel.clone(),
            ..SyncOptions::default()
        };
        let synced = tokio::select! {
            r = sync_to_file(&*self.client, &path, opts) => r,
            () = cancel.cancelled() => return Outcome::cancelled(),
        };
        let report = match synced {
            Ok(report) => report,
            Err(e) => {
                if cancel.is_cancelled() {
                    return Outcome::cancelled();
                }
                return match e.code() {
                    // The connector's verdict decides (Unavailable: retry later).
                    Some(code) => {
                        Outcome::from_connector(ConnectorError::new(code, super::error_chain(&e)))
                    }
                    // Local trouble writing the artifact (disk full, …) may pass.
                    None => Outcome::failed(tonic::Code::Internal, super::error_chain(&e), true),
                };
            }
        };
        info!(
            sync_id = %report.sync_id,
            targeted = task.targeted_sync_resources.len(),
            bytes = report.saved.bytes_written,
            dropped_grants = report.dropped.total(),
            "sync finished; uploading the artifact"
        );
        match self.upload(task_id, &path, cancel).await {
            Ok(()) => Outcome::Success(None),
            Err(_) if cancel.is_cancelled() => Outcome::cancelled(),
            Err(e) => Outcome::failed(
                tonic::Code::Unavailable,
                format!("uploading the artifact failed: {e}"),
                true,
            ),
        }
    }

    /// Streams the artifact at `path` with `UploadAsset`, retrying from the start on failure.
    async fn upload(
        &self,
        task_id: &str,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<(), CallError> {
        let checksum = sha256_file(path).await?;
        let until = Until {
            max_attempts: Some(UPLOAD_ATTEMPTS),
            ..Until::cancelled(cancel)
        };
        self.retrying("UploadAsset", until, || async {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| CallError::Local(format!("opening {}: {e}", path.display())))?;
            let messages = upload_messages(
                file,
                self.host_id.clone(),
                task_id.to_owned(),
                checksum.clone(),
            );
            let req = self.authorized(messages).await?;
            self.grpc.clone().upload_asset(req).await?;
            Ok(())
        })
        .await
    }
}

/// The task's type, for logs and messages.
fn task_kind(task: &api::Task) -> &'static str {
    match &task.task_type {
        None => "empty",
        Some(t) => match t {
            TaskType::None(_) => "none",
            TaskType::Hello(_) => "hello",
            TaskType::SyncFull(_) => "sync_full",
            TaskType::Grant(_) => "grant",
            TaskType::Revoke(_) => "revoke",
            TaskType::CreateAccount(_) => "create_account",
            TaskType::CreateResource(_) => "create_resource",
            TaskType::DeleteResource(_) => "delete_resource",
            TaskType::RotateCredentials(_) => "rotate_credentials",
            TaskType::EventFeed(_) => "event_feed",
            TaskType::CreateTicketTask(_) => "create_ticket",
            TaskType::ListTicketSchemas(_) => "list_ticket_schemas",
            TaskType::GetTicket(_) => "get_ticket",
            TaskType::BulkCreateTickets(_) => "bulk_create_tickets",
            TaskType::BulkGetTickets(_) => "bulk_get_tickets",
            TaskType::ActionListSchemas(_) => "action_list_schemas",
            TaskType::ActionGetSchema(_) => "action_get_schema",
            TaskType::ActionInvoke(_) => "action_invoke",
            TaskType::ActionStatus(_) => "action_status",
            TaskType::CreateSyncDiff(_) => "create_sync_diff",
            TaskType::CompactSyncs(_) => "compact_syncs",
            TaskType::ListEventFeeds(_) => "list_event_feeds",
            TaskType::ListEvents(_) => "list_events",
            TaskType::IssueCredential(_) => "issue_credential",
        },
    }
}

/// The sha256 of the file at `path`, read off the async runtime.
async fn sha256_file(path: &Path) -> Result<Vec<u8>, CallError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(&path)?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
        }
        Ok::<_, std::io::Error>(digest.finish().as_ref().to_vec())
    })
    .await
    .map_err(|e| CallError::Local(format!("the checksum task failed: {e}")))?
    .map_err(|e| CallError::Local(format!("reading the artifact: {e}")))
}

/// Where an upload stream is.
enum UploadState {
    /// Next: the metadata message.
    Metadata(tokio::fs::File),
    /// Next: a data chunk, or the eof when the file is exhausted.
    Data(tokio::fs::File),
    /// Everything was sent (or reading failed, and the stream ends without eof, which the
    /// server rejects and the caller retries).
    Done,
}

/// The messages of one `UploadAsset` stream: metadata, chunks of `file`, eof with `checksum`.
fn upload_messages(
    file: tokio::fs::File,
    host_id: String,
    task_id: String,
    checksum: Vec<u8>,
) -> impl Stream<Item = api::BatonServiceUploadAssetRequest> + Send + 'static {
    use api::baton_service_upload_asset_request::{Msg, UploadData, UploadEof, UploadMetadata};
    let message = |msg| api::BatonServiceUploadAssetRequest { msg: Some(msg) };
    futures::stream::unfold(UploadState::Metadata(file), move |state| {
        let (host_id, task_id, checksum) = (host_id.clone(), task_id.clone(), checksum.clone());
        async move {
            match state {
                UploadState::Metadata(file) => Some((
                    message(Msg::Metadata(UploadMetadata {
                        host_id,
                        task_id,
                        annotations: vec![],
                    })),
                    UploadState::Data(file),
                )),
                UploadState::Data(mut file) => {
                    let mut buf = vec![0u8; CHUNK_BYTES];
                    let mut filled = 0;
                    while filled < CHUNK_BYTES {
                        match file.read(&mut buf[filled..]).await {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) => {
                                warn!(error = %e, "reading the artifact for upload failed");
                                return None;
                            }
                        }
                    }
                    if filled == 0 {
                        return Some((
                            message(Msg::Eof(UploadEof {
                                sha256_checksum: checksum,
                                annotations: vec![],
                            })),
                            UploadState::Done,
                        ));
                    }
                    buf.truncate(filled);
                    Some((
                        message(Msg::Data(UploadData { data: buf })),
                        UploadState::Data(file),
                    ))
                }
                UploadState::Done => None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    #[tokio::test]
    async fn uploads_are_metadata_chunks_and_eof() {
        use api::baton_service_upload_asset_request::Msg;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.c1z");
        let content: Vec<u8> = (0..(CHUNK_BYTES * 2 + 10)).map(|i| i as u8).collect();
        std::fs::write(&path, &content).expect("write");
        let checksum = sha256_file(&path).await.expect("checksum");
        let file = tokio::fs::File::open(&path).await.expect("open");
        let msgs: Vec<_> = upload_messages(file, "h".into(), "t".into(), checksum.clone())
            .collect()
            .await;
        assert_eq!(msgs.len(), 5, "metadata, three chunks, eof");
        let Some(Msg::Metadata(meta)) = &msgs[0].msg else {
            panic!("metadata first");
        };
        assert_eq!((meta.host_id.as_str(), meta.task_id.as_str()), ("h", "t"));
        let mut data = Vec::new();
        for m in &msgs[1..4] {
            let Some(Msg::Data(d)) = &m.msg else {
                panic!("data");
            };
            assert!(d.data.len() <= CHUNK_BYTES);
            data.extend_from_slice(&d.data);
        }
        assert_eq!(data, content);
        let Some(Msg::Eof(eof)) = &msgs[4].msg else {
            panic!("eof last");
        };
        assert_eq!(
            eof.sha256_checksum,
            ring::digest::digest(&ring::digest::SHA256, &content).as_ref()
        );
    }

    #[test]
    fn outcomes_become_finish_requests() {
        use api::baton_service_finish_task_request::FinalState;
        let ok = Outcome::Success(None).finish_request("h", "t");
        assert_eq!(ok.status.as_ref().map(|s| s.code), Some(0));
        assert!(matches!(ok.final_state, Some(FinalState::Success(_))));
        let refused =
            Outcome::failed(tonic::Code::FailedPrecondition, "no", false).finish_request("h", "t");
        assert_eq!(
            refused.status.as_ref().map(|s| s.code),
            Some(tonic::Code::FailedPrecondition as i32)
        );
        let Some(FinalState::Error(e)) = refused.final_state else {
            panic!("error");
        };
        assert!(e.non_retryable);
        let flaky = Outcome::from_connector(ConnectorError::new(Code::Unavailable, "429"));
        assert!(matches!(
            flaky,
            Outcome::Failed {
                retryable: true,
                ..
            }
        ));
        let bad = Outcome::from_connector(ConnectorError::invalid_argument("bad email"));
        assert!(matches!(
            bad,
            Outcome::Failed {
                retryable: false,
                ..
            }
        ));
    }
}
