//! What the end-to-end tiers (`tests/e2e_cluster.rs`, `tests/e2e_classroom.rs`) share: the
//! management cluster they need, the real binary and kubectl run against it, and a fresh
//! course repo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "isolated.rs"]
pub mod isolated;

/// The repo URL the courses are initialised with: never cloned, as no pod runs.
pub const REPO_URL: &str = "https://git.example.invalid/course.git";
/// The pinned Argo CD's install manifest, so bootstrap downloads nothing.
pub const INSTALL_YAML: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/crds/argocd-install/install.yaml"
);

/// The kubeconfig the variable `name` names; the tier fails without it, saying `what` it is.
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
pub fn env_path(name: &str, what: &str) -> PathBuf {
    let value = std::env::var(name).unwrap_or_else(|_| panic!("the e2e tier needs {name}: {what}"));
    PathBuf::from(value)
}

/// The management cluster's kubeconfig (`GITGEN_E2E_KUBECONFIG`): where Argo CD goes.
pub fn management() -> PathBuf {
    env_path("GITGEN_E2E_KUBECONFIG", "the kubeconfig of a fresh throwaway cluster")
}

/// stdout then stderr, as one text.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `gitgen ARGS --repo REPO` against the management cluster, without colours and without
/// the caller's environment, tokens or repo password: the caller may add to it.
pub fn gitgen(repo: &Path, args: &[&str]) -> Command {
    let mut command = isolated::gitgen();
    command
        .args(args)
        .arg("--repo")
        .arg(repo)
        .env("KUBECONFIG", management());
    command
}

/// Runs `command` (gitgen `args`) and logs its transcript to stderr, which the test
/// harness shows when the test fails.
pub fn logged(command: &mut Command, args: &[&str]) -> Output {
    let output = command.output().unwrap();
    eprintln!("$ gitgen {}\n{}", args.join(" "), text(&output));
    output
}

/// `kubectl ARGS` against the management cluster, isolated as gitgen is (no `KUBECONFIG`,
/// `~/.kube` or plugins of the developer's).
pub fn kubectl(args: &[&str]) -> Output {
    isolated::command("kubectl")
        .arg("--kubeconfig")
        .arg(management())
        .args(args)
        .output()
        .unwrap()
}

/// Deletes Application `name` in `argocd` on the management cluster, if it exists. No
/// controller runs to clear its finalizer, so a patch does first.
// Only the tiers that stand in for Argo CD's controller call it; the others include this
// file too.
#[allow(dead_code)]
pub fn delete_application(name: &str) {
    let patch = r#"{"metadata":{"finalizers":null}}"#;
    kubectl(&[
        "-n",
        "argocd",
        "patch",
        "application",
        name,
        "--type=merge",
        "-p",
        patch,
    ]);
    kubectl(&["-n", "argocd", "delete", "application", name, "--ignore-not-found"]);
}

/// `kubectl ARGS -o json` against the management cluster, which must succeed.
pub fn kubectl_json(args: &[&str]) -> serde_json::Value {
    let output = kubectl(&[args, &["-o", "json"]].concat());
    assert!(output.status.success(), "kubectl {args:?}: {}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A new course repo, `course` in `dir`, as `gitgen init` writes it.
pub fn init_course(dir: &Path) -> PathBuf {
    let repo = dir.join("course");
    let init = isolated::gitgen()
        .args(["init", repo.to_str().unwrap(), "--repo-url", REPO_URL])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    repo
}
