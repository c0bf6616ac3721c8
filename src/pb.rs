//! Generated protobuf types and gRPC stubs for the c1 protocol (see `build.rs`).
//!
//! The module tree mirrors the protobuf packages, because prost refers to other packages through
//! relative `super::` paths. `google.protobuf.*` maps to `prost-types`.
#![allow(clippy::all, missing_docs, rustdoc::all)]

/// The serialized `FileDescriptorSet` of every `.proto` file, for reflection (protojson output).
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/c1_descriptor.bin"));

pub mod c1 {
    pub mod c1z {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/c1.c1z.v1.rs"));
        }
    }
    pub mod config {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/c1.config.v1.rs"));
        }
    }
    pub mod connector {
        pub mod v2 {
            include!(concat!(env!("OUT_DIR"), "/c1.connector.v2.rs"));
        }
    }
    pub mod connectorapi {
        pub mod baton {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/c1.connectorapi.baton.v1.rs"));
            }
        }
    }
    pub mod ratelimit {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/c1.ratelimit.v1.rs"));
        }
    }
    pub mod reader {
        pub mod v2 {
            include!(concat!(env!("OUT_DIR"), "/c1.reader.v2.rs"));
        }
    }
}

pub mod google {
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
}

/// The package almost everything in this crate works with.
pub use c1::connector::v2;
