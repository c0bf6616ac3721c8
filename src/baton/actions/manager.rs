//! The action registry and its invocations, as the Go SDK's `ActionManager` keeps them.
//!
//! - Global actions are keyed by name; resource-scoped ones by (resource type, name). An
//!   `InvokeAction` with a `resource_type_id` looks only among that type's actions, one without
//!   only among the global ones; a miss is `NotFound` (naming the type to pass when the name is
//!   scoped elsewhere).
//! - `ListActionSchemas` with no type lists everything (global first, then by type and name);
//!   with a type, only that type's. `GetActionSchema` finds a global action by name, else the
//!   first resource-scoped one of that name (the request carries no type).
//! - An invocation is checked in this order, and refused with nothing run: unknown →
//!   `NotFound`; state-changing without provisioning → `FailedPrecondition` (the provisioning
//!   gate's own words); bad arguments → `InvalidArgument`.
//! - It then runs on its own task and the call waits up to the request's `inline_wait`
//!   (default [`DEFAULT_INLINE_WAIT`], at most [`MAX_INLINE_WAIT`]), answering `COMPLETE` or
//!   `FAILED` with the response, or `RUNNING` when it is not done yet. A handler's error is a
//!   `FAILED` status whose response holds `{"error": message}` (the SDK's shape), not an RPC
//!   error. A handler gets at most [`HANDLER_TIMEOUT`].
//! - Statuses are kept for the last [`STATUS_CAPACITY`] invocations of this process; the
//!   oldest finished one is evicted first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prost_types::Struct;
use prost_types::value::Kind;
use tracing::{info, warn};

use super::fields::object;
use super::{ActionDecl, Effect, Handler};
use crate::baton::error::{ConnectorError, Result};
use crate::baton::server::PROVISIONING_DISABLED;
use crate::pb::v2;
use crate::text::one_line;

/// How long `InvokeAction` waits for the result when the request does not say (the SDK's 1 s).
pub const DEFAULT_INLINE_WAIT: Duration = Duration::from_secs(1);
/// The longest `inline_wait` honoured.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);
/// The longest a handler may run before its invocation fails (the SDK's hour).
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(3600);
/// How many invocations `GetActionStatus` remembers.
pub const STATUS_CAPACITY: usize = 1000;

/// Two declarations with the same name in the same scope.
#[derive(Debug, thiserror::Error)]
#[error("action {name:?} is declared twice{}", scope_text(.resource_type))]
pub struct DuplicateAction {
    /// The action name.
    pub name: String,
    /// Its resource type; empty for a global action.
    pub resource_type: String,
}

fn scope_text(resource_type: &str) -> String {
    if resource_type.is_empty() {
        String::new()
    } else {
        format!(" for resource type {resource_type:?}")
    }
}

struct Entry {
    schema: v2::BatonActionSchema,
    effect: Effect,
    handler: Handler,
}

/// One invocation's state, as `GetActionStatus` reports it.
#[derive(Clone, Debug)]
struct Record {
    name: String,
    status: v2::BatonActionStatus,
    response: Option<Struct>,
    annotations: Vec<prost_types::Any>,
}

/// The statuses of recent invocations, bounded (see the module docs).
#[derive(Default)]
struct Table {
    order: VecDeque<String>,
    records: HashMap<String, Record>,
}

impl Table {
    fn insert(&mut self, id: String, record: Record, capacity: usize) {
        while self.records.len() >= capacity.max(1) {
            let finished = self
                .order
                .iter()
                .position(|id| self.records.get(id).is_none_or(|r| is_terminal(r.status)));
            // All still running: the oldest goes anyway (the table stays bounded).
            let Some(id) = self.order.remove(finished.unwrap_or(0)) else {
                break;
            };
            self.records.remove(&id);
        }
        self.order.push_back(id.clone());
        self.records.insert(id, record);
    }
}

fn is_terminal(s: v2::BatonActionStatus) -> bool {
    matches!(
        s,
        v2::BatonActionStatus::Complete | v2::BatonActionStatus::Failed
    )
}

/// A connector's actions and the invocations this process ran.
pub struct ActionManager {
    global: BTreeMap<String, Arc<Entry>>,
    scoped: BTreeMap<(String, String), Arc<Entry>>,
    table: Arc<Mutex<Table>>,
    capacity: usize,
}

fn lock(t: &Mutex<Table>) -> MutexGuard<'_, Table> {
    // Plain data, consistent between statements: carry on after a panic elsewhere.
    t.lock().unwrap_or_else(|e| e.into_inner())
}

impl ActionManager {
    fn empty() -> Self {
        ActionManager {
            global: BTreeMap::new(),
            scoped: BTreeMap::new(),
            table: Arc::default(),
            capacity: STATUS_CAPACITY,
        }
    }

    /// Adds `d`; the duplicate it replaced, if any.
    fn insert(&mut self, d: ActionDecl) -> Option<DuplicateAction> {
        let (name, rt) = (d.schema.name.clone(), d.schema.resource_type_id.clone());
        let entry = Arc::new(Entry {
            schema: d.schema,
            effect: d.effect,
            handler: d.handler,
        });
        let replaced = if rt.is_empty() {
            self.global.insert(name.clone(), entry).is_some()
        } else {
            self.scoped
                .insert((rt.clone(), name.clone()), entry)
                .is_some()
        };
        replaced.then_some(DuplicateAction {
            name,
            resource_type: rt,
        })
    }

    /// The registry of `decls`; a second declaration of a name in the same scope is an error.
    pub fn try_new(decls: Vec<ActionDecl>) -> Result<Self, DuplicateAction> {
        let mut m = Self::empty();
        for d in decls {
            if let Some(dup) = m.insert(d) {
                return Err(dup);
            }
        }
        Ok(m)
    }

    /// Like [`ActionManager::try_new`], but a duplicate declaration (a connector bug) is logged
    /// and the later one wins, so the runtime still starts.
    pub fn new(decls: Vec<ActionDecl>) -> Self {
        let mut m = Self::empty();
        for d in decls {
            if let Some(dup) = m.insert(d) {
                warn!(error = %dup, "duplicate action declaration; the later one is used");
            }
        }
        m
    }

    /// Keep statuses of at most `capacity` invocations (tests use a small table).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Whether any action is declared (`CAPABILITY_ACTIONS`).
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.scoped.is_empty()
    }

    /// `ListActionSchemas`.
    pub fn list(&self, req: &v2::ListActionSchemasRequest) -> v2::ListActionSchemasResponse {
        let schemas = if req.resource_type_id.is_empty() {
            self.global
                .values()
                .chain(self.scoped.values())
                .map(|e| e.schema.clone())
                .collect()
        } else {
            self.scoped
                .iter()
                .filter(|((rt, _), _)| *rt == req.resource_type_id)
                .map(|(_, e)| e.schema.clone())
                .collect()
        };
        v2::ListActionSchemasResponse {
            schemas,
            annotations: Vec::new(),
        }
    }

    /// `GetActionSchema`.
    pub fn schema(&self, req: &v2::GetActionSchemaRequest) -> Result<v2::GetActionSchemaResponse> {
        let entry = self.global.get(&req.name).or_else(|| {
            self.scoped
                .iter()
                .find(|((_, name), _)| *name == req.name)
                .map(|(_, e)| e)
        });
        match entry {
            Some(e) => Ok(v2::GetActionSchemaResponse {
                schema: Some(e.schema.clone()),
                annotations: Vec::new(),
            }),
            None => Err(self.unknown(&req.name, "")),
        }
    }

    fn unknown(&self, name: &str, resource_type: &str) -> ConnectorError {
        let quoted = one_line(&format!("{name:?}"));
        let elsewhere: Vec<&str> = self
            .scoped
            .keys()
            .filter(|(rt, n)| n == name && rt != resource_type)
            .map(|(rt, _)| rt.as_str())
            .collect();
        let scope = if resource_type.is_empty() {
            String::new()
        } else {
            format!(
                " for resource type {}",
                one_line(&format!("{resource_type:?}"))
            )
        };
        let hint = match elsewhere.first() {
            Some(rt) => format!(
                "; it is an action of resource type {rt:?}: pass that resource type \
                 (resource_type_id, --invoke-action-resource-type {rt})"
            ),
            None => String::new(),
        };
        ConnectorError::not_found(format!("no action {quoted}{scope}{hint}"))
    }

    /// `InvokeAction`, refusing state-changing actions unless `provisioning` (see the module
    /// docs for the order of checks and the wait).
    pub async fn invoke(
        &self,
        req: v2::InvokeActionRequest,
        provisioning: bool,
    ) -> Result<v2::InvokeActionResponse> {
        let entry = if req.resource_type_id.is_empty() {
            self.global.get(&req.name)
        } else {
            self.scoped
                .get(&(req.resource_type_id.clone(), req.name.clone()))
        }
        .cloned()
        .ok_or_else(|| self.unknown(&req.name, &req.resource_type_id))?;
        if entry.effect == Effect::ChangesState && !provisioning {
            warn!(
                action = %entry.schema.name,
                "provisioning is not enabled (--provisioning); refusing the action"
            );
            return Err(ConnectorError::new(
                crate::baton::Code::FailedPrecondition,
                PROVISIONING_DISABLED,
            ));
        }
        let args = req.args.unwrap_or_default();
        super::validate::check(&entry.schema, &args)?;

        let id = {
            use svix_ksuid::KsuidLike as _;
            svix_ksuid::Ksuid::new(None::<std::time::SystemTime>, None).to_string()
        };
        let name = entry.schema.name.clone();
        lock(&self.table).insert(
            id.clone(),
            Record {
                name: name.clone(),
                status: v2::BatonActionStatus::Running,
                response: None,
                annotations: Vec::new(),
            },
            self.capacity,
        );
        info!(action = %name, action_id = %id, "action started");
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let table = self.table.clone();
        let run = (entry.handler)(args);
        let task_id = id.clone();
        tokio::spawn(async move {
            let outcome = match tokio::time::timeout(HANDLER_TIMEOUT, run).await {
                Ok(r) => r,
                Err(_) => Err(ConnectorError::new(
                    crate::baton::Code::Unavailable,
                    format!("the action ran longer than {HANDLER_TIMEOUT:?}"),
                )),
            };
            let (status, response, annotations) = match outcome {
                Ok(reply) => {
                    info!(action_id = %task_id, "action complete");
                    (
                        v2::BatonActionStatus::Complete,
                        reply.response,
                        reply.annotations,
                    )
                }
                Err(e) => {
                    let error = one_line(&e.message);
                    warn!(action_id = %task_id, code = %e.code, %error, "action failed");
                    (
                        v2::BatonActionStatus::Failed,
                        object([("error", Kind::StringValue(e.message))]),
                        Vec::new(),
                    )
                }
            };
            if let Some(r) = lock(&table).records.get_mut(&task_id) {
                r.status = status;
                r.response = Some(response);
                r.annotations = annotations;
            }
            let _ = done_tx.send(());
        });
        let wait = req
            .inline_wait
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(DEFAULT_INLINE_WAIT)
            .min(MAX_INLINE_WAIT);
        let _ = tokio::time::timeout(wait, done_rx).await;
        let record = lock(&self.table).records.get(&id).cloned();
        let record = record.unwrap_or(Record {
            name,
            status: v2::BatonActionStatus::Unknown,
            response: None,
            annotations: Vec::new(),
        });
        Ok(v2::InvokeActionResponse {
            id,
            status: record.status as i32,
            annotations: record.annotations,
            response: record.response,
            name: record.name,
        })
    }

    /// `GetActionStatus`: for ids this process ran and still remembers, else `NotFound`.
    pub fn status(&self, req: &v2::GetActionStatusRequest) -> Result<v2::GetActionStatusResponse> {
        let record = lock(&self.table).records.get(&req.id).cloned();
        let Some(r) = record else {
            return Err(ConnectorError::not_found(format!(
                "no action with id {} ran in this process (the last {} are kept)",
                one_line(&format!("{:?}", req.id)),
                self.capacity
            )));
        };
        Ok(v2::GetActionStatusResponse {
            name: r.name,
            id: req.id.clone(),
            status: r.status as i32,
            annotations: r.annotations,
            response: r.response,
        })
    }
}
