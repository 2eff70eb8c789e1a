//! Server-side apply of arbitrary objects, in an order the API server accepts.
//!
//! Objects are `DynamicObject`s resolved through discovery of their own group-version
//! (every group-version once, up front), so nothing here knows any kind in advance. CRDs
//! go first, then Namespaces, then everything else, then Argo CD Applications; objects of
//! a kind a new CRD defines (and the Applications) wait until it is Established, the rest
//! are applied meanwhile. A namespaced object without a namespace gets the caller's
//! default. Within a phase, objects are applied a few at a time ([`PARALLEL`]) and
//! reported in the caller's order.
//!
//! Each applied object carries [`APPLIED_HASH_ANNOTATION`], a hash of what gitgen applied.
//! One metadata-only list per kind and namespace reads the hashes back; an object whose
//! hash matches is reported unchanged without a request, so a second run is a handful of
//! lists; a first run skips the lists of Namespaces and CRDs it has just created. The
//! same lists carry each object's `managedFields`: a field gitgen applies that another
//! field manager has taken since (`kubectl edit`, `kubectl apply`, another controller) is
//! an edit by hand, and the object is applied again, which restores it (see
//! [`taken_by`]); so is a field gitgen applies that nobody manages any more, which was
//! removed by hand since (see [`removed_field`]). Otherwise an object is created, or
//! configured when its resourceVersion moved.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResourceList, ManagedFieldsEntry};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ClusterError, FIELD_MANAGER, api_message, is_not_found};
use gitgen_catalog::labels::APPLIED_HASH_ANNOTATION;

/// How many requests gitgen has in flight at once: enough to hide the round trips, few
/// enough not to crowd a small control plane.
pub const PARALLEL: usize = 8;

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
    /// Why an object whose applied hash matched was applied again, when that undid an
    /// edit by hand: in the report beside `change`, as `restored_from` or `restored`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub restored: Option<Restored>,
}

/// An edit by hand since gitgen applied an object, which applying it again undid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Restored {
    /// The field manager that had changed a field gitgen applies (`kubectl edit`,
    /// another `kubectl apply`, `kubectl scale`).
    #[serde(rename = "restored_from")]
    EditedBy(String),
    /// The path of a field gitgen applies that had been removed (`data.url`,
    /// `metadata.labels["app.kubernetes.io/name"]`): the first one found.
    #[serde(rename = "restored")]
    Removed(String),
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
    let documents: Vec<serde_json::Value> = gitgen_yaml::documents(text, Path::new(origin))?;
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

/// When an object may be applied: CRDs (0) before Namespaces (1) before the rest (2)
/// before Argo CD Applications (3), which Argo CD acts on as soon as they exist, so their
/// AppProjects, configuration and credentials come first.
pub fn phase(object: &ObjectRef) -> u8 {
    match (object.group(), object.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 0,
        ("", "Namespace") => 1,
        ("argoproj.io", "Application" | "ApplicationSet") => 3,
        _ => 2,
    }
}

/// A resolved kind: how to address it and whether it is namespaced.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Discovery of group-versions, cached; a group-version the server does not serve is
/// cached as absent until [`Resolver::forget_absent`].
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

    /// Discovers every group-version not cached yet, [`PARALLEL`] at a time.
    pub async fn discover<'a>(&mut self, api_versions: impl IntoIterator<Item = &'a str>) -> Result<(), ClusterError> {
        let wanted: BTreeSet<&str> = api_versions
            .into_iter()
            .filter(|v| !self.cache.contains_key(*v))
            .collect();
        let client = &self.client;
        let found: Vec<(&str, Option<APIResourceList>)> = futures::stream::iter(wanted)
            .map(|api_version| async move {
                let listed = if api_version.contains('/') {
                    client.list_api_group_resources(api_version).await
                } else {
                    client.list_core_api_resources(api_version).await
                };
                match listed {
                    Ok(list) => Ok((api_version, Some(list))),
                    Err(e) if is_not_found(&e) => Ok((api_version, None)),
                    Err(source) => Err(ClusterError::Api {
                        doing: format!("discovering `{api_version}`"),
                        source,
                    }),
                }
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        for (api_version, list) in found {
            self.cache.insert(api_version.to_owned(), list);
        }
        Ok(())
    }

    /// Resolves `kind` in `api_version` from what was discovered; `None` when the server
    /// does not serve it (or it was not discovered).
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<Resolved> {
        let list = self.cache.get(api_version)?.as_ref()?;
        let found = list
            .resources
            .iter()
            .find(|r| r.kind == kind && !r.name.contains('/'))?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Some(Resolved {
            resource: ApiResource::from_gvk_with_plural(&gvk, &found.name),
            namespaced: found.namespaced,
        })
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

/// The hash [`APPLIED_HASH_ANNOTATION`] holds: of the object as applied, before the
/// annotation is added.
pub fn applied_hash(object: &DynamicObject) -> String {
    let bytes = serde_json::to_vec(object).expect("a DynamicObject serializes");
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// One object ready to apply: resolved, namespaced, hashed and annotated.
struct Target {
    object: DynamicObject,
    reference: ObjectRef,
    api: Api<DynamicObject>,
    /// Where its kind lives, for the list that reads what the cluster holds.
    list_key: (String, Option<String>),
    /// The name a CRD defining its kind has: `<plural>.<group>`.
    definition: String,
    hash: String,
}

fn target(
    client: &Client,
    resolver: &Resolver,
    mut object: DynamicObject,
    default_namespace: &str,
) -> Result<Target, ClusterError> {
    let reference = ObjectRef::of(&object);
    let resolved = resolver
        .lookup(&reference.api_version, &reference.kind)
        .ok_or(ClusterError::UnknownKind { object: reference })?;
    let api = api_for(client, &resolved, &mut object, default_namespace);
    let hash = applied_hash(&object);
    object
        .annotations_mut()
        .insert(APPLIED_HASH_ANNOTATION.to_owned(), hash.clone());
    let reference = ObjectRef::of(&object);
    let list_key = (
        format!("{}/{}", resolved.resource.api_version, resolved.resource.plural),
        reference.namespace.clone(),
    );
    let definition = format!("{}.{}", resolved.resource.plural, resolved.resource.group);
    Ok(Target {
        object,
        reference,
        api,
        list_key,
        definition,
        hash,
    })
}

/// What the cluster holds of an object: its resourceVersion, the hash gitgen applied and
/// who manages which of its fields.
struct Existing {
    resource_version: Option<String>,
    hash: Option<String>,
    managed_fields: Vec<ManagedFieldsEntry>,
}

/// The field manager that has taken a field of `applied` from gitgen since gitgen applied
/// it, if any: a field of `applied` that another manager owns and gitgen does not (or owns
/// less of). The Kubernetes documentation on server-side apply
/// (<https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management>):
/// "Whenever a field's value does change, ownership moves from its current manager to the
/// manager making the change", so a hand edit moves the field out of gitgen's entry, while
/// a manager that set a field to gitgen's value shares it and takes nothing. Entries of the
/// `status` subresource are left out: the controllers write there, never a field gitgen
/// applies (`scale` counts: `kubectl scale` edits `spec.replicas`).
fn taken_by<'a>(applied: &serde_json::Value, managed_fields: &'a [ManagedFieldsEntry]) -> Option<&'a str> {
    fn fields(entry: &ManagedFieldsEntry) -> Option<&serde_json::Value> {
        entry.fields_v1.as_ref().map(|fields| &fields.0)
    }
    let gitgens = managed_fields
        .iter()
        .find(|entry| entry.manager.as_deref() == Some(FIELD_MANAGER) && entry.operation.as_deref() == Some("Apply"))
        .and_then(fields);
    managed_fields
        .iter()
        .filter(|entry| entry.manager.as_deref() != Some(FIELD_MANAGER))
        .filter(|entry| entry.subresource.as_deref() != Some("status"))
        .find(|entry| fields(entry).is_some_and(|theirs| takes_a_field(applied, theirs, gitgens)))
        .and_then(|entry| entry.manager.as_deref())
}

/// Whether the field set `theirs` (`managedFields[].fieldsV1`: `f:<key>` per map key)
/// holds a field of `applied` that `ours` does not. Maps are walked key by key; a field
/// whose value is anything else (a scalar, a list, an empty map) is compared whole, so an
/// edit inside a list counts without knowing the list's merge keys.
fn takes_a_field(applied: &serde_json::Value, theirs: &serde_json::Value, ours: Option<&serde_json::Value>) -> bool {
    let serde_json::Value::Object(applied) = applied else {
        return false;
    };
    applied.iter().any(|(key, value)| {
        let field = format!("f:{key}");
        let Some(their_field) = theirs.get(&field) else {
            return false;
        };
        let our_field = ours.and_then(|ours| ours.get(&field));
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => takes_a_field(value, their_field, our_field),
            _ => !our_field.is_some_and(|ours| holds(ours, their_field)),
        }
    })
}

/// Top-level fields the API server never records in a field set, nor `metadata` fields:
/// `stripMetaManager` takes them out of every manager's entry
/// (kubernetes/kubernetes `staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal/stripmeta.go`),
/// and `status` is a reset field of the main resource for kinds with a status subresource
/// (`IgnoredFields: resetFields` in `internal/structuredmerge.go` there), so an apply of
/// the object never owns it.
pub(crate) const UNRECORDED: &[&str] = &["apiVersion", "kind", "status"];
/// The `metadata` fields of `stripmeta.go`'s strip set (see [`UNRECORDED`]).
pub(crate) const UNRECORDED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// The first field of `applied` that gitgen's own `Apply` entry does not hold any more: a
/// field removed by hand since gitgen applied it (`kubectl edit` deleting a line, `kubectl
/// patch --type=json` `remove`). No manager owns such a field: on an Update, the API
/// server takes the fields the update removed out of every other manager's set
/// (`compare.Removed`, kubernetes-sigs/structured-merge-diff `merge/update.go`,
/// `Updater.update`), so gitgen's entry loses it while the object keeps gitgen's hash.
///
/// gitgen's entry holds every field of what it applied (`typed/tofieldset.go` there:
/// every map key, and a null or empty map as a field of its own), so each key of `applied`
/// must be in it; maps are walked key by key and anything else is compared as a whole
/// key, so a list counts as present when its key is. Nulls and empty lists are skipped:
/// a null asks for no value, and an empty associative list leaves no field in the set. A
/// field the entry holds whole (`{}`: an atomic map) holds everything under it.
fn removed_field(applied: &serde_json::Value, managed_fields: &[ManagedFieldsEntry]) -> Option<String> {
    let none = serde_json::Value::Null;
    let gitgens = managed_fields
        .iter()
        .find(|entry| entry.manager.as_deref() == Some(FIELD_MANAGER) && entry.operation.as_deref() == Some("Apply"))
        .and_then(|entry| entry.fields_v1.as_ref())
        .map_or(&none, |fields| &fields.0);
    let applied = applied.as_object()?;
    let mut keys = applied
        .iter()
        .filter(|(key, _)| !UNRECORDED.contains(&key.as_str()))
        .find_map(|(key, value)| {
            let ours = gitgens.get(format!("f:{key}"));
            match key.as_str() {
                // `metadata` itself is stripped, never its labels or annotations: without
                // them, the set has no `f:metadata`, and the report names what went.
                "metadata" => missing_under(key, value, Some(ours.unwrap_or(&none)), UNRECORDED_METADATA),
                _ => missing_under(key, value, ours, &[]),
            }
        })?;
    keys.reverse();
    Some(field_path(&keys))
}

/// The keys, innermost first, of the first field at or under `key` (applied as `value`)
/// missing from the field set `ours` holds for it (see [`removed_field`]); keys in
/// `skipped` are not looked at.
fn missing_under<'a>(
    key: &'a str,
    value: &'a serde_json::Value,
    ours: Option<&serde_json::Value>,
    skipped: &[&str],
) -> Option<Vec<&'a str>> {
    match value {
        serde_json::Value::Null => return None,
        serde_json::Value::Array(items) if items.is_empty() => return None,
        _ => {}
    }
    let Some(ours) = ours else {
        return Some(vec![key]);
    };
    let serde_json::Value::Object(fields) = value else {
        return None;
    };
    if ours.as_object().is_some_and(serde_json::Map::is_empty) {
        return None;
    }
    let mut keys = fields
        .iter()
        .filter(|(inner, _)| !skipped.contains(&inner.as_str()))
        .find_map(|(inner, value)| missing_under(inner, value, ours.get(format!("f:{inner}")), &[]))?;
    keys.push(key);
    Some(keys)
}

/// A field's path as a report shows it: `data.url`, or
/// `metadata.labels["app.kubernetes.io/name"]` for a key that is not a plain name.
fn field_path(keys: &[&str]) -> String {
    let mut path = String::new();
    for key in keys {
        let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match (plain, path.is_empty()) {
            (true, true) => path.push_str(key),
            (true, false) => {
                path.push('.');
                path.push_str(key);
            }
            (false, _) => path.push_str(&format!("[{}]", serde_json::Value::from(*key))),
        }
    }
    path
}

/// Whether the field set `outer` holds every field of `inner`.
fn holds(outer: &serde_json::Value, inner: &serde_json::Value) -> bool {
    inner
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, inner)| outer.get(key).is_some_and(|outer| holds(outer, inner)))
}

/// Reads what the cluster holds of `targets`, one metadata-only list per kind and
/// namespace, [`PARALLEL`] at a time. Keyed by list key, then name.
async fn existing(
    targets: &[&Target],
) -> Result<HashMap<(String, Option<String>), HashMap<String, Existing>>, ClusterError> {
    let mut lists: BTreeMap<&(String, Option<String>), &Api<DynamicObject>> = BTreeMap::new();
    for target in targets {
        lists.entry(&target.list_key).or_insert(&target.api);
    }
    futures::stream::iter(lists)
        .map(|(key, api)| async move {
            let list = api
                .list_metadata(&ListParams::default())
                .await
                .map_err(|source| ClusterError::Api {
                    doing: format!(
                        "listing `{}`{}",
                        key.0,
                        key.1
                            .as_ref()
                            .map(|ns| format!(" in namespace `{ns}`"))
                            .unwrap_or_default()
                    ),
                    source,
                })?;
            let objects = list
                .items
                .into_iter()
                .map(|item| {
                    let hash = item.annotations().get(APPLIED_HASH_ANNOTATION).cloned();
                    (
                        item.name_any(),
                        Existing {
                            resource_version: item.metadata.resource_version,
                            hash,
                            managed_fields: item.metadata.managed_fields.unwrap_or_default(),
                        },
                    )
                })
                .collect();
            Ok::<_, ClusterError>((key.clone(), objects))
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await
}

/// Applies one target under [`FIELD_MANAGER`], taking over conflicting fields, unless
/// the cluster holds it as gitgen last applied it and no other manager has taken one of
/// its fields since, nor was one removed.
async fn apply_target(target: Target, before: Option<&Existing>) -> Result<Applied, ClusterError> {
    let edit = match before.filter(|b| b.hash.as_deref() == Some(target.hash.as_str())) {
        None => None,
        Some(before) => {
            let applied = serde_json::to_value(&target.object).expect("a DynamicObject serializes");
            let edit = taken_by(&applied, &before.managed_fields)
                .map(|manager| Restored::EditedBy(manager.to_owned()))
                .or_else(|| removed_field(&applied, &before.managed_fields).map(Restored::Removed));
            if edit.is_none() {
                return Ok(Applied {
                    object: target.reference,
                    change: Change::Unchanged,
                    restored: None,
                });
            }
            edit
        }
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let after = target
        .api
        .patch(&target.reference.name, &params, &Patch::Apply(&target.object))
        .await
        .map_err(|e| {
            let (message, code) = api_message(&e);
            ClusterError::Apply {
                object: target.reference.clone(),
                message,
                code,
            }
        })?;
    let change = classify(
        before.map(|b| b.resource_version.as_deref().unwrap_or_default()),
        after.metadata.resource_version.as_deref(),
    );
    Ok(Applied {
        object: target.reference,
        change,
        // A manager that shares a field inside a list with gitgen counts as taking it (see
        // `takes_a_field`), and a field the server drops on its own may leave gitgen's set,
        // but applying again changes nothing then: nothing was restored.
        restored: edit.filter(|_| change != Change::Unchanged),
    })
}

/// What this run created from nothing. A Namespace or a CRD created a moment ago holds
/// no objects yet, so the list that would read them back is skipped; on a fresh cluster
/// that is every list after the first phase.
#[derive(Debug, Default, Clone)]
struct CreatedHere {
    namespaces: BTreeSet<String>,
    definitions: BTreeSet<String>,
}

impl CreatedHere {
    fn note(&mut self, report: &[Applied]) {
        for applied in report.iter().filter(|a| a.change == Change::Created) {
            let object = &applied.object;
            match (object.group(), object.kind.as_str()) {
                ("", "Namespace") => self.namespaces.insert(object.name.clone()),
                ("apiextensions.k8s.io", "CustomResourceDefinition") => self.definitions.insert(object.name.clone()),
                _ => false,
            };
        }
    }

    /// Whether the cluster can hold nothing yet of the kind a CRD named `definition`
    /// defines, or in `namespace`.
    fn holds_nothing(&self, definition: &str, namespace: Option<&str>) -> bool {
        self.definitions.contains(definition) || namespace.is_some_and(|namespace| self.namespaces.contains(namespace))
    }
}

/// Applies one phase's objects, [`PARALLEL`] at a time, reporting them in order. Stops
/// at the first failure.
async fn apply_phase(
    client: &Client,
    resolver: &Resolver,
    objects: Vec<DynamicObject>,
    default_namespace: &str,
    created: &mut CreatedHere,
    on_applied: &mut dyn FnMut(&Applied),
) -> Result<Vec<Applied>, ClusterError> {
    let targets = objects
        .into_iter()
        .map(|object| target(client, resolver, object, default_namespace))
        .collect::<Result<Vec<_>, _>>()?;
    let listed: Vec<&Target> = targets
        .iter()
        .filter(|t| !created.holds_nothing(&t.definition, t.reference.namespace.as_deref()))
        .collect();
    let existing = existing(&listed).await?;
    let mut applying = futures::stream::iter(targets)
        .map(|target| {
            let before = existing
                .get(&target.list_key)
                .and_then(|objects| objects.get(&target.reference.name));
            apply_target(target, before)
        })
        .buffered(PARALLEL);
    let mut report = Vec::new();
    while let Some(applied) = applying.next().await {
        let applied = applied?;
        on_applied(&applied);
        report.push(applied);
    }
    created.note(&report);
    Ok(report)
}

/// Applies phase after phase (see [`phase`]).
async fn apply_phases(
    client: &Client,
    resolver: &Resolver,
    phases: BTreeMap<u8, Vec<DynamicObject>>,
    default_namespace: &str,
    created: &mut CreatedHere,
    on_applied: &mut dyn FnMut(&Applied),
) -> Result<Vec<Applied>, ClusterError> {
    let mut report = Vec::new();
    for (_, objects) in phases {
        report.extend(apply_phase(client, resolver, objects, default_namespace, created, on_applied).await?);
    }
    Ok(report)
}

/// Waits until every named CRD is Established, within `timeout` overall.
pub(crate) async fn wait_for_crds(client: &Client, names: &[String], timeout: Duration) -> Result<(), ClusterError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let waiting = std::sync::Mutex::new(names.iter().cloned().collect::<BTreeSet<String>>());
    let result = tokio::time::timeout(
        timeout,
        futures::future::try_join_all(names.iter().map(|name| {
            let (api, waiting) = (api.clone(), &waiting);
            async move {
                await_condition(api, name, conditions::is_crd_established())
                    .await
                    .map_err(|e| ClusterError::Api {
                        doing: format!("waiting for CRD `{name}`"),
                        source: kube::Error::Service(Box::new(e)),
                    })?;
                waiting.lock().expect("not poisoned").remove(name);
                Ok::<_, ClusterError>(())
            }
        })),
    )
    .await;
    match result {
        Ok(done) => done.map(drop),
        Err(_) => Err(ClusterError::CrdTimeout {
            names: waiting.into_inner().expect("not poisoned").into_iter().collect(),
            timeout,
        }),
    }
}

/// The group-versions and kind a CRD serves.
fn crd_serves(crd: &DynamicObject) -> (Vec<String>, String) {
    let spec = &crd.data["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let versions = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() != Some(false))
        .filter_map(|v| v["name"].as_str())
        .map(|version| format!("{group}/{version}"))
        .collect();
    (versions, spec["names"]["kind"].as_str().unwrap_or_default().to_owned())
}

/// Applies `objects` by [`phase`], keeping their order within one: CRDs, then Namespaces,
/// the rest, and Applications. Objects of a kind that a new CRD defines wait until it is
/// Established (at most `crd_timeout`), and so do all Applications; the others go while
/// the API server establishes the CRDs. Objects whose
/// kind is namespaced but that name no namespace go into `default_namespace`. Every kind
/// must be served, or come from a CRD among `objects`, before anything is written.
/// Stops at the first failure; the objects applied before it stay applied, so running
/// again resumes.
pub async fn apply_objects(
    client: &Client,
    objects: Vec<DynamicObject>,
    default_namespace: &str,
    crd_timeout: Duration,
    on_applied: &mut dyn FnMut(&Applied),
) -> Result<Vec<Applied>, ClusterError> {
    let mut phases: BTreeMap<u8, Vec<DynamicObject>> = BTreeMap::new();
    for object in objects {
        phases.entry(phase(&ObjectRef::of(&object))).or_default().push(object);
    }
    let crds = phases.remove(&0).unwrap_or_default();
    let new_groups: BTreeSet<String> = crds
        .iter()
        .filter_map(|crd| crd.data["spec"]["group"].as_str().map(str::to_owned))
        .collect();

    let mut resolver = Resolver::new(client.clone());
    let mut api_versions: BTreeSet<String> = phases
        .values()
        .flatten()
        .chain(&crds)
        .map(|o| ObjectRef::of(o).api_version)
        .collect();
    api_versions.extend(crds.iter().flat_map(|crd| crd_serves(crd).0));
    resolver.discover(api_versions.iter().map(String::as_str)).await?;
    // Refuse an unserved kind before the first write, unless a CRD here will serve it.
    for object in phases.values().flatten() {
        let reference = ObjectRef::of(object);
        if !new_groups.contains(reference.group()) && resolver.lookup(&reference.api_version, &reference.kind).is_none()
        {
            return Err(ClusterError::UnknownKind { object: reference });
        }
    }

    // A CRD whose kind discovery already serves is Established: no need to wait for it.
    let waiting: Vec<String> = crds
        .iter()
        .filter(|crd| {
            let (versions, kind) = crd_serves(crd);
            !versions.iter().any(|v| resolver.lookup(v, &kind).is_some())
        })
        .map(|crd| crd.name_any())
        .collect();
    let mut created = CreatedHere::default();
    let mut report = apply_phase(client, &resolver, crds, default_namespace, &mut created, on_applied).await?;
    if waiting.is_empty() {
        report.extend(apply_phases(client, &resolver, phases, default_namespace, &mut created, on_applied).await?);
        return Ok(report);
    }

    // While the new CRDs become Established, apply what does not need them: Namespaces
    // and the kinds the server serves already. Applications always wait, for their
    // AppProjects may be of a new kind.
    let (mut now, mut later) = (BTreeMap::new(), BTreeMap::new());
    for (phase, objects) in phases {
        for object in objects {
            let reference = ObjectRef::of(&object);
            let served = resolver.lookup(&reference.api_version, &reference.kind).is_some();
            let when = if phase < 3 && served { &mut now } else { &mut later };
            when.entry(phase).or_insert_with(Vec::new).push(object);
        }
    }
    let mut created_meanwhile = created.clone();
    let (meanwhile, ()) = futures::try_join!(
        apply_phases(
            client,
            &resolver,
            now,
            default_namespace,
            &mut created_meanwhile,
            on_applied
        ),
        wait_for_crds(client, &waiting, crd_timeout),
    )?;
    report.extend(meanwhile);
    let mut created = created_meanwhile;

    // Discovery can lag a moment behind a CRD becoming Established.
    let deadline = tokio::time::Instant::now() + crd_timeout;
    loop {
        resolver.forget_absent();
        resolver.discover(api_versions.iter().map(String::as_str)).await?;
        let served = later.values().flatten().all(|object| {
            let reference = ObjectRef::of(object);
            resolver.lookup(&reference.api_version, &reference.kind).is_some()
        });
        if served || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report.extend(apply_phases(client, &resolver, later, default_namespace, &mut created, on_applied).await?);
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
    fn orders_crds_then_namespaces_then_the_rest_then_applications() {
        let mut ordered = vec![
            object("argoproj.io/v1alpha1", "Application", "root"),
            object("v1", "ConfigMap", "a"),
            object("v1", "Namespace", "argocd"),
            object(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "applications.argoproj.io",
            ),
            object("apps/v1", "Deployment", "b"),
        ];
        ordered.sort_by_key(|o| phase(&ObjectRef::of(o)));
        assert_eq!(
            kinds(&ordered),
            [
                "CustomResourceDefinition",
                "Namespace",
                "ConfigMap",
                "Deployment",
                "Application"
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
    fn only_what_this_run_created_is_known_to_hold_nothing() {
        let applied = |api_version: &str, kind: &str, name: &str, change| Applied {
            object: ObjectRef::of(&object(api_version, kind, name)),
            change,
            restored: None,
        };
        let mut created = CreatedHere::default();
        created.note(&[
            applied("v1", "Namespace", "argocd", Change::Created),
            applied("v1", "Namespace", "course", Change::Configured),
            applied(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "appprojects.argoproj.io",
                Change::Created,
            ),
            applied(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "applications.argoproj.io",
                Change::Unchanged,
            ),
            applied("example.com/v1", "Namespace", "lookalike", Change::Created),
        ]);
        assert!(created.holds_nothing("configmaps.", Some("argocd")));
        assert!(created.holds_nothing("appprojects.argoproj.io", Some("course")));
        assert!(!created.holds_nothing("applications.argoproj.io", Some("course")));
        assert!(!created.holds_nothing("configmaps.", Some("lookalike")));
        assert!(!created.holds_nothing("namespaces.", None));
    }

    /// A managedFields entry of `manager` (`Update`, or `Apply` for gitgen).
    fn entry(manager: &str, subresource: Option<&str>, fields: serde_json::Value) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.to_owned()),
            operation: Some(if manager == FIELD_MANAGER { "Apply" } else { "Update" }.to_owned()),
            subresource: subresource.map(str::to_owned),
            fields_type: Some("FieldsV1".to_owned()),
            fields_v1: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }
    }

    fn config_map() -> serde_json::Value {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd", "annotations": {APPLIED_HASH_ANNOTATION: "h"}},
            "data": {"url": "https://argocd.example", "users.anonymous.enabled": "false"}})
    }

    #[test]
    fn a_field_gitgen_applied_that_another_manager_edited_since_is_taken_by_that_manager() {
        let managed = [
            entry(
                FIELD_MANAGER,
                None,
                serde_json::json!({"f:data": {"f:users.anonymous.enabled": {}}}),
            ),
            entry("kubectl-edit", None, serde_json::json!({"f:data": {"f:url": {}}})),
        ];
        assert_eq!(taken_by(&config_map(), &managed), Some("kubectl-edit"));
    }

    #[test]
    fn a_field_shared_at_gitgens_value_one_gitgen_never_applied_or_a_status_write_takes_nothing() {
        let ours = serde_json::json!({"f:data": {"f:url": {}, "f:users.anonymous.enabled": {}}});
        let shared = [
            entry(FIELD_MANAGER, None, ours.clone()),
            entry("kubectl", None, serde_json::json!({"f:data": {"f:url": {}}})),
        ];
        assert_eq!(taken_by(&config_map(), &shared), None);
        let elsewhere = [
            entry(FIELD_MANAGER, None, ours.clone()),
            entry(
                "argocd-server",
                None,
                serde_json::json!({"f:data": {"f:admin.enabled": {}}, "f:metadata": {"f:labels": {}}}),
            ),
        ];
        assert_eq!(taken_by(&config_map(), &elsewhere), None);
        let status = [
            entry(FIELD_MANAGER, None, serde_json::json!({})),
            entry(
                "kube-controller-manager",
                Some("status"),
                serde_json::json!({"f:data": {"f:url": {}}}),
            ),
        ];
        assert_eq!(taken_by(&config_map(), &status), None);
    }

    #[test]
    fn an_edit_inside_a_list_gitgen_applied_is_taken_and_so_is_a_scale() {
        let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "argocd-server"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "server", "image": "argocd:v2.12.3"}]}}}});
        let container = r#"k:{"name":"server"}"#;
        let ours = serde_json::json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {container: {".": {}, "f:name": {}}}}}}});
        let image = [
            entry(FIELD_MANAGER, None, ours.clone()),
            entry(
                "kubectl-set",
                None,
                serde_json::json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {container: {"f:image": {}}}}}}}),
            ),
        ];
        assert_eq!(taken_by(&deployment, &image), Some("kubectl-set"));
        let scale = [
            entry(FIELD_MANAGER, None, serde_json::json!({"f:spec": {"f:template": {}}})),
            entry(
                "kubectl-scale",
                Some("scale"),
                serde_json::json!({"f:spec": {"f:replicas": {}}}),
            ),
        ];
        assert_eq!(taken_by(&deployment, &scale), Some("kubectl-scale"));
    }

    /// gitgen's `Apply` entry for [`config_map`] as the API server records it: no
    /// `apiVersion`, `kind`, `metadata.name` or `metadata.namespace`.
    fn config_maps_fields() -> serde_json::Value {
        serde_json::json!({"f:metadata": {"f:annotations": {".": {}, "f:gitgen.io/applied-hash": {}}},
            "f:data": {".": {}, "f:url": {}, "f:users.anonymous.enabled": {}}})
    }

    #[test]
    fn an_object_whose_applied_fields_are_all_in_gitgens_entry_has_none_removed() {
        let managed = [entry(FIELD_MANAGER, None, config_maps_fields())];
        assert_eq!(removed_field(&config_map(), &managed), None);
    }

    #[test]
    fn a_key_removed_by_hand_is_missing_from_gitgens_entry_and_named_by_its_path() {
        let mut fields = config_maps_fields();
        fields["f:data"]
            .as_object_mut()
            .unwrap()
            .remove("f:users.anonymous.enabled");
        // `kubectl edit`, which removed it, owns nothing of it: its entry is what it set.
        let managed = [
            entry(FIELD_MANAGER, None, fields),
            entry("kubectl-edit", None, serde_json::json!({"f:data": {"f:other": {}}})),
        ];
        assert_eq!(
            removed_field(&config_map(), &managed).as_deref(),
            Some(r#"data["users.anonymous.enabled"]"#)
        );
    }

    #[test]
    fn a_removed_map_or_a_removed_label_is_named_as_far_as_it_is_missing() {
        let mut labelled = config_map();
        labelled["metadata"]["labels"] = serde_json::json!({"app.kubernetes.io/name": "argocd-cm", "tier": "x"});
        let mut fields = config_maps_fields();
        fields["f:metadata"]["f:labels"] = serde_json::json!({".": {}, "f:tier": {}});
        let without_label = [entry(FIELD_MANAGER, None, fields.clone())];
        assert_eq!(
            removed_field(&labelled, &without_label).as_deref(),
            Some(r#"metadata.labels["app.kubernetes.io/name"]"#)
        );
        fields.as_object_mut().unwrap().remove("f:data");
        let without_data = [entry(FIELD_MANAGER, None, fields)];
        assert_eq!(removed_field(&config_map(), &without_data).as_deref(), Some("data"));
        assert_eq!(
            removed_field(&config_map(), &[]).as_deref(),
            Some("metadata.annotations"),
            "no entry of gitgen's: nothing it applied is held"
        );
    }

    #[test]
    fn lists_count_whole_an_atomic_map_holds_all_under_it_and_nulls_or_empty_lists_hold_nothing() {
        let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "argocd-server", "namespace": "argocd", "creationTimestamp": null},
            "spec": {"selector": {"matchLabels": {"app": "server"}}, "strategy": {}, "minReadySeconds": null,
                     "template": {"spec": {"tolerations": [], "containers": [{"name": "server", "image": "argocd:v2.12.3"}]}}},
            "status": {}});
        let container = r#"k:{"name":"server"}"#;
        let ours = serde_json::json!({"f:spec": {"f:selector": {}, "f:strategy": {},
            "f:template": {"f:spec": {"f:containers": {container: {".": {}, "f:name": {}}}}}}});
        assert_eq!(
            removed_field(&deployment, &[entry(FIELD_MANAGER, None, ours.clone())]),
            None
        );
        let mut without_containers = ours;
        without_containers["f:spec"]["f:template"]["f:spec"] = serde_json::json!({});
        assert_eq!(
            removed_field(&deployment, &[entry(FIELD_MANAGER, None, without_containers)]),
            None,
            "`{{}}` holds the whole field: an atomic map"
        );
        let mut no_template_spec =
            serde_json::json!({"f:spec": {"f:selector": {}, "f:strategy": {}, "f:template": {".": {}}}});
        assert_eq!(
            removed_field(&deployment, &[entry(FIELD_MANAGER, None, no_template_spec.clone())]).as_deref(),
            Some("spec.template.spec")
        );
        no_template_spec["f:spec"]["f:template"]["f:spec"] = serde_json::json!({"f:tolerations": {}, "f:x": {}});
        assert_eq!(
            removed_field(&deployment, &[entry(FIELD_MANAGER, None, no_template_spec)]).as_deref(),
            Some("spec.template.spec.containers"),
            "a list is held by its key"
        );
    }

    #[test]
    fn classifies_by_resource_version() {
        assert_eq!(classify(None, Some("1")), Change::Created);
        assert_eq!(classify(Some("7"), Some("7")), Change::Unchanged);
        assert_eq!(classify(Some("7"), Some("8")), Change::Configured);
    }

    #[test]
    fn the_applied_hash_follows_the_content() {
        let a = object("v1", "ConfigMap", "a");
        assert_eq!(applied_hash(&a), applied_hash(&a.clone()));
        assert_ne!(applied_hash(&a), applied_hash(&object("v1", "ConfigMap", "b")));
        assert_eq!(applied_hash(&a).len(), 32);
    }

    #[test]
    fn reads_the_argocd_install_manifest() {
        let text = fs_err::read_to_string(concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/../shared/crds/argocd-install/install.yaml"
        ))
        .unwrap();
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
