//! Incremental render at scale (not timed; `benches/render.rs` times it): a render with
//! nothing to do writes nothing, one changed lesson re-renders only itself, and the
//! parallel render writes the same bytes as a single-threaded one.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::time::SystemTime;

use crate::support::Repo;
use crate::synth;

/// Modification time and inode of every file and folder of the repo (except `.git` and
/// gitgen's private `.gitgen/`). A rewritten file or a swapped folder changes one of them.
fn stamps(repo: &Repo) -> BTreeMap<String, (SystemTime, u64)> {
    repo.entries()
        .into_iter()
        .map(|(relative, path, _)| {
            let meta = fs_err::symlink_metadata(path).unwrap();
            (relative, (meta.modified().unwrap(), meta.ino()))
        })
        .collect()
}

fn changed(before: &BTreeMap<String, (SystemTime, u64)>, after: &BTreeMap<String, (SystemTime, u64)>) -> Vec<String> {
    let mut paths: Vec<String> = before
        .iter()
        .filter(|(path, stamp)| after.get(*path) != Some(*stamp))
        .map(|(path, _)| path.clone())
        .collect();
    paths.extend(after.keys().filter(|path| !before.contains_key(*path)).cloned());
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn a_no_op_render_of_a_synthetic_catalog_touches_no_file_or_folder() {
    let repo = Repo::synth(200);
    repo.gitgen(&["render"]).expect(0);
    let before = stamps(&repo);
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert_eq!(run.stdout, "", "a no-op render listed changes\n{}", run.transcript());
    assert!(
        run.stderr.contains("Nothing changed (200 lessons, 20 enabled"),
        "{}",
        run.transcript()
    );
    assert_eq!(changed(&before, &stamps(&repo)), Vec::<String>::new());
}

#[test]
fn changing_one_lesson_of_200_re_renders_that_lesson_only() {
    let repo = Repo::synth(200);
    repo.gitgen(&["render"]).expect(0);
    let before = stamps(&repo);
    // An enabled lesson, so its overlay and Argo CD Application exist and must not move.
    let template = "catalog/lesson-00040/app-2-configmap.yaml";
    repo.write(
        template,
        &repo.read(template).replace(
            "  lesson: {{ lesson.name }}\n",
            "  lesson: {{ lesson.name }}\n  edited: \"yes\"\n",
        ),
    );
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert!(run.stderr.contains("Rendered 1 of 200 lessons"), "{}", run.transcript());
    assert_eq!(
        run.stdout,
        "M generated/lesson-00040/step-1/app-2-configmap.yaml\n\
         M generated/lesson-00040/step-2/app-2-configmap.yaml\n\
         M generated/lesson-00040/step-3/app-2-configmap.yaml\n\
         M gitgen.lock\n"
    );
    let touched = changed(&before, &stamps(&repo));
    let outside: Vec<&String> = touched
        .iter()
        .filter(|path| {
            !(path.starts_with("generated/lesson-00040")
                || *path == "gitgen.lock"
                || *path == template
                || *path == "generated")
        })
        .collect();
    assert!(outside.is_empty(), "render touched files of other lessons: {outside:?}");
    assert!(
        touched
            .iter()
            .any(|p| p == "generated/lesson-00040/step-3/app-2-configmap.yaml"),
        "{touched:?}"
    );
}

#[test]
fn parallel_and_single_threaded_renders_write_the_same_bytes() {
    let parallel = Repo::synth(200);
    let single = Repo::synth(200);
    parallel
        .gitgen_with_env(&["render"], &[("RAYON_NUM_THREADS", "4")])
        .expect(0);
    single
        .gitgen_with_env(&["render"], &[("RAYON_NUM_THREADS", "1")])
        .expect(0);
    let (parallel_tree, single_tree) = (parallel.tree(), single.tree());
    assert!(
        parallel_tree.len() > 200 * 3 * 5,
        "too few files: {}",
        parallel_tree.len()
    );
    assert_eq!(parallel_tree, single_tree);
}

/// Renders the `small` fixture twice, so the second render finds nothing to do from the
/// lock alone, then makes `change` and renders again.
fn render_after(change: impl FnOnce(&Repo)) -> crate::support::Run {
    let repo = Repo::fixture("small");
    repo.gitgen(&["render"]).expect(0);
    let run = repo.gitgen(&["render"]);
    run.expect(0);
    assert!(run.stderr.starts_with("Nothing changed"), "{}", run.transcript());
    assert_eq!(
        answered_from_the_lock(&repo),
        Some((2, 2)),
        "an untouched repo is answered from the lock"
    );
    // File times have the kernel clock's granularity: an edit in the same tick as the
    // lock's write would look as old as the lock.
    std::thread::sleep(std::time::Duration::from_millis(20));
    change(&repo);
    assert_eq!(
        answered_from_the_lock(&repo),
        None,
        "the lock answered for a changed repo"
    );
    repo.gitgen(&["render"])
}

/// What `Inputs::unchanged`, the lock's answer that `render` asks first, says about the
/// repo (lessons, enabled), or `None` when it leaves the question to the render.
fn answered_from_the_lock(repo: &Repo) -> Option<(usize, usize)> {
    let settings = gitgen::settings::Settings::resolve(Some(repo.path()), None).unwrap();
    let mut inputs = gitgen::workspace::Inputs::read(settings).unwrap();
    let same = inputs.unchanged().unwrap()?;
    Some((same.lessons, same.enabled))
}

#[test]
fn a_render_with_nothing_to_do_still_sees_a_changed_gitgen_yaml() {
    let run = render_after(|repo| {
        repo.write(
            "gitgen.yaml",
            &repo
                .read("gitgen.yaml")
                .replace("target_revision: main", "target_revision: dev"),
        );
    });
    run.expect(0);
    assert!(
        run.stdout.contains("M argocd/docker-desktop/root.yaml"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_render_with_nothing_to_do_still_sees_a_hand_edit_of_the_argo_cd_bundle() {
    let run = render_after(|repo| {
        let path = "argocd/docker-desktop/root.yaml";
        repo.write(path, &format!("{}# my note\n", repo.read(path)));
    });
    run.expect(2);
    assert!(run.stderr.contains("edited by hand"), "{}", run.transcript());
}

#[test]
fn a_render_with_nothing_to_do_still_sees_a_file_added_to_the_environment() {
    let run = render_after(|repo| repo.write("argocd/docker-desktop/apps/mine.yaml", "kind: ConfigMap\n"));
    run.expect(2);
    assert!(run.stderr.contains("not written by gitgen"), "{}", run.transcript());
}

#[test]
fn a_render_with_nothing_to_do_still_sees_a_folder_added_to_generated() {
    let run = render_after(|repo| repo.write("generated/stray/cm.yaml", "kind: ConfigMap\n"));
    run.expect(2);
    assert!(run.stderr.contains("generated/stray/cm.yaml"), "{}", run.transcript());
}

#[test]
fn a_render_with_nothing_to_do_still_rewrites_a_reformatted_lock() {
    let run = render_after(|repo| {
        let lock: serde_json::Value = serde_json::from_str(&repo.read("gitgen.lock")).unwrap();
        repo.write("gitgen.lock", &serde_json::to_string(&lock).unwrap());
    });
    run.expect(0);
    assert_eq!(run.stdout, "M gitgen.lock\n", "{}", run.transcript());
}

#[test]
fn a_lock_that_another_environment_rendered_from_other_lessons_is_not_trusted() {
    let run = render_after(|repo| {
        // Render `kind` from an edited lesson, then put the lesson back: the lock's
        // entry for docker-desktop matches its inputs again, but `generated/` does not.
        let template = "catalog/alpha/pod.yaml";
        let original = repo.read(template);
        repo.write(template, &format!("{original}# edited\n"));
        repo.gitgen(&["--env", "kind", "render"]).expect(0);
        repo.write(template, &original);
    });
    run.expect(0);
    assert!(run.stdout.contains("M generated/alpha/"), "{}", run.transcript());
}

#[test]
fn enabled_lessons_require_only_enabled_lessons() {
    for index in (0..1000).filter(|i| synth::is_enabled(*i)) {
        if let Some(required) = synth::requires(index) {
            assert!(synth::is_enabled(required), "{index} requires {required}");
        }
    }
}

#[test]
fn conflicting_lessons_are_never_enabled() {
    for index in 0..1000 {
        if let Some(other) = synth::conflicts_with(index, 1000) {
            assert!(!synth::is_enabled(index) && !synth::is_enabled(other));
        }
    }
}
