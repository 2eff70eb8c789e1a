//! `gitgen render [--check [--trust-lock]] [--full] [--force] [-o json]`: every
//! environment, unless `--env` names one.

use std::collections::BTreeSet;

use anyhow::Context;
use gitgen::output::{Freshness, OutputError, Sink};
use gitgen::settings::Settings;
use gitgen::workspace::Inputs;
use serde::Serialize;

use crate::Outcome;
use crate::cli::{GlobalArgs, OutputFormat, RenderArgs};

/// `render -o json`: the environments covered and every file that differs (`--check`) or
/// was written or removed, each once.
#[derive(Serialize)]
struct Report {
    check: bool,
    up_to_date: bool,
    environments: Vec<String>,
    files: Vec<FileRow>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileRow {
    /// `A` added, `M` modified, `D` deleted.
    pub status: char,
    pub path: String,
}

pub fn run(global: &GlobalArgs, args: &RenderArgs) -> anyhow::Result<Outcome> {
    let every = super::every_settings(global)?;
    let environments: Vec<String> = every.iter().map(|s| s.env_name.to_string()).collect();
    let first = every.first().cloned();
    if let Some(settings) = &first {
        super::warn_placeholder_repo_url(settings);
        let names: Vec<_> = every.iter().map(|s| s.env_name.clone()).collect();
        super::warn_about_the_argocd_pin(settings, &names);
    }
    // Each environment is written in its own transaction: before the first is written,
    // every one is rendered in memory, so one that fails to render, or would overwrite a
    // file render did not write, leaves every environment as it was.
    if !args.check && every.len() > 1 {
        for settings in &every {
            precheck(settings.clone(), args)?;
        }
    }
    // A file of `generated/` is every environment's: listed once.
    let mut files = BTreeSet::new();
    for (done, settings) in every.into_iter().enumerate() {
        let env = settings.env_name.clone();
        let env_files = if args.check {
            check(settings, args.trust_lock)?
        } else {
            let rendered = render(settings, args);
            if environments.len() > 1 {
                rendered.with_context(|| written_so_far(&environments, done, env.as_str()))?
            } else {
                rendered?
            }
        };
        files.extend(env_files);
    }
    let up_to_date = files.is_empty();
    match args.output {
        OutputFormat::Json => {
            let report = Report {
                check: args.check,
                up_to_date,
                environments: environments.clone(),
                files: files.into_iter().collect(),
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Table => {
            for row in &files {
                println!("{} {}", row.status, row.path);
            }
            if args.check {
                let envs = environments
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if up_to_date {
                    eprintln!("The rendered tree for {envs} is up to date.");
                } else {
                    eprintln!(
                        "{} file(s) differ from what `gitgen render` would write for {envs}.",
                        files.len()
                    );
                }
            }
        }
    }
    if args.check && !up_to_date {
        return Ok(Outcome::Different);
    }
    if let Some(settings) = first.filter(|_| global.env.is_some()) {
        super::note_stale_elsewhere(&settings, &environments);
    }
    Ok(Outcome::Success)
}

/// Renders one environment in memory, as [`render`] would, and fails where it would:
/// a template or object error, or a file it would refuse to overwrite or delete.
fn precheck(settings: Settings, args: &RenderArgs) -> anyhow::Result<()> {
    let mut inputs = Inputs::read(settings)?;
    if !(args.full || args.force) && inputs.unchanged()?.is_some() {
        return Ok(());
    }
    let workspace = inputs.load()?;
    let freshness = if args.full || args.force {
        Freshness::Full
    } else {
        Freshness::Incremental
    };
    let plan = workspace.plan(freshness, Sink::Paths)?.plan;
    if !args.force && !plan.conflicts.is_empty() {
        return Err(gitgen::Error::from(OutputError::Conflicts {
            conflicts: plan.conflicts,
        })
        .into());
    }
    Ok(())
}

/// Which environments a render that failed at `environments[done]` (after every one had
/// rendered in memory: a write failed) had written, and which it had not.
fn written_so_far(environments: &[String], done: usize, failed: &str) -> String {
    let quoted = |envs: &[String]| envs.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
    let (written, rest) = environments.split_at(done);
    let rest = &rest[1.min(rest.len())..];
    format!(
        "writing environment `{failed}` failed; written before it: {}; not written: `{failed}`{}",
        if written.is_empty() {
            "none".to_owned()
        } else {
            quoted(written)
        },
        if rest.is_empty() {
            String::new()
        } else {
            format!(", {}", quoted(rest))
        },
    )
}

/// The files of one environment that differ from what render writes. The CI gate renders
/// everything unless told to trust the lock.
fn check(settings: Settings, trust_lock: bool) -> anyhow::Result<Vec<FileRow>> {
    let workspace = Inputs::read(settings)?.load()?;
    let freshness = if trust_lock {
        Freshness::Verified
    } else {
        Freshness::Full
    };
    let outcome = workspace.plan(freshness, Sink::Paths)?;
    Ok(rows(&outcome.plan))
}

/// Renders one environment and returns the files written or removed.
fn render(settings: Settings, args: &RenderArgs) -> anyhow::Result<Vec<FileRow>> {
    let env = settings.env_name.clone();
    let mut inputs = Inputs::read(settings)?;
    // A render with nothing to do says so before it parses or renders anything.
    if !(args.full || args.force)
        && let Some(same) = inputs.unchanged()?
    {
        eprintln!(
            "Nothing changed ({} lessons, {} enabled in `{env}`).",
            same.lessons, same.enabled
        );
        return Ok(Vec::new());
    }
    let workspace = inputs.load()?;
    let freshness = if args.full {
        Freshness::Full
    } else {
        Freshness::Incremental
    };
    let outcome = workspace.render(freshness, args.force)?;
    let rows = rows(&outcome.plan);
    let lessons = workspace.catalog.lessons.len();
    let enabled = workspace.selection.lessons.len();
    if rows.is_empty() {
        eprintln!("Nothing changed ({lessons} lessons, {enabled} enabled in `{env}`).");
    } else if outcome.rendered_lessons == 0 {
        // Files changed with no lesson re-rendered: the environment's own files (its
        // Argo CD bundle, after a `gitgen.yaml` edit) and the lock.
        eprintln!(
            "No lesson needed rendering ({lessons} lessons, {enabled} enabled in `{env}`); {} other file(s) written or removed.",
            rows.len()
        );
    } else {
        eprintln!(
            "Rendered {} of {lessons} lessons ({enabled} enabled in `{env}`): {} file(s) written or removed.",
            outcome.rendered_lessons,
            rows.len()
        );
    }
    Ok(rows)
}

fn rows(plan: &gitgen::output::Plan) -> Vec<FileRow> {
    plan.summary()
        .into_iter()
        .map(|(status, path)| FileRow {
            status,
            path: path.to_owned(),
        })
        .collect()
}
