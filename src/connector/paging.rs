//! Opaque Baton page tokens over SCIM `startIndex` paging.
//!
//! A token is `base64url(JSON {"v":1,"s":<session>,"i":<next startIndex>,"n":<page size>})`.
//! The session names a [`Pager`] kept in memory, which carries what cannot travel in a bounded
//! token: the set of ids already seen (to drop duplicates when Notion's order shifts between
//! requests) and the `totalResults` history. A token whose session is unknown (another process,
//! a restart, an evicted session) resumes statelessly from its `startIndex`, so a token is
//! always honoured. Anything that does not decode is an `InvalidArgument`, never a panic.
//!
//! Two kinds of fetching ahead hide Notion's latency from the engine, which asks for one page
//! at a time: within a listing, the next pages once the first reveals `totalResults`
//! ([`Sessions`]); and across listings, the first page of the listing the engine asks for next
//! (the groups after the users), once the current listing's last page is on its way
//! ([`NextListing`]) — otherwise every listing would begin with a round trip in which nothing
//! else is in flight.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use std::future::Future;

use tokio_util::task::AbortOnDropHandle;
use tracing::warn;

use crate::baton::{ConnectorError, Page, PageRequest};
use crate::notion::{self, ListResponse, Pager};

/// SCIM's page cap, and so the largest page this connector asks Notion for.
pub const SCIM_MAX_PAGE: u32 = 100;
/// How many listings may be in progress at once before the oldest is forgotten.
const MAX_SESSIONS: usize = 64;
/// How long a first page fetched ahead ([`Sessions::prime`]) may wait for its listing: the
/// engine starts the next listing as soon as the current one ends, so a primed page older than
/// this was not wanted (a failed or cancelled sync) and is fetched afresh instead.
const PRIMED_FOR: Duration = Duration::from_secs(5);

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

/// A listing in progress: its pager and the pages already being fetched ahead of the caller.
struct Session<R> {
    pager: Pager,
    /// How many records the latest page held: the step between pages. Usually the page size,
    /// but a server that caps pages below it (SCIM allows that) would otherwise have every
    /// page fetched ahead at the wrong offset.
    stride: Option<u32>,
    /// Pages requested before they were asked for, by `startIndex`. Dropping a handle aborts
    /// its request, so a forgotten or finished listing leaves nothing running.
    ahead: BTreeMap<u32, AbortOnDropHandle<Fetched<R>>>,
    /// Whether the next listing's first page has been asked for (once per listing).
    primed_next: bool,
}

/// A first page fetched before its listing began (see [`Sessions::prime`]).
struct Primed<R> {
    page_size: u32,
    at: Instant,
    handle: AbortOnDropHandle<Fetched<R>>,
}

impl<R> Primed<R> {
    /// Whether it can serve as the first page of a listing of `page_size` now (fresh, and of
    /// that size).
    fn fits(&self, page_size: u32) -> bool {
        self.page_size == page_size && self.at.elapsed() < PRIMED_FOR
    }
}

/// A listing that can fetch its first page before the engine asks for it.
pub trait Prime: Send + Sync {
    /// Starts fetching the first page of `page_size` records (a no-op when one is on its way).
    fn prime(&self, page_size: u32);
}

/// The listing the engine asks for after this one: the resource type it lists, and the syncer
/// that primes it. Held weakly, so that syncers pointing at each other cannot leak.
pub struct NextListing {
    resource_type: &'static str,
    syncer: Weak<dyn Prime>,
}

impl NextListing {
    /// The listing of `resource_type` by `syncer`.
    pub fn new(resource_type: &'static str, syncer: Weak<dyn Prime>) -> Self {
        NextListing {
            resource_type,
            syncer,
        }
    }
}

type Fetched<R> = Result<ListResponse<R>, notion::Error>;

/// Listings in progress, by session id, with their read-ahead.
///
/// SCIM pages are addressable by `startIndex`, and the first page reveals `totalResults`, so
/// once a listing's size is known the next pages can be fetched before the sync engine asks for
/// them (`DESIGN.md`, "Read-ahead paging"). Up to `window` pages are kept in flight or waiting;
/// every request still goes through the client's rate and concurrency limiter, so read-ahead
/// never exceeds `--max-concurrency` or the configured rate. Because the read-ahead lives here
/// and not in the engine, it works the same in process and behind the gRPC server.
pub struct Sessions<R> {
    next: AtomicU64,
    entries: Mutex<HashMap<u64, Session<R>>>,
    window: usize,
    /// The first page of the next listing of this kind, fetched ahead.
    primed: Mutex<Option<Primed<R>>>,
    /// The listing that follows this kind's, primed when this one's last page is on its way.
    then: Mutex<Option<NextListing>>,
}

impl<R> Default for Sessions<R> {
    fn default() -> Self {
        Sessions::with_window(0)
    }
}

impl<R> Sessions<R> {
    /// Sessions that fetch up to `window` pages ahead (0 turns read-ahead off).
    pub fn with_window(window: usize) -> Self {
        Sessions {
            next: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            window,
            primed: Mutex::new(None),
            then: Mutex::new(None),
        }
    }

    /// Sets (or, with `None`, clears) the listing the engine asks for after this kind's.
    pub fn then(&self, next: Option<NextListing>) {
        *super::lock(&self.then) = next;
    }

    /// Starts fetching the first page of the next listing (`page_size` records, `fetch` making
    /// the request), so that it is on its way before the engine asks for it. At most one is
    /// kept; nothing happens with read-ahead off, or while a fresh one of that size waits.
    pub fn prime<F, Fut>(&self, page_size: u32, fetch: F)
    where
        R: Send + 'static,
        F: FnOnce(notion::PageRequest) -> Fut,
        Fut: Future<Output = Fetched<R>> + Send + 'static,
    {
        if self.window == 0 {
            return;
        }
        let mut primed = super::lock(&self.primed);
        if primed.as_ref().is_some_and(|p| p.fits(page_size)) {
            return;
        }
        let first = notion::PageRequest {
            start_index: 1,
            count: page_size,
        };
        *primed = Some(Primed {
            page_size,
            at: Instant::now(),
            handle: AbortOnDropHandle::new(tokio::spawn(fetch(first))),
        });
    }

    /// Takes the primed first page for a listing of `page_size`, when one is fresh (a stale or
    /// other-sized one is dropped, which aborts it).
    fn take_primed(&self, page_size: u32) -> Option<AbortOnDropHandle<Fetched<R>>> {
        let primed = super::lock(&self.primed).take()?;
        primed.fits(page_size).then_some(primed.handle)
    }

    /// Primes the next listing, when there is one and the caller's sync stores its type.
    fn prime_next(&self, page: &PageRequest, page_size: u32) {
        let syncer = super::lock(&self.then)
            .as_ref()
            .filter(|n| page.syncs(n.resource_type))
            .and_then(|n| n.syncer.upgrade());
        if let Some(syncer) = syncer {
            syncer.prime(page_size);
        }
    }

    /// Takes the session for `req` out of the table (a new one for a first page, a resumed one
    /// for an unknown session). Put it back with [`Sessions::keep`] unless the listing is done.
    fn take(&self, req: &PageRequest) -> Result<(u64, Session<R>), ConnectorError> {
        match decode(&req.token)? {
            None => {
                // Sessions start at a random offset so that tokens from an earlier process
                // are unlikely to collide with this one's.
                let base = self.next.fetch_add(1, Ordering::Relaxed);
                let id = base.wrapping_add(session_salt());
                let size = scim_page_size(req);
                let mut session = Session::new(Pager::new(size));
                if let Some(first) = self.take_primed(size) {
                    session.ahead.insert(1, first);
                }
                Ok((id, session))
            }
            Some(pos) => {
                let found = self.lock().remove(&pos.session);
                match found {
                    Some(s)
                        if s.pager.next_request().map(|r| r.start_index)
                            == Some(pos.start_index) =>
                    {
                        Ok((pos.session, s))
                    }
                    _ => Ok((
                        pos.session,
                        Session::new(Pager::resume(pos.start_index, pos.page_size)),
                    )),
                }
            }
        }
    }

    /// Stores a session whose listing continues.
    fn keep(&self, id: u64, session: Session<R>) {
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            // Forget an arbitrary old listing: its token still works, statelessly.
            if let Some(&k) = map.keys().next() {
                map.remove(&k);
            }
        }
        map.insert(id, session);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Session<R>>> {
        super::lock(&self.entries)
    }
}

impl<R> Session<R> {
    fn new(pager: Pager) -> Self {
        Session {
            pager,
            stride: None,
            ahead: BTreeMap::new(),
            primed_next: false,
        }
    }

    /// The pages worth fetching ahead: `window` page starts from the one the pager asks for
    /// next, within the announced `totalResults`. Nothing without a total: fetching
    /// past an unknown end would waste requests.
    fn plan(&self, window: usize) -> Vec<notion::PageRequest> {
        let (Some(next), Some(total)) = (self.pager.next_request(), self.pager.total_results())
        else {
            return Vec::new();
        };
        let step = u64::from(self.stride.unwrap_or(next.count).clamp(1, next.count));
        (0..window as u64)
            .map(|k| u64::from(next.start_index) + k * step)
            .take_while(|&start| start <= total)
            .filter_map(|start| u32::try_from(start).ok())
            .map(|start_index| notion::PageRequest {
                start_index,
                count: next.count,
            })
            .collect()
    }
}

/// Fetches the SCIM page that `page` continues, keeps each record not seen before (mapped by
/// `map`), and returns the Baton page with its continuation token, and the listing's session
/// id (the same for every page of one listing, for callers that keep per-listing state). When
/// the listing ends, a drift between `totalResults` and what was collected is logged and pushed
/// onto `drift`.
///
/// `fetch` makes one SCIM list request; the futures it returns are spawned when a page is
/// fetched ahead, hence `'static`.
pub async fn scim_page<R, T, F, Fut>(
    sessions: &Sessions<R>,
    page: &PageRequest,
    what: &str,
    drift: &Mutex<Vec<String>>,
    fetch: F,
    id: impl Fn(&R) -> &str,
    mut map: impl FnMut(&R) -> T,
) -> Result<(u64, Page<T>), ConnectorError>
where
    R: Send + 'static,
    F: Fn(notion::PageRequest) -> Fut,
    Fut: Future<Output = Fetched<R>> + Send + 'static,
{
    let (session_id, mut session) = sessions.take(page)?;
    let Some(req) = session.pager.next_request() else {
        return Ok((session_id, Page::empty()));
    };
    let resp = match session.ahead.remove(&req.start_index) {
        Some(handle) => handle
            .await
            .map_err(|e| ConnectorError::internal(format!("fetching {what} ahead failed: {e}")))?,
        None => fetch(req).await,
    }
    .map_err(super::map_error)?;
    let ids: Vec<&str> = resp.resources.iter().map(&id).collect();
    session.stride = u32::try_from(ids.len()).ok();
    let fresh = session.pager.accept(&ids, resp.total_results);
    // A listing past its page budget is a failure, not a short listing (see `notion::paging`).
    if let Some(err) = session.pager.cap_error(what) {
        return Err(super::map_error(err));
    }
    let items = fresh.into_iter().map(|i| map(&resp.resources[i])).collect();
    match session.pager.next_request() {
        Some(next) if !session.pager.is_done() => {
            // Once the last page is on its way, the engine will ask for the next listing soon.
            let reaches_end = read_ahead(&mut session, sessions.window, &fetch);
            if reaches_end && !session.primed_next {
                session.primed_next = true;
                sessions.prime_next(page, next.count);
            }
            let token = encode(&Position {
                session: session_id,
                start_index: next.start_index,
                page_size: next.count,
            });
            sessions.keep(session_id, session);
            Ok((session_id, Page::more(items, token)))
        }
        _ => {
            if let Some(d) = session.pager.drift() {
                let msg = format!("{what}: {d}");
                warn!("{msg}");
                super::lock(drift).push(msg);
            }
            Ok((session_id, Page::done(items)))
        }
    }
}

/// Tops the session's read-ahead up to its plan, and drops (aborts) pages the plan no longer
/// wants — after a short page, say, the next pages start elsewhere. Returns whether the plan
/// reaches the listing's end (it falls short of the window): the last page is on its way.
fn read_ahead<R, F, Fut>(session: &mut Session<R>, window: usize, fetch: &F) -> bool
where
    R: Send + 'static,
    F: Fn(notion::PageRequest) -> Fut,
    Fut: Future<Output = Fetched<R>> + Send + 'static,
{
    let plan = session.plan(window);
    let reaches_end = plan.len() < window;
    session
        .ahead
        .retain(|start, _| plan.iter().any(|p| p.start_index == *start));
    for req in plan {
        if let std::collections::btree_map::Entry::Vacant(slot) =
            session.ahead.entry(req.start_index)
        {
            slot.insert(AbortOnDropHandle::new(tokio::spawn(fetch(req))));
        }
    }
    reaches_end
}

fn session_salt() -> u64 {
    use std::sync::OnceLock;
    static SALT: OnceLock<u64> = OnceLock::new();
    *SALT.get_or_init(rand::random::<u64>)
}

#[cfg(test)]
mod tests;
