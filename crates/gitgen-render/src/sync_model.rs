//! A model of how Argo CD converges an environment's bundle, to prove that one lesson's
//! health never holds back a lesson that does not require it.
//!
//! It follows gitops-engine at the commit Argo CD v2.12.3 vendors (`go.mod`:
//! `github.com/argoproj/gitops-engine v0.7.1-0.20240714153147-adb68bcaab73`); each rule
//! names the file and function it models:
//! - `pkg/sync/sync_context.go`, `syncContext.Sync` (lines 386-411): the first pass of an
//!   operation dry-runs every task (`runTasks(dryRunTasks, true)`); one failure fails the
//!   operation and nothing is applied;
//! - `syncContext.Sync` (lines 414-447): a task applied in an earlier pass is judged by
//!   `health.GetResourceHealth` of its live object: Healthy succeeds, Degraded fails,
//!   anything else (Progressing, Missing) stays running;
//! - `syncContext.Sync` (lines 449-457) with `pkg/sync/sync_tasks.go`, `syncTasks.multiStep`
//!   (lines 275-277: more than one wave or phase): while a task of an earlier wave is
//!   running, the operation waits;
//! - `syncContext.Sync` (lines 484-488): a completed, unsuccessful task fails the operation;
//! - `syncContext.Sync` (lines 508-549, `tasks.wave()`, `tasks.lastWave()`): only the lowest
//!   pending wave is applied in a pass, and once the final wave is applied the operation
//!   succeeds "EVEN if those objects subsequently degraded".
//!
//! Argo CD v2.12.3's `controller/appcontroller.go`,
//! `ApplicationController.processRequestedAppOperation` (line 1343) retries a failed
//! operation while `retry.limit` is not reached, or forever when it is negative; an
//! automated sync without `syncPolicy.retry` retries 5 times ([`retry_limit`]). Finite
//! retries may run out before what a child needs has synced, so the model counts on
//! unlimited ones only. A child
//! Application's health, as the root sees it, is the one bootstrap's Lua health check in
//! `argocd-cm` reports (`resource.customizations.health.argoproj.io_Application`, run by
//! argo-cd `util/lua/lua.go`, `VM.ExecuteHealthLua`): the child's `status.health.status`,
//! `Progressing` until it has one.
//!
//! What the model does not know from the bundle, the catalog tells it: a lesson's objects
//! may use custom resources of its own charts and of every lesson it requires, so their
//! Application can only sync once those have synced (until then its dry run or apply
//! fails, and only retries bring it through).
//!
//! `tests/e2e_converge.rs` plays the same controller against real control planes (every
//! object applied, every project rule checked on the live AppProject); where the two
//! disagree, that test is right and this model is to be fixed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{RenderContext, RenderedFile};
use gitgen_base::names::{EnvName, LessonId};
use gitgen_catalog::Catalog;
use gitgen_catalog::config::RepoConfig;
use gitgen_catalog::labels::LESSON_LABEL;
use gitgen_catalog::source::CatalogFiles;
use gitgen_catalog::toggle::{SelectedStage, Selection, conflicts_of};

/// How a child Application's health ends up when left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Everything it deployed became healthy.
    Healthy,
    /// Something it deployed crash-loops or fails for good.
    Degraded,
    /// Something it deployed never finishes (a Pod with no node, a Job that never completes).
    Progressing,
}

/// One object of the root Application's sync: an AppProject or a child Application.
#[derive(Debug, Clone)]
struct Child {
    name: String,
    /// Only Applications have a health check (bootstrap's Lua check); AppProjects have none.
    is_application: bool,
    wave: i64,
    lesson: Option<LessonId>,
    /// How often its operation is retried ([`retry_limit`]); negative means forever.
    retry_limit: i64,
}

/// How often Argo CD retries an Application's failed sync operation. argo-cd
/// `controller/appcontroller.go`, `ApplicationController.autoSync` (v2.12.3 line 1879,
/// v3.5.1 line 2383), starts an automated sync with `RetryStrategy{Limit: 5}` and replaces
/// that with `spec.syncPolicy.retry` when it is set; `RetryStrategy.Limit` is `omitempty`
/// (`pkg/apis/application/v1alpha1/types.go`), so a retry without a limit retries 0 times.
/// A sync started by hand retries only when told to (the CLI's `--retry-limit`, 0).
fn retry_limit(application: &Value) -> i64 {
    let policy = &application["spec"]["syncPolicy"];
    match &policy["retry"] {
        Value::Null if policy["automated"].is_object() => 5,
        retry => retry["limit"].as_i64().unwrap_or(0),
    }
}

/// The bundle as the model reads it.
#[derive(Debug)]
pub struct Bundle {
    children: Vec<Child>,
}

impl Bundle {
    /// Reads `argocd/<env>/apps/*.yaml` from a render's files.
    pub fn from_files(files: &[RenderedFile], env: &EnvName) -> Bundle {
        let apps = format!("{}/", gitgen_base::layout::Layout::new(env).apps_dir());
        let mut children = Vec::new();
        for file in files.iter().filter(|f| f.path.starts_with(&apps)) {
            let object: Value = gitgen_yaml::from_str(&file.contents, file.path.as_ref()).expect("rendered YAML");
            let kind = object["kind"].as_str().unwrap_or_default();
            if kind == "Kustomization" {
                continue;
            }
            let meta = &object["metadata"];
            let annotations = &meta["annotations"];
            assert!(
                annotations.get("argocd.argoproj.io/hook").is_none(),
                "{}: the model knows no hooks in the root's sync",
                file.path
            );
            children.push(Child {
                name: meta["name"].as_str().expect("a name").to_owned(),
                is_application: kind == "Application",
                wave: annotations["argocd.argoproj.io/sync-wave"]
                    .as_str()
                    .map_or(0, |w| w.parse().expect("a numeric wave")),
                lesson: meta["labels"][LESSON_LABEL]
                    .as_str()
                    .map(|l| LessonId::new(l).expect("a lesson id")),
                retry_limit: retry_limit(&object),
            });
        }
        Bundle { children }
    }

    /// The child Applications, by name.
    pub fn applications(&self) -> impl Iterator<Item = &str> {
        self.children
            .iter()
            .filter(|c| c.is_application)
            .map(|c| c.name.as_str())
    }

    /// The child Applications that end up synced, when `broken` ends up with `health` and
    /// every other Application ends up Healthy once synced. Each child's own operation is
    /// retried as argo-cd `controller/appcontroller.go`,
    /// `ApplicationController.processRequestedAppOperation` does (`retry.limit < 0`: forever).
    pub fn synced(&self, catalog: &Catalog, broken: &str, health: Health) -> BTreeSet<String> {
        let needs = |child: &Child| -> Vec<&Child> { self.needs(catalog, child) };
        let mut created: BTreeMap<&str, bool> = BTreeMap::new(); // name → its needs were synced when created
        let mut synced: BTreeSet<String> = BTreeSet::new();
        loop {
            let before = (created.len(), synced.len());
            // The root's operation, run again from the start until it settles: a failed
            // one is retried (root retry) and takes the same path while nothing changed.
            for child in self.root_pass(&synced, broken, health, catalog) {
                let ready = needs(child).iter().all(|n| synced.contains(&n.name));
                created.entry(child.name.as_str()).or_insert(ready);
            }
            // Each child Application's own operation: it syncs once what it needs has
            // synced, right away if that was so when it was created, otherwise only if
            // its retries never run out.
            for child in self.children.iter().filter(|c| c.is_application) {
                let Some(&ready_at_creation) = created.get(child.name.as_str()) else {
                    continue;
                };
                let ready = needs(child).iter().all(|n| synced.contains(&n.name));
                if ready && (ready_at_creation || child.retry_limit < 0) {
                    synced.insert(child.name.clone());
                }
            }
            if (created.len(), synced.len()) == before {
                return synced;
            }
        }
    }

    /// The children the root's sync operation applies before it stops: it applies wave by
    /// wave, and in a multi-wave sync judges each earlier wave's Applications by health
    /// (gitops-engine `pkg/sync/sync_context.go`, `syncContext.Sync`; `syncTasks.multiStep`).
    fn root_pass<'a>(
        &'a self,
        synced: &BTreeSet<String>,
        broken: &str,
        health: Health,
        catalog: &Catalog,
    ) -> Vec<&'a Child> {
        let waves: BTreeSet<i64> = self.children.iter().map(|c| c.wave).collect();
        let multi_step = waves.len() > 1;
        let last = waves.last().copied();
        let mut applied = Vec::new();
        for wave in waves {
            let in_wave: Vec<&Child> = self.children.iter().filter(|c| c.wave == wave).collect();
            applied.extend(in_wave.iter().copied());
            if Some(wave) == last || !multi_step {
                break;
            }
            for child in in_wave.iter().filter(|c| c.is_application) {
                match self.health_of(child, synced, broken, health, catalog) {
                    Health::Healthy => {}
                    // Degraded fails the operation; Progressing keeps it waiting. Either
                    // way no later wave is applied.
                    Health::Degraded | Health::Progressing => return applied,
                }
            }
        }
        applied
    }

    /// A child's health as the root's Lua check reports it (the `argoproj.io_Application`
    /// health customization bootstrap writes to `argocd-cm`, see `crates/gitgen-base/src/argocd_install.rs`).
    fn health_of(
        &self,
        child: &Child,
        synced: &BTreeSet<String>,
        broken: &str,
        health: Health,
        catalog: &Catalog,
    ) -> Health {
        if !synced.contains(&child.name) {
            // No `status.health` yet, or `Missing`: neither Healthy nor Degraded.
            return Health::Progressing;
        }
        // What runs on top of something broken is no better off.
        let mut closure = self.needs(catalog, child);
        closure.push(child);
        if closure.iter().any(|c| c.name == broken) {
            health
        } else {
            Health::Healthy
        }
    }

    /// The Applications `child` may use custom resources of: for a lesson's objects, its
    /// own lesson's charts; for any of a lesson's Applications, every Application of every
    /// lesson it requires, directly or not.
    fn needs<'a>(&'a self, catalog: &Catalog, child: &Child) -> Vec<&'a Child> {
        let Some(lesson) = &child.lesson else {
            return Vec::new();
        };
        let is_objects = child.name == lesson.as_str();
        let required = catalog.closure(lesson);
        self.children
            .iter()
            .filter(|c| c.is_application && c.name != child.name)
            .filter(|c| match &c.lesson {
                Some(l) if l == lesson => is_objects,
                Some(l) => required.contains(l),
                None => false,
            })
            .collect()
    }

    /// The lesson of a child Application.
    pub fn lesson_of(&self, name: &str) -> Option<&LessonId> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.lesson.as_ref())
    }
}

/// The built-in catalog and this repository's `gitgen.yaml`.
pub fn course() -> (Catalog, RepoConfig) {
    let catalog = Catalog::load(CatalogFiles::embedded()).expect("the built-in catalog");
    let config = RepoConfig::parse(include_str!("../../../gitgen.yaml"), "gitgen.yaml".as_ref()).expect("gitgen.yaml");
    (catalog, config)
}

/// Every lesson of `catalog` at its last stage, less those that conflict with one enabled
/// before it in environment `env_name`.
pub fn every_lesson(catalog: &Catalog, env_name: &EnvName) -> Selection {
    let mut lessons = BTreeMap::new();
    for (id, lesson) in &catalog.lessons {
        if conflicts_of(catalog, id, env_name)
            .iter()
            .all(|(other, _)| !lessons.contains_key(other))
        {
            let index = lesson.lesson.stages.len() - 1;
            let name = lesson.last_stage().clone();
            lessons.insert(id.clone(), SelectedStage { name, index });
        }
    }
    Selection { lessons }
}

/// Each environment's render of the Argo CD bundle with every lesson enabled at its last
/// stage, less those that conflict with one enabled before it there.
pub fn every_lesson_bundles(catalog: &Catalog, config: &RepoConfig) -> Vec<(EnvName, Vec<RenderedFile>)> {
    let mut bundles = Vec::new();
    for (env_name, env) in &config.environments {
        let selection = every_lesson(catalog, env_name);
        let ctx = RenderContext {
            catalog,
            config,
            env_name,
            env,
            selection: &selection,
            stage_objects: &Default::default(),
        };
        bundles.push((env_name.clone(), super::argocd::emit(&ctx).expect("renders")));
    }
    bundles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_automated_sync_without_a_retry_policy_retries_five_times_and_one_without_a_limit_none() {
        let app = |sync_policy: Value| {
            let object = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "a"}, "spec": {"syncPolicy": sync_policy}});
            RenderedFile {
                path: "argocd/kind/apps/a.application.yaml".to_owned(),
                contents: gitgen_yaml::to_string(&object),
            }
        };
        let automated = serde_json::json!({"prune": true});
        let limits: Vec<i64> = [
            serde_json::json!({"automated": automated}),
            serde_json::json!({"automated": automated, "retry": {"backoff": {"duration": "5s"}}}),
            serde_json::json!({"automated": automated, "retry": {"limit": -1}}),
            serde_json::json!({}),
        ]
        .into_iter()
        .map(|policy| Bundle::from_files(&[app(policy)], &EnvName::new("kind").unwrap()).children[0].retry_limit)
        .collect();
        assert_eq!(limits, [5, 0, -1, 0]);
    }

    #[test]
    fn one_unhealthy_application_never_holds_back_one_that_does_not_require_it() {
        let (catalog, config) = course();
        let mut held_back = Vec::new();
        for (env_name, mut files) in every_lesson_bundles(&catalog, &config) {
            if config.environments[&env_name].is_classroom() {
                // Each learner's Applications are generated and synced on their own, with
                // the settings a single-cluster environment's have: the model holds per
                // cluster as it holds for one.
                files = crate::classroom::tests::one_learners_bundle(&files);
            }
            let bundle = Bundle::from_files(&files, &env_name);
            let applications: Vec<&str> = bundle.applications().collect();
            assert!(applications.len() > 20, "{env_name}: {applications:?}");
            for broken in &applications {
                let broken_lesson = bundle.lesson_of(broken);
                for health in [Health::Degraded, Health::Progressing] {
                    let synced = bundle.synced(&catalog, broken, health);
                    for app in &applications {
                        let exempt = match (bundle.lesson_of(app), broken_lesson) {
                            (Some(lesson), Some(broken_lesson)) => catalog.closure(lesson).contains(broken_lesson),
                            _ => false,
                        };
                        if !exempt && !synced.contains(*app) {
                            held_back.push(format!("{env_name}: {broken} {health:?} holds back {app}"));
                        }
                    }
                }
            }
        }
        assert!(
            held_back.is_empty(),
            "{} held back, e.g.:\n{}",
            held_back.len(),
            held_back[..held_back.len().min(10)].join("\n")
        );
    }
}
