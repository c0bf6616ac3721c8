//! The `.c1z` store: the artifact a sync leaves behind (spec: `shared/spec/c1z.md`).
//!
//! A v1 `.c1z` is the 5-byte magic `C1ZF\0` followed by exactly one zstd frame whose content is
//! a complete SQLite database holding the Baton SDK's `v1_*` tables. This module owns that format
//! alone: the schema, the container, writing a sync into it and reading any v1 file back.
//!
//! # Layout
//! - [`schema`]: the SDK's table and index DDL, verbatim names, and additive migrations for
//!   files written by older SDKs.
//! - [`container`]: magic bytes, zstd compression and bounded decompression.
//! - `record` (private): how one protobuf becomes one row (external ids, `GrantExpandable`
//!   extraction, timestamps).
//! - [`stats`]: [`SyncStats`] and the SQL that counts them.
//! - [`integrity`]: finds and drops a sync's grants that point outside it.
//! - [`writer`]: [`Writer`], which builds a sync in a private temp database and replaces the
//!   artifact atomically; `save` (private) is its last step (retention, compaction when it
//!   buys something, compression, rename) and `workdir` (private) its work directory.
//! - [`lock`]: [`ArtifactLock`], one writer per artifact (`<artifact>.lock`), and the sweep of
//!   temporary work that killed writers left beside it.
//! - [`reader`]: [`Reader`], which opens any v1 file (ours and the Go SDK's).
//!
//! # Invariants
//! - The artifact on disk is only ever replaced by a rename of a complete, fsynced file; a
//!   failed, cancelled or abandoned sync leaves the previous artifact byte-for-byte intact.
//! - At most one writer per artifact at a time, across processes; its temporary files live in
//!   `.<name>.tmp-<pid>` beside the artifact, and a writer killed outright leaves them for the
//!   next writer of that artifact to remove.
//! - The schema is the SDK's, not ours: tables are created exactly as the spec lists them, and
//!   older files are only ever extended (missing optional columns and indexes added), never
//!   rewritten.
//! - Nothing here loads a whole table into memory on the write path; callers hand in batches.
//! - Everything is blocking; callers run it on a dedicated thread.
//!
//! This module knows nothing about Notion or about the sync order; it must not grow either.

pub mod container;
mod error;
mod grant_keys;
pub mod integrity;
pub mod lock;
pub mod reader;
mod record;
mod save;
pub mod schema;
pub mod stats;
mod workdir;
pub mod writer;

use std::fmt;

use svix_ksuid::KsuidLike;

use serde::Serialize;

pub use container::{ContainerFormat, ContainerHeader, read_container_header};
pub use error::{Error, Result};
pub use integrity::DanglingGrants;
pub use lock::ArtifactLock;
pub use reader::Reader;
pub use record::{GrantRow, StoredResource};
pub use stats::SyncStats;
pub use writer::{SaveReport, Writer};

/// The id of one sync run: a 27-character KSUID (time-sortable, base62).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncId(String);

impl SyncId {
    /// A fresh KSUID for a sync starting now.
    pub fn generate() -> SyncId {
        SyncId(svix_ksuid::Ksuid::new(None::<std::time::SystemTime>, None).to_string())
    }

    /// The id as stored in the `sync_id` columns.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SyncId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SyncId> for String {
    fn from(id: SyncId) -> String {
        id.0
    }
}

/// What a sync run covers, as stored in `v1_sync_runs.sync_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncType {
    /// Everything: resource types, resources, entitlements and grants.
    Full,
    /// Resource types and resources only; entitlements and grants were skipped.
    ResourcesOnly,
    /// A targeted sync of some resources.
    Partial,
}

impl SyncType {
    /// The stored spelling: `full`, `resources_only` or `partial`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncType::Full => "full",
            SyncType::ResourcesOnly => "resources_only",
            SyncType::Partial => "partial",
        }
    }

    /// Parses a stored spelling; `None` for types this crate does not write (the SDK has more,
    /// e.g. `partial_upserts`).
    pub fn parse(s: &str) -> Option<SyncType> {
        match s {
            "full" => Some(SyncType::Full),
            "resources_only" => Some(SyncType::ResourcesOnly),
            "partial" => Some(SyncType::Partial),
            _ => None,
        }
    }
}

impl fmt::Display for SyncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `v1_sync_runs`, as a reader sees it. Columns an older file lacks read as their
/// SDK defaults (`''`, `false`, `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    /// The run's id (a KSUID in files written by this crate or the SDK).
    pub sync_id: String,
    /// Local wall-clock start time, `YYYY-MM-DD HH:MM:SS[.fffffffff]`.
    pub started_at: String,
    /// Local wall-clock end time; `None` while the run is unfinished.
    pub ended_at: Option<String>,
    /// The connector's resume state (opaque; JSON in practice).
    pub sync_token: String,
    /// `full`, `resources_only`, `partial`, or another SDK type, verbatim.
    pub sync_type: String,
    /// The parent run of a partial sync; empty otherwise.
    pub parent_sync_id: String,
    /// Whether the run was written with diff support (`supports_diff = 1`).
    pub supports_diff: bool,
    /// The stats stored when the run finished, if any and if they parse.
    pub stats: Option<SyncStats>,
}
