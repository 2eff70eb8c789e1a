//! Argo CD's namespace is `argocd.namespace` of `gitgen.yaml`, also for the objects the
//! `argocd` lesson ships itself (its AppProject and example Applications), in every
//! environment, the classroom included, and also when the namespace changes after the
//! first render.

use crate::support::{Repo, kustomize};
use serde_json::Value;

/// Every environment of `gitgen init` plus a classroom, with Argo CD in `gitops`, rendered
/// once with the default `argocd` first (as a repo whose trainer moves Argo CD later is).
fn course_with_argocd_in_gitops() -> Repo {
    let repo = Repo::init();
    let config = repo.read("gitgen.yaml");
    let moved = config.replacen("argocd:\n  namespace: argocd\n", "argocd:\n  namespace: gitops\n", 1);
    assert_ne!(config, moved, "gitgen init writes `namespace: argocd` under `argocd:`");
    let classroom = crate::classroom_env::classroom_environment("NodePort", "class");
    repo.write("gitgen.yaml", &format!("{moved}{classroom}"));
    repo.gitgen(&["render"]).expect(0);
    for env in ["docker-desktop", "kind", "classroom"] {
        repo.gitgen(&["--env", env, "enable", "argocd"]).expect(0);
    }
    repo
}

/// The objects `kubectl kustomize DIR` builds.
fn built(dir: &std::path::Path) -> Vec<Value> {
    let text = kustomize(dir).unwrap_or_else(|e| panic!("kubectl kustomize {}: {e}", dir.display()));
    gitgen::yaml::documents(&text, dir).unwrap()
}

#[test]
fn the_argocd_lessons_own_objects_go_to_the_configured_namespace_in_every_environment() {
    let repo = course_with_argocd_in_gitops();
    // What Argo CD applies of the lesson's Argo CD objects: the overlay of a single-cluster
    // environment, and a classroom's `argocd-objects` overlay, which the class's Argo CD
    // syncs into its own namespace.
    let overlays = [
        "overlays/docker-desktop/argocd",
        "overlays/kind/argocd",
        "overlays/classroom/argocd/apps/argocd-objects",
    ];
    for overlay in overlays {
        let mut names: Vec<String> = built(&repo.path().join(overlay))
            .iter()
            .filter(|o| o["apiVersion"].as_str().is_some_and(|v| v.starts_with("argoproj.io/")))
            .map(|o| {
                assert_eq!(o["metadata"]["namespace"], "gitops", "{overlay}: {o:#}");
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "AppProject/argocd-examples",
                "Application/argo-rollouts-controller",
                "Application/probe-test-app"
            ],
            "{overlay}"
        );
    }
    // The classroom's Application of those objects deploys them into `gitops` on the
    // management cluster.
    let set = repo.read("argocd/classroom/apps/classroom-argocd-argocd.applicationset.yaml");
    let set: Vec<Value> = gitgen::yaml::documents(&set, "set.yaml".as_ref()).unwrap();
    assert_eq!(
        set[0]["spec"]["template"]["spec"]["destination"]["namespace"], "gitops",
        "{:#}",
        set[0]
    );
}

#[test]
fn nothing_rendered_names_the_default_argocd_namespace_once_argocd_is_moved() {
    let repo = course_with_argocd_in_gitops();
    let stray: Vec<String> = repo
        .tree()
        .into_iter()
        .flat_map(|(path, text)| {
            text.lines()
                .filter(|line| {
                    let value = line.trim().strip_prefix("namespace:").map(str::trim);
                    matches!(value, Some("argocd" | "\"argocd\""))
                })
                .map(|line| format!("{path}: {line}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(stray.is_empty(), "{stray:#?}");
    // The walkthrough's commands name the namespace Argo CD runs in.
    let walkthrough = repo.read("overlays/docker-desktop/argocd/README.md");
    assert!(
        walkthrough.contains("`kubectl get applications -n gitops`"),
        "{walkthrough}"
    );
}
