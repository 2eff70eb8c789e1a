//! Argo CD's Application status, written on a real API server as its application
//! controller writes it, for the end-to-end tests of `gitgen status` and the class grid
//! (`tests/e2e_faults.rs`, `tests/e2e_classroom.rs`), which include `support/e2e.rs` as
//! `e2e`.

use std::path::Path;

use crate::e2e::{kubectl, text};

/// Writes `status` into Application `name` in `ns` as Argo CD's application controller
/// does: into the Application itself, for its CRD declares `subresources: {}` (no status
/// subresource: `kubectl apply --subresource=status` is refused with a 404 at both pins;
/// argo-cd `controller/appcontroller.go`, `persistAppStatus`, merge-patches the
/// Application), here by a server-side apply under the controller's field manager. The
/// fields are argo-cd's `ApplicationStatus` (`pkg/apis/application/v1alpha1/types.go`:
/// `sync` a `SyncStatus` of `status` and `revision`, `health` an `AppHealthStatus` of
/// `status` and `message`, `operationState` an `OperationState` of `operation`, `phase`,
/// `message` and `startedAt`, `resources` a list of `ResourceStatus`).
pub fn write_application_status(dir: &Path, ns: &str, name: &str, status: serde_json::Value) {
    let path = dir.join(format!("{name}-status.json"));
    let object = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": ns}, "status": status,
    });
    fs_err::write(&path, object.to_string()).unwrap();
    let applied = kubectl(&[
        "apply",
        "--server-side",
        "--field-manager",
        "argocd-application-controller",
        "-f",
        path.to_str().unwrap(),
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
}
