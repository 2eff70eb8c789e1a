//! The routes: a request's method, `Host` and path in, a [`Reply`] out. No socket, so
//! every route is tested as plain data ([`super::server`] puts it on the wire).
//!
//! - `/`: the course and its live state;
//! - `/lessons/<lesson>` and `/lessons/<lesson>/<stage>`: a walkthrough;
//! - `/api/state`: the live state as JSON, which the page polls;
//! - `/assets/serve.css`, `/assets/serve.js`;
//! - anything else: 404. Only `GET` and `HEAD` are answered: nothing can be changed.

use http::{Method, StatusCode};

use super::ServeError;
use super::model::{CourseView, Links, LiveView, WalkthroughView};
use super::pages::{Pages, SCRIPT, STYLESHEET};
use crate::workspace::Workspace;

/// An answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body's media type.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

const HTML: &str = "text/html; charset=utf-8";

impl Reply {
    fn ok(content_type: &'static str, body: String) -> Self {
        Reply {
            status: StatusCode::OK,
            content_type,
            body,
        }
    }

    fn text(status: StatusCode, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n"),
        }
    }
}

/// What the server serves: the workspace, read once, and the pages.
pub struct Site {
    workspace: Workspace,
    links: Links,
    course: CourseView,
    pages: Pages,
    /// Whether `--expose` lets any `Host` in; else only loopback names are answered, so a
    /// web page that rebinds its own DNS name to 127.0.0.1 cannot read this one.
    expose: bool,
}

impl Site {
    /// The site of `workspace`, linking Argo CD's UI at `argocd_url`.
    pub fn new(workspace: Workspace, argocd_url: &str, expose: bool) -> Result<Self, ServeError> {
        let links = Links {
            argocd_url: argocd_url.to_owned(),
            argocd_namespace: workspace.settings.config.argocd.namespace.clone(),
        };
        Ok(Site {
            course: CourseView::of(&workspace, &links),
            pages: Pages::new()?,
            workspace,
            links,
            expose,
        })
    }

    /// The links the pages make.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The reply to `method` `path` with `Host` header `host`, given the live state `live`.
    pub fn reply(&self, method: &Method, host: Option<&str>, path: &str, live: &LiveView) -> Reply {
        if !self.expose && !host.is_some_and(is_loopback_host) {
            return Reply::text(
                StatusCode::MISDIRECTED_REQUEST,
                "gitgen serve answers loopback names only",
            );
        }
        if method != Method::GET && method != Method::HEAD {
            return Reply::text(StatusCode::METHOD_NOT_ALLOWED, "gitgen serve is read-only");
        }
        let page = match path {
            "/" => self.pages.course(&self.course, live).map(|html| Reply::ok(HTML, html)),
            "/api/state" => {
                return match serde_json::to_string(live) {
                    Ok(json) => Reply::ok("application/json", json),
                    Err(err) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
                };
            }
            "/assets/serve.css" => return Reply::ok("text/css; charset=utf-8", STYLESHEET.to_owned()),
            "/assets/serve.js" => return Reply::ok("text/javascript; charset=utf-8", SCRIPT.to_owned()),
            _ => match walkthrough_route(path) {
                Some((lesson, stage)) => return self.walkthrough(lesson, stage, path),
                None => self.not_found(path),
            },
        };
        page.unwrap_or_else(|err| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()))
    }

    fn walkthrough(&self, lesson: &str, stage: Option<&str>, path: &str) -> Reply {
        match WalkthroughView::of(&self.workspace, &self.links, lesson, stage) {
            Ok(Some(view)) => self.pages.walkthrough(&view).map(|html| Reply::ok(HTML, html)),
            Ok(None) => self.not_found(path),
            Err(err) => {
                // A walkthrough that does not render: say why, as `gitgen lesson` would.
                let hint = err.hint().map(|hint| format!("\nhint: {hint}")).unwrap_or_default();
                return Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &format!("error: {err}{hint}"));
            }
        }
        .unwrap_or_else(|err| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()))
    }

    fn not_found(&self, path: &str) -> Result<Reply, ServeError> {
        let html = self.pages.not_found(self.workspace.settings.env_name.as_str(), path)?;
        Ok(Reply {
            status: StatusCode::NOT_FOUND,
            content_type: HTML,
            body: html,
        })
    }
}

/// `(lesson, stage)` of `/lessons/<lesson>[/<stage>]`.
fn walkthrough_route(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.strip_prefix("/lessons/")?;
    let mut parts = rest.split('/');
    let lesson = parts.next().filter(|l| !l.is_empty())?;
    let stage = parts.next();
    if parts.next().is_some() || stage == Some("") {
        return None;
    }
    Some((lesson, stage))
}

/// Whether `host` (a `Host` header: a name or address, maybe a port) is this machine's
/// loopback: `localhost` or a loopback address.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:8080`
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::model::{LiveCell, LiveView};
    use crate::settings::Settings;

    fn site(expose: bool) -> Site {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small");
        let workspace =
            Workspace::open_read_only(Settings::resolve(Some(&repo), Some("docker-desktop")).unwrap()).unwrap();
        Site::new(workspace, "https://argocd.example", expose).unwrap()
    }

    fn live() -> LiveView {
        LiveView {
            unreachable: None,
            summary: "1 of 1 enabled lesson(s) Synced and Healthy".into(),
            layout: "lesson:alpha".into(),
            lessons: vec![LiveCell {
                id: "lesson:alpha".into(),
                lesson: "alpha".into(),
                text: "Synced/Healthy".into(),
                tone: "ok",
                detail: None,
                application: Some("https://argocd.example/applications/argocd/alpha".into()),
            }],
            class: None,
        }
    }

    fn get(site: &Site, path: &str) -> Reply {
        site.reply(&Method::GET, Some("127.0.0.1:8090"), path, &live())
    }

    #[test]
    fn the_course_page_lists_the_lessons_with_links_to_walkthroughs_and_argocd() {
        let reply = get(&site(false), "/");
        assert_eq!((reply.status, reply.content_type), (StatusCode::OK, HTML));
        insta::assert_snapshot!(reply.body);
    }

    #[test]
    fn a_walkthrough_page_shows_the_markdown_as_html_with_service_urls_as_links() {
        let reply = get(&site(false), "/lessons/alpha");
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply
                .body
                .contains("<a href=\"http://localhost:8000\">http://localhost:8000</a>"),
            "{}",
            reply.body
        );
        insta::assert_snapshot!(reply.body);
        let other_stage = get(&site(false), "/lessons/alpha/pod");
        assert!(
            other_stage
                .body
                .contains("docker-desktop enables stage service; this is stage pod.")
        );
    }

    #[test]
    fn the_state_route_sends_the_live_view_as_json() {
        let reply = get(&site(false), "/api/state");
        assert_eq!(reply.content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json, serde_json::to_value(live()).unwrap());
    }

    #[test]
    fn the_assets_are_served_by_gitgen_itself() {
        let site = site(false);
        assert_eq!(get(&site, "/assets/serve.css").body, STYLESHEET);
        assert_eq!(get(&site, "/assets/serve.js").body, SCRIPT);
        let course = get(&site, "/").body;
        assert!(
            !course.contains("//cdn") && !course.contains("https://fonts"),
            "{course}"
        );
    }

    #[test]
    fn a_path_outside_the_routes_is_404() {
        let site = site(false);
        for path in [
            "/nope",
            "/lessons",
            "/lessons/",
            "/lessons/gamma",
            "/lessons/alpha/no-such-stage",
            "/lessons/alpha/pod/extra",
            "/lessons/alpha/",
            "/lessons/../gitgen.yaml",
            "/assets/../gitgen.yaml",
            "/assets/",
            "/gitgen.yaml",
            "/api/state/x",
        ] {
            let reply = get(&site, path);
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        }
        let reply = get(&site, "/<script>alert(1)</script>");
        assert!(
            reply
                .body
                .contains("<code>&#x2f;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</code>"),
            "{}",
            reply.body
        );
    }

    #[test]
    fn only_get_and_head_are_answered() {
        let site = site(false);
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let reply = site.reply(&method, Some("localhost:8090"), "/", &live());
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        }
        assert_eq!(
            site.reply(&Method::HEAD, Some("localhost"), "/", &live()).status,
            StatusCode::OK
        );
    }

    #[test]
    fn only_loopback_host_names_are_answered_unless_exposed() {
        let site = site(false);
        for host in [
            "localhost:8090",
            "127.0.0.1:8090",
            "[::1]:8090",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert_eq!(
                site.reply(&Method::GET, Some(host), "/", &live()).status,
                StatusCode::OK,
                "{host}"
            );
        }
        for host in [
            Some("evil.example:8090"),
            Some("localhost.evil.example"),
            Some("10.0.0.1:8090"),
            None,
        ] {
            let reply = site.reply(&Method::GET, host, "/", &live());
            assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST, "{host:?}");
        }
        let exposed = self::site(true);
        let reply = exposed.reply(&Method::GET, Some("classroom.example:8090"), "/", &live());
        assert_eq!(reply.status, StatusCode::OK);
    }
}
