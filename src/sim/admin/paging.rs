//! Query strings, page sizes and cursors of the Admin API's four pagination styles.
//!
//! | style | cursor param | `page_size` | default | cap |
//! |---|---|---|---|---|
//! | [`Style::P1`] (users, groups, group members) | `start_cursor` (non-empty) | integer | 100 | 100 |
//! | [`Style::Spaces`] | `start_cursor` (non-empty) | integer | 100 | 100 |
//! | [`Style::P2`] (PATs, MCP connections) | `cursor` | digit string `"1"`–`"100"` | 100 | 100 |
//! | [`Style::P4`] (agents) | `cursor` | integer | 25 | 100 |
//! | [`Style::Permissions`] (agent permissions) | `cursor` | integer | 250 | 250 |
//!
//! A query string cannot tell an integer from a string, so the simulator's reading of "string
//! `page_size`" is strict: P2 accepts only a canonical decimal string (`[1-9][0-9]*`, at most 100;
//! no sign, no leading zero, no quotes, no spaces), the integer styles accept anything Rust parses
//! as an integer (`+5`, `007`). Out-of-range or malformed values are 400 `validation_error` in
//! every style (the spec documents the ranges; it does not say they are clamped). An empty
//! `start_cursor` is 400 (P1 documents it as non-empty); an empty `cursor` means the first page.
//!
//! Cursors are opaque: URL-safe base64 of `"<scope>|<position>"`, where the scope names the
//! listing (e.g. `users:<space id>`) and the position is a raw index into the listing's backing
//! sequence. A cursor that does not decode, or belongs to another listing, is 400
//! `validation_error`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::errors::Fail;

/// A pagination style (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `start_cursor`, integer `page_size` 1–100 (default 100); all fields present.
    P1,
    /// `cursor`, string `page_size` "1"–"100" (default 100); `next_cursor` only with more.
    P2,
    /// `cursor`, integer `page_size` 1–100 (default 25); optional `next_cursor`.
    P4,
    /// `start_cursor`, integer `page_size` 1–100 (default 100), P1's envelope.
    Spaces,
    /// `cursor`, integer `page_size` 1–250 (default 250); `{permissions, next_cursor?}`.
    Permissions,
}

impl Style {
    /// Name of the cursor parameter.
    fn cursor_param(self) -> &'static str {
        match self {
            Style::P1 | Style::Spaces => "start_cursor",
            Style::P2 | Style::P4 | Style::Permissions => "cursor",
        }
    }

    /// `(default, cap)` of `page_size`.
    fn sizes(self) -> (usize, usize) {
        match self {
            Style::P1 | Style::P2 | Style::Spaces => (100, 100),
            Style::P4 => (25, 100),
            Style::Permissions => (250, 250),
        }
    }
}

/// A parsed query string: the decoded pairs in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// `(key, value)` pairs, percent-decoded.
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`None` = no query).
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    /// The last value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An array parameter in any of the accepted spellings: repeated `name=a&name=b`, bracket
    /// encoding `name[]=a&name[]=b`, indexed `name[0]=a`, and comma lists `name=a,b` (mixed
    /// freely). Empty items are dropped. `None` when the parameter is absent.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let mut found = false;
        let mut values = Vec::new();
        for (k, v) in &self.pairs {
            let matches = k == name
                || k.strip_prefix(name).is_some_and(|rest| {
                    rest.starts_with('[')
                        && rest.ends_with(']')
                        && rest[1..rest.len() - 1].bytes().all(|b| b.is_ascii_digit())
                });
            if matches {
                found = true;
                values.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        found.then_some(values)
    }
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// Raw position in the backing sequence to resume from.
    pub(crate) start: usize,
    /// Items to return at most.
    pub(crate) size: usize,
}

impl PageRequest {
    /// Reads the cursor and `page_size` of `style` from `query`; `scope` names the listing the
    /// cursor must belong to.
    pub(crate) fn parse(query: &Query, style: Style, scope: &str) -> Result<PageRequest, Fail> {
        let (default, cap) = style.sizes();
        let size = match query.get("page_size") {
            None => default,
            Some(raw) => parse_size(raw, style, cap)?,
        };
        let param = style.cursor_param();
        let start = match query.get(param) {
            None => 0,
            Some("") if param == "cursor" => 0,
            Some("") => return Err(Fail::invalid(format!("{param} must be a non-empty string"))),
            Some(cursor) => decode_cursor(cursor, scope)
                .ok_or_else(|| Fail::invalid(format!("{param} is not a valid cursor")))?,
        };
        Ok(PageRequest { start, size })
    }
}

/// Parses `page_size` for `style`.
fn parse_size(raw: &str, style: Style, cap: usize) -> Result<usize, Fail> {
    let bad = || {
        let kind = if style == Style::P2 {
            "a string holding a whole number"
        } else {
            "an integer"
        };
        Fail::invalid(format!(
            "page_size should be {kind} between 1 and {cap}, instead was `{}`",
            crate::text::one_line_max(raw, 40)
        ))
    };
    let size = if style == Style::P2 {
        let canonical = !raw.is_empty()
            && !raw.starts_with('0')
            && raw.len() <= 3
            && raw.bytes().all(|b| b.is_ascii_digit());
        if !canonical {
            return Err(bad());
        }
        raw.parse::<usize>().map_err(|_| bad())?
    } else {
        let n = raw.parse::<i64>().map_err(|_| bad())?;
        usize::try_from(n).map_err(|_| bad())?
    };
    if (1..=cap).contains(&size) {
        Ok(size)
    } else {
        Err(bad())
    }
}

/// The opaque cursor for resuming `scope` at `position`.
pub(crate) fn encode_cursor(scope: &str, position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}|{position}"))
}

/// The position in `cursor`, if it is one of `scope`'s.
fn decode_cursor(cursor: &str, scope: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (got, position) = text.rsplit_once('|')?;
    (got == scope).then(|| position.parse().ok()).flatten()
}

/// One page cut from a backing sequence: the items and where the next page starts.
#[derive(Debug)]
pub(crate) struct Cut<T> {
    /// The page's items.
    pub(crate) items: Vec<T>,
    /// Raw position of the next page, when there is one.
    pub(crate) next: Option<usize>,
}

/// Walks `len` raw positions from `request.start`, keeping those `pick` maps to an item, until a
/// page is full; then looks ahead for one more item to decide whether there is a next page.
pub(crate) fn cut<T>(
    len: usize,
    request: PageRequest,
    mut pick: impl FnMut(usize) -> Option<T>,
) -> Cut<T> {
    let mut items = Vec::with_capacity(request.size.min(256));
    let mut position = request.start;
    while position < len && items.len() < request.size {
        if let Some(item) = pick(position) {
            items.push(item);
        }
        position += 1;
    }
    // Is anything left? Skip positions that would yield nothing, so `has_more` is honest.
    let mut next = None;
    let mut probe = position;
    while probe < len {
        if pick(probe).is_some() {
            next = Some(position);
            break;
        }
        probe += 1;
    }
    Cut { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_parameters_in_every_spelling() {
        let q = Query::parse(Some(
            "status=active&status%5B%5D=expired&status[1]=revoked,x&s=1",
        ));
        assert_eq!(
            q.list("status").unwrap(),
            ["active", "expired", "revoked", "x"]
        );
        assert_eq!(q.list("creator_ids"), None);
        assert_eq!(Query::parse(Some("a=")).list("a"), Some(vec![]));
    }

    #[test]
    fn page_sizes_per_style() {
        let q = |s: &str| Query::parse(Some(s));
        let size = |s: &str, style| PageRequest::parse(&q(s), style, "x").map(|p| p.size);
        assert_eq!(size("", Style::P1), Ok(100));
        assert_eq!(size("", Style::P4), Ok(25));
        assert_eq!(size("", Style::Permissions), Ok(250));
        assert_eq!(size("page_size=100", Style::P2), Ok(100));
        assert_eq!(size("page_size=7", Style::P2), Ok(7));
        for bad in ["007", "+7", "101", "0", "\"7\"", "7.0", " 7"] {
            assert!(
                size(&format!("page_size={bad}"), Style::P2).is_err(),
                "{bad}"
            );
        }
        assert_eq!(size("page_size=007", Style::P1), Ok(7));
        assert!(size("page_size=101", Style::P1).is_err());
        assert!(size("page_size=0", Style::P4).is_err());
        assert!(size("page_size=abc", Style::P4).is_err());
        assert_eq!(size("page_size=250", Style::Permissions), Ok(250));
    }

    #[test]
    fn cursors_are_opaque_and_scoped() {
        let c = encode_cursor("users:s1", 200);
        assert!(!c.contains("200"));
        let q = Query::parse(Some(&format!("start_cursor={c}")));
        assert_eq!(
            PageRequest::parse(&q, Style::P1, "users:s1").unwrap().start,
            200
        );
        assert!(PageRequest::parse(&q, Style::P1, "users:s2").is_err());
        let q = Query::parse(Some("start_cursor=nope"));
        assert!(PageRequest::parse(&q, Style::P1, "users:s1").is_err());
        let q = Query::parse(Some("start_cursor="));
        assert!(PageRequest::parse(&q, Style::P1, "users:s1").is_err());
        let q = Query::parse(Some("cursor="));
        assert_eq!(PageRequest::parse(&q, Style::P2, "p").unwrap().start, 0);
    }

    #[test]
    fn cuts_skip_holes_and_report_more_honestly() {
        let keep = |i: usize| (i.is_multiple_of(2)).then_some(i);
        let page = cut(10, PageRequest { start: 0, size: 3 }, keep);
        assert_eq!((page.items, page.next), (vec![0, 2, 4], Some(5)));
        let page = cut(10, PageRequest { start: 5, size: 3 }, keep);
        assert_eq!((page.items, page.next), (vec![6, 8], None));
        // A full last page has no next when only holes remain.
        let page = cut(9, PageRequest { start: 0, size: 5 }, keep);
        assert_eq!((page.items, page.next), (vec![0, 2, 4, 6, 8], None));
    }
}
