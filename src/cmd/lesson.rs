//! `gitgen lesson LESSON [--stage S]`: the walkthrough in the terminal.

use gitgen::render::overlays::walkthrough_text;

use crate::Outcome;
use crate::cli::{GlobalArgs, LessonArgs};

pub fn run(global: &GlobalArgs, args: &LessonArgs) -> Result<Outcome, gitgen::Error> {
    let workspace = super::open_read_only(global)?;
    let id = workspace.lesson_id(&args.lesson)?;
    let enabled = workspace.selection.lessons.get(&id).map(|s| s.as_str());
    let stage = workspace.stage(&id, args.stage.as_deref().or(enabled))?;
    let lesson = &workspace.catalog.lessons[&id];
    let text = walkthrough_text(&workspace.context(), lesson, stage.index)?;
    print!("{}", crate::printer::printable(&text));
    Ok(Outcome::Success)
}
