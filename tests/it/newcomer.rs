//! A newcomer's first hour on the built-in course (issue 26): every hint names a command
//! that works when it is run as printed.

use crate::classroom_env::classroom_environment;
use crate::publish::git;
use crate::support::{Repo, Run};

/// Runs each command `run`'s hints name, in order, and fails on the first that fails.
#[track_caller]
fn run_the_hints(repo: &Repo, run: &Run) -> Vec<Run> {
    run.hinted_commands()
        .iter()
        .map(|words| {
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let hinted = repo.gitgen(&args);
            assert_eq!(
                hinted.code,
                0,
                "the hint `gitgen {}` failed\n{}",
                words.join(" "),
                hinted.transcript()
            );
            hinted
        })
        .collect()
}

/// Enables `lessons` in the environment `env` names, then `pods-probes-services`, which
/// conflicts with `argocd`; runs the refusal's hints, and returns the refusal's transcript
/// and the toggle file after the hints, which must enable `pods-probes-services`.
#[track_caller]
fn switch_to_pods_probes_services(env: &[&str; 2], lessons: &[&str]) -> (String, String) {
    let repo = Repo::init();
    for lesson in lessons {
        repo.gitgen(&[env[0], env[1], "enable", lesson]).expect(0);
    }
    let refused = repo.gitgen(&[env[0], env[1], "enable", "pods-probes-services"]);
    refused.expect(2);
    run_the_hints(&repo, &refused);
    let toggles = repo.read(&format!("overlays/{}/lessons.yaml", env[1]));
    assert!(toggles.contains("\n  pods-probes-services: "), "{toggles}");
    (refused.transcript(), toggles)
}

#[test]
fn a_conflict_hint_disables_the_enabled_lesson_and_then_enables_the_new_one() {
    let (refused, toggles) = switch_to_pods_probes_services(&["--env", "docker-desktop"], &["argocd"]);
    insta::assert_snapshot!(refused);
    assert!(toggles.contains("\n  # argocd: "), "{toggles}");
}

#[test]
fn a_conflict_hint_says_which_lessons_disabling_the_enabled_one_strands() {
    // `argo-rollouts` requires `argocd`, so disabling `argocd` takes it along.
    let (refused, toggles) = switch_to_pods_probes_services(&["--env", "kind"], &["argocd", "istio", "argo-rollouts"]);
    insta::assert_snapshot!(refused);
    assert!(toggles.contains("\n  # argo-rollouts: "), "{toggles}");
}

#[test]
fn disabling_a_lesson_hints_only_at_requirements_nothing_else_needs() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "argocd"]).expect(0);
    repo.gitgen(&["enable", "istio"]).expect(0);
    let run = repo.gitgen(&["disable", "argocd"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript());
    assert!(!run.stderr.contains("hint:"), "{}", run.transcript());
    let run = repo.gitgen(&["disable", "istio"]);
    run.expect(0);
    assert!(run.stderr.contains("`monitoring`"), "{}", run.transcript());
    run_the_hints(&repo, &run);
}

#[test]
fn a_hand_edited_conflict_hint_names_both_lines_and_render_then_passes() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "argocd"]).expect(0);
    let toggles = repo.read("overlays/docker-desktop/lessons.yaml");
    repo.write(
        "overlays/docker-desktop/lessons.yaml",
        &toggles.replace("  # pods-probes-services:", "  pods-probes-services:"),
    );
    let refused = repo.gitgen(&["render"]);
    refused.expect(2);
    insta::assert_snapshot!(refused.transcript());
    repo.write("overlays/docker-desktop/lessons.yaml", &toggles);
    run_the_hints(&repo, &refused);
}

#[test]
fn hints_carry_repo_and_env_so_they_run_from_another_folder() {
    let repo = Repo::init();
    let elsewhere = tempfile::tempdir().unwrap();
    let root = repo.path().to_str().unwrap();
    let gitgen = |args: &[&str]| {
        let output = crate::isolated::gitgen()
            .args(args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        Run::of(&repo, output)
    };
    gitgen(&["--repo", root, "--env", "kind", "enable", "argocd"]).expect(0);
    let refused = gitgen(&["--repo", root, "--env", "kind", "enable", "pods-probes-services"]);
    refused.expect(2);
    insta::assert_snapshot!(refused.transcript());
    for words in refused.hinted_commands() {
        assert_eq!(
            &words[..4],
            ["--repo", root, "--env", "kind"],
            "{}",
            refused.transcript()
        );
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        gitgen(&args).expect(0);
    }
    assert!(
        repo.read("overlays/kind/lessons.yaml")
            .contains("\n  pods-probes-services: ")
    );
}

#[test]
fn an_environment_added_to_gitgen_yaml_gets_its_toggle_file_at_the_next_render() {
    let repo = Repo::init();
    let config = repo.read("gitgen.yaml");
    repo.write(
        "gitgen.yaml",
        &format!("{config}{}", classroom_environment("NodePort", "spring")),
    );
    let stale = repo.gitgen(&["render", "--check"]);
    stale.expect(1);
    assert!(
        stale.stdout.contains("A overlays/classroom/lessons.yaml"),
        "{}",
        stale.transcript()
    );
    let render = repo.gitgen(&["render"]);
    render.expect(0);
    insta::assert_snapshot!(render.transcript());
    assert!(
        repo.read("overlays/classroom/lessons.yaml")
            .contains("\n  # deployments: "),
        "the starter lists every lesson, commented out"
    );
    repo.gitgen(&["render", "--check"]).expect(0);
    // The hint's enable, with a lesson for its placeholder.
    let enable = render
        .hinted_commands()
        .into_iter()
        .find(|words| words.contains(&"enable".to_owned()))
        .unwrap_or_else(|| panic!("no hint enables a lesson\n{}", render.transcript()));
    let args: Vec<&str> = enable
        .iter()
        .map(|word| if word == "LESSON" { "deployments" } else { word.as_str() })
        .collect();
    repo.gitgen(&args).expect(0);
    assert!(
        repo.read("overlays/classroom/lessons.yaml")
            .contains("\n  deployments: ")
    );
}

#[test]
fn status_watch_prints_the_table_again_only_when_it_changes() {
    let repo = Repo::init();
    // An API server nobody listens on: the git side and "unreachable" never change.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    fs_err::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .unwrap();
    let mut child = crate::isolated::gitgen()
        .args(["status", "--watch"])
        .current_dir(repo.path())
        .env("KUBECONFIG", &kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Three looks at 5-second intervals.
    std::thread::sleep(std::time::Duration::from_secs(12));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stdout.matches("LESSON").count(),
        1,
        "an unchanged table is printed once\n{stdout}\n{stderr}"
    );
    assert_eq!(stderr.matches("The cluster is unreachable").count(), 1, "{stderr}");
}

#[test]
fn publish_pushes_to_the_remotes_push_url_as_git_push_does() {
    let (repo, pushed) = crate::publish::published_fixture();
    let root = repo.path();
    // A remote that fetches from one place and pushes to another (`git remote set-url
    // --push`): here the fetch URL does not even exist.
    let fetch_only = root.join("../no-such-mirror.git");
    git(root, &["remote", "set-url", "origin", fetch_only.to_str().unwrap()]);
    git(
        root,
        &["remote", "set-url", "--push", "origin", pushed.path().to_str().unwrap()],
    );
    repo.gitgen(&["enable", "alpha"]).expect(0);
    let run = repo.gitgen(&["publish", "--branch", "lesson/alpha", "--push", "origin"]);
    run.expect(0);
    assert!(
        run.stdout.contains("Pushed `lesson/alpha` to `origin`"),
        "{}",
        run.transcript()
    );
    let branches = git(pushed.path(), &["branch", "--list", "lesson/alpha"]);
    assert!(branches.contains("lesson/alpha"), "the push URL got the branch");
}

#[test]
fn render_warns_that_argo_cd_needs_a_key_for_an_ssh_repo_url() {
    let repo = Repo::init();
    let config = repo.read("gitgen.yaml");
    let placeholder = config
        .lines()
        .find_map(|line| line.strip_prefix("repo_url: "))
        .unwrap()
        .to_owned();
    repo.write(
        "gitgen.yaml",
        &config.replace(&placeholder, "git@github.com:you/my-course.git"),
    );
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    let warned: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("SSH") || line.contains("sshPrivateKey"))
        .collect();
    insta::assert_snapshot!(warned.join("\n"));
    repo.write(
        "gitgen.yaml",
        &config.replace(&placeholder, "https://github.com/you/my-course.git"),
    );
    let https = repo.gitgen(&["render"]);
    https.expect(0);
    assert!(!https.stderr.contains("SSH"), "{}", https.transcript());
}

#[test]
fn help_gives_validates_exit_1_and_no_origin_default_for_init() {
    let repo = Repo::init();
    let help = repo.gitgen(&["--help"]);
    help.expect(0);
    assert!(
        help.stdout.contains("a problem (`validate`, `validate --server`)"),
        "{}",
        help.stdout
    );
    let init = repo.gitgen(&["init", "--help"]);
    init.expect(0);
    // `init` refuses a folder that is not empty, so it never reads an `origin` remote.
    assert!(!init.stdout.contains("origin"), "{}", init.stdout);
    assert!(init.stdout.contains("a placeholder to edit"), "{}", init.stdout);
}
