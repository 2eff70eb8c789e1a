//! `gitgen enable` and `gitgen disable`: one-line changes to the toggle file, rendered
//! in the same transaction (see `gitgen::toggling`).

use gitgen::toggling::{self, ToggleReport};
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{DisableArgs, EnableArgs, GlobalArgs, OutputFormat};

pub fn enable(global: &GlobalArgs, args: &EnableArgs) -> anyhow::Result<Outcome> {
    let mut workspace = super::open(global)?;
    warn_about_the_argocd_pin(&workspace);
    let report = toggling::enable(&mut workspace, &args.lesson, args.stage.as_deref(), args.force)?;
    print(&report, &workspace, args.output)?;
    finish(workspace);
    Ok(Outcome::Success)
}

pub fn disable(global: &GlobalArgs, args: &DisableArgs) -> anyhow::Result<Outcome> {
    let mut workspace = super::open(global)?;
    warn_about_the_argocd_pin(&workspace);
    let Some(report) = toggling::disable(&mut workspace, &args.lesson, args.cascade, args.force)? else {
        eprintln!(
            "`{}` is not enabled in `{}`; nothing to do.",
            args.lesson, workspace.settings.env_name
        );
        return Ok(Outcome::Success);
    };
    print(&report, &workspace, args.output)?;
    finish(workspace);
    Ok(Outcome::Success)
}

/// Warns, as `render` does, when the pin moved since the environment's committed install:
/// the render that follows the toggle rewrites it.
fn warn_about_the_argocd_pin(workspace: &Workspace) {
    let settings = &workspace.settings;
    super::warn_about_the_argocd_pin(settings, std::slice::from_ref(&settings.env_name));
}

/// Releases the repo, then says which other environments may be stale.
fn finish(workspace: Workspace) {
    let settings = workspace.settings.clone();
    drop(workspace);
    super::note_stale_elsewhere(&settings, &[settings.env_name.to_string()]);
}

/// Prints which lessons and stages changed, which Applications came and went, and which
/// requirements of a disabled lesson stay enabled.
fn print(report: &ToggleReport, workspace: &Workspace, format: OutputFormat) -> anyhow::Result<()> {
    if let OutputFormat::Json = format {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        for row in &report.enabled {
            println!("+ {} (stage {})", row.lesson, row.stage);
        }
        for row in &report.moved {
            println!("~ {}: stage {} → {}", row.lesson, row.from, row.to);
        }
        for row in &report.disabled {
            println!("- {} (stage {})", row.lesson, row.stage);
        }
        for path in &report.applications_added {
            println!("  Application added: {path}");
        }
        for path in &report.applications_removed {
            println!("  Application removed: {path}");
        }
    }
    print_kept_requirements(report, &workspace.settings);
    eprintln!(
        "Updated `{}` and the rendered tree ({} file(s)). Review with `git diff`, then `{}`.",
        report.toggle_file,
        report.files_changed,
        workspace
            .settings
            .command_for_every_environment("publish --branch BRANCH")
    );
    Ok(())
}

/// Says which requirements of the disabled lessons stay enabled, and how to disable those
/// no other enabled lesson requires (a hint to disable the others would be refused).
fn print_kept_requirements(report: &ToggleReport, settings: &gitgen::settings::Settings) {
    let kept = &report.kept_requirements;
    if kept.is_empty() {
        return;
    }
    let quote =
        |names: &mut dyn Iterator<Item = &String>| names.map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    let gone = quote(&mut report.disabled.iter().map(|d| &d.lesson));
    eprintln!(
        "{}, which {gone} required, {} enabled.",
        quote(&mut kept.iter()),
        if kept.len() == 1 { "stays" } else { "stay" },
    );
    for (lesson, by) in &report.kept_required_by {
        eprintln!("`{lesson}` is still required by {}.", quote(&mut by.iter()));
    }
    let free: Vec<&String> = kept
        .iter()
        .filter(|k| !report.kept_required_by.contains_key(*k))
        .collect();
    if let Some(last) = free.last() {
        eprintln!(
            "hint: if you enabled {} only for {gone}, run `{}`{}",
            quote(&mut free.iter().copied()),
            settings.command(&format!("disable {last}")),
            if free.len() == 1 {
                ""
            } else {
                " (then the others, one at a time)"
            }
        );
    }
}
