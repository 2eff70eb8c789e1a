//! End-to-end test of a classroom on two real Kubernetes API servers: a management
//! cluster, where Argo CD runs, and a learner's cluster.
//!
//! `#[ignore]`d like `tests/e2e_cluster.rs`: run with `--ignored`, it needs
//! `GITGEN_E2E_KUBECONFIG` (the management cluster, fresh or already bootstrapped by the
//! other e2e tests) and `GITGEN_E2E_LEARNER_KUBECONFIG` (a second cluster, whose admin
//! credentials become the learner's), and fails without either. `.ci/run` starts both
//! from `../shared/k8s/`:
//!
//! ```sh
//! GITGEN_E2E_KUBECONFIG=/tmp/a/kubeconfig GITGEN_E2E_LEARNER_KUBECONFIG=/tmp/b/kubeconfig \
//!   cargo test --locked --test e2e_classroom -- --ignored
//! ```
//!
//! The test registers learner `alice` in namespace `argocd` and removes her again.

#[path = "support/application_status.rs"]
mod application_status;
#[path = "support/classroom.rs"]
mod classroom;
#[path = "support/e2e.rs"]
mod e2e;

use std::path::{Path, PathBuf};
use std::process::Output;

use application_status::write_application_status;
use e2e::{INSTALL_YAML, REPO_URL, env_path, init_course, kubectl, kubectl_json, logged, text};
use serde_json::{Value, json};

/// The classroom's toggle file: two lessons whose objects need no CRDs.
const LESSONS: &str = "lessons:\n  deployments: v2\n  jobs-cronjobs: cronjob\n";

fn learner() -> PathBuf {
    env_path(
        "GITGEN_E2E_LEARNER_KUBECONFIG",
        "the kubeconfig of a second throwaway cluster, the learner's",
    )
}

/// Every command's output and the files gitgen may write, searched for credentials.
struct Run {
    repo: PathBuf,
    home: PathBuf,
    outputs: Vec<String>,
}

impl Run {
    /// `gitgen ARGS` in the repo, against the management cluster, with a HOME of its
    /// own (so every file it could write there is searched).
    fn gitgen(&mut self, args: &[&str]) -> Output {
        let mut command = e2e::gitgen(&self.repo, args);
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"));
        let output = logged(&mut command, args);
        self.outputs.push(text(&output));
        output
    }
}

fn sh(program: &str, args: &[&str], dir: &Path) -> Output {
    let output = e2e::isolated::command(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{program} {args:?}: {}", text(&output));
    output
}

/// The learner kubeconfig's credentials as they could leak: each `*-data` and token as
/// written, and each line of the PEM blocks they hold (not the `-----BEGIN` lines).
fn credentials() -> Vec<String> {
    let config: Value = serde_json::to_value(kube::config::Kubeconfig::read_from(learner()).unwrap()).unwrap();
    let mut found = Vec::new();
    for user in config["users"].as_array().unwrap() {
        for field in ["client-key-data", "client-certificate-data", "token", "password"] {
            let Some(value) = user["user"][field].as_str() else {
                continue;
            };
            found.push(value.to_owned());
            if let Ok(bytes) = serde_json::from_value::<k8s_openapi::ByteString>(json!(value)) {
                let pem = String::from_utf8_lossy(&bytes.0).into_owned();
                found.extend(
                    pem.lines()
                        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                        .map(str::to_owned),
                );
            }
        }
    }
    assert!(!found.is_empty(), "the learner kubeconfig has credentials to look for");
    found
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files
}

/// A course repo with a classroom environment in gitgen.yaml and its toggle file,
/// committed, so that anything gitgen then writes shows in `git status`.
fn classroom_repo(dir: &Path) -> PathBuf {
    let repo = init_course(dir);
    let config = repo.join("gitgen.yaml");
    let mut yaml = fs_err::read_to_string(&config).unwrap();
    yaml.push_str(&classroom::classroom_environment("NodePort", "classroom"));
    fs_err::write(&config, yaml).unwrap();
    fs_err::create_dir_all(repo.join("overlays/classroom")).unwrap();
    fs_err::write(repo.join("overlays/classroom/lessons.yaml"), LESSONS).unwrap();
    sh("git", &["add", "-A"], &repo);
    sh(
        "git",
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "commit",
            "-qm",
            "classroom",
        ],
        &repo,
    );
    repo
}

/// One test: each step needs the one before it on the same two clusters.
#[tokio::test]
#[ignore = "end-to-end tier: needs GITGEN_E2E_KUBECONFIG and GITGEN_E2E_LEARNER_KUBECONFIG; run with `-- --ignored` (see .ci/run)"]
async fn a_classroom_registers_a_learner_cluster_whose_credentials_stay_in_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs_err::create_dir_all(&home).unwrap();
    let mut run = Run {
        repo: classroom_repo(dir.path()),
        home,
        outputs: Vec::new(),
    };
    let learner_kubeconfig = learner();
    let learner_kubeconfig = learner_kubeconfig.to_str().unwrap();

    // The management cluster gets Argo CD (its single-cluster environment is enough).
    let bootstrap = run.gitgen(&["bootstrap", "--argocd-manifest", INSTALL_YAML]);
    assert_eq!(bootstrap.status.code(), Some(0), "{}", text(&bootstrap));

    // A run that failed half-way may have left alice registered.
    let clean = kubectl(&[
        "-n",
        "argocd",
        "delete",
        "secret",
        "gitgen-cluster-classroom-alice",
        "--ignore-not-found",
    ]);
    assert!(clean.status.success(), "{}", text(&clean));

    refuses_bad_input(&mut run, learner_kubeconfig);
    adds_a_learner_with_the_contracts_labels(&mut run, learner_kubeconfig).await;
    lists_the_learner_and_shows_the_grid(&mut run);
    the_grid_shows_each_learners_applications_by_their_status(&mut run);
    holds_and_releases_a_stage_without_the_learners_kubeconfig(&mut run);
    the_credentials_are_in_no_output_file_or_git_object(&run);
    removes_the_learner(&mut run);
    the_classroom_applicationsets_and_appprojects_are_admitted(&mut run);
    // Once more after `remove` and `render`, which see the learner's Secret and write.
    the_credentials_are_in_no_output_file_or_git_object(&run);
}

fn refuses_bad_input(run: &mut Run, learner_kubeconfig: &str) {
    let refused = |run: &mut Run, args: &[&str], expected: &str| {
        let output = run.gitgen(args);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(out.contains(expected), "expected `{expected}` in: {out}");
        assert!(out.contains("\nhint: "), "{out}");
    };
    refused(
        run,
        &["classroom", "add", "alice", "--learner-kubeconfig", learner_kubeconfig],
        "environment `docker-desktop` is not a classroom",
    );
    let add = |name: &'static str| ["--env", "classroom", "classroom", "add", name, "--learner-kubeconfig"];
    refused(
        run,
        &[&add("Alice")[..], &[learner_kubeconfig]].concat(),
        "learner name `Alice`",
    );
    refused(
        run,
        &[
            &add("alice")[..],
            &[learner_kubeconfig, "--label", "stage.gitgen.io/deployments=v9"],
        ]
        .concat(),
        "lesson `deployments` has no stage `v9`",
    );
    refused(
        run,
        &[
            &add("alice")[..],
            &[learner_kubeconfig, "--label", "gitgen.io/learner=bob"],
        ]
        .concat(),
        "label `gitgen.io/learner` is set by gitgen",
    );
    // An exec-plugin user would have to run its plugin inside Argo CD.
    let exec = run.home.join("exec-kubeconfig");
    fs_err::write(
        &exec,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://learner.example'}}]\n\
         users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}]\n\
         contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .unwrap();
    refused(
        run,
        &[&add("alice")[..], &[exec.to_str().unwrap()]].concat(),
        "authenticates with `exec`",
    );
    // A management context without permissions: the API server refuses the Secret, and
    // the error says so without echoing it.
    refused(
        run,
        &[&add("alice")[..], &[learner_kubeconfig, "--context", "jane"]].concat(),
        "forbidden",
    );
    assert_eq!(
        kubectl(&["-n", "argocd", "get", "secret", "gitgen-cluster-classroom-alice"])
            .status
            .code(),
        Some(1),
        "nothing was registered"
    );
}

async fn adds_a_learner_with_the_contracts_labels(run: &mut Run, learner_kubeconfig: &str) {
    let add = [
        "--env",
        "classroom",
        "classroom",
        "add",
        "alice",
        "--learner-kubeconfig",
        learner_kubeconfig,
        "--label",
        "team=blue",
    ];
    let held = run.gitgen(&[&add[..], &["--label", "stage.gitgen.io/deployments=v1"]].concat());
    assert_eq!(held.status.code(), Some(0), "{}", text(&held));
    assert!(text(&held).contains("Learner `alice` created"), "{}", text(&held));

    let secret = kubectl_json(&["-n", "argocd", "get", "secret", "gitgen-cluster-classroom-alice"]);
    let labels = &secret["metadata"]["labels"];
    assert_eq!(
        labels,
        &json!({
            "argocd.argoproj.io/secret-type": "cluster",
            "gitgen.io/classroom": "classroom",
            "gitgen.io/environment": "classroom",
            "gitgen.io/learner": "alice",
            "stage.gitgen.io/deployments": "v1",
            "team": "blue",
        })
    );
    let data = |key: &str| {
        let bytes: k8s_openapi::ByteString = serde_json::from_value(secret["data"][key].clone()).unwrap();
        String::from_utf8(bytes.0).unwrap()
    };
    assert_eq!(data("name"), "classroom-alice");
    let learner_server = serde_json::to_value(kube::config::Kubeconfig::read_from(learner()).unwrap()).unwrap()
        ["clusters"][0]["cluster"]["server"]
        .clone();
    assert_eq!(json!(data("server")), learner_server);

    // The Secret's credentials reach the learner's cluster, as Argo CD would use them.
    let config: Value = serde_json::from_str(&data("config")).unwrap();
    let tls = &config["tlsClientConfig"];
    assert_eq!(tls["insecure"], false);
    let kubeconfig: kube::config::Kubeconfig = serde_json::from_value(json!({
        "clusters": [{"name": "c", "cluster": {"server": data("server"), "certificate-authority-data": tls["caData"]}}],
        "users": [{"name": "u", "user": {"client-certificate-data": tls["certData"], "client-key-data": tls["keyData"]}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }))
    .unwrap();
    let options = kube::config::KubeConfigOptions::default();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .unwrap(),
    )
    .unwrap();
    let version = client.apiserver_version().await.unwrap();
    assert!(!version.git_version.is_empty());

    // Running add again sets exactly the labels given: the stage hold is released.
    let released = run.gitgen(&add);
    assert_eq!(released.status.code(), Some(0), "{}", text(&released));
    assert!(
        text(&released).contains("Learner `alice` configured"),
        "{}",
        text(&released)
    );
    let again = run.gitgen(&add);
    assert!(text(&again).contains("Learner `alice` unchanged"), "{}", text(&again));
    let secret = kubectl_json(&["-n", "argocd", "get", "secret", "gitgen-cluster-classroom-alice"]);
    assert!(
        secret["metadata"]["labels"]
            .get("stage.gitgen.io/deployments")
            .is_none(),
        "{secret}"
    );
    assert_eq!(secret["metadata"]["labels"]["team"], "blue");

    // Adding a learner changes nothing in git (gitgen's ignored `.gitgen/` lock folder
    // is searched for credentials with every other file).
    let status = sh("git", &["status", "--porcelain"], &run.repo);
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "",
        "gitgen wrote into the repo"
    );
}

fn lists_the_learner_and_shows_the_grid(run: &mut Run) {
    let list = run.gitgen(&["--env", "classroom", "classroom", "list"]);
    let out = text(&list);
    assert_eq!(list.status.code(), Some(0), "{out}");
    let server = kube::config::Kubeconfig::read_from(learner()).unwrap().clusters[0]
        .cluster
        .as_ref()
        .and_then(|cluster| cluster.server.clone())
        .unwrap();
    // Each row's cells, one space apart (the header's `STAGE HOLDS` is two words).
    let rows: Vec<Vec<String>> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["LEARNER", "CLUSTER", "SERVER", "STAGE", "HOLDS", "LABELS"]
                .map(str::to_owned)
                .to_vec(),
            ["alice", "classroom-alice", &server, "-", "team=blue"]
                .map(str::to_owned)
                .to_vec(),
        ],
        "{out}"
    );
    let json = run.gitgen(&["--env", "classroom", "classroom", "list", "-o", "json"]);
    let listed: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(listed["environment"], "classroom");
    assert_eq!(listed["learners"][0]["name"], "alice");
    assert_eq!(listed["learners"][0]["labels"]["team"], "blue");

    // No Applications exist yet (no ApplicationSet controller runs without nodes): the
    // learner has a row of empty cells.
    let status = run.gitgen(&["--env", "classroom", "status"]);
    let out = text(&status);
    assert_eq!(status.status.code(), Some(0), "{out}");
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "LEARNER  deployments  jobs-cronjobs\n\
         alice    -            -\n\
         1 learner(s) x 2 lesson(s): 0 of 2 cell(s) Synced and Healthy\n",
        "{out}"
    );
    let json = run.gitgen(&["--env", "classroom", "status", "-o", "json"]);
    let grid: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(grid["cluster"]["reachable"], true, "{grid}");
    assert_eq!(grid["learners"][0]["learner"], "alice");
    assert_eq!(grid["learners"][0]["registered"], true);
    assert_eq!(grid["learners"][0]["cells"]["deployments"]["sync"], "Missing");
}

/// Creates Application `<lesson>-classroom-<learner>` in `argocd` as the classroom's
/// ApplicationSet generates it for the learner's cluster (`classroom-<learner>`): its name
/// and labels as the rendered template
/// (`argocd/classroom/apps/classroom-<lesson>.applicationset.yaml`) sets them, at `stage`,
/// without the finalizer, so that deleting it needs no Argo CD.
fn learner_application(dir: &Path, lesson: &str, stage: &str, learner: &str) -> String {
    let name = format!("{lesson}-classroom-{learner}");
    let application = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {
            "app.kubernetes.io/managed-by": "gitgen", "gitgen.io/environment": "classroom",
            "gitgen.io/lesson": lesson, "gitgen.io/section": lesson, "gitgen.io/stage": stage,
            "gitgen.io/learner": learner}},
        "spec": {"project": format!("classroom-{lesson}"),
                 "source": {"repoURL": REPO_URL, "targetRevision": "main", "path": format!("overlays/classroom/{lesson}/{stage}")},
                 "destination": {"name": format!("classroom-{learner}"), "namespace": lesson}},
    });
    let path = dir.join(format!("{name}.json"));
    fs_err::write(&path, application.to_string()).unwrap();
    let created = kubectl(&[
        "apply",
        "--server-side",
        "--field-manager",
        "argocd-applicationset-controller",
        "-f",
        path.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{}", text(&created));
    name
}

/// The status of an Application whose last sync ran at `revision`: `sync`, `health` (and
/// its message) and the operation's `phase` (and its message).
fn application_status(sync: &str, health: (&str, Option<&str>), operation: (&str, &str)) -> Value {
    let revision = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let mut status = json!({
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health.0},
        "operationState": {"operation": {"sync": {"revision": revision}}, "phase": operation.0,
                           "message": operation.1, "startedAt": "2026-01-05T09:00:00Z"},
        "resources": [],
    });
    if let Some(message) = health.1 {
        status["health"]["message"] = json!(message);
    }
    status
}

/// The grid from Applications with a real status: alice's two lessons (one converged,
/// one still syncing), and Applications of bob, who has no cluster Secret (a removed
/// learner's, which Argo CD has not deleted yet), held at an earlier stage and failing.
fn the_grid_shows_each_learners_applications_by_their_status(run: &mut Run) {
    let dir = run.home.join("applications");
    fs_err::create_dir_all(&dir).unwrap();
    let converged = learner_application(&dir, "deployments", "v2", "alice");
    write_application_status(
        &dir,
        "argocd",
        &converged,
        application_status(
            "Synced",
            ("Healthy", None),
            ("Succeeded", "successfully synced (all tasks run)"),
        ),
    );
    let syncing = learner_application(&dir, "jobs-cronjobs", "cronjob", "alice");
    write_application_status(
        &dir,
        "argocd",
        &syncing,
        application_status(
            "OutOfSync",
            ("Progressing", None),
            ("Running", "waiting for completion of hook batch/Job/migrate"),
        ),
    );
    let failing = learner_application(&dir, "deployments", "v1", "bob");
    write_application_status(
        &dir,
        "argocd",
        &failing,
        application_status(
            "OutOfSync",
            (
                "Degraded",
                Some("Deployment \"probe-test-app\" exceeded its progress deadline"),
            ),
            (
                "Failed",
                "one or more objects failed to apply, reason: namespaces \"deployments\" not found",
            ),
        ),
    );

    let status = run.gitgen(&["--env", "classroom", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "LEARNER        deployments             jobs-cronjobs\n\
         alice          Synced/Healthy          OutOfSync/Progressing\n\
         bob (removed)  OutOfSync/Degraded @v1  -\n\
         2 learner(s) x 2 lesson(s): 1 of 4 cell(s) Synced and Healthy\n"
    );
    let json = run.gitgen(&["--env", "classroom", "status", "-o", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let grid: Value = serde_json::from_slice(&json.stdout).unwrap();
    let cells: Vec<(&Value, &Value, &Value)> = grid["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (&row["learner"], &row["registered"], &row["cells"]))
        .collect();
    assert_eq!(
        cells,
        [
            (
                &json!("alice"),
                &json!(true),
                &json!({
                    "deployments": {"sync": "Synced", "health": "Healthy", "stage": "v2",
                                    "applications": [converged], "message": null},
                    "jobs-cronjobs": {"sync": "OutOfSync", "health": "Progressing", "stage": "cronjob",
                                      "applications": [syncing], "message": null},
                })
            ),
            (
                &json!("bob"),
                &json!(false),
                &json!({
                    "deployments": {"sync": "OutOfSync", "health": "Degraded", "stage": "v1",
                                    "applications": [failing],
                                    "message": "one or more objects failed to apply, reason: namespaces \"deployments\" not found"},
                    "jobs-cronjobs": {"sync": "Missing", "health": "Missing", "stage": null,
                                      "applications": [], "message": null},
                })
            ),
        ],
        "{grid:#}"
    );

    // The next steps, and the newcomer tier after this one, expect no lesson Application.
    let deleted = kubectl(&["-n", "argocd", "delete", "application", &converged, &syncing, &failing]);
    assert!(deleted.status.success(), "{}", text(&deleted));
}

/// `gitgen --env classroom classroom ARGS`.
fn classroom<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [&["--env", "classroom", "classroom"][..], args].concat()
}

fn holds_and_releases_a_stage_without_the_learners_kubeconfig(run: &mut Run) {
    let secret = || kubectl_json(&["-n", "argocd", "get", "secret", "gitgen-cluster-classroom-alice"]);
    let before = secret();

    let hold = run.gitgen(&classroom(&["hold", "alice", "deployments", "v1"]));
    assert_eq!(hold.status.code(), Some(0), "{}", text(&hold));
    let held = secret();
    assert_eq!(held["metadata"]["labels"]["stage.gitgen.io/deployments"], "v1");
    assert_eq!(held["metadata"]["labels"]["team"], "blue", "the other labels stay");
    assert_eq!(held["data"], before["data"], "the credentials stay as they were");
    let list = run.gitgen(&classroom(&["list", "-o", "json"]));
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed["learners"][0]["stage_holds"], json!({"deployments": "v1"}));

    for (args, expected) in [
        (
            ["hold", "alice", "deployments", "v9"],
            "lesson `deployments` has no stage `v9`",
        ),
        (
            ["hold", "alice", "deploymnets", "v1"],
            "no lesson is called `deploymnets`",
        ),
        (["hold", "bob", "deployments", "v1"], "no learner `bob` is registered"),
    ] {
        let refused = run.gitgen(&classroom(&args));
        let out = text(&refused);
        assert_eq!(refused.status.code(), Some(2), "{out}");
        assert!(out.contains(expected) && out.contains("\nhint: "), "{out}");
    }
    assert_eq!(
        secret()["metadata"]["labels"]["stage.gitgen.io/deployments"],
        "v1",
        "a refused hold changes nothing"
    );

    let release = run.gitgen(&classroom(&["release", "alice", "deployments"]));
    assert_eq!(release.status.code(), Some(0), "{}", text(&release));
    assert!(
        secret()["metadata"]["labels"]
            .get("stage.gitgen.io/deployments")
            .is_none(),
        "{}",
        secret()
    );

    // A hold set by hand at a stage the lesson does not have: status names it.
    let label = kubectl(&[
        "-n",
        "argocd",
        "label",
        "secret",
        "gitgen-cluster-classroom-alice",
        "stage.gitgen.io/deployments=nonexistent",
    ]);
    assert!(label.status.success(), "{}", text(&label));
    let status = run.gitgen(&["--env", "classroom", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let stdout = String::from_utf8_lossy(&status.stdout);
    let alice = stdout.lines().find(|l| l.starts_with("alice")).unwrap();
    assert!(alice.contains("error @nonexistent"), "{stdout}");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("error: learner `alice` is held at stage `nonexistent` of lesson `deployments`")
            && stderr.contains("hint: hold the learner at one of "),
        "{stderr}"
    );
    let json = run.gitgen(&["--env", "classroom", "status", "-o", "json"]);
    let grid: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        grid["learners"][0]["cells"]["deployments"]["bad_hold"], "nonexistent",
        "{grid}"
    );
    let release = run.gitgen(&classroom(&["release", "alice", "deployments"]));
    assert_eq!(release.status.code(), Some(0), "{}", text(&release));
    assert!(
        secret()["metadata"]["labels"]
            .get("stage.gitgen.io/deployments")
            .is_none()
    );
}

fn the_credentials_are_in_no_output_file_or_git_object(run: &Run) {
    let credentials = credentials();
    let leaked = |text: &str| credentials.iter().any(|c| text.contains(c.as_str()));
    for output in &run.outputs {
        assert!(!leaked(output), "a credential in gitgen's output:\n{output}");
    }
    for dir in [&run.repo, &run.home] {
        for file in files_under(dir) {
            let bytes = fs_err::read(&file).unwrap();
            assert!(
                !leaked(&String::from_utf8_lossy(&bytes)),
                "a credential in `{}`",
                file.display()
            );
        }
    }
    let objects = sh("git", &["cat-file", "--batch-all-objects", "--batch"], &run.repo);
    assert!(
        !leaked(&String::from_utf8_lossy(&objects.stdout)),
        "a credential in a git object"
    );
    let revisions = sh("git", &["rev-list", "--all"], &run.repo);
    let revisions: Vec<&str> = std::str::from_utf8(&revisions.stdout)
        .unwrap()
        .split_whitespace()
        .collect();
    for credential in &credentials {
        let grep = e2e::isolated::command("git")
            .args(["grep", "-F", "-q", "-e", credential])
            .args(&revisions)
            .current_dir(&run.repo)
            .output()
            .unwrap();
        assert_eq!(grep.status.code(), Some(1), "`git grep` found a credential");
    }
}

fn removes_the_learner(run: &mut Run) {
    let remove = run.gitgen(&["--env", "classroom", "classroom", "remove", "alice"]);
    assert_eq!(remove.status.code(), Some(0), "{}", text(&remove));
    let gone = kubectl(&["-n", "argocd", "get", "secret", "gitgen-cluster-classroom-alice"]);
    assert!(text(&gone).contains("NotFound"), "{}", text(&gone));
    let again = run.gitgen(&["--env", "classroom", "classroom", "remove", "alice"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("no learner `alice` is registered"),
        "{}",
        text(&again)
    );
}

/// The classroom's rendered ApplicationSets (one per enabled lesson) and AppProjects,
/// server-side dry run against the management cluster's Argo CD CRDs.
fn the_classroom_applicationsets_and_appprojects_are_admitted(run: &mut Run) {
    let render = run.gitgen(&["--env", "classroom", "render"]);
    assert_eq!(render.status.code(), Some(0), "{}", text(&render));
    let mut objects: Vec<Value> = Vec::new();
    for file in files_under(&run.repo.join("argocd/classroom")) {
        if file.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = fs_err::read_to_string(&file).unwrap();
        let documents: Vec<Value> = gitgen::yaml::documents(&text, &file).unwrap();
        for object in documents {
            if ["ApplicationSet", "AppProject"].contains(&object["kind"].as_str().unwrap_or_default()) {
                objects.push(object);
            }
        }
    }
    let kinds = |kind: &str| objects.iter().filter(|o| o["kind"] == kind).count();
    assert!(
        kinds("ApplicationSet") >= LESSONS.lines().count() - 1,
        "argocd/classroom/ has {} ApplicationSet(s), one per enabled lesson expected",
        kinds("ApplicationSet")
    );
    assert!(kinds("AppProject") >= 1, "argocd/classroom/ has no AppProject");
    let manifest = run.home.join("classroom-bundle.json");
    fs_err::write(
        &manifest,
        serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": objects})).unwrap(),
    )
    .unwrap();
    let dry_run = kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=gitgen",
        "-f",
        manifest.to_str().unwrap(),
    ]);
    assert!(dry_run.status.success(), "{}", text(&dry_run));
}
