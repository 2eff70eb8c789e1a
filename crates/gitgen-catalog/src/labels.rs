//! Kubernetes labels: the ones a classroom's objects carry, and what Kubernetes accepts as
//! a label at all.
//!
//! The label keys are a contract between three stages: `render` writes them into the
//! classroom's ApplicationSets (and so onto every Application Argo CD generates),
//! `classroom add` sets them on a learner's cluster Secret, and the class grid of `status`
//! reads them back. They live here, below both `render` and `cluster`, so each stage
//! imports the one definition. The syntax checks serve `gitgen.yaml`'s `clusters:`
//! selector and `classroom add --label` alike.

use gitgen_base::names::dns_label_problem;

/// Argo CD finds cluster Secrets by this label (value `cluster`).
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// The environment a learner cluster, or an Application, belongs to.
pub const ENVIRONMENT_LABEL: &str = "gitgen.io/environment";
/// The learner a cluster Secret, or an Application, belongs to.
pub const LEARNER_LABEL: &str = "gitgen.io/learner";
/// The lesson an Application deploys.
pub const LESSON_LABEL: &str = "gitgen.io/lesson";
/// The stage an Application renders.
pub const STAGE_LABEL: &str = "gitgen.io/stage";
/// The course section (its heading, as a label value) of an Application's lesson.
pub const SECTION_LABEL: &str = "gitgen.io/section";
/// What put an object into Argo CD (value `gitgen`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The chart a chart's Application deploys.
pub const CHART_LABEL: &str = "gitgen.io/chart";
/// A Service or Gateway a lesson exposes outside the cluster (value `true`): an
/// environment's overlay gives it the environment's service type.
pub const EXPOSED_LABEL: &str = "gitgen.io/exposed";
/// The annotation holding a hash of an object as gitgen last applied it.
pub const APPLIED_HASH_ANNOTATION: &str = "gitgen.io/applied-hash";
/// `stage.gitgen.io/<lesson>: <stage>` on a learner's cluster Secret holds the learner at
/// that stage of that lesson.
pub const STAGE_HOLD_PREFIX: &str = "stage.gitgen.io/";

/// The label of a learner's cluster Secret that holds them at a stage of `lesson`.
pub fn stage_hold_label(lesson: &str) -> String {
    format!("{STAGE_HOLD_PREFIX}{lesson}")
}

/// The longest label value, and the longest name part of a label key.
pub const MAX_LABEL_VALUE: usize = 63;

/// A label value (or the name part of a key) from free text: its letters and digits in
/// lower case, each run of anything else one `-`, at most 63 characters.
pub fn text_as_label_value(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(MAX_LABEL_VALUE);
    out.trim_end_matches('-').to_owned()
}

/// Why `key` is not a Kubernetes label key (`[prefix/]name`), if it is not.
pub fn key_problem(key: &str) -> Option<&'static str> {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    if let Some(prefix) = prefix
        && (prefix.len() > 253
            || prefix
                .split('.')
                .any(|part| dns_label_problem(part, MAX_LABEL_VALUE).is_some()))
    {
        return Some("its prefix is not a DNS subdomain (like `example.com`)");
    }
    if name.is_empty() {
        return Some("its name is empty");
    }
    value_problem(name)
}

/// Why `value` is not a Kubernetes label value, if it is not (empty is a value).
pub fn value_problem(value: &str) -> Option<&'static str> {
    let edge = |b: Option<&u8>| b.is_none_or(u8::is_ascii_alphanumeric);
    if value.len() > MAX_LABEL_VALUE {
        Some("it is longer than 63 characters")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || [b'-', b'_', b'.'].contains(&b))
    {
        Some("it holds a character other than letters, digits, `-`, `_` and `.`")
    } else if !edge(value.as_bytes().first()) || !edge(value.as_bytes().last()) {
        Some("it does not start and end with a letter or digit")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_and_values_follow_kubernetes() {
        for key in ["a", "gitgen.io/classroom", "x.y-z/A_b.c", "stage.gitgen.io/keda"] {
            assert_eq!(key_problem(key), None, "{key}");
        }
        let long_part = format!("{}.io/a", "b".repeat(64));
        for key in ["", "/a", "-a", "a/", "A.io/b", &"a".repeat(64), "a/b/c", &long_part] {
            assert!(key_problem(key).is_some(), "{key}");
        }
        for value in ["", "a", "A-b_c.d", &"a".repeat(63)] {
            assert_eq!(value_problem(value), None, "{value}");
        }
        for value in ["-a", "a-", "a b", "é", &"a".repeat(64)] {
            assert!(value_problem(value).is_some(), "{value}");
        }
    }

    #[test]
    fn free_text_becomes_a_valid_label_value() {
        assert_eq!(
            text_as_label_value("First let's install Prometheus!"),
            "first-let-s-install-prometheus"
        );
        assert_eq!(text_as_label_value("RabbitMQ management UI"), "rabbitmq-management-ui");
        assert_eq!(text_as_label_value("--é--"), "");
        let long = text_as_label_value(&"word ".repeat(30));
        assert_eq!(value_problem(&long), None, "{long}");
    }

    #[test]
    fn a_stage_hold_is_a_label_under_the_hold_prefix() {
        assert_eq!(stage_hold_label("keda"), "stage.gitgen.io/keda");
        assert_eq!(key_problem(&stage_hold_label("pods-probes-services")), None);
    }
}
