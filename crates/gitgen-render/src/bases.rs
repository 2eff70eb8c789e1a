//! `generated/<lesson>/<stage>/`: one plain Kustomize base per lesson and stage.
//!
//! Bases are the same for every environment, so `generated/` is shared and committed
//! once. Each holds the lesson's rendered manifests for that stage, the Namespaces the
//! lesson declares (with their Pod Security labels), the objects that create its
//! `cluster_secrets` in the cluster ([`super::secrets`]) and a `kustomization.yaml`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use super::policy::{self, object_id};
use super::templates::{self, LessonTemplates};
use super::{RenderContext, RenderError, RenderedFile, template_context, yaml_file};
use super::{pins, ports};
use gitgen_base::layout::Layout;
use gitgen_base::names::LessonId;
use gitgen_catalog::labels::LESSON_LABEL;
use gitgen_catalog::lesson::{KustomizeFile, Manifest, PodSecurityLevel};
use gitgen_catalog::{LESSON_FILE, LoadedLesson};
use gitgen_validate as validate;
use gitgen_yaml as yaml;

/// The file holding the Namespaces gitgen renders for a lesson.
pub const NAMESPACES_FILE: &str = "gitgen-namespaces.yaml";

/// Renders every stage of `lesson`.
pub fn emit(lesson: &LoadedLesson) -> Result<Vec<RenderedFile>, RenderError> {
    emit_stages(lesson, 0..lesson.lesson.stages.len(), None)
}

/// Renders every stage of `lesson`, and keeps the objects of the stages the environment of
/// `ctx` reads ([`RenderContext::stages_read`]) in `ctx.stage_objects`, so its checks
/// need not render them again.
pub fn emit_in(ctx: &RenderContext<'_>, lesson: &LoadedLesson) -> Result<Vec<RenderedFile>, RenderError> {
    let read = ctx.stages_read(lesson);
    emit_stages(lesson, 0..lesson.lesson.stages.len(), Some((ctx.stage_objects, &read)))
}

/// Renders the stage of `lesson` at `index` only.
pub fn emit_stage(lesson: &LoadedLesson, index: usize) -> Result<Vec<RenderedFile>, RenderError> {
    emit_stages(lesson, index..index + 1, None)
}

/// The objects of lessons' bases by lesson and stage, as one render made them: kept by
/// [`emit_in`] while it renders a lesson, else made (and kept) when first asked for, so
/// the environment's checks ([`super::owners`], a classroom's split of Argo CD objects)
/// never render a stage's templates twice. Keep one per catalog: a stage's objects come
/// from its lesson's files alone.
#[derive(Debug, Default)]
pub struct StageObjects(Mutex<ByStage>);

/// Objects by lesson and stage index.
type ByStage = HashMap<(LessonId, usize), Arc<[SourcedObject]>>;

impl StageObjects {
    /// The objects of `lesson`'s base at stage `index`, as Argo CD receives them from the
    /// stage's kustomization, with their sources. The files of a Kustomize tree the lesson
    /// ships are left out: their objects are what `kustomize build` makes of them
    /// (prefixes, patches), which render does not run.
    pub fn get(&self, lesson: &LoadedLesson, index: usize) -> Result<Arc<[SourcedObject]>, RenderError> {
        let key = (lesson.id().clone(), index);
        if let Some(objects) = self.kept().get(&key) {
            return Ok(Arc::clone(objects));
        }
        let templates = LessonTemplates::new(lesson, lesson.lesson.manifests.iter().map(|m| m.file.value.as_str()))?;
        let mut objects = Vec::new();
        for file in stage_files(lesson, &templates, &extra_files(lesson), index)? {
            if file.manifest.is_some_and(|m| m.kustomize.is_some()) {
                continue;
            }
            let documents = parse_rendered(lesson, file.manifest, index, &file.text)?;
            objects.extend(sourced(&file.source, &documents));
        }
        let objects: Arc<[SourcedObject]> = objects.into();
        self.kept().insert(key, Arc::clone(&objects));
        Ok(objects)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, ByStage> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One file of a stage's base as rendered, before it is checked or written.
struct StageFile<'a> {
    /// The manifest it comes from; `None` for the files gitgen adds (Namespaces, the
    /// `cluster_secrets` objects).
    manifest: Option<&'a Manifest>,
    /// Its path in the stage's folder.
    output: String,
    /// Where it comes from, as the file's header and errors name it.
    source: String,
    /// The rendered text.
    text: String,
}

/// The files of `lesson`'s base at stage `index`, rendered and not yet checked: what both
/// [`emit_stages`] and [`StageObjects::get`] read, so the two can never disagree.
fn stage_files<'a>(
    lesson: &'a LoadedLesson,
    templates: &LessonTemplates,
    extras: &[(String, String, String)],
    index: usize,
) -> Result<Vec<StageFile<'a>>, RenderError> {
    let stage = &lesson.lesson.stages[index];
    let context = template_context(lesson, index, None);
    let mut files: Vec<StageFile<'a>> = extras
        .iter()
        .map(|(output, source, text)| StageFile {
            manifest: None,
            output: output.clone(),
            source: source.clone(),
            text: text.clone(),
        })
        .collect();
    for manifest in &lesson.lesson.manifests {
        if !lesson.in_stage(manifest.since.as_ref(), manifest.until.as_ref(), index) {
            continue;
        }
        let template = manifest.file.value.as_str();
        files.push(StageFile {
            manifest: Some(manifest),
            output: manifest.output().to_owned(),
            source: format!(
                "{} (stage {})",
                Layout::lesson_source(lesson.id().as_str(), template),
                stage.name
            ),
            text: templates.render(template, context.clone())?,
        });
    }
    Ok(files)
}

/// The files gitgen adds to every stage of `lesson`'s base: its Namespaces and the objects
/// that create its `cluster_secrets`, each as (file name, source, text).
fn extra_files(lesson: &LoadedLesson) -> Vec<(String, String, String)> {
    let id = lesson.id();
    let namespaces = namespaces_file(lesson).map(|body| {
        (
            NAMESPACES_FILE.to_owned(),
            Layout::lesson_source(id.as_str(), LESSON_FILE),
            body,
        )
    });
    let secrets = super::secrets::objects(lesson).map(|body| {
        (
            super::secrets::SECRETS_FILE.to_owned(),
            format!("{} (cluster_secrets)", Layout::lesson_source(id.as_str(), LESSON_FILE)),
            body,
        )
    });
    namespaces.into_iter().chain(secrets).collect()
}

/// Renders the stages `stages` of `lesson`; with `keep`, the objects of the stages it
/// lists go into its [`StageObjects`].
fn emit_stages(
    lesson: &LoadedLesson,
    stages: std::ops::Range<usize>,
    keep: Option<(&StageObjects, &[usize])>,
) -> Result<Vec<RenderedFile>, RenderError> {
    let id = lesson.id().as_str();
    let templates = LessonTemplates::new(lesson, lesson.lesson.manifests.iter().map(|m| m.file.value.as_str()))?;
    let extras = extra_files(lesson);
    let mut files = Vec::new();
    // Most templates render the same text in several stages; checking a text is the
    // costly part of a render (it is parsed back and validated), and its result depends
    // on the text alone, so each template's text is checked (and parsed) again only when
    // it changes.
    let mut last_checked: BTreeMap<&str, (String, Vec<Value>)> = BTreeMap::new();
    for index in stages {
        let stage = lesson.lesson.stages[index].name.as_str();
        let dir = Layout::base_dir(id, stage);
        let mut resources = Vec::new();
        let mut kept = keep
            .filter(|(_, read)| read.contains(&index))
            .map(|(objects, _)| (objects, Vec::new()));
        // The kustomization file of each folder of the stage, by folder: the stage's own
        // is gitgen's.
        let mut kustomizations = BTreeMap::from([(String::new(), "kustomization.yaml".to_owned())]);
        for file in stage_files(lesson, &templates, &extras, index)? {
            let Some(manifest) = file.manifest else {
                if let Some((_, objects)) = &mut kept {
                    objects.extend(sourced(&file.source, &parse_rendered(lesson, None, index, &file.text)?));
                }
                files.push(yaml_file(format!("{dir}/{}", file.output), &file.source, &file.text));
                resources.push(file.output);
                continue;
            };
            let template = manifest.file.value.as_str();
            let output = file.output.as_str();
            if let Some((folder, name)) = kustomization_file(output)
                && let Some(other) = kustomizations.insert(folder.to_owned(), name.to_owned())
            {
                let other = if folder.is_empty() {
                    other
                } else {
                    format!("{folder}/{other}")
                };
                return Err(RenderError::KustomizationFile {
                    template: Layout::lesson_source(id, template).into(),
                    output: format!("{dir}/{output}"),
                    other: format!("{dir}/{other}"),
                });
            }
            if last_checked.get(template).map(|(text, _)| text) != Some(&file.text) {
                // A Kustomize tree's own kustomization files are not objects.
                let objects = if manifest.kustomize.is_some() && output.ends_with("/kustomization.yaml") {
                    Vec::new()
                } else {
                    check_objects(lesson, template, stage, &file.text, manifest.kustomize.is_none())?
                };
                last_checked.insert(template, (file.text.clone(), objects));
            }
            if let Some((_, objects)) = &mut kept
                && manifest.kustomize.is_none()
            {
                objects.extend(sourced(&file.source, &last_checked[template].1));
            }
            files.push(yaml_file(format!("{dir}/{output}"), &file.source, &file.text));
            match manifest.kustomize {
                None => resources.push(output.to_owned()),
                Some(KustomizeFile::Entry) => {
                    let folder = output.rsplit_once('/').map_or(output, |(folder, _)| folder);
                    resources.push(folder.to_owned());
                }
                Some(KustomizeFile::Part) => {}
            }
        }
        let kustomization = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "labels": [{"pairs": {LESSON_LABEL: id}, "includeSelectors": false}],
            "resources": resources,
        });
        files.push(yaml_file(
            format!("{dir}/kustomization.yaml"),
            &format!("{} (stage {stage})", Layout::lesson_source(id, LESSON_FILE)),
            &yaml::to_string(&kustomization),
        ));
        if let Some((stage_objects, objects)) = kept {
            stage_objects
                .kept()
                .insert((lesson.id().clone(), index), objects.into());
        }
    }
    files.iter().try_for_each(super::check_credentials)?;
    Ok(files)
}

/// The folder and file name of `output` (relative to a stage's folder) when kustomize
/// would read it as that folder's kustomization file.
fn kustomization_file(output: &str) -> Option<(&str, &str)> {
    let (folder, name) = output.rsplit_once('/').unwrap_or(("", output));
    gitgen_base::layout::KUSTOMIZATION_FILE_NAMES
        .contains(&name)
        .then_some((folder, name))
}

/// An object of a lesson's base, with the source it comes from.
#[derive(Debug, Clone)]
pub struct SourcedObject {
    /// Where it comes from: `catalog/<lesson>/<template> (stage <stage>)`, or lesson.yaml
    /// for the Namespaces and `cluster_secrets` objects gitgen adds.
    pub source: String,
    /// The object (a List's items each on their own).
    pub object: Value,
}

/// The objects of a rendered text, each item of a List on its own, with their source.
fn sourced(source: &str, documents: &[Value]) -> Vec<SourcedObject> {
    documents
        .iter()
        .flat_map(policy::unwrapped)
        .map(|(_, item)| SourcedObject {
            source: source.to_owned(),
            object: item.clone(),
        })
        .collect()
}

/// The documents of a text rendered from `manifest` (or, without one, a file gitgen adds
/// from lesson.yaml) at stage `index`, read back unchecked.
fn parse_rendered(
    lesson: &LoadedLesson,
    manifest: Option<&Manifest>,
    index: usize,
    text: &str,
) -> Result<Vec<Value>, RenderError> {
    let path = manifest.map_or_else(
        || lesson.dir.join("lesson.yaml"),
        |m| lesson.dir.join(m.file.value.as_str()),
    );
    yaml::documents(text, &path).map_err(|err| RenderError::Output {
        path: path.clone(),
        line: None,
        stage: lesson.lesson.stages[index].name.to_string(),
        what: format!(
            "invalid YAML at rendered line {}: {}",
            err.line.unwrap_or(0),
            err.message
        ),
        hint: None,
    })
}

/// Parses rendered text back and checks each object, and hands back the documents. Errors
/// name the template line the offending text most likely came from.
/// `whole` objects are also checked against their Kubernetes types; a Kustomize tree's
/// files are not (a patch is a partial object), but still obey the lesson's rules.
fn check_objects(
    lesson: &LoadedLesson,
    template: &str,
    stage: &str,
    text: &str,
    whole: bool,
) -> Result<Vec<Value>, RenderError> {
    let path = lesson.dir.join(template);
    let source = lesson.files.get(template).map_or("", String::as_str);
    let objects: Vec<Value> = yaml::documents(text, &path).map_err(|err| {
        let rendered_line = err.line.unwrap_or(0) as usize;
        let line = text.lines().nth(rendered_line.saturating_sub(1)).unwrap_or("");
        RenderError::Output {
            path: path.clone(),
            line: templates::template_line(source, text, rendered_line),
            stage: stage.to_owned(),
            what: format!(
                "invalid YAML at rendered line {rendered_line}, column {}: {}\n  rendered line: {}",
                err.column.unwrap_or(0),
                err.message,
                shorten(line),
            ),
            hint: err.hint.filter(|_| err.kind == yaml::YamlErrorKind::Limit),
        }
    })?;
    if objects.is_empty() {
        return Err(RenderError::Output {
            path,
            line: None,
            stage: stage.to_owned(),
            what: "no object".to_owned(),
            hint: Some("a manifest template renders at least one Kubernetes object in every stage it is part of; narrow it with `since`/`until`".to_owned()),
        });
    }
    for (index, object) in objects.iter().enumerate() {
        // The object named is the one the field is in: a List's item, or the document.
        let describe = |field: &str| {
            policy::unwrapped(object)
                .into_iter()
                .filter(|(prefix, _)| field.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
                .and_then(|(_, item)| object_id(item).ok().map(|id| id.to_string()))
                .unwrap_or_else(|| "an object".to_owned())
        };
        // Built-in kinds must also be exactly their Kubernetes type: a misspelt field would
        // otherwise be dropped by the API server without a word.
        let violation = policy::check_object(lesson, object)
            .and_then(|()| ports::check_service(object))
            .and_then(|()| pins::check_object(lesson, object))
            .err()
            .or_else(|| {
                let problem = validate::check_builtin(object).filter(|_| whole)?.into_iter().next()?;
                Some(policy::Violation::new(
                    problem.path,
                    policy::Rule::NotTheApiType {
                        problem: problem.message,
                    },
                ))
            });
        if let Some(violation) = violation {
            let line =
                field_line(text, index, &violation.field).and_then(|l| templates::template_line(source, text, l));
            return Err(RenderError::Object {
                path: path.clone(),
                line,
                stage: stage.to_owned(),
                object: describe(&violation.field),
                field: violation.field,
                rule: violation.rule,
            });
        }
    }
    Ok(objects)
}

/// The rendered line (1-based) where `field` (`spec.volumes[0].hostPath`) of the
/// `index`th non-empty document starts, or the document's first line when the key cannot
/// be found.
fn field_line(text: &str, index: usize, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let is_content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let mut documents: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate().chain([(lines.len(), &"---")]) {
        if line.starts_with("---") || i == lines.len() {
            if lines[start..i].iter().any(|l| is_content(l)) {
                documents.push((start, i));
            }
            start = i + 1;
        }
    }
    let (from, to) = *documents.get(index)?;
    let key = field.rsplit('.').next().unwrap_or(field);
    let key = key.split('[').next().unwrap_or(key);
    let found = (!key.is_empty()).then(|| {
        (from..to).find(|&i| {
            let body = lines[i].trim_start().trim_start_matches("- ").trim_start();
            body.starts_with(&format!("{key}:")) || body.starts_with(&format!("\"{key}\":"))
        })
    });
    found
        .flatten()
        .or_else(|| (from..to).find(|&i| is_content(lines[i])))
        .map(|i| i + 1)
}

/// A rendered line for a message: control characters escaped, at most 100 characters.
fn shorten(line: &str) -> String {
    let mut shown: String = line.chars().take(100).collect::<String>().escape_debug().to_string();
    if line.chars().count() > 100 {
        shown.push('…');
    }
    shown
}

/// The Namespace objects of the lesson's own namespaces, except those a chart's
/// Application creates (Argo CD labels those through `managedNamespaceMetadata`).
fn namespaces_file(lesson: &LoadedLesson) -> Option<String> {
    let documents: Vec<String> = lesson
        .lesson
        .namespaces
        .iter()
        .filter(|ns| !lesson.lesson.charts.iter().any(|c| c.namespace == ns.name))
        .map(|ns| {
            let object = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns.name, "labels": namespace_labels(ns.pod_security, &ns.labels)},
            });
            yaml::to_string(&object)
        })
        .collect();
    (!documents.is_empty()).then(|| documents.join("---\n"))
}

/// Pod Security Admission labels: the declared level enforced, `restricted` warned and
/// audited so every workload shows what it would take to harden it.
pub fn namespace_labels(level: PodSecurityLevel, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = extra.clone();
    labels.insert(
        "pod-security.kubernetes.io/enforce".to_owned(),
        level.as_str().to_owned(),
    );
    labels.insert("pod-security.kubernetes.io/warn".to_owned(), "restricted".to_owned());
    labels.insert("pod-security.kubernetes.io/audit".to_owned(), "restricted".to_owned());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_model::{course, every_lesson};

    #[test]
    fn emit_in_keeps_the_objects_of_the_stages_its_environment_reads_as_a_render_of_them_makes_them() {
        let (catalog, config) = course();
        for (env_name, env) in &config.environments {
            let selection = every_lesson(&catalog, env_name);
            let ctx = RenderContext {
                catalog: &catalog,
                config: &config,
                env_name,
                env,
                selection: &selection,
                stage_objects: &StageObjects::default(),
            };
            let mut read = 0;
            for lesson in catalog.lessons.values() {
                emit_in(&ctx, lesson).unwrap();
                read += ctx.stages_read(lesson).len();
            }
            assert!(read >= selection.lessons.len(), "{env_name}");
            assert_eq!(ctx.stage_objects.kept().len(), read, "{env_name}: kept stages");
            let as_pairs = |objects: &[SourcedObject]| -> Vec<(String, Value)> {
                objects.iter().map(|o| (o.source.clone(), o.object.clone())).collect()
            };
            for (id, stage) in &selection.lessons {
                let lesson = &catalog.lessons[id];
                let rendered_again = StageObjects::default().get(lesson, stage.index).unwrap();
                let kept = ctx.stage_objects.get(lesson, stage.index).unwrap();
                assert_eq!(as_pairs(&kept), as_pairs(&rendered_again), "{env_name}: {id}");
            }
        }
    }
}
