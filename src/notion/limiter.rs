//! The client-side rate limiter every Notion request passes before it is sent.
//!
//! Three gates, shared by all clones of a [`Client`](super::Client):
//!
//! 1. **Concurrency**: a [`Semaphore`] with [`LimitConfig::max_concurrency`] permits; a permit is
//!    held while one attempt is in flight (not while a retry sleeps).
//! 2. **Configured rate**: a [`governor`] GCRA limiter at [`LimitConfig::requests_per_second`]
//!    with a burst of [`LimitConfig::burst`]. It avoids 429s instead of reacting to them.
//! 3. **Adaptive gate (AIMD)**: governor's quota cannot change at run time, so a small gate on
//!    top of it lowers the effective rate when Notion pushes back. Each 429 halves the current
//!    rate (multiplicative decrease, floored at 1/16 of the configured rate) and, when Notion sent
//!    `Retry-After`, holds *every* request until then — Notion's limit is per workspace, so the
//!    other in-flight calls would only collect 429s too. Each success adds back 1/50 of the
//!    configured rate (additive increase: from half speed, about 25 successful requests to full
//!    speed). While the current rate is below the configured one, the gate spaces requests
//!    `1 / current rate` apart, without bursts; at full rate the gate is open and governor alone
//!    paces.
//!
//! The gate's arithmetic is in [`Gate`], which takes the time as an argument so its tests need no
//! clock.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::{debug, warn};

/// Default requests per second (see the README: Notion documents about 3 rps on average for its
/// public API with bursts allowed; SCIM limits are unpublished).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 10;
/// Default burst of the rate limiter.
pub const DEFAULT_BURST: u32 = 10;
/// Default number of requests in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;

/// Rate and concurrency limits of a [`Client`](super::Client); part of
/// [`ClientConfig`](super::ClientConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// Steady request rate (≥ 1). Default [`DEFAULT_REQUESTS_PER_SECOND`].
    pub requests_per_second: u32,
    /// Requests that may go out back to back before the rate applies (≥ 1). Default
    /// [`DEFAULT_BURST`].
    pub burst: u32,
    /// Requests in flight at once (≥ 1). Default [`DEFAULT_MAX_CONCURRENCY`].
    pub max_concurrency: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            burst: DEFAULT_BURST,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
        }
    }
}

/// The shared limiter (see the module docs).
pub(crate) struct Limiter {
    /// Caps requests in flight.
    concurrency: Arc<Semaphore>,
    /// The cap, as configured.
    max_concurrency: usize,
    /// Paces at the configured rate.
    rate: DefaultDirectRateLimiter,
    /// Lowers the rate after 429s.
    gate: Mutex<Gate>,
}

impl Limiter {
    /// A limiter for `cfg` (zeros are raised to 1).
    pub(crate) fn new(cfg: &LimitConfig) -> Limiter {
        let rps = NonZeroU32::new(cfg.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(cfg.burst).unwrap_or(NonZeroU32::MIN);
        Limiter {
            concurrency: Arc::new(Semaphore::new(cfg.max_concurrency.max(1))),
            max_concurrency: cfg.max_concurrency.max(1),
            rate: RateLimiter::direct(Quota::per_second(rps).allow_burst(burst)),
            gate: Mutex::new(Gate::new(f64::from(rps.get()), Instant::now())),
        }
    }

    /// Waits until one more request may be sent; hold the permit while it is in flight.
    pub(crate) async fn acquire(&self) -> OwnedSemaphorePermit {
        let permit = self
            .concurrency
            .clone()
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
        let slot = self.lock().reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
        self.rate.until_ready().await;
        permit
    }

    /// How many requests may be in flight at once.
    pub(crate) fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// Records a 429: halves the rate and holds every request for `retry_after`, if given.
    pub(crate) fn rate_limited(&self, retry_after: Option<Duration>) {
        let rate = self.lock().rate_limited(Instant::now(), retry_after);
        warn!(
            requests_per_second = format!("{rate:.2}"),
            "Notion rate-limited us; lowering the request rate"
        );
    }

    /// Records a request that was not rate limited: recovers some rate.
    pub(crate) fn succeeded(&self) {
        let mut gate = self.lock();
        let before = gate.rate;
        gate.succeeded();
        if before < gate.max_rate && gate.rate >= gate.max_rate {
            debug!(
                requests_per_second = gate.max_rate,
                "request rate fully recovered"
            );
        }
    }

    /// The current effective rate cap (requests per second).
    pub(crate) fn current_rate(&self) -> f64 {
        self.lock().rate
    }

    /// The gate, even if a panicking thread poisoned the lock (its state is plain numbers).
    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The adaptive part of the limiter: the current rate and when the next request may go.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    /// The configured rate.
    max_rate: f64,
    /// The lowest rate the gate falls to.
    min_rate: f64,
    /// The current rate (`min_rate..=max_rate`).
    rate: f64,
    /// When throttled: the earliest time the next request may go.
    next_free: Instant,
    /// No request goes before this (set from `Retry-After`).
    paused_until: Instant,
}

impl Gate {
    /// An open gate for `max_rate` requests per second.
    pub(crate) fn new(max_rate: f64, now: Instant) -> Gate {
        Gate {
            max_rate,
            min_rate: max_rate / 16.0,
            rate: max_rate,
            next_free: now,
            paused_until: now,
        }
    }

    /// Reserves the next slot at or after `now` and returns it.
    pub(crate) fn reserve(&mut self, now: Instant) -> Instant {
        let mut slot = now.max(self.paused_until);
        if self.rate < self.max_rate {
            slot = slot.max(self.next_free);
            self.next_free = slot + Duration::from_secs_f64(1.0 / self.rate);
        }
        slot
    }

    /// A 429 at `now`: halve the rate, pause for `retry_after`; returns the new rate.
    pub(crate) fn rate_limited(&mut self, now: Instant, retry_after: Option<Duration>) -> f64 {
        self.rate = (self.rate / 2.0).max(self.min_rate);
        if let Some(wait) = retry_after {
            // Bounded like the retry policy's default cap, whatever Notion asked.
            let until = now + wait.min(Duration::from_secs(120));
            self.paused_until = self.paused_until.max(until);
        }
        self.rate
    }

    /// A request that was not rate limited: add back 1/50 of the configured rate.
    pub(crate) fn succeeded(&mut self) {
        self.rate = (self.rate + self.max_rate / 50.0).min(self.max_rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_gate_lets_everything_through_at_once() {
        let now = Instant::now();
        let mut gate = Gate::new(10.0, now);
        for _ in 0..5 {
            assert_eq!(gate.reserve(now), now);
        }
    }

    #[test]
    fn halves_on_429_spaces_requests_and_recovers_slowly() {
        let now = Instant::now();
        let mut gate = Gate::new(10.0, now);
        assert_eq!(gate.rate_limited(now, None), 5.0);
        let first = gate.reserve(now);
        let second = gate.reserve(now);
        assert_eq!(first, now);
        assert_eq!(second - first, Duration::from_millis(200));
        assert_eq!(gate.rate_limited(now, None), 2.5);
        // Floor: 1/16 of the configured rate.
        for _ in 0..10 {
            gate.rate_limited(now, None);
        }
        assert_eq!(gate.rate, 10.0 / 16.0);
        // Additive increase: 1/50 of the configured rate per success.
        let mut successes = 0;
        while gate.rate < 10.0 {
            gate.succeeded();
            successes += 1;
        }
        assert_eq!(successes, 47);
        assert_eq!(gate.rate, 10.0);
        let later = now + Duration::from_secs(60);
        assert_eq!(gate.reserve(later), later, "open again");
    }

    #[test]
    fn retry_after_pauses_every_request() {
        let now = Instant::now();
        let mut gate = Gate::new(10.0, now);
        gate.rate_limited(now, Some(Duration::from_secs(2)));
        assert_eq!(gate.reserve(now), now + Duration::from_secs(2));
        // A later, shorter Retry-After does not shorten the pause.
        gate.rate_limited(now, Some(Duration::from_secs(1)));
        assert!(gate.reserve(now) >= now + Duration::from_secs(2));
        // Bounded.
        let mut gate = Gate::new(10.0, now);
        gate.rate_limited(now, Some(Duration::from_secs(86_400)));
        assert_eq!(gate.reserve(now), now + Duration::from_secs(120));
    }

    #[tokio::test]
    async fn concurrency_is_capped() {
        let limiter = Limiter::new(&LimitConfig {
            requests_per_second: 1000,
            burst: 1000,
            max_concurrency: 2,
        });
        let a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        assert_eq!(limiter.concurrency.available_permits(), 0);
        drop(a);
        let _c = limiter.acquire().await;
        limiter.rate_limited(None);
        assert_eq!(limiter.current_rate(), 500.0);
        limiter.succeeded();
        assert_eq!(limiter.current_rate(), 520.0);
    }
}
