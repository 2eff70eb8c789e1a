//! `gitgen status`: each lesson's git side (the stage it is enabled at, whether its
//! rendered files are fresh) beside its Argo CD Application, or the git side alone, and
//! why, when the cluster cannot be read.

use serde::Serialize;

use crate::Error;
use crate::cluster::{self, AppStatus, StatusRow};
use crate::workspace::Workspace;

/// The git side of `gitgen status`, read once; [`StatusBoard::read`] adds the cluster's
/// side each time it is asked (`--watch` asks every few seconds).
pub struct StatusBoard {
    environment: String,
    /// Where Argo CD's Applications live.
    argocd_namespace: String,
    /// One row per lesson, without its Application.
    rows: Vec<StatusRow>,
}

/// What `gitgen status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The environment.
    pub environment: String,
    /// Why the cluster's side is missing, when it is: the cluster could not be reached or
    /// its Applications not read.
    pub unreachable: Option<String>,
    /// One row per lesson of the catalog.
    pub lessons: Vec<StatusRow>,
}

impl Serialize for StatusReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The `-o json` shape: `cluster` says whether it answered, and if not, why.
        #[derive(Serialize)]
        struct Json<'a> {
            environment: &'a str,
            cluster: Cluster<'a>,
            lessons: &'a [StatusRow],
        }
        #[derive(Serialize)]
        struct Cluster<'a> {
            reachable: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
        }
        Json {
            environment: &self.environment,
            cluster: Cluster {
                reachable: self.unreachable.is_none(),
                error: self.unreachable.as_deref(),
            },
            lessons: &self.lessons,
        }
        .serialize(serializer)
    }
}

impl StatusBoard {
    /// Reads the git side: every lesson of the catalog, the stage the environment enables
    /// it at, and whether its rendered files are what render writes now.
    pub fn new(workspace: &Workspace) -> Result<Self, Error> {
        let fresh = workspace.freshness()?;
        let rows = workspace
            .catalog
            .lessons
            .keys()
            .map(|id| StatusRow {
                lesson: id.to_string(),
                enabled_stage: workspace.selection.lessons.get(id).map(|s| s.to_string()),
                rendered_fresh: fresh[id],
                app: None,
            })
            .collect();
        Ok(StatusBoard {
            environment: workspace.settings.env_name.to_string(),
            argocd_namespace: workspace.settings.config.argocd.namespace.clone(),
            rows,
        })
    }

    /// The board with each lesson's Application from the cluster `client` reaches; when
    /// there is no client (`Err`, why not) or the Applications cannot be read, the git
    /// side alone and why.
    pub async fn read(&self, client: Result<kube::Client, Error>) -> StatusReport {
        let applications = match client {
            Ok(client) => cluster::application_statuses(&client, &self.argocd_namespace)
                .await
                .map_err(Error::from),
            Err(err) => Err(err),
        };
        self.with(applications.map_err(|err| err.to_string()))
    }

    /// The git side alone, and `why` the cluster's is missing (it has not answered yet).
    pub fn without_cluster(&self, why: &str) -> StatusReport {
        self.with(Err(why.to_owned()))
    }

    /// The board with `applications`, each beside the lesson it is named after, or the
    /// git side alone and why there are none.
    fn with(&self, applications: Result<Vec<AppStatus>, String>) -> StatusReport {
        let (applications, unreachable) = match applications {
            Ok(applications) => (applications, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let lessons = self
            .rows
            .iter()
            .map(|row| StatusRow {
                app: applications.iter().find(|a| a.name == row.lesson).cloned(),
                ..row.clone()
            })
            .collect();
        StatusReport {
            environment: self.environment.clone(),
            unreachable,
            lessons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> StatusBoard {
        let row = |lesson: &str, stage: Option<&str>| StatusRow {
            lesson: lesson.into(),
            enabled_stage: stage.map(str::to_owned),
            rendered_fresh: true,
            app: None,
        };
        StatusBoard {
            environment: "kind".into(),
            argocd_namespace: "argocd".into(),
            rows: vec![row("alpha", Some("service")), row("beta", None)],
        }
    }

    fn application(name: &str) -> AppStatus {
        AppStatus {
            name: name.into(),
            labels: Default::default(),
            sync: "Synced".into(),
            health: "Healthy".into(),
            revision: None,
            message: None,
            problems: Vec::new(),
        }
    }

    #[test]
    fn each_lesson_gets_the_application_named_after_it() {
        let report = board().with(Ok(vec![application("alpha"), application("other")]));
        assert_eq!(report.unreachable, None);
        assert_eq!(report.lessons[0].app, Some(application("alpha")));
        assert_eq!(report.lessons[1].app, None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["cluster"], serde_json::json!({"reachable": true}));
    }

    #[test]
    fn an_unreachable_cluster_leaves_the_git_side_and_says_why() {
        let err = Error::Cluster(cluster::ClusterError::Unreachable {
            server: Some("https://127.0.0.1:6443".into()),
            cause: "connection refused".into(),
        });
        let report = board().with(Err(err.to_string()));
        assert!(report.lessons.iter().all(|row| row.app.is_none()));
        assert_eq!(report.lessons[0].enabled_stage.as_deref(), Some("service"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["cluster"]["reachable"], false);
        assert_eq!(
            json["cluster"]["error"],
            "the Kubernetes API server `https://127.0.0.1:6443` does not answer: connection refused"
        );
    }
}
