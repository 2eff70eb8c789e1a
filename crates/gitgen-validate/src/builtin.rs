//! Built-in Kubernetes kinds, checked by deserializing them into their `k8s-openapi` types.
//!
//! `serde_ignored` reports every field the type does not know, and `serde_path_to_error`
//! says where a value of the wrong type sits. The table [`KINDS`] lists the kinds we know.

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{FieldProblem, Scope, index, join};

/// Checks a built-in object strictly: `None` when `apiVersion`/`kind` is not a built-in
/// kind we know, otherwise every problem found (empty when the object is valid).
pub fn check_builtin(object: &Value) -> Option<Vec<FieldProblem>> {
    let kind = lookup(object.get("apiVersion")?.as_str()?, object.get("kind")?.as_str()?)?;
    Some((kind.check)(object))
}

/// The scope of a built-in kind, or `None` when it is not one we know.
pub fn builtin_scope(api_version: &str, kind: &str) -> Option<Scope> {
    lookup(api_version, kind).map(|k| k.scope)
}

/// The API group of a built-in cluster-scoped `kind`, whatever its version: lessons
/// declare cluster kinds by name (`StorageClass`), and AppProjects need the group.
pub fn builtin_cluster_group(kind: &str) -> Option<&'static str> {
    builtin_group_where(kind, |scope| scope == Scope::Cluster)
}

/// The API group of a built-in `kind` of either scope, whatever its version: charts'
/// declared kinds name built-ins by kind alone (`Deployment`).
pub fn builtin_group(kind: &str) -> Option<&'static str> {
    builtin_group_where(kind, |_| true)
}

fn builtin_group_where(kind: &str, scope: impl Fn(Scope) -> bool) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|k| k.kind == kind && scope(k.scope))
        .map(|k| k.api_version.rsplit_once('/').map_or("", |(group, _)| group))
}

/// Whether `kind` of API `group` is a built-in cluster-scoped kind, whatever its version.
pub fn is_builtin_cluster_kind(group: &str, kind: &str) -> bool {
    builtin_cluster_group(kind) == Some(group)
}

/// Deserializes `value` into `T`, pushing every unknown field and the first type error
/// onto `problems` with paths under `prefix`. Returns the value when one could be built.
pub(super) fn deserialize_strict<T: DeserializeOwned>(
    value: &Value,
    prefix: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<T> {
    let mut unknown = |path: serde_ignored::Path<'_>| {
        problems.push(FieldProblem::new(ignored_path(&path, prefix), "unknown field"));
    };
    let result = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut unknown));
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            let path = err
                .path()
                .iter()
                .fold(prefix.to_owned(), |path, segment| match segment {
                    serde_path_to_error::Segment::Seq { index: i } => index(&path, *i),
                    serde_path_to_error::Segment::Map { key } => join(&path, key),
                    serde_path_to_error::Segment::Enum { variant } => join(&path, variant),
                    serde_path_to_error::Segment::Unknown => join(&path, "?"),
                });
            problems.push(FieldProblem::new(path, err.into_inner().to_string()));
            None
        }
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>, prefix: &str) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => prefix.to_owned(),
        Path::Seq { parent, index: i } => index(&ignored_path(parent, prefix), *i),
        Path::Map { parent, key } => join(&ignored_path(parent, prefix), key),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent, prefix)
        }
    }
}

/// One built-in kind: how to find it, where it lives and how to check it.
struct BuiltinKind {
    api_version: &'static str,
    kind: &'static str,
    scope: Scope,
    check: fn(&Value) -> Vec<FieldProblem>,
}

fn lookup(api_version: &str, kind: &str) -> Option<&'static BuiltinKind> {
    KINDS.iter().find(|k| k.api_version == api_version && k.kind == kind)
}

fn check_as<T: DeserializeOwned>(object: &Value) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    deserialize_strict::<T>(object, "", &mut problems);
    problems
}

/// Turns k8s-openapi's scope marker types into a [`Scope`] value.
trait ScopeValue {
    const SCOPE: Scope;
}

impl ScopeValue for NamespaceResourceScope {
    const SCOPE: Scope = Scope::Namespaced;
}

impl ScopeValue for ClusterResourceScope {
    const SCOPE: Scope = Scope::Cluster;
}

macro_rules! builtin_kinds {
    ($($ty:ty),* $(,)?) => {
        &[$(BuiltinKind {
            api_version: <$ty as Resource>::API_VERSION,
            kind: <$ty as Resource>::KIND,
            scope: <<$ty as Resource>::Scope as ScopeValue>::SCOPE,
            check: check_as::<$ty>,
        }),*]
    };
}

static KINDS: &[BuiltinKind] = {
    use k8s_openapi::api::{
        admissionregistration, apps, autoscaling, batch, core, flowcontrol, networking, node, policy, rbac, scheduling,
        storage,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration;
    builtin_kinds![
        core::v1::Pod,
        core::v1::Service,
        core::v1::ConfigMap,
        core::v1::Secret,
        core::v1::ServiceAccount,
        core::v1::Namespace,
        core::v1::Node,
        core::v1::PersistentVolumeClaim,
        core::v1::PersistentVolume,
        core::v1::Endpoints,
        core::v1::LimitRange,
        core::v1::ResourceQuota,
        apps::v1::Deployment,
        apps::v1::ReplicaSet,
        apps::v1::StatefulSet,
        apps::v1::DaemonSet,
        batch::v1::Job,
        batch::v1::CronJob,
        autoscaling::v2::HorizontalPodAutoscaler,
        autoscaling::v1::HorizontalPodAutoscaler,
        networking::v1::Ingress,
        networking::v1::IngressClass,
        networking::v1::NetworkPolicy,
        rbac::v1::Role,
        rbac::v1::RoleBinding,
        rbac::v1::ClusterRole,
        rbac::v1::ClusterRoleBinding,
        storage::v1::StorageClass,
        storage::v1::CSIDriver,
        storage::v1::CSINode,
        storage::v1::VolumeAttachment,
        policy::v1::PodDisruptionBudget,
        apiextensions::v1::CustomResourceDefinition,
        admissionregistration::v1::ValidatingWebhookConfiguration,
        admissionregistration::v1::MutatingWebhookConfiguration,
        admissionregistration::v1::ValidatingAdmissionPolicy,
        admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        node::v1::RuntimeClass,
        flowcontrol::v1::FlowSchema,
        flowcontrol::v1::PriorityLevelConfiguration,
        scheduling::v1::PriorityClass,
        apiregistration::v1::APIService,
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    }]},
                },
            },
        })
    }

    fn messages(problems: &[FieldProblem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_valid_deployment_passes() {
        assert_eq!(check_builtin(&deployment()), Some(vec![]));
    }

    #[test]
    fn a_misspelt_field_is_reported_with_its_full_path() {
        let mut object = deployment();
        let container = &mut object["spec"]["template"]["spec"]["containers"][0];
        container["imagePullPolcy"] = container["imagePullPolicy"].take();
        container.as_object_mut().unwrap().remove("imagePullPolicy");
        let problems = check_builtin(&object).unwrap();
        assert_eq!(
            messages(&problems),
            ["spec.template.spec.containers[0].imagePullPolcy: unknown field"]
        );
    }

    #[test]
    fn every_unknown_field_is_reported_not_only_the_first() {
        let mut object = deployment();
        object["spec"]["replica"] = json!(1);
        object["metadata"]["label"] = json!({});
        let problems = check_builtin(&object).unwrap();
        assert_eq!(
            messages(&problems),
            ["metadata.label: unknown field", "spec.replica: unknown field"]
        );
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = json!("eighty");
        let problems = check_builtin(&object).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].path,
            "spec.template.spec.containers[0].ports[0].containerPort"
        );
        assert!(problems[0].message.contains("invalid type"), "{}", problems[0]);
    }

    #[test]
    fn an_unknown_kind_is_not_a_builtin() {
        let object = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"});
        assert_eq!(check_builtin(&object), None);
        assert_eq!(check_builtin(&json!({"kind": "Pod"})), None);
    }

    #[test]
    fn both_autoscaling_versions_are_known() {
        let hpa = |version: &str| {
            json!({
                "apiVersion": version,
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
            })
        };
        assert_eq!(check_builtin(&hpa("autoscaling/v2")), Some(vec![]));
        assert_eq!(check_builtin(&hpa("autoscaling/v1")), Some(vec![]));
    }

    #[test]
    fn an_upstream_crd_passes() {
        let path = concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/../shared/crds/argocd/appproject-crd.yaml"
        );
        let text = fs_err::read_to_string(path)
            .unwrap_or_else(|e| panic!("the upstream CRDs must be in shared/crds (see SOURCES.md there): {e}"));
        let crd: Value = gitgen_yaml::from_str(&text, std::path::Path::new(path)).unwrap();
        assert_eq!(check_builtin(&crd), Some(vec![]));
    }

    #[test]
    fn scope_comes_from_the_kind() {
        assert_eq!(builtin_scope("v1", "ConfigMap"), Some(Scope::Namespaced));
        assert_eq!(
            builtin_scope("rbac.authorization.k8s.io/v1", "ClusterRole"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            builtin_scope("apiregistration.k8s.io/v1", "APIService"),
            Some(Scope::Cluster)
        );
        assert_eq!(builtin_scope("v1", "Gadget"), None);
    }
}
