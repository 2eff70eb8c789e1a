//! The `gitgen` binary: parses arguments, runs one command, reports errors.

mod cli;
mod cmd;
mod complete;
mod printer;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// mimalloc instead of glibc's allocator: a render allocates and frees many small
/// strings and trees on two threads at once, and glibc's malloc took about 14% of a full
/// render's time (`perf`, 1,000 lessons). Built without transparent huge pages
/// (`no_thp`), which doubled the memory a short run touches. See BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a command tells `main` about how it went.
pub enum Outcome {
    /// Done; exit 0.
    Success,
    /// A check found a difference; exit 1.
    Different,
}

fn main() -> ExitCode {
    // Before anything writes to stdout: a completion request's answer is all it prints.
    complete::answer_if_asked(cli::Cli::command);
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Different) => ExitCode::from(1),
        Err(err) => {
            report(&err);
            ExitCode::from(2)
        }
    }
}

/// Prints `error:`, each cause, then `hint:` when there is something to do.
fn report(err: &gitgen::Error) {
    let color = std::io::stderr().is_terminal() && !gitgen::settings::ProcessEnv::read().no_color;
    eprint!("{}", report_text(err, color));
}

/// The text [`report`] prints: the error, each cause of its chain on its own line, and
/// the error's hint, in colour on a terminal.
fn report_text(err: &gitgen::Error, color: bool) -> String {
    let (red, yellow, reset) = if color {
        ("\x1b[1;31m", "\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut text = format!("{red}error{reset}: {err}\n");
    let mut cause = std::error::Error::source(err);
    while let Some(error) = cause {
        text.push_str(&format!("  caused by: {error}\n"));
        cause = error.source();
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("{yellow}hint{reset}: {hint}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_ends_with_the_hint_of_the_error() {
        let err = gitgen::Error::Usage {
            message: "no lesson `x`".to_owned(),
            hint: Some("run `gitgen list`".to_owned()),
        };
        assert_eq!(
            report_text(&err, false),
            "error: no lesson `x`\nhint: run `gitgen list`\n"
        );
    }

    #[test]
    fn the_report_names_each_cause_between_the_error_and_the_hint() {
        let err = gitgen::Error::Io {
            what: "start the runtime for cluster requests",
            source: std::io::Error::other("too many open files"),
        };
        assert_eq!(
            report_text(&err, false),
            "error: cannot start the runtime for cluster requests\n  caused by: too many open files\n"
        );
    }
}
