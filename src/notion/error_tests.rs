//! Tests of [`super`]: envelopes, one-line messages, retry classification, scrubbing.

use super::*;
use crate::notion::envelope::MAX_EXCERPT;

fn scim(status: u16, body: &str) -> Error {
    Error::from_response(status, "POST", "/Users", body.as_bytes(), None)
}

fn assert_one_line(err: &Error) -> String {
    let msg = err.to_string();
    assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
    msg
}

#[test]
fn envelope_with_string_status() {
    let err = scim(
        409,
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"User already exists"}"#,
    );
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.scim_type(), Some("uniqueness"));
    let msg = assert_one_line(&err);
    assert_eq!(
        msg,
        "Notion answered 409 Conflict (uniqueness) for POST /Users: User already exists — conflict: it already exists or was changed at the same time"
    );
    assert!(!err.is_retryable());
}

#[test]
fn envelope_with_number_status_and_no_scim_type() {
    let err = scim(409, r#"{"status":409,"detail":"Duplicate\nentry"}"#);
    match &err {
        Error::Scim {
            status,
            scim_type,
            detail,
            ..
        } => {
            assert_eq!(*status, 409);
            assert_eq!(*scim_type, None);
            assert_eq!(detail, "Duplicate entry");
        }
        other => panic!("{other:?}"),
    }
    assert!(assert_one_line(&err).contains("Duplicate entry"));
}

#[test]
fn html_body_gives_its_title_or_an_excerpt() {
    let err = scim(
        502,
        "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center>\n<hr><center>cloudflare</center></body></html>",
    );
    assert!(err.is_retryable());
    let msg = assert_one_line(&err);
    assert!(msg.contains(": 502 Bad Gateway —"), "{msg}");
    assert!(msg.contains("Notion's side"), "{msg}");

    let long = format!("<div>{}</div>", "oops ".repeat(200));
    let err = scim(503, &long);
    let Error::Scim { detail, .. } = &err else {
        panic!()
    };
    assert!(detail.starts_with("oops oops"));
    assert!(detail.chars().count() <= MAX_EXCERPT + 20, "{detail}");
    assert!(detail.ends_with("more bytes]"), "{detail}");
    assert_one_line(&err);
}

#[test]
fn empty_and_non_object_bodies() {
    let err = scim(401, "");
    let Error::Scim { detail, .. } = &err else {
        panic!()
    };
    assert_eq!(detail, "Unauthorized (empty body)");
    let msg = assert_one_line(&err);
    assert!(msg.starts_with("Notion answered 401 Unauthorized for POST /Users:"));
    assert!(msg.contains("BATON_SCIM_TOKEN"));

    let err = scim(429, "   \n ");
    assert!(err.is_retryable() && err.is_rate_limited());
    let err = scim(500, "\"just a string\"");
    assert!(!err.is_retryable());
    assert!(assert_one_line(&err).contains("just a string"));
    let err = scim(529, "{}");
    assert!(err.is_retryable());
    assert!(assert_one_line(&err).contains(": HTTP 529 —"));
    let err = scim(404, r#"{"message":"Could not find user"}"#);
    assert!(err.is_not_found());
    assert!(assert_one_line(&err).contains("Could not find user"));
}

#[test]
fn retryable_classification() {
    for status in [429, 502, 503, 504, 529] {
        assert!(scim(status, "").is_retryable(), "{status}");
    }
    for status in [400, 401, 403, 404, 409, 500, 501] {
        assert!(!scim(status, "").is_retryable(), "{status}");
    }
    let timeout = Error::Timeout {
        method: "GET",
        endpoint: "/Users".into(),
        after: Duration::from_secs(5),
    };
    assert!(timeout.is_retryable());
    assert!(!Error::MissingToken.is_retryable());
    assert_eq!(
        timeout.to_string(),
        "Notion did not answer GET /Users within 5s — Notion may be slow or unreachable; retry later or raise the timeout"
    );
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
    assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("1.5", now),
        Some(Duration::from_millis(1500))
    );
    // 2015-10-21T07:28:00Z is 1445412480: ten seconds after `now`.
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-3", now), None);

    let err = Error::from_response(429, "GET", "/Users", b"", Some("7"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.to_string().ends_with("(Notion asked to wait 7s)"));
}

#[test]
fn server_text_is_bounded_escaped_and_scrubbed() {
    let token = "secret_tok3n_value";
    let huge = format!(
        "{{\"detail\":\"echo: Bearer {token} \\u001b[2J{}\"}}",
        "x".repeat(1_000_000)
    );
    let err = Error::from_response_scrubbed(401, "GET", "/Users", huge.as_bytes(), None, &[token]);
    let msg = assert_one_line(&err);
    assert!(!msg.contains(token), "{msg}");
    assert!(msg.contains("Bearer [redacted] \\x1b[2J"), "{msg}");
    assert!(msg.len() < 1000, "{} bytes", msg.len());
    assert!(msg.contains("more bytes]"), "{msg}");

    let html = format!("<html><title>Bad {token}</title></html>");
    let err = Error::from_response_scrubbed(502, "GET", "/Users", html.as_bytes(), None, &[token]);
    assert!(!assert_one_line(&err).contains(token));
    let plain = format!("{}{token}", "y ".repeat(100));
    let err = Error::from_response_scrubbed(500, "GET", "/Users", plain.as_bytes(), None, &[token]);
    assert!(!assert_one_line(&err).contains("secret_"), "{err}");

    let body = format!("oops {token}");
    let parse = serde_json::from_slice::<serde_json::Value>(body.as_bytes()).unwrap_err();
    let err = Error::decode("GET", "/Users", &parse, body.as_bytes(), &[token]);
    assert!(!assert_one_line(&err).contains(token), "{err}");
}

#[test]
fn decode_error_mentions_body_start_when_not_json() {
    let body = b"<!DOCTYPE html><html>login</html>";
    let err = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
    let e = Error::decode("GET", "/Users?startIndex=101&count=100", &err, body, &[]);
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "Notion's answer to GET /Users?startIndex=101&count=100 could not be read: expected value at line 1 column 1"
        ),
        "{msg}"
    );
    assert!(msg.contains("DOCTYPE"), "{msg}");
}
