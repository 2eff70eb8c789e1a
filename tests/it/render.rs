//! `gitgen render`: output that builds, determinism, atomicity, hand-edit protection
//! and `--check`.

use crate::support::{Repo, build, kustomize};

#[test]
fn every_rendered_kustomization_builds_with_kubectl() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    repo.gitgen(&["--env", "kind", "render"]).expect(0);
    let dirs = repo.kustomizations();
    assert!(dirs.len() >= 6, "too few kustomizations: {dirs:?}");
    for dir in dirs {
        if let Err(err) = build(&repo.path().join(&dir)) {
            panic!("`kubectl kustomize {dir}` failed:\n{err}");
        }
    }
}

#[test]
fn renders_the_same_bytes_in_two_fresh_repos() {
    let first = Repo::fixture("small");
    let second = Repo::fixture("small");
    first.gitgen(&["render"]).expect(0);
    second.gitgen(&["render"]).expect(0);
    assert_eq!(first.tree(), second.tree());
}

#[test]
fn renders_the_same_bytes_whatever_order_the_catalog_was_written_in() {
    let forward = Repo::fixture("small");
    // Recreate the catalog folder with its entries created in reverse order, so the file
    // system lists them differently.
    let reversed = Repo::fixture("small");
    let catalog = forward
        .tree()
        .into_iter()
        .filter(|(p, _)| p.starts_with("catalog/"))
        .collect::<Vec<_>>();
    reversed.remove("catalog");
    for (path, text) in catalog.iter().rev() {
        reversed.write(path, text);
    }
    forward.gitgen(&["render"]).expect(0);
    reversed.gitgen(&["render"]).expect(0);
    assert_eq!(forward.tree(), reversed.tree());
}

#[test]
fn a_second_render_writes_nothing() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let before = modification_times(&repo);
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert_eq!(run.stdout, "", "a no-op render listed changes");
    assert_eq!(modification_times(&repo), before);
}

fn modification_times(repo: &Repo) -> Vec<(String, std::time::SystemTime)> {
    repo.tree()
        .keys()
        .map(|p| {
            (
                p.clone(),
                fs_err::metadata(repo.path().join(p)).unwrap().modified().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_failing_template_leaves_the_previous_tree_unchanged() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let before = repo.tree();
    // Change the first lesson (so it would be rewritten) and break the last one.
    repo.write(
        "catalog/alpha/pod.yaml",
        &repo
            .read("catalog/alpha/pod.yaml")
            .replace("probe-test-app:", "probe-test-app-new:"),
    );
    repo.write(
        "catalog/beta/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ broken\n",
    );
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    assert!(
        run.stderr.contains("catalog/beta/cm.yaml:4`: syntax error"),
        "{}",
        run.transcript()
    );
    let after: std::collections::BTreeMap<_, _> = repo
        .tree()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("catalog/"))
        .collect();
    let before: std::collections::BTreeMap<_, _> =
        before.into_iter().filter(|(p, _)| !p.starts_with("catalog/")).collect();
    assert_eq!(after, before);
}

#[test]
fn removing_a_lesson_removes_its_rendered_files() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    assert!(repo.exists("generated/beta/install/cm.yaml"));
    repo.remove("catalog/beta");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  alpha: service\n");
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert!(
        run.stdout.contains("D generated/beta/install/cm.yaml"),
        "{}",
        run.transcript()
    );
    assert!(!repo.exists("generated/beta"));
    assert!(!repo.exists("overlays/docker-desktop/beta"));
    assert!(!repo.exists("argocd/docker-desktop/apps/beta.application.yaml"));
    assert!(
        repo.exists("overlays/docker-desktop/lessons.yaml"),
        "the toggle file is not render's to delete"
    );
}

#[test]
fn refuses_to_overwrite_a_hand_edit_unless_forced() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let original = repo.read("generated/alpha/pod/pod.yaml");
    std::thread::sleep(std::time::Duration::from_millis(20));
    repo.write("generated/alpha/pod/pod.yaml", &format!("{original}# my note\n"));
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert!(repo.read("generated/alpha/pod/pod.yaml").ends_with("# my note\n"));
    repo.gitgen(&["render", "--force"]).expect(0);
    assert_eq!(repo.read("generated/alpha/pod/pod.yaml"), original);
}

#[test]
fn refuses_to_delete_a_file_it_did_not_write() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    repo.write("generated/alpha/notes.txt", "mine\n");
    let run = repo.gitgen(&["render", "--force"]);
    run.expect(0);
    assert!(
        !repo.exists("generated/alpha/notes.txt"),
        "--force removes unknown files in render's folders"
    );
    repo.write("generated/alpha/notes.txt", "mine\n");
    repo.write("catalog/alpha/README.md.j2", "# changed\n");
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    assert!(
        run.stderr.contains("generated/alpha/notes.txt: not written by gitgen"),
        "{}",
        run.transcript()
    );
    assert!(repo.exists("generated/alpha/notes.txt"));
}

#[test]
fn check_exits_1_and_lists_stale_files_then_0_once_rendered() {
    let repo = Repo::fixture("small");
    let run = repo.gitgen(&["render", "--check"]);
    run.expect(1);
    assert!(
        run.stdout.contains("A generated/alpha/pod/pod.yaml"),
        "{}",
        run.transcript()
    );
    assert!(!repo.exists("generated"), "--check writes nothing");
    repo.gitgen(&["render"]).expect(0);
    repo.gitgen(&["render", "--check"]).expect(0);
    repo.write(
        "catalog/alpha/service.yaml",
        &repo.read("catalog/alpha/service.yaml").replace("8000", "8001"),
    );
    let run = repo.gitgen(&["render", "--check"]);
    run.expect(1);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn check_notices_a_hand_edit() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    repo.write("argocd/docker-desktop/root.yaml", "edited\n");
    let run = repo.gitgen(&["render", "--check"]);
    run.expect(1);
    assert!(
        run.stdout.contains("M argocd/docker-desktop/root.yaml"),
        "{}",
        run.transcript()
    );
}

/// A rendered repo whose lesson `alpha` is unchanged but whose rendered pod was edited
/// by hand: the repo, the pod's path, and its text before and after the edit.
fn rendered_with_pod_edited() -> (Repo, &'static str, String, String) {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let pod = "generated/alpha/pod/pod.yaml";
    let original = repo.read(pod);
    let edited = format!("{original}# edited\n");
    repo.write(pod, &edited);
    (repo, pod, original, edited)
}

#[test]
fn check_notices_an_edited_or_unknown_file_in_a_lesson_it_does_not_render_again() {
    // The lesson's inputs did not change, so `--check --trust-lock` trusts the lock for
    // it, but only after reading and hashing its files: an edit or a new file is still found.
    let (repo, pod, _, _) = rendered_with_pod_edited();
    repo.write("generated/alpha/pod/extra.yaml", "kind: ConfigMap\n");
    let run = repo.gitgen(&["render", "--check", "--trust-lock"]);
    run.expect(1);
    assert!(run.stdout.contains(&format!("M {pod}")), "{}", run.transcript());
    assert!(
        run.stdout.contains("D generated/alpha/pod/extra.yaml"),
        "{}",
        run.transcript()
    );
}

#[test]
fn only_a_check_told_to_trust_the_lock_misses_an_edit_forged_into_it() {
    // An edit whose hash is written into the lock as well is invisible to a check that
    // trusts the lock; `--check` (and the old spelling `--check --full`) renders every
    // lesson and finds it.
    let (repo, pod, original, edited) = rendered_with_pod_edited();
    let lock = repo.read("gitgen.lock").replace(
        &gitgen::output::lock::sha256(original.as_bytes()),
        &gitgen::output::lock::sha256(edited.as_bytes()),
    );
    repo.write("gitgen.lock", &lock);
    repo.gitgen(&["render", "--check", "--trust-lock"]).expect(0);
    for args in [&["render", "--check"][..], &["render", "--check", "--full"]] {
        let run = repo.gitgen(args);
        run.expect(1);
        assert!(run.stdout.contains(&format!("M {pod}")), "{}", run.transcript());
    }
}

#[test]
fn a_value_with_yaml_syntax_stays_one_scalar() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let built = kustomize(&repo.path().join("generated/beta/install")).unwrap();
    let objects: Vec<serde_json::Value> = gitgen::yaml::documents(&built, "built".as_ref()).unwrap();
    let config_map = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(config_map["data"], serde_json::json!({"x": "a: b # c\n{{ d"}));
}

#[test]
fn argo_cd_objects_validate_against_the_pinned_releases_crds() {
    let repo = Repo::fixture("small");
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
    for (version, crds) in [("v2.12.3", "crds/argocd"), ("v3.5.1", "argocd-v3.5.1")] {
        let text = repo.read("gitgen.yaml");
        repo.write(
            "gitgen.yaml",
            &text.replace("version: v2.12.3", &format!("version: {version}")),
        );
        repo.gitgen(&["render"]).expect(0);
        let crds = format!("{shared}/{crds}");
        let schemas = gitgen::validate::CrdSchemas::from_dir(crds.as_ref()).unwrap_or_else(|e| panic!("{crds}: {e}"));
        let mut checked = 0;
        for (path, text) in repo
            .tree()
            .into_iter()
            // Argo CD's own install (a kustomization over upstream's manifest and a ConfigMap
            // patch) holds no Argo CD custom resource.
            .filter(|(p, _)| {
                p.starts_with("argocd/") && !p.ends_with("kustomization.yaml") && !p.contains("/argocd-install/")
            })
        {
            for object in gitgen::yaml::documents(&text, path.as_ref()).unwrap() {
                let problems = schemas
                    .validate(&object)
                    .unwrap_or_else(|| panic!("{path}: no Argo CD CRD covers {}", object["kind"]));
                assert!(problems.is_empty(), "{version} {path}: {problems:?}");
                checked += 1;
            }
        }
        assert_eq!(
            checked, 15,
            "two environments: 6 platform objects each, 2 lesson projects each, 3 Applications in docker-desktop"
        );
        assert!(
            repo.read("argocd/kind/argocd-install/kustomization.yaml")
                .contains(&format!("argo-cd/{version}/manifests/install.yaml"))
        );
    }
}

#[test]
fn status_without_a_cluster_shows_the_git_side() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let run = repo.gitgen(&["status", "--kubeconfig", "/nonexistent/kubeconfig"]);
    run.expect(0);
    assert!(
        run.stdout.contains("alpha") && run.stdout.contains("service"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("unreachable"), "{}", run.transcript());
    let run = repo.gitgen(&["status", "-o", "json", "--kubeconfig", "/nonexistent/kubeconfig"]);
    run.expect(0);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status["cluster"]["reachable"], false);
    assert_eq!(status["lessons"].as_array().unwrap().len(), 2);
    assert_eq!(status["lessons"][0]["rendered_fresh"], true);
}

#[test]
fn a_lock_that_is_not_a_lock_is_rewritten_by_the_next_render() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let good = repo.read("gitgen.lock");
    let conflicted = format!("<<<<<<< HEAD\n{good}=======\n{good}>>>>>>> enable-beta\n");
    let broken: [&[u8]; 2] = [conflicted.as_bytes(), b"\xff\xfe not text \x00"];
    for bytes in broken {
        fs_err::write(repo.path().join("gitgen.lock"), bytes).unwrap();
        let run = repo.gitgen(&["render", "--check"]);
        run.expect(1);
        assert!(run.stdout.contains("M gitgen.lock"), "{}", run.transcript());
        repo.gitgen(&["render"]).expect(0);
        assert_eq!(repo.read("gitgen.lock"), good);
        let again = repo.gitgen(&["render"]);
        again.expect(0);
        assert!(again.stderr.starts_with("Nothing changed"), "{}", again.transcript());
    }
}

#[test]
fn an_image_at_latest_renders_when_the_lesson_says_why() {
    let repo = Repo::fixture("small");
    let pod = repo.read("catalog/alpha/pod.yaml");
    repo.write(
        "catalog/alpha/pod.yaml",
        &pod.replace("%}v2{% else %}v1{% endif %}", "%}latest{% else %}latest{% endif %}"),
    );
    let lesson = repo.read("catalog/alpha/lesson.yaml");
    repo.write(
        "catalog/alpha/lesson.yaml",
        &format!("{lesson}moving_targets:\n  - ref: jasonumiker/probe-test-app:latest\n    why: the only tag it has\n"),
    );
    repo.gitgen(&["render"]).expect(0);
}

#[test]
fn a_template_kustomize_would_read_as_a_kustomization_file_is_refused_with_its_path() {
    // kustomize's names for a folder's kustomization file (`api/konfig/general.go`).
    for name in ["kustomization.yml", "Kustomization", "kustomization.yaml"] {
        let repo = Repo::fixture("small");
        repo.write(
            &format!("catalog/alpha/{name}"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
        );
        let lesson = repo
            .read("catalog/alpha/lesson.yaml")
            .replace("manifests:\n", &format!("manifests:\n  - file: {name}\n"));
        repo.write("catalog/alpha/lesson.yaml", &lesson);
        let before = repo.tree();
        let run = repo.gitgen(&["render"]);
        run.expect(2);
        insta::assert_snapshot!(format!("template_named_{}", name.replace('.', "_")), run.transcript());
        assert_eq!(repo.tree(), before, "{name}: nothing is written");
    }
}

#[test]
fn a_kustomize_tree_folder_with_two_kustomization_files_is_refused_with_both_paths() {
    let repo = Repo::fixture("small");
    repo.write(
        "catalog/alpha/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n",
    );
    repo.write(
        "catalog/alpha/base/kustomization.yml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    repo.write(
        "catalog/alpha/base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    );
    let tree = "manifests:\n  - file: base/cm.yaml\n    kustomize: part\n  - file: base/kustomization.yaml\n    kustomize: entry\n  - file: base/kustomization.yml\n    kustomize: part\n";
    let lesson = repo.read("catalog/alpha/lesson.yaml").replace("manifests:\n", tree);
    repo.write("catalog/alpha/lesson.yaml", &lesson);
    let before = repo.tree();
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(repo.tree(), before, "nothing is written");
}
