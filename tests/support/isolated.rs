//! Every process a test spawns (gitgen, git) starts from an empty environment plus the
//! few variables it needs to run at all, never from the developer's: a `KUBECONFIG`, a
//! `~/.gitconfig` with an identity, `GITGEN_*` or `GIT_*` settings in a shell could
//! otherwise make a test pass on one machine that fails on another. A test adds what it
//! means with `.env(…)`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// The variables a spawned process keeps from the runner's environment: where programs
/// are (gitgen runs `sh` and `kubectl`), where temporary files go, and backtraces.
pub const INHERITED: &[&str] = &["PATH", "TMPDIR", "RUST_BACKTRACE"];

/// An empty folder, `HOME` of every spawned process: no git identity or config, no
/// `~/.kube/config`. libgit2 and kube-rs fall back to the passwd entry's home (which
/// holds the developer's config) when `HOME` is unset, so it is set, not removed.
pub fn empty_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::TempDir::new().expect("an empty home folder"))
        .path()
}

/// `program` with nothing of the runner's environment but [`INHERITED`], `HOME` set to
/// [`empty_home`] and git kept from `/etc/gitconfig`.
// a knob of the test harness, not an input of gitgen: the ban (clippy.toml) keeps gitgen's own reads in `ProcessEnv::read`.
#[allow(clippy::disallowed_methods)]
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for name in INHERITED {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.env("HOME", empty_home()).env("GIT_CONFIG_NOSYSTEM", "1");
    command
}

/// The gitgen binary under test, as [`command`], without colours.
pub fn gitgen() -> Command {
    let mut command = command(env!("CARGO_BIN_EXE_gitgen"));
    command.env("NO_COLOR", "1");
    command
}
