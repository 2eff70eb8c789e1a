//! One module per subcommand; each loads what it needs, makes one library call and hands
//! the outcome to [`crate::printer`]. Data goes to stdout, messages to stderr.

mod bootstrap;
mod classroom;
mod completions;
mod diff;
mod init;
mod lesson;
mod list;
mod publish;
mod render;
mod serve;
mod status;
mod toggle;
mod validate;

use gitgen::settings::Settings;
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{Cli, ClusterArgs, Command, GlobalArgs};

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<Outcome, gitgen::Error> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Render(args) => render::run(&cli.global, &args),
        Command::List(args) => list::run(&cli.global, &args),
        Command::Lesson(args) => lesson::run(&cli.global, &args),
        Command::Enable(args) => toggle::enable(&cli.global, &args),
        Command::Disable(args) => toggle::disable(&cli.global, &args),
        Command::Diff(args) => diff::run(&cli.global, &args),
        Command::Publish(args) => publish::run(&cli.global, &args),
        Command::Bootstrap(args) => bootstrap::run(&cli.global, &args),
        Command::Status(args) => status::run(&cli.global, &args),
        Command::Validate(args) => validate::run(&cli.global, &args),
        Command::Classroom(args) => classroom::run(&cli.global, &args),
        Command::Serve(args) => serve::run(&cli.global, &args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// What one look at the cluster shows: data for stdout, messages for stderr.
#[derive(PartialEq, Eq)]
struct View {
    stdout: String,
    stderr: String,
}

/// Shows `look()`'s view once, or with `watch` every 5 seconds until interrupted, printing
/// a view only when it differs from the last one shown (a blank line between two), so a
/// class that stands still does not scroll the same table past.
fn show_until_stopped(
    watch: bool,
    mut look: impl FnMut() -> Result<View, gitgen::Error>,
) -> Result<Outcome, gitgen::Error> {
    let mut shown: Option<View> = None;
    loop {
        let view = look()?;
        if shown.as_ref() != Some(&view) {
            if shown.is_some() {
                println!();
            }
            print!("{}", view.stdout);
            eprint!("{}", view.stderr);
            shown = Some(view);
        }
        if !watch {
            return Ok(Outcome::Success);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}

/// Resolves the settings the global flags name (the environment: `--env`, else
/// `$GITGEN_ENV`, else the default).
fn settings(global: &GlobalArgs) -> Result<Settings, gitgen::Error> {
    Ok(Settings::resolve(global.repo.as_deref(), global.env.as_deref())?)
}

/// The environments of a command that covers them all (`render`, `render --check`, `diff`,
/// `publish`): the one `--env` names, else every one `gitgen.yaml` defines. `$GITGEN_ENV`
/// does not narrow them, so a shell that set it for `enable` never leaves the other
/// environments stale.
fn every_settings(global: &GlobalArgs) -> Result<Vec<Settings>, gitgen::Error> {
    Ok(match &global.env {
        Some(env) => vec![Settings::resolve(global.repo.as_deref(), Some(env))?],
        None => Settings::every_environment(global.repo.as_deref())?,
    })
}

/// Resolves the settings and opens the workspace the global flags name.
fn open(global: &GlobalArgs) -> Result<Workspace, gitgen::Error> {
    Workspace::open(settings(global)?)
}

/// Opens the workspace the global flags name to read it only (`list`, `lesson`, `status`,
/// `validate`, `serve`): no lock taken, nothing recovered or written.
fn open_read_only(global: &GlobalArgs) -> Result<Workspace, gitgen::Error> {
    Workspace::open_read_only(settings(global)?)
}

/// The runtime the commands that talk to a cluster run their requests on.
fn runtime() -> Result<tokio::runtime::Runtime, gitgen::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| gitgen::Error::Io {
            what: "start the runtime for cluster requests",
            source,
        })
}

/// A client for the cluster `--kubeconfig` (else `$KUBECONFIG`) and `--context` name.
async fn connect(args: &ClusterArgs, settings: &Settings) -> Result<kube::Client, gitgen::Error> {
    let kubeconfig = settings.kubeconfig(args.kubeconfig.as_deref());
    Ok(gitgen::cluster::connect(kubeconfig.as_deref(), args.context.as_deref()).await?)
}
