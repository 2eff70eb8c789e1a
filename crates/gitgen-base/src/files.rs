//! A file gitgen writes, in memory: what render makes and output writes. It has a module of
//! its own so that neither stage imports the other.

/// A file gitgen writes, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the repo root, `/`-separated.
    pub path: String,
    /// Contents: UTF-8, LF line endings, ending in a newline.
    pub contents: String,
}
