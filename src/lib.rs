//! gitgen turns a Kubernetes course into a GitOps repository that Argo CD converges.

pub mod catalog;
pub mod cluster;
pub mod yaml;
