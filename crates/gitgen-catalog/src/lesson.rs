//! The `lesson.yaml` format: one typed struct per section of the file.
//!
//! Every struct rejects unknown fields so a typo is an error, never a silently ignored
//! setting. Semantic rules that need more than one field (stage names that exist,
//! a reason next to a privilege) are checked in `catalog/check.rs`, which runs right
//! after parsing so a loaded lesson is always a valid one.

use serde::Deserialize;
use serde_saphyr::Spanned;

use gitgen_base::names::{LessonId, StageName};

/// One lesson of the course: `catalog/<lesson>/lesson.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The lesson's id; must equal its folder name. Lower-case letters, digits and `-`.
    pub name: Spanned<LessonId>,
    /// Title shown in `gitgen list`, the walkthrough and the Argo CD UI.
    pub title: String,
    /// The course section the lesson comes from (its heading in the course README).
    pub section: String,
    /// Anchor of that section in the course README, for links to the full text.
    #[serde(default)]
    pub course_anchor: Option<String>,
    /// Namespace that objects without `metadata.namespace` are deployed to.
    pub namespace: String,
    /// Namespaces this lesson creates. gitgen renders each as a Namespace object
    /// carrying Pod Security Admission labels.
    #[serde(default)]
    pub namespaces: Vec<NamespaceSpec>,
    /// Namespaces owned by lessons this one requires, which it also deploys into
    /// (an HPA must live beside the Deployment it scales).
    #[serde(default)]
    pub uses_namespaces: Vec<String>,
    /// Cluster-scoped kinds this lesson may create (`Namespace` is always allowed for
    /// the namespaces listed above). Anything else cluster-scoped is refused at render.
    #[serde(default)]
    pub cluster_kinds: Vec<String>,
    /// Host access the lesson's pods need; anything not listed is refused at render.
    #[serde(default)]
    pub host_access: Option<HostAccess>,
    /// Namespaces that Kubernetes owns (`kube-system`, …) which the lesson's charts must
    /// write into, each with the reason. The lesson's own manifests never may.
    #[serde(default)]
    pub system_namespaces: Vec<SystemNamespace>,
    /// Argo CD Applications and AppProjects among the lesson's own objects (a lesson that
    /// teaches Argo CD). Without this, such objects are refused at render.
    #[serde(default)]
    pub argocd_objects: Option<ArgoCdObjects>,
    /// Lessons that must be enabled for this one to work.
    #[serde(default)]
    pub requires: Vec<Spanned<LessonId>>,
    /// Lessons that cannot be enabled together with this one.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    /// Ordered desired states. The last one is the default.
    pub stages: Vec<Stage>,
    /// Manifest templates of the lesson's Kustomize base.
    #[serde(default)]
    pub manifests: Vec<Manifest>,
    /// Third-party Helm charts, each deployed by its own Argo CD Application.
    #[serde(default)]
    pub charts: Vec<Chart>,
    /// Secrets the lesson's pods read. `gitgen bootstrap` creates them in the cluster
    /// with random values; they never reach git or disk.
    #[serde(default)]
    pub cluster_secrets: Vec<ClusterSecret>,
    /// Settings of the Argo CD Application that deploys the lesson's base.
    #[serde(default)]
    pub sync: SyncSettings,
    /// Images and git revisions that render may deploy although they are not pinned (an
    /// image at `latest`, a source at `HEAD`), each with the reason it cannot be.
    #[serde(default)]
    pub moving_targets: Vec<MovingTarget>,
    /// Walkthrough template (Markdown), rendered per environment.
    #[serde(default = "default_walkthrough")]
    pub walkthrough: String,
    /// Pages the walkthrough sends the learner to, each shown in the Argo CD UI as a link
    /// beside the object of the lesson's manifests that serves it. A chart's Services get
    /// theirs through its values (`argocd_link()`).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A page the walkthrough opens, served on one of the course's localhost ports, and the
/// object whose entry in the Argo CD UI carries the link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The link's text in the UI; its lower-case words also name the annotation.
    pub title: Spanned<String>,
    /// The object of the lesson's manifests that serves the page, as `Kind/name`.
    pub object: Spanned<String>,
    /// The course's localhost port the page answers on.
    pub port: u16,
    /// The page's path on that port (default `/`).
    #[serde(default = "default_link_path")]
    pub path: String,
    /// First stage that has the link (default: the first stage).
    #[serde(default)]
    pub since: Option<Spanned<StageName>>,
    /// Last stage that has the link (default: the last stage).
    #[serde(default)]
    pub until: Option<Spanned<StageName>>,
}

impl Link {
    /// The kind and name of the object that carries the link (checked to be `Kind/name`
    /// when the lesson is loaded).
    pub fn kind_and_name(&self) -> (&str, &str) {
        self.object
            .value
            .split_once('/')
            .unwrap_or((self.object.value.as_str(), ""))
    }
}

fn default_link_path() -> String {
    "/".to_owned()
}

fn default_walkthrough() -> String {
    "README.md.j2".to_owned()
}

/// A namespace the lesson creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSpec {
    /// The namespace's name.
    pub name: String,
    /// Pod Security Admission level enforced on it; warnings are always `restricted`.
    #[serde(default)]
    pub pod_security: PodSecurityLevel,
    /// Why a level weaker than `baseline` is needed. Required for `privileged`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Extra labels, e.g. `istio-injection: enabled`.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Pod Security Admission levels, weakest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    /// No restriction; needs a reason.
    Privileged,
    /// Blocks host namespaces, privileged containers and hostPath: the default.
    #[default]
    Baseline,
    /// The hardened profile.
    Restricted,
}

impl PodSecurityLevel {
    /// The label value Kubernetes expects.
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Privileged => "privileged",
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }
}

/// Host access a lesson declares it needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostAccess {
    /// What is allowed.
    pub allow: Vec<HostPrivilege>,
    /// Why the lesson needs it; shown in reviews and the walkthrough.
    pub reason: String,
}

/// A pod setting that reaches through the container boundary: together, everything the
/// Pod Security Standards' `baseline` profile forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum HostPrivilege {
    /// `securityContext.privileged: true`
    #[serde(rename = "privileged")]
    Privileged,
    /// `hostPID: true`
    #[serde(rename = "hostPID")]
    HostPid,
    /// `hostNetwork: true`
    #[serde(rename = "hostNetwork")]
    HostNetwork,
    /// `hostIPC: true`
    #[serde(rename = "hostIPC")]
    HostIpc,
    /// a `hostPath` volume, or a PersistentVolume with `hostPath`
    #[serde(rename = "hostPath")]
    HostPath,
    /// a container port with a `hostPort`
    #[serde(rename = "hostPorts")]
    HostPorts,
    /// `windowsOptions.hostProcess: true`
    #[serde(rename = "hostProcess")]
    HostProcess,
    /// `capabilities.add` beyond the baseline's default set
    #[serde(rename = "capabilities")]
    Capabilities,
    /// an AppArmor profile other than the runtime default or a node-local one
    #[serde(rename = "appArmor")]
    AppArmor,
    /// an SELinux type outside the container types, or any SELinux user or role
    #[serde(rename = "seLinux")]
    SeLinux,
    /// `procMount` other than `Default`
    #[serde(rename = "procMount")]
    ProcMount,
    /// a seccomp profile of type `Unconfined`
    #[serde(rename = "seccomp")]
    Seccomp,
    /// a sysctl outside the safe set
    #[serde(rename = "sysctls")]
    Sysctls,
}

impl HostPrivilege {
    /// The name a lesson declares it by, as written in a pod spec where it is one field.
    pub fn field(self) -> &'static str {
        match self {
            HostPrivilege::Privileged => "privileged",
            HostPrivilege::HostPid => "hostPID",
            HostPrivilege::HostNetwork => "hostNetwork",
            HostPrivilege::HostIpc => "hostIPC",
            HostPrivilege::HostPath => "hostPath",
            HostPrivilege::HostPorts => "hostPorts",
            HostPrivilege::HostProcess => "hostProcess",
            HostPrivilege::Capabilities => "capabilities",
            HostPrivilege::AppArmor => "appArmor",
            HostPrivilege::SeLinux => "seLinux",
            HostPrivilege::ProcMount => "procMount",
            HostPrivilege::Seccomp => "seccomp",
            HostPrivilege::Sysctls => "sysctls",
        }
    }
}

/// A Kubernetes-owned namespace a lesson's charts write into.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemNamespace {
    /// `kube-system`, `kube-public` or `kube-node-lease`.
    pub name: String,
    /// Why a chart of the lesson needs it (what it puts there).
    pub why: String,
}

/// Argo CD objects a lesson deploys, and the bounds they stay in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdObjects {
    /// Why the lesson deploys Applications or AppProjects of its own.
    pub reason: String,
    /// The AppProjects the lesson defines; its Applications use only these. The names
    /// must not be a lesson's, `default` or `gitgen-*`.
    pub projects: Vec<String>,
    /// The source repositories those projects and Applications may use.
    pub repos: Vec<String>,
    /// The CRDs that an Application of the lesson installs with its chart, for other
    /// lessons whose objects are of their kinds (the argocd lesson's Argo Rollouts).
    #[serde(default)]
    pub application_crds: Vec<ApplicationCrds>,
}

/// The custom kinds an Application of the lesson brings with its chart's CRDs. Until that
/// Application first syncs, the cluster does not serve them: `validate --server` reports an
/// object of one as waiting for it (checked against `schemas` when one defines its kind),
/// not as a kind nobody brings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationCrds {
    /// The Application's `metadata.name`, one of the lesson's manifests.
    pub application: String,
    /// Where `crds` and `schemas` come from (the chart archive and release), for the
    /// reviewer who updates the pin.
    pub source: String,
    /// The custom kind each of its CRDs defines, `group/Kind`.
    pub crds: Vec<String>,
    /// Copies of some of those CRD manifests, relative to the lesson folder: never
    /// deployed, only the schemas objects of their kinds are checked against.
    #[serde(default)]
    pub schemas: Vec<Spanned<String>>,
}

/// A lesson that cannot run beside this one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// The other lesson.
    pub lesson: Spanned<LessonId>,
    /// Environments where the conflict holds; empty means all.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Why they conflict.
    pub reason: String,
}

/// One desired state of a lesson.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The stage's name, unique in the lesson.
    pub name: StageName,
    /// What this stage adds or changes, one sentence.
    pub description: String,
}

/// A manifest template and the stages it belongs to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Template path, relative to the lesson folder. The output keeps the file name.
    pub file: Spanned<String>,
    /// The file is part of a Kustomize tree the lesson ships as it is (a base and its
    /// overlays, for a lesson about Kustomize): it keeps its path under the stage's folder.
    #[serde(default)]
    pub kustomize: Option<KustomizeFile>,
    /// First stage that includes it (default: the first stage).
    #[serde(default)]
    pub since: Option<Spanned<StageName>>,
    /// Last stage that includes it (default: the last stage).
    #[serde(default)]
    pub until: Option<Spanned<StageName>>,
}

impl Manifest {
    /// Where the rendered file goes, relative to the stage's folder: its file name, or its
    /// whole path for a file of a Kustomize tree.
    pub fn output(&self) -> &str {
        let file = self.file.value.as_str();
        match self.kustomize {
            Some(_) => file,
            None => file.rsplit('/').next().unwrap_or(file),
        }
    }
}

/// The part a file plays in a Kustomize tree that a lesson ships as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KustomizeFile {
    /// A resource, patch or `kustomization.yaml` that another kustomization of the tree reads.
    Part,
    /// A `kustomization.yaml` whose folder the stage's own kustomization lists as a resource.
    Entry,
}

/// An image or git revision that is deployed unpinned, and why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovingTarget {
    /// The reference exactly as the manifest writes it (`jasonumiker/nyancat:latest`, `HEAD`).
    #[serde(rename = "ref")]
    pub reference: String,
    /// Why it cannot be pinned; shown to reviewers.
    pub why: String,
}

/// A third-party Helm chart, pinned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Release name; the Application is named `<lesson>-<name>`.
    pub name: String,
    /// Helm repository URL (`https://…`, or `oci://…` without the chart name).
    pub repo: String,
    /// Chart name in that repository.
    pub chart: String,
    /// Pinned chart version. Ranges are refused: a pin is a pin.
    pub version: String,
    /// Chart version per stage, for lessons that teach an upgrade.
    #[serde(default)]
    pub stage_versions: std::collections::BTreeMap<StageName, String>,
    /// Namespace the release goes to.
    pub namespace: String,
    /// Values template (YAML), relative to the lesson folder; rendered with the environment.
    #[serde(default)]
    pub values: Option<Spanned<String>>,
    /// Keep the values in git and hand them to Argo CD through a multi-source `ref`
    /// instead of inline (for values files too large to read inline).
    #[serde(default)]
    pub values_from_git: bool,
    /// First stage that deploys the chart.
    #[serde(default)]
    pub since: Option<Spanned<StageName>>,
    /// Last stage that deploys the chart.
    #[serde(default)]
    pub until: Option<Spanned<StageName>>,
    /// Sync settings of the chart's Application.
    #[serde(default)]
    pub sync: SyncSettings,
    /// What the chart creates, for the lesson's AppProject.
    pub creates: ChartKinds,
    /// The course's localhost ports the chart's Services serve. Its values template pins
    /// each to `node_port(port)`, which render checks in environments without LoadBalancers.
    #[serde(default)]
    pub ports: Vec<u16>,
}

/// The kinds of object a chart creates, as found in its templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartKinds {
    /// Where the list comes from (the chart archive and how it was read), for the reviewer
    /// who updates the pin.
    pub source: String,
    /// Each kind: `group/Kind`, or a built-in `Kind` alone. Cluster-scoped ones must also be
    /// in the lesson's `cluster_kinds`.
    pub kinds: Vec<String>,
    /// Kinds the chart's templates hold that its values here turn off, written as in
    /// `kinds`: the claim a reviewer relies on, and `tests/e2e_helm.rs` checks that real
    /// Helm renders none of them.
    #[serde(default)]
    pub turned_off: Vec<String>,
    /// The custom kinds the chart's CRDs define, each `group/Kind`: `validate --server`
    /// reports an object of one of them as waiting for this chart while the cluster does
    /// not serve its kind yet (before the chart's first sync), instead of as a kind nobody
    /// brings.
    #[serde(default)]
    pub crds: Vec<String>,
}

/// Argo CD sync settings of one Application, each with the reason it is there.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Use server-side apply; required when a CRD is over the 262,144-byte
    /// `last-applied-configuration` annotation limit.
    #[serde(default)]
    pub server_side_apply: Option<Reasoned>,
    /// Fields that other controllers own (HPA replicas, webhook CA bundles).
    #[serde(default)]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// Extra sync options (e.g. `SkipDryRunOnMissingResource=true`), each with a reason.
    #[serde(default)]
    pub options: Vec<SyncOption>,
}

/// A setting that must say why it exists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reasoned {
    /// Why.
    pub why: String,
}

/// One `ignoreDifferences` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreDifference {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Object name; all objects of the kind when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Object namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// JSON pointers to ignore.
    #[serde(default, rename = "jsonPointers")]
    pub json_pointers: Vec<String>,
    /// jq path expressions to ignore.
    #[serde(default, rename = "jqPathExpressions")]
    pub jq_path_expressions: Vec<String>,
    /// Why another controller owns these fields.
    pub why: String,
}

/// One extra Argo CD sync option.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOption {
    /// The option, as Argo CD spells it (`Key=value`).
    pub option: String,
    /// Why.
    pub why: String,
}

/// A Secret created in the cluster by `gitgen bootstrap`, never committed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSecret {
    /// The Secret's name.
    pub name: String,
    /// Its namespace (one the lesson owns).
    pub namespace: String,
    /// Keys whose values are fixed and not secret (e.g. a user name).
    #[serde(default)]
    pub literal: std::collections::BTreeMap<String, String>,
    /// Keys that get a fresh random value when the Secret is first created.
    #[serde(default)]
    pub random: Vec<String>,
}
