//! The Admin API's two error families, and the scopes each endpoint needs.
//!
//! Family A (admin-native) bodies are `{"type":"error","code","status","message"}`; family B
//! (public-style) bodies are `{"object":"error","code","status","message"}`. `status` is a JSON
//! number in both. The `code` follows the table of `spec/notion-admin.md` §2; where the table has
//! no entry (family A has no 409 or 503 code) the simulator uses `validation_error` for other 4xx
//! and `internal_server_error` for other 5xx.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

/// The error family of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Admin-native: `{"type":"error",…}`.
    A,
    /// Public-style: `{"object":"error",…}`.
    B,
}

impl Family {
    /// The `code` for an HTTP status in this family.
    pub(crate) fn code_for(self, status: StatusCode) -> &'static str {
        match (self, status.as_u16()) {
            (_, 400) => "validation_error",
            (_, 401) => "unauthorized",
            (Family::A, 403) => "missing_scope",
            (Family::B, 403) => "restricted_resource",
            (Family::A, 404) => "not_found",
            (Family::B, 404) => "object_not_found",
            (Family::B, 409) => "conflict_error",
            (_, 429) => "rate_limited",
            (Family::B, 503) => "service_unavailable",
            (_, s) if s >= 500 => "internal_server_error",
            _ => "validation_error",
        }
    }
}

/// A failed Admin request, rendered in the endpoint's family by [`Fail::into_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// Server message.
    pub(crate) message: String,
}

impl Fail {
    /// 400 `validation_error`.
    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 (`not_found` / `object_not_found`).
    pub(crate) fn not_found(message: impl Into<String>) -> Fail {
        Fail {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 409 `conflict_error` (family B only; family A renders it as `validation_error`).
    pub(crate) fn conflict(message: impl Into<String>) -> Fail {
        Fail {
            status: StatusCode::CONFLICT,
            message: message.into(),
        }
    }

    /// The error response in `family`.
    pub(crate) fn into_response(self, family: Family) -> Response {
        error_response(family, self.status, &self.message)
    }
}

/// An error body of `family` for `status`, with the family's code for it.
pub(crate) fn error_response(family: Family, status: StatusCode, message: &str) -> Response {
    let code = family.code_for(status);
    let body = match family {
        Family::A => {
            json!({"type": "error", "code": code, "status": status.as_u16(), "message": message})
        }
        Family::B => {
            json!({"object": "error", "code": code, "status": status.as_u16(), "message": message})
        }
    };
    json_response(status, &body)
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Every scope the spec names (the default admin token holds them all).
pub const ALL_SCOPES: [&str; 11] = [
    "workspace:read",
    "user:read",
    "personal-access-token:read",
    "personal-access-token:write-high-impact",
    "managed-user-session:write",
    "permission-group:read",
    "permission-group:write",
    "mcp-client-connection:read",
    "mcp-client-connection:write-high-impact",
    "workflows:read",
    "workflows:write",
];

/// The 403 message for a token lacking `scope`: names the scope, as Notion's does.
pub(crate) fn missing_scope_message(scope: &str) -> String {
    format!("This organization bot token is missing the required scope: {scope}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_per_family() {
        let a = |s: u16| Family::A.code_for(StatusCode::from_u16(s).unwrap());
        let b = |s: u16| Family::B.code_for(StatusCode::from_u16(s).unwrap());
        assert_eq!((a(403), b(403)), ("missing_scope", "restricted_resource"));
        assert_eq!((a(404), b(404)), ("not_found", "object_not_found"));
        assert_eq!((a(429), b(429)), ("rate_limited", "rate_limited"));
        assert_eq!(
            (a(503), b(503)),
            ("internal_server_error", "service_unavailable")
        );
        assert_eq!(b(409), "conflict_error");
        assert_eq!((a(401), b(400)), ("unauthorized", "validation_error"));
    }
}
