//! The one place gitgen parses and writes YAML.
//!
//! We use `serde-saphyr` rather than the deprecated `serde_yaml`: it never panics on
//! malformed input, enforces budgets against alias bombs and huge documents, rejects
//! duplicate keys, and reports line and column. Every caller goes through here so those
//! limits hold everywhere. Streams of Kubernetes objects ([`documents`]: rendered
//! manifests, parsed back on every render, and CRDs) and lesson files ([`Located`]) first
//! try [`subset`], a fast reader for plain block-style YAML that hands anything else, and
//! every error, to serde-saphyr.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_saphyr::Location;

mod subset;

/// A YAML document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("`{}{}`: {}{message}", path.display(), location_suffix(*line, *column), field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct YamlError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The field the error concerns, as a path (`stages[0].name`), when known.
    pub field: Option<String>,
    /// What is wrong, in our words where the parser's would puzzle a reader.
    pub message: String,
    /// What to do, for the kinds of error where the parser's message is not enough.
    pub hint: Option<String>,
    /// What went wrong, for callers that know better advice for their own format.
    pub kind: YamlErrorKind,
}

/// The kinds of [`YamlError`]. serde reports a field the type does not have, or lacks,
/// only as text; this module is the one place that reads it, so callers match kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// A field the format does not have, or one it needs and does not find.
    Field,
    /// A key that appears twice in one mapping.
    DuplicateKey,
    /// A value of the wrong type or form (a list where text belongs, a bad name).
    Value,
    /// Over a size, nesting or alias limit.
    Limit,
    /// Empty, truncated or otherwise not well-formed YAML.
    Syntax,
}

fn location_suffix(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

fn options() -> serde_saphyr::Options {
    // The defaults already reject duplicate keys and cap alias expansion, nesting and
    // event counts; we spell out the policy we rely on so an upgrade cannot loosen it.
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        // Nothing reads comments as events, and the parser buffers at most 96 of them in a
        // row while it looks ahead: a toggle file with every lesson of a larger catalog
        // commented out (the starter `init` and `render` write) would be refused.
        emit_comments: false,
    }
}

/// Our words for the parser's errors that name its own API or types, and what to do.
fn describe(err: &serde_saphyr::Error, text: &str) -> (String, Option<String>, YamlErrorKind) {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let hint = |h: &str| Some(h.to_owned());
    match innermost(err) {
        Error::Eof { .. } if text.trim().is_empty() => (
            "the file is empty".to_owned(),
            hint("write the document's fields; `catalog/README.md` shows each file's format"),
            YamlErrorKind::Syntax,
        ),
        Error::Eof { .. } => (
            "the document ends in the middle of a value".to_owned(),
            hint("close every `[`, `{` and quote"),
            YamlErrorKind::Syntax,
        ),
        Error::MultipleDocuments { .. } => (
            "the file holds more than one YAML document (a `---` line starts a second one)".to_owned(),
            hint("keep one document in this file: remove the `---` line and what follows it"),
            YamlErrorKind::Syntax,
        ),
        Error::Unexpected { expected, .. } => {
            let expected = match *expected {
                "mapping start" => "a mapping (`key: value` lines)",
                "sequence start" => "a list (`[a, b]` or `- a` lines)",
                "string scalar" => "text (a string)",
                other => other,
            };
            (
                format!("expected {expected} here"),
                hint("check the value's type against the format; text with `: ` or `#` needs quotes"),
                YamlErrorKind::Value,
            )
        }
        Error::DuplicateMappingKey { key, .. } => (
            match key {
                Some(key) => format!("the key `{}` appears twice in one mapping", key.escape_debug()),
                None => "a key appears twice in one mapping".to_owned(),
            },
            hint("keep one of the two entries"),
            YamlErrorKind::DuplicateKey,
        ),
        Error::Budget { breach, .. } => {
            let what = match breach {
                BudgetBreach::Depth { .. } => "nesting deeper than the YAML limit".to_owned(),
                BudgetBreach::Documents { documents } => {
                    format!("more than {} YAML documents", documents.saturating_sub(1))
                }
                BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => {
                    "more aliases or anchors than the YAML limit".to_owned()
                }
                BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                    "more values than the YAML limit".to_owned()
                }
                BudgetBreach::ScalarBytes { .. } => "more text than the YAML limit".to_owned(),
                other => format!("a document over a YAML limit ({other:?})"),
            };
            (
                format!("refused: {what}"),
                hint("nothing in a lesson needs this much; split or simplify the document"),
                YamlErrorKind::Limit,
            )
        }
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => (
            "refused: aliases (`*name`) expand to more than the YAML limit, as in an alias bomb".to_owned(),
            hint("write the values out instead of nesting aliases"),
            YamlErrorKind::Limit,
        ),
        // The parser's own limit on nesting reaches us only as the parser's text (serde-saphyr
        // wraps granit-parser's `ScanError`, whose kind is not ours to name without depending
        // on the parser directly): the one message this module reads.
        other if other.to_string().contains("recursion limit exceeded") => (
            "refused: nesting deeper than the YAML limit".to_owned(),
            hint("nothing in a lesson needs this much; split or simplify the document"),
            YamlErrorKind::Limit,
        ),
        other => {
            let message = other.to_string();
            // The message repeats the location as " at line X, column Y"; we print it once, up front.
            let message = match message.find(" at line ") {
                Some(at) if other.location().is_some() => message[..at].to_owned(),
                _ => message,
            };
            let (hint, kind) = match other {
                // The caller knows which fields its format has.
                Error::SerdeUnknownField { .. } | Error::SerdeMissingField { .. } => (None, YamlErrorKind::Field),
                // serde passes a type's own refusal on only as `custom` text, and in gitgen's
                // formats only the names of `gitgen_base::names` refuse a value that way.
                Error::Message { .. } => (
                    hint("names use lower-case letters, digits and `-` (at most 40 characters), e.g. `probe-test`"),
                    YamlErrorKind::Value,
                ),
                Error::SerdeInvalidType { .. }
                | Error::SerdeUnknownVariant { .. }
                | Error::ExpectedEmptyMappingForUnitStruct { .. }
                | Error::ExpectedStringKeyForExternallyTaggedEnum { .. }
                | Error::ExpectedMappingEndAfterEnumVariantValue { .. } => (
                    hint(
                        "check the value's type against the format: a list is `[a, b]` or `- a` lines, text with `: ` or `#` needs quotes",
                    ),
                    YamlErrorKind::Value,
                ),
                _ => (
                    hint("check the indentation and the quoting at that place"),
                    YamlErrorKind::Syntax,
                ),
            };
            (message, hint, kind)
        }
    }
}

/// The error itself, out of the wrappers for errors met while replaying an alias or
/// carrying a snippet.
fn innermost(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    use serde_saphyr::Error;
    while let Error::WithSnippet { error, .. } | Error::AliasError { error, .. } = err {
        err = error;
    }
    err
}

fn error(path: &Path, text: &str, err: &serde_saphyr::Error, field: Option<String>) -> YamlError {
    use serde_saphyr::Error;
    let location = err.location();
    let (message, mut hint, kind) = describe(err, text);
    if let Some(at) = location {
        let slip = match innermost(err) {
            Error::SerdeMissingField { field, .. } => Some(FieldSlip::Missing(field)),
            Error::SerdeUnknownField { field, .. } => Some(FieldSlip::Unknown(field)),
            _ => None,
        };
        if let Some(slip) = slip {
            hint = misplaced_key_hint(text, slip, at.line(), at.column());
        }
    }
    YamlError {
        path: path.to_owned(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        field,
        message,
        hint,
        kind,
    }
}

/// A field serde found missing, or did not know, at a place in the text.
#[derive(Clone, Copy)]
enum FieldSlip<'a> {
    /// `missing field `key``.
    Missing(&'a str),
    /// `unknown field `key``.
    Unknown(&'a str),
}

/// Indentation advice for a field error (`missing field `x``, `unknown field `x``) at
/// `line` and `column` (1-based), when the text shows the key at another indentation: a
/// line that leaves its mapping by one indentation step reads as a key of the mapping
/// around it, so serde sees a field missing in one place and maybe an unknown one in
/// another. `None` when nothing points at indentation (the caller's hint on its format
/// then fits).
fn misplaced_key_hint(text: &str, slip: FieldSlip<'_>, line: u64, column: u64) -> Option<String> {
    let (FieldSlip::Missing(key) | FieldSlip::Unknown(key)) = slip;
    // Content lines: (1-based number, indentation, the key the line starts with).
    let lines: Vec<(u64, usize, Option<&str>)> = text
        .lines()
        .zip(1u64..)
        .filter(|(l, _)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(l, n)| {
            let body = l.trim_start();
            let key = body
                .split_once(':')
                .map(|(k, _)| k)
                .filter(|k| !k.contains([' ', '"', '\'']));
            (n, l.len() - body.len(), key)
        })
        .collect();
    let at = usize::try_from(column.checked_sub(1)?).ok()?;
    if let FieldSlip::Missing(_) = slip {
        // The mapping's fields sit at `at`; it ends at the first line after `line` that is
        // indented less. A `key:` there, or inside it at another depth, is the one missing.
        let after = lines.iter().filter(|(n, _, _)| *n > line);
        let end = after.clone().find(|(_, indent, _)| *indent < at);
        let inside = after
            .take_while(|(_, indent, _)| *indent >= at)
            .find(|(_, indent, k)| *indent != at && *k == Some(key));
        let (found, indent, _) = inside.or(end.filter(|(_, _, k)| *k == Some(key)))?;
        return Some(format!(
            "`{key}` is at line {found}, indented {indent} space(s); the other fields of this mapping (line {line}) are indented {at}: indent it the same, under the mapping it belongs to"
        ));
    }
    if let FieldSlip::Unknown(_) = slip {
        // A key indented less than the line above it has left the mapping that line is in.
        let (above, indent, _) = lines.iter().take_while(|(n, _, _)| *n < line).last()?;
        if *indent > at {
            return Some(format!(
                "`{key}` is indented {at} space(s), less than line {above} above it ({indent}): if it belongs to that mapping, indent it {indent} spaces; otherwise remove it"
            ));
        }
    }
    None
}

/// A field path as a reader writes it (`stages[0].name`), without the parts that are
/// not in the file: the inside of `Spanned` wrappers and map keys serde cannot name.
fn field_path(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key == "value" || key == "referenced" || key == "defined" => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.extend(key.chars().flat_map(|c| c.escape_debug()));
            }
            Segment::Unknown => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// 1-based line and column of the first byte that is not UTF-8, for messages about a file
/// that is not text.
pub fn invalid_utf8_position(err: &std::string::FromUtf8Error) -> (usize, usize) {
    let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
    let column = valid.len() - valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Parses one YAML document into `T`. Errors name the field they concern.
pub fn from_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, YamlError> {
    let mut field = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|err| {
            field = field_path(err.path());
            err.into_inner()
        })
    })
    .map_err(|e| error(path, text, &e, field))
}

/// One document read into `T`, whose `Spanned` parts give their line and column through
/// [`Located::locate`].
///
/// Most documents gitgen reads many of (`lesson.yaml`) are plain and valid, so
/// [`Located::read`] reads plain text with [`subset`]'s fast reader, whose values carry no
/// locations, and keeps the text; the first [`Located::locate`] (a message about a
/// mistake, the rare case) reads it again with serde-saphyr. Text outside the subset, and
/// every mistake of form, goes to serde-saphyr at once. Callers see one value either way.
#[derive(Debug)]
pub struct Located<T> {
    value: T,
    /// The text of a document read quickly, and its reading with locations once asked for.
    quick: Option<QuickRead<T>>,
}

#[derive(Debug)]
struct QuickRead<T> {
    text: String,
    located: OnceLock<Option<T>>,
}

impl<T: DeserializeOwned> Located<T> {
    /// Parses one YAML document into `T`. Errors name the field and the line they concern.
    pub fn read(text: &str, path: &Path) -> Result<Self, YamlError> {
        Ok(match from_plain_str(text) {
            Some(value) => Located {
                value,
                quick: Some(QuickRead {
                    text: text.to_owned(),
                    located: OnceLock::new(),
                }),
            },
            None => Located {
                value: from_str(text, path)?,
                quick: None,
            },
        })
    }

    /// Where the part that `pick` chooses in the value stands in the text; `None` when
    /// `pick` chooses none.
    pub fn locate(&self, pick: impl FnOnce(&T) -> Option<Location>) -> Option<Location> {
        match &self.quick {
            None => pick(&self.value),
            // The fast reader and serde-saphyr agree on every text the fast one reads (the
            // differential tests in `subset`), so this reading succeeds and has the same shape.
            Some(quick) => quick
                .located
                .get_or_init(|| serde_saphyr::from_str_with_options(&quick.text, options()).ok())
                .as_ref()
                .and_then(pick),
        }
    }

    /// Whether the fast reader read the text, for the tests that hold it to the course.
    #[cfg(any(test, feature = "test-support"))]
    pub fn was_read_quickly(&self) -> bool {
        self.quick.is_some()
    }

    /// The value, for tests that change what was read. The text no longer matches it, so
    /// from then on its locations are the ones the value holds.
    #[cfg(any(test, feature = "test-support"))]
    pub fn value_mut(&mut self) -> &mut T {
        self.quick = None;
        &mut self.value
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Parses one document of plain block-style text (what [`subset`] reads) into `T`, without
/// locations: every `Spanned` value holds `Location::UNKNOWN`. `None` when the text is
/// outside the subset or does not fit `T`.
fn from_plain_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    // `from_str` refuses a second document even when it is empty; `subset` skips it.
    if text
        .lines()
        .any(|line| line.starts_with("---") || line.starts_with("..."))
    {
        return None;
    }
    let mut documents = subset::documents(text)?;
    if documents.len() != 1 {
        return None;
    }
    serde_json::from_value(documents.pop()?).ok()
}

/// Parses a multi-document stream of Kubernetes objects; empty documents are skipped.
///
/// Plain block-style text takes [`subset`]'s fast path; everything else, and every
/// mistake, goes through serde-saphyr.
pub fn documents(text: &str, path: &Path) -> Result<Vec<serde_json::Value>, YamlError> {
    match subset::documents(text) {
        Some(documents) => Ok(documents),
        None => full_documents(text, path),
    }
}

/// [`documents`] without the fast path.
fn full_documents(text: &str, path: &Path) -> Result<Vec<serde_json::Value>, YamlError> {
    serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| error(path, text, &e, None))
}

/// Writes `value` as block-style YAML with a trailing newline.
pub fn to_string<T: serde::Serialize>(value: &T) -> String {
    // Serializing our own in-memory values cannot fail: they hold only maps, lists,
    // strings, numbers and booleans.
    let mut text = serde_saphyr::to_string(value).expect("serializing a plain value to YAML");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        name: String,
    }

    #[test]
    fn a_mapping_with_hundreds_of_commented_lines_in_a_row_parses() {
        let commented: String = (0..300).map(|i| format!("  # lesson-{i}: stage\n")).collect();
        let text = format!("top: t\ninner:\n{commented}  a: x\n  b: y\n");
        let outer = from_str::<Outer>(&text, Path::new("x.yaml"));
        assert!(outer.is_ok(), "{:?}", outer.err().map(|e| e.message));
    }

    #[test]
    fn names_the_line_and_column_of_an_unknown_field() {
        let err = from_str::<Small>("name: a\nnmae: b\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("nmae"), "{}", err.message);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
        top: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: String,
        b: String,
    }

    #[test]
    fn a_field_missing_because_it_left_its_mapping_gets_an_indentation_hint() {
        for text in ["inner:\n  a: x\nb: y\n", "top: t\ninner:\n  a: x\n b: y\n"] {
            let err = from_str::<Outer>(text, Path::new("x.yaml")).unwrap_err();
            let hint = err.hint.unwrap_or_default();
            assert!(hint.contains("`b` is at line"), "{text:?}: {}: {hint}", err.message);
            assert!(hint.contains("indented 2"), "{text:?}: {hint}");
        }
    }

    #[test]
    fn an_unknown_key_indented_less_than_the_line_above_gets_an_indentation_hint() {
        let err = from_str::<Small>("name: a\nnmae: b\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.hint, None, "`nmae` is a typo, not a dedent: {}", err.message);
        let err = from_str::<Outer>("inner:\n  a: x\n  b: y\nc: z\n", Path::new("x.yaml")).unwrap_err();
        let hint = err.hint.unwrap_or_default();
        assert!(hint.contains("indent it 2 spaces"), "{}: {hint}", err.message);
    }

    #[test]
    fn a_field_missing_with_no_such_key_anywhere_gets_no_indentation_hint() {
        let err = from_str::<Outer>("inner:\n  a: x\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.message.contains("missing field `b`"), "{}", err.message);
        assert_eq!(err.hint, None);
    }

    #[test]
    fn refuses_duplicate_keys() {
        let err = from_str::<serde_json::Value>("a: 1\na: 2\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.message.contains("appears twice"), "{}", err.message);
    }

    #[test]
    fn refuses_an_alias_bomb() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(from_str::<serde_json::Value>(&text, Path::new("bomb.yaml")).is_err());
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            items: Vec<Small>,
        }
        let err = from_str::<Outer>("items:\n  - name: [a]\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items[0].name"), "{err}");
    }

    #[test]
    fn a_name_gitgen_refuses_and_a_value_of_the_wrong_type_are_value_errors_with_their_hints() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Named {
            id: gitgen_base::names::LessonId,
            count: u32,
        }
        let name = from_str::<Named>("id: Bad_Name\ncount: 1\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(name.kind, YamlErrorKind::Value, "{name}");
        assert!(
            name.hint.as_deref().is_some_and(|h| h.starts_with("names use")),
            "{name:?}"
        );
        let wrong_type = from_str::<Named>("id: a\ncount: {many: 2}\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(wrong_type.kind, YamlErrorKind::Value, "{wrong_type}");
        assert!(
            wrong_type
                .hint
                .as_deref()
                .is_some_and(|h| h.starts_with("check the value's type")),
            "{wrong_type:?}"
        );
    }

    #[test]
    fn says_an_empty_file_is_empty() {
        let err = from_str::<Small>("\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.message, "the file is empty");
    }

    #[test]
    fn refuses_deep_nesting_with_our_words() {
        let text = format!("name: {}", "[".repeat(10_000));
        let err = from_str::<serde_json::Value>(&text, Path::new("x.yaml")).unwrap_err();
        assert!(err.message.starts_with("refused"), "{err}");
    }
}
