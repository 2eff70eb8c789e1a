//! The classroom contract: the names a classroom environment's objects share between
//! `render`, which writes them into the ApplicationSets and AppProjects, and `cluster`,
//! which registers learners and reads their Applications back. The label keys of that
//! contract are in [`super::labels`]; this module owns the names built from them.
//!
//! A learner `alice` of classroom `spring` is the Argo CD cluster `spring-alice`, whose
//! Secret is `gitgen-cluster-spring-alice`; each Application a lesson's ApplicationSets
//! generate for her is `<stem>-spring-alice`, and the classroom's own objects in Argo CD
//! are `spring-<name>` (its root Application `spring-gitgen-root`). Both sides build
//! those names here, so they can never disagree.

use super::LoadedLesson;
use super::labels::MAX_LABEL_VALUE;
use super::lesson::Chart;
use super::names::{EnvName, LessonId};

/// The root Application's name (in a classroom, scoped by [`classroom_scoped`]).
pub const ROOT_APP: &str = "gitgen-root";

/// `name` of classroom environment `env`'s own object in Argo CD's namespace (its root
/// Application is `<env>-gitgen-root`): a classroom shares its Argo CD with others.
pub fn classroom_scoped(env: &str, name: &str) -> String {
    format!("{env}-{name}")
}

/// The generated Application's destination: the cluster generator's `name` parameter, the
/// `name` of the cluster Secret (`<env>-<learner>`).
pub const LEARNER_CLUSTER: &str = "{{ .name }}";

/// The stem of the Applications that carry a lesson's own Argo CD objects
/// (`argocd_objects` in lesson.yaml) where Argo CD runs, one per learner.
pub fn argocd_part_stem(lesson: &str) -> String {
    format!("{lesson}-argocd")
}

/// The name, per learner, of one of a lesson's own Argo CD objects, as a name template:
/// `<name>-<env>-<learner>`, what the kustomize `nameSuffix` of [`argocd_part_stem`]'s
/// Application makes of it. A class shares one Argo CD, so each learner's copy needs a
/// name of its own, and the environment in it keeps two classrooms apart.
pub fn per_learner_name(name: &str) -> String {
    generated_name(name, LEARNER_CLUSTER)
}

/// The longest name of a generated Application: Argo CD tracking by label (before the first
/// sync under gitgen's annotation tracking) writes it into a label value, whose limit a DNS
/// label shares.
pub const MAX_APPLICATION_NAME: usize = MAX_LABEL_VALUE;

/// The names of the Applications a lesson's ApplicationSets generate for cluster `<env>-<learner>`:
/// `<stem>-<env>-<learner>`, where a stem is the lesson's Application name in a single-cluster
/// environment (`<lesson>`, and `<lesson>-<chart>` for each chart).
pub fn application_stems(lesson: &LoadedLesson) -> impl Iterator<Item = String> + '_ {
    let id = lesson.id().as_str();
    let argocd_part = lesson.lesson.argocd_objects.as_ref().map(|_| argocd_part_stem(id));
    std::iter::once(id.to_owned())
        .chain(argocd_part)
        .chain(lesson.lesson.charts.iter().map(move |chart| chart_stem(id, chart)))
}

/// A chart's Application name in a single-cluster environment, the stem of those generated
/// from it.
pub fn chart_stem(lesson: &str, chart: &Chart) -> String {
    format!("{lesson}-{}", chart.name)
}

/// The Application generated from `stem` for learner cluster `cluster` (`<env>-<learner>`).
pub fn generated_name(stem: &str, cluster: &str) -> String {
    format!("{stem}-{cluster}")
}

/// The longest Application stem of `lessons`, with its lesson: what bounds the length of a
/// learner's name (the first of equals, in catalog order).
pub fn longest_stem<'a>(lessons: impl IntoIterator<Item = &'a LoadedLesson>) -> Option<(String, &'a LessonId)> {
    let mut longest: Option<(String, &LessonId)> = None;
    for lesson in lessons {
        for stem in application_stems(lesson) {
            if longest.as_ref().is_none_or(|(known, _)| stem.len() > known.len()) {
                longest = Some((stem, lesson.id()));
            }
        }
    }
    longest
}

/// How long a learner's name may be in environment `env` so that `stem`'s generated
/// Application is a DNS label: `<stem>-<env>-<learner>` within [`MAX_APPLICATION_NAME`]
/// (0: no learner name fits).
pub fn learner_name_room(stem: &str, env: &str) -> usize {
    MAX_APPLICATION_NAME.saturating_sub(generated_name(stem, &format!("{env}-")).len())
}

/// The AppProject destination name that matches exactly the class's clusters.
pub fn destination_glob(env: &EnvName) -> String {
    format!("{env}-*")
}
