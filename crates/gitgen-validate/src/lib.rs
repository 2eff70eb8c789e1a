//! Checks Kubernetes objects the way an API server with strict field validation would,
//! without a cluster.
//!
//! Built-in kinds are checked by deserializing them into their `k8s-openapi` types
//! ([`check_builtin`]); custom resources are checked against the `openAPIV3Schema` of the
//! CRD that serves them ([`CrdSchemas`]); anything else gets only the minimum every object
//! needs ([`check_custom_minimum`]). Every problem names the field it concerns.
//!
//! This module does not read rendered manifests, decide which check applies to an object
//! or what to do with the problems: callers own that. It never contacts a cluster.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

mod builtin;
mod crd;
mod gatekeeper;
pub mod kinds;

pub use builtin::{builtin_cluster_group, builtin_group, builtin_scope, check_builtin, is_builtin_cluster_kind};
pub use crd::CrdSchemas;
pub use gatekeeper::constraint_crd;

/// One thing wrong with one field of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Where, as `spec.template.spec.containers[0].image`; empty for the object itself.
    pub path: String,
    /// What is wrong, as a short phrase.
    pub message: String,
}

impl FieldProblem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Whether objects of a kind live in a namespace or in the whole cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Lives in a namespace (`metadata.namespace`).
    Namespaced,
    /// Lives in the cluster, outside any namespace.
    Cluster,
}

/// A CRD source that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// A file or folder could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML.
    #[error(transparent)]
    Yaml(#[from] gitgen_yaml::YamlError),
    /// A document says it is a CustomResourceDefinition but does not have that shape.
    #[error("CustomResourceDefinition `{name}`{} is not valid: {message}", in_file(path.as_ref()))]
    InvalidCrd {
        /// The file it came from, when it came from one.
        path: Option<PathBuf>,
        /// Its `metadata.name`, or `?` when it has none.
        name: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ValidateError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ValidateError::Read { source, .. } => gitgen_base::untrusted::io_hint(source),
            ValidateError::Yaml(err) => err.hint.clone(),
            ValidateError::InvalidCrd { .. } => {
                Some("a CRD needs `spec.names.kind`, `spec.group` and a schema for each version".to_owned())
            }
        }
    }
}

fn in_file(path: Option<&PathBuf>) -> String {
    path.map(|p| format!(" in `{}`", p.display())).unwrap_or_default()
}

/// The least any object needs when no type or schema knows its kind: a non-empty
/// `apiVersion`, `kind` and `metadata.name`.
pub fn check_custom_minimum(object: &Value) -> Vec<FieldProblem> {
    let fields = [
        ("apiVersion", object.get("apiVersion")),
        ("kind", object.get("kind")),
        ("metadata.name", object.pointer("/metadata/name")),
    ];
    fields
        .into_iter()
        .filter_map(|(path, value)| match value {
            Some(Value::String(s)) if !s.is_empty() => None,
            None | Some(Value::Null) => Some(FieldProblem::new(path, "required field is missing")),
            Some(Value::String(_)) => Some(FieldProblem::new(path, "must not be empty")),
            Some(other) => Some(FieldProblem::new(
                path,
                format!("expected string, found {}", json_type(other)),
            )),
        })
        .collect()
}

/// The path of field `key` inside the object at `parent`.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of item `index` inside the list at `parent`.
fn index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The JSON type name of a value, as schemas spell it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn displays_a_problem_as_path_then_message() {
        let problem = FieldProblem::new("spec.replicas", "expected integer, found string");
        assert_eq!(problem.to_string(), "spec.replicas: expected integer, found string");
    }

    #[test]
    fn custom_minimum_accepts_an_object_with_api_version_kind_and_name() {
        let object = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "a"}});
        assert_eq!(check_custom_minimum(&object), []);
    }

    #[test]
    fn custom_minimum_names_each_missing_field() {
        let object = json!({"apiVersion": "example.com/v1", "kind": 3});
        let paths: Vec<_> = check_custom_minimum(&object)
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "kind: expected string, found integer",
                "metadata.name: required field is missing"
            ]
        );
    }
}

/// Which check an object got, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Deserialized into its `k8s-openapi` type.
    Builtin,
    /// Validated against a CRD schema.
    Schema,
    /// Neither a built-in kind nor covered by a CRD: only the minimum was checked.
    Minimum,
}

/// Checks one object with the strongest check available: its built-in type, else its CRD
/// schema from `schemas`, else the minimum every object needs.
pub fn check_object(object: &Value, schemas: Option<&CrdSchemas>) -> (Check, Vec<FieldProblem>) {
    if let Some(problems) = check_builtin(object) {
        return (Check::Builtin, problems);
    }
    if let Some(problems) = schemas.and_then(|s| s.validate(object)) {
        return (Check::Schema, problems);
    }
    (Check::Minimum, check_custom_minimum(object))
}
