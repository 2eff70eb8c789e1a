//! gitgen turns a Kubernetes course into a GitOps repository that Argo CD converges.

pub mod catalog;
pub mod validate;
pub mod yaml;
