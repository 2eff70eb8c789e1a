//! The first commit of a new repo, made by `gitgen init`.

use std::path::Path;

use git2::Repository;

use super::error::{GitError, repo_error};

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
