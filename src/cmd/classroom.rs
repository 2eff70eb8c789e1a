//! `gitgen classroom add|remove|list` and the classroom `gitgen status` grid: a
//! classroom environment's learner clusters, on the management cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use gitgen::cluster::classroom::{self, SECRET_TYPE_LABEL, STAGE_HOLD_PREFIX};
use gitgen::cluster::{self as library, Classroom, ClassroomError, GridLesson, LearnerConnection, LearnerName};
use gitgen::settings::Settings;
use gitgen::workspace::Workspace;

use super::{connect, runtime};
use crate::Outcome;
use crate::cli::{
    ClassroomAddArgs, ClassroomArgs, ClassroomCommand, ClassroomListArgs, ClassroomRemoveArgs, GlobalArgs,
    OutputFormat, StatusArgs,
};

pub fn run(global: &GlobalArgs, args: &ClassroomArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        ClassroomCommand::Add(args) => add(global, args),
        ClassroomCommand::Remove(args) => remove(global, args),
        ClassroomCommand::List(args) => list(global, args),
    }
}

/// The classroom the settings' environment is, if it is one.
pub fn of(settings: &Settings) -> Option<Classroom> {
    settings.env().clusters.as_ref().map(|selector| Classroom {
        environment: settings.env_name.to_string(),
        selector: selector.clone(),
        argocd_namespace: settings.config.argocd.namespace.clone(),
    })
}

fn classroom(settings: &Settings) -> Result<Classroom, gitgen::Error> {
    of(settings).ok_or_else(|| {
        ClassroomError::NotAClassroom {
            environment: settings.env_name.to_string(),
        }
        .into()
    })
}

fn add(global: &GlobalArgs, args: &ClassroomAddArgs) -> anyhow::Result<Outcome> {
    // The workspace, not just the settings: a stage hold must name a lesson and stage.
    let workspace = super::open(global)?;
    let classroom = classroom(&workspace.settings)?;
    let learner = LearnerName::new(&args.name).map_err(gitgen::Error::from)?;
    let mut labels = BTreeMap::new();
    for text in &args.labels {
        let (key, value) = classroom::parse_label(text).map_err(gitgen::Error::from)?;
        if let Some(lesson) = key.strip_prefix(STAGE_HOLD_PREFIX) {
            let lesson = workspace.lesson_id(lesson)?;
            workspace.stage(&lesson, Some(&value))?;
        }
        labels.insert(key, value);
    }
    let connection = LearnerConnection::from_kubeconfig(&args.learner_kubeconfig, args.learner_context.as_deref())
        .map_err(gitgen::Error::from)?;
    let connection = match &args.learner_server {
        Some(server) if !server.starts_with("https://") && !server.starts_with("http://") => {
            return Err(gitgen::Error::Usage {
                message: format!("`--learner-server {}` is not an http(s) URL", server.escape_debug()),
                hint: Some("give the learner's API server as Argo CD reaches it, e.g. `https://10.0.0.12:6443`".into()),
            }
            .into());
        }
        Some(server) => connection.at(server.clone()),
        None => connection,
    };
    let secret = classroom::cluster_secret(&classroom, &learner, &labels, &connection).map_err(gitgen::Error::from)?;
    let change = runtime()?.block_on(async {
        let client = connect(&args.cluster).await?;
        Ok::<_, gitgen::Error>(classroom::add_learner(&client, &secret, &connection).await?)
    })?;
    println!(
        "Learner `{learner}` {change}: Argo CD cluster `{}` at {}, Secret `{}/{}`.",
        classroom.cluster_name(&learner),
        connection.server,
        classroom.argocd_namespace,
        classroom.secret_name(&learner)
    );
    Ok(Outcome::Success)
}

fn remove(global: &GlobalArgs, args: &ClassroomRemoveArgs) -> anyhow::Result<Outcome> {
    let settings = super::settings(global)?;
    let classroom = classroom(&settings)?;
    let learner = LearnerName::new(&args.name).map_err(gitgen::Error::from)?;
    runtime()?.block_on(async {
        let client = connect(&args.cluster).await?;
        Ok::<_, gitgen::Error>(classroom::remove_learner(&client, &classroom, &learner).await?)
    })?;
    println!(
        "Removed learner `{learner}`: Argo CD forgets cluster `{}`, and the classroom's ApplicationSets delete its Applications.",
        classroom.cluster_name(&learner)
    );
    Ok(Outcome::Success)
}

fn list(global: &GlobalArgs, args: &ClassroomListArgs) -> anyhow::Result<Outcome> {
    let settings = super::settings(global)?;
    let classroom = classroom(&settings)?;
    let learners = runtime()?.block_on(async {
        let client = connect(&args.cluster).await?;
        Ok::<_, gitgen::Error>(classroom::learners(&client, &classroom).await?)
    })?;
    match args.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"environment": classroom.environment, "learners": learners})
            )?
        ),
        OutputFormat::Table => {
            // Labels every learner of the classroom carries say nothing about this one.
            let shown = |key: &str| {
                !key.starts_with(STAGE_HOLD_PREFIX)
                    && ![
                        SECRET_TYPE_LABEL,
                        classroom::ENVIRONMENT_LABEL,
                        classroom::LEARNER_LABEL,
                    ]
                    .contains(&key)
                    && !classroom.selector.contains_key(key)
            };
            let join = |pairs: Vec<String>| {
                if pairs.is_empty() {
                    "-".to_owned()
                } else {
                    pairs.join(",")
                }
            };
            let mut table = vec![["LEARNER", "CLUSTER", "SERVER", "STAGE HOLDS", "LABELS"].map(String::from)];
            for learner in &learners {
                table.push([
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
            print!("{}", aligned(&table));
            if learners.is_empty() {
                eprintln!(
                    "No learner is registered in classroom `{}`; add one with `gitgen --env {} classroom add NAME --learner-kubeconfig FILE`.",
                    classroom.environment, classroom.environment
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// Rows as columns two spaces apart, each as wide as its widest cell.
fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}

/// `gitgen status` of a classroom: the grid of learners and enabled lessons.
pub fn status(workspace: &Workspace, classroom: &Classroom, args: &StatusArgs) -> anyhow::Result<Outcome> {
    let lessons: Vec<GridLesson> = workspace
        .selection
        .lessons
        .iter()
        .map(|(lesson, stage)| GridLesson {
            lesson: lesson.to_string(),
            stage: stage.to_string(),
        })
        .collect();
    let runtime = runtime()?;
    loop {
        // The learners come from their cluster Secrets, which exist before Argo CD is
        // installed; the cells need Argo CD's Applications.
        let (learners, apps) = runtime.block_on(async {
            let client = match connect(&args.cluster).await {
                Ok(client) => client,
                Err(err) => return (Err(err), None),
            };
            let learners = classroom::learners(&client, classroom)
                .await
                .map_err(gitgen::Error::from);
            let apps = library::environment_applications(&client, &classroom.argocd_namespace, &classroom.environment)
                .await
                .map_err(gitgen::Error::from);
            (learners, Some(apps))
        });
        let problem = match (&learners, &apps) {
            (Err(err), _) | (Ok(_), Some(Err(err))) => Some(err.to_string()),
            _ => None,
        };
        let learners = learners.unwrap_or_default();
        let apps = apps.and_then(Result::ok).unwrap_or_default();
        let grid = library::class_grid(lessons.clone(), &learners, &apps);
        match args.output {
            OutputFormat::Json => {
                let cluster = match &problem {
                    None => serde_json::json!({"reachable": true}),
                    Some(err) => serde_json::json!({"reachable": false, "error": err}),
                };
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "environment": classroom.environment,
                        "classroom": true,
                        "cluster": cluster,
                        "lessons": grid.lessons,
                        "learners": grid.learners,
                    }))?
                );
            }
            OutputFormat::Table => {
                print!("{}", library::render_grid(&grid));
                if let Some(err) = &problem {
                    eprintln!("Incomplete: {err}.");
                }
            }
        }
        if !args.watch {
            return Ok(Outcome::Success);
        }
        std::thread::sleep(Duration::from_secs(5));
        println!();
    }
}
