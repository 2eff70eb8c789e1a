//! Names that become folder names and Kubernetes object names.
//!
//! They are checked when parsed, so a `LessonId` or `StageName` can always be joined
//! to a path without escaping it and used as (part of) a DNS-1123 label.

use std::fmt;

use serde::Deserialize;

/// The longest id: leaves room for `-<chart>` suffixes within Kubernetes' 63-character names.
const MAX_LEN: usize = 40;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}: {problem}")]
pub struct NameError {
    /// The refused value, with control characters escaped.
    pub value: String,
    /// What kind of name it was meant to be.
    pub what: &'static str,
    /// What is wrong with it.
    pub problem: DnsLabelProblem,
}

/// Why a value is not a DNS label (RFC 1123: lower-case letters, digits and `-`, starting
/// and ending with a letter or digit) of at most a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsLabelProblem {
    /// The value is empty.
    #[error("it is empty")]
    Empty,
    /// The value is longer than the limit it was checked against.
    #[error("it is longer than {0} characters")]
    TooLong(usize),
    /// The value holds another character than lower-case letters, digits and `-`.
    #[error("use only lower-case letters, digits and `-`")]
    Characters,
    /// The value starts or ends with `-`.
    #[error("it must start and end with a letter or digit")]
    Edges,
}

/// Why `value` is not a DNS label of at most `max` characters, if it is not. Every name
/// that becomes part of a Kubernetes object name is one: lesson, stage and environment
/// names, a learner's, and each part of a label key's prefix.
pub fn dns_label_problem(value: &str, max: usize) -> Option<DnsLabelProblem> {
    if value.is_empty() {
        Some(DnsLabelProblem::Empty)
    } else if value.len() > max {
        Some(DnsLabelProblem::TooLong(max))
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some(DnsLabelProblem::Characters)
    } else if value.starts_with('-') || value.ends_with('-') {
        Some(DnsLabelProblem::Edges)
    } else {
        None
    }
}

fn check(value: &str, what: &'static str) -> Result<(), NameError> {
    match dns_label_problem(value, MAX_LEN) {
        Some(problem) => Err(NameError {
            value: value.escape_debug().to_string(),
            what,
            problem,
        }),
        None => Ok(()),
    }
}

/// Why `value` cannot name a file inside a lesson folder (a manifest, values file or
/// walkthrough), if it cannot: it must stay inside the folder whatever it is joined to.
pub fn lesson_path_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("it is empty")
    } else if value.chars().any(char::is_control) {
        Some("it contains control characters")
    } else if value.starts_with('/') || value.as_bytes().get(1) == Some(&b':') {
        Some("it is an absolute path")
    } else if value.contains('\\') {
        Some("it contains `\\`; separate folders with `/`")
    } else if value
        .split('/')
        .any(|part| part == ".." || part == "." || part.is_empty())
    {
        Some("it leaves the lesson folder or has an empty, `.` or `..` part")
    } else {
        None
    }
}

macro_rules! checked_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                check(&value, $what)?;
                Ok(Self(value))
            }

            /// The name as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_name!(
    /// A lesson's id: its folder under `catalog/` and the stem of its Argo CD objects.
    LessonId,
    "lesson name"
);
checked_name!(
    /// A stage of a lesson: a folder under `generated/<lesson>/`.
    StageName,
    "stage name"
);
checked_name!(
    /// An environment: a folder under `overlays/` and `argocd/`.
    EnvName,
    "environment name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_label_names() {
        assert!(LessonId::new("pods-probes-services").is_ok());
        assert!(StageName::new("v2").is_ok());
    }

    #[test]
    fn refuses_names_that_could_escape_a_folder() {
        for bad in ["..", "a/b", "/etc", "a\\b", "A", "a b", "", "-a", "a\n", "ä"] {
            assert!(LessonId::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn refuses_lesson_paths_that_could_leave_the_folder() {
        for bad in [
            "",
            "../x.yaml",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a//b",
            "./a",
            "a\n",
            "a\u{0}",
        ] {
            assert!(lesson_path_problem(bad).is_some(), "{bad:?} was accepted");
        }
        assert_eq!(lesson_path_problem("values/keda.yaml"), None);
    }

    #[test]
    fn a_dns_label_problem_names_the_limit_it_was_checked_against() {
        assert_eq!(dns_label_problem("a", 1), None);
        assert_eq!(dns_label_problem("ab", 1), Some(DnsLabelProblem::TooLong(1)));
        assert_eq!(
            LessonId::new("a".repeat(41)).unwrap_err().to_string(),
            format!(
                "`{}` is not a valid lesson name: it is longer than 40 characters",
                "a".repeat(41)
            )
        );
        for (bad, problem) in [
            ("", DnsLabelProblem::Empty),
            ("a_b", DnsLabelProblem::Characters),
            ("-a", DnsLabelProblem::Edges),
        ] {
            assert_eq!(dns_label_problem(bad, 63), Some(problem), "{bad}");
        }
    }

    #[test]
    fn escapes_control_characters_in_the_message() {
        let err = LessonId::new("a\u{7}b").unwrap_err();
        assert_eq!(err.value, "a\\u{7}b");
    }
}
