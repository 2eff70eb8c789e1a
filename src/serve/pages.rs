//! The HTML of the pages: minijinja templates built into the binary, with HTML
//! autoescape (minijinja's default for `.html` templates), so every name, title and message
//! from the repo or the cluster is text. Only the walkthrough goes in as HTML, made safe
//! by [`super::markdown`]. The stylesheet and script are built in too: no CDN.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};

use super::ServeError;
use super::model::{CourseView, LiveView, WalkthroughView};

/// The stylesheet every page links, served at `/assets/serve.css`.
pub const STYLESHEET: &str = include_str!("assets/serve.css");
/// The script that updates the live state in place, served at `/assets/serve.js`.
pub const SCRIPT: &str = include_str!("assets/serve.js");

const TEMPLATES: [(&str, &str); 5] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("cell.html", include_str!("templates/cell.html")),
    ("course.html", include_str!("templates/course.html")),
    ("walkthrough.html", include_str!("templates/walkthrough.html")),
    ("not_found.html", include_str!("templates/not_found.html")),
];

/// The page templates, parsed once.
pub struct Pages {
    templates: Environment<'static>,
}

impl Pages {
    /// Parses the built-in templates.
    pub fn new() -> Result<Self, ServeError> {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates
                .add_template(name, source)
                .map_err(|source| ServeError::Template { page: name, source })?;
        }
        Ok(Pages { templates })
    }

    /// The course and its live state.
    pub fn course(&self, course: &CourseView, live: &LiveView) -> Result<String, ServeError> {
        self.render(
            "course.html",
            &course.environment,
            context! { course => Value::from(Serde(course)), live => Value::from(Serde(live)) },
        )
    }

    /// One walkthrough.
    pub fn walkthrough(&self, walkthrough: &WalkthroughView) -> Result<String, ServeError> {
        self.render(
            "walkthrough.html",
            &walkthrough.environment,
            context! { walkthrough => Value::from(Serde(walkthrough)) },
        )
    }

    /// The page of a path nothing is served at.
    pub fn not_found(&self, environment: &str, path: &str) -> Result<String, ServeError> {
        self.render("not_found.html", environment, context! { path => path })
    }

    fn render(&self, page: &'static str, environment: &str, values: Value) -> Result<String, ServeError> {
        let common = context! {
            environment => environment,
            poll_ms => super::POLL_INTERVAL.as_millis() as u64,
        };
        self.templates
            .get_template(page)
            .and_then(|template| template.render(context! { ..common, ..values }))
            .map_err(|source| ServeError::Template { page, source })
    }
}
