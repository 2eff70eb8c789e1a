//! A classroom environment's Applications: one ApplicationSet per enabled lesson and per
//! chart of it, whose cluster generator selects every learner cluster by the labels of
//! its Argo CD cluster Secret (`clusters` in `gitgen.yaml`).
//!
//! Argo CD expands each ApplicationSet into one Application per selected cluster, so git
//! holds one file per lesson and chart whatever the size of the class. The template is
//! the Application a single-cluster environment would get, with its strings escaped for
//! Go's `text/template` (Argo CD renders every string of it, map keys included) and
//! these fields templated from the generator's parameters: the name (`<app>-<cluster>`),
//! the destination (the cluster, by name), the stage (the toggle file's, unless the
//! cluster's Secret carries `stage.gitgen.io/<lesson>: <stage>`), and what follows from
//! the stage (overlay path, values file, chart version, the `Stage` info line).
//! A chart that runs only at some stages is generated only for clusters whose stage is
//! in range, by `matchExpressions` on the same label.
//!
//! Order holds per cluster as it does in a single-cluster environment: each generated
//! Application syncs on its own with unlimited retries, so one that needs CRDs another
//! Application of the same cluster creates keeps retrying until they exist, and none
//! waits on another's health (the root syncs only ApplicationSets and AppProjects, all
//! in its one sync wave).
//!
//! This module owns the template; it writes no files ([`super::argocd`] does).

use serde_json::{Map, Value, json};

use super::argocd::{
    APPLICATION_WAVE, chart_application, chart_version, lesson_application, lesson_labels, lesson_sync_settings,
    metadata, scoped,
};
use super::overlays::overlay_dir;
use super::{RenderContext, RenderError};
use crate::catalog::LoadedLesson;
use crate::catalog::config::Target;
use crate::catalog::lesson::{Chart, SyncSettings};
use crate::catalog::names::EnvName;

/// The generated Application's destination: the cluster generator's `name` parameter, the
/// `name` of the cluster Secret (`<env>-<learner>`).
pub const LEARNER_CLUSTER: &str = "{{ .name }}";

/// The label of a learner's cluster Secret that names the learner.
pub const LEARNER_LABEL: &str = "gitgen.io/learner";

/// The label of a learner's cluster Secret that holds them at a stage of a lesson.
pub fn stage_label(lesson: &str) -> String {
    format!("stage.gitgen.io/{lesson}")
}

/// The AppProject destination name that matches exactly the class's clusters.
pub fn destination_glob(env: &EnvName) -> String {
    format!("{env}-*")
}

/// Go template text of the stage a cluster runs of `lesson`: its stage label's value, or
/// the toggle file's stage. Plain `text/template` (no sprig): `index` of a missing map key
/// is the empty string, which `with` reads as false, even under `missingkey=error`.
pub fn stage_expression(lesson: &str, toggle_stage: &str) -> String {
    format!(
        "{{{{ with index .metadata.labels \"{}\" }}}}{{{{ . }}}}{{{{ else }}}}{toggle_stage}{{{{ end }}}}",
        stage_label(lesson)
    )
}

/// `text` as Go template text that renders to `text` itself.
fn literal(text: &str) -> String {
    text.replace("{{", "{{ \"{{\" }}")
}

/// Every string of `value`, and every key, as Go template text that renders to itself.
fn escape(value: &mut Value) {
    match value {
        Value::String(text) => *text = literal(text),
        Value::Array(items) => items.iter_mut().for_each(escape),
        Value::Object(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(key, mut item)| {
                    escape(&mut item);
                    (literal(&key), item)
                })
                .collect::<Map<String, Value>>();
        }
        _ => {}
    }
}

/// Go template text of what `value` gives at the stage a cluster runs of `lesson`, for a
/// cluster that can run only `stages`: the value itself when it is the same at each.
/// Stages are compared one `eq` at a time, as Go's `eq a b c` (true when `a` is `b` or
/// `c`) is not what every template engine does.
fn by_stage(lesson: &LoadedLesson, toggle: usize, stages: &[usize], value: impl Fn(usize) -> String) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for &index in stages {
        let text = literal(&value(index));
        let stage = lesson.lesson.stages[index].name.as_str();
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, names)) => names.push(stage),
            None => groups.push((text, vec![stage])),
        }
    }
    if groups.len() <= 1 {
        return literal(&value(toggle));
    }
    // The last group is the answer for a stage outside the others, so nesting stays shallow.
    let (last, _) = groups.pop().expect("more than one group");
    let held = groups.iter().rev().fold(last, |otherwise, (text, names)| {
        let test: Vec<String> = names.iter().map(|n| format!("(eq . \"{n}\")")).collect();
        format!(
            "{{{{ if or {} }}}}{text}{{{{ else }}}}{otherwise}{{{{ end }}}}",
            test.join(" ")
        )
    });
    format!(
        "{{{{ with index .metadata.labels \"{}\" }}}}{held}{{{{ else }}}}{}{{{{ end }}}}",
        stage_label(lesson.id().as_str()),
        literal(&value(toggle))
    )
}

/// The ApplicationSets of an enabled lesson at toggle stage `toggle`: the lesson's, then one
/// per chart that runs at some stage, each with its file name stem and sync settings.
pub fn application_sets(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    toggle: usize,
) -> Result<Vec<(String, Value, SyncSettings)>, RenderError> {
    let id = lesson.id().as_str();
    let every: Vec<usize> = (0..lesson.lesson.stages.len()).collect();
    // A learner may run any stage, so the lesson's settings are those of every stage.
    let settings = lesson_sync_settings(lesson, every.iter().copied());
    let lesson_template = template(
        ctx,
        lesson,
        toggle,
        &every,
        lesson_application(ctx, lesson, toggle, &settings),
        None,
    );
    let name = scoped(ctx, id);
    let mut sets = vec![(
        name.clone(),
        application_set(ctx, lesson, &name, None, lesson_template, Vec::new()),
        settings,
    )];
    for chart in &lesson.lesson.charts {
        let stages: Vec<usize> = every
            .iter()
            .copied()
            .filter(|&i| lesson.in_stage(chart.since.as_ref(), chart.until.as_ref(), i))
            .collect();
        let Some(&first) = stages.first() else { continue };
        let shown = if stages.contains(&toggle) { toggle } else { first };
        let application = chart_application(ctx, lesson, chart, shown)?;
        let chart_template = template(ctx, lesson, toggle, &stages, application, Some(chart));
        let name = scoped(ctx, &format!("{id}-{}", chart.name));
        let expressions = stage_range(lesson, toggle, &stages);
        sets.push((
            name.clone(),
            application_set(ctx, lesson, &name, Some(chart), chart_template, expressions),
            chart.sync.clone(),
        ));
    }
    Ok(sets)
}

/// The selector expressions that pick the clusters whose stage of `lesson` is one of
/// `stages`. A `NotIn` requirement matches a Secret without the label and an `In` one does
/// not (`Requirement.Matches` in k8s.io/apimachinery v0.29.6, `pkg/labels/selector.go`,
/// which Argo CD v2.12.3 builds on): when the toggle stage is in range, every cluster runs
/// it unless held at a stage out of range; otherwise only a cluster held in range does.
fn stage_range(lesson: &LoadedLesson, toggle: usize, stages: &[usize]) -> Vec<Value> {
    let key = stage_label(lesson.id().as_str());
    let names = |inside: bool| -> Vec<&str> {
        lesson
            .lesson
            .stages
            .iter()
            .enumerate()
            .filter(|(i, _)| stages.contains(i) == inside)
            .map(|(_, s)| s.name.as_str())
            .collect()
    };
    if stages.len() == lesson.lesson.stages.len() {
        Vec::new()
    } else if stages.contains(&toggle) {
        vec![json!({"key": key, "operator": "NotIn", "values": names(false)})]
    } else {
        vec![json!({"key": key, "operator": "In", "values": names(true)})]
    }
}

/// The ApplicationSet that generates `template` for every selected cluster.
fn application_set(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    name: &str,
    chart: Option<&Chart>,
    template: Value,
    expressions: Vec<Value>,
) -> Value {
    let Target::Classroom(labels) = ctx.env.target() else {
        unreachable!("only a classroom environment renders ApplicationSets")
    };
    let mut selector = json!({"matchLabels": labels});
    if !expressions.is_empty() {
        selector["matchExpressions"] = Value::Array(expressions);
    }
    let mut set_labels = lesson_labels(ctx, lesson, None);
    if let Some(chart) = chart {
        set_labels["gitgen.io/chart"] = json!(chart.name);
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": metadata(ctx, name, set_labels, APPLICATION_WAVE),
        "spec": {
            "goTemplate": true,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": selector}}],
            "template": template,
        },
    })
}

/// The template of the Application a single-cluster environment would get (`application`,
/// rendered at a stage of `stages`): escaped, then templated where the cluster decides.
fn template(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    toggle: usize,
    stages: &[usize],
    application: Value,
    chart: Option<&Chart>,
) -> Value {
    let id = lesson.id().as_str();
    let Value::Object(mut application) = application else {
        unreachable!("an Application is an object")
    };
    let mut metadata = application.remove("metadata").expect("an Application has metadata");
    let mut spec = application.remove("spec").expect("an Application has a spec");
    escape(&mut metadata);
    escape(&mut spec);
    let toggle_stage = lesson.lesson.stages[toggle].name.as_str();
    let stage = stage_expression(id, toggle_stage);
    let dir = format!("{}/{stage}", overlay_dir(ctx.env_name.as_str(), id));
    let name = metadata["name"].as_str().expect("a name").to_owned();
    metadata["name"] = json!(format!("{name}-{LEARNER_CLUSTER}"));
    // The sync wave orders the root's sync, which generated Applications are not part of.
    metadata.as_object_mut().expect("metadata").remove("annotations");
    metadata["labels"]["gitgen.io/stage"] = json!(stage);
    metadata["labels"][LEARNER_LABEL] = json!(format!("{{{{ index .metadata.labels \"{LEARNER_LABEL}\" }}}}"));
    spec["destination"]["name"] = json!(LEARNER_CLUSTER);
    let stage_info = |i: usize| {
        let stages = &lesson.lesson.stages;
        format!(
            "{} ({} of {}): {}",
            stages[i].name,
            i + 1,
            stages.len(),
            stages[i].description
        )
    };
    spec["info"][1]["value"] = json!(by_stage(lesson, toggle, stages, stage_info));
    spec["info"][2]["value"] = json!(format!("{dir}/README.md"));
    match chart {
        None => spec["source"]["path"] = json!(dir),
        Some(chart) => {
            let version = by_stage(lesson, toggle, stages, |i| chart_version(chart, lesson, i).to_owned());
            let source = if spec.get("sources").is_some() {
                spec["sources"][0]["helm"]["valueFiles"] =
                    json!([format!("$values/{}", super::overlays::values_path(&dir, &chart.name))]);
                &mut spec["sources"][0]
            } else {
                &mut spec["source"]
            };
            source["targetRevision"] = json!(version);
        }
    }
    json!({"metadata": metadata, "spec": spec})
}
