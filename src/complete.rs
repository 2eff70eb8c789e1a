//! Shell completion of the names on gitgen's command line, with clap_complete's dynamic
//! completion: the shell's registration (`COMPLETE=bash gitgen`, or `gitgen completions
//! bash`) calls `gitgen` again at each TAB with `COMPLETE` set and the words typed so far,
//! and the completers `cli` attaches to its arguments answer through [`offer`] from the
//! repo the command line names (`gitgen::usecase::complete`). This module takes gitgen's
//! argument definition as a parameter rather than naming `cli`, which names it. A learner's name (`classroom hold`, `release`) is not
//! completed: the learners live in the management cluster's Secrets, and a TAB must not
//! wait on a cluster or read a kubeconfig.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Command;
use clap::parser::ArgMatches;
use clap_complete::engine::CompletionCandidate;
use gitgen::usecase::complete::{Candidate, Typed};

/// The name of the variable that turns a run into a completion request, as the
/// registration scripts clap_complete writes set it.
pub const REQUEST_VARIABLE: &str = "COMPLETE";

/// Answers the shell and exits when this run is a completion request; returns otherwise.
pub fn answer_if_asked(command: fn() -> Command) {
    // clap_complete reads `COMPLETE` (and bash's `_CLAP_COMPLETE_*`) itself: they are its
    // protocol with the script it registered, not settings of gitgen, so they are not
    // among `ProcessEnv`'s variables (`clippy.toml` bans our own reads only).
    clap_complete::CompleteEnv::with_factory(command)
        .var(REQUEST_VARIABLE)
        .complete();
}

/// The candidates a shell shows; none when the repo cannot be read (a broken `gitgen.yaml`,
/// no repo here): the shell has nowhere to show an error, and the command run without TAB
/// says what is wrong.
pub fn offer(names: Result<Vec<Candidate>, gitgen::Error>) -> Vec<CompletionCandidate> {
    names
        .unwrap_or_default()
        .into_iter()
        .map(|candidate| {
            let about = (!candidate.about.is_empty()).then(|| candidate.about.into());
            CompletionCandidate::new(candidate.name).help(about)
        })
        .collect()
}

/// What the words of a completion request say so far. The request is `gitgen -- gitgen
/// WORD…` (clap_complete's protocol: the words follow `--`); they are parsed by gitgen's
/// own argument definition, `command`, with errors ignored, since the line is unfinished.
pub fn typed(command: Command, args: impl IntoIterator<Item = OsString>) -> Typed {
    let words = args.into_iter().skip_while(|arg| arg != "--").skip(1);
    let Ok(matches) = command.ignore_errors(true).try_get_matches_from(words) else {
        return Typed::default();
    };
    // Global flags are seen at every level; the lesson belongs to the innermost command.
    let mut innermost = &matches;
    while let Some((_, sub)) = innermost.subcommand() {
        innermost = sub;
    }
    Typed {
        repo: value::<PathBuf>(innermost, "repo"),
        env: value::<String>(innermost, "env"),
        lesson: value::<String>(innermost, "lesson"),
    }
}

/// The value of argument `id`, if this command has it and it was given.
fn value<T: Clone + Send + Sync + 'static>(matches: &ArgMatches, id: &str) -> Option<T> {
    matches.try_get_one::<T>(id).ok().flatten().cloned()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    fn typed_from(line: &str) -> Typed {
        let args = ["/bin/gitgen", "--"]
            .into_iter()
            .chain(line.split(' '))
            .map(OsString::from);
        typed(Cli::command(), args)
    }

    #[test]
    fn the_typed_lesson_and_flags_are_read_wherever_the_flags_stand() {
        assert_eq!(
            typed_from("gitgen --repo /r enable argocd --env kind --stage "),
            Typed {
                repo: Some("/r".into()),
                env: Some("kind".to_owned()),
                lesson: Some("argocd".to_owned()),
            }
        );
    }

    #[test]
    fn the_lesson_of_a_nested_command_is_read() {
        let typed = typed_from("gitgen classroom hold alice argocd ");
        assert_eq!(typed.lesson.as_deref(), Some("argocd"));
    }

    #[test]
    fn an_unfinished_line_says_nothing_rather_than_failing() {
        assert_eq!(typed_from("gitgen --repo"), Typed::default());
        assert_eq!(typed_from("gitgen enable"), Typed::default());
    }
}
