//! The differential tests of the fast reader: every text, from the tables beside each
//! part and from the generators here, is read by both readers, which must give one answer.

use std::path::Path;

use proptest::prelude::*;

use super::documents;
use crate::{self as yaml, full_documents};

/// Reads `text` with the fast reader and with serde-saphyr, holds the two to one answer,
/// and says whether the fast reader read it. A text it reads, serde-saphyr must read to
/// the same documents. A text it declines is compared too: [`yaml::documents`], which
/// then asks serde-saphyr, must give serde-saphyr's own documents or error.
pub(super) fn agrees(text: &str) -> bool {
    let path = Path::new("t.yaml");
    let full = full_documents(text, path);
    let Some(fast) = documents(text) else {
        match (yaml::documents(text, path), full) {
            (Ok(answer), Ok(full)) => assert_eq!(answer, full, "a declined text read otherwise:\n{text}"),
            (Err(answer), Err(full)) => assert_eq!(
                (answer.line, answer.column, answer.kind, answer.message),
                (full.line, full.column, full.kind, full.message),
                "a declined text refused otherwise:\n{text}"
            ),
            (answer, full) => {
                panic!("a declined text answered {answer:?} where serde-saphyr answers {full:?}:\n{text}")
            }
        }
        return false;
    };
    match full {
        Ok(full) => assert_eq!(fast, full, "the two readers differ on:\n{text}"),
        Err(err) => panic!("the fast path read text that serde-saphyr refuses ({err}):\n{text}"),
    }
    true
}

#[test]
fn agrees_with_serde_saphyr_on_the_course_and_the_upstream_crds() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    for (dir, share) in [(root.join("generated"), 0.9), (root.join("../shared/crds"), 0.0)] {
        assert!(dir.is_dir(), "{} is missing", dir.display());
        let mut files = Vec::new();
        collect_yaml(&dir, &mut files);
        let fast = files
            .iter()
            .filter(|path| agrees(&fs_err::read_to_string(path).unwrap()))
            .count();
        // Nearly every rendered manifest is plain block YAML; if this drops, renders slow down.
        assert!(
            fast as f64 >= files.len() as f64 * share,
            "only {fast} of {} files took the fast path",
            files.len()
        );
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[rustfmt::skip]
const KEYS: &[&str] = &[
    "a", "b", "name", "app.kubernetes.io/name", "on", "y", "1", "null", "\"q\"", "'q'", "'it''s'", "a b", "-x",
    "_k", ".k", "a:b", "<<", "~", "\"\"", "ä", "k-8",
];

#[rustfmt::skip]
const VALUES: &[&str] = &[
    "", "x", "hello world", "1", "-1", "0", "00", "-0", "1.5", ".5", "1e3", "0x1F", "+1", "1_000", "500m",
    "10.0.0.1", "true", "yes", "No", "OFF", "~", "null", "nan", ".inf", "-.inf", "\"quoted\"", "\"esc\\\"aped\"",
    "\"\"", "'single'", "'it''s'", "\"a: b\"", "a: b", "a #c", "a#b", "# c", "|", "|-", "|+", "|2", ">",
    "[a, b]", "[]", "[ ]", "[a, [b]]", "[a,]", "[\"x\", 'y', 3]", "{}", "{ }", "{a: 1}", "&anc x", "*anc",
    "!!str 1", "%x", "@x", "-c", "--port=80", "- x", "-", "?x", ":x", "a:", "a,b", "ä ö", "18446744073709551616",
    "x ", "\"open", "'open",
];

/// One line of generated text.
fn line(indent: usize, kind: usize, key: &str, value: &str) -> String {
    let pad = " ".repeat(indent);
    match kind {
        0 | 1 => format!("{pad}{key}: {value}"),
        2 => format!("{pad}{key}:"),
        3 => format!("{pad}- {value}"),
        4 => format!("{pad}- {key}: {value}"),
        5 => format!("{pad}-"),
        6 => format!("{pad}{value}"),
        7 => format!("{pad}# comment"),
        8 => String::new(),
        _ => "---".to_owned(),
    }
}

/// Keys, values and words the fast path reads, so that generated manifests mostly
/// stay within the subset and the test exercises its structure.
const NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "name",
    "app.kubernetes.io/name",
    "k-8",
    "'q'",
    "\"dq\"",
];
#[rustfmt::skip]
const INLINE: &[&str] = &[
    "x", "hello world", "1", "-1", "0", "true", "yes", "No", "OFF", "~", "null", "nan", "\"quoted\"", "\"\"",
    "'single'", "'it''s'", "\"a: b # c\"", "a #c", "a#b", "[a, b]", "[]", "[\"x\", 'y', 3]", "{}", "-c",
    "{a: 1}", "{a: x, b: 'y', \"c\": ~}", "{a: 1, a: 2}", "{a:1}", "{a: [b]}", "{a: 1,}", "{ k-8: v1.2 }",
    "--port=80", "a,b", "ä ö", "500m", "1.27.3", "x:y", "http://a/b", "", "# comment",
];
const WORDS: &[&str] = &[
    "x",
    "hello world",
    "1",
    "true",
    "~",
    "a#b",
    "x:y",
    "ä",
    "500m",
    "-c",
    "1.2.3",
];

/// A document shaped like a manifest, to be written out in block style.
#[derive(Debug, Clone)]
enum Node {
    Scalar(usize),
    /// Words of a plain scalar, several to a line, that folds over lines.
    Folded(Vec<usize>),
    /// Lines of a block scalar (each a value, maybe with extra indentation; an empty
    /// value is an empty line), whether it strips its final line break, and whether
    /// it is folded (`>`) rather than literal (`|`).
    Block(Vec<(usize, usize)>, bool, bool),
    Mapping(Vec<(usize, Node)>),
    Sequence(Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        4 => (0..INLINE.len()).prop_map(Node::Scalar),
        1 => prop::collection::vec(0..WORDS.len(), 2..5).prop_map(Node::Folded),
        1 => (prop::collection::vec((0usize..3, 0..VALUES.len()), 1..5), any::<bool>(), any::<bool>())
            .prop_map(|(lines, strip, folded)| Node::Block(lines, strip, folded)),
    ];
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec((0..NAMES.len(), inner.clone()), 1..5).prop_map(|mut entries| {
                // Duplicate keys are an error either reader reports; one case of
                // them is in the tables, and here they would only crowd out the rest.
                let mut seen = std::collections::HashSet::new();
                entries.retain(|(k, _)| seen.insert(*k));
                Node::Mapping(entries)
            }),
            prop::collection::vec(inner, 1..5).prop_map(Node::Sequence),
        ]
    })
}

/// Writes `node` as the value after `lead` (`key:` or `-`) on a line at `indent`;
/// `width` is the indentation step and `compact` puts a mapping's sequences at the
/// key's own indentation.
fn write(node: &Node, lead: &str, indent: usize, width: usize, compact: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    let inner = indent + width;
    match node {
        Node::Scalar(v) => out.push_str(&format!("{pad}{lead} {}\n", INLINE[*v])),
        Node::Folded(words) => {
            out.push_str(&format!("{pad}{lead} {}\n", WORDS[words[0]]));
            for (i, w) in words[1..].iter().enumerate() {
                let gap = if i % 2 == 1 { "\n" } else { "" };
                out.push_str(&format!("{gap}{}{}\n", " ".repeat(inner), WORDS[*w]));
            }
        }
        Node::Block(lines, strip, folded) => {
            let indicator = if *folded { ">" } else { "|" };
            out.push_str(&format!("{pad}{lead} {indicator}{}\n", if *strip { "-" } else { "" }));
            for (extra, v) in lines {
                match VALUES[*v] {
                    "" => out.push('\n'),
                    value => out.push_str(&format!("{}{value}\n", " ".repeat(inner + extra))),
                }
            }
        }
        Node::Mapping(entries) => {
            out.push_str(&format!("{pad}{lead}\n"));
            for (k, value) in entries {
                write(value, &format!("{}:", NAMES[*k]), inner, width, compact, out);
            }
        }
        Node::Sequence(items) => {
            out.push_str(&format!("{pad}{lead}\n"));
            let at = if compact && lead.ends_with(':') { indent } else { inner };
            for item in items {
                write(item, "-", at, width, compact, out);
            }
        }
    }
}

/// Proptest's settings with this file as the source of the failures it keeps: a runner
/// built by hand, unlike `proptest!`, names none, and then neither loads the committed
/// regressions (`crates/gitgen-yaml/proptest-regressions/subset/differential.txt`) nor saves new ones.
fn config() -> ProptestConfig {
    ProptestConfig {
        source_file: Some(file!()),
        ..ProptestConfig::default()
    }
}

#[test]
fn the_committed_regressions_of_this_module_are_loaded_before_new_cases() {
    let config = config();
    let persistence = config.failure_persistence.as_ref().expect("failures are persisted");
    let seeds = persistence.load_persisted_failures2(config.source_file);
    assert!(
        !seeds.is_empty(),
        "no regression seed loaded for {:?}: the file under proptest-regressions/ must mirror the source file's path",
        config.source_file
    );
}

/// Runs the configured number of generated texts through [`agrees`], which fails on any
/// disagreement, read or declined, and returns how many the fast path read, and of how
/// many: the callers hold that share up, so a fast reader that declined everything, and
/// so compared only serde-saphyr with itself, fails too.
fn count_read_fast(strategy: impl Strategy<Value = String>) -> (u32, u32) {
    let config = config();
    let cases = config.cases;
    let fast = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&strategy, |text| {
            fast.set(fast.get() + u32::from(agrees(&text)));
            Ok(())
        })
        .unwrap_or_else(|err| panic!("{err}"));
    (fast.get(), cases)
}

fn manifest_shaped_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::collection::btree_map(0..NAMES.len(), node(), 1..6).prop_map(|m| m.into_iter().collect::<Vec<_>>()),
            1..3,
        ),
        prop::sample::select(&[1usize, 2, 4][..]),
        any::<bool>(),
    )
        .prop_map(|(documents, width, compact)| {
            let mut text = String::new();
            for entries in &documents {
                text.push_str("---\n");
                for (k, value) in entries {
                    write(value, &format!("{}:", NAMES[*k]), 0, width, compact, &mut text);
                }
            }
            text
        })
}

fn line_soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                prop::sample::select(&[0usize, 0, 2, 2, 4, 4, 6, 1, 3][..]),
                0usize..10,
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
            ),
            0..24,
        ),
        any::<bool>(),
    )
        .prop_map(|(lines, final_break)| {
            let mut text = lines
                .iter()
                .map(|(indent, kind, key, value)| {
                    line(
                        *indent,
                        *kind,
                        KEYS[key.index(KEYS.len())],
                        VALUES[value.index(VALUES.len())],
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            if final_break {
                text.push('\n');
            }
            text
        })
}

#[test]
fn never_disagrees_with_serde_saphyr_on_manifest_shaped_text_and_reads_a_fair_share() {
    let (fast, cases) = count_read_fast(manifest_shaped_text());
    // The generator mixes in flow and block forms that the fast reader leaves to
    // serde-saphyr on purpose (about four in five texts hold one). Under a tenth read
    // means the fast reader stopped reading what it used to, and the comparison
    // tests little.
    assert!(
        fast * 10 >= cases,
        "the fast path read only {fast} of {cases} manifest-shaped texts"
    );
}

#[test]
fn never_disagrees_with_serde_saphyr_on_line_soup() {
    // Line soup is often invalid YAML, so a small share is read; none would mean the
    // property compares nothing.
    let (fast, cases) = count_read_fast(line_soup());
    assert!(fast > 0, "the fast path read none of {cases} generated texts");
}
