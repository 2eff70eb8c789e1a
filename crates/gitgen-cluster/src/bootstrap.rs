//! `gitgen bootstrap`: from an empty cluster (or one with an Argo CD of its own) to Argo
//! CD watching the course repository.
//!
//! Steps, each safe to run again: [`preflight`] (the API server answers, is at least
//! [`MINIMUM_VERSION`], and SelfSubjectAccessReviews allow what follows), which the
//! caller runs first, before it fetches the manifest; Argo CD from the manifest the caller passes, into
//! the namespace `gitgen.yaml` names (`argocd.namespace`; the manifest's RBAC subjects are
//! moved there, as `kustomize`'s namespace transformer does), with the `argoproj.io/Application` health
//! check merged into `argocd-cm`; the repository credentials Secret; the caller's
//! AppProjects and root Application; and, only when asked, a wait until the lessons
//! converge. The Secrets lessons declare are not bootstrap's: each lesson creates its own
//! in the cluster (a Sync hook Job, see `render::secrets`), so a lesson enabled after
//! bootstrap converges from git alone.
//!
//! Adoption: an `argocd-server` Deployment whose managedFields do not name gitgen was
//! installed by someone else. gitgen adopts it by applying the manifest with `force`,
//! which moves ownership of the fields the manifest sets to gitgen and leaves all other
//! fields (and other keys of `argocd-cm`) alone; the report says so. It refuses when Helm
//! manages that Deployment, since the next `helm upgrade` would fight gitgen for it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, ResourceExt};

use super::apply::{self, Applied, Change, ObjectRef};
use super::status::{AppRow, watch_applications};
use super::{ClusterError, FIELD_MANAGER};
use gitgen_catalog::argocd_version::{ArgoCdVersion, PinWarning, image_version};

/// The oldest Kubernetes gitgen bootstraps: 1.25, where Pod Security admission (which the
/// course's lessons and `validate --server` rely on) became GA and PodSecurityPolicy was
/// removed. Server-side apply, CRD v1 and SelfSubjectAccessReview are all older.
pub const MINIMUM_VERSION: (u32, u32) = (1, 25);

// The `argocd-cm` settings are the ones the self-managing Application keeps in git, so
// Argo CD's self-management and bootstrap agree on `argocd-cm`.
use gitgen_base::argocd_install::argocd_cm_data;

/// The Secret that holds the repository credentials.
pub const REPOSITORY_SECRET: &str = "gitgen-repository";

/// Credentials for a private course repository. They go into one Secret in the cluster
/// and nowhere else; `Debug` shows only the URL and user.
#[derive(Clone)]
pub struct RepoCredentials {
    /// The repository URL, as in the Applications' `repoURL`.
    pub url: String,
    /// The user name; hosts that take a token alone accept any non-empty name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl fmt::Debug for RepoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepoCredentials")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What `--wait` waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitPlan {
    /// The Applications (one per enabled lesson) that must become Synced and Healthy.
    pub applications: Vec<String>,
    /// How long to wait.
    pub timeout: Duration,
}

/// Everything bootstrap needs, resolved by the caller.
#[derive(Debug, Clone)]
pub struct BootstrapPlan {
    /// The namespace Argo CD is installed into (`argocd.namespace` in `gitgen.yaml`).
    pub argocd_namespace: String,
    /// The Argo CD install manifest (upstream `install.yaml`), as text.
    pub argocd_manifest: String,
    /// Where that text came from, for messages.
    pub argocd_manifest_origin: String,
    /// Credentials for a private repository.
    pub repo_credentials: Option<RepoCredentials>,
    /// The environment's AppProjects and root Application, applied last in this order.
    pub root_objects: Vec<serde_json::Value>,
    /// How long to wait for CRDs to become Established.
    pub crd_timeout: Duration,
    /// When set, wait for the lessons to converge; otherwise never wait for pods.
    pub wait: Option<WaitPlan>,
}

/// Progress, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum BootstrapEvent {
    /// The Argo CD running in the cluster is more than one minor older than the pin, or
    /// newer: bootstrap applies the pinned release over it, as a sync would.
    InstalledArgoCd(PinWarning),
    /// The pinned release's install manifest is being downloaded.
    Downloading {
        /// The release.
        version: String,
        /// From where.
        url: String,
    },
    /// The API server answered and allows what bootstrap needs.
    PreflightPassed {
        /// Its `gitVersion`.
        server_version: String,
    },
    /// An Argo CD that gitgen did not install is being adopted.
    Adopting {
        /// Who installed it, and what adoption does.
        reason: String,
    },
    /// One object was applied.
    Applied(Applied),
    /// The Applications, each time one changes while waiting.
    Applications(Vec<AppRow>),
}

/// What bootstrap did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BootstrapReport {
    /// The API server's `gitVersion`.
    pub server_version: String,
    /// Set when an existing Argo CD was adopted, saying from whom.
    pub adopted: Option<String>,
    /// Every object applied or ensured, in order.
    pub objects: Vec<Applied>,
}

impl BootstrapReport {
    /// Whether anything was created or changed.
    pub fn changed_anything(&self) -> bool {
        self.objects.iter().any(|o| o.change != Change::Unchanged)
    }
}

/// Proof that [`preflight`] passed, so [`bootstrap`] cannot run without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflighted {
    /// The API server's `gitVersion`.
    pub server_version: String,
}

/// Runs the bootstrap described by `plan`, once [`preflight`] passed; see the module
/// documentation.
pub async fn bootstrap(
    client: &Client,
    preflighted: Preflighted,
    plan: &BootstrapPlan,
    progress: &mut dyn FnMut(BootstrapEvent),
) -> Result<BootstrapReport, ClusterError> {
    let Preflighted { server_version } = preflighted;
    progress(BootstrapEvent::PreflightPassed {
        server_version: server_version.clone(),
    });
    let namespace = plan.argocd_namespace.as_str();

    let adopted = detect_adoption(client, namespace).await?;
    if let Some(reason) = &adopted {
        progress(BootstrapEvent::Adopting { reason: reason.clone() });
    }

    // Read everything before the first write, so a malformed input changes nothing.
    let mut objects = apply::parse_manifest(&plan.argocd_manifest, &plan.argocd_manifest_origin)?;
    move_rbac_subjects(&mut objects, namespace);
    objects.insert(0, namespace_object(namespace));
    add_argocd_cm_settings(&mut objects, namespace);
    if let Some(credentials) = &plan.repo_credentials {
        objects.push(repository_secret(credentials, namespace));
    }
    for value in &plan.root_objects {
        objects.push(
            apply::to_object(value.clone()).map_err(|message| ClusterError::Manifest {
                origin: "root objects".into(),
                message,
            })?,
        );
    }

    // Argo CD, its configuration and credentials, the AppProjects, and the root
    // Application last (see `apply::phase`).
    let mut on_applied = |applied: &Applied| progress(BootstrapEvent::Applied(applied.clone()));
    let report = apply::apply_objects(client, objects, namespace, plan.crd_timeout, &mut on_applied).await?;

    if let Some(wait) = &plan.wait {
        let mut on_update = |rows: &[AppRow]| progress(BootstrapEvent::Applications(rows.to_vec()));
        watch_applications(client, namespace, &wait.applications, wait.timeout, &mut on_update).await?;
    }
    Ok(BootstrapReport {
        server_version,
        adopted,
        objects: report,
    })
}

/// Checks that the API server answers, is recent enough, and lets the current user do
/// what bootstrap does with Argo CD in `argocd_namespace`.
pub async fn preflight(client: &Client, argocd_namespace: &str) -> Result<Preflighted, ClusterError> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|source| ClusterError::unreachable(&source))?;
    check_version(&info)?;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let permissions = required_permissions(argocd_namespace);
    let answers = futures::future::try_join_all(permissions.iter().map(|permission| {
        let reviews = reviews.clone();
        async move {
            reviews
                .create(&PostParams::default(), &permission.review())
                .await
                .map_err(|source| ClusterError::Api {
                    doing: "asking what the current user may do (SelfSubjectAccessReview)".into(),
                    source,
                })
        }
    }))
    .await?;
    let denied: Vec<String> = permissions
        .iter()
        .zip(answers)
        .filter(|(_, review)| !review.status.as_ref().is_some_and(|s| s.allowed))
        .map(|(permission, _)| permission.to_string())
        .collect();
    if !denied.is_empty() {
        return Err(ClusterError::Forbidden { denied });
    }
    Ok(Preflighted {
        server_version: info.git_version,
    })
}

/// One permission bootstrap needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `create`, `patch`.
    pub verb: &'static str,
    /// API group, empty for core.
    pub group: &'static str,
    /// Plural resource name.
    pub resource: &'static str,
    /// The namespace, for namespaced resources.
    pub namespace: Option<String>,
}

impl Permission {
    fn review(&self) -> SelfSubjectAccessReview {
        SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(self.verb.into()),
                    group: Some(self.group.into()),
                    resource: Some(self.resource.into()),
                    namespace: self.namespace.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = match self.group {
            "" => self.resource.to_owned(),
            group => format!("{}.{group}", self.resource),
        };
        match &self.namespace {
            Some(ns) => write!(f, "{} `{resource}` in namespace `{ns}`", self.verb),
            None => write!(f, "{} `{resource}`", self.verb),
        }
    }
}

/// What bootstrap does, as permissions: install CRDs, cluster RBAC and namespaces, and
/// apply Argo CD's objects, Secrets and Applications in its namespace. (Server-side
/// apply of an object that exists is a `patch`; of one that does not, a `create`.)
pub fn required_permissions(argocd_namespace: &str) -> Vec<Permission> {
    let cluster = |verb, group, resource| Permission {
        verb,
        group,
        resource,
        namespace: None,
    };
    let argocd = |verb, group, resource| Permission {
        verb,
        group,
        resource,
        namespace: Some(argocd_namespace.to_owned()),
    };
    vec![
        cluster("create", "apiextensions.k8s.io", "customresourcedefinitions"),
        cluster("create", "", "namespaces"),
        cluster("create", "rbac.authorization.k8s.io", "clusterroles"),
        cluster("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        argocd("patch", "apps", "deployments"),
        argocd("patch", "", "configmaps"),
        argocd("create", "", "secrets"),
        argocd("patch", "argoproj.io", "applications"),
    ]
}

/// Refuses servers older than [`MINIMUM_VERSION`]. Minor versions such as `28+` (GKE,
/// EKS) count by their digits.
pub fn check_version(info: &Info) -> Result<(), ClusterError> {
    let number = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .ok()
    };
    let found = (number(&info.major), number(&info.minor));
    let too_old = match found {
        (Some(major), Some(minor)) => (major, minor) < MINIMUM_VERSION,
        _ => false, // a server that hides its version gets the benefit of the doubt
    };
    if too_old {
        let shown = if info.git_version.is_empty() {
            format!("{}.{}", info.major, info.minor)
        } else {
            info.git_version.clone()
        };
        return Err(ClusterError::UnsupportedVersion {
            found: shown,
            minimum: format!("{}.{}", MINIMUM_VERSION.0, MINIMUM_VERSION.1),
        });
    }
    Ok(())
}

/// Looks for an Argo CD that gitgen did not install; see the module documentation.
async fn detect_adoption(client: &Client, namespace: &str) -> Result<Option<String>, ClusterError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let existing = deployments
        .get_opt("argocd-server")
        .await
        .map_err(|source| ClusterError::Api {
            doing: "looking for an existing Argo CD".into(),
            source,
        })?;
    let Some(existing) = existing else { return Ok(None) };
    adoption(&installers(existing.managed_fields()), existing.labels(), namespace)
}

/// The field managers that set a Deployment's `spec`: whoever installed it (gitgen
/// included). The deployment controller, which writes its revision annotation and its
/// status, and a label someone added by hand are in `managedFields` too, but installed
/// nothing.
fn installers(entries: &[ManagedFieldsEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0.get("f:spec").is_some())
        })
        .filter_map(|entry| entry.manager.clone())
        .collect()
}

/// The Argo CD release running in `namespace`, from the image of its `argocd-server`
/// Deployment; `None` when there is none or its tag is no release tag. Bootstrap's caller
/// compares it with the pin before it applies anything.
pub async fn installed_version(client: &Client, namespace: &str) -> Result<Option<ArgoCdVersion>, ClusterError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let existing = deployments
        .get_opt("argocd-server")
        .await
        .map_err(|source| ClusterError::Api {
            doing: "reading the running Argo CD's version".into(),
            source,
        })?;
    Ok(existing
        .map(|d| d.spec)
        .and_then(|spec| spec.template.spec)
        .into_iter()
        .flat_map(|pod| pod.containers)
        .find_map(|container| container.image.as_deref().and_then(image_version)))
}

/// Decides about an existing `argocd-server` Deployment from its field managers and labels.
pub fn adoption(
    managers: &[String],
    labels: &BTreeMap<String, String>,
    namespace: &str,
) -> Result<Option<String>, ClusterError> {
    if managers.iter().any(|m| m == FIELD_MANAGER) {
        return Ok(None);
    }
    if labels.get("app.kubernetes.io/managed-by").is_some_and(|m| m == "Helm") {
        let release = labels
            .get("app.kubernetes.io/instance")
            .map_or(String::new(), |r| format!(" (release `{r}`)"));
        return Err(ClusterError::AdoptionRefused {
            reason: format!(
                "Helm manages `argocd-server` in namespace `{namespace}`{release}, and the next `helm upgrade` would undo gitgen's changes"
            ),
        });
    }
    let by = if managers.is_empty() {
        "an unknown tool".to_owned()
    } else {
        managers.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
    };
    Ok(Some(format!(
        "Argo CD in namespace `{namespace}` was installed by {by}; gitgen takes over the fields its manifest sets and leaves the rest alone"
    )))
}

/// Points the manifest's (Cluster)RoleBindings at the ServiceAccounts in `namespace`:
/// upstream `install.yaml` names namespace `argocd` in their subjects.
fn move_rbac_subjects(objects: &mut [DynamicObject], namespace: &str) {
    for object in objects {
        let reference = ObjectRef::of(object);
        if reference.group() != "rbac.authorization.k8s.io" || !reference.kind.ends_with("RoleBinding") {
            continue;
        }
        let subjects = object.data.get_mut("subjects").and_then(|s| s.as_array_mut());
        for subject in subjects.into_iter().flatten() {
            if subject["kind"] == "ServiceAccount" && subject.get("namespace").is_some() {
                subject["namespace"] = namespace.into();
            }
        }
    }
}

fn namespace_object(name: &str) -> DynamicObject {
    apply::to_object(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        .expect("a well-formed Namespace")
}

/// Adds gitgen's `argocd-cm` settings ([`argocd_cm_data`]: the Application health check,
/// the tracking method) to the manifest's `argocd-cm`, keeping the release's own keys
/// (3.x's `resource.exclusions`), or adds an `argocd-cm` that holds only them. Either way
/// one apply owns them, so a second run does not remove and re-add them, and server-side
/// apply leaves other keys alone.
pub fn add_argocd_cm_settings(objects: &mut Vec<DynamicObject>, namespace: &str) {
    let found = objects.iter_mut().find(|o| {
        let r = ObjectRef::of(o);
        r.api_version == "v1" && r.kind == "ConfigMap" && r.name == "argocd-cm"
    });
    let config_map = match found {
        Some(config_map) => config_map,
        None => {
            objects.push(
                apply::to_object(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm", "namespace": namespace}}))
                    .expect("a well-formed ConfigMap"),
            );
            objects.last_mut().expect("just pushed")
        }
    };
    let data = config_map
        .data
        .as_object_mut()
        .expect("a parsed object is a JSON object");
    let entries = data.entry("data").or_insert_with(|| serde_json::json!({}));
    if let Some(entries) = entries.as_object_mut() {
        for (key, value) in argocd_cm_data() {
            entries.insert(key.into(), value.into());
        }
    }
}

/// The Secret Argo CD reads repository credentials from.
fn repository_secret(credentials: &RepoCredentials, namespace: &str) -> DynamicObject {
    let data = [
        ("type", "git"),
        ("url", &credentials.url),
        ("username", &credentials.username),
        ("password", &credentials.password),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(REPOSITORY_SECRET.into()),
            namespace: Some(namespace.into()),
            labels: Some([("argocd.argoproj.io/secret-type".to_owned(), "repository".to_owned())].into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    let mut value = serde_json::to_value(&secret).expect("a Secret serializes");
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    apply::to_object(value).expect("a well-formed Secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(major: &str, minor: &str) -> Info {
        Info {
            major: major.into(),
            minor: minor.into(),
            git_version: format!("v{major}.{minor}.0"),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_supported_versions_including_provider_suffixes() {
        assert!(check_version(&info("1", "25")).is_ok());
        assert!(check_version(&info("1", "31+")).is_ok());
    }

    #[test]
    fn refuses_an_old_server_with_a_hint() {
        let err = check_version(&info("1", "24")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Kubernetes v1.24.0 is older than the oldest version gitgen supports, 1.25"
        );
        assert!(err.hint().unwrap().contains("upgrade the cluster"));
    }

    #[test]
    fn redacts_the_password_in_debug_output() {
        let credentials = RepoCredentials {
            url: "https://git.example/course.git".into(),
            username: "trainer".into(),
            password: "s3cret-token".into(),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn the_repository_secret_is_labelled_for_argocd() {
        let credentials = RepoCredentials {
            url: "https://git.example/course.git".into(),
            username: "u".into(),
            password: "p".into(),
        };
        let secret = repository_secret(&credentials, "argocd-course");
        assert_eq!(secret.labels()["argocd.argoproj.io/secret-type"], "repository");
        assert_eq!(secret.metadata.namespace.as_deref(), Some("argocd-course"));
        assert_eq!(secret.data["data"]["password"], "cA==", "base64 of `p`");
    }

    #[test]
    fn merges_gitgens_settings_into_the_manifests_argocd_cm_and_keeps_its_keys() {
        let mut objects = apply::parse_manifest(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n  url: https://argocd.example\n  resource.exclusions: '- kinds: [Lease]'\n",
            "m.yaml",
        )
        .unwrap();
        add_argocd_cm_settings(&mut objects, "argocd");
        assert_eq!(objects.len(), 1);
        let data = &objects[0].data["data"];
        assert_eq!(data["url"], "https://argocd.example");
        assert_eq!(data["resource.exclusions"], "- kinds: [Lease]", "3.x's defaults stay");
        assert_eq!(data[gitgen_base::argocd_install::TRACKING_METHOD_KEY], "annotation");
        assert!(
            data[gitgen_base::argocd_install::APPLICATION_HEALTH_KEY]
                .as_str()
                .unwrap()
                .contains("obj.status.health.status")
        );
    }

    #[test]
    fn adds_an_argocd_cm_when_the_manifest_has_none() {
        let mut objects = Vec::new();
        add_argocd_cm_settings(&mut objects, "argocd-course");
        assert_eq!(
            ObjectRef::of(&objects[0]).to_string(),
            "ConfigMap argocd-course/argocd-cm"
        );
    }

    #[test]
    fn moves_the_install_manifests_rbac_subjects_into_the_configured_namespace() {
        let mut objects = apply::parse_manifest(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: argocd-server}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: argocd-server}\nsubjects:\n- {kind: ServiceAccount, name: argocd-server, namespace: argocd}\n- {kind: Group, name: admins, apiGroup: rbac.authorization.k8s.io}\n",
            "install.yaml",
        )
        .unwrap();
        move_rbac_subjects(&mut objects, "argocd-course");
        let subjects = &objects[0].data["subjects"];
        assert_eq!(subjects[0]["namespace"], "argocd-course");
        assert!(subjects[1].get("namespace").is_none(), "a Group has no namespace");
    }

    #[test]
    fn asks_for_permissions_in_the_configured_argocd_namespace() {
        let shown: Vec<String> = required_permissions("argocd-course")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            shown.contains(&"patch `applications.argoproj.io` in namespace `argocd-course`".to_owned()),
            "{shown:?}"
        );
    }

    #[test]
    fn adopts_an_argocd_installed_by_kubectl_and_says_so() {
        let reason = adoption(&["kubectl-client-side-apply".into()], &BTreeMap::new(), "argocd")
            .unwrap()
            .unwrap();
        assert!(reason.contains("`kubectl-client-side-apply`"), "{reason}");
        assert_eq!(
            adoption(
                &["gitgen".into(), "kube-controller-manager".into()],
                &BTreeMap::new(),
                "argocd"
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn the_installer_is_whoever_set_the_spec_not_the_deployment_controller_or_a_hand_made_label() {
        // The managers `kubectl apply` (client-side), `kubectl label` and the deployment
        // controller leave on `argocd-server`, as the real API server records them.
        let entry = |manager: &str, subresource: Option<&str>, fields: serde_json::Value| ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some("Update".into()),
            subresource: subresource.map(str::to_owned),
            fields_v1: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1(fields)),
            ..Default::default()
        };
        let entries = [
            entry(
                "kubectl-client-side-apply",
                None,
                serde_json::json!({"f:metadata": {"f:labels": {}}, "f:spec": {"f:template": {}}}),
            ),
            entry(
                "kube-controller-manager",
                None,
                serde_json::json!({"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}}),
            ),
            entry(
                "kube-controller-manager",
                Some("status"),
                serde_json::json!({"f:status": {}}),
            ),
            entry(
                "kubectl-label",
                None,
                serde_json::json!({"f:metadata": {"f:labels": {"f:course.example/owner": {}}}}),
            ),
        ];
        assert_eq!(installers(&entries), ["kubectl-client-side-apply"]);
    }

    #[test]
    fn refuses_to_adopt_an_argocd_managed_by_helm() {
        let labels = [
            ("app.kubernetes.io/managed-by".to_owned(), "Helm".to_owned()),
            ("app.kubernetes.io/instance".to_owned(), "argo".to_owned()),
        ]
        .into();
        let err = adoption(&["helm".into()], &labels, "argocd").unwrap_err();
        assert!(err.to_string().contains("release `argo`"), "{err}");
        assert!(err.hint().is_some());
    }
}
