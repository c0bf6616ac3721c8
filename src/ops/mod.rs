//! Operator commands over `.c1z` artifacts: `inspect`, `diff`, and the configuration file.
//!
//! Everything here works on Baton data only (resource types, resources, entitlements, grants
//! and their traits) and therefore on any v1 `.c1z`, not just this connector's: users are
//! resources whose type has the user trait, roles and groups are recognised by the role and
//! group traits. Nothing in this module knows about Notion or HTTP.
//!
//! # Layout
//! - [`output`]: bounded, streamed tables and stable JSON.
//! - [`inspect`]: lists what one sync of a `.c1z` holds (`baton-notion inspect`).
//! - [`diff`]: compares two finished syncs (`baton-notion diff`).
//! - [`config_file`]: reads `.baton.yaml` into `BATON_*` environment values for the parser.
//! - [`progress`]: progress bars for a sync on a terminal (a [`crate::baton::sync::SyncObserver`]).
//! - [`log_fields`]: the console log's field formatter, which escapes every message and field.
//!
//! Commands write their output to an [`std::io::Write`] the caller passes (stdout, or a
//! `Vec` in tests). They read everything they need from the artifact before the first byte is
//! written, so a read failure never leaves half a table; a write failure is
//! [`Error::Write`], whose source keeps the [`std::io::ErrorKind`] (a closed pipe is
//! `BrokenPipe`, which the binary turns into a quiet exit).
//!
//! Text from the artifact is outside text: tables show it through [`crate::text`] (escaped,
//! capped per column), JSON escapes it itself.

pub mod config_file;
pub mod diff;
pub mod inspect;
pub mod log_fields;
pub mod output;
pub mod progress;

use std::path::PathBuf;

use crate::baton::c1z::{self, Reader, SyncRun};
use crate::pb::v2;

pub use output::Format;

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The artifact could not be opened or read.
    #[error("cannot read the artifact")]
    C1z {
        /// The artifact.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: c1z::Error,
    },
    /// The artifact holds no sync run to show.
    #[error("{path} holds no sync run")]
    NoSync {
        /// The artifact.
        path: PathBuf,
    },
    /// The artifact holds no finished full sync (needed by `diff`).
    #[error("{path} holds no finished full sync")]
    NoFinishedSync {
        /// The artifact.
        path: PathBuf,
    },
    /// `--sync-id` names a run the artifact does not hold.
    #[error("{} holds no sync run {}", path.display(), crate::text::one_line(sync_id))]
    UnknownSync {
        /// The artifact.
        path: PathBuf,
        /// The requested id.
        sync_id: String,
    },
    /// The output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output")]
    Write(#[source] std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Write(e)
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Opens `path` for reading, mapping failures to [`Error::C1z`].
pub(crate) fn open(path: &std::path::Path) -> Result<Reader> {
    Reader::open(path).map_err(|source| Error::C1z {
        path: path.to_path_buf(),
        source,
    })
}

/// Wraps a store error of `reader` in [`Error::C1z`].
pub(crate) fn read_err(reader: &Reader) -> impl Fn(c1z::Error) -> Error + '_ {
    move |source| Error::C1z {
        path: reader.path().to_path_buf(),
        source,
    }
}

/// The run to show: `sync_id` when given, else [`Reader::latest_sync`], else the newest run.
pub(crate) fn select_sync(reader: &Reader, sync_id: Option<&str>) -> Result<SyncRun> {
    match sync_id {
        Some(id) => reader
            .syncs()
            .map_err(read_err(reader))?
            .into_iter()
            .find(|s| s.sync_id == id)
            .ok_or_else(|| Error::UnknownSync {
                path: reader.path().to_path_buf(),
                sync_id: id.to_owned(),
            }),
        None => {
            if let Some(run) = reader.latest_sync().map_err(read_err(reader))? {
                return Ok(run);
            }
            // No finished full sync and no recent unfinished one (e.g. an old interrupted
            // run): show the newest run of any kind rather than nothing.
            reader
                .syncs()
                .map_err(read_err(reader))?
                .into_iter()
                .max_by(|a, b| (&a.started_at, &a.sync_id).cmp(&(&b.started_at, &b.sync_id)))
                .ok_or_else(|| Error::NoSync {
                    path: reader.path().to_path_buf(),
                })
        }
    }
}

/// `type:id` of a resource id (empty parts when absent), the key used across this module.
pub fn resource_key(id: Option<&v2::ResourceId>) -> String {
    id.map(|id| format!("{}:{}", id.resource_type, id.resource))
        .unwrap_or_else(|| ":".to_owned())
}

/// The traits of a resource type as short lower-case names (`user`, `group`, `role`,
/// `license_profile`, …); unknown values print as their number.
pub fn trait_names(rt: &v2::ResourceType) -> Vec<String> {
    rt.traits
        .iter()
        .map(|&t| match v2::resource_type::Trait::try_from(t) {
            Ok(tr) => tr
                .as_str_name()
                .trim_start_matches("TRAIT_")
                .to_ascii_lowercase(),
            Err(_) => t.to_string(),
        })
        .collect()
}

/// Whether a resource type carries `tr`.
pub fn has_trait(rt: &v2::ResourceType, tr: v2::resource_type::Trait) -> bool {
    rt.traits.contains(&(tr as i32))
}
