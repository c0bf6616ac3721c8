//! Pacing: the rate and concurrency every Notion request passes before it is sent.
//!
//! Notion does not publish its SCIM or Admin API limits, so by default a client finds them, the
//! way TCP finds a link's capacity (the policy and its reasons are in [`policy`]): it starts at
//! a modest rate, doubles it while answers come back clean, cuts to what the server delivered on
//! a 429, holds every request for one shared `Retry-After` pause, and probes upward slowly again
//! — never above a ceiling ([`DEFAULT_MAX_REQUESTS_PER_SECOND`], `--max-requests-per-second`).
//! The number of requests in flight adapts too, between 1 and `--max-concurrency`: it grows
//! while latency stays flat and shrinks when latency rises (the server is queueing).
//! `--requests-per-second N` pins the rate instead ([`Pacing::Fixed`]).
//!
//! A [`Limiter`] is one client's state: every clone of a [`Client`](super::Client) shares it,
//! and each client (SCIM and the Admin API) has its own, since their limits are
//! separate.
//!
//! Mechanics, per attempt ([`Limiter::acquire`]):
//! 1. a permit of a tokio [`Semaphore`] whose size follows the adaptive in-flight limit;
//! 2. a send slot from the rate policy (after any pause, `1 / rate` after the previous slot);
//! 3. a [`governor`] GCRA limiter at the ceiling (or pinned rate) — a hard guarantee that no
//!    bug in the arithmetic sends faster.
//!
//! The returned [`Permit`] is told how the attempt ended ([`Permit::succeeded`],
//! [`Permit::rate_limited`]); that is all the policy learns from.

pub mod policy;

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::{debug, warn};

use policy::{ConcurrencyPolicy, Phase, RatePolicy};

/// Default ceiling of adaptive pacing, in requests per second (`--max-requests-per-second`).
/// A 100,000-user workspace is about 1,000 SCIM pages: at 150/s the listing alone took 6.8 s
/// of a large sync's 11.5 s without a server limit, at 200/s it takes 5.1 s. Civil still —
/// a server without limits is not hammered, and one with limits is found well below this.
pub const DEFAULT_MAX_REQUESTS_PER_SECOND: u32 = 200;
/// Default most requests in flight at once (`--max-concurrency`): enough to hide 50 ms of
/// latency per request at the ceiling (200/s × 50 ms = 10), with room for slower pages (a
/// page of 100 groups with their members takes 70–190 ms in the simulator).
pub const DEFAULT_MAX_CONCURRENCY: usize = 12;

/// How a client chooses its request rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Find the server's limit (see the module docs), never above `max_requests_per_second`.
    Adaptive {
        /// The ceiling (≥ 1).
        max_requests_per_second: u32,
    },
    /// A pinned rate for operators who know their limit: never above it; a 429 still slows
    /// it down, and it climbs back.
    Fixed {
        /// The rate (≥ 1).
        requests_per_second: u32,
    },
}

impl Pacing {
    /// The most requests per second this pacing ever sends.
    pub fn ceiling(&self) -> u32 {
        match *self {
            Pacing::Adaptive {
                max_requests_per_second: n,
            }
            | Pacing::Fixed {
                requests_per_second: n,
            } => n.max(1),
        }
    }
}

/// Rate and concurrency limits of a [`Client`](super::Client); part of
/// [`ClientConfig`](super::ClientConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// Adaptive (the default) or pinned.
    pub pacing: Pacing,
    /// Most requests in flight at once (≥ 1); with adaptive pacing the limit adapts below it.
    /// Default [`DEFAULT_MAX_CONCURRENCY`].
    pub max_concurrency: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig::adaptive(DEFAULT_MAX_REQUESTS_PER_SECOND, DEFAULT_MAX_CONCURRENCY)
    }
}

impl LimitConfig {
    /// Adaptive pacing up to `max_requests_per_second`, at most `max_concurrency` in flight.
    pub fn adaptive(max_requests_per_second: u32, max_concurrency: usize) -> Self {
        LimitConfig {
            pacing: Pacing::Adaptive {
                max_requests_per_second,
            },
            max_concurrency,
        }
    }

    /// A pinned rate, exactly `max_concurrency` in flight at most.
    pub fn fixed(requests_per_second: u32, max_concurrency: usize) -> Self {
        LimitConfig {
            pacing: Pacing::Fixed {
                requests_per_second,
            },
            max_concurrency,
        }
    }
}

/// What pacing did so far, for the summary and the logs. Shared by clones of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingStats {
    /// Whether the rate adapts (else it is pinned).
    pub adaptive: bool,
    /// The most requests per second ever allowed.
    pub ceiling: f64,
    /// The current rate, requests per second.
    pub rate: f64,
    /// The highest rate used so far.
    pub peak_rate: f64,
    /// The current limit on requests in flight.
    pub concurrency: usize,
    /// The highest limit on requests in flight so far.
    pub peak_concurrency: usize,
    /// Answers that were 429.
    pub rate_limited: u64,
    /// Times the rate was cut (at most one per round of 429s).
    pub cuts: u64,
    /// Wall time during which every request was held by `Retry-After` (pauses overlap, they
    /// are not added up).
    pub paused: Duration,
}

/// One client's pacing state (see the module docs).
pub(crate) struct Limiter {
    /// Requests in flight; its size follows the adaptive limit.
    permits: Arc<Semaphore>,
    /// `--max-concurrency`.
    max_concurrency: usize,
    /// The hard ceiling.
    ceiling: DefaultDirectRateLimiter,
    /// The policies and counters.
    state: Mutex<State>,
}

/// The lock-protected part of a [`Limiter`].
struct State {
    rate: RatePolicy,
    concurrency: ConcurrencyPolicy,
    /// Permits the semaphore was given in all (above the limit while shrinking).
    issued: usize,
    adaptive: bool,
    peak_rate: f64,
    peak_concurrency: usize,
    rate_limited: u64,
    cuts: u64,
    paused: Duration,
}

impl Limiter {
    /// A limiter for `cfg` (zeros are raised to 1).
    pub(crate) fn new(cfg: &LimitConfig) -> Limiter {
        let now = Instant::now();
        let max_concurrency = cfg.max_concurrency.max(1);
        let ceiling = cfg.pacing.ceiling();
        let (rate, adaptive) = match cfg.pacing {
            Pacing::Adaptive { .. } => (RatePolicy::adaptive(f64::from(ceiling), now), true),
            Pacing::Fixed { .. } => (RatePolicy::pinned(f64::from(ceiling), now), false),
        };
        let concurrency = ConcurrencyPolicy::new(max_concurrency, !adaptive);
        let issued = concurrency.limit();
        let quota = Quota::per_second(NonZeroU32::new(ceiling).unwrap_or(NonZeroU32::MIN));
        Limiter {
            permits: Arc::new(Semaphore::new(issued)),
            max_concurrency,
            ceiling: RateLimiter::direct(quota),
            state: Mutex::new(State {
                peak_rate: rate.rate(),
                rate,
                concurrency,
                issued,
                peak_concurrency: issued,
                adaptive,
                rate_limited: 0,
                cuts: 0,
                paused: Duration::ZERO,
            }),
        }
    }

    /// Waits until one more request may be sent; tell the permit how it went.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
        let saturated = self.permits.available_permits() == 0;
        let mut slot = self.lock().rate.reserve(Instant::now());
        loop {
            tokio::time::sleep_until(slot.at).await;
            self.ceiling.until_ready().await;
            let mut s = self.lock();
            let now = Instant::now();
            if s.rate.paused_until() <= now {
                break;
            }
            // A 429 paused everything while this one waited for its slot: it waits too.
            slot = s.rate.reserve(now);
        }
        Permit {
            limiter: self,
            permit: Some(permit),
            sent: Instant::now(),
            paced: slot.paced,
            // Every permit taken: more requests in flight would have gone out.
            saturated,
        }
    }

    /// `--max-concurrency`.
    pub(crate) fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// The current rate (requests per second).
    pub(crate) fn current_rate(&self) -> f64 {
        self.lock().rate.rate()
    }

    /// What pacing did so far.
    pub(crate) fn stats(&self) -> PacingStats {
        let s = self.lock();
        PacingStats {
            adaptive: s.adaptive,
            ceiling: s.rate.ceiling(),
            rate: s.rate.rate(),
            peak_rate: s.peak_rate,
            concurrency: s.concurrency.limit(),
            peak_concurrency: s.peak_concurrency,
            rate_limited: s.rate_limited,
            cuts: s.cuts,
            paused: s.paused,
        }
    }

    /// The state, even if a panicking thread poisoned the lock (it is plain numbers).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Brings the semaphore to the policy's limit: adds permits at once; takes away the idle
    /// ones now and the busy ones as they come back ([`Permit`]'s drop).
    fn resize(&self, s: &mut State) {
        let limit = s.concurrency.limit();
        if limit > s.issued {
            self.permits.add_permits(limit - s.issued);
            s.issued = limit;
        } else if limit < s.issued {
            s.issued -= self.permits.forget_permits(s.issued - limit);
        }
    }
}

/// Leave to send one request; report its outcome with [`succeeded`](Self::succeeded) or
/// [`rate_limited`](Self::rate_limited). Dropping it unreported (a transport error, a timeout)
/// teaches the policy nothing.
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    permit: Option<OwnedSemaphorePermit>,
    /// When the request went.
    sent: Instant,
    /// Whether the rate decided when it went.
    paced: bool,
    /// Whether the in-flight limit was reached when it went.
    saturated: bool,
}

impl Permit<'_> {
    /// A clean answer (any status but 429) from endpoint `kind` (a small index; each kind keeps
    /// its own latency baseline).
    pub(crate) fn succeeded(self, kind: usize) {
        let now = Instant::now();
        let limiter = self.limiter;
        let mut s = limiter.lock();
        let before = s.rate.phase();
        s.rate.succeeded(now, self.sent, self.paced);
        let limit = s.concurrency.limit();
        s.concurrency
            .succeeded(now, kind, now - self.sent, self.saturated);
        if s.concurrency.limit() != limit {
            debug!(
                from = limit,
                in_flight_limit = s.concurrency.limit(),
                latency_ratio = format!("{:.2}", s.concurrency.latency_ratio()),
                requests_per_second = format!("{:.1}", s.rate.rate()),
                "in-flight limit changed"
            );
        }
        s.peak_concurrency = s.peak_concurrency.max(s.concurrency.limit());
        let rate = s.rate.rate();
        if rate > s.peak_rate {
            s.peak_rate = rate;
            if before == Phase::SlowStart && rate >= s.rate.ceiling() {
                debug!(
                    requests_per_second = rate,
                    "request rate reached its ceiling"
                );
            }
        }
        limiter.resize(&mut s);
    }

    /// A 429, with Notion's `Retry-After` (already bounded by the retry policy): holds every
    /// request until then and, once per round, cuts the rate.
    pub(crate) fn rate_limited(self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let limiter = self.limiter;
        let mut s = limiter.lock();
        s.rate_limited += 1;
        let held_until = s.rate.paused_until().max(now);
        let cut = s.rate.rate_limited(now, self.sent, retry_after);
        let extended = s.rate.paused_until().saturating_duration_since(held_until);
        s.paused += extended;
        if let Some(cut) = cut {
            s.cuts += 1;
            s.concurrency.rate_limited();
            warn!(
                from = format!("{:.1}", cut.from),
                requests_per_second = format!("{:.1}", cut.to),
                in_flight_limit = s.concurrency.limit(),
                pause_ms = extended.as_millis() as u64,
                "Notion rate-limited us (429); pacing down to what it delivered"
            );
        }
        limiter.resize(&mut s);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut s = self.limiter.lock();
        if s.issued > s.concurrency.limit() {
            // The limit shrank while this request was out: retire its permit.
            permit.forget();
            s.issued -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_in_flight_limit_is_enforced_and_follows_the_policy() {
        let limiter = Limiter::new(&LimitConfig::fixed(1000, 2));
        let a = limiter.acquire().await;
        let b = limiter.acquire().await;
        assert_eq!(limiter.permits.available_permits(), 0);
        drop(a);
        let c = limiter.acquire().await;
        // A 429 takes a quarter off an adaptive limit; pinned pacing keeps a fixed one.
        c.rate_limited(None);
        assert_eq!(limiter.stats().concurrency, 2);
        assert_eq!(limiter.stats().rate_limited, 1);
        assert!(limiter.current_rate() < 1000.0);
        b.succeeded(0);

        let adaptive = Limiter::new(&LimitConfig::adaptive(1000, 8));
        assert_eq!(adaptive.stats().concurrency, policy::START_CONCURRENCY);
        assert_eq!(adaptive.max_concurrency(), 8);
        let held: Vec<_> = futures_take(&adaptive, policy::START_CONCURRENCY).await;
        assert_eq!(adaptive.permits.available_permits(), 0);
        drop(held);
        assert_eq!(
            adaptive.permits.available_permits(),
            policy::START_CONCURRENCY
        );
    }

    async fn futures_take(limiter: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(limiter.acquire().await);
        }
        out
    }

    #[tokio::test]
    async fn a_retry_after_pause_holds_every_request_once() {
        let limiter = Limiter::new(&LimitConfig::fixed(100, 4));
        let first = limiter.acquire().await;
        let second = limiter.acquire().await;
        let t = Instant::now();
        let pause = Duration::from_millis(200);
        first.rate_limited(Some(pause));
        second.rate_limited(Some(pause));
        let stats = limiter.stats();
        assert_eq!(stats.cuts, 1, "one cut per round");
        assert!(
            stats.paused >= pause && stats.paused < pause * 2,
            "one pause, not two: {:?}",
            stats.paused
        );
        let next = limiter.acquire().await;
        assert!(Instant::now() >= t + pause);
        next.succeeded(0);
    }
}
