//! `gitgen publish --branch B [--push REMOTE]`: the pull request, ready to open. It
//! commits everything a clean clone needs for `gitgen render --check` to pass: the
//! rendered tree and lock of every environment, the toggle files, `gitgen.yaml` and
//! `catalog/`.

use std::path::{Path, PathBuf};

use gitgen::git::{self, Credentials, PublishRequest};
use gitgen::layout::LOCK_FILE;
use gitgen::output::lock::sha256;
use gitgen::output::{self, Freshness, Sink};
use gitgen::workspace::Inputs;

use crate::Outcome;
use crate::cli::{GlobalArgs, PublishArgs};

pub fn run(global: &GlobalArgs, args: &PublishArgs) -> anyhow::Result<Outcome> {
    let every = super::every_settings(global)?;
    if let Some(settings) = every.first() {
        super::warn_placeholder_repo_url(settings);
    }
    let first = every.first().cloned();
    let repo = first.as_ref().map(|s| s.repo.clone()).unwrap_or_default();
    // Every file under gitgen's folders must be what render writes, for every
    // environment: anything else is a change render did not make (or a render not run
    // yet), which is not ours to commit, and would fail `render --check` in CI.
    let mut stale = std::collections::BTreeSet::new();
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
        // Never `--include-local-changes` here: a branch whose fresh clone fails
        // `render --check` fails CI, and the lesson it carries never reaches Argo CD.
        let render = match (&global.env, &first) {
            (Some(_), Some(settings)) => settings.command("render"),
            (None, Some(settings)) => settings.command_for_every_environment("render"),
            (_, None) => "gitgen render".to_owned(),
        };
        return Err(gitgen::Error::Usage {
            message: format!(
                "{} file(s) under gitgen's folders differ from what render writes, and publish commits only a tree \
                 that passes `gitgen render --check`:\n{}",
                stale.len(),
                stale.into_iter().collect::<Vec<_>>().join("\n")
            ),
            hint: Some(format!(
                "run `{render}` (it rewrites them; `gitgen diff` shows how first), then publish again"
            )),
        }
        .into());
    }
    let paths: Vec<PathBuf> = git::PUBLISHED.into_iter().map(PathBuf::from).collect();
    let recorded = output::read_lock(&repo)
        .map_err(gitgen::Error::from)?
        .lock
        .map(|l| l.files)
        .unwrap_or_default();
    // Sources are the trainer's to change; rendered files must hash as the lock says.
    let is_render_output = |path: &Path, bytes: &[u8]| {
        let path = path.to_string_lossy().replace('\\', "/");
        git::is_source(&path) || path == LOCK_FILE || recorded.get(&path) == Some(&sha256(bytes))
    };
    let message = args.message.clone().unwrap_or_else(|| git::commit_message(&changes));
    let request = PublishRequest {
        repo: &repo,
        branch: &args.branch,
        remote: args.push.as_deref(),
        paths: &paths,
        is_render_output: &is_render_output,
        include_local_changes: false,
        message,
    };
    let credentials = Credentials::new(first.and_then(|settings| settings.process.git_token));
    let published = git::publish(&request, &credentials).map_err(gitgen::Error::from)?;
    let short = &published.commit[..published.commit.len().min(12)];
    let branch = &published.branch;
    if published.unchanged {
        println!("Nothing new to commit; branch `{branch}` is at {short}.");
    } else {
        println!("Committed {short} on branch `{branch}`.");
    }
    match published.started_on.as_deref() {
        Some(start) if start == branch => println!("HEAD is on `{branch}`, as it was."),
        Some(start) => println!("HEAD is now on `{branch}` (you were on `{start}`; `git switch {start}` goes back)."),
        None => println!("HEAD is now on `{branch}`."),
    }
    println!("Your working tree is unchanged; gitgen's files in it are committed.");
    match (&published.pushed_to, &published.pr_url) {
        (Some(remote), Some(url)) => println!("Pushed to `{remote}`. Open the pull request: {url}"),
        (Some(remote), None) => println!("Pushed `{branch}` to `{remote}`; open a pull request from it."),
        (None, _) => println!("Not pushed; run again with `--push origin` to push."),
    }
    Ok(Outcome::Success)
}
