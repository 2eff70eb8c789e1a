//! `gitgen serve`: the course and the live state in a browser, until interrupted.

use gitgen::serve::ServeOptions;
use gitgen::serve::model::LiveSource;
use gitgen::serve::routes::Site;
use gitgen::serve::server::{self, ClusterTarget};

use super::runtime;
use crate::Outcome;
use crate::cli::{GlobalArgs, ServeArgs};

pub fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<Outcome> {
    let options = ServeOptions::resolve(args.listen, args.expose, &args.argocd_url).map_err(gitgen::Error::from)?;
    let workspace = super::open_read_only(global)?;
    let environment = workspace.settings.env_name.to_string();
    let source = LiveSource::of(&workspace)?;
    let target = ClusterTarget {
        kubeconfig: workspace.settings.kubeconfig(args.cluster.kubeconfig.as_deref()),
        context: args.cluster.context.clone(),
    };
    let site = Site::new(workspace, &options.argocd_url, args.expose).map_err(gitgen::Error::from)?;
    runtime()?.block_on(async {
        let listener = server::bind(options.listen).await.map_err(gitgen::Error::from)?;
        let address = listener.local_addr()?;
        println!("Serving the course of `{environment}` at http://{address}/ (read-only; Ctrl-C stops).");
        server::serve(listener, site, source, target).await;
        Ok(Outcome::Success)
    })
}
