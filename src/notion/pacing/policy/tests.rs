//! The policy's tests on a fake clock, with a token bucket like the simulator's and a model of
//! the sync in front of it (read-ahead, an engine whose speed varies).

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The shipped ceiling (`--max-requests-per-second`), for the tests of the bench's shapes.
const CEILING: f64 = super::super::DEFAULT_MAX_REQUESTS_PER_SECOND as f64;
/// The shipped most requests in flight (`--max-concurrency`).
const MAX_IN_FLIGHT: usize = super::super::DEFAULT_MAX_CONCURRENCY;

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
struct Run {
    /// Seconds taken.
    secs: f64,
    /// 429s met.
    rejected: u64,
    /// The highest rate used.
    top: f64,
    /// The rates the cuts left, in order.
    cuts: Vec<f64>,
    /// When each request went, in order.
    sends: Vec<Instant>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("secs", &self.secs)
            .field("rejected", &self.rejected)
            .field("top", &self.top)
            .field("cuts", &self.cuts)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// The most requests sent within any one second.
    fn busiest_second(&self) -> usize {
        (0..self.sends.len())
            .map(|i| {
                let end = self.sends[i] + Duration::from_secs(1);
                self.sends[i..].iter().take_while(|t| **t < end).count()
            })
            .max()
            .unwrap_or(0)
    }
}

/// Drives `load` against a bucket `(rate, burst)` (or none) on the fake clock.
fn drive(policy: RatePolicy, bucket: Option<(f64, f64)>, load: Load, t0: Instant) -> Run {
    drive_with(
        policy,
        ConcurrencyPolicy::new(load.conc, true),
        bucket,
        load,
        t0,
    )
}

/// [`drive`] with an adaptive in-flight limit (at most `load.conc`).
fn drive_with(
    mut policy: RatePolicy,
    mut conc: ConcurrencyPolicy,
    bucket: Option<(f64, f64)>,
    load: Load,
    t0: Instant,
) -> Run {
    let mut bucket = bucket.map(|(r, b)| Bucket::new(r, b, t0));
    // In flight: (answer at, sent at, paced, saturated, retry-after if rejected).
    let mut flight: Vec<(Instant, Instant, bool, bool, Option<Duration>)> = Vec::new();
    let (mut now, mut done, mut rejected, mut top) = (t0, 0, 0, 0.0f64);
    let (mut issued, mut outstanding, mut ready, mut pending) = (0u64, 0u64, 0u64, 0u64);
    let mut busy_until: Option<Instant> = None;
    let mut cuts = Vec::new();
    let mut sends = Vec::new();
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
        let limit = conc.limit().min(load.conc);
        if pending > 0 && flight.len() < limit {
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
                sends.push(now);
                let verdict = bucket.as_mut().and_then(|b| b.take(now));
                let saturated = flight.len() + 1 >= limit;
                flight.push((now + load.latency, now, slot.paced, saturated, verdict));
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
            let (_, sent, paced, saturated, verdict) = flight.remove(0);
            match verdict {
                None => {
                    ready += 1;
                    policy.succeeded(now, sent, paced);
                    conc.succeeded(now, 0, load.latency, saturated);
                }
                Some(ra) => {
                    rejected += 1;
                    conc.rate_limited();
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
        sends,
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
    // 50 ms latency, the shipped ceiling and in-flight limit, a bucket of one second's worth; the targets
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
        let policy = RatePolicy::adaptive(CEILING, t0);
        let load = Load::backlogged(n, ms(50), MAX_IN_FLIGHT);
        let conc = ConcurrencyPolicy::new(MAX_IN_FLIGHT, false);
        let run = drive_with(policy, conc, Some((limit, limit)), load, t0);
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
    let load = Load::backlogged(400, ms(50), MAX_IN_FLIGHT);
    let run = drive(RatePolicy::adaptive(CEILING, t0), None, load, t0);
    assert_eq!(run.rejected, 0);
    assert_eq!(run.top, CEILING);
    // Slots are spaced by the rate: never more than the ceiling in any second (the first
    // slot of a second and the last of the one before may meet at its edge).
    assert!(
        run.busiest_second() <= CEILING as usize + 1,
        "{}",
        run.busiest_second()
    );
    assert!(
        run.busiest_second() as f64 >= 0.93 * CEILING,
        "it ran at the ceiling"
    );
}

#[test]
fn slow_start_reaches_the_ceiling_within_a_second() {
    // Medium's 106 requests at 50 ms without a server limit, rate and in-flight limit both
    // adaptive: 0.53 s at the ceiling from the first request; slow start from 40/s costs
    // about as much again (1.10 s; 1.48 s from 20/s with 4 in flight growing by one per
    // round, as it once did).
    let t0 = Instant::now();
    let load = Load::backlogged(106, ms(50), MAX_IN_FLIGHT);
    let conc = ConcurrencyPolicy::new(MAX_IN_FLIGHT, false);
    let run = drive_with(RatePolicy::adaptive(CEILING, t0), conc, None, load, t0);
    assert_eq!(run.rejected, 0);
    assert_eq!(run.top, CEILING);
    assert!(run.secs < 1.2, "{run:?}");
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
    // Slow start: one more per saturated answer, so a round doubles it.
    for i in 0..START_CONCURRENCY as u64 {
        c.succeeded(t0 + ms(i), 1, ms(50), true);
    }
    assert_eq!(c.limit(), 2 * START_CONCURRENCY);
    for i in 0..100 {
        c.succeeded(t0 + ms(i), 1, ms(50), true);
    }
    assert_eq!(c.limit(), 8, "capped at --max-concurrency");
    // After a 429, one more per round: as many answers as the limit, then one more.
    let mut after = ConcurrencyPolicy::new(16, false);
    after.rate_limited();
    assert_eq!(after.limit(), START_CONCURRENCY - START_CONCURRENCY / 4);
    let start = after.limit();
    for i in 0..start as u64 - 1 {
        after.succeeded(t0 + ms(i), 1, ms(50), true);
    }
    assert_eq!(after.limit(), start, "not yet a round");
    after.succeeded(t0 + ms(10), 1, ms(50), true);
    assert_eq!(after.limit(), start + 1);
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
