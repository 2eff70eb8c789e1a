//! One module per subcommand; each turns parsed arguments into library calls and
//! prints the result. Data goes to stdout, messages to stderr.

mod classroom;
mod cluster;
mod completions;
mod diff;
mod init;
mod lesson;
mod list;
mod publish;
mod render;
mod serve;
mod toggle;

use gitgen::settings::{ProcessEnv, Settings};
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{Cli, ClusterArgs, Command, GlobalArgs};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Render(args) => render::run(&cli.global, &args),
        Command::List(args) => list::run(&cli.global, &args),
        Command::Lesson(args) => lesson::run(&cli.global, &args),
        Command::Enable(args) => toggle::enable(&cli.global, &args),
        Command::Disable(args) => toggle::disable(&cli.global, &args),
        Command::Diff(args) => diff::run(&cli.global, &args),
        Command::Publish(args) => publish::run(&cli.global, &args),
        Command::Bootstrap(args) => cluster::bootstrap(&cli.global, &args),
        Command::Status(args) => cluster::status(&cli.global, &args),
        Command::Validate(args) => cluster::validate(&cli.global, &args),
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
fn show_until_stopped(watch: bool, mut look: impl FnMut() -> anyhow::Result<View>) -> anyhow::Result<Outcome> {
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

/// Warns on stderr while `repo_url` is still the placeholder `gitgen init` wrote: the
/// rendered Applications point at a repo that does not exist, which only bootstrap refuses.
fn warn_placeholder_repo_url(settings: &Settings) {
    if settings.config.repo_url == gitgen::scaffold::PLACEHOLDER_REPO_URL {
        eprintln!(
            "warning: `repo_url` in `{}` is still the placeholder `{}`; Argo CD cannot clone it.",
            gitgen::catalog::config::CONFIG_FILE,
            settings.config.repo_url
        );
        eprintln!(
            "hint: set it to the URL you push this repo to, then run `{}`",
            settings.command_for_every_environment("render")
        );
    }
}

/// Warns on stderr when `repo_url` is an SSH URL: Argo CD clones it only with a private
/// key, which gitgen never handles. Argo CD reads one from a repository Secret (label
/// `argocd.argoproj.io/secret-type: repository`, keys `url` and `sshPrivateKey`), as its
/// `docs/operator-manual/declarative-setup.md` ("Repositories") describes.
fn warn_ssh_repo_url(settings: &Settings) {
    if settings.config.repo_url_is_ssh() {
        eprintln!(
            "warning: `repo_url` `{}` is an SSH URL: Argo CD can clone it only with an SSH key, which gitgen does not give it.",
            settings.config.repo_url
        );
        eprintln!(
            "hint: create a Secret in namespace `{}` labelled `argocd.argoproj.io/secret-type: repository` with `url: {}` and `sshPrivateKey` (a deploy key; see Argo CD's declarative setup, \"Repositories\"), or set `repo_url` to the repo's HTTPS URL (`GITGEN_REPO_PASSWORD` at `bootstrap` for a private one)",
            settings.config.argocd.namespace, settings.config.repo_url
        );
    }
}

/// Warns of an untested Argo CD release, and of a pin that moved more than one minor
/// version (or back) since the committed install of `environments`, before a command
/// rewrites it (`render`, `enable`, `disable`). A failure to read the committed install is
/// the render's to report, so it only leaves the warning out.
fn warn_about_the_argocd_pin(settings: &Settings, environments: &[gitgen::names::EnvName]) {
    use gitgen::catalog::argocd_version::pin_warnings;
    let Ok(warnings) = pin_warnings(&settings.repo, environments, &settings.config.argocd.version) else {
        return;
    };
    for warning in warnings {
        print_pin_warning(&warning);
    }
}

/// Prints a warning about the Argo CD pin: the message, the upgrade notes to read (one
/// URL a line, indented), and the hint.
fn print_pin_warning(warning: &gitgen::catalog::argocd_version::PinWarning) {
    eprintln!("warning: {}", warning.message());
    for note in warning.notes() {
        eprintln!("  {note}");
    }
    eprintln!("hint: {}", warning.hint());
}

/// After a command rendered only `done`, says which other environments may be stale:
/// those whose last render, as the lock records it, read other inputs than they would now
/// (a changed `gitgen.yaml` or catalog). A note, so a failure to tell is not an error.
fn note_stale_elsewhere(settings: &Settings, done: &[String]) {
    let stale: Vec<String> = settings
        .every_environment_alike()
        .into_iter()
        .filter(|settings| !done.iter().any(|env| env == settings.env_name.as_str()))
        .filter_map(|settings| {
            let env = format!("`{}`", settings.env_name);
            let mut inputs = gitgen::workspace::Inputs::read(settings).ok()?;
            matches!(inputs.unchanged(), Ok(None)).then_some(env)
        })
        .collect();
    if !stale.is_empty() {
        eprintln!(
            "note: {} may be stale: {} not rendered by this command and {} last render read other inputs.",
            stale.join(", "),
            if stale.len() == 1 { "it was" } else { "they were" },
            if stale.len() == 1 { "its" } else { "their" },
        );
        eprintln!(
            "hint: run `{}` to render every environment (`{}` lists what differs)",
            settings.command_for_every_environment("render"),
            settings.command_for_every_environment("render --check")
        );
    }
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
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// A client for the cluster `--kubeconfig` (else `$KUBECONFIG`) and `--context` name, as
/// kubectl picks it.
async fn connect(args: &ClusterArgs, settings: &Settings) -> Result<kube::Client, gitgen::Error> {
    let kubeconfig = settings.kubeconfig(args.kubeconfig.as_deref());
    Ok(gitgen::cluster::connect(kubeconfig.as_deref(), args.context.as_deref()).await?)
}

/// Repo text made safe for a terminal: every control character but newline and tab is
/// shown escaped (`\u{1b}`), so a lesson from someone else cannot clear the screen,
/// retitle the window or write the clipboard (OSC 52) when it is printed. `lesson` and
/// `list` always print this way (their output is for reading); `diff` does on a terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Whether stdout gets colours: a terminal, and `NO_COLOR` unset.
fn color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && !ProcessEnv::read().no_color
}
