//! Integration tests: the real binary, run in temporary repos.

mod course;
mod fuzz;
mod hostile;
mod incremental;
mod kill;
mod publish;
mod render;
mod support;
mod toggle;
mod walkthroughs;
