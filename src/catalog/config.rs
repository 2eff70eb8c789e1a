//! `gitgen.yaml`: the repo-level settings `gitgen init` writes.
//!
//! It says where Argo CD finds the repo, which Argo CD version the repo pins, and what
//! each environment looks like. The environment and the destination cluster are plain
//! values here, never constants in code, so one repo can serve many clusters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::names::EnvName;
use crate::yaml::{self, YamlError, YamlErrorKind};

/// The file name, at the repo root.
pub const CONFIG_FILE: &str = "gitgen.yaml";

/// The longest `repo_url` accepted; real clone URLs are far shorter.
const MAX_REPO_URL_BYTES: usize = 2048;

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

/// The Argo CD version pin. Upgrading Argo CD is a change of its `version` line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdPin {
    /// Namespace Argo CD runs in.
    pub namespace: String,
    /// Argo CD release, e.g. `v2.12.3`: `gitgen bootstrap` installs its upstream
    /// `manifests/install.yaml`, and the self-managing Application keeps it from there.
    pub version: String,
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
    /// The cluster the lessons are deployed to, as Argo CD names it. Empty (absent) in a
    /// classroom environment, which names its clusters by `clusters` instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    /// A classroom environment's learner clusters: the labels (a `matchLabels` selector)
    /// of the Argo CD cluster Secrets `gitgen classroom add` registers, instead of one
    /// `destination`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<BTreeMap<String, String>>,
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
    /// Reads and checks `gitgen.yaml` text: the Argo CD pin must be an exact version, as
    /// lesson charts must, or two renders of one commit could install different releases;
    /// a `repo_url` carrying credentials is refused, as it is written into every
    /// Application and AppProject in git.
    pub fn parse(text: &str, path: &Path) -> Result<Self, YamlError> {
        let config: RepoConfig = yaml::from_str(text, path)?;
        let pins = [(
            "version",
            &config.argocd.version,
            "pin Argo CD to one release, e.g. `v2.12.3`",
        )];
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
                    kind: YamlErrorKind::Value,
                });
            }
        }
        for (name, env) in &config.environments {
            let message = match (env.destination.is_empty(), &env.clusters) {
                (true, None) => "names no cluster: it needs `destination` or `clusters`",
                (false, Some(_)) => "has both `destination` and `clusters`",
                _ => continue,
            };
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start()
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.trim() == ":")
                })
                .map(|i| i as u64 + 1);
            return Err(YamlError {
                path: path.to_owned(),
                line,
                column: None,
                field: Some(format!("environments.{name}")),
                message: message.to_owned(),
                hint: Some(
                    "give one cluster as `destination: URL`, or a classroom's learner clusters as `clusters:` \
                     labels of their Argo CD cluster Secrets (e.g. `gitgen.io/classroom: classroom`)"
                        .to_owned(),
                ),
                kind: YamlErrorKind::Value,
            });
        }
        // The URL is copied into every Argo CD Application: one huge URL is a huge tree.
        if config.repo_url.len() > MAX_REPO_URL_BYTES {
            return Err(YamlError {
                path: path.to_owned(),
                line: None,
                column: None,
                field: Some("repo_url".to_owned()),
                message: format!(
                    "is {} bytes long, over the {MAX_REPO_URL_BYTES}-byte limit for a URL",
                    config.repo_url.len()
                ),
                hint: Some("set `repo_url` to the URL Argo CD clones the repo from".to_owned()),
                kind: YamlErrorKind::Value,
            });
        }
        if let Some(what) = url_credentials(&config.repo_url) {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("repo_url:"))
                .map(|i| i as u64 + 1);
            return Err(YamlError {
                path: path.to_owned(),
                line,
                column: None,
                field: Some("repo_url".to_owned()),
                message: format!("the URL carries {what}, which render would write into git"),
                hint: Some(
                    "remove it from the URL; `gitgen bootstrap` reads the repo password or token from \
                     GITGEN_REPO_PASSWORD or GITGEN_GIT_TOKEN, and `gitgen publish` from GITGEN_GIT_TOKEN"
                        .to_owned(),
                ),
                kind: YamlErrorKind::Value,
            });
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
            clusters: None,
        };
        let in_cluster = "https://kubernetes.default.svc";
        RepoConfig {
            repo_url,
            target_revision: "main".to_owned(),
            argocd: ArgoCdPin {
                namespace: "argocd".to_owned(),
                version: "v2.12.3".to_owned(),
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

/// What credential a repository URL carries, if any: a password in its user info
/// (`https://user:password@host/…`, also scp-like `user:password@host:path`), a token as
/// its user name, or a token in its query.
pub fn url_credentials(url: &str) -> Option<&'static str> {
    use crate::render::policy::token_kind;
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if userinfo.contains(':') {
            return Some("a password (`user:password@`)");
        }
        if token_kind(userinfo).is_some() {
            return Some("a token as its user name");
        }
    }
    let query = url.split_once('?').map_or("", |(_, query)| query);
    for pair in query.split(['&', '#', ';']) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase();
        let secret_key = ["password", "passwd", "secret", "auth", "key", "signature"].contains(&key.as_str())
            || key.ends_with("token")
            || key.ends_with("_key");
        if (secret_key && !value.is_empty()) || token_kind(value).is_some() {
            return Some("a token in its query");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(environment: &str) -> String {
        format!(
            "repo_url: https://git.example/course.git\ntarget_revision: main\nargocd: {{namespace: argocd, version: v2.12.3}}\nenvironments:\n  classroom:\n    service_type: NodePort\n    host: localhost\n    sync: automated\n{environment}"
        )
    }

    #[test]
    fn a_classroom_environment_names_its_clusters_by_label() {
        let text = config_with("    clusters:\n      gitgen.io/classroom: classroom\n");
        let config = RepoConfig::parse(&text, Path::new("gitgen.yaml")).unwrap();
        let classroom = &config.environments[&EnvName::new("classroom").unwrap()];
        assert_eq!(classroom.destination, "");
        assert_eq!(
            classroom.clusters,
            Some([("gitgen.io/classroom".to_owned(), "classroom".to_owned())].into())
        );
    }

    #[test]
    fn an_environment_needs_exactly_one_of_destination_and_clusters() {
        for (environment, message) in [
            (
                "    destination: https://kubernetes.default.svc\n    clusters: {team: a}\n",
                "has both `destination` and `clusters`",
            ),
            ("", "names no cluster: it needs `destination` or `clusters`"),
        ] {
            let error = RepoConfig::parse(&config_with(environment), Path::new("gitgen.yaml")).unwrap_err();
            assert_eq!(error.message, message);
            assert_eq!(error.field.as_deref(), Some("environments.classroom"));
            assert_eq!(error.line, Some(5));
            assert!(error.hint.unwrap().contains("`clusters:`"));
        }
    }

    #[test]
    fn finds_credentials_in_repository_urls() {
        for url in [
            "https://user:hunter2@github.com/org/repo.git",
            "https://oauth2:glpat-abcdefghijklmnopqrstu@gitlab.com/org/repo",
            "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/repo",
            "https://example.com/repo.git?private_token=abc",
            "https://example.com/repo.git?ref=main&x=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "user:pw@example.com:org/repo.git",
        ] {
            assert!(url_credentials(url).is_some(), "{url}");
        }
        for url in [
            "https://github.com/org/repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@example.com:2222/org/repo.git",
            "https://example.com/repo.git?ref=main",
        ] {
            assert_eq!(url_credentials(url), None, "{url}");
        }
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
