//! Property tests over the library: the `small` fixture's catalog, toggle file and
//! templates, mutated at random (bytes, characters YAML and minijinja care about, lines
//! duplicated, swapped, dropped or replaced by hostile ones), go through
//! `Catalog::load`, `ToggleFile::selection` and `render::render`. Nothing may panic or
//! hang (each case has [`LIMIT`]), every error must say something and hint only with
//! words, and enough cases must get through to render for the properties to test it.
//!
//! Cases are bounded (`PROPTEST_CASES`, default below) so the suite stays fast; failures
//! proptest finds are kept in `tests/proptest-regressions/fuzz.txt` (proptest's path for
//! this file: `tests/it` holds `main.rs`), and inputs worth keeping for good are files
//! under `tests/fuzz_corpus/`, replayed by [`replays_the_fuzz_corpus`] against the outcome
//! its snapshot holds for each.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use gitgen::catalog::config::RepoConfig;
use gitgen::catalog::source::CatalogFiles;
use gitgen::catalog::toggle::read_toggle_file;
use gitgen::catalog::{Catalog, ToggleFile};
use gitgen::names::EnvName;
use gitgen::render::{self, RenderContext};
use proptest::prelude::*;

use crate::support::copy_dir;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 96;

/// How long one case may take: milliseconds in a debug build, so anything near this is
/// a hang (an endless template loop, an alias expansion) and fails the test naming it.
const LIMIT: Duration = Duration::from_secs(20);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small")
}

// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn config() -> Config {
    let mut config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        // The runners here are built by hand, which names no source file unless told:
        // without one, proptest neither loads nor saves regressions.
        source_file: Some(file!()),
        // A hanging case costs `LIMIT` per shrink step: stop shrinking after a few.
        max_shrink_time: 5 * LIMIT.as_millis() as u32,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

/// The fixture's catalog, toggle file and settings, in memory.
struct Inputs {
    catalog: CatalogFiles,
    toggle: String,
    config: RepoConfig,
}

fn inputs() -> Inputs {
    let root = fixture();
    let config_path = root.join("gitgen.yaml");
    Inputs {
        catalog: CatalogFiles::read(&root.join("catalog")).unwrap(),
        toggle: fs_err::read_to_string(root.join("overlays/docker-desktop/lessons.yaml")).unwrap(),
        config: RepoConfig::parse(&fs_err::read_to_string(&config_path).unwrap(), &config_path).unwrap(),
    }
}

#[track_caller]
fn assert_says_something(error: &dyn std::error::Error, hint: Option<String>) {
    let message = error.to_string();
    assert!(!message.trim().is_empty(), "an error with an empty message: {error:?}");
    if let Some(hint) = hint {
        assert!(!hint.trim().is_empty(), "an empty hint on: {message}");
    }
}

/// How a case ended: rendered, or refused at a stage with an error of a kind (the error
/// enum's variant, never its prose, which may be reworded).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Rendered,
    Refused { stage: &'static str, kind: String },
}

impl Outcome {
    /// `stage` refused with `error`, which must say something.
    #[track_caller]
    fn refused<E: std::error::Error + Debug>(stage: &'static str, error: &E, hint: Option<String>) -> Outcome {
        assert_says_something(error, hint);
        // The variant's name leads its `Debug` text; a variant that carries a kind of its
        // own (minijinja's, the YAML reader's) shows it as a `kind: …` field.
        let debug = format!("{error:?}");
        let ident = |text: &str| {
            text.split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let mut kind = ident(&debug);
        if let Some((_, inner)) = debug.split_once("kind: ") {
            kind = format!("{kind} ({})", ident(inner));
        }
        Outcome::Refused { stage, kind }
    }

    /// Whether the case got as far as rendering templates.
    fn reached_render(&self) -> bool {
        matches!(self, Outcome::Rendered | Outcome::Refused { stage: "render", .. })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Rendered => write!(f, "rendered"),
            Outcome::Refused { stage, kind } => write!(f, "refused by {stage}: {kind}"),
        }
    }
}

/// Runs `case` on a thread of its own and returns its outcome, re-raising its panic;
/// fails naming `name` when it has not ended within `limit` (the thread is left behind:
/// nothing can stop it, and the test has failed).
fn within<T: Send + 'static>(name: &str, limit: Duration, case: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = channel();
    let worker = std::thread::spawn(move || sender.send(case()));
    match receiver.recv_timeout(limit) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(_) => unreachable!("the case ended without sending its outcome"),
        },
        Err(RecvTimeoutError::Timeout) => panic!("{name} hung: still running after {limit:?}"),
    }
}

#[test]
#[should_panic(expected = "the sleeper hung: still running after 50ms")]
fn a_case_that_hangs_fails_the_test_naming_it() {
    within("the sleeper", Duration::from_millis(50), || {
        std::thread::sleep(Duration::from_secs(5))
    });
}

#[test]
#[should_panic(expected = "the case's own panic")]
fn a_case_that_panics_fails_with_its_own_panic() {
    within("the panicker", LIMIT, || panic!("the case's own panic"));
}

/// Runs `case` on every input `strategy` generates, each [`within`] the limit, and
/// returns how many reached render, of how many.
fn count_reaching_render<S>(strategy: S, case: fn(S::Value) -> Outcome) -> (u32, u32)
where
    S: Strategy,
    S::Value: Send + 'static,
{
    let config = config();
    let cases = config.cases;
    let reached = std::cell::Cell::new(0u32);
    TestRunner::new(config)
        .run(&strategy, |value| {
            let name = format!("the case {value:?}");
            let outcome = within(&name, LIMIT, move || case(value));
            reached.set(reached.get() + u32::from(outcome.reached_render()));
            Ok(())
        })
        .unwrap_or_else(|err| panic!("{err}"));
    (reached.get(), cases)
}

/// Loads, selects and renders; every error must carry a message. Returns how it ended.
fn run_pipeline(catalog: CatalogFiles, toggle: &str, config: &RepoConfig) -> Outcome {
    let catalog = match Catalog::load(catalog) {
        Ok(catalog) => catalog,
        Err(err) => return Outcome::refused("catalog", &err, err.hint()),
    };
    let env_name = EnvName::new("docker-desktop").unwrap();
    let toggle = ToggleFile {
        path: PathBuf::from("overlays/docker-desktop/lessons.yaml"),
        text: toggle.to_owned(),
    };
    let selection = match toggle.selection(&catalog, &env_name) {
        Ok(selection) => selection,
        Err(err) => return Outcome::refused("toggle", &err, err.hint()),
    };
    let ctx = RenderContext {
        catalog: &catalog,
        config,
        env_name: &env_name,
        env: &config.environments[&env_name],
        selection: &selection,
        stage_objects: &Default::default(),
    };
    match render::everything(&ctx) {
        Ok(files) => {
            for file in &files {
                assert!(
                    file.contents.ends_with('\n'),
                    "{} does not end with a newline",
                    file.path
                );
                assert!(
                    !file.path.contains(".."),
                    "an output path leaves its folder: {}",
                    file.path
                );
            }
            Outcome::Rendered
        }
        Err(err) => Outcome::refused("render", &err, err.hint()),
    }
}

/// Pieces that mean something to YAML, minijinja, paths or terminals.
const HOSTILE: &[&str] = &[
    ":",
    ": ",
    "-",
    "- ",
    "#",
    "[",
    "]",
    "{",
    "}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "&a ",
    "*a",
    "!!binary ",
    "!tag ",
    "|",
    ">",
    "\"",
    "'",
    "\\",
    "\n",
    "\n  ",
    "\t",
    "---\n",
    "...\n",
    "<<: ",
    "..",
    "../",
    "/",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\r",
    "\u{feff}",
    "é",
    "🦀",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-.inf",
    "? ",
    "{{ lesson }}",
    "{% include \"../beta/cm.yaml\" %}",
    "{% for i in range(99999) %}",
    "{% endfor %}",
    "{{ stage_at_least(\"nope\") }}",
    "{{ env.host }}",
    "hostPID: true",
    "namespace: kube-system",
    "privileged: true",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "kind: Namespace",
];

/// Lines that replace or join a file's lines.
const HOSTILE_LINES: &[&str] = &[
    "name: ../../etc",
    "requires: [beta]",
    "requires: [alpha]",
    "requires: [nope]",
    "stages: []",
    "walkthrough: /etc/passwd",
    "  - file: ../beta/cm.yaml",
    "  - name: ..",
    "    since: nope",
    "    version: ^1.2",
    "conflicts: [{lesson: alpha, reason: x}]",
    "cluster_kinds: [ClusterRole]",
    "host_access: {allow: [hostPath], reason: r}",
    "  alpha: pod",
    "  beta: nope",
    "  gamma:",
    "lessons: 3",
    "a: &a [x, x, x]",
    "b: [*a, *a, *a]",
    "---",
    "%YAML 1.2",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% if %}",
    "metadata: {namespace: default}",
    "  hostPath: {path: /}",
    "apiVersion: v1",
    "kind: Secret",
    "data: {a: b}",
    "",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert { at: usize, piece: usize },
    Delete { at: usize, len: usize },
    Byte { at: usize, byte: u8 },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    ReplaceLine { line: usize, with: usize },
    InsertLine { line: usize, with: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0..HOSTILE.len()).prop_map(|(at, piece)| Mutation::Insert { at, piece }),
        2 => (any::<usize>(), 1..20usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Byte { at, byte }),
        1 => any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        2 => (any::<usize>(), 0..HOSTILE_LINES.len()).prop_map(|(line, with)| Mutation::ReplaceLine { line, with }),
        2 => (any::<usize>(), 0..HOSTILE_LINES.len()).prop_map(|(line, with)| Mutation::InsertLine { line, with }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// The nearest character boundary at or before `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let n = lines.len();
    match *mutation {
        Mutation::Insert { at, piece } => {
            let at = boundary(text, at);
            return format!("{}{}{}", &text[..at], HOSTILE[piece], &text[at..]);
        }
        Mutation::Delete { at, len } => {
            let from = boundary(text, at);
            let mut to = (from + len).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            return format!("{}{}", &text[..from], &text[to..]);
        }
        Mutation::Byte { at, byte } => {
            // Catalog text is UTF-8 by the time it is in memory; a lossy byte keeps it so.
            let at = boundary(text, at);
            let piece = String::from_utf8_lossy(&[byte]).into_owned();
            return format!("{}{piece}{}", &text[..at], &text[at..]);
        }
        Mutation::DuplicateLine { line } => {
            let line = line % n;
            lines.insert(line, lines[line].clone());
        }
        Mutation::SwapLines { a, b } => lines.swap(a % n, b % n),
        Mutation::ReplaceLine { line, with } => lines[line % n] = HOSTILE_LINES[with].to_owned(),
        Mutation::InsertLine { line, with } => lines.insert(line % (n + 1), HOSTILE_LINES[with].to_owned()),
        Mutation::Truncate { at } => return text[..boundary(text, at)].to_owned(),
    }
    lines.join("\n")
}

/// The files a case may mutate: the toggle file, or a catalog file by lesson and path.
const TARGETS: &[(&str, &str)] = &[
    ("", "lessons.yaml"),
    ("alpha", "lesson.yaml"),
    ("alpha", "pod.yaml"),
    ("alpha", "service.yaml"),
    ("alpha", "README.md.j2"),
    ("beta", "lesson.yaml"),
    ("beta", "cm.yaml"),
    ("beta", "values.yaml"),
];

/// One or more files of the fixture, each mutated a few times.
type Edits = Vec<(usize, Vec<Mutation>)>;

fn edits() -> impl Strategy<Value = Edits> {
    prop::collection::vec((0..TARGETS.len(), prop::collection::vec(mutation(), 1..6)), 1..4)
}

fn mutated_fixture(edits: Edits) -> Outcome {
    let Inputs {
        mut catalog,
        mut toggle,
        config,
    } = inputs();
    for (target, mutations) in &edits {
        let (lesson, file) = TARGETS[*target];
        let text = if lesson.is_empty() {
            &mut toggle
        } else {
            catalog.lessons.get_mut(lesson).unwrap().get_mut(file).unwrap()
        };
        for mutation in mutations {
            *text = apply(text, mutation);
        }
    }
    run_pipeline(catalog, &toggle, &config)
}

#[test]
fn mutated_fixture_never_panics_and_often_reaches_render() {
    let (reached, cases) = count_reaching_render(edits(), mutated_fixture);
    // About half the mutations leave the catalog and toggle file loadable (a template
    // edit, a hostile piece in a value); under a fifth means the mutations no longer
    // test render, only the readers in front of it.
    assert!(
        reached * 5 >= cases,
        "only {reached} of {cases} mutated fixtures reached render"
    );
}

/// Arbitrary text as a lesson file, a template or the toggle file.
fn arbitrary_text(case: (String, usize)) -> Outcome {
    let (text, target) = case;
    let Inputs {
        mut catalog,
        mut toggle,
        config,
    } = inputs();
    let (lesson, file) = TARGETS[target];
    if lesson.is_empty() {
        toggle = text;
    } else {
        catalog.lessons.get_mut(lesson).unwrap().insert(file.to_owned(), text);
    }
    run_pipeline(catalog, &toggle, &config)
}

#[test]
fn arbitrary_text_never_panics_and_often_reaches_render() {
    let (reached, cases) = count_reaching_render(("(?s).{0,400}", 0..TARGETS.len()), arbitrary_text);
    // Half the targets are templates, which load as any text: a quarter at least.
    assert!(
        reached * 4 >= cases,
        "only {reached} of {cases} arbitrary texts reached render"
    );
}

proptest! {
    #![proptest_config(config())]

    /// The YAML layer alone, on text built from YAML's own punctuation.
    #[test]
    fn yaml_reader_never_panics(pieces in prop::collection::vec(0..HOSTILE.len(), 0..80)) {
        let text: String = pieces.iter().map(|i| HOSTILE[*i]).collect();
        within(&format!("{text:?}"), LIMIT, move || {
            let path = Path::new("fuzz.yaml");
            for result in [
                gitgen::yaml::from_str::<serde_json::Value>(&text, path).map(drop),
                gitgen::yaml::documents(&text, path).map(drop),
                RepoConfig::parse(&text, path).map(drop),
            ] {
                if let Err(err) = result {
                    assert_says_something(&err, err.hint.clone());
                }
            }
        });
    }
}

/// A corpus input in a copy of the fixture on disk, through the file readers and the
/// pipeline.
fn replay(repo: &Path) -> Outcome {
    let inputs = inputs();
    let files = match CatalogFiles::read(&repo.join("catalog")) {
        Ok(files) => files,
        Err(err) => return Outcome::refused("files", &err, err.hint()),
    };
    let toggle = match read_toggle_file(&repo.join("overlays/docker-desktop/lessons.yaml")) {
        Ok(toggle) => toggle,
        Err(err) => return Outcome::refused("toggle file", &err, err.hint()),
    };
    run_pipeline(files, &toggle.text, &inputs.config)
}

/// Every file under `tests/fuzz_corpus/<target>/` replaces its target in a copy of the
/// fixture on disk (so the file reader sees its bytes too) and goes through the pipeline,
/// within the limit; the outcome of each, rendered or refused by which stage with which
/// kind of error, is the snapshot's. Targets: `lesson` (alpha's `lesson.yaml`),
/// `template` (alpha's `pod.yaml`), `values` (beta's `values.yaml`), `walkthrough`
/// (alpha's `README.md.j2`) and `toggle`.
#[test]
fn replays_the_fuzz_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let targets = BTreeMap::from([
        ("lesson", "catalog/alpha/lesson.yaml"),
        ("template", "catalog/alpha/pod.yaml"),
        ("values", "catalog/beta/values.yaml"),
        ("walkthrough", "catalog/alpha/README.md.j2"),
        ("toggle", "overlays/docker-desktop/lessons.yaml"),
    ]);
    let mut outcomes = BTreeMap::new();
    for (target, relative) in targets {
        let mut entries: Vec<PathBuf> = fs_err::read_dir(corpus.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for input in entries {
            let repo = tempfile::tempdir().unwrap();
            copy_dir(&fixture(), repo.path());
            fs_err::copy(&input, repo.path().join(relative)).unwrap();
            let name = input.strip_prefix(&corpus).unwrap().display().to_string();
            let outcome = within(&name, LIMIT, move || replay(repo.path()));
            outcomes.insert(name, outcome);
        }
    }
    let reached = outcomes.values().filter(|o| o.reached_render()).count();
    assert!(reached >= 10, "only {reached} corpus inputs reached render");
    let outcomes: BTreeMap<String, String> = outcomes.into_iter().map(|(name, o)| (name, o.to_string())).collect();
    insta::assert_yaml_snapshot!(outcomes);
}
