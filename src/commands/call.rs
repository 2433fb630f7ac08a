//! `cred call NAME [METHOD] PATH`: an authenticated request for scripts.
//!
//! The key is fetched from the keychain once, attached only to URLs under
//! the credential's base URL, never carried across a redirect to another
//! origin, and scrubbed from everything cred prints. Bodies stream to
//! stdout or `-o FILE`; 429/503 with `Retry-After` are waited out for
//! idempotent methods; `--paginate` joins the items of every page.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;
use url::Url;
use zeroize::Zeroizing;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::http::{self, Redactor};
use crate::providers::{Auth, Pagination, Provider, ProviderConfig};

/// Make an authenticated request with a stored credential
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "cred call [OPTIONS] <NAME> [METHOD] <PATH>",
    after_help = "\
Examples:
  cred call paligo /documents
  cred call paligo GET 'folders?per_page=5' --paginate
  cred call paymo /projects -q 'where=active=true'
  cred call paymo POST /tasks -f name='Write docs' -f project_id:=42
  cred call api DELETE /items/7 -v
  cred call paligo /documents --dry-run"
)]
pub struct CallArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    /// HTTP method (default GET, or POST with a body); the PATH if no method is given
    #[arg(value_name = "METHOD|PATH", add = crate::complete::methods())]
    pub method_or_path: String,

    /// Path relative to the credential's base URL, or a URL under it
    #[arg(value_name = "PATH")]
    pub path: Option<String>,

    /// Add a query parameter (repeatable)
    #[arg(short, long = "query", value_name = "K=V")]
    pub query: Vec<String>,

    /// Add a request header (repeatable)
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub header: Vec<String>,

    /// Request body: text, @FILE, or @- for standard input
    #[arg(short, long, value_name = "BODY", conflicts_with = "field")]
    pub data: Option<String>,

    /// Add a field to a JSON object body (K=string, K:=json; repeatable)
    #[arg(short, long, value_name = "K=V")]
    pub field: Vec<String>,

    /// Print the status line and response headers before the body
    #[arg(short, long)]
    pub include: bool,

    /// Write the body to FILE instead of standard output
    #[arg(short, long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub output: Option<PathBuf>,

    /// Print request and response headers to stderr (the secret redacted)
    #[arg(short, long)]
    pub verbose: bool,

    /// Follow the provider's pagination and print every page's items as one JSON array
    #[arg(long)]
    pub paginate: bool,

    /// How often to retry after 429/503 with Retry-After
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// The longest total wait for rate limits, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub max_wait: u64,

    /// Also retry POST and PATCH after 429/503
    #[arg(long)]
    pub retry_unsafe: bool,

    /// Give up when the server is silent this long, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// Print the request as a curl command instead of sending it
    #[arg(long)]
    pub dry_run: bool,
}

/// A request ready to send, before auth is attached.
struct Plan {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

pub fn run(ctx: &Ctx, args: CallArgs) -> Result<Exit> {
    let credential = ctx.store.get(&args.name)?;
    let provider = credential.provider.provider();
    let plan = plan(&args, provider)?;
    if args.paginate && provider.pagination() == Pagination::None {
        return Err(Error::user(format!(
            "{} does not paginate its lists; every answer is complete",
            provider.display_name()
        ))
        .hint("drop --paginate"));
    }
    if args.paginate && plan.method != Method::GET {
        return Err(Error::user("--paginate works with GET requests only"));
    }
    if args.dry_run {
        let secret_command = secret_command(ctx, &args.name);
        ctx.ui
            .out(&dry_run(&secret_command, &credential.provider, &plan))?;
        return Ok(Exit::Success);
    }

    // The keychain round trip and the client set-up (CA roots) are
    // independent: do them at once.
    let base = provider.base_url()?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (secret, client) = std::thread::scope(|s| {
        let client = s.spawn(|| http::client_for(timeout, &base));
        let secret = ctx.keychain().get(&args.name);
        (
            secret,
            client.join().expect("the client set-up does not panic"),
        )
    });
    let (secret, client) = (secret?, client?);
    let auth = provider.auth(&secret);
    if let Some((name, _)) = auth.header()
        && plan.headers.contains_key(name)
    {
        return Err(Error::user(format!(
            "-H {name} would replace the credential's own {name} header"
        ))
        .hint("drop that -H; cred sets it from the stored key"));
    }
    let forms = auth.revealing_forms(&secret);
    let caller = Caller {
        ctx,
        args: &args,
        client,
        scrub_forms: forms
            .iter()
            .map(|f| Zeroizing::new(f.as_bytes().to_vec()))
            .collect(),
        redactor: Redactor::new(forms),
        auth,
        base: provider.base_url()?,
    };
    if args.paginate {
        return caller.paginate(plan, provider.pagination());
    }
    let (response, limited) = caller.send(&plan)?;
    caller.output(response, limited)
}

fn plan(args: &CallArgs, provider: &dyn Provider) -> Result<Plan> {
    let (method, path) = match &args.path {
        Some(p) => (Some(args.method_or_path.as_str()), p.as_str()),
        None => (None, args.method_or_path.as_str()),
    };
    let body = body(args)?;
    let method = match method {
        Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
            Error::user(format!("`{m}` is not an HTTP method"))
                .hint("use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
        })?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let base = provider.base_url()?;
    let mut url = http::resolve(&base, path).map_err(|why| {
        Error::user(format!("refusing to call `{path}`"))
            .cause(why)
            .hint("give a path relative to the base URL, such as /documents")
    })?;
    for q in &args.query {
        let (k, v) = q.split_once('=').ok_or_else(|| {
            Error::user(format!("invalid -q `{q}`: expected K=V"))
                .hint("for example: -q per_page=5")
        })?;
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut headers = HeaderMap::new();
    for h in &args.header {
        let (k, v) = h.split_once(':').ok_or_else(|| {
            Error::user(format!("invalid -H `{h}`: expected 'Name: value'"))
                .hint("for example: -H 'Accept: application/json'")
        })?;
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| Error::user(format!("invalid -H: `{}` is not a header name", k.trim())))?;
        let value = HeaderValue::from_str(v.trim()).map_err(|_| {
            Error::user(format!(
                "invalid -H: the value of `{name}` has characters headers cannot carry"
            ))
        })?;
        headers.append(name, value);
    }
    if let Some((_, json)) = &body
        && !headers.contains_key(CONTENT_TYPE)
    {
        let ct = if *json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if !headers.contains_key(reqwest::header::ACCEPT) {
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json, */*;q=0.5"),
        );
    }
    Ok(Plan {
        method,
        url,
        headers,
        body: body.map(|(b, _)| b),
    })
}

/// The body and whether it is JSON.
fn body(args: &CallArgs) -> Result<Option<(Vec<u8>, bool)>> {
    if !args.field.is_empty() {
        let mut object = serde_json::Map::new();
        for f in &args.field {
            // The first `=` splits; `:=` there makes the value JSON, so
            // `note=a:=b` is the string "a:=b".
            let (key, value) = match f.split_once('=') {
                Some((k, v)) if k.ends_with(':') => {
                    let v: serde_json::Value = serde_json::from_str(v).map_err(|e| {
                        Error::user(format!("invalid -f `{f}`: the value after := is not JSON"))
                            .cause(e)
                            .hint("strings need JSON quotes after := (-f 'k:=\"text\"'), or use k=text")
                    })?;
                    (&k[..k.len() - 1], v)
                }
                Some((k, v)) => (k, serde_json::Value::String(v.to_string())),
                None => {
                    return Err(
                        Error::user(format!("invalid -f `{f}`: expected K=V or K:=JSON"))
                            .hint("for example: -f name=Docs -f count:=3"),
                    );
                }
            };
            object.insert(key.to_string(), value);
        }
        let bytes = serde_json::to_vec(&serde_json::Value::Object(object)).unwrap_or_default();
        return Ok(Some((bytes, true)));
    }
    let Some(data) = &args.data else {
        return Ok(None);
    };
    let bytes = if data == "@-" {
        let mut b = Vec::new();
        io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| Error::user("could not read the body from standard input").cause(e))?;
        b
    } else if let Some(path) = data.strip_prefix('@') {
        std::fs::read(path).map_err(|e| Error::io("read the body file", path.as_ref(), e))?
    } else {
        data.as_bytes().to_vec()
    };
    let json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
    Ok(Some((bytes, json)))
}

struct Caller<'a> {
    ctx: &'a Ctx<'a>,
    args: &'a CallArgs,
    client: Client,
    auth: Auth,
    redactor: Redactor,
    /// The revealing forms of the secret, longest first, for scrubbing bodies.
    scrub_forms: Vec<Zeroizing<Vec<u8>>>,
    base: Url,
}

/// Why a 429/503 answer was handed back instead of waited out.
#[derive(Debug, Clone, PartialEq)]
enum Limited {
    /// POST or PATCH without `--retry-unsafe`: repeating it might act twice.
    Unsafe(Method),
    /// `--retries` retries were made.
    RetriesOut(u32),
    /// The next wait would pass `--max-wait`.
    MaxWait { wait: Duration, max: u64 },
}

impl Limited {
    fn cause(&self) -> String {
        match self {
            Limited::Unsafe(m) => {
                format!("not retried: {m} is not idempotent, so sending it again might act twice")
            }
            Limited::RetriesOut(n) => {
                let s = if *n == 1 { "retry" } else { "retries" };
                format!("still limited after {n} {s}")
            }
            Limited::MaxWait { wait, max } => format!(
                "the server asks to wait {} s, which would pass --max-wait {max}",
                wait.as_secs_f64().ceil()
            ),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            Limited::Unsafe(_) => {
                "if sending it twice is harmless, pass --retry-unsafe to wait out Retry-After and retry"
            }
            _ => "try again later, or raise --retries / --max-wait",
        }
    }
}

impl Caller<'_> {
    fn idempotent(&self, method: &Method) -> bool {
        matches!(
            *method,
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        ) || self.args.retry_unsafe
    }

    /// Sends the request, waiting out 429/503 with Retry-After. Returns the
    /// final answer and, when it is a 429/503 that was not waited out, why.
    fn send(&self, plan: &Plan) -> Result<(Response, Option<Limited>)> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            let mut request = http::authorize(
                &self.client,
                plan.method.clone(),
                plan.url.clone(),
                &self.auth,
            )?
            .headers(plan.headers.clone());
            if let Some(b) = &plan.body {
                request = request.body(b.clone());
            }
            let request = request
                .build()
                .map_err(|e| Error::user("could not build the request").cause(e.without_url()))?;
            if self.args.verbose {
                self.print_request(&request);
            }
            let response = self.client.execute(request).map_err(|e| {
                http::network_error(e, &plan.url, Duration::from_secs(self.args.timeout))
            })?;
            if self.args.verbose {
                self.print_response_head(&response);
            }
            let status = response.status().as_u16();
            let retry_after = http::retry_after(response.headers());
            let retryable = status == 429 || (status == 503 && retry_after.is_some());
            if !retryable {
                return Ok((response, None));
            }
            if !self.idempotent(&plan.method) {
                return Ok((response, Some(Limited::Unsafe(plan.method.clone()))));
            }
            if attempt >= self.args.retries {
                return Ok((response, Some(Limited::RetriesOut(attempt))));
            }
            let wait = retry_after.unwrap_or(Duration::from_secs(1));
            if waited + wait > Duration::from_secs(self.args.max_wait) {
                let max = self.args.max_wait;
                return Ok((response, Some(Limited::MaxWait { wait, max })));
            }
            attempt += 1;
            // Read a short answer to its end so the connection can be reused.
            let _ = io::copy(&mut response.take(64 * 1024), &mut io::sink());
            let message = format!(
                "HTTP {status}: waiting {} s before retry {attempt} of {}…",
                wait.as_secs_f64().ceil(),
                self.args.retries
            );
            let spinner = self.ctx.ui.spinner(&message);
            std::thread::sleep(wait);
            spinner.finish();
            waited += wait;
        }
    }

    fn print_request(&self, request: &reqwest::blocking::Request) {
        let url = request.url();
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_string(),
        };
        let mut lines = vec![format!("> {} {} HTTP/1.1", request.method(), target)];
        lines.push(format!("> host: {host}"));
        if !request.headers().contains_key(reqwest::header::USER_AGENT) {
            lines.push(format!("> user-agent: {}", http::USER_AGENT));
        }
        for (k, v) in request.headers() {
            let shown = if v.is_sensitive() {
                http::REDACTED.to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            lines.push(format!("> {k}: {shown}"));
        }
        lines.push(">".into());
        self.ctx.ui.status(&self.redactor.redact(&lines.join("\n")));
    }

    fn print_response_head(&self, response: &Response) {
        self.ctx.ui.status(
            &self
                .redactor
                .redact(&format!("{}<", head_text(response, "< "))),
        );
    }

    fn scrubber(&self) -> Scrubber<'_> {
        Scrubber::new(&self.scrub_forms)
    }

    /// Prints the body (or writes it to -o) and turns the status into the
    /// exit code.
    fn output(&self, response: Response, limited: Option<Limited>) -> Result<Exit> {
        let status = response.status();
        if let Some(target) = refused_redirect_target(&response) {
            return Err(self.refused_redirect(status.as_u16(), target));
        }
        if self.args.include {
            self.ctx.ui.out_bytes(
                self.redactor
                    .redact(&format!("{}\n", head_text(&response, "")))
                    .as_bytes(),
            )?;
        }
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let mut scrubber = self.scrubber();
        if let Some(path) = &self.args.output {
            let mut file = File::create(path).map_err(|e| Error::io("create", path, e))?;
            copy_body(response, &mut file, &mut scrubber).map_err(|e| match e {
                CopyError::Read(e) => body_error(e, self.args.timeout),
                CopyError::Write(e) => Error::io("write", path, e),
            })?;
        } else if self.ctx.ui.stdout_is_terminal() && is_json {
            let mut raw = Vec::new();
            let mut response = response;
            response
                .read_to_end(&mut raw)
                .map_err(|e| body_error(e, self.args.timeout))?;
            let body = scrubber.all(&raw);
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) => self
                    .ctx
                    .ui
                    .out(&crate::ui::json_pretty(&v, self.ctx.ui.color_stdout()))?,
                Err(_) => self.ctx.ui.out_bytes(&body)?,
            }
        } else {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            match copy_body(response, &mut out, &mut scrubber) {
                Ok(_) => {}
                // The reader went away (`| head`): not our failure.
                Err(CopyError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(CopyError::Write(e)) => {
                    return Err(Error::user("could not write to standard output").cause(e));
                }
                Err(CopyError::Read(e)) => return Err(body_error(e, self.args.timeout)),
            }
            let _ = out.flush();
        }
        self.report_scrubbed(scrubber.hits);
        Ok(self.status_exit(status, limited))
    }

    /// Says so when the answer held the secret and cred replaced it.
    fn report_scrubbed(&self, hits: usize) {
        if hits > 0 {
            self.ctx.ui.warn(&format!(
                "the answer contained the stored secret; cred replaced it with {} ({hits}×) in what it printed or wrote",
                http::REDACTED
            ));
        }
    }

    fn status_exit(&self, status: reqwest::StatusCode, limited: Option<Limited>) -> Exit {
        let code = status.as_u16();
        let exit = match code {
            401 | 403 => Exit::Rejected,
            429 => Exit::RateLimited,
            400.. => Exit::HttpStatus,
            _ => Exit::Success,
        };
        if exit == Exit::Success {
            return exit;
        }
        let reason = status.canonical_reason().unwrap_or("");
        let mut err = Error::new(exit, format!("HTTP {code} {reason}").trim().to_string());
        match (&limited, code) {
            (Some(l), _) => err = err.cause(l.cause()).hint(l.hint()),
            (None, 401 | 403) => {
                err = err.hint(format!(
                    "the API rejected `{}`; check it with `cred verify {0}`, or store a new key with `cred rotate {0}`",
                    self.args.name
                ));
            }
            _ => {}
        }
        err = err.cause(match &self.args.output {
            Some(path) => format!("the response body was written to {}", path.display()),
            None => "the response body was printed to standard output".to_string(),
        });
        self.ctx.ui.error(&err);
        exit
    }

    fn refused_redirect(&self, status: u16, target: Option<Url>) -> Error {
        let target = target
            .map(|u| self.redactor.redact(&http::display_url(&u)))
            .unwrap_or_else(|| "an unreadable address".into());
        Error::new(
            Exit::HttpStatus,
            format!("the API redirected (HTTP {status}) to another origin: {target}"),
        )
        .cause("cred does not send the key to another origin, so the redirect was not followed")
        .hint("if that address is right, store a credential for it")
    }

    /// Follows Paligo `next_page` or `Link: rel=next` and prints all items
    /// as one JSON array.
    fn paginate(&self, first: Plan, kind: Pagination) -> Result<Exit> {
        let mut items: Vec<serde_json::Value> = Vec::new();
        let mut plan = first;
        let mut visited = std::collections::HashSet::new();
        let mut pages = 0;
        loop {
            visited.insert(plan.url.clone());
            let (response, limited) = self.send(&plan)?;
            let status = response.status();
            if let Some(target) = refused_redirect_target(&response) {
                return Err(self.refused_redirect(status.as_u16(), target));
            }
            if !status.is_success() {
                return self.output(response, limited);
            }
            let link_next = link_next(response.headers());
            let page_url = response.url().clone();
            let mut body = Vec::new();
            let mut response = response;
            response
                .read_to_end(&mut body)
                .map_err(|e| body_error(e, self.args.timeout))?;
            let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Error::user(format!(
                    "page {} is not JSON, so it cannot be joined",
                    pages + 1
                ))
                .cause(e)
                .hint("drop --paginate to see the raw answer")
            })?;
            pages += 1;
            let (page_items, next_field) = split_page(value);
            items.extend(page_items);
            let next = match kind {
                Pagination::NextPageField => next_field,
                Pagination::LinkHeader => link_next,
                Pagination::None => None,
            };
            let Some(next) = next else { break };
            let next_url = match page_url.join(&next) {
                Ok(u) => u,
                Err(_) => {
                    self.ctx.ui.warn(&format!(
                        "page {pages} links to a next page that is not a URL; stopping there"
                    ));
                    break;
                }
            };
            if !http::is_under(&self.base, &next_url) {
                self.ctx.ui.warn(&format!(
                    "not following the next page at {}: it is not under the credential's base URL",
                    self.redactor.redact(&http::display_url(&next_url))
                ));
                break;
            }
            if visited.contains(&next_url) {
                self.ctx.ui.warn(&format!(
                    "page {pages} links back to a page already fetched; stopping there"
                ));
                break;
            }
            plan.url = next_url;
            if pages >= 10_000 {
                self.ctx.ui.warn("stopped after 10000 pages");
                break;
            }
        }
        let text = if self.ctx.ui.stdout_is_terminal() && self.args.output.is_none() {
            crate::ui::json_pretty(&serde_json::Value::Array(items), self.ctx.ui.color_stdout())
        } else {
            serde_json::to_string(&items).unwrap_or_default()
        };
        let mut scrubber = self.scrubber();
        let mut bytes = scrubber.all(text.as_bytes());
        bytes.push(b'\n');
        match &self.args.output {
            Some(path) => std::fs::write(path, &bytes).map_err(|e| Error::io("write", path, e))?,
            None => self.ctx.ui.out_bytes(&bytes)?,
        }
        self.report_scrubbed(scrubber.hits);
        Ok(Exit::Success)
    }
}

/// A redirect that the client handed back (it is never handed back within
/// the same origin): its target, `None` when the address is unreadable.
/// Other 3xx answers (304 Not Modified, 300 without Location) are ordinary.
fn refused_redirect_target(response: &Response) -> Option<Option<Url>> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    Some(
        location
            .to_str()
            .ok()
            .and_then(|l| response.url().join(l).ok()),
    )
}

/// The items of a page, and Paligo's `next_page` if present: a bare array,
/// or the first array-valued field of an object.
fn split_page(value: serde_json::Value) -> (Vec<serde_json::Value>, Option<String>) {
    match value {
        serde_json::Value::Array(items) => (items, None),
        serde_json::Value::Object(mut map) => {
            let next = map
                .get("next_page")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let key = map
                .iter()
                .find(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone());
            let items = key
                .and_then(|k| map.remove(&k))
                .and_then(|v| match v {
                    serde_json::Value::Array(a) => Some(a),
                    _ => None,
                })
                .unwrap_or_default();
            (items, next)
        }
        other => (vec![other], None),
    }
}

/// The `rel="next"` target of RFC 8288 `Link` headers.
fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let text = value.to_str().ok()?;
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| {
                        r.trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                    })
                    .unwrap_or(false)
            });
            if is_next {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
    }
    None
}

fn head_text(response: &Response, prefix: &str) -> String {
    let mut text = format!(
        "{prefix}{:?} {} {}\n",
        response.version(),
        response.status().as_u16(),
        response.status().canonical_reason().unwrap_or("")
    );
    for (k, v) in response.headers() {
        text.push_str(&format!(
            "{prefix}{k}: {}\n",
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    text
}

/// Replaces every revealing form of the secret in a stream of bytes, also
/// when a form is split between two reads. Everything else passes through
/// unchanged, so a body without the secret stays byte for byte the same.
struct Scrubber<'a> {
    /// One SIMD substring finder per revealing form of the key.
    finders: Vec<memchr::memmem::Finder<'a>>,
    /// How many trailing bytes to hold back: a form may continue there.
    keep: usize,
    pending: Vec<u8>,
    hits: usize,
}

impl<'a> Scrubber<'a> {
    fn new(forms: &'a [Zeroizing<Vec<u8>>]) -> Self {
        let keep = forms.iter().map(|f| f.len()).max().unwrap_or(1).max(1) - 1;
        Scrubber {
            finders: forms
                .iter()
                .filter(|f| !f.is_empty())
                .map(|f| memchr::memmem::Finder::new(f.as_slice()))
                .collect(),
            keep,
            pending: Vec::new(),
            hits: 0,
        }
    }

    /// Takes the next piece of the stream; appends what may be written.
    fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(data);
        let end = self.pending.len().saturating_sub(self.keep);
        self.scan(end, out);
    }

    /// The end of the stream: appends the rest.
    fn finish(&mut self, out: &mut Vec<u8>) {
        let end = self.pending.len();
        self.scan(end, out);
    }

    /// A whole body at once.
    fn all(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        self.push(data, &mut out);
        self.finish(&mut out);
        out
    }

    /// Moves the bytes before `end` (and any form starting there) to `out`,
    /// each form of the key replaced; the earliest match wins, the longest
    /// form at the same place.
    fn scan(&mut self, end: usize, out: &mut Vec<u8>) {
        let buf = &self.pending;
        let mut i = 0;
        while i < end {
            let best = self
                .finders
                .iter()
                .filter_map(|f| f.find(&buf[i..]).map(|p| (i + p, f.needle().len())))
                .min_by_key(|&(p, len)| (p, std::cmp::Reverse(len)));
            match best {
                Some((p, len)) if p < end => {
                    out.extend_from_slice(&buf[i..p]);
                    out.extend_from_slice(http::REDACTED.as_bytes());
                    i = p + len;
                    self.hits += 1;
                }
                _ => {
                    out.extend_from_slice(&buf[i..end]);
                    i = end;
                }
            }
        }
        self.pending.drain(..i);
    }
}

/// Where copying a body failed.
enum CopyError {
    /// Reading the answer (network).
    Read(io::Error),
    /// Writing it out (file or stdout).
    Write(io::Error),
}

/// Streams the body in 64 KiB pieces, scrubbed of the secret.
fn copy_body(
    mut from: impl Read,
    to: &mut impl Write,
    scrubber: &mut Scrubber,
) -> std::result::Result<u64, CopyError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len() + 1024);
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        scrubber.push(&buf[..n], &mut out);
        to.write_all(&out).map_err(CopyError::Write)?;
        total += out.len() as u64;
        out.clear();
    }
    scrubber.finish(&mut out);
    to.write_all(&out).map_err(CopyError::Write)?;
    Ok(total + out.len() as u64)
}

/// A failure while reading the body: a stall past --timeout, or a broken
/// connection (exit 5).
fn body_error(e: io::Error, timeout: u64) -> Error {
    let mut timed_out = e.kind() == io::ErrorKind::TimedOut;
    let mut chain = vec![e.to_string()];
    let mut next: Option<&(dyn std::error::Error + 'static)> =
        e.get_ref().map(|r| r as &(dyn std::error::Error + 'static));
    while let Some(err) = next {
        if let Some(re) = err.downcast_ref::<reqwest::Error>() {
            timed_out |= re.is_timeout();
        }
        let text = err.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        next = err.source();
    }
    let chain = chain.join(": ");
    if timed_out || chain.to_lowercase().contains("timed out") {
        Error::new(
            Exit::Network,
            format!("the server stopped sending the body for {timeout} s"),
        )
        .hint("try again, or allow more time with --timeout SECONDS")
    } else {
        Error::new(Exit::Network, "the connection broke while reading the body").cause(chain)
    }
}

/// The request as a curl command, the secret replaced by `$(cred secret NAME)`.
fn dry_run(secret_command: &str, provider: &ProviderConfig, plan: &Plan) -> String {
    const MARK: &str = "\u{1}CRED_SECRET\u{1}";
    let subst = format!("$({secret_command})");
    let auth = provider.provider().auth(&SecretString::from(MARK));
    let dq = |s: &str| -> String {
        let escaped: String = s
            .chars()
            .flat_map(|c| match c {
                '\\' | '"' | '$' | '`' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{}\"", escaped.replace(MARK, &subst))
    };
    let mut parts = vec!["curl".to_string()];
    if plan.method == Method::HEAD {
        // `-X HEAD` would make curl wait for a body that never comes.
        parts.push("--head".to_string());
    } else if plan.method != Method::GET {
        parts.push(format!("-X {}", plan.method));
    }
    parts.push(sq(plan.url.as_str()));
    match &auth {
        Auth::Basic { user, password } => {
            use secrecy::ExposeSecret;
            parts.push(format!(
                "-u {}",
                dq(&format!(
                    "{}:{}",
                    user.expose_secret(),
                    password.expose_secret()
                ))
            ));
        }
        Auth::Header { name, value } => {
            use secrecy::ExposeSecret;
            parts.push(format!(
                "-H {}",
                dq(&format!("{name}: {}", value.expose_secret()))
            ));
        }
        Auth::Query { name, value } => {
            use secrecy::ExposeSecret;
            parts.push(format!(
                "--url-query {}",
                dq(&format!("{name}={}", value.expose_secret()))
            ));
        }
    }
    for (k, v) in &plan.headers {
        parts.push(format!(
            "-H {}",
            sq(&format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        ));
    }
    if let Some(body) = &plan.body {
        parts.push(format!(
            "--data-binary {}",
            sq(&String::from_utf8_lossy(body))
        ));
    }
    parts.join(" \\\n  ")
}

/// `cred secret NAME`, with `--config-dir` when the config directory came
/// from that flag (the environment or the default would find another).
fn secret_command(ctx: &Ctx, name: &str) -> String {
    let dir = ctx.store.dir();
    let implied = match std::env::var_os("CRED_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(env) => std::path::absolute(PathBuf::from(env)).ok(),
        None => crate::store::config::resolve_dir(None).ok(),
    };
    if implied.as_deref() == Some(dir) {
        format!("cred secret {name}")
    } else {
        format!(
            "cred --config-dir {} secret {name}",
            sq(&dir.to_string_lossy())
        )
    }
}

/// Single-quotes a string for a POSIX shell.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(link_next(&h).as_deref(), Some("https://a/x?page=3"));
        assert_eq!(link_next(&HeaderMap::new()), None);
    }

    #[test]
    fn pages_of_both_shapes() {
        let (items, next) = split_page(serde_json::json!({
            "page": 1, "next_page": "https://a/folders?page=2", "total_pages": 3,
            "folders": [{"id": 1}, {"id": 2}]
        }));
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("https://a/folders?page=2"));
        let (items, next) = split_page(serde_json::json!([1, 2, 3]));
        assert_eq!((items.len(), next), (3, None));
        let (_, next) = split_page(serde_json::json!({"next_page": "", "folders": []}));
        assert_eq!(next, None);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sq("it's"), r"'it'\''s'");
    }

    fn forms() -> Vec<Zeroizing<Vec<u8>>> {
        ["Basic c2VjcmV0", "secret"]
            .iter()
            .map(|f| Zeroizing::new(f.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn scrubber_replaces_forms_split_anywhere_between_reads() {
        let forms = forms();
        let text = b"a secret, Basic c2VjcmV0 and secretsecret; secre";
        let want = b"a <redacted>, <redacted> and <redacted><redacted>; secre";
        for cut in 0..=text.len() {
            let mut s = Scrubber::new(&forms);
            let mut out = Vec::new();
            s.push(&text[..cut], &mut out);
            s.push(&text[cut..], &mut out);
            s.finish(&mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(want),
                "cut at {cut}"
            );
            assert_eq!(s.hits, 4);
        }
        let mut s = Scrubber::new(&forms);
        let mut out = Vec::new();
        for b in text {
            s.push(std::slice::from_ref(b), &mut out);
        }
        s.finish(&mut out);
        assert_eq!(out, want);
    }

    #[test]
    fn scrubber_leaves_other_bytes_alone() {
        let forms = forms();
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let mut out = Vec::new();
        let mut from = &bytes[..];
        let mut s = Scrubber::new(&forms);
        let n = copy_body(&mut from, &mut out, &mut s)
            .map_err(|_| ())
            .unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert!(out == bytes);
        assert_eq!(s.hits, 0);
        assert_eq!(Scrubber::new(&[]).all(b"secret"), b"secret");
    }
}
