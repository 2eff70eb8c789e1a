//! End-to-end tests of `gitgen::cluster` against a real API server. Opt-in: they run only
//! when `GITGEN_E2E_KUBECONFIG` names a kubeconfig (and `GITGEN_E2E_CONTEXT`, if set, a
//! context in it); otherwise each test returns early and says why.
//!
//! The cluster needs no nodes: objects are admitted, pods never start, and nothing here
//! waits for pods. The tests install Argo CD into namespace `argocd` and leave it there,
//! so use a throwaway cluster (kind, Docker Desktop, or a bare kube-apiserver + etcd).

use std::path::PathBuf;
use std::time::Duration;

use gitgen::cluster::{self, BootstrapPlan, ClusterSecretSpec, Origin, RepoCredentials, ServerObject};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

const REPO_URL: &str = "https://git.example.invalid/course.git";
const ROOT_PATH: &str = "argocd/e2e";

async fn client() -> Option<kube::Client> {
    let Some(kubeconfig) = std::env::var_os("GITGEN_E2E_KUBECONFIG") else {
        eprintln!(
            "skipped: set GITGEN_E2E_KUBECONFIG to a kubeconfig of a throwaway cluster to run the end-to-end tests"
        );
        return None;
    };
    let context = std::env::var("GITGEN_E2E_CONTEXT").ok();
    let client = cluster::connect(Some(&PathBuf::from(kubeconfig)), context.as_deref()).await;
    Some(client.unwrap_or_else(|e| panic!("{e}\nhint: {}", e.hint().unwrap_or_default())))
}

fn plan() -> BootstrapPlan {
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/crds/argocd-install/install.yaml"
    );
    BootstrapPlan {
        argocd_manifest: fs_err::read_to_string(manifest).unwrap(),
        argocd_manifest_origin: manifest.into(),
        repo_credentials: Some(RepoCredentials {
            url: REPO_URL.into(),
            username: "e2e".into(),
            password: "not-a-real-token".into(),
        }),
        secrets: vec![ClusterSecretSpec {
            name: "e2e-db".into(),
            namespace: "gitgen-e2e".into(),
            literal: [("user".to_owned(), "app".to_owned())].into(),
            random: vec!["password".into()],
        }],
        root_objects: vec![
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                   "metadata": {"name": "course", "namespace": "argocd"},
                   "spec": {"sourceRepos": [REPO_URL], "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "*"}],
                            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": {"name": "root", "namespace": "argocd"},
                   "spec": {"project": "course",
                            "source": {"repoURL": REPO_URL, "targetRevision": "main", "path": ROOT_PATH},
                            "destination": {"server": "https://kubernetes.default.svc", "namespace": "argocd"}}}),
        ],
        crd_timeout: Duration::from_secs(60),
        wait: None,
    }
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// One test, because every step needs the one before it.
#[tokio::test]
async fn bootstrap_is_idempotent_and_validate_and_status_work_on_a_real_api_server() {
    let Some(client) = client().await else { return };

    let report = cluster::bootstrap(&client, &plan(), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}\nhint: {}", e.hint().unwrap_or_default()));
    assert!(!format!("{report:?}").contains("not-a-real-token"));

    // The Argo CD CRDs are Established.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in [
        "applications.argoproj.io",
        "appprojects.argoproj.io",
        "applicationsets.argoproj.io",
    ] {
        let crd = crds.get(name).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} is not Established");
    }

    // The AppProject and the root Application exist with the right repository and path.
    let projects: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "argocd",
        &resource("argoproj.io", "v1alpha1", "AppProject", "appprojects"),
    );
    assert_eq!(
        projects.get("course").await.unwrap().data["spec"]["sourceRepos"][0],
        REPO_URL
    );
    let applications: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "argocd", &cluster::status::application_resource());
    let root = applications.get("root").await.unwrap();
    assert_eq!(root.data["spec"]["source"]["repoURL"], REPO_URL);
    assert_eq!(root.data["spec"]["source"]["path"], ROOT_PATH);

    // The health check is in argocd-cm; the credentials are in a labelled Secret.
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "argocd");
    let cm = config_maps.get("argocd-cm").await.unwrap();
    assert!(
        cm.data
            .unwrap_or_default()
            .contains_key(cluster::bootstrap::APPLICATION_HEALTH_KEY)
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "argocd");
    let repo = secrets.get(cluster::bootstrap::REPOSITORY_SECRET).await.unwrap();
    assert_eq!(
        repo.metadata.labels.unwrap_or_default()["argocd.argoproj.io/secret-type"],
        "repository"
    );
    let lesson_secrets: Api<Secret> = Api::namespaced(client.clone(), "gitgen-e2e");
    let password = lesson_secrets.get("e2e-db").await.unwrap().data.unwrap()["password"].clone();

    // A second bootstrap changes nothing, and never rotates a lesson's Secret.
    let again = cluster::bootstrap(&client, &plan(), &mut |_| {}).await.unwrap();
    let changed: Vec<_> = again
        .objects
        .iter()
        .filter(|o| o.change != cluster::Change::Unchanged)
        .collect();
    assert!(changed.is_empty(), "the second bootstrap changed {changed:#?}");
    assert_eq!(
        lesson_secrets.get("e2e-db").await.unwrap().data.unwrap()["password"],
        password
    );

    // Server-side validation: installed kinds pass, a missing CRD is named.
    let origin = |lesson: &str| Origin {
        lesson: lesson.into(),
        file: format!("generated/{lesson}/resources.yaml").into(),
    };
    let objects = [
        ServerObject {
            origin: origin("basics"),
            object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e2e", "namespace": "gitgen-e2e"}, "data": {"a": "b"}}),
        },
        ServerObject {
            origin: origin("app-of-apps"),
            object: json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "e2e-child", "namespace": "argocd"},
            "spec": {"project": "course", "source": {"repoURL": REPO_URL, "path": "x"}, "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}}),
        },
        ServerObject {
            origin: origin("autoscaling"),
            object: json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "e2e", "namespace": "gitgen-e2e"}, "spec": {"scaleTargetRef": {"name": "web"}}}),
        },
    ];
    let dry = cluster::dry_run(&client, &objects, "default").await.unwrap();
    assert!(dry.rejections.is_empty(), "{:#?}", dry.rejections);
    assert_eq!(dry.accepted, 2);
    assert_eq!(dry.missing_kinds.len(), 1);
    assert_eq!(
        (dry.missing_kinds[0].group.as_str(), dry.missing_kinds[0].kind.as_str()),
        ("keda.sh", "ScaledObject")
    );
    assert!(
        applications.get_opt("e2e-child").await.unwrap().is_none(),
        "a dry run persists nothing"
    );

    // Status lists the root Application (no controller runs, so its status is Unknown).
    let statuses = cluster::application_statuses(&client, "argocd").await.unwrap();
    assert!(statuses.iter().any(|s| s.name == "root"), "{statuses:#?}");

    // The same through the binary, as a trainer runs it before a class.
    cli_bootstrap_validate_and_status();
}

/// Runs `gitgen ARGS` in `repo` against the e2e cluster.
fn gitgen(repo: &std::path::Path, args: &[&str]) -> std::process::Output {
    let kubeconfig = std::env::var("GITGEN_E2E_KUBECONFIG").unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gitgen"));
    command
        .args(args)
        .arg("--repo")
        .arg(repo)
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", kubeconfig);
    if let Ok(context) = std::env::var("GITGEN_E2E_CONTEXT")
        && ["bootstrap", "status", "validate"].contains(&args[0])
    {
        command.args(["--context", &context]);
    }
    let output = command.output().unwrap();
    eprintln!(
        "$ gitgen {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn cli_bootstrap_validate_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("course");
    let init = std::process::Command::new(env!("CARGO_BIN_EXE_gitgen"))
        .args(["init", repo.to_str().unwrap(), "--repo-url", REPO_URL])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    for lesson in ["pods-probes-services", "keda"] {
        assert!(gitgen(&repo, &["enable", lesson]).status.success());
    }
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/crds/argocd-install/install.yaml"
    );
    let first = gitgen(&repo, &["bootstrap", "--argocd-manifest", manifest]);
    assert!(first.status.success());
    let second = gitgen(&repo, &["bootstrap", "--argocd-manifest", manifest]);
    assert!(second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stdout).contains(" 0 created, 0 configured,"),
        "the second bootstrap changed something"
    );

    // Root Application and projects from the rendered bundle.
    let root = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &std::env::var("GITGEN_E2E_KUBECONFIG").unwrap(),
            "-n",
            "argocd",
            "get",
            "application",
            "gitgen-root",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let root: serde_json::Value = serde_json::from_slice(&root.stdout).unwrap();
    assert_eq!(root["spec"]["source"]["repoURL"], REPO_URL);
    assert_eq!(root["spec"]["source"]["path"], "argocd/docker-desktop/apps");

    // validate --server: the pods lesson passes; keda's custom resources are named as missing kinds.
    let validate = gitgen(&repo, &["validate", "--server"]);
    let stdout = String::from_utf8_lossy(&validate.stdout);
    assert!(!stdout.contains("rejected: pods-probes-services"), "{stdout}");
    assert!(
        stdout.contains("missing kind: keda.sh/v1alpha1 ScaledObject (used by keda)"),
        "{stdout}"
    );

    // status -o json lists every lesson, with the Application of the enabled ones.
    let status = gitgen(&repo, &["status", "-o", "json"]);
    assert!(status.status.success());
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["cluster"]["reachable"], true);
    let lessons = status["lessons"].as_array().unwrap();
    assert!(lessons.len() >= 22);
    let pods = lessons.iter().find(|l| l["lesson"] == "pods-probes-services").unwrap();
    assert_eq!(pods["enabled_stage"], "second-pod");
}
