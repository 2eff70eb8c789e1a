//! Synthetic catalogs for benchmarks and scale tests (shared by `benches/render.rs` and
//! `tests/it`, never part of the product): a complete repo (`gitgen.yaml`, a
//! catalog of N lessons, toggle files) shaped like a real course, only larger.
//!
//! Every lesson has the same structure (Deployments, Services and ConfigMaps, some of them
//! from a later stage on, some fields behind `stage_at_least`), so the cost of a render
//! grows with the number of lessons alone. A few lessons require others, a few conflict,
//! and the toggle file enables about one lesson in ten. This module writes files; it does
//! not render them.

use std::fmt::Write as _;
use std::path::Path;

/// The shape of a synthetic repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSpec {
    /// Number of lessons.
    pub lessons: usize,
    /// Stages per lesson (at least 1).
    pub stages: usize,
    /// Manifest templates per lesson (at least 1).
    pub manifests: usize,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            lessons: 100,
            stages: 3,
            manifests: 5,
        }
    }
}

/// The id of synthetic lesson `index` (0-based): `lesson-00042`.
pub fn lesson_id(index: usize) -> String {
    format!("lesson-{index:05}")
}

/// Whether the toggle file enables lesson `index`: one lesson in ten.
pub fn is_enabled(index: usize) -> bool {
    index.is_multiple_of(10)
}

/// What lesson `index` requires: an enabled lesson requires the first lesson of its
/// hundred (itself enabled), so the toggle file stays consistent and the `requires`
/// graph stays shallow; lessons ending in 5 require the lesson before them.
pub fn requires(index: usize) -> Option<usize> {
    if is_enabled(index) && !index.is_multiple_of(100) {
        Some(index - index % 100)
    } else if index % 10 == 5 {
        Some(index - 1)
    } else {
        None
    }
}

/// Lessons ending in 3 conflict with the next one (neither is enabled).
pub fn conflicts_with(index: usize, count: usize) -> Option<usize> {
    (index % 10 == 3 && index + 1 < count).then_some(index + 1)
}

/// Writes a complete repo into `dir` (created if missing; existing files are replaced).
pub fn write_repo(dir: &Path, spec: &SynthSpec) -> std::io::Result<()> {
    let spec = SynthSpec {
        stages: spec.stages.max(1),
        manifests: spec.manifests.max(1),
        ..*spec
    };
    fs_err::create_dir_all(dir.join("catalog"))?;
    fs_err::write(dir.join("gitgen.yaml"), CONFIG)?;
    for index in 0..spec.lessons {
        write_lesson(dir, &spec, index)?;
    }
    let mut toggle = String::from("# Synthetic: one lesson in ten enabled.\nlessons:\n");
    for index in (0..spec.lessons).filter(|i| is_enabled(*i)) {
        writeln!(toggle, "  {}: {}", lesson_id(index), stage_name(spec.stages - 1)).expect("writing to a String");
    }
    for env in ["docker-desktop", "kind"] {
        let folder = dir.join("overlays").join(env);
        fs_err::create_dir_all(&folder)?;
        fs_err::write(folder.join("lessons.yaml"), &toggle)?;
    }
    Ok(())
}

const CONFIG: &str = "\
# A synthetic repo written by `gitgen synth`.
repo_url: https://github.com/example/synthetic-course.git
target_revision: main
argocd:
  namespace: argocd
  version: v2.12.3
environments:
  docker-desktop:
    service_type: LoadBalancer
    host: localhost
    sync: automated
    destination: https://kubernetes.default.svc
  kind:
    service_type: NodePort
    host: localhost
    sync: manual
    destination: https://kubernetes.default.svc
";

fn stage_name(index: usize) -> String {
    format!("step-{}", index + 1)
}

/// The kinds manifests cycle through.
#[derive(Clone, Copy)]
enum Kind {
    Deployment,
    Service,
    ConfigMap,
}

fn kind_of(manifest: usize) -> Kind {
    match manifest % 3 {
        0 => Kind::Deployment,
        1 => Kind::Service,
        _ => Kind::ConfigMap,
    }
}

fn manifest_file(manifest: usize) -> String {
    let kind = match kind_of(manifest) {
        Kind::Deployment => "deployment",
        Kind::Service => "service",
        Kind::ConfigMap => "configmap",
    };
    format!("app-{manifest}-{kind}.yaml")
}

fn write_lesson(dir: &Path, spec: &SynthSpec, index: usize) -> std::io::Result<()> {
    let id = lesson_id(index);
    let folder = dir.join("catalog").join(&id);
    fs_err::create_dir_all(&folder)?;
    let mut lesson = format!(
        "name: {id}\n\
         title: Synthetic lesson {index}\n\
         section: \"Synthetic section {section}: Deployments, Services\"\n\
         namespace: {id}\n\
         namespaces:\n  - name: {id}\n",
        section = index / 100,
    );
    if let Some(required) = requires(index) {
        writeln!(lesson, "requires: [{}]", lesson_id(required)).expect("writing to a String");
    }
    if let Some(other) = conflicts_with(index, spec.lessons) {
        write!(
            lesson,
            "conflicts:\n  - lesson: {}\n    reason: both want the same port\n",
            lesson_id(other)
        )
        .expect("writing to a String");
    }
    lesson.push_str("stages:\n");
    for stage in 0..spec.stages {
        writeln!(
            lesson,
            "  - name: {}\n    description: Step {} of the synthetic lesson.",
            stage_name(stage),
            stage + 1
        )
        .expect("writing to a String");
    }
    lesson.push_str("manifests:\n");
    for manifest in 0..spec.manifests {
        writeln!(lesson, "  - file: {}", manifest_file(manifest)).expect("writing to a String");
        // The last manifest arrives with the last stage, as a lesson's later steps add objects.
        if manifest + 1 == spec.manifests && spec.manifests > 1 && spec.stages > 1 {
            writeln!(lesson, "    since: {}", stage_name(spec.stages - 1)).expect("writing to a String");
        }
    }
    if index.is_multiple_of(4) {
        lesson.push_str(
            "sync:\n  ignore_differences:\n    - group: apps\n      kind: Deployment\n      name: app-0\n      jsonPointers: [/spec/replicas]\n      why: an HPA owns the replica count\n",
        );
    }
    fs_err::write(folder.join("lesson.yaml"), lesson)?;
    fs_err::write(
        folder.join("README.md.j2"),
        "# {{ lesson.title }}\n\nStage `{{ stage.name }}`: {{ stage.description }}\n\nOpen http://{{ env.host }}:8000 ({{ env.name }}, {{ env.service_type }}).\n",
    )?;
    let later = stage_name(spec.stages.saturating_sub(1).min(1));
    for manifest in 0..spec.manifests {
        let text = match kind_of(manifest) {
            Kind::Deployment => deployment(manifest, &later),
            Kind::Service => service(manifest),
            Kind::ConfigMap => config_map(manifest, &later),
        };
        fs_err::write(folder.join(manifest_file(manifest)), text)?;
    }
    Ok(())
}

fn deployment(manifest: usize, later: &str) -> String {
    format!(
        r#"# The app, v1 at first and v2 from stage `{later}` on.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{manifest}
  labels:
    app.kubernetes.io/name: app-{manifest}
    stage: {{{{ stage.name }}}}
spec:
  replicas: {{{{ 3 if stage_at_least("{later}") else 1 }}}}
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{manifest}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{manifest}
    spec:
      containers:
        - name: app
          image: {{{{ "jasonumiker/probe-test-app:" ~ ("v2" if stage_at_least("{later}") else "v1") }}}}
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 50m
              memory: 52Mi
          livenessProbe:
            httpGet:
              path: /livez
              port: 8080
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: /readyz
              port: 8080
            periodSeconds: 10
"#
    )
}

fn service(manifest: usize) -> String {
    let target = manifest - 1;
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: app-{target}
  labels:
    gitgen.io/exposed: "true"
spec:
  type: LoadBalancer
  selector:
    app.kubernetes.io/name: app-{target}
  ports:
    - port: 8000
      targetPort: 8080
      nodePort: {{{{ node_port(8000) }}}}
"#,
    )
}

fn config_map(manifest: usize, later: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{manifest}-settings
data:
  lesson: {{{{ lesson.name }}}}
  stage: {{{{ stage.name }}}}
  greeting: {{{{ "Hello: from # a synthetic lesson" }}}}
{{% if stage_at_least("{later}") %}}
  feature-flag: "on"
{{% endif %}}
"#
    )
}
