//! Moving targets: an image without a fixed tag or digest (`nginx`, `nginx:latest`), or an
//! Argo CD source that follows a branch (`HEAD`, `main`), changes what a lesson deploys
//! without a change in git. Render refuses them unless the lesson lists the exact reference
//! under `moving_targets` with the reason it cannot be pinned.

use serde_json::Value;

use super::policy::{Rule, Violation};
use gitgen_catalog::LoadedLesson;

/// Checks every container image and Argo CD source revision in `object`.
pub fn check_object(lesson: &LoadedLesson, object: &Value) -> Result<(), Violation> {
    let mut found = Vec::new();
    moving_references(object, String::new(), &mut found);
    match found
        .into_iter()
        .find(|(_, reference)| !lesson.lesson.moving_targets.iter().any(|m| &m.reference == reference))
    {
        None => Ok(()),
        Some((field, reference)) => Err(Violation::new(field, Rule::MovingTarget { reference })),
    }
}

/// Collects `(field path, reference)` for each moving image or revision under `value`.
fn moving_references(value: &Value, path: String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if matches!(key.as_str(), "containers" | "initContainers" | "ephemeralContainers") {
                    for (index, container) in child.as_array().into_iter().flatten().enumerate() {
                        if let Some(image) = container["image"].as_str().filter(|i| !image_is_fixed(i)) {
                            found.push((format!("{child_path}[{index}].image"), image.to_owned()));
                        }
                    }
                }
                moving_references(child, child_path, found);
            }
            // An Argo CD source: a chart version or a git revision.
            if let (Some(_), Some(revision)) = (map.get("repoURL"), map.get("targetRevision")) {
                let revision = revision.as_str().unwrap_or("");
                let fixed = if map.contains_key("chart") {
                    chart_version_is_fixed(revision)
                } else {
                    git_revision_is_fixed(revision)
                };
                if !fixed {
                    found.push((format!("{path}.targetRevision"), revision.to_owned()));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                moving_references(item, format!("{path}[{index}]"), found);
            }
        }
        _ => {}
    }
}

/// `name:tag` with a tag other than `latest`, or `name@sha256:…`.
fn image_is_fixed(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    // The tag follows the last `:` after the last `/` (`host:5000/name` has a port, not a tag).
    let name = image.rsplit('/').next().unwrap_or(image);
    matches!(name.split_once(':'), Some((_, tag)) if !tag.is_empty() && tag != "latest")
}

/// A full commit hash, or a release tag (`v1.2.3`, `1.2.3-rc.1`). Branch names and `HEAD`
/// move; a tag can be moved too, but by convention a release tag is not.
fn git_revision_is_fixed(revision: &str) -> bool {
    let commit = revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit());
    commit || version_like(revision.strip_prefix('v').unwrap_or(revision))
}

/// An exact chart version, never a range.
fn chart_version_is_fixed(version: &str) -> bool {
    version_like(version)
}

/// `1.2.3`, optionally followed by `-` or `+` and letters, digits and dots.
fn version_like(text: &str) -> bool {
    let (core, suffix) = match text.find(['-', '+']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, "x"),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_needs_a_tag_other_than_latest_or_a_digest() {
        assert!(image_is_fixed("nginx:1.27.3"));
        assert!(image_is_fixed("docker.io/istio/examples-bookinfo-details-v1:1.20.2"));
        assert!(image_is_fixed("nginx@sha256:0123abcd"));
        assert!(!image_is_fixed("nginx"));
        assert!(!image_is_fixed("nginx:latest"));
        assert!(!image_is_fixed("registry:5000/nginx"));
    }

    #[test]
    fn a_git_revision_must_be_a_commit_or_a_release_tag() {
        assert!(git_revision_is_fixed("52d479682aa522f78f5ebbcd72825be8fa2624a7"));
        assert!(git_revision_is_fixed("v1.2.3"));
        assert!(!git_revision_is_fixed("HEAD"));
        assert!(!git_revision_is_fixed("main"));
        assert!(!git_revision_is_fixed(""));
        assert!(!git_revision_is_fixed("52d4796"));
    }

    #[test]
    fn a_chart_version_must_be_exact() {
        assert!(chart_version_is_fixed("2.37.7"));
        assert!(!chart_version_is_fixed("2.*"));
        assert!(!chart_version_is_fixed("^2.37.0"));
        assert!(!chart_version_is_fixed(">=2.0.0"));
    }

    #[test]
    fn finds_images_in_nested_pod_templates_and_application_sources() {
        let object = serde_json::json!({"spec": {
            "template": {"spec": {"initContainers": [{"image": "busybox"}], "containers": [{"image": "a:1"}]}},
            "source": {"repoURL": "https://example.com/r", "targetRevision": "HEAD", "path": "."},
        }});
        let mut found = Vec::new();
        moving_references(&object, String::new(), &mut found);
        found.sort();
        assert_eq!(
            found,
            vec![
                ("spec.source.targetRevision".to_owned(), "HEAD".to_owned()),
                (
                    "spec.template.spec.initContainers[0].image".to_owned(),
                    "busybox".to_owned()
                ),
            ]
        );
    }
}
