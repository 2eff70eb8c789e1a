//! The built-in course: every lesson at every stage renders and builds, the rules hold
//! for every object, and the rendered tree is snapshotted so every change to output shows
//! up in review.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Repo, build};

/// `gitgen list -o json` of a repo.
fn lessons(repo: &Repo) -> Vec<Value> {
    let run = repo.gitgen(&["list", "-o", "json"]);
    run.expect(0);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Writes a toggle file enabling `lessons` at their `round`-th stage (or last), renders.
fn render_round(repo: &Repo, lessons: &[Value], round: usize, skip: &[&str]) {
    let mut text = String::from("lessons:\n");
    for lesson in lessons.iter().filter(|l| !skip.iter().any(|s| l["name"] == *s)) {
        let stages = lesson["stages"].as_array().unwrap();
        let stage = &stages[round.min(stages.len() - 1)]["name"];
        text.push_str(&format!(
            "  {}: {}\n",
            lesson["name"].as_str().unwrap(),
            stage.as_str().unwrap()
        ));
    }
    repo.write("overlays/docker-desktop/lessons.yaml", &text);
    repo.gitgen(&["render"]).expect(0);
}

fn build_all(repo: &Repo) -> usize {
    let dirs = repo.kustomizations();
    for dir in &dirs {
        if let Err(err) = build(&repo.path().join(dir)) {
            panic!("`kubectl kustomize {dir}` failed:\n{err}");
        }
    }
    dirs.len()
}

#[test]
fn every_lesson_at_every_stage_renders_and_builds() {
    let repo = Repo::init();
    let lessons = lessons(&repo);
    assert!(lessons.len() >= 22, "the course has at least 22 lessons");
    let rounds = lessons
        .iter()
        .map(|l| l["stages"].as_array().unwrap().len())
        .max()
        .unwrap();
    for round in 0..rounds {
        // ingress conflicts with istio (port 80), pods-probes-services with argocd (8000).
        render_round(&repo, &lessons, round, &["ingress", "pods-probes-services"]);
        assert!(build_all(&repo) > lessons.len() * 2);
    }
    render_round(
        &repo,
        &lessons
            .iter()
            .filter(|l| l["name"] == "ingress" || l["name"] == "pods-probes-services")
            .cloned()
            .collect::<Vec<_>>(),
        2,
        &[],
    );
    build_all(&repo);
}

#[test]
fn ingress_and_istio_conflict_in_every_environment() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "istio"]).expect(0);
    let run = repo.gitgen(&["enable", "ingress"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    // On kind both would pin NodePort 30080 for localhost:80.
    repo.gitgen(&["--env", "kind", "enable", "istio"]).expect(0);
    repo.gitgen(&["--env", "kind", "enable", "ingress"]).expect(2);
}

#[test]
fn enabling_a_lesson_enables_its_whole_requires_closure() {
    let repo = Repo::init();
    let run = repo.gitgen(&["enable", "argo-rollouts"]);
    run.expect(0);
    let toggle = repo.read("overlays/docker-desktop/lessons.yaml");
    for required in [
        "argo-rollouts: automatic",
        "istio: ",
        "monitoring: ",
        "gateway-api: ",
        "argocd: ",
    ] {
        assert!(
            toggle.lines().any(|l| l.trim_start().starts_with(required)),
            "`{required}` not enabled:\n{toggle}"
        );
    }
}

#[test]
fn no_rendered_file_carries_secret_data_or_a_token() {
    let repo = Repo::init();
    let lessons = lessons(&repo);
    render_round(&repo, &lessons, usize::MAX, &["ingress", "pods-probes-services"]);
    for (path, text) in repo
        .tree()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("catalog/") && p.ends_with(".yaml"))
    {
        let documents: Vec<Value> = gitgen::yaml::documents(&text, path.as_ref()).unwrap();
        for object in documents {
            if object["kind"] == "Secret" {
                assert!(
                    object.get("data").is_none() && object.get("stringData").is_none(),
                    "{path} holds Secret data"
                );
            }
        }
        for line in text.lines() {
            assert_eq!(
                gitgen::credentials::token_kind(line),
                None,
                "{path}: token-like text: {line}"
            );
        }
    }
}

#[test]
fn every_namespace_carries_pod_security_labels() {
    let repo = Repo::init();
    let mut seen = 0;
    for (path, text) in repo.tree().into_iter().filter(|(p, _)| p.starts_with("generated/")) {
        if !path.ends_with(".yaml") {
            continue;
        }
        for object in gitgen::yaml::documents(&text, path.as_ref()).unwrap() {
            if object["kind"] == "Namespace" {
                seen += 1;
                let labels = &object["metadata"]["labels"];
                let enforce = labels["pod-security.kubernetes.io/enforce"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: no enforce label"));
                assert_eq!(labels["pod-security.kubernetes.io/warn"], "restricted", "{path}");
                assert!(["baseline", "restricted", "privileged"].contains(&enforce), "{path}");
            }
        }
    }
    assert!(seen > 20, "only {seen} namespaces found");
    // Privileged namespaces are declared with a reason: the catalog refuses them otherwise
    // (see catalog tests); chart namespaces get their labels through managedNamespaceMetadata.
    let apps = repo.tree();
    let mut privileged = Vec::new();
    for (path, text) in &apps {
        if path.starts_with("catalog/") && path.ends_with("lesson.yaml") && text.contains("pod_security: privileged") {
            privileged.push(path.clone());
        }
    }
    insta::assert_debug_snapshot!(privileged);
}

#[test]
fn list_json_shows_stages_charts_requires_and_conflicts() {
    let repo = Repo::init();
    let summary: Vec<Value> = lessons(&repo)
        .into_iter()
        .map(|l| {
            serde_json::json!({
                "name": l["name"],
                "stages": l["stages"].as_array().unwrap().iter().map(|s| s["name"].clone()).collect::<Vec<_>>(),
                "charts": l["charts"].as_array().unwrap().iter().map(|c| format!("{} {} {}", c["repo"].as_str().unwrap(), c["chart"].as_str().unwrap(), c["version"].as_str().unwrap())).collect::<Vec<_>>(),
                "requires": l["requires"],
                "conflicts": l["conflicts"].as_array().unwrap().iter().map(|c| c["lesson"].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    insta::assert_snapshot!(serde_json::to_string_pretty(&summary).unwrap());
}

#[test]
fn the_rendered_course_matches_its_snapshot() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "keda"]).expect(0);
    let tree: BTreeMap<String, String> = repo
        .tree()
        .into_iter()
        // The lock records a fingerprint of gitgen's own source, which changes with every
        // code change; the files it lists are all here.
        .filter(|(p, _)| !p.starts_with("catalog/") && p != "gitgen.lock")
        .map(|(path, text)| {
            let hash = gitgen::output::lock::sha256(text.as_bytes());
            (path, format!("{} lines, sha256 {}", text.lines().count(), &hash[..16]))
        })
        .collect();
    insta::assert_yaml_snapshot!(tree);
}

fn shared_crds() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds");
    assert!(
        std::path::Path::new(dir).is_dir(),
        "the upstream CRDs are expected at {dir} (../shared beside the repo)"
    );
    dir.to_owned()
}

#[test]
fn every_object_of_every_lesson_validates_against_its_type_or_crd_schema() {
    let repo = Repo::init();
    let lessons = lessons(&repo);
    // Bases hold every stage; the Argo CD bundle is checked with everything enabled,
    // once without ingress and once with it (it conflicts with istio, and argocd with
    // pods-probes-services).
    let without = |names: &[&str]| -> Vec<Value> {
        lessons
            .iter()
            .filter(|l| !names.contains(&l["name"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    for chosen in [
        without(&["ingress", "pods-probes-services"]),
        without(&["istio", "argo-rollouts", "argocd"]),
    ] {
        render_round(&repo, &chosen, usize::MAX, &[]);
        let run = repo.gitgen(&["validate", "--crds", &shared_crds()]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(run.stderr.contains(" 0 problem(s)"), "{}", run.transcript());
    }
}

#[test]
fn validate_names_the_field_of_a_custom_resource_that_breaks_its_schema() {
    let repo = Repo::init();
    let template = "catalog/keda/keda-scaled-object.yaml";
    let text = repo.read(template);
    assert!(
        text.contains("pollingInterval"),
        "the keda lesson's ScaledObject sets pollingInterval"
    );
    repo.write(template, &text.replace("pollingInterval", "pollingIntervall"));
    repo.gitgen(&["render"]).expect(0);
    let run = repo.gitgen(&["validate", "--crds", &shared_crds()]);
    run.expect(1);
    assert!(
        run.stdout
            .contains("ScaledObject rabbitmq-consumer: spec.pollingIntervall: unknown field"),
        "{}",
        run.transcript()
    );
}

#[test]
fn no_two_lessons_manage_the_same_object() {
    let repo = Repo::init();
    let catalog = gitgen::catalog::Catalog::load(gitgen::catalog::source::CatalogFiles::embedded()).unwrap();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for (id, lesson) in &catalog.lessons {
        // Objects a lesson manages at any of its stages.
        let mut seen = std::collections::BTreeSet::new();
        for stage in lesson.stage_names() {
            let dir = format!("generated/{id}/{stage}/");
            for (path, text) in repo
                .tree()
                .into_iter()
                .filter(|(p, _)| p.starts_with(&dir) && !p.ends_with("kustomization.yaml"))
            {
                for object in gitgen::yaml::documents(&text, path.as_ref()).unwrap() {
                    let group = gitgen::kinds::api_group(object["apiVersion"].as_str().unwrap());
                    let namespace =
                        if gitgen::render::policy::is_cluster_scoped(lesson, group, object["kind"].as_str().unwrap()) {
                            String::new()
                        } else {
                            object["metadata"]["namespace"]
                                .as_str()
                                .unwrap_or(&lesson.lesson.namespace)
                                .to_owned()
                        };
                    let key = format!(
                        "{} {} {namespace}/{}",
                        object["apiVersion"], object["kind"], object["metadata"]["name"]
                    );
                    seen.insert(key);
                }
            }
        }
        for key in seen {
            if let Some(other) = owners.insert(key.clone(), id.to_string()) {
                panic!("`{other}` and `{id}` both manage {key}");
            }
        }
    }
}

#[test]
fn a_server_side_check_sends_the_objects_of_the_enabled_stage_only() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "deployments", "--stage", "v1"]).expect(0);
    let settings = gitgen::settings::Settings::resolve(Some(repo.path()), None).unwrap();
    let workspace = gitgen::workspace::Inputs::read(settings).unwrap().load().unwrap();
    let objects = workspace.enabled_objects().unwrap();
    let files: std::collections::BTreeSet<&str> = objects.iter().map(|(_, file, _)| file.as_str()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "generated/deployments/v1/gitgen-namespaces.yaml",
            "generated/deployments/v1/probe-test-app-deployment.yaml",
            "generated/deployments/v1/probe-test-app-service.yaml",
        ]
    );
    let deployment = objects
        .iter()
        .find(|(_, _, object)| object["kind"] == "Deployment")
        .map(|(_, _, object)| object)
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "jasonumiker/probe-test-app:v1"
    );
}

/// The kinds the CRD manifests under `dir` define, `group/Kind`, sorted.
fn crd_kinds(dir: &std::path::Path) -> Vec<String> {
    let mut kinds = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs_err::read_to_string(&path).unwrap();
        for crd in gitgen::yaml::documents(&text, &path).unwrap() {
            let spec = &crd["spec"];
            kinds.push(format!(
                "{}/{}",
                spec["group"].as_str().unwrap(),
                spec["names"]["kind"].as_str().unwrap()
            ));
        }
    }
    kinds.sort();
    kinds
}

#[test]
fn the_argocd_lesson_lists_every_kind_of_the_argo_rollouts_crds_and_ships_upstreams_schemas() {
    // ../shared/crds/argo-rollouts holds argo-rollouts v1.7.2's manifests/crds/ (its
    // SOURCES.md), the app version of the chart 2.37.7 that argo-rollouts-controller
    // installs; the chart's templates/crds/ repeat their specs under Helm conditionals.
    let upstream = std::path::Path::new(&shared_crds()).join("argo-rollouts");
    let catalog = gitgen::catalog::Catalog::load(gitgen::catalog::source::CatalogFiles::embedded()).unwrap();
    let argocd = catalog.lessons.values().find(|l| l.id().as_str() == "argocd").unwrap();
    let declared = &argocd.lesson.argocd_objects.as_ref().unwrap().application_crds;
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].application, "argo-rollouts-controller");
    let mut listed = declared[0].crds.clone();
    listed.sort();
    assert_eq!(listed, crd_kinds(&upstream));
    for schema in &declared[0].schemas {
        let name = std::path::Path::new(&schema.value).file_name().unwrap();
        assert_eq!(
            argocd.files[&schema.value],
            fs_err::read_to_string(upstream.join(name)).unwrap(),
            "{} is upstream's file as it is",
            schema.value
        );
    }
}
