//! What can be wrong with the catalog: a file that cannot be read, and every rule of a
//! lesson or of the catalog as a whole as a variant of its own, so callers and tests
//! match on the rule, and [`CatalogError::hint`], an exhaustive `match`, gives each one
//! its advice (a new rule without a hint does not compile).

use std::fmt;
use std::path::{Path, PathBuf};

use gitgen_base::names::{LessonId, NameError, StageName};
use gitgen_yaml::{YamlError, YamlErrorKind};

/// Where in a `lesson.yaml` a rule is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The `lesson.yaml`.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The field, as a path (`stages[2].name`).
    pub field: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match (self.line, self.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        write!(f, "`{}{at}`: {}", self.path.display(), self.field)
    }
}

/// Who an Argo CD project name belongs to, when a lesson may not declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectOwner {
    /// The name is not a valid project name.
    Nobody,
    /// `default` and `gitgen*` are gitgen's own projects.
    Gitgen,
    /// A lesson of that name, or the lesson that declared the project first.
    Lesson(LessonId),
}

impl fmt::Display for ProjectOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectOwner::Nobody => f.write_str("nobody: it is not a valid name"),
            ProjectOwner::Gitgen => f.write_str("gitgen"),
            ProjectOwner::Lesson(lesson) => write!(f, "lesson `{lesson}`"),
        }
    }
}

/// A catalog that could not be read or is not consistent.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file or folder could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A catalog file is not UTF-8 text.
    #[error(
        "`{}:{line}:{column}` is not UTF-8 text: the first invalid byte is here",
        shown(path)
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in bytes) of the first invalid byte.
        column: usize,
    },
    /// A file name is not UTF-8.
    #[error("`{}` has a name that is not UTF-8", shown(path))]
    NotUtf8Name {
        /// The entry.
        path: PathBuf,
    },
    /// A symlink, which could lead outside the catalog.
    #[error("`{}` is a symbolic link{}; the catalog holds only plain files and folders", shown(path), target.as_ref().map(|t| format!(" to `{}`", shown(t))).unwrap_or_default())]
    Symlink {
        /// The link.
        path: PathBuf,
        /// Where it points, when that can be read.
        target: Option<PathBuf>,
    },
    /// A file over the size limit.
    #[error("`{}` is {bytes} bytes, over the 4 MiB limit for a catalog file", shown(path))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// A lesson folder whose name is not a valid lesson id.
    #[error("`{}`: the folder name is not a lesson id", shown(path))]
    FolderName {
        /// The folder.
        path: PathBuf,
        /// What is wrong with the name.
        #[source]
        source: NameError,
    },
    /// A lesson folder without `lesson.yaml`.
    #[error("`{}` is missing", path.display())]
    MissingLessonFile {
        /// Where it should be.
        path: PathBuf,
    },
    /// A `lesson.yaml` that does not parse into the lesson format.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// An entry of the catalog gitgen will not open: a FIFO, a socket, a device.
    #[error(transparent)]
    File(#[from] gitgen_base::untrusted::FileError),

    // The rules of one lesson (`check.rs`), in the order they are checked.
    /// `name:` is not the lesson's folder.
    #[error("{at}: `{name}` does not match its folder `{folder}`")]
    NameNotFolder {
        /// Where.
        at: Place,
        /// The name in `lesson.yaml`.
        name: LessonId,
        /// The folder's name.
        folder: LessonId,
    },
    /// A lesson named like one of gitgen's own Argo CD objects.
    #[error("{at}: `{name}` is reserved for gitgen's own Argo CD objects")]
    ReservedName {
        /// Where.
        at: Place,
        /// The lesson's name.
        name: LessonId,
    },
    /// A lesson without stages.
    #[error("{at}: a lesson needs at least one stage")]
    NoStages {
        /// Where.
        at: Place,
    },
    /// Two stages of one name.
    #[error("{at}: stage `{stage}` is listed twice")]
    StageTwice {
        /// Where (the second).
        at: Place,
        /// The name.
        stage: StageName,
    },
    /// `since`, `until` or a chart's `stage_versions` names a stage the lesson lacks.
    #[error("{at}: there is no stage `{stage}`")]
    UnknownStage {
        /// Where.
        at: Place,
        /// The stage named.
        stage: StageName,
        /// The lesson's stages, for the hint.
        stages: Vec<StageName>,
    },
    /// `until` names a stage before `since`.
    #[error("{at}: stage `{until}` comes before `{since}`")]
    StagesOutOfOrder {
        /// Where (`until`).
        at: Place,
        /// The first stage.
        since: StageName,
        /// The last stage.
        until: StageName,
    },
    /// A path in `lesson.yaml` that could lead out of the lesson folder.
    #[error("{at}: `{}` cannot be a file of the lesson: {problem}", path.escape_debug())]
    NotALessonPath {
        /// Where.
        at: Place,
        /// The path written.
        path: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A manifest whose template is not a file of the lesson.
    #[error("{at}: there is no template `{}` in `{}`", file.escape_debug(), dir.display())]
    NoTemplate {
        /// Where.
        at: Place,
        /// The template named.
        file: String,
        /// The lesson folder.
        dir: PathBuf,
    },
    /// A manifest of a Kustomize tree at the top of the stage.
    #[error("{at}: `{file}` is part of a Kustomize tree but is not in a folder of it")]
    KustomizeTreeOutsideFolder {
        /// Where.
        at: Place,
        /// The template.
        file: String,
    },
    /// A manifest whose output kustomize would read as the stage's kustomization file.
    #[error(
        "{at}: the output name `{output}` is taken: kustomize would read it as the stage's kustomization file, beside the `kustomization.yaml` gitgen writes"
    )]
    KustomizationOutput {
        /// Where.
        at: Place,
        /// The output name.
        output: String,
    },
    /// A manifest that is not a `.yaml` file.
    #[error("{at}: `{file}` is not a `.yaml` file")]
    NotYamlFile {
        /// Where.
        at: Place,
        /// The template.
        file: String,
    },
    /// A manifest whose output name is gitgen's or another template's.
    #[error("{at}: the output name `{output}` is taken")]
    OutputTaken {
        /// Where.
        at: Place,
        /// The output name.
        output: String,
    },
    /// A chart release name that is not a name, or is another chart's.
    #[error("{at}: `{name}` is not a unique release name (lower-case letters, digits, `-`)")]
    ReleaseName {
        /// Where.
        at: Place,
        /// The release name.
        name: String,
    },
    /// A chart version that is a range or a tag.
    #[error("{at}: `{version}` is not an exact version")]
    VersionNotExact {
        /// Where.
        at: Place,
        /// The version.
        version: String,
    },
    /// An `application_crds` schema that is not a file of the lesson.
    #[error("{at}: there is no CRD manifest `{}` in `{}`", file.escape_debug(), dir.display())]
    NoCrdSchemaFile {
        /// Where.
        at: Place,
        /// The file named.
        file: String,
        /// The lesson folder.
        dir: PathBuf,
    },
    /// A chart whose values file is not a file of the lesson.
    #[error("{at}: there is no values file `{}` in `{}`", file.escape_debug(), dir.display())]
    NoValuesFile {
        /// Where.
        at: Place,
        /// The values file named.
        file: String,
        /// The lesson folder.
        dir: PathBuf,
    },
    /// A `cluster_kinds` entry that is neither a built-in cluster kind nor `group/Kind`.
    #[error("{at}: `{kind}` is not a built-in cluster-scoped kind")]
    ClusterKindUnknown {
        /// Where.
        at: Place,
        /// The kind.
        kind: String,
    },
    /// A chart that does not say which kinds it creates.
    #[error("{at}: chart `{chart}` does not say which kinds it creates, and from where")]
    ChartKindsUnsaid {
        /// Where.
        at: Place,
        /// The chart's release name.
        chart: String,
    },
    /// A chart kind that is neither built in nor `group/Kind`.
    #[error("{at}: `{kind}` is not a built-in kind")]
    ChartKindUnknown {
        /// Where.
        at: Place,
        /// The kind.
        kind: String,
    },
    /// A chart that creates a cluster-scoped kind the lesson does not declare.
    #[error("{at}: chart `{chart}` creates the cluster-scoped kind `{kind}`, which `cluster_kinds` does not list")]
    ChartClusterKindUndeclared {
        /// Where.
        at: Place,
        /// The chart's release name.
        chart: String,
        /// The kind.
        kind: String,
    },
    /// A `creates.crds` entry that is not `group/Kind`.
    #[error("{at}: `{kind}` is not a custom kind written as `group/Kind`")]
    CrdNotCustomKind {
        /// Where.
        at: Place,
        /// The entry.
        kind: String,
    },
    /// A `creates.crds` entry of a chart that creates no CustomResourceDefinition.
    #[error("{at}: chart `{chart}` lists `{kind}` under `crds` but no `CustomResourceDefinition` under `kinds`")]
    CrdWithoutDefinition {
        /// Where.
        at: Place,
        /// The chart's release name.
        chart: String,
        /// The entry.
        kind: String,
    },
    /// A `creates.turned_off` entry that is neither built in nor `group/Kind`.
    #[error("{at}: `{kind}` is not a built-in kind")]
    TurnedOffUnknown {
        /// Where.
        at: Place,
        /// The kind.
        kind: String,
    },
    /// A kind both created and turned off.
    #[error("{at}: chart `{chart}` lists `{kind}` both in `kinds` and in `turned_off`")]
    TurnedOffCreated {
        /// Where.
        at: Place,
        /// The chart's release name.
        chart: String,
        /// The kind.
        kind: String,
    },
    /// `argocd_objects` without a reason, a project or exact repository URLs.
    #[error("{at}: Argo CD objects need a reason, at least one project, and exact repository URLs")]
    ArgocdObjectsIncomplete {
        /// Where.
        at: Place,
    },
    /// A privileged namespace without a reason.
    #[error("{at}: namespace `{namespace}` is privileged without a reason")]
    PrivilegedWithoutReason {
        /// Where.
        at: Place,
        /// The namespace.
        namespace: String,
    },
    /// A link title Argo CD cannot show, or that names no annotation.
    #[error("{at}: `{}` cannot be a link's title", title.escape_debug())]
    LinkTitle {
        /// Where.
        at: Place,
        /// The title.
        title: String,
    },
    /// Two links whose titles name one annotation.
    #[error("{at}: another link of the lesson is also named `{name}`")]
    LinkTitleTwice {
        /// Where (the second).
        at: Place,
        /// The name both titles give.
        name: String,
    },
    /// A link object that is not `Kind/name`.
    #[error("{at}: `{}` is not `Kind/name`", object.escape_debug())]
    LinkObject {
        /// Where.
        at: Place,
        /// The object written.
        object: String,
    },
    /// A link path that is not a URL path.
    #[error("{at}: `{}` is not a URL path", path.escape_debug())]
    LinkPath {
        /// Where.
        at: Place,
        /// The path written.
        path: String,
    },
    /// A walkthrough path that could lead out of the lesson folder.
    #[error("{at}: `{}` cannot be a file of the lesson: {problem}", path.escape_debug())]
    WalkthroughPath {
        /// Where.
        at: Place,
        /// The path written.
        path: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A walkthrough that is not a file of the lesson.
    #[error("{at}: there is no walkthrough `{}` in `{}`", file.escape_debug(), dir.display())]
    NoWalkthrough {
        /// Where.
        at: Place,
        /// The walkthrough named.
        file: String,
        /// The lesson folder.
        dir: PathBuf,
    },

    // The rules across lessons (`graph.rs`).
    /// `requires` or `conflicts` names a lesson that does not exist.
    #[error("{at}: no lesson is called `{lesson}`")]
    UnknownLesson {
        /// Where.
        at: Place,
        /// The lesson named.
        lesson: LessonId,
        /// The existing lesson closest in spelling.
        closest: Option<LessonId>,
    },
    /// Lessons that require each other.
    #[error(
        "{at}: lessons require each other in a cycle: {}",
        cycle.iter().map(LessonId::as_str).collect::<Vec<_>>().join(" → ")
    )]
    RequiresCycle {
        /// Where (the first lesson's `requires`).
        at: Place,
        /// The lessons, the first repeated at the end.
        cycle: Vec<LessonId>,
    },
    /// An Argo CD project name the lesson may not declare.
    #[error("{at}: the Argo CD project name `{project}` belongs to {owner}")]
    ProjectTaken {
        /// Where.
        at: Place,
        /// The project.
        project: String,
        /// Whose it is.
        owner: ProjectOwner,
    },
    /// A namespace of Argo CD, gitgen or Kubernetes used by a lesson.
    #[error("{at}: namespace `{namespace}` belongs to {owner}: a lesson cannot create it or put objects in it")]
    ReservedNamespace {
        /// Where.
        at: Place,
        /// The namespace.
        namespace: String,
        /// Whose it is (`Argo CD`, `Kubernetes`, `gitgen`).
        owner: &'static str,
    },
    /// A namespace of a lesson this one does not require.
    #[error("{at}: namespace `{namespace}` belongs to lesson `{owner}`, which this lesson does not require")]
    NamespaceNotRequired {
        /// Where.
        at: Place,
        /// The namespace.
        namespace: String,
        /// The lesson that creates it.
        owner: LessonId,
    },
    /// A namespace no lesson creates.
    #[error("{at}: no lesson creates namespace `{namespace}`")]
    NamespaceUncreated {
        /// Where.
        at: Place,
        /// The namespace.
        namespace: String,
    },
    /// A namespace two lessons create.
    #[error("{at}: namespace `{namespace}` is already created by lesson `{other}`")]
    NamespaceTaken {
        /// Where (the second lesson's).
        at: Place,
        /// The namespace.
        namespace: String,
        /// The lesson that creates it first.
        other: LessonId,
    },
    /// A `system_namespaces` entry that is not Kubernetes' own, or has no reason.
    #[error("{at}: `{name}` is not a Kubernetes namespace a chart may be given, with a reason")]
    SystemNamespace {
        /// Where.
        at: Place,
        /// The namespace.
        name: String,
    },
}

/// A path for a message, with control characters (from hostile file names) escaped.
fn shown(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl CatalogError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        CatalogError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        use CatalogError as E;
        let hint = |h: &str| Some(h.to_owned());
        let custom_kind = "write a custom kind with its API group, e.g.";
        match self {
            E::Yaml(err) if err.kind == YamlErrorKind::Field => Some(
                err.hint
                    .clone()
                    .unwrap_or_else(|| "the fields a lesson may have are listed in `catalog/README.md`".to_owned()),
            ),
            E::Yaml(err) => err.hint.clone(),
            E::Symlink { .. } => hint("copy the file into the lesson folder instead of linking it"),
            E::NotUtf8 { .. } => hint("save the file as UTF-8 text"),
            E::NotUtf8Name { .. } => hint("rename it: catalog names are UTF-8, best lower-case ASCII"),
            E::TooLarge { .. } => hint("no template needs this much; split it, or keep large data out of the catalog"),
            E::FolderName { .. } => hint("rename the folder: lower-case letters, digits and `-`"),
            E::MissingLessonFile { .. } => hint("every folder under `catalog/` is a lesson and needs a `lesson.yaml`"),
            E::File(err) => err.hint(),
            E::Io { source, .. } => gitgen_base::untrusted::io_hint(source),
            E::NameNotFolder { folder, .. } => Some(format!("set `name: {folder}` or rename the folder")),
            E::ReservedName { .. } => hint("choose another name for the lesson and its folder"),
            E::NoStages { .. } | E::StageTwice { .. } | E::StagesOutOfOrder { .. } | E::NotYamlFile { .. } => None,
            E::ReleaseName { .. } => None,
            E::UnknownStage { stages, .. } => Some(format!(
                "this lesson's stages are: {}",
                stages.iter().map(StageName::as_str).collect::<Vec<_>>().join(", ")
            )),
            E::NotALessonPath { .. } => {
                hint("write the path relative to the lesson folder, e.g. `pod.yaml` or `values/keda.yaml`")
            }
            E::NoTemplate { .. } => hint("paths are relative to the lesson folder and cannot leave it"),
            E::KustomizeTreeOutsideFolder { .. } => hint(
                "put the tree's files in folders (`base/`, `dev/`, ...); the stage's own `kustomization.yaml` lists the `entry` folders",
            ),
            E::KustomizationOutput { .. } => hint(
                "rename the template; `kustomization.yaml`, `kustomization.yml` and `Kustomization` at the top of a stage are gitgen's (a Kustomize tree the lesson ships keeps its own in its folders, marked `kustomize:`)",
            ),
            E::OutputTaken { .. } => {
                hint("`gitgen-*` and names already used by another template of this lesson are reserved")
            }
            E::VersionNotExact { .. } => hint("pin charts to one version, e.g. `65.8.1`; ranges make renders drift"),
            E::NoValuesFile { .. } => hint("the path is relative to the lesson folder, e.g. `values/keda.yaml`"),
            E::NoCrdSchemaFile { .. } => {
                hint("the path is relative to the lesson folder, e.g. `crds/rollout-crd.yaml`")
            }
            E::ClusterKindUnknown { .. } => Some(format!(
                "{custom_kind} `templates.gatekeeper.sh/ConstraintTemplate`; Argo CD matches kinds by group"
            )),
            E::ChartKindsUnsaid { .. } => hint(
                "list the kinds in the chart's templates under `creates.kinds`, and how you read them under `creates.source`",
            ),
            E::ChartKindUnknown { .. } => Some(format!("{custom_kind} `monitoring.coreos.com/ServiceMonitor`")),
            E::ChartClusterKindUndeclared { .. } => {
                hint("add it to `cluster_kinds`, or turn that part of the chart off in its values")
            }
            E::CrdNotCustomKind { .. } | E::CrdWithoutDefinition { .. } => hint(
                "list under `crds` the kind each of the chart's CustomResourceDefinitions defines, e.g. `keda.sh/ScaledObject`",
            ),
            E::TurnedOffUnknown { .. } | E::TurnedOffCreated { .. } => hint(
                "list under `turned_off` only kinds the chart's templates hold and these values turn off, custom ones as `group/Kind`",
            ),
            E::ArgocdObjectsIncomplete { .. } => hint(
                "say why the lesson deploys Applications, name its projects, and list each repository URL without wildcards",
            ),
            E::PrivilegedWithoutReason { .. } => hint("say why the lesson's pods need host access, or use `baseline`"),
            E::LinkTitle { .. } => hint(
                "use words with at least one letter or digit, and no `|` (Argo CD reads `|` as the end of the title)",
            ),
            E::LinkTitleTwice { .. } => hint("give each link a title of its own"),
            E::LinkObject { .. } => {
                hint("name the object of the lesson's manifests that serves the page, like `Service/probe-test-app`")
            }
            E::LinkPath { .. } => hint("start it with `/`, without spaces or `|`"),
            E::WalkthroughPath { .. } => hint("write the path relative to the lesson folder, e.g. `README.md.j2`"),
            E::NoWalkthrough { .. } => {
                hint("each lesson explains itself in `README.md.j2` (Markdown, a minijinja template)")
            }
            E::UnknownLesson { closest, .. } => Some(match closest {
                Some(near) => format!("did you mean `{near}`?"),
                None => "the lessons are the folders under `catalog/`".to_owned(),
            }),
            E::RequiresCycle { .. } => hint("remove one of these `requires` so the lessons can be ordered"),
            E::ProjectTaken { .. } => hint(
                "name the lesson's own projects after it, e.g. `<lesson>-examples` (lower-case letters, digits, `-`)",
            ),
            E::ReservedNamespace { .. } => hint(
                "use a namespace of the lesson's own; a chart that must write into `kube-system` is declared under `system_namespaces` with the reason",
            ),
            E::NamespaceNotRequired { owner, .. } => Some(format!(
                "add `{owner}` to `requires`, or use a namespace of the lesson's own"
            )),
            E::NamespaceUncreated { .. } => hint("list it under `namespaces` so the lesson owns it"),
            E::NamespaceTaken { other, .. } => Some(format!(
                "a lesson creates only namespaces of its own; to deploy beside `{other}`'s objects, add it to `requires` and list the namespace under `uses_namespaces`"
            )),
            E::SystemNamespace { .. } => {
                hint("only `kube-system`, `kube-public` and `kube-node-lease`, each with a non-empty `why`")
            }
        }
    }
}
