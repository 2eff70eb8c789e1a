//! The checker: walks an object and its CRD schema together and reports every field
//! that breaks it, as an API server does with strict field validation.
//!
//!
//! Only the structural part of a schema (its own `properties`, `items` and
//! `additionalProperties`, not those inside `anyOf`/`oneOf`/`allOf`/`not`) decides which
//! fields exist, as in the API server's pruning; the junctors only constrain values. A
//! `null` in a field that is not `nullable` is dropped, as the API server prunes it.
//! Formats other than `byte`, `ipv4`, `ipv6`, `cidr` and `uuid` are not checked, nor are
//! CEL rules (`x-kubernetes-validations`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::builtin::deserialize_strict;
use crate::{FieldProblem, index, join, json_type};

/// Every problem of `object` (a whole resource) against `schema`; empty when it is valid.
pub(super) fn check(schema: &JSONSchemaProps, object: &Value) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    Checker::default().check(schema, object, "", true, &mut problems);
    problems
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

    use super::super::fixtures::{APPLICATION, object, passes_and_rejects_unknown_field, problems, with};
    use super::*;
    use crate::{CrdSchemas, Scope};

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
