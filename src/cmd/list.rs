//! `gitgen list [-o table|json]`.

use crate::Outcome;
use crate::cli::{GlobalArgs, ListArgs, OutputFormat};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &ListArgs) -> Result<Outcome, gitgen::Error> {
    let workspace = super::open_read_only(global)?;
    let rows = gitgen::usecase::list::lessons(&workspace);
    match args.output {
        OutputFormat::Json => print!("{}", printer::json(&rows)?),
        OutputFormat::Table => print!("{}", printer::printable(&printer::lessons::lesson_table(&rows))),
    }
    Ok(Outcome::Success)
}
