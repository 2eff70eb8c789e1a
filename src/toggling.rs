//! `gitgen enable` and `gitgen disable` on a workspace: one-line edits of the toggle file
//! (with the lessons a lesson requires, or the enabled lessons that require it), rendered
//! and written in the same transaction, and a [`ToggleReport`] of what changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::Error;
use crate::catalog::Selection;
use crate::catalog::toggle::SelectedStage;
use crate::names::LessonId;
use crate::output::RenderOutcome;
use crate::workspace::Workspace;

/// What an enable or disable changed (`-o json` prints it as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToggleReport {
    /// The environment.
    pub environment: String,
    /// Its toggle file, relative to the repo.
    pub toggle_file: String,
    /// Lessons now enabled, with their stage.
    pub enabled: Vec<LessonStage>,
    /// Lessons now at another stage.
    pub moved: Vec<Move>,
    /// Lessons now disabled, with the stage they had.
    pub disabled: Vec<LessonStage>,
    /// Lessons a disabled lesson required that stay enabled.
    pub kept_requirements: Vec<String>,
    /// Those of `kept_requirements` that other enabled lessons still require, with them:
    /// disabling one of these would be refused.
    pub kept_required_by: BTreeMap<String, Vec<String>>,
    /// Applications that render added.
    pub applications_added: Vec<String>,
    /// Applications that render removed.
    pub applications_removed: Vec<String>,
    /// Files written or removed under gitgen's folders.
    pub files_changed: usize,
}

/// A lesson and a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LessonStage {
    /// The lesson.
    pub lesson: String,
    /// The stage.
    pub stage: String,
}

impl LessonStage {
    fn of((id, stage): (&LessonId, &SelectedStage)) -> Self {
        LessonStage {
            lesson: id.to_string(),
            stage: stage.to_string(),
        }
    }
}

/// A lesson moved from one stage to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The lesson.
    pub lesson: String,
    /// The stage it had.
    pub from: String,
    /// The stage it has now.
    pub to: String,
}

/// Enables the lesson called `lesson` at `stage` (its last when `None`), and every lesson
/// it requires that is not enabled yet at its last stage; renders and writes the change.
/// `force` overwrites files render did not write, as `render --force` does.
pub fn enable(
    workspace: &mut Workspace,
    lesson: &str,
    stage: Option<&str>,
    force: bool,
) -> Result<ToggleReport, Error> {
    let id = workspace.lesson_id(lesson)?;
    let stage = workspace.stage(&id, stage)?;
    workspace.toggle.check_editable()?;
    check_no_enabled_conflict(workspace, &id)?;
    let mut toggle = workspace.toggle.clone();
    for required in workspace.catalog.closure(&id) {
        if required != id && !workspace.selection.lessons.contains_key(&required) {
            toggle.set(&required, workspace.catalog.lessons[&required].last_stage());
        }
    }
    toggle.set(&id, &stage.name);
    let (previous, outcome) = workspace.retoggle(toggle.text, force)?;
    Ok(ToggleReport::new(workspace, &previous, &outcome, &[]))
}

/// Disables the lesson called `lesson`; with `cascade`, also the enabled lessons that
/// require it, which otherwise make it a usage error. Renders and writes the change;
/// `None` when the lesson is not enabled, and nothing was done.
pub fn disable(
    workspace: &mut Workspace,
    lesson: &str,
    cascade: bool,
    force: bool,
) -> Result<Option<ToggleReport>, Error> {
    let id = workspace.lesson_id(lesson)?;
    if !workspace.selection.lessons.contains_key(&id) {
        return Ok(None);
    }
    let dependents = enabled_dependents(workspace, &id);
    if !dependents.is_empty() && !cascade {
        return Err(Error::Usage {
            message: format!("`{id}` is required by enabled {}", quoted(&dependents)),
            hint: Some(format!(
                "disable those first, or run `{}` to disable them all",
                workspace.settings.command(&format!("disable {id} --cascade"))
            )),
        });
    }
    workspace.toggle.check_editable()?;
    let mut toggle = workspace.toggle.clone();
    let disabled: Vec<LessonId> = dependents.into_iter().chain([id]).collect();
    for lesson in &disabled {
        toggle.unset(lesson);
    }
    let (previous, outcome) = workspace.retoggle(toggle.text, force)?;
    // What the disabled lessons required stays on: enable turned it on for them, but
    // nothing records that, and the trainer may want it for itself.
    let kept: Vec<LessonId> = disabled
        .iter()
        .flat_map(|lesson| workspace.catalog.closure(lesson))
        .filter(|required| workspace.selection.lessons.contains_key(required))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Some(ToggleReport::new(workspace, &previous, &outcome, &kept)))
}

/// The enabled lessons other than `id` that require it, directly or not.
fn enabled_dependents(workspace: &Workspace, id: &LessonId) -> Vec<LessonId> {
    workspace
        .selection
        .lessons
        .keys()
        .filter(|other| *other != id && workspace.catalog.closure(other).contains(id))
        .cloned()
        .collect()
}

/// `a`, `b`: lesson names for a message.
fn quoted(ids: &[LessonId]) -> String {
    ids.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
}

/// Refuses to enable `id` while a lesson that conflicts with it (or with a lesson it
/// would enable as a requirement) is enabled, with a hint that names the enabled lesson,
/// the lessons disabling it would take along, and the commands that work, in order. The
/// toggle file's own check would name whichever of the two sorts first, which may be the
/// lesson that is not enabled yet, so a `gitgen disable` of it would do nothing.
fn check_no_enabled_conflict(workspace: &Workspace, id: &LessonId) -> Result<(), Error> {
    let env = &workspace.settings.env_name;
    for wanted in workspace.catalog.closure(id) {
        if workspace.selection.lessons.contains_key(&wanted) {
            continue;
        }
        let conflicts = crate::catalog::toggle::conflicts_of(&workspace.catalog, &wanted, env);
        let Some((enabled, reason)) = conflicts
            .into_iter()
            .find(|(other, _)| workspace.selection.lessons.contains_key(other))
        else {
            continue;
        };
        let via = if wanted == *id {
            String::new()
        } else {
            format!("`{id}` requires `{wanted}`, and ")
        };
        let dependents = enabled_dependents(workspace, &enabled);
        let command = |args: String| workspace.settings.command(&args);
        let disable = if dependents.is_empty() {
            format!("run `{}`", command(format!("disable {enabled}")))
        } else {
            format!(
                "run `{}` (it also disables {}, which {} `{enabled}`)",
                command(format!("disable {enabled} --cascade")),
                quoted(&dependents),
                if dependents.len() == 1 { "requires" } else { "require" },
            )
        };
        return Err(Error::Usage {
            message: format!("{via}`{wanted}` conflicts with `{enabled}`, which is enabled in `{env}`: {reason}"),
            hint: Some(format!(
                "to switch to `{id}`, {disable}, then `{}`",
                command(format!("enable {id}"))
            )),
        });
    }
    Ok(())
}

impl ToggleReport {
    /// What changed from `previous` to the workspace's selection, and which Applications
    /// the render `outcome` added and removed.
    fn new(workspace: &Workspace, previous: &Selection, outcome: &RenderOutcome, kept: &[LessonId]) -> Self {
        let change = workspace.selection.change_from(previous);
        let layout = workspace.settings.layout();
        let applications = |paths: &BTreeSet<String>| -> Vec<String> {
            paths
                .iter()
                .filter(|path| layout.is_application(path))
                .cloned()
                .collect()
        };
        ToggleReport {
            environment: workspace.settings.env_name.to_string(),
            toggle_file: layout.toggle_path(),
            enabled: change.enabled.into_iter().map(LessonStage::of).collect(),
            moved: change
                .moved
                .into_iter()
                .map(|(id, from, to)| Move {
                    lesson: id.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                })
                .collect(),
            disabled: change.disabled.into_iter().map(LessonStage::of).collect(),
            kept_requirements: kept.iter().map(LessonId::to_string).collect(),
            kept_required_by: kept
                .iter()
                .map(|lesson| (lesson.to_string(), enabled_dependents(workspace, lesson)))
                .filter(|(_, by)| !by.is_empty())
                .map(|(lesson, by)| (lesson, by.iter().map(LessonId::to_string).collect()))
                .collect(),
            applications_added: applications(&outcome.plan.added),
            applications_removed: applications(&outcome.plan.deleted),
            files_changed: outcome.plan.summary().len(),
        }
    }
}
