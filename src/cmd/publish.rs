//! `gitgen publish --branch B [--push REMOTE]`: the pull request, ready to open (see
//! `gitgen::usecase::publish` for what it commits).

use gitgen::git::Credentials;
use gitgen::usecase::publish::{self, PublishOptions};

use crate::Outcome;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &PublishArgs) -> Result<Outcome, gitgen::Error> {
    let every = super::every_settings(global)?;
    if let Some(settings) = every.first() {
        printer::warn_placeholder_repo_url(settings);
    }
    // The token and ssh command of the process environment, which every environment's
    // settings share.
    let credentials = every
        .first()
        .map(|settings| Credentials::from_process(&settings.process))
        .unwrap_or_default();
    let options = PublishOptions {
        branch: &args.branch,
        remote: args.push.as_deref(),
        message: args.message.clone(),
        one_environment: global.env.is_some(),
    };
    let published = publish::publish(every, options, &credentials)?;
    printer::tree::published(&published);
    Ok(Outcome::Success)
}
