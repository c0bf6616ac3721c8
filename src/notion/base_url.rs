//! A base URL (SCIM's or the Admin API's): validated once, then every request path is joined under its prefix.
//!
//! Rules:
//! - `https://` always; `http://` only for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`), so
//!   the token never crosses a network in clear text while tests and the simulator still work.
//! - No user info, query or fragment (they would leak into logs or break joining).
//! - The path prefix is kept (`https://www.notion.so/scim/v2` + `Users/{id}` →
//!   `/scim/v2/Users/{id}`); a trailing slash on the base is tolerated.
//! - Path segments (ids) are percent-encoded as segments, so an id can never change the path;
//!   query values are percent-encoded with `%20` for spaces (SCIM filters contain quotes and
//!   spaces, and not every server decodes `+`).

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::Error;

/// A validated SCIM base URL (see the module docs for the rules).
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Parsed URL whose path has no trailing slash (`/scim/v2`, or empty).
    url: Url,
}

impl BaseUrl {
    /// Validates `input` as a SCIM base URL.
    pub fn parse(input: &str) -> Result<BaseUrl, Error> {
        BaseUrl::parse_for("SCIM", input)
    }

    /// Validates `input` as the base URL of `api` (`SCIM`, `Admin API`: named in the error).
    pub fn parse_for(api: &'static str, input: &str) -> Result<BaseUrl, Error> {
        let trimmed = input.trim();
        let invalid = |reason: &str| Error::InvalidBaseUrl {
            api,
            url: redact_userinfo(trimmed),
            reason: reason.to_owned(),
        };
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let mut url = Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                if !url.host().is_some_and(|h| is_loopback(&h)) {
                    return Err(invalid(
                        "plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost); use https",
                    ));
                }
            }
            other => {
                return Err(invalid(&format!("unsupported scheme {other:?}; use https")));
            }
        }
        if url.host().is_none() {
            return Err(invalid("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "it must not contain a user name or password (the token is sent as a header)",
            ));
        }
        if url.query().is_some() {
            return Err(invalid("it must not contain a query string"));
        }
        if url.fragment().is_some() {
            return Err(invalid("it must not contain a fragment"));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(BaseUrl { url })
    }

    /// The base URL as a string, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// `{base}/{segments…}?{query}`: each segment percent-encoded as a path segment, each query
    /// pair percent-encoded (`%20` for spaces), in the order given.
    pub fn join<S, K, V>(&self, segments: &[S], query: &[(K, V)]) -> Url
    where
        S: AsRef<str>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            // Validation guarantees a host, so the URL can be a base and this branch is taken.
            path.pop_if_empty()
                .extend(segments.iter().map(AsRef::as_ref));
        }
        let query = encode_query(query);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        url
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.as_str()).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `k=v&k=v` with both sides percent-encoded; spaces as `%20`.
pub(crate) fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        push_encoded(&mut out, key.as_ref());
        out.push('=');
        push_encoded(&mut out, value.as_ref());
    }
    out
}

/// Appends `s` percent-encoded: everything but `A-Z a-z 0-9 - . _ *` is escaped.
fn push_encoded(out: &mut String, s: &str) {
    // form_urlencoded writes a space as `+` and a literal `+` as `%2B`, so every `+` in its output
    // is a space, which becomes `%20` (understood by form and plain percent decoders alike).
    for chunk in url::form_urlencoded::byte_serialize(s.as_bytes()) {
        if chunk == "+" {
            out.push_str("%20");
        } else {
            out.push_str(chunk);
        }
    }
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8, ::1 (and IPv4-mapped loopback).
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            IpAddr::V6(*ip).is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The URL with any `user:password@` removed, for error messages.
fn redact_userinfo(input: &str) -> String {
    match Url::parse(input) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Ok(_) => input.to_owned(),
        // Unparseable: drop everything up to an `@` in the authority, if any.
        Err(_) => match (input.find("://"), input.find('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}[redacted]{}", &input[..scheme_end + 3], &input[at..])
            }
            _ => input.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_QUERY: &[(&str, &str)] = &[];

    fn reason(input: &str) -> String {
        match BaseUrl::parse(input) {
            Err(Error::InvalidBaseUrl { reason, .. }) => reason,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        for ok in [
            "https://www.notion.so/scim/v2",
            "https://api.notion.com/scim/v2/",
            "http://127.0.0.1:8080/scim/v2",
            "http://127.9.8.7",
            "http://[::1]:9000/",
            "http://localhost:3000/scim/v2",
            "http://LOCALHOST",
            "http://sim.localhost:1/x",
        ] {
            BaseUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(reason("http://www.notion.so/scim/v2").contains("only allowed for loopback"));
        assert!(reason("http://10.0.0.1/scim/v2").contains("use https"));
        assert!(reason("http://localhost.example.com/").contains("use https"));
        assert!(reason("ftp://www.notion.so/scim/v2").contains("unsupported scheme"));
        assert!(reason("www.notion.so/scim/v2").contains("relative URL"));
        assert!(reason("").contains("empty"));
        assert!(reason("https://www.notion.so/scim/v2?x=1").contains("query"));
        assert!(reason("https://www.notion.so/scim/v2#top").contains("fragment"));
    }

    #[test]
    fn user_info_is_refused_and_not_echoed() {
        let err = BaseUrl::parse("https://user:hunter2@www.notion.so/scim/v2").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("user name or password"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn keeps_the_prefix_and_tolerates_a_trailing_slash() {
        for base in [
            "https://www.notion.so/scim/v2",
            "https://www.notion.so/scim/v2/",
        ] {
            let base = BaseUrl::parse(base).unwrap();
            assert_eq!(base.as_str(), "https://www.notion.so/scim/v2");
            assert_eq!(
                base.join(&["Users", "5f3d0a8e-2b1c"], NO_QUERY).as_str(),
                "https://www.notion.so/scim/v2/Users/5f3d0a8e-2b1c"
            );
        }
        let root = BaseUrl::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(root.as_str(), "http://127.0.0.1:4000");
        assert_eq!(
            root.join(&["Groups"], NO_QUERY).as_str(),
            "http://127.0.0.1:4000/Groups"
        );
    }

    #[test]
    fn encodes_segments_and_query() {
        let base = BaseUrl::parse("https://www.notion.so/scim/v2").unwrap();
        let url = base.join(
            &["Users", "a/b?c d"],
            &[
                ("startIndex", "1".to_owned()),
                ("filter", r#"userName eq "a+b@example.com""#.to_owned()),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://www.notion.so/scim/v2/Users/a%2Fb%3Fc%20d?startIndex=1&filter=userName%20eq%20%22a%2Bb%40example.com%22"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[1].1, r#"userName eq "a+b@example.com""#);
    }
}
