//! Which Argo CD releases `argocd.version` in `gitgen.yaml` may pin, and what a change of
//! that pin asks of the trainer.
//!
//! gitgen renders the same objects for every supported release (`render/argocd.rs` sets
//! what 3.x changed explicitly, so both lines behave alike), and its tests check them
//! against the CRD schemas of each tested release. A minor outside the supported line is
//! refused when `gitgen.yaml` is read: gitgen has not read its upgrade notes, so it cannot
//! say its Applications mean the same there. Argo CD asks for one minor version at a
//! time (`docs/operator-manual/upgrading/overview.md`), so a pin that jumps further than
//! the version the repo last rendered is worth a warning that lists every note between.
//! What the repo last rendered is read from the committed `argocd-install` kustomization,
//! the file the self-managing Application syncs, not from memory.

use std::fmt;
use std::path::Path;

use gitgen_base::names::EnvName;
use gitgen_base::untrusted::{self, FileError};

/// Argo CD's release line from the course's minor on, in upgrade order: each step has an
/// upgrade note upstream (`docs/operator-manual/upgrading/2.12-2.13.md` … `3.4-3.5.md`;
/// 3.0 follows 2.14). The first and last are tested; see [`TESTED`].
const MINORS: [(u32, u32); 9] = [
    (2, 12),
    (2, 13),
    (2, 14),
    (3, 0),
    (3, 1),
    (3, 2),
    (3, 3),
    (3, 4),
    (3, 5),
];

/// The releases gitgen's tests install and check its objects against: the course's
/// (`../shared/crds/`) and the newest (`../shared/argocd-v3.5.1/`).
pub const TESTED: [&str; 2] = ["v2.12.3", "v3.5.1"];

/// The largest a committed `argocd-install/kustomization.yaml` is read (it is a few lines).
const KUSTOMIZATION_LIMIT: u64 = 64 * 1024;

/// An Argo CD release, `vMAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArgoCdVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl fmt::Display for ArgoCdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Why a pin is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not `vMAJOR.MINOR.PATCH` (Argo CD's tags all are).
    #[error("`{0}` is not an exact version (an Argo CD release tag, `vMAJOR.MINOR.PATCH`)")]
    Malformed(String),
    /// A minor outside the supported line.
    #[error("Argo CD {version} is not supported: gitgen supports {first} to {last} (tested: {tested})", first = minor_name(MINORS[0]), last = minor_name(MINORS[MINORS.len() - 1]), tested = TESTED.join(", "))]
    Unsupported {
        /// The pinned version.
        version: ArgoCdVersion,
    },
}

impl VersionError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        format!(
            "pin one of the tested releases, {}; a release of {} to {} is accepted as a step of a one-minor-at-a-time upgrade",
            TESTED.map(|t| format!("`{t}`")).join(" or "),
            minor_name(MINORS[0]),
            minor_name(MINORS[MINORS.len() - 1])
        )
    }
}

fn minor_name((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

impl ArgoCdVersion {
    /// Reads a pin such as `v3.5.1` and checks its minor is supported.
    pub fn parse_supported(text: &str) -> Result<Self, VersionError> {
        let version = Self::parse(text).ok_or_else(|| VersionError::Malformed(text.to_owned()))?;
        if version.step().is_none() {
            return Err(VersionError::Unsupported { version });
        }
        Ok(version)
    }

    /// `vMAJOR.MINOR.PATCH`, nothing else: Argo CD's release tags.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix('v')?.split('.');
        let mut number = || -> Option<u32> {
            let part = parts.next()?;
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let version = Self {
            major: number()?,
            minor: number()?,
            patch: number()?,
        };
        parts.next().is_none().then_some(version)
    }

    /// Its place in [`MINORS`].
    fn step(self) -> Option<usize> {
        MINORS.iter().position(|m| *m == (self.major, self.minor))
    }

    /// Whether gitgen's tests install this exact release.
    pub fn is_tested(self) -> bool {
        TESTED.contains(&self.to_string().as_str())
    }
}

/// Upstream's upgrade note from one minor to the next, at the target release's tag.
fn note_url(from: (u32, u32), to: (u32, u32), tag: ArgoCdVersion) -> String {
    format!(
        "https://github.com/argoproj/argo-cd/blob/{tag}/docs/operator-manual/upgrading/{}-{}.md",
        minor_name(from),
        minor_name(to)
    )
}

/// What a change of the pin means, when it is more than a patch or one minor forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinChange {
    /// Forward by more than one minor version. Argo CD asks for one at a time.
    Jump {
        /// The version the repo last rendered.
        from: ArgoCdVersion,
        /// The pin now.
        to: ArgoCdVersion,
        /// How many minor versions it skips forward.
        minors: usize,
        /// Every upstream upgrade note between the two, in order, at `to`'s tag.
        notes: Vec<String>,
    },
    /// Backwards to an older minor, which Argo CD's upgrade notes do not cover.
    Downgrade {
        /// The version the repo last rendered.
        from: ArgoCdVersion,
        /// The pin now.
        to: ArgoCdVersion,
    },
}

/// Compares the pin with the version the repo last rendered; `None` for the same minor or
/// the next one. An older `from` outside the supported line counts from its start.
pub fn pin_change(from: ArgoCdVersion, to: ArgoCdVersion) -> Option<PinChange> {
    let to_step = to.step()?;
    if (from.major, from.minor) > (to.major, to.minor) {
        return Some(PinChange::Downgrade { from, to });
    }
    let from_step = from.step().unwrap_or(0);
    // An older `from` outside the line still has to pass through its first minor.
    let minors = to_step - from_step + usize::from(from.step().is_none());
    (minors > 1).then(|| PinChange::Jump {
        from,
        to,
        minors,
        notes: MINORS[from_step..=to_step]
            .windows(2)
            .map(|pair| note_url(pair[0], pair[1], to))
            .collect(),
    })
}

/// The Argo CD release the committed `argocd/<env>/argocd-install/kustomization.yaml`
/// installs, as `render` wrote it; `None` when there is none yet or it names no release
/// that render writes (a hand edit, which `render` reports on its own).
pub fn last_rendered(repo: &Path, env: &EnvName) -> Result<Option<ArgoCdVersion>, FileError> {
    let dir = gitgen_base::layout::Layout::new(env).install_dir();
    let path = repo.join(dir).join("kustomization.yaml");
    let Some(bytes) = untrusted::read(&path, KUSTOMIZATION_LIMIT, "a rendered kustomization")? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .split_whitespace()
        .filter_map(gitgen_base::argocd_install::manifest_version)
        .find_map(ArgoCdVersion::parse))
}

/// The release an Argo CD image runs (`quay.io/argoproj/argocd:v2.12.3`), when its tag is
/// a release tag.
pub fn image_version(image: &str) -> Option<ArgoCdVersion> {
    // A digest (`@sha256:…`) holds a colon of its own.
    let without_digest = image.split('@').next().unwrap_or(image);
    let (name, tag) = without_digest.rsplit_once(':')?;
    name.ends_with("/argocd").then(|| ArgoCdVersion::parse(tag)).flatten()
}

/// Something about the Argo CD pin that `render` or `bootstrap` warns of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinWarning {
    /// A release of a supported minor that gitgen's tests do not install.
    Untested {
        /// The pin.
        version: ArgoCdVersion,
    },
    /// The pin moved further than one minor (or back) since these environments' last render.
    Changed {
        /// How.
        change: PinChange,
        /// The environments whose committed install names the old release.
        environments: Vec<EnvName>,
    },
    /// The cluster runs a release further than one minor from the pin (or a newer one).
    Installed {
        /// How bootstrap would move it.
        change: PinChange,
    },
}

impl PinWarning {
    /// One line saying what is the matter.
    pub fn message(&self) -> String {
        let envs = |environments: &[EnvName]| {
            environments
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PinWarning::Untested { version } => format!(
                "Argo CD {version} is not a release gitgen is tested with ({})",
                TESTED.join(", ")
            ),
            PinWarning::Changed {
                change: PinChange::Jump { from, to, minors, .. },
                environments,
            } => format!(
                "`argocd.version` jumps {minors} minor versions, from {from} (last rendered for {}) to {to}; {ONE_AT_A_TIME}",
                envs(environments)
            ),
            PinWarning::Changed {
                change: PinChange::Downgrade { from, to },
                environments,
            } => format!(
                "`argocd.version` goes back from {from} (last rendered for {}) to {to}; {UPGRADES_ONLY}",
                envs(environments)
            ),
            PinWarning::Installed {
                change: PinChange::Jump { from, to, minors, .. },
            } => format!(
                "the cluster runs Argo CD {from}, and bootstrap installs {to}, {minors} minor versions on; {ONE_AT_A_TIME}"
            ),
            PinWarning::Installed {
                change: PinChange::Downgrade { from, to },
            } => format!("the cluster runs Argo CD {from}, and bootstrap installs the older {to}; {UPGRADES_ONLY}"),
        }
    }

    /// The upstream notes to read, one URL a line; empty for the other warnings.
    pub fn notes(&self) -> &[String] {
        match self {
            PinWarning::Changed {
                change: PinChange::Jump { notes, .. },
                ..
            }
            | PinWarning::Installed {
                change: PinChange::Jump { notes, .. },
            } => notes,
            _ => &[],
        }
    }

    /// What to do.
    pub fn hint(&self) -> String {
        match self {
            PinWarning::Untested { .. } => format!(
                "gitgen checks its objects against the CRDs of {} only: run `gitgen validate --crds DIR` with this release's CRDs",
                TESTED.join(" and ")
            ),
            PinWarning::Changed {
                change: PinChange::Jump { .. },
                ..
            } => "read each note before merging; to go one minor at a time, pin each minor's latest patch in turn, render, merge, and let Argo CD sync before the next".to_owned(),
            PinWarning::Installed {
                change: PinChange::Jump { .. },
            } => "read each note; to go one minor at a time, pin each minor's latest patch in turn and let Argo CD sync it (or bootstrap with each)".to_owned(),
            PinWarning::Changed {
                change: PinChange::Downgrade { from, .. },
                ..
            }
            | PinWarning::Installed {
                change: PinChange::Downgrade { from, .. },
            } => format!("pin {from} again, or restore an Argo CD backup (`argocd admin export`) of the older release instead of downgrading in place"),
        }
    }
}

/// How a warning of a jump ends: upstream's rule (`docs/operator-manual/upgrading/overview.md`).
const ONE_AT_A_TIME: &str = "Argo CD upgrades one minor version at a time. Upgrade notes between them:";

/// How a warning of a downgrade ends.
const UPGRADES_ONLY: &str = "Argo CD's upgrade notes cover upgrades only";

/// What `render` warns of about the pin `pin` (a version `gitgen.yaml` accepted) for
/// `environments`: an untested release, and each change since an environment's committed
/// install (environments with the same change share one warning).
pub fn pin_warnings(repo: &Path, environments: &[EnvName], pin: &str) -> Result<Vec<PinWarning>, FileError> {
    let Some(to) = ArgoCdVersion::parse(pin) else {
        return Ok(Vec::new());
    };
    let mut warnings = Vec::new();
    if !to.is_tested() {
        warnings.push(PinWarning::Untested { version: to });
    }
    let mut changes: Vec<(PinChange, Vec<EnvName>)> = Vec::new();
    for env in environments {
        let Some(change) = last_rendered(repo, env)?.and_then(|from| pin_change(from, to)) else {
            continue;
        };
        match changes.iter_mut().find(|(c, _)| *c == change) {
            Some((_, envs)) => envs.push(env.clone()),
            None => changes.push((change, vec![env.clone()])),
        }
    }
    warnings.extend(
        changes
            .into_iter()
            .map(|(change, environments)| PinWarning::Changed { change, environments }),
    );
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ArgoCdVersion {
        ArgoCdVersion::parse_supported(text).unwrap()
    }

    #[test]
    fn the_tested_releases_and_the_minors_between_them_are_accepted() {
        for tag in TESTED {
            assert!(v(tag).is_tested(), "{tag}");
        }
        assert!(!v("v3.0.0").is_tested());
        assert!(!v("v2.12.4").is_tested());
    }

    #[test]
    fn a_minor_outside_the_supported_line_is_refused_with_the_supported_list() {
        for tag in ["v2.9.0", "v2.11.7", "v4.0.0", "v3.6.0", "v1.8.0"] {
            let err = ArgoCdVersion::parse_supported(tag).unwrap_err();
            assert!(matches!(err, VersionError::Unsupported { .. }), "{tag}");
            assert!(err.to_string().contains("2.12 to 3.5"), "{err}");
            assert!(err.to_string().contains("v2.12.3, v3.5.1"), "{err}");
            assert!(err.hint().contains("`v2.12.3` or `v3.5.1`"), "{}", err.hint());
        }
    }

    #[test]
    fn anything_but_a_release_tag_is_malformed() {
        for tag in [
            "2.12.3",
            "v2.12",
            "v2.12.3.1",
            "v2.12.3-rc1",
            "v2..3",
            "latest",
            "v",
            "v2.12.x",
        ] {
            assert!(
                matches!(ArgoCdVersion::parse_supported(tag), Err(VersionError::Malformed(_))),
                "{tag}"
            );
        }
    }

    #[test]
    fn a_patch_or_one_minor_forward_is_no_jump() {
        assert_eq!(pin_change(v("v2.12.3"), v("v2.12.4")), None);
        assert_eq!(pin_change(v("v2.12.3"), v("v2.13.0")), None);
        assert_eq!(pin_change(v("v2.14.1"), v("v3.0.0")), None);
        assert_eq!(pin_change(v("v3.5.1"), v("v3.5.1")), None);
    }

    #[test]
    fn a_jump_lists_every_upgrade_note_between_at_the_target_tag() {
        let Some(PinChange::Jump { minors, notes, .. }) = pin_change(v("v2.12.3"), v("v3.5.1")) else {
            panic!("a jump")
        };
        assert_eq!(minors, 8);
        let names: Vec<&str> = notes.iter().map(|n| n.rsplit('/').next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "2.12-2.13.md",
                "2.13-2.14.md",
                "2.14-3.0.md",
                "3.0-3.1.md",
                "3.1-3.2.md",
                "3.2-3.3.md",
                "3.3-3.4.md",
                "3.4-3.5.md"
            ]
        );
        assert!(
            notes[0].starts_with("https://github.com/argoproj/argo-cd/blob/v3.5.1/docs/operator-manual/upgrading/"),
            "{}",
            notes[0]
        );
        let Some(PinChange::Jump { minors, notes, .. }) = pin_change(v("v2.13.0"), v("v3.0.2")) else {
            panic!("a jump")
        };
        assert_eq!((minors, notes.len()), (2, 2));
    }

    #[test]
    fn going_back_a_minor_is_a_downgrade() {
        assert_eq!(
            pin_change(v("v3.5.1"), v("v2.12.3")),
            Some(PinChange::Downgrade {
                from: v("v3.5.1"),
                to: v("v2.12.3")
            })
        );
        assert_eq!(pin_change(v("v3.5.1"), v("v3.5.0")), None, "a patch back is no minor");
    }

    #[test]
    fn a_last_render_from_before_the_supported_line_counts_from_its_start() {
        let old = ArgoCdVersion::parse("v2.11.0").unwrap();
        let Some(PinChange::Jump { minors, notes, .. }) = pin_change(old, v("v2.13.0")) else {
            panic!("a jump")
        };
        assert_eq!(minors, 2);
        assert_eq!(notes.len(), 1, "gitgen lists no note before 2.12-2.13");
    }

    #[test]
    fn the_last_rendered_version_is_read_from_the_committed_kustomization() {
        let repo = tempfile::tempdir().unwrap();
        let env = EnvName::new("kind").unwrap();
        assert_eq!(last_rendered(repo.path(), &env).unwrap(), None);
        let dir = repo.path().join("argocd/kind/argocd-install");
        fs_err::create_dir_all(&dir).unwrap();
        let url = gitgen_base::argocd_install::manifest_url("v2.12.3");
        fs_err::write(
            dir.join("kustomization.yaml"),
            format!("kind: Kustomization\nresources:\n- >-\n  {url}\n"),
        )
        .unwrap();
        assert_eq!(last_rendered(repo.path(), &env).unwrap(), Some(v("v2.12.3")));
        fs_err::write(dir.join("kustomization.yaml"), "resources: [install.yaml]\n").unwrap();
        assert_eq!(last_rendered(repo.path(), &env).unwrap(), None);
    }

    #[test]
    fn environments_with_the_same_change_share_one_warning() {
        let repo = tempfile::tempdir().unwrap();
        let envs: Vec<EnvName> = ["a", "b", "c"].map(|e| EnvName::new(e).unwrap()).to_vec();
        for (env, tag) in [("a", "v2.12.3"), ("b", "v2.12.3"), ("c", "v3.4.0")] {
            let dir = repo.path().join(format!("argocd/{env}/argocd-install"));
            fs_err::create_dir_all(&dir).unwrap();
            let url = gitgen_base::argocd_install::manifest_url(tag);
            fs_err::write(dir.join("kustomization.yaml"), format!("resources:\n- {url}\n")).unwrap();
        }
        let warnings = pin_warnings(repo.path(), &envs, "v3.5.1").unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .message()
                .contains("from v2.12.3 (last rendered for `a`, `b`) to v3.5.1"),
            "{}",
            warnings[0].message()
        );
        assert_eq!(warnings[0].notes().len(), 8);
        let warnings = pin_warnings(repo.path(), &envs, "v3.0.0").unwrap();
        assert!(matches!(warnings[0], PinWarning::Untested { .. }), "{warnings:?}");
        assert!(matches!(
            &warnings[2],
            PinWarning::Changed { change: PinChange::Downgrade { .. }, environments } if environments == &envs[2..]
        ));
    }

    #[test]
    fn the_release_an_argocd_image_runs_is_its_tag() {
        assert_eq!(image_version("quay.io/argoproj/argocd:v2.12.3"), Some(v("v2.12.3")));
        assert_eq!(
            image_version("registry.local:5000/argoproj/argocd:v3.5.1@sha256:0123"),
            Some(v("v3.5.1"))
        );
        assert_eq!(image_version("quay.io/argoproj/argocd:latest"), None);
        assert_eq!(image_version("ghcr.io/dexidp/dex:v2.38.0"), None);
        let warning = PinWarning::Installed {
            change: pin_change(v("v2.12.3"), v("v3.5.1")).unwrap(),
        };
        assert!(
            warning
                .message()
                .starts_with("the cluster runs Argo CD v2.12.3, and bootstrap installs v3.5.1, 8 minor versions on"),
            "{}",
            warning.message()
        );
        assert_eq!(warning.notes().len(), 8);
    }
}
