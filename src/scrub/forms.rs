//! The spellings a secret can take in output: raw, as the auth presents
//! it, percent-encoded, JSON-escaped, and base64 and base64url in the
//! three alignments it can have inside a longer encoded string.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::providers::Auth;

/// Partial base64 forms shorter than this are not matched: too many
/// ordinary strings would contain them.
const MIN_PARTIAL_BASE64: usize = 8;

/// The revealing forms of one secret, as bytes.
pub(super) fn forms(secret: &SecretString, auth: Option<&Auth>) -> Vec<Zeroizing<Vec<u8>>> {
    let raw = secret.expose_secret();
    let mut out: Vec<Zeroizing<String>> = vec![Zeroizing::new(raw.to_string())];
    if let Some(auth) = auth {
        if let Some((_, value)) = auth.header() {
            let v = value.expose_secret();
            out.push(Zeroizing::new(v.to_string()));
            if let Some(token) = v.strip_prefix("Basic ") {
                out.push(Zeroizing::new(token.to_string()));
            }
        }
        if let Some((_, value)) = auth.query() {
            let v = value.expose_secret();
            out.push(Zeroizing::new(v.to_string()));
            out.push(Zeroizing::new(
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
            ));
        }
    }
    // Percent-encoded, as a query string (`+` for a space) or a path
    // (`%20`) would carry it.
    let form_encoded: Zeroizing<String> =
        Zeroizing::new(url::form_urlencoded::byte_serialize(raw.as_bytes()).collect());
    out.push(Zeroizing::new(form_encoded.replace('+', "%20")));
    out.push(form_encoded);
    // Inside a JSON string, also with `/` escaped as `\/`, and as the
    // encoders that write `\uXXXX` for some characters do (Go: `<>&`;
    // .NET: those and `+'"`; some: every non-alphanumeric), in upper and
    // lower case hex.
    if let Ok(json) = serde_json::to_string(raw) {
        let json = Zeroizing::new(json);
        let inner = &json[1..json.len() - 1];
        out.push(Zeroizing::new(inner.to_string()));
        out.push(Zeroizing::new(inner.replace('/', "\\/")));
        for set in ["<>&", "<>&+'\"", ""] {
            for upper in [true, false] {
                out.push(u_escaped(raw, set, upper));
            }
        }
    }
    let mut bytes: Vec<Zeroizing<Vec<u8>>> = out
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| Zeroizing::new(f.as_bytes().to_vec()))
        .collect();
    bytes.extend(base64_forms(raw.as_bytes()));
    bytes
}

/// `raw` as a JSON string body with the characters of `set` (every ASCII
/// character that is not alphanumeric when `set` is empty) written as
/// `\u00XX`, the rest as serde_json writes them.
fn u_escaped(raw: &str, set: &str, upper: bool) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len() * 2));
    for c in raw.chars() {
        let escape = if set.is_empty() {
            c.is_ascii() && !c.is_ascii_alphanumeric()
        } else {
            set.contains(c)
        };
        if escape {
            if upper {
                out.push_str(&format!("\\u{:04X}", c as u32));
            } else {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
        } else {
            match serde_json::to_string(&c.to_string()) {
                Ok(j) => out.push_str(&j[1..j.len() - 1]),
                Err(_) => out.push(c),
            }
        }
    }
    out
}

/// The base64 and base64url characters that encode `raw` whatever
/// surrounds it, for each of the three alignments it can have inside a
/// longer encoded string.
pub(super) fn base64_forms(raw: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out = Vec::new();
    // The key encoded on its own, padding included, goes whole.
    if raw.len() >= 6 {
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            out.push(Zeroizing::new(engine.encode(raw).into_bytes()));
        }
    }
    for offset in 0..3usize {
        let mut padded = Zeroizing::new(vec![0u8; offset]);
        padded.extend_from_slice(raw);
        // Character c covers bits 6c..6c+6; keep those that lie wholly
        // within the secret's bits 8·offset..8·(offset+len).
        let first = (8 * offset).div_ceil(6);
        let end = (8 * (offset + raw.len())) / 6;
        if end <= first || end - first < MIN_PARTIAL_BASE64 {
            continue;
        }
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let encoded = Zeroizing::new(engine.encode(padded.as_slice()));
            out.push(Zeroizing::new(encoded.as_bytes()[first..end].to_vec()));
        }
    }
    out
}
