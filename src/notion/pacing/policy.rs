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
//! - **On a 429, cut to what the server delivered.** The new rate is the number of requests
//!   accepted since the last pause ended, divided by the time since then *plus the length of
//!   that pause* (the most a token bucket can have refilled during it; 1 s before the first
//!   429). For a token bucket whose burst is at most what it refills during the pause, that
//!   figure never exceeds the server's rate, and it approaches it the longer the interval — so
//!   one cut lands just under the limit instead of halving over and over. It is capped at
//!   [`CUT_FACTOR`] × the rate that met the 429, and a 429 with too few accepted requests to
//!   measure simply halves the rate. Only one cut per round: a 429 for a request sent before
//!   the last cut does not cut again.
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

/// The rate a sync starts at (requests per second) before it has seen anything: twice the
/// connector's old fixed default, low enough that a server limited to a few requests per
/// second sees only a couple of 429s before the first cut.
pub const START_RATE: f64 = 20.0;
/// The rate doubles this often in slow start (while rate-bound and clean).
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
/// into a low server limit before the first 429 returns is at most this many (measured: 3
/// 429s for medium against 3/s, as when starting at 2).
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
            if calm && self.limit > 1 {
                self.limit -= 1;
                self.last_shrink = Some(now);
            }
        } else if self.ratio <= FLAT_LATENCY && saturated && self.limit < self.max {
            // One more per round of answers (1 / limit per answer), as TCP Vegas adds one
            // segment per round trip: slow enough for the latency signal to keep up.
            self.growth += 1.0 / self.limit as f64;
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
        self.limit = (self.limit - self.limit / 4).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A token bucket like the simulator's, on the fake clock.
    struct Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        at: Instant,
    }

    impl Bucket {
        fn new(rate: f64, burst: f64, now: Instant) -> Bucket {
            Bucket {
                rate,
                burst,
                tokens: burst,
                at: now,
            }
        }
        /// `None` when accepted, else the honest `Retry-After` in whole seconds.
        fn take(&mut self, now: Instant) -> Option<Duration> {
            let dt = now.saturating_duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.burst);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                None
            } else {
                let secs = ((1.0 - self.tokens) / self.rate).ceil().max(1.0);
                Some(Duration::from_secs_f64(secs))
            }
        }
    }

    /// The client side of a simulated sync: `n` pages, `latency` each, at most `conc` in
    /// flight; a page is asked for only while fewer than `window` are outstanding (in flight,
    /// waiting for a retry, or answered and not yet processed), and the engine processes answered
    /// pages one at a time, `cost[0]` each for `stretch` pages, then `cost[1]` each for as many,
    /// and so on — the connector's read-ahead in front of a CPU-bound engine whose speed varies.
    /// A zero cost with `window == conc` is a client that is always backlogged.
    #[derive(Debug, Clone, Copy)]
    struct Load {
        n: u64,
        latency: Duration,
        conc: usize,
        window: u64,
        cost: [Duration; 2],
        stretch: u64,
    }

    impl Load {
        /// Always backlogged: the policy alone decides.
        fn backlogged(n: u64, latency: Duration, conc: usize) -> Load {
            Load {
                n,
                latency,
                conc,
                window: conc as u64,
                cost: [Duration::ZERO; 2],
                stretch: 1,
            }
        }
    }

    /// What [`drive`] saw.
    #[derive(Debug)]
    struct Run {
        /// Seconds taken.
        secs: f64,
        /// 429s met.
        rejected: u64,
        /// The highest rate used.
        top: f64,
        /// The rates the cuts left, in order.
        cuts: Vec<f64>,
    }

    /// Drives `load` against a bucket `(rate, burst)` (or none) on the fake clock.
    fn drive(mut policy: RatePolicy, bucket: Option<(f64, f64)>, load: Load, t0: Instant) -> Run {
        let mut bucket = bucket.map(|(r, b)| Bucket::new(r, b, t0));
        // In flight: (answer at, sent at, paced, retry-after if rejected).
        let mut flight: Vec<(Instant, Instant, bool, Option<Duration>)> = Vec::new();
        let (mut now, mut done, mut rejected, mut top) = (t0, 0, 0, 0.0f64);
        let (mut issued, mut outstanding, mut ready, mut pending) = (0u64, 0u64, 0u64, 0u64);
        let mut busy_until: Option<Instant> = None;
        let mut cuts = Vec::new();
        let mut retry_at: Vec<Instant> = Vec::new();
        let mut held: Option<Slot> = None;
        while done < load.n {
            // The engine finishes a page, takes the next, and asks for more.
            if busy_until.is_some_and(|at| at <= now) {
                busy_until = None;
                done += 1;
                outstanding -= 1;
            }
            while busy_until.is_none() && ready > 0 {
                ready -= 1;
                let cost = load.cost[(done / load.stretch % 2) as usize];
                if cost.is_zero() {
                    done += 1;
                    outstanding -= 1;
                } else {
                    busy_until = Some(now + cost);
                }
            }
            while issued < load.n && outstanding < load.window {
                issued += 1;
                outstanding += 1;
                pending += 1;
            }
            // Retries become pending again once their wait is over.
            retry_at.retain(|at| {
                if *at <= now {
                    pending += 1;
                    false
                } else {
                    true
                }
            });
            let mut next_send = None;
            if pending > 0 && flight.len() < load.conc {
                // Like the limiter: a request takes its slot and sleeps until it.
                let mut slot = *held.get_or_insert_with(|| policy.reserve(now));
                if slot.at <= now && policy.paused_until() > now {
                    // A pause began while it slept: it takes a new slot.
                    slot = policy.reserve(now);
                    held = Some(slot);
                }
                if slot.at <= now {
                    held = None;
                    top = top.max(policy.rate());
                    let verdict = bucket.as_mut().and_then(|b| b.take(now));
                    flight.push((now + load.latency, now, slot.paced, verdict));
                    pending -= 1;
                    continue;
                }
                next_send = Some(slot.at);
            }
            flight.sort_by_key(|f| f.0);
            let next_answer = flight.first().map(|f| f.0);
            let next_retry = retry_at.iter().min().copied();
            let Some(wake) = [next_send, next_answer, next_retry, busy_until]
                .into_iter()
                .flatten()
                .min()
            else {
                // Only pages answered at this instant are left to process.
                continue;
            };
            now = wake;
            if next_answer == Some(wake) {
                let (_, sent, paced, verdict) = flight.remove(0);
                match verdict {
                    None => {
                        ready += 1;
                        policy.succeeded(now, sent, paced);
                    }
                    Some(ra) => {
                        rejected += 1;
                        if let Some(cut) = policy.rate_limited(now, sent, Some(ra)) {
                            cuts.push(cut.to);
                        }
                        retry_at.push(now + ra);
                    }
                }
            }
        }
        Run {
            secs: now.saturating_duration_since(t0).as_secs_f64(),
            rejected,
            top,
            cuts,
        }
    }

    #[test]
    fn slow_start_doubles_while_rate_bound_and_clean() {
        let t0 = Instant::now();
        let mut p = RatePolicy::adaptive(1000.0, t0);
        assert_eq!(p.rate(), START_RATE);
        p.succeeded(t0 + SLOW_START_DOUBLING, t0, true);
        assert!((p.rate() - 2.0 * START_RATE).abs() < 1e-9, "{}", p.rate());
        p.succeeded(t0 + SLOW_START_DOUBLING * 2, t0, true);
        assert!((p.rate() - 4.0 * START_RATE).abs() < 1e-9, "{}", p.rate());
        // An answer to a request the rate did not hold back says nothing about the rate.
        p.succeeded(t0 + SLOW_START_DOUBLING * 5, t0, false);
        assert!((p.rate() - 4.0 * START_RATE).abs() < 1e-9, "{}", p.rate());
        assert_eq!(p.phase(), Phase::SlowStart);
    }

    #[test]
    fn slots_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        let mut p = RatePolicy::pinned(10.0, t0);
        let a = p.reserve(t0);
        let b = p.reserve(t0);
        assert_eq!(
            a,
            Slot {
                at: t0,
                paced: false
            }
        );
        assert_eq!(b.at - a.at, ms(100));
        assert!(b.paced);
        // Idle time does not bank a burst.
        let later = t0 + Duration::from_secs(10);
        let c = p.reserve(later);
        let d = p.reserve(later);
        assert_eq!(c.at, later);
        assert_eq!(d.at - c.at, ms(100));
    }

    #[test]
    fn the_ceiling_holds() {
        let t0 = Instant::now();
        let mut p = RatePolicy::adaptive(50.0, t0);
        for i in 1..200 {
            p.succeeded(t0 + ms(100 * i), t0, true);
            assert!(p.rate() <= 50.0);
        }
        assert_eq!(p.rate(), 50.0);
        // A ceiling below the starting rate is where it starts.
        assert_eq!(RatePolicy::adaptive(3.0, t0).rate(), 3.0);
        // A pinned rate never climbs past itself.
        let mut pinned = RatePolicy::pinned(7.0, t0);
        for i in 1..200 {
            pinned.succeeded(t0 + ms(500 * i), t0, true);
        }
        assert_eq!(pinned.rate(), 7.0);
    }

    #[test]
    fn a_429_cuts_to_what_the_server_delivered() {
        let t0 = Instant::now();
        let mut p = RatePolicy::adaptive(1000.0, t0);
        // Slow start got to 80/s while the server accepted 30 requests in 2 s.
        for i in 0..30 {
            let sent = t0 + ms(2000 * i / 30);
            p.succeeded(sent + ms(50), sent, true);
        }
        p.rate = 80.0;
        let cut = p
            .rate_limited(t0 + ms(2050), t0 + ms(2000), Some(ms(1000)))
            .expect("cuts");
        // 30 accepted over 2 s plus the 1 s a full bucket holds.
        assert_eq!(cut.samples, 30);
        assert!((cut.to - 10.0).abs() < 1e-9, "{cut:?}");
        assert_eq!(p.rate(), 10.0);
        assert!(matches!(p.phase(), Phase::Probing { .. }));
        // Never above CUT_FACTOR of the rate that met the 429.
        let mut q = RatePolicy::pinned(10.0, t0);
        for i in 0..100 {
            q.succeeded(t0 + ms(10 * i), t0, true);
        }
        let cut = q.rate_limited(t0 + ms(1000), t0, None).expect("cuts");
        assert!((cut.to - 9.0).abs() < 1e-9, "{cut:?}");
        // Too few accepted requests to measure: halve.
        let mut r = RatePolicy::pinned(10.0, t0);
        let cut = r.rate_limited(t0 + ms(100), t0, None).expect("cuts");
        assert_eq!(cut.to, 5.0);
    }

    #[test]
    fn one_cut_per_round_and_one_shared_pause() {
        let t0 = Instant::now();
        let mut p = RatePolicy::pinned(10.0, t0);
        let slots: Vec<Slot> = (0..4).map(|_| p.reserve(t0)).collect();
        let at = t0 + ms(450);
        assert!(p.rate_limited(at, slots[0].at, Some(ms(2000))).is_some());
        let after_first = p.rate();
        // The other three were in flight when the first 429 came back: no further cuts, and
        // the pause is not extended by more than their own Retry-After from their arrival.
        for s in &slots[1..] {
            assert!(p.rate_limited(at + ms(10), s.at, Some(ms(2000))).is_none());
        }
        assert_eq!(p.rate(), after_first);
        assert_eq!(p.paused_until(), at + ms(2010));
        // Every request, new or retried, waits for the one pause.
        let next = p.reserve(at + ms(20));
        assert_eq!(next.at, at + ms(2010));
        assert!(!next.paced, "the pause, not the rate, held it");
        // A request sent after the cut that meets a 429 cuts again.
        assert!(
            p.rate_limited(next.at + ms(50), next.at, Some(ms(1000)))
                .is_some()
        );
        assert!(p.rate() < after_first);
    }

    #[test]
    fn probing_plateaus_then_climbs() {
        let t0 = Instant::now();
        let mut p = RatePolicy::pinned(100.0, t0);
        p.rate_limited(t0, t0, None).expect("cuts");
        assert_eq!(p.rate(), 50.0);
        let mut at = t0;
        let mut rate_at = |secs: u64, p: &mut RatePolicy| {
            while at < t0 + Duration::from_secs(secs) {
                at += ms(50);
                p.succeeded(at, at, true);
            }
            p.rate()
        };
        let r6 = rate_at(6, &mut p);
        let r12 = rate_at(12, &mut p);
        let r24 = rate_at(24, &mut p);
        assert!(r6 < 52.0, "near the estimate for a while: {r6}");
        assert!(
            (r12 - 55.0).abs() < 0.5,
            "10 % above after the probe period: {r12}"
        );
        assert!((r24 - 70.0).abs() < 0.5, "40 % after twice that: {r24}");
    }

    #[test]
    fn finds_a_token_bucket_limit_with_few_429s() {
        // The bench's shapes on the fake clock: medium (106 requests) and large (1,021),
        // 50 ms latency, 8 in flight, a bucket of one second's worth; the targets
        // (within 1.25 × the ideal time plus 2 s, 429s under 5 %).
        let shapes = [
            (3.0, 106, 5),
            (20.0, 106, 5),
            (60.0, 106, 5),
            (3.0, 1021, 40),
            (20.0, 1021, 20),
            (60.0, 1021, 20),
        ];
        for (limit, n, max_429) in shapes {
            let t0 = Instant::now();
            let policy = RatePolicy::adaptive(150.0, t0);
            let load = Load::backlogged(n, ms(50), 8);
            let run = drive(policy, Some((limit, limit)), load, t0);
            let ideal = n as f64 / limit;
            eprintln!("{limit}/s, {n}: {run:?}, ideal {ideal:.1} s");
            assert!(run.rejected <= max_429, "{limit}/s, {n}: {run:?}");
            assert!(
                run.secs <= 1.25 * ideal + 2.0,
                "{limit}/s, {n}: {run:?} against an ideal {ideal:.1} s"
            );
        }
    }

    #[test]
    fn a_busy_engine_does_not_drag_the_estimate_below_the_limit() {
        // The bench's large sync (1,021 pages, 50 ms, 8 in flight and 8 pages read ahead) in
        // front of an engine that alternates 150 slow pages (30 ms each) with 150 fast ones
        // (8 ms), against 60/s with a bucket of 60: the client presses on the limit only in
        // the fast stretches. Estimated over the whole interval, the first cut would land at
        // about 41/s; it must land near the limit, and the sync take about what it takes a
        // client told the limit.
        let t0 = Instant::now();
        let load = Load {
            n: 1021,
            latency: ms(50),
            conc: 8,
            window: 8,
            cost: [ms(30), ms(8)],
            stretch: 150,
        };
        let bucket = Some((60.0, 60.0));
        let told = drive(RatePolicy::pinned(60.0, t0), bucket, load, t0);
        let run = drive(RatePolicy::adaptive(150.0, t0), bucket, load, t0);
        eprintln!("told the limit {told:?}; adaptive {run:?}");
        assert!(
            !run.cuts.is_empty(),
            "slow start went past the limit: {run:?}"
        );
        assert!(
            run.cuts.iter().all(|&to| to >= 0.85 * 60.0),
            "a cut landed far below the limit: {run:?}"
        );
        assert!(
            run.secs <= told.secs * 1.1 + 1.0,
            "{run:?} against {told:?}"
        );
    }

    #[test]
    fn a_cut_measures_the_window_in_which_the_client_pressed() {
        // 10 s at 30/s (the client busy), then 100/s against a bucket of 60/s (burst 60) until
        // the bucket is empty: 60 + 60 t = 100 t, t = 1.5 s. The whole interval shows 450
        // requests in 11.5 s (39/s); the window since the client began pressing shows the limit.
        let t0 = Instant::now();
        let mut p = RatePolicy::pinned(100.0, t0);
        let mut bucket = Bucket::new(60.0, 60.0, t0);
        let mut at = t0;
        let mut refused = None;
        for i in 0..2000 {
            at += if i < 300 { ms(33) } else { ms(10) };
            match bucket.take(at) {
                None => p.succeeded(at + ms(50), at, i >= 300),
                Some(_) => {
                    refused = Some(at);
                    break;
                }
            }
        }
        let sent = refused.expect("the bucket ran dry");
        let cut = p
            .rate_limited(sent + ms(50), sent, Some(ms(1000)))
            .expect("cuts");
        assert!(cut.to > 0.9 * 60.0 && cut.to <= 60.0 + 1e-9, "{cut:?}");
    }

    #[test]
    fn without_a_server_limit_it_reaches_the_ceiling() {
        let t0 = Instant::now();
        let load = Load::backlogged(400, ms(50), 8);
        let run = drive(RatePolicy::adaptive(150.0, t0), None, load, t0);
        assert_eq!(run.rejected, 0);
        assert_eq!(run.top, 150.0);
    }

    #[test]
    fn after_a_storm_the_rate_is_below_the_limit_within_two_seconds() {
        // A client at the ceiling meets a server that allows 20/s.
        let t0 = Instant::now();
        let mut p = RatePolicy::adaptive(150.0, t0);
        p.rate = 150.0;
        let mut bucket = Bucket::new(20.0, 20.0, t0);
        let mut now = t0;
        let mut below_since = None;
        while now < t0 + Duration::from_secs(2) {
            let slot = p.reserve(now);
            now = slot.at;
            match bucket.take(now) {
                None => p.succeeded(now + ms(50), now, slot.paced),
                Some(ra) => {
                    p.rate_limited(now + ms(50), now, Some(ra));
                }
            }
            if p.rate() < 20.0 && below_since.is_none() {
                below_since = Some(now);
            }
        }
        let since = below_since.expect("the rate fell below the limit");
        assert!(since - t0 <= Duration::from_secs(2));
    }

    #[test]
    fn concurrency_grows_while_latency_is_flat_and_stops_when_it_rises() {
        let t0 = Instant::now();
        let mut c = ConcurrencyPolicy::new(8, false);
        assert_eq!(c.limit(), START_CONCURRENCY);
        // Not saturated: no growth.
        c.succeeded(t0, 1, ms(50), false);
        assert_eq!(c.limit(), START_CONCURRENCY);
        // One more per round: as many answers as the limit, then one more.
        for i in 0..START_CONCURRENCY as u64 {
            c.succeeded(t0 + ms(i), 1, ms(50), true);
        }
        assert_eq!(c.limit(), START_CONCURRENCY + 1);
        for i in 0..100 {
            c.succeeded(t0 + ms(i), 1, ms(50), true);
        }
        assert_eq!(c.limit(), 8, "capped at --max-concurrency");
        // Latency triples at the same demand: the server is queueing; the limit comes down,
        // at most once per baseline latency.
        let mut at = t0 + ms(100);
        for _ in 0..5 {
            c.succeeded(at, 1, ms(150), true);
        }
        assert!(c.latency_ratio() > QUEUEING_LATENCY);
        assert_eq!(c.limit(), 7);
        for _ in 0..20 {
            at += ms(60);
            c.succeeded(at, 1, ms(150), true);
        }
        assert!(c.limit() < 7);
        let low = c.limit();
        // A slower endpoint has its own baseline: its latency is not read as queueing.
        let mut d = ConcurrencyPolicy::new(8, false);
        for i in 0..50 {
            d.succeeded(t0 + ms(i), 0, ms(5), true);
            d.succeeded(t0 + ms(i), 1, ms(200), true);
        }
        assert_eq!(d.limit(), 8);
        // 429s take a quarter off, never below one.
        c.rate_limited();
        assert_eq!(c.limit(), low - low / 4);
        for _ in 0..20 {
            c.rate_limited();
        }
        assert_eq!(c.limit(), 1);
        // A fixed limit is the maximum, whatever happens.
        let mut fixed = ConcurrencyPolicy::new(6, true);
        fixed.rate_limited();
        fixed.succeeded(t0, 0, ms(1), true);
        fixed.succeeded(t0, 0, ms(100), true);
        assert_eq!(fixed.limit(), 6);
    }
}
