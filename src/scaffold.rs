//! `gitgen init`: a new GitOps repo from the course built into the binary.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::catalog::Catalog;
use crate::catalog::config::{CONFIG_FILE, RepoConfig};
use crate::catalog::names::EnvName;
use crate::catalog::source::CatalogFiles;
use crate::catalog::toggle::{ToggleFile, toggle_path};
use crate::output::OutputError;

/// The placeholder URL written when none is known; `gitgen bootstrap` refuses it.
pub const PLACEHOLDER_REPO_URL: &str = "https://git.example.com/you/kubernetes-course.git";

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(|e| OutputError::io("create", parent, e))?;
    }
    fs_err::write(path, text).map_err(|e| OutputError::io("write", path, e))?;
    Ok(())
}

/// Creates `dir` with the embedded catalog, `gitgen.yaml`, a toggle file per environment
/// (every lesson listed, commented out) and `.gitignore`, and runs `git init`. Returns the
/// environments, which the caller renders.
pub fn init(dir: &Path, repo_url: Option<String>) -> Result<Vec<EnvName>, Error> {
    if dir.exists() {
        let mut entries = fs_err::read_dir(dir).map_err(|e| OutputError::io("read", dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Usage {
                message: format!("`{}` is not empty", dir.display()),
                hint: Some("give a new folder; gitgen init never overwrites files".to_owned()),
            });
        }
    }
    let repo_url = repo_url.unwrap_or_else(|| PLACEHOLDER_REPO_URL.to_owned());
    for (relative, text) in CatalogFiles::embedded_files() {
        write(&dir.join("catalog").join(relative), text)?;
    }
    let config = RepoConfig::starter(repo_url);
    write(&dir.join(CONFIG_FILE), &config.to_yaml())?;
    let catalog = Catalog::load(CatalogFiles::embedded())?;
    for env in config.environments.keys() {
        let path: PathBuf = dir.join(toggle_path(env));
        write(&path, &ToggleFile::starter(&catalog, env, path.clone()).text)?;
    }
    write(
        &dir.join(".gitignore"),
        "# gitgen's staging area and process lock\n/.gitgen/\n",
    )?;
    git2::Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main")).map_err(|e| {
        Error::Usage {
            message: format!("cannot run `git init` in `{}`: {}", dir.display(), e.message()),
            hint: None,
        }
    })?;
    Ok(config.environments.keys().cloned().collect())
}
