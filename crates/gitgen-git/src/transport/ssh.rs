//! SSH remotes as git reaches them: the `ssh` binary (or `GIT_SSH_COMMAND`, else
//! `core.sshCommand`) runs `git-receive-pack '<path>'` on the server, and the protocol
//! flows over its standard input and output. The user's keys, agent, `~/.ssh/config` and
//! known hosts are ssh's business, as they are for git.
//!
//! The command line is git's for OpenSSH (git's connect.c, `fill_ssh_args`):
//! `ssh [-p PORT] [USER@]HOST "git-receive-pack 'PATH'"`. A user, host or path that begins
//! with `-` is refused before anything runs: ssh would read `-oProxyCommand=…` as an
//! option and run it (CVE-2017-1000117; git's connect.c, `looks_like_command_line_option`).

use std::io::{self, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream};
use git2::{Error, ErrorClass, ErrorCode};

use super::{PushSession, TransportFailure, net_error, service_program};

/// How much of ssh's standard error a failed push reports.
const STDERR_KEPT: usize = 4096;

pub(super) struct SshSubtransport {
    session: Arc<PushSession>,
}

impl SshSubtransport {
    pub(super) fn new(session: Arc<PushSession>) -> Self {
        SshSubtransport { session }
    }
}

impl SmartSubtransport for SshSubtransport {
    // libgit2 asks for the advertisement only: SSH is stateful (`rpc` false), so the pack
    // goes over the same stream (git2's transport.rs, `subtransport_action`).
    fn action(&self, url: &str, action: Service) -> Result<Box<dyn SmartSubtransportStream>, Error> {
        let target = SshTarget::parse(url).map_err(|problem| match problem {
            UrlProblem::Unsafe { part, value } => {
                let message =
                    format!("refusing SSH URL `{url}`: its {part} `{value}` would be read by ssh as an option");
                self.session
                    .fail(TransportFailure::UnsafeSshUrl { part, value }, message)
            }
            UrlProblem::Malformed(why) => Error::new(
                ErrorCode::Invalid,
                ErrorClass::Net,
                format!("`{url}` is not an SSH URL: {why}"),
            ),
        })?;
        let argv = target.command_line(service_program(action), self.session.ssh_command.as_deref());
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| net_error(format!("could not run `{}` for {}: {e}", argv[0], target.destination())))?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(net_error("ssh started without its pipes".to_owned()));
        };
        let stderr = std::thread::spawn(move || {
            let mut said = Vec::new();
            let _ = (&mut stderr).take(STDERR_KEPT as u64).read_to_end(&mut said);
            // Drain the rest so ssh never blocks on a full pipe.
            let _ = io::copy(&mut stderr, &mut io::sink());
            String::from_utf8_lossy(&said).trim().to_owned()
        });
        Ok(Box::new(SshStream {
            child,
            stdin: Some(stdin),
            stdout,
            stderr: Some(stderr),
            session: Arc::clone(&self.session),
            destination: target.destination(),
        }))
    }

    fn close(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// Where an SSH remote points.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SshTarget {
    user: Option<String>,
    host: String,
    port: Option<u16>,
    path: String,
}

/// Why an SSH URL is not used.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UrlProblem {
    /// A part ssh would take for an option.
    Unsafe {
        part: &'static str,
        value: String,
    },
    Malformed(&'static str),
}

impl SshTarget {
    /// Reads `ssh://[user@]host[:port]/path` (also `ssh+git://`, `git+ssh://`) or scp-like
    /// `[user@]host:path`.
    pub(super) fn parse(url: &str) -> Result<SshTarget, UrlProblem> {
        let scheme_less = ["ssh://", "ssh+git://", "git+ssh://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme));
        let (authority, path, port) = match scheme_less {
            Some(rest) => {
                let (authority, path) = rest
                    .find('/')
                    .map(|slash| rest.split_at(slash))
                    .ok_or(UrlProblem::Malformed("it has no path"))?;
                let (authority, port) = split_port(authority)?;
                // `ssh://host/~user/repo` is `~user/repo` on the server, as git has it.
                let path = if path.starts_with("/~") { &path[1..] } else { path };
                (authority, path, port)
            }
            None => {
                let colon =
                    colon_outside_brackets(url).ok_or(UrlProblem::Malformed("it has no `:` before the path"))?;
                (&url[..colon], &url[colon + 1..], None)
            }
        };
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(UrlProblem::Malformed("it has no host"));
        }
        if path.is_empty() {
            return Err(UrlProblem::Malformed("it has no path"));
        }
        for (part, value) in [("user", user.unwrap_or("")), ("host", host), ("path", path)] {
            if value.starts_with('-') {
                return Err(UrlProblem::Unsafe {
                    part,
                    value: value.to_owned(),
                });
            }
        }
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// `[user@]host`, ssh's destination argument.
    pub(super) fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The program and arguments that run `program` on the server: `ssh`, or `sh -c` with
    /// `ssh_command` and ssh's arguments appended, as git runs `GIT_SSH_COMMAND`.
    pub(super) fn command_line(&self, program: &str, ssh_command: Option<&str>) -> Vec<String> {
        let mut ssh_args = Vec::new();
        if let Some(port) = self.port {
            ssh_args.extend(["-p".to_owned(), port.to_string()]);
        }
        ssh_args.push(self.destination());
        ssh_args.push(format!("{program} {}", single_quoted(&self.path)));
        let mut argv = match ssh_command {
            None => vec!["ssh".to_owned()],
            Some(command) => vec![
                "sh".to_owned(),
                "-c".to_owned(),
                format!("{command} \"$@\""),
                command.to_owned(),
            ],
        };
        argv.extend(ssh_args);
        argv
    }
}

/// `host[:port]` (or `[v6]:port`) split into the host part and the port.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlProblem> {
    let host_end = authority.rfind(']').map_or(0, |bracket| bracket + 1);
    match authority[host_end..].rfind(':').map(|colon| host_end + colon) {
        Some(colon) => {
            let port = authority[colon + 1..]
                .parse()
                .map_err(|_| UrlProblem::Malformed("its port is not a number"))?;
            Ok((&authority[..colon], Some(port)))
        }
        None => Ok((authority, None)),
    }
}

/// The first `:` of an scp-like URL that is not inside `[…]`.
fn colon_outside_brackets(url: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, c) in url.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return Some(at),
            _ => {}
        }
    }
    None
}

/// `text` quoted for the remote shell as git's `sq_quote_buf` does: in single quotes,
/// with `'` and `!` taken out of them.
fn single_quoted(text: &str) -> String {
    let mut quoted = String::from("'");
    for c in text.chars() {
        match c {
            '\'' => quoted.push_str("'\\''"),
            '!' => quoted.push_str("'\\!'"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// The running ssh: libgit2 writes to its input and reads its output.
struct SshStream {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<String>>,
    session: Arc<PushSession>,
    destination: String,
}

impl Read for SshStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.stdout.read(buf)?;
        if read == 0 {
            self.stdin.take();
            let status = self.child.wait()?;
            if !status.success() {
                let said = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
                // ssh reports a rejected key only in its message; its exit code (255) is
                // the same for a refused connection.
                if said.contains("Permission denied") {
                    self.session.record(TransportFailure::AuthRejected);
                }
                return Err(io::Error::other(format!(
                    "`ssh {}` ended ({status}): {said}",
                    self.destination
                )));
            }
        }
        Ok(read)
    }
}

impl Write for SshStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.stdin {
            Some(stdin) => stdin.write(data),
            None => Err(io::Error::other("ssh's input is closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stdin.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for SshStream {
    // Closing ssh's input ends the server's git, then ssh; waiting reaps the process.
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> SshTarget {
        SshTarget::parse(url).unwrap_or_else(|problem| panic!("{url}: {problem:?}"))
    }

    #[test]
    fn an_ssh_url_with_user_and_port_gives_ssh_the_port_and_the_quoted_path() {
        let argv = target("ssh://user@host:2222/path").command_line("git-receive-pack", None);
        assert_eq!(argv, ["ssh", "-p", "2222", "user@host", "git-receive-pack '/path'"]);
    }

    #[test]
    fn an_scp_like_url_is_a_relative_path_on_the_host() {
        let argv = target("git@host:org/repo.git").command_line("git-receive-pack", None);
        assert_eq!(argv, ["ssh", "git@host", "git-receive-pack 'org/repo.git'"]);
    }

    #[test]
    fn a_home_relative_ssh_url_loses_its_leading_slash_as_in_git() {
        assert_eq!(target("ssh://host/~alice/repo.git").path, "~alice/repo.git");
    }

    #[test]
    fn git_ssh_command_runs_through_the_shell_with_ssh_arguments_appended() {
        let argv = target("git@host:o/r.git").command_line("git-upload-pack", Some("ssh -i ~/.ssh/course"));
        assert_eq!(
            argv,
            [
                "sh",
                "-c",
                "ssh -i ~/.ssh/course \"$@\"",
                "ssh -i ~/.ssh/course",
                "git@host",
                "git-upload-pack 'o/r.git'"
            ]
        );
    }

    #[test]
    fn quotes_in_the_path_cannot_leave_the_remote_command_s_quotes() {
        let argv = target("host:it's!/r.git").command_line("git-receive-pack", None);
        assert_eq!(argv[2], "git-receive-pack 'it'\\''s'\\!'/r.git'");
    }

    #[test]
    fn a_host_that_ssh_would_read_as_an_option_is_refused() {
        for url in [
            "ssh://-oProxyCommand=touch%20pwned/path",
            "-oProxyCommand=touch pwned:path",
            "ssh://-oProxyCommand=sh@host/path",
        ] {
            assert!(
                matches!(SshTarget::parse(url), Err(UrlProblem::Unsafe { .. })),
                "{url} was accepted"
            );
        }
        assert_eq!(
            SshTarget::parse("ssh://-oProxyCommand=evil/path"),
            Err(UrlProblem::Unsafe {
                part: "host",
                value: "-oProxyCommand=evil".to_owned()
            })
        );
        assert!(matches!(
            SshTarget::parse("host:-oProxyCommand=evil"),
            Err(UrlProblem::Unsafe { part: "path", .. })
        ));
    }

    #[test]
    fn a_refused_host_records_the_failure_and_runs_nothing() {
        let session = Arc::new(PushSession::default());
        let Err(err) = SshSubtransport::new(Arc::clone(&session))
            .action("ssh://-oProxyCommand=touch%20x/p", Service::ReceivePackLs)
        else {
            panic!("a stream was opened");
        };
        assert_eq!(err.code(), ErrorCode::Invalid);
        assert!(matches!(
            session.failure(),
            Some(TransportFailure::UnsafeSshUrl { part: "host", .. })
        ));
    }

    #[test]
    fn malformed_ssh_urls_are_refused_with_a_reason() {
        for url in ["ssh://host", "ssh://host:port/p", "ssh://@/p", "host:"] {
            assert!(
                matches!(SshTarget::parse(url), Err(UrlProblem::Malformed(_))),
                "{url}: {:?}",
                SshTarget::parse(url)
            );
        }
    }

    #[test]
    fn a_bracketed_ipv6_host_keeps_its_port() {
        let parsed = target("ssh://git@[::1]:2222/r.git");
        assert_eq!((parsed.host.as_str(), parsed.port), ("::1", Some(2222)));
    }
}
