//! `gitgen render [--check [--trust-lock]] [--full] [--force]`.

use gitgen::output::Sink;
use gitgen::workspace::{Freshness, Inputs};

use crate::Outcome;
use crate::cli::{GlobalArgs, RenderArgs};

pub fn run(global: &GlobalArgs, args: &RenderArgs) -> anyhow::Result<Outcome> {
    let settings = super::settings(global)?;
    let env = settings.env_name.clone();
    let mut inputs = Inputs::read(settings)?;
    // A render with nothing to do says so before it parses or renders anything.
    if !(args.check || args.full || args.force)
        && let Some(same) = inputs.unchanged()?
    {
        eprintln!(
            "Nothing changed ({} lessons, {} enabled in `{env}`).",
            same.lessons, same.enabled
        );
        return Ok(Outcome::Success);
    }
    let workspace = inputs.load()?;
    if args.check {
        // The CI gate renders everything unless told to trust the lock.
        let freshness = if args.trust_lock {
            Freshness::Verified
        } else {
            Freshness::Full
        };
        let outcome = workspace.plan(freshness, Sink::Paths)?;
        let plan = &outcome.plan;
        let stale: Vec<String> = plan
            .summary()
            .into_iter()
            .map(|(status, path)| format!("{status} {path}"))
            .collect();
        if stale.is_empty() {
            eprintln!("The rendered tree for `{env}` is up to date.");
            return Ok(Outcome::Success);
        }
        for line in &stale {
            println!("{line}");
        }
        eprintln!(
            "{} file(s) differ from what `gitgen render --env {env}` would write.",
            stale.len()
        );
        return Ok(Outcome::Different);
    }
    let freshness = if args.full {
        Freshness::Full
    } else {
        Freshness::Incremental
    };
    let outcome = workspace.render(freshness, args.force)?;
    let rows = outcome.plan.summary();
    for (status, path) in &rows {
        println!("{status} {path}");
    }
    let lessons = workspace.catalog.lessons.len();
    let enabled = workspace.selection.lessons.len();
    if rows.is_empty() {
        eprintln!("Nothing changed ({lessons} lessons, {enabled} enabled in `{env}`).");
    } else {
        eprintln!(
            "Rendered {} of {lessons} lessons ({enabled} enabled in `{env}`): {} file(s) written or removed.",
            outcome.rendered_lessons,
            rows.len()
        );
    }
    Ok(Outcome::Success)
}
