//! Provisioning a Notion workspace through SCIM, as one import path for the CLI and the
//! connector: each resource type's syncer owns its own provisioning, re-exported here.
//!
//! - accounts: create ([`super::accounts`]), deprovision ([`super::users`]);
//! - workspace roles: grant / revoke ([`super::roles`]);
//! - group membership: grant / revoke ([`super::groups`]);
//! - shared lookups in [`super::lookup`].
//!
//! Every operation is idempotent and validates its input before any request. Nothing imports
//! this module from inside those, so they do not depend on each other through it.

pub use super::accounts::{
    NewAccount, account_creation_schema, create_account, find_member, is_email, names_from_email,
    new_user, validate_account,
};
pub use super::groups::{grant_membership, revoke_membership};
pub use super::roles::{grant_role, revoke_role};
pub use super::users::{DeprovisionMode, delete_user};
