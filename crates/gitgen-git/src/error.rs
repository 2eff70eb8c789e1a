//! What publishing and committing can fail with, and what the user can do about each.

use std::fmt;
use std::path::{Path, PathBuf};

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
    /// The SSH URL's user, host or path begins with `-`, which `ssh` would read as an
    /// option (git's CVE-2017-1000117): refused before anything ran.
    #[error("remote `{remote}` ({url}) has an SSH {part} that ssh would read as an option: `{value}`")]
    UnsafeSshUrl {
        remote: String,
        url: String,
        part: &'static str,
        value: String,
        kept: Box<KeptCommit>,
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
            GitError::LocalChanges { .. } => {
                "run `gitgen render` to regenerate them, or restore or delete them (`git restore PATH`)".to_owned()
            }
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
            GitError::UnsafeSshUrl { remote, kept, .. } => format!(
                "a user, host or path of an SSH URL never begins with `-`; fix the URL with \
                 `git remote set-url {remote} URL`, then publish again ({kept})"
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

pub(super) fn repo_error(action: &'static str, path: &Path, source: git2::Error) -> GitError {
    GitError::Repository {
        action,
        path: path.to_owned(),
        source,
    }
}
