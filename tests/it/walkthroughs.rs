//! Every walkthrough, in every environment and at every stage, sends the learner only to
//! ports that the same render serves: each `localhost:PORT` URL must be a LoadBalancer
//! port (Docker Desktop) or a pinned NodePort that the kind cluster configuration maps to
//! that port (kind), of the lesson or of a lesson it requires, or the local end of a
//! `kubectl port-forward` whose target and remote port exist.

use std::collections::{BTreeMap, BTreeSet};

use gitgen::catalog::LoadedLesson;
use gitgen::catalog::config::ServiceType;
use gitgen::catalog::toggle::{SelectedStage, Selection};
use gitgen::render::{RenderContext, bases, links, overlays};
use gitgen::settings::Settings;
use gitgen::workspace::Workspace;
use serde_json::Value;

use crate::support::Repo;

/// The localhost ports that `lesson` at stage `index` and the lessons it requires serve in
/// the environment, and the objects they render.
fn served_ports(ctx: &RenderContext<'_>, lesson: &LoadedLesson, index: usize) -> (BTreeSet<u16>, Vec<Value>) {
    let kind_map = kind_port_map(ctx);
    let mut objects = objects_of(lesson, index);
    let mut charts: Vec<(&LoadedLesson, usize)> = vec![(lesson, index)];
    for required in requirements(ctx, lesson) {
        let last = required.lesson.stages.len() - 1;
        objects.extend(objects_of(required, last));
        charts.push((required, last));
    }
    let mut served: BTreeSet<u16> = BTreeSet::new();
    for object in &objects {
        served.extend(ports_served_by(object, ctx.env.service_type, &kind_map));
    }
    for (owner, at) in charts {
        for chart in owner
            .lesson
            .charts
            .iter()
            .filter(|c| owner.in_stage(c.since.as_ref(), c.until.as_ref(), at))
        {
            let values = overlays::chart_values(ctx, owner, chart, at)
                .unwrap()
                .map(|v| v.text)
                .unwrap_or_default();
            for &port in &chart.ports {
                let pinned = match ctx.env.service_type {
                    ServiceType::LoadBalancer => true,
                    // The values must hold a NodePort that the kind configuration maps to it.
                    ServiceType::NodePort => kind_map
                        .iter()
                        .any(|(node, host)| *host == port && values.contains(&node.to_string())),
                };
                if pinned {
                    served.insert(port);
                }
            }
        }
    }
    (served, objects)
}

/// `(walkthrough line, port)` of every URL on localhost that nothing serves.
fn unserved_urls(ctx: &RenderContext<'_>, lesson: &LoadedLesson, index: usize) -> Vec<(String, u16)> {
    let (mut served, objects) = served_ports(ctx, lesson, index);
    let text = overlays::walkthrough(ctx, lesson, index).unwrap().contents;
    let mut unserved = Vec::new();
    let forward =
        regex::Regex::new(r"kubectl port-forward\s+(?:-n\s+(\S+)\s+)?(\w+)/([\w-]+)(?:\s+-n\s+(\S+))?\s+(\d+):(\d+)")
            .unwrap();
    for found in forward.captures_iter(&text) {
        let (kind, name) = (&found[2], &found[3]);
        let local: u16 = found[5].parse().unwrap();
        let remote: u16 = found[6].parse().unwrap();
        if !forward_target_listens(&objects, kind, name, remote) {
            unserved.push((
                format!("kubectl port-forward {kind}/{name} {local}:{remote} (no such target port)"),
                remote,
            ));
        }
        served.insert(local);
    }
    let url = regex::Regex::new(r"(https?)://localhost(?::(\d+))?").unwrap();
    for line in text.lines() {
        for found in url.captures_iter(line) {
            let port = found.get(2).map_or(if &found[1] == "https" { 443 } else { 80 }, |p| {
                p.as_str().parse().unwrap()
            });
            // `kubectl argo rollouts dashboard` serves its UI on the laptop itself.
            let local_tool = port == 3100 && line.contains("kubectl argo rollouts dashboard");
            // A URL used from a shell inside a Pod is that Pod's own localhost.
            let in_pod = line.contains("inside") && line.contains("curl");
            if !served.contains(&port) && !local_tool && !in_pod {
                unserved.push((line.trim().to_owned(), port));
            }
        }
    }
    unserved
}

/// The rendered objects of `lesson` at stage `index`.
fn objects_of(lesson: &LoadedLesson, index: usize) -> Vec<Value> {
    bases::emit_stage(lesson, index)
        .unwrap()
        .iter()
        .filter(|f| gitgen::render::holds_objects(&f.path))
        .flat_map(|f| -> Vec<Value> { gitgen::yaml::documents(&f.contents, f.path.as_ref()).unwrap() })
        .collect()
}

/// The lessons `lesson` requires, directly or not.
fn requirements<'a>(ctx: &RenderContext<'a>, lesson: &LoadedLesson) -> Vec<&'a LoadedLesson> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = lesson.lesson.requires.iter().map(|r| r.value.to_string()).collect();
    let mut found = Vec::new();
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            let required = ctx.catalog.lessons.values().find(|l| l.id().as_str() == id).unwrap();
            todo.extend(required.lesson.requires.iter().map(|r| r.value.to_string()));
            found.push(required);
        }
    }
    found
}

/// NodePort → localhost port, from the kind cluster configuration the environment's render
/// writes (empty where Services are LoadBalancers).
fn kind_port_map(ctx: &RenderContext<'_>) -> BTreeMap<u16, u16> {
    let files = overlays::emit(ctx).unwrap();
    let Some(file) = files
        .iter()
        .find(|f| f.path.ends_with(gitgen::layout::KIND_CLUSTER_FILE))
    else {
        return BTreeMap::new();
    };
    let config: Value = gitgen::yaml::from_str(&file.contents, file.path.as_ref()).unwrap();
    config["nodes"][0]["extraPortMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["containerPort"].as_u64().unwrap() as u16,
                m["hostPort"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

/// The localhost ports `object` serves in an environment of `service_type`.
fn ports_served_by(object: &Value, service_type: ServiceType, kind_map: &BTreeMap<u16, u16>) -> Vec<u16> {
    let number = |v: &Value| v.as_u64().map(|n| n as u16);
    let exposed = object["metadata"]["labels"]["gitgen.io/exposed"] == "true";
    match (object["kind"].as_str(), service_type) {
        (Some("Service"), ServiceType::LoadBalancer) if object["spec"]["type"] == "LoadBalancer" => {
            object["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| number(&p["port"]))
                .collect()
        }
        (Some("Service"), ServiceType::NodePort)
            if object["spec"]["type"] != "ClusterIP" && !object["spec"]["type"].is_null() =>
        {
            object["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| number(&p["nodePort"]).and_then(|n| kind_map.get(&n).copied()))
                .collect()
        }
        // Istio answers an exposed Gateway with a LoadBalancer Service on its listeners.
        (Some("Gateway"), ServiceType::LoadBalancer) if exposed => object["spec"]["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| number(&l["port"]))
            .collect(),
        // An Argo CD Application whose kustomize patch pins a NodePort of a Service that the
        // course's repository defines: the course's LoadBalancer port on Docker Desktop.
        (Some("Application"), _) => {
            let patches = object["spec"]["source"]["kustomize"]["patches"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let all_ports: BTreeMap<u16, u16> = gitgen::render::ports::NODE_PORTS
                .iter()
                .map(|(p, n)| (*n, *p))
                .collect();
            let map = if kind_map.is_empty() { &all_ports } else { kind_map };
            patches
                .iter()
                .filter_map(|p| p["patch"].as_str())
                .flat_map(|p| gitgen::yaml::from_str::<Vec<Value>>(p, "patch".as_ref()).unwrap())
                .filter(|op| op["path"].as_str().is_some_and(|p| p.ends_with("/nodePort")))
                .filter_map(|op| number(&op["value"]).and_then(|n| map.get(&n).copied()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Whether a port-forward to `kind/name` on `remote` reaches something: a rendered Service
/// port or container port, or the `argocd-server` Service of the Argo CD bootstrap installs.
fn forward_target_listens(objects: &[Value], kind: &str, name: &str, remote: u16) -> bool {
    let install = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/crds/argocd-install/install.yaml");
    let mut candidates: Vec<Value> = objects.to_vec();
    if name.starts_with("argocd-") {
        let text = fs_err::read_to_string(&install).unwrap();
        let documents: Vec<Value> = gitgen::yaml::documents(&text, install.as_ref()).unwrap();
        candidates.extend(documents);
    }
    let wanted_kind = match kind {
        "service" | "svc" => "Service",
        "pod" => "Pod",
        "deployment" | "deploy" => "Deployment",
        other => panic!("port-forward to an unknown kind `{other}`"),
    };
    candidates
        .iter()
        .filter(|o| o["kind"] == wanted_kind && o["metadata"]["name"] == name)
        .any(|o| {
            let ports: Vec<u64> = if wanted_kind == "Service" {
                o["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["port"].as_u64())
                    .collect()
            } else {
                let spec = if wanted_kind == "Pod" {
                    &o["spec"]
                } else {
                    &o["spec"]["template"]["spec"]
                };
                spec["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                    .filter_map(|p| p["containerPort"].as_u64())
                    .collect()
            };
            ports.contains(&u64::from(remote))
        })
}

#[test]
fn every_walkthrough_url_points_at_a_port_the_render_serves() {
    let repo = Repo::init();
    let mut unserved = Vec::new();
    for env in ["docker-desktop", "kind"] {
        let settings = Settings::resolve(Some(repo.path()), Some(env)).unwrap();
        let workspace = Workspace::open(settings).unwrap();
        let ctx = workspace.context();
        for lesson in ctx.catalog.lessons.values() {
            for (index, stage) in lesson.lesson.stages.iter().enumerate() {
                for (line, port) in unserved_urls(&ctx, lesson, index) {
                    unserved.push(format!("{env} {} {}: port {port}: {line}", lesson.id(), stage.name));
                }
            }
        }
    }
    assert!(unserved.is_empty(), "URLs nothing serves:\n{}", unserved.join("\n"));
}

#[test]
fn a_url_to_a_port_nothing_serves_is_caught() {
    let repo = Repo::init();
    let walkthrough = repo.path().join("catalog/jobs-cronjobs/README.md.j2");
    let text = fs_err::read_to_string(&walkthrough).unwrap();
    fs_err::write(&walkthrough, format!("{text}\nOpen http://{{{{ env.host }}}}:8000.\n")).unwrap();
    let settings = Settings::resolve(Some(repo.path()), Some("kind")).unwrap();
    let workspace = Workspace::open(settings).unwrap();
    let ctx = workspace.context();
    let lesson = ctx
        .catalog
        .lessons
        .values()
        .find(|l| l.id().as_str() == "jobs-cronjobs")
        .unwrap();
    let unserved = unserved_urls(&ctx, lesson, 0);
    assert_eq!(unserved.iter().map(|(_, p)| *p).collect::<Vec<_>>(), vec![8000]);
}

/// `(annotation key, value)` of every Argo CD UI link of `lesson` at stage `index`: those
/// its overlay patches onto its own objects and those its charts' values put on their
/// Services.
fn argocd_links(ctx: &RenderContext<'_>, lesson: &LoadedLesson, index: usize) -> Vec<(String, String)> {
    fn collect(value: &Value, found: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value.as_str() {
                        Some(text) if key.starts_with(links::LINK_ANNOTATION_PREFIX) => {
                            found.push((key.clone(), text.to_owned()))
                        }
                        _ => collect(value, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    // The overlay render writes with only this lesson enabled, at this stage.
    let stage = SelectedStage {
        name: lesson.lesson.stages[index].name.clone(),
        index,
    };
    let selection = Selection {
        lessons: BTreeMap::from([(lesson.id().clone(), stage)]),
    };
    let only_this = RenderContext {
        selection: &selection,
        ..*ctx
    };
    let files = overlays::emit(&only_this).unwrap();
    let kustomization = files
        .iter()
        .find(|f| {
            f.path
                == format!(
                    "{}/kustomization.yaml",
                    only_this.layout().overlay_dir(lesson.id().as_str())
                )
        })
        .expect("the lesson's overlay");
    let kustomization: Value = gitgen::yaml::from_str(&kustomization.contents, kustomization.path.as_ref()).unwrap();
    for patch in kustomization["patches"].as_array().into_iter().flatten() {
        let text = patch["patch"].as_str().unwrap();
        // JSON patches (the exposed Services' type) are lists; the links' patches objects.
        if let Ok(Value::Object(patch)) = gitgen::yaml::from_str::<Value>(text, "patch".as_ref()) {
            collect(&patch["metadata"]["annotations"], &mut found);
        }
    }
    for chart in lesson
        .lesson
        .charts
        .iter()
        .filter(|c| lesson.in_stage(c.since.as_ref(), c.until.as_ref(), index))
    {
        if let Some(values) = overlays::chart_values(ctx, lesson, chart, index).unwrap() {
            collect(&Value::Object(values.mapping), &mut found);
        }
    }
    found
}

/// Why an Argo CD UI link's annotation value is not `<title>|<url>` with a URL on the
/// environment's host at a port the stage serves (see `served_ports`) and that the
/// walkthrough sends the learner to, if it is not.
fn link_problem(value: &str, host: &str, served: &BTreeSet<u16>, walkthrough: &str) -> Option<String> {
    // Argo CD's UI splits at `|` and takes two parts as title and URL, any other count as
    // one URL (ui/src/app/applications/components/application-urls.tsx, ExternalLink).
    let [title, url] = value.split('|').collect::<Vec<_>>()[..] else {
        return Some("not `<title>|<url>`".to_owned());
    };
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(err) => return Some(format!("`{url}` is not a URL: {err}")),
    };
    let scheme = uri.scheme_str().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    if title.trim().is_empty() {
        Some("an empty title".to_owned())
    } else if !["http", "https"].contains(&scheme) {
        // Argo CD v3.5.1 drops any other scheme (util/settings/settings.go, ValidateExternalURL).
        Some(format!("`{url}` is not http or https"))
    } else if uri.host() != Some(host) {
        Some(format!("`{url}` is not on the environment's host `{host}`"))
    } else if !served.contains(&port) {
        Some(format!("`{url}`: nothing serves port {port}"))
    } else if !walkthrough.contains(url.trim_end_matches('/')) {
        Some(format!("`{url}` is nowhere in the walkthrough"))
    } else {
        None
    }
}

#[test]
fn every_argo_cd_ui_link_is_a_well_formed_url_the_stage_serves_and_its_walkthrough_opens() {
    let repo = Repo::init();
    let mut problems = Vec::new();
    let mut titles = BTreeSet::new();
    for env in ["docker-desktop", "kind"] {
        let settings = Settings::resolve(Some(repo.path()), Some(env)).unwrap();
        let workspace = Workspace::open(settings).unwrap();
        let ctx = workspace.context();
        for lesson in ctx.catalog.lessons.values() {
            for (index, stage) in lesson.lesson.stages.iter().enumerate() {
                let links = argocd_links(&ctx, lesson, index);
                if links.is_empty() {
                    continue;
                }
                let (served, _) = served_ports(&ctx, lesson, index);
                let walkthrough = overlays::walkthrough(&ctx, lesson, index).unwrap().contents;
                for (key, value) in links {
                    assert_eq!(gitgen::catalog::labels::key_problem(&key), None, "{key}");
                    if let Some(problem) = link_problem(&value, &ctx.env.host, &served, &walkthrough) {
                        problems.push(format!("{env} {} {}: {key}: {problem}", lesson.id(), stage.name));
                    }
                    titles.insert(value.split('|').next().unwrap().to_owned());
                }
            }
        }
    }
    assert!(problems.is_empty(), "links that lead nowhere:\n{}", problems.join("\n"));
    for title in [
        "probe-test-app",
        "Grafana",
        "Prometheus",
        "Kiali",
        "RabbitMQ management",
        "Bookinfo product page",
    ] {
        assert!(titles.contains(title), "no link titled {title}: {titles:?}");
    }
}

#[test]
fn a_link_that_leads_nowhere_is_caught() {
    let served = BTreeSet::from([8000]);
    let walkthrough = "Open http://localhost:8000 and http://localhost:9999.";
    assert_eq!(
        link_problem("app|http://localhost:8000/", "localhost", &served, walkthrough),
        None
    );
    for bad in [
        "http://localhost:8000/",
        "a|b|http://localhost:8000/",
        " |http://localhost:8000/",
        "app|javascript:alert(1)",
        "app|http://other:8000/",
        "app|http://localhost:9999/",
        "app|http://localhost:8000/elsewhere",
        "app|http://local host:8000/",
    ] {
        assert!(link_problem(bad, "localhost", &served, walkthrough).is_some(), "{bad}");
    }
}
