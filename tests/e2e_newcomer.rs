//! End to end, on a real API server: what a newcomer sees right after the quick start's
//! `gitgen bootstrap` (issue 26). `#[ignore]`d like the rest of the e2e tier; run with
//! `GITGEN_E2E_KUBECONFIG` naming a throwaway cluster (`.ci/run` does):
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --locked --test e2e_newcomer -- --ignored
//! ```
//!
//! It bootstraps Argo CD into `argocd` (again, after the other e2e tests: idempotent);
//! none of them leaves an Application named after a lesson there.

// The shared e2e helpers; this test needs only some of them.
#[allow(dead_code)]
#[path = "support/e2e.rs"]
mod e2e;

use e2e::{INSTALL_YAML, init_course, logged, text};

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG"]
fn status_after_a_fresh_bootstrap_says_the_cluster_answers_as_its_json_does() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let run = |args: &[&str]| logged(&mut e2e::gitgen(&repo, args), args);
    let render = run(&["render"]);
    assert!(render.status.success(), "{}", text(&render));
    let bootstrap = run(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    assert!(bootstrap.status.success(), "{}", text(&bootstrap));

    let json = run(&["status", "-o", "json"]);
    assert!(json.status.success(), "{}", text(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["cluster"]["reachable"], true, "{report:#}");
    let lessons = report["lessons"].as_array().unwrap();
    assert!(
        !lessons.is_empty() && lessons.iter().all(|l| l["app"].is_null()),
        "a fresh bootstrap has no lesson Application yet: {report:#}"
    );

    let table = run(&["status"]);
    assert!(table.status.success(), "{}", text(&table));
    let shown = text(&table);
    assert!(
        !shown.contains("unreachable"),
        "the table contradicts `reachable: true`:\n{shown}"
    );
    assert!(
        shown.contains("note: the cluster answers, but Argo CD has no lesson Application yet"),
        "{shown}"
    );
}
