//! Kubernetes kinds as gitgen reasons about them without a cluster: the API group of a
//! kind a lesson declares, which kinds are cluster-scoped whatever a lesson says, and
//! which kinds a manifest template writes, read from its text without rendering it.
//!
//! Both the catalog (which records each lesson's kinds and checks its declarations) and
//! render (which builds AppProjects and refuses undeclared objects) ask; it asks neither.

use crate::{builtin_cluster_group, builtin_group, is_builtin_cluster_kind};

/// The API group of Argo CD's own kinds (which Argo Rollouts' kinds share).
pub const ARGOCD_GROUP: &str = "argoproj.io";

/// Argo CD's own kinds: the CRDs of its install (`manifests/crds/` at v2.12.3 and v3.5.1).
pub const ARGOCD_KINDS: [&str; 3] = ["Application", "AppProject", "ApplicationSet"];

/// Whether an object of `group` and `kind` goes where Argo CD runs (the management
/// cluster) rather than to a learner's cluster: a learner cluster runs no Argo CD, so it
/// has no Application or AppProject kind to create one of. (Argo Rollouts' kinds, in the
/// same group, go to the learner's cluster, where its controller and CRDs are.)
pub fn runs_with_argocd(group: &str, kind: &str) -> bool {
    group == ARGOCD_GROUP && ARGOCD_KINDS.contains(&kind)
}

/// The API group of a declared cluster kind: `group/Kind` as written, or the group of a
/// built-in `Kind`. `None` when a custom kind was written without its group.
pub fn cluster_kind_group(declared: &str) -> Option<(&str, &str)> {
    match declared.rsplit_once('/') {
        Some((group, kind)) => Some((group, kind)),
        None => builtin_cluster_group(declared).map(|group| (group, declared)),
    }
}

/// The API group and kind of a declared kind of either scope: `group/Kind` as written, or
/// the group of a built-in `Kind`. `None` when a custom kind was written without its group.
pub fn declared_kind_group(declared: &str) -> Option<(&str, &str)> {
    match declared.rsplit_once('/') {
        Some((group, kind)) => Some((group, kind)),
        None => builtin_group(declared).map(|group| (group, declared)),
    }
}

/// Custom kinds that are cluster-scoped, from the CRDs of the charts the course pins
/// (`/work/shared/crds`-style upstream copies): an undeclared one is refused even though
/// render has no CRD at hand. Any other custom kind is taken as namespaced, and the
/// lesson's AppProject (whose cluster kinds are exactly `cluster_kinds`) stops it in Argo CD.
const KNOWN_CLUSTER_CUSTOM_KINDS: &[(&str, &str)] = &[
    ("templates.gatekeeper.sh", "ConstraintTemplate"),
    ("argoproj.io", "ClusterAnalysisTemplate"),
    ("keda.sh", "ClusterTriggerAuthentication"),
    ("gateway.networking.k8s.io", "GatewayClass"),
];

/// Gatekeeper serves every constraint kind from these groups, all cluster-scoped.
const CLUSTER_CUSTOM_GROUPS: &[&str] = &[
    "constraints.gatekeeper.sh",
    "mutations.gatekeeper.sh",
    "expansion.gatekeeper.sh",
    "externaldata.gatekeeper.sh",
];

/// Whether `(group, kind)` is known to be cluster-scoped, whatever a lesson declares.
pub fn is_known_cluster_kind(group: &str, kind: &str) -> bool {
    is_builtin_cluster_kind(group, kind)
        || KNOWN_CLUSTER_CUSTOM_KINDS.contains(&(group, kind))
        || CLUSTER_CUSTOM_GROUPS.contains(&group)
}

/// The API group of an `apiVersion` (`""` for the core group).
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// The `(group, kind)` of the objects gitgen writes to create a lesson's `cluster_secrets`
/// in the cluster (`render::secrets`, whose tests hold the two together): a lesson that
/// declares any needs its AppProject to allow them.
pub const CLUSTER_SECRETS_KINDS: [(&str, &str); 4] = [
    ("", "ServiceAccount"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("batch", "Job"),
];

/// The `(group, kind)` of every object written in a manifest template: the `apiVersion:`
/// and `kind:` at the top of each document, and of each item of a document that is a
/// `List`. Render refuses an object whose kind is not among them, so this set is exactly
/// what the lesson's AppProject must allow, read without rendering the templates.
pub fn template_kinds(text: &str) -> Vec<(String, String)> {
    /// A line of interest: the column its key starts at, whether it starts a list entry,
    /// and its `apiVersion`/`kind` value if it has one.
    struct Line<'t> {
        column: usize,
        entry: bool,
        field: Option<(&'t str, &'t str)>,
    }
    fn read(line: &str) -> Option<Line<'_>> {
        let trimmed = line.trim_start_matches(' ');
        let mut column = line.len() - trimmed.len();
        let (entry, body) = match trimmed.strip_prefix("- ") {
            Some(rest) => {
                let body = rest.trim_start_matches(' ');
                column += 2 + rest.len() - body.len();
                (true, body)
            }
            None => (false, trimmed),
        };
        let field = ["apiVersion", "kind"].into_iter().find_map(|key| {
            let value = body.strip_prefix(key)?.strip_prefix(':')?;
            let value = value.split(" #").next().unwrap_or("").trim().trim_matches(['"', '\'']);
            (!value.is_empty() && !value.contains("{{")).then_some((key, value))
        });
        (entry || field.is_some()).then_some(Line { column, entry, field })
    }
    fn object<'t>(lines: &[&Line<'t>]) -> Option<(String, String)> {
        let find = |key: &str| {
            lines
                .iter()
                .find_map(|l| l.field.filter(|(k, _)| *k == key).map(|(_, v)| v))
        };
        Some((api_group(find("apiVersion")?).to_owned(), find("kind")?.to_owned()))
    }
    let mut kinds = Vec::new();
    let mut documents = vec![Vec::new()];
    for line in text.lines() {
        if line.starts_with("---") {
            documents.push(Vec::new());
        } else if let Some(read) = read(line) {
            documents.last_mut().expect("one document at least").push(read);
        }
    }
    for lines in &documents {
        let top: Vec<&Line<'_>> = lines.iter().filter(|l| l.column == 0).collect();
        let Some((group, kind)) = object(&top) else { continue };
        if !kind.ends_with("List") {
            kinds.push((group, kind));
            continue;
        }
        // Each `- ` at the shallowest entry column starts an item of the List.
        let Some(column) = lines.iter().filter(|l| l.entry).map(|l| l.column).min() else {
            continue;
        };
        let mut item: Vec<&Line<'_>> = Vec::new();
        for line in lines.iter().filter(|l| l.column == column) {
            if line.entry {
                kinds.extend(object(&item));
                item.clear();
            }
            item.push(line);
        }
        kinds.extend(object(&item));
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kinds_written_at_the_top_of_each_document_and_in_lists() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  scaleTargetRef:\n    apiVersion: v1\n    kind: Gadget\n---\n\
                    apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: \"Secret\"\n    metadata: {name: s}\n  - kind: ConfigMap # a comment\n    apiVersion: v1\n---\n\
                    apiVersion: v1\nkind: {{ kind }}\n";
        assert_eq!(
            template_kinds(text),
            [
                ("apps".to_owned(), "Deployment".to_owned()),
                (String::new(), "Secret".to_owned()),
                (String::new(), "ConfigMap".to_owned()),
            ]
        );
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
