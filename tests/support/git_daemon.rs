//! A `git daemon` on 127.0.0.1 serving the bare repositories of a folder, pushes
//! enabled: a forge's stand-in for the tests that push (`tests/git_publish.rs`,
//! `tests/e2e_readme_walk.rs`). It needs the `git` CLI, started as [`super::isolated`]
//! starts every process.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `git daemon` serving `base` with pushes enabled; killed when dropped.
pub struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    /// Starts one on a free port and waits until it listens.
    pub fn start(base: &Path) -> Daemon {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // `git daemon` runs `git-daemon` as a child of its own, which killing `git` would
        // leave running: the test starts `git-daemon` itself, so the drop kills the server.
        let exec_path = super::isolated::command("git")
            .arg("--exec-path")
            .output()
            .expect("the `git` CLI must be installed to run `git daemon`");
        assert!(exec_path.status.success(), "`git --exec-path` failed");
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = super::isolated::command(Path::new(exec_path.trim()).join("git-daemon"))
            .current_dir(base)
            .env("GIT_TERMINAL_PROMPT", "0")
            .args([
                "--reuseaddr",
                &format!("--base-path={}", base.display()),
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("`git-daemon` is part of the `git` CLI");
        let daemon = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "`git daemon` did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    /// The URL of repository `repo` (a path under the base folder).
    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
