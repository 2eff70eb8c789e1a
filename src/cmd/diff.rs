//! `gitgen diff`: what render would change, as a unified diff.

use gitgen::output::Sink;
use gitgen::workspace::Freshness;
use similar::TextDiff;

use crate::Outcome;
use crate::cli::GlobalArgs;

pub fn run(global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open(global)?;
    // Rendered in full: a diff that trusted the lock would hide an edit made with it.
    let outcome = workspace.plan(Freshness::Full, Sink::Texts)?;
    let plan = &outcome.plan;
    let color = super::color_stdout();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut changes: Vec<(&str, &str, &str)> = plan
        .texts
        .iter()
        .map(|(path, (old, new))| (path.as_str(), old.as_str(), new.as_str()))
        .collect();
    let old_lock_text = match plan.old_lock_digest {
        Some(_) => fs_err::read_to_string(workspace.settings.repo.join(gitgen::output::LOCK_FILE))?,
        None => String::new(),
    };
    if plan.lock_changes() {
        changes.push((gitgen::output::LOCK_FILE, &old_lock_text, &plan.lock_text));
    }
    for (path, old, new) in &changes {
        let (from, to) = (
            if old.is_empty() {
                "/dev/null".to_owned()
            } else {
                format!("a/{path}")
            },
            if new.is_empty() {
                "/dev/null".to_owned()
            } else {
                format!("b/{path}")
            },
        );
        let diff = TextDiff::from_lines(*old, *new);
        for line in diff
            .unified_diff()
            .context_radius(3)
            .header(&from, &to)
            .to_string()
            .lines()
        {
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
    for conflict in &plan.conflicts {
        println!(
            "# {}: changed outside gitgen; render would refuse it without --force",
            conflict.path
        );
    }
    if changes.is_empty() && plan.conflicts.is_empty() {
        eprintln!("No difference: the rendered tree is up to date.");
        Ok(Outcome::Success)
    } else {
        Ok(Outcome::Different)
    }
}
