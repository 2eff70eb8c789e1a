//! The `gitgen` binary: parses arguments, runs one command, reports errors.

mod cli;
mod cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

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
fn report(err: &anyhow::Error) {
    let color = std::io::stderr().is_terminal() && !gitgen::settings::ProcessEnv::read().no_color;
    let (red, yellow, reset) = if color {
        ("\x1b[1;31m", "\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    eprintln!("{red}error{reset}: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    let hint = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<gitgen::Error>().and_then(gitgen::Error::hint));
    if let Some(hint) = hint {
        eprintln!("{yellow}hint{reset}: {hint}");
    }
}
