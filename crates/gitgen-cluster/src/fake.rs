//! A small in-memory API server behind `tower_test::mock`, for request-level tests.
//!
//! It answers the calls this module makes (version, SelfSubjectAccessReview, discovery of
//! one group-version, get, list by name or labels, server-side apply, create, merge patch,
//! delete) from a map of objects, bumps resourceVersion only when an apply changes
//! something (as the real API server does), serves `argoproj.io` only once its CRD was
//! applied, and records every request as `METHOD path` so tests can assert the order. A
//! [`Scenario`] says how the cluster differs from an empty, permissive one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

/// How the fake cluster behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// An empty cluster where the user may do anything.
    Empty,
    /// SelfSubjectAccessReviews deny everything about CRDs.
    CannotCreateCrds,
    /// An Argo CD installed with kubectl is already there.
    ArgoCdInstalledByKubectl,
    /// Dry runs of objects named `rejected` fail admission.
    RejectsObjectsNamedRejected,
}

/// What the fake holds; tests read it after the fact.
#[derive(Debug, Default)]
pub struct State {
    /// `METHOD path?query` of every request, in order.
    pub log: Vec<String>,
    /// Stored objects by `group/plural/namespace/name`.
    pub objects: BTreeMap<String, Value>,
    resource_version: u64,
}

impl State {
    /// The logged requests that changed something (not GET, not dry runs, not reviews).
    pub fn writes(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| !l.starts_with("GET ") && !l.contains("dryRun") && !l.contains("selfsubjectaccessreviews"))
            .map(|l| l.split('?').next().unwrap_or(l).to_owned())
            .collect()
    }
}

/// A client wired to a fake cluster, and the cluster's state.
pub fn client(scenario: Scenario) -> (kube::Client, Arc<Mutex<State>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let state = Arc::new(Mutex::new(State::default()));
    if scenario == Scenario::ArgoCdInstalledByKubectl {
        let mut s = state.lock().unwrap();
        s.objects.insert(
            "apps/deployments/argocd/argocd-server".into(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "argocd-server", "namespace": "argocd", "resourceVersion": "1",
                                "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
                   "spec": {"replicas": 1}}),
        );
        s.resource_version = 1;
    }
    let served = state.clone();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let body = body.collect_bytes().await.unwrap();
            let body: Value = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body).unwrap()
            };
            let (code, answer) = serve(scenario, &mut served.lock().unwrap(), &parts.method, &parts.uri, body);
            let bytes = if answer.is_null() {
                Vec::new()
            } else {
                serde_json::to_vec(&answer).unwrap()
            };
            let response = Response::builder().status(code).body(Body::from(bytes)).unwrap();
            respond.send_response(response);
        }
    });
    (kube::Client::new(service, "default"), state)
}

/// The resources the fake serves per group-version: (plural, kind, namespaced).
fn resources(api_version: &str, state: &State) -> Option<Vec<(&'static str, &'static str, bool)>> {
    Some(match api_version {
        "v1" => vec![
            ("namespaces", "Namespace", false),
            ("configmaps", "ConfigMap", true),
            ("secrets", "Secret", true),
            ("services", "Service", true),
            ("serviceaccounts", "ServiceAccount", true),
        ],
        "apps/v1" => vec![
            ("deployments", "Deployment", true),
            ("statefulsets", "StatefulSet", true),
        ],
        "apiextensions.k8s.io/v1" => vec![("customresourcedefinitions", "CustomResourceDefinition", false)],
        "rbac.authorization.k8s.io/v1" => vec![
            ("roles", "Role", true),
            ("rolebindings", "RoleBinding", true),
            ("clusterroles", "ClusterRole", false),
            ("clusterrolebindings", "ClusterRoleBinding", false),
        ],
        "networking.k8s.io/v1" => vec![("networkpolicies", "NetworkPolicy", true)],
        "argoproj.io/v1alpha1"
            if state
                .objects
                .contains_key("apiextensions.k8s.io/customresourcedefinitions//applications.argoproj.io") =>
        {
            vec![
                ("applications", "Application", true),
                ("appprojects", "AppProject", true),
                ("applicationsets", "ApplicationSet", true),
            ]
        }
        _ => return None,
    })
}

fn status(code: u16, reason: &str, message: &str, kind: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                  "reason": reason, "message": message, "details": {"kind": kind}}),
    )
}

fn decode(query: &str) -> String {
    query.replace("%3D", "=").replace("%2F", "/").replace("%2C", ",")
}

fn serve(scenario: Scenario, state: &mut State, method: &http::Method, uri: &http::Uri, body: Value) -> (u16, Value) {
    let path = uri.path().to_owned();
    let query = decode(uri.query().unwrap_or_default());
    state.log.push(if query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{query}")
    });

    if path == "/version" {
        return (
            200,
            json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0", "gitCommit": "", "gitTreeState": "",
                            "buildDate": "", "goVersion": "", "compiler": "", "platform": ""}),
        );
    }
    if path.ends_with("/selfsubjectaccessreviews") {
        let group = body["spec"]["resourceAttributes"]["group"].as_str().unwrap_or_default();
        let allowed = !(scenario == Scenario::CannotCreateCrds && group == "apiextensions.k8s.io");
        let mut review = body;
        review["status"] = json!({"allowed": allowed});
        return (201, review);
    }

    // Split `/api/v1/...` or `/apis/group/version/...` into the group-version and the rest.
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, api_version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest.to_vec()),
        ["apis", group, version, rest @ ..] => ((*group).to_owned(), format!("{group}/{version}"), rest.to_vec()),
        _ => return status(404, "NotFound", "no such path", ""),
    };
    let Some(served) = resources(&api_version, state) else {
        return status(404, "NotFound", "the server could not find the requested resource", "");
    };
    if rest.is_empty() {
        let list: Vec<Value> = served
            .iter()
            .map(|(plural, kind, namespaced)| {
                json!({"name": plural, "singularName": "", "kind": kind, "namespaced": namespaced,
                                                     "verbs": ["get", "list", "watch", "create", "patch", "delete"]})
            })
            .collect();
        return (
            200,
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": list}),
        );
    }
    let (namespace, plural, name) = match rest.as_slice() {
        ["namespaces", ns, plural] => (*ns, *plural, None),
        ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
        [plural] => ("", *plural, None),
        [plural, name] => ("", *plural, Some(*name)),
        _ => return status(404, "NotFound", "no such path", ""),
    };
    let Some(&(_, kind, namespaced)) = served.iter().find(|(p, ..)| *p == plural) else {
        return status(404, "NotFound", "the server could not find the requested resource", "");
    };
    let prefix = format!("{group}/{plural}/{namespace}/");

    match (method.as_str(), name) {
        ("GET", None) => {
            if query.contains("watch=true") {
                return (200, Value::Null); // an empty watch that ends at once
            }
            let wanted = query
                .split('&')
                .find_map(|q| q.strip_prefix("fieldSelector=metadata.name="));
            // `labelSelector=k=v,k2=v2`: equality terms only, as gitgen sends.
            let labels: Vec<(&str, &str)> = query
                .split('&')
                .find_map(|q| q.strip_prefix("labelSelector="))
                .map(|s| s.split(',').filter_map(|term| term.split_once('=')).collect())
                .unwrap_or_default();
            let items: Vec<Value> = state
                .objects
                .iter()
                .filter(|(key, _)| {
                    key.starts_with(&prefix) || (namespace.is_empty() && key.starts_with(&format!("{group}/{plural}/")))
                })
                .filter(|(key, _)| wanted.is_none_or(|w| key.ends_with(&format!("/{w}"))))
                .filter(|(_, object)| labels.iter().all(|(k, v)| object["metadata"]["labels"][*k] == *v))
                .map(|(_, object)| object.clone())
                .collect();
            let rv = state.resource_version.to_string();
            (
                200,
                json!({"apiVersion": api_version, "kind": format!("{kind}List"), "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        ("GET", Some(name)) => match state.objects.get(&format!("{prefix}{name}")) {
            Some(object) => (200, object.clone()),
            None => status(404, "NotFound", &format!("{plural} \"{name}\" not found"), plural),
        },
        ("PATCH", Some(name)) => {
            if namespaced && !state.objects.contains_key(&format!("/namespaces//{namespace}")) {
                return status(
                    404,
                    "NotFound",
                    &format!("namespaces \"{namespace}\" not found"),
                    "namespaces",
                );
            }
            if query.contains("dryRun=All") {
                if scenario == Scenario::RejectsObjectsNamedRejected && name == "rejected" {
                    return status(
                        422,
                        "Invalid",
                        &format!("{kind} \"{name}\" is invalid: spec.replicas: must be >= 0"),
                        plural,
                    );
                }
                return (200, body);
            }
            let key = format!("{prefix}{name}");
            let merge = !query.contains("force=true");
            let mut object = match (merge, state.objects.get(&key)) {
                // A merge patch (only lesson Secrets use one here) adds data keys.
                (true, Some(existing)) => {
                    let mut merged = existing.clone();
                    for (k, v) in body["data"].as_object().cloned().unwrap_or_default() {
                        merged["data"][k] = v;
                    }
                    merged
                }
                _ => body,
            };
            store(state, &key, &mut object, kind);
            (200, object)
        }
        ("POST", None) => {
            let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let key = format!("{prefix}{name}");
            if state.objects.contains_key(&key) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("{plural} \"{name}\" already exists"),
                    plural,
                );
            }
            let mut object = body;
            store(state, &key, &mut object, kind);
            (201, object)
        }
        ("DELETE", Some(name)) => match state.objects.remove(&format!("{prefix}{name}")) {
            Some(object) => (200, object),
            None => status(404, "NotFound", &format!("{plural} \"{name}\" not found"), plural),
        },
        _ => status(405, "MethodNotAllowed", "not supported by the fake", plural),
    }
}

/// The field set (`fieldsV1`) of `value` as the API server records an apply of it: every
/// map key, with a scalar, a list or an empty map as a field of its own.
fn field_set(value: &Value) -> Value {
    match value {
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| (format!("f:{key}"), field_set(value)))
            .collect(),
        _ => json!({}),
    }
}

/// Stores `object` under `key`, bumping resourceVersion only when its content changed;
/// gitgen's `Apply` entry in `managedFields` holds every field of it.
fn store(state: &mut State, key: &str, object: &mut Value, kind: &str) {
    let content = |o: &Value| {
        let mut o = o.clone();
        if let Some(meta) = o["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        if let Some(o) = o.as_object_mut() {
            o.remove("status");
        }
        o
    };
    if let Some(existing) = state.objects.get(key)
        && content(existing) == content(object)
    {
        *object = existing.clone();
        return;
    }
    state.resource_version += 1;
    object["metadata"]["resourceVersion"] = state.resource_version.to_string().into();
    let mut recorded = object.clone();
    if let Some(fields) = recorded.as_object_mut() {
        fields.retain(|key, _| !crate::apply::UNRECORDED.contains(&key.as_str()));
    }
    if let Some(meta) = recorded["metadata"].as_object_mut() {
        meta.retain(|key, _| !crate::apply::UNRECORDED_METADATA.contains(&key.as_str()));
    }
    object["metadata"]["managedFields"] = json!([{"manager": "gitgen", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": field_set(&recorded)}]);
    if kind == "CustomResourceDefinition" {
        // The real API server establishes a CRD within moments; the fake does it at once.
        object["status"] = json!({"conditions": [{"type": "Established", "status": "True"}]});
    }
    state.objects.insert(key.to_owned(), object.clone());
}
