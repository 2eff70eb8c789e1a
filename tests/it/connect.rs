//! Reaching the cluster: what a user sees when the API server does not answer, or when
//! there is no kubeconfig at all. No cluster is needed: a closed port on 127.0.0.1 is an
//! API server that refuses, and an empty home has no `~/.kube/config`.

use std::path::Path;

use crate::support::{Repo, Run, check, local_install_manifest};

/// A kubeconfig in `dir` whose only cluster is `https://127.0.0.1:PORT` on a port nothing
/// listens on (bound, then released), and that port.
fn refusing_kubeconfig(dir: &Path) -> (std::path::PathBuf, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("kubeconfig");
    fs_err::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \"https://127.0.0.1:{port}\"}}\n\
             contexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\n\
             users:\n- name: u\n  user: {{token: not-a-secret}}\n"
        ),
    )
    .unwrap();
    (path, port)
}

#[test]
fn an_api_server_that_refuses_is_named_in_bootstraps_error_and_in_status() {
    let repo = Repo::init();
    let outside = tempfile::tempdir().unwrap();
    let (kubeconfig, port) = refusing_kubeconfig(outside.path());
    let kubeconfig = kubeconfig.to_str().unwrap();
    let manifest = local_install_manifest("v2.12.3");
    let run = repo.gitgen(&[
        "bootstrap",
        "--kubeconfig",
        kubeconfig,
        "--argocd-manifest",
        manifest.to_str().unwrap(),
    ]);
    check(&run, 2);
    insta::assert_snapshot!(run.transcript().replace(&port.to_string(), "[PORT]"));

    let run = repo.gitgen(&["status", "-o", "json", "--kubeconfig", kubeconfig]);
    check(&run, 0);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        status["cluster"]["error"],
        format!(
            "the Kubernetes API server `https://127.0.0.1:{port}/` does not answer: client error (Connect): \
             tcp connect error: Connection refused (os error 111)"
        ),
        "{}",
        run.transcript()
    );
}

#[test]
fn no_kubeconfig_at_all_is_a_gitgen_error_with_a_hint_not_kubes_in_cluster_text() {
    let repo = Repo::init();
    let home = tempfile::tempdir().unwrap();
    let without_kubeconfig = |args: &[&str]| {
        let output = crate::isolated::gitgen()
            .args(args)
            .current_dir(repo.path())
            .env("HOME", home.path())
            .output()
            .unwrap();
        let run = Run::of(&repo, output);
        let transcript = run.transcript().replace(home.path().to_str().unwrap(), "[HOME]");
        (run, transcript)
    };
    let (run, transcript) = without_kubeconfig(&["bootstrap"]);
    check(&run, 2);
    insta::assert_snapshot!(transcript);
    assert!(!transcript.contains("in-cluster"), "{transcript}");

    let (run, transcript) = without_kubeconfig(&["status", "-o", "json"]);
    check(&run, 0);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        status["cluster"]["error"]
            .as_str()
            .map(|e| e.replace(home.path().to_str().unwrap(), "[HOME]")),
        Some(
            "no kubeconfig: `--kubeconfig` and `KUBECONFIG` are not set and `[HOME]/.kube/config` does not exist"
                .to_owned()
        ),
        "{transcript}"
    );
}
