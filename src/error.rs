//! The library's error: one variant per stage, each keeping its own type so the binary
//! can print the cause chain and the stage's hint.

use crate::catalog::CatalogError;
use crate::catalog::toggle::ToggleError;
use crate::cluster::{ClassroomError, ClusterError};
use crate::git::GitError;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::settings::SettingsError;
use crate::validate::ValidateError;
use crate::yaml::YamlError;

/// Anything a gitgen command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags, `gitgen.yaml` or the repo.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A lesson or the catalog as a whole.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The environment's toggle file.
    #[error(transparent)]
    Toggle(#[from] ToggleError),
    /// A template or a rendered object.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Writing the tree.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Committing or pushing.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Talking to the cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Bootstrap refused the Argo CD it was given.
    #[error(transparent)]
    Bootstrap(#[from] crate::deploy::bootstrap::BootstrapError),
    /// A classroom's learner clusters.
    #[error(transparent)]
    Classroom(#[from] ClassroomError),
    /// A rendered object or a CRD that does not check.
    #[error(transparent)]
    Validate(#[from] ValidateError),
    /// `gitgen serve` cannot start.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    /// A YAML file a command reads besides the stages' own (a rendered file read back).
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// Argo CD's install manifest could not be downloaded.
    #[error("cannot download `{url}`: {message}")]
    Download {
        /// What was asked for.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// `git init` failed in a new repo.
    #[error("cannot run `git init` in `{}`: {message}", dir.display())]
    GitInit {
        /// The new repo.
        dir: std::path::PathBuf,
        /// Why it failed.
        message: String,
    },
    /// The binary could not do its own part: start the runtime for cluster requests, or
    /// write a report to stdout.
    #[error("cannot {what}")]
    Io {
        /// What it tried, as a verb phrase.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be written as JSON.
    #[error("cannot write the report as JSON")]
    Json(#[from] serde_json::Error),
    /// A request that does not fit the repo (an unknown lesson on the command line…).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
}

impl Error {
    /// What the user can do about it, if there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Settings(e) => e.hint(),
            Error::Catalog(e) => e.hint(),
            Error::Toggle(e) => e.hint(),
            Error::Render(e) => e.hint(),
            Error::Output(e) => e.hint(),
            Error::Git(e) => Some(e.hint()),
            Error::Cluster(e) => e.hint(),
            Error::Bootstrap(e) => Some(e.hint()),
            Error::Classroom(e) => e.hint(),
            Error::Validate(e) => e.hint(),
            Error::Yaml(e) => e.hint.clone(),
            Error::Serve(e) => e.hint(),
            Error::Download { .. } => Some("download it elsewhere and pass `--argocd-manifest FILE`".to_owned()),
            Error::GitInit { .. } | Error::Io { .. } | Error::Json(_) => None,
            Error::Usage { hint, .. } => hint.clone(),
        }
    }
}
