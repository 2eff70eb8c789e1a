//! What the CRD tests share: every upstream CRD, loaded once, and helpers to build
//! objects and read the problems found in them.

use std::path::Path;
use std::sync::LazyLock;

use serde_json::{Value, json};

use super::CrdSchemas;
use crate::{index, join};

const UPSTREAM_DIR: &str = concat!(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."), "/../shared/crds");

/// Every upstream CRD, loaded once per test binary: parsing 5 MB of YAML is the slow part.
pub(super) static UPSTREAM: LazyLock<CrdSchemas> = LazyLock::new(|| {
    let dir = Path::new(UPSTREAM_DIR);
    assert!(
        dir.is_dir(),
        "the upstream CRDs must be at `{}` (see SOURCES.md there); these tests never skip",
        dir.display()
    );
    CrdSchemas::from_dir(dir).unwrap_or_else(|e| panic!("loading the upstream CRDs: {e}"))
});

pub(super) fn object(yaml: &str) -> Value {
    gitgen_yaml::from_str(yaml, Path::new("test.yaml")).expect("test YAML parses")
}

pub(super) fn problems(object: &Value) -> Vec<String> {
    let problems = UPSTREAM
        .validate(object)
        .unwrap_or_else(|| panic!("no CRD covers {object}"));
    problems.iter().map(ToString::to_string).collect()
}

/// `object` with `value` set at the JSON pointer `at` (whose parent must exist).
pub(super) fn with(object: &Value, at: &str, value: Value) -> Value {
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
pub(super) fn passes_and_rejects_unknown_field(valid: &str, bad: &str) {
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

pub(super) const APPLICATION: &str = "
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
