//! `gitgen classroom add|remove|list|hold|release` and the classroom `gitgen status` grid:
//! a classroom environment's learner clusters, on the management cluster.

use std::collections::BTreeMap;

use gitgen::catalog::labels::STAGE_HOLD_PREFIX;
use gitgen::cluster::classroom::{self, Classroom, LearnerConnection};
use gitgen::cluster::grid::{self, ClassStatus};
use gitgen::workspace::Workspace;

use super::{connect, runtime};
use crate::Outcome;
use crate::cli::{
    ClassroomAddArgs, ClassroomArgs, ClassroomCommand, ClassroomHoldArgs, ClassroomListArgs, ClassroomReleaseArgs,
    ClassroomRemoveArgs, ClusterArgs, GlobalArgs, OutputFormat, StatusArgs,
};

pub fn run(global: &GlobalArgs, args: &ClassroomArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        ClassroomCommand::Add(args) => add(global, args),
        ClassroomCommand::Remove(args) => remove(global, args),
        ClassroomCommand::List(args) => list(global, args),
        ClassroomCommand::Hold(args) => hold(global, args),
        ClassroomCommand::Release(args) => release(global, args),
    }
}

fn add(global: &GlobalArgs, args: &ClassroomAddArgs) -> anyhow::Result<Outcome> {
    // The catalog too: a stage hold must name a lesson and stage, and the lessons bound
    // the learner's name.
    let workspace = super::open_read_only(global)?;
    let classroom = Classroom::require(&workspace.settings).map_err(gitgen::Error::from)?;
    let learner = classroom
        .new_learner(&args.name, &workspace.catalog)
        .map_err(gitgen::Error::from)?;
    let mut labels = BTreeMap::new();
    for text in &args.labels {
        let (key, value) = classroom::parse_label(text).map_err(gitgen::Error::from)?;
        if let Some(lesson) = key.strip_prefix(STAGE_HOLD_PREFIX) {
            workspace.stage(&workspace.lesson_id(lesson)?, Some(&value))?;
        }
        labels.insert(key, value);
    }
    let mut connection = LearnerConnection::from_kubeconfig(&args.learner_kubeconfig, args.learner_context.as_deref())
        .map_err(gitgen::Error::from)?;
    if let Some(server) = &args.learner_server {
        connection = connection.at(server).map_err(gitgen::Error::from)?;
    }
    let secret = classroom::cluster_secret(&classroom, &learner, &labels, &connection).map_err(gitgen::Error::from)?;
    let (change, has_root) = runtime()?.block_on(async {
        let client = connect(&args.cluster, &workspace.settings).await?;
        let change = classroom::add_learner(&client, &secret, &connection).await?;
        Ok::<_, gitgen::Error>((change, classroom::has_root_application(&client, &classroom).await?))
    })?;
    println!(
        "Learner `{learner}` {change}: Argo CD cluster `{}` at {}, Secret `{}/{}`.",
        classroom.cluster_name(&learner),
        connection.server,
        classroom.argocd_namespace,
        classroom.secret_name(&learner)
    );
    if connection.server_is_loopback() {
        eprintln!(
            "warning: `{}` is a loopback address: an Argo CD running in the management cluster reaches itself there, not `{learner}`'s cluster.",
            connection.server
        );
        eprintln!("hint: pass `--learner-server URL` with an address the management cluster can reach");
    }
    if !has_root {
        eprintln!(
            "warning: classroom `{}` has no root Application in `{}`: Argo CD deploys nothing to `{learner}` yet.",
            classroom.environment, classroom.argocd_namespace
        );
        eprintln!(
            "hint: run `{}` against this management cluster",
            classroom.commands.gitgen("bootstrap")
        );
    }
    Ok(Outcome::Success)
}

fn remove(global: &GlobalArgs, args: &ClassroomRemoveArgs) -> anyhow::Result<Outcome> {
    let settings = super::settings(global)?;
    let classroom = Classroom::require(&settings).map_err(gitgen::Error::from)?;
    let learner = classroom::LearnerName::new(&args.name).map_err(gitgen::Error::from)?;
    runtime()?.block_on(async {
        let client = connect(&args.cluster, &settings).await?;
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
    let classroom = Classroom::require(&settings).map_err(gitgen::Error::from)?;
    let learners = runtime()?.block_on(async {
        let client = connect(&args.cluster, &settings).await?;
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
            print!("{}", classroom::render_learners(&classroom, &learners));
            if learners.is_empty() {
                eprintln!(
                    "No learner is registered in classroom `{}`; add one with `{}`.",
                    classroom.environment,
                    classroom
                        .commands
                        .gitgen("classroom add NAME --learner-kubeconfig FILE")
                );
            }
        }
    }
    Ok(Outcome::Success)
}

fn hold(global: &GlobalArgs, args: &ClassroomHoldArgs) -> anyhow::Result<Outcome> {
    set_stage_hold(global, &args.name, &args.lesson, Some(&args.stage), &args.cluster)
}

fn release(global: &GlobalArgs, args: &ClassroomReleaseArgs) -> anyhow::Result<Outcome> {
    set_stage_hold(global, &args.name, &args.lesson, None, &args.cluster)
}

/// Holds learner `name` at `stage` of `lesson`, or releases the hold (`None`), once the
/// catalog says the lesson and stage exist.
fn set_stage_hold(
    global: &GlobalArgs,
    name: &str,
    lesson: &str,
    stage: Option<&str>,
    cluster: &ClusterArgs,
) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    let classroom = Classroom::require(&workspace.settings).map_err(gitgen::Error::from)?;
    let learner = classroom::LearnerName::new(name).map_err(gitgen::Error::from)?;
    let lesson = workspace.lesson_id(lesson)?;
    let stage = match stage {
        Some(stage) => Some(workspace.stage(&lesson, Some(stage))?.name),
        None => None,
    };
    runtime()?.block_on(async {
        let client = connect(cluster, &workspace.settings).await?;
        Ok::<_, gitgen::Error>(classroom::set_stage_hold(&client, &classroom, &learner, &lesson, stage.as_ref()).await?)
    })?;
    let enabled = workspace.selection.lessons.contains_key(&lesson);
    match (stage, enabled) {
        (Some(stage), true) => println!(
            "Learner `{learner}` is held at stage `{stage}` of `{lesson}`; Argo CD moves its Application there."
        ),
        (Some(stage), false) => println!("Learner `{learner}` is held at stage `{stage}` of `{lesson}`."),
        (None, _) => println!("Learner `{learner}` follows the toggle file's stage of `{lesson}` again."),
    }
    if !enabled {
        // No Application to move: the label waits until the classroom enables the lesson.
        eprintln!(
            "note: `{lesson}` is not enabled in classroom `{}`, so Argo CD has no Application of it for `{learner}` yet.",
            classroom.environment
        );
        eprintln!(
            "hint: run `{}`, then publish and merge: the hold applies from then on",
            classroom.commands.gitgen(&format!("enable {lesson}"))
        );
    }
    Ok(Outcome::Success)
}

/// `gitgen status` of a classroom: the grid of learners and enabled lessons.
pub fn status(workspace: &Workspace, classroom: &Classroom, args: &StatusArgs) -> anyhow::Result<Outcome> {
    let lessons = grid::grid_lessons(&workspace.catalog, &workspace.selection);
    let runtime = runtime()?;
    super::show_until_stopped(args.watch, || {
        let status = runtime.block_on(async {
            match connect(&args.cluster, &workspace.settings).await {
                Ok(client) => grid::class_status(&client, classroom, lessons.clone()).await,
                Err(error) => ClassStatus::unreachable(classroom, lessons.clone(), error.to_string()),
            }
        });
        Ok(match args.output {
            OutputFormat::Json => super::View {
                stdout: format!("{}\n", serde_json::to_string_pretty(&status)?),
                stderr: String::new(),
            },
            OutputFormat::Table => {
                let mut stderr = String::new();
                for bad in status.bad_holds() {
                    stderr.push_str(&format!("error: {}\nhint: {}\n", bad.message(), bad.hint(&classroom.commands)));
                }
                if let Some(error) = &status.cluster.error {
                    stderr.push_str(&format!("Incomplete: {error}.\n"));
                }
                super::View {
                    stdout: grid::render_grid(&status.grid),
                    stderr,
                }
            }
        })
    })
}
