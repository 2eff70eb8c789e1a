//! Throwaway control planes for the test tiers that start their own
//! (`tests/e2e_converge.rs`, and real Helm's in `support/helm.rs`): `../shared/k8s/up.sh`
//! on a free port, `down.sh --wipe` when dropped, however the test ends.
//!
//! Ports: the API ports listed in `GITGEN_E2E_CONVERGE_PORTS` (comma-separated) in turn,
//! else the first free one from 21000 up in steps of 10. A port is taken only when its
//! companions are free too, and never handed out twice while its control plane runs, so
//! the control planes of one test binary never collide with each other, nor with any
//! other that already runs.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// `../shared` beside the repo.
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");

/// A running `../shared/k8s` control plane, stopped and wiped when dropped.
#[derive(Debug)]
pub struct ControlPlane {
    dir: tempfile::TempDir,
    port: u16,
}

/// The API ports of `GITGEN_E2E_CONVERGE_PORTS` in turn, and those handed out to a
/// control plane that still runs (never handed out twice, even before `up.sh` binds them).
static PORTS: Mutex<(Vec<u16>, BTreeSet<u16>)> = Mutex::new((Vec::new(), BTreeSet::new()));

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// An API port whose companions (etcd at port-4064 and port-4063, the controller manager at
/// port+3814, see `up.sh`) are free too. A companion may be busy for a while as the local
/// end of some client's connection (they lie in Linux's ephemeral range, 32768-60999), so
/// it asks again for up to two minutes (a TIME_WAIT lasts one) before it fails.
fn take_port() -> u16 {
    for _ in 0..120 {
        if let Some(port) = try_take_port() {
            return port;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let ports = PORTS.lock().unwrap_or_else(|e| e.into_inner());
    panic!(
        "no free API port for a control plane for two minutes (GITGEN_E2E_CONVERGE_PORTS: {:?}, running: {:?})",
        ports.0, ports.1
    );
}

// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
fn try_take_port() -> Option<u16> {
    let mut guard = PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let (ports, taken) = &mut *guard;
    let usable = |p: u16, taken: &BTreeSet<u16>| {
        !taken.contains(&p) && [p, p - 4064, p - 4063, p + 3814].into_iter().all(port_is_free)
    };
    let chosen = match std::env::var("GITGEN_E2E_CONVERGE_PORTS") {
        Ok(list) => {
            if ports.is_empty() {
                *ports = list
                    .split(',')
                    .map(|p| p.trim().parse().expect("GITGEN_E2E_CONVERGE_PORTS: port numbers"))
                    .collect();
            }
            (0..ports.len()).find_map(|_| {
                let port = ports.remove(0);
                ports.push(port);
                usable(port, taken).then_some(port)
            })
        }
        Err(_) => (21000..27000).step_by(10).find(|p| usable(*p, taken)),
    }?;
    taken.insert(chosen);
    Some(chosen)
}

impl ControlPlane {
    /// Starts one, named `what` in its folder and the log; fails the test when `up.sh` is
    /// missing or fails.
    pub fn up(what: &str) -> ControlPlane {
        let up = Path::new(SHARED).join("k8s/up.sh");
        assert!(
            up.is_file(),
            "`{}` is missing: the test starts control planes with ../shared/k8s",
            up.display()
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("gitgen-e2e-{what}-"))
            .tempdir()
            .unwrap();
        let port = take_port();
        let out = Command::new(&up)
            .arg(dir.path())
            .arg(port.to_string())
            .output()
            .unwrap();
        let plane = ControlPlane { dir, port };
        assert!(
            out.status.success(),
            "{what}: `up.sh` on port {port} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("control plane `{what}` on 127.0.0.1:{port}");
        plane
    }

    /// Its kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A client of it.
    pub async fn client(&self) -> kube::Client {
        let config = kube::config::Kubeconfig::read_from(self.kubeconfig()).unwrap();
        let options = kube::config::KubeConfigOptions::default();
        kube::Client::try_from(kube::Config::from_custom_kubeconfig(config, &options).await.unwrap()).unwrap()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new(Path::new(SHARED).join("k8s/down.sh"))
            .arg(self.dir.path())
            .arg("--wipe")
            .output();
        PORTS.lock().unwrap_or_else(|e| e.into_inner()).1.remove(&self.port);
        eprintln!("control plane on 127.0.0.1:{} stopped", self.port);
    }
}
