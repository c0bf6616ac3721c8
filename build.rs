//! Compiles the project's own `.proto` files (under `proto/`) into Rust with protox, a pure-Rust
//! protobuf compiler, so no system `protoc` is needed on any machine that builds this crate.
//!
//! Besides the prost/tonic code, the serialized descriptor set is written to
//! `$OUT_DIR/c1_descriptor.bin`: `prost-reflect` uses it to print protojson (`capabilities`,
//! `config`) with field names and order exactly as declared.

use std::{env, fs, io, path::Path, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let mut files = Vec::new();
    collect_protos(&root, &root, &mut files)?;
    files.sort();
    // protox does not emit rerun-if-changed lines for its inputs.
    println!("cargo:rerun-if-changed=proto");
    for f in &files {
        println!("cargo:rerun-if-changed=proto/{f}");
    }

    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out.join("c1_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    let mut config = tonic_prost_build::Config::new();
    // `prost::Name` impls give each message its type URL for `google.protobuf.Any`.
    config.enable_type_names();
    // Baton's readers match annotations on `type.googleapis.com/<full name>`.
    config.type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Every RPC a connector does not override answers `Unimplemented` instead of hanging.
        .generate_default_stubs(true)
        // Ordered maps make encoding deterministic: the same sync yields the same bytes.
        .btree_map(".")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}

/// Lists every `.proto` file below `dir`, relative to `root`, with `/` separators.
fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let rel = path.strip_prefix(root).map_err(io::Error::other)?;
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
