//! Output: the one place gitgen writes the rendered tree.
//!
//! Render hands over files in memory; this module compares them with the disk and the
//! lock file ([`plan`]), reports what would change (`--check`, `diff`), refuses to
//! overwrite hand edits, and writes the change atomically ([`apply`]): every changed
//! folder is built complete in a staging area, then swapped in by renames recorded in a
//! journal. A kill before the journal exists leaves the old tree; a kill after it is
//! completed by the next gitgen command ([`recover`]). Unchanged files are never
//! rewritten, so a no-op render writes nothing.

pub mod lock;
mod txn;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

pub use self::lock::{LOCK_FILE, LockFile};
pub use self::txn::{STATE_DIR, recover};
use crate::render::RenderedFile;

/// Something on disk that stops a write.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Files render would overwrite or delete that it did not write as they are.
    #[error("{} would be overwritten or deleted, but render did not write {}:\n{}", count(conflicts.len()), if conflicts.len() == 1 { "it" } else { "them" }, list(conflicts))]
    Conflicts {
        /// The files, with what happened to each.
        conflicts: Vec<Conflict>,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 file".to_owned()
    } else {
        format!("{n} files")
    }
}

fn list(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(|c| format!("  {}: {}", c.path, c.reason.describe()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl OutputError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            OutputError::Conflicts { .. } => Some(
                "move the change into `catalog/` (or the toggle file), or run again with `--force` to discard it"
                    .to_owned(),
            ),
            OutputError::Io { .. } => None,
        }
    }
}

/// Why a file would be clobbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictReason {
    /// Render wrote it, then someone edited it.
    EditedByHand,
    /// Render never wrote it, but it sits in a folder render owns.
    NotWrittenByGitgen,
}

impl ConflictReason {
    fn describe(self) -> &'static str {
        match self {
            ConflictReason::EditedByHand => "edited by hand since the last render",
            ConflictReason::NotWrittenByGitgen => "not written by gitgen",
        }
    }
}

/// A file that stops a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Repo-relative path.
    pub path: String,
    /// What happened to it.
    pub reason: ConflictReason,
    /// Whether render would write it (else it would delete it).
    pub rendered: bool,
}

/// The part of the repo one render owns: `generated/`, and the environment's
/// `overlays/<env>/` and `argocd/<env>/`, except the toggle file people edit.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Folder prefixes, each ending in `/`.
    pub prefixes: Vec<String>,
    /// Paths inside them that belong to people, not to render.
    pub excluded: BTreeSet<String>,
}

impl Scope {
    /// Whether render owns `path`.
    pub fn owns(&self, path: &str) -> bool {
        self.prefixes.iter().any(|p| path.starts_with(p.as_str())) && !self.excluded.contains(path)
    }
}

/// One file of the desired tree.
#[derive(Debug, Clone)]
pub enum Desired {
    /// Write these contents.
    /// Shared with the [`Plan`], so a full render holds each file's text once.
    Write(Arc<str>),
    /// Keep the file as the lock records it: its lesson's inputs did not change.
    Keep(String),
}

/// The change a render makes, computed before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to create, with contents.
    pub added: BTreeMap<String, Arc<str>>,
    /// Files to change: (old contents, new contents).
    pub modified: BTreeMap<String, (String, Arc<str>)>,
    /// Files to delete, with their old contents.
    pub deleted: BTreeMap<String, String>,
    /// Files render must not touch without `--force`.
    pub conflicts: Vec<Conflict>,
    /// The lock to write.
    pub lock: LockFile,
    /// The text of `lock`, serialized once: with many lessons it is megabytes of JSON.
    pub lock_text: String,
    /// The lock's text now on disk, if any.
    pub old_lock_text: Option<String>,
}

impl Plan {
    /// Whether the plan writes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.deleted.is_empty() && !self.lock_changes()
    }

    /// Whether the disk already holds exactly what render writes: no change, no conflict.
    pub fn is_up_to_date(&self) -> bool {
        self.is_empty() && self.conflicts.is_empty()
    }

    /// Whether the lock file changes.
    pub fn lock_changes(&self) -> bool {
        self.old_lock_text.as_deref() != Some(self.lock_text.as_str())
    }

    /// Every path the plan touches (conflicts included), sorted, each with a one-letter
    /// status (`A`, `M`, `D`).
    pub fn summary(&self) -> Vec<(char, &str)> {
        let mut rows: Vec<(char, &str)> = self
            .added
            .keys()
            .map(|p| ('A', p.as_str()))
            .chain(self.modified.keys().map(|p| ('M', p.as_str())))
            .chain(self.deleted.keys().map(|p| ('D', p.as_str())))
            .chain(
                self.conflicts
                    .iter()
                    .map(|c| (if c.rendered { 'M' } else { 'D' }, c.path.as_str())),
            )
            .collect();
        if self.lock_changes() {
            rows.push((if self.old_lock_text.is_some() { 'M' } else { 'A' }, LOCK_FILE));
        }
        rows.sort_by(|a, b| a.1.cmp(b.1));
        rows
    }
}

/// Reads the lock file at the repo root, if there is a valid one.
pub fn read_lock(repo: &Path) -> Result<(Option<LockFile>, Option<String>), OutputError> {
    let path = repo.join(LOCK_FILE);
    match fs_err::read_to_string(&path) {
        Ok(text) => Ok((LockFile::parse(&text), Some(text))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok((None, None)),
        Err(err) => Err(OutputError::io("read", &path, err)),
    }
}

/// Reads a file if it exists.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, OutputError> {
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(OutputError::io("read", path, err)),
    }
}

/// Every file under `dir`, as repo-relative paths. Symlinks are reported as files so a
/// link planted in an output folder is a conflict, never followed.
fn walk(repo: &Path, dir: &str, out: &mut Vec<String>) -> Result<(), OutputError> {
    let path = repo.join(dir);
    let entries = match fs_err::read_dir(&path) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound || err.kind() == std::io::ErrorKind::NotADirectory => {
            return Ok(());
        }
        Err(err) => return Err(OutputError::io("read", &path, err)),
    };
    for entry in entries {
        let entry = entry.map_err(|err| OutputError::io("read", &path, err))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = format!("{dir}{name}");
        let kind = entry
            .file_type()
            .map_err(|err| OutputError::io("read", &entry.path(), err))?;
        if kind.is_dir() {
            walk(repo, &format!("{child}/"), out)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}

/// The folders whose files are compared with the disk. Lessons whose files are all
/// `Keep` are left out: their inputs did not change, so their folders are not read.
fn folders_to_scan(
    repo: &Path,
    scope: &Scope,
    desired: &BTreeMap<String, Desired>,
) -> Result<Vec<String>, OutputError> {
    let kept_lessons: BTreeSet<&str> = desired
        .iter()
        .filter(|(_, d)| matches!(d, Desired::Keep(_)))
        .filter_map(|(path, _)| lesson_folder(path))
        .collect();
    let mut folders = Vec::new();
    for prefix in &scope.prefixes {
        if prefix == "generated/" {
            let root = repo.join("generated");
            let entries = match fs_err::read_dir(&root) {
                Ok(entries) => entries
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| OutputError::io("read", &root, e))?,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(err) => return Err(OutputError::io("read", &root, err)),
            };
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                let folder = format!("generated/{name}");
                if !kept_lessons.contains(folder.as_str()) {
                    folders.push(folder);
                }
            }
        } else {
            folders.push(prefix.trim_end_matches('/').to_owned());
        }
    }
    folders.sort();
    Ok(folders)
}

/// `generated/<lesson>` of a path under `generated/`.
fn lesson_folder(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("generated/")?;
    let end = rest.find('/')?;
    Some(&path[..("generated/".len() + end)])
}

/// Compares the desired files with the disk and the previous lock.
pub fn plan(
    repo: &Path,
    scope: &Scope,
    desired: &BTreeMap<String, Desired>,
    old_lock: Option<&LockFile>,
    old_lock_text: Option<String>,
    new_lock_base: LockFile,
) -> Result<Plan, OutputError> {
    let recorded = |path: &str| old_lock.and_then(|l| l.files.get(path));
    // What is on disk in the folders we scan, plus every desired path (which may be
    // missing from disk).
    let mut on_disk = Vec::new();
    for folder in folders_to_scan(repo, scope, desired)? {
        match fs_err::symlink_metadata(repo.join(&folder)) {
            Ok(meta) if meta.is_dir() => walk(repo, &format!("{folder}/"), &mut on_disk)?,
            Ok(_) => on_disk.push(folder),
            Err(_) => {}
        }
    }
    on_disk.retain(|p| scope.owns(p));
    let candidates: BTreeSet<&str> = on_disk
        .iter()
        .map(String::as_str)
        .chain(
            desired
                .iter()
                .filter(|(_, d)| matches!(d, Desired::Write(_)))
                .map(|(p, _)| p.as_str()),
        )
        .collect();
    enum Outcome {
        Same,
        Add(Arc<str>),
        Modify(String, Arc<str>),
        Delete(String),
        Conflict(ConflictReason),
    }
    let outcomes: Vec<(&str, Outcome)> = candidates
        .into_par_iter()
        .map(|path| {
            let current = read_optional(&repo.join(path))?;
            let current_hash = current.as_deref().map(lock::sha256);
            let owned_by_render = current_hash.is_some() && current_hash.as_ref() == recorded(path);
            let outcome = match (desired.get(path), current) {
                (Some(Desired::Write(new)), None) => Outcome::Add(new.clone()),
                (Some(Desired::Write(new)), Some(old)) if old == new.as_bytes() => Outcome::Same,
                (Some(Desired::Write(new)), Some(old)) if owned_by_render => {
                    Outcome::Modify(String::from_utf8_lossy(&old).into_owned(), new.clone())
                }
                (Some(Desired::Keep(_)), _) => Outcome::Same,
                (None, None) => Outcome::Same,
                (None, Some(old)) if owned_by_render => Outcome::Delete(String::from_utf8_lossy(&old).into_owned()),
                (_, Some(_)) if recorded(path).is_some() => Outcome::Conflict(ConflictReason::EditedByHand),
                (_, Some(_)) => Outcome::Conflict(ConflictReason::NotWrittenByGitgen),
            };
            Ok((path, outcome))
        })
        .collect::<Result<_, OutputError>>()?;
    let mut plan = Plan {
        old_lock_text,
        ..Plan::default()
    };
    let desired_paths = desired;
    for (path, outcome) in outcomes {
        let path = path.to_owned();
        match outcome {
            Outcome::Same => {}
            Outcome::Add(new) => {
                plan.added.insert(path, new);
            }
            Outcome::Modify(old, new) => {
                plan.modified.insert(path, (old, new));
            }
            Outcome::Delete(old) => {
                plan.deleted.insert(path, old);
            }
            Outcome::Conflict(reason) => {
                let rendered = desired_paths.contains_key(&path);
                plan.conflicts.push(Conflict { path, reason, rendered });
            }
        }
    }
    let mut lock = new_lock_base;
    if let Some(old) = old_lock {
        lock.files.extend(
            old.files
                .iter()
                .filter(|(p, _)| !scope.owns(p))
                .map(|(p, h)| (p.clone(), h.clone())),
        );
    }
    for (path, desired) in desired {
        let hash = match desired {
            Desired::Write(text) => lock::sha256(text.as_bytes()),
            Desired::Keep(hash) => hash.clone(),
        };
        lock.files.insert(path.clone(), hash);
    }
    plan.lock_text = lock.to_text();
    plan.lock = lock;
    Ok(plan)
}

/// The desired tree from rendered files, plus `Keep` entries for skipped lessons.
pub fn desired_tree(
    files: Vec<RenderedFile>,
    kept: impl Iterator<Item = (String, String)>,
) -> BTreeMap<String, Desired> {
    let mut desired: BTreeMap<String, Desired> = kept.map(|(path, hash)| (path, Desired::Keep(hash))).collect();
    desired.extend(files.into_iter().map(|f| (f.path, Desired::Write(f.contents.into()))));
    desired
}

/// Writes the plan atomically. With `force`, conflicting files are overwritten or
/// deleted too; without it, a plan with conflicts is refused before anything is written.
///
/// `extra` are files outside the render's scope that change in the same transaction:
/// `gitgen enable` writes the toggle file this way, so the toggle file and the tree
/// never disagree.
pub fn apply(
    repo: &Path,
    plan: &Plan,
    desired: &BTreeMap<String, Desired>,
    extra: &[(String, String)],
    force: bool,
) -> Result<(), OutputError> {
    if !plan.conflicts.is_empty() && !force {
        return Err(OutputError::Conflicts {
            conflicts: plan.conflicts.clone(),
        });
    }
    let touched = plan
        .added
        .keys()
        .chain(plan.modified.keys())
        .chain(plan.deleted.keys())
        .chain(plan.conflicts.iter().map(|c| &c.path));
    let units: BTreeSet<String> = touched.map(|p| txn::unit_of(p)).collect();
    let mut changes: Vec<txn::UnitChange> = units
        .into_iter()
        .map(|unit| {
            let prefix = format!("{unit}/");
            // A range of the sorted tree, not a scan of it: a full render changes every
            // unit, and scanning the whole tree per unit would be quadratic.
            let single = desired.get_key_value(unit.as_str());
            let inside = desired.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded));
            let files: Vec<(String, txn::Contents<'_>)> = single
                .into_iter()
                .chain(inside.take_while(|(path, _)| path.starts_with(&prefix)))
                .map(|(path, d)| match d {
                    Desired::Write(text) => (path.clone(), txn::Contents::Text(text)),
                    Desired::Keep(_) => (path.clone(), txn::Contents::Existing),
                })
                .collect();
            txn::UnitChange { unit, files }
        })
        .collect();
    let lock_text = &plan.lock_text;
    for (path, text) in extra {
        changes.push(txn::UnitChange {
            unit: path.clone(),
            files: vec![(path.clone(), txn::Contents::Text(text))],
        });
    }
    if plan.lock_changes() {
        changes.push(txn::UnitChange {
            unit: LOCK_FILE.to_owned(),
            files: vec![(LOCK_FILE.to_owned(), txn::Contents::Text(lock_text))],
        });
    }
    if changes.is_empty() {
        return Ok(());
    }
    txn::commit(repo, &changes)
}
