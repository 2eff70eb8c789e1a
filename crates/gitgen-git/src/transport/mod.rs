//! The network transports publish pushes through: HTTP(S) over `ureq` (rustls) and SSH
//! through the `ssh` binary, registered with libgit2 in place of its own.
//!
//! libgit2 is built without its https and ssh support, which would compile OpenSSL and
//! libssh2 from C source on every cold install (issue 26, BENCHMARKS.md "Compile time").
//! It keeps `file://` and `git://`; for `http://`, `https://`, `ssh://` and scp-like
//! `user@host:path` it asks the smart subtransports here, which only move bytes: libgit2
//! still speaks the git protocol over them. `http://` goes through the same code as
//! `https://`, so the tests' HTTP remote on 127.0.0.1 exercises what a GitHub push runs.
//!
//! libgit2's registry of transports is process-wide and its factory gets no payload, so
//! a push hands its credentials over in a [`PushSession`] installed on the pushing
//! thread for the duration of the push (libgit2 creates the transport on the thread that
//! pushes). The session is also where a transport records why it gave up, so the push
//! can name the failure by kind rather than by libgit2's message.

mod http;
mod ssh;

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once, PoisonError};

use git2::transport::{Service, Transport};
use git2::{CredentialHelper, Error, ErrorClass, ErrorCode};

/// What one push offers its transport, and what the transport found out.
#[derive(Default)]
pub(crate) struct PushSession {
    /// `GITGEN_GIT_TOKEN`, offered as the password to the host the remote URL names.
    token: Option<String>,
    /// git's credential helpers, as the repository's config names them for the remote URL.
    /// Taken by the HTTP transport that offers it.
    helper: Mutex<Option<CredentialHelper>>,
    /// `GIT_SSH_COMMAND`, else `core.sshCommand`: a shell command run instead of `ssh`.
    ssh_command: Option<String>,
    failure: Mutex<Option<TransportFailure>>,
}

/// Why a transport gave up, when it was not the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportFailure {
    /// The remote rejected every credential offered (HTTP 401 after each, or 403; ssh's
    /// "Permission denied").
    AuthRejected,
    /// The URL's user, host or path begins with `-`, which `ssh` would read as an option
    /// (git's CVE-2017-1000117): refused before anything runs.
    UnsafeSshUrl { part: &'static str, value: String },
}

impl PushSession {
    pub(crate) fn new(token: Option<String>, helper: Option<CredentialHelper>, ssh_command: Option<String>) -> Self {
        PushSession {
            token,
            helper: Mutex::new(helper),
            ssh_command,
            failure: Mutex::new(None),
        }
    }

    /// Why the transport gave up, if it recorded a reason.
    pub(crate) fn failure(&self) -> Option<TransportFailure> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records why the transport gave up.
    fn record(&self, failure: TransportFailure) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
    }

    /// Records `failure` and returns the libgit2 error that ends the push.
    fn fail(&self, failure: TransportFailure, message: String) -> Error {
        let code = match failure {
            TransportFailure::AuthRejected => ErrorCode::Auth,
            TransportFailure::UnsafeSshUrl { .. } => ErrorCode::Invalid,
        };
        self.record(failure);
        Error::new(code, ErrorClass::Net, message)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<PushSession>>> = const { RefCell::new(None) };
}

/// Runs `push` with `session` as the one the transports of this thread use.
pub(crate) fn with_session<T>(session: &Arc<PushSession>, push: impl FnOnce() -> T) -> T {
    register_once();
    /// Clears the session however `push` ends.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|current| current.borrow_mut().take());
        }
    }
    CURRENT.with(|current| *current.borrow_mut() = Some(Arc::clone(session)));
    let _reset = Reset;
    push()
}

/// The session of this thread's push; an empty one (no credentials) outside a push.
fn current_session() -> Arc<PushSession> {
    CURRENT.with(|current| current.borrow().clone()).unwrap_or_default()
}

/// Registers the transports with libgit2, once per process.
fn register_once() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        let http =
            |remote: &git2::Remote<'_>| Transport::smart(remote, true, http::HttpSubtransport::new(current_session()));
        let ssh =
            |remote: &git2::Remote<'_>| Transport::smart(remote, false, ssh::SshSubtransport::new(current_session()));
        for scheme in ["http", "https"] {
            // SAFETY: `Once` runs this before any push of this process creates a transport.
            unsafe { git2::transport::register(scheme, http) }.expect("a scheme registered once");
        }
        // libgit2 looks scp-like `user@host:path` URLs up as "ssh://" (transport.c,
        // `transport_find_fn`), so this registration serves them too.
        for scheme in ["ssh", "ssh+git", "git+ssh"] {
            // SAFETY: as above.
            unsafe { git2::transport::register(scheme, ssh) }.expect("a scheme registered once");
        }
    });
}

/// The name git runs on the server for `service`.
fn service_program(service: Service) -> &'static str {
    match service {
        Service::UploadPackLs | Service::UploadPack => "git-upload-pack",
        Service::ReceivePackLs | Service::ReceivePack => "git-receive-pack",
    }
}

/// An error of the network, which the push reports as an unreachable remote.
fn net_error(message: String) -> Error {
    Error::new(ErrorCode::GenericError, ErrorClass::Net, message)
}
