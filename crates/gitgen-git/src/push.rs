//! Pushing a branch: the credentials handed to the transport, what a failed push means,
//! and the branch's upstream.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use git2::{CredentialHelper, ErrorCode, PushOptions, RemoteCallbacks, Repository};
use gitgen_settings::ProcessEnv;

use super::error::{GitError, KeptCommit, repo_error};
use super::forge::{pull_request_url, without_userinfo};
use super::transport::{PushSession, TransportFailure, with_session};

/// Secrets for pushing, and how to reach SSH remotes. `Debug` never shows the token, and
/// nothing here writes it anywhere.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<String>,
    ssh_command: Option<String>,
}

impl Credentials {
    /// Credentials with an optional HTTPS token (from `GITGEN_GIT_TOKEN`); an empty token is none.
    pub fn new(token: Option<String>) -> Self {
        Credentials {
            token: token.filter(|t| !t.is_empty()),
            ssh_command: None,
        }
    }

    /// The token (`GITGEN_GIT_TOKEN`) and the command run instead of `ssh`
    /// (`GIT_SSH_COMMAND`, through the shell, as git runs it) of the process environment.
    pub fn from_process(process: &ProcessEnv) -> Self {
        Credentials {
            ssh_command: process.git_ssh_command.clone(),
            ..Credentials::new(process.git_token.clone())
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("token", &token)
            .field("ssh_command", &self.ssh_command)
            .finish()
    }
}

/// Pushes `refname` to the remote of the same name and returns the pull-request URL.
pub(super) fn push(
    repo: &Repository,
    repo_path: &Path,
    remote_name: &str,
    refname: &str,
    kept: Box<KeptCommit>,
    credentials: &Credentials,
) -> Result<Option<String>, GitError> {
    let not_configured = || GitError::RemoteNotConfigured {
        remote: remote_name.to_owned(),
        path: repo_path.to_owned(),
    };
    let configured = repo.find_remote(remote_name).map_err(|_| not_configured())?;
    let fetch_url = configured.url().map_err(|_| not_configured())?.to_owned();
    let push_url = configured.pushurl().ok().flatten().map(str::to_owned);
    // `git push` goes to `remote.<name>.pushurl` when it is set; libgit2's push through the
    // named remote still connects to the fetch URL, so a remote whose fetch URL gitgen
    // cannot write to failed where git worked. A remote of the push URL alone goes where
    // git goes.
    let mut remote = match &push_url {
        Some(url) => repo
            .remote_anonymous(url)
            .map_err(|source| repo_error("use the remote's push URL", repo_path, source))?,
        None => configured,
    };
    let url = without_userinfo(push_url.as_deref().unwrap_or(&fetch_url));
    set_upstream(repo, remote_name, &kept.branch, refname)
        .map_err(|source| repo_error("record the branch's upstream", repo_path, source))?;

    let config = repo
        .config()
        .map_err(|source| repo_error("read the config", repo_path, source))?;
    let push_to = push_url.as_deref().unwrap_or(&fetch_url);
    let mut helper = CredentialHelper::new(push_to);
    helper.config(&config);
    // git's order: GIT_SSH_COMMAND, then core.sshCommand (git-config(1)).
    let ssh_command = credentials
        .ssh_command
        .clone()
        .or_else(|| config.get_string("core.sshCommand").ok().filter(|c| !c.is_empty()));
    let session = Arc::new(PushSession::new(credentials.token.clone(), Some(helper), ssh_command));
    let rejection = RefCell::new(None::<String>);
    let remote_said = RefCell::new(String::new());
    let mut callbacks = RemoteCallbacks::new();
    callbacks.push_update_reference(|_, status| {
        *rejection.borrow_mut() = status.map(str::to_owned);
        Ok(())
    });
    callbacks.sideband_progress(|text| {
        remote_said.borrow_mut().push_str(&String::from_utf8_lossy(text));
        true
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let result = with_session(&session, || {
        remote.push(&[format!("{refname}:{refname}")], Some(&mut options))
    });
    drop(options);

    let remote = remote_name.to_owned();
    if let Err(e) = result {
        let message = e.message().to_owned();
        return Err(match session.failure() {
            Some(TransportFailure::AuthRejected) => GitError::AuthFailed {
                remote,
                url,
                kept,
                message,
            },
            Some(TransportFailure::UnsafeSshUrl { part, value }) => GitError::UnsafeSshUrl {
                remote,
                url,
                part,
                value,
                kept,
            },
            None if e.code() == ErrorCode::NotFastForward => GitError::NonFastForward { remote, kept, message },
            None => GitError::Unreachable {
                remote,
                url,
                kept,
                message,
            },
        });
    }
    if let Some(status) = rejection.into_inner() {
        // The one message gitgen reads: the server's per-ref status line is free text in the
        // git protocol (`ng <ref> <reason>`), and libgit2 hands it on as text, with no code.
        if status.contains("non-fast-forward") || status.contains("fetch first") {
            return Err(GitError::NonFastForward {
                remote,
                kept,
                message: status,
            });
        }
        let remote_said = remote_said.into_inner();
        let said: Vec<&str> = remote_said
            .lines()
            .flat_map(|line| line.split('\r'))
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let message = if said.is_empty() {
            status
        } else {
            format!("{status}\n{}", said.join("\n"))
        };
        return Err(GitError::Refused { remote, kept, message });
    }
    Ok(pull_request_url(&fetch_url, &kept.branch))
}

/// Records `remote` as the branch's upstream unless it already has one, as `git push -u` does.
fn set_upstream(repo: &Repository, remote: &str, branch: &str, refname: &str) -> Result<(), git2::Error> {
    let mut config = repo.config()?;
    let key = format!("branch.{branch}.remote");
    if config.get_string(&key).is_err() {
        config.set_str(&key, remote)?;
        config.set_str(&format!("branch.{branch}.merge"), refname)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_token() {
        let shown = format!("{:?}", Credentials::new(Some("s3cret-token".to_owned())));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn an_empty_token_counts_as_none() {
        assert!(Credentials::new(Some(String::new())).token.is_none());
    }
}
