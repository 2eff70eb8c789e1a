//! Integration tests: the real binary, run in temporary repos.

mod classroom;
mod classroom_cluster;
#[path = "../support/classroom.rs"]
mod classroom_env;
mod concurrent;
mod course;
mod environment;
mod fuzz;
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
mod support;
#[path = "../support/synth.rs"]
mod synth;
mod toggle;
mod untrusted;
mod walkthroughs;
mod workflow;
