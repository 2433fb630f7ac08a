//! What `cred call` prints: the answer's body (byte for byte, scrubbed of
//! the key; on a terminal JSON pretty-printed token by token and binary
//! held back) to stdout or `-o FILE` through a [`Sink`], `--jq` results,
//! `-i` and `-v` heads, and the exit code and message for an error status.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use reqwest::Method;
use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};

use super::Caller;
use super::jq::{Jq, MAX_INPUT};
use crate::error::{Error, Exit, Result, stdout_error};
use crate::escape::TerminalText;
use crate::http::{self, Limited, Offsite, Sent};
use crate::scrub::{REDACTED, ScrubWriter};
use crate::ui::json::Pretty;

impl Caller<'_> {
    /// Prints the body (or writes it to -o) and turns the status into the
    /// exit code.
    pub(super) fn output(&self, sent: Sent) -> Result<Exit> {
        let Sent {
            response,
            limited,
            offsite,
        } = sent;
        if let Some(offsite) = offsite {
            return Err(self.refused_redirect(offsite));
        }
        let status = response.status();
        let bodiless = matches!(status.as_u16(), 204 | 304) || self.method == Method::HEAD;
        if let Some(encoding) =
            http::pipeline::undecoded_encoding(response.headers()).filter(|_| !bodiless)
        {
            match &self.args.output {
                Some(path) => self.ui.warn(&format!(
                    "the answer is in Content-Encoding `{encoding}`, which cred cannot decode: written to {} still encoded, where cred cannot see the key, so it was not scanned for it",
                    path.display()
                )),
                None => {
                    return Err(Error::user(format!(
                        "the API answered {} in Content-Encoding `{encoding}`, which cred cannot decode",
                        status.as_u16()
                    ))
                    .cause("cred could not look for the key in it, so it printed nothing")
                    .hint("use -o FILE to save the raw bytes (not scanned for the key)"));
                }
            }
        }
        if self.args.include {
            self.ui
                .out_bytes(format!("{}\n", head_text(&response, "")).as_bytes())?;
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_json = content_type.contains("json");
        let hits = match &self.jq {
            Some(jq) if status.is_success() => {
                let mut raw = Vec::new();
                let read = response
                    .take(MAX_INPUT as u64 + 1)
                    .read_to_end(&mut raw)
                    .map_err(|e| self.body_error(e))?;
                if read > MAX_INPUT {
                    return Err(Error::user(format!(
                        "the answer is larger than {} KiB, more than --jq holds in memory",
                        MAX_INPUT / 1024
                    ))
                    .hint("drop --jq and pipe the answer to jq, or write it with -o"));
                }
                self.jq_out(jq, &raw)?
            }
            _ => self.copy_out(response, is_json, &content_type)?,
        };
        self.report_scrubbed(hits);
        Ok(self.status_exit(status, limited))
    }

    /// Streams the body to its sink; on a terminal, binary is held back.
    fn copy_out(&self, mut response: Response, is_json: bool, content_type: &str) -> Result<usize> {
        let to_terminal = self.args.output.is_none() && self.ui.stdout_is_terminal();
        let mut buf = vec![0u8; 64 * 1024];
        let mut first = true;
        let mut sink: Option<Sink> = None;
        loop {
            let n = match response.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.body_error(e)),
            };
            if first && to_terminal && is_binary(content_type, &buf[..n]) {
                let size = response
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| format!(", {l} bytes"))
                    .unwrap_or_default();
                let what = if content_type.is_empty() {
                    "binary data".to_string()
                } else {
                    format!(
                        "binary data ({}{size})",
                        crate::escape::visible(content_type)
                    )
                };
                self.ui.warn(&format!(
                    "the answer is {what}, which cred does not write to a terminal"
                ));
                self.ui
                    .status("hint: use -o FILE to save it, or pipe it to another program");
                return Ok(0);
            }
            first = false;
            let s = match sink.as_mut() {
                Some(s) => s,
                // A "JSON" answer that does not start like an object or an
                // array (an HTML error page, say) is printed as it came.
                None => sink.insert(self.sink(is_json && opens_json(&buf[..n]))?),
            };
            s.write(&buf[..n])?;
        }
        match sink {
            Some(s) => s.finish(),
            None => Ok(0),
        }
    }

    /// Runs `--jq` over a whole JSON text (scrubbed first) and prints the
    /// results; returns how many secrets the answer held.
    pub(super) fn jq_out(&self, jq: &Jq, json: &[u8]) -> Result<usize> {
        let (clean, hits) = self.secrets.scrub_bytes(json);
        let mut results = Vec::new();
        // An error the expression raises may rebuild the key from pieces:
        // `Ui` masks its words as it does every error's.
        jq.run(&clean, &mut results)?;
        let mut sink = self.sink(false)?;
        sink.write(&results)?;
        sink.finish()?;
        Ok(hits)
    }

    /// Where a body goes: `-o FILE` or stdout, through the scrubber, and
    /// pretty-printed when `json` and stdout is a terminal.
    pub(super) fn sink(&self, json: bool) -> Result<Sink<'_>> {
        let (dest, path): (Box<dyn Write>, _) = match &self.args.output {
            Some(path) => (
                Box::new(File::create(path).map_err(|e| Error::io("create", path, e))?),
                Some(path.clone()),
            ),
            None => (Box::new(io::stdout().lock()), None),
        };
        let terminal = path.is_none() && self.ui.stdout_is_terminal();
        let dest = if terminal && json {
            Dest::Pretty(Pretty::new(dest, self.ui.color_stdout()))
        } else if terminal {
            // Text that is not pretty-printed still never drives the terminal.
            Dest::Text(TerminalText::new(dest))
        } else {
            Dest::Plain(dest)
        };
        Ok(Sink {
            ui: self.ui,
            writer: Some(self.secrets.writer(dest)),
            path,
            terminal,
            last: None,
            closed: false,
        })
    }

    /// Says so when the answer held the secret and cred replaced it.
    pub(super) fn report_scrubbed(&self, hits: usize) {
        if hits > 0 {
            self.ui.warn(&format!(
                "the answer contained the stored secret; cred replaced it with {REDACTED} ({hits}×) in what it printed or wrote"
            ));
        }
    }

    fn status_exit(&self, status: StatusCode, limited: Option<Limited>) -> Exit {
        let code = status.as_u16();
        let exit = match code {
            401 | 403 => Exit::Rejected,
            429 => Exit::RateLimited,
            400.. => Exit::HttpStatus,
            _ => Exit::Success,
        };
        if exit == Exit::Success {
            return exit;
        }
        let reason = status.canonical_reason().unwrap_or("");
        let mut err = Error::new(exit, format!("HTTP {code} {reason}").trim().to_string());
        let name = &self.args.name;
        match (&limited, code) {
            (Some(l), _) => err = err.cause(l.cause()).hint(l.hint()),
            (None, 401) => {
                err = err.hint(match crate::secrets::env::var_name_if_set(name) {
                    Some(var) => format!(
                        "the API rejected the key in {var}; update that CI secret or variable (`cred rotate` would not change it)"
                    ),
                    None => format!(
                        "the API rejected `{name}`; check it with `cred verify {name}`, or store a new key with `cred rotate {name}`"
                    ),
                });
            }
            (None, 403) => {
                err = err
                    .cause(format!(
                        "the key was accepted but may not do this: {}",
                        self.forbidden_reason
                    ))
                    .hint("ask the API's administrator for the permission, or use a credential that has it");
            }
            _ => {}
        }
        err = err.cause(match &self.args.output {
            Some(path) => format!("the response body was written to {}", path.display()),
            None => "the response body was printed to standard output".to_string(),
        });
        self.ui.error(&err);
        exit
    }

    pub(super) fn refused_redirect(&self, offsite: Offsite) -> Error {
        let target = offsite
            .target
            .map(|u| http::display_url(&u))
            .unwrap_or_else(|| "an unreadable address".into());
        Error::new(
            Exit::HttpStatus,
            format!(
                "the API redirected (HTTP {}) to another origin: {target}",
                offsite.status
            ),
        )
        .cause("cred does not send the key to another origin, so the redirect was not followed")
        .hint("to follow it without the key (a presigned or CDN download), pass --follow-offsite")
    }
}

/// The request line and headers as `-v` prints them (the auth header's
/// value is marked sensitive and shown as `<redacted>`).
pub(super) fn request_head(request: &reqwest::blocking::Request) -> String {
    let url = request.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let mut lines = vec![format!("> {} {} HTTP/1.1", request.method(), target)];
    lines.push(format!("> host: {host}"));
    if !request.headers().contains_key(reqwest::header::USER_AGENT) {
        lines.push(format!("> user-agent: {}", http::USER_AGENT));
    }
    for (k, v) in request.headers() {
        let shown = if v.is_sensitive() || hidden_in_verbose(k.as_str()) {
            REDACTED.to_string()
        } else {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        };
        lines.push(format!("> {k}: {shown}"));
    }
    // What the client adds on the way out: the encodings it decodes, and
    // the length of a body held in memory.
    if !request.headers().contains_key(ACCEPT_ENCODING) {
        lines.push(format!("> accept-encoding: {ACCEPTED_ENCODINGS}"));
    }
    if !request.headers().contains_key(CONTENT_LENGTH)
        && let Some(bytes) = request.body().and_then(|b| b.as_bytes())
        && (!bytes.is_empty()
            || ![Method::GET, Method::HEAD, Method::DELETE, Method::OPTIONS]
                .contains(request.method()))
    {
        lines.push(format!("> content-length: {}", bytes.len()));
    }
    lines.push(">".into());
    lines.join("\n")
}

/// The `Accept-Encoding` the client sends when the request has none: what
/// reqwest's gzip, deflate, brotli and zstd features decode (tower-http's
/// decompression layer writes it in this order).
const ACCEPTED_ENCODINGS: &str = "zstd,gzip,deflate,br";

/// Headers whose values `-v` never shows: other credentials than the key
/// (a session cookie, a proxy's password) are secrets too.
fn hidden_in_verbose(name: &str) -> bool {
    [
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "authorization",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// The status line and headers, each line after `prefix`; `-v` (prefix
/// `< `) shows cookie values as `<redacted>`. Control characters in
/// header values are shown escaped.
pub(super) fn head_text(response: &Response, prefix: &str) -> String {
    let mut text = format!(
        "{prefix}{:?} {} {}\n",
        response.version(),
        response.status().as_u16(),
        response.status().canonical_reason().unwrap_or("")
    );
    let verbose = !prefix.is_empty();
    for (k, v) in response.headers() {
        let value = if verbose && hidden_in_verbose(k.as_str()) {
            REDACTED.into()
        } else {
            String::from_utf8_lossy(v.as_bytes())
        };
        text.push_str(&format!(
            "{prefix}{k}: {}\n",
            crate::escape::visible(&value)
        ));
    }
    text
}

/// Whether a body starts like a JSON object or array.
fn opens_json(first: &[u8]) -> bool {
    matches!(
        first.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether a body should not go to a terminal: a content type that is not
/// text, or (without one, or for text) bytes that are not UTF-8 text.
fn is_binary(content_type: &str, first: &[u8]) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let textual = mime.is_empty()
        || mime.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "ecmascript",
            "yaml",
            "toml",
            "csv",
            "x-www-form-urlencoded",
            "graphql",
            "html",
        ]
        .iter()
        .any(|t| mime.contains(t));
    if !textual {
        return true;
    }
    if first.contains(&0) {
        return true;
    }
    match std::str::from_utf8(first) {
        Ok(_) => false,
        // A character cut by the chunk's end is still text.
        Err(e) => e.error_len().is_some(),
    }
}

/// A body's destination, plain or pretty-printed.
pub(super) enum Dest<'a> {
    Plain(Box<dyn Write + 'a>),
    Pretty(Pretty<Box<dyn Write + 'a>>),
    Text(TerminalText<Box<dyn Write + 'a>>),
}

impl Write for Dest<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Dest::Plain(w) => w.write(buf),
            Dest::Pretty(p) => p.write(buf),
            Dest::Text(t) => t.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::Plain(w) => w.flush(),
            Dest::Pretty(p) => p.flush(),
            Dest::Text(t) => t.flush(),
        }
    }
}

/// Writes a body out (stdout or `-o`), scrubbed; a closed stdout (`| head`)
/// ends the writing quietly, the status still deciding the exit code.
pub(super) struct Sink<'a> {
    ui: &'a crate::ui::Ui,
    writer: Option<ScrubWriter<'a, Dest<'a>>>,
    path: Option<PathBuf>,
    terminal: bool,
    /// The last byte written, so a terminal's prompt and warnings start on
    /// a line of their own.
    last: Option<u8>,
    closed: bool,
}

impl Sink<'_> {
    fn error(&self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::InvalidData {
            return Error::user("the answer is not valid JSON, so pretty-printing stopped")
                .cause(e.to_string())
                .hint("use -o FILE or a pipe to get the answer's bytes as they came");
        }
        match &self.path {
            Some(path) => Error::io("write", path, e),
            None => stdout_error(e),
        }
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.closed || bytes.is_empty() {
            return Ok(());
        }
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        match w.write_all(bytes) {
            Ok(()) => {
                self.last = bytes.last().copied();
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// Flushes the rest; returns how many secrets were masked.
    pub(super) fn finish(mut self) -> Result<usize> {
        let Some(w) = self.writer.take() else {
            return Ok(0);
        };
        if self.closed {
            return Ok(0);
        }
        let (dest, hits) = match w.finish() {
            Ok(done) => done,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
            Err(e) => return Err(self.error(e)),
        };
        let result = match dest {
            Dest::Pretty(p) => p.finish().map(|_| ()),
            // On a terminal: an unfinished last line gets its newline.
            Dest::Text(mut t) => {
                let open_line = self.last.is_some_and(|b| b != b'\n');
                if open_line {
                    t.write_all(b"\n").and_then(|_| t.flush())
                } else {
                    t.flush()
                }
            }
            Dest::Plain(mut w) => {
                let open_line = self.last.is_some_and(|b| b != b'\n');
                if self.terminal && open_line {
                    w.write_all(b"\n").and_then(|_| w.flush())
                } else {
                    let flushed = w.flush();
                    if open_line && self.path.is_none() {
                        self.ui.end_line_between_outputs();
                    }
                    flushed
                }
            }
        };
        match result {
            Ok(()) => Ok(hits),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
            Err(e) => Err(self.error(e)),
        }
    }
}
