//! `gitgen.lock`: what render wrote, so the next render can tell its own files from
//! hand edits, and skip lessons whose inputs did not change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The parsed lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version.
    pub version: u32,
    /// Fingerprint of the renderer that wrote the files; a different renderer re-renders
    /// every lesson instead of trusting the hashes below.
    pub renderer: String,
    /// sha256 of each lesson's inputs (its catalog folder).
    pub lessons: BTreeMap<String, String>,
    /// sha256 of every file render wrote, by repo-relative path.
    pub files: BTreeMap<String, String>,
    /// What each environment's last render read, by environment name.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentInputs>,
}

/// What an environment's last render read. When a render would read the same, and the
/// files it wrote are untouched, it has nothing to do and need not render anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInputs {
    /// sha256 of the renderer's fingerprint, the environment's name, `gitgen.yaml`, its
    /// toggle file and every lesson's input hash.
    pub inputs: String,
    /// How many lessons it enabled, for the message of a render with nothing to do.
    pub enabled: usize,
}

impl LockFile {
    /// Parses the lock; `None` for text that is not a lock (treated as no lock at all,
    /// which only costs a full render).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str::<LockFile>(text)
            .ok()
            .filter(|lock| lock.version == 1)
    }

    /// The recorded files of a unit (a folder or a single file), with their hashes.
    pub fn files_in<'a>(&'a self, unit: &str) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
        let prefix = format!("{unit}/");
        let single = self.files.get_key_value(unit);
        let inside = self
            .files
            .range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded))
            .take_while(move |(path, _)| path.starts_with(&prefix));
        single.into_iter().chain(inside)
    }

    /// The text written to disk: pretty JSON, keys sorted, one path per line so a
    /// pull request shows exactly which outputs changed.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a lock serializes");
        text.push('\n');
        text
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The fingerprint of this build's renderer: its version and the hash of the source
/// files that decide what render writes (computed by `build.rs`).
pub fn renderer_fingerprint() -> String {
    format!("gitgen {} {}", env!("CARGO_PKG_VERSION"), env!("GITGEN_RENDERER_HASH"))
}

/// sha256 of what a lesson's base is rendered from: every file of its folder, in path
/// order, and Argo CD's namespace of `gitgen.yaml`, which its templates see (a lesson's own
/// Applications go there), so moving Argo CD renders those bases again.
pub fn lesson_input_hash(files: &BTreeMap<String, String>, argocd_namespace: &str) -> String {
    let folder = files.iter().flat_map(|(path, text)| [path.as_str(), text.as_str()]);
    inputs_hash(folder.chain([argocd_namespace]))
}

/// sha256 of everything an environment's render reads besides the lessons' folders
/// (whose hashes it includes): the renderer, the environment's name, `gitgen.yaml` and
/// the toggle file.
pub fn environment_hash(
    env_name: &str,
    config_text: &str,
    toggle_text: &str,
    input_hashes: &BTreeMap<String, String>,
) -> String {
    let renderer = renderer_fingerprint();
    let head = [renderer.as_str(), env_name, config_text, toggle_text];
    let lessons = input_hashes.iter().flat_map(|(id, hash)| [id.as_str(), hash.as_str()]);
    inputs_hash(head.into_iter().chain(lessons))
}

/// sha256 of a sequence of texts. Lengths delimit them, so two different sequences
/// never hash alike by moving text from one field to the next.
pub fn inputs_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}
