//! `gitgen lesson LESSON [--stage S]`: the walkthrough in the terminal.

use gitgen::render::overlays::walkthrough;

use crate::Outcome;
use crate::cli::{GlobalArgs, LessonArgs};

pub fn run(global: &GlobalArgs, args: &LessonArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    let enabled = workspace.selection.lessons.get(&id).map(|s| s.as_str());
    let stage = workspace.stage(&id, args.stage.as_deref().or(enabled))?;
    let lesson = &workspace.catalog.lessons[&id];
    let file = walkthrough(&workspace.context(), lesson, stage.index).map_err(gitgen::Error::from)?;
    // The first line is the "generated" comment, which is noise in a terminal.
    let text = file
        .contents
        .split_once('\n')
        .map_or(file.contents.as_str(), |(_, rest)| rest);
    print!("{}", super::printable(text));
    Ok(Outcome::Success)
}
