//! git's smart HTTP protocol (gitprotocol-http(5)) over `ureq`, for `http://` and
//! `https://` remotes: one GET for the advertisement, one POST for the pack.
//!
//! Credentials as git offers them: the first request goes without; a 401 is answered
//! with the next credential (the URL's own password, then `GITGEN_GIT_TOKEN`, then git's
//! credential helpers), each at most once, and only to the host the remote URL names. An
//! accepted `Authorization` stays in memory for the POST. A redirect is followed for the
//! advertisement only and moves the POST with it, as git's `http.followRedirects=initial`
//! (git's http.c, `update_url_from_redirect`); ureq drops the `Authorization` header on
//! every redirect (`RedirectAuthHeaders::Never`, its default).

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream};
use git2::{CredentialHelper, Error, ErrorClass, ErrorCode};
use ureq::ResponseExt;
use ureq::http::Response;

use super::{PushSession, TransportFailure, net_error, service_program};

/// GitHub serves the smart protocol to agents named `git/…` (git2-curl and libgit2 send
/// the same prefix).
const USER_AGENT: &str = concat!("git/2.0 (gitgen ", env!("CARGO_PKG_VERSION"), ")");

pub(super) struct HttpSubtransport {
    connection: Connection,
}

impl HttpSubtransport {
    pub(super) fn new(session: Arc<PushSession>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        HttpSubtransport {
            connection: Connection {
                agent,
                session,
                endpoint: Arc::new(Mutex::new(None)),
            },
        }
    }
}

impl SmartSubtransport for HttpSubtransport {
    fn action(&self, url: &str, action: Service) -> Result<Box<dyn SmartSubtransportStream>, Error> {
        self.connection.start(url)?;
        let response = match action {
            Service::UploadPackLs | Service::ReceivePackLs => Some(self.connection.advertisement(action)?),
            Service::UploadPack | Service::ReceivePack => None,
        };
        Ok(Box::new(HttpStream {
            connection: self.connection.clone(),
            service: action,
            request: Vec::new(),
            response,
        }))
    }

    fn close(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// What one push's requests share: the agent, the session and where the repository is.
#[derive(Clone)]
struct Connection {
    agent: ureq::Agent,
    session: Arc<PushSession>,
    endpoint: Arc<Mutex<Option<Endpoint>>>,
}

/// Where the repository answers, and with which credential.
struct Endpoint {
    /// The repository's URL without user information or trailing `/`, moved by a redirect
    /// of the advertisement.
    base: String,
    credentials: CredentialQueue,
    /// The `Authorization` value the remote accepted (or is being offered).
    authorization: Option<String>,
}

type Body = ureq::BodyReader<'static>;

impl Connection {
    /// Sets the endpoint from the remote's URL on the first action of the push.
    fn start(&self, url: &str) -> Result<(), Error> {
        let mut endpoint = self.endpoint.lock().unwrap_or_else(PoisonError::into_inner);
        if endpoint.is_some() {
            return Ok(());
        }
        let mut parsed = url::Url::parse(url).map_err(|e| {
            Error::new(
                ErrorCode::Invalid,
                ErrorClass::Net,
                format!("`{url}` is not a URL: {e}"),
            )
        })?;
        let user = (!parsed.username().is_empty()).then(|| percent_decoded(parsed.username()));
        let password = parsed.password().map(percent_decoded);
        let helper = self
            .session
            .helper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let credentials = CredentialQueue {
            host: parsed.host_str().map(str::to_owned),
            user,
            url_password: password,
            token: self.session.token.clone(),
            helper,
        };
        // Neither part can fail on a URL with a host, which http(s) URLs always have.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        *endpoint = Some(Endpoint {
            base: parsed.as_str().trim_end_matches('/').to_owned(),
            credentials,
            authorization: None,
        });
        Ok(())
    }

    /// GETs `info/refs` for `service`, following redirects, and returns the body.
    fn advertisement(&self, service: Service) -> Result<Body, Error> {
        let program = service_program(service);
        let suffix = format!("/info/refs?service={program}");
        let response = self.send(&suffix, None, |base, url, response| {
            // The advertisement was redirected: the repository is where it landed, so the
            // POST goes there too (git refuses a redirect that drops the suffix).
            let landed = response.get_uri().to_string();
            if landed != url {
                *base = landed
                    .strip_suffix(&suffix)
                    .ok_or_else(|| {
                        net_error(format!(
                            "`{url}` redirected to `{landed}`, which is not a git repository"
                        ))
                    })?
                    .to_owned();
            }
            Ok(())
        })?;
        expect_content_type(&response, &format!("application/x-{program}-advertisement"))?;
        Ok(response.into_body().into_reader())
    }

    /// POSTs `request` to the service's endpoint and returns the result's body.
    fn rpc(&self, service: Service, request: &[u8]) -> Result<Body, Error> {
        let program = service_program(service);
        let response = self.send(&format!("/{program}"), Some((program, request)), |_, _, _| Ok(()))?;
        expect_content_type(&response, &format!("application/x-{program}-result"))?;
        Ok(response.into_body().into_reader())
    }

    /// Sends a request to the endpoint's base followed by `suffix`, answering each 401 with
    /// the next credential. `body` is the service and the pack request of a POST; a GET
    /// follows redirects and hands the response to `redirected`, which may move the base.
    fn send(
        &self,
        suffix: &str,
        body: Option<(&str, &[u8])>,
        redirected: impl Fn(&mut String, &str, &Response<ureq::Body>) -> Result<(), Error>,
    ) -> Result<Response<ureq::Body>, Error> {
        let mut guard = self.endpoint.lock().unwrap_or_else(PoisonError::into_inner);
        let endpoint = guard
            .as_mut()
            .ok_or_else(|| net_error("the HTTP transport was used before its URL was set".to_owned()))?;
        loop {
            let url = format!("{}{suffix}", endpoint.base);
            let shown = endpoint.base.clone();
            let response = match body {
                None => {
                    let mut request = self.agent.get(&url);
                    if let Some(authorization) = &endpoint.authorization {
                        request = request.header("Authorization", authorization);
                    }
                    request.call()
                }
                Some((program, pack)) => {
                    // A POST is never redirected: its body would be lost (git's `initial`).
                    let mut request = self
                        .agent
                        .post(&url)
                        .config()
                        .max_redirects(0)
                        .build()
                        .header("Content-Type", format!("application/x-{program}-request"))
                        .header("Accept", format!("application/x-{program}-result"));
                    if let Some(authorization) = &endpoint.authorization {
                        request = request.header("Authorization", authorization);
                    }
                    request.send(pack)
                }
            }
            .map_err(|e| net_error(format!("{shown}: {e}")))?;
            redirected(&mut endpoint.base, &url, &response)?;
            let host = response.get_uri().host().map(str::to_owned);
            match response.status().as_u16() {
                200..=299 => return Ok(response),
                401 => match endpoint.credentials.next(host.as_deref()) {
                    Some(authorization) => endpoint.authorization = Some(authorization),
                    None => {
                        let message = format!(
                            "{} answered 401 Unauthorized to every credential offered",
                            endpoint.base
                        );
                        return Err(self.session.fail(TransportFailure::AuthRejected, message));
                    }
                },
                403 => {
                    let message = format!(
                        "{} answered 403 Forbidden: the credential may not push here",
                        endpoint.base
                    );
                    return Err(self.session.fail(TransportFailure::AuthRejected, message));
                }
                status => return Err(net_error(format!("{} answered HTTP {status}", endpoint.base))),
            }
        }
    }
}

fn expect_content_type(response: &Response<ureq::Body>, expected: &str) -> Result<(), Error> {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.split(';').next().is_some_and(|t| t.trim() == expected) {
        return Ok(());
    }
    Err(net_error(format!(
        "{} answered with `{content_type}` where git's smart protocol sends `{expected}`: not a git server",
        response.get_uri()
    )))
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// One exchange: libgit2 writes the pack request, then reads the result; the
/// advertisement's stream arrives with its response.
struct HttpStream {
    connection: Connection,
    service: Service,
    request: Vec<u8>,
    response: Option<Body>,
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            let response = self
                .connection
                .rpc(self.service, &self.request)
                .map_err(|e| io::Error::other(e.message().to_owned()))?;
            self.response = Some(response);
        }
        self.response.as_mut().map_or(Ok(0), |response| response.read(buf))
    }
}

impl Write for HttpStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other(
                "git wrote to an HTTP exchange after reading its answer",
            ));
        }
        self.request.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The credentials a 401 is answered with, each offered at most once (a remote that
/// rejects them all ends the push instead of looping), and never to another host.
struct CredentialQueue {
    /// The host the remote URL names.
    host: Option<String>,
    /// The URL's user name, if it has one.
    user: Option<String>,
    /// The URL's own password (`https://user:password@host/…`).
    url_password: Option<String>,
    token: Option<String>,
    helper: Option<CredentialHelper>,
}

impl CredentialQueue {
    /// The next `Authorization` value for a 401 from `host`, if any is left.
    fn next(&mut self, host: Option<&str>) -> Option<String> {
        if host != self.host.as_deref() {
            return None;
        }
        if let Some(password) = self.url_password.take() {
            return Some(basic(self.user.as_deref().unwrap_or(""), &password));
        }
        if let Some(token) = self.token.take() {
            // GitHub and GitLab accept a token as the password with any user name.
            return Some(basic(self.user.as_deref().unwrap_or("x-access-token"), &token));
        }
        let (user, password) = self.helper.take()?.execute()?;
        Some(basic(&user, &password))
    }
}

/// An `Authorization` value for HTTP Basic authentication.
fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    const TOKEN: &str = "unit-test-token";
    const ADVERTISED: &str = "001f# service=git-receive-pack\n0000";

    /// A request as the test server saw it: the request line, the `Authorization` value
    /// and the body.
    #[derive(Debug, Clone)]
    struct Seen {
        line: String,
        authorization: Option<String>,
        body: Vec<u8>,
    }

    /// An HTTP server on 127.0.0.1 that answers each request with `answer(request)` and
    /// records them; the URL of `/o/r.git` on it.
    fn serve(answer: impl Fn(&Seen) -> String + Send + 'static) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    head.push(line.trim_end().to_owned());
                    line.clear();
                }
                let header = |name: &str| {
                    head.iter().find_map(|h| {
                        let (n, v) = h.split_once(':')?;
                        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                };
                let mut body = vec![0; header("content-length").map_or(0, |l| l.parse().unwrap())];
                reader.read_exact(&mut body).unwrap();
                let request = Seen {
                    line: head[0].clone(),
                    authorization: header("authorization"),
                    body,
                };
                let response = answer(&request);
                record.lock().unwrap().push(request);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        (format!("{base}/o/r.git"), seen)
    }

    fn response(status: &str, headers: &[&str], body: &str) -> String {
        let mut text = format!("HTTP/1.1 {status}\r\n");
        for header in headers {
            text.push_str(&format!("{header}\r\n"));
        }
        text + &format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    }

    fn advertisement() -> String {
        response(
            "200 OK",
            &["Content-Type: application/x-git-receive-pack-advertisement"],
            ADVERTISED,
        )
    }

    fn unauthorized() -> String {
        response("401 Unauthorized", &["WWW-Authenticate: Basic realm=\"git\""], "")
    }

    fn session_with_token() -> Arc<PushSession> {
        Arc::new(PushSession::new(Some(TOKEN.to_owned()), None, None))
    }

    fn read_all(mut stream: Box<dyn SmartSubtransportStream>) -> String {
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn a_401_is_answered_with_the_token_and_then_the_advertisement_is_read() {
        let (url, seen) = serve(|request| match &request.authorization {
            Some(given) if *given == basic("x-access-token", TOKEN) => advertisement(),
            _ => unauthorized(),
        });
        let transport = HttpSubtransport::new(session_with_token());

        let stream = transport.action(&url, Service::ReceivePackLs).unwrap();

        assert_eq!(read_all(stream), ADVERTISED);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[0].authorization, None,
            "the first request goes without a credential"
        );
        assert_eq!(seen[1].line, "GET /o/r.git/info/refs?service=git-receive-pack HTTP/1.1");
    }

    #[test]
    fn the_accepted_credential_goes_with_the_pack() {
        let (url, seen) = serve(
            |request| match (&request.authorization, request.line.starts_with("POST")) {
                (None, _) => unauthorized(),
                (Some(_), false) => advertisement(),
                (Some(_), true) => response("200 OK", &["Content-Type: application/x-git-receive-pack-result"], "ok"),
            },
        );
        let transport = HttpSubtransport::new(session_with_token());
        read_all(transport.action(&url, Service::ReceivePackLs).unwrap());

        let mut pack = transport.action(&url, Service::ReceivePack).unwrap();
        pack.write_all(b"PACK").unwrap();

        assert_eq!(read_all(pack), "ok");
        let seen = seen.lock().unwrap();
        let post = seen.last().unwrap();
        assert_eq!(post.line, "POST /o/r.git/git-receive-pack HTTP/1.1");
        assert_eq!(post.body, b"PACK");
        assert_eq!(
            post.authorization.as_deref(),
            Some(basic("x-access-token", TOKEN).as_str())
        );
    }

    #[test]
    fn a_rejected_token_is_offered_once_and_recorded_as_an_auth_failure() {
        let (url, seen) = serve(|_| unauthorized());
        let session = session_with_token();

        let Err(err) = HttpSubtransport::new(Arc::clone(&session)).action(&url, Service::ReceivePackLs) else {
            panic!("the advertisement was read");
        };

        assert_eq!(err.code(), ErrorCode::Auth);
        assert_eq!(session.failure(), Some(TransportFailure::AuthRejected));
        assert_eq!(seen.lock().unwrap().len(), 2, "one request without, one with the token");
        assert!(!err.message().contains(TOKEN), "{}", err.message());
    }

    #[test]
    fn a_403_is_an_auth_failure_without_further_attempts() {
        let (url, seen) = serve(|_| response("403 Forbidden", &[], ""));
        let session = session_with_token();

        let result = HttpSubtransport::new(Arc::clone(&session)).action(&url, Service::ReceivePackLs);

        assert!(result.is_err());
        assert_eq!(session.failure(), Some(TransportFailure::AuthRejected));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_redirected_advertisement_moves_the_pack_to_where_it_landed() {
        let (url, seen) = serve(|request| {
            if request.line.starts_with("GET /old/r.git/") {
                response(
                    "301 Moved Permanently",
                    &["Location: /o/r.git/info/refs?service=git-receive-pack"],
                    "",
                )
            } else if request.line.starts_with("GET /o/r.git/") {
                advertisement()
            } else {
                response("200 OK", &["Content-Type: application/x-git-receive-pack-result"], "ok")
            }
        });
        let old = url.replace("/o/r.git", "/old/r.git");
        let transport = HttpSubtransport::new(Arc::default());
        assert_eq!(
            read_all(transport.action(&old, Service::ReceivePackLs).unwrap()),
            ADVERTISED
        );

        let mut pack = transport.action(&old, Service::ReceivePack).unwrap();
        pack.write_all(b"PACK").unwrap();
        read_all(pack);

        let seen = seen.lock().unwrap();
        assert_eq!(seen.last().unwrap().line, "POST /o/r.git/git-receive-pack HTTP/1.1");
    }

    #[test]
    fn a_server_that_is_not_a_smart_git_server_is_named_as_such() {
        let (url, _) = serve(|_| response("200 OK", &["Content-Type: text/html"], "<html>"));

        let Err(err) = HttpSubtransport::new(Arc::default()).action(&url, Service::ReceivePackLs) else {
            panic!("an HTML page was taken for an advertisement");
        };

        assert!(err.message().contains("not a git server"), "{}", err.message());
    }

    fn queue(user: Option<&str>, url_password: Option<&str>) -> CredentialQueue {
        CredentialQueue {
            host: Some("github.com".to_owned()),
            user: user.map(str::to_owned),
            url_password: url_password.map(str::to_owned),
            token: Some(TOKEN.to_owned()),
            helper: None,
        }
    }

    #[test]
    fn the_token_is_offered_only_to_the_host_the_remote_names() {
        assert_eq!(queue(None, None).next(Some("evil.example")), None);
        assert_eq!(queue(None, None).next(None), None);
        assert_eq!(
            queue(None, None).next(Some("github.com")),
            Some(basic("x-access-token", TOKEN))
        );
    }

    #[test]
    fn the_url_s_password_comes_first_then_the_token_with_the_url_s_user() {
        let mut queue = queue(Some("alice"), Some("pw"));
        assert_eq!(queue.next(Some("github.com")), Some(basic("alice", "pw")));
        assert_eq!(queue.next(Some("github.com")), Some(basic("alice", TOKEN)));
        assert_eq!(queue.next(Some("github.com")), None);
    }
}
