//! What one request gives the agent ([`Answer`]): status, the headers
//! worth showing, and the body read through the scrubber into a buffer
//! capped at `--max-body` ([`read_capped`]); URLs shown with the key's
//! query parameter masked.

use super::*;

/// What the agent gets back from one request.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Map<String, Value>,
    /// The body as text for the agent (scrubbed, sanitized).
    pub(super) body: String,
    /// Body bytes kept (scrubbed).
    pub(super) bytes: usize,
    pub(super) truncated: bool,
    pub(super) notes: Vec<String>,
    /// The scrubbed body as it came, for joining pages.
    pub(super) raw: Vec<u8>,
    /// The `Link: rel="next"` target, for joining pages.
    pub(super) link_next: Option<String>,
}

impl Answer {
    /// Takes the scrubbed body: text is sanitized; binary is not shown.
    pub(super) fn set_body(&mut self, mut bytes: Vec<u8>, content_type: &str, cap: usize) {
        if self.truncated {
            // A character cut in two at the cap is dropped.
            if let Err(e) = std::str::from_utf8(&bytes)
                && e.error_len().is_none()
            {
                bytes.truncate(e.valid_up_to());
            }
            self.notes.push(format!(
                "the body was cut at {cap} bytes (--max-body); ask for less (a smaller page, a filter) to see the rest"
            ));
        }
        self.bytes = bytes.len();
        match std::str::from_utf8(&bytes) {
            Ok(text) if !text.contains('\0') => {
                self.body = crate::escape::visible(text).into_owned();
                self.raw = bytes;
            }
            _ => {
                let shown = if content_type.is_empty() {
                    "no content type".to_string()
                } else {
                    crate::escape::visible(content_type).into_owned()
                };
                self.notes.push(format!(
                    "the body is binary ({shown}, {} bytes read) and is not shown",
                    bytes.len()
                ));
            }
        }
    }

    /// The tool result: a readable text (request line, status, headers,
    /// body, notes), and the same as structured content.
    pub(super) fn into_result(self, request: &Request, auth: &Auth) -> ToolResult {
        let line = format!("{} {}", request.method, shown_url(&request.url, auth));
        let mut text = format!("{line} → HTTP {}\n", self.status);
        for (k, v) in &self.headers {
            text.push_str(&format!("{k}: {}\n", v.as_str().unwrap_or("")));
        }
        if !self.body.is_empty() {
            text.push('\n');
            text.push_str(&self.body);
            if !self.body.ends_with('\n') {
                text.push('\n');
            }
        }
        for n in &self.notes {
            text.push_str(&format!("\nnote: {n}"));
        }
        ToolResult::with_text(self.into_json(line), text)
    }

    pub(super) fn into_json(self, line: String) -> Value {
        json!({
            "request": line,
            "status": self.status,
            "headers": self.headers,
            "body": self.body,
            "bytes": self.bytes,
            "truncated": self.truncated,
            "notes": self.notes,
        })
    }
}

/// A writer into a buffer of at most `cap` bytes that notes when more
/// came (shared, so the reader can look while the scrubber writes).
pub(super) struct Capped {
    buf: RefCell<Vec<u8>>,
    cap: usize,
    full: Cell<bool>,
}

impl Write for &Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut buf = self.buf.borrow_mut();
        let room = self.cap.saturating_sub(buf.len());
        if data.len() > room {
            self.full.set(true);
        }
        buf.extend_from_slice(&data[..data.len().min(room)]);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads `from` through the scrubber into at most `cap` bytes; whether it
/// was cut. Once the cap is reached nothing more is read, and what the
/// scrubber still held back (a possible start of a key) is dropped.
pub(super) fn read_capped(
    from: &mut impl Read,
    secrets: &Secrets,
    cap: usize,
) -> io::Result<(Vec<u8>, bool)> {
    let capped = Capped {
        buf: RefCell::new(Vec::new()),
        cap,
        full: Cell::new(false),
    };
    let mut chunk = vec![0u8; CHUNK];
    {
        let mut w = secrets.writer(&capped);
        loop {
            let n = match from.read(&mut chunk) {
                Ok(0) => {
                    w.finish()?;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            w.write_all(&chunk[..n])?;
            if capped.full.get() {
                break;
            }
        }
    }
    let cut = capped.full.get();
    Ok((capped.buf.into_inner(), cut))
}

/// The path under the base URL as `--allow` rules see it.
pub(super) fn under_base(base: &Url, url: &Url) -> String {
    let prefix = base.path().trim_end_matches('/');
    let under = url.path().get(prefix.len()..).unwrap_or("");
    if under.is_empty() {
        "/".into()
    } else {
        under.into()
    }
}

/// Path and query for the log, the value of a query-placed key masked.
pub(super) fn shown_path(url: &Url, auth: &Auth) -> String {
    let mut text = url.path().to_string();
    if let Some(q) = masked_query(url, auth) {
        text.push('?');
        text.push_str(&q);
    }
    text
}

/// The URL as shown to the agent: no user info, a query-placed key masked.
fn shown_url(url: &Url, auth: &Auth) -> String {
    let mut u = url.clone();
    u.set_query(None);
    let mut text = http::display_url(&u);
    if let Some(q) = masked_query(url, auth) {
        text.push('?');
        text.push_str(&q);
    }
    text
}

pub(super) fn masked_query(url: &Url, auth: &Auth) -> Option<String> {
    let query = url.query()?;
    let name = auth.query().map(|(n, _)| n);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if Some(k) == name => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    Some(pairs.join("&"))
}

/// The origin of a base URL, for messages.
pub(super) fn origin(base: &Url) -> String {
    base.origin().ascii_serialization()
}

/// At most `max` characters of a value the agent gave, escaped, for a
/// message.
pub(super) fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    crate::escape::visible(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn secrets() -> Secrets {
        let key = SecretString::from("k3y-0123456789");
        Secrets::new(&key, &Auth::basic("me", "k3y-0123456789"))
    }

    #[test]
    fn a_body_is_cut_at_the_cap_and_a_key_across_it_never_shows() {
        let s = secrets();
        let body = b"0123456789abcdefk3y-0123456789 tail".to_vec();
        let (out, cut) = read_capped(&mut body.as_slice(), &s, 100).unwrap();
        assert_eq!(
            (String::from_utf8(out).unwrap(), cut),
            ("0123456789abcdef<redacted> tail".into(), false)
        );
        // Wherever the cap falls and however the body is split between
        // reads, no start of the key is shown.
        for cap in 1..body.len() {
            for split in 0..body.len() {
                let mut pieces = body[..split].chain(&body[split..]);
                let (out, cut) = read_capped(&mut pieces, &s, cap).unwrap();
                let out = String::from_utf8(out).unwrap();
                assert!(!out.contains("k3y"), "cap {cap}, split {split}: {out}");
                assert_eq!(cut, cap < 31, "cap {cap}");
                assert!(out.len() <= cap);
            }
        }
        // A long body: nothing past the cap is kept.
        let mut long = io::repeat(b'x').take(10 * CHUNK as u64);
        let (out, cut) = read_capped(&mut long, &s, 1000).unwrap();
        assert_eq!((out.len(), cut), (1000, true));
    }

    #[test]
    fn query_keys_are_masked_in_what_is_shown() {
        let auth = Auth::Query {
            name: "api_key".into(),
            value: SecretString::from("k3y"),
        };
        let url = Url::parse("http://127.0.0.1:9/v1/x?a=1&api_key=k3y").unwrap();
        assert_eq!(shown_path(&url, &auth), "/v1/x?a=1&api_key=<redacted>");
        assert_eq!(
            shown_url(&url, &auth),
            "http://127.0.0.1:9/v1/x?a=1&api_key=<redacted>"
        );
    }
}
