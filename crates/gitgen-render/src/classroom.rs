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

use super::application::{
    APPLICATION_WAVE, IN_CLUSTER, chart_application, chart_version, lesson_application, lesson_labels,
    lesson_sync_settings, metadata, scoped, walkthrough_link,
};
use super::overlays::regex_escape;
use super::{RenderContext, RenderError};
use gitgen_base::names::EnvName;
use gitgen_catalog::LoadedLesson;
use gitgen_catalog::classroom::{
    LEARNER_CLUSTER, MAX_APPLICATION_NAME, argocd_part_stem, chart_stem, cluster_name, generated_name,
    learner_name_room, longest_stem, per_learner_name,
};
use gitgen_catalog::config::Target;
use gitgen_catalog::labels::{CHART_LABEL, LEARNER_LABEL, STAGE_LABEL, stage_hold_label};
use gitgen_catalog::lesson::{Chart, SyncSettings};
use gitgen_validate::kinds::{ARGOCD_GROUP, runs_with_argocd};

/// Refuses a lesson whose Applications no learner of environment `env` could get: even a
/// one-letter learner's name would take one past [`MAX_APPLICATION_NAME`].
fn check_names(env: &EnvName, lesson: &LoadedLesson) -> Result<(), RenderError> {
    let Some((stem, _)) = longest_stem([lesson]) else {
        return Ok(());
    };
    if learner_name_room(&stem, env.as_str()) > 0 {
        return Ok(());
    }
    let shortest = generated_name(&stem, &cluster_name(env.as_str(), "a"));
    Err(RenderError::ClassroomName {
        env: env.to_string(),
        lesson: lesson.id().to_string(),
        room: MAX_APPLICATION_NAME.saturating_sub(stem.len() + 3),
        shortest,
    })
}

/// Go template text of the stage a cluster runs of `lesson`: its stage label's value, or
/// the toggle file's stage. Plain `text/template` (no sprig): `index` of a missing map key
/// is the empty string, which `with` reads as false, even under `missingkey=error`.
pub fn stage_expression(lesson: &str, toggle_stage: &str) -> String {
    format!(
        "{{{{ with index .metadata.labels \"{}\" }}}}{{{{ . }}}}{{{{ else }}}}{toggle_stage}{{{{ end }}}}",
        stage_hold_label(lesson)
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
    by_stage_text(lesson, toggle, stages, |index| literal(&value(index)))
}

/// [`by_stage`] for `text`, already Go template text at each stage.
fn by_stage_text(lesson: &LoadedLesson, toggle: usize, stages: &[usize], text_at: impl Fn(usize) -> String) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for &index in stages {
        let text = text_at(index);
        let stage = lesson.lesson.stages[index].name.as_str();
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, names)) => names.push(stage),
            None => groups.push((text, vec![stage])),
        }
    }
    if groups.len() <= 1 {
        return text_at(toggle);
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
        stage_hold_label(lesson.id().as_str()),
        text_at(toggle)
    )
}

/// The ApplicationSets of an enabled lesson at toggle stage `toggle`: the lesson's, then one
/// per chart that runs at some stage, each with its file name stem and sync settings.
pub fn application_sets(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    toggle: usize,
) -> Result<Vec<(String, Value, SyncSettings)>, RenderError> {
    check_names(ctx.env_name, lesson)?;
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
        settings.clone(),
    )];
    if lesson.lesson.argocd_objects.is_some() {
        let name = scoped(ctx, &argocd_part_stem(id));
        let template = argocd_part_template(ctx, lesson, toggle, &every, &settings)?;
        sets.push((
            name.clone(),
            application_set(ctx, lesson, &name, None, template, Vec::new()),
            settings.clone(),
        ));
    }
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
        let name = scoped(ctx, &chart_stem(id, chart));
        let expressions = stage_range(lesson, toggle, &stages);
        sets.push((
            name.clone(),
            application_set(ctx, lesson, &name, Some(chart), chart_template, expressions),
            chart.sync.clone(),
        ));
    }
    Ok(sets)
}

/// The template of the Application that carries `lesson`'s own Argo CD objects for one
/// learner where Argo CD runs (Argo CD's namespace in the management cluster; a learner
/// cluster has no Argo CD kinds). It builds the stage's `argocd-objects` overlay
/// ([`super::overlays::argocd_part_dir`]: the stage's Argo CD objects alone) with two
/// kustomize options of the Application source, which Argo CD v2.12.3 and v3.5.1 both have
/// in the Application and ApplicationSet CRDs and apply the same way
/// (`util/kustomize/kustomize.go`, `kustomize.Build`: `kustomize edit set namesuffix`, and
/// `patches` appended to the kustomization's own): `nameSuffix` names every object per
/// learner ([`per_learner_name`]), and a patch per object points it at the learner: an
/// Application's project becomes the learner's copy and its destination the learner's
/// cluster (`server` from the cluster generator), an AppProject's destinations the
/// learner's cluster. Patches target the names before the suffix, so one patch list
/// serves every learner.
fn argocd_part_template(
    ctx: &RenderContext<'_>,
    lesson: &LoadedLesson,
    toggle: usize,
    every: &[usize],
    settings: &SyncSettings,
) -> Result<Value, RenderError> {
    let id = lesson.id().as_str();
    let mut application = lesson_application(ctx, lesson, toggle, settings);
    application["metadata"]["name"] = json!(argocd_part_stem(id));
    let mut template = template(ctx, lesson, toggle, every, application, None);
    let spec = &mut template["spec"];
    spec["destination"] = json!({"server": IN_CLUSTER, "namespace": literal(&ctx.config.argocd.namespace)});
    let path = spec["source"]["path"].as_str().expect("a path").to_owned();
    spec["source"]["path"] = json!(super::overlays::argocd_part_dir(&path));
    // Each stage's Argo CD objects, by kind and name, with the patch that makes them the
    // learner's at that stage.
    let mut patches: std::collections::BTreeMap<(String, String), Vec<(usize, String)>> = Default::default();
    for &index in every {
        for sourced in ctx.stage_objects.get(lesson, index)?.iter() {
            let object = &sourced.object;
            let group = object["apiVersion"]
                .as_str()
                .map_or("", gitgen_validate::kinds::api_group);
            let (Some(kind), Some(name)) = (
                object["kind"].as_str(),
                object.pointer("/metadata/name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !runs_with_argocd(group, kind) {
                continue;
            }
            if let Some(ops) = learner_patch(kind, object) {
                patches
                    .entry((kind.to_owned(), name.to_owned()))
                    .or_default()
                    .push((index, ops));
            }
        }
    }
    let patches: Vec<Value> = patches
        .into_iter()
        .map(|((kind, name), by_index)| {
            // A stage without the object gets any of its patches: it matches nothing there.
            let text_at = |index: usize| {
                by_index
                    .iter()
                    .find(|(i, _)| *i == index)
                    .unwrap_or(&by_index[0])
                    .1
                    .clone()
            };
            json!({
                "target": {"group": ARGOCD_GROUP, "kind": kind, "name": literal(&regex_escape(&name))},
                "patch": by_stage_text(lesson, toggle, every, text_at),
            })
        })
        .collect();
    spec["source"]["kustomize"] = json!({
        "nameSuffix": format!("-{LEARNER_CLUSTER}"),
        "patches": patches,
    });
    Ok(template)
}

/// The JSON patch, as Go template text, that points one of a lesson's Argo CD objects at
/// the learner: `None` for a kind that names no project or cluster.
fn learner_patch(kind: &str, object: &Value) -> Option<String> {
    let learner_server = "{{ .server }}";
    let namespace = |destination: &Value| literal(destination["namespace"].as_str().unwrap_or_default());
    let ops = match kind {
        "Application" => {
            let project = object
                .pointer("/spec/project")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let destination = object.pointer("/spec/destination").unwrap_or(&Value::Null);
            json!([
                {"op": "add", "path": "/spec/project", "value": per_learner_name(&literal(project))},
                {"op": "add", "path": "/spec/destination", "value": {"server": learner_server, "namespace": namespace(destination)}},
            ])
        }
        "AppProject" => {
            let destinations: Vec<Value> = object
                .pointer("/spec/destinations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| json!({"server": learner_server, "namespace": namespace(d)}))
                .collect();
            json!([{"op": "add", "path": "/spec/destinations", "value": destinations}])
        }
        _ => return None,
    };
    Some(serde_json::to_string(&ops).expect("a JSON patch serializes"))
}

/// The selector expressions that pick the clusters whose stage of `lesson` is one of
/// `stages`. A `NotIn` requirement matches a Secret without the label and an `In` one does
/// not (`Requirement.Matches` in k8s.io/apimachinery v0.29.6, `pkg/labels/selector.go`,
/// which Argo CD v2.12.3 builds on): when the toggle stage is in range, every cluster runs
/// it unless held at a stage out of range; otherwise only a cluster held in range does.
fn stage_range(lesson: &LoadedLesson, toggle: usize, stages: &[usize]) -> Vec<Value> {
    let key = stage_hold_label(lesson.id().as_str());
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
        set_labels[CHART_LABEL] = json!(chart.name);
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
    let dir = format!("{}/{stage}", ctx.layout().overlay_dir(id));
    let name = metadata["name"].as_str().expect("a name").to_owned();
    metadata["name"] = json!(generated_name(&name, LEARNER_CLUSTER));
    // The sync wave orders the root's sync, which generated Applications are not part of.
    metadata.as_object_mut().expect("metadata").remove("annotations");
    metadata["labels"][STAGE_LABEL] = json!(stage);
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
    spec["info"][2]["value"] = json!(walkthrough_link(ctx, &format!("{dir}/README.md")));
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

#[cfg(test)]
pub(super) mod tests {
    //! Expands the ApplicationSets as Argo CD v2.12.3 does, for a class of labelled
    //! clusters: which clusters a generator selects, the parameters it hands the template,
    //! and Go `text/template` over every string of the template.

    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use serde_json::{Value, json};

    use super::*;
    use crate::everything;
    use crate::sync_model::course;
    use gitgen_base::files::RenderedFile;
    use gitgen_base::names::LessonId;
    use gitgen_catalog::Catalog;
    use gitgen_catalog::config::RepoConfig;
    use gitgen_catalog::labels::{ENVIRONMENT_LABEL, LESSON_LABEL, SECRET_TYPE_LABEL};
    use gitgen_catalog::toggle::{SelectedStage, Selection, conflicts_of};

    /// A cluster Secret in Argo CD's namespace, as `gitgen classroom add` writes it.
    struct ClusterSecret {
        /// `data.name`: `<env>-<learner>`.
        name: String,
        /// `data.server`.
        server: String,
        labels: BTreeMap<String, String>,
    }

    fn learner(env: &str, learner: &str, class: &str, holds: &[(String, String)]) -> ClusterSecret {
        let mut labels = BTreeMap::from([
            (SECRET_TYPE_LABEL.to_owned(), "cluster".to_owned()),
            ("gitgen.io/classroom".to_owned(), class.to_owned()),
            (ENVIRONMENT_LABEL.to_owned(), env.to_owned()),
            (LEARNER_LABEL.to_owned(), learner.to_owned()),
        ]);
        labels.extend(
            holds
                .iter()
                .map(|(lesson, stage)| (stage_hold_label(lesson), stage.clone())),
        );
        ClusterSecret {
            name: format!("{env}-{learner}"),
            server: format!("https://{learner}.example:6443"),
            labels,
        }
    }

    /// Whether a `metav1.LabelSelector` selects `labels`: `matchLabels` and every
    /// `matchExpressions` requirement, as k8s.io/apimachinery v0.29.6 (the version
    /// Argo CD v2.12.3's go.mod pins) `pkg/labels/selector.go` `Requirement.Matches`:
    /// `In` needs the key, `NotIn` holds for a Secret without it.
    fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
        let match_labels = selector["matchLabels"].as_object().into_iter().flatten();
        let expressions = selector["matchExpressions"].as_array().into_iter().flatten();
        match_labels
            .into_iter()
            .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
            && expressions.into_iter().all(|e| {
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let value = labels.get(e["key"].as_str().unwrap());
                match e["operator"].as_str().unwrap() {
                    "In" => value.is_some_and(|v| values.contains(&v.as_str())),
                    "NotIn" => value.is_none_or(|v| !values.contains(&v.as_str())),
                    other => panic!("the model knows no operator {other}"),
                }
            })
    }

    /// The clusters a cluster generator selects: Secrets only (a non-empty selector leaves
    /// out the local cluster), with `argocd.argoproj.io/secret-type: cluster` added to the
    /// selector (`applicationset/generators/cluster.go` at v2.12.3, `GenerateParams` and
    /// `getSecretsByClusterName`).
    fn generated<'a>(set: &Value, secrets: &'a [ClusterSecret]) -> Vec<&'a ClusterSecret> {
        let mut selector = set["spec"]["generators"][0]["clusters"]["selector"].clone();
        assert!(
            !selector["matchLabels"].as_object().unwrap().is_empty(),
            "an empty selector adds the local cluster"
        );
        selector["matchLabels"][SECRET_TYPE_LABEL] = json!("cluster");
        secrets.iter().filter(|s| selects(&selector, &s.labels)).collect()
    }

    /// The parameters `GenerateParams` hands a template with `goTemplate: true`: `name`,
    /// `nameNormalized`, `server` and `metadata` (`labels`, and `annotations` only when the
    /// Secret has some). The top level is an `Object`, whose missing fields are an error
    /// in gtmpl as under `missingkey=error`; labels are a `Map`, whose missing key `index`
    /// returns without error, as Go's `index` does on a `map[string]string` (Go prints it
    /// as "", gtmpl as "<no value>": the templates only test it with `with`).
    fn params(secret: &ClusterSecret) -> gtmpl::Value {
        let labels: HashMap<String, gtmpl::Value> = secret
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), gtmpl::Value::from(v.clone())))
            .collect();
        let metadata = HashMap::from([("labels".to_owned(), gtmpl::Value::Map(labels))]);
        gtmpl::Value::Object(HashMap::from([
            ("name".to_owned(), gtmpl::Value::from(secret.name.clone())),
            // `utils.SanitizeName`: the names here are already lower-case DNS labels.
            ("nameNormalized".to_owned(), gtmpl::Value::from(secret.name.clone())),
            ("server".to_owned(), gtmpl::Value::from(secret.server.clone())),
            ("metadata".to_owned(), gtmpl::Value::Object(metadata)),
        ]))
    }

    /// `Render.deeplyReplace` and `Render.Replace` (`applicationset/utils/utils.go` at
    /// v2.12.3): every string of the template, and every map key, is a Go template executed
    /// on the parameters with `goTemplateOptions` (here `missingkey=error`).
    fn render(value: &Value, params: &gtmpl::Value) -> Result<Value, String> {
        let text = |s: &str| -> Result<String, String> {
            let mut template = gtmpl::Template::default();
            template.parse(s).map_err(|e| format!("{s}: {e}"))?;
            template
                .render(&gtmpl::Context::from(params.clone()))
                .map_err(|e| format!("{s}: {e}"))
        };
        Ok(match value {
            Value::String(s) => Value::String(text(s)?),
            Value::Array(items) => Value::Array(items.iter().map(|i| render(i, params)).collect::<Result<_, _>>()?),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((text(k)?, render(v, params)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// The Applications an ApplicationSet generates for `secrets`.
    fn expand(set: &Value, secrets: &[ClusterSecret]) -> Vec<Value> {
        assert_eq!(set["spec"]["goTemplate"], json!(true));
        assert_eq!(set["spec"]["goTemplateOptions"], json!(["missingkey=error"]));
        generated(set, secrets)
            .into_iter()
            .map(|secret| {
                let template = &set["spec"]["template"];
                render(template, &params(secret)).unwrap_or_else(|e| panic!("{}: {e}", set["metadata"]["name"]))
            })
            .collect()
    }

    /// `gobwas/glob` without separators, as `globMatch` in
    /// `pkg/apis/application/v1alpha1/app_project_types.go` calls it for destinations,
    /// for patterns whose only wildcard is `*`.
    fn glob_match(pattern: &str, value: &str) -> bool {
        assert!(
            !pattern.contains(['?', '[', '{', '!', '\\']),
            "{pattern}: only `*` is modelled"
        );
        let parts: Vec<&str> = pattern.split('*').collect();
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if parts.len() == 1 {
            return pattern == value;
        }
        if !value.starts_with(first) || !value[first.len()..].ends_with(last) {
            return false;
        }
        let mut rest = &value[first.len()..value.len() - last.len()];
        for part in &parts[1..parts.len() - 1] {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        true
    }

    fn is_dns_label(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-')
    }

    /// The context of rendering `selection` for the course's classroom environment, under
    /// the name `env_name`.
    fn classroom_context<'a>(
        catalog: &'a Catalog,
        config: &'a RepoConfig,
        env_name: &'a EnvName,
        selection: &'a Selection,
    ) -> RenderContext<'a> {
        let env = config
            .environments
            .values()
            .find(|e| e.is_classroom())
            .expect("gitgen.yaml has a classroom");
        RenderContext {
            catalog,
            config,
            env_name,
            env,
            selection,
            // Its own for each context, alive as long as the test.
            stage_objects: Box::leak(Box::default()),
        }
    }

    fn objects(files: &[RenderedFile], suffix: &str) -> Vec<Value> {
        files
            .iter()
            .filter(|f| f.path.ends_with(suffix))
            .map(|f| gitgen_yaml::from_str(&f.contents, f.path.as_ref()).expect("rendered YAML"))
            .collect()
    }

    /// A classroom bundle as one learner's cluster sees it: each ApplicationSet replaced by
    /// the Application it generates for a cluster with the selector's labels and no hold.
    pub(crate) fn one_learners_bundle(files: &[RenderedFile]) -> Vec<RenderedFile> {
        let mut bundle = Vec::new();
        for file in files {
            let Some(stem) = file.path.strip_suffix(".applicationset.yaml") else {
                bundle.push(file.clone());
                continue;
            };
            let set: Value = gitgen_yaml::from_str(&file.contents, file.path.as_ref()).expect("rendered YAML");
            let mut labels: BTreeMap<String, String> =
                serde_json::from_value(set["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"].clone())
                    .expect("labels");
            labels.insert(SECRET_TYPE_LABEL.to_owned(), "cluster".to_owned());
            labels.insert(LEARNER_LABEL.to_owned(), "alice".to_owned());
            let secret = ClusterSecret {
                name: "class-alice".into(),
                server: "https://alice:6443".into(),
                labels,
            };
            for application in expand(&set, &[secret]) {
                let object = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": application["metadata"], "spec": application["spec"]});
                bundle.push(RenderedFile {
                    path: format!("{stem}.application.yaml"),
                    contents: gitgen_yaml::to_string(&object),
                });
            }
        }
        bundle
    }

    #[test]
    fn every_application_set_expands_to_distinct_valid_applications_that_their_projects_permit() {
        let (catalog, config) = course();
        let env_name = config
            .environments
            .iter()
            .find(|(_, env)| env.is_classroom())
            .map(|(name, _)| name.clone())
            .expect("gitgen.yaml has a classroom");
        // Every lesson the classroom can hold together, at its first stage: holds move
        // learners on, so every stage of every lesson is reached by someone.
        let mut lessons = BTreeMap::new();
        for (id, lesson) in &catalog.lessons {
            if conflicts_of(&catalog, id, &env_name)
                .iter()
                .all(|(other, _)| !lessons.contains_key(other))
            {
                lessons.insert(
                    id.clone(),
                    SelectedStage {
                        name: lesson.lesson.stages[0].name.clone(),
                        index: 0,
                    },
                );
            }
        }
        let selection = Selection { lessons };
        let ctx = classroom_context(&catalog, &config, &env_name, &selection);
        let files = everything(&ctx).expect("the classroom renders");
        let paths: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();

        let held_at = |pick: fn(usize) -> usize| -> Vec<(String, String)> {
            selection
                .lessons
                .keys()
                .map(|id| {
                    let stages = &catalog.lessons[id].lesson.stages;
                    (id.to_string(), stages[pick(stages.len())].name.to_string())
                })
                .collect()
        };
        let class = "classroom";
        let env = env_name.as_str();
        let secrets = vec![
            learner(env, "alice", class, &[]),
            learner(env, "bob", class, &held_at(|n| n - 1)),
            learner(env, "carol", class, &held_at(|n| n / 2)),
            learner(env, "dave-2", class, &[]),
            // Not in the class: another class's label, and a cluster without any.
            learner(env, "erin", "another-class", &[]),
            ClusterSecret {
                name: "in-cluster-ish".into(),
                server: "https://kubernetes.default.svc".into(),
                labels: BTreeMap::from([(SECRET_TYPE_LABEL.into(), "cluster".into())]),
            },
        ];
        let in_class = |name: &str| {
            ["alice", "bob", "carol", "dave-2"]
                .iter()
                .any(|l| name == format!("{env}-{l}"))
        };

        let sets = objects(&files, ".applicationset.yaml");
        // The set of a lesson's own Argo CD objects, sent where Argo CD runs.
        let is_argocd_part = |set: &Value| {
            let lesson = set["metadata"]["labels"][LESSON_LABEL].as_str().unwrap();
            set["metadata"]["name"] == json!(format!("{env}-{}", argocd_part_stem(lesson)))
        };
        let lesson_sets = sets
            .iter()
            .filter(|s| s["metadata"]["labels"].get(CHART_LABEL).is_none() && !is_argocd_part(s))
            .count();
        assert_eq!(
            sets.iter().filter(|s| is_argocd_part(s)).count(),
            1,
            "the argocd lesson's Argo CD objects"
        );
        assert_eq!(
            lesson_sets,
            selection.lessons.len(),
            "one ApplicationSet per enabled lesson"
        );
        let projects: BTreeMap<String, Value> = objects(&files, ".appproject.yaml")
            .into_iter()
            .map(|p| (p["metadata"]["name"].as_str().unwrap().to_owned(), p))
            .collect();

        let mut names = BTreeSet::new();
        let mut overlays = BTreeSet::new();
        let mut generated_count = 0;
        for set in &sets {
            let labels = &set["metadata"]["labels"];
            let lesson = &catalog.lessons[&LessonId::new(labels[LESSON_LABEL].as_str().unwrap()).unwrap()];
            let toggle = lesson.stage_index(selection.lessons[lesson.id()].as_str()).unwrap();
            let chart = labels[CHART_LABEL]
                .as_str()
                .map(|c| lesson.lesson.charts.iter().find(|ch| ch.name == c).unwrap());
            let applications = expand(set, &secrets);
            let argocd_part = is_argocd_part(set);
            // The learner cluster an Application is for: its destination, or where Argo CD
            // runs for a lesson's own Argo CD objects, its learner's label.
            let cluster_of = |a: &Value| match argocd_part {
                false => a["spec"]["destination"]["name"].as_str().unwrap().to_owned(),
                true => format!("{env}-{}", a["metadata"]["labels"][LEARNER_LABEL].as_str().unwrap()),
            };
            let mut expected = Vec::new();
            for secret in secrets.iter().filter(|s| in_class(&s.name)) {
                let stage = secret
                    .labels
                    .get(&stage_hold_label(lesson.id().as_str()))
                    .map_or(toggle, |s| lesson.stage_index(s).unwrap());
                let runs = chart.is_none_or(|c| lesson.in_stage(c.since.as_ref(), c.until.as_ref(), stage));
                if runs {
                    expected.push((secret.name.clone(), lesson.lesson.stages[stage].name.to_string()));
                }
            }
            let got: Vec<(String, String)> = applications
                .iter()
                .map(|a| {
                    (
                        cluster_of(a),
                        a["metadata"]["labels"][STAGE_LABEL].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{}: clusters and their stages", set["metadata"]["name"]);
            for app in &applications {
                generated_count += 1;
                let name = app["metadata"]["name"].as_str().unwrap();
                assert!(
                    is_dns_label(name),
                    "{name}: not a DNS label (Argo CD's label tracking needs 63)"
                );
                assert!(names.insert(name.to_owned()), "{name}: generated twice");
                let destination = &app["spec"]["destination"];
                let cluster = cluster_of(app);
                let learner = cluster.strip_prefix(&format!("{env}-")).unwrap();
                assert_eq!(app["metadata"]["labels"][LEARNER_LABEL], json!(learner), "{name}");
                assert_eq!(app["metadata"]["labels"][ENVIRONMENT_LABEL], json!(env), "{name}");
                let project = &projects[app["spec"]["project"].as_str().unwrap()];
                let namespace = destination["namespace"].as_str().unwrap();
                let permitted = project["spec"]["destinations"].as_array().unwrap().iter().any(|d| {
                    let cluster_matches = match argocd_part {
                        false => d.get("server").is_none() && glob_match(d["name"].as_str().unwrap(), &cluster),
                        true => d.get("name").is_none() && d["server"] == destination["server"],
                    };
                    cluster_matches && glob_match(d["namespace"].as_str().unwrap(), namespace)
                });
                assert!(permitted, "{name}: its project does not permit {destination}");
                if argocd_part {
                    assert_eq!(
                        destination,
                        &json!({"server": IN_CLUSTER, "namespace": config.argocd.namespace}),
                        "{name}"
                    );
                } else {
                    assert!(destination.get("server").is_none(), "{name}: {destination}");
                }
                // And the project permits no cluster outside the class.
                for outsider in ["in-cluster", "other-alice", "classroomx-alice"] {
                    assert!(
                        !project["spec"]["destinations"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|d| glob_match(d["name"].as_str().unwrap_or(""), outsider)),
                        "{outsider}"
                    );
                }
                let stage = app["metadata"]["labels"][STAGE_LABEL].as_str().unwrap();
                let dir = format!("overlays/{env}/{}/{stage}", lesson.id());
                match chart {
                    None => {
                        let path = match argocd_part {
                            false => dir.clone(),
                            true => super::super::overlays::argocd_part_dir(&dir),
                        };
                        assert_eq!(app["spec"]["source"]["path"], json!(path), "{name}");
                        assert!(paths.contains(format!("{path}/kustomization.yaml").as_str()), "{path}");
                        overlays.insert(path);
                    }
                    Some(chart) => {
                        let index = lesson.stage_index(stage).unwrap();
                        let source = app["spec"].get("sources").map_or(&app["spec"]["source"], |s| &s[0]);
                        assert_eq!(
                            source["targetRevision"],
                            json!(super::super::application::chart_version(chart, lesson, index)),
                            "{name}"
                        );
                        for file in source["helm"]["valueFiles"].as_array().into_iter().flatten() {
                            let path = file.as_str().unwrap().strip_prefix("$values/").unwrap();
                            assert!(paths.contains(path), "{name}: {path}");
                        }
                    }
                }
                // The walkthrough's link is the forge's page of the stage's own walkthrough.
                let walkthrough = app["spec"]["info"][2]["value"].as_str().unwrap();
                let forge_page = format!(
                    "{}/blob/{}/",
                    config.repo_url.trim_end_matches(".git"),
                    config.target_revision
                );
                let path = walkthrough
                    .strip_prefix(&forge_page)
                    .unwrap_or_else(|| panic!("{name}: {walkthrough}"));
                assert_eq!(path, format!("{dir}/README.md"), "{name}");
                assert!(paths.contains(path), "{path}");
                assert!(!app.to_string().contains("{{"), "{name}: unexpanded template");
            }
        }
        assert!(generated_count >= 4 * selection.lessons.len(), "{generated_count}");

        // Every overlay a learner runs builds.
        let dir = tempfile::tempdir().unwrap();
        for file in &files {
            let path = dir.path().join(&file.path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, &file.contents).unwrap();
        }
        for overlay in &overlays {
            let output = std::process::Command::new("kubectl")
                .args(["kustomize", overlay])
                .current_dir(dir.path())
                .output()
                .expect("kubectl runs");
            assert!(
                output.status.success(),
                "{overlay}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// The objects Argo CD builds from a generated Application's path source, in the repo
    /// tree at `root`: its kustomize options written into the kustomization first, as
    /// `kustomize.Build` in `util/kustomize/kustomize.go` (Argo CD v2.12.3 and v3.5.1) does
    /// (`kustomize edit set namesuffix`; `patches` appended to the kustomization's own), then
    /// `kubectl kustomize`. The kustomization is put back afterwards.
    fn built(root: &std::path::Path, application: &Value) -> Vec<Value> {
        let source = &application["spec"]["source"];
        let dir = root.join(source["path"].as_str().expect("a path source"));
        let file = dir.join("kustomization.yaml");
        let original = fs_err::read_to_string(&file).unwrap();
        if let Some(options) = source.get("kustomize") {
            let mut kustomization: Value = gitgen_yaml::from_str(&original, file.as_ref()).unwrap();
            if let Some(suffix) = options.get("nameSuffix") {
                kustomization["nameSuffix"] = suffix.clone();
            }
            let mut patches = kustomization["patches"].as_array().cloned().unwrap_or_default();
            patches.extend(options["patches"].as_array().into_iter().flatten().cloned());
            kustomization["patches"] = json!(patches);
            fs_err::write(&file, gitgen_yaml::to_string(&kustomization)).unwrap();
        }
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl runs");
        fs_err::write(&file, &original).unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        gitgen_yaml::documents(&String::from_utf8(output.stdout).unwrap(), dir.as_ref()).unwrap()
    }

    #[test]
    fn every_generated_object_goes_to_a_cluster_that_has_its_kind_and_keeps_one_identity_across_learners() {
        let (catalog, config) = course();
        let (env_name, env) = config.environments.iter().find(|(_, e)| e.is_classroom()).unwrap();
        let selection = crate::sync_model::every_lesson(&catalog, env_name);
        for lesson in ["argocd", "argo-rollouts"] {
            assert!(selection.lessons.contains_key(lesson), "{lesson} is enabled");
        }
        let ctx = classroom_context(&catalog, &config, env_name, &selection);
        let files = everything(&ctx).expect("the classroom renders");
        let root = tempfile::tempdir().unwrap();
        for file in &files {
            let path = root.path().join(&file.path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, &file.contents).unwrap();
        }
        let class = env.clusters.as_ref().unwrap()["gitgen.io/classroom"].clone();
        let secrets = [
            learner(env_name.as_str(), "alice", &class, &[]),
            learner(env_name.as_str(), "bob", &class, &[]),
        ];
        let argocd_ns = config.argocd.namespace.as_str();
        // The kinds only the management cluster has: those of Argo CD's CRDs, as installed.
        let crds = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("../shared/crds/argocd");
        let argocd_kinds: BTreeSet<(String, String)> = fs_err::read_dir(&crds)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let crd: Value = gitgen_yaml::from_str(&fs_err::read_to_string(&path).unwrap(), &path).unwrap();
                let group = crd["spec"]["group"].as_str().unwrap().to_owned();
                (group, crd["spec"]["names"]["kind"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(argocd_kinds.len(), 3, "{argocd_kinds:?}");
        // Where each object lands: (cluster, group, kind, namespace, name), once.
        let mut identities: BTreeMap<(String, String, String, String, String), String> = BTreeMap::new();
        // Per learner server: the Argo CD objects its learner's Applications created.
        let mut in_argocd: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for set in objects(&files, ".applicationset.yaml") {
            for application in expand(&set, &secrets) {
                let name = application["metadata"]["name"].as_str().unwrap().to_owned();
                let destination = &application["spec"]["destination"];
                let learner = &secrets[usize::from(application["metadata"]["labels"][LEARNER_LABEL] == json!("bob"))];
                let (cluster, where_argocd_runs) = match destination.get("server") {
                    Some(server) => {
                        assert_eq!(server, IN_CLUSTER, "{name}: only Argo CD's own cluster by server");
                        ("management".to_owned(), true)
                    }
                    None => (destination["name"].as_str().unwrap().to_owned(), false),
                };
                if !where_argocd_runs {
                    assert_eq!(cluster, learner.name, "{name}");
                }
                if application["spec"]["source"].get("path").is_none() {
                    // A chart: Helm renders it, in the learner's cluster.
                    assert!(!where_argocd_runs, "{name}");
                    continue;
                }
                for object in built(root.path(), &application) {
                    let api_version = object["apiVersion"].as_str().unwrap();
                    let group = gitgen_validate::kinds::api_group(api_version);
                    let kind = object["kind"].as_str().unwrap();
                    assert_eq!(
                        argocd_kinds.contains(&(group.to_owned(), kind.to_owned())),
                        where_argocd_runs,
                        "{name} sends {api_version} {kind} to {cluster}, which has no such kind"
                    );
                    let namespace = match gitgen_validate::kinds::is_known_cluster_kind(group, kind) {
                        true => String::new(),
                        false => object["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or(destination["namespace"].as_str().unwrap())
                            .to_owned(),
                    };
                    let object_name = object["metadata"]["name"].as_str().unwrap().to_owned();
                    let key = (
                        cluster.clone(),
                        group.to_owned(),
                        kind.to_owned(),
                        namespace,
                        object_name,
                    );
                    if let Some(other) = identities.insert(key.clone(), name.clone()) {
                        panic!("{key:?}: from {other} and {name}");
                    }
                    if where_argocd_runs {
                        assert_eq!(object["metadata"]["namespace"], json!(argocd_ns), "{name}");
                        in_argocd.entry(learner.server.clone()).or_default().push(object);
                    }
                }
            }
        }
        // Each learner's copy of the lesson's Argo CD objects deploys to that learner's
        // cluster, in a project of their own that permits exactly that.
        assert_eq!(in_argocd.len(), secrets.len(), "{:?}", in_argocd.keys());
        for (server, created) in &in_argocd {
            let projects: BTreeMap<&str, &Value> = created
                .iter()
                .filter(|o| o["kind"] == "AppProject")
                .map(|p| (p["metadata"]["name"].as_str().unwrap(), p))
                .collect();
            let applications: Vec<&Value> = created.iter().filter(|o| o["kind"] == "Application").collect();
            assert!(applications.len() >= 2, "{server}: {applications:?}");
            for project in projects.values() {
                for destination in project["spec"]["destinations"].as_array().unwrap() {
                    assert_eq!(destination["server"], json!(server), "{project}");
                }
            }
            for application in applications {
                let name = application["metadata"]["name"].as_str().unwrap();
                let learner = secrets.iter().find(|s| &s.server == server).unwrap();
                assert!(name.ends_with(&format!("-{}", learner.name)), "{name}");
                let destination = &application["spec"]["destination"];
                assert_eq!(destination["server"], json!(server), "{name}");
                let project = projects[application["spec"]["project"].as_str().unwrap()];
                assert!(
                    project["spec"]["destinations"]
                        .as_array()
                        .unwrap()
                        .contains(&json!({"server": server, "namespace": destination["namespace"]})),
                    "{name}: {project}"
                );
                let repos = project["spec"]["sourceRepos"].as_array().unwrap();
                assert!(repos.contains(&application["spec"]["source"]["repoURL"]), "{name}");
            }
            // The Rollouts controller and its CRDs, in the learner's cluster.
            assert!(
                created.iter().any(|o| o["spec"]["source"]["chart"] == "argo-rollouts"
                    && o["spec"]["destination"]["server"] == json!(server)),
                "{server}"
            );
        }
    }

    #[test]
    fn a_chart_that_runs_at_some_stages_is_generated_exactly_for_clusters_whose_stage_is_in_range() {
        let (mut catalog, config) = course();
        let (env_name, _) = config.environments.iter().find(|(_, e)| e.is_classroom()).unwrap();
        let keda = LessonId::new("keda").unwrap();
        // KEDA's chart from `consumer` on (the built-in one runs at every stage).
        let lesson = catalog.lessons.get_mut(&keda).unwrap();
        let consumer = lesson.lesson.stages[1].name.clone();
        let unknown = serde_saphyr::Location::UNKNOWN;
        lesson.lesson.value_mut().charts[0].since = Some(serde_saphyr::Spanned::new(consumer, unknown, unknown));
        let env_str = env_name.as_str();
        let secrets: Vec<ClusterSecret> = [None, Some("operator"), Some("consumer"), Some("publisher")]
            .iter()
            .enumerate()
            .map(|(i, hold)| {
                let holds: Vec<(String, String)> = hold.iter().map(|s| ("keda".to_owned(), s.to_string())).collect();
                learner(env_str, &format!("learner-{i}"), "classroom", &holds)
            })
            .collect();
        let lesson = &catalog.lessons[&keda];
        for (toggle, operator, expected) in [
            // Toggle before the range: only clusters held in it run the chart.
            (0, "In", vec!["learner-2", "learner-3"]),
            // Toggle in the range: every cluster but one held before it.
            (2, "NotIn", vec!["learner-0", "learner-2", "learner-3"]),
        ] {
            let selection = Selection {
                lessons: BTreeMap::from([(
                    keda.clone(),
                    SelectedStage {
                        name: lesson.lesson.stages[toggle].name.clone(),
                        index: toggle,
                    },
                )]),
            };
            let ctx = classroom_context(&catalog, &config, env_name, &selection);
            let sets = application_sets(&ctx, lesson, toggle).unwrap();
            let (_, chart_set, _) = &sets[1];
            let expression = &chart_set["spec"]["generators"][0]["clusters"]["selector"]["matchExpressions"][0];
            assert_eq!(expression["operator"], json!(operator), "{expression}");
            let got: Vec<String> = expand(chart_set, &secrets)
                .iter()
                .map(|a| a["metadata"]["labels"][LEARNER_LABEL].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(got, expected, "toggle at {toggle}");
            // The lesson itself runs everywhere in the class.
            assert_eq!(expand(&sets[0].1, &secrets).len(), 4);
        }
    }

    #[test]
    fn refuses_an_environment_name_that_leaves_no_learner_room_in_a_lessons_application_names() {
        let (catalog, config) = course();
        let (stem, id) = longest_stem(catalog.lessons.values()).unwrap();
        let lesson = &catalog.lessons[id];
        let selection = Selection {
            lessons: BTreeMap::from([(
                id.clone(),
                SelectedStage {
                    name: lesson.lesson.stages[0].name.clone(),
                    index: 0,
                },
            )]),
        };
        // `<stem>-<env>-a` is 63 characters: the longest environment name that still fits.
        let fits = 63 - stem.len() - 3;
        assert!(
            fits < 40,
            "the course's longest name {stem} leaves room for any environment name"
        );
        for (length, refused) in [(fits, false), (fits + 1, true)] {
            let env_name = EnvName::new("e".repeat(length)).unwrap();
            let ctx = classroom_context(&catalog, &config, &env_name, &selection);
            match application_sets(&ctx, lesson, 0) {
                Ok(_) => assert!(!refused, "{length}"),
                Err(error) => {
                    assert!(refused, "{length}: {error}");
                    let RenderError::ClassroomName {
                        lesson: named, room, ..
                    } = &error
                    else {
                        panic!("{error:?}")
                    };
                    assert_eq!((named.as_str(), *room), (id.as_str(), fits));
                    assert!(error.to_string().contains("over the 63 characters"), "{error}");
                    assert!(
                        error.hint().unwrap().contains(&format!("at most {fits} characters")),
                        "{error}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_template_referencing_a_parameter_the_generator_does_not_give_fails_as_under_missingkey_error() {
        let secret = learner("classroom", "alice", "classroom", &[]);
        let alice = params(&secret);
        assert!(render(&json!("{{ .nope }}"), &alice).is_err());
        assert!(render(&json!("{{ .metadata.annotations }}"), &alice).is_err());
        assert_eq!(render(&json!("{{ .name }}"), &alice).unwrap(), json!("classroom-alice"));
        let stage = stage_expression("keda", "operator");
        assert_eq!(render(&json!(stage), &alice).unwrap(), json!("operator"));
        let held = learner("classroom", "bob", "classroom", &[("keda".into(), "publisher".into())]);
        assert_eq!(render(&json!(stage), &params(&held)).unwrap(), json!("publisher"));
    }

    #[test]
    fn literal_text_with_template_delimiters_renders_to_itself() {
        let params = params(&learner("classroom", "alice", "classroom", &[]));
        for text in ["plain", "{{ .name }}", "a {{ b }} c }} {{", "{{{{", "}}"] {
            let mut value = json!({text: [text]});
            escape(&mut value);
            assert_eq!(render(&value, &params).unwrap(), json!({text: [text]}), "{text}");
        }
    }
}
