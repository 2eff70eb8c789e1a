//! `gitgen publish --branch B [--push REMOTE]`: the pull request, ready to open (see
//! `gitgen::usecase::publish` for what it commits).

use gitgen::git::Credentials;
use gitgen::settings::ProcessEnv;
use gitgen::usecase::publish::{self, PublishOptions};

use crate::Outcome;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &PublishArgs) -> Result<Outcome, gitgen::Error> {
    let every = super::every_settings(global)?;
    if let Some(settings) = every.first() {
        printer::warn_placeholder_repo_url(settings);
    }
    let options = PublishOptions {
        branch: &args.branch,
        remote: args.push.as_deref(),
        message: args.message.clone(),
        one_environment: global.env.is_some(),
    };
    let credentials = Credentials::new(ProcessEnv::read().git_token);
    let published = publish::publish(every, options, &credentials)?;
    printer::tree::published(&published);
    Ok(Outcome::Success)
}
