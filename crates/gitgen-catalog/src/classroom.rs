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

use std::fmt;

use super::LoadedLesson;
use super::labels::{ENVIRONMENT_LABEL, MAX_LABEL_VALUE, SECRET_TYPE_LABEL};
use super::lesson::Chart;
use gitgen_base::names::{DnsLabelProblem, EnvName, LessonId, dns_label_problem};

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
    MAX_APPLICATION_NAME.saturating_sub(generated_name(stem, &cluster_name(env, "")).len())
}

/// The AppProject destination name that matches exactly the class's clusters.
pub fn destination_glob(env: &EnvName) -> String {
    cluster_name(env.as_str(), "*")
}

/// The name Argo CD knows learner `learner`'s cluster of classroom `env` by:
/// `<env>-<learner>` (the `name` of its cluster Secret, and the generator's `name`).
pub fn cluster_name(env: &str, learner: &str) -> String {
    format!("{env}-{learner}")
}

/// The name of learner `learner`'s cluster Secret in classroom `env`:
/// `gitgen-cluster-<env>-<learner>`.
pub fn secret_name(env: &str, learner: &LearnerName) -> String {
    format!("gitgen-cluster-{}", cluster_name(env, learner.as_str()))
}

/// The label selector of classroom `env`'s cluster Secrets.
pub fn secrets_selector(env: &str) -> String {
    format!("{SECRET_TYPE_LABEL}=cluster,{ENVIRONMENT_LABEL}={env}")
}

/// A learner's name: a DNS label, as it becomes part of Secret, cluster and Application
/// names and a label value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LearnerName(String);

impl LearnerName {
    /// Checks `name` is a DNS label (RFC 1123) of at most 63 characters. A learner
    /// `classroom add` registers passes [`LearnerName::new_in`], which also bounds the
    /// names generated from it.
    pub fn new(name: &str) -> Result<Self, LearnerNameError> {
        match dns_label_problem(name, MAX_LABEL_VALUE) {
            Some(problem) => Err(LearnerNameError::NotADnsLabel {
                name: name.escape_debug().to_string(),
                problem,
            }),
            None => Ok(Self(name.to_owned())),
        }
    }

    /// A learner classroom `env` may register: a DNS label that keeps every Application the
    /// classroom may generate for them (`<lesson>[-<chart>]-<env>-<learner>`) a DNS label
    /// too. Every lesson of `lessons` counts, enabled or not, so enabling one later never
    /// leaves a registered learner without its Applications.
    pub fn new_in<'a>(
        name: &str,
        env: &str,
        lessons: impl IntoIterator<Item = &'a LoadedLesson>,
    ) -> Result<Self, LearnerNameError> {
        let learner = Self::new(name)?;
        if let Some((stem, lesson)) = longest_stem(lessons)
            && name.len() > learner_name_room(&stem, env)
        {
            return Err(LearnerNameError::TooLong {
                application: generated_name(&stem, &cluster_name(env, name)),
                lesson: lesson.to_string(),
                room: learner_name_room(&stem, env),
            });
        }
        Ok(learner)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LearnerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a name cannot be a learner's. [`LearnerNameError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LearnerNameError {
    /// A learner name that is not a DNS label.
    #[error("learner name `{name}` is not a DNS label: {problem}")]
    NotADnsLabel {
        /// The name given, with control characters escaped.
        name: String,
        /// What is wrong with it.
        problem: DnsLabelProblem,
    },
    /// A learner name that would make a generated Application's name longer than a DNS
    /// label.
    #[error("Argo CD would generate Application `{application}` for this learner: {} characters, over the 63 of a DNS label", application.len())]
    TooLong {
        /// The longest Application name the learner would get.
        application: String,
        /// The lesson it belongs to.
        lesson: String,
        /// The longest learner name that fits.
        room: usize,
    },
}

impl LearnerNameError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::NotADnsLabel { .. } => {
                "use a DNS label, such as `alice` or `team-2`: it becomes part of Secret, cluster and Application names"
                    .into()
            }
            Self::TooLong { lesson, room: 0, .. } => format!(
                "no learner name fits: the longest lesson, `{lesson}`, leaves none beside the environment's name; shorten the environment's name in gitgen.yaml"
            ),
            Self::TooLong { lesson, room, .. } => format!(
                "use a learner name of at most {room} characters: the longest lesson, `{lesson}`, and the environment's name take the rest of the 63"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use crate::source::CatalogFiles;

    #[test]
    fn learner_names_are_dns_labels() {
        for good in ["alice", "team-2", "a", &"x".repeat(63)] {
            assert!(LearnerName::new(good).is_ok(), "{good}");
        }
        for bad in ["", "Alice", "-a", "a-", "a_b", "a.b", &"x".repeat(64)] {
            assert!(
                matches!(LearnerName::new(bad), Err(LearnerNameError::NotADnsLabel { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_learner_whose_longest_application_name_passes_63_characters_is_refused() {
        let catalog = Catalog::load(CatalogFiles::embedded()).unwrap();
        let lessons = || catalog.lessons.values();
        let (stem, lesson) = longest_stem(lessons()).unwrap();
        let room = 63 - stem.len() - "-classroom-".len();
        let fits = "a".repeat(room);
        let learner = LearnerName::new_in(&fits, "classroom", lessons()).unwrap();
        assert_eq!(
            generated_name(&stem, &cluster_name("classroom", learner.as_str())).len(),
            63,
            "the longest learner name fits exactly"
        );
        let error = LearnerName::new_in(&"a".repeat(room + 1), "classroom", lessons()).unwrap_err();
        assert!(
            matches!(&error, LearnerNameError::TooLong { room: r, lesson: l, .. } if *r == room && l == lesson.as_str()),
            "{error:?}"
        );
        assert!(error.to_string().contains("64 characters, over the 63"), "{error}");
        let hint = error.hint();
        assert!(
            hint.contains(&format!("at most {room} characters")) && hint.contains(&format!("`{lesson}`")),
            "{hint}"
        );

        // An environment whose name leaves no room for a one-letter learner.
        let crowded = "e".repeat(63 - stem.len() - 2);
        let error = LearnerName::new_in("a", &crowded, lessons()).unwrap_err();
        assert!(matches!(error, LearnerNameError::TooLong { room: 0, .. }), "{error:?}");
        assert!(error.hint().contains("no learner name fits"));
    }

    #[test]
    fn a_learners_cluster_and_secret_are_named_after_the_classroom_and_the_learner() {
        let alice = LearnerName::new("alice").unwrap();
        assert_eq!(cluster_name("spring", alice.as_str()), "spring-alice");
        assert_eq!(secret_name("spring", &alice), "gitgen-cluster-spring-alice");
        assert_eq!(destination_glob(&EnvName::new("spring").unwrap()), "spring-*");
        assert_eq!(classroom_scoped("spring", ROOT_APP), "spring-gitgen-root");
    }
}
