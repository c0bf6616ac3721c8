//! One writer per artifact: an exclusive advisory lock on `<artifact>.lock`, and the sweep of
//! temporary work that interrupted writers left behind.
//!
//! Two syncs into the same file used to both succeed, the later rename silently discarding the
//! other run. [`ArtifactLock::acquire`] takes `flock(LOCK_EX | LOCK_NB)` on a lock file beside
//! the artifact and writes the holder's pid into it, so a second writer fails at once with a
//! message naming that pid ([`Error::Locked`]). The lock lives as long as the open file: it is
//! released when the [`ArtifactLock`] is dropped and, because the kernel drops `flock` locks
//! with the last descriptor, when the holder dies — even by `kill -9`. A holder deletes the lock
//! file before it lets go, so a clean run leaves nothing beside the artifact; to make that safe,
//! a writer that got the lock checks that the path still names the file it locked and starts
//! over if not (otherwise two writers could each hold a lock on a different inode). A file left
//! by a killed holder is simply locked and reused.
//!
//! Temporary work of a writer goes into `.<name>.tmp-<pid>` beside the artifact
//! ([`work_dir_name`]). Whoever holds the lock is the only live writer of that artifact, so any
//! such directory found then belongs to a dead run and [`sweep_stale`] removes it — along with
//! the temp dirs and files of the layout older versions used (`.<name>.XXXXXX.tmp`,
//! `<name>.XXXXXX.tmp`).
//!
//! Readers take no lock: the artifact is only ever replaced by an atomic rename, so a reader
//! sees either the old file or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// An exclusive lock on one artifact, held until dropped (see the module docs).
#[derive(Debug)]
pub struct ArtifactLock {
    /// The open lock file; closing it releases the lock.
    file: File,
    /// The lock file's path (for logs).
    path: PathBuf,
}

impl ArtifactLock {
    /// Locks `artifact` for writing, or fails at once with [`Error::Locked`] naming the pid of
    /// the process that holds it.
    ///
    /// The lock file is `<artifact>.lock` in the artifact's directory (created owner-only if
    /// missing, deleted again on drop). While held, the file holds this process's pid.
    pub fn acquire(artifact: &Path) -> Result<ArtifactLock> {
        let path = lock_path(artifact)?;
        let mut file = loop {
            let mut file = open_lock_file(&path)?;
            if !try_lock(&file).map_err(Error::io("lock", &path))? {
                return Err(Error::Locked {
                    path: artifact.to_path_buf(),
                    holder: read_pid(&mut file),
                });
            }
            // The previous holder may have deleted the file between our open and our lock.
            if still_at(&file, &path) {
                break file;
            }
        };
        // Best effort: the pid only serves the message a competing writer shows.
        let pid = std::process::id();
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"));
        tracing::debug!(lock = %path.display(), pid, "artifact locked");
        Ok(ArtifactLock { file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ArtifactLock {
    fn drop(&mut self) {
        // Delete while still holding the lock (see the module docs); closing the file then
        // releases it. Should the delete fail, empty the file so it names no finished run.
        if fs::remove_file(&self.path).is_err() {
            let _ = self.file.set_len(0);
        }
    }
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Without inodes to compare, trust the open file.
#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

/// `<artifact>.lock`, beside the artifact.
pub fn lock_path(artifact: &Path) -> Result<PathBuf> {
    let name = artifact.file_name().ok_or_else(|| Error::InvalidPath {
        path: artifact.to_path_buf(),
    })?;
    let mut lock = name.to_os_string();
    lock.push(".lock");
    Ok(artifact.with_file_name(lock))
}

/// The name of this process's work directory for the artifact named `name`:
/// `.<name>.tmp-<pid>`.
pub fn work_dir_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

/// Removes what dead writers of the artifact named `name` left in `dir`: work directories
/// (`.<name>.tmp-<pid>`) and the older layout's temp dirs and files. Returns what was removed.
///
/// Call it only while holding the artifact's [`ArtifactLock`]: the lock is what proves that no
/// live writer uses them. Failures to remove are logged and skipped (they must not stop a sync).
pub fn sweep_stale(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot list the directory to sweep old temp files");
            return removed;
        }
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(entry_name) = file_name.to_str() else {
            continue;
        };
        if !is_stale_name(entry_name, name) {
            continue;
        }
        let path = entry.path();
        let result = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed temporary files of an interrupted sync");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove temporary files of an interrupted sync");
            }
        }
    }
    removed
}

/// The name prefix `<prefix><pid>-` for a private directory of this process that
/// [`sweep_dead_owner_dirs`] may remove once the process is gone (service mode puts each sync
/// in one of these under the system temp dir).
pub fn owned_dir_prefix(prefix: &str) -> String {
    format!("{prefix}{}-", std::process::id())
}

/// Removes the directories `<prefix><pid>-*` in `parent` whose process no longer exists: what
/// a killed daemon left behind. Directories of live processes (or of a pid that has since been
/// reused) stay. Failures are logged and skipped. Returns what was removed.
pub fn sweep_dead_owner_dirs(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(parent) else {
        return removed;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        match fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), pid, "removed the temporary directory of a process that is gone");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove the temporary directory of a process that is gone");
            }
        }
    }
    removed
}

/// Whether a process with this pid exists (`kill(pid, 0)`; a pid we may not signal exists).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        // 0 and negatives address process groups, never one process: treat as live.
        return true;
    }
    // SAFETY: signal 0 only checks for existence and permission; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Without a way to ask, every owner counts as alive (nothing is swept).
#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// Whether `entry` is temporary work of a writer of the artifact named `name`: `.<name>.tmp-<pid>`
/// (this version), `.<name>.XXXXXX.tmp` or `<name>.XXXXXX.tmp` (older versions' random names).
fn is_stale_name(entry: &str, name: &str) -> bool {
    let ours = entry
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix(".tmp-"))
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    let legacy = |rest: &str| {
        rest.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|random| {
                random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())
            })
    };
    ours || legacy(entry) || entry.strip_prefix('.').is_some_and(legacy)
}

/// Opens (creating if needed, owner-only) the lock file for reading and writing.
fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(Error::io("open the lock file", path))
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` when another open file holds the lock.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// Without `flock`, every writer gets the lock (no protection, as before).
#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// The pid a holder wrote into the lock file, if it is there yet.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    // A pid is a few digits; anything longer is not ours.
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_naming_the_holder_and_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.c1z");
        let first = ArtifactLock::acquire(&out).unwrap();
        assert_eq!(first.path(), dir.path().join("a.c1z.lock"));
        let err = ArtifactLock::acquire(&out).unwrap_err();
        match &err {
            Error::Locked { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
            other => panic!("expected Locked, got {other}"),
        }
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        let again = ArtifactLock::acquire(&out).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("a.c1z.lock"))
                .unwrap()
                .trim(),
            std::process::id().to_string()
        );
        drop(again);
        // A clean release leaves nothing beside the artifact.
        assert!(!dir.path().join("a.c1z.lock").exists());
    }

    #[test]
    fn stale_names() {
        assert!(is_stale_name(".sync.c1z.tmp-123", "sync.c1z"));
        assert!(is_stale_name(".sync.c1z.Ab3dE9.tmp", "sync.c1z"));
        assert!(is_stale_name("sync.c1z.Ab3dE9.tmp", "sync.c1z"));
        for keep in [
            "sync.c1z",
            "sync.c1z.lock",
            ".sync.c1z.tmp-",
            ".sync.c1z.tmp-12a",
            ".other.c1z.tmp-1",
            ".sync.c1z.tmp-1.tmp-2",
            "sync.c1z.toolong.tmp",
            ".sync.c1zz.tmp-1",
        ] {
            assert!(!is_stale_name(keep, "sync.c1z"), "{keep}");
        }
    }

    #[test]
    fn dirs_of_dead_processes_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Above any pid_max Linux allows (2^22), so no such process exists.
        let dead = d.join("baton-sync-4294967-abc");
        let live = d.join(format!("{}abc", owned_dir_prefix("baton-sync-")));
        let other = d.join("something-else-1-x");
        for p in [&dead, &live, &other] {
            fs::create_dir(p).unwrap();
            fs::write(p.join("sync.c1z"), b"x").unwrap();
        }
        assert_eq!(
            sweep_dead_owner_dirs(d, "baton-sync-"),
            std::slice::from_ref(&dead)
        );
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn sweep_removes_only_stale_work() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join(".a.c1z.tmp-99999")).unwrap();
        fs::write(d.join(".a.c1z.tmp-99999/build.db"), b"x").unwrap();
        fs::write(d.join("a.c1z.abcdef.tmp"), b"x").unwrap();
        fs::write(d.join("a.c1z"), b"x").unwrap();
        fs::write(d.join("b.c1z.abcdef.tmp"), b"x").unwrap();
        let mut removed = sweep_stale(d, "a.c1z");
        removed.sort();
        assert_eq!(
            removed,
            [d.join(".a.c1z.tmp-99999"), d.join("a.c1z.abcdef.tmp")]
        );
        assert!(d.join("a.c1z").exists());
        assert!(d.join("b.c1z.abcdef.tmp").exists());
    }
}
