//! One owner per object: `render` refuses two objects with one identity that Argo CD
//! would apply in one environment, naming both sources, with nothing written.

use crate::support::{Repo, Run};

/// A ClusterRole `reader`, as a lesson template.
const CLUSTER_ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules:
  - apiGroups: [\"\"]
    resources: [pods]
    verbs: [get]
";

/// Adds `file` with `text` to lesson `lesson`'s manifests, and `extra` to its lesson.yaml.
fn ship(repo: &Repo, lesson: &str, file: &str, text: &str, extra: &str) {
    let path = format!("catalog/{lesson}/lesson.yaml");
    let yaml = repo.read(&path);
    let yaml = yaml.replacen("manifests:\n", &format!("{extra}manifests:\n  - file: {file}\n"), 1);
    repo.write(&path, &yaml);
    repo.write(&format!("catalog/{lesson}/{file}"), text);
}

/// Exit 2, an `error:` naming both sources, a `hint:`, and nothing rendered.
#[track_caller]
fn refused(repo: &Repo, run: &Run, sources: [&str; 2]) {
    run.expect(2);
    assert!(run.stderr.starts_with("error: "), "{}", run.transcript());
    assert!(run.stderr.contains("\nhint: "), "{}", run.transcript());
    for source in sources {
        assert!(
            run.stderr.contains(source),
            "`{source}` is not named\n{}",
            run.transcript()
        );
    }
    for output in ["generated", "argocd", "gitgen.lock"] {
        assert!(!repo.exists(output), "`{output}` was written\n{}", run.transcript());
    }
}

#[test]
fn two_lessons_that_ship_one_cluster_role_are_refused_naming_both_templates() {
    let repo = Repo::fixture("small");
    let kinds = "cluster_kinds: [ClusterRole]\n";
    ship(&repo, "alpha", "reader.yaml", CLUSTER_ROLE, kinds);
    ship(&repo, "beta", "reader.yaml", CLUSTER_ROLE, kinds);
    let run = repo.gitgen(&["render"]);
    refused(
        &repo,
        &run,
        [
            "`catalog/alpha/reader.yaml (stage service)`",
            "`catalog/beta/reader.yaml (stage install)`",
        ],
    );
    insta::assert_snapshot!("two_lessons_ship_one_cluster_role", run.transcript());

    // One of them is enough.
    repo.write(
        "catalog/beta/reader.yaml",
        &CLUSTER_ROLE.replace("name: reader", "name: beta-reader"),
    );
    repo.gitgen(&["render"]).expect(0);
}

#[test]
fn a_lessons_own_application_named_as_another_lessons_generated_one_is_refused() {
    let repo = Repo::fixture("small");
    let application = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: alpha
  namespace: argocd
spec:
  project: beta-examples
  source:
    repoURL: https://github.com/example/examples
    targetRevision: 52d479682aa522f78f5ebbcd72825be8fa2624a7
    path: app
  destination:
    server: https://kubernetes.default.svc
    namespace: beta
";
    let declared = "argocd_objects:
  reason: An example Application.
  projects: [beta-examples]
  repos: [https://github.com/example/examples]
";
    ship(&repo, "beta", "example.yaml", application, declared);
    let run = repo.gitgen(&["render"]);
    refused(
        &repo,
        &run,
        [
            "`argocd/docker-desktop/apps/alpha.application.yaml`",
            "`catalog/beta/example.yaml (stage install)`",
        ],
    );
    insta::assert_snapshot!("a_lessons_application_is_a_generated_one", run.transcript());
}
