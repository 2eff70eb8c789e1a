//! The objects that create a lesson's `cluster_secrets` in the cluster, so a lesson
//! converges from git alone: no person has to run `gitgen bootstrap` after a merge.
//!
//! Per namespace: a ServiceAccount, a Role that may only create Secrets (it can read
//! none; `create` cannot be narrowed by name), its RoleBinding, and an Argo CD `Sync` hook
//! Job that creates each Secret with random values unless it exists. The values are made
//! inside the Pod from `/dev/urandom` and go straight to the API server: never into git,
//! onto a disk or into a log (the Job prints only names and HTTP status codes). A Secret
//! that exists is left alone, so values are never rotated. The Secrets carry no Argo CD
//! tracking label, so Argo CD neither shows nor prunes them.
//!
//! Being a hook, the Job is created again (`BeforeHookCreation`) on every sync, so a
//! changed script never meets a Job's immutable template, and a deleted Secret comes back.
//! Within a sync, gitops-engine applies one wave's objects kind by kind in its kind order
//! (`pkg/sync/sync_context.go` lines 1208-1222, `sync_tasks.go` kindOrder): Namespace,
//! ServiceAccount, Role and RoleBinding before the Job. Pods that read a Secret wait for
//! it (the kubelet retries), so nothing else needs ordering.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use gitgen_catalog::LoadedLesson;
use gitgen_catalog::labels::{LESSON_LABEL, MANAGED_BY_LABEL};
use gitgen_catalog::lesson::ClusterSecret;
use gitgen_yaml as yaml;

/// The file in a lesson's base that holds these objects.
pub const SECRETS_FILE: &str = "gitgen-secrets.yaml";

/// The name of the ServiceAccount, Role, RoleBinding and Job.
const NAME: &str = "gitgen-secrets";

/// A small image with a POSIX shell, `curl`, `tr` and `head`, pinned to one release. It runs
/// as its own non-root user (uid 100).
const IMAGE: &str = "docker.io/curlimages/curl:8.11.1";

/// How many random letters and digits each random key gets (as `gitgen bootstrap` makes).
const RANDOM_LENGTH: usize = 32;

/// The objects for every namespace of the lesson's `cluster_secrets`, as one YAML text;
/// `None` for a lesson that declares none.
pub fn objects(lesson: &LoadedLesson) -> Option<String> {
    let mut by_namespace: BTreeMap<&str, Vec<&ClusterSecret>> = BTreeMap::new();
    for secret in &lesson.lesson.cluster_secrets {
        by_namespace.entry(&secret.namespace).or_default().push(secret);
    }
    let documents: Vec<String> = by_namespace
        .iter()
        .flat_map(|(namespace, secrets)| namespace_objects(lesson, namespace, secrets))
        .map(|object| yaml::to_string(&object))
        .collect();
    (!documents.is_empty()).then(|| documents.join("---\n"))
}

fn namespace_objects(lesson: &LoadedLesson, namespace: &str, secrets: &[&ClusterSecret]) -> Vec<Value> {
    let meta = || json!({"name": NAME, "namespace": namespace, "labels": {MANAGED_BY_LABEL: "gitgen"}});
    let mut job_meta = meta();
    job_meta["annotations"] = json!({
        "argocd.argoproj.io/hook": "Sync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
    });
    let restricted = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
    });
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
        }),
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": job_meta,
            "spec": {
                "backoffLimit": 6,
                "template": {
                    "spec": {
                        "serviceAccountName": NAME,
                        "restartPolicy": "Never",
                        // Pod Security `restricted`, the strictest level a namespace can enforce.
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": 100,
                            "runAsGroup": 101,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": "create",
                            "image": IMAGE,
                            "command": ["/bin/sh", "-c", script(lesson, secrets)],
                            "securityContext": restricted,
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
                        }],
                    },
                },
            },
        }),
    ]
}

/// The shell script: one `create` per Secret. Literal values come from `lesson.yaml`
/// (they are not secret); random ones are made in the Pod.
fn script(lesson: &LoadedLesson, secrets: &[&ClusterSecret]) -> String {
    let mut script = String::from(
        r#"set -eu
sa=/var/run/secrets/kubernetes.io/serviceaccount
random() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c LENGTH; }
# Reads a Secret as JSON on stdin and creates it, unless one of that name exists.
create() {
  code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$sa/ca.crt" \
    -H "Authorization: Bearer $(cat "$sa/token")" -H 'Content-Type: application/json' \
    --data-binary @- "https://kubernetes.default.svc/api/v1/namespaces/$(cat "$sa/namespace")/secrets")
  case "$code" in
    201) echo "Secret $1: created" ;;
    409) echo "Secret $1: exists, left as it is" ;;
    *) echo "Secret $1: the API server answered HTTP $code" >&2; exit 1 ;;
  esac
}
"#,
    )
    .replace("LENGTH", &RANDOM_LENGTH.to_string());
    for secret in secrets {
        // The Secret as JSON with the literal keys, then the random keys spliced in
        // before the two closing braces, each value made by `random` in the Pod.
        let body = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret.name, "labels": {MANAGED_BY_LABEL: "gitgen", LESSON_LABEL: lesson.id().as_str()}},
            "type": "Opaque",
            "stringData": secret.literal,
        })
        .to_string();
        let mut words = vec![single_quoted(
            body.strip_suffix("}}").expect("stringData closes the object"),
        )];
        for (i, key) in secret.random.iter().enumerate() {
            let comma = if i == 0 && secret.literal.is_empty() { "" } else { "," };
            let key = serde_json::to_string(key).expect("a string serializes");
            words.push(single_quoted(&format!("{comma}{key}:\"")));
            words.push(r#""$(random)""#.to_owned());
            words.push(single_quoted("\""));
        }
        words.push(single_quoted("}}"));
        script.push_str(&format!(
            "printf '%s' {} | create {}\n",
            words.concat(),
            single_quoted(&secret.name)
        ));
    }
    script
}

/// `text` as one single-quoted shell word.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use gitgen_catalog::Catalog;
    use gitgen_catalog::source::CatalogFiles;

    #[test]
    fn every_lesson_with_cluster_secrets_gets_objects_that_pass_the_lesson_policy_and_their_types() {
        let catalog = Catalog::load(CatalogFiles::embedded()).expect("the built-in catalog");
        let mut checked = 0;
        for lesson in catalog.lessons.values() {
            let Some(text) = objects(lesson) else {
                assert!(lesson.lesson.cluster_secrets.is_empty());
                continue;
            };
            let documents: Vec<Value> = yaml::documents(&text, "gitgen-secrets.yaml".as_ref()).expect("YAML");
            assert_eq!(
                documents.len(),
                4 * lesson
                    .lesson
                    .cluster_secrets
                    .iter()
                    .map(|s| &s.namespace)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            );
            let kinds: std::collections::BTreeSet<(String, String)> =
                gitgen_validate::kinds::template_kinds(&text).into_iter().collect();
            let listed =
                gitgen_validate::kinds::CLUSTER_SECRETS_KINDS.map(|(group, kind)| (group.to_owned(), kind.to_owned()));
            assert_eq!(
                kinds,
                listed.into(),
                "the kinds the catalog records for cluster_secrets"
            );
            for object in &documents {
                crate::policy::check_object(lesson, object).unwrap_or_else(|v| panic!("{}: {v:?}", lesson.id()));
                assert_eq!(
                    gitgen_validate::check_builtin(object).unwrap_or_default(),
                    vec![],
                    "{object}"
                );
            }
            checked += 1;
        }
        assert!(checked >= 2, "statefulsets and monitoring declare cluster_secrets");
    }

    #[test]
    // the test puts a fake `kubectl` first on the child's `PATH`; the ban (clippy.toml) is for gitgen's own reads.
    #[allow(clippy::disallowed_methods)]
    fn the_job_posts_each_secret_with_its_literals_and_fresh_random_values_and_prints_no_value() {
        let catalog = Catalog::load(CatalogFiles::embedded()).expect("the built-in catalog");
        let lesson = &catalog.lessons["statefulsets"];
        let text = objects(lesson).expect("statefulsets declares a Secret");
        let job = yaml::documents(&text, "gitgen-secrets.yaml".as_ref())
            .expect("YAML")
            .into_iter()
            .find(|o: &Value| o["kind"] == "Job")
            .expect("a Job");
        let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .expect("a script");
        // A `curl` that keeps what it is sent and answers as the API server does.
        let dir = tempfile::tempdir().unwrap();
        let curl = dir.path().join("curl");
        fs_err::write(&curl, "#!/bin/sh\ncat >> \"$BODIES\"; printf 201\n").unwrap();
        fs_err::set_permissions(&curl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let bodies = dir.path().join("bodies");
        let run = || {
            let _ = fs_err::remove_file(&bodies);
            let output = std::process::Command::new("sh")
                .args(["-c", script])
                .env(
                    "PATH",
                    format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap()),
                )
                .env("BODIES", &bodies)
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            let secret: Value = serde_json::from_str(&fs_err::read_to_string(&bodies).unwrap()).unwrap();
            (
                secret,
                String::from_utf8(output.stdout).unwrap() + &String::from_utf8_lossy(&output.stderr),
            )
        };
        let (first, log) = run();
        let (second, _) = run();
        assert_eq!(first["metadata"]["name"], "rabbitmq-credentials");
        assert_eq!(first["stringData"]["username"], "admin");
        for key in ["password", "erlang-cookie"] {
            let value = first["stringData"][key].as_str().unwrap();
            assert_eq!(value.len(), RANDOM_LENGTH, "{key}");
            assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
            assert_ne!(value, second["stringData"][key].as_str().unwrap(), "{key}");
            assert!(!log.contains(value), "{log}");
        }
    }

    #[test]
    fn a_value_with_a_quote_stays_one_shell_word() {
        assert_eq!(single_quoted("it's"), r"'it'\''s'");
    }
}
