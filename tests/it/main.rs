//! Integration tests: the real binary, run in temporary repos.

mod argocd_namespace;
#[path = "../support/argocd_rules.rs"]
mod argocd_rules;
mod classroom;
mod classroom_cluster;
#[path = "../support/classroom.rs"]
mod classroom_env;
mod complete;
mod concurrent;
mod connect;
mod course;
mod environment;
mod fuzz;
mod hints;
mod hostile;
mod incremental;
#[path = "../support/isolated.rs"]
mod isolated;
mod kill;
mod newcomer;
mod owners;
mod policy;
mod publish;
mod render;
mod serve;
#[path = "../support/serve.rs"]
mod serve_support;
mod support;
#[path = "../support/synth.rs"]
mod synth;
mod toggle;
mod untrusted;
mod walkthroughs;
mod workflow;
