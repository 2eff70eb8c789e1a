//! Broken and hostile input, one case each: the `small` fixture with one mutation, run
//! through the real binary. Every transcript is snapshotted; every error exits 2 (never
//! 101, a panic), says what is wrong and where, and ends with a `hint:`; a case that has
//! not ended within [`HANG_LIMIT`] fails naming itself.

use crate::support::{HANG_LIMIT, Repo, check};

const ALPHA: &str = "catalog/alpha/lesson.yaml";
const BETA: &str = "catalog/beta/lesson.yaml";
const POD: &str = "catalog/alpha/pod.yaml";
const TOGGLE: &str = "overlays/docker-desktop/lessons.yaml";

/// Replaces the first `from` in a repo file with `to`; `from` must be there, so a
/// fixture change cannot silently turn a case into a no-op.
fn edit(repo: &Repo, path: &str, from: &str, to: &str) {
    let text = repo.read(path);
    assert!(text.contains(from), "`{from}` is not in {path}");
    repo.write(path, &text.replacen(from, to, 1));
}

fn write_bytes(repo: &Repo, path: &str, bytes: &[u8]) {
    fs_err::write(repo.path().join(path), bytes).unwrap();
}

/// A ConfigMap template with `data` lines appended.
fn config_map(data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n{data}")
}

/// Ten levels of ten aliases each: 10^10 scalars once expanded.
fn alias_bomb(indent: &str) -> String {
    let mut text = format!("{indent}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("{indent}a{i}: &a{i} [{refs}]\n"));
    }
    text
}

macro_rules! hostile {
    ($name:ident, [$($arg:expr),*] => $code:expr, |$repo:ident| $mutate:block) => {
        #[test]
        fn $name() {
            let $repo = Repo::fixture("small");
            $mutate
            let run = $repo.gitgen_within(&[$($arg),*], HANG_LIMIT);
            check(&run, $code);
            insta::assert_snapshot!(stringify!($name), run.transcript());
        }
    };
}

// lesson.yaml: shape.

hostile!(chart_kind_both_created_and_turned_off, ["render"] => 2, |repo| {
    edit(&repo, BETA, "kinds: [Deployment, Service, ConfigMap]", "kinds: [Deployment, Service, ConfigMap]\n      turned_off: [PodDisruptionBudget, ConfigMap]");
});
/// `argocd_objects` for alpha whose `application_crds` entry ends with `tail`.
fn application_crds(tail: &str) -> String {
    format!(
        "argocd_objects:\n  reason: r\n  projects: [p]\n  repos: [https://example.com/r.git]\n  application_crds:\n    - application: a\n      source: s\n{tail}stages:"
    )
}

hostile!(application_crds_kind_without_a_group, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", &application_crds("      crds: [Widget]\n"));
});
hostile!(application_crds_schema_not_in_the_lesson, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", &application_crds("      crds: [example.com/Widget]\n      schemas: [crds/widget.yaml]\n"));
});
hostile!(application_crds_schema_outside_the_lesson, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", &application_crds("      crds: [example.com/Widget]\n      schemas: [../beta/lesson.yaml]\n"));
});
hostile!(chart_crd_kind_without_a_group, ["render"] => 2, |repo| {
    edit(&repo, BETA, "kinds: [Deployment, Service, ConfigMap]", "kinds: [Deployment, Service, ConfigMap]\n      crds: [Widget]");
});
hostile!(chart_crds_without_a_crd_kind, ["render"] => 2, |repo| {
    edit(&repo, BETA, "kinds: [Deployment, Service, ConfigMap]", "kinds: [Deployment, Service, ConfigMap]\n      crds: [example.com/Widget]");
});
hostile!(lesson_malformed_yaml, ["render"] => 2, |repo| {
    repo.write(ALPHA, "name: alpha\ntitle: \"unclosed\nstages: [\n");
});
hostile!(lesson_wrong_type, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:\n", "stages: 3\nx_stages:\n");
});
hostile!(lesson_wrong_type_deep_in_a_list, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "description: A pod.", "description: [a, pod]");
});
hostile!(lesson_unknown_field, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "title: Alpha pods", "titel: Alpha pods");
});
hostile!(lesson_missing_name, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "name: alpha\n", "");
});
hostile!(lesson_name_differs_from_folder, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "name: alpha", "name: gamma");
});
hostile!(lesson_duplicate_key, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "title: Alpha pods", "title: Alpha pods\ntitle: Again");
});
hostile!(lesson_empty_file, ["render"] => 2, |repo| {
    repo.write(ALPHA, "");
});
hostile!(lesson_two_documents, ["render"] => 2, |repo| {
    let text = repo.read(ALPHA);
    repo.write(ALPHA, &format!("{text}---\nname: alpha\n"));
});
hostile!(lesson_invalid_utf8, ["render"] => 2, |repo| {
    write_bytes(&repo, ALPHA, b"name: alpha\ntitle: Al\xffpha\n");
});
hostile!(lesson_deeply_nested, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "title: Alpha pods", &format!("title: {}", "[".repeat(10_000)));
});
hostile!(lesson_missing, ["render"] => 2, |repo| {
    repo.remove(ALPHA);
});
hostile!(lesson_folder_name_not_an_id, ["render"] => 2, |repo| {
    repo.write("catalog/Bad_Name/lesson.yaml", "name: bad\n");
});
hostile!(lesson_folder_name_with_control_characters, ["render"] => 2, |repo| {
    repo.write("catalog/bad\u{1}name/lesson.yaml", "name: bad\n");
});

// Names and paths that could leave their folder.

hostile!(lesson_name_with_dot_dot, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "name: alpha", "name: ../../etc");
});
hostile!(lesson_name_absolute, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "name: alpha", "name: /etc/passwd");
});
hostile!(lesson_name_with_control_characters, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "name: alpha", "name: \"al\\apha\\n\"");
});
hostile!(stage_name_with_dot_dot, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "- name: pod", "- name: ..");
});
hostile!(stage_name_root, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "- name: pod", "- name: /");
});
hostile!(stage_name_with_control_characters, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "- name: pod", "- name: \"p\\0d\"");
});
hostile!(manifest_file_with_dot_dot, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "file: pod.yaml", "file: ../beta/cm.yaml");
});
hostile!(manifest_file_absolute, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "file: pod.yaml", "file: /etc/passwd");
});
hostile!(manifest_file_with_control_characters, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "file: pod.yaml", "file: \"pod.yaml\\r\"");
});
hostile!(values_path_with_dot_dot, ["render"] => 2, |repo| {
    edit(&repo, BETA, "values: values.yaml", "values: ../../gitgen.yaml");
});
hostile!(values_path_absolute, ["render"] => 2, |repo| {
    edit(&repo, BETA, "values: values.yaml", "values: /etc/hosts");
});
hostile!(walkthrough_path_with_dot_dot, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", "walkthrough: ../../../etc/passwd\nstages:");
});
hostile!(walkthrough_path_absolute, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", "walkthrough: /etc/passwd\nstages:");
});
hostile!(symlink_in_a_lesson_pointing_outside, ["render"] => 2, |repo| {
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("catalog/alpha/passwd.yaml")).unwrap();
});
hostile!(symlink_as_a_lesson_folder, ["render"] => 2, |repo| {
    std::os::unix::fs::symlink("/etc", repo.path().join("catalog/gamma")).unwrap();
});
hostile!(file_over_4_mib, ["render"] => 2, |repo| {
    repo.write("catalog/alpha/big.yaml", &"# padding\n".repeat(450_000));
});

// Templates.

hostile!(template_includes_etc_passwd, ["render"] => 2, |repo| {
    repo.write(POD, "{% include \"../../etc/passwd\" %}\n");
});
hostile!(template_includes_an_absolute_path, ["render"] => 2, |repo| {
    repo.write(POD, "{% include \"/etc/passwd\" %}\n");
});
hostile!(template_includes_another_lesson, ["render"] => 2, |repo| {
    repo.write(POD, "{% include \"../beta/cm.yaml\" %}\n");
});
hostile!(template_syntax_error, ["render"] => 2, |repo| {
    repo.write(POD, "apiVersion: v1\n{% if %}\n");
});
hostile!(template_undefined_value, ["render"] => 2, |repo| {
    repo.write(POD, &config_map("  host: {{ env.host }}\n"));
});
hostile!(template_infinite_loop, ["render"] => 2, |repo| {
    repo.write(POD, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n");
});
hostile!(template_deep_recursion, ["render"] => 2, |repo| {
    repo.write(POD, "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}\n");
});
hostile!(template_output_over_8_mib, ["render"] => 2, |repo| {
    repo.write(POD, &config_map("  big: {{ \"x\" * 9000000 }}\n"));
});
hostile!(template_memory_bomb, ["render"] => 2, |repo| {
    let doublings = "{% set a = a ~ a %}".repeat(30);
    repo.write(POD, &format!("{{% set a = \"x\" * 1000000 %}}{doublings}{}", config_map("  n: {{ a|length }}\n")));
});
hostile!(template_breaks_yaml_structure, ["render"] => 2, |repo| {
    repo.write(POD, &config_map("{% if stage.index == 0 %}\n  a: {{ stage.name }}\n{% endif %}\n   b: c\n"));
});
hostile!(template_renders_no_object, ["render"] => 2, |repo| {
    repo.write(POD, "{% if false %}\napiVersion: v1\n{% endif %}\n");
});
hostile!(template_renders_a_list, ["render"] => 2, |repo| {
    repo.write(POD, "- a\n- b\n");
});
hostile!(template_alias_bomb, ["render"] => 2, |repo| {
    repo.write(POD, &config_map(&alias_bomb("  ")));
});
hostile!(template_deeply_nested, ["render"] => 2, |repo| {
    repo.write(POD, &config_map(&format!("  a: {}\n", "[".repeat(10_000))));
});
hostile!(template_many_documents, ["render"] => 2, |repo| {
    repo.write(POD, &format!("{{% for i in range(5000) %}}\n---\n{}{{% endfor %}}\n", config_map("  i: x\n")));
});
hostile!(values_template_not_a_mapping, ["render"] => 2, |repo| {
    edit(&repo, BETA, "charts:", "charts:\n  - name: extra\n    repo: https://example.com/charts\n    chart: extra\n    version: 1.0.0\n    namespace: beta\n    values: extra.yaml\n    values_from_git: true\n    creates: {source: its templates, kinds: [ConfigMap]}");
    repo.write("catalog/beta/extra.yaml", "- {{ env.host }}\n");
});

// Values stay data, whatever they hold.

#[test]
fn values_with_yaml_syntax_stay_data() {
    let repo = Repo::fixture("small");
    edit(
        &repo,
        ALPHA,
        "title: Alpha pods",
        "title: \"a: b # c\\n- d \\\"q\\\" 'r' {{ e }} {% f %} ---\"",
    );
    repo.write(
        POD,
        &config_map("  title: {{ lesson.title }}\n  section: {{ lesson.section }}\n"),
    );
    let run = repo.gitgen_within(&["render"], HANG_LIMIT);
    check(&run, 0);
    let rendered = repo.read("generated/alpha/service/pod.yaml");
    insta::assert_snapshot!("values_with_yaml_syntax_stay_data", rendered);
    let parsed: serde_json::Value =
        gitgen::yaml::from_str(rendered.split_once('\n').unwrap().1, std::path::Path::new("pod.yaml")).unwrap();
    assert_eq!(parsed["data"]["title"], "a: b # c\n- d \"q\" 'r' {{ e }} {% f %} ---");
    assert_eq!(parsed["data"]["section"], "Pods, Probes: Services");
}

// Objects that would hurt the cluster.

hostile!(object_in_a_namespace_the_lesson_does_not_own, ["render"] => 2, |repo| {
    edit(&repo, POD, "  name: probe-test-app\n", "  name: probe-test-app\n  namespace: kube-system\n");
});
hostile!(object_of_an_undeclared_cluster_kind, ["render"] => 2, |repo| {
    repo.write(POD, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: everything\nrules: []\n");
});
hostile!(pod_privileged_without_host_access, ["render"] => 2, |repo| {
    edit(&repo, POD, "      image:", "      securityContext:\n        privileged: true\n      image:");
});
hostile!(pod_host_pid_without_host_access, ["render"] => 2, |repo| {
    edit(&repo, POD, "spec:\n", "spec:\n  hostPID: true\n");
});
hostile!(pod_host_network_without_host_access, ["render"] => 2, |repo| {
    edit(&repo, POD, "spec:\n", "spec:\n  hostNetwork: true\n");
});
hostile!(pod_host_path_without_host_access, ["render"] => 2, |repo| {
    edit(&repo, POD, "spec:\n", "spec:\n  volumes:\n    - name: root\n      hostPath:\n        path: /\n");
});
hostile!(secret_with_data, ["render"] => 2, |repo| {
    repo.write(POD, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n");
});
hostile!(token_like_string, ["render"] => 2, |repo| {
    repo.write(POD, &config_map("  token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"));
});
hostile!(namespace_object_in_a_template, ["render"] => 2, |repo| {
    repo.write(POD, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: alpha\n");
});
hostile!(second_document_breaks_a_rule, ["render"] => 2, |repo| {
    let pod = repo.read(POD);
    repo.write(POD, &format!("{pod}---\n# a comment\n---\n{}", config_map("  key: AKIAIOSFODNN7EXAMPLE\n")));
});

// The toggle file.

hostile!(toggle_unknown_lesson, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "alpha: service", "alpah: service");
});
hostile!(toggle_unknown_stage, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "alpha: service", "alpha: servce");
});
hostile!(toggle_lesson_listed_twice, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "alpha: service", "alpha: service\n  alpha: pod");
});
hostile!(toggle_conflict, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", "conflicts:\n  - lesson: beta\n    reason: both want port 8000\nstages:");
});
hostile!(toggle_missing_requirement, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "  alpha: service\n", "");
});
hostile!(toggle_not_a_mapping, ["render"] => 2, |repo| {
    repo.write(TOGGLE, "- alpha\n- beta\n");
});
hostile!(toggle_lessons_not_a_mapping, ["render"] => 2, |repo| {
    repo.write(TOGGLE, "lessons: [alpha, beta]\n");
});
hostile!(toggle_stage_not_a_string, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "alpha: service", "alpha: [service]");
});
hostile!(toggle_invalid_utf8, ["render"] => 2, |repo| {
    write_bytes(&repo, TOGGLE, b"lessons:\n  alpha: serv\xc3ice\n");
});
hostile!(toggle_lesson_with_control_characters, ["render"] => 2, |repo| {
    edit(&repo, TOGGLE, "alpha: service", "\"../al\\u0007pha\": service");
});
hostile!(toggle_alias_bomb, ["render"] => 2, |repo| {
    repo.write(TOGGLE, &format!("bomb:\n{}lessons:\n  alpha: service\n", alias_bomb("  ")));
});

// requires, conflicts and charts.

hostile!(requires_cycle, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", "requires: [beta]\nstages:");
});
hostile!(requires_unknown_lesson, ["render"] => 2, |repo| {
    edit(&repo, ALPHA, "stages:", "requires: [betta]\nstages:");
});
hostile!(chart_version_range, ["render"] => 2, |repo| {
    edit(&repo, BETA, "version: 65.8.1", "version: ^1.2");
});

// gitgen.yaml and the command line.

hostile!(config_unknown_field, ["render"] => 2, |repo| {
    edit(&repo, "gitgen.yaml", "target_revision: main", "target_revision: main\ntarget_revison: main");
});
hostile!(config_field_indented_out_of_its_environment, ["render"] => 2, |repo| {
    edit(&repo, "gitgen.yaml", "    sync: automated\n", "  sync: automated\n");
});
hostile!(config_field_indented_out_of_argocd, ["render"] => 2, |repo| {
    edit(&repo, "gitgen.yaml", "  version: v2.12.3\n", "version: v2.12.3\n");
});
hostile!(config_argocd_namespace_not_a_namespace_name, ["render"] => 2, |repo| {
    edit(&repo, "gitgen.yaml", "  namespace: argocd\n", "  namespace: Argo_CD\n");
});
hostile!(config_unknown_environment, ["--env", "kidn", "render"] => 2, |repo| {});
hostile!(config_environment_name_with_dot_dot, ["--env", "../../etc", "render"] => 2, |repo| {});
hostile!(config_environment_key_not_a_name, ["render"] => 2, |repo| {
    edit(&repo, "gitgen.yaml", "  kind:", "  ../kind:");
});
hostile!(enable_a_path, ["enable", "../../etc"] => 2, |repo| {});
hostile!(enable_a_stage_path, ["enable", "alpha", "--stage", "../../etc"] => 2, |repo| {});
hostile!(list_with_a_broken_lesson, ["list"] => 2, |repo| {
    write_bytes(&repo, ALPHA, b"\xfe\xff");
});

// Files that are not plain files, and inputs too large to be real.

hostile!(symlink_to_dev_zero_in_a_lesson, ["render"] => 2, |repo| {
    std::os::unix::fs::symlink("/dev/zero", repo.path().join("catalog/alpha/zero.yaml")).unwrap();
});
hostile!(catalog_folder_is_a_symlink, ["render"] => 2, |repo| {
    repo.remove("catalog");
    std::os::unix::fs::symlink("/etc", repo.path().join("catalog")).unwrap();
});
hostile!(config_is_a_symlink, ["render"] => 2, |repo| {
    repo.remove("gitgen.yaml");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("gitgen.yaml")).unwrap();
});
hostile!(config_over_1_mib, ["render"] => 2, |repo| {
    let text = repo.read("gitgen.yaml");
    repo.write("gitgen.yaml", &format!("{text}{}", "# padding\n".repeat(120_000)));
});
hostile!(config_repo_url_of_100_kb, ["render"] => 2, |repo| {
    let url = format!("https://github.com/{}/course.git", "a".repeat(100_000));
    edit(&repo, "gitgen.yaml", "https://github.com/example/course.git", &url);
});
hostile!(config_repo_url_of_10_mb, ["render"] => 2, |repo| {
    let url = format!("https://github.com/{}/course.git", "a".repeat(10_000_000));
    edit(&repo, "gitgen.yaml", "https://github.com/example/course.git", &url);
});
hostile!(toggle_over_4_mib, ["render"] => 2, |repo| {
    let text = repo.read(TOGGLE);
    repo.write(TOGGLE, &format!("{text}{}", "# padding\n".repeat(450_000)));
});

// Moving targets and ports.

hostile!(image_at_latest_without_a_reason, ["render"] => 2, |repo| {
    edit(&repo, POD, "jasonumiker/probe-test-app:{% if", "jasonumiker/probe-test-app{% if");
    edit(&repo, POD, "%}v2{% else %}v1{% endif %}", "%}:latest{% else %}:latest{% endif %}");
});
hostile!(image_at_latest_with_a_moving_target_without_why, ["render"] => 2, |repo| {
    edit(&repo, POD, "%}v2{% else %}v1{% endif %}", "%}latest{% else %}latest{% endif %}");
    let lesson = repo.read(ALPHA);
    repo.write(ALPHA, &format!("{lesson}moving_targets:\n  - ref: jasonumiker/probe-test-app:latest\n"));
});
hostile!(exposed_service_on_a_random_node_port, ["render"] => 2, |repo| {
    edit(&repo, "catalog/alpha/service.yaml", "      nodePort: {{ node_port(8000) }}\n", "");
});

// Links shown in the Argo CD UI (`links:`).

/// `alpha`'s manifests followed by a `links:` list holding `link`.
fn alpha_link(repo: &Repo, link: &str) {
    let text = repo.read(ALPHA);
    repo.write(ALPHA, &format!("{text}links:\n  - {link}\n"));
}
hostile!(link_title_with_a_bar, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: \"probe|app\", object: Service/probe-test-app, port: 8000, since: service}");
});
hostile!(link_titles_naming_one_annotation, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: Probe app, object: Service/probe-test-app, port: 8000, since: service}\n  - {title: probe-app, object: Service/probe-test-app, port: 8000, path: /x, since: service}");
});
hostile!(link_object_without_a_kind, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: app, object: probe-test-app, port: 8000}");
});
hostile!(link_path_without_a_slash, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: app, object: Service/probe-test-app, port: 8000, path: \"javascript:alert(1)\"}");
});
hostile!(link_at_a_stage_without_its_object, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: app, object: Service/probe-test-app, port: 8000}");
});
hostile!(link_to_a_port_the_course_does_not_use, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: app, object: Service/probe-test-app, port: 8080, since: service}");
});
hostile!(link_since_an_unknown_stage, ["render"] => 2, |repo| {
    alpha_link(&repo, "{title: app, object: Service/probe-test-app, port: 8000, since: svc}");
});
