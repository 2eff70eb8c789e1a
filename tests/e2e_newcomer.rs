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

#[path = "support/classroom.rs"]
mod classroom;
// The shared e2e helpers; these tests need only some of them.
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

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG"]
fn holding_a_learner_on_a_lesson_the_classroom_has_not_enabled_says_so_and_the_hint_runs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let config = repo.join("gitgen.yaml");
    let mut yaml = fs_err::read_to_string(&config).unwrap();
    yaml.push_str(&classroom::classroom_environment("NodePort", "newcomer"));
    fs_err::write(&config, yaml).unwrap();
    fs_err::create_dir_all(repo.join("overlays/classroom")).unwrap();
    fs_err::write(
        repo.join("overlays/classroom/lessons.yaml"),
        "lessons:\n  deployments: v2\n",
    )
    .unwrap();
    let ok = |args: &[&str]| succeeds(&repo, args);
    ok(&["render"]);
    ok(&["--env", "classroom", "bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let learner = learner_kubeconfig(dir.path());
    ok(&[
        "--env",
        "classroom",
        "classroom",
        "add",
        "nina",
        "--learner-kubeconfig",
        learner.to_str().unwrap(),
    ]);

    let held = ok(&["--env", "classroom", "classroom", "hold", "nina", "keda", "operator"]);
    let shown = text(&held);
    assert!(
        !shown.contains("moves its Application"),
        "keda has no Application in the classroom:\n{shown}"
    );
    assert!(
        shown.contains("note: `keda` is not enabled in classroom `classroom`"),
        "{shown}"
    );
    let hint = String::from_utf8_lossy(&held.stderr)
        .lines()
        .find_map(|line| {
            line.strip_prefix("hint: run `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no hint names a command:\n{shown}"));
    assert!(hint.ends_with(" --env classroom enable keda"), "{hint}");
    // The hint repeats `--repo`, which e2e::gitgen passes too: run it as printed.
    let words: Vec<&str> = hint.split(' ').collect();
    let output = logged(e2e::isolated::gitgen().args(&words[1..]), &words[1..]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        fs_err::read_to_string(repo.join("overlays/classroom/lessons.yaml"))
            .unwrap()
            .contains("\n  keda: "),
        "the hint enabled keda in the classroom"
    );
    let held_again = ok(&["--env", "classroom", "classroom", "hold", "nina", "keda", "operator"]);
    assert!(
        text(&held_again).contains("moves its Application"),
        "{}",
        text(&held_again)
    );
    ok(&["--env", "classroom", "classroom", "remove", "nina"]);
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG"]
fn adding_a_learner_before_the_classroom_is_bootstrapped_warns_until_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let config = repo.join("gitgen.yaml");
    let mut yaml = fs_err::read_to_string(&config).unwrap();
    // A classroom of its own name, so no other test has bootstrapped its root Application.
    yaml.push_str(&classroom::classroom_environment("NodePort", "late").replacen(
        "  classroom:\n",
        "  late-class:\n",
        1,
    ));
    fs_err::write(&config, yaml).unwrap();
    let ok = |args: &[&str]| succeeds(&repo, args);
    ok(&["render"]);
    // A root Application left by an earlier run of this test on the same cluster goes
    // first.
    let root = "late-class-gitgen-root";
    e2e::delete_application(root);
    // Argo CD itself is installed (the quick start's environment), the classroom not yet.
    ok(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let learner = learner_kubeconfig(dir.path());
    let add = [
        "--env",
        "late-class",
        "classroom",
        "add",
        "omar",
        "--learner-kubeconfig",
        learner.to_str().unwrap(),
    ];
    let shown = text(&ok(&add));
    assert!(
        shown.contains("warning: classroom `late-class` has no root Application"),
        "{shown}"
    );
    assert!(
        shown.contains(" --env late-class bootstrap` against this management cluster"),
        "{shown}"
    );
    // The hint's bootstrap, with the offline manifest that this machine needs.
    ok(&["--env", "late-class", "bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let again = text(&ok(&add));
    assert!(!again.contains("warning:"), "{again}");
    // A learner server on the loopback address is the management cluster itself to Argo CD.
    let loopback = text(&ok(
        &[&add[..], &["--learner-server", "https://127.0.0.1:6443"]].concat()
    ));
    assert!(
        loopback.contains("warning: `https://127.0.0.1:6443` is a loopback address"),
        "{loopback}"
    );
    ok(&["--env", "late-class", "classroom", "remove", "omar"]);
}

/// `gitgen ARGS` in `repo` against the e2e cluster, logged; fails the test unless it
/// succeeds.
#[track_caller]
fn succeeds(repo: &std::path::Path, args: &[&str]) -> std::process::Output {
    let output = logged(&mut e2e::gitgen(repo, args), args);
    assert!(output.status.success(), "{}", text(&output));
    output
}

/// A learner's kubeconfig in `dir` with a token user: `classroom add` reads it, and the
/// cluster it names never needs to answer (no controller runs on the management side).
fn learner_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let learner = dir.join("learner-kubeconfig");
    fs_err::write(
        &learner,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://learner.example:6443'}}]\n\
         users: [{name: u, user: {token: learner-token}}]\n\
         contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .unwrap();
    learner
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG"]
fn validate_server_after_a_fresh_bootstrap_waits_for_the_charts_that_bring_a_kind() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let ok = |args: &[&str]| succeeds(&repo, args);
    ok(&["enable", "keda"]);
    ok(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    // e2e_cluster applied KEDA's CRDs as its chart would; a cluster that has only been
    // bootstrapped serves none of them until Argo CD syncs the chart.
    let crds = ["scaledobjects.keda.sh", "triggerauthentications.keda.sh"];
    let deleted = e2e::kubectl(&[&["delete", "crd", "--ignore-not-found", "--wait"][..], &crds].concat());
    assert!(deleted.status.success(), "{}", text(&deleted));

    let shown = text(&ok(&["validate", "--server"]));
    for kind in ["ScaledObject", "TriggerAuthentication"] {
        assert!(
            shown.contains(&format!(
                "waiting: keda.sh/v1alpha1 {kind} (used by keda): chart `keda` of lesson `keda` brings it"
            )),
            "{shown}"
        );
    }
    assert!(
        shown.contains(" 0 kind(s) missing, 2 kind(s) waiting for their chart"),
        "{shown}"
    );

    let json = ok(&["validate", "--server", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report:#}");
    let waiting = report["waiting_for_charts"].as_array().unwrap();
    assert_eq!(waiting.len(), 2, "{report:#}");
    assert!(
        waiting
            .iter()
            .all(|w| w["chart"] == "keda" && w["chart_lesson"] == "keda"),
        "{report:#}"
    );

    // With the chart's CRDs at hand, its objects get a verdict from their schema while
    // their kinds still wait for the chart.
    let keda_crds = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds/keda");
    let checked = text(&ok(&["validate", "--server", "--crds", keda_crds]));
    assert!(
        checked.contains(
            "waiting: keda.sh/v1alpha1 ScaledObject (used by keda): chart `keda` of lesson `keda` brings it; the cluster serves it once Argo CD syncs `keda-keda`; its objects got their verdict from the chart's CRD schema meanwhile"
        ),
        "{checked}"
    );
    assert!(!checked.contains(" 0 passed their CRD schema"), "{checked}");

    // A kind no enabled chart brings stays an error.
    let lesson = repo.join("catalog/keda/lesson.yaml");
    let yaml = fs_err::read_to_string(&lesson).unwrap();
    let without: String = yaml
        .lines()
        .filter(|line| !line.trim_start().starts_with("crds: "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(yaml, without, "the keda chart lists its CRDs");
    fs_err::write(&lesson, without).unwrap();
    let args = ["validate", "--server"];
    let missing = logged(&mut e2e::gitgen(&repo, &args), &args);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing)
            .contains("missing kind: keda.sh/v1alpha1 ScaledObject (used by keda): no enabled chart brings it"),
        "{}",
        text(&missing)
    );
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG"]
fn validate_server_after_a_fresh_bootstrap_waits_for_the_application_that_installs_argo_rollouts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let ok = |args: &[&str]| succeeds(&repo, args);
    ok(&["enable", "argo-rollouts"]);
    ok(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    // The argocd lesson's Application `argo-rollouts-controller` installs these CRDs with
    // its chart; a cluster that has only been bootstrapped serves none of them.
    let crds = ["rollouts.argoproj.io", "analysistemplates.argoproj.io"];
    let deleted = e2e::kubectl(&[&["delete", "crd", "--ignore-not-found", "--wait"][..], &crds].concat());
    assert!(deleted.status.success(), "{}", text(&deleted));

    let shown = text(&ok(&["validate", "--server"]));
    for kind in ["Rollout", "AnalysisTemplate"] {
        assert!(
            shown.contains(&format!(
                "waiting: argoproj.io/v1alpha1 {kind} (used by argo-rollouts): chart `argo-rollouts` of lesson `argocd` brings it; the cluster serves it once Argo CD syncs `argo-rollouts-controller`; its objects got their verdict from the chart's CRD schema meanwhile"
            )),
            "{shown}"
        );
    }
    assert!(shown.contains(" 0 rejected, 0 kind(s) missing"), "{shown}");
    let json = ok(&["validate", "--server", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report:#}");
    let from_rollouts: Vec<&serde_json::Value> = report["waiting_for_charts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["application"] == "argo-rollouts-controller")
        .collect();
    assert_eq!(from_rollouts.len(), 2, "{report:#}");
    assert!(
        from_rollouts
            .iter()
            .all(|w| w["chart"] == "argo-rollouts" && w["chart_lesson"] == "argocd" && w["schema_checked"] == true),
        "{report:#}"
    );

    // A bad field of the Rollout gets its verdict from the chart's CRD schema.
    let rollout = repo.join("catalog/argo-rollouts/bluegreen-rollout.yaml");
    let good = fs_err::read_to_string(&rollout).unwrap();
    let bad = good.replacen("revisionHistoryLimit: 1\n", "revisionHistoryLimit: one\n", 1);
    assert_ne!(good, bad, "the Rollout sets revisionHistoryLimit");
    fs_err::write(&rollout, bad).unwrap();
    ok(&["render"]);
    let args = ["validate", "--server"];
    let rejected = logged(&mut e2e::gitgen(&repo, &args), &args);
    assert_eq!(rejected.status.code(), Some(1), "{}", text(&rejected));
    assert!(
        text(&rejected).contains(
            "rejected: argo-rollouts generated/argo-rollouts/automatic/bluegreen-rollout.yaml: Rollout bluegreen-demo: spec.revisionHistoryLimit: expected integer, found string (checked against its CRD schema"
        ),
        "{}",
        text(&rejected)
    );
    fs_err::write(&rollout, good).unwrap();
    ok(&["render"]);

    // A kind nobody brings stays an error.
    let lesson = repo.join("catalog/argocd/lesson.yaml");
    let yaml = fs_err::read_to_string(&lesson).unwrap();
    let (kept, declared) = yaml
        .split_once("  application_crds:\n")
        .expect("argocd declares application_crds");
    let after = declared
        .split_once("\nrequires:")
        .expect("requires follows argocd_objects")
        .1;
    fs_err::write(&lesson, format!("{kept}\nrequires:{after}")).unwrap();
    let missing = logged(&mut e2e::gitgen(&repo, &args), &args);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing)
            .contains("missing kind: argoproj.io/v1alpha1 Rollout (used by argo-rollouts): no enabled chart brings it"),
        "{}",
        text(&missing)
    );
}
