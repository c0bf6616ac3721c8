//! The store thread: a [`c1z::Writer`] on a dedicated thread, so SQLite never blocks the async
//! runtime. The engine sends batches of rows without waiting (the bounded channel limits how far
//! it runs ahead) and asks for answers (sync id, stats, save report) when it needs them.
//!
//! Consecutive batches share one SQLite transaction (the writer's *group commit*). The thread
//! commits it whenever the channel is momentarily empty — the engine is waiting on the network
//! or on an answer, so the commit costs it nothing — and the writer commits on its own once the
//! group is large or old, and before any step that is not a write.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::SyncError;
use crate::baton::c1z::{self, DanglingGrants, SaveReport, SyncId, SyncStats, SyncType};
use crate::pb::v2;

/// Rows for the store, one batch each.
pub(super) enum Rows {
    ResourceTypes(Vec<v2::ResourceType>),
    Resources(Vec<v2::Resource>),
    Entitlements(Vec<v2::Entitlement>),
    Grants(Vec<c1z::GrantRow>),
}

type Reply<T> = oneshot::Sender<Result<T, c1z::Error>>;

enum Command {
    Start(SyncType, Reply<SyncId>),
    Put(Rows),
    Token(String),
    ResourcesAfter {
        type_id: String,
        after: i64,
        limit: usize,
        reply: Reply<Vec<c1z::StoredResource>>,
    },
    DropDangling(Reply<DanglingGrants>),
    Finish(CancellationToken, Reply<SyncStats>),
    Save(CancellationToken, Reply<SaveReport>),
}

/// A [`c1z::Writer`] on a dedicated thread, fed through a bounded channel.
///
/// Writes are sent without waiting for them (the channel bounds how far the producer can run
/// ahead); the first write error is kept and reported by the next call that waits for an
/// answer. Dropping the handle without `save` drops the writer, which removes its temp files
/// and releases the artifact's lock; dropping it during `save` cancels the save before the
/// rename (unless it already happened).
pub struct StoreThread {
    tx: mpsc::Sender<Command>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set when the handle is dropped: a save still running gives up.
    abandoned: Arc<AtomicBool>,
}

impl StoreThread {
    /// Opens the writer for `out` on a new thread.
    pub fn open(out: PathBuf) -> Result<StoreThread, SyncError> {
        let writer = c1z::Writer::open(&out).map_err(|source| SyncError::Store {
            path: out.clone(),
            source,
        })?;
        Self::spawn(out, writer)
    }

    /// Runs `writer` (open on `out`) on a new thread.
    fn spawn(out: PathBuf, writer: c1z::Writer) -> Result<StoreThread, SyncError> {
        let (tx, rx) = mpsc::channel(8);
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = abandoned.clone();
        let thread = std::thread::Builder::new()
            .name("c1z-writer".into())
            .spawn(move || store_loop(writer, rx, &flag))
            .map_err(|_| SyncError::StoreThread)?;
        Ok(StoreThread {
            tx,
            path: out,
            thread: Some(thread),
            abandoned,
        })
    }

    async fn send(&self, cmd: Command) -> Result<(), SyncError> {
        self.tx.send(cmd).await.map_err(|_| SyncError::StoreThread)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, SyncError> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply)).await?;
        rx.await
            .map_err(|_| SyncError::StoreThread)?
            .map_err(|source| self.error(source))
    }

    /// A store error as the sync reports it.
    fn error(&self, source: c1z::Error) -> SyncError {
        match source {
            c1z::Error::Cancelled { .. } => SyncError::Cancelled {
                path: self.path.clone(),
            },
            source => SyncError::Store {
                path: self.path.clone(),
                source,
            },
        }
    }

    pub(super) async fn start_sync(&self, sync_type: SyncType) -> Result<SyncId, SyncError> {
        self.ask(|r| Command::Start(sync_type, r)).await
    }

    pub(super) async fn put(&self, rows: Rows) -> Result<(), SyncError> {
        self.send(Command::Put(rows)).await
    }

    pub(super) async fn phase(&self, phase: &str) -> Result<(), SyncError> {
        let token = serde_json::json!({ "phase": phase, "version": 1 }).to_string();
        self.send(Command::Token(token)).await
    }

    /// Stored resources of one type after a rowid (see `c1z::Writer::stored_resources_after`),
    /// still encoded: [`StoreThread::decode`] them on the caller's thread.
    pub(super) async fn resources_after(
        &self,
        type_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<c1z::StoredResource>, SyncError> {
        self.ask(|reply| Command::ResourcesAfter {
            type_id: type_id.to_owned(),
            after,
            limit,
            reply,
        })
        .await
    }

    /// Decodes a resource that [`StoreThread::resources_after`] returned.
    pub(super) fn decode(&self, stored: &c1z::StoredResource) -> Result<v2::Resource, SyncError> {
        stored.decode().map_err(|e| self.error(e))
    }

    pub(super) async fn drop_dangling(&self) -> Result<DanglingGrants, SyncError> {
        self.ask(Command::DropDangling).await
    }

    /// Finishes the sync run, giving up once `cancel` fires (the writer may be building
    /// indexes then: see `c1z::Writer::finish_sync_unless`).
    pub(super) async fn finish(&self, cancel: CancellationToken) -> Result<SyncStats, SyncError> {
        self.ask(|reply| Command::Finish(cancel, reply)).await
    }

    /// Saves, giving up before the rename once `cancel` fires.
    pub(super) async fn save(mut self, cancel: CancellationToken) -> Result<SaveReport, SyncError> {
        let report = self.ask(|reply| Command::Save(cancel, reply)).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        report
    }
}

fn store_loop(writer: c1z::Writer, mut rx: mpsc::Receiver<Command>, abandoned: &AtomicBool) {
    let mut writer = Some(writer);
    // The first failed write; every later answer reports it.
    let mut failed: Option<c1z::Error> = None;
    loop {
        let cmd = match rx.try_recv() {
            Ok(cmd) => cmd,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                // Nothing queued: commit the open group while the engine is busy elsewhere.
                if let (Some(w), None) = (writer.as_mut(), &failed) {
                    failed = w.commit().err();
                }
                match rx.blocking_recv() {
                    Some(cmd) => cmd,
                    None => break,
                }
            }
        };
        let Some(w) = writer.as_mut() else {
            break;
        };
        match cmd {
            Command::Put(rows) => {
                if failed.is_none() {
                    let res = match rows {
                        Rows::ResourceTypes(v) => w.put_resource_types(&v),
                        Rows::Resources(v) => w.put_resources(&v),
                        Rows::Entitlements(v) => w.put_entitlements(&v),
                        Rows::Grants(v) => w.put_grant_rows(&v),
                    };
                    failed = res.err();
                }
            }
            Command::Token(t) => {
                if failed.is_none() {
                    failed = w.set_sync_token(&t).err();
                }
            }
            Command::Start(t, reply) => {
                let _ = reply.send(take_failed(&mut failed).and_then(|()| w.start_sync(t)));
            }
            Command::ResourcesAfter {
                type_id,
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(
                    take_failed(&mut failed)
                        .and_then(|()| w.stored_resources_after(&type_id, after, limit)),
                );
            }
            Command::DropDangling(reply) => {
                let _ =
                    reply.send(take_failed(&mut failed).and_then(|()| w.drop_dangling_grants()));
            }
            Command::Finish(cancel, reply) => {
                let cancelled = stop_when(&cancel, abandoned);
                let _ = reply
                    .send(take_failed(&mut failed).and_then(|()| w.finish_sync_unless(&cancelled)));
            }
            Command::Save(cancel, reply) => {
                let cancelled = stop_when(&cancel, abandoned);
                let res = match (take_failed(&mut failed), writer.take()) {
                    (Ok(()), Some(w)) => w.save_unless(&cancelled),
                    (Err(e), _) => Err(e),
                    (Ok(()), None) => continue,
                };
                let _ = reply.send(res);
                break;
            }
        }
    }
}

/// The cancel check of a long step: the sync was cancelled, or its handle dropped.
fn stop_when<'a>(
    cancel: &'a CancellationToken,
    abandoned: &'a AtomicBool,
) -> impl Fn() -> bool + Sync + 'a {
    move || cancel.is_cancelled() || abandoned.load(Ordering::Acquire)
}

fn take_failed(failed: &mut Option<c1z::Error>) -> Result<(), c1z::Error> {
    match failed.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Drop for StoreThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread, which drops the writer and its temp files (a
        // save in progress gives up first). Wait for it so that "no temp file left" holds when
        // the caller regains control.
        self.abandoned.store(true, Ordering::Release);
        let (tx, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> v2::Resource {
        v2::Resource {
            id: Some(v2::ResourceId {
                resource_type: "user".into(),
                resource: id.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A batch that fails in the middle of a group fails the sync at the next question, and the
    /// artifact is left as it was.
    #[tokio::test]
    async fn a_batch_failing_mid_group_fails_the_sync_and_leaves_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.c1z");
        c1z::Writer::open(&out).unwrap().save().unwrap();
        let before = std::fs::read(&out).unwrap();

        let writer = c1z::Writer::open(&out).unwrap();
        writer
            .connection()
            .execute_batch(
                "create temp trigger boom before insert on v1_resources \
                 when new.external_id = 'user:boom' begin select raise(abort, 'boom'); end",
            )
            .unwrap();
        let store = StoreThread::spawn(out.clone(), writer).unwrap();
        store.start_sync(SyncType::Full).await.unwrap();
        store.put(Rows::Resources(vec![user("a")])).await.unwrap();
        store
            .put(Rows::Resources(vec![user("b"), user("boom"), user("c")]))
            .await
            .unwrap();
        store.put(Rows::Resources(vec![user("d")])).await.unwrap();
        let err = store
            .finish(CancellationToken::new())
            .await
            .expect_err("the failed batch fails the sync");
        assert!(
            matches!(&err, SyncError::Store { source, .. } if format!("{source:?}").contains("boom")),
            "{err:?}"
        );
        drop(store);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            before,
            "the artifact is untouched"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            [std::ffi::OsString::from("a.c1z")],
            "no work dir left"
        );
    }

    /// Rows put before `resources_after` are seen by it, whether or not their group was
    /// committed in between.
    #[tokio::test]
    async fn rows_put_before_resources_after_are_seen_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreThread::open(dir.path().join("a.c1z")).unwrap();
        store.start_sync(SyncType::Full).await.unwrap();
        let mut want = Vec::new();
        for batch in 0..5 {
            let users: Vec<_> = (0..10).map(|i| user(&format!("{batch}-{i}"))).collect();
            want.extend(users.iter().cloned());
            store.put(Rows::Resources(users)).await.unwrap();
        }
        let got: Vec<_> = store
            .resources_after("user", 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|r| store.decode(r).unwrap())
            .collect();
        assert_eq!(got, want);
        store.finish(CancellationToken::new()).await.unwrap();
    }
}
