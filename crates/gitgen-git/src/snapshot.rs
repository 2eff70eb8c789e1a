//! Reading trees: the working tree's files under the managed paths laid over a base
//! revision, and one file as the commit `HEAD` points at holds it.

use std::collections::HashMap;
use std::path::Path;

use git2::{Index, IndexEntry, IndexTime, ObjectType, Oid, Repository};

use super::error::{GitError, repo_error};

/// The branch's tree with the managed paths replaced by the working tree's content.
pub(super) struct Snapshot {
    /// The new tree, except that `changed` files still need their blobs written and staged.
    pub(super) index: Index,
    /// Files added or modified relative to the base, with their content.
    pub(super) changed: Vec<(String, Vec<u8>)>,
    /// Every file now under the managed paths.
    pub(super) present: Vec<String>,
}

pub(super) fn snapshot(
    repo: &Repository,
    workdir: &Path,
    base: Option<&git2::Tree<'_>>,
    managed: &[String],
) -> Result<Snapshot, GitError> {
    let fail = |action| move |source| repo_error(action, workdir, source);
    let mut index = Index::new().map_err(fail("create an index"))?;
    if let Some(tree) = base {
        index.read_tree(tree).map_err(fail("read the branch's tree"))?;
    }
    let mut files = Vec::new();
    for path in managed {
        collect_files(repo, workdir, path, &index, &mut files)?;
    }
    let before: HashMap<Vec<u8>, (Oid, u32)> = index
        .iter()
        .filter(|e| managed.iter().any(|path| is_under(&e.path, path)))
        .map(|e| (e.path, (e.id, e.mode)))
        .collect();
    for path in managed {
        remove_under(&mut index, path).map_err(fail("unstage a path"))?;
    }
    let (mut changed, mut present) = (Vec::new(), Vec::new());
    for (file, mode, content) in files {
        // Only hashed for now: blobs are written once publish knows it will commit.
        let id = Oid::hash_object(ObjectType::Blob, &content).map_err(fail("hash a file"))?;
        index
            .add(&entry(&file, mode, id, content.len()))
            .map_err(fail("stage a file"))?;
        if before.get(file.as_bytes()) != Some(&(id, mode)) {
            changed.push((file.clone(), content));
        }
        present.push(file);
    }
    Ok(Snapshot {
        index,
        changed,
        present,
    })
}

pub(super) fn remove_under(index: &mut Index, path: &str) -> Result<(), git2::Error> {
    index.remove_dir(Path::new(path), 0)?;
    if index.get_path(Path::new(path), 0).is_some() {
        index.remove(Path::new(path), 0)?;
    }
    Ok(())
}

/// Adds every file at or under `path` in the working tree, skipping ignored files
/// that the base does not track.
fn collect_files(
    repo: &Repository,
    workdir: &Path,
    path: &str,
    base: &Index,
    out: &mut Vec<(String, u32, Vec<u8>)>,
) -> Result<(), GitError> {
    let full = workdir.join(path);
    let read_error = |source| GitError::ReadFile {
        path: full.clone(),
        source,
    };
    let meta = match fs_err::symlink_metadata(&full) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_error(e)),
    };
    let tracked = base.get_path(Path::new(path), 0).is_some();
    if !tracked && repo.is_path_ignored(path).unwrap_or(false) {
        return Ok(());
    }
    if meta.is_dir() {
        if full.join(".git").exists() {
            return Ok(()); // a nested repository is not ours to commit
        }
        for dir_entry in fs_err::read_dir(&full).map_err(read_error)? {
            let name = dir_entry.map_err(read_error)?.file_name();
            let Some(name) = name.to_str() else {
                return Err(GitError::InvalidManagedPath { path: full.join(name) });
            };
            collect_files(repo, workdir, &format!("{path}/{name}"), base, out)?;
        }
    } else if meta.file_type().is_symlink() {
        let target = fs_err::read_link(&full).map_err(read_error)?;
        out.push((
            path.to_owned(),
            0o120000,
            target.to_string_lossy().into_owned().into_bytes(),
        ));
    } else if meta.is_file() {
        let content = fs_err::read(&full).map_err(read_error)?;
        out.push((path.to_owned(), file_mode(&meta), content));
    }
    Ok(())
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        0o100755
    } else {
        0o100644
    }
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> u32 {
    0o100644
}

fn entry(path: &str, mode: u32, id: Oid, len: usize) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(len).unwrap_or(u32::MAX),
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

pub(super) fn is_under(entry: &[u8], path: &str) -> bool {
    entry == path.as_bytes() || (entry.starts_with(path.as_bytes()) && entry.get(path.len()) == Some(&b'/'))
}

/// The text of `path` (repo-relative) in the commit `HEAD` points at, if there is one.
/// Publish compares the toggle file with it to name the lessons changed.
pub(super) fn read_at_head(repo: &Path, path: &str) -> Option<String> {
    let repository = Repository::open(repo).ok()?;
    let tree = repository.head().ok()?.peel_to_tree().ok()?;
    let blob = tree
        .get_path(Path::new(path))
        .ok()?
        .to_object(&repository)
        .ok()?
        .peel_to_blob()
        .ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}
