//! Argo CD as gitgen installs it: where a release's upstream install manifest is, and the
//! `argocd-cm` settings gitgen adds to it. Render writes both into the self-managing
//! Application's kustomization and bootstrap applies the same, so they have one home
//! below both (and below the catalog, which reads the pinned release back).

/// Upstream's install manifest of an Argo CD release. `gitgen bootstrap` applies it, and
/// the self-managing Application's kustomization names it as a remote resource, so install
/// and self-management come from the same file at the same pin, as Argo CD's own
/// `docs/operator-manual/installation.md` ("Kustomize") and argocd-autopilot do. Moving
/// to the argo-cd Helm chart instead would fail: its workloads' selectors add
/// `app.kubernetes.io/instance`, and a Deployment's selector is immutable.
pub fn manifest_url(version: &str) -> String {
    format!("https://raw.githubusercontent.com/argoproj/argo-cd/{version}/manifests/install.yaml")
}

/// The release an [`manifest_url`] names, `None` for any other text.
pub fn manifest_version(url: &str) -> Option<&str> {
    url.strip_prefix("https://raw.githubusercontent.com/argoproj/argo-cd/")?
        .strip_suffix("/manifests/install.yaml")
        .filter(|version| !version.contains('/'))
}

/// Health assessment for `argoproj.io/Application`, upstream's own text
/// (`docs/operator-manual/health.md`, "Argocd App", unchanged from v2.12.3 to v3.5.1).
pub const APPLICATION_HEALTH_LUA: &str = r#"hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"#;

/// The `argocd-cm` key that holds [`APPLICATION_HEALTH_LUA`].
pub const APPLICATION_HEALTH_KEY: &str = "resource.customizations.health.argoproj.io_Application";

/// The `argocd-cm` key of the resource tracking method.
pub const TRACKING_METHOD_KEY: &str = "application.resourceTrackingMethod";

/// One `argocd-cm` decision: a key gitgen sets (with its value), or one it leaves to the
/// pinned release on purpose (no value), and why. The reasons are written into the
/// rendered `argocd-cm.yaml`, where a reviewer of an upgrade reads them.
pub struct ArgoCdSetting {
    /// The key.
    pub key: &'static str,
    /// The value gitgen sets; `None` for a key left to the release.
    pub value: Option<&'static str>,
    /// Why.
    pub why: &'static str,
}

/// What gitgen sets in `argocd-cm`, and what Argo CD 3.x changed that it leaves alone.
/// The notes cited are upstream's `docs/operator-manual/upgrading/*.md` at v3.5.1.
pub const ARGOCD_CM: [ArgoCdSetting; 4] = [
    ArgoCdSetting {
        key: APPLICATION_HEALTH_KEY,
        value: Some(APPLICATION_HEALTH_LUA),
        why: "Argo CD has not assessed a child Application's health since 1.8, and 3.5.1's \
              docs/operator-manual/health.md still gives this check for app-of-apps: without it \
              the root counts each lesson's Application as healthy whatever the lesson's state. 3.x's default \
              `ignoreResourceUpdates.all` (/status) does not hide it: an update whose health \
              changes is never ignored (docs/operator-manual/reconcile.md).",
    },
    ArgoCdSetting {
        key: TRACKING_METHOD_KEY,
        value: Some("annotation"),
        why: "Set on every release, so 2.x and 3.x track alike (3.0 made it the default: \
              2.14-3.0.md, \"Use Annotation-Based Tracking by Default\"). 2.x's label, \
              `app.kubernetes.io/instance`, would be overwritten with the Application's name \
              (`keda-keda`) on objects whose charts set it to the release's (`keda`) and select \
              by it. And an upgrade to 3.x then does not switch tracking in a sync that may \
              also prune, the case that note warns leaves orphans.",
    },
    ArgoCdSetting {
        key: "server.rbac.disableApplicationFineGrainedRBACInheritance",
        value: None,
        why: "Left to the release (3.x: update/delete no longer cover an Application's \
              resources, 2.14-3.0.md). gitgen writes no Argo CD RBAC (no argocd-rbac-cm policy, \
              no AppProject roles); the built-in role:admin grants update/* and delete/* \
              (assets/builtin-policy.csv at v3.5.1), so nothing relies on the 2.x inheritance.",
    },
    ArgoCdSetting {
        key: "resource.exclusions",
        value: None,
        why: "Left to the release: 3.x ships default exclusions in install.yaml's argocd-cm \
              (2.14-3.0.md, \"Default resource.exclusions configurations\"). This file is a \
              strategic-merge patch and bootstrap merges the same keys, so both keep every key \
              of the release's argocd-cm, the exclusions and ignoreResourceUpdates included.",
    },
];

/// The `argocd-cm` keys gitgen sets, with their values: bootstrap merges them into the
/// manifest's `argocd-cm`, and the self-managing Application's patch holds the same.
pub fn argocd_cm_data() -> Vec<(&'static str, &'static str)> {
    ARGOCD_CM
        .iter()
        .filter_map(|s| s.value.map(|value| (s.key, value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_manifest_url_gives_back_its_release() {
        assert_eq!(manifest_version(&manifest_url("v3.5.1")), Some("v3.5.1"));
        assert_eq!(
            manifest_version("https://example.com/v3.5.1/manifests/install.yaml"),
            None
        );
        assert_eq!(
            manifest_version("https://raw.githubusercontent.com/argoproj/argo-cd/a/b/manifests/install.yaml"),
            None
        );
    }
}
