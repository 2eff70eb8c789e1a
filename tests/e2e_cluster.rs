//! End-to-end tests of gitgen against a real Kubernetes API server: a tier of its own.
//!
//! Every test here is `#[ignore]`d, so a plain `cargo test` reports it as ignored (the
//! tier is opted into with `--ignored`, which needs no rebuild). Run, they need
//! `GITGEN_E2E_KUBECONFIG` to name the kubeconfig of a fresh throwaway cluster
//! (`GITGEN_E2E_CONTEXT`, if set, a context in it); a missing or unreachable cluster
//! fails them. `.ci/run` starts one from `../shared/k8s/` and runs:
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --locked --test e2e_cluster -- --ignored --test-threads=1
//! ```
//!
//! The cluster needs no nodes: objects are admitted, pods never start, and nothing here
//! waits for pods. The tests install Argo CD into namespaces `argocd` and `argocd-course`
//! and leave them there. They run in one test, in order, because the first step needs a
//! cluster where nothing is deployed yet.

#[path = "support/e2e.rs"]
mod e2e;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use e2e::{INSTALL_YAML, REPO_URL, init_course, kubectl, kubectl_json, logged, management, text};

use gitgen::cluster::{self, BootstrapPlan, Origin, RepoCredentials, ServerObject};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

const ROOT_PATH: &str = "argocd/e2e";
const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds");

// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
async fn client() -> kube::Client {
    let context = std::env::var("GITGEN_E2E_CONTEXT").ok();
    cluster::connect(Some(&management()), context.as_deref())
        .await
        .unwrap_or_else(|e| panic!("{e}\nhint: {}", e.hint().unwrap_or_default()))
}

/// Runs `gitgen ARGS` in `repo` against the e2e cluster (its `GITGEN_E2E_CONTEXT`, if set,
/// for the commands that talk to it).
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn gitgen(repo: &Path, args: &[&str]) -> Output {
    let mut command = e2e::gitgen(repo, args);
    if let Ok(context) = std::env::var("GITGEN_E2E_CONTEXT")
        && ["bootstrap", "status", "validate"].contains(&args[0])
    {
        command.args(["--context", &context]);
    }
    logged(&mut command, args)
}

/// A new course repo with every lesson enabled but ingress (its controller needs a
/// node) and pods-probes-services (it conflicts with argocd), its toggle file edited as a
/// trainer would, rendered; `settings` replaces
/// lines of `gitgen.yaml`.
fn course(dir: &Path, settings: &[(&str, &str)]) -> PathBuf {
    let repo = init_course(dir);
    let toggle = repo.join("overlays/docker-desktop/lessons.yaml");
    let enabled: String = fs_err::read_to_string(&toggle)
        .unwrap()
        .lines()
        .map(|line| match line.strip_prefix("  # ") {
            // Every lesson but one of each conflicting pair: ingress conflicts with istio,
            // pods-probes-services with argocd.
            Some(lesson) if !lesson.starts_with("ingress:") && !lesson.starts_with("pods-probes-services:") => {
                format!("  {lesson}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    assert!(enabled.contains("\n  storage: "), "{enabled}");
    fs_err::write(&toggle, enabled).unwrap();
    let config = repo.join("gitgen.yaml");
    let mut text_of_config = fs_err::read_to_string(&config).unwrap();
    for (from, to) in settings {
        assert!(text_of_config.contains(from), "{text_of_config}");
        text_of_config = text_of_config.replace(from, to);
    }
    fs_err::write(&config, text_of_config).unwrap();
    let render = gitgen(&repo, &["render"]);
    assert!(render.status.success(), "{}", text(&render));
    repo
}

/// One test, because its first step needs a cluster where nothing is deployed yet and
/// every later step needs the one before it.
#[tokio::test]
#[ignore = "end-to-end tier: needs a fresh cluster in GITGEN_E2E_KUBECONFIG; run with `-- --ignored` (see .ci/run)"]
async fn gitgen_validates_bootstraps_and_admits_the_course_on_a_real_api_server() {
    let client = client().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = course(dir.path(), &[]);

    validate_on_a_fresh_cluster_gives_every_object_a_verdict(&repo);
    bootstrap_twice_changes_nothing_the_second_time(&repo);
    every_enabled_lessons_objects_are_admitted_once_argocd_is_installed(&repo);
    bootstrap_refuses_a_repo_url_the_committed_projects_do_not_allow(&repo);
    library_bootstrap_installs_argocd_and_a_second_run_changes_nothing(&client).await;

    let other = tempfile::tempdir().unwrap();
    let moved = course(
        other.path(),
        &[("  namespace: argocd\n", "  namespace: argocd-course\n")],
    );
    bootstrap_installs_into_the_argocd_namespace_of_gitgen_yaml(&moved);
}

fn validate_on_a_fresh_cluster_gives_every_object_a_verdict(repo: &Path) {
    let validate = gitgen(repo, &["validate", "--server", "--crds", CRDS]);
    let out = text(&validate);
    assert_eq!(validate.status.code(), Some(0), "{out}");
    assert!(out.contains(" 0 rejected, 0 kind(s) missing, "), "{out}");
    assert!(out.contains(" kind(s) waiting for their chart, 0 unverified."), "{out}");
    assert!(!out.contains("unverified:") && !out.contains("rejected:"), "{out}");
    // No chart has synced: the kinds the charts bring wait for them, and every one of
    // them got its verdicts from the CRDs of `--crds` meanwhile.
    let waiting: Vec<&str> = out.lines().filter(|l| l.starts_with("waiting: ")).collect();
    assert!(
        waiting.iter().any(
            |l| l.starts_with("waiting: argoproj.io/v1alpha1 Rollout ") && l.contains("`argo-rollouts-controller`")
        ),
        "{out}"
    );
    assert!(
        waiting
            .iter()
            .all(|l| l.ends_with("its objects got their verdict from the chart's CRD schema meanwhile")),
        "{out}"
    );
    // The lessons' own Namespaces were created so the objects in them could be checked.
    assert!(out.contains("Created namespace `deployments`"), "{out}");
    // Argo CD is not installed yet: the argocd lesson's Applications went by their CRD schema.
    assert!(!out.contains(" 0 passed their CRD schema"), "{out}");
}

fn bootstrap_twice_changes_nothing_the_second_time(repo: &Path) {
    let first = gitgen(repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let second = gitgen(repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML, "-o", "json"]);
    let out = text(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let objects = report["objects"].as_array().unwrap();
    assert!(objects.len() > 50, "{report}");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["configured"].as_u64(),
            report["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(objects.len() as u64)),
        "the second bootstrap changed something: {out}"
    );
    assert!(objects.iter().all(|o| o["change"] == "unchanged"), "{report}");
    assert_eq!(report["environment"], "docker-desktop");

    // The lessons create their own Secrets (a Sync hook Job): bootstrap makes none, though
    // `statefulsets` and `monitoring` are enabled and declare some.
    for (namespace, secret) in [("rabbitmq", "rabbitmq-credentials"), ("monitoring", "grafana-admin")] {
        let found = kubectl(&["-n", namespace, "get", "secret", secret]);
        assert!(!found.status.success(), "bootstrap created Secret {namespace}/{secret}");
        assert!(
            String::from_utf8_lossy(&found.stderr).contains("NotFound"),
            "{}",
            text(&found)
        );
    }
    let first_out = text(&first);
    assert!(
        !first_out.contains("Secret rabbitmq/") && !first_out.contains("Secret monitoring/"),
        "{first_out}"
    );

    let root = kubectl_json(&["-n", "argocd", "get", "application", "gitgen-root"]);
    assert_eq!(root["spec"]["source"]["repoURL"], REPO_URL);
    assert_eq!(root["spec"]["source"]["path"], "argocd/docker-desktop/apps");
    let namespace = kubectl_json(&["get", "namespace", "argocd"]);
    assert!(
        namespace["metadata"]["annotations"][gitgen::catalog::labels::APPLIED_HASH_ANNOTATION].is_string(),
        "{namespace}"
    );
}

/// With Argo CD installed and the operators' CRDs applied as their charts would, the API
/// server itself admits every object (a server-side dry run), but the Gatekeeper
/// constraint, whose CRD only Gatekeeper's controller makes from its template.
fn every_enabled_lessons_objects_are_admitted_once_argocd_is_installed(repo: &Path) {
    for operator in [
        "argo-rollouts",
        "gatekeeper",
        "gateway-api",
        "istio",
        "keda",
        "prometheus-operator",
    ] {
        let apply = kubectl(&["apply", "--server-side", "-R", "-f", &format!("{CRDS}/{operator}")]);
        assert!(apply.status.success(), "{}", text(&apply));
    }
    let wait = kubectl(&["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
    assert!(wait.status.success(), "{}", text(&wait));

    let validate = gitgen(repo, &["validate", "--server"]);
    let out = text(&validate);
    assert_eq!(validate.status.code(), Some(0), "{out}");
    assert!(
        out.contains(" 0 rejected, 0 kind(s) missing, 0 kind(s) waiting for their chart, 0 unverified."),
        "{out}"
    );
    assert!(
        out.contains(" object(s) accepted by the server, 1 passed their CRD schema"),
        "only the Gatekeeper constraint goes by its schema: {out}"
    );
    // istio's ServiceMonitors live in istio-system, which its chart's Application creates.
    assert!(out.contains("Created namespace `istio-system`"), "{out}");
}

fn bootstrap_refuses_a_repo_url_the_committed_projects_do_not_allow(repo: &Path) {
    let fork = gitgen(
        repo,
        &[
            "bootstrap",
            "--argocd-manifest",
            INSTALL_YAML,
            "--repo-url",
            "https://git.example.invalid/fork.git",
        ],
    );
    let out = text(&fork);
    assert_eq!(fork.status.code(), Some(2), "{out}");
    assert!(out.contains("hint: set `repo_url` in gitgen.yaml"), "{out}");

    let root = kubectl_json(&["-n", "argocd", "get", "application", "gitgen-root"]);
    assert_eq!(root["spec"]["source"]["repoURL"], REPO_URL, "nothing was applied");
}

fn bootstrap_installs_into_the_argocd_namespace_of_gitgen_yaml(repo: &Path) {
    let first = gitgen(repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let root = kubectl_json(&["-n", "argocd-course", "get", "application", "gitgen-root"]);
    assert_eq!(root["spec"]["source"]["repoURL"], REPO_URL);
    let server = kubectl_json(&["-n", "argocd-course", "get", "deployment", "argocd-server"]);
    assert_eq!(server["metadata"]["namespace"], "argocd-course");
    let binding = kubectl_json(&["get", "clusterrolebinding", "argocd-server"]);
    assert_eq!(binding["subjects"][0]["namespace"], "argocd-course");
    let projects = kubectl_json(&["-n", "argocd-course", "get", "appprojects"]);
    assert!(!projects["items"].as_array().unwrap().is_empty());
}

fn plan() -> BootstrapPlan {
    BootstrapPlan {
        argocd_namespace: "argocd".into(),
        argocd_manifest: fs_err::read_to_string(INSTALL_YAML).unwrap(),
        argocd_manifest_origin: INSTALL_YAML.into(),
        repo_credentials: Some(RepoCredentials {
            url: REPO_URL.into(),
            username: "e2e".into(),
            password: "not-a-real-token".into(),
        }),
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

async fn run(client: &kube::Client) -> cluster::BootstrapReport {
    let preflighted = cluster::preflight(client, "argocd").await.unwrap();
    cluster::bootstrap(client, preflighted, &plan(), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}\nhint: {}", e.hint().unwrap_or_default()))
}

async fn library_bootstrap_installs_argocd_and_a_second_run_changes_nothing(client: &kube::Client) {
    let report = run(client).await;
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
    assert_eq!(root.data["spec"]["source"]["path"], ROOT_PATH);

    // The health check is in argocd-cm; the credentials are in a labelled Secret.
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "argocd");
    let cm = config_maps.get("argocd-cm").await.unwrap();
    assert!(
        cm.data
            .unwrap_or_default()
            .contains_key(gitgen::argocd_install::APPLICATION_HEALTH_KEY)
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "argocd");
    let repo = secrets.get(cluster::bootstrap::REPOSITORY_SECRET).await.unwrap();
    assert_eq!(
        repo.metadata.labels.unwrap_or_default()["argocd.argoproj.io/secret-type"],
        "repository"
    );

    // A second bootstrap changes nothing.
    let again = run(client).await;
    let changed: Vec<_> = again
        .objects
        .iter()
        .filter(|o| o.change != cluster::Change::Unchanged)
        .collect();
    assert!(changed.is_empty(), "the second bootstrap changed {changed:#?}");

    // A dry run persists nothing; a kind no CRD serves and no schema covers is named.
    let origin = |lesson: &str| Origin {
        lesson: lesson.into(),
        file: format!("generated/{lesson}/resources.yaml").into(),
    };
    let objects = [
        ServerObject {
            origin: origin("app-of-apps"),
            object: json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "e2e-child", "namespace": "argocd"},
            "spec": {"project": "course", "source": {"repoURL": REPO_URL, "path": "x"}, "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}}),
            namespace: "argocd".into(),
        },
        ServerObject {
            origin: origin("unknown"),
            object: json!({"apiVersion": "example.invalid/v1", "kind": "Gadget", "metadata": {"name": "e2e"}}),
            namespace: "gitgen-e2e".into(),
        },
    ];
    let dry = cluster::dry_run(client, &objects, &gitgen::validate::CrdSchemas::default())
        .await
        .unwrap();
    assert!(dry.rejections.is_empty(), "{:#?}", dry.rejections);
    assert_eq!(dry.accepted, 1);
    assert_eq!(dry.missing_kinds.len(), 1);
    assert_eq!(dry.missing_kinds[0].kind, "Gadget");
    assert!(
        applications.get_opt("e2e-child").await.unwrap().is_none(),
        "a dry run persists nothing"
    );

    // Status lists the root Application (no controller runs, so its status is Unknown).
    let statuses = cluster::application_statuses(client, "argocd").await.unwrap();
    assert!(statuses.iter().any(|s| s.name == "gitgen-root"), "{statuses:#?}");
}
