//! The id formats Baton keys everything on.
//!
//! These strings are an external contract: ConductorOne stores configuration against them, so
//! they are built exactly as the Go SDK builds them and never escaped or reformatted.
//! - resource key: `<resource_type>:<resource_id>`
//! - entitlement: `<resource_type>:<resource_id>:<slug>`
//! - grant: `<entitlement_id>:<principal_type>:<principal_id>`

use crate::pb::v2;

/// A resource id value (type + id), as used in the protocol.
pub fn resource_id(resource_type: &str, id: &str) -> v2::ResourceId {
    v2::ResourceId {
        resource_type: resource_type.to_owned(),
        resource: id.to_owned(),
        baton_resource: false,
    }
}

/// `<resource_type>:<resource_id>`, the key of a resource in a `.c1z`.
pub fn resource_key(id: &v2::ResourceId) -> String {
    format!("{}:{}", id.resource_type, id.resource)
}

/// `<resource_type>:<resource_id>:<slug>`.
pub fn entitlement_id(resource: &v2::ResourceId, slug: &str) -> String {
    format!("{}:{}:{}", resource.resource_type, resource.resource, slug)
}

/// `<entitlement_id>:<principal_type>:<principal_id>`.
pub fn grant_id(entitlement_id: &str, principal: &v2::ResourceId) -> String {
    format!(
        "{}:{}:{}",
        entitlement_id, principal.resource_type, principal.resource
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_sdk_format() {
        let group = resource_id("group", "aaaa");
        let user = resource_id("user", "1111");
        assert_eq!(resource_key(&user), "user:1111");
        let ent = entitlement_id(&group, "member");
        assert_eq!(ent, "group:aaaa:member");
        assert_eq!(grant_id(&ent, &user), "group:aaaa:member:user:1111");
    }

    #[test]
    fn ids_are_never_escaped() {
        let odd = resource_id("role", "a:b c");
        assert_eq!(entitlement_id(&odd, "assigned"), "role:a:b c:assigned");
    }
}
