//! `gitgen serve`: a local, read-only web page over the repo and the cluster. It owns the
//! page model ([`model`]: the course, the walkthroughs and the live state as plain data),
//! the HTML ([`pages`]: minijinja templates with autoescape, and [`markdown`] for the
//! walkthroughs), the routes ([`routes`]: a request in, a reply out, no socket) and the HTTP
//! server that polls the cluster ([`server`]).
//!
//! It changes nothing, in the repo or the cluster: the workspace is opened read-only and
//! the cluster is only listed, with the code `gitgen status` reads it with. Lessons change
//! by pull request, as everywhere else, so the page has no button that toggles one.

pub mod markdown;
pub mod model;
pub mod pages;
pub mod routes;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

/// How often the server reads the cluster, and the page asks the server for what it read:
/// a change reaches the browser within two of these.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Where Argo CD's UI is when no flag says: the argocd lesson's port-forward
/// (`catalog/argocd/README.md.j2`).
pub const DEFAULT_ARGOCD_URL: &str = "https://localhost:8081";

/// What `gitgen serve` is asked to do, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The Argo CD UI's base URL, without a trailing slash.
    pub argocd_url: String,
}

impl ServeOptions {
    /// Checks the flags: a non-loopback `listen` needs `expose` (anyone who reaches the
    /// address reads the course and the class's state), and the Argo CD URL must be an
    /// http(s) URL, as every page links it.
    pub fn resolve(listen: SocketAddr, expose: bool, argocd_url: &str) -> Result<Self, ServeError> {
        if !listen.ip().is_loopback() && !expose {
            return Err(ServeError::NotLoopback { listen });
        }
        let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
            argocd_url
                .get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        });
        let host_ok = argocd_url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
        if !scheme_ok || !host_ok || argocd_url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ServeError::ArgoCdUrl {
                url: argocd_url.to_owned(),
            });
        }
        Ok(ServeOptions {
            listen,
            argocd_url: argocd_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// Why `gitgen serve` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `--listen` names an address other machines may reach, without `--expose`.
    #[error("`{listen}` is not a loopback address: anyone who reaches it could read the course and the class's state")]
    NotLoopback {
        /// The address.
        listen: SocketAddr,
    },
    /// `--argocd-url` is not an http(s) URL with a host.
    #[error("`{url}` is not an http(s) URL of Argo CD's UI")]
    ArgoCdUrl {
        /// The URL given.
        url: String,
    },
    /// The address cannot be listened on.
    #[error("cannot listen on `{listen}`")]
    Bind {
        /// The address.
        listen: SocketAddr,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// A template failed to render: a bug of gitgen's, as the templates are built in.
    #[error("cannot render page `{page}`")]
    Template {
        /// The template.
        page: &'static str,
        /// Why.
        #[source]
        source: minijinja::Error,
    },
}

impl ServeError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ServeError::NotLoopback { .. } => Some(
                "listen on 127.0.0.1 (the default), or pass `--expose` to serve every machine that reaches the address"
                    .to_owned(),
            ),
            ServeError::ArgoCdUrl { .. } => Some(format!(
                "pass the URL you open Argo CD's UI at, such as `{DEFAULT_ARGOCD_URL}`"
            )),
            ServeError::Bind { .. } => {
                Some("pick another port with `--listen 127.0.0.1:PORT` (port 0: any free one)".to_owned())
            }
            ServeError::Template { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(listen: &str, expose: bool, url: &str) -> Result<ServeOptions, ServeError> {
        ServeOptions::resolve(listen.parse().unwrap(), expose, url)
    }

    #[test]
    fn loopback_addresses_need_no_flag() {
        assert!(resolve("127.0.0.1:8000", false, DEFAULT_ARGOCD_URL).is_ok());
        assert!(resolve("[::1]:8000", false, DEFAULT_ARGOCD_URL).is_ok());
    }

    #[test]
    fn refuses_a_non_loopback_address_without_expose() {
        let err = resolve("0.0.0.0:8000", false, DEFAULT_ARGOCD_URL).unwrap_err();
        assert!(matches!(err, ServeError::NotLoopback { .. }), "{err}");
        assert!(err.hint().unwrap().contains("--expose"));
        assert!(resolve("192.168.1.10:8000", false, DEFAULT_ARGOCD_URL).is_err());
        assert!(resolve("0.0.0.0:8000", true, DEFAULT_ARGOCD_URL).is_ok());
    }

    #[test]
    fn the_argocd_url_must_be_http_with_a_host_and_loses_its_trailing_slash() {
        for bad in [
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "https:///x",
            "http://a b",
            "localhost:8081",
        ] {
            assert!(
                matches!(resolve("127.0.0.1:0", false, bad), Err(ServeError::ArgoCdUrl { .. })),
                "{bad}"
            );
        }
        let options = resolve("127.0.0.1:0", false, "HTTPS://argocd.example/").unwrap();
        assert_eq!(options.argocd_url, "HTTPS://argocd.example");
    }
}
