//! The one place gitgen parses and writes YAML.
//!
//! We use `serde-saphyr` rather than the deprecated `serde_yaml`: it never panics on
//! malformed input, enforces budgets against alias bombs and huge documents, rejects
//! duplicate keys, and reports line and column. Every caller goes through here so those
//! limits hold everywhere.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A YAML document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("`{}{}`: {message}", path.display(), location_suffix(*line, *column))]
pub struct YamlError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// What the parser said, without its source snippet.
    pub message: String,
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
    }
}

fn error(path: &Path, err: &serde_saphyr::Error) -> YamlError {
    let location = err.location();
    let message = err.without_snippet().to_string();
    // The message repeats the location as " at line X, column Y"; we print it once, up front.
    let message = match message.find(" at line ") {
        Some(at) if location.is_some() => message[..at].to_owned(),
        _ => message,
    };
    YamlError {
        path: path.to_owned(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        message,
    }
}

/// Parses one YAML document into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| error(path, &e))
}

/// Parses a multi-document stream; empty documents are skipped.
pub fn from_multiple<T: DeserializeOwned>(text: &str, path: &Path) -> Result<Vec<T>, YamlError> {
    serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| error(path, &e))
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
    fn names_the_line_and_column_of_an_unknown_field() {
        let err = from_str::<Small>("name: a\nnmae: b\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("nmae"), "{}", err.message);
    }

    #[test]
    fn refuses_duplicate_keys() {
        let err = from_str::<serde_json::Value>("a: 1\na: 2\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.message.contains("uplicate"), "{}", err.message);
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
}
