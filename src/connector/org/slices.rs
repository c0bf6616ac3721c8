//! Paging over the slices of the organization snapshot: a page token is an offset into the
//! slice (`org1:<n>`, opaque to the caller; any other text is refused), and a page is at most
//! [`MAX_PAGE`] items.

use std::collections::HashMap;

use crate::baton::ConnectorError;

/// Items of a slice for one page: `offset` from the token, `size` from the request.
pub fn slice_page<T: Clone>(
    items: &[T],
    token: &str,
    size: u32,
) -> Result<(Vec<T>, String), ConnectorError> {
    let offset = decode_offset(token)?;
    let size = page_size(size);
    let end = offset.saturating_add(size).min(items.len());
    let page = items
        .get(offset.min(items.len())..end)
        .unwrap_or_default()
        .to_vec();
    let next = if end < items.len() {
        encode_offset(end)
    } else {
        String::new()
    };
    Ok((page, next))
}

/// One page of `len` items produced by `items` (a map's iterator, say): skips to the token's
/// offset and takes a page, without copying the rest.
pub fn slice_iter<T>(
    items: impl Iterator<Item = T>,
    len: usize,
    token: &str,
    size: u32,
) -> Result<(Vec<T>, String), ConnectorError> {
    let offset = decode_offset(token)?;
    let size = page_size(size);
    let page: Vec<T> = items.skip(offset).take(size).collect();
    let end = offset.saturating_add(page.len());
    let next = if end < len && !page.is_empty() {
        encode_offset(end)
    } else {
        String::new()
    };
    Ok((page, next))
}

/// The items a page holds for a requested `size` (0: the default; capped at the most).
fn page_size(size: u32) -> usize {
    let size = if size == 0 {
        DEFAULT_PAGE
    } else {
        size.min(MAX_PAGE)
    };
    size as usize
}

/// Resources a snapshot page holds when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// The most a snapshot page holds.
pub const MAX_PAGE: u32 = 1000;

const OFFSET_PREFIX: &str = "org1:";

/// A page token for `offset` into a snapshot slice.
pub fn encode_offset(offset: usize) -> String {
    format!("{OFFSET_PREFIX}{offset}")
}

/// The offset of a page token from [`encode_offset`] (0 for the first page).
pub fn decode_offset(token: &str) -> Result<usize, ConnectorError> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix(OFFSET_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            ConnectorError::invalid_argument("the page token is not one this connector issued")
        })
}

/// Index of `HashMap<id, position>` over a slice, for lookups by id.
pub fn index_by<T>(items: &[T], id: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| (id(t).to_owned(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_page_to_the_end_and_refuse_foreign_tokens() {
        let items: Vec<u32> = (0..250).collect();
        let (a, t) = slice_page(&items, "", 0).expect("first");
        assert_eq!((a.len(), a[0]), (100, 0));
        let (b, t) = slice_page(&items, &t, 0).expect("second");
        assert_eq!(b[0], 100);
        let (c, t) = slice_page(&items, &t, 0).expect("third");
        assert_eq!((c.len(), t.as_str()), (50, ""));
        assert!(slice_page(&items, "garbage", 0).is_err());
        let (d, t) = slice_page(&items, &encode_offset(999), 10).expect("past the end");
        assert!(d.is_empty() && t.is_empty());
    }
}
