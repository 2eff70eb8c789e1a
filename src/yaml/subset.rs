//! A fast reader for the plain block-style YAML that rendered manifests are made of.
//!
//! Every rendered template is parsed back before it is written, and at catalog scale that
//! parse is most of a render's time. Nearly all of that text is block mappings and
//! sequences of plain or quoted scalars, one-line flow collections of scalars, literal
//! blocks for scripts and config files, and folded blocks for prose. This module reads
//! that subset in one pass over the lines and builds the same `serde_json::Value` that
//! serde-saphyr would. It never reports an error: at the first thing outside the subset
//! (anchors, tags, folded blocks with more indented lines, multi-line quoted scalars,
//! escapes, nested flow collections, floats, anything invalid) it returns `None`, and
//! serde-saphyr reads the text instead and explains any mistake with its line and column.
//! Differential tests hold the two to the same answer.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// serde-saphyr refuses documents nested deeper than 64 levels; well below that, it decides.
const MAX_DEPTH: usize = 32;
/// serde-saphyr refuses more than 1,024 documents in one stream.
const MAX_DOCUMENTS: usize = 512;
/// serde-saphyr refuses more than 250,000 nodes.
const MAX_NODES: usize = 100_000;
/// serde-saphyr refuses more than 64 MiB of scalars.
const MAX_TEXT: usize = 16 << 20;
/// serde-saphyr stops looking for a key's `:` after 1,024 characters.
const MAX_KEY_LEN: usize = 512;

/// The documents of `text`, empty ones skipped, or `None` when `text` is not within the
/// subset (or is not valid YAML at all).
pub(super) fn documents(text: &str) -> Option<Vec<Value>> {
    if text.len() > MAX_TEXT || !text.chars().all(is_plain_printable) {
        return None;
    }
    let mut reader = Reader {
        lines: text.split('\n').map(Line::new).collect(),
        at: 0,
        depth: 0,
        nodes: 0,
    };
    reader.stream()
}

/// Printable characters other than tab, carriage return and the Unicode line breaks:
/// those change how lines and indentation are read, so text holding them goes to
/// serde-saphyr.
fn is_plain_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{2027}' | '\u{202A}'..='\u{D7FF}' | '\u{E000}'..='\u{FEFE}' | '\u{FF00}'..='\u{FFFD}' | '\u{10000}'..)
}

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// Leading spaces.
    indent: usize,
    /// The rest of the line.
    text: &'a str,
}

impl<'a> Line<'a> {
    fn new(raw: &'a str) -> Self {
        let text = raw.trim_start_matches(' ');
        Line {
            indent: raw.len() - text.len(),
            text,
        }
    }

    /// Empty, all spaces, or a comment: skipped outside literal blocks.
    fn is_blank(&self) -> bool {
        self.text.is_empty() || self.text.starts_with('#')
    }

    /// A sequence entry: `- value` or a lone `-`.
    fn is_entry(&self) -> bool {
        self.text == "-" || self.text.starts_with("- ")
    }

    /// `---` or `...` at the start of a line: the document ends here.
    fn is_marker(&self) -> bool {
        self.indent == 0
            && ["---", "..."].iter().any(|m| {
                self.text
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
    }
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
    depth: usize,
    nodes: usize,
}

impl<'a> Reader<'a> {
    fn stream(&mut self) -> Option<Vec<Value>> {
        let mut documents = Vec::new();
        while let Some(line) = self.next_line() {
            if line.is_marker() {
                // Only a bare `---` (a comment may follow) is read here; `...`, and content
                // on the marker's line, go to serde-saphyr.
                let rest = line.text.strip_prefix("---")?.trim_start_matches(' ');
                if !(rest.is_empty() || rest.starts_with('#')) {
                    return None;
                }
                self.at += 1;
                continue;
            }
            if line.text.starts_with('%') || documents.len() == MAX_DOCUMENTS {
                return None;
            }
            documents.push(self.block_node(line)?);
            // The document's node must end at a marker or at the end of the text.
            if self.next_line().is_some_and(|next| !next.is_marker()) {
                return None;
            }
        }
        Some(documents)
    }

    /// Skips blank and comment lines; the next line, if any, is not consumed.
    fn next_line(&mut self) -> Option<Line<'a>> {
        while let Some(line) = self.lines.get(self.at) {
            if !line.is_blank() {
                return Some(*line);
            }
            self.at += 1;
        }
        None
    }

    /// Counts a node against the budget.
    fn node(&mut self, value: Value) -> Option<Value> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(value)
    }

    /// A block mapping or sequence whose first line is `first`.
    fn block_node(&mut self, first: Line<'a>) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let value = if first.is_entry() {
            self.sequence(first.indent)
        } else {
            self.mapping(first.indent)
        };
        self.depth -= 1;
        self.node(value?)
    }

    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.next_line() {
            if line.indent < indent || line.is_marker() {
                break;
            }
            if line.indent > indent || line.is_entry() {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.at += 1;
            let value = self.value(indent, rest, true)?;
            if map.insert(key, value).is_some() {
                // A duplicate key: serde-saphyr reports it.
                return None;
            }
        }
        Some(Value::Object(map))
    }

    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.next_line() {
            if line.indent < indent || line.is_marker() {
                break;
            }
            if !line.is_entry() {
                // A key after a mapping's sequence at the key's own indentation.
                break;
            }
            if line.indent > indent {
                return None;
            }
            let rest = &line.text[1..];
            let content = rest.trim_start_matches(' ');
            let column = indent + 1 + rest.len() - content.len();
            let item = if content.starts_with("- ") || content == "-" {
                // A sequence nested on the entry's line.
                return None;
            } else if !content.starts_with(['"', '\'']) && split_key(content).is_some() {
                // `- key: value` opens a mapping whose keys line up at `column`: read this
                // line as if the entry's content stood there on its own.
                self.lines[self.at] = Line {
                    indent: column,
                    text: content,
                };
                self.block_node(self.lines[self.at])?
            } else {
                self.at += 1;
                self.value(indent, rest, false)?
            };
            items.push(item);
        }
        Some(Value::Array(items))
    }

    /// The value after a key's `:` or an entry's `-`, on a line at `indent`. A mapping's
    /// value may be a sequence at the key's own indentation; an entry's may not.
    fn value(&mut self, indent: usize, rest: &'a str, in_mapping: bool) -> Option<Value> {
        // `rest` starts with a space or is empty: a key's `:` and an entry's `-` need one.
        let content = rest.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            return match self.next_line() {
                Some(next)
                    if !next.is_marker()
                        && (next.indent > indent || (in_mapping && next.indent == indent && next.is_entry())) =>
                {
                    self.block_node(next)
                }
                _ => self.node(Value::Null),
            };
        }
        if let Some(header) = content.strip_prefix('|') {
            return self.block_scalar(indent, header, false);
        }
        if let Some(header) = content.strip_prefix('>') {
            return self.block_scalar(indent, header, true);
        }
        let (value, after) = match content.as_bytes()[0] {
            b'"' | b'\'' => {
                let (text, after) = quoted(content)?;
                (Value::String(text), after)
            }
            b'[' => {
                let (items, after) = flow_sequence(content)?;
                self.nodes += items.len();
                (Value::Array(items), after)
            }
            b'{' => {
                let (entries, after) = flow_mapping(content)?;
                self.nodes += entries.len();
                (Value::Object(entries), after)
            }
            _ => {
                let (first, commented) = plain_line(content)?;
                let text = if commented {
                    first.into()
                } else {
                    self.continued(indent, first)?
                };
                (resolve(&text)?, "")
            }
        };
        if !ends_line(after) {
            return None;
        }
        // A more indented line would continue a multi-line scalar (or be a mistake).
        if self
            .next_line()
            .is_some_and(|next| next.indent > indent && !next.is_marker())
        {
            return None;
        }
        self.node(value)
    }

    /// A plain scalar whose first line was `first`: more indented lines continue it,
    /// folded into one line, where an empty line stands for a line break.
    fn continued(&mut self, indent: usize, first: &'a str) -> Option<Cow<'a, str>> {
        let mut text = Cow::Borrowed(first);
        loop {
            let mut next = self.at;
            while self.lines.get(next).is_some_and(|line| line.text.is_empty()) {
                next += 1;
            }
            let Some(line) = self
                .lines
                .get(next)
                .filter(|line| line.indent > indent && !line.is_marker())
            else {
                return Some(text);
            };
            let (piece, commented) = plain_line(line.text)?;
            if commented {
                return None;
            }
            let text = text.to_mut();
            match next - self.at {
                0 => text.push(' '),
                breaks => text.extend(std::iter::repeat_n('\n', breaks)),
            }
            text.push_str(piece);
            self.at = next + 1;
        }
    }

    /// A literal (`|`, `|-`) or folded (`>`, `>-`) block scalar whose header follows the
    /// indicator and whose lines are indented deeper than `indent`. A folded block joins
    /// lines with a space and keeps an empty line as a line break; its lines must all
    /// start at one indentation, as more indented lines fold by other rules.
    fn block_scalar(&mut self, indent: usize, header: &str, folded: bool) -> Option<Value> {
        let (strip, comment) = match header.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, header),
        };
        if !(comment.is_empty() || comment.starts_with(' ') && ends_line(comment)) {
            // `|+`, an indentation indicator, or content on the header line.
            return None;
        }
        let content_indent = self.lines[self.at..].iter().find(|line| !line.text.is_empty())?.indent;
        if content_indent <= indent {
            return None;
        }
        let mut text = String::new();
        let mut blanks = 0;
        let mut last = None;
        while let Some(line) = self.lines.get(self.at) {
            if line.text.is_empty() {
                if line.indent > content_indent {
                    // A line of spaces longer than the indentation is content: rare, and
                    // subtle at the block's end, so serde-saphyr reads it.
                    return None;
                }
                blanks += 1;
            } else if line.indent < content_indent {
                break;
            } else if folded && (line.indent > content_indent || last.is_none() && blanks > 0) {
                // More indented lines, and empty lines before the first, fold by other rules.
                return None;
            } else {
                match (last, folded, blanks) {
                    (None, ..) => {}
                    (Some(_), true, 0) => text.push(' '),
                    (Some(_), true, _) => {}
                    (Some(_), false, _) => text.push('\n'),
                }
                text.extend(std::iter::repeat_n('\n', blanks));
                blanks = 0;
                text.extend(std::iter::repeat_n(' ', line.indent - content_indent));
                text.push_str(line.text);
                last = Some(self.at);
            }
            self.at += 1;
        }
        if last? + 1 == self.lines.len() {
            // The block ends the text without a line break, which changes its value.
            return None;
        }
        if !strip {
            text.push('\n');
        }
        self.node(Value::String(text))
    }
}

/// `key: rest` or `key:` at the start of `text`: the key and what follows the colon.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, after) = match text.as_bytes().first()? {
        b'"' | b'\'' => quoted(text)?,
        _ => {
            let end = text.find(':')?;
            let key = &text[..end];
            let simple = key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'));
            if !simple || !key.starts_with(|c: char| c.is_ascii_alphabetic()) || is_special_word(key) {
                return None;
            }
            (key.to_owned(), &text[end..])
        }
    };
    let rest = after.strip_prefix(':')?;
    (key.len() <= MAX_KEY_LEN && !key.is_empty() && (rest.is_empty() || rest.starts_with(' '))).then_some((key, rest))
}

/// Whether only spaces and a comment remain.
fn ends_line(after: &str) -> bool {
    let rest = after.trim_start_matches(' ');
    rest.is_empty() || (rest.starts_with('#') && rest.len() < after.len())
}

/// A one-line quoted scalar at the start of `text`, and the text after it.
fn quoted(text: &str) -> Option<(String, &str)> {
    match text.as_bytes().first()? {
        b'"' => double_quoted(text).map(|(value, after)| (value.to_owned(), after)),
        _ => single_quoted(text),
    }
}

/// A one-line double-quoted scalar without escapes, and the text after its closing quote.
fn double_quoted(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let end = body.find(['"', '\\'])?;
    (body.as_bytes()[end] == b'"').then(|| (&body[..end], &body[end + 1..]))
}

/// A one-line single-quoted scalar (`''` stands for `'`), and the text after it.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let mut body = text.strip_prefix('\'')?;
    let mut value = String::new();
    loop {
        let end = body.find('\'')?;
        value.push_str(&body[..end]);
        body = &body[end + 1..];
        match body.strip_prefix('\'') {
            Some(rest) => {
                value.push('\'');
                body = rest;
            }
            None => return Some((value, body)),
        }
    }
}

/// A one-line flow sequence of scalars (`[a, "b", 3]`), and the text after its `]`.
fn flow_sequence(text: &str) -> Option<(Vec<Value>, &str)> {
    let mut rest = text.strip_prefix('[')?.trim_start_matches(' ');
    let mut items = Vec::new();
    if let Some(after) = rest.strip_prefix(']') {
        return Some((items, after));
    }
    loop {
        let (item, after) = flow_scalar(rest, ']')?;
        items.push(item);
        match flow_next(after, ']')? {
            FlowNext::Item(next) => rest = next,
            FlowNext::End(after) => return Some((items, after)),
        }
    }
}

/// A one-line flow mapping of scalars (`{a: 1, b: x}`), and the text after it.
fn flow_mapping(text: &str) -> Option<(Map<String, Value>, &str)> {
    let mut rest = text.strip_prefix('{')?.trim_start_matches(' ');
    let mut entries = Map::new();
    if let Some(after) = rest.strip_prefix('}') {
        return Some((entries, after));
    }
    loop {
        let (key, after) = split_key(rest)?;
        // `{a:}` and `{a:b}` read otherwise in flow style; both go to serde-saphyr.
        let (value, after) = flow_scalar(after.strip_prefix(' ')?.trim_start_matches(' '), '}')?;
        if entries.insert(key, value).is_some() {
            return None;
        }
        match flow_next(after, '}')? {
            FlowNext::Item(next) => rest = next,
            FlowNext::End(after) => return Some((entries, after)),
        }
    }
}

/// A scalar inside a flow collection closed by `close`, and the text after it.
fn flow_scalar(text: &str, close: char) -> Option<(Value, &str)> {
    match text.as_bytes().first()? {
        b'"' | b'\'' => {
            let (value, after) = quoted(text)?;
            Some((Value::String(value), after))
        }
        _ => {
            let end = text.find([',', close])?;
            let word = text[..end].trim_end_matches(' ');
            if word.contains([':', '#', '[', ']', '{', '}']) || word.starts_with('-') {
                return None;
            }
            Some((resolve(plain_line(word)?.0)?, &text[end..]))
        }
    }
}

/// What follows an item of a flow collection.
enum FlowNext<'a> {
    /// Another item, starting here.
    Item(&'a str),
    /// The closing bracket, and the text after it.
    End(&'a str),
}

fn flow_next(after: &str, close: char) -> Option<FlowNext<'_>> {
    let after = after.trim_start_matches(' ');
    if let Some(after) = after.strip_prefix(close) {
        return Some(FlowNext::End(after));
    }
    let next = after.strip_prefix(',')?.trim_start_matches(' ');
    // A trailing comma goes to serde-saphyr.
    (!next.starts_with(close)).then_some(FlowNext::Item(next))
}

/// The first line of a plain scalar, trimmed, and whether a comment follows it. `None`
/// when it starts with an indicator or holds `: `, which this subset leaves alone.
fn plain_line(content: &str) -> Option<(&str, bool)> {
    let first = *content.as_bytes().first()?;
    let (text, comment) = match content.split_once(" #") {
        Some((text, _)) => (text.trim_end_matches(' '), true),
        None => (content.trim_end_matches(' '), false),
    };
    let dash_word = first == b'-' && text.len() > 1 && text.as_bytes()[1] != b' ';
    if (b"-?:,[]{}#&*!|>'\"%@`".contains(&first) && !dash_word) || text.contains(": ") || text.ends_with(':') {
        return None;
    }
    Some((text, comment))
}

/// A plain scalar resolved the way serde-saphyr resolves an untagged one for
/// `serde_json::Value`: null, a YAML 1.1 boolean, a decimal integer, or a string.
/// Anything that might be another number (floats, octal, hex, `1_000`) is left to
/// serde-saphyr.
fn resolve(text: &str) -> Option<Value> {
    if matches!(text, "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(b) = yaml11_bool(text) {
        return Some(Value::Bool(b));
    }
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    let signed_digit = first == b'-' && matches!(bytes.get(1), Some(b'0'..=b'9' | b'.'));
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'.') || signed_digit) {
        return Some(Value::String(text.to_owned()));
    }
    if let Some(number) = decimal_integer(text) {
        return Some(Value::Number(number));
    }
    if text.trim_start_matches(['+', '-']).starts_with('.') {
        // `.5`, `-.inf`, `.nan`, or a string: serde-saphyr decides.
        return None;
    }
    // A number in any radix is made of digits, radix letters, `_`, one `.` and a sign
    // that comes first or after a float's `e`. Text breaking any of that (`500m`,
    // `1.27.3`, `2024-01-01`) is a string; the rest might be a number.
    let numeric = |b: &u8| b.is_ascii_hexdigit() || b"xXoO_.+-".contains(b);
    let misplaced_sign =
        (1..bytes.len()).any(|i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let dots = bytes.iter().filter(|&&b| b == b'.').count();
    (!bytes.iter().all(numeric) || misplaced_sign || dots > 1).then(|| Value::String(text.to_owned()))
}

/// `0`, `42` or `-42`, without a leading zero, within 64 bits.
fn decimal_integer(text: &str) -> Option<Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.starts_with('0') && text != "0") {
        return None;
    }
    if text.starts_with('-') {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    }
}

/// serde-saphyr's default booleans: YAML 1.1's, in any case.
fn yaml11_bool(text: &str) -> Option<bool> {
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(&["true", "yes", "y", "on"]) {
        Some(true)
    } else if is(&["false", "no", "n", "off"]) {
        Some(false)
    } else {
        None
    }
}

/// Keys that serde-saphyr might read as something other than their text.
fn is_special_word(key: &str) -> bool {
    matches!(key, "null" | "Null" | "NULL") || yaml11_bool(key).is_some()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;

    /// Whether the fast path read `text`; when it did, serde-saphyr must agree with it.
    fn agrees(text: &str) -> bool {
        let Some(fast) = documents(text) else { return false };
        match super::super::full_documents(text, Path::new("t.yaml")) {
            Ok(full) => assert_eq!(fast, full, "the two readers differ on:\n{text}"),
            Err(err) => panic!("the fast path read text that serde-saphyr refuses ({err}):\n{text}"),
        }
        true
    }

    #[test]
    fn reads_a_typical_manifest_as_serde_saphyr_does() {
        let text = r#"# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # trailing comment
  labels:
    app.kubernetes.io/name: "web"
    tier: 'front''end'
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        args: ["--port", '8080', 9090, plain]
        command: []
        resources:
          requests: {cpu: 100m}
          limits: {}
        ports:
          - containerPort: 80

            protocol: TCP
        env:
        -
          name: EMPTY
        - name: NEGATIVE
          value: -12
---
apiVersion: v1
kind: ConfigMap
data:
  script.sh: |
    #!/bin/sh

      echo "indented: # not a comment"
    exit 0
  stripped: |- # a comment on the header
    one
    two


  flags: [yes, Off, ~, null, 0]
...
"#;
        // `...` goes to serde-saphyr; without it, the fast path reads it.
        assert!(!agrees(text));
        let text = text.replace("...\n", "---\n");
        assert!(agrees(&text), "the fast path should read:\n{text}");
    }

    #[rustfmt::skip]
    const PLAIN: &[&str] = &[
        "x", "hello world", "0", "1", "-1", "42", "18446744073709551615", "-9223372036854775808", "true", "True",
        "TRUE", "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "NULL", "nan", "inf", "Infinity", "e5",
        "500m", "128Mi", "3s", "1h30m", "-c", "--port=80", "-x-", "a#b", "a,b", "a[0]", "x:y", "http://a/b", "ä ö",
        "1 2", "12:30", "1/2", "-1m", "0x1g", "v1.2.3", "1.27.3", "10.0.0.1", "2024-01-01", "1e5-3", "a 'b' \"c\"",
    ];

    #[test]
    fn resolves_plain_scalars_as_serde_saphyr_does() {
        for value in PLAIN {
            assert!(
                agrees(&format!("key: {value}\n")),
                "the fast path should read `{value}`"
            );
            assert!(agrees(&format!("- {value}\n")), "the fast path should read `- {value}`");
        }
    }

    #[test]
    fn leaves_anything_outside_the_subset_to_serde_saphyr() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >+\n  kept\n\n",
            "a: >\n  folded\n    more indented\n",
            "a: >\n\n  after an empty line\n",
            "a: |+\n  kept\n\n",
            "a: |2\n   x\n",
            "a: \"esc\\\"aped\"\n",
            "a: \"two\n  lines\"\n",
            "a: {b: {c: 1}}\n",
            "a: {b: 1, b: 2}\n",
            "a: {b: 1,}\n",
            "a: {b:1}\n",
            "a: {b: [c]}\n",
            "a: {y: 1}\n",
            "a: [b, [c]]\n",
            "a: [b,]\n",
            "a: 1.5\n",
            "a: .5\n",
            "a: 0x1F\n",
            "a: 0o17\n",
            "a: 010\n",
            "a: +1\n",
            "a: 1_000\n",
            "a: 1e3\n",
            "a: 1.5e+3\n",
            "a: -.inf\n",
            "a: +.nan\n",
            "a: .x\n",
            "a: -0x1F\n",
            "a: 18446744073709551616\n",
            "a: b: c\n",
            "a: b:\n",
            "a:b\n",
            "a: 1\na: 2\n",
            "<<: {a: 1}\n",
            "y: 1\n",
            "null: 1\n",
            "1: x\n",
            "a\tb: 1\n",
            "a: 1\r\n",
            "\u{feff}a: 1\n",
            "%YAML 1.2\n---\na: 1\n",
            "--- a: 1\n",
            "a: 1\n...\n",
            "scalar\n",
            "- - nested\n",
            "? complex\n: key\n",
            "a: |\n  no final line break",
            "a: |\n\n",
            "a:\n  b: 1\n c: 2\n",
        ] {
            assert_eq!(
                documents(text),
                None,
                "the fast path should leave this to serde-saphyr:\n{text}"
            );
        }
    }

    #[test]
    fn skips_empty_documents_as_serde_saphyr_does() {
        for text in [
            "",
            "\n",
            "# only a comment\n",
            "---\n",
            "---\n---\n# c\n---\na: 1\n---\n",
        ] {
            assert!(agrees(text), "the fast path should read {text:?}");
        }
    }

    #[test]
    fn leaves_deep_nesting_to_serde_saphyr() {
        let deep: String = (0..MAX_DEPTH + 1).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        assert_eq!(documents(&deep), None);
        let shallow: String = (0..MAX_DEPTH).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        assert!(agrees(&shallow));
    }

    #[test]
    fn folds_multi_line_plain_scalars_as_serde_saphyr_does() {
        for text in [
            "a: plain\n  continued\n",
            "a: one\n\n  two\n   three\n\n\n  four\nb: 1\n",
            "- one\n  two\n- three\n",
            "- k: one\n    two\n  j: 1\n",
            "a: 12\n  34\n",
        ] {
            assert!(agrees(text), "the fast path should read:\n{text}");
        }
    }

    #[test]
    fn folds_folded_blocks_as_serde_saphyr_does() {
        for text in [
            "a: >\n  one\n  two\n",
            "a: >-\n  one\n  two\nb: 1\n",
            "a: >\n  one\n\n  two\n\n\n  three\n\n\nb: 1\n",
            "a: >-\n  one \n  two  \n",
            "- >\n  one\n  # not a comment\n- x\n",
            "a: > # a comment on the header\n    deeper\n    still\n",
        ] {
            assert!(agrees(text), "the fast path should read:\n{text}");
        }
    }

    #[test]
    fn agrees_with_serde_saphyr_on_the_course_and_the_upstream_crds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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

    /// Runs the configured number of generated texts through [`agrees`] and returns how
    /// many the fast path read, and of how many. A declined text goes to serde-saphyr in
    /// use, which is the reference here, so there is nothing to compare it with; the share
    /// read is what the callers hold to, so a fast reader that declined everything fails.
    fn count_read_fast(strategy: impl Strategy<Value = String>) -> (u32, u32) {
        let config = ProptestConfig::default();
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
                prop::collection::btree_map(0..NAMES.len(), node(), 1..6)
                    .prop_map(|m| m.into_iter().collect::<Vec<_>>()),
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
}
