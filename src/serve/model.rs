//! What the pages show, as plain data: the course ([`CourseView`]), one walkthrough
//! ([`WalkthroughView`]) and the live state ([`LiveView`]), which is also the JSON the page
//! polls. Built from the workspace and from what `gitgen status` reads
//! ([`crate::deploy::StatusBoard`], [`crate::cluster::grid`]); nothing here formats HTML but
//! the walkthrough, which [`super::markdown`] does.

use serde::Serialize;

use crate::Error;
use crate::catalog::LoadedLesson;
use crate::cluster::grid::{self, ClassStatus, GridLesson};
use crate::cluster::{AppStatus, Classroom, StatusRow};
use crate::deploy::{StatusBoard, StatusReport};
use crate::render::overlays::walkthrough_text;
use crate::settings::CommandLine;
use crate::workspace::Workspace;

/// The URLs the pages link to: gitgen's own routes and Argo CD's UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// Argo CD's UI, without a trailing slash.
    pub argocd_url: String,
    /// The namespace of the Applications.
    pub argocd_namespace: String,
}

impl Links {
    /// An Application in Argo CD's UI: `/applications/<namespace>/<name>`, the UI's route
    /// `${path}/:appnamespace/:name` (argo-cd
    /// `ui/src/app/applications/components/applications-container.tsx`).
    pub fn application(&self, name: &str) -> String {
        format!("{}/applications/{}/{name}", self.argocd_url, self.argocd_namespace)
    }

    /// A lesson's walkthrough at `stage`, or at the stage the page picks when `None`.
    pub fn walkthrough(lesson: &str, stage: Option<&str>) -> String {
        match stage {
            Some(stage) => format!("/lessons/{lesson}/{stage}"),
            None => format!("/lessons/{lesson}"),
        }
    }
}

/// The course: every lesson, by section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourseView {
    /// The environment.
    pub environment: String,
    /// Whether it is a classroom (its live state is a grid of learners).
    pub classroom: bool,
    /// The sections, in the order their first lesson comes in.
    pub sections: Vec<SectionView>,
}

/// One section of the course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionView {
    /// Its name.
    pub name: String,
    /// Its lessons.
    pub lessons: Vec<LessonView>,
}

/// One lesson as the course lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LessonView {
    /// Its name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// Its walkthrough, at the stage the environment enables (else its last).
    pub href: String,
    /// The stage the environment enables it at; `None` when it is not enabled.
    pub enabled_stage: Option<String>,
    /// Its stages, in order.
    pub stages: Vec<StageView>,
    /// The lessons it requires.
    pub requires: Vec<String>,
    /// The lessons it conflicts with.
    pub conflicts: Vec<ConflictView>,
    /// Its Application in Argo CD's UI, when it is enabled in a single-cluster
    /// environment (a classroom's cells link their learner's).
    pub application: Option<String>,
}

/// One stage of a lesson.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageView {
    /// Its name.
    pub name: String,
    /// What it adds.
    pub description: String,
    /// Whether the environment enables the lesson at this stage.
    pub enabled: bool,
    /// Its walkthrough.
    pub href: String,
}

/// A lesson another conflicts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictView {
    /// The other lesson.
    pub lesson: String,
    /// Why.
    pub reason: String,
    /// Whether the conflict holds in this environment.
    pub here: bool,
}

impl CourseView {
    /// The course of `workspace`'s catalog, as its environment enables it.
    pub fn of(workspace: &Workspace, links: &Links) -> Self {
        let classroom = crate::classroom::of(&workspace.settings).is_some();
        let mut sections: Vec<SectionView> = Vec::new();
        for loaded in workspace.catalog.lessons.values() {
            let lesson = lesson_view(workspace, links, loaded, classroom);
            let section = &loaded.lesson.section;
            match sections.iter_mut().find(|s| s.name == *section) {
                Some(found) => found.lessons.push(lesson),
                None => sections.push(SectionView {
                    name: section.clone(),
                    lessons: vec![lesson],
                }),
            }
        }
        CourseView {
            environment: workspace.settings.env_name.to_string(),
            classroom,
            sections,
        }
    }
}

fn lesson_view(workspace: &Workspace, links: &Links, loaded: &LoadedLesson, classroom: bool) -> LessonView {
    let id = loaded.id().as_str();
    let enabled_stage = workspace
        .selection
        .lessons
        .get(loaded.id())
        .map(|s| s.as_str().to_owned());
    let env = workspace.settings.env_name.as_str();
    LessonView {
        name: id.to_owned(),
        title: loaded.lesson.title.clone(),
        href: Links::walkthrough(id, None),
        stages: stage_views(loaded, enabled_stage.as_deref()),
        requires: loaded.lesson.requires.iter().map(|r| r.value.to_string()).collect(),
        conflicts: loaded
            .lesson
            .conflicts
            .iter()
            .map(|c| ConflictView {
                lesson: c.lesson.value.to_string(),
                reason: c.reason.clone(),
                here: c.environments.is_empty() || c.environments.iter().any(|e| e == env),
            })
            .collect(),
        application: enabled_stage
            .as_ref()
            .filter(|_| !classroom)
            .map(|_| links.application(id)),
        enabled_stage,
    }
}

fn stage_views(loaded: &LoadedLesson, enabled_stage: Option<&str>) -> Vec<StageView> {
    loaded
        .lesson
        .stages
        .iter()
        .map(|stage| StageView {
            name: stage.name.to_string(),
            description: stage.description.clone(),
            enabled: enabled_stage == Some(stage.name.as_str()),
            href: Links::walkthrough(loaded.id().as_str(), Some(stage.name.as_str())),
        })
        .collect()
}

/// One lesson's walkthrough, rendered for the environment at one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkthroughView {
    /// The environment.
    pub environment: String,
    /// The lesson.
    pub lesson: String,
    /// Its title.
    pub title: String,
    /// The stage shown.
    pub stage: String,
    /// Every stage of the lesson, each with its walkthrough.
    pub stages: Vec<StageView>,
    /// The stage the environment enables the lesson at, if any.
    pub enabled_stage: Option<String>,
    /// The walkthrough as HTML that is safe to include ([`super::markdown`]).
    pub html: String,
    /// The lesson's Application in Argo CD's UI, when enabled in a single-cluster
    /// environment.
    pub application: Option<String>,
}

impl WalkthroughView {
    /// `lesson`'s walkthrough at `stage` (default: the enabled stage, else the last, as
    /// `gitgen lesson` picks); `None` when the catalog has no such lesson or stage.
    pub fn of(workspace: &Workspace, links: &Links, lesson: &str, stage: Option<&str>) -> Result<Option<Self>, Error> {
        let Some(loaded) = workspace.catalog.lessons.values().find(|l| l.id().as_str() == lesson) else {
            return Ok(None);
        };
        let enabled_stage = workspace.selection.lessons.get(loaded.id()).map(|s| s.as_str());
        let index = match stage.or(enabled_stage) {
            Some(name) => match loaded.stage_index(name) {
                Some(index) => index,
                None => return Ok(None),
            },
            None => loaded.lesson.stages.len() - 1,
        };
        let text = walkthrough_text(&workspace.context(), loaded, index)?;
        let view = lesson_view(
            workspace,
            links,
            loaded,
            crate::classroom::of(&workspace.settings).is_some(),
        );
        Ok(Some(WalkthroughView {
            environment: workspace.settings.env_name.to_string(),
            lesson: view.name,
            title: view.title,
            stage: loaded.lesson.stages[index].name.to_string(),
            stages: view.stages,
            enabled_stage: view.enabled_stage,
            html: super::markdown::to_html(&text),
            application: view.application,
        }))
    }
}

/// Where the live state comes from: `gitgen status`'s board for one cluster, the class
/// grid for a classroom.
pub enum LiveSource {
    /// A single-cluster environment.
    Lessons(StatusBoard),
    /// A classroom: its learners and enabled lessons.
    Class {
        /// The classroom.
        classroom: Classroom,
        /// Its enabled lessons, the grid's columns.
        lessons: Vec<GridLesson>,
    },
}

/// What the cluster said, once.
#[derive(Debug, Clone)]
pub enum LiveState {
    /// A single-cluster environment's `status`.
    Lessons(StatusReport),
    /// A classroom's grid, and how its hints name commands.
    Class(ClassStatus, CommandLine),
}

impl LiveSource {
    /// The source of `workspace`'s environment.
    pub fn of(workspace: &Workspace) -> Result<Self, Error> {
        Ok(match crate::classroom::of(&workspace.settings) {
            Some(classroom) => LiveSource::Class {
                classroom,
                lessons: crate::classroom::grid_lessons(workspace),
            },
            None => LiveSource::Lessons(StatusBoard::new(workspace)?),
        })
    }

    /// Reads the cluster `client` reaches, as `gitgen status` does; the git side alone
    /// and why when there is no client (`Err`) or it cannot be read.
    pub async fn read(&self, client: Result<kube::Client, Error>) -> LiveState {
        match self {
            LiveSource::Lessons(board) => LiveState::Lessons(board.read(client).await),
            LiveSource::Class { classroom, lessons } => {
                let status = match client {
                    Ok(client) => grid::class_status(&client, classroom, lessons.clone()).await,
                    Err(error) => ClassStatus::unreachable(classroom, lessons.clone(), error.to_string()),
                };
                LiveState::Class(status, classroom.commands.clone())
            }
        }
    }

    /// The state when the cluster has not answered: the git side, and `why`.
    pub fn unanswered(&self, why: &str) -> LiveState {
        match self {
            LiveSource::Lessons(board) => LiveState::Lessons(board.without_cluster(why)),
            LiveSource::Class { classroom, lessons } => LiveState::Class(
                ClassStatus::unreachable(classroom, lessons.clone(), why.to_owned()),
                classroom.commands.clone(),
            ),
        }
    }
}

/// The live state as the page shows it, and as `/api/state` sends it for the page to
/// update in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveView {
    /// Why the cluster's side is missing, when it is.
    pub unreachable: Option<String>,
    /// One line: how many lessons (or cells) are Synced and Healthy.
    pub summary: String,
    /// The rows and columns, as one string: when it changes (a learner joins) the page
    /// reloads, as its cells are not the server's any more.
    pub layout: String,
    /// A single-cluster environment's enabled lessons, one cell each.
    pub lessons: Vec<LiveCell>,
    /// A classroom's grid.
    pub class: Option<ClassView>,
}

/// A classroom's grid of learners and lessons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassView {
    /// The enabled lessons, the columns.
    pub columns: Vec<ColumnView>,
    /// The learners, the rows.
    pub rows: Vec<LearnerView>,
    /// The stage holds that name no stage of their lesson, and what to do.
    pub bad_holds: Vec<BadHoldView>,
}

/// A column of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnView {
    /// The lesson.
    pub lesson: String,
    /// The stage the toggle file enables.
    pub stage: String,
    /// Its walkthrough at that stage.
    pub href: String,
}

/// A row of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LearnerView {
    /// The learner.
    pub learner: String,
    /// Whether the learner still has a cluster Secret.
    pub registered: bool,
    /// One cell per column.
    pub cells: Vec<LiveCell>,
}

/// A stage hold Argo CD cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadHoldView {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// One lesson's state (a learner's, in a classroom).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCell {
    /// The element id the page updates: `lesson:<lesson>`, or `cell:<learner>:<lesson>` in
    /// a classroom (names are DNS labels, so the colon tells them apart).
    pub id: String,
    /// The lesson.
    pub lesson: String,
    /// `Sync/Health`, with `@stage` when another stage runs than the toggle file's.
    pub text: String,
    /// `ok` (Synced and Healthy), `busy` (on its way), `bad`, or `none` (no Application).
    pub tone: &'static str,
    /// The Application's message, or what is wrong; the cell's tooltip.
    pub detail: Option<String>,
    /// The Application in Argo CD's UI.
    pub application: Option<String>,
}

/// `ok`, `busy` or `bad` for an Application's sync and health.
fn tone(sync: &str, health: &str) -> &'static str {
    match (sync, health) {
        ("Synced", "Healthy") => "ok",
        (_, "Healthy" | "Progressing" | "Suspended") if sync != "Unknown" => "busy",
        _ => "bad",
    }
}

impl LiveView {
    /// The view of `state`, with links from `links`.
    pub fn of(state: &LiveState, links: &Links) -> Self {
        match state {
            LiveState::Lessons(report) => Self::of_lessons(report, links),
            LiveState::Class(status, commands) => Self::of_class(status, commands, links),
        }
    }

    fn of_lessons(report: &StatusReport, links: &Links) -> Self {
        let enabled: Vec<&StatusRow> = report.lessons.iter().filter(|r| r.enabled_stage.is_some()).collect();
        let lessons: Vec<LiveCell> = enabled
            .iter()
            .map(|row| lesson_cell(row, report.unreachable.is_some(), links))
            .collect();
        let converged = enabled
            .iter()
            .filter(|r| r.app.as_ref().is_some_and(AppStatus::converged))
            .count();
        LiveView {
            unreachable: report.unreachable.clone(),
            summary: format!("{converged} of {} enabled lesson(s) Synced and Healthy", enabled.len()),
            layout: lessons.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(" "),
            lessons,
            class: None,
        }
    }

    fn of_class(status: &ClassStatus, commands: &CommandLine, links: &Links) -> Self {
        let grid = &status.grid;
        let rows: Vec<LearnerView> = grid
            .learners
            .iter()
            .map(|row| LearnerView {
                learner: row.learner.clone(),
                registered: row.registered,
                cells: grid
                    .lessons
                    .iter()
                    .map(|lesson| {
                        let cell = &row.cells[&lesson.lesson];
                        LiveCell {
                            id: format!("cell:{}:{}", row.learner, lesson.lesson),
                            lesson: lesson.lesson.clone(),
                            text: grid::cell_text(cell, lesson),
                            tone: match (&cell.bad_hold, cell.applications.is_empty()) {
                                (Some(_), _) => "bad",
                                (None, true) => "none",
                                (None, false) => tone(&cell.sync, &cell.health),
                            },
                            detail: match &cell.bad_hold {
                                Some(held) => Some(format!(
                                    "held at stage `{held}`, which `{}` does not have",
                                    lesson.lesson
                                )),
                                None => cell.message.clone(),
                            },
                            application: cell.applications.first().map(|app| links.application(app)),
                        }
                    })
                    .collect(),
            })
            .collect();
        let columns: Vec<ColumnView> = grid
            .lessons
            .iter()
            .map(|l| ColumnView {
                lesson: l.lesson.clone(),
                stage: l.stage.clone(),
                href: Links::walkthrough(&l.lesson, Some(&l.stage)),
            })
            .collect();
        let layout = format!(
            "{} | {}",
            columns.iter().map(|c| c.lesson.as_str()).collect::<Vec<_>>().join(" "),
            rows.iter()
                .map(|r| format!("{}{}", r.learner, if r.registered { "" } else { "(removed)" }))
                .collect::<Vec<_>>()
                .join(" ")
        );
        LiveView {
            unreachable: status.cluster.error.clone(),
            summary: grid.summary(),
            layout,
            lessons: Vec::new(),
            class: Some(ClassView {
                columns,
                rows,
                bad_holds: status
                    .bad_holds()
                    .iter()
                    .map(|bad| BadHoldView {
                        message: bad.message(),
                        hint: bad.hint(commands),
                    })
                    .collect(),
            }),
        }
    }
}

/// A single-cluster environment's cell of `row`, an enabled lesson.
fn lesson_cell(row: &StatusRow, unreachable: bool, links: &Links) -> LiveCell {
    let stale = (!row.rendered_fresh).then(|| "its rendered files are stale: run `gitgen render`".to_owned());
    let (text, tone, detail) = match &row.app {
        Some(app) => (
            format!("{}/{}", app.sync, app.health),
            tone(&app.sync, &app.health),
            app.message.clone().filter(|_| !app.converged()).or(stale),
        ),
        None if unreachable => ("?".to_owned(), "none", stale),
        None => (
            "no Application".to_owned(),
            "none",
            stale.or_else(|| Some("Argo CD has no Application of this lesson yet".to_owned())),
        ),
    };
    LiveCell {
        id: format!("lesson:{}", row.lesson),
        lesson: row.lesson.clone(),
        text,
        tone,
        detail,
        application: Some(links.application(&row.lesson)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::classroom::Learner;
    use crate::cluster::grid::test_support::app;
    use crate::settings::Settings;

    pub(crate) fn links() -> Links {
        Links {
            argocd_url: "https://argocd.example".into(),
            argocd_namespace: "argocd".into(),
        }
    }

    fn fixture() -> Workspace {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small");
        Workspace::open_read_only(Settings::resolve(Some(&repo), Some("docker-desktop")).unwrap()).unwrap()
    }

    #[test]
    fn the_course_lists_every_lesson_with_its_stages_and_marks_the_enabled_one() {
        let workspace = fixture();
        let course = CourseView::of(&workspace, &links());
        insta::assert_yaml_snapshot!(course);
    }

    #[test]
    fn a_walkthrough_defaults_to_the_enabled_stage_and_knows_no_other_lesson_or_stage() {
        let workspace = fixture();
        let enabled = workspace
            .selection
            .lessons
            .iter()
            .next()
            .map(|(id, s)| (id.to_string(), s.as_str().to_owned()));
        let (lesson, stage) = enabled.expect("the fixture enables a lesson");
        let view = WalkthroughView::of(&workspace, &links(), &lesson, None)
            .unwrap()
            .unwrap();
        assert_eq!(view.stage, stage);
        assert!(view.stages.iter().any(|s| s.enabled && s.name == stage));
        assert_eq!(
            view.application,
            Some(format!("https://argocd.example/applications/argocd/{lesson}"))
        );
        assert!(
            WalkthroughView::of(&workspace, &links(), "no-such-lesson", None)
                .unwrap()
                .is_none()
        );
        assert!(
            WalkthroughView::of(&workspace, &links(), &lesson, Some("no-such-stage"))
                .unwrap()
                .is_none()
        );
    }

    fn status_row(lesson: &str, stage: Option<&str>, app: Option<AppStatus>) -> StatusRow {
        StatusRow {
            lesson: lesson.into(),
            enabled_stage: stage.map(str::to_owned),
            rendered_fresh: true,
            app,
        }
    }

    #[test]
    fn single_cluster_cells_are_the_enabled_lessons_with_their_application_state() {
        let report = StatusReport {
            environment: "kind".into(),
            unreachable: None,
            lessons: vec![
                status_row("alpha", Some("one"), Some(app("alpha", &[], "Synced", "Healthy"))),
                status_row("beta", Some("two"), Some(app("beta", &[], "OutOfSync", "Progressing"))),
                status_row("gamma", Some("one"), None),
                status_row("delta", None, Some(app("delta", &[], "Synced", "Degraded"))),
            ],
        };
        let view = LiveView::of(&LiveState::Lessons(report), &links());
        insta::assert_yaml_snapshot!(view);
    }

    #[test]
    fn an_unreachable_cluster_leaves_the_git_side_and_says_why() {
        let report = StatusReport {
            environment: "kind".into(),
            unreachable: Some("connection refused".into()),
            lessons: vec![status_row("alpha", Some("one"), None)],
        };
        let view = LiveView::of(&LiveState::Lessons(report), &links());
        assert_eq!(view.unreachable.as_deref(), Some("connection refused"));
        assert_eq!((view.lessons[0].text.as_str(), view.lessons[0].tone), ("?", "none"));
    }

    /// A class of `learners` x `lessons`, every cell Progressing but the first learner's.
    pub(crate) fn class(learners: usize, lessons: usize) -> LiveState {
        let columns: Vec<GridLesson> = (0..lessons)
            .map(|i| GridLesson {
                lesson: format!("lesson-{i}"),
                stage: "done".into(),
                stages: vec!["start".into(), "done".into()],
            })
            .collect();
        let people: Vec<Learner> = (0..learners)
            .map(|i| Learner {
                name: format!("learner-{i}"),
                cluster_name: format!("classroom-learner-{i}"),
                server: format!("https://learner-{i}.example:6443"),
                labels: BTreeMap::new(),
                stage_holds: if i == 1 {
                    BTreeMap::from([("lesson-0".to_owned(), "nope".to_owned())])
                } else {
                    BTreeMap::new()
                },
            })
            .collect();
        let mut apps = Vec::new();
        for learner in &people {
            for lesson in &columns {
                let health = if learner.name == "learner-0" {
                    "Healthy"
                } else {
                    "Progressing"
                };
                let labels = [
                    (crate::catalog::labels::LEARNER_LABEL, learner.name.as_str()),
                    (crate::catalog::labels::LESSON_LABEL, lesson.lesson.as_str()),
                    (crate::catalog::labels::STAGE_LABEL, "done"),
                ];
                let name = format!("{}-classroom-{}", lesson.lesson, learner.name);
                apps.push(app(&name, &labels, "Synced", health));
            }
        }
        let classroom = Classroom {
            environment: "classroom".into(),
            selector: BTreeMap::new(),
            argocd_namespace: "argocd".into(),
            commands: CommandLine::new(None, Some("classroom".into())),
        };
        let status = ClassStatus::of(&classroom, grid::class_grid(columns, &people, &apps), None);
        LiveState::Class(status, classroom.commands)
    }

    #[test]
    fn a_classroom_is_a_grid_of_learners_by_lessons_with_bad_holds_and_their_fix() {
        let view = LiveView::of(&class(2, 2), &links());
        insta::assert_yaml_snapshot!(view);
    }
}
