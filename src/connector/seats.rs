//! Consumed seats per workspace role, counted while users are listed.
//!
//! Each role is also a seat tier (`LicenseProfileTrait`), and ConductorOne shows a license's
//! `consumed_seats`. The count is a by-product of the user listing — every user record names its
//! role and whether it is active — so it costs no request. The user syncer counts a listing from
//! its first page and publishes the tally when the listing completes; the role syncer, which the
//! sync engine visits after users (the SDK's order), reads the latest complete tally. While a
//! listing is in progress, or when none completed in this process (a roles-only sync), there is
//! no figure and `consumed_seats` is left out rather than guessed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::lock;

/// Active users per role, shared by the user and role syncers.
#[derive(Debug, Default)]
pub struct SeatTally {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The listing being counted, from its first page.
    counting: Option<HashMap<String, i64>>,
    /// The latest listing counted to its end.
    complete: Option<HashMap<String, i64>>,
}

impl SeatTally {
    /// A user listing starts over from its first page.
    pub fn begin(&self) {
        lock(&self.state).counting = Some(HashMap::new());
    }

    /// One user of the listing in progress (each id once); only active users hold a seat.
    pub fn count(&self, role: &str, active: bool) {
        if !active {
            return;
        }
        if let Some(counts) = lock(&self.state).counting.as_mut() {
            *counts.entry(role.to_owned()).or_default() += 1;
        }
    }

    /// The listing in progress reached its last page: its counts become the published ones.
    /// A listing resumed from a token issued by another process was never begun here, so it
    /// publishes nothing.
    pub fn finish(&self) {
        let mut state = lock(&self.state);
        if let Some(counts) = state.counting.take() {
            state.complete = Some(counts);
        }
    }

    /// Active users holding `role` in the latest complete listing; `None` while a listing is in
    /// progress or before any completed.
    pub fn seats(&self, role: &str) -> Option<i64> {
        let state = lock(&self.state);
        if state.counting.is_some() {
            return None;
        }
        state
            .complete
            .as_ref()
            .map(|c| c.get(role).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_active_users_of_a_complete_listing_only() {
        let t = SeatTally::default();
        assert_eq!(t.seats("owner"), None, "nothing before a listing");
        t.begin();
        t.count("owner", true);
        t.count("member", true);
        t.count("member", false);
        assert_eq!(t.seats("member"), None, "nothing while listing");
        t.finish();
        assert_eq!(t.seats("owner"), Some(1));
        assert_eq!(t.seats("member"), Some(1));
        assert_eq!(t.seats("restricted_member"), Some(0));
    }

    #[test]
    fn a_new_listing_replaces_the_old_figures_when_it_completes() {
        let t = SeatTally::default();
        t.begin();
        t.count("member", true);
        t.finish();
        t.begin();
        assert_eq!(t.seats("member"), None);
        t.count("member", true);
        t.count("member", true);
        t.finish();
        assert_eq!(t.seats("member"), Some(2));
    }

    #[test]
    fn a_listing_resumed_without_its_first_page_publishes_nothing() {
        let t = SeatTally::default();
        t.count("member", true);
        t.finish();
        assert_eq!(t.seats("member"), None);
    }
}
