//! The table and JSON renderings of a [`DiffReport`] (see the parent module for both shapes).

use std::io::{self, Write};

use super::{Change, DiffReport, Subject, SyncRef};
use crate::ops::output::{Column, Format, ID_WIDTH, NAME_WIDTH, Table, json_to, line_to};
use crate::text;

impl Subject {
    /// `name (type:id)` for a table: each part escaped and capped, so the label is bounded.
    fn label(&self) -> String {
        let key = text::cell(&format!("{}:{}", self.resource_type, self.id), ID_WIDTH).into_owned();
        if self.name.is_empty() {
            key
        } else {
            format!("{} ({key})", text::cell(&self.name, NAME_WIDTH))
        }
    }
}

/// Widest label: a capped name, a capped key and ` ()`.
const LABEL_WIDTH: usize = NAME_WIDTH + ID_WIDTH + 3;

impl DiffReport {
    /// The report as a table or JSON, as a string.
    pub fn render(&self, format: Format) -> String {
        let mut buf = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.render_to(format, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Writes the report as a table or JSON to `out`.
    pub fn render_to(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        if format == Format::Json {
            return json_to(out, self);
        }
        let side = |s: &SyncRef| {
            format!(
                "sync {} (ended {}) in {}",
                text::cell(&s.sync_id, ID_WIDTH),
                text::cell(s.ended_at.as_deref().unwrap_or("-"), ID_WIDTH),
                text::escape_controls(&s.file.display().to_string())
            )
        };
        let Some(before) = &self.before else {
            let line = format!(
                "Only one finished full sync: {}; nothing to compare yet.",
                side(&self.after)
            );
            line_to(out, &line, usize::MAX)?;
            return out.flush();
        };
        line_to(out, &format!("Before: {}", side(before)), usize::MAX)?;
        line_to(out, &format!("After:  {}", side(&self.after)), usize::MAX)?;
        if self.changes.is_empty() {
            out.write_all(b"No changes.\n")?;
            return out.flush();
        }
        let mut t = Table::new(
            &mut *out,
            &[
                Column::short("CHANGE"),
                Column {
                    header: "WHO",
                    max: LABEL_WIDTH,
                },
                Column {
                    header: "DETAIL",
                    max: LABEL_WIDTH,
                },
            ],
        );
        for c in &self.changes {
            let (kind, who, detail) = match c {
                Change::UserAdded { user } => ("user added", user.label(), String::new()),
                Change::UserRemoved { user } => ("user removed", user.label(), String::new()),
                Change::UserStatusChanged { user, from, to } => {
                    ("user status", user.label(), format!("{from} → {to}"))
                }
                Change::RoleChanged {
                    principal,
                    from,
                    to,
                } => (
                    "role changed",
                    principal.label(),
                    format!("{} → {}", roles(from), roles(to)),
                ),
                Change::MembershipAdded {
                    group, principal, ..
                } => ("joined group", principal.label(), group.label()),
                Change::MembershipRemoved {
                    group, principal, ..
                } => ("left group", principal.label(), group.label()),
                Change::GrantAdded {
                    entitlement_id,
                    principal,
                } => ("grant added", principal.label(), entitlement_id.clone()),
                Change::GrantRemoved {
                    entitlement_id,
                    principal,
                } => ("grant removed", principal.label(), entitlement_id.clone()),
                Change::ResourceAdded { resource } => (
                    added_kind(&resource.resource_type),
                    resource.label(),
                    String::new(),
                ),
                Change::ResourceRemoved { resource } => (
                    removed_kind(&resource.resource_type),
                    resource.label(),
                    String::new(),
                ),
            };
            t.row([kind.to_owned(), who, detail])?;
        }
        t.finish()?;
        let n = self.changes.len();
        writeln!(out, "{n} change{}.", if n == 1 { "" } else { "s" })?;
        out.flush()
    }
}

/// The table's CHANGE cell of an added resource.
fn added_kind(resource_type: &str) -> &'static str {
    match resource_type {
        "personal_access_token" => "token added",
        "mcp_client" => "AI client added",
        "agent" => "agent added",
        _ => "resource added",
    }
}

/// The table's CHANGE cell of a removed resource.
fn removed_kind(resource_type: &str) -> &'static str {
    match resource_type {
        "personal_access_token" => "token removed",
        "mcp_client" => "AI client removed",
        "agent" => "agent removed",
        _ => "resource removed",
    }
}

fn roles(list: &[String]) -> String {
    if list.is_empty() {
        "(none)".to_owned()
    } else {
        list.join(",")
    }
}
