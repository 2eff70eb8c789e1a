//! Rendering: a checked catalog, an environment and its selection become files in
//! memory. Nothing here touches the disk; `gitgen_output` decides what to write.
//!
//! Three emitters share one [`RenderContext`]: [`bases`] writes `generated/` (one
//! Kustomize base per lesson and stage, the same for every environment), [`overlays`]
//! writes `overlays/<env>/` (what the environment enabled, with its patches) and
//! [`argocd`] writes `argocd/<env>/` (the app-of-apps bundle).

pub mod application;
pub mod argocd;
pub mod bases;
pub mod classroom;
pub mod links;
pub mod overlays;
pub mod owners;
pub mod pins;
pub mod policy;
pub mod ports;
pub mod secrets;
#[cfg(test)]
mod sync_model;
pub mod templates;

use std::path::PathBuf;

use serde::Serialize;

use gitgen_base::files::RenderedFile;
use gitgen_base::layout::{KIND_CLUSTER_FILE, Layout};
use gitgen_base::names::EnvName;
use gitgen_catalog::config::{Environment, RepoConfig};
use gitgen_catalog::{Catalog, LoadedLesson, Selection};

/// Everything a render reads.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The checked catalog.
    pub catalog: &'a Catalog,
    /// `gitgen.yaml`.
    pub config: &'a RepoConfig,
    /// The environment's name.
    pub env_name: &'a EnvName,
    /// The environment.
    pub env: &'a Environment,
    /// What the environment's toggle file enables.
    pub selection: &'a Selection,
    /// The objects of lessons' stages this render has made, for the environment's checks
    /// to read instead of rendering them again.
    pub stage_objects: &'a bases::StageObjects,
}

impl RenderContext<'_> {
    /// Where the environment's files go.
    pub fn layout(&self) -> Layout {
        Layout::new(self.env_name)
    }

    /// The stages of `lesson` whose objects the environment's render reads ([`owners`], a
    /// classroom's split of Argo CD objects): none when the lesson is not enabled, else
    /// its stage, or in a classroom every stage (a learner may be held at any).
    pub fn stages_read(&self, lesson: &LoadedLesson) -> Vec<usize> {
        match self.selection.lessons.get(lesson.id()) {
            None => Vec::new(),
            Some(_) if self.env.is_classroom() => (0..lesson.lesson.stages.len()).collect(),
            Some(stage) => vec![stage.index],
        }
    }
}

/// A template or a rendered object that is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template does not compile or fails while rendering.
    #[error("`{}{}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The template.
        path: PathBuf,
        /// 1-based line in the template.
        line: Option<usize>,
        /// What minijinja said.
        message: String,
        /// What went wrong, for choosing the hint.
        kind: minijinja::ErrorKind,
    },
    /// A template's output is over the size limit.
    #[error("`{}`: the output is {bytes} bytes, over the {} MiB limit", path.display(), limit / 1024 / 1024)]
    OutputTooLarge {
        /// The template.
        path: PathBuf,
        /// The size of the output.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The rendered text is not YAML, or not a list of Kubernetes objects.
    #[error("`{}{}` (stage `{stage}`) rendered {what}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Output {
        /// The template.
        path: PathBuf,
        /// The template line that produced the offending text, when it can be told.
        line: Option<usize>,
        /// The stage rendered.
        stage: String,
        /// What is wrong, with the place in the rendered text.
        what: String,
        /// What to do, when the YAML reader knows better than the generic advice.
        hint: Option<String>,
    },
    /// A template whose output kustomize would read as a second kustomization file of its
    /// folder (kustomize fails with "Found multiple kustomization files").
    #[error("`{}` would be written as `{output}`, beside `{other}` in the same folder: kustomize refuses a folder with two kustomization files", template.display())]
    KustomizationFile {
        /// The template, repo-relative.
        template: PathBuf,
        /// Where it would be written, repo-relative.
        output: String,
        /// The kustomization file already in that folder (gitgen's own, or the tree's).
        other: String,
    },
    /// Two outputs with one path.
    #[error("two outputs would be written to `{path}`")]
    Collision {
        /// The path.
        path: String,
    },
    /// Two objects with one identity that Argo CD would apply: two Applications taking
    /// turns overwriting one object, or one Application applying it twice.
    #[error(
        "{identity} would be applied twice in environment `{env}`: by {first_owner}, from `{first}`, and by {second_owner}, from `{second}`{}",
        example.as_ref().map(|name| format!(" (both are named `{name}` for some learners)")).unwrap_or_default()
    )]
    SharedObject {
        /// The environment.
        env: String,
        /// The object: cluster, group, kind, namespace and name.
        identity: String,
        /// Where the first comes from.
        first: String,
        /// Who applies the first.
        first_owner: String,
        /// Where the second comes from.
        second: String,
        /// Who applies the second.
        second_owner: String,
        /// A name both take, when they are written differently (a classroom's per-learner names).
        example: Option<String>,
    },
    /// A rendered file with something shaped like a credential, anywhere in its text.
    #[error("`{path}:{line}` holds what looks like {what}; credentials never go into git")]
    Credential {
        /// The rendered file, repo-relative.
        path: String,
        /// 1-based line in it.
        line: usize,
        /// What it looks like.
        what: &'static str,
    },
    /// A classroom whose name leaves no room for any learner's in the Applications Argo CD
    /// would generate for a lesson.
    #[error(
        "classroom `{env}` cannot hold lesson `{lesson}`: even a one-letter learner would get Application `{shortest}`, over the 63 characters of a DNS label"
    )]
    ClassroomName {
        /// The environment.
        env: String,
        /// The lesson with the longest Application name.
        lesson: String,
        /// The shortest name Argo CD would generate (learner `a`).
        shortest: String,
        /// The longest environment name that leaves a learner room.
        room: usize,
    },
    /// An object that breaks a rule of its type or of the lesson.
    #[error("`{}{}` (stage `{stage}`): {object}: {field}: {rule}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Object {
        /// The template.
        path: PathBuf,
        /// The template line the field comes from, when it can be told.
        line: Option<usize>,
        /// The stage rendered.
        stage: String,
        /// `Kind/name` (and namespace) of the object.
        object: String,
        /// Path of the field inside the object.
        field: String,
        /// The rule it breaks.
        rule: policy::Rule,
    },
}

impl RenderError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        use minijinja::ErrorKind;
        let hint = |h: &str| Some(h.to_owned());
        match self {
            RenderError::Object { rule, .. } => Some(rule.hint()),
            RenderError::Output { hint: Some(hint), .. } => Some(hint.clone()),
            RenderError::Output { .. } => hint(
                "values printed with `{{ }}` are quoted for you; check the template's own indentation and `-` markers",
            ),
            RenderError::Template { kind, .. } => hint(match kind {
                ErrorKind::UndefinedError => {
                    "manifest templates see `lesson`, `stage`, `stage_at_least()` and `node_port()`; values templates and walkthroughs also see `env` and `argocd_link()`"
                }
                ErrorKind::TemplateNotFound => {
                    "`{% include %}` reaches only the templates this lesson lists in `lesson.yaml`, by their path in the lesson folder"
                }
                ErrorKind::OutOfFuel => {
                    "the template ran too long (a loop or a recursion without end?); a template gets 5,000,000 steps"
                }
                // minijinja reports its recursion limit as an invalid operation.
                ErrorKind::InvalidOperation => {
                    "a macro or include calls itself too deeply (the limit is 64 levels); give the recursion an end"
                }
                ErrorKind::SyntaxError => {
                    "see the minijinja syntax: `{{ value }}`, `{% if … %}…{% endif %}`, `{% for … %}…{% endfor %}`"
                }
                _ => "fix the template at that line",
            }),
            RenderError::OutputTooLarge { .. } => {
                hint("a template writes at most 8 MiB; split the output or move large data out of git")
            }
            RenderError::Credential { .. } => hint(
                "keep credentials in the cluster (`cluster_secrets` in lesson.yaml, `gitgen bootstrap` flags); the line may be in a template, a values file, a walkthrough, a comment or a `why` of lesson.yaml",
            ),
            RenderError::SharedObject { .. } => hint(
                "an object has one owner: two Applications applying it overwrite each other on every sync (Argo CD's SharedResourceWarning); rename it in one of the two sources, or leave it to one of them",
            ),
            RenderError::KustomizationFile { .. } => hint(
                "keep one kustomization file per folder of the Kustomize tree and rename or drop the other: kustomize reads `kustomization.yaml`, `kustomization.yml` and `Kustomization` alike",
            ),
            RenderError::Collision { .. } => {
                hint("rename the lesson or the chart release so their Application names differ")
            }
            RenderError::ClassroomName { room: 0, lesson, .. } => Some(format!(
                "shorten the release names of lesson `{lesson}`'s charts: no environment name leaves room for a learner"
            )),
            RenderError::ClassroomName { room, .. } => Some(format!(
                "give the classroom environment a name of at most {room} characters in `gitgen.yaml` (learner names need room too)"
            )),
        }
    }
}

/// The template context every template gets.
#[derive(Serialize)]
struct LessonScope<'a> {
    name: &'a str,
    title: &'a str,
    section: &'a str,
    namespace: &'a str,
}

#[derive(Serialize)]
struct StageScope<'a> {
    name: &'a str,
    index: usize,
    description: &'a str,
}

/// Argo CD as `gitgen.yaml` configures it: a lesson whose own objects are Applications
/// (`argocd_objects`) puts them in its namespace, which every environment shares.
#[derive(Serialize)]
struct ArgocdScope<'a> {
    namespace: &'a str,
}

#[derive(Serialize)]
struct EnvScope<'a> {
    name: &'a str,
    host: &'a str,
    service_type: gitgen_catalog::config::ServiceType,
    sync: gitgen_catalog::config::SyncMode,
}

/// The minijinja context for `lesson` at stage `index`, with the environment when given.
fn template_context(lesson: &LoadedLesson, index: usize, env: Option<(&EnvName, &Environment)>) -> minijinja::Value {
    let stage = &lesson.lesson.stages[index];
    let mut context = std::collections::BTreeMap::from([
        (
            "lesson",
            minijinja::Value::from(minijinja::value::Serde(LessonScope {
                name: lesson.id().as_str(),
                title: &lesson.lesson.title,
                section: &lesson.lesson.section,
                namespace: &lesson.lesson.namespace,
            })),
        ),
        (
            "stage",
            minijinja::Value::from(minijinja::value::Serde(StageScope {
                name: stage.name.as_str(),
                index,
                description: &stage.description,
            })),
        ),
        (
            "argocd",
            minijinja::Value::from(minijinja::value::Serde(ArgocdScope {
                namespace: &lesson.argocd_namespace,
            })),
        ),
        ("stage_at_least", templates::stage_at_least(lesson, index)),
        ("node_port", ports::template_function()),
    ]);
    if let Some((name, env)) = env {
        context.insert(
            "env",
            minijinja::Value::from(minijinja::value::Serde(EnvScope {
                name: name.as_str(),
                host: &env.host,
                service_type: env.service_type,
                sync: env.sync,
            })),
        );
        context.insert("argocd_link", links::template_function(&env.host));
    }
    minijinja::Value::from(context)
}

/// Refuses a rendered file whose text (comments, keys, values, prose alike) holds
/// something shaped like a credential.
pub fn check_credentials(file: &RenderedFile) -> Result<(), RenderError> {
    match gitgen_base::credentials::find_credential(&file.contents) {
        Some((line, what)) => Err(RenderError::Credential {
            path: file.path.clone(),
            line,
            what,
        }),
        None => Ok(()),
    }
}

/// The comment every generated YAML file starts with.
pub fn yaml_header(source: &str) -> String {
    format!("# Generated by gitgen from {source}. Edit the source, then run `gitgen render`.\n")
}

/// A YAML file with its header.
pub fn yaml_file(path: String, source: &str, body: &str) -> RenderedFile {
    RenderedFile {
        path,
        contents: format!("{}{body}", yaml_header(source)),
    }
}

/// Whether a rendered file holds Kubernetes objects to apply as they are: not a
/// kustomization, a chart's values, a file of a Kustomize tree a lesson ships in a folder
/// of its stage (`generated/<lesson>/<stage>/<folder>/…`, whose patches are partial), or the
/// kind cluster configuration.
pub fn holds_objects(path: &str) -> bool {
    path.ends_with(".yaml")
        && !path.ends_with("/kustomization.yaml")
        && !path.contains("/values-")
        && !path.ends_with(&format!("/{KIND_CLUSTER_FILE}"))
        && !Layout::is_in_base_subfolder(path)
}

/// Renders the environment's part of the tree: the overlays and the Argo CD bundle of
/// what it enables, sorted by path. (Each lesson's bases come from [`bases::emit`], one
/// lesson at a time, so they never all sit in memory at once.)
pub fn environment(ctx: &RenderContext<'_>) -> Result<Vec<RenderedFile>, RenderError> {
    let mut files = overlays::emit(ctx)?;
    files.extend(argocd::emit(ctx)?);
    files.iter().try_for_each(check_credentials)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = files.windows(2).find(|pair| pair[0].path == pair[1].path) {
        // Two things render to one path, e.g. a chart `<lesson>-<chart>` Application and a
        // lesson of that name. Writing either would silently lose the other.
        return Err(RenderError::Collision {
            path: pair[0].path.clone(),
        });
    }
    owners::check(ctx, &files)?;
    Ok(files)
}

/// Every file render writes for the context, in memory: each lesson's bases at every
/// stage, then the environment's part (what `gitgen validate` checks). `gitgen render`
/// itself goes lesson by lesson instead, so the tree never sits in memory whole.
pub fn everything(ctx: &RenderContext<'_>) -> Result<Vec<RenderedFile>, RenderError> {
    use rayon::prelude::*;
    let lessons: Vec<&LoadedLesson> = ctx.catalog.lessons.values().collect();
    let bases: Vec<Vec<RenderedFile>> = lessons
        .into_par_iter()
        .map(|lesson| bases::emit_in(ctx, lesson))
        .collect::<Result<_, _>>()?;
    let mut files: Vec<RenderedFile> = bases.into_iter().flatten().collect();
    files.extend(environment(ctx)?);
    Ok(files)
}
