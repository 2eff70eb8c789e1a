//! End to end, on a real API server: Argo CD can take over its own install.
//!
//! `gitgen bootstrap` installs Argo CD from the pinned upstream `install.yaml`; the
//! `gitgen-argocd` Application then syncs `argocd/<env>/argocd-install/`, a kustomization
//! over the same manifest plus gitgen's `argocd-cm` patch. This test bootstraps, builds
//! that kustomization as Argo CD's repo-server would (with the remote manifest replaced by
//! the local copy of the same release), and applies it as Argo CD's controller does
//! (server-side, forced, field manager `argocd-controller`) in a server-side dry run:
//! no error, and no object would change.
//!
//! The end-to-end tier, as `tests/e2e_cluster.rs`: `#[ignore]`d, so a plain `cargo test`
//! reports it as ignored; run with `-- --ignored`, it needs `GITGEN_E2E_KUBECONFIG` (a
//! throwaway cluster, e.g. `../shared/k8s/up.sh DIR 6643`) and fails without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use gitgen::catalog::config::RepoConfig;
use gitgen::layout::Layout;
use gitgen::render::argocd::{APPLICATION_HEALTH_KEY, install_manifest_url};
use serde_json::Value;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `../shared/crds/argocd-install/install.yaml`: upstream's v2.12.3 manifest (SOURCES.md).
fn local_manifest() -> PathBuf {
    Path::new(REPO).join("../shared/crds/argocd-install/install.yaml")
}

fn kubeconfig() -> String {
    std::env::var("GITGEN_E2E_KUBECONFIG")
        .expect("the e2e feature needs GITGEN_E2E_KUBECONFIG: the kubeconfig of a throwaway cluster")
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn kubectl(args: &[&str]) -> String {
    run(Command::new("kubectl").arg("--kubeconfig").arg(kubeconfig()).args(args))
}

/// An object as stored, without what every write moves.
fn comparable(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    object
}

/// kubectl's `-o json` output: one List, or one object after another.
fn items(text: &str) -> Vec<Value> {
    let mut objects = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let value = value.expect("JSON from kubectl");
        match value["kind"].as_str() {
            Some("List") => objects.extend(value["items"].as_array().expect("items").iter().cloned()),
            _ => objects.push(value),
        }
    }
    objects
}

#[test]
#[ignore = "end-to-end tier: needs a cluster in GITGEN_E2E_KUBECONFIG; run with `-- --ignored` (see .ci/run)"]
fn the_self_managing_application_applies_over_the_bootstrapped_install_without_a_change() {
    let config_text = fs_err::read_to_string(Path::new(REPO).join("gitgen.yaml")).unwrap();
    let config = RepoConfig::parse(&config_text, "gitgen.yaml".as_ref()).unwrap();
    assert_eq!(
        config.argocd.version, "v2.12.3",
        "the local install manifest is v2.12.3's"
    );

    // Bootstrap, as a trainer does, from the local copy of the pinned manifest.
    run(Command::new(env!("CARGO_BIN_EXE_gitgen")).args([
        "--repo",
        REPO,
        "bootstrap",
        "--kubeconfig",
        &kubeconfig(),
        "--argocd-manifest",
        local_manifest().to_str().unwrap(),
    ]));

    for env in config.environments.keys() {
        // What Argo CD's repo-server builds from git, with the remote resource local.
        let work = tempfile::tempdir().unwrap();
        let source = Path::new(REPO).join(Layout::new(env).install_dir());
        let url = install_manifest_url(&config.argocd.version);
        for entry in fs_err::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            let text = fs_err::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap();
            if name == "kustomization.yaml" {
                assert!(text.contains(&url), "{}: no `{url}`", path.display());
            }
            fs_err::write(work.path().join(name), text.replace(&url, "install.yaml")).unwrap();
        }
        fs_err::copy(local_manifest(), work.path().join("install.yaml")).unwrap();
        let built = run(Command::new("kubectl").arg("kustomize").arg(work.path()));
        let built_path = work.path().join("built.yaml");
        fs_err::write(&built_path, &built).unwrap();

        // gitgen's argocd-cm keys are in git, so no sync strategy can drop them.
        let objects = items(&kubectl(&[
            "create",
            "--dry-run=client",
            "-o",
            "json",
            "-f",
            built_path.to_str().unwrap(),
        ]));
        let config_map = objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "argocd-cm")
            .expect("argocd-cm");
        assert!(
            config_map["data"][APPLICATION_HEALTH_KEY].is_string(),
            "{env}: {config_map}"
        );

        // Argo CD's sync: server-side apply, forced, as its controller.
        // Argo CD puts namespace-less objects into the Application's destination namespace.
        let namespace = config.argocd.namespace.as_str();
        let applied = items(&kubectl(&[
            "--namespace",
            namespace,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=argocd-controller",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            built_path.to_str().unwrap(),
        ]));
        let live = items(&kubectl(&[
            "--namespace",
            namespace,
            "get",
            "-o",
            "json",
            "-f",
            built_path.to_str().unwrap(),
        ]));
        assert_eq!(applied.len(), live.len());
        assert!(applied.len() > 50, "{env}: only {} objects", applied.len());
        let changed: Vec<String> = applied
            .into_iter()
            .zip(live)
            .filter(|(a, l)| comparable(a.clone()) != comparable(l.clone()))
            .map(|(a, _)| format!("{} {}", a["kind"], a["metadata"]["name"]))
            .collect();
        assert!(changed.is_empty(), "{env}: would change {changed:?}");
    }
}
