//! What the repo commands do, each one call that returns a typed outcome for the binary to
//! print: [`render`] (`render` and `render --check`), [`diff`], [`publish`], [`init`],
//! [`list`] and the shell completion's names ([`complete`]). They sit above the stages and [`crate::workspace`], beside
//! [`crate::toggling`] (`enable`, `disable`) and [`crate::deploy`] (the commands that talk
//! to a cluster). Nothing here prints.

pub mod complete;
pub mod diff;
pub mod init;
pub mod list;
pub mod publish;
pub mod render;
