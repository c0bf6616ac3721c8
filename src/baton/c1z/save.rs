//! Saving a built database as the artifact: retention, compaction, compression, atomic rename.
//!
//! [`save_in`] is the body of [`Writer::save_unless`](super::Writer::save_unless). Its steps:
//! 1. Retention ([`apply_retention`]): only the newest [`KEEP_FULL_SYNCS`] finished full syncs
//!    keep their rows. Then the `v1_grants` indexes the build left out
//!    (`schema::DEFERRED_INDEXES`) are created.
//! 2. Compaction, when it buys something. The artifact must be a self-contained SQLite file with
//!    4096-byte pages in rollback-journal mode (no WAL) — what `VACUUM INTO` produces. A database
//!    this writer created fresh, from which retention removed nothing and which has no free
//!    pages, already is one once it is switched to a rollback journal and closed: it is compressed
//!    as it is, which saves a full copy of the database (7–9 % of a large sync's CPU). Anything
//!    else (an appended artifact, which may come from another SDK with another layout, or a
//!    database with deleted rows) is copied with `VACUUM INTO`, as before. Either way the file
//!    is reopened and checked before it is compressed.
//!
//!    The price is size: an uncompacted database keeps its B-trees' pages interleaved in
//!    allocation order and partly filled, which compresses less well. Measured: a large sync
//!    (100k users) 45.4 → 47.4 MB (+4 %), a medium one (10k users) 4.29 → 4.94 MB (+15 %).
//! 3. Compression into the work directory, fsync, rename over `<out>`, fsync of the directory.
//!
//! Every step asks the cancel check first, long SQLite statements are interrupted, and the
//! rename is the last point at which a save gives up.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::workdir::{WorkDir, parent_dir};
use super::writer::KEEP_FULL_SYNCS;
use super::{Error, Result, container, schema};

/// Page cache while compacting in [`save_in`]: 8 MiB.
const VACUUM_CACHE_KIB: i64 = 8 * 1024;
/// How often a long SQLite statement in [`save_in`] looks at the cancel check.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// Test hook, not a setting: when this environment variable names a file,
/// [`Writer::save_unless`](super::Writer::save_unless) creates that file once the new artifact
/// is complete and then waits, right before the rename, until the file is deleted, the save is
/// cancelled, or 30 s pass. Tests use it to interrupt a save deterministically
/// (`tests/artifact.rs`).
pub const TEST_PAUSE_BEFORE_RENAME_ENV: &str = "BATON_C1Z_TEST_PAUSE_BEFORE_RENAME";

/// The body of [`Writer::save_unless`](super::Writer::save_unless): everything up to and
/// including the rename. `conn` is the build database at `db_path` (no transaction open);
/// `fresh` says the writer created it rather than unpacking an artifact. Returns the artifact's
/// and the database's sizes.
pub(super) fn save_in(
    conn: Connection,
    out: &Path,
    db_path: &Path,
    dir: &WorkDir,
    fresh: bool,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<(u64, u64)> {
    let stop = |e: Error| match e {
        Error::Cancelled { .. } => Error::Cancelled {
            path: out.to_path_buf(),
        },
        e => e,
    };
    let check = || {
        if cancelled() {
            Err(Error::Cancelled {
                path: out.to_path_buf(),
            })
        } else {
            Ok(())
        }
    };
    let removed = interruptible(&conn, out, cancelled, || apply_retention(&conn))?;
    // After retention, so its deletes do not maintain them.
    interruptible(&conn, out, cancelled, || {
        schema::create_deferred_indexes(&conn)
    })?;
    check()?;

    conn.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))?;
    let free_pages: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    let final_db = if fresh && !removed && free_pages == 0 && page_size == 4096 {
        // Already what VACUUM would make of it (see the module docs): keep it.
        conn.close().map_err(|(_, e)| e)?;
        db_path.to_path_buf()
    } else {
        // Compact into a fresh, self-contained file; the build database is then discarded.
        let final_db = dir.path().join("final.db");
        // VACUUM INTO gives the copy the source's cache size; a sequential copy needs little.
        conn.pragma_update(None, "cache_size", -VACUUM_CACHE_KIB)?;
        interruptible(&conn, out, cancelled, || {
            conn.execute("vacuum into ?1", [final_db.to_string_lossy()])?;
            Ok(())
        })?;
        conn.close().map_err(|(_, e)| e)?;
        let _ = fs::remove_file(db_path);
        final_db
    };
    tracing::debug!(
        compacted = final_db != db_path,
        free_pages,
        removed,
        "c1z database ready"
    );
    check()?;
    {
        let check = Connection::open(&final_db)?;
        let mode: String =
            check.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::Schema {
                path: out.to_path_buf(),
                detail: format!("the compacted database stayed in journal mode {mode}"),
            });
        }
        let page_size: i64 = check.pragma_query_value(None, "page_size", |r| r.get(0))?;
        if page_size != 4096 {
            // Only reachable when appending to a file with another page size.
            check.pragma_update(None, "page_size", 4096)?;
            interruptible(
                &check,
                out,
                cancelled,
                || Ok(check.execute_batch("vacuum")?),
            )?;
        }
        check.close().map_err(|(_, e)| e)?;
    }
    let db_bytes = fs::metadata(&final_db)
        .map_err(Error::io("stat", &final_db))?
        .len();

    let parent = parent_dir(out);
    // Inside the work dir, so a crash leaves it where the next writer sweeps.
    let tmp_path = dir.path().join("new.c1z");
    let mut tmp = create_private(&tmp_path)?;
    // Keep the permissions of the artifact being replaced (new files stay owner-only).
    if let Ok(meta) = fs::metadata(out) {
        let _ = fs::set_permissions(&tmp_path, meta.permissions());
    }
    let bytes_written =
        container::compress_unless(&final_db, &mut tmp, &tmp_path, cancelled).map_err(stop)?;
    tmp.sync_all().map_err(Error::io("fsync", &tmp_path))?;
    drop(tmp);
    let _ = fs::remove_file(&final_db);
    pause_for_tests(cancelled);
    // The last moment to give up: from the rename on, the new sync is saved.
    check()?;
    fs::rename(&tmp_path, out).map_err(Error::io("rename the new artifact over", out))?;
    if let Err(e) = sync_dir(parent) {
        // The rename has happened; the new artifact is in place either way.
        tracing::warn!(dir = %parent.display(), error = %e, "could not fsync the directory");
    }
    Ok((bytes_written, db_bytes))
}

/// Creates a new owner-only file for writing.
fn create_private(path: &Path) -> Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(Error::io("create", path))
}

/// Runs the SQLite work `f` on `conn` unless `cancelled` already says so, interrupting it once
/// `cancelled` does (checked every [`CANCEL_POLL`] from a helper thread). Either way the result
/// is [`Error::Cancelled`] naming `out`, the artifact left as it was.
pub(super) fn interruptible<T>(
    conn: &Connection,
    out: &Path,
    cancelled: &(dyn Fn() -> bool + Sync),
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let stopped = || Error::Cancelled {
        path: out.to_path_buf(),
    };
    if cancelled() {
        return Err(stopped());
    }
    let handle = conn.get_interrupt_handle();
    let done = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::Acquire) {
                if cancelled() {
                    interrupted.store(true, Ordering::Release);
                    handle.interrupt();
                    return;
                }
                std::thread::park_timeout(CANCEL_POLL);
            }
        });
        let result = f();
        done.store(true, Ordering::Release);
        watcher.thread().unpark();
        result
    });
    match result {
        Err(Error::Sqlite(e))
            if interrupted.load(Ordering::Acquire)
                && e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) =>
        {
            Err(stopped())
        }
        other => other,
    }
}

/// The [`TEST_PAUSE_BEFORE_RENAME_ENV`] hook (does nothing unless the variable is set).
fn pause_for_tests(cancelled: &dyn Fn() -> bool) {
    let Some(marker) = std::env::var_os(TEST_PAUSE_BEFORE_RENAME_ENV) else {
        return;
    };
    let marker = PathBuf::from(marker);
    if fs::write(&marker, b"paused before rename\n").is_err() {
        return;
    }
    let until = Instant::now() + Duration::from_secs(30);
    while marker.exists() && !cancelled() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// fsyncs a directory so a rename in it is durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Deletes the rows of every finished full sync but the newest [`KEEP_FULL_SYNCS`] from every
/// `v1_` table with a `sync_id` column, in one transaction. Says whether it deleted any sync.
fn apply_retention(conn: &Connection) -> Result<bool> {
    let doomed: Vec<String> = conn
        .prepare(
            "select sync_id from v1_sync_runs where ended_at is not null and sync_type = 'full' \
             order by ended_at desc, sync_id desc limit -1 offset ?1",
        )?
        .query_map([KEEP_FULL_SYNCS as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if doomed.is_empty() {
        return Ok(false);
    }
    let tables: Vec<String> = conn
        .prepare(
            "select m.name from sqlite_master m where m.type = 'table' \
             and m.name like 'v1\\_%' escape '\\' \
             and exists (select 1 from pragma_table_info(m.name) p where p.name = 'sync_id') \
             order by m.name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tx = conn.unchecked_transaction()?;
    for table in &tables {
        let quoted = table.replace('"', "\"\"");
        let mut stmt = tx.prepare(&format!("delete from \"{quoted}\" where sync_id = ?1"))?;
        for sync_id in &doomed {
            stmt.execute([sync_id])?;
        }
    }
    tx.commit()?;
    tracing::info!(removed = ?doomed, "removed old syncs from the c1z");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::c1z::schema;
    use rusqlite::params;

    #[test]
    fn retention_keeps_the_newest_two_finished_full_syncs_only() {
        let conn = Connection::open_in_memory().unwrap();
        schema::ensure(&conn, Path::new(":memory:")).unwrap();
        let runs = [
            ("a", "full", Some("2026-01-01 00:00:00")),
            ("b", "full", Some("2026-01-02 00:00:00")),
            ("p", "partial", Some("2026-01-02 12:00:00")),
            ("u", "full", None),
            ("c", "full", Some("2026-01-03 00:00:00.5")),
            ("d", "full", Some("2026-01-03 00:00:00.5")), // tie on ended_at: sync_id decides
        ];
        for (id, ty, ended) in runs {
            conn.execute(
                "insert into v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type) \
                 values (?1, '2026-01-01', ?2, '', ?3)",
                params![id, ended, ty],
            )
            .unwrap();
            conn.execute(
                "insert into v1_resource_types (external_id, data, sync_id, discovered_at) \
                 values ('user', x'', ?1, 'x')",
                [id],
            )
            .unwrap();
        }
        assert!(apply_retention(&conn).unwrap());
        for table in ["v1_sync_runs", "v1_resource_types"] {
            let left: Vec<String> = conn
                .prepare(&format!("select sync_id from {table} order by id"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(left, ["p", "u", "c", "d"], "{table}");
        }
    }
}
