//! The scalar rules of the fast reader: keys, one-line quoted and plain scalars, one-line
//! flow collections of scalars, and how a plain scalar resolves (null, boolean, integer or
//! string) the way serde-saphyr resolves it for `serde_json::Value`. Each returns `None`
//! for anything it leaves to serde-saphyr.

use serde_json::{Map, Number, Value};

/// serde-saphyr stops looking for a key's `:` after 1,024 characters.
const MAX_KEY_LEN: usize = 512;

/// `key: rest` or `key:` at the start of `text`: the key and what follows the colon.
pub(super) fn split_key(text: &str) -> Option<(String, &str)> {
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
pub(super) fn ends_line(after: &str) -> bool {
    let rest = after.trim_start_matches(' ');
    rest.is_empty() || (rest.starts_with('#') && rest.len() < after.len())
}

/// A one-line quoted scalar at the start of `text`, and the text after it.
pub(super) fn quoted(text: &str) -> Option<(String, &str)> {
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
pub(super) fn flow_sequence(text: &str) -> Option<(Vec<Value>, &str)> {
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
pub(super) fn flow_mapping(text: &str) -> Option<(Map<String, Value>, &str)> {
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
pub(super) fn plain_line(content: &str) -> Option<(&str, bool)> {
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
pub(super) fn resolve(text: &str) -> Option<Value> {
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
    use super::super::differential::agrees;

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
}
