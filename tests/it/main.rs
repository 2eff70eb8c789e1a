//! Integration tests: the real binary, run in temporary repos.

mod course;
mod incremental;
mod publish;
mod render;
mod support;
mod toggle;
