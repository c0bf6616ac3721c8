//! [`Reader`]: opens any v1 `.c1z` — this crate's and the Go SDK's — and lists what it holds.
//!
//! # Invariants
//! - The artifact itself is never modified: it is unpacked (with the container limits) into a
//!   private temp file, which is removed when the reader is dropped.
//! - Readers never migrate. Files from older SDKs lack columns (`supports_diff`,
//!   `linked_sync_id`, `stats` in `v1_sync_runs`; `expansion`, `needs_expansion` in `v1_grants`)
//!   and may be in WAL mode; queries are built from the columns actually present, and a missing
//!   optional column reads as the SDK's default.
//! - Listing methods return rows in insertion (`id`) order.

use std::path::{Path, PathBuf};

use chrono::{Local, TimeDelta};
use prost::Message;
use rusqlite::{Connection, OptionalExtension, Row, params};
use tempfile::TempDir;

use super::record::{self, resource_key};
use super::schema::{self, ENTITLEMENTS, GRANTS, RESOURCE_TYPES, RESOURCES, SYNC_RUNS};
use super::{Error, Result, SyncRun, SyncStats, container, stats};
use crate::pb;

/// Name prefix of the temp directories readers unpack into (then `<pid>-` and a random part).
const READER_DIR_PREFIX: &str = ".c1z-reader.";

/// How long an unfinished sync stays eligible for [`Reader::latest_sync`].
const UNFINISHED_MAX_AGE: TimeDelta = TimeDelta::days(7);

/// A read-only view of one `.c1z` (see the module docs).
pub struct Reader {
    // Field order matters: the connection closes before the temp dir is removed.
    conn: Connection,
    /// `select … from v1_sync_runs` with defaults for absent columns, without a `where`.
    sync_select: String,
    path: PathBuf,
    db_path: PathBuf,
    _dir: TempDir,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Opens the v1 c1z at `path`.
    ///
    /// The database is unpacked into a temp file (refusing more than 10 GiB decoded or a zstd
    /// window over 128 MiB). A Pebble-based v3 file (`C1Z3\0`) fails with
    /// [`Error::UnsupportedFormatV3`]; a file without the v1 tables with [`Error::Schema`].
    pub fn open(path: &Path) -> Result<Reader> {
        // `.c1z-reader.<pid>-XXXX`: a reader killed before its drop leaves one behind, and the
        // next reader removes those whose process is gone (the artifact can be gigabytes).
        let tmp = std::env::temp_dir();
        super::lock::sweep_dead_owner_dirs(&tmp, READER_DIR_PREFIX);
        let dir = tempfile::Builder::new()
            .prefix(&super::lock::owned_dir_prefix(READER_DIR_PREFIX))
            .tempdir_in(&tmp)
            .map_err(Error::io("create a temp dir in", std::env::temp_dir()))?;
        let db_path = dir.path().join("sync.db");
        container::decompress(path, &db_path)?;

        let conn = Connection::open(&db_path)?;
        let not_sqlite = |e: Error| match e {
            Error::Sqlite(_) => Error::NotSqlite {
                path: path.to_path_buf(),
            },
            e => e,
        };
        // Our private copy: leave WAL mode so no -wal/-shm files are needed.
        conn.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
            .map_err(|e| not_sqlite(e.into()))?;
        conn.pragma_update(None, "trusted_schema", "OFF")?;
        conn.pragma_update(None, "query_only", "ON")?;
        schema::validate(&conn, path).map_err(not_sqlite)?;
        let sync_select = sync_select(&conn)?;
        Ok(Reader {
            conn,
            sync_select,
            path: path.to_path_buf(),
            db_path,
            _dir: dir,
        })
    }

    /// The artifact this reader was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unpacked SQLite database (valid while the reader lives), for inspection in tests.
    pub fn database_path(&self) -> &Path {
        &self.db_path
    }

    /// Every sync run, oldest first.
    pub fn syncs(&self) -> Result<Vec<SyncRun>> {
        let sql = format!("{} order by id", self.sync_select);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let runs = stmt
            .query_map([], sync_run)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(runs)
    }

    /// The run a reader should show: the latest finished full sync (newest `ended_at`, then
    /// newest `sync_id`); failing that, the latest finished sync of any type (e.g.
    /// `resources_only`); failing that, the newest unfinished run started within 7 days.
    pub fn latest_sync(&self) -> Result<Option<SyncRun>> {
        // A finished full sync is the complete picture; failing that, a finished sync of
        // another type (a resources-only run) still answers "what is in this file".
        for only_full in [true, false] {
            let finished = format!(
                "{} where ended_at is not null {} \
                 order by ended_at desc, sync_id desc limit 1",
                self.sync_select,
                if only_full {
                    "and sync_type = 'full'"
                } else {
                    ""
                }
            );
            if let Some(run) = self
                .conn
                .prepare_cached(&finished)?
                .query_row([], sync_run)
                .optional()?
            {
                return Ok(Some(run));
            }
        }
        // Timestamps share one zero-padded layout, so text order is time order.
        let cutoff = record::format_timestamp((Local::now() - UNFINISHED_MAX_AGE).naive_local());
        let unfinished = format!(
            "{} where ended_at is null and started_at >= ?1 order by started_at desc limit 1",
            self.sync_select
        );
        let run = self
            .conn
            .prepare_cached(&unfinished)?
            .query_row([cutoff], sync_run)
            .optional()?;
        Ok(run)
    }

    /// The resource types of a sync.
    pub fn resource_types(&self, sync_id: &str) -> Result<Vec<pb::v2::ResourceType>> {
        self.decode_all(
            RESOURCE_TYPES,
            "select id, data from v1_resource_types where sync_id = ?1 order by id",
            params![sync_id],
        )
    }

    /// The resources of a sync, optionally only those of one resource type.
    pub fn resources(
        &self,
        sync_id: &str,
        resource_type_id: Option<&str>,
    ) -> Result<Vec<pb::v2::Resource>> {
        match resource_type_id {
            None => self.decode_all(
                RESOURCES,
                "select id, data from v1_resources where sync_id = ?1 order by id",
                params![sync_id],
            ),
            Some(ty) => self.decode_all(
                RESOURCES,
                "select id, data from v1_resources \
                 where resource_type_id = ?2 and sync_id = ?1 order by id",
                params![sync_id, ty],
            ),
        }
    }

    /// One resource of a sync by id, if present.
    pub fn resource(
        &self,
        sync_id: &str,
        id: &pb::v2::ResourceId,
    ) -> Result<Option<pb::v2::Resource>> {
        let mut found = self.decode_all(
            RESOURCES,
            "select id, data from v1_resources where external_id = ?2 and sync_id = ?1",
            params![sync_id, resource_key(Some(id))],
        )?;
        Ok(found.pop())
    }

    /// The entitlements of a sync, optionally only those of one resource.
    pub fn entitlements(
        &self,
        sync_id: &str,
        resource: Option<&pb::v2::ResourceId>,
    ) -> Result<Vec<pb::v2::Entitlement>> {
        match resource {
            None => self.decode_all(
                ENTITLEMENTS,
                "select id, data from v1_entitlements where sync_id = ?1 order by id",
                params![sync_id],
            ),
            Some(r) => self.decode_all(
                ENTITLEMENTS,
                "select id, data from v1_entitlements \
                 where resource_type_id = ?2 and resource_id = ?3 and sync_id = ?1 order by id",
                params![sync_id, r.resource_type, r.resource],
            ),
        }
    }

    /// The grants of a sync, optionally only those of one entitlement.
    ///
    /// As in the SDK, a grant is returned as stored in `data`: its `GrantExpandable`
    /// annotation, if it had one, lives in the `expansion` column and is not re-attached.
    pub fn grants(
        &self,
        sync_id: &str,
        entitlement_id: Option<&str>,
    ) -> Result<Vec<pb::v2::Grant>> {
        match entitlement_id {
            None => self.decode_all(
                GRANTS,
                "select id, data from v1_grants where sync_id = ?1 order by id",
                params![sync_id],
            ),
            Some(e) => self.decode_all(
                GRANTS,
                "select id, data from v1_grants \
                 where entitlement_id = ?2 and sync_id = ?1 order by id",
                params![sync_id, e],
            ),
        }
    }

    /// The stats of a sync, counted from its rows (works for any file, stored stats or not).
    pub fn stats(&self, sync_id: &str) -> Result<SyncStats> {
        stats::compute(&self.conn, sync_id, stats::Rows::OfSync)
    }

    /// `(type, name)` of every object in `sqlite_master`, in creation order.
    pub fn schema(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("select type, name from sqlite_master order by rowid")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Runs `sql` (selecting `id, data`) and decodes every `data` as `M`.
    fn decode_all<M: Message + Default>(
        &self,
        table: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<M>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            out.push(M::decode(data).map_err(|source| Error::Decode {
                table,
                rowid,
                source,
            })?);
        }
        Ok(out)
    }
}

/// The `select` for sync runs, substituting the SDK's defaults for columns the file lacks.
fn sync_select(conn: &Connection) -> Result<String> {
    let present = schema::columns(conn, SYNC_RUNS)?;
    let col = |name: &str, default: &str| {
        if present.contains(name) {
            name.to_string()
        } else {
            format!("{default} as {name}")
        }
    };
    Ok(format!(
        "select sync_id, started_at, {}, sync_token, {}, {}, {}, {} from v1_sync_runs",
        col("ended_at", "null"),
        col("sync_type", "'full'"),
        col("parent_sync_id", "''"),
        col("supports_diff", "0"),
        col("stats", "null"),
    ))
}

/// Maps a row of [`sync_select`].
fn sync_run(row: &Row<'_>) -> rusqlite::Result<SyncRun> {
    let stats: Option<String> = row.get(7)?;
    Ok(SyncRun {
        sync_id: row.get(0)?,
        started_at: text(row, 1)?,
        ended_at: row
            .get::<_, Option<rusqlite::types::Value>>(2)?
            .map(value_text),
        sync_token: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
        sync_type: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
        parent_sync_id: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
        supports_diff: row.get::<_, Option<i64>>(6)?.unwrap_or(0) != 0,
        stats: stats.as_deref().and_then(SyncStats::from_json),
    })
}

/// A `datetime` column as text, whatever storage class the writer used.
fn text(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    Ok(value_text(row.get(idx)?))
}

fn value_text(v: rusqlite::types::Value) -> String {
    use rusqlite::types::Value;
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(s) => s,
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    /// A c1z holding a database in the oldest layout the SDK wrote: no `linked_sync_id`,
    /// `supports_diff` or `stats` in the runs, no expansion columns in the grants.
    fn old_layout_c1z(dir: &Path, started_at: &str) -> PathBuf {
        let db = dir.join("old.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "pragma journal_mode = wal;
             create table v1_resource_types (id integer primary key, external_id text not null,
               data blob not null, sync_id text not null, discovered_at datetime not null);
             create table v1_resources (id integer primary key, resource_type_id text not null,
               external_id text not null, parent_resource_type_id text, parent_resource_id text,
               data blob not null, sync_id text not null, discovered_at datetime not null);
             create table v1_entitlements (id integer primary key, resource_type_id text not null,
               resource_id text not null, external_id text not null, data blob not null,
               sync_id text not null, discovered_at datetime not null);
             create table v1_grants (id integer primary key, resource_type_id text not null,
               resource_id text not null, entitlement_id text not null,
               principal_resource_type_id text not null, principal_resource_id text not null,
               external_id text not null, data blob not null, sync_id text not null,
               discovered_at datetime not null);
             create table v1_sync_runs (id integer primary key, sync_id text not null,
               started_at datetime not null, ended_at datetime, sync_token text not null);",
        )
        .unwrap();
        conn.execute(
            "insert into v1_sync_runs (sync_id, started_at, sync_token) values ('old', ?1, '')",
            [started_at],
        )
        .unwrap();
        let user = pb::v2::Resource {
            id: Some(pb::v2::ResourceId {
                resource_type: "user".into(),
                resource: "u1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        conn.execute(
            "insert into v1_resources (resource_type_id, external_id, data, sync_id, discovered_at)
             values ('user', 'user:u1', ?1, 'old', ?2)",
            params![user.encode_to_vec(), started_at],
        )
        .unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
        drop(conn);
        let path = dir.join("old.c1z");
        let mut f = File::create(&path).unwrap();
        container::compress(&db, &mut f, &path).unwrap();
        path
    }

    #[test]
    fn reads_the_oldest_layout_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let started = record::now_timestamp();
        let r = Reader::open(&old_layout_c1z(dir.path(), &started)).unwrap();
        let runs = r.syncs().unwrap();
        assert_eq!(
            runs,
            [SyncRun {
                sync_id: "old".into(),
                started_at: started,
                ended_at: None,
                sync_token: String::new(),
                sync_type: "full".into(),
                parent_sync_id: String::new(),
                supports_diff: false,
                stats: None,
            }]
        );
        // A recent unfinished run is the latest when nothing has finished.
        assert_eq!(r.latest_sync().unwrap().as_ref(), runs.first());
        assert_eq!(r.resources("old", Some("user")).unwrap().len(), 1);
        assert!(r.grants("old", None).unwrap().is_empty());
        assert_eq!(r.stats("old").unwrap().resources, 1);
        let id = pb::v2::ResourceId {
            resource_type: "user".into(),
            resource: "u1".into(),
            ..Default::default()
        };
        assert!(r.resource("old", &id).unwrap().is_some());
    }

    #[test]
    fn stale_unfinished_runs_are_not_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reader::open(&old_layout_c1z(dir.path(), "2020-01-01 00:00:00")).unwrap();
        assert_eq!(r.syncs().unwrap().len(), 1);
        assert_eq!(r.latest_sync().unwrap(), None);
    }

    #[test]
    fn a_database_without_v1_tables_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        Connection::open(&db)
            .unwrap()
            .execute_batch("create table t (a)")
            .unwrap();
        let path = dir.path().join("x.c1z");
        let mut f = File::create(&path).unwrap();
        container::compress(&db, &mut f, &path).unwrap();
        let err = Reader::open(&path).unwrap_err();
        assert!(matches!(err, Error::Schema { .. }), "{err}");
        assert!(err.to_string().contains("v1_"), "{err}");
    }
}
