//! A workspace: one repo and one environment, loaded and checked, ready to render.
//!
//! This is where the stages meet: it takes the repo's lock and finishes a half-done change,
//! loads the catalog (the repo's `catalog/`, or the embedded course when the repo has
//! none), resolves the toggle file, and renders for [`crate::output`], which decides from
//! the lock file what to render and write. Commands are thin wrappers around its methods.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::Error;
use crate::catalog::source::CatalogFiles;
use crate::catalog::toggle::{SelectedStage, ToggleFile, read_toggle_file_if_present};
use crate::catalog::{Catalog, Selection};
use crate::files::RenderedFile;
use crate::layout::{CATALOG_DIR, Layout};
use crate::names::{EnvName, LessonId, StageName};
use crate::output::lock::{environment_hash, lesson_input_hash};
use crate::output::{self, EnvironmentRun, Freshness, NothingChanged, OldLock, RenderOutcome, Scope, Sink};
use crate::render::{self, RenderContext};
use crate::settings::Settings;
use crate::untrusted;

/// A loaded repo and environment.
pub struct Workspace {
    /// Resolved settings.
    pub settings: Settings,
    /// The checked catalog.
    pub catalog: Catalog,
    /// The environment's toggle file.
    pub toggle: ToggleFile,
    /// Whether the toggle file is not on disk yet (an environment just added to
    /// `gitgen.yaml`): [`Workspace::toggle`] is then the starter `gitgen init` writes,
    /// which a render writes too.
    pub toggle_is_new: bool,
    /// What the toggle file enables.
    pub selection: Selection,
    /// sha256 of each lesson's inputs (its catalog folder), by lesson.
    input_hashes: BTreeMap<String, String>,
    /// The lock file as [`Inputs::unchanged`] read it, for the first [`Workspace::plan`]
    /// to use instead of reading and parsing it again (a tenth of a second at 10,000
    /// lessons). The flock keeps it current until a render writes.
    old_lock: Mutex<Option<OldLock>>,
    /// The objects of lessons' stages its renders made, which the environment's checks
    /// read instead of rendering them again.
    stage_objects: render::bases::StageObjects,
    /// Lock file held while the workspace lives, so two gitgen processes never write
    /// the same tree at once; none for a workspace opened to read only.
    _lock: Option<std::fs::File>,
}

/// A repo and environment whose files are read but not yet parsed: enough to tell
/// whether a render would change anything at all ([`Inputs::unchanged`]), which a
/// render that has nothing to do needs to know before it spends time on anything else.
pub struct Inputs {
    settings: Settings,
    files: CatalogFiles,
    /// The toggle file; `None` when it is not on disk yet.
    toggle: Option<ToggleFile>,
    input_hashes: BTreeMap<String, String>,
    old_lock: Option<OldLock>,
    lock: Option<std::fs::File>,
}

impl Inputs {
    /// Takes the repo's lock, finishes any change a killed gitgen left half-done, checks
    /// that render's folders are real folders of the repo, then reads the catalog's files
    /// and the toggle file.
    pub fn read(settings: Settings) -> Result<Self, Error> {
        let lock = output::lock_repo(&settings.repo)?;
        output::recover(&settings.repo)?;
        Self::read_unlocked(settings, Some(lock))
    }

    /// Checks that render's folders are real folders of the repo, then reads the catalog's
    /// files and the toggle file, holding `lock` if given.
    fn read_unlocked(settings: Settings, lock: Option<std::fs::File>) -> Result<Self, Error> {
        use rayon::prelude::*;
        output::check_folders(&settings.repo, &scope(&settings.layout()))?;
        let catalog_dir = settings.repo.join(CATALOG_DIR);
        let has_catalog = untrusted::folder(&catalog_dir).map_err(crate::catalog::CatalogError::from)?;
        let files = if has_catalog {
            CatalogFiles::read(&catalog_dir)?
        } else {
            CatalogFiles::embedded()
        };
        let argocd_namespace = settings.config.argocd.namespace.as_str();
        let input_hashes = files
            .lessons
            .par_iter()
            .map(|(folder, files)| (folder.clone(), lesson_input_hash(files, argocd_namespace)))
            .collect();
        let toggle = read_toggle_file_if_present(&settings.toggle_path())?;
        Ok(Inputs {
            settings,
            files,
            toggle,
            input_hashes,
            old_lock: None,
            lock,
        })
    }

    /// Parses and checks the catalog and the toggle file.
    pub fn load(self) -> Result<Workspace, Error> {
        let catalog = Catalog::load_for(self.files, &self.settings.config.argocd.namespace)?;
        let toggle_is_new = self.toggle.is_none();
        let toggle = self
            .toggle
            .unwrap_or_else(|| ToggleFile::starter(&catalog, &self.settings.env_name, self.settings.toggle_path()));
        let selection = toggle.selection(&catalog, &self.settings.env_name)?;
        Ok(Workspace {
            settings: self.settings,
            catalog,
            toggle,
            toggle_is_new,
            selection,
            input_hashes: self.input_hashes,
            old_lock: Mutex::new(self.old_lock),
            stage_objects: Default::default(),
            _lock: self.lock,
        })
    }

    /// Whether a render would change nothing ([`output::unchanged`]): nothing is parsed
    /// or rendered to tell, and the lock file read for it is kept for the render. A
    /// missing toggle file is a change: render writes the starter.
    pub fn unchanged(&mut self) -> Result<Option<NothingChanged>, Error> {
        let Some(toggle) = &self.toggle else {
            return Ok(None);
        };
        // An unreadable lock is the render's to report.
        let Ok(bytes) = output::read_lock_bytes(&self.settings.repo) else {
            return Ok(None);
        };
        let old = OldLock::of(bytes.as_deref());
        let scope = scope(&self.settings.layout());
        let run = environment_run(&self.settings, &scope, toggle, &self.input_hashes);
        let answer = output::unchanged(&run, &old, bytes.as_deref())?;
        // A render that follows needs the lock too.
        self.old_lock = Some(old);
        Ok(answer)
    }
}

/// One environment's part of a [`render_every`].
pub struct EnvironmentRender {
    /// The environment.
    pub env: EnvName,
    /// Lessons in the catalog.
    pub lessons: usize,
    /// Lessons the environment enables.
    pub enabled: usize,
    /// What its render changed; `None` when its inputs were as its last render read them,
    /// and nothing was parsed or rendered.
    pub outcome: Option<RenderOutcome>,
    /// The toggle file render created (the starter `gitgen init` writes: every lesson
    /// commented out), when the environment had none.
    pub created_toggle_file: Option<String>,
}

/// Renders the environments of `every` (settings of one repo) and writes them as one
/// transaction: every changed unit of every environment and the lock are staged, then
/// swapped in under one journal, so a kill leaves the whole tree old or the whole tree
/// new. An environment with no toggle file gets the starter `gitgen init` writes, in the
/// same transaction. An environment that fails to render, or whose files render did not write as
/// they are (without `force`), stops the command before anything is written. `force`
/// also renders every lesson, so it restores files edited by hand in lessons whose inputs
/// did not change.
pub fn render_every(every: Vec<Settings>, freshness: Freshness, force: bool) -> Result<Vec<EnvironmentRender>, Error> {
    let Some(repo) = every.first().map(|settings| settings.repo.clone()) else {
        return Ok(Vec::new());
    };
    let freshness = if force { Freshness::Full } else { freshness };
    // One process lock for the whole command: a second one taken by another open file
    // of this process would wait for ever.
    let _lock = output::lock_repo(&repo)?;
    output::recover(&repo)?;
    let staging = output::Staging::begin(&repo)?;
    let mut done = Vec::with_capacity(every.len());
    let mut scopes = Vec::with_capacity(every.len());
    let mut created = Vec::new();
    for settings in every {
        let env = settings.env_name.clone();
        let mut inputs = Inputs::read_unlocked(settings, None)?;
        if freshness == Freshness::Incremental
            && let Some(same) = inputs.unchanged()?
        {
            done.push(EnvironmentRender {
                env,
                lessons: same.lessons,
                enabled: same.enabled,
                outcome: None,
                created_toggle_file: None,
            });
            continue;
        }
        let workspace = inputs.load()?;
        let outcome = workspace.plan(freshness, Sink::Stage(&staging))?;
        scopes.push(workspace.scope());
        let created_toggle_file = workspace
            .toggle_is_new
            .then(|| workspace.settings.layout().toggle_path());
        if let Some(path) = &created_toggle_file {
            created.push(RenderedFile {
                path: path.clone(),
                contents: workspace.toggle.text.clone(),
            });
        }
        done.push(EnvironmentRender {
            env,
            lessons: workspace.catalog.lessons.len(),
            enabled: workspace.selection.lessons.len(),
            outcome: Some(outcome),
            created_toggle_file,
        });
    }
    let parts: Vec<(&output::Plan, &Scope, &str)> = done
        .iter()
        .filter_map(|part| Some((&part.outcome.as_ref()?.plan, part.env.as_str())))
        .zip(&scopes)
        .map(|((plan, env), scope)| (plan, scope, env))
        .collect();
    if !parts.is_empty() {
        output::apply(&output::Plan::combine(&parts), staging, &created, force)?;
    }
    Ok(done)
}

/// What the lock records of a render of the environment of `settings`.
fn environment_run<'a>(
    settings: &'a Settings,
    scope: &'a Scope,
    toggle: &ToggleFile,
    input_hashes: &'a BTreeMap<String, String>,
) -> EnvironmentRun<'a> {
    EnvironmentRun {
        repo: &settings.repo,
        scope,
        env_name: settings.env_name.as_str(),
        inputs: environment_hash(
            settings.env_name.as_str(),
            &settings.config_text,
            &toggle.text,
            input_hashes,
        ),
        input_hashes,
    }
}

/// What render owns for the environment laid out as `layout`.
fn scope(layout: &Layout) -> Scope {
    Scope {
        prefixes: layout.render_prefixes(),
        excluded: [layout.toggle_path()].into(),
    }
}

impl Workspace {
    /// Opens the repo: finishes any change a killed gitgen left half-done, then loads
    /// the catalog and the toggle file.
    pub fn open(settings: Settings) -> Result<Self, Error> {
        Inputs::read(settings)?.load()
    }

    /// Opens the repo to read it only (`list`, `lesson`, `status`, `validate`): takes no
    /// lock and finishes no half-done change, so it works beside a running render and on
    /// a repo it may not write. Such a workspace must not render to disk.
    pub fn open_read_only(settings: Settings) -> Result<Self, Error> {
        Inputs::read_unlocked(settings, None)?.load()
    }

    /// The render context of this repo and environment.
    pub fn context(&self) -> RenderContext<'_> {
        RenderContext {
            catalog: &self.catalog,
            config: &self.settings.config,
            env_name: &self.settings.env_name,
            env: self.settings.env(),
            selection: &self.selection,
            stage_objects: &self.stage_objects,
        }
    }

    /// What render owns for this environment.
    pub fn scope(&self) -> Scope {
        scope(&self.settings.layout())
    }

    /// Renders, staging each changed unit as it goes, then swaps the change in with
    /// `extra` (files outside the render's scope) in one transaction.
    fn write(&self, freshness: Freshness, extra: &[RenderedFile], force: bool) -> Result<RenderOutcome, Error> {
        let staging = output::Staging::begin(&self.settings.repo)?;
        let outcome = self.plan(freshness, Sink::Stage(&staging))?;
        output::apply(&outcome.plan, staging, extra, force)?;
        Ok(outcome)
    }

    /// Renders what may have changed and compares it with the disk ([`output::plan`]).
    /// Writes nothing to the tree; with [`Sink::Texts`] the plan keeps each changed file's
    /// old and new text.
    pub fn plan(&self, freshness: Freshness, sink: Sink<'_>) -> Result<RenderOutcome, Error> {
        let scope = self.scope();
        let run = environment_run(&self.settings, &scope, &self.toggle, &self.input_hashes);
        output::plan(&run, self, freshness, sink, self.old_lock()?)
    }

    /// The lock file as found before this render: the one [`Inputs::unchanged`] read, the
    /// first time, else read now.
    fn old_lock(&self) -> Result<OldLock, Error> {
        let known = self.old_lock.lock().unwrap_or_else(PoisonError::into_inner).take();
        match known {
            Some(old) => Ok(old),
            None => Ok(output::read_lock(&self.settings.repo)?),
        }
    }

    /// Replaces the toggle file's text, renders with it and writes both in one
    /// transaction, and returns the previous selection. If the new toggle file is
    /// invalid or render fails, nothing is written and the workspace keeps its old one.
    pub fn retoggle(&mut self, text: String, force: bool) -> Result<(Selection, RenderOutcome), Error> {
        let new_toggle = ToggleFile {
            path: self.toggle.path.clone(),
            text,
        };
        let selection = new_toggle.selection(&self.catalog, &self.settings.env_name)?;
        let old = (
            std::mem::replace(&mut self.toggle, new_toggle),
            std::mem::replace(&mut self.selection, selection),
        );
        let extra = [RenderedFile {
            path: self.settings.layout().toggle_path(),
            contents: self.toggle.text.clone(),
        }];
        match self.write(Freshness::Incremental, &extra, force) {
            Ok(outcome) => Ok((old.1, outcome)),
            Err(err) => {
                (self.toggle, self.selection) = old;
                Err(err)
            }
        }
    }

    /// The lesson ids, checked against the catalog; an unknown one is a usage error with
    /// the closest name.
    pub fn lesson_id(&self, name: &str) -> Result<LessonId, Error> {
        match self.catalog.get(name) {
            Some(lesson) => Ok(lesson.id().clone()),
            None => Err(Error::Usage {
                message: format!("no lesson is called `{}`", name.escape_debug()),
                hint: Some(match self.catalog.closest(name) {
                    Some(near) => format!("did you mean `{near}`? `gitgen list` shows every lesson"),
                    None => "`gitgen list` shows every lesson".to_owned(),
                }),
            }),
        }
    }

    /// The stage of `lesson` called `name`, or its last stage when `None`.
    pub fn stage(&self, lesson: &LessonId, name: Option<&str>) -> Result<SelectedStage, Error> {
        let loaded = &self.catalog.lessons[lesson];
        let index = match name {
            None => Some(loaded.lesson.stages.len() - 1),
            Some(name) => loaded.stage_index(name),
        };
        match (index, name) {
            (Some(index), _) => Ok(SelectedStage {
                name: loaded.lesson.stages[index].name.clone(),
                index,
            }),
            (None, name) => {
                let name = name.unwrap_or_default();
                let names: Vec<&str> = loaded.stage_names().map(StageName::as_str).collect();
                Err(Error::Usage {
                    message: format!("lesson `{lesson}` has no stage `{}`", name.escape_debug()),
                    hint: Some(format!("its stages are: {}", names.join(", "))),
                })
            }
        }
    }

    /// The objects `gitgen bootstrap` applies by hand: the environment's AppProjects, then
    /// the root Application, rendered in memory with the repo URL and revision overridden
    /// when given (a fork or a branch to try).
    pub fn root_objects(
        &self,
        repo_url: Option<&str>,
        revision: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let mut config = self.settings.config.clone();
        if let Some(url) = repo_url {
            config.repo_url = url.to_owned();
        }
        if let Some(revision) = revision {
            config.target_revision = revision.to_owned();
        }
        let ctx = RenderContext {
            config: &config,
            ..self.context()
        };
        let mut files = render::argocd::emit(&ctx)?;
        // Projects first: the root Application names one.
        files.retain(|f| f.path.ends_with(".appproject.yaml") || f.path.ends_with("/root.yaml"));
        files.sort_by_key(|f| f.path.ends_with("/root.yaml"));
        files
            .iter()
            .map(|f| crate::yaml::from_str(&f.contents, f.path.as_ref()).map_err(|e| read_back(f, e)))
            .collect()
    }

    /// The rendered objects of every enabled lesson at its stage, with the file each came
    /// from: what Argo CD applies, before the environment's overlay patches.
    pub fn enabled_objects(&self) -> Result<Vec<(LessonId, String, serde_json::Value)>, Error> {
        let mut objects = Vec::new();
        for (id, stage) in &self.selection.lessons {
            let lesson = &self.catalog.lessons[id];
            for file in render::bases::emit_stage(lesson, stage.index)? {
                if !render::holds_objects(&file.path) {
                    continue;
                }
                let documents: Vec<serde_json::Value> =
                    crate::yaml::documents(&file.contents, file.path.as_ref()).map_err(|e| read_back(&file, e))?;
                objects.extend(documents.into_iter().map(|o| (id.clone(), file.path.clone(), o)));
            }
        }
        Ok(objects)
    }

    /// Whether each lesson's rendered files are what render writes now.
    pub fn freshness(&self) -> Result<BTreeMap<LessonId, bool>, Error> {
        let plan = self.plan(Freshness::Full, Sink::Paths)?.plan;
        let stale: Vec<&str> = plan.summary().into_iter().map(|(_, path)| path).collect();
        let layout = self.settings.layout();
        Ok(self
            .catalog
            .lessons
            .iter()
            .map(|(id, lesson)| {
                let charts = lesson.lesson.charts.iter().map(|c| c.name.as_str());
                let prefixes = layout.lesson_prefixes(id.as_str(), charts);
                let fresh = !stale
                    .iter()
                    .any(|path| prefixes.iter().any(|p| path.starts_with(p.as_str())));
                (id.clone(), fresh)
            })
            .collect())
    }
}

/// Render as [`output::plan`] asks for it: a lesson's base with the checks of its files
/// that need `gitgen.yaml`, and the environment's part.
impl output::Renderer for Workspace {
    type Error = Error;

    fn lessons(&self) -> Vec<&str> {
        self.catalog.lessons.keys().map(LessonId::as_str).collect()
    }

    fn lesson(&self, id: &str) -> Result<Vec<RenderedFile>, Error> {
        let lesson = &self.catalog.lessons[id];
        let files = render::bases::emit_in(&self.context(), lesson)?;
        render::overlays::check_walkthrough(lesson, &self.settings.config)?;
        render::overlays::check_chart_values(lesson, &self.settings.config)?;
        render::links::check_links(&self.stage_objects, lesson, &self.settings.config)?;
        Ok(files)
    }

    fn environment(&self) -> Result<Vec<RenderedFile>, Error> {
        Ok(render::environment(&self.context())?)
    }

    fn enabled(&self) -> usize {
        self.selection.lessons.len()
    }
}

/// A file render just wrote in memory that does not parse back: a bug in gitgen, since
/// render checks every file it writes.
fn read_back(file: &RenderedFile, error: impl std::fmt::Display) -> Error {
    output::OutputError::io(
        "read back",
        file.path.as_ref(),
        std::io::Error::other(error.to_string()),
    )
    .into()
}
