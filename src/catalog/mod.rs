//! The catalog: lessons read from `catalog/` (or the copy embedded in the binary),
//! checked, and resolved against an environment's toggle file.

pub mod lesson;
pub mod names;
