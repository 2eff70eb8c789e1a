//! Links in the Argo CD UI to the pages a walkthrough sends the learner to (Grafana,
//! Kiali, probe-test-app, ...), at this environment's URL.
//!
//! Argo CD shows a link beside every resource annotated `link.argocd.argoproj.io/<name>`
//! with `<title>|<url>` or a bare URL (`common/common.go`, `AnnotationKeyLinkPrefix`; read
//! into the resource tree by `controller/cache/info.go`, `populateNodeInfo`; split at `|`
//! by `ui/src/app/applications/components/application-urls.tsx`, `ExternalLink`; all at
//! v2.12.3 and v3.5.1, whose `docs/user-guide/external-url.md` gives the format). v3.5.1
//! drops a link whose URL is not `http` or `https` (`util/settings/settings.go`,
//! `ValidateExternalURL`). A lesson's own objects get theirs from `links:` in
//! `lesson.yaml`, patched in by the environment's overlay (bases do not know the
//! environment's host); a chart's Services from their values, through the
//! `argocd_link()` template function.
//!
//! This module owns the annotation's key and value; `ports.rs` owns the ports.

use serde_json::{Value, json};

use super::bases::StageObjects;
use super::{RenderError, ports};
use gitgen_base::names::EnvName;
use gitgen_catalog::LoadedLesson;
use gitgen_catalog::config::{Environment, RepoConfig};
use gitgen_catalog::labels::text_as_label_value;
use gitgen_yaml as yaml;

/// The prefix of the annotations Argo CD shows as links.
pub const LINK_ANNOTATION_PREFIX: &str = "link.argocd.argoproj.io/";

/// The URL of `path` on course port `port` of `host`: `https` on 443, `http` elsewhere,
/// and no port where the scheme implies it.
pub fn course_url(host: &str, port: u16, path: &str) -> String {
    match port {
        80 => format!("http://{host}{path}"),
        443 => format!("https://{host}{path}"),
        _ => format!("http://{host}:{port}{path}"),
    }
}

/// The annotation that shows `url` in the Argo CD UI as a link titled `title`: its key
/// is named after the title's words.
pub fn annotation(title: &str, url: &str) -> (String, String) {
    (
        format!("{LINK_ANNOTATION_PREFIX}{}", text_as_label_value(title)),
        format!("{title}|{url}"),
    )
}

/// The `argocd_link(title, port, path="/")` function of templates that know the
/// environment (a chart's values): the annotations, as a mapping, that show the page
/// `path` on course port `port` of the environment's host as a link titled `title`. An
/// error for a port the course does not use, or a title or path that is not one.
pub fn template_function(host: &str) -> minijinja::Value {
    let host = host.to_owned();
    minijinja::Value::from_function(
        move |title: String, port: u16, path: Option<String>| -> Result<minijinja::Value, minijinja::Error> {
            let path = path.unwrap_or_else(|| "/".to_owned());
            let invalid = |what: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, what);
            if ports::node_port(port).is_none() {
                return Err(invalid(format!(
                    "port {port} is not one of the course's localhost ports"
                )));
            }
            if title.contains('|') || text_as_label_value(&title).is_empty() {
                return Err(invalid(format!("`{title}` cannot be a link's title (words, no `|`)")));
            }
            if !path.starts_with('/') || path.contains(|c: char| c == '|' || c.is_whitespace()) {
                return Err(invalid(format!("`{path}` is not a URL path")));
            }
            let (key, value) = annotation(&title, &course_url(&host, port, &path));
            Ok(minijinja::Value::from(std::collections::BTreeMap::from([(key, value)])))
        },
    )
}

/// The overlay patches that annotate the lesson's objects with its `links:` at stage
/// `index`, one strategic merge patch per link; an error for a link whose object the
/// stage does not render or whose port the course does not use. The stage's objects come
/// from `stage_objects`, which the base's render filled.
pub fn overlay_patches(
    stage_objects: &StageObjects,
    lesson: &LoadedLesson,
    index: usize,
    env_name: &EnvName,
    env: &Environment,
) -> Result<Vec<Value>, RenderError> {
    let links: Vec<_> = lesson
        .lesson
        .links
        .iter()
        .filter(|l| lesson.in_stage(l.since.as_ref(), l.until.as_ref(), index))
        .collect();
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let objects = stage_objects.get(lesson, index)?;
    let stage = lesson.lesson.stages[index].name.to_string();
    let refuse = |what: String, hint: String| RenderError::Output {
        path: lesson.lesson_file(),
        line: None,
        stage: stage.clone(),
        what,
        hint: Some(hint),
    };
    let mut patches = Vec::new();
    for link in links {
        let (kind, name) = link.kind_and_name();
        let Some(object) = objects
            .iter()
            .map(|sourced| &sourced.object)
            .find(|o| o["kind"] == kind && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
        else {
            return Err(refuse(
                format!("a link on `{kind}/{name}`, which is not one of the stage's objects"),
                "name an object of the lesson's manifests in `links[].object`, or bound the link with `since`/`until`"
                    .to_owned(),
            ));
        };
        if ports::node_port(link.port).is_none() {
            return Err(refuse(
                format!(
                    "a link to port {}, which is not one of the course's localhost ports",
                    link.port
                ),
                format!(
                    "link to a port the stage serves on localhost, as its walkthrough does (environment `{env_name}`)"
                ),
            ));
        }
        let (key, value) = annotation(&link.title.value, &course_url(&env.host, link.port, &link.path));
        let patch = json!({
            "apiVersion": object["apiVersion"],
            "kind": kind,
            "metadata": {"name": name, "annotations": {key: value}},
        });
        patches.push(json!({"patch": yaml::to_string(&patch)}));
    }
    Ok(patches)
}

/// Builds the link patches of `lesson` at every stage for every environment of `config`
/// and drops them: as with a values template, a lesson's overlay is otherwise built only
/// where it is enabled, at the enabled stage, so a link on an object that one stage lacks
/// would pass render and CI.
pub fn check_links(
    stage_objects: &StageObjects,
    lesson: &LoadedLesson,
    config: &RepoConfig,
) -> Result<(), RenderError> {
    for index in 0..lesson.lesson.stages.len() {
        for (env_name, env) in &config.environments {
            overlay_patches(stage_objects, lesson, index, env_name, env)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_course_url_leaves_out_the_port_its_scheme_implies() {
        assert_eq!(
            course_url("localhost", 80, "/productpage"),
            "http://localhost/productpage"
        );
        assert_eq!(course_url("localhost", 443, "/"), "https://localhost/");
        assert_eq!(course_url("localhost", 3000, "/"), "http://localhost:3000/");
    }

    #[test]
    fn a_link_annotation_is_named_after_its_title_and_holds_title_and_url() {
        assert_eq!(
            annotation("RabbitMQ management", "http://localhost:15672/"),
            (
                "link.argocd.argoproj.io/rabbitmq-management".to_owned(),
                "RabbitMQ management|http://localhost:15672/".to_owned()
            )
        );
    }

    fn call(args: &[minijinja::Value]) -> Result<minijinja::Value, minijinja::Error> {
        let env = minijinja::Environment::new();
        let mut state = env.empty_state();
        template_function("localhost").call(&mut state, args)
    }

    #[test]
    fn the_template_function_gives_the_annotation_as_a_mapping() {
        let value = call(&["Grafana".into(), 3000.into()]).unwrap();
        assert_eq!(
            value.get_attr("link.argocd.argoproj.io/grafana").unwrap().as_str(),
            Some("Grafana|http://localhost:3000/")
        );
        let value = call(&["Prometheus targets".into(), 9090.into(), "/targets".into()]).unwrap();
        assert_eq!(
            value
                .get_attr("link.argocd.argoproj.io/prometheus-targets")
                .unwrap()
                .as_str(),
            Some("Prometheus targets|http://localhost:9090/targets")
        );
    }

    #[test]
    fn the_template_function_refuses_a_port_title_or_path_that_would_make_no_link() {
        for args in [
            vec!["Grafana".into(), 1234.into()],
            vec!["a|b".into(), 3000.into()],
            vec!["--".into(), 3000.into()],
            vec!["Grafana".into(), 3000.into(), "no-slash".into()],
            vec!["Grafana".into(), 3000.into(), "/a b".into()],
        ] {
            assert!(call(&args).is_err(), "{args:?}");
        }
    }
}
