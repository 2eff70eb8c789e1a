//! The HTTP server: hyper's HTTP/1, one task per connection answering from the
//! [`Site`], and one task that reads the cluster every [`POLL_INTERVAL`] and keeps the
//! last [`LiveView`], so any number of browsers cost the cluster one list a second.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::model::{LiveSource, LiveView};
use super::routes::Site;
use super::{POLL_INTERVAL, ServeError};

/// How long one read of the cluster may take before the page says it did not answer.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The cluster to read, named as kubectl names it (`KUBECONFIG` is read too).
#[derive(Debug, Clone, Default)]
pub struct ClusterTarget {
    /// The kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// Its context.
    pub context: Option<String>,
}

/// Listens on `listen`; port 0 picks a free one, which the listener's address tells.
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind { listen, source })
}

/// Serves `site` on `listener` until the process ends, with the live state read from
/// `source` on the cluster `target` names.
pub async fn serve(listener: TcpListener, site: Site, source: LiveSource, target: ClusterTarget) {
    let site = Arc::new(site);
    // Built once the kubeconfig loads, then kept: its connections are pooled, so a poll is
    // one list on an open connection, not a kubeconfig read and a TLS handshake a second.
    let mut client = None;
    let first = LiveView::of(&read(&source, &target, &mut client).await, site.links());
    let (sender, live) = watch::channel(Arc::new(first));
    let links = site.links().clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL_INTERVAL).await;
            let view = LiveView::of(&read(&source, &target, &mut client).await, &links);
            sender.send_if_modified(|last| {
                let changed = **last != view;
                if changed {
                    *last = Arc::new(view);
                }
                changed
            });
        }
    });
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait rather than spin; the browser retries.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (site, live) = (site.clone(), live.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let reply = respond(&site, &request, &live.borrow());
                async move { Ok::<_, Infallible>(reply) }
            });
            // A connection that fails (the browser went away) concerns that browser only.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What the cluster says now, as `gitgen status` reads it, or the git side alone; through
/// `client`, which is connected first if it is not yet (a kubeconfig that failed to load
/// is tried again at the next read).
async fn read(
    source: &LiveSource,
    target: &ClusterTarget,
    client: &mut Option<kube::Client>,
) -> super::model::LiveState {
    let answer = tokio::time::timeout(READ_TIMEOUT, async {
        let connected = match client {
            Some(kept) => Ok(kept.clone()),
            None => crate::cluster::connect(target.kubeconfig.as_deref(), target.context.as_deref())
                .await
                .map_err(crate::Error::from),
        };
        if let Ok(connected) = &connected {
            *client = Some(connected.clone());
        }
        source.read(connected).await
    })
    .await;
    answer.unwrap_or_else(|_| {
        source.unanswered(&format!(
            "the cluster did not answer within {} s",
            READ_TIMEOUT.as_secs()
        ))
    })
}

/// The HTTP response to `request`, with headers that keep the page to itself: no
/// script, style or connection but its own, no framing, no caching of live state.
fn respond(site: &Site, request: &Request<Incoming>, live: &LiveView) -> Response<Full<Bytes>> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let reply = site.reply(request.method(), host, request.uri().path(), live);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if reply.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}
