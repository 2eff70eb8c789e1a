//! Output: the one place gitgen writes the rendered tree.
//!
//! Render hands over files in memory, one unit at a time (a lesson's `generated/`
//! folder, an overlay folder, an environment's Argo CD bundle); this module compares
//! each unit with the disk and the lock file ([`plan_unit`]), stages a changed unit at
//! once so a render never holds the whole tree in memory, gathers the units into a
//! [`Plan`] that reports what would change (`--check`, `diff`) and refuses to overwrite
//! hand edits, and writes the change atomically ([`apply`]): every changed unit is built
//! complete in a staging area, then swapped in by renames recorded in a journal. A kill
//! before the journal exists leaves the old tree; a kill after it is completed by the
//! next gitgen command ([`recover`]). Unchanged files are never rewritten, so a no-op
//! render writes nothing, and [`incremental`] decides from the lock which units need no
//! render at all.

pub mod diff;
mod incremental;
pub mod lock;
mod txn;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use self::incremental::{EnvironmentRun, Freshness, NothingChanged, RenderOutcome, Renderer, plan, unchanged};
pub use self::lock::LockFile;
pub use self::txn::{Staging, recover};
use gitgen_base::files::RenderedFile;
use gitgen_base::layout::Layout;
pub use gitgen_base::layout::{LOCK_FILE, STATE_DIR};
use gitgen_base::untrusted::{self, FileError};

/// The lock file lists every rendered file with its hash; 10,000 lessons' fit well under this.
const MAX_LOCK_BYTES: u64 = 256 << 20;
/// A file in render's folders bigger than this is not one render wrote (a template's
/// output is bounded far below), so it is never read: it is a file render did not write.
const MAX_OUTPUT_BYTES: u64 = 64 << 20;

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
    /// A file or folder of the repo that gitgen will not use (a symlink, a FIFO…).
    #[error(transparent)]
    File(#[from] FileError),
    /// A half-done change in `.gitgen/txn` that gitgen did not write as it is.
    #[error("refusing the half-done change in `{}`: {problem}", txn.display())]
    UntrustedJournal {
        /// The transaction folder.
        txn: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// The file or folder that is wrong, when one is.
        #[source]
        source: Option<FileError>,
    },
    /// A unit folder the swap would move aside, which this user may not write in: moving
    /// a folder rewrites its `..`, so it needs write permission on the folder itself.
    #[error("cannot move `{}` aside: this user may not write in the folder itself", path.display())]
    FolderNotMovable {
        /// The folder.
        path: PathBuf,
        /// What the kernel said.
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
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            OutputError::Conflicts { conflicts } => Some(conflicts_hint(conflicts)),
            OutputError::Io { source, .. } => untrusted::io_hint(source),
            OutputError::File(err) => err.hint(),
            OutputError::FolderNotMovable { path, .. } => Some(format!(
                "render replaces a unit by moving its folder, which needs write permission on the folder, not only on its parent: run `chmod u+w {}` as its owner (or render as the owner), then run the command again; nothing was written",
                path.display()
            )),
            OutputError::UntrustedJournal { txn, .. } => Some(format!(
                "gitgen finishes only changes it journaled itself; a repo or pull request can carry a forged one. Look at `{}`, delete it (`rm -r {}`), then check the tree with `git status`",
                txn.display(),
                txn.display()
            )),
        }
    }
}

/// What to do about files render will not clobber, by why it will not: an edit goes into
/// the catalog; a file the lock does not list is most often one gitgen wrote under a lock
/// that `git stash` or `git checkout` has since put back (both leave untracked files).
fn conflicts_hint(conflicts: &[Conflict]) -> String {
    let has = |reason| conflicts.iter().any(|c| c.reason == reason);
    let mut hints = Vec::new();
    if has(ConflictReason::EditedByHand) {
        hints.push("move the change into `catalog/` (or the toggle file)".to_owned());
    }
    if has(ConflictReason::NotWrittenByGitgen) {
        hints.push(
            "if an earlier render wrote them and `git stash` or `git checkout` then put back an older `gitgen.lock` (untracked files stay), `git stash pop` brings that change back, or `git clean -n -- generated overlays argocd` lists the leftovers (`git clean -f -- …` removes them)"
                .to_owned(),
        );
    }
    let force = format!(
        "or run again with `--force` to {} {}",
        if has(ConflictReason::NotWrittenByGitgen) {
            "overwrite or delete"
        } else {
            "discard"
        },
        if conflicts.len() == 1 { "it" } else { "them" }
    );
    format!("{}, {force}", hints.join("; "))
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
            ConflictReason::NotWrittenByGitgen => "not written by gitgen (`gitgen.lock` does not list it)",
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

/// What a plan does with the units that differ from the disk.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    /// Only tell which files change (`render --check`, `status`, `publish`).
    Paths,
    /// Also keep each changed file's old and new text (`gitgen diff`).
    Texts,
    /// Stage each changed unit as soon as it is compared, for [`apply`] to swap in.
    Stage(&'a Staging),
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Modified,
    Deleted,
    Conflict(ConflictReason),
}

/// What comparing one unit with the disk found.
#[derive(Debug, Default)]
pub struct UnitPlan {
    /// Every file that differs, with what happens to it and whether render writes it.
    changes: Vec<(String, Change, bool)>,
    /// With [`Sink::Texts`]: old and new text of each changed file (empty: none).
    texts: Vec<(String, (String, String))>,
    /// The sha256 of every file the unit holds after the render, for the lock.
    hashes: Vec<(String, String)>,
    /// Set when render skipped the unit: its files stay as the old lock records them.
    kept: Option<String>,
}

impl UnitPlan {
    /// A unit render skipped because its inputs did not change.
    pub fn kept(unit: String) -> Self {
        UnitPlan {
            kept: Some(unit),
            ..UnitPlan::default()
        }
    }
}

/// The change a render makes, computed before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to create.
    pub added: BTreeSet<String>,
    /// Files to change.
    pub modified: BTreeSet<String>,
    /// Files to delete.
    pub deleted: BTreeSet<String>,
    /// Files render must not touch without `--force`, sorted by path.
    pub conflicts: Vec<Conflict>,
    /// With [`Sink::Texts`]: each added, modified or deleted file's old and new text
    /// (empty when the file does not exist on that side).
    pub texts: BTreeMap<String, (String, String)>,
    /// The lock to write.
    pub lock: LockFile,
    /// The text of `lock`, serialized once: with many lessons it is megabytes of JSON.
    pub lock_text: String,
    /// The sha256 of `lock_text`.
    lock_digest: String,
    /// The sha256 of the lock file now on disk, if there is one. (Only its digest is
    /// kept: with many lessons its text is megabytes.)
    pub old_lock_digest: Option<String>,
}

impl Plan {
    /// Gathers the units' plans, and the lock that records them: the old lock's entries
    /// for skipped units and outside the render's scope are moved over.
    pub fn gather(
        units: Vec<UnitPlan>,
        scope: &Scope,
        old_lock: Option<LockFile>,
        old_lock_digest: Option<String>,
        new_lock_base: LockFile,
    ) -> Plan {
        let mut plan = Plan {
            old_lock_digest,
            lock: new_lock_base,
            ..Plan::default()
        };
        let kept: BTreeSet<&str> = units.iter().filter_map(|unit| unit.kept.as_deref()).collect();
        if let Some(old) = old_lock {
            plan.lock.files.extend(
                old.files
                    .into_iter()
                    .filter(|(path, _)| !scope.owns(path) || kept.contains(Layout::unit_of(path))),
            );
        }
        for unit in units {
            for (path, change, rendered) in unit.changes {
                match change {
                    Change::Added => plan.added.insert(path),
                    Change::Modified => plan.modified.insert(path),
                    Change::Deleted => plan.deleted.insert(path),
                    Change::Conflict(reason) => {
                        plan.conflicts.push(Conflict { path, reason, rendered });
                        true
                    }
                };
            }
            plan.texts.extend(unit.texts);
            plan.lock.files.extend(unit.hashes);
        }
        plan.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        plan.lock_text = plan.lock.to_text();
        plan.lock_digest = lock::sha256(plan.lock_text.as_bytes());
        plan
    }

    /// One transaction's plan from the plans of several environments (`parts`: each with
    /// its scope and name), every one made against the same disk and the same old lock,
    /// since nothing is swapped in until all are planned: the union of their changes and
    /// conflicts, and a lock whose entries in each environment's scope are that
    /// environment's. `generated/` is in every scope, rendered alike by each.
    pub fn combine(parts: &[(&Plan, &Scope, &str)]) -> Plan {
        let mut combined = Plan::default();
        for (index, (plan, scope, env)) in parts.iter().enumerate() {
            combined.added.extend(plan.added.iter().cloned());
            combined.modified.extend(plan.modified.iter().cloned());
            combined.deleted.extend(plan.deleted.iter().cloned());
            combined
                .texts
                .extend(plan.texts.iter().map(|(k, v)| (k.clone(), v.clone())));
            for conflict in &plan.conflicts {
                if !combined.conflicts.iter().any(|c| c.path == conflict.path) {
                    combined.conflicts.push(conflict.clone());
                }
            }
            if index == 0 {
                combined.lock = plan.lock.clone();
                combined.old_lock_digest.clone_from(&plan.old_lock_digest);
                continue;
            }
            combined.lock.files.retain(|path, _| !scope.owns(path));
            combined.lock.files.extend(
                plan.lock
                    .files
                    .iter()
                    .filter(|(path, _)| scope.owns(path))
                    .map(|(path, hash)| (path.clone(), hash.clone())),
            );
            if let Some(inputs) = plan.lock.environments.get(*env) {
                combined.lock.environments.insert((*env).to_owned(), inputs.clone());
            }
        }
        combined.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        combined.lock_text = combined.lock.to_text();
        combined.lock_digest = lock::sha256(combined.lock_text.as_bytes());
        combined
    }

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
        self.old_lock_digest.as_ref() != Some(&self.lock_digest)
    }

    /// Every path the plan touches (conflicts included), sorted, each with a one-letter
    /// status (`A`, `M`, `D`).
    pub fn summary(&self) -> Vec<(char, &str)> {
        let mut rows: Vec<(char, &str)> = self
            .added
            .iter()
            .map(|p| ('A', p.as_str()))
            .chain(self.modified.iter().map(|p| ('M', p.as_str())))
            .chain(self.deleted.iter().map(|p| ('D', p.as_str())))
            .chain(
                self.conflicts
                    .iter()
                    .map(|c| (if c.rendered { 'M' } else { 'D' }, c.path.as_str())),
            )
            .collect();
        if self.lock_changes() {
            rows.push((if self.old_lock_digest.is_some() { 'M' } else { 'A' }, LOCK_FILE));
        }
        rows.sort_by(|a, b| a.1.cmp(b.1));
        rows
    }
}

/// The lock file as a render found it before changing anything.
pub struct OldLock {
    /// The lock, if the file is a valid one.
    pub lock: Option<LockFile>,
    /// sha256 of the file's text, if there is a file.
    pub digest: Option<String>,
}

impl OldLock {
    /// The lock file whose bytes are `bytes` (`None`: there is no file). A file that is not
    /// a lock, not even text, is no lock: render rewrites it, as it does a lock with a
    /// merge conflict in it.
    pub fn of(bytes: Option<&[u8]>) -> Self {
        OldLock {
            lock: bytes
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(LockFile::parse),
            digest: bytes.map(lock::sha256),
        }
    }
}

/// Reads the lock file at the repo root.
pub fn read_lock(repo: &Path) -> Result<OldLock, OutputError> {
    Ok(OldLock::of(read_lock_bytes(repo)?.as_deref()))
}

/// The lock file's bytes, if there is one.
pub fn read_lock_bytes(repo: &Path) -> Result<Option<Vec<u8>>, OutputError> {
    Ok(untrusted::read(&repo.join(LOCK_FILE), MAX_LOCK_BYTES, "the lock file")?)
}

/// A rendered file's bytes as on disk, if there is one: `Err(None)` when it is too large
/// to be one render wrote (it is not read), `Err(Some(..))` for a file gitgen refuses.
fn read_output(path: &Path) -> Result<Option<Vec<u8>>, Option<FileError>> {
    match untrusted::read(path, MAX_OUTPUT_BYTES, "a rendered file") {
        Ok(bytes) => Ok(bytes),
        Err(FileError::TooLarge { .. }) => Err(None),
        Err(err) => Err(Some(err)),
    }
}

/// A rendered file's bytes for a hash check against the lock: `None` when it is missing,
/// too large to be render's, or refused (the render that follows reports why).
pub(crate) fn read_rendered(path: &Path) -> Option<Vec<u8>> {
    read_output(path).ok().flatten()
}

/// Takes gitgen's process lock, `.gitgen/lock`, so two gitgen processes never write the
/// same tree at once. `.gitgen` may come with the repo: it must be a real folder, and the
/// lock a plain file, opened without following a link and never truncated.
pub fn lock_repo(repo: &Path) -> Result<std::fs::File, OutputError> {
    let state = repo.join(STATE_DIR);
    if !untrusted::folder(&state)? {
        fs_err::create_dir(&state).map_err(|e| OutputError::io("create", &state, e))?;
    }
    let path = repo.join(Layout::process_lock());
    let lock = untrusted::open_lock_file(&path)?;
    lock.lock().map_err(|e| OutputError::io("lock", &path, e))?;
    Ok(lock)
}

/// Checks the folders render reads and writes in (`generated`, `overlays/<env>`,
/// `argocd/<env>` and their parents): each is a real folder of the repo or missing, so
/// no read or write goes through a link out of the repo.
pub fn check_folders(repo: &Path, scope: &Scope) -> Result<(), OutputError> {
    for prefix in &scope.prefixes {
        untrusted::folders_on_the_way(repo, prefix)?;
    }
    Ok(())
}

/// Every file of a unit on disk, as repo-relative paths: the unit itself when it is a
/// file, nothing when it does not exist. A symlink or anything but a plain file or
/// folder is refused with its path, never followed or opened.
pub fn files_on_disk(repo: &Path, unit: &str) -> Result<Vec<String>, OutputError> {
    let mut files = Vec::new();
    let path = repo.join(unit);
    match fs_err::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => walk(repo, &format!("{unit}/"), &mut files)?,
        Ok(meta) => {
            plain_file(&path, meta.file_type())?;
            files.push(unit.to_owned());
        }
        Err(_) => {}
    }
    Ok(files)
}

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
            plain_file(&entry.path(), kind)?;
            out.push(child);
        }
    }
    Ok(())
}

/// Refuses an entry of render's folders that is not a plain file or folder.
fn plain_file(path: &Path, kind: std::fs::FileType) -> Result<(), FileError> {
    if kind.is_symlink() {
        return Err(FileError::Symlink {
            path: path.to_owned(),
            target: fs_err::read_link(path).ok(),
        });
    }
    if !kind.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
            found: untrusted::describe(kind),
            expected: "a plain file",
        });
    }
    Ok(())
}

/// The units now on disk in the render's scope: each entry of `generated/` and of
/// `overlays/<env>/`, and `argocd/<env>` as a whole.
pub fn units_on_disk(repo: &Path, scope: &Scope) -> Result<BTreeSet<String>, OutputError> {
    let mut units = BTreeSet::new();
    for prefix in &scope.prefixes {
        let folder = prefix.trim_end_matches('/');
        // `argocd/<env>` is one unit as a whole; in the other folders each entry is one.
        if Layout::unit_of(&format!("{prefix}x")) == folder {
            units.insert(folder.to_owned());
            continue;
        }
        let root = repo.join(folder);
        let entries = match fs_err::read_dir(&root) {
            Ok(entries) => entries,
            Err(err)
                if err.kind() == std::io::ErrorKind::NotFound || err.kind() == std::io::ErrorKind::NotADirectory =>
            {
                continue;
            }
            Err(err) => return Err(OutputError::io("read", &root, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| OutputError::io("read", &root, e))?;
            let path = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if scope.owns(&path) {
                units.insert(path);
            }
        }
    }
    Ok(units)
}

/// Compares one unit's rendered files with the disk and the previous lock, and with
/// [`Sink::Stage`] stages the unit when anything in it differs.
pub fn plan_unit(
    repo: &Path,
    scope: &Scope,
    unit: &str,
    files: Vec<RenderedFile>,
    old_lock: Option<&LockFile>,
    sink: Sink<'_>,
) -> Result<UnitPlan, OutputError> {
    let recorded = |path: &str| old_lock.and_then(|l| l.files.get(path));
    let mut on_disk = files_on_disk(repo, unit)?;
    on_disk.retain(|p| scope.owns(p));
    let desired: BTreeMap<&str, &str> = files.iter().map(|f| (f.path.as_str(), f.contents.as_str())).collect();
    let candidates: BTreeSet<&str> = on_disk
        .iter()
        .map(String::as_str)
        .chain(desired.keys().copied())
        .collect();
    // Each differing file, with its bytes now on disk.
    type Difference<'p> = (&'p str, Change, Option<Vec<u8>>);
    let compared: Vec<Option<Difference<'_>>> = candidates
        .into_par_iter()
        .map(|path| {
            let current = match read_output(&repo.join(path)) {
                Ok(current) => current,
                Err(Some(refused)) => return Err(refused.into()),
                // Never read, so never render's: a conflict, whatever the lock says.
                Err(None) => {
                    let reason = if recorded(path).is_some() {
                        ConflictReason::EditedByHand
                    } else {
                        ConflictReason::NotWrittenByGitgen
                    };
                    return Ok(Some((path, Change::Conflict(reason), None)));
                }
            };
            let new = desired.get(path);
            if let (Some(new), Some(old)) = (new, &current)
                && old == new.as_bytes()
            {
                return Ok(None);
            }
            let owned_by_render = current
                .as_deref()
                .is_some_and(|old| Some(&lock::sha256(old)) == recorded(path));
            let change = match (new, &current) {
                (Some(_), None) => Change::Added,
                (None, None) => return Ok(None),
                (Some(_), Some(_)) if owned_by_render => Change::Modified,
                (None, Some(_)) if owned_by_render => Change::Deleted,
                (_, Some(_)) if recorded(path).is_some() => Change::Conflict(ConflictReason::EditedByHand),
                (_, Some(_)) => Change::Conflict(ConflictReason::NotWrittenByGitgen),
            };
            Ok(Some((path, change, current)))
        })
        .collect::<Result<_, OutputError>>()?;
    let mut plan = UnitPlan::default();
    for (path, change, old) in compared.into_iter().flatten() {
        let new = desired.get(path).copied();
        if matches!(sink, Sink::Texts) && !matches!(change, Change::Conflict(_)) {
            let old = old.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            plan.texts.push((
                path.to_owned(),
                (old.unwrap_or_default(), new.unwrap_or_default().to_owned()),
            ));
        }
        plan.changes.push((path.to_owned(), change, new.is_some()));
    }
    if let Sink::Stage(staging) = sink
        && !plan.changes.is_empty()
    {
        staging.stage(unit, &files)?;
    }
    plan.hashes = files
        .into_iter()
        .map(|f| {
            let hash = lock::sha256(f.contents.as_bytes());
            (f.path, hash)
        })
        .collect();
    Ok(plan)
}

/// Writes the plan atomically: swaps in the units [`plan_unit`] staged, deletes the
/// units left with no file, and writes `extra` and the lock file in the same
/// transaction. With `force`, conflicting files are overwritten or deleted too; without
/// it, a plan with conflicts is refused before anything is written.
///
/// `extra` are files outside the render's scope that change in the same transaction:
/// `gitgen enable` writes the toggle file this way, so the toggle file and the tree
/// never disagree.
pub fn apply(plan: &Plan, staging: Staging, extra: &[RenderedFile], force: bool) -> Result<(), OutputError> {
    if !plan.conflicts.is_empty() && !force {
        return Err(OutputError::Conflicts {
            conflicts: plan.conflicts.clone(),
        });
    }
    let touched = plan
        .added
        .iter()
        .chain(&plan.modified)
        .chain(&plan.deleted)
        .chain(plan.conflicts.iter().map(|c| &c.path));
    let mut units: Vec<String> = touched
        .map(|p| Layout::unit_of(p))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for file in extra {
        staging.stage(&file.path, std::slice::from_ref(file))?;
        units.push(file.path.clone());
    }
    if plan.lock_changes() {
        let lock = RenderedFile {
            path: LOCK_FILE.to_owned(),
            contents: plan.lock_text.clone(),
        };
        staging.stage(LOCK_FILE, std::slice::from_ref(&lock))?;
        units.push(LOCK_FILE.to_owned());
    }
    staging.commit(&units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::EnvironmentInputs;

    fn scope(env: &str) -> Scope {
        Scope {
            prefixes: vec![
                "generated/".into(),
                format!("overlays/{env}/"),
                format!("argocd/{env}/"),
            ],
            excluded: [format!("overlays/{env}/lessons.yaml")].into(),
        }
    }

    /// A plan of `env` made against an old lock that holds `a/x` and both environments'
    /// bundles: `generated/a/x` changes to `shared`, and its own bundle to `mine`.
    fn plan_of(env: &str, mine: &str, old: &LockFile) -> Plan {
        let mut lock = old.clone();
        lock.files.insert("generated/a/x".into(), "shared".into());
        lock.files.insert(format!("argocd/{env}/root.yaml"), mine.into());
        lock.environments.insert(
            env.into(),
            EnvironmentInputs {
                inputs: format!("{env}-new"),
                enabled: 1,
            },
        );
        let mut plan = Plan {
            lock,
            old_lock_digest: Some("old".into()),
            ..Plan::default()
        };
        plan.modified.insert("generated/a/x".into());
        plan.modified.insert(format!("argocd/{env}/root.yaml"));
        plan
    }

    #[test]
    fn a_combined_plan_keeps_each_environments_own_lock_entries_and_both_changes() {
        let mut old = LockFile::default();
        for (path, hash) in [
            ("generated/a/x", "old"),
            ("argocd/kind/root.yaml", "old"),
            ("argocd/docker-desktop/root.yaml", "old"),
        ] {
            old.files.insert(path.into(), hash.into());
        }
        let first = plan_of("docker-desktop", "dd-new", &old);
        let second = plan_of("kind", "kind-new", &old);
        let (dd, kind) = (scope("docker-desktop"), scope("kind"));
        let combined = Plan::combine(&[(&first, &dd, "docker-desktop"), (&second, &kind, "kind")]);
        let files: Vec<(&str, &str)> = combined
            .lock
            .files
            .iter()
            .map(|(p, h)| (p.as_str(), h.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("argocd/docker-desktop/root.yaml", "dd-new"),
                ("argocd/kind/root.yaml", "kind-new"),
                ("generated/a/x", "shared"),
            ]
        );
        let envs: Vec<(&str, &str)> = combined
            .lock
            .environments
            .iter()
            .map(|(e, i)| (e.as_str(), i.inputs.as_str()))
            .collect();
        assert_eq!(envs, [("docker-desktop", "docker-desktop-new"), ("kind", "kind-new")]);
        assert_eq!(combined.modified.len(), 3);
        assert!(combined.lock_changes());
        assert_eq!(combined.lock_text, combined.lock.to_text());
    }
}
