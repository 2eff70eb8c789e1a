//! `argocd/<env>/`: the app-of-apps bundle Argo CD converges.
//!
//! `root.yaml` is the one object `gitgen bootstrap` applies by hand; it points Argo CD at
//! `apps/`, which holds everything else: the AppProjects (one per lesson, least
//! privilege; `default` locked down), the Application that lets Argo CD manage itself,
//! and one Application per enabled lesson and per chart of an enabled lesson.
//! Every Application is in one sync wave, so the root never waits on a child's health
//! and one unhealthy lesson holds back nothing. Order comes from `requires` alone: an
//! Application whose custom resources need CRDs that another Application (its own
//! lesson's chart, or a required lesson's) creates retries without limit until they
//! exist. `sync_model.rs` checks that against a model of gitops-engine.
//!
//! A classroom environment (`clusters:` in `gitgen.yaml`) gets an ApplicationSet per
//! enabled lesson and chart instead of the Applications ([`super::classroom`]), and the
//! names of everything it puts into Argo CD carry the environment's name ([`scoped`]).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::classroom;
use super::overlays::{chart_values, stage_overlay_dir, values_path};
use super::policy::is_cluster_scoped;
use super::{RenderContext, RenderError, RenderedFile, yaml_file};
use crate::argocd_install::{ARGOCD_CM, argocd_cm_data, manifest_url};
use crate::catalog::{LESSON_FILE, LoadedLesson};
use crate::catalog::labels::{
    CHART_LABEL, ENVIRONMENT_LABEL, LESSON_LABEL, MANAGED_BY_LABEL, SECTION_LABEL, STAGE_LABEL, text_as_label_value,
};
use crate::catalog::config::{SyncMode, Target};
use crate::catalog::lesson::{Chart, PodSecurityLevel, Reasoned, SyncOption, SyncSettings};
use crate::kinds::{cluster_kind_group, declared_kind_group};
use crate::layout::Layout;
use crate::yaml;

/// The Argo CD API version of Applications and AppProjects.
const ARGO_API: &str = "argoproj.io/v1alpha1";
/// The root Application's name.
pub const ROOT_APP: &str = "gitgen-root";
/// The project of gitgen's own Applications (root and Argo CD itself).
pub const PLATFORM_PROJECT: &str = "gitgen-platform";
/// The Application through which Argo CD manages itself.
pub const SELF_APP: &str = "gitgen-argocd";
/// Where Argo CD lives relative to itself.
pub(super) const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// YAML comment lines giving each `argocd-cm` decision and its reason.
fn argocd_cm_reasons() -> String {
    let mut out = String::from("# Argo CD settings and why (set here, or left to the pinned release):\n");
    for setting in &ARGOCD_CM {
        let what = match setting.value {
            Some(_) => format!("{}: set", setting.key),
            None => format!("{}: not set", setting.key),
        };
        out.push_str(&comment_lines(&format!("{what}. {}", setting.why), "# - ", "#   "));
    }
    out
}

/// Renders the environment's whole bundle.
pub fn emit(ctx: &RenderContext<'_>) -> Result<Vec<RenderedFile>, RenderError> {
    let apps_dir = ctx.layout().apps_dir();
    let toggle = ctx.layout().toggle_path();
    // Files are named after the object and its kind, so no two can collide. Each object
    // becomes text at once: with thousands of lessons, their trees would be most of the
    // memory a render holds.
    let app = |name: String, source: &str, object: Value| {
        yaml_file(format!("{apps_dir}/{name}"), source, &yaml::to_string(&object))
    };
    let classroom = ctx.env.is_classroom();
    let mut files = vec![
        app(
            format!("{}.appproject.yaml", scoped(ctx, PLATFORM_PROJECT)),
            "gitgen.yaml",
            platform_project(ctx),
        ),
        explained(
            app(
                format!("{}.application.yaml", scoped(ctx, SELF_APP)),
                "gitgen.yaml (argocd pin)",
                self_managed_argocd(ctx),
            ),
            &self_managed_sync(),
        ),
    ];
    // `default` has one name in every Argo CD: a single-cluster environment locks it down,
    // and a classroom leaves it alone, or two roots would take turns owning it.
    if !classroom {
        files.push(app(
            "default.appproject.yaml".into(),
            "gitgen.yaml",
            locked_default_project(ctx),
        ));
    }
    for lesson in ctx.catalog.lessons.values() {
        let source = Layout::lesson_source(lesson.id().as_str(), LESSON_FILE);
        files.push(app(
            format!("{}.appproject.yaml", scoped(ctx, lesson.id().as_str())),
            &source,
            lesson_project(ctx, lesson),
        ));
    }
    for (id, stage) in &ctx.selection.lessons {
        let lesson = &ctx.catalog.lessons[id];
        let index = stage.index;
        let source = format!("{toggle} and {}", Layout::lesson_source(id.as_str(), LESSON_FILE));
        if classroom {
            files.extend(classroom::application_sets(ctx, lesson, index)?.into_iter().map(
                |(name, object, settings)| {
                    explained(app(format!("{name}.applicationset.yaml"), &source, object), &settings)
                },
            ));
            continue;
        }
        let settings = lesson_sync_settings(lesson, index..=index);
        files.push(explained(
            app(
                format!("{id}.application.yaml"),
                &source,
                lesson_application(ctx, lesson, index, &settings),
            ),
            &settings,
        ));
        for chart in &lesson.lesson.charts {
            if lesson.in_stage(chart.since.as_ref(), chart.until.as_ref(), index) {
                files.push(explained(
                    app(
                        format!("{id}-{}.application.yaml", chart.name),
                        &source,
                        chart_application(ctx, lesson, chart, index)?,
                    ),
                    &chart.sync,
                ));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let names: Vec<&str> = files
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path))
        .collect();
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": names,
    });
    files.push(yaml_file(
        format!("{apps_dir}/kustomization.yaml"),
        &toggle,
        &yaml::to_string(&kustomization),
    ));
    files.extend(install_files(ctx));
    files.push(yaml_file(
        ctx.layout().root_application(),
        "gitgen.yaml",
        &yaml::to_string(&root_application(ctx)),
    ));
    Ok(files)
}

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

/// `name` of classroom environment `env`'s own object (its root Application is
/// `<env>-gitgen-root`), for the code that looks for it on a cluster.
pub fn classroom_scoped(env: &str, name: &str) -> String {
    format!("{env}-{name}")
}

pub(super) fn metadata(ctx: &RenderContext<'_>, name: &str, labels: Value, wave: i64) -> Value {
    json!({
        "name": name,
        "namespace": ctx.config.argocd.namespace,
        "labels": labels,
        "annotations": {"argocd.argoproj.io/sync-wave": wave.to_string()},
    })
}

fn platform_labels(ctx: &RenderContext<'_>) -> Value {
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
fn retry() -> Value {
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
fn comment_lines(text: &str, first: &str, rest: &str) -> String {
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
    crate::git::file_url(&ctx.config.repo_url, &ctx.config.target_revision, path).unwrap_or_else(|| path.to_owned())
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
    let name = format!("{id}-{}", chart.name);
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

/// A lesson's project: its repos, its namespaces (with Argo CD's when the lesson declares
/// Argo CD objects of its own, and the Kubernetes ones its charts declare), and exactly the
/// kinds its templates and charts create, cluster-scoped and namespaced.
fn lesson_project(ctx: &RenderContext<'_>, lesson: &LoadedLesson) -> Value {
    let l = &lesson.lesson;
    let mut repos: BTreeSet<&str> = BTreeSet::from([ctx.config.repo_url.as_str()]);
    repos.extend(l.charts.iter().map(|c| c.repo.as_str()));
    let mut namespaces: BTreeSet<&str> = super::policy::allowed_namespaces(lesson)
        .chain(std::iter::once(l.namespace.as_str()))
        .chain(l.system_namespaces.iter().map(|ns| ns.name.as_str()))
        .collect();
    if l.argocd_objects.is_some() {
        namespaces.insert(ctx.config.argocd.namespace.as_str());
    }
    let destinations: Vec<Value> = namespaces
        .iter()
        .map(|ns| match ctx.env.target() {
            Target::Cluster(server) => json!({"server": server, "namespace": ns}),
            // Exactly the class's clusters: `classroom add` names each `<env>-<learner>`.
            // Argo CD v2.12.3 matches a destination's `name` as a glob
            // (`pkg/apis/application/v1alpha1/app_project_types.go`,
            // `AppProject.isDestinationMatched` and `globMatch`, gobwas/glob without
            // separators, so `*` is any text), as it matches `server`.
            // A lesson's own Argo CD objects go where Argo CD runs, one set per learner.
            Target::Classroom(_) if *ns == ctx.config.argocd.namespace => json!({"server": IN_CLUSTER, "namespace": ns}),
            Target::Classroom(_) => json!({"name": classroom::destination_glob(ctx.env_name), "namespace": ns}),
        })
        .collect();
    let mut cluster: BTreeSet<(&str, &str)> = l.cluster_kinds.iter().filter_map(|k| cluster_kind_group(k)).collect();
    cluster.insert(("", "Namespace"));
    let chart_kinds = l
        .charts
        .iter()
        .flat_map(|c| c.creates.kinds.iter())
        .filter_map(|k| declared_kind_group(k));
    let namespaced: BTreeSet<(&str, &str)> = lesson
        .kinds
        .iter()
        .map(|(group, kind)| (group.as_str(), kind.as_str()))
        .chain(chart_kinds)
        .filter(|(group, kind)| !is_cluster_scoped(lesson, group, kind))
        .collect();
    let list = |kinds: &BTreeSet<(&str, &str)>| -> Vec<Value> {
        kinds
            .iter()
            .map(|(group, kind)| json!({"group": group, "kind": kind}))
            .collect()
    };
    let mut spec = json!({
        "description": format!("{}: only this lesson's repos, namespaces and kinds", l.title),
        "sourceRepos": repos,
        "destinations": destinations,
        "clusterResourceWhitelist": list(&cluster),
        "namespaceResourceWhitelist": list(&namespaced),
    });
    if namespaced.is_empty() {
        // Argo CD reads an absent namespaced whitelist as "everything", and older releases
        // read an empty one so too; the blacklist says "nothing" to every release.
        spec["namespaceResourceBlacklist"] = json!([{"group": "*", "kind": "*"}]);
    }
    json!({
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": metadata(ctx, &scoped(ctx, lesson.id().as_str()), lesson_labels(ctx, lesson, None), -10),
        "spec": spec,
    })
}

/// An Application's destination: the environment's cluster, or in a classroom's template
/// the cluster the generator hands it (set again once the template's text is escaped).
fn destination(ctx: &RenderContext<'_>, namespace: &str) -> Value {
    match ctx.env.target() {
        Target::Cluster(server) => json!({"server": server, "namespace": namespace}),
        Target::Classroom(_) => json!({"name": classroom::LEARNER_CLUSTER, "namespace": namespace}),
    }
}

fn locked_default_project(ctx: &RenderContext<'_>) -> Value {
    json!({
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": metadata(ctx, "default", platform_labels(ctx), -10),
        "spec": {
            "description": "Locked down: every Application belongs to a lesson's project or to gitgen-platform",
            "sourceRepos": [],
            "destinations": [],
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": [{"group": "*", "kind": "*"}],
        },
    })
}

fn platform_project(ctx: &RenderContext<'_>) -> Value {
    json!({
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": metadata(ctx, &scoped(ctx, PLATFORM_PROJECT), platform_labels(ctx), -10),
        "spec": {
            "description": "gitgen's own Applications: the app-of-apps root and Argo CD itself",
            "sourceRepos": [ctx.config.repo_url],
            "destinations": [{"server": IN_CLUSTER, "namespace": ctx.config.argocd.namespace}],
            "clusterResourceWhitelist": [
                {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"},
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"},
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRoleBinding"},
            ],
        },
    })
}

/// The kustomization that is Argo CD's own install: the pinned upstream manifest and
/// the patch that keeps bootstrap's `argocd-cm` settings.
fn install_files(ctx: &RenderContext<'_>) -> Vec<RenderedFile> {
    let dir = ctx.layout().install_dir();
    // No `namespace:` here: Argo CD puts the manifest's namespace-less objects into the
    // Application's destination namespace, as bootstrap's apply does, while kustomize's
    // namespace transformer would also add it to RoleBinding subjects, which bootstrap's
    // objects leave without one: every sync would change six RoleBindings.
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [manifest_url(&ctx.config.argocd.version)],
        "patches": [{"path": "argocd-cm.yaml"}],
    });
    // The same keys and text bootstrap merges into `argocd-cm`; without them here,
    // self-management would remove what bootstrap set.
    let data: serde_json::Map<String, Value> = argocd_cm_data()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), json!(value)))
        .collect();
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        // No namespace: kustomize patches the manifest's objects before it sets theirs.
        "metadata": {"name": "argocd-cm"},
        "data": data,
    });
    let mut patch = yaml_file(
        format!("{dir}/argocd-cm.yaml"),
        "gitgen.yaml (argocd pin)",
        &yaml::to_string(&config_map),
    );
    let header_end = patch.contents.find('\n').map_or(0, |i| i + 1);
    patch.contents.insert_str(header_end, &argocd_cm_reasons());
    vec![
        yaml_file(
            format!("{dir}/kustomization.yaml"),
            "gitgen.yaml (argocd pin)",
            &yaml::to_string(&kustomization),
        ),
        patch,
    ]
}

/// The self-managing Application's sync settings that need a reason in its file.
fn self_managed_sync() -> SyncSettings {
    SyncSettings {
        server_side_apply: Some(Reasoned {
            why: "The ApplicationSet CRD is over the 262,144-byte annotation limit of client-side \
                  apply, and from Argo CD 3.3 on upstream requires it of an Argo CD that upgrades \
                  itself (docs/operator-manual/upgrading/3.2-3.3.md, \"Upgrading Argo CD which is \
                  managing itself\"): it also takes over the fields bootstrap applied."
                .to_owned(),
        }),
        ..SyncSettings::default()
    }
}

fn self_managed_argocd(ctx: &RenderContext<'_>) -> Value {
    let version = &ctx.config.argocd.version;
    // No resources finalizer: deleting this Application must never delete Argo CD.
    json!({
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": metadata(ctx, &scoped(ctx, SELF_APP), platform_labels(ctx), APPLICATION_WAVE),
        "spec": {
            "project": scoped(ctx, PLATFORM_PROJECT),
            "info": [{"name": "Argo CD", "value": format!("{version} ({}), pinned in gitgen.yaml", manifest_url(version))}],
            "source": {
                "repoURL": ctx.config.repo_url,
                "targetRevision": ctx.config.target_revision,
                "path": ctx.layout().install_dir(),
            },
            "destination": {"server": IN_CLUSTER, "namespace": ctx.config.argocd.namespace},
            "syncPolicy": {
                // Prune stays off: a bad commit must not be able to remove Argo CD's parts.
                "automated": {"prune": false, "selfHeal": true},
                // Why: see `self_managed_sync`.
                "syncOptions": ["ServerSideApply=true"],
                "retry": retry(),
            },
        },
    })
}

fn root_application(ctx: &RenderContext<'_>) -> Value {
    let env = ctx.env_name.as_str();
    let mut meta = metadata(ctx, &scoped(ctx, ROOT_APP), platform_labels(ctx), APPLICATION_WAVE);
    meta["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    json!({
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": scoped(ctx, PLATFORM_PROJECT),
            "info": [{"name": "Environment", "value": env}, {"name": "Toggle file", "value": ctx.layout().toggle_path()}],
            "source": {"repoURL": ctx.config.repo_url, "targetRevision": ctx.config.target_revision, "path": ctx.layout().apps_dir()},
            "destination": {"server": IN_CLUSTER, "namespace": ctx.config.argocd.namespace},
            // The root always syncs on its own, so a merged toggle shows up in Argo CD even
            // in environments whose lessons wait for a manual Sync.
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "retry": retry()},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argocd_install::TRACKING_METHOD_KEY;
    use crate::catalog::lesson::IgnoreDifference;

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

    /// Each tested Argo CD release and the folder of its CRDs, byte for byte upstream's
    /// (../shared/crds/SOURCES.md, ../shared/argocd-v3.5.1/SOURCES.md).
    fn tested_crds() -> Vec<(&'static str, std::path::PathBuf)> {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        let dirs = [shared.join("crds/argocd"), shared.join("argocd-v3.5.1")];
        crate::catalog::argocd_version::TESTED.into_iter().zip(dirs).collect()
    }

    #[test]
    fn every_argo_cd_object_of_both_bundles_is_valid_against_the_pinned_releases_crd_schemas() {
        let (catalog, mut config) = super::super::sync_model::course();
        let tested = tested_crds();
        assert_eq!(tested[0].0, "v2.12.3", "the pairs above are in TESTED's order");
        for (version, crds) in tested {
            config.argocd.version = version.to_owned();
            let bundles = super::super::sync_model::every_lesson_bundles(&catalog, &config);
            let schemas = crate::validate::CrdSchemas::from_dir(&crds).expect("the pinned CRDs");
            let mut checked = 0;
            for (env, files) in &bundles {
                for file in files.iter().filter(|f| !f.path.ends_with("kustomization.yaml")) {
                    let object: Value = yaml::from_str(&file.contents, file.path.as_ref()).expect("YAML");
                    if file.path.ends_with("gitgen-argocd.application.yaml") {
                        assert!(file.contents.contains(&manifest_url(version)), "{version}");
                    }
                    if object["apiVersion"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("argoproj.io/"))
                    {
                        let problems = schemas.validate(&object).expect("a CRD covers every Argo CD kind");
                        assert!(
                            problems.is_empty(),
                            "{version} {env}: {}: {problems:?} ({})",
                            file.path,
                            crds.display()
                        );
                        checked += 1;
                        // And the check can fail: a field the schema does not know.
                        let mut wrong = object.clone();
                        wrong["spec"]["syncPolicy"]["retries"] = json!(3);
                        assert!(
                            !schemas.validate(&wrong).unwrap_or_default().is_empty(),
                            "{}",
                            file.path
                        );
                    }
                }
            }
            assert!(checked > 2 * 40, "{version}: only {checked} objects");
        }
    }

    #[test]
    fn the_argocd_cm_patch_gives_each_setting_and_its_reason_and_holds_what_bootstrap_sets() {
        let (catalog, config) = super::super::sync_model::course();
        let bundles = super::super::sync_model::every_lesson_bundles(&catalog, &config);
        let (_, files) = &bundles[0];
        let patch = files
            .iter()
            .find(|f| f.path.ends_with("argocd-install/argocd-cm.yaml"))
            .expect("the patch");
        for setting in &ARGOCD_CM {
            assert!(
                patch.contents.contains(&format!("# - {}: ", setting.key)),
                "{}: {}",
                setting.key,
                patch.contents
            );
        }
        let object: Value = yaml::from_str(&patch.contents, patch.path.as_ref()).unwrap();
        let data = object["data"].as_object().unwrap();
        let expected: Vec<(&str, &str)> = argocd_cm_data();
        assert_eq!(data.len(), expected.len());
        for (key, value) in expected {
            assert_eq!(data[key], value, "{key}");
        }
        assert_eq!(data[TRACKING_METHOD_KEY], "annotation");
        // What gitgen leaves to the release is not in the patch, so 3.x's defaults stay.
        assert!(!data.contains_key("resource.exclusions"));
        assert!(!data.contains_key("server.rbac.disableApplicationFineGrainedRBACInheritance"));
    }

    /// Every lesson Application of every environment's bundle, with every lesson enabled: a
    /// single-cluster environment's, and a classroom's ApplicationSet templates.
    fn lesson_applications() -> Vec<(String, Value)> {
        let (catalog, config) = super::super::sync_model::course();
        let mut found = Vec::new();
        for (env, files) in super::super::sync_model::every_lesson_bundles(&catalog, &config) {
            for file in files.iter().filter(|f| f.path.ends_with(".application.yaml") || f.path.ends_with(".applicationset.yaml")) {
                let object: Value = yaml::from_str(&file.contents, file.path.as_ref()).unwrap();
                let app = match object["kind"].as_str() {
                    Some("ApplicationSet") => object["spec"]["template"].clone(),
                    _ => object,
                };
                if app["metadata"]["labels"].get(LESSON_LABEL).is_some() || !file.path.contains("gitgen-") {
                    found.push((format!("{env} {}", file.path), app));
                }
            }
        }
        assert!(found.len() > 40, "{}", found.len());
        found
    }

    #[test]
    fn every_lesson_application_carries_the_labels_the_ui_filters_on() {
        for (name, app) in lesson_applications() {
            let labels = &app["metadata"]["labels"];
            for key in [LESSON_LABEL, SECTION_LABEL, STAGE_LABEL, ENVIRONMENT_LABEL] {
                let value = labels[key].as_str().unwrap_or_else(|| panic!("{name}: no {key}"));
                // A classroom's stage is a template the ApplicationSet fills per learner.
                if !value.contains("{{") {
                    assert_eq!(crate::catalog::labels::value_problem(value), None, "{name}: {key}={value}");
                }
            }
        }
    }

    #[test]
    fn every_lesson_applications_info_links_its_walkthrough_on_the_forge_and_names_what_it_requires() {
        let (catalog, config) = super::super::sync_model::course();
        let forge = format!("{}/blob/{}/", config.repo_url.trim_end_matches(".git"), config.target_revision);
        for (name, app) in lesson_applications() {
            let info: Vec<(&str, &str)> = app["spec"]["info"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["name"].as_str().unwrap(), i["value"].as_str().unwrap()))
                .collect();
            let names: Vec<&str> = info.iter().map(|(n, _)| *n).collect();
            assert_eq!(names[..4], ["Lesson", "Stage", "Walkthrough", "Course section"], "{name}");
            let walkthrough = info[2].1;
            assert!(walkthrough.starts_with(&forge) && walkthrough.ends_with("/README.md"), "{name}: {walkthrough}");
            assert!(!walkthrough.contains(char::is_whitespace) || walkthrough.contains("{{"), "{name}: {walkthrough}");
            let lesson = &catalog.lessons[app["metadata"]["labels"][LESSON_LABEL].as_str().unwrap()];
            let requires: Vec<&str> = lesson.lesson.requires.iter().map(|r| r.value.as_str()).collect();
            match requires.is_empty() {
                true => assert_eq!(names.len(), 4, "{name}"),
                false => assert_eq!(info[4], ("Requires", requires.join(", ").as_str()), "{name}"),
            }
        }
    }

    #[test]
    fn a_walkthrough_on_an_unknown_forge_is_its_repo_path() {
        let (catalog, mut config) = super::super::sync_model::course();
        config.repo_url = "https://git.example.com/course.git".to_owned();
        let (env_name, env) = config.environments.iter().find(|(_, e)| !e.is_classroom()).unwrap();
        let selection = super::super::sync_model::every_lesson(&catalog, env_name);
        let ctx = RenderContext { catalog: &catalog, config: &config, env_name, env, selection: &selection, stage_objects: &Default::default() };
        assert_eq!(walkthrough_link(&ctx, "overlays/kind/a/README.md"), "overlays/kind/a/README.md");
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
