//! Argo CD Application status: reading it, following it until lessons converge, and the
//! `gitgen status` table.
//!
//! Applications are read as `DynamicObject`s of `argoproj.io/v1alpha1`, so gitgen does not
//! pin Argo CD's Go types; only the few status fields shown here are interpreted. Deciding
//! which lessons are enabled, and whether their rendered tree is fresh, is the caller's.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::{ClusterError, is_not_found};

/// One Argo CD Application as `gitgen status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppStatus {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub sync: String,
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
    pub health: String,
    /// The revision last synced, when there is one.
    pub revision: Option<String>,
    /// The most telling message: a failed operation's, a condition's, or the health's.
    pub message: Option<String>,
    /// Resources that are out of sync or not healthy.
    pub problems: Vec<ResourceProblem>,
}

impl AppStatus {
    /// Synced and Healthy.
    pub fn converged(&self) -> bool {
        self.sync == "Synced" && self.health == "Healthy"
    }
}

/// One entry of `.status.resources` that is out of sync or not healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceProblem {
    /// Its kind.
    pub kind: String,
    /// Its namespace, for namespaced resources.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Its sync status.
    pub sync: String,
    /// Its health status, when Argo CD assesses one.
    pub health: Option<String>,
    /// Argo CD's health message.
    pub message: Option<String>,
}

impl std::fmt::Display for ResourceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let object = match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        };
        let state = match &self.health {
            Some(health) if health != "Healthy" => health.as_str(),
            _ => self.sync.as_str(),
        };
        write!(f, "{object} {state}")?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

/// One line of `--wait`'s live view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppRow {
    /// The Application (lesson) name.
    pub name: String,
    /// Its sync status, or `Missing` before the Application exists.
    pub sync: String,
    /// Its health.
    pub health: String,
    /// Its message, if any.
    pub message: Option<String>,
    /// Synced and Healthy.
    pub converged: bool,
}

impl AppRow {
    fn of(name: &str, app: Option<&AppStatus>) -> Self {
        match app {
            Some(app) => Self {
                name: name.to_owned(),
                sync: app.sync.clone(),
                health: app.health.clone(),
                message: app.message.clone(),
                converged: app.converged(),
            },
            None => Self {
                name: name.to_owned(),
                sync: "Missing".into(),
                health: "Missing".into(),
                message: Some("no Application yet".into()),
                converged: false,
            },
        }
    }

    fn why(&self) -> String {
        let mut why = format!("{}, {}", self.sync, self.health);
        if let Some(message) = &self.message {
            why.push_str(": ");
            why.push_str(message);
        }
        why
    }
}

/// One row of `gitgen status`: the git side from the caller, the cluster side from
/// [`application_statuses`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    /// The lesson.
    pub lesson: String,
    /// The stage it is enabled at in this environment; `None` when it is not enabled.
    pub enabled_stage: Option<String>,
    /// Whether `generated/` matches what gitgen would render now.
    pub rendered_fresh: bool,
    /// Its Argo CD Application; `None` when the cluster is unreachable or it has none.
    pub app: Option<AppStatus>,
}

/// How Applications are addressed; a constant so status needs no discovery round trip.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    )
}

/// Reads an Application's status fields.
pub fn app_status(object: &DynamicObject) -> AppStatus {
    let status = &object.data["status"];
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let message = text(&status["operationState"]["message"])
        .filter(|_| matches!(status["operationState"]["phase"].as_str(), Some("Failed" | "Error")))
        .or_else(|| {
            status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find_map(|c| text(&c["message"])))
        })
        .or_else(|| text(&status["health"]["message"]));
    let problems = status["resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .filter(|r| {
                    r["status"].as_str().is_some_and(|s| s != "Synced")
                        || r["health"]["status"].as_str().is_some_and(|h| h != "Healthy")
                })
                .map(|r| ResourceProblem {
                    kind: r["kind"].as_str().unwrap_or_default().to_owned(),
                    namespace: text(&r["namespace"]),
                    name: r["name"].as_str().unwrap_or_default().to_owned(),
                    sync: text(&r["status"]).unwrap_or_else(|| "Unknown".into()),
                    health: text(&r["health"]["status"]),
                    message: text(&r["health"]["message"]),
                })
                .collect()
        })
        .unwrap_or_default();
    AppStatus {
        name: object.name_any(),
        labels: object.labels().clone(),
        sync: text(&status["sync"]["status"]).unwrap_or_else(|| "Unknown".into()),
        health: text(&status["health"]["status"]).unwrap_or_else(|| "Unknown".into()),
        revision: text(&status["sync"]["revision"]),
        message,
        problems,
    }
}

pub(crate) fn list_failed(source: kube::Error) -> ClusterError {
    if is_not_found(&source) {
        ClusterError::ArgoCdMissing
    } else if matches!(source, kube::Error::Service(_) | kube::Error::HyperError(_)) {
        ClusterError::unreachable(&source)
    } else {
        ClusterError::Api {
            doing: "listing Argo CD Applications".into(),
            source,
        }
    }
}

/// The Applications in `namespace`, sorted by name.
pub async fn application_statuses(client: &Client, namespace: &str) -> Result<Vec<AppStatus>, ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    let list = api.list(&ListParams::default()).await.map_err(list_failed)?;
    let mut statuses: Vec<AppStatus> = list.items.iter().map(app_status).collect();
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(statuses)
}

/// Follows the Applications in `namespace` and calls `on_update` with one row per
/// `expected` name whenever one changes. Returns when all are Synced and Healthy, or
/// [`ClusterError::NotConverged`] after `timeout`, naming each lesson that was not and why.
pub async fn watch_applications(
    client: &Client,
    namespace: &str,
    expected: &[String],
    timeout: Duration,
    on_update: &mut dyn FnMut(&[AppRow]),
) -> Result<(), ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    // One plain list first, so a missing CRD is an error now rather than a retry loop.
    api.list(&ListParams::default().limit(1)).await.map_err(list_failed)?;

    let mut seen: BTreeMap<String, AppStatus> = BTreeMap::new();
    let rows = |seen: &BTreeMap<String, AppStatus>| -> Vec<AppRow> {
        expected.iter().map(|name| AppRow::of(name, seen.get(name))).collect()
    };
    let mut last_rows = rows(&seen);
    on_update(&last_rows);
    if expected.is_empty() {
        return Ok(());
    }
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
    let followed = tokio::time::timeout(timeout, async {
        // Watch errors are retried by the backoff; only the deadline ends the wait.
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(app) | watcher::Event::InitApply(app)) => {
                    seen.insert(app.name_any(), app_status(&app));
                }
                Ok(watcher::Event::Delete(app)) => {
                    seen.remove(&app.name_any());
                }
                Ok(watcher::Event::Init) => seen.clear(),
                Ok(watcher::Event::InitDone) | Err(_) => continue,
            }
            let current = rows(&seen);
            if current != last_rows {
                on_update(&current);
                last_rows = current;
            }
            if last_rows.iter().all(|row| row.converged) {
                return;
            }
        }
    })
    .await;
    match followed {
        Ok(()) => Ok(()),
        Err(_) => Err(ClusterError::NotConverged {
            lessons: last_rows
                .iter()
                .filter(|row| !row.converged)
                .map(|row| (row.name.clone(), row.why()))
                .collect(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application(name: &str, status: Value) -> DynamicObject {
        crate::apply::to_object(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd", "labels": {"gitgen.dev/lesson": name}},
            "status": status,
        }))
        .unwrap()
    }

    fn degraded() -> AppStatus {
        app_status(&application(
            "ingress",
            serde_json::json!({
                "sync": {"status": "OutOfSync", "revision": "0123456789abcdef"},
                "health": {"status": "Degraded", "message": "Deployment has not progressed"},
                "resources": [
                    {"kind": "Service", "namespace": "web", "name": "front", "status": "Synced", "health": {"status": "Healthy"}},
                    {"kind": "Deployment", "namespace": "web", "name": "front", "status": "Synced",
                     "health": {"status": "Degraded", "message": "exceeded its progress deadline"}},
                    {"kind": "ConfigMap", "namespace": "web", "name": "settings", "status": "OutOfSync"},
                ],
            }),
        ))
    }

    fn healthy(name: &str) -> AppStatus {
        app_status(&application(
            name,
            serde_json::json!({
                "sync": {"status": "Synced", "revision": "fedcba9876543210"}, "health": {"status": "Healthy"},
            }),
        ))
    }

    #[test]
    fn reads_sync_health_revision_and_problem_resources() {
        let app = degraded();
        assert_eq!((app.sync.as_str(), app.health.as_str()), ("OutOfSync", "Degraded"));
        assert_eq!(app.revision.as_deref(), Some("0123456789abcdef"));
        assert_eq!(app.labels["gitgen.dev/lesson"], "ingress");
        assert_eq!(app.message.as_deref(), Some("Deployment has not progressed"));
        let problems: Vec<String> = app.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "Deployment web/front Degraded (exceeded its progress deadline)",
                "ConfigMap web/settings OutOfSync"
            ]
        );
    }

    #[test]
    fn an_application_without_status_is_unknown() {
        let app = app_status(&application("new", Value::Null));
        assert_eq!(
            (app.sync.as_str(), app.health.as_str(), app.converged()),
            ("Unknown", "Unknown", false)
        );
    }

    #[test]
    fn status_rows_serialize_for_json_output() {
        let row = StatusRow {
            lesson: "basics".into(),
            enabled_stage: None,
            rendered_fresh: true,
            app: Some(healthy("basics")),
        };
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["app"]["sync"], "Synced");
        assert_eq!(json["enabled_stage"], Value::Null);
    }

    #[test]
    fn a_row_explains_why_it_has_not_converged() {
        assert_eq!(
            AppRow::of("ingress", Some(&degraded())).why(),
            "OutOfSync, Degraded: Deployment has not progressed"
        );
        assert_eq!(AppRow::of("later", None).why(), "Missing, Missing: no Application yet");
    }
}
