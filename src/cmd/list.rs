//! `gitgen list [-o table|json]`.

use serde::Serialize;

use crate::Outcome;
use crate::cli::{GlobalArgs, ListArgs, OutputFormat};

#[derive(Serialize)]
struct LessonRow<'a> {
    name: &'a str,
    title: &'a str,
    section: &'a str,
    enabled: bool,
    stage: Option<&'a str>,
    stages: Vec<StageRow<'a>>,
    charts: Vec<ChartRow<'a>>,
    requires: Vec<&'a str>,
    conflicts: Vec<ConflictRow<'a>>,
}

#[derive(Serialize)]
struct StageRow<'a> {
    name: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct ChartRow<'a> {
    name: &'a str,
    repo: &'a str,
    chart: &'a str,
    version: &'a str,
    stage_versions: std::collections::BTreeMap<&'a str, &'a str>,
    namespace: &'a str,
}

#[derive(Serialize)]
struct ConflictRow<'a> {
    lesson: &'a str,
    environments: &'a [String],
    reason: &'a str,
}

pub fn run(global: &GlobalArgs, args: &ListArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    let rows: Vec<LessonRow<'_>> = workspace
        .catalog
        .lessons
        .values()
        .map(|loaded| {
            let l = &loaded.lesson;
            let stage = workspace.selection.lessons.get(loaded.id()).map(|s| s.as_str());
            LessonRow {
                name: loaded.id().as_str(),
                title: &l.title,
                section: &l.section,
                enabled: stage.is_some(),
                stage,
                stages: l
                    .stages
                    .iter()
                    .map(|s| StageRow {
                        name: s.name.as_str(),
                        description: &s.description,
                    })
                    .collect(),
                charts: l
                    .charts
                    .iter()
                    .map(|c| ChartRow {
                        name: &c.name,
                        repo: &c.repo,
                        chart: &c.chart,
                        version: &c.version,
                        stage_versions: c.stage_versions.iter().map(|(s, v)| (s.as_str(), v.as_str())).collect(),
                        namespace: &c.namespace,
                    })
                    .collect(),
                requires: l.requires.iter().map(|r| r.value.as_str()).collect(),
                conflicts: l
                    .conflicts
                    .iter()
                    .map(|c| ConflictRow {
                        lesson: c.lesson.value.as_str(),
                        environments: &c.environments,
                        reason: &c.reason,
                    })
                    .collect(),
            }
        })
        .collect();
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Table => print!("{}", super::printable(&table(&rows))),
    }
    Ok(Outcome::Success)
}

fn table(rows: &[LessonRow<'_>]) -> String {
    let header = ["LESSON", "ENABLED", "STAGES", "CHARTS", "REQUIRES", "CONFLICTS"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
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
            [
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
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut text: String = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text + "\n"
    };
    let mut out = line(header);
    for row in &cells {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}
