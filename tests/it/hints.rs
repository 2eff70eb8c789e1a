//! Every command family reports its error's hint: `main` prints the hint of the
//! `gitgen::Error` each command returns, whichever stage it comes from.

use crate::support::Repo;

/// One failing call per command family, each failing in a different place (settings,
/// catalog, toggle, git, cluster, classroom, serve, init).
const FAILING: &[&[&str]] = &[
    &["init", "."],
    &["--env", "nope", "render"],
    &["--env", "nope", "diff"],
    &["publish", "--branch", "bad..name"],
    &["list", "--env", "nope"],
    &["lesson", "nope"],
    &["enable", "nope"],
    &["disable", "nope"],
    &["bootstrap", "--kubeconfig", "missing-kubeconfig"],
    &["--env", "nope", "status"],
    &["validate", "--crds", "missing-dir"],
    &["classroom", "list"],
    &["serve", "--listen", "192.0.2.1:1"],
];

#[test]
fn every_command_family_reports_the_hint_of_its_error() {
    let repo = Repo::init();
    let mut transcripts = String::new();
    for args in FAILING {
        let run = repo.gitgen(args);
        run.expect(2);
        assert!(
            run.stderr.lines().any(|line| line.starts_with("hint: ")),
            "`gitgen {}` printed no hint\n{}",
            args.join(" "),
            run.transcript()
        );
        transcripts.push_str(&format!("$ gitgen {}\n{}\n", args.join(" "), run.transcript()));
    }
    insta::assert_snapshot!(transcripts);
}
