//! The classroom's use cases: `gitgen classroom add|remove|list|hold|release` and the
//! columns of the classroom grid `gitgen status` shows.
//!
//! Each checks what was asked against the settings and the catalog before it talks to a
//! cluster (so a bad name, label or kubeconfig is refused without one), hands
//! [`crate::cluster::classroom`] plain data, and returns a typed outcome for the binary to
//! print: it never prints. A command prepares its use case, connects, and runs it.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use serde::Serialize;

use crate::Error;
use crate::catalog::classroom::LearnerName;
use crate::catalog::config::Target;
use crate::catalog::labels::STAGE_HOLD_PREFIX;
use crate::cluster::classroom::{self as secrets, Classroom, ClassroomError, Learner};
use crate::cluster::{Change, GridLesson, LearnerConnection};
use crate::names::{LessonId, StageName};
use crate::settings::Settings;
use crate::workspace::Workspace;

/// The classroom the settings' environment is, if it is one (`clusters:` in
/// `gitgen.yaml`).
pub fn of(settings: &Settings) -> Option<Classroom> {
    match settings.env().target() {
        Target::Classroom(selector) => Some(Classroom {
            environment: settings.env_name.to_string(),
            selector: selector.clone(),
            argocd_namespace: settings.config.argocd.namespace.clone(),
            commands: settings.command_line(),
        }),
        Target::Cluster(_) => None,
    }
}

/// The classroom the settings' environment is; an error when it deploys to one
/// `destination`.
pub fn require(settings: &Settings) -> Result<Classroom, Error> {
    of(settings).ok_or_else(|| {
        ClassroomError::NotAClassroom {
            environment: settings.env_name.to_string(),
        }
        .into()
    })
}

/// What `classroom add` asks for.
#[derive(Debug, Clone, Copy)]
pub struct AddRequest<'a> {
    /// The learner's name.
    pub name: &'a str,
    /// `--label KEY=VALUE`s, stage holds (`stage.gitgen.io/<lesson>=<stage>`) among them.
    pub labels: &'a [String],
    /// The learner's kubeconfig.
    pub kubeconfig: &'a Path,
    /// Its context to use (default: the current one).
    pub context: Option<&'a str>,
    /// The API server as Argo CD reaches it, when the kubeconfig's is not.
    pub server: Option<&'a str>,
}

/// A learner to register, checked: its name bounds every Application the classroom may
/// generate for it, its stage holds name lessons and stages of the catalog, and its
/// kubeconfig gives Argo CD credentials it can use.
#[derive(Debug)]
pub struct Add {
    /// The classroom.
    pub classroom: Classroom,
    /// The learner.
    pub learner: LearnerName,
    /// How Argo CD reaches the learner's cluster.
    pub connection: LearnerConnection,
    secret: Secret,
}

/// What `classroom add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Whether the cluster Secret was created, changed or left as it was.
    pub change: Change,
    /// What keeps Argo CD from reaching or deploying to the learner's cluster yet.
    pub cautions: Vec<Caution>,
}

/// What a classroom command that succeeded still wants the user to know: a `warning:` or
/// `note:` line, and a `hint:` of what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caution {
    /// The learner's API server is a loopback address, which an Argo CD running in the
    /// management cluster reaches as itself.
    LoopbackServer {
        /// The server.
        server: String,
        /// The learner.
        learner: LearnerName,
    },
    /// The classroom's root Application is missing (`bootstrap` not run), so Argo CD
    /// deploys nothing to the learner yet.
    NoRootApplication {
        /// The classroom.
        classroom: Classroom,
        /// The learner.
        learner: LearnerName,
    },
    /// A stage hold of a lesson the classroom does not enable: it applies once the lesson is.
    LessonNotEnabled {
        /// The classroom.
        classroom: Classroom,
        /// The learner.
        learner: LearnerName,
        /// The lesson.
        lesson: LessonId,
    },
}

impl Caution {
    /// `warning` or `note`.
    pub fn level(&self) -> &'static str {
        match self {
            Self::LessonNotEnabled { .. } => "note",
            Self::LoopbackServer { .. } | Self::NoRootApplication { .. } => "warning",
        }
    }

    /// What is the matter.
    pub fn message(&self) -> String {
        match self {
            Self::LoopbackServer { server, learner } => format!(
                "`{server}` is a loopback address: an Argo CD running in the management cluster reaches itself there, not `{learner}`'s cluster."
            ),
            Self::NoRootApplication { classroom, learner } => format!(
                "classroom `{}` has no root Application in `{}`: Argo CD deploys nothing to `{learner}` yet.",
                classroom.environment, classroom.argocd_namespace
            ),
            Self::LessonNotEnabled {
                classroom,
                learner,
                lesson,
            } => format!(
                "`{lesson}` is not enabled in classroom `{}`, so Argo CD has no Application of it for `{learner}` yet.",
                classroom.environment
            ),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::LoopbackServer { .. } => {
                "pass `--learner-server URL` with an address the management cluster can reach".into()
            }
            Self::NoRootApplication { classroom, .. } => format!(
                "run `{}` against this management cluster",
                classroom.commands.gitgen("bootstrap")
            ),
            Self::LessonNotEnabled { classroom, lesson, .. } => format!(
                "run `{}`, then publish and merge: the hold applies from then on",
                classroom.commands.gitgen(&format!("enable {lesson}"))
            ),
        }
    }
}

impl Add {
    /// Checks `request` against the workspace's classroom and catalog.
    pub fn prepare(workspace: &Workspace, request: &AddRequest<'_>) -> Result<Self, Error> {
        let classroom = require(&workspace.settings)?;
        let learner = LearnerName::new_in(request.name, &classroom.environment, workspace.catalog.lessons.values())
            .map_err(ClassroomError::from)?;
        let mut labels = BTreeMap::new();
        for text in request.labels {
            let (key, value) = secrets::parse_label(text)?;
            if let Some(lesson) = key.strip_prefix(STAGE_HOLD_PREFIX) {
                workspace.stage(&workspace.lesson_id(lesson)?, Some(&value))?;
            }
            labels.insert(key, value);
        }
        let connection = LearnerConnection::from_kubeconfig(request.kubeconfig, request.context)
            .and_then(|connection| match request.server {
                Some(server) => connection.at(server),
                None => Ok(connection),
            })
            .map_err(ClassroomError::from)?;
        let secret = secrets::cluster_secret(&classroom, &learner, &labels, &connection)?;
        Ok(Self {
            classroom,
            learner,
            connection,
            secret,
        })
    }

    /// Registers the learner on the management cluster behind `client`.
    pub async fn run(&self, client: &Client) -> Result<Added, Error> {
        let change = secrets::add_learner(client, &self.secret, &self.connection).await?;
        let mut cautions = Vec::new();
        if self.connection.server_is_loopback() {
            cautions.push(Caution::LoopbackServer {
                server: self.connection.server.clone(),
                learner: self.learner.clone(),
            });
        }
        if !secrets::has_root_application(client, &self.classroom).await? {
            cautions.push(Caution::NoRootApplication {
                classroom: self.classroom.clone(),
                learner: self.learner.clone(),
            });
        }
        Ok(Added { change, cautions })
    }
}

/// A learner to remove from the classroom.
#[derive(Debug, Clone)]
pub struct Remove {
    /// The classroom.
    pub classroom: Classroom,
    /// The learner.
    pub learner: LearnerName,
}

impl Remove {
    /// Checks that the settings' environment is a classroom and `name` a learner's name.
    pub fn prepare(settings: &Settings, name: &str) -> Result<Self, Error> {
        Ok(Self {
            classroom: require(settings)?,
            learner: LearnerName::new(name).map_err(ClassroomError::from)?,
        })
    }

    /// Deletes the learner's cluster Secret on the management cluster behind `client`.
    pub async fn run(&self, client: &Client) -> Result<(), Error> {
        Ok(secrets::remove_learner(client, &self.classroom, &self.learner).await?)
    }
}

/// The classroom's registered learners, as `classroom list` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerList {
    /// The classroom's environment.
    pub environment: String,
    /// The learners, by name.
    pub learners: Vec<Learner>,
}

/// The learners of `classroom` on the management cluster behind `client`.
pub async fn list(client: &Client, classroom: &Classroom) -> Result<LearnerList, Error> {
    Ok(LearnerList {
        environment: classroom.environment.clone(),
        learners: secrets::learners(client, classroom).await?,
    })
}

/// A stage hold to set (`classroom hold`) or release (`classroom release`).
#[derive(Debug, Clone)]
pub struct StageHold {
    /// The classroom.
    pub classroom: Classroom,
    /// The learner.
    pub learner: LearnerName,
    /// The lesson.
    pub lesson: LessonId,
    /// The stage to hold the learner at; `None` releases the hold.
    pub stage: Option<StageName>,
    /// Whether the classroom enables the lesson: if not, no Application moves until it does.
    pub enabled: bool,
}

impl StageHold {
    /// Checks that learner `name` can be held at `stage` of `lesson` (`None`: released):
    /// the lesson and stage exist in the catalog.
    pub fn prepare(workspace: &Workspace, name: &str, lesson: &str, stage: Option<&str>) -> Result<Self, Error> {
        let classroom = require(&workspace.settings)?;
        let learner = LearnerName::new(name).map_err(ClassroomError::from)?;
        let lesson = workspace.lesson_id(lesson)?;
        let stage = match stage {
            Some(stage) => Some(workspace.stage(&lesson, Some(stage))?.name),
            None => None,
        };
        Ok(Self {
            classroom,
            enabled: workspace.selection.lessons.contains_key(&lesson),
            learner,
            lesson,
            stage,
        })
    }

    /// What the user should know once the hold is set: a lesson the classroom does not
    /// enable has no Application to move yet. A release of such a lesson needs nothing:
    /// there is no hold left to apply.
    pub fn caution(&self) -> Option<Caution> {
        (!self.enabled && self.stage.is_some()).then(|| Caution::LessonNotEnabled {
            classroom: self.classroom.clone(),
            learner: self.learner.clone(),
            lesson: self.lesson.clone(),
        })
    }

    /// Sets or releases the hold on the management cluster behind `client`.
    pub async fn run(&self, client: &Client) -> Result<(), Error> {
        Ok(secrets::set_stage_hold(
            client,
            &self.classroom,
            &self.learner,
            &self.lesson,
            self.stage.as_ref(),
        )
        .await?)
    }
}

/// The columns of the classroom grid: the lessons the workspace's toggle file enables, at
/// their stages.
pub fn grid_lessons(workspace: &Workspace) -> Vec<GridLesson> {
    workspace
        .selection
        .lessons
        .iter()
        .map(|(lesson, stage)| GridLesson {
            lesson: lesson.to_string(),
            stage: stage.name.to_string(),
            stages: workspace.catalog.lessons[lesson]
                .stage_names()
                .map(ToString::to_string)
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, Patch, PatchParams};

    use super::*;
    use crate::cluster::fake::{self, Scenario};
    use crate::cluster::learner_connection::tests::kubeconfig;
    use crate::settings::CommandLine;

    fn classroom() -> Classroom {
        Classroom {
            environment: "spring".into(),
            selector: [("gitgen.io/classroom".to_owned(), "spring".to_owned())].into(),
            argocd_namespace: "argocd".into(),
            commands: CommandLine::default(),
        }
    }

    fn said(cautions: &[Caution]) -> Vec<String> {
        cautions
            .iter()
            .map(|c| format!("{}: {}\nhint: {}", c.level(), c.message(), c.hint()))
            .collect()
    }

    #[tokio::test]
    async fn adding_a_learner_at_a_loopback_address_to_a_classroom_without_its_root_warns_of_both() {
        let (client, _state) = fake::client(Scenario::Empty);
        let namespace: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "argocd"}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .patch("argocd", &PatchParams::apply("test"), &Patch::Apply(&namespace))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let add = |server: &str| {
            let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None)
                .unwrap()
                .at(server)
                .unwrap();
            let learner = LearnerName::new("alice").unwrap();
            let secret = secrets::cluster_secret(&classroom(), &learner, &BTreeMap::new(), &connection).unwrap();
            Add {
                classroom: classroom(),
                learner,
                connection,
                secret,
            }
        };
        let added = add("https://127.0.0.1:6443").run(&client).await.unwrap();
        assert_eq!(added.change, Change::Created);
        assert_eq!(
            said(&added.cautions),
            [
                "warning: `https://127.0.0.1:6443` is a loopback address: an Argo CD running in the management cluster reaches itself there, not `alice`'s cluster.\n\
                 hint: pass `--learner-server URL` with an address the management cluster can reach",
                "warning: classroom `spring` has no root Application in `argocd`: Argo CD deploys nothing to `alice` yet.\n\
                 hint: run `gitgen bootstrap` against this management cluster",
            ]
        );
        let added = add("https://10.0.0.12:6443").run(&client).await.unwrap();
        assert_eq!(added.change, Change::Configured);
        assert_eq!(said(&added.cautions).len(), 1, "{:?}", added.cautions);
    }

    #[test]
    fn a_hold_of_a_lesson_the_classroom_does_not_enable_notes_that_it_waits_for_the_lesson() {
        let hold = |enabled| StageHold {
            classroom: classroom(),
            learner: LearnerName::new("alice").unwrap(),
            lesson: LessonId::new("keda").unwrap(),
            stage: Some(StageName::new("operator").unwrap()),
            enabled,
        };
        assert_eq!(hold(true).caution(), None);
        let release = StageHold {
            stage: None,
            ..hold(false)
        };
        assert_eq!(release.caution(), None, "a release leaves no hold to apply");
        assert_eq!(
            said(&hold(false).caution().into_iter().collect::<Vec<_>>()),
            [
                "note: `keda` is not enabled in classroom `spring`, so Argo CD has no Application of it for `alice` yet.\n\
              hint: run `gitgen enable keda`, then publish and merge: the hold applies from then on"
            ]
        );
    }
}
