//! The catalog: lessons read from `catalog/` (or the copy embedded in the binary),
//! parsed into typed [`Lesson`]s and checked as a whole (names, stages, requires,
//! conflicts, cycles). It also owns the environment's toggle file ([`toggle`]) and
//! resolves it into the lessons and stages to render ([`Selection`]).
//!
//! It does not render anything: that is [`crate::render`].

pub mod argocd_version;
pub mod config;
pub mod lesson;
pub mod names;
pub mod source;
pub mod toggle;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_saphyr::{Location, Spanned};

pub use self::lesson::Lesson;
use self::names::{LessonId, NameError, StageName};
use self::source::{CatalogFiles, LessonFiles};
pub use self::toggle::{Selection, ToggleFile};
use crate::yaml::{self, YamlError, YamlErrorKind};

/// The file every lesson folder has.
pub const LESSON_FILE: &str = "lesson.yaml";

/// A catalog that could not be read or is not consistent.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file or folder could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A catalog file is not UTF-8 text.
    #[error(
        "`{}:{line}:{column}` is not UTF-8 text: the first invalid byte is here",
        shown(path)
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in bytes) of the first invalid byte.
        column: usize,
    },
    /// A file name is not UTF-8.
    #[error("`{}` has a name that is not UTF-8", shown(path))]
    NotUtf8Name {
        /// The entry.
        path: PathBuf,
    },
    /// A symlink, which could lead outside the catalog.
    #[error("`{}` is a symbolic link{}; the catalog holds only plain files and folders", shown(path), target.as_ref().map(|t| format!(" to `{}`", shown(t))).unwrap_or_default())]
    Symlink {
        /// The link.
        path: PathBuf,
        /// Where it points, when that can be read.
        target: Option<PathBuf>,
    },
    /// A file over the size limit.
    #[error("`{}` is {bytes} bytes, over the 4 MiB limit for a catalog file", shown(path))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// A lesson folder whose name is not a valid lesson id.
    #[error("`{}`: the folder name is not a lesson id", shown(path))]
    FolderName {
        /// The folder.
        path: PathBuf,
        /// What is wrong with the name.
        #[source]
        source: NameError,
    },
    /// A lesson folder without `lesson.yaml`.
    #[error("`{}` is missing", path.display())]
    MissingLessonFile {
        /// Where it should be.
        path: PathBuf,
    },
    /// A `lesson.yaml` that does not parse into the lesson format.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A lesson that parses but breaks a rule.
    #[error("`{}{}`: {field}: {message}", path.display(), at(*line, *column))]
    Invalid {
        /// The `lesson.yaml`.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// The field, as a path (`stages[2].name`).
        field: String,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// An entry of the catalog gitgen will not open: a FIFO, a socket, a device.
    #[error(transparent)]
    File(#[from] crate::untrusted::FileError),
}

/// A path for a message, with control characters (from hostile file names) escaped.
pub(crate) fn shown(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl CatalogError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        CatalogError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            CatalogError::Invalid { hint, .. } => hint.clone(),
            CatalogError::Yaml(err) if err.kind == YamlErrorKind::Field => {
                Some("the fields a lesson may have are listed in `catalog/README.md`".to_owned())
            }
            CatalogError::Yaml(err) => err.hint.clone(),
            CatalogError::Symlink { .. } => {
                Some("copy the file into the lesson folder instead of linking it".to_owned())
            }
            CatalogError::NotUtf8 { .. } => Some("save the file as UTF-8 text".to_owned()),
            CatalogError::NotUtf8Name { .. } => {
                Some("rename it: catalog names are UTF-8, best lower-case ASCII".to_owned())
            }
            CatalogError::TooLarge { .. } => {
                Some("no template needs this much; split it, or keep large data out of the catalog".to_owned())
            }
            CatalogError::FolderName { .. } => Some("rename the folder: lower-case letters, digits and `-`".to_owned()),
            CatalogError::MissingLessonFile { .. } => {
                Some("every folder under `catalog/` is a lesson and needs a `lesson.yaml`".to_owned())
            }
            CatalogError::File(err) => err.hint(),
            CatalogError::Io { source, .. } => crate::untrusted::io_hint(source),
        }
    }
}

/// A lesson as loaded: its parsed `lesson.yaml`, its files and its place in the catalog.
#[derive(Debug)]
pub struct LoadedLesson {
    /// The parsed `lesson.yaml`.
    pub lesson: Lesson,
    /// Every file of the folder, by relative path.
    pub files: LessonFiles,
    /// Path of the folder for messages (`catalog/<id>`).
    pub dir: PathBuf,
    /// The `(group, kind)` of every object its templates write (see
    /// [`crate::kinds::template_kinds`]): what its AppProject allows.
    pub kinds: BTreeSet<(String, String)>,
    /// The namespace Argo CD runs in (`gitgen.yaml`), where the lesson's own Argo CD
    /// objects, if it declares any, must go.
    pub argocd_namespace: String,
}

impl LoadedLesson {
    /// The lesson's id.
    pub fn id(&self) -> &LessonId {
        &self.lesson.name.value
    }

    /// Index of `stage`, if the lesson has it.
    pub fn stage_index(&self, stage: &str) -> Option<usize> {
        self.lesson.stages.iter().position(|s| s.name.as_str() == stage)
    }

    /// The default stage: the last one.
    pub fn last_stage(&self) -> &StageName {
        &self.lesson.stages.last().expect("checked: at least one stage").name
    }

    /// The stage names, in order.
    pub fn stage_names(&self) -> impl Iterator<Item = &StageName> {
        self.lesson.stages.iter().map(|s| &s.name)
    }

    /// Whether `lesson` was read with locations, so messages can point at lines.
    fn is_located(&self) -> bool {
        self.lesson.name.referenced != Location::UNKNOWN
    }

    /// Reads `lesson.yaml` again, with locations.
    fn read_located(&mut self) -> Result<(), CatalogError> {
        if !self.is_located() {
            let text = &self.files[LESSON_FILE];
            self.lesson = yaml::from_str(text, &self.lesson_file())?;
        }
        Ok(())
    }

    /// Path of `lesson.yaml`, for messages.
    pub fn lesson_file(&self) -> PathBuf {
        self.dir.join(LESSON_FILE)
    }

    /// Whether an item spanning `since..=until` is part of stage `index`.
    pub fn in_stage(
        &self,
        since: Option<&Spanned<StageName>>,
        until: Option<&Spanned<StageName>>,
        index: usize,
    ) -> bool {
        let from = since.and_then(|s| self.stage_index(s.value.as_str())).unwrap_or(0);
        let to = until
            .and_then(|s| self.stage_index(s.value.as_str()))
            .unwrap_or(usize::MAX);
        (from..=to).contains(&index)
    }
}

/// Every lesson of a catalog, checked.
#[derive(Debug)]
pub struct Catalog {
    /// Lessons by id, in id order.
    pub lessons: BTreeMap<LessonId, LoadedLesson>,
}

/// Where Argo CD runs when nothing says otherwise (`gitgen init` writes it).
pub const DEFAULT_ARGOCD_NAMESPACE: &str = "argocd";

impl Catalog {
    /// Parses and checks every lesson of `files`, for an Argo CD in its default namespace.
    pub fn load(files: CatalogFiles) -> Result<Self, CatalogError> {
        Self::load_for(files, DEFAULT_ARGOCD_NAMESPACE)
    }

    /// Parses and checks every lesson of `files`, for an Argo CD in `argocd_namespace`.
    pub fn load_for(files: CatalogFiles, argocd_namespace: &str) -> Result<Self, CatalogError> {
        let origin = files.origin.clone();
        let loaded = files
            .lessons
            .into_par_iter()
            .map(|(folder, files)| load_lesson(&origin, folder, files))
            .collect::<Result<Vec<_>, _>>()?;
        let lessons: BTreeMap<LessonId, LoadedLesson> = loaded
            .into_iter()
            .map(|mut l| {
                l.argocd_namespace = argocd_namespace.to_owned();
                (l.id().clone(), l)
            })
            .collect();
        let mut catalog = Catalog { lessons };
        if catalog.check_graph().is_err() {
            // Lessons read quickly have no locations: read them again for the message.
            for lesson in catalog.lessons.values_mut() {
                lesson.read_located()?;
            }
        }
        catalog.check_graph()?;
        Ok(catalog)
    }

    /// Checks what spans lessons: `requires` and `conflicts` name lessons that exist,
    /// `requires` has no cycle, and each namespace and Argo CD project has one owner.
    fn check_graph(&self) -> Result<(), CatalogError> {
        self.check_references()?;
        self.check_cycles()?;
        self.check_ownership()
    }

    /// Each namespace is created by one lesson and written into only by it and the lessons
    /// that require it; the namespaces of Argo CD, gitgen and Kubernetes are no lesson's.
    /// Each Argo CD project a lesson declares is its alone.
    fn check_ownership(&self) -> Result<(), CatalogError> {
        let mut owners: BTreeMap<&str, &LessonId> = BTreeMap::new();
        let mut projects: BTreeMap<&str, &LessonId> = BTreeMap::new();
        for (id, loaded) in &self.lessons {
            let l = &loaded.lesson;
            for (i, ns) in l.namespaces.iter().enumerate() {
                if let Some(other) = owners.insert(&ns.name, id) {
                    return Err(invalid_near(
                        loaded,
                        ("namespaces", &ns.name),
                        &format!("namespaces[{i}].name"),
                        format!("namespace `{}` is already created by lesson `{other}`", ns.name),
                        format!(
                            "a lesson creates only namespaces of its own; to deploy beside `{other}`'s objects, add it to `requires` and list the namespace under `uses_namespaces`"
                        ),
                    ));
                }
            }
            for (i, project) in l.argocd_objects.iter().flat_map(|a| a.projects.iter()).enumerate() {
                let owner = if LessonId::new(project.clone()).is_err() {
                    Some("nobody: it is not a valid name".to_owned())
                } else if project == "default" || project.starts_with("gitgen") {
                    Some("gitgen".to_owned())
                } else if self.lessons.contains_key(project.as_str()) {
                    Some(format!("lesson `{project}`"))
                } else {
                    projects.insert(project, id).map(|other| format!("lesson `{other}`"))
                };
                if let Some(owner) = owner {
                    return Err(invalid_near(
                        loaded,
                        ("projects", project),
                        &format!("argocd_objects.projects[{i}]"),
                        format!("the Argo CD project name `{project}` belongs to {owner}"),
                        "name the lesson's own projects after it, e.g. `<lesson>-examples` (lower-case letters, digits, `-`)".to_owned(),
                    ));
                }
            }
        }
        for (id, loaded) in &self.lessons {
            let l = &loaded.lesson;
            let required = self.closure(id);
            let mut used: Vec<(&str, String, &str)> = vec![("namespace", "namespace".to_owned(), l.namespace.as_str())];
            used.extend(
                l.namespaces
                    .iter()
                    .enumerate()
                    .map(|(i, ns)| ("namespaces", format!("namespaces[{i}].name"), ns.name.as_str())),
            );
            used.extend(
                l.uses_namespaces
                    .iter()
                    .enumerate()
                    .map(|(i, ns)| ("uses_namespaces", format!("uses_namespaces[{i}]"), ns.as_str())),
            );
            used.extend(
                l.charts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ("charts", format!("charts[{i}].namespace"), c.namespace.as_str())),
            );
            used.extend(l.cluster_secrets.iter().enumerate().map(|(i, c)| {
                (
                    "cluster_secrets",
                    format!("cluster_secrets[{i}].namespace"),
                    c.namespace.as_str(),
                )
            }));
            for (key, field, ns) in used {
                if let Some(owner) = reserved_namespace_owner(ns, &loaded.argocd_namespace) {
                    return Err(invalid_near(
                        loaded,
                        (key, ns),
                        &field,
                        format!("namespace `{ns}` belongs to {owner}: a lesson cannot create it or put objects in it"),
                        "use a namespace of the lesson's own; a chart that must write into `kube-system` is declared under `system_namespaces` with the reason".to_owned(),
                    ));
                }
                match owners.get(ns) {
                    Some(owner) if *owner == id || required.contains(*owner) => {}
                    Some(owner) => {
                        return Err(invalid_near(
                            loaded,
                            (key, ns),
                            &field,
                            format!("namespace `{ns}` belongs to lesson `{owner}`, which this lesson does not require"),
                            format!("add `{owner}` to `requires`, or use a namespace of the lesson's own"),
                        ));
                    }
                    None => {
                        return Err(invalid_near(
                            loaded,
                            (key, ns),
                            &field,
                            format!("no lesson creates namespace `{ns}`"),
                            "list it under `namespaces` so the lesson owns it".to_owned(),
                        ));
                    }
                }
            }
            for (i, system) in l.system_namespaces.iter().enumerate() {
                if !matches!(system.name.as_str(), "kube-system" | "kube-public" | "kube-node-lease")
                    || system.why.trim().is_empty()
                {
                    return Err(invalid_near(
                        loaded,
                        ("system_namespaces", &system.name),
                        &format!("system_namespaces[{i}]"),
                        format!(
                            "`{}` is not a Kubernetes namespace a chart may be given, with a reason",
                            system.name
                        ),
                        "only `kube-system`, `kube-public` and `kube-node-lease`, each with a non-empty `why`"
                            .to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A lesson by id.
    pub fn get(&self, id: &str) -> Option<&LoadedLesson> {
        self.lessons.get(id)
    }

    /// The closest lesson id to `name`, for "did you mean" hints.
    pub fn closest(&self, name: &str) -> Option<&LessonId> {
        closest(name, self.lessons.keys().map(|id| (id, id.as_str())))
    }

    fn check_references(&self) -> Result<(), CatalogError> {
        for loaded in self.lessons.values() {
            let lesson = &loaded.lesson;
            let names = lesson.requires.iter().map(|r| (&r.value, r.referenced, "requires"));
            let conflicts = lesson
                .conflicts
                .iter()
                .map(|c| (&c.lesson.value, c.lesson.referenced, "conflicts"));
            for (other, location, field) in names.chain(conflicts) {
                if self.lessons.contains_key(other) {
                    continue;
                }
                let hint = match self.closest(other.as_str()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "the lessons are the folders under `catalog/`".to_owned(),
                };
                return Err(invalid(
                    loaded,
                    Some(location),
                    field,
                    format!("no lesson is called `{other}`"),
                    Some(hint),
                ));
            }
        }
        Ok(())
    }

    /// Refuses cycles in `requires`.
    fn check_cycles(&self) -> Result<(), CatalogError> {
        let mut done: BTreeSet<&LessonId> = BTreeSet::new();
        for id in self.lessons.keys() {
            self.visit(id, &mut done, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Walks what `id` requires depth first; `path` is the chain that led to it, so
    /// meeting a lesson already on it is a cycle.
    fn visit<'a>(
        &'a self,
        id: &'a LessonId,
        done: &mut BTreeSet<&'a LessonId>,
        path: &mut Vec<&'a LessonId>,
    ) -> Result<(), CatalogError> {
        if done.contains(id) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|p| *p == id) {
            let cycle: Vec<&str> = path[start..].iter().map(|p| p.as_str()).chain([id.as_str()]).collect();
            let first = &self.lessons[path[start]];
            let next = path[(start + 1).min(path.len() - 1)];
            let location = first
                .lesson
                .requires
                .iter()
                .find(|r| &r.value == next || &r.value == id);
            return Err(invalid(
                first,
                location.map(|r| r.referenced),
                "requires",
                format!("lessons require each other in a cycle: {}", cycle.join(" → ")),
                Some("remove one of these `requires` so the lessons can be ordered".to_owned()),
            ));
        }
        path.push(id);
        for required in &self.lessons[id].lesson.requires {
            self.visit(&required.value, done, path)?;
        }
        path.pop();
        done.insert(id);
        Ok(())
    }

    /// `id` and everything it requires, directly or not, in id order.
    pub fn closure(&self, id: &LessonId) -> BTreeSet<LessonId> {
        let mut seen = BTreeSet::new();
        let mut pending = vec![id.clone()];
        while let Some(next) = pending.pop() {
            if seen.insert(next.clone())
                && let Some(lesson) = self.lessons.get(&next)
            {
                pending.extend(lesson.lesson.requires.iter().map(|r| r.value.clone()));
            }
        }
        seen
    }
}

/// The candidate closest to `name` by edit distance, if any is close enough to help.
pub fn closest<'a, T>(name: &str, candidates: impl Iterator<Item = (&'a T, &'a str)>) -> Option<&'a T> {
    candidates
        .map(|(item, text)| (strsim::damerau_levenshtein(name, text), item))
        .filter(|(distance, _)| *distance <= 3.max(name.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, item)| item)
}

/// Who owns `namespace` if no lesson can: Argo CD, Kubernetes or gitgen.
pub fn reserved_namespace_owner(namespace: &str, argocd_namespace: &str) -> Option<&'static str> {
    if namespace == argocd_namespace {
        Some("Argo CD")
    } else if matches!(namespace, "kube-system" | "kube-public" | "kube-node-lease" | "default") {
        Some("Kubernetes")
    } else if namespace == "gitgen" || namespace.starts_with("gitgen-") {
        Some("gitgen")
    } else {
        None
    }
}

/// An error at the first line holding `value` from the first line holding `key:` on: the
/// place of a plain string field, which has no span of its own.
fn invalid_near(
    loaded: &LoadedLesson,
    (key, value): (&str, &str),
    field: &str,
    message: String,
    hint: String,
) -> CatalogError {
    let text = &loaded.files[LESSON_FILE];
    let start = text
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or(0);
    let found = text
        .lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, line)| line.find(value).map(|col| (i as u64 + 1, col as u64 + 1)));
    let (line, column) = found.unzip();
    CatalogError::Invalid {
        path: loaded.lesson_file(),
        line,
        column,
        field: field.to_owned(),
        message,
        hint: Some(hint),
    }
}

fn invalid(
    loaded: &LoadedLesson,
    location: Option<Location>,
    field: &str,
    message: String,
    hint: Option<String>,
) -> CatalogError {
    CatalogError::Invalid {
        path: loaded.lesson_file(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        field: field.to_owned(),
        message,
        hint,
    }
}

/// Where `needle` first appears in `text`, as 1-based line and column: a fallback for
/// fields whose value has no span of its own.
fn locate(text: &str, needle: &str) -> Option<(u64, u64)> {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(needle).map(|col| (i as u64 + 1, col as u64 + 1)))
}

fn load_lesson(origin: &Path, folder: String, files: LessonFiles) -> Result<LoadedLesson, CatalogError> {
    let dir = origin.join(&folder);
    let id = LessonId::new(folder.clone()).map_err(|source| CatalogError::FolderName {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(LESSON_FILE);
    let text = files
        .get(LESSON_FILE)
        .ok_or_else(|| CatalogError::MissingLessonFile { path: path.clone() })?;
    // Most lessons are plain and valid, so they are read quickly, without locations.
    // One the quick reader cannot read, or one with a mistake, is read again with
    // locations, so the message points at the line.
    let lesson = match yaml::from_plain_str(text) {
        Some(lesson) => lesson,
        None => yaml::from_str(text, &path)?,
    };
    let mut loaded = LoadedLesson {
        lesson,
        files,
        dir,
        kinds: BTreeSet::new(),
        argocd_namespace: DEFAULT_ARGOCD_NAMESPACE.to_owned(),
    };
    if let Err(err) = check_lesson(&loaded, &id) {
        if loaded.is_located() {
            return Err(err);
        }
        loaded.read_located()?;
        check_lesson(&loaded, &id)?;
    }
    loaded.kinds = loaded
        .lesson
        .manifests
        .iter()
        .flat_map(|m| crate::kinds::template_kinds(&loaded.files[&m.file.value]))
        .collect();
    // The objects that create the lesson's Secrets in the cluster are gitgen's, not the
    // template's, and its AppProject must allow them too (render's tests hold the list to
    // the objects it writes).
    if !loaded.lesson.cluster_secrets.is_empty() {
        let kinds = crate::kinds::CLUSTER_SECRETS_KINDS.map(|(group, kind)| (group.to_owned(), kind.to_owned()));
        loaded.kinds.extend(kinds);
    }
    Ok(loaded)
}

/// The rules of one lesson that its types alone cannot express.
fn check_lesson(loaded: &LoadedLesson, folder: &LessonId) -> Result<(), CatalogError> {
    let lesson = &loaded.lesson;
    let text = &loaded.files[LESSON_FILE];
    let fail = |location: Option<Location>, field: &str, message: String, hint: Option<String>| {
        Err(invalid(loaded, location, field, message, hint))
    };
    let located = |needle: &str, field: &str, message: String, hint: Option<String>| {
        let (line, column) = locate(text, needle).unzip();
        Err(CatalogError::Invalid {
            path: loaded.lesson_file(),
            line,
            column,
            field: field.to_owned(),
            message,
            hint,
        })
    };
    if lesson.name.value != *folder {
        return fail(
            Some(lesson.name.referenced),
            "name",
            format!("`{}` does not match its folder `{folder}`", lesson.name.value),
            Some(format!("set `name: {folder}` or rename the folder")),
        );
    }
    if folder.as_str() == "default" || folder.as_str().starts_with("gitgen-") {
        return fail(
            Some(lesson.name.referenced),
            "name",
            format!("`{folder}` is reserved for gitgen's own Argo CD objects"),
            Some("choose another name for the lesson and its folder".to_owned()),
        );
    }
    if lesson.stages.is_empty() {
        return located("stages", "stages", "a lesson needs at least one stage".to_owned(), None);
    }
    let mut seen = BTreeSet::new();
    for (i, stage) in lesson.stages.iter().enumerate() {
        if !seen.insert(stage.name.as_str()) {
            return located(
                &format!("name: {}", stage.name),
                &format!("stages[{i}].name"),
                format!("stage `{}` is listed twice", stage.name),
                None,
            );
        }
    }
    let stage_hint = || {
        let names: Vec<&str> = lesson.stages.iter().map(|s| s.name.as_str()).collect();
        Some(format!("this lesson's stages are: {}", names.join(", ")))
    };
    let check_span = |since: Option<&Spanned<StageName>>, until: Option<&Spanned<StageName>>, field: &str| {
        for (bound, name) in [(since, "since"), (until, "until")] {
            if let Some(stage) = bound
                && loaded.stage_index(stage.value.as_str()).is_none()
            {
                return fail(
                    Some(stage.referenced),
                    &format!("{field}.{name}"),
                    format!("there is no stage `{}`", stage.value),
                    stage_hint(),
                );
            }
        }
        if let (Some(from), Some(to)) = (since, until)
            && loaded.stage_index(from.value.as_str()) > loaded.stage_index(to.value.as_str())
        {
            return fail(
                Some(to.referenced),
                &format!("{field}.until"),
                format!("stage `{}` comes before `{}`", to.value, from.value),
                None,
            );
        }
        Ok(())
    };
    let mut outputs = BTreeSet::new();
    for (i, manifest) in lesson.manifests.iter().enumerate() {
        let field = format!("manifests[{i}]");
        check_span(manifest.since.as_ref(), manifest.until.as_ref(), &field)?;
        let file = &manifest.file;
        check_lesson_path(loaded, file, &format!("{field}.file"))?;
        if !loaded.files.contains_key(&file.value) || file.value == LESSON_FILE {
            return fail(
                Some(file.referenced),
                &format!("{field}.file"),
                format!(
                    "there is no template `{}` in `{}`",
                    file.value.escape_debug(),
                    loaded.dir.display()
                ),
                Some("paths are relative to the lesson folder and cannot leave it".to_owned()),
            );
        }
        let output = manifest.output();
        if manifest.kustomize.is_some() && !output.contains('/') {
            return fail(
                Some(file.referenced),
                &format!("{field}.file"),
                format!("`{}` is part of a Kustomize tree but is not in a folder of it", file.value),
                Some("put the tree's files in folders (`base/`, `dev/`, ...); the stage's own `kustomization.yaml` lists the `entry` folders".to_owned()),
            );
        }
        if !output.ends_with(".yaml") && !output.ends_with(".yml") {
            return fail(
                Some(file.referenced),
                &format!("{field}.file"),
                format!("`{}` is not a `.yaml` file", file.value),
                None,
            );
        }
        if output == "kustomization.yaml" || output.starts_with("gitgen-") || !outputs.insert(output.to_owned()) {
            return fail(
                Some(file.referenced),
                &format!("{field}.file"),
                format!("the output name `{output}` is taken"),
                Some("`kustomization.yaml`, `gitgen-*` and names already used by another template of this lesson are reserved".to_owned()),
            );
        }
    }
    let mut charts = BTreeSet::new();
    for (i, chart) in lesson.charts.iter().enumerate() {
        let field = format!("charts[{i}]");
        check_span(chart.since.as_ref(), chart.until.as_ref(), &field)?;
        if names::LessonId::new(chart.name.clone()).is_err() || !charts.insert(chart.name.as_str()) {
            return located(
                &format!("name: {}", chart.name),
                &format!("{field}.name"),
                format!(
                    "`{}` is not a unique release name (lower-case letters, digits, `-`)",
                    chart.name
                ),
                None,
            );
        }
        for version in std::iter::once(&chart.version).chain(chart.stage_versions.values()) {
            if !is_pinned_version(version) {
                return located(
                    version,
                    &format!("{field}.version"),
                    format!("`{version}` is not an exact version"),
                    Some("pin charts to one version, e.g. `65.8.1`; ranges make renders drift".to_owned()),
                );
            }
        }
        if let Some(stage) = chart
            .stage_versions
            .keys()
            .find(|s| loaded.stage_index(s.as_str()).is_none())
        {
            return located(
                &format!("{stage}:"),
                &format!("{field}.stage_versions"),
                format!("there is no stage `{stage}`"),
                stage_hint(),
            );
        }
        if let Some(values) = &chart.values {
            check_lesson_path(loaded, values, &format!("{field}.values"))?;
            if !loaded.files.contains_key(&values.value) {
                return fail(
                    Some(values.referenced),
                    &format!("{field}.values"),
                    format!(
                        "there is no values file `{}` in `{}`",
                        values.value.escape_debug(),
                        loaded.dir.display()
                    ),
                    Some("the path is relative to the lesson folder, e.g. `values/keda.yaml`".to_owned()),
                );
            }
        }
    }
    use crate::kinds::{cluster_kind_group, declared_kind_group, is_known_cluster_kind};
    for (i, kind) in lesson.cluster_kinds.iter().enumerate() {
        if cluster_kind_group(kind).is_none() {
            return Err(invalid_near(
                loaded,
                ("cluster_kinds", kind),
                &format!("cluster_kinds[{i}]"),
                format!("`{kind}` is not a built-in cluster-scoped kind"),
                "write a custom kind with its API group, e.g. `templates.gatekeeper.sh/ConstraintTemplate`; Argo CD matches kinds by group".to_owned(),
            ));
        }
    }
    for (i, chart) in lesson.charts.iter().enumerate() {
        if chart.creates.source.trim().is_empty() || chart.creates.kinds.is_empty() {
            return located(
                &format!("name: {}", chart.name),
                &format!("charts[{i}].creates"),
                format!("chart `{}` does not say which kinds it creates, and from where", chart.name),
                Some("list the kinds in the chart's templates under `creates.kinds`, and how you read them under `creates.source`".to_owned()),
            );
        }
        for (j, kind) in chart.creates.kinds.iter().enumerate() {
            let field = format!("charts[{i}].creates.kinds[{j}]");
            match declared_kind_group(kind) {
                None => {
                    return Err(invalid_near(
                        loaded,
                        ("kinds", kind),
                        &field,
                        format!("`{kind}` is not a built-in kind"),
                        "write a custom kind with its API group, e.g. `monitoring.coreos.com/ServiceMonitor`"
                            .to_owned(),
                    ));
                }
                Some((group, name))
                    if is_known_cluster_kind(group, name)
                        && !lesson
                            .cluster_kinds
                            .iter()
                            .any(|k| cluster_kind_group(k) == Some((group, name))) =>
                {
                    return Err(invalid_near(
                        loaded,
                        ("kinds", kind),
                        &field,
                        format!(
                            "chart `{}` creates the cluster-scoped kind `{kind}`, which `cluster_kinds` does not list",
                            chart.name
                        ),
                        "add it to `cluster_kinds`, or turn that part of the chart off in its values".to_owned(),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if let Some(argocd) = &lesson.argocd_objects
        && (argocd.reason.trim().is_empty()
            || argocd.projects.is_empty()
            || argocd
                .repos
                .iter()
                .any(|r| r.is_empty() || r.contains(['*', '?', '[', '!'])))
    {
        return located(
            "argocd_objects",
            "argocd_objects",
            "Argo CD objects need a reason, at least one project, and exact repository URLs".to_owned(),
            Some("say why the lesson deploys Applications, name its projects, and list each repository URL without wildcards".to_owned()),
        );
    }
    for (i, ns) in lesson.namespaces.iter().enumerate() {
        if ns.pod_security == lesson::PodSecurityLevel::Privileged && ns.reason.as_deref().is_none_or(str::is_empty) {
            return located(
                &format!("name: {}", ns.name),
                &format!("namespaces[{i}].reason"),
                format!("namespace `{}` is privileged without a reason", ns.name),
                Some("say why the lesson's pods need host access, or use `baseline`".to_owned()),
            );
        }
    }
    if let Some(problem) = names::lesson_path_problem(&lesson.walkthrough) {
        return located(
            "walkthrough",
            "walkthrough",
            format!(
                "`{}` cannot be a file of the lesson: {problem}",
                lesson.walkthrough.escape_debug()
            ),
            Some("write the path relative to the lesson folder, e.g. `README.md.j2`".to_owned()),
        );
    }
    if !loaded.files.contains_key(&lesson.walkthrough) {
        return located(
            "walkthrough",
            "walkthrough",
            format!(
                "there is no walkthrough `{}` in `{}`",
                lesson.walkthrough.escape_debug(),
                loaded.dir.display()
            ),
            Some("each lesson explains itself in `README.md.j2` (Markdown, a minijinja template)".to_owned()),
        );
    }
    Ok(())
}

/// Refuses a path in `lesson.yaml` that could lead out of the lesson folder.
fn check_lesson_path(loaded: &LoadedLesson, value: &Spanned<String>, field: &str) -> Result<(), CatalogError> {
    match names::lesson_path_problem(&value.value) {
        Some(problem) => Err(invalid(
            loaded,
            Some(value.referenced),
            field,
            format!(
                "`{}` cannot be a file of the lesson: {problem}",
                value.value.escape_debug()
            ),
            Some("write the path relative to the lesson folder, e.g. `pod.yaml` or `values/keda.yaml`".to_owned()),
        )),
        None => Ok(()),
    }
}

/// Whether `version` is one exact version (`1.2.3`, `v2.12.3`, `1.2.3-rc.1`), not a
/// range or a tag such as `latest`.
pub(crate) fn is_pinned_version(version: &str) -> bool {
    let bare = version.strip_prefix('v').unwrap_or(version);
    // `MAJOR.MINOR.PATCH`, then an optional `-pre-release` or `+build` of plain characters.
    let core_end = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, rest) = bare.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && rest != "-"
        && rest != "+"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_part_versions_are_pins() {
        for pinned in ["7.6.1", "v2.12.3", "1.2.3-rc.1", "1.2.3+build.5"] {
            assert!(is_pinned_version(pinned), "{pinned} was refused");
        }
        for loose in [
            "latest", "^7.6", "~1.2.3", "7.6", "7", "v2", "1.2.x", "1.2.3-", "", "v", ">=1.0.0",
        ] {
            assert!(!is_pinned_version(loose), "{loose} was accepted");
        }
    }

    /// `Debug` text of a lesson with every location blanked, so a quick read and a
    /// located read of the same text compare equal when their values are.
    fn values_only(lesson: &Lesson) -> String {
        let text = format!("{lesson:?}");
        let location = regex::Regex::new(r"Location \{[^{}]*(\{[^{}]*\}[^{}]*)*\}").unwrap();
        location.replace_all(&text, "Location").into_owned()
    }

    fn catalog_of(lessons: &[(&str, &str)]) -> CatalogFiles {
        CatalogFiles {
            origin: PathBuf::from("catalog"),
            lessons: lessons
                .iter()
                .map(|(name, text)| {
                    let files = [
                        (LESSON_FILE.to_owned(), (*text).to_owned()),
                        ("README.md.j2".to_owned(), "# Walkthrough\n".to_owned()),
                    ]
                    .into();
                    ((*name).to_owned(), files)
                })
                .collect(),
        }
    }

    #[test]
    fn every_built_in_lesson_reads_quickly_to_the_values_a_located_read_gives() {
        for (folder, files) in CatalogFiles::embedded().lessons {
            let text = &files[LESSON_FILE];
            let quick: Lesson = yaml::from_plain_str(text)
                .unwrap_or_else(|| panic!("{folder}: the built-in course is plain YAML and should read quickly"));
            let located: Lesson = yaml::from_str(text, Path::new(LESSON_FILE)).unwrap();
            assert_ne!(located.name.referenced, Location::UNKNOWN);
            assert_eq!(values_only(&quick), values_only(&located), "{folder}");
        }
    }

    #[test]
    fn a_mistake_in_a_quickly_read_lesson_still_names_its_line() {
        let text = "name: a\ntitle: A\nsection: S\nnamespace: a\nstages:\n  - name: one\n    description: d\nmanifests:\n  - file: pod.yaml\n    since: two\n";
        assert!(yaml::from_plain_str::<Lesson>(text).is_some(), "the text is plain");
        let mut files = catalog_of(&[("a", text)]);
        files
            .lessons
            .get_mut("a")
            .unwrap()
            .insert("pod.yaml".to_owned(), "kind: Pod\n".to_owned());
        let err = Catalog::load(files).unwrap_err();
        let CatalogError::Invalid {
            line, column, field, ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (line, column, field.as_str()),
            (Some(10), Some(12), "manifests[0].since")
        );
    }

    #[test]
    fn a_missing_required_lesson_found_across_quickly_read_lessons_still_names_its_line() {
        let lesson = |name: &str, requires: &str| {
            format!(
                "name: {name}\ntitle: T\nsection: S\nnamespace: lab\nrequires:\n  - {requires}\nstages:\n  - name: one\n    description: d\n"
            )
        };
        let (a, b) = (lesson("a", "b"), lesson("b", "c"));
        assert!(yaml::from_plain_str::<Lesson>(&b).is_some(), "the text is plain");
        let err = Catalog::load(catalog_of(&[("a", &a), ("b", &b)])).unwrap_err();
        let CatalogError::Invalid {
            path, line, message, ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!((path, line), (PathBuf::from("catalog/b/lesson.yaml"), Some(6)));
        assert!(message.contains("`c`"), "{message}");
    }
}
