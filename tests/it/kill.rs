//! The kill test: `gitgen render` and `gitgen enable` are SIGKILLed after a random
//! (seeded) delay on a catalog big enough that they take a while. After each kill the
//! managed tree (`generated/`, `overlays/`, `argocd/`, `gitgen.lock`, the toggle file)
//! must be byte for byte the old one or the new one, or a journal must be left that the
//! next command that writes (`gitgen render --check`) completes into the new one, even
//! when that recovery is killed too.
//! Running the command again then exits 0 with the new tree.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::Repo;

/// Lessons generated into the fixture.
const LESSONS: usize = 200;
/// Killed runs of each command.
const RENDER_RUNS: usize = 25;
/// Killed runs of `render` of every environment.
const EVERY_RUNS: usize = 12;
/// Killed runs of `render` of every environment the moment its journal appears, in one
/// batch (batches repeat until a kill lands while the journal is there).
const JOURNAL_RUNS: usize = 6;
/// Killed runs of `enable`, each followed by a killed `disable` that undoes it.
const ENABLE_RUNS: usize = 25;
/// Lessons whose templates change between the two states render alternates between.
const CHANGED: usize = 40;
const TOGGLE: &str = "overlays/docker-desktop/lessons.yaml";
const JOURNAL: &str = ".gitgen/txn/journal.json";

/// xorshift64*: a seeded generator, so a failing sequence of delays can be replayed
/// with `GITGEN_KILL_SEED`.
struct Rng(u64);

impl Rng {
    // a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
    #[allow(clippy::disallowed_methods)]
    fn from_env() -> Rng {
        let seed = std::env::var("GITGEN_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x6b11_7e57);
        eprintln!("kill test seed: {seed} (set GITGEN_KILL_SEED to replay)");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The `small` fixture plus `LESSONS` generated lessons, each with two stages and a
/// template whose loop makes render take a while. `variant` changes every template's
/// output, so switching it makes render rewrite every lesson.
fn big_repo() -> Repo {
    // The test is bound by file system calls; a RAM file system, where there is one,
    // keeps it within its time budget. Renames are as atomic there as on disk.
    let shm = Path::new("/dev/shm");
    let repo = if shm.is_dir() {
        Repo::fixture_in("small", shm)
    } else {
        Repo::fixture("small")
    };
    let mut toggle = repo.read(TOGGLE);
    for i in 0..LESSONS {
        let id = format!("gen-{i:03}");
        let requires = if i % 10 == 5 {
            format!("requires: [gen-{:03}]\n", i - 1)
        } else {
            String::new()
        };
        repo.write(
            &format!("catalog/{id}/lesson.yaml"),
            &format!(
                "name: {id}\ntitle: Generated {i}\nsection: Generated\nnamespace: {id}\nnamespaces:\n  - name: {id}\n\
                 {requires}stages:\n  - name: one\n    description: First.\n  - name: two\n    description: Second.\n\
                 manifests:\n  - file: cm.yaml\n  - file: deploy.yaml\n    since: two\n"
            ),
        );
        repo.write(
            &format!("catalog/{id}/README.md.j2"),
            "# {{ lesson.title }} on {{ env.host }}\n",
        );
        write_variant(&repo, &id, "a");
        repo.write(
            &format!("catalog/{id}/deploy.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: x}\n  \
             template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n",
        );
        // A lesson in three enabled, with what it requires; the others listed commented
        // out, as `init` writes them.
        if i % 3 == 0 || (i % 10 == 4 && (i + 1) % 3 == 0) {
            toggle.push_str(&format!("  {id}: two\n"));
        } else {
            toggle.push_str(&format!("  # {id}: two\n"));
        }
    }
    repo.write(TOGGLE, &toggle);
    repo
}

fn write_variant(repo: &Repo, id: &str, variant: &str) {
    repo.write(
        &format!("catalog/{id}/cm.yaml"),
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n\
             {{% for i in range(60) %}}\n  key-{{{{ i }}}}: {{{{ \"{variant}-\" ~ lesson.name ~ \"-\" ~ stage.name ~ \"-\" ~ i }}}}\n{{% endfor %}}\n"
        ),
    );
}

/// The files render and enable own, with their bytes.
fn managed(repo: &Repo) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for top in ["generated", "overlays", "argocd"] {
        collect(repo.path(), top, &mut files);
    }
    for file in ["gitgen.lock", TOGGLE] {
        if let Ok(bytes) = fs_err::read(repo.path().join(file)) {
            files.insert(file.to_owned(), bytes);
        }
    }
    files
}

fn collect(root: &Path, relative: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = fs_err::read_dir(root.join(relative)) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let path = format!("{relative}/{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            collect(root, &path, out);
        } else {
            out.insert(path, fs_err::read(entry.path()).unwrap());
        }
    }
}

/// Which tree a kill left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Left {
    Old,
    New,
    JournalCompleted,
    /// A journal, whose recovery was killed too, part way through its swap.
    RecoveryKilledMidway,
}

/// Names the first difference between two trees, for a readable failure.
fn first_difference(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    for (path, bytes) in a {
        match b.get(path) {
            None => return format!("{path} only in the first"),
            Some(other) if other != bytes => return format!("{path} differs"),
            Some(_) => {}
        }
    }
    b.keys()
        .find(|p| !a.contains_key(*p))
        .map_or("no difference".to_owned(), |p| format!("{p} only in the second"))
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the start.
    After(Duration),
    /// This long after `path` appears (the staging area, or the journal): the swap takes
    /// a millisecond or two, which a random delay over the whole run would rarely hit.
    Seen(&'static str, Duration),
    /// This long after `gitgen.lock` is replaced: a render that wrote one environment at
    /// a time replaced it once per environment, so a kill here landed between two.
    LockReplaced(Duration),
}

impl KillAt {
    /// A random kill point for a command that takes `full` when left alone.
    fn random(rng: &mut Rng, full: Duration) -> KillAt {
        let kind = rng.below(4);
        let mut micros = |max: u64| Duration::from_micros(rng.below(max));
        match kind {
            0 | 1 => KillAt::After(micros(full.as_micros() as u64 * 11 / 10)),
            2 => KillAt::Seen(".gitgen/txn/stage", micros(20_000)),
            _ => KillAt::Seen(JOURNAL, micros(200)),
        }
    }
}

/// Starts `gitgen ARGS` in the repo, its output discarded.
fn start(repo: &Repo, args: &[&str]) -> std::process::Child {
    crate::isolated::gitgen()
        .args(args)
        .current_dir(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting gitgen")
}

/// The command that finishes a journal: any command that writes does.
const RECOVER: &[&str] = &["--env", "docker-desktop", "render", "--check"];

/// How many entries (units, their folders and files) are still staged: a replay
/// (`output::txn::replay`) renames each staged unit into place, so the count drops as
/// it goes.
fn still_staged(repo: &Repo) -> usize {
    fn count(dir: &Path) -> usize {
        fs_err::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|entry| {
                    let entry = entry.unwrap();
                    1 + if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        count(&entry.path())
                    } else {
                        0
                    }
                })
                .sum()
        })
    }
    count(&repo.path().join(".gitgen/txn/stage"))
}

/// Finishes the journal a kill left by running [`RECOVER`], killing each run the moment
/// it has moved a staged unit into place, until a run removes the journal: so kills land
/// part way through the replay. After each, the journal is still there to finish, or the tree is
/// `new`. Returns how many kills cut a replay short.
fn recover_under_kills(repo: &Repo, new: &BTreeMap<String, Vec<u8>>) -> usize {
    for cut_short in 0..=LESSONS {
        let before = still_staged(repo);
        let mut recovery = start(repo, RECOVER);
        while still_staged(repo) == before && recovery.try_wait().unwrap().is_none() {}
        // SIGKILL; an error only means it had already exited.
        let _ = recovery.kill();
        let status = recovery.wait().unwrap();
        assert_ne!(status.code(), Some(101), "the recovery panicked");
        if !repo.exists(JOURNAL) {
            let completed = managed(repo);
            assert!(
                completed == *new,
                "a killed recovery removed the journal but left another tree than the new one: {}",
                first_difference(&completed, new)
            );
            return cut_short;
        }
    }
    panic!("killed recoveries moved more units than a journal holds without finishing it");
}

/// Starts `gitgen ARGS`, kills it at `at`, and checks what it left.
fn kill_and_check(
    repo: &Repo,
    args: &[&str],
    at: KillAt,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> Left {
    let mut child = start(repo, args);
    let start = Instant::now();
    let lock_inode = || {
        use std::os::unix::fs::MetadataExt;
        fs_err::metadata(repo.path().join("gitgen.lock")).map(|m| m.ino()).ok()
    };
    let first_lock = lock_inode();
    match at {
        KillAt::LockReplaced(delay) => {
            while lock_inode() == first_lock && start.elapsed() < Duration::from_secs(20) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
            std::thread::sleep(delay);
        }
        KillAt::After(delay) => std::thread::sleep(delay),
        KillAt::Seen(path, delay) => {
            let path = repo.path().join(path);
            while !path.exists() && start.elapsed() < Duration::from_secs(20) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
            std::thread::sleep(delay);
        }
    }
    let delay = start.elapsed();
    // SIGKILL; an error only means it had already exited.
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101), "gitgen {args:?} panicked");
    let left = managed(repo);
    let outcome = if repo.exists(JOURNAL) {
        // A command that writes finishes the journaled change; `list` only reads. It can
        // be killed as it does.
        let cut_short = recover_under_kills(repo, new);
        repo.gitgen(RECOVER).expect(0);
        let completed = managed(repo);
        assert!(
            completed == *new,
            "after `gitgen {}` was killed at {delay:?} with a journal, `gitgen render --check` did not complete the new tree: {}",
            args.join(" "),
            first_difference(&completed, new)
        );
        if cut_short > 0 {
            Left::RecoveryKilledMidway
        } else {
            Left::JournalCompleted
        }
    } else if left == *old {
        Left::Old
    } else if left == *new {
        Left::New
    } else {
        panic!(
            "`gitgen {}` killed at {delay:?} left a tree that is neither the old nor the new one: against the old, {}; against the new, {}",
            args.join(" "),
            first_difference(&left, old),
            first_difference(&left, new)
        );
    };
    let run = repo.gitgen(args);
    run.expect(0);
    let finished = managed(repo);
    assert!(
        finished == *new,
        "re-running `gitgen {}` did not give the new tree: {}",
        args.join(" "),
        first_difference(&finished, new)
    );
    assert!(!repo.exists(".gitgen/txn"), "a finished run left `.gitgen/txn` behind");
    outcome
}

/// Runs `gitgen ARGS` to the end and returns how long it took.
fn timed(repo: &Repo, args: &[&str]) -> Duration {
    let start = Instant::now();
    repo.gitgen(args).expect(0);
    start.elapsed()
}

/// Renders `args` to the end with variant `a`, then `b`, then kills `runs` runs of it
/// switching between the two, each at `at(rng, how long a run takes, run)`; returns what
/// each kill left.
fn kill_between_variants(
    repo: &Repo,
    args: &[&str],
    runs: usize,
    set_variant: &dyn Fn(&str),
    rng: &mut Rng,
    at: impl Fn(&mut Rng, Duration, usize) -> KillAt,
) -> Vec<Left> {
    set_variant("a");
    timed(repo, args);
    let tree_a = managed(repo);
    set_variant("b");
    let full = timed(repo, args);
    let tree_b = managed(repo);
    assert_ne!(tree_a, tree_b);
    (0..runs)
        .map(|run| {
            let (variant, old, new) = if run % 2 == 0 {
                ("a", &tree_b, &tree_a)
            } else {
                ("b", &tree_a, &tree_b)
            };
            set_variant(variant);
            kill_and_check(repo, args, at(rng, full, run), old, new)
        })
        .collect()
}

#[test]
fn killed_render_and_enable_leave_the_old_or_the_new_tree_and_rerunning_completes() {
    let started = Instant::now();
    let repo = big_repo();
    let mut rng = Rng::from_env();
    let mut outcomes: BTreeMap<(&str, Left), usize> = BTreeMap::new();

    // render, of one environment, then of every environment (one transaction, so a kill
    // leaves both environments old or both new, never the first written and the second
    // not). Switch some lessons' templates between two variants, so each render rewrites
    // their bases and the lock; the tree alternates between two known states.
    let ids: Vec<String> = (0..CHANGED)
        .map(|i| format!("gen-{:03}", i * (LESSONS / CHANGED)))
        .collect();
    let set_variant = |variant: &str| ids.iter().for_each(|id| write_variant(&repo, id, variant));
    let one = ["--env", "docker-desktop", "render"];
    let at_random = |rng: &mut Rng, full, _| KillAt::random(rng, full);
    for left in kill_between_variants(&repo, &one, RENDER_RUNS, &set_variant, &mut rng, at_random) {
        *outcomes.entry(("render", left)).or_default() += 1;
    }
    let after_the_lock = |rng: &mut Rng, full, run: usize| {
        if run.is_multiple_of(3) {
            KillAt::random(rng, full)
        } else {
            KillAt::LockReplaced(Duration::from_micros(rng.below(2_000)))
        }
    };
    for left in kill_between_variants(&repo, &["render"], EVERY_RUNS, &set_variant, &mut rng, after_the_lock) {
        *outcomes.entry(("render every environment", left)).or_default() += 1;
    }
    // Killed the moment its journal appears, a render leaves its swap to the next command,
    // whose recovery is killed in turn (`recover_under_kills`).
    let at_the_journal = |_: &mut Rng, _, _| KillAt::Seen(JOURNAL, Duration::ZERO);
    // The window between the journal's write and the end of the swap is short on an idle
    // machine, and a kill can land after it; batches go on (up to five) until one kill
    // lands inside it.
    let mut journal_runs = Vec::new();
    for _ in 0..5 {
        journal_runs.extend(kill_between_variants(
            &repo,
            &["render"],
            JOURNAL_RUNS,
            &set_variant,
            &mut rng,
            at_the_journal,
        ));
        if journal_runs.iter().any(|left| *left >= Left::JournalCompleted) {
            break;
        }
    }
    assert!(
        journal_runs.iter().any(|left| *left >= Left::JournalCompleted),
        "no render killed at its journal left one to recover: {journal_runs:?}"
    );
    for left in journal_runs {
        *outcomes.entry(("render killed at its journal", left)).or_default() += 1;
    }

    // enable: a lesson that requires another, not enabled, so the toggle file gets two
    // lines and the tree a lesson more; `disable --cascade` (killed too) undoes it.
    repo.gitgen(&["render"]).expect(0);
    let before = managed(&repo);
    let full = timed(&repo, &["enable", "gen-035"]);
    let enabled = managed(&repo);
    assert_ne!(before, enabled);
    let disable = ["disable", "gen-034", "--cascade"];
    repo.gitgen(&disable).expect(0);
    assert!(
        managed(&repo) == before,
        "disable did not restore the tree: {}",
        first_difference(&managed(&repo), &before)
    );
    for _ in 0..ENABLE_RUNS {
        let left = kill_and_check(
            &repo,
            &["enable", "gen-035"],
            KillAt::random(&mut rng, full),
            &before,
            &enabled,
        );
        *outcomes.entry(("enable", left)).or_default() += 1;
        let left = kill_and_check(&repo, &disable, KillAt::random(&mut rng, full), &enabled, &before);
        *outcomes.entry(("disable", left)).or_default() += 1;
    }
    eprintln!("kill test: {outcomes:?} in {:?}", started.elapsed());
    let count = |wanted: Left| {
        outcomes
            .iter()
            .filter(|((_, left), _)| *left == wanted)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(
        count(Left::Old) > 0,
        "no run was killed before its journal: {outcomes:?}"
    );
    // A replay lasts a millisecond or two; on a loaded machine no kill of a recovery may
    // land in one, so this only warns (the recovery itself has unit tests in
    // `output::txn`).
    if count(Left::RecoveryKilledMidway) == 0 {
        eprintln!("warning: no recovery was killed part way through its swap this time: {outcomes:?}");
    }
}
