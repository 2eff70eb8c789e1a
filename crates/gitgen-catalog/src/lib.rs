//! The catalog: lessons read from `catalog/` (or the copy embedded in the binary),
//! parsed into typed [`Lesson`]s and checked as a whole (names, stages, requires,
//! conflicts, cycles). It also owns the environment's toggle file ([`toggle`]) and
//! resolves it into the lessons and stages to render ([`Selection`]).
//!
//! It does not render anything: that is `gitgen_render`.

pub mod argocd_version;
mod check;
pub mod classroom;
pub mod config;
mod error;
mod graph;
pub mod labels;
pub mod lesson;
pub mod source;
pub mod toggle;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_saphyr::Spanned;

pub use self::error::{CatalogError, Place, ProjectOwner};
pub use self::lesson::Lesson;
use self::source::{CatalogFiles, LessonFiles};
pub use self::toggle::{Selection, ToggleFile};
use gitgen_base::names::{LessonId, StageName};
use gitgen_yaml as yaml;

/// The file every lesson folder has.
pub const LESSON_FILE: &str = "lesson.yaml";

/// A lesson as loaded: its parsed `lesson.yaml`, its files and its place in the catalog.
#[derive(Debug)]
pub struct LoadedLesson {
    /// The parsed `lesson.yaml`; its `Spanned` parts give their lines through
    /// [`yaml::Located::locate`].
    pub lesson: yaml::Located<Lesson>,
    /// Every file of the folder, by relative path.
    pub files: LessonFiles,
    /// Path of the folder for messages (`catalog/<id>`).
    pub dir: PathBuf,
    /// The `(group, kind)` of every object its templates write (see
    /// [`gitgen_validate::kinds::template_kinds`]): what its AppProject allows.
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
        let lessons = files
            .lessons
            .into_par_iter()
            .map(|(folder, files)| {
                let loaded = load_lesson(&origin, folder, files, argocd_namespace)?;
                Ok((loaded.id().clone(), loaded))
            })
            .collect::<Result<BTreeMap<_, _>, CatalogError>>()?;
        let catalog = Catalog { lessons };
        catalog.check_graph()?;
        Ok(catalog)
    }

    /// A lesson by id.
    pub fn get(&self, id: &str) -> Option<&LoadedLesson> {
        self.lessons.get(id)
    }

    /// The closest lesson id to `name`, for "did you mean" hints.
    pub fn closest(&self, name: &str) -> Option<&LessonId> {
        closest(name, self.lessons.keys().map(|id| (id, id.as_str())))
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

/// Reads and checks the lesson in `folder`, for an Argo CD in `argocd_namespace`.
fn load_lesson(
    origin: &Path,
    folder: String,
    files: LessonFiles,
    argocd_namespace: &str,
) -> Result<LoadedLesson, CatalogError> {
    let dir = origin.join(&folder);
    let id = LessonId::new(folder.clone()).map_err(|source| CatalogError::FolderName {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(LESSON_FILE);
    let text = files
        .get(LESSON_FILE)
        .ok_or_else(|| CatalogError::MissingLessonFile { path: path.clone() })?;
    let mut loaded = LoadedLesson {
        lesson: yaml::Located::read(text, &path)?,
        files,
        dir,
        kinds: BTreeSet::new(),
        argocd_namespace: argocd_namespace.to_owned(),
    };
    check::lesson(&loaded, &id)?;
    loaded.kinds = loaded
        .lesson
        .manifests
        .iter()
        .flat_map(|m| gitgen_validate::kinds::template_kinds(&loaded.files[&m.file.value]))
        .collect();
    // The objects that create the lesson's Secrets in the cluster are gitgen's, not the
    // template's, and its AppProject must allow them too (render's tests hold the list to
    // the objects it writes).
    if !loaded.lesson.cluster_secrets.is_empty() {
        let kinds =
            gitgen_validate::kinds::CLUSTER_SECRETS_KINDS.map(|(group, kind)| (group.to_owned(), kind.to_owned()));
        loaded.kinds.extend(kinds);
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use serde_saphyr::Location;

    use super::*;

    /// `Debug` text of a lesson with every location blanked, so a quick read and a
    /// located read of the same text compare equal when their values are.
    fn values_only(lesson: &Lesson) -> String {
        let text = format!("{lesson:?}");
        let location = regex::Regex::new(r"Location \{[^{}]*(\{[^{}]*\}[^{}]*)*\}").unwrap();
        location.replace_all(&text, "Location").into_owned()
    }

    fn catalog_of(lessons: &[(&str, &str)]) -> CatalogFiles {
        CatalogFiles {
            origin: PathBuf::from(gitgen_base::layout::CATALOG_DIR),
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

    /// `text` read as a lesson, and whether the fast reader read it.
    fn read_quickly(text: &str) -> (yaml::Located<Lesson>, bool) {
        let lesson = yaml::Located::<Lesson>::read(text, Path::new(LESSON_FILE)).unwrap();
        let quickly = lesson.was_read_quickly();
        (lesson, quickly)
    }

    #[test]
    fn every_built_in_lesson_reads_quickly_to_the_values_and_locations_a_located_read_gives() {
        for (folder, files) in CatalogFiles::embedded().lessons {
            let text = &files[LESSON_FILE];
            let (quick, quickly) = read_quickly(text);
            assert!(
                quickly,
                "{folder}: the built-in course is plain YAML and should read quickly"
            );
            let located: Lesson = yaml::from_str(text, Path::new(LESSON_FILE)).unwrap();
            assert_ne!(located.name.referenced, Location::UNKNOWN);
            assert_eq!(values_only(&quick), values_only(&located), "{folder}");
            assert_eq!(
                quick.locate(|l| Some(l.name.referenced)),
                Some(located.name.referenced),
                "{folder}"
            );
        }
    }

    #[test]
    fn a_mistake_in_a_quickly_read_lesson_still_names_its_line() {
        let text = "name: a\ntitle: A\nsection: S\nnamespace: a\nstages:\n  - name: one\n    description: d\nmanifests:\n  - file: pod.yaml\n    since: two\n";
        assert!(read_quickly(text).1, "the text is plain");
        let mut files = catalog_of(&[("a", text)]);
        files
            .lessons
            .get_mut("a")
            .unwrap()
            .insert("pod.yaml".to_owned(), "kind: Pod\n".to_owned());
        let err = Catalog::load(files).unwrap_err();
        let CatalogError::UnknownStage { at, stage, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (at.line, at.column, at.field.as_str(), stage.as_str()),
            (Some(10), Some(12), "manifests[0].since", "two")
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
        assert!(read_quickly(&b).1, "the text is plain");
        let err = Catalog::load(catalog_of(&[("a", &a), ("b", &b)])).unwrap_err();
        let CatalogError::UnknownLesson { at, lesson, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!((at.path, at.line), (PathBuf::from("catalog/b/lesson.yaml"), Some(6)));
        assert_eq!(lesson.as_str(), "c");
    }
}
