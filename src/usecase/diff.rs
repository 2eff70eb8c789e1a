//! `gitgen diff`: what render would change, file by file, for several environments.
//! `gitgen.lock` is summarised as a count of the hashes that change: its lines are noise
//! to a reviewer.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::Error;
use crate::names::EnvName;
use crate::output::diff::{changed_hashes, unified};
use crate::output::{self, Freshness, Sink};
use crate::settings::Settings;
use crate::workspace::Inputs;

/// What a conflict means to a reviewer.
pub const CONFLICT: &str = "changed outside gitgen; render would refuse it without --force";

/// What render would change (`diff -o json` as it is).
#[derive(Debug, Serialize)]
pub struct DiffReport {
    /// Whether render would change anything (exit code 1).
    pub changed: bool,
    /// The environments covered, in order.
    pub environments: Vec<EnvName>,
    /// Every file render would write or remove, each once, sorted by path.
    pub files: Vec<FileDiff>,
    /// Whether `gitgen.lock` would change.
    #[serde(skip)]
    pub lock_changes: bool,
    /// Lock entries (file, lesson and environment hashes) that render would change.
    pub lock_hashes_updated: usize,
    /// Files changed outside gitgen, which render refuses without `--force`.
    pub conflicts: Vec<ConflictRow>,
}

/// One file's change.
#[derive(Debug, Serialize)]
pub struct FileDiff {
    /// Repo-relative, with `/`.
    pub path: String,
    /// `A` added, `M` modified, `D` deleted.
    pub status: char,
    /// The unified diff.
    pub diff: String,
}

/// A file render would refuse to touch.
#[derive(Debug, Serialize)]
pub struct ConflictRow {
    /// Repo-relative, with `/`.
    pub path: String,
    /// [`CONFLICT`].
    pub message: &'static str,
}

/// What render would change in the environments of `every`, settings of one repo, each
/// rendered in full: a diff that trusted the lock would hide an edit made with it.
pub fn diff(every: Vec<Settings>) -> Result<DiffReport, Error> {
    let environments = every.iter().map(|settings| settings.env_name.clone()).collect();
    // A file of `generated/` is every environment's: shown once.
    let mut texts: BTreeMap<String, (char, String, String)> = BTreeMap::new();
    let mut conflicts = BTreeSet::new();
    let mut lock_keys = BTreeSet::new();
    let mut lock_changes = false;
    for settings in every {
        let workspace = Inputs::read(settings)?.load()?;
        let plan = workspace.plan(Freshness::Full, Sink::Texts)?.plan;
        if plan.lock_changes() {
            lock_changes = true;
            let old = output::read_lock(&workspace.settings.repo)?.lock;
            lock_keys.extend(changed_hashes(old.as_ref(), &plan.lock));
        }
        conflicts.extend(plan.conflicts.iter().map(|c| c.path.clone()));
        let statuses: BTreeMap<String, char> = plan
            .summary()
            .into_iter()
            .map(|(status, path)| (path.to_owned(), status))
            .collect();
        for (path, (old, new)) in plan.texts {
            let status = statuses.get(&path).copied().unwrap_or('M');
            texts.entry(path).or_insert((status, old, new));
        }
    }
    let files: Vec<FileDiff> = texts
        .into_iter()
        .map(|(path, (status, old, new))| FileDiff {
            diff: unified(&path, &old, &new),
            path,
            status,
        })
        .collect();
    Ok(DiffReport {
        changed: !files.is_empty() || !conflicts.is_empty() || lock_changes,
        environments,
        files,
        lock_changes,
        lock_hashes_updated: lock_keys.len(),
        conflicts: conflicts
            .into_iter()
            .map(|path| ConflictRow {
                path,
                message: CONFLICT,
            })
            .collect(),
    })
}
