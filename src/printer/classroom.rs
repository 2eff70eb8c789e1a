//! What `classroom list` prints: the learners as JSON or as a table.

use gitgen::catalog::labels::{ENVIRONMENT_LABEL, LEARNER_LABEL, SECRET_TYPE_LABEL, STAGE_HOLD_PREFIX};
use gitgen::classroom::{Caution, LearnerList};
use gitgen::cluster::grid::{self, ClassGrid};
use gitgen::cluster::{Classroom, Learner};

use super::aligned;
use crate::cli::OutputFormat;

/// Prints `list` on stdout in `output`'s format; an empty table says on stderr how to add
/// a learner.
pub fn print_learners(classroom: &Classroom, list: &LearnerList, output: OutputFormat) -> Result<(), gitgen::Error> {
    match output {
        OutputFormat::Json => print!("{}", super::json(list)?),
        OutputFormat::Table => {
            print!("{}", learner_table(classroom, &list.learners));
            if list.learners.is_empty() {
                let add = classroom
                    .commands
                    .gitgen("classroom add NAME --learner-kubeconfig FILE");
                eprintln!(
                    "No learner is registered in classroom `{}`; add one with `{add}`.",
                    list.environment
                );
            }
        }
    }
    Ok(())
}

/// A `warning:` or `note:` line on stderr, and the `hint:` line of what to do about it.
pub fn caution(caution: &Caution) {
    eprintln!("{}: {}\nhint: {}", caution.level(), caution.message(), caution.hint());
}

/// The learners as the `classroom list` table: name, Argo CD cluster, server, stage holds
/// and the labels that tell this learner apart (not those every learner of the classroom
/// carries).
fn learner_table(classroom: &Classroom, learners: &[Learner]) -> String {
    let shown = |key: &str| {
        !key.starts_with(STAGE_HOLD_PREFIX)
            && ![SECRET_TYPE_LABEL, ENVIRONMENT_LABEL, LEARNER_LABEL].contains(&key)
            && !classroom.selector.contains_key(key)
    };
    let join = |pairs: Vec<String>| {
        if pairs.is_empty() {
            "-".to_owned()
        } else {
            pairs.join(",")
        }
    };
    let mut table = vec![
        ["LEARNER", "CLUSTER", "SERVER", "STAGE HOLDS", "LABELS"]
            .map(String::from)
            .to_vec(),
    ];
    for learner in learners {
        table.push(vec![
            learner.name.clone(),
            learner.cluster_name.clone(),
            learner.server.clone(),
            join(learner.stage_holds.iter().map(|(l, s)| format!("{l}={s}")).collect()),
            join(
                learner
                    .labels
                    .iter()
                    .filter(|(k, _)| shown(k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
        ]);
    }
    aligned(&table)
}

/// `gitgen status` of a classroom: the grid as a table, each cell as [`cell_text`] writes it, then a summary line.
pub fn class_grid(grid: &ClassGrid) -> String {
    let mut header = vec!["LEARNER".to_owned()];
    header.extend(grid.lessons.iter().map(|l| l.lesson.clone()));
    let mut table = vec![header];
    for row in &grid.learners {
        let mut line = vec![if row.registered {
            row.learner.clone()
        } else {
            format!("{} (removed)", row.learner)
        }];
        for lesson in &grid.lessons {
            line.push(grid::cell_text(&row.cells[&lesson.lesson], lesson));
        }
        table.push(line);
    }
    let mut out = aligned(&table);
    out.push_str(&grid.summary());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_table_shows_each_learners_stage_holds_and_only_the_labels_that_tell_it_apart() {
        let classroom = Classroom {
            environment: "spring".into(),
            selector: BTreeMap::from([("gitgen.io/classroom".into(), "spring".into())]),
            argocd_namespace: "argocd".into(),
            commands: Default::default(),
        };
        let learner = |name: &str, holds: &[(&str, &str)], team: Option<&str>| {
            let mut labels: BTreeMap<String, String> = [
                (SECRET_TYPE_LABEL, "cluster"),
                ("gitgen.io/classroom", "spring"),
                (ENVIRONMENT_LABEL, "spring"),
                (LEARNER_LABEL, name),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            labels.extend(
                holds
                    .iter()
                    .map(|(l, s)| (format!("{STAGE_HOLD_PREFIX}{l}"), (*s).to_owned())),
            );
            labels.extend(team.map(|t| ("team".to_owned(), t.to_owned())));
            Learner {
                name: name.into(),
                cluster_name: format!("spring-{name}"),
                server: format!("https://{name}.example:6443"),
                stage_holds: holds.iter().map(|(l, s)| ((*l).to_owned(), (*s).to_owned())).collect(),
                labels,
            }
        };
        let table = learner_table(
            &classroom,
            &[
                learner("alice", &[("keda", "operator")], Some("a")),
                learner("bob", &[], None),
            ],
        );
        assert_eq!(
            table,
            "LEARNER  CLUSTER       SERVER                      STAGE HOLDS    LABELS\n\
             alice    spring-alice  https://alice.example:6443  keda=operator  team=a\n\
             bob      spring-bob    https://bob.example:6443    -              -\n"
        );
    }

    #[test]
    fn the_class_grid_shows_each_cell_a_removed_learner_and_the_summary() {
        use gitgen::cluster::grid::{Cell, GridLesson, GridRow};
        let cell = |sync: &str, health: &str, stage: Option<&str>| Cell {
            sync: sync.into(),
            health: health.into(),
            stage: stage.map(String::from),
            applications: vec!["app".into()],
            message: None,
            bad_hold: None,
        };
        let empty = Cell {
            applications: Vec::new(),
            ..cell("Missing", "Missing", None)
        };
        let row = |learner: &str, registered, cells: [Cell; 2]| GridRow {
            learner: learner.into(),
            registered,
            server: None,
            stage_holds: BTreeMap::new(),
            cells: ["keda", "storage"].map(String::from).into_iter().zip(cells).collect(),
        };
        let grid = ClassGrid {
            lessons: ["keda", "storage"]
                .map(|lesson| GridLesson {
                    lesson: lesson.into(),
                    stage: "done".into(),
                    stages: ["operator", "done"].map(String::from).to_vec(),
                })
                .to_vec(),
            learners: vec![
                row(
                    "alice",
                    true,
                    [
                        cell("OutOfSync", "Progressing", Some("done")),
                        cell("Synced", "Healthy", Some("done")),
                    ],
                ),
                row(
                    "bob",
                    true,
                    [cell("Synced", "Degraded", Some("operator")), empty.clone()],
                ),
                row("carol", false, [cell("Unknown", "Unknown", None), empty]),
            ],
        };
        insta::assert_snapshot!(class_grid(&grid));
    }
}
