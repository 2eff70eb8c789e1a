//! `gitgen completions SHELL`: the completion script for bash, zsh, fish, elvish or
//! PowerShell, generated from the same clap definition the binary parses with.

use std::io::Write;

use clap::CommandFactory;

use crate::Outcome;
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    // Into memory first: clap_complete panics when the pipe closes (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "gitgen", &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(Outcome::Success),
    }
}
