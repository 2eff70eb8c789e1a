//! The bootstrap benchmark of issue 15: `cargo bench --bench bootstrap [-- --rounds N]`.
//!
//! On a real control plane from `../shared/k8s/` (no nodes), it times whole processes as
//! a user runs them: `gitgen bootstrap --argocd-manifest install.yaml` against `kubectl
//! apply --server-side` of the same objects (the Argo CD namespace and install manifest,
//! a wait until the CRDs are Established, then the AppProjects and the root Application
//! gitgen renders), on a fresh cluster and run again. Each round starts the control plane
//! twice from wiped state, once per tool, so both see the same fresh cluster; figures are
//! medians over the rounds, and each ratio is computed from figures of the same run.
//!
//! Work folders live in `target/tmp/bench-bootstrap/` and are removed at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GITGEN: &str = env!("CARGO_BIN_EXE_gitgen");
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
const REPO_URL: &str = "https://git.example.invalid/course.git";
/// The API port; etcd and the controller manager take ports derived from it.
const PORT: &str = "26543";

fn run(command: &mut Command) {
    let output = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn timed(command: &mut dyn FnMut()) -> Duration {
    let start = Instant::now();
    command();
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A fresh control plane in `state`: stopped and wiped, then started.
fn fresh_cluster(state: &Path) {
    fs_err::create_dir_all(state).unwrap();
    run(Command::new(format!("{SHARED}/k8s/down.sh")).arg(state).arg("--wipe"));
    run(Command::new(format!("{SHARED}/k8s/up.sh")).arg(state).arg(PORT));
}

fn gitgen_bootstrap(repo: &Path, kubeconfig: &Path) {
    run(Command::new(GITGEN)
        .args(["bootstrap", "--argocd-manifest"])
        .arg(format!("{SHARED}/crds/argocd-install/install.yaml"))
        .arg("--repo")
        .arg(repo)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1"));
}

fn kubectl_apply(root_objects: &Path, kubeconfig: &Path) {
    let kubectl = || {
        let mut command = Command::new("kubectl");
        command.arg("--kubeconfig").arg(kubeconfig);
        command
    };
    run(kubectl()
        .args(["apply", "--server-side", "--force-conflicts", "-f"])
        .arg(root_objects.join("namespace.yaml")));
    run(kubectl()
        .args(["apply", "--server-side", "--force-conflicts", "-n", "argocd", "-f"])
        .arg(format!("{SHARED}/crds/argocd-install/install.yaml")));
    run(kubectl().args(["wait", "--for=condition=Established", "--timeout=120s", "crd", "--all"]));
    run(kubectl()
        .args(["apply", "--server-side", "--force-conflicts", "-f"])
        .arg(root_objects.join("root")));
}

fn main() {
    let mut rounds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args.next().expect("--rounds needs a value").parse().expect("a number");
        }
    }
    let work = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/tmp/bench-bootstrap"));
    let _ = fs_err::remove_dir_all(&work);
    fs_err::create_dir_all(&work).unwrap();
    let state = work.join("k8s");
    let kubeconfig = state.join("kubeconfig");

    // A course repo, and the same AppProjects and root Application for kubectl.
    let repo = work.join("course");
    run(Command::new(GITGEN)
        .arg("init")
        .arg(&repo)
        .args(["--repo-url", REPO_URL]));
    let root_objects = work.join("kubectl");
    fs_err::create_dir_all(root_objects.join("root")).unwrap();
    fs_err::write(
        root_objects.join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n",
    )
    .unwrap();
    let apps = repo.join("argocd/docker-desktop");
    let mut files: Vec<PathBuf> = fs_err::read_dir(apps.join("apps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".appproject.yaml"))
        .collect();
    files.push(apps.join("root.yaml"));
    for file in files {
        fs_err::copy(&file, root_objects.join("root").join(file.file_name().unwrap())).unwrap();
    }

    let (mut gitgen_fresh, mut gitgen_rerun, mut kubectl_fresh, mut kubectl_rerun) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        fresh_cluster(&state);
        gitgen_fresh.push(timed(&mut || gitgen_bootstrap(&repo, &kubeconfig)));
        gitgen_rerun.push(timed(&mut || gitgen_bootstrap(&repo, &kubeconfig)));
        fresh_cluster(&state);
        kubectl_fresh.push(timed(&mut || kubectl_apply(&root_objects, &kubeconfig)));
        kubectl_rerun.push(timed(&mut || kubectl_apply(&root_objects, &kubeconfig)));
        eprintln!(
            "round {round}: gitgen {:.2?} / {:.2?}, kubectl {:.2?} / {:.2?} (fresh / rerun)",
            gitgen_fresh[round - 1],
            gitgen_rerun[round - 1],
            kubectl_fresh[round - 1],
            kubectl_rerun[round - 1]
        );
    }
    run(Command::new(format!("{SHARED}/k8s/down.sh")).arg(&state).arg("--wipe"));
    let _ = fs_err::remove_dir_all(&work);

    let (gf, gr, kf, kr) = (
        median(gitgen_fresh),
        median(gitgen_rerun),
        median(kubectl_fresh),
        median(kubectl_rerun),
    );
    println!("bootstrap, median of {rounds} round(s):");
    println!(
        "  fresh: gitgen {:.2} s, kubectl apply --server-side {:.2} s: {:.2}x (target <= 0.5x)",
        gf.as_secs_f64(),
        kf.as_secs_f64(),
        gf.as_secs_f64() / kf.as_secs_f64()
    );
    println!(
        "  rerun: gitgen {:.2} s, kubectl apply --server-side {:.2} s: {:.2}x (target <= 0.3x)",
        gr.as_secs_f64(),
        kr.as_secs_f64(),
        gr.as_secs_f64() / kr.as_secs_f64()
    );
}
