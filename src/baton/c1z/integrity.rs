//! Referential integrity of one sync run: grants must point at what the sync holds.
//!
//! A grant names an entitlement (and through it the entitlement's resource) and a principal
//! resource. A grant whose entitlement or principal is not in the same sync is *dangling*:
//! ConductorOne cannot attach it to anything (the Go SDK's ingest invariant I9 flags it), so a
//! full sync drops it, as the SDK's syncer drops grants into resource types it did not sync.
//! This happens when a type was left out of the sync (`--sync-resource-types user`) or when the
//! application changed between the pages that listed principals and the pages that listed
//! their grants.
//!
//! [`drop_dangling_grants`] finds and deletes them in SQL, one statement per check, using the
//! unique `(external_id, sync_id)` indexes: no table is loaded into memory. It counts what it
//! dropped and why, and keeps a few example ids for the log.

use rusqlite::{Connection, params};

use super::Result;
use super::schema::{ENTITLEMENTS, GRANTS, RESOURCES};

/// How many dropped grant ids [`DanglingGrants::examples`] keeps.
pub const EXAMPLES: usize = 3;

/// Grants a sync dropped because they pointed outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DanglingGrants {
    /// Grants whose entitlement (or the entitlement's resource) is not in the sync.
    pub missing_entitlement: u64,
    /// Grants whose entitlement is there but whose principal resource is not.
    pub missing_principal: u64,
    /// Up to [`EXAMPLES`] ids of dropped grants, as stored (outside text: escape before
    /// showing).
    pub examples: Vec<String>,
}

impl DanglingGrants {
    /// All grants dropped.
    pub fn total(&self) -> u64 {
        self.missing_entitlement + self.missing_principal
    }
}

/// The grants of `sync_id` whose entitlement, entitlement resource or principal resource has
/// no row in the same sync, as SQL conditions on the grants table aliased `g`.
fn missing_entitlement_sql() -> String {
    format!(
        "(not exists (select 1 from {ENTITLEMENTS} e \
              where e.external_id = g.entitlement_id and e.sync_id = g.sync_id) \
          or not exists (select 1 from {RESOURCES} r \
              where r.external_id = g.resource_type_id || ':' || g.resource_id \
              and r.sync_id = g.sync_id))"
    )
}

fn missing_principal_sql() -> String {
    format!(
        "not exists (select 1 from {RESOURCES} p \
             where p.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id \
             and p.sync_id = g.sync_id)"
    )
}

/// Deletes the dangling grants of `sync_id` in one transaction and says what went.
pub(crate) fn drop_dangling_grants(conn: &Connection, sync_id: &str) -> Result<DanglingGrants> {
    let entitlement = missing_entitlement_sql();
    let principal = missing_principal_sql();
    let tx = conn.unchecked_transaction()?;
    let examples: Vec<String> = tx
        .prepare(&format!(
            "select g.external_id from {GRANTS} g where g.sync_id = ?1 \
             and ({entitlement} or {principal}) order by g.id limit ?2"
        ))?
        .query_map(params![sync_id, EXAMPLES as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut dropped = DanglingGrants {
        examples,
        ..DanglingGrants::default()
    };
    if !dropped.examples.is_empty() {
        dropped.missing_entitlement = tx.execute(
            &format!(
                "delete from {GRANTS} where id in (select g.id from {GRANTS} g \
                 where g.sync_id = ?1 and {entitlement})"
            ),
            [sync_id],
        )? as u64;
        dropped.missing_principal = tx.execute(
            &format!(
                "delete from {GRANTS} where id in (select g.id from {GRANTS} g \
                 where g.sync_id = ?1 and {principal})"
            ),
            [sync_id],
        )? as u64;
    }
    tx.commit()?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::c1z::{SyncType, Writer};
    use crate::baton::{ids, resource};
    use crate::pb::v2;

    fn user(id: &str) -> v2::Resource {
        v2::Resource {
            id: Some(ids::resource_id("user", id)),
            display_name: id.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn grants_pointing_outside_the_sync_are_dropped_and_counted() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut w = Writer::open(&dir.path().join("s.c1z")).expect("writer");
        w.start_sync(SyncType::Full).expect("start");
        let group = v2::Resource {
            id: Some(ids::resource_id("group", "g1")),
            ..Default::default()
        };
        w.put_resources(&[user("u1"), group.clone()])
            .expect("resources");
        let member = resource::assignment_entitlement(
            &group,
            "member",
            "m".to_owned(),
            String::new(),
            vec![],
            vec![],
        );
        w.put_entitlements(&[member]).expect("entitlements");
        let gid = group.id.clone().expect("id");
        let u = |id: &str| ids::resource_id("user", id);
        let kept = resource::grant(&gid, "member", &u("u1"));
        let ghost_member = resource::grant(&gid, "member", &u("gone"));
        let no_role = resource::grant(&ids::resource_id("role", "owner"), "assigned", &u("u1"));
        w.put_grants(&[kept.clone(), ghost_member.clone(), no_role.clone()])
            .expect("grants");

        let dropped = w.drop_dangling_grants().expect("drop");
        assert_eq!(dropped.missing_entitlement, 1);
        assert_eq!(dropped.missing_principal, 1);
        assert_eq!(dropped.total(), 2);
        let mut examples = dropped.examples.clone();
        examples.sort();
        let mut want = vec![ghost_member.id.clone(), no_role.id.clone()];
        want.sort();
        assert_eq!(examples, want);
        let stats = w.finish_sync().expect("finish");
        assert_eq!(stats.grants, 1, "only {} is left", kept.id);

        // Nothing to drop: nothing changes.
        w.start_sync(SyncType::Full).expect("start");
        w.put_resources(&[user("u1")]).expect("resources");
        assert_eq!(
            w.drop_dangling_grants().expect("drop"),
            DanglingGrants::default()
        );
    }
}
