//! `gitgen serve` as a user runs it: the real binary on a free loopback port, asked over
//! HTTP, with no cluster (the git side only). The browser test on a real cluster is
//! `tests/e2e_serve.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use crate::serve_support::Served;
use crate::support::{Repo, check};

/// `gitgen serve ARGS` in `repo` on a free port, with a kubeconfig that does not exist:
/// the cluster is unreachable.
fn serve(repo: &Repo, args: &[&str]) -> Served {
    let mut command = crate::isolated::gitgen();
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(repo.path())
        .env("KUBECONFIG", repo.path().join("no-such-kubeconfig"));
    Served::start(&mut command)
}

/// Every file and folder under `dir`, `.git` and `.gitgen` included, with its size and
/// modification time: what any write would change.
fn disk(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut found = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in fs_err::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let meta = fs_err::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                folders.push(entry.path());
            }
            let name = entry.path().strip_prefix(dir).unwrap().display().to_string();
            found.insert(name, (meta.len(), meta.modified().unwrap()));
        }
    }
    found
}

#[test]
fn serves_the_built_in_course_with_the_cluster_unreachable_and_writes_nothing() {
    let repo = Repo::init();
    let before = disk(repo.path());
    let served = serve(&repo, &["--argocd-url", "https://argocd.example/"]);

    let (status, course) = served.get("/");
    assert_eq!(status, 200, "{course}");
    for lesson in ["deployments", "ingress", "argocd", "keda"] {
        assert!(
            course.contains(&format!("id=\"course-{lesson}\"")),
            "{lesson}: {course}"
        );
    }
    assert!(
        course.contains("The cluster is unreachable: showing the git side only"),
        "{course}"
    );

    let (status, walkthrough) = served.get("/lessons/ingress/nyancat");
    assert_eq!(status, 200, "{walkthrough}");
    assert!(
        walkthrough.contains("<a href=\"http://localhost/nyancat\">http://localhost/nyancat</a>"),
        "{walkthrough}"
    );

    let (status, state) = served.get("/api/state");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(state["unreachable"].is_string(), "{state:#}");

    assert_eq!(served.get("/nope").0, 404);
    assert_eq!(served.get("/lessons/ingress/no-such-stage").0, 404);
    assert_eq!(served.get("/assets/serve.js").0, 200);
    drop(served);
    assert_eq!(disk(repo.path()), before, "gitgen serve wrote to the repo");
}

const HOSTILE_WALKTHROUGH: &str = r#"# {{ lesson.title }}

<script>window.pwned = 1</script>

<img src=x onerror="window.pwned = 2">

Inline <b onclick="window.pwned = 3">bold</b> and [a link](javascript:window.pwned=4),
[another](JaVaScRiPt:alert(5)), [data](data:text/html,<script>x</script>) and
<javascript:alert(6)>.
"#;

#[test]
fn a_hostile_walkthrough_and_a_title_with_markup_render_inert() {
    let repo = Repo::fixture("small");
    repo.write("catalog/alpha/README.md.j2", HOSTILE_WALKTHROUGH);
    let lesson = repo.read("catalog/alpha/lesson.yaml");
    repo.write(
        "catalog/alpha/lesson.yaml",
        &lesson.replace(
            "title: Alpha pods",
            "title: \"<script>window.pwned = 7</script><b>Alpha</b>\"",
        ),
    );
    let served = serve(&repo, &[]);
    for path in ["/", "/lessons/alpha", "/lessons/alpha/pod"] {
        let (status, html) = served.get(path);
        assert_eq!(status, 200, "{path}: {html}");
        // gitgen's own script is the one script tag.
        let ours = "<script src=\"/assets/serve.js\" defer></script>";
        assert_eq!(html.matches(ours).count(), 1, "{html}");
        let lower = html.replacen(ours, "", 1).to_ascii_lowercase();
        // Text may say `javascript:` or `onerror=`; no tag or link may hold them.
        for live in [
            "<script",
            "<img",
            "<b>",
            "<b ",
            "href=\"javascript:",
            "href=\"data:",
            "src=\"data:",
        ] {
            assert!(!lower.contains(live), "{path} has `{live}`:\n{html}");
        }
    }
    let (_, walkthrough) = served.get("/lessons/alpha");
    assert!(
        walkthrough.contains("&lt;script&gt;window.pwned = 7&lt;&#x2f;script&gt;&lt;b&gt;Alpha&lt;&#x2f;b&gt;"),
        "{walkthrough}"
    );
    assert!(walkthrough.contains("<a href=\"#\">a link</a>"), "{walkthrough}");
}

#[test]
fn refuses_a_non_loopback_address_without_expose() {
    let repo = Repo::fixture("small");
    let run = repo.gitgen(&["serve", "--listen", "0.0.0.0:0"]);
    check(&run, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn refuses_an_argocd_url_that_is_not_http() {
    let repo = Repo::fixture("small");
    let run = repo.gitgen(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--argocd-url",
        "javascript:alert(1)",
    ]);
    check(&run, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_port_in_use_is_an_error_with_a_hint() {
    let repo = Repo::fixture("small");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let run = repo.gitgen(&["serve", "--listen", &address]);
    check(&run, 2);
    assert!(
        run.stderr.starts_with(&format!("error: cannot listen on `{address}`")),
        "{}",
        run.transcript()
    );
}
