//! Consumed seats per workspace role, counted while users are listed.
//!
//! Each role is also a seat tier (`LicenseProfileTrait`), and ConductorOne shows a license's
//! `consumed_seats`. The count is a by-product of the user listing — every user record names its
//! role and whether it is active — so it costs no request. The user syncer counts each page and
//! adds it to its listing's tally (listings are told apart by their paging session, so two syncs
//! running at once through one gRPC server or daemon do not mix); when a listing reaches its last
//! page, its tally is published. The role syncer, which the sync engine visits after users (the
//! SDK's order), reads the latest published tally. When no listing completed in this process (a
//! roles-only sync) there is no figure, and `consumed_seats` is left out rather than guessed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::lock;

/// Listings counted at once before the oldest is forgotten (as many as paging sessions).
const MAX_LISTINGS: usize = 64;

/// Active users per role, from some users.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Seats(HashMap<String, i64>);

impl Seats {
    /// One user; only active users hold a seat.
    pub fn count(&mut self, role: &str, active: bool) {
        if active {
            *self.0.entry(role.to_owned()).or_default() += 1;
        }
    }

    fn add(&mut self, other: Seats) {
        for (role, n) in other.0 {
            *self.0.entry(role).or_default() += n;
        }
    }
}

/// Seat tallies of user listings, shared by the user and role syncers.
#[derive(Debug, Default)]
pub struct SeatTally {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Listings being counted, by paging session, from their first page.
    counting: HashMap<u64, Seats>,
    /// The latest listing counted to its end.
    complete: Option<Seats>,
}

impl SeatTally {
    /// Adds one page of `listing` (`first` when it is the listing's first page, `last` when it
    /// ends it). A listing resumed from a token issued by another process was never begun here,
    /// so it publishes nothing: its count would be partial.
    pub fn record(&self, listing: u64, first: bool, page: Seats, last: bool) {
        let mut state = lock(&self.state);
        if first {
            if state.counting.len() >= MAX_LISTINGS
                && let Some(&old) = state.counting.keys().next()
            {
                state.counting.remove(&old);
            }
            state.counting.insert(listing, Seats::default());
        }
        if let Some(seats) = state.counting.get_mut(&listing) {
            seats.add(page);
        }
        if last && let Some(done) = state.counting.remove(&listing) {
            state.complete = Some(done);
        }
    }

    /// Active users holding `role` in the latest complete listing; `None` before any completed.
    pub fn seats(&self, role: &str) -> Option<i64> {
        lock(&self.state)
            .complete
            .as_ref()
            .map(|c| c.0.get(role).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(users: &[(&str, bool)]) -> Seats {
        let mut s = Seats::default();
        for (role, active) in users {
            s.count(role, *active);
        }
        s
    }

    #[test]
    fn counts_active_users_of_a_complete_listing_only() {
        let t = SeatTally::default();
        assert_eq!(t.seats("owner"), None, "nothing before a listing");
        t.record(1, true, page(&[("owner", true), ("member", true)]), false);
        assert_eq!(t.seats("member"), None, "nothing while listing");
        t.record(1, false, page(&[("member", false), ("member", true)]), true);
        assert_eq!(t.seats("owner"), Some(1));
        assert_eq!(t.seats("member"), Some(2));
        assert_eq!(t.seats("restricted_member"), Some(0));
    }

    #[test]
    fn listings_running_at_once_do_not_mix() {
        let t = SeatTally::default();
        t.record(1, true, page(&[("member", true)]), false);
        t.record(2, true, page(&[("owner", true), ("owner", true)]), false);
        t.record(1, false, page(&[("member", true)]), true);
        assert_eq!((t.seats("member"), t.seats("owner")), (Some(2), Some(0)));
        t.record(2, false, page(&[]), true);
        assert_eq!((t.seats("member"), t.seats("owner")), (Some(0), Some(2)));
    }

    #[test]
    fn a_listing_resumed_without_its_first_page_publishes_nothing() {
        let t = SeatTally::default();
        t.record(7, false, page(&[("member", true)]), true);
        assert_eq!(t.seats("member"), None);
    }
}
