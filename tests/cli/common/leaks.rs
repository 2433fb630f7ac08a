//! Leak checks: every form in which a key would be revealed, and the
//! assertions that printed output, files and requests hold none of them.

use super::*;

/// Standard base64 of `text`.
pub fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `text` URL-encoded as a form value.
pub fn urlencoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every form in which `key` would be revealed: the key itself, its
/// URL-encoded form, and the Basic token that carries it.
pub fn key_forms(key: &str, basic_token: Option<&str>) -> Vec<String> {
    let mut v = vec![key.to_string()];
    v.push(urlencoded(key));
    if let Some(b) = basic_token {
        v.push(b.trim_start_matches("Basic ").to_string());
    }
    v
}

/// Every form of a Paligo key (user [`EMAIL`]) a careless program might
/// print: the key, URL-encoded, and inside the Basic token.
pub fn paligo_forms(key: &str) -> Vec<String> {
    key_forms(key, Some(&basic(EMAIL, key)))
}

/// The first of `forms` that `text` contains.
pub fn revealed<'a>(text: &[u8], forms: &'a [String]) -> Option<&'a String> {
    let text = String::from_utf8_lossy(text);
    forms.iter().find(|f| text.contains(f.as_str()))
}

/// `text` (described as `what`) holds none of `forms`.
pub fn assert_hidden(what: &str, text: &[u8], forms: &[String]) {
    if let Some(f) = revealed(text, forms) {
        panic!(
            "{what} reveals a secret ({f}):\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

/// Fails if anything `cred` printed holds the key in any of `forms`.
pub fn assert_no_leak(run: &Run, forms: &[String]) {
    if let Some(f) = revealed(run.all().as_bytes(), forms) {
        panic!("printed output reveals `{f}`\n{run}");
    }
}

/// No request `server` saw (method, URL, headers, body) holds any of `forms`.
pub fn assert_no_key_in_any_request(server: &Server, forms: &[String]) {
    for seen in server.all_requests() {
        let text = format!(
            "{} {} {:?} {}",
            seen.method,
            seen.url,
            seen.headers,
            String::from_utf8_lossy(&seen.body)
        );
        for form in forms {
            assert!(!text.contains(form.as_str()), "server saw the key: {text}");
        }
    }
}
