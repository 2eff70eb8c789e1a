//! Real Helm against the catalog's chart claims: a tier of its own (`#[ignore]`d).
//!
//! Run, it needs `GITGEN_E2E_HELM_KUBECONFIG` to name the kubeconfig of a throwaway
//! control plane (`../shared/k8s/up.sh DIR PORT`) that only these renders use; a missing
//! variable or cluster fails it. `.ci/run` starts one and runs:
//!
//! ```sh
//! GITGEN_E2E_HELM_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --locked --test e2e_helm -- --ignored
//! ```

#[path = "support/e2e.rs"]
#[allow(dead_code)]
mod e2e;
#[path = "support/helm.rs"]
mod helm;

use helm::{ChartRender, HelmRenderer, chart_archive};

/// The renderer on the control plane `GITGEN_E2E_HELM_KUBECONFIG` names.
fn renderer() -> HelmRenderer {
    let kubeconfig = e2e::env_path(
        "GITGEN_E2E_HELM_KUBECONFIG",
        "the kubeconfig of a throwaway control plane for Helm renders (`../shared/k8s/up.sh DIR PORT`)",
    );
    HelmRenderer::new(kubeconfig).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[ignore = "needs real Helm and a control plane: GITGEN_E2E_HELM_KUBECONFIG"]
fn a_second_render_of_the_same_inputs_comes_from_the_cache() {
    let helm = renderer();
    let values = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(values.path(), "replicas: 1\nresourceQuota: false\n").unwrap();
    let chart = ChartRender::new(
        chart_archive("gatekeeper", "3.17.1"),
        "gatekeeper",
        "gatekeeper-system",
        vec![values.path().to_owned()],
    );
    let first = helm.render(&chart).unwrap_or_else(|e| panic!("{e}"));
    let (ran, _) = helm.renders_run();
    let second = helm.render(&chart).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(helm.renders_run().0, ran, "the second render ran Helm again");
    assert_eq!(first, second);
    assert!(first.iter().any(|o| o.kind == "Deployment" && o.group() == "apps"));
    assert!(
        !first.iter().any(|o| o.kind == "ResourceQuota"),
        "the values turn ResourceQuota off"
    );
}
