//! The v1 SQLite schema, exactly as the Baton SDK creates it (spec: `shared/spec/c1z.md`).
//!
//! Table names, column declarations and index names are the SDK's and are an external contract:
//! readers look objects up by them. Two oddities are reproduced on purpose: the unique index on
//! `v1_resources (external_id, sync_id)` is named `idx_resources_parent_resource_id_v1` and the
//! parent index is named `idx_resources_external_sync_v1` (swapped in the SDK), and the
//! `v1_grants` indexes on `sync_id` are partial.
//!
//! Files written by older SDKs lack some columns (`v1_sync_runs.supports_diff`, `stats`, …,
//! `v1_grants.expansion`, `needs_expansion`). `ensure` extends such files additively, as the
//! SDK's own migrations do (`ALTER TABLE … ADD COLUMN` with the same defaults, `CREATE INDEX IF
//! NOT EXISTS`); it never drops or rewrites anything. Readers never migrate: they adapt their
//! queries to the columns present (see `columns`).

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::Connection;

use super::{Error, Result};

/// A column of a v1 table.
pub(crate) struct Column {
    /// Column name.
    pub name: &'static str,
    /// Declaration for `ALTER TABLE … ADD COLUMN`, or `None` when the column is required (it has
    /// no default, so a file without it is not a v1 c1z).
    pub add: Option<&'static str>,
}

/// A v1 table: its DDL, its columns and its indexes.
pub(crate) struct Table {
    /// Table name.
    pub name: &'static str,
    /// `create table if not exists …`.
    pub create: &'static str,
    /// Columns besides `id`.
    pub columns: &'static [Column],
    /// `(index name, create index if not exists …)`.
    pub indexes: &'static [(&'static str, &'static str)],
}

const fn req(name: &'static str) -> Column {
    Column { name, add: None }
}

const fn opt(name: &'static str, add: &'static str) -> Column {
    Column {
        name,
        add: Some(add),
    }
}

/// `v1_resource_types`.
pub const RESOURCE_TYPES: &str = "v1_resource_types";
/// `v1_resources`.
pub const RESOURCES: &str = "v1_resources";
/// `v1_entitlements`.
pub const ENTITLEMENTS: &str = "v1_entitlements";
/// `v1_grants`.
pub const GRANTS: &str = "v1_grants";
/// `v1_sync_runs`.
pub const SYNC_RUNS: &str = "v1_sync_runs";
/// `v1_assets`.
pub const ASSETS: &str = "v1_assets";
/// `v1_connector_sessions`.
pub const CONNECTOR_SESSIONS: &str = "v1_connector_sessions";

/// Every v1 table, in the SDK's creation order.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: RESOURCE_TYPES,
        create: "create table if not exists v1_resource_types (
    id integer primary key,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
)",
        columns: &[
            req("external_id"),
            req("data"),
            req("sync_id"),
            req("discovered_at"),
        ],
        indexes: &[(
            "idx_resource_types_external_sync_v1",
            "create unique index if not exists idx_resource_types_external_sync_v1 \
             on v1_resource_types (external_id, sync_id)",
        )],
    },
    Table {
        name: RESOURCES,
        create: "create table if not exists v1_resources (
    id integer primary key,
    resource_type_id text not null,
    external_id text not null,
    parent_resource_type_id text,
    parent_resource_id text,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
)",
        columns: &[
            req("resource_type_id"),
            req("external_id"),
            opt("parent_resource_type_id", "parent_resource_type_id text"),
            opt("parent_resource_id", "parent_resource_id text"),
            req("data"),
            req("sync_id"),
            req("discovered_at"),
        ],
        indexes: &[
            (
                "idx_resources_resource_type_id_v1",
                "create index if not exists idx_resources_resource_type_id_v1 \
                 on v1_resources (resource_type_id)",
            ),
            // Swapped names, verbatim from the SDK.
            (
                "idx_resources_external_sync_v1",
                "create index if not exists idx_resources_external_sync_v1 \
                 on v1_resources (parent_resource_type_id, parent_resource_id)",
            ),
            (
                "idx_resources_parent_resource_id_v1",
                "create unique index if not exists idx_resources_parent_resource_id_v1 \
                 on v1_resources (external_id, sync_id)",
            ),
        ],
    },
    Table {
        name: ENTITLEMENTS,
        create: "create table if not exists v1_entitlements (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
)",
        columns: &[
            req("resource_type_id"),
            req("resource_id"),
            req("external_id"),
            req("data"),
            req("sync_id"),
            req("discovered_at"),
        ],
        indexes: &[
            (
                "idx_entitlements_resource_id_v1",
                "create index if not exists idx_entitlements_resource_id_v1 \
                 on v1_entitlements (resource_type_id, resource_id)",
            ),
            (
                "idx_entitlements_external_sync_v1",
                "create unique index if not exists idx_entitlements_external_sync_v1 \
                 on v1_entitlements (external_id, sync_id)",
            ),
        ],
    },
    Table {
        name: SYNC_RUNS,
        create: "create table if not exists v1_sync_runs (
    id integer primary key,
    sync_id text not null,
    started_at datetime not null,
    ended_at datetime,
    sync_token text not null,
    sync_type text not null default 'full',
    parent_sync_id text not null default '',
    linked_sync_id text not null default '',
    supports_diff integer not null default 0,
    grants_backfilled integer not null default 0,
    stats text,
    ingest_invariant_generation text not null default '',
    ingest_invariant_coverage text not null default '',
    ingest_invariant_mode text not null default ''
)",
        columns: &[
            req("sync_id"),
            req("started_at"),
            opt("ended_at", "ended_at datetime"),
            req("sync_token"),
            opt("sync_type", "sync_type text not null default 'full'"),
            opt("parent_sync_id", "parent_sync_id text not null default ''"),
            opt("linked_sync_id", "linked_sync_id text not null default ''"),
            opt("supports_diff", "supports_diff integer not null default 0"),
            opt(
                "grants_backfilled",
                "grants_backfilled integer not null default 0",
            ),
            opt("stats", "stats text"),
            opt(
                "ingest_invariant_generation",
                "ingest_invariant_generation text not null default ''",
            ),
            opt(
                "ingest_invariant_coverage",
                "ingest_invariant_coverage text not null default ''",
            ),
            opt(
                "ingest_invariant_mode",
                "ingest_invariant_mode text not null default ''",
            ),
        ],
        indexes: &[(
            "idx_sync_runs_sync_id_v1",
            "create unique index if not exists idx_sync_runs_sync_id_v1 on v1_sync_runs (sync_id)",
        )],
    },
    Table {
        name: GRANTS,
        create: "create table if not exists v1_grants (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    entitlement_id text not null,
    principal_resource_type_id text not null,
    principal_resource_id text not null,
    external_id text not null,
    expansion blob,
    needs_expansion integer not null default 0,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
)",
        columns: &[
            req("resource_type_id"),
            req("resource_id"),
            req("entitlement_id"),
            req("principal_resource_type_id"),
            req("principal_resource_id"),
            req("external_id"),
            opt("expansion", "expansion blob"),
            opt(
                "needs_expansion",
                "needs_expansion integer not null default 0",
            ),
            req("data"),
            req("sync_id"),
            req("discovered_at"),
        ],
        indexes: &[
            (
                "idx_grants_resource_type_id_resource_id_v1",
                "create index if not exists idx_grants_resource_type_id_resource_id_v1 \
                 on v1_grants (resource_type_id, resource_id)",
            ),
            (
                "idx_grants_principal_id_v1",
                "create index if not exists idx_grants_principal_id_v1 \
                 on v1_grants (principal_resource_type_id, principal_resource_id)",
            ),
            (
                "idx_grants_entitlement_id_principal_id_v1",
                "create index if not exists idx_grants_entitlement_id_principal_id_v1 \
                 on v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id)",
            ),
            (
                "idx_grants_external_sync_v1",
                "create unique index if not exists idx_grants_external_sync_v1 \
                 on v1_grants (external_id, sync_id)",
            ),
            (
                "idx_grants_entitlement_sync_grant_v1",
                "create index if not exists idx_grants_entitlement_sync_grant_v1 \
                 on v1_grants (entitlement_id, sync_id, id)",
            ),
            (
                "idx_grants_sync_expansion_v1",
                "create index if not exists idx_grants_sync_expansion_v1 \
                 on v1_grants (sync_id) where expansion is not null",
            ),
            (
                "idx_grants_sync_needs_expansion_v1",
                "create index if not exists idx_grants_sync_needs_expansion_v1 \
                 on v1_grants (sync_id) where needs_expansion = 1",
            ),
        ],
    },
    Table {
        name: ASSETS,
        create: "create table if not exists v1_assets (
    id integer primary key,
    external_id text not null,
    content_type text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
)",
        columns: &[
            req("external_id"),
            req("content_type"),
            req("data"),
            req("sync_id"),
            req("discovered_at"),
        ],
        indexes: &[(
            "idx_assets_external_sync_v1",
            "create unique index if not exists idx_assets_external_sync_v1 \
             on v1_assets (external_id, sync_id)",
        )],
    },
    Table {
        name: CONNECTOR_SESSIONS,
        create: "create table if not exists v1_connector_sessions (
    id integer primary key,
    sync_id text not null,
    key text not null,
    value blob not null
)",
        columns: &[req("sync_id"), req("key"), req("value")],
        indexes: &[(
            "idx_session_store_sync_key_v1",
            "create unique index if not exists idx_session_store_sync_key_v1 \
             on v1_connector_sessions (sync_id, key)",
        )],
    },
];

/// The tables every readable v1 file must have (the others are created on demand by writers).
pub(crate) const REQUIRED_TABLES: &[&str] =
    &[RESOURCE_TYPES, RESOURCES, ENTITLEMENTS, GRANTS, SYNC_RUNS];

/// The column names of `table` (empty when the table does not exist).
pub(crate) fn columns(conn: &Connection, table: &str) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare("select name from pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<BTreeSet<String>>>()?;
    Ok(names)
}

/// Checks that a database read from `path` has the v1 tables and their required columns.
pub(crate) fn validate(conn: &Connection, path: &Path) -> Result<()> {
    for table in TABLES.iter().filter(|t| REQUIRED_TABLES.contains(&t.name)) {
        let present = columns(conn, table.name)?;
        if present.is_empty() {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                detail: format!("table {} is missing", table.name),
            });
        }
        if let Some(col) = table
            .columns
            .iter()
            .find(|c| c.add.is_none() && !present.contains(c.name))
        {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                detail: format!("table {} has no column {}", table.name, col.name),
            });
        }
    }
    Ok(())
}

/// The `v1_grants` indexes a writer builds once, at the end, instead of row by row while a
/// full or resources-only sync stores its grants: maintaining them in random key order was
/// most of the cost of storing a grant, and `CREATE INDEX` sorts instead. Nothing the writer
/// asks while building needs them. The unique `(external_id, sync_id)` index is among them:
/// without it the writer tells repeated grants apart itself, and builds it early when one
/// comes (`super::grant_keys`).
pub(crate) const DEFERRED_INDEXES: &[&str] = &[
    "idx_grants_resource_type_id_resource_id_v1",
    "idx_grants_principal_id_v1",
    "idx_grants_entitlement_id_principal_id_v1",
    GRANT_KEY_INDEX,
    "idx_grants_entitlement_sync_grant_v1",
];

/// The unique `v1_grants (external_id, sync_id)` index: grants are upserted through it.
pub(crate) const GRANT_KEY_INDEX: &str = "idx_grants_external_sync_v1";

/// Drops the [`DEFERRED_INDEXES`] (from a build database only; a saved artifact always has them).
pub(crate) fn drop_deferred_indexes(conn: &Connection) -> Result<()> {
    for name in DEFERRED_INDEXES {
        conn.execute_batch(&format!("drop index if exists {name}"))?;
    }
    Ok(())
}

/// Page cache while the deferred indexes are built, in KiB. SQLite's sorter writes out a
/// sorted run each time its keys fill the cache, and with worker threads
/// ([`SORT_THREADS`]) it sorts those runs on the other cores while it reads on: a small cache
/// means many runs and parallel sorting. Measured with the SQLite CLI on the large sync's
/// 300,000 grants (2 cores): the five indexes took 3.1–3.2 s with the writer's 16 MiB cache and
/// no threads, 2.2–2.3 s with a 1 MiB cache and 2 threads (2.4–2.5 s at 2–4 MiB), in a quarter
/// of the memory.
const INDEX_BUILD_CACHE_KIB: i64 = 1024;
/// The sorter's worker threads at most (SQLite uses them only to sort and merge runs).
const SORT_THREADS: usize = 4;

/// Creates the [`DEFERRED_INDEXES`] that are missing (a no-op when none is); see
/// [`create_grant_indexes`].
pub(crate) fn create_deferred_indexes(conn: &Connection) -> Result<()> {
    create_grant_indexes(conn, DEFERRED_INDEXES)
}

/// Creates the `v1_grants` indexes `names` that are missing, with a small cache and the
/// sorter's worker threads (see [`INDEX_BUILD_CACHE_KIB`]); the connection's own cache size
/// and thread count are put back afterwards.
pub(crate) fn create_grant_indexes(conn: &Connection, names: &[&str]) -> Result<()> {
    let cache: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(SORT_THREADS));
    conn.pragma_update(None, "cache_size", -INDEX_BUILD_CACHE_KIB)?;
    conn.pragma_update(None, "threads", threads as i64)?;
    let built = names
        .iter()
        .try_for_each(|name| create_grant_index(conn, name));
    let restored = conn
        .pragma_update(None, "threads", 0)
        .and_then(|()| conn.pragma_update(None, "cache_size", cache));
    built?;
    Ok(restored?)
}

/// Creates the `v1_grants` index `name` unless it exists.
fn create_grant_index(conn: &Connection, name: &str) -> Result<()> {
    let grants = TABLES.iter().filter(|t| t.name == GRANTS);
    for (_, sql) in grants
        .flat_map(|t| t.indexes.iter())
        .filter(|(n, _)| *n == name)
    {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Creates every missing table, column and index, leaving everything present untouched.
///
/// On a fresh database this produces exactly the spec's schema. On a file from an older SDK it
/// adds the optional columns with the SDK's defaults; old grants keep `expansion` NULL and their
/// runs `grants_backfilled = 0`, which tells the SDK to backfill them itself.
pub(crate) fn ensure(conn: &Connection, path: &Path) -> Result<()> {
    for table in TABLES {
        conn.execute_batch(table.create)?;
        let present = columns(conn, table.name)?;
        for col in table.columns.iter().filter(|c| !present.contains(c.name)) {
            match col.add {
                Some(decl) => {
                    conn.execute_batch(&format!("alter table {} add column {decl}", table.name))?
                }
                None => {
                    return Err(Error::Schema {
                        path: path.to_path_buf(),
                        detail: format!("table {} has no column {}", table.name, col.name),
                    });
                }
            }
        }
        for (_, sql) in table.indexes {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_schema_has_exactly_the_spec_names() {
        let conn = Connection::open_in_memory().unwrap();
        ensure(&conn, Path::new(":memory:")).unwrap();
        let mut stmt = conn
            .prepare("select type, name from sqlite_master order by type, name")
            .unwrap();
        let got: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let tables: Vec<&str> = got
            .iter()
            .filter(|(t, _)| t == "table")
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(
            tables,
            [
                "v1_assets",
                "v1_connector_sessions",
                "v1_entitlements",
                "v1_grants",
                "v1_resource_types",
                "v1_resources",
                "v1_sync_runs"
            ]
        );
        assert_eq!(got.iter().filter(|(t, _)| t == "index").count(), 16);
        validate(&conn, Path::new(":memory:")).unwrap();
    }

    #[test]
    fn migrates_an_old_sync_runs_table() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "create table v1_sync_runs (id integer primary key, sync_id text not null,
             started_at datetime not null, ended_at datetime, sync_token text not null);
             insert into v1_sync_runs (sync_id, started_at, sync_token) values ('a', 'x', '');",
        )
        .unwrap();
        ensure(&conn, Path::new(":memory:")).unwrap();
        let cols = columns(&conn, SYNC_RUNS).unwrap();
        for c in [
            "supports_diff",
            "stats",
            "ingest_invariant_mode",
            "sync_type",
        ] {
            assert!(cols.contains(c), "{c}");
        }
        let (ty, diff): (String, i64) = conn
            .query_row(
                "select sync_type, supports_diff from v1_sync_runs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((ty.as_str(), diff), ("full", 0));
    }

    #[test]
    fn refuses_a_table_missing_a_required_column() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("create table v1_resource_types (id integer primary key, data blob)")
            .unwrap();
        let err = ensure(&conn, Path::new("x.c1z")).unwrap_err();
        assert!(matches!(err, Error::Schema { .. }), "{err}");
    }
}
