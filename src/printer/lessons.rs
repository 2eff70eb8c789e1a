//! What the lesson commands report: the `list` table and what `enable` and `disable`
//! changed.

use gitgen::settings::Settings;
use gitgen::toggling::ToggleReport;
use gitgen::usecase::list::LessonRow;

/// The `list` table: one line per lesson, its enabled stage in brackets.
pub fn lesson_table(rows: &[LessonRow<'_>]) -> String {
    let header = ["LESSON", "ENABLED", "STAGES", "CHARTS", "REQUIRES", "CONFLICTS"];
    let mut table = vec![header.map(String::from).to_vec()];
    for r in rows {
        let stages: Vec<String> = r
            .stages
            .iter()
            .map(|s| {
                if Some(s.name) == r.stage {
                    format!("[{}]", s.name)
                } else {
                    s.name.to_owned()
                }
            })
            .collect();
        table.push(vec![
            r.name.to_owned(),
            r.stage.map_or("-".to_owned(), |s| s.to_owned()),
            stages.join(" → "),
            r.charts
                .iter()
                .map(|c| format!("{}@{}", c.chart, c.version))
                .collect::<Vec<_>>()
                .join(", "),
            r.requires.join(", "),
            r.conflicts
                .iter()
                .map(|c| match c.environments {
                    [] => c.lesson.to_owned(),
                    envs => format!("{} (in {})", c.lesson, envs.join(", ")),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    super::aligned(&table)
}

/// Which lessons and stages changed, which Applications came and went (stdout), then
/// which requirements of a disabled lesson stay enabled and what to do next (stderr).
pub fn toggled(report: &ToggleReport, settings: &Settings, json: bool) -> Result<(), gitgen::Error> {
    if json {
        print!("{}", super::json(report)?);
    } else {
        for row in &report.enabled {
            println!("+ {} (stage {})", row.lesson, row.stage);
        }
        for row in &report.moved {
            println!("~ {}: stage {} → {}", row.lesson, row.from, row.to);
        }
        for row in &report.disabled {
            println!("- {} (stage {})", row.lesson, row.stage);
        }
        for path in &report.applications_added {
            println!("  Application added: {path}");
        }
        for path in &report.applications_removed {
            println!("  Application removed: {path}");
        }
    }
    kept_requirements(report, settings);
    eprintln!(
        "Updated `{}` and the rendered tree ({} file(s)). Review with `git diff`, then `{}`.",
        report.toggle_file,
        report.files_changed,
        settings.command_for_every_environment("publish --branch BRANCH")
    );
    Ok(())
}

/// Says which requirements of the disabled lessons stay enabled, and how to disable those
/// no other enabled lesson requires (a hint to disable the others would be refused).
fn kept_requirements(report: &ToggleReport, settings: &Settings) {
    let kept = &report.kept_requirements;
    if kept.is_empty() {
        return;
    }
    let gone = super::quoted(report.disabled.iter().map(|d| &d.lesson));
    eprintln!(
        "{}, which {gone} required, {} enabled.",
        super::quoted(kept),
        if kept.len() == 1 { "stays" } else { "stay" },
    );
    for (lesson, by) in &report.kept_required_by {
        eprintln!("`{lesson}` is still required by {}.", super::quoted(by));
    }
    let free: Vec<&String> = kept
        .iter()
        .filter(|k| !report.kept_required_by.contains_key(*k))
        .collect();
    if let Some(last) = free.last() {
        eprintln!(
            "hint: if you enabled {} only for {gone}, run `{}`{}",
            super::quoted(&free),
            settings.command(&format!("disable {last}")),
            if free.len() == 1 {
                ""
            } else {
                " (then the others, one at a time)"
            }
        );
    }
}
