//! `gitgen validate --server`: a server-side dry-run apply of each object, as Argo CD
//! would apply it, so schema, admission, Pod Security and RBAC rejections show up before
//! a class rather than during it.
//!
//! It judges a cluster where nothing is deployed yet too, and gives every object a
//! verdict:
//! - A namespace the objects need that does not exist yet, and that one of the objects
//!   is (a lesson's own Namespace with its Pod Security labels, or the one an
//!   Application's `CreateNamespace=true` makes, which the caller passes as an object),
//!   is created for real by server-side apply under [`FIELD_MANAGER`]: the server can
//!   check nothing in a namespace that does not exist, and Argo CD creates the same
//!   Namespace on the lesson's first sync and takes it over. These Namespaces are all it leaves behind;
//!   [`DryRunReport::created_namespaces`] names them.
//! - An object whose kind the cluster does not serve yet (its CRD comes with an operator
//!   chart Argo CD has not installed) is checked against the CRD schemas the caller
//!   passes; only a kind no schema covers is reported as missing, once per kind.
//!
//! Everything else is a dry run: nothing else is persisted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, ValidationDirective};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::apply::{ObjectRef, PARALLEL, Resolver, api_for, to_object};
use super::{ClusterError, FIELD_MANAGER};
use gitgen_catalog::labels::LESSON_LABEL;
use gitgen_validate::CrdSchemas;

/// Where an object comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Origin {
    /// The lesson.
    pub lesson: String,
    /// The rendered file, relative to the repository.
    pub file: PathBuf,
}

/// One object to check, with its origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerObject {
    /// Where it comes from.
    pub origin: Origin,
    /// The object, as rendered.
    pub object: Value,
    /// The namespace it goes into when its kind is namespaced and it names none: its
    /// Application's destination namespace, as Argo CD does.
    pub namespace: String,
}

/// An object the API server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Where it comes from.
    pub origin: Origin,
    /// Which object, with the namespace it would be applied in.
    pub object: ObjectRef,
    /// The API server's message.
    pub message: String,
}

/// A kind the cluster does not serve, and the lessons that use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingKind {
    /// The API group (`keda.sh`).
    pub group: String,
    /// The version asked for.
    pub version: String,
    /// The kind (`ScaledObject`).
    pub kind: String,
    /// The lessons with objects of this kind.
    pub lessons: BTreeSet<String>,
}

/// An object the server could not check yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unverified {
    /// Where it comes from.
    pub origin: Origin,
    /// Which object.
    pub object: ObjectRef,
    /// Why, such as its namespace not existing until Argo CD creates it.
    pub reason: String,
}

/// What the dry run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DryRunReport {
    /// How many objects the server accepted.
    pub accepted: usize,
    /// How many objects of kinds the cluster does not serve yet passed their CRD schema.
    pub checked_offline: usize,
    /// Objects the server (or their CRD schema) refused.
    pub rejections: Vec<Rejection>,
    /// Kinds the server does not serve and no CRD schema covers.
    pub missing_kinds: Vec<MissingKind>,
    /// Kinds the server does not serve yet whose objects got their verdict from a CRD
    /// schema (counted in `checked_offline`, or rejected).
    pub schema_checked_kinds: Vec<MissingKind>,
    /// Objects that could not be checked.
    pub unverified: Vec<Unverified>,
    /// Namespaces created so objects in them could be checked; see the module documentation.
    pub created_namespaces: Vec<String>,
}

impl DryRunReport {
    /// Whether every object got a verdict and every verdict was yes.
    pub fn passed(&self) -> bool {
        self.rejections.is_empty() && self.missing_kinds.is_empty() && self.unverified.is_empty()
    }
}

/// The Namespaces Argo CD itself creates for `applications` (each with the rendered file
/// it comes from): an Application with `CreateNamespace=true` creates its destination
/// namespace, labelled and annotated from `managedNamespaceMetadata`, on its first sync.
/// Those that none of `objects` already is come back as objects to check, so the dry run
/// creates them when objects need them, like the lessons' own.
pub fn namespaces_argocd_creates(objects: &[ServerObject], applications: &[(String, Value)]) -> Vec<ServerObject> {
    let declared: Vec<&str> = objects
        .iter()
        .filter(|o| o.object["kind"] == "Namespace" && o.object["apiVersion"] == "v1")
        .filter_map(|o| o.object["metadata"]["name"].as_str())
        .collect();
    let mut namespaces: Vec<ServerObject> = Vec::new();
    for (file, app) in applications {
        let policy = &app["spec"]["syncPolicy"];
        let creates = policy["syncOptions"]
            .as_array()
            .is_some_and(|options| options.iter().any(|o| o == "CreateNamespace=true"));
        let Some(name) = app["spec"]["destination"]["namespace"].as_str() else {
            continue;
        };
        if !creates || declared.contains(&name) || namespaces.iter().any(|n| n.object["metadata"]["name"] == name) {
            continue;
        }
        let mut metadata = serde_json::json!({"name": name});
        for key in ["labels", "annotations"] {
            if let Some(value) = policy["managedNamespaceMetadata"].get(key) {
                metadata[key] = value.clone();
            }
        }
        let lesson = app["metadata"]["labels"][LESSON_LABEL].as_str().unwrap_or_default();
        namespaces.push(ServerObject {
            origin: Origin {
                lesson: lesson.to_owned(),
                file: file.into(),
            },
            object: serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}),
            namespace: name.to_owned(),
        });
    }
    namespaces
}

/// One object resolved against the cluster.
struct Served<'a> {
    item: &'a ServerObject,
    object: DynamicObject,
    reference: ObjectRef,
    api: Api<DynamicObject>,
}

/// Checks each object as the module documentation says: a server-side dry-run apply under
/// [`FIELD_MANAGER`] with strict field validation, or its CRD schema from `schemas` when
/// the cluster does not serve its kind. Errs only when the server cannot be asked at all.
pub async fn dry_run(
    client: &Client,
    objects: &[ServerObject],
    schemas: &CrdSchemas,
) -> Result<DryRunReport, ClusterError> {
    let mut report = DryRunReport::default();
    let mut parsed = Vec::new();
    for item in objects {
        match to_object(item.object.clone()) {
            Ok(object) => parsed.push((item, object)),
            Err(message) => report.rejections.push(Rejection {
                origin: item.origin.clone(),
                object: ObjectRef {
                    api_version: item.object["apiVersion"].as_str().unwrap_or_default().into(),
                    kind: item.object["kind"].as_str().unwrap_or_default().into(),
                    namespace: None,
                    name: item.object["metadata"]["name"].as_str().unwrap_or_default().into(),
                },
                message,
            }),
        }
    }
    let mut resolver = Resolver::new(client.clone());
    let api_versions: BTreeSet<String> = parsed.iter().map(|(_, o)| ObjectRef::of(o).api_version).collect();
    resolver.discover(api_versions.iter().map(String::as_str)).await?;

    let mut missing = NotServed::new();
    let mut schema_checked = NotServed::new();
    let mut served = Vec::new();
    for (item, mut object) in parsed {
        let reference = ObjectRef::of(&object);
        let Some(resolved) = resolver.lookup(&reference.api_version, &reference.kind) else {
            let (group, version) = reference
                .api_version
                .rsplit_once('/')
                .unwrap_or(("", &reference.api_version));
            let key = (group.to_owned(), version.to_owned(), reference.kind.clone());
            let Some(problems) = schemas.validate(&item.object) else {
                missing.entry(key).or_default().insert(item.origin.lesson.clone());
                continue;
            };
            schema_checked
                .entry(key)
                .or_default()
                .insert(item.origin.lesson.clone());
            if problems.is_empty() {
                report.checked_offline += 1;
            } else {
                report.rejections.push(Rejection {
                    origin: item.origin.clone(),
                    object: reference,
                    message: format!(
                        "{} (checked against its CRD schema: the cluster does not serve the kind yet)",
                        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    ),
                });
            }
            continue;
        };
        let api = api_for(client, &resolved, &mut object, &item.namespace);
        served.push(Served {
            item,
            reference: ObjectRef::of(&object),
            object,
            api,
        });
    }
    report.missing_kinds = kinds(missing);
    report.schema_checked_kinds = kinds(schema_checked);

    report.created_namespaces = create_declared_namespaces(client, &served, &mut report.rejections).await?;

    let params = PatchParams {
        dry_run: true,
        force: true,
        field_manager: Some(FIELD_MANAGER.into()),
        field_validation: Some(ValidationDirective::Strict),
    };
    let mut answers = futures::stream::iter(&served)
        .map(|s| {
            let params = &params;
            async move { s.api.patch(&s.reference.name, params, &Patch::Apply(&s.object)).await }
        })
        .buffered(PARALLEL);
    let mut index = 0;
    while let Some(answer) = answers.next().await {
        let Served { item, reference, .. } = &served[index];
        index += 1;
        match answer {
            Ok(_) => report.accepted += 1,
            Err(kube::Error::Api(status))
                if status.code == 404 && status.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
            {
                let namespace = reference.namespace.clone().unwrap_or_default();
                report.unverified.push(Unverified {
                    origin: item.origin.clone(),
                    object: reference.clone(),
                    reason: format!(
                        "namespace `{namespace}` does not exist and none of the objects creates it, so the server cannot check objects in it"
                    ),
                });
            }
            Err(kube::Error::Api(status)) => report.rejections.push(Rejection {
                origin: item.origin.clone(),
                object: reference.clone(),
                message: status.message.clone(),
            }),
            Err(source) => {
                return Err(ClusterError::Api {
                    doing: format!("dry-run apply of {reference}"),
                    source,
                });
            }
        }
    }
    Ok(report)
}

/// Kinds the cluster does not serve, `(group, version, Kind)`, with the lessons using each.
type NotServed = BTreeMap<(String, String, String), BTreeSet<String>>;

/// The kinds of `not_served`, in order.
fn kinds(not_served: NotServed) -> Vec<MissingKind> {
    not_served
        .into_iter()
        .map(|((group, version, kind), lessons)| MissingKind {
            group,
            version,
            kind,
            lessons,
        })
        .collect()
}

/// Creates each namespace that objects need, that does not exist, and that one of the
/// objects is; returns their names. A Namespace the server refuses is a rejection.
async fn create_declared_namespaces(
    client: &Client,
    served: &[Served<'_>],
    rejections: &mut Vec<Rejection>,
) -> Result<Vec<String>, ClusterError> {
    let needed: BTreeSet<&str> = served.iter().filter_map(|s| s.reference.namespace.as_deref()).collect();
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let existing: BTreeSet<String> = namespaces
        .list_metadata(&ListParams::default())
        .await
        .map_err(|source| ClusterError::Api {
            doing: "listing namespaces".into(),
            source,
        })?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    let mut created = Vec::new();
    for declared in served.iter().filter(|s| {
        s.reference.api_version == "v1"
            && s.reference.kind == "Namespace"
            && needed.contains(s.reference.name.as_str())
            && !existing.contains(&s.reference.name)
    }) {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match declared
            .api
            .patch(&declared.reference.name, &params, &Patch::Apply(&declared.object))
            .await
        {
            Ok(_) => created.push(declared.reference.name.clone()),
            Err(kube::Error::Api(status)) => rejections.push(Rejection {
                origin: declared.item.origin.clone(),
                object: declared.reference.clone(),
                message: status.message.clone(),
            }),
            Err(source) => {
                return Err(ClusterError::Api {
                    doing: format!("creating {}", declared.reference),
                    source,
                });
            }
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application(lesson: &str, namespace: &str, create: bool) -> (String, Value) {
        let options = if create { vec!["CreateNamespace=true"] } else { vec![] };
        let app = serde_json::json!({
            "metadata": {"labels": {"gitgen.io/lesson": lesson}},
            "spec": {
                "destination": {"namespace": namespace},
                "syncPolicy": {
                    "syncOptions": options,
                    "managedNamespaceMetadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
                },
            },
        });
        (format!("argocd/kind/apps/{lesson}.application.yaml"), app)
    }

    #[test]
    fn an_application_that_creates_its_namespace_adds_it_with_the_managed_metadata() {
        let namespaces = namespaces_argocd_creates(&[], &[application("alpha", "alpha", true)]);
        assert_eq!(namespaces.len(), 1);
        let namespace = &namespaces[0];
        assert_eq!(namespace.origin.lesson, "alpha");
        assert_eq!(
            namespace.origin.file,
            PathBuf::from("argocd/kind/apps/alpha.application.yaml")
        );
        assert_eq!(
            namespace.object,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "alpha",
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            }})
        );
    }

    #[test]
    fn a_namespace_a_lesson_declares_or_an_application_does_not_create_is_left_out() {
        let declared = ServerObject {
            origin: Origin {
                lesson: "beta".into(),
                file: "generated/beta/install/namespace.yaml".into(),
            },
            object: serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "beta"}}),
            namespace: "beta".into(),
        };
        let applications = [
            application("beta", "beta", true),
            application("gamma", "gamma", false),
            application("delta", "shared", true),
            application("epsilon", "shared", true),
        ];
        let namespaces = namespaces_argocd_creates(&[declared], &applications);
        let names: Vec<(&str, &Value)> = namespaces
            .iter()
            .map(|n| (n.origin.lesson.as_str(), &n.object["metadata"]["name"]))
            .collect();
        assert_eq!(
            names,
            [("delta", &Value::from("shared"))],
            "one Namespace per name, from the first Application"
        );
    }
}
