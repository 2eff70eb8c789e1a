//! End to end in a browser: `gitgen serve` on a real API server where gitgen bootstrapped
//! the course, opened in Debian's headless Chromium driven over the WebDriver protocol
//! (W3C WebDriver, through `chromedriver`). `#[ignore]`d like the rest of the e2e tier; it
//! needs `GITGEN_E2E_KUBECONFIG` (a throwaway cluster), `/usr/bin/chromium` and
//! `/usr/bin/chromedriver` (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs), and fails, never skips, without them:
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --locked --test e2e_serve -- --ignored
//! ```
//!
//! No Argo CD controller runs on the test's API server (it has no nodes), so the test
//! plays it: it applies the lesson Applications the root Application would create, and
//! writes their status as the application controller does. It leaves the screenshot at
//! `target/e2e-serve/serve.png` (the README shows a copy, `docs/serve.png`).

#[allow(dead_code)]
#[path = "support/e2e.rs"]
mod e2e;
// Only `Served::start`: the page is read through the browser.
#[allow(dead_code)]
#[path = "support/serve.rs"]
mod serve;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{INSTALL_YAML, init_course, kubectl, logged, text};
use serde_json::{Value, json};
use serve::Served;

/// The lessons the course enables, each at a stage whose objects need no CRD, and the
/// one whose cell the test watches turn from Progressing to Healthy.
const LESSONS: [(&str, &str); 2] = [("deployments", "v2"), ("jobs-cronjobs", "cronjob")];
const WATCHED: &str = "deployments";

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

#[test]
#[ignore = "needs a real cluster (GITGEN_E2E_KUBECONFIG) and Debian's chromium and chromium-driver"]
fn the_page_shows_the_course_and_a_cell_turns_healthy_without_a_reload() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: `apt-get install -y chromium chromium-driver` (.ci/run does)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = init_course(dir.path());
    let ok = |args: &[&str]| {
        let output = logged(&mut e2e::gitgen(&repo, args), args);
        assert!(output.status.success(), "{}", text(&output));
    };
    for (lesson, stage) in LESSONS {
        ok(&["enable", lesson, "--stage", stage]);
    }
    ok(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    let applications = Applications::apply(&repo);
    applications.set_status(WATCHED, "Synced", "Progressing");

    let mut command = e2e::gitgen(
        &repo,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--argocd-url",
            "https://argocd.example",
        ],
    );
    let served = Served::start(&mut command);
    let browser = Browser::start();
    browser.open(&format!("{}/", served.url));

    // The course: every lesson of the catalog, the enabled ones marked.
    let lessons = browser.run("return [...document.querySelectorAll('#course article h4 a')].map(a => a.textContent)");
    let lessons: Vec<&str> = lessons
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for (lesson, _) in LESSONS {
        assert!(lessons.contains(&lesson), "{lessons:?}");
    }
    assert!(lessons.len() > 10, "the built-in course has more lessons: {lessons:?}");
    let enabled =
        browser.run("return [...document.querySelectorAll('#course article.enabled h4 a')].map(a => a.textContent)");
    assert_eq!(enabled, json!(["deployments", "jobs-cronjobs"]));
    let argocd = browser.run(&format!("return document.getElementById('lesson:{WATCHED}').href"));
    assert_eq!(
        argocd,
        json!(format!("https://argocd.example/applications/argocd/{WATCHED}"))
    );

    // The watched cell turns Healthy after its status changes, on the same page.
    let cell = format!("return document.getElementById('lesson:{WATCHED}').textContent");
    browser.wait_for(&cell, &json!("Synced/Progressing"));
    browser.run("window.__marker = 'kept'; return null");
    applications.set_status(WATCHED, "Synced", "Healthy");
    let took = browser.wait_for(&cell, &json!("Synced/Healthy"));
    assert_eq!(
        browser.run("return window.__marker"),
        json!("kept"),
        "the page reloaded"
    );
    eprintln!(
        "the cell turned Healthy {} ms after the status changed",
        took.as_millis()
    );
    assert!(
        took <= 2 * gitgen::serve::POLL_INTERVAL + Duration::from_secs(1),
        "took {took:?}"
    );
    browser.wait_for(
        "return document.getElementById('live-summary').textContent",
        &json!("1 of 2 enabled lesson(s) Synced and Healthy"),
    );

    let screenshot = browser.screenshot();
    let blank = {
        browser.open("about:blank");
        browser.screenshot()
    };
    check_screenshot(&screenshot, &blank);
    let saved = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-serve/serve.png");
    fs_err::create_dir_all(saved.parent().unwrap()).unwrap();
    fs_err::write(&saved, &screenshot).unwrap();
    eprintln!("screenshot: {} ({} bytes)", saved.display(), screenshot.len());

    // A walkthrough, rendered for the environment: its service URLs are links.
    browser.open(&format!("{}/lessons/{WATCHED}", served.url));
    let links = browser.run(
        "return [...document.querySelectorAll('.walkthrough a')].map(a => a.getAttribute('href')).filter(h => h.startsWith('http://localhost'))",
    );
    assert!(
        !links.as_array().unwrap().is_empty(),
        "no service URL is a link: {links}"
    );
    let shown = browser.run("return document.querySelector('nav.stages a.shown').textContent");
    assert_eq!(shown, json!("v2"));
}

/// A PNG of the page at the window's size, and far larger than a blank page's: a blank
/// page compresses to almost nothing.
fn check_screenshot(png: &[u8], blank: &[u8]) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        (1000..=1400).contains(&width) && (700..=1100).contains(&height),
        "{width}x{height}"
    );
    assert!(
        png.len() > 20_000 && png.len() > 5 * blank.len(),
        "the screenshot ({} bytes) looks blank (a blank page: {} bytes)",
        png.len(),
        blank.len()
    );
}

/// The lesson Applications, as Argo CD's root Application would create them.
struct Applications {
    names: Vec<String>,
}

impl Applications {
    /// Applies the kustomization the root Application follows (`argocd/<env>/apps/`: the
    /// AppProjects, the lesson Applications and `gitgen-argocd`), server-side, as its sync
    /// would; deletes the Applications an earlier run left first. Every Application it
    /// applies is deleted again, not only the lessons': a later tier applies its own.
    fn apply(repo: &Path) -> Self {
        let apps = repo.join("argocd/docker-desktop/apps");
        let mut names: Vec<String> = fs_err::read_dir(&apps)
            .unwrap()
            .filter_map(|entry| {
                let file = entry.unwrap().file_name().into_string().unwrap();
                file.strip_suffix(".application.yaml").map(str::to_owned)
            })
            .collect();
        names.sort();
        for (lesson, _) in LESSONS {
            assert!(
                names.iter().any(|name| name == lesson),
                "no Application for {lesson} in {names:?}"
            );
        }
        let applications = Applications { names };
        applications.delete();
        let applied = kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=argocd-e2e",
            "-k",
            apps.to_str().unwrap(),
        ]);
        assert!(applied.status.success(), "{}", text(&applied));
        applications
    }

    /// Writes `sync` and `health` into Application `name`'s status, server-side, as the
    /// application controller owns them. Argo CD's Application CRD declares no status
    /// subresource (`subresources: {}` in `../shared/crds/argocd-install/install.yaml`),
    /// so the status is applied to the object itself.
    fn set_status(&self, name: &str, sync: &str, health: &str) {
        let object = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "status": {"sync": {"status": sync}, "health": {"status": health}},
        });
        let mut child = e2e::isolated::command("kubectl")
            .arg("--kubeconfig")
            .arg(e2e::management())
            .args([
                "apply",
                "--server-side",
                "--field-manager=argocd-application-controller",
                "-f",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(object.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }

    /// Deletes the Applications.
    fn delete(&self) {
        for name in &self.names {
            e2e::delete_application(name);
        }
    }
}

impl Drop for Applications {
    /// The other e2e tests expect no lesson Application (`tests/e2e_newcomer.rs`).
    fn drop(&mut self) {
        self.delete();
    }
}

/// Headless Chromium under `chromedriver`, one WebDriver session; both stop when dropped.
struct Browser {
    driver: Child,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        // Headless, as root in CI (no sandbox), with a fresh profile and none of the
        // background connections to Google's hosts that a closed network refuses.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut browser = Browser {
            driver,
            session: format!("http://127.0.0.1:{port}/session"),
            _profile: profile,
        };
        let started = Instant::now();
        let session = loop {
            match webdriver("POST", &browser.session, Some(&capabilities)) {
                Ok(answer) => break answer,
                Err(err) if started.elapsed() < Duration::from_secs(30) => {
                    eprintln!("waiting for chromedriver: {err}");
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(err) => panic!("chromedriver did not start a session: {err}"),
            }
        };
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"));
        browser.session = format!("{}/{id}", browser.session);
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let answer =
            webdriver(method, &format!("{}{path}", self.session), body).unwrap_or_else(|err| panic!("{path}: {err}"));
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({"url": url})));
    }

    /// Runs `script` in the page and returns what it returns.
    fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(&json!({"script": script, "args": []})))
    }

    /// Waits until `script` returns `expected` (at most 10 s); how long it took.
    #[track_caller]
    fn wait_for(&self, script: &str, expected: &Value) -> Duration {
        let started = Instant::now();
        loop {
            let got = self.run(script);
            if got == *expected {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "`{script}` returned {got}, not {expected}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The viewport as PNG.
    fn screenshot(&self) -> Vec<u8> {
        let base64 = self.call("GET", "/screenshot", None);
        // A `ByteString` is base64 in JSON, as Kubernetes writes Secret data.
        serde_json::from_value::<k8s_openapi::ByteString>(base64).unwrap().0
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = webdriver("DELETE", &self.session, None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One WebDriver request: the JSON answer, or why there is none.
fn webdriver(method: &str, url: &str, body: Option<&Value>) -> Result<Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let answer = match (method, body) {
        ("POST", body) => agent
            .post(url)
            .header("content-type", "application/json")
            .send(body.unwrap_or(&json!({})).to_string()),
        ("DELETE", _) => agent.delete(url).call(),
        _ => agent.get(url).call(),
    };
    let mut answer = answer.map_err(|err| err.to_string())?;
    let status = answer.status();
    let text = answer.body_mut().read_to_string().map_err(|err| err.to_string())?;
    let json: Value = serde_json::from_str(&text).map_err(|err| format!("{err}: {text}"))?;
    if !status.is_success() {
        return Err(format!("{status}: {json}"));
    }
    Ok(json)
}
