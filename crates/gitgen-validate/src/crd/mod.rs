//! Custom resources, checked against the `openAPIV3Schema` of the CRD version that serves
//! them, as an API server does with strict field validation.
//!
//! This file builds the schemas: which documents are CRDs, which of their versions are
//! served, and each version's structural schema. Walking an object against a schema,
//! and the problems that gives, is the checker's (`checker.rs`).

mod checker;
#[cfg(test)]
mod fixtures;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use serde_json::Value;

use super::builtin::deserialize_strict;
use super::{FieldProblem, Scope, ValidateError};

/// The schemas of every custom resource kind defined by a set of CRDs.
#[derive(Debug, Default)]
pub struct CrdSchemas {
    /// Keyed by API group and kind.
    kinds: HashMap<(String, String), CustomKind>,
}

#[derive(Debug)]
struct CustomKind {
    scope: Scope,
    /// The schema of each served version, by version name.
    served: BTreeMap<String, JSONSchemaProps>,
}

impl CrdSchemas {
    /// Reads every `*.yaml` file under `dir`, recursively and in sorted order, keeping the
    /// CustomResourceDefinitions among their documents. A later definition of the same
    /// kind replaces an earlier one.
    pub fn from_dir(dir: &Path) -> Result<Self, ValidateError> {
        let mut files = Vec::new();
        collect_yaml_files(dir, &mut files)?;
        files.sort();
        let mut schemas = Self::default();
        for path in files {
            let text = fs_err::read_to_string(&path).map_err(|source| ValidateError::Read {
                path: path.clone(),
                source,
            })?;
            for document in gitgen_yaml::documents(&text, &path)? {
                schemas.add(&document, Some(&path))?;
            }
        }
        Ok(schemas)
    }

    /// Keeps the CustomResourceDefinitions among `documents` and ignores the rest.
    pub fn from_documents(documents: impl IntoIterator<Item = Value>) -> Result<Self, ValidateError> {
        let mut schemas = Self::default();
        schemas.extend(documents)?;
        Ok(schemas)
    }

    /// Adds the CustomResourceDefinitions among `documents` (a later one for the same
    /// kind replaces an earlier one), e.g. CRDs a lesson ships itself.
    pub fn extend(&mut self, documents: impl IntoIterator<Item = Value>) -> Result<(), ValidateError> {
        for document in documents {
            self.add(&document, None)?;
        }
        Ok(())
    }

    /// Whether a CRD defines this kind in this API group, whatever the version.
    pub fn covers(&self, api_version: &str, kind: &str) -> bool {
        self.kind(api_version, kind).is_some()
    }

    /// The scope of a kind some CRD defines.
    pub fn scope(&self, api_version: &str, kind: &str) -> Option<Scope> {
        self.kind(api_version, kind).map(|k| k.scope)
    }

    /// Checks `object` against its CRD: `None` when no CRD covers its kind, otherwise every
    /// problem found (empty when the object is valid).
    pub fn validate(&self, object: &Value) -> Option<Vec<FieldProblem>> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let custom = self.kind(api_version, object.get("kind")?.as_str()?)?;
        let (_, version) = split_api_version(api_version);
        let Some(schema) = custom.served.get(version) else {
            let served: Vec<&str> = custom.served.keys().map(String::as_str).collect();
            let message = format!("version `{version}` is not served (served: {})", served.join(", "));
            return Some(vec![FieldProblem::new("apiVersion", message)]);
        };
        Some(checker::check(schema, object))
    }

    fn kind(&self, api_version: &str, kind: &str) -> Option<&CustomKind> {
        let (group, _) = split_api_version(api_version);
        self.kinds.get(&(group.to_owned(), kind.to_owned()))
    }

    fn add(&mut self, document: &Value, path: Option<&Path>) -> Result<(), ValidateError> {
        // `apiextensions.k8s.io/v1beta1` CRDs are no longer served by any supported cluster.
        let is_crd = document.get("apiVersion").and_then(Value::as_str) == Some("apiextensions.k8s.io/v1")
            && document.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
        if !is_crd {
            return Ok(());
        }
        let invalid = |message: String| ValidateError::InvalidCrd {
            path: path.map(Path::to_owned),
            name: document
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            message,
        };
        // Fields k8s-openapi does not know are tolerated here, so CRDs written for newer API
        // servers still load; `check_builtin` reports them when the CRD itself is a manifest.
        let mut problems = Vec::new();
        let Some(crd) = deserialize_strict::<CustomResourceDefinition>(document, "", &mut problems) else {
            return Err(invalid(problems.last().map(ToString::to_string).unwrap_or_default()));
        };
        let scope = match crd.spec.scope.as_str() {
            "Namespaced" => Scope::Namespaced,
            "Cluster" => Scope::Cluster,
            other => return Err(invalid(format!("spec.scope: unknown scope `{other}`"))),
        };
        let served = crd
            .spec
            .versions
            .into_iter()
            .filter(|v| v.served)
            .map(|v| {
                // A version without a schema (only possible in older manifests) keeps every field.
                let schema = v
                    .schema
                    .and_then(|s| s.open_api_v3_schema)
                    .unwrap_or_else(|| JSONSchemaProps {
                        x_kubernetes_preserve_unknown_fields: Some(true),
                        ..JSONSchemaProps::default()
                    });
                (v.name, schema)
            })
            .collect();
        self.kinds
            .insert((crd.spec.group, crd.spec.names.kind), CustomKind { scope, served });
        Ok(())
    }
}

fn collect_yaml_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ValidateError> {
    let read_error = |source| ValidateError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in fs_err::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            collect_yaml_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Splits `group/version`; the core group (`v1`) has an empty group.
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fixtures::{APPLICATION, UPSTREAM, object, problems, with};
    use super::*;

    #[test]
    fn loads_every_upstream_crd() {
        for (api_version, kind) in [
            ("argoproj.io/v1alpha1", "Application"),
            ("argoproj.io/v1alpha1", "ApplicationSet"),
            ("keda.sh/v1alpha1", "ScaledJob"),
            ("templates.gatekeeper.sh/v1", "ConstraintTemplate"),
            ("gateway.networking.k8s.io/v1", "Gateway"),
            ("argoproj.io/v1alpha1", "AnalysisTemplate"),
            ("monitoring.coreos.com/v1", "PrometheusRule"),
            ("security.istio.io/v1", "AuthorizationPolicy"),
        ] {
            assert!(UPSTREAM.covers(api_version, kind), "{api_version} {kind}");
        }
        assert!(!UPSTREAM.covers("apps/v1", "Deployment"));
    }

    #[test]
    fn scope_comes_from_the_crd() {
        assert_eq!(
            UPSTREAM.scope("argoproj.io/v1alpha1", "Application"),
            Some(Scope::Namespaced)
        );
        assert_eq!(
            UPSTREAM.scope("gateway.networking.k8s.io/v1", "GatewayClass"),
            Some(Scope::Cluster)
        );
        assert_eq!(UPSTREAM.scope("example.com/v1", "Gadget"), None);
    }

    #[test]
    fn a_version_that_is_not_served_fails() {
        let application = with(&object(APPLICATION), "/apiVersion", json!("argoproj.io/v1beta1"));
        assert_eq!(
            problems(&application),
            ["apiVersion: version `v1beta1` is not served (served: v1alpha1)"]
        );
    }

    #[test]
    fn an_object_no_crd_covers_is_left_alone() {
        assert_eq!(
            UPSTREAM.validate(&json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
            None
        );
    }

    #[test]
    fn reads_crds_from_nested_yaml_files_and_skips_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("gadgets");
        fs_err::create_dir(&nested).unwrap();
        let crd = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
";
        let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
        fs_err::write(nested.join("crd.yaml"), format!("{config_map}---\n{crd}")).unwrap();
        fs_err::write(dir.path().join("notes.txt"), "not: [yaml").unwrap();
        let schemas = CrdSchemas::from_dir(dir.path()).unwrap();
        assert!(schemas.covers("example.com/v1", "Gadget"));
        assert!(!schemas.covers("v1", "ConfigMap"));
    }

    #[test]
    fn reading_a_missing_folder_names_it() {
        let err = CrdSchemas::from_dir(Path::new("/no/such/crds")).unwrap_err();
        assert!(err.to_string().contains("`/no/such/crds`"), "{err}");
    }

    #[test]
    fn a_malformed_crd_is_refused_with_its_name() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"}, "versions": "v1"},
        });
        let err = CrdSchemas::from_documents([crd]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CustomResourceDefinition `gadgets.example.com` is not valid: spec.versions"),
            "{err}"
        );
    }
}
