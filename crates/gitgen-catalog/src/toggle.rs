//! The toggle file `overlays/<env>/lessons.yaml`: which lessons an environment runs, and
//! at which stage. It is the one file people edit by hand, one line per lesson, so that
//! enabling a lesson is a one-line pull request.
//!
//! Parsing checks it against the catalog ([`Selection`]); editing ([`ToggleFile::set`],
//! [`ToggleFile::unset`]) works on lines so comments and order survive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Catalog, closest};
use gitgen_base::names::{EnvName, LessonId, StageName};
use gitgen_base::untrusted::{self, FileError};
use gitgen_yaml::{self as yaml, YamlError, YamlErrorKind};

/// A toggle file is one short line per lesson: far below this even at 10,000 lessons.
const MAX_TOGGLE_BYTES: u64 = 4 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    lessons: Option<IndexMap<Spanned<String>, Spanned<Option<String>>>>,
}

/// A toggle file that is not valid against the catalog.
#[derive(Debug, thiserror::Error)]
pub enum ToggleError {
    /// Not YAML of the expected shape (this includes a lesson listed twice).
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The file is a symlink, not a plain file, too large or unreadable.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not UTF-8 text.
    #[error("`{}:{line}:{column}` is not UTF-8 text: the first invalid byte is here", path.display())]
    NotUtf8 {
        /// The toggle file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in bytes).
        column: usize,
    },
    /// Git's conflict markers: a merge or rebase stopped in this file.
    #[error("`{}:{line}`: the file holds an unresolved merge conflict (`{marker}`)", path.display())]
    MergeConflict {
        /// The toggle file.
        path: PathBuf,
        /// 1-based line of the first marker.
        line: usize,
        /// The marker, e.g. `<<<<<<<`.
        marker: &'static str,
    },
    /// A lesson the catalog does not have.
    #[error("{at}: no lesson is called `{}`", lesson.escape_debug())]
    UnknownLesson {
        /// Where.
        at: ToggleLine,
        /// The name written.
        lesson: String,
        /// The lesson closest in spelling.
        closest: Option<LessonId>,
    },
    /// A stage the lesson does not have.
    #[error("{at}: lesson `{lesson}` has no stage `{}`", stage.escape_debug())]
    UnknownStage {
        /// Where.
        at: ToggleLine,
        /// The lesson.
        lesson: LessonId,
        /// The stage written.
        stage: String,
        /// The lesson's stages.
        stages: Vec<StageName>,
    },
    /// An enabled lesson whose requirement is not enabled.
    #[error("{at}: `{lesson}` requires `{required}`, which is not enabled")]
    RequiredNotEnabled {
        /// Where (the lesson's line).
        at: ToggleLine,
        /// The lesson.
        lesson: LessonId,
        /// What it requires.
        required: LessonId,
    },
    /// Two enabled lessons that conflict in this environment.
    #[error("{at}: `{lesson}` conflicts with `{other}` in environment `{env}`: {reason}")]
    Conflict {
        /// Where (the first lesson's line).
        at: ToggleLine,
        /// The lesson.
        lesson: LessonId,
        /// The lesson it conflicts with.
        other: LessonId,
        /// The line of `other`.
        other_line: u64,
        /// The environment.
        env: EnvName,
        /// Why, as the catalog says.
        reason: String,
    },
    /// `lessons:` in flow style, which `enable` and `disable` cannot edit.
    #[error(
        "{at}: `enable` and `disable` edit one line per lesson, and `lessons:` is written on one line (`{}`)",
        value.escape_debug()
    )]
    FlowStyle {
        /// Where.
        at: ToggleLine,
        /// What follows `lessons:`.
        value: String,
    },
}

/// A place in a toggle file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToggleLine {
    /// The toggle file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl ToggleLine {
    fn new(path: &Path, at: &serde_saphyr::Location) -> Self {
        ToggleLine {
            path: path.to_owned(),
            line: at.line(),
            column: at.column(),
        }
    }
}

impl std::fmt::Display for ToggleLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}:{}:{}`", self.path.display(), self.line, self.column)
    }
}

impl ToggleError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ToggleError::UnknownLesson { closest, .. } => Some(match closest {
                Some(near) => format!("did you mean `{near}`? `gitgen list` shows every lesson"),
                None => "`gitgen list` shows every lesson".to_owned(),
            }),
            ToggleError::UnknownStage { stage, stages, .. } => {
                let names: Vec<&str> = stages.iter().map(StageName::as_str).collect();
                Some(match closest(stage, names.iter().map(|n| (n, *n))) {
                    Some(near) => format!("did you mean `{near}`? its stages are: {}", names.join(", ")),
                    None => format!("its stages are: {}", names.join(", ")),
                })
            }
            ToggleError::RequiredNotEnabled { lesson, required, .. } => Some(format!(
                "run `gitgen enable {lesson}`, which enables what it requires, or add `{required}` here"
            )),
            // `gitgen disable` reads this file first, so only an edit of it helps.
            ToggleError::Conflict {
                at,
                lesson,
                other,
                other_line,
                ..
            } => Some(format!(
                "comment out one of them in this file (`{lesson}` on line {}, `{other}` on line {other_line}), then run `gitgen render`",
                at.line
            )),
            ToggleError::FlowStyle { .. } => Some(
                "write it in block style, `lessons:` alone on its line and one `  <lesson>: <stage>` line \
                 per lesson below it, or edit the file by hand and run `gitgen render`"
                    .to_owned(),
            ),
            ToggleError::Yaml(err) if err.kind == YamlErrorKind::DuplicateKey => {
                Some("list each lesson once: `<lesson>: <stage>`".to_owned())
            }
            ToggleError::Yaml(_) => {
                Some("the file holds one mapping, `lessons:`, of `<lesson>: <stage>` lines".to_owned())
            }
            ToggleError::File(err) => err.hint(),
            ToggleError::MergeConflict { .. } => Some(
                "keep the lines you want from both sides (one `<lesson>: <stage>` line each), delete the \
                 `<<<<<<<`, `=======` and `>>>>>>>` lines, then run `gitgen render` and `git add` the file"
                    .to_owned(),
            ),
            ToggleError::NotUtf8 { .. } => {
                Some("save the file as UTF-8 text; lesson and stage names are plain ASCII".to_owned())
            }
        }
    }
}

/// The lessons an environment runs, each at one stage, checked against the catalog:
/// every lesson exists, every stage exists, requirements are enabled, nothing conflicts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Enabled lesson → its stage.
    pub lessons: BTreeMap<LessonId, SelectedStage>,
}

/// The stage an environment runs a lesson at: its name, and its place in the lesson's
/// `stages`, found once when the toggle file is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedStage {
    /// The stage's name.
    pub name: StageName,
    /// Its index in the lesson's `stages`.
    pub index: usize,
}

impl SelectedStage {
    /// The stage's name.
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }
}

impl std::fmt::Display for SelectedStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.name.fmt(f)
    }
}

/// What changed between two selections: lessons enabled, moved to another stage, and
/// disabled.
#[derive(Debug)]
pub struct SelectionChange<'a> {
    /// Lessons only the new selection enables, with their stage.
    pub enabled: Vec<(&'a LessonId, &'a SelectedStage)>,
    /// Lessons both enable at different stages: the lesson, its old and its new stage.
    pub moved: Vec<(&'a LessonId, &'a SelectedStage, &'a SelectedStage)>,
    /// Lessons only the old selection enables, with the stage they had.
    pub disabled: Vec<(&'a LessonId, &'a SelectedStage)>,
}

impl Selection {
    /// What changed from `previous` to this selection.
    pub fn change_from<'a>(&'a self, previous: &'a Selection) -> SelectionChange<'a> {
        SelectionChange {
            enabled: only_in(self, previous),
            moved: self
                .lessons
                .iter()
                .filter_map(|(id, stage)| {
                    let old = previous.lessons.get(id).filter(|old| *old != stage)?;
                    Some((id, old, stage))
                })
                .collect(),
            disabled: only_in(previous, self),
        }
    }
}

/// The lessons `a` enables and `b` does not, with their stage in `a`.
fn only_in<'a>(a: &'a Selection, b: &Selection) -> Vec<(&'a LessonId, &'a SelectedStage)> {
    a.lessons
        .iter()
        .filter(|(id, _)| !b.lessons.contains_key(*id))
        .collect()
}

/// The text of a toggle file and where it lives.
#[derive(Debug, Clone)]
pub struct ToggleFile {
    /// Path for messages and writing.
    pub path: PathBuf,
    /// The text as on disk (empty when the file does not exist yet).
    pub text: String,
}

impl ToggleFile {
    /// The toggle file `gitgen init` writes: every lesson listed, commented out, so
    /// enabling one is uncommenting its line.
    pub fn starter(catalog: &Catalog, env: &EnvName, path: PathBuf) -> Self {
        let mut text = format!(
            "# Lessons enabled in the `{env}` environment, one line each: `<lesson>: <stage>`.\n\
             # Uncomment a line (or run `gitgen enable <lesson>`), run `gitgen render`, open a pull request.\n\
             lessons:\n"
        );
        for lesson in catalog.lessons.values() {
            text.push_str(&format!("  # {}: {}\n", lesson.id(), lesson.last_stage()));
        }
        ToggleFile { path, text }
    }

    /// Parses the file and checks it against `catalog` for environment `env`.
    pub fn selection(&self, catalog: &Catalog, env: &EnvName) -> Result<Selection, ToggleError> {
        self.check_conflict_markers()?;
        let raw: Raw = if self.text.trim().is_empty() {
            Raw { lessons: None }
        } else {
            yaml::from_str(&self.text, &self.path)?
        };
        let mut lessons = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for (name, stage) in raw.lessons.unwrap_or_default() {
            let Some(lesson) = catalog.get(&name.value) else {
                return Err(ToggleError::UnknownLesson {
                    at: ToggleLine::new(&self.path, &name.referenced),
                    closest: catalog.closest(&name.value).cloned(),
                    lesson: name.value,
                });
            };
            let index = match &stage.value {
                None => lesson.lesson.stages.len() - 1,
                Some(wanted) => match lesson.stage_index(wanted) {
                    Some(index) => index,
                    None => {
                        return Err(ToggleError::UnknownStage {
                            at: ToggleLine::new(&self.path, &stage.referenced),
                            lesson: lesson.id().clone(),
                            stage: wanted.clone(),
                            stages: lesson.stage_names().cloned().collect(),
                        });
                    }
                },
            };
            spans.insert(lesson.id().clone(), name.referenced);
            let name = lesson.lesson.stages[index].name.clone();
            lessons.insert(lesson.id().clone(), SelectedStage { name, index });
        }
        let selection = Selection { lessons };
        let conflicts = ConflictIndex::new(catalog, env);
        for (id, at) in &spans {
            let lesson = &catalog.lessons[id].lesson;
            for required in &lesson.requires {
                if !selection.lessons.contains_key(&required.value) {
                    return Err(ToggleError::RequiredNotEnabled {
                        at: ToggleLine::new(&self.path, at),
                        lesson: id.clone(),
                        required: required.value.clone(),
                    });
                }
            }
            for (other, reason) in conflicts.of(id) {
                if let Some(other_at) = spans.get(other) {
                    return Err(ToggleError::Conflict {
                        at: ToggleLine::new(&self.path, at),
                        lesson: id.clone(),
                        other: other.clone(),
                        other_line: other_at.line(),
                        env: env.clone(),
                        reason: reason.to_owned(),
                    });
                }
            }
        }
        Ok(selection)
    }

    /// Refuses git's conflict markers, which the YAML reader would report as a puzzling
    /// syntax error.
    fn check_conflict_markers(&self) -> Result<(), ToggleError> {
        const MARKERS: [&str; 4] = ["<<<<<<<", "|||||||", "=======", ">>>>>>>"];
        for (index, line) in self.text.lines().enumerate() {
            if let Some(marker) = MARKERS.into_iter().find(|m| {
                line.strip_prefix(m)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            }) {
                return Err(ToggleError::MergeConflict {
                    path: self.path.clone(),
                    line: index + 1,
                    marker,
                });
            }
        }
        Ok(())
    }

    /// Whether [`ToggleFile::set`] and [`ToggleFile::unset`] can edit the file: they work
    /// on `  <lesson>: <stage>` lines under `lessons:`, so a flow mapping
    /// (`lessons: {a: b}`), which render reads well, is refused here with a way out
    /// rather than edited into a file with two `lessons` keys.
    pub fn check_editable(&self) -> Result<(), ToggleError> {
        for (index, line) in self.text.lines().enumerate() {
            if let Some(rest) = line.strip_prefix("lessons:") {
                let value = rest.split(" #").next().unwrap_or_default().trim();
                if !value.is_empty() {
                    return Err(ToggleError::FlowStyle {
                        at: ToggleLine {
                            path: self.path.clone(),
                            line: index as u64 + 1,
                            column: 1,
                        },
                        value: value.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Enables `lesson` at `stage`: rewrites its line (even a commented-out one) or adds it.
    pub fn set(&mut self, lesson: &LessonId, stage: &StageName) {
        let line = format!("  {lesson}: {stage}");
        self.replace_line(lesson, Some(line));
    }

    /// Disables `lesson`: comments its line out, so the line stays as a menu entry.
    pub fn unset(&mut self, lesson: &LessonId) {
        let commented = self
            .find_line(lesson)
            .map(|(_, line, _)| format!("  # {}", line.trim_start().trim_start_matches('#').trim_start()));
        self.replace_line(lesson, commented);
    }

    /// The line index of `lesson`'s entry, the line, and whether it is commented out.
    fn find_line(&self, lesson: &LessonId) -> Option<(usize, &str, bool)> {
        let key = format!("{lesson}:");
        self.text.lines().enumerate().find_map(|(i, line)| {
            let body = line.trim_start();
            let (commented, body) = match body.strip_prefix('#') {
                Some(rest) => (true, rest.trim_start()),
                None => (false, body),
            };
            (body.starts_with(&key) && line.starts_with(' ')).then_some((i, line, commented))
        })
    }

    fn replace_line(&mut self, lesson: &LessonId, new_line: Option<String>) {
        let mut lines: Vec<String> = self.text.lines().map(str::to_owned).collect();
        match (self.find_line(lesson).map(|(i, _, _)| i), new_line) {
            (Some(i), Some(line)) => lines[i] = line,
            (Some(_), None) | (None, None) => {}
            (None, Some(line)) => {
                if !lines.iter().any(|l| l.trim_end() == "lessons:") {
                    lines.push("lessons:".to_owned());
                }
                lines.push(line);
            }
        }
        self.text = lines.join("\n") + "\n";
    }
}

/// Every lesson's conflicts in one environment, both directions, built in one pass over
/// the catalog: asking each enabled lesson's [`conflicts_of`] would scan the whole
/// catalog per lesson, a quadratic step with thousands of lessons.
struct ConflictIndex<'c> {
    /// Conflicts a lesson declares, in declaration order.
    declared: BTreeMap<&'c LessonId, Vec<(&'c LessonId, &'c str)>>,
    /// Conflicts other lessons declare against it, in the other lesson's id order.
    declared_against: BTreeMap<&'c LessonId, Vec<(&'c LessonId, &'c str)>>,
}

impl<'c> ConflictIndex<'c> {
    fn new(catalog: &'c Catalog, env: &EnvName) -> Self {
        let applies = |envs: &[String]| envs.is_empty() || envs.iter().any(|e| e == env.as_str());
        let mut index = ConflictIndex {
            declared: BTreeMap::new(),
            declared_against: BTreeMap::new(),
        };
        for (id, loaded) in &catalog.lessons {
            for conflict in loaded.lesson.conflicts.iter().filter(|c| applies(&c.environments)) {
                index
                    .declared
                    .entry(id)
                    .or_default()
                    .push((&conflict.lesson.value, &conflict.reason));
                index
                    .declared_against
                    .entry(&conflict.lesson.value)
                    .or_default()
                    .push((id, &conflict.reason));
            }
        }
        index
    }

    /// The same list as [`conflicts_of`], in the same order.
    fn of(&self, id: &LessonId) -> impl Iterator<Item = (&'c LessonId, &'c str)> + '_ {
        let declared = self.declared.get(id).into_iter().flatten();
        let against = self.declared_against.get(id).into_iter().flatten();
        declared.chain(against).copied()
    }
}

/// The lessons `id` conflicts with in environment `env`, with the reason: those it
/// declares, then those that declare it.
pub fn conflicts_of(catalog: &Catalog, id: &LessonId, env: &EnvName) -> Vec<(LessonId, String)> {
    let applies = |envs: &[String]| envs.is_empty() || envs.iter().any(|e| e == env.as_str());
    let mut found = Vec::new();
    for conflict in &catalog.lessons[id].lesson.conflicts {
        if applies(&conflict.environments) {
            found.push((conflict.lesson.value.clone(), conflict.reason.clone()));
        }
    }
    for (other, loaded) in &catalog.lessons {
        for conflict in &loaded.lesson.conflicts {
            if &conflict.lesson.value == id && applies(&conflict.environments) {
                found.push((other.clone(), conflict.reason.clone()));
            }
        }
    }
    found
}

/// Reads an environment's toggle file; a missing file is an empty one.
pub fn read_toggle_file(path: &Path) -> Result<ToggleFile, ToggleError> {
    Ok(read_toggle_file_if_present(path)?.unwrap_or_else(|| ToggleFile {
        path: path.to_owned(),
        text: String::new(),
    }))
}

/// Reads an environment's toggle file; `None` when there is none, as for an environment
/// just added to `gitgen.yaml`.
pub fn read_toggle_file_if_present(path: &Path) -> Result<Option<ToggleFile>, ToggleError> {
    let Some(bytes) = untrusted::read(path, MAX_TOGGLE_BYTES, "the toggle file")? else {
        return Ok(None);
    };
    // A byte-order mark (some Windows editors write one) is not part of the text: without
    // stripping it here, render would read the file and `enable` would not find `lessons:`.
    let bytes = match bytes.strip_prefix("\u{feff}".as_bytes()) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    let text = String::from_utf8(bytes).map_err(|err| {
        let (line, column) = gitgen_yaml::invalid_utf8_position(&err);
        ToggleError::NotUtf8 {
            path: path.to_owned(),
            line,
            column,
        }
    })?;
    Ok(Some(ToggleFile {
        path: path.to_owned(),
        text,
    }))
}
