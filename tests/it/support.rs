//! A test repo in a temp folder and a way to run the real `gitgen` binary in it, as a
//! user would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A GitOps repo in a temporary folder.
pub struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// One run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    root: PathBuf,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Repo {
    /// A copy of `tests/fixtures/<name>`.
    pub fn fixture(name: &str) -> Repo {
        Repo::fixture_in(name, &std::env::temp_dir())
    }

    /// A copy of `tests/fixtures/<name>` in a temporary folder under `parent`.
    pub fn fixture_in(name: &str, parent: &Path) -> Repo {
        let dir = tempfile::tempdir_in(parent).unwrap();
        let root = dir.path().join("repo");
        copy_dir(&fixtures().join(name), &root);
        Repo { _dir: dir, root }
    }

    /// A repo made by `gitgen init` from the built-in course.
    pub fn init() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("course");
        let run = gitgen(
            dir.path(),
            &[
                "init",
                root.to_str().unwrap(),
                "--repo-url",
                "https://github.com/example/course.git",
            ],
        );
        assert_eq!(run.code, 0, "gitgen init failed:\n{}", run.stderr);
        Repo { _dir: dir, root }
    }

    /// A synthetic repo of `lessons` lessons (3 stages, 5 manifests each), not rendered.
    pub fn synth(lessons: usize) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("synth");
        let spec = crate::synth::SynthSpec {
            lessons,
            ..Default::default()
        };
        crate::synth::write_repo(&root, &spec).unwrap();
        Repo { _dir: dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Runs `gitgen ARGS` in the repo.
    pub fn gitgen(&self, args: &[&str]) -> Run {
        self.gitgen_with_env(args, &[])
    }

    /// Runs `gitgen ARGS` in the repo with extra environment variables.
    pub fn gitgen_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut run = gitgen_in(&self.root, args, env);
        run.root = self.root.clone();
        run
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.root.join(relative);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        fs_err::read_to_string(self.root.join(relative)).unwrap()
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.root.join(relative).exists()
    }

    pub fn remove(&self, relative: &str) {
        let path = self.root.join(relative);
        if path.is_dir() {
            fs_err::remove_dir_all(path).unwrap();
        } else {
            fs_err::remove_file(path).unwrap();
        }
    }

    /// Every file and folder of the repo except `.git` and `.gitgen`: repo-relative path,
    /// full path and whether it is a folder, parents before children.
    pub fn entries(&self) -> Vec<(String, PathBuf, bool)> {
        let mut entries = Vec::new();
        collect(&self.root, "", &mut entries);
        entries
    }

    /// Every file of the repo except `.git` and `.gitgen`, with its contents.
    pub fn tree(&self) -> BTreeMap<String, String> {
        self.entries()
            .into_iter()
            .filter(|(_, _, is_dir)| !is_dir)
            .map(|(relative, path, _)| {
                (
                    relative,
                    fs_err::read_to_string(path).unwrap_or_else(|_| "<binary>".into()),
                )
            })
            .collect()
    }

    /// Every folder holding a `kustomization.yaml`, repo-relative.
    pub fn kustomizations(&self) -> Vec<String> {
        self.tree()
            .keys()
            .filter_map(|p| p.strip_suffix("/kustomization.yaml"))
            .filter(|p| !p.starts_with("catalog/"))
            .map(str::to_owned)
            .collect()
    }
}

fn collect(dir: &Path, prefix: &str, entries: &mut Vec<(String, PathBuf, bool)>) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefix.is_empty() && (name == ".git" || name == ".gitgen") {
            continue;
        }
        let relative = format!("{prefix}{name}");
        let is_dir = entry.file_type().unwrap().is_dir();
        entries.push((relative.clone(), entry.path(), is_dir));
        if is_dir {
            collect(&entry.path(), &format!("{relative}/"), entries);
        }
    }
}

fn gitgen(cwd: &Path, args: &[&str]) -> Run {
    gitgen_in(cwd, args, &[])
}

fn gitgen_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = crate::isolated::gitgen()
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("running gitgen");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        root: cwd.to_owned(),
    }
}

impl Run {
    /// A run of the binary in `repo` started some other way (another user, say).
    pub fn of(repo: &Repo, output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            root: repo.path().to_owned(),
        }
    }

    /// Exit code, stdout and stderr, with the repo's temp path replaced by `[REPO]`.
    pub fn transcript(&self) -> String {
        let redact = |text: &str| text.replace(self.root.to_str().unwrap(), "[REPO]");
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code,
            redact(&self.stdout),
            redact(&self.stderr)
        )
    }

    /// The `gitgen …` commands that this run's `hint:` lines name in backticks, split into
    /// words as a POSIX shell would (single quotes only, which is all gitgen writes), each
    /// without the leading `gitgen`. Panics when the run printed no hint that names one.
    #[track_caller]
    pub fn hinted_commands(&self) -> Vec<Vec<String>> {
        let commands: Vec<Vec<String>> = self
            .stderr
            .lines()
            .filter_map(|line| line.strip_prefix("hint: "))
            .flat_map(|hint| hint.split('`').skip(1).step_by(2))
            .filter_map(|code| code.strip_prefix("gitgen "))
            .map(shell_words)
            .collect();
        assert!(
            !commands.is_empty(),
            "no hint names a gitgen command\n{}",
            self.transcript()
        );
        commands
    }

    /// Panics with the transcript unless the run exited with `code`.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.transcript());
        self
    }
}

/// `kubectl kustomize DIR`; kubectl must be installed (these tests never skip).
pub fn kustomize(dir: &Path) -> Result<String, String> {
    let output = crate::isolated::command("kubectl")
        .args(["kustomize", dir.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("kubectl is required for these tests and could not be run: {e}"));
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// How long a run of the binary on hostile input may take: long enough for a debug build
/// on a busy machine, short enough that a hang fails its test instead of stalling CI.
pub const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

impl Repo {
    /// Runs `gitgen ARGS` in the repo and fails the test if it has not exited within
    /// `limit`: for input that could make gitgen hang (a FIFO, a device, a template).
    pub fn gitgen_within(&self, args: &[&str], limit: std::time::Duration) -> Run {
        use std::io::Read;
        let mut child = crate::isolated::gitgen()
            .args(args)
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running gitgen");
        // Drained on their own threads so a chatty run never blocks on a full pipe.
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                pipe.read_to_end(&mut text).unwrap();
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("`gitgen {}` hung: still running after {limit:?}", args.join(" "));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
            root: self.root.clone(),
        }
    }
}

/// `kubectl kustomize DIR`, offline: Argo CD's own install kustomization names upstream's
/// install.yaml by URL, so it is built from a copy that names the local file instead.
pub fn build(dir: &Path) -> Result<String, String> {
    if dir.ends_with("argocd-install") {
        kustomize_offline(dir)
    } else {
        kustomize(dir)
    }
}

/// The local copy of a tested Argo CD release's upstream `install.yaml` (SOURCES.md beside
/// each).
pub fn local_install_manifest(version: &str) -> std::path::PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    match version {
        "v2.12.3" => shared.join("crds/argocd-install/install.yaml"),
        "v3.5.1" => shared.join("argocd-v3.5.1/install.yaml"),
        other => panic!("no local install manifest of Argo CD {other}"),
    }
}

/// Builds Argo CD's own install kustomization with its remote resource, upstream's
/// install.yaml at the pinned release, swapped for the local copy of the same release
/// (tests have no network).
fn kustomize_offline(dir: &Path) -> Result<String, String> {
    let kustomization = fs_err::read_to_string(dir.join("kustomization.yaml")).unwrap();
    let version = kustomization
        .split_whitespace()
        .find_map(gitgen::argocd_install::manifest_version)
        .unwrap_or_else(|| panic!("no install manifest URL in {kustomization}"));
    let url = gitgen::argocd_install::manifest_url(version);
    let local = local_install_manifest(version);
    let copy = tempfile::tempdir().unwrap();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs_err::read_to_string(&path).unwrap();
        fs_err::write(
            copy.path().join(path.file_name().unwrap()),
            text.replace(&url, "install.yaml"),
        )
        .unwrap();
    }
    fs_err::copy(local, copy.path().join("install.yaml")).unwrap();
    let built = kustomize(copy.path())?;
    assert!(
        built.contains("resource.customizations.health.argoproj.io_Application"),
        "{built}"
    );
    Ok(built)
}

/// The run exited with `code` and never panicked; a failure says `error:` and `hint:`.
#[track_caller]
pub fn check(run: &Run, code: i32) {
    assert_ne!(run.code, 101, "gitgen panicked\n{}", run.transcript());
    assert!(
        !run.stderr.contains("panicked"),
        "gitgen panicked\n{}",
        run.transcript()
    );
    run.expect(code);
    if code == 2 {
        assert!(
            run.stderr.starts_with("error: "),
            "no `error:` line\n{}",
            run.transcript()
        );
        assert!(run.stderr.contains("\nhint: "), "no `hint:` line\n{}", run.transcript());
    }
}

/// `line` split into words as a POSIX shell splits one with single quotes and no other
/// quoting.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unbalanced quote in `{line}`");
    words.extend(word);
    words
}
