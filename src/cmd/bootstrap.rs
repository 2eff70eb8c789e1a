//! `gitgen bootstrap`: Argo CD and the environment's root Application on a cluster (see
//! `gitgen::deploy::bootstrap`).

use std::time::Duration;

use gitgen::deploy::{ArgoCdManifest, Bootstrap, BootstrapOptions};

use super::{connect, runtime};
use crate::Outcome;
use crate::cli::{BootstrapArgs, GlobalArgs, OutputFormat};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &BootstrapArgs) -> Result<Outcome, gitgen::Error> {
    let workspace = super::open(global)?;
    let argocd_manifest = match &args.argocd_manifest {
        Some(path) => ArgoCdManifest::File(path.clone()),
        None => ArgoCdManifest::Pinned,
    };
    let options = BootstrapOptions {
        repo_url: args.repo_url.clone(),
        revision: args.revision.clone(),
        argocd_manifest,
        repo_username: args.repo_username.clone(),
        repo_password: workspace.settings.process.clone_password(),
        timeout: Duration::from_secs(args.timeout),
        wait: args.wait,
        allow_downgrade: args.allow_downgrade,
    };
    let bootstrap = Bootstrap::prepare(&workspace, options)?;
    let mut view = printer::cluster::LiveView::new();
    let report = runtime()?.block_on(async {
        let client = connect(&args.cluster, &workspace.settings).await?;
        bootstrap.run(&client, &mut |event| view.show(event)).await
    })?;
    match args.output {
        OutputFormat::Json => print!("{}", printer::json(&report)?),
        OutputFormat::Table => {
            let follow = (!args.wait).then(|| workspace.settings.command("status --watch"));
            printer::cluster::bootstrapped(&report, follow);
        }
    }
    Ok(Outcome::Success)
}
