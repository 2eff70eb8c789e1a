//! `gitgen init`: a new GitOps repo from the course built into the binary.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::catalog::Catalog;
use crate::catalog::config::{CONFIG_FILE, RepoConfig};
use crate::catalog::source::CatalogFiles;
use crate::catalog::toggle::ToggleFile;
use crate::layout::{CATALOG_DIR, Layout};
use crate::names::EnvName;
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
/// (every lesson listed, commented out), `.gitignore` and a CI job for GitHub Actions and
/// GitLab CI that runs `gitgen render --check` (every environment of `gitgen.yaml` as it
/// is when the job runs), and runs `git init`.
/// Returns the environments, which the caller renders.
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
        write(&dir.join(CATALOG_DIR).join(relative), text)?;
    }
    let config = RepoConfig::starter(repo_url);
    write(&dir.join(CONFIG_FILE), &config.to_yaml())?;
    let catalog = Catalog::load(CatalogFiles::embedded())?;
    for env in config.environments.keys() {
        let path: PathBuf = dir.join(Layout::new(env).toggle_path());
        write(&path, &ToggleFile::starter(&catalog, env, path.clone()).text)?;
    }
    let envs: Vec<EnvName> = config.environments.keys().cloned().collect();
    write(&dir.join(GITHUB_WORKFLOW), &github_workflow())?;
    write(&dir.join(GITLAB_CI), &gitlab_ci())?;
    write(
        &dir.join(".gitignore"),
        "# gitgen's staging area and process lock\n/.gitgen/\n",
    )?;
    git2::Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main")).map_err(|e| {
        Error::GitInit {
            dir: dir.to_owned(),
            message: e.message().to_owned(),
        }
    })?;
    Ok(envs)
}

/// The GitHub Actions workflow `gitgen init` writes.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/gitgen.yml";
/// The GitLab CI pipeline `gitgen init` writes.
pub const GITLAB_CI: &str = ".gitlab-ci.yml";

/// What both CI files say first: what the check proves, and how gitgen gets installed.
/// gitgen is not on crates.io, so the install command is the repo owner's to give (a
/// variable), and the job fails until it is given rather than checking nothing.
fn ci_preamble(where_to_set: &str) -> String {
    format!(
        "# Written by `gitgen init`. Every push and pull request must leave the rendered tree\n\
         # exactly what `gitgen render` makes from `catalog/`: `render --check` renders every\n\
         # lesson and trusts nothing a pull request can forge (not `gitgen.lock`). It exits 1\n\
         # and lists the files that differ. It covers every environment `gitgen.yaml` defines\n\
         # when it runs, so an environment added later needs no edit here.\n\
         #\n\
         # gitgen is not on crates.io: set the variable GITGEN_INSTALL ({where_to_set}) to the\n\
         # command that installs it, e.g.\n\
         #   cargo install --locked --git https://github.com/<owner>/gitgen --tag <version> gitgen\n\
         # The job fails until it is set. This file runs as the pull request has it: protect\n\
         # it (and `.github/`) with a required review, e.g. in CODEOWNERS.\n"
    )
}

fn github_workflow() -> String {
    let mut text = ci_preamble("Settings → Secrets and variables → Actions → Variables");
    text.push_str(
        "name: gitgen\n\
         on: [push, pull_request]\n\
         permissions:\n  contents: read\n\
         jobs:\n  check:\n    runs-on: ubuntu-latest\n\
         \x20   env:\n      GITGEN_INSTALL: ${{ vars.GITGEN_INSTALL }}\n\
         \x20   steps:\n      - uses: actions/checkout@v4\n\
         \x20     - name: Install gitgen\n\
         \x20       run: |\n\
         \x20         if [ -z \"$GITGEN_INSTALL\" ]; then echo \"::error::set the GITGEN_INSTALL variable to the command that installs gitgen\"; exit 1; fi\n\
         \x20         sh -c \"$GITGEN_INSTALL\"\n\
         \x20     - name: Every environment's tree is what render makes\n\
         \x20       run: gitgen render --check\n",
    );
    text
}

fn gitlab_ci() -> String {
    let mut text = ci_preamble("Settings → CI/CD → Variables");
    text.push_str(
        "gitgen-check:\n\
         \x20 image: rust:1\n\
         \x20 script:\n\
         \x20   - 'if [ -z \"$GITGEN_INSTALL\" ]; then echo \"set the GITGEN_INSTALL variable to the command that installs gitgen\"; exit 1; fi'\n\
         \x20   - sh -c \"$GITGEN_INSTALL\"\n\
         \x20   - gitgen render --check\n",
    );
    text
}
