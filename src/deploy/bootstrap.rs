//! `gitgen bootstrap` for a workspace: refuses a repo URL the committed Applications do
//! not name, renders the root Application, and then, on the cluster, runs
//! [`cluster::preflight`], warns when the Argo CD already running is far from the pin,
//! downloads the pinned install manifest (or reads the one the caller named) and hands the rest
//! to [`cluster::bootstrap`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::Error;
use crate::catalog::argocd_version::{ArgoCdVersion, PinWarning, image_version, pin_change};
use crate::cluster::{self, BootstrapEvent, BootstrapPlan, Change, RepoCredentials, WaitPlan};
use crate::workspace::Workspace;

/// Where the Argo CD install manifest comes from.
#[derive(Debug, Clone)]
pub enum ArgoCdManifest {
    /// The pinned release's upstream `install.yaml`, downloaded once the cluster passed
    /// preflight.
    Pinned,
    /// A manifest on disk (`--argocd-manifest FILE`, for air-gapped clusters), read once
    /// the cluster passed preflight and the installed release was compared with the pin.
    File(PathBuf),
}

/// What `gitgen bootstrap`'s flags ask for.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// The repo URL the root Application should follow; it must be `repo_url` in
    /// `gitgen.yaml`, which the committed Applications and AppProjects name.
    pub repo_url: Option<String>,
    /// The revision the root Application follows, instead of `target_revision`.
    pub revision: Option<String>,
    /// The Argo CD install manifest.
    pub argocd_manifest: ArgoCdManifest,
    /// The user name for a private repo (`git` when not given).
    pub repo_username: Option<String>,
    /// The password or token for a private repo; without it, no credentials Secret.
    pub repo_password: Option<String>,
    /// How long waiting for CRDs, and for the lessons with `wait`, may take.
    pub timeout: Duration,
    /// Wait until every enabled lesson is Synced and Healthy.
    pub wait: bool,
    /// Install the pin even when the Argo CD running is a newer release.
    pub allow_downgrade: bool,
}

/// Why bootstrap refuses to install the Argo CD it was given.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// `--argocd-manifest` installs another release than `gitgen.yaml` pins.
    #[error("`{}` installs Argo CD {}, but `gitgen.yaml` pins {pin}", path.display(), found.map_or_else(|| "of no release gitgen can tell (no `argocd-server` Deployment whose image is tagged `vMAJOR.MINOR.PATCH`)".to_owned(), |v| v.to_string()))]
    ManifestRelease {
        /// The manifest.
        path: PathBuf,
        /// The release its `argocd-server` image is tagged with, if any.
        found: Option<ArgoCdVersion>,
        /// `argocd.version` in `gitgen.yaml`.
        pin: String,
    },
    /// The Argo CD running is newer than the pin.
    #[error("Argo CD {installed} runs in namespace `{namespace}`; bootstrap would downgrade it to the pinned {pin}")]
    Downgrade {
        /// The release running.
        installed: ArgoCdVersion,
        /// Its namespace.
        namespace: String,
        /// The pin.
        pin: ArgoCdVersion,
    },
}

impl BootstrapError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            BootstrapError::ManifestRelease { pin, .. } => format!(
                "give `--argocd-manifest` upstream's `manifests/install.yaml` at {pin} (`{}`), or change `argocd.version` in `gitgen.yaml` one minor at a time and run `gitgen render` first",
                crate::argocd_install::manifest_url(pin)
            ),
            BootstrapError::Downgrade { installed, .. } => format!(
                "Argo CD's upgrade notes cover going forward only: set `argocd.version` to {installed} (or newer) in `gitgen.yaml` and run `gitgen render`, or pass `--allow-downgrade` if you mean to go back"
            ),
        }
    }
}

/// The Argo CD release an install manifest installs: its `argocd-server` Deployment's
/// image tag (`quay.io/argoproj/argocd:v2.12.3`), `None` when it has no such Deployment.
pub fn manifest_release(documents: &[serde_json::Value]) -> Option<ArgoCdVersion> {
    documents
        .iter()
        .filter(|doc| doc["kind"] == "Deployment" && doc["metadata"]["name"] == "argocd-server")
        .flat_map(|doc| {
            doc["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .find_map(|container| container["image"].as_str().and_then(image_version))
}

/// What bootstrap did, for one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapSummary {
    /// The environment.
    pub environment: String,
    /// The API server's `gitVersion`.
    pub server_version: String,
    /// Set when an existing Argo CD was adopted, saying from whom.
    pub adopted: Option<String>,
    /// How many objects were created.
    pub created: usize,
    /// How many were changed.
    pub configured: usize,
    /// How many were already as applied.
    pub unchanged: usize,
    /// Every object applied or ensured, in order.
    pub objects: Vec<cluster::Applied>,
}

/// A bootstrap read from the workspace and ready to run on a cluster.
pub struct Bootstrap {
    environment: String,
    /// The Argo CD release `gitgen.yaml` pins.
    pin: String,
    manifest: ArgoCdManifest,
    /// Everything but the manifest, which may be downloaded only after preflight.
    namespace: String,
    repo_credentials: Option<RepoCredentials>,
    root_objects: Vec<serde_json::Value>,
    crd_timeout: Duration,
    wait: Option<WaitPlan>,
    allow_downgrade: bool,
}

impl Bootstrap {
    /// Checks the options against the workspace and renders the root Application; needs
    /// no cluster, so a bad repo URL is refused before anything is contacted.
    pub fn prepare(workspace: &Workspace, options: BootstrapOptions) -> Result<Self, Error> {
        let config = &workspace.settings.config;
        check_repo_url(&config.repo_url, options.repo_url.as_deref())?;
        let root_objects = workspace.root_objects(None, options.revision.as_deref())?;
        let repo_credentials = options.repo_password.map(|password| RepoCredentials {
            url: config.repo_url.clone(),
            username: options.repo_username.unwrap_or_else(|| "git".to_owned()),
            password,
        });
        Ok(Bootstrap {
            environment: workspace.settings.env_name.to_string(),
            pin: config.argocd.version.clone(),
            manifest: options.argocd_manifest,
            namespace: config.argocd.namespace.clone(),
            repo_credentials,
            root_objects,
            crd_timeout: options.timeout,
            allow_downgrade: options.allow_downgrade,
            wait: options.wait.then(|| WaitPlan {
                applications: workspace.selection.lessons.keys().map(|id| id.to_string()).collect(),
                timeout: options.timeout,
            }),
        })
    }

    /// Bootstraps the cluster `client` reaches, reporting each step to `progress`; see
    /// the module documentation.
    pub async fn run(
        self,
        client: &kube::Client,
        progress: &mut dyn FnMut(&BootstrapEvent),
    ) -> Result<BootstrapSummary, Error> {
        // The cluster answers and allows bootstrap before anything is downloaded.
        let preflighted = cluster::preflight(client, &self.namespace).await?;
        let installed = cluster::bootstrap::installed_version(client, &self.namespace).await?;
        if let (Some(installed), Ok(pin)) = (installed, ArgoCdVersion::parse_supported(&self.pin))
            && installed > pin
            && !self.allow_downgrade
        {
            return Err(BootstrapError::Downgrade {
                installed,
                namespace: self.namespace,
                pin,
            }
            .into());
        }
        if let Some(warning) = installed_pin_warning(installed, &self.pin) {
            progress(&BootstrapEvent::InstalledArgoCd(warning));
        }
        let (argocd_manifest, argocd_manifest_origin) = match self.manifest {
            ArgoCdManifest::File(path) => {
                let text = fs_err::read_to_string(&path).map_err(|err| Error::Usage {
                    message: format!("cannot read the Argo CD manifest: {err}"),
                    hint: Some(
                        "give `--argocd-manifest` the path of an Argo CD `install.yaml`, or leave it out to download the pinned release"
                            .to_owned(),
                    ),
                })?;
                let documents = crate::yaml::documents(&text, &path)?;
                let found = manifest_release(&documents);
                if found.map(|v| v.to_string()).as_deref() != Some(self.pin.as_str()) {
                    return Err(BootstrapError::ManifestRelease {
                        path,
                        found,
                        pin: self.pin,
                    }
                    .into());
                }
                (text, path.display().to_string())
            }
            ArgoCdManifest::Pinned => {
                let url = crate::argocd_install::manifest_url(&self.pin);
                progress(&BootstrapEvent::Downloading {
                    version: self.pin.clone(),
                    url: url.clone(),
                });
                (download(url.clone()).await?, url)
            }
        };
        let plan = BootstrapPlan {
            argocd_namespace: self.namespace,
            argocd_manifest,
            argocd_manifest_origin,
            repo_credentials: self.repo_credentials,
            root_objects: self.root_objects,
            crd_timeout: self.crd_timeout,
            wait: self.wait,
        };
        let report = cluster::bootstrap(client, preflighted, &plan, &mut |event| progress(&event)).await?;
        let count = |change: Change| report.objects.iter().filter(|a| a.change == change).count();
        Ok(BootstrapSummary {
            environment: self.environment,
            created: count(Change::Created),
            configured: count(Change::Configured),
            unchanged: count(Change::Unchanged),
            server_version: report.server_version,
            adopted: report.adopted,
            objects: report.objects,
        })
    }
}

/// Refuses a root Application on another URL than `repo_url` (`asked`), and the
/// placeholder `gitgen init` writes.
fn check_repo_url(repo_url: &str, asked: Option<&str>) -> Result<(), Error> {
    let usage = |message: String, hint: &str| Error::Usage {
        message,
        hint: Some(hint.to_owned()),
    };
    if let Some(asked) = asked.filter(|asked| *asked != repo_url) {
        // The root Application reads the committed Applications and AppProjects, which
        // name gitgen.yaml's URL: a root on another URL would be denied by its projects.
        return Err(usage(
            format!("`--repo-url {asked}` differs from `repo_url` in gitgen.yaml (`{repo_url}`)"),
            "set `repo_url` in gitgen.yaml, run `gitgen render`, commit and push, then bootstrap: the committed Applications and AppProjects must name the URL the root Application reads",
        ));
    }
    if repo_url == crate::scaffold::PLACEHOLDER_REPO_URL {
        return Err(usage(
            format!("`repo_url` in gitgen.yaml is still the placeholder `{repo_url}`"),
            "set it to where Argo CD can clone this repo, then `gitgen render`, commit and push",
        ));
    }
    Ok(())
}

/// A warning when the Argo CD `installed` is more than one minor older than the pin (or
/// newer, with `--allow-downgrade`): bootstrap applies the pinned release over it, as a
/// sync would.
fn installed_pin_warning(installed: Option<ArgoCdVersion>, pin: &str) -> Option<PinWarning> {
    let pinned = ArgoCdVersion::parse_supported(pin).ok()?;
    installed
        .and_then(|from| pin_change(from, pinned))
        .map(|change| PinWarning::Installed { change })
}

/// The text at `url`, fetched on a blocking thread so the runtime's workers stay free.
async fn download(url: String) -> Result<String, Error> {
    let fetch = {
        let url = url.clone();
        move || -> Result<String, String> {
            ureq::get(&url)
                .call()
                .and_then(|mut response| response.body_mut().read_to_string())
                .map_err(|err| err.to_string())
        }
    };
    tokio::task::spawn_blocking(fetch)
        .await
        .map_err(|err| err.to_string())
        .and_then(|fetched| fetched)
        .map_err(|message| Error::Download { url, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://github.com/example/course.git";

    fn hint(err: Error) -> String {
        err.hint().expect("a usage error has a hint")
    }

    fn deployment(name: &str, image: &str) -> serde_json::Value {
        serde_json::json!({
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
        })
    }

    #[test]
    fn a_manifests_release_is_its_argocd_server_image_tag_and_nothing_else() {
        let v3 = ArgoCdVersion::parse_supported("v3.5.1").unwrap();
        let docs = [
            deployment("argocd-repo-server", "quay.io/argoproj/argocd:v2.12.3"),
            deployment("argocd-server", "quay.io/argoproj/argocd:v3.5.1"),
        ];
        assert_eq!(manifest_release(&docs), Some(v3));
        assert_eq!(
            manifest_release(&docs[..1]),
            None,
            "another Deployment's image does not count"
        );
        let untagged = [deployment("argocd-server", "quay.io/argoproj/argocd:latest")];
        assert_eq!(manifest_release(&untagged), None);
    }

    #[test]
    fn the_repo_url_of_gitgen_yaml_or_none_asked_is_accepted() {
        assert!(check_repo_url(URL, None).is_ok());
        assert!(check_repo_url(URL, Some(URL)).is_ok());
    }

    #[test]
    fn another_repo_url_is_refused_because_the_committed_projects_name_gitgen_yamls() {
        let err = check_repo_url(URL, Some("https://example.com/fork.git")).unwrap_err();
        assert!(matches!(err, Error::Usage { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("`--repo-url https://example.com/fork.git` differs")
        );
        assert!(hint(err).starts_with("set `repo_url` in gitgen.yaml"));
    }

    #[test]
    fn the_placeholder_repo_url_is_refused_with_what_to_do() {
        let err = check_repo_url(crate::scaffold::PLACEHOLDER_REPO_URL, None).unwrap_err();
        assert!(err.to_string().contains("still the placeholder"), "{err}");
        assert!(hint(err).contains("where Argo CD can clone this repo"));
    }
}
