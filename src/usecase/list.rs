//! `gitgen list`: one row per lesson of the catalog, with what the environment enables
//! (`list -o json` as it is).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::workspace::Workspace;

/// A lesson of the catalog.
#[derive(Debug, Serialize)]
pub struct LessonRow<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its title.
    pub title: &'a str,
    /// The course section it belongs to.
    pub section: &'a str,
    /// Whether the environment enables it.
    pub enabled: bool,
    /// The stage the environment enables.
    pub stage: Option<&'a str>,
    /// Its stages, in order.
    pub stages: Vec<StageRow<'a>>,
    /// Its Helm charts.
    pub charts: Vec<ChartRow<'a>>,
    /// The lessons it requires.
    pub requires: Vec<&'a str>,
    /// The lessons it cannot be enabled with.
    pub conflicts: Vec<ConflictRow<'a>>,
}

/// A stage of a lesson.
#[derive(Debug, Serialize)]
pub struct StageRow<'a> {
    /// Its name.
    pub name: &'a str,
    /// What it adds.
    pub description: &'a str,
}

/// A Helm chart of a lesson.
#[derive(Debug, Serialize)]
pub struct ChartRow<'a> {
    /// Its name in the lesson.
    pub name: &'a str,
    /// The chart repository.
    pub repo: &'a str,
    /// The chart.
    pub chart: &'a str,
    /// Its version.
    pub version: &'a str,
    /// Other versions at some stages.
    pub stage_versions: BTreeMap<&'a str, &'a str>,
    /// Where it installs.
    pub namespace: &'a str,
}

/// A lesson that cannot be enabled with this one.
#[derive(Debug, Serialize)]
pub struct ConflictRow<'a> {
    /// The other lesson.
    pub lesson: &'a str,
    /// Where the conflict holds (empty: everywhere).
    pub environments: &'a [String],
    /// Why.
    pub reason: &'a str,
}

/// Every lesson of the workspace's catalog, in catalog order.
pub fn lessons(workspace: &Workspace) -> Vec<LessonRow<'_>> {
    workspace
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
        .collect()
}
