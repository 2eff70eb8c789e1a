//! `gitgen init DIR`: the new repo, rendered for every environment and committed.

use crate::Outcome;
use crate::cli::InitArgs;
use crate::printer;

pub fn run(args: &InitArgs) -> Result<Outcome, gitgen::Error> {
    let initialized = gitgen::usecase::init::init(&args.dir, args.repo_url.clone())?;
    printer::tree::initialized(&initialized, &args.dir, args.repo_url.is_none());
    Ok(Outcome::Success)
}
