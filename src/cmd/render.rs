//! `gitgen render [--check [--trust-lock]] [--full] [--force] [-o json]`: every
//! environment, unless `--env` names one.

use std::collections::BTreeSet;

use gitgen::output::{Freshness, Sink};
use gitgen::settings::Settings;
use gitgen::workspace::{self, Inputs};
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
        super::warn_ssh_repo_url(settings);
        let names: Vec<_> = every.iter().map(|s| s.env_name.clone()).collect();
        super::warn_about_the_argocd_pin(settings, &names);
    }
    // A file of `generated/` is every environment's: listed once.
    let mut files = BTreeSet::new();
    if args.check {
        for settings in every {
            files.extend(check(settings, args.trust_lock)?);
        }
    } else {
        files.extend(render(every, args)?);
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

/// The files of one environment that differ from what render writes, with the toggle file
/// render would create. The CI gate renders everything unless told to trust the lock.
fn check(settings: Settings, trust_lock: bool) -> anyhow::Result<Vec<FileRow>> {
    let workspace = Inputs::read(settings)?.load()?;
    let freshness = if trust_lock {
        Freshness::Verified
    } else {
        Freshness::Full
    };
    let outcome = workspace.plan(freshness, Sink::Paths)?;
    let mut rows = rows(&outcome.plan);
    if workspace.toggle_is_new {
        rows.push(FileRow {
            status: 'A',
            path: workspace.settings.layout().toggle_path(),
        });
    }
    Ok(rows)
}

/// Renders every environment of `every` in one transaction and returns the files
/// written or removed.
fn render(every: Vec<Settings>, args: &RenderArgs) -> anyhow::Result<Vec<FileRow>> {
    let freshness = if args.full {
        Freshness::Full
    } else {
        Freshness::Incremental
    };
    let commands: std::collections::BTreeMap<_, _> =
        every.iter().map(|s| (s.env_name.clone(), s.command_line())).collect();
    let mut files = Vec::new();
    for part in workspace::render_every(every, freshness, args.force)? {
        if let Some(path) = &part.created_toggle_file {
            let command = &commands[&part.env];
            eprintln!("Created `{path}`, the toggle file of `{}`: every lesson listed, none enabled.", part.env);
            eprintln!(
                "hint: enable lessons with `{}`, then run `{}` against its cluster",
                command.gitgen("enable LESSON"),
                command.gitgen("bootstrap")
            );
            files.push(FileRow {
                status: 'A',
                path: path.clone(),
            });
        }
        let (env, lessons, enabled) = (part.env, part.lessons, part.enabled);
        let (rendered, rows) = part
            .outcome
            .map_or((0, Vec::new()), |outcome| (outcome.rendered_lessons, rows(&outcome.plan)));
        if rows.is_empty() {
            if part.created_toggle_file.is_none() {
                eprintln!("Nothing changed ({lessons} lessons, {enabled} enabled in `{env}`).");
            }
        } else if rendered == 0 {
            // Files changed with no lesson re-rendered: the environment's own files (its
            // Argo CD bundle, after a `gitgen.yaml` edit) and the lock.
            eprintln!(
                "No lesson needed rendering ({lessons} lessons, {enabled} enabled in `{env}`); {} other file(s) written or removed.",
                rows.len()
            );
        } else {
            eprintln!(
                "Rendered {rendered} of {lessons} lessons ({enabled} enabled in `{env}`): {} file(s) written or removed.",
                rows.len()
            );
        }
        files.extend(rows);
    }
    Ok(files)
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
