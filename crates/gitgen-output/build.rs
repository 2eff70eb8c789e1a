//! Fingerprints the sources that decide what `gitgen render` writes, for the lock file.

// A build script has no `fs-err` (not a build dependency); each panic names its path.
#![allow(clippy::disallowed_methods)]

#[path = "../build-support/collect.rs"]
mod collect;

use std::path::Path;

use collect::{collect, workspace_root};

/// Hashes the sources that decide what `gitgen render` writes, so a lock written by a
/// different renderer is never trusted to skip lessons. The hash lives in this crate, the
/// one that writes the lock, rather than lower: a crate whose build output changes is
/// compiled again with everything above it, and the render sources change often.
fn renderer_hash(root: &Path) -> String {
    let mut files = Vec::new();
    for dir in [
        "crates/gitgen-render/src",
        "crates/gitgen-catalog/src",
        "crates/gitgen-yaml/src",
    ] {
        collect(&root.join(dir), &format!("{dir}/"), &mut files);
    }
    // Where render writes each file is decided by the layout; what it writes also by the
    // modules below the stages that it shares with them.
    for file in [
        "crates/gitgen-base/src/layout.rs",
        "crates/gitgen-base/src/names.rs",
        "crates/gitgen-validate/src/kinds.rs",
        "crates/gitgen-base/src/credentials.rs",
        "crates/gitgen-base/src/argocd_install.rs",
    ] {
        files.push((file.to_owned(), root.join(file)));
    }
    files.push(("Cargo.lock".to_owned(), root.join("Cargo.lock")));
    // FNV-1a over path and normalised text: stable across machines and checkouts.
    let mut hash: u64 = 0xcbf29ce484222325;
    for (relative, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(path).unwrap_or_default().replace("\r\n", "\n");
        for byte in relative.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{hash:016x}")
}

fn main() {
    println!(
        "cargo:rustc-env=GITGEN_RENDERER_HASH={}",
        renderer_hash(&workspace_root())
    );
}
