//! `--allow 'METHOD PATTERN'` rules, shared by `cred proxy` and `cred mcp`:
//! which methods and paths under a credential's base URL may be requested.
//! A pattern matches the path under the base (never the query), `*`
//! standing for any run of characters; a path holding an encoded `/`, `\`
//! or `.` is refused whenever there are rules, since the server may read
//! it as another path than the one matched.

use reqwest::Method;
use reqwest::header::HeaderMap;

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
        (!passes).then(|| format!("{method} {path} is not allowed by the --allow rules"))
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
            "the request carries `{found}`, which could make the API act on another method or path than --allow checked; with --allow set, cred refuses {}",
            OVERRIDES.join(", ")
        ))
    }

    pub fn rules(&self) -> Vec<String> {
        self.0.iter().map(Rule::to_string).collect()
    }
}

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

/// Headers by which a client asks a server for another method or path
/// than its request line's (lower case).
pub const OVERRIDES: [&str; 5] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

#[cfg(test)]
mod tests {
    use super::*;

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
    fn glob_backtracks() {
        assert!(glob(b"/a*b*c", b"/aXbYbZc"));
        assert!(!glob(b"/a*b*c", b"/aXbYbZ"));
        assert!(glob(b"*", b""));
        assert!(glob(b"/x", b"/x"));
        assert!(!glob(b"/x", b"/xy"));
    }
}
