//! One request before it is sent — its endpoint (for counting and logging by template), its path
//! segments, query and body, and how it is shown in messages — and its answer's body, read
//! under the size cap.
//!
//! [`Call::display`] is what every error and log line names a request by. Ids in the path and
//! filter values in the query may come from outside and be hostile, so it is one line, control
//! characters escaped, and at most [`text::MAX_LINE`] characters with a marker for the rest.

use reqwest::Method;
use serde::Serialize;

use super::Error;
use super::transport::Wire;
use crate::text;

/// The endpoints this client calls, for counting and logging by template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    ServiceProviderConfig,
    ListUsers,
    GetUser,
    CreateUser,
    PatchUser,
    DeleteUser,
    ListGroups,
    GetGroup,
    CreateGroup,
    PatchGroup,
    DeleteGroup,
}

/// An endpoint table: each endpoint is a `METHOD /path/{param}` template, which names it in
/// counts and logs and from which its method follows. SCIM's [`Endpoint`] and the Admin API's
/// table implement it; the two tables stay apart (their endpoints have nothing else in common).
pub(crate) trait Template: Copy {
    /// `METHOD /path/{param}`.
    fn template(self) -> &'static str;

    /// The method's name.
    fn method_name(self) -> &'static str {
        self.template()
            .split_once(' ')
            .map_or("GET", |(method, _)| method)
    }

    /// The HTTP method.
    fn method(self) -> Method {
        match self.method_name() {
            "POST" => Method::POST,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            "PUT" => Method::PUT,
            _ => Method::GET,
        }
    }
}

/// `body` as JSON bytes for a request to `endpoint` (called only on failure, to name the
/// request shown as [`show`] does).
pub(crate) fn json_body<B: Serialize>(
    body: &B,
    endpoint: impl Template,
    shown: impl FnOnce() -> String,
) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|err| Error::Decode {
        method: endpoint.method_name(),
        endpoint: shown(),
        detail: format!("could not encode the request body: {err}"),
    })
}

impl Endpoint {
    /// Every endpoint, in discriminant order (so `e as usize` indexes it).
    pub(crate) const ALL: [Endpoint; 11] = [
        Endpoint::ServiceProviderConfig,
        Endpoint::ListUsers,
        Endpoint::GetUser,
        Endpoint::CreateUser,
        Endpoint::PatchUser,
        Endpoint::DeleteUser,
        Endpoint::ListGroups,
        Endpoint::GetGroup,
        Endpoint::CreateGroup,
        Endpoint::PatchGroup,
        Endpoint::DeleteGroup,
    ];
}

impl Template for Endpoint {
    /// `METHOD /path/{param}`.
    fn template(self) -> &'static str {
        match self {
            Endpoint::ServiceProviderConfig => "GET /ServiceProviderConfig",
            Endpoint::ListUsers => "GET /Users",
            Endpoint::GetUser => "GET /Users/{id}",
            Endpoint::CreateUser => "POST /Users",
            Endpoint::PatchUser => "PATCH /Users/{id}",
            Endpoint::DeleteUser => "DELETE /Users/{id}",
            Endpoint::ListGroups => "GET /Groups",
            Endpoint::GetGroup => "GET /Groups/{id}",
            Endpoint::CreateGroup => "POST /Groups",
            Endpoint::PatchGroup => "PATCH /Groups/{id}",
            Endpoint::DeleteGroup => "DELETE /Groups/{id}",
        }
    }
}

/// One request, before it is sent: what the retry layer will replay.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Which endpoint (method and template).
    pub(crate) endpoint: Endpoint,
    /// Path segments under the base URL, unencoded (`["Users", "<id>"]`).
    pub(crate) segments: Vec<String>,
    /// Query pairs in order, unencoded.
    pub(crate) query: Vec<(String, String)>,
    /// JSON body, for writes.
    pub(crate) body: Option<Vec<u8>>,
}

impl Call {
    /// A request without query or body.
    pub(crate) fn new<const N: usize>(endpoint: Endpoint, segments: [&str; N]) -> Call {
        Call {
            endpoint,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
        }
    }

    /// Adds the query serialized from a builder (see [`query_pairs`]).
    pub(crate) fn with_query<Q: Serialize>(mut self, query: &Q) -> Call {
        self.query = query_pairs(query);
        self
    }

    /// Adds a JSON body.
    pub(crate) fn with_json<B: Serialize>(mut self, body: &B) -> Result<Call, Error> {
        let bytes = json_body(body, self.endpoint, || self.display())?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// `/Users/<id>?startIndex=1&count=100` for messages: unencoded, control characters escaped
    /// so it stays on one line, and at most [`text::MAX_LINE`] characters (an id or a filter
    /// value may come from outside and be huge).
    pub(crate) fn display(&self) -> String {
        show(&self.segments, &self.query)
    }
}

/// `/a/b?k=v` for messages (see [`Call::display`]): unencoded, control characters escaped, at
/// most [`text::MAX_LINE`] characters with a marker for the rest.
pub(crate) fn show(segments: &[String], query: &[(String, String)]) -> String {
    let mut out = String::new();
    // Enough to show MAX_LINE characters; the rest is only counted.
    let budget = text::MAX_LINE * 4;
    let mut cut = 0;
    let mut push = |out: &mut String, piece: &str| {
        let room = budget.saturating_sub(out.len());
        if piece.len() <= room {
            out.push_str(piece);
        } else {
            let mut end = room;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&piece[..end]);
            cut += piece.len() - end;
        }
    };
    for segment in segments {
        push(&mut out, "/");
        push(&mut out, segment);
    }
    for (i, (key, value)) in query.iter().enumerate() {
        push(&mut out, if i == 0 { "?" } else { "&" });
        push(&mut out, key);
        push(&mut out, "=");
        push(&mut out, value);
    }
    let total = out.len() + cut;
    let end = out
        .char_indices()
        .nth(text::MAX_LINE)
        .map_or(out.len(), |(i, _)| i);
    let kept = &out[..end];
    let mut line = text::escape_controls(kept).into_owned();
    if kept.len() < total {
        line.push_str(&format!("…[{} more bytes]", total - kept.len()));
    }
    line
}

impl Wire for Call {
    fn method(&self) -> Method {
        self.endpoint.method()
    }
    fn method_name(&self) -> &'static str {
        self.endpoint.method_name()
    }
    fn kind(&self) -> usize {
        self.endpoint as usize
    }
    fn segments(&self) -> &[String] {
        &self.segments
    }
    fn query(&self) -> &[(String, String)] {
        &self.query
    }
    fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
    fn display(&self) -> String {
        Call::display(self)
    }
    fn error(
        &self,
        status: u16,
        body: &[u8],
        retry_after: Option<&str>,
        secrets: &[&str],
    ) -> Error {
        Error::from_response_scrubbed(
            status,
            self.endpoint.method_name(),
            Call::display(self),
            body,
            retry_after,
            secrets,
        )
    }
}

/// Serializes a list builder into query pairs: its JSON object's fields, `null`s skipped, in
/// SCIM's conventional order (`startIndex`, `count`, `filter`, then the rest alphabetically).
pub(crate) fn query_pairs<Q: Serialize>(query: &Q) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(query) else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = map
        .into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((key, value))
        })
        .collect();
    let rank = |key: &str| match key {
        "startIndex" => 0,
        "count" => 1,
        "filter" => 2,
        _ => 3,
    };
    pairs.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_display_is_unencoded_and_one_line() {
        let call = Call::new(Endpoint::ListUsers, ["Users"]).with_query(&serde_json::json!({
            "filter": "userName eq \"a b\"\n",
            "count": 100,
            "startIndex": 101,
            "skipped": null
        }));
        assert_eq!(
            call.display(),
            "/Users?startIndex=101&count=100&filter=userName eq \"a b\"\\n"
        );
        let huge = "i".repeat(10_000_000);
        let call = Call::new(Endpoint::GetGroup, ["Groups", &huge]);
        let shown = call.display();
        assert!(shown.starts_with("/Groups/iii"), "{shown}");
        assert!(shown.len() < 500, "{} bytes", shown.len());
    }
}
