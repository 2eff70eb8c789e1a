//! Pushing a branch: the credentials offered, each at most once, what a failed push
//! means, and the branch's upstream.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use git2::{Cred, CredentialType, ErrorClass, ErrorCode, PushOptions, RemoteCallbacks, Repository};

use super::error::{GitError, KeptCommit, repo_error};
use super::forge::{pull_request_url, without_userinfo};

/// Secrets for pushing. `Debug` never shows the token, and nothing here writes it anywhere.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<String>,
}

impl Credentials {
    /// Credentials with an optional HTTPS token (from `GITGEN_GIT_TOKEN`); an empty token is none.
    pub fn new(token: Option<String>) -> Self {
        Credentials {
            token: token.filter(|t| !t.is_empty()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials").field("token", &token).finish()
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
    let asker = RefCell::new(CredentialAsker {
        token: credentials.token.as_deref(),
        ..Default::default()
    });
    let rejection = RefCell::new(None::<String>);
    let remote_said = RefCell::new(String::new());
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|url, user, allowed| asker.borrow_mut().next(&config, url, user, allowed));
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
    let result = remote.push(&[format!("{refname}:{refname}")], Some(&mut options));
    drop(options);

    let remote = remote_name.to_owned();
    if let Err(e) = result {
        let message = e.message().to_owned();
        return Err(if asker.borrow().gave_up || e.code() == ErrorCode::Auth {
            GitError::AuthFailed {
                remote,
                url,
                kept,
                message,
            }
        } else if e.code() == ErrorCode::NotFastForward {
            GitError::NonFastForward { remote, kept, message }
        } else {
            GitError::Unreachable {
                remote,
                url,
                kept,
                message,
            }
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

/// Answers libgit2's credential requests, each method at most once: libgit2 asks again
/// after every rejected attempt, so without this a wrong token would loop forever.
#[derive(Default)]
struct CredentialAsker<'t> {
    token: Option<&'t str>,
    tried_username: bool,
    tried_agent: bool,
    tried_token: bool,
    tried_helper: bool,
    gave_up: bool,
}

impl CredentialAsker<'_> {
    fn next(
        &mut self,
        config: &git2::Config,
        url: &str,
        user: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        if allowed.contains(CredentialType::USERNAME) && !self.tried_username {
            self.tried_username = true;
            return Cred::username(user.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) && !self.tried_agent {
            self.tried_agent = true;
            return Cred::ssh_key_from_agent(user.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(token) = self.token.filter(|_| !self.tried_token) {
                self.tried_token = true;
                // GitHub and GitLab accept a token as the password with any user name.
                return Cred::userpass_plaintext(user.unwrap_or("x-access-token"), token);
            }
            if !self.tried_helper {
                self.tried_helper = true;
                if let Ok(cred) = Cred::credential_helper(config, url, user) {
                    return Ok(cred);
                }
            }
        }
        self.gave_up = true;
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Callback,
            "the remote rejected every credential gitgen could offer",
        ))
    }
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

    #[test]
    fn each_credential_method_is_tried_once_then_it_gives_up() {
        let config = git2::Config::new().unwrap();
        let mut asker = CredentialAsker {
            token: Some("t"),
            ..Default::default()
        };
        let pass = CredentialType::USER_PASS_PLAINTEXT;
        assert!(asker.next(&config, "https://h/o/r", None, pass).is_ok());
        // An empty config has no helper, so the second request ends the attempts.
        let Err(err) = asker.next(&config, "https://h/o/r", None, pass) else {
            panic!("a second credential was offered");
        };
        assert_eq!(err.code(), ErrorCode::Auth);
        assert!(asker.gave_up);
    }
}
