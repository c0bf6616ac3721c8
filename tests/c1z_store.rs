//! Acceptance tests of the `.c1z` store (`baton::c1z`): reading the Go SDK's files, the exact
//! byte layout of what the writer produces, appending and retention, atomicity, determinism.
//!
//! Fixtures in `tests/fixtures/` are real files written by the Go Baton SDK (copied from
//! `shared/fixtures/c1z/`), so these tests run in a clean clone.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use baton_notion::baton::c1z::{
    self, ContainerFormat, Error, Reader, SyncStats, SyncType, Writer, read_container_header,
};
use baton_notion::pb::v2::{
    Entitlement, Grant, GrantExpandable, Resource, ResourceId, ResourceType, resource_type::Trait,
};
use prost::Message;
use rusqlite::Connection;

const REFERENCE: &str = "go-baton-notion-reference.c1z";
const UNEXPANDED: &str = "sdk-full-sync-unexpanded.c1z";
const IN_PROGRESS: &str = "sdk-sync-in-progress.c1z";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A copy of a fixture in a fresh temp dir (fixtures themselves are never written).
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::copy(fixture(name), &path).unwrap();
    (dir, path)
}

fn dir_entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A small workspace, shaped like the reference dataset.

fn rid(ty: &str, id: &str) -> ResourceId {
    ResourceId {
        resource_type: ty.into(),
        resource: id.into(),
        ..Default::default()
    }
}

fn resource(ty: &str, id: &str, name: &str) -> Resource {
    Resource {
        id: Some(rid(ty, id)),
        display_name: name.into(),
        ..Default::default()
    }
}

fn resource_types() -> Vec<ResourceType> {
    [
        ("user", Trait::User),
        ("group", Trait::Group),
        ("role", Trait::Role),
    ]
    .into_iter()
    .map(|(id, t)| ResourceType {
        id: id.into(),
        display_name: id.to_uppercase(),
        traits: vec![t as i32],
        ..Default::default()
    })
    .collect()
}

struct Dataset {
    resource_types: Vec<ResourceType>,
    resources: Vec<Resource>,
    entitlements: Vec<Entitlement>,
    grants: Vec<Grant>,
}

fn dataset() -> Dataset {
    let users: Vec<Resource> = ["1111", "2222", "3333"]
        .iter()
        .map(|id| resource("user", id, &format!("User {id}")))
        .collect();
    let mut group = resource("group", "aaaa", "Engineering");
    group.description = "the engineers".into();
    // A resource with a parent, to exercise the parent columns.
    let mut role = resource("role", "owner", "Owner");
    role.parent_resource_id = Some(rid("group", "aaaa"));

    let member = Entitlement {
        id: "group:aaaa:member".into(),
        resource: Some(group.clone()),
        display_name: "Engineering member".into(),
        slug: "member".into(),
        ..Default::default()
    };
    let assigned = Entitlement {
        id: "role:owner:assigned".into(),
        resource: Some(role.clone()),
        slug: "assigned".into(),
        ..Default::default()
    };
    let mut grants: Vec<Grant> = users
        .iter()
        .map(|u| Grant {
            id: format!("group:aaaa:member:user:{}", u.id.as_ref().unwrap().resource),
            entitlement: Some(member.clone()),
            principal: Some(u.clone()),
            ..Default::default()
        })
        .collect();
    grants.push(Grant {
        id: "role:owner:assigned:user:1111".into(),
        entitlement: Some(assigned.clone()),
        principal: Some(users[0].clone()),
        ..Default::default()
    });
    let mut resources = users;
    resources.push(group);
    resources.push(role);
    Dataset {
        resource_types: resource_types(),
        resources,
        entitlements: vec![member, assigned],
        grants,
    }
}

/// A grant carrying a `GrantExpandable` annotation, and what `data` must hold for it.
fn expandable_grant() -> (Grant, Grant, GrantExpandable) {
    let ds = dataset();
    let expandable = GrantExpandable {
        entitlement_ids: vec!["group:aaaa:member".into()],
        ..Default::default()
    };
    let stored = Grant {
        id: "role:owner:assigned:group:aaaa".into(),
        entitlement: Some(ds.entitlements[1].clone()),
        principal: Some(ds.resources[3].clone()),
        ..Default::default()
    };
    let mut put = stored.clone();
    put.annotations.push(prost_types::Any {
        type_url: "type.googleapis.com/c1.connector.v2.GrantExpandable".into(),
        value: expandable.encode_to_vec(),
    });
    (put, stored, expandable)
}

/// Writes one finished sync of `ds` into `out` and saves; returns the sync id.
fn write_sync(out: &Path, ds: &Dataset, ty: SyncType) -> String {
    let mut w = Writer::open(out).unwrap();
    let id = w.start_sync(ty).unwrap();
    w.put_resource_types(&ds.resource_types).unwrap();
    w.put_resources(&ds.resources).unwrap();
    w.put_entitlements(&ds.entitlements).unwrap();
    w.put_grants(&ds.grants).unwrap();
    w.finish_sync().unwrap();
    w.save().unwrap();
    id.to_string()
}

fn unpack(c1z: &Path) -> Vec<u8> {
    let bytes = fs::read(c1z).unwrap();
    zstd::stream::decode_all(&bytes[5..]).unwrap()
}

/// The database inside a c1z, written to `dir/name` and opened.
fn open_db(c1z: &Path, dir: &Path) -> Connection {
    let db = dir.join("inspect.db");
    fs::write(&db, unpack(c1z)).unwrap();
    Connection::open(db).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Reading the SDK's files.

#[test]
fn reader_opens_the_reference_fixture() {
    let r = Reader::open(&fixture(REFERENCE)).unwrap();
    let syncs = r.syncs().unwrap();
    assert_eq!(syncs.len(), 1);
    let run = &syncs[0];
    assert_eq!(run.sync_id, "3MXJLCeAzdyH5Fv3yoo5pkvwYmm");
    assert_eq!(run.sync_type, "full");
    assert_eq!(
        run.ended_at.as_deref(),
        Some("2026-11-24 03:28:41.010613611")
    );
    assert!(run.supports_diff);
    assert_eq!(r.latest_sync().unwrap().as_ref(), Some(run));

    let id = run.sync_id.as_str();
    let types: BTreeSet<String> = r
        .resource_types(id)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["group", "role", "user"].map(String::from))
    );
    assert_eq!(r.resources(id, None).unwrap().len(), 11);
    assert_eq!(r.resources(id, Some("user")).unwrap().len(), 5);
    let entitlements = r.entitlements(id, None).unwrap();
    assert_eq!(entitlements.len(), 6);
    assert!(
        entitlements
            .iter()
            .any(|e| e.id == "group:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:member")
    );
    let grants = r.grants(id, None).unwrap();
    assert_eq!(grants.len(), 10);
    assert!(grants.iter().any(|g| g.id
        == "group:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:member:user:11111111-1111-1111-1111-111111111111"));

    // Filters agree with the full listings.
    let engineering = rid("group", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
    let group_ents = r.entitlements(id, Some(&engineering)).unwrap();
    assert!(!group_ents.is_empty());
    let per_entitlement: usize = entitlements
        .iter()
        .map(|e| r.grants(id, Some(&e.id)).unwrap().len())
        .sum();
    assert_eq!(per_entitlement, 10);

    // Counted stats equal the stored ones.
    let counted = r.stats(id).unwrap();
    assert_eq!(Some(&counted), run.stats.as_ref());
    assert_eq!(
        (
            counted.resource_types,
            counted.resources,
            counted.entitlements,
            counted.grants
        ),
        (3, 11, 6, 10)
    );
}

#[test]
fn reader_lists_everything_in_the_older_sdk_fixtures() {
    for name in [UNEXPANDED, IN_PROGRESS] {
        let r = Reader::open(&fixture(name)).unwrap();
        let syncs = r.syncs().unwrap();
        assert!(!syncs.is_empty(), "{name}");
        let mut rows = 0;
        for run in &syncs {
            assert_eq!(run.ended_at, None, "{name}: the run is unfinished");
            assert!(!run.supports_diff, "{name}: column absent or 0");
            let id = run.sync_id.as_str();
            let stats = r.stats(id).unwrap();
            let rt = r.resource_types(id).unwrap().len() as u64;
            let res = r.resources(id, None).unwrap().len() as u64;
            let ents = r.entitlements(id, None).unwrap().len() as u64;
            let grants = r.grants(id, None).unwrap().len() as u64;
            assert_eq!(
                (
                    stats.resource_types,
                    stats.resources,
                    stats.entitlements,
                    stats.grants
                ),
                (rt, res, ents, grants),
                "{name}"
            );
            rows += rt + res + ents + grants;
        }
        assert!(rows > 0, "{name}");
        if name == UNEXPANDED {
            assert!(rows > 4000, "{name}: {rows} rows");
        }
        // Whatever the clock says, choosing the latest run must not fail.
        r.latest_sync().unwrap();
    }
}

#[test]
fn reader_refuses_what_is_not_a_v1_c1z() {
    let dir = tempfile::tempdir().unwrap();
    let v3 = dir.path().join("v3.c1z");
    fs::write(&v3, b"C1Z3\0pebble bytes").unwrap();
    let err = Reader::open(&v3).unwrap_err();
    assert!(matches!(err, Error::UnsupportedFormatV3 { .. }), "{err}");
    assert!(err.to_string().contains("Pebble"), "{err}");
    assert_eq!(
        read_container_header(&v3).unwrap().format,
        ContainerFormat::V3
    );

    let junk = dir.path().join("junk.c1z");
    fs::write(&junk, b"{\"not\": \"a c1z\"}").unwrap();
    assert!(matches!(Reader::open(&junk), Err(Error::NotC1z { .. })));
    let empty = dir.path().join("empty.c1z");
    fs::write(&empty, b"").unwrap();
    assert!(matches!(Reader::open(&empty), Err(Error::NotC1z { .. })));
}

// ---------------------------------------------------------------------------------------------
// 2. What the writer produces.

const SPEC_TABLES: [&str; 7] = [
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_sync_runs",
    "v1_assets",
    "v1_connector_sessions",
];

const SPEC_INDEXES: [&str; 16] = [
    "idx_resource_types_external_sync_v1",
    "idx_resources_resource_type_id_v1",
    "idx_resources_external_sync_v1",
    "idx_resources_parent_resource_id_v1",
    "idx_entitlements_resource_id_v1",
    "idx_entitlements_external_sync_v1",
    "idx_grants_resource_type_id_resource_id_v1",
    "idx_grants_principal_id_v1",
    "idx_grants_entitlement_id_principal_id_v1",
    "idx_grants_external_sync_v1",
    "idx_grants_entitlement_sync_grant_v1",
    "idx_grants_sync_expansion_v1",
    "idx_grants_sync_needs_expansion_v1",
    "idx_sync_runs_sync_id_v1",
    "idx_assets_external_sync_v1",
    "idx_session_store_sync_key_v1",
];

#[test]
fn writer_output_matches_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.c1z");
    let ds = dataset();
    let (expandable_put, expandable_stored, expandable) = expandable_grant();

    let mut w = Writer::open(&out).unwrap();
    let sync_id = w.start_sync(SyncType::Full).unwrap();
    assert_eq!(sync_id.as_str().len(), 27);
    w.put_resource_types(&ds.resource_types).unwrap();
    // In two batches, as the engine sends pages.
    w.put_resources(&ds.resources[..2]).unwrap();
    w.put_resources(&ds.resources[2..]).unwrap();
    w.put_entitlements(&ds.entitlements).unwrap();
    w.put_grants(&ds.grants).unwrap();
    w.put_grants(std::slice::from_ref(&expandable_put)).unwrap();
    w.set_sync_token(r#"{"step":"done"}"#).unwrap();
    let stats = w.finish_sync().unwrap();
    let report = w.save().unwrap();
    assert_eq!(report.path, out);

    // Only the artifact is left in the directory.
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["sync.c1z".to_string()])
    );

    // Container: magic + exactly one zstd frame with content size and checksum.
    let bytes = fs::read(&out).unwrap();
    assert_eq!(report.bytes_written, bytes.len() as u64);
    assert_eq!(&bytes[..5], b"C1ZF\0");
    let frame = &bytes[5..];
    assert_eq!(
        zstd::zstd_safe::find_frame_compressed_size(frame).unwrap(),
        frame.len(),
        "exactly one zstd frame"
    );
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(frame).unwrap(),
        Some(report.db_bytes)
    );
    let header = read_container_header(&out).unwrap();
    assert_eq!(header.format, ContainerFormat::V1);
    assert_eq!(header.frame_content_size, Some(report.db_bytes));
    assert!(header.content_checksum);
    assert!(header.window_size.unwrap() <= 8 << 20);

    // Database: page size 4096, rollback journal (file format bytes 1/1, not WAL's 2/2).
    let db = unpack(&out);
    assert_eq!(db.len() as u64, report.db_bytes);
    assert_eq!(&db[..16], b"SQLite format 3\0");
    assert_eq!(u16::from_be_bytes([db[16], db[17]]), 4096);
    assert_eq!((db[18], db[19]), (1, 1));

    let r = Reader::open(&out).unwrap();
    let schema = r.schema().unwrap();
    let names = |ty: &str| -> BTreeSet<String> {
        schema
            .iter()
            .filter(|(t, _)| t == ty)
            .map(|(_, n)| n.clone())
            .collect()
    };
    assert_eq!(names("table"), SPEC_TABLES.map(String::from).into());
    assert_eq!(names("index"), SPEC_INDEXES.map(String::from).into());
    assert_eq!(schema.len(), SPEC_TABLES.len() + SPEC_INDEXES.len());

    let conn = open_db(&out, dir.path());
    let mode: String = conn
        .query_row("pragma journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_ne!(mode, "wal");
    let page_size: i64 = conn
        .query_row("pragma page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 4096);

    // The sync run.
    let (ended, supports_diff, backfilled, stats_json, token, ty): (
        Option<String>,
        i64,
        i64,
        String,
        String,
        String,
    ) = conn
        .query_row(
            "select ended_at, supports_diff, grants_backfilled, stats, sync_token, sync_type \
             from v1_sync_runs where sync_id = ?1",
            [sync_id.as_str()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert!(ended.is_some());
    assert_eq!((supports_diff, backfilled), (1, 1));
    assert_eq!(token, r#"{"step":"done"}"#);
    assert_eq!(ty, "full");
    assert_eq!(
        stats_json,
        r#"{"resource_types":3,"resources":5,"entitlements":2,"grants":5,"resources_by_resource_type":{"group":1,"role":1,"user":3},"grants_by_resource_type":{"group":3,"role":2}}"#
    );
    assert_eq!(SyncStats::from_json(&stats_json), Some(stats.clone()));

    // Timestamps: local time, no zone, trailing fractional zeros trimmed.
    let times: Vec<String> = conn
        .prepare(
            "select started_at from v1_sync_runs union all select ended_at from v1_sync_runs \
             union all select discovered_at from v1_resources",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for t in &times {
        assert!(
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").is_ok(),
            "{t}"
        );
        assert!(t.len() == 19 || !t.ends_with('0'), "{t}");
    }

    // Key columns.
    let role_parent: (Option<String>, Option<String>) = conn
        .query_row(
            "select parent_resource_type_id, parent_resource_id from v1_resources \
             where external_id = 'role:owner'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(role_parent, (Some("group".into()), Some("aaaa".into())));
    let user_parent: Option<String> = conn
        .query_row(
            "select parent_resource_type_id from v1_resources where external_id = 'user:1111'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(user_parent, None);
    let (expansion, needs): (Option<Vec<u8>>, i64) = conn
        .query_row(
            "select expansion, needs_expansion from v1_grants where external_id = ?1",
            [&expandable_put.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(expansion, Some(expandable.encode_to_vec()));
    assert_eq!(needs, 1);
    let plain_expansions: i64 = conn
        .query_row(
            "select count(*) from v1_grants where expansion is null and needs_expansion = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain_expansions, 4);

    // Round trip: what was put is what is read.
    let id = sync_id.as_str();
    assert_eq!(r.resource_types(id).unwrap(), ds.resource_types);
    assert_eq!(r.resources(id, None).unwrap(), ds.resources);
    assert_eq!(r.resources(id, Some("user")).unwrap(), ds.resources[..3]);
    assert_eq!(r.entitlements(id, None).unwrap(), ds.entitlements);
    let mut grants = ds.grants.clone();
    grants.push(expandable_stored);
    assert_eq!(r.grants(id, None).unwrap(), grants);
    assert_eq!(r.stats(id).unwrap(), stats);
    assert_eq!(r.latest_sync().unwrap().unwrap().sync_id, id);
}

// ---------------------------------------------------------------------------------------------
// 3. Appending and retention.

#[test]
fn syncs_append_and_only_the_newest_two_full_syncs_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.c1z");
    let ds = dataset();

    let a = write_sync(&out, &ds, SyncType::Full);
    let b = write_sync(&out, &ds, SyncType::Full);
    let r = Reader::open(&out).unwrap();
    let ids: Vec<String> = r.syncs().unwrap().into_iter().map(|s| s.sync_id).collect();
    assert_eq!(ids, [a.clone(), b.clone()]);
    assert_eq!(r.resources(&a, None).unwrap(), ds.resources);
    assert_eq!(r.latest_sync().unwrap().unwrap().sync_id, b);
    drop(r);

    // Runs that are not finished full syncs are never removed by retention.
    let partial = write_sync(&out, &ds, SyncType::ResourcesOnly);
    let unfinished = {
        let mut w = Writer::open(&out).unwrap();
        let id = w.start_sync(SyncType::Full).unwrap();
        w.put_resources(&ds.resources).unwrap();
        w.save().unwrap();
        id.to_string()
    };

    let c = write_sync(&out, &ds, SyncType::Full);
    let r = Reader::open(&out).unwrap();
    let ids: Vec<String> = r.syncs().unwrap().into_iter().map(|s| s.sync_id).collect();
    assert_eq!(
        ids,
        [b.clone(), partial.clone(), unfinished.clone(), c.clone()]
    );
    // Every row of the oldest sync is gone.
    assert_eq!(r.stats(&a).unwrap(), SyncStats::default());
    let conn = open_db(&out, dir.path());
    for table in SPEC_TABLES {
        let n: i64 = conn
            .query_row(
                &format!("select count(*) from {table} where sync_id = ?1"),
                [&a],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(r.resources(&b, None).unwrap(), ds.resources);
    assert_eq!(r.resources(&unfinished, None).unwrap(), ds.resources);
    let latest = r.latest_sync().unwrap().unwrap();
    assert_eq!(latest.sync_id, c);
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["sync.c1z".to_string(), "inspect.db".to_string()])
    );
}

#[test]
fn writer_appends_to_every_sdk_fixture() {
    for name in [REFERENCE, UNEXPANDED, IN_PROGRESS] {
        let (dir, out) = fixture_copy(name);
        let before: Vec<String> = Reader::open(&out)
            .unwrap()
            .syncs()
            .unwrap()
            .into_iter()
            .map(|s| s.sync_id)
            .collect();
        let new = write_sync(&out, &dataset(), SyncType::Full);
        let r = Reader::open(&out).unwrap();
        let runs = r.syncs().unwrap();
        let mut expected = before.clone();
        expected.push(new.clone());
        assert_eq!(
            runs.iter().map(|s| s.sync_id.clone()).collect::<Vec<_>>(),
            expected,
            "{name}"
        );
        // The old runs are still readable, and the new one is the latest.
        for old in &before {
            r.grants(old, None).unwrap();
        }
        assert_eq!(r.latest_sync().unwrap().unwrap().sync_id, new, "{name}");
        assert_eq!(
            r.resources(&new, None).unwrap(),
            dataset().resources,
            "{name}"
        );
        assert_eq!(dir_entries(dir.path()), BTreeSet::from([name.to_string()]));
        // The older schemas gained the new columns; the file is no longer in WAL mode.
        let db = unpack(&out);
        assert_eq!((db[18], db[19]), (1, 1), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Atomicity.

#[test]
fn dropping_a_writer_leaves_the_artifact_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.c1z");
    write_sync(&out, &dataset(), SyncType::Full);
    let before = fs::read(&out).unwrap();

    {
        let mut w = Writer::open(&out).unwrap();
        w.start_sync(SyncType::Full).unwrap();
        w.put_resource_types(&resource_types()).unwrap();
        w.put_resources(&dataset().resources).unwrap();
        // A work dir and the lock file exist while the writer is alive…
        assert_eq!(dir_entries(dir.path()).len(), 3);
    }
    // …and nothing but the untouched artifact after it is dropped.
    assert_eq!(fs::read(&out).unwrap(), before);
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["sync.c1z".to_string()])
    );

    // Without an existing artifact, dropping leaves the directory empty.
    let fresh = dir.path().join("fresh.c1z");
    let mut w = Writer::open(&fresh).unwrap();
    w.start_sync(SyncType::Full).unwrap();
    drop(w);
    assert!(!fresh.exists());
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["sync.c1z".to_string()])
    );
}

#[test]
fn a_writer_refuses_an_unreadable_artifact_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.c1z");
    write_sync(&good, &dataset(), SyncType::Full);
    let good_bytes = fs::read(&good).unwrap();
    let mut truncated = good_bytes.clone();
    truncated.truncate(good_bytes.len() - 10);

    let cases: [(&str, Vec<u8>); 5] = [
        ("garbage.c1z", b"this is not a c1z file at all".to_vec()),
        ("empty.c1z", Vec::new()),
        ("v3.c1z", b"C1Z3\0pebble".to_vec()),
        ("truncated.c1z", truncated),
        ("plain.zst.c1z", {
            let mut v = b"C1ZF\0".to_vec();
            v.extend(zstd::stream::encode_all(&b"not sqlite"[..], 3).unwrap());
            v
        }),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        fs::write(&path, &content).unwrap();
        let err = Writer::open(&path).unwrap_err();
        let expected = match name {
            "garbage.c1z" | "empty.c1z" => matches!(err, Error::NotC1z { .. }),
            "v3.c1z" => matches!(err, Error::UnsupportedFormatV3 { .. }),
            "truncated.c1z" => matches!(err, Error::Decompress { .. }),
            _ => matches!(err, Error::NotSqlite { .. }),
        };
        assert!(expected, "{name}: {err}");
        assert!(err.to_string().contains(name), "{name}: {err}");
        assert_eq!(fs::read(&path).unwrap(), content, "{name}");
        fs::remove_file(&path).unwrap();
    }
    assert_eq!(fs::read(&good).unwrap(), good_bytes);
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["good.c1z".to_string()])
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Determinism.

#[test]
fn the_same_protos_give_the_same_data_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.c1z");
    let mut ds = dataset();
    // Maps inside protos (profiles are Structs) must serialize in a stable order.
    let mut profile = prost_types::Struct::default();
    for (k, v) in [("zeta", 1.0), ("alpha", 2.0), ("mid", 3.0)] {
        profile.fields.insert(
            k.into(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(v)),
            },
        );
    }
    ds.resources[0].profile = Some(profile);
    let a = write_sync(&out, &ds, SyncType::Full);
    let b = write_sync(&out, &ds, SyncType::Full);

    let conn = open_db(&out, dir.path());
    for table in [
        "v1_resource_types",
        "v1_resources",
        "v1_entitlements",
        "v1_grants",
    ] {
        let data = |sync: &str| -> Vec<(String, Vec<u8>)> {
            conn.prepare(&format!(
                "select external_id, data from {table} where sync_id = ?1 order by external_id"
            ))
            .unwrap()
            .query_map([sync], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        let (da, db) = (data(&a), data(&b));
        assert!(!da.is_empty(), "{table}");
        assert_eq!(da, db, "{table}");
    }
}

#[test]
fn sync_ids_are_ksuids_and_types_have_stored_names() {
    let ids: BTreeSet<String> = (0..100)
        .map(|_| c1z::SyncId::generate().to_string())
        .collect();
    assert_eq!(ids.len(), 100);
    assert!(
        ids.iter()
            .all(|id| id.len() == 27 && id.chars().all(|c| c.is_ascii_alphanumeric()))
    );
    assert_eq!(SyncType::Full.as_str(), "full");
    assert_eq!(SyncType::ResourcesOnly.as_str(), "resources_only");
    assert_eq!(SyncType::Partial.as_str(), "partial");
}

#[test]
fn store_types_can_move_to_a_writer_thread() {
    fn send<T: Send>() {}
    send::<Writer>();
    send::<Reader>();
    send::<Error>();
}

/// The columns a sync's rows hold apart from their sync and time (what must not depend on how
/// the artifact was saved), per table, ordered by `external_id`.
fn sync_rows(conn: &Connection, sync_id: &str) -> Vec<(String, Vec<Vec<u8>>)> {
    let tables = [
        ("v1_resource_types", "external_id, data"),
        (
            "v1_resources",
            "external_id, resource_type_id, parent_resource_type_id, parent_resource_id, data",
        ),
        (
            "v1_entitlements",
            "external_id, resource_type_id, resource_id, data",
        ),
        (
            "v1_grants",
            "external_id, resource_type_id, resource_id, entitlement_id, \
             principal_resource_type_id, principal_resource_id, expansion, needs_expansion, data",
        ),
    ];
    let mut out = Vec::new();
    for (table, columns) in tables {
        let n = columns.split(',').count();
        let mut stmt = conn
            .prepare(&format!(
                "select {columns} from {table} where sync_id = ?1 order by external_id"
            ))
            .unwrap();
        let rows = stmt
            .query_map([sync_id], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => b"<null>".to_vec(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string().into_bytes(),
                            v => v.as_bytes_or_null()?.unwrap_or_default().to_vec(),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap();
        for row in rows {
            out.push((table.to_owned(), row.unwrap()));
        }
    }
    out
}

/// What `VACUUM` would guarantee of the database inside a c1z: 4096-byte pages, the rollback
/// journal (no WAL) in the header, no free pages, and a database SQLite finds intact.
fn assert_self_contained(c1z: &Path, dir: &Path) {
    let bytes = unpack(c1z);
    assert_eq!(&bytes[..16], b"SQLite format 3\0");
    assert_eq!(
        u16::from_be_bytes([bytes[16], bytes[17]]),
        4096,
        "page size"
    );
    assert_eq!((bytes[18], bytes[19]), (1, 1), "rollback journal, not WAL");
    let conn = open_db(c1z, dir);
    let free: i64 = conn
        .query_row("pragma freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0, "free pages");
    let check: String = conn
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// A fresh artifact is saved without the compaction copy, an appended one with it: both must
/// read back the same rows, through the reader and in SQL, and both must be self-contained.
#[test]
fn a_fresh_and_an_appended_artifact_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset();
    let (put, _, _) = expandable_grant();
    let mut ds_with_expandable = dataset();
    ds_with_expandable.grants.push(put);
    let fresh = dir.path().join("fresh.c1z");
    let appended = dir.path().join("appended.c1z");
    // An artifact with no sync in it yet, so the one below is appended to it.
    Writer::open(&appended).unwrap().save().unwrap();
    let a = write_sync(&fresh, &ds_with_expandable, SyncType::Full);
    let b = write_sync(&appended, &ds_with_expandable, SyncType::Full);

    let (ra, rb) = (
        Reader::open(&fresh).unwrap(),
        Reader::open(&appended).unwrap(),
    );
    assert_eq!(ra.resources(&a, None).unwrap(), ds.resources);
    assert_eq!(rb.resources(&b, None).unwrap(), ds.resources);
    assert_eq!(ra.stats(&a).unwrap(), rb.stats(&b).unwrap());
    drop((ra, rb));
    let rows_a = sync_rows(&open_db(&fresh, dir.path()), &a);
    let rows_b = sync_rows(&open_db(&appended, dir.path()), &b);
    assert_eq!(rows_a.len(), 3 + 5 + 2 + 5);
    assert_eq!(rows_a, rows_b);
    assert_self_contained(&fresh, dir.path());
    assert_self_contained(&appended, dir.path());
}
