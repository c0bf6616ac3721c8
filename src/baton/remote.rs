//! A [`ConnectorClient`] over a gRPC channel: the sync engine (and one-shot provisioning) can
//! drive *any* Baton connector server — this crate's `serve`, or another connector's.
//!
//! [`Remote::connect`] opens a tonic `Channel` (plain text, or TLS through
//! [`Remote::connect_with`]); each call clones the generated stub (cheap: the channel is shared)
//! and maps a failed call's `tonic::Status` back to a [`ConnectorError`] with the same code and
//! the server's own message ([`error_from_status`]).

use std::time::Duration;

use async_trait::async_trait;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::client::ConnectorClient;
use super::error::{Code, ConnectorError, Result};
use super::server::MAX_MESSAGE_BYTES;
use crate::pb::v2;

/// Why a connection to a connector server could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The address is not a usable `HOST:PORT` or URL.
    #[error("invalid connector address {addr:?}")]
    Address {
        /// The address as given.
        addr: String,
        /// The parser's complaint.
        source: tonic::transport::Error,
    },
    /// The TLS settings were rejected.
    #[error("TLS settings for {addr}")]
    Tls {
        /// The address as given.
        addr: String,
        /// The transport's complaint.
        source: tonic::transport::Error,
    },
    /// The server could not be reached.
    #[error("cannot connect to the connector at {addr}")]
    Connect {
        /// The address as given.
        addr: String,
        /// The transport's complaint.
        source: tonic::transport::Error,
    },
}

/// A connector server reached over gRPC.
#[derive(Clone, Debug)]
pub struct Remote {
    channel: Channel,
}

impl Remote {
    /// Connects to `addr` (`HOST:PORT`, or an `http://` URL) in plain text.
    pub async fn connect(addr: &str) -> Result<Self, RemoteError> {
        Self::connect_with(addr, None).await
    }

    /// Connects to `addr`, over TLS when `tls` is given (`HOST:PORT` then means `https://`).
    pub async fn connect_with(
        addr: &str,
        tls: Option<ClientTlsConfig>,
    ) -> Result<Self, RemoteError> {
        let url = match (addr.contains("://"), tls.is_some()) {
            (true, _) => addr.to_owned(),
            (false, true) => format!("https://{addr}"),
            (false, false) => format!("http://{addr}"),
        };
        let mut endpoint = Endpoint::from_shared(url)
            .map_err(|source| RemoteError::Address {
                addr: addr.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true);
        if let Some(tls) = tls {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|source| RemoteError::Tls {
                    addr: addr.to_owned(),
                    source,
                })?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| RemoteError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        Ok(Remote::from_channel(channel))
    }

    /// Wraps an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        Remote { channel }
    }

    fn connector(&self) -> v2::connector_service_client::ConnectorServiceClient<Channel> {
        v2::connector_service_client::ConnectorServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// Maps a failed call's status to a connector error, keeping the server's message.
pub fn error_from_status(status: tonic::Status) -> ConnectorError {
    let code = match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => Code::InvalidArgument,
        tonic::Code::NotFound => Code::NotFound,
        tonic::Code::AlreadyExists => Code::AlreadyExists,
        tonic::Code::PermissionDenied => Code::PermissionDenied,
        tonic::Code::Unauthenticated => Code::Unauthenticated,
        tonic::Code::FailedPrecondition | tonic::Code::Aborted => Code::FailedPrecondition,
        tonic::Code::Unavailable
        | tonic::Code::ResourceExhausted
        | tonic::Code::DeadlineExceeded => Code::Unavailable,
        tonic::Code::Unimplemented => Code::Unimplemented,
        tonic::Code::Cancelled => Code::Cancelled,
        tonic::Code::Ok | tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::DataLoss => {
            Code::Internal
        }
    };
    let err = ConnectorError::new(code, status.message().to_owned());
    // A server that said when to come back (a `RateLimitDescription` in the details).
    match super::ratelimit::reset_at_from_details(status.details()) {
        Some(at) => err.with_reset_at(at),
        None => err,
    }
}

/// Declares one stub constructor per service, each with the raised message limit.
macro_rules! stub {
    ($name:ident, $module:ident :: $client:ident) => {
        fn $name(remote: &Remote) -> v2::$module::$client<Channel> {
            v2::$module::$client::new(remote.channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
        }
    };
}
stub!(
    types_stub,
    resource_types_service_client::ResourceTypesServiceClient
);
stub!(
    resources_stub,
    resources_service_client::ResourcesServiceClient
);
stub!(
    entitlements_stub,
    entitlements_service_client::EntitlementsServiceClient
);
stub!(grants_stub, grants_service_client::GrantsServiceClient);
stub!(
    grant_manager_stub,
    grant_manager_service_client::GrantManagerServiceClient
);
stub!(
    account_manager_stub,
    account_manager_service_client::AccountManagerServiceClient
);
stub!(
    resource_getter_stub,
    resource_getter_service_client::ResourceGetterServiceClient
);
stub!(
    resource_deleter_stub,
    resource_deleter_service_client::ResourceDeleterServiceClient
);

#[async_trait]
impl ConnectorClient for Remote {
    async fn get_metadata(&self) -> Result<v2::ConnectorMetadata> {
        let resp = self
            .connector()
            .get_metadata(v2::ConnectorServiceGetMetadataRequest::default())
            .await
            .map_err(error_from_status)?;
        resp.into_inner()
            .metadata
            .ok_or_else(|| ConnectorError::internal("GetMetadata answered without metadata"))
    }

    async fn validate(&self) -> Result<v2::ConnectorServiceValidateResponse> {
        self.connector()
            .validate(v2::ConnectorServiceValidateRequest::default())
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn list_resource_types(
        &self,
        req: v2::ResourceTypesServiceListResourceTypesRequest,
    ) -> Result<v2::ResourceTypesServiceListResourceTypesResponse> {
        types_stub(self)
            .list_resource_types(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn list_resources(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
    ) -> Result<v2::ResourcesServiceListResourcesResponse> {
        resources_stub(self)
            .list_resources(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn list_entitlements(
        &self,
        req: v2::EntitlementsServiceListEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListEntitlementsResponse> {
        entitlements_stub(self)
            .list_entitlements(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn list_static_entitlements(
        &self,
        req: v2::EntitlementsServiceListStaticEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListStaticEntitlementsResponse> {
        match entitlements_stub(self).list_static_entitlements(req).await {
            Ok(resp) => Ok(resp.into_inner()),
            // As the Go syncer does: a server without static entitlements is not an error.
            Err(s) if matches!(s.code(), tonic::Code::Unimplemented) => {
                Ok(v2::EntitlementsServiceListStaticEntitlementsResponse::default())
            }
            Err(s) => Err(error_from_status(s)),
        }
    }

    async fn list_grants(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
    ) -> Result<v2::GrantsServiceListGrantsResponse> {
        grants_stub(self)
            .list_grants(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn get_resource(
        &self,
        req: v2::ResourceGetterServiceGetResourceRequest,
    ) -> Result<v2::ResourceGetterServiceGetResourceResponse> {
        resource_getter_stub(self)
            .get_resource(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn grant(
        &self,
        req: v2::GrantManagerServiceGrantRequest,
    ) -> Result<v2::GrantManagerServiceGrantResponse> {
        grant_manager_stub(self)
            .grant(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn revoke(
        &self,
        req: v2::GrantManagerServiceRevokeRequest,
    ) -> Result<v2::GrantManagerServiceRevokeResponse> {
        grant_manager_stub(self)
            .revoke(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn create_account(
        &self,
        req: v2::CreateAccountRequest,
    ) -> Result<v2::CreateAccountResponse> {
        account_manager_stub(self)
            .create_account(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }

    async fn delete_resource(
        &self,
        req: v2::DeleteResourceV2Request,
    ) -> Result<v2::DeleteResourceV2Response> {
        resource_deleter_stub(self)
            .delete_resource_v2(req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(error_from_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn a_rate_limit_description_in_the_details_becomes_the_reset_time() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let err = ConnectorError::new(Code::Unavailable, "slow down").with_reset_at(at);
        let back = error_from_status(super::super::server::status(err.clone()));
        assert_eq!(back, err);
        let plain = error_from_status(tonic::Status::unavailable("busy"));
        assert_eq!(plain.reset_at, None);
    }
}
