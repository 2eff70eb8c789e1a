//! `gitgen init DIR`.

use gitgen::settings::Settings;
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::InitArgs;

pub fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    let envs = gitgen::scaffold::init(&args.dir, args.repo_url.clone())?;
    for env in &envs {
        let workspace = Workspace::open(Settings::resolve(Some(&args.dir), Some(env.as_str()))?)?;
        let outcome = workspace.render(gitgen::workspace::Freshness::Incremental, false)?;
        eprintln!("Rendered `{env}`: {} file(s).", outcome.plan.summary().len());
    }
    let dir = args.dir.display();
    println!("Created a GitOps repo in `{dir}`.");
    println!("Next: `cd {dir}`, `gitgen list`, `gitgen enable pods-probes-services`, then commit and push.");
    if args.repo_url.is_none() {
        println!("Set `repo_url` in `{dir}/gitgen.yaml` to where you will push it, then run `gitgen render`.");
    }
    Ok(Outcome::Success)
}
