//! `gitgen bootstrap`, `gitgen status` and `gitgen validate`: the commands that read or
//! talk to a cluster. Each loads the workspace, hands it to `gitgen::deploy` and prints
//! the report.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use gitgen::cluster::{self, AppRow, BootstrapEvent, Change};
use gitgen::deploy::{self, ArgoCdManifest, Bootstrap, BootstrapOptions, ServerValidation, StatusBoard};

use super::{connect, runtime};
use crate::Outcome;
use crate::cli::{BootstrapArgs, GlobalArgs, OutputFormat, StatusArgs, ValidateArgs};

pub fn bootstrap(global: &GlobalArgs, args: &BootstrapArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open(global)?;
    let argocd_manifest = match &args.argocd_manifest {
        Some(path) => ArgoCdManifest::File(path.clone()),
        None => ArgoCdManifest::Pinned,
    };
    let options = BootstrapOptions {
        repo_url: args.repo_url.clone(),
        revision: args.revision.clone(),
        argocd_manifest,
        repo_username: args.repo_username.clone(),
        repo_password: workspace.settings.process.clone_password(),
        timeout: Duration::from_secs(args.timeout),
        wait: args.wait,
        allow_downgrade: args.allow_downgrade,
    };
    let bootstrap = Bootstrap::prepare(&workspace, options)?;
    let mut view = LiveView::new();
    let report = runtime()?.block_on(async {
        let client = connect(&args.cluster, &workspace.settings).await?;
        bootstrap.run(&client, &mut |event| view.show(event)).await
    })?;
    if let OutputFormat::Json = args.output {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(Outcome::Success);
    }
    if let Some(reason) = &report.adopted {
        println!("Adopted an existing Argo CD: {reason}");
    }
    println!(
        "Bootstrapped `{}` on Kubernetes {}: {} created, {} configured, {} unchanged.",
        report.environment, report.server_version, report.created, report.configured, report.unchanged
    );
    if !args.wait {
        println!(
            "Argo CD now syncs the lessons; follow them with `{}`.",
            workspace.settings.command("status --watch")
        );
    }
    Ok(Outcome::Success)
}

/// Progress lines; while waiting, a progress bar and one line per lesson, redrawn in
/// place on a terminal.
struct LiveView {
    terminal: bool,
    drawn: usize,
}

impl LiveView {
    fn new() -> Self {
        LiveView {
            terminal: std::io::stderr().is_terminal(),
            drawn: 0,
        }
    }

    fn show(&mut self, event: &BootstrapEvent) {
        match event {
            BootstrapEvent::InstalledArgoCd(warning) => super::print_pin_warning(warning),
            BootstrapEvent::Downloading { version, url } => eprintln!("Downloading Argo CD {version} from {url}"),
            BootstrapEvent::PreflightPassed { server_version } => {
                eprintln!("Connected: Kubernetes {server_version}; permissions OK.")
            }
            BootstrapEvent::Adopting { reason } => eprintln!("Adopting the Argo CD already installed: {reason}"),
            BootstrapEvent::Applied(applied) if applied.change != Change::Unchanged => {
                eprintln!("{} {}", applied.change, applied.object)
            }
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

pub fn status(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    if let Some(classroom) = gitgen::cluster::Classroom::of(&workspace.settings) {
        return super::classroom::status(&workspace, &classroom, args);
    }
    let board = StatusBoard::new(&workspace)?;
    let runtime = runtime()?;
    super::show_until_stopped(args.watch, || {
        let report = runtime.block_on(async { board.read(connect(&args.cluster, &workspace.settings).await).await });
        Ok(match args.output {
            OutputFormat::Json => super::View {
                stdout: format!("{}\n", serde_json::to_string_pretty(&report)?),
                stderr: String::new(),
            },
            OutputFormat::Table => super::View {
                stdout: cluster::render_table(&report.lessons, report.unreachable.is_none()),
                stderr: report
                    .unreachable
                    .map(|err| format!("The cluster is unreachable ({err}); showing the git side only.\n"))
                    .unwrap_or_default(),
            },
        })
    })
}

pub fn validate(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    if args.server {
        return validate_on_server(&workspace, args);
    }
    let report = deploy::validate_offline(&workspace, args.crds.as_deref())?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => {
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
    }
    Ok(if report.passed() {
        Outcome::Success
    } else {
        Outcome::Different
    })
}

fn validate_on_server(workspace: &gitgen::workspace::Workspace, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let validation = ServerValidation::prepare(workspace, args.crds.as_deref())?;
    let report = runtime()?.block_on(async { validation.run(&connect(&args.cluster, &workspace.settings).await?).await })?;
    let outcome = if report.dry_run.passed() {
        Outcome::Success
    } else {
        Outcome::Different
    };
    if let OutputFormat::Json = args.output {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(outcome);
    }
    let waiting = report.waiting_for_charts;
    let report = report.dry_run;
    for namespace in &report.created_namespaces {
        eprintln!(
            "Created namespace `{namespace}`, as Argo CD will on the lesson's first sync, to check the objects in it."
        );
    }
    for rejection in &report.rejections {
        println!(
            "rejected: {} {}: {}: {}",
            rejection.origin.lesson,
            rejection.origin.file.display(),
            rejection.object,
            rejection.message
        );
    }
    for missing in &report.missing_kinds {
        let lessons: Vec<&str> = missing.lessons.iter().map(String::as_str).collect();
        println!(
            "missing kind: {}/{} {} (used by {}): no enabled chart brings it; install its CRDs first, or pass `--crds DIR` to check against their schemas",
            missing.group,
            missing.version,
            missing.kind,
            lessons.join(", ")
        );
    }
    for kind in &waiting {
        let missing = &kind.kind;
        let lessons: Vec<&str> = missing.lessons.iter().map(String::as_str).collect();
        println!(
            "waiting: {}/{} {} (used by {}): chart `{}` of lesson `{}` brings it; the cluster serves it once Argo CD syncs `{}-{}`",
            missing.group,
            missing.version,
            missing.kind,
            lessons.join(", "),
            kind.chart,
            kind.chart_lesson,
            kind.chart_lesson,
            kind.chart
        );
    }
    if !waiting.is_empty() {
        eprintln!(
            "hint: to check those objects before the charts sync, pass `--crds DIR` with the charts' CRD manifests"
        );
    }
    for unverified in &report.unverified {
        println!(
            "unverified: {} {}: {}: {}",
            unverified.origin.lesson,
            unverified.origin.file.display(),
            unverified.object,
            unverified.reason
        );
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
    Ok(outcome)
}
