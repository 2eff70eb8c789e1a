//! Shell completion, run as the shell runs it: the registration `COMPLETE=bash gitgen`
//! prints, sourced by a real bash, and the requests it makes at each TAB (clap_complete's
//! protocol, `clap_complete-4.6.12/src/env/shells.rs`: `COMPLETE=bash gitgen -- WORD…`
//! with the cursor's word at `_CLAP_COMPLETE_INDEX` and candidates separated by
//! `_CLAP_IFS`).

use std::path::Path;

use crate::support::Repo;

/// bash's separator of candidates (`local IFS=$'\013'` in the registration).
const BASH_IFS: &str = "\u{0b}";

/// What bash gets for `line` (words split at spaces; the last, maybe empty, is under the
/// cursor), run in `cwd`: the exit code, the names offered (flags left out: clap offers
/// them beside the names when the word is empty) and stderr.
fn tab(cwd: &Path, line: &str) -> (i32, Vec<String>, String) {
    let words: Vec<&str> = line.split(' ').collect();
    let output = crate::isolated::gitgen()
        .arg("--")
        .args(&words)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "false")
        .env("_CLAP_IFS", BASH_IFS)
        .current_dir(cwd)
        .output()
        .expect("running gitgen");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let names = stdout
        .split(BASH_IFS)
        .filter(|word| !word.is_empty() && !word.starts_with('-'))
        .map(str::to_owned)
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), names, stderr)
}

/// `line` and what TAB offers, one line, for a snapshot; the repo's path as `[REPO]`.
fn offered(cwd: &Path, repo: &Repo, line: &str) -> String {
    let (code, names, stderr) = tab(cwd, line);
    assert_eq!((code, stderr.as_str()), (0, ""), "{line}");
    let shown = line.replace(repo.path().to_str().unwrap(), "[REPO]");
    format!("{shown}<TAB> -> {}\n", names.join(" "))
}

#[test]
fn tab_completes_lessons_enabled_lessons_stages_and_environments_from_the_repo() {
    // docker-desktop enables alpha (at stage `service`); kind has no toggle file yet, so
    // it enables nothing.
    let repo = Repo::fixture("small");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: service\n");
    let here = repo.path();
    let repo_flag = format!("gitgen --repo {}", here.display());
    let lines = [
        "gitgen enable ".to_owned(),
        "gitgen --env kind enable ".to_owned(),
        "gitgen enable b".to_owned(),
        "gitgen disable ".to_owned(),
        "gitgen disable --env kind ".to_owned(),
        "gitgen lesson ".to_owned(),
        "gitgen enable alpha --stage ".to_owned(),
        "gitgen lesson beta --stage ".to_owned(),
        "gitgen enable nosuchlesson --stage ".to_owned(),
        "gitgen --env kind classroom hold alice ".to_owned(),
        "gitgen classroom hold alice alpha ".to_owned(),
        "gitgen classroom release alice ".to_owned(),
        "gitgen --env ".to_owned(),
        "gitgen status --env k".to_owned(),
        format!("{repo_flag} disable "),
    ];
    let outside = here.parent().unwrap();
    let transcript: String = lines
        .iter()
        .map(|line| {
            let cwd = if line.contains("--repo") { outside } else { here };
            offered(cwd, &repo, line)
        })
        .collect();
    insta::assert_snapshot!(transcript);
}

#[test]
fn a_broken_gitgen_yaml_offers_no_names_and_no_error() {
    let repo = Repo::fixture("small");
    repo.write("gitgen.yaml", "environments:\n  kind\n    sync: manual\n");
    for line in [
        "gitgen enable ",
        "gitgen disable ",
        "gitgen --env ",
        "gitgen enable alpha --stage ",
    ] {
        assert_eq!(tab(repo.path(), line), (0, Vec::new(), String::new()), "{line}");
    }
    // Outside any repo too.
    let nowhere = tempfile::tempdir().unwrap();
    assert_eq!(tab(nowhere.path(), "gitgen enable "), (0, Vec::new(), String::new()));
}

#[test]
fn bash_completes_a_lesson_through_the_registration_it_sources() {
    let repo = Repo::fixture("small");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: service\n");
    // gitgen on the PATH, as installed: the registration calls it by name.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gitgen"), bin.path().join("gitgen")).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.path().display());
    // What a user's ~/.bashrc runs, then what bash does at `gitgen disable <TAB>`.
    let script = r#"
        source <(COMPLETE=bash gitgen) || exit 3
        COMP_WORDS=(gitgen disable "") COMP_CWORD=2 COMP_TYPE=9
        _clap_complete_gitgen gitgen "" disable
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    for registration in [
        script.to_owned(),
        script.replace("COMPLETE=bash gitgen", "gitgen completions bash"),
    ] {
        let output = crate::isolated::command("bash")
            .args(["--norc", "-c", &registration])
            .env("PATH", &path)
            .current_dir(repo.path())
            .output()
            .expect("bash is installed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let names: Vec<&str> = stdout.lines().filter(|w| !w.starts_with('-')).collect();
        assert_eq!(names, ["alpha"], "{}", String::from_utf8_lossy(&output.stderr));
    }
}
