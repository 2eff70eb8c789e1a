//! `gitgen serve`: the course and the live state in a browser, until interrupted.

use gitgen::serve::ServeOptions;
use gitgen::serve::model::LiveSource;
use gitgen::serve::routes::Site;
use gitgen::serve::server::{self, ClusterTarget};

use super::runtime;
use crate::Outcome;
use crate::cli::{GlobalArgs, ServeArgs};

pub fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<Outcome, gitgen::Error> {
    let options = ServeOptions::resolve(args.listen, args.expose, &args.argocd_url)?;
    let workspace = super::open_read_only(global)?;
    let environment = workspace.settings.env_name.to_string();
    let source = LiveSource::of(&workspace)?;
    let target = ClusterTarget {
        kubeconfig: workspace.settings.kubeconfig(args.cluster.kubeconfig.as_deref()),
        context: args.cluster.context.clone(),
    };
    let site = Site::new(workspace, &options.argocd_url, args.expose)?;
    runtime()?.block_on(async {
        let listener = server::bind(options.listen).await?;
        let address = listener.local_addr().map_err(|source| gitgen::Error::Io {
            what: "read the address the server listens on",
            source,
        })?;
        println!("Serving the course of `{environment}` at http://{address}/ (read-only; Ctrl-C stops).");
        server::serve(listener, site, source, target).await;
        Ok(Outcome::Success)
    })
}
