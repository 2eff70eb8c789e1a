//! What a render would change, as a reviewer reads it: each file's change as a unified
//! diff, and `gitgen.lock` as the entries whose hash changes (its lines are noise).

use std::collections::{BTreeMap, BTreeSet};

use similar::TextDiff;

use super::lock::LockFile;

/// `path`'s change as a unified diff with `a/` and `b/` prefixes (`/dev/null` for a side
/// that does not exist).
pub fn unified(path: &str, old: &str, new: &str) -> String {
    let side = |text: &str, prefix: &str| {
        if text.is_empty() {
            "/dev/null".to_owned()
        } else {
            format!("{prefix}/{path}")
        }
    };
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&side(old, "a"), &side(new, "b"))
        .to_string()
}

/// The lock entries whose hash differs between `old` and `new`, added and removed ones
/// included, each named by what it hashes (`file PATH`, `lesson NAME`, `environment
/// NAME`, `renderer`).
pub fn changed_hashes(old: Option<&LockFile>, new: &LockFile) -> BTreeSet<String> {
    let empty = LockFile::default();
    let old = old.unwrap_or(&empty);
    let mut keys = BTreeSet::new();
    let mut compare = |kind: &str, a: BTreeMap<&String, &String>, b: BTreeMap<&String, &String>| {
        for key in a.keys().chain(b.keys()) {
            if a.get(key) != b.get(key) {
                keys.insert(format!("{kind} {key}"));
            }
        }
    };
    compare("file", old.files.iter().collect(), new.files.iter().collect());
    compare("lesson", old.lessons.iter().collect(), new.lessons.iter().collect());
    compare(
        "environment",
        old.environments.iter().map(|(k, v)| (k, &v.inputs)).collect(),
        new.environments.iter().map(|(k, v)| (k, &v.inputs)).collect(),
    );
    if old.renderer != new.renderer {
        keys.insert("renderer".to_owned());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::EnvironmentInputs;

    #[test]
    fn a_new_file_is_diffed_against_dev_null() {
        let diff = unified("generated/a/pod/pod.yaml", "", "kind: Pod\n");
        assert_eq!(
            diff,
            "--- /dev/null\n+++ b/generated/a/pod/pod.yaml\n@@ -0,0 +1 @@\n+kind: Pod\n"
        );
    }

    #[test]
    fn a_changed_file_names_both_sides_and_keeps_three_lines_of_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n";
        let diff = unified("x.yaml", old, new);
        assert!(
            diff.starts_with("--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n"),
            "{diff}"
        );
        assert!(diff.contains("-5\n+five\n"), "{diff}");
    }

    #[test]
    fn changed_hashes_names_each_entry_added_removed_or_changed_and_nothing_else() {
        let mut old = LockFile {
            renderer: "r1".into(),
            ..LockFile::default()
        };
        old.files.insert("kept".into(), "h".into());
        old.files.insert("gone".into(), "h".into());
        old.lessons.insert("alpha".into(), "h1".into());
        old.environments.insert(
            "kind".into(),
            EnvironmentInputs {
                inputs: "i1".into(),
                enabled: 1,
            },
        );
        let mut new = old.clone();
        new.files.remove("gone");
        new.files.insert("added".into(), "h".into());
        new.lessons.insert("alpha".into(), "h2".into());
        // Only the inputs hash counts: the enabled count is not a hash.
        new.environments.get_mut("kind").unwrap().enabled = 2;
        let keys: Vec<String> = changed_hashes(Some(&old), &new).into_iter().collect();
        assert_eq!(keys, ["file added", "file gone", "lesson alpha"]);
        new.renderer = "r2".into();
        assert!(changed_hashes(Some(&old), &new).contains("renderer"));
    }

    #[test]
    fn without_an_old_lock_every_entry_of_the_new_one_changes() {
        let mut new = LockFile::default();
        new.files.insert("f".into(), "h".into());
        new.lessons.insert("l".into(), "h".into());
        let keys: Vec<String> = changed_hashes(None, &new).into_iter().collect();
        assert_eq!(keys, ["file f", "lesson l"]);
    }
}
