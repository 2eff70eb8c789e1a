//! The line scanner of the fast reader: each line as its indentation and the rest, and
//! the characters that keep a text out of the subset because they change how lines and
//! indentation are read.

/// Printable characters other than tab, carriage return and the Unicode line breaks:
/// those change how lines and indentation are read, so text holding them goes to
/// serde-saphyr.
pub(super) fn is_plain_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{2027}' | '\u{202A}'..='\u{D7FF}' | '\u{E000}'..='\u{FEFE}' | '\u{FF00}'..='\u{FFFD}' | '\u{10000}'..)
}

/// One line of the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    /// Leading spaces.
    pub(super) indent: usize,
    /// The rest of the line.
    pub(super) text: &'a str,
}

impl<'a> Line<'a> {
    pub(super) fn new(raw: &'a str) -> Self {
        let text = raw.trim_start_matches(' ');
        Line {
            indent: raw.len() - text.len(),
            text,
        }
    }

    /// Empty, all spaces, or a comment: skipped outside literal blocks.
    pub(super) fn is_blank(&self) -> bool {
        self.text.is_empty() || self.text.starts_with('#')
    }

    /// A sequence entry: `- value` or a lone `-`.
    pub(super) fn is_entry(&self) -> bool {
        self.text == "-" || self.text.starts_with("- ")
    }

    /// `---` or `...` at the start of a line: the document ends here.
    pub(super) fn is_marker(&self) -> bool {
        self.indent == 0
            && ["---", "..."].iter().any(|m| {
                self.text
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_its_indentation_and_the_rest() {
        let line = Line::new("    - name: x");
        assert_eq!((line.indent, line.text), (4, "- name: x"));
        assert!(line.is_entry() && !line.is_blank() && !line.is_marker());
        assert!(Line::new("  # note").is_blank() && Line::new("   ").is_blank());
        assert!(Line::new("-").is_entry() && !Line::new("-x").is_entry());
    }

    #[test]
    fn only_a_marker_at_the_start_of_a_line_ends_a_document() {
        for marker in ["---", "--- # c", "...", "--- a: 1"] {
            assert!(Line::new(marker).is_marker(), "{marker}");
        }
        for other in [" ---", "----", "---a", "- --"] {
            assert!(!Line::new(other).is_marker(), "{other}");
        }
    }

    #[test]
    fn tabs_carriage_returns_and_unicode_line_breaks_keep_text_out() {
        for c in ['\t', '\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{7f}'] {
            assert!(!is_plain_printable(c), "{c:?}");
        }
        for c in ['a', ' ', '\n', 'ä', '\u{a0}', '🙂'] {
            assert!(is_plain_printable(c), "{c:?}");
        }
    }
}
