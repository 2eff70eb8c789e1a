//! Integration tests: the real binary, run in temporary repos.

mod course;
mod hostile;
mod publish;
mod render;
mod support;
mod toggle;
