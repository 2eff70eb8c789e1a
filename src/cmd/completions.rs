//! `gitgen completions SHELL`: the completion script for bash, zsh, fish, elvish or
//! PowerShell, generated from the same clap definition the binary parses with.

use std::io::Write;

use clap::CommandFactory;

use crate::Outcome;
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> Result<Outcome, gitgen::Error> {
    // Into memory first: clap_complete panics when the pipe closes (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "gitgen", &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => Err(gitgen::Error::Io {
            what: "write the completion script to stdout",
            source,
        }),
        _ => Ok(Outcome::Success),
    }
}
