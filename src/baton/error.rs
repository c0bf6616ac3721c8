//! The error a connector hands to the Baton runtime.
//!
//! A [`ConnectorError`] carries a [`Code`] (the gRPC status code the Go SDK would answer with)
//! and a message meant for the person running the connector. Connectors map their own errors
//! into it, keeping the upstream service's words; the gRPC server turns it into a
//! `tonic::Status` in one place, and the one-shot CLI prints the message as the final line.
//!
//! A failure caused by the application throttling the connector can carry [`ConnectorError::reset_at`]:
//! when the application says it may be asked again. The gRPC server passes it on as a rate-limit
//! description in the status details, so a caller waits exactly that long instead of guessing.

use std::fmt;
use std::time::{Duration, SystemTime};

/// What kind of failure a [`ConnectorError`] is, in gRPC terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The request itself is wrong (bad id, bad page token, bad profile).
    InvalidArgument,
    /// The thing asked for does not exist (unknown resource type, deleted user).
    NotFound,
    /// The thing to create already exists.
    AlreadyExists,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// The credentials are missing, invalid or revoked.
    Unauthenticated,
    /// The system is not in a state that allows this (e.g. provisioning disabled).
    FailedPrecondition,
    /// A transient failure: rate limits, 5xx, timeouts. Worth retrying later.
    Unavailable,
    /// The connector does not implement this operation.
    Unimplemented,
    /// The run was cancelled (SIGINT/SIGTERM).
    Cancelled,
    /// A bug or an answer that makes no sense.
    Internal,
}

impl Code {
    /// The gRPC spelling, e.g. `NotFound`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "InvalidArgument",
            Code::NotFound => "NotFound",
            Code::AlreadyExists => "AlreadyExists",
            Code::PermissionDenied => "PermissionDenied",
            Code::Unauthenticated => "Unauthenticated",
            Code::FailedPrecondition => "FailedPrecondition",
            Code::Unavailable => "Unavailable",
            Code::Unimplemented => "Unimplemented",
            Code::Cancelled => "Cancelled",
            Code::Internal => "Internal",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure reported by a connector, with the code the protocol answers it with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    /// The protocol-level class of the failure.
    pub code: Code,
    /// One line for the operator, keeping the upstream service's own message.
    pub message: String,
    /// When the upstream service said it may be asked again (it throttled us and gave a
    /// reset time, e.g. HTTP `Retry-After`); `None` when it did not say.
    pub reset_at: Option<SystemTime>,
}

impl ConnectorError {
    /// A new error of `code` with `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ConnectorError {
            code,
            message: message.into(),
            reset_at: None,
        }
    }

    /// The same error, saying the upstream service may be asked again at `reset_at`.
    pub fn with_reset_at(mut self, reset_at: SystemTime) -> Self {
        self.reset_at = Some(reset_at);
        self
    }

    /// The same error, saying the upstream service may be asked again `after` from now.
    pub fn with_reset_after(self, after: Duration) -> Self {
        self.with_reset_at(SystemTime::now() + after)
    }

    /// Shorthand for [`Code::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// Shorthand for [`Code::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    /// Shorthand for [`Code::Unimplemented`].
    pub fn unimplemented(message: impl Into<String>) -> Self {
        Self::new(Code::Unimplemented, message)
    }

    /// Shorthand for [`Code::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }
}

/// Result alias for connector calls.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;
