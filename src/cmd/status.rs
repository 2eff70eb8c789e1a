//! `gitgen status [--watch]`: each lesson's git side and its Argo CD Application, or a
//! classroom's grid of learners and lessons.

use gitgen::deploy::StatusBoard;

use super::{View, connect, runtime};
use crate::Outcome;
use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<Outcome, gitgen::Error> {
    let workspace = super::open_read_only(global)?;
    if let Some(classroom) = gitgen::classroom::of(&workspace.settings) {
        return super::classroom::status(&workspace, &classroom, args);
    }
    let board = StatusBoard::new(&workspace)?;
    let runtime = runtime()?;
    super::show_until_stopped(args.watch, || {
        let report = runtime.block_on(async { board.read(connect(&args.cluster, &workspace.settings).await).await });
        Ok(match args.output {
            OutputFormat::Json => View {
                stdout: printer::json(&report)?,
                stderr: String::new(),
            },
            OutputFormat::Table => View {
                stdout: printer::cluster::status_table(&report.lessons, report.unreachable.is_none()),
                stderr: report
                    .unreachable
                    .map(|err| format!("The cluster is unreachable ({err}); showing the git side only.\n"))
                    .unwrap_or_default(),
            },
        })
    })
}
