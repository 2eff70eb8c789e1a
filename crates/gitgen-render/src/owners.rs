//! One owner per object: in an environment, no object (cluster, group, kind, namespace,
//! name) is applied by two Applications, nor twice by one.
//!
//! Two Applications that apply one object take turns overwriting it: Argo CD reports a
//! `SharedResourceWarning` and, with self-heal, they flip it forever (the gitops-engine
//! tracking annotation names one Application at a time). So [`check`] reads what the
//! environment's render hands Argo CD before anything is written: `root.yaml` (applied by
//! `gitgen bootstrap`), every object of `argocd/<env>/apps/` (the root's), the Applications
//! each ApplicationSet generates (by its name template), the patch of Argo CD's own
//! install, and each enabled lesson's objects as its Application deploys them, Argo CD
//! objects a lesson creates itself included. A classroom's lessons count at every stage
//! (a learner may be held at any), their Argo CD objects where Argo CD runs and named per
//! learner ([`super::classroom`]), the rest in each learner's cluster.
//!
//! It does not see what gitgen does not render: the objects of charts (Helm renders them)
//! and of a Kustomize tree a lesson ships (`kustomize build` composes them), nor what the
//! Applications a lesson creates deploy from other repositories.

use std::collections::BTreeMap;

use serde_json::Value;

use super::application::IN_CLUSTER;
use super::bases::SourcedObject;
use super::policy::{is_cluster_scoped, object_id};
use super::{RenderContext, RenderError, RenderedFile};
use gitgen_catalog::LoadedLesson;
use gitgen_catalog::classroom::{self, LEARNER_CLUSTER};
use gitgen_catalog::config::Target;
use gitgen_validate::kinds::{api_group, is_known_cluster_kind};

/// The cluster an object is applied to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cluster {
    /// One cluster, by API server URL.
    Server(String),
    /// Each learner's cluster of a classroom: every learner gets the same objects.
    EachLearner,
}

/// An object's name: exact, or one per learner of a classroom.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Name {
    /// One name.
    Exact(String),
    /// `<prefix><learner cluster>` for each learner cluster `<env>-<learner>`: what an
    /// ApplicationSet's `<stem>-{{ .name }}` generates.
    PerLearner(String),
}

impl Name {
    /// The name as a classroom's name template writes it, or exactly.
    fn from_template(text: &str) -> Name {
        match text.strip_suffix(LEARNER_CLUSTER) {
            Some(prefix) => Name::PerLearner(prefix.to_owned()),
            None => Name::Exact(text.to_owned()),
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Exact(name) => f.write_str(name),
            Name::PerLearner(prefix) => write!(f, "{prefix}<env>-<learner>"),
        }
    }
}

/// What makes two objects one in Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    /// Where it is applied.
    pub cluster: Cluster,
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`""` for a cluster-scoped kind).
    pub namespace: String,
    /// Name.
    pub name: Name,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.group, self.kind)
        };
        let cluster = match &self.cluster {
            Cluster::Server(server) => format!("cluster `{server}`"),
            Cluster::EachLearner => "each learner's cluster".to_owned(),
        };
        match self.namespace.as_str() {
            "" => write!(f, "{kind} `{}` in {cluster}", self.name),
            ns => write!(f, "{kind} `{ns}/{}` in {cluster}", self.name),
        }
    }
}

/// One object as one owner applies it.
#[derive(Debug, Clone)]
struct Claim {
    identity: Identity,
    /// Who applies it: `Application \`x\``, `gitgen bootstrap`.
    owner: String,
    /// The file it comes from.
    source: String,
    /// The stage, for a lesson whose stages are all counted: one Application runs one
    /// stage at a time, so the same object at two stages is not two objects.
    stage: Option<String>,
}

impl Claim {
    /// Whether `self` and `other`, of one identity, are two objects.
    fn clashes_with(&self, other: &Claim) -> bool {
        self.owner != other.owner || self.stage == other.stage
    }
}

/// Refuses the environment when two of the objects its render hands Argo CD have one
/// identity. `files` are the environment's rendered overlays and bundle.
pub fn check(ctx: &RenderContext<'_>, files: &[RenderedFile]) -> Result<(), RenderError> {
    let claims = claims(ctx, files)?;
    match first_clash(&claims, ctx.env_name.as_str()) {
        None => Ok(()),
        Some((first, second, example)) => Err(RenderError::SharedObject {
            env: ctx.env_name.to_string(),
            identity: first.identity.to_string(),
            first: first.source.clone(),
            first_owner: first.owner.clone(),
            second: second.source.clone(),
            second_owner: second.owner.clone(),
            example,
        }),
    }
}

/// Every object the environment hands Argo CD, with its owner and source.
fn claims(ctx: &RenderContext<'_>, files: &[RenderedFile]) -> Result<Vec<Claim>, RenderError> {
    let layout = ctx.layout();
    let argocd_ns = ctx.config.argocd.namespace.as_str();
    let apps_dir = format!("{}/", layout.apps_dir());
    let install_dir = format!("{}/", layout.install_dir());
    let root = super::application::scoped(ctx, classroom::ROOT_APP);
    let self_app = super::application::scoped(ctx, super::argocd::SELF_APP);
    let management = Cluster::Server(IN_CLUSTER.to_owned());
    let mut claims = Vec::new();
    for file in files.iter().filter(|f| super::holds_objects(&f.path)) {
        let owner = if file.path == layout.root_application() {
            "`gitgen bootstrap`".to_owned()
        } else if file.path.starts_with(&apps_dir) {
            format!("Application `{root}`")
        } else if file.path.starts_with(&install_dir) {
            format!("Application `{self_app}`")
        } else {
            continue;
        };
        let object: Value = gitgen_yaml::from_str(&file.contents, file.path.as_ref())
            .map_err(|err| unreadable(&file.path, &err.message))?;
        let identity = identity(&object, &management, argocd_ns, |_, _| false)
            .ok_or_else(|| unreadable(&file.path, "no apiVersion, kind or metadata.name"))?;
        if identity.kind == "ApplicationSet" && identity.group == gitgen_validate::kinds::ARGOCD_GROUP {
            // What it generates: one Application per selected cluster, by its name template.
            let name = object
                .pointer("/spec/template/metadata/name")
                .and_then(Value::as_str)
                .ok_or_else(|| unreadable(&file.path, "an ApplicationSet without a template name"))?;
            claims.push(Claim {
                identity: Identity {
                    kind: "Application".to_owned(),
                    name: Name::from_template(name),
                    ..identity.clone()
                },
                owner: format!("ApplicationSet `{}`", identity.name),
                source: file.path.clone(),
                stage: None,
            });
        }
        claims.push(Claim {
            identity,
            owner,
            source: file.path.clone(),
            stage: None,
        });
    }
    for (id, stage) in &ctx.selection.lessons {
        let lesson = &ctx.catalog.lessons[id];
        match ctx.env.target() {
            Target::Cluster(server) => {
                let owner = format!("Application `{id}`");
                let cluster = Cluster::Server(server.to_owned());
                for object in ctx.stage_objects.get(lesson, stage.index)?.iter() {
                    claims.push(lesson_claim(lesson, object, &cluster, owner.clone(), None)?);
                }
            }
            Target::Classroom(_) => {
                let generated = |stem: &str| {
                    let name = Name::from_template(&classroom::generated_name(stem, LEARNER_CLUSTER));
                    format!("Application `{name}`")
                };
                let learners_owner = generated(id.as_str());
                let argocd_owner = generated(&classroom::argocd_part_stem(id.as_str()));
                for (index, stage) in lesson.lesson.stages.iter().enumerate() {
                    for object in ctx.stage_objects.get(lesson, index)?.iter() {
                        let group = object.object["apiVersion"].as_str().map_or("", api_group);
                        let kind = object.object["kind"].as_str().unwrap_or_default();
                        let claim = if gitgen_validate::kinds::runs_with_argocd(group, kind) {
                            let mut claim = lesson_claim(
                                lesson,
                                object,
                                &management,
                                argocd_owner.clone(),
                                Some(stage.name.to_string()),
                            )?;
                            if let Name::Exact(name) = &claim.identity.name {
                                claim.identity.name = Name::from_template(&classroom::per_learner_name(name));
                            }
                            claim
                        } else {
                            lesson_claim(
                                lesson,
                                object,
                                &Cluster::EachLearner,
                                learners_owner.clone(),
                                Some(stage.name.to_string()),
                            )?
                        };
                        claims.push(claim);
                    }
                }
            }
        }
    }
    Ok(claims)
}

/// The claim of `lesson`'s Application (`owner`) on one of its objects in `cluster`.
fn lesson_claim(
    lesson: &LoadedLesson,
    sourced: &SourcedObject,
    cluster: &Cluster,
    owner: String,
    stage: Option<String>,
) -> Result<Claim, RenderError> {
    let scoped = |group: &str, kind: &str| is_cluster_scoped(lesson, group, kind);
    let identity = identity(&sourced.object, cluster, &lesson.lesson.namespace, scoped)
        .ok_or_else(|| unreadable(&sourced.source, "no apiVersion, kind or metadata.name"))?;
    Ok(Claim {
        identity,
        owner,
        source: sourced.source.clone(),
        stage,
    })
}

/// An object's identity in `cluster`: a namespaced object without a namespace is in the
/// Application's destination namespace (`default_ns`), as Argo CD applies it.
fn identity(
    object: &Value,
    cluster: &Cluster,
    default_ns: &str,
    declared_cluster_scoped: impl Fn(&str, &str) -> bool,
) -> Option<Identity> {
    let id = object_id(object).ok()?;
    let group = api_group(id.api_version);
    let cluster_scoped = is_known_cluster_kind(group, id.kind) || declared_cluster_scoped(group, id.kind);
    Some(Identity {
        cluster: cluster.clone(),
        group: group.to_owned(),
        kind: id.kind.to_owned(),
        namespace: match cluster_scoped {
            true => String::new(),
            false => id.namespace.unwrap_or(default_ns).to_owned(),
        },
        name: Name::from_template(id.name),
    })
}

/// A file render wrote that does not read back as objects: a bug in gitgen.
fn unreadable(path: &str, what: &str) -> RenderError {
    RenderError::Output {
        path: path.into(),
        line: None,
        stage: String::new(),
        what: format!("an object gitgen cannot read back ({what})"),
        hint: None,
    }
}

/// The first two claims that are one object, and a name both take when they differ in
/// how they are written (a per-learner name and another).
fn first_clash<'a>(claims: &'a [Claim], env: &str) -> Option<(&'a Claim, &'a Claim, Option<String>)> {
    type Place<'a> = (&'a Cluster, &'a str, &'a str, &'a str);
    // By place: the claims on each exact name, and the per-learner names.
    type Claims<'a> = (BTreeMap<&'a str, Vec<&'a Claim>>, Vec<&'a Claim>);
    let mut places: BTreeMap<Place<'a>, Claims<'a>> = BTreeMap::new();
    for claim in claims {
        let i = &claim.identity;
        let (exact, per_learner) = places
            .entry((&i.cluster, i.group.as_str(), i.kind.as_str(), i.namespace.as_str()))
            .or_default();
        match &i.name {
            Name::Exact(name) => {
                let known = exact.entry(name.as_str()).or_default();
                if let Some(first) = known.iter().find(|known| known.clashes_with(claim)) {
                    return Some((first, claim, None));
                }
                known.push(claim);
            }
            Name::PerLearner(_) => per_learner.push(claim),
        }
    }
    for (exact, mut per_learner) in places.into_values() {
        for claim in &per_learner {
            let Name::PerLearner(prefix) = &claim.identity.name else {
                continue;
            };
            let clash = exact
                .range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded))
                .take_while(|(name, _)| name.starts_with(prefix.as_str()))
                .filter(|(name, _)| is_learner_cluster(&name[prefix.len()..], env))
                .find_map(|(name, known)| Some((*name, *known.iter().find(|k| k.clashes_with(claim))?)));
            if let Some((name, known)) = clash {
                return Some((known, claim, Some(name.to_owned())));
            }
        }
        per_learner.sort_by(|a, b| a.identity.name.cmp(&b.identity.name));
        for (index, claim) in per_learner.iter().enumerate() {
            let Name::PerLearner(prefix) = &claim.identity.name else {
                continue;
            };
            for other in &per_learner[index + 1..] {
                let Name::PerLearner(longer) = &other.identity.name else {
                    continue;
                };
                let Some(rest) = longer.strip_prefix(prefix.as_str()) else {
                    break;
                };
                // `<prefix><cluster A>` is `<prefix><rest><cluster B>` when `<rest><cluster B>`
                // is a learner cluster's name too; every cluster B gives the same answer.
                let cluster_b = format!("{env}-a");
                let cluster_a = format!("{rest}{cluster_b}");
                if is_learner_cluster(&cluster_a, env) && claim.clashes_with(other) {
                    return Some((claim, other, Some(format!("{prefix}{cluster_a}"))));
                }
            }
        }
    }
    None
}

/// Whether `name` can be the name of a learner cluster of classroom `env`:
/// `<env>-<learner>`, the learner a DNS label (what `gitgen classroom add` registers).
fn is_learner_cluster(name: &str, env: &str) -> bool {
    name.strip_prefix(env)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|learner| {
            !learner.is_empty()
                && learner
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !learner.starts_with('-')
                && !learner.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync_model::{course, every_lesson};

    fn claim(cluster: Cluster, kind: &str, namespace: &str, name: Name, owner: &str, stage: Option<&str>) -> Claim {
        Claim {
            identity: Identity {
                cluster,
                group: "argoproj.io".into(),
                kind: kind.into(),
                namespace: namespace.into(),
                name,
            },
            owner: owner.into(),
            source: format!("{owner}.yaml"),
            stage: stage.map(str::to_owned),
        }
    }

    fn in_cluster() -> Cluster {
        Cluster::Server(IN_CLUSTER.into())
    }

    fn exact(name: &str) -> Name {
        Name::Exact(name.into())
    }

    fn per_learner(prefix: &str) -> Name {
        Name::PerLearner(prefix.into())
    }

    /// The owners of the first clash of `claims` in classroom `classroom`, and the name both take.
    fn clash(claims: &[Claim]) -> Option<(String, String, Option<String>)> {
        first_clash(claims, "classroom").map(|(a, b, example)| (a.owner.clone(), b.owner.clone(), example))
    }

    #[test]
    fn two_owners_of_one_object_clash_and_the_first_is_named_first() {
        let claims = [
            claim(in_cluster(), "Application", "argocd", exact("keda"), "root", None),
            claim(
                in_cluster(),
                "Application",
                "argocd",
                exact("argo-rollouts"),
                "root",
                None,
            ),
            claim(
                in_cluster(),
                "Application",
                "argocd",
                exact("argo-rollouts"),
                "argocd",
                None,
            ),
        ];
        assert_eq!(clash(&claims), Some(("root".into(), "argocd".into(), None)));
    }

    #[test]
    fn one_name_in_another_namespace_kind_or_cluster_is_another_object() {
        let claims = [
            claim(in_cluster(), "Application", "argocd", exact("a"), "one", None),
            claim(in_cluster(), "Application", "other", exact("a"), "two", None),
            claim(in_cluster(), "AppProject", "argocd", exact("a"), "three", None),
            claim(Cluster::EachLearner, "Application", "argocd", exact("a"), "four", None),
            claim(
                Cluster::Server("https://elsewhere:6443".into()),
                "Application",
                "argocd",
                exact("a"),
                "five",
                None,
            ),
        ];
        assert_eq!(clash(&claims), None);
    }

    #[test]
    fn one_owner_applies_an_object_once_per_stage_and_twice_in_one_stage_is_a_clash() {
        let at = |stage: &str| {
            claim(
                Cluster::EachLearner,
                "Application",
                "argocd",
                exact("a"),
                "lesson",
                Some(stage),
            )
        };
        assert_eq!(clash(&[at("one"), at("two")]), None);
        assert_eq!(
            clash(&[at("one"), at("two"), at("two")]),
            Some(("lesson".into(), "lesson".into(), None))
        );
    }

    #[test]
    fn a_per_learner_name_clashes_with_an_exact_name_it_can_take() {
        let generated = claim(in_cluster(), "Application", "argocd", per_learner("keda-"), "set", None);
        let exact_claim = |name: &str| claim(in_cluster(), "Application", "argocd", exact(name), "root", None);
        assert_eq!(
            clash(&[exact_claim("keda-classroom-alice"), generated.clone()]),
            Some(("root".into(), "set".into(), Some("keda-classroom-alice".into())))
        );
        // Not a learner cluster of this classroom: another environment's, or no learner.
        for name in ["keda-other-alice", "keda-classroom-", "keda-classroom--x", "keda"] {
            assert_eq!(clash(&[exact_claim(name), generated.clone()]), None, "{name}");
        }
    }

    #[test]
    fn two_per_learner_names_clash_when_one_learner_cluster_can_complete_the_other() {
        let set =
            |prefix: &str, owner: &str| claim(in_cluster(), "Application", "argocd", per_learner(prefix), owner, None);
        // `a-` + `classroom-b-classroom-a` is `a-classroom-b-` + `classroom-a`.
        assert_eq!(
            clash(&[set("a-", "one"), set("a-classroom-b-", "two")]),
            Some(("one".into(), "two".into(), Some("a-classroom-b-classroom-a".into())))
        );
        // One prefix: the same name for the same learner.
        assert_eq!(
            clash(&[set("a-", "one"), set("a-", "two")]),
            Some(("one".into(), "two".into(), Some("a-classroom-a".into())))
        );
        // A learner cluster starts with `classroom-`: `controller-…` is none.
        assert_eq!(
            clash(&[set("argo-rollouts-", "one"), set("argo-rollouts-controller-", "two")]),
            None
        );
        assert_eq!(clash(&[set("a-", "one"), set("b-", "two")]), None);
    }

    #[test]
    fn a_namespaced_object_without_a_namespace_is_in_the_destination_namespace_and_a_cluster_one_in_none() {
        let never = |_: &str, _: &str| false;
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let id = identity(&config_map, &in_cluster(), "web", never).unwrap();
        assert_eq!((id.group.as_str(), id.namespace.as_str()), ("", "web"));
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}});
        assert_eq!(identity(&role, &in_cluster(), "web", never).unwrap().namespace, "");
        let declared = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        assert_eq!(
            identity(&declared, &in_cluster(), "web", |_, k| k == "Widget")
                .unwrap()
                .namespace,
            ""
        );
        assert_eq!(
            identity(&declared, &in_cluster(), "web", never).unwrap().to_string(),
            "example.com/Widget `web/w` in cluster `https://kubernetes.default.svc`"
        );
    }

    #[test]
    fn the_course_with_every_lesson_enabled_has_one_owner_per_object_in_every_environment() {
        let (catalog, config) = course();
        for (env_name, env) in &config.environments {
            let selection = every_lesson(&catalog, env_name);
            assert!(selection.lessons.len() >= 20, "{env_name}");
            let ctx = RenderContext {
                catalog: &catalog,
                config: &config,
                env_name,
                env,
                selection: &selection,
                stage_objects: &Default::default(),
            };
            if let Err(error) = super::super::environment(&ctx) {
                panic!("{env_name}: {error}");
            }
        }
    }
}
