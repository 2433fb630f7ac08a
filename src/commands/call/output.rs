//! What `cred call` prints: the answer's body (byte for byte, scrubbed of
//! the key; pretty JSON on a terminal) to stdout or `-o FILE`, `-i` and
//! `-v` heads, and the exit code and message for an error status.

use std::fs::File;
use std::io::{self, Read, Write};

use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::CONTENT_TYPE;

use super::Caller;
use crate::error::{Error, Exit, Result};
use crate::http::{self, Limited, Offsite, Sent};
use crate::scrub::{REDACTED, ScrubWriter};

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
        if self.args.include {
            self.ui.out_bytes(
                self.secrets
                    .scrub_str(&format!("{}\n", head_text(&response, "")))
                    .as_bytes(),
            )?;
        }
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let hits = if let Some(path) = &self.args.output {
            let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
            copy_body(response, self.secrets.writer(file)).map_err(|e| match e {
                CopyError::Read(e) => self.body_error(e),
                CopyError::Write(e) => Error::io("write", path, e),
            })?
        } else if self.ui.stdout_is_terminal() && is_json {
            let mut raw = Vec::new();
            let mut response = response;
            response
                .read_to_end(&mut raw)
                .map_err(|e| self.body_error(e))?;
            let (body, hits) = self.secrets.scrub_bytes(&raw);
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) => self
                    .ui
                    .out(&crate::ui::json_pretty(&v, self.ui.color_stdout()))?,
                Err(_) => self.ui.out_bytes(&body)?,
            }
            hits
        } else {
            let stdout = io::stdout();
            match copy_body(response, self.secrets.writer(stdout.lock())) {
                Ok(hits) => hits,
                // The reader went away (`| head`): not our failure; the
                // status still decides the exit code.
                Err(CopyError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
                Err(CopyError::Write(e)) => {
                    return Err(Error::user("could not write to standard output").with_source(e));
                }
                Err(CopyError::Read(e)) => return Err(self.body_error(e)),
            }
        };
        self.report_scrubbed(hits);
        Ok(self.status_exit(status, limited))
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
                err = err.hint(format!(
                    "the API rejected `{name}`; check it with `cred verify {name}`, or store a new key with `cred rotate {name}`"
                ));
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
            .map(|u| self.secrets.scrub_str(&http::display_url(&u)))
            .unwrap_or_else(|| "an unreadable address".into());
        Error::new(
            Exit::HttpStatus,
            format!(
                "the API redirected (HTTP {}) to another origin: {target}",
                offsite.status
            ),
        )
        .cause("cred does not send the key to another origin, so the redirect was not followed")
        .hint("if that address is right, store a credential for it")
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
        let shown = if v.is_sensitive() {
            REDACTED.to_string()
        } else {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        };
        lines.push(format!("> {k}: {shown}"));
    }
    lines.push(">".into());
    lines.join("\n")
}

/// The status line and headers, each line after `prefix`.
pub(super) fn head_text(response: &Response, prefix: &str) -> String {
    let mut text = format!(
        "{prefix}{:?} {} {}\n",
        response.version(),
        response.status().as_u16(),
        response.status().canonical_reason().unwrap_or("")
    );
    for (k, v) in response.headers() {
        text.push_str(&format!(
            "{prefix}{k}: {}\n",
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    text
}

/// Where copying a body failed.
pub(super) enum CopyError {
    /// Reading the answer (network).
    Read(io::Error),
    /// Writing it out (file or stdout).
    Write(io::Error),
}

/// Streams the body in 64 KiB pieces through the scrubber; returns how many
/// secrets it masked.
pub(super) fn copy_body<W: Write>(
    mut from: impl Read,
    mut to: ScrubWriter<'_, W>,
) -> std::result::Result<usize, CopyError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        to.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
    let (_, hits) = to.finish().map_err(CopyError::Write)?;
    Ok(hits)
}
