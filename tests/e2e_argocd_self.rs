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
//! The upgrade: bootstrap at v2.12.3, change the pin to v3.5.1 in a repo made by `gitgen
//! init`, render (which warns of the jump and lists the notes), then apply what the
//! self-managing Application would sync, in a server-side dry run over the running
//! install: no error, and the CRDs come back as v3.5.1's.
//!
//! The end-to-end tier, as `tests/e2e_cluster.rs`: `#[ignore]`d, so a plain `cargo test`
//! reports it as ignored; run with `-- --ignored`, it needs `GITGEN_E2E_KUBECONFIG` (a
//! throwaway cluster, e.g. `../shared/k8s/up.sh DIR 6643`) and fails without it.

#[path = "support/isolated.rs"]
mod isolated;

use std::path::{Path, PathBuf};
use std::process::Command;

use gitgen::argocd_install::{APPLICATION_HEALTH_KEY, TRACKING_METHOD_KEY, manifest_url};
use gitgen::catalog::config::RepoConfig;
use gitgen::layout::Layout;
use serde_json::Value;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `../shared/crds/argocd-install/install.yaml`: upstream's v2.12.3 manifest (SOURCES.md).
fn local_manifest() -> PathBuf {
    Path::new(REPO).join("../shared/crds/argocd-install/install.yaml")
}

/// `../shared/argocd-v3.5.1/`: upstream's v3.5.1 manifest and CRDs (SOURCES.md there).
fn v3_5_1(file: &str) -> PathBuf {
    Path::new(REPO).join("../shared/argocd-v3.5.1").join(file)
}

/// Builds `argocd/<env>/argocd-install/` of `repo` as Argo CD's repo-server would, with the
/// remote install manifest of `version` replaced by `manifest`; returns the file built.
fn build_install(repo: &Path, env: &str, version: &str, manifest: &Path, work: &Path) -> PathBuf {
    let source = repo.join(Layout::new(&gitgen::names::EnvName::new(env).unwrap()).install_dir());
    let url = manifest_url(version);
    for entry in fs_err::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let text = fs_err::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap();
        if name == "kustomization.yaml" {
            assert!(text.contains(&url), "{}: no `{url}`", path.display());
        }
        fs_err::write(work.join(name), text.replace(&url, "install.yaml")).unwrap();
    }
    fs_err::copy(manifest, work.join("install.yaml")).unwrap();
    let built = run(isolated::command("kubectl").arg("kustomize").arg(work));
    let built_path = work.join("built.yaml");
    fs_err::write(&built_path, &built).unwrap();
    built_path
}

/// Argo CD's sync of `built` in a server-side dry run: server-side apply, forced, as its
/// controller, namespace-less objects into the Application's destination namespace.
fn dry_run_sync(built: &Path, namespace: &str) -> Vec<Value> {
    items(&kubectl(&[
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
        built.to_str().unwrap(),
    ]))
}

// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
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
    run(isolated::command("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig())
        .args(args))
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
    run(isolated::gitgen().args([
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
        let built_path = build_install(
            Path::new(REPO),
            env.as_str(),
            &config.argocd.version,
            &local_manifest(),
            work.path(),
        );

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
        let namespace = config.argocd.namespace.as_str();
        let applied = dry_run_sync(&built_path, namespace);
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

#[test]
#[ignore = "end-to-end tier: needs a cluster in GITGEN_E2E_KUBECONFIG; run with `-- --ignored` (see .ci/run)"]
fn changing_the_pin_from_v2_12_3_to_v3_5_1_upgrades_the_running_install_in_a_dry_run() {
    let parent = tempfile::tempdir().unwrap();
    let repo = parent.path().join("course");
    run(isolated::gitgen().args([
        "init",
        repo.to_str().unwrap(),
        "--repo-url",
        "https://github.com/gitgen-course/kubernetes-course.git",
    ]));
    let config_path = repo.join("gitgen.yaml");
    let text = fs_err::read_to_string(&config_path).unwrap();
    assert!(
        text.contains("version: v2.12.3"),
        "init pins the course's release: {text}"
    );
    let config = RepoConfig::parse(&text, &config_path).unwrap();
    let namespace = config.argocd.namespace.as_str();

    // Bootstrap at v2.12.3, as a trainer does, from the local copy of that manifest.
    run(isolated::gitgen().arg("--repo").arg(&repo).args([
        "bootstrap",
        "--kubeconfig",
        &kubeconfig(),
        "--argocd-manifest",
        local_manifest().to_str().unwrap(),
    ]));
    let live_crd = |name: &str| -> Value {
        serde_json::from_str(&kubectl(&["get", "crd", name, "-o", "json"])).expect("a CRD as JSON")
    };
    let schema = |crd: &Value| crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();

    // The one-line pull request, rendered: the warning lists every note between.
    fs_err::write(&config_path, text.replace("version: v2.12.3", "version: v3.5.1")).unwrap();
    let output = isolated::gitgen()
        .arg("--repo")
        .arg(&repo)
        .arg("render")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: `argocd.version` jumps 8 minor versions, from v2.12.3"),
        "{stderr}"
    );
    for note in ["2.12-2.13", "2.14-3.0", "3.4-3.5"] {
        let url = format!("https://github.com/argoproj/argo-cd/blob/v3.5.1/docs/operator-manual/upgrading/{note}.md");
        assert!(stderr.contains(&url), "{stderr}");
    }

    // Bootstrap says the same of the running install before it reads the manifest: here
    // one that does not exist, so it stops there and changes nothing.
    let missing = parent.path().join("no-such-install.yaml");
    let output = isolated::gitgen()
        .arg("--repo")
        .arg(&repo)
        .args(["bootstrap", "--kubeconfig", &kubeconfig(), "--argocd-manifest"])
        .arg(&missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("warning: the cluster runs Argo CD v2.12.3, and bootstrap installs v3.5.1, 8 minor versions on"),
        "{stderr}"
    );
    assert!(stderr.contains("upgrading/3.4-3.5.md"), "{stderr}");

    let upstream: Vec<Value> = ["application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"]
        .iter()
        .map(|file| {
            let path = v3_5_1(file);
            gitgen::yaml::from_str(&fs_err::read_to_string(&path).unwrap(), &path).unwrap()
        })
        .collect();
    for env in config.environments.keys() {
        let work = tempfile::tempdir().unwrap();
        let built = build_install(&repo, env.as_str(), "v3.5.1", &v3_5_1("install.yaml"), work.path());
        // No error: kubectl exits 0 (`run` asserts it) with every object of the manifest.
        let applied = dry_run_sync(&built, namespace);
        assert!(applied.len() > 50, "{env}: only {} objects", applied.len());

        // The CRDs come back as v3.5.1's, and differ from what runs.
        for crd in &upstream {
            let name = crd["metadata"]["name"].as_str().unwrap();
            let returned = applied
                .iter()
                .find(|o| o["kind"] == "CustomResourceDefinition" && o["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{env}: the dry run returned no CRD {name}"));
            assert_eq!(schema(returned), schema(crd), "{env}: {name} is not v3.5.1's");
            assert_ne!(
                schema(returned),
                schema(&live_crd(name)),
                "{env}: {name} would not change"
            );
        }

        // Argo CD's own workloads move to v3.5.1; argocd-cm keeps 3.x's defaults and
        // gains nothing gitgen did not mean.
        let server = applied
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "argocd-server")
            .expect("argocd-server");
        assert_eq!(
            server["spec"]["template"]["spec"]["containers"][0]["image"],
            "quay.io/argoproj/argocd:v3.5.1"
        );
        let config_map = applied
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "argocd-cm")
            .expect("argocd-cm");
        let data = &config_map["data"];
        assert!(data["resource.exclusions"].is_string(), "{env}: {data}");
        assert_eq!(data[TRACKING_METHOD_KEY], "annotation", "{env}");
        assert!(data[APPLICATION_HEALTH_KEY].is_string(), "{env}");
    }
}
