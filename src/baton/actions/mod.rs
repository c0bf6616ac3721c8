//! Baton actions (`ActionService`): named operations a connector declares with a typed schema,
//! which ConductorOne (or `--invoke-action`) invokes with a `google.protobuf.Struct` of
//! arguments and which answer with a `Struct`.
//!
//! Modelled on the Go SDK's `pkg/actions` `ActionManager`, in small parts:
//! - here: what a connector declares, [`ActionDecl`] (schema, [`Effect`], handler);
//! - [`fields`]: building schema fields, and reading typed arguments in a handler;
//! - [`validate`]: checking arguments against the schema (required, types, constraints)
//!   *before* a handler runs, so bad arguments send nothing anywhere;
//! - [`manager`]: the registry (global and resource-type-scoped actions, as the SDK keeps them
//!   apart), invocation with the provisioning gate, and the bounded table of statuses that
//!   `GetActionStatus` answers from.
//!
//! Nothing here knows about any application: a connector returns its declarations from
//! [`crate::baton::Connector::actions`].

pub mod fields;
pub mod manager;
pub mod validate;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use prost_types::{Any, Struct};

use super::error::Result;
use crate::pb::v2;

pub use manager::ActionManager;

/// What an action's handler answers when it worked: the response (typed by the schema's
/// `return_types`) and annotations for the caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionReply {
    /// The response object.
    pub response: Struct,
    /// Annotations passed back with the response.
    pub annotations: Vec<Any>,
}

impl ActionReply {
    /// A reply holding `response` and no annotations.
    pub fn new(response: Struct) -> Self {
        ActionReply {
            response,
            annotations: Vec::new(),
        }
    }
}

/// Whether an action changes the application's state. The runtime refuses state-changing
/// actions unless provisioning is enabled (`--provisioning`), exactly as it refuses grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Reads only; runs without `--provisioning`.
    ReadOnly,
    /// Changes something in the application; needs `--provisioning`.
    ChangesState,
}

/// The future a handler returns. `'static` because an invocation outlives the call that
/// started it when it runs longer than the caller waits (`GetActionStatus` then reports it).
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<ActionReply>> + Send>>;

/// An action's handler: validated arguments in, a reply (or a connector error) out.
pub type Handler = Arc<dyn Fn(Struct) -> HandlerFuture + Send + Sync>;

/// One action a connector offers: its schema, whether it changes state, and its handler.
///
/// A schema with an empty `resource_type_id` is a global action; [`ActionDecl::on_type`] scopes
/// it to a resource type (the SDK's resource actions: invoked with that type's id, listed
/// under it).
#[derive(Clone)]
pub struct ActionDecl {
    /// Name, arguments, return types, action types, display texts, resource type.
    pub schema: v2::BatonActionSchema,
    /// Whether invoking it changes state.
    pub effect: Effect,
    /// Runs the action.
    pub handler: Handler,
}

impl std::fmt::Debug for ActionDecl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionDecl")
            .field("name", &self.schema.name)
            .field("resource_type_id", &self.schema.resource_type_id)
            .field("effect", &self.effect)
            .finish_non_exhaustive()
    }
}

impl ActionDecl {
    /// A global action with `schema`, running `handler`.
    pub fn new<F, Fut>(schema: v2::BatonActionSchema, effect: Effect, handler: F) -> Self
    where
        F: Fn(Struct) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ActionReply>> + Send + 'static,
    {
        ActionDecl {
            schema,
            effect,
            handler: Arc::new(move |args| Box::pin(handler(args))),
        }
    }

    /// The same action, scoped to `resource_type` (sets the schema's `resource_type_id`).
    pub fn on_type(mut self, resource_type: &str) -> Self {
        self.schema.resource_type_id = resource_type.to_owned();
        self
    }
}

/// Adds `CAPABILITY_ACTIONS` to `caps` when `declares_actions`, as the Go SDK's builder does
/// when its action manager holds any action.
pub fn advertise(
    mut caps: v2::ConnectorCapabilities,
    declares_actions: bool,
) -> v2::ConnectorCapabilities {
    let actions = v2::Capability::Actions as i32;
    if declares_actions && !caps.connector_capabilities.contains(&actions) {
        caps.connector_capabilities.push(actions);
        caps.connector_capabilities.sort_unstable();
    }
    caps
}

#[cfg(test)]
mod tests;
