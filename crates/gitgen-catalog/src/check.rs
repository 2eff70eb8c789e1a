//! The rules of one lesson that its types alone cannot express, checked right after its
//! `lesson.yaml` is read: one step per part of the file, in the file's order, the first
//! problem found being the error. The rules that span lessons are in [`super::graph`].
//!
//! Errors point at a line: a `Spanned` field's through [`gitgen_yaml::Located::locate`],
//! which reads the locations only when a message needs them; a plain string field's at
//! the first line that holds its text.

use std::collections::BTreeSet;

use serde_saphyr::{Location, Spanned};

use super::lesson::{Lesson, PodSecurityLevel};
use super::{CatalogError, LESSON_FILE, LoadedLesson, Place};
use gitgen_base::layout::KUSTOMIZATION_FILE_NAMES;
use gitgen_base::names::{self, LessonId, StageName};
use gitgen_validate::kinds::{cluster_kind_group, declared_kind_group, is_known_cluster_kind};

/// Checks `loaded`, read from the folder `folder`, step by step.
pub(super) fn lesson(loaded: &LoadedLesson, folder: &LessonId) -> Result<(), CatalogError> {
    name(loaded, folder)?;
    stages(loaded)?;
    manifests(loaded)?;
    charts(loaded)?;
    cluster_kinds(loaded)?;
    chart_kinds(loaded)?;
    argocd_objects(loaded)?;
    namespaces(loaded)?;
    links(loaded)?;
    walkthrough(loaded)
}

/// The lesson's name is its folder's, and not one of gitgen's own Argo CD objects.
fn name(loaded: &LoadedLesson, folder: &LessonId) -> Result<(), CatalogError> {
    let at_name = || loaded.lesson.locate(|l| Some(l.name.referenced));
    if loaded.lesson.name.value != *folder {
        return Err(CatalogError::NameNotFolder {
            at: place(loaded, at_name(), "name"),
            name: loaded.lesson.name.value.clone(),
            folder: folder.clone(),
        });
    }
    if folder.as_str() == "default" || folder.as_str().starts_with("gitgen-") {
        return Err(CatalogError::ReservedName {
            at: place(loaded, at_name(), "name"),
            name: folder.clone(),
        });
    }
    Ok(())
}

/// At least one stage, and no stage name twice.
fn stages(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let lesson: &Lesson = &loaded.lesson;
    if lesson.stages.is_empty() {
        return Err(CatalogError::NoStages {
            at: place_of_text(loaded, "stages", "stages"),
        });
    }
    let mut seen = BTreeSet::new();
    for (i, stage) in lesson.stages.iter().enumerate() {
        if !seen.insert(stage.name.as_str()) {
            return Err(CatalogError::StageTwice {
                at: place_of_text(loaded, &format!("name: {}", stage.name), &format!("stages[{i}].name")),
                stage: stage.name.clone(),
            });
        }
    }
    Ok(())
}

/// Each manifest's stages exist; its file is a template of the lesson (not
/// `lesson.yaml`), a `.yaml` file, in a folder when it belongs to a Kustomize tree, and
/// its output name is not reserved nor another template's.
fn manifests(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let lesson: &Lesson = &loaded.lesson;
    let mut outputs = BTreeSet::new();
    for (i, manifest) in lesson.manifests.iter().enumerate() {
        let field = format!("manifests[{i}]");
        stage_span(loaded, &field, |l| {
            [l.manifests[i].since.as_ref(), l.manifests[i].until.as_ref()]
        })?;
        let file = manifest.file.value.as_str();
        let file_field = format!("{field}.file");
        let at_file = || loaded.lesson.locate(|l| Some(l.manifests[i].file.referenced));
        lesson_path(loaded, file, &file_field, at_file)?;
        let at = || place(loaded, at_file(), &file_field);
        if !loaded.files.contains_key(file) || file == LESSON_FILE {
            return Err(CatalogError::NoTemplate {
                at: at(),
                file: file.to_owned(),
                dir: loaded.dir.clone(),
            });
        }
        let output = manifest.output();
        if manifest.kustomize.is_some() && !output.contains('/') {
            return Err(CatalogError::KustomizeTreeOutsideFolder {
                at: at(),
                file: file.to_owned(),
            });
        }
        // Before the `.yaml` check, so `Kustomization` gets the reason that matters.
        if KUSTOMIZATION_FILE_NAMES.contains(&output) {
            return Err(CatalogError::KustomizationOutput {
                at: at(),
                output: output.to_owned(),
            });
        }
        if !output.ends_with(".yaml") && !output.ends_with(".yml") {
            return Err(CatalogError::NotYamlFile {
                at: at(),
                file: file.to_owned(),
            });
        }
        if output.starts_with("gitgen-") || !outputs.insert(output.to_owned()) {
            return Err(CatalogError::OutputTaken {
                at: at(),
                output: output.to_owned(),
            });
        }
    }
    Ok(())
}

/// Each chart's stages exist; its release name is a unique name; its versions, the
/// default and each stage's, are exact and name stages that exist; its values file is a
/// file of the lesson.
fn charts(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let lesson: &Lesson = &loaded.lesson;
    let mut names = BTreeSet::new();
    for (i, chart) in lesson.charts.iter().enumerate() {
        let field = format!("charts[{i}]");
        stage_span(loaded, &field, |l| {
            [l.charts[i].since.as_ref(), l.charts[i].until.as_ref()]
        })?;
        if LessonId::new(chart.name.clone()).is_err() || !names.insert(chart.name.as_str()) {
            return Err(CatalogError::ReleaseName {
                at: place_of_text(loaded, &format!("name: {}", chart.name), &format!("{field}.name")),
                name: chart.name.clone(),
            });
        }
        for version in std::iter::once(&chart.version).chain(chart.stage_versions.values()) {
            if !is_pinned_version(version) {
                return Err(CatalogError::VersionNotExact {
                    at: place_of_text(loaded, version, &format!("{field}.version")),
                    version: version.clone(),
                });
            }
        }
        if let Some(stage) = chart
            .stage_versions
            .keys()
            .find(|s| loaded.stage_index(s.as_str()).is_none())
        {
            return Err(unknown_stage(
                place_of_text(loaded, &format!("{stage}:"), &format!("{field}.stage_versions")),
                stage,
                lesson,
            ));
        }
        if let Some(values) = &chart.values {
            let values_field = format!("{field}.values");
            let at_values = || {
                loaded
                    .lesson
                    .locate(|l| l.charts[i].values.as_ref().map(|v| v.referenced))
            };
            lesson_path(loaded, &values.value, &values_field, at_values)?;
            if !loaded.files.contains_key(&values.value) {
                return Err(CatalogError::NoValuesFile {
                    at: place(loaded, at_values(), &values_field),
                    file: values.value.clone(),
                    dir: loaded.dir.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Each kind under `cluster_kinds` is a cluster-scoped kind named the way Argo CD
/// matches it.
fn cluster_kinds(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    for (i, kind) in loaded.lesson.cluster_kinds.iter().enumerate() {
        if cluster_kind_group(kind).is_none() {
            return Err(CatalogError::ClusterKindUnknown {
                at: place_near(loaded, ("cluster_kinds", kind), &format!("cluster_kinds[{i}]")),
                kind: kind.clone(),
            });
        }
    }
    Ok(())
}

/// Each chart says which kinds it creates and how that was read; each is a known kind or
/// names its group, and a cluster-scoped one is among the lesson's `cluster_kinds`.
fn chart_kinds(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let lesson: &Lesson = &loaded.lesson;
    for (i, chart) in lesson.charts.iter().enumerate() {
        if chart.creates.source.trim().is_empty() || chart.creates.kinds.is_empty() {
            return Err(CatalogError::ChartKindsUnsaid {
                at: place_of_text(
                    loaded,
                    &format!("name: {}", chart.name),
                    &format!("charts[{i}].creates"),
                ),
                chart: chart.name.clone(),
            });
        }
        for (j, kind) in chart.creates.kinds.iter().enumerate() {
            let field = format!("charts[{i}].creates.kinds[{j}]");
            match declared_kind_group(kind) {
                None => {
                    return Err(CatalogError::ChartKindUnknown {
                        at: place_near(loaded, ("kinds", kind), &field),
                        kind: kind.clone(),
                    });
                }
                Some((group, name))
                    if is_known_cluster_kind(group, name)
                        && !lesson
                            .cluster_kinds
                            .iter()
                            .any(|k| cluster_kind_group(k) == Some((group, name))) =>
                {
                    return Err(CatalogError::ChartClusterKindUndeclared {
                        at: place_near(loaded, ("kinds", kind), &field),
                        chart: chart.name.clone(),
                        kind: kind.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        for (j, kind) in chart.creates.crds.iter().enumerate() {
            let custom = is_custom_kind(kind);
            let creates_crds = chart.creates.kinds.iter().any(|k| k == "CustomResourceDefinition");
            let at = || place_near(loaded, ("crds", kind), &format!("charts[{i}].creates.crds[{j}]"));
            if !custom {
                return Err(CatalogError::CrdNotCustomKind {
                    at: at(),
                    kind: kind.clone(),
                });
            }
            if !creates_crds {
                return Err(CatalogError::CrdWithoutDefinition {
                    at: at(),
                    chart: chart.name.clone(),
                    kind: kind.clone(),
                });
            }
        }
        for (j, kind) in chart.creates.turned_off.iter().enumerate() {
            let at = || {
                place_near(
                    loaded,
                    ("turned_off", kind),
                    &format!("charts[{i}].creates.turned_off[{j}]"),
                )
            };
            match declared_kind_group(kind) {
                None => {
                    return Err(CatalogError::TurnedOffUnknown {
                        at: at(),
                        kind: kind.clone(),
                    });
                }
                parsed if chart.creates.kinds.iter().any(|k| declared_kind_group(k) == parsed) => {
                    return Err(CatalogError::TurnedOffCreated {
                        at: at(),
                        chart: chart.name.clone(),
                        kind: kind.clone(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// A lesson that deploys Argo CD objects says why, names its projects, and lists exact
/// repository URLs.
fn argocd_objects(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    if let Some(argocd) = &loaded.lesson.argocd_objects
        && (argocd.reason.trim().is_empty()
            || argocd.projects.is_empty()
            || argocd
                .repos
                .iter()
                .any(|r| r.is_empty() || r.contains(['*', '?', '[', '!'])))
    {
        return Err(CatalogError::ArgocdObjectsIncomplete {
            at: place_of_text(loaded, "argocd_objects", "argocd_objects"),
        });
    }
    let declared = loaded
        .lesson
        .argocd_objects
        .iter()
        .flat_map(|a| a.application_crds.iter());
    for (i, brought) in declared.enumerate() {
        let field = format!("argocd_objects.application_crds[{i}]");
        for (j, kind) in brought.crds.iter().enumerate() {
            if !is_custom_kind(kind) {
                return Err(CatalogError::CrdNotCustomKind {
                    at: place_near(loaded, ("crds", kind), &format!("{field}.crds[{j}]")),
                    kind: kind.clone(),
                });
            }
        }
        for (j, schema) in brought.schemas.iter().enumerate() {
            let schema_field = format!("{field}.schemas[{j}]");
            let at_schema = || {
                loaded.lesson.locate(|l| {
                    let argocd = l.argocd_objects.as_ref()?;
                    Some(argocd.application_crds.get(i)?.schemas.get(j)?.referenced)
                })
            };
            lesson_path(loaded, &schema.value, &schema_field, at_schema)?;
            if !loaded.files.contains_key(&schema.value) {
                return Err(CatalogError::NoCrdSchemaFile {
                    at: place(loaded, at_schema(), &schema_field),
                    file: schema.value.clone(),
                    dir: loaded.dir.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Whether `kind` is a custom kind written as `group/Kind`.
fn is_custom_kind(kind: &str) -> bool {
    kind.split_once('/')
        .is_some_and(|(group, name)| !group.is_empty() && !name.is_empty() && !name.contains('/'))
}

/// A privileged namespace says why.
fn namespaces(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    for (i, ns) in loaded.lesson.namespaces.iter().enumerate() {
        if ns.pod_security == PodSecurityLevel::Privileged && ns.reason.as_deref().is_none_or(str::is_empty) {
            return Err(CatalogError::PrivilegedWithoutReason {
                at: place_of_text(
                    loaded,
                    &format!("name: {}", ns.name),
                    &format!("namespaces[{i}].reason"),
                ),
                namespace: ns.name.clone(),
            });
        }
    }
    Ok(())
}

/// The walkthrough is a file of the lesson.
fn walkthrough(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let walkthrough = &loaded.lesson.walkthrough;
    if let Some(problem) = names::lesson_path_problem(walkthrough) {
        return Err(CatalogError::WalkthroughPath {
            at: place_of_text(loaded, "walkthrough", "walkthrough"),
            path: walkthrough.clone(),
            problem,
        });
    }
    if !loaded.files.contains_key(walkthrough) {
        return Err(CatalogError::NoWalkthrough {
            at: place_of_text(loaded, "walkthrough", "walkthrough"),
            file: walkthrough.clone(),
            dir: loaded.dir.clone(),
        });
    }
    Ok(())
}

/// Each link's stages exist; its title is text the Argo CD UI can show and names a unique
/// annotation; its object is `Kind/name`; its path is a URL path. Argo CD splits an
/// annotation's value at `|` into title and URL (`ui/src/app/applications/components/application-urls.tsx`,
/// `ExternalLink`, at v2.12.3 and v3.5.1), so neither part may hold one. Whether the
/// object and the port exist is render's to check, which knows the stage's objects and
/// the course's ports.
fn links(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let mut names = BTreeSet::new();
    for (i, link) in loaded.lesson.links.iter().enumerate() {
        let field = format!("links[{i}]");
        stage_span(loaded, &field, |l| {
            [l.links[i].since.as_ref(), l.links[i].until.as_ref()]
        })?;
        let title = link.title.value.as_str();
        let name = super::labels::text_as_label_value(title);
        let at_title = || loaded.lesson.locate(|l| Some(l.links[i].title.referenced));
        if title.contains('|') || title.chars().any(char::is_control) || name.is_empty() {
            return Err(CatalogError::LinkTitle {
                at: place(loaded, at_title(), &format!("{field}.title")),
                title: title.to_owned(),
            });
        }
        if !names.insert(name.clone()) {
            return Err(CatalogError::LinkTitleTwice {
                at: place(loaded, at_title(), &format!("{field}.title")),
                name,
            });
        }
        let (kind, object_name) = link.kind_and_name();
        if kind.is_empty() || object_name.is_empty() || object_name.contains('/') {
            return Err(CatalogError::LinkObject {
                at: place(
                    loaded,
                    loaded.lesson.locate(|l| Some(l.links[i].object.referenced)),
                    &format!("{field}.object"),
                ),
                object: link.object.value.clone(),
            });
        }
        if !link.path.starts_with('/')
            || link
                .path
                .contains(|c: char| c == '|' || c.is_whitespace() || c.is_control())
        {
            return Err(CatalogError::LinkPath {
                at: place_of_text(loaded, &link.path, &format!("{field}.path")),
                path: link.path.clone(),
            });
        }
    }
    Ok(())
}

/// The `since` and `until` of the item at `field`, which `span` picks from a lesson,
/// name stages of the lesson, in order.
fn stage_span(
    loaded: &LoadedLesson,
    field: &str,
    span: impl Fn(&Lesson) -> [Option<&Spanned<StageName>>; 2],
) -> Result<(), CatalogError> {
    let bounds = span(&loaded.lesson);
    for (which, bound) in ["since", "until"].into_iter().enumerate() {
        if let Some(stage) = bounds[which]
            && loaded.stage_index(stage.value.as_str()).is_none()
        {
            return Err(unknown_stage(
                place(
                    loaded,
                    loaded.lesson.locate(|l| span(l)[which].map(|s| s.referenced)),
                    &format!("{field}.{bound}"),
                ),
                &stage.value,
                &loaded.lesson,
            ));
        }
    }
    if let [Some(from), Some(to)] = bounds
        && loaded.stage_index(from.value.as_str()) > loaded.stage_index(to.value.as_str())
    {
        return Err(CatalogError::StagesOutOfOrder {
            at: place(
                loaded,
                loaded.lesson.locate(|l| span(l)[1].map(|s| s.referenced)),
                &format!("{field}.until"),
            ),
            since: from.value.clone(),
            until: to.value.clone(),
        });
    }
    Ok(())
}

/// `stage`, named at `at`, is not one of `lesson`'s, which the hint lists.
fn unknown_stage(at: Place, stage: &StageName, lesson: &Lesson) -> CatalogError {
    CatalogError::UnknownStage {
        at,
        stage: stage.clone(),
        stages: lesson.stages.iter().map(|s| s.name.clone()).collect(),
    }
}

/// Refuses a path in `lesson.yaml` that could lead out of the lesson folder.
fn lesson_path(
    loaded: &LoadedLesson,
    path: &str,
    field: &str,
    location: impl FnOnce() -> Option<Location>,
) -> Result<(), CatalogError> {
    match names::lesson_path_problem(path) {
        Some(problem) => Err(CatalogError::NotALessonPath {
            at: place(loaded, location(), field),
            path: path.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Whether `version` is one exact version (`1.2.3`, `v2.12.3`, `1.2.3-rc.1`), not a
/// range or a tag such as `latest`.
fn is_pinned_version(version: &str) -> bool {
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

/// `field` at `location` in `loaded`'s `lesson.yaml`.
pub(super) fn place(loaded: &LoadedLesson, location: Option<Location>, field: &str) -> Place {
    Place {
        path: loaded.lesson_file(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        field: field.to_owned(),
    }
}

/// `field` at the first line holding `value` from the first line holding `key:` on: the
/// place of a plain string field, which has no span of its own.
pub(super) fn place_near(loaded: &LoadedLesson, (key, value): (&str, &str), field: &str) -> Place {
    let start = loaded.files[LESSON_FILE]
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or(0);
    text_place(loaded, start, value, field)
}

/// `field` at the first line holding `needle`: for a field whose value has no span of
/// its own.
fn place_of_text(loaded: &LoadedLesson, needle: &str, field: &str) -> Place {
    text_place(loaded, 0, needle, field)
}

/// `field` at the first line from line index `start` on that holds `needle`.
fn text_place(loaded: &LoadedLesson, start: usize, needle: &str, field: &str) -> Place {
    let (line, column) = loaded.files[LESSON_FILE]
        .lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, line)| line.find(needle).map(|col| (i as u64 + 1, col as u64 + 1)))
        .unzip();
    Place {
        path: loaded.lesson_file(),
        line,
        column,
        field: field.to_owned(),
    }
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
}
