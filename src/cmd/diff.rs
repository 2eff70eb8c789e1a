//! `gitgen diff [-o json]`: what render would change, as a unified diff, for every
//! environment unless `--env` names one. `gitgen.lock` is summarised as a count of the
//! hashes that change: its lines are noise to a reviewer.

use std::collections::{BTreeMap, BTreeSet};

use gitgen::output::Freshness;
use gitgen::output::diff::{changed_hashes, unified};
use gitgen::output::{LOCK_FILE, Sink};
use gitgen::workspace::Inputs;
use serde::Serialize;

use crate::Outcome;
use crate::cli::{DiffArgs, GlobalArgs, OutputFormat};

/// `diff -o json`.
#[derive(Serialize)]
struct Report {
    /// Whether render would change anything (exit code 1).
    changed: bool,
    environments: Vec<String>,
    files: Vec<FileDiff>,
    /// Lock entries (file, lesson and environment hashes) that render would change.
    lock_hashes_updated: usize,
    conflicts: Vec<ConflictRow>,
}

#[derive(Serialize)]
struct FileDiff {
    path: String,
    /// `A` added, `M` modified, `D` deleted.
    status: char,
    diff: String,
}

#[derive(Serialize)]
struct ConflictRow {
    path: String,
    message: &'static str,
}

const CONFLICT: &str = "changed outside gitgen; render would refuse it without --force";

pub fn run(global: &GlobalArgs, args: &DiffArgs) -> anyhow::Result<Outcome> {
    let every = super::every_settings(global)?;
    let environments: Vec<String> = every.iter().map(|s| s.env_name.to_string()).collect();
    // A file of `generated/` is every environment's: shown once.
    let mut texts: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut conflicts = BTreeSet::new();
    let mut lock_keys = BTreeSet::new();
    let mut lock_changes = false;
    for settings in every {
        let workspace = Inputs::read(settings)?.load()?;
        // Rendered in full: a diff that trusted the lock would hide an edit made with it.
        let outcome = workspace.plan(Freshness::Full, Sink::Texts)?;
        let plan = outcome.plan;
        if plan.lock_changes() {
            lock_changes = true;
            let old = gitgen::output::read_lock(&workspace.settings.repo)
                .map_err(gitgen::Error::from)?
                .lock;
            lock_keys.extend(changed_hashes(old.as_ref(), &plan.lock));
        }
        conflicts.extend(plan.conflicts.iter().map(|c| c.path.clone()));
        for (path, change) in plan.texts {
            texts.entry(path).or_insert(change);
        }
    }
    let files: Vec<FileDiff> = texts
        .iter()
        .map(|(path, (old, new))| FileDiff {
            path: path.clone(),
            status: match (old.is_empty(), new.is_empty()) {
                (true, _) => 'A',
                (_, true) => 'D',
                _ => 'M',
            },
            diff: unified(path, old, new),
        })
        .collect();
    let changed = !files.is_empty() || !conflicts.is_empty() || lock_changes;
    match args.output {
        OutputFormat::Json => {
            let report = Report {
                changed,
                environments,
                files,
                lock_hashes_updated: lock_keys.len(),
                conflicts: conflicts
                    .into_iter()
                    .map(|path| ConflictRow {
                        path,
                        message: CONFLICT,
                    })
                    .collect(),
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Table => {
            let color = super::color_stdout();
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            for file in &files {
                for line in file.diff.lines() {
                    let paint = match line.as_bytes().first() {
                        _ if !color => "",
                        _ if line.starts_with("+++") || line.starts_with("---") => "\x1b[1m",
                        Some(b'+') => "\x1b[32m",
                        Some(b'-') => "\x1b[31m",
                        Some(b'@') => "\x1b[36m",
                        _ => "",
                    };
                    let reset = if paint.is_empty() { "" } else { "\x1b[0m" };
                    // Piped, the diff stays exact; on a terminal, escapes in a file stay text.
                    let line = if terminal { super::printable(line) } else { line.into() };
                    println!("{paint}{line}{reset}");
                }
            }
            if lock_changes {
                println!("# {LOCK_FILE}: {} hash(es) updated", lock_keys.len());
            }
            for path in &conflicts {
                println!("# {path}: {CONFLICT}");
            }
            if !changed {
                eprintln!("No difference: the rendered tree is up to date.");
            }
        }
    }
    Ok(if changed { Outcome::Different } else { Outcome::Success })
}
