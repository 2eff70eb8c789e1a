//! `gitgen publish`: what may be committed, and the commit. Everything a clean clone needs
//! for `gitgen render --check` to pass: the rendered tree and lock of every environment,
//! the toggle files, `gitgen.yaml` and `catalog/`, and nothing render did not write.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::git::{self, Credentials, PublishRequest, Published};
use crate::layout::LOCK_FILE;
use crate::output::lock::sha256;
use crate::output::{self, Freshness, Sink};
use crate::settings::Settings;
use crate::workspace::Inputs;

/// Where to publish, and how.
pub struct PublishOptions<'a> {
    /// The branch to commit on.
    pub branch: &'a str,
    /// The remote to push it to, when given.
    pub remote: Option<&'a str>,
    /// The commit message; by default, the lessons enabled, moved and disabled.
    pub message: Option<String>,
    /// Whether `--env` narrowed the command to one environment (the hint to render then
    /// names it).
    pub one_environment: bool,
}

/// Commits the rendered tree of the environments of `every` (settings of one repo) on the
/// branch `options` names, and pushes it when asked. Refuses when a file under gitgen's
/// folders is not what render writes.
pub fn publish(
    every: Vec<Settings>,
    options: PublishOptions<'_>,
    credentials: &Credentials,
) -> Result<Published, Error> {
    let first = every.first().cloned();
    let repo = first.as_ref().map(|s| s.repo.clone()).unwrap_or_default();
    // Every file under gitgen's folders must be what render writes, for every
    // environment: anything else is a change render did not make (or a render not run
    // yet), which is not ours to commit, and would fail `render --check` in CI.
    let mut stale = BTreeSet::new();
    let mut changes = Vec::new();
    for settings in every {
        let workspace = Inputs::read(settings)?.load()?;
        let plan = workspace.plan(Freshness::Full, Sink::Paths)?.plan;
        stale.extend(
            plan.summary()
                .into_iter()
                .map(|(status, path)| format!("  {status} {path}")),
        );
        changes.extend(git::lesson_changes(
            &workspace.settings,
            &workspace.catalog,
            &workspace.selection,
        ));
    }
    if !stale.is_empty() {
        // Never `include_local_changes` here: a branch whose fresh clone fails
        // `render --check` fails CI, and the lesson it carries never reaches Argo CD.
        let render = match (options.one_environment, &first) {
            (true, Some(settings)) => settings.command("render"),
            (false, Some(settings)) => settings.command_for_every_environment("render"),
            (_, None) => "gitgen render".to_owned(),
        };
        return Err(Error::Usage {
            message: format!(
                "{} file(s) under gitgen's folders differ from what render writes, and publish commits only a tree \
                 that passes `gitgen render --check`:\n{}",
                stale.len(),
                stale.into_iter().collect::<Vec<_>>().join("\n")
            ),
            hint: Some(format!(
                "run `{render}` (it rewrites them; `gitgen diff` shows how first), then publish again"
            )),
        });
    }
    let paths: Vec<PathBuf> = git::PUBLISHED.into_iter().map(PathBuf::from).collect();
    let recorded = output::read_lock(&repo)?.lock.map(|l| l.files).unwrap_or_default();
    // Sources are the trainer's to change; rendered files must hash as the lock says.
    let is_render_output = |path: &Path, bytes: &[u8]| {
        let path = path.to_string_lossy().replace('\\', "/");
        git::is_source(&path) || path == LOCK_FILE || recorded.get(&path) == Some(&sha256(bytes))
    };
    let request = PublishRequest {
        repo: &repo,
        branch: options.branch,
        remote: options.remote,
        paths: &paths,
        is_render_output: &is_render_output,
        include_local_changes: false,
        message: options.message.unwrap_or_else(|| git::commit_message(&changes)),
    };
    Ok(git::publish(&request, credentials)?)
}
