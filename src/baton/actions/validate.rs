//! Checks an action's arguments against its schema before the handler runs: every required
//! field present (not `null`, not an empty string), every value of its field's type, no
//! argument the schema does not name (a typo such as `userid` would otherwise be dropped
//! silently on a call that changes state), and the schema's constraints (required together,
//! at least one, mutually exclusive, dependent on) as the Go SDK checks them.
//!
//! Every problem is reported at once, in one `InvalidArgument` message; names and values from
//! the caller are quoted through [`crate::text::one_line`].

use std::collections::BTreeSet;

use prost_types::Struct;
use prost_types::value::Kind;

use super::fields::{as_resource_id, get};
use crate::baton::error::{ConnectorError, Result};
use crate::pb::c1::config::v1 as config;
use crate::pb::v2;
use crate::text::one_line;

/// Checks `args` against `schema`; `InvalidArgument` naming every problem.
pub fn check(schema: &v2::BatonActionSchema, args: &Struct) -> Result<()> {
    let mut problems = Vec::new();
    for field in &schema.arguments {
        match get(args, &field.name) {
            None => {
                if field.is_required {
                    problems.push(format!("{:?} is required", field.name));
                }
            }
            Some(Kind::StringValue(s)) if s.is_empty() && field.is_required => {
                problems.push(format!("{:?} is required (it is empty)", field.name));
            }
            Some(value) => {
                if let Err(why) = check_type(field, value) {
                    problems.push(format!("{:?} {why}", field.name));
                }
            }
        }
    }
    let known: BTreeSet<&str> = schema.arguments.iter().map(|f| f.name.as_str()).collect();
    for name in args.fields.keys() {
        if !known.contains(name.as_str()) {
            problems.push(format!(
                "{} is not an argument of {:?} (its arguments: {})",
                one_line(&format!("{name:?}")),
                schema.name,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                }
            ));
        }
    }
    let present: BTreeSet<&str> = args
        .fields
        .keys()
        .filter(|k| get(args, k).is_some())
        .map(String::as_str)
        .collect();
    for c in &schema.constraints {
        if let Err(why) = check_constraint(c, &present) {
            problems.push(why);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConnectorError::invalid_argument(format!(
            "invalid arguments for action {:?}: {}",
            one_line(&schema.name),
            problems.join("; ")
        )))
    }
}

/// Whether `value` has the type `field` declares; the reason when not.
fn check_type(field: &config::Field, value: &Kind) -> Result<(), String> {
    use config::field::Field as F;
    let Some(kind) = &field.field else {
        return Ok(());
    };
    let is_list_of = |ok: &dyn Fn(&Kind) -> bool| match value {
        Kind::ListValue(l) => l.values.iter().all(|v| v.kind.as_ref().is_some_and(ok)),
        _ => false,
    };
    let is_object = |k: &Kind| matches!(k, Kind::StructValue(_));
    let (fits, wanted) = match kind {
        F::StringField(_) => (matches!(value, Kind::StringValue(_)), "a string"),
        F::IntField(_) => (
            matches!(value, Kind::NumberValue(n) if n.is_finite() && n.fract() == 0.0),
            "an integer",
        ),
        F::BoolField(_) => (matches!(value, Kind::BoolValue(_)), "a boolean"),
        F::StringSliceField(_) => (
            is_list_of(&|k| matches!(k, Kind::StringValue(_))),
            "a list of strings",
        ),
        F::StringMapField(_) => (is_object(value), "an object"),
        F::ResourceIdField(r) => return check_resource_id(value, r.rules.as_ref()),
        F::ResourceIdSliceField(r) => {
            let Kind::ListValue(list) = value else {
                return Err("must be a list of resource ids".to_owned());
            };
            let allowed = r.rules.as_ref().map(|r| config::ResourceIdRules {
                allowed_resource_type_ids: r.allowed_resource_type_ids.clone(),
            });
            for v in &list.values {
                let Some(k) = &v.kind else {
                    return Err("must be a list of resource ids".to_owned());
                };
                check_resource_id(k, allowed.as_ref())?;
            }
            return Ok(());
        }
        F::ResourceField(_) => (is_object(value), "a resource object"),
        F::ResourceSliceField(_) | F::EntitlementSliceField(_) | F::GrantSliceField(_) => {
            (is_list_of(&is_object), "a list of objects")
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!("must be {wanted}, not {}", describe(value)))
    }
}

fn check_resource_id(value: &Kind, rules: Option<&config::ResourceIdRules>) -> Result<(), String> {
    let Some(id) = as_resource_id(value) else {
        return Err(format!(
            "must be a resource id {{\"resource_type_id\": …, \"resource_id\": …}}, not {}",
            describe(value)
        ));
    };
    match rules {
        Some(r)
            if !r.allowed_resource_type_ids.is_empty()
                && !r.allowed_resource_type_ids.contains(&id.resource_type) =>
        {
            Err(format!(
                "must be a resource of type {}, not {}",
                r.allowed_resource_type_ids.join(" or "),
                one_line(&format!("{:?}", id.resource_type))
            ))
        }
        _ => Ok(()),
    }
}

/// The JSON type of `value`, for messages (never the value itself: it may be long or hostile).
fn describe(value: &Kind) -> &'static str {
    match value {
        Kind::NullValue(_) => "null",
        Kind::NumberValue(_) => "a number",
        Kind::StringValue(_) => "a string",
        Kind::BoolValue(_) => "a boolean",
        Kind::StructValue(_) => "an object",
        Kind::ListValue(_) => "a list",
    }
}

fn check_constraint(c: &config::Constraint, present: &BTreeSet<&str>) -> Result<(), String> {
    use config::ConstraintKind as K;
    let names: BTreeSet<&str> = c.field_names.iter().map(String::as_str).collect();
    let list = || names.iter().copied().collect::<Vec<_>>().join(", ");
    let given = names.iter().filter(|n| present.contains(*n)).count();
    match K::try_from(c.kind).unwrap_or(K::Unspecified) {
        K::RequiredTogether if given > 0 && given < names.len() => {
            Err(format!("{} must be given together", list()))
        }
        K::AtLeastOne if given == 0 => Err(format!("at least one of {} is required", list())),
        K::MutuallyExclusive if given > 1 => Err(format!("{} are mutually exclusive", list())),
        K::DependentOn if given > 0 => {
            let missing: Vec<&str> = c
                .secondary_field_names
                .iter()
                .map(String::as_str)
                .filter(|n| !present.contains(n))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("{} need {} too", list(), missing.join(", ")))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::actions::fields::{self, object, resource_id_value};
    use crate::baton::ids::resource_id;

    fn schema() -> v2::BatonActionSchema {
        v2::BatonActionSchema {
            name: "disable".into(),
            arguments: vec![
                fields::required(fields::resource_id("user", "User", "", &["user"])),
                fields::boolean("notify", "Notify", ""),
                fields::string("reason", "Reason", ""),
                fields::string("ticket", "Ticket", ""),
            ],
            constraints: vec![config::Constraint {
                kind: config::ConstraintKind::DependentOn as i32,
                field_names: vec!["ticket".into()],
                secondary_field_names: vec!["reason".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn err(args: &Struct) -> String {
        check(&schema(), args).expect_err("refused").message
    }

    #[test]
    fn good_arguments_pass() {
        let args = object([
            ("user", resource_id_value(&resource_id("user", "u1"))),
            ("notify", Kind::BoolValue(true)),
            ("reason", Kind::StringValue("left".into())),
            ("ticket", Kind::StringValue("T-1".into())),
        ]);
        check(&schema(), &args).expect("valid");
        // Optional fields may be absent or null.
        let args = object([
            ("user", resource_id_value(&resource_id("user", "u1"))),
            ("notify", Kind::NullValue(0)),
        ]);
        check(&schema(), &args).expect("valid");
    }

    #[test]
    fn missing_wrong_typed_unknown_and_constrained_arguments_are_all_named() {
        let msg = err(&object::<&str>([]));
        assert!(msg.contains("\"user\" is required"), "{msg}");

        let msg = err(&object([
            ("user", Kind::StringValue("u1".into())),
            ("notify", Kind::StringValue("yes".into())),
            ("userid\x1b[2J", Kind::StringValue("u1".into())),
            ("ticket", Kind::StringValue("T-1".into())),
        ]));
        assert!(msg.contains("\"user\" must be a resource id"), "{msg}");
        assert!(
            msg.contains("\"notify\" must be a boolean, not a string"),
            "{msg}"
        );
        assert!(msg.contains("is not an argument of \"disable\""), "{msg}");
        assert!(!msg.contains('\x1b'), "escaped: {msg:?}");
        assert!(msg.contains("ticket need reason too"), "{msg}");

        let msg = err(&object([(
            "user",
            resource_id_value(&resource_id("group", "g1")),
        )]));
        assert!(
            msg.contains("must be a resource of type user, not \"group\""),
            "{msg}"
        );
    }
}
