//! A workspace: one repo and one environment, loaded and checked, ready to render.
//!
//! This is where the stages meet: it loads the catalog (the repo's `catalog/`, or the
//! embedded course when the repo has none), resolves the toggle file, renders and hands
//! the files to [`crate::output`]. Commands are thin wrappers around its methods.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::Error;
use crate::catalog::names::{LessonId, StageName};
use crate::catalog::source::CatalogFiles;
use crate::catalog::toggle::{self, TOGGLE_FILE, ToggleFile, read_toggle_file};
use crate::catalog::{Catalog, Selection};
use crate::output::lock::{LockFile, lesson_input_hash, renderer_fingerprint};
use crate::output::{self, Desired, Plan, Scope};
use crate::render::{self, RenderContext};
use crate::settings::Settings;

/// A loaded repo and environment.
pub struct Workspace {
    /// Resolved settings.
    pub settings: Settings,
    /// The checked catalog.
    pub catalog: Catalog,
    /// The environment's toggle file.
    pub toggle: ToggleFile,
    /// What the toggle file enables.
    pub selection: Selection,
    /// Lock file held while the workspace lives, so two gitgen processes never write
    /// the same tree at once.
    _lock: std::fs::File,
}

/// Whether a render may trust the lock to skip lessons whose inputs did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Skip unchanged lessons (what `gitgen render` does).
    Incremental,
    /// Render everything (what `--check` and `diff` do, so they read every file).
    Full,
}

/// A computed render: what would change, and the files to write.
pub struct RenderOutcome {
    /// The change.
    pub plan: Plan,
    /// The desired tree.
    desired: BTreeMap<String, Desired>,
    /// Lessons rendered (the others were unchanged and skipped).
    pub rendered_lessons: usize,
}

impl Workspace {
    /// Opens the repo: finishes any change a killed gitgen left half-done, then loads
    /// the catalog and the toggle file.
    pub fn open(settings: Settings) -> Result<Self, Error> {
        let state = settings.repo.join(output::STATE_DIR);
        fs_err::create_dir_all(&state).map_err(|e| output::OutputError::io("create", &state, e))?;
        let lock_path = state.join("lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| output::OutputError::io("create", &lock_path, e))?;
        lock.lock()
            .map_err(|e| output::OutputError::io("lock", &lock_path, e))?;
        output::recover(&settings.repo)?;
        let catalog_dir = settings.repo.join("catalog");
        let files = if catalog_dir.is_dir() {
            CatalogFiles::read(&catalog_dir)?
        } else {
            CatalogFiles::embedded()
        };
        let catalog = Catalog::load(files)?;
        let toggle_path = settings.toggle_path();
        let toggle = read_toggle_file(&toggle_path)?;
        let selection = toggle.selection(&catalog, &settings.env_name)?;
        Ok(Workspace {
            settings,
            catalog,
            toggle,
            selection,
            _lock: lock,
        })
    }

    /// The render context of this repo and environment.
    pub fn context(&self) -> RenderContext<'_> {
        RenderContext {
            catalog: &self.catalog,
            config: &self.settings.config,
            env_name: &self.settings.env_name,
            env: self.settings.env(),
            selection: &self.selection,
        }
    }

    /// What render owns for this environment.
    pub fn scope(&self) -> Scope {
        let env = &self.settings.env_name;
        Scope {
            prefixes: vec![
                "generated/".to_owned(),
                format!("overlays/{env}/"),
                format!("argocd/{env}/"),
            ],
            excluded: [toggle::toggle_path(env)].into(),
        }
    }

    /// Renders in memory and compares with the disk; writes nothing.
    pub fn plan(&self, freshness: Freshness) -> Result<RenderOutcome, Error> {
        let repo = &self.settings.repo;
        let (old_lock, old_lock_text) = output::read_lock(repo)?;
        let renderer = renderer_fingerprint();
        let hashes: BTreeMap<String, String> = self
            .catalog
            .lessons
            .iter()
            .map(|(id, lesson)| (id.to_string(), lesson_input_hash(&lesson.files)))
            .collect();
        let trusted = old_lock
            .as_ref()
            .filter(|l| freshness == Freshness::Incremental && l.renderer == renderer);
        let unchanged_lessons: std::collections::BTreeSet<&str> = match trusted {
            Some(lock) => untouched_lessons(repo, lock, &hashes),
            None => Default::default(),
        };
        let unchanged = |id: &str| unchanged_lessons.contains(id);
        let files = render::render(&self.context(), |lesson| !unchanged(lesson.id().as_str()))?;
        let rendered_lessons = self.catalog.lessons.keys().filter(|id| !unchanged(id.as_str())).count();
        let kept = trusted.into_iter().flat_map(|lock: &LockFile| {
            lock.files
                .iter()
                .filter(|(path, _)| {
                    path.strip_prefix("generated/")
                        .and_then(|rest| rest.split('/').next())
                        .is_some_and(&unchanged)
                })
                .map(|(p, h)| (p.clone(), h.clone()))
        });
        let desired = output::desired_tree(files, kept);
        let base = LockFile {
            version: 1,
            renderer,
            lessons: hashes,
            files: BTreeMap::new(),
        };
        let plan = output::plan(repo, &self.scope(), &desired, old_lock.as_ref(), old_lock_text, base)?;
        Ok(RenderOutcome {
            plan,
            desired,
            rendered_lessons,
        })
    }

    /// Renders and writes the change atomically. `force` also renders every lesson, so
    /// it restores files edited by hand in lessons whose inputs did not change.
    pub fn render(&self, force: bool) -> Result<RenderOutcome, Error> {
        let outcome = self.plan(if force { Freshness::Full } else { Freshness::Incremental })?;
        output::apply(&self.settings.repo, &outcome.plan, &outcome.desired, &[], force)?;
        Ok(outcome)
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
        let result = self.plan(Freshness::Incremental).and_then(|outcome| {
            let extra = [(toggle::toggle_path(&self.settings.env_name), self.toggle.text.clone())];
            output::apply(&self.settings.repo, &outcome.plan, &outcome.desired, &extra, force)?;
            Ok(outcome)
        });
        match result {
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
    pub fn stage(&self, lesson: &LessonId, name: Option<&str>) -> Result<StageName, Error> {
        let loaded = &self.catalog.lessons[lesson];
        match name {
            None => Ok(loaded.last_stage().clone()),
            Some(name) => loaded
                .stage_names()
                .find(|s| s.as_str() == name)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<&str> = loaded.stage_names().map(StageName::as_str).collect();
                    Error::Usage {
                        message: format!("lesson `{lesson}` has no stage `{}`", name.escape_debug()),
                        hint: Some(format!("its stages are: {}", names.join(", "))),
                    }
                }),
        }
    }

    /// Path of the toggle file, repo-relative.
    pub fn toggle_relative(&self) -> PathBuf {
        PathBuf::from("overlays")
            .join(self.settings.env_name.as_str())
            .join(TOGGLE_FILE)
    }
}

/// Lessons whose inputs hash as the lock records and whose files the lock lists are all
/// still in place and no newer than the lock: render can keep them without reading them.
/// The modification time catches hand edits made since the last render; a file that
/// looks edited only costs a full render of its lesson, which then compares contents.
fn untouched_lessons<'a>(
    repo: &std::path::Path,
    lock: &LockFile,
    hashes: &'a BTreeMap<String, String>,
) -> std::collections::BTreeSet<&'a str> {
    use rayon::prelude::*;
    let Ok(lock_time) = fs_err::metadata(repo.join(output::LOCK_FILE)).and_then(|m| m.modified()) else {
        return Default::default();
    };
    hashes
        .par_iter()
        .filter(|(id, hash)| lock.lessons.get(id.as_str()) == Some(*hash))
        .filter(|(id, _)| {
            let prefix = format!("generated/{id}/");
            let mut files = lock
                .files
                .range(prefix.clone()..)
                .take_while(|(path, _)| path.starts_with(&prefix))
                .peekable();
            files.peek().is_some()
                && files.all(|(path, _)| {
                    fs_err::metadata(repo.join(path))
                        .and_then(|m| m.modified())
                        .is_ok_and(|modified| modified <= lock_time)
                })
        })
        .map(|(id, _)| id.as_str())
        .collect()
}

impl Workspace {
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
            .map(|f| {
                crate::yaml::from_str(&f.contents, f.path.as_ref()).map_err(|e| {
                    Error::from(crate::output::OutputError::io(
                        "read back",
                        f.path.as_ref(),
                        std::io::Error::other(e.to_string()),
                    ))
                })
            })
            .collect()
    }

    /// The rendered objects of every enabled lesson at its stage, with the file each came
    /// from: what Argo CD applies, before the environment's overlay patches.
    pub fn enabled_objects(&self) -> Result<Vec<(LessonId, String, serde_json::Value)>, Error> {
        let mut objects = Vec::new();
        for (id, stage) in &self.selection.lessons {
            let dir = render::bases::base_dir(id.as_str(), stage.as_str());
            let lesson = &self.catalog.lessons[id];
            for file in render::bases::emit(lesson)?
                .into_iter()
                .filter(|f| f.path.starts_with(&format!("{dir}/")))
            {
                if file.path.ends_with("/kustomization.yaml") {
                    continue;
                }
                let documents: Vec<serde_json::Value> = crate::yaml::from_multiple(&file.contents, file.path.as_ref())
                    .map_err(|e| {
                        Error::from(crate::output::OutputError::io(
                            "read back",
                            file.path.as_ref(),
                            std::io::Error::other(e.to_string()),
                        ))
                    })?;
                objects.extend(documents.into_iter().map(|o| (id.clone(), file.path.clone(), o)));
            }
        }
        Ok(objects)
    }

    /// Whether each lesson's rendered files are what render writes now.
    pub fn freshness(&self) -> Result<BTreeMap<LessonId, bool>, Error> {
        let plan = self.plan(Freshness::Full)?.plan;
        let stale: Vec<&str> = plan.summary().into_iter().map(|(_, path)| path).collect();
        let env = &self.settings.env_name;
        Ok(self
            .catalog
            .lessons
            .iter()
            .map(|(id, lesson)| {
                let mut prefixes = vec![
                    format!("generated/{id}/"),
                    format!("overlays/{env}/{id}/"),
                    format!("argocd/{env}/apps/{id}."),
                ];
                prefixes.extend(
                    lesson
                        .lesson
                        .charts
                        .iter()
                        .map(|c| format!("argocd/{env}/apps/{id}-{}.", c.name)),
                );
                let fresh = !stale
                    .iter()
                    .any(|path| prefixes.iter().any(|p| path.starts_with(p.as_str())));
                (id.clone(), fresh)
            })
            .collect())
    }
}
