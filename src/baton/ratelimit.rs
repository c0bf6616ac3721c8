//! Rate-limit hints on the wire, both ways the Go SDK looks for them.
//!
//! - **In error details.** When the application throttled the connector and the connector gave
//!   up ([`ConnectorError::reset_at`] is set), the gRPC status carries a `google.rpc.Status` in
//!   its details (`grpc-status-details-bin`) holding one `c1.connector.v2.RateLimitDescription`
//!   with status `OVERLIMIT` and `reset_at`. The SDK's syncer then waits until `reset_at`
//!   instead of its own linear backoff. [`status_details`] builds those bytes and
//!   [`reset_at_from_details`] reads them back (for [`super::remote::Remote`]).
//! - **`c1.ratelimit.v1.RateLimiterService`.** The SDK's connector wrapper asks `Do` before
//!   every call when its rate-limit interceptor is on, and `Report`s afterwards. [`Limiter`]
//!   answers from what the connector itself learnt: `OVERLIMIT` until the latest reset time an
//!   error carried, otherwise `EMPTY` ("no limit known"), as the SDK's no-op limiter does. It
//!   never asks the application anything.
//!
//! Nothing here knows which application sits behind the connector.

use std::sync::Mutex;
use std::time::SystemTime;

use prost::Message as _;
use tonic::{Request, Response, Status};

use super::annotations::{find, pack};
use super::error::ConnectorError;
use crate::pb::c1::ratelimit::v1 as rl;
use crate::pb::google::rpc;
use crate::pb::v2;

/// The bytes of a `google.rpc.Status` for `code`/`message` whose details hold a
/// `RateLimitDescription` (`OVERLIMIT`, `reset_at`); `None` when `err` carries no reset time.
pub fn status_details(code: tonic::Code, err: &ConnectorError) -> Option<Vec<u8>> {
    let reset_at = err.reset_at?;
    let description = v2::RateLimitDescription {
        status: v2::rate_limit_description::Status::Overlimit as i32,
        reset_at: Some(reset_at.into()),
        ..Default::default()
    };
    let status = rpc::Status {
        code: code as i32,
        message: err.message.clone(),
        details: vec![pack(&description)],
    };
    Some(status.encode_to_vec())
}

/// The `reset_at` of a `RateLimitDescription` in a status's details, if there is one.
pub fn reset_at_from_details(details: &[u8]) -> Option<SystemTime> {
    if details.is_empty() {
        return None;
    }
    let status = rpc::Status::decode(details).ok()?;
    let description: v2::RateLimitDescription = find(&status.details)?;
    SystemTime::try_from(description.reset_at?).ok()
}

/// `c1.ratelimit.v1.RateLimiterService`, answered from the reset times the connector's own
/// errors carried (see the module docs).
#[derive(Debug, Default)]
pub struct Limiter {
    /// The latest reset time seen in a failed call; over limit until then.
    reset_at: Mutex<Option<SystemTime>>,
}

impl Limiter {
    /// Remembers the reset time of a failed call, keeping the latest one.
    pub fn observe(&self, err: &ConnectorError) {
        if let Some(at) = err.reset_at {
            let mut guard = self.reset_at.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none_or(|prev| prev < at) {
                *guard = Some(at);
            }
        }
    }

    /// The description `Do` answers with at `now`.
    pub fn describe(&self, now: SystemTime) -> rl::RateLimitDescription {
        let reset_at = *self.reset_at.lock().unwrap_or_else(|e| e.into_inner());
        match reset_at {
            Some(at) if at > now => rl::RateLimitDescription {
                status: rl::rate_limit_description::Status::Overlimit as i32,
                reset_at: Some(at.into()),
                ..Default::default()
            },
            _ => rl::RateLimitDescription {
                status: rl::rate_limit_description::Status::Empty as i32,
                ..Default::default()
            },
        }
    }
}

#[tonic::async_trait]
impl rl::rate_limiter_service_server::RateLimiterService for Limiter {
    async fn r#do(
        &self,
        request: Request<rl::DoRequest>,
    ) -> Result<Response<rl::DoResponse>, Status> {
        Ok(Response::new(rl::DoResponse {
            request_token: request.into_inner().request_token,
            description: Some(self.describe(SystemTime::now())),
        }))
    }

    async fn report(
        &self,
        _request: Request<rl::ReportRequest>,
    ) -> Result<Response<rl::ReportResponse>, Status> {
        // The connector paces itself; reports from the caller change nothing.
        Ok(Response::new(rl::ReportResponse::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::error::Code;
    use std::time::Duration;

    #[test]
    fn details_round_trip_and_only_when_a_reset_is_known() {
        let plain = ConnectorError::new(Code::Unavailable, "busy");
        assert!(status_details(tonic::Code::Unavailable, &plain).is_none());
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let err = plain.with_reset_at(at);
        let bytes = status_details(tonic::Code::Unavailable, &err).expect("details");
        assert_eq!(reset_at_from_details(&bytes), Some(at));
        let status = rpc::Status::decode(bytes.as_slice()).expect("a google.rpc.Status");
        assert_eq!(status.code, tonic::Code::Unavailable as i32);
        let d: v2::RateLimitDescription = find(&status.details).expect("description");
        assert_eq!(
            d.status,
            v2::rate_limit_description::Status::Overlimit as i32
        );
        assert_eq!(reset_at_from_details(b""), None);
        assert_eq!(reset_at_from_details(b"\xff\xff"), None);
    }

    #[test]
    fn the_limiter_is_over_limit_until_the_latest_reset() {
        let limiter = Limiter::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            limiter.describe(now).status,
            rl::rate_limit_description::Status::Empty as i32
        );
        let err = |s| {
            ConnectorError::new(Code::Unavailable, "429")
                .with_reset_at(now + Duration::from_secs(s))
        };
        limiter.observe(&err(7));
        limiter.observe(&err(3));
        let d = limiter.describe(now);
        assert_eq!(
            d.status,
            rl::rate_limit_description::Status::Overlimit as i32
        );
        assert_eq!(d.reset_at, Some((now + Duration::from_secs(7)).into()));
        assert_eq!(
            limiter.describe(now + Duration::from_secs(8)).status,
            rl::rate_limit_description::Status::Empty as i32
        );
    }
}
