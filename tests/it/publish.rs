//! `gitgen publish`: the toggle change and the rendered tree, committed and pushed to a
//! real bare repository.

use std::path::Path;

use crate::support::Repo;

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = crate::isolated::command("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git is required for these tests: {e}"));
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The small fixture, rendered and committed, with a bare `origin` beside it.
pub(crate) fn published_fixture() -> (Repo, tempfile::TempDir) {
    let repo = Repo::fixture("small");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  # alpha: service\n");
    repo.gitgen(&["render"]).expect(0);
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--bare", "-q", "-b", "main"]);
    let root = repo.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Trainer"]);
    git(root, &["config", "user.email", "trainer@example.com"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "course"]);
    git(root, &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    git(root, &["push", "-q", "origin", "main"]);
    (repo, remote)
}

#[test]
fn publish_pushes_the_toggle_change_and_the_rendered_tree_on_a_branch() {
    let (repo, remote) = published_fixture();
    repo.gitgen(&["enable", "alpha"]).expect(0);
    repo.write("notes.txt", "not gitgen's\n");
    let run = repo.gitgen(&["publish", "--branch", "lesson/alpha", "--push", "origin"]);
    run.expect(0);
    assert!(
        run.stdout.contains("Pushed `lesson/alpha` to `origin`"),
        "{}",
        run.transcript()
    );

    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &[
            "clone",
            "-q",
            "-b",
            "lesson/alpha",
            remote.path().to_str().unwrap(),
            "c",
        ],
    );
    let cloned = clone.path().join("c");
    assert_eq!(
        git(&cloned, &["log", "-1", "--format=%s"]).trim(),
        "gitgen: enable alpha (service) in docker-desktop"
    );
    let changed = git(&cloned, &["diff", "--name-only", "origin/main", "HEAD"]);
    let mut changed: Vec<&str> = changed.lines().collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            "argocd/docker-desktop/apps/alpha.application.yaml",
            "argocd/docker-desktop/apps/kustomization.yaml",
            "gitgen.lock",
            "overlays/docker-desktop/alpha/README.md",
            "overlays/docker-desktop/alpha/kustomization.yaml",
            "overlays/docker-desktop/lessons.yaml",
        ]
    );
    assert!(
        !cloned.join("notes.txt").exists(),
        "files outside gitgen's paths are never committed"
    );
}

#[test]
fn publish_refuses_a_stale_tree() {
    let (repo, _remote) = published_fixture();
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: pod\n");
    let run = repo.gitgen(&["publish", "--branch", "lesson/alpha"]);
    run.expect(2);
    assert!(
        run.stderr.contains("M overlays/docker-desktop/alpha")
            || run.stderr.contains("A overlays/docker-desktop/alpha"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("hint: run `gitgen render`"), "{}", run.transcript());
}

#[test]
fn publish_refuses_hand_edits_in_rendered_files_and_lists_them() {
    let (repo, _remote) = published_fixture();
    repo.gitgen(&["enable", "alpha"]).expect(0);
    repo.write("generated/alpha/pod/extra.yaml", "apiVersion: v1\n");
    let run = repo.gitgen(&["publish", "--branch", "b"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert!(
        !run.stderr.contains("--include-local-changes"),
        "publish never commits a tree that fails `render --check`\n{}",
        run.transcript()
    );
    let refused = repo.gitgen(&["publish", "--branch", "b", "--include-local-changes"]);
    refused.expect(2);
    assert!(
        !repo.path().join(".git/refs/heads/b").exists(),
        "{}",
        refused.transcript()
    );
}

#[test]
fn publish_after_the_hinted_render_commits_a_tree_that_passes_render_check() {
    let (repo, _remote) = published_fixture();
    // What the quick start does: edit `gitgen.yaml`, then publish.
    let config = repo.read("gitgen.yaml");
    repo.write(
        "gitgen.yaml",
        &config.replace(
            "https://github.com/example/course.git",
            "https://github.com/you/course.git",
        ),
    );
    let refused = repo.gitgen(&["publish", "--branch", "b"]);
    refused.expect(2);
    for words in refused.hinted_commands() {
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        repo.gitgen(&args).expect(0);
    }
    repo.gitgen(&["publish", "--branch", "b"]).expect(0);
    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", "--branch", "b", repo.path().to_str().unwrap(), "c"],
    );
    let cloned = clone.path().join("c");
    repo.gitgen(&["--repo", cloned.to_str().unwrap(), "render", "--check"])
        .expect(0);
}

#[test]
fn a_failed_push_keeps_the_commit_and_never_prints_the_token() {
    let (repo, _remote) = published_fixture();
    repo.gitgen(&["enable", "alpha"]).expect(0);
    let root = repo.path();
    // Nothing listens on port 9 of the loopback address.
    git(root, &["remote", "add", "dead", "http://127.0.0.1:9/course.git"]);
    let token = "ghp_publishTestToken0123456789abcdefghij";
    let output = crate::isolated::gitgen()
        .args(["publish", "--branch", "lesson/alpha", "--push", "dead"])
        .current_dir(root)
        .env("GITGEN_GIT_TOKEN", token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(token) && !String::from_utf8_lossy(&output.stdout).contains(token));
    assert!(stderr.contains("hint:"), "{stderr}");
    git(root, &["rev-parse", "--verify", "lesson/alpha"]);
    for (path, text) in repo.tree() {
        assert!(!text.contains(token), "the token landed in {path}");
    }
    assert!(
        !fs_err::read_to_string(root.join(".git/config"))
            .unwrap()
            .contains(token)
    );
}

/// A repo made by `gitgen init`, with an identity and a bare `origin` holding `main`.
fn initialised_with_origin() -> (Repo, tempfile::TempDir) {
    let repo = Repo::init();
    let root = repo.path();
    git(root, &["config", "user.name", "Trainer"]);
    git(root, &["config", "user.email", "trainer@example.com"]);
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--bare", "-q", "-b", "main"]);
    git(root, &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    git(root, &["push", "-q", "origin", "main"]);
    (repo, remote)
}

#[test]
fn init_commits_the_new_repo_so_it_starts_clean() {
    let (repo, _remote) = initialised_with_origin();
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
    let subject = git(repo.path(), &["log", "-1", "--format=%s"]);
    assert_eq!(
        subject.trim(),
        "gitgen init: the built-in course, rendered for every environment"
    );
}

#[test]
fn a_fresh_clone_of_the_published_branch_passes_render_check() {
    let (repo, remote) = initialised_with_origin();
    // What a trainer changes besides the toggle file: the repo URL and a lesson.
    let config = repo.read("gitgen.yaml").replace(
        "https://github.com/example/course.git",
        "https://github.com/example/moved.git",
    );
    repo.write("gitgen.yaml", &config);
    let walkthrough = repo.read("catalog/keda/README.md.j2") + "\nOne more line from the trainer.\n";
    repo.write("catalog/keda/README.md.j2", &walkthrough);
    repo.gitgen(&["enable", "keda"]).expect(0);
    repo.gitgen(&["render"]).expect(0);

    let run = repo.gitgen(&["publish", "--branch", "lesson/keda", "--push", "origin"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript().replace(&run.stdout[10..22], "[COMMIT]"));
    assert_eq!(
        git(repo.path(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/lesson/keda"
    );
    assert_eq!(
        git(repo.path(), &["status", "--porcelain"]),
        "",
        "the working tree is as publish says"
    );

    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", "-b", "lesson/keda", remote.path().to_str().unwrap(), "c"],
    );
    let cloned = clone.path().join("c");
    let check = crate::isolated::gitgen()
        .args(["render", "--check", "--full"])
        .current_dir(&cloned)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_push_to_a_missing_remote_commits_nothing_and_leaves_head_on_main() {
    let (repo, _remote) = initialised_with_origin();
    repo.gitgen(&["enable", "keda"]).expect(0);
    let main = git(repo.path(), &["rev-parse", "main"]);
    let run = repo.gitgen(&["publish", "--branch", "lesson/keda", "--push", "upstream"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(git(repo.path(), &["rev-parse", "main"]), main);
    assert_eq!(git(repo.path(), &["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    assert_eq!(git(repo.path(), &["branch", "--list", "lesson/keda"]), "");
    assert!(repo.read("overlays/docker-desktop/lessons.yaml").contains("\n  keda: "));
}
