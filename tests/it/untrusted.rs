//! A repo from a stranger: a pull request can carry symlinks and force-added files under
//! `.gitgen/`, and a checkout can hold FIFOs. Each case plants one such thing in the
//! `small` fixture, next to a marker tree outside the repo, and runs gitgen as a trainer
//! would: it exits with a clear error (2) or a difference (1), never hangs, and the
//! marker tree is byte for byte what it was. A property test then plants many at once
//! and holds the whole sandbox but what render writes to what it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

use crate::support::{HANG_LIMIT as LIMIT, Repo, Run, check};

const JOURNAL: &str = ".gitgen/txn/journal.json";

/// The `small` fixture, rendered, with a marker tree `outside/` beside it (in the same
/// temporary folder): a file, a folder and a FIFO that nothing may touch.
fn sandbox(rendered: bool) -> (Repo, PathBuf) {
    let repo = Repo::fixture("small");
    let outside = repo.path().parent().unwrap().join("outside");
    fs_err::create_dir_all(outside.join("dir/alpha")).unwrap();
    fs_err::write(outside.join("secret.txt"), "the trainer's file\n").unwrap();
    fs_err::write(outside.join("dir/alpha/kustomization.yaml"), "resources: []\n").unwrap();
    mkfifo(&outside.join("fifo"));
    if rendered {
        repo.gitgen_within(&["render"], LIMIT).expect(0);
    }
    (repo, outside)
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Every entry under `dir`, never following a link or opening a FIFO: what it is and,
/// for a file, its bytes.
fn marker(dir: &Path) -> BTreeMap<String, String> {
    marker_except(dir, &[])
}

/// [`marker`], less the entries at the `skipped` paths (relative to `dir`) and under them.
fn marker_except(dir: &Path, skipped: &[&str]) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in fs_err::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let relative = path.strip_prefix(dir).unwrap().display().to_string();
            if skipped.contains(&relative.as_str()) {
                continue;
            }
            let what = if kind.is_dir() {
                pending.push(path);
                "folder".to_owned()
            } else if kind.is_file() {
                format!("file {}", gitgen::output::lock::sha256(&fs_err::read(&path).unwrap()))
            } else if kind.is_symlink() {
                format!("link {}", fs_err::read_link(&path).unwrap().display())
            } else {
                "other".to_owned()
            };
            entries.insert(relative, what);
        }
    }
    entries
}

/// The run's transcript with the sandbox folder (which holds `outside/`) redacted too.
fn transcript(run: &Run, repo: &Repo) -> String {
    let sandbox = repo.path().parent().unwrap().to_str().unwrap();
    run.transcript().replace(sandbox, "[SANDBOX]")
}

/// Runs `args`, checks the exit code, the error's `hint:` and the marker tree, and
/// snapshots the transcript.
#[track_caller]
fn refused(name: &str, repo: &Repo, outside: &Path, args: &[&str], code: i32) -> Run {
    let before = marker(outside);
    let run = repo.gitgen_within(args, LIMIT);
    check(&run, code);
    assert_eq!(marker(outside), before, "gitgen changed files outside the repo");
    insta::assert_snapshot!(name, transcript(&run, repo));
    run
}

fn journal(repo: &Repo, units: &[(&str, bool)]) {
    let units: Vec<(String, bool)> = units.iter().map(|(u, r)| ((*u).to_owned(), *r)).collect();
    repo.write(JOURNAL, &serde_json::json!({ "units": units }).to_string());
}

// `.gitgen/`: the journal and the lock.

#[test]
fn a_forged_journal_naming_a_folder_outside_the_repo_is_refused_and_kept() {
    let (repo, outside) = sandbox(true);
    journal(&repo, &[("../outside", false), ("gitgen.lock", false)]);
    refused("journal_outside", &repo, &outside, &["render", "--check"], 2);
    assert!(repo.exists(JOURNAL), "the refused journal was deleted");
    assert!(repo.exists("gitgen.lock"));
}

#[test]
fn a_journal_unit_under_a_folder_linked_outside_is_refused() {
    let (repo, outside) = sandbox(false);
    symlink("../outside/dir", &repo.path().join("generated"));
    journal(&repo, &[("generated/alpha", false)]);
    refused("journal_under_a_link", &repo, &outside, &["render", "--check"], 2);
    assert!(repo.exists(JOURNAL));
}

#[test]
fn a_staging_folder_linked_outside_is_refused() {
    let (repo, outside) = sandbox(true);
    fs_err::create_dir_all(repo.path().join(".gitgen/txn/stage")).unwrap();
    symlink(
        "../../../../outside/dir",
        &repo.path().join(".gitgen/txn/stage/generated"),
    );
    journal(&repo, &[("generated/alpha", true)]);
    refused("journal_stage_linked_outside", &repo, &outside, &["render"], 2);
}

#[test]
fn a_lock_file_linked_outside_is_refused_and_its_target_not_truncated() {
    let (repo, outside) = sandbox(false);
    fs_err::create_dir_all(repo.path().join(".gitgen")).unwrap();
    symlink("../../outside/secret.txt", &repo.path().join(".gitgen/lock"));
    refused("lock_linked_outside", &repo, &outside, &["render", "--check"], 2);
}

#[test]
fn a_state_folder_linked_outside_is_refused() {
    let (repo, outside) = sandbox(false);
    symlink("../outside/dir", &repo.path().join(".gitgen"));
    refused("state_folder_linked_outside", &repo, &outside, &["render"], 2);
}

// Render's folders.

#[test]
fn generated_linked_outside_is_refused() {
    let (repo, outside) = sandbox(false);
    symlink("../outside/dir", &repo.path().join("generated"));
    refused("generated_linked_outside", &repo, &outside, &["render"], 2);
}

#[test]
fn an_environment_overlay_folder_linked_outside_is_refused_by_enable() {
    let (repo, outside) = sandbox(false);
    fs_err::create_dir_all(repo.path().join("overlays")).unwrap();
    symlink("../outside/dir", &repo.path().join("overlays/kind"));
    refused(
        "overlays_env_linked_outside",
        &repo,
        &outside,
        &["--env", "kind", "enable", "beta"],
        2,
    );
}

#[test]
fn argocd_linked_outside_is_refused() {
    let (repo, outside) = sandbox(false);
    symlink("../outside/dir", &repo.path().join("argocd"));
    refused("argocd_linked_outside", &repo, &outside, &["render"], 2);
}

#[test]
fn a_lesson_folder_in_generated_linked_outside_is_refused_by_the_check() {
    let (repo, outside) = sandbox(true);
    repo.remove("generated/alpha");
    symlink("../../outside/dir/alpha", &repo.path().join("generated/alpha"));
    refused(
        "generated_lesson_linked_outside",
        &repo,
        &outside,
        &["render", "--check"],
        2,
    );
}

// A forged tree.

#[test]
fn an_edited_file_with_a_forged_lock_fails_the_default_check_and_diff() {
    let (repo, outside) = sandbox(true);
    let path = "generated/alpha/service/pod.yaml";
    let edited = repo.read(path).replacen(
        "      image:",
        "      securityContext:\n        privileged: true\n      image:",
        1,
    );
    assert_ne!(edited, repo.read(path), "the edit must change the file");
    repo.write(path, &edited);
    let lock = repo.read("gitgen.lock");
    // Forge the lock: the edited file's hash where the rendered one's was.
    let mut forged: serde_json::Value = serde_json::from_str(&lock).unwrap();
    forged["files"][path] = gitgen::output::lock::sha256(edited.as_bytes()).into();
    repo.write(
        "gitgen.lock",
        &format!("{}\n", serde_json::to_string_pretty(&forged).unwrap()),
    );
    refused("forged_lock_check", &repo, &outside, &["render", "--check"], 1);
    let diff = repo.gitgen_within(&["diff"], LIMIT);
    diff.expect(1);
    assert!(
        diff.stdout.contains("-        privileged: true"),
        "{}",
        diff.transcript()
    );
    // The lock-trusting mode says what it is: it trusts the lock, so it passes.
    repo.gitgen_within(&["render", "--check", "--trust-lock"], LIMIT)
        .expect(0);
    // `--full` is still accepted with `--check`.
    repo.gitgen_within(&["render", "--check", "--full"], LIMIT).expect(1);
}

// Files that are not files.

#[test]
fn a_fifo_in_a_lesson_folder_is_refused_without_hanging() {
    let (repo, outside) = sandbox(false);
    mkfifo(&repo.path().join("catalog/alpha/pipe.yaml"));
    refused("fifo_in_a_lesson", &repo, &outside, &["render"], 2);
}

#[test]
fn a_fifo_as_the_toggle_file_is_refused_without_hanging() {
    let (repo, outside) = sandbox(false);
    repo.remove("overlays/docker-desktop/lessons.yaml");
    mkfifo(&repo.path().join("overlays/docker-desktop/lessons.yaml"));
    refused("fifo_as_the_toggle_file", &repo, &outside, &["list"], 2);
}

#[test]
fn a_fifo_in_generated_is_refused_by_the_check_without_hanging() {
    let (repo, outside) = sandbox(true);
    mkfifo(&repo.path().join("generated/alpha/pipe.yaml"));
    refused("fifo_in_generated", &repo, &outside, &["render", "--check"], 2);
}

#[test]
fn a_toggle_file_linked_to_a_device_is_refused_as_a_link() {
    let (repo, outside) = sandbox(false);
    repo.remove("overlays/docker-desktop/lessons.yaml");
    symlink("/dev/zero", &repo.path().join("overlays/docker-desktop/lessons.yaml"));
    refused("toggle_linked_to_dev_zero", &repo, &outside, &["list"], 2);
}

#[test]
fn a_huge_sparse_stray_file_in_generated_is_a_difference_not_a_crash() {
    let (repo, outside) = sandbox(true);
    let file = fs_err::File::create(repo.path().join("generated/alpha/huge.bin")).unwrap();
    file.set_len(6 << 30).unwrap();
    drop(file);
    let run = refused("huge_file_in_generated", &repo, &outside, &["render", "--check"], 1);
    assert!(run.stdout.contains("generated/alpha/huge.bin"), "{}", run.transcript());
    // A full render would delete a file it did not write: it refuses, as for any such file.
    repo.gitgen_within(&["render", "--full"], LIMIT).expect(2);
}

// A terminal.

#[test]
fn lesson_prints_a_walkthroughs_escape_sequences_as_text() {
    let (repo, _outside) = sandbox(false);
    let readme = "catalog/alpha/README.md.j2";
    let text = repo.read(readme);
    repo.write(readme, &format!("{text}\x1b[2J\x1b]52;c;ZXZpbA==\x07 tab\there\n"));
    let run = repo.gitgen_within(&["lesson", "alpha"], LIMIT);
    run.expect(0);
    assert!(
        !run.stdout.contains('\x1b') && !run.stdout.contains('\x07'),
        "{:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\\u{1b}[2J\\u{1b}]52;c;ZXZpbA==\\u{7} tab\there"),
        "{:?}",
        run.stdout
    );
}

// The CI gate `gitgen init` writes.

/// The `gitgen …` commands a CI file runs, as argument lists.
fn gitgen_commands(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            line.split_once("gitgen ")
                .filter(|(before, _)| before.trim_end().ends_with([':', '-']))
        })
        .map(|(_, rest)| rest.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn init_writes_ci_jobs_whose_check_covers_environments_added_later() {
    let repo = Repo::init();
    let mut checks = Vec::new();
    for file in [".github/workflows/gitgen.yml", ".gitlab-ci.yml"] {
        let text = repo.read(file);
        // Both must be YAML their CI reads.
        let parsed: serde_json::Value = gitgen::yaml::from_str(&text, Path::new(file)).unwrap();
        assert!(parsed.is_object(), "{file}");
        assert!(
            text.contains("GITGEN_INSTALL"),
            "{file} does not say how gitgen is installed"
        );
        let commands = gitgen_commands(&text);
        assert_eq!(
            commands,
            [["render", "--check"]],
            "{file}: one check, no environment named"
        );
        checks.extend(commands);
    }
    // An environment added after init: its render is what the same, unedited check covers.
    let config = repo.read("gitgen.yaml");
    repo.write(
        "gitgen.yaml",
        &format!(
            "{config}{}",
            crate::classroom_env::classroom_environment("NodePort", "later")
        ),
    );
    repo.gitgen_within(&["render"], LIMIT).expect(0);
    for command in &checks {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        repo.gitgen_within(&args, LIMIT).expect(0);
    }
    // And the check they run catches an edit of it.
    let path = repo
        .tree()
        .into_keys()
        .find(|p| p.starts_with("argocd/classroom/") && p.ends_with(".yaml"))
        .unwrap();
    let text = repo.read(&path);
    repo.write(&path, &format!("{text}# edited\n"));
    for command in &checks {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        repo.gitgen_within(&args, LIMIT).expect(1);
    }
}

// Many plants at once.

/// Where the property test may plant something.
const SPOTS: &[&str] = &[
    "generated",
    "generated/alpha",
    "generated/alpha/service/pod.yaml",
    "generated/stray.yaml",
    "overlays",
    "overlays/docker-desktop",
    "overlays/docker-desktop/lessons.yaml",
    "overlays/docker-desktop/alpha",
    "argocd",
    "argocd/docker-desktop",
    "argocd/docker-desktop/apps",
    "catalog",
    "catalog/alpha",
    "catalog/alpha/pod.yaml",
    "catalog/alpha/extra.yaml",
    "gitgen.lock",
    "gitgen.yaml",
    ".gitgen",
    ".gitgen/lock",
    ".gitgen/txn",
    ".gitgen/txn/journal.json",
    ".gitgen/txn/stage",
    ".gitgen/txn/stage/generated",
    ".gitgen/txn/stage/generated/alpha",
    ".gitgen/txn/trash",
    ".gitgen/txn/trash/generated",
];

/// Units a crafted journal may name: some render writes, most it never would.
const UNITS: &[&str] = &[
    "generated/alpha",
    "generated/beta",
    "overlays/docker-desktop/alpha",
    "overlays/docker-desktop/lessons.yaml",
    "argocd/docker-desktop",
    "gitgen.lock",
    "../outside",
    "../outside/dir",
    "../outside/secret.txt",
    "generated/../../outside",
    "generated/..",
    "overlays/../../outside/dir",
    "catalog/alpha",
    "catalog",
    ".gitgen/lock",
    "/OUTSIDE",
    "/OUTSIDE/dir",
    "",
];

/// Where a planted link points (`/OUTSIDE` is the marker tree).
const TARGETS: &[&str] = &[
    "/OUTSIDE",
    "/OUTSIDE/dir",
    "/OUTSIDE/dir/alpha",
    "/OUTSIDE/secret.txt",
    "/OUTSIDE/fifo",
    "/OUTSIDE/missing",
    "/dev/zero",
    "..",
];

#[derive(Debug, Clone)]
enum Plant {
    Link { spot: usize, target: usize },
    Fifo { spot: usize },
    Journal { units: Vec<(usize, bool)> },
}

fn plant() -> impl Strategy<Value = Plant> {
    prop_oneof![
        (0..SPOTS.len(), 0..TARGETS.len()).prop_map(|(spot, target)| Plant::Link { spot, target }),
        (0..SPOTS.len()).prop_map(|spot| Plant::Fifo { spot }),
        prop::collection::vec((0..UNITS.len(), any::<bool>()), 1..4).prop_map(|units| Plant::Journal { units }),
    ]
}

/// Whether `relative` can be planted without going through a link already planted
/// (the test itself must not write outside the sandbox).
fn plantable(repo: &Path, relative: &str) -> bool {
    let mut path = repo.to_owned();
    let parts: Vec<&str> = relative.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        match fs_err::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return false,
            Err(_) => fs_err::create_dir(&path).unwrap(),
        }
    }
    let spot = repo.join(relative);
    match fs_err::symlink_metadata(&spot) {
        Ok(meta) if meta.is_dir() => fs_err::remove_dir_all(&spot).unwrap(),
        Ok(_) => fs_err::remove_file(&spot).unwrap(),
        Err(_) => {}
    }
    true
}

/// Plants `plant` in `repo`; false when it cannot be planted without going through one
/// planted before.
fn apply(repo: &Path, outside: &Path, plant: &Plant) -> bool {
    let outside = outside.to_str().unwrap();
    match plant {
        Plant::Link { spot, target } => {
            let plantable = plantable(repo, SPOTS[*spot]);
            if plantable {
                symlink(TARGETS[*target].replace("/OUTSIDE", outside), &repo.join(SPOTS[*spot]));
            }
            plantable
        }
        Plant::Fifo { spot } => {
            let plantable = plantable(repo, SPOTS[*spot]);
            if plantable {
                mkfifo(&repo.join(SPOTS[*spot]));
            }
            plantable
        }
        Plant::Journal { units } => {
            if !plantable(repo, JOURNAL) {
                return false;
            }
            let units: Vec<(String, bool)> = units
                .iter()
                .map(|(unit, replaced)| (UNITS[*unit].replace("/OUTSIDE", outside), *replaced))
                .collect();
            fs_err::write(repo.join(JOURNAL), serde_json::json!({ "units": units }).to_string()).unwrap();
            // A staged replacement for each unit that stays inside `.gitgen/txn/stage`.
            for (unit, replaced) in &units {
                let inside = !unit.is_empty() && !unit.starts_with('/') && !unit.split('/').any(|p| p == "..");
                let staged = format!(".gitgen/txn/stage/{unit}/f.yaml");
                if *replaced && inside && plantable(repo, &staged) {
                    fs_err::write(repo.join(staged), "staged: true\n").unwrap();
                }
            }
            true
        }
    }
}

/// Cases of the property test: each runs the binary five times, so it has its own bound
/// (`UNTRUSTED_CASES`), not `PROPTEST_CASES`, which `.ci/run` sets high for the in-process
/// property tests.
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn config() -> Config {
    let cases = std::env::var("UNTRUSTED_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(16);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        // A runner built by hand names no source file unless told, and then neither loads
        // nor saves regressions (`tests/proptest-regressions/untrusted.txt`).
        source_file: Some(file!()),
        ..Config::default()
    }
}

/// The cases CI runs at least (`.ci/run` sets `UNTRUSTED_CASES`).
const CI_CASES: u32 = 256;

/// What render, enable and the journal's recovery may write, relative to the sandbox;
/// everything else in it (the catalog, `gitgen.yaml`, `.git`, `outside/`) must stay as
/// it was.
const RENDER_WRITES: &[&str] = &[
    "repo/generated",
    "repo/overlays",
    "repo/argocd",
    "repo/gitgen.lock",
    "repo/.gitgen",
];

/// Whatever a repo holds (links out, FIFOs, crafted `.gitgen/` state), `list`,
/// `render --check`, `render` and `enable` end without a hang or a panic and change
/// nothing in the sandbox but what render writes. A case where nothing could be planted
/// tests nothing hostile: more than a tenth of those fails the test.
#[test]
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn nothing_but_what_render_writes_changes_whatever_the_repo_holds() {
    let config = config();
    let cases = config.cases;
    if std::env::var_os("CI").is_some() {
        assert!(
            cases >= CI_CASES,
            "CI runs {cases} cases, under {CI_CASES}: set UNTRUSTED_CASES in .ci/run"
        );
    }
    let skipped = std::cell::Cell::new(0u32);
    let strategy = (any::<bool>(), prop::collection::vec(plant(), 1..6));
    TestRunner::new(config)
        .run(&strategy, |(rendered, plants)| {
            let (repo, outside) = sandbox(rendered);
            let mut planted = 0;
            for plant in &plants {
                planted += usize::from(apply(repo.path(), &outside, plant));
            }
            if planted == 0 {
                skipped.set(skipped.get() + 1);
            }
            let sandbox = repo.path().parent().unwrap();
            let before = marker_except(sandbox, RENDER_WRITES);
            for args in [
                &["list"][..],
                &["render", "--check"],
                &["render"],
                &["--env", "kind", "enable", "beta"],
            ] {
                let run = repo.gitgen_within(args, LIMIT);
                prop_assert!(matches!(run.code, 0..=2), "{}", run.transcript());
                prop_assert!(!run.stderr.contains("panicked"), "{}", run.transcript());
                if run.code == 2 {
                    prop_assert!(run.stderr.contains("\nhint: "), "no hint\n{}", run.transcript());
                }
                prop_assert_eq!(
                    &marker_except(sandbox, RENDER_WRITES),
                    &before,
                    "`gitgen {}` changed what render does not write",
                    args.join(" ")
                );
            }
            Ok(())
        })
        .unwrap_or_else(|err| panic!("{err}"));
    let skipped = skipped.get();
    assert!(skipped * 10 <= cases, "{skipped} of {cases} cases planted nothing");
}
