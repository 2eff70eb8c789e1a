//! Incremental rendering: what the lock lets a render skip. A lesson whose inputs hash as
//! the lock records, and whose files on disk are still what the lock records, is not
//! rendered again; an environment whose inputs are all as its last render read them, with
//! its files untouched, is not even parsed ([`unchanged`]).
//!
//! What renders a unit is not this module's business: [`plan`] asks a [`Renderer`], so
//! output stays below render and knows files only as paths and texts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;

use super::lock::{EnvironmentInputs, LockFile, renderer_fingerprint};
use super::{OldLock, OutputError, Plan, Scope, Sink, UnitPlan};
use gitgen_base::files::RenderedFile;
use gitgen_base::layout::{LOCK_FILE, Layout};

/// Which lessons a render may skip: a lesson is skipped when its inputs hash as the
/// lock records and its files on disk are still what the lock records; how much that
/// second part is checked is the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Files no newer than the lock count as unchanged: nothing is read (`render`).
    Incremental,
    /// Every file is read and hashed against the lock (`render --check --trust-lock`); a
    /// lesson whose files differ is rendered again, so the report names what differs. A
    /// lock forged along with the files passes: only for trees whose lock is trusted.
    Verified,
    /// Every lesson is rendered and compared with the disk (`render --check`, `diff`,
    /// `status`, `publish`, `--force`): nothing on disk is trusted.
    Full,
}

/// What one environment's render reads, as the lock records it.
pub struct EnvironmentRun<'a> {
    /// The repo.
    pub repo: &'a Path,
    /// What render owns for the environment.
    pub scope: &'a Scope,
    /// The environment's name.
    pub env_name: &'a str,
    /// [`super::lock::environment_hash`] of what the environment's render reads.
    pub inputs: String,
    /// sha256 of each lesson's inputs (its catalog folder), by lesson.
    pub input_hashes: &'a BTreeMap<String, String>,
}

/// What [`unchanged`] tells about a render with nothing to do.
pub struct NothingChanged {
    /// Lessons in the catalog.
    pub lessons: usize,
    /// Lessons the environment enables.
    pub enabled: usize,
}

/// A computed render: what would change, and how much was rendered for it.
pub struct RenderOutcome {
    /// The change.
    pub plan: Plan,
    /// Lessons rendered (the others were unchanged and skipped).
    pub rendered_lessons: usize,
}

/// What [`plan`] asks to have rendered, one unit at a time.
pub trait Renderer: Sync {
    /// What rendering can fail with; comparing with the disk fails with [`OutputError`].
    type Error: From<OutputError> + Send;
    /// The ids of the catalog's lessons.
    fn lessons(&self) -> Vec<&str>;
    /// One lesson's base (`generated/<lesson>/…`), checked.
    fn lesson(&self, id: &str) -> Result<Vec<RenderedFile>, Self::Error>;
    /// The environment's overlays and Argo CD bundle, checked.
    fn environment(&self) -> Result<Vec<RenderedFile>, Self::Error>;
    /// How many lessons the environment enables, for the lock.
    fn enabled(&self) -> usize;
}

/// Whether a render would change nothing: the lock file (`bytes`, read once by the caller,
/// which keeps it for the render that follows) records that the environment's last render
/// read exactly these inputs with this renderer, and the files it wrote are untouched
/// ([`Freshness::Incremental`]'s rule: no newer than the lock, no unit and no environment
/// file added since). Nothing is parsed or rendered to tell; any doubt answers `None`, and
/// the render itself decides.
pub fn unchanged(
    run: &EnvironmentRun<'_>,
    old: &OldLock,
    bytes: Option<&[u8]>,
) -> Result<Option<NothingChanged>, OutputError> {
    let text = bytes.and_then(|bytes| std::str::from_utf8(bytes).ok());
    match (&old.lock, text) {
        (Some(lock), Some(text)) => answer_from(run, lock, text),
        _ => Ok(None),
    }
}

/// [`unchanged`]'s answer from the lock file's text and what it parses to.
fn answer_from(run: &EnvironmentRun<'_>, lock: &LockFile, text: &str) -> Result<Option<NothingChanged>, OutputError> {
    let repo = run.repo;
    let lock_path = repo.join(LOCK_FILE);
    let Some(last) = lock.environments.get(run.env_name) else {
        return Ok(None);
    };
    // A lock not as render writes it is rewritten by the render.
    let as_read = last.inputs == run.inputs && lock.lessons == *run.input_hashes;
    if !as_read || lock.to_text() != text {
        return Ok(None);
    }
    let Ok(lock_time) = fs_err::metadata(&lock_path).and_then(|m| m.modified()) else {
        return Ok(None);
    };
    let units: BTreeSet<&str> = lock
        .files
        .keys()
        .filter(|path| run.scope.owns(path))
        .map(|path| Layout::unit_of(path))
        .collect();
    if super::units_on_disk(repo, run.scope)?
        .iter()
        .any(|unit| !units.contains(unit.as_str()))
    {
        return Ok(None);
    }
    let untouched = units.par_iter().map(|unit| -> Result<bool, OutputError> {
        if !files_as_locked(repo, lock, unit, Freshness::Incremental, Some(lock_time))? {
            return Ok(false);
        }
        // A lesson's base is rendered from its inputs alone; the environment's own
        // units are checked as a render checks them: every file, added ones too.
        if Layout::lesson_of_unit(unit).is_some() {
            return Ok(true);
        }
        let on_disk = super::files_on_disk(repo, unit)?;
        Ok(on_disk.len() == lock.files_in(unit).count())
    });
    if !untouched
        .collect::<Result<Vec<bool>, OutputError>>()?
        .into_iter()
        .all(|ok| ok)
    {
        return Ok(None);
    }
    Ok(Some(NothingChanged {
        lessons: run.input_hashes.len(),
        enabled: last.enabled,
    }))
}

/// Renders every unit that may have changed and compares it with the disk: each
/// lesson's `generated/` folder on its own (in parallel, skipping unchanged lessons,
/// and dropping its texts once compared or staged), then the environment's overlays
/// and bundle, then whatever else is on disk in the render's scope. Writes nothing to
/// the tree; with [`Sink::Texts`] the plan keeps each changed file's old and new text.
/// `old` is the lock file as found before this render.
pub fn plan<R: Renderer>(
    run: &EnvironmentRun<'_>,
    renderer: &R,
    freshness: Freshness,
    sink: Sink<'_>,
    old: OldLock,
) -> Result<RenderOutcome, R::Error> {
    let repo = run.repo;
    let scope = run.scope;
    let OldLock {
        lock: old_lock,
        digest: old_lock_digest,
    } = old;
    let renderer_id = renderer_fingerprint();
    let lessons = renderer.lessons();
    let trusted = old_lock
        .as_ref()
        .filter(|lock| freshness != Freshness::Full && lock.renderer == renderer_id);
    let lock_time = trusted.and_then(|_| fs_err::metadata(repo.join(LOCK_FILE)).and_then(|m| m.modified()).ok());
    let lesson_units: Vec<(UnitPlan, bool)> = lessons
        .par_iter()
        .map(|id| {
            let hash = &run.input_hashes[*id];
            let unit = Layout::lesson_unit(id);
            if let Some(lock) = trusted
                && lock.lessons.get(*id) == Some(hash)
                && files_as_locked(repo, lock, &unit, freshness, lock_time)?
            {
                return Ok((UnitPlan::kept(unit), false));
            }
            let files = renderer.lesson(id)?;
            Ok((
                super::plan_unit(repo, scope, &unit, files, old_lock.as_ref(), sink)?,
                true,
            ))
        })
        .collect::<Result<_, R::Error>>()?;
    let rendered_lessons = lesson_units.iter().filter(|(_, rendered)| *rendered).count();
    let mut units: Vec<UnitPlan> = lesson_units.into_iter().map(|(unit, _)| unit).collect();
    let mut by_unit: BTreeMap<String, Vec<RenderedFile>> = BTreeMap::new();
    for file in renderer.environment()? {
        by_unit
            .entry(Layout::unit_of(&file.path).to_owned())
            .or_default()
            .push(file);
    }
    let known: BTreeSet<&str> = lessons.iter().copied().collect();
    for unit in super::units_on_disk(repo, scope)? {
        let is_lesson = Layout::lesson_of_unit(&unit).is_some_and(|name| known.contains(name));
        if !is_lesson {
            by_unit.entry(unit).or_default();
        }
    }
    let others: Vec<UnitPlan> = by_unit
        .into_par_iter()
        .map(|(unit, files)| super::plan_unit(repo, scope, &unit, files, old_lock.as_ref(), sink))
        .collect::<Result<_, _>>()?;
    units.extend(others);
    let mut base = LockFile {
        version: 1,
        renderer: renderer_id,
        lessons: run.input_hashes.clone(),
        files: BTreeMap::new(),
        environments: old_lock
            .as_ref()
            .map(|lock| lock.environments.clone())
            .unwrap_or_default(),
    };
    base.environments.insert(
        run.env_name.to_owned(),
        EnvironmentInputs {
            inputs: run.inputs.clone(),
            enabled: renderer.enabled(),
        },
    );
    let plan = Plan::gather(units, scope, old_lock, old_lock_digest, base);
    Ok(RenderOutcome { plan, rendered_lessons })
}

/// Whether a unit's files on disk are still those the lock records. [`Freshness::Incremental`]
/// trusts any file no newer than the lock (a file that only looks edited costs a render
/// of its lesson, which then compares contents); [`Freshness::Verified`] reads and hashes
/// every file and also wants no file the lock does not list.
fn files_as_locked(
    repo: &Path,
    lock: &LockFile,
    unit: &str,
    freshness: Freshness,
    lock_time: Option<std::time::SystemTime>,
) -> Result<bool, OutputError> {
    let mut recorded = lock.files_in(unit).peekable();
    if recorded.peek().is_none() {
        return Ok(false);
    }
    Ok(match freshness {
        Freshness::Full => false,
        Freshness::Incremental => {
            let Some(lock_time) = lock_time else { return Ok(false) };
            // `symlink_metadata`: a link never counts as a file render wrote.
            recorded.all(|(path, _)| {
                fs_err::symlink_metadata(repo.join(path))
                    .is_ok_and(|m| m.is_file() && m.modified().is_ok_and(|modified| modified <= lock_time))
            })
        }
        Freshness::Verified => {
            let mut on_disk = super::files_on_disk(repo, unit)?;
            on_disk.sort();
            let recorded: Vec<(&String, &String)> = recorded.collect();
            on_disk.len() == recorded.len()
                && on_disk.iter().zip(recorded).all(|(path, (locked, hash))| {
                    path == locked
                        && super::read_rendered(&repo.join(path))
                            .is_some_and(|bytes| super::lock::sha256(&bytes) == *hash)
                })
        }
    })
}
