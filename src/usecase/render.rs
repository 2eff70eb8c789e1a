//! `gitgen render` and `render --check` of several environments: which freshness the
//! flags ask for, every environment rendered before anything is written, and the files
//! that differ or changed, each once.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::Error;
use crate::names::EnvName;
use crate::output::{Freshness, Plan, Sink};
use crate::settings::{CommandLine, Settings};
use crate::workspace::{self, Inputs};

/// What `gitgen render` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderMode {
    /// `--check`: compare with what render writes and write nothing. `trust_lock` skips
    /// the lessons whose inputs the lock records as unchanged.
    Check {
        /// `--trust-lock`.
        trust_lock: bool,
    },
    /// Write the tree. `full` renders every lesson; `force` also overwrites files changed
    /// outside gitgen, and so renders every lesson too ([`workspace::render_every`]).
    Write {
        /// `--full`.
        full: bool,
        /// `--force`.
        force: bool,
    },
}

impl RenderMode {
    /// Which lessons the mode renders. The CI gate (`--check`) renders every lesson unless
    /// told to trust the lock, which arrives in the same pull request as the files it
    /// vouches for.
    pub fn freshness(self) -> Freshness {
        match self {
            RenderMode::Check { trust_lock: true } => Freshness::Verified,
            RenderMode::Check { trust_lock: false } => Freshness::Full,
            RenderMode::Write { full: true, .. } => Freshness::Full,
            RenderMode::Write { full: false, .. } => Freshness::Incremental,
        }
    }
}

/// A file a render writes or removes, or that differs from what it writes.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileChange {
    /// `A` added, `M` modified, `D` deleted.
    pub status: char,
    /// Repo-relative, with `/`.
    pub path: String,
}

impl FileChange {
    /// Every file `plan` touches, with its status.
    pub fn of_plan(plan: &Plan) -> Vec<FileChange> {
        plan.summary()
            .into_iter()
            .map(|(status, path)| FileChange {
                status,
                path: path.to_owned(),
            })
            .collect()
    }
}

/// One environment's part of a written render.
#[derive(Debug)]
pub struct EnvironmentRendered {
    /// The environment.
    pub env: EnvName,
    /// How to run gitgen for it, for the hints that follow a new toggle file.
    pub command: CommandLine,
    /// Lessons in the catalog.
    pub lessons: usize,
    /// Lessons the environment enables.
    pub enabled: usize,
    /// Lessons rendered again (0 when the environment's inputs were unchanged).
    pub rendered: usize,
    /// Files written or removed (the lock included, the new toggle file not).
    pub files: usize,
    /// The toggle file render created, when the environment had none.
    pub created_toggle_file: Option<String>,
}

/// What a render or a check of several environments found.
#[derive(Debug)]
pub struct RenderReport {
    /// The environments covered, in order.
    pub environments: Vec<EnvName>,
    /// Every file that differs (`--check`) or was written or removed, each once: a file
    /// of `generated/` is every environment's.
    pub files: BTreeSet<FileChange>,
    /// With [`RenderMode::Write`], each environment's part, in order; empty for a check.
    pub rendered: Vec<EnvironmentRendered>,
}

impl RenderReport {
    /// Whether nothing differs or changed.
    pub fn up_to_date(&self) -> bool {
        self.files.is_empty()
    }
}

/// Renders (or checks) the environments of `every`, settings of one repo. A write renders
/// every environment before anything is written, as one transaction
/// ([`workspace::render_every`]).
pub fn render(every: Vec<Settings>, mode: RenderMode) -> Result<RenderReport, Error> {
    let environments = every.iter().map(|settings| settings.env_name.clone()).collect();
    let mut files = BTreeSet::new();
    let mut rendered = Vec::new();
    match mode {
        RenderMode::Check { .. } => {
            for settings in every {
                files.extend(check(settings, mode.freshness())?);
            }
        }
        RenderMode::Write { force, .. } => {
            let commands: Vec<CommandLine> = every.iter().map(Settings::command_line).collect();
            for (part, command) in workspace::render_every(every, mode.freshness(), force)?
                .into_iter()
                .zip(commands)
            {
                let (lessons, plan_files) = part.outcome.map_or((0, Vec::new()), |outcome| {
                    (outcome.rendered_lessons, FileChange::of_plan(&outcome.plan))
                });
                if let Some(path) = &part.created_toggle_file {
                    files.insert(FileChange {
                        status: 'A',
                        path: path.clone(),
                    });
                }
                rendered.push(EnvironmentRendered {
                    env: part.env,
                    command,
                    lessons: part.lessons,
                    enabled: part.enabled,
                    rendered: lessons,
                    files: plan_files.len(),
                    created_toggle_file: part.created_toggle_file,
                });
                files.extend(plan_files);
            }
        }
    }
    Ok(RenderReport {
        environments,
        files,
        rendered,
    })
}

/// The files of one environment that differ from what render writes, with the toggle file
/// render would create.
fn check(settings: Settings, freshness: Freshness) -> Result<Vec<FileChange>, Error> {
    let workspace = Inputs::read(settings)?.load()?;
    let outcome = workspace.plan(freshness, Sink::Paths)?;
    let mut files = FileChange::of_plan(&outcome.plan);
    if workspace.toggle_is_new {
        files.push(FileChange {
            status: 'A',
            path: workspace.settings.layout().toggle_path(),
        });
    }
    Ok(files)
}

/// After a command rendered only the environments `done`, the other environments of the
/// repo of `settings` that may be stale: those whose last render, as the lock records it,
/// read other inputs than they would now (a changed `gitgen.yaml` or catalog). An
/// environment whose inputs cannot be read is left out: this feeds a note, not an error.
pub fn stale_elsewhere(settings: &Settings, done: &[EnvName]) -> Vec<EnvName> {
    settings
        .every_environment_alike()
        .into_iter()
        .filter(|settings| !done.contains(&settings.env_name))
        .filter_map(|settings| {
            let env = settings.env_name.clone();
            let mut inputs = Inputs::read(settings).ok()?;
            matches!(inputs.unchanged(), Ok(None)).then_some(env)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_renders_every_lesson_unless_it_trusts_the_lock() {
        assert_eq!(RenderMode::Check { trust_lock: false }.freshness(), Freshness::Full);
        assert_eq!(RenderMode::Check { trust_lock: true }.freshness(), Freshness::Verified);
    }

    #[test]
    fn a_write_skips_unchanged_lessons_unless_full() {
        let write = |full| RenderMode::Write { full, force: false }.freshness();
        assert_eq!(write(false), Freshness::Incremental);
        assert_eq!(write(true), Freshness::Full);
    }
}
