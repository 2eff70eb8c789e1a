//! `gitgen diff [-o json]`: what render would change, as a unified diff, for every
//! environment unless `--env` names one.

use crate::Outcome;
use crate::cli::{DiffArgs, GlobalArgs, OutputFormat};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &DiffArgs) -> Result<Outcome, gitgen::Error> {
    let report = gitgen::usecase::diff::diff(super::every_settings(global)?)?;
    match args.output {
        OutputFormat::Json => print!("{}", printer::json(&report)?),
        OutputFormat::Table => printer::tree::diff_text(&report),
    }
    Ok(if report.changed {
        Outcome::Different
    } else {
        Outcome::Success
    })
}
