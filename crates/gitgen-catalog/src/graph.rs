//! The rules that span lessons, checked once the whole catalog is read: `requires` and
//! `conflicts` name lessons that exist, `requires` has no cycle, and each namespace and
//! Argo CD project has one owner. The rules of one lesson are in [`super::check`].

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Location;

use super::check::{place, place_near};
use super::{Catalog, CatalogError, LoadedLesson, ProjectOwner, reserved_namespace_owner};
use gitgen_base::names::LessonId;

impl Catalog {
    /// Checks what spans lessons.
    pub(super) fn check_graph(&self) -> Result<(), CatalogError> {
        self.check_references()?;
        self.check_cycles()?;
        self.check_ownership()
    }

    /// Each lesson that `requires` and `conflicts` name exists.
    fn check_references(&self) -> Result<(), CatalogError> {
        for loaded in self.lessons.values() {
            for (j, required) in loaded.lesson.requires.iter().enumerate() {
                if !self.lessons.contains_key(&required.value) {
                    let location = loaded.lesson.locate(|l| l.requires.get(j).map(|r| r.referenced));
                    return Err(self.no_such_lesson(loaded, &required.value, "requires", location));
                }
            }
            for (j, conflict) in loaded.lesson.conflicts.iter().enumerate() {
                if !self.lessons.contains_key(&conflict.lesson.value) {
                    let location = loaded
                        .lesson
                        .locate(|l| l.conflicts.get(j).map(|c| c.lesson.referenced));
                    return Err(self.no_such_lesson(loaded, &conflict.lesson.value, "conflicts", location));
                }
            }
        }
        Ok(())
    }

    /// `loaded` names `other` under `field`, and no lesson is called that.
    fn no_such_lesson(
        &self,
        loaded: &LoadedLesson,
        other: &LessonId,
        field: &str,
        location: Option<Location>,
    ) -> CatalogError {
        CatalogError::UnknownLesson {
            at: place(loaded, location, field),
            lesson: other.clone(),
            closest: self.closest(other.as_str()).cloned(),
        }
    }

    /// Refuses cycles in `requires`.
    fn check_cycles(&self) -> Result<(), CatalogError> {
        let mut done: BTreeSet<&LessonId> = BTreeSet::new();
        for id in self.lessons.keys() {
            self.visit(id, &mut done, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Walks what `id` requires depth first; `path` is the chain that led to it, so
    /// meeting a lesson already on it is a cycle.
    fn visit<'a>(
        &'a self,
        id: &'a LessonId,
        done: &mut BTreeSet<&'a LessonId>,
        path: &mut Vec<&'a LessonId>,
    ) -> Result<(), CatalogError> {
        if done.contains(id) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|p| *p == id) {
            let cycle: Vec<LessonId> = path[start..].iter().copied().chain([id]).cloned().collect();
            let first = &self.lessons[path[start]];
            let next = path[(start + 1).min(path.len() - 1)];
            let location = first.lesson.locate(|l| {
                l.requires
                    .iter()
                    .find(|r| &r.value == next || &r.value == id)
                    .map(|r| r.referenced)
            });
            return Err(CatalogError::RequiresCycle {
                at: place(first, location, "requires"),
                cycle,
            });
        }
        path.push(id);
        for required in &self.lessons[id].lesson.requires {
            self.visit(&required.value, done, path)?;
        }
        path.pop();
        done.insert(id);
        Ok(())
    }

    /// Each namespace is created by one lesson and written into only by it and the lessons
    /// that require it; the namespaces of Argo CD, gitgen and Kubernetes are no lesson's.
    /// Each Argo CD project a lesson declares is its alone.
    fn check_ownership(&self) -> Result<(), CatalogError> {
        let mut owners: BTreeMap<&str, &LessonId> = BTreeMap::new();
        let mut projects: BTreeMap<&str, &LessonId> = BTreeMap::new();
        for (id, loaded) in &self.lessons {
            claim_namespaces(id, loaded, &mut owners)?;
            self.claim_projects(id, loaded, &mut projects)?;
        }
        for (id, loaded) in &self.lessons {
            self.check_namespace_use(id, loaded, &owners)?;
            check_system_namespaces(loaded)?;
        }
        Ok(())
    }

    /// Records `id` as the owner of the Argo CD projects it declares, refusing a name
    /// that is not valid, is gitgen's, a lesson's, or already claimed.
    fn claim_projects<'a>(
        &self,
        id: &'a LessonId,
        loaded: &'a LoadedLesson,
        projects: &mut BTreeMap<&'a str, &'a LessonId>,
    ) -> Result<(), CatalogError> {
        let declared = loaded.lesson.argocd_objects.iter().flat_map(|a| a.projects.iter());
        for (i, project) in declared.enumerate() {
            let owner = match LessonId::new(project.clone()) {
                Err(_) => Some(ProjectOwner::Nobody),
                Ok(_) if project == "default" || project.starts_with("gitgen") => Some(ProjectOwner::Gitgen),
                Ok(lesson) if self.lessons.contains_key(&lesson) => Some(ProjectOwner::Lesson(lesson)),
                Ok(_) => projects
                    .insert(project, id)
                    .map(|other| ProjectOwner::Lesson(other.clone())),
            };
            if let Some(owner) = owner {
                return Err(CatalogError::ProjectTaken {
                    at: place_near(loaded, ("projects", project), &format!("argocd_objects.projects[{i}]")),
                    project: project.clone(),
                    owner,
                });
            }
        }
        Ok(())
    }

    /// Every namespace lesson `id` puts objects in (its default, those it creates or uses,
    /// its charts' and its Secrets') is not reserved, and is its own or a required
    /// lesson's.
    fn check_namespace_use(
        &self,
        id: &LessonId,
        loaded: &LoadedLesson,
        owners: &BTreeMap<&str, &LessonId>,
    ) -> Result<(), CatalogError> {
        let l = &loaded.lesson;
        let required = self.closure(id);
        let mut used: Vec<(&str, String, &str)> = vec![("namespace", "namespace".to_owned(), l.namespace.as_str())];
        used.extend(
            l.namespaces
                .iter()
                .enumerate()
                .map(|(i, ns)| ("namespaces", format!("namespaces[{i}].name"), ns.name.as_str())),
        );
        used.extend(
            l.uses_namespaces
                .iter()
                .enumerate()
                .map(|(i, ns)| ("uses_namespaces", format!("uses_namespaces[{i}]"), ns.as_str())),
        );
        used.extend(
            l.charts
                .iter()
                .enumerate()
                .map(|(i, c)| ("charts", format!("charts[{i}].namespace"), c.namespace.as_str())),
        );
        used.extend(l.cluster_secrets.iter().enumerate().map(|(i, c)| {
            (
                "cluster_secrets",
                format!("cluster_secrets[{i}].namespace"),
                c.namespace.as_str(),
            )
        }));
        for (key, field, ns) in used {
            if let Some(owner) = reserved_namespace_owner(ns, &loaded.argocd_namespace) {
                return Err(CatalogError::ReservedNamespace {
                    at: place_near(loaded, (key, ns), &field),
                    namespace: ns.to_owned(),
                    owner,
                });
            }
            match owners.get(ns) {
                Some(owner) if *owner == id || required.contains(*owner) => {}
                Some(owner) => {
                    return Err(CatalogError::NamespaceNotRequired {
                        at: place_near(loaded, (key, ns), &field),
                        namespace: ns.to_owned(),
                        owner: (*owner).clone(),
                    });
                }
                None => {
                    return Err(CatalogError::NamespaceUncreated {
                        at: place_near(loaded, (key, ns), &field),
                        namespace: ns.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Records `id` as the creator of the namespaces it lists, refusing one already created
/// by another lesson.
fn claim_namespaces<'a>(
    id: &'a LessonId,
    loaded: &'a LoadedLesson,
    owners: &mut BTreeMap<&'a str, &'a LessonId>,
) -> Result<(), CatalogError> {
    for (i, ns) in loaded.lesson.namespaces.iter().enumerate() {
        if let Some(other) = owners.insert(&ns.name, id) {
            return Err(CatalogError::NamespaceTaken {
                at: place_near(loaded, ("namespaces", &ns.name), &format!("namespaces[{i}].name")),
                namespace: ns.name.clone(),
                other: other.clone(),
            });
        }
    }
    Ok(())
}

/// Each Kubernetes namespace a lesson's charts may write into is one of Kubernetes' own,
/// with the reason.
fn check_system_namespaces(loaded: &LoadedLesson) -> Result<(), CatalogError> {
    for (i, system) in loaded.lesson.system_namespaces.iter().enumerate() {
        if !matches!(system.name.as_str(), "kube-system" | "kube-public" | "kube-node-lease")
            || system.why.trim().is_empty()
        {
            return Err(CatalogError::SystemNamespace {
                at: place_near(
                    loaded,
                    ("system_namespaces", &system.name),
                    &format!("system_namespaces[{i}]"),
                ),
                name: system.name.clone(),
            });
        }
    }
    Ok(())
}
