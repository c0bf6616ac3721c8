//! `baton-notion inspect`: what one sync of a `.c1z` holds, as a table or as JSON.
//!
//! The sync shown is the one the `baton` CLI would show ([`Reader::latest_sync`]: the newest
//! finished full sync, else a recent unfinished one; failing both, the newest run of any kind),
//! or the run named by `--sync-id`. Works on
//! any v1 `.c1z`, including SDK-written files and unfinished syncs.
//!
//! # JSON shapes (stable; new keys may be added, existing ones keep their meaning)
//! - `stats`: the `baton stats` shape, one flat object with sorted keys:
//!   `{"entitlements": 6, "grants": 10, "resource_types": 3, "<resource type id>": <resources>, …}`
//!   (one key per resource type, zero when the type has no resources).
//! - `syncs`: `{"syncs": [{"id", "sync_type", "started_at", "ended_at" (null while unfinished),
//!   "parent_sync_id" (null unless partial)}]}`, oldest first.
//! - `resource-types`: `{"sync_id", "resource_types": [{"id", "display_name", "traits": ["user"]}]}`.
//! - `resources`: `{"sync_id", "resources": [{"resource_type", "id", "display_name",
//!   "parent" ("type:id" or null), "status" ("enabled"/"disabled"/"deleted" for users, else
//!   null), "login" (users, else null)}]}`.
//! - `entitlements`: `{"sync_id", "entitlements": [{"id", "resource_type", "resource_id",
//!   "display_name", "slug", "purpose" ("assignment"/"permission"/"ownership"/"unspecified")}]}`.
//! - `grants`: `{"sync_id", "grants": [{"id", "entitlement_id", "resource_type", "resource_id",
//!   "principal_type", "principal_id"}]}`.
//!
//! Lists are in storage (insertion) order.
//!
//! # Tables
//! Tables are for people and show outside text safely (see [`super::output`]): every cell is
//! escaped and capped (names at [`NAME_WIDTH`] characters, ids at [`ID_WIDTH`]), and rows are
//! written as they are formatted. JSON keeps every value whole and exact. `-t TYPE` keeps resources and entitlements of that
//! resource type, and grants on entitlements of that resource type; it does not change `stats`
//! or `syncs`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::output::{Column, Format, ID_WIDTH, NAME_WIDTH, Table, json_to, line_to};
use super::{Result, open, read_err, resource_key, select_sync, trait_names};
use crate::baton::annotations::find;
use crate::baton::c1z::{Reader, SyncRun};
use crate::pb::v2;
use crate::text;

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Object counts, as `baton stats` prints them.
    Stats,
    /// Every sync run in the file.
    Syncs,
    /// The resource types of the sync.
    ResourceTypes,
    /// The resources of the sync.
    Resources,
    /// The entitlements of the sync.
    Entitlements,
    /// The grants of the sync.
    Grants,
}

/// Options of [`inspect`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show this sync run instead of the latest.
    pub sync_id: Option<String>,
    /// Only this resource type (resources, entitlements, grants).
    pub resource_type: Option<String>,
    /// Table or JSON.
    pub format: Format,
}

/// Lists `what` from the `.c1z` at `path` into `out`.
///
/// Everything is read before the first byte is written; a failed write is
/// [`super::Error::Write`].
pub fn inspect_to(path: &Path, what: What, opts: &Options, out: &mut dyn Write) -> Result<()> {
    let reader = open(path)?;
    if what == What::Syncs {
        return syncs(&reader, opts.format, out);
    }
    let run = select_sync(&reader, opts.sync_id.as_deref())?;
    let ty = opts.resource_type.as_deref();
    match what {
        What::Stats => stats(&reader, &run, opts.format, out),
        What::Syncs => syncs(&reader, opts.format, out),
        What::ResourceTypes => resource_types(&reader, &run, opts.format, out),
        What::Resources => resources(&reader, &run, ty, opts.format, out),
        What::Entitlements => entitlements(&reader, &run, ty, opts.format, out),
        What::Grants => grants(&reader, &run, ty, opts.format, out),
    }
}

/// [`inspect_to`] into a string (for tests and small outputs).
pub fn inspect(path: &Path, what: What, opts: &Options) -> Result<String> {
    let mut buf = Vec::new();
    inspect_to(path, what, opts, &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The `baton stats` numbers of `run`: `resource_types`, `entitlements`, `grants` and one
/// entry per resource type id.
pub fn stats_map(reader: &Reader, run: &SyncRun) -> Result<BTreeMap<String, u64>> {
    let stats = reader.stats(&run.sync_id).map_err(read_err(reader))?;
    let mut map: BTreeMap<String, u64> = BTreeMap::new();
    for rt in reader
        .resource_types(&run.sync_id)
        .map_err(read_err(reader))?
    {
        map.insert(rt.id, 0);
    }
    for (ty, n) in &stats.resources_by_resource_type {
        map.insert(ty.clone(), *n);
    }
    map.insert("resource_types".into(), stats.resource_types);
    map.insert("entitlements".into(), stats.entitlements);
    map.insert("grants".into(), stats.grants);
    Ok(map)
}

fn stats(reader: &Reader, run: &SyncRun, format: Format, out: &mut dyn Write) -> Result<()> {
    let map = stats_map(reader, run)?;
    if format == Format::Json {
        return Ok(json_to(out, &map)?);
    }
    heading(out, run)?;
    let mut t = Table::new(out, &[Column::id("OBJECTS"), Column::short("COUNT")]);
    let fixed = ["resource_types", "entitlements", "grants"];
    let get = |k: &str| map.get(k).copied().unwrap_or(0).to_string();
    t.row(["resource types".to_owned(), get("resource_types")])?;
    for (k, v) in map.iter().filter(|(k, _)| !fixed.contains(&k.as_str())) {
        t.row([format!("  {k}"), v.to_string()])?;
    }
    t.row(["entitlements".to_owned(), get("entitlements")])?;
    t.row(["grants".to_owned(), get("grants")])?;
    t.finish()?;
    Ok(())
}

/// Writes one line naming the sync a table shows (its fields come from the file: escaped).
fn heading(out: &mut dyn Write, run: &SyncRun) -> std::io::Result<()> {
    let line = format!(
        "sync {} ({}, started {}, {})",
        text::cell(&run.sync_id, ID_WIDTH),
        text::cell(&run.sync_type, ID_WIDTH),
        text::cell(&run.started_at, ID_WIDTH),
        match &run.ended_at {
            Some(e) => format!("ended {}", text::cell(e, ID_WIDTH)),
            None => "unfinished".to_owned(),
        }
    );
    line_to(out, &line, usize::MAX)
}

#[derive(Serialize)]
struct SyncsJson {
    syncs: Vec<SyncJson>,
}

#[derive(Serialize)]
struct SyncJson {
    id: String,
    sync_type: String,
    started_at: String,
    ended_at: Option<String>,
    parent_sync_id: Option<String>,
}

fn syncs(reader: &Reader, format: Format, out: &mut dyn Write) -> Result<()> {
    let runs = reader.syncs().map_err(read_err(reader))?;
    if format == Format::Json {
        let syncs = runs
            .into_iter()
            .map(|r| SyncJson {
                id: r.sync_id,
                sync_type: r.sync_type,
                started_at: r.started_at,
                ended_at: r.ended_at,
                parent_sync_id: Some(r.parent_sync_id).filter(|p| !p.is_empty()),
            })
            .collect();
        return Ok(json_to(out, &SyncsJson { syncs })?);
    }
    let mut t = Table::new(
        out,
        &[
            Column::id("ID"),
            Column::short("TYPE"),
            Column::short("STARTED"),
            Column::short("ENDED"),
        ],
    );
    for r in runs {
        t.row([
            r.sync_id,
            r.sync_type,
            r.started_at,
            r.ended_at.unwrap_or_else(|| "(unfinished)".to_owned()),
        ])?;
    }
    t.finish()?;
    Ok(())
}

#[derive(Serialize)]
struct List<T: Serialize> {
    sync_id: String,
    #[serde(flatten)]
    items: T,
}

/// Writes `{"sync_id": …, "<key>": [items]}`, the JSON shape of every list.
fn list_json<T: Serialize>(
    out: &mut dyn Write,
    run: &SyncRun,
    key: &'static str,
    items: Vec<T>,
) -> Result<()> {
    Ok(json_to(
        out,
        &List {
            sync_id: run.sync_id.clone(),
            items: BTreeMap::from([(key, items)]),
        },
    )?)
}

#[derive(Serialize)]
struct ResourceTypeJson {
    id: String,
    display_name: String,
    traits: Vec<String>,
}

fn resource_types(
    reader: &Reader,
    run: &SyncRun,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let types: Vec<ResourceTypeJson> = reader
        .resource_types(&run.sync_id)
        .map_err(read_err(reader))?
        .into_iter()
        .map(|rt| ResourceTypeJson {
            traits: trait_names(&rt),
            id: rt.id,
            display_name: rt.display_name,
        })
        .collect();
    if format == Format::Json {
        return list_json(out, run, "resource_types", types);
    }
    heading(out, run)?;
    let mut t = Table::new(
        out,
        &[Column::id("ID"), Column::name("NAME"), Column::id("TRAITS")],
    );
    for rt in types {
        t.row([rt.id, rt.display_name, rt.traits.join(",")])?;
    }
    t.finish()?;
    Ok(())
}

#[derive(Serialize)]
struct ResourceJson {
    resource_type: String,
    id: String,
    display_name: String,
    parent: Option<String>,
    status: Option<&'static str>,
    login: Option<String>,
}

/// The user status and login of a resource with a `UserTrait`.
pub(crate) fn user_info(r: &v2::Resource) -> Option<(&'static str, String)> {
    let ut: v2::UserTrait = find(&r.annotations)?;
    #[allow(deprecated)] // the SDK still writes the status here
    let status = ut.status.as_ref().map(|s| s.status).unwrap_or(0);
    let status = match v2::user_trait::status::Status::try_from(status) {
        Ok(v2::user_trait::status::Status::Enabled) => "enabled",
        Ok(v2::user_trait::status::Status::Disabled) => "disabled",
        Ok(v2::user_trait::status::Status::Deleted) => "deleted",
        _ => "unspecified",
    };
    Some((status, ut.login))
}

/// The resource-level status (`enabled`, `disabled`, `deleted`), when one is set.
fn resource_status(r: &v2::Resource) -> Option<&'static str> {
    use v2::status::ResourceStatus as S;
    match S::try_from(r.status.as_ref()?.status).ok()? {
        S::Enabled => Some("enabled"),
        S::Disabled => Some("disabled"),
        S::Deleted => Some("deleted"),
        _ => None,
    }
}

fn resource_json(r: v2::Resource) -> ResourceJson {
    let info = user_info(&r);
    let id = r.id.clone().unwrap_or_default();
    ResourceJson {
        resource_type: id.resource_type,
        id: id.resource,
        parent: r.parent_resource_id.as_ref().map(|p| resource_key(Some(p))),
        // Users: the user trait's status; other resources (tokens, agents): the resource's.
        status: info
            .as_ref()
            .map(|(s, _)| *s)
            .or_else(|| resource_status(&r)),
        login: info.map(|(_, l)| l),
        display_name: r.display_name,
    }
}

fn resources(
    reader: &Reader,
    run: &SyncRun,
    ty: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let list = reader
        .resources(&run.sync_id, ty)
        .map_err(read_err(reader))?;
    if format == Format::Json {
        let list: Vec<ResourceJson> = list.into_iter().map(resource_json).collect();
        return list_json(out, run, "resources", list);
    }
    heading(out, run)?;
    let mut t = Table::new(
        out,
        &[
            Column::id("TYPE"),
            Column::id("ID"),
            Column::name("NAME"),
            Column::short("STATUS"),
            Column::id("PARENT"),
        ],
    );
    // One resource at a time: each is reduced to capped cells and dropped.
    for r in list.into_iter().map(resource_json) {
        t.row([
            r.resource_type.as_str(),
            r.id.as_str(),
            r.display_name.as_str(),
            r.status.unwrap_or(""),
            r.parent.as_deref().unwrap_or(""),
        ])?;
    }
    t.finish()?;
    Ok(())
}

#[derive(Serialize)]
struct EntitlementJson {
    id: String,
    resource_type: String,
    resource_id: String,
    display_name: String,
    slug: String,
    purpose: String,
}

fn entitlements(
    reader: &Reader,
    run: &SyncRun,
    ty: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let list: Vec<EntitlementJson> = reader
        .entitlements(&run.sync_id, None)
        .map_err(read_err(reader))?
        .into_iter()
        .filter_map(|e| {
            let rid = e
                .resource
                .as_ref()
                .and_then(|r| r.id.clone())
                .unwrap_or_default();
            if ty.is_some_and(|t| t != rid.resource_type) {
                return None;
            }
            let purpose = match v2::entitlement::PurposeValue::try_from(e.purpose) {
                Ok(p) => p
                    .as_str_name()
                    .trim_start_matches("PURPOSE_VALUE_")
                    .to_ascii_lowercase(),
                Err(_) => e.purpose.to_string(),
            };
            Some(EntitlementJson {
                id: e.id,
                resource_type: rid.resource_type,
                resource_id: rid.resource,
                display_name: e.display_name,
                slug: e.slug,
                purpose,
            })
        })
        .collect();
    if format == Format::Json {
        return list_json(out, run, "entitlements", list);
    }
    heading(out, run)?;
    let mut t = Table::new(
        out,
        &[
            Column::id("ID"),
            Column::name("NAME"),
            Column::short("SLUG"),
            Column::short("PURPOSE"),
        ],
    );
    for e in list {
        t.row([e.id, e.display_name, e.slug, e.purpose])?;
    }
    t.finish()?;
    Ok(())
}

#[derive(Serialize)]
struct GrantJson {
    id: String,
    entitlement_id: String,
    resource_type: String,
    resource_id: String,
    principal_type: String,
    principal_id: String,
}

fn grants(
    reader: &Reader,
    run: &SyncRun,
    ty: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let list: Vec<GrantJson> = reader
        .grants(&run.sync_id, None)
        .map_err(read_err(reader))?
        .into_iter()
        .filter_map(|g| {
            let ent = g.entitlement.unwrap_or_default();
            let rid = ent.resource.and_then(|r| r.id).unwrap_or_default();
            if ty.is_some_and(|t| t != rid.resource_type) {
                return None;
            }
            let pid = g.principal.and_then(|p| p.id).unwrap_or_default();
            Some(GrantJson {
                id: g.id,
                entitlement_id: ent.id,
                resource_type: rid.resource_type,
                resource_id: rid.resource,
                principal_type: pid.resource_type,
                principal_id: pid.resource,
            })
        })
        .collect();
    if format == Format::Json {
        return list_json(out, run, "grants", list);
    }
    // Names make the table readable; the JSON keeps to ids. Only the shown (capped, escaped)
    // part of each name is kept, so a huge name is held once, briefly, not for the table.
    let names: HashMap<String, String> = reader
        .resources(&run.sync_id, None)
        .map_err(read_err(reader))?
        .into_iter()
        .map(|r| {
            let name = text::cell(&r.display_name, NAME_WIDTH).into_owned();
            (resource_key(r.id.as_ref()), name)
        })
        .collect();
    heading(out, run)?;
    let mut t = Table::new(
        out,
        &[
            Column::id("ENTITLEMENT"),
            Column::id("PRINCIPAL"),
            Column::name("PRINCIPAL NAME"),
        ],
    );
    for g in list {
        let principal = format!("{}:{}", g.principal_type, g.principal_id);
        let name = names.get(&principal).map(String::as_str).unwrap_or("");
        t.row([g.entitlement_id.as_str(), principal.as_str(), name])?;
    }
    t.finish()?;
    Ok(())
}
