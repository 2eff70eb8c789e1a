//! `generated/<lesson>/<stage>/`: one plain Kustomize base per lesson and stage.
//!
//! Bases are the same for every environment, so `generated/` is shared and committed
//! once. Each holds the lesson's rendered manifests for that stage, the Namespaces the
//! lesson declares (with their Pod Security labels) and a `kustomization.yaml`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::policy::{self, object_id};
use super::templates::LessonTemplates;
use super::{RenderError, RenderedFile, template_context, yaml_file};
use crate::catalog::LoadedLesson;
use crate::catalog::lesson::PodSecurityLevel;
use crate::{validate, yaml};

/// The file holding the Namespaces gitgen renders for a lesson.
pub const NAMESPACES_FILE: &str = "gitgen-namespaces.yaml";

/// Repo-relative folder of a lesson's base at a stage.
pub fn base_dir(lesson: &str, stage: &str) -> String {
    format!("generated/{lesson}/{stage}")
}

/// Renders every stage of `lesson`.
pub fn emit(lesson: &LoadedLesson) -> Result<Vec<RenderedFile>, RenderError> {
    let id = lesson.id().as_str();
    let templates = LessonTemplates::new(lesson, lesson.lesson.manifests.iter().map(|m| m.file.value.as_str()))?;
    let namespaces = namespaces_file(lesson);
    let mut files = Vec::new();
    for (index, stage) in lesson.lesson.stages.iter().enumerate() {
        let dir = base_dir(id, stage.name.as_str());
        let context = template_context(lesson, index, None);
        let mut resources = Vec::new();
        if let Some(body) = &namespaces {
            files.push(yaml_file(format!("{dir}/{NAMESPACES_FILE}"), &format!("catalog/{id}/lesson.yaml"), body));
            resources.push(NAMESPACES_FILE.to_owned());
        }
        for manifest in &lesson.lesson.manifests {
            if !lesson.in_stage(manifest.since.as_ref(), manifest.until.as_ref(), index) {
                continue;
            }
            let template = manifest.file.value.as_str();
            let text = templates.render(template, context.clone())?;
            check_objects(lesson, template, stage.name.as_str(), &text)?;
            let output = template.rsplit('/').next().unwrap_or(template).to_owned();
            let source = format!("catalog/{id}/{template} (stage {})", stage.name);
            files.push(yaml_file(format!("{dir}/{output}"), &source, &text));
            resources.push(output);
        }
        let kustomization = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "labels": [{"pairs": {"gitgen.io/lesson": id}, "includeSelectors": false}],
            "resources": resources,
        });
        files.push(yaml_file(
            format!("{dir}/kustomization.yaml"),
            &format!("catalog/{id}/lesson.yaml (stage {})", stage.name),
            &yaml::to_string(&kustomization),
        ));
    }
    Ok(files)
}

/// Parses rendered text back and checks each object.
fn check_objects(lesson: &LoadedLesson, template: &str, stage: &str, text: &str) -> Result<(), RenderError> {
    let path = lesson.dir.join(template);
    let objects: Vec<Value> = yaml::from_multiple(text, &path).map_err(|err| {
        let line = err.line.and_then(|l| text.lines().nth(l as usize - 1)).unwrap_or("");
        RenderError::Output {
            path: path.clone(),
            stage: stage.to_owned(),
            what: format!(
                "invalid YAML at line {}, column {}: {}\n  rendered line: {line}",
                err.line.unwrap_or(0),
                err.column.unwrap_or(0),
                err.message
            ),
        }
    })?;
    if objects.is_empty() {
        return Err(RenderError::Output {
            path,
            stage: stage.to_owned(),
            what: "no object".to_owned(),
        });
    }
    for object in &objects {
        let describe = || object_id(object).map_or_else(|_| "an object".to_owned(), |id| id.to_string());
        if let Err(violation) = policy::check_object(lesson, object) {
            return Err(RenderError::Object {
                path: path.clone(),
                stage: stage.to_owned(),
                object: describe(),
                field: violation.field,
                message: violation.message,
                hint: violation.hint,
            });
        }
        // Built-in kinds must be exactly their Kubernetes type: a misspelt field would
        // otherwise be dropped by the API server without a word.
        if let Some(problem) = validate::check_builtin(object).and_then(|problems| problems.into_iter().next()) {
            return Err(RenderError::Object {
                path: path.clone(),
                stage: stage.to_owned(),
                object: describe(),
                field: problem.path,
                message: problem.message,
                hint: Some("check the field against the Kubernetes API reference for this kind".to_owned()),
            });
        }
    }
    Ok(())
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
    labels.insert("pod-security.kubernetes.io/enforce".to_owned(), level.as_str().to_owned());
    labels.insert("pod-security.kubernetes.io/warn".to_owned(), "restricted".to_owned());
    labels.insert("pod-security.kubernetes.io/audit".to_owned(), "restricted".to_owned());
    labels
}
