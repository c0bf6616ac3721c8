//! Request accounting: how many requests each endpoint saw, and the most recent requests.
//!
//! Tests and benchmarks use these numbers to prove request budgets ("a full sync of 250 users
//! makes exactly 3 `GET /Users` calls") and to see what a client actually sent. Counters are keyed
//! by endpoint template (`"GET /Users/{id}"`), never by concrete path, so they stay small; requests
//! that match no route are counted under [`UNMATCHED`].
//!
//! A request is numbered when it arrives (that number drives `die_after_requests`) and recorded
//! once its fate is known, before the response is handed back to the connection — so a client that
//! has its response can already see it counted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counter key of requests that matched no simulator route.
pub const UNMATCHED: &str = "UNMATCHED";

/// At most this many requests are kept for [`SimHandle::requests`](super::SimHandle::requests).
pub const MAX_RECORDED_REQUESTS: usize = 10_000;

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"GET"`.
    pub method: String,
    /// Request path, e.g. `"/scim/v2/Users/1111…"`.
    pub path: String,
    /// Raw query string without the `?`, if the request had one.
    pub query: Option<String>,
    /// Counter key it was counted under, e.g. `"GET /Users/{id}"` or [`UNMATCHED`].
    pub endpoint: String,
    /// Response status; `0` when the simulator dropped the connection instead of answering
    /// (`die_after_requests`, `drop_connection_share`).
    pub status: u16,
    /// When the request arrived, on the simulator's clock (time since it started).
    pub at: std::time::Duration,
}

/// Shared, thread-safe request accounting.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests that have arrived (numbered before they are handled).
    total: AtomicU64,
    /// Requests being handled right now (latency included).
    in_flight: AtomicU64,
    /// The most requests ever handled at once: proves (or disproves) that a client overlaps
    /// its requests.
    peak_in_flight: AtomicU64,
    /// Per-endpoint counts and the recent-request ring, under one lock per request.
    inner: Mutex<Inner>,
}

/// The lock-protected part of [`Counters`].
#[derive(Debug, Default)]
struct Inner {
    /// Requests per endpoint key.
    by_endpoint: BTreeMap<String, u64>,
    /// The last [`MAX_RECORDED_REQUESTS`] requests, oldest first.
    recent: VecDeque<RecordedRequest>,
}

impl Counters {
    /// Numbers an arriving request: returns its 1-based sequence number.
    pub(crate) fn arrive(&self) -> u64 {
        self.total.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Marks a request as being handled until the returned guard drops.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self)
    }

    /// The most requests handled at once so far.
    pub(crate) fn peak_in_flight(&self) -> u64 {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Records a request's endpoint and outcome.
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut inner = self.lock();
        match inner.by_endpoint.get_mut(&request.endpoint) {
            Some(count) => *count += 1,
            None => {
                inner.by_endpoint.insert(request.endpoint.clone(), 1);
            }
        }
        if inner.recent.len() == MAX_RECORDED_REQUESTS {
            inner.recent.pop_front();
        }
        inner.recent.push_back(request);
    }

    /// Requests that have arrived so far.
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    /// Per-endpoint counts.
    pub(crate) fn by_endpoint(&self) -> BTreeMap<String, u64> {
        self.lock().by_endpoint.clone()
    }

    /// The recorded requests, oldest first.
    pub(crate) fn recent(&self) -> Vec<RecordedRequest> {
        self.lock().recent.iter().cloned().collect()
    }

    /// Forgets per-endpoint counts and recorded requests. The arrival total keeps counting, so
    /// `die_after_requests` still refers to the server's whole life.
    pub(crate) fn reset(&self) {
        self.peak_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        let mut inner = self.lock();
        inner.by_endpoint.clear();
        inner.recent.clear();
    }

    /// The lock, even if a panicking thread poisoned it (counters stay usable in failing tests).
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A request in progress; see [`Counters::enter`].
pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(endpoint: &str, n: usize) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path: format!("/scim/v2/x/{n}"),
            query: None,
            endpoint: endpoint.into(),
            status: 200,
            at: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn the_peak_of_requests_in_flight_is_kept() {
        let counters = Counters::default();
        let a = counters.enter();
        let b = counters.enter();
        drop(a);
        let _c = counters.enter();
        drop(b);
        assert_eq!(counters.peak_in_flight(), 2);
        counters.reset();
        assert_eq!(counters.peak_in_flight(), 1);
    }

    #[test]
    fn counts_by_endpoint_and_keeps_a_bounded_history() {
        let counters = Counters::default();
        for n in 0..MAX_RECORDED_REQUESTS + 5 {
            assert_eq!(counters.arrive(), n as u64 + 1);
            counters.record(request(
                if n % 2 == 0 { "GET /Users" } else { UNMATCHED },
                n,
            ));
        }
        let counts = counters.by_endpoint();
        assert_eq!(counts["GET /Users"], 5_003);
        assert_eq!(counts[UNMATCHED], 5_002);
        let recent = counters.recent();
        assert_eq!(recent.len(), MAX_RECORDED_REQUESTS);
        assert_eq!(recent[0].path, "/scim/v2/x/5");
        counters.reset();
        assert!(counters.by_endpoint().is_empty());
        assert_eq!(counters.total(), MAX_RECORDED_REQUESTS as u64 + 5);
    }
}
