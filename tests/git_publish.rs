//! `gitgen::git::publish` against real git: bare repositories on disk, a `git daemon`
//! on 127.0.0.1, and the `git` CLI to set up and inspect. The one HTTP remote is a small
//! server that checks credentials and hands what it accepts to `git http-backend`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Once};

use gitgen::git::{Credentials, GitError, PublishRequest, Published, publish};
use tempfile::TempDir;

const TOKEN: &str = "gitgen-test-token-7f3a9c";

// This binary spawns git, never gitgen: the module's gitgen builder goes unused here.
#[allow(dead_code)]
#[path = "support/isolated.rs"]
mod isolated;

use isolated::empty_home;

#[path = "support/git_daemon.rs"]
mod git_daemon;

use git_daemon::Daemon;

fn isolate_libgit2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for level in [
            git2::ConfigLevel::System,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::Global,
        ] {
            // SAFETY: runs once, before any test in this binary touches libgit2 (every test
            // calls this first, and `Once` blocks the others until it is done).
            unsafe { git2::opts::set_search_path(level, empty_home()) }.expect("set search path");
        }
    });
}

fn git_command(dir: &Path) -> Command {
    let mut cmd = isolated::command("git");
    cmd.current_dir(dir).env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Runs `git` in `dir` and returns its stdout; panics loudly if git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args(args)
        .output()
        .expect("the `git` CLI must be installed to run these tests");
    assert!(
        out.status.success(),
        "`git {}` failed in {}:\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn write(path: &Path, content: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, content).unwrap();
}

/// A course repository with one commit on `main`, and what render "wrote" since.
struct Course {
    dir: TempDir,
    rendered: BTreeMap<PathBuf, Vec<u8>>,
    paths: Vec<PathBuf>,
}

impl Course {
    fn new() -> Course {
        isolate_libgit2();
        let dir = TempDir::new().unwrap();
        let course = Course {
            rendered: BTreeMap::new(),
            paths: vec!["apps".into(), "environments/dev/lessons.yaml".into()],
            dir,
        };
        let root = course.root();
        fs_err::create_dir_all(&root).unwrap();
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["config", "user.name", "Trainer"]);
        git(&root, &["config", "user.email", "trainer@example.com"]);
        write(&root.join("README.md"), "# course\n");
        write(&root.join("notes.txt"), "mine\n");
        write(&root.join("apps/base/app.yaml"), "kind: Application\nname: base\n");
        write(&root.join("apps/lessons/old.yaml"), "name: old\n");
        write(&root.join("environments/dev/lessons.yaml"), "enabled: []\n");
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "initial course"]);
        course
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("course")
    }

    /// Writes a file as render (or the toggle file writer) would.
    fn render(&mut self, path: &str, content: &str) {
        write(&self.root().join(path), content);
        self.rendered.insert(PathBuf::from(path), content.as_bytes().to_vec());
    }

    /// The usual change: enabling keda.
    fn enable_keda(&mut self) {
        self.render("apps/base/app.yaml", "kind: Application\nname: base\nsyncWave: 1\n");
        self.render("apps/lessons/keda.yaml", "name: keda\n");
        fs_err::remove_file(self.root().join("apps/lessons/old.yaml")).unwrap();
        self.render("environments/dev/lessons.yaml", "enabled: [keda]\n");
    }

    /// A bare repository beside the course, added as `origin`, with `main` pushed.
    fn add_bare_origin(&self) -> PathBuf {
        let bare = self.dir.path().join("origin.git");
        git(self.dir.path(), &["init", "-q", "--bare", "-b", "main", "origin.git"]);
        git(&self.root(), &["remote", "add", "origin", bare.to_str().unwrap()]);
        git(&self.root(), &["push", "-q", "origin", "main"]);
        bare
    }

    fn publish_with(
        &self,
        branch: &str,
        remote: Option<&str>,
        include_local_changes: bool,
        credentials: &Credentials,
    ) -> Result<Published, GitError> {
        let is_render_output = |path: &Path, content: &[u8]| self.rendered.get(path).is_some_and(|r| r == content);
        let request = PublishRequest {
            repo: &self.root(),
            branch,
            remote,
            paths: &self.paths,
            is_render_output: &is_render_output,
            include_local_changes,
            message: format!("Enable keda\n\npublished to {branch}\n"),
        };
        publish(&request, credentials)
    }

    fn publish(&self, branch: &str, remote: Option<&str>) -> Result<Published, GitError> {
        self.publish_with(branch, remote, false, &Credentials::default())
    }

    fn rev(&self, rev: &str) -> String {
        git(&self.root(), &["rev-parse", rev]).trim().to_owned()
    }
}

/// Clones `url` at `branch` into a fresh directory and returns its files and contents.
fn clone_files(url: &str, branch: &str) -> (TempDir, BTreeMap<String, String>) {
    let dir = TempDir::new().unwrap();
    git(dir.path(), &["clone", "-q", "--branch", branch, url, "clone"]);
    let clone = dir.path().join("clone");
    let files = git(&clone, &["ls-files"])
        .lines()
        .map(|f| (f.to_owned(), fs_err::read_to_string(clone.join(f)).unwrap()))
        .collect();
    (dir, files)
}

fn expected_after_keda() -> BTreeMap<String, String> {
    [
        ("README.md", "# course\n"),
        ("apps/base/app.yaml", "kind: Application\nname: base\nsyncWave: 1\n"),
        ("apps/lessons/keda.yaml", "name: keda\n"),
        ("environments/dev/lessons.yaml", "enabled: [keda]\n"),
        ("notes.txt", "mine\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn pushes_only_the_managed_paths_to_a_bare_repository() {
    let mut course = Course::new();
    let bare = course.add_bare_origin();
    course.enable_keda();
    write(&course.root().join("notes.txt"), "changed, not for the course\n");
    write(&course.root().join("scratch.txt"), "untracked\n");
    git(&course.root(), &["add", "notes.txt"]);

    let published = course.publish("lesson/keda", Some("origin")).unwrap();

    assert_eq!(published.branch, "lesson/keda");
    assert_eq!(published.pushed_to.as_deref(), Some("origin"));
    assert_eq!(published.pr_url, None);
    assert!(!published.unchanged);
    assert_eq!(published.commit, course.rev("lesson/keda"));
    let (clone, files) = clone_files(bare.to_str().unwrap(), "lesson/keda");
    assert_eq!(files, expected_after_keda());
    let clone = clone.path().join("clone");
    assert_eq!(
        git(&clone, &["log", "-1", "--format=%B"]).trim(),
        "Enable keda\n\npublished to lesson/keda"
    );
    assert_eq!(
        git(&clone, &["log", "-1", "--format=%an <%ae>|%cn"]).trim(),
        "Trainer <trainer@example.com>|Trainer"
    );
    assert_eq!(git(&clone, &["rev-parse", "HEAD~1"]).trim(), course.rev("main"));

    // The course now sits on the branch; outside changes are untouched and still staged.
    assert_eq!(
        git(&course.root(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/lesson/keda"
    );
    assert_eq!(
        git(&course.root(), &["status", "--porcelain"]),
        "M  notes.txt\n?? scratch.txt\n"
    );
    assert_eq!(
        fs_err::read_to_string(course.root().join("notes.txt")).unwrap(),
        "changed, not for the course\n"
    );
}

#[test]
fn pushes_to_a_git_daemon_and_clones_back_over_git_protocol() {
    let mut course = Course::new();
    let served = TempDir::new().unwrap();
    git(served.path(), &["init", "-q", "--bare", "-b", "main", "course.git"]);
    let daemon = Daemon::start(served.path());
    let url = daemon.url("course.git");
    git(&course.root(), &["remote", "add", "origin", &url]);
    course.enable_keda();

    let published = course.publish("lesson/keda", Some("origin")).unwrap();

    assert_eq!(published.pushed_to.as_deref(), Some("origin"));
    let (_clone, files) = clone_files(&url, "lesson/keda");
    assert_eq!(files, expected_after_keda());
}

#[test]
fn non_fast_forward_keeps_the_commit_and_publishes_after_pull_rebase() {
    let mut course = Course::new();
    let bare = course.add_bare_origin();
    course.enable_keda();
    course.publish("lesson/keda", Some("origin")).unwrap();

    // A colleague pushes to the same branch first.
    let colleague = TempDir::new().unwrap();
    git(
        colleague.path(),
        &["clone", "-q", "--branch", "lesson/keda", bare.to_str().unwrap(), "c"],
    );
    let colleague = colleague.path().join("c");
    write(&colleague.join("README.md"), "# course\nreviewed\n");
    git(
        &colleague,
        &[
            "-c",
            "user.name=C",
            "-c",
            "user.email=c@example.com",
            "commit",
            "-qam",
            "review",
        ],
    );
    git(&colleague, &["push", "-q", "origin", "lesson/keda"]);

    course.render("apps/lessons/keda.yaml", "name: keda\nreplicas: 2\n");
    let err = course.publish("lesson/keda", Some("origin")).unwrap_err();
    assert!(matches!(err, GitError::NonFastForward { .. }), "{err:?}");
    assert!(err.to_string().contains("non-fast-forward"), "{err}");
    assert!(
        err.hint().contains("git pull --rebase origin lesson/keda"),
        "{}",
        err.hint()
    );
    let GitError::NonFastForward { kept, .. } = &err else {
        unreachable!()
    };
    assert_eq!(kept.commit, course.rev("lesson/keda"));
    assert_eq!(git(&course.root(), &["log", "-1", "--format=%s"]).trim(), "Enable keda");
    assert_eq!(git(&course.root(), &["status", "--porcelain"]), "");

    git(&course.root(), &["pull", "-q", "--rebase"]);
    let published = course.publish("lesson/keda", Some("origin")).unwrap();

    assert!(published.unchanged, "the rebased commit already holds the change");
    let (_clone, files) = clone_files(bare.to_str().unwrap(), "lesson/keda");
    assert_eq!(files["README.md"], "# course\nreviewed\n");
    assert_eq!(files["apps/lessons/keda.yaml"], "name: keda\nreplicas: 2\n");
}

#[test]
fn an_unreachable_remote_leaves_head_where_it_was_and_a_rerun_after_the_fix_pushes() {
    let mut course = Course::new();
    let closed = free_port();
    git(
        &course.root(),
        &[
            "remote",
            "add",
            "origin",
            &format!("git://127.0.0.1:{closed}/course.git"),
        ],
    );
    course.enable_keda();

    let err = course.publish("lesson/keda", Some("origin")).unwrap_err();

    assert!(matches!(err, GitError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{closed}")), "{err}");
    assert!(err.hint().contains("you are still on `main`"), "{}", err.hint());
    assert!(err.hint().contains("nothing was lost"), "{}", err.hint());
    assert_eq!(git(&course.root(), &["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    let committed = course.rev("lesson/keda");

    let bare = course.dir.path().join("later.git");
    git(course.dir.path(), &["init", "-q", "--bare", "later.git"]);
    git(&course.root(), &["remote", "set-url", "origin", bare.to_str().unwrap()]);
    let published = course.publish("lesson/keda", Some("origin")).unwrap();

    assert!(published.unchanged);
    assert_eq!(published.commit, committed);
    assert_eq!(
        git(&course.root(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/lesson/keda"
    );
    let (_clone, files) = clone_files(bare.to_str().unwrap(), "lesson/keda");
    assert_eq!(files, expected_after_keda());
}

#[test]
fn a_refusing_remote_reports_its_message_and_keeps_the_commit() {
    let mut course = Course::new();
    let served = TempDir::new().unwrap();
    git(served.path(), &["init", "-q", "--bare", "-b", "main", "course.git"]);
    let hook = served.path().join("course.git/hooks/pre-receive");
    write(&hook, "#!/bin/sh\necho 'pushes are frozen during the exam'\nexit 1\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let daemon = Daemon::start(served.path());
    let url = daemon.url("course.git");
    git(&course.root(), &["remote", "add", "origin", &url]);
    course.enable_keda();

    let err = course.publish("lesson/keda", Some("origin")).unwrap_err();

    assert!(matches!(err, GitError::Refused { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("pre-receive hook declined"), "{text}");
    assert!(text.contains("pushes are frozen during the exam"), "{text}");
    let committed = course.rev("lesson/keda");

    fs_err::remove_file(&hook).unwrap();
    let published = course.publish("lesson/keda", Some("origin")).unwrap();
    assert_eq!(published.commit, committed);
    let (_clone, files) = clone_files(&url, "lesson/keda");
    assert_eq!(files, expected_after_keda());
}

#[test]
fn a_missing_remote_is_refused_before_anything_is_committed_or_switched() {
    let mut course = Course::new();
    course.enable_keda();
    let main = course.rev("main");

    let err = course.publish("lesson/keda", Some("upstream")).unwrap_err();

    assert!(matches!(err, GitError::RemoteNotConfigured { .. }), "{err:?}");
    assert!(err.hint().contains("git remote add upstream"), "{}", err.hint());
    let branches = git(&course.root(), &["branch", "--list", "lesson/keda"]);
    assert_eq!(branches, "", "no branch was created");
    assert_eq!(git(&course.root(), &["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    assert_eq!(course.rev("main"), main);
    assert_eq!(
        fs_err::read_to_string(course.root().join("apps/lessons/keda.yaml")).unwrap(),
        "name: keda\n"
    );
}

#[test]
fn the_token_never_reaches_the_config_the_error_or_any_file() {
    let mut course = Course::new();
    let closed = free_port();
    git(
        &course.root(),
        &["remote", "add", "origin", &format!("http://127.0.0.1:{closed}/o/r.git")],
    );
    course.enable_keda();
    let credentials = Credentials::new(Some(TOKEN.to_owned()));

    let err = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap_err();

    assert!(matches!(err, GitError::Unreachable { .. }), "{err:?}");
    let shown = format!("{err}\n{err:?}\n{}\n{credentials:?}", err.hint());
    assert!(!shown.contains(TOKEN), "{shown}");
    assert_no_file_contains(&course.root(), TOKEN);
}

#[test]
fn a_rejected_token_is_an_authentication_error_without_endless_retries() {
    let mut course = Course::new();
    let server = HttpRemote::unauthorized();
    git(&course.root(), &["remote", "add", "origin", &server.url]);
    course.enable_keda();
    let credentials = Credentials::new(Some(TOKEN.to_owned()));

    let err = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap_err();

    assert!(matches!(err, GitError::AuthFailed { .. }), "{err:?}");
    assert!(err.hint().contains("GITGEN_GIT_TOKEN"), "{}", err.hint());
    let shown = format!("{err}\n{err:?}\n{}", err.hint());
    assert!(!shown.contains(TOKEN), "{shown}");
    let requests = server.requests.lock().unwrap();
    assert!(
        requests.len() < 10,
        "{} requests: the credential callback looped",
        requests.len()
    );
    assert!(
        requests.iter().any(|r| r.contains("authorization: basic")),
        "the token was never offered"
    );
    assert_no_file_contains(&course.root(), TOKEN);
    assert_eq!(
        git(&course.root(), &["log", "-1", "--format=%s", "lesson/keda"]).trim(),
        "Enable keda"
    );
}

fn assert_no_file_contains(dir: &Path, needle: &str) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_no_file_contains(&path, needle);
        } else {
            let bytes = fs_err::read(&path).unwrap();
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "`{}` holds the token", path.display());
        }
    }
}

/// The `Authorization` value of HTTP Basic authentication with `user` and `password`.
fn basic_authorization(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            encoded.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    format!("Basic {encoded}")
}

/// What gitgen sends with a token over HTTP (`crates/gitgen-git/src/push.rs`: the token as the password
/// of `x-access-token`, as GitHub and GitLab take it).
fn token_authorization() -> String {
    basic_authorization("x-access-token", TOKEN)
}

/// An HTTP git remote on 127.0.0.1, `/o/r.git`, that records request heads (lower-cased)
/// and answers 401 to every request without the `accepted` `Authorization`; an accepted
/// request is served by `git http-backend` (CGI) from `base`.
struct HttpRemote {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HttpRemote {
    /// A remote that accepts no credential at all.
    fn unauthorized() -> HttpRemote {
        HttpRemote::start(None)
    }

    fn start(served: Option<(PathBuf, String)>) -> HttpRemote {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/o/r.git", listener.local_addr().unwrap().port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    head.push(line.trim_end().to_owned());
                    line.clear();
                }
                seen.lock().unwrap().push(head.join("\n").to_ascii_lowercase() + "\n");
                let header = |name: &str| {
                    head.iter()
                        .find_map(|h| h.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)))
                        .map(|(_, value)| value.trim().to_owned())
                };
                let response = match &served {
                    Some((base, accepted)) if header("authorization").as_ref() == Some(accepted) => {
                        let body = read_body(&mut reader, header("content-length"), header("transfer-encoding"));
                        http_backend(base, &head[0], header("content-type"), &body)
                    }
                    _ => b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
                           Content-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec(),
                };
                let _ = stream.write_all(&response);
            }
        });
        HttpRemote { url, requests }
    }
}

/// A request's body, sent with a length or in chunks (libgit2 sends a push's pack in
/// chunks).
fn read_body(reader: &mut impl BufRead, length: Option<String>, encoding: Option<String>) -> Vec<u8> {
    let mut body = Vec::new();
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                return body;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    body.resize(length.map_or(0, |l| l.parse().unwrap()), 0);
    reader.read_exact(&mut body).unwrap();
    body
}

/// `git http-backend` run as a CGI for `request_line`, turned into an HTTP response.
fn http_backend(base: &Path, request_line: &str, content_type: Option<String>, body: &[u8]) -> Vec<u8> {
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap();
    let target = parts.next().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut backend = git_command(base)
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        // An authenticated user may push (git-http-backend(1): http.receivepack).
        .env("REMOTE_USER", "x-access-token")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", content_type.unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("`git http-backend` must be installed to run these tests");
    backend.stdin.take().unwrap().write_all(body).unwrap();
    let output = backend.wait_with_output().unwrap();
    let split = output
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("CGI headers");
    let headers = String::from_utf8_lossy(&output.stdout[..split]).into_owned();
    let content = &output.stdout[split + 4..];
    let mut status = "200 OK".to_owned();
    let mut response = String::new();
    for header in headers.split("\r\n") {
        match header.strip_prefix("Status: ") {
            Some(code) => status = code.to_owned(),
            None => response.push_str(&format!("{header}\r\n")),
        }
    }
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )
    .into_bytes();
    bytes.extend_from_slice(content);
    bytes
}

/// Every object of the repository at `dir`, loose or packed, decompressed and with its
/// deltas resolved.
fn every_object(dir: &Path) -> Vec<u8> {
    let output = git_command(dir)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_authenticated_push_over_http_leaves_the_token_in_no_object_file_or_output() {
    let mut course = Course::new();
    let served = TempDir::new().unwrap();
    fs_err::create_dir(served.path().join("o")).unwrap();
    git(
        &served.path().join("o"),
        &["init", "-q", "--bare", "-b", "main", "r.git"],
    );
    let bare = served.path().join("o/r.git");
    let server = HttpRemote::start(Some((served.path().to_owned(), token_authorization())));
    git(&course.root(), &["remote", "add", "origin", &server.url]);
    course.enable_keda();
    let credentials = Credentials::new(Some(TOKEN.to_owned()));

    let published = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap();

    assert_eq!(published.pushed_to.as_deref(), Some("origin"));
    assert_eq!(
        git(&bare, &["rev-parse", "lesson/keda"]).trim(),
        course.rev("lesson/keda"),
        "the push did not arrive"
    );
    let requests = server.requests.lock().unwrap();
    let authorization = format!("authorization: {}", token_authorization().to_ascii_lowercase());
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&authorization) && r.starts_with("post ")),
        "the pack was not sent with the token: {requests:?}"
    );
    // gitgen's own HTTP transport carried the push, not libgit2's built-in one: the same
    // code an https:// push to GitHub runs (crates/gitgen-git/src/transport/http.rs).
    assert!(
        requests.iter().all(|r| r.contains("user-agent: git/2.0 (gitgen ")),
        "a request did not come from gitgen's transport: {requests:?}"
    );
    // The token, and the header that carries it, in neither repository's objects, files
    // or what publish returns.
    let shown = format!("{published:?}\n{credentials:?}");
    for needle in [TOKEN, &token_authorization()["Basic ".len()..]] {
        assert!(!shown.contains(needle), "{shown}");
        for repo in [course.root(), bare.clone()] {
            assert!(
                !holds(&every_object(&repo), needle),
                "an object of `{}` holds it",
                repo.display()
            );
            assert_no_file_contains(&repo, needle);
        }
    }
}

#[test]
fn refuses_changes_render_did_not_make_and_lists_them() {
    let mut course = Course::new();
    course.enable_keda();
    write(
        &course.root().join("apps/lessons/keda.yaml"),
        "name: keda\n# tweaked by hand\n",
    );
    write(&course.root().join("apps/base/extra.yaml"), "hand: made\n");
    let head_before = course.rev("HEAD");

    let err = course.publish("lesson/keda", None).unwrap_err();

    let GitError::LocalChanges { files } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        files,
        &[
            PathBuf::from("apps/base/extra.yaml"),
            PathBuf::from("apps/lessons/keda.yaml")
        ]
    );
    assert!(err.to_string().contains("`apps/base/extra.yaml`"), "{err}");
    assert!(err.hint().contains("`gitgen render`"), "{}", err.hint());
    assert_eq!(course.rev("HEAD"), head_before);
    assert_eq!(git(&course.root(), &["branch", "--list", "lesson/keda"]), "");
}

#[test]
fn include_local_changes_commits_hand_edits_too() {
    let mut course = Course::new();
    course.enable_keda();
    write(&course.root().join("apps/base/extra.yaml"), "hand: made\n");

    let published = course
        .publish_with("lesson/keda", None, true, &Credentials::default())
        .unwrap();

    assert_eq!(published.pushed_to, None);
    let tree = git(&course.root(), &["ls-tree", "-r", "--name-only", "lesson/keda"]);
    assert!(tree.lines().any(|f| f == "apps/base/extra.yaml"), "{tree}");
}

#[test]
fn files_outside_the_managed_paths_are_never_committed() {
    let mut course = Course::new();
    course.enable_keda();
    write(&course.root().join("README.md"), "# edited\n");
    write(
        &course.root().join("apps-notes/todo.txt"),
        "not managed, despite the prefix\n",
    );
    write(
        &course.root().join("environments/dev/other.yaml"),
        "beside the toggle file\n",
    );
    git(
        &course.root(),
        &["add", "-A", "README.md", "apps-notes", "environments"],
    );

    course.publish("lesson/keda", None).unwrap();

    let changed = git(&course.root(), &["diff", "--name-only", "main", "lesson/keda"]);
    assert_eq!(
        changed,
        "apps/base/app.yaml\napps/lessons/keda.yaml\napps/lessons/old.yaml\nenvironments/dev/lessons.yaml\n"
    );
}

#[test]
fn publishing_twice_without_changes_reuses_the_commit() {
    let mut course = Course::new();
    course.enable_keda();
    let first = course.publish("lesson/keda", None).unwrap();

    let second = course.publish("lesson/keda", None).unwrap();

    assert!(second.unchanged);
    assert_eq!(second.commit, first.commit);
}

#[test]
fn an_existing_branch_is_committed_on_and_checked_out_as_a_new_one_is() {
    let mut course = Course::new();
    course.enable_keda();
    let first = course.publish("lesson/keda", None).unwrap();
    git(&course.root(), &["switch", "-q", "main"]);
    course.enable_keda(); // render again: switching brought back main's files
    course.render("apps/lessons/keda.yaml", "name: keda\nreplicas: 3\n");
    write(&course.root().join("README.md"), "# on main\n");

    let second = course.publish("lesson/keda", None).unwrap();

    assert_eq!(
        git(&course.root(), &["rev-parse", "lesson/keda~1"]).trim(),
        first.commit
    );
    assert_eq!(second.commit, course.rev("lesson/keda"));
    assert_eq!(second.started_on.as_deref(), Some("main"));
    assert_eq!(
        git(&course.root(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/lesson/keda"
    );
    assert_eq!(git(&course.root(), &["show", "lesson/keda:README.md"]), "# course\n");
    assert_eq!(
        git(&course.root(), &["show", "lesson/keda:apps/lessons/keda.yaml"]),
        "name: keda\nreplicas: 3\n"
    );
    // The edit outside gitgen's paths is still in the working tree, uncommitted; the
    // managed paths are clean.
    let status = git(&course.root(), &["status", "--porcelain"]);
    assert!(status.lines().any(|l| l == " M README.md"), "{status}");
    assert!(
        !status.contains("apps/") && !status.contains("environments/"),
        "{status}"
    );
}

#[test]
fn an_existing_branch_that_differs_outside_the_managed_paths_is_refused_before_committing() {
    let mut course = Course::new();
    course.enable_keda();
    course.publish("lesson/keda", None).unwrap();
    write(&course.root().join("README.md"), "# changed on the branch\n");
    git(&course.root(), &["commit", "-q", "-am", "README on the branch"]);
    git(&course.root(), &["switch", "-q", "main"]);
    course.enable_keda();
    let tip = course.rev("lesson/keda");

    let err = course.publish("lesson/keda", None).unwrap_err();

    assert!(matches!(err, GitError::BranchDiffers { .. }), "{err:?}");
    assert!(err.to_string().contains("`README.md`"), "{err}");
    assert!(err.hint().contains("git switch lesson/keda"), "{}", err.hint());
    assert_eq!(course.rev("lesson/keda"), tip, "nothing was committed");
    assert_eq!(git(&course.root(), &["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
}

#[test]
fn a_missing_identity_is_a_clear_error_with_a_hint() {
    let mut course = Course::new();
    git(&course.root(), &["config", "--unset", "user.name"]);
    git(&course.root(), &["config", "--unset", "user.email"]);
    course.enable_keda();

    let err = course.publish("lesson/keda", None).unwrap_err();

    assert!(matches!(err, GitError::NoIdentity { .. }), "{err:?}");
    assert!(err.hint().contains("git config user.name"), "{}", err.hint());
}

#[test]
fn an_invalid_branch_name_is_refused() {
    let course = Course::new();

    let err = course.publish("lesson..keda", None).unwrap_err();

    assert!(matches!(err, GitError::InvalidBranch { .. }), "{err:?}");
}

/// Credentials whose `GIT_SSH_COMMAND` is a script standing in for `ssh`: `body` runs with
/// ssh's arguments, the last of which is the command for the server.
fn fake_ssh(dir: &Path, body: &str) -> Credentials {
    let script = dir.join("fake-ssh");
    write(&script, &format!("#!/bin/sh\n{body}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let process = gitgen::settings::ProcessEnv {
        git_ssh_command: Some(script.display().to_string()),
        ..Default::default()
    };
    Credentials::from_process(&process)
}

#[test]
fn pushes_over_ssh_through_git_ssh_command_as_git_would() {
    let mut course = Course::new();
    let served = TempDir::new().unwrap();
    git(served.path(), &["init", "-q", "--bare", "-b", "main", "course.git"]);
    let bare = served.path().join("course.git");
    git(
        &course.root(),
        &[
            "remote",
            "add",
            "origin",
            &format!("ssh://trainer@gitserver:2222{}", bare.display()),
        ],
    );
    course.enable_keda();
    // Runs the server's command here and logs ssh's arguments beside it.
    let log = served.path().join("ssh-args");
    let body = format!(
        "printf '%s\\n' \"$@\" > '{}'\nfor last; do :; done\nexec sh -c \"$last\"",
        log.display()
    );
    let credentials = fake_ssh(served.path(), &body);

    let published = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap();

    assert_eq!(published.pushed_to.as_deref(), Some("origin"));
    let (_clone, files) = clone_files(bare.to_str().unwrap(), "lesson/keda");
    assert_eq!(files, expected_after_keda());
    assert_eq!(
        fs_err::read_to_string(&log).unwrap(),
        format!("-p\n2222\ntrainer@gitserver\ngit-receive-pack '{}'\n", bare.display())
    );
}

#[test]
fn a_key_ssh_rejects_is_an_authentication_error() {
    let mut course = Course::new();
    git(&course.root(), &["remote", "add", "origin", "git@gitserver:o/r.git"]);
    course.enable_keda();
    let dir = TempDir::new().unwrap();
    let credentials = fake_ssh(
        dir.path(),
        "echo 'git@gitserver: Permission denied (publickey).' >&2\nexit 255",
    );

    let err = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap_err();

    assert!(matches!(err, GitError::AuthFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("Permission denied (publickey)"), "{err}");
    assert!(err.hint().contains("ssh-add"), "{}", err.hint());
}

#[test]
fn an_ssh_host_that_reads_as_an_option_is_refused_and_nothing_runs() {
    let mut course = Course::new();
    let dir = TempDir::new().unwrap();
    let ran = dir.path().join("ran");
    git(
        &course.root(),
        &["remote", "add", "origin", "ssh://-oProxyCommand=evil/o/r.git"],
    );
    course.enable_keda();
    let credentials = fake_ssh(dir.path(), &format!("touch '{}'", ran.display()));

    let err = course
        .publish_with("lesson/keda", Some("origin"), false, &credentials)
        .unwrap_err();

    assert!(
        matches!(&err, GitError::UnsafeSshUrl { part: "host", value, .. } if value == "-oProxyCommand=evil"),
        "{err:?}"
    );
    assert!(err.hint().contains("git remote set-url origin"), "{}", err.hint());
    assert!(!ran.exists(), "ssh ran for a hostile host");
}
