//! Errors of the `.c1z` store.
//!
//! Every variant says what went wrong with which file and, where there is one, what the user
//! can do about it. Variants keep their upstream error as `source` so `{:#}` chains show it.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing a `.c1z`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with the v1 magic `C1ZF\0` (or is too short to hold it).
    #[error(
        "{}: not a c1z file (it does not start with the magic bytes \"C1ZF\\0\"); \
         check the path, or move the file away so a fresh one can be written",
        path.display()
    )]
    NotC1z {
        /// The offending file.
        path: PathBuf,
    },

    /// The file is a Pebble-based v3 c1z (`C1Z3\0`), which this crate does not read or write.
    #[error(
        "{}: this is a Pebble-based c1z (format v3, magic \"C1Z3\\0\"), which is not supported; \
         only the SQLite-based v1 format is. Write the sync to a new path instead",
        path.display()
    )]
    UnsupportedFormatV3 {
        /// The offending file.
        path: PathBuf,
    },

    /// The zstd stream after the magic could not be decoded (damaged, truncated, or written
    /// with a window larger than the 128 MiB decoder limit).
    #[error("{}: cannot decompress the c1z (the file is damaged or truncated)", path.display())]
    Decompress {
        /// The offending file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },

    /// The decompressed database would exceed the size limit; nothing more was unpacked.
    #[error(
        "{}: the decompressed database is larger than the {limit}-byte limit; refusing to unpack it",
        path.display()
    )]
    TooLarge {
        /// The offending file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },

    /// The zstd frame decoded fine but its content is not a SQLite database.
    #[error("{}: the c1z does not contain a SQLite database (damaged or not a v1 c1z)", path.display())]
    NotSqlite {
        /// The offending file.
        path: PathBuf,
    },

    /// The SQLite database lacks a table or a required column of the v1 layout.
    #[error("{}: not a v1 c1z database: {detail}", path.display())]
    Schema {
        /// The offending file.
        path: PathBuf,
        /// What is missing.
        detail: String,
    },

    /// A stored protobuf could not be decoded.
    #[error("row {rowid} of {table} holds a protobuf that does not decode (damaged file?)")]
    Decode {
        /// The table the row is in.
        table: &'static str,
        /// The row's `id`.
        rowid: i64,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },

    /// SQLite reported an error (disk full, damaged database, …).
    #[error("SQLite error in the c1z database")]
    Sqlite(#[from] rusqlite::Error),

    /// A file-system operation failed.
    #[error("could not {op} {}", path.display())]
    Io {
        /// What was being done, as a verb phrase (`"open"`, `"create a temp dir in"`, …).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// The output path has no file name (e.g. `/` or `..`).
    #[error("{}: the output path must name a file", path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
    },

    /// A write needs a running sync; `Writer::start_sync` was not called (or the sync finished).
    #[error("no sync is in progress: call Writer::start_sync first")]
    NoSyncInProgress,

    /// Another writer holds the artifact's lock (see `lock`): two syncs into one file would
    /// silently lose one of them.
    #[error(
        "another sync ({}) is writing this file; wait for it to finish, or write to another file",
        match holder { Some(pid) => format!("process {pid}"), None => "process id unknown".to_owned() }
    )]
    Locked {
        /// The artifact.
        path: PathBuf,
        /// The pid the holder wrote into the lock file, if it had written it yet.
        holder: Option<u32>,
    },

    /// The save was cancelled before the new artifact replaced the old one.
    #[error("{}: saving was cancelled; the file was left as it was", path.display())]
    Cancelled {
        /// The artifact, untouched.
        path: PathBuf,
    },

    /// `Writer::start_sync` was called while another sync is still running.
    #[error("sync {0} is still in progress; finish it before starting another")]
    SyncInProgress(String),

    /// An earlier write to the build database failed. The database runs without a rollback
    /// journal while it is built, so a failed write may have left part of itself behind: the
    /// writer refuses everything after it, and the sync must fail (the artifact is untouched).
    #[error("an earlier write to the sync's work database failed, so this sync cannot go on")]
    Abandoned,
}

/// Result with the store's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}
