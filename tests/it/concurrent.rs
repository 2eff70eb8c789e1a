//! Two gitgen processes on one repo at once, as two terminals (or an editor's render on
//! save and a trainer's command) start them: each pair must end as one of the orders of
//! running them one after the other, never as a mix. Which one takes the process lock
//! first varies from round to round.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Output, Stdio};

use crate::support::Repo;

/// Rounds per pair, each on a fresh repo.
const ROUNDS: usize = 4;
const TOGGLE: &str = "overlays/docker-desktop/lessons.yaml";

fn start(repo: &Repo, args: &[&str]) -> Child {
    crate::isolated::gitgen()
        .args(args)
        .current_dir(repo.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting gitgen")
}

/// Starts both commands together and waits for both.
fn at_once(repo: &Repo, first: &[&str], second: &[&str]) -> (Output, Output) {
    let (a, b) = (start(repo, first), start(repo, second));
    (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The small fixture rendered with `beta` off, then `alpha`'s template changed, so a
/// render has work to do and `enable beta` a line to add.
fn stale_fixture() -> Repo {
    let repo = Repo::fixture("small");
    repo.write(TOGGLE, "lessons:\n  alpha: service\n  # beta:\n");
    repo.gitgen(&["render"]).expect(0);
    let pod = repo.read("catalog/alpha/pod.yaml");
    repo.write("catalog/alpha/pod.yaml", &pod.replacen("name: ", "name: changed-", 1));
    repo
}

/// The tree after `commands` ran one after the other on a fresh [`stale_fixture`].
fn serially(commands: &[&[&str]]) -> BTreeMap<String, String> {
    let repo = stale_fixture();
    for args in commands {
        repo.gitgen(args).expect(0);
    }
    repo.tree()
}

#[test]
fn render_and_enable_at_once_end_as_one_then_the_other() {
    const RENDER: &[&str] = &["render"];
    const ENABLE: &[&str] = &["enable", "beta"];
    let serial = [serially(&[RENDER, ENABLE]), serially(&[ENABLE, RENDER])];
    for round in 0..ROUNDS {
        let repo = stale_fixture();
        let (render, enable) = at_once(&repo, RENDER, ENABLE);
        assert_eq!(render.status.code(), Some(0), "round {round}: {}", text(&render));
        assert_eq!(enable.status.code(), Some(0), "round {round}: {}", text(&enable));
        let tree = repo.tree();
        assert!(
            serial.contains(&tree),
            "round {round}: the tree is neither render then enable nor enable then render"
        );
        assert!(!repo.exists(".gitgen/txn"), "round {round}: a transaction was left");
    }
}

fn git(dir: &Path, args: &[&str]) -> Output {
    crate::isolated::command("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is required for these tests")
}

#[track_caller]
fn git_ok(dir: &Path, args: &[&str]) -> String {
    let output = git(dir, args);
    assert!(output.status.success(), "git {args:?}: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn render_and_publish_at_once_end_as_one_then_the_other() {
    const BRANCH: &str = "lesson/changed";
    let rendered = serially(&[&["render"]]);
    for round in 0..ROUNDS {
        let repo = stale_fixture();
        let root = repo.path();
        git_ok(root, &["init", "-q", "-b", "main"]);
        git_ok(root, &["config", "user.name", "Trainer"]);
        git_ok(root, &["config", "user.email", "trainer@example.com"]);
        git_ok(root, &["add", "-A"]);
        git_ok(root, &["commit", "-q", "-m", "course"]);
        let (render, publish) = at_once(&repo, &["render"], &["publish", "--branch", BRANCH]);
        assert_eq!(render.status.code(), Some(0), "round {round}: {}", text(&render));
        assert_eq!(repo.tree(), rendered, "round {round}: render's tree");
        match publish.status.code() {
            // Publish went first and found the tree stale: nothing committed.
            Some(2) => {
                assert!(text(&publish).contains("hint: "), "round {round}: {}", text(&publish));
                assert!(
                    !git(root, &["rev-parse", "--verify", "-q", BRANCH]).status.success(),
                    "round {round}: a refused publish left a branch"
                );
            }
            // Render went first: the commit holds the whole new tree.
            Some(0) => {
                for (path, content) in &rendered {
                    let committed = git_ok(root, &["show", &format!("{BRANCH}:{path}")]);
                    assert_eq!(&committed, content, "round {round}: `{path}` as published");
                }
            }
            _ => panic!("round {round}: {}", text(&publish)),
        }
        assert!(!repo.exists(".gitgen/txn"), "round {round}: a transaction was left");
    }
}
