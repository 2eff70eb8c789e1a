//! `gitgen validate`: every rendered object checked offline against its Kubernetes type or
//! CRD schema ([`validate_offline`]), or every enabled lesson's objects checked by the API
//! server's dry run ([`ServerValidation`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::cluster::{self, DryRunReport, MissingKind, Origin, ServerObject};
use crate::validate::{Check, CrdSchemas, check_object, constraint_crd};
use crate::workspace::Workspace;

/// What the offline `validate` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineReport {
    /// The environment.
    pub environment: String,
    /// How many objects were checked.
    pub objects: usize,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Custom resources no CRD schema covers, which got only the minimum check.
    pub unchecked: Vec<Unchecked>,
    /// Whether those count as problems: they do when CRDs were given (`--crds`), so a
    /// custom resource without a schema is a mistake rather than a gap.
    pub unchecked_fail: bool,
}

/// One problem with one rendered object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The rendered file, relative to the repo.
    pub file: String,
    /// `Kind name`.
    pub object: String,
    /// What is wrong.
    pub problem: String,
}

/// A custom resource that got only the minimum check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    /// The rendered file, relative to the repo.
    pub file: String,
    /// `Kind name`.
    pub object: String,
    /// Its `apiVersion`, whose CRD is missing.
    pub api_version: String,
}

impl OfflineReport {
    /// How many findings fail the check: the problems, and the unchecked resources when
    /// they count.
    pub fn failures(&self) -> usize {
        self.problems.len() + if self.unchecked_fail { self.unchecked.len() } else { 0 }
    }

    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        self.failures() == 0
    }
}

impl Serialize for OfflineReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The `-o json` shape, which also says which check ran and its verdict.
        #[derive(Serialize)]
        struct Json<'a> {
            environment: &'a str,
            server: bool,
            passed: bool,
            objects: usize,
            problems: &'a [Problem],
            unchecked: &'a [Unchecked],
            unchecked_fail: bool,
        }
        Json {
            environment: &self.environment,
            server: false,
            passed: self.passed(),
            objects: self.objects,
            problems: &self.problems,
            unchecked: &self.unchecked,
            unchecked_fail: self.unchecked_fail,
        }
        .serialize(serializer)
    }
}

/// Checks every object of every lesson at every stage, and the Argo CD bundle, without a
/// cluster: each against its built-in type, else the CRD schemas under `crds` (and those
/// the objects define), else the minimum every object needs.
pub fn validate_offline(workspace: &Workspace, crds: Option<&Path>) -> Result<OfflineReport, Error> {
    let files = crate::render::everything(&workspace.context())?;
    let mut objects = Vec::new();
    for file in files.iter().filter(|f| crate::render::holds_objects(&f.path)) {
        let documents: Vec<Value> = crate::yaml::documents(&file.contents, file.path.as_ref())?;
        objects.extend(documents.into_iter().map(|o| (file.path.clone(), o)));
    }
    let schemas = match crds {
        Some(dir) if !dir.is_dir() => {
            return Err(Error::Usage {
                message: format!("`--crds {}`: there is no such folder", dir.display()),
                hint: Some("give a folder of CRD manifests (`*.yaml`), e.g. `../shared/crds`".to_owned()),
            });
        }
        Some(dir) => Some(crd_schemas(Some(dir), objects.iter().map(|(_, o)| o))?),
        None => None,
    };
    Ok(check_objects(
        workspace.settings.env_name.to_string(),
        &objects,
        schemas.as_ref(),
    ))
}

/// Checks each `(file, object)`; see [`validate_offline`]. With `schemas` (CRDs were
/// given), a custom resource none covers fails; without, it is only listed.
fn check_objects(environment: String, objects: &[(String, Value)], schemas: Option<&CrdSchemas>) -> OfflineReport {
    let mut report = OfflineReport {
        environment,
        objects: objects.len(),
        problems: Vec::new(),
        unchecked: Vec::new(),
        unchecked_fail: schemas.is_some(),
    };
    for (file, object) in objects {
        let (check, found) = check_object(object, schemas);
        let id = format!(
            "{} {}",
            object["kind"].as_str().unwrap_or("?"),
            object["metadata"]["name"].as_str().unwrap_or("?")
        );
        report.problems.extend(found.iter().map(|problem| Problem {
            file: file.clone(),
            object: id.clone(),
            problem: problem.to_string(),
        }));
        if check == Check::Minimum {
            report.unchecked.push(Unchecked {
                file: file.clone(),
                object: id,
                api_version: object["apiVersion"].as_str().unwrap_or("?").to_owned(),
            });
        }
    }
    report
}

/// The CRD schemas custom resources are checked against: those under `dir`, the CRDs
/// among `objects`, and the constraint CRDs their Gatekeeper ConstraintTemplates define.
fn crd_schemas<'a>(dir: Option<&Path>, objects: impl Iterator<Item = &'a Value> + Clone) -> Result<CrdSchemas, Error> {
    let mut schemas = match dir {
        Some(dir) => CrdSchemas::from_dir(dir)?,
        None => CrdSchemas::default(),
    };
    let mut documents: Vec<Value> = objects.clone().filter_map(constraint_crd).collect();
    documents.extend(objects.filter(|o| o["kind"] == "CustomResourceDefinition").cloned());
    schemas.extend(documents)?;
    Ok(schemas)
}

/// The chart that lesson `lesson`'s Application `application` installs, when that
/// Application is among `objects` (the lesson enables it at its stage).
fn chart_of_application<'a>(objects: &'a [ServerObject], lesson: &str, application: &str) -> Option<&'a str> {
    objects
        .iter()
        .filter(|o| o.origin.lesson == lesson && o.object["kind"] == "Application")
        .find(|o| o.object["apiVersion"] == "argoproj.io/v1alpha1" && o.object["metadata"]["name"] == application)
        .and_then(|o| o.object["spec"]["source"]["chart"].as_str())
}

/// What the server's dry run found, for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReport {
    /// The environment.
    pub environment: String,
    /// The verdicts. Its `missing_kinds` are those nobody brings: a kind an enabled chart's
    /// CRDs define is in `waiting_for_charts` instead.
    pub dry_run: DryRunReport,
    /// Kinds the cluster does not serve yet, no CRD schema at hand covers, and an enabled
    /// lesson's chart brings: they get served when Argo CD syncs that chart, so they fail
    /// nothing.
    pub waiting_for_charts: Vec<WaitingKind>,
}

/// A kind that an enabled chart brings, which the cluster does not serve before that
/// chart's first sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingKind {
    /// The kind, and the lessons whose objects use it.
    #[serde(flatten)]
    pub kind: MissingKind,
    /// Who brings it.
    #[serde(flatten)]
    pub brought_by: BroughtBy,
    /// Whether its objects got their verdict from the chart's CRD schema meanwhile
    /// (`--crds`, or a schema the catalog ships); if not, they are not checked yet.
    pub schema_checked: bool,
}

/// The chart that brings a custom kind, and the Application Argo CD installs it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BroughtBy {
    /// The enabled lesson whose chart, or whose own Application, installs it.
    pub chart_lesson: String,
    /// The chart: a lesson's chart by its release name, else the Application's `chart`.
    pub chart: String,
    /// The Application that installs the chart: `<lesson>-<chart>` for a lesson's chart,
    /// or the lesson's own (`argo-rollouts-controller` of the argocd lesson).
    pub application: String,
}

impl Serialize for ServerReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The `-o json` shape: the dry run's findings, then which check ran and its verdict.
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            dry_run: &'a DryRunReport,
            waiting_for_charts: &'a [WaitingKind],
            environment: &'a str,
            server: bool,
            passed: bool,
        }
        Json {
            dry_run: &self.dry_run,
            waiting_for_charts: &self.waiting_for_charts,
            environment: &self.environment,
            server: true,
            passed: self.dry_run.passed(),
        }
        .serialize(serializer)
    }
}

/// `validate --server`, read from the workspace and ready to ask a cluster: every enabled
/// lesson's objects at its stage, the Namespaces Argo CD creates for them, and the CRD
/// schemas for kinds the cluster does not serve yet.
pub struct ServerValidation {
    environment: String,
    objects: Vec<ServerObject>,
    schemas: CrdSchemas,
    /// `(group, Kind)` of each custom kind an enabled lesson's chart brings at its stage
    /// (the chart's `creates.crds`, or `argocd_objects.application_crds` for a chart
    /// the lesson's own Application installs), with who brings it.
    chart_kinds: BTreeMap<(String, String), BroughtBy>,
}

impl ServerValidation {
    /// Gathers the objects and schemas; `crds` is a folder of more CRD manifests.
    pub fn prepare(workspace: &Workspace, crds: Option<&Path>) -> Result<Self, Error> {
        // Objects without a namespace go to their lesson's namespace, as Argo CD does.
        let mut objects: Vec<ServerObject> = workspace
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
        let mut applications = Vec::new();
        for file in crate::render::argocd::emit(&workspace.context())? {
            if file.path.ends_with(".application.yaml") {
                let app: Value = crate::yaml::from_str(&file.contents, file.path.as_ref())?;
                applications.push((file.path, app));
            }
        }
        objects.extend(cluster::namespaces_argocd_creates(&objects, &applications));
        let mut schemas = crd_schemas(crds, objects.iter().map(|o| &o.object))?;
        let mut chart_kinds = BTreeMap::new();
        let mut bring = |kinds: &[String], brought_by: BroughtBy| {
            for (group, name) in kinds.iter().filter_map(|kind| kind.split_once('/')) {
                chart_kinds.insert((group.to_owned(), name.to_owned()), brought_by.clone());
            }
        };
        for (id, stage) in &workspace.selection.lessons {
            let lesson = &workspace.catalog.lessons[id];
            let charts = lesson.lesson.charts.iter();
            for chart in charts.filter(|c| lesson.in_stage(c.since.as_ref(), c.until.as_ref(), stage.index)) {
                let brought_by = BroughtBy {
                    chart_lesson: id.to_string(),
                    chart: chart.name.clone(),
                    application: format!("{id}-{}", chart.name),
                };
                bring(&chart.creates.crds, brought_by);
            }
            let declared = lesson.lesson.argocd_objects.iter().flat_map(|a| &a.application_crds);
            for brought in declared {
                let Some(chart) = chart_of_application(&objects, id.as_str(), &brought.application) else {
                    continue;
                };
                let brought_by = BroughtBy {
                    chart_lesson: id.to_string(),
                    chart: chart.to_owned(),
                    application: brought.application.clone(),
                };
                bring(&brought.crds, brought_by);
                for schema in &brought.schemas {
                    let path = lesson.dir.join(&schema.value);
                    let text = lesson.files.get(&schema.value).map_or("", String::as_str);
                    schemas.extend(crate::yaml::documents(text, &path)?)?;
                }
            }
        }
        Ok(ServerValidation {
            environment: workspace.settings.env_name.to_string(),
            objects,
            schemas,
            chart_kinds,
        })
    }

    /// Runs the dry run on the cluster `client` reaches ([`cluster::dry_run`]), and sets
    /// the kinds an enabled chart brings apart from those nobody brings.
    pub async fn run(&self, client: &kube::Client) -> Result<ServerReport, Error> {
        let dry_run = cluster::dry_run(client, &self.objects, &self.schemas).await?;
        Ok(self.report(dry_run))
    }

    /// The report of `dry_run`: a kind the cluster does not serve yet that an enabled
    /// chart brings waits for it, failing nothing when no schema covered it, and keeping
    /// its schema's verdicts when one did.
    fn report(&self, mut dry_run: DryRunReport) -> ServerReport {
        let brought_by = |kind: &MissingKind| self.chart_kinds.get(&(kind.group.clone(), kind.kind.clone()));
        let mut waiting_for_charts = Vec::new();
        dry_run.missing_kinds.retain(|missing| {
            let Some(brought_by) = brought_by(missing) else {
                return true;
            };
            waiting_for_charts.push(WaitingKind {
                kind: missing.clone(),
                brought_by: brought_by.clone(),
                schema_checked: false,
            });
            false
        });
        for checked in &dry_run.schema_checked_kinds {
            if let Some(brought_by) = brought_by(checked) {
                waiting_for_charts.push(WaitingKind {
                    kind: checked.clone(),
                    brought_by: brought_by.clone(),
                    schema_checked: true,
                });
            }
        }
        ServerReport {
            environment: self.environment.clone(),
            dry_run,
            waiting_for_charts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> Vec<(String, Value)> {
        vec![
            (
                "generated/alpha/pod/pod.yaml".to_owned(),
                serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                    "spec": {"containers": [{"name": "web", "image": "nginx", "bogus": 1}]}}),
            ),
            (
                "generated/alpha/pod/monitor.yaml".to_owned(),
                serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
            ),
        ]
    }

    #[test]
    fn a_problem_names_its_file_and_object_and_a_custom_resource_without_schema_is_listed() {
        let report = check_objects("kind".into(), &objects(), None);
        assert_eq!(report.objects, 2);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert_eq!(report.problems[0].file, "generated/alpha/pod/pod.yaml");
        assert_eq!(report.problems[0].object, "Pod web");
        assert!(report.problems[0].problem.contains("bogus"), "{report:?}");
        assert_eq!(
            report.unchecked,
            [Unchecked {
                file: "generated/alpha/pod/monitor.yaml".into(),
                object: "Widget w".into(),
                api_version: "example.com/v1".into(),
            }]
        );
        assert_eq!(
            report.failures(),
            1,
            "without CRDs an unchecked resource is only listed"
        );
    }

    #[test]
    fn with_crds_given_a_custom_resource_no_schema_covers_fails() {
        let report = check_objects("kind".into(), &objects(), Some(&CrdSchemas::default()));
        assert!(report.unchecked_fail);
        assert_eq!(report.failures(), 2);
        assert!(!report.passed());
    }

    /// `report` as JSON, and its keys in order.
    fn json_and_keys(report: &impl Serialize) -> (Value, Vec<String>) {
        let json = serde_json::to_value(report).unwrap();
        let keys = json.as_object().unwrap().keys().cloned().collect();
        (json, keys)
    }

    #[test]
    fn the_json_of_an_offline_report_says_no_server_checked_and_whether_it_passed() {
        let report = check_objects("kind".into(), &objects()[1..], None);
        let (json, keys) = json_and_keys(&report);
        assert_eq!(
            keys,
            [
                "environment",
                "server",
                "passed",
                "objects",
                "problems",
                "unchecked",
                "unchecked_fail"
            ]
        );
        assert_eq!((&json["server"], &json["passed"]), (&false.into(), &true.into()));
        assert_eq!(json["unchecked"][0]["api_version"], "example.com/v1");
    }

    #[test]
    fn the_json_of_a_server_report_adds_the_verdict_after_the_dry_runs_findings() {
        let report = ServerReport {
            environment: "kind".into(),
            dry_run: DryRunReport {
                accepted: 3,
                ..DryRunReport::default()
            },
            waiting_for_charts: Vec::new(),
        };
        let (json, keys) = json_and_keys(&report);
        assert_eq!(
            keys,
            [
                "accepted",
                "checked_offline",
                "rejections",
                "missing_kinds",
                "schema_checked_kinds",
                "unverified",
                "created_namespaces",
                "waiting_for_charts",
                "environment",
                "server",
                "passed"
            ]
        );
        assert_eq!((&json["server"], &json["passed"]), (&true.into(), &true.into()));
    }

    fn missing(group: &str, kind: &str) -> MissingKind {
        MissingKind {
            group: group.into(),
            version: "v1alpha1".into(),
            kind: kind.into(),
            lessons: ["keda".to_owned()].into(),
        }
    }

    fn keda() -> BroughtBy {
        BroughtBy {
            chart_lesson: "keda".into(),
            chart: "keda".into(),
            application: "keda-keda".into(),
        }
    }

    fn rollouts() -> BroughtBy {
        BroughtBy {
            chart_lesson: "argocd".into(),
            chart: "argo-rollouts".into(),
            application: "argo-rollouts-controller".into(),
        }
    }

    /// A validation that knows who brings ScaledObject (keda's chart) and Rollout (the
    /// argocd lesson's Application).
    fn validation() -> ServerValidation {
        ServerValidation {
            environment: "kind".into(),
            objects: Vec::new(),
            schemas: CrdSchemas::default(),
            chart_kinds: [
                (("keda.sh".into(), "ScaledObject".into()), keda()),
                (("argoproj.io".into(), "Rollout".into()), rollouts()),
            ]
            .into(),
        }
    }

    #[test]
    fn a_missing_kind_an_enabled_chart_brings_waits_for_that_chart_and_fails_nothing() {
        let validation = validation();
        let report = validation.report(DryRunReport {
            missing_kinds: vec![missing("keda.sh", "ScaledObject"), missing("example.com", "Gadget")],
            ..DryRunReport::default()
        });
        assert_eq!(report.dry_run.missing_kinds, [missing("example.com", "Gadget")]);
        assert_eq!(
            report.waiting_for_charts,
            [WaitingKind {
                kind: missing("keda.sh", "ScaledObject"),
                brought_by: keda(),
                schema_checked: false,
            }]
        );
        assert!(!report.dry_run.passed(), "a kind nobody brings still fails");
        let only_waiting = validation.report(DryRunReport {
            missing_kinds: vec![missing("keda.sh", "ScaledObject")],
            ..DryRunReport::default()
        });
        assert!(only_waiting.dry_run.passed());
    }

    #[test]
    fn a_kind_an_application_brings_waits_for_it_with_its_schemas_verdicts_kept() {
        let report = validation().report(DryRunReport {
            schema_checked_kinds: vec![missing("argoproj.io", "Rollout"), missing("example.com", "Gadget")],
            ..DryRunReport::default()
        });
        assert_eq!(
            report.waiting_for_charts,
            [WaitingKind {
                kind: missing("argoproj.io", "Rollout"),
                brought_by: rollouts(),
                schema_checked: true,
            }],
            "a kind checked against a schema that nobody brings is not waiting for anyone"
        );
        assert!(report.dry_run.passed());
    }

    fn server_object(lesson: &str, object: Value) -> ServerObject {
        ServerObject {
            origin: Origin {
                lesson: lesson.into(),
                file: "generated/x.yaml".into(),
            },
            object,
            namespace: "argocd".into(),
        }
    }

    #[test]
    fn an_application_brings_its_charts_kinds_only_when_its_lesson_renders_it() {
        let application = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "argo-rollouts-controller"},
            "spec": {"source": {"chart": "argo-rollouts", "targetRevision": "2.37.7"}}});
        let objects = [server_object("argocd", application.clone())];
        assert_eq!(
            chart_of_application(&objects, "argocd", "argo-rollouts-controller"),
            Some("argo-rollouts")
        );
        assert_eq!(chart_of_application(&objects, "argocd", "another"), None);
        assert_eq!(
            chart_of_application(&objects, "other", "argo-rollouts-controller"),
            None,
            "another lesson's Application of that name"
        );
        let mut from_git = application;
        from_git["spec"]["source"] = serde_json::json!({"repoURL": "https://example.com/r.git", "path": "x"});
        let objects = [server_object("argocd", from_git)];
        assert_eq!(
            chart_of_application(&objects, "argocd", "argo-rollouts-controller"),
            None
        );
    }

    #[test]
    fn the_schemas_cover_the_crds_and_the_gatekeeper_constraints_among_the_objects() {
        let crd = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        });
        let template = serde_json::json!({
            "apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
            "metadata": {"name": "k8srequiredlabels"},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sRequiredLabels"}}}},
        });
        let objects = [crd, template];
        let schemas = crd_schemas(None, objects.iter()).unwrap();
        let widget = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let constraint = serde_json::json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": "K8sRequiredLabels", "metadata": {"name": "c"}});
        assert_eq!(schemas.validate(&widget), Some(Vec::new()));
        assert_eq!(schemas.validate(&constraint), Some(Vec::new()));
        assert_eq!(check_object(&widget, Some(&schemas)).0, Check::Schema);
    }
}
