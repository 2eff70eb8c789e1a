//! `gitgen init DIR`: the new repo, rendered for every environment and committed.

use std::path::Path;

use crate::Error;
use crate::git::{self, InitialCommit};
use crate::names::EnvName;
use crate::output::Freshness;
use crate::settings::Settings;
use crate::workspace;

/// The first commit's message.
const MESSAGE: &str = "gitgen init: the built-in course, rendered for every environment";

/// What `gitgen init` made.
#[derive(Debug)]
pub struct Initialized {
    /// Each environment, with the number of files rendered for it.
    pub rendered: Vec<(EnvName, usize)>,
    /// The first commit.
    pub commit: InitialCommit,
}

/// Writes the built-in course into the new repo `dir` (with `repo_url`, else the
/// placeholder), renders every environment it defines and commits the lot.
pub fn init(dir: &Path, repo_url: Option<String>) -> Result<Initialized, Error> {
    let envs = crate::scaffold::init(dir, repo_url)?;
    let every = envs
        .iter()
        .map(|env| Settings::resolve(Some(dir), Some(env.as_str())))
        .collect::<Result<Vec<_>, _>>()?;
    let rendered = workspace::render_every(every, Freshness::Incremental, false)?
        .into_iter()
        .map(|part| {
            let files = part.outcome.map_or(0, |outcome| outcome.plan.summary().len());
            (part.env, files)
        })
        .collect();
    let commit = git::initial_commit(dir, MESSAGE)?;
    Ok(Initialized { rendered, commit })
}
