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
//! Most syncs have none, and proving that in SQL costs a pass over every grant row (three index
//! lookups each; 1–6 s for 400,000 grants on a loaded two-core machine). So the writer keeps a
//! [`Ledger`]: when the first grant of a sync is stored, it loads the keys of the sync's
//! resources and entitlements from their indexes (64-bit keyed hashes, about 10 bytes each; a
//! resources-only sync never loads them), checks each grant as it is stored, and counts the
//! grants whose entitlement, entitlement resource or principal it does not know. With none,
//! nothing dangles and the SQL pass is skipped. Anything the ledger cannot vouch for (a grant
//! stored before its principal, a hash it has not seen) only sends the sync to the SQL pass,
//! never past it; a hash collision could at worst keep a dangling grant (odds about
//! `resources / 2⁶⁴` per grant, with a key chosen at random per sync).
//!
//! [`drop_dangling_grants`] finds and deletes them in SQL, one statement per check, using the
//! unique `(external_id, sync_id)` indexes: no table is loaded into memory. It counts what it
//! dropped and why, and keeps a few example ids for the log.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher, RandomState};

use rusqlite::types::ValueRef;
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

/// What a writer knows it stored in the current sync, to tell without SQL that no grant
/// dangles (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Loaded when the sync's first grant is stored; `None` before.
    known: Option<Known>,
    /// A grant was stored without being checked.
    unchecked: bool,
}

/// The hashed keys of one sync's resources (`"<type>:<id>"`) and entitlements (their ids).
#[derive(Debug)]
struct Known {
    /// The random key of the hashes.
    hasher: RandomState,
    resources: HashSet<u64>,
    entitlements: HashSet<u64>,
    /// Grants stored with a reference not in the sets.
    suspects: u64,
}

impl Known {
    /// The hash of the concatenated `parts` (a streaming hash: how the key is split does not
    /// matter, so `["user", ":", "1"]` is `["user:1"]`).
    fn key(&self, parts: &[&[u8]]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for p in parts {
            h.write(p);
        }
        h.finish()
    }
}

impl Ledger {
    /// A new sync: forget the last one.
    pub(crate) fn reset(&mut self) {
        self.known = None;
        self.unchecked = false;
    }

    /// Resources `(type, id)` were stored.
    pub(crate) fn resources<'a>(&mut self, ids: impl IntoIterator<Item = (&'a str, &'a str)>) {
        if let Some(k) = &mut self.known {
            for (ty, id) in ids {
                let h = k.key(&[ty.as_bytes(), b":", id.as_bytes()]);
                k.resources.insert(h);
            }
        }
    }

    /// Entitlements `ids` were stored.
    pub(crate) fn entitlements<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        if let Some(k) = &mut self.known {
            for id in ids {
                let h = k.key(&[id.as_bytes()]);
                k.entitlements.insert(h);
            }
        }
    }

    /// Grants are about to be stored: the first time in a sync, loads what `sync_id` holds.
    pub(crate) fn before_grants(&mut self, conn: &Connection, sync_id: &str) -> Result<()> {
        if self.known.is_none() {
            self.known = Some(load(conn, sync_id)?);
        }
        Ok(())
    }

    /// A grant is being stored with these columns: entitlement id, the entitlement's resource
    /// `(type, id)`, the principal `(type, id)`. Call [`before_grants`](Self::before_grants)
    /// first (else the grant counts as unknown).
    pub(crate) fn grant(
        &mut self,
        entitlement: &str,
        resource: (&str, &str),
        principal: (&str, &str),
    ) {
        let Some(k) = &mut self.known else {
            self.unchecked = true;
            return;
        };
        let resource_key = |(ty, id): (&str, &str)| k.key(&[ty.as_bytes(), b":", id.as_bytes()]);
        let known = k.entitlements.contains(&k.key(&[entitlement.as_bytes()]))
            && k.resources.contains(&resource_key(resource))
            && k.resources.contains(&resource_key(principal));
        if !known {
            k.suspects += 1;
        }
    }

    /// Whether every grant stored in this sync pointed at a resource and an entitlement it
    /// holds (true when none was stored).
    pub(crate) fn all_known(&self) -> bool {
        !self.unchecked && self.known.as_ref().is_none_or(|k| k.suspects == 0)
    }
}

/// The hashed keys of what `sync_id` holds, read from the `(external_id, sync_id)` indexes.
fn load(conn: &Connection, sync_id: &str) -> Result<Known> {
    let mut known = Known {
        hasher: RandomState::new(),
        resources: HashSet::new(),
        entitlements: HashSet::new(),
        suspects: 0,
    };
    for (table, into_resources) in [(RESOURCES, true), (ENTITLEMENTS, false)] {
        let mut stmt = conn.prepare(&format!(
            "select external_id from {table} where sync_id = ?1"
        ))?;
        let mut rows = stmt.query([sync_id])?;
        while let Some(row) = rows.next()? {
            // Keys are text; anything else is simply not known (the SQL pass will look).
            let ValueRef::Text(key) = row.get_ref(0)? else {
                continue;
            };
            let h = known.key(&[key]);
            if into_resources {
                known.resources.insert(h);
            } else {
                known.entitlements.insert(h);
            }
        }
    }
    Ok(known)
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

/// Deletes the dangling grants of `sync_id` in one transaction and says what went; skipped
/// when `ledger` vouches for every grant.
pub(crate) fn drop_dangling_grants(
    conn: &Connection,
    sync_id: &str,
    ledger: &Ledger,
) -> Result<DanglingGrants> {
    if ledger.all_known() {
        return Ok(DanglingGrants::default());
    }
    drop_in_sql(conn, sync_id)
}

/// The SQL pass of [`drop_dangling_grants`].
fn drop_in_sql(conn: &Connection, sync_id: &str) -> Result<DanglingGrants> {
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

    /// A group `g1` with a `member` entitlement, and users `users`.
    fn workspace(w: &mut Writer, users: &[&str]) -> v2::ResourceId {
        let group = v2::Resource {
            id: Some(ids::resource_id("group", "g1")),
            ..Default::default()
        };
        let mut resources: Vec<v2::Resource> = users.iter().map(|u| user(u)).collect();
        resources.push(group.clone());
        w.put_resources(&resources).expect("resources");
        let member = resource::assignment_entitlement(
            &group,
            "member",
            "m".to_owned(),
            String::new(),
            vec![],
            vec![],
        );
        w.put_entitlements(&[member]).expect("entitlements");
        group.id.expect("id")
    }

    #[test]
    fn the_ledger_vouches_for_clean_grants_and_only_for_them() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut w = Writer::open(&dir.path().join("s.c1z")).expect("writer");
        w.start_sync(SyncType::Full).expect("start");
        let gid = workspace(&mut w, &["u1", "u2"]);
        let u = |id: &str| ids::resource_id("user", id);
        w.put_grants(&[resource::grant(&gid, "member", &u("u1"))])
            .expect("grants");
        // A resource stored after the first grant is known too.
        w.put_resources(&[user("u3")]).expect("resources");
        w.put_grants(&[
            resource::grant(&gid, "member", &u("u2")),
            resource::grant(&gid, "member", &u("u3")),
        ])
        .expect("grants");
        assert!(w.ledger().all_known(), "every grant points inside the sync");
        // The SQL pass agrees (it opens its own transaction: commit the writer's group first).
        w.commit().expect("commit");
        let sync_id = w.current_sync().expect("sync").as_str().to_owned();
        assert_eq!(
            drop_in_sql(w.connection(), &sync_id).expect("sql"),
            DanglingGrants::default()
        );

        // One grant to a principal the sync does not hold: the ledger no longer vouches.
        w.put_grants(&[resource::grant(&gid, "member", &u("gone"))])
            .expect("grants");
        assert!(!w.ledger().all_known());
        assert_eq!(w.drop_dangling_grants().expect("drop").total(), 1);

        // A new sync starts with a clean ledger.
        w.finish_sync().expect("finish");
        w.start_sync(SyncType::Full).expect("start");
        assert!(w.ledger().all_known());
    }

    #[test]
    fn a_grant_stored_before_its_principal_goes_to_the_sql_pass_and_stays() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut w = Writer::open(&dir.path().join("s.c1z")).expect("writer");
        w.start_sync(SyncType::Full).expect("start");
        let gid = workspace(&mut w, &["u1"]);
        let late = ids::resource_id("user", "late");
        w.put_grants(&[resource::grant(&gid, "member", &late)])
            .expect("grants");
        assert!(!w.ledger().all_known(), "unknown when stored");
        w.put_resources(&[user("late")]).expect("resources");
        assert_eq!(
            w.drop_dangling_grants().expect("drop"),
            DanglingGrants::default(),
            "the principal is there by the end: nothing dangles"
        );
        assert_eq!(w.finish_sync().expect("finish").grants, 1);
    }
}
