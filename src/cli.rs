//! Command-line arguments (clap derive). Parsing only: `cmd/` does the work.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;
use gitgen::usecase::complete::{self as complete_names, Names, Typed};

use crate::complete;

/// Turn a Kubernetes course into a GitOps repository that Argo CD converges.
///
/// Exit codes: 0 success, 1 a check found a difference (`render --check`, `diff`) or a
/// problem (`validate`, `validate --server`), 2 an error.
///
/// A repo from someone else is safe to run gitgen on: it refuses symbolic links, FIFOs
/// and devices where it reads or writes, bounds every input, never finishes a change it
/// did not journal itself, and `render --check` trusts nothing but the catalog.
///
/// TAB completion of lesson, stage and environment names: add `source <(COMPLETE=bash
/// gitgen)` to `~/.bashrc` (other shells: `gitgen completions --help`).
#[derive(Debug, Parser)]
#[command(name = "gitgen", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The completer of an argument that takes names of the catalog.
fn names(what: Names) -> ArgValueCandidates {
    ArgValueCandidates::new(move || complete::offer(complete_names::names(what, &typed_so_far())))
}

/// The completer of `--env`.
fn environments() -> ArgValueCandidates {
    ArgValueCandidates::new(|| complete::offer(complete_names::environments(typed_so_far().repo.as_deref())))
}

/// The repo, environment and lesson of the words a completion request has typed so far.
fn typed_so_far() -> Typed {
    complete::typed(Cli::command(), std::env::args_os())
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The GitOps repo (default: the closest folder upwards holding `gitgen.yaml`).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The environment. Commands that act on one (enable, disable, lesson, status,
    /// bootstrap, validate, classroom) default to `$GITGEN_ENV`, else docker-desktop; render, diff and
    /// publish cover every environment unless this flag names one.
    #[arg(long, global = true, value_name = "ENV", add = environments())]
    pub env: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a GitOps repo from the course built into gitgen, rendered and committed.
    Init(InitArgs),
    /// Render `catalog/` into `generated/`, `overlays/<env>/` and `argocd/<env>/`.
    Render(RenderArgs),
    /// List the lessons: stages, charts, requires, conflicts, and what is enabled.
    List(ListArgs),
    /// Print a lesson's walkthrough for the environment.
    Lesson(LessonArgs),
    /// Enable a lesson (and what it requires) in the toggle file, then render.
    Enable(EnableArgs),
    /// Disable a lesson in the toggle file, then render.
    Disable(DisableArgs),
    /// Show what render would change, as a unified diff (exit 1 when there is any).
    /// Every lesson is rendered: the diff does not trust `gitgen.lock`.
    Diff(DiffArgs),
    /// Commit the toggle file and the rendered tree on a branch, push it, print the PR URL.
    Publish(PublishArgs),
    /// Install Argo CD into the cluster at the pinned version and point it at the repo.
    Bootstrap(BootstrapArgs),
    /// One row per lesson: enabled stage, rendered tree fresh, Argo CD sync and health.
    Status(StatusArgs),
    /// Register, remove and list the learner clusters of a classroom environment (one
    /// whose `gitgen.yaml` entry has `clusters:`) with the management cluster's Argo CD.
    Classroom(ClassroomArgs),
    /// Check every rendered object: offline against Kubernetes types and CRD schemas, or
    /// with `--server` as a server-side dry run.
    Validate(ValidateArgs),
    /// Show the course and the live state in a browser: a local, read-only web page of
    /// every lesson, its walkthrough for the environment, and each enabled lesson's (or
    /// each learner's) Argo CD sync and health, updated live. It changes nothing.
    Serve(ServeArgs),
    /// Print the shell's completion registration, which completes lesson, stage and
    /// environment names from the repo at each TAB.
    ///
    /// Set it up with one line in the shell's startup file, run again on each start so it
    /// always matches the installed gitgen: bash `source <(COMPLETE=bash gitgen)`, zsh
    /// `source <(COMPLETE=zsh gitgen)`, fish `COMPLETE=fish gitgen | source`.
    /// `gitgen completions SHELL` prints the same registration.
    Completions(CompletionsArgs),
}

/// How to reach the cluster, as kubectl does (`KUBECONFIG` is read too).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The repo URL the root Application follows; must be `repo_url` in gitgen.yaml, which
    /// the committed Applications and AppProjects name (bootstrap refuses another).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
    /// The revision the root Application follows (default: `target_revision`).
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Install Argo CD from this manifest instead of downloading the pinned release
    /// (for offline and air-gapped clusters).
    #[arg(long, value_name = "FILE")]
    pub argocd_manifest: Option<PathBuf>,
    /// Install the pinned Argo CD even when a newer release runs in the cluster.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// User name for a private repo; the password or token comes from
    /// `GITGEN_REPO_PASSWORD` (or `GITGEN_GIT_TOKEN`) and goes only into the cluster.
    #[arg(long, value_name = "USER")]
    pub repo_username: Option<String>,
    /// Watch the lessons converge; exit 0 when all are Synced and Healthy.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` (and waiting for CRDs) may take, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub timeout: u64,
    /// Output format (`json`: every object applied and what happened to it, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Keep watching and print the table again when something changes.
    #[arg(long)]
    pub watch: bool,
}

/// A classroom's learner clusters. `--kubeconfig` and `--context` name the management
/// cluster, where Argo CD runs (as for `bootstrap`); the learner's cluster is named by
/// `--learner-kubeconfig` and `--learner-context`.
#[derive(Debug, Args)]
pub struct ClassroomArgs {
    #[command(subcommand)]
    pub command: ClassroomCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClassroomCommand {
    /// Register a learner's cluster: an Argo CD cluster Secret on the management cluster,
    /// built from the learner's kubeconfig. Its credentials go into that Secret only.
    /// Run it again to change the Secret's labels: they become exactly those given.
    ///
    /// `--kubeconfig` and `--context` name the management cluster, where Argo CD runs;
    /// `--learner-kubeconfig` and `--learner-context` the learner's.
    Add(ClassroomAddArgs),
    /// Unregister a learner's cluster (delete its cluster Secret).
    ///
    /// `--kubeconfig` and `--context` name the management cluster, where Argo CD runs.
    Remove(ClassroomRemoveArgs),
    /// List the registered learners: name, server, labels and stage holds (never
    /// credentials).
    ///
    /// `--kubeconfig` and `--context` name the management cluster, where Argo CD runs.
    List(ClassroomListArgs),
    /// Hold a registered learner at a stage of a lesson, whatever the toggle file says:
    /// sets only that label of the learner's cluster Secret (no learner kubeconfig needed).
    ///
    /// `--kubeconfig` and `--context` name the management cluster, where Argo CD runs.
    Hold(ClassroomHoldArgs),
    /// Release a learner's stage hold of a lesson: the learner follows the toggle file again.
    ///
    /// `--kubeconfig` and `--context` name the management cluster, where Argo CD runs.
    Release(ClassroomReleaseArgs),
}

#[derive(Debug, Args)]
pub struct ClassroomAddArgs {
    /// The learner's name, a DNS label (`alice`, `team-2`).
    pub name: String,
    /// The learner cluster's kubeconfig, whose user Argo CD will act as (a token, a
    /// client certificate or a password; `exec` plugins are refused). Not the
    /// management cluster's: that is `--kubeconfig`.
    #[arg(long, value_name = "FILE")]
    pub learner_kubeconfig: PathBuf,
    /// The context of `--learner-kubeconfig` (default: its current one).
    #[arg(long, value_name = "NAME")]
    pub learner_context: Option<String>,
    /// The API server URL Argo CD reaches the learner's cluster at (default: the
    /// `server` of the learner's kubeconfig).
    #[arg(long, value_name = "URL")]
    pub learner_server: Option<String>,
    /// A label for the cluster Secret, `KEY=VALUE`; repeat for more.
    /// `stage.gitgen.io/LESSON=STAGE` holds the learner at that stage of that lesson.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ClassroomRemoveArgs {
    /// The learner's name.
    pub name: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ClassroomHoldArgs {
    /// The learner's name.
    pub name: String,
    /// The lesson.
    #[arg(add = names(Names::EnabledLessons))]
    pub lesson: String,
    /// The stage of the lesson to hold the learner at.
    #[arg(add = names(Names::Stages))]
    pub stage: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ClassroomReleaseArgs {
    /// The learner's name.
    pub name: String,
    /// The lesson.
    #[arg(add = names(Names::EnabledLessons))]
    pub lesson: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ClassroomListArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Ask the API server: a server-side dry-run apply of every enabled lesson's objects.
    #[arg(long)]
    pub server: bool,
    /// Folder of CRD manifests to check custom resources against (with `--server`: those
    /// whose kind the cluster does not serve yet).
    #[arg(long, value_name = "DIR")]
    pub crds: Option<PathBuf>,
    /// Output format (`json`: every problem and every object not fully checked, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Branch to commit on (created, or reused).
    #[arg(long)]
    pub branch: String,
    /// Remote to push the branch to (e.g. `origin`). Credentials: ssh-agent for SSH;
    /// for HTTPS the git credential helper or a token in `GITGEN_GIT_TOKEN`.
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    /// Commit message (default: says which lessons and stages changed).
    #[arg(long, short)]
    pub message: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create (must be empty or missing).
    pub dir: PathBuf,
    /// The URL Argo CD will clone the repo from (default: a placeholder to edit in
    /// `gitgen.yaml`; `render` warns while it is there).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write nothing; exit 1 and list the files that differ from what render would write.
    /// This is the CI gate: it renders every lesson and compares every file, trusting
    /// nothing a pull request can forge (not `gitgen.lock`, not file times).
    #[arg(long)]
    pub check: bool,
    /// With `--check`: trust `gitgen.lock` for the lessons whose inputs did not change,
    /// and only hash their files against it. Faster, but a pull request that edits a
    /// rendered file and its hash in the lock passes: not for CI on untrusted changes.
    #[arg(long, requires = "check")]
    pub trust_lock: bool,
    /// Overwrite files edited by hand and remove unknown files in gitgen's folders
    /// (renders every lesson, as `--full` does).
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Render every lesson, instead of trusting `gitgen.lock` for the lessons whose
    /// inputs did not change and whose files are no newer than it. `--check` always
    /// does; there the flag is accepted and changes nothing.
    #[arg(long, conflicts_with = "trust_lock")]
    pub full: bool,
    /// Output format (`json`: the files that differ or were written, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Output format (`json`: each changed file with its unified diff, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free one). Loopback only, unless `--expose`.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Allow a non-loopback `--listen` address: anyone who reaches it reads the course,
    /// the learners' names, and the Applications' state and messages (never a credential).
    #[arg(long)]
    pub expose: bool,
    /// The URL of Argo CD's UI, which each lesson and cell links to.
    #[arg(long, value_name = "URL", default_value = gitgen::serve::DEFAULT_ARGOCD_URL)]
    pub argocd_url: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct LessonArgs {
    /// The lesson.
    #[arg(add = names(Names::Lessons))]
    pub lesson: String,
    /// The stage to describe (default: the enabled stage, else the last one).
    #[arg(long, add = names(Names::Stages))]
    pub stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The lesson.
    #[arg(add = names(Names::LessonsToEnable))]
    pub lesson: String,
    /// The stage to run (default: the lesson's last stage).
    #[arg(long, add = names(Names::Stages))]
    pub stage: Option<String>,
    /// Overwrite files edited by hand in gitgen's folders.
    #[arg(long)]
    pub force: bool,
    /// Output format (`json`: the lessons enabled, moved and disabled, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The lesson.
    #[arg(add = names(Names::EnabledLessons))]
    pub lesson: String,
    /// Also disable the enabled lessons that require it.
    #[arg(long)]
    pub cascade: bool,
    /// Overwrite files edited by hand in gitgen's folders.
    #[arg(long)]
    pub force: bool,
    /// Output format (`json`: the lessons enabled, moved and disabled, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}
