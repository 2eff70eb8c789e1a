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
    /// The lesson whose chart defines it.
    pub chart_lesson: String,
    /// That chart (its release name): its Application is `<lesson>-<chart>`.
    pub chart: String,
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
    /// (the chart's `creates.crds`), with that lesson and chart.
    chart_kinds: BTreeMap<(String, String), (String, String)>,
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
        let schemas = crd_schemas(crds, objects.iter().map(|o| &o.object))?;
        let mut chart_kinds = BTreeMap::new();
        for (id, stage) in &workspace.selection.lessons {
            let lesson = &workspace.catalog.lessons[id];
            let charts = lesson.lesson.charts.iter();
            for chart in charts.filter(|c| lesson.in_stage(c.since.as_ref(), c.until.as_ref(), stage.index)) {
                for kind in &chart.creates.crds {
                    if let Some((group, name)) = kind.split_once('/') {
                        let brought_by = (id.to_string(), chart.name.clone());
                        chart_kinds.insert((group.to_owned(), name.to_owned()), brought_by);
                    }
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

    /// The report of `dry_run`: a missing kind that an enabled chart brings waits for it.
    fn report(&self, mut dry_run: DryRunReport) -> ServerReport {
        let mut waiting_for_charts = Vec::new();
        dry_run.missing_kinds.retain(|missing| {
            let key = (missing.group.clone(), missing.kind.clone());
            let Some((lesson, chart)) = self.chart_kinds.get(&key) else {
                return true;
            };
            waiting_for_charts.push(WaitingKind {
                kind: missing.clone(),
                chart_lesson: lesson.clone(),
                chart: chart.clone(),
            });
            false
        });
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

    #[test]
    fn a_missing_kind_an_enabled_chart_brings_waits_for_that_chart_and_fails_nothing() {
        let validation = ServerValidation {
            environment: "kind".into(),
            objects: Vec::new(),
            schemas: CrdSchemas::default(),
            chart_kinds: [(
                ("keda.sh".into(), "ScaledObject".into()),
                ("keda".into(), "keda".into()),
            )]
            .into(),
        };
        let report = validation.report(DryRunReport {
            missing_kinds: vec![missing("keda.sh", "ScaledObject"), missing("example.com", "Gadget")],
            ..DryRunReport::default()
        });
        assert_eq!(report.dry_run.missing_kinds, [missing("example.com", "Gadget")]);
        assert_eq!(
            report.waiting_for_charts,
            [WaitingKind {
                kind: missing("keda.sh", "ScaledObject"),
                chart_lesson: "keda".into(),
                chart: "keda".into(),
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
