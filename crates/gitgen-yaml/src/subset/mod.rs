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
//!
//! [`lines`] scans the lines, [`scalars`] holds the rules for keys and scalars, and this
//! module builds the trees from them. The differential tests (`differential`, and the
//! tables beside each part) hold the two readers to the same answer.

use std::borrow::Cow;

use serde_json::{Map, Value};

use self::lines::{Line, is_plain_printable};
use self::scalars::{ends_line, flow_mapping, flow_sequence, plain_line, quoted, resolve, split_key};

#[cfg(test)]
mod differential;
mod lines;
mod scalars;

/// serde-saphyr refuses documents nested deeper than 64 levels; well below that, it decides.
const MAX_DEPTH: usize = 32;
/// serde-saphyr refuses more than 1,024 documents in one stream.
const MAX_DOCUMENTS: usize = 512;
/// serde-saphyr refuses more than 250,000 nodes.
const MAX_NODES: usize = 100_000;
/// serde-saphyr refuses more than 64 MiB of scalars.
const MAX_TEXT: usize = 16 << 20;

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

/// Builds the documents' trees from the lines, one node at a time.
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

#[cfg(test)]
mod tests {
    use super::differential::agrees;
    use super::*;

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
            assert!(
                !agrees(text),
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
        assert!(!agrees(&deep), "the fast path should leave this to serde-saphyr");
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
}
