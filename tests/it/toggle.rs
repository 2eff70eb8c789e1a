//! `gitgen enable` and `gitgen disable`: the toggle file and the tree change together.

use crate::support::Repo;

fn fixture_without_toggles() -> Repo {
    let repo = Repo::fixture("small");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  # alpha: service\n");
    repo.gitgen(&["render"]).expect(0);
    repo
}

#[test]
fn enable_adds_what_the_lesson_requires_and_renders() {
    let repo = fixture_without_toggles();
    let run = repo.gitgen(&["enable", "beta"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(
        repo.read("overlays/docker-desktop/lessons.yaml"),
        "lessons:\n  alpha: service\n  beta: install\n"
    );
    assert!(repo.exists("argocd/docker-desktop/apps/beta-kps.application.yaml"));
    repo.gitgen(&["render", "--check"]).expect(0);
}

#[test]
fn enable_moves_a_lesson_to_another_stage_in_one_line() {
    let repo = fixture_without_toggles();
    repo.gitgen(&["enable", "alpha"]).expect(0);
    let run = repo.gitgen(&["enable", "alpha", "--stage", "pod"]);
    run.expect(0);
    assert!(
        run.stdout.contains("~ alpha: stage service → pod"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        repo.read("overlays/docker-desktop/lessons.yaml"),
        "lessons:\n  alpha: pod\n"
    );
    assert!(
        repo.read("overlays/docker-desktop/alpha/kustomization.yaml")
            .contains("generated/alpha/pod")
    );
}

#[test]
fn disable_refuses_while_an_enabled_lesson_requires_it() {
    let repo = fixture_without_toggles();
    repo.gitgen(&["enable", "beta"]).expect(0);
    let run = repo.gitgen(&["disable", "alpha"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    let run = repo.gitgen(&["disable", "alpha", "--cascade"]);
    run.expect(0);
    assert_eq!(
        repo.read("overlays/docker-desktop/lessons.yaml"),
        "lessons:\n  # alpha: service\n  # beta: install\n"
    );
    assert!(!repo.exists("argocd/docker-desktop/apps/beta.application.yaml"));
    assert!(!repo.exists("overlays/docker-desktop/alpha"));
}

#[test]
fn a_render_failure_leaves_the_toggle_file_as_it_was() {
    let repo = fixture_without_toggles();
    repo.write("catalog/beta/cm.yaml", "{% if %}\n");
    let before = repo.read("overlays/docker-desktop/lessons.yaml");
    repo.gitgen(&["enable", "beta"]).expect(2);
    assert_eq!(repo.read("overlays/docker-desktop/lessons.yaml"), before);
    assert!(!repo.exists("argocd/docker-desktop/apps/alpha.application.yaml"));
}

#[test]
fn unknown_lessons_and_stages_get_the_closest_name() {
    let repo = fixture_without_toggles();
    let run = repo.gitgen(&["enable", "alpah"]);
    run.expect(2);
    assert!(run.stderr.contains("did you mean `alpha`"), "{}", run.transcript());
    let run = repo.gitgen(&["enable", "alpha", "--stage", "servce"]);
    run.expect(2);
    assert!(
        run.stderr.contains("its stages are: pod, service"),
        "{}",
        run.transcript()
    );
}

#[test]
fn diff_shows_what_render_would_change_and_exits_1() {
    let repo = fixture_without_toggles();
    repo.gitgen(&["diff"]).expect(0);
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: pod\n");
    let run = repo.gitgen(&["diff"]);
    run.expect(1);
    assert!(
        run.stdout
            .contains("+++ b/overlays/docker-desktop/alpha/kustomization.yaml"),
        "{}",
        run.transcript()
    );
    assert!(
        run.stdout.contains("+- ../../../generated/alpha/pod"),
        "{}",
        run.transcript()
    );
    assert!(!run.stdout.contains("\x1b["), "no colour when stdout is not a terminal");
    assert!(!repo.exists("overlays/docker-desktop/alpha"), "diff writes nothing");
}

#[test]
fn diff_json_labels_files_render_would_add_a_and_files_it_would_remove_d() {
    let repo = fixture_without_toggles();
    let statuses = |repo: &Repo| {
        let run = repo.gitgen(&["diff", "-o", "json"]);
        run.expect(1);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let files = report["files"].as_array().unwrap().clone();
        files
            .iter()
            .map(|file| {
                (
                    file["path"].as_str().unwrap().to_owned(),
                    file["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let kustomization = "overlays/docker-desktop/alpha/kustomization.yaml";
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: pod\n");
    assert_eq!(statuses(&repo)[kustomization], "A");
    repo.gitgen(&["render"]).expect(0);
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons: {}\n");
    assert_eq!(statuses(&repo)[kustomization], "D");
}

#[test]
fn lesson_prints_the_walkthrough_with_the_environments_urls() {
    let repo = fixture_without_toggles();
    let run = repo.gitgen(&["lesson", "alpha"]);
    run.expect(0);
    assert_eq!(
        run.stdout,
        "# Alpha pods\n\nOpen http://localhost:8000 (docker-desktop).\n"
    );
    let run = repo.gitgen(&["--env", "kind", "lesson", "alpha", "--stage", "pod"]);
    run.expect(0);
    assert!(run.stdout.contains("(kind)"), "{}", run.transcript());
}
