//! A classroom environment without a cluster: the refusals that come before any request,
//! and the status grid when the management cluster is away.
//! The cluster side is `tests/e2e_classroom.rs`.

use crate::classroom_env::classroom_environment;
use crate::support::{Repo, check};

fn classroom_repo() -> Repo {
    let repo = Repo::fixture("small");
    let config = repo.read("gitgen.yaml");
    repo.write(
        "gitgen.yaml",
        &format!("{config}{}", classroom_environment("NodePort", "classroom")),
    );
    repo.write("overlays/classroom/lessons.yaml", "lessons:\n  alpha: pod\n");
    repo
}

/// A kubeconfig whose only user runs an exec plugin.
const EXEC_KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://learner.example'}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
";

#[test]
fn classroom_commands_refuse_a_single_cluster_environment() {
    let repo = classroom_repo();
    let run = repo.gitgen(&["--env", "kind", "classroom", "list"]);
    check(&run, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn add_refuses_an_exec_plugin_user_before_talking_to_any_cluster() {
    let repo = classroom_repo();
    repo.write("learner.kubeconfig", EXEC_KUBECONFIG);
    let learner = repo.path().join("learner.kubeconfig");
    let run = repo.gitgen_with_env(
        &[
            "--env",
            "classroom",
            "classroom",
            "add",
            "alice",
            "--learner-kubeconfig",
            learner.to_str().unwrap(),
        ],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    check(&run, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn add_refuses_a_stage_hold_of_an_unknown_lesson() {
    let repo = classroom_repo();
    let run = repo.gitgen(&[
        "--env",
        "classroom",
        "classroom",
        "add",
        "alice",
        "--learner-kubeconfig",
        "unused",
        "--label",
        "stage.gitgen.io/alpah=pod",
    ]);
    check(&run, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn add_refuses_a_learner_whose_generated_application_names_would_pass_63_characters() {
    let repo = classroom_repo();
    // `<lesson>-<chart>-classroom-<learner>`: the fixture's longest is beta's chart `kps`.
    let room = 63 - "beta-kps-classroom-".len();
    let run = repo.gitgen_with_env(
        &[
            "--env",
            "classroom",
            "classroom",
            "add",
            &"a".repeat(room + 1),
            "--learner-kubeconfig",
            "unused",
        ],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    check(&run, 2);
    assert!(
        run.stderr.contains("64 characters, over the 63 of a DNS label")
            && run.stderr.contains(&format!(
                "hint: use a learner name of at most {room} characters: the longest lesson, `beta`"
            )),
        "{}",
        run.transcript()
    );
    // One character less gets past the name, to the (missing) learner kubeconfig.
    let run = repo.gitgen_with_env(
        &[
            "--env",
            "classroom",
            "classroom",
            "add",
            &"a".repeat(room),
            "--learner-kubeconfig",
            "unused",
        ],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    check(&run, 2);
    assert!(
        run.stderr.contains("the learner's kubeconfig `unused`"),
        "{}",
        run.transcript()
    );
}

#[test]
fn status_of_a_classroom_without_its_cluster_shows_the_lessons_and_says_why() {
    let repo = classroom_repo();
    let run = repo.gitgen_with_env(
        &["--env", "classroom", "status"],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    check(&run, 0);
    assert_eq!(
        run.stdout,
        "LEARNER  alpha\n0 learner(s) x 1 lesson(s): 0 of 0 cell(s) Synced and Healthy\n"
    );
    assert!(
        run.stderr.starts_with("Incomplete: cannot load the kubeconfig"),
        "{}",
        run.transcript()
    );
    let json = repo.gitgen_with_env(
        &["--env", "classroom", "status", "-o", "json"],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    check(&json, 0);
    let grid: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(grid["classroom"], true);
    assert_eq!(grid["cluster"]["reachable"], false);
    assert_eq!(
        grid["lessons"],
        serde_json::json!([{"lesson": "alpha", "stage": "pod"}])
    );
    assert_eq!(grid["learners"], serde_json::json!([]));
}
