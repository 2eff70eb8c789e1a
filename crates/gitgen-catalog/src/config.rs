//! `gitgen.yaml`: the repo-level settings `gitgen init` writes.
//!
//! It says where Argo CD finds the repo, which Argo CD version the repo pins, and what
//! each environment looks like. The environment and the destination cluster are plain
//! values here, never constants in code, so one repo can serve many clusters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::argocd_version::{ArgoCdVersion, VersionError};
use super::labels;
use gitgen_base::names::{EnvName, dns_label_problem};
use gitgen_yaml::{self as yaml, YamlError, YamlErrorKind};

/// The file name, at the repo root.
pub const CONFIG_FILE: &str = "gitgen.yaml";

/// The longest `repo_url` accepted; real clone URLs are far shorter.
const MAX_REPO_URL_BYTES: usize = 2048;
/// The longest namespace name Kubernetes accepts (a DNS label).
const MAX_NAMESPACE_LENGTH: usize = 63;

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
    /// A release tag of a supported minor (`argocd_version`), checked when read.
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
    /// The cluster the lessons are deployed to, as Argo CD names it (its API server URL):
    /// a single-cluster environment. Exactly one of `destination` and `clusters` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The labels that select a classroom environment's learner clusters: a `matchLabels`
    /// selector of Argo CD cluster Secrets (see `gitgen classroom add`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<BTreeMap<String, String>>,
}

/// Where an environment deploys its lessons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// One cluster, by API server URL: one Application per lesson and chart.
    Cluster(&'a str),
    /// Every Argo CD cluster whose Secret carries these labels: one ApplicationSet per
    /// lesson and chart, with a cluster generator.
    Classroom(&'a BTreeMap<String, String>),
}

impl Environment {
    /// Where the environment deploys. [`RepoConfig::parse`] checks that exactly one of
    /// `destination` and `clusters` is set; a value built in code must do the same.
    pub fn target(&self) -> Target<'_> {
        match (&self.destination, &self.clusters) {
            (Some(server), None) => Target::Cluster(server),
            (None, Some(labels)) => Target::Classroom(labels),
            _ => panic!("an environment has exactly one of `destination` and `clusters`"),
        }
    }

    /// Whether this is a classroom environment (`clusters`).
    pub fn is_classroom(&self) -> bool {
        matches!(self.target(), Target::Classroom(_))
    }
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
        // An Argo CD release tag of a supported minor (see `argocd_version`): like a lesson
        // chart, an exact version, so two renders of one commit install the same release.
        if let Err(err) = ArgoCdVersion::parse_supported(&config.argocd.version) {
            let (line, column) = field_position(text, "version");
            let hint = match &err {
                VersionError::Malformed(_) => {
                    "pin Argo CD to one release, e.g. `v2.12.3`; ranges and `latest` make renders drift".to_owned()
                }
                VersionError::Unsupported { .. } => err.hint(),
            };
            return Err(YamlError {
                path: path.to_owned(),
                line,
                column,
                field: Some("argocd.version".to_owned()),
                message: err.to_string(),
                hint: Some(hint),
                kind: YamlErrorKind::Value,
            });
        }
        // Argo CD's namespace is written into every Application and AppProject, the
        // lessons' own among them: a name Kubernetes refuses would fail only at bootstrap.
        if let Some(problem) = dns_label_problem(&config.argocd.namespace, MAX_NAMESPACE_LENGTH) {
            let (line, column) = field_position(text, "namespace");
            return Err(YamlError {
                path: path.to_owned(),
                line,
                column,
                field: Some("argocd.namespace".to_owned()),
                message: format!(
                    "`{}` is not a namespace name: {problem}",
                    config.argocd.namespace.escape_debug()
                ),
                hint: Some(format!(
                    "name the namespace Argo CD runs in with at most {MAX_NAMESPACE_LENGTH} lowercase letters, digits or `-`, starting and ending with a letter or digit, e.g. `argocd`"
                )),
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
        for (name, env) in &config.environments {
            check_target(text, path, name, env)?;
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

    /// Whether `repo_url` is an SSH URL (`ssh://…`, or git's scp-like `user@host:path`,
    /// which has a `:` before any `/`): Argo CD clones it only with an SSH private key,
    /// where an HTTPS URL of a public repo needs nothing.
    pub fn repo_url_is_ssh(&self) -> bool {
        let url = self.repo_url.as_str();
        match url.split_once("://") {
            Some((scheme, _)) => scheme == "ssh" || scheme == "git+ssh",
            None => url.split('/').next().is_some_and(|first| first.contains(':')),
        }
    }

    /// The configuration `gitgen init` writes.
    pub fn starter(repo_url: String) -> Self {
        let env = |service_type, destination: &str| Environment {
            service_type,
            host: "localhost".to_owned(),
            sync: SyncMode::Automated,
            destination: Some(destination.to_owned()),
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

/// Checks that an environment names either one cluster or a classroom's label selector,
/// and that the selector's labels are labels Kubernetes accepts (a Secret with a bad one
/// could never be created, so the class would silently be empty).
fn check_target(text: &str, path: &Path, name: &EnvName, env: &Environment) -> Result<(), YamlError> {
    let error = |field: String, message: String, hint: &str| YamlError {
        path: path.to_owned(),
        line: env_line(text, name.as_str()),
        column: None,
        field: Some(field),
        message,
        hint: Some(hint.to_owned()),
        kind: YamlErrorKind::Value,
    };
    let field = |key: &str| format!("environments.{name}.{key}");
    match (&env.destination, &env.clusters) {
        (Some(_), Some(_)) => Err(error(
            field("clusters"),
            "has both `destination` and `clusters`".to_owned(),
            "keep `destination: URL` for one cluster, or `clusters:` (labels of Argo CD cluster Secrets) for a classroom, not both",
        )),
        (None, None) => Err(error(
            field("destination"),
            "has neither `destination` nor `clusters`".to_owned(),
            "add `destination: https://kubernetes.default.svc` for one cluster, or `clusters: {gitgen.io/classroom: NAME}` for a classroom",
        )),
        (None, Some(labels)) if labels.is_empty() => Err(error(
            field("clusters"),
            "is an empty selector, which would select every cluster Argo CD knows".to_owned(),
            "give at least one label, e.g. `gitgen.io/classroom: NAME`",
        )),
        (None, Some(labels)) => {
            for (key, value) in labels {
                if let Some(problem) = labels::key_problem(key).or_else(|| labels::value_problem(value)) {
                    return Err(error(
                        format!("{}.{key}", field("clusters")),
                        format!(
                            "`{}: {}` is not a Kubernetes label: {problem}",
                            key.escape_debug(),
                            value.escape_debug()
                        ),
                        "a label key is `[prefix/]name`, a name and a value at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit",
                    ));
                }
            }
            Ok(())
        }
        (Some(_), None) => Ok(()),
    }
}

/// 1-based line of environment `name`'s key under `environments:`.
fn env_line(text: &str, name: &str) -> Option<u64> {
    let mut inside = false;
    for (index, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '\t']) && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            inside = line.trim_end() == "environments:";
            continue;
        }
        if inside
            && line
                .trim_end()
                .strip_suffix(':')
                .is_some_and(|key| key.trim().trim_matches(['"', '\'']) == name)
        {
            return Some(index as u64 + 1);
        }
    }
    None
}

/// What credential a repository URL carries, if any: a password in its user info
/// (`https://user:password@host/…`, also scp-like `user:password@host:path`), a token as
/// its user name, or a token in its query.
pub fn url_credentials(url: &str) -> Option<&'static str> {
    use gitgen_base::credentials::token_kind;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_an_argocd_namespace_kubernetes_would_refuse_naming_its_line() {
        let config = |namespace: &str| {
            format!(
                "repo_url: https://example.com/course.git\ntarget_revision: main\nargocd:\n  namespace: {namespace}\n  version: v2.12.3\nenvironments:\n  kind:\n    service_type: NodePort\n    host: localhost\n    sync: automated\n    destination: https://kubernetes.default.svc\n"
            )
        };
        assert!(RepoConfig::parse(&config("gitops"), Path::new("gitgen.yaml")).is_ok());
        for bad in ["Bad_NS", "-argocd", "''", &"a".repeat(64)] {
            let err = RepoConfig::parse(&config(bad), Path::new("gitgen.yaml")).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("argocd.namespace"), "{bad}: {err}");
            assert_eq!(err.line, Some(4), "{bad}: {err}");
            assert!(err.hint.is_some(), "{bad}");
        }
    }

    #[test]
    fn tells_ssh_repo_urls_from_https_and_local_ones() {
        let is_ssh = |url: &str| RepoConfig::starter(url.to_owned()).repo_url_is_ssh();
        assert!(is_ssh("git@github.com:you/my-course.git"));
        assert!(is_ssh("ssh://git@example.com:2222/org/repo.git"));
        assert!(!is_ssh("https://github.com/you/my-course.git"));
        assert!(!is_ssh("/srv/git/course.git"));
        assert!(!is_ssh("file:///srv/git/course.git"));
    }

    fn parse_env(env: &str) -> Result<RepoConfig, YamlError> {
        let text = format!(
            "repo_url: https://example.com/course.git\ntarget_revision: main\nargocd:\n  namespace: argocd\n  version: v2.12.3\nenvironments:\n  kind:\n    service_type: NodePort\n    host: localhost\n    sync: automated\n    destination: https://kubernetes.default.svc\n  classroom:\n    service_type: NodePort\n    host: localhost\n    sync: automated\n{env}"
        );
        RepoConfig::parse(&text, Path::new("gitgen.yaml"))
    }

    #[test]
    fn a_classroom_environment_names_its_clusters_by_label() {
        let config = parse_env("    clusters:\n      gitgen.io/classroom: spring\n      team: a\n").unwrap();
        let classroom = &config.environments[&EnvName::new("classroom").unwrap()];
        let Target::Classroom(labels) = classroom.target() else {
            panic!("{classroom:?}")
        };
        assert_eq!(labels["gitgen.io/classroom"], "spring");
        assert_eq!(labels["team"], "a");
        let kind = &config.environments[&EnvName::new("kind").unwrap()];
        assert_eq!(kind.target(), Target::Cluster("https://kubernetes.default.svc"));
    }

    #[test]
    fn refuses_an_environment_with_both_or_neither_of_destination_and_clusters() {
        for (env, field) in [
            (
                "    destination: https://kubernetes.default.svc\n    clusters:\n      gitgen.io/classroom: a\n",
                "environments.classroom.clusters",
            ),
            ("", "environments.classroom.destination"),
            ("    clusters: {}\n", "environments.classroom.clusters"),
            (
                "    clusters:\n      gitgen.io/classroom: \"a b\"\n",
                "environments.classroom.clusters.gitgen.io/classroom",
            ),
            (
                "    clusters:\n      Bad_Prefix/x: a\n",
                "environments.classroom.clusters.Bad_Prefix/x",
            ),
            (
                "    clusters:\n      gitgen.io/: a\n",
                "environments.classroom.clusters.gitgen.io/",
            ),
        ] {
            let err = parse_env(env).expect_err(env);
            assert_eq!(err.kind, YamlErrorKind::Value, "{env}");
            assert_eq!(err.field.as_deref(), Some(field), "{env}");
            assert_eq!(err.line, Some(12), "{env}: the environment's line");
            assert!(err.hint.is_some(), "{env}");
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
