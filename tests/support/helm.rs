//! Real Helm for the test tiers: renders a packaged chart from `../shared/charts/` as
//! `helm template --include-crds` would, and hands back its objects.
//!
//! It runs `../shared/tools/helm_render.py` (read its header), which loads Helm v4's Go
//! library (`libhelm_sdkpy.so` from PyPI's `helm-sdkpy` wheel) with cffi and renders by
//! installing the chart into a throwaway control plane (`../shared/k8s/up.sh`) and reading
//! the release record back. A [`HelmRenderer`] starts that control plane itself
//! (`support/control_plane.rs`) the first time a render misses the cache, and stops it when
//! dropped; a run whose renders are all cached starts none. It renders one chart at a time
//! on it (a renderer serialises its own calls).
//!
//! Each render is cached under `target/helm-renders/`, keyed by a hash of the chart
//! archive's bytes, the release, the namespace, the values files' texts and the render
//! script, so running the same inputs again costs nothing. What the cluster already holds
//! (CRDs of earlier renders) is not in the key: a chart whose templates ask
//! `.Capabilities.APIVersions` could render otherwise on a cluster with other CRDs.
//!
//! Nothing here skips: a missing `python3`, cffi, PyYAML, Helm library or render script
//! fails every run, cached or not; a missing chart archive or a control plane that does
//! not come up fails the render that needs it. Each error says how to set it up.
//!
//! ```ignore
//! let helm = HelmRenderer::new()?;
//! let objects = helm.render(&ChartRender::new(chart_archive("gatekeeper", "3.17.1"), "gatekeeper", "gatekeeper-system", vec![values]))?;
//! ```

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::control_plane::ControlPlane;

/// `../shared` beside the repo: the charts, the render script and the control plane.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The packaged chart `chart` at `version`, as `../shared/charts/` names it.
pub fn chart_archive(chart: &str, version: &str) -> PathBuf {
    shared_dir().join("charts").join(format!("{chart}-{version}.tgz"))
}

/// The render script.
fn script() -> PathBuf {
    shared_dir().join("tools/helm_render.py")
}

/// Where the Helm library is looked for, as the script does (`HELM_SDKPY_LIB`, else the
/// wheel unpacked into `~/.cache/helm-sdkpy`).
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn helm_library() -> PathBuf {
    match std::env::var_os("HELM_SDKPY_LIB") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/helm-sdkpy/helm_sdkpy/_lib/linux-amd64/libhelm_sdkpy.so"),
    }
}

/// How to install what the script needs, as its header says.
const SETUP_HINT: &str = "install python3 with cffi and PyYAML (`pip install cffi pyyaml`) and unpack the helm-sdkpy wheel: \
`w=$(mktemp -d) && pip download --no-deps --python-version 3.12 --only-binary=:all: helm-sdkpy==0.1.32 -d \"$w\" && \
mkdir -p ~/.cache/helm-sdkpy && python3 -m zipfile -e \"$w\"/helm_sdkpy-0.1.32-py3-none-any.whl ~/.cache/helm-sdkpy` \
(or set HELM_SDKPY_LIB); `.ci/run` does this";

/// Why a render could not happen. Each says what to do in its `hint:`.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// `python3` cannot run, or lacks cffi or PyYAML.
    #[error("`python3` with cffi and PyYAML is not usable: {detail}\nhint: {SETUP_HINT}")]
    NoPython { detail: String },
    /// The Helm library is not where the script looks.
    #[error("the Helm library `{}` does not exist\nhint: {SETUP_HINT}", path.display())]
    NoHelmLibrary { path: PathBuf },
    /// The render script or a chart archive is missing.
    #[error("`{}` does not exist\nhint: the tests read `../shared` beside the repo (charts in `../shared/charts/`, named `<chart>-<version>.tgz`)", path.display())]
    NoFile { path: PathBuf },
    /// A values file could not be read.
    #[error("cannot read values file `{}`: {source}\nhint: write the values the chart is rendered with to that file first", path.display())]
    Values { path: PathBuf, source: std::io::Error },
    /// The control plane it started does not answer.
    #[error("the control plane of `{}` does not answer: {detail}\nhint: see `../shared/k8s/README.md`; `../shared/k8s/up.sh DIR PORT` shows why a control plane does not come up", kubeconfig.display())]
    NoControlPlane { kubeconfig: PathBuf, detail: String },
    /// Helm refused the chart with these values.
    #[error("Helm did not render `{}` (release `{release}`, namespace `{namespace}`): {stderr}\nhint: the chart or its values are wrong; run `python3 ../shared/tools/helm_render.py` by hand to see more", chart.display())]
    Helm {
        chart: PathBuf,
        release: String,
        namespace: String,
        stderr: String,
    },
    /// The script printed something that is not a stream of objects.
    #[error("the render of `{}` (cached at `{}`) is not a stream of Kubernetes objects: {detail}\nhint: delete the cached file and render again", chart.display(), cached.display())]
    Output {
        chart: PathBuf,
        cached: PathBuf,
        detail: String,
    },
    /// The cache could not be written.
    #[error("cannot write the render cache `{}`: {source}\nhint: `target/` must be writable", path.display())]
    Cache { path: PathBuf, source: std::io::Error },
}

/// One chart to render: `helm template RELEASE ARCHIVE -n NAMESPACE -f VALUES...`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChartRender {
    /// The packaged chart (see [`chart_archive`]).
    pub archive: PathBuf,
    /// The release name.
    pub release: String,
    /// The release's namespace.
    pub namespace: String,
    /// Values files, merged left to right over the chart's own (as `helm -f` does).
    pub values: Vec<PathBuf>,
}

impl ChartRender {
    /// A render of `archive` as `release` into `namespace` with `values`.
    pub fn new(archive: PathBuf, release: &str, namespace: &str, values: Vec<PathBuf>) -> Self {
        ChartRender {
            archive,
            release: release.to_owned(),
            namespace: namespace.to_owned(),
            values,
        }
    }
}

/// One object of a render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace` as the chart writes it (Helm leaves it empty for most
    /// namespaced objects, which then go to the release's namespace).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The whole object.
    pub object: Value,
}

impl RenderedObject {
    /// The API group: `apps` for `apps/v1`, empty for the core group's `v1`.
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }
}

/// Renders charts with real Helm on a throwaway control plane of its own, started on the
/// first cache miss.
#[derive(Debug)]
pub struct HelmRenderer {
    cache: PathBuf,
    /// The control plane (once a render missed the cache) and the renders that ran on it;
    /// one lock, so renders run one at a time.
    running: Mutex<Running>,
}

/// What a [`HelmRenderer`] has run.
#[derive(Debug, Default)]
struct Running {
    plane: Option<ControlPlane>,
    /// Renders that ran (not served from the cache), and the time they took.
    renders: usize,
    took: Duration,
}

impl HelmRenderer {
    /// A renderer. Checks now that python3 with cffi and PyYAML, the Helm library and the
    /// script are there, so a missing piece fails every run, cached or not; the control
    /// plane waits for the first render that misses the cache.
    pub fn new() -> Result<Self, HelmError> {
        let python = Command::new("python3").args(["-c", "import cffi, yaml"]).output();
        match python {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(HelmError::NoPython {
                    detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                });
            }
            Err(e) => return Err(HelmError::NoPython { detail: e.to_string() }),
        }
        let library = helm_library();
        if !library.is_file() {
            return Err(HelmError::NoHelmLibrary { path: library });
        }
        if !script().is_file() {
            return Err(HelmError::NoFile { path: script() });
        }
        // CARGO_TARGET_TMPDIR is `<target>/tmp`, so this is `<target>/helm-renders`.
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).with_file_name("helm-renders");
        Ok(HelmRenderer {
            cache,
            running: Mutex::new(Running::default()),
        })
    }

    /// Whether a render has started the control plane.
    pub fn started_a_control_plane(&self) -> bool {
        self.lock().plane.is_some()
    }

    /// The objects Helm renders for `chart`: the CRDs first, then the manifest, then the
    /// hooks (with their `helm.sh/hook` annotations). From the cache when these inputs
    /// were rendered before.
    pub fn render(&self, chart: &ChartRender) -> Result<Vec<RenderedObject>, HelmError> {
        let cached = self.cache.join(format!("{}.yaml", self.key(chart)?));
        let text = match fs_err::read_to_string(&cached) {
            Ok(text) => text,
            Err(_) => {
                let text = self.run(chart)?;
                self.store(&cached, &text)?;
                text
            }
        };
        parse(&text).map_err(|detail| HelmError::Output {
            chart: chart.archive.clone(),
            cached,
            detail,
        })
    }

    /// How many renders ran (cache misses), and how long they took in all.
    pub fn renders_run(&self) -> (usize, Duration) {
        let running = self.lock();
        (running.renders, running.took)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cache key: sha256 over every input, each length-prefixed so no two inputs
    /// run together.
    fn key(&self, chart: &ChartRender) -> Result<String, HelmError> {
        let mut hash = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        part(b"helm-render v1");
        part(&fs_err::read(script()).map_err(|_| HelmError::NoFile { path: script() })?);
        part(&fs_err::read(&chart.archive).map_err(|_| HelmError::NoFile {
            path: chart.archive.clone(),
        })?);
        part(chart.release.as_bytes());
        part(chart.namespace.as_bytes());
        for values in &chart.values {
            let text = fs_err::read(values).map_err(|source| HelmError::Values {
                path: values.clone(),
                source,
            })?;
            part(&text);
        }
        Ok(hex::encode(hash.finalize()))
    }

    /// Runs the script: one render at a time, on the control plane started for the first.
    fn run(&self, chart: &ChartRender) -> Result<String, HelmError> {
        let mut running = self.lock();
        let kubeconfig = match &running.plane {
            Some(plane) => plane.kubeconfig(),
            None => {
                let plane = ControlPlane::up("helm");
                let kubeconfig = plane.kubeconfig();
                running.plane = Some(plane);
                answers(&kubeconfig)?;
                kubeconfig
            }
        };
        let started = Instant::now();
        let out = Command::new("python3")
            .arg(script())
            .arg(&chart.archive)
            .arg(&chart.release)
            .arg(&chart.namespace)
            .args(&chart.values)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .output()
            .map_err(|e| HelmError::NoPython { detail: e.to_string() })?;
        running.renders += 1;
        running.took += started.elapsed();
        if !out.status.success() {
            return Err(HelmError::Helm {
                chart: chart.archive.clone(),
                release: chart.release.clone(),
                namespace: chart.namespace.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        String::from_utf8(out.stdout).map_err(|e| HelmError::Output {
            chart: chart.archive.clone(),
            cached: PathBuf::new(),
            detail: e.to_string(),
        })
    }

    /// Writes `text` to `path` through a temp file and a rename, so a reader never sees
    /// half a render.
    fn store(&self, path: &Path, text: &str) -> Result<(), HelmError> {
        let cache_error = |source| HelmError::Cache {
            path: path.to_owned(),
            source,
        };
        fs_err::create_dir_all(&self.cache).map_err(cache_error)?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.cache).map_err(cache_error)?;
        temp.write_all(text.as_bytes()).map_err(cache_error)?;
        temp.persist(path).map_err(|e| cache_error(e.error))?;
        Ok(())
    }
}

/// Whether the control plane of `kubeconfig` answers.
fn answers(kubeconfig: &Path) -> Result<(), HelmError> {
    let ready = crate::e2e::isolated::command("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", "/readyz", "--request-timeout=10s"])
        .output();
    let detail = match ready {
        Ok(out) if out.status.success() => return Ok(()),
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        Err(e) => format!("kubectl: {e}"),
    };
    Err(HelmError::NoControlPlane {
        kubeconfig: kubeconfig.to_owned(),
        detail,
    })
}

/// The objects of a YAML stream; each must have `apiVersion`, `kind` and `metadata.name`.
fn parse(text: &str) -> Result<Vec<RenderedObject>, String> {
    let documents = gitgen::yaml::documents(text, Path::new("helm_render.py output")).map_err(|e| e.to_string())?;
    documents
        .into_iter()
        .enumerate()
        .map(|(i, object)| {
            let field = |name: &str, value: &Value| -> Result<String, String> {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("document {} has no string `{name}`", i + 1))
            };
            Ok(RenderedObject {
                api_version: field("apiVersion", &object["apiVersion"])?,
                kind: field("kind", &object["kind"])?,
                namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
                name: field("metadata.name", &object["metadata"]["name"])?,
                object,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stream_into_objects_with_their_group() {
        let objects = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  namespace: demo\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n").unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(
            (objects[0].group(), objects[0].namespace.as_deref()),
            ("apps", Some("demo"))
        );
        assert_eq!(
            (objects[1].group(), objects[1].kind.as_str(), objects[1].name.as_str()),
            ("", "Service", "b")
        );
    }

    #[test]
    fn refuses_a_document_without_a_name() {
        let err = parse("apiVersion: v1\nkind: Service\nmetadata: {}\n").unwrap_err();
        assert!(err.contains("metadata.name"), "{err}");
    }
}
