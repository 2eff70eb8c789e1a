//! The Application builders: the Application of a lesson and of one of its charts at a
//! stage, with the labels, sync policy, `spec.info` lines and commented sync settings every
//! Application of the bundle shares.
//!
//! A single-cluster environment's bundle ([`super::argocd`]) writes these Applications as
//! they are; a classroom's ([`super::classroom`]) makes each the template of an
//! ApplicationSet. Both build on this module, which builds on neither.

use serde_json::{Value, json};

use super::overlays::{chart_values, stage_overlay_dir, values_path};
use super::{RenderContext, RenderError, RenderedFile};
use gitgen_catalog::LoadedLesson;
use gitgen_catalog::classroom::{LEARNER_CLUSTER, chart_stem, classroom_scoped};
use gitgen_catalog::config::{SyncMode, Target};
use gitgen_catalog::labels::{
    CHART_LABEL, ENVIRONMENT_LABEL, LESSON_LABEL, MANAGED_BY_LABEL, SECTION_LABEL, STAGE_LABEL, text_as_label_value,
};
use gitgen_catalog::lesson::{Chart, PodSecurityLevel, SyncOption, SyncSettings};

/// The Argo CD API version of Applications and AppProjects.
pub(super) const ARGO_API: &str = "argoproj.io/v1alpha1";

/// Where Argo CD lives relative to itself.
pub(super) const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// The name of an object the environment puts into Argo CD's namespace. A classroom
/// environment shares its Argo CD with others (the trainer's own cluster, say), so its
/// names carry the environment's name; a single-cluster environment's names are kept as
/// they always were.
pub fn scoped(ctx: &RenderContext<'_>, name: &str) -> String {
    if ctx.env.is_classroom() {
        classroom_scoped(ctx.env_name.as_str(), name)
    } else {
        name.to_owned()
    }
}

pub(super) fn metadata(ctx: &RenderContext<'_>, name: &str, labels: Value, wave: i64) -> Value {
    json!({
        "name": name,
        "namespace": ctx.config.argocd.namespace,
        "labels": labels,
        "annotations": {"argocd.argoproj.io/sync-wave": wave.to_string()},
    })
}

pub(super) fn platform_labels(ctx: &RenderContext<'_>) -> Value {
    json!({MANAGED_BY_LABEL: "gitgen", ENVIRONMENT_LABEL: ctx.env_name.as_str()})
}

/// The labels of a lesson's objects in Argo CD, which the UI's filters offer: the lesson,
/// its course section and, on an Application, the stage it renders.
pub(super) fn lesson_labels(ctx: &RenderContext<'_>, lesson: &LoadedLesson, stage: Option<&str>) -> Value {
    let mut labels = platform_labels(ctx);
    labels[LESSON_LABEL] = json!(lesson.id().as_str());
    labels[SECTION_LABEL] = json!(text_as_label_value(&lesson.lesson.section));
    if let Some(stage) = stage {
        labels[STAGE_LABEL] = json!(stage);
    }
    labels
}

/// The one sync wave of every Application the root syncs. In a sync with more than one
/// wave, gitops-engine applies a wave only once every resource of the earlier waves is
/// healthy, fails the sync when one is Degraded and waits while one is Progressing
/// (`pkg/sync/sync_context.go` lines 414-457 at the commit Argo CD v2.12.3 vendors); the
/// last wave is done once applied, however its resources fare (lines 508-549). With all
/// Applications in that last wave (AppProjects, which have no health, go first), no
/// lesson's health can hold back another.
pub(super) const APPLICATION_WAVE: i64 = 0;

/// Retries without limit (`controller/appcontroller.go` line 1343 in Argo CD v2.12.3:
/// a negative limit never runs out), backing off to every five minutes. A lesson that
/// uses custom resources of a lesson it requires fails to sync until those CRDs exist;
/// it must keep trying for as long as that takes, with no person to press Sync.
pub(super) fn retry() -> Value {
    json!({"limit": -1, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}})
}

/// The sync option that lets an Application apply what it can while the CRD of one of
/// its custom resources does not exist yet, and the reason written beside it.
fn skip_dry_run_on_missing_resource() -> SyncOption {
    SyncOption {
        option: "SkipDryRunOnMissingResource=true".to_owned(),
        why: "Its custom resources may need CRDs that its charts or a required lesson create: \
              without it one missing CRD fails the dry run of every object (Argo CD 3.0 and \
              later; Argo CD 2.x ignores it here, and retries bring the sync through once \
              the CRDs exist)."
            .to_owned(),
    }
}

/// A lesson's sync settings, with the option above when the lesson needs CRDs from
/// elsewhere at one of these stages (a classroom's Application may run any) and does not
/// already ask for it.
pub(super) fn lesson_sync_settings(lesson: &LoadedLesson, stages: impl IntoIterator<Item = usize>) -> SyncSettings {
    let mut settings = lesson.lesson.sync.clone();
    let option = skip_dry_run_on_missing_resource();
    let has_charts = stages.into_iter().any(|index| {
        lesson
            .lesson
            .charts
            .iter()
            .any(|c| lesson.in_stage(c.since.as_ref(), c.until.as_ref(), index))
    });
    if (has_charts || !lesson.lesson.requires.is_empty()) && settings.options.iter().all(|o| o.option != option.option)
    {
        settings.options.push(option);
    }
    settings
}

fn sync_policy(ctx: &RenderContext<'_>, mut options: Vec<String>, settings: &SyncSettings) -> Value {
    if settings.server_side_apply.is_some() {
        options.push("ServerSideApply=true".to_owned());
    }
    if !settings.ignore_differences.is_empty() {
        // Without it a sync would still overwrite the ignored fields.
        options.push("RespectIgnoreDifferences=true".to_owned());
    }
    options.extend(settings.options.iter().map(|o| o.option.clone()));
    let mut policy = json!({"syncOptions": options, "retry": retry()});
    if ctx.env.sync == SyncMode::Automated {
        policy["automated"] = json!({"prune": true, "selfHeal": true});
    }
    policy
}

/// Puts the reason for each of an Application's sync settings under the file's header,
/// where a reviewer reads them beside the settings. The catalog requires a reason for
/// each (`why`), because each one lets Argo CD look away from part of the cluster.
pub(super) fn explained(mut file: RenderedFile, settings: &SyncSettings) -> RenderedFile {
    let reasons = sync_reasons(settings);
    let header_end = file.contents.find('\n').map_or(0, |i| i + 1);
    file.contents.insert_str(header_end, &reasons);
    file
}

/// YAML comment lines giving each sync setting and its reason; empty without settings.
fn sync_reasons(settings: &SyncSettings) -> String {
    let mut items: Vec<(String, &str)> = Vec::new();
    if let Some(reason) = &settings.server_side_apply {
        items.push(("ServerSideApply=true".to_owned(), &reason.why));
    }
    for d in &settings.ignore_differences {
        let mut setting = String::from("ignoreDifferences on ");
        if !d.group.is_empty() {
            setting.push_str(&d.group);
            setting.push('/');
        }
        setting.push_str(&d.kind);
        for part in d.namespace.iter().chain(&d.name) {
            setting.push(' ');
            setting.push_str(part);
        }
        for path in d.json_pointers.iter().chain(&d.jq_path_expressions) {
            setting.push(' ');
            setting.push_str(path);
        }
        items.push((setting, &d.why));
    }
    for o in &settings.options {
        items.push((o.option.clone(), &o.why));
    }
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("# Sync settings and why:\n");
    for (setting, why) in items {
        let text = format!("{setting}: {why}");
        out.push_str(&comment_lines(&text, "# - ", "#   "));
    }
    out
}

/// `text` as YAML comment lines of at most [`COMMENT_WIDTH`] characters (a longer word
/// gets a line of its own), the first starting with `first`, the rest with `rest`.
pub(super) fn comment_lines(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > COMMENT_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The widest a comment line written into the bundle gets.
const COMMENT_WIDTH: usize = 90;

fn ignore_differences(settings: &SyncSettings) -> Option<Value> {
    let entries: Vec<Value> = settings
        .ignore_differences
        .iter()
        .map(|d| {
            let mut entry = json!({"group": d.group, "kind": d.kind});
            if let Some(name) = &d.name {
                entry["name"] = json!(name);
            }
            if let Some(namespace) = &d.namespace {
                entry["namespace"] = json!(namespace);
            }
            if !d.json_pointers.is_empty() {
                entry["jsonPointers"] = json!(d.json_pointers);
            }
            if !d.jq_path_expressions.is_empty() {
                entry["jqPathExpressions"] = json!(d.jq_path_expressions);
            }
            entry
        })
        .collect();
    (!entries.is_empty()).then(|| Value::Array(entries))
}

/// The `spec.info` lines the Argo CD UI shows in an Application's summary, in this order
/// (a classroom's template rewrites the stage and walkthrough lines by index): the lesson,
/// the stage and what it adds, the walkthrough's link, the course section and, when there
/// are any, the lessons it requires. The CRD takes `info` as a list of `name`/`value`
/// strings (`pkg/apis/application/v1alpha1/types.go`, `Info []Info`, at v2.12.3 and v3.5.1).
fn info(ctx: &RenderContext<'_>, lesson: &LoadedLesson, index: usize, walkthrough: &str) -> Value {
    let stages = &lesson.lesson.stages;
    let stage = &stages[index];
    let mut info = vec![
        json!({"name": "Lesson", "value": lesson.lesson.title}),
        json!({"name": "Stage", "value": format!("{} ({} of {}): {}", stage.name, index + 1, stages.len(), stage.description)}),
        json!({"name": "Walkthrough", "value": walkthrough_link(ctx, walkthrough)}),
    ];
    let section = match &lesson.lesson.course_anchor {
        Some(anchor) => format!("{} (course README #{anchor})", lesson.lesson.section),
        None => lesson.lesson.section.clone(),
    };
    info.push(json!({"name": "Course section", "value": section}));
    if !lesson.lesson.requires.is_empty() {
        let required: Vec<&str> = lesson.lesson.requires.iter().map(|r| r.value.as_str()).collect();
        info.push(json!({"name": "Requires", "value": required.join(", ")}));
    }
    Value::Array(info)
}

/// The walkthrough at repo path `path` as the Argo CD UI should show it: the page of the
/// forge that `repo_url` names, at `target_revision`, or the path itself where the forge
/// is unknown. The UI makes an `info` value a link only when the whole value is one
/// http(s) URL whose host has a dot (`urlPattern` in
/// `ui/src/app/applications/components/utils.tsx`, which
/// `application-summary/application-summary.tsx` matches each `spec.info` value against;
/// the same at v2.12.3 and v3.5.1), so the value is the URL alone.
pub(super) fn walkthrough_link(ctx: &RenderContext<'_>, path: &str) -> String {
    gitgen_git::file_url(&ctx.config.repo_url, &ctx.config.target_revision, path).unwrap_or_else(|| path.to_owned())
}

pub(super) fn lesson_application(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    index: usize,
    settings: &SyncSettings,
) -> Value {
    let id = lesson.id().as_str();
    let stage = lesson.lesson.stages[index].name.as_str();
    let overlay = stage_overlay_dir(ctx, id, stage);
    let mut meta = metadata(ctx, id, lesson_labels(ctx, lesson, Some(stage)), APPLICATION_WAVE);
    // Deleting the Application (disabling the lesson) deletes what it deployed.
    meta["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    let mut spec = json!({
        "project": scoped(ctx, id),
        "info": info(ctx, lesson, index, &format!("{overlay}/README.md")),
        "source": {"repoURL": ctx.config.repo_url, "targetRevision": ctx.config.target_revision, "path": overlay},
        "destination": destination(ctx, &lesson.lesson.namespace),
        // Namespaces are pruned last, after everything inside them.
        "syncPolicy": sync_policy(ctx, vec!["PruneLast=true".to_owned()], settings),
    });
    if let Some(ignore) = ignore_differences(settings) {
        spec["ignoreDifferences"] = ignore;
    }
    json!({"apiVersion": ARGO_API, "kind": "Application", "metadata": meta, "spec": spec})
}

/// The chart version for the stage.
pub fn chart_version<'a>(chart: &'a Chart, lesson: &LoadedLesson, index: usize) -> &'a str {
    chart
        .stage_versions
        .iter()
        .filter_map(|(stage, version)| lesson.stage_index(stage.as_str()).map(|i| (i, version)))
        .filter(|(i, _)| *i <= index)
        .max_by_key(|(i, _)| *i)
        .map_or(chart.version.as_str(), |(_, version)| version.as_str())
}

pub(super) fn chart_application(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    chart: &Chart,
    index: usize,
) -> Result<Value, RenderError> {
    let id = lesson.id().as_str();
    let stage = lesson.lesson.stages[index].name.as_str();
    let name = chart_stem(id, chart);
    let overlay = stage_overlay_dir(ctx, id, stage);
    let mut labels = lesson_labels(ctx, lesson, Some(stage));
    labels[CHART_LABEL] = json!(chart.name);
    let mut meta = metadata(ctx, &name, labels, APPLICATION_WAVE);
    meta["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    let mut helm = json!({"releaseName": chart.name});
    let mut chart_source = json!({
        "repoURL": chart.repo,
        "chart": chart.chart,
        "targetRevision": chart_version(chart, lesson, index),
    });
    let mut spec = json!({
        "project": scoped(ctx, id),
        "info": info(ctx, lesson, index, &format!("{overlay}/README.md")),
        "destination": destination(ctx, &chart.namespace),
    });
    // A classroom's learners may run different stages, so its values come from the
    // stage's overlay folder in git, whose path the ApplicationSet template chooses.
    if (chart.values_from_git || ctx.env.is_classroom()) && chart.values.is_some() {
        helm["valueFiles"] = json!([format!("$values/{}", values_path(&overlay, &chart.name))]);
        chart_source["helm"] = helm;
        spec["sources"] = json!([
            chart_source,
            {"repoURL": ctx.config.repo_url, "targetRevision": ctx.config.target_revision, "ref": "values"},
        ]);
    } else {
        if let Some(values) = chart_values(ctx, lesson, chart, index)? {
            helm["valuesObject"] = Value::Object(values.mapping);
        }
        chart_source["helm"] = helm;
        spec["source"] = chart_source;
    }
    let mut policy = sync_policy(ctx, vec!["CreateNamespace=true".to_owned()], &chart.sync);
    // The chart's namespace is created by Argo CD, which labels it as the lesson declares.
    let level = lesson
        .lesson
        .namespaces
        .iter()
        .find(|ns| ns.name == chart.namespace)
        .map_or(PodSecurityLevel::Baseline, |ns| ns.pod_security);
    let extra = lesson
        .lesson
        .namespaces
        .iter()
        .find(|ns| ns.name == chart.namespace)
        .map(|ns| ns.labels.clone())
        .unwrap_or_default();
    policy["managedNamespaceMetadata"] = json!({"labels": super::bases::namespace_labels(level, &extra)});
    spec["syncPolicy"] = policy;
    if let Some(ignore) = ignore_differences(&chart.sync) {
        spec["ignoreDifferences"] = ignore;
    }
    Ok(json!({"apiVersion": ARGO_API, "kind": "Application", "metadata": meta, "spec": spec}))
}

/// An Application's destination: the environment's cluster, or in a classroom's template
/// the cluster the generator hands it (set again once the template's text is escaped).
pub(super) fn destination(ctx: &RenderContext<'_>, namespace: &str) -> Value {
    match ctx.env.target() {
        Target::Cluster(server) => json!({"server": server, "namespace": namespace}),
        Target::Classroom(_) => json!({"name": LEARNER_CLUSTER, "namespace": namespace}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml_file;
    use gitgen_catalog::lesson::{IgnoreDifference, Reasoned};

    fn settings() -> SyncSettings {
        SyncSettings {
            server_side_apply: Some(Reasoned {
                why: "The CRD is over the annotation limit.".into(),
            }),
            ignore_differences: vec![IgnoreDifference {
                group: String::new(),
                kind: "ConfigMap".into(),
                name: Some("ca".into()),
                namespace: Some("web".into()),
                json_pointers: vec!["/data".into()],
                jq_path_expressions: vec![],
                why: "A controller writes it.".into(),
            }],
            options: vec![SyncOption {
                option: "SkipDryRunOnMissingResource=true".into(),
                why: "Its CRD comes from another Application.".into(),
            }],
        }
    }

    #[test]
    fn each_sync_setting_is_written_with_its_reason_under_the_header() {
        let file = yaml_file("a.yaml".into(), "x", "kind: Application\n");
        let file = explained(file, &settings());
        assert_eq!(
            file.contents,
            format!(
                "{}# Sync settings and why:\n\
                 # - ServerSideApply=true: The CRD is over the annotation limit.\n\
                 # - ignoreDifferences on ConfigMap web ca /data: A controller writes it.\n\
                 # - SkipDryRunOnMissingResource=true: Its CRD comes from another Application.\n\
                 kind: Application\n",
                super::super::yaml_header("x")
            )
        );
    }

    #[test]
    fn a_walkthrough_on_an_unknown_forge_is_its_repo_path() {
        let (catalog, mut config) = super::super::sync_model::course();
        config.repo_url = "https://git.example.com/course.git".to_owned();
        let (env_name, env) = config.environments.iter().find(|(_, e)| !e.is_classroom()).unwrap();
        let selection = super::super::sync_model::every_lesson(&catalog, env_name);
        let ctx = RenderContext {
            catalog: &catalog,
            config: &config,
            env_name,
            env,
            selection: &selection,
            stage_objects: &Default::default(),
        };
        assert_eq!(
            walkthrough_link(&ctx, "overlays/kind/a/README.md"),
            "overlays/kind/a/README.md"
        );
    }

    #[test]
    fn an_application_without_sync_settings_gets_no_comment() {
        let file = yaml_file("a.yaml".into(), "x", "kind: Application\n");
        let before = file.contents.clone();
        assert_eq!(explained(file, &SyncSettings::default()).contents, before);
    }

    #[test]
    fn a_long_reason_wraps_into_comment_lines_no_wider_than_the_limit() {
        let reason =
            "word ".repeat(60) + "https://example.com/a-very-long-address-that-cannot-be-broken-anywhere-at-all/at-all";
        let text = comment_lines(&reason, "# - ", "#   ");
        for line in text.lines() {
            assert!(line.starts_with("# "), "{line}");
            assert!(
                line.len() <= COMMENT_WIDTH || !line.trim_start_matches(['#', ' ', '-']).contains(' '),
                "{line}"
            );
        }
        let words: Vec<&str> = text.split_whitespace().filter(|w| !["#", "-"].contains(w)).collect();
        assert_eq!(words.join(" "), reason.split_whitespace().collect::<Vec<_>>().join(" "));
    }
}
