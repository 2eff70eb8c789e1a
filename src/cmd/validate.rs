//! `gitgen validate [--server] [--crds DIR]`: the enabled lessons' objects against their
//! Kubernetes types and CRD schemas, or a cluster's server-side dry run.

use gitgen::deploy::{self, ServerValidation};

use super::{connect, runtime};
use crate::Outcome;
use crate::cli::{GlobalArgs, OutputFormat, ValidateArgs};
use crate::printer;

pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> Result<Outcome, gitgen::Error> {
    let workspace = super::open_read_only(global)?;
    let passed = if args.server {
        let validation = ServerValidation::prepare(&workspace, args.crds.as_deref())?;
        let report = runtime()?.block_on(async {
            validation
                .run(&connect(&args.cluster, &workspace.settings).await?)
                .await
        })?;
        match args.output {
            OutputFormat::Json => print!("{}", printer::json(&report)?),
            OutputFormat::Table => printer::cluster::validated_on_server(&report),
        }
        report.dry_run.passed()
    } else {
        let report = deploy::validate_offline(&workspace, args.crds.as_deref())?;
        match args.output {
            OutputFormat::Json => print!("{}", printer::json(&report)?),
            OutputFormat::Table => printer::cluster::validated_offline(&report),
        }
        report.passed()
    };
    Ok(if passed { Outcome::Success } else { Outcome::Different })
}
