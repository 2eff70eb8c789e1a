//! What a shell's TAB offers for the names on gitgen's command line: lessons, the enabled
//! ones, a lesson's stages, the environments. Read through the same settings and
//! workspace loaders as the commands (read-only: no lock taken, nothing recovered or
//! written), so a name offered here is one the command accepts. The binary's completion
//! turns an error into no candidates: a shell has nowhere to show it.

use std::path::Path;

use crate::Error;
use crate::settings::Settings;
use crate::workspace::Workspace;

/// Which names of the catalog a command-line argument takes (`--env`'s are [`environments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Every lesson of the catalog (`lesson`).
    Lessons,
    /// The lessons the environment does not enable yet (`enable`).
    LessonsToEnable,
    /// The lessons the environment enables (`disable`, `classroom hold` and `release`).
    EnabledLessons,
    /// The stages of the lesson on the command line (`--stage`, `classroom hold`'s stage).
    Stages,
}

/// What the command line says so far: the flags and the lesson the names depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    /// `--repo`, as typed.
    pub repo: Option<std::path::PathBuf>,
    /// `--env`, as typed.
    pub env: Option<String>,
    /// The lesson argument, as typed (whose stages [`Names::Stages`] offers).
    pub lesson: Option<String>,
}

/// A name to offer, with a line that says what it is (zsh and fish show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The name.
    pub name: String,
    /// What it is: a lesson's title, a stage's description.
    pub about: String,
}

/// The names `what` takes in the repo and environment `typed` names, in catalog order.
pub fn names(what: Names, typed: &Typed) -> Result<Vec<Candidate>, Error> {
    let settings = Settings::resolve(typed.repo.as_deref(), typed.env.as_deref())?;
    let workspace = Workspace::open_read_only(settings)?;
    let enabled = |id| workspace.selection.lessons.contains_key(id);
    let lessons = workspace.catalog.lessons.values();
    let lesson = |loaded: &crate::catalog::LoadedLesson| Candidate {
        name: loaded.id().to_string(),
        about: loaded.lesson.title.clone(),
    };
    Ok(match what {
        Names::Lessons => lessons.map(lesson).collect(),
        Names::LessonsToEnable => lessons.filter(|l| !enabled(l.id())).map(lesson).collect(),
        Names::EnabledLessons => lessons.filter(|l| enabled(l.id())).map(lesson).collect(),
        Names::Stages => lessons
            .filter(|l| Some(l.id().as_str()) == typed.lesson.as_deref())
            .flat_map(|l| &l.lesson.stages)
            .map(|stage| Candidate {
                name: stage.name.to_string(),
                about: stage.description.clone(),
            })
            .collect(),
    })
}

/// The environments `gitgen.yaml` defines, read without choosing one: the `--env` or
/// `$GITGEN_ENV` being corrected may name none.
pub fn environments(repo: Option<&Path>) -> Result<Vec<Candidate>, Error> {
    Ok(Settings::every_environment(repo)?
        .into_iter()
        .map(|settings| Candidate {
            name: settings.env_name.to_string(),
            about: String::new(),
        })
        .collect())
}
