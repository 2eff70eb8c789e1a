//! The policy, as an attacker meets it: each escape of issue 14 ("Policy escapes",
//! "Secrets reach git") tried on the `small` fixture through the real binary, refused with
//! exit 2, the file, line and field, and a `hint:`, with nothing rendered. Then the course
//! itself: every Application's resources are permitted by its AppProject, checked the way
//! Argo CD checks them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::argocd_rules::{Destination, is_destination_permitted, is_group_kind_permitted, is_source_permitted};
use crate::support::{Repo, Run};

const ALPHA: &str = "catalog/alpha/lesson.yaml";
const BETA: &str = "catalog/beta/lesson.yaml";
const POD: &str = "catalog/alpha/pod.yaml";
/// A GitHub-token-shaped string, put together here so no file of this repo holds one.
fn token() -> String {
    format!("ghp_{}", "abcdefghijklmnopqrstuvwxyz0123456789")
}

/// Replaces the first `from` in a repo file with `to`; `from` must be there.
fn edit(repo: &Repo, path: &str, from: &str, to: &str) {
    let text = repo.read(path);
    assert!(text.contains(from), "`{from}` is not in {path}");
    repo.write(path, &text.replacen(from, to, 1));
}

/// Exit 2, an `error:` naming the place, a `hint:`, no panic, and nothing rendered.
#[track_caller]
fn refused(repo: &Repo, run: &Run, place: &str) {
    run.expect(2);
    assert!(!run.stderr.contains("panicked"), "{}", run.transcript());
    assert!(run.stderr.starts_with("error: "), "{}", run.transcript());
    assert!(run.stderr.contains("\nhint: "), "{}", run.transcript());
    assert!(
        run.stderr.contains(place),
        "`{place}` is not named\n{}",
        run.transcript()
    );
    for output in ["generated", "argocd", "gitgen.lock"] {
        assert!(!repo.exists(output), "`{output}` was written\n{}", run.transcript());
    }
}

macro_rules! escape {
    ($name:ident, $place:expr, |$repo:ident| $mutate:block) => {
        #[test]
        fn $name() {
            let $repo = Repo::fixture("small");
            $mutate
            let run = $repo.gitgen(&["render"]);
            refused(&$repo, &run, $place);
            insta::assert_snapshot!(stringify!($name), run.transcript());
        }
    };
}

/// A `kind: List` holding `item` (indented as a list entry).
fn list_of(item: &str) -> String {
    let indented: Vec<String> = item
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("  - {l}") } else { format!("    {l}") })
        .collect();
    format!("apiVersion: v1\nkind: List\nitems:\n{}\n", indented.join("\n"))
}

/// alpha's Pod with `spec_lines` added under `spec:` and `container_lines` under its
/// container (both indented as they sit there).
fn pod_with(spec_lines: &str, container_lines: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n{spec_lines}  containers:\n    - name: c\n      image: nginx:1.27\n{container_lines}"
    )
}

// Objects inside a List are checked as top-level objects.

escape!(
    list_wrapped_cluster_role_binding_to_cluster_admin,
    "items[0].kind",
    |repo| {
        repo.write(
        POD,
        &list_of("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: me-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: alpha"),
    );
    }
);
escape!(list_wrapped_secret_with_data, "items[0].stringData", |repo| {
    repo.write(
        POD,
        &list_of("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2"),
    );
});
escape!(
    list_wrapped_object_in_kube_system,
    "items[0].metadata.namespace",
    |repo| {
        repo.write(
            POD,
            &list_of("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kube-system\ndata:\n  a: b"),
        );
    }
);

// The Pod Security baseline's host and privilege surface.

escape!(host_ipc_without_host_access, "spec.hostIPC", |repo| {
    repo.write(POD, &pod_with("  hostIPC: true\n", ""));
});
escape!(host_port_without_host_access, "hostPort", |repo| {
    repo.write(
        POD,
        &pod_with(
            "",
            "      ports:\n        - containerPort: 80\n          hostPort: 80\n",
        ),
    );
});
escape!(
    added_capability_sys_admin_without_host_access,
    "capabilities.add[0]",
    |repo| {
        repo.write(
            POD,
            &pod_with(
                "",
                "      securityContext:\n        capabilities:\n          add: [SYS_ADMIN]\n",
            ),
        );
    }
);
escape!(
    host_path_in_a_deployment_template_without_host_access,
    "volumes[0].hostPath",
    |repo| {
        repo.write(
        POD,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n        - name: c\n          image: nginx:1.27\n      volumes:\n        - name: root\n          hostPath:\n            path: /\n",
    );
    }
);
escape!(
    unconfined_seccomp_in_a_cron_job_without_host_access,
    "seccompProfile.type",
    |repo| {
        repo.write(
        POD,
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: j\nspec:\n  schedule: \"* * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          securityContext:\n            seccompProfile:\n              type: Unconfined\n          containers:\n            - name: c\n              image: busybox:1.36\n",
    );
    }
);
escape!(persistent_volume_with_host_path_root, "spec.hostPath", |repo| {
    edit(&repo, ALPHA, "stages:", "cluster_kinds: [PersistentVolume]\nstages:");
    repo.write(
        POD,
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: root\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /\n",
    );
});
escape!(
    undeclared_constraint_template,
    "cluster-scoped kind `ConstraintTemplate`",
    |repo| {
        repo.write(
        POD,
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: anything\nspec:\n  crd:\n    spec:\n      names:\n        kind: Anything\n",
    );
    }
);

// Argo CD objects among a lesson's own.

/// alpha declares Argo CD objects of its own, in project `alpha-examples`.
fn declare_argocd_objects(repo: &Repo) {
    edit(
        repo,
        ALPHA,
        "stages:",
        "argocd_objects:\n  reason: teaches Argo CD\n  projects: [alpha-examples]\n  repos: [https://example.com/apps.git]\nstages:",
    );
}

escape!(undeclared_application, "kind", |repo| {
    repo.write(
        POD,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n  project: default\n  source: {repoURL: https://example.com/apps.git, path: .}\n  destination: {server: https://kubernetes.default.svc, namespace: alpha}\n",
    );
});
escape!(lesson_app_project_with_wildcards, "spec.sourceRepos[0]", |repo| {
    declare_argocd_objects(&repo);
    repo.write(
        POD,
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: alpha-examples\n  namespace: argocd\nspec:\n  sourceRepos: ['*']\n  destinations:\n    - {server: '*', namespace: '*'}\n  clusterResourceWhitelist:\n    - {group: '*', kind: '*'}\n",
    );
});
escape!(
    lesson_app_project_with_a_wildcard_cluster_kind,
    "spec.clusterResourceWhitelist[0]",
    |repo| {
        declare_argocd_objects(&repo);
        repo.write(
        POD,
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: alpha-examples\n  namespace: argocd\nspec:\n  sourceRepos: [https://example.com/apps.git]\n  destinations:\n    - {server: https://kubernetes.default.svc, namespace: alpha}\n  clusterResourceWhitelist:\n    - {group: '*', kind: '*'}\n  namespaceResourceWhitelist:\n    - {group: '', kind: ConfigMap}\n",
    );
    }
);
escape!(application_in_the_gitgen_platform_project, "spec.project", |repo| {
    declare_argocd_objects(&repo);
    repo.write(
        POD,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n  project: gitgen-platform\n  source: {repoURL: https://example.com/apps.git, path: .}\n  destination: {server: https://kubernetes.default.svc, namespace: alpha}\n",
    );
});
escape!(application_of_another_lessons_project, "spec.project", |repo| {
    declare_argocd_objects(&repo);
    repo.write(
        POD,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n  project: beta\n  source: {repoURL: https://example.com/apps.git, path: .}\n  destination: {server: https://kubernetes.default.svc, namespace: alpha}\n",
    );
});
escape!(
    lesson_project_named_after_another_lesson,
    "argocd_objects.projects[0]",
    |repo| {
        edit(
            &repo,
            ALPHA,
            "stages:",
            "argocd_objects:\n  reason: teaches Argo CD\n  projects: [beta]\n  repos: [https://example.com/apps.git]\nstages:",
        );
    }
);

// Namespaces with another owner.

escape!(lesson_claims_the_argocd_namespace, "namespaces[1].name", |repo| {
    edit(
        &repo,
        ALPHA,
        "  - name: alpha\n",
        "  - name: alpha\n  - name: argocd\n    pod_security: privileged\n    reason: mine now\n",
    );
});
escape!(lesson_claims_another_lessons_namespace, "namespaces[2].name", |repo| {
    edit(
        &repo,
        BETA,
        "  - name: monitoring\n",
        "  - name: monitoring\n  - name: alpha\n",
    );
});
escape!(
    lesson_uses_a_namespace_of_a_lesson_it_does_not_require,
    "uses_namespaces[0]",
    |repo| {
        edit(&repo, ALPHA, "stages:", "uses_namespaces: [beta]\nstages:");
    }
);
escape!(lesson_puts_objects_in_kube_system, "uses_namespaces[0]", |repo| {
    edit(&repo, ALPHA, "stages:", "uses_namespaces: [kube-system]\nstages:");
});

// Credentials anywhere in what render writes.

escape!(token_in_a_comment, "pod.yaml:2", |repo| {
    let text = repo.read(POD);
    repo.write(POD, &format!("# {}\n{text}", token()));
});
escape!(token_as_a_map_key, "pod.yaml:", |repo| {
    edit(&repo, POD, "  labels:\n", &format!("  labels:\n    {}: x\n", token()));
});
escape!(token_in_a_walkthrough, "README.md:", |repo| {
    edit(
        &repo,
        "catalog/alpha/README.md.j2",
        "Open",
        &format!("Log in with {} and open", token()),
    );
});
escape!(token_in_helm_values, "beta-kps.application.yaml:", |repo| {
    edit(
        &repo,
        "catalog/beta/values.yaml",
        "grafana:\n",
        &format!("grafana:\n  adminPassword: {}\n", token()),
    );
});
escape!(token_in_a_sync_reason, "beta-kps.application.yaml:", |repo| {
    edit(&repo, BETA, "why: big CRDs", &format!("why: big CRDs, ask {}", token()));
});
escape!(token_in_a_namespace_label, "gitgen-namespaces.yaml:", |repo| {
    edit(
        &repo,
        ALPHA,
        "  - name: alpha\n",
        &format!("  - name: alpha\n    labels: {{owner: {}}}\n", token()),
    );
});

#[test]
fn repo_url_with_a_password_is_refused_at_config_load() {
    let repo = Repo::fixture("small");
    edit(
        &repo,
        "gitgen.yaml",
        "https://github.com/",
        "https://trainer:hunter2@github.com/",
    );
    for args in [&["render"][..], &["list"][..]] {
        let run = repo.gitgen(args);
        refused(&repo, &run, "gitgen.yaml:1");
        assert!(run.stderr.contains("GITGEN_REPO_PASSWORD"), "{}", run.transcript());
        assert!(
            !run.stderr.contains("hunter2"),
            "the password is printed\n{}",
            run.transcript()
        );
    }
    insta::assert_snapshot!("repo_url_with_a_password", repo.gitgen(&["render"]).transcript());
}

#[test]
fn declared_host_access_and_argocd_objects_are_accepted() {
    let repo = Repo::fixture("small");
    declare_argocd_objects(&repo);
    edit(
        &repo,
        ALPHA,
        "stages:",
        "host_access:\n  allow: [hostIPC, hostPorts, capabilities]\n  reason: the demo shows what the baseline forbids\nstages:",
    );
    repo.write(
        POD,
        &format!(
            "{}---\n{}",
            pod_with(
                "  hostIPC: true\n",
                "      ports:\n        - containerPort: 80\n          hostPort: 80\n      securityContext:\n        capabilities:\n          add: [NET_ADMIN]\n"
            ),
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n  project: alpha-examples\n  source: {repoURL: https://example.com/apps.git, path: .}\n  destination: {server: https://kubernetes.default.svc, namespace: alpha}\n"
        ),
    );
    repo.gitgen(&["render"]).expect(0);
    let project = repo.read("argocd/docker-desktop/apps/alpha.appproject.yaml");
    for allowed in ["kind: Application", "kind: Pod", "namespace: argocd"] {
        assert!(project.contains(allowed), "`{allowed}` missing from\n{project}");
    }
}

// The course: every Application's resources are permitted by its AppProject.

fn documents(path: &str, text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for object in gitgen::yaml::documents(text, path.as_ref()).unwrap() {
        out.extend(
            gitgen::render::policy::unwrapped(&object)
                .into_iter()
                .map(|(_, o)| o.clone()),
        );
    }
    out
}

/// Checks `app` against `project`; `resources` are `(group, kind, namespace or None when
/// cluster-scoped)`. Returns every denial. The Application's own rules follow argo-cd
/// `util/argo/argo.go`, `ValidatePermissions`; each resource's follow `controller/sync.go`,
/// `validateSyncPermissions` (the kind, then the destination of its namespace); each rule
/// is `argocd_rules`' port of argo-cd's `AppProject` methods.
/// `tests/e2e_converge.rs` runs the same rules on live AppProjects with the real renders;
/// where the two disagree, that test is right.
fn denials(app: &Value, project: &Value, resources: &[(String, String, Option<String>)]) -> Vec<String> {
    let name = app["metadata"]["name"].as_str().unwrap_or("?");
    let destination = &app["spec"]["destination"];
    let at = |namespace: &str| Destination {
        server: destination["server"].as_str().unwrap_or("").to_owned(),
        name: destination["name"].as_str().unwrap_or("").to_owned(),
        namespace: namespace.to_owned(),
    };
    let mut out = Vec::new();
    let sources: Vec<&Value> = match app["spec"]["sources"].as_array() {
        Some(sources) => sources.iter().collect(),
        None => vec![&app["spec"]["source"]],
    };
    for source in sources {
        let repo = source["repoURL"].as_str().unwrap_or("");
        if !is_source_permitted(project, repo) {
            out.push(format!("{name}: source {repo}"));
        }
    }
    let dest = destination["namespace"].as_str().unwrap_or("");
    if !is_destination_permitted(project, &at(dest)) {
        out.push(format!("{name}: destination {dest}"));
    }
    for (group, kind, namespace) in resources {
        if !is_group_kind_permitted(project, group, kind, namespace.is_some()) {
            out.push(format!("{name}: kind {group}/{kind}"));
        }
        if let Some(ns) = namespace
            && !is_destination_permitted(project, &at(ns))
        {
            out.push(format!("{name}: {group}/{kind} in namespace {ns}"));
        }
    }
    out
}

#[test]
fn every_application_of_the_course_is_permitted_by_its_project_in_both_environments() {
    let repo = Repo::init();
    let catalog = gitgen::catalog::Catalog::load(gitgen::catalog::source::CatalogFiles::embedded()).unwrap();
    let mut checked = 0;
    for env in ["docker-desktop", "kind"] {
        // Every lesson at its last stage, less one of each conflicting pair: ingress
        // conflicts with istio (port 80), pods-probes-services with argocd (8000).
        let mut toggle = String::from("lessons:\n");
        for id in catalog.lessons.keys() {
            if !["ingress", "pods-probes-services"].contains(&id.as_str()) {
                toggle.push_str(&format!("  {id}:\n"));
            }
        }
        repo.write(&format!("overlays/{env}/lessons.yaml"), &toggle);
        repo.gitgen(&["--env", env, "render"]).expect(0);
        let tree = repo.tree();
        let apps_dir = format!("argocd/{env}/apps/");
        let mut projects: BTreeMap<String, Value> = BTreeMap::new();
        let mut apps: Vec<Value> = Vec::new();
        for (path, text) in tree.iter().filter(|(p, _)| p.starts_with(&apps_dir)) {
            for object in documents(path, text) {
                match object["kind"].as_str() {
                    Some("AppProject") => {
                        projects.insert(object["metadata"]["name"].as_str().unwrap().to_owned(), object);
                    }
                    Some("Application") => apps.push(object),
                    _ => {}
                }
            }
        }
        let mut denied = Vec::new();
        for app in &apps {
            let project = &projects[app["spec"]["project"].as_str().unwrap()];
            let labels = &app["metadata"]["labels"];
            let Some(lesson_id) = labels["gitgen.io/lesson"].as_str() else {
                continue; // gitgen's own: the root and Argo CD itself (gitgen-platform).
            };
            let lesson = &catalog.lessons[lesson_id];
            let scope = |group: &str, kind: &str, namespace: Option<&str>, default: &str| {
                let cluster = gitgen::render::policy::is_cluster_scoped(lesson, group, kind);
                (
                    group.to_owned(),
                    kind.to_owned(),
                    (!cluster).then(|| namespace.unwrap_or(default).to_owned()),
                )
            };
            let dest = app["spec"]["destination"]["namespace"].as_str().unwrap();
            let mut resources = Vec::new();
            if let Some(chart) = labels["gitgen.io/chart"].as_str() {
                let chart = lesson.lesson.charts.iter().find(|c| c.name == chart).unwrap();
                for kind in &chart.creates.kinds {
                    let (group, kind) = gitgen::kinds::declared_kind_group(kind).unwrap();
                    resources.push(scope(group, kind, None, dest));
                }
                // What a chart puts in the Kubernetes namespaces its lesson declares.
                for system in &lesson.lesson.system_namespaces {
                    for (group, kind, namespace) in resources.clone() {
                        if namespace.is_some() {
                            resources.push((group, kind, Some(system.name.clone())));
                        }
                    }
                }
            } else {
                let overlay = app["spec"]["source"]["path"].as_str().unwrap();
                let kustomization =
                    gitgen::yaml::documents(&tree[&format!("{overlay}/kustomization.yaml")], overlay.as_ref())
                        .unwrap()
                        .remove(0);
                let base = kustomization["resources"][0]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("../../../");
                let mut own_projects: BTreeMap<String, Value> = BTreeMap::new();
                let mut own_apps = Vec::new();
                for (path, text) in tree
                    .iter()
                    .filter(|(p, _)| p.starts_with(&format!("{base}/")) && !p.ends_with("/kustomization.yaml"))
                {
                    for object in documents(path, text) {
                        let api = object["apiVersion"].as_str().unwrap();
                        let kind = object["kind"].as_str().unwrap();
                        let group = gitgen::kinds::api_group(api);
                        resources.push(scope(group, kind, object["metadata"]["namespace"].as_str(), dest));
                        match (group, kind) {
                            ("argoproj.io", "AppProject") => {
                                own_projects.insert(object["metadata"]["name"].as_str().unwrap().to_owned(), object);
                            }
                            ("argoproj.io", "Application") => own_apps.push(object),
                            _ => {}
                        }
                    }
                }
                // A lesson's own Applications (the argocd lesson's examples) must be
                // permitted by the lesson's own projects, never by gitgen's.
                for own in &own_apps {
                    let name = own["spec"]["project"].as_str().unwrap();
                    let own_project = own_projects
                        .get(name)
                        .unwrap_or_else(|| panic!("{lesson_id}: project {name} is not the lesson's"));
                    denied.extend(denials(own, own_project, &[]));
                    checked += 1;
                }
            }
            denied.extend(denials(app, project, &resources));
            checked += 1;
        }
        assert!(
            denied.is_empty(),
            "{env}: denied by their projects:\n{}",
            denied.join("\n")
        );
    }
    assert!(checked > 40, "only {checked} Applications checked");
}

#[test]
fn a_project_without_a_kind_denies_it_as_argo_cd_would() {
    let project: Value = serde_json::json!({"spec": {
        "sourceRepos": ["https://example.com/a.git"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "a"}],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        "namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}],
    }});
    let app: Value = serde_json::json!({"metadata": {"name": "a"}, "spec": {
        "source": {"repoURL": "https://example.com/a"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "a"},
    }});
    let ok = [("apps".to_owned(), "Deployment".to_owned(), Some("a".to_owned()))];
    assert!(denials(&app, &project, &ok).is_empty());
    let bad = [
        (
            "templates.gatekeeper.sh".to_owned(),
            "ConstraintTemplate".to_owned(),
            None,
        ),
        ("".to_owned(), "Secret".to_owned(), Some("a".to_owned())),
        (
            "apps".to_owned(),
            "Deployment".to_owned(),
            Some("kube-system".to_owned()),
        ),
    ];
    assert_eq!(denials(&app, &project, &bad).len(), 3);
}
