//! Request-level tests against the in-memory fake API server in `fake.rs`.

use std::time::Duration;

use serde_json::json;

use super::fake::{self, Scenario};
use super::*;
use gitgen_catalog::labels::APPLIED_HASH_ANNOTATION;

const CRD: &str = "
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.argoproj.io}
spec: {group: argoproj.io, names: {kind: Application, plural: applications}, scope: Namespaced}
";

fn root_application() -> serde_json::Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "root", "namespace": "argocd"},
           "spec": {"project": "course", "source": {"repoURL": "https://git.example/course.git", "path": "argocd/kind"}}})
}

const INSTALL_YAML: &str = concat!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
    "/../shared/crds/argocd-install/install.yaml"
);

fn plan(manifest: &str) -> BootstrapPlan {
    BootstrapPlan {
        argocd_namespace: "argocd".into(),
        argocd_manifest: manifest.to_owned(),
        argocd_manifest_origin: "install.yaml".into(),
        repo_credentials: Some(RepoCredentials {
            url: "https://git.example/course.git".into(),
            username: "u".into(),
            password: "hunter2".into(),
        }),
        root_objects: vec![
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "course"}, "spec": {}}),
            root_application(),
        ],
        crd_timeout: Duration::from_secs(5),
        wait: None,
    }
}

/// Preflight, then bootstrap, as `gitgen bootstrap` does.
async fn run(
    client: &kube::Client,
    plan: &BootstrapPlan,
    progress: &mut dyn FnMut(BootstrapEvent),
) -> Result<BootstrapReport, ClusterError> {
    let preflighted = preflight(client, &plan.argocd_namespace).await?;
    bootstrap(client, preflighted, plan, progress).await
}

fn position(log: &[String], needle: &str) -> usize {
    log.iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no request with `{needle}` in {log:#?}"))
}

#[tokio::test]
async fn applies_crds_before_their_objects_and_namespaces_before_namespaced_objects() {
    let (client, state) = fake::client(Scenario::Empty);
    let objects = parse_manifest(
        &format!("{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: argocd}}\n---{CRD}",
            gitgen_yaml::to_string(&root_application())),
        "m.yaml",
    )
    .unwrap();
    let applied = apply_objects(&client, objects, "argocd", Duration::from_secs(5), &mut |_| {})
        .await
        .unwrap();

    let names: Vec<String> = applied.iter().map(|a| a.object.to_string()).collect();
    assert_eq!(
        names,
        [
            "CustomResourceDefinition applications.argoproj.io",
            "Namespace argocd",
            "ConfigMap argocd/settings",
            "Application argocd/root"
        ]
    );
    let writes = state.lock().unwrap().writes();
    assert_eq!(
        writes,
        [
            "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/applications.argoproj.io",
            "PATCH /api/v1/namespaces/argocd",
            "PATCH /api/v1/namespaces/argocd/configmaps/settings",
            "PATCH /apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root",
        ],
        "the ConfigMap without a namespace lands in the default namespace; the Application comes last"
    );
    let log = state.lock().unwrap().log.clone();
    assert!(
        position(&log, "customresourcedefinitions?") < position(&log, "PATCH /apis/argoproj.io"),
        "waits for the CRD first"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("fieldManager=gitgen") && l.contains("force=true"))
    );
}

#[tokio::test]
async fn a_second_apply_reports_every_object_unchanged() {
    let (client, _state) = fake::client(Scenario::Empty);
    let manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: web}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: web}}\ndata: {{k: v}}\n---{CRD}"
    );
    let first = apply_objects(
        &client,
        parse_manifest(&manifest, "m").unwrap(),
        "default",
        Duration::from_secs(5),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(first.iter().all(|a| a.change == Change::Created), "{first:?}");
    let second = apply_objects(
        &client,
        parse_manifest(&manifest, "m").unwrap(),
        "default",
        Duration::from_secs(5),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(second.iter().all(|a| a.change == Change::Unchanged), "{second:?}");
    let changed = manifest.replace("{k: v}", "{k: w}");
    let third = apply_objects(
        &client,
        parse_manifest(&changed, "m").unwrap(),
        "default",
        Duration::from_secs(5),
        &mut |_| {},
    )
    .await
    .unwrap();
    let configured: Vec<String> = third
        .iter()
        .filter(|a| a.change == Change::Configured)
        .map(|a| a.object.to_string())
        .collect();
    assert_eq!(configured, ["ConfigMap web/a"]);
}

#[tokio::test]
async fn an_object_edited_by_hand_since_gitgen_applied_it_is_applied_again_and_reported_restored() {
    let (client, state) = fake::client(Scenario::Empty);
    let manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: web}\ndata: {k: v}\n";
    let apply = async || {
        let objects = parse_manifest(manifest, "m").unwrap();
        apply_objects(&client, objects, "default", Duration::from_secs(5), &mut |_| {}).await
    };
    apply().await.unwrap();
    {
        // `kubectl edit`: the value changes and its field moves to kubectl's entry.
        let mut state = state.lock().unwrap();
        let cm = state.objects.get_mut("/configmaps/web/a").unwrap();
        cm["data"]["k"] = json!("edited");
        cm["metadata"]["resourceVersion"] = json!("100");
        cm["metadata"]["managedFields"] = json!([
            {"manager": "gitgen", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:annotations": {"f:gitgen.io/applied-hash": {}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}
        ]);
    }
    let writes_before = state.lock().unwrap().writes().len();

    let restored = apply().await.unwrap();
    let changed: Vec<(String, Change, Option<Restored>)> = restored
        .iter()
        .filter(|a| a.change != Change::Unchanged)
        .map(|a| (a.object.to_string(), a.change, a.restored.clone()))
        .collect();
    assert_eq!(
        changed,
        [(
            "ConfigMap web/a".to_owned(),
            Change::Configured,
            Some(Restored::EditedBy("kubectl-edit".to_owned()))
        )]
    );
    assert_eq!(state.lock().unwrap().objects["/configmaps/web/a"]["data"]["k"], "v");
    assert_eq!(
        state.lock().unwrap().writes()[writes_before..],
        ["PATCH /api/v1/namespaces/web/configmaps/a"],
        "only the edited object is applied again"
    );
    let again = apply().await.unwrap();
    assert!(
        again
            .iter()
            .all(|a| a.change == Change::Unchanged && a.restored.is_none()),
        "{again:?}"
    );
}

#[tokio::test]
async fn an_unserved_kind_is_an_error_naming_the_object_and_the_crds_to_install() {
    let (client, _state) = fake::client(Scenario::Empty);
    let objects = parse_manifest(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s, namespace: web}\n",
        "m",
    )
    .unwrap();
    let err = apply_objects(&client, objects, "default", Duration::from_secs(5), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the cluster does not serve `keda.sh/v1alpha1` `ScaledObject` (needed by ScaledObject web/s)"
    );
    assert_eq!(
        err.hint().unwrap(),
        "install the CRDs that serve `keda.sh/v1alpha1` first"
    );
}

#[tokio::test]
async fn bootstrap_installs_argocd_then_the_root_objects_and_a_second_run_changes_nothing() {
    let (client, state) = fake::client(Scenario::Empty);
    let manifest = fs_err::read_to_string(INSTALL_YAML).unwrap();
    let mut events = Vec::new();
    let report = run(&client, &plan(&manifest), &mut |e| events.push(e)).await.unwrap();

    assert_eq!(report.server_version, "v1.30.0");
    assert_eq!(report.adopted, None);
    // 59 upstream objects, the argocd Namespace, the repository Secret, the AppProject and
    // the root Application: no lesson Secret (lessons create their own).
    assert_eq!(report.objects.len(), 63);
    assert!(
        report.objects.iter().all(|o| o.change == Change::Created),
        "{:?}",
        report.objects
    );
    assert!(matches!(events[0], BootstrapEvent::PreflightPassed { .. }));
    assert!(
        !format!("{events:?}{report:?}").contains("hunter2"),
        "credentials never reach events or the report"
    );
    {
        let state = state.lock().unwrap();
        let cm = &state.objects["/configmaps/argocd/argocd-cm"];
        assert!(
            cm["data"][gitgen_base::argocd_install::APPLICATION_HEALTH_KEY]
                .as_str()
                .unwrap()
                .contains("hs.status")
        );
        let repo = &state.objects["/secrets/argocd/gitgen-repository"];
        assert_eq!(
            repo["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
            "repository"
        );
        assert_eq!(
            state.objects["argoproj.io/applications/argocd/root"]["spec"]["source"]["path"],
            "argocd/kind"
        );
        let writes = state.writes();
        assert!(writes[writes.len() - 1].ends_with("/applications/root"), "{writes:#?}");
        assert!(position(&writes, "/appprojects/course") < writes.len() - 1);
    }
    let writes_before = state.lock().unwrap().writes().len();

    let again = run(&client, &plan(&manifest), &mut |_| {}).await.unwrap();
    assert!(
        !again.changed_anything(),
        "{:?}",
        again
            .objects
            .iter()
            .filter(|o| o.change != Change::Unchanged)
            .collect::<Vec<_>>()
    );
    assert!(
        !state.lock().unwrap().objects.keys().any(|k| k.contains("lesson-db")),
        "lessons create their own Secrets: bootstrap makes none"
    );
    assert_eq!(
        state.lock().unwrap().writes().len(),
        writes_before,
        "the second run finds every object as it applied it and writes nothing"
    );
}

#[tokio::test]
async fn bootstrap_installs_into_the_argocd_namespace_of_the_settings() {
    let (client, state) = fake::client(Scenario::Empty);
    let manifest = fs_err::read_to_string(INSTALL_YAML).unwrap();
    let mut plan = BootstrapPlan {
        argocd_namespace: "argocd-course".into(),
        ..plan(&manifest)
    };
    // Rendered with `argocd.namespace: argocd-course`, as render does.
    plan.root_objects[1]["metadata"]["namespace"] = "argocd-course".into();
    run(&client, &plan, &mut |_| {}).await.unwrap();
    let state = state.lock().unwrap();
    assert!(state.objects.contains_key("/namespaces//argocd-course"));
    assert!(
        state
            .objects
            .contains_key("apps/deployments/argocd-course/argocd-server")
    );
    assert!(state.objects.contains_key("/configmaps/argocd-course/argocd-cm"));
    assert!(state.objects.contains_key("/secrets/argocd-course/gitgen-repository"));
    assert!(
        !state.objects.keys().any(|k| k.contains("/argocd/")),
        "nothing lands in `argocd`"
    );
    let binding = &state.objects["rbac.authorization.k8s.io/clusterrolebindings//argocd-server"];
    assert_eq!(binding["subjects"][0]["namespace"], "argocd-course");
    assert!(
        state.log.iter().any(|l| l.contains("selfsubjectaccessreviews")),
        "preflight ran"
    );
}

#[tokio::test]
async fn an_object_changed_since_gitgens_apply_is_applied_again_and_reported_configured() {
    let (client, state) = fake::client(Scenario::Empty);
    let manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: web}\ndata: {k: v}\n";
    let apply = async || {
        apply_objects(
            &client,
            parse_manifest(manifest, "m").unwrap(),
            "default",
            Duration::from_secs(5),
            &mut |_| {},
        )
        .await
    };
    apply().await.unwrap();
    state.lock().unwrap().objects.get_mut("/configmaps/web/a").unwrap()["metadata"]["annotations"]
        [APPLIED_HASH_ANNOTATION] = "edited".into();
    let again = apply().await.unwrap();
    assert_eq!(again[0].change, Change::Unchanged);
    assert_eq!(
        again[1].change,
        Change::Configured,
        "the hash no longer matches, so gitgen applies"
    );
}

#[tokio::test]
async fn a_forbidden_preflight_stops_before_any_write_and_hints_at_cluster_admin() {
    let (client, state) = fake::client(Scenario::CannotCreateCrds);
    let err = run(&client, &plan(CRD), &mut |_| {}).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "you may not create `customresourcedefinitions.apiextensions.k8s.io`"
    );
    assert!(err.hint().unwrap().contains("cluster-admin"));
    assert!(state.lock().unwrap().writes().is_empty());
}

#[tokio::test]
async fn bootstrap_adopts_an_argocd_installed_by_kubectl_and_says_so() {
    let (client, _state) = fake::client(Scenario::ArgoCdInstalledByKubectl);
    let mut adopting = None;
    let report = run(&client, &plan(CRD), &mut |e| {
        if let BootstrapEvent::Adopting { reason } = e {
            adopting = Some(reason);
        }
    })
    .await
    .unwrap();
    assert!(
        report
            .adopted
            .as_deref()
            .unwrap()
            .contains("`kubectl-client-side-apply`")
    );
    assert_eq!(adopting, report.adopted);
}

#[tokio::test]
async fn dry_run_reports_rejections_missing_kinds_and_missing_namespaces_by_origin() {
    let (client, _state) = fake::client(Scenario::RejectsObjectsNamedRejected);
    apply_objects(
        &client,
        parse_manifest("apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n", "m").unwrap(),
        "default",
        Duration::from_secs(5),
        &mut |_| {},
    )
    .await
    .unwrap();
    let object = |lesson: &str, value: serde_json::Value| ServerObject {
        origin: Origin {
            lesson: lesson.into(),
            file: format!("generated/{lesson}/all.yaml").into(),
        },
        object: value,
        namespace: "default".into(),
    };
    let objects = [
        object(
            "basics",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ok", "namespace": "web"}}),
        ),
        object(
            "basics",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "rejected", "namespace": "web"}}),
        ),
        object(
            "autoscaling",
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "s", "namespace": "web"}}),
        ),
        object(
            "later",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "not-yet"}}),
        ),
    ];
    let report = dry_run(&client, &objects, &gitgen_validate::CrdSchemas::default())
        .await
        .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(report.rejections.len(), 1);
    let rejection = &report.rejections[0];
    assert_eq!(
        (rejection.origin.lesson.as_str(), rejection.object.to_string()),
        ("basics", "Deployment web/rejected".into())
    );
    assert!(rejection.message.contains("must be >= 0"));
    assert_eq!(report.missing_kinds.len(), 1);
    assert_eq!(
        (
            report.missing_kinds[0].group.as_str(),
            report.missing_kinds[0].kind.as_str()
        ),
        ("keda.sh", "ScaledObject")
    );
    assert!(report.missing_kinds[0].lessons.contains("autoscaling"));
    assert_eq!(report.unverified.len(), 1);
    assert!(report.unverified[0].reason.contains("`not-yet`"));
    assert!(report.created_namespaces.is_empty());
    assert!(!report.passed());
}

#[tokio::test]
async fn dry_run_on_a_fresh_cluster_creates_the_lessons_namespaces_and_checks_unserved_kinds_against_their_crds() {
    let (client, state) = fake::client(Scenario::Empty);
    let object = |value: serde_json::Value| ServerObject {
        origin: Origin {
            lesson: "autoscaling".into(),
            file: "generated/autoscaling/all.yaml".into(),
        },
        object: value,
        namespace: "scaling".into(),
    };
    let objects = [
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scaling", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}),
        ),
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})),
        object(
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "ok"}, "spec": {"replicas": 1}}),
        ),
        object(
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "bad"}, "spec": {"replicas": "one"}}),
        ),
    ];
    let schemas = gitgen_validate::CrdSchemas::from_documents([json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "scaledobjects.keda.sh"},
        "spec": {"group": "keda.sh", "scope": "Namespaced", "names": {"kind": "ScaledObject", "plural": "scaledobjects"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}}]}
    })])
    .unwrap();
    let report = dry_run(&client, &objects, &schemas).await.unwrap();
    assert_eq!(report.created_namespaces, ["scaling"]);
    assert_eq!(
        state.lock().unwrap().objects["/namespaces//scaling"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "baseline",
        "the lesson's own Namespace, labels and all"
    );
    assert_eq!((report.accepted, report.checked_offline), (2, 1), "{report:#?}");
    assert_eq!(report.rejections.len(), 1, "{report:#?}");
    assert_eq!(report.rejections[0].object.name, "bad");
    assert!(report.rejections[0].message.contains("CRD schema"));
    assert!(report.missing_kinds.is_empty() && report.unverified.is_empty());
    let checked: Vec<_> = report
        .schema_checked_kinds
        .iter()
        .map(|k| (k.group.as_str(), k.kind.as_str()))
        .collect();
    assert_eq!(
        checked,
        [("keda.sh", "ScaledObject")],
        "the kind, once, whatever the verdicts"
    );
}

#[tokio::test]
async fn status_without_argocd_says_to_bootstrap() {
    let (client, _state) = fake::client(Scenario::Empty);
    let err = application_statuses(&client, "argocd").await.unwrap_err();
    assert!(matches!(err, ClusterError::ArgoCdMissing));
    assert_eq!(err.hint().unwrap(), "run `gitgen bootstrap` first");
}

async fn cluster_with_applications(health: &str) -> kube::Client {
    let (client, _state) = fake::client(Scenario::Empty);
    let mut manifest = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: argocd}}\n---{CRD}");
    for name in ["basics", "ingress"] {
        manifest.push_str(&format!(
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd}}\nstatus: {{sync: {{status: Synced, revision: abc}}, health: {{status: {health}}}}}\n"
        ));
    }
    apply_objects(
        &client,
        parse_manifest(&manifest, "m").unwrap(),
        "argocd",
        Duration::from_secs(5),
        &mut |_| {},
    )
    .await
    .unwrap();
    client
}

#[tokio::test]
async fn lists_application_statuses_by_name() {
    let client = cluster_with_applications("Healthy").await;
    let statuses = application_statuses(&client, "argocd").await.unwrap();
    let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["basics", "ingress"]);
    assert!(statuses.iter().all(AppStatus::converged));
}

#[tokio::test]
async fn watch_returns_once_every_expected_lesson_is_synced_and_healthy() {
    let client = cluster_with_applications("Healthy").await;
    let mut updates = Vec::new();
    let expected = ["basics".to_owned(), "ingress".to_owned()];
    watch_applications(&client, "argocd", &expected, Duration::from_secs(5), &mut |rows| {
        updates.push(rows.to_vec())
    })
    .await
    .unwrap();
    assert!(updates.last().unwrap().iter().all(|row| row.converged));
}

#[tokio::test]
async fn watch_times_out_naming_the_lessons_that_did_not_converge_and_why() {
    let client = cluster_with_applications("Progressing").await;
    let expected = ["basics".to_owned(), "missing".to_owned()];
    let err = watch_applications(&client, "argocd", &expected, Duration::from_millis(300), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 lesson(s) did not converge within 300ms:\n  basics: Synced, Progressing\n  missing: Missing, Missing: no Application yet"
    );
}
