//! Secrets leave output one way: this module.
//!
//! [`Secrets`] holds every form in which a secret could appear in what a
//! server sends back or what cred prints: the raw key, the value the auth
//! puts on the wire (`Bearer KEY`, `Basic base64(user:KEY)` and its token),
//! and its base64 and base64url encodings in all three alignments (so the
//! key is found also inside a longer encoded string, such as a Basic header
//! a program built itself) (`forms.rs`).
//!
//! The forms are matched in a normalised view of the output (`view.rs`):
//! percent-escapes, JSON escapes and terminal sequences read as what they
//! stand for, and line breaks inside wrapped base64 skipped. So a key is
//! found however a program spells it: `urllib.parse.quote` (which leaves
//! `/` plain), `%2f` or `%2F`, every character escaped, `\/` mixed with
//! `\u002b`, base64 wrapped at 76 columns, colours inside the key. A match
//! maps back to the original bytes, and all of them are concealed. The
//! original bytes are matched too, so an escape that happens to begin just
//! before a key cannot hide it.
//!
//! [`Secrets::scrub_str`] masks text; [`Secrets::shown`] masks it and then
//! escapes control characters (text fit to show); [`ScrubWriter`] masks a
//! stream, also across chunk boundaries, holding back only the bytes that
//! could still be the start of a secret (in the view: an escape cut short,
//! or the start of a form).
//!
//! Commands do not call these at each line: `Ui` holds the secrets in play
//! and masks every message, warning, error and `-v` line written through
//! it, and hands the same set to the streams (`call`'s body, `exec`'s child
//! output, `proxy`'s answers) and logs (`ui::log`). The live checks and
//! Vault's texts mask with sets of their own.

mod forms;
mod view;

use std::io::{self, Write};

use aho_corasick::{AhoCorasick, MatchKind};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::providers::Auth;
use view::View;

/// What `call` and error messages print in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// At most this much output is held back, however it could still grow
/// into a key (a key with a colour change between every two characters
/// takes well under 1 KiB): memory stays bounded, and output flows.
const MAX_HELD: usize = 16 * 1024;

/// A set of byte strings, a matcher for them, and which bytes begin one.
#[derive(Default, Clone)]
struct Patterns {
    /// Longest first.
    list: Vec<Zeroizing<Vec<u8>>>,
    matcher: Option<AhoCorasick>,
    first: Vec<bool>,
}

impl Patterns {
    fn add(&mut self, p: Zeroizing<Vec<u8>>) {
        if !p.is_empty() && !self.list.iter().any(|have| **have == *p) {
            self.list.push(p);
        }
    }

    fn build(&mut self) {
        // Longest first: at one place the longest form wins.
        self.list.sort_by_key(|f| std::cmp::Reverse(f.len()));
        self.first = vec![false; 256];
        for p in &self.list {
            self.first[usize::from(p[0])] = true;
        }
        self.matcher = if self.list.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.list.iter().map(|f| f.as_slice()))
                .ok()
        };
    }

    /// How many bytes at the end of `data` could be the start of a
    /// pattern (a proper prefix of one), and so must wait for more.
    fn held_back(&self, data: &[u8]) -> usize {
        let longest = self.list.first().map_or(0, |f| f.len());
        let max = longest.saturating_sub(1).min(data.len());
        (1..=max)
            .rev()
            .find(|&k| {
                let tail = &data[data.len() - k..];
                self.first[usize::from(tail[0])]
                    && self.list.iter().any(|f| f.len() > k && f.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

/// Every revealing form of one or more secrets, and a matcher for them.
/// Cloning copies the forms (zeroized when dropped) and shares the
/// matchers.
#[derive(Clone)]
pub struct Secrets {
    /// The forms as they are spelt, matched in the original bytes.
    raw: Patterns,
    /// The forms as the view reads them, matched in the view.
    view: Patterns,
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
            raw: Patterns::default(),
            view: Patterns::default(),
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
        for f in forms::forms(secret, auth) {
            self.view
                .add(Zeroizing::new(view::normalised(f.as_slice())));
            self.raw.add(f);
        }
        self.raw.build();
        self.view.build();
    }

    pub fn is_empty(&self) -> bool {
        self.raw.list.is_empty()
    }

    /// `text` with every form replaced by the mask.
    pub fn scrub_str(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let (bytes, _) = self.scrub_bytes(text.as_bytes());
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// `text` fit to be shown to a person or an agent: every form masked
    /// first, then control characters escaped ([`crate::escape::visible`]).
    /// In this order, so that a key with colours between its characters is
    /// still found before the colours become visible text.
    pub fn shown(&self, text: &str) -> String {
        if self.is_empty() {
            return crate::escape::visible(text).into_owned();
        }
        crate::escape::visible(&self.scrub_str(text)).into_owned()
    }

    /// Every string in `value` (object keys too) made fit to be shown
    /// ([`Secrets::shown`]); the structure stays as it was.
    pub fn shown_value(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.shown(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.shown_value(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (self.shown(k), self.shown_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
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
    /// The view of `pending`, when it holds something to decode.
    view: View,
    /// Original ranges to conceal (scratch).
    found: Vec<(usize, usize)>,
    /// How many base64 characters came just before `pending` (for the
    /// line breaks of wrapped base64).
    run_before: usize,
}

impl<'a, W: Write> ScrubWriter<'a, W> {
    pub fn new(secrets: &'a Secrets, inner: W) -> Self {
        ScrubWriter {
            secrets,
            inner,
            pending: Vec::new(),
            out: Vec::new(),
            hits: 0,
            view: View::default(),
            found: Vec::new(),
            run_before: 0,
        }
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
        let secrets = self.secrets;
        let Some(matcher) = &secrets.view.matcher else {
            self.out.append(&mut self.pending);
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.pending);
        // Plain bytes (nothing to decode) are their own view.
        let plain = view::find_special(&data).is_none();
        let mut hold = self.decided(&data, plain, last);
        if !last {
            hold = hold.max(data.len().saturating_sub(MAX_HELD));
        }
        self.find(matcher, &data, plain, hold);
        let (cursor, masked_to) = self.mask_found(&data, plain);
        let end = cursor.max(hold);
        self.out.extend_from_slice(&data[cursor..end]);
        self.run_before = run_after(&data[..end], masked_to, self.run_before);
        self.pending = data;
        self.pending.drain(..end);
    }

    /// Where the decided part of `data` ends: before a tail that could
    /// still become a form, in the view or as spelt (nothing held when
    /// `last`). Decodes the view unless `plain`.
    fn decided(&mut self, data: &[u8], plain: bool, last: bool) -> usize {
        let secrets = self.secrets;
        if plain {
            return data.len()
                - if last {
                    0
                } else {
                    secrets.view.held_back(data)
                };
        }
        view::decode(data, self.run_before, last, &mut self.view);
        let v = &self.view;
        let vh = if last {
            0
        } else {
            secrets.view.held_back(&v.bytes)
        };
        // Read as spelt (nothing decoded, no line break skipped): the
        // view's forms cover the spelt ones, as for plain bytes.
        let rh = if last || v.spans.is_empty() {
            0
        } else {
            secrets.raw.held_back(data)
        };
        v.orig_start(v.bytes.len() - vh)
            .min(v.decided)
            .min(data.len() - rh)
    }

    /// Fills `found` with the original ranges of the matches that start
    /// before `hold`, in order: in `data` itself when `plain`, else in the
    /// view (mapped back) and in the original bytes.
    fn find(&mut self, matcher: &AhoCorasick, data: &[u8], plain: bool, hold: usize) {
        self.found.clear();
        if plain {
            // A match that starts where the held-back tail begins might
            // still grow into a longer form: wait for it.
            for m in matcher.find_iter(data) {
                if m.start() >= hold {
                    break;
                }
                self.found.push((m.start(), m.end()));
            }
            return;
        }
        let v = &self.view;
        for m in matcher.find_iter(&v.bytes) {
            let (from, to) = (v.orig_start(m.start()), v.orig_end(m.end()));
            if from >= hold {
                break;
            }
            self.found.push((from, to));
        }
        if let Some(raw) = &self.secrets.raw.matcher
            && !v.spans.is_empty()
        {
            for m in raw.find_iter(data) {
                if m.start() >= hold {
                    break;
                }
                self.found.push((m.start(), m.end()));
            }
        }
        self.found.sort_unstable();
    }

    /// Writes `data` to `out` up to the end of the last match found, each
    /// match (overlapping ones as one) replaced by the mask, the terminal
    /// sequences inside it kept; returns where it stopped and where the
    /// last mask ended.
    fn mask_found(&mut self, data: &[u8], plain: bool) -> (usize, Option<usize>) {
        let mut cursor = 0;
        let mut masked_to = None;
        let mut i = 0;
        while i < self.found.len() {
            let (from, mut to) = self.found[i];
            i += 1;
            // Overlapping matches (the view's and the original's) are one.
            while let Some(&(f, t)) = self.found.get(i)
                && f < to
            {
                to = to.max(t);
                i += 1;
            }
            self.out.extend_from_slice(&data[cursor..from]);
            self.out.extend_from_slice(self.secrets.mask.as_bytes());
            if !plain {
                for (a, b) in self.view.csi_within(from, to) {
                    self.out.extend_from_slice(&data[a..b]);
                }
            }
            self.hits += 1;
            cursor = to;
            masked_to = Some(to);
        }
        (cursor, masked_to)
    }
}

/// How many base64 characters end `done` (line breaks not counting as a
/// break), for the next view: none after a mask; `before` counts when
/// `done` is all base64.
fn run_after(done: &[u8], masked_to: Option<usize>, before: usize) -> usize {
    let from = masked_to.unwrap_or(0);
    let mut n = 0;
    for &b in done[from..].iter().rev() {
        match b {
            b'\r' | b'\n' => {}
            b if view::is_base64(b) => {
                n += 1;
                if n >= view::WRAP_RUN {
                    return n;
                }
            }
            _ => return n,
        }
    }
    if masked_to.is_some() {
        n
    } else {
        (n + before).min(view::WRAP_RUN)
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
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use secrecy::ExposeSecret;

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
    fn escapes_hold_back_only_what_could_still_become_a_key() {
        let s = secrets("k3y-0123456789");
        let mut w = s.writer(Vec::new());
        // A progress bar with colours and a percentage goes out at once.
        w.write_all(b"\x1b[32m[=====>    ] 50%\x1b[0m\r").unwrap();
        assert_eq!(w.inner.as_slice(), b"\x1b[32m[=====>    ] 50%\x1b[0m\r");
        // A `%` at the very end could be `%6B` (`k`): it waits for one byte.
        w.write_all(b" 60%").unwrap();
        assert!(w.inner.ends_with(b" 60"));
        w.write_all(b"\r").unwrap();
        assert!(w.inner.ends_with(b" 60%\r"));
        // A percent-encoded start of the key waits; the rest of it masks.
        w.write_all(b"key=%6b3y%2D01").unwrap();
        assert!(w.inner.ends_with(b"key="));
        w.write_all(b"23456789 done").unwrap();
        let (out, hits) = w.finish().unwrap();
        assert!(
            out.ends_with(b"key=<redacted> done"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(hits, 1);
    }

    #[test]
    fn what_programs_print_is_masked() {
        let key = "Ab3/xY+z=Q9/kLmN+pQ7==";
        let s = secrets(key).with_mask("<concealed by cred>");
        let b64 = base64::engine::general_purpose::STANDARD
            .encode([b"x".repeat(50), key.as_bytes().to_vec(), b"y".repeat(40)].concat());
        let wrapped: String = b64
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\n", std::str::from_utf8(l).unwrap()))
            .collect();
        for (printed, want) in [
            ("Ab3/xY%2Bz%3DQ9/kLmN%2BpQ7%3D%3D", "<concealed by cred>"),
            (
                "Ab3%2fxY%2bz%3dQ9%2fkLmN%2bpQ7%3d%3d",
                "<concealed by cred>",
            ),
            (
                "%41%62%33%2F%78%59%2B%7A%3D%51%39%2F%6B%4C%6D%4E%2B%70%51%37%3D%3D",
                "<concealed by cred>",
            ),
            (
                "Ab3\\/xY\\u002bz=Q9\\/kLmN\\u002BpQ7==",
                "<concealed by cred>",
            ),
            (
                "Ab3/xY+z=\x1b[01;31m\x1b[KQ9/kLm\x1b[m\x1b[KN+pQ7==",
                "<concealed by cred>\x1b[01;31m\x1b[K\x1b[m\x1b[K",
            ),
        ] {
            assert_eq!(
                s.scrub_str(&format!("<{printed}>")),
                format!("<{want}>"),
                "{printed}"
            );
        }
        let out = s.scrub_str(&wrapped);
        assert!(out.contains("<concealed by cred>"), "{out}");
        assert!(!out.replace('\n', "").contains(&b64[68..94]), "{out}");
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
