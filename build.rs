//! Embeds `catalog/` in the binary so `gitgen init` works from any directory.

// A build script has no `fs-err` (not a build dependency); each panic names its path.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            collect(&path, &format!("{relative}/"), out);
        } else {
            out.push((relative, path));
        }
    }
}

/// Hashes the sources that decide what `gitgen render` writes, so a lock written by a
/// different renderer is never trusted to skip lessons.
fn renderer_hash(manifest_dir: &Path) -> String {
    let mut files = Vec::new();
    for dir in ["src/render", "src/catalog", "src/yaml"] {
        collect(&manifest_dir.join(dir), &format!("{dir}/"), &mut files);
    }
    // Where render writes each file is decided by the layout; what it writes also by the
    // modules below the stages that it shares with them.
    for file in [
        "src/layout.rs",
        "src/kinds.rs",
        "src/credentials.rs",
        "src/argocd_install.rs",
    ] {
        files.push((file.to_owned(), manifest_dir.join(file)));
    }
    files.push(("Cargo.lock".to_owned(), manifest_dir.join("Cargo.lock")));
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
    // Read when the script runs, not baked in when it is compiled: cargo reuses a compiled
    // build script for another checkout of the same sources that shares the target folder
    // (a git worktree), and the baked-in path would be the first checkout's.
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let manifest_dir = manifest_dir.as_path();
    println!("cargo:rustc-env=GITGEN_RENDERER_HASH={}", renderer_hash(manifest_dir));
    let root = manifest_dir.join("catalog");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, "", &mut files);
    let mut code = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for (relative, path) in &files {
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_catalog.rs");
    std::fs::write(out, code).expect("writing embedded_catalog.rs");
}
