//! Output helpers shared by the operator commands: bounded, streamed text tables for people
//! and stable, pretty-printed JSON for scripts, both written to an [`io::Write`].
//!
//! # Tables
//! Every cell goes through [`text::cell`] as it is added: control characters become visible
//! escapes (a display name cannot clear the screen or fake a row) and the cell is cut to its
//! column's cap with an ellipsis (a 500 MB name costs one capped cell, not a 500 MB column).
//! Columns are padded to their widest cell (counted in characters, so names with accents still
//! line up) and separated by two spaces; the last column is not padded.
//!
//! Rows are streamed: widths come from the first [`WIDTH_SAMPLE`] rows, which are held back
//! until then; later rows are written as they come, with those widths (a wider later cell only
//! pushes the rest of its row right, and no cell is wider than its cap). Memory is therefore
//! bounded by the sample, whatever the number of rows.
//!
//! # Errors
//! Write failures are returned as they are, so a caller can tell a closed pipe
//! ([`io::ErrorKind::BrokenPipe`]) from other failures.

use std::io::{self, Write};

use serde::Serialize;

use crate::text;

/// Cap for names and labels (display names, change descriptions), in characters.
pub const NAME_WIDTH: usize = 60;
/// Cap for ids and keys (`type:id`, entitlement ids, sync ids), in characters: ids are longer
/// than names and a cut id is less useful, but they come from outside too.
pub const ID_WIDTH: usize = 100;
/// Cap for short values we mostly produce ourselves (types, statuses, counts, timestamps).
pub const SHORT_WIDTH: usize = 40;

/// Rows whose widths decide the column widths of a table.
pub const WIDTH_SAMPLE: usize = 1000;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for a terminal.
    #[default]
    Table,
    /// Pretty-printed JSON with a documented, stable shape.
    Json,
}

/// One column of a [`Table`]: its header and the most characters a cell may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header, printed as is.
    pub header: &'static str,
    /// Cells longer than this are cut with an ellipsis.
    pub max: usize,
}

impl Column {
    /// A column of display names ([`NAME_WIDTH`]).
    pub const fn name(header: &'static str) -> Column {
        Column {
            header,
            max: NAME_WIDTH,
        }
    }

    /// A column of ids ([`ID_WIDTH`]).
    pub const fn id(header: &'static str) -> Column {
        Column {
            header,
            max: ID_WIDTH,
        }
    }

    /// A column of short values ([`SHORT_WIDTH`]).
    pub const fn short(header: &'static str) -> Column {
        Column {
            header,
            max: SHORT_WIDTH,
        }
    }
}

/// A text table written row by row to `out` (see the module docs).
#[derive(Debug)]
pub struct Table<W: Write> {
    out: W,
    columns: Vec<Column>,
    /// Column widths, once decided (after [`WIDTH_SAMPLE`] rows or at [`Table::finish`]).
    widths: Option<Vec<usize>>,
    /// Rows held back until the widths are decided: the header first, then the sample.
    pending: Vec<Vec<String>>,
}

impl<W: Write> Table<W> {
    /// A table with these columns, writing to `out`.
    pub fn new(out: W, columns: &[Column]) -> Table<W> {
        let header = columns.iter().map(|c| c.header.to_owned()).collect();
        Table {
            out,
            columns: columns.to_vec(),
            widths: None,
            pending: vec![header],
        }
    }

    /// Adds a row of outside text: each cell is escaped and capped to its column. Missing
    /// cells render empty; cells beyond the last column are dropped.
    pub fn row<I, S>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let row: Vec<String> = cells
            .into_iter()
            .zip(&self.columns)
            .map(|(cell, col)| text::cell(cell.as_ref(), col.max).into_owned())
            .collect();
        match &self.widths {
            Some(widths) => write_row(&mut self.out, widths, &row),
            None => {
                self.pending.push(row);
                if self.pending.len() > WIDTH_SAMPLE {
                    self.flush_pending()?;
                }
                Ok(())
            }
        }
    }

    /// Writes what is held back, flushes, and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_pending()?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Decides the widths from the held-back rows and writes them.
    fn flush_pending(&mut self) -> io::Result<()> {
        if self.widths.is_some() {
            return Ok(());
        }
        let mut widths = vec![0usize; self.columns.len()];
        for row in &self.pending {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::mem::take(&mut self.pending) {
            write_row(&mut self.out, &widths, &row)?;
        }
        self.widths = Some(widths);
        Ok(())
    }
}

/// Writes one row: cells padded to `widths` (but the last), trailing blanks trimmed.
fn write_row(out: &mut impl Write, widths: &[usize], row: &[String]) -> io::Result<()> {
    let mut line = String::new();
    for (i, width) in widths.iter().enumerate() {
        let cell = row.get(i).map(String::as_str).unwrap_or("");
        line.push_str(cell);
        if i + 1 < widths.len() {
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let line = line.trim_end();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

/// Writes pretty JSON of `value` followed by a newline, streaming (no copy of the document).
pub fn json_to<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    // serde_json hands back a write failure as the io::Error it was (BrokenPipe stays
    // BrokenPipe); our output types cannot fail to serialize otherwise.
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Pretty JSON of `value` followed by a newline, as a string.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail, and serde_json writes UTF-8 only; the fallback is never
    // taken but keeps this free of panics.
    match json_to(&mut buf, value) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "{}\n".to_owned()),
        Err(_) => "{}\n".to_owned(),
    }
}

/// Writes `text` to stdout and flushes, returning the failure instead of panicking as
/// `print!` does: a closed pipe comes back as [`io::ErrorKind::BrokenPipe`], which the binary
/// turns into a quiet exit. Every command's output goes through this or another `io::Write`.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes one line of outside text, escaped (see [`text::escape_controls`]) and bounded to
/// `max_chars` characters of the input.
pub fn line_to(out: &mut dyn Write, s: &str, max_chars: usize) -> io::Result<()> {
    out.write_all(text::one_line_max(s, max_chars).as_bytes())?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(columns: &[Column], rows: &[&[&str]]) -> String {
        let mut t = Table::new(Vec::new(), columns);
        for row in rows {
            t.row(row.iter()).expect("in memory");
        }
        String::from_utf8(t.finish().expect("in memory")).expect("utf-8")
    }

    #[test]
    fn columns_align_by_characters() {
        let cols = [Column::id("ID"), Column::name("NAME"), Column::short("N")];
        assert_eq!(
            render(&cols, &[&["a", "Zoë", "1"], &["long-id", "x", "22"]]),
            "ID       NAME  N\na        Zoë   1\nlong-id  x     22\n"
        );
    }

    #[test]
    fn short_rows_render_empty_cells() {
        let cols = [Column::short("A"), Column::short("B")];
        assert_eq!(render(&cols, &[&["x"]]), "A  B\nx\n");
    }

    #[test]
    fn cells_are_escaped_and_capped() {
        let cols = [
            Column {
                header: "NAME",
                max: 8,
            },
            Column::short("N"),
        ];
        let huge = "y".repeat(1_000_000);
        let out = render(&cols, &[&["a\x1b[2J\r\nb", "1"], &[&huge, "2"]]);
        assert_eq!(
            out, "NAME      N\na\\x1b[2…  1\nyyyyyyy…  2\n",
            "escaped, then cut"
        );
    }

    #[test]
    fn rows_after_the_sample_keep_the_sampled_widths() {
        let cols = [Column::short("A"), Column::short("B")];
        let mut t = Table::new(Vec::new(), &cols);
        for _ in 0..WIDTH_SAMPLE {
            t.row(["x", "1"]).expect("in memory");
        }
        // Written at once, with the sampled widths.
        t.row(["wider", "2"]).expect("in memory");
        assert!(t.pending.is_empty());
        let out = String::from_utf8(t.finish().expect("in memory")).expect("utf-8");
        assert!(out.starts_with("A  B\nx  1\n"), "{out}");
        assert!(out.ends_with("x  1\nwider  2\n"), "{out}");
    }

    #[test]
    fn json_is_pretty_with_a_newline() {
        assert_eq!(
            json(&serde_json::json!({"a": "\x1b"})),
            "{\n  \"a\": \"\\u001b\"\n}\n"
        );
    }
}
