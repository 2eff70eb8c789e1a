//! `gitgen enable` and `gitgen disable`: one-line changes to the toggle file, rendered
//! in the same transaction.

use gitgen::catalog::Selection;
use gitgen::catalog::names::LessonId;
use gitgen::catalog::toggle::SelectedStage;
use gitgen::output::RenderOutcome;
use gitgen::workspace::Workspace;
use serde::Serialize;

use crate::Outcome;
use crate::cli::{DisableArgs, EnableArgs, GlobalArgs, OutputFormat};

/// `enable -o json` and `disable -o json`.
#[derive(Serialize)]
struct Report<'a> {
    environment: &'a str,
    toggle_file: String,
    enabled: Vec<LessonStage<'a>>,
    moved: Vec<Move<'a>>,
    disabled: Vec<LessonStage<'a>>,
    /// Lessons a disabled lesson required that stay enabled.
    kept_requirements: Vec<&'a str>,
    applications_added: Vec<&'a str>,
    applications_removed: Vec<&'a str>,
    /// Files written or removed under gitgen's folders.
    files_changed: usize,
}

#[derive(Serialize)]
struct LessonStage<'a> {
    lesson: &'a str,
    stage: &'a str,
}

impl<'a> LessonStage<'a> {
    fn of((id, stage): (&'a LessonId, &'a SelectedStage)) -> Self {
        LessonStage {
            lesson: id.as_str(),
            stage: stage.as_str(),
        }
    }
}

#[derive(Serialize)]
struct Move<'a> {
    lesson: &'a str,
    from: &'a str,
    to: &'a str,
}

pub fn enable(global: &GlobalArgs, args: &EnableArgs) -> anyhow::Result<Outcome> {
    let mut workspace = super::open(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    let stage = workspace.stage(&id, args.stage.as_deref())?;
    workspace.toggle.check_editable().map_err(gitgen::Error::from)?;
    let mut toggle = workspace.toggle.clone();
    for required in workspace.catalog.closure(&id) {
        if required != id && !workspace.selection.lessons.contains_key(&required) {
            toggle.set(&required, workspace.catalog.lessons[&required].last_stage());
        }
    }
    toggle.set(&id, &stage.name);
    let (previous, outcome) = workspace.retoggle(toggle.text, args.force)?;
    report(&workspace, &previous, &outcome, &[], args.output)?;
    finish(workspace);
    Ok(Outcome::Success)
}

pub fn disable(global: &GlobalArgs, args: &DisableArgs) -> anyhow::Result<Outcome> {
    let mut workspace = super::open(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    if !workspace.selection.lessons.contains_key(&id) {
        eprintln!(
            "`{id}` is not enabled in `{}`; nothing to do.",
            workspace.settings.env_name
        );
        return Ok(Outcome::Success);
    }
    let dependents: Vec<_> = workspace
        .selection
        .lessons
        .keys()
        .filter(|other| **other != id && workspace.catalog.closure(other).contains(&id))
        .cloned()
        .collect();
    if !dependents.is_empty() && !args.cascade {
        let names: Vec<String> = dependents.iter().map(|d| format!("`{d}`")).collect();
        return Err(gitgen::Error::Usage {
            message: format!("`{id}` is required by enabled {}", names.join(", ")),
            hint: Some(format!(
                "disable those first, or run `gitgen disable {id} --cascade` to disable them all"
            )),
        }
        .into());
    }
    workspace.toggle.check_editable().map_err(gitgen::Error::from)?;
    let mut toggle = workspace.toggle.clone();
    let disabled: Vec<LessonId> = dependents.into_iter().chain([id]).collect();
    for lesson in &disabled {
        toggle.unset(lesson);
    }
    let (previous, outcome) = workspace.retoggle(toggle.text, args.force)?;
    // What the disabled lessons required stays on: enable turned it on for them, but
    // nothing records that, and the trainer may want it for itself.
    let kept: Vec<LessonId> = disabled
        .iter()
        .flat_map(|lesson| workspace.catalog.closure(lesson))
        .filter(|required| workspace.selection.lessons.contains_key(required))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    report(&workspace, &previous, &outcome, &kept, args.output)?;
    finish(workspace);
    Ok(Outcome::Success)
}

/// Releases the repo, then says which other environments may be stale.
fn finish(workspace: Workspace) {
    let settings = workspace.settings.clone();
    drop(workspace);
    super::note_stale_elsewhere(&settings, &[settings.env_name.to_string()]);
}

/// Prints which lessons and stages changed, which Applications came and went, and which
/// requirements of a disabled lesson stay enabled.
fn report(
    workspace: &Workspace,
    previous: &Selection,
    outcome: &RenderOutcome,
    kept: &[LessonId],
    format: OutputFormat,
) -> anyhow::Result<()> {
    let change = workspace.selection.change_from(previous);
    let enabled: Vec<LessonStage<'_>> = change.enabled.into_iter().map(LessonStage::of).collect();
    let disabled: Vec<LessonStage<'_>> = change.disabled.into_iter().map(LessonStage::of).collect();
    let moved: Vec<Move<'_>> = change
        .moved
        .into_iter()
        .map(|(id, from, to)| Move {
            lesson: id.as_str(),
            from: from.as_str(),
            to: to.as_str(),
        })
        .collect();
    let layout = workspace.settings.layout();
    let is_app = |path: &&String| layout.is_application(path);
    let report = Report {
        environment: workspace.settings.env_name.as_str(),
        toggle_file: layout.toggle_path(),
        enabled,
        moved,
        disabled,
        kept_requirements: kept.iter().map(LessonId::as_str).collect(),
        applications_added: outcome.plan.added.iter().filter(is_app).map(String::as_str).collect(),
        applications_removed: outcome.plan.deleted.iter().filter(is_app).map(String::as_str).collect(),
        files_changed: outcome.plan.summary().len(),
    };
    if let OutputFormat::Json = format {
        println!("{}", serde_json::to_string_pretty(&report)?);
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
    if !kept.is_empty() {
        let names: Vec<String> = kept.iter().map(|k| format!("`{k}`")).collect();
        let gone: Vec<String> = report.disabled.iter().map(|d| format!("`{}`", d.lesson)).collect();
        eprintln!(
            "{}, which {} required, {} enabled.",
            names.join(", "),
            gone.join(", "),
            if kept.len() == 1 { "stays" } else { "stay" },
        );
        eprintln!(
            "hint: if you enabled {} only for {}, run `gitgen disable {}`{}",
            if kept.len() == 1 { "it" } else { "them" },
            gone.join(", "),
            kept[kept.len() - 1],
            if kept.len() == 1 {
                ""
            } else {
                " (then the others, one at a time)"
            }
        );
    }
    eprintln!(
        "Updated `{}` and the rendered tree ({} file(s)). Review with `git diff`, then `gitgen publish`.",
        report.toggle_file, report.files_changed
    );
    Ok(())
}
