//! Argo CD's own rules, ported line by line from the pinned release (v2.12.3) for tests
//! that check rendered objects the way Argo CD would sync them: which objects of a Helm
//! render it applies, and whether an AppProject permits each (kind, destination, source).
//! The one model of these rules for every test tier: `tests/e2e_helm.rs`,
//! `tests/e2e_converge.rs` and `tests/it/policy.rs` all ask it.

#![allow(dead_code)]

use serde_json::Value;

/// Whether Argo CD applies `object` in a sync: gitops-engine `pkg/sync/ignore/ignore.go`
/// `Ignore` (a hook with no phase is dropped) over `pkg/sync/hook/hook.go` `IsHook`, `Skip`
/// and `Types` (recognised `argocd.argoproj.io/hook` values win; else `helm.sh/hook`,
/// where `crd-install` is no hook) and `pkg/sync/hook/helm/type.go` `NewType` (only
/// pre-install, pre-upgrade, post-install and post-upgrade map to a phase). So `helm test`
/// Pods and delete or rollback hooks never reach the cluster, and need no permission.
pub fn is_applied(object: &Value) -> bool {
    let annotations = &object["metadata"]["annotations"];
    let csv = |key: &str| -> Vec<String> {
        annotations[key]
            .as_str()
            .map(|text| {
                text.split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    const ARGO: [&str; 5] = ["PreSync", "Sync", "PostSync", "SyncFail", "Skip"];
    const HELM: [&str; 4] = ["pre-install", "pre-upgrade", "post-upgrade", "post-install"];
    let argo_types: Vec<String> = csv("argocd.argoproj.io/hook")
        .into_iter()
        .filter(|t| ARGO.contains(&t.as_str()))
        .collect();
    let types = if argo_types.is_empty() {
        csv("helm.sh/hook")
            .iter()
            .filter(|t| HELM.contains(&t.as_str()))
            .count()
    } else {
        argo_types.len()
    };
    let skip = argo_types.len() == 1 && argo_types[0] == "Skip";
    let is_hook = if annotations.get("argocd.argoproj.io/hook").is_some() {
        !skip
    } else {
        annotations["helm.sh/hook"]
            .as_str()
            .is_some_and(|hook| hook != "crd-install")
    };
    !(is_hook && types == 0)
}

/// Go's `filepath.Match` for the patterns AppProjects use (`*`, `?`, literal text): what
/// argo-cd `pkg/apis/application/v1alpha1/types.go` `isResourceInList` matches kinds and
/// groups with. `*` matches any text without `/`.
pub fn filepath_match(pattern: &str, text: &str) -> bool {
    glob(pattern.as_bytes(), text.as_bytes(), Some(b'/'), false)
}

/// gobwas/glob without separators (`*` is any text), as argo-cd's `globMatch` uses it for
/// destinations; a leading `!` is a deny pattern, which the caller handles.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    pattern == "*" || glob(pattern.as_bytes(), text.as_bytes(), None, true)
}

/// gobwas/glob with `/` as its separator, as argo-cd's `globMatch` uses it for source
/// repositories: `*` and `?` stop at a `/`, `**` does not.
fn source_glob_match(pattern: &str, text: &str) -> bool {
    pattern == "*" || glob(pattern.as_bytes(), text.as_bytes(), Some(b'/'), true)
}

/// `*`, `?` and literal text; `separator` is what `*` and `?` never match, and with
/// `super_star` a `**` (gobwas/glob's super-asterisk) matches it too. Character classes
/// and `{a,b}` alternatives are not modelled: no AppProject gitgen writes has them.
fn glob(pattern: &[u8], text: &[u8], separator: Option<u8>, super_star: bool) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) if super_star && rest.first() == Some(&b'*') => {
            (0..=text.len()).any(|i| glob(&rest[1..], &text[i..], separator, super_star))
        }
        Some((b'*', rest)) => (0..=text.len())
            .take_while(|&i| i == 0 || Some(text[i - 1]) != separator)
            .any(|i| glob(rest, &text[i..], separator, super_star)),
        Some((b'?', rest)) => text
            .split_first()
            .is_some_and(|(c, tail)| Some(*c) != separator && glob(rest, tail, separator, super_star)),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, tail)| t == c && glob(rest, tail, separator, super_star)),
    }
}

/// argo-cd `types.go` `isResourceInList`.
fn is_resource_in_list(list: &[Value], group: &str, kind: &str) -> bool {
    list.iter().any(|item| {
        filepath_match(item["kind"].as_str().unwrap_or(""), kind)
            && filepath_match(item["group"].as_str().unwrap_or(""), group)
    })
}

/// argo-cd `pkg/apis/application/v1alpha1/app_project_types.go`
/// `AppProject.IsGroupKindPermitted`: a namespaced kind needs no whitelist at all (nil) or
/// a non-empty one that lists it; a cluster-scoped kind a non-empty whitelist that lists
/// it; and neither may be in its blacklist.
pub fn is_group_kind_permitted(project: &Value, group: &str, kind: &str, namespaced: bool) -> bool {
    let spec = &project["spec"];
    let (white, black) = if namespaced {
        (&spec["namespaceResourceWhitelist"], &spec["namespaceResourceBlacklist"])
    } else {
        (&spec["clusterResourceWhitelist"], &spec["clusterResourceBlacklist"])
    };
    let listed = |list: &Value| {
        list.as_array()
            .is_some_and(|l| !l.is_empty() && is_resource_in_list(l, group, kind))
    };
    let whitelisted = if namespaced {
        white.is_null() || listed(white)
    } else {
        listed(white)
    };
    whitelisted && !listed(black)
}

/// argo-cd `util/git/git.go` `NormalizeGitURL` for the https URLs gitgen writes: trimmed,
/// lower case, without a trailing `.git` (its rewriting of scp-style SSH URLs is not
/// modelled: `gitgen.yaml` takes an https `repo_url`).
fn normalize_git_url(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    url.strip_suffix(".git").unwrap_or(&url).to_owned()
}

/// argo-cd `pkg/apis/application/v1alpha1/app_project_types.go`
/// `AppProject.IsSourcePermitted` (the same at v2.12.3 and v3.5.1): both URLs normalized,
/// some `sourceRepos` entry matches, and no deny entry (`!…`) matches. As upstream, a deny
/// entry that does not match counts as a match.
pub fn is_source_permitted(project: &Value, repo_url: &str) -> bool {
    let source = normalize_git_url(repo_url);
    let mut any_matched = false;
    for entry in project["spec"]["sourceRepos"].as_array().into_iter().flatten() {
        let entry = entry.as_str().unwrap_or("");
        let matched = match entry.strip_prefix('!') {
            Some(denied) => !source_glob_match(&normalize_git_url(denied), &source),
            None => source_glob_match(&normalize_git_url(entry), &source),
        };
        if matched {
            any_matched = true;
        } else if entry.starts_with('!') {
            return false;
        }
    }
    any_matched
}

/// Where an Application deploys: a cluster by `server` or by `name`, and a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The API server URL, or empty.
    pub server: String,
    /// The cluster's name in Argo CD, or empty.
    pub name: String,
    /// The namespace.
    pub namespace: String,
}

/// argo-cd `app_project_types.go` `AppProject.isDestinationMatched` (what
/// `IsDestinationPermitted` asks when `permitOnlyProjectScopedClusters` is off, as in
/// every gitgen project): some entry matches server or name, and namespace; no deny
/// entry (`!…`) fails to match.
pub fn is_destination_permitted(project: &Value, dst: &Destination) -> bool {
    let mut any_matched = false;
    let mut no_deny_matched = true;
    let deny = |p: &str| p.starts_with('!');
    let matches = |pattern: &str, value: &str| match pattern.strip_prefix('!') {
        Some(rest) => !glob_match(rest, value),
        None => glob_match(pattern, value),
    };
    for item in project["spec"]["destinations"].as_array().into_iter().flatten() {
        let (name, server, namespace) = (
            item["name"].as_str().unwrap_or(""),
            item["server"].as_str().unwrap_or(""),
            item["namespace"].as_str().unwrap_or(""),
        );
        let name_matched = !dst.name.is_empty() && matches(name, &dst.name);
        let server_matched = !dst.server.is_empty() && matches(server, &dst.server);
        let namespace_matched = matches(namespace, &dst.namespace);
        if (server_matched || name_matched) && namespace_matched {
            any_matched = true;
        } else if (!name_matched && deny(name))
            || (!server_matched && deny(server))
            || (!namespace_matched && deny(namespace))
        {
            no_deny_matched = false;
        }
    }
    any_matched && no_deny_matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_namespaced_kind_needs_a_listing_whitelist_unless_there_is_none() {
        let none = json!({"spec": {}});
        let empty = json!({"spec": {"namespaceResourceWhitelist": []}});
        let apps = json!({"spec": {"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}],
                                   "namespaceResourceBlacklist": [{"group": "apps", "kind": "DaemonSet"}]}});
        assert!(is_group_kind_permitted(&none, "apps", "Deployment", true));
        assert!(!is_group_kind_permitted(&empty, "apps", "Deployment", true));
        assert!(is_group_kind_permitted(&apps, "apps", "Deployment", true));
        assert!(!is_group_kind_permitted(&apps, "apps", "DaemonSet", true));
        assert!(!is_group_kind_permitted(&apps, "", "ResourceQuota", true));
    }

    #[test]
    fn a_cluster_scoped_kind_needs_a_whitelist_that_lists_it() {
        let none = json!({"spec": {}});
        let crds = json!({"spec": {"clusterResourceWhitelist": [{"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"}]}});
        assert!(!is_group_kind_permitted(
            &none,
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            false
        ));
        assert!(is_group_kind_permitted(
            &crds,
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            false
        ));
        assert!(!is_group_kind_permitted(
            &crds,
            "rbac.authorization.k8s.io",
            "ClusterRole",
            false
        ));
    }

    #[test]
    fn a_destination_matches_by_server_or_name_and_namespace_and_deny_entries_win() {
        let project = json!({"spec": {"destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "keda"},
            {"name": "classroom-*", "namespace": "keda"},
            {"server": "*", "namespace": "!kube-system"}]}});
        let at = |server: &str, name: &str, namespace: &str| Destination {
            server: server.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        };
        assert!(is_destination_permitted(
            &project,
            &at("https://kubernetes.default.svc", "", "keda")
        ));
        assert!(is_destination_permitted(&project, &at("", "classroom-ada", "keda")));
        assert!(!is_destination_permitted(
            &project,
            &at("", "classroom-ada", "kube-system")
        ));
        assert!(!is_destination_permitted(
            &project,
            &at("https://other", "", "kube-system")
        ));
    }

    #[test]
    fn helm_test_and_delete_hooks_are_never_applied() {
        let with = |hook: &str| json!({"metadata": {"annotations": {"helm.sh/hook": hook}}});
        assert!(is_applied(&json!({"metadata": {}})));
        assert!(is_applied(&with("crd-install")));
        assert!(is_applied(&with("pre-install,pre-upgrade")));
        assert!(!is_applied(&with("test")));
        assert!(!is_applied(&with("pre-delete")));
        assert!(is_applied(
            &json!({"metadata": {"annotations": {"helm.sh/hook": "test", "argocd.argoproj.io/hook": "Sync"}}})
        ));
    }

    #[test]
    fn a_source_matches_its_normalized_url_and_a_matching_deny_entry_wins() {
        let project = json!({"spec": {"sourceRepos": [
            "https://github.com/gitgen-course/Kubernetes-Course.git",
            "https://charts.example.com/*"]}});
        assert!(is_source_permitted(
            &project,
            "https://github.com/gitgen-course/kubernetes-course"
        ));
        assert!(is_source_permitted(
            &project,
            " https://github.com/GITGEN-course/kubernetes-course.git"
        ));
        assert!(is_source_permitted(&project, "https://charts.example.com/stable"));
        assert!(
            !is_source_permitted(&project, "https://charts.example.com/a/b"),
            "`*` stops at a `/`"
        );
        assert!(!is_source_permitted(&project, "https://github.com/gitgen-course/other"));
        let anywhere_but = json!({"spec": {"sourceRepos": ["https://github.com/**", "!https://github.com/evil/*"]}});
        assert!(is_source_permitted(
            &anywhere_but,
            "https://github.com/gitgen-course/kubernetes-course"
        ));
        assert!(!is_source_permitted(&anywhere_but, "https://github.com/evil/repo.git"));
        assert!(
            !is_source_permitted(&json!({"spec": {}}), "https://github.com/a/b"),
            "no sourceRepos: nothing"
        );
        assert!(is_source_permitted(
            &json!({"spec": {"sourceRepos": ["*"]}}),
            "https://a/b/c"
        ));
    }

    #[test]
    fn filepath_stars_stop_at_a_slash_and_destination_stars_do_not() {
        assert!(filepath_match("*.k8s.io", "apiextensions.k8s.io"));
        assert!(!filepath_match("*", "a/b"));
        assert!(glob_match("classroom-*", "classroom-a/b"));
        assert!(!glob_match("classroom-?", "classroom-ab"));
    }
}
