//! Remote URLs as forges spell them: one safe to show, and the page that opens a pull
//! (or merge) request on GitHub and GitLab.

/// `url` without any `user:password@`, safe to show.
pub(super) fn without_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

/// The host and the `owner/repo` path (no `.git`, any subgroups kept) of a remote URL:
/// `https://host/owner/repo.git`, `ssh://git@host/owner/repo.git` or the scp-like
/// `git@host:owner/repo.git`. None for a local path or a URL without an owner and repo.
fn host_and_repo(remote_url: &str) -> Option<(String, &str)> {
    let (host, path) = match remote_url.split_once("://") {
        Some((_, rest)) => {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            (host.split(':').next()?, path)
        }
        // scp-like syntax: `git@github.com:owner/repo.git`
        None => {
            let (user_host, path) = remote_url.split_once(':')?;
            (user_host.rsplit('@').next()?, path)
        }
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    if host.is_empty() || segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some((host.to_ascii_lowercase(), path))
}

/// The page that opens a pull request from `branch` on GitHub, or a merge request on GitLab.
pub(super) fn pull_request_url(remote_url: &str, branch: &str) -> Option<String> {
    let (host, path) = host_and_repo(remote_url)?;
    let branch = percent_encode(branch);
    match host.as_str() {
        "github.com" if path.split('/').count() == 2 => {
            Some(format!("https://github.com/{path}/compare/{branch}?expand=1"))
        }
        "gitlab.com" => Some(format!(
            "https://gitlab.com/{path}/-/merge_requests/new?merge_request[source_branch]={branch}"
        )),
        _ => None,
    }
}

/// The page where the forge that hosts `remote_url` shows file `path` at `revision`, over
/// https whatever protocol `remote_url` clones with: `https://host/owner/repo/blob/<rev>/<path>`
/// on GitHub, `/-/blob/` on GitLab and `/src/` on Gitea, Forgejo and Codeberg. None where
/// the forge is unknown (another host, a local path), whose page layout gitgen cannot
/// guess. `path` is a repo path of gitgen's layout and is written as it is.
pub fn file_url(remote_url: &str, revision: &str, path: &str) -> Option<String> {
    let (host, repo) = host_and_repo(remote_url)?;
    let first_label = host.split('.').next().unwrap_or_default();
    let view = match (host.as_str(), first_label) {
        ("github.com", _) | (_, "github") => "blob",
        ("gitlab.com", _) | (_, "gitlab") => "-/blob",
        ("gitea.com" | "codeberg.org", _) | (_, "gitea" | "forgejo") => "src",
        _ => return None,
    };
    Some(format!(
        "https://{host}/{repo}/{view}/{}/{path}",
        percent_encode(revision)
    ))
}

/// Escapes what a branch name may hold but a URL may not; `/` stays readable.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_https_and_ssh_remotes_give_a_compare_url() {
        let expected = Some("https://github.com/o/r/compare/lesson/keda?expand=1".to_owned());
        assert_eq!(pull_request_url("https://github.com/o/r.git", "lesson/keda"), expected);
        assert_eq!(pull_request_url("https://github.com/o/r", "lesson/keda"), expected);
        assert_eq!(pull_request_url("git@github.com:o/r.git", "lesson/keda"), expected);
        assert_eq!(
            pull_request_url("ssh://git@github.com/o/r.git", "lesson/keda"),
            expected
        );
        assert_eq!(pull_request_url("https://me@github.com/o/r/", "lesson/keda"), expected);
    }

    #[test]
    fn gitlab_remotes_with_subgroups_give_a_merge_request_url() {
        assert_eq!(
            pull_request_url("git@gitlab.com:group/sub/r.git", "lesson/keda").as_deref(),
            Some("https://gitlab.com/group/sub/r/-/merge_requests/new?merge_request[source_branch]=lesson/keda")
        );
    }

    #[test]
    fn a_file_url_is_the_forges_https_page_at_the_revision_whatever_the_remotes_protocol() {
        let github = Some("https://github.com/o/r/blob/main/overlays/kind/a/README.md".to_owned());
        for remote in [
            "https://github.com/o/r.git",
            "git@github.com:o/r.git",
            "ssh://git@github.com/o/r.git",
            "https://me@GitHub.com/o/r/",
        ] {
            assert_eq!(
                file_url(remote, "main", "overlays/kind/a/README.md"),
                github,
                "{remote}"
            );
        }
        assert_eq!(
            file_url("git@gitlab.example.org:group/sub/r.git", "v1.2", "a.md").as_deref(),
            Some("https://gitlab.example.org/group/sub/r/-/blob/v1.2/a.md")
        );
        assert_eq!(
            file_url("https://codeberg.org/o/r.git", "feature/x y", "a.md").as_deref(),
            Some("https://codeberg.org/o/r/src/feature/x%20y/a.md")
        );
    }

    #[test]
    fn an_unknown_forge_or_a_local_repo_gives_no_file_url() {
        for remote in [
            "https://git.example.com/o/r.git",
            "/srv/git/r.git",
            "file:///srv/git/r.git",
            "https://github.com/r.git",
        ] {
            assert_eq!(file_url(remote, "main", "a.md"), None, "{remote}");
        }
    }

    #[test]
    fn other_hosts_and_local_paths_give_no_url() {
        assert_eq!(pull_request_url("https://git.example.com/o/r.git", "b"), None);
        assert_eq!(pull_request_url("/srv/git/r.git", "b"), None);
        assert_eq!(pull_request_url("git://127.0.0.1:9418/r.git", "b"), None);
    }

    #[test]
    fn branch_names_are_escaped_in_the_url() {
        assert_eq!(
            pull_request_url("https://github.com/o/r", "fix#1&x").as_deref(),
            Some("https://github.com/o/r/compare/fix%231%26x?expand=1")
        );
    }

    #[test]
    fn userinfo_is_removed_from_urls_shown_in_errors() {
        assert_eq!(
            without_userinfo("https://u:tok@example.com/o/r"),
            "https://example.com/o/r"
        );
        assert_eq!(without_userinfo("git@github.com:o/r.git"), "git@github.com:o/r.git");
    }
}
