//! End-to-end tests of the failure paths only `crates/gitgen-cluster/src/fake.rs` had seen, against a
//! real Kubernetes API server: bootstrap's refusals (another release, a downgrade, a kind
//! the server does not serve, a field it rejects, a namespace that does not exist, a user
//! without permissions), `--wait` timing out, the repository password, adopting an Argo
//! CD installed with `kubectl apply`, restoring an object edited by hand since bootstrap
//! (a field another manager took, a field removed),
//! and `status` rows from Applications with a real status. A tier of its own, as `tests/e2e_cluster.rs` (read its header): every test is
//! `#[ignore]`d and needs `GITGEN_E2E_KUBECONFIG`; `.ci/run` runs it after `e2e_cluster`.
//! Each test bootstraps into a namespace of its own (`argocd-faults*`), which must not
//! exist when it starts, and leaves it there.

#[path = "support/application_status.rs"]
mod application_status;
#[path = "support/e2e.rs"]
mod e2e;

use std::path::Path;
use std::process::Output;

use application_status::write_application_status;
use e2e::{INSTALL_YAML, init_course, kubectl, kubectl_json, logged, text};

/// The namespace these tests install Argo CD into, apart from the other tiers'.
const NAMESPACE: &str = "argocd-faults";
/// A newer release than the v2.12.3 `gitgen init` pins.
const V3_INSTALL_YAML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/argocd-v3.5.1/install.yaml");

/// A new course repo whose Argo CD goes into `namespace`: each test bootstraps into a
/// namespace of its own, so none depends on another's state. The `argocd` lesson's
/// AppProject and example Applications follow `argocd.namespace` by themselves.
fn init_course_in(dir: &Path, namespace: &str) -> std::path::PathBuf {
    let repo = init_course(dir);
    let path = repo.join("gitgen.yaml");
    let text = fs_err::read_to_string(&path).unwrap();
    assert!(text.contains("  namespace: argocd\n"), "gitgen.yaml: {text}");
    fs_err::write(
        &path,
        text.replace("  namespace: argocd\n", &format!("  namespace: {namespace}\n")),
    )
    .unwrap();
    repo
}

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
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
        .to_owned();
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
    let repo = init_course_in(dir.path(), NAMESPACE);
    let text_of_config = fs_err::read_to_string(repo.join("gitgen.yaml")).unwrap();
    assert!(text_of_config.contains("  version: v2.12.3\n"), "{text_of_config}");
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
        kubectl_json(&["get", "deployment", "argocd-server", "-n", NAMESPACE])["spec"]["template"]["spec"]["containers"]
            [0]["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no image"))
            .to_owned()
    };
    let refused = gitgen(&repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let (error, stderr) = refusal(&refused);
    assert_eq!(
        error,
        format!(
            "error: Argo CD v3.5.1 runs in namespace `{NAMESPACE}`; bootstrap would downgrade it to the pinned v2.12.3"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass `--allow-downgrade` if you mean to go back"),
        "{stderr}"
    );
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
    let allowed = gitgen(
        &repo,
        &[
            "bootstrap",
            "--argocd-manifest",
            INSTALL_YAML,
            "--allow-downgrade",
            "-o",
            "json",
        ],
    );
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

/// The pinned release's `install.yaml` with `extra` (YAML documents) after it, written into
/// `dir`: a manifest bootstrap accepts as the pin (its `argocd-server` image is v2.12.3)
/// that carries one more object for the API server to judge.
fn install_yaml_with(dir: &Path, name: &str, extra: &str) -> String {
    let path = dir.join(name);
    let install = fs_err::read_to_string(INSTALL_YAML).unwrap();
    fs_err::write(&path, format!("{install}\n---\n{extra}")).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_names_the_object_the_api_server_refuses_and_why() {
    const NS: &str = "argocd-faults-refused";
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    assert!(!namespace_exists(NS), "the namespace is this test's alone");

    // A kind the server does not serve: refused before the first write.
    let unserved = install_yaml_with(
        dir.path(),
        "unserved.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: gadget}\n",
    );
    let (error, stderr) = refusal(&gitgen(&repo, &["bootstrap", "--argocd-manifest", &unserved]));
    assert_eq!(
        error, "error: the cluster does not serve `example.com/v1` `Widget` (needed by Widget gadget)",
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: install the CRDs that serve `example.com/v1` first\n"),
        "{stderr}"
    );
    assert!(
        !namespace_exists(NS),
        "bootstrap wrote something before refusing an unserved kind"
    );

    // A field the API server's validation refuses (422): the object, the field and why.
    let invalid = install_yaml_with(
        dir.path(),
        "invalid.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: negative}\nspec:\n  replicas: -1\n  \
         selector: {matchLabels: {app: negative}}\n  template:\n    metadata: {labels: {app: negative}}\n    \
         spec: {containers: [{name: c, image: busybox}]}\n",
    );
    let (error, stderr) = refusal(&gitgen(&repo, &["bootstrap", "--argocd-manifest", &invalid]));
    assert_eq!(
        error,
        format!(
            "error: applying Deployment {NS}/negative failed: Deployment.apps \"negative\" is invalid: spec.replicas: \
             Invalid value: -1: must be greater than or equal to 0"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: the API server names the field it refuses: correct it in the manifest"),
        "{stderr}"
    );
    assert!(
        !kubectl(&["get", "deployment", "negative", "-n", NS]).status.success(),
        "a refused object was stored"
    );

    // An object in a namespace that does not exist (404): named, with what to do.
    let homeless = install_yaml_with(
        dir.path(),
        "homeless.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: homeless, namespace: nowhere-faults}\n",
    );
    let (error, stderr) = refusal(&gitgen(&repo, &["bootstrap", "--argocd-manifest", &homeless]));
    assert_eq!(
        error, "error: applying ConfigMap nowhere-faults/homeless failed: namespaces \"nowhere-faults\" not found",
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: create namespace `nowhere-faults` first, or add its Namespace to the manifest"),
        "{stderr}"
    );
    assert!(!namespace_exists("nowhere-faults"));
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_as_a_user_without_permissions_is_refused_before_anything_is_applied_naming_each_verb() {
    const NS: &str = "argocd-faults-jane";
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    // `jane` is a user of the shared control plane with no role at all (../shared/k8s/README.md).
    let refused = gitgen(
        &repo,
        &["bootstrap", "--context", "jane", "--argocd-manifest", INSTALL_YAML],
    );
    let (error, stderr) = refusal(&refused);
    assert_eq!(
        error,
        format!(
            "error: you may not create `customresourcedefinitions.apiextensions.k8s.io`, create `namespaces`, \
             create `clusterroles.rbac.authorization.k8s.io`, create `clusterrolebindings.rbac.authorization.k8s.io`, \
             patch `deployments.apps` in namespace `{NS}`, patch `configmaps` in namespace `{NS}`, \
             create `secrets` in namespace `{NS}`, patch `applications.argoproj.io` in namespace `{NS}`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: bootstrap installs cluster-wide objects: use a cluster-admin context"),
        "{stderr}"
    );
    assert!(!stderr.contains("created "), "nothing is applied: {stderr}");
    assert!(!namespace_exists(NS), "a refused bootstrap applied something");
}

/// `gitgen bootstrap -o json` of the pinned release in `repo`, which must succeed: its
/// JSON report and what it printed on stderr.
fn bootstrap_report(repo: &Path) -> (serde_json::Value, String) {
    let run = gitgen(repo, &["bootstrap", "--argocd-manifest", INSTALL_YAML, "-o", "json"]);
    let stderr = stderr_of(&run, 0);
    (serde_json::from_slice(&run.stdout).unwrap(), stderr)
}

/// Asserts that a bootstrap's JSON report created and configured nothing.
fn assert_unchanged(report: &serde_json::Value) {
    assert_eq!(
        (report["created"].as_u64(), report["configured"].as_u64()),
        (Some(0), Some(0)),
        "{report:#}"
    );
}

/// `gitgen enable deployments` then `gitgen bootstrap -o json` of the pinned release into
/// namespace `ns`, which must not exist yet; the JSON report, checked.
fn bootstrap_with_deployments_enabled(repo: &Path, ns: &str) -> serde_json::Value {
    assert!(!namespace_exists(ns), "the namespace is this test's alone");
    assert_eq!(gitgen(repo, &["enable", "deployments"]).status.code(), Some(0));
    let (report, _) = bootstrap_report(repo);
    assert_eq!(report["environment"], "docker-desktop", "{report:#}");
    assert_eq!(report["adopted"], serde_json::Value::Null, "{report:#}");
    let objects = report["objects"].as_array().unwrap();
    // CRDs first, then the Namespace, ..., the root Application last (`cluster::apply::phase`).
    let position = |kind: &str| objects.iter().position(|o| o["object"]["kind"] == kind).unwrap();
    assert_eq!(position("CustomResourceDefinition"), 0, "{report:#}");
    let namespace = &objects[position("Namespace")];
    assert_eq!(
        *namespace,
        serde_json::json!({"object": {"api_version": "v1", "kind": "Namespace", "namespace": null, "name": ns}, "change": "created"})
    );
    assert!(
        objects[..position("Namespace")]
            .iter()
            .all(|o| o["object"]["kind"] == "CustomResourceDefinition"),
        "{report:#}"
    );
    assert_eq!(
        objects.last().unwrap()["object"]["kind"],
        "Application",
        "the root Application goes last: {report:#}"
    );
    let counted = ["created", "configured", "unchanged"].map(|change| report[change].as_u64().unwrap());
    assert_eq!(counted.iter().sum::<u64>(), objects.len() as u64, "{report:#}");
    // Only the cluster-wide CRDs and RBAC may exist from another test's bootstrap.
    for object in objects.iter().filter(|o| o["object"]["namespace"] == ns) {
        assert_eq!(object["change"], "created", "{object}");
    }
    report
}

/// The status Argo CD writes for a lesson whose Deployment never becomes available (no
/// nodes) and whose Service differs from git.
fn degraded_status() -> serde_json::Value {
    serde_json::json!({
        "sync": {"status": "OutOfSync", "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
        "health": {"status": "Degraded", "message": "Deployment \"probe-test-app\" exceeded its progress deadline"},
        "resources": [
            {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "deployments", "name": "probe-test-app",
             "status": "Synced", "health": {"status": "Degraded", "message": "Deployment \"probe-test-app\" exceeded its progress deadline"}},
            {"version": "v1", "kind": "Service", "namespace": "deployments", "name": "probe-test-app", "status": "OutOfSync"},
            {"version": "v1", "kind": "ConfigMap", "namespace": "deployments", "name": "settings", "status": "Synced",
             "health": {"status": "Healthy"}},
        ],
    })
}

/// The `gitgen status` table line of `lesson`, its cells one space apart.
fn table_line(table: &str, lesson: &str) -> String {
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(lesson))
        .unwrap_or_else(|| panic!("no row for {lesson}:\n{table}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn status_rows_come_from_applications_with_a_real_status_and_watch_follows_them() {
    const NS: &str = "argocd-faults-status";
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    bootstrap_with_deployments_enabled(&repo, NS);
    // The lesson's Application as the root Application's sync creates it from git.
    let application = repo.join("argocd/docker-desktop/apps/deployments.application.yaml");
    let created = kubectl(&[
        "apply",
        "--server-side",
        "--field-manager",
        "argocd-controller",
        "-f",
        application.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{}", text(&created));
    write_application_status(dir.path(), NS, "deployments", degraded_status());

    let status = gitgen(&repo, &["status", "-o", "json"]);
    stderr_of(&status, 0);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["cluster"], serde_json::json!({"reachable": true}));
    let row = status["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["lesson"] == "deployments")
        .unwrap();
    let labels = kubectl_json(&["get", "application", "deployments", "-n", NS])["metadata"]["labels"].clone();
    assert_eq!(
        *row,
        serde_json::json!({
            "lesson": "deployments", "enabled_stage": "v2", "rendered_fresh": true,
            "app": {
                "name": "deployments", "labels": labels, "sync": "OutOfSync", "health": "Degraded",
                "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "message": "Deployment \"probe-test-app\" exceeded its progress deadline",
                "problems": [
                    {"kind": "Deployment", "namespace": "deployments", "name": "probe-test-app", "sync": "Synced",
                     "health": "Degraded", "message": "Deployment \"probe-test-app\" exceeded its progress deadline"},
                    {"kind": "Service", "namespace": "deployments", "name": "probe-test-app", "sync": "OutOfSync",
                     "health": null, "message": null},
                ],
            },
        })
    );
    assert_eq!(labels["gitgen.io/lesson"], "deployments");
    let others = status["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["lesson"] != "deployments");
    assert_eq!(others.clone().count(), 21);
    for row in others {
        assert_eq!(row["app"], serde_json::Value::Null, "{row}");
    }

    // `status --watch` prints the table at once and again every 5 s: the second shows the
    // status Argo CD wrote meanwhile. It never ends by itself, so the test stops it.
    let mut watch = e2e::gitgen(&repo, &["status", "--watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut rows = Vec::new();
    while rows.len() < 2 {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "`status --watch` printed {} row(s) of deployments in 30 s: {rows:?}",
                    rows.len()
                )
            });
        if line.starts_with("deployments ") {
            rows.push(table_line(&line, "deployments"));
            if rows.len() == 1 {
                write_application_status(
                    dir.path(),
                    NS,
                    "deployments",
                    serde_json::json!({"sync": {"status": "Synced", "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
                                       "health": {"status": "Healthy"}, "resources": []}),
                );
            }
        }
    }
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert_eq!(
        rows,
        [
            "deployments v2 fresh OutOfSync Degraded 4b825dc Deployment deployments/probe-test-app Degraded \
             (Deployment \"probe-test-app\" exceeded its progress deadline); Service deployments/probe-test-app OutOfSync",
            "deployments v2 fresh Synced Healthy 4b825dc -",
        ]
    );

    // A mix: two more lessons enabled, their Applications created as the root
    // Application's sync creates them, one still progressing through a sync, one
    // converged, and deployments out of sync and degraded again. The whole table.
    for lesson in ["jobs-cronjobs", "daemonsets"] {
        assert_eq!(gitgen(&repo, &["enable", lesson]).status.code(), Some(0));
        let application = repo.join(format!("argocd/docker-desktop/apps/{lesson}.application.yaml"));
        let created = kubectl(&[
            "apply",
            "--server-side",
            "--field-manager",
            "argocd-controller",
            "-f",
            application.to_str().unwrap(),
        ]);
        assert!(created.status.success(), "{}", text(&created));
    }
    write_application_status(dir.path(), NS, "deployments", degraded_status());
    write_application_status(
        dir.path(),
        NS,
        "jobs-cronjobs",
        serde_json::json!({
            "sync": {"status": "Synced", "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
            "health": {"status": "Progressing"},
            "operationState": {"operation": {"sync": {"revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}},
                               "phase": "Running", "message": "waiting for healthy state of batch/v1/CronJob/report",
                               "startedAt": "2026-01-05T09:00:00Z"},
            "resources": [{"group": "batch", "version": "v1", "kind": "CronJob", "namespace": "jobs-cronjobs",
                           "name": "report", "status": "Synced", "health": {"status": "Progressing"}}],
        }),
    );
    write_application_status(
        dir.path(),
        NS,
        "daemonsets",
        serde_json::json!({
            "sync": {"status": "Synced", "revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
            "health": {"status": "Healthy"},
            "operationState": {"operation": {"sync": {"revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}},
                               "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                               "startedAt": "2026-01-05T09:00:00Z", "finishedAt": "2026-01-05T09:00:05Z"},
            "resources": [],
        }),
    );
    let table = gitgen(&repo, &["status"]);
    stderr_of(&table, 0);
    assert_eq!(
        String::from_utf8_lossy(&table.stdout),
        concat!(
            "LESSON                ENABLED  RENDERED  SYNC       HEALTH       REVISION  PROBLEMS\n",
            "argo-rollouts         no       fresh     -          -            -         -\n",
            "argocd                no       fresh     -          -            -         -\n",
            "autoscaling-hpa       no       fresh     -          -            -         -\n",
            "daemonsets            explore  fresh     Synced     Healthy      4b825dc   -\n",
            "deployments           v2       fresh     OutOfSync  Degraded     4b825dc   Deployment deployments/probe-test-app Degraded (Deployment \"probe-test-app\" exceeded its progress deadline); Service deployments/probe-test-app OutOfSync\n",
            "gatekeeper            no       fresh     -          -            -         -\n",
            "gateway-api           no       fresh     -          -            -         -\n",
            "helm                  no       fresh     -          -            -         -\n",
            "ingress               no       fresh     -          -            -         -\n",
            "istio                 no       fresh     -          -            -         -\n",
            "jobs-cronjobs         cronjob  fresh     Synced     Progressing  4b825dc   CronJob jobs-cronjobs/report Progressing\n",
            "keda                  no       fresh     -          -            -         -\n",
            "kustomize             no       fresh     -          -            -         -\n",
            "limits                no       fresh     -          -            -         -\n",
            "monitoring            upgrade  fresh     -          -            -         -\n",
            "pod-security          no       fresh     -          -            -         -\n",
            "pods-probes-services  no       fresh     -          -            -         -\n",
            "rbac                  no       fresh     -          -            -         -\n",
            "replicasets           no       fresh     -          -            -         -\n",
            "sidecar-init          no       fresh     -          -            -         -\n",
            "statefulsets          no       fresh     -          -            -         -\n",
            "storage               no       fresh     -          -            -         -\n",
        ),
        "the table, each Application by its status"
    );
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_wait_times_out_naming_each_lesson_and_the_repo_password_goes_only_into_its_secret() {
    const NS: &str = "argocd-faults-wait";
    const PASSWORD: &str = "e2e-repo-password-5c1f9a";
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    assert!(!namespace_exists(NS), "the namespace is this test's alone");
    assert_eq!(gitgen(&repo, &["enable", "deployments"]).status.code(), Some(0));
    let args = [
        "bootstrap",
        "--wait",
        "--timeout",
        "5",
        "--repo-username",
        "trainer",
        "--argocd-manifest",
        INSTALL_YAML,
    ];
    let started = std::time::Instant::now();
    let waited = logged(e2e::gitgen(&repo, &args).env("GITGEN_REPO_PASSWORD", PASSWORD), &args);
    let elapsed = started.elapsed();
    let (error, stderr) = refusal(&waited);
    // No node runs Argo CD's controllers, so the root Application is never synced and the
    // lesson's Application never appears.
    assert_eq!(error, "error: 1 lesson(s) did not converge within 5s:", "{stderr}");
    assert!(
        stderr.contains("\n  deployments: Missing, Missing: no Application yet\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: look at the lessons with `gitgen status`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[------------------------------] 0/1 lessons Synced and Healthy\n"),
        "{stderr}"
    );
    assert!(
        elapsed >= std::time::Duration::from_secs(5) && elapsed < std::time::Duration::from_secs(60),
        "waited {elapsed:?}"
    );

    // The Secret Argo CD clones with holds the credentials...
    let secret = kubectl_json(&["get", "secret", "gitgen-repository", "-n", NS]);
    assert_eq!(
        secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
        "repository"
    );
    let decoded = |key: &str| {
        let encoded = secret["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}: {secret:#}"));
        let decoded = std::process::Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(encoded.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8(decoded.stdout).unwrap()
    };
    assert_eq!(decoded("password"), PASSWORD);
    assert_eq!(decoded("username"), "trainer");
    assert_eq!(decoded("url"), e2e::REPO_URL);
    // ... and nothing else: not gitgen's output, nor any file it wrote.
    assert!(!text(&waited).contains(PASSWORD), "{}", text(&waited));
    let mut files = vec![dir.path().to_owned()];
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(fs_err::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else {
            let bytes = fs_err::read(&path).unwrap();
            assert!(
                !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
                "{} holds the password",
                path.display()
            );
            read += 1;
        }
    }
    assert!(read > 100, "only {read} file(s) read: the walk missed the repo");
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_adopts_an_argocd_installed_with_kubectl_apply_and_keeps_what_its_manifest_does_not_set() {
    const NS: &str = "argocd-faults-kubectl";
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    assert!(!namespace_exists(NS), "the namespace is this test's alone");
    // Argo CD's namespaced objects, installed the way upstream's getting-started guide
    // does: a client-side `kubectl apply`. (Its CRDs and cluster RBAC are cluster-wide,
    // shared with the other tests' bootstraps, and left out.)
    let install = fs_err::read_to_string(INSTALL_YAML).unwrap();
    let namespaced: Vec<&str> = install
        .split("\n---\n")
        .filter(|document| {
            !["CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"]
                .iter()
                .any(|kind| document.contains(&format!("\nkind: {kind}\n")))
        })
        .collect();
    assert_eq!(namespaced.len(), 50, "upstream v2.12.3 has 50 namespaced objects");
    let manifest = dir.path().join("namespaced.yaml");
    fs_err::write(&manifest, namespaced.join("\n---\n")).unwrap();
    let created = kubectl(&["create", "namespace", NS]);
    assert!(created.status.success(), "{}", text(&created));
    let applied = kubectl(&["apply", "-n", NS, "-f", manifest.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", text(&applied));
    // A label someone added by hand: not in the manifest, so adoption leaves it.
    let labelled = kubectl(&[
        "label",
        "deployment",
        "argocd-server",
        "-n",
        NS,
        "course.example/owner=trainer",
    ]);
    assert!(labelled.status.success(), "{}", text(&labelled));
    let managers = |what: &str| -> Vec<(String, String)> {
        let server = kubectl_json(&["get", "deployment", "argocd-server", "-n", NS, "--show-managed-fields"]);
        let mut managers: Vec<(String, String)> = server["metadata"]["managedFields"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no managedFields"))
            .iter()
            // The deployment controller's entries (revision annotation, status) come
            // whenever it gets to them: not this test's subject.
            .filter(|m| m["subresource"].is_null() && m["manager"] != "kube-controller-manager")
            .map(|m| {
                (
                    m["manager"].as_str().unwrap().to_owned(),
                    m["operation"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        managers.sort();
        managers
    };
    assert_eq!(
        managers("before"),
        [
            ("kubectl-client-side-apply".to_owned(), "Update".to_owned()),
            ("kubectl-label".to_owned(), "Update".to_owned())
        ]
    );

    let (report, stderr) = bootstrap_report(&repo);
    assert!(stderr.contains("Adopting the Argo CD already installed: "), "{stderr}");
    assert_eq!(
        report["adopted"],
        format!(
            "Argo CD in namespace `{NS}` was installed by `kubectl-client-side-apply`; \
             gitgen takes over the fields its manifest sets and leaves the rest alone"
        ),
        "{report:#}"
    );
    // Every object kubectl had applied is taken over: configured (it gains gitgen's hash),
    // none created anew.
    let change_of = |kind: &str, name: &str| {
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["object"]["kind"] == kind && o["object"]["name"] == name && o["object"]["namespace"] == NS)
            .map(|o| o["change"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{kind} {name} not in {report:#}"))
    };
    assert_eq!(change_of("Deployment", "argocd-server"), "configured");
    assert_eq!(change_of("StatefulSet", "argocd-application-controller"), "configured");
    assert_eq!(change_of("ConfigMap", "argocd-cm"), "configured");
    assert_eq!(change_of("Secret", "argocd-secret"), "configured");
    assert_eq!(
        managers("after"),
        [
            ("gitgen".to_owned(), "Apply".to_owned()),
            ("kubectl-client-side-apply".to_owned(), "Update".to_owned()),
            ("kubectl-label".to_owned(), "Update".to_owned()),
        ],
        "kubectl keeps only the fields the manifest does not set"
    );
    let server = kubectl_json(&["get", "deployment", "argocd-server", "-n", NS]);
    assert_eq!(
        server["metadata"]["labels"]["course.example/owner"], "trainer",
        "the hand-made label stays"
    );
    assert!(
        server["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string(),
        "kubectl's own annotation stays: {server:#}"
    );

    // A second bootstrap finds Argo CD as gitgen left it: nothing to adopt, nothing changed.
    let (report, _) = bootstrap_report(&repo);
    assert_eq!(report["adopted"], serde_json::Value::Null, "{report:#}");
    assert_unchanged(&report);
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_restores_a_field_edited_by_hand_since_it_applied_it_and_names_the_object() {
    const NS: &str = "argocd-faults-edited";
    let key = gitgen::argocd_install::TRACKING_METHOD_KEY;
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    assert!(!namespace_exists(NS), "the namespace is this test's alone");
    let tracking = || kubectl_json(&["get", "configmap", "argocd-cm", "-n", NS])["data"][key].clone();
    bootstrap_report(&repo);
    assert_eq!(tracking(), "annotation");

    // A field gitgen applies, changed by another field manager (`kubectl-patch`); and a
    // label gitgen does not apply, added by hand (`kubectl-label`).
    let patch = format!(r#"{{"data": {{"{key}": "label"}}}}"#);
    let patched = kubectl(&[
        "patch",
        "configmap",
        "argocd-cm",
        "-n",
        NS,
        "--type",
        "merge",
        "-p",
        &patch,
    ]);
    assert!(patched.status.success(), "{}", text(&patched));
    let labelled = kubectl(&[
        "label",
        "deployment",
        "argocd-server",
        "-n",
        NS,
        "course.example/owner=trainer",
    ]);
    assert!(labelled.status.success(), "{}", text(&labelled));
    assert_eq!(tracking(), "label");

    let (report, stderr) = bootstrap_report(&repo);
    let changed: Vec<&serde_json::Value> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["change"] != "unchanged")
        .collect();
    assert_eq!(
        changed,
        [&serde_json::json!({
            "object": {"api_version": "v1", "kind": "ConfigMap", "namespace": NS, "name": "argocd-cm"},
            "change": "configured",
            "restored_from": "kubectl-patch"
        })],
        "only the edited object is applied again: {report:#}"
    );
    assert!(
        stderr.contains(&format!(
            "configured ConfigMap {NS}/argocd-cm (restored: `kubectl-patch` had edited it)\n"
        )),
        "{stderr}"
    );
    assert_eq!(tracking(), "annotation", "the edit is undone");
    let server = kubectl_json(&["get", "deployment", "argocd-server", "-n", NS]);
    assert_eq!(
        server["metadata"]["labels"]["course.example/owner"], "trainer",
        "a field gitgen does not apply stays"
    );

    // Restored, argocd-cm's fields are gitgen's again: the next bootstrap changes nothing.
    let (report, _) = bootstrap_report(&repo);
    assert_unchanged(&report);
}

#[test]
#[ignore = "needs a real cluster: GITGEN_E2E_KUBECONFIG (see the module docs)"]
fn bootstrap_restores_a_field_removed_by_hand_since_it_applied_it_and_names_the_field() {
    const NS: &str = "argocd-faults-removed";
    const LABEL: &str = "app.kubernetes.io/part-of";
    let key = gitgen::argocd_install::TRACKING_METHOD_KEY;
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course_in(dir.path(), NS);
    assert!(!namespace_exists(NS), "the namespace is this test's alone");
    let config = || kubectl_json(&["get", "configmap", "argocd-cm", "-n", NS]);
    let server = || kubectl_json(&["get", "deployment", "argocd-server", "-n", NS]);
    bootstrap_report(&repo);
    assert_eq!(config()["data"][key], "annotation");
    assert_eq!(server()["metadata"]["labels"][LABEL], "argocd");

    // Two fields gitgen applied, removed as a user would: a ConfigMap key by a JSON patch
    // and a label by `kubectl label KEY-`. Both are Updates, after which no field manager
    // owns the field (structured-merge-diff `merge/update.go` takes a removed field out
    // of every manager's set), and the objects keep gitgen's applied hash.
    let pointer = format!("/data/{}", key.replace('~', "~0").replace('/', "~1"));
    let patch = serde_json::json!([{"op": "remove", "path": pointer}]).to_string();
    let removed = kubectl(&["patch", "configmap", "argocd-cm", "-n", NS, "--type=json", "-p", &patch]);
    assert!(removed.status.success(), "{}", text(&removed));
    let unlabelled = kubectl(&["label", "deployment", "argocd-server", "-n", NS, &format!("{LABEL}-")]);
    assert!(unlabelled.status.success(), "{}", text(&unlabelled));
    assert_eq!(config()["data"][key], serde_json::Value::Null);
    assert_eq!(server()["metadata"]["labels"][LABEL], serde_json::Value::Null);

    let (report, stderr) = bootstrap_report(&repo);
    let changed: Vec<&serde_json::Value> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["change"] != "unchanged")
        .collect();
    assert_eq!(
        changed,
        [
            &serde_json::json!({
                "object": {"api_version": "v1", "kind": "ConfigMap", "namespace": NS, "name": "argocd-cm"},
                "change": "configured",
                "restored": format!("data[\"{key}\"]")
            }),
            &serde_json::json!({
                "object": {"api_version": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "argocd-server"},
                "change": "configured",
                "restored": format!("metadata.labels[\"{LABEL}\"]")
            })
        ],
        "only the two objects are applied again, each naming the field it restores: {report:#}"
    );
    assert!(
        stderr.contains(&format!(
            "configured ConfigMap {NS}/argocd-cm (restored: `data[\"{key}\"]` had been removed)\n\
             configured Deployment {NS}/argocd-server (restored: `metadata.labels[\"{LABEL}\"]` had been removed)\n"
        )),
        "{stderr}"
    );
    assert_eq!(config()["data"][key], "annotation", "the key is back on the server");
    assert_eq!(server()["metadata"]["labels"][LABEL], "argocd", "the label is back");

    // Restored, both objects' fields are in gitgen's entry again: nothing to apply.
    let (report, _) = bootstrap_report(&repo);
    assert_unchanged(&report);
}
