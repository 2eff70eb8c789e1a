//! `gitgen completions SHELL`: the shell's registration of gitgen's dynamic completion,
//! as `COMPLETE=SHELL gitgen` prints it (see `crate::complete`).

use std::io::Write;

use clap_complete::env::Shells;

use crate::Outcome;
use crate::cli::CompletionsArgs;
use crate::complete::REQUEST_VARIABLE;

pub fn run(args: &CompletionsArgs) -> Result<Outcome, gitgen::Error> {
    let name = args.shell.to_string();
    let shells = Shells::builtins();
    let Some(shell) = shells.completer(&name) else {
        return Err(gitgen::Error::Usage {
            message: format!("gitgen has no dynamic completion for {name}"),
            hint: Some("use bash, zsh, fish, elvish or powershell".to_owned()),
        });
    };
    // The registration calls `gitgen` from the PATH at each TAB, so it stays right when
    // gitgen is installed again elsewhere.
    let mut script = Vec::new();
    let written = shell.write_registration(REQUEST_VARIABLE, "gitgen", "gitgen", "gitgen", &mut script);
    let written = written.and_then(|()| std::io::stdout().lock().write_all(&script));
    match written {
        Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => Err(gitgen::Error::Io {
            what: "write the completion registration to stdout",
            source,
        }),
        _ => Ok(Outcome::Success),
    }
}
