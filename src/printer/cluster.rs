//! What the cluster commands report: `bootstrap`'s progress and live view, the `status`
//! table, and `validate`'s verdicts.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use gitgen::cluster::{AppRow, BootstrapEvent, Change, MissingKind, Origin, Restored, StatusRow};
use gitgen::deploy::bootstrap::BootstrapSummary;
use gitgen::deploy::validate::{BroughtBy, OfflineReport, ServerReport};

/// `bootstrap`'s progress lines; while waiting, a progress bar and one line per lesson,
/// redrawn in place on a terminal.
pub struct LiveView {
    terminal: bool,
    drawn: usize,
}

impl LiveView {
    /// A view on stderr.
    pub fn new() -> Self {
        LiveView {
            terminal: std::io::stderr().is_terminal(),
            drawn: 0,
        }
    }

    /// Shows one step of the bootstrap.
    pub fn show(&mut self, event: &BootstrapEvent) {
        match event {
            BootstrapEvent::InstalledArgoCd(warning) => super::pin_warning(warning),
            BootstrapEvent::Downloading { version, url } => eprintln!("Downloading Argo CD {version} from {url}"),
            BootstrapEvent::PreflightPassed { server_version } => {
                eprintln!("Connected: Kubernetes {server_version}; permissions OK.")
            }
            BootstrapEvent::Adopting { reason } => eprintln!("Adopting the Argo CD already installed: {reason}"),
            BootstrapEvent::Applied(applied) if applied.change != Change::Unchanged => match &applied.restored {
                Some(Restored::EditedBy(manager)) => eprintln!(
                    "{} {} (restored: `{manager}` had edited it)",
                    applied.change, applied.object
                ),
                Some(Restored::Removed(field)) => eprintln!(
                    "{} {} (restored: `{field}` had been removed)",
                    applied.change, applied.object
                ),
                None => eprintln!("{} {}", applied.change, applied.object),
            },
            BootstrapEvent::Applied(_) => {}
            BootstrapEvent::Applications(rows) => self.draw(rows),
        }
    }

    fn draw(&mut self, rows: &[AppRow]) {
        let done = rows.iter().filter(|r| r.converged).count();
        let width = 30;
        let filled = if rows.is_empty() {
            width
        } else {
            done * width / rows.len()
        };
        let mut lines = vec![format!(
            "[{}{}] {done}/{} lessons Synced and Healthy",
            "#".repeat(filled),
            "-".repeat(width - filled),
            rows.len()
        )];
        for row in rows {
            let message = row.message.as_deref().unwrap_or("");
            lines.push(format!(
                "  {:<24} {:<10} {:<12} {message}",
                row.name, row.sync, row.health
            ));
        }
        let mut err = std::io::stderr().lock();
        if self.terminal && self.drawn > 0 {
            // Move up over the previous view and clear it.
            let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn);
        }
        for line in &lines {
            let _ = writeln!(err, "{line}");
        }
        self.drawn = lines.len();
    }
}

/// What `bootstrap` did, and (without `--wait`) how to follow Argo CD.
pub fn bootstrapped(report: &BootstrapSummary, follow: Option<String>) {
    if let Some(reason) = &report.adopted {
        println!("Adopted an existing Argo CD: {reason}");
    }
    println!(
        "Bootstrapped `{}` on Kubernetes {}: {} created, {} configured, {} unchanged.",
        report.environment, report.server_version, report.created, report.configured, report.unchanged
    );
    if let Some(command) = follow {
        println!("Argo CD now syncs the lessons; follow them with `{command}`.");
    }
}

/// The `gitgen status` table: one line per lesson, columns aligned, and a note when no
/// lesson has cluster data, which says why as `-o json`'s `reachable` does: the cluster
/// did not answer, or it answered with no lesson Application yet.
pub fn status_table(rows: &[StatusRow], reachable: bool) -> String {
    let header = [
        "LESSON", "ENABLED", "RENDERED", "SYNC", "HEALTH", "REVISION", "PROBLEMS",
    ]
    .map(String::from);
    let mut table = vec![header.to_vec()];
    for row in rows {
        let (sync, health, revision, problems) = match &row.app {
            Some(app) => (
                app.sync.clone(),
                app.health.clone(),
                app.revision
                    .as_deref()
                    .map_or("-".into(), |r| r.chars().take(7).collect()),
                if app.problems.is_empty() {
                    app.message
                        .clone()
                        .filter(|_| !app.converged())
                        .unwrap_or_else(|| "-".into())
                } else {
                    app.problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        table.push(vec![
            row.lesson.clone(),
            row.enabled_stage.clone().unwrap_or_else(|| "no".into()),
            if row.rendered_fresh { "fresh" } else { "stale" }.into(),
            sync,
            health,
            revision,
            problems,
        ]);
    }
    let mut out = super::aligned(&table);
    if !rows.is_empty() && rows.iter().all(|row| row.app.is_none()) {
        out.push_str(if reachable {
            "note: the cluster answers, but Argo CD has no lesson Application yet (none enabled, or not synced since \
             the lesson was enabled and published), so only the git side is shown\n"
        } else {
            "note: no Argo CD status: the cluster is unreachable, so only the git side is shown\n"
        });
    }
    out
}

/// `validate`'s verdicts against the built-in types and CRD schemas.
pub fn validated_offline(report: &OfflineReport) {
    for p in &report.problems {
        println!("{}: {}: {}", p.file, p.object, p.problem);
    }
    if report.unchecked_fail {
        for u in &report.unchecked {
            println!(
                "{}: {} ({}): no built-in type and no CRD schema",
                u.file, u.object, u.api_version
            );
        }
    } else if !report.unchecked.is_empty() {
        eprintln!(
            "{} custom resource(s) got only the minimum check; pass `--crds DIR` to check them against their CRDs.",
            report.unchecked.len()
        );
    }
    eprintln!(
        "Checked {} object(s): {} problem(s).",
        report.objects,
        report.failures()
    );
}

/// `validate --server`'s verdicts: what the server's dry run rejected, the kinds it does
/// not serve, and what could not be checked.
pub fn validated_on_server(report: &ServerReport) {
    let waiting = &report.waiting_for_charts;
    let report = &report.dry_run;
    for namespace in &report.created_namespaces {
        eprintln!(
            "Created namespace `{namespace}`, as Argo CD will on the lesson's first sync, to check the objects in it."
        );
    }
    for rejection in &report.rejections {
        object_verdict("rejected", &rejection.origin, &rejection.object, &rejection.message);
    }
    for missing in &report.missing_kinds {
        println!(
            "missing kind: {}: no enabled chart brings it; install its CRDs first, or pass `--crds DIR` to check against their schemas",
            used_by(missing)
        );
    }
    for kind in waiting {
        let BroughtBy {
            chart_lesson,
            chart,
            application,
        } = &kind.brought_by;
        let meanwhile = if kind.schema_checked {
            "; its objects got their verdict from the chart's CRD schema meanwhile"
        } else {
            ""
        };
        println!(
            "waiting: {}: chart `{chart}` of lesson `{chart_lesson}` brings it; the cluster serves it once Argo CD syncs `{application}`{meanwhile}",
            used_by(&kind.kind),
        );
    }
    if waiting.iter().any(|kind| !kind.schema_checked) {
        eprintln!(
            "hint: to check those objects before the charts sync, pass `--crds DIR` with the charts' CRD manifests"
        );
    }
    for unverified in &report.unverified {
        object_verdict("unverified", &unverified.origin, &unverified.object, &unverified.reason);
    }
    eprintln!(
        "{} object(s) accepted by the server, {} passed their CRD schema (kind not served yet), {} rejected, {} kind(s) missing, {} kind(s) waiting for their chart, {} unverified.",
        report.accepted,
        report.checked_offline,
        report.rejections.len(),
        report.missing_kinds.len(),
        waiting.len(),
        report.unverified.len()
    );
}

/// One object's verdict on stdout: `VERDICT: LESSON FILE: OBJECT: WHY`.
fn object_verdict(verdict: &str, origin: &Origin, object: &dyn Display, why: &dyn Display) {
    println!(
        "{verdict}: {} {}: {object}: {why}",
        origin.lesson,
        origin.file.display()
    );
}

/// A kind the cluster does not serve and the lessons that use it:
/// `group/version Kind (used by a, b)`.
fn used_by(missing: &MissingKind) -> String {
    format!(
        "{}/{} {} (used by {})",
        missing.group,
        missing.version,
        missing.kind,
        missing
            .lessons
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use gitgen::cluster::{AppStatus, ResourceProblem};

    use super::*;

    fn app(sync: &str, health: &str, revision: &str) -> AppStatus {
        AppStatus {
            name: "lesson".into(),
            labels: Default::default(),
            sync: sync.into(),
            health: health.into(),
            revision: Some(revision.into()),
            message: None,
            problems: Vec::new(),
        }
    }

    fn problem(kind: &str, name: &str, sync: &str, health: Option<&str>, message: Option<&str>) -> ResourceProblem {
        ResourceProblem {
            kind: kind.into(),
            namespace: Some("web".into()),
            name: name.into(),
            sync: sync.into(),
            health: health.map(Into::into),
            message: message.map(Into::into),
        }
    }

    /// Out of sync and degraded, with the resources that are (what `app_status` keeps of
    /// `.status.resources`).
    fn degraded() -> AppStatus {
        AppStatus {
            message: Some("Deployment has not progressed".into()),
            problems: vec![
                problem(
                    "Deployment",
                    "front",
                    "Synced",
                    Some("Degraded"),
                    Some("exceeded its progress deadline"),
                ),
                problem("ConfigMap", "settings", "OutOfSync", None, None),
            ],
            ..app("OutOfSync", "Degraded", "0123456789abcdef")
        }
    }

    fn healthy() -> AppStatus {
        app("Synced", "Healthy", "fedcba9876543210")
    }

    #[test]
    fn renders_the_status_table() {
        let rows = vec![
            StatusRow {
                lesson: "basics".into(),
                enabled_stage: Some("done".into()),
                rendered_fresh: true,
                app: Some(healthy()),
            },
            StatusRow {
                lesson: "ingress".into(),
                enabled_stage: Some("broken".into()),
                rendered_fresh: false,
                app: Some(degraded()),
            },
            StatusRow {
                lesson: "operators".into(),
                enabled_stage: None,
                rendered_fresh: true,
                app: None,
            },
        ];
        insta::assert_snapshot!(status_table(&rows, true));
    }

    fn row_without_an_application() -> Vec<StatusRow> {
        vec![StatusRow {
            lesson: "basics".into(),
            enabled_stage: Some("start".into()),
            rendered_fresh: true,
            app: None,
        }]
    }

    #[test]
    fn says_the_cluster_is_unreachable_when_no_row_has_cluster_data() {
        insta::assert_snapshot!(status_table(&row_without_an_application(), false));
    }

    #[test]
    fn says_a_reachable_cluster_has_no_lesson_application_yet_rather_than_unreachable() {
        let table = status_table(&row_without_an_application(), true);
        assert!(!table.contains("unreachable"), "{table}");
        assert!(
            table.contains("note: the cluster answers, but Argo CD has no lesson Application yet"),
            "{table}"
        );
    }
}
