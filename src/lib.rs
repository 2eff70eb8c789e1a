//! gitgen turns a Kubernetes course into a GitOps repository that Argo CD converges.
//!
//! The stages, each its own module: [`catalog`] loads and checks lessons and the
//! environment's toggle file; [`render`] turns them into files in memory; [`validate`]
//! checks objects against Kubernetes types and CRD schemas; [`output`] stages, diffs and
//! writes files atomically; [`git`] publishes a change; [`cluster`] talks to Kubernetes.
//! The library never prints: the binary reports what it returns.

pub mod catalog;
mod error;
pub mod yaml;
pub mod output;
pub mod render;
pub mod scaffold;
pub mod settings;
pub mod workspace;

pub use error::Error;
