//! A writer's private work directory beside the artifact, which holds the artifact's lock.

use std::fs;
use std::path::{Path, PathBuf};

use super::lock::ArtifactLock;
use super::{Error, Result};

/// A writer's work directory, removed with everything in it when dropped — and only then is
/// the artifact's lock released, so no other writer ever sees it half-removed.
#[derive(Debug)]
pub(super) struct WorkDir {
    path: PathBuf,
    /// Released after `Drop::drop` has removed the directory (fields drop after it).
    _lock: ArtifactLock,
}

impl WorkDir {
    /// Creates `path` (owner-only). One left by an earlier writer with this pid is replaced:
    /// `lock` proves it cannot belong to a live writer.
    pub(super) fn create(path: PathBuf, lock: ArtifactLock) -> Result<WorkDir> {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        if let Err(e) = builder.create(&path) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(Error::io("create the work directory", &path)(e));
            }
            fs::remove_dir_all(&path).map_err(Error::io("remove the old work directory", &path))?;
            builder
                .create(&path)
                .map_err(Error::io("create the work directory", &path))?;
        }
        Ok(WorkDir { path, _lock: lock })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %self.path.display(), error = %e, "could not remove the c1z work directory; the next sync into the same file removes it");
            }
        }
    }
}

/// The directory `path` lives in (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
