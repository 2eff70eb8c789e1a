//! `gitgen enable` and `gitgen disable`: one-line changes to the toggle file, rendered
//! in the same transaction.

use gitgen::catalog::Selection;
use gitgen::workspace::{RenderOutcome, Workspace};

use crate::Outcome;
use crate::cli::{DisableArgs, EnableArgs, GlobalArgs};

pub fn enable(global: &GlobalArgs, args: &EnableArgs) -> anyhow::Result<Outcome> {
    let mut workspace = super::open(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    let stage = workspace.stage(&id, args.stage.as_deref())?;
    let mut toggle = workspace.toggle.clone();
    for required in workspace.catalog.closure(&id) {
        if required != id && !workspace.selection.lessons.contains_key(&required) {
            toggle.set(&required, workspace.catalog.lessons[&required].last_stage());
        }
    }
    toggle.set(&id, &stage);
    let (previous, outcome) = workspace.retoggle(toggle.text, args.force)?;
    report(&workspace, &previous, &outcome);
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
    let mut toggle = workspace.toggle.clone();
    for lesson in dependents.iter().chain([&id]) {
        toggle.unset(lesson);
    }
    let (previous, outcome) = workspace.retoggle(toggle.text, args.force)?;
    report(&workspace, &previous, &outcome);
    Ok(Outcome::Success)
}

/// Prints which lessons and stages changed, and which Applications came and went.
fn report(workspace: &Workspace, previous: &Selection, outcome: &RenderOutcome) {
    let now = &workspace.selection;
    for (id, stage) in &now.lessons {
        match previous.lessons.get(id) {
            None => println!("+ {id} (stage {stage})"),
            Some(old) if old != stage => println!("~ {id}: stage {old} → {stage}"),
            Some(_) => {}
        }
    }
    for (id, stage) in &previous.lessons {
        if !now.lessons.contains_key(id) {
            println!("- {id} (stage {stage})");
        }
    }
    let needs_secrets: Vec<&str> = now
        .lessons
        .keys()
        .filter(|id| !previous.lessons.contains_key(*id))
        .filter(|id| !workspace.catalog.lessons[*id].lesson.cluster_secrets.is_empty())
        .map(|id| id.as_str())
        .collect();
    if !needs_secrets.is_empty() {
        eprintln!(
            "{} read Secrets that live only in the cluster: run `gitgen bootstrap` again once this is merged to create them.",
            needs_secrets.join(", ")
        );
    }
    let apps = format!("argocd/{}/apps/", workspace.settings.env_name);
    let is_app = |path: &str| path.starts_with(&apps) && path.ends_with(".application.yaml");
    for path in outcome.plan.added.iter().filter(|p| is_app(p)) {
        println!("  Application added: {path}");
    }
    for path in outcome.plan.deleted.iter().filter(|p| is_app(p)) {
        println!("  Application removed: {path}");
    }
    eprintln!(
        "Updated `{}` and the rendered tree ({} file(s)). Review with `git diff`, then `gitgen publish`.",
        workspace.toggle_relative().display(),
        outcome.plan.summary().len()
    );
}
