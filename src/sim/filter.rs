//! The small slice of RFC 7644 filtering that Notion supports: `attribute eq "value"`.
//!
//! Notion documents `email`, `given_name` and `family_name` on `/Users` (its own names, not
//! SCIM's) and Entra relies on `userName`; `/Groups` takes `displayName`. Anything else — another
//! operator (`co`, `sw`, `pr`, …), `and`/`or`, an unknown attribute, an unquoted value — is
//! answered with `400 invalidFilter`, which is exactly what a client's fallback logic must cope
//! with. Matching rules:
//!
//! | filter | matches when |
//! |---|---|
//! | `userName eq "x"` | userName equals `x`, ASCII case-insensitively (RFC 7643: `caseExact` false) |
//! | `email eq "x"` | userName equals `x` lower-cased (Notion lower-cases the value, then matches) |
//! | `given_name eq "x"` / `family_name eq "x"` | the name part equals `x` exactly (case-sensitive) |
//! | `displayName eq "x"` (groups) | displayName equals `x`, ASCII case-insensitively |
//!
//! Attribute names and the operator are case-insensitive, as RFC 7644 §3.4.2.2 requires.

use super::dataset::{SimGroup, SimUser};

/// A parsed `attribute eq "value"` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EqFilter {
    /// Attribute name as written.
    attribute: String,
    /// The decoded JSON string value.
    value: String,
}

/// Parses `attribute eq "value"`; the error is the `detail` of a 400 `invalidFilter`.
fn parse_eq(filter: &str) -> Result<EqFilter, String> {
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace).ok_or_else(|| {
        format!("cannot parse filter {filter:?}: expected `attribute eq \"value\"`")
    })?;
    let (operator, rest) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(|| {
            format!("cannot parse filter {filter:?}: expected `attribute eq \"value\"`")
        })?;
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(format!(
            "unsupported filter operator {operator:?} in {filter:?}: only `eq` is supported"
        ));
    }
    let literal = rest.trim_start();
    if !literal.starts_with('"') {
        return Err(format!(
            "unsupported filter value in {filter:?}: expected a quoted string"
        ));
    }
    let mut strings = serde_json::Deserializer::from_str(literal).into_iter::<String>();
    let value = match strings.next() {
        Some(Ok(value)) => value,
        _ => return Err(format!("malformed string value in filter {filter:?}")),
    };
    if !literal[strings.byte_offset()..].trim().is_empty() {
        return Err(format!(
            "unsupported filter {filter:?}: compound expressions are not supported"
        ));
    }
    Ok(EqFilter {
        attribute: attribute.to_owned(),
        value,
    })
}

/// A compiled `/Users` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserFilter {
    /// `userName eq` (case-insensitive).
    UserName(String),
    /// `email eq` (value lower-cased, then exact).
    Email(String),
    /// `given_name eq` (exact).
    GivenName(String),
    /// `family_name eq` (exact).
    FamilyName(String),
}

impl UserFilter {
    /// Parses a `/Users` filter; the error is the detail of a 400 `invalidFilter`.
    pub(crate) fn parse(filter: &str) -> Result<Self, String> {
        let EqFilter { attribute, value } = parse_eq(filter)?;
        let is = |name: &str| attribute.eq_ignore_ascii_case(name);
        if is("userName") {
            Ok(UserFilter::UserName(value))
        } else if is("email") {
            Ok(UserFilter::Email(value.to_lowercase()))
        } else if is("given_name") {
            Ok(UserFilter::GivenName(value))
        } else if is("family_name") {
            Ok(UserFilter::FamilyName(value))
        } else {
            Err(format!(
                "unsupported filter attribute {attribute:?} on /Users: use userName, email, \
                 given_name or family_name"
            ))
        }
    }

    /// The filtered attribute, as the simulator spells it.
    pub(crate) fn attribute(&self) -> &'static str {
        match self {
            UserFilter::UserName(_) => "userName",
            UserFilter::Email(_) => "email",
            UserFilter::GivenName(_) => "given_name",
            UserFilter::FamilyName(_) => "family_name",
        }
    }

    /// Whether `user` passes the filter.
    pub(crate) fn matches(&self, user: &SimUser) -> bool {
        match self {
            UserFilter::UserName(v) => user.user_name.eq_ignore_ascii_case(v),
            UserFilter::Email(v) => user.user_name == *v,
            UserFilter::GivenName(v) => user.given_name.as_deref() == Some(v.as_str()),
            UserFilter::FamilyName(v) => user.family_name.as_deref() == Some(v.as_str()),
        }
    }
}

/// A compiled `/Groups` filter: `displayName eq` (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupFilter {
    /// The display name sought.
    display_name: String,
}

impl GroupFilter {
    /// Parses a `/Groups` filter; the error is the detail of a 400 `invalidFilter`.
    pub(crate) fn parse(filter: &str) -> Result<Self, String> {
        let EqFilter { attribute, value } = parse_eq(filter)?;
        if attribute.eq_ignore_ascii_case("displayName") {
            Ok(GroupFilter {
                display_name: value,
            })
        } else {
            Err(format!(
                "unsupported filter attribute {attribute:?} on /Groups: use displayName"
            ))
        }
    }

    /// Whether `group` passes the filter.
    pub(crate) fn matches(&self, group: &SimGroup) -> bool {
        group.display_name.eq_ignore_ascii_case(&self.display_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::dataset::Dataset;

    #[test]
    fn parses_eq_with_escapes_and_spacing() {
        let f = parse_eq(r#"  userName   EQ   "a\"b@x.com"  "#).unwrap();
        assert_eq!(f.attribute, "userName");
        assert_eq!(f.value, "a\"b@x.com");
    }

    #[test]
    fn rejects_what_notion_does_not_support() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName co "a""#,
            r#"userName sw "a""#,
            "userName pr",
            "userName eq a@x.com",
            r#"userName eq "a" and active eq true"#,
            r#"userName eq "unterminated"#,
        ] {
            assert!(
                UserFilter::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(UserFilter::parse(r#"title eq "x""#).is_err());
        assert!(GroupFilter::parse(r#"userName eq "x""#).is_err());
    }

    #[test]
    fn user_matching_rules() {
        let data = Dataset::reference();
        let alice = &data.users[0];
        let matches = |f: &str| UserFilter::parse(f).unwrap().matches(alice);
        assert!(matches(r#"userName eq "OWNER@example.com""#));
        assert!(matches(r#"email eq "Owner@Example.COM""#));
        assert!(matches(r#"EMAIL eq "owner@example.com""#));
        assert!(matches(r#"given_name eq "Alice""#));
        assert!(!matches(r#"given_name eq "alice""#));
        assert!(matches(r#"family_name eq "Owner""#));
        assert!(!matches(r#"family_name eq "owner""#));
    }

    #[test]
    fn group_matching() {
        let data = Dataset::reference();
        let f = GroupFilter::parse(r#"displayName eq "engineering""#).unwrap();
        assert!(f.matches(&data.groups[0]));
        assert!(!f.matches(&data.groups[1]));
    }
}
