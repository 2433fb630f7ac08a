//! Origin rules: where a URL lies relative to a credential's base URL.
//! A key is attached only to URLs under the base it was stored for
//! ([`resolve`], [`is_under`]) and re-sent only within the same origin
//! ([`same_origin`]); a URL is printed without user info ([`display_url`]).

use url::Url;

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
        if !is_under(base, &url) || hidden_climb(url.path()) {
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
    // The URL parser resolves dot segments (`..`, `%2e%2e`) and
    // backslashes: a `..` that stays under the base (`a/b/../c`) is
    // fine, one that leaves it is refused, by where the path really
    // ended up.
    if !is_under(base, &url) {
        return Err(format!("`{path}` climbs out of the base URL"));
    }
    if hidden_climb(url.path()) {
        return Err(format!(
            "`{path}` climbs out of the base URL with a `..` hidden by percent-encoding or a `;` parameter"
        ));
    }
    Ok(url)
}

/// Whether `path` (without the query) climbs with a `..` that only a
/// server decoding it would see: an encoded `/` or `\` around dots
/// (`/..%2f..%2fadmin`), dots encoded once or twice (`%252e%252e`), or a
/// `;` parameter after them (`/..;/admin`, as Java servers strip it). The
/// URL parser resolves a plain `..` and `%2e%2e` itself; these it passes
/// on as they are, and the server may then answer from outside the base
/// URL, with the key, or outside what `--allow` matched.
pub fn hidden_climb(path: &str) -> bool {
    let climbs = |text: &[u8]| {
        text.split(|b| *b == b'/' || *b == b'\\')
            .any(|segment| segment.split(|b| *b == b';').next().unwrap_or_default() == b"..")
    };
    let mut text = path.as_bytes().to_vec();
    for _ in 0..3 {
        if climbs(&text) {
            return true;
        }
        let decoded = percent_decode(&text);
        if decoded == text {
            return false;
        }
        text = decoded;
    }
    climbs(&text)
}

/// `%XX` escapes decoded; anything else (a `%` without two hex digits
/// too) kept as it is.
fn percent_decode(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%'
            && let (Some(h), Some(l)) = (
                text.get(i + 1).copied().and_then(hex),
                text.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// A URL as it may be printed: without user info.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The host is this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbs_hidden_from_the_url_parser_are_found() {
        for bad in [
            "/..%2f..%2fadmin",
            "/documents/..%2Fusers",
            "/documents/..%5cusers",
            "/documents/..;/admin",
            "/documents/..;jsessionid=1/admin",
            "/documents/%252e%252e%252fadmin",
            "/x/%25252e%25252e%25252f",
        ] {
            assert!(hidden_climb(bad), "{bad}");
        }
        for good in [
            "/documents",
            "/documents/a..b/c",
            "/projects/group%2Fproject/issues",
            "/files/report.v2..final",
            "/search/%25",
            "/documents/a%252e%252e%252fadmin",
            "/",
            "",
        ] {
            assert!(!hidden_climb(good), "{good}");
        }
    }

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
        assert!(resolve(&base, "/../v1/x").is_err());
        assert_eq!(
            resolve(&base, "/anything/a/b/../c?x=1").unwrap().as_str(),
            "https://acme.paligoapp.com/api/v2/anything/a/c?x=1"
        );
        assert_eq!(
            resolve(&base, "docs/./..").unwrap().as_str(),
            "https://acme.paligoapp.com/api/v2/"
        );
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
    fn loopback_hosts() {
        assert!(is_loopback(&u("http://127.0.0.1:8080")));
        assert!(is_loopback(&u("http://localhost/x")));
        assert!(is_loopback(&u("http://[::1]/")));
        assert!(!is_loopback(&u("http://example.com")));
    }
}
