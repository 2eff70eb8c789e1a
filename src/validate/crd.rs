//! Custom resources, checked against the `openAPIV3Schema` of the CRD version that serves
//! them, as an API server does with strict field validation.
//!
//! Only the structural part of a schema (its own `properties`, `items` and
//! `additionalProperties`, not those inside `anyOf`/`oneOf`/`allOf`/`not`) decides which
//! fields exist, as in the API server's pruning; the junctors only constrain values. A
//! `null` in a field that is not `nullable` is dropped, as the API server prunes it.
//! Formats other than `byte`, `ipv4`, `ipv6`, `cidr` and `uuid` are not checked, nor are
//! CEL rules (`x-kubernetes-validations`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use regex::Regex;
use serde_json::{Map, Number, Value};

use super::builtin::deserialize_strict;
use super::{FieldProblem, Scope, ValidateError, index, join, json_type};

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
            for document in crate::yaml::documents(&text, &path)? {
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
        let mut problems = Vec::new();
        Checker::default().check(schema, object, "", true, &mut problems);
        Some(problems)
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

fn flag(value: Option<bool>) -> bool {
    value == Some(true)
}

/// Walks a value and its schema together. It caches compiled patterns for one object.
#[derive(Default)]
struct Checker<'s> {
    patterns: HashMap<&'s str, Option<Regex>>,
}

impl<'s> Checker<'s> {
    /// Checks `value` at `path` against `schema`. When `structural` is false (inside
    /// `anyOf` and friends) fields the schema does not list are not reported. The root
    /// (empty `path`) and embedded resources get `apiVersion`, `kind` and `metadata` for free.
    fn check(
        &mut self,
        schema: &'s JSONSchemaProps,
        value: &Value,
        path: &str,
        structural: bool,
        out: &mut Vec<FieldProblem>,
    ) {
        let int_or_string = flag(schema.x_kubernetes_int_or_string);
        if value.is_null() {
            if !flag(schema.nullable) && (schema.type_.is_some() || int_or_string) {
                out.push(FieldProblem::new(path, "must not be null"));
            }
            return;
        }
        let found = json_type(value);
        let expected = match (int_or_string, schema.type_.as_deref()) {
            (true, _) => (!matches!(found, "integer" | "string")).then_some("integer or string"),
            (false, Some("number")) => (!matches!(found, "integer" | "number")).then_some("number"),
            (false, Some(expected)) => (expected != found).then_some(expected),
            (false, None) => None,
        };
        if let Some(expected) = expected {
            out.push(FieldProblem::new(path, format!("expected {expected}, found {found}")));
            return;
        }
        if let Some(allowed) = &schema.enum_
            && !allowed.iter().any(|a| a.0 == *value)
        {
            let allowed: Vec<String> = allowed.iter().map(|a| a.0.to_string()).collect();
            out.push(FieldProblem::new(
                path,
                format!("must be one of {}", allowed.join(", ")),
            ));
        }
        match value {
            Value::String(text) => self.check_string(schema, text, path, out),
            Value::Number(number) => check_number(schema, number, path, out),
            Value::Array(items) => self.check_array(schema, items, path, structural, out),
            Value::Object(fields) => self.check_object(schema, fields, path, structural, out),
            Value::Null | Value::Bool(_) => {}
        }
        self.check_junctors(schema, value, path, out);
    }

    fn check_string(&mut self, schema: &'s JSONSchemaProps, text: &str, path: &str, out: &mut Vec<FieldProblem>) {
        let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
        if let Some(min) = schema.min_length.filter(|min| length < *min) {
            out.push(FieldProblem::new(
                path,
                format!("must be at least {min} characters long"),
            ));
        }
        if let Some(max) = schema.max_length.filter(|max| length > *max) {
            out.push(FieldProblem::new(
                path,
                format!("must be at most {max} characters long"),
            ));
        }
        if let Some(pattern) = &schema.pattern {
            // A pattern Rust's regex cannot compile (Go's RE2 differs in corners) is skipped:
            // better to miss a check than to invent a problem.
            let regex = self.patterns.entry(pattern).or_insert_with(|| Regex::new(pattern).ok());
            if regex.as_ref().is_some_and(|r| !r.is_match(text)) {
                out.push(FieldProblem::new(path, format!("must match the pattern `{pattern}`")));
            }
        }
        if let Some(format) = &schema.format
            && !matches_format(format, text)
        {
            out.push(FieldProblem::new(path, format!("is not a valid `{format}`")));
        }
    }

    fn check_array(
        &mut self,
        schema: &'s JSONSchemaProps,
        items: &[Value],
        path: &str,
        structural: bool,
        out: &mut Vec<FieldProblem>,
    ) {
        let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if let Some(min) = schema.min_items.filter(|min| count < *min) {
            out.push(FieldProblem::new(path, format!("must have at least {min} items")));
        }
        if let Some(max) = schema.max_items.filter(|max| count > *max) {
            out.push(FieldProblem::new(path, format!("must have at most {max} items")));
        }
        for (i, item) in items.iter().enumerate() {
            let item_schema = match &schema.items {
                Some(JSONSchemaPropsOrArray::Schema(s)) => Some(&**s),
                Some(JSONSchemaPropsOrArray::Schemas(list)) => list.get(i),
                None => None,
            };
            if let Some(item_schema) = item_schema {
                self.check(item_schema, item, &index(path, i), structural, out);
            }
        }
    }

    fn check_object(
        &mut self,
        schema: &'s JSONSchemaProps,
        fields: &Map<String, Value>,
        path: &str,
        structural: bool,
        out: &mut Vec<FieldProblem>,
    ) {
        let resource = path.is_empty() || flag(schema.x_kubernetes_embedded_resource);
        if resource && structural {
            check_resource_header(fields, path, out);
        }
        let properties = schema.properties.as_ref();
        // A null the API server prunes counts as absent.
        let present = |name: &str| {
            fields
                .get(name)
                .is_some_and(|v| !v.is_null() || properties.and_then(|p| p.get(name)).is_some_and(|p| flag(p.nullable)))
        };
        for name in schema.required.iter().flatten().filter(|name| !present(name)) {
            out.push(FieldProblem::new(join(path, name), "required field is missing"));
        }
        let count = i64::try_from(fields.len()).unwrap_or(i64::MAX);
        if let Some(min) = schema.min_properties.filter(|min| count < *min) {
            out.push(FieldProblem::new(path, format!("must have at least {min} fields")));
        }
        if let Some(max) = schema.max_properties.filter(|max| count > *max) {
            out.push(FieldProblem::new(path, format!("must have at most {max} fields")));
        }
        for (key, value) in fields {
            if resource && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            let child = join(path, key);
            match (properties.and_then(|p| p.get(key)), &schema.additional_properties) {
                (Some(property), _) => {
                    if !value.is_null() || flag(property.nullable) {
                        self.check(property, value, &child, structural, out);
                    }
                }
                (None, Some(JSONSchemaPropsOrBool::Schema(extra))) => self.check(extra, value, &child, structural, out),
                (None, Some(JSONSchemaPropsOrBool::Bool(true))) => {}
                (None, Some(JSONSchemaPropsOrBool::Bool(false))) => out.push(FieldProblem::new(child, "unknown field")),
                (None, None) => {
                    if structural && !flag(schema.x_kubernetes_preserve_unknown_fields) {
                        out.push(FieldProblem::new(child, "unknown field"));
                    }
                }
            }
        }
    }

    fn check_junctors(&mut self, schema: &'s JSONSchemaProps, value: &Value, path: &str, out: &mut Vec<FieldProblem>) {
        for branch in schema.all_of.iter().flatten() {
            self.check(branch, value, path, false, out);
        }
        if let Some(branches) = &schema.any_of
            && !branches.iter().any(|b| self.matches(b, value, path))
        {
            out.push(FieldProblem::new(path, "does not match any schema in `anyOf`"));
        }
        if let Some(branches) = &schema.one_of {
            let matching = branches.iter().filter(|b| self.matches(b, value, path)).count();
            if matching != 1 {
                out.push(FieldProblem::new(
                    path,
                    format!("matches {matching} schemas in `oneOf`, expected exactly one"),
                ));
            }
        }
        if let Some(not) = &schema.not
            && self.matches(not, value, path)
        {
            out.push(FieldProblem::new(path, "matches the schema in `not`"));
        }
    }

    fn matches(&mut self, schema: &'s JSONSchemaProps, value: &Value, path: &str) -> bool {
        let mut problems = Vec::new();
        self.check(schema, value, path, false, &mut problems);
        problems.is_empty()
    }
}

/// What every resource needs besides its schema: an `apiVersion` and `kind`, and
/// `metadata` that is a valid `ObjectMeta`.
fn check_resource_header(fields: &Map<String, Value>, path: &str, out: &mut Vec<FieldProblem>) {
    for key in ["apiVersion", "kind"] {
        match fields.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {}
            None | Some(Value::Null) => out.push(FieldProblem::new(join(path, key), "required field is missing")),
            Some(other) => out.push(FieldProblem::new(
                join(path, key),
                format!("expected a non-empty string, found {}", json_type(other)),
            )),
        }
    }
    if let Some(metadata) = fields.get("metadata").filter(|m| !m.is_null()) {
        deserialize_strict::<ObjectMeta>(metadata, &join(path, "metadata"), out);
    }
}

fn check_number(schema: &JSONSchemaProps, number: &Number, path: &str, out: &mut Vec<FieldProblem>) {
    let Some(n) = number.as_f64() else { return };
    if let Some(min) = schema.minimum {
        let exclusive = flag(schema.exclusive_minimum);
        if n < min || (exclusive && n == min) {
            let bound = if exclusive { "greater than" } else { "at least" };
            out.push(FieldProblem::new(path, format!("must be {bound} {min}")));
        }
    }
    if let Some(max) = schema.maximum {
        let exclusive = flag(schema.exclusive_maximum);
        if n > max || (exclusive && n == max) {
            let bound = if exclusive { "less than" } else { "at most" };
            out.push(FieldProblem::new(path, format!("must be {bound} {max}")));
        }
    }
}

/// Checks the string formats that need no real parser; any other format passes.
fn matches_format(format: &str, text: &str) -> bool {
    match format {
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        "cidr" => text
            .split_once('/')
            .is_some_and(|(ip, bits)| ip.parse::<IpAddr>().is_ok() && bits.parse::<u8>().is_ok()),
        "uuid" => {
            text.len() == 36
                && text.char_indices().all(|(i, c)| {
                    if matches!(i, 8 | 13 | 18 | 23) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
        }
        "byte" => {
            text.len().is_multiple_of(4)
                && text
                    .trim_end_matches('=')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use serde_json::json;

    use super::*;

    const UPSTREAM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds");

    /// Every upstream CRD, loaded once per test binary: parsing 5 MB of YAML is the slow part.
    static UPSTREAM: LazyLock<CrdSchemas> = LazyLock::new(|| {
        let dir = Path::new(UPSTREAM_DIR);
        assert!(
            dir.is_dir(),
            "the upstream CRDs must be at `{}` (see SOURCES.md there); these tests never skip",
            dir.display()
        );
        CrdSchemas::from_dir(dir).unwrap_or_else(|e| panic!("loading the upstream CRDs: {e}"))
    });

    fn object(yaml: &str) -> Value {
        crate::yaml::from_str(yaml, Path::new("test.yaml")).expect("test YAML parses")
    }

    fn problems(object: &Value) -> Vec<String> {
        let problems = UPSTREAM
            .validate(object)
            .unwrap_or_else(|| panic!("no CRD covers {object}"));
        problems.iter().map(ToString::to_string).collect()
    }

    /// `object` with `value` set at the JSON pointer `at` (whose parent must exist).
    fn with(object: &Value, at: &str, value: Value) -> Value {
        let (parent, key) = at.rsplit_once('/').expect("pointer has a parent");
        let mut object = object.clone();
        let parent = object.pointer_mut(parent).unwrap_or_else(|| panic!("{parent} exists"));
        match parent {
            Value::Object(fields) => drop(fields.insert(key.to_owned(), value)),
            Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
            other => panic!("cannot set {key} in {other}"),
        }
        object
    }

    /// Asserts `valid` passes and that setting the unknown field `bad` fails naming it.
    fn passes_and_rejects_unknown_field(valid: &str, bad: &str) {
        let valid = object(valid);
        assert_eq!(problems(&valid), Vec::<String>::new());
        let path = bad
            .split('/')
            .skip(1)
            .fold(String::new(), |path, segment| match segment.parse() {
                Ok(i) => index(&path, i),
                Err(_) => join(&path, segment),
            });
        assert_eq!(
            problems(&with(&valid, bad, json!("x"))),
            [format!("{path}: unknown field")]
        );
    }

    const APPLICATION: &str = "
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
";

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
    fn a_valid_argo_cd_application_passes() {
        assert_eq!(problems(&object(APPLICATION)), Vec::<String>::new());
    }

    #[test]
    fn an_application_with_a_misspelt_source_fails_naming_the_path() {
        let mut application = object(APPLICATION);
        let source = application["spec"].as_object_mut().unwrap().remove("source").unwrap();
        application["spec"]["sourc"] = source;
        assert_eq!(problems(&application), ["spec.sourc: unknown field"]);
    }

    #[test]
    fn a_valid_app_project_passes() {
        let project = object(
            "
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: course, namespace: argocd}
spec:
  description: Lessons of the course
  sourceRepos: ['*']
  destinations: [{namespace: '*', server: https://kubernetes.default.svc}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
",
        );
        assert_eq!(problems(&project), Vec::<String>::new());
    }

    #[test]
    fn metadata_is_checked_as_object_meta() {
        // Unknown fields are reported up to the first type error, so the typo comes first.
        let application = with(&object(APPLICATION), "/metadata/nmae", json!("x"));
        let application = with(&application, "/metadata/labels", json!({"app": 3}));
        let found = problems(&application);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|p| p == "metadata.nmae: unknown field"), "{found:?}");
        assert!(
            found.iter().any(|p| p.starts_with("metadata.labels.app: invalid type")),
            "{found:?}"
        );
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        let application = with(&object(APPLICATION), "/spec/syncPolicy/automated/prune", json!("yes"));
        assert_eq!(
            problems(&application),
            ["spec.syncPolicy.automated.prune: expected boolean, found string"]
        );
    }

    #[test]
    fn a_missing_required_field_is_reported() {
        let mut application = object(APPLICATION);
        application["spec"].as_object_mut().unwrap().remove("destination");
        assert_eq!(problems(&application), ["spec.destination: required field is missing"]);
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
    fn a_keda_scaled_object_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(
            "
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: worker}
spec:
  scaleTargetRef: {name: worker}
  minReplicaCount: 0
  maxReplicaCount: 5
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: '60'}
",
            "/spec/triggers/0/metdata",
        );
    }

    #[test]
    fn a_gatekeeper_constraint_template_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(
            "
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8srequiredlabels}
spec:
  crd:
    spec:
      names: {kind: K8sRequiredLabels}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels: {type: array, items: {type: string}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8srequiredlabels
      violation[{\"msg\": msg}] { false; msg := \"\" }
",
            "/spec/targets/0/regoo",
        );
    }

    #[test]
    fn a_gateway_api_http_route_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(
            "
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: public}]
  hostnames: [web.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 80}]
",
            "/spec/rules/0/backendRefs/0/weigth",
        );
    }

    const ROLLOUT: &str = "
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: 'nginx:1.27'}]
  strategy:
    canary:
      maxSurge: 1
      steps: [{setWeight: 20}, {pause: {duration: 30s}}]
";

    #[test]
    fn an_argo_rollout_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(ROLLOUT, "/spec/strategy/canary/stepz");
    }

    #[test]
    fn int_or_string_accepts_both_and_nothing_else() {
        let rollout = object(ROLLOUT);
        for good in [json!(1), json!("25%")] {
            assert_eq!(
                problems(&with(&rollout, "/spec/strategy/canary/maxSurge", good)),
                Vec::<String>::new()
            );
        }
        let bad = with(&rollout, "/spec/strategy/canary/maxSurge", json!(true));
        assert_eq!(
            problems(&bad),
            ["spec.strategy.canary.maxSurge: expected integer or string, found boolean"]
        );
    }

    #[test]
    fn a_service_monitor_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(
            "
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, labels: {release: prometheus}}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: [{port: http, interval: 30s, path: /metrics}]
",
            "/spec/endpoints/0/intervall",
        );
    }

    #[test]
    fn an_istio_virtual_service_passes_and_rejects_an_unknown_field() {
        passes_and_rejects_unknown_field(
            "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}, weight: 100}]
",
            "/spec/http/0/rout",
        );
    }

    #[test]
    fn preserve_unknown_fields_subtrees_accept_anything() {
        let template = object(
            "
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: anything}
spec:
  crd:
    spec:
      names: {kind: Anything}
      validation:
        openAPIV3Schema: {whatever: [1, {deeply: {nested: true}}], x-custom: null}
",
        );
        assert_eq!(problems(&template), Vec::<String>::new());
    }

    #[test]
    fn schema_keywords_constrain_values() {
        let scaled_object = object(
            "
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: worker}
spec:
  scaleTargetRef: {name: worker}
  triggers: [{type: cpu, metadata: {value: '60'}}]
",
        );
        // `metadata` of a trigger is a map whose values must be strings.
        let bad = with(&scaled_object, "/spec/triggers/0/metadata/value", json!(60));
        assert_eq!(
            problems(&bad),
            ["spec.triggers[0].metadata.value: expected string, found integer"]
        );
        // `hostnames` of an HTTPRoute have a pattern and a length limit.
        let route = object(
            "{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: r}, spec: {hostnames: ['-bad-']}}",
        );
        let found = problems(&route);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("spec.hostnames[0]: must match the pattern"),
            "{found:?}"
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

    /// Problems of a `Gadget` with `spec`, checked against a small schema that uses the
    /// keywords the upstream CRDs leave untested.
    fn gadget_problems(spec: Value) -> Vec<String> {
        static GADGETS: LazyLock<CrdSchemas> = LazyLock::new(|| {
            let spec_schema = json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string"},
                    "b": {"type": "string"},
                    "n": {"type": "integer", "minimum": 1, "maximum": 9},
                    "note": {"type": "string", "nullable": true},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                },
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                "not": {"required": ["n"], "properties": {"n": {"enum": [5]}}},
            });
            let crd = json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "gadgets.example.com"},
                "spec": {
                    "group": "example.com", "scope": "Cluster",
                    "names": {"kind": "Gadget", "plural": "gadgets"},
                    "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {"spec": spec_schema},
                    }}}],
                },
            });
            CrdSchemas::from_documents([crd]).unwrap()
        });
        assert_eq!(GADGETS.scope("example.com/v1", "Gadget"), Some(Scope::Cluster));
        let gadget = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": spec});
        GADGETS
            .validate(&gadget)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn junctors_follow_json_schema() {
        assert_eq!(gadget_problems(json!({"a": "x", "n": 3})), Vec::<String>::new());
        assert_eq!(
            gadget_problems(json!({"a": "x", "b": "y"})),
            ["spec: matches 2 schemas in `oneOf`, expected exactly one"]
        );
        assert_eq!(
            gadget_problems(json!({"a": "x", "n": 5})),
            ["spec: matches the schema in `not`"]
        );
        assert_eq!(
            gadget_problems(json!({"b": "y", "n": 10})),
            ["spec.n: must be at most 9"]
        );
    }

    #[test]
    fn null_is_kept_only_where_nullable_and_dropped_elsewhere() {
        assert_eq!(
            gadget_problems(json!({"a": "x", "note": null, "n": null})),
            Vec::<String>::new()
        );
        // The dropped `a` no longer satisfies `oneOf`.
        assert_eq!(
            gadget_problems(json!({"a": null, "note": 3})),
            [
                "spec.note: expected string, found integer",
                "spec: matches 0 schemas in `oneOf`, expected exactly one"
            ]
        );
    }

    #[test]
    fn embedded_resources_need_api_version_kind_and_valid_metadata() {
        let template = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
        assert_eq!(
            gadget_problems(json!({"a": "x", "template": template})),
            Vec::<String>::new()
        );
        assert_eq!(
            gadget_problems(json!({"a": "x", "template": {"metadata": {"nmae": "c"}}})),
            [
                "spec.template.apiVersion: required field is missing",
                "spec.template.kind: required field is missing",
                "spec.template.metadata.nmae: unknown field",
            ]
        );
    }
}
