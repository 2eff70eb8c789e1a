//! One module per subcommand; each turns parsed arguments into library calls and
//! prints the result. Data goes to stdout, messages to stderr.

mod cluster;
mod diff;
mod init;
mod lesson;
mod list;
mod publish;
mod render;
mod toggle;

use gitgen::settings::Settings;
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{Cli, Command, GlobalArgs};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Render(args) => render::run(&cli.global, &args),
        Command::List(args) => list::run(&cli.global, &args),
        Command::Lesson(args) => lesson::run(&cli.global, &args),
        Command::Enable(args) => toggle::enable(&cli.global, &args),
        Command::Disable(args) => toggle::disable(&cli.global, &args),
        Command::Diff => diff::run(&cli.global),
        Command::Publish(args) => publish::run(&cli.global, &args),
        Command::Bootstrap(args) => cluster::bootstrap(&cli.global, &args),
        Command::Status(args) => cluster::status(&cli.global, &args),
        Command::Validate(args) => cluster::validate(&cli.global, &args),
    }
}

/// Resolves the settings the global flags name.
fn settings(global: &GlobalArgs) -> Result<Settings, gitgen::Error> {
    Ok(Settings::resolve(global.repo.as_deref(), global.env.as_deref())?)
}

/// Resolves the settings and opens the workspace the global flags name.
fn open(global: &GlobalArgs) -> Result<Workspace, gitgen::Error> {
    Workspace::open(settings(global)?)
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
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
