//! The sync engine: drives any [`ConnectorClient`] into a `.c1z`, in the Go SDK's order.
//!
//! 1. `ListResourceTypes` (filtered by the caller's type list) → stored.
//! 2. Per type, `ListResources` page by page (following `ChildResourceType` annotations into
//!    child types with their parent) → stored as pages arrive.
//! 3. `ListStaticEntitlements` per type (`NotFound` tolerated, like the Go syncer).
//! 4. Unless entitlements and grants are skipped: per stored resource, `ListEntitlements`,
//!    then per stored resource `ListGrants`, honouring `SkipEntitlements`, `SkipGrants` and
//!    `SkipEntitlementsAndGrants` on the type or the resource.
//! 5. Drop the grants that point outside the sync (entitlement, its resource or the principal
//!    not stored — a type left out of the sync, or the application changing between pages),
//!    as the SDK's syncer does for full syncs; they are counted in [`SyncReport::dropped`] and
//!    logged, never lost silently.
//! 6. Finish the sync run (stats) and save the file atomically.
//!
//! A **targeted sync** ([`SyncOptions::targeted`], the SDK's `--sync-resources`) is a
//! `partial` sync appended to the artifact: resource types, then for each named resource
//! `GetResource` (`NotFound`/`Unimplemented`: skipped with a warning), its entitlements and
//! grants, and — as the SDK does — the resources those grants' entitlements belong to, when
//! they are not in the sync yet. A partial sync is applied on top of a full one, so it keeps
//! grants whose principal it does not hold.
//!
//! The store runs on its own thread ([`StoreThread`]): SQLite never blocks the async runtime,
//! and network fetches overlap with writes. Items are written in batches of [`BATCH`] rows.
//! Stored resources are read back in rowid order for steps 3–4, so memory does not grow with
//! the size of the workspace.
//!
//! A sync either completes and replaces the artifact, or fails and leaves the previous one
//! untouched: the store writes to temporary files and only `save` renames into place. The store
//! holds the artifact's lock from open to save, so a second sync into the same file fails at
//! once. Cancellation ends the listing at once (and is also checked between pages); finishing
//! the run gives up while it builds indexes; during the save it is honoured up to the rename,
//! and after the rename the sync counts as saved — so [`SyncError::Cancelled`] always means the
//! artifact was left as it was, and `Ok` that it was replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::annotations::{find, has};
use super::c1z::{self, DanglingGrants, SaveReport, SyncId, SyncStats, SyncType};
use super::client::ConnectorClient;
use super::error::{Code, ConnectorError};
use crate::pb::v2;

mod store;
mod targeted;

use store::Rows;
pub use store::StoreThread;

/// Rows per store transaction (the Go SDK uses the same batch size).
pub const BATCH: usize = 1000;
/// Resources whose entitlements or grants are asked for at once (see `Engine::walk`).
const WALK_CONCURRENCY: usize = 8;

/// What to sync and how.
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// Only these resource type ids (all when `None`).
    pub resource_types: Option<Vec<String>>,
    /// Resources only: no entitlements, no grants (sync type `resources_only`).
    pub skip_entitlements_and_grants: bool,
    /// Page size to ask for; 0 lets the connector choose.
    pub page_size: u32,
    /// Fired by SIGINT/SIGTERM; checked between pages.
    pub cancel: CancellationToken,
    /// Told about progress (e.g. to draw progress bars); `None` for silence.
    pub observer: Option<Arc<dyn SyncObserver>>,
    /// A targeted sync of just these resources (id, and parent id when they have one): a
    /// `partial` sync holding each with its entitlements and grants. Empty: a full sync.
    pub targeted: Vec<v2::Resource>,
    /// Entitlements but no grants (the SDK's `--skip-grants`); the sync type is unchanged.
    pub skip_grants: bool,
    /// Validate, then record an empty full sync (the SDK's `--skip-full-sync`).
    pub skip_full_sync: bool,
}

/// The phase a [`SyncProgress`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncPhase {
    /// Listing resources.
    Resources,
    /// Listing entitlements of stored resources.
    Entitlements,
    /// Listing grants of stored resources.
    Grants,
}

/// Progress of one resource type within one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncProgress<'a> {
    /// The phase.
    pub phase: SyncPhase,
    /// The resource type being listed (resources) or visited (entitlements, grants).
    pub resource_type: &'a str,
    /// Resources listed so far (resources phase), or resources visited so far (other phases).
    pub done: u64,
    /// What `done` counts towards, when known: the resources of the type stored earlier in
    /// this sync for the entitlement and grant phases; `None` while listing resources (the
    /// Baton protocol carries no total).
    pub total: Option<u64>,
    /// Objects collected so far in this phase for this type (resources, entitlements, grants).
    pub items: u64,
}

/// Receives a sync's progress, e.g. to draw progress bars on a terminal.
///
/// Called on the sync's task after every page of resources and every visited resource: it must
/// be cheap and must not block. Nothing is called after [`sync_to_file`] returns.
pub trait SyncObserver: Send + Sync + std::fmt::Debug {
    /// Progress of one resource type in one phase.
    fn progress(&self, progress: SyncProgress<'_>);
    /// The engine is done listing (successfully or not).
    fn finish(&self) {}
}

/// What a finished sync did.
#[derive(Clone, Debug)]
pub struct SyncReport {
    /// The new sync run's id.
    pub sync_id: SyncId,
    /// Counts written, as stored in the sync run.
    pub stats: SyncStats,
    /// The saved artifact.
    pub saved: SaveReport,
    /// Wall time from start to saved file.
    pub duration: Duration,
    /// Grants dropped because their entitlement or principal is not in the sync (full syncs
    /// only; see the module docs).
    pub dropped: DanglingGrants,
}

/// Why a sync failed. The previous artifact is untouched in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The connector failed a call; `op` says which.
    #[error("{op}")]
    Connector {
        /// The call that failed, e.g. `listing user resources`.
        op: String,
        /// The connector's error.
        #[source]
        source: ConnectorError,
    },
    /// The `.c1z` store failed.
    #[error("writing {path}")]
    Store {
        /// The artifact being written.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: c1z::Error,
    },
    /// The run was interrupted.
    #[error("sync interrupted; {path} was left as it was")]
    Cancelled {
        /// The artifact that was not replaced.
        path: PathBuf,
    },
    /// The store thread died.
    #[error("the store thread stopped unexpectedly")]
    StoreThread,
}

impl SyncError {
    /// The protocol code of a connector failure, if this is one.
    pub fn code(&self) -> Option<Code> {
        match self {
            SyncError::Connector { source, .. } => Some(source.code),
            _ => None,
        }
    }
}

/// Syncs everything `client` offers into `out`.
pub async fn sync_to_file(
    client: &dyn ConnectorClient,
    out: &Path,
    opts: SyncOptions,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let sync_type = if !opts.targeted.is_empty() {
        SyncType::Partial
    } else if opts.skip_entitlements_and_grants {
        SyncType::ResourcesOnly
    } else {
        SyncType::Full
    };
    let store = StoreThread::open(out.to_path_buf())?;
    let sync_id = store.start_sync(sync_type).await?;
    info!(sync_id = %sync_id, file = %out.display(), "sync started");
    let observer = opts.observer.clone();
    let scope = opts.resource_types.as_deref().map(Arc::from);
    let mut engine = Engine {
        client,
        store,
        opts,
        out: out.to_path_buf(),
        resource_counts: HashMap::new(),
        scope,
        dropped: DanglingGrants::default(),
    };
    let cancel = engine.opts.cancel.clone();
    // Dropping the listing on cancellation is safe: nothing has touched `out` yet.
    let ran = tokio::select! {
        r = engine.run() => r,
        () = cancel.cancelled() => Err(SyncError::Cancelled { path: out.to_path_buf() }),
    };
    if let Some(o) = &observer {
        o.finish();
    }
    ran?;
    // Neither is raced against `cancel`: both give up by themselves when it fires (finishing
    // while it builds indexes, saving before the rename), and once the save has renamed, the
    // truthful outcome is success.
    let stats = engine.store.finish(cancel.clone()).await?;
    let saved = engine.store.save(cancel).await?;
    Ok(SyncReport {
        sync_id,
        stats,
        saved,
        duration: started.elapsed(),
        dropped: engine.dropped,
    })
}

struct Engine<'a> {
    client: &'a dyn ConnectorClient,
    store: StoreThread,
    opts: SyncOptions,
    out: PathBuf,
    /// Resources stored per type, the totals of the entitlement and grant phases.
    resource_counts: HashMap<String, u64>,
    /// The selected resource types, told to the connector with each listing and grants request.
    scope: Option<Arc<[String]>>,
    /// What the integrity pass dropped.
    dropped: DanglingGrants,
}

impl Engine<'_> {
    fn report(
        &self,
        phase: SyncPhase,
        resource_type: &str,
        done: u64,
        total: Option<u64>,
        items: u64,
    ) {
        if let Some(o) = &self.opts.observer {
            o.progress(SyncProgress {
                phase,
                resource_type,
                done,
                total,
                items,
            });
        }
    }

    async fn run(&mut self) -> Result<(), SyncError> {
        let client = self.client;
        client
            .validate()
            .await
            .map_err(|e| connector_err("validating the connector", e))?;
        self.check_cancel()?;
        if self.opts.skip_full_sync {
            info!("skipping the sync (--skip-full-sync): recording an empty full sync");
            return Ok(());
        }

        let types = self.resource_types().await?;
        self.store.put(Rows::ResourceTypes(types.clone())).await?;
        if !self.opts.targeted.is_empty() {
            return self.targeted(&types).await;
        }

        self.store.phase("list-resources").await?;
        for rt in &types {
            self.list_resources(&rt.id, None).await?;
        }
        for rt in &types {
            self.static_entitlements(&rt.id).await?;
        }
        if self.opts.skip_entitlements_and_grants {
            return Ok(());
        }
        self.store.phase("list-entitlements").await?;
        for rt in &types {
            if !has::<v2::SkipEntitlements>(&rt.annotations)
                && !has::<v2::SkipEntitlementsAndGrants>(&rt.annotations)
            {
                self.walk(&rt.id, Walk::Entitlements).await?;
            }
        }
        if !self.opts.skip_grants {
            self.store.phase("list-grants").await?;
            for rt in &types {
                if !has::<v2::SkipGrants>(&rt.annotations)
                    && !has::<v2::SkipEntitlementsAndGrants>(&rt.annotations)
                {
                    self.walk(&rt.id, Walk::Grants).await?;
                }
            }
        }
        self.drop_dangling().await
    }

    /// Drops (and counts, and logs) the grants that point outside this sync.
    async fn drop_dangling(&mut self) -> Result<(), SyncError> {
        let started = Instant::now();
        let dropped = self.store.drop_dangling().await?;
        debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            dropped = dropped.total(),
            "integrity pass over the grants"
        );
        if dropped.total() > 0 {
            let examples: Vec<String> = dropped
                .examples
                .iter()
                .map(|id| crate::text::one_line(id))
                .collect();
            warn!(
                dropped = dropped.total(),
                missing_entitlement = dropped.missing_entitlement,
                missing_principal = dropped.missing_principal,
                examples = %examples.join(", "),
                "dropped grants whose entitlement or principal is not in this sync"
            );
        }
        self.dropped = dropped;
        Ok(())
    }

    fn check_cancel(&self) -> Result<(), SyncError> {
        if self.opts.cancel.is_cancelled() {
            return Err(SyncError::Cancelled {
                path: self.out.clone(),
            });
        }
        Ok(())
    }

    async fn resource_types(&self) -> Result<Vec<v2::ResourceType>, SyncError> {
        let (client, page_size) = (self.client, self.opts.page_size);
        let mut types = Vec::new();
        follow_pages(
            |page_token| {
                let req = v2::ResourceTypesServiceListResourceTypesRequest {
                    page_size,
                    page_token,
                    ..Default::default()
                };
                async move {
                    let r = client.list_resource_types(req).await?;
                    Ok((r.list, r.next_page_token))
                }
            },
            |items| types.extend(items),
        )
        .await
        .map_err(|e| connector_err("listing resource types", e))?;
        if let Some(wanted) = &self.opts.resource_types {
            for w in wanted {
                if !types.iter().any(|t| &t.id == w) {
                    let known: Vec<_> = types.iter().map(|t| t.id.as_str()).collect();
                    return Err(connector_err(
                        "selecting resource types",
                        ConnectorError::invalid_argument(format!(
                            "unknown resource type {w:?} in --sync-resource-types (known: {})",
                            known.join(", ")
                        )),
                    ));
                }
            }
            types.retain(|t| wanted.contains(&t.id));
        }
        Ok(types)
    }

    /// Lists every resource of `type_id` under `parent`, then descends into child types.
    async fn list_resources(
        &mut self,
        type_id: &str,
        parent: Option<v2::ResourceId>,
    ) -> Result<(), SyncError> {
        let mut token = String::new();
        let mut children: Vec<(String, v2::ResourceId)> = Vec::new();
        let mut total = 0usize;
        loop {
            self.check_cancel()?;
            let req = v2::ResourcesServiceListResourcesRequest {
                resource_type_id: type_id.to_owned(),
                parent_resource_id: parent.clone(),
                page_size: self.opts.page_size,
                page_token: token.clone(),
                ..Default::default()
            };
            let resp = self
                .client
                .list_resources_scoped(req, self.scope.as_ref())
                .await
                .map_err(|e| connector_err(format!("listing {type_id} resources"), e))?;
            // A resource may parent several types (one annotation each), as in the Go SDK.
            for r in &resp.list {
                let Some(id) = r.id.as_ref() else { continue };
                for a in &r.annotations {
                    if let Some(child) = find::<v2::ChildResourceType>(std::slice::from_ref(a)) {
                        children.push((child.resource_type_id, id.clone()));
                    }
                }
            }
            total += resp.list.len();
            *self.resource_counts.entry(type_id.to_owned()).or_default() += resp.list.len() as u64;
            if !resp.list.is_empty() {
                self.store.put(Rows::Resources(resp.list)).await?;
            }
            let listed = self.resource_counts.get(type_id).copied().unwrap_or(0);
            self.report(SyncPhase::Resources, type_id, listed, None, listed);
            if resp.next_page_token.is_empty() {
                break;
            }
            token = resp.next_page_token;
        }
        debug!(resource_type = type_id, count = total, "listed resources");
        for (child_type, parent_id) in children {
            Box::pin(self.list_resources(&child_type, Some(parent_id))).await?;
        }
        Ok(())
    }

    async fn static_entitlements(&self, type_id: &str) -> Result<(), SyncError> {
        let mut token = String::new();
        loop {
            let resp = match self
                .client
                .list_static_entitlements(v2::EntitlementsServiceListStaticEntitlementsRequest {
                    resource_type_id: type_id.to_owned(),
                    page_size: self.opts.page_size,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
            {
                Ok(resp) => resp,
                Err(e) if e.code == Code::NotFound || e.code == Code::Unimplemented => {
                    return Ok(());
                }
                Err(e) => {
                    return Err(connector_err(
                        format!("listing static entitlements of {type_id}"),
                        e,
                    ));
                }
            };
            if !resp.list.is_empty() {
                warn!(
                    resource_type = type_id,
                    count = resp.list.len(),
                    "static entitlements are not expanded onto resources by this runtime"
                );
            }
            if resp.next_page_token.is_empty() {
                return Ok(());
            }
            token = resp.next_page_token;
        }
    }

    /// Visits every stored resource of `type_id` (in rowid order, a batch at a time) and lists
    /// its entitlements or grants.
    ///
    /// Up to [`WALK_CONCURRENCY`] resources are asked about at once: over gRPC each is a round
    /// trip, and a connector may need a request per resource. Results are taken in resource
    /// order, so the artifact does not depend on which answer came first.
    async fn walk(&mut self, type_id: &str, what: Walk) -> Result<(), SyncError> {
        use futures::StreamExt as _;

        let this = &*self;
        let mut buffer = Buffer::default();
        let phase = match what {
            Walk::Entitlements => SyncPhase::Entitlements,
            Walk::Grants => SyncPhase::Grants,
        };
        let total = this.resource_counts.get(type_id).copied();
        let started = Instant::now();
        let (mut visited, mut items) = (0u64, 0u64);
        let mut batch = this.store.resources_after(type_id, 0, BATCH).await?;
        while let Some(last) = batch.last() {
            // The next batch is asked for now, before this one's rows are sent: the store
            // answers it while the engine works, instead of both waiting for each other in
            // turn. (Nothing adds resources during a walk, so reading ahead is safe.)
            let next = this.store.resources_after(type_id, last.rowid, BATCH);
            let current = async {
                let mut answers = futures::stream::iter(batch.into_iter().map(|stored| {
                    async move {
                        let resource = this.store.decode(&stored)?;
                        let mut found = Buffer::default();
                        // Skipped resources are still counted, so the phase reaches its total.
                        if !has::<v2::SkipEntitlementsAndGrants>(&resource.annotations) {
                            this.check_cancel()?;
                            match what {
                                Walk::Entitlements => {
                                    this.entitlements_of(&resource, &mut found).await?
                                }
                                Walk::Grants => this.grants_of(&resource, &mut found).await?,
                            }
                        }
                        Ok::<_, SyncError>(found)
                    }
                }))
                .buffered(WALK_CONCURRENCY);
                while let Some(found) = answers.next().await {
                    let found = found?;
                    visited += 1;
                    items += found.len() as u64;
                    buffer.entitlements.extend(found.entitlements);
                    buffer.grants.extend(found.grants);
                    this.report(phase, type_id, visited, total, items);
                    if buffer.len() >= BATCH {
                        this.flush(&mut buffer).await?;
                    }
                }
                Ok::<_, SyncError>(())
            };
            let (next, current) = tokio::join!(next, current);
            current?;
            batch = next?;
        }
        this.flush(&mut buffer).await?;
        debug!(
            resource_type = type_id,
            phase = ?phase,
            visited,
            items,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "walked resources"
        );
        Ok(())
    }

    async fn entitlements_of(
        &self,
        resource: &v2::Resource,
        buffer: &mut Buffer,
    ) -> Result<(), SyncError> {
        let (client, page_size) = (self.client, self.opts.page_size);
        follow_pages(
            |page_token| {
                let req = v2::EntitlementsServiceListEntitlementsRequest {
                    resource: Some(resource.clone()),
                    page_size,
                    page_token,
                    ..Default::default()
                };
                async move {
                    let r = client.list_entitlements(req).await?;
                    Ok((r.list, r.next_page_token))
                }
            },
            |items| buffer.entitlements.extend(items),
        )
        .await
        .map_err(|e| connector_err(format!("listing entitlements of {}", describe(resource)), e))
    }

    async fn grants_of(
        &self,
        resource: &v2::Resource,
        buffer: &mut Buffer,
    ) -> Result<(), SyncError> {
        let (client, page_size) = (self.client, self.opts.page_size);
        let scope = self.scope.as_ref();
        follow_pages(
            |page_token| {
                let req = v2::GrantsServiceListGrantsRequest {
                    resource: Some(resource.clone()),
                    page_size,
                    page_token,
                    ..Default::default()
                };
                async move {
                    let r = client.list_grants_scoped(req, scope).await?;
                    Ok((r.list, r.next_page_token))
                }
            },
            |items| buffer.grants.extend(items),
        )
        .await
        .map_err(|e| connector_err(format!("listing grants of {}", describe(resource)), e))
    }

    async fn flush(&self, buffer: &mut Buffer) -> Result<(), SyncError> {
        if !buffer.entitlements.is_empty() {
            let rows = std::mem::take(&mut buffer.entitlements);
            self.store.put(Rows::Entitlements(rows)).await?;
        }
        if !buffer.grants.is_empty() {
            // Encoded here, off the store's thread (see `c1z::GrantRow`).
            let rows = std::mem::take(&mut buffer.grants)
                .into_iter()
                .map(c1z::GrantRow::from)
                .collect();
            self.store.put(Rows::Grants(rows)).await?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Walk {
    Entitlements,
    Grants,
}

/// Entitlements and grants waiting to be written in one batch.
#[derive(Default)]
struct Buffer {
    entitlements: Vec<v2::Entitlement>,
    grants: Vec<v2::Grant>,
}

impl Buffer {
    fn len(&self) -> usize {
        self.entitlements.len() + self.grants.len()
    }
}

/// Follows page tokens from the first page until the connector returns an empty one, handing
/// each page's items to `sink`.
async fn follow_pages<T, F, Fut>(
    mut fetch: F,
    mut sink: impl FnMut(Vec<T>),
) -> Result<(), ConnectorError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), ConnectorError>>,
{
    let mut token = String::new();
    loop {
        let (items, next) = fetch(std::mem::take(&mut token)).await?;
        sink(items);
        if next.is_empty() {
            return Ok(());
        }
        token = next;
    }
}

fn describe(resource: &v2::Resource) -> String {
    resource
        .id
        .as_ref()
        .map(super::ids::resource_key)
        .unwrap_or_else(|| "a resource without id".to_owned())
}

fn connector_err(op: impl Into<String>, source: ConnectorError) -> SyncError {
    SyncError::Connector {
        op: op.into(),
        source,
    }
}
