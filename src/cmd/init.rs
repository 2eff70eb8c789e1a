//! `gitgen init DIR`: the new repo, rendered for every environment and committed.

use gitgen::settings::Settings;
use gitgen::workspace;

use crate::Outcome;
use crate::cli::InitArgs;

/// The first commit's message.
const MESSAGE: &str = "gitgen init: the built-in course, rendered for every environment";

pub fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    let envs = gitgen::scaffold::init(&args.dir, args.repo_url.clone())?;
    let every = envs
        .iter()
        .map(|env| Settings::resolve(Some(&args.dir), Some(env.as_str())))
        .collect::<Result<Vec<_>, _>>()?;
    for part in workspace::render_every(every, gitgen::output::Freshness::Incremental, false)? {
        let files = part.outcome.map_or(0, |outcome| outcome.plan.summary().len());
        eprintln!("Rendered `{}`: {files} file(s).", part.env);
    }
    let committed = gitgen::git::initial_commit(&args.dir, MESSAGE).map_err(gitgen::Error::from)?;
    let dir = args.dir.display();
    let short = &committed.commit[..12];
    println!("Created a GitOps repo in `{dir}` and committed it ({short}, branch `main`).");
    if committed.fallback_identity {
        eprintln!(
            "note: git has no identity configured, so the commit's author is `{}`.",
            committed.author
        );
        eprintln!(
            "hint: set yours with `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`; `gitgen publish` needs it"
        );
    }
    println!(
        "Next: `cd {dir}`, `gitgen list`, `gitgen enable pods-probes-services`, then `gitgen publish --branch BRANCH`."
    );
    if args.repo_url.is_none() {
        println!("Set `repo_url` in `{dir}/gitgen.yaml` to where you will push it, then run `gitgen render`.");
    }
    Ok(Outcome::Success)
}
