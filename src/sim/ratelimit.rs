//! Server-side rate limits, the way an API gateway enforces them: a token bucket per bearer
//! token, and a cap on requests in flight.
//!
//! - **Rate** ([`SimConfig::rate_limit`](super::SimConfig::rate_limit)): each token's bucket
//!   holds [`rate_limit_burst`](super::SimConfig::rate_limit_burst) tokens (default: one
//!   second's worth) and refills at the rate. A request that finds less than one token is
//!   answered 429 with an honest `Retry-After`: the whole seconds until a token is there
//!   (at least 1, since the header carries whole seconds).
//! - **Concurrency** ([`rate_limit_concurrency`](super::SimConfig::rate_limit_concurrency)):
//!   beyond N requests in flight, either 429 with `Retry-After: 1`, or — with
//!   [`rate_limit_concurrency_queue`](super::SimConfig::rate_limit_concurrency_queue) — the
//!   request waits for one of the N slots, so answers get slower instead (a server queueing).
//!
//! The check happens when a request arrives (after authentication: an unauthorized request
//! spends no token); the answer still takes the configured latency. Rejections are counted
//! ([`SimHandle::rate_limited`](super::SimHandle::rate_limited)) so tests can bound a client's
//! share of 429s from the server's side. Tokens are keyed by a hash, never kept or logged.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::SimConfig;

/// One token's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left (fractional while refilling).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// What the limits decided about one request.
pub(crate) enum Admission {
    /// Serve it; hold the guard until the answer is ready.
    Admitted(#[allow(dead_code, reason = "held for its Drop, which frees the slot")] Option<Held>),
    /// Answer 429 with this `Retry-After`, in whole seconds.
    Rejected(u64),
}

/// A request counted against the in-flight cap until dropped.
pub(crate) enum Held {
    /// A slot of the queueing cap.
    Queued(#[allow(dead_code, reason = "held for its Drop")] OwnedSemaphorePermit),
    /// One of the rejecting cap's count.
    Counted(Arc<AtomicU64>),
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Counted(n) = self {
            n.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The simulator's rate-limit state.
#[derive(Debug)]
pub(crate) struct RateLimits {
    /// Buckets by token hash.
    buckets: Mutex<HashMap<u64, Bucket>>,
    /// Slots of the queueing in-flight cap.
    queue: Option<Arc<Semaphore>>,
    /// Requests in flight under the rejecting cap.
    in_flight: Arc<AtomicU64>,
    /// Requests answered 429 by these limits.
    rejected: AtomicU64,
}

impl RateLimits {
    /// Limits for `cfg` (none configured: everything is admitted).
    pub(crate) fn new(cfg: &SimConfig) -> RateLimits {
        let queue = match cfg.rate_limit_concurrency {
            Some(n) if cfg.rate_limit_concurrency_queue => {
                Some(Arc::new(Semaphore::new(n.max(1) as usize)))
            }
            _ => None,
        };
        RateLimits {
            buckets: Mutex::new(HashMap::new()),
            queue,
            in_flight: Arc::new(AtomicU64::new(0)),
            rejected: AtomicU64::new(0),
        }
    }

    /// Requests answered 429 by the limits so far.
    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }

    /// Decides about an authorized request carrying `credentials`, arriving `now`. With a
    /// queueing cap this waits for a slot.
    pub(crate) async fn admit(
        &self,
        cfg: &SimConfig,
        credentials: &str,
        now: Instant,
    ) -> Admission {
        if let Some(rate) = cfg.rate_limit.filter(|r| *r > 0.0) {
            let burst = f64::from(cfg.rate_limit_burst.unwrap_or(rate.ceil() as u32).max(1));
            if let Some(wait) = self.take(key(credentials), rate, burst, now) {
                self.rejected.fetch_add(1, Ordering::SeqCst);
                return Admission::Rejected(wait);
            }
        }
        let Some(cap) = cfg.rate_limit_concurrency else {
            return Admission::Admitted(None);
        };
        if let Some(queue) = &self.queue {
            return match queue.clone().acquire_owned().await {
                Ok(permit) => Admission::Admitted(Some(Held::Queued(permit))),
                Err(_) => Admission::Admitted(None),
            };
        }
        let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let held = Held::Counted(self.in_flight.clone());
        if before >= u64::from(cap.max(1)) {
            drop(held);
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return Admission::Rejected(1);
        }
        Admission::Admitted(Some(held))
    }

    /// Takes a token from `key`'s bucket, or returns the whole seconds until one is there.
    fn take(&self, key: u64, rate: f64, burst: f64, now: Instant) -> Option<u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
            Some(wait.as_secs_f64().ceil().max(1.0) as u64)
        }
    }
}

/// A token's bucket key: a hash, so the token itself is never kept.
fn key(credentials: &str) -> u64 {
    let mut h = DefaultHasher::new();
    credentials.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(rate: f64, burst: Option<u32>) -> SimConfig {
        SimConfig {
            rate_limit: Some(rate),
            rate_limit_burst: burst,
            ..SimConfig::default()
        }
    }

    async fn verdicts(limits: &RateLimits, cfg: &SimConfig, at: &[Instant]) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        for t in at {
            out.push(match limits.admit(cfg, "t", *t).await {
                Admission::Admitted(_) => None,
                Admission::Rejected(s) => Some(s),
            });
        }
        out
    }

    #[tokio::test]
    async fn a_token_bucket_per_token_with_an_honest_retry_after() {
        let cfg = limited(2.0, Some(3));
        let limits = RateLimits::new(&cfg);
        let t0 = Instant::now();
        // A burst of three, then one token every 500 ms.
        let v = verdicts(&limits, &cfg, &[t0, t0, t0, t0]).await;
        assert_eq!(v, [None, None, None, Some(1)]);
        let half = t0 + Duration::from_millis(500);
        assert_eq!(
            verdicts(&limits, &cfg, &[half, half]).await,
            [None, Some(1)]
        );
        assert_eq!(limits.rejected(), 2);
        // Another token has its own bucket.
        assert!(matches!(
            limits.admit(&cfg, "other", half).await,
            Admission::Admitted(_)
        ));
        // Slow refill: the honest wait is rounded up to whole seconds.
        let slow = limited(0.25, Some(1));
        let limits = RateLimits::new(&slow);
        assert_eq!(verdicts(&limits, &slow, &[t0, t0]).await, [None, Some(4)]);
    }

    #[tokio::test]
    async fn the_burst_defaults_to_one_second_of_rate() {
        let cfg = limited(5.0, None);
        let limits = RateLimits::new(&cfg);
        let t0 = Instant::now();
        let v = verdicts(&limits, &cfg, &[t0; 6]).await;
        assert_eq!(v.iter().filter(|v| v.is_none()).count(), 5);
    }

    #[tokio::test]
    async fn beyond_the_in_flight_cap_requests_are_refused_or_queued() {
        let cfg = SimConfig {
            rate_limit_concurrency: Some(2),
            ..SimConfig::default()
        };
        let limits = RateLimits::new(&cfg);
        let now = Instant::now();
        let a = limits.admit(&cfg, "t", now).await;
        let b = limits.admit(&cfg, "t", now).await;
        assert!(matches!(
            limits.admit(&cfg, "t", now).await,
            Admission::Rejected(1)
        ));
        drop(a);
        assert!(matches!(
            limits.admit(&cfg, "t", now).await,
            Admission::Admitted(Some(_))
        ));
        drop(b);

        let queued = SimConfig {
            rate_limit_concurrency_queue: true,
            ..cfg
        };
        let limits = RateLimits::new(&queued);
        let _a = limits.admit(&queued, "t", now).await;
        let b = limits.admit(&queued, "t", now).await;
        let third = limits.admit(&queued, "t", now);
        tokio::pin!(third);
        assert!(
            futures::poll!(third.as_mut()).is_pending(),
            "the third waits for a slot"
        );
        drop(b);
        assert!(matches!(third.await, Admission::Admitted(Some(_))));
        assert_eq!(limits.rejected(), 0);
    }
}
