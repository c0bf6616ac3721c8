//! The protocol-shaped view of a connector that the sync engine (and later the gRPC server)
//! drives: [`ConnectorClient`], with requests and responses exactly as on the wire.
//!
//! [`Local`] adapts any in-process [`Connector`] to it, doing what the Go SDK's builder adapter
//! does: route each call by resource type id (unknown → `NotFound`), validate the request
//! against the protocol's limits (`InvalidArgument`), and refuse a connector answer that would
//! loop forever (the same page token back → `Internal`). A tonic client can implement the same
//! trait, so the engine syncs from a remote connector with no other change.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::actions::ActionManager;
use super::connector::{Connector, PageRequest, ResourceSyncer};
use super::error::{ConnectorError, Result};
use crate::pb::v2;

/// Largest page a caller may ask for, as in the Go SDK's request validation.
pub const MAX_PAGE_SIZE: u32 = 250;
/// Longest id, type id or page token accepted in a request, in bytes.
pub const MAX_ID_BYTES: usize = 1024;
/// Longest page token accepted in a request, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The calls a sync makes, shaped like the `c1.connector.v2` RPCs.
#[async_trait]
pub trait ConnectorClient: Send + Sync {
    /// `ConnectorService.GetMetadata`.
    async fn get_metadata(&self) -> Result<v2::ConnectorMetadata>;
    /// `ConnectorService.Validate`.
    async fn validate(&self) -> Result<v2::ConnectorServiceValidateResponse>;
    /// `ResourceTypesService.ListResourceTypes`.
    async fn list_resource_types(
        &self,
        req: v2::ResourceTypesServiceListResourceTypesRequest,
    ) -> Result<v2::ResourceTypesServiceListResourceTypesResponse>;
    /// `ResourcesService.ListResources`.
    async fn list_resources(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
    ) -> Result<v2::ResourcesServiceListResourcesResponse>;
    /// `ResourcesService.ListResources` for a sync that stores only the resource types in
    /// `scope`: an in-process connector need not fetch ahead for a type the sync skips. The
    /// default (and any remote client) ignores `scope`, as with
    /// [`ConnectorClient::list_grants_scoped`].
    async fn list_resources_scoped(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
        scope: Option<&Arc<[String]>>,
    ) -> Result<v2::ResourcesServiceListResourcesResponse> {
        let _ = scope;
        self.list_resources(req).await
    }
    /// `EntitlementsService.ListEntitlements`.
    async fn list_entitlements(
        &self,
        req: v2::EntitlementsServiceListEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListEntitlementsResponse>;
    /// `EntitlementsService.ListStaticEntitlements`.
    async fn list_static_entitlements(
        &self,
        req: v2::EntitlementsServiceListStaticEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListStaticEntitlementsResponse>;
    /// `GrantsService.ListGrants`.
    async fn list_grants(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
    ) -> Result<v2::GrantsServiceListGrantsResponse>;

    /// `GrantsService.ListGrants` for a sync that stores only the resource types in `scope`.
    /// An in-process connector may then skip grants on other types' entitlements, which the
    /// sync would drop anyway. The wire has no field for it, so the default (and any remote
    /// client) ignores `scope`.
    async fn list_grants_scoped(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
        scope: Option<&Arc<[String]>>,
    ) -> Result<v2::GrantsServiceListGrantsResponse> {
        let _ = scope;
        self.list_grants(req).await
    }

    /// `ResourceGetterService.GetResource`: one resource by id (targeted syncs). `NotFound`
    /// when it does not exist.
    async fn get_resource(
        &self,
        _req: v2::ResourceGetterServiceGetResourceRequest,
    ) -> Result<v2::ResourceGetterServiceGetResourceResponse> {
        Err(ConnectorError::unimplemented(
            "GetResource is not implemented by this client",
        ))
    }

    /// `GrantManagerService.Grant`.
    async fn grant(
        &self,
        _req: v2::GrantManagerServiceGrantRequest,
    ) -> Result<v2::GrantManagerServiceGrantResponse> {
        Err(ConnectorError::unimplemented(
            "Grant is not implemented by this client",
        ))
    }

    /// `GrantManagerService.Revoke`.
    async fn revoke(
        &self,
        _req: v2::GrantManagerServiceRevokeRequest,
    ) -> Result<v2::GrantManagerServiceRevokeResponse> {
        Err(ConnectorError::unimplemented(
            "Revoke is not implemented by this client",
        ))
    }

    /// `AccountManagerService.CreateAccount`.
    async fn create_account(
        &self,
        _req: v2::CreateAccountRequest,
    ) -> Result<v2::CreateAccountResponse> {
        Err(ConnectorError::unimplemented(
            "CreateAccount is not implemented by this client",
        ))
    }

    /// `ResourceDeleterService.DeleteResourceV2` (and the older `DeleteResource`, which
    /// behaves the same).
    async fn delete_resource(
        &self,
        _req: v2::DeleteResourceV2Request,
    ) -> Result<v2::DeleteResourceV2Response> {
        Err(ConnectorError::unimplemented(
            "DeleteResource is not implemented by this client",
        ))
    }

    /// `ActionService.ListActionSchemas`.
    async fn list_action_schemas(
        &self,
        _req: v2::ListActionSchemasRequest,
    ) -> Result<v2::ListActionSchemasResponse> {
        Err(ConnectorError::unimplemented(
            "ListActionSchemas is not implemented by this client",
        ))
    }

    /// `ActionService.GetActionSchema`; `NotFound` for an unknown name.
    async fn get_action_schema(
        &self,
        _req: v2::GetActionSchemaRequest,
    ) -> Result<v2::GetActionSchemaResponse> {
        Err(ConnectorError::unimplemented(
            "GetActionSchema is not implemented by this client",
        ))
    }

    /// `ActionService.InvokeAction`. `provisioning` says whether the caller allows actions
    /// that change state (the server's and the daemon's `--provisioning`); the wire has no
    /// such field, so a remote client leaves the decision to its server's own switch.
    async fn invoke_action(
        &self,
        _req: v2::InvokeActionRequest,
        _provisioning: bool,
    ) -> Result<v2::InvokeActionResponse> {
        Err(ConnectorError::unimplemented(
            "InvokeAction is not implemented by this client",
        ))
    }

    /// `ActionService.GetActionStatus`; `NotFound` for an id this process did not run.
    async fn get_action_status(
        &self,
        _req: v2::GetActionStatusRequest,
    ) -> Result<v2::GetActionStatusResponse> {
        Err(ConnectorError::unimplemented(
            "GetActionStatus is not implemented by this client",
        ))
    }
}

/// The SDK version this runtime reports in `Validate` (≥ 0.4.3 makes syncers send
/// `active_sync_id`).
pub const SDK_VERSION: &str = "v0.25.0";

/// An in-process connector behind the [`ConnectorClient`] interface.
pub struct Local<C: Connector> {
    connector: Arc<C>,
    syncers: Vec<Arc<dyn ResourceSyncer>>,
    by_type: HashMap<String, usize>,
    actions: ActionManager,
}

impl<C: Connector> Local<C> {
    /// Wraps `connector`, indexing its syncers by resource type id.
    pub fn new(connector: Arc<C>) -> Self {
        let syncers = connector.syncers();
        let by_type = syncers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.resource_type().id, i))
            .collect();
        let actions = ActionManager::new(connector.actions());
        Local {
            connector,
            syncers,
            by_type,
            actions,
        }
    }

    /// The wrapped connector.
    pub fn connector(&self) -> &Arc<C> {
        &self.connector
    }

    fn syncer(&self, resource_type_id: &str) -> Result<&Arc<dyn ResourceSyncer>> {
        check_id("resource type id", resource_type_id)?;
        self.by_type
            .get(resource_type_id)
            .map(|&i| &self.syncers[i])
            .ok_or_else(|| {
                ConnectorError::not_found(format!("unknown resource type {resource_type_id:?}"))
            })
    }

    fn syncer_for(
        &self,
        resource: Option<&v2::Resource>,
    ) -> Result<(&Arc<dyn ResourceSyncer>, v2::Resource)> {
        let resource = resource
            .cloned()
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no resource"))?;
        let id = resource
            .id
            .as_ref()
            .ok_or_else(|| ConnectorError::invalid_argument("the resource has no id"))?;
        check_id("resource id", &id.resource)?;
        Ok((self.syncer(&id.resource_type)?, resource))
    }
}

/// Validates page size and token against the protocol limits.
pub fn page_request(size: u32, token: &str) -> Result<PageRequest> {
    if size > MAX_PAGE_SIZE {
        return Err(ConnectorError::invalid_argument(format!(
            "page_size {size} is larger than the maximum of {MAX_PAGE_SIZE}"
        )));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ConnectorError::invalid_argument(format!(
            "page_token is {} bytes long; at most {MAX_TOKEN_BYTES} are accepted",
            token.len()
        )));
    }
    Ok(PageRequest {
        token: token.to_owned(),
        size,
        resource_types: None,
    })
}

fn check_id(what: &str, id: &str) -> Result<()> {
    if id.len() > MAX_ID_BYTES {
        return Err(ConnectorError::invalid_argument(format!(
            "{what} is {} bytes long; at most {MAX_ID_BYTES} are accepted",
            id.len()
        )));
    }
    Ok(())
}

/// A connector that hands back the token it was given would make the caller loop forever.
fn check_progress(asked: &PageRequest, next: &str) -> Result<()> {
    if !next.is_empty() && next == asked.token {
        return Err(ConnectorError::internal(
            "the connector returned the same page token it was given",
        ));
    }
    Ok(())
}

#[async_trait]
impl<C: Connector> ConnectorClient for Local<C> {
    async fn get_metadata(&self) -> Result<v2::ConnectorMetadata> {
        let mut metadata = self.connector.metadata();
        metadata.capabilities = metadata
            .capabilities
            .map(|caps| super::actions::advertise(caps, !self.actions.is_empty()));
        Ok(metadata)
    }

    async fn validate(&self) -> Result<v2::ConnectorServiceValidateResponse> {
        let annotations = self.connector.validate().await?;
        Ok(v2::ConnectorServiceValidateResponse {
            annotations,
            sdk_version: SDK_VERSION.to_owned(),
        })
    }

    async fn list_resource_types(
        &self,
        _req: v2::ResourceTypesServiceListResourceTypesRequest,
    ) -> Result<v2::ResourceTypesServiceListResourceTypesResponse> {
        Ok(v2::ResourceTypesServiceListResourceTypesResponse {
            list: self.syncers.iter().map(|s| s.resource_type()).collect(),
            next_page_token: String::new(),
            annotations: Vec::new(),
        })
    }

    async fn list_resources(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
    ) -> Result<v2::ResourcesServiceListResourcesResponse> {
        self.list_resources_scoped(req, None).await
    }

    async fn list_resources_scoped(
        &self,
        req: v2::ResourcesServiceListResourcesRequest,
        scope: Option<&Arc<[String]>>,
    ) -> Result<v2::ResourcesServiceListResourcesResponse> {
        let syncer = self.syncer(&req.resource_type_id)?;
        let mut page = page_request(req.page_size, &req.page_token)?;
        page.resource_types = scope.cloned();
        let out = syncer.list(req.parent_resource_id.as_ref(), &page).await?;
        check_progress(&page, &out.next_token)?;
        Ok(v2::ResourcesServiceListResourcesResponse {
            list: out.items,
            next_page_token: out.next_token,
            annotations: out.annotations,
        })
    }

    async fn list_entitlements(
        &self,
        req: v2::EntitlementsServiceListEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListEntitlementsResponse> {
        let (syncer, resource) = self.syncer_for(req.resource.as_ref())?;
        let page = page_request(req.page_size, &req.page_token)?;
        let out = syncer.entitlements(&resource, &page).await?;
        check_progress(&page, &out.next_token)?;
        Ok(v2::EntitlementsServiceListEntitlementsResponse {
            list: out.items,
            next_page_token: out.next_token,
            annotations: out.annotations,
        })
    }

    async fn list_static_entitlements(
        &self,
        req: v2::EntitlementsServiceListStaticEntitlementsRequest,
    ) -> Result<v2::EntitlementsServiceListStaticEntitlementsResponse> {
        // Known type → an empty list: the Go syncer calls this for every type and fails the
        // whole sync on any error but NotFound.
        self.syncer(&req.resource_type_id)?;
        page_request(req.page_size, &req.page_token)?;
        Ok(v2::EntitlementsServiceListStaticEntitlementsResponse::default())
    }

    async fn list_grants(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
    ) -> Result<v2::GrantsServiceListGrantsResponse> {
        self.list_grants_scoped(req, None).await
    }

    async fn list_grants_scoped(
        &self,
        req: v2::GrantsServiceListGrantsRequest,
        scope: Option<&Arc<[String]>>,
    ) -> Result<v2::GrantsServiceListGrantsResponse> {
        let (syncer, resource) = self.syncer_for(req.resource.as_ref())?;
        let mut page = page_request(req.page_size, &req.page_token)?;
        page.resource_types = scope.cloned();
        let out = syncer.grants(&resource, &page).await?;
        check_progress(&page, &out.next_token)?;
        Ok(v2::GrantsServiceListGrantsResponse {
            list: out.items,
            next_page_token: out.next_token,
            annotations: out.annotations,
        })
    }

    async fn get_resource(
        &self,
        req: v2::ResourceGetterServiceGetResourceRequest,
    ) -> Result<v2::ResourceGetterServiceGetResourceResponse> {
        let id = req
            .resource_id
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no resource"))?;
        check_id("resource id", &id.resource)?;
        let resource = self
            .syncer(&id.resource_type)?
            .get(&id, req.parent_resource_id.as_ref())
            .await?;
        Ok(v2::ResourceGetterServiceGetResourceResponse {
            resource: Some(resource),
            annotations: Vec::new(),
        })
    }

    async fn grant(
        &self,
        req: v2::GrantManagerServiceGrantRequest,
    ) -> Result<v2::GrantManagerServiceGrantResponse> {
        let entitlement = req
            .entitlement
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no entitlement"))?;
        let principal = req
            .principal
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no principal"))?;
        principal
            .id
            .as_ref()
            .ok_or_else(|| ConnectorError::invalid_argument("the principal has no id"))?;
        let (syncer, _) = self.syncer_for(entitlement.resource.as_ref())?;
        let (grants, annotations) = syncer.grant(&principal, &entitlement).await?;
        Ok(v2::GrantManagerServiceGrantResponse {
            annotations,
            grants,
        })
    }

    async fn revoke(
        &self,
        req: v2::GrantManagerServiceRevokeRequest,
    ) -> Result<v2::GrantManagerServiceRevokeResponse> {
        let grant = req
            .grant
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no grant"))?;
        let entitlement_resource = grant.entitlement.as_ref().and_then(|e| e.resource.as_ref());
        let (syncer, _) = self.syncer_for(entitlement_resource)?;
        let annotations = syncer.revoke(&grant).await?;
        Ok(v2::GrantManagerServiceRevokeResponse { annotations })
    }

    async fn create_account(
        &self,
        req: v2::CreateAccountRequest,
    ) -> Result<v2::CreateAccountResponse> {
        let info = req
            .account_info
            .ok_or_else(|| ConnectorError::invalid_argument("the request has no account info"))?;
        self.connector
            .create_account(&info, req.credential_options.as_ref())
            .await
    }

    async fn delete_resource(
        &self,
        req: v2::DeleteResourceV2Request,
    ) -> Result<v2::DeleteResourceV2Response> {
        let id = req
            .resource_id
            .ok_or_else(|| ConnectorError::invalid_argument("the request names no resource"))?;
        check_id("resource id", &id.resource)?;
        let annotations = self.syncer(&id.resource_type)?.delete(&id).await?;
        Ok(v2::DeleteResourceV2Response { annotations })
    }

    async fn list_action_schemas(
        &self,
        req: v2::ListActionSchemasRequest,
    ) -> Result<v2::ListActionSchemasResponse> {
        check_id("resource type id", &req.resource_type_id)?;
        Ok(self.actions.list(&req))
    }

    async fn get_action_schema(
        &self,
        req: v2::GetActionSchemaRequest,
    ) -> Result<v2::GetActionSchemaResponse> {
        check_id("action name", &req.name)?;
        self.actions.schema(&req)
    }

    async fn invoke_action(
        &self,
        req: v2::InvokeActionRequest,
        provisioning: bool,
    ) -> Result<v2::InvokeActionResponse> {
        check_id("action name", &req.name)?;
        check_id("resource type id", &req.resource_type_id)?;
        self.actions.invoke(req, provisioning).await
    }

    async fn get_action_status(
        &self,
        req: v2::GetActionStatusRequest,
    ) -> Result<v2::GetActionStatusResponse> {
        check_id("action id", &req.id)?;
        self.actions.status(&req)
    }
}
