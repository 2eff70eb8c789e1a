//! The rules of one lesson that its types alone cannot express, checked right after its
//! `lesson.yaml` is read: one step per part of the file, in the file's order, the first
//! problem found being the error. The rules that span lessons are in [`super::graph`].
//!
//! Errors point at a line: a `Spanned` field's through [`crate::yaml::Located::locate`],
//! which reads the locations only when a message needs them; a plain string field's at
//! the first line that holds its text.

use std::collections::BTreeSet;

use serde_saphyr::{Location, Spanned};

use super::lesson::{Lesson, PodSecurityLevel};
use crate::layout::KUSTOMIZATION_FILE_NAMES;
use crate::names::{self, LessonId, StageName};
use super::{CatalogError, LESSON_FILE, LoadedLesson};
use crate::kinds::{cluster_kind_group, declared_kind_group, is_known_cluster_kind};

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
        return Err(invalid(
            loaded,
            at_name(),
            "name",
            format!("`{}` does not match its folder `{folder}`", loaded.lesson.name.value),
            Some(format!("set `name: {folder}` or rename the folder")),
        ));
    }
    if folder.as_str() == "default" || folder.as_str().starts_with("gitgen-") {
        return Err(invalid(
            loaded,
            at_name(),
            "name",
            format!("`{folder}` is reserved for gitgen's own Argo CD objects"),
            Some("choose another name for the lesson and its folder".to_owned()),
        ));
    }
    Ok(())
}

/// At least one stage, and no stage name twice.
fn stages(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let lesson: &Lesson = &loaded.lesson;
    if lesson.stages.is_empty() {
        return Err(at_text(
            loaded,
            "stages",
            "stages",
            "a lesson needs at least one stage".to_owned(),
            None,
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, stage) in lesson.stages.iter().enumerate() {
        if !seen.insert(stage.name.as_str()) {
            return Err(at_text(
                loaded,
                &format!("name: {}", stage.name),
                &format!("stages[{i}].name"),
                format!("stage `{}` is listed twice", stage.name),
                None,
            ));
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
        let refuse = |message: String, hint: Option<&str>| {
            Err(invalid(
                loaded,
                at_file(),
                &file_field,
                message,
                hint.map(str::to_owned),
            ))
        };
        if !loaded.files.contains_key(file) || file == LESSON_FILE {
            return refuse(
                format!(
                    "there is no template `{}` in `{}`",
                    file.escape_debug(),
                    loaded.dir.display()
                ),
                Some("paths are relative to the lesson folder and cannot leave it"),
            );
        }
        let output = manifest.output();
        if manifest.kustomize.is_some() && !output.contains('/') {
            return refuse(
                format!("`{file}` is part of a Kustomize tree but is not in a folder of it"),
                Some(
                    "put the tree's files in folders (`base/`, `dev/`, ...); the stage's own `kustomization.yaml` lists the `entry` folders",
                ),
            );
        }
        // Before the `.yaml` check, so `Kustomization` gets the reason that matters.
        if KUSTOMIZATION_FILE_NAMES.contains(&output) {
            return refuse(
                format!("the output name `{output}` is taken: kustomize would read it as the stage's kustomization file, beside the `kustomization.yaml` gitgen writes"),
                Some(
                    "rename the template; `kustomization.yaml`, `kustomization.yml` and `Kustomization` at the top of a stage are gitgen's (a Kustomize tree the lesson ships keeps its own in its folders, marked `kustomize:`)",
                ),
            );
        }
        if !output.ends_with(".yaml") && !output.ends_with(".yml") {
            return refuse(format!("`{file}` is not a `.yaml` file"), None);
        }
        if output.starts_with("gitgen-") || !outputs.insert(output.to_owned()) {
            return refuse(
                format!("the output name `{output}` is taken"),
                Some("`gitgen-*` and names already used by another template of this lesson are reserved"),
            );
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
            return Err(at_text(
                loaded,
                &format!("name: {}", chart.name),
                &format!("{field}.name"),
                format!(
                    "`{}` is not a unique release name (lower-case letters, digits, `-`)",
                    chart.name
                ),
                None,
            ));
        }
        for version in std::iter::once(&chart.version).chain(chart.stage_versions.values()) {
            if !is_pinned_version(version) {
                return Err(at_text(
                    loaded,
                    version,
                    &format!("{field}.version"),
                    format!("`{version}` is not an exact version"),
                    Some("pin charts to one version, e.g. `65.8.1`; ranges make renders drift".to_owned()),
                ));
            }
        }
        if let Some(stage) = chart
            .stage_versions
            .keys()
            .find(|s| loaded.stage_index(s.as_str()).is_none())
        {
            return Err(at_text(
                loaded,
                &format!("{stage}:"),
                &format!("{field}.stage_versions"),
                format!("there is no stage `{stage}`"),
                stage_hint(lesson),
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
                return Err(invalid(
                    loaded,
                    at_values(),
                    &values_field,
                    format!(
                        "there is no values file `{}` in `{}`",
                        values.value.escape_debug(),
                        loaded.dir.display()
                    ),
                    Some("the path is relative to the lesson folder, e.g. `values/keda.yaml`".to_owned()),
                ));
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
            return Err(invalid_near(
                loaded,
                ("cluster_kinds", kind),
                &format!("cluster_kinds[{i}]"),
                format!("`{kind}` is not a built-in cluster-scoped kind"),
                "write a custom kind with its API group, e.g. `templates.gatekeeper.sh/ConstraintTemplate`; Argo CD matches kinds by group".to_owned(),
            ));
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
            return Err(at_text(
                loaded,
                &format!("name: {}", chart.name),
                &format!("charts[{i}].creates"),
                format!("chart `{}` does not say which kinds it creates, and from where", chart.name),
                Some("list the kinds in the chart's templates under `creates.kinds`, and how you read them under `creates.source`".to_owned()),
            ));
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
        for (j, kind) in chart.creates.crds.iter().enumerate() {
            let custom = kind.split_once('/').is_some_and(|(group, name)| {
                !group.is_empty() && !name.is_empty() && !name.contains('/')
            });
            let creates_crds = chart.creates.kinds.iter().any(|k| k == "CustomResourceDefinition");
            let problem = if !custom {
                format!("`{kind}` is not a custom kind written as `group/Kind`")
            } else if !creates_crds {
                format!(
                    "chart `{}` lists `{kind}` under `crds` but no `CustomResourceDefinition` under `kinds`",
                    chart.name
                )
            } else {
                continue;
            };
            return Err(invalid_near(
                loaded,
                ("crds", kind),
                &format!("charts[{i}].creates.crds[{j}]"),
                problem,
                "list under `crds` the kind each of the chart's CustomResourceDefinitions defines, e.g. `keda.sh/ScaledObject`".to_owned(),
            ));
        }
        for (j, kind) in chart.creates.turned_off.iter().enumerate() {
            let field = format!("charts[{i}].creates.turned_off[{j}]");
            let problem = match declared_kind_group(kind) {
                None => format!("`{kind}` is not a built-in kind"),
                parsed if chart.creates.kinds.iter().any(|k| declared_kind_group(k) == parsed) => {
                    format!(
                        "chart `{}` lists `{kind}` both in `kinds` and in `turned_off`",
                        chart.name
                    )
                }
                Some(_) => continue,
            };
            return Err(invalid_near(
                loaded,
                ("turned_off", kind),
                &field,
                problem,
                "list under `turned_off` only kinds the chart's templates hold and these values turn off, custom ones as `group/Kind`".to_owned(),
            ));
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
        return Err(at_text(
            loaded,
            "argocd_objects",
            "argocd_objects",
            "Argo CD objects need a reason, at least one project, and exact repository URLs".to_owned(),
            Some("say why the lesson deploys Applications, name its projects, and list each repository URL without wildcards".to_owned()),
        ));
    }
    Ok(())
}

/// A privileged namespace says why.
fn namespaces(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    for (i, ns) in loaded.lesson.namespaces.iter().enumerate() {
        if ns.pod_security == PodSecurityLevel::Privileged && ns.reason.as_deref().is_none_or(str::is_empty) {
            return Err(at_text(
                loaded,
                &format!("name: {}", ns.name),
                &format!("namespaces[{i}].reason"),
                format!("namespace `{}` is privileged without a reason", ns.name),
                Some("say why the lesson's pods need host access, or use `baseline`".to_owned()),
            ));
        }
    }
    Ok(())
}

/// The walkthrough is a file of the lesson.
fn walkthrough(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    let walkthrough = &loaded.lesson.walkthrough;
    if let Some(problem) = names::lesson_path_problem(walkthrough) {
        return Err(at_text(
            loaded,
            "walkthrough",
            "walkthrough",
            format!(
                "`{}` cannot be a file of the lesson: {problem}",
                walkthrough.escape_debug()
            ),
            Some("write the path relative to the lesson folder, e.g. `README.md.j2`".to_owned()),
        ));
    }
    if !loaded.files.contains_key(walkthrough) {
        return Err(at_text(
            loaded,
            "walkthrough",
            "walkthrough",
            format!(
                "there is no walkthrough `{}` in `{}`",
                walkthrough.escape_debug(),
                loaded.dir.display()
            ),
            Some("each lesson explains itself in `README.md.j2` (Markdown, a minijinja template)".to_owned()),
        ));
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
        stage_span(loaded, &field, |l| [l.links[i].since.as_ref(), l.links[i].until.as_ref()])?;
        let title = link.title.value.as_str();
        let name = super::labels::text_as_label_value(title);
        let at_title = || loaded.lesson.locate(|l| Some(l.links[i].title.referenced));
        if title.contains('|') || title.chars().any(char::is_control) || name.is_empty() {
            return Err(invalid(
                loaded,
                at_title(),
                &format!("{field}.title"),
                format!("`{}` cannot be a link's title", title.escape_debug()),
                Some("use words with at least one letter or digit, and no `|` (Argo CD reads `|` as the end of the title)".to_owned()),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(invalid(
                loaded,
                at_title(),
                &format!("{field}.title"),
                format!("another link of the lesson is also named `{name}`"),
                Some("give each link a title of its own".to_owned()),
            ));
        }
        let (kind, object_name) = link.kind_and_name();
        if kind.is_empty() || object_name.is_empty() || object_name.contains('/') {
            return Err(invalid(
                loaded,
                loaded.lesson.locate(|l| Some(l.links[i].object.referenced)),
                &format!("{field}.object"),
                format!("`{}` is not `Kind/name`", link.object.value.escape_debug()),
                Some("name the object of the lesson's manifests that serves the page, like `Service/probe-test-app`".to_owned()),
            ));
        }
        if !link.path.starts_with('/') || link.path.contains(|c: char| c == '|' || c.is_whitespace() || c.is_control()) {
            return Err(at_text(
                loaded,
                &link.path,
                &format!("{field}.path"),
                format!("`{}` is not a URL path", link.path.escape_debug()),
                Some("start it with `/`, without spaces or `|`".to_owned()),
            ));
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
            return Err(invalid(
                loaded,
                loaded.lesson.locate(|l| span(l)[which].map(|s| s.referenced)),
                &format!("{field}.{bound}"),
                format!("there is no stage `{}`", stage.value),
                stage_hint(&loaded.lesson),
            ));
        }
    }
    if let [Some(from), Some(to)] = bounds
        && loaded.stage_index(from.value.as_str()) > loaded.stage_index(to.value.as_str())
    {
        return Err(invalid(
            loaded,
            loaded.lesson.locate(|l| span(l)[1].map(|s| s.referenced)),
            &format!("{field}.until"),
            format!("stage `{}` comes before `{}`", to.value, from.value),
            None,
        ));
    }
    Ok(())
}

/// The hint for a stage that does not exist: the ones that do.
fn stage_hint(lesson: &Lesson) -> Option<String> {
    let names: Vec<&str> = lesson.stages.iter().map(|s| s.name.as_str()).collect();
    Some(format!("this lesson's stages are: {}", names.join(", ")))
}

/// Refuses a path in `lesson.yaml` that could lead out of the lesson folder.
fn lesson_path(
    loaded: &LoadedLesson,
    path: &str,
    field: &str,
    location: impl FnOnce() -> Option<Location>,
) -> Result<(), CatalogError> {
    match names::lesson_path_problem(path) {
        Some(problem) => Err(invalid(
            loaded,
            location(),
            field,
            format!("`{}` cannot be a file of the lesson: {problem}", path.escape_debug()),
            Some("write the path relative to the lesson folder, e.g. `pod.yaml` or `values/keda.yaml`".to_owned()),
        )),
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

/// An error at `location` in `loaded`'s `lesson.yaml`.
pub(super) fn invalid(
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

/// An error at the first line holding `value` from the first line holding `key:` on: the
/// place of a plain string field, which has no span of its own.
pub(super) fn invalid_near(
    loaded: &LoadedLesson,
    (key, value): (&str, &str),
    field: &str,
    message: String,
    hint: String,
) -> CatalogError {
    let start = loaded.files[LESSON_FILE]
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or(0);
    text_error(loaded, start, value, field, message, Some(hint))
}

/// An error at the first line holding `needle`: for a field whose value has no span of
/// its own.
fn at_text(loaded: &LoadedLesson, needle: &str, field: &str, message: String, hint: Option<String>) -> CatalogError {
    text_error(loaded, 0, needle, field, message, hint)
}

/// An error at the first line from line index `start` on that holds `needle`.
fn text_error(
    loaded: &LoadedLesson,
    start: usize,
    needle: &str,
    field: &str,
    message: String,
    hint: Option<String>,
) -> CatalogError {
    let (line, column) = loaded.files[LESSON_FILE]
        .lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, line)| line.find(needle).map(|col| (i as u64 + 1, col as u64 + 1)))
        .unzip();
    CatalogError::Invalid {
        path: loaded.lesson_file(),
        line,
        column,
        field: field.to_owned(),
        message,
        hint,
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
