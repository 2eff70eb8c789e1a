//! What the runner hands a spawned gitgen or git: only the variables a test sets, so a
//! developer's `KUBECONFIG`, `~/.gitconfig`, `GITGEN_*` or `GIT_*` settings can make no
//! test pass. The machines these tests run on (a developer's, CI's) have a global git
//! identity, which is exactly what would let an identity-less publish pass by accident.

use std::collections::BTreeSet;

use crate::isolated::{INHERITED, command, empty_home};
use crate::support::{Repo, check};

#[test]
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn a_spawned_process_sees_only_what_its_test_sets_and_an_empty_home() {
    let output = command("env")
        .arg("-0")
        .env("GITGEN_ENV", "kind")
        .output()
        .expect("running env");
    assert!(output.status.success());
    let seen: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
        .collect();
    let mut expected: BTreeSet<String> = INHERITED
        .iter()
        .filter(|name| std::env::var_os(name).is_some())
        .map(|name| (*name).to_owned())
        .collect();
    expected.extend(["HOME", "GIT_CONFIG_NOSYSTEM", "GITGEN_ENV"].map(str::to_owned));
    assert_eq!(seen, expected);
    assert_eq!(
        fs_err::read_dir(empty_home()).unwrap().count(),
        0,
        "a test wrote into the shared home"
    );
}

#[test]
fn init_without_a_git_identity_commits_as_gitgen_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("course");
    let output = crate::isolated::gitgen()
        .args(["init", root.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("note: git has no identity configured"), "{stderr}");
    let author = command("git")
        .args(["log", "-1", "--format=%an <%ae>"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&author.stdout).trim(),
        format!("{} <{}>", gitgen::git::FALLBACK_NAME, gitgen::git::FALLBACK_EMAIL)
    );
}

#[test]
fn publish_without_a_git_identity_is_refused_with_a_hint() {
    let repo = Repo::init();
    repo.gitgen(&["enable", "keda"]).expect(0);
    let run = repo.gitgen(&["publish", "--branch", "lesson/keda"]);
    check(&run, 2);
    assert!(
        run.stderr.contains("hint: set one with `git config user.name"),
        "{}",
        run.transcript()
    );
}
