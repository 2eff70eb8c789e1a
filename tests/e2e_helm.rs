//! Real Helm against the catalog's chart claims: a tier of its own (`#[ignore]`d).
//!
//! Run, it renders with real Helm (`support/helm.rs`), which starts a throwaway control
//! plane of its own on the first render that misses its cache; and it reads which kinds are
//! namespaced from the discovery of the cluster `GITGEN_E2E_KUBECONFIG` names (read only:
//! the end-to-end tier's management cluster in `.ci/run`). A missing variable or cluster
//! fails it:
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --locked --test e2e_helm -- --ignored
//! ```
//!
//! The facts about charts in `catalog/*/lesson.yaml` are typed by hand; here every chart
//! is rendered by real Helm with the values gitgen renders, for every environment and every
//! stage that deploys it, and the claims are checked against what Argo CD would apply of
//! that render: `creates.kinds` is exactly what is rendered (a kind missing makes Argo CD
//! deny the sync, a kind too many is privilege nobody uses), `creates.turned_off` is not rendered,
//! `creates.crds` are exactly the kinds the rendered CRDs define (`validate --server` names the
//! chart that brings a kind from it),
//! the lesson's AppProject permits every object (Argo CD's rules, ported in
//! `support/argocd_rules.rs`), `cluster_kinds` are all used, and no object has two owners.

#[path = "support/argocd_rules.rs"]
mod argocd_rules;
#[path = "support/control_plane.rs"]
mod control_plane;
#[path = "support/e2e.rs"]
#[allow(dead_code)]
mod e2e;
#[path = "support/helm.rs"]
mod helm;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use argocd_rules::{Destination, is_applied, is_destination_permitted, is_group_kind_permitted};
use gitgen::catalog::LoadedLesson;
use gitgen::catalog::config::Target;
use gitgen::kinds::{api_group, cluster_kind_group, declared_kind_group};
use gitgen::render::{self, RenderContext, application, overlays};
use gitgen::settings::Settings;
use gitgen::workspace::Workspace;
use helm::{ChartRender, HelmRenderer, RenderedObject, chart_archive};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A renderer; it fails the test when python3, cffi, PyYAML, the Helm library or the
/// render script is missing.
fn renderer() -> HelmRenderer {
    HelmRenderer::new().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[ignore = "needs real Helm, which starts a control plane from ../shared/k8s on a cache miss"]
fn a_second_render_of_the_same_inputs_comes_from_the_cache_and_starts_no_control_plane() {
    let helm = renderer();
    let values = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(values.path(), "replicas: 1\nresourceQuota: false\n").unwrap();
    let chart = ChartRender::new(
        chart_archive("gatekeeper", "3.17.1"),
        "gatekeeper",
        "gatekeeper-system",
        vec![values.path().to_owned()],
    );
    let first = helm.render(&chart).unwrap_or_else(|e| panic!("{e}"));
    let (ran, _) = helm.renders_run();
    let second = helm.render(&chart).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(helm.renders_run().0, ran, "the second render ran Helm again");
    assert_eq!(first, second);
    let cached = renderer();
    assert_eq!(cached.render(&chart).unwrap_or_else(|e| panic!("{e}")), first);
    assert!(
        !cached.started_a_control_plane(),
        "a render served from the cache started Helm's control plane"
    );
    assert!(first.iter().any(|o| o.kind == "Deployment" && o.group() == "apps"));
    assert!(
        !first.iter().any(|o| o.kind == "ResourceQuota"),
        "the values turn ResourceQuota off"
    );
}

/// A group and kind, as Argo CD matches them.
type GroupKind = (String, String);

/// One place a chart is deployed: an environment, a lesson's chart, a stage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    env: String,
    lesson: String,
    chart: String,
    stage: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: chart `{}` of lesson `{}` at stage `{}`",
            self.env, self.chart, self.lesson, self.stage
        )
    }
}

/// What one environment deploys a chart with, beside its render.
struct Deployed {
    site: Site,
    render: ChartRender,
    /// The lesson's AppProject as gitgen renders it for the environment.
    project: Value,
    /// Where the chart's Application deploys (a classroom: one learner's cluster).
    destination: Destination,
}

/// Who deploys an object: a lesson's chart, or a lesson's own manifests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Owner {
    lesson: String,
    chart: Option<String>,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.chart {
            Some(chart) => write!(f, "chart `{chart}` of lesson `{}`", self.lesson),
            None => write!(f, "the manifests of lesson `{}`", self.lesson),
        }
    }
}

/// An object's identity: group, kind, namespace (empty when cluster-scoped), name.
type Identity = (String, String, String, String);

/// Every (environment, lesson, chart, stage) of the repo's course with the values gitgen
/// renders there, written to `values_dir` (one file per distinct text, so equal values
/// are one render).
fn deployments(workspaces: &[Workspace], values_dir: &Path) -> Vec<Deployed> {
    let mut out = Vec::new();
    for ws in workspaces {
        let ctx = ws.context();
        let files = render::environment(&ctx).unwrap_or_else(|e| panic!("render {}: {e}", ctx.env_name));
        for lesson in ctx.catalog.lessons.values() {
            let id = lesson.id().as_str();
            let project = app_project(&ctx, &files, id);
            for chart in &lesson.lesson.charts {
                for (index, stage) in lesson.lesson.stages.iter().enumerate() {
                    if !lesson.in_stage(chart.since.as_ref(), chart.until.as_ref(), index) {
                        continue;
                    }
                    let values = overlays::rendered_values(lesson, chart, index, ctx.env_name, ctx.env)
                        .unwrap_or_else(|e| panic!("values of {id}/{}: {e}", chart.name));
                    let values_files = values.map(|v| values_file(values_dir, &v.text)).into_iter().collect();
                    let version = application::chart_version(chart, lesson, index);
                    out.push(Deployed {
                        site: Site {
                            env: ctx.env_name.to_string(),
                            lesson: id.to_owned(),
                            chart: chart.name.clone(),
                            stage: stage.name.to_string(),
                        },
                        render: ChartRender::new(
                            chart_archive(&chart.chart, version),
                            &chart.name,
                            &chart.namespace,
                            values_files,
                        ),
                        project: project.clone(),
                        destination: destination(&ctx, &chart.namespace),
                    });
                }
            }
        }
    }
    out
}

/// The AppProject of `lesson` among the environment's rendered files.
fn app_project(ctx: &RenderContext<'_>, files: &[gitgen::files::RenderedFile], lesson: &str) -> Value {
    let path = format!(
        "{}/{}.appproject.yaml",
        ctx.layout().apps_dir(),
        application::scoped(ctx, lesson)
    );
    let file = files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{}: render wrote no `{path}`", ctx.env_name));
    let mut objects = gitgen::yaml::documents(&file.contents, path.as_ref()).unwrap();
    assert_eq!(objects.len(), 1, "`{path}` holds one AppProject");
    objects.remove(0)
}

/// The chart Application's destination: the environment's cluster, or in a classroom one
/// learner's (`classroom add` names each `<env>-<learner>`).
fn destination(ctx: &RenderContext<'_>, namespace: &str) -> Destination {
    let (server, name) = match ctx.env.target() {
        Target::Cluster(server) => (server.to_owned(), String::new()),
        Target::Classroom(_) => (String::new(), format!("{}-ada", ctx.env_name)),
    };
    Destination {
        server,
        name,
        namespace: namespace.to_owned(),
    }
}

/// `text` in `dir`, named by its hash.
fn values_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join(format!("{}.yaml", hex::encode(Sha256::digest(text.as_bytes()))));
    fs_err::write(&path, text).unwrap();
    path
}

/// Whether each kind the cluster of `kubeconfig` serves is namespaced, from its discovery:
/// the `APIResource.Namespaced` Argo CD's permission check is handed.
fn discovery(kubeconfig: &Path) -> BTreeMap<GroupKind, bool> {
    let out = e2e::isolated::command("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["api-resources", "--no-headers"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl api-resources: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND: read from the right, as SHORTNAMES may be blank.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().rev();
            let (kind, namespaced, api_version) = (fields.next()?, fields.next()?, fields.next()?);
            Some((
                (api_group(api_version).to_owned(), kind.to_owned()),
                namespaced == "true",
            ))
        })
        .collect()
}

/// The (group, kind) a CustomResourceDefinition defines, and whether it is namespaced.
fn crd_scope(object: &serde_json::Value) -> Option<(GroupKind, bool)> {
    if object["apiVersion"].as_str()? != "apiextensions.k8s.io/v1" || object["kind"] != "CustomResourceDefinition" {
        return None;
    }
    let spec = &object["spec"];
    let group = spec["group"].as_str()?.to_owned();
    let kind = spec["names"]["kind"].as_str()?.to_owned();
    Some(((group, kind), spec["scope"].as_str()? == "Namespaced"))
}

/// The (group, kind) pairs of `kinds`, written as in lesson.yaml.
fn declared(kinds: &[String]) -> BTreeSet<GroupKind> {
    kinds
        .iter()
        .map(|k| {
            let (group, kind) = declared_kind_group(k).unwrap_or_else(|| panic!("`{k}` is not a kind"));
            (group.to_owned(), kind.to_owned())
        })
        .collect()
}

/// Whether lessons `a` and `b` may never be enabled together in `env`.
fn conflict(lessons: &BTreeMap<String, &LoadedLesson>, env: &str, a: &str, b: &str) -> bool {
    let says = |x: &str, y: &str| {
        lessons[x].lesson.conflicts.iter().any(|c| {
            c.lesson.value.as_str() == y && (c.environments.is_empty() || c.environments.iter().any(|e| e == env))
        })
    };
    says(a, b) || says(b, a)
}

/// The objects of each lesson's manifests at every stage, as gitgen renders its bases.
fn manifest_objects(lesson: &LoadedLesson) -> Vec<Value> {
    render::bases::emit(lesson)
        .unwrap()
        .into_iter()
        .filter(|f| render::holds_objects(&f.path))
        .flat_map(|f| gitgen::yaml::documents(&f.contents, f.path.as_ref()).unwrap())
        .collect()
}

#[test]
#[ignore = "needs real Helm and the management cluster: GITGEN_E2E_KUBECONFIG"]
fn every_chart_renders_what_its_lesson_claims_and_its_project_permits_at_every_stage_and_environment() {
    let helm = renderer();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspaces: Vec<Workspace> = Settings::every_environment(Some(repo))
        .unwrap()
        .into_iter()
        .map(|s| Workspace::open_read_only(s).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(
        workspaces.iter().any(|w| w.settings.env().is_classroom()),
        "the course has a classroom environment"
    );
    let values_dir = tempfile::tempdir().unwrap();
    let deployed = deployments(&workspaces, values_dir.path());

    // One render per distinct chart, release, namespace and values.
    let started = Instant::now();
    let mut renders: BTreeMap<&ChartRender, Vec<RenderedObject>> = BTreeMap::new();
    for d in &deployed {
        if !renders.contains_key(&d.render) {
            let objects = helm.render(&d.render).unwrap_or_else(|e| panic!("{}: {e}", d.site));
            renders.insert(
                &d.render,
                objects.into_iter().filter(|o| is_applied(&o.object)).collect(),
            );
        }
    }
    let (ran, helm_time) = helm.renders_run();
    eprintln!(
        "{} sites, {} distinct renders; {ran} ran Helm in {helm_time:.1?}, the rest came from the cache; {:.1?} in all",
        deployed.len(),
        renders.len(),
        started.elapsed()
    );
    let mut scopes = discovery(&e2e::management());
    // The management cluster serves the built-in kinds (and Argo CD's), not those the
    // charts' CRDs define: those take their scope from the rendered CRD, as the API server
    // will serve them once the CRD is applied.
    for object in renders.values().flatten() {
        if let Some(defined) = crd_scope(&object.object) {
            scopes.entry(defined.0).or_insert(defined.1);
        }
    }

    let catalog = &workspaces[0].catalog;
    let lessons: BTreeMap<String, &LoadedLesson> = catalog
        .lessons
        .iter()
        .map(|(id, l)| (id.as_str().to_owned(), l))
        .collect();
    let mut failures: Vec<String> = Vec::new();
    // Kinds each chart renders somewhere, and cluster-scoped kinds each lesson's charts render.
    let mut rendered_by_chart: BTreeMap<(String, String), BTreeSet<GroupKind>> = BTreeMap::new();
    // The kinds the CRDs each chart renders somewhere define.
    let mut crds_by_chart: BTreeMap<(String, String), BTreeSet<GroupKind>> = BTreeMap::new();
    let mut cluster_by_lesson: BTreeMap<String, BTreeSet<GroupKind>> = BTreeMap::new();
    // Who deploys each object, per environment.
    let mut owners: BTreeMap<String, BTreeMap<Identity, BTreeSet<Owner>>> = BTreeMap::new();

    for d in &deployed {
        let lesson = lessons[&d.site.lesson];
        let chart = lesson.lesson.charts.iter().find(|c| c.name == d.site.chart).unwrap();
        let claimed = declared(&chart.creates.kinds);
        let off = declared(&chart.creates.turned_off);
        let project_name = d.project["metadata"]["name"].as_str().unwrap_or("?");
        let env_owners = owners.entry(d.site.env.clone()).or_default();
        for object in &renders[&d.render] {
            let gk: GroupKind = (object.group().to_owned(), object.kind.clone());
            rendered_by_chart
                .entry((d.site.lesson.clone(), d.site.chart.clone()))
                .or_default()
                .insert(gk.clone());
            if let Some((defined, _)) = crd_scope(&object.object) {
                crds_by_chart
                    .entry((d.site.lesson.clone(), d.site.chart.clone()))
                    .or_default()
                    .insert(defined);
            }
            let what = format!("{}/{} `{}`", gk.0, gk.1, object.name);
            if !claimed.contains(&gk) {
                failures.push(format!(
                    "{}: renders {what}, a kind `creates.kinds` does not claim",
                    d.site
                ));
            }
            if off.contains(&gk) {
                failures.push(format!(
                    "{}: renders {what}, a kind `creates.turned_off` says these values turn off",
                    d.site
                ));
            }
            let Some(&namespaced) = scopes.get(&gk) else {
                failures.push(format!(
                    "{}: renders {what}, a kind the control plane does not serve",
                    d.site
                ));
                continue;
            };
            // Argo CD gives a namespaced object without a namespace the Application's.
            let namespace = if namespaced {
                object
                    .namespace
                    .clone()
                    .unwrap_or_else(|| d.destination.namespace.clone())
            } else {
                cluster_by_lesson
                    .entry(d.site.lesson.clone())
                    .or_default()
                    .insert(gk.clone());
                String::new()
            };
            if !is_group_kind_permitted(&d.project, &gk.0, &gk.1, namespaced) {
                failures.push(format!(
                    "{}: renders {what}: resource {}:{} is not permitted in project {project_name}",
                    d.site, gk.0, gk.1
                ));
            }
            if namespaced
                && !is_destination_permitted(
                    &d.project,
                    &Destination {
                        namespace: namespace.clone(),
                        ..d.destination.clone()
                    },
                )
            {
                failures.push(format!(
                    "{}: renders {what}: namespace {namespace} is not permitted in project '{project_name}'",
                    d.site
                ));
            }
            env_owners
                .entry((gk.0, gk.1, namespace, object.name.clone()))
                .or_default()
                .insert(Owner {
                    lesson: d.site.lesson.clone(),
                    chart: Some(d.site.chart.clone()),
                });
        }
    }

    // Both ways: a claimed kind that no render at any stage or environment holds is
    // privilege nobody uses; so is a cluster kind no chart renders and no manifest holds.
    for (id, lesson) in &lessons {
        let manifests = manifest_objects(lesson);
        // A lesson that ships an AppProject (`argocd_objects`) may grant onwards only the
        // cluster kinds it declares itself, so those count as used too.
        let manifest_kinds: BTreeSet<GroupKind> = manifests
            .iter()
            .map(|o| {
                (
                    api_group(o["apiVersion"].as_str().unwrap_or("")).to_owned(),
                    o["kind"].as_str().unwrap_or("").to_owned(),
                )
            })
            .chain(
                manifests
                    .iter()
                    .filter(|o| o["kind"] == "AppProject")
                    .flat_map(|o| {
                        o["spec"]["clusterResourceWhitelist"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                    })
                    .map(|e| {
                        (
                            e["group"].as_str().unwrap_or("").to_owned(),
                            e["kind"].as_str().unwrap_or("").to_owned(),
                        )
                    }),
            )
            .collect();
        for chart in &lesson.lesson.charts {
            let rendered = rendered_by_chart
                .get(&(id.clone(), chart.name.clone()))
                .cloned()
                .unwrap_or_default();
            assert!(
                !rendered.is_empty(),
                "chart `{}` of lesson `{id}` rendered nothing anywhere",
                chart.name
            );
            // `validate --server` names the chart that brings a kind from this list.
            let defined = crds_by_chart
                .get(&(id.clone(), chart.name.clone()))
                .cloned()
                .unwrap_or_default();
            let listed = declared(&chart.creates.crds);
            if defined != listed {
                failures.push(format!(
                    "chart `{}` of lesson `{id}`: its CRDs define {defined:?}, but `creates.crds` lists {listed:?}",
                    chart.name
                ));
            }
            for (group, kind) in declared(&chart.creates.kinds).difference(&rendered) {
                failures.push(format!(
                    "chart `{}` of lesson `{id}` claims {group}/{kind} in `creates.kinds`, which no render at any stage or environment holds",
                    chart.name
                ));
            }
        }
        for declared_kind in &lesson.lesson.cluster_kinds {
            let (group, kind) = cluster_kind_group(declared_kind).unwrap_or_else(|| panic!("`{declared_kind}`"));
            let gk = (group.to_owned(), kind.to_owned());
            let by_chart = cluster_by_lesson.get(id).is_some_and(|kinds| kinds.contains(&gk));
            if !by_chart && !manifest_kinds.contains(&gk) {
                failures.push(format!(
                    "lesson `{id}` lists {group}/{kind} in `cluster_kinds`, which neither its charts nor its manifests create"
                ));
            }
        }
        // The lesson's own objects, for the one-owner check in every environment.
        for object in &manifests {
            let gk = (
                api_group(object["apiVersion"].as_str().unwrap_or("")).to_owned(),
                object["kind"].as_str().unwrap_or("").to_owned(),
            );
            let namespace = match scopes.get(&gk) {
                Some(false) => String::new(),
                _ => object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(&lesson.lesson.namespace)
                    .to_owned(),
            };
            let name = object["metadata"]["name"].as_str().unwrap_or("").to_owned();
            for env_owners in owners.values_mut() {
                if let Some(set) = env_owners.get_mut(&(gk.0.clone(), gk.1.clone(), namespace.clone(), name.clone())) {
                    set.insert(Owner {
                        lesson: id.clone(),
                        chart: None,
                    });
                }
            }
        }
    }

    // One owner: two charts, or a chart and a lesson's manifests, that render one object
    // are two Applications fighting over it, unless the lessons may never run together.
    for (env, identities) in &owners {
        for ((group, kind, namespace, name), set) in identities {
            let set: Vec<&Owner> = set.iter().collect();
            for (i, a) in set.iter().enumerate() {
                for b in &set[i + 1..] {
                    if a.lesson != b.lesson && conflict(&lessons, env, &a.lesson, &b.lesson) {
                        continue;
                    }
                    failures.push(format!(
                        "{env}: {group}/{kind} `{name}`{} is deployed by {a} and by {b}",
                        if namespace.is_empty() {
                            String::new()
                        } else {
                            format!(" in namespace `{namespace}`")
                        }
                    ));
                }
            }
        }
    }

    for lesson in lessons.values().filter(|l| !l.lesson.charts.is_empty()) {
        for ws in &workspaces {
            assert!(
                deployed
                    .iter()
                    .any(|d| d.site.lesson == lesson.id().as_str() && d.site.env == ws.settings.env_name.as_str()),
                "lesson `{}` was not rendered in {}",
                lesson.id(),
                ws.settings.env_name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
