//! Publishing: commit gitgen's managed paths on a branch and push it, with git2.
//!
//! This module owns building that commit (only the managed paths and the toggle file,
//! taken from the working tree), refusing hand edits render did not make, credentials,
//! the push and what its failures mean, and the URL for opening the pull request. It
//! does not decide which paths are managed, compose the message, or render anything:
//! the caller passes those in.
//!
//! Branch handling: publish never checks files out, so it cannot lose working-tree
//! changes. The commit's tree is the branch's tip (or `HEAD`, for a new branch) with the
//! managed paths replaced by their working-tree content, written straight to
//! `refs/heads/BRANCH`. Once the push succeeds (or when there is nothing to push),
//! `HEAD` points at the branch and the index entries of the managed paths match the
//! commit: what `git switch -c BRANCH && git add PATHS && git commit && git push` leaves,
//! new branch or existing one alike. Switching to an existing branch whose files outside
//! the managed paths differ from `HEAD`'s would rewrite them, so publish refuses that
//! before committing. A remote that is not configured is refused before anything
//! changes; a push that fails leaves `HEAD` where it was, the commit kept on the branch
//! and the working tree untouched. Publish also records the remote as the branch's
//! upstream, so `git pull --rebase` on it works after a non-fast-forward.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use git2::{
    Cred, CredentialType, ErrorClass, ErrorCode, Index, IndexEntry, IndexTime, ObjectType, Oid, PushOptions,
    RemoteCallbacks, Repository,
};

/// What to publish and where.
pub struct PublishRequest<'a> {
    /// Root of a non-bare git repository.
    pub repo: &'a Path,
    /// Branch to commit on: created from `HEAD` or reused.
    pub branch: &'a str,
    /// Remote to push the branch to, by name, when given.
    pub remote: Option<&'a str>,
    /// Repository-relative managed paths (directories and files) and the toggle file; only
    /// these are committed, including deletions under them.
    pub paths: &'a [PathBuf],
    /// Whether a working-tree file under the managed paths is exactly what render wrote.
    /// Asked about every file that is added or modified relative to the branch; deletions
    /// are taken as render's, since it removes the files it no longer writes.
    pub is_render_output: &'a dyn Fn(&Path, &[u8]) -> bool,
    /// Commit changes `is_render_output` does not recognise instead of refusing.
    pub include_local_changes: bool,
    /// The commit message.
    pub message: String,
}

/// What publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The branch's tip after publishing, as 40 hex digits.
    pub commit: String,
    /// The branch committed on.
    pub branch: String,
    /// The remote the branch was pushed to.
    pub pushed_to: Option<String>,
    /// Where to open the pull (or merge) request, for GitHub and GitLab remotes.
    pub pr_url: Option<String>,
    /// True when there was nothing new to commit and the existing tip was used.
    pub unchanged: bool,
    /// The branch `HEAD` was on before (`None`: detached or no commit yet).
    pub started_on: Option<String>,
}

/// Secrets for pushing. `Debug` never shows the token, and nothing here writes it anywhere.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<String>,
}

impl Credentials {
    /// Credentials with an optional HTTPS token (from `GITGEN_GIT_TOKEN`); an empty token is none.
    pub fn new(token: Option<String>) -> Self {
        Credentials {
            token: token.filter(|t| !t.is_empty()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials").field("token", &token).finish()
    }
}

/// Why publishing failed. Push failures always keep the local commit.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not a non-bare repository root.
    #[error("`{}` is not the root of a git working tree", path.display())]
    NotARepository {
        path: PathBuf,
        #[source]
        source: Option<git2::Error>,
    },
    /// The branch name breaks git's rules.
    #[error("`{name}` is not a valid branch name")]
    InvalidBranch { name: String },
    /// A managed path is absolute, leaves the repository, or is not UTF-8.
    #[error("managed path `{}` is not a plain path relative to the repository root", path.display())]
    InvalidManagedPath { path: PathBuf },
    /// `user.name` or `user.email` is not configured.
    #[error("no git identity is configured for commits in `{}`", path.display())]
    NoIdentity {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// Files under the managed paths that render did not write, sorted.
    #[error("the managed paths hold changes that render did not make:\n{}", bullet_list(files))]
    LocalChanges { files: Vec<PathBuf> },
    /// A working-tree file could not be read.
    #[error("could not read `{}`", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A local git operation failed.
    #[error("git could not {action} in `{}`", path.display())]
    Repository {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// No remote of that name (checked before anything changes).
    #[error("remote `{remote}` is not configured in `{}`; nothing was committed", path.display())]
    RemoteNotConfigured { remote: String, path: PathBuf },
    /// The existing branch differs from `HEAD` outside the managed paths, so switching
    /// to it would rewrite those files (checked before anything changes).
    #[error(
        "branch `{branch}` exists and differs from `HEAD` outside gitgen's files, so publishing on it would switch those files too; nothing was committed:\n{}",
        bullet_list(files)
    )]
    BranchDiffers { branch: String, files: Vec<PathBuf> },
    /// Every credential offered was rejected, or none was available.
    #[error("authentication to remote `{remote}` ({url}) failed: {message}")]
    AuthFailed {
        remote: String,
        url: String,
        kept: Box<KeptCommit>,
        message: String,
    },
    /// The remote branch has commits the local one lacks.
    #[error("remote `{remote}` has commits on `{}` that yours does not (non-fast-forward)", kept.branch)]
    NonFastForward {
        remote: String,
        kept: Box<KeptCommit>,
        message: String,
    },
    /// The remote could not be reached (network, DNS, missing path).
    #[error("could not reach remote `{remote}` ({url}): {message}")]
    Unreachable {
        remote: String,
        url: String,
        kept: Box<KeptCommit>,
        message: String,
    },
    /// The remote declined the update (a hook or protection), with what it said.
    #[error("remote `{remote}` refused `{}`: {message}", kept.branch)]
    Refused {
        remote: String,
        kept: Box<KeptCommit>,
        message: String,
    },
}

/// The local commit a failed push leaves in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCommit {
    /// The branch it is on.
    pub branch: String,
    /// Its id, as 40 hex digits.
    pub commit: String,
    /// The branch `HEAD` is still on (`None`: detached or no commit yet).
    pub head: Option<String>,
}

impl fmt::Display for KeptCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = &self.commit[..self.commit.len().min(12)];
        write!(f, "your commit {short} is kept on branch `{}`", self.branch)?;
        match &self.head {
            Some(head) if *head != self.branch => write!(
                f,
                "; you are still on `{head}` and your files are as they were, nothing was lost"
            ),
            _ => write!(f, ", nothing was lost"),
        }
    }
}

impl GitError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            GitError::NotARepository { .. } => {
                "run gitgen at the root of a git clone (`git init` creates one)".to_owned()
            }
            GitError::InvalidBranch { .. } => {
                "use a name `git check-ref-format --branch` accepts, such as `lesson/keda`".to_owned()
            }
            GitError::InvalidManagedPath { .. } => {
                "managed paths must be relative to the repository root and stay inside it".to_owned()
            }
            GitError::NoIdentity { .. } => "set one with `git config user.name \"Your Name\"` and \
                 `git config user.email you@example.com` (add `--global` for every repository)"
                .to_owned(),
            GitError::LocalChanges { .. } => "run `gitgen render` to regenerate them, restore or delete \
                 them (`git restore PATH`), or pass `--include-local-changes` to publish them as they are"
                .to_owned(),
            GitError::ReadFile { .. } => "check that the file is readable".to_owned(),
            GitError::Repository { path, .. } => {
                format!("`git status` in `{}` shows the repository's state", path.display())
            }
            GitError::RemoteNotConfigured { remote, .. } => {
                format!("add it with `git remote add {remote} URL` (`git remote -v` lists remotes), then publish again")
            }
            GitError::BranchDiffers { branch, .. } => format!(
                "publish on a new branch (`--branch {branch}-2`), or `git switch {branch}`, bring it up to date \
                 (`git merge main`), and publish from there"
            ),
            GitError::AuthFailed { kept, .. } => format!(
                "for SSH, load your key into the agent (`ssh-add`); for HTTPS, set `GITGEN_GIT_TOKEN` \
                 or configure a git credential helper; then publish again ({kept})"
            ),
            GitError::NonFastForward { remote, kept, .. } => format!(
                "run `git switch {b} && git pull --rebase {remote} {b}`, then publish again ({kept})",
                b = kept.branch
            ),
            GitError::Unreachable { remote, kept, .. } => {
                format!("check the network and the URL (`git remote get-url {remote}`), then publish again ({kept})")
            }
            GitError::Refused { kept, .. } => format!(
                "the remote's hooks or branch protection declined the push; fix what it says, \
                 then publish again ({kept})"
            ),
        }
    }
}

fn bullet_list(files: &[PathBuf]) -> String {
    let lines: Vec<String> = files.iter().map(|f| format!("  `{}`", f.display())).collect();
    lines.join("\n")
}

/// Commits the managed paths on `req.branch` and pushes it to `req.remote` when given.
pub fn publish(req: &PublishRequest<'_>, credentials: &Credentials) -> Result<Published, GitError> {
    let repo = Repository::open(req.repo).map_err(|source| GitError::NotARepository {
        path: req.repo.to_owned(),
        source: Some(source),
    })?;
    let Some(workdir) = repo.workdir() else {
        return Err(GitError::NotARepository {
            path: req.repo.to_owned(),
            source: None,
        });
    };
    if !git2::Branch::name_is_valid(req.branch).unwrap_or(false) {
        return Err(GitError::InvalidBranch {
            name: req.branch.to_owned(),
        });
    }
    let managed = outermost(req.paths.iter().map(|p| git_path(p)).collect::<Result<_, _>>()?);
    let local = |action| move |source| repo_error(action, workdir, source);

    let refname = format!("refs/heads/{}", req.branch);
    // A push to a remote that does not exist would fail after the commit: refuse first.
    if let Some(remote) = req.remote
        && repo.find_remote(remote).is_err()
    {
        return Err(GitError::RemoteNotConfigured {
            remote: remote.to_owned(),
            path: req.repo.to_owned(),
        });
    }
    let tip = match repo.find_reference(&refname) {
        Ok(reference) => Some(reference.peel_to_commit().map_err(local("read the branch"))?),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(local("read the branch")(e)),
    };
    let head_ref = repo.find_reference("HEAD").map_err(local("read `HEAD`"))?;
    let started_on = head_ref
        .symbolic_target()
        .ok()
        .flatten()
        .and_then(|target| target.strip_prefix("refs/heads/"))
        .map(str::to_owned);
    let on_branch = started_on.as_deref() == Some(req.branch);
    let head_commit = head_ref.resolve().ok().and_then(|r| r.peel_to_commit().ok());
    if let (Some(tip), false) = (&tip, on_branch) {
        let files = differing_outside(&repo, head_commit.as_ref(), tip, &managed)
            .map_err(local("compare the branch with `HEAD`"))?;
        if !files.is_empty() {
            return Err(GitError::BranchDiffers {
                branch: req.branch.to_owned(),
                files,
            });
        }
    }
    let base = match &tip {
        Some(tip) => Some(tip.clone()),
        None => head_commit,
    };
    let base_tree = match &base {
        Some(commit) => Some(commit.tree().map_err(local("read the branch's tree"))?),
        None => None,
    };

    let snapshot = snapshot(&repo, workdir, base_tree.as_ref(), &managed)?;
    if !req.include_local_changes {
        let mut foreign: Vec<PathBuf> = snapshot
            .changed
            .iter()
            .filter(|(path, content)| !(req.is_render_output)(Path::new(path), content))
            .map(|(path, _)| PathBuf::from(path))
            .collect();
        if !foreign.is_empty() {
            foreign.sort();
            return Err(GitError::LocalChanges { files: foreign });
        }
    }

    let mut index = snapshot.index;
    for (_, content) in &snapshot.changed {
        repo.blob(content).map_err(local("write a file's blob"))?;
    }
    let tree_id = index.write_tree_to(&repo).map_err(local("write the tree"))?;

    // Nothing to commit when the tree is the base's: reuse it (a re-run after a failed push).
    let reused = match (&base, &base_tree) {
        (Some(base), Some(tree)) if tree.id() == tree_id => Some(base.id()),
        _ => None,
    };
    let commit = match reused {
        Some(id) => {
            if tip.is_none() {
                repo.reference(&refname, id, false, "gitgen publish: create branch")
                    .map_err(local("create the branch"))?;
            }
            id
        }
        None => {
            let signature = repo.signature().map_err(|source| GitError::NoIdentity {
                path: req.repo.to_owned(),
                source,
            })?;
            let tree = repo.find_tree(tree_id).map_err(local("read the tree"))?;
            let parents: Vec<_> = base.iter().collect();
            repo.commit(Some(&refname), &signature, &signature, &req.message, &tree, &parents)
                .map_err(local("commit"))?
        }
    };
    // On the branch already, `HEAD` moved with the commit: the index follows now.
    if on_branch {
        update_index(&repo, &managed, &snapshot.present).map_err(local("update the index"))?;
    }

    let kept = Box::new(KeptCommit {
        branch: req.branch.to_owned(),
        commit: commit.to_string(),
        head: started_on.clone(),
    });
    let pr_url = match req.remote {
        Some(remote) => push(&repo, req.repo, remote, &refname, kept, credentials)?,
        None => None,
    };
    if !on_branch {
        repo.set_head(&refname).map_err(local("switch `HEAD` to the branch"))?;
        update_index(&repo, &managed, &snapshot.present).map_err(local("update the index"))?;
    }
    Ok(Published {
        commit: commit.to_string(),
        branch: req.branch.to_owned(),
        pushed_to: req.remote.map(str::to_owned),
        pr_url,
        unchanged: reused.is_some(),
        started_on,
    })
}

/// Files outside the managed paths whose content differs between `head` (none: an empty
/// tree) and `tip`: what switching from one to the other would rewrite.
fn differing_outside(
    repo: &Repository,
    head: Option<&git2::Commit<'_>>,
    tip: &git2::Commit<'_>,
    managed: &[String],
) -> Result<Vec<PathBuf>, git2::Error> {
    let head_tree = head.map(git2::Commit::tree).transpose()?;
    let diff = repo.diff_tree_to_tree(head_tree.as_ref(), Some(&tip.tree()?), None)?;
    let mut files: Vec<PathBuf> = diff
        .deltas()
        .filter_map(|delta| delta.new_file().path().or(delta.old_file().path()).map(Path::to_owned))
        .filter(|path| {
            let text = path.to_string_lossy();
            !managed.iter().any(|m| is_under(text.as_bytes(), m))
        })
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The branch's tree with the managed paths replaced by the working tree's content.
struct Snapshot {
    /// The new tree, except that `changed` files still need their blobs written and staged.
    index: Index,
    /// Files added or modified relative to the base, with their content.
    changed: Vec<(String, Vec<u8>)>,
    /// Every file now under the managed paths.
    present: Vec<String>,
}

fn snapshot(
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

fn remove_under(index: &mut Index, path: &str) -> Result<(), git2::Error> {
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

/// Makes the repository's index agree with the new commit for the managed paths, taking
/// stat data from the working tree so `git status` stays fast.
fn update_index(repo: &Repository, managed: &[String], present: &[String]) -> Result<(), git2::Error> {
    let mut index = repo.index()?;
    for path in managed {
        remove_under(&mut index, path)?;
    }
    for path in present {
        index.add_path(Path::new(path))?;
    }
    index.write()
}

/// `paths` without those inside another, so each file is considered once.
fn outermost(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths.dedup();
    let all = paths.clone();
    paths.retain(|p| !all.iter().any(|q| q != p && is_under(p.as_bytes(), q)));
    paths
}

fn is_under(entry: &[u8], path: &str) -> bool {
    entry == path.as_bytes() || (entry.starts_with(path.as_bytes()) && entry.get(path.len()) == Some(&b'/'))
}

/// `path` as git spells it: relative, `/`-separated, without `.` or `..`.
fn git_path(path: &Path) -> Result<String, GitError> {
    let invalid = || GitError::InvalidManagedPath { path: path.to_owned() };
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(invalid)?),
            Component::CurDir => {}
            _ => return Err(invalid()),
        }
    }
    if parts.is_empty() || parts.first() == Some(&".git") {
        return Err(invalid());
    }
    Ok(parts.join("/"))
}

fn repo_error(action: &'static str, path: &Path, source: git2::Error) -> GitError {
    GitError::Repository {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Pushes `refname` to the remote of the same name and returns the pull-request URL.
fn push(
    repo: &Repository,
    repo_path: &Path,
    remote_name: &str,
    refname: &str,
    kept: Box<KeptCommit>,
    credentials: &Credentials,
) -> Result<Option<String>, GitError> {
    let not_configured = || GitError::RemoteNotConfigured {
        remote: remote_name.to_owned(),
        path: repo_path.to_owned(),
    };
    let mut remote = repo.find_remote(remote_name).map_err(|_| not_configured())?;
    let fetch_url = remote.url().map_err(|_| not_configured())?.to_owned();
    let push_url = remote.pushurl().ok().flatten().unwrap_or(&fetch_url).to_owned();
    let url = without_userinfo(&push_url);
    set_upstream(repo, remote_name, &kept.branch, refname)
        .map_err(|source| repo_error("record the branch's upstream", repo_path, source))?;

    let config = repo
        .config()
        .map_err(|source| repo_error("read the config", repo_path, source))?;
    let asker = RefCell::new(CredentialAsker {
        token: credentials.token.as_deref(),
        ..Default::default()
    });
    let rejection = RefCell::new(None::<String>);
    let remote_said = RefCell::new(String::new());
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|url, user, allowed| asker.borrow_mut().next(&config, url, user, allowed));
    callbacks.push_update_reference(|_, status| {
        *rejection.borrow_mut() = status.map(str::to_owned);
        Ok(())
    });
    callbacks.sideband_progress(|text| {
        remote_said.borrow_mut().push_str(&String::from_utf8_lossy(text));
        true
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let result = remote.push(&[format!("{refname}:{refname}")], Some(&mut options));
    drop(options);

    let remote = remote_name.to_owned();
    if let Err(e) = result {
        let message = e.message().to_owned();
        return Err(if asker.borrow().gave_up || e.code() == ErrorCode::Auth {
            GitError::AuthFailed {
                remote,
                url,
                kept,
                message,
            }
        } else if e.code() == ErrorCode::NotFastForward {
            GitError::NonFastForward { remote, kept, message }
        } else {
            GitError::Unreachable {
                remote,
                url,
                kept,
                message,
            }
        });
    }
    if let Some(status) = rejection.into_inner() {
        if status.contains("non-fast-forward") || status.contains("fetch first") {
            return Err(GitError::NonFastForward {
                remote,
                kept,
                message: status,
            });
        }
        let remote_said = remote_said.into_inner();
        let said: Vec<&str> = remote_said
            .lines()
            .flat_map(|line| line.split('\r'))
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let message = if said.is_empty() {
            status
        } else {
            format!("{status}\n{}", said.join("\n"))
        };
        return Err(GitError::Refused { remote, kept, message });
    }
    Ok(pull_request_url(&fetch_url, &kept.branch))
}

/// Records `remote` as the branch's upstream unless it already has one, as `git push -u` does.
fn set_upstream(repo: &Repository, remote: &str, branch: &str, refname: &str) -> Result<(), git2::Error> {
    let mut config = repo.config()?;
    let key = format!("branch.{branch}.remote");
    if config.get_string(&key).is_err() {
        config.set_str(&key, remote)?;
        config.set_str(&format!("branch.{branch}.merge"), refname)?;
    }
    Ok(())
}

/// Answers libgit2's credential requests, each method at most once: libgit2 asks again
/// after every rejected attempt, so without this a wrong token would loop forever.
#[derive(Default)]
struct CredentialAsker<'t> {
    token: Option<&'t str>,
    tried_username: bool,
    tried_agent: bool,
    tried_token: bool,
    tried_helper: bool,
    gave_up: bool,
}

impl CredentialAsker<'_> {
    fn next(
        &mut self,
        config: &git2::Config,
        url: &str,
        user: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        if allowed.contains(CredentialType::USERNAME) && !self.tried_username {
            self.tried_username = true;
            return Cred::username(user.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) && !self.tried_agent {
            self.tried_agent = true;
            return Cred::ssh_key_from_agent(user.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(token) = self.token.filter(|_| !self.tried_token) {
                self.tried_token = true;
                // GitHub and GitLab accept a token as the password with any user name.
                return Cred::userpass_plaintext(user.unwrap_or("x-access-token"), token);
            }
            if !self.tried_helper {
                self.tried_helper = true;
                if let Ok(cred) = Cred::credential_helper(config, url, user) {
                    return Ok(cred);
                }
            }
        }
        self.gave_up = true;
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Callback,
            "the remote rejected every credential gitgen could offer",
        ))
    }
}

/// `url` without any `user:password@`, safe to show.
fn without_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

/// The page that opens a pull request from `branch` on GitHub, or a merge request on GitLab.
fn pull_request_url(remote_url: &str, branch: &str) -> Option<String> {
    let (host, path) = match remote_url.split_once("://") {
        Some((_, rest)) => {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            (host.split(':').next()?, path)
        }
        // scp-like syntax: `git@github.com:owner/repo.git`
        None => {
            let (user_host, path) = remote_url.split_once(':')?;
            (user_host.rsplit('@').next()?, path)
        }
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let branch = percent_encode(branch);
    match host.to_ascii_lowercase().as_str() {
        "github.com" if segments.len() == 2 => Some(format!("https://github.com/{path}/compare/{branch}?expand=1")),
        "gitlab.com" => Some(format!(
            "https://gitlab.com/{path}/-/merge_requests/new?merge_request[source_branch]={branch}"
        )),
        _ => None,
    }
}

/// Escapes what a branch name may hold but a URL may not; `/` stays readable.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Who [`initial_commit`] committed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialCommit {
    /// The commit, as 40 hex digits.
    pub commit: String,
    /// `Name <email>` of the author.
    pub author: String,
    /// True when git has no identity configured and [`FALLBACK_NAME`] was used.
    pub fallback_identity: bool,
}

/// The author of `gitgen init`'s commit when git has no `user.name`/`user.email`.
pub const FALLBACK_NAME: &str = "gitgen init";
/// Its e-mail address.
pub const FALLBACK_EMAIL: &str = "gitgen@localhost";

/// Commits every file of the new repo at `repo` (`.gitignore` respected) as the first
/// commit of the branch `HEAD` names, with the configured git identity or, without
/// one, [`FALLBACK_NAME`], so `gitgen init` works on a machine where git is not set up.
pub fn initial_commit(repo: &Path, message: &str) -> Result<InitialCommit, GitError> {
    let repository = Repository::open(repo).map_err(|source| GitError::NotARepository {
        path: repo.to_owned(),
        source: Some(source),
    })?;
    let local = |action| move |source| repo_error(action, repo, source);
    let mut index = repository.index().map_err(local("read the index"))?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(local("stage the new repo's files"))?;
    index.write().map_err(local("write the index"))?;
    let tree_id = index.write_tree().map_err(local("write the tree"))?;
    let tree = repository.find_tree(tree_id).map_err(local("read the tree"))?;
    let (signature, fallback_identity) = match repository.signature() {
        Ok(signature) => (signature, false),
        Err(_) => (
            git2::Signature::now(FALLBACK_NAME, FALLBACK_EMAIL).map_err(local("make a signature"))?,
            true,
        ),
    };
    let commit = repository
        .commit(Some("HEAD"), &signature, &signature, message, &tree, &[])
        .map_err(local("commit"))?;
    let author = format!(
        "{} <{}>",
        signature.name().unwrap_or_default(),
        signature.email().unwrap_or_default()
    );
    Ok(InitialCommit {
        commit: commit.to_string(),
        author,
        fallback_identity,
    })
}

/// The text of `path` (repo-relative) in the commit `HEAD` points at, if there is one.
/// Publish compares the toggle file with it to write the commit message.
pub fn read_at_head(repo: &Path, path: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_https_and_ssh_remotes_give_a_compare_url() {
        let expected = Some("https://github.com/o/r/compare/lesson/keda?expand=1".to_owned());
        assert_eq!(pull_request_url("https://github.com/o/r.git", "lesson/keda"), expected);
        assert_eq!(pull_request_url("https://github.com/o/r", "lesson/keda"), expected);
        assert_eq!(pull_request_url("git@github.com:o/r.git", "lesson/keda"), expected);
        assert_eq!(
            pull_request_url("ssh://git@github.com/o/r.git", "lesson/keda"),
            expected
        );
        assert_eq!(pull_request_url("https://me@github.com/o/r/", "lesson/keda"), expected);
    }

    #[test]
    fn gitlab_remotes_with_subgroups_give_a_merge_request_url() {
        assert_eq!(
            pull_request_url("git@gitlab.com:group/sub/r.git", "lesson/keda").as_deref(),
            Some("https://gitlab.com/group/sub/r/-/merge_requests/new?merge_request[source_branch]=lesson/keda")
        );
    }

    #[test]
    fn other_hosts_and_local_paths_give_no_url() {
        assert_eq!(pull_request_url("https://git.example.com/o/r.git", "b"), None);
        assert_eq!(pull_request_url("/srv/git/r.git", "b"), None);
        assert_eq!(pull_request_url("git://127.0.0.1:9418/r.git", "b"), None);
    }

    #[test]
    fn branch_names_are_escaped_in_the_url() {
        assert_eq!(
            pull_request_url("https://github.com/o/r", "fix#1&x").as_deref(),
            Some("https://github.com/o/r/compare/fix%231%26x?expand=1")
        );
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let shown = format!("{:?}", Credentials::new(Some("s3cret-token".to_owned())));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn an_empty_token_counts_as_none() {
        assert!(Credentials::new(Some(String::new())).token.is_none());
    }

    #[test]
    fn userinfo_is_removed_from_urls_shown_in_errors() {
        assert_eq!(
            without_userinfo("https://u:tok@example.com/o/r"),
            "https://example.com/o/r"
        );
        assert_eq!(without_userinfo("git@github.com:o/r.git"), "git@github.com:o/r.git");
    }

    #[test]
    fn managed_paths_must_stay_inside_the_repository() {
        assert_eq!(git_path(Path::new("./apps/base")).unwrap(), "apps/base");
        for bad in ["../x", "/abs", "", ".git/config", "a/../../b"] {
            assert!(git_path(Path::new(bad)).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn each_credential_method_is_tried_once_then_it_gives_up() {
        let config = git2::Config::new().unwrap();
        let mut asker = CredentialAsker {
            token: Some("t"),
            ..Default::default()
        };
        let pass = CredentialType::USER_PASS_PLAINTEXT;
        assert!(asker.next(&config, "https://h/o/r", None, pass).is_ok());
        // An empty config has no helper, so the second request ends the attempts.
        let Err(err) = asker.next(&config, "https://h/o/r", None, pass) else {
            panic!("a second credential was offered");
        };
        assert_eq!(err.code(), ErrorCode::Auth);
        assert!(asker.gave_up);
    }
}
