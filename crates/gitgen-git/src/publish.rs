//! Committing gitgen's managed paths on a branch, never checking files out: the commit's
//! tree is the branch's tip (or `HEAD`) with the managed paths replaced by the working
//! tree's, and `HEAD` and the index follow only once the push (if any) succeeded.
//!
//! It also says what `gitgen publish` commits ([`PUBLISHED`]), which of those paths are
//! the trainer's sources rather than render output, and the commit message that names
//! the lessons enabled, moved and disabled since `HEAD`.

use std::path::{Component, Path, PathBuf};

use git2::{ErrorCode, Repository};

use super::error::{GitError, KeptCommit, repo_error};
use super::push::{Credentials, push};
use super::snapshot::{is_under, read_at_head, remove_under, snapshot};
use gitgen_base::layout::{ARGOCD_DIR, CATALOG_DIR, GENERATED_DIR, LOCK_FILE, Layout, OVERLAYS_DIR};
use gitgen_base::names::{EnvName, LessonId};
use gitgen_catalog::Catalog;
use gitgen_catalog::config::CONFIG_FILE;
use gitgen_catalog::toggle::{Selection, ToggleFile};
use gitgen_settings::Settings;

/// What `gitgen publish` commits: everything a clean clone needs for `gitgen render
/// --check` to pass, render's folders and lock and the sources it renders from.
pub const PUBLISHED: [&str; 6] = [
    GENERATED_DIR,
    OVERLAYS_DIR,
    ARGOCD_DIR,
    LOCK_FILE,
    CONFIG_FILE,
    CATALOG_DIR,
];

/// Whether `path` (repo-relative) is a source the trainer edits rather than render output.
pub fn is_source(path: &str) -> bool {
    path == CONFIG_FILE || Layout::is_catalog_file(path) || Layout::is_toggle_file(path)
}

/// "enable keda (publisher) in kind" and the like: how the environment's lessons changed
/// from the toggle file at `HEAD` (none there, or one that no longer checks, counts as
/// no lesson enabled) to `now`.
pub fn lesson_changes(settings: &Settings, catalog: &Catalog, now: &Selection) -> Vec<String> {
    let toggle = settings.layout().toggle_path();
    let before = read_at_head(&settings.repo, &toggle)
        .map(|text| ToggleFile {
            path: toggle.into(),
            text,
        })
        .and_then(|file| file.selection(catalog, &settings.env_name).ok())
        .unwrap_or_default();
    describe_changes(&settings.env_name, &before, now)
}

/// The message of publish's commit when the user gives none.
pub fn commit_message(changes: &[String]) -> String {
    if changes.is_empty() {
        "gitgen: re-render".to_owned()
    } else {
        format!("gitgen: {}", changes.join(", "))
    }
}

/// Lessons enabled or moved, in lesson order, then the lessons disabled.
fn describe_changes(env: &EnvName, before: &Selection, now: &Selection) -> Vec<String> {
    let change = now.change_from(before);
    let enabled = change
        .enabled
        .iter()
        .map(|(id, stage)| (*id, format!("enable {id} ({stage}) in {env}")));
    let moved = change
        .moved
        .iter()
        .map(|(id, old, new)| (*id, format!("move {id} from {old} to {new} in {env}")));
    let mut changes: Vec<(&LessonId, String)> = enabled.chain(moved).collect();
    changes.sort_by_key(|(id, _)| *id);
    let disabled = change.disabled.iter().map(|(id, _)| format!("disable {id} in {env}"));
    changes.into_iter().map(|(_, text)| text).chain(disabled).collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use gitgen_base::names::StageName;
    use gitgen_catalog::toggle::SelectedStage;

    /// A selection of `(lesson, stage)`; stage indexes do not matter to the message.
    fn selection(lessons: &[(&str, &str)]) -> Selection {
        let lessons = lessons.iter().map(|(id, stage)| {
            let stage = SelectedStage {
                name: StageName::new(*stage).unwrap(),
                index: 0,
            };
            (LessonId::new(*id).unwrap(), stage)
        });
        Selection {
            lessons: lessons.collect(),
        }
    }

    #[test]
    fn lessons_enabled_and_moved_are_named_in_lesson_order_then_those_disabled() {
        let env = EnvName::new("kind").unwrap();
        let before = selection(&[("alpha", "base"), ("beta", "service"), ("delta", "base")]);
        let now = selection(&[
            ("alpha", "base"),
            ("beta", "ingress"),
            ("aardvark", "base"),
            ("gamma", "base"),
        ]);
        assert_eq!(
            describe_changes(&env, &before, &now),
            [
                "enable aardvark (base) in kind",
                "move beta from service to ingress in kind",
                "enable gamma (base) in kind",
                "disable delta in kind",
            ]
        );
    }

    #[test]
    fn an_unchanged_selection_has_no_lesson_changes() {
        let env = EnvName::new("kind").unwrap();
        let same = selection(&[("alpha", "base")]);
        assert_eq!(describe_changes(&env, &same, &same), Vec::<String>::new());
    }

    #[test]
    fn the_message_lists_the_changes_or_says_re_render_when_there_are_none() {
        assert_eq!(commit_message(&[]), "gitgen: re-render");
        let changes = [
            "enable alpha (base) in kind".to_owned(),
            "disable beta in kind".to_owned(),
        ];
        assert_eq!(
            commit_message(&changes),
            "gitgen: enable alpha (base) in kind, disable beta in kind"
        );
    }

    #[test]
    fn sources_are_the_config_the_catalog_and_toggle_files_and_nothing_render_writes() {
        for source in ["gitgen.yaml", "catalog/keda/lesson.yaml", "overlays/kind/lessons.yaml"] {
            assert!(is_source(source), "{source}");
        }
        for rendered in [
            "gitgen.lock",
            "generated/keda/base/kustomization.yaml",
            "overlays/kind/keda/kustomization.yaml",
            "argocd/kind/lessons.yaml",
            "catalogue.yaml",
        ] {
            assert!(!is_source(rendered), "{rendered}");
        }
    }

    #[test]
    fn managed_paths_must_stay_inside_the_repository() {
        assert_eq!(git_path(Path::new("./apps/base")).unwrap(), "apps/base");
        for bad in ["../x", "/abs", "", ".git/config", "a/../../b"] {
            assert!(git_path(Path::new(bad)).is_err(), "{bad} was accepted");
        }
    }
}
