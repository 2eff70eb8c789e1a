//! `gitgen validate --server`: a server-side dry-run apply of each object, as Argo CD
//! would apply it, so schema, admission, Pod Security and RBAC rejections show up before
//! a class rather than during it.
//!
//! Nothing is persisted. Kinds the cluster does not serve (a CRD is missing) are reported
//! once per kind rather than once per object, so the caller can say which CRDs to install.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use kube::Client;
use kube::api::{Patch, PatchParams, ValidationDirective};
use serde::Serialize;

use super::apply::{ObjectRef, Resolver, api_for, to_object};
use super::{ClusterError, FIELD_MANAGER};

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
    pub object: serde_json::Value,
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
    /// Objects the server refused.
    pub rejections: Vec<Rejection>,
    /// Kinds the server does not serve.
    pub missing_kinds: Vec<MissingKind>,
    /// Objects that could not be checked.
    pub unverified: Vec<Unverified>,
}

impl DryRunReport {
    /// Whether every object was accepted.
    pub fn passed(&self) -> bool {
        self.rejections.is_empty() && self.missing_kinds.is_empty() && self.unverified.is_empty()
    }
}

/// Dry-runs a server-side apply of each object under [`FIELD_MANAGER`] with strict field
/// validation; namespaced objects without a namespace go into `default_namespace`. Errs
/// only when the server cannot be asked at all.
pub async fn dry_run(
    client: &Client,
    objects: &[ServerObject],
    default_namespace: &str,
) -> Result<DryRunReport, ClusterError> {
    let mut resolver = Resolver::new(client.clone());
    let mut report = DryRunReport::default();
    let mut missing: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    let params = PatchParams {
        dry_run: true,
        force: true,
        field_manager: Some(FIELD_MANAGER.into()),
        field_validation: Some(ValidationDirective::Strict),
    };
    for item in objects {
        let mut object = match to_object(item.object.clone()) {
            Ok(object) => object,
            Err(message) => {
                let object = ObjectRef {
                    api_version: item.object["apiVersion"].as_str().unwrap_or_default().into(),
                    kind: item.object["kind"].as_str().unwrap_or_default().into(),
                    namespace: None,
                    name: item.object["metadata"]["name"].as_str().unwrap_or_default().into(),
                };
                report.rejections.push(Rejection {
                    origin: item.origin.clone(),
                    object,
                    message,
                });
                continue;
            }
        };
        let reference = ObjectRef::of(&object);
        let resolved = resolver.resolve_object(&reference).await?;
        let Some(resolved) = resolved else {
            let (group, version) = reference
                .api_version
                .rsplit_once('/')
                .unwrap_or(("", &reference.api_version));
            missing
                .entry((group.to_owned(), version.to_owned(), reference.kind.clone()))
                .or_default()
                .insert(item.origin.lesson.clone());
            continue;
        };
        let api = api_for(client, &resolved, &mut object, default_namespace);
        let reference = ObjectRef::of(&object);
        match api.patch(&reference.name, &params, &Patch::Apply(&object)).await {
            Ok(_) => report.accepted += 1,
            Err(kube::Error::Api(status)) => {
                let missing_namespace =
                    status.code == 404 && status.details.as_ref().is_some_and(|d| d.kind == "namespaces");
                if missing_namespace {
                    let namespace = reference.namespace.clone().unwrap_or_default();
                    report.unverified.push(Unverified {
                        origin: item.origin.clone(),
                        object: reference,
                        reason: format!(
                            "namespace `{namespace}` does not exist yet, so the server cannot check objects in it"
                        ),
                    });
                } else {
                    report.rejections.push(Rejection {
                        origin: item.origin.clone(),
                        object: reference,
                        message: status.message.clone(),
                    });
                }
            }
            Err(source) => {
                return Err(ClusterError::Api {
                    doing: format!("dry-run apply of {reference}"),
                    source,
                });
            }
        }
    }
    report.missing_kinds = missing
        .into_iter()
        .map(|((group, version, kind), lessons)| MissingKind {
            group,
            version,
            kind,
            lessons,
        })
        .collect();
    Ok(report)
}
