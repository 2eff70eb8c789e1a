//! The build scripts' one walk over a folder: both the renderer fingerprint and the
//! embedded catalog list files the same way, sorted, dot files left out.

use std::path::{Path, PathBuf};

/// Every file under `dir`, sorted, as (`prefix` + path relative to `dir`, full path).
pub fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
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

/// The workspace root, two folders above the crate being built. Read when the script
/// runs, not baked in when it is compiled: cargo reuses a compiled build script for another
/// checkout of the same sources that shares the target folder (a git worktree), and the
/// baked-in path would be the first checkout's.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    manifest_dir.join("../..")
}
