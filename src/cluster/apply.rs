//! Server-side apply of arbitrary objects, in an order the API server accepts.
//!
//! Objects are `DynamicObject`s resolved through discovery of their own group-version, so
//! nothing here knows any kind in advance. CRDs go first and are waited for until
//! Established, then Namespaces, then everything else; a namespaced object without a
//! namespace gets the caller's default. Each object is reported as created, configured
//! or unchanged by comparing its resourceVersion before and after the apply: the API
//! server does not bump it for an apply that changes nothing, so a second run reports
//! every object unchanged.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::{ClusterError, FIELD_MANAGER, api_message, is_not_found};

/// Which object, for messages and reports: `Deployment argocd/argocd-server`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The reference of a parsed object (its namespace as written, possibly none).
    pub fn of(object: &DynamicObject) -> Self {
        let types = object.types.clone().unwrap_or_default();
        Self {
            api_version: types.api_version,
            kind: types.kind,
            namespace: object.metadata.namespace.clone(),
            name: object.name_any(),
        }
    }

    /// The API group, empty for the core group.
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It did not exist.
    Created,
    /// It existed and the apply changed it.
    Configured,
    /// It existed and the apply changed nothing.
    Unchanged,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Configured => "configured",
            Self::Unchanged => "unchanged",
        })
    }
}

/// One applied object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The object, with the namespace it was applied in.
    pub object: ObjectRef,
    /// What the apply did.
    pub change: Change,
}

/// Classifies an apply by the object's resourceVersion before (none if it did not exist)
/// and after.
pub fn classify(before: Option<&str>, after: Option<&str>) -> Change {
    match before {
        None => Change::Created,
        Some(before) if Some(before) == after => Change::Unchanged,
        Some(_) => Change::Configured,
    }
}

/// Reads a multi-document YAML (or JSON) stream into objects; empty documents are skipped
/// and `kind: List` documents are flattened. `origin` names the source in errors.
pub fn parse_manifest(text: &str, origin: &str) -> Result<Vec<DynamicObject>, ClusterError> {
    let documents: Vec<serde_json::Value> = crate::yaml::documents(text, Path::new(origin))?;
    let mut objects = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        if document.is_null() {
            continue;
        }
        let is_list = document.get("kind").and_then(|k| k.as_str()) == Some("List");
        let items = match (is_list, document) {
            (true, serde_json::Value::Object(mut list)) => match list.remove("items") {
                Some(serde_json::Value::Array(items)) => items,
                _ => Vec::new(),
            },
            (_, document) => vec![document],
        };
        for item in items {
            objects.push(to_object(item).map_err(|message| ClusterError::Manifest {
                origin: origin.to_owned(),
                message: format!("document {}: {message}", index + 1),
            })?);
        }
    }
    Ok(objects)
}

/// Checks the fields every object needs and converts it.
pub(crate) fn to_object(value: serde_json::Value) -> Result<DynamicObject, String> {
    for field in ["apiVersion", "kind"] {
        if value.get(field).and_then(|v| v.as_str()).is_none_or(str::is_empty) {
            return Err(format!("missing `{field}`"));
        }
    }
    let object: DynamicObject = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if object.metadata.name.as_deref().is_none_or(str::is_empty) {
        return Err(format!("{} without `metadata.name`", ObjectRef::of(&object).kind));
    }
    Ok(object)
}

/// When an object may be applied: CRDs (0) before Namespaces (1) before the rest (2).
pub fn phase(object: &ObjectRef) -> u8 {
    match (object.group(), object.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 0,
        ("", "Namespace") => 1,
        _ => 2,
    }
}

/// Sorts objects into apply order, keeping the manifest's order within a phase.
pub fn apply_order(mut objects: Vec<DynamicObject>) -> Vec<DynamicObject> {
    objects.sort_by_key(|object| phase(&ObjectRef::of(object)));
    objects
}

/// A resolved kind: how to address it and whether it is namespaced.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Discovery of one group-version at a time, cached; a group-version the server does not
/// serve is cached as absent until [`Resolver::forget_absent`].
pub(crate) struct Resolver {
    client: Client,
    cache: HashMap<String, Option<APIResourceList>>,
}

impl Resolver {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cache: HashMap::new(),
        }
    }

    /// [`Resolver::resolve`] for an object, with the error saying what was being looked up.
    pub async fn resolve_object(&mut self, reference: &ObjectRef) -> Result<Option<Resolved>, ClusterError> {
        self.resolve(&reference.api_version, &reference.kind)
            .await
            .map_err(|source| ClusterError::Api {
                doing: format!("discovering `{}`", reference.api_version),
                source,
            })
    }

    /// Resolves `kind` in `api_version`; `Ok(None)` when the server does not serve it.
    pub async fn resolve(&mut self, api_version: &str, kind: &str) -> Result<Option<Resolved>, kube::Error> {
        if !self.cache.contains_key(api_version) {
            let listed = if api_version.contains('/') {
                self.client.list_api_group_resources(api_version).await
            } else {
                self.client.list_core_api_resources(api_version).await
            };
            let entry = match listed {
                Ok(list) => Some(list),
                Err(e) if is_not_found(&e) => None,
                Err(e) => return Err(e),
            };
            self.cache.insert(api_version.to_owned(), entry);
        }
        let Some(Some(list)) = self.cache.get(api_version) else {
            return Ok(None);
        };
        let Some(found) = list.resources.iter().find(|r| r.kind == kind && !r.name.contains('/')) else {
            return Ok(None);
        };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Ok(Some(Resolved {
            resource: ApiResource::from_gvk_with_plural(&gvk, &found.name),
            namespaced: found.namespaced,
        }))
    }

    /// Forgets what the server did not serve, after new CRDs are Established.
    pub fn forget_absent(&mut self) {
        self.cache.retain(|_, list| list.is_some());
    }
}

/// An [`Api`] for the object, defaulting its namespace when its kind is namespaced; the
/// object's `metadata.namespace` is set (or cleared for cluster-scoped kinds) to match.
pub(crate) fn api_for(
    client: &Client,
    resolved: &Resolved,
    object: &mut DynamicObject,
    default_namespace: &str,
) -> Api<DynamicObject> {
    if resolved.namespaced {
        let namespace = object
            .metadata
            .namespace
            .get_or_insert_with(|| default_namespace.to_owned());
        Api::namespaced_with(client.clone(), namespace, &resolved.resource)
    } else {
        object.metadata.namespace = None;
        Api::all_with(client.clone(), &resolved.resource)
    }
}

/// Applies one object under [`FIELD_MANAGER`], taking over conflicting fields.
pub(crate) async fn apply_one(
    client: &Client,
    resolver: &mut Resolver,
    mut object: DynamicObject,
    default_namespace: &str,
) -> Result<Applied, ClusterError> {
    let reference = ObjectRef::of(&object);
    let resolved = resolver
        .resolve_object(&reference)
        .await?
        .ok_or_else(|| ClusterError::UnknownKind {
            object: reference.clone(),
        })?;
    let api = api_for(client, &resolved, &mut object, default_namespace);
    let reference = ObjectRef::of(&object);
    let failed = |e: kube::Error| {
        let (message, code) = api_message(&e);
        ClusterError::Apply {
            object: reference.clone(),
            message,
            code,
        }
    };
    let before = api.get_opt(&reference.name).await.map_err(failed)?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let after = api
        .patch(&reference.name, &params, &Patch::Apply(&object))
        .await
        .map_err(failed)?;
    let change = classify(
        before.as_ref().and_then(|b| b.metadata.resource_version.as_deref()),
        after.metadata.resource_version.as_deref(),
    );
    Ok(Applied {
        object: reference,
        change,
    })
}

/// Waits until every named CRD is Established, within `timeout` overall.
pub(crate) async fn wait_for_crds(client: &Client, names: &[String], timeout: Duration) -> Result<(), ClusterError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut waiting: BTreeSet<String> = names.iter().cloned().collect();
    let result = tokio::time::timeout(timeout, async {
        for name in names {
            await_condition(api.clone(), name, conditions::is_crd_established())
                .await
                .map_err(|e| ClusterError::Api {
                    doing: format!("waiting for CRD `{name}`"),
                    source: kube::Error::Service(Box::new(e)),
                })?;
            waiting.remove(name);
        }
        Ok(())
    })
    .await;
    match result {
        Ok(done) => done,
        Err(_) => Err(ClusterError::CrdTimeout {
            names: waiting.into_iter().collect(),
            timeout,
        }),
    }
}

/// Applies `objects` in [`apply_order`]: CRDs, a wait until they are Established (at most
/// `crd_timeout`), then Namespaces and the rest. Objects whose kind is namespaced but
/// that name no namespace go into `default_namespace`. Stops at the first failure; the
/// objects applied before it stay applied, so running again resumes.
pub async fn apply_objects(
    client: &Client,
    objects: Vec<DynamicObject>,
    default_namespace: &str,
    crd_timeout: Duration,
    on_applied: &mut dyn FnMut(&Applied),
) -> Result<Vec<Applied>, ClusterError> {
    let mut resolver = Resolver::new(client.clone());
    let mut report = Vec::new();
    let (crds, rest): (Vec<_>, Vec<_>) = apply_order(objects)
        .into_iter()
        .partition(|o| phase(&ObjectRef::of(o)) == 0);
    let mut crd_names = Vec::new();
    let mut new_groups = BTreeSet::new();
    for crd in crds {
        new_groups.extend(crd.data["spec"]["group"].as_str().map(str::to_owned));
        let applied = apply_one(client, &mut resolver, crd, default_namespace).await?;
        on_applied(&applied);
        crd_names.push(applied.object.name.clone());
        report.push(applied);
    }
    if !crd_names.is_empty() {
        wait_for_crds(client, &crd_names, crd_timeout).await?;
        resolver.forget_absent();
    }
    let deadline = tokio::time::Instant::now() + crd_timeout;
    for object in rest {
        let applied = loop {
            match apply_one(client, &mut resolver, object.clone(), default_namespace).await {
                // Discovery can lag a moment behind a CRD becoming Established.
                Err(ClusterError::UnknownKind { object })
                    if new_groups.contains(object.group()) && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    resolver.forget_absent();
                }
                other => break other?,
            }
        };
        on_applied(&applied);
        report.push(applied);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, name: &str) -> DynamicObject {
        to_object(serde_json::json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}})).unwrap()
    }

    fn kinds(objects: &[DynamicObject]) -> Vec<String> {
        objects.iter().map(|o| ObjectRef::of(o).kind).collect()
    }

    #[test]
    fn orders_crds_then_namespaces_then_the_rest_keeping_manifest_order() {
        let ordered = apply_order(vec![
            object("argoproj.io/v1alpha1", "Application", "root"),
            object("v1", "ConfigMap", "a"),
            object("v1", "Namespace", "argocd"),
            object(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "applications.argoproj.io",
            ),
            object("apps/v1", "Deployment", "b"),
        ]);
        assert_eq!(
            kinds(&ordered),
            [
                "CustomResourceDefinition",
                "Namespace",
                "Application",
                "ConfigMap",
                "Deployment"
            ]
        );
    }

    #[test]
    fn a_namespace_kind_in_another_group_is_not_a_namespace() {
        let other = ObjectRef {
            api_version: "example.com/v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: "x".into(),
        };
        assert_eq!(phase(&other), 2);
    }

    #[test]
    fn classifies_by_resource_version() {
        assert_eq!(classify(None, Some("1")), Change::Created);
        assert_eq!(classify(Some("7"), Some("7")), Change::Unchanged);
        assert_eq!(classify(Some("7"), Some("8")), Change::Configured);
    }

    #[test]
    fn reads_the_argocd_install_manifest() {
        let text = fs_err::read_to_string("../shared/crds/argocd-install/install.yaml").unwrap();
        let objects = parse_manifest(&text, "install.yaml").unwrap();
        assert_eq!(objects.len(), 59);
        let refs: Vec<_> = objects.iter().map(ObjectRef::of).collect();
        assert_eq!(refs.iter().filter(|r| phase(r) == 0).count(), 3);
        assert!(
            refs.iter().all(|r| r.namespace.is_none()),
            "upstream leaves the namespace to the installer"
        );
    }

    #[test]
    fn rejects_an_object_without_a_name_naming_the_document() {
        let err = parse_manifest(
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Secret\napiVersion: v1\nmetadata: {}\n",
            "x.yaml",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "`x.yaml`: document 2: Secret without `metadata.name`");
    }

    #[test]
    fn flattens_lists_and_skips_empty_documents() {
        let objects = parse_manifest(
            "---\n---\n{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}]}\n",
            "list.json",
        )
        .unwrap();
        assert_eq!(kinds(&objects), ["ConfigMap"]);
    }
}
