//! [`Writer`]: builds one or more sync runs into a `.c1z`, then replaces the file atomically.
//!
//! # Lifecycle
//! [`Writer::open`] locks the artifact ([`ArtifactLock`]: one writer per file; a second one fails
//! at once naming the holder's pid), sweeps temporary work that dead writers of the same
//! artifact left behind, and creates its work directory `.<name>.tmp-<pid>` beside the output
//! (so the final rename stays on one file system). It then either unpacks the existing artifact
//! into it — the new sync is *appended*, as the Go SDK does — or creates a fresh database.
//! [`Writer::start_sync`], the `put_*` calls and [`Writer::finish_sync`] fill it.
//! [`Writer::save`] commits, applies retention, makes the database a self-contained
//! rollback-journal file (compacting it when that buys something), compresses it into the
//! work directory, fsyncs, renames it over `<out>`, fsyncs the directory, removes the work
//! directory and releases the lock ([`super::save`]). [`Writer::save_unless`] does the same but
//! gives up before the rename once asked to.
//!
//! # Group commit
//! Committing is the expensive part of a small transaction: every page the batch dirtied is
//! written out (the hot interior pages of the indexes among them) and its rollback
//! journal rebuilt. So consecutive `put_*` batches (and [`Writer::set_sync_token`]) share one
//! *group* transaction, committed once it holds 5,000 rows or is half a second old, when
//! the caller says so ([`Writer::commit`]: the store thread does when it has nothing queued),
//! and before anything else the writer does (starting or finishing a sync, dropping dangling
//! grants, saving).
//!
//! # Invariants
//! - `<out>` is touched exactly once: by the final rename in [`Writer::save`]. Any earlier
//!   failure or cancellation, or dropping the writer, removes the work directory and leaves
//!   `<out>` as it was. A writer killed outright leaves its work directory; the next writer of
//!   the same artifact removes it (only a writer holding the lock does, so no live one loses
//!   its files).
//! - The lock is held from [`Writer::open`] until the writer is gone, so nobody else writes
//!   `<out>` in between.
//! - While building, SQLite runs without durability and without a rollback journal
//!   (`synchronous=OFF`, `journal_mode=OFF`): the work database is thrown away after any
//!   failure or crash, so nothing would ever be rolled back into it. Keeping an in-memory
//!   journal anyway cost a third of the time of storing grants (every index page a group
//!   changed was copied first). The price is that a failed write may leave part of itself
//!   behind, so the first failed write *abandons* the writer: every later call fails with
//!   [`Error::Abandoned`], saving included, and the artifact is left as it was. An artifact
//!   therefore never holds a sync with silently missing or half-written rows.
//! - Cached prepared statements; memory does not grow with the number of rows: SQLite's page
//!   cache is bounded, and so is a group (its dirty pages are written out at commit).
//! - A full or resources-only sync builds without the `v1_grants` indexes nothing asks for
//!   while building (`schema::DEFERRED_INDEXES`); [`Writer::save`] creates them, after
//!   retention, so every saved artifact has the SDK's whole schema. (A fresh database holding
//!   one run gets them at [`Writer::finish_sync`] instead, where its stats count from them.)
//! - Rows are upserted on `(external_id, sync_id)`: putting an object twice in one sync keeps one
//!   row with the latest data. While the unique grant index is deferred, grants whose keys are
//!   certainly new to the run are plain inserts, and the first repeat builds the index
//!   (`super::grant_keys`); the table is the same either way.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use prost::Message;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::grant_keys::GrantKeys;
use super::integrity::{self, DanglingGrants};
use super::lock::{self, ArtifactLock};
use super::record::{self, GrantRow, StoredResource, id_parts, resource_key};
use super::schema;
use super::workdir::{WorkDir, parent_dir};
use super::{Error, Result, SyncId, SyncStats, SyncType, container, save, stats};
use crate::pb;

pub use super::save::TEST_PAUSE_BEFORE_RENAME_ENV;

/// How many finished full syncs [`Writer::save`] keeps (the SDK's default).
pub const KEEP_FULL_SYNCS: usize = 2;

/// Page cache while building: 16 MiB (negative `cache_size` is in KiB). Measured with the
/// benchmark (BENCHMARKS.md): 64 MiB made no sync faster — pages that fall out of SQLite's
/// cache are still in the operating system's — but was most of the memory of a large sync.
const CACHE_KIB: i64 = 16 * 1024;

/// A group transaction is committed once it holds this many rows. Committing writes every
/// page the group dirtied (the hot index pages once, not once per batch). Measured on a large
/// sync (100k users, 300k grants), with the in-memory journal the writer had then: 5,000 and
/// 20,000 cost the same CPU within the noise, and 20,000 added ~10 MiB more peak memory.
const GROUP_ROWS: usize = 5_000;
/// ... or once it has been open this long.
const GROUP_AGE: Duration = Duration::from_millis(500);

/// A group transaction: several `put_*` batches committed together.
#[derive(Debug)]
struct Group {
    /// Rows put in it so far.
    rows: usize,
    /// When it began.
    since: Instant,
}

/// What [`Writer::save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveReport {
    /// The artifact's path (the `out` given to [`Writer::open`]).
    pub path: PathBuf,
    /// Size of the artifact in bytes (magic + compressed frame).
    pub bytes_written: u64,
    /// Size of the uncompressed SQLite database in bytes.
    pub db_bytes: u64,
}

/// Builds sync runs into a `.c1z` (see the module docs for the lifecycle and invariants).
///
/// Blocking; run it on a dedicated thread. Dropping it without [`Writer::save`] discards
/// everything written and leaves the output file untouched.
pub struct Writer {
    // Field order matters: the connection closes before the work dir is removed, and the lock
    // is released last.
    /// The build database, inside `dir`.
    conn: Connection,
    /// The current sync, between `start_sync` and `finish_sync`.
    current: Option<SyncId>,
    /// What the current sync stored, so that its integrity pass can usually be skipped.
    ledger: integrity::Ledger,
    /// Whether the current run's grants go in before their unique index exists.
    grant_keys: GrantKeys,
    /// The open group transaction, if any (see "Group commit" in the module docs).
    group: Option<Group>,
    /// A write failed: the database may hold part of it, so nothing more is done with it.
    abandoned: bool,
    /// Sync runs started by this writer.
    runs: u32,
    /// Whether this writer created the database (rather than unpacking `out`): then saving
    /// may skip the compaction copy (see [`super::save`]).
    fresh: bool,
    /// Where the artifact goes.
    out: PathBuf,
    /// The build database's path.
    db_path: PathBuf,
    /// Work dir `.<name>.tmp-<pid>` beside `out`, holding the artifact's lock; removed (and
    /// the lock released) on drop.
    dir: WorkDir,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("out", &self.out)
            .field("db_path", &self.db_path)
            .field("current", &self.current)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts work on `out`.
    ///
    /// Fails at once with [`Error::Locked`] while another writer (in this or another process)
    /// has `out` open. Otherwise removes what interrupted writers of `out` left beside it and
    /// builds the database in the work dir `.<name>.tmp-<pid>` in `out`'s parent directory. If
    /// `out` exists and is a valid v1 c1z, its database is unpacked first and new syncs are
    /// appended to it (older SDK schemas are extended with the missing optional columns). If
    /// `out` exists but is not a readable v1 c1z, this fails and `out` is left alone.
    pub fn open(out: &Path) -> Result<Writer> {
        let name = out
            .file_name()
            .ok_or_else(|| Error::InvalidPath {
                path: out.to_path_buf(),
            })?
            .to_string_lossy()
            .into_owned();
        let parent = parent_dir(out);
        let lock = ArtifactLock::acquire(out)?;
        lock::sweep_stale(parent, &name);
        let dir = WorkDir::create(parent.join(lock::work_dir_name(&name)), lock)?;
        let db_path = dir.path().join("build.db");

        let existing = match fs::metadata(out) {
            Ok(_) => {
                container::decompress(out, &db_path)?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io("stat", out)(e)),
        };

        let conn = Connection::open(&db_path)?;
        if existing {
            // A damaged database surfaces here, on the first read of the schema.
            schema::validate(&conn, out).map_err(|e| match e {
                Error::Sqlite(_) => Error::NotSqlite {
                    path: out.to_path_buf(),
                },
                e => e,
            })?;
        } else {
            conn.pragma_update(None, "page_size", 4096)?;
        }
        // Leaves WAL mode (SDK files are often WAL); no journal while building (module docs).
        conn.pragma_update_and_check(None, "journal_mode", "OFF", |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "trusted_schema", "OFF")?;
        schema::ensure(&conn, out)?;

        tracing::debug!(out = %out.display(), appending = existing, "c1z writer opened");
        Ok(Writer {
            conn,
            current: None,
            ledger: integrity::Ledger::default(),
            grant_keys: GrantKeys::upserting(),
            group: None,
            abandoned: false,
            runs: 0,
            fresh: !existing,
            out: out.to_path_buf(),
            db_path,
            dir,
        })
    }

    /// The path the artifact will be saved to.
    pub fn path(&self) -> &Path {
        &self.out
    }

    /// The current sync's id, between [`Writer::start_sync`] and [`Writer::finish_sync`].
    pub fn current_sync(&self) -> Option<&SyncId> {
        self.current.as_ref()
    }

    /// Starts a new sync run: a fresh KSUID, `started_at` now, `sync_token=''`,
    /// `grants_backfilled=1`. A `partial` (targeted) sync names the newest finished full sync
    /// in the file as its `parent_sync_id`, as the SDK does. Fails if a sync is already in
    /// progress.
    pub fn start_sync(&mut self, sync_type: SyncType) -> Result<SyncId> {
        if let Some(id) = &self.current {
            return Err(Error::SyncInProgress(id.to_string()));
        }
        self.commit()?;
        let res = self.insert_run(sync_type);
        let id = self.track(res)?;
        self.runs += 1;
        tracing::debug!(sync_id = %id, sync_type = %sync_type, "sync started");
        self.current = Some(id.clone());
        self.ledger.reset();
        Ok(id)
    }

    /// The writes of [`Writer::start_sync`]: the new run's row (and, for a full sync, dropping
    /// the deferred indexes).
    fn insert_run(&mut self, sync_type: SyncType) -> Result<SyncId> {
        if sync_type == SyncType::Partial {
            // A targeted sync stores a handful of grants: for it, rebuilding the deferred
            // indexes over the whole file would cost more. It upserts through the unique
            // index (built now if an earlier run of this writer left it deferred).
            schema::create_grant_indexes(&self.conn, &[schema::GRANT_KEY_INDEX])?;
            self.grant_keys = GrantKeys::upserting();
        } else {
            // Built at the end instead (`schema::DEFERRED_INDEXES`).
            schema::drop_deferred_indexes(&self.conn)?;
            self.grant_keys = GrantKeys::deferring();
        }
        let id = SyncId::generate();
        let parent: String = if sync_type == SyncType::Partial {
            self.conn
                .query_row(
                    "select sync_id from v1_sync_runs where ended_at is not null \
                     and sync_type = 'full' order by ended_at desc, sync_id desc limit 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or_default()
        } else {
            String::new()
        };
        self.conn.execute(
            "insert into v1_sync_runs \
             (sync_id, started_at, sync_token, sync_type, parent_sync_id, grants_backfilled) \
             values (?1, ?2, '', ?3, ?4, 1)",
            params![
                id.as_str(),
                record::now_timestamp(),
                sync_type.as_str(),
                parent
            ],
        )?;
        Ok(id)
    }

    fn sync_id(&self) -> Result<&str> {
        self.current
            .as_ref()
            .map(SyncId::as_str)
            .ok_or(Error::NoSyncInProgress)
    }

    /// Fails with [`Error::Abandoned`] once a write has failed.
    fn usable(&self) -> Result<()> {
        if self.abandoned {
            Err(Error::Abandoned)
        } else {
            Ok(())
        }
    }

    /// Passes on the outcome of a write, abandoning the writer when it failed: without a
    /// journal, the database may hold part of the write (see the module docs).
    fn track<T>(&mut self, res: Result<T>) -> Result<T> {
        if res.is_err() {
            self.abandoned = true;
        }
        res
    }

    /// Opens a batch: the group transaction, if none is open.
    fn begin_batch(&mut self) -> Result<()> {
        self.usable()?;
        if self.group.is_none() {
            let res = self.execute_cached("begin");
            self.track(res)?;
            self.group = Some(Group {
                rows: 0,
                since: Instant::now(),
            });
        }
        Ok(())
    }

    /// Runs one cached statement without parameters.
    fn execute_cached(&self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Closes the batch opened by [`Writer::begin_batch`]: when `res` is a success, commits the
    /// group once it is past [`GROUP_ROWS`] or [`GROUP_AGE`]; when it is a failure, abandons
    /// the writer and returns the error.
    fn end_batch(&mut self, res: Result<()>, rows: usize) -> Result<()> {
        self.track(res)?;
        if let Some(g) = &mut self.group {
            g.rows += rows;
            if g.rows >= GROUP_ROWS || g.since.elapsed() >= GROUP_AGE {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Commits the open group transaction, if any: everything put so far becomes part of the
    /// build database. The store thread calls this whenever it has nothing else to do; every
    /// method that is not a `put_*` or [`Writer::set_sync_token`] calls it first.
    ///
    /// On failure the writer is abandoned and the error returned: the sync has failed.
    pub fn commit(&mut self) -> Result<()> {
        self.usable()?;
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let res = self.execute_cached("commit");
        self.track(res)?;
        tracing::trace!(rows = group.rows, "c1z group committed");
        Ok(())
    }

    /// Upserts resource types (`external_id` = `ResourceType.id`) as one batch.
    pub fn put_resource_types(&mut self, items: &[pb::v2::ResourceType]) -> Result<()> {
        let sync_id = self.sync_id()?.to_owned();
        if items.is_empty() {
            return Ok(());
        }
        let now = record::now_timestamp();
        self.begin_batch()?;
        let res = (|| {
            let mut stmt = self.conn.prepare_cached(
                "insert into v1_resource_types (external_id, data, sync_id, discovered_at) \
                 values (?1, ?2, ?3, ?4) \
                 on conflict (external_id, sync_id) do update set data = excluded.data",
            )?;
            for rt in items {
                stmt.execute(params![rt.id, rt.encode_to_vec(), sync_id, now])?;
            }
            Ok(())
        })();
        self.end_batch(res, items.len())
    }

    /// Upserts resources (`external_id` = `"<type>:<id>"`, parent columns from
    /// `parent_resource_id` or NULL) as one batch.
    pub fn put_resources(&mut self, items: &[pb::v2::Resource]) -> Result<()> {
        let sync_id = self.sync_id()?.to_owned();
        if items.is_empty() {
            return Ok(());
        }
        let now = record::now_timestamp();
        self.begin_batch()?;
        let res = (|| {
            let mut stmt = self.conn.prepare_cached(
                "insert into v1_resources (resource_type_id, external_id, parent_resource_type_id, \
                 parent_resource_id, data, sync_id, discovered_at) \
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 on conflict (external_id, sync_id) do update set \
                 resource_type_id = excluded.resource_type_id, \
                 parent_resource_type_id = excluded.parent_resource_type_id, \
                 parent_resource_id = excluded.parent_resource_id, \
                 data = excluded.data",
            )?;
            for r in items {
                let (ty, _) = id_parts(r.id.as_ref());
                let parent = r.parent_resource_id.as_ref();
                stmt.execute(params![
                    ty,
                    resource_key(r.id.as_ref()),
                    parent.map(|p| p.resource_type.as_str()),
                    parent.map(|p| p.resource.as_str()),
                    r.encode_to_vec(),
                    sync_id,
                    now
                ])?;
            }
            Ok(())
        })();
        self.end_batch(res, items.len())?;
        self.ledger
            .resources(items.iter().map(|r| id_parts(r.id.as_ref())));
        Ok(())
    }

    /// Upserts entitlements (`external_id` = `Entitlement.id`, resource columns from
    /// `entitlement.resource.id`) as one batch.
    pub fn put_entitlements(&mut self, items: &[pb::v2::Entitlement]) -> Result<()> {
        let sync_id = self.sync_id()?.to_owned();
        if items.is_empty() {
            return Ok(());
        }
        let now = record::now_timestamp();
        self.begin_batch()?;
        let res = (|| {
            let mut stmt = self.conn.prepare_cached(
                "insert into v1_entitlements (resource_type_id, resource_id, external_id, data, \
                 sync_id, discovered_at) values (?1, ?2, ?3, ?4, ?5, ?6) \
                 on conflict (external_id, sync_id) do update set \
                 resource_type_id = excluded.resource_type_id, \
                 resource_id = excluded.resource_id, data = excluded.data",
            )?;
            for e in items {
                let (ty, id) = id_parts(e.resource.as_ref().and_then(|r| r.id.as_ref()));
                stmt.execute(params![ty, id, e.id, e.encode_to_vec(), sync_id, now])?;
            }
            Ok(())
        })();
        self.end_batch(res, items.len())?;
        self.ledger
            .entitlements(items.iter().map(|e| e.id.as_str()));
        Ok(())
    }

    /// Upserts grants as one batch. A `GrantExpandable` annotation is moved out of `data` into
    /// `expansion` (with `needs_expansion=1`); other grants get NULL and 0.
    pub fn put_grants(&mut self, items: &[pb::v2::Grant]) -> Result<()> {
        let rows: Vec<GrantRow> = items.iter().cloned().map(GrantRow::from).collect();
        self.put_grant_rows(&rows)
    }

    /// [`Writer::put_grants`] for grants already made into rows (on the producer's thread).
    pub fn put_grant_rows(&mut self, items: &[GrantRow]) -> Result<()> {
        let sync_id = self.sync_id()?.to_owned();
        if items.is_empty() {
            return Ok(());
        }
        let now = record::now_timestamp();
        self.begin_batch()?;
        let res = self
            .ledger
            .before_grants(&self.conn, &sync_id)
            .and_then(|()| self.store_grants(items, &sync_id, &now));
        self.end_batch(res, items.len())
    }

    /// The writes of [`Writer::put_grant_rows`]: plain inserts for the leading grants certainly
    /// new to the run while the unique index is deferred, upserts for the rest — after building
    /// the index, when it was still deferred (`super::grant_keys`).
    fn store_grants(&mut self, items: &[GrantRow], sync_id: &str, now: &str) -> Result<()> {
        let new = self.grant_keys.admit(items);
        let (inserts, upserts) = items.split_at(new);
        insert_grants(
            &self.conn,
            &mut self.ledger,
            inserts,
            sync_id,
            now,
            Conflict::Fail,
        )?;
        if upserts.is_empty() {
            return Ok(());
        }
        if self.grant_keys.deferred() {
            tracing::debug!(
                grants = self.grant_keys.remembered(),
                "a grant key came twice: building the unique grant index now"
            );
            schema::create_grant_indexes(&self.conn, &[schema::GRANT_KEY_INDEX])?;
            self.grant_keys.index_built();
        }
        insert_grants(
            &self.conn,
            &mut self.ledger,
            upserts,
            sync_id,
            now,
            Conflict::Update,
        )
    }

    /// Resources of the current sync of one type with `rowid > after`, ordered by rowid, at most
    /// `limit`. Pass the last rowid returned as the next `after` to walk all of them.
    #[cfg(test)]
    pub(crate) fn resources_after(
        &mut self,
        resource_type_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, pb::v2::Resource)>> {
        self.stored_resources_after(resource_type_id, after, limit)?
            .iter()
            .map(|r| Ok((r.rowid, r.decode()?)))
            .collect()
    }

    /// [`Writer::resources_after`], still encoded: the caller decodes them on its own thread.
    ///
    /// Sees every resource put before it, committed or not: it reads on the connection that
    /// holds the open group, so it does not need to commit it.
    pub fn stored_resources_after(
        &mut self,
        resource_type_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredResource>> {
        self.usable()?;
        let sync_id = self.sync_id()?;
        let mut stmt = self.conn.prepare_cached(
            "select id, data from v1_resources \
             where resource_type_id = ?1 and id > ?2 and sync_id = ?3 order by id limit ?4",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![resource_type_id, after, sync_id, limit], |row| {
            Ok(StoredResource {
                rowid: row.get(0)?,
                data: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores the connector's resume state for the current sync.
    pub fn set_sync_token(&mut self, token: &str) -> Result<()> {
        self.usable()?;
        let sync_id = self.sync_id()?;
        let res = self
            .conn
            .prepare_cached("update v1_sync_runs set sync_token = ?1 where sync_id = ?2")
            .and_then(|mut s| s.execute(params![token, sync_id]))
            .map(drop)
            .map_err(Error::from);
        self.track(res)
    }

    /// Deletes the current sync's grants whose entitlement or principal is not in it (see
    /// [`super::integrity`]) and says what went.
    pub fn drop_dangling_grants(&mut self) -> Result<DanglingGrants> {
        let sync_id = self.sync_id()?.to_owned();
        self.commit()?;
        let res = integrity::drop_dangling_grants(&self.conn, &sync_id, &self.ledger);
        self.track(res)
    }

    /// What the current sync stored, as the integrity pass sees it.
    #[cfg(test)]
    pub(crate) fn ledger(&self) -> &integrity::Ledger {
        &self.ledger
    }

    /// The build database, for tests that look inside.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Marks the current sync finished: counts its rows, stores the stats JSON and
    /// `supports_diff=1`, then `ended_at`. Returns the stats.
    pub fn finish_sync(&mut self) -> Result<SyncStats> {
        self.finish_sync_unless(&|| false)
    }

    /// [`Writer::finish_sync`], unless `cancelled` says so first or while the deferred indexes
    /// are being built (see [`Writer::end_run`]): then it fails with [`Error::Cancelled`] and
    /// the writer is abandoned (the sync is over; `out` is left as it was).
    pub fn finish_sync_unless(
        &mut self,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<SyncStats> {
        let sync_id = self.sync_id()?.to_owned();
        self.commit()?;
        let res = self.end_run(&sync_id, cancelled);
        let stats = self.track(res)?;
        tracing::debug!(sync_id = %sync_id, ?stats, "sync finished");
        self.current = None;
        Ok(stats)
    }

    /// The writes of [`Writer::finish_sync`]: the run's stats, then its end.
    ///
    /// When the database is this writer's and holds this run alone, the deferred indexes are
    /// built here rather than at save (retention cannot remove anything from it, so they are
    /// built over the same rows either way), and the stats count from them.
    fn end_run(
        &mut self,
        sync_id: &str,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<SyncStats> {
        let rows = if self.fresh && self.runs == 1 {
            save::interruptible(&self.conn, &self.out, cancelled, || {
                schema::create_deferred_indexes(&self.conn)
            })?;
            stats::Rows::All
        } else {
            stats::Rows::OfSync
        };
        let stats = stats::compute(&self.conn, sync_id, rows)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "update v1_sync_runs set stats = ?1, supports_diff = 1 where sync_id = ?2",
            params![stats.to_json(), sync_id],
        )?;
        tx.execute(
            "update v1_sync_runs set ended_at = ?1 where sync_id = ?2 and ended_at is null",
            params![record::now_timestamp(), sync_id],
        )?;
        tx.commit()?;
        Ok(stats)
    }

    /// Applies retention, compacts and compresses the database, and atomically replaces `out`.
    ///
    /// Retention keeps the newest [`KEEP_FULL_SYNCS`] finished full syncs and deletes every row
    /// of older finished full syncs from all `v1_` tables (other runs are left alone). The
    /// database becomes a rollback-journal, page-size-4096 file — `VACUUM`ed into one, unless
    /// this writer created it and nothing was deleted (see [`super::save`]) — and is compressed
    /// into `new.c1z` in the work directory, which is fsynced and renamed over `out`; finally
    /// the directory is fsynced. On any failure the temp files are removed and `out` is
    /// untouched.
    ///
    /// A sync that was started but not finished is saved as it is (no `ended_at`): a checkpoint
    /// readers show only while it is recent and no finished full sync exists.
    pub fn save(self) -> Result<SaveReport> {
        self.save_unless(&|| false)
    }

    /// [`Writer::save`], unless `cancelled` says so before the rename: then it stops with
    /// [`Error::Cancelled`], removes its temporary files and leaves `out` as it was.
    ///
    /// `cancelled` is asked before each step, every few milliseconds while SQLite compacts
    /// (the statement is interrupted), between 1 MiB chunks of compression, and one last time
    /// right before the rename; after the rename the save is done and reports success whatever
    /// `cancelled` says. So a save of any size stops within a fraction of a second of being
    /// asked to, and the answer says truthfully whether `out` was replaced.
    pub fn save_unless(mut self, cancelled: &(dyn Fn() -> bool + Sync)) -> Result<SaveReport> {
        self.commit()?;
        let Writer {
            conn,
            out,
            db_path,
            dir,
            fresh,
            ..
        } = self;
        // The connection is closed inside; the work dir, and with it the lock, goes last.
        let saved = save::save_in(conn, &out, &db_path, &dir, fresh, cancelled);
        drop(dir);
        let (bytes_written, db_bytes) = saved?;
        tracing::debug!(path = %out.display(), bytes_written, db_bytes, "c1z saved");
        Ok(SaveReport {
            path: out,
            bytes_written,
            db_bytes,
        })
    }
}

/// Grants per `insert` statement in [`insert_grants`]: one statement for many rows spends
/// less per row on SQLite's statement machinery (bind, step, reset) than one per row does.
const GRANTS_PER_INSERT: usize = 50;

/// What an insert of [`insert_grants`] does with a grant already stored in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    /// Nothing: the grants are known to be new and the unique index may not exist (a plain
    /// insert; a repeat that slipped through would fail on the index when it is built).
    Fail,
    /// Update it (the SDK's upsert; needs the unique index).
    Update,
}

/// The insert of [`insert_grants`] for `rows` rows. `?1` is the sync id and `?2` the time, shared
/// by all rows; row `k` binds its nine columns to `?(3 + 9k)` … `?(11 + 9k)`.
fn grant_insert_sql(rows: usize, conflict: Conflict) -> String {
    let values: Vec<String> = (0..rows)
        .map(|k| {
            let own: Vec<String> = (0..9).map(|c| format!("?{}", 3 + 9 * k + c)).collect();
            format!("({}, ?1, ?2)", own.join(", "))
        })
        .collect();
    // The conflict clause is the SDK's: needs_expansion flips to 1 only when the
    // expansion changes, and to 0 when it goes away. Rows of one statement are upserted in
    // order, so a grant given twice in one batch keeps its last version, as with one row each.
    let insert = format!(
        "insert into v1_grants (resource_type_id, resource_id, entitlement_id, \
         principal_resource_type_id, principal_resource_id, external_id, expansion, \
         needs_expansion, data, sync_id, discovered_at) \
         values {}",
        values.join(", ")
    );
    if conflict == Conflict::Fail {
        return insert;
    }
    format!(
        "{insert} on conflict (external_id, sync_id) do update set \
         resource_type_id = excluded.resource_type_id, \
         resource_id = excluded.resource_id, \
         entitlement_id = excluded.entitlement_id, \
         principal_resource_type_id = excluded.principal_resource_type_id, \
         principal_resource_id = excluded.principal_resource_id, \
         data = excluded.data, \
         expansion = excluded.expansion, \
         needs_expansion = case \
           when excluded.expansion is null or excluded.expansion = x'' then 0 \
           when v1_grants.expansion is null then 1 \
           when v1_grants.expansion != excluded.expansion then 1 \
           else v1_grants.needs_expansion end"
    )
}

/// Inserts grants (for [`Writer::store_grants`]), checking each against the ledger as it goes:
/// [`GRANTS_PER_INSERT`] rows per statement, the rest one by one.
fn insert_grants(
    conn: &Connection,
    ledger: &mut integrity::Ledger,
    items: &[GrantRow],
    sync_id: &str,
    now: &str,
    conflict: Conflict,
) -> Result<()> {
    static SQL: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
        [Conflict::Fail, Conflict::Update].map(|c| {
            [
                grant_insert_sql(GRANTS_PER_INSERT, c),
                grant_insert_sql(1, c),
            ]
        })
    });
    if items.is_empty() {
        return Ok(());
    }
    let [many_sql, one_sql] = &SQL[usize::from(conflict == Conflict::Update)];
    let chunks = items.chunks_exact(GRANTS_PER_INSERT);
    let rest = chunks.remainder();
    let mut many = conn.prepare_cached(many_sql)?;
    for chunk in chunks {
        bind_grants(&mut many, ledger, chunk, sync_id, now)?;
        many.raw_execute()?;
    }
    let mut one = conn.prepare_cached(one_sql)?;
    for g in rest {
        bind_grants(&mut one, ledger, std::slice::from_ref(g), sync_id, now)?;
        one.raw_execute()?;
    }
    Ok(())
}

/// Binds `rows` to a statement of [`grant_insert_sql`] for as many rows, noting each in the
/// ledger.
fn bind_grants(
    stmt: &mut rusqlite::CachedStatement<'_>,
    ledger: &mut integrity::Ledger,
    rows: &[GrantRow],
    sync_id: &str,
    now: &str,
) -> Result<()> {
    stmt.raw_bind_parameter(1, sync_id)?;
    stmt.raw_bind_parameter(2, now)?;
    for (k, g) in rows.iter().enumerate() {
        let resource = (g.resource_type_id.as_str(), g.resource_id.as_str());
        let principal = (
            g.principal_resource_type_id.as_str(),
            g.principal_resource_id.as_str(),
        );
        ledger.grant(&g.entitlement_id, resource, principal);
        let at = 3 + 9 * k;
        stmt.raw_bind_parameter(at, &g.resource_type_id)?;
        stmt.raw_bind_parameter(at + 1, &g.resource_id)?;
        stmt.raw_bind_parameter(at + 2, &g.entitlement_id)?;
        stmt.raw_bind_parameter(at + 3, &g.principal_resource_type_id)?;
        stmt.raw_bind_parameter(at + 4, &g.principal_resource_id)?;
        stmt.raw_bind_parameter(at + 5, &g.external_id)?;
        stmt.raw_bind_parameter(at + 6, &g.columns.expansion)?;
        stmt.raw_bind_parameter(at + 7, i64::from(g.columns.expansion.is_some()))?;
        stmt.raw_bind_parameter(at + 8, &g.columns.data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;

    /// One column of a sync run, as text.
    fn sync_run_column(conn: &Connection, sync_id: &str, column: &str) -> Option<String> {
        conn.query_row(
            &format!("select cast({column} as text) from v1_sync_runs where sync_id = ?1"),
            [sync_id],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
        .flatten()
    }
    use crate::pb::v2::{Entitlement, Grant, GrantExpandable, Resource, ResourceId};

    fn rid(ty: &str, id: &str) -> ResourceId {
        ResourceId {
            resource_type: ty.into(),
            resource: id.into(),
            ..Default::default()
        }
    }

    /// The `member` entitlement of group `g`.
    fn member_of(g: &str) -> Entitlement {
        Entitlement {
            id: format!("group:{g}:member"),
            resource: Some(resource("group", g)),
            ..Default::default()
        }
    }

    fn resource(ty: &str, id: &str) -> Resource {
        Resource {
            id: Some(rid(ty, id)),
            display_name: format!("{ty} {id}"),
            ..Default::default()
        }
    }

    /// Every column but the rowid and the time, of every grant, by external id.
    fn grant_table(w: &Writer) -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = w
            .conn
            .prepare(
                "select external_id, resource_type_id, resource_id, entitlement_id, \
                 principal_resource_type_id, principal_resource_id, expansion, \
                 needs_expansion, data from v1_grants order by external_id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            (0..9).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    /// `count` grants over `ids` grant ids (grant `i` has id `i % ids`, so a count past `ids`
    /// repeats them), every third one expandable, towards one of two entitlements by round.
    fn grants_over(count: usize, ids: usize) -> Vec<Grant> {
        (0..count)
            .map(|i| {
                let n = i % ids;
                let expandable = GrantExpandable {
                    entitlement_ids: vec![format!("group:e{}:member", (i / ids) % 2)],
                    ..Default::default()
                };
                let annotations = if i % 3 == 0 {
                    vec![crate::baton::annotations::pack(&expandable)]
                } else {
                    vec![]
                };
                Grant {
                    id: format!("group:g{n}:member:user:u{n}"),
                    entitlement: Some(Entitlement {
                        id: format!("group:g{n}:member"),
                        resource: Some(resource("group", &format!("g{n}"))),
                        ..Default::default()
                    }),
                    principal: Some(resource("user", &format!("u{}", i))),
                    annotations,
                    ..Default::default()
                }
            })
            .collect()
    }

    /// A writer of a new artifact at `path`, in a full sync.
    fn full_sync(path: &Path) -> Writer {
        let mut w = Writer::open(path).unwrap();
        w.start_sync(SyncType::Full).unwrap();
        w
    }

    #[test]
    fn many_grants_per_statement_upsert_like_one_at_a_time() {
        // 173 grants over 70 ids: repeats within one statement and across statements, and an
        // expansion that appears, changes, stays and goes away.
        let grants = grants_over(173, 70);
        let dir = tempfile::tempdir().unwrap();
        let mut batched = full_sync(&dir.path().join("a.c1z"));
        batched.put_grants(&grants).unwrap();
        let mut single = full_sync(&dir.path().join("b.c1z"));
        for g in &grants {
            single.put_grants(std::slice::from_ref(g)).unwrap();
        }
        let (got, want) = (grant_table(&batched), grant_table(&single));
        assert_eq!(got.len(), 70);
        assert_eq!(got, want);
        assert!(
            want.iter()
                .any(|row| row[7] == rusqlite::types::Value::Integer(1)),
            "some grant still needs expansion"
        );
    }

    fn has_grant_key_index(w: &Writer) -> bool {
        index_names(&w.conn)
            .iter()
            .any(|n| n == schema::GRANT_KEY_INDEX)
    }

    /// A writer of a full sync whose grants are upserted through the unique index from the
    /// first, as before the index was deferred: the reference for what deferring must store.
    fn upserting_writer(path: &Path) -> Writer {
        let mut w = full_sync(path);
        schema::create_grant_indexes(&w.conn, &[schema::GRANT_KEY_INDEX]).unwrap();
        w.grant_keys = GrantKeys::upserting();
        w
    }

    #[test]
    fn deferring_the_grant_key_index_stores_what_upserting_stores() {
        // Batches of 40 over 100 ids: new keys only in the first two and a half batches, then a
        // repeat in the middle of the third (grant 100 is id 0 again), then only repeats.
        let grants = grants_over(260, 100);
        let dir = tempfile::tempdir().unwrap();
        let mut deferring = full_sync(&dir.path().join("a.c1z"));
        let mut upserting = upserting_writer(&dir.path().join("b.c1z"));
        for (k, batch) in grants.chunks(40).enumerate() {
            deferring.put_grants(batch).unwrap();
            upserting.put_grants(batch).unwrap();
            // Built exactly when the first repeat came (in the third batch).
            assert_eq!(has_grant_key_index(&deferring), k >= 2, "after batch {k}");
        }
        let (got, want) = (grant_table(&deferring), grant_table(&upserting));
        assert_eq!(got.len(), 100);
        assert_eq!(got, want);
    }

    #[test]
    fn a_run_without_repeats_builds_the_grant_key_index_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = full_sync(&dir.path().join("a.c1z"));
        w.put_grants(&grants_over(120, 120)).unwrap();
        assert!(!has_grant_key_index(&w));
        w.finish_sync().unwrap();
        assert!(has_grant_key_index(&w));
    }

    #[test]
    fn past_its_key_limit_a_run_upserts_and_stores_the_same() {
        let grants = grants_over(90, 60);
        let dir = tempfile::tempdir().unwrap();
        let mut limited = full_sync(&dir.path().join("a.c1z"));
        limited.grant_keys = GrantKeys::deferring_at_most(25);
        limited.put_grants(&grants[..20]).unwrap();
        assert!(!has_grant_key_index(&limited));
        limited.put_grants(&grants[20..]).unwrap();
        assert!(has_grant_key_index(&limited));
        let mut upserting = upserting_writer(&dir.path().join("b.c1z"));
        upserting.put_grants(&grants).unwrap();
        assert_eq!(grant_table(&limited), grant_table(&upserting));
    }

    #[test]
    fn a_targeted_run_upserts_through_the_index_an_earlier_run_deferred() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = full_sync(&dir.path().join("a.c1z"));
        w.put_grants(&grants_over(10, 10)).unwrap();
        w.finish_sync().unwrap();
        // A second full run in one writer: its deferred indexes wait for the save.
        w.start_sync(SyncType::Full).unwrap();
        w.put_grants(&grants_over(10, 10)).unwrap();
        w.finish_sync().unwrap();
        assert!(!has_grant_key_index(&w));
        w.start_sync(SyncType::Partial).unwrap();
        assert!(has_grant_key_index(&w));
        let again = grants_over(12, 12);
        w.put_grants(&again).unwrap();
        w.put_grants(&again).unwrap();
        let partial = w.sync_id().unwrap().to_owned();
        let stored: i64 = w
            .conn
            .query_row(
                "select count(*) from v1_grants where sync_id = ?1",
                [&partial],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 12);
    }

    #[test]
    fn grant_rows_carry_expansion_and_key_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(&dir.path().join("a.c1z")).unwrap();
        let sync = w.start_sync(SyncType::Full).unwrap();
        let ent = member_of("g1");
        let exp = GrantExpandable {
            entitlement_ids: vec!["group:g2:member".into()],
            ..Default::default()
        };
        let expandable = Grant {
            id: "group:g1:member:group:g2".into(),
            entitlement: Some(ent.clone()),
            principal: Some(resource("group", "g2")),
            annotations: vec![prost_types::Any {
                type_url: "type.googleapis.com/c1.connector.v2.GrantExpandable".into(),
                value: exp.encode_to_vec(),
            }],
            ..Default::default()
        };
        let plain = Grant {
            id: "group:g1:member:user:u1".into(),
            entitlement: Some(ent),
            principal: Some(resource("user", "u1")),
            ..Default::default()
        };
        w.put_grants(&[expandable, plain.clone()]).unwrap();
        // Upserting again keeps one row per id.
        w.put_grants(std::slice::from_ref(&plain)).unwrap();

        /// external_id, resource_type_id, resource_id, entitlement_id, principal type,
        /// expansion, needs_expansion, data.
        type Row = (
            String,
            String,
            String,
            String,
            String,
            Option<Vec<u8>>,
            i64,
            Vec<u8>,
        );
        let rows: Vec<Row> = w
            .conn
            .prepare(
                "select external_id, resource_type_id, resource_id, entitlement_id, \
                 principal_resource_type_id, expansion, needs_expansion, data \
                 from v1_grants order by id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        let (ext, ty, id, ent_id, pty, expansion, needs, data) = &rows[0];
        assert_eq!(
            (
                ext.as_str(),
                ty.as_str(),
                id.as_str(),
                ent_id.as_str(),
                pty.as_str()
            ),
            (
                "group:g1:member:group:g2",
                "group",
                "g1",
                "group:g1:member",
                "group"
            )
        );
        assert_eq!(expansion.as_deref(), Some(exp.encode_to_vec().as_slice()));
        assert_eq!(*needs, 1);
        assert!(
            Grant::decode(data.as_slice())
                .unwrap()
                .annotations
                .is_empty()
        );
        assert_eq!(rows[1].5, None);
        assert_eq!(rows[1].6, 0);
        assert_eq!(rows[1].7, plain.encode_to_vec());

        let stats = w.finish_sync().unwrap();
        assert_eq!(stats.grants, 2);
        assert_eq!(
            sync_run_column(&w.conn, sync.as_str(), "supports_diff").as_deref(),
            Some("1")
        );
        assert_eq!(
            sync_run_column(&w.conn, sync.as_str(), "grants_backfilled").as_deref(),
            Some("1")
        );
    }

    fn index_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("select name from sqlite_master where type = 'index' and sql is not null order by name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_lone_run_is_counted_from_its_indexes_and_counts_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(&dir.path().join("a.c1z")).unwrap();
        let sync = w.start_sync(SyncType::Full).unwrap();
        let ent = member_of("g1");
        w.put_resources(&[
            resource("group", "g1"),
            resource("user", "u1"),
            resource("user", "u2"),
        ])
        .unwrap();
        w.put_entitlements(std::slice::from_ref(&ent)).unwrap();
        let grants: Vec<Grant> = ["u1", "u2"]
            .iter()
            .map(|u| Grant {
                id: format!("group:g1:member:user:{u}"),
                entitlement: Some(ent.clone()),
                principal: Some(resource("user", u)),
                ..Default::default()
            })
            .collect();
        w.put_grants(&grants).unwrap();
        let stats = w.finish_sync().unwrap();
        // The deferred indexes were built for the count, before the save.
        let names = index_names(w.connection());
        for name in schema::DEFERRED_INDEXES {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
        let filtered = stats::compute(w.connection(), sync.as_str(), stats::Rows::OfSync).unwrap();
        assert_eq!(stats, filtered);
        assert_eq!((stats.resources, stats.grants), (3, 2));
        assert_eq!(stats.grants_by_resource_type.get("group"), Some(&2));
    }

    #[test]
    fn finishing_a_lone_run_gives_up_when_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.c1z");
        let mut w = full_sync(&out);
        w.put_resources(&[resource("user", "u1")]).unwrap();
        let err = w.finish_sync_unless(&|| true).expect_err("cancelled");
        assert!(
            matches!(err, Error::Cancelled { ref path } if *path == out),
            "{err:?}"
        );
        assert!(matches!(w.save(), Err(Error::Abandoned)));
        assert!(!out.exists());
    }

    #[test]
    fn saved_artifacts_have_every_index_the_deferred_ones_too() {
        let spec = {
            let c = Connection::open_in_memory().unwrap();
            schema::ensure(&c, Path::new(":memory:")).unwrap();
            index_names(&c)
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.c1z");
        let ent = member_of("g1");
        // Fresh, then appended to, then a targeted sync (which keeps them while building).
        for (round, kind) in [SyncType::Full, SyncType::Full, SyncType::Partial]
            .into_iter()
            .enumerate()
        {
            let mut w = Writer::open(&out).unwrap();
            w.start_sync(kind).unwrap();
            let building = index_names(w.connection());
            for name in schema::DEFERRED_INDEXES {
                let present = building.iter().any(|n| n == name);
                assert_eq!(
                    present,
                    kind == SyncType::Partial,
                    "{name} in round {round}"
                );
            }
            w.put_resources(&[resource("group", "g1"), resource("user", "u1")])
                .unwrap();
            w.put_entitlements(std::slice::from_ref(&ent)).unwrap();
            w.put_grants(&[Grant {
                id: format!("group:g1:member:user:u{round}"),
                entitlement: Some(ent.clone()),
                principal: Some(resource("user", "u1")),
                ..Default::default()
            }])
            .unwrap();
            w.finish_sync().unwrap();
            w.save().unwrap();
            let db = dir.path().join(format!("round{round}.db"));
            container::decompress(&out, &db).unwrap();
            let saved = Connection::open(&db).unwrap();
            assert_eq!(index_names(&saved), spec, "round {round}");
            // And the indexes are usable: the SDK's lookup by entitlement finds the grant.
            let n: i64 = saved
                .query_row(
                    "select count(*) from v1_grants indexed by \
                     idx_grants_entitlement_id_principal_id_v1 where entitlement_id = ?1",
                    ["group:g1:member"],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(n >= 1, "round {round}: {n}");
        }
    }

    #[test]
    fn writes_need_a_running_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(&dir.path().join("a.c1z")).unwrap();
        assert!(matches!(
            w.put_resources(&[resource("user", "1")]),
            Err(Error::NoSyncInProgress)
        ));
        w.start_sync(SyncType::Full).unwrap();
        assert!(matches!(
            w.start_sync(SyncType::Full),
            Err(Error::SyncInProgress(_))
        ));
        w.finish_sync().unwrap();
        assert!(matches!(w.finish_sync(), Err(Error::NoSyncInProgress)));
    }

    #[test]
    fn a_failed_batch_abandons_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.c1z");
        let mut w = full_sync(&out);
        w.conn
            .execute_batch(
                "create temp trigger boom before insert on v1_resources \
                 when new.external_id = 'user:boom' begin select raise(abort, 'boom'); end",
            )
            .unwrap();
        w.put_resources(&[resource("user", "a")]).unwrap();
        assert!(w.group.is_some(), "the first batch opened a group");
        let err = w
            .put_resources(&[
                resource("user", "b"),
                resource("user", "boom"),
                resource("user", "c"),
            ])
            .expect_err("the trigger fails the batch");
        assert!(format!("{err:?}").contains("boom"), "{err:?}");
        // Without a journal the batch may have left "user:b" behind: nothing goes on.
        assert!(matches!(
            w.put_resources(&[resource("user", "d")]),
            Err(Error::Abandoned)
        ));
        assert!(matches!(w.set_sync_token("{}"), Err(Error::Abandoned)));
        assert!(matches!(
            w.resources_after("user", 0, 10),
            Err(Error::Abandoned)
        ));
        assert!(matches!(w.commit(), Err(Error::Abandoned)));
        assert!(matches!(w.finish_sync(), Err(Error::Abandoned)));
        assert!(matches!(w.save(), Err(Error::Abandoned)));
        assert!(!out.exists(), "no artifact from an abandoned writer");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "and no work files"
        );
    }

    #[test]
    fn the_build_database_runs_without_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::open(&dir.path().join("a.c1z")).unwrap();
        let mode: String = w
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "off");
    }

    #[test]
    fn a_group_commits_itself_once_it_is_large() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = full_sync(&dir.path().join("a.c1z"));
        let users: Vec<Resource> = (0..GROUP_ROWS - 1)
            .map(|i| resource("user", &i.to_string()))
            .collect();
        w.put_resources(&users).unwrap();
        w.set_sync_token("{}").unwrap();
        assert!(!w.conn.is_autocommit(), "still one open group");
        w.put_resources(&[resource("user", "last")]).unwrap();
        assert!(w.group.is_none() && w.conn.is_autocommit(), "committed");
    }

    #[test]
    fn resources_after_sees_what_the_open_group_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = full_sync(&dir.path().join("a.c1z"));
        w.put_resources(&[resource("user", "1"), resource("user", "2")])
            .unwrap();
        assert!(!w.conn.is_autocommit(), "the rows are not committed yet");
        let page = w.resources_after("user", 0, 10).unwrap();
        assert_eq!(
            page.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            [resource("user", "1"), resource("user", "2")]
        );
    }

    #[test]
    fn resources_after_pages_by_rowid() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = full_sync(&dir.path().join("a.c1z"));
        let users: Vec<Resource> = (0..25).map(|i| resource("user", &i.to_string())).collect();
        w.put_resources(&users).unwrap();
        w.put_resources(&[resource("group", "g")]).unwrap();
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = w.resources_after("user", after, 10).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 10);
            after = page.last().unwrap().0;
            seen.extend(page.into_iter().map(|(_, r)| r));
        }
        assert_eq!(seen, users);
    }
}
