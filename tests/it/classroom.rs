//! A classroom environment (`clusters:` in `gitgen.yaml`): its render, beside
//! single-cluster environments that stay as they were, and its configuration errors.

use crate::classroom_env::classroom_environment;
use crate::support::{Repo, build, check};

fn with_environment(repo: &Repo, environment: &str) {
    let config = repo.read("gitgen.yaml");
    repo.write("gitgen.yaml", &format!("{config}{environment}"));
}

#[test]
fn a_classroom_renders_application_sets_and_an_overlay_per_stage_and_leaves_other_environments_alone() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let single = |repo: &Repo| {
        repo.tree()
            .into_iter()
            .filter(|(path, _)| path.starts_with("argocd/") || path.starts_with("overlays/"))
            .collect::<Vec<_>>()
    };
    let before = single(&repo);
    with_environment(&repo, &classroom_environment("LoadBalancer", "spring"));
    repo.write(
        "overlays/classroom/lessons.yaml",
        "lessons:\n  alpha: pod\n  beta: install\n",
    );
    let run = repo.gitgen(&["render"]);
    check(&run, 0);
    insta::assert_snapshot!("classroom_render", run.transcript());
    let after = single(&repo);
    let unchanged: Vec<_> = after
        .iter()
        .filter(|(path, _)| !path.contains("/classroom/"))
        .cloned()
        .collect();
    assert_eq!(unchanged, before, "a single-cluster environment's files changed");

    let classroom: Vec<&str> = after
        .iter()
        .map(|(path, _)| path.as_str())
        .filter(|path| path.contains("/classroom/"))
        .collect();
    insta::assert_snapshot!("classroom_files", classroom.join("\n"));
    insta::assert_snapshot!(
        "classroom_alpha_application_set",
        repo.read("argocd/classroom/apps/classroom-alpha.applicationset.yaml")
    );
    // Every stage of an enabled lesson has an overlay that builds, whatever the toggle says.
    for dir in [
        "overlays/classroom/alpha/pod",
        "overlays/classroom/alpha/service",
        "overlays/classroom/beta/install",
    ] {
        if let Err(err) = build(&repo.path().join(dir)) {
            panic!("`kubectl kustomize {dir}` failed:\n{err}");
        }
    }
    check(&repo.gitgen(&["render", "--check"]), 0);
}

#[test]
fn an_environment_with_both_a_destination_and_clusters_is_refused_with_its_line() {
    let repo = Repo::fixture("small");
    with_environment(
        &repo,
        &format!(
            "{}    destination: https://kubernetes.default.svc\n",
            classroom_environment("LoadBalancer", "spring")
        ),
    );
    let run = repo.gitgen(&["render"]);
    check(&run, 2);
    insta::assert_snapshot!("classroom_with_destination", run.transcript());
}

#[test]
fn an_environment_with_neither_a_destination_nor_clusters_is_refused_with_its_line() {
    let repo = Repo::fixture("small");
    with_environment(
        &repo,
        "  classroom:\n    service_type: NodePort\n    host: localhost\n    sync: manual\n",
    );
    let run = repo.gitgen(&["--env", "kind", "render"]);
    check(&run, 2);
    insta::assert_snapshot!("classroom_without_target", run.transcript());
}
