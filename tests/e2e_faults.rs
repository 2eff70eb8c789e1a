//! End-to-end tests of bootstrap's refusals against a real Kubernetes API server: the
//! failure paths only `src/cluster/fake.rs` had seen. A tier of its own, as
//! `tests/e2e_cluster.rs` (read its header): every test is `#[ignore]`d and needs
//! `GITGEN_E2E_KUBECONFIG`; `.ci/run` runs it after `e2e_cluster`. It installs Argo CD into
//! namespace `argocd-faults` and leaves it there.

#[path = "support/e2e.rs"]
mod e2e;

use std::path::Path;
use std::process::Output;

use e2e::{INSTALL_YAML, init_course, kubectl, kubectl_json, logged, text};

/// The namespace these tests install Argo CD into, apart from the other tiers'.
const NAMESPACE: &str = "argocd-faults";
/// A newer release than the v2.12.3 `gitgen init` pins.
const V3_INSTALL_YAML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/argocd-v3.5.1/install.yaml");

fn gitgen(repo: &Path, args: &[&str]) -> Output {
    logged(&mut e2e::gitgen(repo, args), args)
}

/// stderr of a run that must have exited with `code`.
#[track_caller]
fn stderr_of(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `error:` line of a run that must have failed (exit 2), and its whole stderr.
#[track_caller]
fn refusal(output: &Output) -> (String, String) {
    let stderr = stderr_of(output, 2);
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_owned();
    (error, stderr)
}

/// Whether namespace `name` exists.
fn namespace_exists(name: &str) -> bool {
    kubectl(&["get", "namespace", name]).status.success()
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_installs_only_the_pinned_release_and_never_downgrades_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let config = repo.join("gitgen.yaml");
    let text_of_config = fs_err::read_to_string(&config).unwrap();
    assert!(text_of_config.contains("  namespace: argocd\n  version: v2.12.3\n"), "{text_of_config}");
    fs_err::write(&config, text_of_config.replace("  namespace: argocd\n", &format!("  namespace: {NAMESPACE}\n"))).unwrap();
    assert_eq!(gitgen(&repo, &["render"]).status.code(), Some(0));
    assert!(!namespace_exists(NAMESPACE), "the namespace is this test's alone");

    // A manifest of another release than the pin: refused before anything is applied.
    let refused = gitgen(&repo, &["bootstrap", "--argocd-manifest", V3_INSTALL_YAML]);
    let (error, stderr) = refusal(&refused);
    assert_eq!(
        error,
        format!("error: `{V3_INSTALL_YAML}` installs Argo CD v3.5.1, but `gitgen.yaml` pins v2.12.3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: give `--argocd-manifest` upstream's `manifests/install.yaml` at v2.12.3 (`https://raw.githubusercontent.com/argoproj/argo-cd/v2.12.3/manifests/install.yaml`)"),
        "{stderr}"
    );
    assert!(!namespace_exists(NAMESPACE), "a refused bootstrap applied something");

    // A newer Argo CD already running (its server Deployment, as `kubectl create` leaves
    // it): the pinned, older release is refused...
    let server = serde_json::json!({
        "apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "argocd-server", "namespace": NAMESPACE},
             "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "argocd-server"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "argocd-server"}},
                                   "spec": {"containers": [{"name": "argocd-server", "image": "quay.io/argoproj/argocd:v3.5.1"}]}}}},
        ]});
    let manifest = dir.path().join("newer-server.json");
    fs_err::write(&manifest, server.to_string()).unwrap();
    let created = kubectl(&["create", "-f", manifest.to_str().unwrap()]);
    assert!(created.status.success(), "{}", text(&created));
    let image = |what: &str| {
        kubectl_json(&["get", "deployment", "argocd-server", "-n", NAMESPACE])["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no image"))
            .to_owned()
    };
    let refused = gitgen(&repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let (error, stderr) = refusal(&refused);
    assert_eq!(
        error,
        format!("error: Argo CD v3.5.1 runs in namespace `{NAMESPACE}`; bootstrap would downgrade it to the pinned v2.12.3"),
        "{stderr}"
    );
    assert!(stderr.contains("pass `--allow-downgrade` if you mean to go back"), "{stderr}");
    assert_eq!(image("after the refusal"), "quay.io/argoproj/argocd:v3.5.1");
    let configmaps = kubectl_json(&["get", "configmaps", "-n", NAMESPACE]);
    // The control plane's own CA bundles are there; none of Argo CD's.
    let names: Vec<&str> = configmaps["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|cm| cm["metadata"]["name"].as_str())
        .filter(|name| name.starts_with("argocd-"))
        .collect();
    assert!(names.is_empty(), "a refused bootstrap applied {names:?}");

    // ... unless asked: then it installs the pin over it, with the warning, and says so.
    let allowed = gitgen(&repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML, "--allow-downgrade", "-o", "json"]);
    let stderr = stderr_of(&allowed, 0);
    assert!(stderr.contains("v3.5.1"), "the downgrade is warned of: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&allowed.stdout).unwrap();
    let server_change = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"]["kind"] == "Deployment" && o["object"]["name"] == "argocd-server")
        .map(|o| o["change"].clone());
    assert_eq!(server_change, Some(serde_json::json!("configured")), "{report:#}");
    assert_eq!(report["environment"], "docker-desktop");
    assert_eq!(image("after the allowed downgrade"), "quay.io/argoproj/argocd:v2.12.3");
}
