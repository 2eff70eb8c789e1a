//! Integration tests: the real binary, run in temporary repos.

mod publish;
mod render;
mod support;
mod toggle;
