//! Fault injection: the simulator misbehaving the way a real service does on a bad day.
//!
//! The knobs live in [`SimConfig`](super::SimConfig) (shares of 429s, 5xx, dropped connections
//! and malformed bodies; latency jitter; `totalResults` drift; users churning between pages;
//! pages reshuffled). This module makes the random choices, **deterministically**: a request's
//! fate is a hash of the configured seed, the request (method, path and query) and how many times
//! that same request was seen before. So the third attempt at `GET /Users?startIndex=101` always
//! meets the same fault, whatever else ran concurrently — a test that passes once passes always,
//! and a retry of a failed request rolls fresh dice (a retried request does not fail forever).
//!
//! Faults are drawn in the front door, after authentication: first a dropped connection, then a
//! 429 (with `Retry-After`), then a 5xx, then a lost response (handled, then the connection is
//! dropped), then — for a 2xx answer — a truncated body, then a slow body. A request that meets a fault before the
//! handler never reaches it, so no state changes for it.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::config::SimConfig;
use super::dataset::{Dataset, ROLE_MEMBER, SimUser};

/// What the front door does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Nothing: handle it normally.
    None,
    /// Close the connection without answering.
    Drop,
    /// Answer 429 with `Retry-After`.
    RateLimit,
    /// Answer this 5xx status.
    ServerError(u16),
    /// Handle it (a write takes effect), then close the connection without answering.
    LoseResponse,
    /// Handle it, then send a 2xx body slowly, in chunks.
    SlowBody,
    /// Handle it, then truncate a 2xx body (still `200`, half a JSON document).
    Malformed,
}

/// The simulator's fault state: how often each request was seen, and counters for churn and
/// shuffles.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Times each request key (hash of method, path, query) has been seen.
    seen: Mutex<HashMap<u64, u64>>,
    /// Numbers shuffles and churn rounds, for their seeds.
    rounds: AtomicU64,
}

impl Faults {
    /// The fault for this request (see the module docs), and a seed for its other random
    /// choices (latency jitter).
    pub(crate) fn draw(
        &self,
        cfg: &SimConfig,
        method: &str,
        path: &str,
        query: Option<&str>,
    ) -> (Fault, u64) {
        let mut h = DefaultHasher::new();
        (cfg.fault_seed, method, path, query).hash(&mut h);
        let key = h.finish();
        let nth = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            *n
        };
        let mut rng = StdRng::seed_from_u64(key ^ nth.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut next = || rng.random::<f64>();
        let fault = if nth <= cfg.rate_limit_first_tries {
            Fault::RateLimit
        } else if next() < cfg.drop_connection_share {
            Fault::Drop
        } else if next() < cfg.rate_limit_share {
            Fault::RateLimit
        } else if next() < cfg.server_error_share && !cfg.server_error_statuses.is_empty() {
            let i = rng.random_range(0..cfg.server_error_statuses.len());
            Fault::ServerError(cfg.server_error_statuses[i])
        } else if next() < cfg.lose_response_share {
            Fault::LoseResponse
        } else if next() < cfg.malformed_json_share {
            Fault::Malformed
        } else if next() < cfg.slow_body_share {
            Fault::SlowBody
        } else {
            Fault::None
        };
        (fault, rng.random())
    }

    /// A fresh seed for a per-request choice (page shuffles, churn rounds): deterministic for a
    /// sequential client.
    pub(crate) fn next_seed(&self, cfg: &SimConfig) -> u64 {
        let round = self.rounds.fetch_add(1, Ordering::Relaxed);
        cfg.fault_seed ^ round.wrapping_add(1).wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Extra latency for a request: uniform in `0..=jitter`, from the request's seed.
pub(crate) fn jitter(jitter: Duration, seed: u64) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    jitter.mul_f64(rng.random::<f64>())
}

/// Shuffles a page's resources in place.
pub(crate) fn shuffle<T>(items: &mut [T], seed: u64) {
    items.shuffle(&mut StdRng::seed_from_u64(seed));
}

/// `totalResults` as reported on a page starting at `start_index`: the true `total` on the first
/// page, `total + drift` (never below 0) on later ones.
pub(crate) fn drifted_total(total: usize, start_index: usize, drift: i64) -> usize {
    if start_index <= 1 || drift == 0 {
        return total;
    }
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    usize::try_from(total.saturating_add(drift).max(0)).unwrap_or(usize::MAX)
}

/// Workspace churn between pages: removes `n` users at random positions (and from every group)
/// and inserts `n` new members at random positions. Returns the removed and added ids.
pub(crate) fn churn(dataset: &mut Dataset, n: usize, seed: u64) -> (Vec<String>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut removed = Vec::new();
    for _ in 0..n.min(dataset.users.len()) {
        let i = rng.random_range(0..dataset.users.len());
        removed.push(dataset.users.remove(i).id);
    }
    if !removed.is_empty() {
        for group in &mut dataset.groups {
            group.members.retain(|m| !removed.contains(m));
        }
    }
    let mut added = Vec::new();
    for _ in 0..n {
        let tag: u64 = rng.random();
        let id = format!(
            "cccccccc-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (tag >> 48) & 0xffff,
            (tag >> 36) & 0xfff,
            (tag >> 24) & 0xfff,
            tag & 0xffff_ffff_ffff
        );
        let user = SimUser {
            user_name: format!("churn.{tag:016x}@example.com"),
            id: id.clone(),
            given_name: Some("New".to_owned()),
            family_name: Some("Member".to_owned()),
            formatted: None,
            role: Some(ROLE_MEMBER.to_owned()),
            active: true,
        };
        let at = rng.random_range(0..=dataset.users.len());
        dataset.users.insert(at, user);
        added.push(id);
    }
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig {
            rate_limit_share: 0.2,
            server_error_share: 0.1,
            ..SimConfig::default()
        }
    }

    #[test]
    fn draws_are_deterministic_per_request_and_occurrence() {
        let cfg = config();
        let run = || {
            let faults = Faults::default();
            (0..200)
                .map(|i| {
                    let q = format!("startIndex={}", i % 20);
                    faults.draw(&cfg, "GET", "/scim/v2/Users", Some(&q)).0
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let limited = a.iter().filter(|f| **f == Fault::RateLimit).count();
        let errors = a
            .iter()
            .filter(|f| matches!(f, Fault::ServerError(_)))
            .count();
        assert!((20..=60).contains(&limited), "{limited}");
        assert!((3..=30).contains(&errors), "{errors}");
        let other_seed = SimConfig {
            fault_seed: 99,
            ..config()
        };
        let faults = Faults::default();
        let b: Vec<_> = (0..200)
            .map(|i| {
                let q = format!("startIndex={}", i % 20);
                faults
                    .draw(&other_seed, "GET", "/scim/v2/Users", Some(&q))
                    .0
            })
            .collect();
        assert_ne!(a, b);
    }

    #[test]
    fn a_quiet_config_never_faults() {
        let faults = Faults::default();
        let cfg = SimConfig::default();
        for _ in 0..100 {
            assert_eq!(faults.draw(&cfg, "GET", "/x", None).0, Fault::None);
        }
    }

    #[test]
    fn first_tries_are_rate_limited() {
        let faults = Faults::default();
        let cfg = SimConfig {
            rate_limit_first_tries: 2,
            ..SimConfig::default()
        };
        let draw = |q| faults.draw(&cfg, "GET", "/Users", Some(q)).0;
        assert_eq!(draw("a"), Fault::RateLimit);
        assert_eq!(draw("b"), Fault::RateLimit);
        assert_eq!(draw("a"), Fault::RateLimit);
        assert_eq!(draw("a"), Fault::None);
    }

    #[test]
    fn drift_applies_after_the_first_page() {
        assert_eq!(drifted_total(250, 1, 7), 250);
        assert_eq!(drifted_total(250, 101, 7), 257);
        assert_eq!(drifted_total(5, 101, -9), 0);
    }

    #[test]
    fn churn_keeps_groups_consistent() {
        let mut ds = Dataset::reference();
        let before = ds.users.len();
        let (removed, added) = churn(&mut ds, 2, 5);
        assert_eq!((removed.len(), added.len()), (2, 2));
        assert_eq!(ds.users.len(), before);
        for g in &ds.groups {
            assert!(g.members.iter().all(|m| !removed.contains(m)));
        }
        assert!(added.iter().all(|id| ds.users.iter().any(|u| &u.id == id)));
        assert_eq!(ds.clone(), {
            let mut again = Dataset::reference();
            churn(&mut again, 2, 5);
            again
        });
    }
}
