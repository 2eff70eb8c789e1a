//! An environment and a cluster: what `gitgen bootstrap`, `status` and `validate` do with a
//! loaded [`Workspace`](crate::workspace::Workspace). Each gathers from the workspace what
//! [`crate::cluster`] needs (the root Application, every enabled lesson's objects, which
//! rendered files are fresh), hands it over with an injected [`kube::Client`], and returns a
//! typed report (`Serialize`, for `-o json`) that the binary only prints.
//!
//! Each step that needs a cluster is split from what needs only the workspace, which
//! comes first: a command refuses a bad flag or repo before it connects to anything.
//! [`crate::cluster`] below knows nothing of workspaces; the binary above decides nothing.

pub mod bootstrap;
pub mod status;
pub mod validate;

pub use bootstrap::{ArgoCdManifest, Bootstrap, BootstrapOptions, BootstrapSummary};
pub use status::{StatusBoard, StatusReport};
pub use validate::{OfflineReport, ServerReport, ServerValidation, validate_offline};
