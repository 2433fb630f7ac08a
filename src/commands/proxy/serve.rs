//! The async half of the proxy: hyper's HTTP/1 server on a small tokio
//! runtime. Each connection is a tokio task (an idle or slow client costs a
//! task, not a thread); hyper parses the requests, with a deadline for a
//! request's head ([`HEAD_TIMEOUT`]) so a client that sends its headers
//! byte by byte is dropped in the end and never holds anything but its own
//! task. A request is admitted here (the token, the path, `--allow`), then
//! forwarded on tokio's blocking pool ([`forward::run`]), since the
//! pipeline is blocking; its answer comes back through a bounded channel.
//! Every request gets one log line ([`Log`]); those still running when the
//! proxy stops get one saying they were cut ([`InFlight`]).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::{Method, Request as HyperRequest, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::Handle;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use super::access::{Allow, has_token};
use super::forward::{self, Upstream};
use crate::http::pipeline::without_auth_query;
use crate::http::url::hidden_climb;
use crate::http::{Body, Request, resolve};

/// How long a client may take to send a request's head, counted from when
/// the proxy starts waiting for it (the connection accepted, or the last
/// answer sent on a kept-alive one), as Go's `ReadHeaderTimeout` and
/// nginx's `client_header_timeout`: a connection that has not sent a whole
/// head by then is closed.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// Of those, connections that have not shown the token yet (TCP): when one
/// more comes, the oldest of them is closed, so that connections without
/// the token cannot keep a client with it out.
pub const MAX_UNPROVEN: usize = 64;

/// What the proxy knows while it runs.
pub struct State {
    pub up: Upstream,
    /// The access token (TCP); `None` on a Unix socket.
    pub token: Option<String>,
    pub allow: Allow,
    pub log: Log,
    pub inflight: InFlight,
    /// Set once the proxy is stopping: nothing new is forwarded.
    pub stopping: AtomicBool,
    pub unproven: Unproven,
}

/// A connection that has not shown the token yet, watched so that it can
/// be closed to make room.
pub struct Watch {
    id: u64,
    close: Notify,
    /// A request on it carried the token.
    proven: AtomicBool,
}

/// The connections that have not shown the token yet, oldest first (at
/// most [`MAX_UNPROVEN`]). A connection leaves once a request on it carries
/// the token, or when it ends.
#[derive(Default)]
pub struct Unproven {
    next: AtomicU64,
    queue: Mutex<VecDeque<Arc<Watch>>>,
}

impl Unproven {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Watch>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection; the oldest are closed past the limit.
    fn add(&self) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            close: Notify::new(),
            proven: AtomicBool::new(false),
        });
        let mut queue = self.lock();
        while queue.len() >= MAX_UNPROVEN {
            if let Some(old) = queue.pop_front() {
                old.close.notify_one();
            }
        }
        queue.push_back(watch.clone());
        watch
    }

    /// Closes the oldest connection without the token other than `keep`;
    /// whether there was one.
    fn close_oldest(&self, keep: Option<u64>) -> bool {
        let mut queue = self.lock();
        let Some(at) = queue.iter().position(|w| Some(w.id) != keep) else {
            return false;
        };
        if let Some(old) = queue.remove(at) {
            old.close.notify_one();
        }
        true
    }

    /// The connection showed the token, or ended: no longer watched.
    fn forget(&self, id: u64) {
        self.lock().retain(|w| w.id != id);
    }
}

/// The body of an answer: made by the proxy, or streamed from upstream.
pub enum Out {
    Full(Option<Bytes>),
    /// The chunks, and whether the stream broke off: then the end of the
    /// channel is an error, so the client's connection is aborted rather
    /// than the body ended as if it were whole.
    Stream(mpsc::Receiver<Bytes>, Arc<AtomicBool>),
}

impl HttpBody for Out {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Out::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Out::Stream(rx, broken) => match std::task::ready!(rx.poll_recv(cx)) {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                None if broken.swap(false, Ordering::SeqCst) => {
                    Poll::Ready(Some(Err(io::Error::other("the answer broke off"))))
                }
                None => Poll::Ready(None),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Out::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Out::Full(None) => SizeHint::with_exact(0),
            Out::Stream(..) => SizeHint::default(),
        }
    }
}

/// Serves every connection `accept` yields, each as a task of its own, at
/// most [`MAX_CONNECTIONS`] at once. Over TCP, connections that have not
/// shown the token are at most [`MAX_UNPROVEN`] of them: past that, or when
/// every slot is taken, the oldest such connection is closed to make room.
pub async fn accept_loop<S, F, Fut>(state: Arc<State>, mut accept: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = io::Result<S>>,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match accept().await {
            Ok(s) => s,
            Err(_) => {
                // Out of file descriptors, or a connection gone before it
                // was accepted: try again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let watch = state.token.is_some().then(|| state.unproven.add());
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Every slot is taken: a connection without the token gives
                // its own up; if all have shown it, wait for one to end.
                state.unproven.close_oldest(watch.as_ref().map(|w| w.id));
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                slot
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = {
                let (state, watch) = (state.clone(), watch.clone());
                hyper::service::service_fn(move |req| handle(req, state.clone(), watch.clone()))
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let started = Instant::now();
            // `None`: closed to make room for a newer connection.
            let ended = match &watch {
                Some(w) => {
                    let mut connection = std::pin::pin!(connection);
                    let mut closed = std::pin::pin!(w.close.notified());
                    let ended = std::future::poll_fn(|cx| {
                        if let Poll::Ready(r) = connection.as_mut().poll(cx) {
                            Poll::Ready(Some(r))
                        } else if closed.as_mut().poll(cx).is_ready() {
                            Poll::Ready(None)
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                    state.unproven.forget(w.id);
                    ended
                }
                None => Some(connection.await),
            };
            let unproven = watch.is_some_and(|w| !w.proven.load(Ordering::SeqCst));
            if let Some(why) = refused_connection(ended.as_ref(), unproven) {
                state.log.connection(&why, started);
            }
            drop(slot);
        });
        // The new connection's task gets its turn before the next accept:
        // a client that sent its head at once shows its token before more
        // connections can push it out.
        tokio::task::yield_now().await;
    }
}

/// The log's status for a connection hyper ended without a request to
/// hand over: a head refused as too large (hyper answered 431) or
/// unreadable (400), one not whole within [`HEAD_TIMEOUT`] on a connection
/// that never showed the token (an idle kept-alive connection closes
/// quietly), or one closed to make room (`ended` is `None`).
fn refused_connection(ended: Option<&Result<(), hyper::Error>>, unproven: bool) -> Option<String> {
    let e = match ended {
        None => {
            return Some(format!(
                "closed: the oldest of {MAX_UNPROVEN} connections without the token"
            ));
        }
        Some(Ok(())) => return None,
        Some(Err(e)) => e,
    };
    if e.is_parse_too_large() {
        Some("431 refused: the request head is too large".into())
    } else if e.is_parse() {
        Some(format!("400 refused: {e}"))
    } else if e.is_timeout() && unproven {
        Some(format!(
            "closed: no whole request head within {} s",
            HEAD_TIMEOUT.as_secs()
        ))
    } else {
        None
    }
}

/// One request: refused here, or forwarded on the blocking pool.
async fn handle(
    req: HyperRequest<Incoming>,
    state: Arc<State>,
    watch: Option<Arc<Watch>>,
) -> Result<Response<Out>, Infallible> {
    let started = Instant::now();
    if let (Some(w), Some(token)) = (&watch, &state.token)
        && has_token(req.headers(), token)
    {
        w.proven.store(true, Ordering::SeqCst);
        state.unproven.forget(w.id);
    }
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let shown = state.shown(&path_and_query);
    let admitted = if state.stopping.load(Ordering::SeqCst) {
        Err(Box::new(state.stopping_answer()))
    } else {
        state.admit(&req, &path_and_query)
    };
    let url = match admitted {
        Ok(url) => url,
        Err(refusal) => {
            let (status, len) = (refusal.status(), refusal.size_hint().exact().unwrap_or(0));
            state
                .log
                .request(&method, &shown, &status.as_u16().to_string(), len, started);
            return Ok(*refusal);
        }
    };
    let request = state.upstream_request(req, url);
    let (respond, answer) = oneshot::channel();
    let id = state.inflight.begin(&method, &shown, started);
    let job = state.clone();
    tokio::task::spawn_blocking(move || {
        let sent = job.inflight.counter(id);
        let outcome = forward::run(&job.up, request, respond, &sent);
        if let Some(entry) = job.inflight.end(id) {
            let status = match outcome.cut {
                Some(why) => format!("{} cut: {why}", outcome.status),
                None => outcome.status.to_string(),
            };
            job.log.request(
                &entry.method,
                &entry.shown,
                &status,
                sent.load(Ordering::Relaxed),
                entry.started,
            );
        }
    });
    Ok(answer.await.unwrap_or_else(|_| {
        state.json_answer(
            StatusCode::BAD_GATEWAY,
            "cred proxy could not forward the request",
            "the forwarding thread ended without an answer",
        )
    }))
}

impl State {
    /// The upstream URL for an admitted request, or the answer refusing
    /// it: 401 without the token (TCP), 400 for a path outside the base
    /// URL (also one that only climbs out once the API decodes it) or a
    /// query carrying the credential's own key parameter, 403
    /// for one `--allow` does not list (or one carrying a method or URL
    /// override header while `--allow` is set).
    fn admit(
        &self,
        req: &HyperRequest<Incoming>,
        path_and_query: &str,
    ) -> Result<url::Url, Box<Response<Out>>> {
        if let Some(token) = &self.token
            && !has_token(req.headers(), token)
        {
            let mut r = self.json_answer(
                StatusCode::UNAUTHORIZED,
                "cred proxy: access token missing or wrong",
                "send the token cred proxy printed as CRED_PROXY_TOKEN, in `Authorization: Bearer TOKEN` or `Proxy-Authorization: Bearer TOKEN`",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"cred proxy\""),
            );
            return Err(Box::new(r));
        }
        if req.method() == Method::CONNECT {
            return Err(Box::new(self.json_answer(
                StatusCode::METHOD_NOT_ALLOWED,
                "cred proxy does not tunnel",
                "send plain HTTP requests to the proxy's URL; it adds the auth and forwards them",
            )));
        }
        let url = resolve(&self.up.base, path_and_query).map_err(|why| {
            self.json_answer(StatusCode::BAD_REQUEST, "cred proxy: bad path", &why)
        })?;
        let mut url = url;
        self.without_masked_key(&mut url)?;
        let prefix = self.up.base.path().trim_end_matches('/');
        let under = url.path().get(prefix.len()..).unwrap_or("");
        let under = if under.is_empty() { "/" } else { under };
        let refusal = self
            .allow
            .override_refusal(req.headers())
            .or_else(|| self.allow.refusal(req.method(), under));
        if let Some(why) = refusal {
            let body = serde_json::json!({
                "error": "cred proxy: not allowed",
                "reason": why,
                "allowed": self.allow.rules(),
            });
            return Err(Box::new(forward::answer(
                &self.up.secrets,
                StatusCode::FORBIDDEN,
                &body,
            )));
        }
        if hidden_climb(under) {
            return Err(Box::new(self.json_answer(
                StatusCode::BAD_REQUEST,
                "cred proxy: bad path",
                &format!(
                    "`{under}` holds a `..` hidden by percent-encoding or a `;` parameter, which the API could resolve outside the base URL"
                ),
            )));
        }
        Ok(url)
    }

    /// Takes the credential's key parameter (query placement) out of
    /// `url`: a link the proxy passed on with the key masked comes back
    /// with the mask, dropped here (the pipeline puts the key there). Any
    /// other value is the client's own key, refused (400), not silently
    /// replaced.
    fn without_masked_key(&self, url: &mut url::Url) -> Result<(), Box<Response<Out>>> {
        let Some((name, _)) = self.up.auth.query() else {
            return Ok(());
        };
        if url
            .query_pairs()
            .any(|(k, v)| k == name && v != crate::scrub::REDACTED)
        {
            return Err(Box::new(self.json_answer(
                StatusCode::BAD_REQUEST,
                "cred proxy: the request carries its own key",
                &format!(
                    "the query parameter `{}` is the one cred proxy sets from the stored key; leave it out",
                    crate::escape::visible(name)
                ),
            )));
        }
        without_auth_query(url, &self.up.auth);
        Ok(())
    }

    /// 503 with `Connection: close`: the proxy is stopping.
    fn stopping_answer(&self) -> Response<Out> {
        let mut r = self.json_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "cred proxy is stopping",
            "it forwards nothing more; start it again to go on",
        );
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        r
    }

    /// The admitted request as it goes upstream: the client's headers
    /// without the hop-by-hop ones and the token, its body streamed.
    fn upstream_request(&self, req: HyperRequest<Incoming>, url: url::Url) -> Request {
        let (parts, body) = req.into_parts();
        let mut headers =
            forward::upstream_headers(&parts.headers, &self.up.auth, self.token.as_deref());
        crate::providers::add_default_headers(&mut headers, &self.up.headers);
        let len = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = if body.is_end_stream() {
            // An empty body the client announced (`Content-Length: 0`) goes
            // upstream announced too: some servers want a length on a POST.
            len.map(|_| Body::Bytes(Vec::new()))
        } else {
            let reader = IncomingReader {
                body,
                runtime: Handle::current(),
                chunk: Bytes::new(),
                timeout: self.up.timeout,
            };
            Some(Body::Stream(crate::http::body::Streamed::new(reader, len)))
        };
        Request {
            method: parts.method,
            url,
            headers,
            body,
        }
    }

    /// An answer the proxy makes itself, masked ([`forward::json_answer`]).
    fn json_answer(&self, status: StatusCode, error: &str, reason: &str) -> Response<Out> {
        forward::json_answer(&self.up.secrets, status, error, reason)
    }

    /// The path and query for the log: the value of a query-placed key's
    /// parameter masked, whatever it is (the log masks every form of the
    /// key and the token, and escapes control characters, in every line).
    fn shown(&self, path_and_query: &str) -> String {
        let mut text = path_and_query.to_string();
        if let (Some((name, _)), Some((path, query))) = (self.up.auth.query(), text.split_once('?'))
        {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k == name => format!("{k}={}", crate::scrub::REDACTED),
                    _ => pair.to_string(),
                })
                .collect();
            text = format!("{path}?{}", pairs.join("&"));
        }
        text
    }
}

/// The client's request body as a blocking reader for the pipeline: each
/// read waits (on the runtime) for the next chunk hyper has, at most the
/// proxy's timeout.
struct IncomingReader {
    body: Incoming,
    runtime: Handle,
    chunk: Bytes,
    timeout: Duration,
}

impl Read for IncomingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let body = &mut self.body;
            let next = self.runtime.block_on(tokio::time::timeout(
                self.timeout,
                std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)),
            ));
            match next {
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped sending its request body",
                    ));
                }
                Ok(None) => return Ok(0),
                Ok(Some(Err(e))) => return Err(io::Error::other(e)),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// The request log: one line per request, to stderr or `--log FILE`,
/// each masked and escaped by `ui::log::Log`.
pub struct Log(pub crate::ui::log::Log);

impl Log {
    /// `TIME METHOD PATH STATUS BYTES B MS ms`.
    pub fn request(
        &self,
        method: &Method,
        shown: &str,
        status: &str,
        bytes: u64,
        started: Instant,
    ) {
        let line = format!(
            "{} {method} {shown} {status} {bytes} B {} ms",
            humantime::format_rfc3339_seconds(SystemTime::now()),
            started.elapsed().as_millis()
        );
        self.line(&line);
    }

    /// `TIME - - WHY 0 B MS ms`: a connection ended without a request
    /// (a head refused or too slow, a connection closed to make room).
    pub fn connection(&self, why: &str, started: Instant) {
        let line = format!(
            "{} - - {why} 0 B {} ms",
            humantime::format_rfc3339_seconds(SystemTime::now()),
            started.elapsed().as_millis()
        );
        self.line(&line);
    }

    /// A line of its own (start, stop).
    pub fn line(&self, text: &str) {
        self.0.line(text);
    }
}

/// A forwarded request still running.
pub struct Entry {
    pub method: Method,
    pub shown: String,
    pub started: Instant,
    sent: Arc<AtomicU64>,
}

/// The forwarded requests still running, so that stopping can say which
/// were cut.
#[derive(Default)]
pub struct InFlight {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Entry>>,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self, method: &Method, shown: &str, started: Instant) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Entry {
                method: method.clone(),
                shown: shown.to_string(),
                started,
                sent: Arc::new(AtomicU64::new(0)),
            },
        );
        id
    }

    /// The byte counter of a running request.
    fn counter(&self, id: u64) -> Arc<AtomicU64> {
        self.lock()
            .get(&id)
            .map(|e| e.sent.clone())
            .unwrap_or_default()
    }

    /// Takes a request out; `None` when stopping already logged it as cut.
    fn end(&self, id: u64) -> Option<Entry> {
        self.lock().remove(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Logs every request still running as cut, and forgets them.
    pub fn cut_all(&self, log: &Log, why: &str) {
        let cut: Vec<Entry> = self.lock().drain().map(|(_, e)| e).collect();
        for e in cut {
            log.request(
                &e.method,
                &e.shown,
                &format!("cut: {why}"),
                e.sent.load(Ordering::Relaxed),
                e.started,
            );
        }
    }
}
