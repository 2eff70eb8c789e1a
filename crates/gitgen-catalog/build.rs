//! Embeds `catalog/` in the binary so `gitgen init` works from any directory.

// A build script has no `fs-err` (not a build dependency); each panic names its path.
#![allow(clippy::disallowed_methods)]

#[path = "../build-support/collect.rs"]
mod collect;

use std::fmt::Write as _;
use std::path::PathBuf;

use collect::{collect, workspace_root};

fn main() {
    let root = workspace_root().join("catalog");
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
