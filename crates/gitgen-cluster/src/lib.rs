//! Talking to a Kubernetes cluster: connecting like kubectl does, server-side applying
//! manifests, bootstrapping Argo CD, reading Application status and server-side dry runs.
//!
//! Every function takes an injected [`kube::Client`] (tests hand it a mock service), never
//! prints, and reports progress through callbacks. It does not decide which lessons are
//! enabled, render manifests or parse command-line flags: callers hand it plain data.
//! Everything gitgen writes goes through server-side apply under the field manager
//! [`FIELD_MANAGER`].

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod apply;
pub mod bootstrap;
pub mod classroom;
pub mod grid;
pub mod learner_connection;
pub mod status;
pub mod validate;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
#[cfg(test)]
mod mock_tests;

pub use apply::{Applied, Change, ObjectRef, Restored, apply_objects, parse_manifest};
pub use bootstrap::{
    BootstrapEvent, BootstrapPlan, BootstrapReport, Preflighted, RepoCredentials, WaitPlan, bootstrap, preflight,
};
pub use classroom::{Classroom, ClassroomError, Learner};
pub use grid::{ClassGrid, GridLesson, class_grid, environment_applications};
pub use learner_connection::LearnerConnection;
pub use status::{AppRow, AppStatus, ResourceProblem, StatusRow, application_statuses, watch_applications};
pub use validate::{
    DryRunReport, MissingKind, Origin, Rejection, ServerObject, Unverified, dry_run, namespaces_argocd_creates,
};

/// The field manager of every server-side apply gitgen makes.
pub const FIELD_MANAGER: &str = "gitgen";

/// Builds a client the way kubectl does: `kubeconfig` (`--kubeconfig`, else the one file
/// `$KUBECONFIG` names: [`gitgen_settings::Settings::kubeconfig`]) or else kube's own
/// choice (a `$KUBECONFIG` list, `~/.kube/config`), then the in-cluster service account;
/// `context` (like `--context`) picks a context other than the current one. Every
/// transport error the client returns names the API server it tried (see [`ServerError`]).
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<kube::Client, ClusterError> {
    // A file of our own is read like `--kubeconfig`: its errors name it once (kube's own
    // quote it debug-formatted inside its message).
    let kubeconfig = kubeconfig.map(Path::to_owned);
    let failed = |source: &(dyn std::error::Error + 'static)| match (&kubeconfig, missing_default_kubeconfig(source)) {
        // Nothing to load at all: kube's text would speak of in-cluster environment
        // variables, which a person at a laptop never set.
        (None, Some(looked_at)) => ClusterError::NoKubeconfig { looked_at },
        _ => ClusterError::Kubeconfig {
            path: kubeconfig.clone(),
            context: context.map(str::to_owned),
            // With a path of our own to name, kube's message adds nothing but its cause.
            message: match kubeconfig {
                Some(_) => root_cause(source),
                None => causes(source),
            },
        },
    };
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = match &kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path).map_err(|e| failed(&e))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| failed(&e))?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options).await.map_err(|e| failed(&e))?,
        None => kube::Config::infer().await.map_err(|e| failed(&e))?,
    };
    let server = config.cluster_url.to_string();
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| failed(&e))?;
    Ok(builder
        .with_layer(&tower::util::MapErrLayer::new(move |error: tower::BoxError| {
            // kube's own errors (a failed exec plugin, say) keep their type: kube matches on it.
            if error.is::<kube::Error>() {
                error
            } else {
                ServerError {
                    server: server.clone(),
                    source: error,
                }
                .into()
            }
        }))
        .build())
}

/// The default kubeconfig kube looked for and did not find, when `error` (from reading
/// the default kubeconfig, or from inferring a config) says that and nothing else.
fn missing_default_kubeconfig(error: &(dyn std::error::Error + 'static)) -> Option<PathBuf> {
    use kube::config::KubeconfigError;
    let mut next = Some(error);
    while let Some(error) = next {
        match error.downcast_ref::<KubeconfigError>() {
            Some(KubeconfigError::ReadConfig(io, path)) if io.kind() == std::io::ErrorKind::NotFound => {
                return Some(path.clone());
            }
            // No home directory to look in.
            Some(KubeconfigError::FindPath) => return Some(PathBuf::from("~/.kube/config")),
            Some(_) => return None,
            None => next = error.source(),
        }
    }
    None
}

/// A transport error (refused, timed out, TLS) and the API server it happened with:
/// hyper's own errors say `tcp connect error: Connection refused` and nothing of where.
#[derive(Debug, thiserror::Error)]
#[error("`{server}`: {source}")]
pub struct ServerError {
    /// The API server's URL, as the kubeconfig gives it.
    pub server: String,
    /// The transport's error.
    #[source]
    pub source: tower::BoxError,
}

/// The innermost cause of an error: what actually happened.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut error = error;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

/// An error and its causes on one line, each cause once: kube's errors repeat their
/// source in their own message (`ServiceError: client error (Connect)`, then
/// `client error (Connect)`), so a cause already shown is skipped.
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut shown: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !shown.iter().any(|s| s.contains(&text)) {
            shown.push(text);
        }
        next = error.source();
    }
    shown.join(": ")
}

/// What went wrong talking to the cluster. [`ClusterError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No usable kubeconfig.
    #[error("cannot load the kubeconfig{}{}: {message}",
        path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default(),
        context.as_ref().map(|c| format!(" (context `{c}`)")).unwrap_or_default())]
    Kubeconfig {
        /// The file given with `--kubeconfig`, if any.
        path: Option<PathBuf>,
        /// The context given with `--context`, if any.
        context: Option<String>,
        /// What kube said.
        message: String,
    },
    /// No kubeconfig was given, and there is none where kubectl looks.
    #[error("no kubeconfig: `--kubeconfig` and `KUBECONFIG` are not set and `{}` does not exist", looked_at.display())]
    NoKubeconfig {
        /// The default kubeconfig, which does not exist.
        looked_at: PathBuf,
    },
    /// The API server did not answer.
    #[error("the Kubernetes API server{} does not answer: {cause}",
        server.as_ref().map(|s| format!(" `{s}`")).unwrap_or_default())]
    Unreachable {
        /// The server it tried, as the kubeconfig names it.
        server: Option<String>,
        /// The transport error and its causes, each once (see [`causes`]).
        cause: String,
    },
    /// The API server is older than gitgen supports.
    #[error("Kubernetes {found} is older than the oldest version gitgen supports, {minimum}")]
    UnsupportedVersion {
        /// The server's version, as it reports it.
        found: String,
        /// [`bootstrap::MINIMUM_VERSION`].
        minimum: String,
    },
    /// The current user may not do what bootstrap needs (SelfSubjectAccessReview).
    #[error("you may not {}", denied.join(", "))]
    Forbidden {
        /// One line per denied permission, such as
        /// ``create `customresourcedefinitions.apiextensions.k8s.io` ``.
        denied: Vec<String>,
    },
    /// A manifest could not be read as Kubernetes objects.
    #[error("`{origin}`: {message}")]
    Manifest {
        /// Where the manifest came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The YAML itself is malformed.
    #[error(transparent)]
    Yaml(#[from] gitgen_yaml::YamlError),
    /// The cluster does not serve an object's kind.
    #[error("the cluster does not serve `{}` `{}` (needed by {object})", object.api_version, object.kind)]
    UnknownKind {
        /// The object whose kind is not served.
        object: ObjectRef,
    },
    /// The API server refused an object.
    #[error("applying {object} failed: {message}")]
    Apply {
        /// The object.
        object: ObjectRef,
        /// The API server's message.
        message: String,
        /// The HTTP status code, when the API server answered.
        code: Option<u16>,
    },
    /// Any other API call failed.
    #[error("{doing} failed: {source}")]
    Api {
        /// What gitgen was doing, such as "listing Argo CD Applications".
        doing: String,
        /// The error.
        source: kube::Error,
    },
    /// CRDs did not become Established in time.
    #[error("CRDs not Established after {timeout:?}: {}", names.join(", "))]
    CrdTimeout {
        /// The CRDs still waiting.
        names: Vec<String>,
        /// How long we waited.
        timeout: Duration,
    },
    /// An existing Argo CD cannot be adopted.
    #[error("refusing to adopt the existing Argo CD: {reason}")]
    AdoptionRefused {
        /// Why.
        reason: String,
    },
    /// Argo CD's Application CRD is not installed.
    #[error("Argo CD is not installed: the cluster does not serve `argoproj.io/v1alpha1` `Application`")]
    ArgoCdMissing,
    /// Lessons did not become Synced and Healthy in time.
    #[error("{} lesson(s) did not converge within {timeout:?}:\n{}", lessons.len(),
        lessons.iter().map(|(name, why)| format!("  {name}: {why}")).collect::<Vec<_>>().join("\n"))]
    NotConverged {
        /// Each lesson that did not converge, with its sync status, health and message.
        lessons: Vec<(String, String)>,
        /// How long we waited.
        timeout: Duration,
    },
}

impl ClusterError {
    /// [`ClusterError::Unreachable`] for a call that failed on its way to the API server
    /// or back, naming the server when the client is one [`connect`] built.
    pub fn unreachable(error: &kube::Error) -> Self {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(current) = next {
            if let Some(ServerError { server, source }) = current.downcast_ref::<ServerError>() {
                return Self::Unreachable {
                    server: Some(server.clone()),
                    cause: causes(source.as_ref()),
                };
            }
            next = current.source();
        }
        Self::Unreachable {
            server: None,
            cause: causes(error),
        }
    }

    /// What the user can do about it, when there is something to do.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Kubeconfig { .. } => "check `kubectl config get-contexts`, or pass `--kubeconfig` and `--context`".into(),
            Self::NoKubeconfig { .. } => "pass `--kubeconfig FILE` or set `KUBECONFIG` to the kubeconfig of your cluster (kind and Docker Desktop write `~/.kube/config`)".into(),
            Self::Unreachable { .. } => "check that the cluster is running and that `kubectl version` answers with the same kubeconfig and context (pick them with `--kubeconfig` and `--context`)".into(),
            Self::UnsupportedVersion { .. } => "upgrade the cluster, or use a local one such as kind or Docker Desktop with a current Kubernetes".into(),
            Self::Forbidden { .. } => "bootstrap installs cluster-wide objects: use a cluster-admin context (`kubectl auth can-i '*' '*' --all-namespaces` should say `yes`)".into(),
            Self::UnknownKind { object } => format!("install the CRDs that serve `{}` first", object.api_version),
            Self::CrdTimeout { .. } => "check the CRDs with `kubectl get crd` and `kubectl describe crd NAME`; then run the same command again".into(),
            Self::AdoptionRefused { .. } => "remove the existing Argo CD, or keep managing it the way it was installed and apply gitgen's Applications yourself".into(),
            Self::ArgoCdMissing => "run `gitgen bootstrap` first".into(),
            Self::NotConverged { .. } => "look at the lessons with `gitgen status` or in the Argo CD UI; on a cluster without nodes, pods never start".into(),
            Self::Apply { code: Some(403), .. } => "use a context that may create this object".into(),
            // A server-side apply of a namespaced object answers 404 when its namespace is
            // missing: the kind was resolved through discovery before anything was applied.
            Self::Apply { object, code: Some(404), .. } => format!(
                "create namespace `{}` first, or add its Namespace to the manifest (gitgen applies Namespaces before the objects in them)",
                object.namespace.as_deref().unwrap_or_default()
            ),
            Self::Apply { code: Some(422), .. } => "the API server names the field it refuses: correct it in the manifest and run the same command again".into(),
            Self::Manifest { .. } | Self::Yaml(_) | Self::Apply { .. } | Self::Api { .. } => return None,
        })
    }
}

/// The API server's message for a failed call, without kube's debug dump.
pub(crate) fn api_message(error: &kube::Error) -> (String, Option<u16>) {
    match error {
        kube::Error::Api(status) => (status.message.clone(), Some(status.code)),
        other => (other.to_string(), None),
    }
}

/// Whether the call failed with 404 Not Found.
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_each_cause_of_a_connection_error_once() {
        let error = kube::Error::Service(Box::new(std::io::Error::other("tcp connect error")));
        assert_eq!(error.to_string(), "ServiceError: tcp connect error");
        assert_eq!(causes(&error), "ServiceError: tcp connect error");
        let unreachable = ClusterError::unreachable(&error);
        assert_eq!(
            unreachable.to_string(),
            "the Kubernetes API server does not answer: ServiceError: tcp connect error"
        );
        assert!(
            std::error::Error::source(&unreachable).is_none(),
            "the cause is in the message, not repeated as a source"
        );
        assert!(unreachable.hint().unwrap().contains("--kubeconfig"));
    }

    #[test]
    fn an_unreachable_server_is_named_and_its_error_shown_without_kubes_wrapping() {
        let error = kube::Error::Service(Box::new(ServerError {
            server: "https://127.0.0.1:6443/".into(),
            source: Box::new(std::io::Error::other("tcp connect error: Connection refused")),
        }));
        let unreachable = ClusterError::unreachable(&error);
        assert_eq!(
            unreachable.to_string(),
            "the Kubernetes API server `https://127.0.0.1:6443/` does not answer: tcp connect error: Connection refused"
        );
    }
}
