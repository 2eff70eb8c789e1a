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

/// The page that opens a pull request from `branch` on GitHub, or a merge request on GitLab.
pub(super) fn pull_request_url(remote_url: &str, branch: &str) -> Option<String> {
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
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let branch = percent_encode(branch);
    match host.to_ascii_lowercase().as_str() {
        "github.com" if segments.len() == 2 => Some(format!("https://github.com/{path}/compare/{branch}?expand=1")),
        "gitlab.com" => Some(format!(
            "https://gitlab.com/{path}/-/merge_requests/new?merge_request[source_branch]={branch}"
        )),
        _ => None,
    }
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
