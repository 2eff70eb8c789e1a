//! `gitgen synth DIR --lessons N`: a synthetic repo for benchmarks (hidden).

use anyhow::Context as _;
use gitgen::synth::{SynthSpec, write_repo};

use crate::Outcome;
use crate::cli::SynthArgs;

pub fn run(args: &SynthArgs) -> anyhow::Result<Outcome> {
    let spec = SynthSpec {
        lessons: args.lessons,
        stages: args.stages,
        manifests: args.manifests,
    };
    write_repo(&args.dir, &spec)
        .with_context(|| format!("cannot write the synthetic repo `{}`", args.dir.display()))?;
    eprintln!(
        "Wrote `{}`: {} lessons, {} stages and {} manifests each.",
        args.dir.display(),
        spec.lessons,
        spec.stages.max(1),
        spec.manifests.max(1)
    );
    Ok(Outcome::Success)
}
