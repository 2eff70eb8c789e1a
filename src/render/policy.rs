//! The rules every rendered object must follow before it reaches git: it stays in its
//! lesson's namespaces and declared cluster-scoped kinds, it asks for host access only
//! where the lesson declared it, and it carries no credentials.

use serde_json::Value;

use crate::catalog::LoadedLesson;
use crate::catalog::lesson::HostPrivilege;
use crate::validate::{builtin_cluster_group, is_builtin_cluster_kind};

/// The API group of a declared cluster kind: `group/Kind` as written, or the group of a
/// built-in `Kind`. `None` when a custom kind was written without its group.
pub fn cluster_kind_group(declared: &str) -> Option<(&str, &str)> {
    match declared.rsplit_once('/') {
        Some((group, kind)) => Some((group, kind)),
        None => builtin_cluster_group(declared).map(|group| (group, declared)),
    }
}

/// The API group of an `apiVersion` (`""` for the core group).
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// A broken rule: where in the object, what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path inside the object.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl Violation {
    fn new(field: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// `apiVersion`, `kind` and `metadata.name` of an object, checked to be strings.
pub struct ObjectId<'a> {
    /// `apiVersion`.
    pub api_version: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `metadata.namespace`, when set.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for ObjectId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Reads the identity fields every Kubernetes object has.
pub fn object_id(object: &Value) -> Result<ObjectId<'_>, Violation> {
    fn text<'v>(value: Option<&'v Value>, field: &str) -> Result<&'v str, Violation> {
        let hint = "every object needs `apiVersion`, `kind` and `metadata.name`";
        match value {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(_) => Err(Violation::new(field, "must be a non-empty string", hint)),
            None => Err(Violation::new(field, "is missing", hint)),
        }
    }
    if !object.is_object() {
        return Err(Violation::new(
            "(document)",
            "a document is not a mapping",
            "each YAML document must be one Kubernetes object",
        ));
    }
    let metadata = object.get("metadata");
    Ok(ObjectId {
        api_version: text(object.get("apiVersion"), "apiVersion")?,
        kind: text(object.get("kind"), "kind")?,
        name: text(metadata.and_then(|m| m.get("name")), "metadata.name")?,
        namespace: match metadata.and_then(|m| m.get("namespace")) {
            None => None,
            Some(_) => Some(text(metadata.and_then(|m| m.get("namespace")), "metadata.namespace")?),
        },
    })
}

/// Whether the lesson treats `(group, kind)` as cluster-scoped.
pub fn is_cluster_scoped(lesson: &LoadedLesson, group: &str, kind: &str) -> bool {
    is_builtin_cluster_kind(group, kind) || declares_cluster_kind(lesson, group, kind)
}

fn declares_cluster_kind(lesson: &LoadedLesson, group: &str, kind: &str) -> bool {
    lesson
        .lesson
        .cluster_kinds
        .iter()
        .any(|declared| match cluster_kind_group(declared) {
            Some((g, k)) => g == group && k == kind,
            None => declared == kind,
        })
}

/// Namespaces the lesson may deploy into.
pub fn allowed_namespaces(lesson: &LoadedLesson) -> impl Iterator<Item = &str> {
    let l = &lesson.lesson;
    l.namespaces
        .iter()
        .map(|n| n.name.as_str())
        .chain(l.uses_namespaces.iter().map(String::as_str))
        .chain(l.charts.iter().map(|c| c.namespace.as_str()))
}

/// Checks one rendered object of `lesson` against every rule.
pub fn check_object(lesson: &LoadedLesson, object: &Value) -> Result<(), Violation> {
    let id = object_id(object)?;
    let group = api_group(id.api_version);
    if is_cluster_scoped(lesson, group, id.kind) {
        if id.kind == "Namespace" && group.is_empty() {
            return Err(Violation::new(
                "kind",
                format!(
                    "lessons do not write Namespace objects; gitgen renders `{}` from `namespaces` in lesson.yaml",
                    id.name
                ),
                "declare the namespace under `namespaces:` with its Pod Security level",
            ));
        }
        if !declares_cluster_kind(lesson, group, id.kind) {
            let declared = if group.is_empty() || is_builtin_cluster_kind(group, id.kind) {
                id.kind.to_owned()
            } else {
                format!("{group}/{}", id.kind)
            };
            return Err(Violation::new(
                "kind",
                format!("the cluster-scoped kind `{}` is not declared by the lesson", id.kind),
                format!("add `{declared}` to `cluster_kinds` in lesson.yaml if the lesson really needs it"),
            ));
        }
    } else {
        let namespace = id.namespace.unwrap_or(&lesson.lesson.namespace);
        if !allowed_namespaces(lesson).any(|ns| ns == namespace) {
            return Err(Violation::new(
                "metadata.namespace",
                format!("namespace `{namespace}` does not belong to the lesson"),
                "deploy into a namespace listed under `namespaces` or `uses_namespaces` in lesson.yaml",
            ));
        }
    }
    if id.kind == "Secret" && group.is_empty() {
        for field in ["data", "stringData"] {
            if object
                .get(field)
                .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            {
                return Err(Violation::new(
                    field,
                    "a Secret with data would put credentials in git",
                    "declare it under `cluster_secrets` in lesson.yaml: a Job in the lesson creates it in the cluster",
                ));
            }
        }
    }
    check_host_access(lesson, object, &mut String::new())?;
    check_no_tokens(object, &mut String::new())
}

/// Walks the object; every mapping with `containers` is a pod spec.
fn check_host_access(lesson: &LoadedLesson, value: &Value, path: &mut String) -> Result<(), Violation> {
    let allowed = |privilege: HostPrivilege| {
        lesson
            .lesson
            .host_access
            .as_ref()
            .is_some_and(|h| h.allow.contains(&privilege))
    };
    let refuse = |field: String, privilege: HostPrivilege| {
        Violation::new(
            field,
            format!("`{}` needs host access the lesson does not declare", privilege.field()),
            "declare it under `host_access` in lesson.yaml with the reason, or remove it",
        )
    };
    match value {
        Value::Object(map) => {
            if map.contains_key("containers") {
                for (field, privilege) in [
                    ("hostPID", HostPrivilege::HostPid),
                    ("hostNetwork", HostPrivilege::HostNetwork),
                ] {
                    if map.get(field) == Some(&Value::Bool(true)) && !allowed(privilege) {
                        return Err(refuse(join(path, field), privilege));
                    }
                }
                if let Some(Value::Array(volumes)) = map.get("volumes") {
                    for (i, volume) in volumes.iter().enumerate() {
                        if volume.get("hostPath").is_some() && !allowed(HostPrivilege::HostPath) {
                            return Err(refuse(
                                format!("{}[{i}].hostPath", join(path, "volumes")),
                                HostPrivilege::HostPath,
                            ));
                        }
                    }
                }
                for list in ["containers", "initContainers", "ephemeralContainers"] {
                    if let Some(Value::Array(containers)) = map.get(list) {
                        for (i, container) in containers.iter().enumerate() {
                            let privileged =
                                container.pointer("/securityContext/privileged") == Some(&Value::Bool(true));
                            if privileged && !allowed(HostPrivilege::Privileged) {
                                let field = format!("{}[{i}].securityContext.privileged", join(path, list));
                                return Err(refuse(field, HostPrivilege::Privileged));
                            }
                        }
                    }
                }
            }
            for (key, child) in map {
                let len = path.len();
                *path = join(path, key);
                check_host_access(lesson, child, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_host_access(lesson, child, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Refuses strings that look like credentials, wherever they are in the object.
fn check_no_tokens(value: &Value, path: &mut String) -> Result<(), Violation> {
    match value {
        Value::String(text) => match token_kind(text) {
            Some(kind) => Err(Violation::new(
                path.clone(),
                format!("looks like {kind}; credentials never go into git"),
                "keep it in the cluster: `cluster_secrets` in lesson.yaml, or `gitgen bootstrap` flags",
            )),
            None => Ok(()),
        },
        Value::Object(map) => map.iter().try_for_each(|(key, child)| {
            let len = path.len();
            *path = join(path, key);
            let result = check_no_tokens(child, path);
            path.truncate(len);
            result
        }),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, child)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let result = check_no_tokens(child, path);
            path.truncate(len);
            result
        }),
        _ => Ok(()),
    }
}

/// What kind of credential `text` looks like, if any.
pub fn token_kind(text: &str) -> Option<&'static str> {
    // Every string of every rendered object comes through here, so the common case (no
    // word long enough to be a token) must cost one pass over the text.
    const SHORTEST_TOKEN: usize = 20;
    let long_words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| w.len() >= SHORTEST_TOKEN)
        .collect();
    let word = |prefix: &str, min_len: usize| {
        long_words
            .iter()
            .any(|w| w.starts_with(prefix) && w.len() >= prefix.len() + min_len)
    };
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY") {
        Some("a private key")
    } else if long_words.is_empty() && !text.starts_with("eyJ") {
        None
    } else if word("ghp_", 30) || word("gho_", 30) || word("ghs_", 30) || word("github_pat_", 30) {
        Some("a GitHub token")
    } else if word("glpat-", 20) {
        Some("a GitLab token")
    } else if word("xoxb-", 20) || word("xoxp-", 20) {
        Some("a Slack token")
    } else if word("AKIA", 16)
        && text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w.len() == 20 && w.starts_with("AKIA"))
    {
        Some("an AWS access key")
    } else if text.starts_with("eyJ") && text.len() > 60 && !text.contains(' ') && text.split('.').count() == 3 {
        Some("a JSON Web Token")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_token_shapes() {
        assert_eq!(
            token_kind("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            Some("a GitHub token")
        );
        assert_eq!(token_kind("token: glpat-abcdefghijklmnopqrstu"), Some("a GitLab token"));
        assert_eq!(token_kind("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key"));
        assert_eq!(
            token_kind("-----BEGIN RSA PRIVATE KEY-----\nabc"),
            Some("a private key")
        );
        assert_eq!(token_kind("jasonumiker/probe-test-app:v1"), None);
        assert_eq!(token_kind("the ghp_ prefix marks GitHub tokens"), None);
    }

    #[test]
    fn reads_the_group_of_declared_cluster_kinds() {
        assert_eq!(
            cluster_kind_group("StorageClass"),
            Some(("storage.k8s.io", "StorageClass"))
        );
        assert_eq!(
            cluster_kind_group("constraints.gatekeeper.sh/K8sRequiredLabels"),
            Some(("constraints.gatekeeper.sh", "K8sRequiredLabels"))
        );
        assert_eq!(cluster_kind_group("K8sRequiredLabels"), None);
    }
}
