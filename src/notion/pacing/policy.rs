//! The pacing policy: what rate and how many requests in flight, decided from what came back.
//!
//! Plain arithmetic on times passed in as arguments, so the tests drive it with a fake clock.
//! [`super::Limiter`] wraps it with the real clock, a semaphore and a ceiling limiter.
//!
//! # Rate ([`RatePolicy`])
//! Notion publishes no SCIM limit, and a token-bucket server says nothing until its bucket is
//! empty. So, like TCP finding a link's capacity:
//!
//! - **Slow start.** Begin at [`START_RATE`] and double every [`SLOW_START_DOUBLING`] while
//!   answers come back clean — but only while the rate is what holds requests back (a request
//!   waited for its slot). A sync that asks for less than the rate does not inflate it, so a
//!   burst of demand later cannot go out far above what was ever tested.
//! - **On a 429, cut to what the server delivered.** The server's bucket was empty when it
//!   refused; looking back from that moment, the new rate is the highest
//!   `k / (t − s_k + 1 s)` over the `k` latest accepted requests since the last pause (sent at
//!   `s_k`, the refused one at `t`; the 1 s is the most a full bucket can hold, assuming a
//!   burst of at most one second's worth). For a token bucket no window exceeds the server's
//!   rate, and the window that starts when the client began sending faster than it meets it —
//!   so one cut lands just under the limit instead of halving over and over, however long the
//!   client itself (a busy engine, a phase with little to fetch) asked for less before it. It
//!   is capped at [`CUT_FACTOR`] × the rate that met the 429, and a 429 with too few accepted
//!   requests to measure simply halves the rate. Only one cut per round: a 429 for a request
//!   sent before the last cut does not cut again.
//! - **One shared pause.** `Retry-After` holds *every* request until it passes (the limit is
//!   the token's, so the others would only collect 429s). Pauses overlap, they do not add up.
//! - **Probe upward slowly.** After a cut, the rate stays near the estimate for a while and
//!   then grows faster and faster past it: `estimate × (1 + 0.1 × (t / PROBE_PERIOD)²)`, with
//!   `t` the time spent rate-bound since the cut (10 % above after [`PROBE_PERIOD`], 40 % after
//!   twice that). Long plateaus just under the limit mean few 429s and few pauses.
//! - **Ceiling.** The rate never exceeds the configured ceiling (`--max-requests-per-second`).
//!
//! A pinned rate (`--requests-per-second N`) is the same policy started at `N` with `N` as
//! the ceiling and no slow start: it still backs off on 429s and climbs back to `N`.
//!
//! # Concurrency ([`ConcurrencyPolicy`])
//! A limit on requests in flight between 1 and `--max-concurrency`, in the manner of TCP
//! Vegas or Netflix's gradient limiter: each endpoint's best latency is the baseline; while
//! answers come back within [`FLAT_LATENCY`] × baseline and the limit is what holds requests
//! back, the limit grows by one per round of answers; when latency rises past [`QUEUEING_LATENCY`] ×
//! baseline the server is queueing, and the limit shrinks by one (at most once per baseline
//! latency). A 429 also takes a quarter off it.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The rate a sync starts at (requests per second) before it has seen anything. Each step up
/// from 20/s took a third of a second off a 10,000-user sync without a server limit (on the
/// fake clock: 1.48 s at 20, 1.14 s at 40, 0.97 s at 60); 40 is the highest that keeps a
/// medium sync under 3/s and under 20/s at 4 429s of 106 (60 meets 5, on the 5 % line): with
/// at most [`START_CONCURRENCY`] in flight, the overshoot into a low limit stays small.
pub const START_RATE: f64 = 40.0;
/// The rate doubles this often in slow start (while rate-bound and clean). Faster is not
/// free: at 0.2 s the rate is at the ceiling when a 20/s bucket runs dry, and the in-flight
/// requests of that round come back 429 (7 of medium's 106 on the fake clock, against 4).
pub const SLOW_START_DOUBLING: Duration = Duration::from_millis(400);
/// After a cut, the rate is 10 % above the estimate after this much rate-bound time.
pub const PROBE_PERIOD: Duration = Duration::from_secs(12);
/// A cut never leaves more than this share of the rate that met the 429.
pub const CUT_FACTOR: f64 = 0.9;
/// The lowest rate (requests per second) a cut may leave.
pub const MIN_RATE: f64 = 0.5;
/// Accepted requests needed since the last pause before a cut trusts its estimate.
const MIN_SAMPLES: u64 = 2;
/// The refill allowance of a measurement window: the most a token bucket can hold, assumed to
/// be at most one second's worth of its rate (the simulator's default; a bigger burst makes the
/// estimate too high, and the next 429 corrects it).
const WINDOW_CREDIT: Duration = Duration::from_secs(1);
/// Send times of accepted requests kept for the estimate (the most recent; 27 s at the
/// default ceiling).
const MAX_SAMPLES: usize = 4096;
/// The in-flight limit a sync starts at: the connector's old fixed concurrency. The overshoot
/// into a low server limit before the first 429 returns is at most this many (on the fake
/// clock, starting at 2 or 3 meets as many 429s under 3/s as 4 does).
pub const START_CONCURRENCY: usize = 4;
/// Latency within this multiple of the baseline counts as flat.
pub const FLAT_LATENCY: f64 = 1.5;
/// Latency beyond this multiple of the baseline means the server is queueing.
pub const QUEUEING_LATENCY: f64 = 2.0;
/// Endpoints with their own latency baseline (kinds beyond share the last).
const LATENCY_KINDS: usize = 16;

/// Where the rate policy is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Doubling until the first 429 (or the ceiling).
    SlowStart,
    /// After a cut: near `estimate`, probing upward slowly.
    Probing {
        /// The rate the last cut settled on.
        estimate: f64,
        /// Rate-bound time since that cut.
        bound_for: Duration,
    },
}

/// What a cut did, for the log line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// The rate that met the 429.
    pub from: f64,
    /// The new rate.
    pub to: f64,
    /// Accepted requests the estimate was made from.
    pub samples: u64,
}

/// A send slot handed out by [`RatePolicy::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// When the request may go.
    pub at: Instant,
    /// Whether the rate (not a pause, not the caller) decided that time: the rate is binding.
    pub paced: bool,
}

/// The adaptive request rate (see the module docs).
#[derive(Debug, Clone)]
pub struct RatePolicy {
    /// Never above this.
    ceiling: f64,
    /// Never below this.
    floor: f64,
    /// The current rate.
    rate: f64,
    /// Slow start or probing.
    phase: Phase,
    /// The earliest time the next request may go, by the rate.
    next_free: Instant,
    /// No request goes before this (`Retry-After`).
    paused_until: Instant,
    /// Start of the current measurement interval: the start, or the end of the last pause.
    epoch: Instant,
    /// Send times of the requests sent at or after `epoch` and accepted, in the order their
    /// answers came (at most [`MAX_SAMPLES`], the oldest dropped first).
    accepted: VecDeque<Instant>,
    /// When the last cut happened: 429s for requests sent before it do not cut again.
    last_cut: Option<Instant>,
    /// When the rate last grew (or was looked at for growth).
    last_grow: Instant,
}

impl RatePolicy {
    /// Adaptive pacing from [`START_RATE`] (or the ceiling, if lower) up to `ceiling`.
    pub fn adaptive(ceiling: f64, now: Instant) -> RatePolicy {
        let ceiling = ceiling.max(MIN_RATE);
        RatePolicy::new(ceiling, START_RATE.min(ceiling), Phase::SlowStart, now)
    }

    /// A pinned rate: starts at `rate`, never above it, backs off on 429s and climbs back.
    pub fn pinned(rate: f64, now: Instant) -> RatePolicy {
        let rate = rate.max(MIN_RATE);
        let phase = Phase::Probing {
            estimate: rate,
            bound_for: Duration::ZERO,
        };
        RatePolicy::new(rate, rate, phase, now)
    }

    fn new(ceiling: f64, rate: f64, phase: Phase, now: Instant) -> RatePolicy {
        RatePolicy {
            ceiling,
            floor: MIN_RATE.min(ceiling),
            rate,
            phase,
            next_free: now,
            paused_until: now,
            epoch: now,
            accepted: VecDeque::new(),
            last_cut: None,
            last_grow: now,
        }
    }

    /// The current rate (requests per second).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The ceiling.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// Slow start or probing.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Until when every request is held (may be in the past).
    pub fn paused_until(&self) -> Instant {
        self.paused_until
    }

    /// Reserves the next send slot at or after `now`: after any pause, `1 / rate` after the
    /// previous slot.
    pub fn reserve(&mut self, now: Instant) -> Slot {
        let free = now.max(self.paused_until);
        let at = free.max(self.next_free);
        self.next_free = at + Duration::from_secs_f64(1.0 / self.rate);
        Slot {
            at,
            paced: at > free,
        }
    }

    /// A clean answer at `now` to a request sent at `sent` whose slot was `paced`.
    pub fn succeeded(&mut self, now: Instant, sent: Instant, paced: bool) {
        if sent >= self.epoch {
            if self.accepted.len() == MAX_SAMPLES {
                self.accepted.pop_front();
            }
            self.accepted.push_back(sent);
        }
        let dt = now.saturating_duration_since(self.last_grow);
        self.last_grow = now;
        if !paced || now < self.paused_until {
            // Not rate-bound (or paused): the rate was not tested, so it does not grow.
            return;
        }
        self.rate = match &mut self.phase {
            Phase::SlowStart => {
                self.rate * 2f64.powf(dt.as_secs_f64() / SLOW_START_DOUBLING.as_secs_f64())
            }
            Phase::Probing {
                estimate,
                bound_for,
            } => {
                *bound_for += dt;
                let x = bound_for.as_secs_f64() / PROBE_PERIOD.as_secs_f64();
                self.rate.max(*estimate * (1.0 + 0.1 * x * x))
            }
        }
        .min(self.ceiling);
    }

    /// A 429 at `now` for a request sent at `sent`, asking to wait `retry_after`: pauses every
    /// request and, once per round, cuts the rate. Returns the cut, if this 429 made one.
    pub fn rate_limited(
        &mut self,
        now: Instant,
        sent: Instant,
        retry_after: Option<Duration>,
    ) -> Option<Cut> {
        let pause = retry_after.unwrap_or(Duration::ZERO);
        self.paused_until = self.paused_until.max(now + pause);
        if self.last_cut.is_some_and(|cut| sent < cut) {
            return None;
        }
        let from = self.rate;
        let (samples, estimate) = self.delivered(sent);
        let to = match estimate {
            Some(rate) if samples >= MIN_SAMPLES => rate.min(CUT_FACTOR * from),
            _ => from / 2.0,
        }
        .clamp(self.floor, self.ceiling);
        self.rate = to;
        self.phase = Phase::Probing {
            estimate: to,
            bound_for: Duration::ZERO,
        };
        self.last_cut = Some(now);
        self.epoch = self.paused_until.max(now);
        self.accepted.clear();
        self.next_free = self.next_free.max(self.paused_until);
        self.last_grow = self.epoch;
        Some(Cut { from, to, samples })
    }

    /// What the server delivered up to `until` (the send time of the request it refused, when
    /// its bucket was empty): the accepted requests sent since the last pause, and the highest
    /// rate any recent window of them shows, `k / (until − s_k + WINDOW_CREDIT)` for the `k`
    /// latest send times `s_k`.
    ///
    /// A token bucket of rate `R` and burst at most `R × WINDOW_CREDIT` accepts at most
    /// `R × (window + WINDOW_CREDIT)` in any window, so no window overestimates `R`; and the
    /// window that starts when the client began sending faster than `R` (the bucket was full)
    /// and ends at the refusal meets it. Windows in which the client itself asked for less —
    /// a sync busy parsing, between phases — only add time, so the highest one, not the whole
    /// interval, is the estimate.
    fn delivered(&self, until: Instant) -> (u64, Option<f64>) {
        let mut sent: Vec<Instant> = self
            .accepted
            .iter()
            .copied()
            .filter(|s| *s <= until)
            .collect();
        sent.sort_unstable_by(|a, b| b.cmp(a));
        let best = sent
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let span = until.saturating_duration_since(*s) + WINDOW_CREDIT;
                (i + 1) as f64 / span.as_secs_f64()
            })
            .fold(None, |best: Option<f64>, r| {
                Some(best.map_or(r, |b| b.max(r)))
            });
        (sent.len() as u64, best)
    }
}

/// The adaptive limit on requests in flight (see the module docs).
#[derive(Debug, Clone)]
pub struct ConcurrencyPolicy {
    /// `--max-concurrency`.
    max: usize,
    /// The current limit (`1..=max`).
    limit: usize,
    /// Best latency seen per endpoint kind, in seconds (slowly forgotten).
    baseline: [Option<f64>; LATENCY_KINDS],
    /// Smoothed latency ÷ baseline.
    ratio: f64,
    /// When the limit last shrank.
    last_shrink: Option<Instant>,
    /// Pinned at `max` (with a pinned rate).
    fixed: bool,
    /// Progress toward the next increase (see `succeeded`).
    growth: f64,
    /// Until the first 429 or sign of queueing: one more per saturated answer (doubling per
    /// round), as TCP's slow start, instead of one more per round.
    slow_start: bool,
}

impl ConcurrencyPolicy {
    /// Starts at [`START_CONCURRENCY`] (or `max`, if lower); `fixed` keeps it at `max` for good.
    pub fn new(max: usize, fixed: bool) -> ConcurrencyPolicy {
        let max = max.max(1);
        ConcurrencyPolicy {
            max,
            limit: if fixed {
                max
            } else {
                START_CONCURRENCY.min(max)
            },
            baseline: [None; LATENCY_KINDS],
            ratio: 1.0,
            last_shrink: None,
            fixed,
            growth: 0.0,
            slow_start: !fixed,
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The smoothed latency ratio (1.0 = at the baseline).
    pub fn latency_ratio(&self) -> f64 {
        self.ratio
    }

    /// A clean answer at `now` from endpoint `kind` after `latency`; `saturated` when the
    /// request was sent with the limit reached (the limit was what held others back).
    pub fn succeeded(&mut self, now: Instant, kind: usize, latency: Duration, saturated: bool) {
        if self.fixed {
            return;
        }
        let sample = latency.as_secs_f64().max(1e-6);
        let slot = &mut self.baseline[kind.min(LATENCY_KINDS - 1)];
        // The baseline follows the minimum, and drifts up by 1 % of the gap per sample so that a
        // server that became slower for good is not read as queueing forever.
        let base = match *slot {
            Some(b) if sample >= b => b + (sample - b) * 0.01,
            _ => sample,
        };
        *slot = Some(base);
        self.ratio = 0.8 * self.ratio + 0.2 * (sample / base);
        if self.ratio > QUEUEING_LATENCY {
            let calm = self
                .last_shrink
                .is_none_or(|at| now.saturating_duration_since(at).as_secs_f64() >= base);
            self.slow_start = false;
            if calm && self.limit > 1 {
                self.limit -= 1;
                self.last_shrink = Some(now);
            }
        } else if self.ratio <= FLAT_LATENCY && saturated && self.limit < self.max {
            // In slow start one more per answer (doubling per round); after it one more per
            // round of answers (1 / limit per answer), as TCP Vegas adds one segment per round
            // trip: slow enough for the latency signal to keep up.
            self.growth += if self.slow_start {
                1.0
            } else {
                1.0 / self.limit as f64
            };
            if self.growth >= 1.0 - 1e-9 {
                self.growth = 0.0;
                self.limit += 1;
            }
        }
    }

    /// A 429: a quarter off the limit (at least one stays).
    pub fn rate_limited(&mut self) {
        if self.fixed {
            return;
        }
        self.slow_start = false;
        self.limit = (self.limit - self.limit / 4).max(1);
    }
}

#[cfg(test)]
mod tests;
