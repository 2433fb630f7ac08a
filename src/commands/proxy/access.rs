//! Who may use the proxy, and for what: the listen address (loopback
//! only), the access token every TCP request must carry, and the
//! `--allow 'METHOD PATTERN'` rules (parsed and matched by
//! `http::allow`, which `cred mcp` shares).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, PROXY_AUTHORIZATION};

use crate::error::{Error, Result};
pub use crate::http::allow::{Allow, Rule, parse_rule};

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
