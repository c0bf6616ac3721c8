//! [`SafeFields`]: the console log's field formatter, which makes every message and field
//! value display-safe.
//!
//! # Why a formatter, not only the call sites
//! Log lines carry outside text: a gRPC peer's request fields in spans, Notion's error lines,
//! ids and names in warnings. tracing-subscriber (0.3.23) escapes ESC, BEL, BS, FF, DEL and C1
//! in the *message* only; it leaves CR and LF in messages (a second, faked log line), and
//! writes `%display` field values raw (`resource_type=%id` passes `ESC ]0;…` to the terminal).
//! Call sites do use [`crate::text::one_line`] for outside text, but one forgotten call site,
//! or a dependency's event, would be enough. Formatting every field of every event and span
//! here covers all console lines at once. JSON logs need none of this: the JSON formatter
//! escapes control characters itself.
//!
//! Each value is escaped with the rules of [`crate::text`] (C0 including CR/LF/TAB, DEL, C1,
//! bidi controls become `\n`, `\x1b`, `\u{202e}`) and bounded to [`MAX_FIELD`] characters, a
//! backstop above the call sites' own [`crate::text::MAX_LINE`]. The layout is the default
//! formatter's: `message name=value name="str"`, with the field name italic and `=` dimmed
//! when the writer uses ANSI colours.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use crate::text;

/// Longest message or field value a console log line shows, in characters.
pub const MAX_FIELD: usize = 2000;

/// Formats event and span fields for console logs, escaped and bounded (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeFields;

impl<'writer> FormatFields<'writer> for SafeFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = SafeVisitor {
            writer,
            result: Ok(()),
            empty: true,
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field as it is visited.
struct SafeVisitor<'writer> {
    writer: Writer<'writer>,
    result: fmt::Result,
    /// Nothing written yet (no separating space needed).
    empty: bool,
}

impl SafeVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        let name = field.name();
        // Metadata of events bridged from the `log` crate, already shown by the formatter.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let shown = text::one_line_max(value, MAX_FIELD);
        let sep = if self.empty { "" } else { " " };
        self.empty = false;
        self.result = if name == "message" {
            write!(self.writer, "{sep}{shown}")
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            if self.writer.has_ansi_escapes() {
                write!(
                    self.writer,
                    "{sep}\x1b[3m{name}\x1b[0m\x1b[2m=\x1b[0m{shown}"
                )
            } else {
                write!(self.writer, "{sep}{name}={shown}")
            }
        };
    }
}

impl Visit for SafeVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, value);
        } else {
            // Quoted, as the default formatter shows string fields.
            self.write(field, &format!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(chain, ": {cause}");
            source = cause.source();
        }
        self.write(field, &chain);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer collecting everything into one buffer.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    const HOSTILE: &str = "x\x1b]0;pwned\x07\x1b[2J\rFAKE\nFAKE line\x08\u{202e}";

    fn logged(ansi: bool) -> String {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(ansi)
            .with_target(false)
            .fmt_fields(SafeFields)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("call", resource_type = %HOSTILE);
            let _guard = span.enter();
            let err = io::Error::other(HOSTILE);
            tracing::warn!(
                display = %HOSTILE,
                debug = ?HOSTILE,
                text = HOSTILE,
                error = &err as &(dyn std::error::Error + 'static),
                "message {HOSTILE}"
            );
        });
        let bytes = capture.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn every_field_and_the_message_are_escaped() {
        let out = logged(false);
        assert_eq!(out.matches('\n').count(), 1, "one line: {out:?}");
        assert!(
            !out.trim_end_matches('\n').chars().any(text::is_unsafe),
            "{out:?}"
        );
        assert!(
            out.contains("call{resource_type=x\\x1b]0;pwned\\x07"),
            "{out}"
        );
        assert!(
            out.contains("message x\\x1b]0;pwned\\x07\\x1b[2J\\rFAKE\\nFAKE"),
            "{out}"
        );
        assert!(out.contains("display=x\\x1b]0;"), "{out}");
        assert!(out.contains("error=x\\x1b]0;"), "{out}");
        assert!(out.contains("\\u{202e}"), "{out}");
    }

    #[test]
    fn with_colours_only_our_own_escapes_remain() {
        let out = logged(true);
        assert_eq!(out.matches('\n').count(), 1, "{out:?}");
        // Colour sequences are `ESC [ … m`; a hostile OSC (`ESC ]`) or clear screen is not.
        assert!(!out.contains("\x1b]"), "{out:?}");
        assert!(!out.contains("\x1b[2J"), "{out:?}");
        assert!(!out.contains('\r') && !out.contains('\x07'), "{out:?}");
    }

    #[test]
    fn long_values_are_bounded() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(false)
            .fmt_fields(SafeFields)
            .finish();
        let huge = "z".repeat(1 << 20);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(value = %huge, "big");
        });
        let len = capture.0.lock().map(|b| b.len()).unwrap_or_default();
        assert!(len < 3 * MAX_FIELD, "{len} bytes");
    }
}
