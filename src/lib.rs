//! gitgen turns a Kubernetes course into a GitOps repository that Argo CD converges.
//!
//! The stages, each its own module: [`catalog`] loads and checks lessons and the
//! environment's toggle file; [`render`] turns them into files in memory; [`output`]
//! stages, diffs and writes files atomically; [`validate`] checks objects against their
//! Kubernetes types and CRD schemas; [`git`] publishes a change; [`cluster`] talks to
//! the Kubernetes API (bootstrap, status, server-side validation), and [`deploy`] is what
//! `bootstrap`, `status` and `validate` do with a workspace and a cluster. [`layout`] owns
//! every repo-relative path. Below the stages and the layout, facts more than one of
//! them needs: [`names`] (lesson, stage and environment names, checked to be folder and
//! Kubernetes names), [`files`] (a file in memory, from render to output), [`kinds`] (Kubernetes kinds and
//! their scope), [`credentials`] (what must never reach git) and [`argocd_install`] (the
//! pinned Argo CD install and the settings gitgen adds to it). [`workspace`]
//! ties them together for one repo and environment, configured by [`settings`]. Each
//! command is one call of a use case: [`usecase`] (`render`, `diff`, `publish`, `init`,
//! `list`), [`toggling`] (`enable`, `disable`) and [`deploy`]; [`serve`] shows the course
//! and the live state in a browser.
//! [`untrusted`] is how every stage opens a file of a repo that may come from a
//! stranger. The library never prints: the binary reports what it returns.

// The stages are crates of their own (`crates/`), re-exported under their module names.
pub use gitgen_base::argocd_install;
pub use gitgen_catalog as catalog;
pub mod classroom;
pub use gitgen_base::credentials;
pub use gitgen_cluster as cluster;
pub mod deploy;
mod error;
pub use gitgen_base::files;
pub use gitgen_base::layout;
pub use gitgen_base::names;
pub use gitgen_git as git;
pub use gitgen_output as output;
pub use gitgen_render as render;
pub use gitgen_validate::kinds;
pub mod scaffold;
pub mod serve;
pub use gitgen_settings as settings;
pub mod toggling;
pub use gitgen_base::untrusted;
pub mod usecase;
pub use gitgen_validate as validate;
pub mod workspace;
pub use gitgen_yaml as yaml;

pub use error::Error;
