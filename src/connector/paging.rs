//! Opaque Baton page tokens over SCIM `startIndex` paging.
//!
//! A token is `base64url(JSON {"v":1,"s":<session>,"i":<next startIndex>,"n":<page size>})`.
//! The session names a [`Pager`] kept in memory, which carries what cannot travel in a bounded
//! token: the set of ids already seen (to drop duplicates when Notion's order shifts between
//! requests) and the `totalResults` history. A token whose session is unknown (another process,
//! a restart, an evicted session) resumes statelessly from its `startIndex`, so a token is
//! always honoured. Anything that does not decode is an `InvalidArgument`, never a panic.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use std::future::Future;

use tracing::warn;

use crate::baton::{ConnectorError, Page, PageRequest};
use crate::notion::{self, ListResponse, Pager};

/// SCIM's page cap, and so the largest page this connector asks Notion for.
pub const SCIM_MAX_PAGE: u32 = 100;
/// How many listings may be in progress at once before the oldest is forgotten.
const MAX_SESSIONS: usize = 64;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    v: u8,
    s: u64,
    i: u32,
    n: u32,
}

/// Where a listing continues.
#[derive(Debug, PartialEq, Eq)]
pub struct Position {
    /// The pager session.
    pub session: u64,
    /// The next SCIM `startIndex` (1-based).
    pub start_index: u32,
    /// SCIM page size.
    pub page_size: u32,
}

/// Encodes a continuation token.
pub fn encode(pos: &Position) -> String {
    let c = Cursor {
        v: 1,
        s: pos.session,
        i: pos.start_index,
        n: pos.page_size,
    };
    // Serializing a struct of integers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// Decodes a continuation token; `None` for the first page.
pub fn decode(token: &str) -> Result<Option<Position>, ConnectorError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad =
        || ConnectorError::invalid_argument("the page token is not one this connector issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if c.v != 1 || c.i == 0 || c.n == 0 || c.n > SCIM_MAX_PAGE {
        return Err(bad());
    }
    Ok(Some(Position {
        session: c.s,
        start_index: c.i,
        page_size: c.n,
    }))
}

/// The SCIM page size for a Baton page request (0 → the SCIM maximum).
pub fn scim_page_size(req: &PageRequest) -> u32 {
    match req.size {
        0 => SCIM_MAX_PAGE,
        n => n.min(SCIM_MAX_PAGE),
    }
}

/// Pagers of listings in progress, by session id.
#[derive(Default)]
pub struct Sessions {
    next: AtomicU64,
    pagers: Mutex<HashMap<u64, Pager>>,
}

impl Sessions {
    /// Takes the pager for `req` out of the table (a new one for a first page, a resumed one
    /// for an unknown session). Put it back with [`Sessions::keep`] unless the listing is done.
    pub fn take(&self, req: &PageRequest) -> Result<(u64, Pager), ConnectorError> {
        match decode(&req.token)? {
            None => {
                // Sessions start at a random offset so that tokens from an earlier process
                // are unlikely to collide with this one's.
                let base = self.next.fetch_add(1, Ordering::Relaxed);
                let id = base.wrapping_add(session_salt());
                Ok((id, Pager::new(scim_page_size(req))))
            }
            Some(pos) => {
                let found = self.lock().remove(&pos.session);
                match found {
                    Some(p) if p.next_request().map(|r| r.start_index) == Some(pos.start_index) => {
                        Ok((pos.session, p))
                    }
                    _ => Ok((pos.session, Pager::resume(pos.start_index, pos.page_size))),
                }
            }
        }
    }

    /// Stores a pager whose listing continues.
    pub fn keep(&self, session: u64, pager: Pager) {
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            // Forget an arbitrary old listing: its token still works, statelessly.
            if let Some(&k) = map.keys().next() {
                map.remove(&k);
            }
        }
        map.insert(session, pager);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pager>> {
        super::lock(&self.pagers)
    }
}

/// Fetches the SCIM page that `page` continues, keeps each record not seen before (mapped by
/// `map`), and returns the Baton page with its continuation token. When the listing ends, a
/// drift between `totalResults` and what was collected is logged and pushed onto `drift`.
pub async fn scim_page<R, T, F, Fut>(
    sessions: &Sessions,
    page: &PageRequest,
    what: &str,
    drift: &Mutex<Vec<String>>,
    fetch: F,
    id: impl Fn(&R) -> &str,
    mut map: impl FnMut(&R) -> T,
) -> Result<Page<T>, ConnectorError>
where
    F: FnOnce(notion::PageRequest) -> Fut,
    Fut: Future<Output = Result<ListResponse<R>, notion::Error>>,
{
    let (session, mut pager) = sessions.take(page)?;
    let Some(req) = pager.next_request() else {
        return Ok(Page::empty());
    };
    let resp = fetch(req).await.map_err(super::map_error)?;
    let ids: Vec<&str> = resp.resources.iter().map(&id).collect();
    let fresh = pager.accept(&ids, resp.total_results);
    let items = fresh.into_iter().map(|i| map(&resp.resources[i])).collect();
    match pager.next_request() {
        Some(next) if !pager.is_done() => {
            let token = encode(&Position {
                session,
                start_index: next.start_index,
                page_size: next.count,
            });
            sessions.keep(session, pager);
            Ok(Page::more(items, token))
        }
        _ => {
            if let Some(d) = pager.drift() {
                let msg = format!("{what}: {d}");
                warn!("{msg}");
                super::lock(drift).push(msg);
            }
            Ok(Page::done(items))
        }
    }
}

fn session_salt() -> u64 {
    use std::sync::OnceLock;
    static SALT: OnceLock<u64> = OnceLock::new();
    *SALT.get_or_init(rand::random::<u64>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let pos = Position {
            session: 7,
            start_index: 101,
            page_size: 100,
        };
        assert_eq!(decode(&encode(&pos)).expect("decodes"), Some(pos));
        assert_eq!(decode("").expect("empty"), None);
    }

    #[test]
    fn tampered_tokens_are_invalid_arguments() {
        for bad in [
            "garbage!!",
            "eyJ2IjoxfQ",
            &URL_SAFE_NO_PAD.encode(br#"{"v":1,"s":1,"i":0,"n":100}"#),
        ] {
            let err = decode(bad).expect_err(bad);
            assert_eq!(err.code, crate::baton::Code::InvalidArgument);
        }
        let huge = URL_SAFE_NO_PAD.encode(br#"{"v":1,"s":1,"i":1,"n":1000}"#);
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn page_sizes_are_capped_at_the_scim_maximum() {
        let mut req = PageRequest::first();
        assert_eq!(scim_page_size(&req), 100);
        req.size = 250;
        assert_eq!(scim_page_size(&req), 100);
        req.size = 10;
        assert_eq!(scim_page_size(&req), 10);
    }
}
