//! `gitgen render [--check [--trust-lock]] [--full] [--force] [-o json]`: every
//! environment, unless `--env` names one.

use gitgen::usecase::render::{self, RenderMode};

use crate::Outcome;
use crate::cli::{GlobalArgs, OutputFormat, RenderArgs};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &RenderArgs) -> Result<Outcome, gitgen::Error> {
    let every = super::every_settings(global)?;
    let first = every.first().cloned();
    if let Some(settings) = &first {
        printer::warn_placeholder_repo_url(settings);
        printer::warn_ssh_repo_url(settings);
        let names: Vec<_> = every.iter().map(|s| s.env_name.clone()).collect();
        printer::warn_about_the_argocd_pin(settings, &names);
    }
    let mode = if args.check {
        RenderMode::Check {
            trust_lock: args.trust_lock,
        }
    } else {
        RenderMode::Write {
            full: args.full,
            force: args.force,
        }
    };
    let report = render::render(every, mode)?;
    printer::tree::environments_rendered(&report);
    match args.output {
        OutputFormat::Json => print!("{}", printer::tree::render_json(&report, args.check)?),
        OutputFormat::Table => printer::tree::render_table(&report, args.check),
    }
    if args.check && !report.up_to_date() {
        return Ok(Outcome::Different);
    }
    if let Some(settings) = first.filter(|_| global.env.is_some()) {
        printer::note_stale_elsewhere(&settings, &report.environments);
    }
    Ok(Outcome::Success)
}
