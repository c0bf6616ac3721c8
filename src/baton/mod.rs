//! The generic Baton runtime. Not a word of Notion in here: this module could be its own crate.
//!
//! - [`connector`]: the traits an application connector implements; [`actions`]: the actions
//!   it may declare (`ActionService`), with argument validation and status tracking.
//! - [`client`]: the protocol-shaped interface the engine drives, and the in-process adapter.
//! - [`sync`]: the sync engine, in the Go SDK's order, into a `.c1z`.
//! - [`c1z`]: the artifact store (SQLite inside zstd), writer and reader.
//! - [`ids`], [`annotations`], [`resource`]: id formats, `Any` packing, resource builders;
//!   [`bid`]: resource references as the SDK's `--sync-resources` takes them.
//! - [`error`]: the error a connector reports, with its protocol code.
//! - [`server`]: the `c1.connector.v2` gRPC services over any [`ConnectorClient`];
//!   [`remote`]: a [`ConnectorClient`] over a gRPC channel to any Baton connector server.
//! - [`service`]: service mode, a daemon that ConductorOne drives over `BatonService`.
//! - [`ratelimit`]: rate-limit hints in gRPC error details and the `RateLimiterService`.
//! - [`schema`]: protojson output (`capabilities`, `config`) from the proto descriptors.

pub mod actions;
pub mod annotations;
pub mod bid;
pub mod c1z;
pub mod client;
pub mod connector;
pub mod error;
pub mod ids;
pub mod provision;
pub mod ratelimit;
pub mod remote;
pub mod resource;
pub mod schema;
pub mod server;
pub mod service;
pub mod sync;

pub use client::{ConnectorClient, Local};
pub use connector::{Connector, Page, PageRequest, ResourceSyncer};
pub use error::{Code, ConnectorError};
