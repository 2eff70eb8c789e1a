//! Publishing: commit gitgen's managed paths on a branch and push it, with git2.
//!
//! This module owns building that commit (only the managed paths and the toggle file,
//! taken from the working tree), refusing hand edits render did not make, credentials,
//! the push and what its failures mean, and the URL for opening the pull request; and,
//! for `gitgen publish`, which paths it commits, which of them are sources, and the
//! commit message. It renders nothing: the caller says which files render wrote.
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
//!
//! One file per concern: `publish` commits the tree on the branch, `snapshot` reads the
//! working tree over a revision (and a file at `HEAD`), `push` hands credentials to the
//! transport and explains a failed push, `transport` carries it over HTTP(S) and SSH,
//! `forge` reads remote URLs, `init` makes a new repo's first commit, and `error` says
//! what each can fail with.

mod error;
mod forge;
mod init;
mod publish;
mod push;
mod snapshot;
mod transport;

pub use error::{GitError, KeptCommit};
pub use forge::file_url;
pub use init::{FALLBACK_EMAIL, FALLBACK_NAME, InitialCommit, initial_commit};
pub use publish::{PUBLISHED, PublishRequest, Published, commit_message, is_source, lesson_changes, publish};
pub use push::Credentials;
