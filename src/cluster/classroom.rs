//! The learner clusters of a classroom environment, registered with the management Argo
//! CD as its cluster Secrets.
//!
//! A classroom environment (`clusters:` in `gitgen.yaml`) deploys to every cluster whose
//! Argo CD cluster Secret carries its labels. This module builds such a Secret from a
//! learner's kubeconfig, applies, lists and deletes it. The credentials it reads go into
//! that Secret and nowhere else: [`LearnerConnection`] never shows them (`Debug` is
//! redacted), [`Learner`] never reads them back, and a failed apply's message is scrubbed
//! of them before it becomes an error. Rendering the classroom's ApplicationSets, which
//! read these Secrets, is `render`'s.
//!
//! The Secret follows Argo CD v2.12.3's declarative setup
//! (`docs/operator-manual/declarative-setup.md`, "Clusters"): labelled
//! `argocd.argoproj.io/secret-type: cluster`, with `name`, `server` and `config`, the JSON
//! of `ClusterConfig` (`pkg/apis/application/v1alpha1/types.go`): `username`, `password`,
//! `bearerToken`, and `tlsClientConfig` with `insecure`, `serverName` and the base64 PEM
//! bytes `caData`, `certData`, `keyData` (Go's `[]byte` in JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde::Serialize;
use serde_json::{Value, json};

use super::status::aligned;
use super::{Change, ClusterError, FIELD_MANAGER, ObjectRef, api_message, apply::classify, is_not_found};
use crate::catalog::Catalog;
use crate::catalog::config::Target;
use crate::catalog::labels::{
    self, ENVIRONMENT_LABEL, LEARNER_LABEL, MAX_LABEL_VALUE, SECRET_TYPE_LABEL, STAGE_HOLD_PREFIX, stage_hold_label,
};
use crate::names::{DnsLabelProblem, LessonId, StageName, dns_label_problem};
use crate::render::classroom::{generated_name, learner_name_room, longest_stem};
use crate::settings::{CommandLine, Settings};

/// A classroom environment as this module needs it.
#[derive(Debug, Clone)]
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
    /// The classroom the settings' environment is, if it is one (`clusters:` in
    /// `gitgen.yaml`).
    pub fn of(settings: &Settings) -> Option<Self> {
        match settings.env().target() {
            Target::Classroom(selector) => Some(Classroom {
                environment: settings.env_name.to_string(),
                selector: selector.clone(),
                argocd_namespace: settings.config.argocd.namespace.clone(),
                commands: settings.command_line(),
            }),
            Target::Cluster(_) => None,
        }
    }

    /// The classroom the settings' environment is; an error when it deploys to one
    /// `destination`.
    pub fn require(settings: &Settings) -> Result<Self, ClassroomError> {
        Self::of(settings).ok_or_else(|| ClassroomError::NotAClassroom {
            environment: settings.env_name.to_string(),
        })
    }

    /// A learner `classroom add` may register: a DNS label that keeps every Application the
    /// classroom may generate for them (`<lesson>[-<chart>]-<env>-<learner>`) a DNS label
    /// too. Every lesson of `catalog` counts, enabled or not, so enabling one later never
    /// leaves a registered learner without its Applications.
    pub fn new_learner(&self, name: &str, catalog: &Catalog) -> Result<LearnerName, ClassroomError> {
        let learner = LearnerName::new(name)?;
        if let Some((stem, lesson)) = longest_stem(catalog.lessons.values())
            && name.len() > learner_name_room(&stem, &self.environment)
        {
            return Err(ClassroomError::LearnerNameTooLong {
                application: generated_name(&stem, &self.cluster_name(&learner)),
                lesson: lesson.to_string(),
                room: learner_name_room(&stem, &self.environment),
            });
        }
        Ok(learner)
    }

    /// The name of a learner's cluster Secret: `gitgen-cluster-<env>-<learner>`.
    pub fn secret_name(&self, learner: &LearnerName) -> String {
        format!("gitgen-cluster-{}-{learner}", self.environment)
    }

    /// The name Argo CD knows the learner's cluster by: `<env>-<learner>`.
    pub fn cluster_name(&self, learner: &LearnerName) -> String {
        format!("{}-{learner}", self.environment)
    }

    /// The label selector of this classroom's cluster Secrets.
    fn secrets_selector(&self) -> String {
        format!("{SECRET_TYPE_LABEL}=cluster,{ENVIRONMENT_LABEL}={}", self.environment)
    }
}

/// A learner's name: a DNS label, as it becomes part of Secret, cluster and Application
/// names and a label value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LearnerName(String);

impl LearnerName {
    /// Checks `name` is a DNS label (RFC 1123) of at most 63 characters. A learner
    /// `classroom add` registers passes [`Classroom::new_learner`], which also bounds the
    /// names generated from it.
    pub fn new(name: &str) -> Result<Self, ClassroomError> {
        match dns_label_problem(name, MAX_LABEL_VALUE) {
            Some(problem) => Err(ClassroomError::LearnerName {
                name: name.escape_debug().to_string(),
                problem,
            }),
            None => Ok(Self(name.to_owned())),
        }
    }
}

impl fmt::Display for LearnerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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

/// How Argo CD reaches a learner's cluster: its API server and Argo CD's `ClusterConfig`.
/// Holds credentials, so `Debug` shows only the server.
pub struct LearnerConnection {
    /// The API server URL.
    pub server: String,
    /// Argo CD's `ClusterConfig` JSON.
    config: Value,
    /// Every credential in `config`, as text, to scrub from messages.
    credentials: Vec<String>,
}

impl fmt::Debug for LearnerConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LearnerConnection")
            .field("server", &self.server)
            .field("config", &"<redacted>")
            .finish()
    }
}

impl LearnerConnection {
    /// Reads the user and cluster of `context` (default: the current one) of the
    /// kubeconfig at `path`. Files it names (`certificate-authority`,
    /// `client-certificate`, `client-key`, `tokenFile`) are read and inlined, since Argo
    /// CD cannot read the learner's disk; an `exec` or `auth-provider` user is refused,
    /// as its plugin would have to run inside Argo CD.
    pub fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Self, ClassroomError> {
        let failed = |message: String| ClassroomError::Kubeconfig {
            path: path.to_owned(),
            context: context.map(str::to_owned),
            message,
        };
        let kubeconfig =
            kube::config::Kubeconfig::read_from(path).map_err(|e| failed(without_quoted(&super::root_cause(&e))))?;
        let context_name = match context {
            Some(name) => name.to_owned(),
            None => kubeconfig
                .current_context
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| failed("it has no current context".into()))?,
        };
        let found = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .and_then(|c| c.context.as_ref())
            .ok_or_else(|| failed(format!("it has no context `{context_name}`")))?;
        let cluster = kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == found.cluster)
            .and_then(|c| c.cluster.as_ref())
            .ok_or_else(|| failed(format!("it has no cluster `{}`", found.cluster)))?;
        let user_name = found.user.clone().unwrap_or_default();
        let user = kubeconfig
            .auth_infos
            .iter()
            .find(|u| u.name == user_name)
            .and_then(|u| u.auth_info.as_ref())
            .ok_or_else(|| failed(format!("it has no user `{user_name}`")))?;
        let server = cluster
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| failed(format!("cluster `{}` has no `server`", found.cluster)))?;
        let unsupported = |method| ClassroomError::UnsupportedAuth {
            path: path.to_owned(),
            user: user_name.clone(),
            method,
        };
        if user.exec.is_some() {
            return Err(unsupported("exec"));
        }
        if user.auth_provider.is_some() {
            return Err(unsupported("auth-provider"));
        }
        // The secret fields are `SecretString`s; their serialized form is the only way to
        // read them without another dependency on `secrecy`.
        let secret_fields = serde_json::to_value(user).map_err(|_| failed("its user cannot be read".into()))?;
        let secret = |field: &str| {
            secret_fields[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let read = |field: &'static str, file: &str| {
            fs_err::read(file).map_err(|source| ClassroomError::CredentialFile {
                kubeconfig: path.to_owned(),
                field,
                source,
            })
        };
        // `*-data` fields are base64 already; decoding checks them and strips nothing a
        // re-encoding would not restore.
        let decode = |field: &'static str, data: &str| {
            serde_json::from_value::<ByteString>(Value::String(data.to_owned()))
                .map(|bytes| bytes.0)
                .map_err(|_| ClassroomError::InvalidData {
                    kubeconfig: path.to_owned(),
                    field,
                })
        };
        let bytes = |data_field: &'static str,
                     data: Option<String>,
                     file_field: &'static str,
                     file: Option<&String>|
         -> Result<Option<Vec<u8>>, ClassroomError> {
            match (data, file) {
                (Some(data), _) => decode(data_field, &data).map(Some),
                (None, Some(file)) => read(file_field, file).map(Some),
                (None, None) => Ok(None),
            }
        };
        let ca = bytes(
            "certificate-authority-data",
            cluster.certificate_authority_data.clone().filter(|s| !s.is_empty()),
            "certificate-authority",
            cluster.certificate_authority.as_ref(),
        )?;
        let cert = bytes(
            "client-certificate-data",
            user.client_certificate_data.clone().filter(|s| !s.is_empty()),
            "client-certificate",
            user.client_certificate.as_ref(),
        )?;
        let key = bytes(
            "client-key-data",
            secret("client-key-data"),
            "client-key",
            user.client_key.as_ref(),
        )?;
        let token = match (secret("token"), &user.token_file) {
            (Some(token), _) => Some(token),
            (None, Some(file)) => {
                let text = read("tokenFile", file)?;
                Some(String::from_utf8_lossy(&text).trim().to_owned()).filter(|t| !t.is_empty())
            }
            (None, None) => None,
        };
        let password = secret("password");
        if token.is_none() && (cert.is_none() || key.is_none()) && password.is_none() {
            return Err(ClassroomError::NoCredentials {
                path: path.to_owned(),
                user: user_name,
            });
        }
        let insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        let base64 = |bytes: &[u8]| serde_json::to_value(ByteString(bytes.to_vec())).expect("bytes serialize");
        let mut tls = json!({"insecure": insecure});
        if let Some(name) = cluster.tls_server_name.as_deref().filter(|n| !n.is_empty()) {
            tls["serverName"] = name.into();
        }
        // client-go refuses a CA together with `insecure`, so Argo CD would too.
        if let Some(ca) = ca.as_deref().filter(|_| !insecure) {
            tls["caData"] = base64(ca);
        }
        let mut credentials = Vec::new();
        for (field, value) in [("certData", &cert), ("keyData", &key)] {
            if let Some(value) = value {
                tls[field] = base64(value);
                credentials.push(String::from_utf8_lossy(value).into_owned());
                credentials.push(tls[field].as_str().unwrap_or_default().to_owned());
            }
        }
        let mut config = json!({"tlsClientConfig": tls});
        if let Some(token) = token {
            config["bearerToken"] = token.clone().into();
            credentials.push(token);
        }
        if let Some(password) = password {
            config["username"] = user.username.clone().unwrap_or_default().into();
            config["password"] = password.clone().into();
            credentials.push(password);
        }
        if let Some(proxy) = cluster.proxy_url.as_deref().filter(|p| !p.is_empty()) {
            config["proxyUrl"] = proxy.into();
        }
        // Secret lines of a PEM block are what must never show; its short header lines
        // (`-----BEGIN…`) are not secret and would scrub too much.
        credentials.extend(
            credentials
                .clone()
                .iter()
                .flat_map(|c| c.lines().map(str::to_owned).collect::<Vec<_>>())
                .filter(|line| !line.starts_with("-----")),
        );
        credentials.retain(|c| c.len() >= 8);
        Ok(Self {
            server,
            config,
            credentials,
        })
    }

    /// The same credentials for another address of the API server (the one Argo CD
    /// reaches, when the kubeconfig's is only reachable from the learner's machine): an
    /// `http(s)` URL.
    pub fn at(mut self, server: &str) -> Result<Self, ClassroomError> {
        if !server.starts_with("https://") && !server.starts_with("http://") {
            return Err(ClassroomError::LearnerServer {
                server: server.escape_debug().to_string(),
            });
        }
        self.server = server.to_owned();
        Ok(self)
    }

    /// Whether the server is a loopback address (`127.0.0.0/8`, `::1`, `localhost`), which
    /// an Argo CD running in the management cluster reaches as itself, never the learner's
    /// cluster.
    pub fn server_is_loopback(&self) -> bool {
        let rest = self
            .server
            .split_once("://")
            .map_or(self.server.as_str(), |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `text` with every credential of this connection replaced by `<redacted>`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for credential in &self.credentials {
            text = text.replace(credential.as_str(), "<redacted>");
        }
        text
    }
}

/// `text` with every double-quoted part replaced by `"…"`: YAML parse errors quote the
/// value they choke on, which may be a credential.
fn without_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut parts = text.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (index, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if index % 2 == 0 { "…" } else { part });
    }
    out
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
    let name = crate::render::argocd::classroom_scoped(&classroom.environment, crate::render::argocd::ROOT_APP);
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &classroom.argocd_namespace,
        &crate::cluster::status::application_resource(),
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
    match api
        .delete(&classroom.secret_name(learner), &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Err(ClassroomError::NotRegistered {
            learner: learner.to_string(),
            environment: classroom.environment.clone(),
            commands: classroom.commands.clone(),
        }),
        Err(source) => Err(ClusterError::Api {
            doing: format!("deleting Secret `{}`", classroom.secret_name(learner)),
            source,
        }
        .into()),
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
    match api.patch(&name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Err(ClassroomError::NotRegistered {
            learner: learner.to_string(),
            environment: classroom.environment.clone(),
            commands: classroom.commands.clone(),
        }),
        Err(source) => Err(ClusterError::Api {
            doing: format!("setting label `{label}` of Secret `{name}`"),
            source,
        }
        .into()),
    }
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
    let params = ListParams::default().labels(&classroom.secrets_selector());
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

/// The learners as the `classroom list` table: name, Argo CD cluster, server, stage holds
/// and the labels that tell this learner apart (not those every learner of the classroom
/// carries).
pub fn render_learners(classroom: &Classroom, learners: &[Learner]) -> String {
    let shown = |key: &str| {
        !key.starts_with(STAGE_HOLD_PREFIX)
            && ![SECRET_TYPE_LABEL, ENVIRONMENT_LABEL, LEARNER_LABEL].contains(&key)
            && !classroom.selector.contains_key(key)
    };
    let join = |pairs: Vec<String>| {
        if pairs.is_empty() {
            "-".to_owned()
        } else {
            pairs.join(",")
        }
    };
    let mut table = vec![
        ["LEARNER", "CLUSTER", "SERVER", "STAGE HOLDS", "LABELS"]
            .map(String::from)
            .to_vec(),
    ];
    for learner in learners {
        table.push(vec![
            learner.name.clone(),
            learner.cluster_name.clone(),
            learner.server.clone(),
            join(learner.stage_holds.iter().map(|(l, s)| format!("{l}={s}")).collect()),
            join(
                learner
                    .labels
                    .iter()
                    .filter(|(k, _)| shown(k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
        ]);
    }
    aligned(&table)
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
    /// A learner name that is not a DNS label.
    #[error("learner name `{name}` is not a DNS label: {problem}")]
    LearnerName {
        /// The name given, with control characters escaped.
        name: String,
        /// What is wrong with it.
        problem: DnsLabelProblem,
    },
    /// A learner name that would make a generated Application's name longer than a DNS
    /// label.
    #[error("Argo CD would generate Application `{application}` for this learner: {} characters, over the 63 of a DNS label", application.len())]
    LearnerNameTooLong {
        /// The longest Application name the learner would get.
        application: String,
        /// The lesson it belongs to.
        lesson: String,
        /// The longest learner name that fits.
        room: usize,
    },
    /// A `--label` that is not a Kubernetes label.
    #[error("label `{label}` {reason}")]
    Label {
        /// The label given, with control characters escaped.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--learner-server` that is not an `http(s)` URL.
    #[error("`--learner-server {server}` is not an http(s) URL")]
    LearnerServer {
        /// The value given, with control characters escaped.
        server: String,
    },
    /// A `--label` that would override one the classroom sets.
    #[error("label `{key}` is set by gitgen on every learner's cluster Secret")]
    ReservedLabel {
        /// The key.
        key: String,
    },
    /// The learner's kubeconfig cannot be used.
    #[error("the learner's kubeconfig `{}`{}: {message}", path.display(),
        context.as_ref().map(|c| format!(" (context `{c}`)")).unwrap_or_default())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The context asked for, if any.
        context: Option<String>,
        /// What is wrong (never a credential).
        message: String,
    },
    /// The user authenticates through a plugin that would have to run inside Argo CD.
    #[error("user `{user}` of the learner's kubeconfig `{}` authenticates with `{method}`, which Argo CD cannot run", path.display())]
    UnsupportedAuth {
        /// The kubeconfig.
        path: PathBuf,
        /// The user entry.
        user: String,
        /// `exec` or `auth-provider`.
        method: &'static str,
    },
    /// The user has no token, client certificate and key, or password.
    #[error("user `{user}` of the learner's kubeconfig `{}` has no credentials (token, client certificate and key, or password)", path.display())]
    NoCredentials {
        /// The kubeconfig.
        path: PathBuf,
        /// The user entry.
        user: String,
    },
    /// A file the kubeconfig names cannot be read.
    #[error("cannot read the `{field}` file of the learner's kubeconfig `{}`", kubeconfig.display())]
    CredentialFile {
        /// The kubeconfig.
        kubeconfig: PathBuf,
        /// The kubeconfig field naming the file.
        field: &'static str,
        /// The read error (it names the file).
        source: std::io::Error,
    },
    /// A `*-data` field that is not base64.
    #[error("`{field}` in the learner's kubeconfig `{}` is not base64", kubeconfig.display())]
    InvalidData {
        /// The kubeconfig.
        kubeconfig: PathBuf,
        /// The field.
        field: &'static str,
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
            Self::LearnerName { .. } => "use a DNS label, such as `alice` or `team-2`: it becomes part of Secret, cluster and Application names".into(),
            Self::LearnerNameTooLong { lesson, room: 0, .. } => format!("no learner name fits: the longest lesson, `{lesson}`, leaves none beside the environment's name; shorten the environment's name in gitgen.yaml"),
            Self::LearnerNameTooLong { lesson, room, .. } => format!("use a learner name of at most {room} characters: the longest lesson, `{lesson}`, and the environment's name take the rest of the 63"),
            Self::LearnerServer { .. } => "give the learner's API server as Argo CD reaches it, e.g. `https://10.0.0.12:6443`".into(),
            Self::Label { .. } => "write labels as `--label KEY=VALUE`, e.g. `--label stage.gitgen.io/keda=operator`".into(),
            Self::ReservedLabel { .. } => "leave it out: gitgen sets the classroom's labels, the environment and the learner itself".into(),
            Self::Kubeconfig { .. } => "check it with `kubectl --kubeconfig FILE config get-contexts`, and pick a context with `--learner-context`".into(),
            Self::UnsupportedAuth { .. } | Self::NoCredentials { .. } => "give Argo CD credentials of its own: a ServiceAccount token (`kubectl create token`, or a `kubernetes.io/service-account-token` Secret) or a client certificate, in a kubeconfig passed with `--learner-kubeconfig`".into(),
            Self::CredentialFile { .. } => "check that the file exists and is readable, or inline it as the matching `*-data` field".into(),
            Self::InvalidData { .. } => "`*-data` fields hold the base64 of the PEM file, as `kubectl config view --raw --flatten` writes them".into(),
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
    use super::*;

    #[test]
    fn a_loopback_learner_server_is_told_from_a_reachable_one() {
        let dir = tempfile::tempdir().unwrap();
        let at = |server| {
            let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
            connection.at(server).unwrap().server_is_loopback()
        };
        for loopback in [
            "https://127.0.0.1:6443",
            "https://127.1.2.3",
            "https://localhost:6443/",
            "https://LOCALHOST",
            "https://[::1]:6443",
        ] {
            assert!(at(loopback), "{loopback}");
        }
        for reachable in [
            "https://10.0.0.5:6443",
            "https://learner.example:6443",
            "https://[2001:db8::1]:6443",
            "https://localhost.example.com",
        ] {
            assert!(!at(reachable), "{reachable}");
        }
    }

    #[test]
    fn learner_names_are_dns_labels() {
        for good in ["alice", "team-2", "a", &"x".repeat(63)] {
            assert!(LearnerName::new(good).is_ok(), "{good}");
        }
        for bad in ["", "Alice", "-a", "a-", "a_b", "a.b", &"x".repeat(64)] {
            assert!(
                matches!(LearnerName::new(bad), Err(ClassroomError::LearnerName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn add_refuses_a_learner_whose_longest_application_name_passes_63_characters() {
        let catalog = Catalog::load(crate::catalog::source::CatalogFiles::embedded()).unwrap();
        let (stem, lesson) = longest_stem(catalog.lessons.values()).unwrap();
        let room = 63 - stem.len() - "-classroom-".len();
        let fits = "a".repeat(room);
        let learner = classroom().new_learner(&fits, &catalog).unwrap();
        assert_eq!(
            generated_name(&stem, &classroom().cluster_name(&learner)).len(),
            63,
            "the longest learner name fits exactly"
        );
        let error = classroom().new_learner(&"a".repeat(room + 1), &catalog).unwrap_err();
        assert!(
            matches!(&error, ClassroomError::LearnerNameTooLong { room: r, lesson: l, .. } if *r == room && l == lesson.as_str()),
            "{error:?}"
        );
        assert!(error.to_string().contains("64 characters, over the 63"), "{error}");
        let hint = error.hint().unwrap();
        assert!(
            hint.contains(&format!("at most {room} characters")) && hint.contains(&format!("`{lesson}`")),
            "{hint}"
        );

        // An environment whose name leaves no room for a one-letter learner.
        let crowded = Classroom {
            environment: "e".repeat(63 - stem.len() - 2),
            ..classroom()
        };
        let error = crowded.new_learner("a", &catalog).unwrap_err();
        assert!(
            matches!(error, ClassroomError::LearnerNameTooLong { room: 0, .. }),
            "{error:?}"
        );
        assert!(error.hint().unwrap().contains("no learner name fits"));
    }

    #[test]
    fn a_learner_server_must_be_an_http_url() {
        let dir = tempfile::tempdir().unwrap();
        let connection = || LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
        assert_eq!(
            connection().at("https://10.0.0.12:6443").unwrap().server,
            "https://10.0.0.12:6443"
        );
        let error = connection().at("10.0.0.12:6443").unwrap_err();
        assert!(matches!(error, ClassroomError::LearnerServer { .. }), "{error:?}");
    }

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

    /// base64, as kubeconfig `*-data` fields hold it.
    fn b64(text: &str) -> String {
        serde_json::to_value(ByteString(text.as_bytes().to_vec()))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nTUlJQ2tleS1vZi1hbGljZS10aGF0LW11c3Qtc3RheS1zZWNyZXQ=\n-----END EC PRIVATE KEY-----\n";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nTUlJQ2NlcnRpZmljYXRlLW9mLWFsaWNl\n-----END CERTIFICATE-----\n";
    const CA: &str = "-----BEGIN CERTIFICATE-----\nTUlJQ2F1dGhvcml0eQ==\n-----END CERTIFICATE-----\n";

    /// A kubeconfig in `dir` with contexts `cert` (client certificate, CA from a file
    /// next to it), `token` (a token file), `exec`, `provider` and `anonymous`.
    fn kubeconfig(dir: &Path) -> PathBuf {
        fs_err::write(dir.join("ca.crt"), CA).unwrap();
        fs_err::write(dir.join("token"), "sekret-token-of-bob\n").unwrap();
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: learner
  cluster: {{server: 'https://learner.example:6443', certificate-authority: ca.crt, tls-server-name: api.learner}}
- name: open
  cluster: {{server: 'https://open.example', insecure-skip-tls-verify: true, certificate-authority: ca.crt}}
users:
- name: alice
  user: {{client-certificate-data: {cert}, client-key-data: {key}}}
- name: bob
  user: {{tokenFile: token}}
- name: plugin
  user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}}
- name: provider
  user: {{auth-provider: {{name: gcp}}}}
- name: nobody
  user: {{}}
contexts:
- {{name: cert, context: {{cluster: learner, user: alice}}}}
- {{name: token, context: {{cluster: open, user: bob}}}}
- {{name: exec, context: {{cluster: learner, user: plugin}}}}
- {{name: provider, context: {{cluster: learner, user: provider}}}}
- {{name: anonymous, context: {{cluster: learner, user: nobody}}}}
current-context: cert
",
            cert = b64(CERT),
            key = b64(KEY),
        );
        let path = dir.join("kubeconfig");
        fs_err::write(&path, text).unwrap();
        path
    }

    #[test]
    fn builds_argo_cds_cluster_config_from_a_client_certificate_and_a_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
        assert_eq!(connection.server, "https://learner.example:6443");
        assert_eq!(
            connection.config,
            json!({"tlsClientConfig": {"insecure": false, "serverName": "api.learner",
                   "caData": b64(CA), "certData": b64(CERT), "keyData": b64(KEY)}})
        );
        let debug = format!("{connection:?}");
        assert!(!debug.contains(&b64(KEY)) && !debug.contains("TUlJQ2tleS"), "{debug}");
        let scrubbed = connection.scrub(&format!("refused {} and {}", b64(KEY), KEY));
        assert!(
            !scrubbed.contains("TUlJQ2tleS") && !scrubbed.contains(&b64(KEY)),
            "{scrubbed}"
        );
    }

    #[test]
    fn reads_a_token_file_and_drops_the_ca_of_an_insecure_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), Some("token")).unwrap();
        assert_eq!(
            connection.config,
            json!({"tlsClientConfig": {"insecure": true}, "bearerToken": "sekret-token-of-bob"})
        );
        assert_eq!(connection.scrub("token sekret-token-of-bob"), "token <redacted>");
    }

    #[test]
    fn refuses_plugin_users_anonymous_users_and_unknown_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let path = kubeconfig(dir.path());
        let error = |context| LearnerConnection::from_kubeconfig(&path, Some(context)).unwrap_err();
        assert!(matches!(
            error("exec"),
            ClassroomError::UnsupportedAuth { method: "exec", .. }
        ));
        assert!(matches!(
            error("provider"),
            ClassroomError::UnsupportedAuth {
                method: "auth-provider",
                ..
            }
        ));
        assert!(matches!(error("anonymous"), ClassroomError::NoCredentials { .. }));
        let missing = error("nope");
        assert!(matches!(missing, ClassroomError::Kubeconfig { .. }));
        assert!(missing.to_string().contains("no context `nope`"), "{missing}");
        assert!(missing.hint().unwrap().contains("--learner-context"));
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

    #[test]
    fn quoted_values_leave_parse_errors() {
        assert_eq!(
            without_quoted(r#"invalid type: string "c2VjcmV0", expected a map at line 3"#),
            r#"invalid type: string "…", expected a map at line 3"#
        );
    }
}
