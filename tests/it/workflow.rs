//! The trainer's daily workflow: every environment rendered and checked, every
//! walkthrough checked, scripting (`-o json`, completions) and what enable and disable say.

use crate::support::Repo;

/// Runs `gitgen ARGS` in the repo with `GITGEN_ENV` set (the support helper clears it).
fn with_gitgen_env(repo: &Repo, env: &str, args: &[&str]) -> i32 {
    crate::isolated::gitgen()
        .args(args)
        .current_dir(repo.path())
        .env("GITGEN_ENV", env)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

/// The small fixture with nothing enabled in either environment, rendered.
fn rendered_fixture() -> Repo {
    let repo = Repo::fixture("small");
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons:\n  # alpha: service\n");
    repo.write("overlays/kind/lessons.yaml", "lessons:\n  # alpha: service\n");
    repo.gitgen(&["render"]).expect(0);
    repo
}

#[test]
fn render_renders_every_environment_by_default() {
    let repo = Repo::fixture("small");
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert!(repo.exists("argocd/docker-desktop/root.yaml"), "{}", run.transcript());
    assert!(repo.exists("argocd/kind/root.yaml"), "{}", run.transcript());
    repo.gitgen(&["--env", "kind", "render", "--check", "--full"]).expect(0);
    repo.gitgen(&["--env", "docker-desktop", "render", "--check", "--full"])
        .expect(0);
}

#[test]
fn a_broken_toggle_file_of_another_environment_fails_render() {
    let repo = rendered_fixture();
    repo.write("overlays/kind/lessons.yaml", "lessons:\n  alpha: nope\n");
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_broken_walkthrough_of_a_lesson_no_environment_enables_fails_render() {
    let repo = rendered_fixture();
    repo.write("catalog/beta/README.md.j2", "# Beta\n{% if env.name %}\nno end\n");
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    repo.gitgen(&["render", "--check"]).expect(2);
}

#[test]
fn a_walkthrough_loop_without_end_fails_render_even_when_no_environment_enables_it() {
    let repo = rendered_fixture();
    repo.write(
        "catalog/beta/README.md.j2",
        "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}\n",
    );
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    assert!(run.stderr.contains("catalog/beta/README.md.j2"), "{}", run.transcript());
    assert!(run.stderr.contains("hint:"), "{}", run.transcript());
}

#[test]
fn render_with_env_renders_one_and_says_the_others_may_be_stale() {
    let repo = rendered_fixture();
    let config = repo
        .read("gitgen.yaml")
        .replace("host: localhost", "host: course.local");
    repo.write("gitgen.yaml", &config);
    let run = repo.gitgen(&["--env", "docker-desktop", "render"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript());
    repo.gitgen(&["--env", "kind", "render", "--check"]).expect(1);
}

#[test]
fn gitgen_env_picks_the_environment_of_enable_but_does_not_narrow_render() {
    let repo = rendered_fixture();
    assert_eq!(with_gitgen_env(&repo, "kind", &["enable", "alpha"]), 0);
    assert!(repo.read("overlays/kind/lessons.yaml").contains("\n  alpha: service"));
    assert!(!repo.read("overlays/docker-desktop/lessons.yaml").contains("\n  alpha:"));
    let config = repo
        .read("gitgen.yaml")
        .replace("host: localhost", "host: course.local");
    repo.write("gitgen.yaml", &config);
    assert_eq!(with_gitgen_env(&repo, "kind", &["render"]), 0);
    repo.gitgen(&["render", "--check", "--full"]).expect(0);
}

#[test]
fn render_check_json_lists_each_differing_file_once() {
    let repo = rendered_fixture();
    repo.write(
        "catalog/alpha/service.yaml",
        &repo.read("catalog/alpha/service.yaml").replace("8000", "8001"),
    );
    let run = repo.gitgen(&["render", "--check", "-o", "json"]);
    run.expect(1);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn diff_summarises_the_lock_instead_of_showing_its_hashes() {
    let repo = rendered_fixture();
    repo.write(
        "catalog/alpha/service.yaml",
        &repo.read("catalog/alpha/service.yaml").replace("8000", "8001"),
    );
    let run = repo.gitgen(&["diff"]);
    run.expect(1);
    insta::assert_snapshot!(run.transcript());
    let json = repo.gitgen(&["diff", "-o", "json"]);
    json.expect(1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["changed"], true);
    assert_eq!(report["files"][0]["path"], "generated/alpha/service/service.yaml");
    assert_eq!(report["files"][0]["status"], "M");
    assert!(report["lock_hashes_updated"].as_u64().unwrap() >= 1, "{report}");
}

#[test]
fn disable_says_which_requirements_stay_enabled() {
    let repo = rendered_fixture();
    repo.gitgen(&["enable", "beta"]).expect(0);
    let run = repo.gitgen(&["disable", "beta"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript());
    let json = repo.gitgen(&["disable", "alpha", "-o", "json"]);
    json.expect(0);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["disabled"][0]["lesson"], "alpha");
    assert_eq!(report["environment"], "docker-desktop");
}

#[test]
fn completions_print_the_registration_that_complete_env_prints() {
    let repo = Repo::fixture("small");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = repo.gitgen(&["completions", shell]);
        run.expect(0);
        let registered = repo.gitgen_with_env(&[], &[("COMPLETE", shell)]);
        registered.expect(0);
        // `COMPLETE=SHELL gitgen` names the binary it ran as; `completions` the one on the PATH.
        let by_name = registered.stdout.replace(env!("CARGO_BIN_EXE_gitgen"), "gitgen");
        assert_eq!(run.stdout, by_name, "{shell}");
        assert!(run.stdout.contains("COMPLETE"), "{shell}: {}", run.transcript());
    }
    repo.gitgen(&["completions", "tcsh"]).expect(2);
}

#[test]
fn argocd_version_latest_is_refused_as_lesson_chart_ranges_are() {
    let repo = Repo::fixture("small");
    repo.write(
        "gitgen.yaml",
        &repo.read("gitgen.yaml").replace("version: v2.12.3", "version: latest"),
    );
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

/// `gitgen.yaml` of `repo` with the Argo CD pin `version`.
fn pin_argocd(repo: &Repo, version: &str) {
    let text = repo.read("gitgen.yaml");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("version: v"))
        .expect("the pin");
    repo.write("gitgen.yaml", &text.replace(line, &format!("  version: {version}")));
}

#[test]
fn a_pin_that_jumps_minor_versions_warns_and_lists_every_upgrade_note_between() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    pin_argocd(&repo, "v3.5.1");
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    insta::assert_snapshot!(run.transcript());
    // Rendered, the committed install is v3.5.1's: the next render has nothing to say.
    assert!(
        repo.read("argocd/kind/argocd-install/kustomization.yaml")
            .contains("argo-cd/v3.5.1/manifests/install.yaml")
    );
    let again = repo.gitgen(&["render"]);
    again.expect(0);
    assert!(!again.stderr.contains("warning"), "{}", again.transcript());
}

#[test]
fn enable_and_disable_warn_of_a_pin_that_jumps_minor_versions_as_render_does() {
    let repo = rendered_fixture();
    repo.write("overlays/kind/lessons.yaml", "lessons:\n  alpha: service\n");
    repo.gitgen(&["render"]).expect(0);
    pin_argocd(&repo, "v3.5.1");
    let enable = repo.gitgen(&["enable", "alpha"]);
    enable.expect(0);
    insta::assert_snapshot!("enable_warns_of_a_pin_jump", enable.transcript());
    let disable = repo.gitgen(&["--env", "kind", "disable", "alpha"]);
    disable.expect(0);
    insta::assert_snapshot!("disable_warns_of_a_pin_jump", disable.transcript());
    // Both environments' installs are v3.5.1's now: a toggle has nothing to warn of.
    let again = repo.gitgen(&["disable", "alpha"]);
    again.expect(0);
    assert!(!again.stderr.contains("warning"), "{}", again.transcript());
}

#[test]
fn one_minor_forward_is_quiet_and_an_untested_release_or_a_downgrade_warns() {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    pin_argocd(&repo, "v2.13.5");
    let run = repo.gitgen(&["--env", "kind", "render"]);
    run.expect(0);
    assert!(!run.stderr.contains("jumps"), "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("warning: Argo CD v2.13.5 is not a release gitgen is tested with"),
        "{}",
        run.transcript()
    );
    pin_argocd(&repo, "v2.12.3");
    let run = repo.gitgen(&["--env", "kind", "render"]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("warning: `argocd.version` goes back from v2.13.5 (last rendered for `kind`) to v2.12.3"),
        "{}",
        run.transcript()
    );
}

#[test]
fn an_unsupported_argocd_minor_is_refused_with_the_supported_list() {
    let repo = Repo::fixture("small");
    for version in ["v2.9.0", "v4.0.0"] {
        pin_argocd(&repo, version);
        let run = repo.gitgen(&["render"]);
        run.expect(2);
        insta::assert_snapshot!(
            format!("unsupported_argocd_{}", version.replace('.', "_")),
            run.transcript()
        );
    }
}

#[test]
fn the_placeholder_repo_url_is_a_warning_at_render() {
    let repo = Repo::fixture("small");
    repo.write(
        "gitgen.yaml",
        &repo.read("gitgen.yaml").replace(
            "https://github.com/example/course.git",
            gitgen::scaffold::PLACEHOLDER_REPO_URL,
        ),
    );
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert!(
        run.stderr
            .starts_with("warning: `repo_url` in `gitgen.yaml` is still the placeholder"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("hint: set it to the URL"), "{}", run.transcript());
}

#[test]
fn git_conflict_markers_in_the_toggle_file_are_reported_as_a_merge_conflict() {
    let repo = rendered_fixture();
    repo.write(
        "overlays/docker-desktop/lessons.yaml",
        "lessons:\n<<<<<<< HEAD\n  alpha: pod\n=======\n  alpha: service\n>>>>>>> lesson/alpha\n",
    );
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_toggle_file_with_a_byte_order_mark_renders_and_enable_edits_it() {
    let repo = rendered_fixture();
    repo.write(
        "overlays/docker-desktop/lessons.yaml",
        "\u{feff}lessons:\n  # alpha: service\n",
    );
    repo.gitgen(&["render"]).expect(0);
    repo.gitgen(&["enable", "alpha"]).expect(0);
    assert_eq!(
        repo.read("overlays/docker-desktop/lessons.yaml"),
        "lessons:\n  alpha: service\n"
    );
    repo.gitgen(&["render", "--check"]).expect(0);
}

#[test]
fn enable_refuses_a_toggle_file_written_as_a_flow_mapping_with_a_hint() {
    let repo = rendered_fixture();
    repo.write("overlays/docker-desktop/lessons.yaml", "lessons: {alpha: pod}\n");
    repo.gitgen(&["render"]).expect(0);
    let run = repo.gitgen(&["enable", "beta"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(
        repo.read("overlays/docker-desktop/lessons.yaml"),
        "lessons: {alpha: pod}\n",
        "nothing was written"
    );
}

#[test]
fn validate_crds_with_a_missing_folder_says_so_with_a_hint() {
    let repo = Repo::fixture("small");
    let run = repo.gitgen(&["validate", "--crds", "no-such-folder"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_broken_values_template_of_a_lesson_no_environment_enables_fails_render() {
    let repo = rendered_fixture();
    repo.write(
        "catalog/beta/values.yaml",
        "grafana:\n  service:\n{% if env.service_type %}\n    type: x\n",
    );
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    repo.gitgen(&["render", "--check"]).expect(2);
}

#[test]
fn a_missing_include_in_a_values_template_no_environment_enables_fails_render_check() {
    let repo = rendered_fixture();
    repo.write("catalog/beta/values.yaml", "{% include \"grafana.yaml\" %}\n");
    let run = repo.gitgen(&["render", "--check"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn one_broken_environment_leaves_every_environment_unwritten() {
    let repo = rendered_fixture();
    let before = repo.tree();
    let config = repo
        .read("gitgen.yaml")
        .replace("target_revision: main", "target_revision: trainer");
    repo.write("gitgen.yaml", &config);
    repo.write("overlays/kind/lessons.yaml", "lessons:\n  alpha: nope\n");
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    let after = repo.tree();
    let changed: Vec<&String> = after
        .iter()
        .filter(|(path, text)| before.get(*path) != Some(text))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        changed,
        ["gitgen.yaml", "overlays/kind/lessons.yaml"],
        "docker-desktop renders, but nothing is written while kind does not"
    );
}

#[test]
fn files_left_behind_by_git_stash_are_reported_with_git_stash_pop_and_git_clean() {
    let repo = rendered_fixture();
    let committed = repo.tree();
    repo.gitgen(&["enable", "alpha"]).expect(0);
    // What `git stash` does: tracked files go back to HEAD, the new untracked ones stay.
    for (path, text) in &committed {
        repo.write(path, text);
    }
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
}

/// Runs `gitgen ARGS` in the repo as user `nobody`, which owns the repo but for the
/// folders `root_owned` names: root passes every permission check, so a folder render
/// may not write in needs another user.
fn as_nobody(repo: &Repo, root_owned: &[&str], args: &[&str]) -> crate::support::Run {
    let chown = |path: &std::path::Path, owner: &str| {
        let status = std::process::Command::new("chown")
            .args(["-R", owner])
            .arg(path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "chown {owner} {} (these tests run as root)",
            path.display()
        );
    };
    let parent = repo.path().parent().unwrap();
    fs_err::set_permissions(parent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    chown(repo.path(), "65534:65534");
    for folder in root_owned {
        chown(&repo.path().join(folder), "0:0");
    }
    let output = crate::isolated::command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_gitgen"))
        .args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stderr).starts_with("setpriv:"),
        "setpriv (util-linux) must run as root here: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    crate::support::Run::of(repo, output)
}

#[test]
fn a_folder_render_may_not_write_in_is_named_with_a_hint_before_anything_moves() {
    let repo = Repo::fixture("small");
    repo.write("overlays/kind/lessons.yaml", "lessons:\n  # alpha: service\n");
    let before = repo.tree();
    let run = as_nobody(&repo, &["overlays/kind"], &["--env", "kind", "render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(repo.tree(), before, "nothing was moved into place");
    assert!(!repo.exists(".gitgen/txn"), "no journal is left to finish");
}

#[test]
fn a_unit_folder_render_may_not_write_in_itself_is_refused_before_anything_moves() {
    // Its parent `generated/` is nobody's, so the probe file there passes; moving the
    // folder aside also rewrites its `..`, which needs write permission on it.
    let repo = rendered_fixture();
    let pod = repo.read("catalog/alpha/pod.yaml");
    repo.write("catalog/alpha/pod.yaml", &pod.replace("name: ", "name: x-"));
    let before = repo.tree();
    let run = as_nobody(&repo, &["generated/alpha"], &["render"]);
    run.expect(2);
    insta::assert_snapshot!(run.transcript());
    assert_eq!(repo.tree(), before, "nothing was moved into place");
    assert!(!repo.exists(".gitgen/txn"), "no journal is left to finish");
}

/// A tmpfs of `size`, mounted on a new folder and unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs needs root (these tests run as root)"
        );
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_names_the_file_with_a_hint_and_leaves_the_tree_as_it_was() {
    let disk = SmallDisk::new("80k");
    let repo = Repo::fixture_in("small", disk.dir.path());
    let before = repo.entries();
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    // Units are staged in parallel: which file meets the full disk first varies.
    let transcript = run.transcript();
    // One transaction for every environment: the error is the staging write's own.
    assert!(
        transcript.contains("error: cannot write `[REPO]/.gitgen/txn/stage/"),
        "{transcript}"
    );
    assert!(transcript.contains("No space left on device"), "{transcript}");
    assert!(
        transcript.contains("\nhint: free some space on the disk that holds the repo"),
        "{transcript}"
    );
    let after = repo.entries();
    assert_eq!(
        after.iter().map(|e| &e.0).collect::<Vec<_>>(),
        before.iter().map(|e| &e.0).collect::<Vec<_>>(),
        "nothing half-written"
    );
    assert!(!repo.exists(".gitgen/txn"), "the staged change was dropped");
    drop(repo);
}

/// Fills the disk that holds `dir` but for about `spare` bytes, with a file in `dir`.
fn fill_disk_but(dir: &std::path::Path, spare: u64) {
    use std::io::Write;
    let path = dir.join("filler");
    let mut filler = fs_err::File::create(&path).unwrap();
    let block = [0u8; 4096];
    let mut written = 0u64;
    while filler.write_all(&block).and_then(|()| filler.flush()).is_ok() {
        written += 4096;
    }
    drop(filler);
    let filler = fs_err::OpenOptions::new().write(true).open(&path).unwrap();
    filler.set_len(written.saturating_sub(spare)).unwrap();
}

#[test]
fn a_full_disk_while_re_rendering_leaves_every_file_as_it_was() {
    let disk = SmallDisk::new("2m");
    let repo = Repo::fixture_in("small", disk.dir.path());
    repo.gitgen(&["render"]).expect(0);
    // Every lesson's output changes, so the render stages a unit per lesson and
    // environment and the lock; the disk has room for a few of them.
    for template in ["catalog/alpha/pod.yaml", "catalog/beta/cm.yaml"] {
        let text = repo.read(template);
        repo.write(template, &text.replacen("name: ", "name: renamed-", 1));
    }
    let before = repo.tree();
    fill_disk_but(disk.dir.path(), 12 * 1024);
    let run = repo.gitgen(&["render"]);
    run.expect(2);
    assert!(run.stderr.contains("No space left on device"), "{}", run.transcript());
    assert_eq!(repo.tree(), before, "a file changed though the render failed");
    assert!(!repo.exists(".gitgen/txn"), "the staged change was dropped");
    // With room again, the same render goes through.
    fs_err::remove_file(disk.dir.path().join("filler")).unwrap();
    repo.gitgen(&["render"]).expect(0);
    assert_ne!(repo.tree(), before);
    drop(repo);
}

#[test]
fn validate_json_reports_every_check_and_the_custom_resources_no_schema_covers() {
    let repo = rendered_fixture();
    let json = |run: &crate::support::Run| -> serde_json::Value {
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
    };
    let run = repo.gitgen(&["validate", "-o", "json"]);
    run.expect(0);
    let report = json(&run);
    assert_eq!(report["environment"], "docker-desktop");
    assert_eq!(
        (&report["server"], &report["passed"]),
        (&false.into(), &true.into()),
        "{report}"
    );
    assert!(report["objects"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    let unchecked = report["unchecked"].as_array().unwrap();
    assert!(
        unchecked.iter().any(|u| u["api_version"] == "argoproj.io/v1alpha1"),
        "Argo CD's objects get only the minimum check without `--crds`: {report}"
    );
    assert_eq!(report["unchecked_fail"], false);

    // With `--crds` and no schema for them, they count: exit 1, as the table says.
    fs_err::create_dir_all(repo.path().join("no-crds")).unwrap();
    let run = repo.gitgen(&["validate", "--crds", "no-crds", "-o", "json"]);
    run.expect(1);
    let report = json(&run);
    assert_eq!(
        (&report["passed"], &report["unchecked_fail"]),
        (&false.into(), &true.into()),
        "{report}"
    );
    assert!(
        !run.stdout.contains("no built-in type"),
        "only JSON on stdout: {}",
        run.stdout
    );
}
