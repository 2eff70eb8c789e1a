//! Gatekeeper generates a CRD for each ConstraintTemplate when it is created, so no CRD
//! file exists for a constraint kind such as `K8sRequiredLabels`. We build the same CRD
//! from the template, so constraints are checked against the template's own schema.

use serde_json::{Value, json};

/// The CRD Gatekeeper would create for `template`, or `None` if it is not a
/// ConstraintTemplate with a kind name.
pub fn constraint_crd(template: &Value) -> Option<Value> {
    if template["kind"] != "ConstraintTemplate"
        || !template["apiVersion"].as_str()?.starts_with("templates.gatekeeper.sh/")
    {
        return None;
    }
    let names = &template["spec"]["crd"]["spec"]["names"];
    let kind = names["kind"].as_str()?;
    let parameters = match &template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"] {
        Value::Null => json!({"x-kubernetes-preserve-unknown-fields": true}),
        schema => schema.clone(),
    };
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "enforcementAction": {"type": "string"},
                    "match": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "parameters": parameters,
                },
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
    });
    let versions: Vec<Value> = ["v1beta1", "v1alpha1", "v1"]
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"name": v, "served": true, "storage": i == 0, "schema": {"openAPIV3Schema": schema}}))
        .collect();
    let plural = kind.to_lowercase();
    Some(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.constraints.gatekeeper.sh")},
        "spec": {
            "group": "constraints.gatekeeper.sh",
            "names": {"kind": kind, "plural": plural, "listKind": format!("{kind}List"), "singular": plural},
            "scope": "Cluster",
            "versions": versions,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CrdSchemas;

    #[test]
    fn checks_a_constraint_against_its_templates_parameters() {
        let template = json!({
            "apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate",
            "metadata": {"name": "k8srequiredlabels"},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sRequiredLabels"}, "validation": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"labels": {"type": "array", "items": {"type": "string"}}},
            }}}}},
        });
        let schemas = CrdSchemas::from_documents([constraint_crd(&template).unwrap()]).unwrap();
        let constraint = |parameters: Value| {
            json!({
                "apiVersion": "constraints.gatekeeper.sh/v1beta1",
                "kind": "K8sRequiredLabels",
                "metadata": {"name": "owner"},
                "spec": {"match": {"kinds": [{"kinds": ["Pod"]}]}, "parameters": parameters},
            })
        };
        assert_eq!(
            schemas.validate(&constraint(json!({"labels": ["owner"]}))),
            Some(vec![])
        );
        let problems = schemas.validate(&constraint(json!({"lables": ["owner"]}))).unwrap();
        assert_eq!(problems[0].path, "spec.parameters.lables");
    }
}
