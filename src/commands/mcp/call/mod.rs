//! The `call` tool: one request for the agent, under a credential's base
//! URL, through the one pipeline (`http::Pipeline`: the auth on every hop,
//! same-origin redirects only, rate limits and transient failures waited
//! out), and its answer scrubbed of every form of every exposed key.
//!
//! Refused before anything is sent, each with the rule that refuses it: a
//! method `--read-only` does not allow; a path outside the base URL (also
//! one that climbs out only once the API decodes it); a path `--allow` does
//! not list; the key's own query parameter; auth, cookie, connection and
//! method-override headers; header values with line breaks.
//!
//! The body is read through the scrubber into a buffer capped at
//! `--max-body`: once full, reading stops (the rest is never read into
//! memory), a tail held back as a possible start of a key is dropped, and
//! a note says the body was cut. Text passes the terminal sanitizer
//! (`escape::visible`); binary bodies are not shown.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use url::Url;

use super::tools::{MAX_PAGES, ToolResult};
use super::{Audit, Exposed, Server, TIMEOUT};
use crate::http::url::hidden_climb;
use crate::http::{self, Pipeline, Request, RetryPolicy};
use crate::providers::{Auth, Pagination};
use crate::scrub::{REDACTED, Secrets};

mod answer;

use answer::{Answer, clip, origin, read_capped, shown_path, under_base};

/// The `call` tool's arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    credential: String,
    #[serde(default)]
    method: Option<String>,
    path: String,
    #[serde(default)]
    query: Option<Map<String, Value>>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    paginate: bool,
    #[serde(default)]
    max_pages: Option<u32>,
}

/// Headers the agent may not set, and why.
const REFUSED_HEADERS: [(&str, &str); 19] = [
    ("authorization", "cred adds the credential's auth itself"),
    ("proxy-authorization", "it carries credentials"),
    ("cookie", "it carries credentials"),
    ("host", "cred sets it from the base URL"),
    ("content-length", "cred sets it from the body"),
    ("transfer-encoding", "cred sets it from the body"),
    ("connection", "it describes cred's own connection"),
    ("keep-alive", "it describes cred's own connection"),
    ("proxy-connection", "it describes cred's own connection"),
    ("te", "it describes cred's own connection"),
    ("trailer", "it describes cred's own connection"),
    ("upgrade", "it describes cred's own connection"),
    ("expect", "it describes cred's own connection"),
    (
        "accept-encoding",
        "cred asks for what it can decode, so the key can be scrubbed from the answer",
    ),
    (
        "x-http-method-override",
        "it would change the method after --read-only and --allow saw it",
    ),
    (
        "x-http-method",
        "it would change the method after --read-only and --allow saw it",
    ),
    (
        "x-method-override",
        "it would change the method after --read-only and --allow saw it",
    ),
    (
        "x-original-url",
        "it would change the path after --allow saw it",
    ),
    (
        "x-rewrite-url",
        "it would change the path after --allow saw it",
    ),
];

/// The answer headers shown to the agent (never cookies).
const SHOWN_HEADERS: [&str; 15] = [
    "content-type",
    "content-length",
    "content-range",
    "content-disposition",
    "location",
    "link",
    "retry-after",
    "etag",
    "last-modified",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-decay-period",
    "x-total-count",
    "x-request-id",
];

/// Bytes read from the API at a time.
const CHUNK: usize = 64 * 1024;

/// Default number of pages joined with `paginate`.
const DEFAULT_PAGES: u32 = 10;

impl Server {
    /// Runs the `call` tool.
    pub fn call(&self, input: CallInput, audit: &mut Audit) -> ToolResult {
        audit.credential = Some(input.credential.clone());
        let method = input
            .method
            .as_deref()
            .unwrap_or("GET")
            .trim()
            .to_ascii_uppercase();
        audit.method = Some(clip(&method, 20));
        audit.path = Some(clip(&input.path, 200));
        let e = match self.exposed(&input.credential) {
            Ok(e) => e,
            Err(r) => {
                audit.status = "refused".into();
                return r;
            }
        };
        let request = match self.plan(e, &method, &input) {
            Ok(r) => r,
            Err(why) => {
                audit.status = "refused".into();
                return ToolResult::error(format!("refused: {why}; nothing was sent"));
            }
        };
        audit.path = Some(shown_path(&request.url, &e.auth));
        if input.paginate {
            return self.paginate(e, request, input.max_pages, audit);
        }
        match self.send(e, &request) {
            Ok(answer) => {
                audit.status = answer.status.to_string();
                audit.bytes = answer.bytes;
                answer.into_result(&request, &e.auth)
            }
            Err(why) => {
                audit.status = "failed".into();
                ToolResult::error(why)
            }
        }
    }

    /// The request the agent asked for, or why it is refused.
    fn plan(&self, e: &Exposed, method: &str, input: &CallInput) -> Result<Request, String> {
        if method.is_empty()
            || method.len() > 20
            || !method.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(format!("`{}` is not an HTTP method", clip(method, 20)));
        }
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        if self.read_only && method != Method::GET && method != Method::HEAD {
            return Err(format!(
                "{method} is not allowed: this server runs with --read-only, which allows GET and HEAD only"
            ));
        }
        if let Some(c) = crate::escape::control_in(&input.path) {
            return Err(format!("the path holds a control character ({c})"));
        }
        let mut url = http::resolve(&e.base, &input.path)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "the URL holds a user name or password, which would be sent as credentials of their own"
                    .into(),
            );
        }
        for (k, v) in input.query.iter().flatten() {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                        "the query parameter `{}` must be a string, a number or a boolean",
                        clip(k, 60)
                    ));
                }
            };
            url.query_pairs_mut().append_pair(k, &v);
        }
        if let Some((name, _)) = e.auth.query()
            && url.query_pairs().any(|(k, _)| k == name)
        {
            return Err(format!(
                "the `{name}` query parameter carries the credential's key, which cred adds itself"
            ));
        }
        let under = under_base(&e.base, &url);
        if hidden_climb(&under) {
            return Err(format!(
                "the path `{}` holds a `..` hidden by percent-encoding or a `;` parameter, which the API could resolve outside the base URL",
                clip(&under, 200)
            ));
        }
        if let Some(why) = e.allow.refusal(&method, &under) {
            return Err(format!(
                "{} (rules for `{}`: {})",
                clip(&why, 300),
                e.name,
                e.allow.rules().join(", ")
            ));
        }
        let mut headers = self.headers(e, input.headers.as_ref())?;
        // The provider's own headers (Anthropic's version), where the
        // agent did not name them.
        crate::providers::add_default_headers(
            &mut headers,
            &e.credential.provider.provider().headers(),
        );
        with_body(
            Request {
                method,
                url,
                headers,
                body: None,
            },
            input.body.as_deref(),
        )
    }

    /// The agent's headers, or why one is refused.
    fn headers(
        &self,
        e: &Exposed,
        given: Option<&Map<String, Value>>,
    ) -> Result<HeaderMap, String> {
        let auth_header = e.auth.header().map(|(n, _)| n.to_ascii_lowercase());
        let mut out = HeaderMap::new();
        for (k, v) in given.into_iter().flatten() {
            let name = HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|_| format!("`{}` is not a header name", clip(k, 60)))?;
            let lower = name.as_str();
            if auth_header.as_deref() == Some(lower) {
                return Err(format!(
                    "the `{k}` header carries the credential's key, which cred adds itself"
                ));
            }
            if let Some((_, why)) = REFUSED_HEADERS.iter().find(|(n, _)| *n == lower) {
                return Err(format!("the `{k}` header may not be set: {why}"));
            }
            let Value::String(text) = v else {
                return Err(format!("the value of the `{k}` header must be a string"));
            };
            let value = HeaderValue::from_str(text).map_err(|_| {
                format!(
                    "the value of the `{k}` header holds characters a header cannot carry (a line break or another control character)"
                )
            })?;
            out.append(name, value);
        }
        Ok(out)
    }

    /// Sends through the pipeline and reads the answer within the cap.
    fn send(&self, e: &Exposed, request: &Request) -> Result<Answer, String> {
        self.send_capped(e, request, self.max_body)
    }

    fn send_capped(&self, e: &Exposed, request: &Request, cap: usize) -> Result<Answer, String> {
        let provider = e.credential.provider.provider();
        let policy = RetryPolicy {
            retries: 3,
            max_wait: Duration::from_secs(30),
            default_wait: Duration::from_secs(1),
            unsafe_methods: false,
            backoff: Duration::from_millis(500),
            provider_wait: provider.rate_limit_wait(),
        };
        let sent = Pipeline::new(&e.client, &e.auth, &e.base, TIMEOUT)
            .retry(policy)
            .send(request)
            .map_err(|err| {
                let mut text = err.to_string();
                if let Some(source) = std::error::Error::source(&err) {
                    text.push_str(": ");
                    text.push_str(&http::error::chain_text(source));
                }
                // Masked with every tool result (`tools`' `shape`).
                format!("the request failed: {text}")
            })?;
        let mut response = sent.response;
        let status = response.status().as_u16();
        let mut notes = Vec::new();
        if let Some(off) = &sent.offsite {
            let target = off
                .target
                .as_ref()
                .map(http::display_url)
                .unwrap_or_else(|| "an unreadable address".into());
            notes.push(format!(
                "the API redirected ({}) to another origin, {target}; cred did not follow it, since the key goes only to {}",
                off.status,
                origin(&e.base)
            ));
        }
        if let Some(limited) = &sent.limited {
            notes.push(format!("rate limited: {}", limited.cause()));
        }
        let headers = self.shown_headers(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let mut answer = Answer {
            status,
            headers,
            body: String::new(),
            bytes: 0,
            truncated: false,
            notes,
            raw: Vec::new(),
            link_next: http::pages::link_next(response.headers()),
        };
        if request.method == Method::HEAD {
            return Ok(answer);
        }
        if let Some(encoding) = http::pipeline::undecoded_encoding(response.headers()) {
            answer.notes.push(format!(
                "the body is encoded with `{encoding}`, which cred cannot decode, so it cannot keep the key out of it: not shown"
            ));
            return Ok(answer);
        }
        let (bytes, cut) = read_capped(&mut response, &self.secrets, cap)
            .map_err(|err| format!("the answer broke off: {err}"))?;
        answer.truncated = cut;
        answer.set_body(bytes, &content_type, cap);
        Ok(answer)
    }

    /// The answer headers the agent sees (masked and escaped with the
    /// whole result, in `tools`' `shape`).
    fn shown_headers(&self, from: &HeaderMap) -> Map<String, Value> {
        let mut out = Map::new();
        for name in SHOWN_HEADERS {
            let values: Vec<String> = from
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if !values.is_empty() {
                out.insert(name.to_string(), Value::String(values.join(", ")));
            }
        }
        out
    }

    /// `paginate`: follows the provider's pages (only under the base URL,
    /// never one already fetched), joining their items into one JSON
    /// array, within `max_pages` and the body cap.
    fn paginate(
        &self,
        e: &Exposed,
        first: Request,
        max_pages: Option<u32>,
        audit: &mut Audit,
    ) -> ToolResult {
        let kind = e.credential.provider.provider().pagination();
        if let Err(why) = refuse_paginate(e, &first, kind) {
            audit.status = "refused".into();
            return ToolResult::error(why);
        }
        let walk = Walk {
            e,
            kind,
            max_pages: max_pages.unwrap_or(DEFAULT_PAGES).clamp(1, MAX_PAGES),
            asked: first
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        };
        let mut request = first;
        if let Pagination::PageParam(p) = kind {
            p.first(&mut request.url);
        }
        let mut visited = std::collections::HashSet::new();
        let mut joined = Joined::default();
        loop {
            visited.insert(request.url.clone());
            match self.page(&walk, &request, &visited, &mut joined) {
                Ok(Some(next)) => request.url = next,
                Ok(None) => break,
                Err(ended) => {
                    audit.status = ended.status;
                    audit.bytes = ended.bytes;
                    return ended.result;
                }
            }
        }
        joined.into_result(audit)
    }

    /// Fetches one page and adds its items: the next page's URL, `None`
    /// when the walk stops here (with a note why), or how the call ends
    /// without a joined list (a failure, or a first page that is not 2xx).
    fn page(
        &self,
        walk: &Walk<'_>,
        request: &Request,
        visited: &std::collections::HashSet<Url>,
        joined: &mut Joined,
    ) -> Result<Option<Url>, Box<Ended>> {
        let room = self.max_body.saturating_sub(joined.items.len() + 1);
        let answer = self
            .send_capped(walk.e, request, room)
            .map_err(|why| Ended::failed(ToolResult::error(why)))?;
        joined.status = answer.status;
        joined.notes.extend(answer.notes.iter().cloned());
        let pages = joined.pages;
        if !(200..300).contains(&answer.status) {
            if pages == 0 {
                return Err(Box::new(Ended {
                    status: answer.status.to_string(),
                    bytes: answer.bytes,
                    result: answer.into_result(request, &walk.e.auth),
                }));
            }
            joined.notes.push(format!(
                "page {} answered {}; the items before it are shown",
                pages + 1,
                answer.status
            ));
            return Ok(None);
        }
        if answer.truncated {
            joined.truncated = true;
            joined.notes.push(format!(
                "page {} did not fit in the {room} bytes left of the cap (--max-body); the items before it are shown",
                pages + 1
            ));
            return Ok(None);
        }
        joined.pages += 1;
        let pages = joined.pages;
        let page = http::pages::parse_page(answer.raw.as_slice()).map_err(|why| {
            Ended::failed(ToolResult::error(format!(
                "page {pages} cannot be joined: {why}; call without paginate to see the answer"
            )))
        })?;
        joined.add(&page.items);
        let next = match walk.kind {
            Pagination::NextPageField => page.next,
            Pagination::LinkHeader => answer.link_next,
            Pagination::PageParam(p) => p.next(&request.url, page.items.len()),
            Pagination::None => None,
        };
        let Some(next) = next else { return Ok(None) };
        let (note, more) = match request.url.join(&next) {
            Err(_) => (
                format!("page {pages} links to a next page that is not a URL"),
                false,
            ),
            Ok(mut next_url) => {
                http::pages::keep_query(&mut next_url, &walk.asked);
                match walk.refusal(&next_url, visited, pages) {
                    Some(stop) => stop,
                    None => return Ok(Some(next_url)),
                }
            }
        };
        joined.truncated |= more;
        joined.notes.push(note);
        Ok(None)
    }
}

/// The request with the agent's body (a JSON string is sent as text, any
/// other JSON value as JSON) and an `Accept` for JSON unless it set one.
fn with_body(mut request: Request, body: Option<&RawValue>) -> Result<Request, String> {
    if let Some(body) = body {
        let (bytes, content_type) = if body.get().starts_with('"') {
            let text: String = serde_json::from_str(body.get()).map_err(|e| e.to_string())?;
            (text.into_bytes(), "text/plain; charset=utf-8")
        } else {
            (body.get().as_bytes().to_vec(), "application/json")
        };
        if !request.headers.contains_key(CONTENT_TYPE) {
            request
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        request.body = Some(http::Body::Bytes(bytes));
    }
    if !request.headers.contains_key(ACCEPT) {
        request.headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, */*;q=0.5"),
        );
    }
    Ok(request)
}

/// Why `paginate` cannot be used for this request, if it cannot.
fn refuse_paginate(e: &Exposed, first: &Request, kind: Pagination) -> Result<(), String> {
    if kind == Pagination::None {
        return Err(format!(
            "refused: {} does not paginate its lists (every answer is complete); call without paginate",
            e.credential.provider.provider().display_name()
        ));
    }
    if first.method != Method::GET {
        return Err("refused: paginate works with GET requests only".into());
    }
    Ok(())
}

/// What one `paginate` walk goes by.
struct Walk<'a> {
    e: &'a Exposed,
    kind: Pagination,
    max_pages: u32,
    /// The caller's query parameters, carried to a next page that omits them.
    asked: Vec<(String, String)>,
}

impl Walk<'_> {
    /// Why the walk does not go on to `next` after `pages` pages (a note
    /// for the agent, and whether the list is cut short by `max_pages`),
    /// or `None` to go on.
    fn refusal(
        &self,
        next: &Url,
        visited: &std::collections::HashSet<Url>,
        pages: u32,
    ) -> Option<(String, bool)> {
        if !http::is_under(&self.e.base, next) || visited.contains(next) {
            return Some((
                format!(
                    "page {pages} links to a next page outside the base URL or already fetched; not followed"
                ),
                false,
            ));
        }
        if pages >= self.max_pages {
            return Some((
                format!("stopped after {pages} pages (max_pages); more pages follow"),
                true,
            ));
        }
        if self
            .e
            .allow
            .refusal(&Method::GET, &under_base(&self.e.base, next))
            .is_some()
        {
            return Some((
                format!(
                    "the next page is not allowed by the --allow rules; stopped after {pages} pages"
                ),
                false,
            ));
        }
        None
    }
}

/// A `paginate` call that ends without a joined list: the audit's status
/// and bytes, and the result.
struct Ended {
    status: String,
    bytes: usize,
    result: ToolResult,
}

impl Ended {
    fn failed(result: ToolResult) -> Box<Self> {
        Box::new(Ended {
            status: "failed".into(),
            bytes: 0,
            result,
        })
    }
}

/// The items joined so far, and what the agent is told about them.
#[derive(Default)]
struct Joined {
    /// The items, comma-separated (the brackets are added at the end).
    items: String,
    count: usize,
    pages: u32,
    notes: Vec<String>,
    /// The status of the last page fetched.
    status: u16,
    truncated: bool,
}

impl Joined {
    fn add(&mut self, items: &[Box<RawValue>]) {
        for item in items {
            if self.count > 0 {
                self.items.push(',');
            }
            self.items.push_str(item.get());
            self.count += 1;
        }
    }

    fn into_result(self, audit: &mut Audit) -> ToolResult {
        let Joined {
            items,
            count,
            pages,
            notes,
            status,
            truncated,
        } = self;
        let items = format!("[{items}]");
        audit.status = status.to_string();
        audit.bytes = items.len();
        let body = crate::escape::visible(&items).into_owned();
        let mut text = format!(
            "{} → HTTP {status}, {pages} page(s), {count} item(s) joined\n\n{body}\n",
            audit.path.as_deref().unwrap_or("")
        );
        for n in &notes {
            text.push_str(&format!("\nnote: {n}"));
        }
        ToolResult::with_text(
            json!({
                "status": status,
                "pages": pages,
                "items": count,
                "body": body,
                "truncated": truncated,
                "notes": notes,
            }),
            text,
        )
    }
}
