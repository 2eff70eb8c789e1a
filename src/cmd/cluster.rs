//! `gitgen bootstrap`, `gitgen status` and `gitgen validate`: the commands that read or
//! talk to a cluster. Each builds its inputs from the workspace and hands them to
//! `gitgen::cluster`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use gitgen::cluster::{
    self, AppRow, BootstrapEvent, BootstrapPlan, Change, Origin, RepoCredentials, ServerObject, StatusRow, WaitPlan,
};
use gitgen::settings::ProcessEnv;
use gitgen::validate::{Check, CrdSchemas, check_object, constraint_crd};
use gitgen::workspace::Workspace;

use crate::Outcome;
use crate::cli::{BootstrapArgs, ClusterArgs, GlobalArgs, OutputFormat, StatusArgs, ValidateArgs};

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub(super) async fn connect(args: &ClusterArgs) -> Result<kube::Client, gitgen::Error> {
    Ok(cluster::connect(args.kubeconfig.as_deref(), args.context.as_deref()).await?)
}

fn usage(message: String, hint: &str) -> anyhow::Error {
    gitgen::Error::Usage {
        message,
        hint: Some(hint.to_owned()),
    }
    .into()
}

/// The upstream install manifest of the pinned Argo CD release.
fn download_argocd(version: &str) -> anyhow::Result<(String, String)> {
    let url = gitgen::argocd_install::manifest_url(version);
    eprintln!("Downloading Argo CD {version} from {url}");
    let text = ureq::get(&url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|err| gitgen::Error::Download {
            url: url.clone(),
            message: err.to_string(),
        })?;
    Ok((text, url))
}

pub fn bootstrap(global: &GlobalArgs, args: &BootstrapArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open(global)?;
    let config = &workspace.settings.config;
    let repo_url = config.repo_url.as_str();
    if let Some(asked) = args.repo_url.as_deref().filter(|asked| *asked != repo_url) {
        // The root Application reads the committed Applications and AppProjects, which
        // name gitgen.yaml's URL: a root on another URL would be denied by its projects.
        return Err(usage(
            format!("`--repo-url {asked}` differs from `repo_url` in gitgen.yaml (`{repo_url}`)"),
            "set `repo_url` in gitgen.yaml, run `gitgen render`, commit and push, then bootstrap: the committed Applications and AppProjects must name the URL the root Application reads",
        ));
    }
    if repo_url == gitgen::scaffold::PLACEHOLDER_REPO_URL {
        return Err(usage(
            format!("`repo_url` in gitgen.yaml is still the placeholder `{repo_url}`"),
            "set it to where Argo CD can clone this repo, then `gitgen render`, commit and push",
        ));
    }
    let root_objects = workspace.root_objects(None, args.revision.as_deref())?;
    let argocd_namespace = config.argocd.namespace.clone();
    let runtime = runtime()?;
    // The cluster answers and allows bootstrap before anything is downloaded.
    let (client, preflighted) = runtime.block_on(async {
        let client = connect(&args.cluster).await?;
        let preflighted = cluster::preflight(&client, &argocd_namespace).await?;
        Ok::<_, gitgen::Error>((client, preflighted))
    })?;
    warn_about_the_installed_argocd(&runtime, &client, &argocd_namespace, &config.argocd.version)?;
    let (argocd_manifest, argocd_manifest_origin) = match &args.argocd_manifest {
        Some(path) => (fs_err::read_to_string(path)?, path.display().to_string()),
        None => download_argocd(&config.argocd.version)?,
    };
    let repo_credentials = ProcessEnv::read().clone_password().map(|password| RepoCredentials {
        url: repo_url.to_owned(),
        username: args.repo_username.clone().unwrap_or_else(|| "git".to_owned()),
        password,
    });
    let timeout = Duration::from_secs(args.timeout);
    let plan = BootstrapPlan {
        argocd_namespace,
        argocd_manifest,
        argocd_manifest_origin,
        repo_credentials,
        root_objects,
        crd_timeout: timeout,
        wait: args.wait.then(|| WaitPlan {
            applications: workspace.selection.lessons.keys().map(|id| id.to_string()).collect(),
            timeout,
        }),
    };
    let mut view = LiveView::new();
    let report = runtime.block_on(async {
        cluster::bootstrap(&client, preflighted, &plan, &mut |event| view.show(&event))
            .await
            .map_err(gitgen::Error::from)
    })?;
    let count = |change: Change| report.objects.iter().filter(|a| a.change == change).count();
    if let OutputFormat::Json = args.output {
        let json = serde_json::json!({
            "environment": workspace.settings.env_name,
            "server_version": report.server_version,
            "adopted": report.adopted,
            "created": count(Change::Created),
            "configured": count(Change::Configured),
            "unchanged": count(Change::Unchanged),
            "objects": report.objects,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(Outcome::Success);
    }
    if let Some(reason) = &report.adopted {
        println!("Adopted an existing Argo CD: {reason}");
    }
    println!(
        "Bootstrapped `{}` on Kubernetes {}: {} created, {} configured, {} unchanged.",
        workspace.settings.env_name,
        report.server_version,
        count(Change::Created),
        count(Change::Configured),
        count(Change::Unchanged)
    );
    if !args.wait {
        println!("Argo CD now syncs the lessons; follow them with `gitgen status --watch`.");
    }
    Ok(Outcome::Success)
}

/// Warns when the Argo CD running in the cluster is more than one minor older than the pin
/// (or newer): bootstrap applies the pinned release over it, as a sync would.
fn warn_about_the_installed_argocd(
    runtime: &tokio::runtime::Runtime,
    client: &kube::Client,
    namespace: &str,
    pin: &str,
) -> anyhow::Result<()> {
    use gitgen::catalog::argocd_version::{ArgoCdVersion, PinWarning, pin_change};
    let installed = runtime
        .block_on(cluster::bootstrap::installed_version(client, namespace))
        .map_err(gitgen::Error::from)?;
    let Ok(pinned) = ArgoCdVersion::parse_supported(pin) else {
        return Ok(());
    };
    if let Some(change) = installed.and_then(|from| pin_change(from, pinned)) {
        let warning = PinWarning::Installed { change };
        super::print_pin_warning(&warning);
    }
    Ok(())
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
    if let Some(classroom) = super::classroom::of(&workspace.settings) {
        return super::classroom::status(&workspace, &classroom, args);
    }
    let fresh = workspace.freshness()?;
    let namespace = workspace.settings.config.argocd.namespace.clone();
    let runtime = runtime()?;
    loop {
        let apps = runtime.block_on(async {
            let client = connect(&args.cluster).await?;
            Ok::<_, gitgen::Error>(cluster::application_statuses(&client, &namespace).await?)
        });
        let (apps, unreachable) = match apps {
            Ok(apps) => (apps, None),
            Err(err) => (Vec::new(), Some(err)),
        };
        let rows: Vec<StatusRow> = workspace
            .catalog
            .lessons
            .keys()
            .map(|id| StatusRow {
                lesson: id.to_string(),
                enabled_stage: workspace.selection.lessons.get(id).map(|s| s.to_string()),
                rendered_fresh: fresh[id],
                app: apps.iter().find(|a| a.name == id.as_str()).cloned(),
            })
            .collect();
        match args.output {
            OutputFormat::Json => {
                let cluster = match &unreachable {
                    None => serde_json::json!({"reachable": true}),
                    Some(err) => serde_json::json!({"reachable": false, "error": err.to_string()}),
                };
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"environment": workspace.settings.env_name, "cluster": cluster, "lessons": rows})
                    )?
                );
            }
            OutputFormat::Table => {
                print!("{}", cluster::render_table(&rows));
                if let Some(err) = &unreachable {
                    eprintln!("The cluster is unreachable ({err}); showing the git side only.");
                }
            }
        }
        if !args.watch {
            return Ok(Outcome::Success);
        }
        std::thread::sleep(Duration::from_secs(5));
        println!();
    }
}

pub fn validate(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let workspace = super::open_read_only(global)?;
    if args.server {
        return validate_on_server(&workspace, args);
    }
    // Offline: every object of every lesson at every stage, plus the Argo CD bundle.
    let files = gitgen::render::everything(&workspace.context()).map_err(gitgen::Error::from)?;
    let mut objects = Vec::new();
    for file in files.iter().filter(|f| gitgen::render::holds_objects(&f.path)) {
        let documents: Vec<serde_json::Value> =
            gitgen::yaml::documents(&file.contents, file.path.as_ref()).map_err(gitgen::Error::from)?;
        objects.extend(documents.into_iter().map(|o| (file.path.as_str(), o)));
    }
    let schemas = match &args.crds {
        Some(dir) if !dir.is_dir() => {
            return Err(gitgen::Error::Usage {
                message: format!("`--crds {}`: there is no such folder", dir.display()),
                hint: Some("give a folder of CRD manifests (`*.yaml`), e.g. `../shared/crds`".to_owned()),
            }
            .into());
        }
        Some(dir) => Some(crd_schemas(Some(dir), objects.iter().map(|(_, o)| o))?),
        None => None,
    };
    let (mut problems, mut unchecked) = (Vec::new(), Vec::new());
    for (path, object) in &objects {
        let (check, found) = check_object(object, schemas.as_ref());
        let id = format!(
            "{} {}",
            object["kind"].as_str().unwrap_or("?"),
            object["metadata"]["name"].as_str().unwrap_or("?")
        );
        problems.extend(found.iter().map(|problem| Finding {
            file: path,
            object: id.clone(),
            detail: problem.to_string(),
        }));
        if check == Check::Minimum {
            unchecked.push(Finding {
                file: path,
                object: id,
                detail: object["apiVersion"].as_str().unwrap_or("?").to_owned(),
            });
        }
    }
    // With `--crds`, a custom resource no schema covers is a problem; without, a note.
    let unchecked_fails = args.crds.is_some();
    let count = problems.len() + if unchecked_fails { unchecked.len() } else { 0 };
    match args.output {
        OutputFormat::Json => {
            let json = serde_json::json!({
                "environment": workspace.settings.env_name,
                "server": false,
                "passed": count == 0,
                "objects": objects.len(),
                "problems": problems.iter().map(|p| serde_json::json!({"file": p.file, "object": p.object, "problem": p.detail})).collect::<Vec<_>>(),
                "unchecked": unchecked.iter().map(|u| serde_json::json!({"file": u.file, "object": u.object, "api_version": u.detail})).collect::<Vec<_>>(),
                "unchecked_fail": unchecked_fails,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        OutputFormat::Table => {
            for p in &problems {
                println!("{}: {}: {}", p.file, p.object, p.detail);
            }
            if unchecked_fails {
                for u in &unchecked {
                    println!(
                        "{}: {} ({}): no built-in type and no CRD schema",
                        u.file, u.object, u.detail
                    );
                }
            } else if !unchecked.is_empty() {
                eprintln!(
                    "{} custom resource(s) got only the minimum check; pass `--crds DIR` to check them against their CRDs.",
                    unchecked.len()
                );
            }
            eprintln!("Checked {} object(s): {count} problem(s).", objects.len());
        }
    }
    Ok(if count == 0 {
        Outcome::Success
    } else {
        Outcome::Different
    })
}

/// One finding of the offline `validate`: a problem (`detail` says what), or a custom
/// resource that got only the minimum check (`detail` is its apiVersion).
struct Finding<'a> {
    file: &'a str,
    object: String,
    detail: String,
}

/// The CRD schemas custom resources are checked against: those under `dir`, the CRDs
/// among `objects`, and the constraint CRDs their Gatekeeper ConstraintTemplates define.
fn crd_schemas<'a>(
    dir: Option<&std::path::Path>,
    objects: impl Iterator<Item = &'a serde_json::Value> + Clone,
) -> anyhow::Result<CrdSchemas> {
    let mut schemas = match dir {
        Some(dir) => CrdSchemas::from_dir(dir).map_err(gitgen::Error::from)?,
        None => CrdSchemas::default(),
    };
    let mut documents: Vec<serde_json::Value> = objects.clone().filter_map(constraint_crd).collect();
    documents.extend(objects.filter(|o| o["kind"] == "CustomResourceDefinition").cloned());
    schemas.extend(documents).map_err(gitgen::Error::from)?;
    Ok(schemas)
}

/// The Namespaces Argo CD itself creates for the environment's Applications
/// (`CreateNamespace=true`, labelled from `managedNamespaceMetadata`) that no lesson object
/// already is: checked, and created when objects need them, like the lessons' own.
fn namespaces_argocd_creates(workspace: &Workspace, objects: &[ServerObject]) -> anyhow::Result<Vec<ServerObject>> {
    let declared: Vec<&str> = objects
        .iter()
        .filter(|o| o.object["kind"] == "Namespace" && o.object["apiVersion"] == "v1")
        .filter_map(|o| o.object["metadata"]["name"].as_str())
        .collect();
    let mut namespaces: Vec<ServerObject> = Vec::new();
    let files = gitgen::render::argocd::emit(&workspace.context()).map_err(gitgen::Error::from)?;
    for file in files.iter().filter(|f| f.path.ends_with(".application.yaml")) {
        let app: serde_json::Value =
            gitgen::yaml::from_str(&file.contents, file.path.as_ref()).map_err(gitgen::Error::from)?;
        let policy = &app["spec"]["syncPolicy"];
        let creates = policy["syncOptions"]
            .as_array()
            .is_some_and(|options| options.iter().any(|o| o == "CreateNamespace=true"));
        let Some(name) = app["spec"]["destination"]["namespace"].as_str() else {
            continue;
        };
        if !creates || declared.contains(&name) || namespaces.iter().any(|n| n.object["metadata"]["name"] == name) {
            continue;
        }
        let mut metadata = serde_json::json!({"name": name});
        for key in ["labels", "annotations"] {
            if let Some(value) = policy["managedNamespaceMetadata"].get(key) {
                metadata[key] = value.clone();
            }
        }
        let lesson = app["metadata"]["labels"]["gitgen.io/lesson"]
            .as_str()
            .unwrap_or_default();
        namespaces.push(ServerObject {
            origin: Origin {
                lesson: lesson.to_owned(),
                file: file.path.clone().into(),
            },
            object: serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}),
            namespace: name.to_owned(),
        });
    }
    Ok(namespaces)
}

fn validate_on_server(workspace: &Workspace, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    // Objects without a namespace go to their lesson's namespace, as Argo CD does.
    let objects: Vec<ServerObject> = workspace
        .enabled_objects()?
        .into_iter()
        .map(|(lesson, file, object)| ServerObject {
            namespace: workspace.catalog.lessons[&lesson].lesson.namespace.clone(),
            origin: Origin {
                lesson: lesson.to_string(),
                file: file.into(),
            },
            object,
        })
        .collect();
    let mut objects = objects;
    objects.extend(namespaces_argocd_creates(workspace, &objects)?);
    let schemas = crd_schemas(args.crds.as_deref(), objects.iter().map(|o| &o.object))?;
    let report = runtime()?.block_on(async {
        let client = connect(&args.cluster).await?;
        Ok::<_, gitgen::Error>(cluster::dry_run(&client, &objects, &schemas).await?)
    })?;
    if let OutputFormat::Json = args.output {
        let mut json = serde_json::to_value(&report)?;
        json["environment"] = workspace.settings.env_name.to_string().into();
        json["server"] = true.into();
        json["passed"] = report.passed().into();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(if report.passed() {
            Outcome::Success
        } else {
            Outcome::Different
        });
    }
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
            "missing kind: {}/{} {} (used by {}): install its CRDs first, or pass `--crds DIR` to check against their schemas",
            missing.group,
            missing.version,
            missing.kind,
            lessons.join(", ")
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
        "{} object(s) accepted by the server, {} passed their CRD schema (kind not served yet), {} rejected, {} kind(s) missing, {} unverified.",
        report.accepted,
        report.checked_offline,
        report.rejections.len(),
        report.missing_kinds.len(),
        report.unverified.len()
    );
    Ok(if report.passed() {
        Outcome::Success
    } else {
        Outcome::Different
    })
}
