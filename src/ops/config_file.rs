//! The configuration file, as Baton connectors read it: `./.baton.yaml`, or the file named by
//! `BATON_CONFIG_PATH`.
//!
//! Keys are flag names (`scim-token: …`, `file: out.c1z`, `sync-resource-types: [user, group]`;
//! `snake_case` spellings are accepted too). Each key becomes the value of the flag's
//! environment variable `BATON_<KEY>` **only when that variable is unset**, before the command
//! line is parsed. The parser then applies its usual rules, which gives the documented
//! precedence: flags > environment > file > defaults.
//!
//! This module only reads and converts; applying the values to the process environment is the
//! binary's job (it must happen before any thread starts). Values are never included in errors
//! or warnings, so a token in the file is never echoed. A file that holds a secret (a key
//! containing `token`, `secret` or `password`) and is readable by group or others produces a
//! warning.
//!
//! The file is outside input and is bounded like any: it must be a regular file (a FIFO or
//! `/dev/zero` is refused before anything is read, so reading never blocks or runs forever) of
//! at most [`MAX_CONFIG_BYTES`]; nesting deeper than the YAML parser's recursion limit is a
//! parse error. Work is linear in the file: keys that are not flags are counted and named in
//! one warning (at most [`MAX_NAMED_UNKNOWN`] of them), and only known keys are handed to the
//! environment, so the binary sets at most one variable per flag.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

/// Environment variable naming the configuration file.
pub const CONFIG_PATH_ENV: &str = "BATON_CONFIG_PATH";

/// The file read from the working directory when [`CONFIG_PATH_ENV`] is unset.
pub const DEFAULT_CONFIG_FILE: &str = ".baton.yaml";

/// Largest configuration file read: far above any real one (a few hundred bytes), small enough
/// that a mistaken path (a log, a database) fails at once.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Deepest `[`/`{` nesting accepted. A flag value is at most a list of scalars (depth 1); the
/// YAML parser takes time quadratic in flow depth (50 s for 100,000 levels), so deeper text is
/// refused before it is parsed.
pub const MAX_FLOW_DEPTH: usize = 32;

/// Unknown keys named in the warning; the rest are counted.
pub const MAX_NAMED_UNKNOWN: usize = 5;

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading the configuration file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, FIFO, socket or device).
    #[error("the configuration file {path} is not a regular file")]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error(
        "the configuration file {path} is larger than {} KiB; is it the right file?",
        MAX_CONFIG_BYTES / 1024
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    #[error("the configuration file {path} is not UTF-8 text")]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// `[`/`{` nested deeper than [`MAX_FLOW_DEPTH`].
    #[error("the configuration file {path} nests lists or maps too deeply (line {line})")]
    TooDeep {
        /// The file.
        path: PathBuf,
        /// 1-based line where the limit was passed.
        line: usize,
    },
    /// The file is not YAML. Only the position is reported, never the content.
    #[error("the configuration file {path} is not valid YAML{}", position(*.line, *.column))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error, if known.
        line: Option<usize>,
        /// 1-based column of the error, if known.
        column: Option<usize>,
    },
    /// The top level is not a mapping of flag names to values.
    #[error("the configuration file {path} must be a mapping of flag names to values")]
    NotAMapping {
        /// The file.
        path: PathBuf,
    },
    /// A value is not a scalar or a list of scalars.
    #[error("in the configuration file {path}: `{key}` must be a string, number, boolean or list")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The offending key.
        key: String,
    },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

/// A configuration file, converted to environment values.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// `(BATON_<KEY>, value)` for every key that is a flag, in file order.
    pub values: Vec<(String, String)>,
    /// Problems worth a warning (unknown keys, loose permissions). Never contain values.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: show only the variable names.
        let names: Vec<&str> = self.values.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("values", &names)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The environment variable of a flag name: `scim-token` → `BATON_SCIM_TOKEN`.
pub fn env_name(key: &str) -> String {
    format!(
        "BATON_{}",
        key.trim().replace('-', "_").to_ascii_uppercase()
    )
}

/// Finds the configuration file: `BATON_CONFIG_PATH` (which must exist) if set and non-empty,
/// else `./.baton.yaml` if it exists.
pub fn locate(config_path_env: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    match config_path_env.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let p = cwd.join(DEFAULT_CONFIG_FILE);
            p.is_file().then(|| PathBuf::from(DEFAULT_CONFIG_FILE))
        }
    }
}

/// Reads the file at `path`. `known` is the set of environment variables the command line
/// accepts; keys outside it are reported in [`ConfigFile::warnings`] and left out of
/// [`ConfigFile::values`].
pub fn read(path: &Path, known: &BTreeSet<String>) -> Result<ConfigFile, ConfigError> {
    let text = read_bounded(path)?;
    let mut cfg = parse(path, &text, known)?;
    if cfg.values.iter().any(|(k, _)| is_secret(k))
        && let Some(mode) = loose_mode(path)
    {
        cfg.warnings.push(format!(
            "the configuration file {} holds a secret but is readable by group or others \
             (mode {mode:04o}); restrict it with `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(cfg)
}

/// The file's text, refusing anything but a regular file of at most [`MAX_CONFIG_BYTES`].
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Look before opening: opening a FIFO for reading blocks until a writer appears.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // The path may have been swapped for a FIFO since: never block on the open.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    // The file may grow while it is read: never take more than the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|_| ConfigError::NotText {
        path: path.to_path_buf(),
    })
}

/// Converts YAML text (see the module docs).
pub fn parse(path: &Path, text: &str, known: &BTreeSet<String>) -> Result<ConfigFile, ConfigError> {
    if let Some(line) = too_deep(text) {
        return Err(ConfigError::TooDeep {
            path: path.to_path_buf(),
            line,
        });
    }
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let loc = e.location();
        ConfigError::Parse {
            path: path.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
        }
    })?;
    let mut out = ConfigFile {
        path: path.to_path_buf(),
        values: Vec::new(),
        warnings: Vec::new(),
    };
    let map = match value {
        Value::Null => return Ok(out), // an empty file
        Value::Mapping(m) => m,
        _ => {
            return Err(ConfigError::NotAMapping {
                path: path.to_path_buf(),
            });
        }
    };
    let mut unknown: Vec<String> = Vec::new();
    let mut unknown_count = 0usize;
    for (k, v) in map {
        let Some(key) = scalar(&k) else {
            return Err(ConfigError::NotAMapping {
                path: path.to_path_buf(),
            });
        };
        let bad = || ConfigError::BadValue {
            path: path.to_path_buf(),
            key: key.clone(),
        };
        let value = match &v {
            Value::Null => continue,
            Value::Sequence(items) => items
                .iter()
                .map(|i| scalar(i).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => scalar(other).ok_or_else(bad)?,
        };
        let var = env_name(&key);
        if !known.contains(&var) {
            unknown_count += 1;
            if unknown.len() < MAX_NAMED_UNKNOWN {
                unknown.push(format!("`{}`", crate::text::one_line_max(&key, 60)));
            }
            continue;
        }
        out.values.push((var, value));
    }
    if unknown_count > 0 {
        let more = unknown_count - unknown.len();
        out.warnings.push(format!(
            "the configuration file {} sets {} not {} of baton-notion, ignored: {}{}",
            path.display(),
            if unknown_count == 1 {
                "a key that is".to_owned()
            } else {
                format!("{unknown_count} keys that are")
            },
            if unknown_count == 1 {
                "a flag"
            } else {
                "flags"
            },
            unknown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    Ok(out)
}

/// The line where `[`/`{` nesting passes [`MAX_FLOW_DEPTH`], if it does. One linear pass that
/// skips quoted strings and comments; it may over-count brackets inside plain scalars, which
/// only matters for text no flag accepts anyway.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
        } else if comment {
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '"' | '\'' => quote = Some(c),
                '#' if prev.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(line);
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = c;
    }
    None
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a variable name looks like it holds a secret.
pub fn is_secret(var: &str) -> bool {
    let v = var.to_ascii_lowercase();
    ["token", "secret", "password"]
        .iter()
        .any(|s| v.contains(s))
}

/// The file's permission bits when group or others may read it.
#[cfg(unix)]
fn loose_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        [
            "BATON_SCIM_TOKEN",
            "BATON_FILE",
            "BATON_SYNC_RESOURCE_TYPES",
            "BATON_SKIP_ENTITLEMENTS_AND_GRANTS",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    #[test]
    fn keys_become_baton_env_vars() {
        let yaml = "scim-token: tok\nfile: out.c1z\nsync_resource_types: [user, group]\nskip-entitlements-and-grants: true\nhttp-timeout-seconds: 30\n";
        let cfg = parse(Path::new("c.yaml"), yaml, &known()).unwrap();
        assert_eq!(
            cfg.values,
            vec![
                ("BATON_SCIM_TOKEN".into(), "tok".into()),
                ("BATON_FILE".into(), "out.c1z".into()),
                ("BATON_SYNC_RESOURCE_TYPES".into(), "user,group".into()),
                ("BATON_SKIP_ENTITLEMENTS_AND_GRANTS".into(), "true".into()),
            ]
        );
        // Unknown to `known()` above: warned about, by name only, and not passed on.
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].contains("http-timeout-seconds"));
    }

    #[test]
    fn errors_and_debug_never_show_values() {
        let cfg = parse(
            Path::new("c.yaml"),
            "scim-token: secret_tok_123\n",
            &known(),
        )
        .unwrap();
        assert!(!format!("{cfg:?}").contains("secret_tok_123"));
        let err = parse(
            Path::new("c.yaml"),
            "scim-token: [secret_tok_123: {\n",
            &known(),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("secret_tok_123"), "{err}");
        let err = parse(
            Path::new("c.yaml"),
            "scim-token: {a: secret_tok_123}\n",
            &known(),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::BadValue { .. }));
        assert!(!err.to_string().contains("secret_tok_123"));
        assert!(matches!(
            parse(Path::new("c.yaml"), "- a\n", &known()),
            Err(ConfigError::NotAMapping { .. })
        ));
        assert!(
            parse(Path::new("c.yaml"), "", &known())
                .unwrap()
                .values
                .is_empty()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_file_holding_a_token_warns() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".baton.yaml");
        std::fs::write(&p, "scim-token: secret_tok_123\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cfg = read(&p, &known()).unwrap();
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].contains("chmod 600"));
        assert!(!cfg.warnings[0].contains("secret_tok_123"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read(&p, &known()).unwrap().warnings.is_empty());
    }

    #[test]
    fn locate_prefers_the_env_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(locate(None, dir.path()), None);
        std::fs::write(dir.path().join(".baton.yaml"), "").unwrap();
        assert_eq!(locate(None, dir.path()), Some(PathBuf::from(".baton.yaml")));
        assert_eq!(
            locate(Some("/x.yaml"), dir.path()),
            Some(PathBuf::from("/x.yaml"))
        );
        assert_eq!(
            locate(Some(" "), dir.path()),
            Some(PathBuf::from(".baton.yaml"))
        );
    }

    #[test]
    fn many_unknown_keys_make_one_short_warning() {
        let yaml: String = (0..10_000).map(|i| format!("key-{i}: v\n")).collect();
        let cfg = parse(Path::new("c.yaml"), &yaml, &known()).unwrap();
        assert!(cfg.values.is_empty());
        assert_eq!(cfg.warnings.len(), 1);
        assert!(
            cfg.warnings[0].contains("10000 keys"),
            "{}",
            cfg.warnings[0]
        );
        assert!(cfg.warnings[0].contains("and 9995 more"));
        assert!(cfg.warnings[0].len() < 300);
    }

    #[test]
    fn deep_nesting_is_a_parse_error() {
        let yaml = format!("file: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            parse(Path::new("c.yaml"), &yaml, &known()),
            Err(ConfigError::TooDeep { line: 1, .. })
        ));
        // Quoted and commented brackets do not count; ordinary lists pass.
        let fine = format!(
            "scim-token: \"{}\"\n# {}\nsync-resource-types: [user, group]\n",
            "[".repeat(100),
            "{".repeat(100)
        );
        assert_eq!(
            parse(Path::new("c.yaml"), &fine, &known())
                .unwrap()
                .values
                .len(),
            2
        );
        // Block nesting is bounded by the size cap and parses quickly; it is just not a value.
        let dashes = format!("file:\n{}x\n", "- ".repeat(100_000));
        assert!(parse(Path::new("c.yaml"), &dashes, &known()).is_err());
    }

    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, "#".repeat(MAX_CONFIG_BYTES as usize + 1)).unwrap();
        assert!(matches!(
            read(&big, &known()),
            Err(ConfigError::TooLarge { .. })
        ));
        assert!(matches!(
            read(dir.path(), &known()),
            Err(ConfigError::NotAFile { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read(Path::new("/dev/zero"), &known()),
            Err(ConfigError::NotAFile { .. })
        ));
        let bin = dir.path().join("bin.yaml");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            read(&bin, &known()),
            Err(ConfigError::NotText { .. })
        ));
    }
}
