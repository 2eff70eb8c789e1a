//! The atomic swap: a change is a set of units (a lesson's folder, an environment's
//! bundle, the lock file), each built complete in `.gitgen/txn/stage/`, then moved into
//! place by renames listed in a journal. Renames within one file system are atomic; the
//! journal makes the set of them complete even across a kill.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::OutputError;
use gitgen_base::files::RenderedFile;
use gitgen_base::layout::Layout;
use gitgen_base::untrusted::{self, FileError};

/// A journal lists units, a few dozen bytes each; even 10,000 lessons' fit well under this.
const MAX_JOURNAL_BYTES: u64 = 64 << 20;

/// A transaction being prepared: units are staged complete under `.gitgen/txn/stage/`,
/// at their own paths, from any thread and in any order, while render goes on; then
/// [`Staging::commit`] writes the journal (the commit point) and swaps them in. Dropped
/// without a commit, it removes what it staged: the tree was never touched.
pub struct Staging {
    repo: PathBuf,
    /// The units staged so far.
    staged: Mutex<BTreeSet<String>>,
    committed: bool,
}

#[derive(Serialize, Deserialize)]
struct Journal {
    /// In order: (unit, whether a staged replacement exists).
    units: Vec<(String, bool)>,
}

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> OutputError + 'p {
    move |err| OutputError::io(action, path, err)
}

fn staged(repo: &Path, unit: &str) -> PathBuf {
    repo.join(Layout::txn_dir()).join("stage").join(unit)
}

fn trashed(repo: &Path, unit: &str) -> PathBuf {
    repo.join(Layout::txn_dir()).join("trash").join(unit)
}

impl Staging {
    /// Starts a transaction. Nothing is created until a unit is staged, so a render that
    /// changes nothing writes nothing, not even here.
    pub fn begin(repo: &Path) -> Result<Self, OutputError> {
        clean(repo)?;
        Ok(Staging {
            repo: repo.to_owned(),
            staged: Mutex::default(),
            committed: false,
        })
    }

    /// Writes a unit's new files (repo-relative paths inside `unit`, or `unit` itself for
    /// a single-file unit) to the staging area. A unit staged with no file is deleted.
    ///
    /// A unit already staged is left as it is: the environments of one transaction all
    /// render `generated/`, alike.
    pub fn stage(&self, unit: &str, files: &[RenderedFile]) -> Result<(), OutputError> {
        if files.is_empty() || self.staged.lock().expect("staging lock").contains(unit) {
            return Ok(());
        }
        let target = staged(&self.repo, unit);
        let mut created: Option<PathBuf> = None;
        for file in files {
            let destination = match file.path.strip_prefix(unit) {
                Some("") => target.clone(),
                Some(rest) => target.join(rest.trim_start_matches('/')),
                None => unreachable!("`{}` is staged in a unit that does not hold it", file.path),
            };
            let parent = destination.parent().expect("a staged file has a parent");
            // Files come sorted by path, so each folder is created once, not per file.
            if created.as_deref() != Some(parent) {
                fs_err::create_dir_all(parent).map_err(io("create", parent))?;
                created = Some(parent.to_owned());
            }
            fs_err::write(&destination, &file.contents).map_err(io("write", &destination))?;
        }
        self.staged.lock().expect("staging lock").insert(unit.to_owned());
        Ok(())
    }

    /// Writes the journal for `units` (each replaced by its staged files, or deleted when
    /// none were staged), then swaps them in.
    pub fn commit(mut self, units: &[String]) -> Result<(), OutputError> {
        if units.is_empty() {
            return Ok(());
        }
        check_writable(&self.repo, units)?;
        let staged = std::mem::take(&mut *self.staged.lock().expect("staging lock"));
        let journal = Journal {
            units: units.iter().map(|unit| (unit.clone(), staged.contains(unit))).collect(),
        };
        fs_err::create_dir_all(self.repo.join(Layout::txn_dir()).join("trash")).map_err(io("create", &self.repo))?;
        let journal_path = self.repo.join(Layout::txn_journal());
        let temporary = journal_path.with_extension("tmp");
        fs_err::write(&temporary, serde_json::to_vec(&journal).expect("a journal serializes"))
            .map_err(io("write", &temporary))?;
        fs_err::rename(&temporary, &journal_path).map_err(io("write", &journal_path))?;
        self.committed = true;
        replay(&self.repo, &journal)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the next gitgen command cleans up what this leaves.
            let _ = clean(&self.repo);
        }
    }
}

/// Refuses, before the journal makes the change one that must be finished, a change whose
/// folders gitgen cannot write in (a folder of someone else, a read-only mount): a rename
/// there would fail halfway through the swap, leaving part of the change in place until
/// the next command finishes it. Each folder a unit is moved into (or the closest one
/// that exists, which the swap creates the rest in) gets one probe file, created and
/// removed: a permission check alone would pass root on a read-only mount. Each unit
/// that is a folder is moved aside to the trash, which rewrites its `..` entry, so the
/// folder itself must be writable too, not only its parent (rename(2), `EACCES`).
fn check_writable(repo: &Path, units: &[String]) -> Result<(), OutputError> {
    let needs = WriteNeeds::of(repo, units);
    for folder in &needs.written_in {
        tempfile::Builder::new()
            .prefix(".gitgen-probe")
            .tempfile_in(folder)
            // The probe's random name would only puzzle: the folder is what to fix.
            .map_err(|err| {
                let bare = err
                    .raw_os_error()
                    .map_or_else(|| std::io::Error::from(err.kind()), std::io::Error::from_raw_os_error);
                OutputError::io("write in", folder, bare)
            })?;
    }
    for folder in &needs.moved {
        may_move(folder).map_err(|source| OutputError::FolderNotMovable {
            path: folder.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The folders a swap of `units` writes in, as they are on disk now.
#[derive(Debug, PartialEq, Eq)]
struct WriteNeeds {
    /// Folders a unit is moved into or out of: each unit's parent, or its closest
    /// existing ancestor.
    written_in: BTreeSet<PathBuf>,
    /// Units that are folders now, which the swap moves aside.
    moved: Vec<PathBuf>,
}

impl WriteNeeds {
    fn of(repo: &Path, units: &[String]) -> Self {
        let mut needs = WriteNeeds {
            written_in: BTreeSet::new(),
            moved: Vec::new(),
        };
        for unit in units {
            let live = repo.join(unit);
            if fs_err::symlink_metadata(&live).is_ok_and(|meta| meta.is_dir()) {
                needs.moved.push(live.clone());
            }
            let mut folder = live.parent().map(Path::to_path_buf);
            while let Some(dir) = folder.as_deref()
                && fs_err::symlink_metadata(dir).is_err()
            {
                folder = dir.parent().map(Path::to_path_buf);
            }
            needs.written_in.extend(folder);
        }
        needs
    }
}

/// Whether this process may move the folder `path` to another folder: write and search
/// permission on it, as the kernel decides for the effective user (its capabilities,
/// ACLs and read-only mounts included), asked with `faccessat(…, AT_EACCESS)`.
fn may_move(path: &Path) -> Result<(), std::io::Error> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call; faccessat only
    // reads it.
    let status = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Moves each unit into place. Every step checks what is already done, so running it
/// again after a kill at any point finishes the same change.
fn replay(repo: &Path, journal: &Journal) -> Result<(), OutputError> {
    for (unit, has_replacement) in &journal.units {
        let live = repo.join(unit);
        let stage = staged(repo, unit);
        let trash = trashed(repo, unit);
        let staged_pending = !*has_replacement || stage.exists();
        if staged_pending && fs_err::symlink_metadata(&live).is_ok() && fs_err::symlink_metadata(&trash).is_err() {
            if let Some(parent) = trash.parent() {
                fs_err::create_dir_all(parent).map_err(io("create", parent))?;
            }
            fs_err::rename(&live, &trash).map_err(io("move aside", &live))?;
        }
        if *has_replacement && stage.exists() {
            if let Some(parent) = live.parent() {
                fs_err::create_dir_all(parent).map_err(io("create", parent))?;
            }
            fs_err::rename(&stage, &live).map_err(io("move into place", &live))?;
        }
    }
    let txn = repo.join(Layout::txn_dir());
    let journal_path = repo.join(Layout::txn_journal());
    // Removing the journal ends the transaction; the trash goes after it.
    fs_err::remove_file(&journal_path).map_err(io("remove", &journal_path))?;
    fs_err::remove_dir_all(&txn).map_err(io("clean up", &txn))?;
    Ok(())
}

/// Finishes a change a killed gitgen left half-swapped, or drops one it left half-staged.
/// Every command that reads the tree calls this first.
///
/// `.gitgen/` may come with the repo (git keeps force-added files), so a journal is
/// checked before it is replayed: it may name only units render writes, under real
/// folders of the repo and of the staging area. Anything else is refused and left in
/// place for the user to look at, never replayed and never deleted.
pub fn recover(repo: &Path) -> Result<bool, OutputError> {
    let txn = repo.join(Layout::txn_dir());
    let refuse = |problem: &str, source: Option<FileError>| OutputError::UntrustedJournal {
        txn: txn.clone(),
        problem: problem.to_owned(),
        source,
    };
    if !untrusted::folder(&txn).map_err(|err| refuse("it is not a folder gitgen made", Some(err)))? {
        return Ok(false);
    }
    let journal_path = repo.join(Layout::txn_journal());
    let Some(bytes) = untrusted::read(&journal_path, MAX_JOURNAL_BYTES, "a journal")
        .map_err(|err| refuse("its journal cannot be used", Some(err)))?
    else {
        // No journal: a change killed before its commit point, which never touched the tree.
        return clean(repo);
    };
    // A journal is written whole and then renamed into place, so one that does not parse
    // was not written by gitgen.
    let journal: Journal =
        serde_json::from_slice(&bytes).map_err(|_| refuse("`journal.json` is not a journal gitgen wrote", None))?;
    for (unit, _) in &journal.units {
        if !Layout::is_unit_name(unit) {
            let problem = format!(
                "the journal names `{}`, which is not a folder or file render writes",
                unit.escape_debug()
            );
            return Err(refuse(&problem, None));
        }
        let on_the_way = |root: &Path, relative: &str| {
            untrusted::folders_on_the_way(root, relative).map_err(|err| {
                refuse(
                    &format!("a folder on the way to `{unit}` is not a plain folder"),
                    Some(err),
                )
            })
        };
        on_the_way(repo, unit)?;
        on_the_way(&txn, &format!("stage/{unit}"))?;
        on_the_way(&txn, &format!("trash/{unit}"))?;
        let stage = staged(repo, unit);
        if fs_err::symlink_metadata(&stage).is_ok_and(|meta| meta.file_type().is_symlink()) {
            let link = FileError::Symlink {
                target: fs_err::read_link(&stage).ok(),
                path: stage,
            };
            return Err(refuse(
                &format!("the staged `{unit}` is not what render stages"),
                Some(link),
            ));
        }
    }
    replay(repo, &journal).map(|()| true)
}

fn clean(repo: &Path) -> Result<bool, OutputError> {
    let txn = repo.join(Layout::txn_dir());
    // Not `exists()`, which follows a link: a link is removed as a link.
    if fs_err::symlink_metadata(&txn).is_ok() {
        fs_err::remove_dir_all(&txn).map_err(io("clean up", &txn))?;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_units_render_writes_and_nothing_else() {
        for unit in [
            "generated/keda",
            "generated/README.md",
            "overlays/kind/keda",
            "overlays/kind/lessons.yaml",
            "argocd/kind",
            "gitgen.lock",
        ] {
            assert!(Layout::is_unit_name(unit), "{unit}");
        }
        for unit in [
            "../outside",
            "/etc/passwd",
            "generated",
            "generated/..",
            "generated/a/b",
            "overlays/../x",
            "overlays/Kind/a",
            "argocd/kind/apps",
            "catalog/keda",
            "",
            ".gitgen/lock",
        ] {
            assert!(!Layout::is_unit_name(unit), "{unit}");
        }
    }

    #[test]
    fn a_journal_naming_a_path_outside_the_repo_is_refused_and_left_in_place() {
        let sandbox = tempfile::tempdir().unwrap();
        let repo = sandbox.path().join("repo");
        let outside = sandbox.path().join("outside");
        fs_err::create_dir_all(repo.join(Layout::txn_dir())).unwrap();
        fs_err::create_dir_all(&outside).unwrap();
        fs_err::write(outside.join("f"), "keep").unwrap();
        let journal = Journal {
            units: vec![("../outside".into(), false)],
        };
        fs_err::write(repo.join(Layout::txn_journal()), serde_json::to_vec(&journal).unwrap()).unwrap();
        let err = recover(&repo).unwrap_err();
        assert!(matches!(err, OutputError::UntrustedJournal { .. }), "{err}");
        assert_eq!(fs_err::read_to_string(outside.join("f")).unwrap(), "keep");
        assert!(repo.join(Layout::txn_journal()).exists());
    }

    #[test]
    fn a_journal_unit_under_a_symlinked_folder_is_refused() {
        let sandbox = tempfile::tempdir().unwrap();
        let repo = sandbox.path().join("repo");
        let outside = sandbox.path().join("outside");
        fs_err::create_dir_all(outside.join("a")).unwrap();
        fs_err::create_dir_all(repo.join(Layout::txn_dir())).unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("generated")).unwrap();
        let journal = Journal {
            units: vec![("generated/a".into(), false)],
        };
        fs_err::write(repo.join(Layout::txn_journal()), serde_json::to_vec(&journal).unwrap()).unwrap();
        let err = recover(&repo).unwrap_err();
        assert!(
            matches!(
                &err,
                OutputError::UntrustedJournal {
                    source: Some(FileError::Symlink { .. }),
                    ..
                }
            ),
            "{err}"
        );
        assert!(outside.join("a").is_dir());
    }

    #[test]
    fn an_unreadable_journal_is_refused_not_deleted() {
        let repo = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(repo.path().join(Layout::txn_dir())).unwrap();
        fs_err::write(repo.path().join(Layout::txn_journal()), "{ not json").unwrap();
        assert!(matches!(
            recover(repo.path()),
            Err(OutputError::UntrustedJournal { .. })
        ));
        assert!(repo.path().join(Layout::txn_journal()).exists());
    }

    #[test]
    fn replaying_a_journal_twice_leaves_the_new_tree() {
        let repo = tempfile::tempdir().unwrap();
        let old = repo.path().join("generated/a");
        fs_err::create_dir_all(&old).unwrap();
        fs_err::write(old.join("x.yaml"), "old\n").unwrap();
        let staging = Staging::begin(repo.path()).unwrap();
        let file = RenderedFile {
            path: "generated/a/x.yaml".into(),
            contents: "new\n".into(),
        };
        staging.stage("generated/a", &[file]).unwrap();
        staging.commit(&["generated/a".to_owned()]).unwrap();
        assert_eq!(fs_err::read_to_string(old.join("x.yaml")).unwrap(), "new\n");
        // A second recovery finds nothing to do and changes nothing.
        assert!(!recover(repo.path()).unwrap());
        assert_eq!(fs_err::read_to_string(old.join("x.yaml")).unwrap(), "new\n");
    }

    #[test]
    fn a_staging_dropped_without_commit_removes_what_it_staged_and_leaves_the_tree() {
        let repo = tempfile::tempdir().unwrap();
        let live = repo.path().join("generated/a/x.yaml");
        fs_err::create_dir_all(live.parent().unwrap()).unwrap();
        fs_err::write(&live, "old\n").unwrap();
        let staging = Staging::begin(repo.path()).unwrap();
        let file = RenderedFile {
            path: "generated/a/x.yaml".into(),
            contents: "new\n".into(),
        };
        staging.stage("generated/a", &[file]).unwrap();
        assert!(staged(repo.path(), "generated/a").exists());
        drop(staging);
        assert!(!repo.path().join(Layout::txn_dir()).exists());
        assert_eq!(fs_err::read_to_string(&live).unwrap(), "old\n");
    }

    #[test]
    fn a_unit_folder_is_checked_itself_and_a_new_units_closest_existing_folder_is_probed() {
        let repo = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(repo.path().join("generated/a")).unwrap();
        fs_err::create_dir_all(repo.path().join("overlays/kind")).unwrap();
        fs_err::write(repo.path().join("overlays/kind/lessons.yaml"), "").unwrap();
        let units = [
            "generated/a",
            "generated/b",
            "argocd/kind",
            "overlays/kind/lessons.yaml",
        ]
        .map(String::from);
        let needs = WriteNeeds::of(repo.path(), &units);
        let root = repo.path();
        assert_eq!(
            needs,
            WriteNeeds {
                written_in: [root.to_owned(), root.join("generated"), root.join("overlays/kind")].into(),
                // A file unit is moved by its folder's permission alone; a new unit is not moved aside.
                moved: vec![root.join("generated/a")],
            }
        );
    }

    #[test]
    fn recovery_finishes_a_swap_killed_halfway() {
        let repo = tempfile::tempdir().unwrap();
        for unit in ["generated/a", "generated/b"] {
            fs_err::create_dir_all(repo.path().join(unit)).unwrap();
            fs_err::write(repo.path().join(unit).join("f"), "old").unwrap();
        }
        // Stage two units and write the journal by hand, then do only the first swap,
        // as if the process died right after it.
        for unit in ["generated/a", "generated/b"] {
            let stage = staged(repo.path(), unit);
            fs_err::create_dir_all(&stage).unwrap();
            fs_err::write(stage.join("f"), "new").unwrap();
        }
        fs_err::create_dir_all(repo.path().join(Layout::txn_dir()).join("trash")).unwrap();
        let journal = Journal {
            units: vec![("generated/a".into(), true), ("generated/b".into(), true)],
        };
        fs_err::write(
            repo.path().join(Layout::txn_journal()),
            serde_json::to_vec(&journal).unwrap(),
        )
        .unwrap();
        fs_err::create_dir_all(trashed(repo.path(), "generated")).unwrap();
        fs_err::rename(repo.path().join("generated/a"), trashed(repo.path(), "generated/a")).unwrap();
        fs_err::rename(staged(repo.path(), "generated/a"), repo.path().join("generated/a")).unwrap();

        assert!(recover(repo.path()).unwrap());
        for unit in ["generated/a", "generated/b"] {
            assert_eq!(fs_err::read_to_string(repo.path().join(unit).join("f")).unwrap(), "new");
        }
        assert!(!repo.path().join(Layout::txn_dir()).exists());
    }
}
