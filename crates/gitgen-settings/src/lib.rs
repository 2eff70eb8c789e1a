//! Settings: the repo, the environment and `gitgen.yaml`, resolved once from flags, the
//! environment and the file, and handed to every stage. The process environment
//! (`GITGEN_ENV`, the git tokens, `KUBECONFIG`, `NO_COLOR`) is read here too, by
//! [`ProcessEnv::read`] and nowhere else (`clippy.toml` bans `std::env::var` elsewhere),
//! and kept in [`Settings::process`].

use std::path::{Path, PathBuf};

use gitgen_base::layout::Layout;
use gitgen_base::names::EnvName;
use gitgen_base::untrusted::{self, FileError};
use gitgen_catalog::closest;
use gitgen_catalog::config::{CONFIG_FILE, Environment, RepoConfig};
use gitgen_yaml::{YamlError, YamlErrorKind};

/// `gitgen.yaml` is a few settings per environment; this bounds what a hostile one costs.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The environment used when none is given.
pub const DEFAULT_ENV: &str = "docker-desktop";

/// Settings that could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No repo was found.
    #[error("`{}` is not inside a gitgen repo (no `{CONFIG_FILE}` found)", start.display())]
    NoRepo {
        /// Where the search started.
        start: PathBuf,
    },
    /// The config file could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is a symlink, not a plain file, or too large.
    #[error(transparent)]
    File(#[from] FileError),
    /// The config file is not valid.
    #[error(transparent)]
    Config(#[from] YamlError),
    /// The environment is not defined in the config.
    #[error("there is no environment `{name}` in `{}`", path.display())]
    UnknownEnv {
        /// The name asked for.
        name: String,
        /// The config file.
        path: PathBuf,
        /// The closest defined one.
        closest: Option<String>,
        /// Every defined one.
        known: Vec<String>,
    },
}

impl SettingsError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SettingsError::NoRepo { .. } => {
                Some("run `gitgen init DIR` to create one, or pass `--repo DIR`".to_owned())
            }
            SettingsError::UnknownEnv {
                closest: Some(near), ..
            } => Some(format!("did you mean `{near}`?")),
            SettingsError::UnknownEnv { known, .. } => Some(format!("environments defined: {}", known.join(", "))),
            SettingsError::Config(err) if err.kind == YamlErrorKind::Field => {
                Some(err.hint.clone().unwrap_or_else(|| {
                    "`gitgen.yaml` has repo_url, target_revision, argocd and environments".to_owned()
                }))
            }
            SettingsError::Config(err) => err.hint.clone(),
            SettingsError::File(err) => err.hint(),
            SettingsError::Io { source, .. } => gitgen_base::untrusted::io_hint(source),
        }
    }
}

/// Everything the stages need to know about where and for what they run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repo root.
    pub repo: PathBuf,
    /// The selected environment's name.
    pub env_name: EnvName,
    /// `gitgen.yaml`.
    pub config: RepoConfig,
    /// `gitgen.yaml` as read: part of what a render reads, so part of its input hash.
    pub config_text: String,
    /// `--repo` as given, which a hint's command line repeats ([`Settings::command`]).
    pub repo_flag: Option<PathBuf>,
    /// What the process environment says, read once with the settings.
    pub process: ProcessEnv,
}

impl Settings {
    /// Resolves `--repo` (default: the closest folder upwards holding `gitgen.yaml`) and
    /// `--env` (default: `$GITGEN_ENV`, else `docker-desktop`).
    pub fn resolve(repo_flag: Option<&Path>, env: Option<&str>) -> Result<Self, SettingsError> {
        let (repo, path, text, config) = read_config(repo_flag)?;
        let process = ProcessEnv::read();
        let wanted = env.or(process.env.as_deref()).unwrap_or(DEFAULT_ENV);
        let Some(env_name) = config.environments.keys().find(|name| name.as_str() == wanted).cloned() else {
            let known: Vec<String> = config.environments.keys().map(|e| e.to_string()).collect();
            let near = closest(wanted, config.environments.keys().map(|e| (e, e.as_str())));
            return Err(SettingsError::UnknownEnv {
                name: wanted.escape_debug().to_string(),
                path,
                closest: near.map(|e| e.to_string()),
                known,
            });
        };
        Ok(Settings {
            repo,
            env_name,
            config,
            config_text: text,
            repo_flag: repo_flag.map(Path::to_path_buf),
            process,
        })
    }

    /// The settings of every environment `gitgen.yaml` defines, in name order: what
    /// `render`, `render --check`, `diff` and `publish` cover when no `--env` narrows them
    /// (`$GITGEN_ENV` does not narrow them either).
    pub fn every_environment(repo_flag: Option<&Path>) -> Result<Vec<Self>, SettingsError> {
        let (repo, _, config_text, config) = read_config(repo_flag)?;
        let process = ProcessEnv::read();
        let alike = |env_name: &EnvName| Settings {
            repo: repo.clone(),
            env_name: env_name.clone(),
            config: config.clone(),
            config_text: config_text.clone(),
            repo_flag: repo_flag.map(Path::to_path_buf),
            process: process.clone(),
        };
        Ok(config.environments.keys().map(alike).collect())
    }

    /// The settings of every environment the same `gitgen.yaml` defines, in name order,
    /// from the parse these settings came from.
    pub fn every_environment_alike(&self) -> Vec<Self> {
        self.config
            .environments
            .keys()
            .map(|env_name| Settings {
                env_name: env_name.clone(),
                ..self.clone()
            })
            .collect()
    }

    /// The gitgen command line a hint names, `gitgen [--repo DIR] [--env ENV] ARGS`: with
    /// `--repo` when it was given and `--env` when this is not the default environment, so
    /// the command runs as printed from the shell that ran this one.
    pub fn command(&self, args: &str) -> String {
        self.command_line().gitgen(args)
    }

    /// What [`Settings::command`] writes before a command's arguments, to hand to code
    /// that has no settings (a classroom, an error's hint).
    pub fn command_line(&self) -> CommandLine {
        let env = (self.env_name.as_str() != DEFAULT_ENV).then(|| self.env_name.to_string());
        CommandLine::new(self.repo_flag.clone(), env)
    }

    /// [`Settings::command`] for a command that covers every environment unless `--env`
    /// narrows it (`render`, `diff`, `publish`): `--repo` when it was given, never `--env`.
    pub fn command_for_every_environment(&self, args: &str) -> String {
        CommandLine::new(self.repo_flag.clone(), None).gitgen(args)
    }

    /// The selected environment.
    pub fn env(&self) -> &Environment {
        &self.config.environments[&self.env_name]
    }

    /// Where this environment's files live in the repo.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.env_name)
    }

    /// The repo's toggle file for the selected environment.
    pub fn toggle_path(&self) -> PathBuf {
        self.repo.join(self.layout().toggle_path())
    }

    /// The kubeconfig a command connects with: `--kubeconfig` (`flag`), else the one file
    /// `$KUBECONFIG` names; `None` leaves the choice to kube (a `$KUBECONFIG` list, which
    /// it merges, or `~/.kube/config`), as kubectl does.
    pub fn kubeconfig(&self, flag: Option<&Path>) -> Option<PathBuf> {
        flag.map(Path::to_owned).or_else(|| self.process.kubeconfig.clone())
    }
}

/// The flags a hint's gitgen command needs to run as printed: `--repo` and `--env`, each
/// when the command that printed the hint had one that is not the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `--repo` as given.
    repo: Option<PathBuf>,
    /// `--env`, when not the default environment.
    env: Option<String>,
}

impl CommandLine {
    /// The flags for `--repo repo` (when given) and `--env env` (when given).
    pub fn new(repo: Option<PathBuf>, env: Option<String>) -> Self {
        CommandLine { repo, env }
    }

    /// `gitgen [--repo DIR] [--env ENV] ARGS`, each word quoted as a shell needs.
    pub fn gitgen(&self, args: &str) -> String {
        let mut line = "gitgen".to_owned();
        if let Some(repo) = &self.repo {
            line.push_str(" --repo ");
            line.push_str(&shell_word(&repo.display().to_string()));
        }
        if let Some(env) = &self.env {
            line.push_str(" --env ");
            line.push_str(&shell_word(env));
        }
        if !args.is_empty() {
            line.push(' ');
            line.push_str(args);
        }
        line
    }
}

/// `word` as a POSIX shell reads it back: as it is when it holds only safe characters,
/// else in single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What gitgen reads from the process environment besides flags.
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    /// `GITGEN_ENV`: the environment of a command that acts on one, when `--env` is not given.
    pub env: Option<String>,
    /// `GITGEN_GIT_TOKEN`: the HTTPS token for pushing, and for Argo CD's clone.
    pub git_token: Option<String>,
    /// `GITGEN_REPO_PASSWORD`: Argo CD's clone password, when it differs from the token.
    pub repo_password: Option<String>,
    /// `GIT_SSH_COMMAND`: the command publish runs instead of `ssh` for an SSH remote, as git does.
    pub git_ssh_command: Option<String>,
    /// `NO_COLOR` set to anything: no colours, even on a terminal.
    pub no_color: bool,
    /// `KUBECONFIG`, when it names one file: that file, as for kubectl (a list of files is
    /// kube's to merge).
    pub kubeconfig: Option<PathBuf>,
}

impl ProcessEnv {
    /// Reads the process environment; an empty value counts as unset.
    // The one reader of the process environment, so every variable gitgen honours is named
    // here; `clippy.toml` bans `std::env::var` and `var_os` everywhere else.
    #[allow(clippy::disallowed_methods)]
    pub fn read() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        ProcessEnv {
            env: var("GITGEN_ENV"),
            git_token: var("GITGEN_GIT_TOKEN"),
            repo_password: var("GITGEN_REPO_PASSWORD"),
            git_ssh_command: var("GIT_SSH_COMMAND"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            kubeconfig: std::env::var_os("KUBECONFIG")
                .filter(|v| !v.is_empty() && std::env::split_paths(v).count() == 1)
                .map(PathBuf::from),
        }
    }

    /// The password Argo CD clones the repo with: `GITGEN_REPO_PASSWORD`, else the token.
    pub fn clone_password(&self) -> Option<String> {
        self.repo_password.clone().or_else(|| self.git_token.clone())
    }
}

/// Finds the repo and reads and parses its `gitgen.yaml`: the repo, the file's path, its
/// text and the config.
fn read_config(repo: Option<&Path>) -> Result<(PathBuf, PathBuf, String, RepoConfig), SettingsError> {
    let repo = match repo {
        Some(dir) => dir.to_owned(),
        None => {
            let start = std::env::current_dir().map_err(|source| SettingsError::Io {
                path: ".".into(),
                source,
            })?;
            start
                .ancestors()
                .find(|dir| dir.join(CONFIG_FILE).is_file())
                .map(Path::to_owned)
                .ok_or(SettingsError::NoRepo { start })?
        }
    };
    let path = repo.join(CONFIG_FILE);
    let Some(bytes) = untrusted::read(&path, MAX_CONFIG_BYTES, "`gitgen.yaml`")? else {
        return Err(SettingsError::NoRepo { start: repo });
    };
    let text = String::from_utf8(bytes).map_err(|err| SettingsError::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err.utf8_error()),
    })?;
    let config = RepoConfig::parse(&text, &path)?;
    Ok((repo, path, text, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(env: &str) -> Settings {
        let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("tests/fixtures/small");
        Settings::resolve(Some(&repo), Some(env)).unwrap()
    }

    #[test]
    fn a_hint_command_repeats_a_given_repo_and_a_non_default_environment() {
        let kind = small("kind");
        let repo = kind.repo_flag.clone().unwrap().display().to_string();
        assert_eq!(
            kind.command("enable alpha"),
            format!("gitgen --repo {repo} --env kind enable alpha")
        );
        assert_eq!(
            kind.command_for_every_environment("render"),
            format!("gitgen --repo {repo} render")
        );
        let default = Settings {
            repo_flag: None,
            ..small(DEFAULT_ENV)
        };
        assert_eq!(default.command("status"), "gitgen status");
    }

    #[test]
    fn the_kubeconfig_flag_wins_over_the_one_file_kubeconfig_names() {
        let from_env = Settings {
            process: ProcessEnv {
                kubeconfig: Some(PathBuf::from("/env/config")),
                ..ProcessEnv::default()
            },
            ..small("kind")
        };
        assert_eq!(from_env.kubeconfig(None), Some(PathBuf::from("/env/config")));
        assert_eq!(
            from_env.kubeconfig(Some(Path::new("/flag/config"))),
            Some(PathBuf::from("/flag/config"))
        );
        let neither = Settings {
            process: ProcessEnv::default(),
            ..small("kind")
        };
        assert_eq!(neither.kubeconfig(None), None, "kube then looks for itself");
    }

    #[test]
    fn a_hint_command_quotes_words_a_shell_would_split() {
        assert_eq!(shell_word("/tmp/my course"), "'/tmp/my course'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("/tmp/course-1.2"), "/tmp/course-1.2");
    }
}
