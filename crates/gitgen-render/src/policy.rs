//! The rules every rendered object must follow before it reaches git: it stays in its
//! lesson's namespaces and declared cluster-scoped kinds, it asks for host access (the
//! whole Pod Security `baseline` surface) only where the lesson declared it, it is an
//! Argo CD object only where the lesson declared that, and no rendered text carries
//! credentials. Objects inside a `kind: List` are checked as top-level ones, since
//! `kubectl kustomize` and Argo CD unwrap them.

use serde_json::{Map, Value};

use gitgen_catalog::LoadedLesson;
use gitgen_catalog::lesson::HostPrivilege;
use gitgen_validate::is_builtin_cluster_kind;
use gitgen_validate::kinds::{api_group, cluster_kind_group, is_known_cluster_kind};

/// A broken rule: where in the object, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path inside the object.
    pub field: String,
    /// The rule broken.
    pub rule: Rule,
}

impl Violation {
    /// The same violation, found in the object at `prefix` (a List item).
    fn under(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = join(prefix, &self.field);
        }
        self
    }

    /// `rule`, broken at `field`.
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        Violation {
            field: field.into(),
            rule,
        }
    }
}

/// The rules a rendered object can break, each with its message (the field is said
/// before it) and, from [`Rule::hint`], an exhaustive `match`, its advice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    /// A document that is not a mapping.
    #[error("a document is not a mapping")]
    NotAnObject,
    /// `apiVersion`, `kind`, `metadata.name` or `metadata.namespace` missing.
    #[error("is missing")]
    IdentityMissing,
    /// `apiVersion`, `kind`, `metadata.name` or `metadata.namespace` not a string.
    #[error("must be a non-empty string")]
    IdentityNotText,
    /// A kind that is not written literally in the lesson's templates.
    #[error("`{kind}` is not a kind gitgen found written in the lesson's templates")]
    KindNotWritten {
        /// `group/Kind`, or `Kind` for the core group.
        kind: String,
    },
    /// A Namespace object, which gitgen renders itself.
    #[error("lessons do not write Namespace objects; gitgen renders `{name}` from `namespaces` in lesson.yaml")]
    NamespaceObject {
        /// The namespace's name.
        name: String,
    },
    /// A cluster-scoped kind the lesson does not declare.
    #[error("the cluster-scoped kind `{kind}` is not declared by the lesson")]
    ClusterKindUndeclared {
        /// The kind.
        kind: String,
        /// How `cluster_kinds` would list it.
        declared: String,
    },
    /// A namespaced object outside the lesson's namespaces.
    #[error("namespace `{namespace}` does not belong to the lesson")]
    ForeignNamespace {
        /// The namespace.
        namespace: String,
    },
    /// A Secret with data.
    #[error("a Secret with data would put credentials in git")]
    SecretWithData,
    /// Host access the lesson does not declare.
    #[error("`{}` needs host access the lesson does not declare", privilege.field())]
    HostAccess {
        /// The privilege asked for.
        privilege: HostPrivilege,
    },
    /// An Argo CD object in a lesson without `argocd_objects`.
    #[error("an Argo CD {kind} among a lesson's objects can deploy anything anywhere")]
    ArgocdObjectUndeclared {
        /// `Application` or `AppProject`.
        kind: String,
    },
    /// An ApplicationSet.
    #[error("an ApplicationSet generates Applications gitgen cannot check")]
    ApplicationSet,
    /// A lesson's Argo CD object outside Argo CD's namespace.
    #[error("an Argo CD {kind} must be in Argo CD's namespace `{namespace}`")]
    ArgocdNamespace {
        /// `Application` or `AppProject`.
        kind: String,
        /// Argo CD's namespace.
        namespace: String,
    },
    /// A repository `argocd_objects.repos` does not list.
    #[error("repository `{url}` is not one `argocd_objects.repos` lists")]
    RepoNotListed {
        /// The URL.
        url: String,
    },
    /// A destination cluster given as a pattern.
    #[error("cluster `{cluster}` is a pattern")]
    ClusterPattern {
        /// The cluster.
        cluster: String,
    },
    /// A destination namespace that is not the lesson's own.
    #[error("namespace `{namespace}` is not one of the lesson's own")]
    DestinationNotOwn {
        /// The namespace.
        namespace: String,
    },
    /// An AppProject `argocd_objects.projects` does not list.
    #[error("AppProject `{name}` is not one `argocd_objects.projects` lists")]
    ProjectNotListed {
        /// The project.
        name: String,
    },
    /// An AppProject with `sourceNamespaces`.
    #[error("would let Applications outside Argo CD's namespace use the project")]
    SourceNamespaces,
    /// An AppProject that allows a cluster kind the lesson does not declare.
    #[error("cluster kind `{kind}` is not one the lesson declares")]
    ProjectClusterKind {
        /// `group/Kind`, or `Kind` for the core group.
        kind: String,
    },
    /// An AppProject without `namespaceResourceWhitelist`.
    #[error("a lesson's AppProject must list the namespaced kinds its Applications create")]
    NoNamespacedKinds,
    /// An AppProject that allows namespaced kinds by wildcard.
    #[error("a wildcard kind")]
    WildcardKind,
    /// An Application in a project that is not the lesson's own.
    #[error("project `{project}` is not one of the lesson's own")]
    ProjectNotOwn {
        /// The project.
        project: String,
    },
    /// An Application without a destination.
    #[error("is missing")]
    NoDestination,
    /// An image or Argo CD revision that can change without a change in git.
    #[error("`{reference}` is a moving target: what it names can change without a change in git")]
    MovingTarget {
        /// The image or revision.
        reference: String,
    },
    /// A LoadBalancer or NodePort Service port whose `nodePort` is not the table's.
    #[error("a {kind} Service's port {port} must have nodePort {node_port}")]
    NodePort {
        /// `LoadBalancer` or `NodePort`.
        kind: String,
        /// The Service port.
        port: u16,
        /// The NodePort the table maps it to.
        node_port: u16,
    },
    /// A LoadBalancer or NodePort Service port the course's table lacks.
    #[error("port {port} is not one of the course's localhost ports ({known})")]
    PortNotInTable {
        /// The Service port (0 when it is not a port number).
        port: u16,
        /// The ports the table holds, as the message lists them.
        known: String,
    },
    /// A field that is not the Kubernetes type's.
    #[error("{problem}")]
    NotTheApiType {
        /// What the type checker found.
        problem: String,
    },
}

impl Rule {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Rule::NotAnObject => "each YAML document must be one Kubernetes object".to_owned(),
            Rule::IdentityMissing | Rule::IdentityNotText => {
                "every object needs `apiVersion`, `kind` and `metadata.name`".to_owned()
            }
            Rule::KindNotWritten { .. } => "write `apiVersion:` and `kind:` literally (not from a template expression) at the top of each object; gitgen reads them there to list the lesson's kinds in its AppProject".to_owned(),
            Rule::NamespaceObject { .. } => "declare the namespace under `namespaces:` with its Pod Security level".to_owned(),
            Rule::ClusterKindUndeclared { declared, .. } => {
                format!("add `{declared}` to `cluster_kinds` in lesson.yaml if the lesson really needs it")
            }
            Rule::ForeignNamespace { .. } => {
                "deploy into a namespace listed under `namespaces` or `uses_namespaces` in lesson.yaml".to_owned()
            }
            Rule::SecretWithData => {
                "declare it under `cluster_secrets` in lesson.yaml: a Job in the lesson creates it in the cluster".to_owned()
            }
            Rule::HostAccess { .. } => {
                "declare it under `host_access` in lesson.yaml with the reason, or remove it".to_owned()
            }
            Rule::ArgocdObjectUndeclared { .. } => {
                "declare `argocd_objects` in lesson.yaml with the reason, the projects and the repos they use".to_owned()
            }
            Rule::ApplicationSet => "write each Application out".to_owned(),
            Rule::ArgocdNamespace { namespace, .. } => format!("set `metadata.namespace: {namespace}`"),
            Rule::RepoNotListed { .. } => {
                "list each exact repository URL under `argocd_objects.repos` in lesson.yaml".to_owned()
            }
            Rule::ClusterPattern { .. } => "name one cluster exactly".to_owned(),
            Rule::DestinationNotOwn { .. } => {
                "deploy only into a namespace listed under `namespaces` in lesson.yaml".to_owned()
            }
            Rule::NoDestination => "deploy into a namespace listed under `namespaces` in lesson.yaml".to_owned(),
            Rule::ProjectNotListed { .. } => {
                "list the project under `argocd_objects.projects` in lesson.yaml".to_owned()
            }
            Rule::SourceNamespaces => "remove `sourceNamespaces`".to_owned(),
            Rule::ProjectClusterKind { .. } => {
                "list only kinds of `cluster_kinds` in lesson.yaml, each exactly".to_owned()
            }
            Rule::NoNamespacedKinds => "add `namespaceResourceWhitelist` with each group and kind".to_owned(),
            Rule::WildcardKind => "list each group and kind exactly".to_owned(),
            Rule::ProjectNotOwn { .. } => "use a project listed under `argocd_objects.projects` (gitgen's `gitgen-platform` and other lessons' projects are out of reach)".to_owned(),
            Rule::MovingTarget { reference } => format!(
                "pin it (an image tag other than `latest` or a `@sha256:` digest; a commit or release tag for a git source), or list `{reference}` under `moving_targets` in `lesson.yaml` with a `why`"
            ),
            Rule::NodePort { port, .. } => format!(
                "write `nodePort: {{{{ node_port({port}) }}}}`: kind maps that NodePort to localhost:{port}"
            ),
            Rule::PortNotInTable { .. } => "expose a port of the course (gitgen's `crates/gitgen-render/src/ports.rs` holds the table), or make the Service a ClusterIP".to_owned(),
            Rule::NotTheApiType { .. } => {
                "check the field against the Kubernetes API reference for this kind".to_owned()
            }
        }
    }
}

/// `apiVersion`, `kind` and `metadata.name` of an object, checked to be strings.
pub struct ObjectId<'a> {
    /// `apiVersion`.
    pub api_version: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `metadata.namespace`, when set.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for ObjectId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Reads the identity fields every Kubernetes object has.
pub fn object_id(object: &Value) -> Result<ObjectId<'_>, Violation> {
    fn text<'v>(value: Option<&'v Value>, field: &str) -> Result<&'v str, Violation> {
        match value {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(_) => Err(Violation::new(field, Rule::IdentityNotText)),
            None => Err(Violation::new(field, Rule::IdentityMissing)),
        }
    }
    if !object.is_object() {
        return Err(Violation::new("(document)", Rule::NotAnObject));
    }
    let metadata = object.get("metadata");
    Ok(ObjectId {
        api_version: text(object.get("apiVersion"), "apiVersion")?,
        kind: text(object.get("kind"), "kind")?,
        name: text(metadata.and_then(|m| m.get("name")), "metadata.name")?,
        namespace: match metadata.and_then(|m| m.get("namespace")) {
            None => None,
            Some(_) => Some(text(metadata.and_then(|m| m.get("namespace")), "metadata.namespace")?),
        },
    })
}

/// Whether the lesson treats `(group, kind)` as cluster-scoped.
pub fn is_cluster_scoped(lesson: &LoadedLesson, group: &str, kind: &str) -> bool {
    is_known_cluster_kind(group, kind) || declares_cluster_kind(lesson, group, kind)
}

fn declares_cluster_kind(lesson: &LoadedLesson, group: &str, kind: &str) -> bool {
    lesson
        .lesson
        .cluster_kinds
        .iter()
        .any(|declared| cluster_kind_group(declared) == Some((group, kind)))
}

/// Namespaces the lesson may deploy into.
pub fn allowed_namespaces(lesson: &LoadedLesson) -> impl Iterator<Item = &str> {
    let l = &lesson.lesson;
    l.namespaces
        .iter()
        .map(|n| n.name.as_str())
        .chain(l.uses_namespaces.iter().map(String::as_str))
        .chain(l.charts.iter().map(|c| c.namespace.as_str()))
}

/// The items of a `kind: List` (or `*List`) object, which `kubectl kustomize` and Argo CD
/// apply as separate objects.
fn list_items(object: &Value) -> Option<&Vec<Value>> {
    let kind = object.get("kind")?.as_str()?;
    if kind.ends_with("List") {
        object.get("items")?.as_array()
    } else {
        None
    }
}

/// Every object `object` stands for, with the field path it sits at: itself, or the items
/// of a List (of Lists).
pub fn unwrapped(object: &Value) -> Vec<(String, &Value)> {
    fn walk<'v>(object: &'v Value, prefix: String, out: &mut Vec<(String, &'v Value)>) {
        match list_items(object) {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, join(&prefix, &format!("items[{i}]")), out);
                }
            }
            None => out.push((prefix, object)),
        }
    }
    let mut out = Vec::new();
    walk(object, String::new(), &mut out);
    out
}

/// Checks one rendered document of `lesson` against every rule: the object itself, or each
/// item of a List exactly as if it stood alone.
pub fn check_object(lesson: &LoadedLesson, object: &Value) -> Result<(), Violation> {
    for (prefix, item) in unwrapped(object) {
        check_one(lesson, item).map_err(|v| v.under(&prefix))?;
    }
    Ok(())
}

fn check_one(lesson: &LoadedLesson, object: &Value) -> Result<(), Violation> {
    let id = object_id(object)?;
    let group = api_group(id.api_version);
    if !lesson.kinds.contains(&(group.to_owned(), id.kind.to_owned())) {
        return Err(Violation::new(
            "kind",
            Rule::KindNotWritten {
                kind: qualified(group, id.kind),
            },
        ));
    }
    if group == "argoproj.io" && matches!(id.kind, "Application" | "AppProject" | "ApplicationSet") {
        return check_argocd_object(lesson, &id, object);
    }
    if is_cluster_scoped(lesson, group, id.kind) {
        if id.kind == "Namespace" && group.is_empty() {
            return Err(Violation::new(
                "kind",
                Rule::NamespaceObject {
                    name: id.name.to_owned(),
                },
            ));
        }
        if !declares_cluster_kind(lesson, group, id.kind) {
            let declared = if group.is_empty() || is_builtin_cluster_kind(group, id.kind) {
                id.kind.to_owned()
            } else {
                qualified(group, id.kind)
            };
            return Err(Violation::new(
                "kind",
                Rule::ClusterKindUndeclared {
                    kind: id.kind.to_owned(),
                    declared,
                },
            ));
        }
    } else {
        let namespace = id.namespace.unwrap_or(&lesson.lesson.namespace);
        if !allowed_namespaces(lesson).any(|ns| ns == namespace) {
            return Err(Violation::new(
                "metadata.namespace",
                Rule::ForeignNamespace {
                    namespace: namespace.to_owned(),
                },
            ));
        }
    }
    if id.kind == "Secret" && group.is_empty() {
        for field in ["data", "stringData"] {
            if object
                .get(field)
                .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            {
                return Err(Violation::new(field, Rule::SecretWithData));
            }
        }
    }
    let allowed = |privilege: HostPrivilege| {
        lesson
            .lesson
            .host_access
            .as_ref()
            .is_some_and(|h| h.allow.contains(&privilege))
    };
    let deny = |field: String, privilege: HostPrivilege| {
        if allowed(privilege) {
            return Ok(());
        }
        Err(Violation::new(field, Rule::HostAccess { privilege }))
    };
    if id.kind == "PersistentVolume" && group.is_empty() && object.pointer("/spec/hostPath").is_some() {
        deny("spec.hostPath".to_owned(), HostPrivilege::HostPath)?;
    }
    check_host_access(object, &mut String::new(), &deny)
}

/// `group/Kind`, or `Kind` for the core group.
fn qualified(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{group}/{kind}")
    }
}

/// A wildcard or pattern in an AppProject or Application field, which would reach beyond
/// what the lesson declares.
fn is_pattern(text: &str) -> bool {
    text.is_empty() || text.contains(['*', '?', '[', '!'])
}

/// An Argo CD object among a lesson's own: only with `argocd_objects` in lesson.yaml, in
/// Argo CD's namespace, in a project the lesson declares, within its repos, namespaces
/// and cluster kinds.
fn check_argocd_object(lesson: &LoadedLesson, id: &ObjectId<'_>, object: &Value) -> Result<(), Violation> {
    let Some(declared) = &lesson.lesson.argocd_objects else {
        return Err(Violation::new(
            "kind",
            Rule::ArgocdObjectUndeclared {
                kind: id.kind.to_owned(),
            },
        ));
    };
    if id.kind == "ApplicationSet" {
        return Err(Violation::new("kind", Rule::ApplicationSet));
    }
    if id.namespace != Some(lesson.argocd_namespace.as_str()) {
        return Err(Violation::new(
            "metadata.namespace",
            Rule::ArgocdNamespace {
                kind: id.kind.to_owned(),
                namespace: lesson.argocd_namespace.clone(),
            },
        ));
    }
    let own_project = |name: &str| declared.projects.iter().any(|p| p == name);
    let own_namespace = |name: &str| lesson.lesson.namespaces.iter().any(|ns| ns.name == name);
    let repo = |field: String, url: Option<&Value>| -> Result<(), Violation> {
        let url = url.and_then(Value::as_str).unwrap_or("");
        if is_pattern(url) || !declared.repos.iter().any(|r| r == url) {
            return Err(Violation::new(field, Rule::RepoNotListed { url: url.to_owned() }));
        }
        Ok(())
    };
    let destination = |field: String, dest: &Value| -> Result<(), Violation> {
        let namespace = dest.get("namespace").and_then(Value::as_str).unwrap_or("");
        let cluster = ["server", "name"]
            .iter()
            .filter_map(|k| dest.get(*k).and_then(Value::as_str))
            .find(|c| is_pattern(c));
        if let Some(cluster) = cluster {
            return Err(Violation::new(
                format!("{field}.server"),
                Rule::ClusterPattern {
                    cluster: cluster.to_owned(),
                },
            ));
        }
        if is_pattern(namespace) || !own_namespace(namespace) {
            return Err(Violation::new(
                format!("{field}.namespace"),
                Rule::DestinationNotOwn {
                    namespace: namespace.to_owned(),
                },
            ));
        }
        Ok(())
    };
    let items = |field: &str| -> Vec<(String, &Value)> {
        match object.pointer(&format!("/spec/{field}")) {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("spec.{field}[{i}]"), v))
                .collect(),
            _ => Vec::new(),
        }
    };
    if id.kind == "AppProject" {
        if !own_project(id.name) {
            return Err(Violation::new(
                "metadata.name",
                Rule::ProjectNotListed {
                    name: id.name.to_owned(),
                },
            ));
        }
        if object.pointer("/spec/sourceNamespaces").is_some() {
            return Err(Violation::new("spec.sourceNamespaces", Rule::SourceNamespaces));
        }
        for (field, url) in items("sourceRepos") {
            repo(field, Some(url))?;
        }
        for (field, dest) in items("destinations") {
            destination(field, dest)?;
        }
        for (field, entry) in items("clusterResourceWhitelist") {
            let group = entry.get("group").and_then(Value::as_str).unwrap_or("");
            let kind = entry.get("kind").and_then(Value::as_str).unwrap_or("");
            if is_pattern(kind) || group.contains('*') || !declares_cluster_kind(lesson, group, kind) {
                return Err(Violation::new(
                    field,
                    Rule::ProjectClusterKind {
                        kind: qualified(group, kind),
                    },
                ));
            }
        }
        let namespaced = items("namespaceResourceWhitelist");
        if namespaced.is_empty() {
            return Err(Violation::new(
                "spec.namespaceResourceWhitelist",
                Rule::NoNamespacedKinds,
            ));
        }
        for (field, entry) in namespaced {
            let group = entry.get("group").and_then(Value::as_str).unwrap_or("");
            let kind = entry.get("kind").and_then(Value::as_str).unwrap_or("");
            if is_pattern(kind) || group.contains('*') {
                return Err(Violation::new(field, Rule::WildcardKind));
            }
        }
        return Ok(());
    }
    let project = object.pointer("/spec/project").and_then(Value::as_str).unwrap_or("");
    if !own_project(project) {
        return Err(Violation::new(
            "spec.project",
            Rule::ProjectNotOwn {
                project: project.to_owned(),
            },
        ));
    }
    if let Some(source) = object.pointer("/spec/source") {
        repo("spec.source.repoURL".to_owned(), source.get("repoURL"))?;
    }
    for (field, source) in items("sources") {
        repo(format!("{field}.repoURL"), source.get("repoURL"))?;
    }
    match object.pointer("/spec/destination") {
        Some(dest) => destination("spec.destination".to_owned(), dest),
        None => Err(Violation::new("spec.destination", Rule::NoDestination)),
    }
}

/// Capabilities the Pod Security `baseline` profile lets a container add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Sysctls the Pod Security `baseline` profile allows (namespaced, isolated per pod).
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// SELinux types the Pod Security `baseline` profile allows.
const CONTAINER_SELINUX_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

type Deny<'a> = dyn Fn(String, HostPrivilege) -> Result<(), Violation> + 'a;

/// Walks the object; every mapping with `containers` is a pod spec (of a Pod, a workload's
/// template, a CronJob's job template, an Argo Rollout…), and a mapping whose `spec` is
/// one also carries the pod's annotations.
fn check_host_access(value: &Value, path: &mut String, deny: &Deny<'_>) -> Result<(), Violation> {
    match value {
        Value::Object(map) => {
            if map.contains_key("containers") {
                check_pod_spec(map, path, deny)?;
            }
            if map.get("spec").is_some_and(|s| s.get("containers").is_some()) {
                check_pod_annotations(map, path, deny)?;
            }
            for (key, child) in map {
                let len = path.len();
                *path = join(path, key);
                check_host_access(child, path, deny)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_host_access(child, path, deny)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_pod_spec(spec: &Map<String, Value>, path: &str, deny: &Deny<'_>) -> Result<(), Violation> {
    for (field, privilege) in [
        ("hostPID", HostPrivilege::HostPid),
        ("hostNetwork", HostPrivilege::HostNetwork),
        ("hostIPC", HostPrivilege::HostIpc),
    ] {
        if spec.get(field) == Some(&Value::Bool(true)) {
            deny(join(path, field), privilege)?;
        }
    }
    if let Some(Value::Array(volumes)) = spec.get("volumes") {
        for (i, volume) in volumes.iter().enumerate() {
            if volume.get("hostPath").is_some() {
                deny(
                    format!("{}[{i}].hostPath", join(path, "volumes")),
                    HostPrivilege::HostPath,
                )?;
            }
        }
    }
    if let Some(context) = spec.get("securityContext") {
        let at = join(path, "securityContext");
        check_security_context(context, &at, deny)?;
        if let Some(Value::Array(sysctls)) = context.get("sysctls") {
            for (i, sysctl) in sysctls.iter().enumerate() {
                let name = sysctl.get("name").and_then(Value::as_str).unwrap_or("");
                if !SAFE_SYSCTLS.contains(&name) {
                    deny(format!("{at}.sysctls[{i}].name"), HostPrivilege::Sysctls)?;
                }
            }
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(containers)) = spec.get(list) else {
            continue;
        };
        for (i, container) in containers.iter().enumerate() {
            let at = format!("{}[{i}]", join(path, list));
            if let Some(context) = container.get("securityContext") {
                let at = format!("{at}.securityContext");
                check_security_context(context, &at, deny)?;
                if context.get("privileged") == Some(&Value::Bool(true)) {
                    deny(format!("{at}.privileged"), HostPrivilege::Privileged)?;
                }
                if let Some(Value::Array(added)) = context.pointer("/capabilities/add") {
                    for (j, capability) in added.iter().enumerate() {
                        if !capability.as_str().is_some_and(|c| BASELINE_CAPABILITIES.contains(&c)) {
                            deny(format!("{at}.capabilities.add[{j}]"), HostPrivilege::Capabilities)?;
                        }
                    }
                }
                if context.get("procMount").is_some_and(|m| m.as_str() != Some("Default")) {
                    deny(format!("{at}.procMount"), HostPrivilege::ProcMount)?;
                }
            }
            if let Some(Value::Array(ports)) = container.get("ports") {
                for (j, port) in ports.iter().enumerate() {
                    if port.get("hostPort").is_some_and(|p| p.as_i64() != Some(0)) {
                        deny(format!("{at}.ports[{j}].hostPort"), HostPrivilege::HostPorts)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// What a pod's or a container's `securityContext` may hold either way.
fn check_security_context(context: &Value, at: &str, deny: &Deny<'_>) -> Result<(), Violation> {
    if let Some(selinux) = context.get("seLinuxOptions") {
        let text = |field: &str| selinux.get(field).and_then(Value::as_str).unwrap_or("");
        if !CONTAINER_SELINUX_TYPES.contains(&text("type")) {
            deny(format!("{at}.seLinuxOptions.type"), HostPrivilege::SeLinux)?;
        }
        for field in ["user", "role"] {
            if !text(field).is_empty() {
                deny(format!("{at}.seLinuxOptions.{field}"), HostPrivilege::SeLinux)?;
            }
        }
    }
    if context.pointer("/seccompProfile/type").and_then(Value::as_str) == Some("Unconfined") {
        deny(format!("{at}.seccompProfile.type"), HostPrivilege::Seccomp)?;
    }
    if context
        .pointer("/appArmorProfile/type")
        .is_some_and(|t| !matches!(t.as_str(), Some("RuntimeDefault" | "Localhost")))
    {
        deny(format!("{at}.appArmorProfile.type"), HostPrivilege::AppArmor)?;
    }
    if context.pointer("/windowsOptions/hostProcess") == Some(&Value::Bool(true)) {
        deny(format!("{at}.windowsOptions.hostProcess"), HostPrivilege::HostProcess)?;
    }
    Ok(())
}

/// The annotations older clusters read AppArmor and seccomp profiles from.
fn check_pod_annotations(object: &Map<String, Value>, path: &str, deny: &Deny<'_>) -> Result<(), Violation> {
    let Some(Value::Object(annotations)) = object.get("metadata").and_then(|m| m.get("annotations")) else {
        return Ok(());
    };
    for (key, value) in annotations {
        let value = value.as_str().unwrap_or("");
        let field = || format!("{}.annotations.{key}", join(path, "metadata"));
        if key.starts_with("container.apparmor.security.beta.kubernetes.io/")
            && value != "runtime/default"
            && !value.starts_with("localhost/")
        {
            deny(field(), HostPrivilege::AppArmor)?;
        }
        let seccomp = key == "seccomp.security.alpha.kubernetes.io/pod"
            || key.starts_with("container.seccomp.security.alpha.kubernetes.io/");
        if seccomp && value == "unconfined" {
            deny(field(), HostPrivilege::Seccomp)?;
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_lists_of_lists_with_the_path_of_each_item() {
        let object = serde_json::json!({"kind": "List", "items": [
            {"kind": "ConfigMapList", "items": [{"kind": "ConfigMap"}]},
            {"kind": "Secret"},
        ]});
        let paths: Vec<String> = unwrapped(&object).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["items[0].items[0]", "items[1]"]);
    }
}
