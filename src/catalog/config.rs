//! `gitgen.yaml`: the repo-level settings `gitgen init` writes.
//!
//! It says where Argo CD finds the repo, which Argo CD version the repo pins, and what
//! each environment looks like. The environment and the destination cluster are plain
//! values here, never constants in code, so one repo can serve many clusters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::names::EnvName;
use crate::yaml::{self, YamlError};

/// The file name, at the repo root.
pub const CONFIG_FILE: &str = "gitgen.yaml";

/// The parsed `gitgen.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// The URL Argo CD clones this repo from.
    pub repo_url: String,
    /// The branch, tag or commit Argo CD follows.
    pub target_revision: String,
    /// The Argo CD that manages the repo: one pin for the whole repo.
    pub argocd: ArgoCdPin,
    /// Environments by name.
    pub environments: BTreeMap<EnvName, Environment>,
}

/// The Argo CD version pin. Upgrading Argo CD is a change of these two lines.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdPin {
    /// Namespace Argo CD runs in.
    pub namespace: String,
    /// Argo CD release, e.g. `v2.12.3`; `gitgen bootstrap` installs this one.
    pub version: String,
    /// The `argo-cd` Helm chart version that ships that release; the self-managing
    /// Application uses it.
    pub chart_version: String,
}

/// How an environment differs from the others.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Service type of Services the course opens from the laptop.
    pub service_type: ServiceType,
    /// Host name those Services answer on.
    pub host: String,
    /// Whether Argo CD syncs by itself or waits for someone to click Sync.
    pub sync: SyncMode,
    /// The cluster the lessons are deployed to, as Argo CD names it.
    pub destination: String,
}

/// Service types an environment can expose Services with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ServiceType {
    /// Docker Desktop maps these to localhost.
    LoadBalancer,
    /// kind and bare clusters reach Services through node ports.
    NodePort,
}

/// Argo CD sync policy of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Argo CD syncs, prunes and self-heals on its own.
    Automated,
    /// The class clicks Sync in the UI.
    Manual,
}

impl RepoConfig {
    /// Reads and checks `gitgen.yaml` text: the Argo CD pins must be exact versions, as
    /// lesson charts must, or two renders of one commit could install different releases.
    pub fn parse(text: &str, path: &Path) -> Result<Self, YamlError> {
        let config: RepoConfig = yaml::from_str(text, path)?;
        let pins = [
            (
                "version",
                &config.argocd.version,
                "pin Argo CD to one release, e.g. `v2.12.3`",
            ),
            (
                "chart_version",
                &config.argocd.chart_version,
                "pin the `argo-cd` chart to the one version that ships that release, e.g. `7.6.1`",
            ),
        ];
        for (field, version, hint) in pins {
            if !super::is_pinned_version(version) {
                let (line, column) = field_position(text, field);
                return Err(YamlError {
                    path: path.to_owned(),
                    line,
                    column,
                    field: Some(format!("argocd.{field}")),
                    message: format!("`{version}` is not an exact version"),
                    hint: Some(format!("{hint}; ranges and `latest` make renders drift")),
                });
            }
        }
        Ok(config)
    }

    /// The configuration `gitgen init` writes.
    pub fn starter(repo_url: String) -> Self {
        let env = |service_type, destination: &str| Environment {
            service_type,
            host: "localhost".to_owned(),
            sync: SyncMode::Automated,
            destination: destination.to_owned(),
        };
        let in_cluster = "https://kubernetes.default.svc";
        RepoConfig {
            repo_url,
            target_revision: "main".to_owned(),
            argocd: ArgoCdPin {
                namespace: "argocd".to_owned(),
                version: "v2.12.3".to_owned(),
                chart_version: "7.6.1".to_owned(),
            },
            environments: BTreeMap::from([
                (
                    EnvName::new("docker-desktop").expect("valid"),
                    env(ServiceType::LoadBalancer, in_cluster),
                ),
                (
                    EnvName::new("kind").expect("valid"),
                    env(ServiceType::NodePort, in_cluster),
                ),
            ]),
        }
    }

    /// The text `gitgen init` writes, with a comment on each setting.
    pub fn to_yaml(&self) -> String {
        format!(
            "# gitgen settings for this repo. See `gitgen --help`.\n{}",
            yaml::to_string(self)
        )
    }
}

/// Line and column of the value of `argocd.<field>` in `gitgen.yaml`'s text: the first
/// line inside the `argocd:` block whose key is `field`.
fn field_position(text: &str, field: &str) -> (Option<u64>, Option<u64>) {
    let mut inside = false;
    for (index, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '\t']) && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            inside = line.trim_end() == "argocd:";
            continue;
        }
        let key = line.trim_start();
        if inside && let Some(rest) = key.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')) {
            let column = line.len() - rest.trim_start().len() + 1;
            return (Some(index as u64 + 1), Some(column as u64));
        }
    }
    (None, None)
}
