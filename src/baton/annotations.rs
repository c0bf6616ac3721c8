//! Packing protocol messages into `google.protobuf.Any` annotations and finding them again.
//!
//! Baton attaches traits (`UserTrait`, `GroupTrait`, …) and markers (`SkipGrants`,
//! `GrantAlreadyExists`, …) to resources and responses as `Any` values whose type URL is
//! `type.googleapis.com/<full message name>`. The generated types implement `prost::Name`,
//! which gives that URL.

use prost::{Message, Name};
use prost_types::Any;

/// Packs `msg` into an `Any` with its canonical type URL.
pub fn pack<M: Message + Name>(msg: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: msg.encode_to_vec(),
    }
}

/// True when `any` holds a message of type `M`.
pub fn is<M: Name>(any: &Any) -> bool {
    any.type_url == M::type_url()
}

/// The first annotation of type `M`, decoded. A malformed one counts as absent.
pub fn find<M: Message + Name + Default>(annotations: &[Any]) -> Option<M> {
    annotations
        .iter()
        .find(|a| is::<M>(a))
        .and_then(|a| M::decode(a.value.as_slice()).ok())
}

/// True when any annotation is of type `M`.
pub fn has<M: Name>(annotations: &[Any]) -> bool {
    annotations.iter().any(is::<M>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v2;

    #[test]
    fn type_urls_use_the_full_message_name() {
        let any = pack(&v2::SkipGrants {});
        assert_eq!(
            any.type_url,
            "type.googleapis.com/c1.connector.v2.SkipGrants"
        );
        let group = pack(&v2::GroupTrait::default());
        assert_eq!(
            group.type_url,
            "type.googleapis.com/c1.connector.v2.GroupTrait"
        );
    }

    #[test]
    fn find_decodes_the_first_match() {
        let anns = vec![
            pack(&v2::SkipGrants {}),
            pack(&v2::LicenseProfileTrait {
                license_name: "Owner".into(),
                ..Default::default()
            }),
        ];
        assert!(has::<v2::SkipGrants>(&anns));
        assert!(!has::<v2::SkipEntitlements>(&anns));
        let lic: v2::LicenseProfileTrait = find(&anns).expect("license trait");
        assert_eq!(lic.license_name, "Owner");
    }
}
