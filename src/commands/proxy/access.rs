//! Who may use the proxy, and for what: the listen address (loopback
//! only), the access token every TCP request must carry, and the
//! `--allow 'METHOD PATTERN'` rules.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, PROXY_AUTHORIZATION};

use crate::error::{Error, Result};

/// `--listen`: `127.0.0.1:PORT`, `[::1]:PORT`, `localhost:PORT`, a bare
/// `PORT` (on 127.0.0.1), or an address alone (`127.0.0.1`, `::1`,
/// `[::1]`, `localhost`: a free port). Anything that is not loopback is
/// refused: any local user can reach a loopback port, nobody else can.
pub fn parse_listen(text: &str) -> std::result::Result<SocketAddr, String> {
    let text = text.trim();
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let addr = if let Ok(port) = text.parse::<u16>() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else if let Ok(ip) = bare.parse::<IpAddr>() {
        SocketAddr::new(ip, 0)
    } else if bare.eq_ignore_ascii_case("localhost") {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    } else if let Some(port) = text
        .strip_prefix("localhost:")
        .map(|p| p.parse::<u16>().map_err(|e| format!("bad port `{p}`: {e}")))
    {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port?)
    } else {
        text.parse::<SocketAddr>().map_err(|_| {
            format!(
                "`{text}` is not a loopback address, with or without a port, such as 127.0.0.1:8080, [::1]:8080 or 127.0.0.1"
            )
        })?
    };
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address: cred proxy listens only on 127.0.0.1, ::1 or localhost, or on a Unix socket (--socket)",
            addr.ip()
        ));
    }
    Ok(addr)
}

/// `--ttl`: a duration such as `90s`, `15m` or `2h`.
pub fn parse_ttl(text: &str) -> std::result::Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 90s, 15m or 2h ({e})"))?;
    if d.is_zero() {
        return Err("the time to live must be longer than 0".into());
    }
    Ok(d)
}

/// A fresh random access token: `cpx_` and 32 random bytes in base64url.
/// It opens the proxy, never the API: it is not the key nor derived from it.
pub fn new_token() -> Result<String> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(bytes.as_mut()).map_err(|e| {
        Error::user("could not make a random access token")
            .cause(e)
            .hint("the system's random number source is unavailable")
    })?;
    Ok(format!(
        "cpx_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())
    ))
}

/// Whether `value` is `Bearer TOKEN` (the scheme in any case).
pub fn is_bearer(value: &[u8], token: &str) -> bool {
    let Some(split) = value.iter().position(|b| *b == b' ') else {
        return false;
    };
    let (scheme, rest) = value.split_at(split);
    scheme.eq_ignore_ascii_case(b"bearer") && constant_time_eq(rest.trim_ascii(), token.as_bytes())
}

/// Whether the request carries the token, in `Authorization` or
/// `Proxy-Authorization`.
pub fn has_token(headers: &HeaderMap, token: &str) -> bool {
    [AUTHORIZATION, PROXY_AUTHORIZATION].iter().any(|name| {
        headers
            .get_all(name)
            .iter()
            .any(|v| is_bearer(v.as_bytes(), token))
    })
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One `--allow 'METHOD PATTERN'`: `METHOD` is a method or `*`; `PATTERN`
/// is matched against the path under the base URL (without the query),
/// `*` standing for any run of characters, `/` included.
#[derive(Debug, Clone)]
pub struct Rule {
    method: Option<Method>,
    pattern: String,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.method {
            Some(m) => write!(f, "{m} {}", self.pattern),
            None => write!(f, "* {}", self.pattern),
        }
    }
}

/// Parses `--allow`.
pub fn parse_rule(text: &str) -> std::result::Result<Rule, String> {
    let example = "e.g. --allow 'GET /documents*' or --allow '* /folders/*'";
    let mut words = text.split_whitespace();
    let (Some(method), Some(pattern), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!("expected 'METHOD PATTERN', {example}"));
    };
    let method = if method == "*" {
        None
    } else if !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()) {
        Some(
            Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("`{method}` is not an HTTP method"))?,
        )
    } else {
        return Err(format!(
            "`{method}` is not an HTTP method or `*`, {example}"
        ));
    };
    if !pattern.starts_with('/') && pattern != "*" {
        return Err(format!(
            "the pattern `{pattern}` must start with `/` (a path under the base URL), {example}"
        ));
    }
    if pattern.contains('?') {
        return Err(format!(
            "the pattern `{pattern}` holds a `?`: patterns match the path only, never the query"
        ));
    }
    Ok(Rule {
        method,
        pattern: pattern.to_string(),
    })
}

/// The `--allow` rules; none means everything passes.
#[derive(Debug, Default)]
pub struct Allow(pub Vec<Rule>);

impl Allow {
    /// Why `method path` is refused, or `None` when it may pass. `path` is
    /// the path under the base URL as it will be sent (already normalised).
    pub fn refusal(&self, method: &Method, path: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        // An encoded `/`, `\` or `.` could mean another path to the server
        // than the one matched here.
        let lower = path.to_ascii_lowercase();
        if ["%2f", "%5c", "%2e"].iter().any(|e| lower.contains(e)) {
            return Some(format!(
                "the path {path} holds an encoded `/`, `\\` or `.`, which --allow does not let through"
            ));
        }
        let passes = self.0.iter().any(|r| {
            r.method.as_ref().is_none_or(|m| m == method)
                && glob(r.pattern.as_bytes(), path.as_bytes())
        });
        (!passes).then(|| format!("{method} {path} is not allowed by this proxy's --allow rules"))
    }

    /// Why a request carrying a header that asks the API for another
    /// method or path than the request line's is refused: with `--allow`
    /// set, frameworks that honour such headers (Rails, Laravel, Symfony,
    /// ASP.NET, IIS) would act on what the rules never saw. `None` without
    /// `--allow` (nothing is restricted) or without such a header.
    pub fn override_refusal(&self, headers: &HeaderMap) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let found = OVERRIDES.iter().find(|h| headers.contains_key(**h))?;
        Some(format!(
            "the request carries `{found}`, which could make the API act on another method or path than --allow checked; with --allow set, cred proxy refuses {}",
            OVERRIDES.join(", ")
        ))
    }

    pub fn rules(&self) -> Vec<String> {
        self.0.iter().map(Rule::to_string).collect()
    }
}

/// Headers by which a client asks a server for another method or path
/// than its request line's (lower case).
pub const OVERRIDES: [&str; 5] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and where in `text` it now ends.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses() {
        assert_eq!(parse_listen("127.0.0.1:8080").unwrap().port(), 8080);
        assert!(parse_listen("[::1]:0").is_ok());
        assert!(parse_listen("localhost:9").unwrap().ip().is_loopback());
        assert!(parse_listen("7000").unwrap().ip().is_loopback());
        for alone in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            let a = parse_listen(alone).unwrap();
            assert!(a.ip().is_loopback() && a.port() == 0, "{alone}");
        }
        assert_eq!(parse_listen("[::1]:8080").unwrap().port(), 8080);
        for bad in [
            "0.0.0.0:8080",
            "[::]:1",
            "192.168.1.2:80",
            "example.com:80",
            "x",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_match_method_and_path() {
        let allow = Allow(vec![
            parse_rule("GET /documents*").unwrap(),
            parse_rule("* /folders/*/items").unwrap(),
        ]);
        let get = Method::GET;
        assert!(allow.refusal(&get, "/documents").is_none());
        assert!(allow.refusal(&get, "/documents/7/content").is_none());
        assert!(allow.refusal(&Method::POST, "/documents").is_some());
        assert!(allow.refusal(&get, "/doc").is_some());
        assert!(allow.refusal(&Method::DELETE, "/folders/3/items").is_none());
        assert!(allow.refusal(&get, "/folders/3/items/4").is_some());
        assert!(allow.refusal(&get, "/documents%2f..%2fadmin").is_some());
        assert!(Allow::default().refusal(&get, "/anything").is_none());
        assert!(parse_rule("GET").is_err());
        assert!(parse_rule("GET documents").is_err());
        assert!(parse_rule("G-T /x").is_err());
        assert!(parse_rule("get /x?y").is_err());
        assert_eq!(parse_rule("get /x").unwrap().to_string(), "GET /x");
    }

    #[test]
    fn override_headers_are_refused_only_under_allow() {
        let mut h = HeaderMap::new();
        h.insert("X-HTTP-Method-Override", "DELETE".parse().unwrap());
        let allow = Allow(vec![parse_rule("GET /items*").unwrap()]);
        let why = allow.override_refusal(&h).unwrap();
        assert!(why.contains("x-http-method-override"), "{why}");
        assert!(Allow::default().override_refusal(&h).is_none());
        assert!(allow.override_refusal(&HeaderMap::new()).is_none());
    }

    #[test]
    fn glob_backtracks() {
        assert!(glob(b"/a*b*c", b"/aXbYbZc"));
        assert!(!glob(b"/a*b*c", b"/aXbYbZ"));
        assert!(glob(b"*", b""));
        assert!(glob(b"/x", b"/x"));
        assert!(!glob(b"/x", b"/xy"));
    }

    #[test]
    fn tokens() {
        let t = new_token().unwrap();
        assert!(t.starts_with("cpx_") && t.len() == 47, "{t}");
        assert_ne!(t, new_token().unwrap());
        assert!(is_bearer(format!("Bearer {t}").as_bytes(), &t));
        assert!(is_bearer(format!("bearer  {t}").as_bytes(), &t));
        assert!(!is_bearer(format!("Basic {t}").as_bytes(), &t));
        assert!(!is_bearer(b"Bearer cpx_wrong", &t));
        assert!(parse_ttl("2s").is_ok() && parse_ttl("0s").is_err() && parse_ttl("x").is_err());
    }
}
