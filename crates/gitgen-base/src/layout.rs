//! Where everything lives in a gitgen repo: every repo-relative path render writes or
//! reads (a lesson's base, an environment's overlays, toggle file and Argo CD bundle, the
//! lock file) is built here and nowhere else, so a change of layout is one edit.
//!
//! It owns paths only: what is written there belongs to `gitgen_render`, how it is
//! written to `gitgen_output`.

use crate::names::EnvName;

/// The names kustomize reads as a folder's kustomization file, in its order of preference
/// (kustomize `api/konfig/general.go`, `RecognizedKustomizationFileNames`). A folder may
/// hold only one; each stage's is gitgen's `kustomization.yaml`.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// The lessons, one folder each: `catalog/<lesson>/`.
pub const CATALOG_DIR: &str = "catalog";
/// Each lesson's base, shared by every environment: `generated/<lesson>/<stage>/`.
pub const GENERATED_DIR: &str = "generated";
/// Each environment's overlays and toggle file: `overlays/<env>/`.
pub const OVERLAYS_DIR: &str = "overlays";
/// Each environment's Argo CD bundle: `argocd/<env>/`.
pub const ARGOCD_DIR: &str = "argocd";
/// The lock file, at the repo root. It is committed with the rendered tree.
pub const LOCK_FILE: &str = "gitgen.lock";
/// gitgen's private folder at the repo root (ignored by git).
pub const STATE_DIR: &str = ".gitgen";
/// The toggle file's name inside `overlays/<env>/`.
pub const TOGGLE_FILE: &str = "lessons.yaml";
/// The kind cluster configuration written beside the toggle file of an environment whose
/// Services are NodePorts (see `gitgen_render::ports`).
pub const KIND_CLUSTER_FILE: &str = "kind-cluster.yaml";

/// The paths of one environment, and those every environment shares.
#[derive(Debug, Clone)]
pub struct Layout {
    env: EnvName,
}

impl Layout {
    /// The layout of environment `env`.
    pub fn new(env: &EnvName) -> Self {
        Layout { env: env.clone() }
    }

    /// `argocd/<env>`: the environment's Argo CD bundle, one unit as a whole.
    pub fn bundle_dir(&self) -> String {
        format!("{ARGOCD_DIR}/{}", self.env)
    }

    /// `argocd/<env>/apps`: the Applications and AppProjects the root Application syncs.
    pub fn apps_dir(&self) -> String {
        format!("{}/apps", self.bundle_dir())
    }

    /// `argocd/<env>/root.yaml`: the root Application `gitgen bootstrap` applies.
    pub fn root_application(&self) -> String {
        format!("{}/root.yaml", self.bundle_dir())
    }

    /// `argocd/<env>/argocd-install`: the kustomization through which Argo CD manages
    /// itself.
    pub fn install_dir(&self) -> String {
        format!("{}/argocd-install", self.bundle_dir())
    }

    /// `overlays/<env>/<lesson>`: a lesson's overlay.
    pub fn overlay_dir(&self, lesson: &str) -> String {
        format!("{OVERLAYS_DIR}/{}/{lesson}", self.env)
    }

    /// `overlays/<env>/<lesson>/values-<chart>.yaml`: a chart's values kept in git.
    pub fn values_path(&self, lesson: &str, chart: &str) -> String {
        format!("{}/values-{chart}.yaml", self.overlay_dir(lesson))
    }

    /// `overlays/<env>/lessons.yaml`: the toggle file people edit.
    pub fn toggle_path(&self) -> String {
        format!("{OVERLAYS_DIR}/{}/{TOGGLE_FILE}", self.env)
    }

    /// `overlays/<env>/kind-cluster.yaml`.
    pub fn kind_cluster_path(&self) -> String {
        format!("{OVERLAYS_DIR}/{}/{KIND_CLUSTER_FILE}", self.env)
    }

    /// The folders a render of this environment owns, each ending in `/`: `generated/`
    /// and the environment's `overlays/<env>/` and `argocd/<env>/`.
    pub fn render_prefixes(&self) -> Vec<String> {
        vec![
            format!("{GENERATED_DIR}/"),
            format!("{OVERLAYS_DIR}/{}/", self.env),
            format!("{}/", self.bundle_dir()),
        ]
    }

    /// The prefixes of every file rendered for `lesson` in this environment: its base, its
    /// overlay, its Application and those of its charts (`charts`): what tells whether a
    /// lesson's files are fresh.
    pub fn lesson_prefixes<'a>(&self, lesson: &str, charts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let apps = self.apps_dir();
        let mut prefixes = vec![
            format!("{}/", Self::lesson_unit(lesson)),
            format!("{}/", self.overlay_dir(lesson)),
            format!("{apps}/{lesson}."),
        ];
        prefixes.extend(charts.into_iter().map(|chart| format!("{apps}/{lesson}-{chart}.")));
        prefixes
    }

    /// Whether `path` is an Application of this environment's bundle, or an
    /// ApplicationSet, which generates a classroom's Applications.
    pub fn is_application(&self, path: &str) -> bool {
        path.strip_prefix(&self.apps_dir()).is_some_and(|rest| {
            rest.starts_with('/') && (rest.ends_with(".application.yaml") || rest.ends_with(".applicationset.yaml"))
        })
    }

    /// `catalog/<lesson>/<file>`: a file of a lesson (its `lesson.yaml`, a template), as
    /// generated files and messages name their source.
    pub fn lesson_source(lesson: &str, file: &str) -> String {
        format!("{CATALOG_DIR}/{lesson}/{file}")
    }

    /// Whether `path` is in the catalog, which the trainer edits.
    pub fn is_catalog_file(path: &str) -> bool {
        path.strip_prefix(CATALOG_DIR).is_some_and(|rest| rest.starts_with('/'))
    }

    /// `.gitgen/lock`: gitgen's process lock.
    pub fn process_lock() -> String {
        format!("{STATE_DIR}/lock")
    }

    /// `.gitgen/txn`: where a change is staged (`stage/`), what it replaces waits to be
    /// deleted (`trash/`), and its journal.
    pub fn txn_dir() -> String {
        format!("{STATE_DIR}/txn")
    }

    /// `.gitgen/txn/journal.json`: the renames of a change, written at its commit point.
    pub fn txn_journal() -> String {
        format!("{}/journal.json", Self::txn_dir())
    }

    /// `generated/<lesson>`: a lesson's bases, one unit.
    pub fn lesson_unit(lesson: &str) -> String {
        format!("{GENERATED_DIR}/{lesson}")
    }

    /// `generated/<lesson>/<stage>`: a lesson's base at a stage.
    pub fn base_dir(lesson: &str, stage: &str) -> String {
        format!("{}/{stage}", Self::lesson_unit(lesson))
    }

    /// The lesson whose base unit `unit` is (`generated/<lesson>`), if it is one.
    pub fn lesson_of_unit(unit: &str) -> Option<&str> {
        unit.strip_prefix(GENERATED_DIR)?.strip_prefix('/')
    }

    /// Whether `path` is a file of a Kustomize tree a lesson ships in a folder of its
    /// stage (`generated/<lesson>/<stage>/<folder>/…`).
    pub fn is_in_base_subfolder(path: &str) -> bool {
        path.strip_prefix(GENERATED_DIR)
            .is_some_and(|rest| rest.starts_with('/') && rest.split('/').count() > 4)
    }

    /// Whether `path` is some environment's toggle file (`overlays/<env>/lessons.yaml`).
    pub fn is_toggle_file(path: &str) -> bool {
        path.strip_prefix(OVERLAYS_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, file)| file == TOGGLE_FILE)
    }

    /// The unit a repo path belongs to: the folder swapped as a whole when it changes.
    pub fn unit_of(path: &str) -> &str {
        let depth = match path.split('/').next() {
            Some(GENERATED_DIR) => 2,                               // generated/<lesson>
            Some(OVERLAYS_DIR) if path.split('/').count() > 3 => 3, // overlays/<env>/<lesson>
            Some(ARGOCD_DIR) => 2,                                  // argocd/<env>
            _ => return path,                                       // a single file
        };
        match path.match_indices('/').nth(depth - 1) {
            Some((end, _)) => &path[..end],
            None => path,
        }
    }

    /// Whether `unit` is a unit render writes: `generated/<entry>`, `overlays/<env>/<entry>`,
    /// `argocd/<env>` or the lock file. An entry is any plain name (render also deletes what
    /// it finds there), never empty, `.` or `..`.
    pub fn is_unit_name(unit: &str) -> bool {
        let plain = |name: &str| !name.is_empty() && name != "." && name != ".." && !name.contains('\0');
        let env = |name: &str| EnvName::new(name).is_ok();
        let parts: Vec<&str> = unit.split('/').collect();
        match parts.as_slice() {
            [file] => *file == LOCK_FILE,
            [GENERATED_DIR, name] => plain(name),
            [OVERLAYS_DIR, environment, name] => env(environment) && plain(name),
            [ARGOCD_DIR, environment] => env(environment),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind() -> Layout {
        Layout::new(&EnvName::new("kind").unwrap())
    }

    #[test]
    fn every_environment_path_sits_under_its_own_folders() {
        let layout = kind();
        assert_eq!(layout.bundle_dir(), "argocd/kind");
        assert_eq!(layout.apps_dir(), "argocd/kind/apps");
        assert_eq!(layout.root_application(), "argocd/kind/root.yaml");
        assert_eq!(layout.install_dir(), "argocd/kind/argocd-install");
        assert_eq!(layout.overlay_dir("keda"), "overlays/kind/keda");
        assert_eq!(
            layout.values_path("keda", "keda"),
            "overlays/kind/keda/values-keda.yaml"
        );
        assert_eq!(layout.toggle_path(), "overlays/kind/lessons.yaml");
        assert_eq!(layout.kind_cluster_path(), "overlays/kind/kind-cluster.yaml");
        assert_eq!(Layout::base_dir("keda", "operator"), "generated/keda/operator");
        assert_eq!(Layout::lesson_source("keda", "lesson.yaml"), "catalog/keda/lesson.yaml");
        assert_eq!(
            (Layout::process_lock(), Layout::txn_dir(), Layout::txn_journal()),
            (
                ".gitgen/lock".to_owned(),
                ".gitgen/txn".to_owned(),
                ".gitgen/txn/journal.json".to_owned()
            )
        );
    }

    #[test]
    fn a_lessons_prefixes_cover_its_base_overlay_and_applications_only() {
        let prefixes = kind().lesson_prefixes("keda", ["keda"]);
        let covered = |path: &str| prefixes.iter().any(|p| path.starts_with(p.as_str()));
        assert!(covered("generated/keda/operator/x.yaml"));
        assert!(covered("overlays/kind/keda/kustomization.yaml"));
        assert!(covered("argocd/kind/apps/keda.application.yaml"));
        assert!(covered("argocd/kind/apps/keda-keda.application.yaml"));
        assert!(!covered("generated/keda-extra/a/x.yaml"));
        assert!(!covered("argocd/kind/apps/kedas.application.yaml"));
    }

    #[test]
    fn tells_toggle_files_applications_and_lesson_units_apart() {
        assert!(Layout::is_toggle_file("overlays/kind/lessons.yaml"));
        assert!(!Layout::is_toggle_file("overlays/kind/keda/lessons.yaml"));
        assert!(!Layout::is_toggle_file("generated/kind/lessons.yaml"));
        assert!(kind().is_application("argocd/kind/apps/keda.application.yaml"));
        assert!(!kind().is_application("argocd/kind/apps/keda.appproject.yaml"));
        assert!(!kind().is_application("argocd/kind-2/apps/keda.application.yaml"));
        assert_eq!(Layout::lesson_of_unit("generated/keda"), Some("keda"));
        assert_eq!(Layout::lesson_of_unit("generatedx/keda"), None);
        assert!(Layout::is_in_base_subfolder("generated/keda/operator/crds/x.yaml"));
        assert!(!Layout::is_in_base_subfolder("generated/keda/operator/x.yaml"));
    }

    #[test]
    fn a_path_belongs_to_the_folder_swapped_as_a_whole() {
        assert_eq!(
            Layout::unit_of("generated/keda/operator/kustomization.yaml"),
            "generated/keda"
        );
        assert_eq!(
            Layout::unit_of("overlays/kind/keda/kustomization.yaml"),
            "overlays/kind/keda"
        );
        assert_eq!(Layout::unit_of("argocd/kind/apps/keda.yaml"), "argocd/kind");
        assert_eq!(Layout::unit_of("gitgen.lock"), "gitgen.lock");
    }
}
