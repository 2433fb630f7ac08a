//! The blocking half of the proxy: one forwarded request, run on a thread
//! of tokio's blocking pool (never inside an async task, since the pipeline
//! is `reqwest::blocking`). It sends through the one pipeline
//! ([`Redirects::Pass`]: no redirect followed, so none carries the
//! key anywhere), hands the answer's head back to the server with the
//! hop-by-hop headers dropped, a same-origin `Location` rewritten to the
//! proxy's address and every header value scrubbed, then streams the body
//! through the scrubber ([`ScrubWriter`]) into a small bounded channel.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use reqwest::blocking::Client;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::rewrite::{Links, Rewrite};
use super::serve::Out;
use crate::http::pipeline::{Redirects, undecoded_encoding, without_auth_query};
use crate::http::{Pipeline, Request, SendError, is_under};
use crate::providers::Auth;
use crate::scrub::Secrets;

/// Chunks of an answer in flight between the blocking reader and the
/// connection: at most this many, so memory stays bounded per request.
pub const CHANNEL_CHUNKS: usize = 4;

/// Bytes read from the upstream answer at a time.
const CHUNK: usize = 64 * 1024;

/// Where and how requests are forwarded: shared by every request.
pub struct Upstream {
    pub client: Client,
    pub auth: Auth,
    pub base: Url,
    /// The provider's headers for every request (Anthropic's version),
    /// added where the client did not send them.
    pub headers: Vec<(&'static str, &'static str)>,
    /// Every form of the key and the access token (`Ui`'s set): masked in
    /// answers, their headers and the proxy's own ([`json_answer`]).
    pub secrets: Arc<Secrets>,
    pub timeout: Duration,
    /// How the proxy's client reaches it (`http://127.0.0.1:PORT`), for
    /// rewriting `Location`; empty on a Unix socket (the path alone).
    pub public: String,
    /// Links under the base URL in JSON answers, rewritten to the proxy
    /// (`None` with `--no-rewrite`, or on a Unix socket).
    pub links: Option<Links>,
}

/// How one forwarded request ended, for its log line.
pub struct Outcome {
    pub status: u16,
    /// The answer was not delivered whole: why.
    pub cut: Option<&'static str>,
}

/// Headers that describe one connection, not the message: never passed
/// on in either direction.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers by which an API hands out a session: a cookie got with the key
/// would let the client call the API straight, without the proxy, its
/// `--allow` rules or its `--ttl`. Never passed to the client.
const SESSION: [&str; 2] = ["set-cookie", "set-cookie2"];

/// The client's headers as they go upstream: without the hop-by-hop ones,
/// `Host` and `Content-Length` (the pipeline's client sets them),
/// `Accept-Encoding` (the pipeline's client asks for what it decodes, so
/// the scrubber sees the real bytes), `Expect`, the access token, and any
/// header of the name the credential's auth uses (the auth is added once,
/// by the pipeline).
pub fn upstream_headers(from: &HeaderMap, auth: &Auth, token: Option<&str>) -> HeaderMap {
    let named_by_connection = connection_tokens(from);
    let auth_name = auth.header().map(|(n, _)| n.to_ascii_lowercase());
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        let dropped = HOP_BY_HOP.contains(&n)
            || named_by_connection.iter().any(|c| c == n)
            || [
                header::HOST,
                header::CONTENT_LENGTH,
                header::ACCEPT_ENCODING,
                header::EXPECT,
            ]
            .contains(name)
            || auth_name.as_deref() == Some(n)
            || (name == header::AUTHORIZATION
                && token.is_some_and(|t| super::access::is_bearer(value.as_bytes(), t)));
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The header names a `Connection` header lists (hop-by-hop too).
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Sends `request` and delivers the answer: the head through `respond`,
/// the body's chunks after it. `sent` counts the body bytes delivered.
pub fn run(
    up: &Upstream,
    request: Request,
    respond: oneshot::Sender<Response<Out>>,
    sent: &AtomicU64,
) -> Outcome {
    let (mut response, bodiless) = match fetch(up, &request) {
        Ok(answer) => answer,
        Err(refusal) => {
            let status = refusal.status().as_u16();
            let _ = respond.send(*refusal);
            return Outcome { status, cut: None };
        }
    };
    let status = response.status();
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let broken = Arc::new(AtomicBool::new(false));
    let mut head = Response::new(Out::Stream(rx, broken.clone()));
    *head.status_mut() = status;
    // No body to scrub (HEAD, 204, 304): the length stays as the API said.
    *head.headers_mut() = downstream_headers(up, &request.url, response.headers(), bodiless);
    if respond.send(head).is_err() {
        return Outcome {
            status: status.as_u16(),
            cut: Some("the client went away"),
        };
    }
    let feed = Feed {
        tx,
        broken,
        runtime: Handle::current(),
        timeout: up.timeout,
    };
    let links = up.links.as_ref().filter(|_| is_json(response.headers()));
    let cut = pump(&mut response, &up.secrets, links, &feed, sent);
    Outcome {
        status: status.as_u16(),
        cut,
    }
}

/// Sends `request` upstream: the answer, and whether it has no body
/// (HEAD, 204, 304); or the proxy's own answer saying why it cannot pass
/// one on (502, or 504 after a timeout).
fn fetch(
    up: &Upstream,
    request: &Request,
) -> Result<(reqwest::blocking::Response, bool), Box<Response<Out>>> {
    let answer = Pipeline::new(&up.client, &up.auth, &up.base, up.timeout)
        .redirects(Redirects::Pass)
        .send(request);
    let response = match answer {
        Ok(s) => s.response,
        Err(e @ SendError::TransferCoding { .. }) => {
            return Err(Box::new(json_answer(
                &up.secrets,
                StatusCode::BAD_GATEWAY,
                "cred proxy cannot pass this answer on",
                &e.to_string(),
            )));
        }
        Err(e) => {
            let status = if e.is_timeout() {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            return Err(Box::new(upstream_failed(up, status, &e)));
        }
    };
    // The pipeline's client decodes what it asked for (gzip, deflate, br,
    // zstd); a body still encoded is one the scrubber cannot read, so it
    // is not passed on.
    let bodiless =
        request.method == reqwest::Method::HEAD || matches!(response.status().as_u16(), 204 | 304);
    if let Some(encoding) = undecoded_encoding(response.headers()).filter(|_| !bodiless) {
        return Err(Box::new(json_answer(
            &up.secrets,
            StatusCode::BAD_GATEWAY,
            "cred proxy cannot pass this answer on",
            &format!(
                "the API answered {} with Content-Encoding `{encoding}`, which cred cannot decode, so it cannot keep the key out of it",
                response.status().as_u16()
            ),
        )));
    }
    Ok((response, bodiless))
}

/// Where an answer's body goes: the channel to the client's connection.
struct Feed {
    tx: mpsc::Sender<Bytes>,
    /// Set when the body is not delivered whole.
    broken: Arc<AtomicBool>,
    runtime: Handle,
    /// How long a chunk may wait for the client to take it.
    timeout: Duration,
}

/// Copies the answer's body through the scrubber into the channel. On a
/// broken upstream, or a client that stops reading for longer than the
/// timeout, the stream is marked broken, so the client's connection is
/// aborted rather than the body ended as if it were whole; either way the
/// upstream answer is let go.
fn pump(
    from: &mut impl Read,
    secrets: &Secrets,
    links: Option<&Links>,
    feed: &Feed,
    sent: &AtomicU64,
) -> Option<&'static str> {
    let client_failed = |e: io::Error| {
        feed.broken.store(true, Ordering::SeqCst);
        if e.kind() == io::ErrorKind::TimedOut {
            Some("the client stopped reading")
        } else {
            Some("the client went away")
        }
    };
    let mut w = secrets.writer(Rewrite::new(ChannelWriter { feed, sent }, links));
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = w.write_all(&buf[..n]) {
                    return client_failed(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                feed.broken.store(true, Ordering::SeqCst);
                return Some("the upstream answer broke off");
            }
        }
    }
    match w.finish().and_then(|(rewrite, _)| rewrite.finish()) {
        Ok(_) => None,
        Err(e) => client_failed(e),
    }
}

/// Whether an answer is JSON by its `Content-Type` (`application/json`,
/// `application/hal+json`, `application/x-ndjson`, …).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

/// Hands each scrubbed chunk to the connection, waiting while the channel
/// is full (the client reads slower than the upstream sends), at most the
/// timeout for each chunk.
struct ChannelWriter<'a> {
    feed: &'a Feed,
    sent: &'a AtomicU64,
}

impl Write for ChannelWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let feed = self.feed;
        let chunk = Bytes::copy_from_slice(buf);
        let sending = async { tokio::time::timeout(feed.timeout, feed.tx.send(chunk)).await };
        match feed.runtime.block_on(sending) {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(io::Error::from(io::ErrorKind::BrokenPipe)),
            Err(_) => return Err(io::Error::from(io::ErrorKind::TimedOut)),
        }
        self.sent.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The answer's headers as the client gets them: hop-by-hop ones and
/// session cookies ([`SESSION`]) dropped, and `Content-Length` unless
/// `bodiless` (scrubbing may change the
/// length; the body goes chunked), a `Location` under the base URL
/// rewritten to the proxy, every value scrubbed.
fn downstream_headers(
    up: &Upstream,
    request_url: &Url,
    from: &HeaderMap,
    bodiless: bool,
) -> HeaderMap {
    let named_by_connection = connection_tokens(from);
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || named_by_connection.iter().any(|c| c == n)
            || SESSION.contains(&n)
            || (name == header::CONTENT_LENGTH && !bodiless)
        {
            continue;
        }
        let value = if name == header::LOCATION {
            rewrite_location(up, request_url, value).unwrap_or_else(|| value.clone())
        } else {
            value.clone()
        };
        out.append(name.clone(), scrub_value(&up.secrets, &value));
    }
    out
}

/// A `Location` that points under the credential's base URL, as the same
/// place through the proxy (without a query-placed key); `None` for one
/// that points elsewhere (passed on as it is: the client may follow it,
/// and it never had the key).
fn rewrite_location(up: &Upstream, request_url: &Url, value: &HeaderValue) -> Option<HeaderValue> {
    let mut target = request_url.join(value.to_str().ok()?).ok()?;
    if !is_under(&up.base, &target) {
        return None;
    }
    without_auth_query(&mut target, &up.auth);
    let prefix = up.base.path().trim_end_matches('/');
    let rest = target.path().get(prefix.len()..).unwrap_or("");
    let mut local = format!("{}{}", up.public, if rest.is_empty() { "/" } else { rest });
    if let Some(q) = target.query() {
        local.push('?');
        local.push_str(q);
    }
    if let Some(f) = target.fragment() {
        local.push('#');
        local.push_str(f);
    }
    HeaderValue::from_str(&local).ok()
}

/// A header value with every form of the key masked.
fn scrub_value(secrets: &Secrets, value: &HeaderValue) -> HeaderValue {
    let (bytes, hits) = secrets.scrub_bytes(value.as_bytes());
    if hits == 0 {
        return value.clone();
    }
    HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| HeaderValue::from_static("<redacted>"))
}

/// 502 or 504 with the reason as JSON (masked as every answer the proxy
/// makes: a transport error names hosts, never the key, but nothing is
/// taken on trust).
fn upstream_failed(up: &Upstream, status: StatusCode, e: &SendError) -> Response<Out> {
    let mut reason = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        reason.push_str(": ");
        reason.push_str(&crate::http::error::chain_text(source));
    }
    json_answer(
        &up.secrets,
        status,
        "cred proxy could not reach the API",
        &reason,
    )
}

/// An answer the proxy makes itself: `{"error": …, "reason": …}`, masked
/// ([`answer`]).
pub fn json_answer(
    secrets: &Secrets,
    status: StatusCode,
    error: &str,
    reason: &str,
) -> Response<Out> {
    answer(
        secrets,
        status,
        &serde_json::json!({ "error": error, "reason": reason }),
    )
}

/// Every answer the proxy makes itself goes out here: `value` as JSON,
/// each of its strings masked and escaped ([`Secrets::shown_value`]).
pub fn answer(secrets: &Secrets, status: StatusCode, value: &serde_json::Value) -> Response<Out> {
    let body = secrets.shown_value(value).to_string() + "\n";
    let mut r = Response::new(Out::Full(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `name: value` as header parts, for tests.
#[cfg(test)]
fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use secrecy::SecretString;

    fn upstream(auth: Auth) -> Upstream {
        let key = SecretString::from("k3y-0123456789");
        Upstream {
            client: Client::new(),
            secrets: Arc::new(Secrets::new(&key, &auth)),
            auth,
            base: Url::parse("https://api.example.com/v1").unwrap(),
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
            public: "http://127.0.0.1:9".into(),
            links: None,
        }
    }

    /// Pumps `body` into a channel of one chunk that nobody reads (the
    /// client stopped reading), with a short timeout: how it ended, and
    /// what the client would read in the end (`Err` last when cut).
    fn pump_unread(
        body: impl Read + Send + 'static,
    ) -> (Option<&'static str>, Vec<io::Result<usize>>) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(1);
        let broken = Arc::new(AtomicBool::new(false));
        let feed = Feed {
            tx,
            broken: broken.clone(),
            runtime: runtime.handle().clone(),
            timeout: Duration::from_millis(200),
        };
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut body = body;
            let secrets = Secrets::none();
            let _ = done.send(pump(&mut body, &secrets, None, &feed, &AtomicU64::new(0)));
        });
        let cut = ended
            .recv_timeout(Duration::from_secs(30))
            .expect("the pump is still waiting for a client that stopped reading");
        let mut out = Out::Stream(rx, broken);
        let frames = runtime.block_on(async {
            let mut frames = Vec::new();
            while let Some(f) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut out).poll_frame(cx)).await
            {
                frames.push(f.map(|f| f.into_data().map_or(0, |d| d.len())));
            }
            frames
        });
        (cut, frames)
    }

    #[test]
    fn a_client_that_stops_reading_lets_the_answer_go_and_sees_it_cut() {
        let (cut, frames) = pump_unread(io::repeat(b'x').take(8 * CHUNK as u64));
        assert_eq!(cut, Some("the client stopped reading"));
        assert!(matches!(frames.last(), Some(Err(_))), "{frames:?}");
        // Delivered whole: ends cleanly.
        let (cut, frames) = pump_unread(io::Cursor::new(b"short".to_vec()));
        assert_eq!(cut, None);
        assert!(matches!(frames[..], [Ok(5)]), "{frames:?}");
    }

    #[test]
    fn session_cookies_stay_behind() {
        let up = upstream(Auth::basic("me", "k3y-0123456789"));
        let at = Url::parse("https://api.example.com/v1/login").unwrap();
        let h = downstream_headers(
            &up,
            &at,
            &headers(&[
                ("Set-Cookie", "session=s3ss10n; Path=/; HttpOnly"),
                ("Set-Cookie2", "old=1"),
                ("Content-Type", "application/json"),
            ]),
            false,
        );
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type"]);
    }

    #[test]
    fn the_token_and_the_auth_header_stay_behind() {
        let auth = Auth::basic("me", "k3y-0123456789");
        let from = headers(&[
            ("Authorization", "Bearer cpx_tok"),
            ("Proxy-Authorization", "Bearer cpx_tok"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "1"),
            ("Host", "127.0.0.1:9"),
            ("Accept-Encoding", "gzip"),
            ("Accept", "application/json"),
        ]);
        let out = upstream_headers(&from, &auth, Some("cpx_tok"));
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["accept"]);
        let query = Auth::Query {
            name: "api_key".into(),
            value: SecretString::from("k"),
        };
        let other = headers(&[("Authorization", "Bearer someone-elses")]);
        assert_eq!(upstream_headers(&other, &query, Some("cpx_tok")).len(), 1);
    }

    #[test]
    fn locations_under_the_base_point_at_the_proxy() {
        let up = upstream(Auth::Query {
            name: "api_key".into(),
            value: SecretString::from("k3y-0123456789"),
        });
        let at = Url::parse("https://api.example.com/v1/docs?api_key=k3y-0123456789").unwrap();
        let loc = |v: &str| rewrite_location(&up, &at, &HeaderValue::from_str(v).unwrap());
        assert_eq!(
            loc("/v1/docs/2?page=3&api_key=k3y-0123456789").unwrap(),
            "http://127.0.0.1:9/docs/2?page=3"
        );
        assert_eq!(loc("other").unwrap(), "http://127.0.0.1:9/other");
        assert!(loc("https://cdn.example.net/file").is_none());
        assert!(loc("/login").is_none());
        let h = downstream_headers(
            &up,
            &at,
            &headers(&[
                ("Location", "https://cdn.example.net/f?sig=k3y-0123456789"),
                ("Content-Length", "5"),
                ("X-Echo", "k3y-0123456789"),
            ]),
            false,
        );
        assert_eq!(h["location"], "https://cdn.example.net/f?sig=<redacted>");
        assert_eq!(h["x-echo"], "<redacted>");
        assert!(h.get("content-length").is_none());
    }
}
