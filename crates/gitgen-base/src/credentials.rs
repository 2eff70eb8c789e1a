//! What a credential looks like: the shapes of tokens and keys that never go into git.
//! Render refuses a rendered file that holds one; the catalog refuses a repository URL
//! that carries one.

/// The first credential-shaped word in `text` (a whole rendered file: comments, keys,
/// values and prose alike), as its 1-based line and what it looks like.
pub fn find_credential(text: &str) -> Option<(usize, &'static str)> {
    // One pass without allocating first: most files have no word long enough to be a token.
    let mut run = 0;
    let long_word = text.bytes().any(|b| {
        run = if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            run + 1
        } else {
            0
        };
        run >= SHORTEST_TOKEN
    });
    if !long_word && !text.contains("-----BEGIN") {
        return None;
    }
    text.lines()
        .enumerate()
        .find_map(|(i, line)| token_kind(line).map(|kind| (i + 1, kind)))
}

/// No token is shorter: the prefix and the random part together.
const SHORTEST_TOKEN: usize = 20;

/// What kind of credential `text` looks like, if any.
pub fn token_kind(text: &str) -> Option<&'static str> {
    // Lines of rendered files with a long word come through here, so the common case (no
    // word long enough to be a token) must cost one pass over the text.
    let long_words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| w.len() >= SHORTEST_TOKEN)
        .collect();
    let word = |prefix: &str, min_len: usize| {
        long_words
            .iter()
            .any(|w| w.starts_with(prefix) && w.len() >= prefix.len() + min_len)
    };
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY") {
        Some("a private key")
    } else if long_words.is_empty() {
        None
    } else if word("ghp_", 30) || word("gho_", 30) || word("ghs_", 30) || word("github_pat_", 30) {
        Some("a GitHub token")
    } else if word("glpat-", 20) {
        Some("a GitLab token")
    } else if word("xoxb-", 20) || word("xoxp-", 20) {
        Some("a Slack token")
    } else if word("AKIA", 16)
        && text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w.len() == 20 && w.starts_with("AKIA"))
    {
        Some("an AWS access key")
    } else if text
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .any(|w| w.starts_with("eyJ") && w.len() > 60 && w.split('.').count() == 3)
    {
        Some("a JSON Web Token")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_token_shapes() {
        assert_eq!(
            token_kind("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            Some("a GitHub token")
        );
        assert_eq!(token_kind("token: glpat-abcdefghijklmnopqrstu"), Some("a GitLab token"));
        assert_eq!(token_kind("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key"));
        assert_eq!(
            token_kind("-----BEGIN RSA PRIVATE KEY-----\nabc"),
            Some("a private key")
        );
        assert_eq!(token_kind("jasonumiker/probe-test-app:v1"), None);
        assert_eq!(token_kind("the ghp_ prefix marks GitHub tokens"), None);
    }

    #[test]
    fn finds_credentials_on_any_line_of_a_file() {
        let token = format!("ghp_{}", "a".repeat(36));
        assert_eq!(find_credential("a: b\n# c\n"), None);
        assert_eq!(
            find_credential(&format!("a: b\n# {token}\n")),
            Some((2, "a GitHub token"))
        );
        assert_eq!(
            find_credential(&format!("x:\n  {token}: key\n")),
            Some((2, "a GitHub token"))
        );
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{}.{}", "e".repeat(40), "s".repeat(30));
        assert_eq!(
            find_credential(&format!("token: {jwt}\n")),
            Some((1, "a JSON Web Token"))
        );
    }
}
