//! The trainer's daily workflow: every environment rendered and checked, every
//! walkthrough checked, scripting (`-o json`, completions) and what enable and disable say.

use crate::support::Repo;

/// Runs `gitgen ARGS` in the repo with `GITGEN_ENV` set (the support helper clears it).
fn with_gitgen_env(repo: &Repo, env: &str, args: &[&str]) -> i32 {
    std::process::Command::new(env!("CARGO_BIN_EXE_gitgen"))
        .args(args)
        .current_dir(repo.path())
        .env("GITGEN_ENV", env)
        .env("NO_COLOR", "1")
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
fn completions_are_printed_for_bash_zsh_and_fish() {
    let repo = Repo::fixture("small");
    for shell in ["bash", "zsh", "fish"] {
        let run = repo.gitgen(&["completions", shell]);
        run.expect(0);
        assert!(run.stdout.contains("publish"), "{shell}: {}", run.transcript());
        assert!(run.stdout.contains("completions"), "{shell}: {}", run.transcript());
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
