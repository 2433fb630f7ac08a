//! [`Pipeline::send`]: the one way a request carrying a key leaves cred.
//!
//! On every hop the auth is applied afresh (a header, or a query parameter
//! replacing any of that name); redirects are followed by this loop, not by
//! reqwest, and only within the credential's origin (at most
//! [`MAX_REDIRECTS`]); a redirect elsewhere is handed back as [`Offsite`],
//! its target never sent the key, unless the caller asked to follow such
//! redirects without it ([`Redirects::FollowOffsite`]: no auth header, no
//! query key, no `Referer`). 429, 503 with `Retry-After`, and transient
//! failures (reset connections, 502, 503, 504) are waited out as the
//! [`RetryPolicy`] allows. With [`Redirects::Pass`] (the proxy) no
//! redirect is followed: every 3xx answer is handed back as it came, for
//! the caller to pass on. One [`Redirects`] value says which, so no two
//! settings can disagree. An answer whose body is in a transfer coding
//! other than `chunked` is refused ([`SendError::TransferCoding`]): it would
//! come out still encoded, past the scrubber. An [`Observer`] sees each request,
//! each answer and each wait (verbose output, spinners) without the
//! pipeline knowing who is watching.

use std::io::{self, Read};
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use secrecy::ExposeSecret;
use url::Url;

use super::body::Body;
use super::error::SendError;
use super::retry::{Decision, Limited, RetryPolicy, Retryable};
use super::url::same_origin;
use crate::providers::Auth;

/// Redirects followed at most for one request; one more is an error.
pub const MAX_REDIRECTS: usize = 10;

/// A request ready to send, before auth is attached.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Body>,
}

impl Request {
    pub fn get(url: Url) -> Self {
        Request {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

/// Watches the pipeline: what is sent and received, and waits.
pub trait Observer {
    /// A request is about to go out (auth applied; its header is marked
    /// sensitive).
    fn request(&self, _request: &reqwest::blocking::Request) {}
    /// The head of an answer arrived.
    fn response(&self, _response: &Response) {}
    /// A rate-limited answer or a transient failure is being waited out
    /// before retry `attempt`.
    fn waiting(&self, _why: Retryable, _wait: Duration, _attempt: u32, _retries: u32) {}
    /// The wait is over.
    fn waited(&self) {}
    /// A redirect to another origin is followed without the key.
    fn offsite(&self, _status: u16, _target: &Url) {}
}

/// Watches nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// A redirect to another origin, not followed: its status and target
/// (`None` when the `Location` is unreadable).
#[derive(Debug, Clone)]
pub struct Offsite {
    pub status: u16,
    pub target: Option<Url>,
}

/// The final answer of [`Pipeline::send`].
pub struct Sent {
    pub response: Response,
    /// Why a 429/503 was handed back instead of waited out.
    pub limited: Option<Limited>,
    /// The answer is a redirect to another origin.
    pub offsite: Option<Offsite>,
}

/// What the pipeline does with a redirect (301, 302, 303, 307, 308).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirects {
    /// Follow those within the credential's origin, with the key; one to
    /// another origin is handed back as [`Offsite`] (the default).
    #[default]
    SameOrigin,
    /// Also follow one to another origin, without the key on that hop or
    /// any after it (presigned or CDN downloads: `call --follow-offsite`).
    FollowOffsite,
    /// Follow none: every 3xx answer is the final answer (its `offsite`
    /// still says whether it points elsewhere), for a caller that passes
    /// redirects on to its own client (`cred proxy`).
    Pass,
}

/// How requests of one credential are sent.
pub struct Pipeline<'a> {
    client: &'a Client,
    auth: &'a Auth,
    base: &'a Url,
    retry: RetryPolicy,
    timeout: Duration,
    observer: &'a dyn Observer,
    redirects: Redirects,
}

impl<'a> Pipeline<'a> {
    /// `base` is the credential's base URL: its origin is the only one the
    /// key goes to. `timeout` is the client's, for messages.
    pub fn new(client: &'a Client, auth: &'a Auth, base: &'a Url, timeout: Duration) -> Self {
        Pipeline {
            client,
            auth,
            base,
            retry: RetryPolicy::never(),
            timeout,
            observer: &Quiet,
            redirects: Redirects::SameOrigin,
        }
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn observer(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = observer;
        self
    }

    /// What to do with redirects ([`Redirects`]; by default only those
    /// within the credential's origin are followed).
    pub fn redirects(mut self, mode: Redirects) -> Self {
        self.redirects = mode;
        self
    }

    /// Sends `request`, following same-origin redirects and waiting out
    /// rate limits as the policy allows.
    pub fn send(&self, request: &Request) -> Result<Sent, SendError> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            let (response, offsite) = match self.follow(request) {
                Ok(answer) => answer,
                Err(e) if e.is_reset() => {
                    match self.retry.decide_reset(&request.method, attempt, waited) {
                        Decision::Wait(wait) => {
                            attempt += 1;
                            self.pause(Retryable::Reset, wait, attempt);
                            waited = waited.saturating_add(wait);
                            continue;
                        }
                        Decision::Done(_) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            if offsite.is_some() {
                foreign_transfer_coding(&request.method, &response)?;
                return Ok(Sent {
                    response,
                    limited: None,
                    offsite,
                });
            }
            let status = response.status().as_u16();
            match self
                .retry
                .decide(&request.method, status, response.headers(), attempt, waited)
            {
                Decision::Done(limited) => {
                    foreign_transfer_coding(&request.method, &response)?;
                    return Ok(Sent {
                        response,
                        limited,
                        offsite: None,
                    });
                }
                Decision::Wait(wait) => {
                    attempt += 1;
                    drain(response);
                    self.pause(Retryable::Status(status), wait, attempt);
                    waited = waited.saturating_add(wait);
                }
            }
        }
    }

    /// Waits before a retry, telling the observer.
    fn pause(&self, why: Retryable, wait: Duration, attempt: u32) {
        self.observer
            .waiting(why, wait, attempt, self.retry.retries);
        std::thread::sleep(wait);
        self.observer.waited();
    }

    /// One attempt: the request and the same-origin redirects it leads to.
    fn follow(&self, request: &Request) -> Result<(Response, Option<Offsite>), SendError> {
        let mut method = request.method.clone();
        let mut url = request.url.clone();
        let mut headers = request.headers.clone();
        let mut body = request.body.clone();
        let mut hops = 0;
        // Whether this hop is on the credential's origin (and so carries
        // the key); once off it, never again.
        let mut keyed = true;
        loop {
            let built = self.build(&method, &url, &headers, body.as_ref(), keyed)?;
            self.observer.request(&built);
            let host = url.host_str().unwrap_or("the server").to_string();
            let response = self
                .client
                .execute(built)
                .map_err(|e| SendError::from_reqwest(e, &host, self.timeout))?;
            self.observer.response(&response);
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok((response, None));
            }
            let Some(location) = response.headers().get(LOCATION) else {
                return Ok((response, None));
            };
            let target = location.to_str().ok().and_then(|l| url.join(l).ok());
            let target = match target {
                Some(t) if self.redirects == Redirects::Pass => {
                    let offsite = (!same_origin(self.base, &t)).then_some(Offsite {
                        status,
                        target: Some(t),
                    });
                    return Ok((response, offsite));
                }
                Some(t) if keyed && same_origin(self.base, &t) => t,
                Some(mut t) if self.redirects == Redirects::FollowOffsite => {
                    if keyed {
                        self.observer.offsite(status, &t);
                    }
                    keyed = false;
                    // A redirect that keeps the query (`$request_uri`) would
                    // carry a query-placed key along: take it out.
                    without_auth_query(&mut t, self.auth);
                    t
                }
                other => {
                    return Ok((
                        response,
                        Some(Offsite {
                            status,
                            target: other,
                        }),
                    ));
                }
            };
            if hops == MAX_REDIRECTS {
                return Err(SendError::TooManyRedirects { max: MAX_REDIRECTS });
            }
            hops += 1;
            drain(response);
            // As browsers and curl -L do: 303, and 301/302 after a POST,
            // go on as GET without the body.
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
                headers.remove(CONTENT_TYPE);
                headers.remove(CONTENT_LENGTH);
            }
            url = target;
        }
    }

    /// The request with the auth on it: a sensitive header, or the key's
    /// query parameter (replacing any of that name).
    fn build(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Body>,
        keyed: bool,
    ) -> Result<reqwest::blocking::Request, SendError> {
        let url = if keyed {
            with_auth_query(url.clone(), self.auth)
        } else {
            url.clone()
        };
        let mut all = HeaderMap::new();
        if let Some((name, value)) = self.auth.header().filter(|_| keyed) {
            let mut v = HeaderValue::from_str(value.expose_secret())
                .map_err(|_| SendError::UnsendableKey)?;
            v.set_sensitive(true);
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SendError::BadHeaderName(name.to_string()))?;
            all.insert(name, v);
        }
        for (k, v) in headers {
            all.append(k.clone(), v.clone());
        }
        let mut builder = self.client.request(method.clone(), url).headers(all);
        if let Some(b) = body {
            builder = b.build(builder)?;
        }
        builder
            .build()
            .map_err(|e| SendError::Build(e.without_url()))
    }
}

/// The URL without the key's query parameter (for query placement).
pub fn without_auth_query(url: &mut Url, auth: &Auth) {
    let Some((name, _)) = auth.query() else {
        return;
    };
    if !url.query_pairs().any(|(k, _)| k == name) {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
}

/// The URL with the key's query parameter set (for query placement),
/// replacing any parameter of that name.
pub fn with_auth_query(mut url: Url, auth: &Auth) -> Url {
    if let Some((name, value)) = auth.query() {
        without_auth_query(&mut url, auth);
        url.query_pairs_mut()
            .append_pair(name, value.expose_secret());
    }
    url
}

/// Refuses an answer whose body is in a transfer coding other than
/// `chunked` (hyper's client undoes `chunked` only, and reqwest decodes
/// `Content-Encoding` only): its bytes would reach the caller still
/// encoded. An answer without a body (HEAD, 1xx, 204, 304) passes.
fn foreign_transfer_coding(method: &Method, response: &Response) -> Result<(), SendError> {
    let status = response.status().as_u16();
    if *method == Method::HEAD || status < 200 || matches!(status, 204 | 304) {
        return Ok(());
    }
    let values: Vec<String> = response
        .headers()
        .get_all(reqwest::header::TRANSFER_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        .collect();
    let foreign = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|c| {
            !c.is_empty()
                && !c.eq_ignore_ascii_case("chunked")
                && !c.eq_ignore_ascii_case("identity")
        });
    if !foreign {
        return Ok(());
    }
    Err(SendError::TransferCoding {
        status,
        coding: crate::escape::visible(&values.join(", ")).into_owned(),
    })
}

/// The `Content-Encoding` of an answer the client decoded nothing of, if
/// any (other than `identity`), shown escaped: the client decodes what it
/// asked for (gzip, deflate, br, zstd), so a body still encoded is one the
/// scrubber cannot read.
pub fn undecoded_encoding(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(reqwest::header::CONTENT_ENCODING)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("identity") {
        return None;
    }
    Some(crate::escape::visible(text).into_owned())
}

/// Reads a short answer to its end so the connection can be reused.
fn drain(response: Response) {
    let _ = io::copy(&mut response.take(64 * 1024), &mut io::sink());
}
