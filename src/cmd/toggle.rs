//! `gitgen enable` and `gitgen disable`: one-line changes to the toggle file, rendered
//! in the same transaction (see `gitgen::toggling`).

use gitgen::toggling;
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{DisableArgs, EnableArgs, GlobalArgs, OutputFormat};
use crate::printer;

pub fn enable(global: &GlobalArgs, args: &EnableArgs) -> Result<Outcome, gitgen::Error> {
    let mut workspace = open(global)?;
    let report = toggling::enable(&mut workspace, &args.lesson, args.stage.as_deref(), args.force)?;
    printer::lessons::toggled(&report, &workspace.settings, matches!(args.output, OutputFormat::Json))?;
    finish(workspace);
    Ok(Outcome::Success)
}

pub fn disable(global: &GlobalArgs, args: &DisableArgs) -> Result<Outcome, gitgen::Error> {
    let mut workspace = open(global)?;
    let Some(report) = toggling::disable(&mut workspace, &args.lesson, args.cascade, args.force)? else {
        eprintln!(
            "`{}` is not enabled in `{}`; nothing to do.",
            args.lesson, workspace.settings.env_name
        );
        return Ok(Outcome::Success);
    };
    printer::lessons::toggled(&report, &workspace.settings, matches!(args.output, OutputFormat::Json))?;
    finish(workspace);
    Ok(Outcome::Success)
}

/// Opens the workspace and warns, as `render` does, when the pin moved since the
/// environment's committed install: the render that follows the toggle rewrites it.
fn open(global: &GlobalArgs) -> Result<Workspace, gitgen::Error> {
    let workspace = super::open(global)?;
    let settings = &workspace.settings;
    printer::warn_about_the_argocd_pin(settings, std::slice::from_ref(&settings.env_name));
    Ok(workspace)
}

/// Releases the repo, then says which other environments may be stale.
fn finish(workspace: Workspace) {
    let settings = workspace.settings.clone();
    drop(workspace);
    printer::note_stale_elsewhere(&settings, std::slice::from_ref(&settings.env_name));
}
