//! `gitgen publish --branch B [--push REMOTE]`: the pull request, ready to open.

use std::path::{Path, PathBuf};

use gitgen::catalog::Selection;
use gitgen::catalog::toggle::{ToggleFile, toggle_path};
use gitgen::git::{self, Credentials, PublishRequest};
use gitgen::output::lock::sha256;
use gitgen::output::{self, LOCK_FILE, Sink};
use gitgen::workspace::{Freshness, Workspace};

use crate::Outcome;
use crate::cli::{GlobalArgs, PublishArgs};

pub fn run(global: &GlobalArgs, args: &PublishArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open(global)?;
    // Every file under gitgen's folders must be what render writes: anything else is a
    // change render did not make (or a render not run yet), which is not ours to commit.
    let stale = workspace.plan(Freshness::Full, Sink::Paths)?.plan;
    if !stale.is_up_to_date() && !args.include_local_changes {
        let files: Vec<String> = stale
            .summary()
            .iter()
            .map(|(status, path)| format!("  {status} {path}"))
            .collect();
        return Err(gitgen::Error::Usage {
            message: format!(
                "{} file(s) under gitgen's folders differ from what render writes:\n{}",
                files.len(),
                files.join("\n")
            ),
            hint: Some(
                "run `gitgen render` (see `gitgen diff`), or pass `--include-local-changes` to commit them as they are"
                    .to_owned(),
            ),
        }
        .into());
    }
    let env = &workspace.settings.env_name;
    let toggle = toggle_path(env);
    let paths: Vec<PathBuf> = [
        "generated".to_owned(),
        format!("overlays/{env}"),
        format!("argocd/{env}"),
        LOCK_FILE.to_owned(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    let lock = output::read_lock(&workspace.settings.repo)?.lock;
    let recorded = lock.map(|l| l.files).unwrap_or_default();
    let is_render_output = |path: &Path, bytes: &[u8]| {
        let path = path.to_string_lossy().replace('\\', "/");
        path == toggle || path == LOCK_FILE || recorded.get(&path) == Some(&sha256(bytes))
    };
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| commit_message(&workspace, &toggle));
    let request = PublishRequest {
        repo: &workspace.settings.repo,
        branch: &args.branch,
        remote: args.push.as_deref(),
        paths: &paths,
        is_render_output: &is_render_output,
        include_local_changes: args.include_local_changes,
        message,
    };
    let credentials = Credentials::new(std::env::var("GITGEN_GIT_TOKEN").ok());
    let published = git::publish(&request, &credentials).map_err(gitgen::Error::from)?;
    let short = &published.commit[..published.commit.len().min(12)];
    if published.unchanged {
        println!("Nothing new to commit; branch `{}` is at {short}.", published.branch);
    } else {
        println!("Committed {short} on branch `{}`.", published.branch);
    }
    match (&published.pushed_to, &published.pr_url) {
        (Some(remote), Some(url)) => println!("Pushed to `{remote}`. Open the pull request: {url}"),
        (Some(remote), None) => println!(
            "Pushed `{}` to `{remote}`; open a pull request from it.",
            published.branch
        ),
        (None, _) => println!("Not pushed; run again with `--push origin` to push."),
    }
    Ok(Outcome::Success)
}

/// "gitgen: enable keda (publisher), statefulsets (rabbitmq)" and the like, from the
/// toggle file at `HEAD` and now.
fn commit_message(workspace: &Workspace, toggle: &str) -> String {
    let env = &workspace.settings.env_name;
    let before = git::read_at_head(&workspace.settings.repo, toggle)
        .map(|text| ToggleFile {
            path: toggle.into(),
            text,
        })
        .and_then(|file| file.selection(&workspace.catalog, env).ok())
        .unwrap_or_default();
    let after: &Selection = &workspace.selection;
    let mut changes = Vec::new();
    for (id, stage) in &after.lessons {
        match before.lessons.get(id) {
            None => changes.push(format!("enable {id} ({stage})")),
            Some(old) if old != stage => changes.push(format!("move {id} from {old} to {stage}")),
            Some(_) => {}
        }
    }
    for id in before.lessons.keys().filter(|id| !after.lessons.contains_key(*id)) {
        changes.push(format!("disable {id}"));
    }
    if changes.is_empty() {
        format!("gitgen: re-render {env}")
    } else {
        format!("gitgen({env}): {}", changes.join(", "))
    }
}
