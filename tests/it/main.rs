//! Integration tests: the real binary, run in temporary repos.

mod render;
mod support;
mod toggle;
