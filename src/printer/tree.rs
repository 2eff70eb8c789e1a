//! What the repo commands report: `render`, `diff`, `publish` and `init`.

use std::io::IsTerminal;

use gitgen::git::Published;
use gitgen::layout::LOCK_FILE;
use gitgen::usecase::diff::DiffReport;
use gitgen::usecase::init::Initialized;
use gitgen::usecase::render::{EnvironmentRendered, FileChange, RenderReport};
use serde::Serialize;

/// `render -o json`: the environments covered and every file that differs (`--check`) or
/// was written or removed, each once.
#[derive(Serialize)]
struct RenderJson<'a> {
    check: bool,
    up_to_date: bool,
    environments: &'a [gitgen::names::EnvName],
    files: Vec<&'a FileChange>,
}

/// `render -o json`.
pub fn render_json(report: &RenderReport, check: bool) -> Result<String, gitgen::Error> {
    super::json(&RenderJson {
        check,
        up_to_date: report.up_to_date(),
        environments: &report.environments,
        files: report.files.iter().collect(),
    })
}

/// What each environment's render did, on stderr whatever the output format.
pub fn environments_rendered(report: &RenderReport) {
    for part in &report.rendered {
        environment_rendered(part);
    }
}

/// `render`'s table: every file on stdout, and with `--check` whether the tree is up to
/// date.
pub fn render_table(report: &RenderReport, check: bool) {
    for file in &report.files {
        println!("{} {}", file.status, file.path);
    }
    if check {
        let envs = super::quoted(&report.environments);
        if report.up_to_date() {
            eprintln!("The rendered tree for {envs} is up to date.");
        } else {
            eprintln!(
                "{} file(s) differ from what `gitgen render` would write for {envs}.",
                report.files.len()
            );
        }
    }
}

/// One environment's render: the toggle file it created, and what it rendered.
fn environment_rendered(part: &EnvironmentRendered) {
    let (env, lessons, enabled) = (&part.env, part.lessons, part.enabled);
    if let Some(path) = &part.created_toggle_file {
        eprintln!("Created `{path}`, the toggle file of `{env}`: every lesson listed, none enabled.");
        eprintln!(
            "hint: enable lessons with `{}`, then run `{}` against its cluster",
            part.command.gitgen("enable LESSON"),
            part.command.gitgen("bootstrap")
        );
    }
    if part.files == 0 {
        if part.created_toggle_file.is_none() {
            eprintln!("Nothing changed ({lessons} lessons, {enabled} enabled in `{env}`).");
        }
    } else if part.rendered == 0 {
        // Files changed with no lesson re-rendered: the environment's own files (its
        // Argo CD bundle, after a `gitgen.yaml` edit) and the lock.
        eprintln!(
            "No lesson needed rendering ({lessons} lessons, {enabled} enabled in `{env}`); {} other file(s) written or removed.",
            part.files
        );
    } else {
        eprintln!(
            "Rendered {} of {lessons} lessons ({enabled} enabled in `{env}`): {} file(s) written or removed.",
            part.rendered, part.files
        );
    }
}

/// `diff`'s text: the unified diffs (coloured on a terminal unless `NO_COLOR`), the lock
/// summary and the conflicts.
pub fn diff_text(report: &DiffReport) {
    let color = super::color_stdout();
    let terminal = std::io::stdout().is_terminal();
    for file in &report.files {
        for line in file.diff.lines() {
            let paint = match line.as_bytes().first() {
                _ if !color => "",
                _ if line.starts_with("+++") || line.starts_with("---") => "\x1b[1m",
                Some(b'+') => "\x1b[32m",
                Some(b'-') => "\x1b[31m",
                Some(b'@') => "\x1b[36m",
                _ => "",
            };
            let reset = if paint.is_empty() { "" } else { "\x1b[0m" };
            // Piped, the diff stays exact; on a terminal, escapes in a file stay text.
            let line = if terminal { super::printable(line) } else { line.into() };
            println!("{paint}{line}{reset}");
        }
    }
    if report.lock_changes {
        println!("# {LOCK_FILE}: {} hash(es) updated", report.lock_hashes_updated);
    }
    for conflict in &report.conflicts {
        println!("# {}: {}", conflict.path, conflict.message);
    }
    if !report.changed {
        eprintln!("No difference: the rendered tree is up to date.");
    }
}

/// What `publish` committed and pushed, and where `HEAD` is.
pub fn published(published: &Published) {
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
}

/// What `init` made in `dir`, and what to do next.
pub fn initialized(initialized: &Initialized, dir: &std::path::Path, placeholder_repo_url: bool) {
    for (env, files) in &initialized.rendered {
        eprintln!("Rendered `{env}`: {files} file(s).");
    }
    let commit = &initialized.commit;
    let dir = dir.display();
    let short = &commit.commit[..commit.commit.len().min(12)];
    println!("Created a GitOps repo in `{dir}` and committed it ({short}, branch `main`).");
    if commit.fallback_identity {
        eprintln!(
            "note: git has no identity configured, so the commit's author is `{}`.",
            commit.author
        );
        eprintln!(
            "hint: publish commits as you: set who you are with `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`"
        );
    }
    println!(
        "Next: `cd {dir}`, `gitgen list`, `gitgen enable pods-probes-services`, then `gitgen publish --branch BRANCH`."
    );
    if placeholder_repo_url {
        println!("Set `repo_url` in `{dir}/gitgen.yaml` to where you will push it, then run `gitgen render`.");
    }
}
