//! How a simulator behaves: the accepted token, page size, latency, and the quirks and faults it
//! injects.
//!
//! Every knob defaults to "a well-behaved Notion": token `sim-token`, 100-item pages, no latency,
//! no quirks, no faults. Each quirk reproduces a behaviour listed in `spec/notion-scim.md` (or a
//! failure seen in other SCIM servers) that a robust client must survive.

use std::time::Duration;

/// Behaviour of a [`Simulator`](super::Simulator); see each field. `Default` is well-behaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Bearer token the simulator accepts (`Authorization: Bearer <token>`); default `"sim-token"`.
    pub token: String,
    /// Largest page served (Notion's cap is 100). A larger `count` is clamped; no `count` → this.
    pub max_page_size: u32,
    /// Quirk: `itemsPerPage` echoes the effective requested `count` instead of the number of
    /// resources actually returned.
    pub echo_count_in_items_per_page: bool,
    /// Quirk: a `startIndex` past the end returns the first page again (reporting `startIndex` 1)
    /// instead of an empty page.
    pub repeat_first_page_past_end: bool,
    /// Quirk: `/Groups` list pages leave out `members`; clients must `GET /Groups/{id}` for them.
    pub omit_group_members_in_list: bool,
    /// Delay added to every request before it is handled (cut short by shutdown).
    pub latency: Duration,
    /// Fault: the list page at (`"/Users"` or `"/Groups"`, `startIndex`) answers 200 with
    /// truncated JSON, every time it is asked for.
    pub malformed_json_at: Option<(String, u32)>,
    /// Fault: after serving this many requests, every later request has its connection dropped
    /// without any HTTP response (the client sees a connection error, never a status).
    pub die_after_requests: Option<u64>,
    /// User ids served without the Notion role extension (clients should treat them as members).
    pub omit_role_for: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            token: "sim-token".to_owned(),
            max_page_size: 100,
            echo_count_in_items_per_page: false,
            repeat_first_page_past_end: false,
            omit_group_members_in_list: false,
            latency: Duration::ZERO,
            malformed_json_at: None,
            die_after_requests: None,
            omit_role_for: Vec::new(),
        }
    }
}
