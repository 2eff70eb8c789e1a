//! `gitgen classroom add|remove|list|hold|release` and the classroom `gitgen status` grid:
//! each prepares its use case of `gitgen::classroom`, runs it against the management
//! cluster and prints what it returns.

use gitgen::classroom::{self, Add, AddRequest, Remove, StageHold};
use gitgen::cluster::Classroom;
use gitgen::cluster::grid::{self, BadHold, ClassStatus};
use gitgen::workspace::Workspace;

use super::{connect, open_read_only as open, runtime};
use crate::Outcome;
use crate::cli::{ClassroomArgs, ClassroomCommand, ClusterArgs, GlobalArgs, OutputFormat, StatusArgs};
use crate::printer;
use crate::printer::classroom::print_learners;

pub fn run(global: &GlobalArgs, args: &ClassroomArgs) -> Result<Outcome, gitgen::Error> {
    match &args.command {
        ClassroomCommand::Add(args) => {
            let request = AddRequest {
                name: &args.name,
                labels: &args.labels,
                kubeconfig: &args.learner_kubeconfig,
                context: args.learner_context.as_deref(),
                server: args.learner_server.as_deref(),
            };
            // The workspace, not only the settings: the catalog bounds names and holds.
            let workspace = open(global)?;
            let add = Add::prepare(&workspace, &request)?;
            let connecting = connect(&args.cluster, &workspace.settings);
            let added = runtime()?.block_on(async { add.run(&connecting.await?).await })?;
            let (classroom, learner) = (&add.classroom, &add.learner);
            println!(
                "Learner `{learner}` {}: Argo CD cluster `{}` at {}, Secret `{}/{}`.",
                added.change,
                classroom.cluster_name(learner),
                add.connection.server,
                classroom.argocd_namespace,
                classroom.secret_name(learner)
            );
            added.cautions.iter().for_each(printer::classroom::caution);
        }
        ClassroomCommand::Remove(args) => {
            let settings = super::settings(global)?;
            let remove = Remove::prepare(&settings, &args.name)?;
            runtime()?.block_on(async { remove.run(&connect(&args.cluster, &settings).await?).await })?;
            println!(
                "Removed learner `{}`: Argo CD forgets cluster `{}`, and the classroom's ApplicationSets delete its Applications.",
                remove.learner,
                remove.classroom.cluster_name(&remove.learner)
            );
        }
        ClassroomCommand::List(args) => {
            let settings = super::settings(global)?;
            let classroom = classroom::require(&settings)?;
            let connecting = connect(&args.cluster, &settings);
            let list = runtime()?.block_on(async { classroom::list(&connecting.await?, &classroom).await })?;
            print_learners(&classroom, &list, args.output)?;
        }
        ClassroomCommand::Hold(a) => hold(global, (&a.name, &a.lesson, Some(&a.stage)), &a.cluster)?,
        ClassroomCommand::Release(a) => hold(global, (&a.name, &a.lesson, None), &a.cluster)?,
    }
    Ok(Outcome::Success)
}

/// Holds a learner at a stage of a lesson, or releases the hold (no stage).
fn hold(
    global: &GlobalArgs,
    (learner, lesson, stage): (&str, &str, Option<&str>),
    cluster: &ClusterArgs,
) -> Result<(), gitgen::Error> {
    let workspace = open(global)?;
    let hold = StageHold::prepare(&workspace, learner, lesson, stage)?;
    runtime()?.block_on(async { hold.run(&connect(cluster, &workspace.settings).await?).await })?;
    let (learner, lesson) = (&hold.learner, &hold.lesson);
    match (&hold.stage, hold.enabled) {
        (Some(stage), true) => println!(
            "Learner `{learner}` is held at stage `{stage}` of `{lesson}`; Argo CD moves its Application there."
        ),
        (Some(stage), false) => println!("Learner `{learner}` is held at stage `{stage}` of `{lesson}`."),
        (None, _) => println!("Learner `{learner}` follows the toggle file's stage of `{lesson}` again."),
    }
    hold.caution().iter().for_each(printer::classroom::caution);
    Ok(())
}

/// `gitgen status` of a classroom: the grid of learners and enabled lessons.
pub fn status(workspace: &Workspace, classroom: &Classroom, args: &StatusArgs) -> Result<Outcome, gitgen::Error> {
    let lessons = classroom::grid_lessons(workspace);
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
                stdout: printer::json(&status)?,
                stderr: String::new(),
            },
            OutputFormat::Table => {
                let hint =
                    |bad: &BadHold| format!("error: {}\nhint: {}\n", bad.message(), bad.hint(&classroom.commands));
                let mut stderr: String = status.bad_holds().iter().map(hint).collect();
                if let Some(error) = &status.cluster.error {
                    stderr.push_str(&format!("Incomplete: {error}.\n"));
                }
                super::View {
                    stdout: printer::classroom::class_grid(&status.grid),
                    stderr,
                }
            }
        })
    })
}
