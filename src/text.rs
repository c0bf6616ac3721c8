//! Text that came from outside the process, made safe to show.
//!
//! Names, ids and error messages arrive from Notion, from a `.c1z` file or from a gRPC peer, and
//! end up on a terminal, in a log line or in an error. Any of them may be hostile: a 10 MB id, a
//! display name holding `ESC ]0;…BEL` (retitles the window), `ESC [2J` (clears the screen), a
//! CR or LF that fakes a second log line, or a bidi override that reorders what the reader sees.
//!
//! Two rules, one module, used by every layer:
//! - **Control characters are made visible**, never passed through: C0 (including CR, LF, TAB,
//!   ESC, BEL, BS), DEL, C1, and the Unicode bidi embedding/override/isolate marks become escapes
//!   like `\n`, `\x1b` or `\u{202e}`. The text stays readable and nothing reaches the terminal
//!   that it would interpret.
//! - **Length is bounded** where the text is shown: [`one_line`] keeps the first
//!   [`MAX_LINE`] characters and says how much it cut. It never scans past what it keeps, so a
//!   500 MB field costs no more than a short one.
//!
//! Secrets the process holds (tokens, client secrets) are a third rule: a server may echo them
//! back in an error body, so [`scrub`] replaces every occurrence before the text is kept.
//! [`message`] does all three at once for a server's message: one line (whitespace squashed),
//! escaped, scrubbed and bounded.
//!
//! JSON output does not need this module: serde_json already escapes control characters.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest excerpt of outside text kept in an error or log line, in characters.
pub const MAX_LINE: usize = 300;

/// What replaces a secret found in outside text.
pub const REDACTED: &str = "[redacted]";

/// True for characters a terminal may interpret: C0 controls, DEL, C1 controls, and the bidi
/// embedding, override and isolate marks (U+202A–U+202E, U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `c` to `out`, escaped when [`is_unsafe`].
fn push_safe(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && is_unsafe(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` with every unsafe character escaped; borrowed (no copy) when there is none.
///
/// No length limit: use it where the caller bounds the width itself (table cells), or
/// [`one_line`] for error and log text.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_safe(&mut out, c);
    }
    Cow::Owned(out)
}

/// Outside text as one bounded, display-safe line: unsafe characters escaped, at most
/// `max_chars` characters of the input kept, and a marker saying how many bytes were cut.
///
/// Reads only the kept prefix of `s`, so its cost does not grow with the input.
pub fn one_line_max(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(2)) + 24);
    let mut consumed = 0;
    for (kept, (i, c)) in s.char_indices().enumerate() {
        if kept == max_chars {
            break;
        }
        push_safe(&mut out, c);
        consumed = i + c.len_utf8();
    }
    if consumed < s.len() {
        let _ = write!(out, "…[{} more bytes]", s.len() - consumed);
    }
    out
}

/// [`one_line_max`] with the house limit, [`MAX_LINE`].
pub fn one_line(s: &str) -> String {
    one_line_max(s, MAX_LINE)
}

/// `s` cut to at most `max_chars` characters, the last one an ellipsis when anything was cut.
/// Does not escape: combine with [`escape_controls`] (escape first, then cut, so an escape is
/// never split in a way that hides what it was).
pub fn truncate_chars(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => Cow::Borrowed(s),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let end = s
                .char_indices()
                .nth(max_chars - 1)
                .map_or(s.len(), |(i, _)| i);
            Cow::Owned(format!("{}…", &s[..end]))
        }
    }
}

/// `s` safe and at most `max_chars` wide: escaped, then cut with an ellipsis. For table cells.
pub fn cell(s: &str, max_chars: usize) -> Cow<'_, str> {
    // Escaping can only lengthen: bound the work to a prefix first, so a 500 MB name costs
    // no more than a short one.
    let prefix_end = s
        .char_indices()
        .nth(max_chars.saturating_add(1))
        .map_or(s.len(), |(i, _)| i);
    // When cut, the prefix holds max_chars + 1 characters, so truncation below always adds
    // the ellipsis that shows the cut.
    match escape_controls(&s[..prefix_end]) {
        Cow::Borrowed(p) => truncate_chars(p, max_chars),
        Cow::Owned(text) => Cow::Owned(truncate_chars(&text, max_chars).into_owned()),
    }
}

/// `text` with every occurrence of each non-empty secret replaced by [`REDACTED`].
///
/// Secrets shorter than 4 bytes are skipped: replacing them would mangle ordinary text and they
/// are not credentials anyone issues.
pub fn scrub<'a>(text: &'a str, secrets: &[&str]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, REDACTED));
        }
    }
    out
}

/// A message from a server as one bounded, display-safe line with no secret in it: runs of
/// whitespace (CR, LF and TAB included) become one space and the ends are trimmed, other unsafe
/// characters are escaped, every occurrence of a secret (at least 4 bytes) becomes [`REDACTED`],
/// and at most `max_chars` characters are kept, with a marker saying how many bytes were cut.
///
/// Secrets are matched in the input before it is cut, so a token straddling the cut is never
/// shown in part. Reads only the kept prefix, so a 500 MB message costs no more than a short one.
pub fn message_max(s: &str, max_chars: usize, secrets: &[&str]) -> String {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|x| x.len() >= 4).collect();
    let s = s.trim_start();
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(2)) + 24);
    let (mut at, mut kept, mut space) = (0, 0, false);
    while at < s.len() && kept < max_chars {
        let rest = &s[at..];
        if let Some(secret) = secrets.iter().find(|secret| rest.starts_with(**secret)) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(REDACTED);
            at += secret.len();
            kept += REDACTED.len();
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        at += c.len_utf8();
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            kept += 1;
            space = false;
        }
        push_safe(&mut out, c);
        kept += 1;
    }
    let rest = s[at..].trim_end();
    if !rest.is_empty() {
        let _ = write!(out, "…[{} more bytes]", rest.len());
    }
    out
}

/// [`message_max`] with the house limit, [`MAX_LINE`].
pub fn message(s: &str, secrets: &[&str]) -> String {
    message_max(s, MAX_LINE, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            escape_controls("a\x1b[2Jb\x07c\rd\ne\x08"),
            "a\\x1b[2Jb\\x07c\\rd\\ne\\x08"
        );
        assert_eq!(escape_controls("x\u{9b}y\u{202e}z"), "x\\u{9b}y\\u{202e}z");
        assert!(matches!(escape_controls("plain ünïcode"), Cow::Borrowed(_)));
        assert_eq!(escape_controls("\x7f"), "\\x7f");
    }

    #[test]
    fn one_line_bounds_and_marks_the_cut() {
        let long = "é".repeat(10_000);
        let line = one_line_max(&long, 5);
        assert_eq!(line, format!("ééééé…[{} more bytes]", 20_000 - 10));
        assert_eq!(one_line_max("short", 300), "short");
        assert_eq!(one_line_max("a\nb", 300), "a\\nb");
        assert!(!one_line(&"x\n".repeat(1_000_000)).contains('\n'));
        assert!(one_line(&"y".repeat(10_000_000)).len() < 400);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abcd", 4), "abcd");
        assert_eq!(truncate_chars("ääää", 3), "ää…");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn cells_are_safe_and_bounded() {
        assert_eq!(cell("name", 10), "name");
        assert_eq!(cell("a very long display name", 10), "a very lo…");
        assert_eq!(cell("\x1b]0;pwned\x07", 40), "\\x1b]0;pwned\\x07");
        assert_eq!(cell("\x1b\x1b\x1b\x1b", 6), "\\x1b\\…");
        let huge = "n".repeat(50_000_000);
        assert_eq!(cell(&huge, 8).chars().count(), 8);
    }

    #[test]
    fn scrub_replaces_every_copy() {
        let t = "auth: Bearer secret_xyz, again secret_xyz";
        assert_eq!(
            scrub(t, &["secret_xyz"]),
            "auth: Bearer [redacted], again [redacted]"
        );
        assert!(matches!(
            scrub("nothing", &["secret_xyz"]),
            Cow::Borrowed(_)
        ));
        assert_eq!(scrub("a b", &["", "a"]), "a b");
    }

    #[test]
    fn messages_are_squashed_scrubbed_and_bounded() {
        assert_eq!(
            message("  Duplicate\n\t entry \r\n", &[]),
            "Duplicate entry"
        );
        assert_eq!(message("a\x1b[2Jb", &[]), "a\\x1b[2Jb");
        assert_eq!(
            message("got Bearer secret_xyz\nfrom you", &["secret_xyz"]),
            "got Bearer [redacted] from you"
        );
        // A token across the cut is replaced whole, never shown in part.
        let text = format!("{}secret_xyz tail", "a".repeat(8));
        let line = message_max(&text, 10, &["secret_xyz"]);
        assert!(!line.contains("secret"), "{line}");
        assert!(line.starts_with("aaaaaaaa"), "{line}");
        let huge = "z".repeat(50_000_000);
        let line = message(&huge, &["secret_xyz"]);
        assert!(line.len() < 400, "{}", line.len());
        assert!(line.ends_with(&format!("…[{} more bytes]", 50_000_000 - MAX_LINE)));
        assert_eq!(message("", &[]), "");
    }
}
