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

use super::application::{
    APPLICATION_WAVE, ARGO_API, IN_CLUSTER, chart_application, comment_lines, explained, lesson_application,
    lesson_labels, lesson_sync_settings, metadata, platform_labels, retry, scoped,
};
use super::classroom;
use super::policy::is_cluster_scoped;
use super::{RenderContext, RenderError, RenderedFile, yaml_file};
use gitgen_base::argocd_install::{ARGOCD_CM, argocd_cm_data, manifest_url};
use gitgen_base::layout::Layout;
use gitgen_catalog::classroom::{ROOT_APP, chart_stem, destination_glob};
use gitgen_catalog::config::Target;
use gitgen_catalog::lesson::{Reasoned, SyncSettings};
use gitgen_catalog::{LESSON_FILE, LoadedLesson};
use gitgen_validate::kinds::{cluster_kind_group, declared_kind_group};
use gitgen_yaml as yaml;

/// The project of gitgen's own Applications (root and Argo CD itself).
pub const PLATFORM_PROJECT: &str = "gitgen-platform";
/// The Application through which Argo CD manages itself.
pub const SELF_APP: &str = "gitgen-argocd";

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
                        format!("{}.application.yaml", chart_stem(id.as_str(), chart)),
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
            Target::Classroom(_) if *ns == ctx.config.argocd.namespace => {
                json!({"server": IN_CLUSTER, "namespace": ns})
            }
            Target::Classroom(_) => json!({"name": destination_glob(ctx.env_name), "namespace": ns}),
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
    use gitgen_base::argocd_install::TRACKING_METHOD_KEY;
    use gitgen_catalog::labels::{ENVIRONMENT_LABEL, LESSON_LABEL, SECTION_LABEL, STAGE_LABEL};

    /// Each tested Argo CD release and the folder of its CRDs, byte for byte upstream's
    /// (../shared/crds/SOURCES.md, ../shared/argocd-v3.5.1/SOURCES.md).
    fn tested_crds() -> Vec<(&'static str, std::path::PathBuf)> {
        let shared = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("../shared");
        let dirs = [shared.join("crds/argocd"), shared.join("argocd-v3.5.1")];
        gitgen_catalog::argocd_version::TESTED.into_iter().zip(dirs).collect()
    }

    #[test]
    fn every_argo_cd_object_of_both_bundles_is_valid_against_the_pinned_releases_crd_schemas() {
        let (catalog, mut config) = super::super::sync_model::course();
        let tested = tested_crds();
        assert_eq!(tested[0].0, "v2.12.3", "the pairs above are in TESTED's order");
        for (version, crds) in tested {
            config.argocd.version = version.to_owned();
            let bundles = super::super::sync_model::every_lesson_bundles(&catalog, &config);
            let schemas = gitgen_validate::CrdSchemas::from_dir(&crds).expect("the pinned CRDs");
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
            for file in files
                .iter()
                .filter(|f| f.path.ends_with(".application.yaml") || f.path.ends_with(".applicationset.yaml"))
            {
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
                    assert_eq!(
                        gitgen_catalog::labels::value_problem(value),
                        None,
                        "{name}: {key}={value}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_lesson_applications_info_links_its_walkthrough_on_the_forge_and_names_what_it_requires() {
        let (catalog, config) = super::super::sync_model::course();
        let forge = format!(
            "{}/blob/{}/",
            config.repo_url.trim_end_matches(".git"),
            config.target_revision
        );
        for (name, app) in lesson_applications() {
            let info: Vec<(&str, &str)> = app["spec"]["info"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["name"].as_str().unwrap(), i["value"].as_str().unwrap()))
                .collect();
            let names: Vec<&str> = info.iter().map(|(n, _)| *n).collect();
            assert_eq!(
                names[..4],
                ["Lesson", "Stage", "Walkthrough", "Course section"],
                "{name}"
            );
            let walkthrough = info[2].1;
            assert!(
                walkthrough.starts_with(&forge) && walkthrough.ends_with("/README.md"),
                "{name}: {walkthrough}"
            );
            assert!(
                !walkthrough.contains(char::is_whitespace) || walkthrough.contains("{{"),
                "{name}: {walkthrough}"
            );
            let lesson = &catalog.lessons[app["metadata"]["labels"][LESSON_LABEL].as_str().unwrap()];
            let requires: Vec<&str> = lesson.lesson.requires.iter().map(|r| r.value.as_str()).collect();
            match requires.is_empty() {
                true => assert_eq!(names.len(), 4, "{name}"),
                false => assert_eq!(info[4], ("Requires", requires.join(", ").as_str()), "{name}"),
            }
        }
    }
}
