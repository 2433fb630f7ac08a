//! Secrets leave output one way: this module.
//!
//! [`Secrets`] holds every form in which a secret could appear in what a
//! server sends back or what cred prints: the raw key, the value the auth
//! puts on the wire (`Bearer KEY`, `Basic base64(user:KEY)` and its token),
//! its percent-encodings, its JSON string escapings, and its base64 and
//! base64url encodings in all three alignments (so the key is found also
//! inside a longer encoded string, such as a Basic header a program built
//! itself). [`Secrets::scrub_str`] masks text (messages, `-v` headers,
//! errors); [`ScrubWriter`] masks a stream, also across chunk boundaries,
//! holding back only the bytes that could still be the start of a secret.
//!
//! `call`'s output, `-v`, error messages, the live checks, `exec`'s child
//! output and `proxy`'s answers and log use it.

use std::io::{self, Write};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::providers::Auth;

/// What `call` and error messages print in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// Partial base64 forms shorter than this are not matched: too many
/// ordinary strings would contain them.
const MIN_PARTIAL_BASE64: usize = 8;

/// Every revealing form of one or more secrets, and a matcher for them.
pub struct Secrets {
    forms: Vec<Zeroizing<Vec<u8>>>,
    matcher: Option<AhoCorasick>,
    mask: &'static str,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets::none()
    }
}

impl Secrets {
    /// Nothing to hide.
    pub fn none() -> Self {
        Secrets {
            forms: Vec::new(),
            matcher: None,
            mask: REDACTED,
        }
    }

    /// The forms of `secret` and of the way `auth` presents it.
    pub fn new(secret: &SecretString, auth: &Auth) -> Self {
        let mut s = Secrets::none();
        s.add(secret, Some(auth));
        s
    }

    /// Uses `mask` in place of each secret (default [`REDACTED`]).
    pub fn with_mask(mut self, mask: &'static str) -> Self {
        self.mask = mask;
        self
    }

    /// Adds another secret (and how it is presented).
    pub fn add(&mut self, secret: &SecretString, auth: Option<&Auth>) {
        for f in forms(secret, auth) {
            if !self.forms.iter().any(|have| **have == *f) {
                self.forms.push(f);
            }
        }
        // Longest first: at one place the longest form wins.
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        self.matcher = if self.forms.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.forms.iter().map(|f| f.as_slice()))
                .ok()
        };
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form replaced by the mask.
    pub fn scrub_str(&self, text: &str) -> String {
        let (bytes, _) = self.scrub_bytes(text.as_bytes());
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// `data` with every form replaced, and how many were.
    pub fn scrub_bytes(&self, data: &[u8]) -> (Vec<u8>, usize) {
        let mut w = ScrubWriter::new(self, Vec::with_capacity(data.len()));
        // Writing to a Vec cannot fail.
        let _ = w.write_all(data);
        let (out, hits) = w.finish().unwrap_or_default();
        (out, hits)
    }

    /// A writer that masks everything written through it.
    pub fn writer<W: Write>(&self, inner: W) -> ScrubWriter<'_, W> {
        ScrubWriter::new(self, inner)
    }

    /// How many bytes at the end of `data` could be the start of a form
    /// (a proper prefix of one), and so must wait for more.
    fn held_back(&self, data: &[u8]) -> usize {
        let longest = self.forms.first().map_or(0, |f| f.len());
        let max = longest.saturating_sub(1).min(data.len());
        (1..=max)
            .rev()
            .find(|&k| {
                let tail = &data[data.len() - k..];
                self.forms
                    .iter()
                    .any(|f| f.len() > k && f.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

/// The revealing forms of one secret, as bytes.
fn forms(secret: &SecretString, auth: Option<&Auth>) -> Vec<Zeroizing<Vec<u8>>> {
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
fn base64_forms(raw: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
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

/// Masks every form of the secrets in what is written through it, also
/// when a form is split between two writes. Bytes that cannot be part of a
/// secret pass through at once and unchanged.
pub struct ScrubWriter<'a, W: Write> {
    secrets: &'a Secrets,
    inner: W,
    pending: Vec<u8>,
    out: Vec<u8>,
    hits: usize,
}

impl<'a, W: Write> ScrubWriter<'a, W> {
    pub fn new(secrets: &'a Secrets, inner: W) -> Self {
        ScrubWriter {
            secrets,
            inner,
            pending: Vec::new(),
            out: Vec::new(),
            hits: 0,
        }
    }

    /// How many secrets were masked so far.
    pub fn hits(&self) -> usize {
        self.hits
    }

    /// Writes what was held back, then hands back the inner writer and the
    /// number of secrets masked.
    pub fn finish(mut self) -> io::Result<(W, usize)> {
        self.process(true);
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()?;
        Ok((self.inner, self.hits))
    }

    /// Moves what is decided from `pending` to `out`: text before a match,
    /// the mask for each match, and (unless `last`) keeps back a tail that
    /// could still become a secret.
    fn process(&mut self, last: bool) {
        let Some(matcher) = &self.secrets.matcher else {
            self.out.append(&mut self.pending);
            return;
        };
        let mut start = 0;
        loop {
            let rest = &self.pending[start..];
            let hold = if last {
                0
            } else {
                self.secrets.held_back(rest)
            };
            let decided = rest.len() - hold;
            match matcher.find(rest) {
                // A match that starts where the held-back tail begins might
                // still grow into a longer form: wait for it.
                Some(m) if m.start() < decided => {
                    self.out.extend_from_slice(&rest[..m.start()]);
                    self.out.extend_from_slice(self.secrets.mask.as_bytes());
                    self.hits += 1;
                    start += m.end();
                }
                _ => {
                    self.out.extend_from_slice(&rest[..decided]);
                    start += decided;
                    break;
                }
            }
        }
        self.pending.drain(..start);
    }
}

impl<W: Write> Write for ScrubWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.process(false);
        self.inner.write_all(&self.out)?;
        self.out.clear();
        Ok(buf.len())
    }

    /// Flushes what is decided; a possible start of a secret stays held.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(key: &str) -> Secrets {
        let key = SecretString::from(key.to_string());
        Secrets::new(&key, &Auth::basic("me@acme.com", key.expose_secret()))
    }

    fn scrub_in_pieces(s: &Secrets, text: &[u8], cut: usize) -> (Vec<u8>, usize) {
        let mut w = s.writer(Vec::new());
        w.write_all(&text[..cut]).unwrap();
        w.write_all(&text[cut..]).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn forms_split_anywhere_between_writes_are_masked() {
        let forms = Secrets::new(
            &SecretString::from("secret"),
            &Auth::Header {
                name: "Authorization".into(),
                value: SecretString::from("Basic c2VjcmV0"),
            },
        );
        let text = b"a secret, Basic c2VjcmV0 and secretsecret; secre";
        let want = b"a <redacted>, <redacted> and <redacted><redacted>; secre";
        for cut in 0..=text.len() {
            let (out, hits) = scrub_in_pieces(&forms, text, cut);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(want),
                "cut at {cut}"
            );
            assert_eq!(hits, 4);
        }
        let mut w = forms.writer(Vec::new());
        for b in text {
            w.write_all(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(w.finish().unwrap().0, want);
    }

    #[test]
    fn only_a_possible_start_of_a_secret_is_held_back() {
        let s = secrets("k3y-0123456789");
        let mut w = s.writer(Vec::new());
        w.write_all(b"progress 10%\r").unwrap();
        w.write_all(b"value k3y-01").unwrap();
        // Everything up to the possible start of the key is out already.
        assert_eq!(w.inner.as_slice(), b"progress 10%\rvalue ");
        w.write_all(b"23456789 done").unwrap();
        let (out, hits) = w.finish().unwrap();
        assert_eq!(out, b"progress 10%\rvalue <redacted> done");
        assert_eq!(hits, 1);
    }

    #[test]
    fn other_bytes_pass_unchanged() {
        let s = secrets("k3y-0123456789");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let (out, hits) = s.scrub_bytes(&bytes);
        assert!(out == bytes);
        assert_eq!(hits, 0);
        assert_eq!(Secrets::none().scrub_str("secret"), "secret");
    }

    #[test]
    fn encodings_of_the_key_are_masked() {
        let key = "k3y/0123+456789\"x";
        let s = secrets(key);
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let b64url = |t: &str| base64::engine::general_purpose::URL_SAFE.encode(t);
        let cases = [
            key.to_string(),
            b64(key),
            b64url(key),
            b64(&format!("user:{key}")),
            b64(&format!("ab:{key}:tail")),
            b64url(&format!("x{key}")),
            url::form_urlencoded::byte_serialize(key.as_bytes()).collect(),
            serde_json::to_string(key).unwrap(),
            serde_json::to_string(key).unwrap().replace('/', "\\/"),
            // .NET's encoder, and one that escapes everything.
            "k3y/0123\\u002B456789\\u0022x".to_string(),
            "k3y\\u002f0123\\u002b456789\\u0022x".to_string(),
        ];
        for case in cases {
            let masked = s.scrub_str(&format!("before {case} after"));
            assert!(masked.contains(REDACTED), "{case} -> {masked}");
            assert!(!masked.contains("0123"), "{case} -> {masked}");
        }
    }

    #[test]
    fn go_escapes_only_some_characters() {
        let s = secrets("k3y<0123>&456789");
        let go = "k3y\\u003c0123\\u003e\\u0026456789";
        assert_eq!(s.scrub_str(go), REDACTED);
    }

    #[test]
    fn a_custom_mask() {
        let s = secrets("k3y-0123456789").with_mask("<concealed by cred>");
        assert_eq!(s.scrub_str("k3y-0123456789"), "<concealed by cred>");
    }
}
