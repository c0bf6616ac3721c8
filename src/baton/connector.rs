//! The traits an application connector implements, modelled on the Go SDK's `ConnectorBuilder`
//! and `ResourceSyncer`.
//!
//! A connector is a set of [`ResourceSyncer`]s, one per resource type, plus connector-wide
//! metadata and validation. Each syncer answers one page at a time with an opaque
//! continuation token ([`Page::next_token`]; empty means done), so the runtime can drive it
//! in-process or over gRPC alike and never needs to hold a whole listing in memory.
//!
//! Nothing here knows about any particular application: the Notion mapping lives in
//! `crate::connector`, and the code that drives these traits lives in [`super::client`] and
//! [`super::sync`].

use std::sync::Arc;

use async_trait::async_trait;
use prost_types::Any;

use super::actions::ActionDecl;
use super::error::Result;
use crate::pb::v2;

/// What the caller asked for: where to continue and how much it wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// The token from the previous page; empty for the first page.
    pub token: String,
    /// Requested page size; 0 lets the connector choose.
    pub size: u32,
    /// The resource types the calling sync stores, when it stores only some (an in-process
    /// sync with a type selection). A grant on another type's entitlement would be dropped by
    /// the sync, so a syncer may skip producing it; and a listing need not fetch ahead for a
    /// type the sync will not list. `None`: all types (and always over gRPC, whose requests
    /// carry no such field).
    pub resource_types: Option<Arc<[String]>>,
}

impl PageRequest {
    /// The first page, at the connector's preferred size.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// Whether the caller stores resources of `resource_type` (see
    /// [`PageRequest::resource_types`]).
    pub fn syncs(&self, resource_type: &str) -> bool {
        self.resource_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == resource_type))
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where to continue; empty when there is nothing more.
    pub next_token: String,
    /// Annotations for the whole page (rate-limit descriptions and the like).
    pub annotations: Vec<Any>,
}

impl<T> Page<T> {
    /// A final page holding `items`.
    pub fn done(items: Vec<T>) -> Self {
        Page {
            items,
            next_token: String::new(),
            annotations: Vec::new(),
        }
    }

    /// A page holding `items`, continued by `next_token`.
    pub fn more(items: Vec<T>, next_token: String) -> Self {
        Page {
            items,
            next_token,
            annotations: Vec::new(),
        }
    }

    /// An empty final page.
    pub fn empty() -> Self {
        Self::done(Vec::new())
    }
}

/// Lists one resource type: its resources, their entitlements and their grants.
#[async_trait]
pub trait ResourceSyncer: Send + Sync {
    /// The resource type this syncer serves (id, traits, annotations).
    fn resource_type(&self) -> v2::ResourceType;

    /// One resource by id (`ResourceGetterService.GetResource`, used by targeted syncs). A
    /// resource that does not exist (any more) is a `NotFound` error. The default answer is
    /// `Unimplemented`: the type does not support targeted syncs.
    async fn get(
        &self,
        _id: &v2::ResourceId,
        _parent: Option<&v2::ResourceId>,
    ) -> Result<v2::Resource> {
        Err(unsupported(
            "getting one resource",
            &self.resource_type().id,
        ))
    }

    /// One page of resources, optionally under a parent.
    async fn list(
        &self,
        parent: Option<&v2::ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<v2::Resource>>;

    /// One page of the entitlements a resource offers.
    async fn entitlements(
        &self,
        resource: &v2::Resource,
        page: &PageRequest,
    ) -> Result<Page<v2::Entitlement>>;

    /// One page of grants found while looking at `resource`. A grant may belong to another
    /// resource's entitlement (the Notion connector emits role grants while listing users).
    async fn grants(&self, resource: &v2::Resource, page: &PageRequest) -> Result<Page<v2::Grant>>;

    /// Grants `entitlement` (one of this type's) to `principal`. Returns the grants that now
    /// exist and annotations such as `GrantAlreadyExists` or `GrantReplaced`. Granting what is
    /// already held is a success, not an error.
    async fn grant(
        &self,
        _principal: &v2::Resource,
        _entitlement: &v2::Entitlement,
    ) -> Result<(Vec<v2::Grant>, Vec<Any>)> {
        Err(unsupported("granting", &self.resource_type().id))
    }

    /// Revokes `grant` (of one of this type's entitlements). Revoking what is already gone is
    /// a success with a `GrantAlreadyRevoked` annotation.
    async fn revoke(&self, _grant: &v2::Grant) -> Result<Vec<Any>> {
        Err(unsupported("revoking", &self.resource_type().id))
    }

    /// Deletes (deprovisions) a resource of this type. Deleting what is already gone is a
    /// success with a `ResourceDoesNotExist` annotation.
    async fn delete(&self, _id: &v2::ResourceId) -> Result<Vec<Any>> {
        Err(unsupported("deleting", &self.resource_type().id))
    }
}

fn unsupported(what: &str, resource_type: &str) -> super::ConnectorError {
    super::ConnectorError::unimplemented(format!(
        "{what} is not supported for resource type {resource_type:?}"
    ))
}

/// An application connector: metadata, validation and one syncer per resource type.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// Display name, description, capabilities, account-creation schema.
    fn metadata(&self) -> v2::ConnectorMetadata;

    /// Checks that the connector can reach the application with its credentials. Returns
    /// annotations to pass back to the caller.
    async fn validate(&self) -> Result<Vec<Any>>;

    /// The syncers, one per resource type, in the order the types should be synced.
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>>;

    /// Creates an account. An account that already exists is an `already_exists` result, not
    /// an error.
    async fn create_account(
        &self,
        _info: &v2::AccountInfo,
        _credentials: Option<&v2::CredentialOptions>,
    ) -> Result<v2::CreateAccountResponse> {
        Err(super::ConnectorError::unimplemented(
            "this connector does not create accounts",
        ))
    }

    /// The actions this connector offers (`ActionService`), global or scoped to a resource
    /// type ([`ActionDecl::on_type`]). Read once, when the runtime wraps the connector; the
    /// runtime validates arguments against each schema before a handler runs and refuses
    /// state-changing actions without provisioning. None by default.
    fn actions(&self) -> Vec<ActionDecl> {
        Vec::new()
    }
}
