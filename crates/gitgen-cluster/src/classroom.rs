//! The learner clusters of a classroom environment, registered with the management Argo
//! CD as its cluster Secrets.
//!
//! A classroom environment (`clusters:` in `gitgen.yaml`) deploys to every cluster whose
//! Argo CD cluster Secret carries its labels. This module builds such a Secret from a
//! learner's connection ([`super::learner_connection`]), applies, lists and deletes it, and
//! sets the stage holds on it: the Secrets API of the classroom. [`Learner`] never reads
//! the credentials back, and a failed apply's message is scrubbed of them before it
//! becomes an error. It takes the classroom as plain data ([`Classroom`]); what a command
//! asked for is checked against the catalog by `gitgen::classroom` before it gets here,
//! and the names it uses are the contract's ([`gitgen_catalog::classroom`]).
//!
//! The Secret follows Argo CD v2.12.3's declarative setup
//! (`docs/operator-manual/declarative-setup.md`, "Clusters"): labelled
//! `argocd.argoproj.io/secret-type: cluster`, with `name`, `server` and `config`, the JSON
//! of `ClusterConfig`.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use super::learner_connection::{LearnerConnection, LearnerConnectionError};
use super::{Change, ClusterError, FIELD_MANAGER, ObjectRef, api_message, apply::classify, is_not_found};
use gitgen_base::names::{LessonId, StageName};
use gitgen_catalog::classroom::{self as contract, LearnerName, LearnerNameError, ROOT_APP, classroom_scoped};
use gitgen_catalog::labels::{
    self, ENVIRONMENT_LABEL, LEARNER_LABEL, SECRET_TYPE_LABEL, STAGE_HOLD_PREFIX, stage_hold_label,
};
use gitgen_settings::CommandLine;

/// A classroom environment as this module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classroom {
    /// The environment's name.
    pub environment: String,
    /// Its `clusters:` labels, which every learner's cluster Secret carries.
    pub selector: BTreeMap<String, String>,
    /// Where Argo CD, and so the cluster Secrets, live on the management cluster.
    pub argocd_namespace: String,
    /// How a hint names a gitgen command for this classroom (`--env`, `--repo`).
    pub commands: CommandLine,
}

impl Classroom {
    /// The name of a learner's cluster Secret: `gitgen-cluster-<env>-<learner>`.
    pub fn secret_name(&self, learner: &LearnerName) -> String {
        contract::secret_name(&self.environment, learner)
    }

    /// The name Argo CD knows the learner's cluster by: `<env>-<learner>`.
    pub fn cluster_name(&self, learner: &LearnerName) -> String {
        contract::cluster_name(&self.environment, learner.as_str())
    }
}

/// Reads `KEY=VALUE` as a Kubernetes label: a key with an optional DNS-subdomain prefix
/// and a name of at most 63 characters, a value of at most 63 (possibly empty).
pub fn parse_label(text: &str) -> Result<(String, String), ClassroomError> {
    let bad = |reason: String| ClassroomError::Label {
        label: text.escape_debug().to_string(),
        reason,
    };
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| bad("is not `KEY=VALUE`".to_owned()))?;
    if let Some(problem) = labels::key_problem(key) {
        return Err(bad(format!("has a key Kubernetes refuses: {problem}")));
    }
    if let Some(problem) = labels::value_problem(value) {
        return Err(bad(format!("has a value Kubernetes refuses: {problem}")));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// A learner's Argo CD cluster Secret as the contract describes it: the classroom's
/// labels, the environment and learner labels, then `extra` (stage holds and any other
/// labels, which may not override those).
pub fn cluster_secret(
    classroom: &Classroom,
    learner: &LearnerName,
    extra: &BTreeMap<String, String>,
    connection: &LearnerConnection,
) -> Result<Secret, ClassroomError> {
    let mut labels = classroom.selector.clone();
    labels.insert(SECRET_TYPE_LABEL.into(), "cluster".into());
    labels.insert(ENVIRONMENT_LABEL.into(), classroom.environment.clone());
    labels.insert(LEARNER_LABEL.into(), learner.to_string());
    if let Some(key) = extra.keys().find(|key| labels.contains_key(*key)) {
        return Err(ClassroomError::ReservedLabel { key: key.clone() });
    }
    labels.extend(extra.clone());
    let data = [
        ("name", classroom.cluster_name(learner)),
        ("server", connection.server.clone()),
        ("config", connection.config.to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), ByteString(value.into_bytes())))
    .collect();
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(classroom.secret_name(learner)),
            namespace: Some(classroom.argocd_namespace.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// Applies a learner's cluster Secret (server-side, field manager `gitgen`): labels
/// gitgen set before and `secret` lacks are removed, so the Secret's labels are those of
/// the last `classroom add`. Errors never carry the Secret, and messages are scrubbed of
/// `connection`'s credentials.
pub async fn add_learner(
    client: &Client,
    secret: &Secret,
    connection: &LearnerConnection,
) -> Result<Change, ClassroomError> {
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let object = ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(namespace.clone()),
        name: name.clone(),
    };
    let failed = |error: kube::Error| {
        let (message, code) = api_message(&error);
        ClusterError::Apply {
            object: object.clone(),
            message: connection.scrub(&message),
            code,
        }
    };
    let before = match api.get_metadata_opt(&name).await {
        Ok(before) => before.and_then(|b| b.metadata.resource_version),
        Err(error) => return Err(failed(error).into()),
    };
    match api
        .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(secret))
        .await
    {
        Ok(after) => Ok(classify(before.as_deref(), after.metadata.resource_version.as_deref())),
        // The Secret's namespace is Argo CD's: missing, Argo CD is not installed.
        Err(error) if is_not_found(&error) => Err(ClassroomError::NotBootstrapped { namespace }),
        Err(error) => Err(failed(error).into()),
    }
}

/// Whether the classroom's root Application is on the management cluster: without it
/// (`gitgen --env <classroom> bootstrap` not run), Argo CD deploys nothing to a learner.
pub async fn has_root_application(client: &Client, classroom: &Classroom) -> Result<bool, ClassroomError> {
    let name = classroom_scoped(&classroom.environment, ROOT_APP);
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &classroom.argocd_namespace,
        &crate::status::application_resource(),
    );
    match api.get_opt(&name).await {
        Ok(found) => Ok(found.is_some()),
        // No Application CRD: Argo CD is not installed, so no root Application either.
        Err(error) if is_not_found(&error) => Ok(false),
        Err(source) => Err(ClusterError::Api {
            doing: format!("reading Application `{name}`"),
            source,
        }
        .into()),
    }
}

/// Deletes a learner's cluster Secret; Argo CD then forgets the cluster, and the
/// classroom's ApplicationSets delete the learner's Applications.
pub async fn remove_learner(
    client: &Client,
    classroom: &Classroom,
    learner: &LearnerName,
) -> Result<(), ClassroomError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &classroom.argocd_namespace);
    let name = classroom.secret_name(learner);
    api.delete(&name, &DeleteParams::default())
        .await
        .map(drop)
        .map_err(|error| secret_call_failed(classroom, learner, format!("deleting Secret `{name}`"), error))
}

/// A call on a learner's cluster Secret failed: a Secret not found is a learner the
/// classroom does not have, anything else the API's error.
fn secret_call_failed(
    classroom: &Classroom,
    learner: &LearnerName,
    doing: String,
    error: kube::Error,
) -> ClassroomError {
    if is_not_found(&error) {
        ClassroomError::NotRegistered {
            learner: learner.to_string(),
            environment: classroom.environment.clone(),
            commands: classroom.commands.clone(),
        }
    } else {
        ClusterError::Api { doing, source: error }.into()
    }
}

/// Holds a learner at `stage` of `lesson`, or releases the hold (`None`): a merge patch of
/// that one label of the learner's cluster Secret, so neither the learner's kubeconfig nor
/// the Secret's other labels are needed. The caller checks that the lesson and stage exist.
pub async fn set_stage_hold(
    client: &Client,
    classroom: &Classroom,
    learner: &LearnerName,
    lesson: &LessonId,
    stage: Option<&StageName>,
) -> Result<(), ClassroomError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &classroom.argocd_namespace);
    let name = classroom.secret_name(learner);
    let label = stage_hold_label(lesson.as_str());
    // `null` deletes the key in a JSON merge patch (RFC 7386), whoever set it.
    let patch = json!({"metadata": {"labels": {label.clone(): stage.map(StageName::as_str)}}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api.patch(&name, &params, &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|error| {
            let doing = format!("setting label `{label}` of Secret `{name}`");
            secret_call_failed(classroom, learner, doing, error)
        })
}

/// A registered learner, as `classroom list` shows it: never its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Learner {
    /// The learner's name (`gitgen.io/learner`).
    pub name: String,
    /// The name Argo CD knows the cluster by.
    pub cluster_name: String,
    /// The cluster's API server URL.
    pub server: String,
    /// Every label of the cluster Secret.
    pub labels: BTreeMap<String, String>,
    /// The stages the learner is held at, by lesson (`stage.gitgen.io/<lesson>` labels).
    pub stage_holds: BTreeMap<String, String>,
}

/// The classroom's learners, sorted by name, read from their cluster Secrets (whose
/// `config` is not read).
pub async fn learners(client: &Client, classroom: &Classroom) -> Result<Vec<Learner>, ClassroomError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &classroom.argocd_namespace);
    let params = ListParams::default().labels(&contract::secrets_selector(&classroom.environment));
    let list = api.list(&params).await.map_err(|source| ClusterError::Api {
        doing: "listing the classroom's cluster Secrets".into(),
        source,
    })?;
    let text = |secret: &Secret, key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
            .unwrap_or_default()
    };
    let mut learners: Vec<Learner> = list
        .items
        .iter()
        .map(|secret| {
            let labels = secret.metadata.labels.clone().unwrap_or_default();
            Learner {
                name: labels.get(LEARNER_LABEL).cloned().unwrap_or_default(),
                cluster_name: text(secret, "name"),
                server: text(secret, "server"),
                stage_holds: labels
                    .iter()
                    .filter_map(|(key, value)| Some((key.strip_prefix(STAGE_HOLD_PREFIX)?.to_owned(), value.clone())))
                    .collect(),
                labels,
            }
        })
        .collect();
    learners.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(learners)
}

/// What went wrong with a classroom's learners. [`ClassroomError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClassroomError {
    /// The environment has a `destination`, not `clusters`.
    #[error("environment `{environment}` is not a classroom: it deploys to one `destination`")]
    NotAClassroom {
        /// The environment.
        environment: String,
    },
    /// A name that cannot be a learner's.
    #[error(transparent)]
    LearnerName(#[from] LearnerNameError),
    /// A `--label` that is not a Kubernetes label.
    #[error("label `{label}` {reason}")]
    Label {
        /// The label given, with control characters escaped.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A learner's kubeconfig or server Argo CD cannot use.
    #[error(transparent)]
    Connection(#[from] LearnerConnectionError),
    /// A `--label` that would override one the classroom sets.
    #[error("label `{key}` is set by gitgen on every learner's cluster Secret")]
    ReservedLabel {
        /// The key.
        key: String,
    },
    /// Argo CD's namespace does not exist on the management cluster.
    #[error("the management cluster has no namespace `{namespace}`: Argo CD is not installed")]
    NotBootstrapped {
        /// `argocd.namespace` of gitgen.yaml.
        namespace: String,
    },
    /// `classroom remove` of a learner that is not registered.
    #[error("no learner `{learner}` is registered in classroom `{environment}`")]
    NotRegistered {
        /// The learner.
        learner: String,
        /// The environment.
        environment: String,
        /// How the hint names `classroom list` for this classroom.
        commands: CommandLine,
    },
    /// Talking to the management cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl ClassroomError {
    /// What the user can do about it, when there is something to do.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NotAClassroom { .. } => "pick a classroom environment with `--env`, or give this one `clusters:` (labels of its learners' cluster Secrets) instead of `destination` in gitgen.yaml".into(),
            Self::LearnerName(error) => error.hint(),
            Self::Connection(error) => error.hint(),
            Self::Label { .. } => "write labels as `--label KEY=VALUE`, e.g. `--label stage.gitgen.io/keda=operator`".into(),
            Self::ReservedLabel { .. } => "leave it out: gitgen sets the classroom's labels, the environment and the learner itself".into(),
            Self::NotBootstrapped { .. } => "run `gitgen bootstrap` against the management cluster first (the same `--kubeconfig` and `--context`)".into(),
            Self::NotRegistered { commands, .. } => {
                format!("`{}` shows the registered learners", commands.gitgen("classroom list"))
            }
            Self::Cluster(error) => return error.hint(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::learner_connection::tests::kubeconfig;

    #[test]
    fn labels_are_checked_as_kubernetes_does() {
        assert_eq!(
            parse_label("stage.gitgen.io/keda=operator").unwrap(),
            ("stage.gitgen.io/keda".to_owned(), "operator".to_owned())
        );
        assert_eq!(parse_label("team=").unwrap(), ("team".to_owned(), String::new()));
        for bad in [
            "team",
            "=x",
            "Bad_Prefix/x=y",
            "a/=y",
            "k=-x",
            "k=a b",
            "-k=v",
            "k=\u{7}",
        ] {
            assert!(matches!(parse_label(bad), Err(ClassroomError::Label { .. })), "{bad}");
        }
        let error = parse_label("k=a b").unwrap_err();
        assert_eq!(
            error.to_string(),
            "label `k=a b` has a value Kubernetes refuses: it holds a character other than letters, digits, `-`, `_` and `.`"
        );
    }

    fn classroom() -> Classroom {
        Classroom {
            environment: "classroom".into(),
            selector: [("gitgen.io/classroom".to_owned(), "classroom".to_owned())].into(),
            argocd_namespace: "argocd".into(),
            commands: CommandLine::default(),
        }
    }

    #[test]
    fn the_cluster_secret_carries_the_contracts_labels_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
        let alice = LearnerName::new("alice").unwrap();
        let extra = [("stage.gitgen.io/keda".to_owned(), "operator".to_owned())].into();
        let secret = cluster_secret(&classroom(), &alice, &extra, &connection).unwrap();
        assert_eq!(secret.metadata.name.as_deref(), Some("gitgen-cluster-classroom-alice"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("argocd"));
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(
            labels,
            [
                ("argocd.argoproj.io/secret-type", "cluster"),
                ("gitgen.io/classroom", "classroom"),
                ("gitgen.io/environment", "classroom"),
                ("gitgen.io/learner", "alice"),
                ("stage.gitgen.io/keda", "operator"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
        );
        let data = secret.data.unwrap();
        assert_eq!(data["name"].0, b"classroom-alice");
        assert_eq!(data["server"].0, b"https://learner.example:6443");
        let config: Value = serde_json::from_slice(&data["config"].0).unwrap();
        assert_eq!(config, connection.config);

        for reserved in ["gitgen.io/learner", "gitgen.io/classroom", SECRET_TYPE_LABEL] {
            let extra = [(reserved.to_owned(), "x".to_owned())].into();
            assert!(matches!(
                cluster_secret(&classroom(), &alice, &extra, &connection),
                Err(ClassroomError::ReservedLabel { .. })
            ));
        }
    }

    mod on_a_fake_cluster {
        use super::super::super::fake::{self, Scenario};
        use super::*;

        async fn argocd_namespace(client: &Client) {
            let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
            let namespace: k8s_openapi::api::core::v1::Namespace =
                serde_json::from_value(json!({"metadata": {"name": "argocd"}})).unwrap();
            namespaces
                .patch("argocd", &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&namespace))
                .await
                .unwrap();
        }

        fn secret_for(dir: &Path, learner: &str, extra: &[(&str, &str)]) -> (Secret, LearnerConnection) {
            let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir), None).unwrap();
            let extra = extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            let secret =
                cluster_secret(&classroom(), &LearnerName::new(learner).unwrap(), &extra, &connection).unwrap();
            (secret, connection)
        }

        #[tokio::test]
        async fn add_applies_the_secret_server_side_and_a_rerun_sets_exactly_its_labels() {
            let (client, state) = fake::client(Scenario::Empty);
            argocd_namespace(&client).await;
            let dir = tempfile::tempdir().unwrap();
            let (held, connection) = secret_for(dir.path(), "alice", &[("stage.gitgen.io/keda", "operator")]);
            assert_eq!(add_learner(&client, &held, &connection).await.unwrap(), Change::Created);
            assert_eq!(
                add_learner(&client, &held, &connection).await.unwrap(),
                Change::Unchanged
            );
            let (released, _) = secret_for(dir.path(), "alice", &[]);
            assert_eq!(
                add_learner(&client, &released, &connection).await.unwrap(),
                Change::Configured
            );

            let state = state.lock().unwrap();
            let stored = &state.objects["/secrets/argocd/gitgen-cluster-classroom-alice"];
            assert_eq!(stored["metadata"]["labels"]["gitgen.io/learner"], "alice");
            assert!(
                stored["metadata"]["labels"].get("stage.gitgen.io/keda").is_none(),
                "{stored}"
            );
            assert!(
                state.log.iter().any(|l| l
                    .starts_with("PATCH /api/v1/namespaces/argocd/secrets/gitgen-cluster-classroom-alice?")
                    && l.contains("fieldManager=gitgen")
                    && l.contains("force=true")),
                "{:#?}",
                state.log
            );
        }

        #[tokio::test]
        async fn add_says_argo_cd_is_missing_when_its_namespace_is() {
            let (client, _state) = fake::client(Scenario::Empty);
            let dir = tempfile::tempdir().unwrap();
            let (secret, connection) = secret_for(dir.path(), "alice", &[]);
            let error = add_learner(&client, &secret, &connection).await.unwrap_err();
            assert!(matches!(error, ClassroomError::NotBootstrapped { .. }), "{error}");
            assert!(error.hint().unwrap().contains("gitgen bootstrap"));
        }

        #[tokio::test]
        async fn lists_learners_with_their_stage_holds_and_removes_them() {
            let (client, _state) = fake::client(Scenario::Empty);
            argocd_namespace(&client).await;
            let dir = tempfile::tempdir().unwrap();
            for (learner, extra) in [("bob", vec![("stage.gitgen.io/keda", "operator")]), ("alice", vec![])] {
                let (secret, connection) = secret_for(dir.path(), learner, &extra);
                add_learner(&client, &secret, &connection).await.unwrap();
            }
            let other = Classroom {
                environment: "other".into(),
                ..classroom()
            };
            let (mut stranger, connection) = secret_for(dir.path(), "eve", &[]);
            stranger.metadata.name = Some("gitgen-cluster-other-eve".into());
            stranger
                .metadata
                .labels
                .as_mut()
                .unwrap()
                .insert(ENVIRONMENT_LABEL.into(), "other".into());
            add_learner(&client, &stranger, &connection).await.unwrap();

            let listed = learners(&client, &classroom()).await.unwrap();
            let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, ["alice", "bob"], "only this classroom's learners, sorted");
            assert_eq!(
                listed[1].stage_holds,
                [("keda".to_owned(), "operator".to_owned())].into()
            );
            assert_eq!(listed[1].cluster_name, "classroom-bob");
            assert_eq!(listed[1].server, "https://learner.example:6443");
            let json = serde_json::to_string(&listed).unwrap();
            assert!(!json.contains("TUlJQ2tleS") && !json.contains("keyData"), "{json}");

            let bob = LearnerName::new("bob").unwrap();
            remove_learner(&client, &classroom(), &bob).await.unwrap();
            assert_eq!(learners(&client, &classroom()).await.unwrap().len(), 1);
            let again = remove_learner(&client, &classroom(), &bob).await.unwrap_err();
            assert!(matches!(again, ClassroomError::NotRegistered { .. }), "{again}");
            assert_eq!(learners(&client, &other).await.unwrap()[0].name, "eve");
        }
    }
}
