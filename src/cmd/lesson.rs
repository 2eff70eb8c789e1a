//! `gitgen lesson LESSON [--stage S]`: the walkthrough in the terminal.

use gitgen::render::overlays::walkthrough_text;

use crate::Outcome;
use crate::cli::{GlobalArgs, LessonArgs};

pub fn run(global: &GlobalArgs, args: &LessonArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    let enabled = workspace.selection.lessons.get(&id).map(|s| s.as_str());
    let stage = workspace.stage(&id, args.stage.as_deref().or(enabled))?;
    let lesson = &workspace.catalog.lessons[&id];
    let text = walkthrough_text(&workspace.context(), lesson, stage.index).map_err(gitgen::Error::from)?;
    print!("{}", super::printable(&text));
    Ok(Outcome::Success)
}
