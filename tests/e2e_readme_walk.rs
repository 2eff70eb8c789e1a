//! End to end, on two real API servers: README.md's walk, run as a newcomer runs it (issue
//! 26). The shell blocks of "Quick start" (init, enable, diff, publish, bootstrap, status,
//! validate) and "Classroom" (its `gitgen.yaml` entry, then add, list, hold, release, remove
//! and status) are read from README.md, not copied here, and each command is run by `sh` as
//! written, with only what a reader substitutes substituted ([`Walk::substituted`]). Each
//! must exit 0. Every `hint:` a command prints that names a `gitgen …` command is run too
//! and must exit 0, and it must carry the `--env` of the command that printed it when it
//! acts on one environment.
//!
//! `#[ignore]`d like the rest of the e2e tier; `.ci/run` runs it with the management cluster
//! (`GITGEN_E2E_KUBECONFIG`, the reader's kubectl context) and a learner's
//! (`GITGEN_E2E_LEARNER_KUBECONFIG`, `alice.kubeconfig`):
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/a/kubeconfig GITGEN_E2E_LEARNER_KUBECONFIG=/tmp/b/kubeconfig \
//!   cargo test --locked --test e2e_readme_walk -- --ignored
//! ```
//!
//! No node runs Argo CD's controllers, so the test stands in for the application
//! controller where the README waits for it (`bootstrap --wait`), and removes the
//! Applications it made when it ends, however it ends: the other e2e tests expect none.

#[allow(dead_code)]
#[path = "support/e2e.rs"]
mod e2e;
#[path = "support/git_daemon.rs"]
mod git_daemon;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{INSTALL_YAML, isolated, text};
use serde_json::{Value, json};

const README: &str = include_str!("../README.md");
/// The CRD manifests at hand, the `DIR` of `validate --crds DIR`.
const SHARED_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds");
/// Where the quick start puts the course; the walk puts it in its temporary folder.
const README_COURSE: &str = "/tmp/my-course";
/// The quick start's remote, on a forge the test cannot reach.
const README_REMOTE: &str = "git@github.com:you/my-course.git";
/// Subcommands that act on one environment (README, "Daily workflow"): a hint naming one
/// must carry `--env` when the command that printed it had a non-default one.
const ONE_ENVIRONMENT: &[&str] = &[
    "enable",
    "disable",
    "lesson",
    "status",
    "bootstrap",
    "validate",
    "classroom",
    "serve",
];

/// The shell blocks (and other fenced blocks) of the README section headed `## {title}`,
/// in order, each as its language and lines.
fn blocks(title: &str) -> Vec<(String, Vec<String>)> {
    let heading = format!("## {title}\n");
    let start = README
        .find(&heading)
        .unwrap_or_else(|| panic!("README.md has no section `## {title}`"))
        + heading.len();
    let section = README[start..].split("\n## ").next().unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in section.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(lang), None) => open = Some((lang.to_owned(), Vec::new())),
            (None, Some((lang, mut lines))) => {
                lines.push(line.to_owned());
                open = Some((lang, lines));
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in `## {title}`");
    assert!(!blocks.is_empty(), "`## {title}` has no code block");
    blocks
}

/// A README line split into its command and its comment (after ` #`).
fn command_and_comment(line: &str) -> (&str, &str) {
    match line.find(" #") {
        Some(at) => (line[..at].trim(), line[at + 2..].trim()),
        None => (line.trim(), ""),
    }
}

/// `command` without its optional parts (`[--label team=blue]`), and with them when it
/// has any that end on their own (`--watch` follows until interrupted, so a variant with
/// it is not run).
fn variants(command: &str) -> Vec<String> {
    let mut required = String::new();
    let mut everything = String::new();
    let mut optional: Option<String> = None;
    let mut has_optional = false;
    for c in command.chars() {
        match (c, optional.as_mut()) {
            ('[', None) => optional = Some(String::new()),
            (']', Some(part)) => {
                has_optional = true;
                if !part.split_whitespace().any(|w| w == "--watch") {
                    everything.push_str(part);
                }
                optional = None;
            }
            (c, Some(part)) => part.push(c),
            (c, None) => {
                required.push(c);
                everything.push(c);
            }
        }
    }
    let tidy = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut variants = vec![tidy(&required)];
    if has_optional && tidy(&everything) != variants[0] {
        variants.push(tidy(&everything));
    }
    variants
}

/// The words of a command line as gitgen writes them in a hint (single quotes at most).
fn words(command: &str) -> Vec<String> {
    command.split_whitespace().map(|w| w.replace('\'', "")).collect()
}

/// The value of `--env` in `words`, if any.
fn env_flag(words: &[String]) -> Option<&str> {
    words.windows(2).find(|w| w[0] == "--env").map(|w| w[1].as_str())
}

/// The subcommand of `gitgen …` words: the first word that is neither a flag nor the
/// value of `--env`, `--repo` or `--kubeconfig`.
fn subcommand(words: &[String]) -> Option<&str> {
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        if ["--env", "--repo", "--kubeconfig", "--context"].contains(&word.as_str()) {
            rest.next();
        } else if !word.starts_with('-') {
            return Some(word);
        }
    }
    None
}

/// The walk's state: where the reader is, their home and kubeconfig, and what ran.
struct Walk {
    /// The walk's temporary folder: the reader's `/tmp`.
    tmp: PathBuf,
    /// The reader's current folder.
    cwd: PathBuf,
    /// `HOME`: the reader's own, where `git config --global` writes their identity.
    home: PathBuf,
    /// A folder with `gitgen` in it, first on `PATH`: what `cargo install` gives.
    bin: PathBuf,
    /// The quick start's remote, served by the `git daemon`.
    remote_url: String,
    /// The learner's kubeconfig (`alice.kubeconfig`) and its context (`C`).
    learner_kubeconfig: PathBuf,
    learner_context: String,
    /// Hints already run (each distinct one once: the placeholder `repo_url` warning
    /// repeats its `gitgen render` after every command until the quick start sets it).
    hints_run: BTreeSet<String>,
    /// Every command run, for the failure messages.
    log: Vec<String>,
}

impl Walk {
    /// `line` with what a reader substitutes: their own paths and remote, the files
    /// they were given, and the offline install manifest for bootstrap.
    fn substituted(&self, line: &str) -> String {
        let course = self.tmp.join("my-course");
        let mut line = line
            .replace(README_COURSE, course.to_str().unwrap())
            .replace(README_REMOTE, &self.remote_url)
            .replace("--crds DIR", &format!("--crds {SHARED_CRDS}"))
            .replace("alice.kubeconfig", self.learner_kubeconfig.to_str().unwrap())
            .replace(
                "--learner-context C",
                &format!("--learner-context {}", self.learner_context),
            )
            .replace(
                "--argocd-manifest install.yaml",
                &format!("--argocd-manifest {INSTALL_YAML}"),
            );
        // `bootstrap` downloads upstream's install.yaml from GitHub, and tests never touch
        // the network: the reader's way without it is `--argocd-manifest` (the hint of
        // gitgen's download error), with the copy of the pinned release at hand.
        let words = words(&line);
        if words[0] == "gitgen" && subcommand(&words) == Some("bootstrap") && !line.contains("--argocd-manifest") {
            line.push_str(&format!(" --argocd-manifest {INSTALL_YAML}"));
        }
        line
    }

    /// `sh -c LINE` as the reader's shell runs it, from an empty environment plus theirs.
    // a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
    #[allow(clippy::disallowed_methods)]
    fn sh(&self, line: &str) -> Command {
        let mut command = isolated::command("sh");
        let path = std::env::join_paths(
            std::iter::once(self.bin.clone())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .unwrap();
        command
            .args(["-c", line])
            .current_dir(&self.cwd)
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("KUBECONFIG", e2e::management());
        command
    }

    /// Runs `line` (already substituted), logs it, and fails the test unless it exits 0.
    #[track_caller]
    fn run(&mut self, line: &str) -> Output {
        let output = self.sh(line).output().unwrap();
        self.log.push(line.to_owned());
        eprintln!("$ {line}\n{}", text(&output));
        assert!(
            output.status.success(),
            "`{line}` exited with {:?} in the README walk:\n{}",
            output.status.code(),
            text(&output)
        );
        output
    }

    /// Runs a gitgen `line`, then every hint it prints (and theirs, in turn).
    #[track_caller]
    fn gitgen(&mut self, line: &str) -> Output {
        let output = self.run(line);
        self.follow_hints(line, &output);
        output
    }

    /// Runs each `gitgen …` command that `output`'s `hint:` lines name in backticks, as
    /// printed (placeholders filled in as a reader fills them), after checking that it
    /// carries `printed_by`'s `--env` when it acts on one environment; and git's own
    /// `git config` hints, which set the reader's identity.
    #[track_caller]
    fn follow_hints(&mut self, printed_by: &str, output: &Output) {
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let hinted: Vec<String> = stderr
            .lines()
            .filter_map(|line| line.strip_prefix("hint: "))
            .flat_map(|hint| hint.split('`').skip(1).step_by(2))
            .filter(|code| code.starts_with("gitgen ") || code.starts_with("git config "))
            .map(str::to_owned)
            .collect();
        let printed_env = env_flag(&words(printed_by)).map(str::to_owned);
        for hint in hinted {
            let hint_words = words(&hint);
            if hint_words[0] == "gitgen"
                && let Some(env) = &printed_env
                && subcommand(&hint_words).is_some_and(|s| ONE_ENVIRONMENT.contains(&s))
            {
                assert_eq!(
                    env_flag(&hint_words),
                    Some(env.as_str()),
                    "`{printed_by}` printed a hint that drops its `--env {env}`: `{hint}`\n{stderr}"
                );
            }
            // The placeholders gitgen's hints leave to the reader: which lesson (the one
            // the README enables next) and which branch.
            let filled = hint
                .replace(" LESSON", " deployments")
                .replace(" BRANCH", " walk-hints");
            assert!(
                !filled
                    .split_whitespace()
                    .any(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase())),
                "a placeholder the walk cannot fill in `{hint}`"
            );
            let line = self.substituted(&filled);
            if self.hints_run.insert(line.clone()) {
                if hint_words[0] == "gitgen" {
                    self.gitgen(&line);
                } else {
                    self.run(&line);
                }
            }
        }
    }
}

/// The Applications the test made in Argo CD's stead, deleted when dropped (their
/// finalizer cleared first: no controller runs to clear it).
struct StandIns(Vec<String>);

impl Drop for StandIns {
    fn drop(&mut self) {
        for name in &self.0 {
            e2e::delete_application(name);
        }
    }
}

/// What Argo CD's application controller would do once bootstrap's root Application has
/// synced: the environment's Applications (`argocd/<env>/apps/*.application.yaml`)
/// created, each Synced and Healthy. Its status is written into the Application itself,
/// as the controller does (argo-cd `controller/appcontroller.go`, `persistAppStatus`,
/// merge-patches the Application; its CRD has no status subresource), here by a
/// server-side apply under the controller's field manager.
fn converge_as_argocd_would(repo: &Path, env: &str, scratch: &Path, made: &mut StandIns) {
    let apps = repo.join("argocd").join(env).join("apps");
    let mut files: Vec<PathBuf> = fs_err::read_dir(&apps)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_str().unwrap().ends_with(".application.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Application in `{}`", apps.display());
    for file in files {
        let yaml = fs_err::read_to_string(&file).unwrap();
        for mut application in gitgen::yaml::documents(&yaml, &file).unwrap() {
            let name = application["metadata"]["name"].as_str().unwrap().to_owned();
            application["status"] = json!({
                "sync": {"status": "Synced", "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
                "health": {"status": "Healthy"},
            });
            let path = scratch.join(format!("{name}.json"));
            fs_err::write(&path, application.to_string()).unwrap();
            // One an earlier test left, from another repo, would hold fields under
            // its own field manager: the walk starts from none, as a reader's cluster does.
            e2e::delete_application(&name);
            made.0.push(name);
            let applied = e2e::kubectl(&[
                "apply",
                "--server-side",
                "--field-manager",
                "argocd-application-controller",
                "-f",
                path.to_str().unwrap(),
            ]);
            assert!(applied.status.success(), "{}", text(&applied));
        }
    }
}

#[test]
#[ignore = "needs two real clusters: GITGEN_E2E_KUBECONFIG, GITGEN_E2E_LEARNER_KUBECONFIG"]
fn the_readme_walk_runs_as_written_and_every_hint_it_prints_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_owned();
    let home = tmp.join("home");
    let bin = tmp.join("bin");
    let served = tmp.join("forge");
    let scratch = tmp.join("scratch");
    for folder in [&home, &bin, &served, &scratch] {
        fs_err::create_dir_all(folder).unwrap();
    }
    // The quick start's remote: a bare repo on a `git daemon`, where `git@github.com:…` is.
    let bare = served.join("my-course.git");
    let init_bare = isolated::command("git")
        .args(["init", "--quiet", "--bare", bare.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(init_bare.status.success(), "{}", text(&init_bare));
    let daemon = git_daemon::Daemon::start(&served);
    let learner_kubeconfig = e2e::env_path(
        "GITGEN_E2E_LEARNER_KUBECONFIG",
        "the kubeconfig of the learner's cluster",
    );
    let learner_config: Value = {
        let text = fs_err::read_to_string(&learner_kubeconfig).unwrap();
        gitgen::yaml::documents(&text, &learner_kubeconfig).unwrap().remove(0)
    };
    let mut walk = Walk {
        cwd: tmp.clone(),
        tmp,
        home,
        bin,
        remote_url: daemon.url("my-course.git"),
        learner_context: learner_config["current-context"].as_str().unwrap().to_owned(),
        learner_kubeconfig,
        hints_run: BTreeSet::new(),
        log: Vec::new(),
    };
    let mut stand_ins = StandIns(Vec::new());

    // Quick start, every shell block in order.
    for (lang, lines) in blocks("Quick start") {
        assert_eq!(lang, "sh", "the quick start's blocks are shell");
        for line in lines {
            let (commands, comment) = command_and_comment(&line);
            for command in commands.split(" && ") {
                quick_start_step(&mut walk, command, comment, &scratch, &mut stand_ins);
            }
        }
    }
    // What issue 26 found: the published branch, cloned fresh, passes `render --check`.
    let clone = walk.tmp.join("clone");
    walk.run(&format!(
        "git clone --quiet --branch lesson/keda {} {} && cd {} && gitgen render --check",
        walk.remote_url,
        clone.display(),
        clone.display()
    ));

    // Classroom: its `gitgen.yaml` entry, then its shell blocks.
    let classroom = blocks("Classroom");
    let (lang, entry) = &classroom[0];
    assert_eq!(
        lang, "yaml",
        "the classroom section starts with its `gitgen.yaml` entry"
    );
    let config_path = walk.cwd.join("gitgen.yaml");
    let config = fs_err::read_to_string(&config_path).unwrap();
    // The entry goes under `environments:`, the last mapping of the file `init` wrote.
    let last_top_level = config
        .lines()
        .rfind(|l| !l.starts_with(' ') && !l.starts_with('#'))
        .unwrap();
    assert_eq!(last_top_level, "environments:", "{config}");
    fs_err::write(&config_path, format!("{config}{}\n", entry.join("\n"))).unwrap();
    for (lang, lines) in &classroom[1..] {
        assert_eq!(lang, "sh", "the classroom's commands are shell");
        for line in lines {
            let (command, _) = command_and_comment(line);
            assert!(
                command.starts_with("gitgen "),
                "a classroom command that is not gitgen's: `{line}`"
            );
            for variant in variants(command) {
                let line = walk.substituted(&variant);
                walk.gitgen(&line);
            }
        }
    }
    for step in [
        "classroom add",
        "classroom hold",
        "classroom release",
        "classroom remove",
        "status",
    ] {
        assert!(
            walk.log
                .iter()
                .any(|line| line.contains(&format!(" --env classroom {step}"))),
            "the walk never ran `{step}` in the classroom: {:#?}",
            walk.log
        );
    }
    drop(stand_ins);
}

/// One command of the quick start: run as written where it can be, else its local
/// equivalent, said why.
fn quick_start_step(walk: &mut Walk, command: &str, comment: &str, scratch: &Path, stand_ins: &mut StandIns) {
    let first: Vec<&str> = command.split_whitespace().collect();
    match first.as_slice() {
        // The binary under test is what `cargo install` would put on the PATH.
        ["cargo", "install", ..] => {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gitgen"), walk.bin.join("gitgen")).unwrap();
        }
        // The suite this test belongs to: `.ci/run` runs it.
        ["cargo", "test", ..] => {}
        ["cd", folder] => {
            walk.cwd = PathBuf::from(walk.substituted(folder));
            assert!(walk.cwd.is_dir(), "`{command}`: no such folder");
        }
        ["git", "remote", "add", ..] => {
            walk.run(&walk.substituted(command));
            // The README's next step, in the comment: `repo_url` is where Argo CD clones
            // from; here the `git daemon` (no HTTPS forge runs here).
            assert!(comment.contains("set `repo_url` in gitgen.yaml"), "{comment}");
            let config_path = walk.cwd.join("gitgen.yaml");
            let config = fs_err::read_to_string(&config_path).unwrap();
            let line = config.lines().find(|l| l.starts_with("repo_url:")).unwrap();
            let set = config.replacen(line, &format!("repo_url: {}", walk.remote_url), 1);
            fs_err::write(&config_path, set).unwrap();
        }
        ["gitgen", "bootstrap", ..] if first.contains(&"--wait") => {
            // `--wait` returns once Argo CD has synced every lesson; the test does what
            // the controllers would while it waits.
            let line = walk.substituted(command);
            let child = walk
                .sh(&line)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let cwd = walk.cwd.clone();
            converge_as_argocd_would(&cwd, "docker-desktop", scratch, stand_ins);
            let output = child.wait_with_output().unwrap();
            eprintln!("$ {line}\n{}", text(&output));
            assert!(output.status.success(), "`{line}`:\n{}", text(&output));
            walk.log.push(line.clone());
            walk.follow_hints(&line, &output);
        }
        ["gitgen", ..] => {
            let line = walk.substituted(command);
            walk.gitgen(&line);
        }
        _ => panic!("the README walk does not know how to run `{command}`: teach it, or fix the README"),
    }
}
