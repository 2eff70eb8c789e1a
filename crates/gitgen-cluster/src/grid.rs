//! `gitgen status` of a classroom environment: the class at a glance, one row per learner
//! and one column per enabled lesson, each cell the sync and health of that learner's
//! Applications of that lesson.
//!
//! The grid is built from labels alone: every Application a classroom ApplicationSet
//! generates carries `gitgen.io/environment`, `gitgen.io/learner`, `gitgen.io/lesson` and
//! `gitgen.io/stage` (and a chart's `gitgen.io/chart`), and each learner has a cluster
//! Secret (see [`super::classroom`]), so a learner whose Applications do not exist yet
//! still has a row. A stage hold naming a stage its lesson does not have (set by hand with
//! `kubectl label`) makes its cell an error: Argo CD would look for an overlay that does not
//! exist. Which lessons are enabled is the caller's.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;

use super::ClusterError;
use super::classroom::{Classroom, Learner, learners};
use super::status::{AppStatus, app_status, application_resource, list_failed};
use gitgen_catalog::labels::{CHART_LABEL, ENVIRONMENT_LABEL, LEARNER_LABEL, LESSON_LABEL, STAGE_LABEL};
use gitgen_settings::CommandLine;

/// One enabled lesson: a column of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridLesson {
    /// The lesson.
    pub lesson: String,
    /// The stage the toggle file enables.
    pub stage: String,
    /// Every stage of the lesson, which a stage hold must name.
    #[serde(skip)]
    pub stages: Vec<String>,
}

/// One learner's Applications of one lesson.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The worst sync status of the Applications: `Synced`, `OutOfSync`, `Unknown`, or
    /// `Missing` when there is none.
    pub sync: String,
    /// The worst health, in gitops-engine's order (`Healthy`, `Suspended`,
    /// `Progressing`, `Missing`, `Degraded`, `Unknown`), or `Missing` when there is none.
    pub health: String,
    /// The stage the lesson's Application renders (`gitgen.io/stage`), when it exists.
    pub stage: Option<String>,
    /// The Applications, by name.
    pub applications: Vec<String>,
    /// The worst Application's message, when it has one and is not Synced and Healthy.
    pub message: Option<String>,
    /// The stage the learner is held at when the lesson has no such stage: Argo CD cannot
    /// build what it generates for the learner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_hold: Option<String>,
}

/// One learner: a row of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridRow {
    /// The learner.
    pub learner: String,
    /// Whether the learner has a cluster Secret (Applications of a removed learner stay
    /// until Argo CD deletes them).
    pub registered: bool,
    /// The learner cluster's API server, when registered.
    pub server: Option<String>,
    /// The stages the learner is held at, by lesson.
    pub stage_holds: BTreeMap<String, String>,
    /// One cell per enabled lesson, by lesson.
    pub cells: BTreeMap<String, Cell>,
}

/// The whole class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassGrid {
    /// The enabled lessons, in order.
    pub lessons: Vec<GridLesson>,
    /// The learners, sorted by name.
    pub learners: Vec<GridRow>,
}

/// The Applications of environment `environment` in `namespace`, by label.
pub async fn environment_applications(
    client: &Client,
    namespace: &str,
    environment: &str,
) -> Result<Vec<AppStatus>, ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    let params = ListParams::default().labels(&format!("{ENVIRONMENT_LABEL}={environment}"));
    let list = api.list(&params).await.map_err(list_failed)?;
    Ok(list.items.iter().map(app_status).collect())
}

/// gitops-engine's health order, best first (`pkg/health/health.go`, `healthOrder`): an
/// unknown value counts as `Unknown`, the worst.
fn health_rank(health: &str) -> usize {
    ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
        .iter()
        .position(|h| *h == health)
        .unwrap_or(5)
}

/// Synced is best, then OutOfSync; Unknown (Argo CD could not compare) is worst.
fn sync_rank(sync: &str) -> usize {
    ["Synced", "OutOfSync", "Unknown"]
        .iter()
        .position(|s| *s == sync)
        .unwrap_or(2)
}

fn cell(apps: &[&AppStatus]) -> Cell {
    let Some(worst) = apps
        .iter()
        .max_by_key(|app| (health_rank(&app.health), sync_rank(&app.sync)))
    else {
        return Cell {
            sync: "Missing".into(),
            health: "Missing".into(),
            stage: None,
            applications: Vec::new(),
            message: None,
            bad_hold: None,
        };
    };
    let sync = apps
        .iter()
        .map(|app| app.sync.as_str())
        .max_by_key(|sync| sync_rank(sync))
        .unwrap_or("Unknown");
    // The lesson's own Application says the stage; a chart's follows it.
    let stage = apps
        .iter()
        .filter(|app| !app.labels.contains_key(CHART_LABEL))
        .chain(apps.iter())
        .find_map(|app| app.labels.get(STAGE_LABEL).cloned());
    let mut applications: Vec<String> = apps.iter().map(|app| app.name.clone()).collect();
    applications.sort();
    Cell {
        sync: sync.to_owned(),
        health: worst.health.clone(),
        stage,
        applications,
        message: worst.message.clone().filter(|_| !worst.converged()),
        bad_hold: None,
    }
}

/// Builds the grid: a row per learner that has a cluster Secret or an Application, a
/// cell per enabled lesson. Applications of lessons that are not enabled (Argo CD is
/// pruning them) are left out.
pub fn class_grid(lessons: Vec<GridLesson>, learners: &[Learner], apps: &[AppStatus]) -> ClassGrid {
    let mut rows: BTreeMap<String, GridRow> = learners
        .iter()
        .map(|learner| {
            let row = GridRow {
                learner: learner.name.clone(),
                registered: true,
                server: Some(learner.server.clone()),
                stage_holds: learner.stage_holds.clone(),
                cells: BTreeMap::new(),
            };
            (learner.name.clone(), row)
        })
        .collect();
    for app in apps {
        if let Some(learner) = app.labels.get(LEARNER_LABEL) {
            rows.entry(learner.clone()).or_insert_with(|| GridRow {
                learner: learner.clone(),
                registered: false,
                server: None,
                stage_holds: BTreeMap::new(),
                cells: BTreeMap::new(),
            });
        }
    }
    for row in rows.values_mut() {
        for lesson in &lessons {
            let of_lesson: Vec<&AppStatus> = apps
                .iter()
                .filter(|app| app.labels.get(LEARNER_LABEL) == Some(&row.learner))
                .filter(|app| app.labels.get(LESSON_LABEL) == Some(&lesson.lesson))
                .collect();
            let mut cell = cell(&of_lesson);
            cell.bad_hold = row
                .stage_holds
                .get(&lesson.lesson)
                .filter(|held| !lesson.stages.contains(held))
                .cloned();
            row.cells.insert(lesson.lesson.clone(), cell);
        }
    }
    ClassGrid {
        lessons,
        learners: rows.into_values().collect(),
    }
}

/// A cell as the grid shows it: `sync/health`, `-` when the learner has no Application of
/// the lesson, `@stage` when it runs another stage than the toggle file's (a stage hold,
/// or a move not yet synced), `error @stage` for a stage hold the lesson has no stage for.
pub fn cell_text(cell: &Cell, lesson: &GridLesson) -> String {
    if let Some(held) = &cell.bad_hold {
        return format!("error @{held}");
    }
    if cell.applications.is_empty() {
        return "-".into();
    }
    let mut text = format!("{}/{}", cell.sync, cell.health);
    if let Some(stage) = cell.stage.as_ref().filter(|s| **s != lesson.stage) {
        text.push_str(&format!(" @{stage}"));
    }
    text
}

impl ClassGrid {
    /// How many learners, lessons and cells, and how many of the cells are Synced and
    /// Healthy.
    pub fn summary(&self) -> String {
        let converged = self
            .learners
            .iter()
            .flat_map(|row| row.cells.values())
            .filter(|cell| cell.bad_hold.is_none() && cell.sync == "Synced" && cell.health == "Healthy")
            .count();
        format!(
            "{} learner(s) x {} lesson(s): {converged} of {} cell(s) Synced and Healthy",
            self.learners.len(),
            self.lessons.len(),
            self.learners.len() * self.lessons.len()
        )
    }
}

/// A stage hold that names no stage of its lesson: what to say, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHold {
    /// The classroom environment.
    pub environment: String,
    /// The learner.
    pub learner: String,
    /// The lesson.
    pub lesson: String,
    /// The stage it names.
    pub stage: String,
    /// The lesson's stages.
    pub stages: Vec<String>,
}

impl BadHold {
    /// The error line.
    pub fn message(&self) -> String {
        format!(
            "learner `{}` is held at stage `{}` of lesson `{}` (label `{}{}`), which has no such stage: Argo CD cannot build its Application",
            self.learner,
            self.stage,
            self.lesson,
            gitgen_catalog::labels::STAGE_HOLD_PREFIX,
            self.lesson
        )
    }

    /// What to do about it, as commands of `commands`' classroom.
    pub fn hint(&self, commands: &CommandLine) -> String {
        let (learner, lesson) = (&self.learner, &self.lesson);
        format!(
            "hold the learner at one of {} with `{}`, or release the hold with `{}`",
            self.stages.join(", "),
            commands.gitgen(&format!("classroom hold {learner} {lesson} STAGE")),
            commands.gitgen(&format!("classroom release {learner} {lesson}")),
        )
    }
}

impl ClassStatus {
    /// Every stage hold of the grid that names no stage of its lesson.
    pub fn bad_holds(&self) -> Vec<BadHold> {
        let mut found = Vec::new();
        for row in &self.grid.learners {
            for lesson in &self.grid.lessons {
                if let Some(stage) = row.cells.get(&lesson.lesson).and_then(|c| c.bad_hold.clone()) {
                    found.push(BadHold {
                        environment: self.environment.clone(),
                        learner: row.learner.clone(),
                        lesson: lesson.lesson.clone(),
                        stage,
                        stages: lesson.stages.clone(),
                    });
                }
            }
        }
        found
    }
}

/// A classroom's `status`: the grid as the management cluster shows it, and why it is
/// incomplete when the cluster could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStatus {
    /// The environment.
    pub environment: String,
    /// Always true: tells a classroom's JSON from a single-cluster environment's.
    pub classroom: bool,
    /// Whether the management cluster answered.
    pub cluster: Reachability,
    /// The lessons and learners.
    #[serde(flatten)]
    pub grid: ClassGrid,
}

/// Whether the management cluster answered, and if not, why.
#[derive(Debug, Clone, Serialize)]
pub struct Reachability {
    /// Whether it answered.
    pub reachable: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClassStatus {
    /// The status when the management cluster cannot be reached at all: every enabled
    /// lesson, no learner.
    pub fn unreachable(classroom: &Classroom, lessons: Vec<GridLesson>, error: String) -> Self {
        Self::of(classroom, class_grid(lessons, &[], &[]), Some(error))
    }

    /// The status of `grid`, read from `classroom`'s management cluster; `error` says why
    /// it is incomplete, when it is.
    pub fn of(classroom: &Classroom, grid: ClassGrid, error: Option<String>) -> Self {
        ClassStatus {
            environment: classroom.environment.clone(),
            classroom: true,
            cluster: Reachability {
                reachable: error.is_none(),
                error,
            },
            grid,
        }
    }
}

/// Reads the classroom's learners (their cluster Secrets, which exist before Argo CD is
/// installed) and Applications, and builds the grid of what could be read.
pub async fn class_status(client: &Client, classroom: &Classroom, lessons: Vec<GridLesson>) -> ClassStatus {
    let learners = learners(client, classroom).await;
    let apps = environment_applications(client, &classroom.argocd_namespace, &classroom.environment).await;
    let error = match (&learners, &apps) {
        (Err(error), _) => Some(error.to_string()),
        (Ok(_), Err(error)) => Some(error.to_string()),
        _ => None,
    };
    let grid = class_grid(lessons, &learners.unwrap_or_default(), &apps.unwrap_or_default());
    ClassStatus::of(classroom, grid, error)
}

/// Builders the tests of other crates share (the page model's): compiled for this crate's
/// tests and, through the `test-support` feature, for the tests of the crates above it.
#[cfg(any(test, feature = "test-support"))]
pub mod test_support {
    use super::AppStatus;

    /// An Application's status as `status` reads it; the page model's tests share it.
    pub fn app(name: &str, labels: &[(&str, &str)], sync: &str, health: &str) -> AppStatus {
        AppStatus {
            name: name.into(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            sync: sync.into(),
            health: health.into(),
            revision: None,
            message: (health != "Healthy").then(|| format!("{name} is {health}")),
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::app;
    use super::*;

    fn learner(name: &str, holds: &[(&str, &str)]) -> Learner {
        Learner {
            name: name.into(),
            cluster_name: format!("classroom-{name}"),
            server: format!("https://{name}.example:6443"),
            labels: BTreeMap::new(),
            stage_holds: holds.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    fn lessons() -> Vec<GridLesson> {
        ["keda", "storage"]
            .map(|lesson| GridLesson {
                lesson: lesson.into(),
                stage: "done".into(),
                stages: ["operator", "done"].map(String::from).to_vec(),
            })
            .to_vec()
    }

    fn class() -> ClassGrid {
        let labels = |learner, lesson, stage| {
            vec![
                (LEARNER_LABEL, learner),
                (LESSON_LABEL, lesson),
                (STAGE_LABEL, stage),
                (ENVIRONMENT_LABEL, "classroom"),
            ]
        };
        let mut chart = labels("alice", "keda", "done");
        chart.push((CHART_LABEL, "keda"));
        let apps = vec![
            app(
                "classroom-alice-keda",
                &labels("alice", "keda", "done"),
                "Synced",
                "Healthy",
            ),
            app("classroom-alice-keda-chart", &chart, "OutOfSync", "Progressing"),
            app(
                "classroom-alice-storage",
                &labels("alice", "storage", "done"),
                "Synced",
                "Healthy",
            ),
            app(
                "classroom-bob-keda",
                &labels("bob", "keda", "operator"),
                "Synced",
                "Degraded",
            ),
            app(
                "classroom-carol-keda",
                &labels("carol", "keda", "done"),
                "Unknown",
                "Unknown",
            ),
            app(
                "classroom-alice-old",
                &labels("alice", "disabled-lesson", "x"),
                "Synced",
                "Healthy",
            ),
        ];
        let learners = [
            learner("alice", &[]),
            learner("bob", &[("keda", "operator")]),
            learner("dave", &[]),
        ];
        class_grid(lessons(), &learners, &apps)
    }

    #[test]
    fn a_cell_is_the_worst_of_the_lessons_and_its_charts_applications() {
        let grid = class();
        let alice = &grid.learners[0];
        let keda = &alice.cells["keda"];
        assert_eq!((keda.sync.as_str(), keda.health.as_str()), ("OutOfSync", "Progressing"));
        assert_eq!(
            keda.applications,
            ["classroom-alice-keda", "classroom-alice-keda-chart"]
        );
        assert_eq!(
            keda.message.as_deref(),
            Some("classroom-alice-keda-chart is Progressing")
        );
        assert_eq!(keda.stage.as_deref(), Some("done"));
        assert!(
            !alice.cells.contains_key("disabled-lesson"),
            "only enabled lessons are columns"
        );
    }

    #[test]
    fn degraded_is_worse_than_missing_and_unknown_worst_of_all() {
        let worst = |healths: &[&str]| {
            let apps: Vec<AppStatus> = healths.iter().map(|h| app("a", &[], "Synced", h)).collect();
            cell(&apps.iter().collect::<Vec<_>>()).health
        };
        assert_eq!(worst(&["Healthy", "Suspended"]), "Suspended");
        assert_eq!(worst(&["Missing", "Degraded", "Progressing"]), "Degraded");
        assert_eq!(worst(&["Degraded", "Unknown"]), "Unknown");
    }

    #[test]
    fn learners_without_applications_and_removed_learners_have_rows() {
        let grid = class();
        let names: Vec<(&str, bool)> = grid
            .learners
            .iter()
            .map(|row| (row.learner.as_str(), row.registered))
            .collect();
        assert_eq!(
            names,
            [("alice", true), ("bob", true), ("carol", false), ("dave", true)]
        );
        let dave = &grid.learners[3];
        assert_eq!(dave.cells["keda"].sync, "Missing");
        assert!(dave.cells["storage"].applications.is_empty());
        assert_eq!(grid.learners[1].stage_holds["keda"], "operator");
    }

    #[tokio::test]
    async fn reads_only_the_environments_applications_by_label() {
        use super::super::apply::{apply_objects, parse_manifest};
        use super::super::fake::{self, Scenario};
        let (client, state) = fake::client(Scenario::Empty);
        let mut manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: applications.argoproj.io}\nspec: {group: argoproj.io, names: {kind: Application, plural: applications}, scope: Namespaced}\n".to_owned();
        for (name, env) in [("classroom-alice-keda", "classroom"), ("keda", "docker-desktop")] {
            manifest.push_str(&format!(
                "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd, labels: {{gitgen.io/environment: {env}, gitgen.io/learner: alice, gitgen.io/lesson: keda}}}}\nstatus: {{sync: {{status: Synced}}, health: {{status: Healthy}}}}\n"
            ));
        }
        let objects = parse_manifest(&manifest, "m").unwrap();
        apply_objects(
            &client,
            objects,
            "argocd",
            std::time::Duration::from_secs(5),
            &mut |_| {},
        )
        .await
        .unwrap();
        let apps = environment_applications(&client, "argocd", "classroom").await.unwrap();
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["classroom-alice-keda"]);
        assert!(
            state
                .lock()
                .unwrap()
                .log
                .iter()
                .any(|l| l.contains("/applications?") && l.contains("labelSelector=gitgen.io/environment=classroom")),
            "the filter is the API server's"
        );
    }

    #[test]
    fn a_stage_hold_of_a_stage_the_lesson_does_not_have_is_an_error_cell_with_a_hint() {
        let classroom = Classroom {
            environment: "classroom".into(),
            selector: BTreeMap::new(),
            argocd_namespace: "argocd".into(),
            commands: CommandLine::new(None, Some("classroom".into())),
        };
        let learners = [
            learner("alice", &[("keda", "nonexistent")]),
            learner("bob", &[("keda", "operator"), ("not-enabled", "whatever")]),
        ];
        let status = ClassStatus::of(&classroom, class_grid(lessons(), &learners, &[]), None);
        let alice = &status.grid.learners[0];
        assert_eq!(alice.cells["keda"].bad_hold.as_deref(), Some("nonexistent"));
        assert_eq!(alice.cells["storage"].bad_hold, None);
        assert_eq!(
            status.grid.learners[1].cells["keda"].bad_hold, None,
            "a hold at a stage the lesson has"
        );
        let bad = status.bad_holds();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(
            bad[0].message(),
            "learner `alice` is held at stage `nonexistent` of lesson `keda` (label `stage.gitgen.io/keda`), which has no such stage: Argo CD cannot build its Application"
        );
        assert_eq!(
            bad[0].hint(&classroom.commands),
            "hold the learner at one of operator, done with `gitgen --env classroom classroom hold alice keda STAGE`, or release the hold with `gitgen --env classroom classroom release alice keda`"
        );
        assert_eq!(
            cell_text(&alice.cells["keda"], &status.grid.lessons[0]),
            "error @nonexistent"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["learners"][0]["cells"]["keda"]["bad_hold"], "nonexistent");
        assert!(json["learners"][1]["cells"]["keda"].get("bad_hold").is_none());
        assert_eq!(json["cluster"], serde_json::json!({"reachable": true}));
    }

    #[test]
    fn the_grid_serializes_for_json_output() {
        let json = serde_json::to_value(class()).unwrap();
        assert_eq!(
            json["lessons"][0],
            serde_json::json!({"lesson": "keda", "stage": "done"})
        );
        let bob = &json["learners"][1];
        assert_eq!(bob["learner"], "bob");
        assert_eq!(bob["stage_holds"]["keda"], "operator");
        assert_eq!(bob["cells"]["keda"]["health"], "Degraded");
        assert_eq!(bob["cells"]["keda"]["stage"], "operator");
        assert_eq!(bob["cells"]["storage"]["sync"], "Missing");
    }
}
