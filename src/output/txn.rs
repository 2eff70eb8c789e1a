//! The atomic swap: a change is a set of units (a lesson's folder, an environment's
//! bundle, the lock file), each built complete in `.gitgen/txn/stage/`, then moved into
//! place by renames listed in a journal. Renames within one file system are atomic; the
//! journal makes the set of them complete even across a kill.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OutputError;

/// gitgen's private folder at the repo root (ignored by git).
pub const STATE_DIR: &str = ".gitgen";
const TXN_DIR: &str = ".gitgen/txn";
const JOURNAL: &str = ".gitgen/txn/journal.json";

/// The unit a repo path belongs to: the folder swapped as a whole when it changes.
pub fn unit_of(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let depth = match parts.first() {
        Some(&"generated") => 2,                   // generated/<lesson>
        Some(&"overlays") if parts.len() > 3 => 3, // overlays/<env>/<lesson>
        Some(&"argocd") => 2,                      // argocd/<env>
        _ => parts.len(),                          // a single file
    };
    parts[..depth.min(parts.len())].join("/")
}

/// Where a staged file's contents come from.
pub enum Contents<'a> {
    /// Write this text.
    Text(&'a str),
    /// Copy the file now in place (it did not change).
    Existing,
}

/// The new state of one unit: all its files (none: the unit is deleted).
pub struct UnitChange<'a> {
    /// Repo-relative unit path.
    pub unit: String,
    /// Every file the unit will hold, by repo-relative path.
    pub files: Vec<(String, Contents<'a>)>,
}

#[derive(Serialize, Deserialize)]
struct Journal {
    /// In order: (unit, whether a staged replacement exists).
    units: Vec<(String, bool)>,
}

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> OutputError + 'p {
    move |err| OutputError::io(action, path, err)
}

fn staged(repo: &Path, index: usize) -> PathBuf {
    repo.join(TXN_DIR).join("stage").join(index.to_string())
}

fn trashed(repo: &Path, index: usize) -> PathBuf {
    repo.join(TXN_DIR).join("trash").join(index.to_string())
}

/// Stages every unit, writes the journal (the commit point), then swaps.
pub fn commit(repo: &Path, changes: &[UnitChange<'_>]) -> Result<(), OutputError> {
    let txn = repo.join(TXN_DIR);
    if txn.exists() {
        fs_err::remove_dir_all(&txn).map_err(io("clean up", &txn))?;
    }
    for sub in ["stage", "trash"] {
        let dir = txn.join(sub);
        fs_err::create_dir_all(&dir).map_err(io("create", &dir))?;
    }
    let mut journal = Journal { units: Vec::new() };
    for (index, change) in changes.iter().enumerate() {
        let target = staged(repo, index);
        let single_file = change.files.len() == 1 && change.files[0].0 == change.unit;
        for (path, contents) in &change.files {
            let destination = if single_file {
                target.clone()
            } else {
                target.join(path.strip_prefix(&format!("{}/", change.unit)).unwrap_or(path))
            };
            if let Some(parent) = destination.parent() {
                fs_err::create_dir_all(parent).map_err(io("create", parent))?;
            }
            match contents {
                Contents::Text(text) => fs_err::write(&destination, text).map_err(io("write", &destination))?,
                Contents::Existing => {
                    let source = repo.join(path);
                    fs_err::copy(&source, &destination).map_err(io("copy", &source))?;
                }
            }
        }
        journal.units.push((change.unit.clone(), !change.files.is_empty()));
    }
    let journal_path = repo.join(JOURNAL);
    let temporary = journal_path.with_extension("tmp");
    fs_err::write(&temporary, serde_json::to_vec(&journal).expect("a journal serializes"))
        .map_err(io("write", &temporary))?;
    fs_err::rename(&temporary, &journal_path).map_err(io("write", &journal_path))?;
    replay(repo, &journal)
}

/// Moves each unit into place. Every step checks what is already done, so running it
/// again after a kill at any point finishes the same change.
fn replay(repo: &Path, journal: &Journal) -> Result<(), OutputError> {
    for (index, (unit, has_replacement)) in journal.units.iter().enumerate() {
        let live = repo.join(unit);
        let stage = staged(repo, index);
        let trash = trashed(repo, index);
        let staged_pending = !*has_replacement || stage.exists();
        if staged_pending && fs_err::symlink_metadata(&live).is_ok() && fs_err::symlink_metadata(&trash).is_err() {
            fs_err::rename(&live, &trash).map_err(io("move aside", &live))?;
        }
        if *has_replacement && stage.exists() {
            if let Some(parent) = live.parent() {
                fs_err::create_dir_all(parent).map_err(io("create", parent))?;
            }
            fs_err::rename(&stage, &live).map_err(io("move into place", &live))?;
        }
    }
    let txn = repo.join(TXN_DIR);
    let journal_path = repo.join(JOURNAL);
    // Removing the journal ends the transaction; the trash goes after it.
    fs_err::remove_file(&journal_path).map_err(io("remove", &journal_path))?;
    fs_err::remove_dir_all(&txn).map_err(io("clean up", &txn))?;
    Ok(())
}

/// Finishes a change a killed gitgen left half-swapped, or drops one it left half-staged.
/// Every command that reads the tree calls this first.
pub fn recover(repo: &Path) -> Result<bool, OutputError> {
    let journal_path = repo.join(JOURNAL);
    match fs_err::read(&journal_path) {
        Ok(bytes) => match serde_json::from_slice::<Journal>(&bytes) {
            Ok(journal) => replay(repo, &journal).map(|()| true),
            // A journal is written whole by a rename, so an unreadable one was never
            // committed: the tree is the old one.
            Err(_) => clean(repo),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => clean(repo),
        Err(err) => Err(OutputError::io("read", &journal_path, err)),
    }
}

fn clean(repo: &Path) -> Result<bool, OutputError> {
    let txn = repo.join(TXN_DIR);
    if txn.exists() {
        fs_err::remove_dir_all(&txn).map_err(io("clean up", &txn))?;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_paths_into_swappable_units() {
        assert_eq!(unit_of("generated/keda/operator/kustomization.yaml"), "generated/keda");
        assert_eq!(unit_of("overlays/kind/keda/kustomization.yaml"), "overlays/kind/keda");
        assert_eq!(unit_of("argocd/kind/apps/keda.yaml"), "argocd/kind");
        assert_eq!(unit_of("gitgen.lock"), "gitgen.lock");
    }

    #[test]
    fn replaying_a_journal_twice_leaves_the_new_tree() {
        let repo = tempfile::tempdir().unwrap();
        let old = repo.path().join("generated/a");
        fs_err::create_dir_all(&old).unwrap();
        fs_err::write(old.join("x.yaml"), "old\n").unwrap();
        let change = UnitChange {
            unit: "generated/a".into(),
            files: vec![("generated/a/x.yaml".into(), Contents::Text("new\n"))],
        };
        commit(repo.path(), &[change]).unwrap();
        assert_eq!(fs_err::read_to_string(old.join("x.yaml")).unwrap(), "new\n");
        // A second recovery finds nothing to do and changes nothing.
        assert!(!recover(repo.path()).unwrap());
        assert_eq!(fs_err::read_to_string(old.join("x.yaml")).unwrap(), "new\n");
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
        for index in 0..2 {
            let stage = staged(repo.path(), index);
            fs_err::create_dir_all(&stage).unwrap();
            fs_err::write(stage.join("f"), "new").unwrap();
        }
        fs_err::create_dir_all(repo.path().join(TXN_DIR).join("trash")).unwrap();
        let journal = Journal {
            units: vec![("generated/a".into(), true), ("generated/b".into(), true)],
        };
        fs_err::write(repo.path().join(JOURNAL), serde_json::to_vec(&journal).unwrap()).unwrap();
        fs_err::rename(repo.path().join("generated/a"), trashed(repo.path(), 0)).unwrap();
        fs_err::rename(staged(repo.path(), 0), repo.path().join("generated/a")).unwrap();

        assert!(recover(repo.path()).unwrap());
        for unit in ["generated/a", "generated/b"] {
            assert_eq!(fs_err::read_to_string(repo.path().join(unit).join("f")).unwrap(), "new");
        }
        assert!(!repo.path().join(TXN_DIR).exists());
    }
}
