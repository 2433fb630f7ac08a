//! Links in JSON answers: an absolute URL under the credential's base URL
//! (`"next_page": "https://acme.paligoapp.com/api/v2/documents?page=2"`)
//! would send the client straight to the API, without the key, and out of
//! the proxy's `--allow` and `--ttl`; it is rewritten to the same place
//! through the proxy (`http://127.0.0.1:PORT/documents?page=2`), as a
//! `Location` is. Streamed as the scrubber is: a URL cut by a chunk's end
//! is held back until the next chunk shows whether it matches, so memory
//! stays bounded whatever the answer's size. `--no-rewrite` turns it off.

use std::io::{self, Write};

use aho_corasick::AhoCorasick;
use url::Url;

/// The base URL's forms in a JSON text, and what each becomes.
pub struct Links {
    finder: AhoCorasick,
    /// By pattern index: the proxy's address in the same form.
    replacements: [Vec<u8>; 2],
    /// The longest pattern, in bytes.
    longest: usize,
}

impl Links {
    /// `base`: the credential's base URL; `public`: the proxy's address as
    /// its clients reach it (`http://127.0.0.1:PORT`). Both forms a JSON
    /// encoder writes are matched: `https://host/api` and `https:\/\/host\/api`.
    pub fn new(base: &Url, public: &str) -> Links {
        let mut base = base.clone();
        base.set_query(None);
        base.set_fragment(None);
        let plain = base.as_str().trim_end_matches('/').to_string();
        let escaped = plain.replace('/', "\\/");
        let public = public.trim_end_matches('/');
        let finder = AhoCorasick::new([plain.as_bytes(), escaped.as_bytes()])
            .expect("two literal patterns always build");
        Links {
            finder,
            replacements: [
                public.as_bytes().to_vec(),
                public.replace('/', "\\/").into_bytes(),
            ],
            longest: escaped.len().max(plain.len()),
        }
    }
}

/// Whether the byte after a matched base URL ends it: the URL goes on with
/// a path, a query or a fragment, or the string ends (`"`, or `\` of an
/// escape). `/api/v2` must not match in `/api/v20`, nor a host in a longer
/// host name or one with a port.
fn ends_base(next: u8) -> bool {
    matches!(next, b'/' | b'?' | b'#' | b'"' | b'\\')
}

/// Rewrites links on their way to `inner`; with no [`Links`], passes
/// everything through as it is.
pub struct Rewrite<'a, W: Write> {
    inner: W,
    links: Option<&'a Links>,
    /// Bytes not yet passed on: they may be the start of a link.
    held: Vec<u8>,
    /// Inside a rewritten link (until its closing `"`): a `<` or `>` there
    /// (the scrubber's `<redacted>` in place of a query-placed key) is
    /// percent-encoded, so that the link can be sent as it is (a request
    /// line may not hold them) and the proxy knows its own mask again.
    in_link: bool,
}

/// Appends `bytes` to `out`; inside a link, `<` and `>` percent-encoded.
fn emit(out: &mut Vec<u8>, bytes: &[u8], in_link: &mut bool) {
    if !*in_link {
        out.extend_from_slice(bytes);
        return;
    }
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'<' => out.extend_from_slice(b"%3C"),
            b'>' => out.extend_from_slice(b"%3E"),
            b'"' | 0..=b' ' => {
                *in_link = false;
                out.extend_from_slice(&bytes[i..]);
                return;
            }
            _ => out.push(*b),
        }
    }
}

impl<'a, W: Write> Rewrite<'a, W> {
    pub fn new(inner: W, links: Option<&'a Links>) -> Self {
        Rewrite {
            inner,
            links,
            held: Vec::new(),
            in_link: false,
        }
    }

    /// Passes on what is held (the answer has ended) and returns the
    /// destination.
    pub fn finish(mut self) -> io::Result<W> {
        self.pass(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Rewrites the links in what is held and passes it on, keeping back
    /// only what may still become a link (unless `last`).
    fn pass(&mut self, last: bool) -> io::Result<()> {
        let Some(links) = self.links else {
            let held = std::mem::take(&mut self.held);
            return self.inner.write_all(&held);
        };
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::with_capacity(held.len());
        let mut done = 0;
        let mut keep_from = None;
        for m in links.finder.find_iter(&held) {
            match held.get(m.end()) {
                // What follows is not here yet: decide with the next chunk.
                None if !last => {
                    keep_from = Some(m.start());
                    break;
                }
                Some(next) if !ends_base(*next) => {}
                _ => {
                    emit(&mut out, &held[done..m.start()], &mut self.in_link);
                    out.extend_from_slice(&links.replacements[m.pattern().as_usize()]);
                    self.in_link = true;
                    done = m.end();
                }
            }
        }
        let keep_from = match keep_from {
            Some(at) => at,
            None if last => held.len(),
            // The tail may be the start of a link cut by the chunk's end.
            None => held
                .len()
                .saturating_sub(links.longest.saturating_sub(1))
                .max(done),
        };
        emit(&mut out, &held[done..keep_from], &mut self.in_link);
        self.held = held[keep_from..].to_vec();
        self.inner.write_all(&out)
    }
}

impl<W: Write> Write for Rewrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.links.is_none() {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        self.held.extend_from_slice(buf);
        self.pass(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(
            &Url::parse("https://acme.paligoapp.com/api/v2").unwrap(),
            "http://127.0.0.1:9",
        )
    }

    /// `text` through the rewriter in pieces of `step` bytes.
    fn rewrite(text: &str, step: usize) -> String {
        let links = links();
        let mut w = Rewrite::new(Vec::new(), Some(&links));
        for piece in text.as_bytes().chunks(step) {
            w.write_all(piece).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn links_under_the_base_point_at_the_proxy_whatever_the_chunks() {
        let text = r#"{"next_page":"https://acme.paligoapp.com/api/v2/documents?page=2","self":"https:\/\/acme.paligoapp.com\/api\/v2\/documents\/7","root":"https://acme.paligoapp.com/api/v2","other":"https://acme.paligoapp.com/api/v20/x","host":"https://acme.paligoapp.com.evil.example/api/v2/x","cdn":"https://cdn.example.net/f","end":"https://acme.paligoapp.com/api/v2"#;
        let want = r#"{"next_page":"http://127.0.0.1:9/documents?page=2","self":"http:\/\/127.0.0.1:9\/documents\/7","root":"http://127.0.0.1:9","other":"https://acme.paligoapp.com/api/v20/x","host":"https://acme.paligoapp.com.evil.example/api/v2/x","cdn":"https://cdn.example.net/f","end":"http://127.0.0.1:9"#;
        for step in [1, 2, 3, 7, 33, 64, 4096] {
            assert_eq!(rewrite(text, step), want, "in pieces of {step}");
        }
    }

    #[test]
    fn a_mask_inside_a_rewritten_link_is_percent_encoded() {
        let text = r#"{"next":"https://acme.paligoapp.com/api/v2/x?page=2&api_key=<redacted>","note":"<b>"}"#;
        let want = r#"{"next":"http://127.0.0.1:9/x?page=2&api_key=%3Credacted%3E","note":"<b>"}"#;
        for step in [1, 5, 4096] {
            assert_eq!(rewrite(text, step), want, "in pieces of {step}");
        }
    }

    #[test]
    fn without_links_everything_passes_as_it_is() {
        let mut w = Rewrite::new(Vec::new(), None);
        w.write_all(b"https://acme.paligoapp.com/api/v2/x").unwrap();
        assert_eq!(w.finish().unwrap(), b"https://acme.paligoapp.com/api/v2/x");
    }

    #[test]
    fn little_is_held_back() {
        let links = links();
        let mut w = Rewrite::new(Vec::new(), Some(&links));
        w.write_all(&vec![b'x'; 100_000]).unwrap();
        assert!(w.held.len() < links.longest, "{}", w.held.len());
    }
}
