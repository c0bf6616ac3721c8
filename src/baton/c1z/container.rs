//! The container around the database: `C1ZF\0` + one zstd frame (spec: `shared/spec/c1z.md`).
//!
//! Writing: zstd level 3, multithreaded, window 2 MiB (within the spec's 8 MiB), with the pledged source size so the frame
//! header carries the content size, and a content checksum. Reading: refuses anything that is
//! not a v1 container (a v3 `C1Z3\0` file gets its own error), caps the decoder window at
//! 128 MiB and the decoded size at 10 GiB, and checks that the content is a SQLite database.
//! Both directions stream through fixed-size buffers; nothing is held in memory whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// Magic bytes of a v1 (SQLite) c1z.
pub const MAGIC_V1: [u8; 5] = *b"C1ZF\0";
/// Magic bytes of a v3 (Pebble) c1z, which is not supported.
pub const MAGIC_V3: [u8; 5] = *b"C1Z3\0";
/// Largest database a reader will unpack: 10 GiB.
pub const MAX_DECODED_BYTES: u64 = 10 << 30;
/// Decoder window limit: 2^27 bytes = 128 MiB.
pub const MAX_WINDOW_LOG: u32 = 27;
/// Compression level. Not zstd's default of 3 (the SDK's): on sync databases 2 makes files
/// as small or smaller for far less CPU. Measured with the zstd CLI, window 2^21, two threads:
/// a large sync's 375 MB database 45.8 → 44.0 MB in 2.6 → 1.5 s of CPU, a medium one's 43 MB
/// 4.28 → 4.29 MB in 0.29 → 0.13 s; tiny files grow by up to 8 % (5.3 → 5.7 KB).
pub const LEVEL: i32 = 2;
/// Encoder window: 2^21 bytes = 2 MiB (level 3's own default; the spec allows up to 8 MiB, but
/// multithreaded zstd sizes its jobs at 4x the window, so a larger one costs ~100 MiB of RAM).
pub const WINDOW_LOG: u32 = 21;
/// Input per multithreaded compression job: 2 MiB. Left to zstd, a job is 4x the window and it
/// keeps a round buffer of several jobs plus per-job output buffers — about 75 MiB at peak,
/// most of the sync's memory. Jobs of one window cost a few percent of ratio at most and keep
/// the encoder near 12 MiB.
pub const JOB_BYTES: u32 = 2 << 20;

/// The first bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Copy buffer size.
const BUF: usize = 1 << 20;

/// Which container a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerFormat {
    /// `C1ZF\0`: zstd-compressed SQLite (what this crate reads and writes).
    V1,
    /// `C1Z3\0`: Pebble-based (recognised only to refuse it clearly).
    V3,
}

/// What the first bytes of a c1z say, without decompressing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerHeader {
    /// The container format from the magic bytes.
    pub format: ContainerFormat,
    /// The zstd frame's declared content size (v1 only; `None` when the header omits it).
    pub frame_content_size: Option<u64>,
    /// The zstd frame's window size in bytes (v1 only).
    pub window_size: Option<u64>,
    /// Whether the zstd frame ends with a content checksum (v1 only).
    pub content_checksum: bool,
}

/// Reads the magic and the zstd frame header of the c1z at `path`.
///
/// Errors: [`Error::NotC1z`] for anything but `C1ZF\0`/`C1Z3\0` magic or a v1 file whose frame
/// header is not a zstd frame header.
pub fn read_container_header(path: &Path) -> Result<ContainerHeader> {
    let mut file = File::open(path).map_err(Error::io("open", path))?;
    let mut head = Vec::with_capacity(32);
    (&mut file)
        .take(5 + 18)
        .read_to_end(&mut head)
        .map_err(Error::io("read", path))?;
    let format = format_of(&head, path)?;
    if format == ContainerFormat::V3 {
        return Ok(ContainerHeader {
            format,
            frame_content_size: None,
            window_size: None,
            content_checksum: false,
        });
    }
    let frame = parse_frame_header(&head[5..]).ok_or_else(|| Error::NotC1z {
        path: path.to_path_buf(),
    })?;
    Ok(ContainerHeader {
        format,
        frame_content_size: frame.content_size,
        window_size: Some(frame.window_size),
        content_checksum: frame.checksum,
    })
}

/// The container format from the first bytes, or [`Error::NotC1z`].
fn format_of(head: &[u8], path: &Path) -> Result<ContainerFormat> {
    match head.get(..5) {
        Some(m) if m == MAGIC_V1 => Ok(ContainerFormat::V1),
        Some(m) if m == MAGIC_V3 => Ok(ContainerFormat::V3),
        _ => Err(Error::NotC1z {
            path: path.to_path_buf(),
        }),
    }
}

/// The fields of a zstd frame header this module cares about (RFC 8878 §3.1.1.1).
#[derive(Debug, PartialEq, Eq)]
struct FrameHeader {
    content_size: Option<u64>,
    window_size: u64,
    checksum: bool,
}

/// Parses a zstd frame header from the start of `b`; `None` if it is not one or is cut short.
fn parse_frame_header(b: &[u8]) -> Option<FrameHeader> {
    if b.get(..4)? != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let fhd = *b.get(4)?;
    let fcs_flag = fhd >> 6;
    let single_segment = fhd & 0x20 != 0;
    let checksum = fhd & 0x04 != 0;
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 0x03)];
    let mut pos = 5;
    let mut window_size = None;
    if !single_segment {
        let wd = *b.get(pos)?;
        pos += 1;
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        window_size = Some(base + (base / 8) * u64::from(wd & 0x07));
    }
    pos += dict_len;
    let fcs_len = match (fcs_flag, single_segment) {
        (0, false) => 0,
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let field = b.get(pos..pos + fcs_len)?;
    let mut le = [0u8; 8];
    le[..fcs_len].copy_from_slice(field);
    let raw = u64::from_le_bytes(le);
    let content_size = match fcs_len {
        0 => None,
        2 => Some(raw + 256),
        _ => Some(raw),
    };
    Some(FrameHeader {
        content_size,
        // A single-segment frame's window is its content.
        window_size: window_size.or(content_size)?,
        checksum,
    })
}

/// Unpacks the c1z at `src` into a new database file at `dst`, with the reader limits.
///
/// Returns the number of bytes written. Every failure names `src`.
pub(crate) fn decompress(src: &Path, dst: &Path) -> Result<u64> {
    decompress_limited(src, dst, MAX_DECODED_BYTES)
}

fn decompress_limited(src: &Path, dst: &Path, limit: u64) -> Result<u64> {
    let file = File::open(src).map_err(Error::io("open", src))?;
    let mut input = BufReader::with_capacity(BUF, file);
    let mut magic = [0u8; 5];
    match input.read_exact(&mut magic) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(Error::NotC1z {
                path: src.to_path_buf(),
            });
        }
        Err(e) => return Err(Error::io("read", src)(e)),
    }
    if format_of(&magic, src)? == ContainerFormat::V3 {
        return Err(Error::UnsupportedFormatV3 {
            path: src.to_path_buf(),
        });
    }
    // Refuse early when the header already declares too much.
    let peek = input.fill_buf().map_err(Error::io("read", src))?;
    if let Some(size) = parse_frame_header(peek).and_then(|h| h.content_size)
        && size > limit
    {
        return Err(Error::TooLarge {
            path: src.to_path_buf(),
            limit,
        });
    }
    let decompress_err = |source: io::Error| Error::Decompress {
        path: src.to_path_buf(),
        source,
    };
    let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(decompress_err)?;
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(decompress_err)?;

    let out = File::create(dst).map_err(Error::io("create", dst))?;
    let mut out = BufWriter::with_capacity(BUF, out);
    let mut buf = vec![0u8; BUF];
    let mut total: u64 = 0;
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(decompress_err(e)),
        };
        total += n as u64;
        if total > limit {
            return Err(Error::TooLarge {
                path: src.to_path_buf(),
                limit,
            });
        }
        if head.len() < SQLITE_MAGIC.len() {
            let take = (SQLITE_MAGIC.len() - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
            if !SQLITE_MAGIC.starts_with(&head) {
                return Err(not_sqlite(src));
            }
        }
        out.write_all(&buf[..n]).map_err(Error::io("write", dst))?;
    }
    if head.len() < SQLITE_MAGIC.len() {
        return Err(not_sqlite(src));
    }
    out.flush().map_err(Error::io("write", dst))?;
    Ok(total)
}

fn not_sqlite(src: &Path) -> Error {
    Error::NotSqlite {
        path: src.to_path_buf(),
    }
}

/// Writes `C1ZF\0` + one zstd frame of the file at `db` into `out`, flushed but not fsynced.
///
/// Returns the number of bytes written to `out`. `out_path` is only used in errors.
#[cfg(test)]
pub(crate) fn compress(db: &Path, out: &mut File, out_path: &Path) -> Result<u64> {
    compress_unless(db, out, out_path, &|| false)
}

/// [`compress`], asking `cancelled` before every [`BUF`]-sized chunk of input: once it says
/// yes, compression stops with [`Error::Cancelled`] (naming `out_path`) and `out` holds an
/// incomplete frame for the caller to discard. A chunk takes milliseconds, so even a database
/// of many GiB stops promptly.
pub(crate) fn compress_unless(
    db: &Path,
    out: &mut File,
    out_path: &Path,
    cancelled: &dyn Fn() -> bool,
) -> Result<u64> {
    let input = File::open(db).map_err(Error::io("open", db))?;
    let db_len = input.metadata().map_err(Error::io("stat", db))?.len();
    let mut input = BufReader::with_capacity(BUF, input);
    let write_err = |e| Error::io("write", PathBuf::from(out_path))(e);

    let mut sink = BufWriter::with_capacity(BUF, &mut *out);
    sink.write_all(&MAGIC_V1).map_err(write_err)?;
    let mut enc = zstd::stream::write::Encoder::new(sink, LEVEL).map_err(write_err)?;
    enc.include_checksum(true).map_err(write_err)?;
    enc.include_contentsize(true).map_err(write_err)?;
    enc.set_pledged_src_size(Some(db_len)).map_err(write_err)?;
    enc.window_log(WINDOW_LOG).map_err(write_err)?;
    enc.multithread(workers()).map_err(write_err)?;
    enc.set_parameter(zstd::stream::raw::CParameter::JobSize(JOB_BYTES))
        .map_err(write_err)?;
    let mut buf = vec![0u8; BUF];
    let mut copied: u64 = 0;
    loop {
        if cancelled() {
            return Err(Error::Cancelled {
                path: out_path.to_path_buf(),
            });
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", db)(e)),
        };
        enc.write_all(&buf[..n]).map_err(write_err)?;
        copied += n as u64;
    }
    if copied != db_len {
        // The database changed under us; the pledged size would be wrong.
        return Err(write_err(io::Error::other(format!(
            "{} changed size while being compressed",
            db.display()
        ))));
    }
    let mut sink = enc.finish().map_err(write_err)?;
    sink.flush().map_err(write_err)?;
    drop(sink);
    let written = out.metadata().map_err(Error::io("stat", out_path))?.len();
    Ok(written)
}

/// zstd worker threads: the available cores, at most 8.
fn workers() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_like(len: usize) -> Vec<u8> {
        let mut v = SQLITE_MAGIC.to_vec();
        v.extend((0..len).map(|i| (i % 251) as u8));
        v
    }

    fn pack(dir: &Path, content: &[u8]) -> PathBuf {
        let db = dir.join("in.db");
        std::fs::write(&db, content).unwrap();
        let path = dir.join("out.c1z");
        let mut f = File::create(&path).unwrap();
        compress(&db, &mut f, &path).unwrap();
        path
    }

    #[test]
    fn round_trip_with_header_fields() {
        let dir = tempfile::tempdir().unwrap();
        let content = sqlite_like(3 << 20);
        let path = pack(dir.path(), &content);
        let h = read_container_header(&path).unwrap();
        assert_eq!(h.format, ContainerFormat::V1);
        assert_eq!(h.frame_content_size, Some(content.len() as u64));
        assert!(h.content_checksum);
        assert!(h.window_size.unwrap() <= 8 << 20, "{h:?}");
        let out = dir.path().join("back.db");
        assert_eq!(decompress(&path, &out).unwrap(), content.len() as u64);
        assert_eq!(std::fs::read(&out).unwrap(), content);
    }

    #[test]
    fn limits_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = pack(dir.path(), &sqlite_like(4096));
        let out = dir.path().join("x.db");
        let err = decompress_limited(&path, &out, 100).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");

        let v3 = dir.path().join("v3.c1z");
        std::fs::write(&v3, b"C1Z3\0whatever").unwrap();
        let err = decompress(&v3, &out).unwrap_err();
        assert!(matches!(err, Error::UnsupportedFormatV3 { .. }), "{err}");
        assert!(err.to_string().contains("not supported"));

        let junk = dir.path().join("junk.c1z");
        std::fs::write(&junk, b"PK\x03\x04").unwrap();
        let err = decompress(&junk, &out).unwrap_err();
        assert!(matches!(err, Error::NotC1z { .. }), "{err}");

        let mut truncated = std::fs::read(&path).unwrap();
        truncated.truncate(truncated.len() / 2);
        let t = dir.path().join("t.c1z");
        std::fs::write(&t, truncated).unwrap();
        let err = decompress(&t, &out).unwrap_err();
        assert!(matches!(err, Error::Decompress { .. }), "{err}");

        let not_db = pack(dir.path(), b"hello, not a database at all");
        let err = decompress(&not_db, &out).unwrap_err();
        assert!(matches!(err, Error::NotSqlite { .. }), "{err}");
    }

    #[test]
    fn compression_stops_at_the_first_check_after_cancellation() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("in.db");
        // 8 chunks of input: a check before each, and one that sees the end.
        std::fs::write(&db, sqlite_like(8 * BUF - SQLITE_MAGIC.len())).unwrap();
        let path = dir.path().join("out.c1z");
        let mut f = File::create(&path).unwrap();
        let checks = std::cell::Cell::new(0u32);
        let cancel_at = 3;
        let err = compress_unless(&db, &mut f, &path, &|| {
            checks.set(checks.get() + 1);
            checks.get() >= cancel_at
        })
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled { .. }), "{err}");
        // Cancelled at the very check that saw it: no chunk was compressed after it.
        assert_eq!(checks.get(), cancel_at);

        let checks = std::cell::Cell::new(0u32);
        let mut f = File::create(&path).unwrap();
        compress_unless(&db, &mut f, &path, &|| {
            checks.set(checks.get() + 1);
            false
        })
        .unwrap();
        // Asked at least once per chunk of input.
        assert!(checks.get() >= 8, "{} checks", checks.get());
    }

    #[test]
    fn frame_header_parsing() {
        // Single segment, 1-byte content size, checksum.
        assert_eq!(
            parse_frame_header(&[0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x05]),
            Some(FrameHeader {
                content_size: Some(5),
                window_size: 5,
                checksum: true
            })
        );
        // Window descriptor 2^(10+11) = 2 MiB, 4-byte content size.
        let mut h = vec![0x28, 0xb5, 0x2f, 0xfd, 0x80, 11 << 3];
        h.extend(1_000_000u32.to_le_bytes());
        assert_eq!(
            parse_frame_header(&h),
            Some(FrameHeader {
                content_size: Some(1_000_000),
                window_size: 2 << 20,
                checksum: false
            })
        );
        assert_eq!(parse_frame_header(b"nope"), None);
    }
}
