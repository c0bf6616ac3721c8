//! SCIM paging as a state machine, with no HTTP in it.
//!
//! SCIM lists are addressed by `startIndex` (1-based) and `count`. Other clients got this wrong in
//! ways [`Pager`] is built to avoid (`spec/notion-scim.md`, "Known failure modes"):
//!
//! - The next `startIndex` is computed from the resources actually **received** — never from
//!   `itemsPerPage` (some servers echo the requested `count`) and never from a page token.
//! - Ids are deduplicated: page order is not stable while a workspace changes, so an id can show
//!   up twice; each is handed out once.
//! - It stops on whichever comes first: `received >= totalResults`; an empty page; a page whose
//!   ids were all seen already (servers that serve page 1 again past the end); a short page when
//!   `totalResults` is absent; or the page budget.
//! - The page budget stops a server that never stops paging — one that keeps raising
//!   `totalResults`, or sends full pages without one — in minutes, not hours: once the first
//!   page reveals `totalResults`, a listing may take at most `2 × ⌈total ÷ first page's size⌉ +
//!   10` pages (room for a workspace that grows while it is listed), and never more than an
//!   absolute ceiling ([`DEFAULT_MAX_PAGES`], [`Pager::with_max_pages`]). Reaching it is a
//!   failure ([`Pager::cap_error`]), not a short listing: an endless listing is not a complete
//!   one, and must not replace a good artifact.
//! - It notices when `totalResults` changes between pages, or when the number of unique ids
//!   collected differs from the final total ([`Pager::drift`]), so the caller can warn.
//!
//! The seen-set is compact: canonical (lower-case, hyphenated) UUIDs — Notion's ids — are stored
//! as `u128`; any other id as a 128-bit hash of it (two independent 64-bit SipHashes; a false
//! "seen" would need a 128-bit collision). Either way one entry costs 16 bytes plus hash-table
//! overhead: 1,000,000 ids take ≈ 36 MB at worst (the table doubles at powers of two), and when
//! the first page reveals `totalResults` the table is sized once instead of growing.
//!
//! Callers that page by an opaque token (the Baton protocol) store
//! [`next_request`](Pager::next_request)'s `start_index` in the token and continue with
//! [`Pager::resume`]; deduplication then covers the pages seen since the resume.

use std::collections::HashSet;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::Error;

/// The largest page Notion serves (`count` is capped at 100).
pub const MAX_PAGE_SIZE: u32 = 100;

/// Default absolute ceiling on pages fetched by one pager: 20,000 pages, i.e. two million
/// resources at 100 per page — twice the largest scenario the bench syncs and far beyond any
/// Notion workspace, yet reached in minutes by a server that never stops (and before the
/// temporary artifact grows past a few GB). Most listings stop far earlier: their budget is
/// sized from the first page's `totalResults`.
pub const DEFAULT_MAX_PAGES: u32 = 20_000;

/// Pages a listing may take beyond twice what its first `totalResults` implies.
const BUDGET_SLACK: u64 = 10;

/// Most ids pre-reserved from a `totalResults` (a lying server must not make us allocate huge
/// tables up front; beyond this the set simply grows).
const MAX_RESERVE: u64 = 1 << 20;

/// The next page to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// `startIndex`, 1-based.
    pub start_index: u32,
    /// `count`.
    pub count: u32,
}

/// Why a [`Pager`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// As many resources were received as `totalResults` announced.
    Complete,
    /// The server returned a page with no resources.
    EmptyPage,
    /// The server returned only ids already seen (e.g. page 1 again past the end).
    RepeatedPage,
    /// `totalResults` was absent and a page came back shorter than requested.
    ShortPage,
    /// The page budget was reached: the server keeps sending pages (see [`Pager::cap_error`]).
    PageCap,
}

/// `totalResults` did not stay consistent with what was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TotalDrift {
    /// `totalResults` of the first page that had one.
    pub first_total: u64,
    /// `totalResults` of the latest page that had one.
    pub last_total: u64,
    /// Unique resources accounted for: those skipped by a resume (`start_index - 1`) plus the
    /// unique ids seen since.
    pub collected: u64,
}

impl TotalDrift {
    /// How far the collected count is from the latest `totalResults`: positive when more were
    /// collected than Notion reported, negative when fewer.
    pub fn difference(&self) -> i128 {
        i128::from(self.collected) - i128::from(self.last_total)
    }
}

impl fmt::Display for TotalDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diff = self.difference();
        let off = match diff {
            0 => String::new(),
            d if d > 0 => format!(" ({d} more than reported)"),
            d => format!(" ({} fewer than reported)", -d),
        };
        if self.first_total != self.last_total {
            write!(
                f,
                "totalResults changed from {} to {} while paging; collected {} unique{off}",
                self.first_total, self.last_total, self.collected
            )
        } else {
            write!(
                f,
                "totalResults was {} but {} unique were collected{off} (the list changed while paging)",
                self.last_total, self.collected
            )
        }
    }
}

/// SCIM paging state machine. Knows nothing of HTTP. Advances by resources RECEIVED (never by
/// `itemsPerPage`, never from a token), dedupes ids, and stops on: received >= `totalResults`, an
/// empty page, a page whose ids were all seen already (servers that return page 1 again past the
/// end), or a hard page cap.
///
/// ```
/// use baton_notion::notion::Pager;
///
/// let mut pager = Pager::new(100);
/// let mut starts = Vec::new();
/// let ids: Vec<String> = (0..250).map(|i| format!("user-{i}")).collect();
/// while let Some(req) = pager.next_request() {
///     starts.push(req.start_index);
///     let from = (req.start_index - 1) as usize;
///     let page: Vec<&str> = ids.iter().skip(from).take(req.count as usize).map(String::as_str).collect();
///     let fresh = pager.accept(&page, Some(250));
///     assert_eq!(fresh.len(), page.len());
/// }
/// assert_eq!(starts, [1, 101, 201]);
/// assert_eq!(pager.unique_seen(), 250);
/// ```
#[derive(Debug, Clone)]
pub struct Pager {
    /// `count` asked for, 1..=100.
    page_size: u32,
    /// The 1-based index of the next resource to ask for.
    next_start: u64,
    /// Resources accounted for before this pager started (`resume` start − 1).
    skipped: u64,
    /// Pages accepted so far.
    pages: u32,
    /// Stop after this many pages (the absolute ceiling).
    max_pages: u32,
    /// Pages allowed by the first `totalResults` (see the module docs), once known.
    budget: Option<u64>,
    /// Ids handed out so far.
    seen: SeenSet,
    /// `totalResults` of the first page that carried one.
    first_total: Option<u64>,
    /// `totalResults` of the latest page that carried one.
    total: Option<u64>,
    /// Set when `totalResults` differed between two pages.
    total_changed: bool,
    /// Why paging stopped, once it has.
    stop: Option<StopReason>,
}

impl Pager {
    /// A pager starting at `startIndex=1`. `page_size` is clamped to 1..=100.
    pub fn new(page_size: u32) -> Pager {
        Pager::resume(1, page_size)
    }

    /// A pager continuing at `next_start_index` (as stored in a page token), with a fresh
    /// seen-set. `0` is treated as `1`; `page_size` is clamped to 1..=100.
    pub fn resume(next_start_index: u32, page_size: u32) -> Pager {
        let start = u64::from(next_start_index.max(1));
        Pager {
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            next_start: start,
            skipped: start - 1,
            pages: 0,
            max_pages: DEFAULT_MAX_PAGES,
            budget: None,
            seen: SeenSet::default(),
            first_total: None,
            total: None,
            total_changed: false,
            stop: None,
        }
    }

    /// Sets the absolute page ceiling (at least 1; default [`DEFAULT_MAX_PAGES`]). The budget
    /// sized from `totalResults` applies below it.
    pub fn with_max_pages(mut self, max_pages: u32) -> Pager {
        self.max_pages = max_pages.max(1);
        self
    }

    /// The page to fetch next, or `None` when paging is over.
    pub fn next_request(&self) -> Option<PageRequest> {
        if self.stop.is_some() {
            return None;
        }
        Some(PageRequest {
            start_index: u32::try_from(self.next_start).ok()?,
            count: self.page_size,
        })
    }

    /// Feeds a page's ids; returns the indices (into the page) of items not seen before, in order.
    ///
    /// Duplicates within the page are dropped too. After the last page, or when called after
    /// paging is over, the returned indices are still correct but nothing more will be requested.
    pub fn accept(&mut self, ids: &[&str], total_results: Option<u64>) -> Vec<usize> {
        self.pages = self.pages.saturating_add(1);
        if let Some(total) = total_results {
            match self.total {
                Some(previous) if previous != total => self.total_changed = true,
                None => {
                    self.first_total = Some(total);
                    let remaining = total.saturating_sub(self.skipped);
                    let stride = (ids.len() as u64).clamp(1, u64::from(self.page_size));
                    self.budget = Some(
                        remaining
                            .div_ceil(stride)
                            .saturating_mul(2)
                            .saturating_add(BUDGET_SLACK),
                    );
                    self.seen
                        .reserve(usize::try_from(remaining.min(MAX_RESERVE)).unwrap_or(0));
                }
                _ => {}
            }
            self.total = Some(total);
        }

        let fresh: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| self.seen.insert(id))
            .map(|(i, _)| i)
            .collect();

        if self.stop.is_none() {
            self.next_start = self.next_start.saturating_add(ids.len() as u64);
            let received = self.next_start - 1;
            self.stop = if ids.is_empty() {
                Some(StopReason::EmptyPage)
            } else if fresh.is_empty() {
                Some(StopReason::RepeatedPage)
            } else if self.total.is_some_and(|total| received >= total) {
                Some(StopReason::Complete)
            } else if self.total.is_none() && ids.len() < self.page_size as usize {
                Some(StopReason::ShortPage)
            } else if self.pages >= self.max_pages
                || self.budget.is_some_and(|b| u64::from(self.pages) >= b)
                || self.next_start > u64::from(u32::MAX)
            {
                Some(StopReason::PageCap)
            } else {
                None
            };
        }
        fresh
    }

    /// The failure to report when paging stopped at the page budget ([`StopReason::PageCap`]):
    /// [`Error::EndlessListing`] naming `what` was listed. `None` otherwise.
    pub fn cap_error(&self, what: &str) -> Option<Error> {
        (self.stop == Some(StopReason::PageCap)).then(|| Error::EndlessListing {
            what: what.to_owned(),
            pages: self.pages,
            received: self.next_start - 1 - self.skipped,
            total: self.first_total,
        })
    }

    /// True once paging is over.
    pub fn is_done(&self) -> bool {
        self.stop.is_some()
    }

    /// Why paging stopped, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// The latest `totalResults` seen.
    pub fn total_results(&self) -> Option<u64> {
        self.total
    }

    /// How many distinct ids have been accepted.
    pub fn unique_seen(&self) -> u64 {
        self.seen.len() as u64
    }

    /// Pages accepted so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The page size in use (after clamping).
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Reports `totalResults` drift: it changed between pages, or — once paging is over — the
    /// number of unique resources collected differs from the final total. `None` while consistent
    /// (or when the server never sent a total).
    pub fn drift(&self) -> Option<TotalDrift> {
        let (first_total, last_total) = (self.first_total?, self.total?);
        let collected = self.skipped + self.unique_seen();
        let mismatch = self.is_done() && collected != last_total;
        (self.total_changed || mismatch).then_some(TotalDrift {
            first_total,
            last_total,
            collected,
        })
    }
}

/// A compact set of ids: canonical UUIDs as their `u128`, other ids as a 128-bit hash.
#[derive(Debug, Clone, Default)]
struct SeenSet {
    keys: HashSet<u128>,
}

impl SeenSet {
    /// Inserts `id`; true if it was not there before.
    fn insert(&mut self, id: &str) -> bool {
        self.keys.insert(key(id))
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn reserve(&mut self, additional: usize) {
        self.keys.reserve(additional);
    }

    /// Approximate heap bytes (16-byte keys + 1 control byte per bucket).
    #[cfg(test)]
    fn approx_bytes(&self) -> usize {
        // hashbrown keeps buckets = capacity * 8 / 7, rounded up to a power of two.
        let buckets = (self.keys.capacity() * 8 / 7).next_power_of_two();
        buckets * (std::mem::size_of::<u128>() + 1)
    }
}

/// The set key of an id. Only canonical spellings (36 chars, lower-case, hyphenated) take the
/// UUID path, so two spellings of one UUID stay distinct, exactly as the ids compare elsewhere.
fn key(id: &str) -> u128 {
    if id.len() == 36
        && !id.bytes().any(|b| b.is_ascii_uppercase())
        && let Ok(uuid) = uuid::Uuid::try_parse(id)
    {
        return uuid.as_u128();
    }
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake server over `n` ids: honours startIndex/count, returns `total` as totalResults.
    fn serve(ids: &[String], req: PageRequest) -> Vec<&str> {
        ids.iter()
            .skip((req.start_index - 1) as usize)
            .take(req.count as usize)
            .map(String::as_str)
            .collect()
    }

    fn uuids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                uuid::Uuid::from_u128(0x1234_5678_9abc_4def_8000_0000_0000_0000 + i as u128)
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn clamps_page_size() {
        assert_eq!(Pager::new(0).page_size(), 1);
        assert_eq!(Pager::new(500).page_size(), 100);
        assert_eq!(Pager::new(37).page_size(), 37);
        assert_eq!(Pager::resume(0, 10).next_request().unwrap().start_index, 1);
    }

    #[test]
    fn two_hundred_fifty_at_one_hundred_is_three_requests() {
        let ids = uuids(250);
        let mut pager = Pager::new(100);
        let mut starts = vec![];
        let mut got = vec![];
        while let Some(req) = pager.next_request() {
            starts.push(req.start_index);
            assert_eq!(req.count, 100);
            let page = serve(&ids, req);
            for i in pager.accept(&page, Some(250)) {
                got.push(page[i].to_owned());
            }
        }
        assert_eq!(starts, [1, 101, 201]);
        assert_eq!(got, ids);
        assert_eq!(pager.stop_reason(), Some(StopReason::Complete));
        assert_eq!(pager.unique_seen(), 250);
        assert_eq!(pager.drift(), None);
        assert_eq!(pager.total_results(), Some(250));
    }

    #[test]
    fn server_capping_below_count_advances_by_received() {
        // The server returns at most 30 per page whatever `count` says (and would report
        // itemsPerPage=100); we must ask for 31, 61, … and not skip anything.
        let ids = uuids(100);
        let mut pager = Pager::new(100);
        let mut starts = vec![];
        let mut got = 0;
        while let Some(req) = pager.next_request() {
            starts.push(req.start_index);
            let page: Vec<&str> = serve(&ids, req).into_iter().take(30).collect();
            got += pager.accept(&page, Some(100)).len();
        }
        assert_eq!(starts, [1, 31, 61, 91]);
        assert_eq!(got, 100);
    }

    #[test]
    fn page_one_again_past_the_end_stops_with_each_id_once() {
        let ids = uuids(200);
        let mut pager = Pager::new(100);
        let mut got = vec![];
        let mut requests = 0;
        while let Some(req) = pager.next_request() {
            requests += 1;
            let mut page = serve(&ids, req);
            if page.is_empty() {
                page = serve(
                    &ids,
                    PageRequest {
                        start_index: 1,
                        count: 100,
                    },
                );
            }
            // No totalResults: only the repeat detection can stop this.
            for i in pager.accept(&page, None) {
                got.push(page[i].to_owned());
            }
        }
        assert_eq!(requests, 3);
        assert_eq!(got, ids);
        assert_eq!(pager.stop_reason(), Some(StopReason::RepeatedPage));
    }

    #[test]
    fn partial_repeat_keeps_only_new_ids() {
        let mut pager = Pager::new(3);
        assert_eq!(pager.accept(&["a", "b", "c"], None), [0, 1, 2]);
        assert_eq!(pager.accept(&["c", "d", "d"], None), [1]);
        assert!(!pager.is_done());
        assert_eq!(pager.next_request().unwrap().start_index, 7);
    }

    #[test]
    fn empty_page_stops() {
        let mut pager = Pager::new(100);
        assert!(pager.accept(&[], Some(10)).is_empty());
        assert!(pager.is_done());
        assert_eq!(pager.stop_reason(), Some(StopReason::EmptyPage));
        assert_eq!(pager.next_request(), None);
        // Ten announced, none delivered.
        assert_eq!(
            pager.drift(),
            Some(TotalDrift {
                first_total: 10,
                last_total: 10,
                collected: 0
            })
        );
    }

    #[test]
    fn missing_total_continues_until_a_short_page() {
        let ids = uuids(230);
        let mut pager = Pager::new(100);
        let mut starts = vec![];
        while let Some(req) = pager.next_request() {
            starts.push(req.start_index);
            let page = serve(&ids, req);
            pager.accept(&page, None);
        }
        assert_eq!(starts, [1, 101, 201]);
        assert_eq!(pager.stop_reason(), Some(StopReason::ShortPage));
        assert_eq!(pager.unique_seen(), 230);
        assert_eq!(pager.drift(), None);
    }

    #[test]
    fn missing_total_with_exact_multiple_ends_on_an_empty_page() {
        let ids = uuids(200);
        let mut pager = Pager::new(100);
        let mut requests = 0;
        while let Some(req) = pager.next_request() {
            requests += 1;
            let page = serve(&ids, req);
            pager.accept(&page, None);
        }
        assert_eq!(requests, 3);
        assert_eq!(pager.stop_reason(), Some(StopReason::EmptyPage));
    }

    #[test]
    fn page_cap_stops_a_server_that_never_ends() {
        let mut pager = Pager::new(2).with_max_pages(5);
        let mut n = 0u64;
        let mut requests = 0;
        while pager.next_request().is_some() {
            requests += 1;
            let (a, b) = (format!("id-{n}"), format!("id-{}", n + 1));
            n += 2;
            pager.accept(&[&a, &b], None);
        }
        assert_eq!(requests, 5);
        assert_eq!(pager.stop_reason(), Some(StopReason::PageCap));
        let err = pager.cap_error("users").expect("a failure");
        assert!(
            err.to_string()
                .contains("stopped listing users after 5 pages (10 received, no totalResults)"),
            "{err}"
        );
    }

    #[test]
    fn a_total_that_keeps_growing_is_stopped_by_the_budget() {
        // Every page is full and announces one more page than received so far: without a
        // budget this ran to the absolute ceiling.
        let mut pager = Pager::new(100);
        let mut buf = Vec::new();
        let mut n = 0u64;
        while let Some(req) = pager.next_request() {
            buf.clear();
            for _ in 0..req.count {
                buf.push(format!("id-{n}"));
                n += 1;
            }
            let page: Vec<&str> = buf.iter().map(String::as_str).collect();
            pager.accept(&page, Some(n + 100));
            assert!(
                pager.pages() <= 14,
                "still paging after {} pages",
                pager.pages()
            );
        }
        // First total 200: 2 × 2 + 10 pages.
        assert_eq!(pager.pages(), 14);
        assert_eq!(pager.stop_reason(), Some(StopReason::PageCap));
        assert!(pager.cap_error("users").is_some());
        // A complete listing is no failure.
        let mut pager = Pager::new(100);
        pager.accept(&["a"], Some(1));
        assert_eq!(pager.cap_error("users").map(|e| e.to_string()), None);
    }

    #[test]
    fn total_changing_between_pages_is_drift() {
        let mut pager = Pager::new(2);
        pager.accept(&["a", "b"], Some(4));
        pager.accept(&["c", "d"], Some(5));
        assert!(!pager.is_done(), "4 received, 5 announced");
        pager.accept(&["e"], Some(5));
        assert_eq!(pager.stop_reason(), Some(StopReason::Complete));
        let drift = pager.drift().unwrap();
        assert_eq!(
            drift,
            TotalDrift {
                first_total: 4,
                last_total: 5,
                collected: 5
            }
        );
        assert!(drift.to_string().contains("changed from 4 to 5"));
    }

    #[test]
    fn duplicates_from_shifting_order_are_drift_at_the_end() {
        let mut pager = Pager::new(2);
        pager.accept(&["a", "b"], Some(4));
        pager.accept(&["b", "c"], Some(4));
        assert_eq!(pager.stop_reason(), Some(StopReason::Complete));
        assert_eq!(pager.unique_seen(), 3);
        let drift = pager.drift().unwrap();
        assert_eq!(drift.collected, 3);
        assert!(drift.to_string().contains("was 4 but 3 unique"));
        assert_eq!(drift.difference(), -1);
        assert!(
            drift.to_string().contains("(1 fewer than reported)"),
            "{drift}"
        );
    }

    #[test]
    fn resume_counts_what_came_before() {
        let ids = uuids(250);
        let mut pager = Pager::resume(101, 100);
        let mut starts = vec![];
        while let Some(req) = pager.next_request() {
            starts.push(req.start_index);
            pager.accept(&serve(&ids, req), Some(250));
        }
        assert_eq!(starts, [101, 201]);
        assert_eq!(pager.unique_seen(), 150);
        assert_eq!(pager.drift(), None);
    }

    #[test]
    fn uuid_and_other_ids_are_distinct_keys() {
        let lower = "5f3d0a8e-2b1c-4e2a-9f7d-1c2b3a4d5e6f";
        let upper = lower.to_ascii_uppercase();
        let mut set = SeenSet::default();
        assert!(set.insert(lower));
        assert!(!set.insert(lower));
        assert!(set.insert(&upper), "a different spelling is a different id");
        assert!(set.insert("plain-id"));
        assert!(!set.insert("plain-id"));
        assert!(set.insert("plain-id2"));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn a_million_ids_fit_in_about_thirty_megabytes() {
        let mut pager = Pager::new(100);
        let mut buf: Vec<String> = Vec::with_capacity(100);
        for p in 0..10_000u128 {
            buf.clear();
            for i in 0..100u128 {
                let n = ((p * 100 + i) << 32) | 0x4000_8000;
                let id = uuid::Uuid::from_u128(n ^ 0x1234_5678_9abc_def0_1234_5678_0000_0000);
                buf.push(id.to_string());
            }
            let page: Vec<&str> = buf.iter().map(String::as_str).collect();
            assert_eq!(pager.accept(&page, Some(1_000_000)).len(), 100);
        }
        assert!(pager.is_done());
        assert_eq!(pager.unique_seen(), 1_000_000);
        let bytes = pager.seen.approx_bytes();
        assert!(bytes <= 36 * 1024 * 1024, "{bytes} bytes");
    }
}
