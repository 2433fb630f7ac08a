//! Logs of lines: `cred proxy`'s request log and `cred mcp`'s audit log,
//! to standard error or `--log FILE` (appended, created 0600). Every line
//! goes through the same masking as `Ui`'s messages ([`Secrets::shown`]):
//! the secrets masked, then control characters escaped, so neither a key
//! nor a terminal sequence reaches the log, whoever wrote the line.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::scrub::Secrets;

/// Where a log goes: `path` (appended, created 0600, line-buffered), or
/// standard error without one. Opened before the secrets are read, so a
/// bad path fails first; [`super::Ui::log`] makes the [`Log`] later.
pub fn open(path: Option<&Path>) -> Result<Box<dyn Write + Send>> {
    let Some(path) = path else {
        return Ok(Box::new(std::io::stderr()));
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|e| Error::io("open the log file", path, e))?;
    Ok(Box::new(std::io::LineWriter::new(file)))
}

/// A log of lines, each masked and escaped, shared between threads.
pub struct Log {
    out: Mutex<Box<dyn Write + Send>>,
    secrets: Arc<Secrets>,
}

impl Log {
    pub fn new(out: Box<dyn Write + Send>, secrets: Arc<Secrets>) -> Self {
        Log {
            out: Mutex::new(out),
            secrets,
        }
    }

    /// Writes `text` as one line (a line break in it shown as `\n`, so no
    /// line can be forged) and flushes it.
    pub fn line(&self, text: &str) {
        let shown = self.secrets.shown(text).replace('\n', "\\n");
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{shown}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Auth;
    use secrecy::SecretString;

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_masked_and_escaped() {
        let key = SecretString::from("k3y-0123456789");
        let secrets = Arc::new(Secrets::new(&key, &Auth::basic("me", "k3y-0123456789")));
        let to = Shared::default();
        let log = Log::new(Box::new(to.clone()), secrets);
        log.line("GET /x?k=k3y%2D0123456789 200 \x1b[31m");
        log.line("two\nlines k3y-0123456789");
        let text = String::from_utf8(to.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "GET /x?k=<redacted> 200 \\x1b[31m\ntwo\\nlines <redacted>\n"
        );
    }
}
