//! baton-notion: a Baton connector for Notion Enterprise workspaces.
//!
//! It reads members, groups and workspace roles through Notion's SCIM 2.0 API and writes them
//! as a Baton sync artifact (`.c1z`) that ConductorOne and the `baton` CLI read.
//!
//! # Layout
//!
//! Data flows one way: Notion → connector → Baton runtime → artifact. Each layer knows only the
//! ones below it.
//!
//! - [`notion`]: the SCIM client (typed calls, paging, the error envelope). No Baton types.
//! - [`baton`]: the generic Baton runtime: connector traits, the sync engine, the `.c1z` store.
//!   No Notion types.
//! - [`connector`]: the Notion ⇄ Baton mapping; implements [`baton::Connector`].
//! - [`sim`]: a Notion SCIM simulator for tests, benchmarks and `baton-notion demo`.
//! - [`pb`]: protobuf types generated from `proto/` by `build.rs`.
//! - [`ops`]: operator commands over `.c1z` files (`inspect`, `diff`) and the `.baton.yaml`
//!   configuration file; generic Baton data only, no Notion types.
//! - [`bench`]: end-to-end benchmarks (`baton-notion bench`).
//! - [`cli`]: flags, logging and modes; `main` only calls into it.
//! - [`secret`]: the redacted string type for tokens.
//! - [`text`]: outside text made safe to show (control characters escaped, length bounded,
//!   secrets scrubbed).
//!
//! Errors are typed per layer (`notion::Error`, `baton::ConnectorError`, `baton::c1z::Error`,
//! `baton::sync::SyncError`); `anyhow` appears only in [`cli`], which prints the chain once.
#![deny(missing_docs)]

pub mod baton;
pub mod bench;
pub mod cli;
pub mod connector;
pub mod http_body;
pub mod notion;
pub mod ops;
pub mod pb;
pub mod secret;
pub mod sim;
pub mod text;
