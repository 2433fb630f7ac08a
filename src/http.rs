//! The one HTTP client of the program (checks and `cred call`), and the rules
//! every request follows: TLS always verified, user agent `cred/VERSION`,
//! bounded timeouts, redirects followed only within the same origin, the
//! secret attached only to URLs under the credential's base URL, and
//! anything printed scrubbed of the secret.

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Exit, Result};
use crate::providers::Auth;

pub const USER_AGENT: &str = concat!("cred/", env!("CARGO_PKG_VERSION"));
const MAX_REDIRECTS: usize = 10;

/// Builds the client. `timeout` bounds connecting and each wait for data
/// (headers or the next chunk of a body), so a long download that keeps
/// flowing is not cut off, but a server that stops answering is.
pub fn client(timeout: Duration) -> Result<Client> {
    builder(timeout)
        .build()
        .map_err(|e| Error::user("could not set up the HTTP client").cause(e))
}

/// The client for requests that stay on `base`'s origin: for a plain
/// http:// base (loopback, or --allow-http) the system's CA roots are not
/// loaded, since redirects never leave the origin.
pub fn client_for(timeout: Duration, base: &Url) -> Result<Client> {
    builder(timeout)
        .tls_built_in_root_certs(base.scheme() == "https")
        .build()
        .map_err(|e| Error::user("could not set up the HTTP client").cause(e))
}

/// Proxies from the environment are used for https:// requests only (the
/// proxy sees a CONNECT tunnel, never the key): a plain-http request, which
/// carries the key in clear text, never goes through a proxy.
fn https_proxy() -> Option<reqwest::Proxy> {
    let url = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))?;
    let proxy = reqwest::Proxy::https(url.trim()).ok()?;
    Some(proxy.no_proxy(reqwest::NoProxy::from_env()))
}

fn builder(timeout: Duration) -> reqwest::blocking::ClientBuilder {
    let builder = Client::builder().no_proxy();
    let builder = match https_proxy() {
        Some(proxy) => builder.proxy(proxy),
        None => builder,
    };
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(15)))
        // Blocking client: the answer's head within `timeout`, then each
        // read of the body within `timeout`.
        .timeout(timeout)
        .https_only(false)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().cloned();
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if first.is_some_and(|f| same_origin(&f, attempt.url())) {
                attempt.follow()
            } else {
                // Another origin: hand the 3xx back, the key stays here.
                attempt.stop()
            }
        }))
}

/// Scheme, host and port are equal.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether `url` lies under `base`: same origin and the base path is a
/// prefix at a segment boundary.
pub fn is_under(base: &Url, url: &Url) -> bool {
    if !same_origin(base, url) {
        return false;
    }
    let prefix = base.path().trim_end_matches('/');
    let path = url.path();
    path == prefix || prefix.is_empty() || path.starts_with(&format!("{prefix}/"))
}

/// Resolves PATH of `cred call` or a check path against the base URL: a
/// relative path is appended to the base path; an absolute URL is accepted
/// only when it lies under the base.
pub fn resolve(base: &Url, path: &str) -> Result<Url, String> {
    // Absolute when the part before any query names a scheme; a query may
    // hold a URL (`/go?next=https://…`) and stays relative.
    if path.split('?').next().unwrap_or("").contains("://") {
        let url = Url::parse(path).map_err(|e| format!("`{path}` is not a valid URL ({e})"))?;
        if !is_under(base, &url) {
            return Err(format!(
                "`{}` is not under this credential's base URL {}; the key is only sent where it was stored for",
                display_url(&url),
                base
            ));
        }
        return Ok(url);
    }
    let (rel_path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    if rel_path.split('/').any(|seg| seg == "..") {
        return Err(format!("`{path}` climbs out of the base URL with `..`"));
    }
    let mut url = base.clone();
    let mut joined = base.path().trim_end_matches('/').to_string();
    let rel = rel_path.trim_start_matches('/');
    if !rel.is_empty() {
        joined.push('/');
        joined.push_str(rel);
    }
    if joined.is_empty() {
        joined.push('/');
    }
    url.set_path(&joined);
    let combined = match (base.query(), query) {
        (Some(b), Some(q)) if !q.is_empty() => Some(format!("{b}&{q}")),
        (b, Some(q)) if !q.is_empty() => b.map(|b| b.to_string()).or(Some(q.to_string())),
        (b, _) => b.map(str::to_string),
    };
    url.set_query(combined.as_deref());
    // The URL parser resolves encoded dot segments (`%2e%2e`) and
    // backslashes, so check where the path really ended up.
    if !is_under(base, &url) {
        return Err(format!("`{path}` climbs out of the base URL"));
    }
    Ok(url)
}

/// A URL as it may be printed: without user info.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Puts the secret on a request: a sensitive header, or a query parameter
/// (replacing any parameter of that name the URL already has).
pub fn authorize(
    client: &Client,
    method: reqwest::Method,
    url: Url,
    auth: &Auth,
) -> Result<RequestBuilder> {
    let url = with_auth_query(url, auth);
    let mut headers = HeaderMap::new();
    if let Some((name, value)) = auth.header() {
        let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
            Error::user(
                "the API key cannot be sent in a header (it has characters headers do not allow)",
            )
            .hint("check the key and the template; `cred rotate NAME` stores a new key")
        })?;
        v.set_sensitive(true);
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::user(format!("`{name}` is not a valid header name")))?;
        headers.insert(name, v);
    }
    Ok(client.request(method, url).headers(headers))
}

/// The URL with the key's query parameter set (for query placement).
pub fn with_auth_query(mut url: Url, auth: &Auth) -> Url {
    if let Some((name, value)) = auth.query() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != name)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            q.append_pair(name, value.expose_secret());
        }
    }
    url
}

/// How long a 429/503 asks to wait (`Retry-After: SECONDS` or an HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = humantime::parse_rfc3339_weak(v)
        .ok()
        .or_else(|| httpdate(v))?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(v: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == parts[2])? + 1;
    let text = format!(
        "{}-{:02}-{:02}T{}Z",
        parts[3],
        month,
        parts[1].parse::<u8>().ok()?,
        parts[4]
    );
    humantime::parse_rfc3339(&text).ok()
}

/// Turns a transport error into a message that says which kind (DNS,
/// refused, TLS, timeout), never including the URL (which may hold a key).
pub fn network_error(err: reqwest::Error, url: &Url, timeout: Duration) -> Error {
    let host = url.host_str().unwrap_or("the server").to_string();
    let err = err.without_url();
    let chain = error_chain(&err);
    let lower = chain.to_lowercase();
    let (what, hint) = if err.is_timeout() || lower.contains("timed out") {
        (
            format!("{host} did not answer within {} s", timeout.as_secs_f64()),
            "try again later, or allow more time with --timeout SECONDS",
        )
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        (
            format!("the name {host} does not resolve (DNS)"),
            "check the host name and your network connection",
        )
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        (
            format!(
                "the TLS connection to {host} failed (certificate not trusted or handshake error)"
            ),
            "cred always verifies certificates; check the URL, or your system's CA certificates",
        )
    } else if lower.contains("refused") {
        (
            format!("{host} refused the connection"),
            "check the URL and port, and that the service is running",
        )
    } else {
        (
            format!("could not talk to {host}"),
            "check your network connection and the URL",
        )
    };
    Error::new(Exit::Network, what).cause(chain).hint(hint)
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let s = e.to_string();
        if !parts.iter().any(|p: &String| p.contains(&s)) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Replaces every revealing form of the secret in text cred prints.
#[derive(Default)]
pub struct Redactor {
    forms: Vec<SecretString>,
}

pub const REDACTED: &str = "<redacted>";

impl Redactor {
    pub fn new(mut forms: Vec<String>) -> Self {
        // Longest first, so "Bearer KEY" goes whole rather than as "Bearer <redacted>".
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Redactor {
            forms: forms.into_iter().map(SecretString::from).collect(),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for f in &self.forms {
            let f = f.expose_secret();
            if !f.is_empty() && out.contains(f) {
                out = out.replace(f, REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn resolves_relative_paths_under_the_base() {
        let base = u("https://acme.paligoapp.com/api/v2");
        assert_eq!(
            resolve(&base, "/folders?per_page=1").unwrap().as_str(),
            "https://acme.paligoapp.com/api/v2/folders?per_page=1"
        );
        assert_eq!(
            resolve(&base, "documents").unwrap().as_str(),
            "https://acme.paligoapp.com/api/v2/documents"
        );
        assert_eq!(
            resolve(&base, "").unwrap().as_str(),
            "https://acme.paligoapp.com/api/v2"
        );
        assert!(resolve(&base, "/../../etc").is_err());
        assert!(resolve(&base, "/%2e%2e/%2E%2E/etc").is_err());
        assert!(resolve(&base, "a\\..\\..\\..\\etc").is_err());
        assert_eq!(
            resolve(&base, "/go?next=https://example.com/x")
                .unwrap()
                .as_str(),
            "https://acme.paligoapp.com/api/v2/go?next=https://example.com/x"
        );
    }

    #[test]
    fn absolute_urls_only_under_the_base() {
        let base = u("https://api.example.com/v1");
        assert!(resolve(&base, "https://api.example.com/v1/users").is_ok());
        assert!(resolve(&base, "https://api.example.com/v1").is_ok());
        for bad in [
            "https://evil.example.com/v1/users",
            "http://api.example.com/v1/users",
            "https://api.example.com:8443/v1/users",
            "https://api.example.com/v10/users",
            "https://api.example.com/other",
        ] {
            assert!(resolve(&base, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_comparison_uses_default_ports() {
        assert!(same_origin(
            &u("https://a.com/x"),
            &u("https://A.com:443/y")
        ));
        assert!(!same_origin(&u("https://a.com"), &u("http://a.com")));
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn redactor_hides_every_form() {
        let r = Redactor::new(vec!["s3cr3t".into(), "Bearer s3cr3t".into()]);
        assert_eq!(
            r.redact("Authorization: Bearer s3cr3t"),
            format!("Authorization: {REDACTED}")
        );
        assert_eq!(r.redact("?k=s3cr3t"), format!("?k={REDACTED}"));
    }
}
