//! Property tests over the library: the `small` fixture's catalog, toggle file and
//! templates, mutated at random (bytes, characters YAML and minijinja care about, lines
//! duplicated, swapped, dropped or replaced by hostile ones), go through
//! `Catalog::load`, `ToggleFile::selection` and `render::render`. Nothing may panic, and
//! every error must say something and hint only with words.
//!
//! Cases are bounded (`PROPTEST_CASES`, default below) so the suite stays fast; failures
//! proptest finds are kept in `proptest-regressions/`, and inputs worth keeping for good
//! are files under `tests/fuzz_corpus/`, replayed by [`replays_the_fuzz_corpus`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitgen::catalog::config::RepoConfig;
use gitgen::catalog::names::EnvName;
use gitgen::catalog::source::CatalogFiles;
use gitgen::catalog::toggle::read_toggle_file;
use gitgen::catalog::{Catalog, ToggleFile};
use gitgen::render::{self, RenderContext};
use proptest::prelude::*;

use crate::support::copy_dir;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 96;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small")
}

fn config() -> Config {
    let mut config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
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

/// Loads, selects and renders; every error must carry a message. Returns how far it got.
fn run_pipeline(catalog: CatalogFiles, toggle: &str, config: &RepoConfig) -> &'static str {
    let catalog = match Catalog::load(catalog) {
        Ok(catalog) => catalog,
        Err(err) => {
            assert_says_something(&err, err.hint());
            return "catalog";
        }
    };
    let env_name = EnvName::new("docker-desktop").unwrap();
    let toggle = ToggleFile {
        path: PathBuf::from("overlays/docker-desktop/lessons.yaml"),
        text: toggle.to_owned(),
    };
    let selection = match toggle.selection(&catalog, &env_name) {
        Ok(selection) => selection,
        Err(err) => {
            assert_says_something(&err, err.hint());
            return "toggle";
        }
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
            "rendered"
        }
        Err(err) => {
            assert_says_something(&err, err.hint());
            "render"
        }
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

proptest! {
    #![proptest_config(config())]

    /// One or more files of the fixture, each mutated a few times.
    #[test]
    fn mutated_fixture_never_panics(
        edits in prop::collection::vec((0..TARGETS.len(), prop::collection::vec(mutation(), 1..6)), 1..4)
    ) {
        let Inputs { mut catalog, mut toggle, config } = inputs();
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
        run_pipeline(catalog, &toggle, &config);
    }

    /// Arbitrary text as a lesson file, a template and the toggle file.
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}", target in 0..TARGETS.len()) {
        let Inputs { mut catalog, mut toggle, config } = inputs();
        let (lesson, file) = TARGETS[target];
        if lesson.is_empty() {
            toggle = text;
        } else {
            catalog.lessons.get_mut(lesson).unwrap().insert(file.to_owned(), text);
        }
        run_pipeline(catalog, &toggle, &config);
    }

    /// The YAML layer alone, on text built from YAML's own punctuation.
    #[test]
    fn yaml_reader_never_panics(pieces in prop::collection::vec(0..HOSTILE.len(), 0..80)) {
        let text: String = pieces.iter().map(|i| HOSTILE[*i]).collect();
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
    }
}

/// Every file under `tests/fuzz_corpus/<target>/` replaces its target in a copy of the
/// fixture on disk (so the file reader sees its bytes too) and goes through the pipeline.
/// Targets: `lesson` (alpha's `lesson.yaml`), `template` (alpha's `pod.yaml`), `values`
/// (beta's `values.yaml`), `walkthrough` (alpha's `README.md.j2`) and `toggle`.
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
    let mut replayed = 0;
    for (target, relative) in targets {
        let mut entries: Vec<PathBuf> = match fs_err::read_dir(corpus.join(target)) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => continue,
        };
        entries.sort();
        for input in entries {
            let repo = tempfile::tempdir().unwrap();
            copy_dir(&fixture(), repo.path());
            fs_err::copy(&input, repo.path().join(relative)).unwrap();
            let outcome = std::panic::catch_unwind(|| {
                let inputs = inputs();
                let files = match CatalogFiles::read(&repo.path().join("catalog")) {
                    Ok(files) => files,
                    Err(err) => {
                        assert_says_something(&err, err.hint());
                        return "files";
                    }
                };
                let toggle = match read_toggle_file(&repo.path().join("overlays/docker-desktop/lessons.yaml")) {
                    Ok(toggle) => toggle,
                    Err(err) => {
                        assert_says_something(&err, err.hint());
                        return "toggle file";
                    }
                };
                run_pipeline(files, &toggle.text, &inputs.config)
            });
            assert!(outcome.is_ok(), "{} panicked", input.display());
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "the corpus is missing: only {replayed} inputs replayed");
}
