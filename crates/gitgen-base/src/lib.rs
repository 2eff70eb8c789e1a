//! Modules below the stages that more than one of them shares.
//!
//! - [`untrusted`]: Files of a repo that may come from a stranger: a pull request can carry symlinks, and a checkout can hold FIFOs, sockets or devices that git never made.
//! - [`files`]: A file gitgen writes, in memory: what render makes and output writes.
//! - [`credentials`]: What a credential looks like: the shapes of tokens and keys that never go into git.
//! - [`argocd_install`]: Argo CD as gitgen installs it: where a release's upstream install manifest is, and the `argocd-cm` settings gitgen adds to it.
//! - [`names`]: Names that become folder names and Kubernetes object names.
//! - [`layout`]: Where everything lives in a gitgen repo: every repo-relative path render writes or reads (a lesson's base, an environment's overlays, toggle file and Argo CD bundle, the lock file) is built here and nowhere else, so a change of layout is one edit.

pub mod argocd_install;
pub mod credentials;
pub mod files;
pub mod layout;
pub mod names;
pub mod untrusted;
